/* rigd's JSON-lines API server on sd-event (see api.h, docs/API.md): the
 * listening socket and accepting clients, reading their lines and
 * dispatching requests (answering "watch" itself), the server's life cycle
 * and the client accessors. Sending to clients is api_send.c. */
#include "daemon/api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api/api_args.h"
#include "daemon/api/api_int.h"
#include "daemon/api/api_outq.h"
#include "daemon/api/api_socket.h"

#ifndef RIG_RELEASE
#define RIG_RELEASE "unknown"
#endif

/* Bytes read from one client per wake-up, so a client that floods
 * requests cannot starve the others or the devices. */
#define READ_BUDGET       (64 * 1024)
#define READ_CHUNK        (16 * 1024)
/* Connections accepted per wake-up (same reason). */
#define ACCEPT_BUDGET     32
/* After EMFILE/ENFILE, pause accepting for this long instead of spinning. */
#define ACCEPT_PAUSE_USEC (500 * 1000)

/* ---- client teardown ------------------------------------------------- */

static void client_free(struct api_client *c)
{
    sd_event_source_disable_unref(c->io);
    if (c->fd >= 0)
        close(c->fd);
    api_linebuf_free(&c->lb);
    api_outq_clear(&c->q);
    free(c);
}

static void client_unlink(struct api_server *s, struct api_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
}

/* Frees dead clients, telling the handler first. The handler may cause
 * more clients to die (e.g. a publish to a broken pipe), so rescan until
 * none are left. */
static void reap_dead(struct api_server *s)
{
    for (;;) {
        struct api_client *c = s->clients;
        while (c && !c->dead)
            c = c->next;
        if (!c)
            return;
        client_unlink(s, c);
        if (s->h.on_disconnect)
            s->h.on_disconnect(s->user, c);
        client_free(c);
    }
}

static int on_reap(sd_event_source *src, void *userdata)
{
    (void)src;
    reap_dead(userdata);
    return 0;
}

/* ---- requests -------------------------------------------------------- */

/* Parses "topics" (an array, checked by the member table) into a mask.
 * 0 on success, else an error was sent. */
static int watch_topics(struct api_client *c, const cJSON *req, const cJSON *topics, unsigned *mask)
{
    *mask = 0;
    const cJSON *t;
    /* Every element's type before any name: shape errors win over values. */
    cJSON_ArrayForEach (t, topics) {
        if (!cJSON_IsString(t)) {
            api_error(c, req, API_E_BAD_REQUEST, "\"topics\" must be an array of strings");
            return -1;
        }
    }
    cJSON_ArrayForEach (t, topics) {
        int i = api_topic_from_name(t->valuestring);
        if (i < 0) {
            api_error(c, req, API_E_BAD_ARGUMENT,
                      "unknown topic \"%.64s\" (known: devices, run, measurements, samples, log)",
                      t->valuestring);
            return -1;
        }
        *mask |= 1u << i;
    }
    return 0;
}

/* Tell the handler that c's subscriptions changed (from `before`). */
static void notify_watch(struct api_client *c, unsigned before)
{
    struct api_server *s = c->srv;
    if (c->topics != before && !c->dead && s->h.on_watch)
        s->h.on_watch(s->user, c);
}

static const struct api_member watch_members[] = {
    { "enable", API_T_BOOL, false },
    { "topics", API_T_ARRAY, false },
    { NULL, 0, false },
};

static void handle_watch(struct api_client *c, const cJSON *req)
{
    if (api_members_require(c, req, "watch", watch_members) < 0)
        return;
    const cJSON *enable = api_member(req, "enable");
    const cJSON *topics = api_member(req, "topics");
    bool on = !enable || cJSON_IsTrue(enable);
    unsigned mask = on ? API_TOPIC_DEFAULT : API_TOPIC_ALL;
    if (topics && watch_topics(c, req, topics, &mask) < 0)
        return;
    unsigned before = c->topics;
    if (on)
        c->topics |= mask;
    else
        c->topics &= ~mask;

    cJSON *body = cJSON_CreateObject();
    if (!body) {
        notify_watch(c, before);
        return;
    }
    cJSON_AddBoolToObject(body, "enable", c->topics != 0);
    cJSON *list = cJSON_AddArrayToObject(body, "topics");
    for (int i = 0; i < API_TOPIC_COUNT && list; i++)
        if (c->topics & (1u << i))
            cJSON_AddItemToArray(list, cJSON_CreateString(api_topic_name(i)));
    api_reply(c, req, body);
    notify_watch(c, before);
}

