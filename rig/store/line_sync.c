/* Draining the outbox (store-and-forward): a batch of queued runs is read
 * from the station database under its mutex, pushed to PostgreSQL with
 * the mutex released (the station's writer never waits on the network),
 * then dequeued in a station transaction.
 *
 * No loss: an entry leaves the outbox only after the PostgreSQL commit of
 * its run, and only if its seq is still the one that was read (a run put
 * again meanwhile got a new seq and stays queued for its newer version).
 * No duplicate: the line keys runs by run id and a push replaces them, so
 * a batch sent twice (a crash between the PostgreSQL commit and the
 * dequeue, or a COMMIT whose answer was lost) leaves one copy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/line_int.h"
#include "store/store_int.h"

static void utc_after(long ms, char out[STORE_UTC_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    store_utc(&ts, out);
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "line store: out of memory");
    return -ENOMEM;
}

/* The next due entries, oldest first, into b (mutex held). */
static int select_due(struct store *st, struct line_batch *b, size_t max, char *err, size_t errlen)
{
    char now[STORE_UTC_LEN];
    utc_after(0, now);
    if (!(b->rid = calloc(max, sizeof *b->rid)) || !(b->seq = calloc(max, sizeof *b->seq)) ||
        !(b->attempts = calloc(max, sizeof *b->attempts)) || !(b->id = calloc(max, sizeof *b->id)))
        return oom(err, errlen);
    b->cap = max;
    sqlite3_stmt *s;
    int r = store_prepare(st,
                          "SELECT o.rid, o.seq, o.attempts, r.id FROM outbox o"
                          " JOIN runs r ON r.rid = o.rid WHERE o.next_try_utc <= ?1"
                          " ORDER BY o.seq LIMIT ?2",
                          &s, err, errlen);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    int rc;
    while (r == 0 && b->n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        b->rid[b->n] = sqlite3_column_int64(s, 0);
        b->seq[b->n] = sqlite3_column_int64(s, 1);
        b->attempts[b->n] = sqlite3_column_int64(s, 2);
        if (!(b->id[b->n] = strdup((const char *)sqlite3_column_text(s, 3))))
            r = oom(err, errlen);
        else
            b->n++;
    }
    if (r == 0 && b->n < max && rc != SQLITE_DONE)
        r = store_fail(st, rc, "read the outbox", err, errlen);
    sqlite3_finalize(s);
    return r;
}

/* After the PostgreSQL commit: dequeue what was sent (unless queued again
 * since) and note the success. */
