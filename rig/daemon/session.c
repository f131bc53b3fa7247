/* One session per bench. A session is what lets a client drive the pen
 * (manual control now, runs later): while it exists rigd sends heartbeats,
 * and when its owner disconnects, releases it or aborts, the motor is
 * stopped. A second claimant gets "busy" naming the owner, or with
 * "wait": true is queued and answered when the session becomes free.
 *
 * Request: {"class":"session","action":"claim"|"release"|"status",
 *           "wait":bool, "host":"...", "purpose":"..."}
 * Replies always carry "owner" (null when nobody owns the bench).
 */
#include "daemon/session.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"

/* A run active or still ending on the bench (the runner layer's hook). */
static bool run_active(struct bench *bench, char *desc, size_t len)
{
    return bench->hooks.run_active && bench->hooks.run_active(bench, desc, len);
}

void session_attach(struct bench *bench)
{
    bench->hooks.stop_done = session_after_stop;
}

cJSON *session_owner_json(const struct session_owner *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "session", (double)o->id);
    cJSON_AddStringToObject(j, "user", o->user);
    cJSON_AddNumberToObject(j, "uid", o->uid);
    cJSON_AddNumberToObject(j, "pid", o->pid);
    cJSON_AddStringToObject(j, "host", o->host);
    if (o->purpose[0])
        cJSON_AddStringToObject(j, "purpose", o->purpose);
    else
        cJSON_AddNullToObject(j, "purpose");
    cJSON_AddStringToObject(j, "started", o->started);
    cJSON_AddBoolToObject(j, "implicit", o->implicit);
    return j;
}

bool session_owned_by(const struct bench *bench, const struct api_client *c)
{
    return bench->have_session && bench->owner.client == c;
}

static void copy_opt_string(const cJSON *req, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (cJSON_IsString(v))
        snprintf(dst, cap, "%s", v->valuestring);
}

void session_peer_user(const struct api_client *c, char *out, size_t len)
{
    uid_t uid = (uid_t)-1;
    pid_t pid = 0;
    if (api_client_peer(c, &uid, &pid) < 0) {
        snprintf(out, len, "an unknown user");
        return;
    }
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
        snprintf(out, len, "%s", res->pw_name);
    else
        snprintf(out, len, "uid %ld", (long)uid);
}

static void fill_owner(struct bench *bench, struct session_owner *o, struct api_client *c,
                       const cJSON *req, bool implicit)
{
    memset(o, 0, sizeof *o);
    o->id = ++bench->rigd->next_session_id;
    o->client = c;
    o->implicit = implicit;
    uid_t uid = (uid_t)-1;
    pid_t pid = 0;
    if (api_client_peer(c, &uid, &pid) < 0) {
        uid = (uid_t)-1;
        pid = 0;
    }
    o->uid = uid;
    o->pid = pid;
    session_peer_user(c, o->user, sizeof o->user);
    /* The socket is local: the host is this machine unless the client says
     * more (e.g. a CI runner naming its job host). */
    snprintf(o->host, sizeof o->host, "%s", bench->rigd->hostname);
    copy_opt_string(req, "host", o->host, sizeof o->host);
    copy_opt_string(req, "purpose", o->purpose, sizeof o->purpose);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(o->started, sizeof o->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int session_claim(struct bench *bench, struct api_client *c, const cJSON *req, bool implicit)
{
    if (bench->have_session)
        return bench->owner.client == c ? 0 : -EBUSY;
    /* A run whose session ended (owner left or released) may still send
     * its teardown STOP: that must never stop a new owner's motor. */
    if (run_active(bench, NULL, 0))
        return -EBUSY;
    fill_owner(bench, &bench->owner, c, req, implicit);
    bench->have_session = true;
    bench->unvouched = false;
    bench_log(bench, LOG_NOTICE, "session %llu claimed by %s (pid %ld, %s)%s",
              (unsigned long long)bench->owner.id, bench->owner.user, (long)bench->owner.pid,
              bench->owner.host, implicit ? " for manual pen control" : "");
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "session_claimed");
    cJSON_AddItemToObject(ev, "owner", session_owner_json(&bench->owner));
    bench_publish(bench, "devices", ev);
    bench_update_heartbeat(bench);
    bench_update_stream(bench);
    return 0;
}

static void add_owner(const struct bench *bench, cJSON *b)
{
    if (bench->have_session)
        cJSON_AddItemToObject(b, "owner", session_owner_json(&bench->owner));
    else
        cJSON_AddNullToObject(b, "owner");
}

static cJSON *session_reply(const struct bench *bench, const char *state)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "state", state);
    add_owner(bench, b);
    return b;
}

/* A queued claim gets the bench. */
static void grant_waiter(struct bench *bench, struct benchq_entry *e)
{
    if (session_claim(bench, e->c, e->req, false) == 0)
        api_reply(e->c, e->req, session_reply(bench, "owner"));
}

void bench_hand_on(struct bench *bench)
{
    struct benchq_entry *e;
    while (!bench->rigd->shutting_down && !bench->rigd->exiting &&
           (e = benchq_head(&bench->waiting))) {
        if (e->kind == BENCHQ_SESSION) {
            if (bench->have_session || bench->stopping || run_active(bench, NULL, 0))
                return;
            grant_waiter(bench, benchq_pop(&bench->waiting));
            benchq_entry_free(e);
            continue;
        }
        /* Only the runner layer queues runs, so its hook is there. */
        int rc =
            bench->hooks.run_start_queued ? bench->hooks.run_start_queued(bench, e->c, e->req) : -1;
        if (rc == 0)
            return; /* not free for it yet: it keeps its place */
        benchq_entry_free(benchq_pop(&bench->waiting));
        if (rc > 0)
            return; /* started: the bench is the run's now */
    }
}

