/* rigweb's one connection to rigd (docs/API.md): a thread that connects
 * (and reconnects with backoff: 0.2 s doubling to 5 s), watches the
 * devices, run and measurements topics (samples on demand), hands every event to
 * on_event and every connect/disconnect to on_state, and matches replies
 * to the requests other threads send with link_request.
 *
 * Runs started through this connection belong to it: rigd aborts them if
 * rigweb goes away (docs/API.md, "run"). Callbacks run on the link's
 * thread and must not call link_request (they would wait for themselves). */
#ifndef RIG_WEB_RIGD_LINK_H
#define RIG_WEB_RIGD_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct rigd_link;

struct link_callbacks {
    void (*on_event)(void *user, const cJSON *ev);
    void (*on_state)(void *user, bool connected);
    void *user;
};

/* Starts the link thread (it connects in the background). 0 or -errno. */
int link_start(struct rigd_link **out, const char *socket_path, const struct link_callbacks *cb);
/* Stops the thread and closes the connection (pending requests fail). */
void link_stop(struct rigd_link *l);
bool link_connected(struct rigd_link *l);
/* Whether to watch rigd's `samples` topic (now and after reconnecting).
 * Watching makes rigd stream every sensor head, so rigweb watches only
 * while a browser is listening. */
void link_want_samples(struct rigd_link *l, bool want);

/* Sends `req` (taken; an "id" is added) and waits up to timeout_s for the
 * reply (interim "queued" replies are skipped). 0 with *reply (to free;
 * may be an "error" object), -ENOTCONN (rigd not connected, or lost while
 * waiting), -ETIMEDOUT, -ENOMEM. */
int link_request(struct rigd_link *l, cJSON *req, double timeout_s, cJSON **reply);

#endif
