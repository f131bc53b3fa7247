/* The API contract (docs/API.md) as clients see it, against the real rigd
 * inside rigsim:
 *   rigsim -- rigd_api_itest SCENARIO RIGD CONFIG LONG_SEQUENCE
 * Requests are raw JSON lines written from the document's examples, and
 * replies are read as raw lines where a parsed object would hide what is
 * checked (an id's exact text, a member sent as null).
 *
 *   api-ids         ids echoed as sent, in replies, errors, interim and
 *                   asynchronous replies; ids that cannot be echoed
 *   api-types       a member of the wrong type, or a missing one, is
 *                   bad_request in every class; null counts as absent
 *   api-precedence  which error wins; a refused request changes nothing
 *   api-members     documented members always sent (null when empty);
 *                   depth checked against the pen's steps; events and
 *                   replies in the documented order
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itestlib.h"
#include "rigd_harness.h"

/* The raw line has every one of the NULL-terminated fragments. */
static void expect_has(const char *line, const char *const *frags)
{
    for (; *frags; frags++)
        IT_CHECK(strstr(line, *frags), "'%s' not in %.600s", *frags, line);
}

static void expect_code(const char *line, const char *code)
{
    char want[64];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    IT_CHECK(strstr(line, want), "want %s: %.400s", code, line);
}

/* ---- api-ids ------------------------------------------------------------ */

static void t_ids(void)
{
    struct jl a, b;
    connect_client(&a);
    connect_client(&b);
    wait_devices_ready(&a);

    /* Integers beyond a double's 53 bits, exponents, trailing zeros, -0. */
    static const char *const numbers[] = { "12345678901234567890", "1e3", "1.50", "-0", "2E+2" };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"class\":\"status\",\"id\":%s}", numbers[i]);
        char *r = call_raw(&a, line, numbers[i], T_REPLY);
        IT_CHECK(strstr(r, "\"class\":\"status\""), "status reply: %.200s", r);
        free(r);
    }
    /* Strings with a NUL, escapes written one way or another. */
    static const char *const strings[] = { "\"a\\u0000b\"", "\"\\u00e9\\/x\"", "\"caf\xc3\xa9\"" };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"class\":\"devices\",\"id\":%s}", strings[i]);
        free(call_raw(&a, line, strings[i], T_REPLY));
    }
    /* Errors: from the module, from rigd, and a run's problem list. */
    char *r = call_raw(&a, "{\"id\":1e3}", "1e3", T_REPLY);
    expect_code(r, "bad_request");
    free(r);
    r = call_raw(&a, "{\"class\":\"nope\",\"id\":\"n\\u0000\"}", "\"n\\u0000\"", T_REPLY);
    expect_code(r, "unknown_class");
    free(r);
    r = call_raw(&a,
                 "{\"class\":\"run\",\"id\":1.0,\"sequence\":\"/x.json\",\"sequence_text\":\"{}\","
                 "\"spec_text\":\"{}\",\"dut\":\"PA-0000001\"}",
                 "1.0", T_REPLY);
    expect_code(r, "bad_argument");
    IT_CHECK(strstr(r, "\"problems\""), "a run's problems: %.300s", r);
    free(r);
    /* An asynchronous reply (the pen answers later). */
    r = call_raw(&a, "{\"class\":\"pen\",\"action\":\"identify\",\"id\":9007199254740993}",
                 "9007199254740993", T_REPLY);
    IT_CHECK(strstr(r, "\"identity\""), "identify reply: %.200s", r);
    free(r);

    /* An interim "queued" and the final grant, both with the id as sent. */
    expect_ok(&a, "\"class\":\"session\",\"action\":\"claim\"", "session");
    IT_CHECK(jl_send(&b, "{\"class\":\"session\",\"action\":\"claim\",\"wait\":true,"
                         "\"id\":\"w\\u0000x\"}") == 0,
             "send");
    r = recv_line(&b, T_REPLY);
    IT_CHECK(r, "no interim reply");
    expect_has(r, (const char *const[]){ "\"id\":\"w\\u0000x\"", "\"state\":\"queued\"",
                                         "\"position\":1", "\"owner\":{", NULL });
    free(r);
    jl_close(&a); /* releases the session: the waiter gets it */
    r = recv_line(&b, 10000);
    IT_CHECK(r, "no grant");
    expect_has(r, (const char *const[]){ "\"id\":\"w\\u0000x\"", "\"state\":\"owner\"", NULL });
    free(r);

    /* Ids that cannot be echoed as valid JSON are refused, not echoed. */
    static const char *const bad[] = { "01",   "1.",   "-01", "\"tab\there\"",
                                       "true", "null", "[1]", "{\"a\":1}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"class\":\"status\",\"id\":%s}", bad[i]);
        IT_CHECK(jl_send(&b, line) == 0, "send");
        r = recv_line(&b, T_REPLY);
        IT_CHECK(r, "no reply to %s", line);
        expect_code(r, "bad_request");
        IT_CHECK(!strstr(r, "\"id\""), "a refused id was echoed: %s", r);
        free(r);
    }
    /* 128 bytes between the quotes is the most. */
    char line[400], id[140];
    memset(id, 'x', 128);
    id[128] = '\0';
    snprintf(line, sizeof line, "{\"class\":\"status\",\"id\":\"%s\"}", id);
    char quoted[150];
    snprintf(quoted, sizeof quoted, "\"%s\"", id);
    free(call_raw(&b, line, quoted, T_REPLY));
    snprintf(line, sizeof line, "{\"class\":\"status\",\"id\":\"%sy\"}", id);
    IT_CHECK(jl_send(&b, line) == 0, "send");
    r = recv_line(&b, T_REPLY);
    IT_CHECK(r, "no reply");
    expect_code(r, "bad_request");
    free(r);
    jl_close(&b);
    harness_finish(0);
}

