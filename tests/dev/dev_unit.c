/* Unit tests of rig/dev pieces that need no device: the driver registry
 * and the station config parser (with its "driver" member). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev/driver.h"
#include "dev/station.h"

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
    ck_assert_uint_eq(c.fixtures[0].sensor.vid, 0x1209); /* defaults to the sensor head ids */
    ck_assert_uint_eq(c.fixtures[0].sensor.pid, 0x5348);
    ck_assert_uint_eq(c.fixtures[0].sensor_rate_hz, 20000);
}
END_TEST

/* "database" (a path, false: none; default "" = rigd's station.db) and
 * "max_attempts" (0 = unlimited .. 1000). */
START_TEST(station_database)
{
    struct station_config c;
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert_str_eq(c.database, "");
    ck_assert(!c.no_database);
    ck_assert_uint_eq(c.max_attempts, 0);
    ck_assert_msg(station_parse("{\"database\":\"/var/lib/rig/st.db\",\"max_attempts\":3,"
                                "\"pen\":{},\"sensor\":{}}",
                                "b", &c, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(c.database, "/var/lib/rig/st.db");
    ck_assert_uint_eq(c.max_attempts, 3);
    ck_assert(station_parse("{\"database\":false,\"pen\":{},\"sensor\":{}}", "b", &c, err,
                            sizeof err) == 0);
    ck_assert(c.no_database);
    static const char *const bad[] = {
        "{\"database\":\"\",\"pen\":{},\"sensor\":{}}",
        "{\"database\":true,\"pen\":{},\"sensor\":{}}",
        "{\"max_attempts\":-1,\"pen\":{},\"sensor\":{}}",
        "{\"max_attempts\":2.5,\"pen\":{},\"sensor\":{}}",
        "{\"max_attempts\":\"3\",\"pen\":{},\"sensor\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(station_parse(bad[i], "b", &c, err, sizeof err) < 0, "%s", bad[i]);
        ck_assert_msg(strstr(err, "$.database") || strstr(err, "$.max_attempts"), "%s", err);
    }
}
END_TEST

/* "line": {"conninfo"}: the line store rigd pushes to; none by default;
 * it needs the station database (its outbox). */
START_TEST(station_line)
{
    struct station_config c;
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert_str_eq(c.line_conninfo, "");
    ck_assert_msg(station_parse("{\"line\":{\"conninfo\":\"dbname=rigline\"},"
                                "\"pen\":{},\"sensor\":{}}",
                                "b", &c, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(c.line_conninfo, "dbname=rigline");
    ck_assert(c.retention_pass_days < 0); /* not given */
    ck_assert_msg(station_parse("{\"retention\":{\"pass_days\":14},\"pen\":{},\"sensor\":{}}", "b",
                                &c, err, sizeof err) == 0,
                  "%s", err);
    ck_assert(c.retention_pass_days == 14);
    ck_assert(station_parse("{\"retention\":{\"pass_days\":-1},\"pen\":{},\"sensor\":{}}", "b", &c,
                            err, sizeof err) < 0);
    ck_assert(station_parse("{\"retention\":{\"days\":1},\"pen\":{},\"sensor\":{}}", "b", &c, err,
                            sizeof err) < 0);
    /* "report": {"auto": bool}: rigd's automatic run report, off by default */
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert(!c.report_auto);
    ck_assert_msg(station_parse("{\"report\":{\"auto\":true},\"pen\":{},\"sensor\":{}}", "b", &c,
                                err, sizeof err) == 0,
                  "%s", err);
    ck_assert(c.report_auto);
    ck_assert(station_parse("{\"report\":{\"auto\":1},\"pen\":{},\"sensor\":{}}", "b", &c, err,
                            sizeof err) < 0 &&
              strstr(err, "$.report.auto"));
    ck_assert(station_parse("{\"report\":{\"when\":1},\"pen\":{},\"sensor\":{}}", "b", &c, err,
                            sizeof err) < 0);
    ck_assert(
        station_parse("{\"report\":true,\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) < 0);
    static const char *const bad[] = {
        "{\"line\":\"dbname=x\",\"pen\":{},\"sensor\":{}}",
        "{\"line\":{},\"pen\":{},\"sensor\":{}}",
        "{\"line\":{\"conninfo\":\"\"},\"pen\":{},\"sensor\":{}}",
        "{\"line\":{\"conninfo\":\"x\",\"other\":1},\"pen\":{},\"sensor\":{}}",
        "{\"line\":{\"conninfo\":\"x\"},\"database\":false,\"pen\":{},\"sensor\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(station_parse(bad[i], "b", &c, err, sizeof err) < 0, "%s", bad[i]);
        ck_assert_msg(strstr(err, "$.line"), "%s", err);
    }
}
END_TEST

/* Capture compression: on unless the station says false; a non-bool is
 * an error; status shows it only when off. */
START_TEST(station_compress_captures)
{
    struct station_config c;
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert(!c.raw_captures);
    cJSON *j = station_to_json(&c);
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "compress_captures"));
    cJSON_Delete(j);
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{},\"compress_captures\":false}", "b", &c, err,
                            sizeof err) == 0);
    ck_assert(c.raw_captures);
    j = station_to_json(&c);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "compress_captures")));
    cJSON_Delete(j);
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{},\"compress_captures\":true}", "b", &c, err,
                            sizeof err) == 0);
    ck_assert(!c.raw_captures);
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{},\"compress_captures\":1}", "b", &c, err,
                            sizeof err) < 0);
    ck_assert_ptr_nonnull(strstr(err, "$.compress_captures"));
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
    expect_error(
        "{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
        "\"S1\"}},{\"name\":\"A\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
        "$.fixtures[1].name: \"A\" is used twice");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{},\"sensor\":{\"serial\":\"S1\"}},"
                 "{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[0].pen: needs a serial or a path (several fixtures)");
    expect_error("{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{}},"
                 "{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S2\"}}]}",
                 "$.fixtures[0].sensor: needs a serial (several fixtures)");
    expect_error(
        "{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
        "\"S1\"}},{\"name\":\"B\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":\"S2\"}}]}",
        "$.fixtures[1].pen: same device as fixture A");
    expect_error(
        "{\"fixtures\":[{\"name\":\"A\",\"pen\":{\"serial\":\"P1\"},\"sensor\":{\"serial\":"
        "\"S1\"}},{\"name\":\"B\",\"pen\":{\"serial\":\"P2\"},\"sensor\":{\"serial\":\"S1\"}}]}",
        "$.fixtures[1].sensor: same device as fixture A");
    expect_error("{\"station\":\"\",\"pen\":{},\"sensor\":{}}", "$.station: must not be empty");
    /* drivers: known, and of the device's role */
    expect_error("{\"pen\":{\"driver\":\"xyz\"},\"sensor\":{}}",
                 "$.pen.driver: unknown driver \"xyz\" (known: mnp-pen, sh2)");
    expect_error("{\"pen\":{},\"sensor\":{\"driver\":\"mnp-pen\"}}",
                 "$.sensor.driver: \"mnp-pen\" is not a sensor driver (sensor drivers: sh2)");
    expect_error("{\"pen\":{\"driver\":7},\"sensor\":{}}", "$.pen.driver: must be a string");
}
END_TEST

