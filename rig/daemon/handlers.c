/* API request classes that touch devices and sessions:
 *   devices, status, pen (identify|status|set|start|stop), session, abort,
 *   sensor (status|tare), run (runner.c), and the station database's
 *   history, unit, stats, import (dbq.c).
 * Each class and action is a table entry naming the members it takes, so
 * every one answers a member of the wrong type or a missing one alike
 * (bad_request) before its handler looks at values (bad_argument), and
 * then at the bench: the order docs/API.md ("Which error wins") promises.
 * Device requests are asynchronous: the reply is sent when the pen answers;
 * a request whose client disconnects meanwhile completes silently.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/handlers.h"
#include "daemon/log.h"
#include "daemon/request.h"

/* An API request waiting for a device. */
struct pending {
    struct pending *next, **pprev;
    struct bench *bench;
    struct api_client *c; /* NULL once the client is gone */
    cJSON *req;
    char action[16];
    uint32_t depth_um; /* set: depth still to send (UINT32_MAX none) */
};

static struct pending *pending_new(struct bench *bench, struct api_client *c, const cJSON *req,
                                   const char *action)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->req = cJSON_Duplicate(req, 1);
    if (!p->req) {
        free(p);
        return NULL;
    }
    p->bench = bench;
    p->c = c;
    p->depth_um = UINT32_MAX;
    snprintf(p->action, sizeof p->action, "%s", action);
    p->next = bench->pending;
    if (bench->pending)
        bench->pending->pprev = &p->next;
    p->pprev = &bench->pending;
    bench->pending = p;
    return p;
}

static void pending_free(struct pending *p)
{
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    cJSON_Delete(p->req);
    free(p);
}

static void pending_client_gone(struct bench *bench, struct api_client *c)
{
    for (struct pending *p = bench->pending; p; p = p->next)
        if (p->c == c)
            p->c = NULL;
}

static void reply_pen_failure(struct pending *p, int status, const struct pen_msg *resp,
                              const char *what)
{
    if (!p->c)
        return;
    switch (status) {
    case PEN_DRV_NAK:
        api_error(p->c, p->req, API_E_DEVICE_ERROR, "pen refused %s: %s", what,
                  resp ? pen_error_str(resp->u.nak.error) : "?");
        break;
    case -ETIMEDOUT:
        api_error(p->c, p->req, API_E_TIMEOUT, "pen did not answer %s after %d tries", what,
                  1 + PEN_MAX_RETRIES);
        break;
    case -ENODEV:
        api_error(p->c, p->req, API_E_NO_DEVICE, "pen disconnected during %s", what);
        break;
    default:
        api_error(p->c, p->req, API_E_DEVICE_ERROR, "%s failed: %s", what,
                  strerror(status < 0 ? -status : EIO));
        break;
    }
}

static cJSON *pen_body(const char *action)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "action", action);
    return b;
}

