/* Pieces of the run report shared by its files (not an API): the page
 * context, each capture's data as loaded for plots, and formatting
 * helpers. run_report.c writes the page; run_plots.c the plots;
 * run_data.c loads captures and per-stroke values. */
#ifndef RIG_REPORT_RUN_INT_H
#define RIG_REPORT_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/rec.h"
#include "report/html.h"
#include "report/run_report.h"
#include "report/strokes.h"

/* One capture step of the record and what could be read of it. */
struct rr_cap {
    const struct rec_step *step;
    unsigned no;       /* 1-based, in record order */
    bool have_samples; /* cap holds the samples */
    struct rig_capture cap;
    char why[320]; /* !have_samples: why not (pruned, missing, unreadable) */
    struct rep_strokes st;
    const char *st_source; /* where st came from; NULL: no per-stroke values */
    char st_why[320];      /* !st_source: why not */
};

struct rr_ctx {
    const struct rec_run *r;
    const struct run_report_opts *o;
    struct html *h;
    struct rr_cap *caps;
    size_t ncaps;
};

/* run_data.c: load every capture step's samples and strokes (never
 * fails but for memory: problems are kept in why / st_why). */
int rr_load_caps(struct rr_ctx *c, char *err, size_t errlen);
void rr_free_caps(struct rr_ctx *c);

/* run_plots.c: the plots section (per capture, then across captures). */
void rr_plots(struct rr_ctx *c);

/* Formatting (run_report.c). */
enum html_verdict rr_verdict(enum rig_outcome o, bool marginal);
/* "100 Hz, 1 mm" from a step's setpoints ("" when none). */
void rr_setpoints_text(const struct rec_step *s, char *buf, size_t len);
/* "#6 capture "start-up"": how the report names a step. */
void rr_step_label(const struct rec_step *s, char *buf, size_t len);
/* The measurement of step s with quantity q (NULL if none). */
const struct rec_measurement *rr_meas(const struct rec_step *s, const char *quantity);

#endif
