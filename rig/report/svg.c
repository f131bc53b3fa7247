/* Inline SVG plots: ticks, scaling, decimation and the drawing primitives
 * (see svg.h). */
#include "report/svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series look: Okabe-Ito colours and dash patterns, all distinct, so a
 * grey printout still tells series apart (markers differ too, below). */
static const char plot_css[] =
    ".plot{font:11px 'DejaVu Sans','Liberation Sans',Arial,sans-serif;background:#fff}\n"
    ".plot .frame{fill:none;stroke:#57606a;stroke-width:1}\n"
    ".plot .grid{stroke:#e3e7eb;stroke-width:1}\n"
    ".plot .tick{fill:#3d444d}.plot .axt{fill:#1b1f24;font-size:12px}\n"
    ".plot .title{font-size:13px;font-weight:bold;fill:#1b1f24}\n"
    ".plot .ln{fill:none;stroke:var(--c);stroke-width:1.4;stroke-dasharray:var(--d);"
    "stroke-linejoin:round}\n"
    ".plot .st{fill:none;stroke:var(--c);stroke-width:2;stroke-dasharray:var(--d)}\n"
    ".plot .mk{fill:var(--c);stroke:#fff;stroke-width:.5}\n"
    ".plot .bar{fill:var(--c);fill-opacity:.8;stroke:#fff;stroke-width:.5}\n"
    ".s0{--c:#0072b2;--d:none}.s1{--c:#d55e00;--d:6 3}.s2{--c:#009e73;--d:2 2}"
    ".s3{--c:#cc79a7;--d:8 3 2 3}.s4{--c:#56b4e9;--d:4 4}.s5{--c:#e69f00;--d:10 4}"
    ".s6{--c:#000000;--d:1 3}.s7{--c:#999999;--d:12 3 3 3}\n"
    ".plot .lim{fill:none;stroke-width:1.5}\n"
    ".plot .k0{stroke:#cf222e;stroke-dasharray:7 4}.plot .k1{stroke:#bf8700;stroke-dasharray:2 3}"
    ".plot .k2{stroke:#57606a;stroke-dasharray:8 3 2 3}.plot .k3{stroke:#0550ae;"
    "stroke-dasharray:12 4}\n"
    ".plot text.k0{fill:#cf222e;stroke:none}.plot text.k1{fill:#9a6700;stroke:none}"
    ".plot text.k2{fill:#57606a;stroke:none}.plot text.k3{fill:#0550ae;stroke:none}\n"
    ".plot .b0{fill:#2da44e;fill-opacity:.12}.plot .b1{fill:#d4a72c;fill-opacity:.22}"
    ".plot .b2{fill:#cf222e;fill-opacity:.12}\n"
    ".plot .lbl{fill:#1b1f24;font-size:10px}\n";

const char *svg_css(void)
{
    return plot_css;
}

double svg_nice_step(double span, int max_intervals)
{
    if (max_intervals < 1)
        max_intervals = 1;
    if (!isfinite(span) || span <= 0)
        return 1;
    double raw = span / max_intervals;
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = { 1, 2, 5, 10 };
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
        /* a relative epsilon so 0.3 / 3 picks 0.1, not 0.2 */
        if (mult[i] * mag >= raw * (1 - 1e-9))
            return mult[i] * mag;
    }
    return 10 * mag;
}

void svg_ticks(double lo, double hi, int max_intervals, struct svg_ticks *t)
{
    if (!isfinite(lo) && !isfinite(hi)) {
        lo = 0;
        hi = 1;
    } else if (!isfinite(lo)) {
        lo = hi;
    } else if (!isfinite(hi)) {
        hi = lo;
    }
    if (lo > hi) {
        double s = lo;
        lo = hi;
        hi = s;
    }
    if (hi - lo <= fabs(hi) * 1e-12) {
        /* one value: a window around it, 10 % of its size (or +-1) */
        double w = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= w;
        hi += w;
    }
    double step = svg_nice_step(hi - lo, max_intervals);
    /* the window may need one more interval after rounding outwards */
    for (int tries = 0; tries < 3; tries++) {
        double a = floor(lo / step + 1e-9) * step;
        double b = ceil(hi / step - 1e-9) * step;
        int n = (int)llround((b - a) / step);
        if (n <= max_intervals || tries == 2) {
            t->lo = a;
            t->hi = b;
            t->step = step;
            t->n = n + 1;
            return;
        }
        step = svg_nice_step(step * (max_intervals + 1), max_intervals);
    }
}

