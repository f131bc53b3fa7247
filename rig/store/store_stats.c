/* Statistics at the source: per-measurement yield, FPY and process
 * capability (definitions in store.h), the failure Pareto. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* d2 for subgroups of 2 (moving ranges of consecutive values). */
#define D2_N2 1.128

void store_capability(const double *x, size_t n, enum lim_cmp cmp, double low, double high,
                      struct store_capability *out)
{
    out->n = n;
    out->mean = out->sd = out->sigma_within = NAN;
    out->cp = out->cpk = out->pp = out->ppk = NAN;
    if (n == 0)
        return;
    /* Two passes (mean, then squares of deviations): the one-pass formula
     * loses digits when the mean is large against the spread. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n;
    out->mean = mean;
    if (n < 2)
        return;
    double ss = 0, mr = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    for (size_t i = 1; i < n; i++)
        mr += fabs(x[i] - x[i - 1]);
    double sd = sqrt(ss / (double)(n - 1));
    double sw = mr / (double)(n - 1) / D2_N2;
    out->sd = sd;
    out->sigma_within = sw;
    double lsl = NAN, usl = NAN;
    switch (cmp) {
    case LIM_GELE:
    case LIM_GTLT:
    case LIM_GELT:
    case LIM_GTLE:
        lsl = low;
        usl = high;
        break;
    case LIM_GE:
    case LIM_GT:
        lsl = low;
        break;
    case LIM_LE:
    case LIM_LT:
        usl = low; /* single-limit comparisons keep their limit in low */
        break;
    default:
        return; /* no specification interval to be capable against */
    }
    /* d: the distance to the nearer limit there is. */
    double d = NAN;
    if (isfinite(lsl) && isfinite(usl))
        d = fmin(usl - mean, mean - lsl);
    else if (isfinite(lsl))
        d = mean - lsl;
    else if (isfinite(usl))
        d = usl - mean;
    bool two = isfinite(lsl) && isfinite(usl);
    if (sw > 0) {
        out->cpk = d / (3 * sw);
        if (two)
            out->cp = (usl - lsl) / (6 * sw);
    }
    if (sd > 0) {
        out->ppk = d / (3 * sd);
        if (two)
            out->pp = (usl - lsl) / (6 * sd);
    }
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* One population: consecutive rows with the same key. */
struct group {
    char *name, *units, *cmp;
    bool has_low, has_high;
    double low, high;
    long long count, pass, first_count, first_pass;
    double *x;
    size_t n, cap;
};

static char *dup_col(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? strdup(t) : NULL;
}

static bool same_text(const char *a, sqlite3_stmt *s, int col)
{
    const char *b = (const char *)sqlite3_column_text(s, col);
    return a && b ? !strcmp(a, b) : a == b;
}

static bool same_real(bool has, double v, sqlite3_stmt *s, int col)
{
    bool h = sqlite3_column_type(s, col) != SQLITE_NULL;
    return h == has && (!h || sqlite3_column_double(s, col) == v);
}

static bool same_group(const struct group *g, sqlite3_stmt *s)
{
    return g->name && same_text(g->name, s, 0) && same_text(g->units, s, 1) &&
           same_text(g->cmp, s, 2) && same_real(g->has_low, g->low, s, 3) &&
           same_real(g->has_high, g->high, s, 4);
}

static void group_clear(struct group *g)
{
    free(g->name);
    free(g->units);
    free(g->cmp);
    free(g->x);
    memset(g, 0, sizeof *g);
}

/* Turn g into its JSON entry (appended to arr) and clear it. */
static int group_flush(struct group *g, cJSON *arr)
{
    if (!g->name)
        return 0;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        group_clear(g);
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
    group_clear(g);
    return 0;
}

static int group_start(struct group *g, sqlite3_stmt *s)
{
    g->name = dup_col(s, 0);
    g->units = dup_col(s, 1);
    g->cmp = dup_col(s, 2);
    if ((g->has_low = sqlite3_column_type(s, 3) != SQLITE_NULL))
        g->low = sqlite3_column_double(s, 3);
    if ((g->has_high = sqlite3_column_type(s, 4) != SQLITE_NULL))
        g->high = sqlite3_column_double(s, 4);
    return g->name ? 0 : -ENOMEM;
}

static int group_add(struct group *g, sqlite3_stmt *s)
{
    bool pass = same_text("PASS", s, 6), first = sqlite3_column_int(s, 7) == 1;
    g->count++;
    g->pass += pass;
    g->first_count += first;
    g->first_pass += first && pass;
    if (sqlite3_column_type(s, 5) == SQLITE_NULL)
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 256;
        double *x = realloc(g->x, cap * sizeof *x);
        if (!x)
            return -ENOMEM;
        g->x = x;
        g->cap = cap;
    }
    g->x[g->n++] = sqlite3_column_double(s, 5);
    return 0;
}

