/* rigd integration tests, run inside rigsim:
 *   rigsim -- rigd_itest SCENARIO RIGD CONFIG [LONG_SEQUENCE]
 * Each scenario starts rigd (rigd_harness.c), talks to it over its API
 * socket and checks the simulated pen through rigsim's control socket
 * (not rigd's word). The API contract's own scenarios: rigd_api_itest.c. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itestlib.h"
#include "core/recompute.h"
#include "rigd_harness.h"

static void start_motor(struct jl *c)
{
    expect_ok(c, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":100,\"depth_mm\":1.0", "pen");
    expect_ok(c, "\"class\":\"pen\",\"action\":\"start\"", "pen");
    IT_CHECK(sim_wait_motor(true, 5000), "simulated motor did not start");
    /* Running for longer than the watchdog: heartbeats must be flowing. */
    it_sleep_ms(800);
    IT_CHECK(sim_pen_motor_running(), "motor stopped by itself: heartbeats missing?");
}

/* Stopped by a STOP command, not by the pen's watchdog. */
static void expect_commanded_stop(int within_ms)
{
    IT_CHECK(sim_wait_motor(false, within_ms), "simulated motor still running");
    cJSON *o = sim_ctl("{\"query\":\"pen\"}");
    IT_CHECK(o, "rigsim query");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "fault_names");
    const cJSON *n;
    cJSON_ArrayForEach (n, names)
        IT_CHECK(!cJSON_IsString(n) || strcmp(n->valuestring, "watchdog") != 0,
                 "motor was stopped by the pen watchdog, not by rigd");
    cJSON_Delete(o);
}

/* ---- scenarios ---- */

static void t_discovery(void)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    cJSON *r = call(&c, "\"class\":\"devices\"");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "devices");
    IT_CHECK(cJSON_GetArraySize(arr) == 2, "two devices");
    const cJSON *pen = cJSON_GetArrayItem(arr, 0), *sh = cJSON_GetArrayItem(arr, 1);
    IT_CHECK(strcmp(js_str(pen, "kind"), "pen") == 0 && js_bool(pen, "present"), "pen present");
    IT_CHECK(js_str(pen, "identity.serial") &&
                 strcmp(js_str(pen, "identity.serial"), "PA-0000001") == 0,
             "pen serial");
    IT_CHECK(strcmp(js_str(sh, "kind"), "sensor") == 0 && js_bool(sh, "present"), "sensor present");
    IT_CHECK(js_str(sh, "identity.serial") &&
                 strcmp(js_str(sh, "identity.serial"), "SH2-000101") == 0,
             "sensor serial");
    IT_CHECK(js_num(sh, "calibration.due_date", 0) > 20000000, "calibration due date reported");
    cJSON_Delete(r);
    jl_close(&c);
    harness_finish(0);
}

static void t_pen_roundtrip(void)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    cJSON *r = call(&c, "\"class\":\"pen\",\"action\":\"identify\"");
    IT_CHECK(js_str(r, "identity.model"), "identify reply has a model");
    cJSON_Delete(r);
    r = call(&c, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":110,\"depth_mm\":1.5");
    IT_CHECK(js_num(r, "rate_hz", 0) == 110 && js_num(r, "depth_mm", 0) == 1.5,
             "applied setpoints");
    cJSON_Delete(r);
    r = call(&c, "\"class\":\"pen\",\"action\":\"status\"");
    IT_CHECK(js_num(r, "status.set_rate_hz", 0) == 110, "status shows the new rate");
    IT_CHECK(strcmp(js_str(r, "status.state"), "idle") == 0, "idle");
    cJSON_Delete(r);
    r = call(&c, "\"class\":\"pen\",\"action\":\"set\",\"rate_hz\":500");
    IT_CHECK(strcmp(js_str(r, "class"), "error") == 0 &&
                 strcmp(js_str(r, "code"), "bad_argument") == 0,
             "out-of-range rate refused");
    cJSON_Delete(r);
    start_motor(&c);
    r = call(&c, "\"class\":\"pen\",\"action\":\"stop\"");
    IT_CHECK(js_bool(r, "confirmed"), "stop confirmed");
    cJSON_Delete(r);
    expect_commanded_stop(3000);
    jl_close(&c);
    harness_finish(0);
}

