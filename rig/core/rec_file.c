/* The JSON record file sink (rec.h): the record document written
 * atomically, never over a file it did not write, and the attachments
 * beside it (sequence, spec, captures, per-stroke CSV). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "core/rec.h"
#include "core/record.h"

struct rec_file {
    char path[4096];
    char stem[4096]; /* path without ".json" */
    char dir[4096];  /* path's directory with its '/', "" for none */
    bool created;    /* first write done (never overwrites) */
};

int rec_file_sink_new(const char *path, struct rec_sink *sink, char *err, size_t errlen)
{
    size_t len = strlen(path);
    struct rec_file *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (len >= sizeof f->path) {
        free(f);
        snprintf(err, errlen, "record path too long");
        return -1;
    }
    memcpy(f->path, path, len + 1);
    if (len >= 5 && strcmp(path + len - 5, ".json") == 0)
        len -= 5;
    memcpy(f->stem, path, len);
    f->stem[len] = '\0';
    memcpy(f->dir, path, strlen(path) + 1);
    char *slash = strrchr(f->dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        f->dir[0] = '\0';
    sink->ops = &rec_file_sink_ops;
    sink->impl = f;
    return 0;
}

static int name_it(struct rec_file *f, const char *path, const char *sha,
                   struct rec_attachment *out, char *err, size_t errlen)
{
    (void)f;
    const char *base = strrchr(path, '/');
    out->name = strdup(base ? base + 1 : path);
    if (!out->name) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(out->sha256, sizeof out->sha256, "%s", sha);
    return 0;
}

static int attach(void *sink, const char *suffix, const void *buf, size_t len, unsigned flags,
                  struct rec_attachment *out, char *err, size_t errlen)
{
    struct rec_file *f = sink;
    char path[4300], sha[DIGEST_HEX_LEN + 1];
    snprintf(path, sizeof path, "%s.%s", f->stem, suffix);
    digest_sha256_buf(buf, len, sha);
    unsigned aw = AW_NO_REPLACE | ((flags & REC_ATTACH_NO_DIR) ? 0 : AW_RECREATE_DIR);
    int rc = atomic_write_file_flags(path, buf, len, aw, err, errlen);
    if (rc < 0)
        return rc;
    return name_it(f, path, sha, out, err, errlen);
}

static int attach_capture(void *sink, const char *suffix, const struct rig_capture *cap,
                          struct rec_attachment *out, char *err, size_t errlen)
{
    struct rec_file *f = sink;
    char path[4300], sha[DIGEST_HEX_LEN + 1];
    snprintf(path, sizeof path, "%s.%s", f->stem, suffix);
    int rc = capture_write_flags(path, cap, AW_NO_REPLACE | AW_RECREATE_DIR, sha, err, errlen);
    if (rc < 0)
        return rc;
    return name_it(f, path, sha, out, err, errlen);
}

static int update(void *sink, const struct rec_run *r, bool complete, char *err, size_t errlen)
{
    (void)complete; /* every write is durable before it returns */
    struct rec_file *f = sink;
    cJSON *doc = rec_to_json(r);
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* The first write creates the record and never replaces a file that
     * exists; later ones replace our own and recreate a vanished directory. */
    unsigned flags = f->created ? AW_RECREATE_DIR : AW_NO_REPLACE;
    int rc = record_write_flags(f->path, doc, flags, err, errlen);
    cJSON_Delete(doc);
    if (rc == 0)
        f->created = true;
    return rc < 0 ? rc : 0;
}

/* Every capture the record names must still be on disk as written. */
static int verify(void *sink, const struct rec_run *r, char *err, size_t errlen)
{
    struct rec_file *f = sink;
    int rc = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_capture *c = r->steps[i].capture;
        if (!c || !c->data.name)
            continue;
        char path[8200], got[DIGEST_HEX_LEN + 1];
        snprintf(path, sizeof path, "%s%s", f->dir, c->data.name);
        if (digest_sha256_file(path, got) < 0 || strcmp(got, c->data.sha256) != 0) {
            if (rc == 0)
                snprintf(err, errlen, "capture attachment %s is missing or changed", c->data.name);
            rc = -ENOENT;
        }
    }
    return rc;
}

static void close_sink(void *sink)
{
    free(sink);
}

const struct rec_sink_ops rec_file_sink_ops = {
    .name = "record file",
    .attach = attach,
    .attach_capture = attach_capture,
    .update = update,
    .verify = verify,
    .close = close_sink,
};
