/* The line-wide store's connection and schema, and a push: runs read back
 * from the station database's rows and replaced in PostgreSQL as a whole.
 *
 * Why from the station database's rows and not from a struct rec_run: the
 * outbox holds run ids only (the rows are the durable truth a crash
 * leaves), store_sync has no rec_run to hand, and copying rows column by
 * column keeps the line's columns exactly the station's, with no second
 * mapping from the record to SQL to keep in step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/line_int.h"
#include "store/store_int.h"

#define RUN_COLUMNS                                                                                \
    "id, dut_serial, reported_serial, attempt, retest_reason, fixture, station, operator,"         \
    " sequence_file, sequence_name, sequence_sha256, sequence_policy, spec_file, spec_name,"       \
    " spec_version, spec_sha256, sw_version, sw_vcs, sw_dirty, started_utc, ended_utc, complete,"  \
    " outcome, marginal, message, retries, tare_done, tare_zero_n, tare_offset_raw_un, n_steps,"   \
    " n_measurements, n_pass, n_fail, n_error, n_marginal, record_path"

const struct line_table line_tables[LINE_NTABLES] = {
    { "runs", RUN_COLUMNS },
    { "steps", "step_no, step_index, section, path, kind, name, loop, attempt, superseded,"
               " started_utc, duration_s, outcome, marginal, message, tare_done, tare_zero_n,"
               " tare_offset_raw_un, capture_samples, capture_rate_hz" },
    { "setpoints", "step_no, name, value" },
    { "measurements", "step_no, idx, step_index, superseded, name, quantity, units, value, text,"
                      " comparison, low, high, pattern, expected, limit_text, outcome, marginal,"
                      " note" },
    { "instruments", "idx, role, model, serial, firmware, cal_date, cal_due, certificate,"
                     " force_gain_ppm, force_offset_un, disp_gain_ppm, disp_offset_nm" },
    { "attachments", "idx, name, sha256, kind, step_no" },
};

/* The line schema, version 1: the station's tables keyed by run id (a
 * UUID, unique across stations; the station's rid is not), children
 * deleted with their run (a push deletes the run and inserts it again),
 * times as the station's fixed-width UTC text so filters and ordering
 * mean the same in both databases. line_runs numbers the attempts per
 * DUT serial over the whole line. */
