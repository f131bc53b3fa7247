/* Bench configuration parsing and validation. */
#include "dev/station.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev/driver.h"
#include "protocol/sensor.h"

static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", name, what);
    return -1;
}

/* A string member copied into dst; absent = keep default. */
static int get_string(const cJSON *obj, const char *key, const char *path, char *dst, size_t cap,
                      const char *name, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return fail(err, errlen, name, "%s.%s: must be a string", path, key);
    if (strlen(v->valuestring) >= cap)
        return fail(err, errlen, name, "%s.%s: longer than %zu characters", path, key, cap - 1);
    strcpy(dst, v->valuestring);
    return 0;
}

/* A USB id: a number 0..0xffff or a string "0x1209" / "1209" (hex). */
static int get_usb_id(const cJSON *obj, const char *key, const char *path, uint16_t *dst,
                      const char *name, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    long val = -1;
    if (cJSON_IsNumber(v)) {
        /* range first: converting an out-of-range double to long is UB */
        double d = v->valuedouble;
        if (d >= 0 && d <= 0xffff && d == (double)(long)d)
            val = (long)d;
    } else if (cJSON_IsString(v)) {
        char *end;
        errno = 0;
        val = strtol(v->valuestring, &end, 16);
        if (errno || end == v->valuestring || *end)
            val = -1;
    }
    if (val < 0 || val > 0xffff)
        return fail(err, errlen, name,
                    "%s.%s: must be a USB id 0..0xffff (number or \"0x...\" string)", path, key);
    *dst = (uint16_t)val;
    return 0;
}

static int check_keys(const cJSON *obj, const char *const *allowed, const char *path,
                      const char *name, char *err, size_t errlen)
{
    const cJSON *it;
    cJSON_ArrayForEach (it, obj) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, it->string) == 0;
        if (!ok)
            return fail(err, errlen, name, "%s.%s: unknown key", path, it->string);
    }
    return 0;
}

/* The device's driver: "driver" if given (known, and of this role), else
 * the role's default. */
static const struct rig_driver *parse_driver(const cJSON *obj, const char *path, enum rig_role role,
                                             struct station_match *m, const char *name, char *err,
                                             size_t errlen)
{
    const struct rig_driver *drv = rig_driver_default(role);
    if (get_string(obj, "driver", path, m->driver, sizeof m->driver, name, err, errlen) < 0)
        return NULL;
    char names[256];
    if (m->driver[0]) {
        drv = rig_driver_find(m->driver);
        if (!drv) {
            fail(err, errlen, name, "%s.driver: unknown driver \"%s\" (known: %s)", path, m->driver,
                 rig_driver_names(-1, names, sizeof names));
            return NULL;
        }
    }
    if (!drv || drv->role != role) {
        fail(err, errlen, name, "%s.driver: \"%s\" is not a %s driver (%s drivers: %s)", path,
             m->driver, rig_role_str(role), rig_role_str(role),
             rig_driver_names((int)role, names, sizeof names));
        return NULL;
    }
    snprintf(m->driver, sizeof m->driver, "%s", drv->name);
    return drv;
}

static int parse_match(const cJSON *parent, const char *key, const char *ppath, enum rig_role role,
                       struct station_match *m, const char *name, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "%s.%s", ppath, key);
    memset(m, 0, sizeof *m);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (!obj)
        return fail(err, errlen, name, "%s: missing (the bench needs this device)", path);
    if (!cJSON_IsObject(obj))
        return fail(err, errlen, name, "%s: must be an object", path);
    static const char *const pen_keys[] = { "driver", "vid", "pid", "serial", "path", NULL };
    static const char *const sensor_keys[] = { "driver", "vid", "pid", "serial", "rate_hz", NULL };
    bool pen = role == RIG_ROLE_PEN;
    if (check_keys(obj, pen ? pen_keys : sensor_keys, path, name, err, errlen) < 0)
        return -1;
    const struct rig_driver *drv = parse_driver(obj, path, role, m, name, err, errlen);
    if (!drv)
        return -1;
    m->vid = drv->usb_vid;
    m->pid = drv->usb_pid;
    if (get_usb_id(obj, "vid", path, &m->vid, name, err, errlen) < 0 ||
        get_usb_id(obj, "pid", path, &m->pid, name, err, errlen) < 0 ||
        get_string(obj, "serial", path, m->serial, sizeof m->serial, name, err, errlen) < 0)
        return -1;
    if (pen && get_string(obj, "path", path, m->path, sizeof m->path, name, err, errlen) < 0)
        return -1;
    return 0;
}

