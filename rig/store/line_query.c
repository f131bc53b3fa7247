/* The station queries over the whole line (line.h): the same filters as
 * the station's, the same orderings (text compared bytewise, COLLATE "C",
 * NULLs first, as SQLite does), and the same C code for every figure and
 * JSON object (store_rows.c), fed by PostgreSQL rows. Attempts come from
 * the line_runs view, numbered over every station.
 *
 * SQL text is built only from constant fragments (which filters are
 * present); every value is a parameter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/line_int.h"
#include "store/store_lot.h"
#include "store/store_rows.h"

/* ---- PostgreSQL rows ---------------------------------------------------- */

static bool pg_null(const struct store_row *w, int col)
{
    return PQgetisnull((const PGresult *)w->impl, w->row, col);
}

static const char *pg_text(const struct store_row *w, int col)
{
    return pg_null(w, col) ? NULL : PQgetvalue((const PGresult *)w->impl, w->row, col);
}

static double pg_real(const struct store_row *w, int col)
{
    const char *t = pg_text(w, col);
    return t ? strtod(t, NULL) : 0;
}

static long long pg_int(const struct store_row *w, int col)
{
    const char *t = pg_text(w, col);
    return t ? strtoll(t, NULL, 10) : 0;
}

static struct store_row pg_row(const PGresult *res, int row)
{
    return (struct store_row){ res, row, pg_null, pg_text, pg_real, pg_int };
}

/* ---- statements --------------------------------------------------------- */

/* A statement being built: SQL and its parameters ($1..$n). */
struct pgq {
    char sql[4096];
    const char *v[16];
    int n;
    char limit[24];
};

static void cat(struct pgq *q, const char *s)
{
    strncat(q->sql, s, sizeof q->sql - strlen(q->sql) - 1);
}

/* Append fragment fmt (with one %d: the parameter's number) for value v. */
static void param(struct pgq *q, const char *fmt, const char *v)
{
    char frag[256];
    if (q->n >= (int)(sizeof q->v / sizeof q->v[0]))
        return; /* never with these statements */
    q->v[q->n++] = v;
    snprintf(frag, sizeof frag, fmt, q->n);
    cat(q, frag);
}

/* The filters as store_filter_sql (store_query.c) has them. */
static void filter(struct pgq *q, const struct store_filter *f, char which)
{
    if (f->dut && which == 'h')
        param(q, " AND r.dut_serial = $%d", f->dut);
    if (f->since)
        param(q, " AND r.started_utc >= $%d", f->since);
    if (f->until)
        param(q, " AND r.started_utc < $%d", f->until);
    if (f->fixture)
        param(q, " AND r.fixture = $%d", f->fixture);
    if (f->model)
        param(q,
              " AND EXISTS (SELECT 1 FROM measurements pm WHERE pm.run_id = r.id AND"
              " pm.superseded = 0 AND pm.quantity = 'pen_model' AND pm.text = $%d)",
              f->model);
    if (f->outcome && which == 'h') {
        if (!strcmp(f->outcome, "incomplete"))
            cat(q, " AND r.complete = 0");
        else
            param(q, " AND r.outcome = $%d", f->outcome);
    }
    if (f->measurement && which == 's')
        param(q, " AND m.name = $%d", f->measurement);
}

static int run(struct line *ln, const struct pgq *q, PGresult **res, const char *what, char *err,
               size_t errlen)
{
    int r = line_ready(ln, err, errlen);
    if (r < 0)
        return r;
    *res = PQexecParams(ln->conn, q->sql, q->n, NULL, q->v, NULL, NULL, 0);
    if (PQresultStatus(*res) == PGRES_TUPLES_OK)
        return 0;
    r = line_fail(ln, *res, what, err, errlen);
    PQclear(*res);
    *res = NULL;
    return r;
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "line store: out of memory");
    return -ENOMEM;
}

/* STORE_RUN_COLUMNS with the line's attempt, then station_id. */
#define LINE_RUN_COLUMNS                                                                           \
    "r.id, r.dut_serial, r.line_attempt, r.retest_reason, r.fixture, r.station, r.operator,"       \
    " r.started_utc, r.ended_utc, r.complete, r.outcome, r.marginal, r.message, r.retries,"        \
    " r.sequence_name, r.sequence_sha256, r.spec_name, r.spec_version, r.spec_sha256,"             \
    " r.record_path, r.station_id"
#define LINE_STATION_COL 20

static cJSON *run_json(const PGresult *res, int i)
{
    struct store_row w = pg_row(res, i);
    cJSON *o = store_row_run_json(&w);
    if (o)
        cJSON_AddStringToObject(o, "station_id", PQgetvalue(res, i, LINE_STATION_COL));
    return o;
}

