/* Inline SVG plots for static reports, drawn by the project (no plotting
 * library, no script): a frame with "nice" axis ticks, lines, markers,
 * limit lines and bands, setpoint steps, bars and a legend. The SVG goes
 * into an html.h writer, so a report stays one self-contained file.
 *
 * Contract:
 * - Pure functions over caller data; no globals. A plot's clip path id
 *   comes from the caller (svg_plot_opts.id) and must be unique in the
 *   page.
 * - Every number written (coordinates, tick labels) is formatted without
 *   the process locale: '.' is always the decimal point.
 * - Ticks are 1-2-5 steps (1, 2, 5 x 10^k) covering the data range with
 *   at most max_ticks intervals; a degenerate range (lo == hi, or no
 *   finite data) is widened so the plot still has an axis.
 * - Lines are decimated to at most SVG_MAX_POINTS points per series
 *   (min and max of each bucket, in order), so a 100k-sample capture
 *   stays a few tens of kB and its peaks are kept.
 * - Non-finite values are skipped: a line breaks at them, a marker or
 *   bar is not drawn, a limit line or band with a non-finite edge is
 *   drawn only on its finite side (bands) or not at all (lines).
 * - Series are styled by index (0..7, wrapping): colour (Okabe-Ito, safe
 *   for colour-blind readers), dash pattern and marker shape all differ,
 *   so series stay distinguishable in grey print. */
#ifndef RIG_REPORT_SVG_H
#define RIG_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "report/html.h"

#define SVG_MAX_POINTS 1500
#define SVG_SERIES     8

/* Axis ticks: at lo + i * step for i in [0, n); lo and hi are the axis
 * ends (multiples of step around the data range). */
struct svg_ticks {
    double lo, hi, step;
    int n; /* number of ticks (intervals + 1) */
};

/* The 1-2-5 step for `span` cut into at most max_intervals (>= 1) parts:
 * the smallest of 1, 2, 5 x 10^k with span / step <= max_intervals. */
double svg_nice_step(double span, int max_intervals);
/* Ticks covering [lo, hi] (either order, NaN-safe as described above). */
void svg_ticks(double lo, double hi, int max_intervals, struct svg_ticks *t);

/* Format v with at most `sig` significant digits (%g style, '.' decimal
 * point, no exponent for 1e-4 <= |v| < 1e9). Non-finite: "\u2013" (an en
 * dash: not measured). Returns the length written. */
size_t svg_fmt_num(char *buf, size_t n, double v, int sig);
/* Format a tick value with the decimals its step needs (step 0.05 -> 2
 * decimals, step 20 -> none). */
size_t svg_fmt_tick(char *buf, size_t n, double v, double step);
/* Format a pixel coordinate with one decimal, locale-free. */
size_t svg_fmt_px(char *buf, size_t n, double px);

/* Extend [*lo, *hi] by the finite values of v[0..n) (start with NAN, NAN). */
void svg_range_add(double *lo, double *hi, const double *v, size_t n);
/* Extend by one value (skipped if not finite). */
void svg_range_add1(double *lo, double *hi, double v);

/* Indices of the points kept when decimating n points to at most max
 * (>= 4): every point if n <= max, else per bucket its min and max of y
 * in index order, plus the first and last point. Writes up to max indices
 * to idx and returns their count. Non-finite y values are kept (they
 * break the line) only when they are a bucket's first point. */
size_t svg_decimate(const double *y, size_t n, size_t max, size_t *idx);

/* The CSS the plots use (html_page_begin includes it). */
const char *svg_css(void);

struct svg_plot_opts {
    const char *id;     /* unique in the page; required */
    int width, height;  /* whole SVG in px; 0: 960 x 300 */
    const char *title;  /* drawn top-left; may be NULL */
    const char *xlabel; /* axis titles, e.g. "Time"; may be NULL */
    const char *xunit;  /* e.g. "ms"; drawn as "Time (ms)" */
    const char *ylabel;
    const char *yunit;
    double xlo, xhi; /* data ranges to show; expanded to ticks */
    double ylo, yhi;
    bool x_exact; /* keep [xlo, xhi] as the x axis ends (e.g. time) */
    /* Categorical x axis (Pareto, per-step bars): category i is centred
     * on x = i, the axis runs from -0.5 to ncats - 0.5. xlo/xhi ignored. */
    const char *const *xcats;
    size_t ncats;
};