static bool valid_fixture_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= STATION_FIXTURE_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* One fixture's devices from obj (a "fixtures" element, or the root in
 * the single-fixture form); path is its JSON path for messages. */
static int parse_fixture(const cJSON *obj, const char *path, struct fixture_config *fx,
                         const char *name, char *err, size_t errlen)
{
    if (parse_match(obj, "pen", path, RIG_ROLE_PEN, &fx->pen, name, err, errlen) < 0 ||
        parse_match(obj, "sensor", path, RIG_ROLE_SENSOR, &fx->sensor, name, err, errlen) < 0)
        return -1;
    fx->sensor_rate_hz = 50000;
    const cJSON *sensor = cJSON_GetObjectItemCaseSensitive(obj, "sensor");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(sensor, "rate_hz");
    if (rate) {
        if (!cJSON_IsNumber(rate) || rate->valuedouble < SH_RATE_MIN ||
            rate->valuedouble > SH_RATE_MAX ||
            rate->valuedouble != (double)(uint32_t)rate->valuedouble)
            return fail(err, errlen, name, "%s.sensor.rate_hz: must be an integer %u..%u", path,
                        SH_RATE_MIN, SH_RATE_MAX);
        fx->sensor_rate_hz = (uint32_t)rate->valuedouble;
    }
    return 0;
}

static int parse_fixture_name(const cJSON *obj, const char *key, const char *path,
                              struct fixture_config *fx, const char *name, char *err, size_t errlen)
{
    if (get_string(obj, key, path, fx->name, sizeof fx->name, name, err, errlen) < 0)
        return -1;
    if (!valid_fixture_name(fx->name))
        return fail(err, errlen, name, "%s.%s: must be 1..%d characters of A-Z a-z 0-9 _ . -", path,
                    key, STATION_FIXTURE_NAME_MAX - 1);
    return 0;
}

static int parse_fixtures(const cJSON *arr, struct station_config *out, const char *name, char *err,
                          size_t errlen)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n < 1 || n > STATION_MAX_FIXTURES)
        return fail(err, errlen, name, "$.fixtures: must be an array of 1..%d fixtures",
                    STATION_MAX_FIXTURES);
    static const char *const keys[] = { "name", "pen", "sensor", NULL };
    const cJSON *it;
    cJSON_ArrayForEach (it, arr) {
        char path[32];
        snprintf(path, sizeof path, "$.fixtures[%zu]", out->nfixtures);
        struct fixture_config *fx = &out->fixtures[out->nfixtures];
        if (!cJSON_IsObject(it))
            return fail(err, errlen, name, "%s: must be an object", path);
        if (!cJSON_HasObjectItem(it, "name"))
            return fail(err, errlen, name, "%s.name: missing", path);
        if (check_keys(it, keys, path, name, err, errlen) < 0 ||
            parse_fixture_name(it, "name", path, fx, name, err, errlen) < 0 ||
            parse_fixture(it, path, fx, name, err, errlen) < 0)
            return -1;
        out->nfixtures++;
    }
    return 0;
}

/* Several fixtures: every device must be one only this fixture can match. */
static int check_distinct(const struct station_config *c, const char *name, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < c->nfixtures; i++) {
        const struct fixture_config *a = &c->fixtures[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->name, c->fixtures[j].name) == 0)
                return fail(err, errlen, name, "$.fixtures[%zu].name: \"%s\" is used twice", i,
                            a->name);
        if (c->nfixtures == 1)
            break;
        if (!a->pen.serial[0] && !a->pen.path[0])
            return fail(err, errlen, name,
                        "$.fixtures[%zu].pen: needs a serial or a path (several fixtures)", i);
        if (!a->sensor.serial[0])
            return fail(err, errlen, name,
                        "$.fixtures[%zu].sensor: needs a serial (several fixtures)", i);
        for (size_t j = 0; j < i; j++) {
            const struct fixture_config *b = &c->fixtures[j];
            if ((a->pen.serial[0] && strcmp(a->pen.serial, b->pen.serial) == 0) ||
                (a->pen.path[0] && strcmp(a->pen.path, b->pen.path) == 0))
                return fail(err, errlen, name, "$.fixtures[%zu].pen: same device as fixture %s", i,
                            b->name);
            if (strcmp(a->sensor.serial, b->sensor.serial) == 0)
                return fail(err, errlen, name, "$.fixtures[%zu].sensor: same device as fixture %s",
                            i, b->name);
        }
    }
    return 0;
}

