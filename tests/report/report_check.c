/* report_check RECORD HTML DIR: a run report against its record.
 *
 * Independent of the report's own formatting code: numbers are formatted
 * here with printf's "%.6g" (docs/REPORTS.md: REPORT_SIG = 6 significant
 * digits, no exponent in the measured range) and text is escaped here.
 * Checks:
 *  - the banner's outcome word is the record's outcome (INCOMPLETE when
 *    the record is), and every failing/marginal measurement (not
 *    superseded, not SKIPPED) is listed in the banner, up to its 12;
 *  - every measurement has its row (id m-STEP-K) with its name, value,
 *    low and high and limit text, and its outcome word;
 *  - each capture: its waveform plot when its file is there, a "deleted by
 *    retention" note when the record says pruned; per-stroke plots when
 *    the per-stroke file is there;
 *  - a sweep (2+ captures judged at setpoints) has the setpoint plots;
 *  - nothing refers outside the page (no http(s) URL but the SVG
 *    namespace, no src=, href=, @import, url( other than #clip ids, no
 *    <script>).
 * Exit 0 when all hold, 1 with every difference printed. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rec.h"
#include "core/record.h"

static int failures;

__attribute__((format(printf, 1, 2))) static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("report_check: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = '\0';
    fclose(f);
    return b;
}

static void esc(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (; s && *s && k + 6 < len; s++) {
        const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (r) {
            k += (size_t)snprintf(out + k, len - k, "%s", r);
        } else {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

static void num(double v, char *out, size_t len)
{
    if (!isfinite(v))
        snprintf(out, len, "\u2013");
    else
        snprintf(out, len, "%.6g", v);
}

/* The text of one table row, from id="ID" to its </tr> (malloc'd). */
static char *row(const char *html, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *a = strstr(html, key);
    if (!a)
        return NULL;
    const char *b = strstr(a, "</tr>");
    if (!b)
        return NULL;
    return strndup(a, (size_t)(b - a));
}

static void cell(const char *r, const char *id, const char *cls, const char *want)
{
    char key[300];
    if (*cls)
        snprintf(key, sizeof key, "class=\"%s\">%s</td>", cls, want);
    else
        snprintf(key, sizeof key, "<td>%s</td>", want);
    if (!strstr(r, key))
        bad("%s: no cell %s", id, key);
}

static void check_banner(const struct rec_run *r, const char *html)
{
    char want[80];
    if (!r->complete)
        snprintf(want, sizeof want, "<div class=\"word\">INCOMPLETE</div>");
    else
        snprintf(want, sizeof want, "<div class=\"word\">%s%s</div>", outcome_str(r->outcome),
                 r->outcome == OUTCOME_PASS && r->marginal ? " \u2013 MARGINAL" : "");
    const char *b = strstr(html, "<div class=\"banner");
    if (!b) {
        bad("no outcome banner");
        return;
    }
    const char *e = strstr(b, "</ul>");
    const char *end_banner = strstr(b, "</div></div>");
    if (!strstr(b, want) || strstr(b, want) > end_banner)
        bad("banner does not say %s", want);
    size_t listed = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        for (size_t k = 0; k < s->nmeas; k++) {
            const struct rec_measurement *m = &s->meas[k];
            if (s->superseded || m->outcome == OUTCOME_SKIPPED ||
                (m->outcome == OUTCOME_PASS && !m->marginal))
                continue;
            if (++listed > 12)
                continue;
            char nm[200], key[260];
            esc(m->name, nm, sizeof nm);
            snprintf(key, sizeof key, "<b>%s</b> = ", nm);
            const char *at = strstr(b, key);
            if (!at || !e || at > e)
                bad("banner does not list failing measurement %s", m->name);
        }
    }
    if (listed == 0 && strstr(b, "class=\"flagged\"") &&
        strstr(b, "class=\"flagged\"") < end_banner)
        bad("banner lists measurements though none failed");
}

static void check_measurements(const struct rec_run *r, const char *html)
{
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        for (size_t k = 0; k < s->nmeas; k++) {
            const struct rec_measurement *m = &s->meas[k];
            char id[64], v[200], lo[40], hi[40], t[300];
            snprintf(id, sizeof id, "m-%zu-%zu", i, k);
            char *rw = row(html, id);
            if (!rw) {
                bad("no row %s for measurement %s", id, m->name);
                continue;
            }
            esc(m->name, t, sizeof t);
            cell(rw, id, "", t); /* the name cell has no class */
            if (m->is_text) {
                esc(m->text ? m->text : "\u2013", v, sizeof v);
                cell(rw, id, "val", v);
            } else {
                num(m->value, v, sizeof v);
                cell(rw, id, "num val", v);
            }
            num(m->low, lo, sizeof lo);
            num(m->high, hi, sizeof hi);
            cell(rw, id, "num lo", lo);
            cell(rw, id, "num hi", hi);
            esc(m->limit ? m->limit : "\u2013", t, sizeof t);
            cell(rw, id, "lim", t);
            const char *word =
                m->outcome == OUTCOME_PASS && m->marginal ? "MARGINAL" : outcome_str(m->outcome);
            char key[80];
            snprintf(key, sizeof key, "</svg>%s</span>", word);
            if (!strstr(rw, key))
                bad("%s: outcome %s not shown", id, word);
            free(rw);
        }
    }
}

