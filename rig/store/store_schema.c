/* The station database's schema as ordered migrations: each runs once, in
 * one transaction with its schema_version row (store.c). Never edit a
 * migration that has shipped: add the next one. */
#include "store/store_int.h"

/* Why the columns are what they are:
 *  - runs.rid is the join key (an integer is compact in 2 M measurement
 *    rows); runs.id (the run UUID) is the identity, UNIQUE, so putting a
 *    run again replaces it instead of adding one.
 *  - outcome is NULL until complete: an incomplete run has no verdict.
 *  - attempt/retest_reason are kept on the run (the retest policy at the
 *    source), renumbered per DUT serial on every put (store_write.c).
 *  - Times are fixed-width UTC text (text order = time order).
 *  - Child rows are keyed by (rid, position) WITHOUT ROWID, so replacing
 *    a run deletes a key range; ON DELETE CASCADE keeps a future retention
 *    delete of a run to one statement.
 *  - measurements.superseded copies the step's flag so statistics need no
 *    join to steps. */
static const char migration1[] =
    "CREATE TABLE schema_version ("
    "  version INTEGER PRIMARY KEY,"
    "  applied_utc TEXT NOT NULL,"
    "  description TEXT NOT NULL);"
    "CREATE TABLE runs ("
    "  rid INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  dut_serial TEXT NOT NULL,"
    "  reported_serial TEXT,"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  retest_reason TEXT,"
    "  fixture TEXT,"
    "  station TEXT NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  sequence_file TEXT, sequence_name TEXT, sequence_sha256 TEXT, sequence_policy TEXT,"
    "  spec_file TEXT, spec_name TEXT, spec_version TEXT, spec_sha256 TEXT,"
    "  sw_version TEXT, sw_vcs TEXT, sw_dirty INTEGER NOT NULL DEFAULT 0,"
    "  started_utc TEXT NOT NULL,"
    "  ended_utc TEXT,"
    "  complete INTEGER NOT NULL CHECK (complete IN (0, 1)),"
    "  outcome TEXT CHECK ((complete = 0) = (outcome IS NULL)),"
    "  marginal INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT,"
    "  retries INTEGER NOT NULL DEFAULT 0,"
    "  tare_done INTEGER, tare_zero_n REAL, tare_offset_raw_un INTEGER,"
    "  n_steps INTEGER NOT NULL DEFAULT 0, n_measurements INTEGER NOT NULL DEFAULT 0,"
    "  n_pass INTEGER NOT NULL DEFAULT 0, n_fail INTEGER NOT NULL DEFAULT 0,"
    "  n_error INTEGER NOT NULL DEFAULT 0, n_marginal INTEGER NOT NULL DEFAULT 0,"
    "  record_path TEXT);"
    "CREATE TABLE steps ("
    "  rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,"
    "  step_no INTEGER NOT NULL,"    /* position in the record's steps array */
    "  step_index INTEGER NOT NULL," /* 1-based execution order, 0 SKIPPED */
    "  section TEXT, path TEXT, kind TEXT NOT NULL, name TEXT,"
    "  loop TEXT," /* JSON object of the sweep/repeat keys, NULL outside */
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  superseded INTEGER NOT NULL DEFAULT 0,"
    "  started_utc TEXT, duration_s REAL,"
    "  outcome TEXT NOT NULL, marginal INTEGER NOT NULL DEFAULT 0, message TEXT,"
    "  tare_done INTEGER, tare_zero_n REAL, tare_offset_raw_un INTEGER,"
    "  capture_samples INTEGER, capture_rate_hz REAL,"
    "  PRIMARY KEY (rid, step_no)) WITHOUT ROWID;"
    "CREATE TABLE setpoints ("
    "  rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,"
    "  step_no INTEGER NOT NULL,"
    "  name TEXT NOT NULL," /* "rate_hz", "depth_mm" */
    "  value REAL NOT NULL,"
    "  PRIMARY KEY (rid, step_no, name)) WITHOUT ROWID;"
    "CREATE TABLE measurements ("
    "  rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,"
    "  step_no INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  step_index INTEGER NOT NULL,"
    "  superseded INTEGER NOT NULL DEFAULT 0,"
    "  name TEXT NOT NULL, quantity TEXT, units TEXT,"
    "  value REAL," /* NULL: text quantity or not measured */
    "  text TEXT,"
    "  comparison TEXT, low REAL, high REAL, pattern TEXT, expected TEXT, limit_text TEXT,"
    "  outcome TEXT NOT NULL, marginal INTEGER NOT NULL DEFAULT 0, note TEXT,"
    "  PRIMARY KEY (rid, step_no, idx)) WITHOUT ROWID;"
    "CREATE TABLE instruments ("
    "  rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  role TEXT, model TEXT, serial TEXT, firmware TEXT,"
    "  cal_date TEXT, cal_due TEXT, certificate TEXT," /* YYYY-MM-DD, NULL: none */
    "  force_gain_ppm INTEGER, force_offset_un INTEGER,"
    "  disp_gain_ppm INTEGER, disp_offset_nm INTEGER," /* NULL: no coefficients */
    "  PRIMARY KEY (rid, idx)) WITHOUT ROWID;"
    "CREATE TABLE attachments ("
    "  rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT NOT NULL, sha256 TEXT NOT NULL,"
    "  kind TEXT NOT NULL," /* sequence | spec | capture | strokes */
    "  step_no INTEGER,"    /* the capture step; NULL for the run's */
    "  PRIMARY KEY (rid, idx)) WITHOUT ROWID;";

