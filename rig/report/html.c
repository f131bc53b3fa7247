/* The HTML writer: growing buffer, escaping, page skeleton and the report
 * stylesheet (see html.h). */
#include "report/html.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/svg.h"

/* One stylesheet for every report. Screen: a centred column. Print: A4
 * with margins, no background colours lost (print-color-adjust), and no
 * page break inside tables, figures or the banner. */
static const char report_css[] =
    ":root{--fg:#1b1f24;--muted:#5b6470;--line:#d0d5db;--bg:#fff;--zebra:#f5f7f9;"
    "--pass:#1a7f37;--marg:#9a6700;--fail:#cf222e;--err:#8250df;--abort:#57606a}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "body{margin:0;background:#eef1f4;color:var(--fg);"
    "font:14px/1.45 'DejaVu Sans','Liberation Sans',Arial,sans-serif}\n"
    "main{max-width:1040px;margin:24px auto;padding:28px 36px;background:var(--bg);"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}\n"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;"
    "padding-bottom:4px;border-bottom:2px solid var(--line)}\n"
    "h3{font-size:15px;margin:18px 0 8px}h4{font-size:14px;margin:12px 0 6px}\n"
    "p.sub{color:var(--muted);margin:0 0 16px}\n"
    ".note{border-left:4px solid var(--marg);background:#fff8e5;padding:8px 12px;margin:10px 0}\n"
    "table{border-collapse:collapse;margin:8px 0 14px;width:100%;font-size:13px}\n"
    "caption{text-align:left;font-weight:bold;padding:4px 0}\n"
    "th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}\n"
    "thead th{background:#e8ecf0}tbody tr:nth-child(even){background:var(--zebra)}\n"
    "table.kv th{width:28%;background:#f0f3f6;font-weight:600}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.mono,span.mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all}\n"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}\n"
    ".badge{display:inline-flex;align-items:center;gap:4px;font-weight:bold;white-space:nowrap}\n"
    ".badge svg{width:14px;height:14px}\n"
    ".v-pass{color:var(--pass)}.v-marg{color:var(--marg)}.v-fail{color:var(--fail)}"
    ".v-err{color:var(--err)}.v-abort{color:var(--abort)}.v-skip{color:var(--muted)}\n"
    "tr.row-fail{background:#ffebe9!important}tr.row-marg{background:#fff8c5!important}"
    "tr.row-err{background:#fbefff!important}\n"
    ".banner{display:flex;gap:20px;align-items:center;border:3px solid currentColor;"
    "border-radius:8px;padding:14px 20px;margin:14px 0 8px}\n"
    ".banner svg.icon{width:72px;height:72px;flex:none}\n"
    ".banner .word{font-size:40px;font-weight:800;letter-spacing:2px;line-height:1}\n"
    ".banner .subt{color:var(--fg);font-size:15px;margin-top:4px}\n"
    ".banner-body{color:var(--fg)}.banner ul{margin:8px 0 0;padding-left:20px}\n"
    ".b-pass{background:#dafbe1}.b-marg{background:#fff8c5}.b-fail{background:#ffebe9}"
    ".b-err{background:#fbefff}.b-abort{background:#eaeef2}.b-skip{background:#f6f8fa}\n"
    "figure{margin:10px 0 18px}figcaption{color:var(--muted);font-size:12px;margin-top:2px}\n"
    "figure svg{display:block;max-width:100%;height:auto}\n"
    "figure,table,.banner{break-inside:avoid;page-break-inside:avoid}\n"
    "h2,h3{break-after:avoid;page-break-after:avoid}\n"
    "footer{color:var(--muted);font-size:11px;margin-top:24px;border-top:1px solid var(--line);"
    "padding-top:6px}\n"
    "@page{size:A4;margin:14mm 12mm}\n"
    "@media print{body{background:#fff;font-size:11px}main{max-width:none;margin:0;padding:0;"
    "box-shadow:none}table{font-size:10px}.banner .word{font-size:32px}"
    "section.plots{break-before:page}}\n";

