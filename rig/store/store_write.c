/* Keeping a run: store_put_run (one transaction per run, replace by run
 * id), the attempt renumbering of its DUT, and the record sink. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const char sql_upsert_run[] =
    "INSERT INTO runs(id, dut_serial, reported_serial, fixture, station, operator,"
    " sequence_file, sequence_name, sequence_sha256, sequence_policy,"
    " spec_file, spec_name, spec_version, spec_sha256, sw_version, sw_vcs, sw_dirty,"
    " started_utc, ended_utc, complete, outcome, marginal, message, retries,"
    " tare_done, tare_zero_n, tare_offset_raw_un,"
    " n_steps, n_measurements, n_pass, n_fail, n_error, n_marginal, record_path)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
    " ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34)"
    " ON CONFLICT(id) DO UPDATE SET dut_serial = ?2, reported_serial = ?3, fixture = ?4,"
    " station = ?5, operator = ?6, sequence_file = ?7, sequence_name = ?8,"
    " sequence_sha256 = ?9, sequence_policy = ?10, spec_file = ?11, spec_name = ?12,"
    " spec_version = ?13, spec_sha256 = ?14, sw_version = ?15, sw_vcs = ?16, sw_dirty = ?17,"
    " started_utc = ?18, ended_utc = ?19, complete = ?20, outcome = ?21, marginal = ?22,"
    " message = ?23, retries = ?24, tare_done = ?25, tare_zero_n = ?26,"
    " tare_offset_raw_un = ?27, n_steps = ?28, n_measurements = ?29, n_pass = ?30,"
    " n_fail = ?31, n_error = ?32, n_marginal = ?33,"
    " record_path = coalesce(?34, record_path)"
    " RETURNING rid";

static const char *const sql_delete[] = {
    "DELETE FROM measurements WHERE rid = ?1", "DELETE FROM setpoints WHERE rid = ?1",
    "DELETE FROM steps WHERE rid = ?1",        "DELETE FROM instruments WHERE rid = ?1",
    "DELETE FROM attachments WHERE rid = ?1",
};

static const char sql_step[] =
    "INSERT INTO steps(rid, step_no, step_index, section, path, kind, name, loop, attempt,"
    " superseded, started_utc, duration_s, outcome, marginal, message, tare_done, tare_zero_n,"
    " tare_offset_raw_un, capture_samples, capture_rate_hz)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20)";
static const char sql_setpoint[] =
    "INSERT INTO setpoints(rid, step_no, name, value) VALUES (?1, ?2, ?3, ?4)";
static const char sql_meas[] =
    "INSERT INTO measurements(rid, step_no, idx, step_index, superseded, name, quantity, units,"
    " value, text, comparison, low, high, pattern, expected, limit_text, outcome, marginal, note)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19)";
static const char sql_instr[] =
    "INSERT INTO instruments(rid, idx, role, model, serial, firmware, cal_date, cal_due,"
    " certificate, force_gain_ppm, force_offset_un, disp_gain_ppm, disp_offset_nm)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
/* Queue rid for the line store (migration 3): a pending entry of the same
 * run gets the new seq (the newer version supersedes it, and sync will not
 * delete it on the strength of the older push); its first enqueue time and
 * backoff stay. seq = max + 1 is greater than any seq a sync in flight
 * holds, since that entry is still in the table. */
static const char sql_enqueue[] = "INSERT INTO outbox(rid, seq, enqueued_utc)"
                                  " VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM outbox),"
                                  " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                                  " ON CONFLICT(rid) DO UPDATE SET seq = excluded.seq";

static int enqueue(struct store *st, long long rid, char *err, size_t errlen)
{
    if (st->version < 3)
        return 0; /* an older schema (the migration tests): no outbox yet */
    sqlite3_stmt *s;
    int r = store_stmt(st, sql_enqueue, &s, err, errlen);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, rid);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "enqueue for the line store", err, errlen);
}

static const char sql_attach[] = "INSERT INTO attachments(rid, idx, name, sha256, kind, step_no,"
                                 " pruned_utc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
/* Before migration 4 (the migration tests): no pruned_utc. */
static const char sql_attach3[] = "INSERT INTO attachments(rid, idx, name, sha256, kind, step_no)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* Every statement of a put, prepared once per put: a put is one
 * transaction of a few hundred rows at most, and preparing ~10 statements
 * costs well under the rows. */
