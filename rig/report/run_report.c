/* The run report's page: title, outcome banner, identity, measurements
 * and steps; the plots come from run_plots.c (see run_report.h). */
#include "report/run_report.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "core/speclimit.h"
#include "report/run_int.h"
#include "report/svg.h"

/* Banner lists at most this many failing/marginal measurements. */
#define BANNER_MAX 12

enum html_verdict rr_verdict(enum rig_outcome o, bool marginal)
{
    static const enum html_verdict map[] = {
        [OUTCOME_SKIPPED] = HV_SKIPPED, [OUTCOME_PASS] = HV_PASS,   [OUTCOME_FAIL] = HV_FAIL,
        [OUTCOME_TIMEOUT] = HV_ERROR,   [OUTCOME_ERROR] = HV_ERROR, [OUTCOME_ABORTED] = HV_ABORTED,
    };
    if ((unsigned)o >= sizeof map / sizeof map[0])
        return HV_ERROR;
    return o == OUTCOME_PASS && marginal ? HV_MARGINAL : map[o];
}

void rr_setpoints_text(const struct rec_step *s, char *buf, size_t len)
{
    char a[32] = "", b[32] = "";
    if (isfinite(s->setpoints.rate_hz))
        svg_fmt_num(a, sizeof a, s->setpoints.rate_hz, REPORT_SIG);
    if (isfinite(s->setpoints.depth_mm))
        svg_fmt_num(b, sizeof b, s->setpoints.depth_mm, REPORT_SIG);
    snprintf(buf, len, "%s%s%s%s%s", a, *a ? " Hz" : "", *a && *b ? ", " : "", b, *b ? " mm" : "");
}

void rr_step_label(const struct rec_step *s, char *buf, size_t len)
{
    char idx[16] = "\u2013";
    if (s->index)
        snprintf(idx, sizeof idx, "#%u", s->index);
    snprintf(buf, len, "%s %s%s%s%s", idx, step_kind_str(s->kind), s->name ? " \u201c" : "",
             s->name ? s->name : "", s->name ? "\u201d" : "");
}

const struct rec_measurement *rr_meas(const struct rec_step *s, const char *quantity)
{
    for (size_t k = 0; k < s->nmeas; k++) {
        if (s->meas[k].quantity && strcmp(s->meas[k].quantity, quantity) == 0)
            return &s->meas[k];
    }
    return NULL;
}

static void utc_text(const struct timespec *ts, char out[32])
{
    record_utc(ts, out);
}

/* Value of a measurement as the table shows it. */
static void value_text(const struct rec_measurement *m, char *buf, size_t len)
{
    if (m->is_text)
        snprintf(buf, len, "%s", m->text ? m->text : "\u2013");
    else
        svg_fmt_num(buf, len, m->value, REPORT_SIG);
}

static bool meas_flagged(const struct rec_step *s, const struct rec_measurement *m)
{
    return !s->superseded && m->outcome != OUTCOME_SKIPPED &&
           (m->outcome != OUTCOME_PASS || m->marginal);
}

