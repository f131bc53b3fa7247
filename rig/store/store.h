/* The station results database (SQLite): every run, complete or not, with
 * its steps, measurements, setpoints, instruments and attachment references;
 * attempts per DUT serial; history, unit and statistics queries as cJSON.
 *
 * Contract:
 *  - store_open() creates or migrates the database to STORE_SCHEMA_VERSION
 *    and refuses one written by a newer rig (its schema_version is higher)
 *    or a SQLite file that is not a station database.
 *  - A run is kept by store_put_run() in ONE transaction, keyed by run id:
 *    putting the same run again replaces its rows (idempotent), so a crash
 *    at any point leaves either the previous or the new version of the run.
 *    The record sink (store_sink_init) puts the run at open (complete=0,
 *    so a crash leaves it visible as incomplete) and at every update.
 *  - Every function returns 0 or -errno with a message in err
 *    (-EBUSY: still locked after the busy timeout and retries; -ENOSPC:
 *    disk full; -EINVAL: bad argument; -EPROTO: foreign or newer database;
 *    -EIO: anything else SQLite reports).
 *  - A struct store is one SQLite connection behind a mutex: sharing it
 *    between threads is safe but serialises them, so a reader that runs
 *    long queries (the API) should open its own (WAL lets readers and the
 *    writer run side by side).
 *
 * Times are stored as fixed-width UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ",
 * so text order is time order and filters compare text: since/until take
 * any prefix of that form ("2026-12-01", "2026-12-01T10:00").
 */
#ifndef RIG_STORE_STORE_H
#define RIG_STORE_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/rec.h"

/* Schema version this code writes (migrations 1..N, store_schema.c). */
#define STORE_SCHEMA_VERSION  5
/* Default wait for a lock held by another connection, per try. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* Tries of a locked write before giving up with -EBUSY. */
#define STORE_BUSY_TRIES      3

struct store;

/* Open (create if missing) the database at path and migrate it. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
/* A reader's connection (rigweb's reports): opened read-only, never created
 * nor migrated; -EPROTO unless the file is at STORE_SCHEMA_VERSION. Only
 * the query functions may be used on it. A WAL database needs its -wal and
 * -shm files present and readable (rigd keeps them while it runs). */
int store_open_readonly(struct store **out, const char *path, char *err, size_t errlen);
void store_close(struct store *st);
/* Wait per try for a lock (ms); STORE_BUSY_TIMEOUT_MS by default. */
void store_set_busy_timeout(struct store *st, int ms);

/* Keep r as it is now, replacing whatever the database had for r->id, in
 * one transaction; complete: r carries the verdict (outcome, ended).
 * record_path: the JSON record file, NULL if unknown. Also renumbers the
 * attempts of r->dut_serial (see "Retests"). A complete run is made
 * durable (synchronous=FULL) before this returns; an incomplete one
 * survives a crash of the process (WAL), not necessarily a power loss. */
int store_put_run(struct store *st, const struct rec_run *r, bool complete, const char *record_path,
                  char *err, size_t errlen);

/* Retention: the capture attachment `name` of run run_id had its file
 * deleted at pruned_at (its record's "pruned_utc"). Sets the row's
 * pruned_utc unless it has one (idempotent: pruning again, or catching up
 * on runs pruned before the database was named, changes nothing).
 * -ENOENT: no such run or attachment in the database. Not queued for the
 * line store (its schema has no pruned_utc). */
int store_mark_pruned(struct store *st, const char *run_id, const char *name,
                      const struct timespec *pruned_at, char *err, size_t errlen);

/* The database as a record sink (struct rec_sink_ops): open puts the run
 * as incomplete, update puts it again (one transaction, idempotent by run
 * id), close frees the sink, not the store. attach and attach_capture
 * keep nothing and leave *out untouched: this sink keeps no bytes, and the
 * attachment names and hashes arrive in the rec_run at the next update.
 * A failed update (locked beyond the retries, disk full) loses nothing
 * that a later update does not write again, since every update writes the
 * whole run. record_path as for store_put_run (copied). */
int store_sink_init(struct rec_sink *out, struct store *st, const char *record_path, char *err,
                    size_t errlen);

/* ---- retests ---------------------------------------------------------
 * Every run of a DUT serial is an attempt, numbered 1 (first pass), 2, ...
 * in start-time order (ties by run id), complete or not: a run the
 * station began counts even if it never got a verdict. An attempt > 1 has
 * a retest reason naming the previous attempt's result:
 *   "FAIL: <first failing measurement>", "ERROR: <run message>",
 *   "PASS" (retested after a pass), "incomplete" (no verdict).
 * A run without a serial ("") is attempt 1 and no unit: yields leave it
 * out. A serial corrected between two updates of a run renumbers both. */

/* The attempt number the next run of dut would get (1 if none yet), so a
 * front end can enforce a station maximum before it starts the run. */
int store_next_attempt(struct store *st, const char *dut, unsigned *attempt, char *err,
                       size_t errlen);

/* ---- queries (a new cJSON the caller frees) --------------------------- */

/* NULL/0 members do not filter. since inclusive, until exclusive (UTC
 * text, see above). outcome: "PASS", "FAIL", ... or "incomplete". */
struct store_filter {
    const char *dut, *since, *until, *outcome, *fixture;
    const char *measurement; /* stats: one measurement name */
    unsigned limit;          /* history: at most this many, 0 = 100 */
    /* The DUT model: runs with a measurement of quantity "pen_model" (the
     * model the pen reported at its identify step) whose text is this.
     * The runs table has no model column; a run whose sequence does not
     * evaluate the model never matches. Filters like since/fixture. */
    const char *model;
};

