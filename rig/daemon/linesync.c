/* The line store's sync thread (linesync.h). One pass: connect if there
 * is no connection, then store_sync until nothing is due. A connection
 * that cannot be made is noted as the outbox's last error and leaves the
 * entries as they are: their backoff is for pushes PostgreSQL refused, and
 * an outage should not push every run's next try minutes out, so the
 * backlog goes as soon as the line answers again. A pass that fails on
 * the connection drops it; the next pass connects afresh. */
#include "daemon/linesync.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"
#include "store/line.h"
#include "store/store.h"

struct linesync {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done_cond;
    bool kicked, stop, done;
    struct linesync_info info; /* under lock */
    /* the thread's own */
    struct store *st;
    struct line *ln;
    char *conninfo, *station_id;
    char last_logged[512]; /* log an error once, not every pass */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void note_error(struct linesync *ls, const char *what, const char *msg)
{
    if (strcmp(ls->last_logged, msg) != 0) {
        log_msg(LOG_WARNING, "line store: %s: %s (runs stay queued in the station database)", what,
                msg);
        snprintf(ls->last_logged, sizeof ls->last_logged, "%s", msg);
    }
}

static void set_connected(struct linesync *ls, bool up)
{
    pthread_mutex_lock(&ls->lock);
    ls->info.connected = up;
    pthread_mutex_unlock(&ls->lock);
}

/* One pass. Returns how long to wait for the next one unless kicked
 * (ms; -1: until kicked). */
static long pass(struct linesync *ls)
{
    char err[512];
    if (!ls->ln) {
        if (line_connect(&ls->ln, ls->conninfo, ls->station_id, err, sizeof err) < 0) {
            ls->ln = NULL;
            note_error(ls, "cannot connect", err);
            char e2[256];
            if (store_sync_note_error(ls->st, err, e2, sizeof e2) < 0)
                log_msg(LOG_WARNING, "line store: cannot note the error: %s", e2);
            return LINESYNC_RETRY_MS;
        }
        log_msg(LOG_NOTICE, "line store: connected");
        ls->last_logged[0] = '\0';
        set_connected(ls, true);
    }
    uint64_t t0 = mono_ms();
    struct store_sync_stats stats;
    int r = store_sync(ls->st, ls->ln, 0, &stats, err, sizeof err);
    double ms = (double)(mono_ms() - t0);
    if (r < 0) {
        note_error(ls, "push", err);
        if (r == -ECONNREFUSED) {
            line_close(ls->ln);
            ls->ln = NULL;
            set_connected(ls, false);
        }
    } else {
        ls->last_logged[0] = '\0';
    }
    if (stats.sent)
        log_msg(LOG_INFO, "line store: %lu run(s) pushed in %lu transaction(s), %.0f ms",
                stats.sent, stats.batches, ms);
    pthread_mutex_lock(&ls->lock);
    ls->info.passes++;
    ls->info.pushed += stats.sent;
    if (stats.sent)
        ls->info.last_pass_ms = ms;
    pthread_mutex_unlock(&ls->lock);
    struct store_sync_status s;
    if (store_sync_status(ls->st, &s, err, sizeof err) < 0) {
        log_msg(LOG_WARNING, "line store: outbox: %s", err);
        return LINESYNC_RETRY_MS;
    }
    /* Entries waiting out a backoff (or not yet pushed because of the
     * error): look again later; an empty outbox waits for the next run. */
    return s.backlog ? LINESYNC_RETRY_MS : -1;
}

static void deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *thread_main(void *arg)
{
    struct linesync *ls = arg;
    pthread_mutex_lock(&ls->lock);
    while (!ls->stop) {
        ls->kicked = false;
        pthread_mutex_unlock(&ls->lock);
        long wait_ms = pass(ls);
        pthread_mutex_lock(&ls->lock);
        if (wait_ms < 0) {
            while (!ls->kicked && !ls->stop)
                pthread_cond_wait(&ls->wake, &ls->lock);
        } else {
            struct timespec ts;
            deadline(&ts, wait_ms);
            while (!ls->kicked && !ls->stop &&
                   pthread_cond_timedwait(&ls->wake, &ls->lock, &ts) != ETIMEDOUT) {
            }
        }
    }
    pthread_mutex_unlock(&ls->lock);
    line_close(ls->ln);
    ls->ln = NULL;
    store_close(ls->st);
    ls->st = NULL;
    pthread_mutex_lock(&ls->lock);
    ls->done = true;
    pthread_cond_broadcast(&ls->done_cond);
    pthread_mutex_unlock(&ls->lock);
    return NULL;
}

/* conninfo with connect_timeout when it is key=value and has none. */
static char *with_timeout(const char *conninfo)
{
    char *out;
    if (strstr(conninfo, "://") || strstr(conninfo, "connect_timeout"))
        return strdup(conninfo);
    if (asprintf(&out, "%s connect_timeout=%d", conninfo, LINESYNC_CONNECT_TIMEOUT_S) < 0)
        return NULL;
    return out;
}

static void destroy(struct linesync *ls)
{
    pthread_cond_destroy(&ls->wake);
    pthread_cond_destroy(&ls->done_cond);
    pthread_mutex_destroy(&ls->lock);
    free(ls->conninfo);
    free(ls->station_id);
    free(ls);
}

int linesync_new(struct linesync **out, const char *database, const char *conninfo,
                 const char *station_id, char *err, size_t errlen)
{
    *out = NULL;
    struct linesync *ls = calloc(1, sizeof *ls);
    if (!ls) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&ls->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ls->wake, &ca);
    pthread_cond_init(&ls->done_cond, &ca);
    pthread_condattr_destroy(&ca);
    ls->conninfo = with_timeout(conninfo);
    ls->station_id = strdup(station_id);
    if (!ls->conninfo || !ls->station_id) {
        destroy(ls);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    char why[400];
    int r = store_open(&ls->st, database, why, sizeof why);
    if (r < 0) {
        snprintf(err, errlen, "line store: station database %.300s: %.190s", database, why);
        destroy(ls);
        return r;
    }
    /* rigd takes its signals through the event loop (blocked, read by
     * sd-event); a thread started before that must not take them either,
     * or a SIGTERM here would kill rigd instead of shutting it down. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&ls->thread, NULL, thread_main, ls);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        snprintf(err, errlen, "line store: cannot start its thread: %s", strerror(r));
        store_close(ls->st);
        destroy(ls);
        return -r;
    }
    *out = ls;
    return 0;
}

void linesync_kick(struct linesync *ls)
{
    if (!ls)
        return;
    pthread_mutex_lock(&ls->lock);
    ls->kicked = true;
    pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
}

void linesync_get_info(struct linesync *ls, struct linesync_info *out)
{
    pthread_mutex_lock(&ls->lock);
    *out = ls->info;
    pthread_mutex_unlock(&ls->lock);
}

void linesync_free(struct linesync *ls)
{
    if (!ls)
        return;
    struct timespec ts;
    deadline(&ts, LINESYNC_STOP_MS);
    pthread_mutex_lock(&ls->lock);
    ls->stop = true;
    pthread_cond_signal(&ls->wake);
    int r = 0;
    while (!ls->done && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&ls->done_cond, &ls->lock, &ts);
    bool done = ls->done;
    pthread_mutex_unlock(&ls->lock);
    if (!done) {
        /* Stuck in libpq (a server that stopped answering): leave it to
         * the process's exit; what it was pushing stays queued. */
        log_msg(LOG_WARNING,
                "line store: the sync thread did not stop within %d ms (PostgreSQL "
                "not answering); its runs stay queued",
                LINESYNC_STOP_MS);
        pthread_detach(ls->thread);
        return;
    }
    pthread_join(ls->thread, NULL);
    destroy(ls);
}
