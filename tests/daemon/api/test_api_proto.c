/* Unit tests of the pure API pieces: request parser (and its verbatim
 * ids), member tables, line splitter, bounded output queue. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/api/api_args.h"
#include "daemon/api/api_outq.h"
#include "daemon/api/api_proto.h"

/* ---- parser ---------------------------------------------------------- */

static const char *parse_code(const char *line)
{
    struct api_parsed p;
    int r = api_parse_request(line, strlen(line), &p);
    const char *code = r == 0 ? "ok" : p.code;
    if (r == 0)
        ck_assert_ptr_nonnull(p.cls);
    api_parsed_clear(&p);
    return code;
}

START_TEST(parse_valid)
{
    struct api_parsed p;
    const char *line = "{\"class\":\"devices\",\"id\":7}";
    ck_assert_int_eq(api_parse_request(line, strlen(line), &p), 0);
    ck_assert_str_eq(p.cls, "devices");
    ck_assert(cJSON_IsRaw(cJSON_GetObjectItem(p.req, "id")));
    ck_assert_str_eq(cJSON_GetObjectItem(p.req, "id")->valuestring, "7");
    api_parsed_clear(&p);
    ck_assert_str_eq(parse_code("  {\"class\":\"x\",\"id\":\"abc\"}  "), "ok");
    ck_assert_str_eq(parse_code("{\"class\":\"caf\xc3\xa9\"}"), "ok");
}
END_TEST

START_TEST(parse_errors)
{
    ck_assert_str_eq(parse_code("garbage"), API_E_BAD_JSON);
    ck_assert_str_eq(parse_code("{\"class\":\"x\""), API_E_BAD_JSON);
    ck_assert_str_eq(parse_code("{\"class\":\"x\"}x"), API_E_BAD_JSON);
    ck_assert_str_eq(parse_code("{\"class\":\"x\"}{}"), API_E_BAD_JSON);
    ck_assert_str_eq(parse_code("{\"class\":\"\xff\"}"), API_E_BAD_JSON);
    ck_assert_str_eq(parse_code("{\"class\":\"\xc0\xaf\"}"), API_E_BAD_JSON);     /* overlong */
    ck_assert_str_eq(parse_code("{\"class\":\"\xed\xa0\x80\"}"), API_E_BAD_JSON); /* surrogate */
    ck_assert_str_eq(parse_code("{\"class\":\"\\ud800\"}"), API_E_BAD_JSON);      /* lone \u */
    ck_assert_str_eq(parse_code("[1,2]"), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("\"devices\""), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("{}"), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("{\"class\":7}"), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("{\"class\":\"\"}"), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("{\"class\":\"x\",\"id\":[1]}"), API_E_BAD_REQUEST);
    ck_assert_str_eq(parse_code("{\"class\":\"x\",\"id\":true}"), API_E_BAD_REQUEST);
}
END_TEST

START_TEST(parse_nul_and_length)
{
    struct api_parsed p;
    const char line[] = "{\"class\":\"x\"}\0junk";
    ck_assert_int_eq(api_parse_request(line, sizeof line - 1, &p), -1);
    ck_assert_str_eq(p.code, API_E_BAD_JSON);
    api_parsed_clear(&p);
    /* Not NUL-terminated input is fine: parse a prefix of a longer buffer. */
    const char buf[] = "{\"class\":\"y\"}XXXX";
    ck_assert_int_eq(api_parse_request(buf, 13, &p), 0);
    ck_assert_str_eq(p.cls, "y");
    api_parsed_clear(&p);
}
END_TEST

START_TEST(parse_error_keeps_id)
{
    struct api_parsed p;
    const char *line = "{\"id\":42}";
    ck_assert_int_eq(api_parse_request(line, strlen(line), &p), -1);
    ck_assert_str_eq(p.code, API_E_BAD_REQUEST);
    ck_assert_ptr_nonnull(p.req); /* so the error can echo the id */
    ck_assert_str_eq(cJSON_GetObjectItem(p.req, "id")->valuestring, "42");
    api_parsed_clear(&p);
    /* A rejected id is not echoed. */
    line = "{\"class\":\"x\",\"id\":{\"a\":1}}";
    ck_assert_int_eq(api_parse_request(line, strlen(line), &p), -1);
    ck_assert_ptr_null(cJSON_GetObjectItem(p.req, "id"));
    api_parsed_clear(&p);
}
END_TEST

