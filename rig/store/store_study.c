/* Gauge R&R studies in the station database (contract in study.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"
#include "store/study.h"

static cJSON *names_json(const char *const *names, unsigned n)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names[i] ? names[i] : ""));
    return a;
}

static int insert_study(struct store *st, const struct store_study *s, char *err, size_t errlen)
{
    cJSON *parts = names_json(s->part_serials, s->parts);
    cJSON *ops = names_json(s->operator_names, s->operators);
    char *pj = parts ? cJSON_PrintUnformatted(parts) : NULL;
    char *oj = ops ? cJSON_PrintUnformatted(ops) : NULL;
    cJSON_Delete(parts);
    cJSON_Delete(ops);
    sqlite3_stmt *q = NULL;
    int r = pj && oj ? 0 : -ENOMEM;
    if (r == 0)
        r = store_prepare(st,
                          "INSERT INTO studies(id, created_utc, sequence_file, parts, operators,"
                          " trials, seed, part_serials, operator_names)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                          &q, err, errlen);
    if (r == 0) {
        struct timespec now;
        char utc[STORE_UTC_LEN];
        clock_gettime(CLOCK_REALTIME, &now);
        store_utc(&now, utc);
        store_bind_text(q, 1, s->id);
        store_bind_text(q, 2, utc);
        store_bind_text(q, 3, s->sequence_file);
        sqlite3_bind_int(q, 4, (int)s->parts);
        sqlite3_bind_int(q, 5, (int)s->operators);
        sqlite3_bind_int(q, 6, (int)s->trials);
        sqlite3_bind_int64(q, 7, (sqlite3_int64)s->seed);
        store_bind_text(q, 8, pj);
        store_bind_text(q, 9, oj);
        int rc = sqlite3_step(q);
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            snprintf(err, errlen, "station database: study %s exists", s->id);
            r = -EEXIST;
        } else if (rc != SQLITE_DONE) {
            r = store_fail(st, rc, "create the study", err, errlen);
        }
    } else if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    sqlite3_finalize(q);
    cJSON_free(pj);
    cJSON_free(oj);
    return r;
}

static int insert_cells(struct store *st, const struct store_study *s, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int r = store_prepare(st,
                          "INSERT INTO study_runs(study_id, pos, trial, operator, part)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)",
                          &q, err, errlen);
    for (size_t i = 0; r == 0 && i < s->ncells; i++) {
        const struct store_study_cell *c = &s->cells[i];
        sqlite3_reset(q);
        store_bind_text(q, 1, s->id);
        sqlite3_bind_int(q, 2, (int)c->pos);
        sqlite3_bind_int(q, 3, (int)c->trial);
        sqlite3_bind_int(q, 4, (int)c->op);
        sqlite3_bind_int(q, 5, (int)c->part);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE)
            r = store_fail(st, rc, "keep the study's plan", err, errlen);
    }
    sqlite3_finalize(q);
    return r;
}

int store_study_create(struct store *st, const struct store_study *s, char *err, size_t errlen)
{
    if (!st || !s || !s->id || !s->sequence_file || !s->cells || !s->ncells) {
        snprintf(err, errlen, "station database: bad argument");
        return -EINVAL;
    }
    pthread_mutex_lock(&st->lock);
    int r = store_begin(st, err, errlen);
    if (r == 0) {
        r = insert_study(st, s, err, errlen);
        if (r == 0)
            r = insert_cells(st, s, err, errlen);
        if (r == 0)
            r = store_commit(st, err, errlen);
        else
            store_rollback(st);
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

static cJSON *col_json(sqlite3_stmt *q, int i)
{
    switch (sqlite3_column_type(q, i)) {
    case SQLITE_NULL:
        return cJSON_CreateNull();
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        return cJSON_CreateNumber(sqlite3_column_double(q, i));
    default:
        return cJSON_CreateString((const char *)sqlite3_column_text(q, i));
    }
}

/* Rows of q as objects named by names[] (ncols of them), appended to arr. */
static int rows_json(struct store *st, sqlite3_stmt *q, const char *const *names, int ncols,
                     cJSON *arr, char *err, size_t errlen)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; o && i < ncols; i++)
            cJSON_AddItemToObject(o, names[i], col_json(q, i));
        cJSON_AddItemToArray(arr, o);
    }
    return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "read the study", err, errlen);
}

