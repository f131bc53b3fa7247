/* The executor's duties to the record and to the unit (issue "A healthy
 * pen passes every time"): the unit's identity is checked before any test
 * step; one run id everywhere; a record is never overwritten, never reads
 * PASS while incomplete, survives its directory being deleted; a run whose
 * evidence is gone is ERROR; planned measurements that did not run are
 * listed SKIPPED; the run's message is its first cause; a problem of the
 * rig turns the pen's FAILs into the rig's ERROR; and JUnit shows every
 * outcome but PASS as a failure or an error. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_ops.h"
#include "core/junit.h"
#include "core/rec.h"
#include "core/record.h"
#include "core/run.h"
#include "runtest.h"

static struct run_result run_as(struct bench *b, const struct rig_sequence *s, const char *dut,
                                const char *run_id)
{
    struct run_config cfg = {
        .seq = s, .dut_serial = dut, .run_id = run_id, .record_path = record_path
    };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, b, &r), 0);
    return r;
}

static unsigned count_outcome(const cJSON *rec, const char *outcome)
{
    unsigned n = 0;
    const cJSON *st;
    cJSON_ArrayForEach (st, cJSON_GetObjectItemCaseSensitive(rec, "steps"))
        n += strcmp(jstr(st, "outcome"), outcome) == 0;
    return n;
}

/* Scanned PA-9999999, the pen says PA-0000042: ERROR, nothing tested. */
START_TEST(unit_must_be_the_scanned_serial)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-9999999", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(r.message, "unit identity: the pen in the fixture reports serial PA-0000042, "
                                "not PA-9999999 (the serial the run was started for); nothing "
                                "was tested");
    ck_assert_uint_eq(b.identifies, 1);
    ck_assert_uint_eq(b.starts + b.captures, 0);
    ck_assert_uint_eq(r.measurements, 0);
    cJSON *rec = read_record();
    ck_assert_str_eq(jstr(rec, "outcome"), "ERROR");
    const cJSON *dut = cJSON_GetObjectItemCaseSensitive(rec, "dut");
    ck_assert_str_eq(jstr(dut, "serial"), "PA-9999999");
    ck_assert_str_eq(jstr(dut, "reported_serial"), "PA-0000042");
    ck_assert_uint_eq(count_outcome(rec, "SKIPPED"), 11); /* teardown too: not this unit */
    char *xml = junit_from_record(rec);
    ck_assert_ptr_nonnull(strstr(xml, "name=\"verdict\""));
    ck_assert_ptr_nonnull(strstr(xml, "<error type=\"ERROR\" message=\"unit identity"));
    free(xml);
    cJSON_Delete(rec);
    /* the right serial on the same bench passes */
    remove_tmp();
    make_tmp();
    r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* The id the front end gives is the record's id. */
START_TEST(run_id_is_the_record_id)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", "0b6c4f3e-1d2a-4c5b-9e8f-7a6b5c4d3e2f");
    ck_assert_str_eq(r.record_id, "0b6c4f3e-1d2a-4c5b-9e8f-7a6b5c4d3e2f");
    cJSON *rec = read_record();
    ck_assert_str_eq(jstr(rec, "id"), "0b6c4f3e-1d2a-4c5b-9e8f-7a6b5c4d3e2f");
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* A completed record is never overwritten: a run naming it is refused
 * before it touches the pen, and the file is unchanged. */
START_TEST(record_is_never_overwritten)
{
    make_tmp();
    FILE *f = fopen(record_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"evidence\":true}\n", f);
    fclose(f);
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_config cfg = { .seq = s, .dut_serial = "PA-0000042", .record_path = record_path };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, &b, &r), -1);
    ck_assert_msg(strstr(r.message, "refusing to overwrite") != NULL, "%s", r.message);
    ck_assert_uint_eq(b.identifies + b.starts, 0);
    cJSON *rec = read_record_as_is();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "evidence")));
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* Mid-run the record reads complete:false with no verdict (outcome null),
 * never PASS. */