void html_init(struct html *h)
{
    memset(h, 0, sizeof *h);
}

void html_free(struct html *h)
{
    free(h->buf);
    memset(h, 0, sizeof *h);
}

int html_error(const struct html *h)
{
    return h->err;
}

char *html_take(struct html *h, size_t *len)
{
    char *b = h->err ? NULL : h->buf;
    *len = b ? h->len : 0;
    if (!b)
        free(h->buf);
    memset(h, 0, sizeof *h);
    return b;
}

static bool reserve(struct html *h, size_t more)
{
    if (h->err)
        return false;
    if (h->len + more + 1 <= h->cap)
        return true;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < h->len + more + 1)
        cap *= 2;
    char *nb = realloc(h->buf, cap);
    if (!nb) {
        h->err = -ENOMEM;
        return false;
    }
    h->buf = nb;
    h->cap = cap;
    return true;
}

void html_rawn(struct html *h, const char *raw, size_t n)
{
    if (!raw || !reserve(h, n))
        return;
    memcpy(h->buf + h->len, raw, n);
    h->len += n;
    h->buf[h->len] = '\0';
}

void html_raw(struct html *h, const char *raw)
{
    if (raw)
        html_rawn(h, raw, strlen(raw));
}

void html_vrawf(struct html *h, const char *fmt, va_list ap)
{
    if (h->err)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !reserve(h, (size_t)n))
        return;
    vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
    h->len += (size_t)n;
}

void html_rawf(struct html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    html_vrawf(h, fmt, ap);
    va_end(ap);
}

/* Escape runs of plain bytes in one copy; `quotes` adds " and '. */
static void escape(struct html *h, const char *s, bool quotes)
{
    if (!s)
        return;
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = quotes ? "&quot;" : NULL;
            break;
        case '\'':
            rep = quotes ? "&#39;" : NULL;
            break;
        default:
            break;
        }
        if (rep) {
            html_rawn(h, run, (size_t)(s - run));
            html_raw(h, rep);
            run = s + 1;
        }
    }
    html_rawn(h, run, (size_t)(s - run));
}

void html_text(struct html *h, const char *text)
{
    escape(h, text, false);
}

void html_attr(struct html *h, const char *text)
{
    escape(h, text, true);
}

void html_num(struct html *h, double v, int sig)
{
    char b[40];
    svg_fmt_num(b, sizeof b, v, sig);
    html_raw(h, b);
}

