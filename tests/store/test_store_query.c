/* The station database's answers: attempt numbering and retest reasons,
 * yields, history and unit queries, per-measurement statistics with
 * capability indices checked against hand-computed values, the Pareto. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storetest.h"

static char err[512];

#define F_LO 5.0
#define F_HI 20.0

/* Put one run with a "force" measurement (judged against [5, 20]) and a
 * "depth" one; complete unless outcome is OUTCOME_SKIPPED (= never got a
 * verdict). */
static void put(struct store *st, unsigned long n, const char *dut, const char *fixture, double t,
                double force, enum rig_outcome depth_outcome, enum rig_outcome outcome)
{
    struct rec_run r;
    char id[37];
    trun_id(id, n);
    trun_init(&r, id, dut, fixture, t, outcome);
    struct tmeas m[2] = {
        { "force", force, force >= F_LO && force <= F_HI ? OUTCOME_PASS : OUTCOME_FAIL, LIM_GELE,
          F_LO, F_HI },
        { "depth", 0.5, depth_outcome, LIM_GELE, 0.4, 0.6 },
    };
    trun_add_step(&r, m, 2);
    ck_assert_msg(store_put_run(st, &r, outcome != OUTCOME_SKIPPED, NULL, err, sizeof err) == 0,
                  "%s", err);
    trun_free(&r);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    ck_assert_msg(v, "no %s", k);
    return cJSON_IsNull(v) ? NAN : v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    ck_assert_msg(v, "no %s", k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Four units (t in seconds after 2026-12-01T00:00Z):
 *   A  f1  t=1 PASS
 *   B  f1  t=2 FAIL (force 25), t=3 PASS        (B2 put before B1)
 *   C  f2  t=4 FAIL (force 3),  t=5 FAIL (depth)
 *   D  f2  t=6 incomplete,       t=7 PASS */
static struct store *line(const char *name)
{
    struct store *st;
    ck_assert_msg(store_open(&st, scratch_path(name), err, sizeof err) == 0, "%s", err);
    put(st, 1, "A", "f1", 1, 10, OUTCOME_PASS, OUTCOME_PASS);
    put(st, 3, "B", "f1", 3, 12, OUTCOME_PASS, OUTCOME_PASS);
    put(st, 2, "B", "f1", 2, 25, OUTCOME_PASS, OUTCOME_FAIL);
    put(st, 4, "C", "f2", 4, 3, OUTCOME_PASS, OUTCOME_FAIL);
    put(st, 5, "C", "f2", 5, 11, OUTCOME_FAIL, OUTCOME_FAIL);
    put(st, 6, "D", "f2", 6, 13, OUTCOME_PASS, OUTCOME_SKIPPED);
    put(st, 7, "D", "f2", 7, 14, OUTCOME_PASS, OUTCOME_PASS);
    return st;
}

START_TEST(attempts_and_retest_reasons)
{
    struct store *st = line("retest.db");
    cJSON *u;
    ck_assert_msg(store_unit(st, "B", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(u, "attempts"), 2);
    ck_assert_str_eq(str(u, "final_outcome"), "PASS");
    cJSON *runs = cJSON_GetObjectItem(u, "runs");
    cJSON *b1 = cJSON_GetArrayItem(runs, 0), *b2 = cJSON_GetArrayItem(runs, 1);
    /* B2 was put first, but B1 started first: it is attempt 1. */
    ck_assert_str_eq(str(b1, "id"), "00000000-0000-4000-8000-000000000002");
    ck_assert_int_eq(num(b1, "attempt"), 1);
    ck_assert_ptr_null(str(b1, "retest_reason"));
    ck_assert_int_eq(num(b2, "attempt"), 2);
    ck_assert_str_eq(str(b2, "retest_reason"), "FAIL: force");
    cJSON *fl = cJSON_GetObjectItem(b1, "failing");
    ck_assert_int_eq(cJSON_GetArraySize(fl), 1);
    ck_assert_str_eq(str(cJSON_GetArrayItem(fl, 0), "name"), "force");
    ck_assert_double_eq(num(cJSON_GetArrayItem(fl, 0), "value"), 25);
    ck_assert_str_eq(str(cJSON_GetArrayItem(fl, 0), "outcome"), "FAIL");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(b2, "failing")), 0);
    cJSON_Delete(u);

    ck_assert_msg(store_unit(st, "C", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(str(u, "final_outcome"), "FAIL");
    runs = cJSON_GetObjectItem(u, "runs");
    ck_assert_str_eq(str(cJSON_GetArrayItem(runs, 1), "retest_reason"), "FAIL: force");
    fl = cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 1), "failing");
    ck_assert_str_eq(str(cJSON_GetArrayItem(fl, 0), "name"), "depth");
    cJSON_Delete(u);

    ck_assert_msg(store_unit(st, "D", &u, err, sizeof err) == 0, "%s", err);
    runs = cJSON_GetObjectItem(u, "runs");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0), "complete")));
    ck_assert_str_eq(str(cJSON_GetArrayItem(runs, 1), "retest_reason"), "incomplete");
    cJSON_Delete(u);

    ck_assert_msg(store_unit(st, "nobody", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(u, "attempts"), 0);
    ck_assert_ptr_null(str(u, "final_outcome"));
    cJSON_Delete(u);

    /* A serial corrected between two updates: both units renumbered. */
    put(st, 8, "C", "f2", 8, 10, OUTCOME_PASS, OUTCOME_SKIPPED);
    ck_assert_msg(store_unit(st, "C", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(u, "attempts"), 3);
    cJSON_Delete(u);
    put(st, 8, "G", "f2", 8, 10, OUTCOME_PASS, OUTCOME_PASS);
    ck_assert_msg(store_unit(st, "C", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(u, "attempts"), 2);
    cJSON_Delete(u);
    ck_assert_msg(store_unit(st, "G", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(cJSON_GetArrayItem(cJSON_GetObjectItem(u, "runs"), 0), "attempt"), 1);
    cJSON_Delete(u);

    /* Runs without a serial are each attempt 1, and no unit. */
    put(st, 9, "", NULL, 9, 10, OUTCOME_PASS, OUTCOME_PASS);
    put(st, 10, "", NULL, 10, 10, OUTCOME_PASS, OUTCOME_PASS);
    ck_assert_msg(store_unit(st, "", &u, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(u, "attempts"), 2);
    ck_assert_int_eq(num(cJSON_GetArrayItem(cJSON_GetObjectItem(u, "runs"), 1), "attempt"), 1);
    cJSON_Delete(u);
    cJSON *y;
    ck_assert_msg(store_yields(st, NULL, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 5); /* A B C D G */
    cJSON_Delete(y);

    unsigned next;
    ck_assert_msg(store_next_attempt(st, "C", &next, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(next, 3);
    ck_assert_msg(store_next_attempt(st, "new", &next, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(next, 1);
    store_close(st);
}
END_TEST

START_TEST(yields_over_filters)
{
    struct store *st = line("yields.db");
    cJSON *y;
    ck_assert_msg(store_yields(st, NULL, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 4);
    ck_assert_int_eq(num(y, "first_pass"), 1); /* A */
    ck_assert_int_eq(num(y, "final_pass"), 3); /* A, B, D */
    ck_assert_int_eq(num(y, "runs"), 7);
    ck_assert_double_eq_tol(num(y, "fpy"), 0.25, 1e-12);
    ck_assert_double_eq_tol(num(y, "final_yield"), 0.75, 1e-12);
    ck_assert_double_eq_tol(num(y, "retest_rate"), 3.0 / 7.0, 1e-12);
    cJSON_Delete(y);

    struct store_filter f = { .fixture = "f1" };
    ck_assert_msg(store_yields(st, &f, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 2);
    ck_assert_double_eq_tol(num(y, "fpy"), 0.5, 1e-12);
    ck_assert_double_eq_tol(num(y, "final_yield"), 1.0, 1e-12);
    ck_assert_double_eq_tol(num(y, "retest_rate"), 1.0 / 3.0, 1e-12);
    cJSON_Delete(y);

    /* Units first tested from t=4 on: C and D. */
    f = (struct store_filter){ .since = "2026-12-01T00:00:04" };
    ck_assert_msg(store_yields(st, &f, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 2);
    ck_assert_double_eq_tol(num(y, "fpy"), 0.0, 1e-12);
    ck_assert_double_eq_tol(num(y, "final_yield"), 0.5, 1e-12);
    cJSON_Delete(y);

    /* Until t=5 (exclusive): B's retest at t=3 counts, D does not exist. */
    f = (struct store_filter){ .until = "2026-12-01T00:00:05" };
    ck_assert_msg(store_yields(st, &f, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 3);
    ck_assert_int_eq(num(y, "final_pass"), 2);
    ck_assert_int_eq(num(y, "runs"), 4);
    cJSON_Delete(y);

    f = (struct store_filter){ .since = "2027" };
    ck_assert_msg(store_yields(st, &f, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(num(y, "units"), 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(y, "fpy")));
    cJSON_Delete(y);
    store_close(st);
}
END_TEST

static int history_n(struct store *st, struct store_filter f, const char *first_id)
{
    cJSON *h;
    ck_assert_msg(store_history(st, &f, &h, err, sizeof err) == 0, "%s", err);
    int n = cJSON_GetArraySize(h);
    if (first_id)
        ck_assert_str_eq(str(cJSON_GetArrayItem(h, 0), "id"), first_id);
    cJSON_Delete(h);
    return n;
}

START_TEST(history_filters)
{
    struct store *st = line("history.db");
    ck_assert_int_eq(
        history_n(st, (struct store_filter){ 0 }, "00000000-0000-4000-8000-000000000007"), 7);
    ck_assert_int_eq(
        history_n(st, (struct store_filter){ .dut = "B" }, "00000000-0000-4000-8000-000000000003"),
        2);
    ck_assert_int_eq(history_n(st, (struct store_filter){ .outcome = "FAIL" }, NULL), 3);
    ck_assert_int_eq(history_n(st, (struct store_filter){ .outcome = "incomplete" },
                               "00000000-0000-4000-8000-000000000006"),
                     1);
    ck_assert_int_eq(history_n(st, (struct store_filter){ .fixture = "f2" }, NULL), 4);
    ck_assert_int_eq(history_n(st, (struct store_filter){ .limit = 2 }, NULL), 2);
    ck_assert_int_eq(history_n(st,
                               (struct store_filter){ .since = "2026-12-01T00:00:02",
                                                      .until = "2026-12-01T00:00:05",
                                                      .fixture = "f1" },
                               NULL),
                     2);
    ck_assert_int_eq(history_n(st, (struct store_filter){ .dut = "B", .outcome = "PASS" }, NULL),
                     1);
    store_close(st);
}
END_TEST

/* x = 10, 12, 11, 13, 14 against [5, 20], by hand:
 *   mean 12; deviations -2 0 -1 1 2, sum of squares 10, sd = sqrt(10/4)
 *   moving ranges 2 1 2 1, MR-bar 1.5, sigma_within = 1.5/1.128
 *   Cp  = 15 / (6 * 1.5/1.128)  = 15 * 1.128 / 9  = 1.88
 *   Cpk = min(8, 7) / (3 * 1.5/1.128) = 7 * 1.128 / 4.5 = 1.754666...
 *   Pp  = 15 / (6 sqrt 2.5) = sqrt 2.5 = 1.58113883...
 *   Ppk = 7 / (3 sqrt 2.5) = 1.47573...
 *   one-sided >= 5: Cpk = 7*1.128/4.5, Ppk = 7/(3 sqrt 2.5), Cp, Pp none
 *   one-sided <= 20: Cpk = 8*1.128/4.5 = 2.005333..., Ppk = 8/(3 sqrt 2.5) */
static const double X[5] = { 10, 12, 11, 13, 14 };

START_TEST(capability_by_hand)
{
    struct store_capability c;
    store_capability(X, 5, LIM_GELE, 5, 20, &c);
    ck_assert_double_eq_tol(c.mean, 12, 1e-12);
    ck_assert_double_eq_tol(c.sd, sqrt(2.5), 1e-12);
    ck_assert_double_eq_tol(c.sigma_within, 1.5 / 1.128, 1e-12);
    ck_assert_double_eq_tol(c.cp, 1.88, 1e-12);
    ck_assert_double_eq_tol(c.cpk, 7 * 1.128 / 4.5, 1e-12);
    ck_assert_double_eq_tol(c.cpk, 1.7546667, 1e-6);
    ck_assert_double_eq_tol(c.pp, 1.5811388, 1e-6);
    ck_assert_double_eq_tol(c.ppk, 1.4757296, 1e-6);

    store_capability(X, 5, LIM_GE, 5, NAN, &c);
    ck_assert(isnan(c.cp) && isnan(c.pp));
    ck_assert_double_eq_tol(c.cpk, 1.7546667, 1e-6);
    ck_assert_double_eq_tol(c.ppk, 1.4757296, 1e-6);

    store_capability(X, 5, LIM_LE, 20, NAN, &c);
    ck_assert(isnan(c.cp) && isnan(c.pp));
    ck_assert_double_eq_tol(c.cpk, 2.0053333, 1e-6);
    ck_assert_double_eq_tol(c.ppk, 8 / (3 * sqrt(2.5)), 1e-12);

    /* Order matters for the within sigma only: 10 11 12 13 14 has
     * MR-bar 1, so Cp = 15 * 1.128 / 6 = 2.82, Pp unchanged. */
    const double sorted[5] = { 10, 11, 12, 13, 14 };
    store_capability(sorted, 5, LIM_GELE, 5, 20, &c);
    ck_assert_double_eq_tol(c.cp, 2.82, 1e-12);
    ck_assert_double_eq_tol(c.pp, 1.5811388, 1e-6);

    store_capability(X, 5, LIM_EQ, 12, NAN, &c);
    ck_assert(isnan(c.cp) && isnan(c.cpk) && isnan(c.pp) && isnan(c.ppk));
    store_capability(X, 1, LIM_GELE, 5, 20, &c);
    ck_assert(isnan(c.sd) && isnan(c.cpk));
    const double flat[3] = { 7, 7, 7 };
    store_capability(flat, 3, LIM_GELE, 5, 20, &c);
    ck_assert(isnan(c.cp) && isnan(c.ppk));
}
END_TEST

static const cJSON *entry(const cJSON *arr, const char *name, double low)
{
    const cJSON *o;
    cJSON_ArrayForEach (o, arr) {
        if (!strcmp(str(o, "name"), name) && (isnan(low) || num(o, "low") == low))
            return o;
    }
    ck_abort_msg("no entry %s", name);
    return NULL;
}

START_TEST(stats_in_run_order_with_known_answers)
{
    struct store *st;
    ck_assert_msg(store_open(&st, scratch_path("stats.db"), err, sizeof err) == 0, "%s", err);
    /* X in start order, put in another order: the moving range must
     * follow the runs' start, not the insertion. */
    static const int order[5] = { 2, 0, 4, 1, 3 };
    for (int k = 0; k < 5; k++) {
        int i = order[k];
        char dut[8];
        snprintf(dut, sizeof dut, "U%d", i);
        put(st, 100 + i, dut, "f1", 10 + i, X[i], OUTCOME_PASS, OUTCOME_PASS);
    }
    /* A different spec limit for "force": another population. */
    struct rec_run r;
    char id[37];
    trun_id(id, 200);
    trun_init(&r, id, "V1", "f1", 30, OUTCOME_FAIL);
    struct tmeas m = { "force", 3, OUTCOME_FAIL, LIM_GE, 4, NAN };
    trun_add_step(&r, &m, 1);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
    /* An incomplete run is not in the statistics. */
    put(st, 300, "W1", "f1", 40, 100, OUTCOME_PASS, OUTCOME_SKIPPED);

    cJSON *s;
    struct store_filter f = { .measurement = "force" };
    ck_assert_msg(store_stats(st, &f, &s, err, sizeof err) == 0, "%s", err);
    const cJSON *ms = cJSON_GetObjectItem(s, "measurements");
    ck_assert_int_eq(cJSON_GetArraySize(ms), 2);
    const cJSON *g = entry(ms, "force", F_LO);
    ck_assert_int_eq(num(g, "count"), 5);
    ck_assert_int_eq(num(g, "n"), 5);
    ck_assert_double_eq_tol(num(g, "yield"), 1.0, 1e-12);
    ck_assert_double_eq_tol(num(g, "fpy"), 1.0, 1e-12);
    ck_assert_double_eq_tol(num(g, "mean"), 12, 1e-12);
    ck_assert_double_eq_tol(num(g, "sd"), sqrt(2.5), 1e-12);
    ck_assert_double_eq_tol(num(g, "cp"), 1.88, 1e-12);
    ck_assert_double_eq_tol(num(g, "cpk"), 7 * 1.128 / 4.5, 1e-12);
    ck_assert_double_eq_tol(num(g, "pp"), sqrt(2.5), 1e-12);
    ck_assert_double_eq_tol(num(g, "ppk"), 7 / (3 * sqrt(2.5)), 1e-12);
    g = entry(ms, "force", 4);
    ck_assert_int_eq(num(g, "count"), 1);
    ck_assert_double_eq_tol(num(g, "yield"), 0, 1e-12);
    ck_assert(isnan(num(g, "cpk")));
    cJSON_Delete(s);

    /* All measurements, the Pareto of the failing run. */
    ck_assert_msg(store_stats(st, NULL, &s, err, sizeof err) == 0, "%s", err);
    ms = cJSON_GetObjectItem(s, "measurements");
    ck_assert_int_eq(cJSON_GetArraySize(ms), 3);
    ck_assert_int_eq(num(entry(ms, "depth", NAN), "count"), 5);
    const cJSON *pa = cJSON_GetObjectItem(s, "pareto");
    ck_assert_int_eq(cJSON_GetArraySize(pa), 1);
    ck_assert_str_eq(str(cJSON_GetArrayItem(pa, 0), "name"), "force");
    ck_assert_double_eq_tol(num(cJSON_GetArrayItem(pa, 0), "cumulative"), 1, 1e-12);
    ck_assert_int_eq(num(cJSON_GetObjectItem(s, "yields"), "units"), 7);
    cJSON_Delete(s);
    store_close(st);
}
END_TEST

START_TEST(pareto_counts_and_run_failures)
{
    struct store *st = line("pareto.db");
    /* An ERROR run with nothing out of limits (the rig failed). */
    struct rec_run r;
    char id[37];
    trun_id(id, 50);
    trun_init(&r, id, "E", "f1", 50, OUTCOME_ERROR);
    ck_assert_msg(store_put_run(st, &r, true, NULL, err, sizeof err) == 0, "%s", err);
    trun_free(&r);
    put(st, 51, "F", "f1", 51, 30, OUTCOME_PASS, OUTCOME_FAIL);
    cJSON *s;
    ck_assert_msg(store_stats(st, NULL, &s, err, sizeof err) == 0, "%s", err);
    const cJSON *pa = cJSON_GetObjectItem(s, "pareto");
    /* force: B1, C1, F1 = 3; depth: C2 = 1; (run) ERROR: E = 1 */
    ck_assert_int_eq(cJSON_GetArraySize(pa), 3);
    ck_assert_str_eq(str(cJSON_GetArrayItem(pa, 0), "name"), "force");
    ck_assert_int_eq(num(cJSON_GetArrayItem(pa, 0), "count"), 3);
    ck_assert_double_eq_tol(num(cJSON_GetArrayItem(pa, 0), "share"), 0.6, 1e-12);
    ck_assert_str_eq(str(cJSON_GetArrayItem(pa, 1), "name"), "(run) ERROR");
    ck_assert_str_eq(str(cJSON_GetArrayItem(pa, 2), "name"), "depth");
    ck_assert_double_eq_tol(num(cJSON_GetArrayItem(pa, 2), "cumulative"), 1, 1e-12);
    cJSON_Delete(s);
    store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("query");
    tcase_add_test(tc, attempts_and_retest_reasons);
    tcase_add_test(tc, yields_over_filters);
    tcase_add_test(tc, history_filters);
    tcase_add_test(tc, capability_by_hand);
    tcase_add_test(tc, stats_in_run_order_with_known_answers);
    tcase_add_test(tc, pareto_counts_and_run_failures);
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