START_TEST(registry_lookup)
{
    const struct rig_driver *pen = rig_driver_find("mnp-pen"), *sh = rig_driver_find("sh2");
    ck_assert_ptr_nonnull(pen);
    ck_assert_ptr_nonnull(sh);
    ck_assert_ptr_null(rig_driver_find("nope"));
    ck_assert_int_eq(pen->role, RIG_ROLE_PEN);
    ck_assert_int_eq(sh->role, RIG_ROLE_SENSOR);
    ck_assert_ptr_eq(rig_driver_default(RIG_ROLE_PEN), pen);
    ck_assert_ptr_eq(rig_driver_default(RIG_ROLE_SENSOR), sh);
    char names[128];
    ck_assert_str_eq(rig_driver_names(-1, names, sizeof names), "mnp-pen, sh2");
    ck_assert_str_eq(rig_driver_names(RIG_ROLE_SENSOR, names, sizeof names), "sh2");
    /* Every driver fills the whole table. */
    for (const struct rig_driver *const *d = rig_drivers; *d; d++) {
        const struct rig_driver *v = *d;
        ck_assert_msg(v->name && v->longname && v->scan && v->open && v->attach && v->close &&
                          v->dev && v->present && v->start && v->stop && v->running &&
                          v->configure && v->describe,
                      "driver %s leaves a method out", v->name);
        ck_assert_ptr_eq(rig_driver_find(v->name), v);
    }
}
END_TEST

