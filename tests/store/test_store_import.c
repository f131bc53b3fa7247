/* Import of a results directory: the walk (recursion, what is passed over,
 * what is reported) and idempotence by run id.
 *
 * rec_from_json() does not exist yet (being written with the JSON sink),
 * so these tests drive the walk with a stand-in loader that takes only the
 * "id" of each document and builds the run from a table here. They do not
 * test reading real records: that test belongs with rec_from_json. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_int.h"
#include "storetest.h"

static char err[512];

static const struct {
    unsigned long n;
    const char *dut;
    double t;
    bool complete;
} table[] = {
    { 1, "SN1", 1, true },
    { 2, "SN2", 2, true },
};

static int stand_in_load(const cJSON *doc, struct rec_run *out, char *e, size_t elen)
{
    memset(out, 0, sizeof *out);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "id"));
    for (size_t i = 0; id && i < sizeof table / sizeof table[0]; i++) {
        char want[37];
        trun_id(want, table[i].n);
        if (strcmp(id, want))
            continue;
        trun_init(out, id, table[i].dut, "f1", table[i].t, OUTCOME_PASS);
        out->complete = table[i].complete;
        struct tmeas m = { "force", 10, OUTCOME_PASS, LIM_GELE, 5, 20 };
        trun_add_step(out, &m, 1);
        return 0;
    }
    snprintf(e, elen, "unknown record");
    return -EINVAL;
}

static const struct store_loader loader = { stand_in_load, trun_free };

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void record(const char *dir, const char *name, unsigned long n)
{
    char id[37], text[128];
    trun_id(id, n);
    snprintf(text, sizeof text, "{\"format\": \"rig-record/1\", \"id\": \"%s\"}", id);
    write_file(dir, name, text);
}

static unsigned nerrors;
static void count_error(void *ctx, const char *file, const char *msg)
{
    (void)ctx;
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(msg);
    nerrors++;
}

START_TEST(import_walks_and_is_idempotent)
{
    char dir[512], sub[600];
    snprintf(dir, sizeof dir, "%s", scratch_path("results"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(sub, sizeof sub, "%s/day1", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    record(sub, "r1.json", 1);
    write_file(sub, "r1.sequence.json", "{\"main\": []}"); /* an attachment */
    record(dir, "r2.json", 2);
    record(dir, "r2.json.tmpAbCdEf", 2); /* a temporary: not *.json */
    write_file(dir, "cut.json", "{\"format\": \"rig-record/1\", \"id\": ");
    record(dir, "stranger.json", 99);

    char db[600];
    snprintf(db, sizeof db, "%s/station.db", dir);
    struct store *st;
    ck_assert_msg(store_open(&st, db, err, sizeof err) == 0, "%s", err);
    /* r2 is in the database already, incomplete (the daemon died): the
     * file, complete, brings it up to date. */
    struct rec_run r;
    char id[37];
    trun_id(id, 2);
    trun_init(&r, id, "SN2", "f1", 2, OUTCOME_PASS);
    ck_assert_msg(store_put_run(st, &r, false, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);

    struct store_import_stats s;
    nerrors = 0;
    ck_assert_msg(store_import_dir_with(st, dir, &loader, &s, count_error, NULL, err, sizeof err) ==
                      0,
                  "%s", err);
    ck_assert_uint_eq(s.files, 5); /* r1, r1.sequence, r2, cut, stranger */
    ck_assert_uint_eq(s.records, 3);
    ck_assert_uint_eq(s.imported, 2);
    ck_assert_uint_eq(s.present, 0);
    ck_assert_uint_eq(s.failed, 2); /* cut (not JSON), stranger (refused) */
    ck_assert_uint_eq(nerrors, 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM measurements"), 2);
    ck_assert_int_eq(
        sql_int(db, "SELECT count(*) FROM runs WHERE record_path LIKE '%/day1/r1.json'"), 1);

    /* Again: nothing changes. */
    ck_assert_msg(store_import_dir_with(st, dir, &loader, &s, NULL, NULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(s.imported, 0);
    ck_assert_uint_eq(s.present, 2);
    ck_assert_uint_eq(s.failed, 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM runs"), 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM measurements"), 2);

    char missing[700];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ck_assert_int_eq(store_import_dir_with(st, missing, &loader, &s, NULL, NULL, err, sizeof err),
                     -ENOENT);
    ck_assert_msg(strstr(err, "none"), "%s", err);
    store_close(st);
}
END_TEST

/* More records than one batch: every one arrives, in batches. */
START_TEST(import_commits_in_batches)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", scratch_path("many"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    for (int i = 0; i < 250; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%03d.json", i);
        record(dir, name, i % 2 ? 1 : 2);
    }
    char db[600];
    snprintf(db, sizeof db, "%s/station.db", dir);
    struct store *st;
    ck_assert_msg(store_open(&st, db, err, sizeof err) == 0, "%s", err);
    struct store_import_stats s;
    ck_assert_msg(store_import_dir_with(st, dir, &loader, &s, NULL, NULL, err, sizeof err) == 0,
                  "%s", err);
    /* Two distinct ids: the first file of each is imported, the others
     * find it present (same transaction or not). */
    ck_assert_uint_eq(s.records, 250);
    ck_assert_uint_eq(s.imported, 2);
    ck_assert_uint_eq(s.present, 248);
    store_close(st);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM runs"), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("import");
    tcase_add_test(tc, import_walks_and_is_idempotent);
    tcase_add_test(tc, import_commits_in_batches);
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
