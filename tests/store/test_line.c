/* The line-wide store against a real PostgreSQL server (a throwaway
 * cluster under the build directory, Unix socket only): the outbox,
 * store_sync's exactly-once delivery across a server crash, a crash
 * between the PostgreSQL commit and the dequeue, updates after a sync, a
 * station restart; the line queries against the station's. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgtest.h"
#include "store/line_int.h"
#include "store/store_lot.h"
#include "storetest.h"

static char err[512];

/* Run n (1-based) of unit SN<(n+1)/2>: odd runs fail "force" and are
 * retested by the even one; 2 steps, 3 measurements. */
static void put_run(struct store *st, unsigned long n, enum rig_outcome outcome)
{
    struct rec_run r;
    char id[37], dut[24], fixture[24];
    trun_id(id, n);
    snprintf(dut, sizeof dut, "SN%lu", (n + 1) / 2);
    snprintf(fixture, sizeof fixture, "f%lu", n % 4);
    bool fail = outcome == OUTCOME_FAIL;
    trun_init(&r, id, dut, fixture, (double)n * 3.5, outcome);
    double force = 10 + (double)(n % 7) * 0.25 + (fail ? 20 : 0);
    struct tmeas m1[2] = {
        { "force", force, fail ? OUTCOME_FAIL : OUTCOME_PASS, LIM_GELE, 5, 20 },
        { "depth", 0.5 + (double)(n % 5) * 0.01, OUTCOME_PASS, LIM_GELE, 0.4, 0.6 },
    };
    struct tmeas m2[1] = { { "rate", 100 + (double)(n % 3), OUTCOME_PASS, LIM_GE, 90, 0 } };
    trun_add_step(&r, m1, 2);
    trun_add_step(&r, m2, 1);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
}

static char station_path[512]; /* of the last station() */

static struct store *station(const char *name, unsigned long n)
{
    struct store *st;
    snprintf(station_path, sizeof station_path, "%s", scratch_path(name));
    ck_assert_msg(store_open(&st, station_path, err, sizeof err) == 0, "%s", err);
    for (unsigned long i = 1; i <= n; i++)
        put_run(st, i, i % 2 && i % 6 != 5 ? OUTCOME_FAIL : OUTCOME_PASS);
    return st;
}

static char last_conninfo[512]; /* of the last connect_line() */

static struct line *connect_line(const char *db)
{
    struct line *ln;
    snprintf(last_conninfo, sizeof last_conninfo, "%s", pg_database(db));
    ck_assert_msg(line_connect(&ln, last_conninfo, "st-1", err, sizeof err) == 0, "%s", err);
    line_set_backoff(ln, 0, 0); /* the tests retry at once */
    return ln;
}

static long long backlog(struct store *st)
{
    struct store_sync_status s;
    ck_assert_msg(store_sync_status(st, &s, err, sizeof err) == 0, "%s", err);
    return s.backlog;
}

/* Every run of the station exactly once, with every measurement. */
static void check_line(const char *db, long long runs, long long meas)
{
    ck_assert_int_eq(pg_int(db, "SELECT count(*) FROM runs"), runs);
    ck_assert_int_eq(pg_int(db, "SELECT count(DISTINCT id) FROM runs"), runs);
    ck_assert_int_eq(pg_int(db, "SELECT count(*) FROM measurements"), meas);
    ck_assert_int_eq(pg_int(db, "SELECT count(*) FROM steps"), 2 * runs);
    ck_assert_int_eq(pg_int(db, "SELECT count(*) FROM instruments"), runs);
    ck_assert_int_eq(pg_int(db, "SELECT count(*) FROM runs WHERE station_id != 'st-1'"), 0);
}

START_TEST(outbox_dedupes)
{
    struct store *st = station("outbox.db", 4);
    ck_assert_int_eq(backlog(st), 4);
    /* The same run put again (a newer version): still one entry. */
    put_run(st, 4, OUTCOME_PASS);
    put_run(st, 4, OUTCOME_FAIL);
    ck_assert_int_eq(backlog(st), 4);
    store_close(st);
}
END_TEST

