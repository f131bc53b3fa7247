/* Integration test helpers (see itestlib.h). */
#include "itestlib.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

double it_proc_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ')': state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int jl_connect(struct jl *c, const char *path, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    long long until = it_now_ms() + timeout_ms;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    do {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            c->fd = fd;
            return 0;
        }
        close(fd);
        it_sleep_ms(50);
    } while (it_now_ms() < until);
    return -ETIMEDOUT;
}

void jl_close(struct jl *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int jl_send(struct jl *c, const char *line)
{
    size_t n = strlen(line);
    char *tmp = malloc(n + 1);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, line, n);
    tmp[n] = '\n';
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = send(c->fd, tmp + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(tmp);
            return -errno;
        }
        off += (size_t)w;
    }
    free(tmp);
    return 0;
}

cJSON *jl_recv(struct jl *c, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            *nl = '\0';
            cJSON *o = cJSON_Parse(c->buf);
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return o;
        }
        if (c->len == sizeof c->buf)
            return NULL; /* line longer than the test buffer */
        long long left = until - it_now_ms();
        if (left <= 0)
            return NULL;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

cJSON *jl_call(struct jl *c, const char *line, int id, int timeout_ms)
{
    if (jl_send(c, line) < 0)
        return NULL;
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        long long left = until - it_now_ms();
        if (left <= 0)
            return NULL;
        cJSON *o = jl_recv(c, (int)left);
        if (!o)
            return NULL;
        const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "id");
        if (cJSON_IsNumber(jid) && jid->valueint == id)
            return o;
        cJSON_Delete(o);
    }
}

cJSON *jl_wait_for(struct jl *c, const char *key, const char *value, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        long long left = until - it_now_ms();
        if (left <= 0)
            return NULL;
        cJSON *o = jl_recv(c, (int)left);
        if (!o)
            return NULL;
        const char *v = js_str(o, key);
        if (v && strcmp(v, value) == 0)
            return o;
        cJSON_Delete(o);
    }
}

cJSON *sim_ctl(const char *line)
{
    const char *path = getenv("RIGSIM_CONTROL");
    if (!path)
        return NULL;
    struct jl c;
    if (jl_connect(&c, path, 2000) < 0)
        return NULL;
    cJSON *o = NULL;
    if (jl_send(&c, line) == 0)
        o = jl_recv(&c, 5000);
    jl_close(&c);
    return o;
}

bool sim_pen_motor_running(void)
{
    cJSON *o = sim_ctl("{\"query\":\"pen\"}");
    IT_CHECK(o && js_bool(o, "ok"), "rigsim control query failed (RIGSIM_CONTROL=%s)",
             getenv("RIGSIM_CONTROL") ? getenv("RIGSIM_CONTROL") : "unset");
    bool running = js_bool(o, "motor_running");
    cJSON_Delete(o);
    return running;
}

bool sim_wait_motor(bool want, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    do {
        if (sim_pen_motor_running() == want)
            return true;
        it_sleep_ms(50);
    } while (it_now_ms() < until);
    return sim_pen_motor_running() == want;
}

pid_t rigd_start(const char *rigd, const char *config, const char *sock)
{
    pid_t pid = fork();
    if (pid == 0) {
        unlink(sock);
        execl(rigd, rigd, "--config", config, "--socket", sock, (char *)NULL);
        fprintf(stderr, "cannot exec %s: %s\n", rigd, strerror(errno));
        _exit(127);
    }
    return pid;
}

int rigd_wait(pid_t pid, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        if (it_now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        it_sleep_ms(20);
    }
}

int rigd_stop(pid_t pid, int sig, int timeout_ms)
{
    if (kill(pid, sig) < 0)
        return -1;
    return rigd_wait(pid, timeout_ms);
}

static const cJSON *js_get(const cJSON *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

const char *js_str(const cJSON *o, const char *path)
{
    const cJSON *v = js_get(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double js_num(const cJSON *o, const char *path, double dflt)
{
    const cJSON *v = js_get(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

bool js_bool(const cJSON *o, const char *path)
{
    return cJSON_IsTrue(js_get(o, path));
}
