/* Known answers for rig/report/spc.c: hand-computed limits of small data
 * sets, each Western Electric rule triggered and not triggered, histogram
 * bins, and the chart constants against their definitions (d2 by
 * numerical integration of the range distribution) and the published
 * table's values. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "report/spc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void rules_are(const double *x, size_t n, const unsigned *want)
{
    unsigned f[32];
    ck_assert_uint_le(n, N(f));
    ck_assert_int_eq(spc_we_rules(x, n, 0, 1, f), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(f[i] == want[i], "point %zu: flags %u, want %u", i, f[i], want[i]);
}

#define R1 SPC_RULE(1)
#define R2 SPC_RULE(2)
#define R3 SPC_RULE(3)
#define R4 SPC_RULE(4)

START_TEST(rule1)
{
    /* 3.0 is on the 3-sigma line, not beyond it; 3.01 is beyond, and with
     * 3.0 it makes 2 of 3 beyond 2 sigma above (-3.5 is the other side). */
    static const double x[] = { 0.5, -3.5, 3.0, 3.01 };
    static const unsigned want[] = { 0, R1, 0, R1 | R2 };
    rules_are(x, N(x), want);
}
END_TEST

START_TEST(rule2)
{
    static const double x[] = { 0, 2.5, 0, 2.1, -2.5, -0.5, -2.2 };
    static const unsigned want[] = { 0, 0, 0, R2, 0, 0, R2 };
    rules_are(x, N(x), want);
    /* Two beyond 2 sigma but 3 apart: not within 3 points. */
    static const double y[] = { 2.5, 0, 0, 2.5 };
    static const unsigned none[] = { 0, 0, 0, 0 };
    rules_are(y, N(y), none);
    /* Two beyond, one on each side: not the same side. */
    static const double z[] = { 2.5, -2.5, 0 };
    rules_are(z, N(z), none);
}
END_TEST

START_TEST(rule3)
{
    static const double x[] = { 1.5, 1.2, 0.5, 1.1, 1.9, 0.2, -1.5 };
    static const unsigned want[] = { 0, 0, 0, 0, R3, 0, 0 };
    rules_are(x, N(x), want);
    /* Only 3 of 5 beyond 1 sigma (0.9 is inside). */
    static const double y[] = { 1.5, 1.2, 0.5, 0.9, 1.9 };
    static const unsigned none[] = { 0, 0, 0, 0, 0 };
    rules_are(y, N(y), none);
}
END_TEST

START_TEST(rule4)
{
    static const double x[] = { 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.4, 0, 0.1 };
    static const unsigned want[] = { 0, 0, 0, 0, 0, 0, 0, R4, R4, 0, 0 };
    rules_are(x, N(x), want);
    /* Seven above, then one below: no run of eight. */
    static const double y[] = { 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, -0.2 };
    static const unsigned none[8] = { 0 };
    rules_are(y, N(y), none);
}
END_TEST

START_TEST(rules_need_sigma)
{
    double x[] = { 1, 2 };
    unsigned f[2];
    ck_assert_int_eq(spc_we_rules(x, 2, 0, 0, f), -EINVAL);
    ck_assert_int_eq(spc_we_rules(x, 2, 0, NAN, f), -EINVAL);
}
END_TEST

START_TEST(imr)
{
    /* MR = 2, 1, 2, 1: MR-bar 1.5; mean 11.6. */
    static const double x[] = { 10, 12, 11, 13, 12 };
    struct spc_imr c;
    ck_assert_int_eq(spc_imr(x, N(x), &c), 0);
    ck_assert_double_eq_tol(c.x.center, 11.6, 1e-12);
    ck_assert_double_eq_tol(c.x.ucl, 11.6 + 2.66 * 1.5, 1e-12); /* 15.59 */
    ck_assert_double_eq_tol(c.x.lcl, 7.61, 1e-12);
    ck_assert_double_eq_tol(c.mr.center, 1.5, 1e-12);
    ck_assert_double_eq_tol(c.mr.ucl, 4.9005, 1e-12);
    ck_assert_double_eq(c.mr.lcl, 0);
    ck_assert_double_eq_tol(c.sigma, 1.5 / 1.128, 1e-12);
    unsigned f[4];
    static const double mr[] = { 2, 1, 5, 1 };
    spc_beyond(mr, 4, c.mr.lcl, c.mr.ucl, f);
    ck_assert_uint_eq(f[2], R1);
    ck_assert_uint_eq((f[0] | f[1] | f[3]), 0);
    ck_assert_int_eq(spc_imr(x, 1, &c), -EINVAL);
}
END_TEST

