/* Helpers shared by the executor's tests (test_run.c, test_run_records.c):
 * a temporary record directory, loading sequences, running on the
 * synthetic bench, reading records back, and checking JUnit XML. */
#include "runtest.h"

#include <check.h>
#include <dirent.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/recompute.h"
#include "core/record.h"

char tmpdir[64];
char record_path[256];

void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rig-core-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(record_path, sizeof record_path, "%s/run.json", tmpdir);
}

/* Remove the test's directory (flat: records and attachments only). */
void remove_tmp(void)
{
    if (!tmpdir[0])
        return;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
            ck_assert_int_eq(unlink(p), 0);
        }
        closedir(d);
    }
    ck_assert_int_eq(rmdir(tmpdir), 0);
    tmpdir[0] = '\0';
}

struct rig_sequence *load(const char *path)
{
    struct rig_problems p;
    problems_init(&p);
    struct rig_sequence *s = sequence_load(path, &p);
    for (size_t i = 0; i < p.count; i++)
        fprintf(stderr, "%s\n", p.msg[i]);
    ck_assert_ptr_nonnull(s);
    problems_free(&p);
    return s;
}

/* A sequence from text, checked against the reference spec. */
static struct rig_spec *ref_spec;
struct rig_sequence *inline_seq(const char *json)
{
    struct rig_problems p;
    problems_init(&p);
    if (!ref_spec)
        ref_spec = spec_load(FIXTURES_DIR "/specs/reference-pen.json", &p);
    ck_assert_ptr_nonnull(ref_spec);
    struct rig_sequence *s = sequence_parse("inline", json, strlen(json), ref_spec, &p);
    for (size_t i = 0; i < p.count; i++)
        fprintf(stderr, "%s\n", p.msg[i]);
    ck_assert_ptr_nonnull(s);
    problems_free(&p);
    return s;
}

struct run_result run(struct bench *b, const struct rig_sequence *s, const char *record)
{
    struct run_config cfg = { .seq = s,
                              .dut_serial = "PA-0000042",
                              .operator_name = "Q <&> A",
                              .station_id = "EOL-3",
                              .record_path = record };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &bench_ops, b, &r), 0);
    return r;
}

cJSON *read_record_as_is(void)
{
    char err[256];
    cJSON *r = record_read(record_path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    return r;
}

int recompute(char **diffs)
{
    char err[256];
    size_t len = 0;
    *diffs = NULL;
    FILE *out = open_memstream(diffs, &len);
    ck_assert_ptr_nonnull(out);
    struct recompute_result rr;
    int rc = recompute_record(record_path, out, &rr, err, sizeof err);
    if (rc < 0)
        fputs(err, out);
    fclose(out);
    return rc;
}

cJSON *read_record(void)
{
    cJSON *r = read_record_as_is();
    /* Every record a test reads recomputes from its attachments to what it
     * says (rig/core/recompute.h). */
    char *diffs;
    int rc = recompute(&diffs);
    ck_assert_msg(rc == 0, "the record does not recompute: %s", diffs);
    free(diffs);
    return r;
}

const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Outcome of measurement name in the first non-superseded step holding it. */
const cJSON *find_measurement(const cJSON *rec, const char *name)
{
    const cJSON *s, *m;
    cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive(rec, "steps")) {
        if (cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            continue;
        cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(s, "measurements"))
            if (strcmp(jstr(m, "name"), name) == 0)
                return m;
    }
    return NULL;
}

/* GMarkup is a strict XML well-formedness checker; count elements. */
static void on_start(GMarkupParseContext *ctx, const gchar *name, const gchar **an,
                     const gchar **av, gpointer user, GError **err)
{
    (void)ctx, (void)an, (void)av, (void)err;
    unsigned *counts = user;
    if (strcmp(name, "testcase") == 0)
        counts[0]++;
    else if (strcmp(name, "failure") == 0)
        counts[1]++;
    else if (strcmp(name, "property") == 0)
        counts[2]++;
}

/* Parse xml with GMarkup, counting testcase/failure/property elements;
 * fails the test with the parser's message if it is not well formed. */
void assert_well_formed(const char *xml, unsigned counts[3])
{
    GMarkupParser parser = { .start_element = on_start };
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, counts, NULL);
    GError *err = NULL;
    gboolean ok = g_markup_parse_context_parse(ctx, xml, (gssize)strlen(xml), &err) &&
                  g_markup_parse_context_end_parse(ctx, &err);
    ck_assert_msg(ok, "JUnit XML not well formed: %s\n%s", err ? err->message : "?", xml);
    g_markup_parse_context_free(ctx);
}
