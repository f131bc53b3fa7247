/* A record document read back into the typed record (rec.h): the inverse
 * of rec_json.c. Any input is safe: a document that is not a record the
 * JSON sink could have written is refused with what is wrong and where. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rec.h"
#include "core/record.h"

struct in {
    char *err;
    size_t errlen;
    bool bad;
    char where[96]; /* the object being read, for messages */
};

__attribute__((format(printf, 2, 3))) static bool fail(struct in *p, const char *fmt, ...)
{
    if (p->bad)
        return false;
    p->bad = true;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s%s%s", p->where, p->where[0] ? ": " : "", what);
    return false;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static bool dup_into(struct in *p, char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst ? true : fail(p, "out of memory");
}

/* A string member; absent allowed when opt (then *dst stays NULL). */
static bool str(struct in *p, const cJSON *o, const char *key, char **dst, bool opt)
{
    const cJSON *v = get(o, key);
    if (!v && opt)
        return true;
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(p, "\"%s\" must be a string", key);
    return dup_into(p, dst, v->valuestring);
}

/* A string member into a fixed buffer. */
static bool str_buf(struct in *p, const cJSON *o, const char *key, char *buf, size_t len)
{
    const cJSON *v = get(o, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(p, "\"%s\" must be a string", key);
    if (strlen(v->valuestring) >= len)
        return fail(p, "\"%s\" is too long (at most %zu characters)", key, len - 1);
    memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

/* A number member; null (or absent when opt) is NaN. */
static bool num(struct in *p, const cJSON *o, const char *key, double *dst, bool opt)
{
    const cJSON *v = get(o, key);
    *dst = NAN;
    if ((!v && opt) || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v))
        return fail(p, "\"%s\" must be a number or null", key);
    *dst = v->valuedouble;
    return true;
}

/* An integer member in [lo, hi]. */
static bool integer(struct in *p, const cJSON *o, const char *key, double lo, double hi,
                    double *dst)
{
    const cJSON *v = get(o, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return fail(p, "\"%s\" must be an integer from %.0f to %.0f", key, lo, hi);
    *dst = d;
    return true;
}

#define MAX_EXACT 9007199254740992.0 /* 2^53: every integer up to it is a double */

static bool uint_m(struct in *p, const cJSON *o, const char *key, double hi, uint64_t *dst)
{
    double d;
    if (!integer(p, o, key, 0, hi, &d))
        return false;
    *dst = (uint64_t)d;
    return true;
}

static bool unsigned_m(struct in *p, const cJSON *o, const char *key, unsigned *dst)
{
    uint64_t u;
    if (!uint_m(p, o, key, 4294967295.0, &u))
        return false;
    *dst = (unsigned)u;
    return true;
}

static bool boolean(struct in *p, const cJSON *o, const char *key, bool *dst)
{
    const cJSON *v = get(o, key);
    if (!cJSON_IsBool(v))
        return fail(p, "\"%s\" must be true or false", key);
    *dst = cJSON_IsTrue(v);
    return true;
}

static bool object(struct in *p, const cJSON *o, const char *key, const cJSON **dst, bool opt)
{
    *dst = get(o, key);
    if (!*dst && opt)
        return true;
    return cJSON_IsObject(*dst) ? true : fail(p, "\"%s\" must be an object", key);
}

static bool array(struct in *p, const cJSON *o, const char *key, const cJSON **dst, bool opt)
{
    *dst = get(o, key);
    if (!*dst && opt)
        return true;
    return cJSON_IsArray(*dst) ? true : fail(p, "\"%s\" must be an array", key);
}

/* "2026-11-25T11:42:07.123Z", exactly as record_utc writes it. */
static bool utc(struct in *p, const cJSON *o, const char *key, struct timespec *ts)
{
    const cJSON *v = get(o, key);
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    struct tm tm = { 0 };
    unsigned ms = 0;
    int used = 0;
    if (s && strlen(s) == 24 &&
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) == 7 &&
        used == 24) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        ts->tv_sec = timegm(&tm);
        ts->tv_nsec = (long)ms * 1000000;
        char back[32];
        record_utc(ts, back);
        if (strcmp(back, s) == 0)
            return true;
    }
    return fail(p, "\"%s\" must be a UTC time like 2026-11-25T11:42:07.123Z", key);
}

/* "YYYY-MM-DD" or "" (none), as record_date writes it. */
static bool date(struct in *p, const cJSON *o, const char *key, uint32_t *dst)
{
    const cJSON *v = get(o, key);
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    unsigned y, m, d;
    int used = 0;
    *dst = 0;
    if (s && !s[0])
        return true;
    if (s && strlen(s) == 10 && sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &used) == 3 && used == 10 &&
        m >= 1 && m <= 12 && d >= 1 && d <= 31) {
        *dst = y * 10000 + m * 100 + d;
        char back[11];
        record_date(*dst, back);
        if (strcmp(back, s) == 0)
            return true;
    }
    return fail(p, "\"%s\" must be a date like 2026-11-25, or \"\"", key);
}

