/* rigsim's parsers (control_parse.h): "--fault [N:]KIND[@SECONDS][=VALUE]" specs
 * and control-socket request lines. No I/O, no bench: the control socket
 * (control.c) parses with these and then acts; the fuzz targets call them
 * directly.
 */
#include "sim/control_parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "sim/model/model.h"

static const char *const link_names[RS_LF_COUNT_] = {
    [RS_LF_PEN_UNPLUG] = "pen-unplug",
    [RS_LF_PEN_REPLUG] = "pen-replug",
    [RS_LF_SENSOR_UNPLUG] = "sensor-unplug",
    [RS_LF_SENSOR_REPLUG] = "sensor-replug",
    [RS_LF_PEN_CORRUPT] = "pen-corrupt",
    [RS_LF_PEN_DROP] = "pen-drop",
    [RS_LF_PEN_MUTE] = "pen-mute",
    [RS_LF_SENSOR_DROP_BLOCK] = "sensor-drop-block",
    [RS_LF_SENSOR_REPEAT_BLOCK] = "sensor-repeat-block",
};

const char *rs_link_fault_name(enum rs_link_fault k)
{
    return k < RS_LF_COUNT_ ? link_names[k] : "?";
}

static int link_fault_from_name(const char *name)
{
    for (int i = 0; i < RS_LF_COUNT_; i++)
        if (strcmp(link_names[i], name) == 0)
            return i;
    return -1;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static int fault_from_name(const char *name, struct rs_fault *f, char *err, size_t errlen)
{
    int k = link_fault_from_name(name);
    if (k >= 0) {
        f->is_model = false;
        f->kind = k;
        return 0;
    }
    k = sim_fault_from_name(name);
    if (k >= 0) {
        f->is_model = true;
        f->kind = k;
        return 0;
    }
    GString *known = g_string_new(NULL);
    for (int i = 0; i < RS_LF_COUNT_; i++)
        g_string_append_printf(known, "%s ", link_names[i]);
    for (int i = 0; i < SIM_FAULT_COUNT_; i++)
        g_string_append_printf(known, "%s ", sim_fault_name((enum sim_fault_kind)i));
    snprintf(err, errlen, "unknown fault '%s' (known: %s)", name, known->str);
    g_string_free(known, TRUE);
    return -1;
}

/* "N:" before the kind: the bench. Digits only, so it cannot be taken for
 * a kind (letters and '-'), a time ('@') or a value ('='). Returns the
 * rest of the spec, or NULL with err set. */
static char *bench_prefix(char *buf, const char *spec, int *bench, char *err, size_t errlen)
{
    size_t ndig = strspn(buf, "0123456789");
    *bench = 0;
    if (buf[ndig] != ':')
        return buf; /* no prefix: bench 0 */
    if (ndig == 0 || ndig > 3 || atoi(buf) >= RS_MAX_BENCHES) {
        snprintf(err, errlen, "fault '%s': bad bench '%.*s' (0..%d before the ':')", spec,
                 (int)ndig, buf, RS_MAX_BENCHES - 1);
        return NULL;
    }
    *bench = atoi(buf);
    return buf + ndig + 1;
}

int rs_fault_parse(const char *spec, struct rs_fault *f, char *err, size_t errlen)
{
    char whole[128];
    *f = (struct rs_fault){ .replug_after_s = -1 };
    if (strlen(spec) >= sizeof whole) {
        snprintf(err, errlen, "fault spec too long");
        return -1;
    }
    strcpy(whole, spec);
    char *buf = bench_prefix(whole, spec, &f->bench, err, errlen);
    if (!buf)
        return -1;
    char *eq = strchr(buf, '=');
    if (eq) {
        *eq = '\0';
        if (!parse_double(eq + 1, &f->value)) {
            snprintf(err, errlen, "fault '%s': bad value '%s'", spec, eq + 1);
            return -1;
        }
        f->has_value = true;
    }
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (!parse_double(at + 1, &f->at_s) || f->at_s < 0) {
            snprintf(err, errlen, "fault '%s': bad time '%s' (seconds >= 0)", spec, at + 1);
            return -1;
        }
        f->has_at = true;
    }
    if (fault_from_name(buf, f, err, errlen) < 0)
        return -1;
    /* for unplug kinds the value is the re-plug delay */
    if (!f->is_model && (f->kind == RS_LF_PEN_UNPLUG || f->kind == RS_LF_SENSOR_UNPLUG) &&
        f->has_value)
        f->replug_after_s = f->value;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Control requests                                                   */

/* An optional finite number: false if absent; false with err set if present
 * but not a finite number. */
static bool json_number(const cJSON *req, const char *key, double *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (!v)
        return false;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        snprintf(err, errlen, "%s: must be a number", key);
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static int parse_fault_request(const cJSON *req, const char *name, struct rs_ctl_request *out,
                               char *err, size_t errlen)
{
    struct rs_fault *f = &out->fault;
    *f = (struct rs_fault){ .replug_after_s = -1 };
    if (fault_from_name(name, f, err, errlen) < 0)
        return -1;
    err[0] = '\0';
    f->has_value = json_number(req, "value", &f->value, err, errlen);
    double t;
    if (json_number(req, "after", &t, err, errlen)) {
        f->has_at = true;
        f->at_s = MAX(t, 0);
        out->at_from_now = true;
    } else if (json_number(req, "at", &t, err, errlen)) {
        f->has_at = true;
        f->at_s = t;
    }
    (void)json_number(req, "replug_after", &f->replug_after_s, err, errlen);
    if (err[0] != '\0')
        return -1;
    /* as in --fault specs, an unplug's value is its re-plug delay */
    if (!f->is_model && (f->kind == RS_LF_PEN_UNPLUG || f->kind == RS_LF_SENSOR_UNPLUG) &&
        f->has_value && f->replug_after_s < 0)
        f->replug_after_s = f->value;
    return 0;
}

static int parse_query(const char *q, struct rs_ctl_request *out, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum rs_ctl_query q;
    } queries[] = {
        { "pen", RS_Q_PEN },
        { "sensor", RS_Q_SENSOR },
        { "stats", RS_Q_STATS },
        { "time", RS_Q_TIME },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(queries); i++) {
        if (strcmp(q, queries[i].name) == 0) {
            out->kind = RS_CTL_QUERY;
            out->query = queries[i].q;
            return 0;
        }
    }
    snprintf(err, errlen, "query: unknown '%s' (pen, sensor, stats, time)", q);
    return -1;
}

/* obj's "seed": an integer 0..2^53 (JSON numbers are doubles: above that
 * they are no longer exact). false if obj is no object or has no such seed. */
static bool json_seed(const cJSON *obj, unsigned long long *out)
{
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(obj, "seed");
    if (!cJSON_IsObject(obj) || !cJSON_IsNumber(seed) || !(seed->valuedouble >= 0) ||
        seed->valuedouble > 9007199254740992.0 || seed->valuedouble != floor(seed->valuedouble))
        return false;
    *out = (unsigned long long)seed->valuedouble;
    return true;
}

/* {"swap_pen": {"seed": N, "serial": "PA-...", "gap": seconds}} */
static int parse_swap(const cJSON *swap, struct rs_ctl_request *out, char *err, size_t errlen)
{
    const cJSON *serial = cJSON_GetObjectItemCaseSensitive(swap, "serial");
    out->kind = RS_CTL_SWAP_PEN;
    out->swap_gap_s = 0.2;
    if (!json_seed(swap, &out->swap_seed)) {
        snprintf(err, errlen, "swap_pen: needs \"seed\": an integer 0..2^53");
        return -1;
    }
    size_t len = cJSON_IsString(serial) ? strlen(serial->valuestring) : 0;
    if (len == 0 || len >= sizeof out->swap_serial) {
        snprintf(err, errlen, "swap_pen: needs \"serial\": 1..16 printable characters");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)serial->valuestring[i];
        if (ch < 0x20 || ch > 0x7e) {
            snprintf(err, errlen, "swap_pen: serial: printable ASCII only");
            return -1;
        }
    }
    memcpy(out->swap_serial, serial->valuestring, len + 1);
    err[0] = '\0';
    double gap;
    if (json_number(swap, "gap", &gap, err, errlen)) {
        if (gap < 0 || gap > 60) {
            snprintf(err, errlen, "swap_pen: gap: seconds 0..60");
            return -1;
        }
        out->swap_gap_s = gap;
    } else if (err[0]) {
        snprintf(err, errlen, "swap_pen: gap: must be a number of seconds");
        return -1;
    }
    return 0;
}