/* snprintf follows LC_NUMERIC; the only locale effect on %g/%f without
 * the ' flag is the decimal point, so put '.' back. */
static void fix_point(char *b)
{
    for (; *b; b++) {
        if (*b == ',')
            *b = '.';
    }
}

size_t svg_fmt_num(char *buf, size_t n, double v, int sig)
{
    if (n == 0)
        return 0;
    if (!isfinite(v)) {
        snprintf(buf, n, "\u2013");
        return strlen(buf);
    }
    if (sig < 1)
        sig = 1;
    if (sig > 17)
        sig = 17;
    double a = fabs(v);
    if (v == 0) {
        snprintf(buf, n, "0");
    } else if (a >= 1e-4 && a < 1e9) {
        /* fixed notation with `sig` significant digits, trailing zeros cut */
        int mag = (int)floor(log10(a));
        int dec = sig - 1 - mag;
        if (dec < 0)
            dec = 0;
        snprintf(buf, n, "%.*f", dec, v);
        fix_point(buf);
        if (strchr(buf, '.')) {
            size_t l = strlen(buf);
            while (l > 0 && buf[l - 1] == '0')
                buf[--l] = '\0';
            if (l > 0 && buf[l - 1] == '.')
                buf[--l] = '\0';
        }
        if (strcmp(buf, "-0") == 0)
            snprintf(buf, n, "0");
    } else {
        snprintf(buf, n, "%.*g", sig, v);
        fix_point(buf);
    }
    return strlen(buf);
}

size_t svg_fmt_tick(char *buf, size_t n, double v, double step)
{
    if (n == 0)
        return 0;
    if (!isfinite(v) || !isfinite(step) || step <= 0)
        return svg_fmt_num(buf, n, v, 6);
    if (fabs(v) < step * 1e-6)
        v = 0; /* no "-0" or "1e-17" at the origin */
    if (step < 1e-4 || fabs(v) >= 1e9) {
        snprintf(buf, n, "%.3g", v);
    } else {
        int dec = (int)ceil(-log10(step) - 1e-9);
        if (dec < 0)
            dec = 0;
        snprintf(buf, n, "%.*f", dec, v);
    }
    fix_point(buf);
    return strlen(buf);
}

size_t svg_fmt_px(char *buf, size_t n, double px)
{
    if (!isfinite(px))
        px = 0;
    /* pixels within +-1e7: keep SVG numbers short and sane */
    if (px > 1e7)
        px = 1e7;
    if (px < -1e7)
        px = -1e7;
    long t = lround(px * 10);
    const char *sign = t < 0 ? "-" : "";
    long a = labs(t);
    if (a % 10 == 0)
        snprintf(buf, n, "%s%ld", sign, a / 10);
    else
        snprintf(buf, n, "%s%ld.%ld", sign, a / 10, a % 10);
    return strlen(buf);
}

void svg_range_add1(double *lo, double *hi, double v)
{
    if (!isfinite(v))
        return;
    if (!isfinite(*lo) || v < *lo)
        *lo = v;
    if (!isfinite(*hi) || v > *hi)
        *hi = v;
}

void svg_range_add(double *lo, double *hi, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        svg_range_add1(lo, hi, v[i]);
}

size_t svg_decimate(const double *y, size_t n, size_t max, size_t *idx)
{
    if (max < 4)
        max = 4;
    if (n <= max) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    size_t buckets = (max - 2) / 2, k = 0;
    idx[k++] = 0;
    for (size_t b = 0; b < buckets; b++) {
        size_t s = 1 + (n - 2) * b / buckets, e = 1 + (n - 2) * (b + 1) / buckets;
        if (s >= e)
            continue;
        size_t imin = s, imax = s;
        for (size_t i = s; i < e; i++) {
            if (!isfinite(y[i]))
                continue;
            if (!isfinite(y[imin]) || y[i] < y[imin])
                imin = i;
            if (!isfinite(y[imax]) || y[i] > y[imax])
                imax = i;
        }
        if (imin == imax) {
            idx[k++] = imin;
        } else {
            idx[k++] = imin < imax ? imin : imax;
            idx[k++] = imin < imax ? imax : imin;
        }
    }
    idx[k++] = n - 1;
    return k;
}

