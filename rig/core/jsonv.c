#include "core/jsonv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *jv_read_file(struct jv *v, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        problems_add(v->p, v->file, "$", "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(JV_MAX_FILE_SIZE + 1);
    if (!buf) {
        fclose(f);
        problems_add(v->p, v->file, "$", "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, JV_MAX_FILE_SIZE + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        problems_add(v->p, v->file, "$", "read error");
        free(buf);
        return NULL;
    }
    if (n > JV_MAX_FILE_SIZE) {
        problems_add(v->p, v->file, "$", "file larger than %u bytes", JV_MAX_FILE_SIZE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

cJSON *jv_parse(struct jv *v, const char *buf, size_t len)
{
    const char *end = NULL;
    if (memchr(buf, '\0', len)) {
        problems_add(v->p, v->file, "$", "file contains a NUL byte");
        return NULL;
    }
    /* cJSON only accepts "nothing after the value" when the terminating NUL
     * is inside the given length, hence len + 1 (buf[len] is '\0'). */
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, true);
    if (root)
        return root;
    size_t line = 1, col = 1;
    const char *stop = end && end >= buf && end <= buf + len ? end : buf + len;
    for (const char *c = buf; c < stop; c++) {
        if (*c == '\n')
            line++, col = 1;
        else
            col++;
    }
    problems_add(v->p, v->file, "$", "invalid JSON at line %zu column %zu", line, col);
    return NULL;
}

void jv_path_key(char *out, const char *path, const char *key)
{
    snprintf(out, JV_PATH_MAX, "%s.%s", path, key);
}

void jv_path_index(char *out, const char *path, size_t i)
{
    snprintf(out, JV_PATH_MAX, "%s[%zu]", path, i);
}

static bool allowed_key(const char *k, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(k, *allowed) == 0)
            return true;
    return false;
}

bool jv_object(struct jv *v, const cJSON *obj, const char *path, const char *const *allowed)
{
    if (!cJSON_IsObject(obj)) {
        problems_add(v->p, v->file, path, "must be an object");
        return false;
    }
    /* No rig object has more than a few dozen keys; the cap keeps the
     * duplicate check (quadratic) cheap on hostile input. */
    if (cJSON_GetArraySize(obj) > JV_MAX_KEYS) {
        problems_add(v->p, v->file, path, "more than %d keys", JV_MAX_KEYS);
        return true;
    }
    for (const cJSON *c = obj->child; c; c = c->next) {
        char sub[JV_PATH_MAX];
        jv_path_key(sub, path, c->string ? c->string : "");
        if (!c->string || !allowed_key(c->string, allowed))
            problems_add(v->p, v->file, sub, "unknown key");
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (d->string && c->string && strcmp(d->string, c->string) == 0) {
                problems_add(v->p, v->file, sub, "duplicate key");
                break;
            }
    }
    return true;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int jv_string(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
              const char **out)
{
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, key);
    const cJSON *m = member(obj, key);
    if (!m) {
        if (required)
            problems_add(v->p, v->file, sub, "missing (a string is required)");
        return 0;
    }
    if (!cJSON_IsString(m) || !m->valuestring) {
        problems_add(v->p, v->file, sub, "must be a string");
        return -1;
    }
    *out = m->valuestring;
    return 1;
}

int jv_number(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
              double min, double max, double *out)
{
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, key);
    const cJSON *m = member(obj, key);
    if (!m) {
        if (required)
            problems_add(v->p, v->file, sub, "missing (a number is required)");
        return 0;
    }
    if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble)) {
        problems_add(v->p, v->file, sub, "must be a number");
        return -1;
    }
    if (m->valuedouble < min || m->valuedouble > max) {
        problems_add(v->p, v->file, sub, "%g is out of range [%g, %g]", m->valuedouble, min, max);
        return -1;
    }
    *out = m->valuedouble;
    return 1;
}

int jv_integer(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
               long min, long max, long *out)
{
    double d = 0;
    int rc = jv_number(v, obj, path, key, required, (double)min, (double)max, &d);
    if (rc != 1)
        return rc;
    if (d != floor(d)) {
        char sub[JV_PATH_MAX];
        jv_path_key(sub, path, key);
        problems_add(v->p, v->file, sub, "must be an integer");
        return -1;
    }
    *out = (long)d;
    return 1;
}

int jv_limit_value(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
                   struct lim_value *out)
{
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, key);
    const cJSON *m = member(obj, key);
    if (!m) {
        if (required)
            problems_add(v->p, v->file, sub,
                         "missing (a number or \"$rate_hz\"/\"$depth_mm\" is required)");
        return 0;
    }
    if (cJSON_IsString(m) && m->valuestring) {
        int r = lim_ref_from_str(m->valuestring);
        if (r < 0) {
            problems_add(v->p, v->file, sub,
                         "unknown setpoint reference \"%s\" (use \"$rate_hz\" or \"$depth_mm\")",
                         m->valuestring);
            return -1;
        }
        out->ref = (enum lim_ref)r;
        out->value = NAN;
        return 1;
    }
    if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble)) {
        problems_add(v->p, v->file, sub, "must be a number or a setpoint reference");
        return -1;
    }
    out->ref = LIM_REF_NONE;
    out->value = m->valuedouble;
    return 1;
}

int jv_array(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
             int min_items, const cJSON **out)
{
    char sub[JV_PATH_MAX];
    jv_path_key(sub, path, key);
    const cJSON *m = member(obj, key);
    if (!m) {
        if (required)
            problems_add(v->p, v->file, sub, "missing (an array is required)");
        return 0;
    }
    if (!cJSON_IsArray(m)) {
        problems_add(v->p, v->file, sub, "must be an array");
        return -1;
    }
    int n = cJSON_GetArraySize(m);
    if (n < min_items) {
        problems_add(v->p, v->file, sub, "must have at least %d item%s", min_items,
                     min_items == 1 ? "" : "s");
        return -1;
    }
    *out = m;
    return n;
}

char *jv_strdup(struct jv *v, const char *path, const char *s)
{
    char *d = strdup(s);
    if (!d)
        problems_add(v->p, v->file, path, "out of memory");
    return d;
}
