/* bench_ingest: figures for rigd's sensor ingest, not a test (it never
 * judges a speed). tests/daemon/bench_ingest.sh writes the bench and
 * station files and runs both parts; by hand, inside rigsim:
 *
 *   rigsim --bench B0.json --bench B1.json -- \
 *       bench_ingest ingest RIGD STATION CLIENT_SERIAL [SECONDS]
 *     STATION has one fixture, bench 0's pen and sensor head. rigd streams
 *     it for a claimed session while a minimal libusb client (this program,
 *     `bench_ingest client SERIAL RATE_HZ`, simlib's streamer: 8 bulk
 *     transfers in flight, every block's continuity checked, nothing else)
 *     streams bench 1's sensor head (CLIENT_SERIAL) at the same rate. Over
 *     the same SECONDS (default 10) it reads both processes' CPU from
 *     /proc (utime+stime, and the threads' on-CPU time from schedstat) and
 *     prints them and the ratio (rigd minus its idle CPU) / client: once
 *     with the session alone (no JSON published), once with a "samples"
 *     watcher added. rigd's CPU with a session but no stream (bench 0's
 *     sensor head unplugged) is measured first too -- the session's pen
 *     traffic, which the client has none of (heartbeats, sent only while
 *     the motor may be driven: none with the pen idle) -- and a second
 *     ratio leaves it out. Last line:
 *     "ratios: session R1 watcher R2 (on-CPU: R1', R2')".
 *
 *   rigsim --bench B0.json ... --bench B3.json -- \
 *       bench_ingest station RIGD STATION [SECONDS]
 *     Claims a session on every fixture of STATION (each streams at its
 *     configured rate_hz), and after SECONDS prints every sensor head's
 *     stream_stats from {"class":"devices"}, the samples per second of the
 *     window and rigd's CPU. Last line: "lost blocks: N".
 *
 * Exit status: 0 figures printed (whatever they are), 1 something could
 * not run, 64 usage. rigsim's CPU (both emulators, from its "stats"
 * query) is printed for context: on the simulated bench most of both
 * processes' CPU is umockdev's ioctl forwarding, so compare, don't quote
 * absolutes. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itestlib.h"
#include "simlib.h"

#define CLIENT_TRANSFERS 8 /* as rigd's sh2 driver (SH_DRV_TRANSFERS) */
#define MAX_FIXTURES     8

static double now_s(void)
{
    return (double)it_now_ms() / 1000.0;
}

/* ---- the minimal client ---- */

static volatile sig_atomic_t client_stop;

static void on_term(int sig)
{
    (void)sig;
    client_stop = 1;
}

/* Streams until SIGTERM; "streaming" on stdout once the first block is
 * in, the stream's counters when done. */
static int client_main(const char *serial, uint32_t rate)
{
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    struct sh_dev d;
    REQUIRE(sh_open_serial(&d, serial) == 0, "open sensor head %s", serial);
    REQUIRE(sh_set_rate(&d, rate) == 0, "SET_RATE %u", rate);
    struct sh_streamer s = { 0 };
    REQUIRE(sh_stream_begin(&s, &d, CLIENT_TRANSFERS) == 0, "submit");
    REQUIRE(sh_ctrl_out(&d, SH_REQ_START, 0, NULL, 0) == 0, "START");
    bool told = false;
    while (!client_stop && s.inflight > 0) {
        sh_stream_run(&s, 100);
        if (!told && s.cont.stats.blocks > 0) {
            printf("streaming\n");
            fflush(stdout);
            told = true;
        }
    }
    (void)sh_ctrl_out(&d, SH_REQ_STOP, 0, NULL, 0);
    sh_stream_end(&s);
    sh_close(&d);
    const struct sh_stream_stats *st = &s.cont.stats;
    printf(
        "blocks %llu samples %llu lost_blocks %llu lost_samples %llu repeated %llu overruns %llu "
        "bad %llu errors %llu\n",
        (unsigned long long)st->blocks, (unsigned long long)st->samples,
        (unsigned long long)st->lost_blocks, (unsigned long long)st->lost_samples,
        (unsigned long long)st->repeated_blocks, (unsigned long long)st->overruns,
        (unsigned long long)st->bad_blocks, (unsigned long long)(s.errors + s.no_device));
    return 0;
}

struct client {
    pid_t pid;
    FILE *out;
};

/* This program as `client SERIAL RATE` in a process of its own, its
 * stdout on a pipe; returns once it streams. */
