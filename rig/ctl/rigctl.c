/* rigctl: command-line client of rigd (JSON-lines API, docs/API.md). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_args.h"
#include "ctl/ctl_core.h"
#include "ctl/ctl_conn.h"
#include "ctl/ctl_db.h"
#include "ctl/ctl_grr.h"
#include "ctl/ctl_report.h"
#include "ctl/ctl_sync.h"
#include "version/version.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* No SA_RESTART: poll() returns EINTR so loops can notice Ctrl-C. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- output helpers -------------------------------------------------- */

static void print_json_line(const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (text) {
        puts(text);
        cJSON_free(text);
    }
    fflush(stdout);
}

static const char *str_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is_protocol_key(const char *k)
{
    return strcmp(k, "class") == 0 || strcmp(k, "id") == 0;
}

/* Scalars as text; containers compactly (truncated). */
static void print_scalar(FILE *f, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        fputs(v->valuestring, f);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "yes" : "no", f);
    } else if (cJSON_IsNull(v)) {
        fputs("-", f);
    } else if (cJSON_IsNumber(v)) {
        fprintf(f, "%.10g", v->valuedouble);
    } else {
        char *text = cJSON_PrintUnformatted(v);
        if (text) {
            fprintf(f, "%.200s%s", text, strlen(text) > 200 ? "..." : "");
            cJSON_free(text);
        }
    }
}

/* Indented "key: value" listing of an object, for replies whose exact
 * members are rigd's business (the listing follows what rigd sends). */
static void print_tree(const cJSON *obj, int indent)
{
    const cJSON *it;
    cJSON_ArrayForEach (it, obj) {
        if (indent == 0 && it->string && is_protocol_key(it->string))
            continue;
        printf("%*s%s:", indent, "", it->string ? it->string : "-");
        if (cJSON_IsObject(it) && it->child) {
            putchar('\n');
            print_tree(it, indent + 2);
        } else if (cJSON_IsArray(it) && it->child && cJSON_IsObject(it->child)) {
            putchar('\n');
            const cJSON *el;
            cJSON_ArrayForEach (el, it) {
                printf("%*s-\n", indent + 2, "");
                print_tree(el, indent + 4);
            }
        } else {
            putchar(' ');
            print_scalar(stdout, it);
            putchar('\n');
        }
    }
}

/* One event on one line: "12:00:01.234 class k=v k=v ...". */
static void print_event_line(const cJSON *ev)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    const char *cls = str_member(ev, "class");
    printf("%02d:%02d:%02d.%03ld %s", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
           cls ? cls : "?");
    const cJSON *it;
    cJSON_ArrayForEach (it, ev) {
        if (!it->string || is_protocol_key(it->string))
            continue;
        printf(" %s=", it->string);
        if (cJSON_IsArray(it) && cJSON_GetArraySize(it) > 8)
            printf("[%d values]", cJSON_GetArraySize(it));
        else
            print_scalar(stdout, it);
    }
    putchar('\n');
    fflush(stdout);
}

/* rigd's error object -> stderr. */
static void print_error_reply(const char *what, const cJSON *reply)
{
    const char *code = str_member(reply, "code");
    const char *msg = str_member(reply, "message");
    fprintf(stderr, "rigctl: %s: %s%s%s%s\n", what, msg ? msg : "request failed", code ? " (" : "",
            code ? code : "", code ? ")" : "");
}

static bool is_error(const cJSON *obj)
{
    const char *cls = str_member(obj, "class");
    return cls && strcmp(cls, "error") == 0;
}

/* The exit code for rigd refusing a request: busy has its own. */
static int refusal_exit(const cJSON *reply)
{
    const char *code = str_member(reply, "code");
    return code && strcmp(code, "busy") == 0 ? CTL_EXIT_BUSY : CTL_EXIT_ERROR;
}

/* ---- connection ------------------------------------------------------ */

