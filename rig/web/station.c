/* rigweb station snapshot (see station.h). */
#include "web/station.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/rigd_link.h"

#define MAX_FIX       32
#define RIGD_WAIT_S   10.0
/* Runs per history reply (rigd's most), and at most this many replies
 * counted for today (100 000 runs a day per fixture). */
#define HISTORY_PAGE  1000
#define HISTORY_PAGES 100

/* What rigweb knows of a fixture's current run beyond rigd's status. */
struct run_note {
    char fixture[64];
    char run_id[80];
    char operator[64];
    double progress; /* < 0: no progress event yet */
};

struct station {
    pthread_mutex_t mu;
    struct run_note notes[MAX_FIX];
};

int station_open(struct station **out)
{
    struct station *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void station_close(struct station *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The note of `fixture` (a free one taken when `create`). Lock held. */
static struct run_note *note_of(struct station *s, const char *fixture, bool create)
{
    struct run_note *free_slot = NULL;
    for (int i = 0; i < MAX_FIX; i++) {
        if (strcmp(s->notes[i].fixture, fixture) == 0)
            return &s->notes[i];
        if (!free_slot && !s->notes[i].fixture[0])
            free_slot = &s->notes[i];
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->fixture, sizeof free_slot->fixture, "%s", fixture);
    free_slot->progress = -1;
    return free_slot;
}

static void note_run(struct station *s, const char *fixture, const char *run_id)
{
    struct run_note *n = note_of(s, fixture, true);
    if (n && strcmp(n->run_id, run_id) != 0) {
        snprintf(n->run_id, sizeof n->run_id, "%s", run_id);
        n->operator[0] = '\0';
        n->progress = -1;
    }
}

void station_note_event(struct station *s, const cJSON *ev)
{
    const char *cls = str(ev, "class"), *fx = str(ev, "fixture"), *id = str(ev, "run_id");
    const char *event = str(ev, "event");
    if (!cls || !fx || !id || !event || strcmp(cls, "run") != 0)
        return;
    pthread_mutex_lock(&s->mu);
    note_run(s, fx, id);
    struct run_note *n = note_of(s, fx, false);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(ev, "progress");
    if (n && strcmp(event, "progress") == 0 && cJSON_IsNumber(p))
        n->progress = p->valuedouble;
    pthread_mutex_unlock(&s->mu);
}

void station_note_operator(struct station *s, const char *fixture, const char *run_id,
                           const char *user)
{
    pthread_mutex_lock(&s->mu);
    note_run(s, fixture, run_id);
    struct run_note *n = note_of(s, fixture, false);
    if (n)
        snprintf(n->operator, sizeof n->operator, "%s", user);
    pthread_mutex_unlock(&s->mu);
}

/* Days since 1970 of a YYYYMMDD date. */
static long day_number(unsigned ymd)
{
    struct tm tm = { .tm_year = (int)(ymd / 10000) - 1900,
                     .tm_mon = (int)(ymd / 100 % 100) - 1,
                     .tm_mday = (int)(ymd % 100) };
    return (long)(timegm(&tm) / 86400);
}

const char *station_cal_state(unsigned due, unsigned today, int *days_left)
{
    *days_left = 0;
    if (due < 19000101 || due > 99991231)
        return "unknown";
    *days_left = (int)(day_number(due) - day_number(today));
    if (*days_left < 0)
        return "overdue";
    return *days_left <= 30 ? "due_soon" : "ok";
}

/* Sends {"class":cls,...members} and returns the reply if it is not an
 * error (else NULL). */
static cJSON *ask(struct rigd_link *link, cJSON *req)
{
    cJSON *reply = NULL;
    if (link_request(link, req, RIGD_WAIT_S, &reply) != 0)
        return NULL;
    const char *cls = str(reply, "class");
    if (!cls || strcmp(cls, "error") == 0) {
        cJSON_Delete(reply);
        return NULL;
    }
    return reply;
}

static cJSON *req_new(const char *cls)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "class", cls);
    return r;
}

