/* Station database benchmark (prints figures; not a test): generate N runs
 * of 20 measurements (4 fixtures; failed units and 1 % of the passed ones
 * retested once), then time history --dut, stats of one measurement over
 * all runs, yields, and EOL-sized runs written through the sink (open, an
 * update per step, the verdict).
 *
 *   bench_store [DB [RUNS]]     (default ./bench_store.db, 100000)
 *
 * An existing DB with enough runs is reused (generation takes a while). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"
#include "storetest.h"

#define NMEAS  20
#define NSTEPS 4

static char err[512];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double gauss(unsigned *seed)
{
    double u = (rand_r(seed) + 1.0) / ((double)RAND_MAX + 2.0);
    double v = (rand_r(seed) + 1.0) / ((double)RAND_MAX + 2.0);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static char names[NMEAS][8];

/* Run n of unit dut: 20 measurements around 10 with limits [7, 13] (about
 * 0.3 % out of limits each, so ~5 % of runs fail). */
static void make_run(struct rec_run *r, unsigned long n, const char *dut, double t, unsigned *seed)
{
    char id[37], fixture[8];
    trun_id(id, n);
    snprintf(fixture, sizeof fixture, "f%lu", n % 4);
    trun_init(r, id, dut, fixture, t, OUTCOME_PASS);
    struct tmeas m[NMEAS];
    enum rig_outcome o = OUTCOME_PASS;
    for (int i = 0; i < NMEAS; i++) {
        double x = 10 + gauss(seed);
        m[i] = (struct tmeas){ names[i], x, x >= 7 && x <= 13 ? OUTCOME_PASS : OUTCOME_FAIL,
                               LIM_GELE, 7, 13 };
        o = outcome_worse(o, m[i].outcome);
    }
    for (int s = 0; s < NSTEPS; s++)
        trun_add_step(r, m + s * (NMEAS / NSTEPS), NMEAS / NSTEPS);
    r->outcome = o;
}

static long long count_runs(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sql_int(path, "SELECT count(*) FROM runs") : 0;
}