static int open_conn(const struct ctl_args *a, struct ctl_conn *c)
{
    char tried[8192];
    char err[8192];
    const char *path = a->socket;
    if (!path)
        path = ctl_default_socket(tried, sizeof tried);
    if (ctl_connect(c, path, a->timeout_s, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: %s\n", err);
        if (!a->socket)
            fprintf(stderr, "rigctl: (socket looked up: %s; use --socket PATH or $RIGD_SOCKET)\n",
                    tried);
        return -1;
    }
    if (a->json)
        print_json_line(c->greeting);
    return 0;
}

static void json_event(void *user, const cJSON *obj)
{
    (void)user;
    print_json_line(obj);
}

static int subscribe(const struct ctl_args *a, struct ctl_conn *c, cJSON *topics);
static cJSON *topics_array(const char *list);

/* pen ... --hold: rigd ends a session (and stops the motor) when its
 * client disconnects, so stay connected, showing device events, until
 * Ctrl-C or SIGTERM. */
static int hold_session(const struct ctl_args *a, struct ctl_conn *c)
{
    if (subscribe(a, c, topics_array("devices")) < 0)
        return CTL_EXIT_ERROR;
    if (!a->json)
        fprintf(stderr,
                "rigctl: holding the session; Ctrl-C ends it (rigd then stops the motor)\n");
    while (!interrupted) {
        cJSON *ev;
        char err[512];
        int r = ctl_read(c, -1, &ev, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "rigctl: %s\n", err);
            return CTL_EXIT_ERROR;
        }
        if (r == 0)
            continue;
        if (a->json)
            print_json_line(ev);
        else
            print_event_line(ev);
        cJSON_Delete(ev);
    }
    return CTL_EXIT_OK;
}

/* Sends req (taken) on an open connection and prints the reply. Returns
 * the exit code for it. */
static int request_on(const struct ctl_args *a, struct ctl_conn *c, cJSON *req, const char *what,
                      void (*print)(const cJSON *reply))
{
    if (!req) {
        fprintf(stderr, "rigctl: out of memory\n");
        return CTL_EXIT_ERROR;
    }
    char err[512];
    cJSON *reply = NULL;
    int r = ctl_request(c, req, a->timeout_s, a->json ? json_event : NULL, NULL, &reply, err,
                        sizeof err);
    int rc = CTL_EXIT_OK;
    if (r == 0) {
        fprintf(stderr, "rigctl: %s: no reply from rigd within %.1f s\n", what, a->timeout_s);
        rc = CTL_EXIT_ERROR;
    } else if (r < 0) {
        fprintf(stderr, "rigctl: %s: %s\n", what, err);
        rc = CTL_EXIT_ERROR;
    } else if (a->json) {
        print_json_line(reply);
        rc = is_error(reply) ? CTL_EXIT_ERROR : CTL_EXIT_OK;
    } else if (is_error(reply)) {
        print_error_reply(what, reply);
        rc = CTL_EXIT_ERROR;
    } else {
        print(reply);
    }
    cJSON_Delete(reply);
    return rc;
}

/* Requests sent in order on one connection (so they share its session),
 * stopping at the first failure; then --hold if asked. reqs[] are taken. */
static int requests(const struct ctl_args *a, cJSON *const *reqs, const char *const *whats,
                    size_t n, void (*print)(const cJSON *reply))
{
    struct ctl_conn c;
    size_t i = 0;
    int rc = CTL_EXIT_OK;
    for (size_t k = 0; k < n; k++)
        if (!reqs[k])
            rc = CTL_EXIT_ERROR;
    if (rc != CTL_EXIT_OK) {
        fprintf(stderr, "rigctl: out of memory\n");
    } else if (open_conn(a, &c) < 0) {
        rc = CTL_EXIT_UNAVAILABLE;
    } else {
        for (; i < n && rc == CTL_EXIT_OK; i++)
            rc = request_on(a, &c, reqs[i], whats[i], print);
        if (rc == CTL_EXIT_OK && a->hold)
            rc = hold_session(a, &c);
        ctl_close(&c);
    }
    for (; i < n; i++)
        cJSON_Delete(reqs[i]);
    return rc;
}

/* One request, one reply: the shape of devices/status/pen/abort. */
static int simple_request(const struct ctl_args *a, cJSON *req, const char *what,
                          void (*print)(const cJSON *reply))
{
    return requests(a, &req, &what, 1, print);
}

static cJSON *new_request(const struct ctl_args *a, const char *cls)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "class", cls) ||
              (a->fixture && !cJSON_AddStringToObject(o, "fixture", a->fixture)))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- devices / status / pen / abort ---------------------------------- */