/* ---- api-types ---------------------------------------------------------- */

static void t_types(void)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    char body[8192];
    static const char *const wrong[] = {
        /* pen */
        "\"class\":\"pen\"",
        "\"class\":\"pen\",\"action\":5",
        "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":\"120\"",
        "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":true",
        "\"class\":\"pen\",\"action\":\"set\"",
        "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":null,\"depth_mm\":null",
        /* session */
        "\"class\":\"session\",\"action\":5",
        "\"class\":\"session\",\"action\":\"claim\",\"wait\":\"yes\"",
        "\"class\":\"session\",\"action\":\"claim\",\"host\":7",
        "\"class\":\"session\",\"action\":\"claim\",\"purpose\":[\"ci\"]",
        /* sensor */
        "\"class\":\"sensor\",\"action\":[]",
        /* watch */
        "\"class\":\"watch\",\"topics\":\"run\"",
        "\"class\":\"watch\",\"topics\":[\"run\",7]",
        "\"class\":\"watch\",\"enable\":1",
        /* run */
        "\"class\":\"run\",\"dut\":\"PA-0000001\"",
        "\"class\":\"run\",\"sequence\":5,\"dut\":\"PA-0000001\"",
        "\"class\":\"run\",\"sequence\":\"/x.json\"",
        "\"class\":\"run\",\"sequence\":\"/x.json\",\"dut\":42",
        "\"class\":\"run\",\"sequence\":\"/x.json\",\"dut\":\"PA-0000001\",\"operator\":5",
        "\"class\":\"run\",\"sequence\":\"/x.json\",\"dut\":\"PA-0000001\",\"record\":1",
        "\"class\":\"run\",\"sequence\":\"/x.json\",\"dut\":\"PA-0000001\",\"wait\":\"no\"",
        ("\"class\":\"run\",\"sequence\":\"/x.json\",\"sequence_text\":7,\"spec_text\":\"{}\","
         "\"dut\":\"PA-0000001\""),
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        expect_refused(&c, wrong[i], "bad_request", NULL);
    /* A value of the right type that is wrong: bad_argument. */
    static const char *const values[] = {
        "\"class\":\"pen\",\"action\":\"spin\"",
        "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":500",
        "\"class\":\"session\",\"action\":\"grab\"",
        "\"class\":\"session\",\"action\":\"claim\",\"purpose\":\"ci\\njob\"",
        "\"class\":\"session\",\"action\":\"claim\",\"host\":\"\"",
        "\"class\":\"sensor\",\"action\":\"zero\"",
        "\"class\":\"watch\",\"topics\":[\"weather\"]",
        "\"class\":\"run\",\"sequence\":\"\",\"dut\":\"PA-0000001\"",
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        expect_refused(&c, values[i], "bad_argument", NULL);
    /* null is absent: an optional member may be null. */
    cJSON *r = call(&c, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":null,\"depth_mm\":1.0");
    IT_CHECK(js_num(r, "depth_mm", -1) == 1.0, "set with rate_hz null: %s",
             js_str(r, "message") ? js_str(r, "message") : "?");
    cJSON_Delete(r);
    expect_ok(&c, "\"class\":\"session\",\"action\":null", "session");
    expect_ok(&c, "\"class\":\"sensor\",\"action\":null", "sensor");
    expect_ok(&c, "\"class\":\"watch\",\"enable\":null,\"topics\":null", "watch");
    char *run = run_body(harness()->long_seq, "null-members.json");
    char *serial = strstr(run, "PA-0000001");
    IT_CHECK(serial, "run body has the serial");
    memcpy(serial, "PA-0000009", 10);
    snprintf(body, sizeof body, "%s,\"operator\":null,\"wait\":null", run);
    free(run);
    /* reached the unit check: the null members passed */
    expect_refused(&c, body, "wrong_unit", NULL);
    expect_ok(&c, "\"class\":\"session\",\"action\":\"release\"", "session");
    jl_close(&c);
    harness_finish(0);
}

/* ---- api-precedence ----------------------------------------------------- */

static void wait_pen(struct jl *c, bool present)
{
    long long until = it_now_ms() + 10000;
    for (;;) {
        cJSON *r = call(c, "\"class\":\"status\"");
        bool got = js_bool(r, "devices.pen");
        cJSON_Delete(r);
        if (got == present)
            return;
        IT_CHECK(it_now_ms() < until, "pen %s within 10 s", present ? "back" : "not gone");
        it_sleep_ms(50);
    }
}

static void t_precedence(void)
{
    struct jl a, b;
    connect_client(&a);
    connect_client(&b);
    wait_devices_ready(&a);
    /* Form before values: every member's type is checked before any value. */
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":\"x\",\"depth_mm\":9",
                   "bad_request", "rate_hz");
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":500,\"depth_mm\":\"9\"",
                   "bad_request", "depth_mm");
    expect_refused(&a, "\"class\":\"run\",\"sequence\":5,\"dut\":\"x\\ny\"", "bad_request",
                   "sequence");
    expect_refused(&a, "\"class\":\"watch\",\"topics\":[\"weather\",1]", "bad_request", "topics");
    /* Values before the bench: another client's session does not hide a
     * bad value (and nothing is claimed or queued for it). */
    expect_ok(&b, "\"class\":\"session\",\"action\":\"claim\",\"purpose\":\"holder\"", "session");
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":1.1", "bad_argument",
                   "steps of 0.25 mm");
    expect_refused(&a,
                   "\"class\":\"session\",\"action\":\"claim\",\"wait\":true,\"purpose\":\"a\\nb\"",
                   "bad_argument", "purpose");
    cJSON *r = call(&a, "\"class\":\"status\"");
    IT_CHECK(js_num(r, "session.waiting", -1) == 0, "a refused claim was queued");
    cJSON_Delete(r);
    char body[8192];
    char *run = run_body(harness()->long_seq, "prec.json");
    snprintf(body, sizeof body, "%s,\"operator\":\"a\\u0007b\"", run);
    expect_refused(&a, body, "bad_argument", "operator");
    expect_refused(&a, run, "busy", "owned by");
    free(run);
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":1.0", "busy", NULL);
    expect_ok(&b, "\"class\":\"session\",\"action\":\"release\"", "session");
    /* The pen before the session: a pen set without a pen is no_device
     * and leaves the bench free (no implicit session for a refusal). */
    cJSON *o = sim_ctl("{\"fault\":\"pen-unplug\",\"replug_after\":3}");
    IT_CHECK(o && js_bool(o, "ok"), "unplug");
    cJSON_Delete(o);
    wait_pen(&a, false);
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":100", "no_device", NULL);
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"start\"", "no_device", NULL);
    r = call(&b, "\"class\":\"status\"");
    IT_CHECK(js_str(r, "session.state") && strcmp(js_str(r, "session.state"), "free") == 0,
             "a refused pen request claimed the bench: session %s", js_str(r, "session.state"));
    cJSON_Delete(r);
    /* Without the pen, depth is checked against the protocol's range. */
    expect_refused(&a, "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":3.5", "bad_argument",
                   NULL);
    wait_pen(&a, true);
    jl_close(&a);
    jl_close(&b);
    harness_finish(0);
}

