/* The lot (period) report: one self-contained HTML page (inline CSS and
 * SVG, nothing loaded from outside, prints to PDF) over a selection of
 * runs from a results database (store_lot.h): the selection and its
 * stations, counts, yields and retests, the failure Pareto, per
 * measurement a histogram with its spec limits and Cp/Cpk/Pp/Ppk, an
 * individuals/moving-range chart (or X-bar/R over subgroups) with the
 * Western Electric rules flagged, and the failed runs linked to their
 * run reports.
 *
 * Contract:
 *  - Figures: yields, Pareto and counts are store_stats's (the JSON in
 *    lot->stats); Cp/Cpk/Pp/Ppk are store_capability() of the
 *    population's values, formatted by lot_report_fmt_index(); chart
 *    limits and rules are spc.h's. Numbers a test looks up carry a
 *    data-fig="<key>" attribute on their cell: "runs", "complete",
 *    "units", "fpy", "final_yield", "retests", "failed_runs", and
 *    "<measurement> <figure>" for cp, cpk, pp, ppk, n, mean.
 *  - Run links are relative: lot_report_run_file() names the run report
 *    of a run (the record's file name with .html for .json, else
 *    "<run id>.html"), so the run reports belong next to the lot report.
 *  - 0 or -errno with a message in err; the page is in h only after 0.
 */
#ifndef RIG_REPORT_LOT_REPORT_H
#define RIG_REPORT_LOT_REPORT_H

#include <stddef.h>

#include "report/html.h"
#include "store/store_lot.h"

struct lot_report_opts {
    const struct store_filter *filter; /* the selection, for the header; may be NULL */
    const char *source;                /* e.g. "station database /var/lib/rig/station.db" */
    unsigned subgroup;                 /* 0: I-MR chart; 2..25: X-bar/R of that size */
    const char *generated;             /* "generated" time text; NULL: now (UTC) */
    size_t max_violations;             /* listed per measurement; 0: 50 */
    /* Links to run reports: this prefix + the run id (rigweb:
     * "/reports/run/"); NULL: the record's report file name, beside the page. */
    const char *run_link_prefix;
};

int lot_report_write(struct html *h, const struct store_lot *lot, const struct lot_report_opts *o,
                     char *err, size_t errlen);

/* The file name of run u's report (see above) into buf. */
void lot_report_run_file(const struct store_lot_run *u, char *buf, size_t n);

/* A capability index as the report prints it: 3 significant digits,
 * "–" when there is none (NaN). */
void lot_report_fmt_index(char *buf, size_t n, double v);

#endif
