/* Spec and sequence file validation: the shipped fixtures are valid, and
 * broken files report every problem as "file: json.path: message". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sequence.h"
#include "core/spec.h"

static void in_data_dir(void)
{
    ck_assert_int_eq(chdir(CORE_TEST_DATA), 0);
}

static void dump(const struct rig_problems *p)
{
    for (size_t i = 0; i < p->count; i++)
        fprintf(stderr, "  %s\n", p->msg[i] ? p->msg[i] : "(oom)");
}

/* The problems must be exactly these, in this order. */
static void expect(const char *file, const char *const *lines, size_t n)
{
    struct rig_problems p;
    problems_init(&p);
    ck_assert_int_eq(check_file(file, &p, NULL), 1);
    if (p.count != n)
        dump(&p);
    ck_assert_uint_eq(p.count, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(p.msg[i]);
        size_t len = strlen(lines[i]);
        bool prefix = len && lines[i][len - 1] == '*'; /* platform text after '*' */
        if (prefix)
            ck_assert_msg(strncmp(p.msg[i], lines[i], len - 1) == 0, "got %s", p.msg[i]);
        else
            ck_assert_str_eq(p.msg[i], lines[i]);
    }
    problems_free(&p);
}

START_TEST(fixtures_are_valid)
{
    static const char *const files[] = {
        FIXTURES_DIR "/specs/reference-pen.json",
        FIXTURES_DIR "/sequences/eol.json",
        FIXTURES_DIR "/sequences/dvt-sweep.json",
    };
    for (size_t i = 0; i < 3; i++) {
        struct rig_problems p;
        problems_init(&p);
        const char *kind = NULL;
        int rc = check_file(files[i], &p, &kind);
        dump(&p);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(kind, i == 0 ? "spec" : "sequence");
        problems_free(&p);
    }
    struct rig_problems p;
    problems_init(&p);
    struct rig_sequence *s = sequence_load(FIXTURES_DIR "/sequences/dvt-sweep.json", &p);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(s->spec);
    ck_assert_str_eq(s->spec->model, "MNP-A");
    ck_assert_int_eq(s->policy, POLICY_CONTINUE);
    /* setup 4 + 3 x 10 x 3 + teardown 1 */
    ck_assert_uint_eq(sequence_leaf_count(s), 95);
    ck_assert_uint_eq(strlen(s->sha256), 64);
    ck_assert(spec_applies(s->spec, "MNP-A", 2));
    ck_assert(!spec_applies(s->spec, "MNP-A", 7));
    ck_assert(!spec_applies(s->spec, "MNP-B", 2));
    sequence_free(s);
    problems_free(&p);
}
END_TEST

START_TEST(broken_spec)
{
    in_data_dir();
    static const char *const want[] = {
        "bad-spec.json: $.colour: unknown key",
        "bad-spec.json: $.pen.hw_revisions[1]: must be an integer 0..255",
        "bad-spec.json: $.measurements[0].quantity: unknown quantity \"stroke_rate\"",
        "bad-spec.json: $.measurements[1].units: depth_mean_mm is measured in \"mm\", not \"um\"",
        "bad-spec.json: $.measurements[1]: \"nominal\" needs one of \"tolerance\", \"tolerance_pct\", \"tolerance_ppm\"",
        "bad-spec.json: $.measurements[2]: \"low\" (0.9) is above \"high\" (0.3)",
        "bad-spec.json: $.measurements[3].pattern: invalid regular expression: *",
        "bad-spec.json: $.measurements[4]: pen_model is a string: use comparison STREQ or MATCH",
        "bad-spec.json: $.measurements[5].limit: unknown setpoint reference \"$speed\" (use \"$rate_hz\" or \"$depth_mm\")",
        "bad-spec.json: $.measurements[5].name: \"rate\" already used by $.measurements[0]",
        "bad-spec.json: $.measurements[6].comparison: unknown comparison \"WITHIN\" (EQ NE GT LT GE LE GTLT GELE GELT GTLE LTGT LEGE LEGT LTGE STREQ MATCH)",
    };
    expect("bad-spec.json", want, sizeof want / sizeof want[0]);
}
END_TEST

