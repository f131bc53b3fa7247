/* rigd's push to the line-wide store (base layer): a thread of its own
 * with its own station database connection and PostgreSQL connection
 * drains the outbox (store_sync, rig/store/line.h) after each run's
 * verdict and every LINESYNC_RETRY_MS while a backlog is left, so neither
 * the event loop nor a run ever waits on the network (docs/DAEMON.md,
 * "Line store").
 *
 * Contract: linesync_new starts the thread (it connects by itself; a line
 * that cannot be reached is retried and its error is the outbox's last
 * error, as `status` shows). linesync_kick may be called from any thread,
 * NULL is a no-op. linesync_free stops the thread and waits at most
 * LINESYNC_STOP_MS: a PostgreSQL that hangs mid-push cannot hold rigd's
 * shutdown, the thread is left to die with the process and its runs stay
 * queued (the outbox is durable and a re-push idempotent). */
#ifndef RIGD_LINESYNC_H
#define RIGD_LINESYNC_H

#include <stdbool.h>
#include <stddef.h>

#define LINESYNC_RETRY_MS          5000
#define LINESYNC_STOP_MS           3000
/* Added to a key=value conninfo without one: a server that accepts the
 * socket but never answers must not hold a pass for ever. */
#define LINESYNC_CONNECT_TIMEOUT_S 5

struct linesync;

/* What the thread knows beyond the outbox (status "sync"). */
struct linesync_info {
    bool connected;       /* a PostgreSQL connection is open */
    unsigned long pushed; /* runs pushed by this rigd */
    unsigned long passes; /* sync passes run */
    double last_pass_ms;  /* duration of the last pass that pushed */
};

int linesync_new(struct linesync **out, const char *database, const char *conninfo,
                 const char *station_id, char *err, size_t errlen);
void linesync_kick(struct linesync *ls);
void linesync_get_info(struct linesync *ls, struct linesync_info *out);
void linesync_free(struct linesync *ls);

#endif
