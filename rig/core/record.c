#include "core/record.h"

#include <math.h>

#include "core/analysis.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

void capture_free(struct rig_capture *c)
{
    free(c->force_un);
    free(c->disp_nm);
    c->force_un = c->disp_nm = NULL;
    c->n = 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path so the rename itself is durable. */
static int sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* mkdir -p of the directory holding path. */
static int make_parent_dirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    char *dir = dirname(copy);
    int rc = 0;
    for (char *p = dir + 1; *p && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, RECORD_DIR_MODE) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    if (rc == 0 && mkdir(dir, RECORD_DIR_MODE) < 0 && errno != EEXIST)
        rc = -errno;
    free(copy);
    return rc;
}

/* Not g_file_set_contents_full(): a record must never replace an
 * existing one (AW_NO_REPLACE: link(), which fails with EEXIST where
 * rename() replaces), its directory is fsync'd so the rename itself
 * survives a power cut, the mode is set before the name appears, and a
 * results directory deleted under a run is recreated (AW_RECREATE_DIR);
 * GLib's writer does none of these. */
int atomic_write_file_flags(const char *path, const void *buf, size_t len, unsigned flags,
                            char *err, size_t errlen)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (flags & AW_RECREATE_DIR) && make_parent_dirs(path) == 0) {
        /* The directory went away under a run (deleted by hand): the
         * record is written again in full, so recreate it. */
        snprintf(tmp + strlen(path), 11, ".tmpXXXXXX");
        fd = mkostemp(tmp, O_CLOEXEC);
    }
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(e));
        free(tmp);
        return -e;
    }
    const char *what = "write";
    int rc = write_all(fd, buf, len);
    if (rc == 0 && fchmod(fd, RECORD_FILE_MODE) < 0)
        rc = -errno, what = "chmod";
    if (rc == 0 && !(flags & AW_NO_SYNC) && fsync(fd) < 0)
        rc = -errno, what = "fsync";
    if (close(fd) < 0 && rc == 0)
        rc = -errno, what = "close";
    if (rc == 0 && (flags & AW_NO_REPLACE)) {
        /* link() fails with EEXIST where rename() would replace: a file
         * that exists is never overwritten. */
        if (link(tmp, path) < 0)
            rc = -errno, what = errno == EEXIST ? "refusing to overwrite" : "link";
        else
            unlink(tmp);
    } else if (rc == 0 && rename(tmp, path) < 0) {
        rc = -errno, what = "rename";
    }
    if (rc == 0 && !(flags & AW_NO_SYNC) && (rc = sync_dir_of(path)) < 0)
        what = "fsync directory of";
    if (rc < 0) {
        if (rc == -EEXIST)
            snprintf(err, errlen, "%s %s: it exists", what, path);
        else
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(-rc));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int atomic_write_file(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
    return atomic_write_file_flags(path, buf, len, 0, err, errlen);
}

int record_write_flags(const char *path, const cJSON *record, unsigned flags, char *err,
                       size_t errlen)
{
    char *text = cJSON_Print(record);
    if (!text) {
        snprintf(err, errlen, "out of memory serialising record");
        return -ENOMEM;
    }
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
        free(text);
        snprintf(err, errlen, "out of memory serialising record");
        return -ENOMEM;
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = atomic_write_file_flags(path, withnl, len + 1, flags, err, errlen);
    free(withnl);
    return rc;
}

int record_write(const char *path, const cJSON *record, char *err, size_t errlen)
{
    return record_write_flags(path, record, 0, err, errlen);
}

static int slurp(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 65536, n = 0;
    uint8_t *b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap || ferror(f))
            break;
        cap *= 2;
        uint8_t *nb = realloc(b, cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
        } else {
            b = nb;
        }
    }
    bool bad = !b || ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        snprintf(err, errlen, "cannot read %s", path);
        return -EIO;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

cJSON *record_read(const char *path, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (slurp(path, &buf, &len, err, errlen) < 0)
        return NULL;
    cJSON *r = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!r)
        snprintf(err, errlen, "%s is not valid JSON", path);
    return r;
}