static void banner(struct rr_ctx *c)
{
    const struct rec_run *r = c->r;
    struct html *h = c->h;
    char sub[600];
    enum html_verdict v;
    const char *word;
    char wbuf[32];
    if (!r->complete) {
        v = HV_ERROR;
        word = "INCOMPLETE";
        snprintf(sub, sizeof sub,
                 "The record has no verdict: the run did not finish (rigd stopped or the record "
                 "is still being written). What it holds is shown below.");
    } else {
        v = rr_verdict(r->outcome, r->marginal);
        snprintf(wbuf, sizeof wbuf, "%s%s", outcome_str(r->outcome),
                 r->outcome == OUTCOME_PASS && r->marginal ? " \u2013 MARGINAL" : "");
        word = wbuf;
        if (r->message)
            snprintf(sub, sizeof sub, "%s", r->message);
        else
            snprintf(sub, sizeof sub, "%u of %u measurements passed in %u steps%s", r->summary.pass,
                     r->summary.measurements, r->summary.steps,
                     r->summary.marginal ? "; some inside a marginal band" : "");
    }
    html_banner_begin(h, v, word, sub);
    size_t shown = 0, flagged = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        for (size_t k = 0; k < s->nmeas; k++) {
            const struct rec_measurement *m = &s->meas[k];
            if (!meas_flagged(s, m))
                continue;
            if (flagged++ == 0)
                html_raw(h, "<ul class=\"flagged\">");
            if (shown >= BANNER_MAX)
                continue;
            shown++;
            char val[64], lbl[160];
            value_text(m, val, sizeof val);
            rr_step_label(s, lbl, sizeof lbl);
            html_raw(h, "<li>");
            html_badge(h, rr_verdict(m->outcome, m->marginal),
                       m->marginal && m->outcome == OUTCOME_PASS ? "MARGINAL" : NULL);
            html_raw(h, " <b>");
            html_text(h, m->name);
            html_raw(h, "</b> = ");
            html_text(h, val);
            if (m->units && *m->units) {
                html_raw(h, "\u202f");
                html_text(h, m->units);
            }
            html_raw(h, " (limit ");
            html_text(h, m->limit ? m->limit : "none");
            html_raw(h, ") at ");
            html_text(h, lbl);
            if (m->note) {
                html_raw(h, ": ");
                html_text(h, m->note);
            }
            html_raw(h, "</li>");
        }
    }
    if (flagged > shown)
        html_rawf(h, "<li>and %zu more (table below)</li>", flagged - shown);
    if (flagged)
        html_raw(h, "</ul>");
    html_banner_end(h);
}

