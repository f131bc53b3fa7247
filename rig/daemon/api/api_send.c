/* rigd's JSON-lines API server: sending to clients (see api.h, api_int.h):
 * composing replies and errors, publishing events to watchers, queueing
 * them on each client's bounded output queue (api_outq.c) and flushing it,
 * and killing a client whose connection failed or overflowed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "daemon/api/api_int.h"

/* A "dropped" notice is only queued once the queue has drained this far
 * below the soft cap; otherwise a client at the cap would get one notice
 * per dropped message. */
#define DROPPED_NOTICE_ROOM_DIV 2

void api_warnx(const char *fmt, ...)
{
    /* "<4>" is the journal's warning level when stderr goes there. */
    va_list ap;
    va_start(ap, fmt);
    fputs("<4>api: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- client teardown ------------------------------------------------- */

void api_client_kill(struct api_client *c)
{
    if (c->dead)
        return;
    c->dead = true;
    /* Stop watching the fd now; the memory goes in the reaper so that
	 * callers up the stack (handlers, publish loops) never see it freed. */
    if (c->io)
        sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
    if (c->srv->reaper)
        sd_event_source_set_enabled(c->srv->reaper, SD_EVENT_ONESHOT);
}

/* ---- output ---------------------------------------------------------- */

void api_client_update_events(struct api_client *c)
{
    if (c->dead)
        return;
    bool sent_all = api_outq_empty(&c->q);
    if (sent_all && (c->closing || (c->read_eof && c->outstanding == 0))) {
        /* Everything asked for has been answered and sent. */
        api_client_kill(c);
        return;
    }
    uint32_t ev = 0;
    /* Stop reading requests while replies pile up: a client that
	 * pipelines without reading slows itself down instead of being
	 * disconnected or costing memory. */
    if (!c->read_eof && !c->closing && c->q.bytes <= c->q.soft_cap)
        ev |= EPOLLIN;
    if (!sent_all)
        ev |= EPOLLOUT;
    /* ev may be 0 (half-closed client waiting for an asynchronous reply):
	 * epoll still reports HUP/ERR, so a peer that goes away is noticed. */
    if (sd_event_source_set_io_events(c->io, ev) < 0)
        api_client_kill(c);
}

static void maybe_notify_dropped(struct api_client *c);

void api_client_flush(struct api_client *c)
{
    for (int pass = 0; pass < 2; pass++) {
        int r = api_outq_send(&c->q, c->fd);
        if (r < 0) {
            /* EPIPE/ECONNRESET: the peer is gone, which is normal. */
            if (r != -EPIPE && r != -ECONNRESET)
                api_warnx("%s: write failed: %s", c->name, strerror(-r));
            api_client_kill(c);
            return;
        }
        /* The client caught up: tell it what it missed (once; the
		 * notice itself is sent by the second pass). */
        if (pass > 0 || c->q.dropped_pending == 0)
            break;
        maybe_notify_dropped(c);
    }
    api_client_update_events(c);
}

static struct api_msg *msg_from_json(const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return NULL;
    struct api_msg *m = api_msg_new(text, strlen(text));
    cJSON_free(text);
    return m;
}

/* Tells the client how many samples it missed, once there is room. */
static void maybe_notify_dropped(struct api_client *c)
{
    if (c->q.dropped_pending == 0 || c->q.bytes > c->q.soft_cap / DROPPED_NOTICE_ROOM_DIV)
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "class", "dropped");
    cJSON_AddStringToObject(o, "topic", "samples");
    cJSON_AddNumberToObject(o, "count", (double)c->q.dropped_pending);
    cJSON_AddNumberToObject(o, "total", (double)c->q.dropped_total);
    struct api_msg *m = msg_from_json(o);
    cJSON_Delete(o);
    if (!m)
        return;
    if (api_outq_push(&c->q, m, false) == API_PUSH_OK)
        c->q.dropped_pending = 0;
    api_msg_unref(m);
}

/* Queues one message and tries to send it right away (lowest latency;
 * batching happens by itself when the socket is full). */
static void client_queue(struct api_client *c, struct api_msg *m, bool droppable)
{
    if (c->dead || !m)
        return;
    bool was_empty = api_outq_empty(&c->q);
    maybe_notify_dropped(c);
    uint64_t dropped_before = c->q.dropped_total;
    enum api_push_result r = api_outq_push(&c->q, m, droppable);
    /* Refused now, or queued ones purged to make room. */
    c->srv->stats.samples_dropped += c->q.dropped_total - dropped_before;
    switch (r) {
    case API_PUSH_OK:
        break;
    case API_PUSH_DROPPED:
        return;
    case API_PUSH_OVERFLOW:
        api_warnx("%s: not reading, %zu bytes queued: disconnecting", c->name, c->q.bytes);
        c->srv->stats.overflow_disconnects++;
        api_client_kill(c);
        return;
    case API_PUSH_NOMEM:
        api_warnx("%s: out of memory queueing a message: disconnecting", c->name);
        api_client_kill(c);
        return;
    }
    if (was_empty)
        api_client_flush(c);
}

/* Builds the object to send: "class" and "id" first (easier to read in
 * logs and by eye), then the body's own members. Takes ownership of body. */
static cJSON *compose(const char *cls, const cJSON *id, cJSON *body)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        cJSON_Delete(body);
        return NULL;
    }
    cJSON *body_cls = body ? cJSON_DetachItemFromObjectCaseSensitive(body, "class") : NULL;
    if (body_cls)
        cJSON_AddItemToObject(o, "class", body_cls);
    else if (cls)
        cJSON_AddStringToObject(o, "class", cls);
    if (id) {
        cJSON *dup = cJSON_Duplicate(id, 1);
        if (dup)
            cJSON_AddItemToObject(o, "id", dup);
        if (body)
            cJSON_DeleteItemFromObjectCaseSensitive(body, "id");
    }
    while (body && body->child) {
        cJSON *item = cJSON_DetachItemViaPointer(body, body->child);
        if (!item->string) {
            cJSON_Delete(item); /* a non-object body: no key to keep */
            continue;
        }
        char *key = strdup(item->string);
        if (key) {
            cJSON_AddItemToObject(o, key, item);
            free(key);
        } else {
            cJSON_Delete(item);
        }
    }
    cJSON_Delete(body);
    return o;
}