static int parse_seq_dirs(const cJSON *dirs, struct station_config *out, const char *name,
                          char *err, size_t errlen)
{
    if (!dirs)
        return 0;
    if (!cJSON_IsArray(dirs) || cJSON_GetArraySize(dirs) > STATION_MAX_SEQ_DIRS)
        return fail(err, errlen, name, "$.sequence_dirs: must be an array of at most %d paths",
                    STATION_MAX_SEQ_DIRS);
    const cJSON *d;
    size_t i = 0;
    cJSON_ArrayForEach (d, dirs) {
        if (!cJSON_IsString(d) || d->valuestring[0] != '/' ||
            strlen(d->valuestring) >= sizeof out->sequence_dirs[0])
            return fail(err, errlen, name, "$.sequence_dirs[%zu]: must be an absolute path", i);
        snprintf(out->sequence_dirs[i++], sizeof out->sequence_dirs[0], "%s", d->valuestring);
    }
    out->nsequence_dirs = i;
    return 0;
}

/* "database": a path (default: station.db in the results directory, set
 * by the caller that resolves paths) or false (no database); "max_attempts":
 * 0 (unlimited) .. 1000. */
static int parse_database(const cJSON *root, struct station_config *out, const char *name,
                          char *err, size_t errlen)
{
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(root, "database");
    if (cJSON_IsFalse(db)) {
        out->no_database = true;
    } else if (db && (!cJSON_IsString(db) || !db->valuestring[0] ||
                      strlen(db->valuestring) >= sizeof out->database)) {
        return fail(err, errlen, name,
                    "$.database: must be the station database's path (or false: none)");
    } else if (db) {
        snprintf(out->database, sizeof out->database, "%s", db->valuestring);
    }
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(root, "max_attempts");
    if (ma) {
        if (!cJSON_IsNumber(ma) || ma->valuedouble < 0 || ma->valuedouble > 1000 ||
            ma->valuedouble != (double)(unsigned)ma->valuedouble)
            return fail(err, errlen, name,
                        "$.max_attempts: must be a whole number 0..1000 (0: unlimited)");
        out->max_attempts = (unsigned)ma->valuedouble;
    }
    out->retention_pass_days = -1;
    const cJSON *ret = cJSON_GetObjectItemCaseSensitive(root, "retention");
    if (ret) {
        static const char *const ret_keys[] = { "pass_days", NULL };
        const cJSON *pd = cJSON_GetObjectItemCaseSensitive(ret, "pass_days");
        if (!cJSON_IsObject(ret) || check_keys(ret, ret_keys, "$.retention", name, err, errlen) < 0)
            return cJSON_IsObject(ret)
                       ? -1
                       : fail(err, errlen, name, "$.retention: must be an object (\"pass_days\")");
        if (!cJSON_IsNumber(pd) || !(pd->valuedouble >= 0) || pd->valuedouble > 1e6)
            return fail(err, errlen, name,
                        "$.retention.pass_days: must be a number of days, 0 or more");
        out->retention_pass_days = pd->valuedouble;
    }
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "report");
    if (rep) {
        static const char *const rep_keys[] = { "auto", NULL };
        const cJSON *au = cJSON_GetObjectItemCaseSensitive(rep, "auto");
        if (!cJSON_IsObject(rep))
            return fail(err, errlen, name, "$.report: must be an object (\"auto\")");
        if (check_keys(rep, rep_keys, "$.report", name, err, errlen) < 0)
            return -1;
        if (au && !cJSON_IsBool(au))
            return fail(err, errlen, name, "$.report.auto: must be true or false");
        out->report_auto = cJSON_IsTrue(au);
    }
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(root, "line");
    if (line) {
        static const char *const line_keys[] = { "conninfo", NULL };
        if (!cJSON_IsObject(line))
            return fail(err, errlen, name, "$.line: must be an object (\"conninfo\")");
        if (check_keys(line, line_keys, "$.line", name, err, errlen) < 0 ||
            get_string(line, "conninfo", "$.line", out->line_conninfo, sizeof out->line_conninfo,
                       name, err, errlen) < 0)
            return -1;
        /* the outbox the line is fed from lives in the station database */
        if (!out->line_conninfo[0] || out->no_database)
            return fail(err, errlen, name,
                        "$.line.conninfo: must be a libpq conninfo, and the station needs its "
                        "database (not \"database\": false)");
    }
    return 0;
}