int line_history(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
                 size_t errlen)
{
    static const struct store_filter none;
    if (!f)
        f = &none;
    *out = NULL;
    struct pgq q = { .sql = "SELECT " LINE_RUN_COLUMNS " FROM line_runs r WHERE true" };
    filter(&q, f, 'h');
    snprintf(q.limit, sizeof q.limit, "%u", f->limit ? f->limit : 100);
    param(&q, " ORDER BY r.started_utc COLLATE \"C\" DESC, r.id COLLATE \"C\" DESC LIMIT $%d",
          q.limit);
    PGresult *res;
    int r = run(ln, &q, &res, "history", err, errlen);
    if (r < 0)
        return r;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < PQntuples(res); i++) {
        cJSON *o = run_json(res, i);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    PQclear(res);
    if (!a)
        return oom(err, errlen);
    *out = a;
    return 0;
}

static int failing(struct line *ln, const char *run_id, cJSON *arr, char *err, size_t errlen)
{
    struct pgq q = { .sql = "SELECT step_index, name, value, text, units, comparison, low, high,"
                            " limit_text, outcome, note FROM measurements WHERE" };
    param(&q,
          " run_id = $%d AND superseded = 0 AND outcome NOT IN ('PASS', 'SKIPPED')"
          " ORDER BY step_no, idx",
          run_id);
    PGresult *res;
    int r = run(ln, &q, &res, "failing measurements", err, errlen);
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_row w = pg_row(res, i);
        if (store_row_failing(&w, arr) < 0)
            r = oom(err, errlen);
    }
    PQclear(res);
    return r;
}

int line_unit(struct line *ln, const char *serial, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!serial) {
        snprintf(err, errlen, "line store: no serial");
        return -EINVAL;
    }
    struct pgq q = { .sql = "SELECT " LINE_RUN_COLUMNS " FROM line_runs r WHERE" };
    param(&q,
          " r.dut_serial = $%d ORDER BY r.line_attempt, r.started_utc COLLATE \"C\", r.id"
          " COLLATE \"C\"",
          serial);
    PGresult *res;
    int r = run(ln, &q, &res, "unit", err, errlen);
    if (r < 0)
        return r;
    cJSON *u = cJSON_CreateObject(), *runs = cJSON_CreateArray();
    const char *final = NULL;
    int n = PQntuples(res);
    if (!u || !runs)
        r = oom(err, errlen);
    for (int i = 0; r == 0 && i < n; i++) {
        cJSON *o = run_json(res, i);
        cJSON *fl = o ? cJSON_AddArrayToObject(o, "failing") : NULL;
        if (!fl || !cJSON_AddItemToArray(runs, o)) {
            cJSON_Delete(o);
            r = oom(err, errlen);
            break;
        }
        if (atoi(PQgetvalue(res, i, 9)))
            final = PQgetvalue(res, i, 10);
        r = failing(ln, PQgetvalue(res, i, 0), fl, err, errlen);
    }
    if (r == 0) {
        cJSON_AddStringToObject(u, "dut_serial", serial);
        cJSON_AddNumberToObject(u, "attempts", n);
        if (final)
            cJSON_AddStringToObject(u, "final_outcome", final);
        else
            cJSON_AddNullToObject(u, "final_outcome");
        cJSON_AddItemToObject(u, "runs", runs);
        runs = NULL;
        *out = u;
        u = NULL;
    }
    PQclear(res);
    cJSON_Delete(u);
    cJSON_Delete(runs);
    return r;
}

static int yields(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
                  size_t errlen)
{
    /* As store_yields_locked: the runs of the cohort's units in (serial,
     * attempt) order; the cohort is chosen by the same C code. */
    struct store_filter g = {
        .since = f->since, .until = f->until, .fixture = f->fixture, .model = f->model
    };
    struct pgq q = { .sql = "SELECT a.dut_serial, a.line_attempt, a.complete, a.outcome,"
                            " a.started_utc, a.fixture FROM line_runs a WHERE a.dut_serial != ''" };
    if (g.since || g.until || g.fixture || g.model) {
        cat(&q, " AND a.dut_serial IN (SELECT r.dut_serial FROM line_runs r WHERE"
                " r.line_attempt = 1 AND r.dut_serial != ''");
        filter(&q, &g, 'y');
        cat(&q, ")");
    }
    cat(&q, " ORDER BY a.dut_serial COLLATE \"C\", a.line_attempt");
    PGresult *res;
    int r = run(ln, &q, &res, "yields", err, errlen);
    if (r < 0)
        return r;
    struct store_yields_acc acc = { .g = &g };
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_row w = pg_row(res, i);
        if (store_yields_add(&acc, &w) < 0)
            r = oom(err, errlen);
    }
    PQclear(res);
    cJSON *y = store_yields_finish(&acc);
    if (r < 0 || !y) {
        cJSON_Delete(y);
        return r < 0 ? r : oom(err, errlen);
    }
    *out = y;
    return 0;
}