static void client_start(struct client *cl, const char *serial, uint32_t rate)
{
    int p[2];
    IT_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    char rate_s[16];
    snprintf(rate_s, sizeof rate_s, "%u", rate);
    cl->pid = fork();
    IT_CHECK(cl->pid >= 0, "fork: %s", strerror(errno));
    if (cl->pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/proc/self/exe", "bench_ingest", "client", serial, rate_s, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    cl->out = fdopen(p[0], "r");
    char line[256];
    IT_CHECK(cl->out && fgets(line, sizeof line, cl->out) && strcmp(line, "streaming\n") == 0,
             "the client did not stream");
}

/* Stops the client; its counters line (without the newline) in line. */
static void client_stop_wait(struct client *cl, char *line, size_t len)
{
    kill(cl->pid, SIGTERM);
    if (!fgets(line, (int)len, cl->out))
        snprintf(line, len, "(no counters: the client failed)");
    line[strcspn(line, "\n")] = '\0';
    fclose(cl->out);
    int st;
    waitpid(cl->pid, &st, 0);
}

/* ---- rigd and rigsim ---- */

static int next_id = 100;

/* jl_call of {"id":N,MEMBERS} with a fresh id N. */
static cJSON *call(struct jl *c, const char *members)
{
    char line[512];
    int id = next_id++;
    snprintf(line, sizeof line, "{\"id\":%d,%s}", id, members);
    return jl_call(c, line, id, 5000);
}

static cJSON *devices(struct jl *c)
{
    cJSON *r = call(c, "\"class\":\"devices\"");
    IT_CHECK(r, "no devices reply");
    return r;
}

/* The devices entries of kind "sensor", in station order. */
static int sensors(const cJSON *devs, const cJSON **out, int max)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(devs, "devices")) {
        const char *kind = js_str(e, "kind");
        if (kind && strcmp(kind, "sensor") == 0 && n < max)
            out[n++] = e;
    }
    return n;
}

static int count_present(const cJSON *devs)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(devs, "devices"))
        n += js_bool(e, "present");
    return n;
}

/* Poll devices until want entries are present (or, with want < 0, until
 * -want sensors stream and have delivered a block). */
static void wait_devices(struct jl *c, int want, const char *what)
{
    for (int i = 0;; i++) {
        cJSON *d = devices(c);
        bool ok;
        if (want >= 0) {
            ok = count_present(d) == want;
        } else {
            const cJSON *s[MAX_FIXTURES];
            int n = sensors(d, s, MAX_FIXTURES), streaming = 0;
            for (int k = 0; k < n; k++) {
                const char *st = js_str(s[k], "stream");
                streaming += st && strcmp(st, "streaming") == 0 &&
                             js_num(s[k], "stream_stats.blocks", 0) > 0;
            }
            ok = streaming == -want;
        }
        cJSON_Delete(d);
        if (ok)
            return;
        IT_CHECK(i < 200, "%s: not within 20 s", what);
        it_sleep_ms(100);
    }
}

static double rigsim_cpu_s(void)
{
    cJSON *o = sim_ctl("{\"query\":\"stats\"}");
    double s = js_num(o, "cpu_user_s", -1) + js_num(o, "cpu_sys_s", 0);
    cJSON_Delete(o);
    return s;
}

static void rigsim_send(const char *line)
{
    cJSON *o = sim_ctl(line);
    IT_CHECK(o && js_bool(o, "ok"), "rigsim refused %s", line);
    cJSON_Delete(o);
}

static void claim(struct jl *c, const char *fixture)
{
    char m[128];
    snprintf(
        m, sizeof m,
        "\"class\":\"session\",\"action\":\"claim\",\"fixture\":\"%s\",\"purpose\":\"bench_ingest\"",
        fixture);
    cJSON *r = call(c, m);
    const char *st = js_str(r, "state");
    IT_CHECK(st && strcmp(st, "owner") == 0, "claim of fixture %s refused", fixture);
    cJSON_Delete(r);
}

/* A process's CPU in seconds, two ways: utime+stime from /proc/PID/stat
 * (what the issue measured; clock ticks, 10 ms) and the scheduler's
 * on-CPU time of all its threads (/proc/PID/task/TID/schedstat, ns). */
struct cpu {
    double tick, run;
};