static unsigned today_ymd(void)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* One device of the snapshot from its rigd `devices` entry. */
static cJSON *device_json(const cJSON *d)
{
    if (!cJSON_IsObject(d))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    const cJSON *present = cJSON_GetObjectItemCaseSensitive(d, "present");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "identity");
    const char *kind = str(d, "kind");
    cJSON_AddBoolToObject(o, "present", cJSON_IsTrue(present));
    const char *serial = str(id, "serial"), *model = str(id, "model");
    serial ? cJSON_AddStringToObject(o, "serial", serial) : cJSON_AddNullToObject(o, "serial");
    if (kind && strcmp(kind, "pen") == 0) {
        const cJSON *motor = cJSON_GetObjectItemCaseSensitive(d, "motor");
        const char *ms = str(motor, "state");
        model ? cJSON_AddStringToObject(o, "model", model) : cJSON_AddNullToObject(o, "model");
        ms ? cJSON_AddStringToObject(o, "motor", ms) : cJSON_AddNullToObject(o, "motor");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(motor, "faults");
        cJSON_AddItemToObject(o, "faults", f ? cJSON_Duplicate(f, true) : cJSON_CreateNull());
        return o;
    }
    const char *stream = str(d, "stream");
    cJSON_AddBoolToObject(o, "streaming", stream && strcmp(stream, "streaming") == 0);
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(d, "calibration");
    const cJSON *due = cJSON_GetObjectItemCaseSensitive(cal, "due_date");
    cJSON *c = cJSON_AddObjectToObject(o, "calibration");
    unsigned ymd = cJSON_IsNumber(due) && due->valuedouble > 0 ? (unsigned)due->valuedouble : 0;
    int left;
    const char *state = station_cal_state(ymd, today_ymd(), &left);
    if (strcmp(state, "unknown") == 0) {
        cJSON_AddNullToObject(c, "due");
        cJSON_AddNullToObject(c, "days_left");
    } else {
        char buf[16];
        snprintf(buf, sizeof buf, "%04u-%02u-%02u", ymd / 10000, ymd / 100 % 100, ymd % 100);
        cJSON_AddStringToObject(c, "due", buf);
        cJSON_AddNumberToObject(c, "days_left", left);
    }
    /* rigd's own verdict wins (it refuses measurements when overdue). */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cal, "due")))
        state = "overdue";
    cJSON_AddStringToObject(c, "state", state);
    return o;
}

