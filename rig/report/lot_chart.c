/* One measurement's part of the lot report (lot_int.h): its histogram
 * against the spec limits, the capability figures, the control chart
 * (I-MR, or X-bar/R over subgroups) with the rule violations marked by
 * shape and number, and the list of those violations. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/speclimit.h"
#include "report/lot_int.h"
#include "report/spc.h"
#include "report/svg.h"

/* At most this many rule numbers are written beside flagged points in a
 * chart (every flagged point keeps its marker; the list has them all up
 * to max_violations). */
#define MAX_CHART_LABELS 150
/* Up to this many points a chart also draws a marker on every point. */
#define MARK_ALL_POINTS  400

void lot_time(char *out, size_t n, const char *utc)
{
    /* Drop the "T", the microseconds and the "Z": seconds are enough. */
    snprintf(out, n, "%.10s %.8s", utc ? utc : "", utc && strlen(utc) > 11 ? utc + 11 : "");
}

/* The spec interval of a population, as store_capability reads it. */
static void spec_limits(const struct store_lot_series *s, enum lim_cmp *cmp, double *lsl,
                        double *usl)
{
    int c = s->comparison ? lim_cmp_from_str(s->comparison) : -1;
    *cmp = c < 0 ? LIM_STREQ : (enum lim_cmp)c;
    *lsl = *usl = NAN;
    switch (*cmp) {
    case LIM_GELE:
    case LIM_GTLT:
    case LIM_GELT:
    case LIM_GTLE:
        *lsl = s->low;
        *usl = s->high;
        break;
    case LIM_GE:
    case LIM_GT:
        *lsl = s->low;
        break;
    case LIM_LE:
    case LIM_LT:
        *usl = s->low;
        break;
    default:
        break;
    }
}

static void fig_cell(struct html *h, const char *name, const char *key, const char *text)
{
    html_raw(h, "<td class=\"num\" data-fig=\"");
    html_attr(h, name);
    html_rawf(h, " %s\">", key);
    html_text(h, text);
    html_raw(h, "</td>");
}

static void fig_row(struct html *h, const char *label, const char *name, const char *key, double v,
                    bool index)
{
    char buf[48];
    if (index)
        lot_report_fmt_index(buf, sizeof buf, v);
    else
        svg_fmt_num(buf, sizeof buf, v, 5);
    html_raw(h, "<tr><th scope=\"row\">");
    html_text(h, label);
    html_raw(h, "</th>");
    if (key)
        fig_cell(h, name, key, buf);
    else {
        html_raw(h, "<td class=\"num\">");
        html_text(h, buf);
        html_raw(h, "</td>");
    }
    html_raw(h, "</tr>\n");
}

static void figures(struct html *h, const struct store_lot_series *s,
                    const struct store_capability *c, double lsl, double usl)
{
    char buf[64];
    html_raw(h, "<table class=\"kv figs\"><tbody>\n");
    snprintf(buf, sizeof buf, "%zu of %zu (%.1f %%)", s->pass, s->count,
             s->count ? 100.0 * (double)s->pass / (double)s->count : 0.0);
    html_kv(h, "Passed", buf);
    fig_row(h, "Values (n)", s->name, "n", (double)c->n, false);
    fig_row(h, "LSL", s->name, NULL, lsl, false);
    fig_row(h, "USL", s->name, NULL, usl, false);
    fig_row(h, "Mean", s->name, "mean", c->mean, false);
    fig_row(h, "s.d. overall", s->name, NULL, c->sd, false);
    fig_row(h, "σ within (MR̄/1.128)", s->name, NULL, c->sigma_within, false);
    fig_row(h, "Cp", s->name, "cp", c->cp, true);
    fig_row(h, "Cpk", s->name, "cpk", c->cpk, true);
    fig_row(h, "Pp", s->name, "pp", c->pp, true);
    fig_row(h, "Ppk", s->name, "ppk", c->ppk, true);
    html_raw(h, "</tbody></table>\n");
}

