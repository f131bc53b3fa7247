/* Robustness tests of the API server module, run on its own (api_testd:
 * sd-event + api_server + echo handlers) and hammered over its socket. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/api/api_proto.h"
#include "apitest.h"

static struct testd td;

static void start_default(void)
{
    testd_start(&td, NULL);
}

static void stop(void)
{
    ck_assert_int_eq(testd_stop(&td), 0); /* clean exit: no crash, no leak report */
}

static cJSON *stats_on(struct tconn *c)
{
    cJSON *s = tconn_call(c, "{\"class\":\"stats\",\"id\":\"s\"}\n");
    ck_assert_str_eq(jstr(s, "class"), "stats");
    ck_assert_int_eq((int)jnum(s, "double_disconnects"), 0);
    return s;
}

static cJSON *stats(void)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    cJSON *s = stats_on(&c);
    tconn_close(&c);
    return s;
}

/* Asserts that `c` still gets an echo answered (the connection is usable). */
static void assert_usable(struct tconn *c)
{
    cJSON *r = tconn_call(c, "{\"class\":\"echo\",\"id\":\"alive\"}\n");
    ck_assert_str_eq(jstr(r, "class"), "echo");
    ck_assert_str_eq(jstr(r, "id"), "alive");
    cJSON_Delete(r);
}

static void expect_error(struct tconn *c, const char *line, const char *code)
{
    tconn_sendstr(c, line);
    cJSON *r = tconn_read(c, T_TIMEOUT_S);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(jstr(r, "class"), "error");
    ck_assert_msg(strcmp(jstr(r, "code"), code) == 0, "line %s: got %s, want %s", line,
                  jstr(r, "code"), code);
    ck_assert_str_ne(jstr(r, "message"), "(missing)");
    cJSON_Delete(r);
}

START_TEST(greeting_and_echo)
{
    struct tconn c;
    tconn_open(&c, td.path, false);
    cJSON *g = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(g, "class"), "version");
    ck_assert_int_eq((int)jnum(g, "proto_major"), 1);
    ck_assert_int_eq((int)jnum(g, "proto_minor"), 4);
    ck_assert_int_eq((int)jnum(g, "max_line"), API_MAX_LINE);
    ck_assert_str_ne(jstr(g, "release"), "(missing)");
    cJSON_Delete(g);

    cJSON *r = tconn_call(&c, "{\"class\":\"echo\",\"id\":17}\n");
    ck_assert_str_eq(jstr(r, "class"), "echo");
    ck_assert_int_eq((int)jnum(r, "id"), 17);
    cJSON_Delete(r);
    r = tconn_call(&c, "{\"id\":\"a-b\",\"class\":\"echo\"}\r\n");
    ck_assert_str_eq(jstr(r, "id"), "a-b");
    cJSON_Delete(r);
    /* Peer credentials are those of this process. */
    r = tconn_call(&c, "{\"class\":\"stats\",\"id\":1}\n");
    ck_assert_int_eq((int)jnum(r, "peer_uid"), (int)getuid());
    ck_assert_int_eq((int)jnum(r, "peer_pid"), (int)getpid());
    cJSON_Delete(r);
    tconn_close(&c);
}
END_TEST

