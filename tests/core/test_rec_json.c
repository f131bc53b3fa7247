/* rec_from_json (core/rec.h): a record the JSON sink wrote reads back and
 * serialises to the same bytes; a document that is not such a record is
 * refused with a message that says what is wrong and where. The record
 * used is the last version of tests/core/data/records/eol-tare-actions.txt
 * (identify, captures, a tare, rig actions, a final stop). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rec.h"

/* The pinned record, its masked "software" member made valid again. */
static char *golden_record(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/records/eol-tare-actions.txt", CORE_TEST_DATA);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *all = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&all, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(f);
    char *last = NULL, *p = all;
    while ((p = strstr(p, "=== version ")))
        last = p++;
    ck_assert_ptr_nonnull(last);
    char *doc = strchr(last, '\n') + 1;
    char *sw = strstr(doc, "\"software\":\t{");
    char *end = sw ? strchr(sw, '}') : NULL;
    ck_assert_ptr_nonnull(end);
    static const char valid[] =
        "\"software\":\t{\n\t\t\"name\":\t\"rig\",\n\t\t\"version\":\t\"1.0\","
        "\n\t\t\"vcs\":\t\"abc\",\n\t\t\"dirty\":\tfalse\n\t";
    char *text = NULL;
    out = open_memstream(&text, &len);
    fwrite(doc, 1, (size_t)(sw - doc), out);
    fputs(valid, out);
    fputs(end, out);
    fclose(out);
    free(all);
    /* the file holds one version per "=== version" block: cut at the blank line */
    char *blank = strstr(text, "}\n\n");
    if (blank)
        blank[2] = '\0';
    return text;
}

START_TEST(sink_record_round_trips)
{
    char *text = golden_record();
    cJSON *doc = cJSON_Parse(text);
    ck_assert_ptr_nonnull(doc);
    struct rec_run r;
    char err[256];
    ck_assert_msg(rec_from_json(doc, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(r.id, "6f1c2a3b-0000-4000-8000-00000000c0de");
    ck_assert(r.complete && r.outcome == OUTCOME_PASS);
    ck_assert_uint_eq(r.nsteps, 11);
    ck_assert(r.tare.present && r.tare.done && r.tare.offset_raw_un == -1234);
    ck_assert_uint_eq(r.nrig_actions, 2);
    ck_assert_int_eq(r.actions_place, REC_ACTIONS_EARLY);
    ck_assert(r.has_reported && r.reported.fw_minor == 4);
    ck_assert_ptr_nonnull(r.steps[2].capture);
    cJSON *back = rec_to_json(&r);
    char *again = cJSON_Print(back);
    size_t len = strlen(again);
    ck_assert(strncmp(again, text, len) == 0 && strcmp(text + len, "\n") == 0);
    free(again);
    cJSON_Delete(back);
    rec_run_free(&r);
    cJSON_Delete(doc);
    free(text);
}
END_TEST

/* path: members and array indices separated by '/'; value: JSON to put
 * there (NULL: delete it); want: a part of the message. */
static const struct {
    const char *path, *value, *want;
} broken[] = {
    { "format", "\"rig-record/2\"", "\"format\" must be \"rig-record/1\"" },
    { "id", NULL, "\"id\" must be a string" },
    { "id", "\"0123456789012345678901234567890123456789\"", "\"id\" is too long" },
    { "complete", "1", "\"complete\" must be true or false" },
    { "outcome", "\"GOOD\"", "\"outcome\" must be an outcome" },
    { "dut/serial", "7", "dut: \"serial\" must be a string" },
    { "dut/reported/firmware", "\"1.4\"", "dut.reported: \"firmware\" must be a version" },
    { "dut/reported/hw_revision", "256", "\"hw_revision\" must be an integer from 0 to 255" },
    { "software", "[]", "software: \"software\" must be an object" },
    { "fixture", "false", "\"fixture\" must be a string" },
    { "sequence/sha256", NULL, "sequence: \"sha256\" must be a string" },
    { "spec/attachment_sha256", NULL, "spec: \"attachment_sha256\" must be a string" },
    { "instruments/0/cal_due", "\"2026-13-45\"", "instruments[0]: \"cal_due\" must be a date" },
    { "instruments/0/role", "\"a role name far too long\"", "\"role\" is too long" },
    { "instruments/0/coefficients", "{\"force_gain_ppm\":1e300}", "\"force_gain_ppm\" must be" },
    { "started_utc", "\"yesterday\"", "\"started_utc\" must be a UTC time" },
    { "ended_utc", "\"2026-02-30T00:00:00.000Z\"", "\"ended_utc\" must be a UTC time" },
    { "retries", "-1", "\"retries\" must be an integer" },
    { "steps", "{}", "\"steps\" must be an array" },
    { "steps/1", "3", "steps[1]: a step must be an object" },
    { "steps/0/index", "0", "steps[0]: \"index\" must be 1 or more" },
    { "steps/0/index", "1.5", "steps[0]: \"index\" must be an integer" },
    { "steps/0/kind", "\"sweep-ish\"", "steps[0]: \"kind\" must be a step kind" },
    { "steps/0/setpoints", NULL, "steps[0]: \"setpoints\" must be an object" },
    { "steps/0/measurements/0/comparison", "\"ZZ\"", "steps[0]: \"comparison\" must be" },
    { "steps/2/measurements/0/low", NULL, "steps[2]: \"low\" is missing" },
    { "steps/5/measurements/0/high", NULL, "steps[5]: \"high\" is missing" },
    { "steps/2/measurements/0/value", "{}", "steps[2]: \"value\" must be a number or null" },
    { "steps/2/capture/flags", "[\"bogus\"]", "steps[2]: \"flags\" holds an unknown flag" },
    { "steps/2/capture/samples", "-3", "steps[2]: \"samples\" must be an integer" },
    { "steps/2/capture/analysis", NULL, "steps[2]: \"analysis\" must be an object" },
    { "steps/2/capture/sha256", NULL, "steps[2]: \"sha256\" must be a string" },
    { "steps/2/loop", "{\"a\":\"b\"}", "steps[2]: \"loop\" must hold" },
    { "summary", NULL, "summary: \"summary\" must be an object" },
    { "tare/utc", NULL, "tare: \"utc\" must be a UTC time" },
    { "tare/offset_raw_un", "2147483648", "tare: \"offset_raw_un\" must be an integer" },
    { "rig_actions", "[]", "rig_actions: \"rig_actions\" must not be empty" },
    { "rig_actions/0/reason", "null", "rig_actions: \"reason\" must be a string" },
    { "final_stop", "{\"sent\":false,\"result\":\"x\"}", "final_stop: \"sent\" must be true" },
};

/* Put value at path in doc (or delete what is there). */
static void mutate(cJSON *doc, const char *path, const char *value)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    cJSON *parent = doc;
    char *key = buf, *slash;
    while ((slash = strchr(key, '/'))) {
        *slash = '\0';
        parent = cJSON_IsArray(parent) ? cJSON_GetArrayItem(parent, atoi(key))
                                       : cJSON_GetObjectItemCaseSensitive(parent, key);
        ck_assert_msg(parent != NULL, "%s: no %s", path, key);
        key = slash + 1;
    }
    cJSON *v = value ? cJSON_Parse(value) : NULL;
    ck_assert(!value || v);
    if (cJSON_IsArray(parent)) {
        if (v)
            cJSON_ReplaceItemInArray(parent, atoi(key), v);
        else
            cJSON_DeleteItemFromArray(parent, atoi(key));
    } else if (!v) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    } else if (cJSON_GetObjectItemCaseSensitive(parent, key)) {
        cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v);
    } else {
        cJSON_AddItemToObject(parent, key, v);
    }
}