static int measurements(struct store *st, const struct store_filter *f, cJSON *arr, char *err,
                        size_t errlen)
{
    char sql[1024] = "SELECT m.name, m.units, m.comparison, m.low, m.high, m.value, m.outcome,"
                     " r.attempt FROM measurements m JOIN runs r ON r.rid = m.rid"
                     " WHERE r.complete = 1 AND m.superseded = 0 AND m.outcome != 'SKIPPED'";
    store_filter_sql(sql, sizeof sql, f, 's');
    /* Run order inside a population: the moving range needs it. */
    strncat(sql,
            " ORDER BY m.name, m.units, m.comparison, m.low, m.high, r.started_utc, r.id,"
            " m.step_no, m.idx",
            sizeof sql - strlen(sql) - 1);
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        return r;
    store_bind_filter(s, f);
    struct group g = { 0 };
    int rc;
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!same_group(&g, s)) {
            r = group_flush(&g, arr);
            if (r == 0)
                r = group_start(&g, s);
        }
        if (r == 0)
            r = group_add(&g, s);
    }
    if (r == 0)
        r = group_flush(&g, arr);
    group_clear(&g);
    if (r == -ENOMEM)
        snprintf(err, errlen, "station database: out of memory");
    else if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, "stats", err, errlen);
    sqlite3_finalize(s);
    return r;
}

static int pareto(struct store *st, const struct store_filter *f, cJSON *arr, char *err,
                  size_t errlen)
{
    /* From the failed runs to their measurements (CROSS JOIN keeps that
     * order): left to itself SQLite walks all measurements by name, 60
     * times slower with 2 M of them. */
    char sql[2048] = "SELECT m.name, count(*) FROM runs r CROSS JOIN measurements m"
                     " ON m.rid = r.rid WHERE r.complete = 1 AND r.outcome != 'PASS' AND"
                     " m.superseded = 0 AND m.outcome NOT IN ('PASS', 'SKIPPED')";
    store_filter_sql(sql, sizeof sql, f, 's');
    strncat(sql, " GROUP BY m.name", sizeof sql - strlen(sql) - 1);
    if (!f->measurement) {
        /* Runs that failed with nothing measured out of limits (a rig
         * ERROR, an abort): they are failures too, by their outcome. */
        strncat(sql,
                " UNION ALL SELECT '(run) ' || r.outcome, count(*) FROM runs r"
                " WHERE r.complete = 1 AND r.outcome != 'PASS' AND NOT EXISTS (SELECT 1 FROM"
                " measurements m WHERE m.rid = r.rid AND m.superseded = 0 AND"
                " m.outcome NOT IN ('PASS', 'SKIPPED'))",
                sizeof sql - strlen(sql) - 1);
        store_filter_sql(sql, sizeof sql, f, 'y');
        strncat(sql, " GROUP BY r.outcome", sizeof sql - strlen(sql) - 1);
    }
    strncat(sql, " ORDER BY 2 DESC, 1", sizeof sql - strlen(sql) - 1);
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        return r;
    store_bind_filter(s, f);
    int rc;
    long long total = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            r = -ENOMEM;
            break;
        }
        cJSON_AddStringToObject(o, "name", (const char *)sqlite3_column_text(s, 0));
        cJSON_AddNumberToObject(o, "count", (double)sqlite3_column_int64(s, 1));
        total += sqlite3_column_int64(s, 1);
    }
    if (r == -ENOMEM)
        snprintf(err, errlen, "station database: out of memory");
    else if (rc != SQLITE_DONE)
        r = store_fail(st, rc, "pareto", err, errlen);
    sqlite3_finalize(s);
    double cum = 0;
    cJSON *o;
    cJSON_ArrayForEach (o, arr) {
        double c = cJSON_GetObjectItem(o, "count")->valuedouble;
        cum += c;
        cJSON_AddNumberToObject(o, "share", c / (double)total);
        cJSON_AddNumberToObject(o, "cumulative", cum / (double)total);
    }
    return r;
}

int store_stats(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                size_t errlen)
{
    static const struct store_filter none;
    struct store_filter g = f ? *f : none;
    g.dut = g.outcome = NULL; /* not statistics filters */
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *y = NULL;
    cJSON *ms = o ? cJSON_AddArrayToObject(o, "measurements") : NULL;
    cJSON *pa = o ? cJSON_AddArrayToObject(o, "pareto") : NULL;
    if (!ms || !pa) {
        cJSON_Delete(o);
        snprintf(err, errlen, "station database: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&st->lock);
    /* One read transaction: yields, statistics and Pareto of one snapshot
     * even while runs are being written. */
    sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    int r = store_yields_locked(st, &g, &y, err, errlen);
    if (r == 0)
        r = measurements(st, &g, ms, err, errlen);
    if (r == 0)
        r = pareto(st, &g, pa, err, errlen);
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&st->lock);
    if (y)
        cJSON_AddItemToObject(o, "yields", y);
    if (r < 0) {
        cJSON_Delete(o);
        return r;
    }
    *out = o;
    return 0;
}
