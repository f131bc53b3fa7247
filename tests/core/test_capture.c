/* Capture attachments and their retention: rig-capture/2 is lossless (bit
 * for bit, on edge values, on the synthetic bench and on the simulator's
 * sensor model), rig-capture/1 files and records stay readable and
 * recomputable, a damaged compressed file is refused, recompute checks the
 * file's and the samples' hash, and prune keeps what the policy says. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_ops.h"
#include "core/prune.h"
#include "core/rec.h"
#include "core/recompute.h"
#include "core/record.h"
#include "model_ops.h"
#include "runtest.h"

static const char eol[] = FIXTURES_DIR "/sequences/eol.json";

/* Encode c in format f, decode it, and require the same samples bit for
 * bit (and the same samples hash whatever the format). */
static void roundtrip(const struct rig_capture *c, int f)
{
    uint8_t *buf;
    size_t len;
    char err[256], s1[DIGEST_HEX_LEN + 1], s2[DIGEST_HEX_LEN + 1];
    ck_assert_int_eq(capture_encode(c, f, &buf, &len, s1, err, sizeof err), 0);
    struct rig_capture back;
    ck_assert_msg(capture_decode("mem", buf, len, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(back.n, c->n);
    ck_assert_uint_eq(back.first_sample, c->first_sample);
    ck_assert_uint_eq(back.flags, c->flags);
    ck_assert(memcmp(&back.rate_hz, &c->rate_hz, sizeof c->rate_hz) == 0);
    for (size_t i = 0; i < c->n; i++) {
        ck_assert_int_eq(back.force_un[i], c->force_un ? c->force_un[i] : 0);
        ck_assert_int_eq(back.disp_nm[i], c->disp_nm[i]);
    }
    ck_assert_int_eq(capture_samples_sha256(&back, s2), 0);
    ck_assert_str_eq(s1, s2);
    ck_assert_uint_eq(buf[8], (unsigned)f); /* the version byte */
    capture_free(&back);
    free(buf);
}

START_TEST(lossless_on_edge_values)
{
    static int32_t f[64], d[64];
    struct rig_capture c = { .force_un = f, .disp_nm = d, .rate_hz = 50000.5, .flags = 3 };
    c.first_sample = 0xfedcba9876543210u;
    /* the extremes next to each other (differences beyond an i32) */
    for (int i = 0; i < 64; i++) {
        f[i] = (i & 1) ? INT32_MAX : INT32_MIN;
        d[i] = (i % 3) ? INT32_MIN + 1 : INT32_MAX - i;
    }
    for (size_t n = 0; n <= 64; n += (n < 3 ? 1 : 61)) {
        c.n = n;
        roundtrip(&c, CAPTURE_FORMAT_RAW);
        roundtrip(&c, CAPTURE_FORMAT_ZSTD);
    }
    /* quantised (a step the encoder takes out) with an odd first value */
    for (int i = 0; i < 64; i++) {
        f[i] = 7 + 100 * ((i * 37) % 11 - 5);
        d[i] = -2498623 + 10 * (i * i % 17);
    }
    roundtrip(&c, CAPTURE_FORMAT_ZSTD);
    /* a step whose multiples wrap: INT32_MIN <-> INT32_MAX is one step */
    for (int i = 0; i < 64; i++)
        f[i] = (i & 2) ? INT32_MAX : INT32_MIN;
    roundtrip(&c, CAPTURE_FORMAT_ZSTD);
    /* no force channel: zeros, as rig-capture/1 writes them */
    c.force_un = NULL;
    roundtrip(&c, CAPTURE_FORMAT_ZSTD);
}
END_TEST

START_TEST(lossless_on_the_synthetic_bench)
{
    struct bench b;
    bench_init(&b);
    struct rig_capture c = { .n = 200000, .rate_hz = 50000 };
    c.force_un = malloc(c.n * sizeof *c.force_un);
    c.disp_nm = malloc(c.n * sizeof *c.disp_nm);
    b.s.p.fs = c.rate_hz;
    synth_generate(&b.s, c.n, c.force_un, c.disp_nm);
    roundtrip(&c, CAPTURE_FORMAT_ZSTD);
    capture_free(&c);
    bench_free(&b);
}
END_TEST

/* The same run on the sensor model twice, raw and compressed: the same
 * samples, the same samples hashes, smaller files. */
START_TEST(lossless_on_the_sensor_model)
{
    make_tmp();
    struct rig_sequence *s = load(eol);
    char path[2][300];
    for (int k = 0; k < 2; k++) {
        struct sim_params p;
        sim_params_default(&p);
        p.depth_bias_mm = 0.01;
        struct model_bench mb;
        ck_assert_int_eq(model_bench_init(&mb, &p, 11, NULL), 0);
        snprintf(path[k], sizeof path[k], "%s/%s.json", tmpdir, k ? "zstd" : "raw");
        char err[256];
        struct rec_sink sink;
        ck_assert_int_eq(
            rec_file_sink_new_flags(path[k], k ? 0 : REC_FILE_RAW_CAPTURES, &sink, err, sizeof err),
            0);
        struct run_config cfg = {
            .seq = s, .dut_serial = "PA-0000001", .sinks = &sink, .nsinks = 1
        };
        struct run_result r;
        ck_assert_int_eq(run_execute(&cfg, &model_ops, &mb, &r), 0);
        ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
        model_bench_free(&mb);
    }
    unsigned n = 0;
    for (unsigned i = 1; i < 10; i++) {
        char a[400], z[400], err[256];
        snprintf(a, sizeof a, "%s/raw.cap%u.bin", tmpdir, i);
        snprintf(z, sizeof z, "%s/zstd.cap%u.bin", tmpdir, i);
        struct rig_capture ca, cz;
        if (capture_read(a, &ca, err, sizeof err) < 0)
            break;
        ck_assert_msg(capture_read(z, &cz, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(ca.n, cz.n);
        ck_assert(memcmp(ca.force_un, cz.force_un, ca.n * 4) == 0);
        ck_assert(memcmp(ca.disp_nm, cz.disp_nm, ca.n * 4) == 0);
        struct stat sa, sz;
        ck_assert_int_eq(stat(a, &sa), 0);
        ck_assert_int_eq(stat(z, &sz), 0);
        ck_assert_int_lt(sz.st_size * 3, sa.st_size); /* measured: 3.7x */
        capture_free(&ca);
        capture_free(&cz);
        n++;
    }
    ck_assert_uint_eq(n, 4);
    /* both records name the same samples */
    char err[256];
    cJSON *ra = record_read(path[0], err, sizeof err), *rz = record_read(path[1], err, sizeof err);
    ck_assert_ptr_nonnull(ra);
    ck_assert_ptr_nonnull(rz);
    char *ta = cJSON_PrintUnformatted(ra), *tz = cJSON_PrintUnformatted(rz);
    const char *pa = ta, *pz = tz;
    for (unsigned i = 0; i < n; i++) {
        pa = strstr(pa, "\"samples_sha256\":\"");
        pz = strstr(pz, "\"samples_sha256\":\"");
        ck_assert(pa && pz);
        ck_assert(strncmp(pa, pz, 18 + 64) == 0);
        pa++, pz++;
    }
    free(ta);
    free(tz);
    cJSON_Delete(ra);
    cJSON_Delete(rz);
    sequence_free(s);
    remove_tmp();
}
END_TEST

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t *buf = malloc(1 << 22);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
    unlink(path); /* attachments are read-only to the group: replace */
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* A PASS run on the synthetic bench recorded at record_path. */
static void eol_run(void)
{
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(eol);
    struct run_result r = run(&b, s, record_path);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s", r.message);
    sequence_free(s);
    bench_free(&b);
}

static char cap1[400];

START_TEST(damaged_compressed_file_refused)
{
    make_tmp();
    eol_run();
    snprintf(cap1, sizeof cap1, "%s/run.cap1.bin", tmpdir);
    size_t len;
    uint8_t *buf = slurp(cap1, &len);
    ck_assert_uint_eq(buf[8], 2);
    struct rig_capture c;
    char err[256];
    /* a byte of the compressed samples */
    buf[len / 2] ^= 0x40;
    ck_assert_int_lt(capture_decode("x", buf, len, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "corrupt") || strstr(err, "not a rig-capture"), "%s", err);
    buf[len / 2] ^= 0x40;
    /* cut short */
    ck_assert_int_lt(capture_decode("x", buf, len - 1, &c, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "compressed length"));
    /* a frame count the payload does not hold */
    buf[32] ^= 1;
    ck_assert_int_lt(capture_decode("x", buf, len, &c, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "frame count"));
    buf[32] ^= 1;
    /* far more frames than any capture */
    buf[39] = 0x10;
    ck_assert_int_lt(capture_decode("x", buf, len, &c, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "more frames"));
    buf[39] = 0;
    ck_assert_int_eq(capture_decode("x", buf, len, &c, err, sizeof err), 0);
    capture_free(&c);
    free(buf);
    remove_tmp();
}
END_TEST

/* Replace (to NULL: delete the line of) the record's first member key
 * with value from, in place: text surgery on the pretty-printed record,
 * as a tamperer would. */
static void set_member(const char *key, const char *from, const char *to)
{
    size_t len;
    char *text = (char *)slurp(record_path, &len);
    text[len] = '\0';
    char pat[200];
    snprintf(pat, sizeof pat, "\"%s\":\t\"%s\"", key, from);
    char *at = strstr(text, pat);
    ck_assert_msg(at != NULL, "%s not in the record", pat);
    char *out = malloc(len + 200);
    if (to) {
        size_t n = (size_t)(at - text);
        memcpy(out, text, n);
        n += (size_t)sprintf(out + n, "\"%s\":\t\"%s\"", key, to);
        strcpy(out + n, at + strlen(pat));
    } else { /* the whole line (a member in the middle: its comma goes too) */
        char *start = at, *end = strchr(at, '\n');
        while (start > text && start[-1] != '\n')
            start--;
        ck_assert_ptr_nonnull(end);
        memcpy(out, text, (size_t)(start - text));
        strcpy(out + (start - text), end + 1);
    }
    spit(record_path, (uint8_t *)out, strlen(out));
    free(out);
    free(text);
}

static void file_sha(const char *path, char hex[DIGEST_HEX_LEN + 1])
{
    ck_assert_int_eq(digest_sha256_file(path, hex), 0);
}

START_TEST(recompute_checks_both_hashes)
{
    make_tmp();
    eol_run();
    char *diffs;
    ck_assert_msg(recompute(&diffs) == 0, "%s", diffs);
    free(diffs);
    /* other samples in a well-formed compressed file, the file's hash
     * updated in the record: only the samples hash tells */
    snprintf(cap1, sizeof cap1, "%s/run.cap1.bin", tmpdir);
    struct rig_capture c;
    char err[256], old[DIGEST_HEX_LEN + 1], now[DIGEST_HEX_LEN + 1], ss[DIGEST_HEX_LEN + 1];
    file_sha(cap1, old);
    ck_assert_int_eq(capture_read(cap1, &c, err, sizeof err), 0);
    c.disp_nm[1000] += 10;
    unlink(cap1);
    ck_assert_int_eq(
        capture_write_format(cap1, &c, CAPTURE_FORMAT_ZSTD, 0, now, ss, err, sizeof err), 0);
    capture_free(&c);
    set_member("sha256", old, now);
    ck_assert_int_eq(recompute(&diffs), 1);
    ck_assert_msg(strstr(diffs, "samples of run.cap1.bin have SHA-256"), "%s", diffs);
    free(diffs);
    /* and without updating the record: the file's hash */
    set_member("sha256", now, old);
    ck_assert_int_eq(recompute(&diffs), 1);
    ck_assert_msg(strstr(diffs, "run.cap1.bin has SHA-256"), "%s", diffs);
    free(diffs);
    remove_tmp();
}
END_TEST

/* A record as the engine wrote it before rig-capture/2: raw capture
 * files, no samples_sha256. It reads and recomputes as it did. */
START_TEST(old_records_still_recompute)
{
    make_tmp();
    eol_run();
    for (unsigned i = 1; i <= 4; i++) {
        char path[400], err[256], was[DIGEST_HEX_LEN + 1], sha[DIGEST_HEX_LEN + 1];
        char samples[DIGEST_HEX_LEN + 1];
        snprintf(path, sizeof path, "%s/run.cap%u.bin", tmpdir, i);
        file_sha(path, was);
        struct rig_capture c;
        ck_assert_int_eq(capture_read(path, &c, err, sizeof err), 0);
        ck_assert_int_eq(capture_samples_sha256(&c, samples), 0);
        unlink(path);
        ck_assert_int_eq(capture_write(path, &c, sha, err, sizeof err), 0);
        size_t len;
        uint8_t *buf = slurp(path, &len);
        ck_assert_uint_eq(len, CAPTURE_HEADER_SIZE + 8 * c.n);
        ck_assert_uint_eq(buf[8], 1);
        free(buf);
        capture_free(&c);
        set_member("sha256", was, sha);
        set_member("samples_sha256", samples, NULL);
    }
    cJSON *rec = read_record(); /* recomputes */
    char *text = cJSON_PrintUnformatted(rec);
    ck_assert_ptr_null(strstr(text, "samples_sha256"));
    free(text);
    cJSON_Delete(rec);
    remove_tmp();
}
END_TEST

/* The station's "compress_captures": false reaches the record file sink. */
START_TEST(raw_captures_when_asked)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    struct rig_sequence *s = load(eol);
    struct run_config cfg = {
        .seq = s, .dut_serial = "PA-0000042", .record_path = record_path, .raw_captures = true
    };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, &b, &r), 0);
    ck_assert_int_eq(r.outcome, OUTCOME_PASS);
    snprintf(cap1, sizeof cap1, "%s/run.cap1.bin", tmpdir);
    size_t len;
    uint8_t *buf = slurp(cap1, &len);
    ck_assert_uint_eq(buf[8], 1);
    free(buf);
    cJSON_Delete(read_record()); /* recomputes, samples hash included */
    sequence_free(s);
    bench_free(&b);
    remove_tmp();
}
END_TEST

/* ---- retention ---------------------------------------------------------- */

static void run_as(const char *name, double depth_bias, time_t wall)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s.json", tmpdir, name);
    struct bench b;
    bench_init(&b);
    b.s.p.depth_bias_mm = depth_bias;
    b.wall.tv_sec = wall;
    struct rig_sequence *s = load(eol);
    struct run_result r = run(&b, s, path);
    ck_assert_int_eq(r.outcome, depth_bias ? OUTCOME_FAIL : OUTCOME_PASS);
    sequence_free(s);
    bench_free(&b);
}

