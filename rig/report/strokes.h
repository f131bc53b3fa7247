/* Per-stroke values of a capture for reports: parsed from the record's
 * per-stroke file (<stem>.capN.strokes.csv, docs/RECORD.md), which
 * retention keeps, or recomputed from the capture's samples when that
 * file is missing.
 *
 * Contract:
 * - strokes_parse() reads outside input (a file beside a record): it
 *   accepts exactly the header "stroke,rise_s,peak_s,depth_mm,
 *   peak_force_n,steady" and then one line per stroke, numbered 1, 2, ...
 *   in order, with finite times, a finite depth, an empty or finite
 *   force and steady 0 or 1; CRLF line ends and a missing final newline
 *   are accepted. Anything else: -EINVAL with "line N: why" in err, and
 *   nothing allocated. At most STROKES_MAX lines. Numbers are read
 *   without the process locale (GLib's g_ascii_strtod). Fuzzed:
 *   tests/report/fuzz_strokes_csv.c.
 * - strokes_from_capture() runs the engine's analysis (an_analyse) on a
 *   capture read back with capture_read(): the same strokes the record's
 *   file lists, for records without one.
 * Functions return 0 or -errno with a message in err. */
#ifndef RIG_REPORT_STROKES_H
#define RIG_REPORT_STROKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* More strokes than a 22-minute capture at 500 Hz: a bound for hostile
 * files, not a limit of real ones. */
#define STROKES_MAX 1000000

struct rep_stroke {
    double rise_s, peak_s; /* from the capture's first sample */
    double depth_mm;
    double force_n; /* peak force above the force zero; NaN: none */
    bool steady;
};

struct rep_strokes {
    struct rep_stroke *v; /* malloc'd; NULL when n == 0 */
    size_t n;
};

void strokes_free(struct rep_strokes *s);
int strokes_parse(const char *text, size_t len, struct rep_strokes *out, char *err, size_t errlen);
/* Read and parse a per-stroke file. */
int strokes_load(const char *path, struct rep_strokes *out, char *err, size_t errlen);
/* The strokes of a capture, by the engine's analysis; start_index,
 * stop_index and set_rate_hz as the record's capture and setpoints say
 * (-1, -1, 0 when unknown). */
int strokes_from_capture(const struct rig_capture *c, int64_t start_index, int64_t stop_index,
                         double set_rate_hz, double set_depth_mm, struct rep_strokes *out,
                         char *err, size_t errlen);

#endif