static bool outcome_m(struct in *p, const cJSON *o, const char *key, enum rig_outcome *dst)
{
    const cJSON *v = get(o, key);
    int oc = cJSON_IsString(v) ? outcome_from_str(v->valuestring) : -1;
    if (oc < 0)
        return fail(p, "\"%s\" must be an outcome (PASS, FAIL, ...)", key);
    *dst = (enum rig_outcome)oc;
    return true;
}

static bool sha(struct in *p, const cJSON *o, const char *key, char dst[DIGEST_HEX_LEN + 1])
{
    return str_buf(p, o, key, dst, DIGEST_HEX_LEN + 1);
}

/* name + hash members, both or neither */
static bool attachment(struct in *p, const cJSON *o, const char *key, const char *shakey,
                       struct rec_attachment *a)
{
    if (!get(o, key) && !get(o, shakey))
        return true;
    return str(p, o, key, &a->name, false) && sha(p, o, shakey, a->sha256);
}

static void where(struct in *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void where(struct in *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->where, sizeof p->where, fmt, ap);
    va_end(ap);
}

/* ---- parts ------------------------------------------------------------ */

static bool tare(struct in *p, const cJSON *j, struct rec_tare *t)
{
    t->present = true;
    t->needle_tip_mm = t->zero_n = NAN;
    if (!utc(p, j, "utc", &t->at))
        return false;
    t->has_needle_tip = get(j, "needle_tip_mm") != NULL;
    if (!num(p, j, "needle_tip_mm", &t->needle_tip_mm, true))
        return false;
    t->has_done = get(j, "done") != NULL;
    if (!t->has_done)
        return true;
    if (!boolean(p, j, "done", &t->done) || !str(p, j, "note", &t->note, true))
        return false;
    if (!t->done)
        return true;
    double off;
    if (!integer(p, j, "offset_raw_un", INT32_MIN, INT32_MAX, &off))
        return false;
    t->offset_raw_un = (int32_t)off;
    return num(p, j, "zero_n", &t->zero_n, false);
}

/* The analysis records the rate's first and last instants in seconds
 * (sample index / rate): the index whose quotient is exactly what the
 * record says, so that writing it again gives the same digits. */
static double index_of(double seconds, double rate_hz)
{
    double x = seconds * rate_hz;
    if (!isfinite(x) || !isfinite(rate_hz) || rate_hz == 0)
        return x;
    double up = x, down = x;
    for (int i = 0; i < 8; i++) {
        if (up / rate_hz == seconds)
            return up;
        if (down / rate_hz == seconds)
            return down;
        up = nextafter(up, INFINITY);
        down = nextafter(down, -INFINITY);
    }
    return x;
}

