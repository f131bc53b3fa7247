/* Inside the station database: the connection, its lock, transactions
 * with busy retries, SQLite errors as -errno, the migrations. Not for
 * callers of store.h. */
#ifndef RIG_STORE_STORE_INT_H
#define RIG_STORE_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <time.h>

#include "store/store.h"

struct store {
    sqlite3 *db;
    char *path;
    pthread_mutex_t lock; /* one transaction or query at a time */
    int busy_ms;
    int version; /* the schema version opened at (store_open_at) */
    /* Statements of the write path, prepared once (store_stmt): preparing
     * a dozen per put was half the cost of an EOL run's updates. */
    struct {
        const char *sql;
        sqlite3_stmt *s;
    } cache[24];
    size_t ncache;
};

/* One schema step: SQL run in the same transaction as its version row. */
struct store_migration {
    int version;
    const char *what;
    const char *sql;
};
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

/* Open path and migrate it up to target (<= STORE_SCHEMA_VERSION). The
 * tests use it to make a database of an older version. */
int store_open_at(struct store **out, const char *path, int target, char *err, size_t errlen);

/* SQLite result code -> -errno, with "<path>: <what>: <sqlite message>". */
int store_fail(struct store *st, int rc, const char *what, char *err, size_t errlen);

/* BEGIN IMMEDIATE with retries on a lock (the busy timeout waits inside
 * each try); COMMIT likewise; ROLLBACK ignoring errors. Called with the
 * mutex held. */
int store_begin(struct store *st, char *err, size_t errlen);
int store_commit(struct store *st, char *err, size_t errlen);
void store_rollback(struct store *st);

/* The cached statement of sql (a string with static storage, known by its
 * address), reset and unbound; prepared on first use. The caller resets it
 * after use (a SELECT left stepping keeps its read transaction) and never
 * finalizes it. Called with the mutex held. */
int store_stmt(struct store *st, const char *sql, sqlite3_stmt **out, char *err, size_t errlen);

/* Prepare sql; 0 or -errno. */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **out, char *err, size_t errlen);

/* Fixed-width UTC text of ts ("YYYY-MM-DDTHH:MM:SS.ffffffZ"). */
#define STORE_UTC_LEN 28
void store_utc(const struct timespec *ts, char out[STORE_UTC_LEN]);

/* Bind a string, or NULL when s is NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *txt);
/* Bind a number, or NULL when it is not finite. */
int store_bind_num(sqlite3_stmt *s, int i, double v);

/* Write r without taking the mutex or a transaction (the caller holds
 * both): the body of store_put_run, for bulk loads in one transaction. */
int store_put_run_locked(struct store *st, const struct rec_run *r, bool complete,
                         const char *record_path, char *err, size_t errlen);

/* The history object of the current row of a statement selecting
 * STORE_RUN_COLUMNS from runs r. */
#define STORE_RUN_COLUMNS                                                                          \
    "r.id, r.dut_serial, r.attempt, r.retest_reason, r.fixture, r.station, r.operator, "           \
    "r.started_utc, r.ended_utc, r.complete, r.outcome, r.marginal, r.message, r.retries, "        \
    "r.sequence_name, r.sequence_sha256, r.spec_name, r.spec_version, r.spec_sha256, "             \
    "r.record_path, r.rid"
#define STORE_RUN_NCOLUMNS 21
cJSON *store_run_json(sqlite3_stmt *s);

/* Append " AND ..." for each filter member that is set, as named
 * parameters (:dut, :since, ...) that store_bind_filter binds. which: 'h'
 * history (dut, outcome too), 's' statistics (measurement too), other:
 * since/until/fixture only. Runs are "r", measurements "m". */
void store_filter_sql(char *sql, size_t len, const struct store_filter *f, char which);
void store_bind_filter(sqlite3_stmt *s, const struct store_filter *f);
/* store_yields with the mutex held. */
int store_yields_locked(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                        size_t errlen);
/* store_stats's Pareto (appended to arr) with the mutex held. */
int store_pareto_locked(struct store *st, const struct store_filter *f, cJSON *arr, char *err,
                        size_t errlen);

/* How import turns a record document into a run: rec_from_json and
 * rec_run_free in store_import_dir (store_import_rec.c); the tests pass
 * their own to exercise the walk on its own. */
struct store_loader {
    int (*load)(const cJSON *doc, struct rec_run *out, char *err, size_t errlen);
    void (*free)(struct rec_run *r);
};
int store_import_dir_with(struct store *st, const char *dir, const struct store_loader *ld,
                          struct store_import_stats *out, store_import_error_fn *on_error,
                          void *ctx, char *err, size_t errlen);

#endif
