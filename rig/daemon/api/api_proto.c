/* JSON-lines API: request parsing and line splitting (pure, no I/O). */
#include "daemon/api/api_proto.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const topic_names[API_TOPIC_COUNT] = {
    [API_TOPIC_DEVICES] = "devices",
    [API_TOPIC_RUN] = "run",
    [API_TOPIC_MEASUREMENTS] = "measurements",
    [API_TOPIC_SAMPLES] = "samples",
    [API_TOPIC_LOG] = "log",
};

int api_topic_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < API_TOPIC_COUNT; i++)
        if (strcmp(name, topic_names[i]) == 0)
            return i;
    return -1;
}

const char *api_topic_name(enum api_topic t)
{
    return (unsigned)t < API_TOPIC_COUNT ? topic_names[t] : NULL;
}

/* Length of the UTF-8 sequence starting at s[0], or 0 when it is not a
 * well-formed sequence (RFC 3629 table). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool api_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static int fail(struct api_parsed *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct api_parsed *out, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->code = code;
    out->cls = NULL;
    return -1;
}

/* ---- the request's "id", echoed as sent ------------------------------
 *
 * cJSON turns numbers into doubles and strings into C strings, so an id
 * re-printed from its parse is not what the client sent (a 20-digit
 * integer comes back rounded, 1e3 as 1000, "a\u0000b" as "a"). The reply
 * therefore carries the id's own JSON text, found in the request line.
 * The line has already been accepted by cJSON, so the scan below only has
 * to skip over values, never to diagnose them. */

/* cJSON treats every byte up to the space as whitespace; skip the same. */
static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (unsigned char)s[i] <= ' ')
        i++;
    return i;
}

/* s[i] is the opening quote; returns the index after the closing one. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\')
            i++;
    return i < len ? i + 1 : len;
}

/* Returns the index just after the value that starts at s[i]. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            if (s[i] == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (s[i] == '{' || s[i] == '[')
                depth++;
            else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return len;
    }
    /* number, true, false, null */
    while (i < len && (unsigned char)s[i] > ' ' && !strchr(",}]", s[i]))
        i++;
    return i;
}

/* Where the value of the top-level object's member number `index` (0 =
 * first) lies in s: *at and *n. False when the line ends first. */
static bool member_span(const char *s, size_t len, size_t index, size_t *at, size_t *n)
{
    size_t i = skip_ws(s, len, 0);
    if (i >= len || s[i] != '{')
        return false;
    i++;
    for (size_t k = 0;; k++) {
        i = skip_ws(s, len, i);
        if (i >= len || s[i] != '"')
            return false;
        i = skip_ws(s, len, skip_string(s, len, i));
        if (i >= len || s[i] != ':')
            return false;
        i = skip_ws(s, len, i + 1);
        if (i >= len)
            return false;
        size_t end = skip_value(s, len, i);
        if (k == index) {
            *at = i;
            *n = end - i;
            return true;
        }
        i = skip_ws(s, len, end);
        if (i >= len || s[i] != ',')
            return false;
        i++;
    }
}

static size_t digits(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* RFC 8259's number grammar (cJSON also takes "01", "1." and "-01";
 * echoed verbatim they would make the reply invalid JSON). */
static bool strict_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        i = digits(s, n, i);
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t d = digits(s, n, i + 1);
        if (d == i + 1)
            return false;
        i = d;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = digits(s, n, i);
        if (d == i)
            return false;
        i = d;
    }
    return i == n;
}

/* A string token whose text between the quotes has no raw control
 * character (cJSON lets them through; they are not JSON). Its escapes
 * were checked by cJSON. */
static bool strict_string(const char *s, size_t n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if ((unsigned char)s[i] < ' ')
            return false;
    return true;
}

/* Index of the first member named `name` (the one cJSON's lookups find). */
static long member_index(const cJSON *obj, const char *name)
{
    long k = 0;
    for (const cJSON *m = obj->child; m; m = m->next, k++)
        if (m->string && strcmp(m->string, name) == 0)
            return k;
    return -1;
}

/* An "id" must be a number or a short string, written as valid JSON; it
 * is then replaced by a raw item holding its text, so every reply that
 * copies it (api_reply, api_error, interim messages) echoes it as sent. */
static int check_id(const char *line, size_t len, struct api_parsed *out)
{
    long k = member_index(out->req, "id");
    if (k < 0)
        return 0;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(out->req, "id");
    size_t at = 0, n = 0;
    bool ok =
        (cJSON_IsNumber(id) || cJSON_IsString(id)) && member_span(line, len, (size_t)k, &at, &n);
    if (ok && cJSON_IsNumber(id))
        ok = n <= API_MAX_ID_LEN && strict_number(line + at, n);
    else if (ok)
        ok = n >= 2 && n - 2 <= API_MAX_ID_LEN && strict_string(line + at, n);
    if (!ok) {
        /* Do not echo an id we just rejected, nor a repeated one behind it. */
        while (cJSON_GetObjectItemCaseSensitive(out->req, "id"))
            cJSON_DeleteItemFromObjectCaseSensitive(out->req, "id");
        return fail(out, API_E_BAD_REQUEST,
                    "\"id\" must be a JSON number or string of at most %d bytes (a string's "
                    "quotes not counted)",
                    API_MAX_ID_LEN);
    }
    char text[API_MAX_ID_LEN + 3];
    memcpy(text, line + at, n);
    text[n] = '\0';
    cJSON *raw = cJSON_CreateRaw(text);
    if (!raw || !cJSON_ReplaceItemInObjectCaseSensitive(out->req, "id", raw)) {
        cJSON_Delete(raw);
        while (cJSON_GetObjectItemCaseSensitive(out->req, "id"))
            cJSON_DeleteItemFromObjectCaseSensitive(out->req, "id");
        return fail(out, API_E_INTERNAL, "out of memory");
    }
    return 0;
}