/* Seconds since a UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z" (< 0: unknown). */
static double utc_age_s(const char *utc)
{
    struct tm tm = { 0 };
    const char *rest = utc ? strptime(utc, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    double frac = *rest == '.' ? strtod(rest, NULL) : 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (double)(now.tv_sec - timegm(&tm)) + (double)now.tv_nsec / 1e9 - frac;
}

/* The snapshot's "run" of a fixture from rigd's status run object. */
static cJSON *run_json(struct station *s, const char *fixture, const cJSON *run)
{
    if (!cJSON_IsObject(run))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    const char *id = str(run, "run_id");
    static const char *const copy[] = { "run_id", "dut", "sequence", "started", NULL };
    for (int i = 0; copy[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, copy[i]);
        cJSON_AddItemToObject(o, copy[i], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    char op[64] = "";
    double p = -1;
    pthread_mutex_lock(&s->mu);
    struct run_note *n = note_of(s, fixture, false);
    if (n && id && strcmp(n->run_id, id) == 0) {
        snprintf(op, sizeof op, "%s", n->operator);
        p = n->progress;
    }
    pthread_mutex_unlock(&s->mu);
    const char *owner = str(run, "owner");
    cJSON_AddStringToObject(o, "operator", op[0] ? op : owner ? owner : "");
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(run, "total");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(run, "step");
    cJSON_AddItemToObject(o, "steps", total ? cJSON_Duplicate(total, true) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "index", step ? cJSON_Duplicate(step, true) : cJSON_CreateNull());
    const char *sn = str(run, "step_name");
    sn ? cJSON_AddStringToObject(o, "step", sn) : cJSON_AddNullToObject(o, "step");
    double age = utc_age_s(str(run, "started"));
    if (p >= 0) {
        cJSON_AddNumberToObject(o, "progress", p);
        if (p > 0.001 && age >= 0)
            cJSON_AddNumberToObject(o, "time_left_s", round(age * (1 - p) / p));
        else
            cJSON_AddNullToObject(o, "time_left_s");
    } else {
        cJSON_AddNullToObject(o, "progress");
        cJSON_AddNullToObject(o, "time_left_s");
    }
    cJSON_AddBoolToObject(o, "aborting",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "aborting")));
    return o;
}

/* The failing measurements of run `id` of unit `serial`. */
static cJSON *failing_of(struct rigd_link *link, const char *serial, const char *id)
{
    cJSON *req = req_new("unit");
    cJSON_AddStringToObject(req, "serial", serial);
    cJSON *u = ask(link, req), *out = cJSON_CreateArray();
    const cJSON *run;
    cJSON_ArrayForEach (run, cJSON_GetObjectItemCaseSensitive(u, "runs")) {
        const char *rid = str(run, "id");
        if (!rid || strcmp(rid, id) != 0)
            continue;
        const cJSON *f;
        cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive(run, "failing")) {
            cJSON *m = cJSON_CreateObject();
            static const char *const keep[] = { "name",    "value", "units", "limit",
                                                "outcome", "note",  NULL };
            for (int i = 0; keep[i]; i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, keep[i]);
                cJSON_AddItemToObject(m, keep[i],
                                      v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
            }
            cJSON_AddItemToArray(out, m);
        }
    }
    cJSON_Delete(u);
    return out;
}

/* A history request of one fixture's runs since `since` (or all, NULL). */
static cJSON *history_req(const char *fixture, const char *since, int limit)
{
    cJSON *req = req_new("history");
    cJSON_AddStringToObject(req, "fixture", fixture);
    if (since)
        cJSON_AddStringToObject(req, "since", since);
    cJSON_AddNumberToObject(req, "limit", limit);
    return req;
}

/* Counts the finished runs of `runs` (and their PASSes); *last: the newest
 * finished one, if not set yet. */
static void count_runs(const cJSON *runs, int *count, int *pass, const cJSON **last)
{
    const cJSON *r;
    cJSON_ArrayForEach (r, runs) {
        const char *oc = str(r, "outcome");
        if (!oc)
            continue; /* still going: counts neither today nor as last */
        if (!*last)
            *last = r;
        (*count)++;
        *pass += strcmp(oc, "PASS") == 0;
    }
}