static void identity(struct rr_ctx *c)
{
    const struct rec_run *r = c->r;
    const struct run_report_opts *o = c->o;
    struct html *h = c->h;
    char t[64], t2[64];
    html_section_begin(h, "identity");
    html_heading(h, 2, NULL, "Identity");
    html_raw(h, "<div class=\"grid2\"><div>");
    html_kv_begin(h, "Unit under test");
    html_kv(h, "Serial (entered)", r->dut_serial);
    html_kv(h, "Serial (reported by the pen)",
            r->reported_serial ? r->reported_serial
                               : (r->has_reported ? r->reported.serial : "not asked"));
    if (r->has_reported) {
        html_kv(h, "Model", r->reported.model);
        html_kvf(h, "Firmware", "%u.%u.%u", r->reported.fw_major, r->reported.fw_minor,
                 r->reported.fw_patch);
        html_kvf(h, "Hardware revision", "%u", r->reported.hw_revision);
        html_kv(h, "Cartridge", r->reported.cartridge_id[0] ? r->reported.cartridge_id : "none");
        html_kvf(h, "Needles", "%u", r->reported.needle_count);
    } else {
        html_kv(h, "Identity", "not reported (no identify step ran)");
    }
    html_kv_end(h);
    html_kv_begin(h, "Software that judged the run");
    html_kvf(h, "Version", "rig %s", r->sw_version ? r->sw_version : "?");
    html_kvf(h, "Commit", "%s%s", r->sw_vcs ? r->sw_vcs : "not recorded",
             r->sw_dirty ? " (built with uncommitted changes)" : "");
    html_kv_end(h);
    html_raw(h, "</div><div>");
    html_kv_begin(h, "Run");
    html_kv(h, "Run id", r->id);
    html_kv(h, "Station", r->station);
    html_kv(h, "Fixture", r->fixture ? r->fixture : "none (engine run outside rigd)");
    html_kv(h, "Operator", r->operator_name);
    utc_text(&r->started, t);
    html_kv(h, "Started (UTC)", t);
    if (r->has_ended) {
        utc_text(&r->ended, t2);
        double d = (double)(r->ended.tv_sec - r->started.tv_sec) +
                   (double)(r->ended.tv_nsec - r->started.tv_nsec) / 1e9;
        char ds[32];
        svg_fmt_num(ds, sizeof ds, d, 4);
        html_kvf(h, "Ended (UTC)", "%s (%s s)", t2, ds);
    } else {
        html_kv(h, "Ended (UTC)", "not ended (record incomplete)");
    }
    if (o->attempt > 1)
        html_kvf(h, "Attempt", "%u (retest after %s)", o->attempt,
                 o->retest_reason ? o->retest_reason : "an earlier attempt");
    else if (o->attempt == 1)
        html_kv(h, "Attempt", "1 (first test of this serial)");
    else
        html_kv(h, "Attempt", "not known (no station database given)");
    html_kvf(h, "Retries in the run", "%u", r->retries);
    if (r->final_stop_sent)
        html_kv(h, "Final stop", r->final_stop_result);
    html_kv(h, "Record", o->record_name);
    html_kv_end(h);
    html_raw(h, "</div></div>\n");

    static const char *const dh[] = { "", "Name", "Version", "File", "SHA-256", "Policy" };
    html_table_begin(h, "defs", "Sequence and spec", dh, 6);
    const struct rec_definition *d[2] = { &r->sequence, &r->spec };
    static const char *const what[2] = { "Sequence", "Spec" };
    for (int i = 0; i < 2; i++) {
        html_tr_begin(h, NULL);
        html_td(h, NULL, what[i]);
        html_td(h, NULL, d[i]->name);
        html_td(h, NULL, d[i]->version ? d[i]->version : "\u2013");
        html_td(h, "mono", d[i]->file);
        html_td(h, "mono", d[i]->sha256[0] ? d[i]->sha256 : "\u2013");
        html_td(h, NULL, d[i]->policy ? d[i]->policy : "\u2013");
        html_tr_end(h);
    }
    html_table_end(h);

    static const char *const ih[] = { "Role",        "Model",      "Serial",  "Firmware",
                                      "Certificate", "Calibrated", "Cal due", "Status" };
    html_table_begin(h, "instr", "Instruments", ih, 8);
    struct tm tm;
    time_t st = r->started.tv_sec;
    gmtime_r(&st, &tm);
    uint32_t run_day = (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
    for (size_t i = 0; i < r->ninstruments; i++) {
        const struct rig_instrument *in = &r->instruments[i];
        char cd[11], due[11];
        record_date(in->cal_date, cd);
        record_date(in->cal_due, due);
        bool overdue = in->cal_due && in->cal_due < run_day;
        html_tr_begin(h, overdue ? "row-fail" : NULL);
        html_td(h, NULL, in->role);
        html_td(h, NULL, in->model);
        html_td(h, NULL, in->serial);
        html_td(h, NULL, in->firmware);
        html_td(h, NULL, in->certificate[0] ? in->certificate : "\u2013");
        html_td(h, NULL, cd[0] ? cd : "\u2013");
        html_td(h, NULL, in->cal_due ? due : "no calibration needed");
        html_raw(h, "<td>");
        if (overdue)
            html_badge(h, HV_FAIL, "OVERDUE at the run");
        else
            html_badge(h, HV_PASS, in->cal_due ? "in calibration" : "n/a");
        html_raw(h, "</td>");
        html_tr_end(h);
    }
    if (r->ninstruments == 0) {
        html_tr_begin(h, NULL);
        html_raw(h, "<td colspan=\"8\">no instrument recorded</td>");
        html_tr_end(h);
    }
    html_table_end(h);

    if (r->tare.present) {
        html_kv_begin(h, "Tare before the run");
        utc_text(&r->tare.at, t);
        html_kv(h, "When (UTC)", t);
        char a[32], b[32];
        svg_fmt_num(a, sizeof a, r->tare.needle_tip_mm, REPORT_SIG);
        svg_fmt_num(b, sizeof b, r->tare.zero_n, REPORT_SIG);
        html_kvf(h, "Needle tips", "%s mm", a);
        html_kvf(h, "Done", "%s%s%s", r->tare.done ? "yes" : "no", r->tare.note ? ": " : "",
                 r->tare.note ? r->tare.note : "");
        html_kvf(h, "Force zero", "%s N (raw offset %d \u00b5N)", b, r->tare.offset_raw_un);
        html_kv_end(h);
    }
    if (r->nrig_actions) {
        static const char *const ah[] = { "When (UTC)", "Action", "Faults", "Pen", "Why" };
        html_table_begin(h, NULL, "What the rig did to the bench for this run", ah, 5);
        for (size_t i = 0; i < r->nrig_actions; i++) {
            const struct rec_rig_action *a = &r->rig_actions[i];
            utc_text(&a->at, t);
            html_tr_begin(h, NULL);
            html_td(h, NULL, t);
            html_td(h, NULL, a->action);
            html_td(h, NULL, a->faults);
            html_td(h, NULL, a->pen_serial);
            html_td(h, NULL, a->reason);
            html_tr_end(h);
        }
        html_table_end(h);
    }
    html_section_end(h);
}

/* Every measurement in execution order; rows carry ids m-<step>-<k>
 * (array positions) and value/low/high cells their classes, so tests
 * and readers can find them. */
static void measurements(struct rr_ctx *c)
{
    const struct rec_run *r = c->r;
    struct html *h = c->h;
    html_section_begin(h, "measurements");
    html_heading(h, 2, NULL, "Measurements");
    html_para(h, "sub",
              "Every measurement in execution order. Superseded retry attempts are struck "
              "through and do not decide the run; SKIPPED measurements were planned and not run.");
    static const char *const mh[] = { "Step", "Setpoints", "Measurement", "Value",  "Units",
                                      "Low",  "High",      "Limit",       "Outcome" };
    html_table_begin(h, "meas", NULL, mh, 9);
    size_t rows = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        char lbl[160], sp[64];
        rr_step_label(s, lbl, sizeof lbl);
        rr_setpoints_text(s, sp, sizeof sp);
        for (size_t k = 0; k < s->nmeas; k++) {
            const struct rec_measurement *m = &s->meas[k];
            const char *cls = NULL;
            if (s->superseded)
                cls = "row-sup";
            else if (m->outcome == OUTCOME_FAIL)
                cls = "row-fail";
            else if (m->outcome == OUTCOME_ERROR || m->outcome == OUTCOME_TIMEOUT ||
                     m->outcome == OUTCOME_ABORTED)
                cls = "row-err";
            else if (m->marginal)
                cls = "row-marg";
            html_rawf(h, "<tr id=\"m-%zu-%zu\"%s%s%s>", i, k, cls ? " class=\"" : "",
                      cls ? cls : "", cls ? "\"" : "");
            html_td(h, NULL, lbl);
            html_td(h, NULL, sp);
            html_td(h, NULL, m->name);
            char v[64], lo[32], hi[32];
            value_text(m, v, sizeof v);
            html_td(h, m->is_text ? "val" : "num val", v);
            html_td(h, NULL, m->units);
            svg_fmt_num(lo, sizeof lo, m->low, REPORT_SIG);
            svg_fmt_num(hi, sizeof hi, m->high, REPORT_SIG);
            html_td(h, "num lo", lo);
            html_td(h, "num hi", hi);
            html_td(h, "lim", m->limit ? m->limit : "\u2013");
            html_raw(h, "<td class=\"out\">");
            html_badge(h, rr_verdict(m->outcome, m->marginal),
                       m->outcome == OUTCOME_PASS && m->marginal ? "MARGINAL" : NULL);
            if (m->note) {
                html_raw(h, "<div class=\"mnote\">");
                html_text(h, m->note);
                html_raw(h, "</div>");
            }
            html_raw(h, "</td>");
            html_tr_end(h);
            rows++;
        }
    }
    if (rows == 0)
        html_raw(h, "<tr><td colspan=\"9\">no measurement recorded</td></tr>\n");
    html_table_end(h);
    html_section_end(h);
}

