/* api_testd: the API module on its own, for tests. An sd-event loop with an
 * api_server and trivial handlers:
 *   echo     -> {"class":"echo","echo":<request>}
 *   publish  -> publishes "count" events of "size" bytes on "topic"
 *   stats    -> api_server_stats() + disconnect count + own RSS
 *   later    -> answered "ms" milliseconds later (an asynchronous reply)
 *   quit     -> replies, then exits
 * plus canned answers for rigctl's classes (devices, status, pen, abort,
 * run) so rigctl can be tested without devices. Exits on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/api.h"

struct testd {
    sd_event *ev;
    struct api_server *srv;
    unsigned long disconnects;
    unsigned long double_disconnects; /* must stay 0 */
    unsigned long watch_changes;      /* on_watch calls */
    struct later *laters;
};

static double num(const cJSON *req, const char *key, double dflt);

/* {"class":"later","ms":N}: answered N ms later, like a device request. */
struct later {
    struct later *next;
    struct testd *t;
    struct api_client *c; /* NULL once the client is gone */
    cJSON *req;
    sd_event_source *timer;
};

static void later_free(struct later *l)
{
    struct later **pp = &l->t->laters;
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
    sd_event_source_disable_unref(l->timer);
    cJSON_Delete(l->req);
    free(l);
}

static int on_later(sd_event_source *src, uint64_t usec, void *user)
{
    (void)src;
    (void)usec;
    struct later *l = user;
    if (l->c)
        api_reply(l->c, l->req, NULL);
    later_free(l);
    return 0;
}

static void do_later(struct testd *t, struct api_client *c, const cJSON *req)
{
    struct later *l = calloc(1, sizeof *l);
    if (!l || !(l->req = cJSON_Duplicate(req, 1))) {
        free(l);
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    l->t = t;
    l->c = c;
    l->next = t->laters;
    t->laters = l;
    uint64_t usec = (uint64_t)(num(req, "ms", 100) * 1000.0);
    if (sd_event_add_time_relative(t->ev, &l->timer, CLOCK_MONOTONIC, usec, 0, on_later, l) < 0) {
        api_error(c, req, API_E_INTERNAL, "no timer");
        later_free(l);
    }
}

/* Marks clients we were told about, to catch a second on_disconnect. */
static const char gone_marker;

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double num(const cJSON *req, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void do_publish(struct testd *t, struct api_client *c, const cJSON *req)
{
    const cJSON *topic = cJSON_GetObjectItemCaseSensitive(req, "topic");
    long count = (long)num(req, "count", 1);
    long size = (long)num(req, "size", 0);
    if (!cJSON_IsString(topic) || api_topic_from_name(topic->valuestring) < 0 || count < 0 ||
        size < 0 || size > 1000000) {
        api_error(c, req, API_E_BAD_ARGUMENT, "publish needs topic, count >= 0, 0 <= size <= 1e6");
        return;
    }
    char *pad = malloc((size_t)size + 1);
    if (!pad) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    memset(pad, 'x', (size_t)size);
    pad[size] = '\0';
    for (long i = 0; i < count; i++) {
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddNumberToObject(ev, "seq", (double)i);
        cJSON_AddStringToObject(ev, "pad", pad);
        api_publish(t->srv, topic->valuestring, ev);
    }
    free(pad);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "published", (double)count);
    api_reply(c, req, body);
}

static void do_stats(struct testd *t, struct api_client *c, const cJSON *req)
{
    struct api_stats st;
    api_server_stats(t->srv, &st);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "clients", st.clients);
    cJSON_AddNumberToObject(b, "queued_bytes", (double)st.queued_bytes);
    cJSON_AddNumberToObject(b, "max_queued_bytes", (double)st.max_queued_bytes);
    cJSON_AddNumberToObject(b, "samples_dropped", (double)st.samples_dropped);
    cJSON_AddNumberToObject(b, "overflow_disconnects", (double)st.overflow_disconnects);
    cJSON_AddNumberToObject(b, "requests", (double)st.requests);
    cJSON_AddNumberToObject(b, "protocol_errors", (double)st.protocol_errors);
    cJSON_AddNumberToObject(b, "disconnects", (double)t->disconnects);
    cJSON_AddNumberToObject(b, "double_disconnects", (double)t->double_disconnects);
    cJSON_AddNumberToObject(b, "watch_changes", (double)t->watch_changes);
    cJSON_AddNumberToObject(b, "rss_kib", (double)rss_kib());
    uid_t uid;
    pid_t pid;
    if (api_client_peer(c, &uid, &pid) == 0) {
        cJSON_AddNumberToObject(b, "peer_uid", uid);
        cJSON_AddNumberToObject(b, "peer_pid", pid);
    }
    cJSON_AddStringToObject(b, "peer", api_client_name(c));
    api_reply(c, req, b);
}

