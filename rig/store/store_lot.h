/* What a lot (period) report needs from a results database: the yields
 * and the failure Pareto of store_stats, plus the
 * data behind its plots and tables: the complete runs of the selection in
 * start order, every numeric measurement value in run order per
 * population, and which measurements failed in each run.
 *
 * Contract:
 *  - store_lot() reads the station database, line_lot() (line.h) the
 *    line's; both fill the same struct from rows through the same C code
 *    (store_lot_add_run/value), so the report is the same from either.
 *  - Selection: the filter's since/until/fixture/model (store.h);
 *    measurement limits the populations to one name (and the Pareto, as
 *    store_stats does). dut and outcome are ignored.
 *  - A population is store_stats's: (name, units, comparison, low, high),
 *    over complete runs, superseded retry attempts and SKIPPED
 *    measurements left out, values in run order (start, run id, step,
 *    position): the very values and order store_capability() is given
 *    by store_stats, so figures computed on them equal `rigctl stats`.
 *  - Everything is read in one snapshot (one read transaction).
 *  - 0 or -errno with a message in err, as store.h.
 */
#ifndef RIG_STORE_STORE_LOT_H
#define RIG_STORE_STORE_LOT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "store/store.h"

struct store_lot_run {
    char *id, *dut_serial, *fixture, *station, *started, *outcome, *record_path;
    /* Names of the failing measurements (not PASS nor SKIPPED, not
     * superseded), ", " between them, in execution order; NULL if none. */
    char *failing;
    unsigned attempt;
};

struct store_lot_series {
    char *name, *units, *comparison; /* NULL: none */
    double low, high;                /* NAN: none */
    size_t count, pass;              /* judged measurements, of which PASS */
    size_t n, cap;                   /* numeric values */
    double *x;
    size_t *run; /* x[i] is from runs[run[i]] */
};

struct store_lot {
    /* {yields, pareto} as store_stats / line_stats give them for the same
     * filter (the per-measurement figures come from the series). */
    cJSON *stats;
    size_t started;             /* runs started in the selection, incomplete included */
    struct store_lot_run *runs; /* complete runs, start order */
    size_t nruns, runs_cap;
    struct store_lot_series *series;
    size_t nseries, series_cap;
    /* Run lookup by id (store_lot_index): indexes into runs, by id. */
    size_t *by_id;
    size_t last; /* building: where the next population is looked for */
};

int store_lot(struct store *st, const struct store_filter *f, struct store_lot **out, char *err,
              size_t errlen);
void store_lot_free(struct store_lot *lot);

/* ---- for the backends (store_lot.c, line_lot.c) ------------------------ */

struct store_row;
/* A new empty lot; NULL: out of memory. */
struct store_lot *store_lot_new(void);
/* A run row: id, dut_serial, attempt, fixture, station, started_utc,
 * outcome, record_path, failing (text or NULL). Rows in start order. */
int store_lot_add_run(struct store_lot *lot, const struct store_row *w);
/* Sort the run index; after the runs, before the values. */
int store_lot_index(struct store_lot *lot);
/* A measurement row: name, units, comparison, low, high, value, outcome,
 * run id, in run order (start, run id, step, position); populations may
 * come in any order. A run not among the lot's runs is passed over. */
int store_lot_add_value(struct store_lot *lot, const struct store_row *w);
/* After the values: the populations in store_stats's order. */
void store_lot_finish(struct store_lot *lot);

#endif