static int get_locked(struct store *st, const char *id, cJSON **out, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int r = store_prepare(st,
                          "SELECT id, created_utc, sequence_file, parts, operators, trials, seed,"
                          " part_serials, operator_names FROM studies WHERE id = ?1",
                          &q, err, errlen);
    if (r < 0)
        return r;
    store_bind_text(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            return store_fail(st, rc, "read the study", err, errlen);
        snprintf(err, errlen, "station database: no study %s", id);
        return -ENOENT;
    }
    static const char *const cols[] = { "id",    "created_utc",  "sequence_file",
                                        "parts", "operators",    "trials",
                                        "seed",  "part_serials", "operator_names" };
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < 9; i++) {
        cJSON *v = i >= 7 ? cJSON_Parse((const char *)sqlite3_column_text(q, i)) : col_json(q, i);
        cJSON_AddItemToObject(o, cols[i], v ? v : cJSON_CreateArray());
    }
    sqlite3_finalize(q);
    r = store_prepare(st,
                      "SELECT pos, trial, operator, part, run_id, outcome, errors FROM study_runs"
                      " WHERE study_id = ?1 ORDER BY pos",
                      &q, err, errlen);
    if (r == 0) {
        static const char *const cc[] = { "pos",    "trial",   "operator", "part",
                                          "run_id", "outcome", "errors" };
        cJSON *cells = cJSON_AddArrayToObject(o, "cells");
        store_bind_text(q, 1, id);
        r = rows_json(st, q, cc, 7, cells, err, errlen);
        sqlite3_finalize(q);
    }
    if (r < 0 || !o) {
        cJSON_Delete(o);
        return r < 0 ? r : -ENOMEM;
    }
    *out = o;
    return 0;
}

int store_study_get(struct store *st, const char *id, cJSON **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    int r = get_locked(st, id, out, err, errlen);
    pthread_mutex_unlock(&st->lock);
    return r;
}

/* The outcomes that measured nothing: the cell is run again. */
static bool not_measured(const char *outcome)
{
    return !strcmp(outcome, "ERROR") || !strcmp(outcome, "ABORTED") || !strcmp(outcome, "TIMEOUT");
}