static bool analysis(struct in *p, const cJSON *c, double rate_hz, struct an_result *an)
{
    static const char *const names[] = { "sample_loss", "overrun", "no_target", "out_of_range",
                                         "disconnect" };
    const cJSON *flags, *a, *f;
    if (!array(p, c, "flags", &flags, false))
        return false;
    cJSON_ArrayForEach (f, flags) {
        unsigned b = 0;
        while (b < 5 && !(cJSON_IsString(f) && strcmp(f->valuestring, names[b]) == 0))
            b++;
        if (b == 5)
            return fail(p, "\"flags\" holds an unknown flag");
        an->flags |= 1u << b;
    }
    const cJSON *e = get(c, "error");
    if (e) {
        if (!cJSON_IsString(e) || strlen(e->valuestring) >= sizeof an->error)
            return fail(p, "\"error\" must be a string of at most %zu characters",
                        sizeof an->error - 1);
        memcpy(an->error, e->valuestring, strlen(e->valuestring) + 1);
    }
    if (!object(p, c, "analysis", &a, false))
        return false;
    uint64_t strokes, steady;
    double first_s, last_s;
    if (!uint_m(p, a, "strokes", MAX_EXACT, &strokes) ||
        !uint_m(p, a, "steady_strokes", MAX_EXACT, &steady) ||
        !num(p, a, "stroke_rate_hz", &an->rate_hz, false) ||
        !num(p, a, "rate_first_s", &first_s, false) || !num(p, a, "rate_last_s", &last_s, false) ||
        !num(p, a, "rate_periods", &an->rate_periods, false) ||
        !num(p, a, "jitter_pct", &an->jitter_pct, false) ||
        !num(p, a, "depth_mean_mm", &an->depth_mean_mm, false) ||
        !num(p, a, "depth_min_mm", &an->depth_min_mm, false) ||
        !num(p, a, "depth_max_mm", &an->depth_max_mm, false) ||
        !num(p, a, "depth_std_mm", &an->depth_std_mm, false) ||
        !num(p, a, "peak_force_mean_n", &an->force_mean_n, false) ||
        !num(p, a, "peak_force_min_n", &an->force_min_n, false) ||
        !num(p, a, "peak_force_max_n", &an->force_max_n, false) ||
        !num(p, a, "force_zero_n", &an->force_zero_n, false) ||
        !num(p, a, "spinup_ms", &an->spinup_ms, false) ||
        !num(p, a, "start_delay_ms", &an->start_delay_ms, false) ||
        !num(p, a, "stop_ms", &an->stop_ms, false) ||
        !num(p, a, "stop_delay_ms", &an->stop_delay_ms, false) ||
        !num(p, a, "swing_mm", &an->swing_mm, false) ||
        !num(p, a, "stalled_ms", &an->stalled_ms, false))
        return false;
    an->strokes = (size_t)strokes;
    an->steady_strokes = (size_t)steady;
    an->rate_first = index_of(first_s, rate_hz);
    an->rate_last = index_of(last_s, rate_hz);
    an->depth_error_mm = NAN; /* not recorded */
    return true;
}

static bool capture(struct in *p, const cJSON *j, struct rec_capture *c)
{
    double start, stop;
    if (!uint_m(p, j, "samples", MAX_EXACT, &c->samples) ||
        !num(p, j, "rate_hz", &c->rate_hz, false) ||
        !uint_m(p, j, "first_sample", MAX_EXACT, &c->first_sample) ||
        !integer(p, j, "start_index", -MAX_EXACT, MAX_EXACT, &start) ||
        !integer(p, j, "stop_index", -MAX_EXACT, MAX_EXACT, &stop))
        return false;
    if (!cJSON_IsNumber(get(j, "rate_hz")))
        return fail(p, "\"rate_hz\" must be a number");
    c->start_index = (int64_t)start;
    c->stop_index = (int64_t)stop;
    if (!analysis(p, j, c->rate_hz, &c->analysis) || !attachment(p, j, "file", "sha256", &c->data))
        return false;
    /* rig-capture/2 onwards: the samples' hash; after retention, when */
    if (get(j, "samples_sha256") &&
        (!sha(p, j, "samples_sha256", c->data.samples_sha256) || !c->data.samples_sha256[0]))
        return fail(p, "\"samples_sha256\" must be a SHA-256");
    c->pruned = get(j, "pruned_utc") != NULL;
    if (c->pruned && !utc(p, j, "pruned_utc", &c->pruned_at))
        return false;
    if ((c->data.samples_sha256[0] || c->pruned) && !c->data.name)
        return fail(p, "\"samples_sha256\" and \"pruned_utc\" need a \"file\"");
    return attachment(p, j, "strokes", "strokes_sha256", &c->strokes);
}

