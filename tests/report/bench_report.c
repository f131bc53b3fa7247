/* Benchmark (built, not run by meson test): time to render a run report.
 *   bench_report [-n N] RECORD...
 * For each record: N renders of its report into memory (reading the
 * record, its captures and per-stroke files each time, as rigctl report
 * and rigd's automatic report do; the file write is not timed), then
 * min / median / max wall time and the page's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/run_report.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = 20, i = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        n = atoi(argv[2]);
        i = 3;
    }
    if (i >= argc || n < 1) {
        fprintf(stderr, "usage: bench_report [-n N] RECORD...\n");
        return 64;
    }
    double *t = malloc(sizeof *t * (size_t)n);
    if (!t)
        return 1;
    printf("%-40s %6s %9s %9s %9s %10s\n", "record", "renders", "min ms", "median ms", "max ms",
           "page bytes");
    for (; i < argc; i++) {
        size_t bytes = 0;
        for (int k = 0; k < n; k++) {
            struct html h;
            html_init(&h);
            char err[600];
            double t0 = now_ms();
            int rc = run_report_build(argv[i], NULL, &h, err, sizeof err);
            t[k] = now_ms() - t0;
            bytes = h.len;
            html_free(&h);
            if (rc < 0) {
                fprintf(stderr, "bench_report: %s\n", err);
                free(t);
                return 1;
            }
        }
        qsort(t, (size_t)n, sizeof *t, cmp);
        const char *base = strrchr(argv[i], '/');
        printf("%-40s %6d %9.2f %9.2f %9.2f %10zu\n", base ? base + 1 : argv[i], n, t[0], t[n / 2],
               t[n - 1], bytes);
    }
    free(t);
    return 0;
}