/* Title line per device ("pen: present"), then its details indented. */
static void print_devices(const cJSON *reply)
{
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(reply, "devices");
    if (!cJSON_IsArray(devs)) {
        print_tree(reply, 0);
        return;
    }
    const char *station = str_member(reply, "station");
    if (station)
        printf("station: %s\n", station);
    if (!devs->child)
        puts("no devices configured");
    static const char *const title_keys[] = { "name", "kind", "role" };
    const cJSON *d;
    cJSON_ArrayForEach (d, devs) {
        if (!cJSON_IsObject(d)) {
            puts("device: not configured");
            continue;
        }
        const char *title = NULL;
        size_t tk = 0;
        for (; tk < 3 && !title; tk++)
            title = str_member(d, title_keys[tk]);
        const cJSON *present = cJSON_GetObjectItemCaseSensitive(d, "present");
        printf("%s: %s\n", title ? title : "device",
               cJSON_IsBool(present) ? (cJSON_IsTrue(present) ? "present" : "MISSING")
                                     : "state unknown");
        cJSON *rest = cJSON_Duplicate(d, 1);
        if (!rest)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(rest, "present");
        if (title)
            cJSON_DeleteItemFromObjectCaseSensitive(rest, title_keys[tk - 1]);
        print_tree(rest, 2);
        cJSON_Delete(rest);
    }
}

static void print_generic(const cJSON *reply)
{
    print_tree(reply, 0);
}

static void print_abort(const cJSON *reply)
{
    const char *msg = str_member(reply, "message");
    puts(msg ? msg : "abort requested");
    print_tree(reply, 0);
}

static int cmd_devices(const struct ctl_args *a)
{
    return simple_request(a, new_request(a, "devices"), "devices", print_devices);
}

static int cmd_status(const struct ctl_args *a)
{
    return simple_request(a, new_request(a, "status"), "status", print_generic);
}

static int cmd_abort(const struct ctl_args *a)
{
    return simple_request(a, new_request(a, "abort"), "abort", print_abort);
}

static cJSON *pen_request(const char *action, const struct ctl_args *a, bool setpoints)
{
    cJSON *req = new_request(a, "pen");
    if (req) {
        cJSON_AddStringToObject(req, "action", action);
        if (setpoints && a->have_rate)
            cJSON_AddNumberToObject(req, "rate_hz", a->rate_hz);
        if (setpoints && a->have_depth)
            cJSON_AddNumberToObject(req, "depth_mm", a->depth_mm);
    }
    return req;
}

static int cmd_pen(const struct ctl_args *a)
{
    /* `pen start --rate/--depth`: set, then start, in one connection, so
	 * both happen in the same (implicit) session. */
    if (strcmp(a->pen_action, "start") == 0 && (a->have_rate || a->have_depth)) {
        cJSON *reqs[2] = { pen_request("set", a, true), pen_request("start", a, false) };
        const char *whats[2] = { "pen set", "pen start" };
        return requests(a, reqs, whats, 2, print_generic);
    }
    char what[32];
    snprintf(what, sizeof what, "pen %s", a->pen_action);
    return simple_request(a, pen_request(a->pen_action, a, true), what, print_generic);
}

/* ---- watch ----------------------------------------------------------- */

static cJSON *topics_array(const char *list)
{
    cJSON *arr = cJSON_CreateArray();
    char *copy = strdup(list);
    if (!arr || !copy) {
        cJSON_Delete(arr);
        free(copy);
        return NULL;
    }
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        cJSON_AddItemToArray(arr, cJSON_CreateString(t));
    free(copy);
    return arr;
}

/* Subscribes; prints rigd's error and returns -1 when refused. */
static int subscribe(const struct ctl_args *a, struct ctl_conn *c, cJSON *topics)
{
    cJSON *req = new_request(a, "watch");
    if (!req) {
        cJSON_Delete(topics);
        return -1;
    }
    cJSON_AddBoolToObject(req, "enable", 1);
    if (topics)
        cJSON_AddItemToObject(req, "topics", topics);
    char err[512];
    cJSON *reply = NULL;
    int r = ctl_request(c, req, a->timeout_s, NULL, NULL, &reply, err, sizeof err);
    if (r <= 0) {
        fprintf(stderr, "rigctl: watch: %s\n", r == 0 ? "no reply from rigd" : err);
        return -1;
    }
    int rc = 0;
    if (is_error(reply)) {
        print_error_reply("watch", reply);
        rc = -1;
    } else if (a->json) {
        print_json_line(reply);
    }
    cJSON_Delete(reply);
    return rc;
}