static const char *req_class(const cJSON *req)
{
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(req, "class");
    return cJSON_IsString(cls) ? cls->valuestring : NULL;
}

void api_send_obj(struct api_client *c, cJSON *o)
{
    if (!o)
        return;
    struct api_msg *m = msg_from_json(o);
    cJSON_Delete(o);
    if (!m) {
        api_warnx("%s: out of memory serialising a message", c->name);
        return;
    }
    client_queue(c, m, false);
    api_msg_unref(m);
}

void api_reply(struct api_client *c, const cJSON *req, cJSON *body)
{
    if (!c || c->dead) {
        cJSON_Delete(body);
        return;
    }
    if (c->outstanding > 0)
        c->outstanding--;
    api_send_obj(c, compose(req_class(req), cJSON_GetObjectItemCaseSensitive(req, "id"), body));
}

static void error_v(struct api_client *c, const cJSON *req, const char *code, const char *fmt,
                    va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    cJSON *body = cJSON_CreateObject();
    if (!body)
        return;
    const char *cls = req_class(req);
    if (cls)
        cJSON_AddStringToObject(body, "request", cls);
    cJSON_AddStringToObject(body, "code", code);
    /* The message may quote client bytes or be cut mid-character by the
	 * buffer or a %.64s: keep only its valid UTF-8 prefix. */
    size_t mlen = strlen(message);
    while (mlen > 0 && !api_utf8_valid(message, mlen))
        mlen--;
    message[mlen] = '\0';
    if (mlen == 0)
        snprintf(message, sizeof message, "%s", code);
    cJSON_AddStringToObject(body, "message", message);
    c->srv->stats.protocol_errors++;
    api_send_obj(c, compose("error", cJSON_GetObjectItemCaseSensitive(req, "id"), body));
}

void api_error(struct api_client *c, const cJSON *req, const char *code, const char *fmt, ...)
{
    if (!c || c->dead)
        return;
    if (c->outstanding > 0)
        c->outstanding--;
    va_list ap;
    va_start(ap, fmt);
    error_v(c, req, code, fmt, ap);
    va_end(ap);
}

void api_send(struct api_client *c, cJSON *obj)
{
    if (!c || c->dead) {
        cJSON_Delete(obj);
        return;
    }
    api_send_obj(c, obj);
}

void api_publish(struct api_server *s, const char *topic, cJSON *event)
{
    int t = api_topic_from_name(topic);
    if (!s || t < 0 || !event) {
        cJSON_Delete(event);
        return;
    }
    if (!api_has_watchers(s, topic)) {
        cJSON_Delete(event);
        return;
    }
    cJSON *o = compose(topic, NULL, event);
    if (!o)
        return;
    /* Serialise once, share the bytes between all watchers. */
    struct api_msg *m = msg_from_json(o);
    cJSON_Delete(o);
    if (!m) {
        api_warnx("out of memory serialising a %s event", topic);
        return;
    }
    bool droppable = (t == API_TOPIC_SAMPLES);
    for (struct api_client *c = s->clients; c; c = c->next)
        if (!c->dead && (c->topics & (1u << t)))
            client_queue(c, m, droppable);
    api_msg_unref(m);
}

bool api_has_watchers(const struct api_server *s, const char *topic)
{
    int t = api_topic_from_name(topic);
    if (!s || t < 0)
        return false;
    for (const struct api_client *c = s->clients; c; c = c->next)
        if (!c->dead && (c->topics & (1u << t)))
            return true;
    return false;
}