/* Only the listed members: a misspelt option must not be ignored. */
static bool only_members(const cJSON *obj, const char *const *allowed, size_t n)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, obj) {
        size_t i = 0;
        while (i < n && strcmp(item->string ? item->string : "", allowed[i]) != 0)
            i++;
        if (i == n)
            return false;
    }
    return true;
}

/* {"remount": {}}: the operator takes the pen out and puts it back. */
static int parse_remount(const cJSON *remount, struct rs_ctl_request *out, char *err, size_t errlen)
{
    out->kind = RS_CTL_REMOUNT;
    if (!cJSON_IsObject(remount) || !only_members(remount, NULL, 0)) {
        snprintf(err, errlen, "remount: expected an empty object {}");
        return -1;
    }
    return 0;
}

/* {"session": {"seed": N}}: a new session (operator, day) with its seed. */
static int parse_session(const cJSON *session, struct rs_ctl_request *out, char *err, size_t errlen)
{
    static const char *const keys[] = { "seed" };
    out->kind = RS_CTL_SESSION;
    if (!json_seed(session, &out->session_seed) ||
        !only_members(session, keys, G_N_ELEMENTS(keys))) {
        snprintf(err, errlen, "session: expected {\"seed\": an integer 0..2^53}");
        return -1;
    }
    return 0;
}

