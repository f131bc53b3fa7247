/* Cost of the physics model: CPU time per sensor sample frame while the pen
 * runs and the sensor streams (drained every 10 ms like the USB emulator),
 * and what fraction of one core that is in real time.
 *
 *   bench_sim_model [seconds_of_sim_time=20] [rate_hz=50000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers.h"

static double cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run dur of simulated time; returns CPU seconds; *frames gets frames made. */
static double run(const struct sim_params *p, uint64_t dur, bool stream, size_t *frames)
{
    struct sim_model *m = sim_model_new(p, 1);
    if (!m) {
        fprintf(stderr, "cannot create model\n");
        exit(1);
    }
    FILE *truth = fopen("/dev/null", "w");
    if (!truth) {
        perror("/dev/null");
        exit(1);
    }
    sim_model_set_truth(m, truth);
    if (sim_pen_set_rate(m, 120000) != 0 || sim_pen_start(m) != 0 ||
        (stream && sim_sh_start(m) != 0)) {
        fprintf(stderr, "start refused\n");
        exit(1);
    }
    static int32_t f[SH_MAX_SAMPLES], d[SH_MAX_SAMPLES];
    struct sh_block_header h;
    size_t n = 0;
    double c0 = cpu_s();
    for (uint64_t t = 10 * MS; t <= dur; t += 10 * MS) {
        sim_model_run_until(m, t);
        sim_pen_heartbeat(m);
        int got;
        while ((got = sim_sh_take_block(m, SH_MAX_SAMPLES, &h, f, d)) > 0)
            n += (size_t)got;
    }
    double c1 = cpu_s();
    fclose(truth);
    sim_model_free(m);
    *frames = n;
    return c1 - c0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 20.0;
    long rate = argc > 2 ? atol(argv[2]) : 50000;
    if (secs <= 0 || rate < SH_RATE_MIN || rate > SH_RATE_MAX) {
        fprintf(stderr, "usage: bench_sim_model [seconds>0] [rate_hz %u..%u]\n", SH_RATE_MIN,
                SH_RATE_MAX);
        return 2;
    }
    struct sim_params p;
    sim_params_default(&p);
    p.sh_rate_hz = (uint32_t)rate;
    uint64_t dur = (uint64_t)(secs * 1e9);
    size_t n_pen, n;
    double pen_only = run(&p, dur, false, &n_pen);
    double both = run(&p, dur, true, &n);
    if (n == 0) {
        fprintf(stderr, "no frames produced\n");
        return 1;
    }
    printf("simulated %.1f s, sensor %ld frames/s (2 channels), pen at 120 Hz\n", secs, rate);
    printf("pen only:       %.3f s CPU = %.2f %% of one core in real time\n", pen_only,
           100.0 * pen_only / secs);
    printf("pen + sensor:   %.3f s CPU = %.2f %% of one core, %zu frames\n", both,
           100.0 * both / secs, n);
    printf("per frame:      %.1f ns (all-in), %.1f ns (sensor part)\n", both * 1e9 / (double)n,
           (both - pen_only) * 1e9 / (double)n);
    return 0;
}
