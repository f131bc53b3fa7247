/* bench_rigd: figures for rigd, not a test. Run inside the simulated bench:
 *   rigsim -- bench_rigd RIGD CONFIG [N_REQUESTS] [STREAM_SECONDS]
 * Prints: round-trip latency of {"class":"pen","action":"status"} through
 * rigd (median, p99, max), rigd's CPU while streaming 2 x 50 kS/s with a
 * "samples" watcher attached, and rigd's RSS idle and while streaming. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itestlib.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rigsim -- bench_rigd RIGD CONFIG [N_REQUESTS] [STREAM_SECONDS]\n");
        return 64;
    }
    int n = argc > 3 ? atoi(argv[3]) : 2000;
    int secs = argc > 4 ? atoi(argv[4]) : 10;
    if (n < 10 || secs < 1) {
        fprintf(stderr, "bench_rigd: N_REQUESTS >= 10, STREAM_SECONDS >= 1\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/bench-rigd-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char sock[256];
    snprintf(sock, sizeof sock, "%s/rigd.sock", dir);
    pid_t pid = rigd_start(argv[1], argv[2], sock);
    struct jl c;
    IT_CHECK(jl_connect(&c, sock, 10000) == 0, "connect");
    cJSON_Delete(jl_recv(&c, 5000));
    /* Wait for both devices. */
    for (int i = 0;; i++) {
        cJSON *r = jl_call(&c, "{\"id\":1,\"class\":\"status\"}", 1, 5000);
        bool ok = r && js_bool(r, "devices.pen") && js_bool(r, "devices.sensor");
        cJSON_Delete(r);
        if (ok)
            break;
        IT_CHECK(i < 100, "devices not ready");
        it_sleep_ms(100);
    }
    it_sleep_ms(1000);
    long rss_idle = proc_rss_kb(pid);
    double cpu0 = it_proc_cpu_s(pid), t0 = now_s();
    it_sleep_ms(3000);
    double idle_cpu = (it_proc_cpu_s(pid) - cpu0) / (now_s() - t0) * 100;

    double *lat = calloc((size_t)n, sizeof *lat);
    IT_CHECK(lat, "oom");
    char line[128];
    for (int i = 0; i < n; i++) {
        int id = 1000 + i;
        snprintf(line, sizeof line, "{\"id\":%d,\"class\":\"pen\",\"action\":\"status\"}", id);
        double s = now_s();
        cJSON *r = jl_call(&c, line, id, 5000);
        lat[i] = (now_s() - s) * 1e6;
        IT_CHECK(r && js_str(r, "status.state"), "pen status %d failed", i);
        cJSON_Delete(r);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf(
        "pen status round trip through rigd (%d requests): median %.0f us, p99 %.0f us, max %.0f us\n",
        n, lat[n / 2], lat[(int)(n * 0.99)], lat[n - 1]);

    /* Streaming: a watcher of decimated samples makes rigd stream. */
    struct jl w;
    IT_CHECK(jl_connect(&w, sock, 5000) == 0, "connect watcher");
    cJSON_Delete(jl_recv(&w, 5000));
    cJSON_Delete(jl_call(&w, "{\"id\":2,\"class\":\"watch\",\"topics\":[\"samples\"]}", 2, 5000));
    cJSON *first = jl_wait_for(&w, "class", "samples", 10000);
    IT_CHECK(first, "no samples");
    cJSON_Delete(first);
    /* Warm up for a second, reading, so no backlog is counted below. */
    for (double w0 = now_s(); now_s() - w0 < 1.0;)
        cJSON_Delete(jl_recv(&w, 1000));
    cpu0 = it_proc_cpu_s(pid);
    t0 = now_s();
    long events = 0, live = 0;
    while (now_s() - t0 < secs) {
        cJSON *o = jl_recv(&w, 2000);
        IT_CHECK(o, "watcher starved");
        live += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "force_n"));
        events++;
        cJSON_Delete(o);
    }
    double dt = now_s() - t0;
    double stream_cpu = (it_proc_cpu_s(pid) - cpu0) / dt * 100;
    long rss_stream = proc_rss_kb(pid);
    cJSON *d = jl_call(&c, "{\"id\":3,\"class\":\"devices\"}", 3, 5000);
    const cJSON *sh = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "devices"), 1);
    printf("streaming 2 x 50 kS/s with a samples watcher for %.1f s: rigd CPU %.1f %% of one core "
           "(idle: %.2f %%); watcher got %ld events, %ld live samples (%.0f/s); "
           "lost blocks %.0f, lost samples %.0f\n",
           dt, stream_cpu, idle_cpu, events, live, live / dt,
           js_num(sh, "stream_stats.lost_blocks", -1), js_num(sh, "stream_stats.lost_samples", -1));
    printf("rigd RSS: idle %ld kB, streaming %ld kB\n", rss_idle, rss_stream);
    cJSON_Delete(d);
    jl_close(&w);
    jl_close(&c);
    free(lat);
    int st = rigd_stop(pid, SIGTERM, 10000);
    unlink(sock);
    rmdir(dir);
    return st == 0 ? 0 : 1;
}