START_TEST(xbar_r)
{
    /* Subgroups of 3: {1,2,3} {2,4,6} {3,3,3} and a left-over 9. X-bar
     * 2, 4, 3 (grand 3); R 2, 4, 0 (R-bar 2). A2(3) = 1.023, D4 = 2.574. */
    static const double x[] = { 1, 2, 3, 2, 4, 6, 3, 3, 3, 9 };
    struct spc_xbar_r c;
    ck_assert_int_eq(spc_xbar_r(x, N(x), 3, &c), 0);
    ck_assert_uint_eq(c.k, 3);
    ck_assert_double_eq(c.xbar[1], 4);
    ck_assert_double_eq(c.range[2], 0);
    ck_assert_double_eq_tol(c.x.center, 3, 1e-12);
    ck_assert_double_eq_tol(c.x.ucl, 5.046, 1e-12);
    ck_assert_double_eq_tol(c.x.lcl, 0.954, 1e-12);
    ck_assert_double_eq_tol(c.r.center, 2, 1e-12);
    ck_assert_double_eq_tol(c.r.ucl, 5.148, 1e-12);
    ck_assert_double_eq(c.r.lcl, 0);
    ck_assert_double_eq_tol(c.sigma, 2 / 1.693, 1e-12);
    spc_xbar_r_free(&c);
    /* Subgroups of 7 have a lower range limit: D3(7) = 0.076. */
    static const double y[] = { 0, 1, 2, 3, 4, 5, 6, 0, 2, 4, 6, 8, 10, 12 };
    ck_assert_int_eq(spc_xbar_r(y, N(y), 7, &c), 0);
    ck_assert_double_eq_tol(c.r.center, 9, 1e-12);
    ck_assert_double_eq_tol(c.r.lcl, 0.684, 1e-12);
    ck_assert_double_eq_tol(c.r.ucl, 17.316, 1e-12);
    spc_xbar_r_free(&c);
    ck_assert_int_eq(spc_xbar_r(x, 5, 3, &c), -EINVAL);  /* one subgroup */
    ck_assert_int_eq(spc_xbar_r(x, 10, 1, &c), -EINVAL); /* no table row */
    ck_assert_int_eq(spc_xbar_r(x, 10, 26, &c), -EINVAL);
}
END_TEST

/* d2(n) = E[range of n standard normals] = integral of
 * 1 - Phi(x)^n - (1 - Phi(x))^n over x (Simpson's rule). */
static double d2_numeric(unsigned n)
{
    const double a = -10, b = 10;
    const int steps = 20000;
    double h = (b - a) / steps, s = 0;
    for (int i = 0; i <= steps; i++) {
        double x = a + i * h;
        double phi = 0.5 * erfc(-x / sqrt(2));
        double f = 1 - pow(phi, n) - pow(1 - phi, n);
        s += f * (i == 0 || i == steps ? 1 : i % 2 ? 4 : 2);
    }
    return s * h / 3;
}

