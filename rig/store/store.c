/* Opening the station database: pragmas, schema version and migrations;
 * the transaction helpers and SQLite errors as -errno (store_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

int store_fail(struct store *st, int rc, const char *what, char *err, size_t errlen)
{
    int e;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        e = EBUSY;
        break;
    case SQLITE_FULL:
        e = ENOSPC;
        break;
    case SQLITE_NOMEM:
        e = ENOMEM;
        break;
    case SQLITE_READONLY:
        e = EROFS;
        break;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        e = EACCES;
        break;
    case SQLITE_CANTOPEN: {
        int sys = st && st->db ? sqlite3_system_errno(st->db) : 0;
        e = sys > 0 ? sys : EIO;
        break;
    }
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_CONSTRAINT:
        e = EINVAL;
        break;
    default:
        e = EIO;
    }
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    snprintf(err, errlen, "station database %s: %s: %s%s", st && st->path ? st->path : "?", what,
             msg, e == EBUSY ? " (locked by another connection beyond the busy timeout)" : "");
    return -e;
}

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **out, char *err, size_t errlen)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return store_fail(st, rc, "prepare", err, errlen);
    }
    return 0;
}

int store_stmt(struct store *st, const char *sql, sqlite3_stmt **out, char *err, size_t errlen)
{
    for (size_t i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            *out = st->cache[i].s;
            sqlite3_reset(*out);
            sqlite3_clear_bindings(*out);
            return 0;
        }
    }
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return store_fail(st, rc, "prepare", err, errlen);
    }
    if (st->ncache < sizeof st->cache / sizeof st->cache[0]) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache++].s = *out;
    } else {
        /* Never with the statements of this library; an error, not a leak. */
        sqlite3_finalize(*out);
        *out = NULL;
        snprintf(err, errlen, "station database: statement cache full");
        return -ENOMEM;
    }
    return 0;
}

/* Run a statement that SQLite may refuse with BUSY, trying again: the busy
 * handler already waited busy_ms inside each try. */
static int exec_retry(struct store *st, const char *sql, const char *what, char *err, size_t errlen)
{
    int rc = SQLITE_OK;
    for (int t = 0; t < STORE_BUSY_TRIES; t++) {
        rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            break;
    }
    return rc == SQLITE_OK ? 0 : store_fail(st, rc, what, err, errlen);
}

int store_begin(struct store *st, char *err, size_t errlen)
{
    /* IMMEDIATE takes the write lock now, so a busy database is waited for
     * here and never turns into a failed COMMIT after the work is done. */
    return exec_retry(st, "BEGIN IMMEDIATE", "begin", err, errlen);
}

