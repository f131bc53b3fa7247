#include "core/sequence.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonv.h"

/* Limits on what a file may ask for: generous, but a typo like 600000
 * seconds is caught before a station is tied up for a week. */
#define MAX_SETTLE_S  600.0
#define MAX_CAPTURE_S 60.0
#define MAX_PRE_S     5.0
/* 60 s (the longest capture) at the slowest rate, 50 Hz: bounds memory the
 * same way the seconds limit does. */
#define MAX_STROKES   3000
#define MAX_TIMEOUT_S 86400.0
#define MAX_REPEAT    10000
#define MAX_ATTEMPTS  10
#define MAX_LIST      100
#define MAX_DEPTH     8    /* nesting of sweep/repeat/retry */
#define RATE_MIN_HZ   50.0 /* pen protocol range */
#define RATE_MAX_HZ   150.0
#define DEPTH_MAX_MM  3.0

static const char *const kind_names[STEP_KIND_COUNT_] = {
    "identify", "configure", "start", "stop",   "settle",
    "capture",  "tare",      "sweep", "repeat", "retry",
};

const char *step_kind_str(enum step_kind k)
{
    return (unsigned)k < STEP_KIND_COUNT_ ? kind_names[k] : "?";
}

static const char *const top_keys[] = {
    "format", "name", "description", "spec", "policy", "setup", "main", "teardown", NULL,
};

/* Keys each step kind accepts (besides "step", "name", "timeout_s"). */
static const char *const *step_keys(enum step_kind k)
{
    static const char *const identify[] = { "step", "name", "timeout_s", "evaluate", NULL };
    static const char *const configure[] = { "step",    "name",     "timeout_s",
                                             "rate_hz", "depth_mm", NULL };
    static const char *const plain[] = { "step", "name", "timeout_s", NULL };
    static const char *const settle[] = { "step", "name", "timeout_s", "seconds", NULL };
    static const char *const capture[] = { "step", "name",        "timeout_s", "seconds", "strokes",
                                           "with", "pre_seconds", "evaluate",  NULL };
    static const char *const sweep[] = { "step",      "name",  "timeout_s", "rates_hz",
                                         "depths_mm", "steps", NULL };
    static const char *const repeat[] = { "step", "name", "timeout_s", "count", "steps", NULL };
    static const char *const retry[] = { "step", "name", "timeout_s", "attempts", "steps", NULL };
    switch (k) {
    case STEP_IDENTIFY:
        return identify;
    case STEP_CONFIGURE:
        return configure;
    case STEP_START:
    case STEP_STOP:
    case STEP_TARE:
        return plain;
    case STEP_SETTLE:
        return settle;
    case STEP_CAPTURE:
        return capture;
    case STEP_SWEEP:
        return sweep;
    case STEP_REPEAT:
        return repeat;
    case STEP_RETRY:
        return retry;
    default:
        return plain;
    }
}

/* Validation context: the spec for reference checks and the sweep
 * variables in scope. */
struct ctx {
    struct jv v;
    const struct rig_spec *spec;
    int sweep_rate, sweep_depth; /* > 0 inside a sweep that sets them */
    int depth;
};

static void parse_steps(struct ctx *c, const cJSON *arr, const char *path, struct seq_step **out,
                        size_t *nout);

