/* Unit tests of the simulator physics model: the bench JSON (errors that
 * name their path, good values, the calibration it may state, the bench
 * files shipped) and the fault names, run by test_model.c. */
#include "test_model.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "checks.h"

static int parse(const char *json, struct sim_params *p, char *err, size_t len)
{
    cJSON *root = cJSON_Parse(json);
    ck_assert_ptr_nonnull(root);
    sim_params_default(p);
    int rc = sim_params_from_json(p, root, err, len);
    cJSON_Delete(root);
    return rc;
}

START_TEST(test_params_errors_name_path)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        { "{\"pen\":{\"colour\":1}}", "$.pen.colour: unknown key" },
        { "{\"pen\":{\"stroke_mm\":\"3\"}}", "$.pen.stroke_mm: expected a number" },
        { "{\"pen\":{\"stroke_mm\":-1}}", "$.pen.stroke_mm: -1 is out of range" },
        { "{\"pen\":{\"hw_revision\":1.5}}", "$.pen.hw_revision: expected an integer" },
        { "{\"pen\":{\"firmware\":\"1.2\"}}", "$.pen.firmware: expected \"major.minor.patch\"" },
        { "{\"cartridge\":{\"needle_count\":65}}", "$.cartridge.needle_count: 65 is out of range" },
        { "{\"cartridge\":{\"id\":\"ABCDEFGHIJKLMNOPQ\"}}", "$.cartridge.id: longer than 16" },
        { "{\"phantom\":[]}", "$.phantom: expected an object" },
        { "{\"sensor_head\":{\"calibration\":{\"force_gain_ppm\":0}}}",
          "$.sensor_head.calibration.force_gain_ppm: 0 is out of range" },
        { "{\"sensor_head\":{\"calibration\":{\"due\":1}}}",
          "$.sensor_head.calibration.due: unknown key" },
        { "{\"sensor_head\":{\"rate_hz\":200000}}",
          "$.sensor_head.rate_hz: 200000 is out of range" },
        { "{\"sensor\":{}}", "$.sensor: unknown key" },
        { "[]", "$: expected an object" },
        { "{\"pen\":{\"depth_min_um\":2000,\"depth_max_um\":1000}}",
          "$.pen.depth_min_um: 2000 is above depth_max_um" },
        { "{\"cartridge\":{\"needle_count\":0}}", "$.cartridge: id must be" },
        { "{\"pen\":{\"serial\":\"\"}}", "$.pen.serial: must not be empty" },
        { "{\"pen\":{\"depth_step_um\":300}}", "$.pen.depth_step_um: depth_max_um - depth_min_um" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sim_params p;
        char err[256];
        ck_assert_msg(parse(cases[i].json, &p, err, sizeof err) == -1, "accepted %s",
                      cases[i].json);
        ck_assert_msg(strncmp(err, cases[i].msg, strlen(cases[i].msg)) == 0,
                      "%s: got '%s', want '%s...'", cases[i].json, err, cases[i].msg);
    }
    /* a bad document leaves the params untouched */
    struct sim_params p, d;
    char err[256];
    sim_params_default(&d);
    ck_assert_int_eq(parse("{\"pen\":{\"jitter_pct\":2,\"bogus\":1}}", &p, err, sizeof err), -1);
    ck_assert_double_eq(p.jitter_pct, d.jitter_pct);
}
END_TEST

START_TEST(test_params_good_values)
{
    struct sim_params p;
    char err[256] = "";
    ck_assert_int_eq(parse("{\"description\":\"x\",\"pen\":{\"depth_bias_mm\":null,"
                           "\"firmware\":\"2.10.255\",\"jitter_pct\":1.25},"
                           "\"cartridge\":{\"id\":\"\",\"needle_count\":0},"
                           "\"sensor_head\":{\"rate_hz\":20000,\"calibration\":"
                           "{\"certificate\":\"C-9\",\"disp_offset_nm\":-12}}}",
                           &p, err, sizeof err),
                     0);
    ck_assert_str_eq(err, "");
    ck_assert(isnan(p.depth_bias_mm));
    ck_assert_uint_eq(p.pen_fw[1], 10);
    ck_assert_uint_eq(p.pen_fw[2], 255);
    ck_assert_double_eq(p.jitter_pct, 1.25);
    ck_assert_uint_eq(p.needle_count, 0);
    ck_assert_uint_eq(p.sh_rate_hz, 20000);
    ck_assert_str_eq(p.sh_cal.certificate, "C-9");
    ck_assert_int_eq(p.sh_cal.disp_offset_nm, -12);
    /* a pen built without a cartridge reports it from the start */
    struct sim_model *m = tm_model(&p, 1);
    ck_assert(tm_status(m).faults & PEN_FAULT_NO_CARTRIDGE);
    sim_model_free(m);
}
END_TEST