/* Polls status until devices.streaming is `want` (generous bound). */
static bool wait_streaming(struct jl *c, bool want)
{
    long long until = it_now_ms() + 15000;
    for (;;) {
        cJSON *r = call(c, "\"class\":\"status\"");
        bool on = js_bool(r, "devices.streaming");
        cJSON_Delete(r);
        if (on == want)
            return true;
        if (it_now_ms() >= until)
            return false;
        it_sleep_ms(100);
    }
}

static void t_watch_samples(void)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    expect_ok(&c, "\"class\":\"watch\",\"topics\":[\"samples\"]", "watch");
    int events = 0, samples = 0;
    long long until = it_now_ms() + 15000;
    while (samples < 2000 && it_now_ms() < until) {
        cJSON *o = jl_wait_for(&c, "class", "samples", 5000);
        IT_CHECK(o, "no samples event");
        IT_CHECK(js_num(o, "rate_hz", 0) == 1000, "decimated to 1 kS/s");
        samples += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "force_n"));
        IT_CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "force_n")) ==
                     cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "disp_mm")),
                 "force and displacement arrays match");
        events++;
        cJSON_Delete(o);
    }
    IT_CHECK(samples >= 2000, "only %d live samples", samples);
    /* Nobody watches any more (unwatch, then a watcher that just leaves):
     * rigd must stop streaming. There is no periodic demand check, so
     * this needs the API's on_watch hook and the disconnect path. */
    expect_ok(&c, "\"class\":\"watch\",\"enable\":false,\"topics\":[\"samples\"]", "watch");
    struct jl c2;
    connect_client(&c2);
    IT_CHECK(wait_streaming(&c2, false), "still streaming after the last watcher unwatched");
    expect_ok(&c, "\"class\":\"watch\",\"topics\":[\"samples\"]", "watch");
    cJSON *o = jl_wait_for(&c, "class", "samples", 10000);
    IT_CHECK(o, "no samples after watching again");
    cJSON_Delete(o);
    jl_close(&c);
    IT_CHECK(wait_streaming(&c2, false), "still streaming after the last watcher left");
    jl_close(&c2);
    harness_finish(0);
}

static void unplug(const char *dev)
{
    char line[128];
    snprintf(line, sizeof line, "{\"fault\":\"%s-unplug\",\"replug_after\":1.5}", dev);
    cJSON *o = sim_ctl(line);
    IT_CHECK(o && js_bool(o, "ok"), "rigsim %s", line);
    cJSON_Delete(o);
}

static cJSON *wait_device_event(struct jl *c, const char *device, const char *event)
{
    long long until = it_now_ms() + 15000;
    while (it_now_ms() < until) {
        cJSON *o = jl_wait_for(c, "class", "devices", 15000);
        if (!o)
            break;
        if (js_str(o, "device") && strcmp(js_str(o, "device"), device) == 0 && js_str(o, "event") &&
            strcmp(js_str(o, "event"), event) == 0)
            return o;
        cJSON_Delete(o);
    }
    IT_CHECK(0, "no %s %s event", device, event);
    return NULL;
}

static void t_unplug(const char *dev)
{
    struct jl c, w;
    connect_client(&c);
    connect_client(&w);
    wait_devices_ready(&c);
    expect_ok(&w, "\"class\":\"watch\",\"topics\":[\"devices\"]", "watch");
    expect_ok(&c, "\"class\":\"session\",\"action\":\"claim\"", "session");
    unplug(dev);
    cJSON_Delete(wait_device_event(&w, dev, "detached"));
    /* rigd stays up and says so. */
    cJSON *r = call(&c, "\"class\":\"status\"");
    IT_CHECK(!js_bool(r, strcmp(dev, "pen") == 0 ? "devices.pen" : "devices.sensor"),
             "status shows the %s missing", dev);
    cJSON_Delete(r);
    if (strcmp(dev, "pen") == 0) {
        r = call(&c, "\"class\":\"pen\",\"action\":\"status\"");
        IT_CHECK(strcmp(js_str(r, "code"), "no_device") == 0,
                 "pen request while unplugged: no_device");
        cJSON_Delete(r);
    }
    cJSON_Delete(wait_device_event(&w, dev, "attached"));
    wait_devices_ready(&c);
    if (strcmp(dev, "pen") == 0) {
        r = call(&c, "\"class\":\"pen\",\"action\":\"status\"");
        IT_CHECK(js_str(r, "status.state"), "pen answers after re-attach");
        cJSON_Delete(r);
    } else {
        /* Streaming resumes for the session. */
        long long until = it_now_ms() + 10000;
        bool streaming = false;
        while (!streaming && it_now_ms() < until) {
            r = call(&c, "\"class\":\"status\"");
            streaming = js_bool(r, "devices.streaming");
            cJSON_Delete(r);
            if (!streaming)
                it_sleep_ms(100);
        }
        IT_CHECK(streaming, "stream restarted after re-plug");
    }
    jl_close(&c);
    jl_close(&w);
    harness_finish(0);
}

