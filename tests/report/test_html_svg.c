/* The report writer's pure parts: escaping, number and tick formatting,
 * 1-2-5 tick choice, data-to-pixel scaling, decimation, and that the
 * page and plot skeletons hold what the contract promises. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"
#include "report/svg.h"

static char *page(void (*fill)(struct html *))
{
    struct html h;
    html_init(&h);
    fill(&h);
    size_t n;
    char *s = html_take(&h, &n);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), n);
    return s;
}

static void esc_fill(struct html *h)
{
    html_text(h, "a<b>&\"c'");
    html_raw(h, "|");
    html_attr(h, "a<b>&\"c'");
    html_raw(h, "|");
    html_text(h, NULL);
    html_text(h, "");
    html_text(h, "plain");
}

START_TEST(escaping)
{
    char *s = page(esc_fill);
    ck_assert_str_eq(s, "a&lt;b&gt;&amp;\"c'|a&lt;b&gt;&amp;&quot;c&#39;|plain");
    free(s);
}
END_TEST

START_TEST(number_format)
{
    static const struct {
        double v;
        int sig;
        const char *want;
    } t[] = {
        { 0, 4, "0" },
        { 1.5, 4, "1.5" },
        { 1.23456, 4, "1.235" },
        { -0.00012, 3, "-0.00012" },
        { 1234.56, 4, "1235" },
        { 120, 3, "120" },
        { 0.1, 6, "0.1" },
        { 2e-7, 3, "2e-07" },
        { -0.00001, 2, "-1e-05" },
        { 1e12, 3, "1e+12" },
        { 99.96, 3, "100" },
        { -0.0004, 1, "-0.0004" },
    };
    char b[40];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        svg_fmt_num(b, sizeof b, t[i].v, t[i].sig);
        ck_assert_msg(strcmp(b, t[i].want) == 0, "%g/%d: got %s want %s", t[i].v, t[i].sig, b,
                      t[i].want);
    }
    svg_fmt_num(b, sizeof b, NAN, 3);
    ck_assert_str_eq(b, "\u2013");
    svg_fmt_num(b, sizeof b, INFINITY, 3);
    ck_assert_str_eq(b, "\u2013");
}
END_TEST

START_TEST(tick_format)
{
    char b[40];
    svg_fmt_tick(b, sizeof b, 0.15, 0.05);
    ck_assert_str_eq(b, "0.15");
    svg_fmt_tick(b, sizeof b, 40, 20);
    ck_assert_str_eq(b, "40");
    svg_fmt_tick(b, sizeof b, 1, 0.2);
    ck_assert_str_eq(b, "1.0");
    svg_fmt_tick(b, sizeof b, -1e-17, 0.1);
    ck_assert_str_eq(b, "0.0");
    svg_fmt_px(b, sizeof b, 12.34);
    ck_assert_str_eq(b, "12.3");
    svg_fmt_px(b, sizeof b, -0.06);
    ck_assert_str_eq(b, "-0.1");
    svg_fmt_px(b, sizeof b, 70);
    ck_assert_str_eq(b, "70");
}
END_TEST

START_TEST(nice_steps)
{
    static const struct {
        double span;
        int max;
        double want;
    } t[] = {
        { 1, 10, 0.1 }, { 1, 5, 0.2 }, { 1, 2, 0.5 },   { 0.3, 3, 0.1 },     { 7, 10, 1 },
        { 13, 5, 5 },   { 13, 2, 10 }, { 430, 8, 100 }, { 0.026, 8, 0.005 }, { 1e6, 4, 5e5 },
        { 9.9, 1, 10 }, { 0, 5, 1 },   { NAN, 5, 1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double s = svg_nice_step(t[i].span, t[i].max);
        ck_assert_msg(fabs(s - t[i].want) <= t[i].want * 1e-12, "span %g max %d: %g, want %g",
                      t[i].span, t[i].max, s, t[i].want);
    }
}
END_TEST

/* Ticks cover the data, land on multiples of a 1-2-5 step, and never
 * exceed the interval budget, over many ranges. */