START_TEST(incomplete_record_has_no_verdict)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.watch_record = record_path;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_PASS);
    ck_assert(b.saw_incomplete);
    ck_assert(!b.saw_incomplete_verdict);
    /* JUnit of an incomplete record is an error whatever rigd said */
    cJSON *rec = cJSON_Parse("{\"id\":\"x\",\"complete\":false,\"outcome\":null,\"steps\":[]}");
    struct junit_verdict v = { .outcome = "PASS", .reason = NULL };
    char *xml = junit_from_record_verdict(rec, &v);
    unsigned counts[3] = { 0 };
    assert_well_formed(xml, counts);
    ck_assert_ptr_nonnull(strstr(xml, "tests=\"1\" failures=\"0\" errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(xml, "the run record is incomplete"));
    free(xml);
    /* a complete record that disagrees with rigd's word is an error too */
    cJSON_Delete(rec);
    rec = cJSON_Parse("{\"id\":\"x\",\"complete\":true,\"outcome\":\"PASS\",\"steps\":[]}");
    v.outcome = "ERROR";
    v.reason = "run record: no space left on device";
    xml = junit_from_record_verdict(rec, &v);
    ck_assert_ptr_nonnull(strstr(xml, "errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(xml, "rigd reported ERROR but the record on disk says PASS"));
    free(xml);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* Someone deletes the results directory mid-run: the record is written
 * again (directory recreated), and the run is ERROR because the captures
 * already written are gone -- never a PASS without its evidence. */
START_TEST(results_directory_deleted_mid_run)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.watch_record = record_path;
    b.delete_dir_at_sleep = 4; /* after the start-up capture was written */
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_msg(strstr(r.message, "capture attachment") && strstr(r.message, "missing"), "%s",
                  r.message);
    cJSON *rec = read_record_as_is();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "complete")));
    ck_assert_str_eq(jstr(rec, "outcome"), "ERROR");
    cJSON_Delete(rec);
    /* an auditor's recomputation says what is gone */
    char *diffs;
    ck_assert_int_eq(recompute(&diffs), 1);
    ck_assert_msg(strstr(diffs, "step 3 ($.main[1]) run.cap1.bin: file: cannot read"), "%s", diffs);
    free(diffs);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* The rig reports a problem of its own during the start-up capture of a
 * pen that also reads out of spec: the step is ERROR, its FAIL becomes an
 * ERROR naming the rig, and the run is ERROR. */
START_TEST(rig_problem_turns_fail_into_error)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.s.p.depth_bias_mm = 0.25;
    b.rig_problem_at_sleep = 1;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_msg(strstr(r.message, "rig problem: test rig lost control") != NULL, "%s", r.message);
    ck_assert_uint_eq(r.failed, 0);
    cJSON *rec = read_record();
    const cJSON *d = find_measurement(rec, "depth");
    ck_assert_str_eq(jstr(d, "outcome"), "ERROR");
    ck_assert_str_eq(jstr(d, "note"), "rig problem: test rig lost control");
    cJSON_Delete(rec);
    ck_assert_uint_ge(b.rig_checks, 2); /* after the judged step, and before the verdict */
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* A START that fails because the pen is gone, then a final stop that
 * cannot be confirmed: the run's message is the first cause. */
START_TEST(message_is_the_first_cause)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.start_rc = -ENODEV;
    b.stop_rc = -EIO;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_msg(strstr(r.message, "start failed: pen not attached") != NULL, "%s", r.message);
    ck_assert(strstr(r.message, "final motor stop") == NULL);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* Test names are unique (sweep points carry their setpoints), each case
 * has its own share of time, the suite the run's wall time. */
START_TEST(junit_names_unique_and_times_add_up)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct run_result r = run_as(&b, s, "PA-0000042", NULL);
    ck_assert_int_eq(r.outcome, OUTCOME_PASS);
    cJSON *rec = read_record();
    char *xml = junit_from_record(rec);
    unsigned counts[3] = { 0 };
    assert_well_formed(xml, counts);
    ck_assert_uint_eq(counts[0], r.measurements + 1);
    ck_assert_ptr_nonnull(strstr(xml, "name=\"stroke_rate @ 100 Hz 1 mm\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"stroke_rate @ 50 Hz 0.5 mm\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"stroke_rate @ 150 Hz 2.5 mm\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"firmware\""));
    /* names unique */
    char *p = xml;
    GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    double sum = 0;
    while ((p = strstr(p, "<testcase classname=\""))) {
        char *n = strstr(p, " name=\"") + 7, *e = strchr(n, '"');
        char *name = g_strndup(n, (size_t)(e - n));
        ck_assert_msg(!g_hash_table_contains(names, name), "duplicate test name %s", name);
        g_hash_table_add(names, name);
        sum += strtod(strstr(e, "time=\"") + 6, NULL);
        p = e;
    }
    g_hash_table_destroy(names);
    /* the cases add up to the steps that judged something, within the run */
    double steps = 0;
    const cJSON *st;
    cJSON_ArrayForEach (st, cJSON_GetObjectItemCaseSensitive(rec, "steps"))
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "measurements")) > 0)
            steps += cJSON_GetObjectItemCaseSensitive(st, "duration_s")->valuedouble;
    ck_assert_msg(fabs(sum - steps) < 0.01, "cases %.3f s, steps %.3f s", sum, steps);
    char *suite = strstr(xml, "<testsuite ");
    double wall = strtod(strstr(suite, " time=\"") + 7, NULL);
    ck_assert_msg(wall >= 0 && wall + 0.01 >= sum - 0.01, "suite %.3f s, cases %.3f s", wall, sum);
    free(xml);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* An ERROR before any measurement (overdue calibration) is not green. */