static void t_signal(int sig, bool twice)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    start_motor(&c);
    IT_CHECK(kill(harness()->rigd_pid, sig) == 0, "kill");
    if (twice) {
        it_sleep_ms(5);
        kill(harness()->rigd_pid, SIGINT);
    }
    int st = rigd_wait(harness()->rigd_pid, 10000);
    if (twice)
        IT_CHECK(st == 0 || st == 2, "rigd exit status %d after a second SIGINT", st);
    else
        IT_CHECK(st == 0, "rigd exit %d: stop not confirmed", st);
    /* Second SIGINT: STOP sent without waiting; the watchdog is the backstop. */
    if (twice)
        IT_CHECK(sim_wait_motor(false, 3000), "motor still running after double SIGINT");
    else
        expect_commanded_stop(3000);
    jl_close(&c);
}

static void t_owner_disconnect(void)
{
    struct jl c, other;
    connect_client(&c);
    connect_client(&other);
    wait_devices_ready(&c);
    start_motor(&c);
    cJSON *r = call(&other, "\"class\":\"pen\",\"action\":\"start\"");
    IT_CHECK(strcmp(js_str(r, "code"), "busy") == 0 && strstr(js_str(r, "message"), "owned by"),
             "second client gets busy naming the owner");
    cJSON_Delete(r);
    jl_close(&c);
    expect_commanded_stop(3000);
    r = call(&other, "\"class\":\"status\"");
    IT_CHECK(strcmp(js_str(r, "session.state"), "free") == 0, "session released");
    cJSON_Delete(r);
    jl_close(&other);
    harness_finish(0);
}

static void t_abort(void)
{
    struct jl c, op;
    connect_client(&c);
    connect_client(&op);
    wait_devices_ready(&c);
    start_motor(&c);
    cJSON *r = call(&op, "\"class\":\"abort\"");
    IT_CHECK(js_bool(r, "confirmed"), "abort reports a confirmed stop");
    cJSON_Delete(r);
    expect_commanded_stop(3000);
    jl_close(&c);
    jl_close(&op);
    harness_finish(0);
}

static void t_busy_wait(void)
{
    struct jl a, b;
    connect_client(&a);
    connect_client(&b);
    wait_devices_ready(&a);
    expect_ok(&a, "\"class\":\"session\",\"action\":\"claim\",\"purpose\":\"ci job 1\"", "session");
    cJSON *r = call(&b, "\"class\":\"session\",\"action\":\"claim\"");
    IT_CHECK(strcmp(js_str(r, "code"), "busy") == 0, "busy");
    IT_CHECK(strstr(js_str(r, "message"), "owned by"), "busy names the owner: %s",
             js_str(r, "message"));
    cJSON_Delete(r);
    IT_CHECK(jl_send(&b, "{\"id\":7,\"class\":\"session\",\"action\":\"claim\",\"wait\":true}") ==
                 0,
             "send");
    r = jl_recv(&b, T_REPLY);
    IT_CHECK(r && strcmp(js_str(r, "state"), "queued") == 0, "queued notice");
    cJSON_Delete(r);
    r = call(&b, "\"class\":\"status\"");
    IT_CHECK(strcmp(js_str(r, "session.owner.purpose"), "ci job 1") == 0,
             "owner visible with purpose");
    IT_CHECK(js_str(r, "session.owner.user") && js_str(r, "session.owner.started"),
             "owner user/start");
    cJSON_Delete(r);
    jl_close(&a);
    r = jl_call(&b, "", 7, 10000); /* empty line is ignored; wait for id 7 */
    IT_CHECK(r && strcmp(js_str(r, "state"), "owner") == 0, "waiter granted the session");
    cJSON_Delete(r);
    jl_close(&b);
    harness_finish(0);
}

