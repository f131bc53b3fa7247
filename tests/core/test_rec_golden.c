/* The run record's bytes, pinned: a set of runs on the synthetic bench
 * (virtual time, fixed clock and run ids) whose every record version the
 * engine wrote is compared byte for byte with tests/core/data/records/.
 * These files were captured from the engine that still built the record
 * as a cJSON tree; the typed record (core/rec.h) and its JSON sink must
 * write exactly the same documents. The "software" member (version and
 * commit of the build) is masked.
 *
 * Every version must also round-trip through rec_from_json/rec_to_json.
 *
 * REC_GOLDEN_OUT=DIR writes the files to DIR instead of comparing. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops.h"
#include "core/rec.h"
#include "core/record.h"
#include "core/run.h"
#include "runtest.h"

#define MAX_VERSIONS 512

/* The scenario being run: one per test (each forks). */
static struct {
    struct bench *b;
    bool tare, actions_from_start, actions_late;
    char *versions[MAX_VERSIONS];
    size_t nversions;
} G;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(f);
    return buf;
}

/* Note the record as it is on disk now, if it changed. */
static void snapshot(void)
{
    char *now = slurp(record_path);
    if (!now)
        return;
    if (G.nversions && strcmp(G.versions[G.nversions - 1], now) == 0) {
        free(now);
        return;
    }
    ck_assert_uint_lt(G.nversions, MAX_VERSIONS);
    G.versions[G.nversions++] = now;
}

static int g_sleep(void *ctx, double s)
{
    snapshot();
    return bench_ops.sleep(ctx, s);
}

static int g_identify(void *ctx, struct pen_identity *id, char *err, size_t len)
{
    snapshot();
    return bench_ops.pen_identify(ctx, id, err, len);
}

static void g_emit(void *ctx, const struct run_event *ev)
{
    snapshot();
    bench_ops.emit(ctx, ev);
}

static int g_tare(void *ctx, struct rig_tare *out, char *err, size_t len)
{
    (void)ctx, (void)err, (void)len;
    out->offset_raw_un = -1234;
    out->zero_n = 0.1 + 0.2; /* a number that needs 17 digits */
    return 0;
}

static bool want_actions(const struct bench *b)
{
    return G.actions_from_start || (G.actions_late && b->captures >= 2);
}

static size_t g_rig_actions(void *ctx, struct rec_rig_action **out)
{
    *out = NULL;
    if (!want_actions(ctx))
        return 0;
    struct rec_rig_action *a = calloc(2, sizeof *a);
    ck_assert_ptr_nonnull(a);
    a[0].at.tv_sec = 1795607998; /* 2026-11-25T11:59:58.210Z */
    a[0].at.tv_nsec = 210000000;
    a[0].action = strdup("clear_pen_fault");
    a[0].faults = strdup("WATCHDOG");
    a[0].reason = strdup("latched before rigd attached the pen \"x\"");
    a[0].pen_serial = strdup("PA-0000042");
    a[1].at.tv_sec = 1795607999;
    a[1].action = strdup("note");
    *out = a;
    return 2;
}

static struct rig_ops golden_ops(void)
{
    struct rig_ops o = bench_ops;
    o.sleep = g_sleep;
    o.pen_identify = g_identify;
    o.emit = g_emit;
    if (G.tare)
        o.sensor_tare = g_tare;
    if (G.actions_from_start || G.actions_late)
        o.rig_actions = g_rig_actions;
    return o;
}

/* Loops, a tare step, text measurements (some skipped) and a retry. */
static const char loops_seq[] =
    "{\"format\":\"rig-sequence/1\",\"name\":\"loops\",\"spec\":\"x\",\"policy\":\"%s\","
    "\"setup\":[{\"step\":\"identify\",\"evaluate\":[\"firmware\",\"model\","
    "\"cartridge_needles\"]},{\"step\":\"tare\"}],"
    "\"main\":[{\"step\":\"configure\",\"rate_hz\":100,\"depth_mm\":1},{\"step\":\"start\"},"
    "{\"step\":\"repeat\",\"count\":2,\"steps\":["
    "{\"step\":\"sweep\",\"rates_hz\":[80,120],\"depths_mm\":[0.5,1.5],\"steps\":["
    "{\"step\":\"configure\",\"rate_hz\":\"$rate_hz\",\"depth_mm\":\"$depth_mm\"},"
    "{\"step\":\"capture\",\"name\":\"point\",\"seconds\":0.2,"
    "\"evaluate\":[\"depth\",\"stroke_rate\"]}]}]},"
    "{\"step\":\"retry\",\"attempts\":2,\"steps\":[{\"step\":\"capture\",\"seconds\":0.2,"
    "\"evaluate\":[\"depth\",\"rate_jitter\",\"motor_current\"]}]},"
    "{\"step\":\"identify\",\"name\":\"again\",\"evaluate\":[\"firmware\",\"model\"]},"
    "{\"step\":\"capture\",\"with\":\"stop\",\"pre_seconds\":0.05,\"seconds\":0.3,"
    "\"evaluate\":[\"stop_time\"]}],"
    "\"teardown\":[{\"step\":\"stop\"},{\"step\":\"tare\"}]}";