static void parse_evaluate(struct ctx *c, const cJSON *o, const char *path, struct seq_step *st)
{
    const cJSON *arr = NULL;
    bool required = st->kind == STEP_CAPTURE;
    int n = jv_array(&c->v, o, path, "evaluate", required, required ? 1 : 0, &arr);
    if (n <= 0)
        return;
    st->evaluate = calloc((size_t)n, sizeof *st->evaluate);
    if (!st->evaluate) {
        problems_add(c->v.p, c->v.file, path, "out of memory");
        return;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char sub[JV_PATH_MAX], base[JV_PATH_MAX];
        jv_path_key(base, path, "evaluate");
        jv_path_index(sub, base, i);
        if (!cJSON_IsString(e) || !e->valuestring) {
            problems_add(c->v.p, c->v.file, sub, "must be a measurement name (string)");
            continue;
        }
        for (size_t j = 0; j < st->nevaluate; j++)
            if (strcmp(st->evaluate[j], e->valuestring) == 0)
                problems_add(c->v.p, c->v.file, sub, "\"%s\" listed twice", e->valuestring);
        char *dup = jv_strdup(&c->v, sub, e->valuestring);
        if (!dup)
            continue;
        st->evaluate[st->nevaluate++] = dup;
        if (!c->spec)
            continue;
        const struct spec_measurement *m = spec_find(c->spec, dup);
        if (!m) {
            problems_add(c->v.p, c->v.file, sub, "no measurement \"%s\" in spec %s", dup,
                         c->spec->file);
            continue;
        }
        const struct quantity_info *qi = quantity_info(m->quantity);
        if (!qi)
            continue;
        bool ok;
        if (st->kind == STEP_IDENTIFY)
            ok = qi->source == QS_IDENTITY;
        else
            ok = qi->source == QS_CAPTURE || qi->source == QS_STATUS ||
                 (qi->source == QS_CAPTURE_START && st->with == CAPTURE_START) ||
                 (qi->source == QS_CAPTURE_STOP && st->with == CAPTURE_STOP);
        if (ok)
            continue;
        static const char *const where[] = {
            [QS_CAPTURE] = "a capture step",
            [QS_CAPTURE_START] = "a capture step with \"with\": \"start\"",
            [QS_CAPTURE_STOP] = "a capture step with \"with\": \"stop\"",
            [QS_STATUS] = "a capture step",
            [QS_IDENTITY] = "an identify step",
        };
        problems_add(c->v.p, c->v.file, sub, "\"%s\" (%s) can only be evaluated in %s", dup,
                     qi->name, where[qi->source]);
    }
}

static void parse_setpoint(struct ctx *c, const cJSON *o, const char *path, const char *key,
                           double max, bool *has, struct lim_value *val)
{
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, key);
    if (jv_limit_value(&c->v, o, path, key, false, val) != 1)
        return;
    *has = true;
    if (val->ref == LIM_REF_NONE) {
        double lo = strcmp(key, "rate_hz") == 0 ? RATE_MIN_HZ : 0;
        if (val->value < lo || val->value > max)
            problems_add(c->v.p, c->v.file, sub, "%g is out of range [%g, %g]", val->value, lo,
                         max);
        return;
    }
    bool rate_key = strcmp(key, "rate_hz") == 0;
    if ((val->ref == LIM_REF_RATE_HZ) != rate_key)
        problems_add(c->v.p, c->v.file, sub, "%s cannot be set from %s", key,
                     lim_ref_str(val->ref));
    else if (rate_key ? c->sweep_rate <= 0 : c->sweep_depth <= 0)
        problems_add(c->v.p, c->v.file, sub, "%s is only defined inside a sweep over %s",
                     lim_ref_str(val->ref), rate_key ? "\"rates_hz\"" : "\"depths_mm\"");
}

static int parse_list(struct ctx *c, const cJSON *o, const char *path, const char *key, double lo,
                      double hi, double **out, size_t *n)
{
    const cJSON *arr = NULL;
    int cnt = jv_array(&c->v, o, path, key, false, 1, &arr);
    if (cnt <= 0)
        return cnt;
    char base[JV_PATH_MAX];
    jv_path_key(base, path, key);
    if (cnt > MAX_LIST) {
        problems_add(c->v.p, c->v.file, base, "more than %d values", MAX_LIST);
        return -1;
    }
    *out = calloc((size_t)cnt, sizeof **out);
    if (!*out) {
        problems_add(c->v.p, c->v.file, base, "out of memory");
        return -1;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char sub[JV_PATH_MAX];
        jv_path_index(sub, base, i);
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            problems_add(c->v.p, c->v.file, sub, "must be a number");
        else if (e->valuedouble < lo || e->valuedouble > hi)
            problems_add(c->v.p, c->v.file, sub, "%g is out of range [%g, %g]", e->valuedouble, lo,
                         hi);
        else
            (*out)[(*n)++] = e->valuedouble;
    }
    return cnt;
}

static void parse_body(struct ctx *c, const cJSON *o, const char *path, struct seq_step *st)
{
    const cJSON *arr = NULL;
    if (jv_array(&c->v, o, path, "steps", true, 1, &arr) <= 0)
        return;
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, "steps");
    if (c->depth >= MAX_DEPTH) {
        problems_add(c->v.p, c->v.file, sub, "nested more than %d levels deep", MAX_DEPTH);
        return;
    }
    c->depth++;
    parse_steps(c, arr, sub, &st->body, &st->nbody);
    c->depth--;
}

