/* rigd's JSON-lines API server (protocol: docs/API.md).
 *
 * A Unix stream socket served from an sd-event loop. Each line a client
 * sends is one JSON object with a "class"; the module frames and parses
 * lines, answers protocol errors itself, handles "watch" subscriptions, and
 * hands every other request to api_handlers.on_request. Replies, errors and
 * published events go through a bounded per-client output queue, so a slow
 * or vanished client never blocks the daemon or grows its memory without
 * bound.
 *
 * Lifetime: an api_client stays valid from the first on_request that
 * mentions it until on_disconnect is called for it (exactly once). Handlers
 * may reply later (asynchronously) as long as the client has not been
 * disconnected. Replying to a client whose connection already failed is
 * harmless: the message is dropped and on_disconnect follows from the event
 * loop.
 */
#ifndef RIG_API_H
#define RIG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "daemon/api/api_args.h"
#include "daemon/api/api_proto.h"

struct api_server;
struct api_client;

struct api_handlers {
    /* A well-formed request whose class is not "watch". `req` is only
	 * valid during the call (cJSON_Duplicate it to keep it). Unknown
	 * classes come here too: answer API_E_UNKNOWN_CLASS. Its "id", if
	 * any, is a cJSON raw item holding the id's JSON text as the client
	 * wrote it: copy it into a reply (api_reply, api_error, or
	 * cJSON_Duplicate for an interim message), never re-create it from
	 * a number or a C string, or the echo is no longer verbatim. */
    void (*on_request)(void *user, struct api_client *c, const char *cls, const cJSON *req);
    /* The client went away (EOF, reset, write error, overflow, server
	 * shutdown). Called once; `c` is freed right after it returns. */
    void (*on_disconnect)(void *user, struct api_client *c);
    /* Optional (NULL = not told): a "watch" request changed the client's
	 * subscriptions (called after the reply is queued). Lets the daemon
	 * start or stop costly producers (the sample stream) at once instead
	 * of polling api_has_watchers(). A client that disconnects is not
	 * reported here: on_disconnect covers it (it no longer counts as a
	 * watcher by then). */
    void (*on_watch)(void *user, struct api_client *c);
};

/* Default limits (see docs/API.md). */
#define API_DEFAULT_SOFT_CAP    (256u * 1024u)       /* samples dropped above this */
#define API_DEFAULT_HARD_CAP    (4u * 1024u * 1024u) /* client disconnected above this */
#define API_DEFAULT_MAX_CLIENTS 256

/* Creates the socket at `path` (mode 0660) and starts serving on `ev`.
 * An existing socket file is replaced only when nobody is listening on it;
 * any other existing file is left alone. Returns NULL with errno set
 * (EADDRINUSE: another server is listening; EEXIST: path is not a socket). */
struct api_server *api_server_new(sd_event *ev, const char *path, const struct api_handlers *h,
                                  void *user);
/* Disconnects every client (on_disconnect is called for each), closes and
 * unlinks the socket. NULL is a no-op. */
void api_server_free(struct api_server *s);

/* Changes the per-client output queue limits (bytes) and client limit;
 * applies to clients connecting afterwards. 0 keeps a value. */
void api_server_set_limits(struct api_server *s, size_t soft_cap, size_t hard_cap,
                           unsigned max_clients);

/* Sends `body` as the reply to `req` (which may be NULL): adds "class"
 * (the request's class unless body already has one) and echoes the
 * request's "id". Takes ownership of body. */
void api_reply(struct api_client *c, const cJSON *req, cJSON *body);
/* Sends {"class":"error","request":CLASS,"id":ID,"code":code,"message":...}. */
void api_error(struct api_client *c, const cJSON *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends an unsolicited object to one client (essential: never dropped).
 * Takes ownership. */
void api_send(struct api_client *c, cJSON *obj);

/* Sends `event` to every client watching `topic` ("class" = topic when the
 * event has none). "samples" events are droppable for slow clients. Takes
 * ownership. Unknown topics are a programming error and are ignored. */
void api_publish(struct api_server *s, const char *topic, cJSON *event);
/* True when at least one client watches `topic` (skip building costly
 * events nobody wants). */
bool api_has_watchers(const struct api_server *s, const char *topic);

/* Peer credentials taken at accept (SO_PEERCRED). 0 or -1. */
int api_client_peer(const struct api_client *c, uid_t *uid, pid_t *pid);
/* A short stable name for logs, e.g. "client#7(uid=1000,pid=4242)". */
const char *api_client_name(const struct api_client *c);
void api_client_set_user(struct api_client *c, void *data);
void *api_client_get_user(const struct api_client *c);
/* True when the client is watching `topic`. */
bool api_client_watching(const struct api_client *c, const char *topic);
/* Closes the connection after queued output is sent (on_disconnect follows). */
void api_client_close(struct api_client *c);

struct api_stats {
    unsigned clients;
    size_t queued_bytes;      /* all clients' output queues */
    size_t max_queued_bytes;  /* largest single client queue */
    uint64_t samples_dropped; /* since start */
    uint64_t overflow_disconnects;
    uint64_t requests;
    uint64_t protocol_errors;
};
void api_server_stats(const struct api_server *s, struct api_stats *out);

#endif