static void steps(struct rr_ctx *c)
{
    const struct rec_run *r = c->r;
    struct html *h = c->h;
    html_section_begin(h, "steps");
    html_heading(h, 2, NULL, "Steps");
    static const char *const sh[] = { "Step",   "Section", "Path",   "Setpoints",
                                      "Time/s", "Outcome", "Message" };
    html_table_begin(h, "steps", NULL, sh, 7);
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        char lbl[160], sp[64], d[32];
        rr_step_label(s, lbl, sizeof lbl);
        rr_setpoints_text(s, sp, sizeof sp);
        svg_fmt_num(d, sizeof d, s->duration_s, 4);
        html_tr_begin(h, s->superseded                     ? "row-sup"
                         : s->outcome == OUTCOME_FAIL      ? "row-fail"
                         : (s->outcome >= OUTCOME_TIMEOUT) ? "row-err"
                                                           : NULL);
        if (s->attempt) {
            char a[200];
            snprintf(a, sizeof a, "%s (attempt %u%s)", lbl, s->attempt,
                     s->superseded ? ", superseded" : "");
            html_td(h, NULL, a);
        } else {
            html_td(h, NULL, lbl);
        }
        html_td(h, NULL, s->section);
        html_td(h, "mono", s->path);
        html_td(h, NULL, sp);
        html_td(h, "num", d);
        html_raw(h, "<td>");
        html_badge(h, rr_verdict(s->outcome, s->marginal), NULL);
        html_raw(h, "</td>");
        html_td(h, NULL, s->message ? s->message : "");
        html_tr_end(h);
    }
    html_table_end(h);
    html_section_end(h);
}