double svg_sx(const struct svg_plot *p, double x)
{
    return p->px0 + (x - p->xlo) / (p->xhi - p->xlo) * p->pw;
}

double svg_sy(const struct svg_plot *p, double y)
{
    return p->py0 + p->ph - (y - p->ylo) / (p->yhi - p->ylo) * p->ph;
}

/* " x,y" in pixels with the prefix command (M or L). */
static void pt(struct html *h, char cmd, double x, double y)
{
    char bx[24], by[24];
    svg_fmt_px(bx, sizeof bx, x);
    svg_fmt_px(by, sizeof by, y);
    html_rawf(h, "%c%s %s", cmd, bx, by);
}

static void px_attr(struct html *h, const char *name, double v)
{
    char b[24];
    svg_fmt_px(b, sizeof b, v);
    html_rawf(h, " %s=\"%s\"", name, b);
}

static void text_at(struct html *h, double x, double y, const char *cls, const char *anchor,
                    const char *text)
{
    html_rawf(h, "<text class=\"%s\"", cls);
    px_attr(h, "x", x);
    px_attr(h, "y", y);
    if (anchor)
        html_rawf(h, " text-anchor=\"%s\"", anchor);
    html_raw(h, ">");
    html_text(h, text);
    html_raw(h, "</text>");
}

static void axis_title(char *b, size_t n, const char *label, const char *unit)
{
    if (unit && *unit)
        snprintf(b, n, "%s (%s)", label ? label : "", unit);
    else
        snprintf(b, n, "%s", label ? label : "");
}

static void draw_axes(struct svg_plot *p, const struct svg_plot_opts *o)
{
    struct html *h = p->out;
    char b[160];
    double x1 = p->px0 + p->pw, y1 = p->py0 + p->ph;
    /* y grid and labels */
    for (int i = 0; i < p->yt.n; i++) {
        double v = p->yt.lo + i * p->yt.step, y = svg_sy(p, v);
        html_raw(h, "<path class=\"grid\" d=\"");
        pt(h, 'M', p->px0, y);
        pt(h, 'L', x1, y);
        html_raw(h, "\"/>");
        svg_fmt_tick(b, sizeof b, v, p->yt.step);
        text_at(h, p->px0 - 6, y + 4, "tick", "end", b);
    }
    if (p->categorical) {
        for (size_t i = 0; i < o->ncats; i++)
            text_at(h, svg_sx(p, (double)i), y1 + 15, "tick", "middle", o->xcats[i]);
    } else {
        for (int i = 0; i < p->xt.n; i++) {
            double v = p->xt.lo + i * p->xt.step, x = svg_sx(p, v);
            if (x < p->px0 - 0.5 || x > x1 + 0.5)
                continue; /* x_exact: ticks outside the exact range */
            html_raw(h, "<path class=\"grid\" d=\"");
            pt(h, 'M', x, p->py0);
            pt(h, 'L', x, y1);
            html_raw(h, "\"/>");
            svg_fmt_tick(b, sizeof b, v, p->xt.step);
            text_at(h, x, y1 + 15, "tick", "middle", b);
        }
    }
    html_raw(h, "<rect class=\"frame\"");
    px_attr(h, "x", p->px0);
    px_attr(h, "y", p->py0);
    px_attr(h, "width", p->pw);
    px_attr(h, "height", p->ph);
    html_raw(h, "/>\n");
    axis_title(b, sizeof b, o->xlabel, o->xunit);
    if (*b)
        text_at(h, p->px0 + p->pw / 2, p->height - 8, "axt", "middle", b);
    axis_title(b, sizeof b, o->ylabel, o->yunit);
    if (*b) {
        char cx[24], cy[24];
        svg_fmt_px(cx, sizeof cx, 14);
        svg_fmt_px(cy, sizeof cy, p->py0 + p->ph / 2);
        html_rawf(h,
                  "<text class=\"axt\" text-anchor=\"middle\" transform=\"translate(%s %s) "
                  "rotate(-90)\">",
                  cx, cy);
        html_text(h, b);
        html_raw(h, "</text>\n");
    }
    if (o->title)
        text_at(h, 8, 16, "title", NULL, o->title);
}

