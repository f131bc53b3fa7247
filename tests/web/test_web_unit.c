/* rigweb's parts that need no server: config parsing and the LAN rule,
 * the users file, accounts and sessions (argon2id, timeouts, rate limit),
 * calibration states, atomic writes. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "web/auth.h"
#include "web/config.h"
#include "web/rigd_link.h"
#include "web/route.h"
#include "web/station.h"
#include "web/util.h"

static int parse(struct web_config *c, const char *text, char *err, size_t errlen)
{
    ck_assert_int_eq(config_defaults(c, err, errlen), 0);
    return config_parse(c, text, strlen(text), err, errlen);
}

START_TEST(config_members)
{
    struct web_config c;
    char err[300];
    ck_assert_int_eq(parse(&c,
                           "{\"port\": 9000, \"sequences\": {\"A\": \"/s/a.json\", "
                           "\"default\": \"/s/eol.json\"}}",
                           err, sizeof err),
                     0);
    ck_assert_int_eq(c.port, 9000);
    ck_assert_str_eq(c.listen, "127.0.0.1");
    ck_assert_str_eq(config_sequence(&c, "A"), "/s/a.json");
    ck_assert_str_eq(config_sequence(&c, "B"), "/s/eol.json");
    config_free(&c);
    /* Unknown members, wrong types, out of range, half of TLS. */
    static const char *const bad[] = {
        "{\"prot\": 80}",
        "{\"port\": \"80\"}",
        "{\"port\": 70000}",
        "{\"port\": 80.5}",
        "{\"tls_cert\": \"/c.pem\"}",
        "{\"listen\": \"\"}",
        "{\"sequences\": {\"A\": \"rel.json\"}}",
        "[1]",
        "{\"insecure_lan\": 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(parse(&c, bad[i], err, sizeof err) == -EINVAL, "accepted %s", bad[i]);
        ck_assert(err[0]);
        config_free(&c);
    }
}
END_TEST

