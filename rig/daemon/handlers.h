/* The API layer of rigd, the top but for main.c: request classes
 * (handlers.c), the "status" and "devices" replies (status.c) and the
 * station database's query classes (dbq.c). It calls
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

/* dbq.c: "history", "unit", "stats" and "import" (docs/API.md), run on a
 * query thread with its own database connection; the reply follows when
 * the query is done. dbq_new: after the stores are open (rigd->cfg.database);
 * NULL with err. dbq_free waits for a query still running. */
struct dbq *dbq_new(struct rigd *r, char *err, size_t errlen);
void dbq_free(struct dbq *q);
/* A client went away: its queries complete without a reply. */
void dbq_client_gone(struct dbq *q, const struct api_client *c);
void dbq_history(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req);
void dbq_unit(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req);
void dbq_stats(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req);
void dbq_import(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req);

#endif