static void parse_capture(struct ctx *c, const cJSON *o, const char *path, struct seq_step *st)
{
    const char *w = NULL;
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, "with");
    if (jv_string(&c->v, o, path, "with", false, &w) == 1) {
        if (strcmp(w, "start") == 0)
            st->with = CAPTURE_START;
        else if (strcmp(w, "stop") == 0)
            st->with = CAPTURE_STOP;
        else if (strcmp(w, "none") != 0)
            problems_add(c->v.p, c->v.file, sub, "must be \"start\", \"stop\" or \"none\"");
    }
    st->pre_s = st->with == CAPTURE_PLAIN ? 0 : 0.05;
    if (jv_number(&c->v, o, path, "pre_seconds", false, 0, MAX_PRE_S, &st->pre_s) == 1 &&
        st->with == CAPTURE_PLAIN) {
        jv_path_key(sub, path, "pre_seconds");
        problems_add(c->v.p, c->v.file, sub, "only used with \"with\": \"start\" or \"stop\"");
    }
    long strokes = 0;
    int hs = jv_number(&c->v, o, path, "seconds", false, 1e-3, MAX_CAPTURE_S, &st->seconds);
    int hk = jv_integer(&c->v, o, path, "strokes", false, 2, MAX_STROKES, &strokes);
    if (hk == 1)
        st->strokes = (unsigned)strokes;
    bool has_s = cJSON_GetObjectItemCaseSensitive(o, "seconds") != NULL;
    bool has_k = cJSON_GetObjectItemCaseSensitive(o, "strokes") != NULL;
    if (has_s && has_k)
        problems_add(c->v.p, c->v.file, path, "give \"seconds\" or \"strokes\", not both");
    else if (!has_s && !has_k)
        problems_add(c->v.p, c->v.file, path, "needs \"seconds\" or \"strokes\"");
    (void)hs;
    parse_evaluate(c, o, path, st);
}

static void parse_step(struct ctx *c, const cJSON *o, const char *path, struct seq_step *st)
{
    st->timeout_s = NAN;
    st->kind = STEP_KIND_COUNT_;
    st->path = jv_strdup(&c->v, path, path);
    if (!cJSON_IsObject(o)) {
        problems_add(c->v.p, c->v.file, path, "must be an object");
        return;
    }
    const char *k = NULL;
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, "step");
    if (jv_string(&c->v, o, path, "step", true, &k) != 1)
        return;
    for (int i = 0; i < STEP_KIND_COUNT_; i++)
        if (strcmp(k, kind_names[i]) == 0)
            st->kind = (enum step_kind)i;
    if (st->kind == STEP_KIND_COUNT_) {
        problems_add(c->v.p, c->v.file, sub,
                     "unknown step \"%s\" (identify configure start stop "
                     "settle capture sweep repeat retry)",
                     k);
        return;
    }
    jv_object(&c->v, o, path, step_keys(st->kind));
    const char *name = NULL;
    jv_path_key(sub, path, "name");
    if (jv_string(&c->v, o, path, "name", false, &name) == 1)
        st->name = jv_strdup(&c->v, sub, name);
    jv_number(&c->v, o, path, "timeout_s", false, 1e-3, MAX_TIMEOUT_S, &st->timeout_s);

    long n = 0;
    switch (st->kind) {
    case STEP_IDENTIFY:
        parse_evaluate(c, o, path, st);
        break;
    case STEP_CONFIGURE:
        parse_setpoint(c, o, path, "rate_hz", RATE_MAX_HZ, &st->has_rate, &st->rate_hz);
        parse_setpoint(c, o, path, "depth_mm", DEPTH_MAX_MM, &st->has_depth, &st->depth_mm);
        if (!cJSON_GetObjectItemCaseSensitive(o, "rate_hz") &&
            !cJSON_GetObjectItemCaseSensitive(o, "depth_mm"))
            problems_add(c->v.p, c->v.file, path, "needs \"rate_hz\" and/or \"depth_mm\"");
        break;
    case STEP_START:
    case STEP_STOP:
    case STEP_TARE:
        break;
    case STEP_SETTLE:
        jv_number(&c->v, o, path, "seconds", true, 0, MAX_SETTLE_S, &st->seconds);
        break;
    case STEP_CAPTURE:
        parse_capture(c, o, path, st);
        break;
    case STEP_SWEEP: {
        int r = parse_list(c, o, path, "rates_hz", RATE_MIN_HZ, RATE_MAX_HZ, &st->rates_hz,
                           &st->nrates);
        int d = parse_list(c, o, path, "depths_mm", 0, DEPTH_MAX_MM, &st->depths_mm, &st->ndepths);
        if (r == 0 && d == 0)
            problems_add(c->v.p, c->v.file, path, "needs \"rates_hz\" and/or \"depths_mm\"");
        c->sweep_rate += r != 0;
        c->sweep_depth += d != 0;
        parse_body(c, o, path, st);
        c->sweep_rate -= r != 0;
        c->sweep_depth -= d != 0;
        break;
    }
    case STEP_REPEAT:
        if (jv_integer(&c->v, o, path, "count", true, 1, MAX_REPEAT, &n) == 1)
            st->count = (unsigned)n;
        parse_body(c, o, path, st);
        break;
    case STEP_RETRY:
        if (jv_integer(&c->v, o, path, "attempts", true, 1, MAX_ATTEMPTS, &n) == 1)
            st->count = (unsigned)n;
        parse_body(c, o, path, st);
        break;
    default:
        break;
    }
}