static bool measurement(struct in *p, const cJSON *j, struct rec_measurement *m)
{
    m->value = m->low = m->high = NAN;
    if (!cJSON_IsObject(j))
        return fail(p, "a measurement must be an object");
    const cJSON *v = get(j, "value");
    if (!v)
        return fail(p, "\"value\" is missing");
    m->is_text = cJSON_IsString(v) || (cJSON_IsNull(v) && !get(j, "low"));
    if (cJSON_IsString(v) && !dup_into(p, &m->text, v->valuestring))
        return false;
    if (!m->is_text && !num(p, j, "value", &m->value, false))
        return false;
    const cJSON *cmp = get(j, "comparison");
    int c = cJSON_IsString(cmp) ? lim_cmp_from_str(cmp->valuestring) : -1;
    if (c < 0)
        return fail(p, "\"comparison\" must be a comparison (EQ, GELE, MATCH, ...)");
    m->comparison = (enum lim_cmp)c;
    if (!str(p, j, "name", &m->name, false) || !str(p, j, "quantity", &m->quantity, false) ||
        !str(p, j, "units", &m->units, false) || !str(p, j, "pattern", &m->pattern, true) ||
        !str(p, j, "expected", &m->expected, true) || !str(p, j, "limit", &m->limit, true) ||
        !outcome_m(p, j, "outcome", &m->outcome) || !boolean(p, j, "marginal", &m->marginal) ||
        !str(p, j, "note", &m->note, true))
        return false;
    if (!m->is_text) {
        bool two = lim_cmp_arity(m->comparison) == 2;
        if (!get(j, "low") || (two && !get(j, "high")))
            return fail(p, "\"%s\" is missing", get(j, "low") ? "high" : "low");
        if (!num(p, j, "low", &m->low, false) || (two && !num(p, j, "high", &m->high, false)))
            return false;
    }
    return true;
}

static bool loop(struct in *p, const cJSON *j, struct rec_loop *l)
{
    const cJSON *k;
    cJSON_ArrayForEach (k, j) {
        if (l->n == REC_LOOP_MAX || !k->string || strlen(k->string) >= sizeof l->v[0].key ||
            !cJSON_IsNumber(k))
            return fail(p, "\"loop\" must hold at most %d numbers with short names", REC_LOOP_MAX);
        memcpy(l->v[l->n].key, k->string, strlen(k->string) + 1);
        l->v[l->n++].value = k->valuedouble;
    }
    return true;
}

static bool kind(struct in *p, const cJSON *j, enum step_kind *dst)
{
    const cJSON *v = get(j, "kind");
    for (int k = 0; cJSON_IsString(v) && k < STEP_KIND_COUNT_; k++)
        if (strcmp(v->valuestring, step_kind_str((enum step_kind)k)) == 0) {
            *dst = (enum step_kind)k;
            return true;
        }
    return fail(p, "\"kind\" must be a step kind (identify, capture, ...)");
}

