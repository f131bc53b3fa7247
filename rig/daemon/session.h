/* The session layer of rigd, above the bench layer (bench.h): one session
 * per bench -- who may drive the pen -- and the bench's one queue of
 * waiting session claims and runs (benchq.h). It asks the runner layer
 * about runs only through the bench's hooks (run_active,
 * run_start_queued, run_abort_client), which runner_attach registers.
 */
#ifndef RIGD_SESSION_H
#define RIGD_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "daemon/bench.h"
#include "daemon/request.h"

/* Register the session layer's hooks on the bench (before it opens). */
void session_attach(struct bench *bench);

cJSON *session_owner_json(const struct session_owner *o);
bool session_owned_by(const struct bench *bench, const struct api_client *c);
/* The peer's user name (SO_PEERCRED uid), "uid N" or "an unknown user". */
void session_peer_user(const struct api_client *c, char *out, size_t len);
/* Claim for client c; on success fills bench->owner. 0, or -EBUSY. */
int session_claim(struct bench *bench, struct api_client *c, const cJSON *req, bool implicit);
/* Stop the motor, end the session, hand it to the next waiter. */
void session_release(struct bench *bench, const char *reason);
/* Any safe stop finished (the stop_done hook): hand the bench on. */
void session_after_stop(struct bench *bench);
/* The bench may have become free (a stop ended, a run ended, a session
 * was released): serve the queue's head -- a session claim or a run --
 * for as long as the bench is free for it. */
void bench_hand_on(struct bench *bench);
void session_client_gone(struct bench *bench, struct api_client *c);
/* The "session" request class. */
void session_handle(struct bench *bench, struct api_client *c, const cJSON *req);

#endif