START_TEST(ticks_cover_data)
{
    struct svg_ticks t;
    svg_ticks(0.02, 1.03, 8, &t);
    ck_assert(fabs(t.step - 0.2) < 1e-12);
    ck_assert(fabs(t.lo - 0) < 1e-12 && fabs(t.hi - 1.2) < 1e-12);
    ck_assert_int_eq(t.n, 7);
    svg_ticks(5, 5, 8, &t); /* one value: still an axis around it */
    ck_assert(t.lo < 5 && t.hi > 5);
    svg_ticks(NAN, NAN, 8, &t);
    ck_assert(t.lo == 0 && t.hi == 1);
    svg_ticks(3, -2, 5, &t); /* reversed */
    ck_assert(t.lo <= -2 && t.hi >= 3);
    unsigned seed = 7;
    for (int i = 0; i < 5000; i++) {
        double a = (rand_r(&seed) / (double)RAND_MAX - 0.5) * pow(10, rand_r(&seed) % 9 - 4);
        double b = a + rand_r(&seed) / (double)RAND_MAX * pow(10, rand_r(&seed) % 9 - 4);
        int max = 2 + rand_r(&seed) % 9;
        svg_ticks(a, b, max, &t);
        /* within a hair of a step: a rounding slack the eye cannot see */
        ck_assert_msg(t.lo <= a + t.step * 1e-6 && t.hi >= b - t.step * 1e-6, "[%g %g] -> [%g %g]",
                      a, b, t.lo, t.hi);
        ck_assert_msg(t.n - 1 <= max, "[%g %g] max %d: %d ticks", a, b, max, t.n);
        double m = t.step / pow(10, floor(log10(t.step)));
        ck_assert_msg(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9, "step %g",
                      t.step);
        double k = t.lo / t.step;
        ck_assert(fabs(k - round(k)) < 1e-6);
    }
}
END_TEST

START_TEST(scaling)
{
    struct html h;
    html_init(&h);
    struct svg_plot p;
    struct svg_plot_opts o = {
        .id = "p1", .width = 600, .height = 300, .xlo = 0, .xhi = 10, .ylo = -1, .yhi = 1
    };
    ck_assert_int_eq(svg_plot_begin(&h, &o, &p), 0);
    /* axis ends map to the plot area's edges, y grows upwards */
    ck_assert(fabs(svg_sx(&p, p.xlo) - p.px0) < 1e-9);
    ck_assert(fabs(svg_sx(&p, p.xhi) - (p.px0 + p.pw)) < 1e-9);
    ck_assert(fabs(svg_sy(&p, p.ylo) - (p.py0 + p.ph)) < 1e-9);
    ck_assert(fabs(svg_sy(&p, p.yhi) - p.py0) < 1e-9);
    ck_assert(fabs(svg_sx(&p, 5) - (p.px0 + p.pw / 2)) < 1e-9);
    ck_assert(fabs(svg_sy(&p, 0) - (p.py0 + p.ph / 2)) < 1e-9);
    svg_plot_end(&p);
    struct svg_plot_opts bad = { .id = NULL };
    ck_assert_int_eq(svg_plot_begin(&h, &bad, &p), -EINVAL);
    html_free(&h);
}
END_TEST

START_TEST(decimation_keeps_peaks)
{
    enum { N = 100000 };
    double *y = malloc(sizeof *y * N);
    size_t *idx = malloc(sizeof *idx * SVG_MAX_POINTS);
    for (size_t i = 0; i < N; i++)
        y[i] = sin(i * 0.001);
    y[31337] = 50;  /* a spike */
    y[77777] = -40; /* a dip */
    size_t k = svg_decimate(y, N, SVG_MAX_POINTS, idx);
    ck_assert_uint_le(k, SVG_MAX_POINTS);
    ck_assert_uint_ge(k, SVG_MAX_POINTS - 10);
    ck_assert_uint_eq(idx[0], 0);
    ck_assert_uint_eq(idx[k - 1], N - 1);
    bool spike = false, dip = false;
    for (size_t j = 0; j < k; j++) {
        if (j > 0)
            ck_assert_uint_gt(idx[j], idx[j - 1]); /* in order */
        spike |= idx[j] == 31337;
        dip |= idx[j] == 77777;
    }
    ck_assert(spike && dip);
    /* short series are kept whole */
    ck_assert_uint_eq(svg_decimate(y, 10, SVG_MAX_POINTS, idx), 10);
    free(y);
    free(idx);
}
END_TEST

