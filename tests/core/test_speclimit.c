/* Limit comparisons: every type at its edges, NaN/Inf, tolerances,
 * setpoint references, marginal bands, string checks. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/speclimit.h"

static const struct lim_setpoints no_sp = { NAN, NAN };

static struct limit two(enum lim_cmp c, double lo, double hi)
{
    struct limit l;
    memset(&l, 0, sizeof l);
    l.cmp = c;
    l.low.value = lo;
    l.high.value = hi;
    return l;
}

static enum rig_outcome judge(const struct limit *l, double x)
{
    struct lim_eval ev;
    limit_eval_number(l, &no_sp, x, &ev);
    return ev.outcome;
}

#define P OUTCOME_PASS
#define F OUTCOME_FAIL

/* For each comparison with limits 1 and 2: value just below 1, at 1,
 * between, at 2, just above 2. */
START_TEST(every_comparison_at_edges)
{
    static const struct {
        enum lim_cmp c;
        enum rig_outcome at[5];
    } table[] = {
        { LIM_GTLT, { F, F, P, F, F } }, { LIM_GELE, { F, P, P, P, F } },
        { LIM_GELT, { F, P, P, F, F } }, { LIM_GTLE, { F, F, P, P, F } },
        { LIM_LTGT, { P, F, F, F, P } }, { LIM_LEGE, { P, P, F, P, P } },
        { LIM_LEGT, { P, P, F, F, P } }, { LIM_LTGE, { P, F, F, P, P } },
    };
    static const double xs[5] = { 0.999, 1.0, 1.5, 2.0, 2.001 };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct limit l = two(table[i].c, 1.0, 2.0);
        for (int k = 0; k < 5; k++)
            ck_assert_msg(judge(&l, xs[k]) == table[i].at[k], "%s at %g: got %s",
                          lim_cmp_str(table[i].c), xs[k], outcome_str(judge(&l, xs[k])));
    }
    /* single-limit comparisons, limit 1: below, at, above */
    static const struct {
        enum lim_cmp c;
        enum rig_outcome at[3];
    } one[] = {
        { LIM_EQ, { F, P, F } }, { LIM_NE, { P, F, P } }, { LIM_GT, { F, F, P } },
        { LIM_LT, { P, F, F } }, { LIM_GE, { F, P, P } }, { LIM_LE, { P, P, F } },
    };
    static const double ys[3] = { 0.999, 1.0, 1.001 };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        struct limit l = two(one[i].c, 1.0, NAN);
        for (int k = 0; k < 3; k++)
            ck_assert_msg(judge(&l, ys[k]) == one[i].at[k], "%s at %g", lim_cmp_str(one[i].c),
                          ys[k]);
    }
}
END_TEST

