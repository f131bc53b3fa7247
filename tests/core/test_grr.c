/* Gauge R&R (core/grr.h) against known answers: the AIAG MSA manual's
 * (4th edition) worked example, 10 parts x 3 appraisers x 3 trials, with
 * its published range-method and ANOVA figures; and small studies whose
 * answers are worked out by hand in the comments. Published figures are
 * rounded: each is checked to half a unit of its last printed digit,
 * unless a comment says why more. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/grr.h"

/* AIAG MSA 4th ed., chapter III, the GRR data sheet: appraiser, trial,
 * parts 1..10 (public data, used as a known answer). */
static const double aiag[3][3][10] = {
    { { 0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36 },
      { 0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25 },
      { 0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31 } },
    { { 0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68 },
      { 0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62 },
      { 0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50 } },
    { { 0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49 },
      { -0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77 },
      { -0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16 } },
};

static double aiag_x[3 * 10 * 3];

static struct grr_data aiag_data(void)
{
    for (size_t o = 0; o < 3; o++)
        for (size_t p = 0; p < 10; p++)
            for (size_t t = 0; t < 3; t++)
                aiag_x[(o * 10 + p) * 3 + t] = aiag[o][t][p];
    return (struct grr_data){ 10, 3, 3, aiag_x };
}

/* tol 0: exact up to rounding */
#define NEAR(got, want, tol) ck_assert_double_eq_tol((got), (want), (tol) > 0 ? (tol) : 1e-12)

START_TEST(aiag_range_method)
{
    struct grr_data d = aiag_data();
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), 0);
    const struct grr_range *g = &r.range;
    ck_assert(g->valid);
    /* the data sheet's intermediate figures */
    NEAR(g->rbar[0], 0.184, 5e-4);
    NEAR(g->rbar[1], 0.513, 5e-4);
    NEAR(g->rbar[2], 0.328, 5e-4);
    NEAR(g->xbar[0], 0.1903, 5e-5);
    NEAR(g->xbar[1], 0.0683, 5e-5);
    NEAR(g->xbar[2], -0.2543, 5e-5);
    NEAR(g->rbarbar, 0.3417, 5e-5);
    /* the sheet subtracts the rounded averages: 0.1903 + 0.2543 = 0.4446 */
    NEAR(g->xdiff, 0.4446, 1e-4);
    NEAR(g->rp, 3.5111, 5e-5);
    NEAR(g->ucl_r, 0.8795, 5e-4);
    NEAR(g->k1, 0.5908, 0);
    NEAR(g->k2, 0.5231, 0);
    NEAR(g->k3, 0.3146, 0);
    /* the report: the manual computes from its rounded intermediates
     * (R-bar-bar 0.3417, X-diff 0.4446), which moves the fifth decimal */
    NEAR(g->ev.sd, 0.20188, 1e-4);
    NEAR(g->av.sd, 0.22963, 1e-4);
    NEAR(g->grr.sd, 0.30575, 1e-4);
    NEAR(g->pv.sd, 1.10456, 1e-4);
    NEAR(g->tv.sd, 1.14610, 1e-4);
    NEAR(g->ev.pct_tv, 17.62, 0.01);
    NEAR(g->av.pct_tv, 20.04, 0.01);
    NEAR(g->grr.pct_tv, 26.68, 0.01);
    NEAR(g->pv.pct_tv, 96.38, 0.01);
    ck_assert_int_eq(g->ndc, 5);
    /* appraiser B, part 4: 1.03 - 0.01 = 1.02 is the one range beyond UCL */
    ck_assert_uint_eq(g->ranges_above_ucl, 1);
}
END_TEST