static bool exists(const char *name)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return access(path, F_OK) == 0;
}

START_TEST(prune_keeps_what_the_policy_says)
{
    make_tmp();
    const time_t t0 = 1795608000; /* 2026-11-25T12:00:00Z */
    run_as("old-pass", 0, t0);
    run_as("old-fail", 0.25, t0);
    run_as("young-pass", 0, t0 + 35 * 86400);
    struct prune_policy p = { .pass_days = 30, .now = t0 + 40 * 86400, .dry_run = true };
    struct prune_result r = { 0 };
    char err[256];
    /* a dry run changes nothing */
    ck_assert_msg(prune_dir(tmpdir, &p, NULL, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r.records, 3);
    ck_assert_uint_eq(r.files, 4);
    ck_assert(exists("old-pass.cap1.bin"));
    p.dry_run = false;
    memset(&r, 0, sizeof r);
    ck_assert_msg(prune_dir(tmpdir, &p, NULL, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r.records, 3);
    ck_assert_uint_eq(r.pruned_records, 1);
    ck_assert_uint_eq(r.files, 4);
    ck_assert_uint_eq(r.kept_not_pass, 1);
    ck_assert_uint_eq(r.kept_young, 1);
    for (unsigned i = 1; i <= 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "old-pass.cap%u.bin", i);
        ck_assert(!exists(name));
        snprintf(name, sizeof name, "old-pass.cap%u.strokes.csv", i);
        ck_assert(exists(name));
        snprintf(name, sizeof name, "young-pass.cap%u.bin", i);
        ck_assert(exists(name));
    }
    ck_assert(exists("old-fail.cap1.bin"));
    ck_assert(exists("old-pass.json") && exists("old-pass.spec.json"));
    /* the record says when, keeps the hashes, and still recomputes */
    snprintf(record_path, sizeof record_path, "%s/old-pass.json", tmpdir);
    size_t len;
    char *text = (char *)slurp(record_path, &len);
    text[len] = '\0';
    ck_assert_ptr_nonnull(strstr(text, "\"pruned_utc\":\t\"2027-01-04T12:00:00.000Z\""));
    ck_assert_ptr_nonnull(strstr(text, "\"samples_sha256\""));
    char *diffs;
    ck_assert_msg(recompute(&diffs) == 0, "%s", diffs);
    ck_assert_msg(strstr(diffs, "capture pruned by retention"), "%s", diffs);
    ck_assert_ptr_null(strstr(diffs, "SHA-256"));
    free(diffs);
    /* the typed record reads it back and writes it the same */
    cJSON *doc = read_record_as_is();
    struct rec_run rr;
    ck_assert_msg(rec_from_json(doc, &rr, err, sizeof err) == 0, "%s", err);
    cJSON *again = rec_to_json(&rr);
    char *atext = cJSON_Print(again);
    ck_assert(strncmp(atext, text, strlen(atext)) == 0 && strcmp(text + strlen(atext), "\n") == 0);
    free(atext);
    cJSON_Delete(again);
    cJSON_Delete(doc);
    rec_run_free(&rr);
    /* idempotent: nothing more to do, not a byte changed */
    memset(&r, 0, sizeof r);
    p.now += 86400;
    ck_assert_int_eq(prune_dir(tmpdir, &p, NULL, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.pruned_records, 0);
    ck_assert_uint_eq(r.files, 0);
    size_t len2;
    char *text2 = (char *)slurp(record_path, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(text, text2, len) == 0);
    free(text);
    free(text2);
    remove_tmp();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("captures");
    TCase *tc = tcase_create("capture");
    tcase_add_test(tc, lossless_on_edge_values);
    tcase_add_test(tc, lossless_on_the_synthetic_bench);
    tcase_add_test(tc, lossless_on_the_sensor_model);
    tcase_add_test(tc, damaged_compressed_file_refused);
    tcase_add_test(tc, recompute_checks_both_hashes);
    tcase_add_test(tc, old_records_still_recompute);
    tcase_add_test(tc, raw_captures_when_asked);
    tcase_add_test(tc, prune_keeps_what_the_policy_says);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
