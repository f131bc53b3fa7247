/* Retention of capture attachments (see prune.h). */
#include "core/prune.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rec.h"
#include "core/record.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Delete the capture file dir+name; adds what it freed. */
static int remove_capture(const char *dir, const char *name, bool dry_run, FILE *out,
                          struct prune_result *res, char *err, size_t errlen)
{
    char path[8400];
    snprintf(path, sizeof path, "%s%s", dir, name);
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file: left alone", path);
        return -EINVAL;
    }
    if (!dry_run && unlink(path) < 0 && errno != ENOENT) {
        int e = errno;
        snprintf(err, errlen, "cannot delete %s: %s", path, strerror(e));
        return -e;
    }
    res->files++;
    res->bytes += (unsigned long long)st.st_size;
    if (out)
        fprintf(out, "%s%s (%lld bytes)\n", dry_run ? "would delete " : "deleted ", path,
                (long long)st.st_size);
    return 0;
}

int prune_record(const char *record_path, const struct prune_policy *p, FILE *out,
                 struct prune_result *res, char *err, size_t errlen)
{
    cJSON *doc = record_read(record_path, err, errlen);
    if (!doc)
        return -EINVAL;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, RECORD_FORMAT) != 0) {
        cJSON_Delete(doc);
        snprintf(err, errlen, "%s is not a run record", record_path);
        return -ENODATA;
    }
    struct rec_run r;
    char why[256];
    int rc = rec_from_json(doc, &r, why, sizeof why);
    cJSON_Delete(doc);
    if (rc < 0) {
        rec_run_free(&r);
        snprintf(err, errlen, "%s: %s", record_path, why);
        return rc;
    }
    res->records++;
    struct timespec now = { .tv_sec = p->now };
    if (!p->now)
        clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec -= now.tv_nsec % 1000000; /* the record keeps milliseconds */
    if (!r.complete || r.outcome != OUTCOME_PASS || !r.has_ended) {
        res->kept_not_pass++; /* evidence of a failure is kept for good */
        rec_run_free(&r);
        return 0;
    }
    if (difftime(now.tv_sec, r.ended.tv_sec) < p->pass_days * 86400.0) {
        res->kept_young++;
        rec_run_free(&r);
        return 0;
    }
    /* the record first (pruned_utc), then the files: see prune.h */
    unsigned newly = 0;
    for (size_t i = 0; i < r.nsteps; i++) {
        struct rec_capture *c = r.steps[i].capture;
        if (!c || !c->data.name || c->pruned)
            continue;
        if (strchr(c->data.name, '/') || strcmp(c->data.name, "..") == 0) {
            snprintf(err, errlen, "%s: capture \"%s\" is not a file beside the record", record_path,
                     c->data.name);
            rec_run_free(&r);
            return -EINVAL;
        }
        c->pruned = true;
        c->pruned_at = now;
        newly++;
    }
    if (newly && !p->dry_run) {
        cJSON *updated = rec_to_json(&r);
        rc = updated ? record_write_flags(record_path, updated, 0, err, errlen) : -ENOMEM;
        if (!updated)
            snprintf(err, errlen, "out of memory");
        cJSON_Delete(updated);
        if (rc < 0) {
            rec_run_free(&r);
            return rc;
        }
    }
    if (newly)
        res->pruned_records++;
    char dir[4096];
    const char *slash = strrchr(record_path, '/');
    size_t n = slash ? (size_t)(slash - record_path + 1) : 0;
    if (n >= sizeof dir)
        n = sizeof dir - 1;
    memcpy(dir, record_path, n);
    dir[n] = '\0';
    for (size_t i = 0; i < r.nsteps && rc == 0; i++) {
        const struct rec_capture *c = r.steps[i].capture;
        if (c && c->data.name && c->pruned && !strchr(c->data.name, '/'))
            rc = remove_capture(dir, c->data.name, p->dry_run, out, res, err, errlen);
    }
    for (size_t i = 0; i < r.nsteps && rc == 0 && p->on_pruned && !p->dry_run; i++) {
        const struct rec_capture *c = r.steps[i].capture;
        if (c && c->data.name && c->pruned)
            rc = p->on_pruned(p->ctx, r.id, c->data.name, &c->pruned_at, err, errlen);
    }
    rec_run_free(&r);
    return rc;
}

int prune_dir(const char *dir, const struct prune_policy *p, FILE *out, struct prune_result *res,
              char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(e));
        return -e;
    }
    int first = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".json") ||
            ends_with(e->d_name, ".sequence.json") || ends_with(e->d_name, ".spec.json"))
            continue;
        char path[8400], msg[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        int rc = prune_record(path, p, out, res, msg, sizeof msg);
        if (rc == -ENODATA)
            continue; /* JSON, but not a record */
        if (rc < 0) {
            if (out)
                fprintf(out, "%s\n", msg);
            if (!first) {
                first = rc;
                snprintf(err, errlen, "%s", msg);
            }
        }
    }
    closedir(d);
    return first;
}
