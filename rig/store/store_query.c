/* Reading the station database: history, one unit's attempts, yields.
 * SQL text is built only from constant fragments (which filters are
 * present, so SQLite can pick the matching index); every value is bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_rows.h"

cJSON *store_run_json(sqlite3_stmt *s)
{
    struct store_row w = store_row_sqlite(s);
    return store_row_run_json(&w);
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "station database: out of memory");
    return -ENOMEM;
}

void store_filter_sql(char *sql, size_t len, const struct store_filter *f, char which)
{
    if (f->dut && which == 'h')
        strncat(sql, " AND r.dut_serial = :dut", len - strlen(sql) - 1);
    if (f->since)
        strncat(sql, " AND r.started_utc >= :since", len - strlen(sql) - 1);
    if (f->until)
        strncat(sql, " AND r.started_utc < :until", len - strlen(sql) - 1);
    if (f->fixture)
        strncat(sql, " AND r.fixture = :fixture", len - strlen(sql) - 1);
    if (f->outcome && which == 'h')
        strncat(sql,
                !strcmp(f->outcome, "incomplete") ? " AND r.complete = 0"
                                                  : " AND r.outcome = :outcome",
                len - strlen(sql) - 1);
    if (f->measurement && which == 's')
        strncat(sql, " AND m.name = :measurement", len - strlen(sql) - 1);
}

static void bind_name(sqlite3_stmt *s, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(s, name);
    if (i > 0)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

void store_bind_filter(sqlite3_stmt *s, const struct store_filter *f)
{
    bind_name(s, ":dut", f->dut);
    bind_name(s, ":since", f->since);
    bind_name(s, ":until", f->until);
    bind_name(s, ":fixture", f->fixture);
    bind_name(s, ":outcome", f->outcome);
    bind_name(s, ":measurement", f->measurement);
}

int store_history(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                  size_t errlen)
{
    static const struct store_filter none;
    if (!f)
        f = &none;
    char sql[1024] = "SELECT " STORE_RUN_COLUMNS " FROM runs r WHERE 1";
    store_filter_sql(sql, sizeof sql, f, 'h');
    strncat(sql, " ORDER BY r.started_utc DESC, r.id DESC LIMIT :limit",
            sizeof sql - strlen(sql) - 1);
    *out = NULL;
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        goto out;
    store_bind_filter(s, f);
    sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":limit"), f->limit ? f->limit : 100);
    cJSON *a = cJSON_CreateArray();
    int rc;
    while (a && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = store_run_json(s);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    if (!a)
        r = oom(err, errlen);
    else if (rc != SQLITE_DONE)
        r = store_fail(st, rc, "history", err, errlen);
    sqlite3_finalize(s);
    if (r == 0)
        *out = a;
    else
        cJSON_Delete(a);
out:
    pthread_mutex_unlock(&st->lock);
    return r;
}

int store_find_run(struct store *st, const char *id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t n = id ? strlen(id) : 0;
    if (n < 8 || n > 36 || strspn(id, "0123456789abcdef-") != n) {
        snprintf(err, errlen, "run id %s: not a run id (8 to 36 of 0-9, a-f and -)",
                 id ? id : "(none)");
        return -EINVAL;
    }
    /* the id's characters are checked above: no LIKE wildcard in it */
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st,
                          "SELECT " STORE_RUN_COLUMNS " FROM runs r WHERE r.id = ?1"
                          " OR r.id LIKE ?1 || '%' ORDER BY r.id = ?1 DESC LIMIT 2",
                          &s, err, errlen);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    cJSON *found = NULL;
    int rc, rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        if (rows == 1)
            found = store_run_json(s);
    }
    if (rc != SQLITE_DONE) {
        r = store_fail(st, rc, "find run", err, errlen);
    } else if (rows == 0) {
        snprintf(err, errlen, "run %s: not in the station database", id);
        r = -ENOENT;
    } else if (!found) {
        r = oom(err, errlen);
    } else if (rows > 1 && n < 36) {
        /* an exact match sorts first; otherwise the prefix is ambiguous */
        cJSON *fid = cJSON_GetObjectItemCaseSensitive(found, "id");
        if (!cJSON_IsString(fid) || strcmp(fid->valuestring, id) != 0) {
            snprintf(err, errlen, "run id %s names several runs: give more of it", id);
            r = -EINVAL;
        }
    }
    sqlite3_finalize(s);
    if (r == 0)
        *out = found;
    else
        cJSON_Delete(found);
out:
    pthread_mutex_unlock(&st->lock);
    return r;
}

