/* rigweb's connection to rigd (see rigd_link.h). The JSON-lines transport
 * is rigctl's (ctl/ctl_conn.c); this adds the thread, reconnection and
 * matching of replies for several waiting threads. */
#include "web/rigd_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl_conn.h"

#define MAX_PENDING 256

struct pending {
    int id; /* 0: free slot */
    cJSON *reply;
    bool done;
    int err;
};

struct rigd_link {
    char *path;
    struct link_callbacks cb;
    pthread_t thread;
    pthread_mutex_t wmu; /* writes to the socket, and closing it */
    pthread_mutex_t mu;  /* everything below */
    pthread_cond_t cond;
    bool stop, connected, want_samples;
    struct ctl_conn conn;
    int next_id;
    struct pending pending[MAX_PENDING];
};

static void abs_deadline(struct timespec *ts, double s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    long ns = ts->tv_nsec + (long)((s - (double)(long)s) * 1e9);
    ts->tv_sec += (time_t)s + ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

/* Hands a line from rigd to its waiting request, else to on_event. */
static void dispatch(struct rigd_link *l, cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (cJSON_IsNumber(id)) {
        if (cJSON_IsString(state) && strcmp(state->valuestring, "queued") == 0) {
            cJSON_Delete(o); /* interim: the final reply follows */
            return;
        }
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < MAX_PENDING; i++) {
            struct pending *p = &l->pending[i];
            if (p->id && p->id == id->valueint && !p->done) {
                p->reply = o;
                p->done = true;
                o = NULL;
                pthread_cond_broadcast(&l->cond);
                break;
            }
        }
        pthread_mutex_unlock(&l->mu);
        cJSON_Delete(o); /* a reply nobody waits for (the watch request's) */
        return;
    }
    if (l->cb.on_event)
        l->cb.on_event(l->cb.user, o);
    cJSON_Delete(o);
}

static void fail_pending(struct rigd_link *l)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &l->pending[i];
        if (p->id && !p->done) {
            p->done = true;
            p->err = -ENOTCONN;
        }
    }
    pthread_cond_broadcast(&l->cond);
}

/* Watches `topics` (NULL-terminated) or stops watching them. */
static int send_watch(struct rigd_link *l, const char *const *topics, bool enable)
{
    cJSON *w = cJSON_CreateObject();
    cJSON *t = cJSON_AddArrayToObject(w, "topics");
    for (; *topics; topics++)
        cJSON_AddItemToArray(t, cJSON_CreateString(*topics));
    cJSON_AddStringToObject(w, "class", "watch");
    cJSON_AddBoolToObject(w, "enable", enable);
    cJSON_AddNumberToObject(w, "id", 0); /* 0: no request waits for it */
    pthread_mutex_lock(&l->wmu);
    int r = ctl_send(&l->conn, w, NULL);
    pthread_mutex_unlock(&l->wmu);
    cJSON_Delete(w);
    return r;
}

/* Sleeps `s` seconds unless told to stop. */
static bool nap(struct rigd_link *l, double s)
{
    struct timespec ts;
    abs_deadline(&ts, s);
    pthread_mutex_lock(&l->mu);
    while (!l->stop && pthread_cond_timedwait(&l->cond, &l->mu, &ts) != ETIMEDOUT) {
    }
    bool stop = l->stop;
    pthread_mutex_unlock(&l->mu);
    return !stop;
}

