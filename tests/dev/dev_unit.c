/* Unit tests of rig/dev pieces that need no device: the sample ring and
 * the bench config parser. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sample_ring.h"
#include "station.h"

static void fill(int32_t *f, int32_t *d, size_t n, int32_t base)
{
    for (size_t i = 0; i < n; i++) {
        f[i] = base + (int32_t)i;
        d[i] = -(base + (int32_t)i);
    }
}

START_TEST(ring_contiguous_read)
{
    struct sample_ring r;
    ck_assert_int_eq(sample_ring_init(&r, 1000), 0);
    ck_assert_uint_eq(r.cap, 1024);
    int32_t f[100], d[100], of[100], od[100];
    sample_ring_restart(&r, 500, 50000);
    fill(f, d, 100, 500);
    sample_ring_push(&r, 500, f, d, 100);
    fill(f, d, 100, 600);
    sample_ring_push(&r, 600, f, d, 100);
    ck_assert_int_eq(sample_ring_read(&r, 550, 100, of, od), SRING_OK);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(of[i], 550 + i);
        ck_assert_int_eq(od[i], -(550 + i));
    }
    ck_assert_int_eq(sample_ring_read(&r, 650, 100, of, od), SRING_NOT_YET);
    ck_assert_int_eq(sample_ring_read(&r, 499, 10, of, od), SRING_GAP);
    ck_assert_uint_eq(r.gaps, 0);
    sample_ring_free(&r);
}
END_TEST

/* An index near the top of the 64-bit range must not wrap first + n
 * past the end check and read stale slots as if they were acquired. */
START_TEST(ring_read_index_overflow)
{
    struct sample_ring r;
    ck_assert_int_eq(sample_ring_init(&r, 1024), 0);
    int32_t f[100], d[100], of[8];
    sample_ring_restart(&r, 0, 50000);
    fill(f, d, 100, 0);
    sample_ring_push(&r, 0, f, d, 100);
    ck_assert_int_eq(sample_ring_read(&r, UINT64_MAX - 1, 4, of, NULL), SRING_NOT_YET);
    ck_assert_int_eq(sample_ring_read(&r, UINT64_MAX, 1, of, NULL), SRING_NOT_YET);
    ck_assert_int_eq(sample_ring_read(&r, 96, 4, of, NULL), SRING_OK);
    ck_assert_int_eq(of[3], 99);
    sample_ring_free(&r);
}
END_TEST

START_TEST(ring_gap_is_not_stitched)
{
    struct sample_ring r;
    ck_assert_int_eq(sample_ring_init(&r, 1024), 0);
    int32_t f[100], d[100], of[200];
    sample_ring_restart(&r, 0, 1000);
    fill(f, d, 100, 0);
    sample_ring_push(&r, 0, f, d, 100);
    fill(f, d, 100, 150);
    sample_ring_push(&r, 150, f, d, 100);   /* samples 100..149 lost */
    ck_assert_uint_eq(r.gaps, 1);
    ck_assert_int_eq(sample_ring_read(&r, 50, 150, of, NULL), SRING_GAP);
    ck_assert_int_eq(sample_ring_read(&r, 0, 100, of, NULL), SRING_GAP);
    ck_assert_int_eq(sample_ring_read(&r, 150, 100, of, NULL), SRING_OK);
    uint64_t lo, end;
    sample_ring_span(&r, &lo, &end, NULL);
    ck_assert_uint_eq(lo, 150);
    ck_assert_uint_eq(end, 250);
    sample_ring_free(&r);
}
END_TEST

START_TEST(ring_overwrite_detected)
{
    struct sample_ring r;
    ck_assert_int_eq(sample_ring_init(&r, 1024), 0);
    int32_t *f = calloc(3000, sizeof *f), *d = calloc(3000, sizeof *d), of[10];
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(d);
    fill(f, d, 3000, 0);
    sample_ring_restart(&r, 0, 1000);
    for (int i = 0; i < 3; i++)
        sample_ring_push(&r, (uint64_t)i * 1000, f + i * 1000, d + i * 1000, 1000);
    ck_assert_int_eq(sample_ring_read(&r, 100, 10, of, NULL), SRING_OVERWRITTEN);
    ck_assert_int_eq(sample_ring_read(&r, 2990, 10, of, NULL), SRING_OK);
    ck_assert_int_eq(of[9], 2999);
    /* One push larger than the ring keeps only the newest samples. */
    sample_ring_push(&r, 3000, f, d, 3000);
    ck_assert_int_eq(sample_ring_read(&r, 5990, 10, of, NULL), SRING_OK);
    ck_assert_int_eq(of[0], 2990);
    ck_assert_int_eq(sample_ring_read(&r, 4976, 1024, NULL, NULL), SRING_OK);
    ck_assert_int_eq(sample_ring_read(&r, 4975, 10, of, NULL), SRING_OVERWRITTEN);
    ck_assert_int_eq(sample_ring_read(&r, 0, 2000, of, NULL), SRING_ARG);
    free(f);
    free(d);
    sample_ring_free(&r);
}
END_TEST

