/* Lot report benchmark (prints figures; not a test): the time to read a
 * selection (store_lot), build the page (lot_report_write) and write the
 * file, repeated, as min / median / max.
 *
 *   bench_lot DB SINCE UNTIL [REPEATS [OUT.html]]   (default 5, ./bench_lot.html)
 *
 * DB: a station database, e.g. from tests/store/bench_store (its runs
 * start at 2026-12-01, one each 30 s: 10 000 runs end before 2026-12-05). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "report/lot_report.h"
#include "store/store_lot.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%-28s min %8.1f ms  median %8.1f ms  max %8.1f ms\n", what, t[0] * 1e3, t[n / 2] * 1e3,
           t[n - 1] * 1e3);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_lot DB SINCE UNTIL [REPEATS [OUT.html]]\n");
        return 64;
    }
    int n = argc > 4 ? atoi(argv[4]) : 5;
    const char *out = argc > 5 ? argv[5] : "bench_lot.html";
    if (n < 1 || n > 100)
        n = 5;
    char err[512];
    struct store *st;
    if (store_open(&st, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct store_filter f = { .since = argv[2], .until = argv[3] };
    struct lot_report_opts o = { .filter = &f, .source = argv[1] };
    double tq[100], tr[100], tw[100], tt[100];
    size_t runs = 0, values = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        struct store_lot *lot;
        if (store_lot(st, &f, &lot, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double t1 = now_s();
        struct html h;
        html_init(&h);
        if (lot_report_write(&h, lot, &o, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double t2 = now_s();
        if (html_write_file(&h, out, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double t3 = now_s();
        runs = lot->nruns;
        values = 0;
        for (size_t k = 0; k < lot->nseries; k++)
            values += lot->series[k].n;
        html_free(&h);
        store_lot_free(lot);
        tq[i] = t1 - t0;
        tr[i] = t2 - t1;
        tw[i] = t3 - t2;
        tt[i] = t3 - t0;
    }
    store_close(st);
    struct stat sb;
    stat(out, &sb);
    printf("lot report of %zu runs, %zu values: %s, %.2f MB, %d repeats\n", runs, values, out,
           (double)sb.st_size / 1e6, n);
    print("read (store_lot)", tq, n);
    print("page (lot_report_write)", tr, n);
    print("write file", tw, n);
    print("total", tt, n);
    return 0;
}