int store_commit(struct store *st, char *err, size_t errlen)
{
    int r = exec_retry(st, "COMMIT", "commit", err, errlen);
    if (r < 0)
        store_rollback(st);
    return r;
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void store_utc(const struct timespec *ts, char out[STORE_UTC_LEN])
{
    struct tm tm;
    time_t t = ts->tv_sec;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, STORE_UTC_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    long us = (long)(ts->tv_nsec / 1000) % 1000000;
    /* 19 + 8 + NUL = STORE_UTC_LEN for years 0000..9999 */
    if (n == 19)
        snprintf(out + n, STORE_UTC_LEN - n, ".%06ldZ", us < 0 ? 0 : us);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *txt)
{
    return txt ? sqlite3_bind_text(s, i, txt, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

int store_bind_num(sqlite3_stmt *s, int i, double v)
{
    /* isfinite without <math.h> semantics questions: NaN != NaN, and the
     * infinities are outside [-DBL_MAX, DBL_MAX]. */
    return v == v && v - v == 0 ? sqlite3_bind_double(s, i, v) : sqlite3_bind_null(s, i);
}

static int one_int(struct store *st, const char *sql, long long *v, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int r = store_prepare(st, sql, &s, err, errlen);
    if (r < 0)
        return r;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(s, 0);
        r = 0;
    } else {
        r = store_fail(st, rc, sql, err, errlen);
    }
    sqlite3_finalize(s);
    return r;
}

/* The version the file is at; 0 for a new (empty) database. Refuses a
 * SQLite file with tables of its own and no version table. */
static int current_version(struct store *st, int *version, char *err, size_t errlen)
{
    long long has, others, v = 0;
    int r = one_int(st,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                    "name = 'schema_version'",
                    &has, err, errlen);
    if (r == 0)
        r = one_int(st,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                    "name NOT LIKE 'sqlite_%' AND name != 'schema_version'",
                    &others, err, errlen);
    if (r < 0)
        return r;
    if (!has && others) {
        snprintf(err, errlen,
                 "station database %s: not a rig station database (tables, no schema_version)",
                 st->path);
        return -EPROTO;
    }
    if (has && (r = one_int(st, "SELECT coalesce(max(version), 0) FROM schema_version", &v, err,
                            errlen)) < 0)
        return r;
    *version = (int)v;
    return 0;
}

static int refuse_newer(struct store *st, int v, char *err, size_t errlen)
{
    if (v <= STORE_SCHEMA_VERSION)
        return 0;
    snprintf(err, errlen,
             "station database %s: schema version %d is newer than this rig's (%d): "
             "it was written by a newer rig; upgrade rig or use another database",
             st->path, v, STORE_SCHEMA_VERSION);
    return -EPROTO;
}

static int migrate(struct store *st, int target, char *err, size_t errlen)
{
    int r = store_begin(st, err, errlen);
    if (r < 0)
        return r;
    /* Read the version inside the write transaction: two processes opening
     * a new database at once must not both run migration 1. */
    int v;
    if ((r = current_version(st, &v, err, errlen)) < 0 ||
        (r = refuse_newer(st, v, err, errlen)) < 0)
        goto fail;
    for (size_t i = 0; i < store_nmigrations; i++) {
        const struct store_migration *m = &store_migrations[i];
        if (m->version <= v || m->version > target)
            continue;
        int rc = sqlite3_exec(st->db, m->sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            char what[96];
            snprintf(what, sizeof what, "migration %d (%s)", m->version, m->what);
            r = store_fail(st, rc, what, err, errlen);
            goto fail;
        }
        sqlite3_stmt *s;
        if ((r = store_prepare(st,
                               "INSERT INTO schema_version(version, applied_utc, description) "
                               "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?2)",
                               &s, err, errlen)) < 0)
            goto fail;
        sqlite3_bind_int(s, 1, m->version);
        sqlite3_bind_text(s, 2, m->what, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            r = store_fail(st, rc, "schema_version", err, errlen);
            goto fail;
        }
    }
    return store_commit(st, err, errlen);
fail:
    store_rollback(st);
    return r;
}

static int pragma(struct store *st, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(st, rc, sql, err, errlen);
}

/* A connection's state before its file is opened; NULL when out of memory. */
static struct store *store_alloc(const char *path, char *err, size_t errlen)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        snprintf(err, errlen, "station database %s: out of memory", path);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->busy_ms = STORE_BUSY_TIMEOUT_MS;
    return st;
}

int store_open_at(struct store **out, const char *path, int target, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || target < 1 || target > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "station database: no path or bad version");
        return -EINVAL;
    }
    struct store *st = store_alloc(path, err, errlen);
    if (!st)
        return -ENOMEM;
    int rc = sqlite3_open_v2(
        path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int r;
    if (rc != SQLITE_OK) {
        r = store_fail(st, rc, "open", err, errlen);
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, st->busy_ms);
    /* Refuse a foreign or newer file before changing anything in it (the
     * journal mode is a property of the file). migrate() checks again
     * under the write lock. */
    int v;
    if ((r = current_version(st, &v, err, errlen)) < 0 ||
        (r = refuse_newer(st, v, err, errlen)) < 0)
        goto fail;
    /* WAL: readers (queries) never block the writer (the runs) and a crash
     * mid-transaction leaves the last committed state. synchronous=NORMAL
     * is crash-safe for the process; store_put_run raises it to FULL for a
     * verdict, which must survive a power loss too. */
    sqlite3_stmt *s;
    if ((r = store_prepare(st, "PRAGMA journal_mode = WAL", &s, err, errlen)) < 0)
        goto fail;
    rc = sqlite3_step(s);
    bool wal = rc == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) {
        r = store_fail(st, rc, "journal_mode=WAL", err, errlen);
        goto fail;
    }
    if (!wal) {
        snprintf(err, errlen, "station database %s: cannot use WAL journal mode here", path);
        r = -EIO;
        goto fail;
    }
    if ((r = pragma(st, "PRAGMA foreign_keys = ON", err, errlen)) < 0 ||
        (r = pragma(st, "PRAGMA synchronous = NORMAL", err, errlen)) < 0 ||
        (r = migrate(st, target, err, errlen)) < 0)
        goto fail;
    st->version = target;
    *out = st;
    return 0;
fail:
    store_close(st);
    return r;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
    return store_open_at(out, path, STORE_SCHEMA_VERSION, err, errlen);
}

int store_open_readonly(struct store **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    struct store *st = store_alloc(path, err, errlen);
    if (!st)
        return -ENOMEM;
    /* No CREATE, no journal-mode pragma, no migration: a reader must not
     * change the file, and one at another version cannot read it safely. */
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    int r, v = 0;
    if (rc != SQLITE_OK) {
        r = store_fail(st, rc, "open read-only", err, errlen);
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, st->busy_ms);
    if ((r = current_version(st, &v, err, errlen)) < 0)
        goto fail;
    if (v != STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "station database %s: schema version %d, this rig reads %d (rigd migrates it "
                 "when it opens it)",
                 path, v, STORE_SCHEMA_VERSION);
        r = -EPROTO;
        goto fail;
    }
    *out = st;
    return 0;
fail:
    store_close(st);
    return r;
}

void store_set_busy_timeout(struct store *st, int ms)
{
    pthread_mutex_lock(&st->lock);
    st->busy_ms = ms;
    sqlite3_busy_timeout(st->db, ms);
    pthread_mutex_unlock(&st->lock);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].s);
    sqlite3_close_v2(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}
