/* The run report's plots: rate and depth against their setpoints across
 * captures, and per capture the waveform over a few strokes, the
 * per-stroke depth and peak force, and the rate against time from the
 * START (spin-up) or STOP command. What each shows: docs/REPORTS.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/speclimit.h"
#include "report/run_int.h"
#include "report/svg.h"

static const char *const depth_q[] = { "depth_mean_mm", "depth_min_mm", "depth_max_mm" };
static const char *const force_q[] = { "peak_force_mean_n", "peak_force_min_n",
                                       "peak_force_max_n" };

/* The numeric limits of a measurement: how many (0..2) into v. */
static int limits_of(const struct rec_measurement *m, double v[2])
{
    if (m->is_text)
        return 0;
    int n = 0;
    if (isfinite(m->low))
        v[n++] = m->low;
    if (isfinite(m->high))
        v[n++] = m->high;
    return n;
}

/* Extend a y range by the limits of the step's measurements of these
 * quantities, so the lines are on the plot. */
static void range_limits(const struct rec_step *s, const char *const *q, size_t nq, double *lo,
                         double *hi)
{
    for (size_t i = 0; i < nq; i++) {
        const struct rec_measurement *m = rr_meas(s, q[i]);
        double v[2];
        int n = m ? limits_of(m, v) : 0;
        svg_range_add(lo, hi, v, (size_t)n);
    }
}

static void draw_limits(struct svg_plot *p, const struct rec_step *s, const char *const *q,
                        size_t nq)
{
    for (size_t i = 0; i < nq; i++) {
        const struct rec_measurement *m = rr_meas(s, q[i]);
        double v[2];
        int n = m ? limits_of(m, v) : 0;
        for (int k = 0; k < n; k++) {
            char num[32], lbl[64];
            svg_fmt_num(num, sizeof num, v[k], REPORT_SIG);
            snprintf(lbl, sizeof lbl, "%.10s %s", m->name, num);
            svg_hline(p, v[k], SVG_LIM_LIMIT, lbl);
        }
    }
}

static double capture_s(const struct rr_cap *k)
{
    return (double)k->step->capture->samples / k->step->capture->rate_hz;
}

/* Mean stroke period over the steady strokes (else all, else the
 * setpoint's); 0 when nothing tells. */
static double period_s(const struct rr_cap *k, size_t *first)
{
    const struct rep_strokes *st = &k->st;
    size_t a = st->n, b = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->v[i].steady) {
            if (a == st->n)
                a = i;
            b = i;
        }
    }
    if (a == st->n) {
        a = 0;
        b = st->n ? st->n - 1 : 0;
    }
    *first = a;
    if (b > a)
        return (st->v[b].rise_s - st->v[a].rise_s) / (double)(b - a);
    double r = k->step->setpoints.rate_hz;
    return isfinite(r) && r > 0 ? 1 / r : 0;
}

static void fig_end(struct html *h, const char *caption)
{
    html_figure_end(h, caption);
}