int html_write_file(const struct html *h, const char *path, char *err, size_t errlen)
{
    if (h->err) {
        snprintf(err, errlen, "%s: report not built: out of memory", path);
        return h->err;
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        free(tmp);
        return -e;
    }
    /* mkstemp makes 0600; a report is for everyone who can read records */
    (void)fchmod(fd, 0644);
    size_t off = 0;
    int rc = 0;
    while (off < h->len) {
        ssize_t w = write(fd, h->buf + off, h->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

void html_page_begin(struct html *h, const char *title, const char *extra_css)
{
    html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>");
    html_text(h, title);
    html_raw(h, "</title>\n<style>\n");
    html_raw(h, report_css);
    html_raw(h, svg_css());
    html_raw(h, extra_css);
    html_raw(h, "</style>\n</head>\n<body>\n<main>\n");
}

void html_page_end(struct html *h, const char *footer)
{
    if (footer) {
        html_raw(h, "<footer>");
        html_text(h, footer);
        html_raw(h, "</footer>\n");
    }
    html_raw(h, "</main>\n</body>\n</html>\n");
}

void html_heading(struct html *h, int level, const char *id, const char *text)
{
    if (level < 1)
        level = 1;
    if (level > 4)
        level = 4;
    html_rawf(h, "<h%d", level);
    if (id) {
        html_raw(h, " id=\"");
        html_attr(h, id);
        html_raw(h, "\"");
    }
    html_raw(h, ">");
    html_text(h, text);
    html_rawf(h, "</h%d>\n", level);
}

static void open_cls(struct html *h, const char *tag, const char *cls)
{
    html_rawf(h, "<%s", tag);
    if (cls && *cls) {
        html_raw(h, " class=\"");
        html_attr(h, cls);
        html_raw(h, "\"");
    }
    html_raw(h, ">");
}

void html_para(struct html *h, const char *cls, const char *text)
{
    open_cls(h, "p", cls);
    html_text(h, text);
    html_raw(h, "</p>\n");
}

void html_note(struct html *h, const char *text)
{
    html_para(h, "note", text);
}

void html_section_begin(struct html *h, const char *id)
{
    html_raw(h, "<section");
    if (id) {
        html_raw(h, " id=\"");
        html_attr(h, id);
        html_raw(h, "\"");
    }
    html_raw(h, ">\n");
}

void html_section_end(struct html *h)
{
    html_raw(h, "</section>\n");
}

void html_kv_begin(struct html *h, const char *caption)
{
    html_raw(h, "<table class=\"kv\">");
    if (caption) {
        html_raw(h, "<caption>");
        html_text(h, caption);
        html_raw(h, "</caption>");
    }
    html_raw(h, "<tbody>\n");
}

void html_kv(struct html *h, const char *key, const char *value)
{
    html_raw(h, "<tr><th scope=\"row\">");
    html_text(h, key);
    html_raw(h, "</th><td>");
    html_text(h, value && *value ? value : "\u2013");
    html_raw(h, "</td></tr>\n");
}

void html_kvf(struct html *h, const char *key, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    html_kv(h, key, buf);
}

void html_kv_end(struct html *h)
{
    html_raw(h, "</tbody></table>\n");
}

void html_table_begin(struct html *h, const char *cls, const char *caption,
                      const char *const *headers, size_t n)
{
    open_cls(h, "table", cls);
    if (caption) {
        html_raw(h, "<caption>");
        html_text(h, caption);
        html_raw(h, "</caption>");
    }
    html_raw(h, "<thead><tr>");
    for (size_t i = 0; i < n; i++) {
        html_raw(h, "<th scope=\"col\">");
        html_text(h, headers[i]);
        html_raw(h, "</th>");
    }
    html_raw(h, "</tr></thead>\n<tbody>\n");
}

void html_tr_begin(struct html *h, const char *cls)
{
    open_cls(h, "tr", cls);
}

void html_td(struct html *h, const char *cls, const char *text)
{
    open_cls(h, "td", cls);
    html_text(h, text);
    html_raw(h, "</td>");
}

void html_td_raw(struct html *h, const char *cls, const char *raw)
{
    open_cls(h, "td", cls);
    html_raw(h, raw);
    html_raw(h, "</td>");
}

void html_td_num(struct html *h, double v, int sig)
{
    html_raw(h, "<td class=\"num\">");
    html_num(h, v, sig);
    html_raw(h, "</td>");
}

void html_tr_end(struct html *h)
{
    html_raw(h, "</tr>\n");
}

void html_table_end(struct html *h)
{
    html_raw(h, "</tbody></table>\n");
}

/* Per verdict: word, CSS suffix, and an icon drawn in a 24x24 box. The
 * shapes differ so the outcome reads without colour (grey print, colour
 * blindness): circle+check, diamond+tilde, octagon+cross, triangle+!,
 * square+bar, dashed circle. */
static const struct {
    const char *word, *cls, *icon;
} verdicts[HV_COUNT_] = {
    [HV_PASS] = { "PASS", "pass",
                  "<circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"currentColor\"/>"
                  "<path d=\"M6.5 12.5l3.5 3.5 7.5-8\" fill=\"none\" stroke=\"#fff\" "
                  "stroke-width=\"2.6\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>" },
    [HV_MARGINAL] = { "MARGINAL", "marg",
                      "<path d=\"M12 1L23 12 12 23 1 12z\" fill=\"currentColor\"/>"
                      "<path d=\"M7 13c2-3 3.5-3 5 0s3 3 5 0\" fill=\"none\" stroke=\"#fff\" "
                      "stroke-width=\"2.4\" stroke-linecap=\"round\"/>" },
    [HV_FAIL] = { "FAIL", "fail",
                  "<path d=\"M7.5 1h9L23 7.5v9L16.5 23h-9L1 16.5v-9z\" fill=\"currentColor\"/>"
                  "<path d=\"M8 8l8 8M16 8l-8 8\" stroke=\"#fff\" stroke-width=\"2.8\" "
                  "stroke-linecap=\"round\"/>" },
    [HV_ERROR] = { "ERROR", "err",
                   "<path d=\"M12 1.5L23 22H1z\" fill=\"currentColor\"/>"
                   "<path d=\"M12 9v6\" stroke=\"#fff\" stroke-width=\"2.6\" "
                   "stroke-linecap=\"round\"/><circle cx=\"12\" cy=\"18.5\" r=\"1.5\" "
                   "fill=\"#fff\"/>" },
    [HV_ABORTED] = { "ABORTED", "abort",
                     "<rect x=\"2\" y=\"2\" width=\"20\" height=\"20\" rx=\"2\" "
                     "fill=\"currentColor\"/><path d=\"M7 12h10\" stroke=\"#fff\" "
                     "stroke-width=\"3\" stroke-linecap=\"round\"/>" },
    [HV_SKIPPED] = { "SKIPPED", "skip",
                     "<circle cx=\"12\" cy=\"12\" r=\"10\" fill=\"none\" stroke=\"currentColor\" "
                     "stroke-width=\"2\" stroke-dasharray=\"3 2.5\"/>" },
};

const char *html_verdict_word(enum html_verdict v)
{
    return (unsigned)v < HV_COUNT_ ? verdicts[v].word : "?";
}

static void icon(struct html *h, enum html_verdict v, const char *cls)
{
    html_rawf(h,
              "<svg class=\"%s\" viewBox=\"0 0 24 24\" role=\"img\" aria-label=\"%s\" "
              "xmlns=\"http://www.w3.org/2000/svg\">%s</svg>",
              cls, verdicts[v].word, verdicts[v].icon);
}

void html_badge(struct html *h, enum html_verdict v, const char *word)
{
    if ((unsigned)v >= HV_COUNT_)
        v = HV_ERROR;
    html_rawf(h, "<span class=\"badge v-%s\">", verdicts[v].cls);
    icon(h, v, "bi");
    html_text(h, word ? word : verdicts[v].word);
    html_raw(h, "</span>");
}

void html_banner_begin(struct html *h, enum html_verdict v, const char *word, const char *subtitle)
{
    if ((unsigned)v >= HV_COUNT_)
        v = HV_ERROR;
    html_rawf(h, "<div class=\"banner v-%s b-%s\" role=\"status\">", verdicts[v].cls,
              verdicts[v].cls);
    icon(h, v, "icon");
    html_raw(h, "<div class=\"banner-body\"><div class=\"word\">");
    html_text(h, word ? word : verdicts[v].word);
    html_raw(h, "</div>");
    if (subtitle) {
        html_raw(h, "<div class=\"subt\">");
        html_text(h, subtitle);
        html_raw(h, "</div>");
    }
    html_raw(h, "\n");
}

void html_banner_end(struct html *h)
{
    html_raw(h, "</div></div>\n");
}

void html_figure_begin(struct html *h, const char *id)
{
    html_raw(h, "<figure");
    if (id) {
        html_raw(h, " id=\"");
        html_attr(h, id);
        html_raw(h, "\"");
    }
    html_raw(h, ">\n");
}

void html_figure_end(struct html *h, const char *caption)
{
    if (caption) {
        html_raw(h, "<figcaption>");
        html_text(h, caption);
        html_raw(h, "</figcaption>");
    }
    html_raw(h, "</figure>\n");
}