/* Runs matching the filter, newest first: an array of
 * {id, dut_serial, attempt, retest_reason, fixture, station, operator,
 *  started, ended, complete, outcome, marginal, message, retries,
 *  sequence{name,sha256}, spec{name,version,sha256}, record_path}.
 * outcome is null while incomplete. */
int store_history(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                  size_t errlen);

/* One run by its id, or by a prefix of it of at least 8 characters that
 * names one run only: the history object above. -ENOENT when there is
 * none, -EINVAL when the prefix is short or names several runs. */
int store_find_run(struct store *st, const char *id, cJSON **out, char *err, size_t errlen);

/* Every attempt at a serial, oldest first:
 * {dut_serial, attempts, final_outcome, runs: [history object +
 *  failing: [{step_index, name, value|text, units, comparison, low, high,
 *             limit, outcome, note}]]}.
 * failing: the measurements of the run not PASS nor SKIPPED, superseded
 * retry attempts excluded. final_outcome: the last complete attempt's. */
int store_unit(struct store *st, const char *serial, cJSON **out, char *err, size_t errlen);

/* Yields over units (DUT serials) whose FIRST attempt matches the filter
 * (since/until on its start, fixture on its fixture; dut, outcome and
 * measurement ignored; runs without a serial are no unit):
 *   units        the number of such units
 *   first_pass   units whose attempt 1 is complete and PASS
 *   final_pass   units whose last complete attempt (before until, any
 *                fixture) is PASS
 *   runs         attempts of those units (before until), incomplete included
 *   fpy = first_pass/units, final_yield = final_pass/units,
 *   retest_rate = (runs - units)/runs: the share of tests that were
 *   retests. Ratios are null when their denominator is 0.
 * MARGINAL passes are PASS. */
int store_yields(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                 size_t errlen);

/* Statistics over complete runs matching since/until/fixture (and
 * f->measurement if set): {yields (as store_yields), measurements: [...],
 * pareto: [...]}.
 *
 * measurements: one entry per (name, units, comparison, low, high): runs
 * judged against different resolved limits (a sweep, a new spec version)
 * are different populations and are not pooled. Superseded retry
 * attempts and SKIPPED measurements are excluded.
 *   count        judged measurements; pass, fail (not PASS; MARGINAL is PASS)
 *   yield        pass/count
 *   first_count, first_pass: those from attempt-1 runs; fpy = ratio
 *   n            numeric values (text values and unmeasured excluded)
 *   mean, sd     arithmetic mean; sd = overall sample standard deviation
 *                (n - 1 divisor)
 *   sigma_within MR-bar/1.128 (d2 for n=2): MR-bar is the mean absolute
 *                difference of consecutive values in run order (run start,
 *                run id, step, position), i.e. an individuals chart's
 *                short-term sigma
 *   cp  = (USL - LSL) / (6 sigma_within)
 *   cpk = min(USL - mean, mean - LSL) / (3 sigma_within)
 *   pp  = (USL - LSL) / (6 sd)
 *   ppk = min(USL - mean, mean - LSL) / (3 sd)
 * LSL/USL from the comparison: GELE/GTLT/GELT/GTLE: LSL=low, USL=high;
 * GE/GT: LSL=low only; LE/LT: USL=low only. One-sided: cp and pp null,
 * cpk/ppk use the side there is. EQ, NE, outside-range and string
 * comparisons, n < 2 or a zero sigma: null.
 *
 * pareto: failures of the non-PASS complete runs, most frequent first:
 * [{name, count, share, cumulative}] where name is a failing measurement
 * (not PASS nor SKIPPED, not superseded), or "(run) OUTCOME" for a run
 * that failed with no failing measurement. share over all entries. */
int store_stats(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                size_t errlen);

/* ---- import ---------------------------------------------------------- */

/* What store_import_dir did. files: regular *.json files seen; records:
 * those with "format": "rig-record/1"; imported: put into the database;
 * present: already there complete (skipped: import is idempotent by run
 * id); failed: unreadable, not JSON, or refused by rec_from_json. Other
 * JSON files (attachments) are counted in files only. */
struct store_import_stats {
    unsigned files, records, imported, present, failed;
};
/* Told about each failed file (optional). */
typedef void store_import_error_fn(void *ctx, const char *file, const char *msg);

/* Load every record file under dir (recursively, symlinks not followed,
 * in name order) into the database by run id: a run already there and
 * complete is left as it is; a missing or incomplete one is put from the
 * file (record_path = the file). Files that are not records (attachments,
 * temporaries) are passed over; a bad record is counted and reported and
 * the walk goes on. Runs are committed 100 at a time, so the station's
 * own writer waits at most one batch. Returns 0, or -errno if dir cannot
 * be read or the database fails (what was committed stays).
 * Needs rec_from_json() (rec_json.c) at link time. */
int store_import_dir(struct store *st, const char *dir, struct store_import_stats *out,
                     store_import_error_fn *on_error, void *ctx, char *err, size_t errlen);

/* The capability figures of values x[0..n-1] in run order against a
 * comparison and its limits (definitions above); exposed for tests. NaN
 * where the text above says null. */
struct store_capability {
    size_t n;
    double mean, sd, sigma_within, cp, cpk, pp, ppk;
};
void store_capability(const double *x, size_t n, enum lim_cmp cmp, double low, double high,
                      struct store_capability *out);

#endif
