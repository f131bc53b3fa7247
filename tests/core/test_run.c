/* The executor against a synthetic bench: outcomes, policies, abort,
 * retry, calibration, records (atomic, re-readable, incomplete mid-run)
 * and JUnit. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/analysis.h"
#include "bench_ops.h"
#include "core/digest.h"
#include "core/junit.h"
#include "core/record.h"
#include "core/run.h"
#include "core/sequence.h"

#include "runtest.h"
#include "version/version.h"

START_TEST(eol_pass_with_record_and_attachments)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.watch_record = record_path;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run(&b, s, record_path);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "outcome %s: %s", outcome_str(r.outcome), r.message);
    ck_assert_uint_eq(r.failed + r.errors, 0);
    ck_assert_uint_eq(r.measurements, 3 + 6 + 3 + 5 + 1);
    ck_assert_uint_eq(r.measurements, r.passed);
    ck_assert_uint_eq(b.measurement_events, r.measurements);
    ck_assert(!b.motor);
    ck_assert(b.saw_incomplete); /* the record existed, incomplete, mid-run */
    ck_assert(b.pen_time_s < 15);

    cJSON *rec = read_record();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "complete")));
    ck_assert_str_eq(jstr(rec, "outcome"), "PASS");
    ck_assert_str_eq(jstr(rec, "format"), "rig-record/1");
    ck_assert_str_eq(jstr(rec, "id"), r.record_id);
    ck_assert_uint_eq(strlen(r.record_id), 36);
    ck_assert_int_eq(r.record_id[14], '4');
    ck_assert_str_eq(jstr(rec, "operator"), "Q <&> A");
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(rec, "software");
    ck_assert_str_eq(jstr(sw, "version"), "0.1.0");
    /* the commit the binaries were built from, and whether the tree was clean */
    ck_assert_str_eq(jstr(sw, "vcs"), rig_vcs_commit());
    ck_assert(strlen(rig_vcs()) >= 7);
    ck_assert(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(sw, "dirty")));
    ck_assert_str_eq(jstr(rec, "started_utc"), "2026-11-25T12:00:00.000Z");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "sequence");
    char sha[DIGEST_HEX_LEN + 1];
    ck_assert_int_eq(digest_sha256_file(FIXTURES_DIR "/sequences/eol.json", sha), 0);
    ck_assert_str_eq(jstr(seq, "sha256"), sha);
    const cJSON *dut = cJSON_GetObjectItemCaseSensitive(rec, "dut");
    ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(dut, "reported"), "firmware"), "1.4.0");
    const cJSON *ins = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "instruments"), 0);
    ck_assert_str_eq(jstr(ins, "cal_due"), "2027-06-01");

    /* depth measured at 1.0 mm setting, with limits resolved from $depth_mm */
    const cJSON *d = find_measurement(rec, "depth");
    ck_assert_ptr_nonnull(d);
    ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(d, "value")->valuedouble - 1.0) < 0.01);
    ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(d, "low")->valuedouble - 0.85) < 1e-9);
    ck_assert_str_eq(jstr(d, "units"), "mm");
    ck_assert_str_eq(jstr(d, "comparison"), "GELE");
    const cJSON *sp = find_measurement(rec, "spin_up");
    double spin = cJSON_GetObjectItemCaseSensitive(sp, "value")->valuedouble;
    ck_assert_msg(spin > 15 && spin < 60, "spin-up %.1f ms", spin);

    /* every capture attachment exists with the recorded SHA-256 */
    unsigned attachments = 0;
    const cJSON *st;
    cJSON_ArrayForEach (st, cJSON_GetObjectItemCaseSensitive(rec, "steps")) {
        const cJSON *cap = cJSON_GetObjectItemCaseSensitive(st, "capture");
        if (!cap)
            continue;
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/%s", tmpdir, jstr(cap, "file"));
        ck_assert_int_eq(digest_sha256_file(path, sha), 0);
        ck_assert_str_eq(jstr(cap, "sha256"), sha);
        struct rig_capture c;
        ck_assert_int_eq(capture_read(path, &c, err, sizeof err), 0);
        ck_assert_uint_eq(c.n,
                          (size_t)cJSON_GetObjectItemCaseSensitive(cap, "samples")->valuedouble);
        ck_assert(c.rate_hz == 50000);
        capture_free(&c);
        attachments++;
    }
    ck_assert_uint_eq(attachments, 4);
    /* no temp files left behind */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", tmpdir);
    ck_assert_int_ne(system(cmd), 0);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(depth_bias_fails_and_stops)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.s.p.depth_bias_mm = 0.25; /* pen protrudes 0.25 mm too far */
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run(&b, s, record_path);
    ck_assert_int_eq(r.outcome, OUTCOME_FAIL);
    ck_assert_msg(strstr(r.message, "depth FAIL") != NULL, "%s", r.message);
    cJSON *rec = read_record();
    /* stop-on-first-fail: identify, configure, start-up capture run; the 7
     * other main steps are listed SKIPPED; then the teardown stop runs */
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(rec, "steps");
    ck_assert_int_eq(cJSON_GetArraySize(steps), 11);
    for (int i = 0; i < 11; i++) {
        const cJSON *st = cJSON_GetArrayItem(steps, i);
        bool skipped = i >= 3 && i < 10;
        ck_assert_str_eq(jstr(st, "outcome"), skipped ? "SKIPPED" : i == 2 ? "FAIL" : "PASS");
        if (skipped)
            ck_assert_str_eq(jstr(st, "message"),
                             "not run: an earlier step did not pass (stop-on-first-fail)");
    }
    /* a skipped measurement still shows the limit its setpoints give */
    const cJSON *deep = cJSON_GetArrayItem(steps, 8);
    ck_assert_str_eq(jstr(deep, "kind"), "capture");
    ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(deep, "setpoints"), "rate_hz")
                            ->valuedouble,
                        150);
    const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(deep, "measurements"), 0);
    ck_assert_str_eq(jstr(m0, "outcome"), "SKIPPED");
    ck_assert_str_eq(jstr(m0, "limit"), "GELE [142.5, 157.5]"); /* 150 Hz +/- 5 % */
    const cJSON *last = cJSON_GetArrayItem(steps, 10);
    ck_assert_str_eq(jstr(last, "section"), "teardown");
    ck_assert_str_eq(jstr(last, "kind"), "stop");
    ck_assert_uint_eq(r.measurements, 3 + 6); /* skipped ones are not counted */
    ck_assert_str_eq(jstr(find_measurement(rec, "depth"), "outcome"), "FAIL");
    ck_assert_str_eq(jstr(find_measurement(rec, "stroke_rate"), "outcome"), "PASS");
    ck_assert(!b.motor);
    ck_assert_uint_ge(b.stops, 1);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

