/* Statistics at the source: per-measurement yield, FPY and process
 * capability (definitions in store.h), the failure Pareto. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_rows.h"

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
    struct store_stats_acc g = { .arr = arr };
    int rc;
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_row w = store_row_sqlite(s);
        r = store_stats_add(&g, &w);
    }
    if (r == 0)
        r = store_stats_finish(&g);
    store_stats_clear(&g);
    if (r == -ENOMEM)
        snprintf(err, errlen, "station database: out of memory");
    else if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, "stats", err, errlen);
    sqlite3_finalize(s);
    return r;
}

int store_pareto_locked(struct store *st, const struct store_filter *f, cJSON *arr, char *err,
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
        struct store_row w = store_row_sqlite(s);
        if ((r = store_pareto_add(arr, &w, &total)) < 0)
            break;
    }
    if (r == -ENOMEM)
        snprintf(err, errlen, "station database: out of memory");
    else if (rc != SQLITE_DONE)
        r = store_fail(st, rc, "pareto", err, errlen);
    sqlite3_finalize(s);
    store_pareto_finish(arr, total);
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
        r = store_pareto_locked(st, &g, pa, err, errlen);
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
