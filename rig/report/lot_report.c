/* The lot report page (lot_report.h): header and selection, the counts
 * and yields, the failure Pareto, one part per measurement (lot_chart.c)
 * and the failed runs with links to their run reports. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/lot_int.h"
#include "report/lot_report.h"
#include "report/run_report.h"
#include "report/spc.h"
#include "report/svg.h"
#include "version/version.h"

/* Bars in the Pareto chart; the table lists every entry. */
#define PARETO_BARS 10

static const char lot_css[] =
    ".tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:10px 0 16px}\n"
    ".tile{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:#f8fafb}\n"
    ".tile .k{color:var(--muted);font-size:12px}.tile .v{font-size:22px;font-weight:700;"
    "font-variant-numeric:tabular-nums}\n"
    ".lotm{align-items:start}.lotm table.figs th{width:55%}\n"
    "table.viol td:nth-child(6){white-space:normal}\n"
    "table.failed td.mono,table.viol td.mono{white-space:nowrap;word-break:normal}\n"
    "table.failed td.id{font-size:11px}\n"
    "dl.rules{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:13px}\n"
    "dl.rules dt{font-weight:bold}dl.rules dd{margin:0}\n"
    "@media print{.tiles{grid-template-columns:repeat(4,1fr)}.tile .v{font-size:16px}"
    "table.failed td.mono,table.viol td.mono{font-size:9px}}\n";

void lot_report_fmt_index(char *buf, size_t n, double v)
{
    svg_fmt_num(buf, n, v, 3);
}