START_TEST(config_lan_rule)
{
    struct web_config c;
    char err[400];
    ck_assert_int_eq(parse(&c, "{\"listen\": \"127.0.0.5\"}", err, sizeof err), 0);
    ck_assert_int_eq(config_check_security(&c, err, sizeof err), 0);
    config_free(&c);
    ck_assert_int_eq(parse(&c, "{\"listen\": \"::1\"}", err, sizeof err), 0);
    ck_assert_int_eq(config_check_security(&c, err, sizeof err), 0);
    config_free(&c);
    ck_assert_int_eq(parse(&c, "{\"listen\": \"192.168.1.2\"}", err, sizeof err), 0);
    ck_assert_int_eq(config_check_security(&c, err, sizeof err), -EPERM);
    ck_assert_ptr_nonnull(strstr(err, "TLS"));
    config_free(&c);
    ck_assert_int_eq(
        parse(&c, "{\"listen\": \"0.0.0.0\", \"insecure_lan\": true}", err, sizeof err), 0);
    ck_assert_int_eq(config_check_security(&c, err, sizeof err), 0);
    config_free(&c);
    ck_assert_int_eq(parse(&c,
                           "{\"listen\": \"10.0.0.1\", \"tls_cert\": \"/c\", \"tls_key\": \"/k\"}",
                           err, sizeof err),
                     0);
    ck_assert_int_eq(config_check_security(&c, err, sizeof err), 0);
    config_free(&c);
}
END_TEST

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/web-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(accounts)
{
    mkdir_tmp();
    char path[128], err[200];
    snprintf(path, sizeof path, "%s/users.json", dir);
    struct auth *a;
    ck_assert_int_eq(auth_open(&a, path, 1, 3600, err, sizeof err), 0);
    ck_assert_uint_eq(auth_user_count(a), 0);
    ck_assert_int_eq(auth_user_add(a, "ana", ROLE_ADMIN, "correct-horse"), 0);
    ck_assert_int_eq(auth_user_add(a, "ana", ROLE_ADMIN, "correct-horse"), -EEXIST);
    ck_assert_int_eq(auth_user_add(a, "bad name", ROLE_OPERATOR, "correct-horse"), -EINVAL);
    ck_assert_int_eq(auth_user_add(a, "bo", ROLE_OPERATOR, "short"), -EINVAL);
    ck_assert_int_eq(auth_user_add(a, "bo", ROLE_OPERATOR, "battery-staple"), 0);
    /* The file: 0600, argon2id, no password. */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char *text;
    size_t len;
    ck_assert_int_eq(web_read_file(path, 1 << 20, &text, &len), 0);
    ck_assert_ptr_null(strstr(text, "correct-horse"));
    ck_assert_ptr_nonnull(strstr(text, "$argon2id$v=19$"));
    free(text);
    /* Login: right, wrong, unknown. */
    struct web_session s, s2;
    ck_assert_int_eq(auth_login(a, "ana", "correct-horse", "c1", &s), 0);
    ck_assert_str_eq(s.user, "ana");
    ck_assert_int_eq(s.role, ROLE_ADMIN);
    ck_assert_uint_eq(strlen(s.id), 64);
    ck_assert_str_ne(s.id, s.csrf);
    ck_assert_int_eq(auth_login(a, "ana", "wrong-horse", "c1", &s2), -EACCES);
    ck_assert_int_eq(auth_login(a, "nobody", "correct-horse", "c1", &s2), -EACCES);
    ck_assert_int_eq(auth_session(a, s.id, &s2), 0);
    ck_assert_str_eq(s2.csrf, s.csrf);
    /* The last admin stays; a change ends the user's sessions. */
    ck_assert_int_eq(auth_user_set(a, "ana", ROLE_OPERATOR, NULL), -EBUSY);
    ck_assert_int_eq(auth_user_delete(a, "ana"), -EBUSY);
    ck_assert_int_eq(auth_login(a, "bo", "battery-staple", "c1", &s2), 0);
    ck_assert_int_eq(auth_user_set(a, "bo", ROLE_ENGINEER, NULL), 0);
    ck_assert_int_eq(auth_session(a, s2.id, &s2), -ENOENT);
    /* Reopened: the same accounts. */
    auth_close(a);
    ck_assert_int_eq(auth_open(&a, path, 1, 3600, err, sizeof err), 0);
    ck_assert_uint_eq(auth_user_count(a), 2);
    ck_assert_int_eq(auth_login(a, "bo", "battery-staple", "c2", &s2), 0);
    ck_assert_int_eq(s2.role, ROLE_ENGINEER);
    /* Idle timeout 1 s. */
    sleep(2);
    ck_assert_int_eq(auth_session(a, s2.id, &s2), -ENOENT);
    /* Rate limit: 5 failures from one address lock it, not another. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(auth_login(a, "bo", "nope-nope", "c3", &s2), -EACCES);
    ck_assert_int_eq(auth_login(a, "bo", "battery-staple", "c3", &s2), -EAGAIN);
    ck_assert_int_eq(auth_login(a, "bo", "battery-staple", "c4", &s2), 0);
    auth_close(a);
    rm_tmp();
}
END_TEST

START_TEST(users_file)
{
    struct web_user *u;
    size_t n;
    char err[200];
    const char *ok =
        "{\"format\":\"rigweb-users/1\",\"users\":[{\"name\":\"a\",\"role\":\"engineer\","
        "\"hash\":\"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA\"}]}";
    ck_assert_int_eq(users_parse(ok, strlen(ok), &u, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(u[0].role, ROLE_ENGINEER);
    users_free(u, n);
    static const char *const bad[] = {
        "{\"format\":\"rigweb-users/2\",\"users\":[]}",
        "{\"format\":\"rigweb-users/1\",\"users\":[{\"name\":\"a\",\"role\":\"boss\",\"hash\":\"$argon2id$\"}]}",
        "{\"format\":\"rigweb-users/1\",\"users\":[{\"name\":\"a\",\"role\":\"admin\",\"hash\":\"plain\"}]}",
        /* one name twice (parenthesised: one element in two pieces) */
        ("{\"format\":\"rigweb-users/1\",\"users\":[{\"name\":\"a\",\"role\":\"admin\",\"hash\":\"$argon2id$x\"},"
         "{\"name\":\"a\",\"role\":\"admin\",\"hash\":\"$argon2id$x\"}]}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(users_parse(bad[i], strlen(bad[i]), &u, &n, err, sizeof err) == -EINVAL,
                      "accepted %s", bad[i]);
}
END_TEST