START_TEST(junit_error_before_any_measurement)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    b.ins.cal_due = 20261124;
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    run_as(&b, s, "PA-0000042", NULL);
    cJSON *rec = read_record();
    char *xml = junit_from_record(rec);
    unsigned counts[3] = { 0 };
    assert_well_formed(xml, counts);
    ck_assert_ptr_nonnull(strstr(xml, "errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(xml, "calibration was due"));
    ck_assert_ptr_nonnull(
        strstr(xml, "<skipped message=\"not run: an instrument cannot be used\"/>"));
    free(xml);
    cJSON_Delete(rec);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* A keeper of records besides the record file (run_config.sinks): it is
 * opened once, sees every attachment and every version in order, the
 * verdict once, and is closed; the file sink names the attachments. */
struct count_sink {
    unsigned opens, closes, attaches, captures, updates, completes;
    unsigned fail_update; /* fail this update (1-based), 0 = never */
    bool fail_open;
    size_t last_steps;
    enum rig_outcome last_outcome;
    bool last_complete;
};

static int cs_open(void *impl, const struct rec_run *r, char *err, size_t len)
{
    (void)r;
    struct count_sink *c = impl;
    c->opens++;
    if (c->fail_open) {
        snprintf(err, len, "locked for good");
        return -EPERM;
    }
    return 0;
}

static int cs_attach(void *impl, const char *suffix, const void *buf, size_t n, unsigned flags,
                     struct rec_attachment *out, char *err, size_t len)
{
    (void)suffix, (void)buf, (void)n, (void)flags, (void)out, (void)err, (void)len;
    ((struct count_sink *)impl)->attaches++;
    return 0;
}

static int cs_capture(void *impl, const char *suffix, const struct rig_capture *cap,
                      struct rec_attachment *out, char *err, size_t len)
{
    (void)suffix, (void)cap, (void)out, (void)err, (void)len;
    ((struct count_sink *)impl)->captures++;
    return 0;
}

static int cs_update(void *impl, const struct rec_run *r, bool complete, char *err, size_t len)
{
    struct count_sink *c = impl;
    c->updates++;
    c->completes += complete;
    if (c->fail_update && c->updates == c->fail_update) {
        snprintf(err, len, "station database on fire");
        return -EIO;
    }
    c->last_steps = r->nsteps;
    c->last_outcome = r->outcome;
    c->last_complete = complete;
    return 0;
}

static void cs_close(void *impl)
{
    ((struct count_sink *)impl)->closes++;
}

static const struct rec_sink_ops count_ops = {
    .name = "count",
    .open = cs_open,
    .attach = cs_attach,
    .attach_capture = cs_capture,
    .update = cs_update,
    .close = cs_close,
};

static struct run_result run_sinks(struct bench *b, const struct rig_sequence *s,
                                   const char *record, struct count_sink *c)
{
    struct rec_sink sink = { .ops = &count_ops, .impl = c };
    struct run_config cfg = {
        .seq = s, .dut_serial = "PA-0000042", .record_path = record, .sinks = &sink, .nsinks = 1
    };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, b, &r), 0);
    return r;
}