static int cmd_watch(const struct ctl_args *a)
{
    struct ctl_conn c;
    if (open_conn(a, &c) < 0)
        return CTL_EXIT_UNAVAILABLE;
    cJSON *topics = a->topics ? topics_array(a->topics) : NULL;
    if (subscribe(a, &c, topics) < 0) {
        ctl_close(&c);
        return CTL_EXIT_ERROR;
    }
    double end = a->duration_s > 0 ? now_s() + a->duration_s : 0;
    long seen = 0;
    int rc = CTL_EXIT_OK;
    while (!interrupted && (a->count == 0 || seen < a->count)) {
        double left = -1;
        if (end > 0 && (left = end - now_s()) <= 0)
            break;
        cJSON *ev;
        char err[512];
        int r = ctl_read(&c, left, &ev, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "rigctl: watch: %s\n", err);
            rc = CTL_EXIT_ERROR;
            break;
        }
        if (r == 0)
            continue;
        /* --fixture: that fixture's events and the station's own */
        const char *fx = str_member(ev, "fixture");
        if (a->fixture && fx && strcmp(fx, a->fixture) != 0) {
            cJSON_Delete(ev);
            continue;
        }
        if (a->json)
            print_json_line(ev);
        else
            print_event_line(ev);
        cJSON_Delete(ev);
        seen++;
    }
    ctl_close(&c);
    return rc;
}

/* ---- run ------------------------------------------------------------- */

struct run_view {
    const struct ctl_args *a;
    bool tty;
    bool bar_shown;
    char run_id[128];
    bool finished;
    const char *outcome; /* points into final */
    cJSON *final;        /* the "finished" event */
    unsigned measured, failed, marginal;
};

static bool for_this_run(struct run_view *v, const cJSON *ev)
{
    const char *id = str_member(ev, "run_id");
    /* Before rigd names our run (e.g. while queued with --wait) events
	 * carrying a run_id belong to someone else's run. */
    return !id || (v->run_id[0] && strcmp(id, v->run_id) == 0);
}

static void clear_bar(struct run_view *v)
{
    if (v->bar_shown) {
        fputs("\r\033[K", stdout);
        v->bar_shown = false;
    }
}

static void show_progress(struct run_view *v, const cJSON *ev)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(ev, "progress");
    const char *step = str_member(ev, "step");
    double frac = cJSON_IsNumber(p) ? p->valuedouble : 0.0;
    if (!(frac >= 0.0))
        frac = 0.0;
    if (frac > 1.0)
        frac = 1.0;
    if (v->tty) {
        char bar[31];
        int fill = (int)lround(frac * 30.0);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        printf("\r\033[K[%s] %3d%% %s", bar, (int)lround(frac * 100.0), step ? step : "");
        v->bar_shown = true;
    } else {
        printf("progress %3d%% %s\n", (int)lround(frac * 100.0), step ? step : "");
    }
    fflush(stdout);
}

static void show_measurement(struct run_view *v, const cJSON *ev)
{
    clear_bar(v);
    const char *name = str_member(ev, "name");
    const char *units = str_member(ev, "units");
    const char *outcome = str_member(ev, "outcome");
    const char *limits = str_member(ev, "limits");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(ev, "value");
    const cJSON *marg = cJSON_GetObjectItemCaseSensitive(ev, "marginal");
    v->measured++;
    if (outcome && strcmp(outcome, "PASS") != 0)
        v->failed++;
    if (cJSON_IsTrue(marg))
        v->marginal++;
    printf("  %-5s %s = ", outcome ? outcome : "?", name ? name : "?");
    /* Six significant digits: more than any bench measurement resolves. */
    if (cJSON_IsNumber(value))
        printf("%.6g", value->valuedouble);
    else
        print_scalar(stdout, value);
    printf("%s%s", units ? " " : "", units ? units : "");
    if (limits)
        printf("  [%s]", limits);
    if (cJSON_IsTrue(marg))
        fputs("  (marginal)", stdout);
    putchar('\n');
    fflush(stdout);
}