START_TEST(error_codes_exact)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    expect_error(&c, "\x01\x02\x7fgarbage\n", API_E_BAD_JSON);
    expect_error(&c, "{\"class\":\"echo\"\n", API_E_BAD_JSON);
    expect_error(&c, "{\"class\":\"\xff\xfe\"}\n", API_E_BAD_JSON);
    expect_error(&c, "{\"class\":\"echo\",\"x\":\"\xc3\x28\"}\n", API_E_BAD_JSON);
    expect_error(&c, "[\"echo\"]\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"class\":7}\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"klass\":\"echo\"}\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"class\":\"no_such_thing\"}\n", API_E_UNKNOWN_CLASS);
    expect_error(&c, "{\"class\":\"watch\",\"topics\":[\"weather\"]}\n", API_E_BAD_ARGUMENT);
    expect_error(&c, "{\"class\":\"watch\",\"topics\":\"run\"}\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"class\":\"watch\",\"enable\":\"yes\"}\n", API_E_BAD_REQUEST);
    assert_usable(&c);

    /* Errors echo the id and name the request's class. */
    cJSON *r = tconn_call(&c, "{\"class\":\"nope\",\"id\":\"q1\"}\n");
    ck_assert_str_eq(jstr(r, "class"), "error");
    ck_assert_str_eq(jstr(r, "id"), "q1");
    ck_assert_str_eq(jstr(r, "request"), "nope");
    ck_assert_str_eq(jstr(r, "code"), API_E_UNKNOWN_CLASS);
    cJSON_Delete(r);
    /* A message cut inside a multi-byte character keeps its valid part. */
    char line[256] = "{\"id\":5,\"class\":\"a";
    for (int i = 0; i < 40; i++)
        strcat(line, "\xc3\xa9");
    strcat(line, "\"}\n");
    r = tconn_call(&c, line);
    ck_assert_str_eq(jstr(r, "code"), API_E_UNKNOWN_CLASS);
    ck_assert_msg(strncmp(jstr(r, "message"), "unknown class \"a\xc3\xa9", 17) == 0, "%s",
                  jstr(r, "message"));
    cJSON_Delete(r);
    r = tconn_call(&c, "{\"id\":99}\n");
    ck_assert_str_eq(jstr(r, "code"), API_E_BAD_REQUEST);
    ck_assert_int_eq((int)jnum(r, "id"), 99);
    cJSON_Delete(r);
    tconn_close(&c);
}
END_TEST

/* Sends line and returns the next line, raw. */
static char *raw_call(struct tconn *c, const char *line)
{
    tconn_sendstr(c, line);
    char *r = tconn_read_line(c, T_TIMEOUT_S);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* docs/API.md: the reply echoes the id verbatim, whatever JSON number or
 * string the client wrote; an id it could not echo is refused. */
START_TEST(ids_echoed_verbatim)
{
    static const char *const ids[] = {
        "12345678901234567890", "1e3", "1.50", "-0", "1E-7", "\"a\\u0000b\"", "\"\\ud83d\\ude00\"",
        "\"tab\\there\"",
    };
    static const char *const requests[] = {
        "{\"class\":\"echo\",\"id\":%s}\n",           /* a reply */
        "{\"class\":\"nope\",\"id\":%s}\n",           /* the handler's error */
        "{\"id\":%s}\n",                              /* the module's error */
        "{\"class\":\"watch\",\"id\":%s}\n",          /* the module's reply */
        "{\"class\":\"later\",\"ms\":1,\"id\":%s}\n", /* asynchronous */
    };
    struct tconn c;
    tconn_open(&c, td.path, true);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t k = 0; k < sizeof requests / sizeof requests[0]; k++) {
            char line[256], want[160];
            snprintf(line, sizeof line, requests[k], ids[i]);
            snprintf(want, sizeof want, "\"id\":%s", ids[i]);
            char *r = raw_call(&c, line);
            const char *at = strstr(r, want);
            ck_assert_msg(at && (at[strlen(want)] == ',' || at[strlen(want)] == '}'), "%s-> %s",
                          line, r);
            free(r);
        }
    }
    /* Not valid JSON once echoed (cJSON would take them): refused. */
    static const char *const bad[] = { "01", "-01", "1.", "\"raw\ttab\"" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"class\":\"echo\",\"id\":%s}\n", bad[i]);
        char *r = raw_call(&c, line);
        ck_assert_msg(strstr(r, "\"code\":\"bad_request\"") && !strstr(r, "\"id\":"), "%s-> %s",
                      line, r);
        free(r);
    }
    tconn_close(&c);
}
END_TEST

/* docs/API.md "Which error wins": a member's type before its value; a
 * null member is absent. */
