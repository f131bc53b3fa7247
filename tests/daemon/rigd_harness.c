/* rigd integration tests: the shared harness (see rigd_harness.h). */
#include "rigd_harness.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct harness *harness(void)
{
    static struct harness h = { .next_id = 100 };
    return &h;
}

/* Leave no temporary directory behind (and no rigd running). */
static void cleanup(void)
{
    struct harness *h = harness();
    if (h->rigd_pid > 0 && kill(h->rigd_pid, 0) == 0)
        rigd_stop(h->rigd_pid, SIGKILL, 5000);
    unlink(h->sock);
    /* runs write their record and capture files here */
    char pat[96];
    glob_t g;
    snprintf(pat, sizeof pat, "%s/*", h->sockdir);
    if (h->sockdir[0] && glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    rmdir(h->sockdir);
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    IT_CHECK(f, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

void harness_start(const char *rigd_path, const char *config, const char *long_seq)
{
    struct harness *h = harness();
    h->rigd_path = rigd_path;
    h->config = config;
    h->long_seq = long_seq;
    snprintf(h->sockdir, sizeof h->sockdir, "/tmp/rigd-itest-XXXXXX");
    IT_CHECK(mkdtemp(h->sockdir), "mkdtemp");
    snprintf(h->sock, sizeof h->sock, "%s/rigd.sock", h->sockdir);
    atexit(cleanup);
    /* The given station, with its results in our directory. */
    char *text = slurp(config);
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    IT_CHECK(cfg, "station config %s is not JSON", config);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "results_dir");
    cJSON_AddStringToObject(cfg, "results_dir", h->sockdir);
    if (long_seq) {
        /* rigd may read sequences by path from the source tree only */
        char root[4096], dir[4200];
        snprintf(dir, sizeof dir, "%.*s/../..", (int)(strrchr(long_seq, '/') - long_seq), long_seq);
        IT_CHECK(realpath(dir, root), "cannot resolve %s", dir);
        cJSON *dirs = cJSON_AddArrayToObject(cfg, "sequence_dirs");
        cJSON_AddItemToArray(dirs, cJSON_CreateString(root));
    }
    char station[128];
    snprintf(station, sizeof station, "%s/station.json", h->sockdir);
    char *out = cJSON_Print(cfg);
    FILE *f = fopen(station, "w");
    IT_CHECK(f && fputs(out, f) >= 0 && fclose(f) == 0, "cannot write %s", station);
    free(out);
    cJSON_Delete(cfg);
    h->rigd_pid = rigd_start(rigd_path, station, h->sock);
    IT_CHECK(h->rigd_pid > 0, "fork");
}

void harness_finish(int want_exit)
{
    int st = rigd_stop(harness()->rigd_pid, SIGTERM, 10000);
    IT_CHECK(st == want_exit, "rigd exit status %d, want %d", st, want_exit);
}

char *run_body(const char *seq_file, const char *record)
{
    char seq[4096];
    IT_CHECK(realpath(seq_file, seq), "cannot resolve %s", seq_file);
    char *seq_text = slurp(seq);
    cJSON *parsed = cJSON_Parse(seq_text);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(parsed, "spec");
    IT_CHECK(cJSON_IsString(ref), "%s names no spec", seq);
    char spec[8192], spec_real[4096];
    int dirlen = (int)(strrchr(seq, '/') - seq);
    snprintf(spec, sizeof spec, "%.*s/%s", dirlen, seq, ref->valuestring);
    IT_CHECK(realpath(spec, spec_real), "cannot resolve %s", spec);
    char *spec_text = slurp(spec_real);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "class", "run");
    cJSON_AddStringToObject(b, "sequence", seq);
    cJSON_AddStringToObject(b, "sequence_text", seq_text);
    cJSON_AddStringToObject(b, "spec", spec_real);
    cJSON_AddStringToObject(b, "spec_text", spec_text);
    cJSON_AddStringToObject(b, "dut", "PA-0000001");
    cJSON_AddStringToObject(b, "record", record);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON_Delete(parsed);
    free(seq_text);
    free(spec_text);
    size_t n = strlen(json);
    memmove(json, json + 1, n - 2);
    json[n - 2] = '\0';
    return json;
}

void connect_client(struct jl *c)
{
    const char *sock = harness()->sock;
    IT_CHECK(jl_connect(c, sock, 10000) == 0, "cannot connect to rigd at %s", sock);
    cJSON *hello = jl_recv(c, T_REPLY);
    IT_CHECK(hello && js_str(hello, "class") && strcmp(js_str(hello, "class"), "version") == 0,
             "no version greeting");
    cJSON_Delete(hello);
}

cJSON *call(struct jl *c, const char *body)
{
    static char line[1 << 17];
    int id = harness()->next_id++;
    snprintf(line, sizeof line, "{\"id\":%d,%s}", id, body);
    cJSON *r = jl_call(c, line, id, T_REPLY);
    IT_CHECK(r, "no reply to %s", line);
    return r;
}

void expect_ok(struct jl *c, const char *body, const char *cls)
{
    cJSON *r = call(c, body);
    const char *got = js_str(r, "class");
    IT_CHECK(got && strcmp(got, cls) == 0, "%s -> %s %s", body, got ? got : "?",
             js_str(r, "message") ? js_str(r, "message") : "");
    cJSON_Delete(r);
}

void expect_refused(struct jl *c, const char *body, const char *code, const char *text)
{
    cJSON *r = call(c, body);
    IT_CHECK(js_str(r, "code") && strcmp(js_str(r, "code"), code) == 0,
             "%.200s -> code %s, want %s (%s)", body,
             js_str(r, "code") ? js_str(r, "code") : "none", code,
             js_str(r, "message") ? js_str(r, "message") : "");
    IT_CHECK(!text || (js_str(r, "message") && strstr(js_str(r, "message"), text)),
             "%.200s -> message '%s' lacks '%s'", body, js_str(r, "message"), text);
    IT_CHECK(!js_str(r, "message") || !strstr(js_str(r, "message"), "root:"),
             "the reply echoes a file's contents");
    cJSON_Delete(r);
}

void wait_devices_ready(struct jl *c)
{
    long long until = it_now_ms() + 10000;
    for (;;) {
        cJSON *r = call(c, "\"class\":\"status\"");
        bool ok = js_bool(r, "devices.pen") && js_bool(r, "devices.sensor");
        cJSON_Delete(r);
        if (ok)
            return;
        IT_CHECK(it_now_ms() < until, "devices not attached within 10 s");
        it_sleep_ms(100);
    }
}

char *recv_line(struct jl *c, int timeout_ms)
{
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, n);
            IT_CHECK(line, "out of memory");
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        long long left = until - it_now_ms();
        if (c->len == sizeof c->buf || left <= 0)
            return NULL;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

char *call_raw(struct jl *c, const char *line, const char *id_text, int timeout_ms)
{
    IT_CHECK(jl_send(c, line) == 0, "cannot send %s", line);
    char want[300];
    snprintf(want, sizeof want, "\"id\":%s", id_text);
    long long until = it_now_ms() + timeout_ms;
    for (;;) {
        long long left = until - it_now_ms();
        char *got = left > 0 ? recv_line(c, (int)left) : NULL;
        IT_CHECK(got, "no reply with %s to %.200s", want, line);
        /* the whole id: "id":7 must not match "id":70 */
        for (const char *at = strstr(got, want); at; at = strstr(at + 1, want))
            if (at[strlen(want)] == ',' || at[strlen(want)] == '}')
                return got;
        free(got);
    }
}
