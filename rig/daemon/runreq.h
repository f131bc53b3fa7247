/* The "run" request, checked before anything moves (runner layer: used by
 * runner.c only). Every refusal is replied to the client, with what is
 * wrong; a refused run writes nothing and touches no device.
 */
#ifndef RIGD_RUNREQ_H
#define RIGD_RUNREQ_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/sequence.h"
#include "daemon/bench.h"

#define RUNREQ_NAME_MAX 129
struct run_request {
    struct rig_sequence *seq; /* loaded and validated, owned */
    char dut[64], operator_name[64];
    char study[64]; /* a gauge study's run: id, part and trial ("" = none) */
    unsigned study_part, study_trial;
    char record_name[RUNREQ_NAME_MAX]; /* "" = default name */
    bool wait;
};
/* Arguments (their types already checked), files, and a named record
 * that must not exist yet. 0, or -1 after replying the error to c. */
int run_request_parse(struct bench *bench, struct api_client *c, const cJSON *req,
                      struct run_request *out);
void run_request_free(struct run_request *rq);
/* Both devices attached, (check_unit) the pen in the fixture is rq->dut,
 * and room on disk for the run. 0, or -1 after replying the error. */
int run_request_bench_ready(struct bench *bench, struct api_client *c, const cJSON *req,
                            const struct run_request *rq, bool check_unit);
/* Where the record goes: results_dir/NAME, or results_dir/<dut>-<UTC
 * time>-<run id>.json; creates the results directory. 0 or -errno. */
int run_request_record_path(struct bench *bench, const struct run_request *rq, const char *run_id,
                            char *out, size_t cap, char *err, size_t errlen);

#endif