static const char continue_seq[] =
    "{\"format\":\"rig-sequence/1\",\"name\":\"c\",\"spec\":\"x\",\"policy\":\"%s\","
    "\"main\":[{\"step\":\"configure\",\"rate_hz\":100,\"depth_mm\":1},{\"step\":\"start\"},"
    "{\"step\":\"sweep\",\"depths_mm\":[0.5,1.0,1.5],\"steps\":["
    "{\"step\":\"configure\",\"depth_mm\":\"$depth_mm\"},{\"step\":\"settle\",\"seconds\":0.05},"
    "{\"step\":\"capture\",\"strokes\":20,\"evaluate\":[\"depth\",\"stroke_rate\"]}]}],"
    "\"teardown\":[{\"step\":\"stop\"}]}";

START_TEST(continue_versus_stop_on_fail)
{
    char json[1024];
    for (int pol = 0; pol < 2; pol++) {
        snprintf(json, sizeof json, continue_seq, pol ? "continue" : "stop-on-first-fail");
        struct rig_sequence *s = inline_seq(json);
        struct bench b;
        bench_init(&b);
        b.s.p.depth_bias_mm = -0.2;
        struct run_result r = run(&b, s, NULL);
        ck_assert_int_eq(r.outcome, OUTCOME_FAIL);
        /* configure, start, 3 x (configure, settle, capture), stop */
        ck_assert_uint_eq(r.steps, pol ? 2 + 9 + 1 : 2 + 3 + 1);
        ck_assert_uint_eq(r.failed, pol ? 3 : 1);
        ck_assert(!b.motor);
        sequence_free(s);
        bench_free(&b);
    }
}
END_TEST