static void plot_fill(struct html *h)
{
    html_page_begin(h, "T <&>", NULL);
    struct svg_plot p;
    struct svg_plot_opts o = { .id = "d",
                               .title = "Depth",
                               .ylabel = "Depth",
                               .yunit = "mm",
                               .xlabel = "Time",
                               .xunit = "ms",
                               .xlo = 0,
                               .xhi = 100,
                               .ylo = 0,
                               .yhi = 2 };
    svg_plot_begin(h, &o, &p);
    enum { N = 20000 };
    static double y[N];
    for (size_t i = 0; i < N; i++)
        y[i] = 1 + sin(i * 0.01);
    y[500] = NAN;
    svg_line_uniform(&p, 0, 100.0 / N, y, N, 0);
    svg_hline(&p, 1.8, SVG_LIM_LIMIT, "USL 1.8");
    svg_hline(&p, 99, SVG_LIM_LIMIT, "off axis");
    svg_band(&p, NAN, NAN, 1.8, NAN, SVG_BAND_BAD);
    struct svg_legend_item leg[] = { { .label = "depth", .kind = SVG_LEG_LINE },
                                     { .label = "limit", .kind = SVG_LEG_LIMIT } };
    svg_legend(&p, leg, 2);
    svg_plot_end(&p);
    html_banner_begin(h, HV_FAIL, NULL, "2 of 9 measurements failed");
    html_banner_end(h);
    html_page_end(h, "rig");
}

START_TEST(page_and_plot)
{
    char *s = page(plot_fill);
    ck_assert_ptr_nonnull(strstr(s, "<!DOCTYPE html>"));
    ck_assert_ptr_nonnull(strstr(s, "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(s, "<title>T &lt;&amp;&gt;</title>"));
    ck_assert_ptr_nonnull(strstr(s, "@media print"));
    ck_assert_ptr_nonnull(strstr(s, "size:A4"));
    ck_assert_ptr_nonnull(strstr(s, ">USL 1.8<"));
    ck_assert_ptr_null(strstr(s, "off axis")); /* limits off the axis are not drawn */
    ck_assert_ptr_nonnull(strstr(s, ">Depth (mm)<"));
    ck_assert_ptr_nonnull(strstr(s, "aria-label=\"FAIL\""));
    ck_assert_ptr_nonnull(strstr(s, ">FAIL<"));
    ck_assert_ptr_nonnull(strstr(s, "2 of 9 measurements failed"));
    /* the line is decimated: at most SVG_MAX_POINTS vertices */
    const char *d = strstr(s, "class=\"ln s0\" d=\"");
    ck_assert_ptr_nonnull(d);
    size_t verts = 0;
    for (const char *c = d + 17; *c && *c != '"'; c++)
        verts += *c == 'L' || *c == 'M';
    ck_assert_uint_le(verts, SVG_MAX_POINTS);
    ck_assert_uint_gt(verts, 100);
    /* nothing refers outside the page but the SVG namespace */
    for (const char *c = s; (c = strstr(c, "http")) != NULL; c++)
        ck_assert_msg(strncmp(c, "http://www.w3.org/2000/svg", 26) == 0, "%.40s", c);
    ck_assert_ptr_null(strstr(s, "<script"));
    free(s);
}
END_TEST

START_TEST(verdicts_distinct)
{
    for (int v = 0; v < HV_COUNT_; v++) {
        for (int w = v + 1; w < HV_COUNT_; w++)
            ck_assert_str_ne(html_verdict_word(v), html_verdict_word(w));
    }
    ck_assert_str_eq(html_verdict_word(HV_MARGINAL), "MARGINAL");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report_html_svg");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, escaping);
    tcase_add_test(tc, number_format);
    tcase_add_test(tc, tick_format);
    tcase_add_test(tc, nice_steps);
    tcase_add_test(tc, ticks_cover_data);
    tcase_add_test(tc, scaling);
    tcase_add_test(tc, decimation_keeps_peaks);
    tcase_add_test(tc, page_and_plot);
    tcase_add_test(tc, verdicts_distinct);
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
