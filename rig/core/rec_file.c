/* The JSON record file sink (rec.h): the record document written
 * atomically, never over a file it did not write, and the attachments
 * beside it (sequence, spec, captures, per-stroke CSV); optionally the
 * record versions between the first and the verdict on a writer thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "core/rec.h"
#include "core/record.h"

struct rec_file {
    char path[4096];
    char stem[4096];    /* path without ".json" */
    char dir[4096];     /* path's directory with its '/', "" for none */
    bool created;       /* first write done (never overwrites) */
    int capture_format; /* CAPTURE_FORMAT_*: compressed unless REC_FILE_RAW_CAPTURES */
    unsigned written, coalesced;
    /* REC_FILE_BACKGROUND: the writer thread and what it shares (mu) */
    bool background, started, stop, busy;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    char *pending; /* the newest version not yet being written */
    int failed;    /* a background write's error, for the next update */
    char failed_err[256];
};

int rec_file_sink_new(const char *path, struct rec_sink *sink, char *err, size_t errlen)
{
    return rec_file_sink_new_flags(path, 0, sink, err, errlen);
}

int rec_file_sink_new_flags(const char *path, unsigned flags, struct rec_sink *sink, char *err,
                            size_t errlen)
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
    f->background = flags & REC_FILE_BACKGROUND;
    f->capture_format = (flags & REC_FILE_RAW_CAPTURES) ? CAPTURE_FORMAT_RAW : CAPTURE_FORMAT_ZSTD;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->work, NULL);
    pthread_cond_init(&f->idle, NULL);
    sink->ops = &rec_file_sink_ops;
    sink->impl = f;
    return 0;
}

void rec_file_sink_stats(const struct rec_sink *sink, unsigned *written, unsigned *coalesced)
{
    struct rec_file *f = sink->impl;
    pthread_mutex_lock(&f->mu);
    *written = f->written;
    *coalesced = f->coalesced;
    pthread_mutex_unlock(&f->mu);
}

/* The writer thread: the newest pending version, until told to stop
 * (and then whatever is still pending). */
static void *writer(void *arg)
{
    struct rec_file *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->pending && !f->stop)
            pthread_cond_wait(&f->work, &f->mu);
        if (!f->pending)
            break;
        char *text = f->pending;
        f->pending = NULL;
        f->busy = true;
        pthread_mutex_unlock(&f->mu);
        char err[256];
        int rc =
            atomic_write_file_flags(f->path, text, strlen(text), AW_RECREATE_DIR, err, sizeof err);
        free(text);
        pthread_mutex_lock(&f->mu);
        f->busy = false;
        if (rc < 0 && !f->failed) {
            f->failed = rc;
            snprintf(f->failed_err, sizeof f->failed_err, "%s", err);
        } else if (rc == 0) {
            f->written++;
        }
        pthread_cond_broadcast(&f->idle);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static int open_sink(void *sink, const struct rec_run *r, char *err, size_t errlen)
{
    (void)r;
    struct rec_file *f = sink;
    if (!f->background)
        return 0;
    int rc = pthread_create(&f->thread, NULL, writer, f);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the record writer: %s", strerror(rc));
        return -rc;
    }
    f->started = true;
    return 0;
}

/* Take the error a background write left (0 if none); mu held. */
static int take_failure(struct rec_file *f, char *err, size_t errlen)
{
    int rc = f->failed;
    if (rc)
        snprintf(err, errlen, "%s", f->failed_err);
    f->failed = 0;
    return rc;
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
    int rc = capture_write_format(path, cap, f->capture_format, AW_NO_REPLACE | AW_RECREATE_DIR,
                                  sha, out->samples_sha256, err, errlen);
    if (rc < 0)
        return rc;
    return name_it(f, path, sha, out, err, errlen);
}

/* The document as record_write writes it: pretty-printed, a newline. */
static char *record_text(const struct rec_run *r)
{
    cJSON *doc = rec_to_json(r);
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    size_t len = text ? strlen(text) : 0;
    char *withnl = text ? realloc(text, len + 2) : NULL;
    if (!withnl) {
        free(text);
        return NULL;
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    return withnl;
}

static int update(void *sink, const struct rec_run *r, bool complete, char *err, size_t errlen)
{
    struct rec_file *f = sink;
    char *text = record_text(r);
    if (!text) {
        snprintf(err, errlen, "out of memory serialising record");
        return -ENOMEM;
    }
    if (f->started && f->created && !complete) {
        /* the writer takes it; a version it has not started is dropped */
        pthread_mutex_lock(&f->mu);
        if (f->pending) {
            free(f->pending);
            f->coalesced++;
        }
        f->pending = text;
        pthread_cond_signal(&f->work);
        int rc = take_failure(f, err, errlen);
        pthread_mutex_unlock(&f->mu);
        return rc;
    }
    int failed = 0;
    if (f->started) { /* the verdict replaces what is pending; wait for the write under way */
        pthread_mutex_lock(&f->mu);
        if (f->pending) {
            free(f->pending);
            f->pending = NULL;
            f->coalesced++;
        }
        while (f->busy)
            pthread_cond_wait(&f->idle, &f->mu);
        failed = take_failure(f, err, errlen);
        pthread_mutex_unlock(&f->mu);
    }
    /* The first write creates the record and never replaces a file that
     * exists; later ones replace our own and recreate a vanished directory. */
    unsigned flags = f->created ? AW_RECREATE_DIR : AW_NO_REPLACE;
    /* Versions between the first and the verdict are not fsync'd: each
     * is on disk for any reader and survives a crash of rigd (the kernel
     * has it; the rename is atomic), and the verdict's synced write
     * supersedes them; a power loss mid-run may leave an older version,
     * never a torn one. The first version (it claims the name and says
     * the run began) and the verdict are durable before update returns;
     * attachments are always synced before a version names them. This
     * takes ~2 fsyncs per step off the run's critical path. */
    if (f->created && !complete)
        flags |= AW_NO_SYNC;
    char werr[256] = "";
    int rc = atomic_write_file_flags(f->path, text, strlen(text), flags, werr, sizeof werr);
    free(text);
    if (rc == 0) {
        f->created = true;
        pthread_mutex_lock(&f->mu);
        f->written++;
        pthread_mutex_unlock(&f->mu);
    } else if (!failed) {
        snprintf(err, errlen, "%s", werr);
    }
    return failed ? failed : rc < 0 ? rc : 0;
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
    struct rec_file *f = sink;
    if (f->started) { /* the writer finishes what is pending first */
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_cond_signal(&f->work);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
    }
    free(f->pending);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->work);
    pthread_cond_destroy(&f->idle);
    free(f);
}

const struct rec_sink_ops rec_file_sink_ops = {
    .name = "record file",
    .open = open_sink,
    .attach = attach,
    .attach_capture = attach_capture,
    .update = update,
    .verify = verify,
    .close = close_sink,
};
