/* What every API request class of rigd shares: an action table with the
 * members each action takes, its dispatch, and the check for text that
 * rigd logs or records. Base layer (scripts/check-layers): it knows no
 * bench, session or run, so the session layer (session.c) and the API
 * layer (handlers.c) can both dispatch through it.
 */
#ifndef RIGD_REQUEST_H
#define RIGD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "daemon/api/api.h"

struct bench;

/* A request class, or one action of a class: its handler and the members
 * it takes (api_args.h, NULL for none; checked before the handler runs).
 * Tables end with a NULL name. */
struct rigd_request {
    const char *name;
    void (*handle)(struct bench *bench, struct api_client *c, const cJSON *req);
    const struct api_member *members;
};
/* Runs the entry of `actions` named by req's "action" (dflt when absent;
 * NULL: "action" is required). Answers bad_request for a missing action
 * or an action's member of the wrong type, bad_argument for an unknown
 * action. */
void rigd_dispatch_action(struct bench *bench, struct api_client *c, const cJSON *req,
                          const char *cls, const struct rigd_request *actions, const char *dflt);
/* 1..max-1 bytes, none a control character: text rigd logs or records
 * (a newline would forge a log line). */
bool rigd_printable(const char *s, size_t max);

#endif
