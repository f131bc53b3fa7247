/* The gauge R&R study report (contract in grr_report.h). */
#include "report/grr_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/svg.h"

/* AIAG's guidelines for %GRR (of the total variation or the tolerance)
 * and ndc: under 10 % acceptable, 10-30 % may be acceptable, above 30 %
 * not; ndc at least 5. */
static enum html_verdict verdict(double pct, int ndc, const char **why)
{
    if (!isfinite(pct) || pct > 30 || ndc < 5) {
        *why = pct > 30 ? "%GRR above 30 %: not acceptable" : "ndc below 5: not acceptable";
        return HV_FAIL;
    }
    if (pct >= 10) {
        *why = "%GRR 10-30 %: may be acceptable (application, cost)";
        return HV_MARGINAL;
    }
    *why = "%GRR under 10 % and ndc at least 5: acceptable";
    return HV_PASS;
}

static void anova_table(struct html *h, const struct grr_result *r)
{
    static const char *const hd[] = { "source", "df", "SS", "MS", "F", "p" };
    html_table_begin(h, "anova", "ANOVA (two-way, with interaction)", hd, 6);
    const struct {
        const char *name;
        const struct grr_anova_row *row;
    } rows[] = { { "part", &r->part },
                 { "operator", &r->oper },
                 { "part \u00d7 operator", &r->inter },
                 { "repeatability (error)", &r->error },
                 { "total", &r->total } };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        html_tr_begin(h, NULL);
        html_td(h, NULL, rows[i].name);
        html_td_num(h, rows[i].row->df, GRR_REPORT_SIG);
        html_td_num(h, rows[i].row->ss, GRR_REPORT_SIG);
        html_td_num(h, rows[i].row->ms, GRR_REPORT_SIG);
        html_td_num(h, rows[i].row->f, 4);
        html_td_num(h, rows[i].row->p, 4);
        html_tr_end(h);
    }
    html_table_end(h);
    char t[256];
    if (r->pooled)
        snprintf(t, sizeof t,
                 "The interaction is not significant (p = %.4f \u2265 %.2f): pooled into the "
                 "error term, as the AIAG manual does (MS %.6g, df %.0f).",
                 r->inter.p, r->alpha, r->pooled_error.ms, r->pooled_error.df);
    else
        snprintf(t, sizeof t,
                 "The interaction is significant (p = %.4f < %.2f): kept as a component of its "
                 "own.",
                 r->inter.p, r->alpha);
    html_para(h, "pool", t);
}

static void comp_row(struct html *h, const char *name, const struct grr_component *a,
                     const struct grr_component *g)
{
    html_tr_begin(h, NULL);
    html_td(h, NULL, name);
    html_td_num(h, a->sd, GRR_REPORT_SIG);
    html_td_num(h, a->pct_tv, 4);
    html_td_num(h, a->pct_tol, 4);
    html_td_num(h, g ? g->sd : NAN, GRR_REPORT_SIG);
    html_td_num(h, g ? g->pct_tv : NAN, 4);
    html_tr_end(h);
}

static void components(struct html *h, const struct grr_result *r)
{
    static const char *const hd[] = { "component",   "ANOVA \u03c3", "% TV",
                                      "% tolerance", "range \u03c3", "range % TV" };
    html_table_begin(h, "comp",
                     "Components (standard deviations; % tolerance = 6\u03c3 / (USL \u2212 LSL))",
                     hd, 6);
    const struct grr_range *g = r->range.valid ? &r->range : NULL;
    comp_row(h, "EV repeatability", &r->ev, g ? &g->ev : NULL);
    comp_row(h, "AV reproducibility", &r->av, g ? &g->av : NULL);
    comp_row(h, "IPO part \u00d7 operator", &r->ipo, NULL);
    comp_row(h, "GRR", &r->grr, g ? &g->grr : NULL);
    comp_row(h, "PV part variation", &r->pv, g ? &g->pv : NULL);
    comp_row(h, "TV total variation", &r->tv, g ? &g->tv : NULL);
    html_table_end(h);
}

/* Every reading (markers, offset a little per operator so they do not
 * hide each other) and each operator's mean per part (a line). */