static void parse_steps(struct ctx *c, const cJSON *arr, const char *path, struct seq_step **out,
                        size_t *nout)
{
    int n = cJSON_GetArraySize(arr);
    if (n <= 0)
        return;
    *out = calloc((size_t)n, sizeof **out);
    if (!*out) {
        problems_add(c->v.p, c->v.file, path, "out of memory");
        return;
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char sub[JV_PATH_MAX];
        jv_path_index(sub, path, i);
        *nout = i + 1;
        parse_step(c, e, sub, &(*out)[i]);
    }
}

static void parse_section(struct ctx *c, const cJSON *root, const char *key, bool required,
                          struct seq_step **out, size_t *n)
{
    const cJSON *arr = NULL;
    if (jv_array(&c->v, root, "$", key, required, required ? 1 : 0, &arr) <= 0)
        return;
    char path[JV_PATH_MAX];
    jv_path_key(path, "$", key);
    parse_steps(c, arr, path, out, n);
}

/* Resolve ref against the directory of the sequence file. */
char *sequence_resolve_spec(const char *seq_file, const char *ref)
{
    if (ref[0] == '/')
        return strdup(ref);
    char *copy = strdup(seq_file);
    if (!copy)
        return NULL;
    char *out = NULL;
    const char *dir = dirname(copy);
    if (strcmp(dir, ".") == 0)
        out = strdup(ref);
    else if (asprintf(&out, "%s/%s", dir, ref) < 0)
        out = NULL;
    free(copy);
    return out;
}

/* Load the spec a sequence names (path relative to the sequence file);
 * its own problems are passed on under the spec file's name. */
static void load_named_spec(struct ctx *c, struct rig_sequence *s)
{
    s->spec_path = sequence_resolve_spec(c->v.file, s->spec_ref);
    if (!s->spec_path) {
        problems_add(c->v.p, c->v.file, "$.spec", "out of memory");
        return;
    }
    if (access(s->spec_path, R_OK) < 0) {
        problems_add(c->v.p, c->v.file, "$.spec", "cannot open spec file %s: %s", s->spec_path,
                     strerror(errno));
        return;
    }
    struct rig_problems sp;
    problems_init(&sp);
    s->spec = spec_load(s->spec_path, &sp);
    s->spec_owned = true;
    if (!s->spec)
        problems_add(c->v.p, c->v.file, "$.spec", "spec file %s is not valid (%zu problem%s below)",
                     s->spec_path, sp.count, sp.count == 1 ? "" : "s");
    for (size_t i = 0; i < sp.count; i++)
        if (sp.msg[i])
            problems_add_line(c->v.p, sp.msg[i]);
    c->v.p->oom |= sp.oom;
    problems_free(&sp);
    c->spec = s->spec;
}

/* A capture by stroke count needs a stroke rate set by an earlier
 * configure step (its length is strokes / rate). Walks steps in order;
 * returns whether a rate is configured after them. */
static bool stroke_captures_have_rate(struct ctx *c, const struct seq_step *st, size_t n, bool rate)
{
    for (size_t i = 0; i < n; i++) {
        switch (st[i].kind) {
        case STEP_CONFIGURE:
            rate = rate || st[i].has_rate;
            break;
        case STEP_CAPTURE:
            if (st[i].strokes && !rate)
                problems_add(c->v.p, c->v.file, st[i].path ? st[i].path : "$",
                             "capture by strokes needs a stroke rate: configure \"rate_hz\" "
                             "in an earlier step");
            break;
        case STEP_SWEEP:
        case STEP_REPEAT:
        case STEP_RETRY:
            rate = stroke_captures_have_rate(c, st[i].body, st[i].nbody, rate);
            break;
        default:
            break;
        }
    }
    return rate;
}

