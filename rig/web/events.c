/* rigweb SSE fan-out (see events.h). */
#include "web/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "web/config.h"
#include "web/handlers.h"
#include "web/rigd_link.h"
#include "web/station.h"

/* One formatted SSE message, shared by every queue holding it. */
struct msg {
    atomic_int ref;
    bool droppable;
    bool station;      /* a marker: build a `station` snapshot here, in order */
    struct msg *built; /* a marker's snapshot, built by its first reader */
    size_t len;
    char text[];
};

struct client {
    struct events *ev;
    char session[WEB_ID_HEX]; /* the stream ends with its session */
    struct client *next;
    size_t soft, hard; /* the queue's caps (config sse_queue, 4 x that) */
    struct msg **q;    /* ring of `hard` */
    size_t head, n;
    unsigned long dropped; /* samples not sent since the last `dropped` */
    bool cut_off;
    /* The message being written (may take several reader calls). */
    struct msg *cur;
    size_t off;
};

struct events {
    struct web_app *app;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* something for a client, or closing */
    pthread_mutex_t build_mu; /* one snapshot built at a time */
    struct client *clients;
    bool closing;
    struct events_stats st;
};

static struct msg *msg_new(const char *event, const char *data, bool droppable)
{
    size_t len = strlen(event) + strlen(data) + 16;
    struct msg *m = malloc(sizeof *m + len + 1);
    if (!m)
        return NULL;
    atomic_init(&m->ref, 1);
    m->droppable = droppable;
    m->station = false;
    m->built = NULL;
    m->len = event[0] ? (size_t)snprintf(m->text, len + 1, "event: %s\ndata: %s\n\n", event, data)
                      : (size_t)snprintf(m->text, len + 1, "%s", data);
    return m;
}

static void msg_unref(struct msg *m)
{
    if (m && atomic_fetch_sub(&m->ref, 1) == 1) {
        msg_unref(m->built);
        free(m);
    }
}

int events_open(struct events **out, struct web_app *app)
{
    struct events *ev = calloc(1, sizeof *ev);
    if (!ev)
        return -ENOMEM;
    ev->app = app;
    pthread_mutex_init(&ev->mu, NULL);
    pthread_mutex_init(&ev->build_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->cond, &ca);
    pthread_condattr_destroy(&ca);
    *out = ev;
    return 0;
}

void events_shutdown(struct events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->closing = true;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->mu);
}

void events_close(struct events *ev)
{
    if (!ev)
        return;
    pthread_cond_destroy(&ev->cond);
    pthread_mutex_destroy(&ev->mu);
    pthread_mutex_destroy(&ev->build_mu);
    free(ev);
}

/* Queues m for client c (lock held): samples beyond c->soft are dropped,
 * anything beyond c->hard cuts the client off. */
static void enqueue(struct events *ev, struct client *c, struct msg *m)
{
    if (c->cut_off)
        return;
    if (m->droppable && c->n >= c->soft) {
        c->dropped++;
        ev->st.dropped++;
        return;
    }
    if (c->n >= c->hard) {
        c->cut_off = true;
        ev->st.cut_off++;
        return;
    }
    atomic_fetch_add(&m->ref, 1);
    c->q[(c->head + c->n) % c->hard] = m;
    c->n++;
}

static struct msg *station_marker(void)
{
    struct msg *m = msg_new("", "", false);
    if (m)
        m->station = true;
    return m;
}

/* Queues m (if any) for every browser, then a station snapshot marker
 * when station_after: the snapshot comes after the events before it. */
static void publish(struct events *ev, struct msg *m, bool station_after)
{
    struct msg *mark = station_after ? station_marker() : NULL;
    pthread_mutex_lock(&ev->mu);
    for (struct client *c = ev->clients; c; c = c->next) {
        if (m)
            enqueue(ev, c, m);
        if (mark)
            enqueue(ev, c, mark);
    }
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->mu);
    msg_unref(m);
    msg_unref(mark);
}

/* rigd event classes relayed, and whether a slow browser may miss them. */
static const struct {
    const char *cls;
    bool droppable;
} relayed[] = {
    { "run", false },    { "measurement", false }, { "devices", false },
    { "samples", true }, { NULL, false },
};

/* Events after which a fresh `station` follows: a run started (busy, its
 * operator and steps) or finished (today's count, the last result), a
 * device came or went. */
static const struct {
    const char *cls, *event;
} station_after[] = {
    { "run", "started" },      { "run", "finished" }, { "devices", "attached" },
    { "devices", "detached" }, { NULL, NULL },
};

static bool changes_station(const char *cls, const char *event)
{
    for (int i = 0; station_after[i].cls; i++)
        if (strcmp(station_after[i].cls, cls) == 0 && strcmp(station_after[i].event, event) == 0)
            return true;
    return false;
}