int line_yields(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
                size_t errlen)
{
    static const struct store_filter none;
    *out = NULL;
    return yields(ln, f ? f : &none, out, err, errlen);
}

static int measurements(struct line *ln, const struct store_filter *f, cJSON *arr, char *err,
                        size_t errlen)
{
    struct pgq q = { .sql = "SELECT m.name, m.units, m.comparison, m.low, m.high, m.value,"
                            " m.outcome, r.line_attempt FROM measurements m JOIN line_runs r"
                            " ON r.id = m.run_id WHERE r.complete = 1 AND m.superseded = 0 AND"
                            " m.outcome != 'SKIPPED'" };
    filter(&q, f, 's');
    /* SQLite's order: bytewise text, NULLs first; then run order. */
    cat(&q, " ORDER BY m.name COLLATE \"C\", m.units COLLATE \"C\" NULLS FIRST,"
            " m.comparison COLLATE \"C\" NULLS FIRST, m.low NULLS FIRST, m.high NULLS FIRST,"
            " r.started_utc COLLATE \"C\", r.id COLLATE \"C\", m.step_no, m.idx");
    PGresult *res;
    int r = run(ln, &q, &res, "stats", err, errlen);
    if (r < 0)
        return r;
    struct store_stats_acc g = { .arr = arr };
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_row w = pg_row(res, i);
        r = store_stats_add(&g, &w);
    }
    if (r == 0)
        r = store_stats_finish(&g);
    store_stats_clear(&g);
    PQclear(res);
    return r == -ENOMEM ? oom(err, errlen) : r;
}

static int pareto(struct line *ln, const struct store_filter *f, cJSON *arr, char *err,
                  size_t errlen)
{
    struct pgq q = { .sql = "SELECT name, n FROM (SELECT m.name AS name, count(*) AS n"
                            " FROM runs r JOIN measurements m ON m.run_id = r.id"
                            " WHERE r.complete = 1 AND r.outcome != 'PASS' AND"
                            " m.superseded = 0 AND m.outcome NOT IN ('PASS', 'SKIPPED')" };
    filter(&q, f, 's');
    cat(&q, " GROUP BY m.name");
    if (!f->measurement) {
        cat(&q, " UNION ALL SELECT '(run) ' || r.outcome, count(*) FROM runs r"
                " WHERE r.complete = 1 AND r.outcome != 'PASS' AND NOT EXISTS (SELECT 1 FROM"
                " measurements m WHERE m.run_id = r.id AND m.superseded = 0 AND"
                " m.outcome NOT IN ('PASS', 'SKIPPED'))");
        filter(&q, f, 'y');
        cat(&q, " GROUP BY r.outcome");
    }
    cat(&q, ") u ORDER BY n DESC, name COLLATE \"C\"");
    PGresult *res;
    int r = run(ln, &q, &res, "pareto", err, errlen);
    if (r < 0)
        return r;
    long long total = 0;
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_row w = pg_row(res, i);
        if (store_pareto_add(arr, &w, &total) < 0)
            r = oom(err, errlen);
    }
    PQclear(res);
    store_pareto_finish(arr, total);
    return r;
}

int line_stats(struct line *ln, const struct store_filter *f, cJSON **out, char *err, size_t errlen)
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
        return oom(err, errlen);
    }
    int r = line_ready(ln, err, errlen);
    /* One snapshot for yields, statistics and Pareto, as the station. */
    if (r == 0)
        PQclear(PQexec(ln->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    /* Statistics read every run that matches: hash joins are right. Right
     * after a catch-up the tables have no planner statistics until
     * autovacuum analyses them, and the planner then nests loops over the
     * line_runs view: 5 s instead of 50 ms for 10 000 runs. */
    if (r == 0)
        PQclear(PQexec(ln->conn, "SET LOCAL enable_nestloop = off"));
    if (r == 0)
        r = yields(ln, &g, &y, err, errlen);
    if (r == 0)
        r = measurements(ln, &g, ms, err, errlen);
    if (r == 0)
        r = pareto(ln, &g, pa, err, errlen);
    if (PQstatus(ln->conn) == CONNECTION_OK)
        PQclear(PQexec(ln->conn, r == 0 ? "COMMIT" : "ROLLBACK"));
    if (y)
        cJSON_AddItemToObject(o, "yields", y);
    if (r < 0) {
        cJSON_Delete(o);
        return r;
    }
    *out = o;
    return 0;
}

/* ---- lot report data (store_lot.h) -------------------------------------- */

static int lot_rows(struct line *ln, const struct pgq *q, struct store_lot *lot,
                    int (*add)(struct store_lot *, const struct store_row *), char *err,
                    size_t errlen)
{
    PGresult *res;
    int r = run(ln, q, &res, "lot", err, errlen);
    if (r < 0)
        return r;
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        struct store_row w = pg_row(res, i);
        if (add(lot, &w) < 0)
            r = oom(err, errlen);
    }
    PQclear(res);
    return r;
}