static const char page_css[] =
    "tr.row-sup td{color:#8c959f;text-decoration:line-through}\n"
    ".mnote{font-size:11px;color:#5b6470;font-weight:normal;max-width:260px}\n"
    "table.meas td.lim{font-family:'DejaVu Sans Mono',monospace;font-size:11px}\n"
    ".capinfo{color:#3d444d;font-size:12px;margin:4px 0 8px}\n";

int run_report_render(const struct rec_run *r, const struct run_report_opts *o, struct html *out,
                      char *err, size_t errlen)
{
    struct rr_ctx c = { .r = r, .o = o, .h = out };
    int rc = rr_load_caps(&c, err, errlen);
    if (rc < 0)
        return rc;
    char title[256];
    snprintf(title, sizeof title, "Run report %s %s %s", r->dut_serial ? r->dut_serial : "?",
             r->complete ? outcome_str(r->outcome) : "INCOMPLETE", r->id);
    html_page_begin(out, title, page_css);
    html_raw(out, "<header><h1>Run report \u2013 ");
    html_text(out, r->dut_serial && *r->dut_serial ? r->dut_serial : "(no serial)");
    html_raw(out, "</h1><p class=\"sub\">");
    char t[32];
    utc_text(&r->started, t);
    html_text(out, r->sequence.name ? r->sequence.name : "?");
    html_raw(out, " \u00b7 station ");
    html_text(out, r->station && *r->station ? r->station : "?");
    if (r->fixture) {
        html_raw(out, ", fixture ");
        html_text(out, r->fixture);
    }
    html_raw(out, " \u00b7 started ");
    html_text(out, t);
    html_raw(out, " UTC \u00b7 run ");
    html_text(out, r->id);
    html_raw(out, "</p></header>\n");
    banner(&c);
    identity(&c);
    measurements(&c);
    steps(&c);
    rr_plots(&c);
    html_page_end(out, o->generator);
    rr_free_caps(&c);
    if (html_error(out)) {
        snprintf(err, errlen, "report: out of memory");
        return html_error(out);
    }
    return 0;
}

int run_report_path_for(const char *record_path, char *out, size_t outlen)
{
    size_t n = strlen(record_path);
    if (n > 5 && strcmp(record_path + n - 5, ".json") == 0)
        n -= 5;
    if (n + 6 > outlen)
        return -ENAMETOOLONG;
    memcpy(out, record_path, n);
    memcpy(out + n, ".html", 6);
    return 0;
}

int run_report_build(const char *record_path, const struct run_report_opts *o, struct html *out,
                     char *err, size_t errlen)
{
    struct run_report_opts def = { 0 };
    if (!o)
        o = &def;
    struct run_report_opts eff = *o;
    char *copy = strdup(record_path), *copy2 = strdup(record_path);
    if (!copy || !copy2) {
        free(copy);
        free(copy2);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!eff.dir)
        eff.dir = dirname(copy);
    if (!eff.record_name)
        eff.record_name = basename(copy2);
    cJSON *doc = record_read(record_path, err, errlen);
    int rc;
    if (!doc) {
        rc = -EINVAL;
    } else {
        struct rec_run r;
        char msg[300];
        rc = rec_from_json(doc, &r, msg, sizeof msg);
        if (rc < 0)
            snprintf(err, errlen, "%s: not a run record: %s", record_path, msg);
        else
            rc = run_report_render(&r, &eff, out, err, errlen);
        rec_run_free(&r);
        cJSON_Delete(doc);
    }
    free(copy);
    free(copy2);
    return rc;
}

int run_report_file(const char *record_path, const char *out_path, const struct run_report_opts *o,
                    char *err, size_t errlen)
{
    struct html h;
    html_init(&h);
    int rc = run_report_build(record_path, o, &h, err, errlen);
    if (rc == 0)
        rc = html_write_file(&h, out_path, err, errlen);
    html_free(&h);
    return rc;
}