static void pen_done(void *user, int status, const struct pen_msg *resp)
{
    struct pending *p = user;
    struct bench *bench = p->bench;
    if (status != 0) {
        reply_pen_failure(p, status, resp, p->action);
        pending_free(p);
        bench_sync(bench);
        return;
    }
    if (strcmp(p->action, "set") == 0 && resp->type == PEN_MSG_SET_RATE &&
        p->depth_um != UINT32_MAX) {
        /* Rate applied; now the depth. */
        struct pen_msg m = { .u.depth_um = (uint16_t)p->depth_um };
        cJSON_AddNumberToObject(p->req, "_applied_rate_hz", resp->u.rate_mhz / 1000.0);
        p->depth_um = UINT32_MAX;
        int rc = pen_drv_request(bench->pen, PEN_MSG_SET_DEPTH, &m, pen_done, p);
        if (rc < 0) {
            reply_pen_failure(p, rc, NULL, "set depth");
            pending_free(p);
        }
        bench_sync(bench);
        return;
    }
    if (p->c) {
        cJSON *b = pen_body(p->action);
        switch (resp->type) {
        case PEN_MSG_IDENTIFY:
            cJSON_AddItemToObject(b, "identity", pen_identity_to_json(&resp->u.identity));
            break;
        case PEN_MSG_GET_STATUS:
            cJSON_AddItemToObject(b, "status", pen_status_to_json(&resp->u.status));
            break;
        case PEN_MSG_SET_RATE:
            /* Only a rate was asked for: "depth_mm" is null. */
            cJSON_AddNumberToObject(b, "rate_hz", resp->u.rate_mhz / 1000.0);
            cJSON_AddNullToObject(b, "depth_mm");
            break;
        case PEN_MSG_SET_DEPTH: {
            const cJSON *ar = cJSON_GetObjectItemCaseSensitive(p->req, "_applied_rate_hz");
            if (cJSON_IsNumber(ar))
                cJSON_AddNumberToObject(b, "rate_hz", ar->valuedouble);
            else
                cJSON_AddNullToObject(b, "rate_hz");
            cJSON_AddNumberToObject(b, "depth_mm", resp->u.depth_um / 1000.0);
            break;
        }
        case PEN_MSG_START:
            cJSON_AddStringToObject(b, "motor", "starting");
            break;
        default:
            break;
        }
        if (bench->have_session && bench->owner.client == p->c)
            cJSON_AddNumberToObject(b, "session", (double)bench->owner.id);
        else
            cJSON_AddNullToObject(b, "session");
        cJSON_DeleteItemFromObject(p->req, "_applied_rate_hz");
        api_reply(p->c, p->req, b);
    }
    pending_free(p);
    bench_sync(bench);
}

/* A manual START that waited for the motor to come to rest still goes out
 * only to its client's own session. */
static bool start_still_wanted(void *user)
{
    struct pending *p = user;
    return p->c && session_owned_by(p->bench, p->c) && !p->bench->unvouched &&
           !p->bench->rigd->shutting_down;
}

static int send_pen(struct bench *bench, struct api_client *c, const cJSON *req, const char *action,
                    uint8_t type, const struct pen_msg *m, uint32_t then_depth_um)
{
    if (!pen_drv_present(bench->pen)) {
        api_error(c, req, API_E_NO_DEVICE, "pen not attached (%s)",
                  bench->cfg->pen.path[0] ? bench->cfg->pen.path : "waiting for it to appear");
        return -ENODEV;
    }
    struct pending *p = pending_new(bench, c, req, action);
    if (!p) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return -ENOMEM;
    }
    p->depth_um = then_depth_um;
    int rc = type == PEN_MSG_START ? pen_start_when_ready(bench, pen_done, start_still_wanted, p)
                                   : pen_drv_request(bench->pen, type, m, pen_done, p);
    if (rc < 0) {
        if (rc == -EAGAIN)
            api_error(c, req, API_E_BUSY, "too many pen requests in flight; retry");
        else
            reply_pen_failure(p, rc, NULL, action);
        pending_free(p);
        return rc;
    }
    bench_sync(bench);
    return 0;
}

/* Controlling the motor needs the session; a free bench is claimed
 * implicitly for this client (released when it disconnects). */
static bool ensure_session(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (session_owned_by(bench, c))
        return true;
    if (!bench->have_session && !bench->stopping && session_claim(bench, c, req, true) == 0)
        return true;
    char run_desc[300];
    if (bench->have_session)
        api_error(c, req, API_E_BUSY,
                  "bench busy: session %llu owned by %s (pid %ld) on %s since %s",
                  (unsigned long long)bench->owner.id, bench->owner.user, (long)bench->owner.pid,
                  bench->owner.host, bench->owner.started);
    else if (runner_active_desc(bench, run_desc, sizeof run_desc))
        api_error(c, req, API_E_BUSY, "bench busy: %s; retry", run_desc);
    else
        api_error(c, req, API_E_BUSY, "bench busy: a motor stop is in progress; retry");
    return false;
}

/* "stop": anyone may stop the motor (safety); reply says if confirmed. */
struct stop_req {
    struct stop_req *next;
    struct api_client *c; /* NULL once the client is gone */
    cJSON *req;
    char action[16]; /* a copy: the request is freed after dispatch */
};