static int lot_count(struct store_lot *lot, const struct store_row *w)
{
    lot->started = (size_t)w->integer(w, 0);
    return 0;
}

static int lot_read(struct line *ln, const struct store_filter *f, struct store_lot *lot, char *err,
                    size_t errlen)
{
    struct pgq q = { .sql = "SELECT count(*) FROM runs r WHERE true" };
    filter(&q, f, 'y');
    int r = lot_rows(ln, &q, lot, lot_count, err, errlen);
    if (r < 0)
        return r;
    /* As store_lot's (store_lot.c), with the line's attempt numbers. */
    q = (struct pgq){ .sql = "SELECT r.id, r.dut_serial, r.line_attempt, r.fixture, r.station,"
                             " r.started_utc, r.outcome, r.record_path, CASE WHEN r.outcome !="
                             " 'PASS' THEN (SELECT string_agg(m.name, ', ' ORDER BY m.step_no,"
                             " m.idx) FROM measurements m WHERE m.run_id = r.id AND"
                             " m.superseded = 0 AND m.outcome NOT IN ('PASS', 'SKIPPED')) END"
                             " FROM line_runs r WHERE r.complete = 1" };
    filter(&q, f, 'y');
    cat(&q, " ORDER BY r.started_utc COLLATE \"C\", r.id COLLATE \"C\"");
    if ((r = lot_rows(ln, &q, lot, store_lot_add_run, err, errlen)) < 0)
        return r;
    if (store_lot_index(lot) < 0)
        return oom(err, errlen);
    q = (struct pgq){ .sql = "SELECT m.name, m.units, m.comparison, m.low, m.high, m.value,"
                             " m.outcome, r.id FROM measurements m JOIN runs r ON r.id = m.run_id"
                             " WHERE r.complete = 1 AND m.superseded = 0 AND"
                             " m.outcome != 'SKIPPED'" };
    filter(&q, f, 's');
    cat(&q, " ORDER BY m.name COLLATE \"C\", m.units COLLATE \"C\" NULLS FIRST,"
            " m.comparison COLLATE \"C\" NULLS FIRST, m.low NULLS FIRST, m.high NULLS FIRST,"
            " r.started_utc COLLATE \"C\", r.id COLLATE \"C\", m.step_no, m.idx");
    r = lot_rows(ln, &q, lot, store_lot_add_value, err, errlen);
    if (r == 0)
        store_lot_finish(lot);
    return r;
}

int line_lot(struct line *ln, const struct store_filter *f, struct store_lot **out, char *err,
             size_t errlen)
{
    static const struct store_filter none;
    struct store_filter g = f ? *f : none;
    g.dut = g.outcome = NULL;
    *out = NULL;
    struct store_lot *lot = store_lot_new();
    cJSON *y = NULL, *pa = NULL;
    if (!lot || !(lot->stats = cJSON_CreateObject()) ||
        !(pa = cJSON_AddArrayToObject(lot->stats, "pareto"))) {
        store_lot_free(lot);
        return oom(err, errlen);
    }
    int r = line_ready(ln, err, errlen);
    /* One snapshot, and hash joins (see line_stats). */
    if (r == 0) {
        PQclear(PQexec(ln->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
        PQclear(PQexec(ln->conn, "SET LOCAL enable_nestloop = off"));
        r = yields(ln, &g, &y, err, errlen);
        if (r == 0)
            r = pareto(ln, &g, pa, err, errlen);
        if (r == 0)
            r = lot_read(ln, &g, lot, err, errlen);
        if (PQstatus(ln->conn) == CONNECTION_OK)
            PQclear(PQexec(ln->conn, r == 0 ? "COMMIT" : "ROLLBACK"));
    }
    if (y)
        cJSON_AddItemToObject(lot->stats, "yields", y);
    if (r < 0) {
        store_lot_free(lot);
        return r;
    }
    *out = lot;
    return 0;
}