static bool step(struct in *p, const cJSON *j, struct rec_step *s)
{
    const cJSON *o;
    s->duration_s = NAN;
    s->setpoints.rate_hz = s->setpoints.depth_mm = NAN;
    if (!cJSON_IsObject(j))
        return fail(p, "a step must be an object");
    if (get(j, "index") && !unsigned_m(p, j, "index", &s->index))
        return false;
    if (get(j, "index") && s->index == 0)
        return fail(p, "\"index\" must be 1 or more");
    bool ran = s->index != 0;
    if (!str(p, j, "section", &s->section, false) || !str(p, j, "path", &s->path, false) ||
        !kind(p, j, &s->kind) || !str(p, j, "name", &s->name, true) ||
        !object(p, j, "loop", &o, true) || (o && !loop(p, o, &s->loop)))
        return false;
    if (get(j, "attempt") && !unsigned_m(p, j, "attempt", &s->attempt))
        return false;
    s->has_started = get(j, "started_utc") != NULL;
    if (s->has_started && !utc(p, j, "started_utc", &s->started))
        return false;
    if (!object(p, j, "tare", &o, true) || (o && !tare(p, o, &s->tare)))
        return false;
    if (!object(p, j, "capture", &o, true))
        return false;
    if (o) {
        s->capture = calloc(1, sizeof *s->capture);
        if (!s->capture)
            return fail(p, "out of memory");
        if (!capture(p, o, s->capture))
            return false;
    }
    if (!object(p, j, "setpoints", &o, false) ||
        !num(p, o, "rate_hz", &s->setpoints.rate_hz, false) ||
        !num(p, o, "depth_mm", &s->setpoints.depth_mm, false))
        return false;
    if (ran && (!num(p, j, "duration_s", &s->duration_s, false) ||
                !boolean(p, j, "marginal", &s->marginal)))
        return false;
    if (!outcome_m(p, j, "outcome", &s->outcome) || !str(p, j, "message", &s->message, true) ||
        !array(p, j, "measurements", &o, false))
        return false;
    int n = cJSON_GetArraySize(o);
    s->meas = n ? calloc((size_t)n, sizeof *s->meas) : NULL;
    if (n && !s->meas)
        return fail(p, "out of memory");
    const cJSON *m;
    cJSON_ArrayForEach (m, o)
        if (!measurement(p, m, &s->meas[s->nmeas++]))
            return false;
    const cJSON *sup = get(j, "superseded");
    if (sup && !boolean(p, j, "superseded", &s->superseded))
        return false;
    return true;
}

static bool instrument(struct in *p, const cJSON *j, struct rig_instrument *in)
{
    const cJSON *k;
    if (!cJSON_IsObject(j))
        return fail(p, "an instrument must be an object");
    if (!str_buf(p, j, "role", in->role, sizeof in->role) ||
        !str_buf(p, j, "model", in->model, sizeof in->model) ||
        !str_buf(p, j, "serial", in->serial, sizeof in->serial) ||
        !str_buf(p, j, "firmware", in->firmware, sizeof in->firmware) ||
        !date(p, j, "cal_date", &in->cal_date) || !date(p, j, "cal_due", &in->cal_due) ||
        !str_buf(p, j, "certificate", in->certificate, sizeof in->certificate) ||
        !object(p, j, "coefficients", &k, true))
        return false;
    if (!k)
        return true;
    double v[4];
    static const char *const keys[] = { "force_gain_ppm", "force_offset_un", "disp_gain_ppm",
                                        "disp_offset_nm" };
    for (int i = 0; i < 4; i++)
        if (!integer(p, k, keys[i], INT32_MIN, INT32_MAX, &v[i]))
            return false;
    in->has_coefficients = true;
    in->force_gain_ppm = (int32_t)v[0];
    in->force_offset_un = (int32_t)v[1];
    in->disp_gain_ppm = (int32_t)v[2];
    in->disp_offset_nm = (int32_t)v[3];
    return true;
}

static bool definition(struct in *p, const cJSON *rec, const char *key, struct rec_definition *d)
{
    const cJSON *j;
    where(p, "%s", key);
    return object(p, rec, key, &j, false) && str(p, j, "file", &d->file, false) &&
           str(p, j, "name", &d->name, false) && str(p, j, "version", &d->version, true) &&
           sha(p, j, "sha256", d->sha256) && str(p, j, "policy", &d->policy, true) &&
           attachment(p, j, "attachment", "attachment_sha256", &d->attachment);
}