int svg_plot_begin(struct html *out, const struct svg_plot_opts *o, struct svg_plot *p)
{
    memset(p, 0, sizeof *p);
    if (!o->id || !*o->id || strlen(o->id) >= sizeof p->id)
        return -EINVAL;
    p->out = out;
    snprintf(p->id, sizeof p->id, "%s", o->id);
    p->width = o->width > 0 ? o->width : 960;
    p->height = o->height > 0 ? o->height : 300;
    p->px0 = 70;
    p->py0 = 44;
    p->pw = p->width - p->px0 - 96; /* room for limit labels on the right */
    p->ph = p->height - p->py0 - 44;
    if (p->pw < 40)
        p->pw = 40;
    if (p->ph < 40)
        p->ph = 40;
    p->legend_x = p->px0 + p->pw;
    int ymax = p->ph >= 160 ? 8 : 5, xmax = p->pw >= 500 ? 10 : 6;
    svg_ticks(o->ylo, o->yhi, ymax, &p->yt);
    p->ylo = p->yt.lo;
    p->yhi = p->yt.hi;
    if (o->xcats) {
        p->categorical = true;
        p->xlo = -0.5;
        p->xhi = o->ncats > 0 ? (double)o->ncats - 0.5 : 0.5;
    } else {
        svg_ticks(o->xlo, o->xhi, xmax, &p->xt);
        p->xlo = p->xt.lo;
        p->xhi = p->xt.hi;
        if (o->x_exact && isfinite(o->xlo) && isfinite(o->xhi) && o->xhi > o->xlo) {
            p->xlo = o->xlo;
            p->xhi = o->xhi;
        }
    }
    html_raw(out, "<svg class=\"plot\" id=\"");
    html_attr(out, p->id);
    html_rawf(out,
              "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" role=\"img\"",
              p->width, p->height, p->width, p->height);
    if (o->title) {
        html_raw(out, " aria-label=\"");
        html_attr(out, o->title);
        html_raw(out, "\"");
    }
    html_raw(out, ">\n<defs><clipPath id=\"");
    html_attr(out, p->id);
    html_raw(out, "-c\"><rect");
    px_attr(out, "x", p->px0);
    px_attr(out, "y", p->py0);
    px_attr(out, "width", p->pw);
    px_attr(out, "height", p->ph);
    html_raw(out, "/></clipPath></defs>\n");
    draw_axes(p, o);
    return 0;
}

void svg_plot_end(struct svg_plot *p)
{
    html_raw(p->out, "</svg>\n");
}

/* Data elements are clipped to the plot area one group at a time, so the
 * legend and labels outside it are not. */
static void clip_open(struct svg_plot *p)
{
    html_raw(p->out, "<g clip-path=\"url(#");
    html_attr(p->out, p->id);
    html_raw(p->out, "-c)\">");
}

static void clip_close(struct svg_plot *p)
{
    html_raw(p->out, "</g>\n");
}

static int series_ix(int s)
{
    return ((s % SVG_SERIES) + SVG_SERIES) % SVG_SERIES;
}

/* The path of a line through the kept points of (x(i), y[i]). */
static void line_path(struct svg_plot *p, const double *x, double x0, double dx, const double *y,
                      size_t n, int series)
{
    if (n == 0)
        return;
    size_t *idx = malloc(sizeof *idx * (n < SVG_MAX_POINTS ? n : SVG_MAX_POINTS));
    if (!idx) {
        p->out->err = -ENOMEM;
        return;
    }
    size_t k = svg_decimate(y, n, SVG_MAX_POINTS, idx);
    clip_open(p);
    html_rawf(p->out, "<path class=\"ln s%d\" d=\"", series_ix(series));
    bool pen_down = false;
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        double xv = x ? x[i] : x0 + dx * (double)i;
        if (!isfinite(xv) || !isfinite(y[i])) {
            pen_down = false;
            continue;
        }
        pt(p->out, pen_down ? 'L' : 'M', svg_sx(p, xv), svg_sy(p, y[i]));
        pen_down = true;
    }
    html_raw(p->out, "\"/>");
    clip_close(p);
    free(idx);
}

void svg_line(struct svg_plot *p, const double *x, const double *y, size_t n, int series)
{
    line_path(p, x, 0, 0, y, n, series);
}

void svg_line_uniform(struct svg_plot *p, double x0, double dx, const double *y, size_t n,
                      int series)
{
    line_path(p, NULL, x0, dx, y, n, series);
}