START_TEST(malformed_record_is_refused_with_a_message)
{
    char *text = golden_record();
    cJSON *doc = cJSON_Parse(text);
    ck_assert_ptr_nonnull(doc);
    mutate(doc, broken[_i].path, broken[_i].value);
    struct rec_run r;
    char err[256] = "untouched";
    int rc = rec_from_json(doc, &r, err, sizeof err);
    ck_assert_msg(rc == -EINVAL, "%s = %s: accepted", broken[_i].path,
                  broken[_i].value ? broken[_i].value : "(deleted)");
    ck_assert_msg(strstr(err, broken[_i].want) != NULL, "%s: message \"%s\", want \"%s\"",
                  broken[_i].path, err, broken[_i].want);
    rec_run_free(&r);
    cJSON_Delete(doc);
    free(text);
}
END_TEST

START_TEST(not_a_record)
{
    static const char *const docs[] = { "[]", "null", "\"rig-record/1\"", "{}",
                                        "{\"format\":\"rig-record/1\"}" };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *doc = cJSON_Parse(docs[i]);
        struct rec_run r;
        char err[256] = "";
        ck_assert_int_eq(rec_from_json(doc, &r, err, sizeof err), -EINVAL);
        ck_assert_msg(err[0] != '\0', "%s: no message", docs[i]);
        rec_run_free(&r);
        cJSON_Delete(doc);
    }
    struct rec_run r;
    char err[64];
    ck_assert_int_eq(rec_from_json(NULL, &r, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "a record must be a JSON object");
    rec_run_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record JSON");
    TCase *tc = tcase_create("rec_from_json");
    tcase_add_test(tc, sink_record_round_trips);
    tcase_add_loop_test(tc, malformed_record_is_refused_with_a_message, 0,
                        (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, not_a_record);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