void events_on_rigd_event(void *user, const cJSON *o)
{
    struct events *ev = user;
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "class");
    if (!cJSON_IsString(cls))
        return;
    station_note_event(ev->app->station, o);
    for (int i = 0; relayed[i].cls; i++) {
        if (strcmp(relayed[i].cls, cls->valuestring) != 0)
            continue;
        char *text = cJSON_PrintUnformatted(o);
        if (!text)
            return;
        struct msg *m = msg_new(relayed[i].cls, text, relayed[i].droppable);
        free(text);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "event");
        bool again = cJSON_IsString(e) && changes_station(relayed[i].cls, e->valuestring);
        if (m)
            publish(ev, m, again);
        return;
    }
}

void events_on_rigd_state(void *user, bool connected)
{
    struct events *ev = user;
    publish(ev,
            msg_new("rigd", connected ? "{\"connected\":true}" : "{\"connected\":false}", false),
            connected);
}

void events_stats(struct events *ev, struct events_stats *out)
{
    pthread_mutex_lock(&ev->mu);
    *out = ev->st;
    pthread_mutex_unlock(&ev->mu);
}

static struct msg *station_msg(struct events *ev)
{
    cJSON *s = station_build(ev->app->station, ev->app->link);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    struct msg *m = text ? msg_new("station", text, false) : NULL;
    free(text);
    return m;
}

/* The next message for c, waiting up to the keep-alive; NULL when the
 * stream must end. */
static struct msg *next_msg(struct client *c)
{
    struct events *ev = c->ev;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)EV_KEEPALIVE;
    pthread_mutex_lock(&ev->mu);
    struct msg *m = NULL;
    for (;;) {
        if (ev->closing || c->cut_off)
            break;
        if (c->dropped && c->n < c->soft) {
            char data[64];
            snprintf(data, sizeof data, "{\"samples\":%lu}", c->dropped);
            c->dropped = 0;
            m = msg_new("dropped", data, false);
            break;
        }
        if (c->n) {
            m = c->q[c->head];
            c->head = (c->head + 1) % c->hard;
            c->n--;
            ev->st.sent++;
            break;
        }
        if (pthread_cond_timedwait(&ev->cond, &ev->mu, &ts) == ETIMEDOUT) {
            /* Logged out, expired, or the user changed: the stream ends
             * (the page then finds /api/me says 401). */
            if (!auth_session_valid(ev->app->auth, c->session))
                break;
            m = msg_new("", ": keep-alive\n\n", false);
            break;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    if (m && m->station) {
        /* Built on the thread of the first browser to reach the marker
         * (rigd's replies never stall the link), and shared with every
         * browser that reaches the same marker later: one snapshot per
         * change, not one per browser. Later readers get a snapshot at
         * least as new as their place in the stream. */
        pthread_mutex_lock(&ev->build_mu);
        if (!m->built)
            m->built = station_msg(ev);
        struct msg *snap = m->built;
        if (snap)
            atomic_fetch_add(&snap->ref, 1);
        pthread_mutex_unlock(&ev->build_mu);
        msg_unref(m);
        return snap ? snap : msg_new("", ": station unavailable\n\n", false);
    }
    return m;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct client *c = cls;
    if (!c->cur) {
        c->cur = next_msg(c);
        c->off = 0;
        if (!c->cur)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = c->cur->len - c->off;
    if (n > max)
        n = max;
    memcpy(buf, c->cur->text + c->off, n);
    c->off += n;
    if (c->off == c->cur->len) {
        msg_unref(c->cur);
        c->cur = NULL;
    }
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct client *c = cls;
    struct events *ev = c->ev;
    pthread_mutex_lock(&ev->mu);
    for (struct client **p = &ev->clients; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    /* Under the lock, so a browser leaving and one arriving cannot
     * reorder the watch changes (the link never takes ev->mu). */
    if (--ev->st.clients == 0 && ev->app->link)
        link_want_samples(ev->app->link, false);
    pthread_mutex_unlock(&ev->mu);
    for (size_t i = 0; i < c->n; i++)
        msg_unref(c->q[(c->head + i) % c->hard]);
    msg_unref(c->cur);
    free(c->q);
    free(c);
}

enum MHD_Result api_events(struct web_req *r)
{
    struct events *ev = r->app->events;
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return MHD_NO;
    c->ev = ev;
    c->soft = ev->app->cfg->sse_queue;
    c->hard = 4 * c->soft;
    c->q = calloc(c->hard, sizeof *c->q);
    if (!c->q) {
        free(c);
        return MHD_NO;
    }
    snprintf(c->session, sizeof c->session, "%s", r->sess.id);
    c->cur = msg_new("", "retry: 2000\n\n", false);
    c->q[0] = station_marker();
    c->n = c->q[0] ? 1 : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, c, stream_free);
    if (!resp) {
        msg_unref(c->cur);
        free(c);
        return MHD_NO;
    }
    pthread_mutex_lock(&ev->mu);
    c->next = ev->clients;
    ev->clients = c;
    if (ev->st.clients++ == 0)
        link_want_samples(ev->app->link, true);
    pthread_mutex_unlock(&ev->mu);
    /* A small send buffer keeps what a slow browser has not taken in
     * rigweb's queue, where samples can be dropped first, rather than in
     * megabytes of kernel buffer that only delay everything. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        int sndbuf = 64 * 1024;
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return web_queue(r, 200, resp);
}
