/* Benchmark (not a test): stroke-analysis throughput in samples per second
 * on one core.
 *
 *   bench_analysis [-t SECONDS] [RECORD.json | CAPTURE.bin ...]
 *
 * Without files: synthetic 2 s captures (noise, jitter, force ringing) at
 * several sample and stroke rates. With files: real captures -- every
 * capture of each run record, analysed as the engine did (its start/stop
 * command samples and setpoints), or bare capture files -- grouped by
 * sample rate and length. Each case is analysed repeatedly for SECONDS
 * (default 1), with and without the force channel, so the share of the
 * peak-force model shows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/analysis.h"
#include "core/record.h"
#include "synth.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Samples/s analysing in for budget seconds. */
static double throughput(struct an_input in, double budget, struct an_result *r)
{
    unsigned runs = 0;
    double t0 = now_s(), t;
    do {
        if (an_analyse(&in, r) != 0) {
            fprintf(stderr, "analysis failed: %s\n", r->error);
            exit(1);
        }
        runs++;
        t = now_s() - t0;
    } while (t < budget);
    return (double)in.n * runs / t;
}

struct group {
    double fs, seconds; /* sample rate, capture length class (s) */
    double samples, time, time_nf;
    unsigned captures;
};

static struct group groups[64];
static size_t ngroups;

static void add(double fs, size_t n, double sps, double sps_nf)
{
    /* length classes: < 0.25 s, < 0.5 s, < 1 s, < 2 s, longer */
    static const double edges[] = { 0.25, 0.5, 1, 2, INFINITY };
    double len = (double)n / fs, cls = 0;
    for (size_t i = 0; i < 5; i++)
        if (len < edges[i]) {
            cls = edges[i];
            break;
        }
    struct group *g = NULL;
    for (size_t i = 0; i < ngroups; i++)
        if (groups[i].fs == fs && groups[i].seconds == cls)
            g = &groups[i];
    if (!g && ngroups < 64) {
        g = &groups[ngroups++];
        *g = (struct group){ .fs = fs, .seconds = cls };
    }
    if (!g)
        return;
    g->samples += (double)n;
    g->time += (double)n / sps;
    g->time_nf += (double)n / sps_nf;
    g->captures++;
}

static void one(struct an_input in, double budget)
{
    struct an_result r;
    double sps = throughput(in, budget, &r);
    in.force_un = NULL;
    double sps_nf = throughput(in, budget, &r);
    add(in.rate_hz, in.n, sps, sps_nf);
}

static int bench_file(const char *path, double budget)
{
    char err[256];
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".bin") == 0) {
        struct rig_capture c;
        if (capture_read(path, &c, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        struct an_input in = { .force_un = c.force_un,
                               .disp_nm = c.disp_nm,
                               .n = c.n,
                               .rate_hz = c.rate_hz,
                               .start_index = -1,
                               .stop_index = -1,
                               .set_depth_mm = NAN };
        one(in, budget);
        capture_free(&c);
        return 0;
    }
    cJSON *rec = record_read(path, err, sizeof err);
    if (!rec) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    const cJSON *step;
    cJSON_ArrayForEach (step, cJSON_GetObjectItemCaseSensitive(rec, "steps")) {
        const cJSON *cap = cJSON_GetObjectItemCaseSensitive(step, "capture");
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(cap, "file");
        if (!cJSON_IsString(file))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%.*s%s", dir, path, file->valuestring);
        struct rig_capture c;
        if (capture_read(p, &c, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(step, "setpoints");
        const cJSON *rate = cJSON_GetObjectItemCaseSensitive(sp, "rate_hz");
        const cJSON *depth = cJSON_GetObjectItemCaseSensitive(sp, "depth_mm");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(cap, "start_index");
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(cap, "stop_index");
        struct an_input in = {
            .force_un = c.force_un,
            .disp_nm = c.disp_nm,
            .n = c.n,
            .rate_hz = c.rate_hz,
            .start_index = cJSON_IsNumber(st) ? (int64_t)st->valuedouble : -1,
            .stop_index = cJSON_IsNumber(so) ? (int64_t)so->valuedouble : -1,
            .set_rate_hz = cJSON_IsNumber(rate) ? rate->valuedouble : 0,
            .set_depth_mm = cJSON_IsNumber(depth) ? depth->valuedouble : NAN,
        };
        one(in, budget);
        capture_free(&c);
    }
    cJSON_Delete(rec);
    return 0;
}

int main(int argc, char **argv)
{
    double budget = 1.0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        budget = atof(argv[2]);
        first = 3;
    }
    if (!(budget > 0) || (argc > 1 && argv[1][0] == '-' && first == 1)) {
        fprintf(stderr, "usage: %s [-t SECONDS] [RECORD.json | CAPTURE.bin ...]\n", argv[0]);
        return 2;
    }
    if (first < argc) {
        for (int i = first; i < argc; i++)
            if (bench_file(argv[i], budget / 4) < 0)
                return 1;
    } else {
        static const struct {
            double fs, rate;
        } cases[] = {
            { 20000, 50 }, { 20000, 150 }, { 50000, 50 }, { 50000, 150 }, { 100000, 150 },
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            struct synth_params p;
            synth_defaults(&p);
            p.fs = cases[c].fs;
            p.rate_hz = cases[c].rate;
            p.noise_um = 0.2;
            p.jitter_pct = 0.5;
            p.depth_noise_mm = 0.005;
            p.force_noise_n = 0.002;
            p.force_ring_frac = 0.3;
            size_t n = (size_t)(2.0 * p.fs);
            int32_t *f = malloc(n * sizeof *f), *d = malloc(n * sizeof *d);
            if (!f || !d)
                return 1;
            struct synth s;
            synth_init(&s, &p);
            synth_set_running(&s, true);
            synth_generate(&s, n, f, d);
            struct an_input in = { .force_un = f,
                                   .disp_nm = d,
                                   .n = n,
                                   .rate_hz = p.fs,
                                   .start_index = -1,
                                   .stop_index = -1,
                                   .set_rate_hz = p.rate_hz,
                                   .set_depth_mm = p.depth_mm };
            struct an_result r;
            double sps = throughput(in, budget, &r);
            in.force_un = NULL;
            double sps_nf = throughput(in, budget, &r);
            printf("synthetic %6.0f S/s %3.0f Hz 2 s: %10.3e samples/s (%.3e without force)\n",
                   p.fs, p.rate_hz, sps, sps_nf);
            free(f);
            free(d);
        }
        return 0;
    }
    printf("%-8s %-9s %8s %12s %14s %16s\n", "S/s", "length", "captures", "samples", "samples/s",
           "without force");
    double all = 0, all_t = 0;
    for (size_t i = 0; i < ngroups; i++) {
        struct group *g = &groups[i];
        printf("%-8.0f < %-5.2gs %8u %12.0f %14.3e %16.3e\n", g->fs, g->seconds, g->captures,
               g->samples, g->samples / g->time, g->samples / g->time_nf);
        all += g->samples;
        all_t += g->time;
    }
    printf("all: %.3e samples/s\n", all / all_t);
    return 0;
}