/* The failing measurements of run rid, in execution order. */
static int failing(struct store *st, long long rid, cJSON *arr, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int r = store_prepare(st,
                          "SELECT step_index, name, value, text, units, comparison, low, high,"
                          " limit_text, outcome, note FROM measurements WHERE rid = ?1 AND"
                          " superseded = 0 AND outcome NOT IN ('PASS', 'SKIPPED')"
                          " ORDER BY step_no, idx",
                          &s, err, errlen);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, rid);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_row w = store_row_sqlite(s);
        if (store_row_failing(&w, arr) < 0) {
            r = oom(err, errlen);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, "failing measurements", err, errlen);
    sqlite3_finalize(s);
    return r;
}

int store_unit(struct store *st, const char *serial, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!serial) {
        snprintf(err, errlen, "station database: no serial");
        return -EINVAL;
    }
    cJSON *u = cJSON_CreateObject(), *runs = cJSON_CreateArray();
    if (!u || !runs) {
        cJSON_Delete(u);
        cJSON_Delete(runs);
        return oom(err, errlen);
    }
    cJSON_AddStringToObject(u, "dut_serial", serial);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st,
                          "SELECT " STORE_RUN_COLUMNS " FROM runs r WHERE r.dut_serial = ?1"
                          " ORDER BY r.attempt, r.started_utc, r.id",
                          &s, err, errlen);
    int rc = SQLITE_DONE, n = 0;
    const char *final = NULL;
    char final_buf[16] = "";
    if (r == 0) {
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            cJSON *o = store_run_json(s);
            cJSON *fl = o ? cJSON_AddArrayToObject(o, "failing") : NULL;
            if (!fl || !cJSON_AddItemToArray(runs, o)) {
                cJSON_Delete(o);
                r = oom(err, errlen);
                break;
            }
            n++;
            if (sqlite3_column_int(s, 9)) {
                snprintf(final_buf, sizeof final_buf, "%s", sqlite3_column_text(s, 10));
                final = final_buf;
            }
            r = failing(st, sqlite3_column_int64(s, STORE_RUN_NCOLUMNS - 1), fl, err, errlen);
        }
        if (r == 0 && rc != SQLITE_DONE)
            r = store_fail(st, rc, "unit", err, errlen);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    cJSON_AddNumberToObject(u, "attempts", n);
    if (final)
        cJSON_AddStringToObject(u, "final_outcome", final);
    else
        cJSON_AddNullToObject(u, "final_outcome");
    cJSON_AddItemToObject(u, "runs", runs);
    if (r < 0) {
        cJSON_Delete(u);
        return r;
    }
    *out = u;
    return 0;
}

int store_yields_locked(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                        size_t errlen)
{
    /* One pass over the runs of the cohort's units in (serial, attempt)
     * order: a unit is in the cohort when its attempt 1 matches the
     * filter; its later attempts count before until, on any fixture (a
     * retest elsewhere still decides the unit). Without a filter every
     * unit is in the cohort and a plain index scan is cheapest; with one,
     * the cohort's serials are found first through the time or fixture
     * index. */
    struct store_filter g = { .since = f->since, .until = f->until, .fixture = f->fixture };
    char sql[1024] = "SELECT a.dut_serial, a.attempt, a.complete, a.outcome, a.started_utc,"
                     " a.fixture FROM runs a WHERE a.dut_serial != ''";
    if (g.since || g.until || g.fixture) {
        strncat(sql,
                " AND a.dut_serial IN (SELECT r.dut_serial FROM runs r WHERE r.attempt = 1"
                " AND r.dut_serial != ''",
                sizeof sql - strlen(sql) - 1);
        store_filter_sql(sql, sizeof sql, &g, 'y');
        strncat(sql, ")", sizeof sql - strlen(sql) - 1);
    }
    strncat(sql, " ORDER BY a.dut_serial, a.attempt", sizeof sql - strlen(sql) - 1);
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        return r;
    store_bind_filter(s, &g);
    struct store_yields_acc acc = { .g = &g };
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_row w = store_row_sqlite(s);
        if ((r = store_yields_add(&acc, &w)) < 0) {
            r = oom(err, errlen);
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_fail(st, rc, "yields", err, errlen);
    sqlite3_finalize(s);
    cJSON *y = store_yields_finish(&acc);
    if (r < 0 || !y) {
        cJSON_Delete(y);
        return r < 0 ? r : oom(err, errlen);
    }
    *out = y;
    return 0;
}

int store_yields(struct store *st, const struct store_filter *f, cJSON **out, char *err,
                 size_t errlen)
{
    static const struct store_filter none;
    *out = NULL;
    pthread_mutex_lock(&st->lock);
    int r = store_yields_locked(st, f ? f : &none, out, err, errlen);
    pthread_mutex_unlock(&st->lock);
    return r;
}
