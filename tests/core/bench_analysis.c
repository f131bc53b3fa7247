/* Benchmark (not a test): stroke-analysis throughput in samples per second
 * on one core, for realistic captures (noise, jitter, force ringing).
 * Usage: bench_analysis [seconds-per-case, default 2] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "analysis.h"
#include "synth.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    if (!(budget > 0)) {
        fprintf(stderr, "usage: %s [seconds-per-case]\n", argv[0]);
        return 2;
    }
    static const struct { double fs, rate; } cases[] = {
        { 20000, 50 }, { 50000, 100 }, { 50000, 150 }, { 100000, 150 },
    };
    const double capture_s = 2.0;
    printf("%-10s %-8s %-10s %-8s %14s %10s\n", "S/s", "rate Hz", "samples", "runs",
           "samples/s", "x realtime");
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
        size_t n = (size_t)(capture_s * p.fs);
        int32_t *f = malloc(n * sizeof *f), *d = malloc(n * sizeof *d);
        if (!f || !d) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        struct synth s;
        synth_init(&s, &p);
        synth_set_running(&s, true);
        synth_generate(&s, n, f, d);
        struct an_input in = { .force_un = f, .disp_nm = d, .n = n, .rate_hz = p.fs,
                               .start_index = -1, .stop_index = -1,
                               .set_rate_hz = p.rate_hz, .set_depth_mm = p.depth_mm };
        struct an_result r;
        unsigned runs = 0;
        double t0 = now_s(), t;
        do {
            if (an_analyse(&in, &r) != 0) {
                fprintf(stderr, "analysis failed: %s\n", r.error);
                return 1;
            }
            runs++;
            t = now_s() - t0;
        } while (t < budget);
        double sps = (double)n * runs / t;
        printf("%-10.0f %-8.0f %-10zu %-8u %14.3e %10.0f   (rate %.3f Hz, depth %.4f mm)\n",
               p.fs, p.rate_hz, n, runs, sps, sps / p.fs, r.rate_hz, r.depth_mean_mm);
        free(f);
        free(d);
    }
    return 0;
}