static int histogram(struct html *h, const struct store_lot_series *s, size_t ix, double lsl,
                     double usl, double mean)
{
    struct spc_hist hg;
    int r = spc_histogram(s->x, s->n, lsl, usl, 40, &hg);
    if (r < 0)
        return r;
    double *x0 = malloc(3 * hg.nbins * sizeof *x0);
    if (!x0) {
        spc_hist_free(&hg);
        return -ENOMEM;
    }
    double *x1 = x0 + hg.nbins, *y = x1 + hg.nbins, ymax = 0;
    for (size_t i = 0; i < hg.nbins; i++) {
        x0[i] = hg.lo + (double)i * hg.width;
        x1[i] = x0[i] + hg.width;
        y[i] = (double)hg.count[i];
        ymax = fmax(ymax, y[i]);
    }
    char id[32];
    snprintf(id, sizeof id, "hist%zu", ix);
    struct svg_plot_opts po = {
        .id = id,
        .width = 480,
        .height = 270,
        .title = "Histogram",
        .xlabel = s->name,
        .xunit = s->units && *s->units ? s->units : NULL,
        .ylabel = "Count",
        .xlo = x0[0],
        .xhi = x1[hg.nbins - 1],
        .ylo = 0,
        .yhi = fmax(ymax * 1.12, 8), /* counts: whole-number ticks */
    };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    if (svg_plot_begin(h, &po, &p) == 0) {
        svg_bars(&p, x0, x1, y, hg.nbins, 0, 0);
        char lab[48], num[32];
        svg_fmt_num(num, sizeof num, lsl, 4);
        snprintf(lab, sizeof lab, "LSL %s", num);
        svg_vline(&p, lsl, SVG_LIM_LIMIT, lab);
        svg_fmt_num(num, sizeof num, usl, 4);
        snprintf(lab, sizeof lab, "USL %s", num);
        svg_vline(&p, usl, SVG_LIM_LIMIT, lab);
        svg_vline(&p, mean, SVG_LIM_TARGET, NULL);
        svg_plot_end(&p);
    }
    char cap[160];
    snprintf(cap, sizeof cap, "%zu bins of %.4g from %.4g; red dashed: spec limits, grey: mean.",
             hg.nbins, hg.width, hg.lo);
    html_figure_end(h, cap);
    free(x0);
    spc_hist_free(&hg);
    return 0;
}

/* One chart: values y at x = 1..n, its limits, flagged points marked
 * with a square and their rule numbers. */
struct chart {
    const char *id, *title, *xlabel, *ylabel, *yunit;
    const double *y;
    size_t n;
    double x0; /* x of the first point */
    struct spc_limits lim;
    const unsigned *flags;
    int height;
    bool from_zero; /* a range chart: its axis starts at 0 */
};

static void rules_text(char *buf, size_t n, unsigned f)
{
    size_t len = 0;
    buf[0] = 0;
    for (unsigned k = 1; k <= SPC_NRULES; k++)
        if (f & SPC_RULE(k))
            len += (size_t)snprintf(buf + len, n - len, "%s%u", len ? "," : "", k);
}

