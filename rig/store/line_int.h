/* Inside the line-wide store: the connection, libpq errors as -errno, the
 * tables both databases share, COPY buffers. Not for callers of line.h. */
#ifndef RIG_STORE_LINE_INT_H
#define RIG_STORE_LINE_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/line.h"

struct line {
    PGconn *conn;
    char *station_id; /* NULL: each run's own station */
    long backoff_base_ms, backoff_cap_ms;
    /* Tests: fail store_sync after the PostgreSQL commit and before the
     * outbox is told, as a crash there would (the re-send case). */
    bool fail_after_commit;
    /* Tests: called between the PostgreSQL commit and the dequeue (a run
     * put again there must stay queued). */
    void (*after_commit)(void *ctx);
    void *after_commit_ctx;
    /* A connection-class error was seen: the session is gone even if libpq
     * has not noticed yet; reset it before the next push. */
    bool broken;
};

/* "line store: <what>: <libpq message>" in err; -ECONNREFUSED when the
 * connection is gone (or res, if any, carries a connection or shutdown
 * SQLSTATE: the server said goodbye before libpq noticed), else -EIO. */
int line_fail(struct line *ln, const PGresult *res, const char *what, char *err, size_t errlen);

/* Reset a connection that is gone (server restarted, network back). */
int line_ready(struct line *ln, char *err, size_t errlen);

/* The columns of each table, in the same order in both databases (the
 * station's keyed by rid, the line's by run_id); runs first, since the
 * children refer to it. */
struct line_table {
    const char *name;
    const char *columns;
};
enum { LINE_RUNS, LINE_NTABLES = 6 };
extern const struct line_table line_tables[LINE_NTABLES];

/* A growing byte buffer (COPY text). */
struct line_buf {
    char *p;
    size_t n, cap;
};
int line_buf_put(struct line_buf *b, const char *s, size_t n);
void line_buf_free(struct line_buf *b);

/* A batch of runs read from the station database, as COPY text per table. */
struct line_batch {
    size_t n, cap;
    long long *rid, *seq, *attempts;
    char **id;
    struct line_buf copy[LINE_NTABLES];
};
void line_batch_free(struct line_batch *b);

/* Read the runs of b (rid and id filled) from the station database into
 * b->copy, in one read transaction; called with the store's mutex held. */
int line_batch_read(struct store *st, struct line *ln, struct line_batch *b, char *err,
                    size_t errlen);
/* Replace b's runs in PostgreSQL in one transaction. */
int line_batch_push(struct line *ln, const struct line_batch *b, char *err, size_t errlen);

#endif