enum { S_RUN, S_STEP, S_SETPOINT, S_MEAS, S_INSTR, S_ATTACH, S_COUNT };
struct put {
    struct store *st;
    sqlite3_stmt *s[S_COUNT];
    sqlite3_stmt *old; /* the run's serial before this put */
    long long rid;
    char *err;
    size_t errlen;
};

static int step_done(struct put *p, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : store_fail(p->st, rc, what, p->err, p->errlen);
}

static void date_text(uint32_t ymd, char out[11])
{
    if (ymd)
        snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(ymd / 10000) % 10000,
                 (unsigned)(ymd / 100) % 100, (unsigned)ymd % 100);
    else
        out[0] = 0;
}

/* pruned: the capture's file is gone (retention), when its record says. */
static int put_attachment(struct put *p, int *idx, const struct rec_attachment *a, const char *kind,
                          long long step_no, const struct timespec *pruned)
{
    if (!a->name)
        return 0;
    sqlite3_stmt *s = p->s[S_ATTACH];
    char utc[STORE_UTC_LEN];
    if (pruned && p->st->version >= 4) {
        store_utc(pruned, utc);
        sqlite3_bind_text(s, 7, utc, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(s, 1, p->rid);
    sqlite3_bind_int(s, 2, (*idx)++);
    sqlite3_bind_text(s, 3, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, a->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, kind, -1, SQLITE_STATIC);
    if (step_no >= 0)
        sqlite3_bind_int64(s, 6, step_no);
    return step_done(p, s, "insert attachment");
}

static int put_meas(struct put *p, const struct rec_step *st, int step_no, int idx,
                    const struct rec_measurement *m)
{
    sqlite3_stmt *s = p->s[S_MEAS];
    sqlite3_bind_int64(s, 1, p->rid);
    sqlite3_bind_int(s, 2, step_no);
    sqlite3_bind_int(s, 3, idx);
    sqlite3_bind_int(s, 4, (int)st->index);
    sqlite3_bind_int(s, 5, st->superseded);
    store_bind_text(s, 6, m->name ? m->name : "");
    store_bind_text(s, 7, m->quantity);
    store_bind_text(s, 8, m->units);
    if (!m->is_text)
        store_bind_num(s, 9, m->value);
    store_bind_text(s, 10, m->text);
    store_bind_text(s, 11, lim_cmp_str(m->comparison));
    store_bind_num(s, 12, m->low);
    store_bind_num(s, 13, m->high);
    store_bind_text(s, 14, m->pattern);
    store_bind_text(s, 15, m->expected);
    store_bind_text(s, 16, m->limit);
    store_bind_text(s, 17, outcome_str(m->outcome));
    sqlite3_bind_int(s, 18, m->marginal);
    store_bind_text(s, 19, m->note);
    return step_done(p, s, "insert measurement");
}

static int put_tare(sqlite3_stmt *s, int col, const struct rec_tare *t)
{
    if (!t->present)
        return 0;
    sqlite3_bind_int(s, col, t->done);
    store_bind_num(s, col + 1, t->done ? t->zero_n : (double)NAN);
    if (t->done)
        sqlite3_bind_int64(s, col + 2, t->offset_raw_un);
    return 0;
}

static int put_step(struct put *p, int step_no, const struct rec_step *st, int *attach_idx)
{
    sqlite3_stmt *s = p->s[S_STEP];
    sqlite3_bind_int64(s, 1, p->rid);
    sqlite3_bind_int(s, 2, step_no);
    sqlite3_bind_int(s, 3, (int)st->index);
    store_bind_text(s, 4, st->section);
    store_bind_text(s, 5, st->path);
    store_bind_text(s, 6, step_kind_str(st->kind));
    store_bind_text(s, 7, st->name);
    char *loop = NULL;
    if (st->loop.n) {
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; o && i < st->loop.n && i < REC_LOOP_MAX; i++)
            cJSON_AddNumberToObject(o, st->loop.v[i].key, st->loop.v[i].value);
        loop = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!loop) {
            snprintf(p->err, p->errlen, "station database: out of memory");
            return -ENOMEM;
        }
    }
    sqlite3_bind_text(s, 8, loop, -1, SQLITE_TRANSIENT);
    free(loop);
    sqlite3_bind_int(s, 9, (int)st->attempt);
    sqlite3_bind_int(s, 10, st->superseded);
    char t[STORE_UTC_LEN];
    if (st->has_started) {
        store_utc(&st->started, t);
        sqlite3_bind_text(s, 11, t, -1, SQLITE_STATIC);
    }
    store_bind_num(s, 12, st->duration_s);
    store_bind_text(s, 13, outcome_str(st->outcome));
    sqlite3_bind_int(s, 14, st->marginal);
    store_bind_text(s, 15, st->message);
    put_tare(s, 16, &st->tare);
    if (st->capture) {
        sqlite3_bind_int64(s, 19, (sqlite3_int64)st->capture->samples);
        store_bind_num(s, 20, st->capture->rate_hz);
    }
    int r = step_done(p, s, "insert step");
    static const char *const spname[2] = { "rate_hz", "depth_mm" };
    const double spv[2] = { st->setpoints.rate_hz, st->setpoints.depth_mm };
    for (int i = 0; r == 0 && i < 2; i++) {
        if (spv[i] != spv[i])
            continue; /* NaN: not set */
        sqlite3_stmt *q = p->s[S_SETPOINT];
        sqlite3_bind_int64(q, 1, p->rid);
        sqlite3_bind_int(q, 2, step_no);
        sqlite3_bind_text(q, 3, spname[i], -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 4, spv[i]);
        r = step_done(p, q, "insert setpoint");
    }
    for (size_t i = 0; r == 0 && i < st->nmeas; i++)
        r = put_meas(p, st, step_no, (int)i, &st->meas[i]);
    if (r == 0 && st->capture) {
        r = put_attachment(p, attach_idx, &st->capture->data, "capture", step_no,
                           st->capture->pruned ? &st->capture->pruned_at : NULL);
        if (r == 0)
            r = put_attachment(p, attach_idx, &st->capture->strokes, "strokes", step_no, NULL);
    }
    return r;
}