static void on_run_event(void *user, const cJSON *ev)
{
    struct run_view *v = user;
    if (v->a->json)
        print_json_line(ev);
    const char *cls = str_member(ev, "class");
    if (!cls || !for_this_run(v, ev))
        return;
    const char *event = str_member(ev, "event");
    const char *state = str_member(ev, "state");
    if (!v->a->json && state && strcmp(state, "queued") == 0) {
        const cJSON *pos = cJSON_GetObjectItemCaseSensitive(ev, "position");
        printf("bench busy: waiting (position %d)\n", cJSON_IsNumber(pos) ? pos->valueint : 0);
        fflush(stdout);
    } else if (strcmp(cls, "measurement") == 0) {
        if (!v->a->json)
            show_measurement(v, ev);
    } else if (strcmp(cls, "run") == 0 && event) {
        if (strcmp(event, "finished") == 0) {
            v->finished = true;
            cJSON_Delete(v->final);
            v->final = cJSON_Duplicate(ev, 1);
            v->outcome = str_member(v->final, "outcome");
        } else if (!v->a->json && strcmp(event, "progress") == 0) {
            show_progress(v, ev);
        } else if (!v->a->json) {
            clear_bar(v);
            const char *msg = str_member(ev, "message");
            printf("%s%s%s\n", event, msg ? ": " : "", msg ? msg : "");
        }
    }
}

static int outcome_exit(const char *outcome)
{
    if (outcome && strcmp(outcome, "PASS") == 0)
        return CTL_EXIT_OK;
    if (outcome && strcmp(outcome, "FAIL") == 0)
        return CTL_EXIT_FAIL;
    return CTL_EXIT_ERROR; /* ERROR, ABORTED, TIMEOUT, unknown */
}

static void print_summary(struct run_view *v)
{
    clear_bar(v);
    const char *reason = str_member(v->final, "reason");
    const char *record = str_member(v->final, "record");
    printf("\n%s: %s%s%s\n", v->run_id[0] ? v->run_id : "run", v->outcome ? v->outcome : "?",
           reason ? " - " : "", reason ? reason : "");
    printf("  %u measurement%s, %u not passed, %u marginal\n", v->measured,
           v->measured == 1 ? "" : "s", v->failed, v->marginal);
    if (record)
        printf("  record: %s\n", record);
}

/* The files go as contents read with this user's rights (rigd never
 * opens a client's path itself), under their canonical paths. */
static cJSON *build_run_request(const struct ctl_args *a, const struct ctl_run_files *f)
{
    cJSON *req = new_request(a, "run");
    if (!req)
        return NULL;
    cJSON_AddStringToObject(req, "sequence", f->seq_path);
    cJSON_AddStringToObject(req, "sequence_text", f->seq_text);
    cJSON_AddStringToObject(req, "spec", f->spec_path);
    cJSON_AddStringToObject(req, "spec_text", f->spec_text);
    cJSON_AddStringToObject(req, "dut", a->dut);
    if (a->operator_name)
        cJSON_AddStringToObject(req, "operator", a->operator_name);
    if (a->record)
        cJSON_AddStringToObject(req, "record", a->record);
    cJSON_AddBoolToObject(req, "wait", a->wait);
    return req;
}

/* Starts the run; fills v->run_id. Returns an exit code or -1 to go on. */
static int start_run(const struct ctl_args *a, struct ctl_conn *c, struct run_view *v)
{
    char err[512];
    cJSON *reply = NULL;
    struct ctl_run_files files;
    if (ctl_run_files_load(a->sequence, &files, stderr) < 0)
        return CTL_EXIT_ERROR;
    cJSON *req = build_run_request(a, &files);
    ctl_run_files_free(&files);
    int r =
        ctl_request(c, req, a->wait ? -1 : a->timeout_s, on_run_event, v, &reply, err, sizeof err);
    if (r <= 0) {
        fprintf(stderr, "rigctl: run: %s\n", r == 0 ? "no reply from rigd" : err);
        return CTL_EXIT_ERROR;
    }
    if (a->json)
        print_json_line(reply);
    if (is_error(reply)) {
        if (!a->json)
            print_error_reply("run", reply);
        int rc = refusal_exit(reply);
        cJSON_Delete(reply);
        return rc;
    }
    const char *id = str_member(reply, "run_id");
    if (id)
        snprintf(v->run_id, sizeof v->run_id, "%s", id);
    if (!a->json)
        printf("run %s started: %s on %s\n", v->run_id[0] ? v->run_id : "", a->sequence, a->dut);
    cJSON_Delete(reply);
    return -1;
}