/* ---- api-members -------------------------------------------------------- */

/* Lines from c until one has all of frags; returns it. */
static char *wait_line(struct jl *c, const char *const *frags, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        long long left = until - it_now_ms();
        char *line = left > 0 ? recv_line(c, (int)left) : NULL;
        IT_CHECK(line, "no line with '%s'", frags[0]);
        bool all = true;
        for (const char *const *f = frags; *f && all; f++)
            all = strstr(line, *f) != NULL;
        if (all)
            return line;
        free(line);
    }
}

static void t_members(void)
{
    struct jl c, w;
    connect_client(&c);
    connect_client(&w);
    wait_devices_ready(&c);
    /* status before any stop: every member there, null when empty */
    char *r = call_raw(&c, "{\"class\":\"status\",\"id\":1}", "1", T_REPLY);
    expect_has(
        r, (const char *const[]){ "\"station\":", "\"state\":\"running\"",
                                  "\"session\":{\"state\":\"free\",\"owner\":null,\"waiting\":0}",
                                  "\"pen_motor\":", "\"pen_faults\":", "\"last_stop\":null",
                                  "\"run\":null", "\"runs_waiting\":0", "\"api\":{", NULL });
    free(r);
    r = call_raw(&c, "{\"class\":\"session\",\"id\":2}", "2", T_REPLY);
    expect_has(r, (const char *const[]){ "\"state\":\"free\"", "\"owner\":null", NULL });
    free(r);
    /* pen replies, as API.md lists them */
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":3,\"action\":\"identify\"}", "3", T_REPLY);
    expect_has(r, (const char *const[]){
                      "\"action\":\"identify\"", "\"model\":", "\"serial\":\"PA-0000001\"",
                      "\"hw_revision\":", "\"firmware\":", "\"cartridge_id\":", "\"needle_count\":",
                      "\"protocol_version\":", "\"depth_step_mm\":0.25", "\"depth_min_mm\":0",
                      "\"depth_max_mm\":2.5", "\"session\":null", NULL });
    free(r);
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":4,\"action\":\"status\"}", "4", T_REPLY);
    expect_has(
        r, (const char *const[]){
               "\"state\":\"idle\"", "\"set_rate_hz\":", "\"measured_rate_hz\":",
               "\"set_depth_mm\":", "\"motor_current_ma\":", "\"supply_mv\":", "\"temperature_c\":",
               "\"faults\":", "\"uptime_ms\":", "\"watchdog_ms\":", "\"session\":null", NULL });
    free(r);
    /* depth: on the pen's steps, inside its range (2.75 is inside the
     * protocol's 3 mm but beyond this pen's 2.5) */
    expect_refused(&c, "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":1.1", "bad_argument",
                   "0..2.5 mm in steps of 0.25 mm");
    expect_refused(&c, "\"class\":\"pen\",\"action\":\"set\",\"depth_mm\":2.75", "bad_argument",
                   "steps of 0.25 mm");
    expect_refused(&c, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":100,\"depth_mm\":1.3",
                   "bad_argument", "depth_mm");
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":5,\"action\":\"set\",\"rate_hz\":120}", "5",
                 T_REPLY);
    expect_has(
        r, (const char *const[]){ "\"rate_hz\":120", "\"depth_mm\":null", "\"session\":", NULL });
    IT_CHECK(!strstr(r, "\"session\":null"), "set by the owner names its session: %s", r);
    free(r);
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":6,\"action\":\"set\",\"depth_mm\":0.3}", "6",
                 T_REPLY);
    expect_code(r, "bad_argument");
    free(r);
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":7,\"action\":\"set\",\"depth_mm\":1.25}", "7",
                 T_REPLY);
    expect_has(r, (const char *const[]){ "\"rate_hz\":null", "\"depth_mm\":1.25", NULL });
    free(r);
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":8,\"action\":\"start\"}", "8", T_REPLY);
    expect_has(r, (const char *const[]){ "\"motor\":\"starting\"", "\"session\":", NULL });
    free(r);
    IT_CHECK(sim_wait_motor(true, 5000), "motor did not start");
    r = call_raw(&c, "{\"class\":\"pen\",\"id\":9,\"action\":\"stop\"}", "9", T_REPLY);
    expect_has(r, (const char *const[]){ "\"confirmed\":true", "\"detail\":", NULL });
    free(r);
    r = call_raw(&c, "{\"class\":\"status\",\"id\":10}", "10", T_REPLY);
    expect_has(r, (const char *const[]){
                      "\"last_stop\":{\"confirmed\":true,\"reason\":", "\"detail\":", "\"owner\":{",
                      "\"purpose\":null", "\"implicit\":true", NULL });
    free(r);
    IT_CHECK(sim_wait_motor(false, 5000), "motor did not stop");

    /* The claimant of an explicit claim who watches "devices" gets the
     * session_claimed event before the claim's reply (API.md, "Events
     * and replies"). */
    expect_ok(&c, "\"class\":\"session\",\"action\":\"release\"", "session");
    expect_ok(&w, "\"class\":\"watch\",\"topics\":[\"devices\"]", "watch");
    long long until = it_now_ms() + 10000;
    for (int id = 11;; id++) { /* busy until the release's stop has ended */
        char req[96], want[32];
        snprintf(req, sizeof req, "{\"class\":\"session\",\"id\":%d,\"action\":\"claim\"}", id);
        snprintf(want, sizeof want, "\"id\":%d,", id);
        IT_CHECK(jl_send(&w, req) == 0, "send");
        r = wait_line(&w, (const char *const[]){ "\"", NULL }, T_REPLY);
        while (!strstr(r, "session_claimed") && !strstr(r, want)) {
            free(r);
            r = wait_line(&w, (const char *const[]){ "\"", NULL }, T_REPLY);
        }
        if (strstr(r, "session_claimed")) {
            free(r);
            r = wait_line(&w, (const char *const[]){ want, NULL }, T_REPLY);
            expect_has(r, (const char *const[]){ "\"state\":\"owner\"", NULL });
            free(r);
            break;
        }
        IT_CHECK(!strstr(r, "\"state\":\"owner\""), "claim reply before session_claimed: %s", r);
        IT_CHECK(strstr(r, "\"busy\"") && it_now_ms() < until, "claim refused: %s", r);
        free(r);
        it_sleep_ms(50);
    }
    expect_ok(&w, "\"class\":\"session\",\"action\":\"release\"", "session");

    /* A run: the reply comes before the run's first event; measurement
     * and progress events carry every member (null when empty). */
    expect_ok(&c, "\"class\":\"watch\",\"topics\":[\"run\",\"measurements\"]", "watch");
    char *body = run_body(harness()->long_seq, "members.json");
    char line[1 << 16];
    snprintf(line, sizeof line, "{\"id\":\"run-1\",%s}", body);
    free(body);
    until = it_now_ms() + 10000;
    for (;;) { /* the bench is free once w's release has stopped the motor */
        IT_CHECK(jl_send(&c, line) == 0, "send run");
        r = wait_line(&c, (const char *const[]){ "\"id\":\"run-1\"", NULL }, T_REPLY);
        if (strstr(r, "\"state\":\"started\""))
            break;
        IT_CHECK(strstr(r, "\"busy\"") && it_now_ms() < until, "run refused: %s", r);
        free(r);
        it_sleep_ms(100);
    }
    free(r);
    r = recv_line(&c, T_REPLY);
    IT_CHECK(r && strstr(r, "\"event\":\"started\""), "first event after the reply: %s",
             r ? r : "none");
    free(r);
    r = wait_line(&c, (const char *const[]){ "\"event\":\"progress\"", NULL }, 10000);
    expect_has(r, (const char *const[]){ "\"run_id\":", "\"progress\":", "\"step\":", "\"index\":",
                                         "\"total\":", "\"kind\":", "\"path\":", NULL });
    free(r);
    r = wait_line(&c, (const char *const[]){ "\"class\":\"measurement\"", NULL }, 20000);
    expect_has(r, (const char *const[]){ "\"run_id\":", "\"step\":", "\"name\":", "\"quantity\":",
                                         "\"value\":", "\"units\":", "\"limits\":", "\"outcome\":",
                                         "\"marginal\":", "\"note\":", NULL });
    free(r);
    /* abort's "operator" (minor 4): a control character is refused and
     * aborts nothing; a name is the reason's, beside the peer's account. */
    r = call_raw(&w, "{\"class\":\"abort\",\"id\":\"ab\",\"operator\":\"a\\u0007b\"}", "\"ab\"",
                 T_REPLY);
    expect_code(r, "bad_argument");
    free(r);
    r = call_raw(&w, "{\"class\":\"abort\",\"id\":\"ab2\",\"operator\":7}", "\"ab2\"", T_REPLY);
    expect_code(r, "bad_request");
    free(r);
    expect_ok(&w, "\"class\":\"abort\",\"operator\":\"Ana Tester\"", "abort");
    r = wait_line(&c, (const char *const[]){ "\"event\":\"finished\"", NULL }, 20000);
    expect_has(r, (const char *const[]){
                      "\"outcome\":\"ABORTED\"",
                      "\"reason\":", "\"record\":", "\"record_id\":", "\"record_error\":null",
                      "\"summary\":", "abort requested by Ana Tester (via ", NULL });
    free(r);
    jl_close(&c);
    jl_close(&w);
    harness_finish(0);
}

int main(int argc, char **argv)
{
    IT_CHECK(argc == 5, "usage: rigd_api_itest SCENARIO RIGD CONFIG LONG_SEQUENCE");
    signal(SIGPIPE, SIG_IGN);
    static const struct {
        const char *name;
        void (*run)(void);
    } scenarios[] = {
        { "api-ids", t_ids },
        { "api-types", t_types },
        { "api-precedence", t_precedence },
        { "api-members", t_members },
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        if (strcmp(argv[1], scenarios[i].name) != 0)
            continue;
        harness_start(argv[2], argv[3], argv[4]);
        scenarios[i].run();
        fprintf(stderr, "PASS %s\n", argv[1]);
        return 0;
    }
    IT_CHECK(0, "unknown scenario %s", argv[1]);
    return 1;
}