static void stop_replied(struct bench *bench, void *user, bool confirmed, const char *detail)
{
    struct stop_req *s = user;
    for (struct stop_req **pp = &bench->stop_reqs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    if (s->c) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "action", s->action);
        cJSON_AddBoolToObject(b, "confirmed", confirmed);
        cJSON_AddStringToObject(b, "detail", detail);
        api_reply(s->c, s->req, b);
    }
    cJSON_Delete(s->req);
    free(s);
}

static void request_stop(struct bench *bench, struct api_client *c, const cJSON *req,
                         const char *action, const char *reason)
{
    struct stop_req *s = calloc(1, sizeof *s);
    if (s)
        s->req = cJSON_Duplicate(req, 1);
    if (!s || !s->req) {
        free(s);
        /* Still stop; just no reply with the outcome. */
        safe_stop(bench, reason, NULL, NULL);
        api_error(c, req, API_E_INTERNAL,
                  "stop commanded, but out of memory to report its outcome");
        return;
    }
    s->c = c;
    snprintf(s->action, sizeof s->action, "%s", action);
    s->next = bench->stop_reqs;
    bench->stop_reqs = s;
    safe_stop(bench, reason, stop_replied, s);
}

static void stop_client_gone(struct bench *bench, struct api_client *c)
{
    for (struct stop_req *s = bench->stop_reqs; s; s = s->next)
        if (s->c == c)
            s->c = NULL;
}

/* The "rate_hz" of a pen set: the protocol's range (every pen's). */
static int check_rate(struct api_client *c, const cJSON *req, double hz, uint32_t *mhz)
{
    double lo = PEN_RATE_MIN_MHZ / 1000.0, hi = PEN_RATE_MAX_MHZ / 1000.0;
    if (!isfinite(hz) || hz < lo || hz > hi) {
        api_error(c, req, API_E_BAD_ARGUMENT, "\"rate_hz\" %g is out of range: %g..%g Hz", hz, lo,
                  hi);
        return -1;
    }
    *mhz = (uint32_t)lround(hz * 1000.0);
    return 0;
}

/* The "depth_mm" of a pen set: within the attached pen's range and on
 * one of its steps (what the pen would refuse, as "value out of range",
 * after the rate had already been applied). Without an identified pen,
 * the protocol's range in whole micrometres; its absence is answered
 * later, as no_device. */
static int check_depth(struct bench *bench, struct api_client *c, const cJSON *req, double mm,
                       uint16_t *um)
{
    const struct pen_identity *id =
        bench->pen && pen_drv_present(bench->pen) ? pen_drv_identity(bench->pen) : NULL;
    double lo = id ? id->depth_min_um : 0;
    double hi = id && id->depth_max_um < PEN_DEPTH_MAX_UM ? id->depth_max_um : PEN_DEPTH_MAX_UM;
    double step = id && id->depth_step_um ? id->depth_step_um : 1;
    double x = mm * 1000.0, k = (x - lo) / step;
    /* 1e-6 of a step: decimal fractions like 0.1 mm are not exact doubles. */
    if (isfinite(x) && x >= lo - 1e-6 * step && x <= hi + 1e-6 * step &&
        fabs(k - round(k)) <= 1e-6) {
        *um = (uint16_t)lround(lo + round(k) * step);
        return 0;
    }
    if (id)
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"depth_mm\" %g is not a depth pen %s can set: %g..%g mm in steps of %g mm", mm,
                  id->serial, lo / 1000.0, hi / 1000.0, step / 1000.0);
    else
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"depth_mm\" %g is out of range: 0..%g mm in whole micrometres", mm,
                  PEN_DEPTH_MAX_UM / 1000.0);
    return -1;
}

/* Nothing new starts once rigd is shutting down. */
static bool running(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (!bench->rigd->shutting_down)
        return true;
    api_error(c, req, API_E_INVALID_STATE, "rigd is shutting down");
    return false;
}