static int mark_sent(struct store *st, const struct line_batch *b, char *err, size_t errlen)
{
    char now[STORE_UTC_LEN];
    utc_after(0, now);
    pthread_mutex_lock(&st->lock);
    int r = store_begin(st, err, errlen);
    sqlite3_stmt *d = NULL, *u = NULL;
    if (r == 0)
        r = store_prepare(st, "DELETE FROM outbox WHERE rid = ?1 AND seq = ?2", &d, err, errlen);
    for (size_t i = 0; r == 0 && i < b->n; i++) {
        sqlite3_bind_int64(d, 1, b->rid[i]);
        sqlite3_bind_int64(d, 2, b->seq[i]);
        int rc = sqlite3_step(d);
        sqlite3_reset(d);
        if (rc != SQLITE_DONE)
            r = store_fail(st, rc, "dequeue", err, errlen);
    }
    if (r == 0 && (r = store_prepare(st,
                                     "UPDATE sync_state SET last_success_utc = ?1,"
                                     " sent = sent + ?2",
                                     &u, err, errlen)) == 0) {
        sqlite3_bind_text(u, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_int64(u, 2, (sqlite3_int64)b->n);
        int rc = sqlite3_step(u);
        if (rc != SQLITE_DONE)
            r = store_fail(st, rc, "sync state", err, errlen);
    }
    sqlite3_finalize(d);
    sqlite3_finalize(u);
    if (r == 0)
        r = store_commit(st, err, errlen);
    else
        store_rollback(st);
    pthread_mutex_unlock(&st->lock);
    return r;
}

/* A failed push: every entry of the batch keeps its place, with the error,
 * one more attempt and a next try after base * 2^(attempts - 1), capped.
 * Best effort: if the station database refuses this too, the entries are
 * simply due again (nothing is lost either way). */
static void mark_failed(struct store *st, struct line *ln, const struct line_batch *b,
                        const char *msg)
{
    char now[STORE_UTC_LEN], next[STORE_UTC_LEN], e[256];
    utc_after(0, now);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *u = NULL, *g = NULL;
    if (store_begin(st, e, sizeof e) == 0 &&
        store_prepare(st,
                      "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,"
                      " next_try_utc = ?3 WHERE rid = ?1",
                      &u, e, sizeof e) == 0 &&
        store_prepare(st, "UPDATE sync_state SET last_error = ?1, last_error_utc = ?2", &g, e,
                      sizeof e) == 0) {
        for (size_t i = 0; i < b->n; i++) {
            long ms = ln->backoff_base_ms;
            for (long long a = 0; a < b->attempts[i] && ms < ln->backoff_cap_ms; a++)
                ms *= 2;
            utc_after(ms < ln->backoff_cap_ms ? ms : ln->backoff_cap_ms, next);
            sqlite3_bind_int64(u, 1, b->rid[i]);
            sqlite3_bind_text(u, 2, msg, -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 3, next, -1, SQLITE_STATIC);
            sqlite3_step(u);
            sqlite3_reset(u);
        }
        sqlite3_bind_text(g, 1, msg, -1, SQLITE_STATIC);
        sqlite3_bind_text(g, 2, now, -1, SQLITE_STATIC);
        sqlite3_step(g);
        sqlite3_finalize(u);
        sqlite3_finalize(g);
        u = g = NULL;
        store_commit(st, e, sizeof e);
    }
    sqlite3_finalize(u);
    sqlite3_finalize(g);
    store_rollback(st);
    pthread_mutex_unlock(&st->lock);
}

/* Push the runs of b one per transaction: those PostgreSQL accepts are
 * dequeued, a refused one keeps its error and backs off. Returns the
 * first error (after trying them all, unless the connection went). */
static int one_by_one(struct store *st, struct line *ln, const struct line_batch *b,
                      struct store_sync_stats *out, char *err, size_t errlen)
{
    int first = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct line_batch one = { .n = 1 };
        one.rid = &b->rid[i];
        one.seq = &b->seq[i];
        one.attempts = &b->attempts[i];
        one.id = &b->id[i];
        pthread_mutex_lock(&st->lock);
        int r = line_batch_read(st, ln, &one, err, errlen);
        pthread_mutex_unlock(&st->lock);
        if (r == 0 && (r = line_batch_push(ln, &one, err, errlen)) < 0) {
            mark_failed(st, ln, &one, err);
            out->failed++;
        } else if (r == 0 && (r = mark_sent(st, &one, err, errlen)) == 0) {
            out->sent++;
            out->batches++;
        }
        for (int t = 0; t < LINE_NTABLES; t++)
            line_buf_free(&one.copy[t]);
        if (r < 0 && !first)
            first = r;
        if (r < 0 && r != -EIO)
            return r; /* the connection or the station database: stop */
    }
    return first;
}