static struct cpu cpu_of(pid_t pid)
{
    struct cpu c = { it_proc_cpu_s(pid), 0 };
    char path[300];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    const struct dirent *e;
    while (d && (e = readdir(d))) {
        unsigned long long ns;
        snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (f && fscanf(f, "%llu", &ns) == 1)
            c.run += (double)ns / 1e9;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return c;
}

static struct cpu cpu_sub(struct cpu a, struct cpu b, double k)
{
    return (struct cpu){ a.tick - k * b.tick, a.run - k * b.run };
}

/* rigd's CPU over ms milliseconds, in seconds per second. */
static struct cpu cpu_rate(pid_t pid, int ms)
{
    struct cpu c0 = cpu_of(pid);
    double t0 = now_s();
    it_sleep_ms(ms);
    struct cpu c1 = cpu_of(pid);
    double dt = now_s() - t0;
    return (struct cpu){ (c1.tick - c0.tick) / dt, (c1.run - c0.run) / dt };
}

/* What one window reads before and after. */
struct snap {
    double t, sim;
    struct cpu rigd, client;
    double blocks, samples, lost_blocks;
};

static void snap(struct snap *s, pid_t rigd, pid_t client, struct jl *c)
{
    s->t = now_s();
    s->rigd = cpu_of(rigd);
    s->client = cpu_of(client);
    s->sim = rigsim_cpu_s();
    cJSON *d = devices(c);
    const cJSON *sh[1];
    IT_CHECK(sensors(d, sh, 1) == 1, "no sensor in devices");
    s->blocks = js_num(sh[0], "stream_stats.blocks", -1);
    s->samples = js_num(sh[0], "stream_stats.samples", -1);
    s->lost_blocks = js_num(sh[0], "stream_stats.lost_blocks", -1);
    cJSON_Delete(d);
}

static void row(const char *what, struct cpu c, double dt)
{
    printf("  %-26s %6.3f s %5.1f %%   %6.3f s %5.1f %%\n", what, c.tick, c.tick / dt * 100, c.run,
           c.run / dt * 100);
}

/* One window's figures; returns rigd (minus idle) / client. */
static struct cpu report(const char *title, const struct snap *a, const struct snap *b,
                         struct cpu idle, struct cpu hb)
{
    double dt = b->t - a->t;
    struct cpu rigd = cpu_sub(b->rigd, a->rigd, 1), client = cpu_sub(b->client, a->client, 1);
    struct cpu net = cpu_sub(rigd, idle, dt), ingest = cpu_sub(rigd, hb, dt);
    printf("%s, %.1f s; rigd: %.0f blocks, %.0f samples, %.0f lost blocks\n", title, dt,
           b->blocks - a->blocks, b->samples - a->samples, b->lost_blocks - a->lost_blocks);
    printf("  %-26s %-17s   %s\n", "CPU (s, % of one core)", "utime+stime", "on-CPU (schedstat)");
    row("rigd", rigd, dt);
    row("rigd minus idle", net, dt);
    row("rigd minus heartbeats", ingest, dt);
    row("client", client, dt);
    printf("  %-26s %6.3f s %5.1f %%\n", "rigsim (both emulators)", b->sim - a->sim,
           (b->sim - a->sim) / dt * 100);
    struct cpu ratio = { net.tick / client.tick, net.run / client.run };
    printf("  %-26s %6.2f           %6.2f\n", "ratio rigd/client", ratio.tick, ratio.run);
    printf("  %-26s %6.2f           %6.2f\n", "  without the heartbeats", ingest.tick / client.tick,
           ingest.run / client.run);
    return ratio;
}

static pid_t start_rigd(const char *rigd, const char *station, char *dir, char *sock, size_t len,
                        struct jl *c)
{
    IT_CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(sock, len, "%s/rigd.sock", dir);
    pid_t pid = rigd_start(rigd, station, sock);
    IT_CHECK(jl_connect(c, sock, 10000) == 0, "connect to rigd");
    cJSON_Delete(jl_recv(c, 5000)); /* the version line */
    return pid;
}

static int stop_rigd(pid_t pid, char *dir, const char *sock)
{
    int st = rigd_stop(pid, SIGTERM, 10000);
    unlink(sock);
    rmdir(dir);
    return st == 0 ? 0 : 1;
}

static int ingest_main(const char *rigd, const char *station, const char *serial, int secs)
{
    char dir[] = "/tmp/bench-ingest-XXXXXX", sock[256];
    struct jl c;
    pid_t pid = start_rigd(rigd, station, dir, sock, sizeof sock, &c);
    wait_devices(&c, 2, "rigd attaching the pen and the sensor head");
    cJSON *d = devices(&c);
    const cJSON *sh[1];
    IT_CHECK(sensors(d, sh, 1) == 1, "no sensor");
    char fixture[32];
    snprintf(fixture, sizeof fixture, "%s",
             js_str(sh[0], "fixture") ? js_str(sh[0], "fixture") : "");
    cJSON_Delete(d);
    it_sleep_ms(1000);
    struct cpu idle = cpu_rate(pid, 3000);

    /* The session's own cost without a stream: heartbeats to the pen. */
    rigsim_send("{\"fault\":\"sensor-unplug\",\"bench\":0}");
    wait_devices(&c, 1, "rigd seeing the sensor head gone");
    claim(&c, fixture);
    it_sleep_ms(1000);
    struct cpu hb = cpu_rate(pid, 5000);
    rigsim_send("{\"fault\":\"sensor-replug\",\"bench\":0}");
    wait_devices(&c, -1, "rigd streaming for the session");

    d = devices(&c);
    IT_CHECK(sensors(d, sh, 1) == 1, "no sensor");
    uint32_t rate = (uint32_t)js_num(sh[0], "rate_hz", 0);
    cJSON_Delete(d);
    struct client cl;
    client_start(&cl, serial, rate);
    it_sleep_ms(1000); /* both settled */
    printf("rigd CPU idle %.2f %% of one core (on-CPU %.3f %%); with a session but no stream "
           "(pen heartbeats) %.2f %% (on-CPU %.3f %%)\n",
           idle.tick * 100, idle.run * 100, hb.tick * 100, hb.run * 100);

    struct snap a, b;
    snap(&a, pid, cl.pid, &c);
    it_sleep_ms(secs * 1000);
    snap(&b, pid, cl.pid, &c);
    char title[160];
    snprintf(title, sizeof title,
             "rigd (session claimed, no samples watcher) and the client, each 2 x %.0f kS/s",
             rate / 1e3);
    struct cpu r1 = report(title, &a, &b, idle, hb);

    /* The same with a samples watcher: rigd also publishes JSON. */
    struct jl w;
    IT_CHECK(jl_connect(&w, sock, 5000) == 0, "connect watcher");
    cJSON_Delete(jl_recv(&w, 5000));
    cJSON_Delete(call(&w, "\"class\":\"watch\",\"topics\":[\"samples\"]"));
    cJSON *first = jl_wait_for(&w, "class", "samples", 10000);
    IT_CHECK(first, "no samples");
    cJSON_Delete(first);
    for (double w0 = now_s(); now_s() - w0 < 1.0;)
        cJSON_Delete(jl_recv(&w, 1000));
    snap(&a, pid, cl.pid, &c);
    long events = 0;
    while (now_s() - a.t < secs) {
        cJSON *o = jl_recv(&w, 2000);
        IT_CHECK(o, "watcher starved");
        events++;
        cJSON_Delete(o);
    }
    snap(&b, pid, cl.pid, &c);
    snprintf(title, sizeof title, "the same with a samples watcher (%ld events read)", events);
    struct cpu r2 = report(title, &a, &b, idle, hb);
    jl_close(&w);

    char counters[256];
    client_stop_wait(&cl, counters, sizeof counters);
    printf("client stream in all: %s\n", counters);
    printf("ratios: session %.2f watcher %.2f (on-CPU: %.2f, %.2f)\n", r1.tick, r2.tick, r1.run,
           r2.run);
    jl_close(&c);
    return stop_rigd(pid, dir, sock);
}

/* ---- several fixtures ---- */

struct fx_stats {
    char name[32];
    double rate, blocks, samples, lost_blocks, lost_samples, overruns, repeated, bad, errors;
};

static int read_stats(struct jl *c, struct fx_stats *fx)
{
    cJSON *d = devices(c);
    const cJSON *sh[MAX_FIXTURES];
    int n = sensors(d, sh, MAX_FIXTURES);
    for (int i = 0; i < n; i++) {
        const char *name = js_str(sh[i], "fixture");
        snprintf(fx[i].name, sizeof fx[i].name, "%s", name ? name : "?");
        fx[i].rate = js_num(sh[i], "rate_hz", -1);
        fx[i].blocks = js_num(sh[i], "stream_stats.blocks", -1);
        fx[i].samples = js_num(sh[i], "stream_stats.samples", -1);
        fx[i].lost_blocks = js_num(sh[i], "stream_stats.lost_blocks", -1);
        fx[i].lost_samples = js_num(sh[i], "stream_stats.lost_samples", -1);
        fx[i].overruns = js_num(sh[i], "stream_stats.overruns", -1);
        fx[i].repeated = js_num(sh[i], "stream_stats.repeated_blocks", -1);
        fx[i].bad = js_num(sh[i], "stream_stats.bad_blocks", -1);
        fx[i].errors = js_num(sh[i], "stream_stats.transfer_errors", -1);
    }
    cJSON_Delete(d);
    return n;
}

static int station_main(const char *rigd, const char *station, int secs)
{
    char dir[] = "/tmp/bench-ingest-XXXXXX", sock[256];
    struct jl c;
    pid_t pid = start_rigd(rigd, station, dir, sock, sizeof sock, &c);
    struct fx_stats s0[MAX_FIXTURES], s1[MAX_FIXTURES];
    cJSON *d = devices(&c);
    const cJSON *sh[MAX_FIXTURES];
    int n = sensors(d, sh, MAX_FIXTURES);
    cJSON_Delete(d);
    IT_CHECK(n > 0, "no sensor head in the station");
    wait_devices(&c, 2 * n, "rigd attaching every fixture's devices");
    it_sleep_ms(1000);
    struct cpu idle = cpu_rate(pid, 3000);
    read_stats(&c, s0);
    for (int i = 0; i < n; i++)
        claim(&c, s0[i].name);
    wait_devices(&c, -n, "every fixture streaming");
    it_sleep_ms(1000);
    read_stats(&c, s0);
    double t0 = now_s(), sim0 = rigsim_cpu_s();
    struct cpu cpu0 = cpu_of(pid);
    it_sleep_ms(secs * 1000);
    double dt = now_s() - t0, sim = rigsim_cpu_s() - sim0;
    struct cpu cpu = cpu_sub(cpu_of(pid), cpu0, 1);
    read_stats(&c, s1);
    double lost = 0;
    printf("%d fixtures streaming for %.1f s (sessions claimed, no samples watcher); stream_stats "
           "since the claims:\n",
           n, dt);
    for (int i = 0; i < n; i++) {
        const struct fx_stats *x = &s1[i];
        printf("  fixture %s: rate_hz %.0f, blocks %.0f, samples %.0f, lost_blocks %.0f, "
               "lost_samples %.0f, overruns %.0f, repeated %.0f, bad %.0f, transfer_errors %.0f; "
               "window %.0f samples/s\n",
               x->name, x->rate, x->blocks, x->samples, x->lost_blocks, x->lost_samples,
               x->overruns, x->repeated, x->bad, x->errors, (x->samples - s0[i].samples) / dt);
        lost += x->lost_blocks;
    }
    printf("rigd CPU %.2f s over %.1f s = %.1f %% of one core (on-CPU %.1f %%; idle %.2f %%), "
           "%.1f %% per fixture; rigsim %.1f %%\n",
           cpu.tick, dt, cpu.tick / dt * 100, cpu.run / dt * 100, idle.tick * 100,
           (cpu.tick - idle.tick * dt) / dt * 100 / n, sim / dt * 100);
    printf("lost blocks: %.0f\n", lost);
    jl_close(&c);
    return stop_rigd(pid, dir, sock);
}

static int usage(void)
{
    fprintf(stderr, "usage: rigsim --bench B0 --bench B1 -- bench_ingest ingest RIGD STATION "
                    "CLIENT_SERIAL [SECONDS]\n"
                    "       rigsim --bench B0 ... -- bench_ingest station RIGD STATION [SECONDS]\n"
                    "       bench_ingest client SERIAL RATE_HZ\n");
    return 64;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "client") == 0)
        return client_main(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows in a log as it comes */
    if (argc >= 5 && argc <= 6 && strcmp(argv[1], "ingest") == 0) {
        int secs = argc > 5 ? atoi(argv[5]) : 10;
        return secs < 1 ? usage() : ingest_main(argv[2], argv[3], argv[4], secs);
    }
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "station") == 0) {
        int secs = argc > 4 ? atoi(argv[4]) : 10;
        return secs < 1 ? usage() : station_main(argv[2], argv[3], secs);
    }
    return usage();
}