START_TEST(sync_exactly_once)
{
    struct store *st = station("once.db", 1200);
    struct line *ln = connect_line("once");
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 1200);
    ck_assert_uint_eq(s.batches, 3);
    ck_assert_int_eq(backlog(st), 0);
    check_line("once", 1200, 3600);
    struct store_sync_status ss;
    ck_assert_msg(store_sync_status(st, &ss, err, sizeof err) == 0, "%s", err);
    ck_assert(ss.last_success_at[0]);
    ck_assert_int_eq(ss.sent, 1200);
    /* Nothing queued: nothing sent. */
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 0);
    /* The same values arrive (reals with all their digits). */
    ck_assert_int_eq(pg_int("once", "SELECT count(*) FROM measurements WHERE name = 'depth'"
                                    " AND value::text NOT IN ('0.5', '0.51', '0.52', '0.53',"
                                    " '0.54')"),
                     0);
    line_close(ln);
    store_close(st);
}
END_TEST

struct syncer {
    struct store *st;
    struct line *ln;
    int r;
    char err[512];
};

static void *sync_thread(void *p)
{
    struct syncer *s = p;
    s->r = store_sync(s->st, s->ln, 0, NULL, s->err, sizeof s->err);
    return NULL;
}

START_TEST(server_killed_mid_sync)
{
    struct store *st = station("kill.db", 4000);
    struct line *ln = connect_line("kill");
    /* Two batches in, then the server dies between two syncs... */
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 1000, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 1000);
    pg_stop(true);
    int r = store_sync(st, ln, 0, &s, err, sizeof err);
    ck_assert_msg(r == -ECONNREFUSED, "%d: %s", r, err);
    ck_assert_uint_eq(s.sent, 0);
    ck_assert_uint_eq(s.failed, LINE_BATCH);
    struct store_sync_status ss;
    ck_assert_msg(store_sync_status(st, &ss, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ss.backlog, 3000);
    ck_assert_int_eq(ss.max_attempts, 1);
    ck_assert(ss.last_error[0] && ss.last_error_at[0]);
    pg_restart();
    /* ... and again while a sync is running (wherever it lands: in a
     * batch, between the commit and the dequeue, or after the end). */
    struct syncer sy = { st, ln, 0, "" };
    pthread_t t;
    pthread_create(&t, NULL, sync_thread, &sy);
    usleep(300000);
    pg_stop(true);
    pthread_join(t, NULL);
    pg_restart();
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(backlog(st), 0);
    check_line("kill", 4000, 12000);
    line_close(ln);
    store_close(st);
}
END_TEST

START_TEST(resend_after_commit_is_harmless)
{
    struct store *st = station("resend.db", 700);
    struct line *ln = connect_line("resend");
    /* A crash after the PostgreSQL commit, before the dequeue. */
    ln->fail_after_commit = true;
    ck_assert_int_eq(store_sync(st, ln, 0, NULL, err, sizeof err), -ECANCELED);
    ck_assert_int_eq(pg_int("resend", "SELECT count(*) FROM runs"), LINE_BATCH);
    ck_assert_int_eq(backlog(st), 700);
    ln->fail_after_commit = false;
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 700);
    check_line("resend", 700, 2100);
    /* line_push_run of a run already there: still one copy. */
    char id[37];
    trun_id(id, 3);
    ck_assert_msg(line_push_run(ln, st, id, err, sizeof err) == 0, "%s", err);
    check_line("resend", 700, 2100);
    ck_assert_int_eq(line_push_run(ln, st, "no-such-run", err, sizeof err), -ENOENT);
    line_close(ln);
    store_close(st);
}
END_TEST

/* Run 1 put again while its push is in flight (after the PostgreSQL
 * commit, before the dequeue). */
static void put_again(void *ctx)
{
    put_run(ctx, 1, OUTCOME_PASS);
}