/* A stop that cannot be confirmed is reported (exit 2) and heartbeats stop,
 * so the pen's watchdog stops the motor. */
static void t_sigterm_muted(void)
{
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    start_motor(&c);
    cJSON *o = sim_ctl("{\"fault\":\"pen-mute\",\"value\":1}");
    IT_CHECK(o && js_bool(o, "ok"), "mute");
    cJSON_Delete(o);
    int st = rigd_stop(harness()->rigd_pid, SIGTERM, 10000);
    IT_CHECK(st == 2, "rigd exit %d, want 2 (stop not confirmed)", st);
    IT_CHECK(sim_wait_motor(false, 3000),
             "watchdog did not stop the motor: heartbeats still sent?");
    jl_close(&c);
}

/* A device missing at start is reported and attached when it appears. */
static void t_late_pen(void)
{
    struct jl c;
    connect_client(&c);
    cJSON *r = call(&c, "\"class\":\"devices\"");
    const cJSON *pen = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "devices"), 0);
    IT_CHECK(pen && !js_bool(pen, "present"), "pen reported missing at start");
    cJSON_Delete(r);
    r = call(&c, "\"class\":\"pen\",\"action\":\"identify\"");
    IT_CHECK(strcmp(js_str(r, "code"), "no_device") == 0, "no_device while missing");
    cJSON_Delete(r);
    wait_devices_ready(&c);
    jl_close(&c);
    harness_finish(0);
}

/* What rigd refuses in a "run" request before anything moves: forged
 * log lines, records outside the results directory, files it would read
 * with its own rights. A sequence inside the station's sequence_dirs may
 * be named by path. */
static void t_run_refusals(void)
{
    IT_CHECK(harness()->long_seq, "run-refusals needs the LONG_SEQUENCE argument");
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    char seq[4096];
    IT_CHECK(realpath(harness()->long_seq, seq), "cannot resolve %s", harness()->long_seq);
    char body[8192];
    snprintf(body, sizeof body,
             "\"class\":\"run\",\"sequence\":\"%s\",\"dut\":\"PA-0000001\\nrigd: x\"", seq);
    expect_refused(&c, body, "bad_argument", "printable");
    snprintf(body, sizeof body,
             "\"class\":\"run\",\"sequence\":\"%s\",\"dut\":\"PA-0000001\","
             "\"operator\":\"a\\u0007b\"",
             seq);
    expect_refused(&c, body, "bad_argument", "printable");
    snprintf(body, sizeof body,
             "\"class\":\"run\",\"sequence\":\"%s\",\"dut\":\"PA-0000001\","
             "\"record\":\"/etc/evil.json\"",
             seq);
    expect_refused(&c, body, "bad_argument", "file name");
    snprintf(body, sizeof body,
             "\"class\":\"run\",\"sequence\":\"%s\",\"dut\":\"PA-0000001\","
             "\"record\":\"../evil.json\"",
             seq);
    expect_refused(&c, body, "bad_argument", "file name");
    expect_refused(&c, "\"class\":\"run\",\"sequence\":\"/etc/passwd\",\"dut\":\"PA-0000001\"",
                   "permission_denied", "sequence directories");
    expect_refused(&c,
                   "\"class\":\"run\",\"sequence\":\"/x.json\",\"sequence_text\":\"{}\","
                   "\"dut\":\"PA-0000001\"",
                   "bad_request", "go together");
    expect_refused(&c, "\"class\":\"run\",\"sequence\":\"/x.json\",\"dut\":\"PA-0000002\"",
                   "permission_denied", NULL);
    /* the unit check comes with a good request on a free bench */
    char *good = run_body(harness()->long_seq, "ok.json");
    char *wrong = strstr(good, "PA-0000001");
    IT_CHECK(wrong, "body has the serial");
    memcpy(wrong, "PA-0000009", 10);
    expect_refused(&c, good, "wrong_unit", "reports serial PA-0000001, not PA-0000009");
    free(good);
    /* by path, inside the station's sequence directories: accepted */
    snprintf(body, sizeof body, "\"class\":\"run\",\"sequence\":\"%s\",\"dut\":\"PA-0000001\"",
             seq);
    cJSON *r = call(&c, body);
    IT_CHECK(js_str(r, "state") && strcmp(js_str(r, "state"), "started") == 0,
             "a sequence in sequence_dirs, by path: %s",
             js_str(r, "message") ? js_str(r, "message") : "?");
    cJSON_Delete(r);
    expect_ok(&c, "\"class\":\"abort\"", "abort");
    jl_close(&c);
    harness_finish(0);
}

