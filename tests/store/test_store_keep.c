/* The station database's keeping of runs: schema creation and migration,
 * refusal of a newer or foreign database, idempotent updates, a run opened
 * and never completed, kill -9 in the middle of transactions, a database
 * locked by another connection, a full disk, four fixtures at once. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"
#include "storetest.h"

static char err[512];

static const struct tmeas pass3[] = {
    { "force", 1.0, OUTCOME_PASS, LIM_GELE, 0.5, 1.5 },
    { "depth", 0.5, OUTCOME_PASS, LIM_GELE, 0.4, 0.6 },
    { "rate", 100, OUTCOME_PASS, LIM_GE, 90, NAN },
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(creates_schema_at_current_version)
{
    const char *path = scratch_path("new.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                   " name IN ('runs', 'steps', 'measurements', 'setpoints',"
                                   " 'instruments', 'attachments')"),
                     6);
    /* WAL is a property of the file: a new connection sees it. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* Opening again migrates nothing. */
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(migrates_from_version_1_keeping_runs)
{
    const char *path = scratch_path("v1.db");
    struct store *st;
    ck_assert_msg(store_open_at(&st, path, 1, err, sizeof err) == 0, "%s", err);
    struct rec_run r;
    char id[37];
    trun_id(id, 1);
    trun_init(&r, id, "SN1", "f1", 0, OUTCOME_PASS);
    trun_add_step(&r, pass3, 3);
    ck_assert_msg(store_put_run(st, &r, true, "/r/1.json", err, sizeof err) == 0, "%s", err);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT max(version) FROM schema_version"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_dut'"),
                     0);

    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    cJSON *h;
    struct store_filter f = { .dut = "SN1" };
    ck_assert_msg(store_history(st, &f, &h, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(h), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "record_path")->valuestring,
                     "/r/1.json");
    cJSON_Delete(h);
    store_close(st);
    trun_free(&r);
    ck_assert_int_eq(sql_int(path, "SELECT max(version) FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_dut'"),
                     1);
    /* Migration 3 queues the runs already there for the line store. */
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM outbox"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 3);
}
END_TEST

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

START_TEST(refuses_newer_and_foreign_databases)
{
    const char *path = scratch_path("newer.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    store_close(st);
    exec_sql(path, "INSERT INTO schema_version VALUES (99, 'x', 'from the future')");
    ck_assert_int_eq(store_open(&st, path, err, sizeof err), -EPROTO);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "schema version 99 is newer"), "%s", err);

    path = scratch_path("foreign.db");
    exec_sql(path, "CREATE TABLE foo(x)");
    ck_assert_int_eq(store_open(&st, path, err, sizeof err), -EPROTO);
    ck_assert_msg(strstr(err, "not a rig station database"), "%s", err);
    /* ... and left as it was: still a rollback-journal database. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "delete");
    sqlite3_finalize(s);
    sqlite3_close(db);
}
END_TEST

START_TEST(update_is_idempotent_by_run_id)
{
    const char *path = scratch_path("idem.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    struct rec_run r;
    char id[37];
    trun_id(id, 7);
    trun_init(&r, id, "SN7", "f1", 0, OUTCOME_PASS);
    trun_add_step(&r, pass3, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(store_put_run(st, &r, false, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 3);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM setpoints"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM instruments"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM attachments"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT complete FROM runs"), 0);
    /* A later version of the run with another step replaces the rows. */
    trun_add_step(&r, pass3, 2);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM steps"), 2);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 5);
    ck_assert_int_eq(sql_int(path, "SELECT complete FROM runs"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT attempt FROM runs"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs WHERE outcome = 'PASS'"), 1);
    trun_free(&r);
    store_close(st);
}
END_TEST

/* Through the sink interface, as the executor calls it: a run opened and
 * never completed (the daemon died) stays visible as incomplete. */