START_TEST(run_put_during_push_stays_queued)
{
    struct store *st = station("inflight.db", 10);
    struct line *ln = connect_line("inflight");
    ln->after_commit = put_again;
    ln->after_commit_ctx = st;
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 10, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 10);
    /* The line has run 1 as it was read (FAIL); the station's newer
     * version (PASS) is still queued, and so is run 2, SN1's retest, whose
     * retest reason the put changed ("FAIL: force" -> "PASS"). */
    ck_assert_int_eq(backlog(st), 2);
    char id[37], sql[256];
    trun_id(id, 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = '%s' AND outcome = 'PASS'", id);
    ck_assert_int_eq(pg_int("inflight", sql), 0);
    ln->after_commit = NULL;
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 2);
    ck_assert_int_eq(backlog(st), 0);
    ck_assert_int_eq(pg_int("inflight", sql), 1);
    ck_assert_int_eq(pg_int("inflight", "SELECT count(*) FROM runs"), 10);
    trun_id(id, 2);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM runs WHERE id = '%s' AND retest_reason = 'PASS'", id);
    ck_assert_int_eq(pg_int("inflight", sql), 1);
    line_close(ln);
    store_close(st);
}
END_TEST

START_TEST(updated_run_is_resent)
{
    struct store *st = station("update.db", 10);
    struct line *ln = connect_line("update");
    ck_assert_msg(store_sync(st, ln, 0, NULL, err, sizeof err) == 0, "%s", err);
    char id[37], sql[256];
    trun_id(id, 10);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = '%s' AND outcome = 'FAIL'", id);
    ck_assert_int_eq(pg_int("update", sql), 0);
    /* A newer version of run 10: FAIL, one more step. */
    struct rec_run r;
    trun_init(&r, id, "SN5", "f2", 35, OUTCOME_FAIL);
    struct tmeas m[1] = { { "force", 30, OUTCOME_FAIL, LIM_GELE, 5, 20 } };
    for (int i = 0; i < 3; i++)
        trun_add_step(&r, m, 1);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
    ck_assert_int_eq(backlog(st), 1);
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 1);
    ck_assert_int_eq(pg_int("update", sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM measurements WHERE run_id = '%s'", id);
    ck_assert_int_eq(pg_int("update", sql), 3);
    ck_assert_int_eq(pg_int("update", "SELECT count(*) FROM runs"), 10);
    line_close(ln);
    store_close(st);
}
END_TEST

/* A run PostgreSQL refuses (text that is not UTF-8) keeps its error and
 * its place; the runs queued with it still go. */
START_TEST(refused_run_does_not_block)
{
    struct store *st = station("poison.db", 10);
    char id[37];
    trun_id(id, 5);
    struct rec_run r;
    trun_init(&r, id, "SN3", "f1", 17.5, OUTCOME_FAIL);
    free(r.message);
    r.message = strdup("bad \xff byte");
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    struct line *ln = connect_line("poison");
    struct store_sync_stats s;
    ck_assert_int_eq(store_sync(st, ln, 0, &s, err, sizeof err), -EIO);
    ck_assert_msg(strstr(err, "UTF8"), "%s", err);
    /* Run 6 (SN3's retest) names run 5's message in its retest reason:
     * refused too. */
    ck_assert_uint_eq(s.sent, 8);
    ck_assert_uint_eq(s.failed, 2);
    ck_assert_int_eq(backlog(st), 2);
    ck_assert_int_eq(pg_int("poison", "SELECT count(*) FROM runs"), 8);
    struct store_sync_status ss;
    ck_assert_msg(store_sync_status(st, &ss, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(ss.last_error, "UTF8"), "%s", ss.last_error);
    ck_assert_int_eq(ss.max_attempts, 1);
    /* Corrected at the station: the new version goes. */
    free(r.message);
    r.message = strdup("fixed");
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 2);
    ck_assert_int_eq(backlog(st), 0);
    ck_assert_int_eq(pg_int("poison", "SELECT count(*) FROM runs"), 10);
    line_close(ln);
    store_close(st);
}
END_TEST

/* A failed push backs off: its entries are not due until the next try,
 * and a sync meanwhile sends nothing and does not fail. */
START_TEST(failure_backs_off)
{
    struct store *st = station("backoff.db", 5);
    struct line *ln = connect_line("backoff");
    line_set_backoff(ln, 60000, 600000);
    pg_stop(true);
    struct store_sync_stats s;
    ck_assert_int_eq(store_sync(st, ln, 0, &s, err, sizeof err), -ECONNREFUSED);
    ck_assert_uint_eq(s.failed, 5);
    struct store_sync_status ss;
    ck_assert_msg(store_sync_status(st, &ss, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ss.backlog, 5);
    ck_assert_int_eq(ss.due, 0);
    ck_assert(ss.next_try[0] && strcmp(ss.next_try, ss.last_error_at) > 0);
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent + s.failed, 0);
    pg_restart();
    /* Retried at once here (the tests' backoff): all of them, once. */
    line_set_backoff(ln, 0, 0);
    sqlite3 *db;
    ck_assert(sqlite3_open(station_path, &db) == SQLITE_OK);
    ck_assert(sqlite3_exec(db, "UPDATE outbox SET next_try_utc = ''", NULL, NULL, NULL) ==
              SQLITE_OK);
    sqlite3_close(db);
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 5);
    ck_assert_int_eq(pg_int("backoff", "SELECT count(*) FROM runs"), 5);
    line_close(ln);
    store_close(st);
}
END_TEST