static int put_instrument(struct put *p, int idx, const struct rig_instrument *in)
{
    sqlite3_stmt *s = p->s[S_INSTR];
    char cal[11], due[11];
    date_text(in->cal_date, cal);
    date_text(in->cal_due, due);
    sqlite3_bind_int64(s, 1, p->rid);
    sqlite3_bind_int(s, 2, idx);
    sqlite3_bind_text(s, 3, in->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, in->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, in->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, in->firmware, -1, SQLITE_STATIC);
    store_bind_text(s, 7, cal[0] ? cal : NULL);
    store_bind_text(s, 8, due[0] ? due : NULL);
    store_bind_text(s, 9, in->certificate[0] ? in->certificate : NULL);
    if (in->has_coefficients) {
        sqlite3_bind_int(s, 10, in->force_gain_ppm);
        sqlite3_bind_int(s, 11, in->force_offset_un);
        sqlite3_bind_int(s, 12, in->disp_gain_ppm);
        sqlite3_bind_int(s, 13, in->disp_offset_nm);
    }
    return step_done(p, s, "insert instrument");
}

/* A gauge study's run: its study, part and trial (schema 5). Its own
 * statement, so a database opened at an older version (tests) still
 * takes runs. */
static int put_study(struct put *p, const struct rec_run *r, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int ret = store_stmt(p->st,
                         "UPDATE runs SET study_id = ?2, study_part = ?3, study_trial = ?4"
                         " WHERE rid = ?1",
                         &s, err, errlen);
    if (ret < 0)
        return ret;
    sqlite3_bind_int64(s, 1, p->rid);
    store_bind_text(s, 2, r->study.id);
    sqlite3_bind_int(s, 3, (int)r->study.part);
    sqlite3_bind_int(s, 4, (int)r->study.trial);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : store_fail(p->st, rc, "keep the run's study", err, errlen);
}

