#include "junit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "record.h"

/* Growable text buffer; on out of memory it stays failed. */
struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void add_raw(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Append a string literal (length from sizeof, so it cannot be miscounted). */
#define add_lit(b, lit) add_raw((b), (lit), sizeof(lit) - 1)

static void addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    add_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* XML-escape text for attributes and content. Control characters XML 1.0
 * cannot carry and bytes that are not valid UTF-8 (a record is JSON, which
 * cJSON does not check for UTF-8) become '?', so the output is always
 * well-formed. */
static void add_esc(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80) {
            gunichar u = g_utf8_get_char_validated(s, -1);
            if (u == (gunichar)-1 || u == (gunichar)-2 || u == 0xFFFE || u == 0xFFFF) {
                add_lit(b, "?");
            } else {
                size_t n = (size_t)(g_utf8_next_char(s) - s);
                add_raw(b, s, n);
                s += n - 1;
            }
            continue;
        }
        switch (c) {
        case '&': add_lit(b, "&amp;"); break;
        case '<': add_lit(b, "&lt;"); break;
        case '>': add_lit(b, "&gt;"); break;
        case '"': add_lit(b, "&quot;"); break;
        case '\'': add_lit(b, "&apos;"); break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                add_lit(b, "?");
            else
                add_raw(b, s, 1);
        }
    }
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void property(struct buf *b, const char *name, const char *value)
{
    add_lit(b, "      <property name=\"");
    add_esc(b, name);
    add_lit(b, "\" value=\"");
    add_esc(b, value);
    add_lit(b, "\"/>\n");
}

static void properties(struct buf *b, const cJSON *r)
{
    add_lit(b, "    <properties>\n");
    property(b, "record_id", str(r, "id"));
    property(b, "complete", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "complete")) ? "true" : "false");
    property(b, "operator", str(r, "operator"));
    property(b, "station", str(r, "station"));
    const cJSON *dut = cJSON_GetObjectItemCaseSensitive(r, "dut");
    property(b, "dut.serial", str(dut, "serial"));
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(dut, "reported");
    if (rep) {
        property(b, "dut.model", str(rep, "model"));
        property(b, "dut.reported_serial", str(rep, "serial"));
        property(b, "dut.firmware", str(rep, "firmware"));
        property(b, "dut.cartridge_id", str(rep, "cartridge_id"));
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "sequence");
    property(b, "sequence.file", str(seq, "file"));
    property(b, "sequence.sha256", str(seq, "sha256"));
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(r, "spec");
    property(b, "spec.file", str(spec, "file"));
    property(b, "spec.sha256", str(spec, "sha256"));
    const cJSON *ins;
    int i = 0;
    cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(r, "instruments")) {
        char key[64], val[256];
        snprintf(key, sizeof key, "instrument.%d", i++);
        snprintf(val, sizeof val, "%s %s serial %s fw %s cal due %s cert %s", str(ins, "role"),
                 str(ins, "model"), str(ins, "serial"), str(ins, "firmware"), str(ins, "cal_due"),
                 str(ins, "certificate"));
        property(b, key, val);
    }
    add_lit(b, "    </properties>\n");
}

static void testcase_body(struct buf *b, const char *outcome, const char *message)
{
    const char *tag = strcmp(outcome, "FAIL") == 0 ? "failure"
                      : strcmp(outcome, "PASS") == 0 || strcmp(outcome, "SKIPPED") == 0 ? NULL
                      : "error";
    if (strcmp(outcome, "SKIPPED") == 0) {
        add_lit(b, "      <skipped/>\n");
        return;
    }
    if (!tag)
        return;
    /* outcome comes from the record, which may be a file read back: it is
     * escaped like every other record string. */
    addf(b, "      <%s type=\"", tag);
    add_esc(b, outcome);
    add_lit(b, "\" message=\"");
    add_esc(b, message);
    addf(b, "\"/>\n");
}