/* The owner releases its session in the middle of its own run: the run
 * is aborted (finished event and record say why), then the motor stopped. */
static void t_release_mid_run(void)
{
    IT_CHECK(harness()->long_seq, "release-mid-run needs the LONG_SEQUENCE argument");
    char rec[300];
    snprintf(rec, sizeof rec, "%s/rec.json", harness()->sockdir);
    char *body = run_body(harness()->long_seq, "rec.json");
    struct jl c;
    connect_client(&c);
    wait_devices_ready(&c);
    cJSON *r = call(&c, body);
    free(body);
    IT_CHECK(js_str(r, "state") && strcmp(js_str(r, "state"), "started") == 0, "run started: %s",
             js_str(r, "message") ? js_str(r, "message") : "?");
    cJSON_Delete(r);
    IT_CHECK(sim_wait_motor(true, 20000), "the run never started the motor");
    r = call(&c, "\"class\":\"session\",\"action\":\"release\"");
    IT_CHECK(js_str(r, "state") && strcmp(js_str(r, "state"), "released") == 0, "session released");
    cJSON_Delete(r);
    cJSON *fin = NULL;
    long long until = it_now_ms() + 30000;
    while (!fin && it_now_ms() < until) {
        cJSON *o = jl_wait_for(&c, "class", "run", 30000);
        IT_CHECK(o, "no finished event after the release");
        if (js_str(o, "event") && strcmp(js_str(o, "event"), "finished") == 0)
            fin = o;
        else
            cJSON_Delete(o);
    }
    IT_CHECK(fin, "no finished event");
    IT_CHECK(strcmp(js_str(fin, "outcome"), "ABORTED") == 0, "outcome %s, want ABORTED",
             js_str(fin, "outcome"));
    IT_CHECK(js_str(fin, "reason") && strstr(js_str(fin, "reason"), "released by owner"),
             "finished reason '%s' does not say the session was released",
             js_str(fin, "reason") ? js_str(fin, "reason") : "(null)");
    cJSON_Delete(fin);
    FILE *f = fopen(rec, "r");
    IT_CHECK(f, "no record %s", rec);
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    IT_CHECK(strstr(text, "session ended: released by owner"), "the record does not say why");
    /* what the aborted run measured recomputes from its attachments */
    struct recompute_result rr;
    char err[256] = "";
    IT_CHECK(recompute_record(rec, stderr, &rr, err, sizeof err) == 0,
             "the aborted run's record does not recompute (above) %s", err);
    expect_commanded_stop(5000);
    jl_close(&c);
    harness_finish(0);
}

/* The owner releases mid-run while another client waits for the session:
 * the waiter is granted only once the run has ended (its final stop done),
 * so the aborted run's teardown can never stop the new owner's motor. */
