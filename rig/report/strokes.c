/* Per-stroke values for reports: the per-stroke CSV parser and the
 * fallback through the engine's analysis (see strokes.h). */
#include "report/strokes.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"

static const char header[] = "stroke,rise_s,peak_s,depth_mm,peak_force_n,steady";

void strokes_free(struct rep_strokes *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* One field [p, e) as a finite number; an empty field is NaN when
 * allow_empty. */
static bool num(const char *p, const char *e, bool allow_empty, double *out)
{
    if (p == e) {
        *out = NAN;
        return allow_empty;
    }
    char buf[64];
    size_t n = (size_t)(e - p);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    /* strtod would skip leading blanks: a field is a number, nothing else */
    if (buf[0] == ' ' || buf[0] == '\t')
        return false;
    char *end;
    double v = g_ascii_strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Split one line [p, e) into exactly six fields. */
static bool fields(const char *p, const char *e, const char *f[7])
{
    size_t k = 0;
    f[k++] = p;
    for (const char *c = p; c < e; c++) {
        if (*c == ',') {
            if (k == 6)
                return false;
            f[k++] = c + 1;
        }
    }
    if (k != 6)
        return false;
    f[6] = e + 1; /* so field i spans f[i] .. f[i+1] - 1 */
    return true;
}

static int bad(char *err, size_t errlen, size_t line, const char *why)
{
    snprintf(err, errlen, "line %zu: %s", line, why);
    return -EINVAL;
}

int strokes_parse(const char *text, size_t len, struct rep_strokes *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* count lines first: one allocation, none when the text is refused */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            lines++;
        else if (text[i] == '\0')
            return bad(err, errlen, lines + 1, "NUL byte");
    }
    if (len > 0 && text[len - 1] != '\n')
        lines++;
    if (lines == 0)
        return bad(err, errlen, 1, "empty file, expected the header");
    if (lines - 1 > STROKES_MAX)
        return bad(err, errlen, STROKES_MAX + 2, "too many strokes");
    struct rep_stroke *v = lines > 1 ? calloc(lines - 1, sizeof *v) : NULL;
    if (lines > 1 && !v) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const char *p = text, *end = text + len;
    size_t line = 0, n = 0;
    int rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (e > p && e[-1] == '\r')
            e--;
        line++;
        if (line == 1) {
            if ((size_t)(e - p) != sizeof header - 1 || memcmp(p, header, sizeof header - 1) != 0) {
                rc = bad(err, errlen, 1,
                         "not the per-stroke header "
                         "\"stroke,rise_s,...\"");
                break;
            }
            p = next;
            continue;
        }
        const char *f[7];
        if (!fields(p, e, f)) {
            rc = bad(err, errlen, line, "expected 6 comma-separated fields");
            break;
        }
        double no, d[4], st;
        if (!num(f[0], f[1] - 1, false, &no) || no != (double)(n + 1)) {
            rc = bad(err, errlen, line, "stroke number out of sequence");
            break;
        }
        bool ok = true;
        for (int k = 0; k < 4 && ok; k++)
            ok = num(f[k + 1], f[k + 2] - 1, k == 3, &d[k]);
        if (!ok) {
            rc = bad(err, errlen, line, "a time, depth or force that is not a number");
            break;
        }
        if (!num(f[5], f[6] - 1, false, &st) || (st != 0 && st != 1)) {
            rc = bad(err, errlen, line, "steady is not 0 or 1");
            break;
        }
        v[n++] = (struct rep_stroke){
            .rise_s = d[0], .peak_s = d[1], .depth_mm = d[2], .force_n = d[3], .steady = st == 1
        };
        p = next;
    }
    if (rc < 0) {
        free(v);
        return rc;
    }
    if (n == 0) {
        free(v);
        v = NULL;
    }
    out->v = v;
    out->n = n;
    return 0;
}

int strokes_load(const char *path, struct rep_strokes *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    gchar *text = NULL;
    gsize len = 0;
    GError *ge = NULL;
    if (!g_file_get_contents(path, &text, &len, &ge)) {
        int e = ge && ge->domain == G_FILE_ERROR && ge->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
        snprintf(err, errlen, "%s: %s", path, ge ? ge->message : "cannot read");
        g_clear_error(&ge);
        return e;
    }
    char msg[200];
    int rc = strokes_parse(text, len, out, msg, sizeof msg);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, msg);
    g_free(text);
    return rc;
}

int strokes_from_capture(const struct rig_capture *c, int64_t start_index, int64_t stop_index,
                         double set_rate_hz, double set_depth_mm, struct rep_strokes *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* a stroke takes at least a few samples: n / 4 bounds the count */
    size_t cap = c->n / 4 + 1;
    struct an_stroke *s = calloc(cap, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct an_input in = {
        .force_un = c->force_un,
        .disp_nm = c->disp_nm,
        .n = c->n,
        .rate_hz = c->rate_hz,
        .flags = c->flags & AN_F_KNOWN,
        .start_index = start_index,
        .stop_index = stop_index,
        .set_rate_hz = isfinite(set_rate_hz) ? set_rate_hz : 0,
        .set_depth_mm = set_depth_mm,
        .strokes_out = s,
        .strokes_cap = cap,
    };
    struct an_result r;
    memset(&r, 0, sizeof r);
    if (an_analyse(&in, &r) < 0) {
        free(s);
        snprintf(err, errlen, "analysis refused the capture: %s", r.error);
        return -EINVAL;
    }
    size_t n = r.strokes < cap ? r.strokes : cap;
    out->v = n ? calloc(n, sizeof *out->v) : NULL;
    if (n && !out->v) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        out->v[i] = (struct rep_stroke){ .rise_s = s[i].rise / c->rate_hz,
                                         .peak_s = s[i].peak / c->rate_hz,
                                         .depth_mm = s[i].depth_mm,
                                         .force_n = s[i].force_n,
                                         .steady = s[i].steady };
    out->n = n;
    free(s);
    return 0;
}
