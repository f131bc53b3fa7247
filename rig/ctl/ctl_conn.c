/* rigctl: connection to rigd (see ctl_conn.h). */
#include "ctl/ctl_conn.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Longest line accepted from rigd; events carrying sample blocks can be
 * large, but anything beyond this is a broken stream. */
#define CTL_MAX_LINE (8u * 1024u * 1024u)

const char *ctl_default_socket(char *tried, size_t tried_len)
{
    static char xdg_path[4096];
    const char *env = getenv("RIGD_SOCKET");
    if (env && *env) {
        snprintf(tried, tried_len, "%s (from $RIGD_SOCKET)", env);
        return env;
    }
    const char *sys = "/run/rigd/rigd.sock";
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) {
        struct stat st;
        snprintf(xdg_path, sizeof xdg_path, "%s/rigd.sock", xdg);
        snprintf(tried, tried_len, "%s, %s", xdg_path, sys);
        if (stat(xdg_path, &st) == 0)
            return xdg_path;
        /* A per-user rigd is not running: fall back to the system one. */
        return sys;
    }
    snprintf(tried, tried_len, "%s", sys);
    return sys;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ctl_connect(struct ctl_conn *c, const char *path, double timeout_s, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->next_id = 1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (e == ENOENT || e == ECONNREFUSED)
            snprintf(err, errlen, "rigd is not running (nothing listening on %s)", path);
        else if (e == EACCES)
            snprintf(err, errlen, "no permission to connect to %s (are you in rigd's group?)",
                     path);
        else
            snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
        ctl_close(c);
        return -1;
    }
    cJSON *g = NULL;
    int r = ctl_read(c, timeout_s, &g, err, errlen);
    if (r == 0)
        snprintf(err, errlen, "%s: no greeting from rigd within %.1f s", path, timeout_s);
    if (r <= 0) {
        ctl_close(c);
        return -1;
    }
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(g, "class");
    const cJSON *major = cJSON_GetObjectItemCaseSensitive(g, "proto_major");
    if (!cJSON_IsString(cls) || strcmp(cls->valuestring, "version") != 0 ||
        !cJSON_IsNumber(major)) {
        snprintf(err, errlen, "%s: not a rigd API socket (no version greeting)", path);
        cJSON_Delete(g);
        ctl_close(c);
        return -1;
    }
    if (major->valueint != 1) {
        snprintf(err, errlen, "rigd speaks API version %d, rigctl needs 1", major->valueint);
        cJSON_Delete(g);
        ctl_close(c);
        return -1;
    }
    c->greeting = g;
    return 0;
}

void ctl_close(struct ctl_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    cJSON_Delete(c->greeting);
    c->greeting = NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ctl_send(struct ctl_conn *c, cJSON *obj, int *id_out)
{
    if (id_out) {
        *id_out = c->next_id++;
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "id");
        cJSON_AddNumberToObject(obj, "id", *id_out);
    }
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return -1;
    size_t n = strlen(text);
    int r = write_all(c->fd, text, n);
    if (r == 0)
        r = write_all(c->fd, "\n", 1);
    cJSON_free(text);
    return r;
}

/* Takes one complete line out of the buffer, if there is one. */
static int take_line(struct ctl_conn *c, cJSON **out, char *err, size_t errlen)
{
    char *nl = memchr(c->buf, '\n', c->len);
    if (!nl)
        return 0;
    *nl = '\0';
    size_t used = (size_t)(nl - c->buf) + 1;
    *out = cJSON_Parse(c->buf);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (!*out) {
        snprintf(err, errlen, "rigd sent a malformed line");
        return -1;
    }
    return 1;
}

int ctl_read(struct ctl_conn *c, double timeout_s, cJSON **out, char *err, size_t errlen)
{
    double deadline = now_s() + timeout_s;
    *out = NULL;
    for (;;) {
        int r = c->buf ? take_line(c, out, err, errlen) : 0;
        if (r != 0)
            return r;
        if (c->eof) {
            snprintf(err, errlen, "rigd closed the connection");
            return -1;
        }
        int wait_ms = -1;
        if (timeout_s >= 0) {
            double left = deadline - now_s();
            if (left <= 0)
                return 0;
            /* A huge --timeout must not overflow the int (UB): poll
			 * at most a day at a time; the loop re-checks the deadline. */
            wait_ms = left >= 86400.0 ? 86400000 : (int)ceil(left * 1000.0);
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0) {
            if (errno == EINTR)
                return 0; /* let the caller check for signals */
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return -1;
        }
        if (pr == 0)
            continue; /* re-check the deadline */
        if (c->cap - c->len < 65536) {
            if (c->cap >= CTL_MAX_LINE) {
                snprintf(err, errlen, "rigd sent a line longer than %u bytes", CTL_MAX_LINE);
                return -1;
            }
            size_t ncap = c->cap ? c->cap * 2 : 131072;
            char *nb = realloc(c->buf, ncap);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "read from rigd: %s", strerror(errno));
            return -1;
        }
        if (n == 0)
            c->eof = true;
        c->len += (size_t)n;
    }
}

static bool is_reply_to(const cJSON *obj, int id)
{
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(obj, "id");
    return cJSON_IsNumber(rid) && rid->valuedouble == (double)id;
}

/* An error with no id: rigd could not read our request far enough to find
 * its id (not UTF-8, not JSON). It is the answer to what we just sent. */
static bool is_idless_error(const cJSON *obj)
{
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(obj, "class");
    return cJSON_IsString(cls) && strcmp(cls->valuestring, "error") == 0 &&
           !cJSON_GetObjectItemCaseSensitive(obj, "id");
}

/* rigd may answer a waiting request (session claim or run with
 * "wait":true) first with {"state":"queued",...} under the same id; the
 * final reply follows later. */
static bool is_interim(const cJSON *obj)
{
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(obj, "class");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(obj, "state");
    return !(cJSON_IsString(cls) && strcmp(cls->valuestring, "error") == 0) &&
           cJSON_IsString(state) && strcmp(state->valuestring, "queued") == 0;
}

int ctl_request(struct ctl_conn *c, cJSON *req, double timeout_s, ctl_event_fn on_event, void *user,
                cJSON **reply, char *err, size_t errlen)
{
    int id;
    *reply = NULL;
    int r = ctl_send(c, req, &id);
    cJSON_Delete(req);
    if (r < 0) {
        snprintf(err, errlen, "sending to rigd: %s", strerror(errno));
        return -1;
    }
    double deadline = now_s() + timeout_s;
    for (;;) {
        double left = timeout_s < 0 ? -1 : deadline - now_s();
        if (timeout_s >= 0 && left <= 0)
            return 0;
        cJSON *obj;
        r = ctl_read(c, left, &obj, err, errlen);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (timeout_s >= 0 && deadline - now_s() <= 0)
                return 0;
            continue;
        }
        if ((is_reply_to(obj, id) && !is_interim(obj)) || is_idless_error(obj)) {
            *reply = obj;
            return 1;
        }
        if (on_event)
            on_event(user, obj);
        cJSON_Delete(obj);
    }
}