static void t_claim_while_run_ends(void)
{
    IT_CHECK(harness()->long_seq, "claim-while-run-ends needs the LONG_SEQUENCE argument");
    char rec[300];
    snprintf(rec, sizeof rec, "%s/rec.json", harness()->sockdir);
    char *body = run_body(harness()->long_seq, "rec.json");
    struct jl a, b;
    connect_client(&a);
    connect_client(&b);
    wait_devices_ready(&a);
    cJSON *r = call(&a, body);
    free(body);
    IT_CHECK(js_str(r, "state") && strcmp(js_str(r, "state"), "started") == 0, "run started: %s",
             js_str(r, "message") ? js_str(r, "message") : "?");
    cJSON_Delete(r);
    IT_CHECK(sim_wait_motor(true, 20000), "the run never started the motor");
    IT_CHECK(jl_send(&b, "{\"id\":7,\"class\":\"session\",\"action\":\"claim\",\"wait\":true}") ==
                 0,
             "send");
    r = jl_recv(&b, T_REPLY);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "queued") == 0, "queued notice");
    cJSON_Delete(r);
    r = call(&a, "\"class\":\"session\",\"action\":\"release\"");
    IT_CHECK(js_str(r, "state") && strcmp(js_str(r, "state"), "released") == 0, "session released");
    cJSON_Delete(r);
    r = jl_call(&b, "", 7, 30000); /* the grant (id 7) */
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "owner") == 0,
             "waiter granted the session after the run");
    cJSON_Delete(r);
    /* Granted: the aborted run must be gone already, not still ending. */
    r = call(&b, "\"class\":\"status\"");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(r, "run");
    IT_CHECK(cJSON_IsNull(run), "session granted while run %s was still ending",
             js_str(r, "run.run_id") ? js_str(r, "run.run_id") : "?");
    cJSON_Delete(r);
    r = jl_wait_for(&a, "event", "finished", 10000);
    IT_CHECK(r && strcmp(js_str(r, "outcome"), "ABORTED") == 0, "run ABORTED");
    cJSON_Delete(r);
    expect_commanded_stop(5000);
    jl_close(&a);
    jl_close(&b);
    harness_finish(0);
}

/* A run requested while the stop that ended the last session is still
 * waiting for the pen (its STOP unanswered for ~150 ms) waits for that
 * stop and then starts: the rig finishing its own work is not a busy bench
 * (a production line once got "busy: a motor stop is in progress" for a
 * good pen, under load). The run asks for no "wait". */
static void t_run_while_stopping(void)
{
    IT_CHECK(harness()->long_seq, "run-while-stopping needs the LONG_SEQUENCE argument");
    struct jl a, b;
    connect_client(&a);
    connect_client(&b);
    wait_devices_ready(&a);
    start_motor(&a);
    cJSON *o = sim_ctl("{\"fault\":\"pen-mute\",\"value\":1}");
    IT_CHECK(o && js_bool(o, "ok"), "mute");
    cJSON_Delete(o);
    jl_close(&a); /* the session ends: rigd sends STOP, which goes unanswered */
    it_sleep_ms(20);
    cJSON *r = call(&b, "\"class\":\"status\"");
    IT_CHECK(js_str(r, "session.state") && strcmp(js_str(r, "session.state"), "free") == 0,
             "session still owned");
    cJSON_Delete(r);
    char *body = run_body(harness()->long_seq, "rec.json");
    char line[65536];
    snprintf(line, sizeof line, "{\"id\":9,%s}", body);
    free(body);
    IT_CHECK(jl_send(&b, line) == 0, "send run");
    /* Unmuted before the driver's last STOP retry (tries at 0, 100, 200 ms). */
    it_sleep_ms(130);
    o = sim_ctl("{\"fault\":\"pen-mute\",\"value\":0}");
    IT_CHECK(o && js_bool(o, "ok"), "unmute");
    cJSON_Delete(o);
    r = jl_call(&b, "", 9, 20000);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "started") == 0,
             "run refused while the last stop was in flight: %s %s",
             r && js_str(r, "code") ? js_str(r, "code") : "",
             r && js_str(r, "message") ? js_str(r, "message") : "");
    cJSON_Delete(r);
    IT_CHECK(sim_wait_motor(true, 20000), "the run never started the motor");
    r = call(&b, "\"class\":\"abort\"");
    cJSON_Delete(r);
    r = jl_wait_for(&b, "event", "finished", 10000);
    IT_CHECK(r && strcmp(js_str(r, "outcome"), "ABORTED") == 0, "run ABORTED");
    cJSON_Delete(r);
    expect_commanded_stop(5000);
    jl_close(&b);
    harness_finish(0);
}

/* One queue per bench, first come first served: a run that waits ahead
 * of a session claim that waits gets the bench first (session waiters
 * used to jump every queued run). */