struct svg_plot {
    struct html *out;
    char id[64];
    double px0, py0, pw, ph; /* plot area: left, top, width, height */
    double xlo, xhi, ylo, yhi;
    struct svg_ticks xt, yt;
    bool categorical;
    int width, height;
    double legend_x; /* next legend item's x (items flow left to right) */
};

/* Opens the <svg>, draws the frame, grid, ticks, labels and title, and
 * opens the clipped data group. Returns 0, or -EINVAL if opts->id is
 * missing (nothing written). */
int svg_plot_begin(struct html *out, const struct svg_plot_opts *o, struct svg_plot *p);
/* Closes the data group and the <svg>. */
void svg_plot_end(struct svg_plot *p);

/* Data to pixels (no clamping). */
double svg_sx(const struct svg_plot *p, double x);
double svg_sy(const struct svg_plot *p, double y);

/* A line through (x[i], y[i]), x ascending; decimated, broken at
 * non-finite values. */
void svg_line(struct svg_plot *p, const double *x, const double *y, size_t n, int series);
/* A line through (x0 + i * dx, y[i]): uniformly sampled data. */
void svg_line_uniform(struct svg_plot *p, double x0, double dx, const double *y, size_t n,
                      int series);
/* Markers (the series' shape) at (x[i], y[i]); x NULL: x = i. At most
 * SVG_MAX_POINTS markers (evenly thinned beyond that). */
void svg_markers(struct svg_plot *p, const double *x, const double *y, size_t n, int series);
/* A step line: y[i] holds from x[i] to x[i+1] (the last to x_end). */
void svg_steps(struct svg_plot *p, const double *x, const double *y, size_t n, double x_end,
               int series);

enum svg_limit_kind {
    SVG_LIM_LIMIT,    /* spec limit: red, dashed */
    SVG_LIM_MARGINAL, /* marginal band edge: amber, dotted */
    SVG_LIM_TARGET,   /* nominal / setpoint: grey, dash-dot */
    SVG_LIM_CONTROL,  /* control limit (SPC): blue, long dash */
};
/* A horizontal line across the plot at y, with a label (text, may be
 * NULL) at its right end, e.g. "USL 1.55". */
void svg_hline(struct svg_plot *p, double y, enum svg_limit_kind k, const char *label);
/* A vertical line at x (e.g. LSL/USL on a histogram), label at its top. */
void svg_vline(struct svg_plot *p, double x, enum svg_limit_kind k, const char *label);

enum svg_band_kind {
    SVG_BAND_OK,       /* inside the limits: light green */
    SVG_BAND_MARGINAL, /* marginal zone: light amber */
    SVG_BAND_BAD,      /* outside the limits: light red */
};
/* A shaded rectangle from x0 to x1 (non-finite: the plot's left/right
 * edge) and from y0 (lower; non-finite: the bottom) to y1 (upper;
 * non-finite: the top), e.g. the region above a USL: (NAN, NAN, usl, NAN). */
void svg_band(struct svg_plot *p, double x0, double x1, double y0, double y1, enum svg_band_kind k);

/* Bars from y = base to y[i], spanning x0[i]..x1[i] (histogram bins).
 * For a categorical axis pass x0 = NULL: bar i is centred on i, 70 %
 * wide. x1 may be NULL then too. */
void svg_bars(struct svg_plot *p, const double *x0, const double *x1, const double *y, size_t n,
              double base, int series);

/* Text at data coordinates (e.g. a value above a bar). */
void svg_label(struct svg_plot *p, double x, double y, const char *text, const char *anchor);

enum svg_legend_kind {
    SVG_LEG_LINE,
    SVG_LEG_MARKER,
    SVG_LEG_BAR,
    SVG_LEG_LIMIT, /* uses `limit` */
    SVG_LEG_BAND,  /* uses `band` */
};
struct svg_legend_item {
    const char *label;
    enum svg_legend_kind kind;
    int series;
    enum svg_limit_kind limit;
    enum svg_band_kind band;
};
/* Draws the items in a row above the plot area, right of the title. */
void svg_legend(struct svg_plot *p, const struct svg_legend_item *items, size_t n);

#endif