int store_sync(struct store *st, struct line *ln, unsigned long max, struct store_sync_stats *out,
               char *err, size_t errlen)
{
    struct store_sync_stats z = { 0 };
    if (!out)
        out = &z;
    *out = z;
    if (!st || !ln) {
        snprintf(err, errlen, "line store: bad argument");
        return -EINVAL;
    }
    int r = 0;
    while (r == 0 && (!max || out->sent < max)) {
        size_t want = LINE_BATCH;
        if (max && max - out->sent < want)
            want = max - out->sent;
        struct line_batch b = { 0 };
        pthread_mutex_lock(&st->lock);
        r = select_due(st, &b, want, err, errlen);
        if (r == 0 && b.n)
            r = line_batch_read(st, ln, &b, err, errlen);
        pthread_mutex_unlock(&st->lock);
        if (r == 0 && !b.n) {
            line_batch_free(&b);
            break;
        }
        if (r == 0 && (r = line_batch_push(ln, &b, err, errlen)) < 0) {
            if (r == -EIO && b.n > 1) {
                /* PostgreSQL refused the data, not the connection: find
                 * the run(s) it refuses, so one bad run cannot hold back
                 * every run queued after it. */
                r = one_by_one(st, ln, &b, out, err, errlen);
                line_batch_free(&b);
                continue;
            }
            mark_failed(st, ln, &b, err);
            out->failed += b.n;
        }
        if (r == 0 && ln->after_commit)
            ln->after_commit(ln->after_commit_ctx);
        if (r == 0 && ln->fail_after_commit) {
            snprintf(err, errlen, "line store: test: failing after the commit");
            r = -ECANCELED;
        }
        if (r == 0 && (r = mark_sent(st, &b, err, errlen)) == 0) {
            out->sent += b.n;
            out->batches++;
        }
        line_batch_free(&b);
    }
    return r;
}

int store_sync_note_error(struct store *st, const char *msg, char *err, size_t errlen)
{
    char now[STORE_UTC_LEN];
    utc_after(0, now);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st, "UPDATE sync_state SET last_error = ?1, last_error_utc = ?2", &s, err,
                          errlen);
    if (r == 0) {
        sqlite3_bind_text(s, 1, msg, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            r = store_fail(st, rc, "sync state", err, errlen);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

static void text_col(sqlite3_stmt *s, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

int store_sync_status(struct store *st, struct store_sync_status *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char now[STORE_UTC_LEN];
    utc_after(0, now);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s;
    int r = store_prepare(st,
                          "SELECT (SELECT count(*) FROM outbox),"
                          " (SELECT count(*) FROM outbox WHERE next_try_utc <= ?1),"
                          " (SELECT min(enqueued_utc) FROM outbox),"
                          " (SELECT min(next_try_utc) FROM outbox WHERE next_try_utc > ?1),"
                          " (SELECT coalesce(max(attempts), 0) FROM outbox),"
                          " last_error, last_error_utc, last_success_utc, sent FROM sync_state",
                          &s, err, errlen);
    if (r == 0) {
        sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            out->backlog = sqlite3_column_int64(s, 0);
            out->due = sqlite3_column_int64(s, 1);
            text_col(s, 2, out->oldest, sizeof out->oldest);
            text_col(s, 3, out->next_try, sizeof out->next_try);
            out->max_attempts = sqlite3_column_int64(s, 4);
            text_col(s, 5, out->last_error, sizeof out->last_error);
            text_col(s, 6, out->last_error_at, sizeof out->last_error_at);
            text_col(s, 7, out->last_success_at, sizeof out->last_success_at);
            out->sent = sqlite3_column_int64(s, 8);
        } else {
            r = store_fail(st, rc, "sync status", err, errlen);
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return r;
}

static void add_text(cJSON *o, const char *k, const char *v)
{
    if (v[0])
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *store_sync_status_json(const struct store_sync_status *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "backlog", (double)s->backlog);
    cJSON_AddNumberToObject(o, "due", (double)s->due);
    add_text(o, "oldest", s->oldest);
    add_text(o, "next_try", s->next_try);
    cJSON_AddNumberToObject(o, "max_attempts", (double)s->max_attempts);
    add_text(o, "last_error", s->last_error);
    add_text(o, "last_error_at", s->last_error_at);
    add_text(o, "last_success_at", s->last_success_at);
    cJSON_AddNumberToObject(o, "sent", (double)s->sent);
    return o;
}