/* The pen is needed before the bench is claimed: a refused request must
 * not leave its client holding an implicit session. */
static bool pen_attached(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (bench->pen && pen_drv_present(bench->pen))
        return true;
    api_error(c, req, API_E_NO_DEVICE, "pen not attached (%s)",
              bench->cfg->pen.path[0] ? bench->cfg->pen.path : "waiting for it to appear");
    return false;
}

static void pen_identify(struct bench *bench, struct api_client *c, const cJSON *req)
{
    send_pen(bench, c, req, "identify", PEN_MSG_IDENTIFY, NULL, UINT32_MAX);
}

static void pen_status(struct bench *bench, struct api_client *c, const cJSON *req)
{
    send_pen(bench, c, req, "status", PEN_MSG_GET_STATUS, NULL, UINT32_MAX);
}

static void pen_set(struct bench *bench, struct api_client *c, const cJSON *req)
{
    const cJSON *rate = api_member(req, "rate_hz"), *depth = api_member(req, "depth_mm");
    if (!rate && !depth) {
        api_error(c, req, API_E_BAD_REQUEST, "pen set needs \"rate_hz\" and/or \"depth_mm\"");
        return;
    }
    uint32_t mhz = 0;
    uint16_t um = 0;
    if ((rate && check_rate(c, req, rate->valuedouble, &mhz) < 0) ||
        (depth && check_depth(bench, c, req, depth->valuedouble, &um) < 0))
        return;
    if (!running(bench, c, req) || !pen_attached(bench, c, req) || !ensure_session(bench, c, req))
        return;
    if (rate) {
        struct pen_msg m = { .u.rate_mhz = mhz };
        send_pen(bench, c, req, "set", PEN_MSG_SET_RATE, &m, depth ? um : UINT32_MAX);
    } else {
        struct pen_msg m = { .u.depth_um = um };
        send_pen(bench, c, req, "set", PEN_MSG_SET_DEPTH, &m, UINT32_MAX);
    }
}

static void pen_start(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (!running(bench, c, req) || !pen_attached(bench, c, req) || !ensure_session(bench, c, req))
        return;
    if (bench->unvouched) {
        api_error(c, req, API_E_INVALID_STATE,
                  "a motor stop was not confirmed; re-attach the pen or start a new session");
        return;
    }
    bench_update_heartbeat(bench);
    send_pen(bench, c, req, "start", PEN_MSG_START, NULL, UINT32_MAX);
}

static void pen_stop(struct bench *bench, struct api_client *c, const cJSON *req)
{
    char reason[160];
    snprintf(reason, sizeof reason, "pen stop by %s", api_client_name(c));
    request_stop(bench, c, req, "stop", reason);
}

static const struct api_member pen_set_members[] = {
    { "rate_hz", API_T_NUMBER, false },
    { "depth_mm", API_T_NUMBER, false },
    { NULL, 0, false },
};

static const struct rigd_request pen_actions[] = {
    { "identify", pen_identify, NULL },  { "status", pen_status, NULL },
    { "set", pen_set, pen_set_members }, { "start", pen_start, NULL },
    { "stop", pen_stop, NULL },          { NULL, NULL, NULL },
};

static void handle_pen(struct bench *bench, struct api_client *c, const cJSON *req)
{
    rigd_dispatch_action(bench, c, req, "pen", pen_actions, NULL);
}

/* "operator": the person a client acting for others (rigweb) aborts for
 * (API minor 4); the record then names both. */
static const struct api_member abort_members[] = {
    { "operator", API_T_STRING, false },
    { NULL, 0, false },
};

static void handle_abort(struct bench *bench, struct api_client *c, const cJSON *req)
{
    char user[64], reason[200];
    const cJSON *op = api_member(req, "operator");
    if (op && !rigd_printable(op->valuestring, 64)) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"operator\" must be 1..63 printable characters (no newline or control "
                  "characters)");
        return;
    }
    session_peer_user(c, user, sizeof user);
    if (op)
        snprintf(reason, sizeof reason, "abort requested by %s (via %s)", op->valuestring, user);
    else
        snprintf(reason, sizeof reason, "abort requested by %s", user);
    /* Abort the active run (-> ABORTED) before stopping the motor; the
     * runner refuses any later start, so teardown cannot restart it. */
    runner_abort(bench, reason);
    request_stop(bench, c, req, "abort", reason);
}

