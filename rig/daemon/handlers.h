/* The API layer of rigd, the top but for main.c: request classes
 * (handlers.c) and the "status" and "devices" replies (status.c). It calls
 * every layer below (session.h, runner.h, bench.h); none of them calls
 * it.
 */
#ifndef RIGD_HANDLERS_H
#define RIGD_HANDLERS_H

#include <cjson/cJSON.h>

#include "daemon/bench.h"
#include "daemon/runner.h"
#include "daemon/session.h"

/* handlers.c: api_handlers hooks (user: struct rigd). */
void handlers_on_request(void *user, struct api_client *c, const char *cls, const cJSON *req);
void handlers_on_disconnect(void *user, struct api_client *c);

/* status.c: the "status" and "devices" replies; one: the fixture the
 * request named (or the only one), else NULL. */
cJSON *rigd_status_json(struct rigd *r, struct bench *one);
cJSON *rigd_devices_json(struct rigd *r, struct bench *one);

#endif
