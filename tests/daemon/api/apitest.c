/* Helpers for the API tests (see apitest.h). */
#include "apitest.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int try_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void testd_start(struct testd *t, const char *const *extra)
{
    const char *bin = getenv("API_TESTD");
    ck_assert_msg(bin != NULL, "API_TESTD not set (run through meson test)");
    snprintf(t->dir, sizeof t->dir, "/tmp/apitest.XXXXXX");
    ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(t->path, sizeof t->path, "%s/api.sock", t->dir);
    const char *argv[16] = { bin, "--socket", t->path };
    int n = 3;
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    t->pid = fork();
    ck_assert_int_ge(t->pid, 0);
    if (t->pid == 0) {
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    double end = now_s() + T_TIMEOUT_S;
    for (;;) {
        int fd = try_connect(t->path);
        if (fd >= 0) {
            close(fd);
            return;
        }
        int status;
        ck_assert_msg(waitpid(t->pid, &status, WNOHANG) == 0, "api_testd exited at start");
        ck_assert_msg(now_s() < end, "api_testd did not start listening");
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

int testd_stop(struct testd *t)
{
    int status = -1;
    kill(t->pid, SIGTERM);
    if (waitpid(t->pid, &status, 0) < 0)
        status = -1;
    unlink(t->path);
    rmdir(t->dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void tconn_open(struct tconn *c, const char *path, bool greeting)
{
    memset(c, 0, sizeof *c);
    c->fd = try_connect(path);
    ck_assert_msg(c->fd >= 0, "connect %s: %s", path, strerror(errno));
    if (greeting) {
        cJSON *g = tconn_read(c, T_TIMEOUT_S);
        ck_assert_ptr_nonnull(g);
        ck_assert_str_eq(jstr(g, "class"), "version");
        ck_assert_int_eq((int)jnum(g, "proto_major"), 1);
        cJSON_Delete(g);
    }
}

void tconn_close(struct tconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

void tconn_send(struct tconn *c, const char *bytes, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, bytes, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        ck_assert_msg(w > 0, "send: %s", strerror(errno));
        bytes += w;
        n -= (size_t)w;
    }
}

void tconn_sendstr(struct tconn *c, const char *s)
{
    tconn_send(c, s, strlen(s));
}

/* Reads more bytes; 0 on EOF, -1 on timeout. */
static int fill(struct tconn *c, double deadline)
{
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 262144;
        c->buf = realloc(c->buf, c->cap);
        ck_assert_ptr_nonnull(c->buf);
    }
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, (int)ceil(left * 1000));
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(r, 0);
        if (r == 0)
            continue;
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ECONNRESET)
            return 0;
        ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
        c->len += (size_t)n;
        return n > 0 ? 1 : 0;
    }
}

char *tconn_read_line(struct tconn *c, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = malloc(n + 1);
            ck_assert_ptr_nonnull(line);
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        int r = fill(c, deadline);
        ck_assert_msg(r >= 0, "no line from the server within %.0f s", timeout_s);
        if (r == 0)
            return NULL;
    }
}

cJSON *tconn_read(struct tconn *c, double timeout_s)
{
    char *line = tconn_read_line(c, timeout_s);
    if (!line)
        return NULL;
    cJSON *o = cJSON_Parse(line);
    ck_assert_msg(o != NULL, "server sent a malformed line: %.200s", line);
    free(line);
    return o;
}

bool tconn_wait_eof(struct tconn *c, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        c->len = 0;
        int r = fill(c, deadline);
        if (r < 0)
            return false;
        if (r == 0)
            return true;
    }
}

cJSON *tconn_call(struct tconn *c, const char *line)
{
    tconn_sendstr(c, line);
    for (;;) {
        cJSON *o = tconn_read(c, T_TIMEOUT_S);
        ck_assert_msg(o != NULL, "server closed the connection instead of replying");
        if (cJSON_GetObjectItemCaseSensitive(o, "id"))
            return o;
        cJSON_Delete(o);
    }
}

const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "(missing)";
}

double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Reads a pipe to the end into a NUL-terminated buffer. */
static char *slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    for (;;) {
        if (cap - len < 1024) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
        ssize_t n = read(fd, b + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    b[len] = '\0';
    return b;
}

int run_capture(char *const argv[], char **out, char **err)
{
    /* stderr goes to a file so a full pipe can never deadlock us. */
    char errpath[] = "/tmp/apitest-err.XXXXXX";
    int efd = mkstemp(errpath);
    ck_assert_int_ge(efd, 0);
    unlink(errpath);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(efd, 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *out = slurp(p[0]);
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    lseek(efd, 0, SEEK_SET);
    *err = slurp(efd);
    close(efd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
