/* The line-wide store (PostgreSQL, libpq): every station pushes its runs
 * there through the outbox of its station database (store-and-forward),
 * and the history/unit/stats/yields queries run over all stations at once.
 *
 * Contract:
 *  - line_connect() opens a libpq connection from a conninfo string
 *    ("host=/run/postgresql dbname=rigline") and creates or migrates the
 *    line schema (LINE_SCHEMA_VERSION); a newer schema is refused (-EPROTO).
 *  - The line schema mirrors the station one (runs, steps, setpoints,
 *    measurements, instruments, attachments; same columns, same meanings,
 *    times as the same fixed-width UTC text) keyed by the run id (UUID)
 *    instead of the station's rid, plus runs.station_id: the station that
 *    pushed the run.
 *  - A push replaces the run's rows as a whole in ONE PostgreSQL
 *    transaction (delete by run id, then insert), so pushing the same run
 *    again leaves exactly one copy of its newest version: pushes are
 *    idempotent, which is what makes a re-send after a crash harmless.
 *  - store_sync() drains the outbox in queue order, a batch per
 *    PostgreSQL transaction, and deletes an entry only after that
 *    transaction committed and only if the run was not queued again
 *    meanwhile. A failed batch stays queued with its error, its attempts
 *    and a next try after an exponential backoff (capped).
 *  - Every function returns 0 or -errno with a message in err (-EINVAL bad
 *    argument; -ECONNREFUSED cannot connect / connection lost; -EPROTO
 *    foreign or newer schema; -EIO anything else PostgreSQL reports; the
 *    station database's own errors as store.h says).
 *  - A struct line is one connection: one thread at a time.
 */
#ifndef RIG_STORE_LINE_H
#define RIG_STORE_LINE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "store/store.h"

#define LINE_SCHEMA_VERSION  1
/* Runs per PostgreSQL transaction in store_sync. */
#define LINE_BATCH           500
/* Backoff of a failing outbox entry: base * 2^(attempts-1), capped. */
#define LINE_BACKOFF_BASE_MS 1000
#define LINE_BACKOFF_CAP_MS  300000

struct line;

/* Connect and create/migrate the line schema. station_id names this
 * station in runs.station_id; NULL: each run's own station field. */
int line_connect(struct line **out, const char *conninfo, const char *station_id, char *err,
                 size_t errlen);
void line_close(struct line *ln);
/* Backoff of failing entries (ms); tests set 0 to retry at once. */
void line_set_backoff(struct line *ln, long base_ms, long cap_ms);

/* Push one run (by run id) from the station database's rows, in one
 * PostgreSQL transaction; idempotent. Does not touch the outbox. -ENOENT:
 * no such run in the station database. */
int line_push_run(struct line *ln, struct store *st, const char *run_id, char *err, size_t errlen);

/* What one store_sync call did. sent: runs committed to PostgreSQL and
 * taken off the outbox; batches: PostgreSQL transactions committed;
 * failed: entries a failed batch left queued (with their error). */
struct store_sync_stats {
    unsigned long sent, batches, failed;
};

/* Push up to max queued runs (0: until the outbox has nothing due), in
 * batches of LINE_BATCH. Stops at the first failed batch and returns its
 * error; what was committed before stays committed and dequeued. A batch
 * PostgreSQL refuses for its data (-EIO, not the connection) is retried
 * one run per transaction, so only the refused runs stay queued (with
 * their error, backing off) and the others go. Entries waiting out their
 * backoff are not due. Reconnects a lost connection. */
int store_sync(struct store *st, struct line *ln, unsigned long max, struct store_sync_stats *out,
               char *err, size_t errlen);

/* Record msg as the last error (now) when the line could not even be
 * reached (line_connect failed), so the status shows it. */
int store_sync_note_error(struct store *st, const char *msg, char *err, size_t errlen);

/* The outbox as `rigctl sync` shows it ("" for a time or error there is
 * not). */
struct store_sync_status {
    long long backlog;        /* runs queued */
    long long due;            /* of those, not waiting out a backoff */
    char oldest[32];          /* enqueue time of the oldest pending entry */
    char next_try[32];        /* earliest retry of an entry in backoff */
    long long max_attempts;   /* most failed pushes of one pending entry */
    char last_error[512];     /* the last failed push */
    char last_error_at[32];   /* and when */
    char last_success_at[32]; /* the last committed batch */
    long long sent;           /* runs pushed since the outbox exists */
};
int store_sync_status(struct store *st, struct store_sync_status *out, char *err, size_t errlen);
/* The same as a cJSON object (keys as the struct's members; null for ""). */
cJSON *store_sync_status_json(const struct store_sync_status *s);

/* ---- line-wide queries ----------------------------------------------
 * The station queries of store.h over every station's runs, same filters,
 * same JSON; each run object also has "station_id". Attempts are
 * numbered line-wide per DUT serial in start order (ties by run id), as
 * a station numbers its own: a unit retested on another station is
 * attempt 2 there. Retest reasons are the station's. */
int line_history(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
                 size_t errlen);
int line_unit(struct line *ln, const char *serial, cJSON **out, char *err, size_t errlen);
int line_yields(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
                size_t errlen);
int line_stats(struct line *ln, const struct store_filter *f, cJSON **out, char *err,
               size_t errlen);

/* The lot report's data (store_lot.h) over the whole line: as store_lot,
 * with the line's attempt numbers (line_runs) and line_stats's yields and
 * Pareto, in one snapshot. */
struct store_lot;
int line_lot(struct line *ln, const struct store_filter *f, struct store_lot **out, char *err,
             size_t errlen);

#endif