static char err[512];

START_TEST(station_full)
{
    struct station_config c;
    const char *text = "{\"station\":\"eol-3\",\"results_dir\":\"/var/r\","
                       "\"pen\":{\"vid\":\"0x1234\",\"pid\":4660,\"serial\":\"PA1\"},"
                       "\"sensor\":{\"serial\":\"SH1\",\"rate_hz\":20000}}";
    ck_assert_msg(station_parse(text, "b.json", &c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.station, "eol-3");
    ck_assert_str_eq(c.results_dir, "/var/r");
    ck_assert_uint_eq(c.fixtures[0].pen.vid, 0x1234);
    ck_assert_uint_eq(c.fixtures[0].pen.pid, 4660);
    ck_assert_str_eq(c.fixtures[0].pen.serial, "PA1");
    ck_assert_uint_eq(c.fixtures[0].sensor.vid, 0x1209);   /* defaults to the sensor head ids */
    ck_assert_uint_eq(c.fixtures[0].sensor.pid, 0x5348);
    ck_assert_uint_eq(c.fixtures[0].sensor_rate_hz, 20000);
}
END_TEST

START_TEST(station_path_pen)
{
    struct station_config c;
    ck_assert(station_parse("{\"station\":\"s\",\"pen\":{\"path\":\"/dev/ttyACM3\"},\"sensor\":{}}",
                            "b", &c, err, sizeof err) == 0);
    ck_assert_str_eq(c.fixtures[0].pen.path, "/dev/ttyACM3");
    ck_assert_uint_eq(c.fixtures[0].sensor_rate_hz, 50000);
}
END_TEST

/* The single-fixture form is one fixture named "1" (or "fixture"). */
START_TEST(station_single_fixture_name)
{
    struct station_config c;
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert_uint_eq(c.nfixtures, 1);
    ck_assert_str_eq(c.fixtures[0].name, "1");
    ck_assert(station_parse("{\"fixture\":\"F-2\",\"pen\":{},\"sensor\":{}}", "b", &c, err,
                            sizeof err) == 0);
    ck_assert_str_eq(c.fixtures[0].name, "F-2");
    ck_assert_ptr_eq(station_fixture(&c, "F-2"), &c.fixtures[0]);
    ck_assert_ptr_null(station_fixture(&c, "1"));
}
END_TEST

START_TEST(station_fixtures)
{
    struct station_config c;
    const char *text = "{\"station\":\"EOL-3\",\"fixtures\":["
                       "{\"name\":\"A\",\"pen\":{\"serial\":\"PA-1\"},"
                       "\"sensor\":{\"serial\":\"SH-1\",\"rate_hz\":20000}},"
                       "{\"name\":\"B\",\"pen\":{\"path\":\"/dev/ttyACM1\"},"
                       "\"sensor\":{\"serial\":\"SH-2\"}}]}";
    ck_assert_msg(station_parse(text, "s.json", &c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.nfixtures, 2);
    ck_assert_str_eq(c.fixtures[0].name, "A");
    ck_assert_str_eq(c.fixtures[0].pen.serial, "PA-1");
    ck_assert_uint_eq(c.fixtures[0].pen.vid, 0x1209);
    ck_assert_uint_eq(c.fixtures[0].sensor_rate_hz, 20000);
    ck_assert_str_eq(c.fixtures[1].name, "B");
    ck_assert_str_eq(c.fixtures[1].pen.path, "/dev/ttyACM1");
    ck_assert_uint_eq(c.fixtures[1].sensor_rate_hz, 50000);
    ck_assert_ptr_eq(station_fixture(&c, "B"), &c.fixtures[1]);
    cJSON *j = station_to_json(&c);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "fixtures")), 2);
    cJSON_Delete(j);
}
END_TEST