/* One marker's subpath centred on (cx, cy); the shape follows the series. */
static void marker(struct html *h, int shape, double cx, double cy)
{
    const double r = 3.2;
    switch (shape % 4) {
    case 0: /* circle */
        pt(h, 'M', cx - r, cy);
        html_raw(h, "a3.2 3.2 0 1 0 6.4 0a3.2 3.2 0 1 0 -6.4 0");
        break;
    case 1: /* square */
        pt(h, 'M', cx - r, cy - r);
        html_raw(h, "h6.4v6.4h-6.4z");
        break;
    case 2: /* triangle */
        pt(h, 'M', cx, cy - r - 0.6);
        html_raw(h, "l3.8 6.6h-7.6z");
        break;
    default: /* diamond */
        pt(h, 'M', cx, cy - r - 0.6);
        html_raw(h, "l3.8 3.8-3.8 3.8-3.8-3.8z");
        break;
    }
}

void svg_markers(struct svg_plot *p, const double *x, const double *y, size_t n, int series)
{
    if (n == 0)
        return;
    size_t every = n > SVG_MAX_POINTS ? (n + SVG_MAX_POINTS - 1) / SVG_MAX_POINTS : 1;
    clip_open(p);
    int s = series_ix(series);
    html_rawf(p->out, "<path class=\"mk s%d\" d=\"", s);
    for (size_t i = 0; i < n; i += every) {
        double xv = x ? x[i] : (double)i;
        if (isfinite(xv) && isfinite(y[i]))
            marker(p->out, s, svg_sx(p, xv), svg_sy(p, y[i]));
    }
    html_raw(p->out, "\"/>");
    clip_close(p);
}

void svg_steps(struct svg_plot *p, const double *x, const double *y, size_t n, double x_end,
               int series)
{
    if (n == 0)
        return;
    clip_open(p);
    html_rawf(p->out, "<path class=\"st s%d\" d=\"", series_ix(series));
    bool pen_down = false;
    for (size_t i = 0; i < n; i++) {
        double xa = x[i], xb = i + 1 < n ? x[i + 1] : x_end;
        if (!isfinite(xa) || !isfinite(xb) || !isfinite(y[i])) {
            pen_down = false;
            continue;
        }
        pt(p->out, pen_down ? 'L' : 'M', svg_sx(p, xa), svg_sy(p, y[i]));
        pt(p->out, 'L', svg_sx(p, xb), svg_sy(p, y[i]));
        pen_down = true;
    }
    html_raw(p->out, "\"/>");
    clip_close(p);
}

void svg_hline(struct svg_plot *p, double y, enum svg_limit_kind k, const char *label)
{
    if (!isfinite(y))
        return;
    double py = svg_sy(p, y);
    if (py < p->py0 - 0.5 || py > p->py0 + p->ph + 0.5)
        return; /* off the axis: the caller widened the range if it mattered */
    html_rawf(p->out, "<path class=\"lim k%d\" d=\"", (int)k & 3);
    pt(p->out, 'M', p->px0, py);
    pt(p->out, 'L', p->px0 + p->pw, py);
    html_raw(p->out, "\"/>");
    if (label) {
        char cls[8];
        snprintf(cls, sizeof cls, "k%d", (int)k & 3);
        text_at(p->out, p->px0 + p->pw + 4, py + 4, cls, NULL, label);
    }
    html_raw(p->out, "\n");
}

void svg_vline(struct svg_plot *p, double x, enum svg_limit_kind k, const char *label)
{
    if (!isfinite(x))
        return;
    double px = svg_sx(p, x);
    if (px < p->px0 - 0.5 || px > p->px0 + p->pw + 0.5)
        return;
    html_rawf(p->out, "<path class=\"lim k%d\" d=\"", (int)k & 3);
    pt(p->out, 'M', px, p->py0);
    pt(p->out, 'L', px, p->py0 + p->ph);
    html_raw(p->out, "\"/>");
    if (label) {
        char cls[8];
        snprintf(cls, sizeof cls, "k%d", (int)k & 3);
        text_at(p->out, px, p->py0 - 4, cls, "middle", label);
    }
    html_raw(p->out, "\n");
}

