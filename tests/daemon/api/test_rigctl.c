/* rigctl: argument parsing and exit codes, and its requests, output and
 * run outcome mapping against api_testd (canned rigd answers). */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apitest.h"

#define EOL FIXTURES_DIR "/sequences/eol.json"

static const char *rigctl(void)
{
    const char *p = getenv("RIGCTL");
    ck_assert_msg(p != NULL, "RIGCTL not set (run through meson test)");
    return p;
}

/* Runs rigctl with up to 15 args; returns the exit code. */
static int ctl(char **out, char **err, const char *const *args)
{
    char *argv[20] = { (char *)rigctl() };
    int n = 1;
    for (int i = 0; args[i] && n < 19; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return run_capture(argv, out, err);
}

#define CTL_EXPECT(code, ...)                                                                      \
    do {                                                                                           \
        const char *const a_[] = { __VA_ARGS__, NULL };                                            \
        char *o_, *e_;                                                                             \
        int rc_ = ctl(&o_, &e_, a_);                                                               \
        ck_assert_msg(rc_ == (code), "rigctl %s: exit %d, want %d; stderr: %s", a_[0], rc_,        \
                      (code), e_);                                                                 \
        free(o_);                                                                                  \
        free(e_);                                                                                  \
    } while (0)

START_TEST(usage_exit_codes)
{
    const char *const none[] = { NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, none), 64);
    ck_assert_ptr_nonnull(strstr(e, "Usage"));
    free(o);
    free(e);
    CTL_EXPECT(64, "frobnicate");
    CTL_EXPECT(64, "--bogus", "devices");
    CTL_EXPECT(64, "devices", "extra");
    CTL_EXPECT(64, "--timeout", "-1", "status");
    CTL_EXPECT(64, "--timeout", "soon", "status");
    CTL_EXPECT(64, "pen");
    CTL_EXPECT(64, "pen", "dance");
    CTL_EXPECT(64, "pen", "set");
    CTL_EXPECT(64, "pen", "set", "--rate", "fast");
    CTL_EXPECT(64, "pen", "set", "--rate", "0");
    CTL_EXPECT(64, "pen", "set", "--depth", "-1");
    CTL_EXPECT(64, "pen", "stop", "--rate", "100");
    CTL_EXPECT(64, "pen", "identify", "--depth", "1");
    CTL_EXPECT(64, "watch", "--count", "0");
    CTL_EXPECT(64, "watch", "--count", "2.5");
    CTL_EXPECT(64, "watch", "--duration", "x");
    CTL_EXPECT(64, "watch", "--rate", "5");
    CTL_EXPECT(64, "run", "--dut", "X");
    CTL_EXPECT(64, "run", "seq.json");
    CTL_EXPECT(64, "run", "a.json", "b.json", "--dut", "X");
    CTL_EXPECT(64, "check");
    /* what rigd would refuse, refused before anything is sent: control
	 * characters (forged log lines), invalid UTF-8, a record path */
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-1\nrigd: notice: forged");
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-1", "--operator", "ana\tbob");
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-\xff\xfe");
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-1", "--record", "/etc/passwd");
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-1", "--record", "../x.json");
    CTL_EXPECT(64, "run", EOL, "--dut", "PA-1", "--record", "rec.txt");
}
END_TEST

START_TEST(version)
{
    const char *const a[] = { "--version", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 0);
    ck_assert_msg(strncmp(o, "rigctl 0.1.0 (", 14) == 0, "%s", o);
    free(o);
    free(e);
}
END_TEST

START_TEST(help_everywhere)
{
    static const char *const cmds[] = {
        "devices", "status", "pen", "watch", "run", "abort", "check"
    };
    const char *const top[] = { "--help", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, top), 0);
    ck_assert_ptr_nonnull(strstr(o, "Exit codes"));
    free(o);
    free(e);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *const a[] = { cmds[i], "--help", NULL };
        ck_assert_int_eq(ctl(&o, &e, a), 0);
        ck_assert_msg(strstr(o, "Usage: rigctl") != NULL, "%s --help: %s", cmds[i], o);
        free(o);
        free(e);
    }
}
END_TEST