START_TEST(sample_loss_is_error_not_fail)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.capture_flags = AN_F_SAMPLE_LOSS;
    b.s.p.depth_bias_mm = 0.3; /* would FAIL if it could be judged */
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run(&b, s, record_path);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_uint_eq(r.failed, 0);
    ck_assert_uint_eq(r.errors, 5); /* motor current comes from the pen: PASS */
    cJSON *rec = read_record();
    const cJSON *d = find_measurement(rec, "depth");
    ck_assert_str_eq(jstr(d, "outcome"), "ERROR");
    ck_assert_str_eq(jstr(d, "note"), "samples lost in transport");
    ck_assert(!b.motor);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(ops_error_is_error_and_stops_motor)
{
    struct bench b;
    bench_init(&b);
    b.fail_capture_begin = -ENODEV;
    struct rig_sequence *s = inline_seq(
        "{\"format\":\"rig-sequence/1\",\"name\":\"e\",\"spec\":\"x\",\"policy\":\"continue\","
        "\"main\":[{\"step\":\"configure\",\"rate_hz\":100,\"depth_mm\":1},{\"step\":\"start\"},"
        "{\"step\":\"capture\",\"seconds\":0.2,\"evaluate\":[\"depth\"]}]}");
    struct run_result r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(r.message,
                     "$.main[2] (capture): capture begin failed: sensor head not responding");
    ck_assert(!b.motor); /* no teardown in the file: the final stop did it */
    ck_assert_uint_eq(b.stops, 1);
    sequence_free(s);
    bench_free(&b);
}
END_TEST

START_TEST(abort_runs_teardown)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.abort_at_sleep = 3;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run(&b, s, record_path);
    ck_assert_int_eq(r.outcome, OUTCOME_ABORTED);
    ck_assert_str_eq(r.message, "aborted by the operator");
    cJSON *rec = read_record();
    ck_assert_str_eq(jstr(rec, "outcome"), "ABORTED");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "complete")));
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(rec, "steps");
    const cJSON *last = cJSON_GetArrayItem(steps, cJSON_GetArraySize(steps) - 1);
    ck_assert_str_eq(jstr(last, "section"), "teardown");
    ck_assert_str_eq(jstr(last, "outcome"), "PASS"); /* the stop itself worked */
    ck_assert(!b.motor);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(retry_recovers_and_is_counted)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.capture_flags = AN_F_OVERRUN;
    b.flags_on_capture = 1; /* only the first capture is hit */
    struct rig_sequence *s = inline_seq(
        "{\"format\":\"rig-sequence/1\",\"name\":\"r\",\"spec\":\"x\",\"policy\":\"stop-on-first-fail\","
        "\"main\":[{\"step\":\"configure\",\"rate_hz\":120,\"depth_mm\":1.5},{\"step\":\"start\"},"
        "{\"step\":\"settle\",\"seconds\":0.1},"
        "{\"step\":\"retry\",\"attempts\":3,\"steps\":[{\"step\":\"capture\",\"seconds\":0.3,"
        "\"evaluate\":[\"depth\",\"stroke_rate\"]}]}],\"teardown\":[{\"step\":\"stop\"}]}");
    struct run_result r = run(&b, s, record_path);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s: %s", outcome_str(r.outcome), r.message);
    ck_assert_uint_eq(r.retries, 1);
    ck_assert_uint_eq(r.measurements, 2); /* the superseded attempt is not counted */
    cJSON *rec = read_record();
    ck_assert_int_eq((int)cJSON_GetObjectItemCaseSensitive(rec, "retries")->valuedouble, 1);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(rec, "steps");
    const cJSON *first = cJSON_GetArrayItem(steps, 3), *second = cJSON_GetArrayItem(steps, 4);
    ck_assert_str_eq(jstr(first, "outcome"), "ERROR");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "superseded")));
    ck_assert_int_eq((int)cJSON_GetObjectItemCaseSensitive(second, "attempt")->valuedouble, 2);
    ck_assert_str_eq(jstr(second, "outcome"), "PASS");
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(overdue_calibration_refuses_to_run)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.ins.cal_due = 20261124; /* yesterday */
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run(&b, s, record_path);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(r.message, "sensor-head SH-2 (serial SH2-0007): calibration was due "
                                "2026-11-24 (today is 2026-11-25); recalibrate it before testing");
    ck_assert_uint_eq(b.identifies + b.starts + b.captures, 0);
    cJSON *rec = read_record();
    /* nothing ran: every planned step is listed SKIPPED, with why */
    const cJSON *st;
    int n = 0;
    cJSON_ArrayForEach (st, cJSON_GetObjectItemCaseSensitive(rec, "steps")) {
        ck_assert_str_eq(jstr(st, "outcome"), "SKIPPED");
        ck_assert_str_eq(jstr(st, "message"), "not run: an instrument cannot be used");
        n++;
    }
    ck_assert_int_eq(n, 11);
    ck_assert_str_eq(jstr(rec, "outcome"), "ERROR");
    cJSON_Delete(rec);
    b.ins.cal_due = 20261125; /* due today: still usable today */
    r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_PASS);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(missing_cartridge_and_wrong_model)
{
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct bench b;
    bench_init(&b);
    b.id.needle_count = 0;
    b.id.cartridge_id[0] = '\0';
    b.nak_start = PEN_ERR_NO_CARTRIDGE;
    struct run_result r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_FAIL);
    ck_assert_str_eq(r.message, "$.setup[0] (identify): no needle cartridge detected: fit a "
                                "cartridge and retest");
    ck_assert_uint_eq(b.starts, 0);
    bench_free(&b);

    bench_init(&b);
    snprintf(b.id.model, sizeof b.id.model, "MNP-B");
    r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(r.message, "$.setup[0] (identify): spec reference-pen is for model MNP-A, "
                                "this pen is MNP-B rev 2");
    bench_free(&b);

    /* a start refused for a latched fault is the pen's FAIL */
    bench_init(&b);
    b.nak_start = PEN_ERR_FAULT_ACTIVE;
    r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_FAIL);
    ck_assert_msg(strstr(r.message, "start: pen refused") != NULL, "%s", r.message);
    bench_free(&b);
    sequence_free(s);
}
END_TEST