START_TEST(watch_members)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    expect_error(&c, "{\"class\":\"watch\",\"topics\":[\"weather\",1]}\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"class\":\"watch\",\"topics\":{}}\n", API_E_BAD_REQUEST);
    expect_error(&c, "{\"class\":\"watch\",\"enable\":\"no\",\"topics\":[\"weather\"]}\n",
                 API_E_BAD_REQUEST);
    cJSON *r = tconn_call(&c, "{\"class\":\"watch\",\"id\":1,\"enable\":null,\"topics\":null}\n");
    ck_assert_str_eq(jstr(r, "class"), "watch");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "topics")), 4); /* the default set */
    cJSON_Delete(r);
    tconn_close(&c);
}
END_TEST

START_TEST(garbage_flood)
{
    /* Random bytes (including NULs and stray newlines) never break the
	 * server; every line gets exactly one error and the stream resyncs. */
    struct tconn c;
    tconn_open(&c, td.path, true);
    unsigned seed = 12345;
    char buf[4096];
    int lines = 0;
    for (int round = 0; round < 64; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            seed = seed * 1103515245u + 12345u;
            char ch = (char)(seed >> 16);
            buf[i] = ch == '\n' ? 'n' : ch;
        }
        /* One newline per round, at the end. */
        buf[sizeof buf - 1] = '\n';
        tconn_send(&c, buf, sizeof buf);
        lines++;
    }
    for (int i = 0; i < lines; i++) {
        cJSON *r = tconn_read(&c, T_TIMEOUT_S);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(jstr(r, "class"), "error");
        ck_assert_str_eq(jstr(r, "code"), API_E_BAD_JSON);
        cJSON_Delete(r);
    }
    assert_usable(&c);
    tconn_close(&c);
}
END_TEST

START_TEST(oversize_lines)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    size_t big = 3 * (size_t)API_MAX_LINE + 17;
    char *line = malloc(big);
    ck_assert_ptr_nonnull(line);
    memset(line, 'a', big);
    /* Sent in pieces, then the newline and a normal request. */
    for (size_t off = 0; off < big; off += 5000)
        tconn_send(&c, line + off, big - off < 5000 ? big - off : 5000);
    tconn_sendstr(&c, "\n{\"class\":\"echo\",\"id\":1}\n");
    cJSON *r = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(r, "code"), API_E_LINE_TOO_LONG);
    cJSON_Delete(r);
    r = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(r, "class"), "echo");
    ck_assert_int_eq((int)jnum(r, "id"), 1);
    cJSON_Delete(r);

    /* Exactly the limit is accepted; one byte more is not. */
    const char *head = "{\"class\":\"echo\",\"id\":2,\"pad\":\"";
    size_t hl = strlen(head);
    memcpy(line, head, hl);
    memset(line + hl, 'p', API_MAX_LINE - hl - 2);
    memcpy(line + API_MAX_LINE - 2, "\"}", 2);
    line[API_MAX_LINE] = '\n';
    tconn_send(&c, line, API_MAX_LINE + 1);
    r = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(r, "class"), "echo");
    cJSON_Delete(r);
    memmove(line + hl + 1, line + hl, API_MAX_LINE - hl);
    line[API_MAX_LINE + 1] = '\n';
    tconn_send(&c, line, API_MAX_LINE + 2);
    r = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(r, "code"), API_E_LINE_TOO_LONG);
    cJSON_Delete(r);
    free(line);
    assert_usable(&c);
    tconn_close(&c);
}
END_TEST

/* Writes `n` echo requests while the main thread reads the replies: the
 * client pipelines without waiting. */
struct pipeliner {
    int fd;
    int n;
};

static void *pipeline_writer(void *arg)
{
    struct pipeliner *p = arg;
    char line[96];
    for (int i = 0; i < p->n; i++) {
        int len = snprintf(line, sizeof line, "{\"class\":\"echo\",\"id\":%d}\n", i);
        const char *q = line;
        while (len > 0) {
            ssize_t w = send(p->fd, q, (size_t)len, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return (void *)1;
            q += w;
            len -= (int)w;
        }
    }
    return NULL;
}

START_TEST(thousands_pipelined)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    struct pipeliner p = { .fd = c.fd, .n = 20000 };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, pipeline_writer, &p), 0);
    for (int i = 0; i < p.n; i++) {
        cJSON *r = tconn_read(&c, T_TIMEOUT_S);
        ck_assert_ptr_nonnull(r);
        ck_assert_msg((int)jnum(r, "id") == i, "reply %d has id %g", i, jnum(r, "id"));
        cJSON_Delete(r);
    }
    void *res;
    pthread_join(th, &res);
    ck_assert_ptr_null(res);
    tconn_close(&c);
}
END_TEST