void lot_report_run_file(const struct store_lot_run *u, char *buf, size_t n)
{
    /* The run report's own name for it (run_report_path_for), so a lot
     * report links to what the station or --run-reports wrote. */
    const char *p = u->record_path;
    if (p && *p) {
        const char *base = strrchr(p, '/');
        if (run_report_path_for(base ? base + 1 : p, buf, n) == 0)
            return;
    }
    snprintf(buf, n, "%s.html", u->id);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void pct(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.1f %%", 100 * v);
    else
        snprintf(buf, n, "\u2013");
}

static void tile(struct html *h, const char *label, const char *key, const char *value)
{
    html_raw(h, "<div class=\"tile\"><div class=\"k\">");
    html_text(h, label);
    html_rawf(h, "</div><div class=\"v\" data-fig=\"%s\">", key);
    html_text(h, value);
    html_raw(h, "</div></div>\n");
}

/* Distinct values of a run field, ", " between them (at most 8 named). */
static void distinct(char *buf, size_t n, const struct store_lot *lot, size_t off)
{
    const char *seen[8];
    size_t ns = 0, more = 0, len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < lot->nruns; i++) {
        const char *v = *(char *const *)((const char *)&lot->runs[i] + off);
        if (!v || !*v)
            continue;
        bool dup = false;
        for (size_t j = 0; j < ns && !dup; j++)
            dup = !strcmp(seen[j], v);
        if (dup)
            continue;
        if (ns == sizeof seen / sizeof seen[0]) {
            more++; /* counted once per run beyond the 8th distinct: a bound */
            continue;
        }
        seen[ns++] = v;
        if (len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", ns > 1 ? ", " : "", v);
    }
    if (more && len < n)
        snprintf(buf + len, n - len, ", …");
}

static void header(struct html *h, const struct store_lot *lot, const struct lot_report_opts *o)
{
    static const struct store_filter none;
    const struct store_filter *f = o->filter ? o->filter : &none;
    char period[128], gen[40], buf[600];
    snprintf(period, sizeof period, "%s … %s", f->since ? f->since : "the first run",
             f->until ? f->until : "now");
    html_page_begin(h, "Lot report", lot_css);
    html_heading(h, 1, NULL, "Lot report");
    snprintf(buf, sizeof buf, "Runs started %s (until exclusive)", period);
    html_para(h, "sub", buf);
    if (o->generated) {
        snprintf(gen, sizeof gen, "%s", o->generated);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(gen, sizeof gen, "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    html_kv_begin(h, "Selection");
    html_kv(h, "Period (started, UTC)", period);
    html_kv(h, "Fixture", f->fixture ? f->fixture : "any");
    html_kv(h, "DUT model (reported)", f->model ? f->model : "any");
    if (f->measurement)
        html_kv(h, "Measurement", f->measurement);
    distinct(buf, sizeof buf, lot, offsetof(struct store_lot_run, station));
    html_kv(h, "Stations", buf);
    distinct(buf, sizeof buf, lot, offsetof(struct store_lot_run, fixture));
    html_kv(h, "Fixtures", buf);
    html_kv(h, "Source", o->source);
    html_kv(h, "Generated", gen);
    html_kv_end(h);
}

static size_t failed_runs(const struct store_lot *lot)
{
    size_t n = 0;
    for (size_t i = 0; i < lot->nruns; i++)
        n += lot->runs[i].outcome && strcmp(lot->runs[i].outcome, "PASS");
    return n;
}

static void summary(struct html *h, const struct store_lot *lot)
{
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(lot->stats, "yields");
    double units = num(y, "units"), runs = num(y, "runs");
    char buf[64];
    html_heading(h, 2, "summary", "Summary");
    html_raw(h, "<div class=\"tiles\">\n");
    snprintf(buf, sizeof buf, "%zu", lot->started);
    tile(h, "Runs started", "runs", buf);
    snprintf(buf, sizeof buf, "%zu", lot->nruns);
    tile(h, "Runs complete", "complete", buf);
    snprintf(buf, sizeof buf, "%.0f", units);
    tile(h, "Units (DUT serials)", "units", buf);
    snprintf(buf, sizeof buf, "%zu", failed_runs(lot));
    tile(h, "Failed runs", "failed_runs", buf);
    pct(buf, sizeof buf, num(y, "fpy"));
    tile(h, "First-pass yield", "fpy", buf);
    pct(buf, sizeof buf, num(y, "final_yield"));
    tile(h, "Final yield", "final_yield", buf);
    snprintf(buf, sizeof buf, "%.0f", isfinite(runs - units) ? runs - units : 0);
    tile(h, "Retests", "retests", buf);
    pct(buf, sizeof buf, num(y, "retest_rate"));
    tile(h, "Retest rate", "retest_rate", buf);
    html_raw(h, "</div>\n");
    html_para(h, "sub",
              "Yields are over the units whose first attempt is in the selection: first-pass "
              "yield = units passing attempt 1; final yield = units whose last complete attempt "
              "(before the end of the period) passed; retests = attempts beyond the first.");
}

static void pareto(struct html *h, const struct store_lot *lot)
{
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(lot->stats, "pareto");
    size_t n = (size_t)cJSON_GetArraySize(pa);
    html_heading(h, 2, "pareto", "Failure Pareto");
    if (n == 0) {
        html_para(h, "sub", "No failed runs in the selection.");
        return;
    }
    size_t nb = n < PARETO_BARS ? n : PARETO_BARS;
    const char *cats[PARETO_BARS];
    double y[PARETO_BARS], ymax = 0;
    for (size_t i = 0; i < nb; i++) {
        const cJSON *o = cJSON_GetArrayItem(pa, (int)i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        cats[i] = cJSON_IsString(name) ? name->valuestring : "";
        y[i] = num(o, "count");
        ymax = fmax(ymax, y[i]);
    }
    struct svg_plot_opts po = {
        .id = "pareto",
        .width = 960,
        .height = 260,
        .title = n > nb ? "Failures by measurement (10 most frequent)" : "Failures by measurement",
        .ylabel = "Failures",
        .ylo = 0,
        .yhi = fmax(ymax * 1.15, 8), /* counts: whole-number ticks */
        .xcats = cats,
        .ncats = nb,
    };
    struct svg_plot p;
    html_figure_begin(h, NULL);
    if (svg_plot_begin(h, &po, &p) == 0) {
        svg_bars(&p, NULL, NULL, y, nb, 0, 1);
        for (size_t i = 0; i < nb; i++) {
            char lab[24];
            snprintf(lab, sizeof lab, "%.0f", y[i]);
            svg_label(&p, (double)i, y[i] + ymax * 0.02, lab, "middle");
        }
        svg_plot_end(&p);
    }
    html_figure_end(h, "Failing measurements of the failed runs; \"(run) OUTCOME\": a run that "
                       "failed with no measurement out of limits.");
    static const char *const hdr[] = { "Failure", "Count", "Share", "Cumulative" };
    html_table_begin(h, "pareto", NULL, hdr, 4);
    const cJSON *o;
    cJSON_ArrayForEach (o, pa) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        char a[24], b[24];
        pct(a, sizeof a, num(o, "share"));
        pct(b, sizeof b, num(o, "cumulative"));
        html_tr_begin(h, NULL);
        html_td(h, NULL, cJSON_IsString(name) ? name->valuestring : "");
        html_td_num(h, num(o, "count"), 10);
        html_td(h, "num", a);
        html_td(h, "num", b);
        html_tr_end(h);
    }
    html_table_end(h);
}

static void measurements(struct html *h, const struct store_lot *lot,
                         const struct lot_report_opts *o, int *r)
{
    html_heading(h, 2, "measurements", "Measurements");
    html_para(h, "sub",
              "Per measurement and set of limits, over the complete runs in start order. Cp/Cpk "
              "use σ within = MR̄/1.128, Pp/Ppk the overall s.d., as rigctl stats does.");
    html_raw(h, "<dl class=\"rules\">");
    static const char *const rules[] = {
        "one point beyond 3σ from the centre line",
        "2 of 3 points in a row beyond 2σ on the same side",
        "4 of 5 points in a row beyond 1σ on the same side",
        "8 points in a row on one side of the centre line",
    };
    for (size_t i = 0; i < 4; i++) {
        html_rawf(h, "<dt>Rule %zu</dt><dd>", i + 1);
        html_text(h, rules[i]);
        html_raw(h, "</dd>");
    }
    html_raw(h, "</dl>\n");
    size_t text = 0;
    for (size_t i = 0; i < lot->nseries && *r == 0; i++) {
        if (lot->series[i].n == 0) {
            text++;
            continue;
        }
        *r = lot_measurement(h, lot, &lot->series[i], i, o);
    }
    if (text == 0)
        return;
    static const char *const hdr[] = { "Measurement", "Comparison", "Judged", "Passed" };
    html_table_begin(h, NULL, "Measurements without numeric values", hdr, 4);
    for (size_t i = 0; i < lot->nseries; i++) {
        const struct store_lot_series *s = &lot->series[i];
        if (s->n)
            continue;
        html_tr_begin(h, NULL);
        html_td(h, NULL, s->name);
        html_td(h, NULL, s->comparison ? s->comparison : "");
        html_td_num(h, (double)s->count, 10);
        html_td_num(h, (double)s->pass, 10);
        html_tr_end(h);
    }
    html_table_end(h);
}

struct by_serial {
    const char *serial;
    size_t i;
};

static int cmp_serial(const void *a, const void *b)
{
    const struct by_serial *x = a, *y = b;
    int c = strcmp(x->serial, y->serial);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int failed_table(struct html *h, const struct store_lot *lot,
                        const struct lot_report_opts *o)
{
    size_t nf = failed_runs(lot);
    html_heading(h, 2, "failed", "Failed runs");
    if (nf == 0) {
        html_para(h, "sub", "No failed runs in the selection.");
        return 0;
    }
    /* later[i]: the next run of the same serial in the lot, for "what
     * became of the unit". */
    struct by_serial *bs = malloc((lot->nruns ? lot->nruns : 1) * sizeof *bs);
    size_t *later = malloc((lot->nruns ? lot->nruns : 1) * sizeof *later);
    if (!bs || !later) {
        free(bs);
        free(later);
        return -ENOMEM;
    }
    for (size_t i = 0; i < lot->nruns; i++) {
        bs[i] = (struct by_serial){ lot->runs[i].dut_serial ? lot->runs[i].dut_serial : "", i };
        later[i] = SIZE_MAX;
    }
    qsort(bs, lot->nruns, sizeof *bs, cmp_serial);
    for (size_t k = 0; k + 1 < lot->nruns; k++)
        if (*bs[k].serial && !strcmp(bs[k].serial, bs[k + 1].serial))
            later[bs[k].i] = bs[k + 1].i;
    free(bs);
    static const char *const hdr[] = { "Started (UTC)", "DUT serial", "Attempt",      "Fixture",
                                       "Outcome",       "Failing",    "Next attempt", "Run" };
    html_table_begin(h, "failed", NULL, hdr, sizeof hdr / sizeof hdr[0]);
    for (size_t i = 0; i < lot->nruns; i++) {
        const struct store_lot_run *u = &lot->runs[i];
        if (!u->outcome || !strcmp(u->outcome, "PASS"))
            continue;
        char t[32], file[300], next[64];
        lot_time(t, sizeof t, u->started);
        html_tr_begin(h, "row-fail");
        html_td(h, "mono", t);
        html_td(h, NULL, u->dut_serial);
        html_td_num(h, u->attempt, 10);
        html_td(h, NULL, u->fixture ? u->fixture : "");
        html_raw(h, "<td>");
        html_badge(h, !strcmp(u->outcome, "FAIL") ? HV_FAIL : HV_ERROR, u->outcome);
        html_raw(h, "</td>");
        html_td(h, NULL, u->failing ? u->failing : "");
        if (later[i] != SIZE_MAX) {
            const struct store_lot_run *v = &lot->runs[later[i]];
            snprintf(next, sizeof next, "attempt %u: %s", v->attempt, v->outcome ? v->outcome : "");
        } else {
            snprintf(next, sizeof next, "none in the period");
        }
        html_td(h, NULL, next);
        if (o->run_link_prefix)
            snprintf(file, sizeof file, "%s%s", o->run_link_prefix, u->id);
        else
            lot_report_run_file(u, file, sizeof file);
        html_raw(h, "<td class=\"mono id\"><a href=\"");
        html_attr(h, file);
        html_raw(h, "\">");
        html_text(h, u->id);
        html_raw(h, "</a></td>");
        html_tr_end(h);
    }
    html_table_end(h);
    free(later);
    html_para(h, "sub",
              o->run_link_prefix ? "Each run links to its run report."
                                 : "Each run links to its run report by the record's file name "
                                   "(<record>.html), expected next to this file.");
    return 0;
}

int lot_report_write(struct html *h, const struct store_lot *lot, const struct lot_report_opts *o,
                     char *err, size_t errlen)
{
    if (o->subgroup && !spc_constants(o->subgroup)) {
        snprintf(err, errlen, "subgroup size %u: must be %d to %d", o->subgroup, SPC_SUBGROUP_MIN,
                 SPC_SUBGROUP_MAX);
        return -EINVAL;
    }
    header(h, lot, o);
    summary(h, lot);
    pareto(h, lot);
    int r = 0;
    measurements(h, lot, o, &r);
    if (r == 0)
        r = failed_table(h, lot, o);
    char foot[160];
    snprintf(foot, sizeof foot, "rig %s · rigctl report (lot)", rig_version());
    html_page_end(h, foot);
    if (r == 0)
        r = html_error(h);
    if (r < 0)
        snprintf(err, errlen, "lot report: %s", strerror(-r));
    return r;
}