static void *link_main(void *arg)
{
    struct rigd_link *l = arg;
    double backoff = 0.2;
    char err[256];
    for (;;) {
        pthread_mutex_lock(&l->mu);
        bool stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        struct ctl_conn c;
        if (ctl_connect(&c, l->path, 2.0, err, sizeof err) != 0) {
            if (!nap(l, backoff))
                break;
            backoff = backoff * 2 > 5.0 ? 5.0 : backoff * 2;
            continue;
        }
        backoff = 0.2;
        pthread_mutex_lock(&l->wmu);
        l->conn = c;
        pthread_mutex_unlock(&l->wmu);
        static const char *const base[] = { "devices", "run", "measurements", NULL };
        static const char *const with_samples[] = { "devices", "run", "measurements", "samples",
                                                    NULL };
        pthread_mutex_lock(&l->mu);
        bool samples = l->want_samples;
        pthread_mutex_unlock(&l->mu);
        if (send_watch(l, samples ? with_samples : base, true) == 0) {
            pthread_mutex_lock(&l->mu);
            l->connected = true;
            pthread_mutex_unlock(&l->mu);
            fprintf(stderr, "rigweb: connected to rigd at %s\n", l->path);
            if (l->cb.on_state)
                l->cb.on_state(l->cb.user, true);
            for (;;) {
                cJSON *o = NULL;
                /* Reads without the lock: writers only use the fd. */
                int r = ctl_read(&l->conn, 0.25, &o, err, sizeof err);
                if (r < 0)
                    break;
                if (r > 0)
                    dispatch(l, o);
                pthread_mutex_lock(&l->mu);
                stop = l->stop;
                pthread_mutex_unlock(&l->mu);
                if (stop)
                    break;
            }
        }
        pthread_mutex_lock(&l->wmu);
        pthread_mutex_lock(&l->mu);
        bool was = l->connected;
        l->connected = false;
        ctl_close(&l->conn);
        pthread_mutex_unlock(&l->wmu);
        fail_pending(l);
        stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (was) {
            if (!stop)
                fprintf(stderr, "rigweb: lost rigd (%s); reconnecting\n", err);
            if (l->cb.on_state)
                l->cb.on_state(l->cb.user, false);
        }
    }
    return NULL;
}

int link_start(struct rigd_link **out, const char *socket_path, const struct link_callbacks *cb)
{
    struct rigd_link *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(socket_path))) {
        free(l);
        return -ENOMEM;
    }
    l->cb = *cb;
    l->conn.fd = -1;
    l->next_id = 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->wmu, NULL);
    int r = pthread_create(&l->thread, NULL, link_main, l);
    if (r) {
        free(l->path);
        free(l);
        return -r;
    }
    *out = l;
    return 0;
}

void link_stop(struct rigd_link *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->wmu);
    free(l->path);
    free(l);
}

bool link_connected(struct rigd_link *l)
{
    pthread_mutex_lock(&l->mu);
    bool c = l->connected;
    pthread_mutex_unlock(&l->mu);
    return c;
}

void link_want_samples(struct rigd_link *l, bool want)
{
    static const char *const samples[] = { "samples", NULL };
    pthread_mutex_lock(&l->mu);
    bool change = l->want_samples != want, connected = l->connected;
    l->want_samples = want;
    pthread_mutex_unlock(&l->mu);
    /* Not connected: the next connection's watch says it. */
    if (change && connected)
        send_watch(l, samples, want);
}

int link_request(struct rigd_link *l, cJSON *req, double timeout_s, cJSON **reply)
{
    *reply = NULL;
    pthread_mutex_lock(&l->mu);
    struct pending *p = NULL;
    for (int i = 0; i < MAX_PENDING && !p; i++)
        if (!l->pending[i].id)
            p = &l->pending[i];
    if (!l->connected || !p) {
        pthread_mutex_unlock(&l->mu);
        cJSON_Delete(req);
        return l->connected ? -EAGAIN : -ENOTCONN;
    }
    memset(p, 0, sizeof *p);
    p->id = l->next_id++;
    if (l->next_id > 1000000000)
        l->next_id = 1;
    cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
    cJSON_AddNumberToObject(req, "id", p->id);
    pthread_mutex_unlock(&l->mu);
    /* Sent outside mu: a send that blocks (rigd not reading) must not stop
     * the link thread from handing out replies. */
    pthread_mutex_lock(&l->wmu);
    int r = l->conn.fd >= 0 && ctl_send(&l->conn, req, NULL) == 0 ? 0 : -ENOTCONN;
    pthread_mutex_unlock(&l->wmu);
    cJSON_Delete(req);
    pthread_mutex_lock(&l->mu);
    struct timespec ts;
    abs_deadline(&ts, timeout_s);
    while (r == 0 && !p->done)
        if (pthread_cond_timedwait(&l->cond, &l->mu, &ts) == ETIMEDOUT)
            r = -ETIMEDOUT;
    if (r == 0 && p->done)
        r = p->err;
    if (r == 0)
        *reply = p->reply;
    else
        cJSON_Delete(p->reply);
    memset(p, 0, sizeof *p);
    pthread_mutex_unlock(&l->mu);
    return r;
}
