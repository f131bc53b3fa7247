/* Per-client bounded output queue of the JSON-lines API.
 *
 * Messages are reference-counted so one published event is serialised once
 * and shared by every watcher. Two limits keep a slow client from costing
 * the daemon unbounded memory:
 *   - soft cap: "droppable" messages (live samples) are refused once the
 *     queue holds this many bytes, and counted so the client can be told;
 *   - hard cap: when even essential messages would exceed it (after
 *     dropping every queued droppable message), the push fails and the
 *     caller disconnects the client.
 * No I/O except api_outq_send(), which writes without blocking.
 */
#ifndef RIG_API_OUTQ_H
#define RIG_API_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_msg {
    unsigned refs;
    size_t len;
    char data[];
};

/* Copies `len` bytes and appends a newline. NULL when out of memory. */
struct api_msg *api_msg_new(const char *text, size_t len);
struct api_msg *api_msg_ref(struct api_msg *m);
void api_msg_unref(struct api_msg *m);

struct api_outq_entry;

struct api_outq {
    struct api_outq_entry *head, *tail;
    size_t head_off; /* bytes of head already sent */
    size_t bytes;    /* unsent bytes queued */
    size_t soft_cap, hard_cap;
    uint64_t dropped_pending; /* dropped since the client was last told */
    uint64_t dropped_total;
};

enum api_push_result {
    API_PUSH_OK,
    API_PUSH_DROPPED,  /* droppable message refused (counted) */
    API_PUSH_OVERFLOW, /* essential message does not fit: disconnect */
    API_PUSH_NOMEM,
};

void api_outq_init(struct api_outq *q, size_t soft_cap, size_t hard_cap);
void api_outq_clear(struct api_outq *q);
bool api_outq_empty(const struct api_outq *q);

/* Queues a reference to `m` (the caller keeps its own reference). */
enum api_push_result api_outq_push(struct api_outq *q, struct api_msg *m, bool droppable);

/* Writes as much as the socket takes without blocking. Returns 0 when the
 * queue is now empty, 1 when bytes remain (wait for POLLOUT), or -errno on
 * a write error (EPIPE, ECONNRESET, ...). */
int api_outq_send(struct api_outq *q, int fd);

#endif
