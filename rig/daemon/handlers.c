/* API request classes that touch devices and sessions:
 *   devices, status, pen (identify|status|set|start|stop), session, abort,
 *   sensor (status|tare), run (placeholder for the engine).
 * Device requests are asynchronous: the reply is sent when the pen answers;
 * a request whose client disconnects meanwhile completes silently.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rigd.h"

/* An API request waiting for a device. */
struct pending {
    struct pending *next, **pprev;
    struct rigd *r;
    struct api_client *c;       /* NULL once the client is gone */
    cJSON *req;
    char action[16];
    uint32_t depth_um;          /* set: depth still to send (UINT32_MAX none) */
};

static struct pending *pending_list;

static struct pending *pending_new(struct rigd *r, struct api_client *c, const cJSON *req,
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
    p->r = r;
    p->c = c;
    p->depth_um = UINT32_MAX;
    snprintf(p->action, sizeof p->action, "%s", action);
    p->next = pending_list;
    if (pending_list)
        pending_list->pprev = &p->next;
    p->pprev = &pending_list;
    pending_list = p;
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

static void pending_client_gone(struct api_client *c)
{
    for (struct pending *p = pending_list; p; p = p->next)
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
    struct rigd *r = p->r;
    if (status != 0) {
        reply_pen_failure(p, status, resp, p->action);
        pending_free(p);
        bench_sync(r);
        return;
    }
    if (strcmp(p->action, "set") == 0 && resp->type == PEN_MSG_SET_RATE &&
        p->depth_um != UINT32_MAX) {
        /* Rate applied; now the depth. */
        struct pen_msg m = {.u.depth_um = (uint16_t)p->depth_um};
        cJSON_AddNumberToObject(p->req, "_applied_rate_hz", resp->u.rate_mhz / 1000.0);
        p->depth_um = UINT32_MAX;
        int rc = pen_drv_request(r->pen, PEN_MSG_SET_DEPTH, &m, pen_done, p);
        if (rc < 0) {
            reply_pen_failure(p, rc, NULL, "set depth");
            pending_free(p);
        }
        bench_sync(r);
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
            cJSON_AddNumberToObject(b, "rate_hz", resp->u.rate_mhz / 1000.0);
            break;
        case PEN_MSG_SET_DEPTH: {
            const cJSON *ar = cJSON_GetObjectItemCaseSensitive(p->req, "_applied_rate_hz");
            if (cJSON_IsNumber(ar))
                cJSON_AddNumberToObject(b, "rate_hz", ar->valuedouble);
            cJSON_AddNumberToObject(b, "depth_mm", resp->u.depth_um / 1000.0);
            break;
        }
        case PEN_MSG_START:
            cJSON_AddStringToObject(b, "motor", "starting");
            break;
        default:
            break;
        }
        if (r->have_session && r->owner.client == p->c)
            cJSON_AddNumberToObject(b, "session", (double)r->owner.id);
        cJSON_DeleteItemFromObject(p->req, "_applied_rate_hz");
        api_reply(p->c, p->req, b);
    }
    pending_free(p);
    bench_sync(r);
}

/* A manual START that waited for the motor to come to rest still goes out
 * only to its client's own session. */
static bool start_still_wanted(void *user)
{
    struct pending *p = user;
    return p->c && session_owned_by(p->r, p->c) && !p->r->unvouched && !p->r->shutting_down;
}

static int send_pen(struct rigd *r, struct api_client *c, const cJSON *req, const char *action,
                    uint8_t type, const struct pen_msg *m, uint32_t then_depth_um)
{
    if (!pen_drv_present(r->pen)) {
        api_error(c, req, API_E_NO_DEVICE, "pen not attached (%s)",
                  r->cfg.pen.path[0] ? r->cfg.pen.path : "waiting for it to appear");
        return -ENODEV;
    }
    struct pending *p = pending_new(r, c, req, action);
    if (!p) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return -ENOMEM;
    }
    p->depth_um = then_depth_um;
    int rc = type == PEN_MSG_START ? pen_start_when_ready(r, pen_done, start_still_wanted, p)
                                   : pen_drv_request(r->pen, type, m, pen_done, p);
    if (rc < 0) {
        if (rc == -EAGAIN)
            api_error(c, req, API_E_BUSY, "too many pen requests in flight; retry");
        else
            reply_pen_failure(p, rc, NULL, action);
        pending_free(p);
        return rc;
    }
    bench_sync(r);
    return 0;
}

/* Controlling the motor needs the session; a free bench is claimed
 * implicitly for this client (released when it disconnects). */
static bool ensure_session(struct rigd *r, struct api_client *c, const cJSON *req)
{
    if (r->shutting_down) {
        api_error(c, req, API_E_INVALID_STATE, "rigd is shutting down");
        return false;
    }
    if (session_owned_by(r, c))
        return true;
    if (!r->have_session && !r->stopping && session_claim(r, c, req, true) == 0)
        return true;
    char run_desc[300];
    if (r->have_session)
        api_error(c, req, API_E_BUSY, "bench busy: session %llu owned by %s (pid %ld) on %s since %s",
                  (unsigned long long)r->owner.id, r->owner.user, (long)r->owner.pid, r->owner.host,
                  r->owner.started);
    else if (runner_active_desc(r, run_desc, sizeof run_desc))
        api_error(c, req, API_E_BUSY, "bench busy: %s; retry", run_desc);
    else
        api_error(c, req, API_E_BUSY, "bench busy: a motor stop is in progress; retry");
    return false;
}