static int put_run_row(struct put *p, const struct rec_run *r, bool complete,
                       const char *record_path)
{
    sqlite3_stmt *s = p->s[S_RUN];
    char started[STORE_UTC_LEN], ended[STORE_UTC_LEN];
    store_utc(&r->started, started);
    if (r->has_ended)
        store_utc(&r->ended, ended);
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    store_bind_text(s, 2, r->dut_serial ? r->dut_serial : "");
    store_bind_text(s, 3, r->reported_serial);
    store_bind_text(s, 4, r->fixture);
    store_bind_text(s, 5, r->station ? r->station : "");
    store_bind_text(s, 6, r->operator_name ? r->operator_name : "");
    const struct rec_definition *q = &r->sequence, *sp = &r->spec;
    store_bind_text(s, 7, q->file);
    store_bind_text(s, 8, q->name);
    store_bind_text(s, 9, q->sha256[0] ? q->sha256 : NULL);
    store_bind_text(s, 10, q->policy);
    store_bind_text(s, 11, sp->file);
    store_bind_text(s, 12, sp->name);
    store_bind_text(s, 13, sp->version);
    store_bind_text(s, 14, sp->sha256[0] ? sp->sha256 : NULL);
    store_bind_text(s, 15, r->sw_version);
    store_bind_text(s, 16, r->sw_vcs);
    sqlite3_bind_int(s, 17, r->sw_dirty);
    sqlite3_bind_text(s, 18, started, -1, SQLITE_STATIC);
    if (r->has_ended)
        sqlite3_bind_text(s, 19, ended, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 20, complete);
    if (complete)
        sqlite3_bind_text(s, 21, outcome_str(r->outcome), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 22, r->marginal);
    store_bind_text(s, 23, r->message);
    sqlite3_bind_int(s, 24, (int)r->retries);
    put_tare(s, 25, &r->tare);
    sqlite3_bind_int(s, 28, (int)r->summary.steps);
    sqlite3_bind_int(s, 29, (int)r->summary.measurements);
    sqlite3_bind_int(s, 30, (int)r->summary.pass);
    sqlite3_bind_int(s, 31, (int)r->summary.fail);
    sqlite3_bind_int(s, 32, (int)r->summary.error);
    sqlite3_bind_int(s, 33, (int)r->summary.marginal);
    store_bind_text(s, 34, record_path);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        p->rid = sqlite3_column_int64(s, 0);
    int rc2 = rc == SQLITE_ROW ? sqlite3_step(s) : rc;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW || rc2 != SQLITE_DONE)
        return store_fail(p->st, rc != SQLITE_ROW ? rc : rc2, "insert run", p->err, p->errlen);
    return 0;
}

