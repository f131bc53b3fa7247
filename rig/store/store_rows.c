/* The answers of store.h computed from rows of either database
 * (store_rows.h): the station's queries (store_query.c, store_stats.c)
 * and the line's (line_query.c) feed the same code, so both give the
 * same figures and the same JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_rows.h"

/* ---- SQLite rows ------------------------------------------------------ */

static bool sq_null(const struct store_row *w, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)w->impl, col) == SQLITE_NULL;
}

static const char *sq_text(const struct store_row *w, int col)
{
    return (const char *)sqlite3_column_text((sqlite3_stmt *)w->impl, col);
}

static double sq_real(const struct store_row *w, int col)
{
    return sqlite3_column_double((sqlite3_stmt *)w->impl, col);
}

static long long sq_int(const struct store_row *w, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)w->impl, col);
}

struct store_row store_row_sqlite(sqlite3_stmt *s)
{
    return (struct store_row){ s, 0, sq_null, sq_text, sq_real, sq_int };
}

/* ---- JSON of runs and failing measurements ---------------------------- */

static void add_text(cJSON *o, const char *k, const struct store_row *w, int col)
{
    const char *t = w->text(w, col);
    if (t)
        cJSON_AddStringToObject(o, k, t);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_real(cJSON *o, const char *k, const struct store_row *w, int col)
{
    if (w->null(w, col))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, w->real(w, col));
}

cJSON *store_row_run_json(const struct store_row *w)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_text(o, "id", w, 0);
    add_text(o, "dut_serial", w, 1);
    cJSON_AddNumberToObject(o, "attempt", (double)w->integer(w, 2));
    add_text(o, "retest_reason", w, 3);
    add_text(o, "fixture", w, 4);
    add_text(o, "station", w, 5);
    add_text(o, "operator", w, 6);
    add_text(o, "started", w, 7);
    add_text(o, "ended", w, 8);
    cJSON_AddBoolToObject(o, "complete", w->integer(w, 9));
    add_text(o, "outcome", w, 10);
    cJSON_AddBoolToObject(o, "marginal", w->integer(w, 11));
    add_text(o, "message", w, 12);
    cJSON_AddNumberToObject(o, "retries", (double)w->integer(w, 13));
    cJSON *q = cJSON_AddObjectToObject(o, "sequence");
    if (q) {
        add_text(q, "name", w, 14);
        add_text(q, "sha256", w, 15);
    }
    cJSON *sp = cJSON_AddObjectToObject(o, "spec");
    if (sp) {
        add_text(sp, "name", w, 16);
        add_text(sp, "version", w, 17);
        add_text(sp, "sha256", w, 18);
    }
    add_text(o, "record_path", w, 19);
    return o;
}

int store_row_failing(const struct store_row *w, cJSON *arr)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddItemToArray(arr, m)) {
        cJSON_Delete(m);
        return -ENOMEM;
    }
    cJSON_AddNumberToObject(m, "step_index", (double)w->integer(w, 0));
    add_text(m, "name", w, 1);
    if (!w->null(w, 3))
        add_text(m, "text", w, 3);
    else
        add_real(m, "value", w, 2);
    add_text(m, "units", w, 4);
    add_text(m, "comparison", w, 5);
    add_real(m, "low", w, 6);
    add_real(m, "high", w, 7);
    add_text(m, "limit", w, 8);
    add_text(m, "outcome", w, 9);
    add_text(m, "note", w, 10);
    return 0;
}

/* ---- yields ----------------------------------------------------------- */

static void unit_done(struct store_yields_acc *a)
{
    if (!a->in_cohort)
        return;
    a->units++;
    a->first += a->first_pass;
    a->final += a->last_pass;
    a->runs += a->u_runs;
}

int store_yields_add(struct store_yields_acc *a, const struct store_row *w)
{
    const struct store_filter *g = a->g;
    const char *started = w->text(w, 4), *outcome = w->text(w, 3), *fixture = w->text(w, 5);
    bool complete = w->integer(w, 2);
    bool pass = complete && outcome && !strcmp(outcome, "PASS");
    const char *serial = w->text(w, 0);
    if (!a->prev || strcmp(serial, a->prev)) { /* a new unit: its attempt 1 */
        free(a->prev);
        if (!(a->prev = strdup(serial)))
            return -ENOMEM;
        unit_done(a);
        a->u_runs = 0;
        a->last_pass = false;
        a->in_cohort = started && (!g->since || strcmp(started, g->since) >= 0) &&
                       (!g->until || strcmp(started, g->until) < 0) &&
                       (!g->fixture || (fixture && !strcmp(fixture, g->fixture)));
        a->first_pass = pass;
    }
    if (!a->in_cohort || (g->until && started && strcmp(started, g->until) >= 0))
        return 0;
    a->u_runs++;
    if (complete)
        a->last_pass = pass;
    return 0;
}

