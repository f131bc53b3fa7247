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

/* The judged value and limit as the record entry holds them. */
struct measure_value {
    bool is_text;
    double number;   /* NaN: could not be measured */
    char text[64];   /* the value of a text quantity */
    char limit[128]; /* the limit as text (entry "limit") */
};

/* The record entry of measurement m judged at setpoints sp: name,
 * quantity, value, units, comparison, low/high or pattern/expected, limit,
 * outcome, marginal, note. *ev gets the verdict, why the text that says
 * why it is not PASS (or is marginal), *val (if given) the value and the
 * limit's text. NULL if out of memory. */
cJSON *measure_judge(const struct spec_measurement *m, const struct measure_src *v,
                     const struct lim_setpoints *sp, struct lim_eval *ev, char *why, size_t whylen,
                     struct measure_value *val);

#endif