/* "today" and "last" of one fixture from the station database. */
static void add_history(cJSON *fo, struct rigd_link *link, const char *fixture)
{
    char since[16];
    unsigned d = today_ymd();
    snprintf(since, sizeof since, "%04u-%02u-%02u", d / 10000, d / 100 % 100, d % 100);
    cJSON *h = ask(link, history_req(fixture, since, HISTORY_PAGE));
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(h, "runs");
    if (!cJSON_IsArray(runs)) {
        cJSON_AddNullToObject(fo, "today");
        cJSON_AddNullToObject(fo, "last");
        cJSON_Delete(h);
        return;
    }
    int count = 0, pass = 0;
    const cJSON *last = NULL;
    count_runs(runs, &count, &pass, &last);
    /* A busy day has more runs than one reply holds: page back in time
     * (newest first, `until` exclusive) until a short page. */
    cJSON *page = NULL;
    const cJSON *pr = runs;
    for (int k = 1; k < HISTORY_PAGES && cJSON_GetArraySize(pr) == HISTORY_PAGE; k++) {
        const char *until = str(cJSON_GetArrayItem(pr, HISTORY_PAGE - 1), "started");
        if (!until)
            break;
        cJSON *req = history_req(fixture, since, HISTORY_PAGE);
        cJSON_AddStringToObject(req, "until", until);
        cJSON *next = ask(link, req);
        cJSON_Delete(page);
        page = next;
        pr = cJSON_GetObjectItemCaseSensitive(page, "runs");
        count_runs(pr, &count, &pass, &last);
    }
    cJSON *t = cJSON_AddObjectToObject(fo, "today");
    cJSON_AddNumberToObject(t, "count", count);
    cJSON_AddNumberToObject(t, "pass", pass);
    count ? cJSON_AddNumberToObject(t, "yield", (double)pass / count)
          : cJSON_AddNullToObject(t, "yield");
    cJSON *older = NULL;
    if (!last) {
        /* Nothing finished today: the newest finished run of any day. */
        older = ask(link, history_req(fixture, NULL, 10));
        const cJSON *r;
        cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive(older, "runs")) {
            if (str(r, "outcome")) {
                last = r;
                break;
            }
        }
    }
    if (!last) {
        cJSON_AddNullToObject(fo, "last");
    } else {
        cJSON *l = cJSON_AddObjectToObject(fo, "last");
        static const struct {
            const char *from, *to;
        } map[] = { { "id", "run_id" },         { "dut_serial", "dut" }, { "outcome", "outcome" },
                    { "attempt", "attempt" },   { "message", "reason" }, { "ended", "ended" },
                    { "operator", "operator" }, { NULL, NULL } };
        for (int i = 0; map[i].from; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(last, map[i].from);
            cJSON_AddItemToObject(l, map[i].to, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
        }
        const char *oc = str(last, "outcome"), *dut = str(last, "dut_serial"),
                   *id = str(last, "id");
        if (oc && strcmp(oc, "PASS") != 0 && dut && id)
            cJSON_AddItemToObject(l, "failing", failing_of(link, dut, id));
        else
            cJSON_AddItemToObject(l, "failing", cJSON_CreateArray());
    }
    cJSON_Delete(page);
    cJSON_Delete(older);
    cJSON_Delete(h);
}

static cJSON *disconnected(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "rigd"), "connected", false);
    cJSON_AddNullToObject(o, "station");
    cJSON_AddArrayToObject(o, "fixtures");
    return o;
}

cJSON *station_build(struct station *s, struct rigd_link *link)
{
    cJSON *st = ask(link, req_new("status"));
    cJSON *dv = st ? ask(link, req_new("devices")) : NULL;
    if (!st || !dv) {
        cJSON_Delete(st);
        cJSON_Delete(dv);
        return disconnected();
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "rigd"), "connected", true);
    const char *name = str(st, "station");
    name ? cJSON_AddStringToObject(o, "station", name) : cJSON_AddNullToObject(o, "station");
    cJSON *arr = cJSON_AddArrayToObject(o, "fixtures");
    const cJSON *f;
    cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive(st, "fixtures")) {
        const char *id = str(f, "name");
        if (!id)
            continue;
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddStringToObject(fo, "id", id);
        cJSON *devs = cJSON_AddObjectToObject(fo, "devices");
        cJSON_AddNullToObject(devs, "pen");
        cJSON_AddNullToObject(devs, "sensor");
        const cJSON *d;
        cJSON_ArrayForEach (d, cJSON_GetObjectItemCaseSensitive(dv, "devices")) {
            const char *dfx = str(d, "fixture"), *kind = str(d, "kind");
            if (dfx && kind && strcmp(dfx, id) == 0 &&
                (strcmp(kind, "pen") == 0 || strcmp(kind, "sensor") == 0))
                cJSON_ReplaceItemInObjectCaseSensitive(devs, kind, device_json(d));
        }
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(f, "run");
        const cJSON *sess = cJSON_GetObjectItemCaseSensitive(f, "session");
        const char *sstate = str(sess, "state");
        cJSON_AddBoolToObject(fo, "busy",
                              cJSON_IsObject(run) || (sstate && strcmp(sstate, "owned") == 0));
        cJSON_AddItemToObject(fo, "run", run_json(s, id, run));
        add_history(fo, link, id);
        cJSON_AddItemToArray(arr, fo);
    }
    cJSON_Delete(st);
    cJSON_Delete(dv);
    return o;
}