START_TEST(many_watchers)
{
    enum { N = 100, EVENTS = 20 };
    static struct tconn w[N];
    for (int i = 0; i < N; i++) {
        tconn_open(&w[i], td.path, true);
        cJSON *r = tconn_call(&w[i], "{\"class\":\"watch\",\"id\":0,\"topics\":[\"run\"]}\n");
        ck_assert_str_eq(jstr(r, "class"), "watch");
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "enable")));
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "topics")), 1);
        cJSON_Delete(r);
    }
    struct tconn ctl, idle;
    tconn_open(&ctl, td.path, true);
    tconn_open(&idle, td.path, true);
    cJSON *r =
        tconn_call(&ctl, "{\"class\":\"publish\",\"id\":1,\"topic\":\"run\",\"count\":20}\n");
    ck_assert_int_eq((int)jnum(r, "published"), EVENTS);
    cJSON_Delete(r);
    r = tconn_call(&ctl, "{\"class\":\"publish\",\"id\":2,\"topic\":\"samples\",\"count\":5}\n");
    cJSON_Delete(r);
    for (int i = 0; i < N; i++) {
        for (int e = 0; e < EVENTS; e++) {
            cJSON *ev = tconn_read(&w[i], T_TIMEOUT_S);
            ck_assert_str_eq(jstr(ev, "class"), "run");
            ck_assert_int_eq((int)jnum(ev, "seq"), e);
            cJSON_Delete(ev);
        }
        /* Nothing else arrives: the next line is the echo reply. */
        assert_usable(&w[i]);
        tconn_close(&w[i]);
    }
    /* A client that did not watch got no events. */
    r = tconn_call(&idle, "{\"class\":\"echo\",\"id\":\"fence\"}\n");
    ck_assert_str_eq(jstr(r, "id"), "fence");
    cJSON_Delete(r);
    tconn_close(&idle);
    tconn_close(&ctl);
}
END_TEST

START_TEST(watch_default_and_disable)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    cJSON *r = tconn_call(&c, "{\"class\":\"watch\",\"id\":1}\n");
    cJSON *topics = cJSON_GetObjectItem(r, "topics");
    ck_assert_int_eq(cJSON_GetArraySize(topics), API_TOPIC_COUNT - 1);
    char *text = cJSON_PrintUnformatted(topics);
    ck_assert_ptr_null(strstr(text, "samples"));
    cJSON_free(text);
    cJSON_Delete(r);
    r = tconn_call(&c, "{\"class\":\"watch\",\"id\":2,\"enable\":false,\"topics\":[\"log\"]}\n");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "topics")), API_TOPIC_COUNT - 2);
    cJSON_Delete(r);
    r = tconn_call(&c, "{\"class\":\"watch\",\"id\":3,\"enable\":false}\n");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "enable")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "topics")), 0);
    cJSON_Delete(r);
    tconn_close(&c);
}
END_TEST

/* on_watch fires once per watch request that changes the subscriptions
 * (and not for one that changes nothing), before the next request. */
START_TEST(watch_hook_called_on_change)
{
    struct tconn c;
    tconn_open(&c, td.path, true);
    cJSON *s = stats_on(&c);
    double base = jnum(s, "watch_changes");
    cJSON_Delete(s);
    const char *const steps[] = {
        "{\"class\":\"watch\",\"id\":1,\"topics\":[\"samples\"]}\n", /* change */
        "{\"class\":\"watch\",\"id\":2,\"topics\":[\"samples\"]}\n", /* none */
        "{\"class\":\"watch\",\"id\":3,\"enable\":false}\n",         /* change */
    };
    const double expect[] = { 1, 1, 2 };
    for (size_t i = 0; i < 3; i++) {
        cJSON_Delete(tconn_call(&c, steps[i]));
        s = stats_on(&c);
        ck_assert_msg(jnum(s, "watch_changes") - base == expect[i], "step %zu: %g changes, want %g",
                      i, jnum(s, "watch_changes") - base, expect[i]);
        cJSON_Delete(s);
    }
    tconn_close(&c);
}
END_TEST

