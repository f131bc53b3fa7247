/* Gauge R&R studies in the station database (store/study.h): a study and
 * its plan kept and read back, never replaced; a cell done by a FAIL run
 * (a measurement) but not by an ERROR one (counted, still to do); the
 * values of a measurement over the done cells, refused when a run has it
 * twice; a run's row naming its study; a version 4 database migrated
 * with its runs kept. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/study.h"
#include "storetest.h"

static char err[512];

static const char *const serials[] = { "P1", "P2" };
static const char *const names[] = { "Ann", "Bob" };
/* 2 parts x 2 operators x 2 trials, in some order */
static const struct store_study_cell cells[] = {
    { 0, 1, 1, 2 }, { 1, 1, 1, 1 }, { 2, 1, 2, 1 }, { 3, 1, 2, 2 },
    { 4, 2, 1, 1 }, { 5, 2, 1, 2 }, { 6, 2, 2, 2 }, { 7, 2, 2, 1 },
};

static struct store_study study(const char *id)
{
    return (struct store_study){ id, "/seq/grr.json", 2, 2, 2, 42, serials, names, cells, 8 };
}

/* Puts a complete run rid n of serial with one or two "depth" readings. */
static void put(struct store *st, unsigned long n, const char *serial, enum rig_outcome o,
                double value, int nmeas)
{
    struct rec_run r;
    char id[37];
    trun_id(id, n);
    trun_init(&r, id, serial, "f1", (double)n, o);
    struct tmeas m[2] = { { "depth", value, o, LIM_GELE, 0.85, 1.15 },
                          { "depth", value + 0.5, o, LIM_GELE, 0.85, 1.15 } };
    trun_add_step(&r, m, (size_t)nmeas);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
}

static const char *rid(unsigned long n)
{
    static char id[37];
    trun_id(id, n);
    return id;
}

START_TEST(study_kept_and_read_back)
{
    struct store *st;
    ck_assert_msg(store_open(&st, scratch_path("s.db"), err, sizeof err) == 0, "%s", err);
    struct store_study s = study("S1");
    ck_assert_msg(store_study_create(st, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(store_study_create(st, &s, err, sizeof err), -EEXIST);
    cJSON *g;
    ck_assert_msg(store_study_get(st, "S1", &g, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetObjectItem(g, "seed")->valueint, 42);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "operator_names"), 1)->valuestring,
                     "Bob");
    cJSON *cs = cJSON_GetObjectItem(g, "cells");
    ck_assert_int_eq(cJSON_GetArraySize(cs), 8);
    cJSON *c6 = cJSON_GetArrayItem(cs, 6);
    ck_assert_int_eq(cJSON_GetObjectItem(c6, "trial")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(c6, "operator")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(c6, "part")->valueint, 2);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(c6, "run_id")));
    cJSON_Delete(g);
    ck_assert_int_eq(store_study_get(st, "S2", &g, err, sizeof err), -ENOENT);
    store_close(st);
}
END_TEST

START_TEST(error_runs_leave_the_cell_to_do)
{
    struct store *st;
    ck_assert_msg(store_open(&st, scratch_path("e.db"), err, sizeof err) == 0, "%s", err);
    struct store_study s = study("S1");
    ck_assert_msg(store_study_create(st, &s, err, sizeof err) == 0, "%s", err);
    put(st, 1, "P2", OUTCOME_ERROR, NAN, 0);
    ck_assert_msg(store_study_done(st, "S1", 0, rid(1), "ERROR", err, sizeof err) == 0, "%s", err);
    put(st, 2, "P2", OUTCOME_FAIL, 1.2, 1);
    ck_assert_msg(store_study_done(st, "S1", 0, rid(2), "FAIL", err, sizeof err) == 0, "%s", err);
    /* done once: a second run for the same cell is refused */
    ck_assert_int_eq(store_study_done(st, "S1", 0, rid(3), "PASS", err, sizeof err), -ENOENT);
    cJSON *g;
    ck_assert_msg(store_study_get(st, "S1", &g, err, sizeof err) == 0, "%s", err);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cells"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(c0, "run_id")->valuestring, rid(2));
    ck_assert_str_eq(cJSON_GetObjectItem(c0, "outcome")->valuestring, "FAIL");
    ck_assert_int_eq(cJSON_GetObjectItem(c0, "errors")->valueint, 1);
    cJSON_Delete(g);
    store_close(st);
}
END_TEST

