/* Import of record files: the directory walk, batches of puts, and the
 * idempotence by run id (store.h, store_import_dir). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

#define RECORD_FORMAT_NAME "rig-record/1"
#define IMPORT_BATCH       100
/* A record of a long DVT run is a few MB; anything far larger is not one. */
#define IMPORT_MAX_BYTES   (256u << 20)

struct walk {
    struct store *st;
    const struct store_loader *ld;
    struct store_import_stats *stats;
    store_import_error_fn *on_error;
    void *ctx;
    sqlite3_stmt *present;
    unsigned in_batch; /* puts in the open transaction */
    char *err;
    size_t errlen;
};

static void file_failed(struct walk *w, const char *path, const char *msg)
{
    w->stats->failed++;
    if (w->on_error)
        w->on_error(w->ctx, path, msg);
}

/* The file's bytes, NUL-terminated; NULL with errno. */
static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat sb;
    char *buf = NULL;
    if (fstat(fd, &sb) == 0) {
        if ((size_t)sb.st_size > IMPORT_MAX_BYTES)
            errno = EFBIG;
        else if ((buf = malloc((size_t)sb.st_size + 1))) {
            size_t got = 0;
            ssize_t n;
            while (got < (size_t)sb.st_size &&
                   (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
                got += (size_t)n;
            buf[got] = 0;
        }
    }
    int e = errno;
    close(fd);
    errno = e;
    return buf;
}

/* Commit the batch and let the station's writer in. */
static int flush(struct walk *w)
{
    if (!w->in_batch)
        return 0;
    sqlite3_reset(w->present);
    int r = store_commit(w->st, w->err, w->errlen);
    pthread_mutex_unlock(&w->st->lock);
    w->in_batch = 0;
    return r;
}

static int batch_begin(struct walk *w)
{
    if (w->in_batch)
        return 0;
    pthread_mutex_lock(&w->st->lock);
    int r = store_begin(w->st, w->err, w->errlen);
    if (r < 0) {
        pthread_mutex_unlock(&w->st->lock);
        return r;
    }
    w->in_batch = 1;
    return 0;
}

static int import_file(struct walk *w, const char *path)
{
    w->stats->files++;
    char *text = slurp(path);
    if (!text) {
        file_failed(w, path, strerror(errno));
        return 0;
    }
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    if (!doc) {
        /* A record cut short is worth telling about; so is any bad JSON
         * in a results directory. */
        file_failed(w, path, "not JSON");
        return 0;
    }
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, RECORD_FORMAT_NAME)) {
        cJSON_Delete(doc); /* an attachment or some other JSON: not ours */
        return 0;
    }
    w->stats->records++;
    int r = batch_begin(w);
    if (r < 0) {
        cJSON_Delete(doc);
        return r;
    }
    /* Already complete in the database: nothing to do, without the cost
     * of reading the whole record into a run. */
    if (cJSON_IsString(id)) {
        sqlite3_reset(w->present);
        sqlite3_bind_text(w->present, 1, id->valuestring, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(w->present) == SQLITE_ROW && sqlite3_column_int(w->present, 0)) {
            w->stats->present++;
            cJSON_Delete(doc);
            return 0;
        }
        sqlite3_reset(w->present);
    }
    struct rec_run run;
    char msg[256];
    if (w->ld->load(doc, &run, msg, sizeof msg) < 0) {
        file_failed(w, path, msg);
    } else if ((r = store_put_run_locked(w->st, &run, run.complete, path, w->err, w->errlen)) ==
               0) {
        w->stats->imported++;
        w->in_batch++;
    }
    w->ld->free(&run);
    cJSON_Delete(doc);
    if (r == 0 && w->in_batch > IMPORT_BATCH)
        r = flush(w);
    return r;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        snprintf(w->err, w->errlen, "import: %s: %s", dir, strerror(e));
        return -e;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                r = -ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (r == 0)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; r == 0 && i < n; i++) {
        char path[4096];
        struct stat sb;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path ||
            lstat(path, &sb) < 0)
            continue;
        size_t len = strlen(names[i]);
        if (S_ISDIR(sb.st_mode) && depth < 16)
            r = walk_dir(w, path, depth + 1);
        else if (S_ISREG(sb.st_mode) && len > 5 && !strcmp(names[i] + len - 5, ".json"))
            r = import_file(w, path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (r == -ENOMEM)
        snprintf(w->err, w->errlen, "import: out of memory");
    return r;
}

int store_import_dir_with(struct store *st, const char *dir, const struct store_loader *ld,
                          struct store_import_stats *out, store_import_error_fn *on_error,
                          void *ctx, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct walk w = { .st = st,
                      .ld = ld,
                      .stats = out,
                      .on_error = on_error,
                      .ctx = ctx,
                      .err = err,
                      .errlen = errlen };
    pthread_mutex_lock(&st->lock);
    int r = store_prepare(st, "SELECT complete FROM runs WHERE id = ?1", &w.present, err, errlen);
    pthread_mutex_unlock(&st->lock);
    if (r < 0)
        return r;
    r = walk_dir(&w, dir, 0);
    if (r == 0) {
        r = flush(&w);
    } else if (w.in_batch) {
        /* Keep what the batch did right: commit it, then report the error. */
        char keep[8];
        w.err = keep;
        w.errlen = sizeof keep;
        flush(&w);
    }
    sqlite3_finalize(w.present);
    return r;
}