/* The id a reply echoes: the client's own JSON text (docs/API.md). */
START_TEST(parse_id_verbatim)
{
    static const struct {
        const char *line, *id;
    } cases[] = {
        { "{\"class\":\"x\",\"id\":12345678901234567890}", "12345678901234567890" },
        { "{\"class\":\"x\",\"id\":1e3}", "1e3" },
        { "{\"class\":\"x\",\"id\":1.50}", "1.50" },
        { "{\"class\":\"x\",\"id\":-0}", "-0" },
        { "{\"class\":\"x\",\"id\":2E+2}", "2E+2" },
        { "{\"class\":\"x\",\"id\":1e999}", "1e999" },
        { "{\"class\":\"x\",\"id\":\"a\\u0000b\"}", "\"a\\u0000b\"" },
        { "{\"class\":\"x\",\"id\":\"\\u00e9\\/\"}", "\"\\u00e9\\/\"" },
        { "{\"class\":\"x\",\"id\":\"caf\xc3\xa9\"}", "\"caf\xc3\xa9\"" },
        /* whitespace around it, members (with look-alikes) before it */
        { " { \"a\" : {\"id\":1,\"b\":\"}\\\",\"} , \"c\":[\"]\",{}], \"id\"\t:\t7 ,\"class\":\"x\"}",
          "7" },
        /* a key written with escapes is still "id" */
        { "{\"class\":\"x\",\"\\u0069d\":\"k\"}", "\"k\"" },
        /* a repeated id: the first, as for every member */
        { "{\"class\":\"x\",\"id\":1,\"id\":2}", "1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct api_parsed p;
        ck_assert_msg(api_parse_request(cases[i].line, strlen(cases[i].line), &p) == 0, "%s: %s",
                      cases[i].line, p.message);
        const cJSON *id = cJSON_GetObjectItem(p.req, "id");
        ck_assert_msg(cJSON_IsRaw(id) && strcmp(id->valuestring, cases[i].id) == 0,
                      "%s: id %s, want %s", cases[i].line, cJSON_IsRaw(id) ? id->valuestring : "?",
                      cases[i].id);
        /* and the reply built from it says the same */
        char *text = cJSON_PrintUnformatted(id);
        ck_assert_str_eq(text, cases[i].id);
        cJSON_free(text);
        api_parsed_clear(&p);
    }
}
END_TEST

/* Ids that cannot be echoed as valid JSON are refused (and not echoed). */
START_TEST(parse_id_refused)
{
    char long_str[200] = "{\"class\":\"x\",\"id\":\"", long_num[200] = "{\"class\":\"x\",\"id\":";
    memset(long_str + strlen(long_str), 'x', 129);
    strcat(long_str, "\"}");
    memset(long_num + strlen(long_num), '9', 129);
    strcat(long_num, "}");
    const char *const lines[] = {
        "{\"class\":\"x\",\"id\":01}",
        "{\"class\":\"x\",\"id\":1.}",
        "{\"class\":\"x\",\"id\":-01}",
        "{\"class\":\"x\",\"id\":\"a\tb\"}",
        "{\"class\":\"x\",\"id\":null}",
        "{\"class\":\"x\",\"id\":false}",
        /* a repeated id behind a refused one is not echoed either */
        "{\"class\":\"x\",\"id\":01,\"id\":\"a\\u0000b\"}",
        long_str,
        long_num,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct api_parsed p;
        ck_assert_msg(api_parse_request(lines[i], strlen(lines[i]), &p) == -1, "%s accepted",
                      lines[i]);
        ck_assert_str_eq(p.code, API_E_BAD_REQUEST);
        ck_assert_ptr_null(cJSON_GetObjectItem(p.req, "id"));
        api_parsed_clear(&p);
    }
    /* 128 bytes is the most: between a string's quotes, or a number's. */
    long_str[strlen(long_str) - 3] = '\0';
    strcat(long_str, "\"}");
    ck_assert_str_eq(parse_code(long_str), "ok");
    long_num[strlen(long_num) - 2] = '\0';
    strcat(long_num, "}");
    ck_assert_str_eq(parse_code(long_num), "ok");
}
END_TEST

/* ---- member tables ----------------------------------------------------- */

START_TEST(members_types_and_presence)
{
    static const struct api_member m[] = {
        { "dut", API_T_STRING, true },
        { "rate_hz", API_T_NUMBER, false },
        { "id_or_name", API_T_NUMBER | API_T_STRING, false },
        { NULL, 0, false },
    };
    static const struct {
        const char *json, *msg; /* msg NULL: accepted */
    } cases[] = {
        { "{\"dut\":\"P\"}", NULL },
        { "{\"dut\":\"P\",\"rate_hz\":null,\"other\":[1]}", NULL },
        { "{\"dut\":\"P\",\"id_or_name\":\"n\"}", NULL },
        { "{}", "run needs \"dut\" (a string)" },
        { "{\"dut\":null}", "run needs \"dut\" (a string)" },
        { "{\"dut\":7}", "\"dut\" must be a string" },
        { "{\"dut\":\"P\",\"rate_hz\":\"1\"}", "\"rate_hz\" must be a number" },
        { "{\"dut\":\"P\",\"id_or_name\":true}", "\"id_or_name\" must be a string or a number" },
        /* the first member in table order wins */
        { "{\"rate_hz\":\"1\"}", "run needs \"dut\" (a string)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *req = cJSON_Parse(cases[i].json);
        char msg[160] = "";
        int r = api_members_check(req, "run", m, msg, sizeof msg);
        if (cases[i].msg) {
            ck_assert_msg(r == -1, "%s accepted", cases[i].json);
            ck_assert_str_eq(msg, cases[i].msg);
        } else {
            ck_assert_msg(r == 0, "%s: %s", cases[i].json, msg);
        }
        cJSON_Delete(req);
    }
    cJSON *req = cJSON_Parse("{\"a\":null,\"b\":1}");
    ck_assert_ptr_null(api_member(req, "a"));
    ck_assert_ptr_null(api_member(req, "c"));
    ck_assert_ptr_nonnull(api_member(req, "b"));
    cJSON_Delete(req);
}
END_TEST

START_TEST(utf8_validator)
{
    ck_assert(api_utf8_valid("", 0));
    ck_assert(api_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    ck_assert(api_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    ck_assert(!api_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    ck_assert(!api_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    ck_assert(!api_utf8_valid("\xe2\x82", 2));         /* truncated */
    ck_assert(!api_utf8_valid("\x80", 1));             /* lone continuation */
    ck_assert(!api_utf8_valid("\xf5\x80\x80\x80", 4));
}
END_TEST

START_TEST(topics)
{
    ck_assert_int_eq(api_topic_from_name("samples"), API_TOPIC_SAMPLES);
    ck_assert_int_eq(api_topic_from_name("nope"), -1);
    ck_assert_int_eq(api_topic_from_name(NULL), -1);
    ck_assert_str_eq(api_topic_name(API_TOPIC_LOG), "log");
    ck_assert(!(API_TOPIC_DEFAULT & (1u << API_TOPIC_SAMPLES)));
}
END_TEST

/* ---- line splitter --------------------------------------------------- */

/* Feeds `input` in chunks of `chunk` bytes and records the events as a
 * string: each line as "<line>|", each oversize line as "!|". */
static void split(const char *input, size_t len, size_t chunk, size_t max, char *out, size_t outlen)
{
    struct api_linebuf lb;
    ck_assert_int_eq(api_linebuf_init(&lb, max), 0);
    out[0] = '\0';
    for (size_t off = 0; off < len; off += chunk) {
        const char *d = input + off;
        size_t avail = len - off < chunk ? len - off : chunk;
        const char *line;
        size_t n;
        enum api_line_result r;
        while ((r = api_linebuf_feed(&lb, &d, &avail, &line, &n)) != API_LINE_NONE) {
            if (r == API_LINE_OK)
                snprintf(out + strlen(out), outlen - strlen(out), "%.*s|", (int)n, line);
            else
                snprintf(out + strlen(out), outlen - strlen(out), "!|");
        }
        ck_assert_uint_eq(avail, 0);
    }
    const char *line;
    size_t n;
    if (api_linebuf_flush(&lb, &line, &n))
        snprintf(out + strlen(out), outlen - strlen(out), "%.*s$", (int)n, line);
    api_linebuf_free(&lb);
}

START_TEST(lines_any_chunking)
{
    const char in[] = "ab\ncd\r\n\n\r\nefgh\nlast";
    char out[256];
    for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
        split(in, sizeof in - 1, chunk, 8, out, sizeof out);
        ck_assert_msg(strcmp(out, "ab|cd|efgh|last$") == 0, "chunk %zu: %s", chunk, out);
    }
}
END_TEST

START_TEST(lines_oversize_resync)
{
    /* limit 4: "12345" is too long, the rest must still come through. */
    const char in[] = "1234\n12345\nok\n123456789012\r\nyes\n1234\r\n";
    char out[256];
    for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
        split(in, sizeof in - 1, chunk, 4, out, sizeof out);
        ck_assert_msg(strcmp(out, "1234|!|ok|!|yes|1234|") == 0, "chunk %zu: %s", chunk, out);
    }
}
END_TEST

START_TEST(lines_oversize_unterminated)
{
    char out[64];
    split("123456789", 9, 3, 4, out, sizeof out);
    ck_assert_str_eq(out, "!|");
}
END_TEST

/* ---- output queue ---------------------------------------------------- */

static struct api_msg *msg_of(size_t len)
{
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    memset(text, 'a', len);
    struct api_msg *m = api_msg_new(text, len);
    free(text);
    ck_assert_ptr_nonnull(m);
    return m;
}

START_TEST(outq_soft_cap_drops_only_samples)
{
    struct api_outq q;
    api_outq_init(&q, 1000, 5000);
    struct api_msg *m = msg_of(99); /* 100 bytes with newline */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(api_outq_push(&q, m, true), API_PUSH_OK);
    ck_assert_int_eq(api_outq_push(&q, m, true), API_PUSH_DROPPED);
    ck_assert_uint_eq(q.dropped_pending, 1);
    /* Essential messages still fit up to the hard cap. */
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(api_outq_push(&q, m, false), API_PUSH_OK);
    ck_assert_uint_eq(q.bytes, 5000);
    /* Full: the queued samples are dropped to make room first. */
    ck_assert_int_eq(api_outq_push(&q, m, false), API_PUSH_OK);
    ck_assert_uint_eq(q.bytes, 4100);
    ck_assert_uint_eq(q.dropped_total, 11);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(api_outq_push(&q, m, false), API_PUSH_OK);
    ck_assert_int_eq(api_outq_push(&q, m, false), API_PUSH_OVERFLOW);
    ck_assert_uint_eq(q.bytes, 5000);
    api_outq_clear(&q);
    ck_assert(api_outq_empty(&q));
    api_msg_unref(m);
}
END_TEST

START_TEST(outq_send_partial_keeps_stream_intact)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    struct api_outq q;
    api_outq_init(&q, 1u << 20, 1u << 22);
    struct api_msg *sample = msg_of(999);
    struct api_msg *essential = msg_of(499);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(api_outq_push(&q, i % 2 ? sample : essential, i % 2), API_PUSH_OK);
    int r = api_outq_send(&q, sv[0]);
    ck_assert_int_eq(r, 1); /* the socket filled up */
    /* Overflow purge must not cut the partly sent head. */
    q.hard_cap = q.bytes;
    ck_assert_int_eq(api_outq_push(&q, essential, false), API_PUSH_OK);
    /* Read everything: every line must be a whole message. */
    size_t got = 0;
    char buf[8192];
    size_t linelen = 0;
    for (;;) {
        r = api_outq_send(&q, sv[0]);
        ck_assert_int_ge(r, 0);
        ssize_t n = recv(sv[1], buf, sizeof buf, r == 0 ? MSG_DONTWAIT : 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && r == 0)
            break;
        ck_assert_int_gt(n, 0);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                ck_assert_msg(linelen == 999 || linelen == 499, "line of %zu", linelen);
                got++;
                linelen = 0;
            } else {
                linelen++;
            }
        }
    }
    ck_assert_uint_gt(got, 100);
    ck_assert(api_outq_empty(&q));
    api_msg_unref(sample);
    api_msg_unref(essential);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(outq_send_to_closed_peer)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    struct api_outq q;
    api_outq_init(&q, 1000, 2000);
    struct api_msg *m = msg_of(10);
    ck_assert_int_eq(api_outq_push(&q, m, false), API_PUSH_OK);
    ck_assert_int_eq(api_outq_send(&q, sv[0]), -EPIPE); /* and no SIGPIPE */
    api_outq_clear(&q);
    api_msg_unref(m);
    close(sv[0]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_proto");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_valid);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, parse_nul_and_length);
    tcase_add_test(tc, parse_error_keeps_id);
    tcase_add_test(tc, parse_id_verbatim);
    tcase_add_test(tc, parse_id_refused);
    tcase_add_test(tc, members_types_and_presence);
    tcase_add_test(tc, utf8_validator);
    tcase_add_test(tc, topics);
    suite_add_tcase(s, tc);
    tc = tcase_create("lines");
    tcase_add_test(tc, lines_any_chunking);
    tcase_add_test(tc, lines_oversize_resync);
    tcase_add_test(tc, lines_oversize_unterminated);
    suite_add_tcase(s, tc);
    tc = tcase_create("outq");
    tcase_add_test(tc, outq_soft_cap_drops_only_samples);
    tcase_add_test(tc, outq_send_partial_keeps_stream_intact);
    tcase_add_test(tc, outq_send_to_closed_peer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
