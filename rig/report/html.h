/* A small HTML writer for static, self-contained reports (run, lot and
 * study reports): text goes into a growing memory buffer, escaped where it
 * is user data, and the page carries its own stylesheet (screen and print:
 * A4, no page break inside a table or figure), so the file needs nothing
 * from outside and prints cleanly to PDF from any browser.
 *
 * Contract:
 * - Out of memory is sticky: the first failed append sets h->err to
 *   -ENOMEM, every later call does nothing, and html_take()/html_error()
 *   report it. Callers therefore write a whole page and check once.
 * - html_text() escapes & < > for element content; html_attr() also
 *   escapes " and ', for attribute values. Every helper that takes a
 *   `text` argument escapes it; `raw` arguments are written as they are
 *   and must be markup the caller built (never user data).
 * - Numbers are written by html_num() and svg.h's formatter, which never
 *   depend on the process locale (always '.' as the decimal point).
 * - No globals: several writers may run in parallel threads. */
#ifndef RIG_REPORT_HTML_H
#define RIG_REPORT_HTML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct html {
    char *buf; /* NUL-terminated, len bytes */
    size_t len, cap;
    int err; /* 0 or -ENOMEM (sticky) */
};

void html_init(struct html *h);
void html_free(struct html *h);
/* 0, or the sticky error (-ENOMEM). */
int html_error(const struct html *h);
/* Hand the page over: returns the buffer (caller frees) and its length,
 * leaving h empty; NULL and *len = 0 if an error happened (h is freed). */
char *html_take(struct html *h, size_t *len);
/* Write the page to a file (atomically: a temporary next to it, then
 * rename). Returns 0 or -errno, with a message in err. */
int html_write_file(const struct html *h, const char *path, char *err, size_t errlen);

/* Markup the caller built. */
void html_raw(struct html *h, const char *raw);
void html_rawn(struct html *h, const char *raw, size_t n);
void html_rawf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void html_vrawf(struct html *h, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* User data as element content / as an attribute value (NULL writes nothing). */
void html_text(struct html *h, const char *text);
void html_attr(struct html *h, const char *text);
/* A number with at most `sig` significant digits ("%.*g", '.' always);
 * NaN and infinities are written as "–" (not measured). */
void html_num(struct html *h, double v, int sig);

/* The page: doctype, <meta charset>, title, the report stylesheet, then
 * the caller's extra CSS (raw, may be NULL), and <body><main>. */
void html_page_begin(struct html *h, const char *title, const char *extra_css);
/* Closes </main></body></html>. `footer` (text, may be NULL) is printed
 * small at the end, e.g. the generator and its version. */
void html_page_end(struct html *h, const char *footer);

/* <hN id="id">text</hN>, level 1..4; id may be NULL. */
void html_heading(struct html *h, int level, const char *id, const char *text);
/* <p class="cls">text</p>; cls may be NULL. */
void html_para(struct html *h, const char *cls, const char *text);
/* A note box (class "note"): for "capture pruned", "no data" and such. */
void html_note(struct html *h, const char *text);

/* A <section> (id may be NULL). */
void html_section_begin(struct html *h, const char *id);
void html_section_end(struct html *h);

/* Key/value identity table: two columns, keys in <th scope=row>.
 * html_kv() with a NULL or empty value writes "–". */
void html_kv_begin(struct html *h, const char *caption);
void html_kv(struct html *h, const char *key, const char *value);
void html_kvf(struct html *h, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void html_kv_end(struct html *h);

/* Data table: header cells, then rows of cells. `cls` names a CSS class
 * for the table/row/cell (NULL: none). Cells with class "num" are
 * right-aligned with tabular figures. */
void html_table_begin(struct html *h, const char *cls, const char *caption,
                      const char *const *headers, size_t n);
void html_tr_begin(struct html *h, const char *cls);
void html_td(struct html *h, const char *cls, const char *text);
void html_td_raw(struct html *h, const char *cls, const char *raw);
void html_td_num(struct html *h, double v, int sig);
void html_tr_end(struct html *h);
void html_table_end(struct html *h);

/* Outcome classes shared by the banner and table badges. */
enum html_verdict {
    HV_PASS,
    HV_MARGINAL, /* passed, inside a marginal band */
    HV_FAIL,
    HV_ERROR, /* ERROR, TIMEOUT: the rig, not the pen */
    HV_ABORTED,
    HV_SKIPPED,
    HV_COUNT_
};
/* "PASS", "MARGINAL", "FAIL", "ERROR", "ABORTED", "SKIPPED". */
const char *html_verdict_word(enum html_verdict v);
/* A small badge: shape (inline SVG icon) + word, coloured; for tables. */
void html_badge(struct html *h, enum html_verdict v, const char *word);
/* The large outcome banner: icon (a distinct shape per verdict: check in
 * a circle, cross in an octagon, exclamation in a triangle...), the
 * outcome in words (`word`, e.g. "FAIL" or "TIMEOUT"; NULL: the verdict's
 * word), and a subtitle (text, may be NULL). Leaves the banner's <div
 * class="banner-body"> open so the caller may add a list (e.g. failing
 * measurements); close it with html_banner_end(). */
void html_banner_begin(struct html *h, enum html_verdict v, const char *word, const char *subtitle);
void html_banner_end(struct html *h);

/* Figure wrapper (never split across pages): <figure> ... <figcaption>. */
void html_figure_begin(struct html *h, const char *id);
void html_figure_end(struct html *h, const char *caption);

#endif