static void dispatch_line(struct api_client *c, const char *line, size_t len)
{
    struct api_server *s = c->srv;
    struct api_parsed p;
    s->stats.requests++;
    c->outstanding++; /* until api_reply()/api_error() answers it */
    if (api_parse_request(line, len, &p) < 0) {
        api_error(c, p.req, p.code, "%s", p.message);
    } else if (strcmp(p.cls, "watch") == 0) {
        handle_watch(c, p.req);
    } else if (s->h.on_request) {
        s->h.on_request(s->user, c, p.cls, p.req);
    } else {
        api_error(c, p.req, API_E_UNKNOWN_CLASS, "unknown class \"%.64s\"", p.cls);
    }
    api_parsed_clear(&p);
}

/* Splits freshly read bytes into lines and handles each. */
static void client_consume(struct api_client *c, const char *data, size_t n)
{
    while (!c->dead) {
        const char *line;
        size_t len;
        enum api_line_result r = api_linebuf_feed(&c->lb, &data, &n, &line, &len);
        if (r == API_LINE_NONE)
            break;
        if (r == API_LINE_TOO_LONG) {
            c->srv->stats.requests++;
            c->outstanding++;
            api_error(c, NULL, API_E_LINE_TOO_LONG, "request line longer than %d bytes: discarded",
                      API_MAX_LINE);
        } else {
            dispatch_line(c, line, len);
        }
    }
}

static void client_read(struct api_client *c)
{
    char buf[READ_CHUNK];
    size_t budget = READ_BUDGET;
    while (budget > 0 && !c->dead && !c->read_eof && !c->closing) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno != ECONNRESET)
                api_warnx("%s: read failed: %s", c->name, strerror(errno));
            api_client_kill(c);
            return;
        }
        if (n == 0) {
            /* Half-close ("printf req | socat"): answer what came, then
			 * close once the replies are out. */
            c->read_eof = true;
            const char *line;
            size_t len;
            if (api_linebuf_flush(&c->lb, &line, &len))
                dispatch_line(c, line, len);
            return;
        }
        budget -= (size_t)n < budget ? (size_t)n : budget;
        client_consume(c, buf, (size_t)n);
        /* Stop early when replies back up (see api_client_update_events). */
        if (c->q.bytes > c->q.soft_cap)
            return;
    }
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src;
    (void)fd;
    struct api_client *c = userdata;
    if (c->dead)
        return 0;
    if (revents & EPOLLIN)
        client_read(c);
    if (!c->dead && !api_outq_empty(&c->q))
        api_client_flush(c);
    else if (!c->dead)
        api_client_update_events(c);
    /* ERR/HUP with nothing left to read: the peer is gone for good. */
    if (!c->dead && (revents & (EPOLLERR | EPOLLHUP)) && !(revents & EPOLLIN))
        api_client_kill(c);
    return 0;
}

/* ---- accepting ------------------------------------------------------- */

static void send_greeting(struct api_client *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "class", "version");
    cJSON_AddStringToObject(o, "release", RIG_RELEASE);
    cJSON_AddNumberToObject(o, "proto_major", API_PROTO_MAJOR);
    cJSON_AddNumberToObject(o, "proto_minor", API_PROTO_MINOR);
    cJSON_AddNumberToObject(o, "max_line", API_MAX_LINE);
    api_send_obj(c, o);
}

/* Over the client limit: say why (best effort, never blocking) and close. */
static void refuse(int fd, unsigned max)
{
    char line[160];
    int n = snprintf(line, sizeof line,
                     "{\"class\":\"error\",\"code\":\"%s\",\"message\":\"more than %u clients\"}\n",
                     API_E_TOO_MANY_CLIENTS, max);
    if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* Nothing more to do for a client we are turning away. */
    }
    close(fd);
}

static void client_add(struct api_server *s, int fd)
{
    if (s->nclients >= s->max_clients) {
        refuse(fd, s->max_clients);
        return;
    }
    struct api_client *c = calloc(1, sizeof *c);
    if (!c || api_linebuf_init(&c->lb, API_MAX_LINE) < 0) {
        api_warnx("out of memory accepting a client");
        free(c);
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->id = ++s->next_id;
    api_outq_init(&c->q, s->soft_cap, s->hard_cap);
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
        c->have_cred = true;
        c->uid = cred.uid;
        c->pid = cred.pid;
        snprintf(c->name, sizeof c->name, "client#%llu(uid=%u,pid=%d)", (unsigned long long)c->id,
                 (unsigned)cred.uid, (int)cred.pid);
    } else {
        snprintf(c->name, sizeof c->name, "client#%llu", (unsigned long long)c->id);
    }
    int r = sd_event_add_io(s->ev, &c->io, fd, EPOLLIN, on_client_io, c);
    if (r < 0) {
        api_warnx("cannot watch %s: %s", c->name, strerror(-r));
        c->io = NULL;
        client_free(c);
        return;
    }
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    send_greeting(c);
}

static int on_accept_resume(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    struct api_server *s = userdata;
    sd_event_source_set_enabled(s->listen_io, SD_EVENT_ON);
    return 0;
}

