/* Helpers shared by the executor's tests (see runtest.c). */
#ifndef RIG_TESTS_CORE_RUNTEST_H
#define RIG_TESTS_CORE_RUNTEST_H

#include <cjson/cJSON.h>

#include "bench_ops.h"
#include "core/run.h"
#include "core/sequence.h"

extern char tmpdir[64];       /* a fresh directory per test (make_tmp) */
extern char record_path[256]; /* tmpdir/run.json */

void make_tmp(void);
/* Remove tmpdir (flat: records and attachments only). */
void remove_tmp(void);
struct rig_sequence *load(const char *path);
/* A sequence from text, checked against the reference spec. */
struct rig_sequence *inline_seq(const char *json);
/* Run on b as DUT PA-0000042 (the synthetic pen's serial). */
struct run_result run(struct bench *b, const struct rig_sequence *s, const char *record);
/* The record at record_path, which must recompute (recompute below). */
cJSON *read_record(void);
/* The same without recomputing (a test that broke it on purpose). */
cJSON *read_record_as_is(void);
/* recompute_record on record_path: its return, the differences (or why it
 * could not) in *diffs (malloc'd). */
int recompute(char **diffs);
const char *jstr(const cJSON *o, const char *k);
/* Measurement name in the first non-superseded step holding it. */
const cJSON *find_measurement(const cJSON *rec, const char *name);
/* Well-formed XML (GMarkup); counts[0..2] = testcase, failure, system-out. */
void assert_well_formed(const char *xml, unsigned counts[3]);

#endif
