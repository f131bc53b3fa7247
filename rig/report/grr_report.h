/* The gauge R&R study report (rigctl grr analyse --html, docs/REPORTS-grr.md):
 * one self-contained HTML page per study -- the study, and per
 * measurement a verdict by the AIAG guidelines, the ANOVA table, the
 * components by both methods, and an appraiser-by-part chart of every
 * reading with each operator's part means.
 *
 * Contract:
 * - Pure rendering of what the caller computed (core/grr.h) into an
 *   html.h writer; nothing is read or written. Fails only when out of
 *   memory (0 or -ENOMEM, message in err).
 * - Numbers are printed with GRR_REPORT_SIG significant digits.
 * - The page needs nothing from outside: inline CSS and SVG, no script.
 */
#ifndef RIG_REPORT_GRR_REPORT_H
#define RIG_REPORT_GRR_REPORT_H

#include <stddef.h>

#include "core/grr.h"
#include "report/html.h"

#define GRR_REPORT_SIG 6

struct grr_report_meas {
    const char *name, *units; /* units may be NULL */
    const struct grr_data *data;
    const struct grr_result *r;
};

struct grr_report {
    const char *study, *sequence, *created_utc;
    const char *const *operators; /* data->operators names */
    const char *const *parts;     /* data->parts serials */
    const struct grr_report_meas *meas;
    size_t nmeas;
    const char *generator; /* footer, may be NULL */
};

int grr_report_render(const struct grr_report *rep, struct html *out, char *err, size_t errlen);

#endif