static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)revents;
    struct api_server *s = userdata;
    for (int i = 0; i < ACCEPT_BUDGET; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            client_add(s, cfd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        api_warnx("accept failed: %s; pausing new connections", strerror(errno));
        /* EMFILE etc.: the listen fd stays readable, so pause instead of
		 * spinning on it. */
        sd_event_source_set_enabled(src, SD_EVENT_OFF);
        if (!s->accept_timer) {
            if (sd_event_add_time_relative(s->ev, &s->accept_timer, CLOCK_MONOTONIC,
                                           ACCEPT_PAUSE_USEC, 0, on_accept_resume, s) < 0)
                sd_event_source_set_enabled(src, SD_EVENT_ON);
        } else {
            sd_event_source_set_time_relative(s->accept_timer, ACCEPT_PAUSE_USEC);
            sd_event_source_set_enabled(s->accept_timer, SD_EVENT_ONESHOT);
        }
        break;
    }
    return 0;
}

static struct api_server *server_alloc(sd_event *ev, const struct api_handlers *h, void *user)
{
    struct api_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ev = sd_event_ref(ev);
    s->fd = -1;
    if (h)
        s->h = *h;
    s->user = user;
    s->soft_cap = API_DEFAULT_SOFT_CAP;
    s->hard_cap = API_DEFAULT_HARD_CAP;
    s->max_clients = API_DEFAULT_MAX_CLIENTS;
    return s;
}

static int server_start(struct api_server *s)
{
    int r = sd_event_add_io(s->ev, &s->listen_io, s->fd, EPOLLIN, on_listen, s);
    if (r >= 0)
        r = sd_event_add_defer(s->ev, &s->reaper, on_reap, s);
    if (r >= 0)
        r = sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

struct api_server *api_server_new(sd_event *ev, const char *path, const struct api_handlers *h,
                                  void *user)
{
    if (!ev || !path || !*path) {
        errno = EINVAL;
        return NULL;
    }
    struct api_server *s = server_alloc(ev, h, user);
    if (!s)
        return NULL;
    struct stat st;
    s->path = strdup(path);
    if (!s->path || (s->fd = api_listen_on(path, &st)) < 0) {
        int err = s->path ? errno : ENOMEM;
        free(s->path);
        s->path = NULL; /* not ours: do not unlink */
        api_server_free(s);
        errno = err;
        return NULL;
    }
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    if (server_start(s) < 0) {
        int err = errno;
        api_server_free(s);
        errno = err;
        return NULL;
    }
    return s;
}

void api_server_free(struct api_server *s)
{
    if (!s)
        return;
    for (struct api_client *c = s->clients; c; c = c->next)
        c->dead = true;
    reap_dead(s);
    sd_event_source_disable_unref(s->listen_io);
    sd_event_source_disable_unref(s->accept_timer);
    sd_event_source_disable_unref(s->reaper);
    if (s->fd >= 0)
        close(s->fd);
    /* Only remove the socket file if it is still ours (a newer rigd may
	 * have replaced it). */
    struct stat st;
    if (s->path && lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
        unlink(s->path);
    free(s->path);
    sd_event_unref(s->ev);
    free(s);
}

void api_server_set_limits(struct api_server *s, size_t soft_cap, size_t hard_cap,
                           unsigned max_clients)
{
    if (soft_cap)
        s->soft_cap = soft_cap;
    if (hard_cap)
        s->hard_cap = hard_cap;
    if (max_clients)
        s->max_clients = max_clients;
}

void api_server_stats(const struct api_server *s, struct api_stats *out)
{
    *out = s->stats;
    out->clients = s->nclients;
    out->queued_bytes = 0;
    out->max_queued_bytes = 0;
    for (const struct api_client *c = s->clients; c; c = c->next) {
        out->queued_bytes += c->q.bytes;
        if (c->q.bytes > out->max_queued_bytes)
            out->max_queued_bytes = c->q.bytes;
    }
}

/* ---- client accessors ------------------------------------------------ */

int api_client_peer(const struct api_client *c, uid_t *uid, pid_t *pid)
{
    if (!c || !c->have_cred)
        return -1;
    if (uid)
        *uid = c->uid;
    if (pid)
        *pid = c->pid;
    return 0;
}

const char *api_client_name(const struct api_client *c)
{
    return c ? c->name : "client#?";
}

void api_client_set_user(struct api_client *c, void *data)
{
    if (c)
        c->user = data;
}

void *api_client_get_user(const struct api_client *c)
{
    return c ? c->user : NULL;
}

bool api_client_watching(const struct api_client *c, const char *topic)
{
    int t = api_topic_from_name(topic);
    return c && t >= 0 && (c->topics & (1u << t));
}

void api_client_close(struct api_client *c)
{
    if (!c || c->dead)
        return;
    c->closing = true;
    api_client_update_events(c);
}
