/* The per-stroke file parser (strokes.h): what the engine writes reads
 * back exactly; everything else is refused with the line and why, and
 * nothing allocated. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/record.h"
#include "report/strokes.h"

static int parse(const char *text, struct rep_strokes *s, char *err, size_t len)
{
    return strokes_parse(text, strlen(text), s, err, len);
}

/* strokes_csv() (the engine's writer) read back by the report's parser */
START_TEST(engine_output_round_trips)
{
    struct an_stroke in[3] = {
        { .rise = 100.5, .peak = 180.25, .depth_mm = 1.0123456789, .force_n = 0.5, .steady = 0 },
        { .rise = 600.125, .peak = 690, .depth_mm = -0.25, .force_n = NAN, .steady = 1 },
        { .rise = 1100, .peak = 1190.5, .depth_mm = 2.5, .force_n = 0.000123, .steady = 1 },
    };
    char *csv = strokes_csv(in, 3, 50000);
    ck_assert_ptr_nonnull(csv);
    struct rep_strokes s;
    char err[200];
    ck_assert_int_eq(parse(csv, &s, err, sizeof err), 0);
    ck_assert_uint_eq(s.n, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(fabs(s.v[i].rise_s - in[i].rise / 50000) < 1e-12);
        ck_assert(fabs(s.v[i].peak_s - in[i].peak / 50000) < 1e-12);
        ck_assert(fabs(s.v[i].depth_mm - in[i].depth_mm) < 1e-8);
        ck_assert_int_eq(s.v[i].steady, in[i].steady);
    }
    ck_assert(isnan(s.v[1].force_n));
    ck_assert(fabs(s.v[2].force_n - 0.000123) < 1e-12);
    strokes_free(&s);
    free(csv);
}
END_TEST

START_TEST(refusals)
{
    static const struct {
        const char *text, *why;
    } t[] = {
        { "", "line 1: empty" },
        { "stroke,rise\n", "line 1: not the per-stroke header" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n2,0,0,1,,1\n",
          "line 2: stroke number out of sequence" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0,0,1,,1,9\n",
          "line 2: expected 6" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0,0,,0.5,1\n",
          "line 2: a time, depth or force" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0,nan,1,,1\n",
          "line 2: a time, depth or force" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0, 1,1,,1\n",
          "line 2: a time, depth or force" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0,0,1,,2\n",
          "line 2: steady is not 0 or 1" },
        { "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n1,0,0,1,,1\n\n",
          "line 3: expected 6" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct rep_strokes s;
        char err[200] = "";
        ck_assert_int_eq(parse(t[i].text, &s, err, sizeof err), -EINVAL);
        ck_assert_msg(strncmp(err, t[i].why, strlen(t[i].why)) == 0, "case %zu: %s", i, err);
        ck_assert_ptr_null(s.v);
        ck_assert_uint_eq(s.n, 0);
    }
    /* a NUL byte inside */
    struct rep_strokes s;
    char err[200];
    ck_assert_int_eq(strokes_parse("stroke\0x", 8, &s, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(accepted_forms)
{
    struct rep_strokes s;
    char err[200];
    /* header only: no strokes */
    ck_assert_int_eq(parse("stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\n", &s, err, 200), 0);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_ptr_null(s.v);
    /* CRLF and no final newline */
    ck_assert_int_eq(parse("stroke,rise_s,peak_s,depth_mm,peak_force_n,steady\r\n"
                           "1,0.5,0.6,1e-3,,0\r\n2,1.5,1.6,-2,0.25,1",
                           &s, err, 200),
                     0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert(s.v[0].depth_mm == 1e-3 && !s.v[0].steady);
    ck_assert(s.v[1].depth_mm == -2 && s.v[1].force_n == 0.25 && s.v[1].steady);
    strokes_free(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("report_strokes");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, engine_output_round_trips);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, accepted_forms);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