/* Review fix: the bench reader used to accept any gain >= 1 ppm, any int32
 * offset and non-dates like 20260231, so the emulated sensor head then
 * could not encode its own calibration for GET_CAL. Whatever the reader
 * accepts must be a record the wire codec can send. */
START_TEST(test_params_calibration_must_be_reportable)
{
    static const char *const bad[] = {
        "{\"sensor_head\":{\"calibration\":{\"force_gain_ppm\":1000}}}",
        "{\"sensor_head\":{\"calibration\":{\"disp_gain_ppm\":2000001}}}",
        "{\"sensor_head\":{\"calibration\":{\"force_offset_un\":10000001}}}",
        "{\"sensor_head\":{\"calibration\":{\"disp_offset_nm\":-2147483648}}}",
        "{\"sensor_head\":{\"calibration\":{\"cal_date\":20260231}}}",
        "{\"sensor_head\":{\"calibration\":{\"due_date\":20271399}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sim_params p;
        char err[256];
        ck_assert_msg(parse(bad[i], &p, err, sizeof err) == -1, "accepted %s", bad[i]);
        ck_assert_msg(strncmp(err, "$.sensor_head.calibration: not a record", 39) == 0,
                      "%s: got '%s'", bad[i], err);
    }
    /* the edges of the wire ranges still load, and the device reports them */
    struct sim_params p;
    char err[256] = "";
    ck_assert_msg(parse("{\"sensor_head\":{\"calibration\":{\"force_gain_ppm\":500000,"
                        "\"disp_gain_ppm\":2000000,\"force_offset_un\":-10000000,"
                        "\"disp_offset_nm\":10000000,\"cal_date\":20280229,"
                        "\"due_date\":20290228}}}",
                        &p, err, sizeof err) == 0,
                  "%s", err);
    struct sim_model *m = tm_model(&p, 1);
    struct sh_calibration cal;
    sim_sh_calibration(m, &cal);
    uint8_t wire[SH_CALIBRATION_SIZE];
    ck_assert_int_eq(sh_calibration_encode(&cal, wire, sizeof wire), SH_CALIBRATION_SIZE);
    sim_model_free(m);
}
END_TEST

static cJSON *load_file(const char *name)
{
    const char *dir = getenv("BENCH_DIR");
    ck_assert_ptr_nonnull(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    ck_assert_msg(root != NULL, "%s: not JSON", path);
    return root;
}

START_TEST(test_bench_files_load)
{
    struct sim_params d, a, b;
    char err[256];
    sim_params_default(&d);
    a = d;
    cJSON *root = load_file("default.json");
    ck_assert_msg(sim_params_from_json(&a, root, err, sizeof err) == 0, "default.json: %s", err);
    cJSON_Delete(root);
    /* default.json spells out the built-in defaults */
    ck_assert_str_eq(a.pen_model, d.pen_model);
    ck_assert_uint_eq(a.needle_count, d.needle_count);
    ck_assert_double_eq(a.puncture_n_per_needle, d.puncture_n_per_needle);
    ck_assert_uint_eq(a.sh_rate_hz, d.sh_rate_hz);
    ck_assert_int_eq(memcmp(&a.sh_cal, &d.sh_cal, sizeof a.sh_cal), 0);
    b = d;
    root = load_file("profile-b.json");
    ck_assert_msg(sim_params_from_json(&b, root, err, sizeof err) == 0, "profile-b.json: %s", err);
    cJSON_Delete(root);
    ck_assert_uint_eq(b.needle_count, 16);
    ck_assert_uint_eq(b.depth_step_um, 100);
    ck_assert_uint_eq(b.depth_min_um, 200);
    ck_assert_uint_eq(b.depth_max_um, 3000);
    struct sim_model *m = tm_model(&b, 1);
    ck_assert_int_eq(sim_pen_set_depth(m, 1100), 0);
    ck_assert_int_eq(sim_pen_set_depth(m, 100), PEN_ERR_OUT_OF_RANGE);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_names)
{
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        ck_assert_int_eq(sim_fault_from_name(sim_fault_name((enum sim_fault_kind)k)), k);
    ck_assert_int_eq(sim_fault_from_name("stall"), SIM_FAULT_STALL);
    ck_assert_int_eq(sim_fault_from_name("sensor-overrun"), SIM_FAULT_SENSOR_OVERRUN);
    ck_assert_int_eq(sim_fault_from_name("nope"), -1);
    ck_assert_int_eq(sim_fault_from_name(NULL), -1);
}
END_TEST

TCase *params_tcase(void)
{
    TCase *j = tcase_create("params");
    tcase_add_test(j, test_params_errors_name_path);
    tcase_add_test(j, test_params_good_values);
    tcase_add_test(j, test_params_calibration_must_be_reportable);
    tcase_add_test(j, test_bench_files_load);
    tcase_add_test(j, test_fault_names);
    return j;
}
