/* Benchmark (not a test): what keeping the record costs a run. The
 * production EOL sequence on the synthetic bench (virtual pen time, so a
 * run is as fast as the engine), N times each way, alternating:
 *
 *   bench_record DIR [N]
 *
 * none: no record; sync: the record file sink writing every version
 * before the run goes on (fsync of the record and its directory after
 * every step); background: the same sink with REC_FILE_BACKGROUND (the
 * versions between the first and the verdict on a writer thread). DIR
 * must be on the disk the records go to (not tmpfs) for the fsyncs to
 * cost what they do there. Prints the mean and median milliseconds per run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_ops.h"
#include "core/rec.h"
#include "core/run.h"
#include "core/sequence.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void remove_run(const char *dir, unsigned i)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s/bench-%u.*", dir, i);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot clean %s\n", dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_record DIR [N]\n");
        return 64;
    }
    const char *dir = argv[1];
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 20;
    struct rig_problems p;
    problems_init(&p);
    struct rig_sequence *s = sequence_load(FIXTURES_DIR "/sequences/eol.json", &p);
    if (!s) {
        fprintf(stderr, "cannot load eol.json\n");
        return 1;
    }
    static const char *const modes[] = { "none", "sync", "background" };
    double *t[3];
    for (int m = 0; m < 3; m++)
        t[m] = calloc(n, sizeof *t[m]);
    for (unsigned i = 0; i < n; i++)
        for (int m = 0; m < 3; m++) {
            char path[512], err[256];
            snprintf(path, sizeof path, "%s/bench-%u.json", dir, i);
            struct rec_sink sink;
            if (m && rec_file_sink_new_flags(path, m == 2 ? REC_FILE_BACKGROUND : 0, &sink, err,
                                             sizeof err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            struct bench b;
            bench_init(&b);
            struct run_config cfg = {
                .seq = s, .dut_serial = "PA-0000042", .sinks = &sink, .nsinks = m ? 1 : 0
            };
            struct run_result r;
            double t0 = now_ms();
            int rc = run_execute(&cfg, &bench_ops, &b, &r);
            t[m][i] = now_ms() - t0;
            bench_free(&b);
            if (rc != 0 || r.outcome != OUTCOME_PASS) {
                fprintf(stderr, "%s run %u: %s\n", modes[m], i, r.message);
                return 1;
            }
            remove_run(dir, i);
        }
    printf("%u runs of eol.json each, ms per run (mean / median):\n", n);
    for (int m = 0; m < 3; m++) {
        double sum = 0;
        for (unsigned i = 0; i < n; i++)
            sum += t[m][i];
        qsort(t[m], n, sizeof *t[m], cmp);
        printf("  %-10s %8.2f / %8.2f\n", modes[m], sum / n, t[m][n / 2]);
        free(t[m]);
    }
    sequence_free(s);
    problems_free(&p);
    return 0;
}