/* A fake run: outcome chosen by the DUT serial ("PASS-..", "FAIL-..",
 * "ERROR-..", "ABORTED-..", "BUSY" is refused). */
static void do_run(struct testd *t, struct api_client *c, const cJSON *req)
{
    const cJSON *dut = cJSON_GetObjectItemCaseSensitive(req, "dut");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(req, "sequence");
    if (!cJSON_IsString(dut) || !cJSON_IsString(seq)) {
        api_error(c, req, API_E_BAD_REQUEST, "run needs \"sequence\" and \"dut\" strings");
        return;
    }
    /* rigctl sends the files' contents (read with its user's rights). */
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "sequence_text")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "spec_text")) ||
        seq->valuestring[0] != '/') {
        api_error(c, req, API_E_BAD_REQUEST,
                  "run needs \"sequence_text\", \"spec_text\" and an absolute \"sequence\"");
        return;
    }
    if (strcmp(dut->valuestring, "BUSY") == 0) {
        api_error(c, req, API_E_BUSY, "bench busy: run r0 owned by alice (pid 1) since 10:00:00Z");
        return;
    }
    char outcome[16] = "ERROR";
    const char *dash = strchr(dut->valuestring, '-');
    if (dash && (size_t)(dash - dut->valuestring) < sizeof outcome)
        snprintf(outcome, sizeof outcome, "%.*s", (int)(dash - dut->valuestring), dut->valuestring);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "run_id", "r1");
    cJSON_AddStringToObject(b, "state", "started");
    api_reply(c, req, b);

    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "progress");
    cJSON_AddStringToObject(ev, "run_id", "r1");
    cJSON_AddNumberToObject(ev, "progress", 0.5);
    cJSON_AddStringToObject(ev, "step", "rate_120");
    api_publish(t->srv, "run", ev);
    ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "measurement");
    cJSON_AddStringToObject(ev, "run_id", "r1");
    cJSON_AddStringToObject(ev, "name", "stroke_rate");
    cJSON_AddNumberToObject(ev, "value", 119.6);
    cJSON_AddStringToObject(ev, "units", "Hz");
    cJSON_AddStringToObject(ev, "limits", "120 +/- 5%");
    cJSON_AddStringToObject(ev, "outcome", strcmp(outcome, "FAIL") == 0 ? "FAIL" : "PASS");
    api_publish(t->srv, "measurements", ev);
    ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "finished");
    cJSON_AddStringToObject(ev, "run_id", "r1");
    cJSON_AddStringToObject(ev, "outcome", outcome);
    api_publish(t->srv, "run", ev);
}

static void canned(struct api_client *c, const cJSON *req, const char *cls)
{
    cJSON *b = cJSON_CreateObject();
    if (strcmp(cls, "devices") == 0) {
        /* Shaped like rigd's (rig/dev *_describe). */
        cJSON_AddStringToObject(b, "station", "test-bench");
        cJSON *arr = cJSON_AddArrayToObject(b, "devices");
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "kind", "pen");
        cJSON_AddBoolToObject(d, "present", 1);
        cJSON_AddStringToObject(d, "port", "/dev/ttyACM0");
        cJSON *id = cJSON_AddObjectToObject(d, "identity");
        cJSON_AddStringToObject(id, "serial", "SIMPEN-0001");
        cJSON_AddItemToArray(arr, d);
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "kind", "sensor");
        cJSON_AddBoolToObject(d, "present", 0);
        cJSON_AddItemToArray(arr, d);
    } else if (strcmp(cls, "pen") == 0) {
        /* Echo the request so tests can see what rigctl sent. */
        cJSON_AddItemToObject(b, "request", cJSON_Duplicate(req, 1));
    } else {
        cJSON_AddStringToObject(b, "state", "idle");
    }
    api_reply(c, req, b);
}