static void chart(struct html *h, const struct grr_report *rep, const struct grr_report_meas *m,
                  size_t idx)
{
    const struct grr_data *d = m->data;
    double lo = NAN, hi = NAN;
    svg_range_add(&lo, &hi, d->x, d->parts * d->operators * d->trials);
    char id[32];
    snprintf(id, sizeof id, "grr%zu", idx);
    struct svg_plot_opts o = { .id = id,
                               .height = 340,
                               .title = "Appraiser by part",
                               .xlabel = "Part",
                               .ylabel = m->name,
                               .yunit = m->units,
                               .ylo = lo,
                               .yhi = hi,
                               .xcats = rep->parts,
                               .ncats = d->parts };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    if (svg_plot_begin(h, &o, &p) < 0) {
        html_figure_end(h, NULL);
        return;
    }
    size_t n = d->parts * d->trials;
    double *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y);
    double *px = calloc(d->parts, sizeof *px), *pm = calloc(d->parts, sizeof *pm);
    struct svg_legend_item leg[SVG_SERIES];
    size_t nleg = 0;
    for (size_t op = 0; x && y && px && pm && op < d->operators; op++) {
        double off = ((double)op - (double)(d->operators - 1) / 2) * 0.12;
        for (size_t pt = 0; pt < d->parts; pt++) {
            double s = 0;
            for (size_t t = 0; t < d->trials; t++) {
                double v = d->x[(op * d->parts + pt) * d->trials + t];
                x[pt * d->trials + t] = (double)pt + off;
                y[pt * d->trials + t] = v;
                s += v;
            }
            px[pt] = (double)pt;
            pm[pt] = s / (double)d->trials;
        }
        svg_markers(&p, x, y, n, (int)op);
        svg_line(&p, px, pm, d->parts, (int)op);
        if (nleg < SVG_SERIES)
            leg[nleg++] = (struct svg_legend_item){ rep->operators[op], SVG_LEG_MARKER, (int)op,
                                                    SVG_LIM_LIMIT, SVG_BAND_OK };
    }
    svg_legend(&p, leg, nleg);
    svg_plot_end(&p);
    free(x);
    free(y);
    free(px);
    free(pm);
    html_figure_end(h, "Every reading by part, one colour and marker per operator; the lines join "
                       "each operator's part means. Lines that run apart show reproducibility "
                       "(AV), lines that cross an interaction, spread within a part "
                       "repeatability (EV).");
}

static void measurement(struct html *h, const struct grr_report *rep, size_t i)
{
    const struct grr_report_meas *m = &rep->meas[i];
    const struct grr_result *r = m->r;
    char t[512], sid[40];
    snprintf(sid, sizeof sid, "m%zu", i);
    html_section_begin(h, sid);
    snprintf(t, sizeof t, "%s%s%s%s", m->name, m->units ? " (" : "", m->units ? m->units : "",
             m->units ? ")" : "");
    html_heading(h, 2, NULL, t);
    const char *why;
    double pct = isfinite(r->grr.pct_tol) ? fmax(r->grr.pct_tol, r->grr.pct_tv) : r->grr.pct_tv;
    enum html_verdict v = verdict(pct, r->ndc, &why);
    if (isfinite(r->grr.pct_tol))
        snprintf(t, sizeof t, "%%GRR %.2f %% of TV, %.2f %% of the tolerance; ndc %d. %s",
                 r->grr.pct_tv, r->grr.pct_tol, r->ndc, why);
    else
        snprintf(t, sizeof t, "%%GRR %.2f %% of TV (no tolerance); ndc %d. %s", r->grr.pct_tv,
                 r->ndc, why);
    html_banner_begin(h, v,
                      v == HV_PASS       ? "ACCEPTABLE"
                      : v == HV_MARGINAL ? "MARGINAL"
                                         : "NOT ACCEPTABLE",
                      t);
    html_banner_end(h);
    html_kv_begin(h, NULL);
    html_kvf(h, "design", "%zu parts \u00d7 %zu operators \u00d7 %zu trials", r->parts,
             r->operators, r->trials);
    html_kvf(h, "mean", "%.6g", r->mean);
    if (isfinite(r->tolerance))
        html_kvf(h, "tolerance (USL \u2212 LSL)", "%.6g", r->tolerance);
    else
        html_kv(h, "tolerance (USL \u2212 LSL)", "none (one-sided or no limits)");
    html_kvf(h, "ndc = 1.41 PV / GRR", "%d (range method %d)", r->ndc,
             r->range.valid ? r->range.ndc : 0);
    html_kv_end(h);
    anova_table(h, r);
    components(h, r);
    chart(h, rep, m, i);
    html_section_end(h);
}

static const char page_css[] = "p.pool{font-size:13px;color:#3d444d}\n";

int grr_report_render(const struct grr_report *rep, struct html *out, char *err, size_t errlen)
{
    char title[256];
    snprintf(title, sizeof title, "Gauge R&R study %s", rep->study);
    html_page_begin(out, title, page_css);
    html_raw(out, "<header><h1>Gauge R&amp;R study \u2013 ");
    html_text(out, rep->study);
    html_raw(out, "</h1><p class=\"sub\">AIAG MSA (4th edition): ANOVA method, average-and-range "
                  "method for comparison</p></header>\n");
    html_kv_begin(out, "Study");
    html_kv(out, "sequence", rep->sequence);
    html_kv(out, "created (UTC)", rep->created_utc);
    char buf[2048];
    size_t k = 0;
    for (size_t i = 0; rep->nmeas && i < rep->meas[0].data->operators; i++)
        k += (size_t)snprintf(buf + k, k < sizeof buf ? sizeof buf - k : 0, "%s%s", i ? ", " : "",
                              rep->operators[i]);
    html_kv(out, "operators", rep->nmeas ? buf : NULL);
    k = 0;
    for (size_t i = 0; rep->nmeas && i < rep->meas[0].data->parts && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "", rep->parts[i]);
    html_kv(out, "parts", rep->nmeas ? buf : NULL);
    html_kv_end(out);
    for (size_t i = 0; i < rep->nmeas; i++)
        measurement(out, rep, i);
    html_page_end(out, rep->generator);
    if (html_error(out)) {
        snprintf(err, errlen, "grr report: out of memory");
        return html_error(out);
    }
    return 0;
}
