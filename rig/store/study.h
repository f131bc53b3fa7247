/* Gauge R&R studies in the station database (schema 5, docs/STORE.md):
 * a study, its randomised run order (one cell per run: trial, operator,
 * part) and which run measured each cell; and the values of one
 * measurement over a study's runs for the analysis (core/grr.h).
 *
 * Contract (as store.h: 0 or -errno with a message in err):
 *  - store_study_create() keeps the study and its cells in one
 *    transaction; -EEXIST if the id is taken (a study is never replaced).
 *  - store_study_get() gives {id, created_utc, sequence_file, parts,
 *    operators, trials, seed, part_serials[], operator_names[], cells:
 *    [{pos, trial, operator, part, run_id, outcome, errors}]} with
 *    cells in run order (pos), run_id/outcome null while not done;
 *    -ENOENT for an unknown study.
 *  - store_study_done(): the run that measured cell pos. An ERROR (or
 *    ABORTED/TIMEOUT) run only counts in errors: the cell stays to do.
 *    Any other outcome (PASS, FAIL, MARGINAL...) is a measurement: FAIL is
 *    a valid reading for a gauge study.
 *  - store_study_values(): for every done cell, the named measurement of
 *    its run (not superseded, numeric): [{trial, operator, part, value,
 *    run_id}] plus {units, comparison, low, high, step} of the first
 *    (step: the path of the step that measured it). occurrence 0: the
 *    name must occur once in a run, else -EINVAL (ambiguous: EOL measures
 *    depth at three settings, a sweep at each point); k >= 1: its k-th
 *    occurrence in the run's step order (every run of a sequence has the
 *    same steps, so the k-th is the same measurement in each). A done
 *    cell without it is left out (the caller sees the study unbalanced).
 *  - store_study_measurements(): the numeric measurement names the done
 *    runs of the study have: {name, runs (having it), occurrences (the
 *    most in one run)}.
 */
#ifndef RIG_STORE_STUDY_H
#define RIG_STORE_STUDY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_study_cell {
    unsigned pos, trial, op, part; /* pos 0-based; the others 1-based */
};

struct store_study {
    const char *id, *sequence_file;
    unsigned parts, operators, trials;
    uint64_t seed;
    const char *const *part_serials;   /* parts of them */
    const char *const *operator_names; /* operators of them */
    const struct store_study_cell *cells;
    size_t ncells;
};

int store_study_create(struct store *st, const struct store_study *s, char *err, size_t errlen);
int store_study_get(struct store *st, const char *id, cJSON **out, char *err, size_t errlen);
int store_study_done(struct store *st, const char *id, unsigned pos, const char *run_id,
                     const char *outcome, char *err, size_t errlen);
int store_study_values(struct store *st, const char *id, const char *measurement,
                       unsigned occurrence, cJSON **out, char *err, size_t errlen);
int store_study_measurements(struct store *st, const char *id, cJSON **out, char *err,
                             size_t errlen);

#endif
