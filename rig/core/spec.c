#include "core/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonv.h"

static const char *const top_keys[] = {
    "format", "name", "version", "description", "pen", "measurements", NULL,
};
static const char *const pen_keys[] = { "model", "hw_revisions", NULL };
static const char *const meas_keys[] = {
    "name",  "quantity", "units",     "description",   "comparison",    "limit",    "low",
    "high",  "nominal",  "tolerance", "tolerance_pct", "tolerance_ppm", "marginal", "marginal_pct",
    "value", "pattern",  NULL,
};

/* Names are identifiers users type on command lines and in sequences. */
static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

static bool present(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

static void parse_pen(struct jv *v, const cJSON *root, struct rig_spec *s)
{
    const cJSON *pen = cJSON_GetObjectItemCaseSensitive(root, "pen");
    if (!pen) {
        problems_add(v->p, v->file, "$.pen", "missing (an object with \"model\" is required)");
        return;
    }
    if (!jv_object(v, pen, "$.pen", pen_keys))
        return;
    const char *model = NULL;
    if (jv_string(v, pen, "$.pen", "model", true, &model) == 1) {
        if (!*model || strlen(model) > 16)
            problems_add(v->p, v->file, "$.pen.model", "must be 1 to 16 characters");
        else
            s->model = jv_strdup(v, "$.pen.model", model);
    }
    const cJSON *revs = NULL;
    int n = jv_array(v, pen, "$.pen", "hw_revisions", false, 1, &revs);
    if (n <= 0)
        return;
    s->revisions = calloc((size_t)n, sizeof *s->revisions);
    if (!s->revisions) {
        problems_add(v->p, v->file, "$.pen.hw_revisions", "out of memory");
        return;
    }
    int i = 0;
    for (const cJSON *r = revs->child; r; r = r->next, i++) {
        char sub[JV_PATH_MAX];
        jv_path_index(sub, "$.pen.hw_revisions", (size_t)i);
        if (!cJSON_IsNumber(r) || r->valuedouble != floor(r->valuedouble) || r->valuedouble < 0 ||
            r->valuedouble > 255) {
            problems_add(v->p, v->file, sub, "must be an integer 0..255");
            continue;
        }
        s->revisions[s->nrevisions++] = (long)r->valuedouble;
    }
}

/* Tolerance of a nominal-form limit: exactly one of three keys. */
static void parse_tolerance(struct jv *v, const cJSON *m, const char *path, struct limit *l)
{
    static const struct {
        const char *key;
        enum lim_tol kind;
    } tk[] = {
        { "tolerance", LIM_TOL_ABS },
        { "tolerance_pct", LIM_TOL_PCT },
        { "tolerance_ppm", LIM_TOL_PPM },
    };
    int found = 0;
    for (size_t i = 0; i < sizeof tk / sizeof tk[0]; i++) {
        double t;
        if (jv_number(v, m, path, tk[i].key, false, 0, 1e12, &t) == 1) {
            l->tol_kind = tk[i].kind;
            l->tol = t;
        }
        found += present(m, tk[i].key);
    }
    if (found == 0)
        problems_add(
            v->p, v->file, path,
            "\"nominal\" needs one of \"tolerance\", \"tolerance_pct\", \"tolerance_ppm\"");
    else if (found > 1)
        problems_add(v->p, v->file, path,
                     "give only one of \"tolerance\", \"tolerance_pct\", \"tolerance_ppm\"");
}

static void reject_keys(struct jv *v, const cJSON *m, const char *path, const char *why,
                        const char *const *keys)
{
    for (; *keys; keys++)
        if (present(m, *keys)) {
            char sub[JV_PATH_MAX];
            jv_path_key(sub, path, *keys);
            problems_add(v->p, v->file, sub, "not allowed %s", why);
        }
}

static void parse_numeric_limit(struct jv *v, const cJSON *m, const char *path, struct limit *l,
                                bool has_cmp)
{
    if (present(m, "nominal")) {
        l->nominal_form = true;
        if (!has_cmp)
            l->cmp = LIM_GELE;
        else if (lim_cmp_arity(l->cmp) != 2)
            problems_add(v->p, v->file, path, "\"nominal\" needs a two-limit comparison, not %s",
                         lim_cmp_str(l->cmp));
        jv_limit_value(v, m, path, "nominal", true, &l->nominal);
        parse_tolerance(v, m, path, l);
        static const char *const no[] = { "limit", "low", "high", NULL };
        reject_keys(v, m, path, "with \"nominal\"", no);
        return;
    }
    static const char *const tol[] = { "tolerance", "tolerance_pct", "tolerance_ppm", NULL };
    reject_keys(v, m, path, "without \"nominal\"", tol);
    if (!has_cmp) {
        problems_add(v->p, v->file, path, "needs \"comparison\" (or \"nominal\" with a tolerance)");
        return;
    }
    if (lim_cmp_arity(l->cmp) == 1) {
        jv_limit_value(v, m, path, "limit", true, &l->low);
        static const char *const no[] = { "low", "high", NULL };
        reject_keys(v, m, path, "with a single-limit comparison (use \"limit\")", no);
        return;
    }
    bool ok = jv_limit_value(v, m, path, "low", true, &l->low) == 1;
    ok &= jv_limit_value(v, m, path, "high", true, &l->high) == 1;
    static const char *const no[] = { "limit", NULL };
    reject_keys(v, m, path, "with a two-limit comparison (use \"low\" and \"high\")", no);
    if (ok && l->low.ref == LIM_REF_NONE && l->high.ref == LIM_REF_NONE &&
        l->low.value > l->high.value)
        problems_add(v->p, v->file, path, "\"low\" (%g) is above \"high\" (%g)", l->low.value,
                     l->high.value);
}

static void parse_marginal(struct jv *v, const cJSON *m, const char *path, struct limit *l)
{
    double x;
    if (jv_number(v, m, path, "marginal", false, 0, 1e12, &x) == 1)
        l->marg_kind = LIM_MARG_ABS, l->marg = x;
    if (jv_number(v, m, path, "marginal_pct", false, 0, 100, &x) == 1)
        l->marg_kind = LIM_MARG_PCT, l->marg = x;
    if (present(m, "marginal") && present(m, "marginal_pct"))
        problems_add(v->p, v->file, path, "give only one of \"marginal\", \"marginal_pct\"");
    if ((present(m, "marginal") || present(m, "marginal_pct")) &&
        (lim_cmp_arity(l->cmp) == 0 || l->cmp == LIM_EQ))
        problems_add(v->p, v->file, path, "a marginal band needs an ordered comparison, not %s",
                     lim_cmp_str(l->cmp));
}

static void parse_string_limit(struct jv *v, const cJSON *m, const char *path, struct limit *l)
{
    const char *key = l->cmp == LIM_STREQ ? "value" : "pattern";
    const char *text = NULL;
    if (jv_string(v, m, path, key, true, &text) == 1) {
        char sub[JV_PATH_MAX];
        jv_path_key(sub, path, key);
        l->text = jv_strdup(v, sub, text);
        char err[160];
        if (l->text && l->cmp == LIM_MATCH && limit_compile(l, err, sizeof err) < 0)
            problems_add(v->p, v->file, sub, "%s", err);
    }
    static const char *const no[] = { "limit",     "low",           "high",          "nominal",
                                      "tolerance", "tolerance_pct", "tolerance_ppm", NULL };
    reject_keys(v, m, path, "with a string comparison", no);
    reject_keys(v, m, path, "with STREQ",
                (const char *const[]){ l->cmp == LIM_STREQ ? "pattern" : "value", NULL });
}

static void parse_measurement(struct jv *v, const cJSON *m, const char *path,
                              struct spec_measurement *out)
{
    out->quantity = Q_COUNT_;
    if (!jv_object(v, m, path, meas_keys))
        return;
    char sub[JV_PATH_MAX];
    const char *s = NULL;
    jv_path_key(sub, path, "name");
    if (jv_string(v, m, path, "name", true, &s) == 1) {
        if (!valid_name(s))
            problems_add(v->p, v->file, sub,
                         "must be 1-64 characters of letters, digits, '_', '-', '.'");
        else
            out->name = jv_strdup(v, sub, s);
    }
    const struct quantity_info *qi = NULL;
    jv_path_key(sub, path, "quantity");
    if (jv_string(v, m, path, "quantity", true, &s) == 1) {
        int q = quantity_from_name(s);
        if (q < 0)
            problems_add(v->p, v->file, sub, "unknown quantity \"%s\"", s);
        else
            out->quantity = (enum rig_quantity)q, qi = quantity_info(out->quantity);
    }
    jv_path_key(sub, path, "units");
    int has_units = jv_string(v, m, path, "units", false, &s);
    if (has_units == 1) {
        if (qi && strcmp(s, qi->units) != 0)
            problems_add(v->p, v->file, sub, "%s is measured in \"%s\", not \"%s\"", qi->name,
                         qi->units, s);
        out->units = jv_strdup(v, sub, s);
    } else if (has_units == 0 && qi && *qi->units) {
        problems_add(v->p, v->file, sub, "missing (\"%s\" for %s)", qi->units, qi->name);
    } else if (has_units == 0 && qi) {
        out->units = jv_strdup(v, sub, "");
    }
    jv_path_key(sub, path, "description");
    if (jv_string(v, m, path, "description", false, &s) == 1)
        out->description = jv_strdup(v, sub, s);

    bool has_cmp = false;
    jv_path_key(sub, path, "comparison");
    if (jv_string(v, m, path, "comparison", false, &s) == 1) {
        int c = lim_cmp_from_str(s);
        if (c < 0)
            problems_add(v->p, v->file, sub,
                         "unknown comparison \"%s\" (EQ NE GT LT GE LE "
                         "GTLT GELE GELT GTLE LTGT LEGE LEGT LTGE STREQ MATCH)",
                         s);
        else
            out->limit.cmp = (enum lim_cmp)c, has_cmp = true;
    }
    if (present(m, "comparison") && !has_cmp)
        return; /* reported above; the limit cannot be interpreted */
    bool string_cmp = has_cmp && lim_cmp_arity(out->limit.cmp) == 0;
    if (qi && qi->is_string && !string_cmp)
        problems_add(v->p, v->file, path, "%s is a string: use comparison STREQ or MATCH",
                     qi->name);
    else if (qi && !qi->is_string && string_cmp)
        problems_add(v->p, v->file, sub, "%s is a number: %s compares strings", qi->name,
                     lim_cmp_str(out->limit.cmp));
    if (string_cmp)
        parse_string_limit(v, m, path, &out->limit);
    else
        parse_numeric_limit(v, m, path, &out->limit, has_cmp);
    parse_marginal(v, m, path, &out->limit);
}

static void parse_measurements(struct jv *v, const cJSON *root, struct rig_spec *s)
{
    const cJSON *arr = NULL;
    int n = jv_array(v, root, "$", "measurements", true, 1, &arr);
    if (n <= 0)
        return;
    s->m = calloc((size_t)n, sizeof *s->m);
    if (!s->m) {
        problems_add(v->p, v->file, "$.measurements", "out of memory");
        return;
    }
    size_t i = 0;
    for (const cJSON *m = arr->child; m; m = m->next, i++) {
        char path[JV_PATH_MAX];
        jv_path_index(path, "$.measurements", i);
        parse_measurement(v, m, path, &s->m[i]);
        s->nm = i + 1;
        for (size_t j = 0; j < i; j++)
            if (s->m[i].name && s->m[j].name && strcmp(s->m[i].name, s->m[j].name) == 0) {
                char sub[JV_PATH_MAX];
                jv_path_key(sub, path, "name");
                problems_add(v->p, v->file, sub, "\"%s\" already used by $.measurements[%zu]",
                             s->m[i].name, j);
                break;
            }
    }
}

static struct rig_spec *spec_from_json(struct jv *v, const cJSON *root)
{
    struct rig_spec *s = calloc(1, sizeof *s);
    if (!s) {
        problems_add(v->p, v->file, "$", "out of memory");
        return NULL;
    }
    size_t before = v->p->count;
    if (jv_object(v, root, "$", top_keys)) {
        const char *str = NULL;
        if (jv_string(v, root, "$", "format", true, &str) == 1 && strcmp(str, SPEC_FORMAT) != 0)
            problems_add(v->p, v->file, "$.format", "must be \"%s\"", SPEC_FORMAT);
        if (jv_string(v, root, "$", "name", true, &str) == 1)
            s->name = jv_strdup(v, "$.name", str);
        if (jv_string(v, root, "$", "version", true, &str) == 1)
            s->version = jv_strdup(v, "$.version", str);
        if (jv_string(v, root, "$", "description", false, &str) == 1)
            s->description = jv_strdup(v, "$.description", str);
        parse_pen(v, root, s);
        parse_measurements(v, root, s);
    }
    s->file = strdup(v->file);
    if (!s->file)
        problems_add(v->p, v->file, "$", "out of memory");
    if (v->p->count != before || v->p->oom) {
        spec_free(s);
        return NULL;
    }
    return s;
}

struct rig_spec *spec_parse(const char *label, const char *buf, size_t len,
                            struct rig_problems *problems)
{
    struct jv v = { label, problems };
    cJSON *root = jv_parse(&v, buf, len);
    if (!root)
        return NULL;
    struct rig_spec *s = spec_from_json(&v, root);
    cJSON_Delete(root);
    if (s) {
        digest_sha256_buf(buf, len, s->sha256);
        /* kept: a run record attaches exactly what was judged against */
        s->text = malloc(len + 1);
        if (!s->text) {
            problems_add(problems, label, "$", "out of memory");
            spec_free(s);
            return NULL;
        }
        memcpy(s->text, buf, len);
        s->text[len] = '\0';
        s->text_len = len;
    }
    return s;
}

struct rig_spec *spec_load(const char *path, struct rig_problems *problems)
{
    struct jv v = { path, problems };
    size_t len = 0;
    char *buf = jv_read_file(&v, path, &len);
    if (!buf)
        return NULL;
    struct rig_spec *s = spec_parse(path, buf, len, problems);
    free(buf);
    return s;
}

void spec_free(struct rig_spec *s)
{
    if (!s)
        return;
    free(s->text);
    for (size_t i = 0; i < s->nm; i++) {
        free(s->m[i].name);
        free(s->m[i].units);
        free(s->m[i].description);
        limit_free(&s->m[i].limit);
    }
    free(s->m);
    free(s->revisions);
    free(s->model);
    free(s->name);
    free(s->version);
    free(s->description);
    free(s->file);
    free(s);
}

const struct spec_measurement *spec_find(const struct rig_spec *s, const char *name)
{
    for (size_t i = 0; i < s->nm; i++)
        if (s->m[i].name && strcmp(s->m[i].name, name) == 0)
            return &s->m[i];
    return NULL;
}

bool spec_applies(const struct rig_spec *s, const char *model, long hw_revision)
{
    if (!s->model || !model || strcmp(s->model, model) != 0)
        return false;
    if (s->nrevisions == 0)
        return true;
    for (size_t i = 0; i < s->nrevisions; i++)
        if (s->revisions[i] == hw_revision)
            return true;
    return false;
}
