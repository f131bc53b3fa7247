#include "core/junit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/record.h"

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
        case '&':
            add_lit(b, "&amp;");
            break;
        case '<':
            add_lit(b, "&lt;");
            break;
        case '>':
            add_lit(b, "&gt;");
            break;
        case '"':
            add_lit(b, "&quot;");
            break;
        case '\'':
            add_lit(b, "&apos;");
            break;
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
    property(b, "complete",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "complete")) ? "true" : "false");
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
    cJSON_ArrayForEach (ins, cJSON_GetObjectItemCaseSensitive(r, "instruments")) {
        char key[64], val[256];
        snprintf(key, sizeof key, "instrument.%d", i++);
        snprintf(val, sizeof val, "%s %s serial %s fw %s cal due %s cert %s", str(ins, "role"),
                 str(ins, "model"), str(ins, "serial"), str(ins, "firmware"), str(ins, "cal_due"),
                 str(ins, "certificate"));
        property(b, key, val);
    }
    add_lit(b, "    </properties>\n");
}

static const char *outcome_tag(const char *outcome)
{
    if (strcmp(outcome, "PASS") == 0)
        return NULL;
    if (strcmp(outcome, "SKIPPED") == 0)
        return "skipped";
    return strcmp(outcome, "FAIL") == 0 ? "failure" : "error";
}

static void testcase_body(struct buf *b, const char *outcome, const char *message)
{
    const char *tag = outcome_tag(outcome);
    if (!tag)
        return;
    addf(b, "      <%s", tag);
    if (strcmp(tag, "skipped") != 0) {
        /* outcome comes from the record, which may be a file read back: it
         * is escaped like every other record string. */
        add_lit(b, " type=\"");
        add_esc(b, outcome);
        add_lit(b, "\"");
    }
    add_lit(b, " message=\"");
    add_esc(b, message);
    add_lit(b, "\"/>\n");
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

/* Seconds between two record timestamps, 0 if either is unreadable. */
static double utc_span(const char *from, const char *to)
{
    GDateTime *a = from && *from ? g_date_time_new_from_iso8601(from, NULL) : NULL;
    GDateTime *z = to && *to ? g_date_time_new_from_iso8601(to, NULL) : NULL;
    double s = a && z ? (double)g_date_time_difference(z, a) / 1e6 : 0;
    if (a)
        g_date_time_unref(a);
    if (z)
        g_date_time_unref(z);
    return s > 0 ? s : 0;
}

/* "stroke_rate @ 150 Hz 2.5 mm" (setpoints tell sweep points apart), made
 * unique within the run with " (2)", " (3)" ... */
static void test_name(const cJSON *step, const char *base, GHashTable *seen, char *out, size_t len)
{
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(step, "setpoints");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(sp, "rate_hz");
    const cJSON *depth = cJSON_GetObjectItemCaseSensitive(sp, "depth_mm");
    const char *kind = str(step, "kind");
    if (strcmp(kind, "identify") != 0 && (cJSON_IsNumber(rate) || cJSON_IsNumber(depth))) {
        char r[32] = "", d[32] = "";
        if (cJSON_IsNumber(rate))
            snprintf(r, sizeof r, " %g Hz", rate->valuedouble);
        if (cJSON_IsNumber(depth))
            snprintf(d, sizeof d, " %g mm", depth->valuedouble);
        snprintf(out, len, "%s @%s%s", base, r, d);
    } else {
        snprintf(out, len, "%s", base);
    }
    char *key = g_strdup(out);
    for (unsigned n = 2; g_hash_table_contains(seen, key); n++) {
        g_free(key);
        key = g_strdup_printf("%s (%u)", out, n);
    }
    snprintf(out, len, "%s", key);
    g_hash_table_add(seen, key);
}

struct tally {
    unsigned tests, failures, errors, skipped;
};

static void count(struct tally *t, const char *outcome)
{
    const char *tag = outcome_tag(outcome);
    t->tests++;
    if (!tag)
        return;
    if (strcmp(tag, "failure") == 0)
        t->failures++;
    else if (strcmp(tag, "skipped") == 0)
        t->skipped++;
    else
        t->errors++;
}

static void testcase_open(struct buf *b, const char *classname, const char *name, double t)
{
    add_lit(b, "    <testcase classname=\"");
    add_esc(b, classname);
    add_lit(b, "\" name=\"");
    add_esc(b, name);
    addf(b, "\" time=\"%.3f\">\n", t);
}

/* The test cases of one step: one per measurement (the step's time split
 * between them, so the cases add up to the run), or the step itself when
 * it did not pass and judged nothing. */
static void step_cases(struct buf *b, struct tally *t, const cJSON *s, GHashTable *seen, bool emit)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(s, "measurements");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(s, "duration_s");
    const char *so = str(s, "outcome");
    int nm = cJSON_GetArraySize(ms);
    double time = cJSON_IsNumber(dur) ? dur->valuedouble : 0;
    char name[256];
    if (nm == 0) {
        if (strcmp(so, "PASS") == 0 || strcmp(so, "SKIPPED") == 0)
            return; /* actions that worked (or were not needed) are not tests */
        count(t, so);
        if (!emit)
            return;
        test_name(s, str(s, "kind"), seen, name, sizeof name);
        testcase_open(b, str(s, "path"), name, time);
        testcase_body(b, so, str(s, "message"));
        add_lit(b, "    </testcase>\n");
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach (m, ms) {
        const char *mo = str(m, "outcome");
        count(t, mo);
        if (!emit)
            continue;
        char val[64], msg[512];
        value_text(m, val, sizeof val);
        test_name(s, str(m, "name"), seen, name, sizeof name);
        testcase_open(b, str(s, "path"), name, time / nm);
        if (strcmp(mo, "SKIPPED") == 0)
            snprintf(msg, sizeof msg, "%s", str(m, "note"));
        else
            snprintf(msg, sizeof msg, "%s %s %s (limit %s)%s%s", str(m, "name"), val,
                     str(m, "units"), str(m, "limit"), *str(m, "note") ? ": " : "", str(m, "note"));
        testcase_body(b, mo, msg);
        add_lit(b, "      <system-out>");
        add_esc(b, msg);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "marginal")))
            add_esc(b, " MARGINAL");
        add_lit(b, "</system-out>\n");
        add_lit(b, "    </testcase>\n");
    }
}