START_TEST(aiag_anova_method)
{
    struct grr_data d = aiag_data();
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), 0);
    /* the ANOVA table */
    NEAR(r.oper.df, 2, 0);
    NEAR(r.part.df, 9, 0);
    NEAR(r.inter.df, 18, 0);
    NEAR(r.error.df, 60, 0);
    NEAR(r.total.df, 89, 0);
    NEAR(r.oper.ss, 3.1673, 5e-5);
    NEAR(r.part.ss, 88.3619, 5e-5);
    NEAR(r.inter.ss, 0.3590, 5e-5);
    NEAR(r.error.ss, 2.7589, 5e-5);
    NEAR(r.total.ss, 94.6471, 5e-5);
    NEAR(r.oper.ms, 1.58363, 5e-6);
    NEAR(r.part.ms, 9.81799, 5e-6);
    NEAR(r.inter.ms, 0.01994, 5e-6);
    NEAR(r.error.ms, 0.04598, 5e-6);
    NEAR(r.oper.f, 79.41, 5e-3);
    NEAR(r.part.f, 492.29, 5e-3);
    NEAR(r.inter.f, 0.434, 5e-4);
    /* not significant at 0.25: the manual pools, and so do we */
    ck_assert(r.inter.p > 0.25);
    ck_assert(r.pooled);
    NEAR(r.alpha, 0.25, 0);
    /* the components (the manual's variance and sigma columns) */
    NEAR(r.ev.var, 0.039973, 5e-7);
    NEAR(r.av.var, 0.051455, 5e-7);
    NEAR(r.ipo.var, 0, 0);
    /* PV variance printed as 1.086446 and 1.086447 in different tables */
    NEAR(r.pv.var, 1.0864465, 1e-6);
    NEAR(r.ev.sd, 0.199933, 5e-7);
    NEAR(r.av.sd, 0.226838, 5e-7);
    /* GRR printed 0.302373; from the rounded components 0.3023715 */
    NEAR(r.grr.sd, 0.302373, 2e-6);
    NEAR(r.pv.sd, 1.042327, 5e-7);
    NEAR(r.tv.sd, 1.085, 5e-4);
    NEAR(r.ev.pct_tv, 18.4, 0.05);
    NEAR(r.av.pct_tv, 20.9, 0.05);
    NEAR(r.grr.pct_tv, 27.9, 0.05);
    NEAR(r.pv.pct_tv, 96.0, 0.05);
    /* % contribution (variance shares): 3.4, 4.4, 7.8, 92.2 */
    NEAR(100 * r.ev.var / r.tv.var, 3.4, 0.05);
    NEAR(100 * r.av.var / r.tv.var, 4.4, 0.05);
    NEAR(100 * r.grr.var / r.tv.var, 7.8, 0.05);
    NEAR(100 * r.pv.var / r.tv.var, 92.2, 0.05);
    ck_assert_int_eq(r.ndc, 4);
    /* no tolerance given: no % of tolerance */
    ck_assert(isnan(r.grr.pct_tol));
}
END_TEST

/* Not pooled (alpha 0): EV is the error mean square's root, the main
 * effects over the interaction, and the negative interaction component
 * (MS_PO < MS_E) becomes 0. */
START_TEST(aiag_unpooled)
{
    struct grr_data d = aiag_data();
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, 10.0, 0, &r, err, sizeof err), 0);
    ck_assert(!r.pooled);
    NEAR(r.ev.var, r.error.ms, 1e-15);
    NEAR(r.ev.sd, 0.214435, 5e-6); /* sqrt(0.04598) */
    NEAR(r.ipo.var, 0, 0);
    NEAR(r.av.var, (r.oper.ms - r.inter.ms) / 30, 1e-15);
    NEAR(r.pv.var, (r.part.ms - r.inter.ms) / 9, 1e-15);
    /* tolerance 10: %tolerance = 100 * 6 sigma / 10 */
    NEAR(r.grr.pct_tol, 60 * r.grr.sd, 1e-9);
    NEAR(r.range.grr.pct_tol, 60 * r.range.grr.sd, 1e-9);
}
END_TEST

/* By hand: parts P1, P2; operators X, Y; two trials.
 *   X: P1 1.0 1.2   P2 2.0 2.2       Y: P1 1.3 1.5   P2 2.3 2.5
 * mean 1.75; part means 1.25, 2.25: SS_P = 4 (0.25 + 0.25) = 2.0;
 * operator means 1.6, 1.9: SS_O = 4 (0.0225 + 0.0225) = 0.18;
 * cell means 1.1 2.1 1.4 2.4: SS_cells = 2 x 1.09 = 2.18, SS_PO = 0;
 * every repeat +-0.1 from its cell: SS_E = 8 x 0.01 = 0.08, df 4.
 * F(PO) = 0: pooled, MS = 0.08 / 5 = 0.016 = EV^2;
 * AV^2 = (0.18 - 0.016) / 4 = 0.041; PV^2 = (2.0 - 0.016) / 4 = 0.496;
 * GRR^2 = 0.057; ndc = floor(1.41 sqrt(0.496 / 0.057)) = floor(4.159) = 4.
 * Range method: R-bar-bar 0.2, EV = 0.2 x 0.8862; X-diff 0.3, AV^2 =
 * (0.3 x 0.7071)^2 - EV^2 / 4; Rp 1.0, PV = 0.7071. */
static const double hand[] = { 1.0, 1.2, 2.0, 2.2, 1.3, 1.5, 2.3, 2.5 };

