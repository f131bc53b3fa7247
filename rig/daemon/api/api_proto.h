/* JSON-lines API: the pure, I/O-free half of the protocol.
 *
 * Everything here works on bytes in memory so it can be unit-tested and
 * fuzzed without sockets or an event loop: error codes, topic names, the
 * request parser (one line -> parsed request or error code) and the line
 * splitter that turns a byte stream into bounded lines.
 */
#ifndef RIG_API_PROTO_H
#define RIG_API_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define API_PROTO_MAJOR 1
#define API_PROTO_MINOR 4

/* Longest request line accepted, newline excluded. Longer lines get one
 * "line_too_long" error and are discarded up to the next newline. */
#define API_MAX_LINE   65536
/* Longest id echoed back, as the client wrote it (a string's text between
 * its quotes); longer ids are a bad_request. */
#define API_MAX_ID_LEN 128

/* Stable error codes (documented in docs/API.md). The module itself emits
 * the first five; the rest are for request handlers so that every part of
 * the daemon uses the same spelling. */
#define API_E_LINE_TOO_LONG    "line_too_long"
#define API_E_BAD_JSON         "bad_json"
#define API_E_BAD_REQUEST      "bad_request"
#define API_E_UNKNOWN_CLASS    "unknown_class"
#define API_E_BAD_ARGUMENT     "bad_argument"
#define API_E_TOO_MANY_CLIENTS "too_many_clients"
#define API_E_BUSY             "busy"
#define API_E_NO_DEVICE        "no_device"
#define API_E_DEVICE_ERROR     "device_error"
#define API_E_TIMEOUT          "timeout"
#define API_E_NOT_FOUND        "not_found"
#define API_E_INVALID_STATE    "invalid_state"
#define API_E_PERMISSION       "permission_denied"
#define API_E_INTERNAL         "internal"
#define API_E_WRONG_UNIT       "wrong_unit"
#define API_E_NO_SPACE         "no_space"
#define API_E_NO_ATTEMPTS      "no_attempts_left"
#define API_E_DATABASE         "database_error"

/* Watch topics. Bit i of a topic mask is api_topic_names[i]. */
enum api_topic {
    API_TOPIC_DEVICES,
    API_TOPIC_RUN,
    API_TOPIC_MEASUREMENTS,
    API_TOPIC_SAMPLES,
    API_TOPIC_LOG,
    API_TOPIC_COUNT
};
#define API_TOPIC_ALL     ((1u << API_TOPIC_COUNT) - 1u)
/* What {"class":"watch","enable":true} without "topics" subscribes to:
 * everything but the high-volume live samples. */
#define API_TOPIC_DEFAULT (API_TOPIC_ALL & ~(1u << API_TOPIC_SAMPLES))

/* Topic name -> index, or -1 when unknown. */
int api_topic_from_name(const char *name);
const char *api_topic_name(enum api_topic t);

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, no UTF-16
 * surrogates, nothing above U+10FFFF). */
bool api_utf8_valid(const char *s, size_t len);

/* Result of parsing one request line. On success `req` owns the parsed
 * object and `cls` points into it; on failure `code` is one of the API_E_*
 * strings, `message` says what is wrong, and `req` is still set when the
 * line was a JSON object (so the error can echo its "id"). A valid "id" is
 * a cJSON raw item: the id's JSON text from the line, so that printing it
 * echoes exactly what the client sent; an invalid one is removed. */
struct api_parsed {
    cJSON *req;
    const char *cls;
    const char *code;
    char message[160];
};

/* Parses one line (without its newline; need not be NUL-terminated).
 * Returns 0 on success, -1 on error (see `out->code`). Never keeps a
 * pointer to `line`. The caller frees with api_parsed_clear(). */
int api_parse_request(const char *line, size_t len, struct api_parsed *out);
void api_parsed_clear(struct api_parsed *p);

/* Splits a byte stream into lines of at most API_MAX_LINE bytes (or a
 * smaller limit for tests). A line longer than the limit is reported once
 * (API_LINE_TOO_LONG) and its remaining bytes are dropped up to and
 * including the next newline, so the stream resynchronises. */
struct api_linebuf {
    char *buf;
    size_t len;
    size_t cap; /* = max line length */
    bool discarding;
    bool handed_out; /* buf holds the line returned last time */
};

enum api_line_result {
    API_LINE_NONE,     /* need more input */
    API_LINE_OK,       /* *line, *len hold one line (valid until next call) */
    API_LINE_TOO_LONG, /* an oversize line started; it is being discarded */
};

int api_linebuf_init(struct api_linebuf *lb, size_t max_line);
void api_linebuf_free(struct api_linebuf *lb);

/* Consumes bytes from `*data`/`*avail` (advancing them) until one event is
 * ready. Call repeatedly until it returns API_LINE_NONE with *avail == 0.
 * A trailing '\r' is stripped so CRLF clients work. */
enum api_line_result api_linebuf_feed(struct api_linebuf *lb, const char **data, size_t *avail,
                                      const char **line, size_t *len);

/* At end of input: hands out a final unterminated line, if any. */
bool api_linebuf_flush(struct api_linebuf *lb, const char **line, size_t *len);

#endif
