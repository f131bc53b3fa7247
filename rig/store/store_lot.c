/* The data of a lot report (store_lot.h): the station's queries, and the
 * row-fed building of the struct that the line's queries share. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_lot.h"
#include "store/store_rows.h"

/* ---- building from rows (either backend) ------------------------------- */

struct store_lot *store_lot_new(void)
{
    return calloc(1, sizeof(struct store_lot));
}

static char *dup_col(const struct store_row *w, int col, bool *oom)
{
    const char *t = w->text(w, col);
    if (!t)
        return NULL;
    char *s = strdup(t);
    if (!s)
        *oom = true;
    return s;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : 64;
    void *q = realloc(p, c * size);
    if (q)
        *cap = c;
    return q;
}

int store_lot_add_run(struct store_lot *lot, const struct store_row *w)
{
    struct store_lot_run *a = grow(lot->runs, &lot->runs_cap, lot->nruns, sizeof *a);
    if (!a)
        return -ENOMEM;
    lot->runs = a;
    struct store_lot_run *u = &a[lot->nruns++];
    bool oom = false;
    *u = (struct store_lot_run){
        .id = dup_col(w, 0, &oom),
        .dut_serial = dup_col(w, 1, &oom),
        .attempt = (unsigned)w->integer(w, 2),
        .fixture = dup_col(w, 3, &oom),
        .station = dup_col(w, 4, &oom),
        .started = dup_col(w, 5, &oom),
        .outcome = dup_col(w, 6, &oom),
        .record_path = dup_col(w, 7, &oom),
        .failing = dup_col(w, 8, &oom),
    };
    return oom || !u->id ? -ENOMEM : 0;
}

struct id_ix {
    const char *id;
    size_t i;
};

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct id_ix *)a)->id, ((const struct id_ix *)b)->id);
}

int store_lot_index(struct store_lot *lot)
{
    size_t n = lot->nruns ? lot->nruns : 1;
    struct id_ix *t = malloc(n * sizeof *t);
    free(lot->by_id);
    lot->by_id = malloc(n * sizeof *lot->by_id);
    if (!t || !lot->by_id) {
        free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < lot->nruns; i++)
        t[i] = (struct id_ix){ lot->runs[i].id, i };
    qsort(t, lot->nruns, sizeof *t, by_id);
    for (size_t i = 0; i < lot->nruns; i++)
        lot->by_id[i] = t[i].i;
    free(t);
    return 0;
}

/* The index in runs of run id, or -1. */
static long find_run(const struct store_lot *lot, const char *id)
{
    size_t lo = 0, hi = lot->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lot->runs[lot->by_id[mid]].id, id);
        if (c == 0)
            return (long)lot->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static bool same_text(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

static bool same_real(double have, const struct store_row *w, int col)
{
    if (w->null(w, col))
        return isnan(have);
    return !isnan(have) && w->real(w, col) == have;
}

static bool same_population(const struct store_lot_series *s, const struct store_row *w)
{
    return same_text(s->name, w->text(w, 0)) && same_text(s->units, w->text(w, 1)) &&
           same_text(s->comparison, w->text(w, 2)) && same_real(s->low, w, 3) &&
           same_real(s->high, w, 4);
}

static struct store_lot_series *population(struct store_lot *lot, const struct store_row *w)
{
    /* Rows come run by run, each run's measurements in the same order:
     * the population after the last one used is nearly always the next. */
    for (size_t k = 0; k < lot->nseries; k++) {
        size_t i = (lot->last + k) % lot->nseries;
        if (same_population(&lot->series[i], w)) {
            lot->last = (i + 1) % lot->nseries;
            return &lot->series[i];
        }
    }
    struct store_lot_series *a = grow(lot->series, &lot->series_cap, lot->nseries, sizeof *a);
    if (!a)
        return NULL;
    lot->series = a;
    struct store_lot_series *s = &a[lot->nseries++];
    bool oom = false;
    *s = (struct store_lot_series){
        .name = dup_col(w, 0, &oom),
        .units = dup_col(w, 1, &oom),
        .comparison = dup_col(w, 2, &oom),
        .low = w->null(w, 3) ? NAN : w->real(w, 3),
        .high = w->null(w, 4) ? NAN : w->real(w, 4),
    };
    lot->last = 0;
    return oom || !s->name ? NULL : s;
}

int store_lot_add_value(struct store_lot *lot, const struct store_row *w)
{
    long run = find_run(lot, w->text(w, 7));
    if (run < 0)
        return 0;
    struct store_lot_series *s = population(lot, w);
    if (!s)
        return -ENOMEM;
    const char *outcome = w->text(w, 6);
    s->count++;
    s->pass += outcome && !strcmp(outcome, "PASS");
    if (w->null(w, 5))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *x = realloc(s->x, cap * sizeof *x);
        if (x)
            s->x = x;
        size_t *r = realloc(s->run, cap * sizeof *r);
        if (r)
            s->run = r;
        if (!x || !r)
            return -ENOMEM;
        s->cap = cap;
    }
    s->x[s->n] = w->real(w, 5);
    s->run[s->n++] = (size_t)run;
    return 0;
}

/* SQL's order of the populations (store_stats's ORDER BY): text bytewise,
 * numbers ascending, NULLs first. */
static int cmp_text(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) : !!a - !!b;
}

static int cmp_real(double a, double b)
{
    if (isnan(a) || isnan(b))
        return !isnan(a) - !isnan(b);
    return (a > b) - (a < b);
}