START_TEST(hand_2x2x2)
{
    struct grr_data d = { 2, 2, 2, hand };
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), 0);
    NEAR(r.mean, 1.75, 1e-12);
    NEAR(r.part.ss, 2.0, 1e-12);
    NEAR(r.oper.ss, 0.18, 1e-12);
    NEAR(r.inter.ss, 0, 1e-12);
    NEAR(r.error.ss, 0.08, 1e-12);
    ck_assert(r.pooled);
    NEAR(r.ev.var, 0.016, 1e-12);
    NEAR(r.av.var, 0.041, 1e-12);
    NEAR(r.pv.var, 0.496, 1e-12);
    NEAR(r.grr.var, 0.057, 1e-12);
    ck_assert_int_eq(r.ndc, 4);
    NEAR(r.range.ev.sd, 0.2 * 0.8862, 1e-12);
    NEAR(r.range.av.var, 0.09 * 0.7071 * 0.7071 - 0.04 * 0.8862 * 0.8862 / 4, 1e-12);
    NEAR(r.range.pv.sd, 0.7071, 1e-12);
}
END_TEST

/* Operators that agree: every operator reads every part the same way
 * (the same repeats), so the operator and interaction sums are 0 and AV
 * is 0 by both methods (the range method's AV^2 goes negative: 0). */
START_TEST(zero_operator_effect)
{
    double x[3 * 5 * 2];
    for (size_t o = 0; o < 3; o++)
        for (size_t p = 0; p < 5; p++)
            for (size_t t = 0; t < 2; t++)
                x[(o * 5 + p) * 2 + t] = (double)p + (t ? 0.05 : -0.05) * (double)(p % 2 + 1);
    struct grr_data d = { 5, 3, 2, x };
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), 0);
    NEAR(r.oper.ss, 0, 1e-12);
    NEAR(r.inter.ss, 0, 1e-12);
    NEAR(r.av.sd, 0, 0);
    NEAR(r.ipo.sd, 0, 0);
    NEAR(r.range.av.sd, 0, 0);
    NEAR(r.range.xdiff, 0, 1e-12);
    NEAR(r.grr.sd, r.ev.sd, 1e-15);
}
END_TEST

/* A pure interaction: X reads P1 low and P2 high, Y the other way round.
 *   X: P1 1.00 1.02  P2 2.00 2.02     Y: P1 2.00 2.02  P2 1.00 1.02
 * Part and operator means are all 1.51: SS_P = SS_O = 0; cells 1.01 2.01
 * 2.01 1.01: SS_PO = 2 x 4 x 0.25 = 2.0 (df 1); SS_E = 8 x 0.0001 =
 * 0.0008 (df 4), MS_E = 0.0002; F = 10000: kept. IPO^2 = (2.0 - 0.0002)
 * / 2 = 0.9999; AV^2 and PV^2 = (0 - 2.0)/4 < 0: 0; ndc 1. */
START_TEST(interaction_kept)
{
    static const double x[] = { 1.00, 1.02, 2.00, 2.02, 2.00, 2.02, 1.00, 1.02 };
    struct grr_data d = { 2, 2, 2, x };
    struct grr_result r;
    char err[128];
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), 0);
    ck_assert(!r.pooled);
    NEAR(r.inter.ss, 2.0, 1e-12);
    NEAR(r.inter.f, 10000, 1e-6);
    ck_assert(r.inter.p < 0.01);
    NEAR(r.ipo.var, 0.9999, 1e-12);
    NEAR(r.ev.var, 0.0002, 1e-12);
    NEAR(r.av.var, 0, 0);
    NEAR(r.pv.var, 0, 0);
    NEAR(r.grr.var, 1.0001, 1e-12);
    ck_assert_int_eq(r.ndc, 1);
}
END_TEST

START_TEST(refusals)
{
    double x[8];
    memcpy(x, hand, sizeof x);
    struct grr_result r;
    char err[128];
    struct grr_data d = { 2, 2, 2, x };
    x[5] = NAN;
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), -EINVAL);
    ck_assert(strstr(err, "operator 2, part 1, trial 2"));
    x[5] = 1.5;
    d.trials = 1;
    d.parts = 4;
    ck_assert_int_eq(grr_analyse(&d, NAN, NAN, &r, err, sizeof err), -EINVAL);
    /* beyond K3's table (10 parts) the range method is left out */
    double big[11 * 2 * 2];
    for (size_t i = 0; i < 44; i++)
        big[i] = (double)(i % 11) + 0.01 * (double)(i % 3);
    struct grr_data b = { 11, 2, 2, big };
    ck_assert_int_eq(grr_analyse(&b, NAN, NAN, &r, err, sizeof err), 0);
    ck_assert(!r.range.valid);
    ck_assert(r.pv.sd > 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grr");
    TCase *tc = tcase_create("grr");
    tcase_add_test(tc, aiag_range_method);
    tcase_add_test(tc, aiag_anova_method);
    tcase_add_test(tc, aiag_unpooled);
    tcase_add_test(tc, hand_2x2x2);
    tcase_add_test(tc, zero_operator_effect);
    tcase_add_test(tc, interaction_kept);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