static void generate(struct store *st, long n)
{
    unsigned seed = 1;
    double t0 = now_s();
    long unit = 0;
    int retest = 0;
    for (long i = 0; i < n; i++) {
        /* 1000 runs per transaction: generation, not the sink's timing. */
        if (i % 1000 == 0 && ((i && store_commit(st, err, sizeof err) < 0) ||
                              store_begin(st, err, sizeof err) < 0)) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        if (!retest)
            unit++;
        char dut[24];
        snprintf(dut, sizeof dut, "SN%07ld", unit);
        struct rec_run r;
        make_run(&r, (unsigned long)i + 1, dut, 30.0 * (double)i, &seed);
        if (store_put_run_locked(st, &r, true, NULL, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        /* A failed unit comes back once; 1 % of passed ones too (an
         * operator's doubt). */
        retest = !retest && (r.outcome != OUTCOME_PASS || rand_r(&seed) % 100 == 0);
        trun_free(&r);
    }
    if (store_commit(st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    printf("generated %ld runs (%ld units, %d measurements each) in %.1f s\n", n, unit, NMEAS,
           now_s() - t0);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench_store.db";
    long n = argc > 2 ? atol(argv[2]) : 100000;
    for (int i = 0; i < NMEAS; i++)
        snprintf(names[i], sizeof names[i], "m%02d", i);
    struct store *st;
    long long have = count_runs(path);
    if (store_open(&st, path, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (have < n) {
        if (have) {
            fprintf(stderr, "%s has %lld runs, fewer than %ld: remove it first\n", path, have, n);
            return 1;
        }
        generate(st, n);
    }
    long long runs = sql_int(path, "SELECT count(*) FROM runs");
    long long meas = sql_int(path, "SELECT count(*) FROM measurements");
    long long units = sql_int(path, "SELECT count(DISTINCT dut_serial) FROM runs");
    struct stat sb;
    stat(path, &sb);
    printf("database: %lld runs, %lld units, %lld measurements, %.1f MB\n", runs, units, meas,
           (double)sb.st_size / 1e6);

    /* history --dut: 200 random serials. */
    unsigned seed = 7;
    double worst = 0, sum = 0;
    for (int i = 0; i < 200; i++) {
        char dut[24];
        snprintf(dut, sizeof dut, "SN%07lld", 1 + rand_r(&seed) % units);
        struct store_filter f = { .dut = dut };
        cJSON *h;
        double t0 = now_s();
        if (store_history(st, &f, &h, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double dt = now_s() - t0;
        sum += dt;
        worst = dt > worst ? dt : worst;
        if (cJSON_GetArraySize(h) < 1) {
            fprintf(stderr, "history --dut %s: nothing\n", dut);
            return 1;
        }
        cJSON_Delete(h);
    }
    printf("history --dut: mean %.3f ms, max %.3f ms (200 serials)\n", sum / 200 * 1e3,
           worst * 1e3);

    for (int i = 0; i < 3; i++) {
        struct store_filter f = { .measurement = "m07" };
        cJSON *s;
        double t0 = now_s();
        if (store_stats(st, &f, &s, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double dt = now_s() - t0;
        const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "measurements"), 0);
        printf(
            "stats --measurement m07: %.1f ms (n %.0f, mean %.4f, sd %.4f, cpk %.3f, ppk "
            "%.3f)\n",
            dt * 1e3, cJSON_GetObjectItem(m, "n")->valuedouble,
            cJSON_GetObjectItem(m, "mean")->valuedouble, cJSON_GetObjectItem(m, "sd")->valuedouble,
            cJSON_GetObjectItem(m, "cpk")->valuedouble, cJSON_GetObjectItem(m, "ppk")->valuedouble);
        cJSON_Delete(s);
    }
    {
        /* Every measurement at once (not a goal: the API asks for one). */
        cJSON *s;
        double t0 = now_s();
        if (store_stats(st, NULL, &s, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("stats (all %d measurements, Pareto of all): %.1f ms\n",
               cJSON_GetArraySize(cJSON_GetObjectItem(s, "measurements")), (now_s() - t0) * 1e3);
        cJSON_Delete(s);
    }
    {
        cJSON *y;
        double t0 = now_s();
        if (store_yields(st, NULL, &y, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("yields (all units): %.1f ms (fpy %.4f, final %.4f, retest rate %.4f)\n",
               (now_s() - t0) * 1e3, cJSON_GetObjectItem(y, "fpy")->valuedouble,
               cJSON_GetObjectItem(y, "final_yield")->valuedouble,
               cJSON_GetObjectItem(y, "retest_rate")->valuedouble);
        cJSON_Delete(y);
    }

    /* EOL-sized runs through the sink, as the executor drives it: open,
     * one update per step (incomplete), the verdict (complete, FULL). */
    double verdict_sum = 0, verdict_max = 0, total_sum = 0;
    const int K = 50;
    for (int k = 0; k < K; k++) {
        struct rec_run full, r;
        char dut[24];
        snprintf(dut, sizeof dut, "EOL%04d", k);
        make_run(&full, 900000000ul + (unsigned long)k, dut, 4e6 + k, &seed);
        r = full;
        struct rec_sink sink;
        if (store_sink_init(&sink, st, "/results/x.json", err, sizeof err) < 0)
            return 1;
        double t0 = now_s();
        r.nsteps = 0;
        int rc = sink.ops->open(sink.impl, &r, err, sizeof err);
        for (size_t s = 1; rc == 0 && s <= full.nsteps; s++) {
            r.nsteps = s;
            rc = sink.ops->update(sink.impl, &r, false, err, sizeof err);
        }
        double t1 = now_s();
        if (rc == 0)
            rc = sink.ops->update(sink.impl, &r, true, err, sizeof err);
        double t2 = now_s();
        sink.ops->close(sink.impl);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        verdict_sum += t2 - t1;
        verdict_max = t2 - t1 > verdict_max ? t2 - t1 : verdict_max;
        total_sum += t2 - t0;
        trun_free(&full);
    }
    printf("EOL run through the sink (%d steps, %d measurements), %d runs: verdict update mean "
           "%.2f ms, max %.2f ms; whole run (open + %d updates + verdict) mean %.2f ms\n",
           NSTEPS, NMEAS, K, verdict_sum / K * 1e3, verdict_max * 1e3, NSTEPS, total_sum / K * 1e3);
    store_close(st);
    return 0;
}
