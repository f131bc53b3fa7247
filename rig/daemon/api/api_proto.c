/* JSON-lines API: request parsing and line splitting (pure, no I/O). */
#include "api_proto.h"

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

/* An "id" is echoed verbatim, so it must be something small and
 * printable: a finite number or a short string. */
static int check_id(struct api_parsed *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(out->req, "id");
	if (!id)
		return 0;
	if (cJSON_IsNumber(id) && isfinite(id->valuedouble))
		return 0;
	if (cJSON_IsString(id) && strlen(id->valuestring) <= API_MAX_ID_LEN)
		return 0;
	/* Do not echo an id we just rejected. */
	cJSON_DeleteItemFromObjectCaseSensitive(out->req, "id");
	return fail(out, API_E_BAD_REQUEST, "\"id\" must be a number or a string of at most %d bytes",
		    API_MAX_ID_LEN);
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
	if (check_id(out) < 0)
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