static const char schema1[] =
    "CREATE TABLE runs ("
    "  id text PRIMARY KEY,"
    "  station_id text NOT NULL,"
    "  dut_serial text NOT NULL, reported_serial text,"
    "  attempt integer NOT NULL DEFAULT 0, retest_reason text,"
    "  fixture text, station text NOT NULL, operator text NOT NULL,"
    "  sequence_file text, sequence_name text, sequence_sha256 text, sequence_policy text,"
    "  spec_file text, spec_name text, spec_version text, spec_sha256 text,"
    "  sw_version text, sw_vcs text, sw_dirty integer NOT NULL DEFAULT 0,"
    "  started_utc text NOT NULL, ended_utc text,"
    "  complete integer NOT NULL CHECK (complete IN (0, 1)),"
    "  outcome text CHECK ((complete = 0) = (outcome IS NULL)),"
    "  marginal integer NOT NULL DEFAULT 0, message text, retries integer NOT NULL DEFAULT 0,"
    "  tare_done integer, tare_zero_n double precision, tare_offset_raw_un bigint,"
    "  n_steps integer NOT NULL DEFAULT 0, n_measurements integer NOT NULL DEFAULT 0,"
    "  n_pass integer NOT NULL DEFAULT 0, n_fail integer NOT NULL DEFAULT 0,"
    "  n_error integer NOT NULL DEFAULT 0, n_marginal integer NOT NULL DEFAULT 0,"
    "  record_path text,"
    "  received_utc timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE steps ("
    "  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  step_no integer NOT NULL, step_index integer NOT NULL,"
    "  section text, path text, kind text NOT NULL, name text, loop text,"
    "  attempt integer NOT NULL DEFAULT 0, superseded integer NOT NULL DEFAULT 0,"
    "  started_utc text, duration_s double precision,"
    "  outcome text NOT NULL, marginal integer NOT NULL DEFAULT 0, message text,"
    "  tare_done integer, tare_zero_n double precision, tare_offset_raw_un bigint,"
    "  capture_samples bigint, capture_rate_hz double precision,"
    "  PRIMARY KEY (run_id, step_no));"
    "CREATE TABLE setpoints ("
    "  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  step_no integer NOT NULL, name text NOT NULL, value double precision NOT NULL,"
    "  PRIMARY KEY (run_id, step_no, name));"
    "CREATE TABLE measurements ("
    "  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  step_no integer NOT NULL, idx integer NOT NULL, step_index integer NOT NULL,"
    "  superseded integer NOT NULL DEFAULT 0,"
    "  name text NOT NULL, quantity text, units text, value double precision, text text,"
    "  comparison text, low double precision, high double precision, pattern text,"
    "  expected text, limit_text text, outcome text NOT NULL,"
    "  marginal integer NOT NULL DEFAULT 0, note text,"
    "  PRIMARY KEY (run_id, step_no, idx));"
    "CREATE TABLE instruments ("
    "  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  idx integer NOT NULL, role text, model text, serial text, firmware text,"
    "  cal_date text, cal_due text, certificate text,"
    "  force_gain_ppm integer, force_offset_un integer,"
    "  disp_gain_ppm integer, disp_offset_nm integer,"
    "  PRIMARY KEY (run_id, idx));"
    "CREATE TABLE attachments ("
    "  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  idx integer NOT NULL, name text NOT NULL, sha256 text NOT NULL, kind text NOT NULL,"
    "  step_no integer,"
    "  PRIMARY KEY (run_id, idx));"
    "CREATE INDEX runs_dut ON runs(dut_serial, started_utc);"
    "CREATE INDEX runs_started ON runs(started_utc);"
    "CREATE INDEX runs_fixture ON runs(fixture, started_utc);"
    "CREATE INDEX runs_station ON runs(station_id, started_utc);"
    "CREATE INDEX measurements_name ON measurements(name);"
    "CREATE VIEW line_runs AS SELECT r.*, CASE WHEN r.dut_serial = '' THEN 1 ELSE"
    "  row_number() OVER (PARTITION BY r.dut_serial ORDER BY r.started_utc, r.id) END"
    "  AS line_attempt FROM runs r;";

int line_fail(struct line *ln, const PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *msg = res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                      : ln && ln->conn                    ? PQerrorMessage(ln->conn)
                                                          : "no connection";
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    snprintf(err, errlen, "line store: %s: %.*s", what, (int)n, msg);
    /* 08xxx connection exception; 57P01..57P03 admin/crash shutdown,
     * cannot connect now. */
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    bool gone = !ln || !ln->conn || PQstatus(ln->conn) != CONNECTION_OK ||
                (state && (!strncmp(state, "08", 2) || !strncmp(state, "57P0", 4)));
    /* An error libpq made itself (no SQLSTATE: "server closed the
     * connection unexpectedly") is the connection too, whatever PQstatus
     * says until the next call. */
    if (res && !state && PQresultStatus(res) == PGRES_FATAL_ERROR)
        gone = true;
    if (gone && ln)
        ln->broken = true;
    return gone ? -ECONNREFUSED : -EIO;
}

/* Run sql (no parameters), expecting want; 0 or -errno. */
static int exec_ok(struct line *ln, const char *sql, ExecStatusType want, const char *what,
                   char *err, size_t errlen)
{
    PGresult *res = PQexec(ln->conn, sql);
    int r = PQresultStatus(res) == want ? 0 : line_fail(ln, res, what, err, errlen);
    PQclear(res);
    return r;
}