START_TEST(restart_keeps_backlog)
{
    struct store *st = station("restart.db", 1100);
    struct line *ln = connect_line("restart");
    ck_assert_msg(store_sync(st, ln, 600, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(backlog(st), 500);
    /* The station stops and starts again: its backlog is still queued. */
    store_close(st);
    ck_assert_msg(store_open(&st, station_path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(backlog(st), 500);
    struct store_sync_stats s;
    ck_assert_msg(store_sync(st, ln, 0, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s.sent, 500);
    check_line("restart", 1100, 3300);
    line_close(ln);
    store_close(st);
}
END_TEST

/* The line's answer equals the station's, once station_id is set aside
 * (numbers compared as cJSON_Compare does). */
static void same(cJSON *station_json, cJSON *line_json, const char *what)
{
    cJSON *runs = cJSON_IsArray(line_json) ? line_json : cJSON_GetObjectItem(line_json, "runs");
    cJSON *o;
    cJSON_ArrayForEach (o, runs)
        cJSON_DeleteItemFromObject(o, "station_id");
    if (!cJSON_Compare(station_json, line_json, true)) {
        char *a = cJSON_PrintUnformatted(station_json), *b = cJSON_PrintUnformatted(line_json);
        ck_abort_msg("%s differs:\nstation %.1500s\nline    %.1500s", what, a, b);
    }
    cJSON_Delete(station_json);
    cJSON_Delete(line_json);
}

START_TEST(line_queries_match_station)
{
    struct store *st = station("queries.db", 60);
    /* Incomplete runs (one a retest), a run without a serial, another
     * fixture's unit. */
    struct rec_run r;
    char id[37];
    const struct {
        unsigned long n;
        const char *dut, *fixture;
        double t;
    } more[] = { { 101, "SN7", "f1", 1000 }, { 102, "SN99", "f3", 1001 }, { 103, "", NULL, 1002 } };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        trun_id(id, more[i].n);
        trun_init(&r, id, more[i].dut, more[i].fixture, more[i].t, OUTCOME_ERROR);
        struct tmeas m[1] = { { "force", 12, OUTCOME_PASS, LIM_GELE, 5, 20 } };
        trun_add_step(&r, m, 1);
        ck_assert_msg(store_put_run(st, &r, i == 2, NULL, err, sizeof err) == 0, "%s", err);
        trun_free(&r);
    }
    struct line *ln = connect_line("queries");
    ck_assert_msg(store_sync(st, ln, 0, NULL, err, sizeof err) == 0, "%s", err);
    cJSON *a, *b;
    const struct store_filter hf[] = {
        { 0 },
        { .dut = "SN7" },
        { .since = "2026-12-01T00:01", .until = "2026-12-01T00:02:30" },
        { .outcome = "incomplete" },
        { .outcome = "FAIL", .fixture = "f1" },
        { .limit = 5 },
    };
    for (size_t i = 0; i < sizeof hf / sizeof hf[0]; i++) {
        ck_assert_msg(store_history(st, &hf[i], &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(line_history(ln, &hf[i], &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_gt(cJSON_GetArraySize(b), 0);
        same(a, b, "history");
    }
    const char *serials[] = { "SN1", "SN3", "SN7", "SN99", "", "nobody" };
    for (size_t i = 0; i < sizeof serials / sizeof serials[0]; i++) {
        ck_assert_msg(store_unit(st, serials[i], &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(line_unit(ln, serials[i], &b, err, sizeof err) == 0, "%s", err);
        same(a, b, "unit");
    }
    const struct store_filter sf[] = {
        { 0 },
        { .measurement = "force" },
        { .since = "2026-12-01T00:01" },
        { .fixture = "f2", .measurement = "depth" },
        { .until = "2026-12-01T00:01" },
    };
    for (size_t i = 0; i < sizeof sf / sizeof sf[0]; i++) {
        ck_assert_msg(store_yields(st, &sf[i], &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(line_yields(ln, &sf[i], &b, err, sizeof err) == 0, "%s", err);
        same(a, b, "yields");
        ck_assert_msg(store_stats(st, &sf[i], &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(line_stats(ln, &sf[i], &b, err, sizeof err) == 0, "%s", err);
        same(a, b, "stats");
    }
    /* Another station's run of SN1 (started later) is attempt 3 over the
     * line, and the line's unit has both stations' runs. */
    struct store *st2;
    ck_assert_msg(store_open(&st2, scratch_path("queries2.db"), err, sizeof err) == 0, "%s", err);
    trun_id(id, 500);
    trun_init(&r, id, "SN1", "f9", 5000, OUTCOME_PASS);
    ck_assert_msg(store_put_run(st2, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
    struct line *ln2;
    ck_assert_msg(line_connect(&ln2, last_conninfo, "st-2", err, sizeof err) == 0, "%s", err);
    ck_assert_msg(store_sync(st2, ln2, 0, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(line_unit(ln, "SN1", &b, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetObjectItem(b, "attempts")->valueint, 3);
    cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "runs"), 2);
    ck_assert_int_eq(cJSON_GetObjectItem(last, "attempt")->valueint, 3);
    ck_assert_str_eq(cJSON_GetObjectItem(last, "station_id")->valuestring, "st-2");
    ck_assert_str_eq(cJSON_GetObjectItem(b, "final_outcome")->valuestring, "PASS");
    cJSON_Delete(b);
    line_close(ln2);
    store_close(st2);
    line_close(ln);
    store_close(st);
}
END_TEST

/* The lot report's data over the line equals the station's (the same
 * runs, in the same order, the same values per population). */
START_TEST(line_lot_matches_station)
{
    struct store *st = station("lot.db", 40);
    struct line *ln = connect_line("lot");
    ck_assert_msg(store_sync(st, ln, 0, NULL, err, sizeof err) == 0, "%s", err);
    const struct store_filter lf[] = {
        { 0 },
        { .since = "2026-12-01T00:01", .fixture = "f1" },
        { .measurement = "force", .until = "2026-12-01T00:02" },
        { .model = "MNP-A" }, /* these runs report no model: none */
    };
    for (size_t i = 0; i < sizeof lf / sizeof lf[0]; i++) {
        struct store_lot *a, *b;
        ck_assert_msg(store_lot(st, &lf[i], &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(line_lot(ln, &lf[i], &b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(a->started, b->started);
        ck_assert_uint_eq(a->nruns, b->nruns);
        ck_assert(i == 3 ? a->nruns == 0 : a->nruns > 0);
        for (size_t k = 0; k < a->nruns; k++) {
            ck_assert_str_eq(a->runs[k].id, b->runs[k].id);
            ck_assert_uint_eq(a->runs[k].attempt, b->runs[k].attempt);
            ck_assert_str_eq(a->runs[k].outcome, b->runs[k].outcome);
            ck_assert_str_eq(a->runs[k].failing ? a->runs[k].failing : "-",
                             b->runs[k].failing ? b->runs[k].failing : "-");
        }
        ck_assert_uint_eq(a->nseries, b->nseries);
        for (size_t k = 0; k < a->nseries; k++) {
            const struct store_lot_series *x = &a->series[k], *y = &b->series[k];
            ck_assert_str_eq(x->name, y->name);
            ck_assert_uint_eq(x->count, y->count);
            ck_assert_uint_eq(x->pass, y->pass);
            ck_assert_uint_eq(x->n, y->n);
            for (size_t j = 0; j < x->n; j++) {
                ck_assert_double_eq(x->x[j], y->x[j]);
                ck_assert_uint_eq(x->run[j], y->run[j]);
            }
        }
        same(a->stats, b->stats, "lot stats");
        a->stats = b->stats = NULL; /* same() freed them */
        store_lot_free(a);
        store_lot_free(b);
    }
    line_close(ln);
    store_close(st);
}
END_TEST

/* Run a shell command, its stdout into out (malloc'd); exit status. */
static int sh(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    ck_assert(p);
    size_t n = 0, cap = 65536;
    *out = malloc(cap);
    ck_assert(*out);
    size_t k;
    while ((k = fread(*out + n, 1, cap - n - 1, p)) > 0)
        n += k;
    (*out)[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(rigctl_sync)
{
    struct store *st = station("ctl.db", 30);
    store_close(st);
    struct line *ln = connect_line("ctl"); /* creates the database */
    line_close(ln);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s sync --station-db %s", RIGCTL, station_path);
    ck_assert_int_eq(sh(cmd, &out), 0);
    ck_assert_msg(strstr(out, "backlog:      30 run(s)"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s sync --station-db %s --db '%s' --station-id st-1 --json", RIGCTL,
             station_path, last_conninfo);
    ck_assert_int_eq(sh(cmd, &out), 0);
    cJSON *o = cJSON_Parse(out);
    ck_assert_msg(o, "%s", out);
    free(out);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "backlog")->valueint, 0);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sync"), "sent")->valueint, 30);
    cJSON_Delete(o);
    ck_assert_int_eq(pg_int("ctl", "SELECT count(*) FROM runs"), 30);
    /* The line down: exit 69 (unavailable), the error kept for the status. */
    pg_stop(false);
    ck_assert_int_eq(sh(cmd, &out), 69);
    free(out);
    pg_restart();
    snprintf(cmd, sizeof cmd, "%s sync --station-db %s", RIGCTL, station_path);
    ck_assert_int_eq(sh(cmd, &out), 0);
    ck_assert_msg(strstr(out, "last error:   line store: connect:"), "%s", out);
    free(out);
}
END_TEST

Suite *line_suite(void);
Suite *line_suite(void)
{
    Suite *s = suite_create("line");
    TCase *tc = tcase_create("sync");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, outbox_dedupes);
    tcase_add_test(tc, sync_exactly_once);
    tcase_add_test(tc, server_killed_mid_sync);
    tcase_add_test(tc, resend_after_commit_is_harmless);
    tcase_add_test(tc, updated_run_is_resent);
    tcase_add_test(tc, run_put_during_push_stays_queued);
    tcase_add_test(tc, restart_keeps_backlog);
    tcase_add_test(tc, refused_run_does_not_block);
    tcase_add_test(tc, failure_backs_off);
    suite_add_tcase(s, tc);
    TCase *tq = tcase_create("queries");
    tcase_set_timeout(tq, 300);
    tcase_add_test(tq, line_queries_match_station);
    tcase_add_test(tq, rigctl_sync);
    tcase_add_test(tq, line_lot_matches_station);
    suite_add_tcase(s, tq);
    return s;
}

int main(void)
{
    pg_start(PG_TEST_DIR, "-c fsync=off");
    SRunner *sr = srunner_create(line_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pg_destroy();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
