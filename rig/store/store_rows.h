/* Result rows of either database (the station's SQLite, the line's
 * PostgreSQL) and the code both backends share to turn them into the
 * answers of store.h: the run and failing-measurement objects, the
 * yields scan, the per-population statistics and the Pareto shares. One C
 * implementation of every figure, fed by rows from either SQL. Not for
 * callers of store.h. */
#ifndef RIG_STORE_STORE_ROWS_H
#define RIG_STORE_STORE_ROWS_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* A row: impl and row as the backend's adapter needs them. text is NULL
 * for a NULL value. */
struct store_row {
    const void *impl;
    int row;
    bool (*null)(const struct store_row *w, int col);
    const char *(*text)(const struct store_row *w, int col);
    double (*real)(const struct store_row *w, int col);
    long long (*integer)(const struct store_row *w, int col);
};
/* The current row of a SQLite statement. */
struct store_row store_row_sqlite(sqlite3_stmt *s);

/* The history object of a row of the run columns, in the order of
 * STORE_RUN_COLUMNS (store_int.h): id, dut_serial, attempt, ... */
cJSON *store_row_run_json(const struct store_row *w);
/* A failing measurement of a row (step_index, name, value, text, units,
 * comparison, low, high, limit_text, outcome, note), appended to arr. */
int store_row_failing(const struct store_row *w, cJSON *arr);

/* The yields scan over rows (dut_serial, attempt, complete, outcome,
 * started_utc, fixture) in (serial, attempt) order; g: the cohort filter
 * (since/until/fixture). */
struct store_yields_acc {
    const struct store_filter *g;
    long long units, first, final, runs;
    bool in_cohort, first_pass, last_pass;
    long long u_runs;
    char *prev;
};
int store_yields_add(struct store_yields_acc *a, const struct store_row *w);
/* The yields object (store_yields); frees the accumulator. NULL: OOM. */
cJSON *store_yields_finish(struct store_yields_acc *a);

/* The statistics scan over rows (name, units, comparison, low, high,
 * value, outcome, attempt) in population and run order, appending one
 * object per population to arr. */
struct store_stats_acc {
    cJSON *arr;
    char *name, *units, *cmp;
    bool has_low, has_high;
    double low, high;
    long long count, pass, first_count, first_pass;
    double *x;
    size_t n, cap;
};
int store_stats_add(struct store_stats_acc *a, const struct store_row *w);
/* Flush the last population and free the accumulator. */
int store_stats_finish(struct store_stats_acc *a);
void store_stats_clear(struct store_stats_acc *a);

/* Pareto rows (name, count) most frequent first, appended to arr; then
 * the shares. */
int store_pareto_add(cJSON *arr, const struct store_row *w, long long *total);
void store_pareto_finish(cJSON *arr, long long total);

#endif