START_TEST(sink_leaves_unfinished_run_incomplete)
{
    const char *path = scratch_path("sink.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    struct rec_sink k;
    ck_assert_msg(store_sink_init(&k, st, "/results/x.json", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(k.ops->name, "station database");
    struct rec_run r;
    char id[37];
    trun_id(id, 9);
    trun_init(&r, id, "SN9", "f1", 0, OUTCOME_FAIL);
    ck_assert_msg(k.ops->open(k.impl, &r, err, sizeof err) == 0, "%s", err);
    struct rec_attachment a = { .name = NULL };
    ck_assert_int_eq(k.ops->attach(k.impl, "capture.bin", "x", 1, 0, &a, err, sizeof err), 0);
    ck_assert_ptr_null(a.name); /* keeps nothing, touches nothing */
    trun_add_step(&r, pass3, 3);
    ck_assert_msg(k.ops->update(k.impl, &r, false, err, sizeof err) == 0, "%s", err);
    k.ops->close(k.impl);
    store_close(st);
    trun_free(&r);

    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    cJSON *h;
    struct store_filter f = { .outcome = "incomplete" };
    ck_assert_msg(store_history(st, &f, &h, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(h), 1);
    cJSON *o = cJSON_GetArrayItem(h, 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "complete")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "outcome")));
    ck_assert_str_eq(cJSON_GetObjectItem(o, "record_path")->valuestring, "/results/x.json");
    cJSON_Delete(h);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 3);
}
END_TEST

/* The child keeps rewriting one run with a changing number of steps (so
 * every version has a different number of rows) until it is killed. */
static void rewrite_forever(const char *path, int ready_fd)
{
    struct store *st;
    if (store_open(&st, path, err, sizeof err) < 0)
        _exit(3);
    /* A page cache this small spills a transaction's pages into the WAL
     * before its commit, so a kill leaves uncommitted frames on disk for
     * the recovery to throw away (not only a transaction lost in memory). */
    if (sqlite3_exec(st->db, "PRAGMA cache_size = 4", NULL, NULL, NULL) != SQLITE_OK)
        _exit(6);
    struct rec_run r;
    char id[37];
    trun_id(id, 42);
    trun_init(&r, id, "SN42", "f1", 0, OUTCOME_PASS);
    static struct tmeas m[20];
    for (int i = 0; i < 20; i++)
        m[i] = (struct tmeas){ "force", 1.0 + i, OUTCOME_PASS, LIM_GELE, 0, 100 };
    for (unsigned long i = 0;; i++) {
        if (r.nsteps == 8) {
            trun_free(&r);
            trun_init(&r, id, "SN42", "f1", 0, OUTCOME_PASS);
        }
        trun_add_step(&r, m, 20);
        if (store_put_run(st, &r, false, NULL, err, sizeof err) < 0)
            _exit(4);
        if (i == 0 && write(ready_fd, "x", 1) != 1)
            _exit(5);
    }
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Frames of the current WAL generation after its last commit frame: what
 * a writer killed mid-transaction left behind (file format: sqlite.org
 * fileformat2.html, "WAL file format"). Checksums are not verified: a
 * frame cut short by the kill still counts. */
static int wal_uncommitted(const char *db)
{
    char path[600];
    snprintf(path, sizeof path, "%s-wal", db);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char h[32], fh[24];
    int pending = 0;
    if (fread(h, 1, 32, f) == 32) {
        uint32_t page = be32(h + 8);
        for (long i = 0;; i++) {
            if (fseek(f, 32 + i * (24 + (long)page), SEEK_SET) != 0 || fread(fh, 1, 24, f) != 24 ||
                memcmp(fh + 8, h + 16, 8) != 0)
                break; /* end, or a frame of an older generation */
            pending = be32(fh + 4) ? 0 : pending + 1;
        }
    }
    fclose(f);
    return pending;
}

START_TEST(kill_9_mid_transaction_leaves_it_consistent)
{
    const char *path = scratch_path("crash.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    store_close(st);
    unsigned seed = (unsigned)time(NULL);
    int torn = 0; /* rounds that left uncommitted frames in the WAL */
    for (int round = 0; round < 8; round++) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            rewrite_forever(path, fds[1]);
        }
        close(fds[1]);
        char c;
        ck_assert_int_eq(read(fds[0], &c, 1), 1);
        close(fds[0]);
        usleep(5000 + (unsigned)(rand_r(&seed) % 60000));
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        torn += wal_uncommitted(path) > 0;

        /* Reopen (recovers the WAL): one version of the run, whole. */
        ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
        store_close(st);
        sqlite3 *db;
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *s;
        ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
        sqlite3_finalize(s);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
        sqlite3_finalize(s);
        sqlite3_close(db);
        ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs"), 1);
        ck_assert_int_eq(sql_int(path, "SELECT complete FROM runs"), 0);
        long long steps = sql_int(path, "SELECT n_steps FROM runs");
        ck_assert_int_ge(steps, 1);
        ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM steps"), steps);
        ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 20 * steps);
        ck_assert_int_eq(sql_int(path, "SELECT n_measurements FROM runs"), 20 * steps);
    }
    /* The kills did land inside transactions, past their first write. */
    printf("kill -9: %d of 8 rounds left uncommitted WAL frames\n", torn);
    ck_assert_int_ge(torn, 1);
}
END_TEST