START_TEST(every_sink_sees_every_version)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct count_sink c = { 0 };
    struct run_result r = run_sinks(&b, s, record_path, &c);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
    ck_assert_uint_eq(c.opens, 1);
    ck_assert_uint_eq(c.closes, 1);
    ck_assert_uint_eq(c.attaches, 2 + 4); /* sequence, spec, per-stroke CSVs */
    ck_assert_uint_eq(c.captures, 4);
    ck_assert_uint_eq(c.updates, 1 + 11 + 1); /* the first record, each step, the verdict */
    ck_assert_uint_eq(c.completes, 1);
    ck_assert(c.last_complete);
    ck_assert_uint_eq(c.last_steps, 11);
    ck_assert_int_eq(c.last_outcome, OUTCOME_PASS);
    cJSON *rec = read_record(); /* the record file names its attachments */
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "steps"), 2), "capture");
    ck_assert_str_eq(jstr(cap, "file"), "run.cap1.bin");
    cJSON_Delete(rec);
    /* without a record file the other sinks still get everything */
    struct count_sink alone = { 0 };
    r = run_sinks(&b, s, NULL, &alone);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
    ck_assert_uint_eq(alone.captures, 4);
    ck_assert_uint_eq(alone.updates, 13);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

/* A sink that cannot keep the verdict makes the run ERROR, and the record
 * file, which had already kept a PASS, is rewritten to say so. */
START_TEST(a_sink_failing_is_a_record_error)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    struct count_sink c = { .fail_update = 13 };
    struct run_result r = run_sinks(&b, s, record_path, &c);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_str_eq(r.record_error, "station database on fire");
    ck_assert_str_eq(r.message, "run record: station database on fire");
    cJSON *rec = read_record_as_is();
    ck_assert_str_eq(jstr(rec, "outcome"), "ERROR");
    ck_assert_str_eq(jstr(rec, "message"), "run record: station database on fire");
    cJSON_Delete(rec);
    remove_tmp();
    /* mid-run: ERROR from there on, in every sink */
    make_tmp();
    c = (struct count_sink){ .fail_update = 3 };
    r = run_sinks(&b, s, record_path, &c);
    ck_assert_int_eq(r.outcome, OUTCOME_ERROR);
    ck_assert_int_eq(c.last_outcome, OUTCOME_ERROR);
    ck_assert_uint_eq(c.completes, 1);
    rec = read_record_as_is();
    ck_assert_str_eq(jstr(rec, "outcome"), "ERROR");
    cJSON_Delete(rec);
    remove_tmp();
    /* one that cannot keep the run at all refuses it up front */
    make_tmp();
    c = (struct count_sink){ .fail_open = true };
    struct rec_sink sink = { .ops = &count_ops, .impl = &c };
    struct run_config cfg = { .seq = s,
                              .dut_serial = "PA-0000042",
                              .record_path = record_path,
                              .sinks = &sink,
                              .nsinks = 1 };
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, &b, &r), -1);
    ck_assert_str_eq(r.message, "cannot keep the run record (count): locked for good");
    ck_assert_uint_eq(c.updates, 0);
    ck_assert_uint_eq(c.closes, 1); /* every sink given is closed once */
    ck_assert_int_ne(access(record_path, F_OK), 0);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
}
END_TEST

static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(f);
    return buf;
}

/* The record file sink, its counts taken when it is closed. */
struct wrapped {
    struct rec_sink inner;
    unsigned written, coalesced;
};

static int w_open(void *impl, const struct rec_run *r, char *err, size_t len)
{
    struct wrapped *w = impl;
    return w->inner.ops->open(w->inner.impl, r, err, len);
}