static int cmp_series(const void *x, const void *y)
{
    const struct store_lot_series *a = x, *b = y;
    int c = cmp_text(a->name, b->name);
    if (!c)
        c = cmp_text(a->units, b->units);
    if (!c)
        c = cmp_text(a->comparison, b->comparison);
    if (!c)
        c = cmp_real(a->low, b->low);
    if (!c)
        c = cmp_real(a->high, b->high);
    return c;
}

void store_lot_finish(struct store_lot *lot)
{
    if (lot->nseries) /* qsort's base must not be NULL, even for 0 */
        qsort(lot->series, lot->nseries, sizeof *lot->series, cmp_series);
}

void store_lot_free(struct store_lot *lot)
{
    if (!lot)
        return;
    cJSON_Delete(lot->stats);
    for (size_t i = 0; i < lot->nruns; i++) {
        struct store_lot_run *u = &lot->runs[i];
        free(u->id);
        free(u->dut_serial);
        free(u->fixture);
        free(u->station);
        free(u->started);
        free(u->outcome);
        free(u->record_path);
        free(u->failing);
    }
    free(lot->runs);
    for (size_t i = 0; i < lot->nseries; i++) {
        free(lot->series[i].name);
        free(lot->series[i].units);
        free(lot->series[i].comparison);
        free(lot->series[i].x);
        free(lot->series[i].run);
    }
    free(lot->series);
    free(lot->by_id);
    free(lot);
}

/* ---- the station's queries --------------------------------------------- */

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "station database: out of memory");
    return -ENOMEM;
}

/* Step sql (filter bound) and feed each row to add. */
static int each_row(struct store *st, const char *sql, const struct store_filter *f,
                    int (*add)(struct store_lot *, const struct store_row *), struct store_lot *lot,
                    const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        return r;
    store_bind_filter(s, f);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_row w = store_row_sqlite(s);
        if ((r = add(lot, &w)) < 0) {
            r = oom(err, errlen);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, what, err, errlen);
    sqlite3_finalize(s);
    return r;
}

static int add_count(struct store_lot *lot, const struct store_row *w)
{
    lot->started = (size_t)w->integer(w, 0);
    return 0;
}

static int read_rows(struct store *st, const struct store_filter *f, struct store_lot *lot,
                     char *err, size_t errlen)
{
    char sql[2048] = "SELECT count(*) FROM runs r WHERE 1";
    store_filter_sql(sql, sizeof sql, f, 'y');
    int r = each_row(st, sql, f, add_count, lot, "lot runs", err, errlen);
    if (r < 0)
        return r;
    snprintf(sql, sizeof sql, "%s",
             "SELECT r.id, r.dut_serial, r.attempt, r.fixture, r.station, r.started_utc,"
             " r.outcome, r.record_path, CASE WHEN r.outcome != 'PASS' THEN (SELECT"
             " group_concat(m.name, ', ') FROM measurements m WHERE m.rid = r.rid AND"
             " m.superseded = 0 AND m.outcome NOT IN ('PASS', 'SKIPPED')) END"
             " FROM runs r WHERE r.complete = 1");
    store_filter_sql(sql, sizeof sql, f, 'y');
    strncat(sql, " ORDER BY r.started_utc, r.id", sizeof sql - strlen(sql) - 1);
    if ((r = each_row(st, sql, f, store_lot_add_run, lot, "lot runs", err, errlen)) < 0)
        return r;
    if (store_lot_index(lot) < 0)
        return oom(err, errlen);
    /* store_stats's measurement rows (store_stats.c) in run order, with
     * the run id to place each value: each lands at the end of its
     * population, so every population is in store_stats's run order and
     * only the populations are sorted afterwards. Sorting the 200 000
     * values of 10 000 runs by population in SQL took 3 times as long. */
    snprintf(sql, sizeof sql, "%s",
             "SELECT m.name, m.units, m.comparison, m.low, m.high, m.value, m.outcome, r.id"
             " FROM runs r CROSS JOIN measurements m ON m.rid = r.rid"
             " WHERE r.complete = 1 AND m.superseded = 0 AND m.outcome != 'SKIPPED'");
    store_filter_sql(sql, sizeof sql, f, 's');
    strncat(sql, " ORDER BY r.started_utc, r.id, m.step_no, m.idx", sizeof sql - strlen(sql) - 1);
    r = each_row(st, sql, f, store_lot_add_value, lot, "lot values", err, errlen);
    if (r == 0)
        store_lot_finish(lot);
    return r;
}

int store_lot(struct store *st, const struct store_filter *f, struct store_lot **out, char *err,
              size_t errlen)
{
    static const struct store_filter none;
    struct store_filter g = f ? *f : none;
    g.dut = g.outcome = NULL; /* not lot filters */
    *out = NULL;
    struct store_lot *lot = store_lot_new();
    cJSON *y = NULL, *pa = NULL;
    if (!lot || !(lot->stats = cJSON_CreateObject()) ||
        !(pa = cJSON_AddArrayToObject(lot->stats, "pareto"))) {
        store_lot_free(lot);
        return oom(err, errlen);
    }
    pthread_mutex_lock(&st->lock);
    /* One read transaction: yields, Pareto, runs and values of one
     * snapshot even while runs are being written. */
    sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    int r = store_yields_locked(st, &g, &y, err, errlen);
    if (r == 0)
        r = store_pareto_locked(st, &g, pa, err, errlen);
    if (r == 0)
        r = read_rows(st, &g, lot, err, errlen);
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&st->lock);
    if (y)
        cJSON_AddItemToObject(lot->stats, "yields", y);
    if (r < 0) {
        store_lot_free(lot);
        return r;
    }
    *out = lot;
    return 0;
}
