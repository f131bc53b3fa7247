/* The run report (issue 12, docs/REPORTS.md): one self-contained HTML
 * page per run record -- identity, an outcome banner with what failed
 * first, the measurement table, and plots made from the record's
 * captures and per-stroke files.
 *
 * Contract:
 * - run_report_render() never fails for what a record may legitimately
 *   hold: an incomplete, ERROR, TIMEOUT or ABORTED run, a capture pruned
 *   by retention, missing or unreadable attachments all give a page that
 *   says so where the data would be. It fails only when out of memory.
 * - Attachments are read from o->dir (the record's directory) by the
 *   names the record gives; nothing else is read, nothing is written.
 * - Every number taken from the record is printed by svg_fmt_num() with
 *   REPORT_SIG significant digits (docs/REPORTS.md), so a reader (and the
 *   tests) can match the page against the record.
 * - The page needs nothing from outside: inline CSS and SVG, no script,
 *   no link, no font or image fetched.
 * Functions return 0 or -errno with a message in err. */
#ifndef RIG_REPORT_RUN_REPORT_H
#define RIG_REPORT_RUN_REPORT_H

#include <stddef.h>

#include "core/rec.h"
#include "report/html.h"

#define REPORT_SIG 6

struct run_report_opts {
    const char *dir;         /* directory of the record's attachments; required */
    const char *record_name; /* the record file's name, shown as evidence; may be NULL */
    /* From the station database when known (0 / NULL: not known): the
     * run's attempt number for its DUT serial and why it was retested. */
    unsigned attempt;
    const char *retest_reason;
    int strokes_shown;     /* strokes in the waveform plots; 0: 4 */
    const char *generator; /* footer text, e.g. "rigctl 0.1.0 (abc123)"; may be NULL */
};

int run_report_render(const struct rec_run *r, const struct run_report_opts *o, struct html *out,
                      char *err, size_t errlen);

/* Read a record file (rig-record/1), render its report and write it to
 * out_path atomically. o may be NULL (defaults); o->dir is taken from
 * record_path when NULL. */
int run_report_file(const char *record_path, const char *out_path, const struct run_report_opts *o,
                    char *err, size_t errlen);
/* Render a record file's report into memory (for benchmarks and callers
 * that write elsewhere); out must be initialised. */
int run_report_build(const char *record_path, const struct run_report_opts *o, struct html *out,
                     char *err, size_t errlen);
/* "<record without .json>.html": where the station writes the report
 * automatically. 0, or -ENAMETOOLONG. */
int run_report_path_for(const char *record_path, char *out, size_t outlen);

#endif
