/* Benchmark of the line-wide store (not a test): sync throughput of
 * generated EOL-sized runs (4 steps, 20 measurements each) to a throwaway
 * PostgreSQL server (default settings: fsync on), and the catch-up after
 * a 10 minute outage of a 4-fixture station (a run every 3.5 s per
 * fixture: 686 runs of backlog). Figures in docs/STORE.md.
 *
 *   bench_line [RUNS [BACKLOG]]     (10000, 686) */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pgtest.h"
#include "store/line.h"
#include "store/store_int.h"
#include "storetest.h"

#define NMEAS  20
#define NSTEPS 4

static char err[512];
static char names[NMEAS][8];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void need(int r)
{
    if (r < 0) {
        fprintf(stderr, "bench_line: %s\n", err);
        exit(1);
    }
}

/* n EOL runs into a fresh station database (queued for the line as the
 * sink would queue them), 1000 per transaction: generation is not timed. */
static struct store *station(const char *name, long n)
{
    struct store *st;
    need(store_open(&st, scratch_path(name), err, sizeof err));
    unsigned seed = 1;
    for (long i = 0; i < n; i++) {
        if (i % 1000 == 0 &&
            ((i && store_commit(st, err, sizeof err) < 0) || store_begin(st, err, sizeof err) < 0))
            need(-1);
        char id[37], dut[24], fixture[8];
        trun_id(id, (unsigned long)i + 1);
        snprintf(dut, sizeof dut, "SN%07ld", i + 1);
        snprintf(fixture, sizeof fixture, "f%ld", i % 4);
        struct rec_run r;
        trun_init(&r, id, dut, fixture, 3.5 * (double)i, OUTCOME_PASS);
        struct tmeas m[NMEAS];
        for (int k = 0; k < NMEAS; k++) {
            double u = (rand_r(&seed) + 1.0) / ((double)RAND_MAX + 2.0);
            double v = (rand_r(&seed) + 1.0) / ((double)RAND_MAX + 2.0);
            double x = 10 + sqrt(-2 * log(u)) * cos(2 * M_PI * v);
            m[k] = (struct tmeas){ names[k], x, x >= 7 && x <= 13 ? OUTCOME_PASS : OUTCOME_FAIL,
                                   LIM_GELE, 7, 13 };
        }
        for (int s = 0; s < NSTEPS; s++)
            trun_add_step(&r, m + s * (NMEAS / NSTEPS), NMEAS / NSTEPS);
        need(store_put_run_locked(st, &r, true, NULL, err, sizeof err));
        trun_free(&r);
    }
    need(store_commit(st, err, sizeof err));
    return st;
}

static double drain(struct store *st, const char *db, bool fresh, long n, const char *what)
{
    static char ci[512];
    if (fresh)
        snprintf(ci, sizeof ci, "%s", pg_database(db));
    struct line *ln;
    need(line_connect(&ln, ci, "bench", err, sizeof err));
    struct store_sync_stats s;
    double t0 = now_s();
    need(store_sync(st, ln, 0, &s, err, sizeof err));
    double dt = now_s() - t0;
    long long got = pg_int(db, "SELECT count(*) FROM runs");
    long long meas = pg_int(db, "SELECT count(*) FROM measurements");
    printf("%s: %lu runs (%lld in PostgreSQL, %lld measurements) in %lu transactions,"
           " %.2f s: %.0f runs/s\n",
           what, s.sent, got, meas, s.batches, dt, (double)s.sent / dt);
    if (got != n) {
        fprintf(stderr, "bench_line: %lld runs arrived, not %ld\n", got, n);
        exit(1);
    }
    line_close(ln);
    return dt;
}

/* The line's queries against the station's over the same runs. */
static void query_times(struct store *st, const char *db, long n)
{
    static char ci[512];
    snprintf(ci, sizeof ci, "%s", pg_database_conninfo(db));
    struct line *ln;
    need(line_connect(&ln, ci, "bench", err, sizeof err));
    unsigned seed = 7;
    double tl = 0, ts = 0, worst = 0;
    for (int i = 0; i < 50; i++) {
        char dut[24];
        snprintf(dut, sizeof dut, "SN%07ld", 1 + rand_r(&seed) % n);
        struct store_filter f = { .dut = dut };
        cJSON *a, *b;
        double t0 = now_s();
        need(line_history(ln, &f, &a, err, sizeof err));
        double t1 = now_s();
        need(store_history(st, &f, &b, err, sizeof err));
        double t2 = now_s();
        tl += t1 - t0;
        ts += t2 - t1;
        worst = t1 - t0 > worst ? t1 - t0 : worst;
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    printf("history --dut over %ld runs: line %.2f ms mean (max %.2f), station %.2f ms\n", n,
           tl / 50 * 1e3, worst * 1e3, ts / 50 * 1e3);
    struct store_filter f = { .measurement = "m00" };
    cJSON *a, *b;
    double t0 = now_s();
    need(line_stats(ln, &f, &a, err, sizeof err));
    double t1 = now_s();
    need(store_stats(st, &f, &b, err, sizeof err));
    double t2 = now_s();
    printf("stats --measurement m00 over %ld runs: line %.0f ms, station %.0f ms, %s\n", n,
           (t1 - t0) * 1e3, (t2 - t1) * 1e3,
           cJSON_Compare(cJSON_GetObjectItem(a, "measurements"),
                         cJSON_GetObjectItem(b, "measurements"), true)
               ? "same figures"
               : "FIGURES DIFFER");
    cJSON_Delete(a);
    cJSON_Delete(b);
    line_close(ln);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    long backlog = argc > 2 ? atol(argv[2]) : 686; /* 4 fixtures * 600 s / 3.5 s */
    for (int i = 0; i < NMEAS; i++)
        snprintf(names[i], sizeof names[i], "m%02d", i);
    double t0 = now_s();
    pg_start(PG_BENCH_DIR, NULL);
    printf("PostgreSQL cluster initialised and started in %.1f s\n", now_s() - t0);

    struct store *st = station("bench_line.db", n);
    drain(st, "bench_throughput", true, n, "throughput, new runs");
    /* All of them queued again and pushed over themselves: the cost of a
     * re-send (every run deleted and inserted). */
    if (sqlite3_exec(st->db,
                     "INSERT INTO outbox(rid, seq, enqueued_utc) SELECT rid, rid, '' FROM runs",
                     NULL, NULL, NULL) != SQLITE_OK)
        return 1;
    drain(st, "bench_throughput", false, n, "throughput, every run replaced");
    query_times(st, "bench_throughput", n);
    store_close(st);

    st = station("bench_backlog.db", backlog);
    drain(st, "bench_backlog", true, backlog,
          "catch-up after a 10 min outage (4 fixtures, 3.5 s/run)");
    store_close(st);
    pg_destroy();
    return 0;
}