/* Displacement and force over a few strokes of the steady part. */
static void waveform(struct rr_ctx *c, const struct rr_cap *k)
{
    struct html *h = c->h;
    const struct rec_capture *rc = k->step->capture;
    int shown = c->o->strokes_shown > 0 ? c->o->strokes_shown : 4;
    size_t first = 0;
    double per = period_s(k, &first), t0, t1;
    if (k->st.n && per > 0) {
        t0 = k->st.v[first].rise_s - 0.5 * per;
        t1 = t0 + shown * per;
    } else {
        t0 = 0;
        t1 = 0.05;
    }
    double dur = (double)k->cap.n / k->cap.rate_hz;
    if (t0 < 0)
        t0 = 0;
    if (t1 > dur)
        t1 = dur;
    size_t i0 = (size_t)floor(t0 * k->cap.rate_hz), i1 = (size_t)ceil(t1 * k->cap.rate_hz);
    if (i1 > k->cap.n)
        i1 = k->cap.n;
    if (i1 <= i0 + 1) {
        html_note(h, "The capture is too short to draw.");
        return;
    }
    size_t n = i1 - i0;
    double *d = malloc(n * sizeof *d), *f = malloc(n * sizeof *f);
    if (!d || !f) {
        free(d);
        free(f);
        h->err = -ENOMEM; /* sticky, reported by the caller */
        return;
    }
    double zero = isfinite(rc->analysis.force_zero_n) ? rc->analysis.force_zero_n : 0;
    double dlo = NAN, dhi = NAN, flo = NAN, fhi = NAN;
    for (size_t i = 0; i < n; i++) {
        int32_t dv = k->cap.disp_nm[i0 + i];
        /* INT32_MIN / INT32_MIN+1: the sensor saw no target / was out of range */
        d[i] = dv <= INT32_MIN + 1 ? NAN : dv / 1e6;
        f[i] = k->cap.force_un ? k->cap.force_un[i0 + i] / 1e6 - zero : NAN;
    }
    svg_range_add(&dlo, &dhi, d, n);
    svg_range_add(&flo, &fhi, f, n);
    range_limits(k->step, depth_q, 3, &dlo, &dhi);
    range_limits(k->step, force_q, 3, &flo, &fhi);
    double ms0 = t0 * 1000, dms = 1000 / k->cap.rate_hz;
    char id[48], title[160];

    snprintf(id, sizeof id, "c%u-wd", k->no);
    snprintf(title, sizeof title, "Needle displacement, capture %u", k->no);
    struct svg_plot_opts o = { .id = id,
                               .height = 260,
                               .title = title,
                               .xlabel = "Time from the capture's first sample",
                               .xunit = "ms",
                               .ylabel = "Displacement",
                               .yunit = "mm",
                               .xlo = ms0,
                               .xhi = ms0 + n * dms,
                               .ylo = dlo,
                               .yhi = dhi,
                               .x_exact = true };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    svg_plot_begin(h, &o, &p);
    draw_limits(&p, k->step, depth_q, 3);
    if (isfinite(k->step->setpoints.depth_mm))
        svg_hline(&p, k->step->setpoints.depth_mm, SVG_LIM_TARGET, "set depth");
    svg_line_uniform(&p, ms0, dms, d, n, 0);
    /* the fitted top of each stroke in the window */
    double px[64], py[64];
    size_t np = 0;
    for (size_t i = 0; i < k->st.n && np < 64; i++) {
        if (k->st.v[i].peak_s >= t0 && k->st.v[i].peak_s <= t1) {
            px[np] = k->st.v[i].peak_s * 1000;
            py[np++] = k->st.v[i].depth_mm;
        }
    }
    svg_markers(&p, px, py, np, 1);
    struct svg_legend_item leg[] = {
        { .label = "displacement", .kind = SVG_LEG_LINE, .series = 0 },
        { .label = "stroke depth (fit)", .kind = SVG_LEG_MARKER, .series = 1 },
        { .label = "depth limits", .kind = SVG_LEG_LIMIT, .limit = SVG_LIM_LIMIT },
        { .label = "set depth", .kind = SVG_LEG_LIMIT, .limit = SVG_LIM_TARGET },
    };
    svg_legend(&p, leg, 4);
    svg_plot_end(&p);
    fig_end(h, "Positive: needle tips out of the cartridge face. Limits: the step's depth "
               "measurements (they apply to the per-stroke depths, i.e. the marked tops).");

    if (k->cap.force_un) {
        snprintf(id, sizeof id, "c%u-wf", k->no);
        snprintf(title, sizeof title, "Force above the force zero, capture %u", k->no);
        o.id = id;
        o.title = title;
        o.ylabel = "Force";
        o.yunit = "N";
        o.ylo = flo;
        o.yhi = fhi;
        o.height = 220;
        html_figure_begin(h, NULL);
        svg_plot_begin(h, &o, &p);
        draw_limits(&p, k->step, force_q, 3);
        svg_line_uniform(&p, ms0, dms, f, n, 2);
        struct svg_legend_item lf[] = {
            { .label = "force", .kind = SVG_LEG_LINE, .series = 2 },
            { .label = "peak force limits", .kind = SVG_LEG_LIMIT, .limit = SVG_LIM_LIMIT },
        };
        svg_legend(&p, lf, 2);
        svg_plot_end(&p);
        fig_end(h, NULL);
    }
    free(d);
    free(f);
}