/* "stop": anyone may stop the motor (safety); reply says if confirmed. */
struct stop_req {
    struct stop_req *next;
    struct api_client *c;   /* NULL once the client is gone */
    cJSON *req;
    char action[16];        /* a copy: the request is freed after dispatch */
};

static struct stop_req *stop_reqs;

static void stop_replied(struct rigd *r, void *user, bool confirmed, const char *detail)
{
    (void)r;
    struct stop_req *s = user;
    for (struct stop_req **pp = &stop_reqs; *pp; pp = &(*pp)->next)
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

static void request_stop(struct rigd *r, struct api_client *c, const cJSON *req, const char *action,
                         const char *reason)
{
    struct stop_req *s = calloc(1, sizeof *s);
    if (s)
        s->req = cJSON_Duplicate(req, 1);
    if (!s || !s->req) {
        free(s);
        /* Still stop; just no reply with the outcome. */
        safe_stop(r, reason, NULL, NULL);
        api_error(c, req, API_E_INTERNAL, "stop commanded, but out of memory to report its outcome");
        return;
    }
    s->c = c;
    snprintf(s->action, sizeof s->action, "%s", action);
    s->next = stop_reqs;
    stop_reqs = s;
    safe_stop(r, reason, stop_replied, s);
}

static void stop_client_gone(struct api_client *c)
{
    for (struct stop_req *s = stop_reqs; s; s = s->next)
        if (s->c == c)
            s->c = NULL;
}

static int get_number(struct api_client *c, const cJSON *req, const char *key, double lo, double hi,
                      double *out, bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        api_error(c, req, API_E_BAD_ARGUMENT, "\"%s\" must be a number %g..%g", key, lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

static void handle_pen(struct rigd *r, struct api_client *c, const cJSON *req)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "action");
    if (!cJSON_IsString(a)) {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "pen needs \"action\": identify, status, set, start or stop");
        return;
    }
    const char *action = a->valuestring;
    if (strcmp(action, "identify") == 0) {
        send_pen(r, c, req, action, PEN_MSG_IDENTIFY, NULL, UINT32_MAX);
    } else if (strcmp(action, "status") == 0) {
        send_pen(r, c, req, action, PEN_MSG_GET_STATUS, NULL, UINT32_MAX);
    } else if (strcmp(action, "set") == 0) {
        double rate = 0, depth = 0;
        bool has_rate, has_depth;
        if (get_number(c, req, "rate_hz", PEN_RATE_MIN_MHZ / 1000.0, PEN_RATE_MAX_MHZ / 1000.0, &rate,
                       &has_rate) < 0 ||
            get_number(c, req, "depth_mm", 0, PEN_DEPTH_MAX_UM / 1000.0, &depth, &has_depth) < 0)
            return;
        if (!has_rate && !has_depth) {
            api_error(c, req, API_E_BAD_ARGUMENT, "pen set needs \"rate_hz\" and/or \"depth_mm\"");
            return;
        }
        if (!ensure_session(r, c, req))
            return;
        uint32_t depth_um = (uint32_t)lround(depth * 1000.0);
        if (has_rate) {
            struct pen_msg m = {.u.rate_mhz = (uint32_t)lround(rate * 1000.0)};
            send_pen(r, c, req, action, PEN_MSG_SET_RATE, &m, has_depth ? depth_um : UINT32_MAX);
        } else {
            struct pen_msg m = {.u.depth_um = (uint16_t)depth_um};
            send_pen(r, c, req, action, PEN_MSG_SET_DEPTH, &m, UINT32_MAX);
        }
    } else if (strcmp(action, "start") == 0) {
        if (!ensure_session(r, c, req))
            return;
        if (r->unvouched) {
            api_error(c, req, API_E_INVALID_STATE,
                      "a motor stop was not confirmed; re-attach the pen or start a new session");
            return;
        }
        bench_update_heartbeat(r);
        send_pen(r, c, req, action, PEN_MSG_START, NULL, UINT32_MAX);
    } else if (strcmp(action, "stop") == 0) {
        char reason[160];
        snprintf(reason, sizeof reason, "pen stop by %s", api_client_name(c));
        request_stop(r, c, req, action, reason);
    } else {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "unknown pen action '%s' (identify, status, set, start, stop)", action);
    }
}

static void handle_abort(struct rigd *r, struct api_client *c, const cJSON *req)
{
    char user[64], reason[160];
    session_peer_user(c, user, sizeof user);
    snprintf(reason, sizeof reason, "abort requested by %s", user);
    /* Abort the active run (-> ABORTED) before stopping the motor; the
     * runner refuses any later start, so teardown cannot restart it. */
    runner_abort(r, reason);
    request_stop(r, c, req, "abort", reason);
}

