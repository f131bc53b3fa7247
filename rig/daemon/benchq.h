/* The one queue of a fixture's bench: who gets the bench next.
 *
 * Session claims with "wait" and runs that wait (with "wait", or behind a
 * motor stop in flight) queue here in the order they arrive, so neither
 * kind can jump the other; session.c's bench_hand_on() serves the head
 * whenever the bench may have become free. Pure bookkeeping on the event
 * thread: no replies, no devices.
 */
#ifndef RIGD_BENCHQ_H
#define RIGD_BENCHQ_H

#include <glib.h>

#include <cjson/cJSON.h>

struct api_client;

enum benchq_kind { BENCHQ_SESSION, BENCHQ_RUN };

struct benchq_entry {
    enum benchq_kind kind;
    struct api_client *c;
    cJSON *req; /* the request, duplicated: answered when served */
};

/* 0, or -ENOMEM. */
int benchq_push(GQueue *q, enum benchq_kind kind, struct api_client *c, const cJSON *req);
/* 1-based place of c's entry of this kind in the whole queue; 0: none. */
int benchq_position(const GQueue *q, const struct api_client *c, enum benchq_kind kind);
int benchq_count(const GQueue *q, enum benchq_kind kind);
/* The head (NULL when empty); pop it before serving it. */
struct benchq_entry *benchq_head(const GQueue *q);
struct benchq_entry *benchq_pop(GQueue *q);
void benchq_entry_free(struct benchq_entry *e);
/* Forget c's entries (it disconnected); free everything. */
void benchq_drop_client(GQueue *q, const struct api_client *c);
void benchq_clear(GQueue *q);

#endif