static bool dut(struct in *p, const cJSON *rec, struct rec_run *r)
{
    const cJSON *d, *rep;
    where(p, "dut");
    if (!object(p, rec, "dut", &d, false) || !str(p, d, "serial", &r->dut_serial, false) ||
        !str(p, d, "reported_serial", &r->reported_serial, true) ||
        !object(p, d, "reported", &rep, true))
        return false;
    if (!rep)
        return true;
    struct pen_identity *id = &r->reported;
    double hw, needles;
    unsigned a, b, c;
    int used = 0;
    const cJSON *fw = get(rep, "firmware");
    where(p, "dut.reported");
    if (!str_buf(p, rep, "model", id->model, sizeof id->model) ||
        !str_buf(p, rep, "serial", id->serial, sizeof id->serial) ||
        !integer(p, rep, "hw_revision", 0, 255, &hw) ||
        !str_buf(p, rep, "cartridge_id", id->cartridge_id, sizeof id->cartridge_id) ||
        !integer(p, rep, "needle_count", 0, 255, &needles))
        return false;
    if (!cJSON_IsString(fw) || sscanf(fw->valuestring, "%3u.%3u.%3u%n", &a, &b, &c, &used) != 3 ||
        fw->valuestring[used] || a > 255 || b > 255 || c > 255)
        return fail(p, "\"firmware\" must be a version like 1.4.0");
    char back[32];
    snprintf(back, sizeof back, "%u.%u.%u", a, b, c);
    if (strcmp(back, fw->valuestring) != 0)
        return fail(p, "\"firmware\" must be a version like 1.4.0");
    r->has_reported = true;
    id->hw_revision = (uint8_t)hw;
    id->needle_count = (uint8_t)needles;
    id->fw_major = (uint8_t)a;
    id->fw_minor = (uint8_t)b;
    id->fw_patch = (uint8_t)c;
    return true;
}

static bool actions(struct in *p, const cJSON *arr, struct rec_run *r)
{
    int n = cJSON_GetArraySize(arr);
    if (!n)
        return fail(p, "\"rig_actions\" must not be empty");
    r->rig_actions = calloc((size_t)n, sizeof *r->rig_actions);
    if (!r->rig_actions)
        return fail(p, "out of memory");
    const cJSON *a;
    cJSON_ArrayForEach (a, arr) {
        struct rec_rig_action *x = &r->rig_actions[r->nrig_actions++];
        if (!cJSON_IsObject(a))
            return fail(p, "an action must be an object");
        if (!utc(p, a, "utc", &x->at) || !str(p, a, "action", &x->action, true) ||
            !str(p, a, "faults", &x->faults, true) || !str(p, a, "reason", &x->reason, true) ||
            !str(p, a, "pen_serial", &x->pen_serial, true))
            return false;
    }
    return true;
}

/* The members after "summary": the run's tare, the rig's actions (where
 * they are says when the record first had them), the final stop, the
 * message. */
static bool tail(struct in *p, const cJSON *rec, struct rec_run *r)
{
    bool after_tare = false, after_end = false;
    unsigned seen = 0;
    const cJSON *j;
    cJSON_ArrayForEach (j, rec) {
        static const char *const keys[] = { "tare", "rig_actions", "final_stop", "message" };
        unsigned k = 0;
        while (k < 4 && !(j->string && strcmp(j->string, keys[k]) == 0))
            k++;
        if (k == 4)
            continue;
        if (seen & (1u << k))
            return fail(p, "\"%s\" appears twice", keys[k]);
        seen |= 1u << k;
        if (strcmp(j->string, "tare") == 0) {
            where(p, "tare");
            if (!cJSON_IsObject(j))
                return fail(p, "must be an object");
            if (!tare(p, j, &r->tare))
                return false;
            after_tare = true;
        } else if (strcmp(j->string, "rig_actions") == 0) {
            where(p, "rig_actions");
            if (!cJSON_IsArray(j))
                return fail(p, "must be an array");
            r->actions_place = after_end    ? REC_ACTIONS_LATE
                               : after_tare ? REC_ACTIONS_MID
                                            : REC_ACTIONS_EARLY;
            if (!actions(p, j, r))
                return false;
        } else if (strcmp(j->string, "final_stop") == 0) {
            where(p, "final_stop");
            bool sent = false;
            if (!boolean(p, j, "sent", &sent) || !str(p, j, "result", &r->final_stop_result, false))
                return false;
            if (!sent)
                return fail(p, "\"sent\" must be true");
            r->final_stop_sent = true;
            after_end = true;
        } else if (strcmp(j->string, "message") == 0) {
            where(p, "%s", "");
            if (!str(p, rec, "message", &r->message, false))
                return false;
            after_end = true;
        }
    }
    return true;
}