static cJSON *status_json(struct rigd *r)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "station", r->cfg.station);
    cJSON_AddStringToObject(b, "state", r->shutting_down ? "shutting_down" : "running");
    cJSON *sess = cJSON_AddObjectToObject(b, "session");
    cJSON_AddStringToObject(sess, "state", r->have_session ? "owned" : "free");
    if (r->have_session)
        cJSON_AddItemToObject(sess, "owner", session_owner_json(&r->owner));
    int waiting = 0;
    for (struct session_waiter *w = r->waiters; w; w = w->next)
        waiting++;
    cJSON_AddNumberToObject(sess, "waiting", waiting);
    cJSON *dev = cJSON_AddObjectToObject(b, "devices");
    cJSON_AddBoolToObject(dev, "pen", r->pen && pen_drv_present(r->pen));
    cJSON_AddBoolToObject(dev, "sensor", r->sh && sh_drv_present(r->sh));
    cJSON_AddBoolToObject(dev, "streaming", r->sh && sh_drv_streaming(r->sh));
    cJSON_AddBoolToObject(dev, "heartbeat", r->pen && pen_drv_heartbeat(r->pen));
    if (r->pen && pen_drv_present(r->pen)) {
        uint8_t state;
        uint32_t faults;
        bool known = pen_drv_motor(r->pen, &state, &faults);
        char names[96];
        cJSON_AddStringToObject(dev, "pen_motor", known ? pen_state_str(state) : "unknown");
        cJSON_AddStringToObject(dev, "pen_faults", pen_fault_names(faults, names, sizeof names));
    }
    if (r->last_stop_detail[0]) {
        cJSON *ls = cJSON_AddObjectToObject(b, "last_stop");
        cJSON_AddBoolToObject(ls, "confirmed", r->last_stop_confirmed);
        cJSON_AddStringToObject(ls, "reason", r->stop_reason);
        cJSON_AddStringToObject(ls, "detail", r->last_stop_detail);
    }
    runner_status_add(r, b);
    struct api_stats st;
    api_server_stats(r->api, &st);
    cJSON *a = cJSON_AddObjectToObject(b, "api");
    cJSON_AddNumberToObject(a, "clients", st.clients);
    cJSON_AddNumberToObject(a, "requests", (double)st.requests);
    cJSON_AddNumberToObject(a, "protocol_errors", (double)st.protocol_errors);
    cJSON_AddNumberToObject(a, "samples_dropped", (double)st.samples_dropped);
    return b;
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
    struct rigd *r = p->r;
    pending_free(p);
    bench_sync(r);
}

static void handle_sensor(struct rigd *r, struct api_client *c, const cJSON *req)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "action");
    const char *action = cJSON_IsString(a) ? a->valuestring : "status";
    if (strcmp(action, "status") == 0) {
        api_reply(c, req, r->sh ? dev_describe(sh_drv_dev(r->sh)) : cJSON_CreateObject());
        return;
    }
    if (strcmp(action, "tare") != 0) {
        api_error(c, req, API_E_BAD_ARGUMENT, "unknown sensor action '%s' (status, tare)", action);
        return;
    }
    if (!sh_drv_present(r->sh)) {
        api_error(c, req, API_E_NO_DEVICE, "sensor head not attached");
        return;
    }
    struct pending *p = pending_new(r, c, req, action);
    if (!p) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    int rc = sh_drv_tare(r->sh, sensor_done, p);
    if (rc < 0) {
        api_error(c, req, API_E_DEVICE_ERROR, "cannot send TARE: %s", strerror(-rc));
        pending_free(p);
    }
    bench_sync(r);
}

void handlers_on_request(void *user, struct api_client *c, const char *cls, const cJSON *req)
{
    struct rigd *r = user;
    if (strcmp(cls, "devices") == 0) {
        api_reply(c, req, bench_devices_json(r));
    } else if (strcmp(cls, "status") == 0) {
        api_reply(c, req, status_json(r));
    } else if (strcmp(cls, "pen") == 0) {
        handle_pen(r, c, req);
    } else if (strcmp(cls, "session") == 0) {
        session_handle(r, c, req);
    } else if (strcmp(cls, "abort") == 0) {
        handle_abort(r, c, req);
    } else if (strcmp(cls, "sensor") == 0) {
        handle_sensor(r, c, req);
    } else if (strcmp(cls, "run") == 0) {
        runner_handle_run(r, c, req);
    } else {
        api_error(c, req, API_E_UNKNOWN_CLASS, "unknown class '%s'", cls);
    }
    bench_sync(r);
}

void handlers_on_disconnect(void *user, struct api_client *c)
{
    struct rigd *r = user;
    pending_client_gone(c);
    stop_client_gone(c);
    if (r->exiting)
        return;
    runner_client_gone(r, c);   /* abort its run before the session ends */
    session_client_gone(r, c);
    bench_update_stream(r);     /* it may have been the last samples watcher */
}