static int migrate(struct line *ln, char *err, size_t errlen)
{
    /* One transaction, serialised by an advisory lock: the stations of a
     * line start together and must not all create the tables. */
    int r = exec_ok(ln,
                    "BEGIN; SELECT pg_advisory_xact_lock(7210011);"
                    " CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                    " applied_utc timestamptz NOT NULL DEFAULT now(), description text NOT NULL)",
                    PGRES_COMMAND_OK, "create schema_version", err, errlen);
    if (r < 0)
        goto fail;
    PGresult *res = PQexec(ln->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = line_fail(ln, res, "schema version", err, errlen);
        PQclear(res);
        goto fail;
    }
    int v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (v > LINE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "line store: schema version %d is newer than this rig's (%d): upgrade rig", v,
                 LINE_SCHEMA_VERSION);
        r = -EPROTO;
        goto fail;
    }
    if (v < 1 &&
        ((r = exec_ok(ln, schema1, PGRES_COMMAND_OK, "migration 1", err, errlen)) < 0 ||
         (r = exec_ok(ln,
                      "INSERT INTO schema_version(version, description) VALUES (1, 'line schema')",
                      PGRES_COMMAND_OK, "schema_version", err, errlen)) < 0))
        goto fail;
    return exec_ok(ln, "COMMIT", PGRES_COMMAND_OK, "commit migration", err, errlen);
fail:
    PQclear(PQexec(ln->conn, "ROLLBACK"));
    return r;
}

int line_connect(struct line **out, const char *conninfo, const char *station_id, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!conninfo) {
        snprintf(err, errlen, "line store: no conninfo");
        return -EINVAL;
    }
    struct line *ln = calloc(1, sizeof *ln);
    if (!ln || (station_id && !(ln->station_id = strdup(station_id)))) {
        free(ln);
        snprintf(err, errlen, "line store: out of memory");
        return -ENOMEM;
    }
    ln->backoff_base_ms = LINE_BACKOFF_BASE_MS;
    ln->backoff_cap_ms = LINE_BACKOFF_CAP_MS;
    ln->conn = PQconnectdb(conninfo);
    int r = 0;
    if (!ln->conn || PQstatus(ln->conn) != CONNECTION_OK) {
        r = line_fail(ln, NULL, "connect", err, errlen);
    } else if (PQsetClientEncoding(ln->conn, "UTF8") != 0) {
        r = line_fail(ln, NULL, "client encoding", err, errlen);
    } else {
        /* Notices (NOTICE: relation exists...) are not the caller's. */
        PQclear(PQexec(ln->conn, "SET client_min_messages = warning"));
        r = migrate(ln, err, errlen);
    }
    if (r < 0) {
        line_close(ln);
        return r;
    }
    *out = ln;
    return 0;
}

void line_close(struct line *ln)
{
    if (!ln)
        return;
    PQfinish(ln->conn);
    free(ln->station_id);
    free(ln);
}

void line_set_backoff(struct line *ln, long base_ms, long cap_ms)
{
    ln->backoff_base_ms = base_ms;
    ln->backoff_cap_ms = cap_ms;
}

/* ---- buffers and batches ---------------------------------------------- */