static int draw_chart(struct html *h, const struct chart *c)
{
    double *x = malloc(c->n * 3 * sizeof *x);
    if (!x)
        return -ENOMEM;
    double *fx = x + c->n, *fy = fx + c->n, lo = NAN, hi = NAN;
    size_t nf = 0;
    for (size_t i = 0; i < c->n; i++) {
        x[i] = c->x0 + (double)i;
        if (c->flags[i]) {
            fx[nf] = x[i];
            fy[nf++] = c->y[i];
        }
    }
    svg_range_add(&lo, &hi, c->y, c->n);
    svg_range_add1(&lo, &hi, c->lim.ucl);
    svg_range_add1(&lo, &hi, c->lim.lcl);
    double pad = (hi - lo) * 0.08;
    struct svg_plot_opts po = {
        .id = c->id,
        .width = 960,
        .height = c->height,
        .title = c->title,
        .xlabel = c->xlabel,
        .ylabel = c->ylabel,
        .yunit = c->yunit,
        .xlo = c->x0,
        .xhi = c->x0 + (double)(c->n ? c->n - 1 : 0),
        .x_exact = c->n > 1,
        .ylo = c->from_zero && lo >= 0 ? 0 : lo - pad,
        .yhi = hi + pad,
    };
    struct svg_plot p;
    if (svg_plot_begin(h, &po, &p) == 0) {
        char lab[48], num[32];
        svg_line(&p, x, c->y, c->n, 0);
        if (c->n <= MARK_ALL_POINTS)
            svg_markers(&p, x, c->y, c->n, 0);
        svg_markers(&p, fx, fy, nf, 1);
        double dy = (p.yhi - p.ylo) * 0.045;
        size_t labels = 0;
        for (size_t i = 0; i < c->n && labels < MAX_CHART_LABELS; i++) {
            if (!c->flags[i])
                continue;
            char rules[16];
            rules_text(rules, sizeof rules, c->flags[i]);
            svg_label(&p, x[i], c->y[i] >= c->lim.center ? c->y[i] + dy : c->y[i] - 1.6 * dy, rules,
                      "middle");
            labels++;
        }
        svg_fmt_num(num, sizeof num, c->lim.center, 4);
        snprintf(lab, sizeof lab, "CL %s", num);
        svg_hline(&p, c->lim.center, SVG_LIM_TARGET, lab);
        svg_fmt_num(num, sizeof num, c->lim.ucl, 4);
        snprintf(lab, sizeof lab, "UCL %s", num);
        svg_hline(&p, c->lim.ucl, SVG_LIM_CONTROL, lab);
        if (c->lim.lcl != 0 || c->lim.center == 0 || lo < 0) {
            svg_fmt_num(num, sizeof num, c->lim.lcl, 4);
            snprintf(lab, sizeof lab, "LCL %s", num);
            svg_hline(&p, c->lim.lcl, SVG_LIM_CONTROL, lab);
        }
        static const struct svg_legend_item leg[] = {
            { "value", SVG_LEG_LINE, 0, 0, 0 },
            { "rule violated (number)", SVG_LEG_MARKER, 1, 0, 0 },
            { "centre", SVG_LEG_LIMIT, 0, SVG_LIM_TARGET, 0 },
            { "control limits", SVG_LEG_LIMIT, 0, SVG_LIM_CONTROL, 0 },
        };
        svg_legend(&p, leg, sizeof leg / sizeof leg[0]);
        svg_plot_end(&p);
    }
    free(x);
    return 0;
}

static const char *const rule_words[SPC_NRULES] = {
    "beyond 3σ",
    "2 of 3 beyond 2σ, same side",
    "4 of 5 beyond 1σ, same side",
    "8 in a row on one side",
};

/* A row of the violations table: point i of a chart. */
static void violation_row(struct html *h, const struct store_lot *lot,
                          const struct store_lot_series *s, const char *chart, size_t point,
                          size_t first, size_t last, double v, unsigned f, bool range_chart)
{
    char buf[160], t[32];
    const struct store_lot_run *a = &lot->runs[s->run[first]], *b = &lot->runs[s->run[last]];
    html_tr_begin(h, NULL);
    html_td(h, NULL, chart);
    html_td_num(h, (double)point, 10);
    lot_time(t, sizeof t, a->started);
    html_td(h, "mono", t);
    if (first == last)
        snprintf(buf, sizeof buf, "%s", a->dut_serial ? a->dut_serial : "");
    else
        snprintf(buf, sizeof buf, "%s … %s", a->dut_serial ? a->dut_serial : "",
                 b->dut_serial ? b->dut_serial : "");
    html_td(h, NULL, buf);
    html_td_num(h, v, 5);
    size_t len = 0;
    buf[0] = 0;
    if (range_chart) /* its only test: a range beyond its own limits */
        snprintf(buf, sizeof buf, "1: beyond the control limits");
    else
        for (unsigned k = 1; k <= SPC_NRULES; k++)
            if (f & SPC_RULE(k))
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%u: %s", len ? "; " : "", k,
                                        rule_words[k - 1]);
    html_td(h, NULL, buf);
    html_tr_end(h);
}