static void check_captures(const struct rec_run *r, const char *html, const char *dir)
{
    unsigned no = 0, judged = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct rec_step *s = &r->steps[i];
        if (!s->capture)
            continue;
        no++;
        const struct rec_capture *c = s->capture;
        char key[80], path[4096];
        snprintf(key, sizeof key, "id=\"c%u-wd\"", no);
        snprintf(path, sizeof path, "%s/%s", dir, c->data.name ? c->data.name : "-");
        bool file = c->data.name && !c->pruned && access(path, R_OK) == 0;
        if (file && c->samples > 0 && !strstr(html, key))
            bad("capture %u: file %s there but no waveform plot", no, c->data.name);
        if (!file && strstr(html, key))
            bad("capture %u: a waveform plot without samples", no);
        if (c->pruned && !strstr(html, c->data.name))
            bad("capture %u: pruned file %s not named", no, c->data.name);
        snprintf(path, sizeof path, "%s/%s", dir, c->strokes.name ? c->strokes.name : "-");
        snprintf(key, sizeof key, "id=\"c%u-sd\"", no);
        if (c->strokes.name && c->analysis.strokes > 0 && access(path, R_OK) == 0 &&
            !strstr(html, key))
            bad("capture %u: per-stroke file there but no per-stroke depth plot", no);
        if (!s->superseded && isfinite(s->setpoints.rate_hz)) {
            for (size_t k = 0; k < s->nmeas; k++) {
                const char *q = s->meas[k].quantity;
                if (!strcmp(q, "stroke_rate_hz") || !strcmp(q, "rate_error_pct") ||
                    !strcmp(q, "depth_mean_mm") || !strcmp(q, "depth_error_mm")) {
                    judged++;
                    break;
                }
            }
        }
    }
    if (judged >= 2 && !strstr(html, "id=\"sw-r\""))
        bad("%u captures judged at setpoints but no setpoint plot", judged);
    if (strstr(html, "deleted by retention") && no > 0) {
        bool any = false;
        for (size_t i = 0; i < r->nsteps; i++)
            any |= r->steps[i].capture && r->steps[i].capture->pruned;
        if (!any)
            bad("the report says pruned, the record does not");
    }
}

static void check_self_contained(const char *html)
{
    for (const char *c = html; (c = strstr(c, "http")) != NULL; c++) {
        if (strncmp(c, "http://www.w3.org/2000/svg", 26) != 0)
            bad("a URL in the page: %.60s", c);
    }
    static const char *const banned[] = { "<script", " src=", " href=", "@import", "<link" };
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++) {
        if (strstr(html, banned[i]))
            bad("the page has %s", banned[i]);
    }
    for (const char *c = html; (c = strstr(c, "url(")) != NULL; c++) {
        if (c[4] != '#')
            bad("url() not to an id of the page: %.40s", c);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: report_check RECORD HTML DIR\n");
        return 2;
    }
    char err[512];
    cJSON *doc = record_read(argv[1], err, sizeof err);
    char *html = slurp(argv[2]);
    if (!doc || !html) {
        fprintf(stderr, "report_check: cannot read %s\n", !doc ? argv[1] : argv[2]);
        return 2;
    }
    struct rec_run r;
    if (rec_from_json(doc, &r, err, sizeof err) < 0) {
        fprintf(stderr, "report_check: %s: %s\n", argv[1], err);
        return 2;
    }
    check_banner(&r, html);
    check_measurements(&r, html);
    check_captures(&r, html, argv[3]);
    check_self_contained(html);
    if (!strstr(html, r.id))
        bad("run id %s not in the report", r.id);
    if (r.dut_serial && !strstr(html, r.dut_serial))
        bad("DUT serial not in the report");
    for (size_t i = 0; i < r.ninstruments; i++) {
        char due[11];
        record_date(r.instruments[i].cal_due, due);
        if (r.instruments[i].certificate[0] && !strstr(html, r.instruments[i].certificate))
            bad("instrument certificate %s not shown", r.instruments[i].certificate);
        if (r.instruments[i].cal_due && !strstr(html, due))
            bad("calibration due date %s not shown", due);
    }
    if (r.sequence.sha256[0] && !strstr(html, r.sequence.sha256))
        bad("sequence SHA-256 not shown");
    if (r.spec.sha256[0] && !strstr(html, r.spec.sha256))
        bad("spec SHA-256 not shown");
    rec_run_free(&r);
    cJSON_Delete(doc);
    free(html);
    if (failures)
        fprintf(stderr, "report_check: %s: %d problem%s\n", argv[2], failures,
                failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