START_TEST(step_timeout)
{
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = inline_seq(
        "{\"format\":\"rig-sequence/1\",\"name\":\"t\",\"spec\":\"x\",\"policy\":\"continue\","
        "\"main\":[{\"step\":\"settle\",\"seconds\":2,\"timeout_s\":0.5},"
        "{\"step\":\"settle\",\"seconds\":0.1}]}");
    struct run_result r = run(&b, s, NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_TIMEOUT);
    ck_assert_uint_eq(r.steps, 2);
    ck_assert(fabs(b.pen_time_s - 0.6) < 1e-6); /* cut at the timeout */
    sequence_free(s);
    bench_free(&b);
}
END_TEST

START_TEST(record_write_is_atomic_and_refuses_bad_paths)
{
    make_tmp();
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/r.json", tmpdir);
    cJSON *a = cJSON_Parse("{\"v\":1}"), *b2 = cJSON_Parse("{\"v\":2}");
    ck_assert_int_eq(record_write(path, a, err, sizeof err), 0);
    ck_assert_int_eq(record_write(path, b2, err, sizeof err), 0);
    cJSON *back = record_read(path, err, sizeof err);
    ck_assert_int_eq((int)cJSON_GetObjectItemCaseSensitive(back, "v")->valuedouble, 2);
    cJSON_Delete(back);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640); /* the group's, never the world's */
    /* a directory that does not exist: nothing written, run refused */
    ck_assert_int_lt(record_write("/nonexistent-dir/r.json", a, err, sizeof err), 0);
    ck_assert(strncmp(err, "cannot create /nonexistent-dir/r.json.tmp", 41) == 0);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct bench b;
    bench_init(&b);
    struct run_config cfg = { .seq = s,
                              .dut_serial = "X",
                              .record_path = "/nonexistent-dir/r.json" };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, &b, &r), -1);
    ck_assert(strncmp(r.message, "cannot write the run record: cannot create", 42) == 0);
    ck_assert_uint_eq(b.identifies + b.starts, 0);
    cJSON_Delete(a);
    cJSON_Delete(b2);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