/* The run's verdict as a test case of its own, so that no outcome but PASS
 * can ever read as green: an ERROR before any measurement (an overdue
 * calibration), an incomplete record, an outcome rigd reported that the
 * record on disk does not show. */
static void verdict(const cJSON *r, const struct junit_verdict *v, char *outcome, size_t olen,
                    char *msg, size_t mlen)
{
    bool complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "complete"));
    const char *rec_outcome = str(r, "outcome");
    const char *want = v && v->outcome ? v->outcome : NULL;
    snprintf(outcome, olen, "%s", *rec_outcome ? rec_outcome : "ERROR");
    snprintf(msg, mlen, "%s", str(r, "message"));
    if (!complete) {
        snprintf(outcome, olen, "%s", want && strcmp(want, "PASS") != 0 ? want : "ERROR");
        snprintf(msg, mlen,
                 "the run record is incomplete (the run did not finish, or its last "
                 "version could not be written)%s%s",
                 v && v->reason ? ": " : "", v && v->reason ? v->reason : "");
    } else if (want && strcmp(want, rec_outcome) != 0) {
        snprintf(outcome, olen, "%s", strcmp(want, "PASS") == 0 ? "ERROR" : want);
        snprintf(msg, mlen, "rigd reported %s but the record on disk says %s%s%s", want,
                 rec_outcome, v->reason ? ": " : "", v->reason ? v->reason : "");
    } else if (!*outcome || outcome_tag(outcome) == NULL) {
        msg[0] = '\0';
    }
}

char *junit_from_record_verdict(const cJSON *r, const struct junit_verdict *v)
{
    if (!cJSON_IsObject(r))
        return NULL;
    struct buf b = { 0 };
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(r, "steps");
    struct tally t = { 0 };
    const cJSON *s;
    cJSON_ArrayForEach (s, steps)
        if (!cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            step_cases(NULL, &t, s, NULL, false);
    char vout[32], vmsg[512];
    verdict(r, v, vout, sizeof vout, vmsg, sizeof vmsg);
    count(&t, vout);
    add_lit(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    add_lit(&b, "  <testsuite name=\"");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "sequence");
    add_esc(&b, str(seq, "name"));
    add_lit(&b, "\" id=\"");
    add_esc(&b, str(r, "id"));
    addf(&b,
         "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\" timestamp=\"",
         t.tests, t.failures, t.errors, t.skipped,
         utc_span(str(r, "started_utc"), str(r, "ended_utc")));
    add_esc(&b, str(r, "started_utc"));
    add_lit(&b, "\" hostname=\"");
    add_esc(&b, str(r, "station"));
    add_lit(&b, "\">\n");
    properties(&b, r);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    cJSON_ArrayForEach (s, steps)
        if (!cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            step_cases(&b, &t, s, seen, true);
    g_hash_table_destroy(seen);
    testcase_open(&b, "run", "verdict", 0);
    testcase_body(&b, vout, vmsg);
    add_lit(&b, "      <system-out>");
    add_esc(&b, vout);
    add_lit(&b, "</system-out>\n    </testcase>\n");
    add_lit(&b, "  </testsuite>\n</testsuites>\n");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *junit_from_record(const cJSON *record)
{
    return junit_from_record_verdict(record, NULL);
}

int junit_write(const char *path, const cJSON *record, char *err, size_t errlen)
{
    return junit_write_verdict(path, record, NULL, err, errlen);
}

int junit_write_verdict(const char *path, const cJSON *record, const struct junit_verdict *v,
                        char *err, size_t errlen)
{
    char *xml = junit_from_record_verdict(record, v);
    if (!xml) {
        snprintf(err, errlen, "cannot build JUnit XML (not a record, or out of memory)");
        return -EINVAL;
    }
    int rc = atomic_write_file(path, xml, strlen(xml), err, errlen);
    free(xml);
    return rc;
}