int api_parse_request(const char *line, size_t len, struct api_parsed *out)
{
    memset(out, 0, sizeof *out);
    if (len > API_MAX_LINE)
        return fail(out, API_E_LINE_TOO_LONG, "line longer than %d bytes", API_MAX_LINE);
    /* cJSON stops at a NUL, which would silently accept trailing bytes. */
    if (memchr(line, '\0', len))
        return fail(out, API_E_BAD_JSON, "NUL byte in request");
    if (!api_utf8_valid(line, len))
        return fail(out, API_E_BAD_JSON, "request is not valid UTF-8");

    /* cJSON wants the NUL inside the given length to reject trailing
	 * garbage ("{}x"), so parse a terminated copy. */
    char *copy = malloc(len + 1);
    if (!copy)
        return fail(out, API_E_INTERNAL, "out of memory");
    memcpy(copy, line, len);
    copy[len] = '\0';
    const char *end = NULL;
    out->req = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    size_t err_at = (!out->req && end) ? (size_t)(end - copy) : 0;
    free(copy);
    if (!out->req)
        return fail(out, API_E_BAD_JSON, "malformed JSON near byte %zu", err_at);

    if (!cJSON_IsObject(out->req)) {
        cJSON_Delete(out->req);
        out->req = NULL;
        return fail(out, API_E_BAD_REQUEST, "request must be a JSON object");
    }
    if (check_id(line, len, out) < 0)
        return -1;
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(out->req, "class");
    if (!cls)
        return fail(out, API_E_BAD_REQUEST, "request has no \"class\"");
    if (!cJSON_IsString(cls) || cls->valuestring[0] == '\0')
        return fail(out, API_E_BAD_REQUEST, "\"class\" must be a non-empty string");
    out->cls = cls->valuestring;
    out->code = NULL;
    return 0;
}

void api_parsed_clear(struct api_parsed *p)
{
    cJSON_Delete(p->req);
    memset(p, 0, sizeof *p);
}

int api_linebuf_init(struct api_linebuf *lb, size_t max_line)
{
    memset(lb, 0, sizeof *lb);
    /* +1: a CR before the newline does not count against the limit. */
    lb->buf = malloc(max_line + 1);
    if (!lb->buf)
        return -1;
    lb->cap = max_line;
    return 0;
}

void api_linebuf_free(struct api_linebuf *lb)
{
    free(lb->buf);
    memset(lb, 0, sizeof *lb);
}

static void consume(const char **data, size_t *avail, size_t n)
{
    *data += n;
    *avail -= n;
}

enum api_line_result api_linebuf_feed(struct api_linebuf *lb, const char **data, size_t *avail,
                                      const char **line, size_t *len)
{
    /* The line handed out last time has been used by now. */
    if (lb->handed_out) {
        lb->len = 0;
        lb->handed_out = false;
    }
    while (*avail > 0) {
        const char *nl = memchr(*data, '\n', *avail);
        size_t chunk = nl ? (size_t)(nl - *data) : *avail;
        size_t with_nl = nl ? chunk + 1 : chunk;
        if (lb->discarding) {
            consume(data, avail, with_nl);
            if (nl)
                lb->discarding = false;
            continue;
        }
        /* One extra byte for a CR that will be stripped; the exact
		 * limit is checked once the line is complete. */
        if (lb->len + chunk > lb->cap + 1) {
            lb->len = 0;
            lb->discarding = (nl == NULL);
            consume(data, avail, with_nl);
            return API_LINE_TOO_LONG;
        }
        memcpy(lb->buf + lb->len, *data, chunk);
        lb->len += chunk;
        consume(data, avail, with_nl);
        if (!nl)
            break;
        size_t n = lb->len;
        if (n > 0 && lb->buf[n - 1] == '\r')
            n--;
        if (n > lb->cap) {
            lb->len = 0;
            return API_LINE_TOO_LONG;
        }
        if (n == 0) {
            /* Empty line: nothing to hand out, keep going. */
            lb->len = 0;
            continue;
        }
        lb->handed_out = true; /* reset on the next call */
        *line = lb->buf;
        *len = n;
        return API_LINE_OK;
    }
    return API_LINE_NONE;
}

bool api_linebuf_flush(struct api_linebuf *lb, const char **line, size_t *len)
{
    if (lb->discarding || lb->handed_out || lb->len == 0 || lb->len > lb->cap) {
        lb->len = 0;
        lb->discarding = false;
        lb->handed_out = false;
        return false;
    }
    lb->handed_out = true;
    *line = lb->buf;
    *len = lb->len;
    return true;
}