char *strokes_csv(const struct an_stroke *s, size_t n, double rate_hz)
{
    size_t cap = 64 + n * 96, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    len += (size_t)snprintf(buf, cap, "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n");
    for (size_t i = 0; i < n; i++) {
        char force[32] = "";
        if (isfinite(s[i].force_n))
            snprintf(force, sizeof force, "%.9g", s[i].force_n);
        int w =
            snprintf(buf + len, cap - len, "%zu,%.9g,%.9g,%.9g,%s,%d\n", i + 1, s[i].rise / rate_hz,
                     s[i].peak / rate_hz, s[i].depth_mm, force, s[i].steady ? 1 : 0);
        if (w < 0 || (size_t)w >= cap - len) {
            free(buf);
            return NULL;
        }
        len += (size_t)w;
    }
    return buf;
}

int record_uuid(char out[37])
{
    /* GLib's random (version 4, RFC 4122) UUID: 36 characters */
    gchar *u = g_uuid_string_random();
    if (!u || strlen(u) != 36) {
        g_free(u);
        return -EIO;
    }
    memcpy(out, u, 37);
    g_free(u);
    return 0;
}

void record_utc(const struct timespec *ts, char out[32])
{
    struct tm tm;
    time_t s = ts->tv_sec;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned ms = (unsigned)((ts->tv_nsec / 1000000) % 1000);
    snprintf(out + n, 32 - n, ".%03uZ", ms);
}

void record_date(uint32_t d, char out[11])
{
    if (d == 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(d / 10000 % 10000), (unsigned)(d / 100 % 100),
             (unsigned)(d % 100));
}

void record_add_number(cJSON *obj, const char *key, double v)
{
    if (!isfinite(v)) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    char buf[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    cJSON_AddRawToObject(obj, key, buf);
}

void record_put_analysis(cJSON *c, const struct an_result *an, double rate_hz)
{
    cJSON *flags = cJSON_AddArrayToObject(c, "flags");
    static const char *const names[] = { "sample_loss", "overrun", "no_target", "out_of_range",
                                         "disconnect" };
    for (unsigned b = 0; b < 5 && flags; b++)
        if (an->flags & (1u << b))
            cJSON_AddItemToArray(flags, cJSON_CreateString(names[b]));
    if (an->error[0])
        cJSON_AddStringToObject(c, "error", an->error);
    cJSON *a = cJSON_AddObjectToObject(c, "analysis");
    if (!a)
        return;
    cJSON_AddNumberToObject(a, "strokes", (double)an->strokes);
    cJSON_AddNumberToObject(a, "steady_strokes", (double)an->steady_strokes);
    record_add_number(a, "stroke_rate_hz", an->rate_hz);
    /* the strokes the rate counts: periods between these instants (s from
     * the capture's first sample) */
    record_add_number(a, "rate_first_s", an->rate_first / rate_hz);
    record_add_number(a, "rate_last_s", an->rate_last / rate_hz);
    record_add_number(a, "rate_periods", an->rate_periods);
    record_add_number(a, "jitter_pct", an->jitter_pct);
    record_add_number(a, "depth_mean_mm", an->depth_mean_mm);
    record_add_number(a, "depth_min_mm", an->depth_min_mm);
    record_add_number(a, "depth_max_mm", an->depth_max_mm);
    record_add_number(a, "depth_std_mm", an->depth_std_mm);
    record_add_number(a, "peak_force_mean_n", an->force_mean_n);
    record_add_number(a, "peak_force_min_n", an->force_min_n);
    record_add_number(a, "peak_force_max_n", an->force_max_n);
    record_add_number(a, "force_zero_n", an->force_zero_n);
    record_add_number(a, "spinup_ms", an->spinup_ms);
    record_add_number(a, "start_delay_ms", an->start_delay_ms);
    record_add_number(a, "stop_ms", an->stop_ms);
    record_add_number(a, "stop_delay_ms", an->stop_delay_ms);
    record_add_number(a, "swing_mm", an->swing_mm);
    cJSON_AddNumberToObject(a, "stalled_ms", an->stalled_ms);
}