static void on_request(void *user, struct api_client *c, const char *cls, const cJSON *req)
{
    struct testd *t = user;
    if (strcmp(cls, "echo") == 0) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToObject(b, "echo", cJSON_Duplicate(req, 1));
        api_reply(c, req, b);
    } else if (strcmp(cls, "publish") == 0) {
        do_publish(t, c, req);
    } else if (strcmp(cls, "stats") == 0) {
        do_stats(t, c, req);
    } else if (strcmp(cls, "later") == 0) {
        do_later(t, c, req);
    } else if (strcmp(cls, "run") == 0) {
        do_run(t, c, req);
    } else if (strcmp(cls, "devices") == 0 || strcmp(cls, "status") == 0 ||
               strcmp(cls, "pen") == 0 || strcmp(cls, "abort") == 0) {
        canned(c, req, cls);
    } else if (strcmp(cls, "quit") == 0) {
        api_reply(c, req, NULL);
        sd_event_exit(t->ev, 0);
    } else {
        api_error(c, req, API_E_UNKNOWN_CLASS, "unknown class \"%.64s\"", cls);
    }
}

static void on_disconnect(void *user, struct api_client *c)
{
    struct testd *t = user;
    if (api_client_get_user(c) == &gone_marker)
        t->double_disconnects++;
    api_client_set_user(c, (void *)&gone_marker);
    t->disconnects++;
    for (struct later *l = t->laters; l; l = l->next)
        if (l->c == c)
            l->c = NULL;
}

/* Counts subscription changes so tests can see the hook fire. */
static void on_watch(void *user, struct api_client *c)
{
    struct testd *t = user;
    (void)c;
    t->watch_changes++;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *user)
{
    (void)s;
    (void)si;
    return sd_event_exit(user, 0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "max-clients", required_argument, NULL, 'm' },
        { "soft-cap", required_argument, NULL, 'S' },
        { "hard-cap", required_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    unsigned long max_clients = 0, soft = 0, hard = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            path = optarg;
            break;
        case 'm':
            max_clients = strtoul(optarg, NULL, 0);
            break;
        case 'S':
            soft = strtoul(optarg, NULL, 0);
            break;
        case 'H':
            hard = strtoul(optarg, NULL, 0);
            break;
        default:
            fprintf(
                stderr,
                "usage: api_testd --socket PATH [--max-clients N] [--soft-cap B] [--hard-cap B]\n");
            return 64;
        }
    }
    if (!path) {
        fprintf(stderr, "api_testd: --socket PATH is required\n");
        return 64;
    }
    struct testd t = { 0 };
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    int r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : 0;
    if (r == 0)
        r = sd_event_new(&t.ev);
    if (r >= 0)
        r = sd_event_add_signal(t.ev, NULL, SIGTERM, on_exit_signal, t.ev);
    if (r >= 0)
        r = sd_event_add_signal(t.ev, NULL, SIGINT, on_exit_signal, t.ev);
    if (r < 0) {
        fprintf(stderr, "api_testd: event loop setup: %s\n", strerror(-r));
        return 1;
    }
    static const struct api_handlers h = { .on_request = on_request,
                                           .on_disconnect = on_disconnect,
                                           .on_watch = on_watch };
    t.srv = api_server_new(t.ev, path, &h, &t);
    if (!t.srv) {
        fprintf(stderr, "api_testd: cannot serve %s: %s\n", path, strerror(errno));
        sd_event_unref(t.ev);
        return 1;
    }
    api_server_set_limits(t.srv, soft, hard, (unsigned)max_clients);
    r = sd_event_loop(t.ev);
    api_server_free(t.srv);
    while (t.laters)
        later_free(t.laters);
    sd_event_unref(t.ev);
    if (r < 0) {
        fprintf(stderr, "api_testd: event loop: %s\n", strerror(-r));
        return 1;
    }
    return 0;
}