/* The X chart's and the MR/R chart's values, limits and flags. */
struct charts {
    double *xv, *rv;
    unsigned *xf, *rf;
    size_t xn, rn, m; /* m: values per point (1: individuals) */
    struct spc_limits xl, rl;
    double sigma;
};

static int compute(const struct store_lot_series *s, unsigned subgroup, struct charts *c)
{
    memset(c, 0, sizeof *c);
    struct spc_xbar_r xr = { 0 };
    struct spc_imr imr;
    int r;
    if (subgroup) {
        if ((r = spc_xbar_r(s->x, s->n, subgroup, &xr)) < 0)
            return r;
        c->xv = xr.xbar;
        c->rv = xr.range;
        c->xn = c->rn = xr.k;
        c->m = subgroup;
        c->xl = xr.x;
        c->rl = xr.r;
        /* Zones of the X-bar chart: the sigma of a subgroup mean. */
        c->sigma = xr.sigma / sqrt((double)subgroup);
    } else {
        if ((r = spc_imr(s->x, s->n, &imr)) < 0)
            return r;
        c->xv = malloc(2 * s->n * sizeof *c->xv);
        if (!c->xv)
            return -ENOMEM;
        memcpy(c->xv, s->x, s->n * sizeof *c->xv);
        c->rv = c->xv + s->n;
        for (size_t i = 1; i < s->n; i++)
            c->rv[i - 1] = fabs(s->x[i] - s->x[i - 1]);
        c->xn = s->n;
        c->rn = s->n - 1;
        c->m = 1;
        c->xl = imr.x;
        c->rl = imr.mr;
        c->sigma = imr.sigma;
    }
    c->xf = calloc(c->xn + c->rn, sizeof *c->xf);
    if (!c->xf)
        return -ENOMEM;
    c->rf = c->xf + c->xn;
    /* No spread (sigma 0): no zones, nothing flagged. */
    if (c->sigma > 0)
        spc_we_rules(c->xv, c->xn, c->xl.center, c->sigma, c->xf);
    if (c->rl.ucl > 0)
        spc_beyond(c->rv, c->rn, c->rl.lcl, c->rl.ucl, c->rf);
    return 0;
}

static void charts_free(struct charts *c)
{
    free(c->xv);
    if (c->m > 1)
        free(c->rv); /* X-bar/R: two arrays; I-MR: one block */
    free(c->xf);
}

static void violations(struct html *h, const struct store_lot *lot,
                       const struct store_lot_series *s, const struct charts *c, size_t max)
{
    size_t total = 0, shown = 0;
    for (size_t i = 0; i < c->xn + c->rn; i++)
        total += c->xf[i] != 0;
    if (total == 0) {
        html_para(h, "sub", "No Western Electric rule is violated.");
        return;
    }
    const char *xname = c->m > 1 ? "X̄" : "I", *rname = c->m > 1 ? "R" : "MR";
    static const char *const hdr[] = { "Chart",      "Point", "Run started (UTC)",
                                       "DUT serial", "Value", "Rules" };
    char cap[96];
    snprintf(cap, sizeof cap, "Rule violations (%zu)", total);
    html_table_begin(h, "viol", cap, hdr, sizeof hdr / sizeof hdr[0]);
    for (size_t i = 0; i < c->xn && shown < max; i++)
        if (c->xf[i]) {
            violation_row(h, lot, s, xname, i + 1, i * c->m, i * c->m + c->m - 1, c->xv[i],
                          c->xf[i], false);
            shown++;
        }
    /* A moving range i is between values i and i+1 (its point i + 2). */
    for (size_t i = 0; i < c->rn && shown < max; i++)
        if (c->rf[i]) {
            size_t first = c->m > 1 ? i * c->m : i + 1;
            size_t last = c->m > 1 ? first + c->m - 1 : first;
            violation_row(h, lot, s, rname, c->m > 1 ? i + 1 : i + 2, first, last, c->rv[i],
                          c->rf[i], true);
            shown++;
        }
    html_table_end(h);
    if (shown < total) {
        char buf[96];
        snprintf(buf, sizeof buf, "%zu more not listed (the charts mark them all).", total - shown);
        html_para(h, "sub", buf);
    }
}