START_TEST(reader_that_never_reads)
{
    /* A client watching samples and run that never reads: samples are
	 * dropped (memory stays bounded), it is told how many once it reads,
	 * and other clients are served throughout. */
    struct tconn slow, ctl;
    tconn_open(&slow, td.path, true);
    cJSON *r = tconn_call(&slow, "{\"class\":\"watch\",\"id\":0,\"topics\":[\"samples\"]}\n");
    cJSON_Delete(r);
    tconn_open(&ctl, td.path, true);
    for (int i = 0; i < 10; i++) {
        r = tconn_call(
            &ctl,
            "{\"class\":\"publish\",\"id\":1,\"topic\":\"samples\",\"count\":1000,\"size\":1000}\n");
        cJSON_Delete(r);
    }
    cJSON *s = stats();
    ck_assert_double_gt(jnum(s, "samples_dropped"), 0);
    /* Queued bytes stay at the soft cap (256 KiB) though 10 MB was sent. */
    ck_assert_double_le(jnum(s, "max_queued_bytes"), 256 * 1024);
    ck_assert_int_eq((int)jnum(s, "overflow_disconnects"), 0);
    cJSON_Delete(s);
    assert_usable(&ctl);

    /* Now read: samples, then a "dropped" notice with the count. */
    double dropped = 0;
    for (int i = 0; i < 20000 && dropped == 0; i++) {
        cJSON *ev = tconn_read(&slow, T_TIMEOUT_S);
        ck_assert_ptr_nonnull(ev);
        if (strcmp(jstr(ev, "class"), "dropped") == 0) {
            ck_assert_str_eq(jstr(ev, "topic"), "samples");
            dropped = jnum(ev, "count");
        } else {
            ck_assert_str_eq(jstr(ev, "class"), "samples");
        }
        cJSON_Delete(ev);
    }
    ck_assert_double_gt(dropped, 0);
    tconn_close(&slow);
    tconn_close(&ctl);
}
END_TEST

START_TEST(essential_overflow_disconnects)
{
    /* Run events are never dropped, so a client that never reads them is
	 * disconnected at the hard cap (here 1 MiB) instead of growing rigd. */
    const char *const args[] = { "--hard-cap", "1048576", NULL };
    testd_start(&td, args);
    struct tconn slow, other, ctl;
    tconn_open(&slow, td.path, true);
    cJSON_Delete(tconn_call(&slow, "{\"class\":\"watch\",\"id\":0,\"topics\":[\"run\"]}\n"));
    tconn_open(&other, td.path, true);
    tconn_open(&ctl, td.path, true);
    cJSON *r = tconn_call(
        &ctl, "{\"class\":\"publish\",\"id\":1,\"topic\":\"run\",\"count\":400,\"size\":10000}\n");
    cJSON_Delete(r);
    cJSON *s = stats();
    ck_assert_int_eq((int)jnum(s, "overflow_disconnects"), 1);
    ck_assert_double_le(jnum(s, "queued_bytes"), 1048576);
    ck_assert_double_ge(jnum(s, "disconnects"), 1);
    cJSON_Delete(s);
    ck_assert(tconn_wait_eof(&slow, T_TIMEOUT_S));
    assert_usable(&other);
    tconn_close(&slow);
    tconn_close(&other);
    tconn_close(&ctl);
    stop();
}
END_TEST