static void expect_error(const char *text, const char *want)
{
    struct station_config c;
    ck_assert_int_eq(station_parse(text, "bench.json", &c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
    ck_assert_msg(strncmp(err, "bench.json: ", 12) == 0, "error '%s' names no file", err);
}

START_TEST(station_errors)
{
    expect_error("{", "not valid JSON");
    expect_error("[]", "$: must be an object");
    expect_error("{\"station\":\"s\",\"sensor\":{}}", "$.pen: missing");
    expect_error("{\"station\":\"s\",\"pen\":{}}", "$.sensor: missing");
    expect_error("{\"pen\":{\"vid\":\"0xZZ\"},\"sensor\":{}}", "$.pen.vid: must be a USB id");
    expect_error("{\"pen\":{\"vid\":70000},\"sensor\":{}}", "$.pen.vid");
    /* huge numbers must be refused, not converted (UB found by fuzzing) */
    expect_error("{\"pen\":{\"pid\":1.3e38},\"sensor\":{}}", "$.pen.pid: must be a USB id");
    expect_error("{\"pen\":{\"vid\":-1e300},\"sensor\":{}}", "$.pen.vid: must be a USB id");
    expect_error("{\"pen\":{\"serial\":5},\"sensor\":{}}", "$.pen.serial: must be a string");
    expect_error("{\"pen\":{},\"sensor\":{\"path\":\"/dev/x\"}}", "$.sensor.path: unknown key");
    expect_error("{\"pen\":{},\"sensor\":{\"rate_hz\":10}}", "$.sensor.rate_hz");
    expect_error("{\"pen\":{},\"sensor\":{},\"colour\":1}", "$.colour: unknown key");
    /* fixtures: names, one form only, devices only one fixture can match */
    expect_error("{\"fixtures\":[]}", "$.fixtures: must be an array of 1..8");
    expect_error("{\"fixtures\":{}}", "$.fixtures: must be an array");
    expect_error("{\"fixtures\":[{\"pen\":{},\"sensor\":{}}]}", "$.fixtures[0].name: missing");
    expect_error("{\"fixtures\":[{\"name\":\"a b\",\"pen\":{},\"sensor\":{}}]}",
                 "$.fixtures[0].name: must be 1..31 characters");
    expect_error("{\"fixture\":\"\",\"pen\":{},\"sensor\":{}}", "$.fixture: must be 1..31");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{},\"sensor\":{}}],\"pen\":{}}",
                 "$.pen: not with \"fixtures\"");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{},\"sensor\":{},\"x\":1}]}",
                 "$.fixtures[0].x: unknown key");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"sensor\":{}}]}", "$.fixtures[0].pen: missing");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{},\"sensor\":{\"rate_hz\":1}}]}",
                 "$.fixtures[0].sensor.rate_hz");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
                 "\"S1\"}},{\"name\":\"A\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[1].name: \"A\" is used twice");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{},\"sensor\":{\"serial\":\"S1\"}},"
                 "{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[0].pen: needs a serial or a path (several fixtures)");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{}},"
                 "{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[0].sensor: needs a serial (several fixtures)");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
                 "\"S1\"}},{\"name\":\"B\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[1].pen: same device as fixture A");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
                 "\"S1\"}},{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S1\"}}]}",
                 "$.fixtures[1].sensor: same device as fixture A");
    expect_error("{\"station\":\"\",\"pen\":{},\"sensor\":{}}", "$.station: must not be empty");
}
END_TEST

START_TEST(station_load_missing_file)
{
    struct station_config c;
    ck_assert_int_eq(station_load("/nonexistent/bench.json", &c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent/bench.json: cannot open") != NULL, "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dev");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, ring_contiguous_read);
    tcase_add_test(tc, ring_read_index_overflow);
    tcase_add_test(tc, ring_gap_is_not_stitched);
    tcase_add_test(tc, ring_overwrite_detected);
    suite_add_tcase(s, tc);
    tc = tcase_create("station");
    tcase_add_test(tc, station_full);
    tcase_add_test(tc, station_path_pen);
    tcase_add_test(tc, station_single_fixture_name);
    tcase_add_test(tc, station_fixtures);
    tcase_add_test(tc, station_errors);
    tcase_add_test(tc, station_load_missing_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