static void sensor_done(void *user, int status, const char *msg)
{
    struct pending *p = user;
    if (p->c) {
        if (status == 0) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "action", p->action);
            api_reply(p->c, p->req, b);
        } else {
            api_error(p->c, p->req, status == -ENODEV ? API_E_NO_DEVICE : API_E_DEVICE_ERROR,
                      "sensor %s failed: %s", p->action, msg);
        }
    }
    struct bench *bench = p->bench;
    pending_free(p);
    bench_sync(bench);
}

static void sensor_status(struct bench *bench, struct api_client *c, const cJSON *req)
{
    cJSON *b = bench_sensor_json(bench);
    if (!b) {
        api_error(c, req, API_E_NO_DEVICE, "the station has no sensor head");
        return;
    }
    cJSON_AddStringToObject(b, "action", "status");
    api_reply(c, req, b);
}

static void sensor_tare(struct bench *bench, struct api_client *c, const cJSON *req)
{
    if (!bench->sh || !sh_drv_present(bench->sh)) {
        api_error(c, req, API_E_NO_DEVICE, "sensor head not attached");
        return;
    }
    struct pending *p = pending_new(bench, c, req, "tare");
    if (!p) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    int rc = sh_drv_tare(bench->sh, sensor_done, p);
    if (rc < 0) {
        api_error(c, req, API_E_DEVICE_ERROR, "cannot send TARE: %s", strerror(-rc));
        pending_free(p);
    }
    bench_sync(bench);
}

static const struct rigd_request sensor_actions[] = {
    { "status", sensor_status, NULL },
    { "tare", sensor_tare, NULL },
    { NULL, NULL, NULL },
};

static void handle_sensor(struct bench *bench, struct api_client *c, const cJSON *req)
{
    rigd_dispatch_action(bench, c, req, "sensor", sensor_actions, "status");
}

/* What "action" takes (its values are each class's action table). */
static const struct api_member action_members[] = {
    { "action", API_T_STRING, false },
    { NULL, 0, false },
};

/* The run request's members; their values are checked in runreq.c. */
static const struct api_member run_members[] = {
    { "sequence", API_T_STRING, true },
    { "sequence_text", API_T_STRING, false },
    { "spec", API_T_STRING, false },
    { "spec_text", API_T_STRING, false },
    { "dut", API_T_STRING, true },
    { "operator", API_T_STRING, false },
    { "record", API_T_STRING, false },
    { "wait", API_T_BOOL, false },
    { NULL, 0, false },
};

/* The station database's queries: "fixture" is a filter there (any
 * fixture the database has seen, not only this station's). */
static const struct api_member history_members[] = {
    { "dut", API_T_STRING, false },   { "since", API_T_STRING, false },
    { "until", API_T_STRING, false }, { "outcome", API_T_STRING, false },
    { "limit", API_T_NUMBER, false }, { NULL, 0, false },
};
static const struct api_member unit_members[] = {
    { "serial", API_T_STRING, true },
    { NULL, 0, false },
};
static const struct api_member stats_members[] = {
    { "measurement", API_T_STRING, false },
    { "since", API_T_STRING, false },
    { "until", API_T_STRING, false },
    { NULL, 0, false },
};
static const struct api_member import_members[] = {
    { "dir", API_T_STRING, true },
    { NULL, 0, false },
};

/* The "fixture" every request may carry. */
static const struct api_member fixture_members[] = {
    { "fixture", API_T_STRING, false },
    { NULL, 0, false },
};

static void handle_devices(struct rigd *r, struct bench *one, struct api_client *c,
                           const cJSON *req)
{
    api_reply(c, req, rigd_devices_json(r, one));
}