START_TEST(pipelining_without_reading_is_throttled)
{
    /* A client that sends many requests and reads nothing is slowed down
	 * (rigd stops reading it) rather than disconnected or buffered without
	 * limit. */
    struct tconn c;
    tconn_open(&c, td.path, true);
    int fl = fcntl(c.fd, F_GETFL);
    ck_assert_int_eq(fcntl(c.fd, F_SETFL, fl | O_NONBLOCK), 0);
    /* Keep writing 4 MB of requests (replies would be ~9 MB, far over the
	 * 4 MiB hard cap) or until rigd stops taking them for 2 s. */
    static char block[64 * 25];
    for (int i = 0; i < 64; i++)
        memcpy(block + i * 25, "{\"class\":\"echo\",\"id\":1}\n", 25);
    size_t sent = 0, off = 0;
    while (sent < 4u * 1024 * 1024) {
        struct pollfd p = { .fd = c.fd, .events = POLLOUT };
        if (poll(&p, 1, 2000) == 0)
            break; /* throttled */
        ssize_t w = send(c.fd, block + off, sizeof block - off, MSG_NOSIGNAL);
        if (w < 0) {
            ck_assert_msg(errno == EAGAIN || errno == EINTR, "send: %s", strerror(errno));
            continue;
        }
        sent += (size_t)w;
        off = (off + (size_t)w) % sizeof block;
    }
    ck_assert_uint_gt(sent, 0);
    cJSON *s = stats();
    /* Soft cap plus at most one read chunk's worth of replies. */
    ck_assert_double_le(jnum(s, "max_queued_bytes"), 256 * 1024 + 64 * 1024);
    ck_assert_int_eq((int)jnum(s, "overflow_disconnects"), 0);
    cJSON_Delete(s);
    tconn_close(&c);
}
END_TEST