int store_study_done(struct store *st, const char *id, unsigned pos, const char *run_id,
                     const char *outcome, char *err, size_t errlen)
{
    if (!st || !id || !run_id || !outcome) {
        snprintf(err, errlen, "station database: bad argument");
        return -EINVAL;
    }
    struct timespec now;
    char utc[STORE_UTC_LEN];
    clock_gettime(CLOCK_REALTIME, &now);
    store_utc(&now, utc);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q;
    int r = store_prepare(st,
                          not_measured(outcome)
                              ? "UPDATE study_runs SET errors = errors + 1"
                                " WHERE study_id = ?1 AND pos = ?2 AND run_id IS NULL"
                              : "UPDATE study_runs SET run_id = ?3, outcome = ?4, done_utc = ?5"
                                " WHERE study_id = ?1 AND pos = ?2 AND run_id IS NULL",
                          &q, err, errlen);
    if (r == 0) {
        store_bind_text(q, 1, id);
        sqlite3_bind_int(q, 2, (int)pos);
        if (!not_measured(outcome)) {
            store_bind_text(q, 3, run_id);
            store_bind_text(q, 4, outcome);
            store_bind_text(q, 5, utc);
        }
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) {
            r = store_fail(st, rc, "mark a study run done", err, errlen);
        } else if (sqlite3_changes(st->db) == 0) {
            snprintf(err, errlen, "station database: study %s has no cell %u still to do", id, pos);
            r = -ENOENT;
        }
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

int store_study_values(struct store *st, const char *id, const char *measurement,
                       unsigned occurrence, cJSON **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q;
    /* Each run's measurements of the name numbered in step order (k of
     * n), over the study's runs only. */
    int r = store_prepare(
        st,
        "SELECT s.trial, s.operator, s.part, x.value, s.run_id, x.units, x.comparison, x.low,"
        " x.high, x.n, x.path FROM study_runs s JOIN runs r ON r.id = s.run_id"
        " JOIN (SELECT m.rid, m.value, m.units, m.comparison, m.low, m.high, st.path,"
        "   row_number() OVER (PARTITION BY m.rid ORDER BY m.step_no, m.idx) AS k,"
        "   count(*) OVER (PARTITION BY m.rid) AS n"
        "   FROM measurements m LEFT JOIN steps st ON st.rid = m.rid AND st.step_no = m.step_no"
        "   WHERE m.name = ?2 AND m.superseded = 0 AND m.rid IN (SELECT r2.rid FROM study_runs s2"
        "     JOIN runs r2 ON r2.id = s2.run_id WHERE s2.study_id = ?1)) x ON x.rid = r.rid"
        " WHERE s.study_id = ?1 AND x.value IS NOT NULL AND (?3 = 0 OR x.k = ?3)"
        " ORDER BY s.pos",
        &q, err, errlen);
    cJSON *o = NULL;
    if (r == 0) {
        store_bind_text(q, 1, id);
        store_bind_text(q, 2, measurement);
        sqlite3_bind_int(q, 3, (int)occurrence);
        o = cJSON_CreateObject();
        cJSON *vals = cJSON_AddArrayToObject(o, "values");
        int rc;
        while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            if (occurrence == 0 && sqlite3_column_int(q, 9) > 1) {
                snprintf(err, errlen,
                         "measurement %s occurs %d times in run %s: name one occurrence, "
                         "%s#1..%s#%d",
                         measurement, sqlite3_column_int(q, 9), sqlite3_column_text(q, 4),
                         measurement, measurement, sqlite3_column_int(q, 9));
                r = -EINVAL;
                break;
            }
            if (cJSON_GetArraySize(vals) == 0) {
                static const char *const lim[] = { "units", "comparison", "low", "high" };
                for (int i = 0; i < 4; i++)
                    cJSON_AddItemToObject(o, lim[i], col_json(q, 5 + i));
                cJSON_AddItemToObject(o, "step", col_json(q, 10));
            }
            static const char *const vc[] = { "trial", "operator", "part", "value", "run_id" };
            cJSON *v = cJSON_CreateObject();
            for (int i = 0; i < 5; i++)
                cJSON_AddItemToObject(v, vc[i], col_json(q, i));
            cJSON_AddItemToArray(vals, v);
        }
        if (r == 0 && rc != SQLITE_DONE)
            r = store_fail(st, rc, "read the study's values", err, errlen);
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->lock);
    if (r < 0) {
        cJSON_Delete(o);
        return r;
    }
    *out = o;
    return 0;
}

int store_study_measurements(struct store *st, const char *id, cJSON **out, char *err,
                             size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *q;
    int r = store_prepare(st,
                          "SELECT name, count(*), max(n) FROM (SELECT m.name, r.rid,"
                          " count(*) AS n, min(m.step_index) AS first FROM study_runs s"
                          " JOIN runs r ON r.id = s.run_id"
                          " JOIN measurements m ON m.rid = r.rid AND m.superseded = 0"
                          " WHERE s.study_id = ?1 AND m.value IS NOT NULL"
                          " GROUP BY m.name, r.rid) GROUP BY name ORDER BY min(first), name",
                          &q, err, errlen);
    cJSON *arr = NULL;
    if (r == 0) {
        static const char *const cols[] = { "name", "runs", "occurrences" };
        store_bind_text(q, 1, id);
        arr = cJSON_CreateArray();
        r = rows_json(st, q, cols, 3, arr, err, errlen);
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->lock);
    if (r < 0) {
        cJSON_Delete(arr);
        return r;
    }
    *out = arr;
    return 0;
}