int line_buf_put(struct line_buf *b, const char *s, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

void line_buf_free(struct line_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void line_batch_free(struct line_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->id[i]);
    free(b->rid);
    free(b->seq);
    free(b->attempts);
    free(b->id);
    for (int t = 0; t < LINE_NTABLES; t++)
        line_buf_free(&b->copy[t]);
    memset(b, 0, sizeof *b);
}

/* One field in COPY text format: \N for NULL, text with its backslash,
 * tab and line ends escaped, reals with all their digits (SQLite's own
 * text of a REAL keeps 15). */
static int copy_field(struct line_buf *b, sqlite3_stmt *s, int col)
{
    char num[40];
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
        return line_buf_put(b, "\\N", 2);
    case SQLITE_INTEGER:
        return line_buf_put(
            b, num,
            (size_t)snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(s, col)));
    case SQLITE_FLOAT:
        return line_buf_put(
            b, num, (size_t)snprintf(num, sizeof num, "%.17g", sqlite3_column_double(s, col)));
    default: {
        const unsigned char *t = sqlite3_column_text(s, col);
        int r = 0;
        for (const unsigned char *p = t; r == 0 && p && *p; p++) {
            const char *e = *p == '\\'   ? "\\\\"
                            : *p == '\t' ? "\\t"
                            : *p == '\n' ? "\\n"
                            : *p == '\r' ? "\\r"
                                         : NULL;
            r = e ? line_buf_put(b, e, 2) : line_buf_put(b, (const char *)p, 1);
        }
        return r;
    }
    }
}

int line_batch_read(struct store *st, struct line *ln, struct line_batch *b, char *err,
                    size_t errlen)
{
    sqlite3_stmt *s[LINE_NTABLES] = { 0 };
    int r = 0;
    for (int t = 0; r == 0 && t < LINE_NTABLES; t++) {
        /* runs: (station_id, columns); children: (run_id, columns). */
        char sql[1024];
        snprintf(sql, sizeof sql, "SELECT %s, %s FROM %s WHERE rid = ?1",
                 t == LINE_RUNS ? "coalesce(?2, station)" : "?2", line_tables[t].columns,
                 line_tables[t].name);
        r = store_prepare(st, sql, &s[t], err, errlen);
    }
    /* One read transaction: the batch is one snapshot of the runs. */
    sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; r == 0 && i < b->n; i++) {
        for (int t = 0; r == 0 && t < LINE_NTABLES; t++) {
            sqlite3_bind_int64(s[t], 1, b->rid[i]);
            if (t == LINE_RUNS)
                store_bind_text(s[t], 2, ln->station_id);
            else
                store_bind_text(s[t], 2, b->id[i]);
            int rc;
            while (r == 0 && (rc = sqlite3_step(s[t])) == SQLITE_ROW) {
                int nc = sqlite3_column_count(s[t]);
                for (int c = 0; r == 0 && c < nc; c++) {
                    r = copy_field(&b->copy[t], s[t], c);
                    if (r == 0)
                        r = line_buf_put(&b->copy[t], c + 1 < nc ? "\t" : "\n", 1);
                }
                if (r < 0)
                    snprintf(err, errlen, "line store: out of memory");
            }
            if (r == 0 && rc != SQLITE_DONE)
                r = store_fail(st, rc, "read a run for the line store", err, errlen);
            sqlite3_reset(s[t]);
        }
    }
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    for (int t = 0; t < LINE_NTABLES; t++)
        sqlite3_finalize(s[t]);
    return r;
}

/* The batch's run ids as a PostgreSQL text[] literal, each element quoted
 * (a parameter's value, never SQL text). */
static char *id_array(const struct line_batch *b)
{
    struct line_buf a = { 0 };
    int r = line_buf_put(&a, "{", 1);
    for (size_t i = 0; r == 0 && i < b->n; i++) {
        r = line_buf_put(&a, i ? ",\"" : "\"", i ? 2 : 1);
        for (const char *p = b->id[i]; r == 0 && *p; p++) {
            if (*p == '"' || *p == '\\')
                r = line_buf_put(&a, "\\", 1);
            if (r == 0)
                r = line_buf_put(&a, p, 1);
        }
        if (r == 0)
            r = line_buf_put(&a, "\"", 1);
    }
    if (r == 0)
        r = line_buf_put(&a, "}", 2); /* with the NUL */
    if (r < 0) {
        line_buf_free(&a);
        return NULL;
    }
    return a.p;
}

