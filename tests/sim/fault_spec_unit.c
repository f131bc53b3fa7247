/* Unit tests of rigsim's --fault spec parser (rs_fault_parse). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/rigsim.h"

static struct rs_fault parse_ok(const char *spec)
{
    struct rs_fault f;
    char err[256] = "";
    ck_assert_msg(rs_fault_parse(spec, &f, err, sizeof err) == 0, "%s: %s", spec, err);
    return f;
}

static void parse_bad(const char *spec, const char *why)
{
    struct rs_fault f;
    char err[256] = "";
    ck_assert_msg(rs_fault_parse(spec, &f, err, sizeof err) < 0, "%s accepted", spec);
    ck_assert_msg(strstr(err, why) != NULL, "%s: message '%s' lacks '%s'", spec, err, why);
}

/* Every line refused by rs_control_parse, with a message naming why. */
static void requests_refused(const char *const *lines, size_t n, const char *why)
{
    struct rs_ctl_request r;
    for (size_t i = 0; i < n; i++) {
        char err[256] = "";
        ck_assert_msg(rs_control_parse(lines[i], &r, err, sizeof err) == -1, "accepted %s",
                      lines[i]);
        ck_assert_msg(strstr(err, why) != NULL, "%s: message '%s'", lines[i], err);
    }
}

START_TEST(model_kind)
{
    struct rs_fault f = parse_ok("stall");
    ck_assert(f.is_model);
    ck_assert_int_eq(f.kind, SIM_FAULT_STALL);
    ck_assert(!f.has_at && !f.has_value);
}
END_TEST

START_TEST(time_and_value)
{
    struct rs_fault f = parse_ok("depth-drift@2.5=0.05");
    ck_assert(f.is_model && f.kind == SIM_FAULT_DEPTH_DRIFT);
    ck_assert(f.has_at && fabs(f.at_s - 2.5) < 1e-12);
    ck_assert(f.has_value && fabs(f.value - 0.05) < 1e-12);
}
END_TEST

START_TEST(link_kinds)
{
    struct rs_fault f = parse_ok("pen-corrupt=1e-3");
    ck_assert(!f.is_model && f.kind == RS_LF_PEN_CORRUPT);
    ck_assert(f.has_value && fabs(f.value - 1e-3) < 1e-15);
    f = parse_ok("sensor-repeat-block@1");
    ck_assert(!f.is_model && f.kind == RS_LF_SENSOR_REPEAT_BLOCK && f.has_at);
}
END_TEST

START_TEST(unplug_value_is_replug_delay)
{
    struct rs_fault f = parse_ok("pen-unplug@1=0.5");
    ck_assert(!f.is_model && f.kind == RS_LF_PEN_UNPLUG);
    ck_assert(fabs(f.replug_after_s - 0.5) < 1e-12);
    f = parse_ok("sensor-unplug");
    ck_assert(f.replug_after_s < 0); /* stays unplugged */
}
END_TEST

START_TEST(errors)
{
    parse_bad("no-such-thing", "unknown fault");
    parse_bad("stall@", "bad time");
    parse_bad("stall@-1", "bad time");
    parse_bad("stall@1x", "bad time");
    parse_bad("stall=abc", "bad value");
    parse_bad("stall=nan", "bad value");
    parse_bad("", "unknown fault");
}
END_TEST

START_TEST(bench_prefix)
{
    struct rs_fault f = parse_ok("stall");
    ck_assert_int_eq(f.bench, 0);
    f = parse_ok("1:sensor-unplug@2=0.5");
    ck_assert_int_eq(f.bench, 1);
    ck_assert(!f.is_model && f.kind == RS_LF_SENSOR_UNPLUG && f.has_at);
    ck_assert(fabs(f.replug_after_s - 0.5) < 1e-12);
    f = parse_ok("7:stall");
    ck_assert_int_eq(f.bench, RS_MAX_BENCHES - 1);
    parse_bad("8:stall", "bad bench");
    parse_bad(":stall", "bad bench");
    parse_bad("0001:stall", "bad bench");
    parse_bad("1:", "unknown fault");
    parse_bad("x:stall", "unknown fault");
}
END_TEST