/* "bench": an integer 0..RS_MAX_BENCHES-1, default 0. */
static int parse_bench(const cJSON *req, int *bench, char *err, size_t errlen)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, "bench");
    *bench = 0;
    if (!b)
        return 0;
    if (!cJSON_IsNumber(b) || !(b->valuedouble >= 0) || b->valuedouble >= RS_MAX_BENCHES ||
        b->valuedouble != floor(b->valuedouble)) {
        snprintf(err, errlen, "bench: must be an integer 0..%d (the bench's index)",
                 RS_MAX_BENCHES - 1);
        return -1;
    }
    *bench = (int)b->valuedouble;
    return 0;
}

int rs_control_parse(const char *line, struct rs_ctl_request *out, char *err, size_t errlen)
{
    *out = (struct rs_ctl_request){ .kind = RS_CTL_QUERY, .query = RS_Q_TIME };
    cJSON *req = cJSON_Parse(line);
    int rc = -1;
    if (!req || !cJSON_IsObject(req)) {
        snprintf(err, errlen, "not a JSON object");
    } else if (parse_bench(req, &out->bench, err, errlen) < 0) {
        rc = -1;
    } else {
        const cJSON *fault = cJSON_GetObjectItemCaseSensitive(req, "fault");
        const cJSON *query = cJSON_GetObjectItemCaseSensitive(req, "query");
        const cJSON *clear = cJSON_GetObjectItemCaseSensitive(req, "clear");
        const cJSON *swap = cJSON_GetObjectItemCaseSensitive(req, "swap_pen");
        const cJSON *remount = cJSON_GetObjectItemCaseSensitive(req, "remount");
        const cJSON *session = cJSON_GetObjectItemCaseSensitive(req, "session");
        if (swap) {
            rc = parse_swap(swap, out, err, errlen);
        } else if (remount) {
            rc = parse_remount(remount, out, err, errlen);
        } else if (session) {
            rc = parse_session(session, out, err, errlen);
        } else if (cJSON_IsString(fault)) {
            out->kind = RS_CTL_FAULT;
            rc = parse_fault_request(req, fault->valuestring, out, err, errlen);
        } else if (cJSON_IsString(query)) {
            rc = parse_query(query->valuestring, out, err, errlen);
        } else if (clear) {
            out->kind = RS_CTL_CLEAR;
            rc = 0;
        } else {
            snprintf(err, errlen,
                     "expected \"fault\", \"query\", \"clear\", \"swap_pen\", "
                     "\"remount\" or \"session\"");
        }
    }
    cJSON_Delete(req);
    return rc;
}