/* Per-stroke depth or peak force against stroke number. */
static void per_stroke(struct rr_ctx *c, const struct rr_cap *k, bool force)
{
    struct html *h = c->h;
    size_t n = k->st.n;
    double *x = malloc((n + 1) * sizeof *x), *ys = malloc((n + 1) * sizeof *ys),
           *yu = malloc((n + 1) * sizeof *yu);
    if (!x || !ys || !yu) {
        free(x);
        free(ys);
        free(yu);
        h->err = -ENOMEM;
        return;
    }
    double lo = NAN, hi = NAN;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++) {
        double v = force ? k->st.v[i].force_n : k->st.v[i].depth_mm;
        x[i] = (double)(i + 1);
        ys[i] = k->st.v[i].steady ? v : NAN;
        yu[i] = k->st.v[i].steady ? NAN : v;
        finite += isfinite(v);
        svg_range_add1(&lo, &hi, v);
    }
    if (finite == 0) {
        html_note(h, force ? "No peak force per stroke (no force data)."
                           : "No stroke depth could be measured.");
        goto out;
    }
    const char *const *q = force ? force_q : depth_q;
    range_limits(k->step, q, 3, &lo, &hi);
    char id[48], title[160];
    snprintf(id, sizeof id, "c%u-s%c", k->no, force ? 'f' : 'd');
    snprintf(title, sizeof title, "%s per stroke, capture %u", force ? "Peak force" : "Depth",
             k->no);
    struct svg_plot_opts o = { .id = id,
                               .height = 230,
                               .title = title,
                               .xlabel = "Stroke",
                               .ylabel = force ? "Peak force" : "Depth",
                               .yunit = force ? "N" : "mm",
                               .xlo = 0,
                               .xhi = (double)n + 1,
                               .ylo = lo,
                               .yhi = hi };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    svg_plot_begin(h, &o, &p);
    draw_limits(&p, k->step, q, 3);
    if (!force && isfinite(k->step->setpoints.depth_mm))
        svg_hline(&p, k->step->setpoints.depth_mm, SVG_LIM_TARGET, "set depth");
    svg_markers(&p, x, yu, n, 1);
    svg_markers(&p, x, ys, n, 0);
    struct svg_legend_item leg[] = {
        { .label = "steady (judged)", .kind = SVG_LEG_MARKER, .series = 0 },
        { .label = "spin-up / after stop", .kind = SVG_LEG_MARKER, .series = 1 },
        { .label = "limits", .kind = SVG_LEG_LIMIT, .limit = SVG_LIM_LIMIT },
    };
    svg_legend(&p, leg, 3);
    svg_plot_end(&p);
    fig_end(h, NULL);
out:
    free(x);
    free(ys);
    free(yu);
}

/* Rate between successive strokes against time from a command (START:
 * spin-up, STOP: run-down). */