/* The indexes of the queries (history by DUT / time / fixture, stats by
 * measurement name), and the attempt renumbering by DUT. */
static const char migration2[] = "CREATE INDEX runs_dut ON runs(dut_serial, started_utc);"
                                 "CREATE INDEX runs_started ON runs(started_utc);"
                                 "CREATE INDEX runs_fixture ON runs(fixture, started_utc);"
                                 "CREATE INDEX measurements_name ON measurements(name);";

/* The outbox of the line-wide store (store-and-forward, line_sync.c): one
 * entry per run waiting to be pushed, keyed by rid so a newer version of a
 * run replaces its pending entry (dedupe) instead of queueing twice. seq
 * orders the queue and is the version token: sync deletes an entry only if
 * its seq is still the one it sent, so a run changed during a push stays
 * queued. attempts/next_try_utc/last_error: the backoff of a failing
 * entry ('' = due now). sync_state: one row, what `rigctl sync` shows.
 * Runs already in the database are queued, so an upgraded station pushes
 * its history. */
static const char migration3[] =
    "CREATE TABLE outbox ("
    "  rid INTEGER PRIMARY KEY REFERENCES runs(rid) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  enqueued_utc TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_utc TEXT NOT NULL DEFAULT '',"
    "  last_error TEXT);"
    "CREATE INDEX outbox_seq ON outbox(seq);"
    "CREATE TABLE sync_state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  last_success_utc TEXT, last_error TEXT, last_error_utc TEXT,"
    "  sent INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO sync_state(id) VALUES (1);"
    "INSERT INTO outbox(rid, seq, enqueued_utc)"
    "  SELECT rid, rid, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM runs;";

/* Retention (`rigctl prune --station-db`): when a capture's file was
 * deleted, as its record's "pruned_utc" says; NULL while it is kept. */
static const char migration4[] = "ALTER TABLE attachments ADD COLUMN pruned_utc TEXT;";

/* Gauge R&R studies (`rigctl grr`, store/study.h): the runs' own study,
 * part and trial (from the record, NULL for other runs) and the study and its
 * randomised plan, one row per cell run (position in the run order,
 * trial, operator, part), with the run that measured it once done. Linked
 * by the run's id, not its rid: a run's rows are replaced (new rid) every
 * time it is put again, and the plan must outlive that. errors counts the
 * runs of the cell that ended ERROR (the cell is run again; their ids are
 * in the runs table like any other). Part and operator are 1-based
 * indexes into the study's JSON arrays of serials and names. */
static const char migration5[] =
    "CREATE TABLE studies ("
    "  id TEXT PRIMARY KEY,"
    "  created_utc TEXT NOT NULL,"
    "  sequence_file TEXT NOT NULL,"
    "  parts INTEGER NOT NULL, operators INTEGER NOT NULL, trials INTEGER NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  part_serials TEXT NOT NULL,"    /* JSON array, parts long */
    "  operator_names TEXT NOT NULL);" /* JSON array, operators long */
    "CREATE TABLE study_runs ("
    "  study_id TEXT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  trial INTEGER NOT NULL, operator INTEGER NOT NULL, part INTEGER NOT NULL,"
    "  run_id TEXT, outcome TEXT, done_utc TEXT,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (study_id, pos)) WITHOUT ROWID;"
    "CREATE INDEX study_runs_run ON study_runs(run_id);"
    "ALTER TABLE runs ADD COLUMN study_id TEXT;" /* the run's record "study" */
    "ALTER TABLE runs ADD COLUMN study_part INTEGER;"
    "ALTER TABLE runs ADD COLUMN study_trial INTEGER;";

const struct store_migration store_migrations[] = {
    { 1, "initial schema", migration1 },    { 2, "query indexes", migration2 },
    { 3, "line store outbox", migration3 }, { 4, "pruned captures", migration4 },
    { 5, "gauge R&R studies", migration5 },
};
const size_t store_nmigrations = sizeof store_migrations / sizeof store_migrations[0];