static void handle_status(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req)
{
    api_reply(c, req, rigd_status_json(r, one));
}

/* A request class: about the whole station (optionally narrowed to one
 * fixture) or addressed to one fixture's bench. */
struct rigd_class {
    const char *name;
    void (*station)(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req);
    void (*fixture)(struct bench *bench, struct api_client *c, const cJSON *req);
    const struct api_member *members;
    bool fixture_filter; /* "fixture" filters, it does not address a bench */
};

static const struct rigd_class request_classes[] = {
    { "devices", handle_devices, NULL, NULL, false },
    { "status", handle_status, NULL, NULL, false },
    { "pen", NULL, handle_pen, action_members, false },
    { "session", NULL, session_handle, action_members, false },
    { "abort", NULL, handle_abort, abort_members, false },
    { "sensor", NULL, handle_sensor, action_members, false },
    { "run", NULL, runner_handle_run, run_members },
    { "history", dbq_history, NULL, history_members, true },
    { "unit", dbq_unit, NULL, unit_members, true },
    { "stats", dbq_stats, NULL, stats_members, true },
    { "import", dbq_import, NULL, import_members, true },
    { NULL, NULL, NULL, NULL, false },
};

static void fixture_names(const struct rigd *r, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->nbenches && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "", r->benches[i].name);
}

/* The fixture req names, the only one when it names none, else NULL
 * (*ambiguous: several fixtures and none named). -1 after replying
 * bad_argument for a fixture the station does not have. */
static int addressed_bench(struct rigd *r, struct api_client *c, const cJSON *req,
                           struct bench **out)
{
    const cJSON *fx = api_member(req, "fixture");
    *out = NULL;
    if (!fx) {
        if (r->nbenches == 1)
            *out = &r->benches[0];
        return 0;
    }
    for (size_t i = 0; i < r->nbenches; i++)
        if (strcmp(r->benches[i].name, fx->valuestring) == 0) {
            *out = &r->benches[i];
            return 0;
        }
    char names[STATION_MAX_FIXTURES * STATION_FIXTURE_NAME_MAX];
    fixture_names(r, names, sizeof names);
    api_error(c, req, API_E_BAD_ARGUMENT, "unknown fixture \"%.64s\" (station %s has: %s)",
              fx->valuestring, r->cfg.station, names);
    return -1;
}

void handlers_on_request(void *user, struct api_client *c, const char *cls, const cJSON *req)
{
    struct rigd *r = user;
    const struct rigd_class *q = request_classes;
    while (q->name && strcmp(q->name, cls) != 0)
        q++;
    struct bench *one = NULL;
    if (!q->name) {
        api_error(c, req, API_E_UNKNOWN_CLASS, "unknown class \"%.64s\"", cls);
    } else if (api_members_require(c, req, cls, fixture_members) == 0 &&
               api_members_require(c, req, cls, q->members) == 0 &&
               (q->fixture_filter || addressed_bench(r, c, req, &one) == 0)) {
        if (q->station) {
            q->station(r, one, c, req);
        } else if (one) {
            q->fixture(one, c, req);
        } else {
            char names[STATION_MAX_FIXTURES * STATION_FIXTURE_NAME_MAX];
            fixture_names(r, names, sizeof names);
            api_error(c, req, API_E_BAD_REQUEST,
                      "%s needs \"fixture\": station %s has several (%s)", cls, r->cfg.station,
                      names);
        }
    }
    for (size_t i = 0; i < r->nbenches; i++)
        bench_sync(&r->benches[i]);
}

void handlers_on_disconnect(void *user, struct api_client *c)
{
    struct rigd *r = user;
    dbq_client_gone(r->dbq, c);
    for (size_t i = 0; i < r->nbenches; i++) {
        struct bench *bench = &r->benches[i];
        pending_client_gone(bench, c);
        stop_client_gone(bench, c);
        if (r->exiting)
            continue;
        runner_client_gone(bench, c); /* abort its run before the session ends */
        session_client_gone(bench, c);
        bench_update_stream(bench); /* it may have been the last samples watcher */
    }
}