START_TEST(broken_sequence)
{
    in_data_dir();
    static const char *const want[] = {
        "bad-sequence.json: $.policy: must be \"stop-on-first-fail\" or \"continue\"",
        "bad-sequence.json: $.main[0].rate_hz: $rate_hz is only defined inside a sweep over \"rates_hz\"",
        "bad-sequence.json: $.main[0].depth_mm: 4 is out of range [0, 3]",
        "bad-sequence.json: $.main[1].step: unknown step \"warmup\" (identify configure start stop settle capture sweep repeat retry)",
        "bad-sequence.json: $.main[2].seconds: -1 is out of range [0, 600]",
        "bad-sequence.json: $.main[3]: give \"seconds\" or \"strokes\", not both",
        "bad-sequence.json: $.main[3].evaluate[1]: \"spin_up\" (spinup_ms) can only be evaluated in a capture step with \"with\": \"start\"",
        "bad-sequence.json: $.main[3].evaluate[2]: no measurement \"colour\" in spec ../../../fixtures/specs/reference-pen.json",
        "bad-sequence.json: $.main[4].evaluate[0]: \"depth\" (depth_mean_mm) can only be evaluated in a capture step",
        "bad-sequence.json: $.main[5].rates_hz[1]: 200 is out of range [50, 150]",
        "bad-sequence.json: $.main[5].steps[0].speed: unknown key",
        "bad-sequence.json: $.main[5].steps[0].depth_mm: $depth_mm is only defined inside a sweep over \"depths_mm\"",
        "bad-sequence.json: $.main[6].attempts: 0 is out of range [1, 10]",
        "bad-sequence.json: $.main[6].steps: must have at least 1 item",
    };
    expect("bad-sequence.json", want, sizeof want / sizeof want[0]);
}
END_TEST

START_TEST(syntax_and_kind_errors)
{
    in_data_dir();
    static const char *const syntax[] = { "syntax-error.json: $: invalid JSON at line 6 column 5" };
    expect("syntax-error.json", syntax, 1);
    static const char *const orphan[] = {
        "missing-spec.json: $.spec: cannot open spec file no-such-spec.json: No such file or directory",
    };
    expect("missing-spec.json", orphan, 1);
    static const char *const kind[] = {
        "not-a-rig-file.json: $.format: not a rig file: expected \"rig-spec/1\" or \"rig-sequence/1\"",
    };
    expect("not-a-rig-file.json", kind, 1);
    static const char *const many[] = {
        "many-keys.json: $: more than 256 keys",
        "many-keys.json: $.name: missing (a string is required)",
        "many-keys.json: $.version: missing (a string is required)",
        "many-keys.json: $.pen: missing (an object with \"model\" is required)",
        "many-keys.json: $.measurements: missing (an array is required)",
    };
    expect("many-keys.json", many, 5);
    static const char *const none[] = { "absent.json: $: cannot open: No such file or directory" };
    expect("absent.json", none, 1);
}
END_TEST

