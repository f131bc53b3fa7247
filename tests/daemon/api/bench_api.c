/* bench_api: figures for the API module on its own (not a test).
 *
 *   bench_api API_TESTD_BINARY
 *
 * Starts api_testd on a temporary socket and prints:
 *   - request round-trip latency, one request at a time (median, p99);
 *   - pipelined request throughput (requests/s, one client);
 *   - publish fan-out: events/s delivered to 10 watchers;
 *   - api_testd's RSS idle and with a client that never reads while
 *     20 MB of samples events are published (memory stays bounded).
 * Numbers depend on the machine and its load; nothing is asserted.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static char sock_path[108];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_api: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int dial(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Minimal buffered line reader. */
struct rd {
    int fd;
    char buf[1 << 20];
    size_t len;
};

static char *read_line(struct rd *r)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl) {
            static char line[1 << 20];
            size_t n = (size_t)(nl - r->buf);
            memcpy(line, r->buf, n);
            line[n] = '\0';
            memmove(r->buf, nl + 1, r->len - n - 1);
            r->len -= n + 1;
            return line;
        }
        ssize_t got = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
        if (got <= 0)
            die("recv");
        r->len += (size_t)got;
    }
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("send");
        s += w;
        n -= (size_t)w;
    }
}

static struct rd *open_client(void)
{
    struct rd *r = calloc(1, sizeof *r);
    if (!r)
        die("calloc");
    r->fd = dial();
    if (r->fd < 0)
        die("connect");
    read_line(r); /* greeting */
    return r;
}

static void close_client(struct rd *r)
{
    close(r->fd);
    free(r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench_latency(void)
{
    enum { N = 5000 };
    static double t[N];
    struct rd *r = open_client();
    const char req[] = "{\"class\":\"echo\",\"id\":1}\n";
    for (int i = 0; i < N; i++) {
        double t0 = now_s();
        send_all(r->fd, req, sizeof req - 1);
        read_line(r);
        t[i] = now_s() - t0;
    }
    qsort(t, N, sizeof t[0], cmp_double);
    printf("round trip (echo, one at a time, %d requests): median %.1f us, p99 %.1f us\n", N,
           t[N / 2] * 1e6, t[N * 99 / 100] * 1e6);
    close_client(r);
}

struct writer_arg {
    int fd;
    int n;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    const char req[] = "{\"class\":\"echo\",\"id\":2}\n";
    char block[sizeof req * 100];
    for (int i = 0; i < 100; i++)
        memcpy(block + i * (sizeof req - 1), req, sizeof req - 1);
    for (int i = 0; i < w->n; i += 100)
        send_all(w->fd, block, (sizeof req - 1) * 100);
    return NULL;
}

static void bench_pipelined(void)
{
    struct rd *r = open_client();
    struct writer_arg w = { .fd = r->fd, .n = 200000 };
    pthread_t th;
    double t0 = now_s();
    if (pthread_create(&th, NULL, writer, &w) != 0)
        die("pthread_create");
    for (int i = 0; i < w.n; i++)
        read_line(r);
    double dt = now_s() - t0;
    pthread_join(th, NULL);
    printf("pipelined echo (one client, %d requests): %.0f requests/s\n", w.n, w.n / dt);
    close_client(r);
}

static double stat_num(struct rd *ctl, const char *key)
{
    const char req[] = "{\"class\":\"stats\",\"id\":9}\n";
    send_all(ctl->fd, req, sizeof req - 1);
    cJSON *j = cJSON_Parse(read_line(ctl));
    const cJSON *v = cJSON_GetObjectItem(j, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(j);
    return x;
}

static void bench_fanout(void)
{
    enum { W = 10, EVENTS = 20000 };
    struct rd *w[W];
    for (int i = 0; i < W; i++) {
        w[i] = open_client();
        const char req[] = "{\"class\":\"watch\",\"id\":1,\"topics\":[\"run\"]}\n";
        send_all(w[i]->fd, req, sizeof req - 1);
        read_line(w[i]);
    }
    struct rd *ctl = open_client();
    /* Published in batches: one publish call of all events would queue
	 * ~4.6 MB per watcher at once, beyond the hard cap. */
    enum { BATCH = 500 };
    char req[128];
    int n = snprintf(
        req, sizeof req,
        "{\"class\":\"publish\",\"id\":1,\"topic\":\"run\",\"count\":%d,\"size\":200}\n", BATCH);
    double t0 = now_s();
    for (int b = 0; b < EVENTS / BATCH; b++) {
        send_all(ctl->fd, req, (size_t)n);
        for (int i = 0; i < W; i++)
            for (int k = 0; k < BATCH; k++)
                read_line(w[i]);
        read_line(ctl);
    }
    double dt = now_s() - t0;
    printf("publish fan-out (%d watchers x %d events of ~230 B): %.0f deliveries/s\n", W, EVENTS,
           W * EVENTS / dt);
    for (int i = 0; i < W; i++)
        close_client(w[i]);
    close_client(ctl);
}

static void bench_memory(void)
{
    struct rd *ctl = open_client();
    double idle = stat_num(ctl, "rss_kib");
    struct rd *slow = open_client();
    const char watch[] = "{\"class\":\"watch\",\"id\":1,\"topics\":[\"samples\",\"run\"]}\n";
    send_all(slow->fd, watch, sizeof watch - 1);
    read_line(slow);
    const char pub[] =
        "{\"class\":\"publish\",\"id\":2,\"topic\":\"samples\",\"count\":20000,\"size\":1000}\n";
    send_all(ctl->fd, pub, sizeof pub - 1);
    read_line(ctl);
    double busy = stat_num(ctl, "rss_kib");
    double queued = stat_num(ctl, "max_queued_bytes");
    double dropped = stat_num(ctl, "samples_dropped");
    printf("server RSS: idle %.0f KiB; with a never-reading samples watcher after 20 MB "
           "published: %.0f KiB (its queue %.0f KiB, %.0f events dropped)\n",
           idle, busy, queued / 1024, dropped);
    close_client(slow);
    close_client(ctl);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_api PATH/TO/api_testd\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/bench_api.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(sock_path, sizeof sock_path, "%s/api.sock", dir);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execl(argv[1], argv[1], "--socket", sock_path, (char *)NULL);
        _exit(127);
    }
    int fd = -1;
    for (int i = 0; i < 500 && fd < 0; i++) {
        fd = dial();
        if (fd < 0)
            usleep(20000);
    }
    if (fd < 0) {
        fprintf(stderr, "bench_api: api_testd did not start\n");
        kill(pid, SIGTERM);
        return 1;
    }
    close(fd);
    bench_latency();
    bench_pipelined();
    bench_fanout();
    bench_memory();
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unlink(sock_path);
    rmdir(dir);
    return 0;
}