START_TEST(calibration_state)
{
    int left;
    ck_assert_str_eq(station_cal_state(20270601, 20261202, &left), "ok");
    ck_assert_int_eq(left, 181);
    ck_assert_str_eq(station_cal_state(20261231, 20261202, &left), "due_soon");
    ck_assert_int_eq(left, 29);
    ck_assert_str_eq(station_cal_state(20261202, 20261202, &left), "due_soon");
    ck_assert_str_eq(station_cal_state(20261201, 20261202, &left), "overdue");
    ck_assert_int_eq(left, -1);
    ck_assert_str_eq(station_cal_state(0, 20261202, &left), "unknown");
}
END_TEST

START_TEST(routes)
{
    char buf[64];
    const char *cap[2];
    ck_assert(route_match("/api/fixtures/*/run", "/api/fixtures/A/run", buf, sizeof buf, cap));
    ck_assert_str_eq(cap[0], "A");
    ck_assert(!route_match("/api/fixtures/*/run", "/api/fixtures//run", buf, sizeof buf, cap));
    ck_assert(!route_match("/api/fixtures/*/run", "/api/fixtures/A/B/run", buf, sizeof buf, cap));
    ck_assert(!route_match("/api/fixtures/*/run", "/api/fixtures/A/runs", buf, sizeof buf, cap));
    ck_assert(!route_match("/api/users", "/api/users/", buf, sizeof buf, cap));
    ck_assert(route_match("/static/**", "/static/js/tile.js", buf, sizeof buf, cap));
    ck_assert_str_eq(cap[0], "js/tile.js");
    ck_assert(!route_match("/static/**", "/static/", buf, sizeof buf, cap));
    /* Too long to copy: no match rather than a truncated one. */
    ck_assert(!route_match("/api/unit/*",
                           "/api/unit/0123456789012345678901234567890123456789"
                           "0123456789012345678901234567890123456789",
                           buf, sizeof buf, cap));
    ck_assert(route_safe_path("js/tile.js"));
    ck_assert(route_safe_path("chart.min.js"));
    static const char *const bad[] = { "../users.json", "js/../../x", ".env", "js/.hidden", "/etc",
                                       "js//x",         "js/",        "a b",  "x%2f",       "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!route_safe_path(bad[i]), "accepted %s", bad[i]);
}
END_TEST

/* ---- the station snapshot against a fake rigd ---------------------------- */

/* A fake rigd for one client: today fixture A has 1000 runs in the first
 * history page (the newest still going), 500 more before it; every third
 * run fails. */
static void *fake_rigd(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    FILE *in = fdopen(dup(fd), "r"), *out = fdopen(fd, "w");
    fputs("{\"class\":\"version\",\"release\":\"0\",\"proto_major\":1,\"proto_minor\":4}\n", out);
    fflush(out);
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        cJSON *req = cJSON_Parse(line), *rep = cJSON_CreateObject();
        const char *cls = cJSON_GetObjectItem(req, "class")->valuestring;
        cJSON_AddStringToObject(rep, "class", cls);
        cJSON_AddItemToObject(rep, "id", cJSON_Duplicate(cJSON_GetObjectItem(req, "id"), 1));
        if (strcmp(cls, "status") == 0) {
            cJSON_AddStringToObject(rep, "station", "fake");
            cJSON_AddItemToObject(rep, "fixtures",
                                  cJSON_Parse("[{\"name\":\"A\",\"session\":{\"state\":\"free\"},"
                                              "\"run\":null}]"));
        } else if (strcmp(cls, "devices") == 0) {
            cJSON_AddItemToObject(rep, "devices", cJSON_CreateArray());
        } else if (strcmp(cls, "history") == 0) {
            bool older = cJSON_GetObjectItem(req, "until") != NULL;
            cJSON *runs = cJSON_AddArrayToObject(rep, "runs");
            int n = older ? 500 : 1000, base = older ? 1000 : 0;
            for (int i = 0; i < n; i++) {
                int k = base + i;
                cJSON *r = cJSON_CreateObject();
                char id[32], started[40];
                snprintf(id, sizeof id, "run-%d", k);
                snprintf(started, sizeof started, "2026-12-02T10:%02d:%02d.000000Z",
                         59 - k / 60 % 60, 59 - k % 60);
                cJSON_AddStringToObject(r, "id", id);
                cJSON_AddStringToObject(r, "dut_serial", "PA-1");
                cJSON_AddNumberToObject(r, "attempt", 1);
                cJSON_AddStringToObject(r, "started", started);
                if (k == 0)
                    cJSON_AddNullToObject(r, "outcome");
                else
                    cJSON_AddStringToObject(r, "outcome", k % 3 == 0 ? "FAIL" : "PASS");
                cJSON_AddItemToArray(runs, r);
            }
        } else if (strcmp(cls, "unit") == 0) {
            cJSON_AddItemToObject(rep, "runs", cJSON_CreateArray());
        }
        char *text = cJSON_PrintUnformatted(rep);
        fprintf(out, "%s\n", text);
        fflush(out);
        free(text);
        cJSON_Delete(rep);
        cJSON_Delete(req);
    }
    fclose(in);
    fclose(out);
    return NULL;
}