static int w_attach(void *impl, const char *suffix, const void *buf, size_t n, unsigned flags,
                    struct rec_attachment *out, char *err, size_t len)
{
    struct wrapped *w = impl;
    return w->inner.ops->attach(w->inner.impl, suffix, buf, n, flags, out, err, len);
}

static int w_capture(void *impl, const char *suffix, const struct rig_capture *cap,
                     struct rec_attachment *out, char *err, size_t len)
{
    struct wrapped *w = impl;
    return w->inner.ops->attach_capture(w->inner.impl, suffix, cap, out, err, len);
}

static int w_update(void *impl, const struct rec_run *r, bool complete, char *err, size_t len)
{
    struct wrapped *w = impl;
    return w->inner.ops->update(w->inner.impl, r, complete, err, len);
}

static int w_verify(void *impl, const struct rec_run *r, char *err, size_t len)
{
    struct wrapped *w = impl;
    return w->inner.ops->verify(w->inner.impl, r, err, len);
}

static void w_close(void *impl)
{
    struct wrapped *w = impl;
    rec_file_sink_stats(&w->inner, &w->written, &w->coalesced);
    w->inner.ops->close(w->inner.impl);
}

static const struct rec_sink_ops wrapped_ops = {
    .name = "record file",
    .open = w_open,
    .attach = w_attach,
    .attach_capture = w_capture,
    .update = w_update,
    .verify = w_verify,
    .close = w_close,
};

/* The record file sink with its writer thread (REC_FILE_BACKGROUND) ends
 * with the same record and attachments as the synchronous one; every
 * version was either written or replaced by a newer one. */
START_TEST(background_writer_keeps_the_same_record)
{
    struct rig_sequence *s = load(FIXTURES_DIR "/sequences/eol.json");
    char *text[2];
    for (int bg = 0; bg < 2; bg++) {
        make_tmp();
        struct bench b;
        bench_init(&b);
        struct wrapped w = { 0 };
        char err[256];
        ck_assert_int_eq(rec_file_sink_new_flags(record_path, bg ? REC_FILE_BACKGROUND : 0,
                                                 &w.inner, err, sizeof err),
                         0);
        struct count_sink c = { 0 };
        struct rec_sink both[2] = { { .ops = &wrapped_ops, .impl = &w },
                                    { .ops = &count_ops, .impl = &c } };
        struct run_config cfg = { .seq = s,
                                  .dut_serial = "PA-0000042",
                                  .run_id = "00000000-0000-4000-8000-000000000001",
                                  .sinks = both,
                                  .nsinks = 2 };
        struct run_result r;
        ck_assert_int_eq(run_execute(&cfg, &bench_ops, &b, &r), 0);
        ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
        ck_assert_str_eq(r.record_error, "");
        /* 13 versions: the first, 11 steps, the verdict; the writer
         * thread may skip some of the 11 for newer ones */
        ck_assert_uint_eq(c.updates, 13);
        ck_assert_uint_eq(w.written + w.coalesced, 13);
        ck_assert_uint_ge(w.written, 2);
        if (!bg)
            ck_assert_uint_eq(w.coalesced, 0);
        text[bg] = slurp_file(record_path);
        cJSON *rec = read_record(); /* recomputes from the attachments */
        cJSON_Delete(rec);
        remove_tmp();
        bench_free(&b);
    }
    ck_assert_str_eq(text[0], text[1]);
    free(text[0]);
    free(text[1]);
    sequence_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run records");
    TCase *tc = tcase_create("records");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unit_must_be_the_scanned_serial);
    tcase_add_test(tc, run_id_is_the_record_id);
    tcase_add_test(tc, record_is_never_overwritten);
    tcase_add_test(tc, incomplete_record_has_no_verdict);
    tcase_add_test(tc, results_directory_deleted_mid_run);
    tcase_add_test(tc, rig_problem_turns_fail_into_error);
    tcase_add_test(tc, message_is_the_first_cause);
    tcase_add_test(tc, junit_names_unique_and_times_add_up);
    tcase_add_test(tc, junit_error_before_any_measurement);
    tcase_add_test(tc, every_sink_sees_every_version);
    tcase_add_test(tc, a_sink_failing_is_a_record_error);
    tcase_add_test(tc, background_writer_keeps_the_same_record);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
