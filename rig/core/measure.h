/* From what the rig observed to a judged measurement: the value of a
 * spec measurement's quantity (an analysed capture, the pen's status, its
 * identity) and its verdict against the limits at the step's setpoints.
 * The executor judges with it as a run goes; `rigctl recompute` judges
 * again with it from a record alone, so both always agree on how. */
#ifndef RIG_CORE_MEASURE_H
#define RIG_CORE_MEASURE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/analysis.h"
#include "core/outcome.h"
#include "protocol/pen.h"
#include "core/spec.h"
#include "core/speclimit.h"

struct measure_src {
    const struct an_result *an;      /* capture analysis, NULL outside captures */
    const struct pen_status *status; /* pen status, NULL if not read */
    const char *status_error;        /* why status is missing */
    const struct pen_identity *id;   /* identify step */
    /* Recomputing: values that come from no capture (status, identity) as
     * the record holds them; used instead of status/id when set. */
    const cJSON *recorded;
};

struct rec_measurement;

/* Measurement m judged at setpoints sp, as the record holds it (*out:
 * name, quantity, value, units, comparison, low/high or pattern/expected,
 * limit, outcome, marginal, note; free with rec_measurement_free). *ev
 * gets the verdict, why the text that says why it is not PASS (or is
 * marginal). 0, or -ENOMEM (*out then holds nothing). */
int measure_judge(const struct spec_measurement *m, const struct measure_src *v,
                  const struct lim_setpoints *sp, struct lim_eval *ev, char *why, size_t whylen,
                  struct rec_measurement *out);

#endif