static void value_text(const cJSON *m, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "value");
    if (cJSON_IsNumber(v))
        snprintf(out, len, "%.6g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(out, len, "%s", v->valuestring);
    else
        snprintf(out, len, "none");
}

char *junit_from_record(const cJSON *r)
{
    if (!cJSON_IsObject(r))
        return NULL;
    struct buf b = { 0 };
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(r, "steps");
    unsigned tests = 0, failures = 0, errors = 0, skipped = 0;
    const cJSON *s, *m;
    cJSON_ArrayForEach(s, steps) {
        if (cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            continue;
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(s, "measurements");
        const char *so = str(s, "outcome");
        if (cJSON_GetArraySize(ms) == 0) {
            if (strcmp(so, "PASS") == 0)
                continue;   /* plain actions that worked are not test cases */
            tests++;
            failures += strcmp(so, "FAIL") == 0;
            skipped += strcmp(so, "SKIPPED") == 0;
            errors += strcmp(so, "FAIL") != 0 && strcmp(so, "SKIPPED") != 0;
            continue;
        }
        cJSON_ArrayForEach(m, ms) {
            const char *mo = str(m, "outcome");
            tests++;
            failures += strcmp(mo, "FAIL") == 0;
            errors += strcmp(mo, "PASS") != 0 && strcmp(mo, "FAIL") != 0;
        }
    }
    add_lit(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    add_lit(&b, "  <testsuite name=\"");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "sequence");
    add_esc(&b, str(seq, "name"));
    add_lit(&b, "\" id=\"");
    add_esc(&b, str(r, "id"));
    addf(&b, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" timestamp=\"", tests,
         failures, errors, skipped);
    add_esc(&b, str(r, "started_utc"));
    add_lit(&b, "\" hostname=\"");
    add_esc(&b, str(r, "station"));
    add_lit(&b, "\">\n");
    properties(&b, r);
    cJSON_ArrayForEach(s, steps) {
        if (cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            continue;
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(s, "measurements");
        const cJSON *dur = cJSON_GetObjectItemCaseSensitive(s, "duration_s");
        double t = cJSON_IsNumber(dur) ? dur->valuedouble : 0;
        const char *so = str(s, "outcome");
        if (cJSON_GetArraySize(ms) == 0) {
            if (strcmp(so, "PASS") == 0)
                continue;
            add_lit(&b, "    <testcase classname=\"");
            add_esc(&b, str(s, "path"));
            add_lit(&b, "\" name=\"");
            add_esc(&b, str(s, "kind"));
            addf(&b, "\" time=\"%.3f\">\n", t);
            testcase_body(&b, so, str(s, "message"));
            add_lit(&b, "    </testcase>\n");
            continue;
        }
        cJSON_ArrayForEach(m, ms) {
            char val[64], msg[512];
            value_text(m, val, sizeof val);
            add_lit(&b, "    <testcase classname=\"");
            add_esc(&b, str(s, "path"));
            add_lit(&b, "\" name=\"");
            add_esc(&b, str(m, "name"));
            addf(&b, "\" time=\"%.3f\">\n", t);
            snprintf(msg, sizeof msg, "%s %s %s (limit %s)%s%s", str(m, "name"), val,
                     str(m, "units"), str(m, "limit"), *str(m, "note") ? ": " : "", str(m, "note"));
            testcase_body(&b, str(m, "outcome"), msg);
            add_lit(&b, "      <system-out>");
            add_esc(&b, msg);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "marginal")))
                add_esc(&b, " MARGINAL");
            add_lit(&b, "</system-out>\n");
            add_lit(&b, "    </testcase>\n");
        }
    }
    add_lit(&b, "  </testsuite>\n</testsuites>\n");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

int junit_write(const char *path, const cJSON *record, char *err, size_t errlen)
{
    char *xml = junit_from_record(record);
    if (!xml) {
        snprintf(err, errlen, "cannot build JUnit XML (not a record, or out of memory)");
        return -EINVAL;
    }
    int rc = atomic_write_file(path, xml, strlen(xml), err, errlen);
    free(xml);
    return rc;
}