static void rate_from_command(struct rr_ctx *c, const struct rr_cap *k, bool stop)
{
    struct html *h = c->h;
    const struct rec_capture *rc = k->step->capture;
    int64_t at = stop ? rc->stop_index : rc->start_index;
    if (at < 0 || k->st.n < 2)
        return;
    double cmd_s = (double)at / rc->rate_hz;
    size_t n = k->st.n - 1;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        h->err = -ENOMEM;
        return;
    }
    double xlo = 0, xhi = NAN, ylo = 0, yhi = NAN;
    for (size_t i = 0; i < n; i++) {
        double dt = k->st.v[i + 1].rise_s - k->st.v[i].rise_s;
        x[i] = ((k->st.v[i].rise_s + k->st.v[i + 1].rise_s) / 2 - cmd_s) * 1000;
        y[i] = dt > 0 ? 1 / dt : NAN;
        svg_range_add1(&xlo, &xhi, x[i]);
        svg_range_add1(&ylo, &yhi, y[i]);
    }
    double set = k->step->setpoints.rate_hz;
    double t_an = stop ? rc->analysis.stop_ms : rc->analysis.spinup_ms;
    const struct rec_measurement *m = rr_meas(k->step, stop ? "stop_ms" : "spinup_ms");
    double lim[2];
    int nl = m ? limits_of(m, lim) : 0;
    if (!stop && isfinite(set))
        svg_range_add1(&ylo, &yhi, set * (1 + AN_SPINUP_BAND));
    svg_range_add1(&xlo, &xhi, t_an);
    svg_range_add(&xlo, &xhi, lim, (size_t)nl);
    char id[48], title[160];
    snprintf(id, sizeof id, "c%u-%s", k->no, stop ? "stop" : "spin");
    snprintf(title, sizeof title, "%s: stroke rate from the %s command, capture %u",
             stop ? "Stop" : "Spin-up", stop ? "STOP" : "START", k->no);
    struct svg_plot_opts o = { .id = id,
                               .height = 260,
                               .title = title,
                               .xlabel = stop ? "Time from STOP" : "Time from START",
                               .xunit = "ms",
                               .ylabel = "Stroke rate",
                               .yunit = "Hz",
                               .xlo = xlo,
                               .xhi = xhi,
                               .ylo = ylo,
                               .yhi = yhi };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    svg_plot_begin(h, &o, &p);
    if (!stop && isfinite(set)) {
        svg_band(&p, NAN, NAN, set * (1 - AN_SPINUP_BAND), set * (1 + AN_SPINUP_BAND), SVG_BAND_OK);
        svg_hline(&p, set, SVG_LIM_TARGET, "setpoint");
    }
    svg_vline(&p, 0, SVG_LIM_TARGET, stop ? "STOP" : "START");
    char lbl[64], num[32];
    for (int i = 0; i < nl; i++) {
        svg_fmt_num(num, sizeof num, lim[i], REPORT_SIG);
        snprintf(lbl, sizeof lbl, "limit %s ms", num);
        svg_vline(&p, lim[i], SVG_LIM_LIMIT, lbl);
    }
    if (isfinite(t_an)) {
        svg_fmt_num(num, sizeof num, t_an, 4);
        snprintf(lbl, sizeof lbl, "%s %s ms", stop ? "stop" : "spin-up", num);
        svg_vline(&p, t_an, SVG_LIM_MARGINAL, lbl);
    }
    svg_line(&p, x, y, n, 0);
    svg_markers(&p, x, y, n, 0);
    struct svg_legend_item leg[] = {
        { .label = "rate, stroke to stroke", .kind = SVG_LEG_MARKER, .series = 0 },
        { .label = "setpoint \u00b15 %", .kind = SVG_LEG_BAND, .band = SVG_BAND_OK },
        { .label = stop ? "stop time" : "spin-up time",
          .kind = SVG_LEG_LIMIT,
          .limit = SVG_LIM_MARGINAL },
        { .label = "limit", .kind = SVG_LEG_LIMIT, .limit = SVG_LIM_LIMIT },
    };
    svg_legend(&p, leg, stop ? 1 : 4);
    svg_plot_end(&p);
    fig_end(h, stop ? "Each point: 1 / the period between two successive strokes' rising "
                      "crossings, at the period's middle. The stop time (record) runs from the "
                      "rotor beginning to brake until its rate is below 5 % of the rate before."
                    : "Each point: 1 / the period between two successive strokes' rising "
                      "crossings, at the period's middle. The spin-up time (record) comes from a "
                      "first-order fit of the rotor: from the rotor starting until its rate is "
                      "within 5 % of the setpoint (docs/FILES.md), so it need not fall where the "
                      "points enter the band.");
    free(x);
    free(y);
}