static struct rig_sequence *sequence_from_json(struct ctx *c, const cJSON *root, bool load_spec)
{
    struct rig_sequence *s = calloc(1, sizeof *s);
    if (!s) {
        problems_add(c->v.p, c->v.file, "$", "out of memory");
        return NULL;
    }
    size_t before = c->v.p->count;
    s->file = jv_strdup(&c->v, "$", c->v.file);
    if (!jv_object(&c->v, root, "$", top_keys))
        goto done;
    const char *str = NULL;
    if (jv_string(&c->v, root, "$", "format", true, &str) == 1 && strcmp(str, SEQUENCE_FORMAT) != 0)
        problems_add(c->v.p, c->v.file, "$.format", "must be \"%s\"", SEQUENCE_FORMAT);
    if (jv_string(&c->v, root, "$", "name", true, &str) == 1)
        s->name = jv_strdup(&c->v, "$.name", str);
    if (jv_string(&c->v, root, "$", "description", false, &str) == 1)
        s->description = jv_strdup(&c->v, "$.description", str);
    if (jv_string(&c->v, root, "$", "policy", true, &str) == 1) {
        if (strcmp(str, "stop-on-first-fail") == 0)
            s->policy = POLICY_STOP_ON_FIRST_FAIL;
        else if (strcmp(str, "continue") == 0)
            s->policy = POLICY_CONTINUE;
        else
            problems_add(c->v.p, c->v.file, "$.policy",
                         "must be \"stop-on-first-fail\" or \"continue\"");
    }
    if (jv_string(&c->v, root, "$", "spec", true, &str) == 1) {
        s->spec_ref = jv_strdup(&c->v, "$.spec", str);
        if (load_spec && s->spec_ref)
            load_named_spec(c, s);
    }
    parse_section(c, root, "setup", false, &s->setup, &s->nsetup);
    parse_section(c, root, "main", true, &s->main, &s->nmain);
    parse_section(c, root, "teardown", false, &s->teardown, &s->nteardown);
    if (c->v.p->count == before) {
        /* What would otherwise only fail at run time. */
        bool rate = stroke_captures_have_rate(c, s->setup, s->nsetup, false);
        stroke_captures_have_rate(c, s->main, s->nmain, rate);
        stroke_captures_have_rate(c, s->teardown, s->nteardown, rate);
    }
done:
    if (c->v.p->count != before || c->v.p->oom) {
        sequence_free(s);
        return NULL;
    }
    return s;
}

struct rig_sequence *sequence_parse(const char *label, const char *buf, size_t len,
                                    const struct rig_spec *spec, struct rig_problems *problems)
{
    struct ctx c = { .v = { label, problems }, .spec = spec };
    cJSON *root = jv_parse(&c.v, buf, len);
    if (!root)
        return NULL;
    struct rig_sequence *s = sequence_from_json(&c, root, false);
    cJSON_Delete(root);
    if (s) {
        s->spec = (struct rig_spec *)spec;
        digest_sha256_buf(buf, len, s->sha256);
        s->text = malloc(len + 1);
        if (!s->text) {
            problems_add(problems, label, "$", "out of memory");
            sequence_free(s);
            return NULL;
        }
        memcpy(s->text, buf, len);
        s->text[len] = '\0';
        s->text_len = len;
    }
    return s;
}

struct rig_sequence *sequence_from_texts(const char *seq_label, const char *seq_text,
                                         size_t seq_len, const char *spec_label,
                                         const char *spec_text, size_t spec_len,
                                         struct rig_problems *problems)
{
    struct rig_spec *spec = spec_parse(spec_label, spec_text, spec_len, problems);
    if (!spec)
        return NULL;
    struct rig_sequence *s = sequence_parse(seq_label, seq_text, seq_len, spec, problems);
    if (!s) {
        spec_free(spec);
        return NULL;
    }
    s->spec_owned = true;
    s->spec_path = strdup(spec_label);
    if (!s->spec_path) {
        problems_add(problems, seq_label, "$", "out of memory");
        sequence_free(s);
        return NULL;
    }
    return s;
}

struct rig_sequence *sequence_load(const char *path, struct rig_problems *problems)
{
    struct ctx c = { .v = { path, problems } };
    size_t len = 0;
    char *buf = jv_read_file(&c.v, path, &len);
    if (!buf)
        return NULL;
    cJSON *root = jv_parse(&c.v, buf, len);
    struct rig_sequence *s = root ? sequence_from_json(&c, root, true) : NULL;
    cJSON_Delete(root);
    if (s) {
        digest_sha256_buf(buf, len, s->sha256);
        s->text = buf; /* (jv_read_file NUL-terminates) */
        s->text_len = len;
        buf = NULL;
    }
    free(buf);
    return s;
}