static bool run(struct in *p, const cJSON *doc, struct rec_run *r)
{
    const cJSON *f = get(doc, "format"), *o;
    if (!cJSON_IsObject(doc))
        return fail(p, "a record must be a JSON object");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, RECORD_FORMAT) != 0)
        return fail(p, "\"format\" must be \"%s\"", RECORD_FORMAT);
    if (!str_buf(p, doc, "id", r->id, sizeof r->id) || !boolean(p, doc, "complete", &r->complete))
        return false;
    if (r->complete && !outcome_m(p, doc, "outcome", &r->outcome))
        return false;
    if (!r->complete && !cJSON_IsNull(get(doc, "outcome")))
        return fail(p, "\"outcome\" must be null while incomplete");
    if (!boolean(p, doc, "marginal", &r->marginal) || !dut(p, doc, r))
        return false;
    where(p, "software");
    if (!object(p, doc, "software", &o, false) || !str(p, o, "version", &r->sw_version, false) ||
        !str(p, o, "vcs", &r->sw_vcs, false) || !boolean(p, o, "dirty", &r->sw_dirty))
        return false;
    where(p, "%s", "");
    if (!str(p, doc, "operator", &r->operator_name, false) ||
        !str(p, doc, "station", &r->station, false) || !object(p, doc, "study", &o, true))
        return false;
    if (o) {
        where(p, "study");
        if (!str(p, o, "id", &r->study.id, false) || !unsigned_m(p, o, "part", &r->study.part) ||
            !unsigned_m(p, o, "trial", &r->study.trial))
            return false;
        where(p, "%s", "");
    }
    const cJSON *fx = get(doc, "fixture");
    if (!cJSON_IsNull(fx) && !str(p, doc, "fixture", &r->fixture, false))
        return false;
    if (!definition(p, doc, "sequence", &r->sequence) || !definition(p, doc, "spec", &r->spec))
        return false;
    where(p, "%s", "");
    if (!array(p, doc, "instruments", &o, false))
        return false;
    const cJSON *j;
    cJSON_ArrayForEach (j, o) {
        where(p, "instruments[%zu]", r->ninstruments);
        if (r->ninstruments == RIG_MAX_INSTRUMENTS)
            return fail(p, "more than %d instruments", RIG_MAX_INSTRUMENTS);
        if (!instrument(p, j, &r->instruments[r->ninstruments++]))
            return false;
    }
    where(p, "%s", "");
    if (!utc(p, doc, "started_utc", &r->started))
        return false;
    r->has_ended = !cJSON_IsNull(get(doc, "ended_utc"));
    if ((r->has_ended && !utc(p, doc, "ended_utc", &r->ended)) ||
        !unsigned_m(p, doc, "retries", &r->retries) || !array(p, doc, "steps", &o, false))
        return false;
    int n = cJSON_GetArraySize(o);
    r->steps = n ? calloc((size_t)n, sizeof *r->steps) : NULL;
    if (n && !r->steps)
        return fail(p, "out of memory");
    r->steps_cap = (size_t)n;
    cJSON_ArrayForEach (j, o) {
        where(p, "steps[%zu]", r->nsteps);
        if (!step(p, j, &r->steps[r->nsteps++]))
            return false;
    }
    where(p, "summary");
    if (!object(p, doc, "summary", &o, false) || !unsigned_m(p, o, "steps", &r->summary.steps) ||
        !unsigned_m(p, o, "measurements", &r->summary.measurements) ||
        !unsigned_m(p, o, "pass", &r->summary.pass) ||
        !unsigned_m(p, o, "fail", &r->summary.fail) ||
        !unsigned_m(p, o, "error", &r->summary.error) ||
        !unsigned_m(p, o, "marginal", &r->summary.marginal))
        return false;
    return tail(p, doc, r);
}

int rec_from_json(const cJSON *doc, struct rec_run *out, char *err, size_t errlen)
{
    char dummy[1];
    struct in p = { .err = err && errlen ? err : dummy, .errlen = err && errlen ? errlen : 1 };
    p.err[0] = '\0';
    memset(out, 0, sizeof *out);
    out->tare.needle_tip_mm = out->tare.zero_n = NAN;
    if (!run(&p, doc, out)) {
        if (!p.bad)
            fail(&p, "not a run record");
        return -EINVAL;
    }
    return 0;
}