int station_parse(const char *text, const char *name, struct station_config *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->station, sizeof out->station, "bench");
    snprintf(out->results_dir, sizeof out->results_dir, "results");

    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at ? (long)(at - text) : -1;
        return fail(err, errlen, name, "$: not valid JSON (near byte %ld)", off);
    }
    int rc = -1;
    static const char *const top_keys[] = {
        "station",       "results_dir", "fixtures",     "fixture",           "pen",  "sensor",
        "sequence_dirs", "database",    "max_attempts", "compress_captures", "line", "retention",
        "report",        NULL
    };
    if (!cJSON_IsObject(root)) {
        fail(err, errlen, name, "$: must be an object");
        goto out;
    }
    if (check_keys(root, top_keys, "$", name, err, errlen) < 0 ||
        get_string(root, "station", "$", out->station, sizeof out->station, name, err, errlen) <
            0 ||
        get_string(root, "results_dir", "$", out->results_dir, sizeof out->results_dir, name, err,
                   errlen) < 0)
        goto out;
    const cJSON *fixtures = cJSON_GetObjectItemCaseSensitive(root, "fixtures");
    if (fixtures) {
        const char *extra = cJSON_HasObjectItem(root, "pen")       ? "pen"
                            : cJSON_HasObjectItem(root, "sensor")  ? "sensor"
                            : cJSON_HasObjectItem(root, "fixture") ? "fixture"
                                                                   : NULL;
        if (extra) {
            fail(err, errlen, name, "$.%s: not with \"fixtures\" (devices go in each fixture)",
                 extra);
            goto out;
        }
        if (parse_fixtures(fixtures, out, name, err, errlen) < 0)
            goto out;
    } else {
        struct fixture_config *fx = &out->fixtures[0];
        snprintf(fx->name, sizeof fx->name, "1");
        if ((cJSON_HasObjectItem(root, "fixture") &&
             parse_fixture_name(root, "fixture", "$", fx, name, err, errlen) < 0) ||
            parse_fixture(root, "$", fx, name, err, errlen) < 0)
            goto out;
        out->nfixtures = 1;
    }
    if (check_distinct(out, name, err, errlen) < 0)
        goto out;
    if (!out->station[0]) {
        fail(err, errlen, name, "$.station: must not be empty");
        goto out;
    }
    if (parse_seq_dirs(cJSON_GetObjectItemCaseSensitive(root, "sequence_dirs"), out, name, err,
                       errlen) < 0 ||
        parse_database(root, out, name, err, errlen) < 0)
        goto out;
    const cJSON *compress = cJSON_GetObjectItemCaseSensitive(root, "compress_captures");
    if (compress && !cJSON_IsBool(compress)) {
        fail(err, errlen, name, "$.compress_captures: must be true or false");
        goto out;
    }
    out->raw_captures = cJSON_IsFalse(compress);
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int station_load(const char *path, struct station_config *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, path, "cannot open: %s", strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap > 1u << 20) {
                fail(err, errlen, path, "larger than 1 MiB");
                goto out;
            }
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(text, cap);
            if (!n) {
                fail(err, errlen, path, "out of memory");
                goto out;
            }
            text = n;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fail(err, errlen, path, "read error");
        goto out;
    }
    text[len] = '\0';
    rc = station_parse(text, path, out, err, errlen);
out:
    free(text);
    fclose(f);
    return rc;
}