START_TEST(bench_member)
{
    struct rs_ctl_request r;
    char err[256] = "";
    ck_assert_int_eq(rs_control_parse("{\"query\":\"pen\"}", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.bench, 0);
    ck_assert_int_eq(rs_control_parse("{\"query\":\"pen\",\"bench\":3}", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.bench, 3);
    ck_assert_int_eq(
        rs_control_parse("{\"fault\":\"sensor-unplug\",\"bench\":1}", &r, err, sizeof err), 0);
    ck_assert(r.bench == 1 && r.kind == RS_CTL_FAULT);
    static const char *const bad[] = {
        "{\"query\":\"pen\",\"bench\":-1}",  "{\"query\":\"pen\",\"bench\":8}",
        "{\"query\":\"pen\",\"bench\":1.5}", "{\"query\":\"pen\",\"bench\":\"1\"}",
        "{\"clear\":true,\"bench\":null}",
    };
    requests_refused(bad, sizeof bad / sizeof bad[0], "bench");
}
END_TEST

START_TEST(swap_pen_request)
{
    struct rs_ctl_request r;
    char err[256];
    ck_assert_int_eq(rs_control_parse("{\"swap_pen\":{\"seed\":7,\"serial\":\"PA-0000007\"}}", &r,
                                      err, sizeof err),
                     0);
    ck_assert_int_eq(r.kind, RS_CTL_SWAP_PEN);
    ck_assert_uint_eq(r.swap_seed, 7);
    ck_assert_str_eq(r.swap_serial, "PA-0000007");
    ck_assert(fabs(r.swap_gap_s - 0.2) < 1e-12); /* default gap */
    ck_assert_int_eq(rs_control_parse("{\"swap_pen\":{\"seed\":1,\"serial\":\"X\",\"gap\":0}}", &r,
                                      err, sizeof err),
                     0);
    ck_assert(r.swap_gap_s == 0);
    static const char *const bad[] = {
        "{\"swap_pen\":{\"serial\":\"X\"}}", /* no seed */
        "{\"swap_pen\":{\"seed\":-1,\"serial\":\"X\"}}",
        "{\"swap_pen\":{\"seed\":1.5,\"serial\":\"X\"}}",
        "{\"swap_pen\":{\"seed\":1}}", /* no serial */
        "{\"swap_pen\":{\"seed\":1,\"serial\":\"\"}}",
        "{\"swap_pen\":{\"seed\":1,\"serial\":\"12345678901234567\"}}", /* 17 > 16 */
        "{\"swap_pen\":{\"seed\":1,\"serial\":\"a\\nb\"}}",
        "{\"swap_pen\":{\"seed\":1,\"serial\":\"X\",\"gap\":61}}",
        "{\"swap_pen\":{\"seed\":1,\"serial\":\"X\",\"gap\":\"1\"}}",
        "{\"swap_pen\":3}",
    };
    requests_refused(bad, sizeof bad / sizeof bad[0], "swap_pen");
}
END_TEST

START_TEST(remount_and_session_requests)
{
    struct rs_ctl_request r;
    char err[256];
    ck_assert_int_eq(rs_control_parse("{\"remount\":{}}", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.kind, RS_CTL_REMOUNT);
    ck_assert_int_eq(rs_control_parse("{\"session\":{\"seed\":12}}", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.kind, RS_CTL_SESSION);
    ck_assert_uint_eq(r.session_seed, 12);
    ck_assert_int_eq(rs_control_parse("{\"session\":{\"seed\":0}}", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.session_seed, 0);
    static const struct {
        const char *line, *msg;
    } bad[] = {
        { "{\"remount\":true}", "remount" },
        { "{\"remount\":{\"gap\":1}}", "remount" }, /* no options (yet) */
        { "{\"session\":{}}", "session" },
        { "{\"session\":7}", "session" },
        { "{\"session\":{\"seed\":-1}}", "session" },
        { "{\"session\":{\"seed\":2.5}}", "session" },
        { "{\"session\":{\"seed\":1e300}}", "session" },
        { "{\"session\":{\"seed\":1,\"operator\":\"x\"}}", "session" },
        { "{\"remounts\":{}}", "remount" }, /* the list of requests */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(rs_control_parse(bad[i].line, &r, err, sizeof err) == -1, "accepted %s",
                      bad[i].line);
        ck_assert_msg(strstr(err, bad[i].msg) != NULL, "%s: message '%s'", bad[i].line, err);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rigsim fault specs");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, model_kind);
    tcase_add_test(tc, time_and_value);
    tcase_add_test(tc, link_kinds);
    tcase_add_test(tc, unplug_value_is_replug_delay);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, bench_prefix);
    tcase_add_test(tc, bench_member);
    tcase_add_test(tc, swap_pen_request);
    tcase_add_test(tc, remount_and_session_requests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