static void capture_info(struct rr_ctx *c, const struct rr_cap *k)
{
    struct html *h = c->h;
    const struct rec_capture *rc = k->step->capture;
    const struct an_result *a = &rc->analysis;
    char r1[32], r2[32], r3[32], r4[32], r5[32];
    svg_fmt_num(r1, sizeof r1, rc->rate_hz, REPORT_SIG);
    svg_fmt_num(r2, sizeof r2, a->rate_hz, REPORT_SIG);
    svg_fmt_num(r3, sizeof r3, a->depth_mean_mm, REPORT_SIG);
    svg_fmt_num(r4, sizeof r4, a->force_mean_n, REPORT_SIG);
    svg_fmt_num(r5, sizeof r5, capture_s(k) * 1000, 5);
    html_rawf(h, "<p class=\"capinfo\">");
    html_text(h, rc->data.name ? rc->data.name : "(no file)");
    html_rawf(h,
              " \u00b7 %llu samples at %s Hz (%s ms) \u00b7 %zu strokes, %zu steady \u00b7 rate ",
              (unsigned long long)rc->samples, r1, r5, a->strokes, a->steady_strokes);
    html_text(h, r2);
    html_raw(h, " Hz \u00b7 mean depth ");
    html_text(h, r3);
    html_raw(h, " mm \u00b7 mean peak force ");
    html_text(h, r4);
    html_raw(h, " N");
    if (k->st_source) {
        html_raw(h, " \u00b7 per-stroke values: ");
        html_text(h, k->st_source);
    }
    html_raw(h, "</p>\n");
    if (a->error[0]) {
        char m[220];
        snprintf(m, sizeof m, "The capture could not be judged: %s", a->error);
        html_note(h, m);
    }
}

static void one_capture(struct rr_ctx *c, const struct rr_cap *k)
{
    struct html *h = c->h;
    char lbl[160], sp[64], head[260];
    rr_step_label(k->step, lbl, sizeof lbl);
    rr_setpoints_text(k->step, sp, sizeof sp);
    snprintf(head, sizeof head, "Capture %u: step %s%s%s%s", k->no, lbl, *sp ? " (" : "", sp,
             *sp ? ")" : "");
    html_raw(h, "<section class=\"cap\">");
    html_heading(h, 3, NULL, head);
    capture_info(c, k);
    if (k->have_samples)
        waveform(c, k);
    else
        html_note(h, k->why);
    if (k->st_source) {
        per_stroke(c, k, false);
        per_stroke(c, k, true);
        rate_from_command(c, k, false);
        rate_from_command(c, k, true);
    } else {
        char m[400];
        snprintf(m, sizeof m, "No per-stroke values: %s", k->st_why);
        html_note(h, m);
    }
    html_raw(h, "</section>\n");
}

/* The step's limits for a quantity in absolute units: stroke_rate_hz or
 * depth_mean_mm directly, rate_error_pct / depth_error_mm around the
 * setpoint. NaN where there is none. */
static void abs_limits(const struct rec_step *s, bool depth, double *lo, double *hi)
{
    *lo = *hi = NAN;
    const struct rec_measurement *m = rr_meas(s, depth ? "depth_mean_mm" : "stroke_rate_hz");
    double v[2];
    if (m) {
        if (limits_of(m, v) == 2) {
            *lo = v[0];
            *hi = v[1];
        }
        return;
    }
    m = rr_meas(s, depth ? "depth_error_mm" : "rate_error_pct");
    double set = depth ? s->setpoints.depth_mm : s->setpoints.rate_hz;
    if (m && isfinite(set) && limits_of(m, v) == 2) {
        *lo = depth ? set + v[0] : set * (1 + v[0] / 100);
        *hi = depth ? set + v[1] : set * (1 + v[1] / 100);
    }
}

static bool judges_setpoint(const struct rec_step *s)
{
    static const char *const q[] = { "stroke_rate_hz", "rate_error_pct", "depth_mean_mm",
                                     "depth_error_mm" };
    if (s->superseded || !s->capture || !isfinite(s->setpoints.rate_hz))
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (rr_meas(s, q[i]))
            return true;
    }
    return false;
}

/* Measured rate and depth against the setpoints, one category per
 * capture that judges them (sweeps, the EOL's operating points). */