/* Any safe stop finished: a session that was ending has now really ended,
 * so the next waiter may have the bench. */
void session_after_stop(struct bench *bench)
{
    bench_hand_on(bench); /* a queued claim or run gets it now, not at the next poll */
    bench_update_stream(bench);
}

void session_release(struct bench *bench, const char *reason)
{
    if (!bench->have_session)
        return;
    bench_log(bench, LOG_NOTICE, "session %llu of %s ends: %s", (unsigned long long)bench->owner.id,
              bench->owner.user, reason);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "session_released");
    cJSON_AddItemToObject(ev, "owner", session_owner_json(&bench->owner));
    cJSON_AddStringToObject(ev, "reason", reason);
    bench_publish(bench, "devices", ev);
    bench->have_session = false;
    char why[160];
    snprintf(why, sizeof why, "session ended: %s", reason);
    /* A run of this session (the owner releasing mid-run, or leaving) is
     * aborted first, so the engine never starts the motor again and its
     * record says why; then the motor is stopped. */
    if (bench->hooks.run_abort_client)
        bench->hooks.run_abort_client(bench, bench->owner.client, why);
    /* Heartbeats stay on until the stop is confirmed or has failed. */
    safe_stop(bench, why, NULL, NULL);
}

void session_client_gone(struct bench *bench, struct api_client *c)
{
    benchq_drop_client(&bench->waiting, c);
    if (session_owned_by(bench, c))
        session_release(bench, "owner disconnected");
}

static void session_status(struct bench *bench, struct api_client *c, const cJSON *req)
{
    api_reply(c, req,
              session_reply(bench, bench->have_session
                                       ? (session_owned_by(bench, c) ? "owner" : "busy")
                                       : "free"));
}

/* "host" and "purpose" name the owner in logs, status and busy messages:
 * printable text only (a newline would forge a log line). */
static int check_label(struct api_client *c, const cJSON *req, const char *key, size_t max)
{
    const cJSON *v = api_member(req, key);
    if (!v || rigd_printable(v->valuestring, max))
        return 0;
    api_error(c, req, API_E_BAD_ARGUMENT,
              "\"%s\" must be 1..%zu printable characters (no newline or control characters)", key,
              max - 1);
    return -1;
}

static void session_claim_request(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (check_label(c, req, "host", sizeof bench->owner.host) < 0 ||
        check_label(c, req, "purpose", sizeof bench->owner.purpose) < 0)
        return;
    if (bench->rigd->shutting_down) {
        api_error(c, req, API_E_INVALID_STATE, "rigd is shutting down");
        return;
    }
    if (session_owned_by(bench, c)) {
        bench->owner.implicit = false;
        api_reply(c, req, session_reply(bench, "owner"));
        return;
    }
    /* A stop in flight means the previous session is still ending. */
    if (!bench->have_session && !bench->stopping && session_claim(bench, c, req, false) == 0) {
        api_reply(c, req, session_reply(bench, "owner"));
        return;
    }
    if (cJSON_IsTrue(api_member(req, "wait"))) {
        if (benchq_position(&bench->waiting, c, BENCHQ_SESSION)) {
            api_error(c, req, API_E_INVALID_STATE, "already waiting for the session");
            return;
        }
        if (benchq_push(&bench->waiting, BENCHQ_SESSION, c, req) < 0) {
            api_error(c, req, API_E_INTERNAL, "out of memory");
            return;
        }
        /* Announce the queueing; the final reply (same id) comes when
         * the session is granted. */
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "class", "session");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
        if (id)
            cJSON_AddItemToObject(ev, "id", cJSON_Duplicate(id, 1));
        cJSON_AddStringToObject(ev, "state", "queued");
        cJSON_AddNumberToObject(ev, "position",
                                benchq_position(&bench->waiting, c, BENCHQ_SESSION));
        add_owner(bench, ev);
        api_send(c, ev);
        if (!bench->have_session && !bench->stopping)
            bench_hand_on(bench);
        return;
    }
    char run_desc[300];
    if (bench->have_session)
        api_error(c, req, API_E_BUSY,
                  "bench busy: session %llu owned by %s (pid %ld) on %s since %s",
                  (unsigned long long)bench->owner.id, bench->owner.user, (long)bench->owner.pid,
                  bench->owner.host, bench->owner.started);
    else if (run_active(bench, run_desc, sizeof run_desc))
        api_error(c, req, API_E_BUSY, "bench busy: %s; retry or use wait", run_desc);
    else
        api_error(c, req, API_E_BUSY,
                  "bench busy: the previous session is still stopping the motor");
}

static void session_release_request(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (!session_owned_by(bench, c)) {
        api_error(c, req, API_E_INVALID_STATE, "you do not own the session");
        return;
    }
    session_release(bench, "released by owner");
    api_reply(c, req, session_reply(bench, "released"));
}

static const struct api_member claim_members[] = {
    { "wait", API_T_BOOL, false },
    { "host", API_T_STRING, false },
    { "purpose", API_T_STRING, false },
    { NULL, 0, false },
};

static const struct rigd_request session_actions[] = {
    { "status", session_status, NULL },
    { "claim", session_claim_request, claim_members },
    { "release", session_release_request, NULL },
    { NULL, NULL, NULL },
};

void session_handle(struct bench *bench, struct api_client *c, const cJSON *req)
{
    rigd_dispatch_action(bench, c, req, "session", session_actions, "status");
}