static void steps_free(struct seq_step *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].name);
        free(st[i].path);
        for (size_t j = 0; j < st[i].nevaluate; j++)
            free(st[i].evaluate[j]);
        free(st[i].evaluate);
        free(st[i].rates_hz);
        free(st[i].depths_mm);
        steps_free(st[i].body, st[i].nbody);
    }
    free(st);
}

void sequence_free(struct rig_sequence *s)
{
    if (!s)
        return;
    steps_free(s->setup, s->nsetup);
    steps_free(s->main, s->nmain);
    steps_free(s->teardown, s->nteardown);
    free(s->text);
    if (s->spec_owned)
        spec_free(s->spec);
    free(s->file);
    free(s->name);
    free(s->description);
    free(s->spec_ref);
    free(s->spec_path);
    free(s);
}

static size_t leaves(const struct seq_step *st, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t inner = leaves(st[i].body, st[i].nbody);
        switch (st[i].kind) {
        case STEP_SWEEP:
            total +=
                inner * (st[i].nrates ? st[i].nrates : 1) * (st[i].ndepths ? st[i].ndepths : 1);
            break;
        case STEP_REPEAT:
            total += inner * st[i].count;
            break;
        case STEP_RETRY:
            total += inner;
            break;
        default:
            total += 1;
        }
    }
    return total;
}

/* Capture seconds of steps st[0..n), every loop expanded and every retry
 * attempt counted; a capture by strokes at the slowest rate a pen runs. */
static double capture_seconds(const struct seq_step *st, size_t n, double slowest_hz)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double inner = capture_seconds(st[i].body, st[i].nbody, slowest_hz);
        switch (st[i].kind) {
        case STEP_CAPTURE:
            total +=
                st[i].pre_s + (st[i].strokes ? (st[i].strokes + 2) / slowest_hz : st[i].seconds);
            break;
        case STEP_SWEEP:
            total += inner * (double)(st[i].nrates ? st[i].nrates : 1) *
                     (double)(st[i].ndepths ? st[i].ndepths : 1);
            break;
        case STEP_REPEAT:
        case STEP_RETRY:
            total += inner * st[i].count;
            break;
        default:
            break;
        }
    }
    return total;
}

double sequence_capture_seconds(const struct rig_sequence *s, double slowest_hz)
{
    if (!(slowest_hz > 0))
        slowest_hz = 1;
    return capture_seconds(s->setup, s->nsetup, slowest_hz) +
           capture_seconds(s->main, s->nmain, slowest_hz) +
           capture_seconds(s->teardown, s->nteardown, slowest_hz);
}

size_t sequence_leaf_count(const struct rig_sequence *s)
{
    return leaves(s->setup, s->nsetup) + leaves(s->main, s->nmain) +
           leaves(s->teardown, s->nteardown);
}

int check_file(const char *path, struct rig_problems *problems, const char **kind_out)
{
    struct jv v = { path, problems };
    const char *kind = "";
    size_t before = problems->count;
    size_t len = 0;
    char *buf = jv_read_file(&v, path, &len);
    cJSON *root = buf ? jv_parse(&v, buf, len) : NULL;
    free(buf);
    if (root) {
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
        const char *f = cJSON_IsString(fmt) ? fmt->valuestring : NULL;
        if ((f && strcmp(f, SPEC_FORMAT) == 0) ||
            (!f && cJSON_GetObjectItemCaseSensitive(root, "measurements")))
            kind = "spec";
        else if ((f && strcmp(f, SEQUENCE_FORMAT) == 0) ||
                 (!f && cJSON_GetObjectItemCaseSensitive(root, "main")))
            kind = "sequence";
        cJSON_Delete(root);
        if (strcmp(kind, "spec") == 0)
            spec_free(spec_load(path, problems));
        else if (strcmp(kind, "sequence") == 0)
            sequence_free(sequence_load(path, problems));
        else
            problems_add(problems, path, "$.format", "not a rig file: expected \"%s\" or \"%s\"",
                         SPEC_FORMAT, SEQUENCE_FORMAT);
    }
    if (kind_out)
        *kind_out = kind;
    return problems->count != before || problems->oom ? 1 : 0;
}