START_TEST(values_of_done_cells)
{
    struct store *st;
    ck_assert_msg(store_open(&st, scratch_path("v.db"), err, sizeof err) == 0, "%s", err);
    struct store_study s = study("S1");
    ck_assert_msg(store_study_create(st, &s, err, sizeof err) == 0, "%s", err);
    for (unsigned i = 0; i < 8; i++) {
        put(st, 10 + i, serials[cells[i].part - 1], OUTCOME_PASS, 1.0 + 0.01 * i, 1);
        ck_assert_msg(store_study_done(st, "S1", i, rid(10 + i), "PASS", err, sizeof err) == 0,
                      "%s", err);
    }
    cJSON *v;
    ck_assert_msg(store_study_values(st, "S1", "depth", 0, &v, err, sizeof err) == 0, "%s", err);
    cJSON *vals = cJSON_GetObjectItem(v, "values");
    ck_assert_int_eq(cJSON_GetArraySize(vals), 8);
    cJSON *v5 = cJSON_GetArrayItem(vals, 5);
    ck_assert_int_eq(cJSON_GetObjectItem(v5, "part")->valueint, 2);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(v5, "value")->valuedouble, 1.05, 1e-12);
    ck_assert_str_eq(cJSON_GetObjectItem(v, "comparison")->valuestring, "GELE");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(v, "high")->valuedouble, 1.15, 1e-12);
    cJSON_Delete(v);
    cJSON *m;
    ck_assert_msg(store_study_measurements(st, "S1", &m, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(m), 1);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "runs")->valueint, 8);
    cJSON_Delete(m);
    /* a run measuring depth twice makes the name ambiguous */
    struct store_study s2 = study("S2");
    ck_assert_msg(store_study_create(st, &s2, err, sizeof err) == 0, "%s", err);
    put(st, 30, "P2", OUTCOME_PASS, 1.0, 2);
    ck_assert_msg(store_study_done(st, "S2", 0, rid(30), "PASS", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(store_study_values(st, "S2", "depth", 0, &v, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "occurs 2 times"), "%s", err);
    /* ... unless an occurrence is named: the second one's value */
    ck_assert_msg(store_study_values(st, "S2", "depth", 2, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "values")), 1);
    ck_assert_double_eq_tol(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "values"), 0), "value")
            ->valuedouble,
        1.5, 1e-12);
    cJSON_Delete(v);
    ck_assert_msg(store_study_values(st, "S2", "depth", 3, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "values")), 0);
    cJSON_Delete(v);
    ck_assert_msg(store_study_measurements(st, "S2", &m, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "occurrences")->valueint, 2);
    cJSON_Delete(m);
    store_close(st);
}
END_TEST

/* A run's own study, part and trial (the record's "study") on its row;
 * other runs have NULL there. */
START_TEST(run_row_names_its_study)
{
    const char *path = scratch_path("r.db");
    struct store *st;
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    struct rec_run r;
    trun_init(&r, rid(1), "P1", "f1", 0, OUTCOME_PASS);
    char id[] = "S7";
    r.study.id = id;
    r.study.part = 3;
    r.study.trial = 2;
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    /* put again (a later update): the row is replaced, the study stays */
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    r.study.id = NULL;
    trun_free(&r);
    put(st, 2, "P1", OUTCOME_PASS, 1.0, 1);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs WHERE study_id = 'S7' AND"
                                   " study_part = 3 AND study_trial = 2"),
                     1);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs WHERE study_id IS NULL"), 1);
}
END_TEST

START_TEST(migrates_from_version_4)
{
    const char *path = scratch_path("v4.db");
    struct store *st;
    ck_assert_msg(store_open_at(&st, path, 4, err, sizeof err) == 0, "%s", err);
    put(st, 1, "P1", OUTCOME_PASS, 1.0, 1);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'studies'"), 0);
    ck_assert_msg(store_open(&st, path, err, sizeof err) == 0, "%s", err);
    store_close(st);
    ck_assert_int_eq(sql_int(path, "SELECT max(version) FROM schema_version"), 5);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                   " ('studies', 'study_runs')"),
                     2);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM runs"), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_study");
    TCase *tc = tcase_create("study");
    tcase_add_test(tc, study_kept_and_read_back);
    tcase_add_test(tc, error_runs_leave_the_cell_to_do);
    tcase_add_test(tc, values_of_done_cells);
    tcase_add_test(tc, run_row_names_its_study);
    tcase_add_test(tc, migrates_from_version_4);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