/* Another connection holds the write lock for hold_ms. */
struct locker {
    const char *path;
    int hold_ms;
    int ready[2];
};

static void *hold_lock(void *arg)
{
    struct locker *l = arg;
    sqlite3 *db;
    if (sqlite3_open(l->path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return (void *)1;
    if (write(l->ready[1], "x", 1) != 1)
        return (void *)1;
    usleep((useconds_t)l->hold_ms * 1000);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static pthread_t lock_for(struct locker *l, const char *path, int ms)
{
    l->path = path;
    l->hold_ms = ms;
    ck_assert_int_eq(pipe(l->ready), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, hold_lock, l), 0);
    char c;
    ck_assert_int_eq(read(l->ready[0], &c, 1), 1);
    close(l->ready[0]);
    close(l->ready[1]);
    return t;
}

START_TEST(locked_database_does_not_lose_the_run)
{
    const char *path = scratch_path("locked.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    struct rec_run r;
    char id[37];
    trun_id(id, 5);
    trun_init(&r, id, "SN5", "f1", 0, OUTCOME_PASS);
    trun_add_step(&r, pass3, 3);

    /* Locked for 1 s: the busy timeout waits it out. */
    struct locker l;
    pthread_t t = lock_for(&l, path, 1000);
    double t0 = now_s();
    ck_assert_msg(store_put_run(st, &r, false, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_double_ge(now_s() - t0, 0.8);
    void *ret;
    pthread_join(t, &ret);
    ck_assert_ptr_null(ret);

    /* Locked longer than timeout x tries: this update is refused, the next
     * one writes the whole run, so nothing of it is lost. */
    store_set_busy_timeout(st, 100);
    trun_add_step(&r, pass3, 3);
    t = lock_for(&l, path, 1500);
    ck_assert_int_eq(store_put_run(st, &r, false, NULL, err, sizeof err), -EBUSY);
    ck_assert_msg(strstr(err, "locked"), "%s", err);
    pthread_join(t, &ret);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    store_close(st);
    trun_free(&r);
    ck_assert_int_eq(sql_int(path, "SELECT complete FROM runs"), 1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 6);
}
END_TEST

/* A full disk (here: the database may not grow) refuses the update with
 * -ENOSPC and leaves the previous version of the run whole. */
START_TEST(full_disk_refuses_and_keeps_previous_version)
{
    const char *path = scratch_path("full.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    struct rec_run r;
    char id[37];
    trun_id(id, 11);
    trun_init(&r, id, "SN11", "f1", 0, OUTCOME_PASS);
    trun_add_step(&r, pass3, 3);
    ck_assert_msg(store_put_run(st, &r, false, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sqlite3_exec(st->db, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
                     SQLITE_OK); /* = the pages it has now */
    static struct tmeas many[200];
    for (int i = 0; i < 200; i++)
        many[i] = (struct tmeas){
            "a-long-measurement-name-to-fill-pages", i, OUTCOME_PASS, LIM_GELE, 0, 1000
        };
    for (int i = 0; i < 20; i++)
        trun_add_step(&r, many, 200);
    ck_assert_int_eq(store_put_run(st, &r, true, NULL, err, sizeof err), -ENOSPC);
    ck_assert_msg(strstr(err, "full"), "%s", err);
    store_close(st);
    trun_free(&r);
    ck_assert_int_eq(sql_int(path, "SELECT complete FROM runs"), 0);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 3);
}
END_TEST

/* Four fixtures write through their own sinks on one shared store while
 * another connection reads (the API): every run arrives, whole, and each
 * DUT's attempts are numbered 1..n without a gap or a duplicate. */
struct fixture_arg {
    struct store *st;
    int fixture;
    int failures;
};

static void *fixture_runs(void *arg)
{
    struct fixture_arg *a = arg;
    char e[256], fx[8];
    snprintf(fx, sizeof fx, "f%d", a->fixture);
    for (int i = 0; i < 25; i++) {
        struct rec_sink k;
        struct rec_run r;
        char id[37], dut[16];
        trun_id(id, (unsigned long)(1000 * a->fixture + i));
        snprintf(dut, sizeof dut, "U%d", i % 10); /* units retested across fixtures */
        trun_init(&r, id, dut, fx, i + a->fixture * 0.25, OUTCOME_PASS);
        int rc = store_sink_init(&k, a->st, NULL, e, sizeof e);
        if (rc == 0)
            rc = k.ops->open(k.impl, &r, e, sizeof e);
        for (int s = 0; rc == 0 && s < 3; s++) {
            trun_add_step(&r, pass3, 3);
            rc = k.ops->update(k.impl, &r, s == 2, e, sizeof e);
        }
        if (rc == 0)
            k.ops->close(k.impl);
        a->failures += rc != 0;
        trun_free(&r);
    }
    return NULL;
}

START_TEST(four_fixtures_share_one_store)
{
    const char *path = scratch_path("fixtures.db");
    struct store *st, *reader;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(store_open(&reader, path, err, sizeof err) == 0, "%s", err);
    pthread_t t[4];
    struct fixture_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct fixture_arg){ st, i, 0 };
        ck_assert_int_eq(pthread_create(&t[i], NULL, fixture_runs, &a[i]), 0);
    }
    for (int i = 0; i < 20; i++) {
        cJSON *h;
        ck_assert_msg(store_stats(reader, NULL, &h, err, sizeof err) == 0, "%s", err);
        cJSON_Delete(h);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(a[i].failures, 0);
    }
    store_close(reader);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs WHERE complete = 1"), 100);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM measurements"), 900);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM (SELECT dut_serial FROM runs GROUP BY"
                                   " dut_serial HAVING count(DISTINCT attempt) != count(*) OR"
                                   " max(attempt) != count(*))"),
                     0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("keep");
    tcase_add_test(tc, creates_schema_at_current_version);
    tcase_add_test(tc, migrates_from_version_1_keeping_runs);
    tcase_add_test(tc, refuses_newer_and_foreign_databases);
    tcase_add_test(tc, update_is_idempotent_by_run_id);
    tcase_add_test(tc, sink_leaves_unfinished_run_incomplete);
    tcase_add_test(tc, kill_9_mid_transaction_leaves_it_consistent);
    tcase_add_test(tc, locked_database_does_not_lose_the_run);
    tcase_add_test(tc, full_disk_refuses_and_keeps_previous_version);
    tcase_add_test(tc, four_fixtures_share_one_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