/* The retest reason an attempt after run rid gets: *out malloc'd. */
static int retest_reason(struct store *st, long long rid, bool complete, const char *outcome,
                         const char *message, char **out, char *err, size_t errlen)
{
    *out = NULL;
    sqlite3_stmt *s = NULL;
    const char *what = NULL;
    if (!complete) {
        outcome = "incomplete";
    } else if (strcmp(outcome, "PASS")) {
        int r = store_stmt(st,
                           "SELECT name FROM measurements WHERE rid = ?1 AND superseded = 0 AND"
                           " outcome NOT IN ('PASS', 'SKIPPED') ORDER BY step_no, idx LIMIT 1",
                           &s, err, errlen);
        if (r < 0)
            return r;
        sqlite3_bind_int64(s, 1, rid);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            what = (const char *)sqlite3_column_text(s, 0);
        else if (rc == SQLITE_DONE)
            what = message;
        else
            return store_fail(st, rc, "retest reason", err, errlen);
    }
    size_t n = strlen(outcome) + (what ? strlen(what) + 2 : 0) + 1;
    if ((*out = malloc(n)))
        snprintf(*out, n, "%s%s%s", outcome, what ? ": " : "", what ? what : "");
    sqlite3_reset(s);
    if (!*out) {
        snprintf(err, errlen, "station database: out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* Attempt numbers and retest reasons of every run of dut, in start order:
 * an older record imported late moves the later attempts up one. */
static int renumber(struct store *st, const char *dut, char *err, size_t errlen)
{
    sqlite3_stmt *sel, *upd;
    if (!dut[0]) {
        /* No serial (an engine run outside rigd): nothing to retest. */
        int r = store_stmt(st,
                           "UPDATE runs SET attempt = 1, retest_reason = NULL"
                           " WHERE dut_serial = '' AND attempt != 1",
                           &upd, err, errlen);
        if (r < 0)
            return r;
        int rc = sqlite3_step(upd);
        sqlite3_reset(upd);
        return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "renumber attempts", err, errlen);
    }
    int r = store_stmt(st,
                       "SELECT rid, complete, outcome, message, attempt, retest_reason FROM runs"
                       " WHERE dut_serial = ?1 ORDER BY started_utc, id",
                       &sel, err, errlen);
    if (r < 0)
        return r;
    if ((r = store_stmt(st, "UPDATE runs SET attempt = ?2, retest_reason = ?3 WHERE rid = ?1", &upd,
                        err, errlen)) < 0) {
        sqlite3_reset(sel);
        return r;
    }
    sqlite3_bind_text(sel, 1, dut, -1, SQLITE_STATIC);
    char *reason = NULL; /* for the next attempt */
    int attempt = 0, rc;
    while (r == 0 && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        attempt++;
        long long rid = sqlite3_column_int64(sel, 0);
        const char *old = (const char *)sqlite3_column_text(sel, 5);
        if (sqlite3_column_int(sel, 4) != attempt ||
            (reason ? !old || strcmp(old, reason) : old != NULL)) {
            sqlite3_bind_int64(upd, 1, rid);
            sqlite3_bind_int(upd, 2, attempt);
            store_bind_text(upd, 3, reason);
            rc = sqlite3_step(upd);
            sqlite3_reset(upd);
            if (rc != SQLITE_DONE)
                r = store_fail(st, rc, "renumber attempts", err, errlen);
            else /* another run changed: the line must have it too */
                r = enqueue(st, rid, err, errlen);
        }
        free(reason);
        if (r == 0)
            r = retest_reason(st, rid, sqlite3_column_int(sel, 1),
                              (const char *)sqlite3_column_text(sel, 2),
                              (const char *)sqlite3_column_text(sel, 3), &reason, err, errlen);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, "renumber attempts", err, errlen);
    free(reason);
    sqlite3_reset(sel);
    sqlite3_reset(upd);
    return r;
}

int store_put_run_locked(struct store *st, const struct rec_run *r, bool complete,
                         const char *record_path, char *err, size_t errlen)
{
    const char *const sql[S_COUNT] = {
        sql_upsert_run, sql_step,  sql_setpoint,
        sql_meas,       sql_instr, st->version >= 4 ? sql_attach : sql_attach3
    };
    struct put p = { .st = st, .err = err, .errlen = errlen };
    int ret = 0;
    for (int i = 0; ret == 0 && i < S_COUNT; i++)
        ret = store_stmt(st, sql[i], &p.s[i], err, errlen);
    /* The serial the database had for this run, if another (corrected
     * between two updates): its attempts must be renumbered too. */
    char *old_dut = NULL;
    if (ret == 0 && (ret = store_stmt(st, "SELECT dut_serial FROM runs WHERE id = ?1", &p.old, err,
                                      errlen)) == 0) {
        sqlite3_bind_text(p.old, 1, r->id, -1, SQLITE_STATIC);
        const char *d =
            sqlite3_step(p.old) == SQLITE_ROW ? (const char *)sqlite3_column_text(p.old, 0) : NULL;
        if (d && strcmp(d, r->dut_serial ? r->dut_serial : "") && !(old_dut = strdup(d))) {
            snprintf(err, errlen, "station database: out of memory");
            ret = -ENOMEM;
        }
    }
    if (ret == 0)
        ret = put_run_row(&p, r, complete, record_path);
    if (ret == 0 && r->study.id && st->version >= 5)
        ret = put_study(&p, r, err, errlen);
    for (size_t i = 0; ret == 0 && i < sizeof sql_delete / sizeof sql_delete[0]; i++) {
        sqlite3_stmt *d;
        if ((ret = store_stmt(st, sql_delete[i], &d, err, errlen)) < 0)
            break;
        sqlite3_bind_int64(d, 1, p.rid);
        ret = step_done(&p, d, "delete old rows");
        sqlite3_reset(d);
    }
    int aidx = 0;
    if (ret == 0)
        ret = put_attachment(&p, &aidx, &r->sequence.attachment, "sequence", -1, NULL);
    if (ret == 0)
        ret = put_attachment(&p, &aidx, &r->spec.attachment, "spec", -1, NULL);
    for (size_t i = 0; ret == 0 && i < r->ninstruments && i < RIG_MAX_INSTRUMENTS; i++)
        ret = put_instrument(&p, (int)i, &r->instruments[i]);
    for (size_t i = 0; ret == 0 && i < r->nsteps; i++)
        ret = put_step(&p, (int)i, &r->steps[i], &aidx);
    if (ret == 0)
        ret = renumber(st, r->dut_serial ? r->dut_serial : "", err, errlen);
    if (ret == 0 && old_dut)
        ret = renumber(st, old_dut, err, errlen);
    /* In the run's own transaction: a crash cannot keep the run and lose
     * its enqueue. Every put is queued (a put is a change: comparing the
     * old rows would cost more than a redundant, idempotent push). */
    if (ret == 0)
        ret = enqueue(st, p.rid, err, errlen);
    free(old_dut);
    sqlite3_reset(p.old);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_reset(p.s[i]);
    return ret;
}

int store_put_run(struct store *st, const struct rec_run *r, bool complete, const char *record_path,
                  char *err, size_t errlen)
{
    if (!r || !r->id[0]) {
        snprintf(err, errlen, "station database: a run without an id");
        return -EINVAL;
    }
    pthread_mutex_lock(&st->lock);
    /* A verdict must survive a power loss before the run ends: fsync the
     * WAL at this commit. Progress updates only need to survive a crash of
     * the process, which WAL gives without an fsync. */
    sqlite3_exec(st->db, complete ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                 NULL, NULL, NULL);
    int ret = store_begin(st, err, errlen);
    if (ret == 0) {
        ret = store_put_run_locked(st, r, complete, record_path, err, errlen);
        if (ret == 0)
            ret = store_commit(st, err, errlen);
        else
            store_rollback(st);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

/* ---- the record sink -------------------------------------------------- */

struct store_sink {
    struct store *st;
    char *record_path;
};

static int sink_open(void *impl, const struct rec_run *r, char *err, size_t errlen)
{
    struct store_sink *k = impl;
    return store_put_run(k->st, r, false, k->record_path, err, errlen);
}

static int sink_attach(void *impl, const char *suffix, const void *buf, size_t len, unsigned flags,
                       struct rec_attachment *out, char *err, size_t errlen)
{
    (void)impl, (void)suffix, (void)buf, (void)len, (void)flags, (void)out, (void)err, (void)errlen;
    return 0; /* no bytes kept here: the rec_run names the attachment */
}

static int sink_attach_capture(void *impl, const char *suffix, const struct rig_capture *cap,
                               struct rec_attachment *out, char *err, size_t errlen)
{
    (void)impl, (void)suffix, (void)cap, (void)out, (void)err, (void)errlen;
    return 0;
}

static int sink_update(void *impl, const struct rec_run *r, bool complete, char *err, size_t errlen)
{
    struct store_sink *k = impl;
    return store_put_run(k->st, r, complete, k->record_path, err, errlen);
}

static void sink_close(void *impl)
{
    struct store_sink *k = impl;
    if (k)
        free(k->record_path);
    free(k);
}

static const struct rec_sink_ops store_sink_ops = {
    .name = "station database",
    .open = sink_open,
    .attach = sink_attach,
    .attach_capture = sink_attach_capture,
    .update = sink_update,
    .close = sink_close,
};

int store_sink_init(struct rec_sink *out, struct store *st, const char *record_path, char *err,
                    size_t errlen)
{
    struct store_sink *k = calloc(1, sizeof *k);
    if (!k || (record_path && !(k->record_path = strdup(record_path)))) {
        free(k);
        snprintf(err, errlen, "station database: out of memory");
        return -ENOMEM;
    }
    k->st = st;
    out->ops = &store_sink_ops;
    out->impl = k;
    return 0;
}

int store_next_attempt(struct store *st, const char *dut, unsigned *attempt, char *err,
                       size_t errlen)
{
    if (!dut || !dut[0]) {
        *attempt = 1; /* no serial, no retest */
        return 0;
    }
    sqlite3_stmt *s;
    pthread_mutex_lock(&st->lock);
    int r = store_prepare(st, "SELECT count(*) FROM runs WHERE dut_serial = ?1", &s, err, errlen);
    if (r == 0) {
        store_bind_text(s, 1, dut);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            *attempt = (unsigned)sqlite3_column_int(s, 0) + 1;
        else
            r = store_fail(st, rc, "count attempts", err, errlen);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

int store_mark_pruned(struct store *st, const char *run_id, const char *name,
                      const struct timespec *pruned_at, char *err, size_t errlen)
{
    if (!st || !run_id || !name || !pruned_at) {
        snprintf(err, errlen, "station database: bad argument");
        return -EINVAL;
    }
    char utc[STORE_UTC_LEN];
    store_utc(pruned_at, utc);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_stmt(st,
                       "UPDATE attachments SET pruned_utc = coalesce(pruned_utc, ?3)"
                       " WHERE rid = (SELECT rid FROM runs WHERE id = ?1) AND name = ?2"
                       " AND kind = 'capture'",
                       &s, err, errlen);
    if (r == 0) {
        sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, utc, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_DONE) {
            r = store_fail(st, rc, "mark a capture pruned", err, errlen);
        } else if (sqlite3_changes(st->db) == 0) {
            snprintf(err, errlen, "station database: no capture %s of run %s", name, run_id);
            r = -ENOENT;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}