static int control_charts(struct html *h, const struct store_lot *lot,
                          const struct store_lot_series *s, size_t ix,
                          const struct lot_report_opts *o)
{
    unsigned m = o->subgroup;
    if (s->n < (m ? 2 * m : 2)) {
        html_note(h, m ? "Too few values for two subgroups: no control chart."
                       : "Fewer than 2 values: no control chart.");
        return 0;
    }
    struct charts c;
    int r = compute(s, m, &c);
    if (r < 0) {
        charts_free(&c);
        return r;
    }
    char id1[32], id2[32], t1[64], t2[64];
    snprintf(id1, sizeof id1, "xc%zu", ix);
    snprintf(id2, sizeof id2, "rc%zu", ix);
    if (m > 1) {
        snprintf(t1, sizeof t1, "X̄ chart (subgroups of %u)", m);
        snprintf(t2, sizeof t2, "R chart");
    } else {
        snprintf(t1, sizeof t1, "Individuals (I) chart");
        snprintf(t2, sizeof t2, "Moving range (MR) chart");
    }
    const char *unit = s->units && *s->units ? s->units : NULL;
    const char *xl = m > 1 ? "Subgroup (run order)" : "Point (run order)";
    struct chart xc = { .id = id1,
                        .title = t1,
                        .xlabel = xl,
                        .ylabel = s->name,
                        .yunit = unit,
                        .y = c.xv,
                        .n = c.xn,
                        .x0 = 1,
                        .lim = c.xl,
                        .flags = c.xf,
                        .height = 280 };
    /* A moving range i belongs between values i and i + 1: point i + 2. */
    struct chart rc = { .id = id2,
                        .title = t2,
                        .xlabel = xl,
                        .ylabel = m > 1 ? "Range" : "Moving range",
                        .yunit = unit,
                        .y = c.rv,
                        .n = c.rn,
                        .x0 = m > 1 ? 1 : 2,
                        .lim = c.rl,
                        .flags = c.rf,
                        .height = 200,
                        .from_zero = true };
    html_figure_begin(h, NULL);
    if ((r = draw_chart(h, &xc)) == 0)
        r = draw_chart(h, &rc);
    char cap[200];
    snprintf(cap, sizeof cap,
             "%s%s: centre %.5g, limits %.5g … %.5g; zones of the rules at σ = %.4g.",
             m > 1 ? "X̄–R" : "I–MR", m > 1 ? " (trailing incomplete subgroup left out)" : "",
             c.xl.center, c.xl.lcl, c.xl.ucl, c.sigma);
    html_figure_end(h, cap);
    if (r == 0)
        violations(h, lot, s, &c, o->max_violations ? o->max_violations : 50);
    charts_free(&c);
    return r;
}

int lot_measurement(struct html *h, const struct store_lot *lot, const struct store_lot_series *s,
                    size_t ix, const struct lot_report_opts *o)
{
    enum lim_cmp cmp;
    double lsl, usl;
    spec_limits(s, &cmp, &lsl, &usl);
    struct store_capability c;
    store_capability(s->x, s->n, cmp, s->low, s->high, &c);
    char id[32], title[200];
    snprintf(id, sizeof id, "m%zu", ix);
    snprintf(title, sizeof title, "%s%s%s%s", s->name, s->units && *s->units ? " (" : "",
             s->units && *s->units ? s->units : "", s->units && *s->units ? ")" : "");
    html_section_begin(h, id);
    html_heading(h, 3, NULL, title);
    html_raw(h, "<div class=\"grid2 lotm\"><div>");
    int r = histogram(h, s, ix, lsl, usl, c.mean);
    html_raw(h, "</div><div>");
    figures(h, s, &c, lsl, usl);
    html_raw(h, "</div></div>\n");
    html_section_end(h);
    if (r == 0)
        r = control_charts(h, lot, s, ix, o);
    return r;
}