static int copy_in(struct line *ln, int t, const struct line_buf *data, char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "COPY %s(%s, %s) FROM STDIN", line_tables[t].name,
             t == LINE_RUNS ? "station_id" : "run_id", line_tables[t].columns);
    PGresult *res = PQexec(ln->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        int r = line_fail(ln, res, "copy", err, errlen);
        PQclear(res);
        return r;
    }
    PQclear(res);
    int r = 0;
    if ((data->n && PQputCopyData(ln->conn, data->p, (int)data->n) != 1) ||
        PQputCopyEnd(ln->conn, NULL) != 1)
        r = line_fail(ln, NULL, "copy data", err, errlen);
    while ((res = PQgetResult(ln->conn))) {
        if (r == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            r = line_fail(ln, res, line_tables[t].name, err, errlen);
        PQclear(res);
    }
    return r;
}

int line_ready(struct line *ln, char *err, size_t errlen)
{
    if (!ln->broken && PQstatus(ln->conn) == CONNECTION_OK)
        return 0;
    /* The server restarted or the network came back: a new session. */
    PQreset(ln->conn);
    if (PQstatus(ln->conn) != CONNECTION_OK)
        return line_fail(ln, NULL, "reconnect", err, errlen);
    ln->broken = false;
    PQsetClientEncoding(ln->conn, "UTF8");
    PQclear(PQexec(ln->conn, "SET client_min_messages = warning"));
    return 0;
}

int line_batch_push(struct line *ln, const struct line_batch *b, char *err, size_t errlen)
{
    int r = line_ready(ln, err, errlen);
    if (r < 0)
        return r;
    char *ids = id_array(b);
    if (!ids) {
        snprintf(err, errlen, "line store: out of memory");
        return -ENOMEM;
    }
    r = exec_ok(ln, "BEGIN", PGRES_COMMAND_OK, "begin", err, errlen);
    if (r == 0) {
        /* Delete, then insert: the newest version replaces whatever the
         * line had for these runs, children included (cascade). */
        const char *v[1] = { ids };
        PGresult *res = PQexecParams(ln->conn, "DELETE FROM runs WHERE id = ANY($1::text[])", 1,
                                     NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            r = line_fail(ln, res, "delete previous versions", err, errlen);
        PQclear(res);
    }
    for (int t = 0; r == 0 && t < LINE_NTABLES; t++)
        r = copy_in(ln, t, &b->copy[t], err, errlen);
    if (r == 0)
        r = exec_ok(ln, "COMMIT", PGRES_COMMAND_OK, "commit", err, errlen);
    else if (PQstatus(ln->conn) == CONNECTION_OK)
        PQclear(PQexec(ln->conn, "ROLLBACK"));
    free(ids);
    return r;
}

int line_push_run(struct line *ln, struct store *st, const char *run_id, char *err, size_t errlen)
{
    if (!ln || !st || !run_id) {
        snprintf(err, errlen, "line store: bad argument");
        return -EINVAL;
    }
    struct line_batch b = { 0 };
    long long rid = 0;
    char *id = strdup(run_id);
    b.rid = &rid;
    b.id = &id;
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st, "SELECT rid FROM runs WHERE id = ?1", &s, err, errlen);
    if (r == 0) {
        sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            rid = sqlite3_column_int64(s, 0);
            b.n = 1;
        }
        sqlite3_finalize(s);
        if (!b.n) {
            snprintf(err, errlen, "line store: no run %s in the station database", run_id);
            r = -ENOENT;
        } else if (!id) {
            snprintf(err, errlen, "line store: out of memory");
            r = -ENOMEM;
        }
    }
    if (r == 0)
        r = line_batch_read(st, ln, &b, err, errlen);
    pthread_mutex_unlock(&st->lock);
    if (r == 0)
        r = line_batch_push(ln, &b, err, errlen);
    free(id);
    for (int t = 0; t < LINE_NTABLES; t++)
        line_buf_free(&b.copy[t]);
    return r;
}