static void setpoint_plots(struct rr_ctx *c)
{
    struct html *h = c->h;
    size_t n = 0;
    for (size_t i = 0; i < c->ncaps; i++)
        n += judges_setpoint(c->caps[i].step);
    if (n < 2)
        return;
    const struct rr_cap **k = calloc(n, sizeof *k);
    char(*names)[72] = calloc(n, sizeof *names);
    const char **cats = calloc(n, sizeof *cats);
    double *set = calloc(n, sizeof *set), *meas = calloc(n, sizeof *meas),
           *pos = calloc(n, sizeof *pos);
    if (!k || !names || !cats || !set || !meas || !pos) {
        h->err = -ENOMEM;
        goto out;
    }
    size_t j = 0;
    for (size_t i = 0; i < c->ncaps; i++) {
        if (judges_setpoint(c->caps[i].step))
            k[j++] = &c->caps[i];
    }
    html_raw(h, "<section class=\"sweep\">");
    html_heading(h, 3, NULL, "Rate and depth against their setpoints");
    for (int depth = 0; depth < 2; depth++) {
        double lo = NAN, hi = NAN;
        for (size_t i = 0; i < n; i++) {
            const struct rec_step *s = k[i]->step;
            const struct an_result *a = &s->capture->analysis;
            set[i] = depth ? s->setpoints.depth_mm : s->setpoints.rate_hz;
            meas[i] = depth ? a->depth_mean_mm : a->rate_hz;
            if (!depth && !(meas[i] > 0))
                meas[i] = NAN; /* 0: fewer than 2 steady strokes */
            pos[i] = (double)i - 0.5;
            if (n <= 8) {
                char a1[24], a2[24];
                svg_fmt_num(a1, sizeof a1, s->setpoints.rate_hz, 4);
                svg_fmt_num(a2, sizeof a2, s->setpoints.depth_mm, 3);
                snprintf(names[i], sizeof names[i], "#%u %s Hz %s mm", s->index, a1, a2);
            } else {
                snprintf(names[i], sizeof names[i], "#%u", s->index);
            }
            cats[i] = names[i];
            svg_range_add1(&lo, &hi, set[i]);
            svg_range_add1(&lo, &hi, meas[i]);
            double l, u;
            abs_limits(s, depth, &l, &u);
            svg_range_add1(&lo, &hi, l);
            svg_range_add1(&lo, &hi, u);
        }
        char id[16];
        snprintf(id, sizeof id, "sw-%c", depth ? 'd' : 'r');
        struct svg_plot_opts o = { .id = id,
                                   .height = 260,
                                   .title = depth ? "Mean depth against the depth setpoint"
                                                  : "Stroke rate against the rate setpoint",
                                   .xlabel = "Capture step (setpoints)",
                                   .ylabel = depth ? "Depth" : "Stroke rate",
                                   .yunit = depth ? "mm" : "Hz",
                                   .ylo = lo,
                                   .yhi = hi,
                                   .xcats = cats,
                                   .ncats = n };
        struct svg_plot p;
        html_figure_begin(h, NULL);
        svg_plot_begin(h, &o, &p);
        for (size_t i = 0; i < n; i++) {
            double l, u;
            abs_limits(k[i]->step, depth, &l, &u);
            if (isfinite(l) && isfinite(u))
                svg_band(&p, (double)i - 0.4, (double)i + 0.4, l, u, SVG_BAND_OK);
        }
        svg_steps(&p, pos, set, n, (double)n - 0.5, 6);
        svg_markers(&p, NULL, meas, n, 0);
        struct svg_legend_item leg[] = {
            { .label = "measured", .kind = SVG_LEG_MARKER, .series = 0 },
            { .label = "setpoint", .kind = SVG_LEG_LINE, .series = 6 },
            { .label = "limits (pass band)", .kind = SVG_LEG_BAND, .band = SVG_BAND_OK },
        };
        svg_legend(&p, leg, 3);
        svg_plot_end(&p);
        fig_end(h, NULL);
    }
    html_raw(h, "</section>\n");
out:
    free(k);
    free(names);
    free(cats);
    free(set);
    free(meas);
    free(pos);
}

void rr_plots(struct rr_ctx *c)
{
    struct html *h = c->h;
    html_raw(h, "<section class=\"plots\">\n");
    html_heading(h, 2, NULL, "Plots");
    if (c->ncaps == 0) {
        html_note(h, "The run has no capture: nothing to plot.");
        html_raw(h, "</section>\n");
        return;
    }
    setpoint_plots(c);
    for (size_t i = 0; i < c->ncaps; i++)
        one_capture(c, &c->caps[i]);
    html_raw(h, "</section>\n");
}