START_TEST(rigd_not_running)
{
    const char *const a[] = { "--socket", "/tmp/rigctl-test-nonexistent.sock", "devices", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 69);
    ck_assert_ptr_nonnull(strstr(e, "not running"));
    free(o);
    free(e);
    /* The default path comes from $RIGD_SOCKET. */
    setenv("RIGD_SOCKET", "/tmp/rigctl-test-nonexistent2.sock", 1);
    const char *const b[] = { "status", NULL };
    ck_assert_int_eq(ctl(&o, &e, b), 69);
    ck_assert_ptr_nonnull(strstr(e, "nonexistent2"));
    free(o);
    free(e);
}
END_TEST

static struct testd td;

static void up(void)
{
    testd_start(&td, NULL);
}

static void down(void)
{
    ck_assert_int_eq(testd_stop(&td), 0);
}

START_TEST(devices_human_and_json)
{
    const char *const a[] = { "--socket", td.path, "devices", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 0);
    ck_assert_ptr_nonnull(strstr(o, "station: test-bench"));
    ck_assert_ptr_nonnull(strstr(o, "pen: present"));
    ck_assert_ptr_nonnull(strstr(o, "  port: /dev/ttyACM0"));
    ck_assert_ptr_nonnull(strstr(o, "    serial: SIMPEN-0001"));
    ck_assert_ptr_nonnull(strstr(o, "sensor: MISSING"));
    free(o);
    free(e);
    /* --json after the command: every line is one JSON object. */
    const char *const b[] = { "devices", "--json", "--socket", td.path, NULL };
    ck_assert_int_eq(ctl(&o, &e, b), 0);
    int lines = 0, devices = 0;
    for (char *save = NULL, *l = strtok_r(o, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(l);
        ck_assert_msg(j != NULL, "not JSON: %s", l);
        if (strcmp(jstr(j, "class"), "devices") == 0)
            devices++;
        cJSON_Delete(j);
        lines++;
    }
    ck_assert_int_eq(lines, 2); /* greeting + reply */
    ck_assert_int_eq(devices, 1);
    free(o);
    free(e);
}
END_TEST

START_TEST(pen_set_sends_numbers)
{
    const char *const a[] = { "--json", "--socket", td.path,   "pen", "set",
                              "--rate", "120",      "--depth", "1.5", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 0);
    char *last = strrchr(o, '{') ? strstr(o, "{\"class\":\"pen\"") : NULL;
    ck_assert_ptr_nonnull(last);
    cJSON *j = cJSON_Parse(last);
    ck_assert_ptr_nonnull(j);
    cJSON *req = cJSON_GetObjectItem(j, "request");
    ck_assert_str_eq(jstr(req, "action"), "set");
    ck_assert_double_eq(jnum(req, "rate_hz"), 120);
    ck_assert_double_eq(jnum(req, "depth_mm"), 1.5);
    cJSON_Delete(j);
    free(o);
    free(e);
}
END_TEST

/* `pen start --rate --depth`: a set then a start on the same connection
 * (one greeting), so both land in the same implicit session. */
START_TEST(pen_start_with_setpoints_sets_first)
{
    const char *const a[] = { "--json", "--socket", td.path,   "pen", "start",
                              "--rate", "120",      "--depth", "1.5", NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 0);
    int greetings = 0, pens = 0;
    for (char *save = NULL, *l = strtok_r(o, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(l);
        ck_assert_msg(j != NULL, "not JSON: %s", l);
        if (strcmp(jstr(j, "class"), "pen") == 0) {
            cJSON *req = cJSON_GetObjectItem(j, "request");
            ck_assert_str_eq(jstr(req, "action"), pens == 0 ? "set" : "start");
            if (pens == 0) {
                ck_assert_double_eq(jnum(req, "rate_hz"), 120);
                ck_assert_double_eq(jnum(req, "depth_mm"), 1.5);
            } else {
                ck_assert_ptr_null(cJSON_GetObjectItem(req, "rate_hz"));
            }
            pens++;
        } else if (cJSON_GetObjectItem(j, "id") == NULL) {
            greetings++;
        }
        cJSON_Delete(j);
    }
    ck_assert_int_eq(pens, 2);
    ck_assert_int_eq(greetings, 1);
    free(o);
    free(e);
}
END_TEST

START_TEST(run_outcomes_map_to_exit_codes)
{
    static const struct {
        const char *dut;
        int code;
    } cases[] = { { "PASS-1", 0 },    { "FAIL-1", 1 },    { "ERROR-1", 2 },
                  { "ABORTED-1", 2 }, { "TIMEOUT-1", 2 }, { "BUSY", 75 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const a[] = { "--socket", td.path, "run", EOL, "--dut", cases[i].dut, NULL };
        char *o, *e;
        int rc = ctl(&o, &e, a);
        ck_assert_msg(rc == cases[i].code, "dut %s: exit %d; out %s err %s", cases[i].dut, rc, o,
                      e);
        if (strcmp(cases[i].dut, "BUSY") == 0) {
            ck_assert_ptr_nonnull(strstr(e, "busy"));
            ck_assert_ptr_nonnull(strstr(e, "alice"));
        } else {
            /* Plain lines (not a TTY): progress, the measurement, summary. */
            ck_assert_ptr_nonnull(strstr(o, "progress  50%"));
            ck_assert_ptr_nonnull(strstr(o, "stroke_rate = 119.6 Hz"));
            ck_assert_ptr_nonnull(strstr(o, cases[i].dut));
        }
        free(o);
        free(e);
    }
}
END_TEST

START_TEST(run_junit_needs_record)
{
    /* The fake run's "finished" event names no record: --junit cannot be
	 * honoured, and that is an error, not a silent PASS. */
    const char *const a[] = { "--socket", td.path,  "run",     EOL,
                              "--dut",    "PASS-1", "--junit", "/tmp/rigctl-test-junit.xml",
                              NULL };
    char *o, *e;
    ck_assert_int_eq(ctl(&o, &e, a), 2);
    ck_assert_ptr_nonnull(strstr(e, "--junit"));
    ck_assert_int_eq(access("/tmp/rigctl-test-junit.xml", F_OK), -1);
    free(o);
    free(e);
}
END_TEST

START_TEST(watch_prints_events)
{
    /* rigctl watch --count 3 while this test keeps publishing. */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(rigctl(), rigctl(), "--socket", td.path, "watch", "--topics", "run,log", "--count",
              "3", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    struct tconn c;
    tconn_open(&c, td.path, true);
    int status = -1;
    bool reaped = false;
    for (int i = 0; i < 400 && !reaped; i++) {
        cJSON_Delete(
            tconn_call(&c, "{\"class\":\"publish\",\"id\":1,\"topic\":\"run\",\"count\":1}\n"));
        reaped = waitpid(pid, &status, WNOHANG) == pid;
        if (!reaped)
            usleep(50000);
    }
    tconn_close(&c);
    if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ck_assert_msg(reaped, "rigctl watch --count 3 did not exit");
    char buf[8192];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int events = 0;
    for (char *q = buf; (q = strstr(q, " run seq=")); q++)
        events++;
    ck_assert_int_eq(events, 3);
}
END_TEST

START_TEST(check_bad_files)
{
    /* With rig/core linked in: every problem as `file: json.path: message`
	 * and exit 1. Without it: a clear error (exit 2), never a pass. */
    char path[] = "/tmp/rigctl-check-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char bad[] = "{\"format\":\"rig-sequence/1\",";
    ck_assert_int_eq(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    close(fd);
    const char *const a[] = { "check", path, "/nonexistent/seq.json", NULL };
    char *o, *e;
    int rc = ctl(&o, &e, a);
    unlink(path);
    if (rc == 2) {
        ck_assert_ptr_nonnull(strstr(e, "not implemented"));
    } else {
        ck_assert_int_eq(rc, 1);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: $", path);
        ck_assert_msg(strstr(o, prefix) != NULL, "output: %s", o);
        ck_assert_ptr_nonnull(strstr(o, "/nonexistent/seq.json: "));
    }
    free(o);
    free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rigctl");
    TCase *tc = tcase_create("args");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, usage_exit_codes);
    tcase_add_test(tc, help_everywhere);
    tcase_add_test(tc, version);
    tcase_add_test(tc, rigd_not_running);
    tcase_add_test(tc, check_bad_files);
    suite_add_tcase(s, tc);
    tc = tcase_create("against_api_testd");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, devices_human_and_json);
    tcase_add_test(tc, pen_set_sends_numbers);
    tcase_add_test(tc, pen_start_with_setpoints_sets_first);
    tcase_add_test(tc, run_outcomes_map_to_exit_codes);
    tcase_add_test(tc, run_junit_needs_record);
    tcase_add_test(tc, watch_prints_events);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