START_TEST(memory_parsers)
{
    static const char spec[] =
        "{\"format\":\"rig-spec/1\",\"name\":\"m\",\"version\":\"1\",\"pen\":{\"model\":\"X\"},"
        "\"measurements\":[{\"name\":\"r\",\"quantity\":\"stroke_rate_hz\",\"units\":\"Hz\","
        "\"nominal\":\"$rate_hz\",\"tolerance_pct\":5}]}";
    struct rig_problems p;
    problems_init(&p);
    struct rig_spec *s = spec_parse("mem", spec, sizeof spec - 1, &p);
    dump(&p);
    ck_assert_ptr_nonnull(s);
    ck_assert(spec_applies(s, "X", 9)); /* no revision list: any revision */
    static const char seq[] =
        "{\"format\":\"rig-sequence/1\",\"name\":\"q\",\"spec\":\"whatever.json\","
        "\"policy\":\"continue\",\"main\":[{\"step\":\"capture\",\"seconds\":1,\"evaluate\":[\"r\",\"nope\"]}],"
        "\"main\":[]}";
    struct rig_sequence *q = sequence_parse("mem", seq, sizeof seq - 1, s, &p);
    ck_assert_ptr_null(q);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.msg[0], "mem: $.main: duplicate key");
    ck_assert_str_eq(p.msg[1], "mem: $.main[0].evaluate[1]: no measurement \"nope\" in spec mem");
    problems_free(&p);
    /* trailing garbage is a syntax error, not ignored */
    static const char junk[] = "{} x";
    ck_assert_ptr_null(spec_parse("junk", junk, sizeof junk - 1, &p));
    ck_assert_str_eq(p.msg[0], "junk: $: invalid JSON at line 1 column 4");
    problems_free(&p);
    spec_free(s);
}
END_TEST

/* rigctl check catches what would otherwise fail at run time: a capture
 * by stroke count before any rate is configured. The contents path
 * (sequence_from_texts) validates the same way as files. */
START_TEST(strokes_need_a_configured_rate)
{
    static const char spec[] =
        "{\"format\":\"rig-spec/1\",\"name\":\"m\",\"version\":\"1\",\"pen\":{\"model\":\"X\"},"
        "\"measurements\":[{\"name\":\"r\",\"quantity\":\"stroke_rate_hz\",\"units\":\"Hz\","
        "\"nominal\":\"$rate_hz\",\"tolerance_pct\":5}]}";
    static const char bad[] =
        "{\"format\":\"rig-sequence/1\",\"name\":\"q\",\"spec\":\"s.json\",\"policy\":\"continue\","
        "\"main\":[{\"step\":\"configure\",\"depth_mm\":1},"
        "{\"step\":\"capture\",\"strokes\":50,\"evaluate\":[\"r\"]},"
        "{\"step\":\"configure\",\"rate_hz\":100},"
        "{\"step\":\"capture\",\"strokes\":50,\"evaluate\":[\"r\"]}]}";
    struct rig_problems p;
    problems_init(&p);
    struct rig_sequence *q =
        sequence_from_texts("seq.json", bad, sizeof bad - 1, "s.json", spec, sizeof spec - 1, &p);
    ck_assert_ptr_null(q);
    dump(&p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_str_eq(p.msg[0], "seq.json: $.main[1]: capture by strokes needs a stroke rate: "
                               "configure \"rate_hz\" in an earlier step");
    problems_free(&p);
    /* a sweep over rates configures "$rate_hz": fine */
    static const char good[] =
        "{\"format\":\"rig-sequence/1\",\"name\":\"q\",\"spec\":\"s.json\",\"policy\":\"continue\","
        "\"main\":[{\"step\":\"sweep\",\"rates_hz\":[50,100],\"steps\":["
        "{\"step\":\"configure\",\"rate_hz\":\"$rate_hz\"},"
        "{\"step\":\"capture\",\"strokes\":50,\"evaluate\":[\"r\"]}]}]}";
    q = sequence_from_texts("seq.json", good, sizeof good - 1, "s.json", spec, sizeof spec - 1, &p);
    dump(&p);
    ck_assert_ptr_nonnull(q);
    ck_assert_str_eq(q->spec_path, "s.json");
    sequence_free(q);
    problems_free(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, fixtures_are_valid);
    tcase_add_test(tc, broken_spec);
    tcase_add_test(tc, broken_sequence);
    tcase_add_test(tc, syntax_and_kind_errors);
    tcase_add_test(tc, memory_parsers);
    tcase_add_test(tc, strokes_need_a_configured_rate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