static void t_queue_order(void)
{
    IT_CHECK(harness()->long_seq, "queue-order needs the LONG_SEQUENCE argument");
    struct jl a, b, c;
    connect_client(&a);
    connect_client(&b);
    connect_client(&c);
    wait_devices_ready(&a);
    expect_ok(&a, "\"class\":\"session\",\"action\":\"claim\"", "session");
    char *body = run_body(harness()->long_seq, "rec.json");
    char line[65536];
    snprintf(line, sizeof line, "{\"id\":8,%s,\"wait\":true}", body);
    free(body);
    IT_CHECK(jl_send(&b, line) == 0, "send run");
    cJSON *r = jl_recv(&b, T_REPLY);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "queued") == 0 &&
                 js_num(r, "position", 0) == 1,
             "run queued first");
    cJSON_Delete(r);
    IT_CHECK(jl_send(&c, "{\"id\":9,\"class\":\"session\",\"action\":\"claim\",\"wait\":true}") ==
                 0,
             "send claim");
    r = jl_recv(&c, T_REPLY);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "queued") == 0 &&
                 js_num(r, "position", 0) == 2,
             "claim queued second, behind the run");
    cJSON_Delete(r);
    r = call(&a, "\"class\":\"status\"");
    IT_CHECK(js_num(r, "runs_waiting", -1) == 1 && js_num(r, "session.waiting", -1) == 1,
             "status counts one run and one claim waiting");
    cJSON_Delete(r);
    expect_ok(&a, "\"class\":\"session\",\"action\":\"release\"", "session");
    r = jl_call(&b, "", 8, 20000);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "started") == 0,
             "the queued run got the bench first: %s",
             r && js_str(r, "message") ? js_str(r, "message") : "?");
    cJSON_Delete(r);
    r = call(&a, "\"class\":\"status\"");
    IT_CHECK(r && js_str(r, "run.run_id") && js_num(r, "session.waiting", -1) == 1,
             "the run is active and the claim still waits");
    cJSON_Delete(r);
    IT_CHECK(sim_wait_motor(true, 20000), "the run never started the motor");
    cJSON_Delete(call(&b, "\"class\":\"abort\""));
    r = jl_call(&c, "", 9, 20000);
    IT_CHECK(r && js_str(r, "state") && strcmp(js_str(r, "state"), "owner") == 0,
             "the claim got the bench after the run");
    cJSON_Delete(r);
    jl_close(&a);
    jl_close(&b);
    jl_close(&c);
    harness_finish(0);
}

int main(int argc, char **argv)
{
    IT_CHECK(argc == 4 || argc == 5, "usage: rigd_itest SCENARIO RIGD CONFIG [LONG_SEQUENCE]");
    signal(SIGPIPE, SIG_IGN);
    const char *s = argv[1];
    if (strcmp(s, "late-pen") == 0) {
        cJSON *o = sim_ctl("{\"fault\":\"pen-unplug\",\"replug_after\":2}");
        IT_CHECK(o && js_bool(o, "ok"), "unplug before start");
        cJSON_Delete(o);
    }
    harness_start(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    if (strcmp(s, "discovery") == 0)
        t_discovery();
    else if (strcmp(s, "pen-roundtrip") == 0)
        t_pen_roundtrip();
    else if (strcmp(s, "watch-samples") == 0)
        t_watch_samples();
    else if (strcmp(s, "unplug-pen") == 0)
        t_unplug("pen");
    else if (strcmp(s, "unplug-sensor") == 0)
        t_unplug("sensor");
    else if (strcmp(s, "sigterm") == 0)
        t_signal(SIGTERM, false);
    else if (strcmp(s, "sigint") == 0)
        t_signal(SIGINT, false);
    else if (strcmp(s, "sigint-twice") == 0)
        t_signal(SIGINT, true);
    else if (strcmp(s, "owner-disconnect") == 0)
        t_owner_disconnect();
    else if (strcmp(s, "abort") == 0)
        t_abort();
    else if (strcmp(s, "busy-wait") == 0)
        t_busy_wait();
    else if (strcmp(s, "sigterm-muted") == 0)
        t_sigterm_muted();
    else if (strcmp(s, "late-pen") == 0)
        t_late_pen();
    else if (strcmp(s, "release-mid-run") == 0)
        t_release_mid_run();
    else if (strcmp(s, "claim-while-run-ends") == 0)
        t_claim_while_run_ends();
    else if (strcmp(s, "run-refusals") == 0)
        t_run_refusals();
    else if (strcmp(s, "run-while-stopping") == 0)
        t_run_while_stopping();
    else if (strcmp(s, "queue-order") == 0)
        t_queue_order();
    else
        IT_CHECK(0, "unknown scenario %s", s);
    fprintf(stderr, "PASS %s\n", s);
    return 0;
}