START_TEST(abrupt_disconnects)
{
    /* Mid-line close, reset (SO_LINGER 0) with unread replies, close
	 * right after connect: each calls on_disconnect exactly once. */
    struct tconn ctl;
    tconn_open(&ctl, td.path, true);
    cJSON *s0 = stats_on(&ctl);
    double before = jnum(s0, "disconnects");
    cJSON_Delete(s0);
    for (int i = 0; i < 50; i++) {
        struct tconn c;
        tconn_open(&c, td.path, i % 3 != 0);
        if (i % 3 == 1)
            tconn_sendstr(&c, "{\"class\":\"ec");
        if (i % 3 == 2) {
            tconn_sendstr(&c, "{\"class\":\"echo\"}\n{\"class\":\"echo\"}\n{\"class\":\"pub");
            struct linger lg = { 1, 0 };
            setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        tconn_close(&c);
    }
    /* Disconnect handling is asynchronous: poll the count (generously). */
    double after = 0;
    for (int tries = 0; tries < 400 && after < 50; tries++) {
        if (tries)
            usleep(50000);
        cJSON *s = stats_on(&ctl);
        after = jnum(s, "disconnects") - before;
        cJSON_Delete(s);
    }
    assert_usable(&ctl);
    tconn_close(&ctl);
    ck_assert_double_eq(after, 50);
}
END_TEST

START_TEST(half_close_gets_replies)
{
    /* `printf '{"class":"echo"}' | socat - UNIX-CONNECT:...` style: the last
	 * request has no newline and the client shuts down its write side. */
    struct tconn c;
    tconn_open(&c, td.path, true);
    tconn_sendstr(&c, "{\"class\":\"echo\",\"id\":1}\n{\"class\":\"echo\",\"id\":2}");
    ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
    for (int i = 1; i <= 2; i++) {
        cJSON *r = tconn_read(&c, T_TIMEOUT_S);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq((int)jnum(r, "id"), i);
        cJSON_Delete(r);
    }
    ck_assert_ptr_null(tconn_read(&c, T_TIMEOUT_S)); /* then EOF */
    tconn_close(&c);

    /* An asynchronous reply (like a pen request) still reaches a client
	 * that has shut down its sending side; then the server closes. */
    tconn_open(&c, td.path, true);
    tconn_sendstr(&c, "{\"class\":\"later\",\"id\":3,\"ms\":300}\n");
    ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
    cJSON *r = tconn_read(&c, T_TIMEOUT_S);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(jstr(r, "class"), "later");
    ck_assert_int_eq((int)jnum(r, "id"), 3);
    cJSON_Delete(r);
    ck_assert_ptr_null(tconn_read(&c, T_TIMEOUT_S));
    tconn_close(&c);
}
END_TEST

START_TEST(async_reply_after_disconnect_is_harmless)
{
    /* The client goes away before its answer: on_disconnect runs once,
	 * the handler drops the answer, the server keeps serving. */
    struct tconn c;
    tconn_open(&c, td.path, true);
    tconn_sendstr(&c, "{\"class\":\"later\",\"id\":1,\"ms\":200}\n");
    tconn_close(&c);
    usleep(400000);
    tconn_open(&c, td.path, true);
    assert_usable(&c);
    cJSON *s = stats_on(&c);
    ck_assert_int_eq((int)jnum(s, "double_disconnects"), 0);
    cJSON_Delete(s);
    tconn_close(&c);
}
END_TEST

START_TEST(too_many_clients)
{
    const char *const args[] = { "--max-clients", "3", NULL };
    testd_start(&td, args);
    struct tconn c[3], extra;
    for (int i = 0; i < 3; i++)
        tconn_open(&c[i], td.path, true);
    tconn_open(&extra, td.path, false);
    cJSON *r = tconn_read(&extra, T_TIMEOUT_S);
    ck_assert_str_eq(jstr(r, "code"), API_E_TOO_MANY_CLIENTS);
    cJSON_Delete(r);
    ck_assert_ptr_null(tconn_read(&extra, T_TIMEOUT_S));
    tconn_close(&extra);
    for (int i = 0; i < 3; i++) {
        assert_usable(&c[i]);
        tconn_close(&c[i]);
    }
    stop();
}
END_TEST

/* ---- socket file handling -------------------------------------------- */

START_TEST(socket_mode_and_busy_path)
{
    struct stat st;
    ck_assert_int_eq(lstat(td.path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0660);
    /* A second server on a live socket refuses and leaves it alone. */
    const char *bin = getenv("API_TESTD");
    char *argv[] = { (char *)bin, "--socket", td.path, NULL };
    char *out, *err;
    int rc = run_capture(argv, &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    free(out);
    free(err);
    struct tconn c;
    tconn_open(&c, td.path, true);
    tconn_close(&c);
}
END_TEST

START_TEST(stale_socket_replaced_other_files_kept)
{
    char dir[] = "/tmp/apitest-stale.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/api.sock", dir);
    /* A socket file nobody listens on (left by a crashed rigd). */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    const char *bin = getenv("API_TESTD");
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--socket", path, (char *)NULL);
        _exit(127);
    }
    struct tconn c;
    int tries = 0;
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || ++tries > 400) {
            close(fd);
            break;
        }
        close(fd);
        usleep(50000);
    }
    tconn_open(&c, path, true);
    tconn_close(&c);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The server removed its own socket on exit. */
    ck_assert_int_eq(access(path, F_OK), -1);

    /* A regular file at the path is never deleted. */
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *argv[] = { (char *)bin, "--socket", path, NULL };
    char *out, *err;
    ck_assert_int_eq(run_capture(argv, &out, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "exists"));
    free(out);
    free(err);
    ck_assert_int_eq(access(path, F_OK), 0);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_server");
    TCase *tc = tcase_create("robustness");
    tcase_add_checked_fixture(tc, start_default, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, greeting_and_echo);
    tcase_add_test(tc, error_codes_exact);
    tcase_add_test(tc, ids_echoed_verbatim);
    tcase_add_test(tc, watch_members);
    tcase_add_test(tc, garbage_flood);
    tcase_add_test(tc, oversize_lines);
    tcase_add_test(tc, thousands_pipelined);
    tcase_add_test(tc, many_watchers);
    tcase_add_test(tc, watch_default_and_disable);
    tcase_add_test(tc, watch_hook_called_on_change);
    tcase_add_test(tc, reader_that_never_reads);
    tcase_add_test(tc, pipelining_without_reading_is_throttled);
    tcase_add_test(tc, abrupt_disconnects);
    tcase_add_test(tc, half_close_gets_replies);
    tcase_add_test(tc, async_reply_after_disconnect_is_harmless);
    tcase_add_test(tc, socket_mode_and_busy_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, essential_overflow_disconnects);
    tcase_add_test(tc, too_many_clients);
    tcase_add_test(tc, stale_socket_replaced_other_files_kept);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Writes to a server that closed on us must fail, not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