/* Relative paths in the station config resolve against rigd's state
 * directory (systemd's StateDirectory=, $STATE_DIRECTORY; the first of a
 * ':'-separated list), else against the directory rigd started in --
 * resolved once (rigd, and `rigctl prune --config` beside it), so a later chdir or the unit's working directory cannot
 * move the records (under ProtectSystem=strict "results" once resolved to
 * a read-only "/results"). */
int station_resolve_paths(struct station_config *c, char *err, size_t errlen)
{
    char base[2048];
    const char *state = getenv("STATE_DIRECTORY");
    if (state && *state)
        snprintf(base, sizeof base, "%.*s", (int)strcspn(state, ":"), state);
    else if (!getcwd(base, sizeof base)) {
        snprintf(err, errlen, "results_dir \"%.200s\": cannot resolve (working directory: %s)",
                 c->results_dir, strerror(errno));
        return -1;
    }
    char abs[sizeof c->results_dir];
    if (c->results_dir[0] != '/') {
        if (snprintf(abs, sizeof abs, "%s/%s", base, c->results_dir) >= (int)sizeof abs) {
            snprintf(err, errlen, "results_dir \"%.200s\": path too long", c->results_dir);
            return -1;
        }
        memcpy(c->results_dir, abs, sizeof abs);
    }
    /* The database: default station.db among the results. */
    if (c->no_database || c->database[0] == '/')
        return 0;
    int n = c->database[0] ? snprintf(abs, sizeof abs, "%s/%s", base, c->database)
                           : snprintf(abs, sizeof abs, "%s/station.db", c->results_dir);
    if (n >= (int)sizeof abs) {
        snprintf(err, errlen, "database \"%.200s\": path too long", c->database);
        return -1;
    }
    memcpy(c->database, abs, sizeof abs);
    return 0;
}

cJSON *station_match_to_json(const struct station_match *m)
{
    cJSON *o = cJSON_CreateObject();
    char id[8];
    snprintf(id, sizeof id, "0x%04x", m->vid);
    cJSON_AddStringToObject(o, "vid", id);
    snprintf(id, sizeof id, "0x%04x", m->pid);
    cJSON_AddStringToObject(o, "pid", id);
    if (m->serial[0])
        cJSON_AddStringToObject(o, "serial", m->serial);
    if (m->path[0])
        cJSON_AddStringToObject(o, "path", m->path);
    return o;
}

const struct fixture_config *station_fixture(const struct station_config *c, const char *name)
{
    for (size_t i = 0; i < c->nfixtures; i++)
        if (strcmp(c->fixtures[i].name, name) == 0)
            return &c->fixtures[i];
    return NULL;
}

cJSON *station_fixture_to_json(const struct fixture_config *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON *p = station_match_to_json(&f->pen);
    cJSON_AddStringToObject(p, "driver", f->pen.driver);
    cJSON_AddItemToObject(o, "pen", p);
    cJSON *s = station_match_to_json(&f->sensor);
    cJSON_AddStringToObject(s, "driver", f->sensor.driver);
    cJSON_AddNumberToObject(s, "rate_hz", f->sensor_rate_hz);
    cJSON_AddItemToObject(o, "sensor", s);
    return o;
}

cJSON *station_to_json(const struct station_config *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "station", c->station);
    cJSON_AddStringToObject(o, "results_dir", c->results_dir);
    if (c->no_database)
        cJSON_AddFalseToObject(o, "database");
    else
        cJSON_AddStringToObject(o, "database", c->database);
    cJSON_AddNumberToObject(o, "max_attempts", c->max_attempts);
    if (c->line_conninfo[0])
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "line"), "conninfo", c->line_conninfo);
    cJSON *fx = cJSON_AddArrayToObject(o, "fixtures");
    for (size_t i = 0; i < c->nfixtures; i++)
        cJSON_AddItemToArray(fx, station_fixture_to_json(&c->fixtures[i]));
    cJSON *dirs = cJSON_AddArrayToObject(o, "sequence_dirs");
    for (size_t i = 0; i < c->nsequence_dirs; i++)
        cJSON_AddItemToArray(dirs, cJSON_CreateString(c->sequence_dirs[i]));
    if (c->report_auto)
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(o, "report"), "auto");
    if (c->raw_captures) /* (the default is not shown) */
        cJSON_AddFalseToObject(o, "compress_captures");
    return o;
}