static int follow_run(const struct ctl_args *a, struct ctl_conn *c, struct run_view *v)
{
    double end = a->timeout_set ? now_s() + a->timeout_s : 0;
    while (!v->finished) {
        if (interrupted) {
            clear_bar(v);
            fprintf(stderr, "rigctl: interrupted; rigd stops a run whose owner disconnects\n");
            return CTL_EXIT_ERROR;
        }
        double left = -1;
        if (end > 0 && (left = end - now_s()) <= 0) {
            clear_bar(v);
            fprintf(stderr,
                    "rigctl: run: still running after %.1f s (--timeout); leaving it to rigd\n",
                    a->timeout_s);
            return CTL_EXIT_ERROR;
        }
        cJSON *ev;
        char err[512];
        int r = ctl_read(c, left, &ev, err, sizeof err);
        if (r < 0) {
            clear_bar(v);
            fprintf(stderr, "rigctl: run: %s before the run finished\n", err);
            return CTL_EXIT_ERROR;
        }
        if (r > 0) {
            on_run_event(v, ev);
            cJSON_Delete(ev);
        }
    }
    if (!a->json)
        print_summary(v);
    int rc = outcome_exit(v->outcome);
    if (a->junit) {
        const char *record = str_member(v->final, "record");
        if (!record) {
            fprintf(stderr, "rigctl: --junit: rigd did not say where the run record is\n");
            return CTL_EXIT_ERROR;
        }
        if (ctl_write_junit(record, a->junit, v->run_id, v->outcome, str_member(v->final, "reason"),
                            stderr) < 0)
            return CTL_EXIT_ERROR;
        if (!a->json)
            printf("  junit: %s\n", a->junit);
    }
    return rc;
}

static int cmd_run(const struct ctl_args *a)
{
    struct ctl_conn c;
    if (open_conn(a, &c) < 0)
        return CTL_EXIT_UNAVAILABLE;
    struct run_view v = { .a = a, .tty = isatty(STDOUT_FILENO) && !a->json };
    int rc;
    cJSON *topics = topics_array("run,measurements");
    if (subscribe(a, &c, topics) < 0)
        rc = CTL_EXIT_ERROR;
    else if ((rc = start_run(a, &c, &v)) < 0)
        rc = follow_run(a, &c, &v);
    cJSON_Delete(v.final);
    ctl_close(&c);
    return rc;
}

/* ---- main ------------------------------------------------------------ */

int main(int argc, char **argv)
{
    /* sync reads the station database or asks rigd: its own options. */
    int sync_rc = ctl_sync_dispatch(argc, argv);
    if (sync_rc >= 0)
        return sync_rc;
    int report_rc = ctl_report_dispatch(argc, argv); /* reads files and the database */
    if (report_rc >= 0)
        return report_rc;
    struct ctl_args a;
    int rc = ctl_parse_args(argc, argv, &a, stdout, stderr);
    if (rc != CTL_EXIT_OK || a.help)
        return rc;
    if (a.version) {
        printf("rigctl %s (%s)\n", rig_version(), rig_vcs());
        return CTL_EXIT_OK;
    }
    install_signals();
    switch (a.cmd) {
    case CTL_CMD_DEVICES:
        return cmd_devices(&a);
    case CTL_CMD_STATUS:
        return cmd_status(&a);
    case CTL_CMD_PEN:
        return cmd_pen(&a);
    case CTL_CMD_WATCH:
        return cmd_watch(&a);
    case CTL_CMD_RUN:
        return cmd_run(&a);
    case CTL_CMD_ABORT:
        return cmd_abort(&a);
    case CTL_CMD_CHECK:
        return ctl_check_files(a.files, a.nfiles, stdout, stderr);
    case CTL_CMD_RECOMPUTE:
        return ctl_recompute(a.files, a.nfiles, a.json, stdout, stderr);
    case CTL_CMD_HISTORY:
    case CTL_CMD_UNIT:
    case CTL_CMD_STATS:
    case CTL_CMD_IMPORT:
        return ctl_db_command(&a);
    case CTL_CMD_GRR:
        return ctl_grr(&a, a.nfiles, a.files);
    case CTL_CMD_PRUNE:
        return a.config ? ctl_prune_config(a.config, a.pass_days, a.dry_run, a.json, stdout, stderr)
                        : ctl_prune(a.files, a.nfiles, a.pass_days, a.dry_run, a.station_db, a.json,
                                    stdout, stderr);
    case CTL_CMD_NONE:
        break;
    }
    return CTL_EXIT_USAGE;
}