/* Open (nothing attached), configure, describe and close through the
 * table: no device needed. */
START_TEST(registry_open_close)
{
    struct station_config c;
    ck_assert_msg(station_parse("{\"pen\":{\"path\":\"/nonexistent/tty\"},\"sensor\":{}}", "b", &c,
                                err, sizeof err) == 0,
                  "%s", err);
    struct rig_device *pen = rig_device_open(&c.fixtures[0].pen, NULL, NULL, err, sizeof err);
    ck_assert_msg(pen != NULL, "%s", err);
    ck_assert(!pen->driver->present(pen));
    ck_assert_int_eq(pen->driver->attach(pen, err, sizeof err), -ENODEV);
    ck_assert_int_eq(pen->driver->start(pen, NULL, NULL), -ENODEV);
    ck_assert_int_eq(pen->driver->configure(pen, "colour", 1, NULL, NULL), -EINVAL);
    cJSON *j = rig_device_describe(pen);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "driver")->valuestring, "mnp-pen");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "kind")->valuestring, "pen");
    cJSON_Delete(j);
    cJSON *scan = pen->driver->scan(&c.fixtures[0].pen, err, sizeof err);
    ck_assert_msg(scan != NULL, "%s", err);
    ck_assert_int_eq(cJSON_GetArraySize(scan), 0);
    cJSON_Delete(scan);
    rig_device_close(pen);

    struct rig_device *sh = rig_device_open(&c.fixtures[0].sensor, NULL, NULL, err, sizeof err);
    ck_assert_msg(sh != NULL, "%s", err);
    ck_assert_int_eq(sh->driver->configure(sh, "rate_hz", 20000, NULL, NULL), 1);
    ck_assert_int_eq(sh->driver->configure(sh, "rate_hz", 10, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sh->driver->configure(sh, "depth_mm", 1, NULL, NULL), -EINVAL);
    j = rig_device_describe(sh);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "driver")->valuestring, "sh2");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "rate_hz")->valueint, 20000);
    cJSON_Delete(j);
    rig_device_close(sh);

    struct station_match bad = { .driver = "nope" };
    ck_assert_ptr_null(rig_device_open(&bad, NULL, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "unknown driver \"nope\" (known: mnp-pen, sh2)"), "%s", err);
}
END_TEST

START_TEST(station_drivers)
{
    struct station_config c;
    /* Default: the registry's default for the role. */
    ck_assert(station_parse("{\"pen\":{},\"sensor\":{}}", "b", &c, err, sizeof err) == 0);
    ck_assert_str_eq(c.fixtures[0].pen.driver, "mnp-pen");
    ck_assert_str_eq(c.fixtures[0].sensor.driver, "sh2");
    ck_assert(station_parse("{\"pen\":{\"driver\":\"mnp-pen\"},\"sensor\":{\"driver\":\"sh2\","
                            "\"rate_hz\":20000}}",
                            "b", &c, err, sizeof err) == 0);
    ck_assert_str_eq(c.fixtures[0].sensor.driver, "sh2");
    ck_assert_uint_eq(c.fixtures[0].sensor.vid, 0x1209); /* the driver's ids */
    ck_assert_uint_eq(c.fixtures[0].sensor.pid, 0x5348);
    cJSON *j = station_to_json(&c);
    const cJSON *fx = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "fixtures"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "pen"), "driver")->valuestring,
                     "mnp-pen");
    cJSON_Delete(j);
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
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, registry_lookup);
    tcase_add_test(tc, registry_open_close);
    suite_add_tcase(s, tc);
    tc = tcase_create("station");
    tcase_add_test(tc, station_full);
    tcase_add_test(tc, station_compress_captures);
    tcase_add_test(tc, station_path_pen);
    tcase_add_test(tc, station_database);
    tcase_add_test(tc, station_line);
    tcase_add_test(tc, station_single_fixture_name);
    tcase_add_test(tc, station_fixtures);
    tcase_add_test(tc, station_errors);
    tcase_add_test(tc, station_drivers);
    tcase_add_test(tc, station_load_missing_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