struct scenario {
    const char *name;
    const char *file;   /* fixtures/sequences/<file>, or ... */
    const char *policy; /* ...loops_seq with this policy */
    const char *dut;
    bool tare, actions_from_start, actions_late, no_captures;
    bool final_only; /* pin only the last version (a long run) */
    double depth_bias;
    uint32_t capture_flags, cal_due;
    unsigned flags_on_capture, abort_at_sleep, rig_problem_at_sleep;
    int start_rc, stop_rc, nak_start;
    bool no_cartridge;
};

static const struct scenario scenarios[] = {
    { .name = "eol-pass", .file = "eol.json" },
    { .name = "eol-depth-fail", .file = "eol.json", .depth_bias = 0.25 },
    { .name = "eol-sample-loss",
      .file = "eol.json",
      .capture_flags = AN_F_SAMPLE_LOSS,
      .depth_bias = 0.3 },
    { .name = "eol-abort", .file = "eol.json", .abort_at_sleep = 3 },
    { .name = "eol-overdue", .file = "eol.json", .cal_due = 20261124 },
    { .name = "eol-no-cartridge",
      .file = "eol.json",
      .no_cartridge = true,
      .nak_start = PEN_ERR_NO_CARTRIDGE },
    { .name = "eol-wrong-unit", .file = "eol.json", .dut = "PA-9999999" },
    { .name = "eol-rig-problem",
      .file = "eol.json",
      .depth_bias = 0.25,
      .rig_problem_at_sleep = 1 },
    { .name = "eol-stop-fails", .file = "eol.json", .start_rc = -ENODEV, .stop_rc = -EIO },
    { .name = "eol-tare-actions", .file = "eol.json", .tare = true, .actions_from_start = true },
    { .name = "eol-actions-late", .file = "eol.json", .actions_late = true },
    { .name = "eol-no-captures", .file = "eol.json", .no_captures = true, .tare = true },
    { .name = "dvt-sweep", .file = "dvt-sweep.json", .tare = true, .final_only = true },
    { .name = "loops-continue",
      .policy = "continue",
      .tare = true,
      .depth_bias = 0.12,
      .capture_flags = AN_F_OVERRUN,
      .flags_on_capture = 9 },
    { .name = "loops-stop", .policy = "stop-on-first-fail", .tare = true, .depth_bias = 0.2 },
    { .name = "loops-retry",
      .policy = "stop-on-first-fail",
      .capture_flags = AN_F_OVERRUN,
      .flags_on_capture = 9,
      .actions_late = true },
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* Every version the sink wrote reads back into the typed record and
 * serialises to the same bytes: rec_to_json(rec_from_json(doc)) == doc. */
static void assert_round_trip(const char *name, size_t version, const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    ck_assert_msg(doc != NULL, "%s version %zu: not JSON", name, version);
    struct rec_run r;
    char err[256];
    int rc = rec_from_json(doc, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "%s version %zu: rec_from_json: %s", name, version, err);
    cJSON *back = rec_to_json(&r);
    ck_assert_ptr_nonnull(back);
    char *again = cJSON_Print(back);
    ck_assert_ptr_nonnull(again);
    size_t len = strlen(again);
    ck_assert_msg(strncmp(again, text, len) == 0 && strcmp(text + len, "\n") == 0,
                  "%s version %zu: the record does not round-trip", name, version);
    free(again);
    cJSON_Delete(back);
    rec_run_free(&r);
    cJSON_Delete(doc);
}

/* Whether the line before the end of out[0..n) names a capture file. */
static bool after_capture_file(const char *out, size_t n)
{
    size_t i = n;
    while (i > 0 && out[i - 1] != '\n') /* this line's start */
        i--;
    if (i == 0)
        return false;
    size_t end = --i; /* the previous line: [start, end) */
    while (i > 0 && out[i - 1] != '\n')
        i--;
    static const char key[] = "\"file\":\t\"";
    const char *line = out + i;
    const char *k = memmem(line, end - i, key, sizeof key - 1);
    return k && end - i >= 6 && memcmp(out + end - 6, ".bin\",", 6) == 0;
}

/* What names the build and the checkout, masked on both sides so the
 * pinned bytes hold wherever the tree is built: the "software" member's
 * body (version, commit) and the fixtures directory in file paths; and
 * the SHA-256 of each capture file, whose compressed bytes are zstd's to
 * choose (another libzstd may pack the same samples differently): the
 * samples' own hash beside it ("samples_sha256") is pinned instead.
 * Returns a new string; frees doc. */
static char *normalise(char *doc)
{
    size_t cap = strlen(doc) + 64, n = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    const char *p = doc, *sw = strstr(doc, "\"software\":");
    const char *sw_open = sw ? strchr(sw, '{') : NULL;
    const char *sw_end = sw_open ? strchr(sw_open, '}') : NULL;
    size_t fl = strlen(FIXTURES_DIR);
    while (*p) {
        if (sw_end && p == sw_open + 1) {
            static const char mask[] = "\n\t\t(the build)\n\t";
            memcpy(out + n, mask, sizeof mask - 1);
            n += sizeof mask - 1;
            p = sw_end;
            continue;
        }
        if (strncmp(p, FIXTURES_DIR, fl) == 0) {
            if (n + 16 >= cap)
                break;
            memcpy(out + n, "$FIXTURES", 9);
            n += 9;
            p += fl;
            continue;
        }
        static const char sha_key[] = "\"sha256\":\t\"";
        if (strncmp(p, sha_key, sizeof sha_key - 1) == 0 && after_capture_file(out, n)) {
            memcpy(out + n, sha_key, sizeof sha_key - 1);
            n += sizeof sha_key - 1;
            p += sizeof sha_key - 1;
            while (*p && *p != '"')
                p++;
            memcpy(out + n, "(zstd)", 6); /* shorter than the 64 hex digits */
            n += 6;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    free(doc);
    return out;
}

/* All versions of the scenario's record, in one text. */
static char *run_scenario(const struct scenario *sc)
{
    make_tmp();
    struct bench b;
    bench_init(&b);
    memset(&G, 0, sizeof G);
    G.b = &b;
    G.tare = sc->tare;
    G.actions_from_start = sc->actions_from_start;
    G.actions_late = sc->actions_late;
    b.s.p.depth_bias_mm = sc->depth_bias;
    b.capture_flags = sc->capture_flags;
    b.flags_on_capture = sc->flags_on_capture;
    b.abort_at_sleep = (int)sc->abort_at_sleep;
    b.rig_problem_at_sleep = sc->rig_problem_at_sleep;
    b.start_rc = sc->start_rc;
    b.stop_rc = sc->stop_rc;
    b.nak_start = sc->nak_start;
    if (sc->cal_due)
        b.ins.cal_due = sc->cal_due;
    if (sc->no_cartridge) {
        b.id.needle_count = 0;
        b.id.cartridge_id[0] = '\0';
    }
    struct rig_sequence *s;
    if (sc->file) {
        char path[512];
        snprintf(path, sizeof path, "%s/sequences/%s", FIXTURES_DIR, sc->file);
        s = load(path);
    } else {
        char json[4096];
        snprintf(json, sizeof json, loops_seq, sc->policy);
        s = inline_seq(json);
    }
    struct rig_ops ops = golden_ops();
    struct run_config cfg = { .seq = s,
                              .dut_serial = sc->dut ? sc->dut : "PA-0000042",
                              .run_id = "6f1c2a3b-0000-4000-8000-00000000c0de",
                              .operator_name = "Q <&> A",
                              .station_id = "EOL-3",
                              .fixture = sc->tare ? "F-1" : NULL,
                              .record_path = record_path,
                              .no_captures = sc->no_captures };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &ops, &b, &r), 0);
    snapshot();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    fprintf(out, "outcome %s, %u steps, %u measurements, %u retries, message \"%s\"\n",
            outcome_str(r.outcome), r.steps, r.measurements, r.retries, r.message);
    for (size_t i = 0; i < G.nversions; i++) {
        assert_round_trip(sc->name, i + 1, G.versions[i]);
        G.versions[i] = normalise(G.versions[i]);
        if (!sc->final_only || i + 1 == G.nversions)
            fprintf(out, "=== version %zu\n%s\n", i + 1, G.versions[i]);
        free(G.versions[i]);
    }
    fclose(out);
    sequence_free(s);
    remove_tmp();
    bench_free(&b);
    return text;
}

START_TEST(record_bytes_as_pinned)
{
    const struct scenario *sc = &scenarios[_i];
    char *got = run_scenario(sc);
    char path[512];
    const char *outdir = getenv("REC_GOLDEN_OUT");
    if (outdir) {
        snprintf(path, sizeof path, "%s/%s.txt", outdir, sc->name);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        fputs(got, f);
        ck_assert_int_eq(fclose(f), 0);
    } else {
        snprintf(path, sizeof path, "%s/records/%s.txt", CORE_TEST_DATA, sc->name);
        char *want = slurp(path);
        ck_assert_msg(want != NULL, "%s: missing", path);
        if (strcmp(got, want) != 0) {
            snprintf(path, sizeof path, "/tmp/rec-golden-%s.txt", sc->name);
            FILE *f = fopen(path, "wb");
            if (f) {
                fputs(got, f);
                fclose(f);
            }
        }
        ck_assert_msg(strcmp(got, want) == 0, "%s: the record differs from the pinned bytes (%s)",
                      sc->name, path);
        free(want);
    }
    free(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record bytes");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, record_bytes_as_pinned, 0, (int)NSCENARIOS);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