static void on_state(void *user, bool up)
{
    if (up)
        *(volatile int *)user = 1;
}

START_TEST(station_pages)
{
    mkdir_tmp();
    char path[100];
    snprintf(path, sizeof path, "%.80s/rigd.sock", dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    pthread_t t;
    pthread_create(&t, NULL, fake_rigd, &lfd);
    volatile int up = 0;
    struct link_callbacks cb = { NULL, on_state, (void *)&up };
    struct rigd_link *l;
    ck_assert_int_eq(link_start(&l, path, &cb), 0);
    for (int i = 0; i < 100 && !up; i++)
        usleep(20000);
    ck_assert(up);
    struct station *st;
    ck_assert_int_eq(station_open(&st), 0);
    cJSON *s = station_build(st, l);
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "fixtures"), 0);
    const cJSON *today = cJSON_GetObjectItem(a, "today"), *last = cJSON_GetObjectItem(a, "last");
    /* 1499 finished runs over two pages; 1..1499 with k % 3 == 0 fail. */
    ck_assert_int_eq(cJSON_GetObjectItem(today, "count")->valueint, 1499);
    ck_assert_int_eq(cJSON_GetObjectItem(today, "pass")->valueint, 1499 - 499);
    ck_assert_str_eq(cJSON_GetObjectItem(last, "run_id")->valuestring, "run-1");
    ck_assert_str_eq(cJSON_GetObjectItem(last, "outcome")->valuestring, "PASS");
    cJSON_Delete(s);
    station_close(st);
    link_stop(l);
    close(lfd);
    pthread_join(t, NULL);
    rm_tmp();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("web");
    TCase *tc = tcase_create("unit");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, config_members);
    tcase_add_test(tc, config_lan_rule);
    tcase_add_test(tc, accounts);
    tcase_add_test(tc, users_file);
    tcase_add_test(tc, calibration_state);
    tcase_add_test(tc, routes);
    tcase_add_test(tc, station_pages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