START_TEST(nan_and_inf_are_errors)
{
    struct limit l = two(LIM_LTGT, 1, 2); /* would PASS any large value */
    struct lim_eval ev;
    limit_eval_number(&l, &no_sp, NAN, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(ev.note, "value is not a finite number (nan)");
    ck_assert_int_eq(judge(&l, INFINITY), OUTCOME_ERROR);
    ck_assert_int_eq(judge(&l, -INFINITY), OUTCOME_ERROR);
    struct limit ne = two(LIM_NE, 1, NAN);
    ck_assert_int_eq(judge(&ne, NAN), OUTCOME_ERROR);
}
END_TEST

START_TEST(nominal_tolerances)
{
    struct limit l;
    memset(&l, 0, sizeof l);
    l.cmp = LIM_GELE;
    l.nominal_form = true;
    l.nominal.value = 100;
    l.tol_kind = LIM_TOL_PCT;
    l.tol = 5;
    ck_assert_int_eq(judge(&l, 95.0), P);
    ck_assert_int_eq(judge(&l, 105.0), P);
    ck_assert_int_eq(judge(&l, 94.99), F);
    ck_assert_int_eq(judge(&l, 105.01), F);
    l.tol_kind = LIM_TOL_PPM;
    l.tol = 1000; /* 0.1 % */
    ck_assert_int_eq(judge(&l, 100.1), P);
    ck_assert_int_eq(judge(&l, 100.11), F);
    l.tol_kind = LIM_TOL_ABS;
    l.tol = 0.5;
    ck_assert_int_eq(judge(&l, 99.5), P);
    ck_assert_int_eq(judge(&l, 99.49), F);
    l.cmp = LIM_GTLT; /* nominal with open interval */
    ck_assert_int_eq(judge(&l, 99.5), F);
}
END_TEST

START_TEST(setpoint_references)
{
    struct limit l;
    memset(&l, 0, sizeof l);
    l.cmp = LIM_GELE;
    l.nominal_form = true;
    l.nominal.ref = LIM_REF_DEPTH_MM;
    l.tol_kind = LIM_TOL_ABS;
    l.tol = 0.15;
    struct lim_setpoints sp = { 100, 1.0 };
    struct lim_eval ev;
    limit_eval_number(&l, &sp, 1.149, &ev);
    ck_assert_int_eq(ev.outcome, P);
    ck_assert(fabs(ev.low - 0.85) < 1e-12 && fabs(ev.high - 1.15) < 1e-12);
    limit_eval_number(&l, &sp, 1.151, &ev);
    ck_assert_int_eq(ev.outcome, F);
    sp.depth_mm = 2.0;
    limit_eval_number(&l, &sp, 2.1, &ev);
    ck_assert_int_eq(ev.outcome, P);
    /* reference not set at this step */
    limit_eval_number(&l, &no_sp, 1.0, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(ev.note, "limit refers to $depth_mm but it is not set at this step");
    /* explicit low/high referring to the rate */
    struct limit r = two(LIM_GELE, 0, 0);
    r.high.ref = LIM_REF_RATE_HZ;
    sp.rate_hz = 120;
    limit_eval_number(&r, &sp, 119, &ev);
    ck_assert_int_eq(ev.outcome, P);
    limit_eval_number(&r, &sp, 121, &ev);
    ck_assert_int_eq(ev.outcome, F);
    /* Review fix: a reference can resolve to low > high (here low =
     * $depth_mm = 1.5 above the literal high 1.0). No pen can pass such a
     * limit, so it is the spec's error, not the pen's FAIL. */
    struct limit d = two(LIM_GELE, 0, 1.0);
    d.low.ref = LIM_REF_DEPTH_MM;
    sp.depth_mm = 1.5;
    limit_eval_number(&d, &sp, 1.2, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(ev.note, "limits resolve to low 1.5 above high 1 at this setpoint");
    /* outside-the-band comparisons are judged on the same ordered pair */
    d.cmp = LIM_LTGT;
    limit_eval_number(&d, &sp, 0.5, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    /* equal limits are a legal (single-point) band */
    sp.depth_mm = 1.0;
    d.cmp = LIM_GELE;
    limit_eval_number(&d, &sp, 1.0, &ev);
    ck_assert_int_eq(ev.outcome, P);
}
END_TEST

START_TEST(marginal_band)
{
    struct limit l = two(LIM_GELE, 0.3, 0.6);
    l.marg_kind = LIM_MARG_ABS;
    l.marg = 0.03;
    struct lim_eval ev;
    limit_eval_number(&l, &no_sp, 0.45, &ev);
    ck_assert(ev.outcome == P && !ev.marginal);
    limit_eval_number(&l, &no_sp, 0.58, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    limit_eval_number(&l, &no_sp, 0.31, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    limit_eval_number(&l, &no_sp, 0.61, &ev); /* FAIL is never marginal */
    ck_assert(ev.outcome == F && !ev.marginal);
    /* percent of the tolerance for nominal form: 20 % of 0.15 = 0.03 */
    struct limit n;
    memset(&n, 0, sizeof n);
    n.cmp = LIM_GELE;
    n.nominal_form = true;
    n.nominal.value = 1.0;
    n.tol_kind = LIM_TOL_ABS;
    n.tol = 0.15;
    n.marg_kind = LIM_MARG_PCT;
    n.marg = 20;
    limit_eval_number(&n, &no_sp, 1.11, &ev);
    ck_assert(ev.outcome == P && !ev.marginal);
    limit_eval_number(&n, &no_sp, 1.13, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    limit_eval_number(&n, &no_sp, 0.87, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    /* single limit: percent of |L| */
    struct limit s = two(LIM_LT, 100, NAN);
    s.marg_kind = LIM_MARG_PCT;
    s.marg = 10;
    limit_eval_number(&s, &no_sp, 89, &ev);
    ck_assert(ev.outcome == P && !ev.marginal);
    limit_eval_number(&s, &no_sp, 91, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    /* outside-passing comparisons are marginal near the limits too */
    struct limit o = two(LIM_LTGT, 1, 2);
    o.marg_kind = LIM_MARG_ABS;
    o.marg = 0.1;
    limit_eval_number(&o, &no_sp, 2.05, &ev);
    ck_assert(ev.outcome == P && ev.marginal);
    limit_eval_number(&o, &no_sp, 0.5, &ev);
    ck_assert(ev.outcome == P && !ev.marginal);
}
END_TEST

START_TEST(string_checks)
{
    struct limit l;
    memset(&l, 0, sizeof l);
    l.cmp = LIM_MATCH;
    l.text = strdup("^1\\.[4-9]\\.[0-9]+$");
    char err[160];
    ck_assert_int_eq(limit_compile(&l, err, sizeof err), 0);
    struct lim_eval ev;
    limit_eval_string(&l, "1.4.0", &ev);
    ck_assert_int_eq(ev.outcome, P);
    limit_eval_string(&l, "1.3.9", &ev);
    ck_assert_int_eq(ev.outcome, F);
    ck_assert_str_eq(ev.note, "\"1.3.9\" does not match /^1\\.[4-9]\\.[0-9]+$/");
    limit_eval_string(&l, NULL, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    limit_free(&l);

    memset(&l, 0, sizeof l);
    l.cmp = LIM_MATCH;
    l.text = strdup("([unclosed");
    ck_assert_int_eq(limit_compile(&l, err, sizeof err), -1);
    ck_assert(strncmp(err, "invalid regular expression: ", 28) == 0);
    limit_free(&l);

    /* what would make regcomp take gigabytes is refused before it */
    static const struct {
        const char *pattern, *why;
    } heavy[] = {
        { "1.++++++++++++++++++++", "pattern stacks quantifiers" },
        { "a*{2}", "pattern stacks quantifiers" },
        { "(a{17})", "pattern repeats more than 16 times" },
        { "a{2,100}", "pattern repeats more than 16 times" },
        { "(((((a)))))", "pattern nests groups deeper than 4" },
        { "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890",
          "pattern longer than 128 characters" },
    };
    for (size_t i = 0; i < sizeof heavy / sizeof heavy[0]; i++) {
        memset(&l, 0, sizeof l);
        l.cmp = LIM_MATCH;
        l.text = strdup(heavy[i].pattern);
        ck_assert_int_eq(limit_compile(&l, err, sizeof err), -1);
        ck_assert_msg(strstr(err, heavy[i].why), "%s: %s", heavy[i].pattern, err);
        limit_free(&l);
    }
    /* ... and what looks alike but is literal or small is not */
    static const char *const fine[] = { "^1\\.[4-9]\\.[0-9]+$", "a\\++",       "[+*]+", "[]+]*",
                                        "(ab){2,16}",           "^MNP-(A|B)$", "x{3}y?" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        memset(&l, 0, sizeof l);
        l.cmp = LIM_MATCH;
        l.text = strdup(fine[i]);
        ck_assert_msg(limit_compile(&l, err, sizeof err) == 0, "%s: %s", fine[i], err);
        limit_free(&l);
    }

    memset(&l, 0, sizeof l);
    l.cmp = LIM_STREQ;
    l.text = strdup("MNP-A");
    limit_eval_string(&l, "MNP-A", &ev);
    ck_assert_int_eq(ev.outcome, P);
    limit_eval_string(&l, "MNP-AB", &ev);
    ck_assert_int_eq(ev.outcome, F);
    /* a string limit cannot judge a number and vice versa */
    limit_eval_number(&l, &no_sp, 1, &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
    limit_free(&l);
    struct limit g = two(LIM_GT, 1, NAN);
    limit_eval_string(&g, "2", &ev);
    ck_assert_int_eq(ev.outcome, OUTCOME_ERROR);
}
END_TEST

START_TEST(names_round_trip)
{
    for (int c = 0; c < LIM_CMP_COUNT_; c++)
        ck_assert_int_eq(lim_cmp_from_str(lim_cmp_str((enum lim_cmp)c)), c);
    ck_assert_int_eq(lim_cmp_from_str("gele"), -1);
    ck_assert_int_eq(lim_ref_from_str("$rate_hz"), LIM_REF_RATE_HZ);
    ck_assert_int_eq(lim_ref_from_str("$speed"), -1);
    ck_assert_int_eq(outcome_worse(OUTCOME_FAIL, OUTCOME_ERROR), OUTCOME_ERROR);
    ck_assert_int_eq(outcome_worse(OUTCOME_SKIPPED, OUTCOME_PASS), OUTCOME_PASS);
    ck_assert_int_eq(outcome_worse(OUTCOME_ABORTED, OUTCOME_ERROR), OUTCOME_ABORTED);
    ck_assert_int_eq(outcome_exit_code(OUTCOME_PASS), 0);
    ck_assert_int_eq(outcome_exit_code(OUTCOME_FAIL), 1);
    ck_assert_int_eq(outcome_exit_code(OUTCOME_ERROR), 2);
    ck_assert_int_eq(outcome_exit_code(OUTCOME_TIMEOUT), 2);
    ck_assert_int_eq(outcome_exit_code(OUTCOME_ABORTED), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_test(tc, every_comparison_at_edges);
    tcase_add_test(tc, nan_and_inf_are_errors);
    tcase_add_test(tc, nominal_tolerances);
    tcase_add_test(tc, setpoint_references);
    tcase_add_test(tc, marginal_band);
    tcase_add_test(tc, string_checks);
    tcase_add_test(tc, names_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