START_TEST(junit_is_well_formed)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.s.p.depth_bias_mm = 0.25;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    run(&b, s, record_path);
    cJSON *rec = read_record();
    char *xml = junit_from_record(rec);
    ck_assert_ptr_nonnull(xml);
    ck_assert_ptr_nonnull(strstr(xml, "value=\"Q &lt;&amp;&gt; A\""));
    ck_assert_ptr_nonnull(strstr(xml, "CAL-&lt;&amp;&quot;x&quot;&gt;"));
    unsigned counts[3] = { 0 };
    assert_well_formed(xml, counts);
    /* identify 3 + start-up capture 6 run, 3 + 5 + 1 skipped, + the verdict */
    ck_assert_uint_eq(counts[0], 3 + 6 + 3 + 5 + 1 + 1);
    ck_assert_uint_eq(counts[1], 2); /* the depth, and the run's verdict */
    ck_assert_uint_ge(counts[2], 8);
    ck_assert_ptr_nonnull(strstr(xml, "tests=\"19\" failures=\"2\" errors=\"0\" skipped=\"9\""));
    char path[300], errs[256];
    snprintf(path, sizeof path, "%s/junit.xml", tmpdir);
    ck_assert_int_eq(junit_write(path, rec, errs, sizeof errs), 0);
    ck_assert_int_eq(access(path, R_OK), 0);
    free(xml);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* JUnit for a record given as JSON text, checked to be well-formed XML;
 * counts as assert_well_formed() fills them. Caller frees. */
static char *junit_of(const char *record_json, unsigned counts[3])
{
    cJSON *rec = cJSON_Parse(record_json);
    ck_assert_ptr_nonnull(rec);
    char *xml = junit_from_record(rec);
    ck_assert_ptr_nonnull(xml);
    assert_well_formed(xml, counts);
    cJSON_Delete(rec);
    return xml;
}

/* Review fix: junit_from_record() also reads records from files (reports),
 * and used to print a step's or measurement's outcome into the type
 * attribute unescaped: an outcome like ERR"<x> gave malformed XML. */
START_TEST(junit_escapes_outcomes_from_the_record)
{
    unsigned counts[3] = { 0 };
    char *xml = junit_of("{\"id\":\"r1\",\"sequence\":{\"name\":\"s\"},\"steps\":["
                         "{\"path\":\"$.main[0]\",\"kind\":\"stop\",\"outcome\":\"ERR\\\"<x>&\","
                         "\"message\":\"m\",\"measurements\":[]},"
                         "{\"path\":\"$.main[1]\",\"kind\":\"capture\",\"outcome\":\"FAIL\","
                         "\"measurements\":[{\"name\":\"depth\",\"outcome\":\"B'AD\\\"\"}]}]}",
                         counts);
    ck_assert_ptr_nonnull(strstr(xml, "<error type=\"ERR&quot;&lt;x&gt;&amp;\""));
    ck_assert_ptr_nonnull(strstr(xml, "<error type=\"B&apos;AD&quot;\""));
    ck_assert_uint_eq(counts[0], 2 + 1); /* + the run's verdict */
    free(xml);
}
END_TEST

/* A record is JSON, and JSON text need not be valid UTF-8 as cJSON reads
 * it: invalid bytes in names must not make the JUnit file malformed
 * (found by fuzz_record_file). Valid multi-byte UTF-8 is kept. */
START_TEST(junit_replaces_invalid_utf8)
{
    unsigned counts[3] = { 0 };
    char *xml =
        junit_of("{\"id\":\"r1\",\"sequence\":{\"name\":\"s\"},\"steps\":["
                 "{\"path\":\"$.main[1]\",\"kind\":\"capture\",\"outcome\":\"PASS\","
                 "\"measurements\":[{\"name\":\"motor\xff\xfe_current\",\"outcome\":\"PASS\"},"
                 "{\"name\":\"depth \xc2\xb5m\",\"outcome\":\"PASS\"}]}]}",
                 counts);
    ck_assert_ptr_nonnull(strstr(xml, "name=\"motor??_current\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"depth \xc2\xb5m\""));
    free(xml);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eol_pass_with_record_and_attachments);
    tcase_add_test(tc, depth_bias_fails_and_stops);
    tcase_add_test(tc, continue_versus_stop_on_fail);
    tcase_add_test(tc, sample_loss_is_error_not_fail);
    tcase_add_test(tc, ops_error_is_error_and_stops_motor);
    tcase_add_test(tc, abort_runs_teardown);
    tcase_add_test(tc, retry_recovers_and_is_counted);
    tcase_add_test(tc, overdue_calibration_refuses_to_run);
    tcase_add_test(tc, missing_cartridge_and_wrong_model);
    tcase_add_test(tc, step_timeout);
    tcase_add_test(tc, junit_is_well_formed);
    tcase_add_test(tc, junit_escapes_outcomes_from_the_record);
    tcase_add_test(tc, junit_replaces_invalid_utf8);
    tcase_add_test(tc, record_write_is_atomic_and_refuses_bad_paths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