static void add_ratio(cJSON *o, const char *k, long long num, long long den)
{
    if (den > 0)
        cJSON_AddNumberToObject(o, k, (double)num / (double)den);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *store_yields_finish(struct store_yields_acc *a)
{
    unit_done(a);
    free(a->prev);
    a->prev = NULL;
    cJSON *y = cJSON_CreateObject();
    if (!y)
        return NULL;
    cJSON_AddNumberToObject(y, "units", (double)a->units);
    cJSON_AddNumberToObject(y, "first_pass", (double)a->first);
    cJSON_AddNumberToObject(y, "final_pass", (double)a->final);
    cJSON_AddNumberToObject(y, "runs", (double)a->runs);
    add_ratio(y, "fpy", a->first, a->units);
    add_ratio(y, "final_yield", a->final, a->units);
    add_ratio(y, "retest_rate", a->runs - a->units, a->runs);
    return y;
}

/* ---- statistics per population ---------------------------------------- */

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static char *dup_col(const struct store_row *w, int col)
{
    const char *t = w->text(w, col);
    return t ? strdup(t) : NULL;
}

static bool same_text(const char *a, const struct store_row *w, int col)
{
    const char *b = w->text(w, col);
    return a && b ? !strcmp(a, b) : a == b;
}

static bool same_real(bool has, double v, const struct store_row *w, int col)
{
    bool h = !w->null(w, col);
    return h == has && (!h || w->real(w, col) == v);
}

static bool same_group(const struct store_stats_acc *g, const struct store_row *w)
{
    return g->name && same_text(g->name, w, 0) && same_text(g->units, w, 1) &&
           same_text(g->cmp, w, 2) && same_real(g->has_low, g->low, w, 3) &&
           same_real(g->has_high, g->high, w, 4);
}

void store_stats_clear(struct store_stats_acc *g)
{
    free(g->name);
    free(g->units);
    free(g->cmp);
    free(g->x);
    cJSON *arr = g->arr;
    memset(g, 0, sizeof *g);
    g->arr = arr;
}

/* Turn the population into its JSON entry (appended) and clear it. */
static int group_flush(struct store_stats_acc *g)
{
    if (!g->name)
        return 0;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(g->arr, o)) {
        cJSON_Delete(o);
        store_stats_clear(g);
        return -ENOMEM;
    }
    int cmp = g->cmp ? lim_cmp_from_str(g->cmp) : -1;
    struct store_capability c;
    store_capability(g->x, g->n, cmp < 0 ? LIM_STREQ : (enum lim_cmp)cmp, g->has_low ? g->low : NAN,
                     g->has_high ? g->high : NAN, &c);
    cJSON_AddStringToObject(o, "name", g->name);
    if (g->units)
        cJSON_AddStringToObject(o, "units", g->units);
    else
        cJSON_AddNullToObject(o, "units");
    if (g->cmp)
        cJSON_AddStringToObject(o, "comparison", g->cmp);
    else
        cJSON_AddNullToObject(o, "comparison");
    add_num(o, "low", g->has_low ? g->low : NAN);
    add_num(o, "high", g->has_high ? g->high : NAN);
    cJSON_AddNumberToObject(o, "count", (double)g->count);
    cJSON_AddNumberToObject(o, "pass", (double)g->pass);
    cJSON_AddNumberToObject(o, "fail", (double)(g->count - g->pass));
    add_num(o, "yield", g->count ? (double)g->pass / (double)g->count : NAN);
    cJSON_AddNumberToObject(o, "first_count", (double)g->first_count);
    cJSON_AddNumberToObject(o, "first_pass", (double)g->first_pass);
    add_num(o, "fpy", g->first_count ? (double)g->first_pass / (double)g->first_count : NAN);
    cJSON_AddNumberToObject(o, "n", (double)c.n);
    add_num(o, "mean", c.mean);
    add_num(o, "sd", c.sd);
    add_num(o, "sigma_within", c.sigma_within);
    add_num(o, "cp", c.cp);
    add_num(o, "cpk", c.cpk);
    add_num(o, "pp", c.pp);
    add_num(o, "ppk", c.ppk);
    store_stats_clear(g);
    return 0;
}

static int group_start(struct store_stats_acc *g, const struct store_row *w)
{
    g->name = dup_col(w, 0);
    g->units = dup_col(w, 1);
    g->cmp = dup_col(w, 2);
    if ((g->has_low = !w->null(w, 3)))
        g->low = w->real(w, 3);
    if ((g->has_high = !w->null(w, 4)))
        g->high = w->real(w, 4);
    return g->name ? 0 : -ENOMEM;
}

int store_stats_add(struct store_stats_acc *g, const struct store_row *w)
{
    if (!same_group(g, w)) {
        int r = group_flush(g);
        if (r == 0)
            r = group_start(g, w);
        if (r < 0)
            return r;
    }
    bool pass = same_text("PASS", w, 6), first = w->integer(w, 7) == 1;
    g->count++;
    g->pass += pass;
    g->first_count += first;
    g->first_pass += first && pass;
    if (w->null(w, 5))
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 256;
        double *x = realloc(g->x, cap * sizeof *x);
        if (!x)
            return -ENOMEM;
        g->x = x;
        g->cap = cap;
    }
    g->x[g->n++] = w->real(w, 5);
    return 0;
}

int store_stats_finish(struct store_stats_acc *g)
{
    int r = group_flush(g);
    store_stats_clear(g);
    return r;
}

/* ---- Pareto ----------------------------------------------------------- */

int store_pareto_add(cJSON *arr, const struct store_row *w, long long *total)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return -ENOMEM;
    }
    cJSON_AddStringToObject(o, "name", w->text(w, 0));
    cJSON_AddNumberToObject(o, "count", (double)w->integer(w, 1));
    *total += w->integer(w, 1);
    return 0;
}

void store_pareto_finish(cJSON *arr, long long total)
{
    double cum = 0;
    cJSON *o;
    cJSON_ArrayForEach (o, arr) {
        double c = cJSON_GetObjectItem(o, "count")->valuedouble;
        cum += c;
        cJSON_AddNumberToObject(o, "share", c / (double)total);
        cJSON_AddNumberToObject(o, "cumulative", cum / (double)total);
    }
}