START_TEST(constants)
{
    for (unsigned n = SPC_SUBGROUP_MIN; n <= SPC_SUBGROUP_MAX; n++) {
        const struct spc_constants *c = spc_constants(n);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->n, n);
        double d2 = d2_numeric(n);
        /* The table has three decimals: rounding is at most 0.0005. */
        ck_assert_msg(fabs(c->d2 - d2) <= 0.0005 + 1e-9, "d2(%u) %.3f vs %.5f", n, c->d2, d2);
        double a2 = 3 / (d2 * sqrt(n));
        ck_assert_msg(fabs(c->a2 - a2) <= 0.0005 + 1e-9, "A2(%u) %.3f vs %.5f", n, c->a2, a2);
        /* D3 = 1 - 3 d3/d2 and D4 = 1 + 3 d3/d2: D3 + D4 = 2 where D3 is
         * positive (n >= 7), else D3 = 0. */
        if (n < 7)
            ck_assert_double_eq(c->d3_lim, 0);
        else
            ck_assert_msg(fabs(c->d3_lim + c->d4_lim - 2) <= 0.001 + 1e-9, "D3+D4(%u)", n);
    }
    ck_assert_ptr_null(spc_constants(1));
    ck_assert_ptr_null(spc_constants(26));
    /* Spot values as printed in the published table. */
    ck_assert_double_eq(spc_constants(2)->d4_lim, 3.267);
    ck_assert_double_eq(spc_constants(5)->a2, 0.577);
    ck_assert_double_eq(spc_constants(5)->d4_lim, 2.114);
    ck_assert_double_eq(spc_constants(10)->d3_lim, 0.223);
    ck_assert_double_eq(spc_constants(10)->d4_lim, 1.777);
    ck_assert_double_eq(spc_constants(25)->d2, 3.931);
}
END_TEST

START_TEST(histogram)
{
    /* 1..8: quartiles 2.75 and 6.25, IQR 3.5, FD width 2*3.5/8^(1/3) =
     * 3.5 from LSL 0: bins [0,3.5) [3.5,7) [7,10.5) cover USL 10. */
    static const double x[] = { 8, 1, 7, 2, 6, 3, 5, 4 };
    struct spc_hist h;
    ck_assert_int_eq(spc_histogram(x, N(x), 0, 10, 50, &h), 0);
    ck_assert_double_eq(h.lo, 0);
    ck_assert_double_eq_tol(h.width, 3.5, 1e-12);
    ck_assert_uint_eq(h.nbins, 3);
    ck_assert_uint_eq(h.count[0], 3);
    ck_assert_uint_eq(h.count[1], 3);
    ck_assert_uint_eq(h.count[2], 2);
    spc_hist_free(&h);
    /* Far limits: 200/3.5 = 58 bins, capped at 10 of width 20. */
    ck_assert_int_eq(spc_histogram(x, N(x), -100, 100, 10, &h), 0);
    ck_assert_uint_eq(h.nbins, 10);
    ck_assert_double_eq_tol(h.width, 20, 1e-12);
    ck_assert_uint_eq(h.count[5], 8);
    spc_hist_free(&h);
    /* IQR 0: Sturges, ceil(log2 8) + 1 = 4 bins over 5..9; the maximum
     * on the top edge goes in the last bin. No limits (NAN). */
    static const double y[] = { 5, 5, 5, 5, 5, 5, 5, 9 };
    ck_assert_int_eq(spc_histogram(y, N(y), NAN, NAN, 50, &h), 0);
    ck_assert_uint_eq(h.nbins, 4);
    ck_assert_double_eq(h.lo, 5);
    ck_assert_uint_eq(h.count[0], 7);
    ck_assert_uint_eq(h.count[3], 1);
    spc_hist_free(&h);
    /* One value, no limits: one bin around it. */
    ck_assert_int_eq(spc_histogram(y, 1, NAN, NAN, 50, &h), 0);
    ck_assert_uint_eq(h.nbins, 1);
    ck_assert_uint_eq(h.count[0], 1);
    spc_hist_free(&h);
    ck_assert_int_eq(spc_histogram(y, 0, NAN, NAN, 50, &h), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("spc");
    TCase *t = tcase_create("spc");
    tcase_add_test(t, rule1);
    tcase_add_test(t, rule2);
    tcase_add_test(t, rule3);
    tcase_add_test(t, rule4);
    tcase_add_test(t, rules_need_sigma);
    tcase_add_test(t, imr);
    tcase_add_test(t, xbar_r);
    tcase_add_test(t, constants);
    tcase_add_test(t, histogram);
    suite_add_tcase(s, t);
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