void svg_band(struct svg_plot *p, double x0, double x1, double y0, double y1, enum svg_band_kind k)
{
    double xa = isfinite(x0) ? svg_sx(p, x0) : p->px0 - 1;
    double xb = isfinite(x1) ? svg_sx(p, x1) : p->px0 + p->pw + 1;
    /* y0 is the lower edge, y1 the upper; a missing one is the plot's edge */
    double ya = isfinite(y0) ? svg_sy(p, y0) : p->py0 + p->ph + 1;
    double yb = isfinite(y1) ? svg_sy(p, y1) : p->py0 - 1;
    double l = xa < xb ? xa : xb, r = xa < xb ? xb : xa;
    double t = ya < yb ? ya : yb, b = ya < yb ? yb : ya;
    clip_open(p);
    html_rawf(p->out, "<rect class=\"b%d\"", (int)k % 3);
    px_attr(p->out, "x", l);
    px_attr(p->out, "y", t);
    px_attr(p->out, "width", r - l);
    px_attr(p->out, "height", b - t);
    html_raw(p->out, "/>");
    clip_close(p);
}

void svg_bars(struct svg_plot *p, const double *x0, const double *x1, const double *y, size_t n,
              double base, int series)
{
    if (n == 0)
        return;
    if (!isfinite(base))
        base = p->ylo;
    clip_open(p);
    html_rawf(p->out, "<path class=\"bar s%d\" d=\"", series_ix(series));
    for (size_t i = 0; i < n; i++) {
        double a = x0 ? x0[i] : (double)i - 0.35;
        double b = x0 && x1 ? x1[i] : (double)i + 0.35;
        if (!isfinite(a) || !isfinite(b) || !isfinite(y[i]))
            continue;
        double xa = svg_sx(p, a), xb = svg_sx(p, b);
        double yb = svg_sy(p, base), yt = svg_sy(p, y[i]);
        pt(p->out, 'M', xa, yb);
        pt(p->out, 'L', xa, yt);
        pt(p->out, 'L', xb, yt);
        pt(p->out, 'L', xb, yb);
        html_raw(p->out, "z");
    }
    html_raw(p->out, "\"/>");
    clip_close(p);
}

void svg_label(struct svg_plot *p, double x, double y, const char *text, const char *anchor)
{
    if (!isfinite(x) || !isfinite(y))
        return;
    text_at(p->out, svg_sx(p, x), svg_sy(p, y), "lbl", anchor, text);
}

/* Legend items are laid out right to left from the plot's right edge, in
 * the top margin; each one is a 22 px swatch and its label. */
void svg_legend(struct svg_plot *p, const struct svg_legend_item *items, size_t n)
{
    struct html *h = p->out;
    double y = p->py0 - 12;
    for (size_t j = n; j-- > 0;) {
        const struct svg_legend_item *it = &items[j];
        const char *label = it->label ? it->label : "";
        /* ~6 px per character at 11 px: close enough for layout */
        double tw = 6.2 * (double)strlen(label);
        double x = p->legend_x - tw - 28;
        p->legend_x = x - 10;
        int s = series_ix(it->series);
        switch (it->kind) {
        case SVG_LEG_LINE:
            html_rawf(h, "<path class=\"ln s%d\" d=\"", s);
            pt(h, 'M', x, y);
            pt(h, 'L', x + 22, y);
            html_raw(h, "\"/>");
            break;
        case SVG_LEG_MARKER:
            html_rawf(h, "<path class=\"mk s%d\" d=\"", s);
            marker(h, s, x + 11, y);
            html_raw(h, "\"/>");
            break;
        case SVG_LEG_BAR:
            html_rawf(h, "<path class=\"bar s%d\" d=\"", s);
            pt(h, 'M', x + 4, y - 6);
            html_raw(h, "h14v12h-14z\"/>");
            break;
        case SVG_LEG_LIMIT:
            html_rawf(h, "<path class=\"lim k%d\" d=\"", (int)it->limit & 3);
            pt(h, 'M', x, y);
            pt(h, 'L', x + 22, y);
            html_raw(h, "\"/>");
            break;
        case SVG_LEG_BAND:
            html_rawf(h, "<path class=\"b%d\" style=\"stroke:#8c959f;stroke-width:.5\" d=\"",
                      (int)it->band % 3);
            pt(h, 'M', x + 2, y - 6);
            html_raw(h, "h18v12h-18z\"/>");
            break;
        }
        text_at(h, x + 26, y + 4, "tick", NULL, label);
    }
    html_raw(h, "\n");
}
