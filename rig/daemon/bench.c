/* The bench as rigd sees it: the two drivers, their callbacks, device
 * events for watchers, heartbeats, sensor streaming on demand and the
 * decimated live samples. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "record.h"
#include "rigd.h"

void bench_publish_device(struct rigd *r, const char *device, const char *event, const char *fmt, ...)
{
    if (!r->api)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "device", device);
    cJSON_AddStringToObject(ev, "event", event);
    cJSON_AddStringToObject(ev, "message", msg);
    api_publish(r->api, "devices", ev);
}

void bench_sync(struct rigd *r)
{
    if (r->pen_watch.dev)
        dev_watch_sync(&r->pen_watch);
    if (r->sh_watch.dev)
        dev_watch_sync(&r->sh_watch);
}

void bench_update_heartbeat(struct rigd *r)
{
    bool on = r->pen && pen_drv_present(r->pen) && (r->have_session || r->stopping) &&
              !r->unvouched && !r->exiting;
    if (r->pen && on != pen_drv_heartbeat(r->pen)) {
        log_msg(LOG_INFO, "pen heartbeats %s", on ? "on" : "off");
        pen_drv_set_heartbeat(r->pen, on);
    }
    bench_sync(r);
}

/* ---- streaming on demand ---- */

static bool stream_wanted(struct rigd *r)
{
    if (r->shutting_down || !r->sh || !sh_drv_present(r->sh))
        return false;
    return r->have_session || r->stream_holds > 0 || api_has_watchers(r->api, "samples");
}

/* A stream that ended or failed to start although it is still wanted is
 * retried by a one-shot timer, never at once: a sensor head that keeps
 * failing must not make rigd loop on START/STOP. */
static void arm_stream_retry(struct rigd *r)
{
    if (!r->demand_timer || r->exiting)
        return;
    int on = SD_EVENT_OFF;
    if (sd_event_source_get_enabled(r->demand_timer, &on) >= 0 && on != SD_EVENT_OFF)
        return;   /* already pending: one retry per period at most */
    int rc = sd_event_source_set_time_relative(r->demand_timer, RIGD_DEMAND_CHECK_MS * 1000u);
    if (rc >= 0)
        rc = sd_event_source_set_enabled(r->demand_timer, SD_EVENT_ONESHOT);
    if (rc < 0)
        log_msg(LOG_WARNING, "sensor: cannot arm the stream retry timer: %s", strerror(-rc));
}

static void stream_done(void *user, int status, const char *msg)
{
    struct rigd *r = user;
    if (status < 0 && status != -ECANCELED) {
        log_msg(LOG_WARNING, "sensor: %s", msg);
        arm_stream_retry(r);
        bench_sync(r);
        return;
    }
    /* The demand may have changed while the request was in flight (the
     * last watcher left during START): follow it now. */
    bench_update_stream(r);
}

void bench_update_stream(struct rigd *r)
{
    if (!r->sh || !sh_drv_present(r->sh))
        return;
    bool want = stream_wanted(r);
    bool on = sh_drv_streaming(r->sh);
    if (want && !on) {
        int rc = sh_drv_start(r->sh, stream_done, r);
        if (rc < 0 && rc != -EALREADY) {
            log_msg(LOG_WARNING, "sensor: cannot start streaming: %s", strerror(-rc));
            arm_stream_retry(r);
        }
    } else if (!want && on) {
        int rc = sh_drv_stop(r->sh, stream_done, r);
        if (rc >= 0)
            r->stream_stop_asked = true;
        else if (rc != -EALREADY)
            log_msg(LOG_WARNING, "sensor: cannot stop streaming: %s", strerror(-rc));
    }
    bench_sync(r);
}

/* The stream retry timer (see arm_stream_retry). Demand changes themselves
 * (session, watch, disconnect, attach) call bench_update_stream directly. */
static int on_demand_timer(sd_event_source *s, uint64_t usec, void *user)
{
    (void)s;
    (void)usec;
    bench_update_stream(user);
    return 0;
}

/* ---- live samples: block means at RIGD_LIVE_RATE_HZ ---- */

static void live_reset(struct live_decim *l, uint64_t first, uint32_t rate_hz)
{
    memset(l, 0, sizeof *l);
    l->factor = rate_hz > RIGD_LIVE_RATE_HZ ? rate_hz / RIGD_LIVE_RATE_HZ : 1;
    l->expect_in = first;
    l->next_out_index = first / l->factor;
}

static void on_samples(void *user, uint64_t first, const int32_t *force, const int32_t *disp,
                       size_t n, uint32_t rate_hz)
{
    struct rigd *r = user;
    runner_on_samples(r, first, force, disp, n, rate_hz);
    if (!api_has_watchers(r->api, "samples"))
        return;
    struct live_decim *l = &r->live;
    uint32_t factor = rate_hz > RIGD_LIVE_RATE_HZ ? rate_hz / RIGD_LIVE_RATE_HZ : 1;
    /* A gap or a rate change restarts averaging: never average across. */
    if (first != l->expect_in || factor != l->factor)
        live_reset(l, first, rate_hz);
    cJSON *fa = NULL, *da = NULL;
    uint64_t out_first = l->next_out_index;
    for (size_t i = 0; i < n; i++) {
        l->sum_f += force[i];
        if (disp[i] != SH_NO_TARGET && disp[i] != SH_OUT_OF_RANGE) {
            l->sum_d += disp[i];
            l->n_d++;
        }
        if (++l->in_window < l->factor)
            continue;
        if (!fa) {
            fa = cJSON_CreateArray();
            da = cJSON_CreateArray();
        }
        cJSON_AddItemToArray(fa, cJSON_CreateNumber((double)l->sum_f / l->in_window / 1e6));
        cJSON_AddItemToArray(da, l->n_d ? cJSON_CreateNumber((double)l->sum_d / l->n_d / 1e6)
                                        : cJSON_CreateNull());
        l->sum_f = l->sum_d = 0;
        l->in_window = l->n_d = 0;
        l->next_out_index++;
    }
    l->expect_in = first + n;
    if (!fa)
        return;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddNumberToObject(ev, "index", (double)out_first);
    cJSON_AddNumberToObject(ev, "rate_hz", (double)rate_hz / l->factor);
    cJSON_AddItemToObject(ev, "force_n", fa);
    cJSON_AddItemToObject(ev, "disp_mm", da);
    api_publish(r->api, "samples", ev);
}

/* ---- faults the rig caused ---- */

/* The pen's WATCHDOG fault means its host stopped sending: rigd crashed,
 * hung, was stopped, or was killed by systemd's watchdog with the motor
 * running. The pen was right to stop, and it is not the pen's failure:
 * rigd clears that fault itself (and records that it did) so the next run
 * is not refused "fault active" and blamed on a good pen. A fault the pen
 * raised itself (stall, overcurrent, ...) stays latched: it is the pen's,
 * and a run on it FAILs naming it. */
static void clear_done(void *user, int status, const struct pen_msg *resp)
{
    struct rigd *r = user;
    r->clearing_fault = false;
    if (status == 0) {
        log_msg(LOG_NOTICE, "pen: cleared the WATCHDOG fault the rig caused (%s)", r->fault_why);
        bench_publish_device(r, "pen", "fault_cleared", "WATCHDOG fault cleared by rigd: %s",
                             r->fault_why);
        cJSON *a = cJSON_CreateObject();
        struct timespec ts;
        char utc[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        record_utc(&ts, utc);
        cJSON_AddStringToObject(a, "utc", utc);
        cJSON_AddStringToObject(a, "action", "clear_pen_fault");
        cJSON_AddStringToObject(a, "faults", "WATCHDOG");
        cJSON_AddStringToObject(a, "reason", r->fault_why);
        const struct pen_identity *id = pen_drv_identity(r->pen);
        cJSON_AddStringToObject(a, "pen_serial", id ? id->serial : "");
        runner_note_rig_action(r, a);
    } else {
        log_msg(LOG_ERR, "pen: could not clear the WATCHDOG fault (%s)",
                status == PEN_DRV_NAK && resp ? pen_error_str(resp->u.nak.error)
                                               : strerror(status < 0 ? -status : EIO));
    }
    bench_sync(r);
}

static void check_pen_faults(struct rigd *r, bool at_attach)
{
    uint32_t faults = 0;
    (void)pen_drv_motor(r->pen, NULL, &faults);
    if (!(faults & PEN_FAULT_HOST_CAUSED) || !pen_drv_present(r->pen))
        return;
    snprintf(r->fault_why, sizeof r->fault_why, "%s",
             at_attach ? "latched before rigd attached the pen: a previous rigd crashed, hung or "
                         "was killed with the motor running"
                       : r->have_session
                             ? "rigd did not send the pen a request for 500 ms while its motor "
                               "ran (rigd hung, stopped or starved of CPU)"
                             : "the pen's watchdog stopped a motor no session of rigd was "
                               "driving (left running by a previous host)");
    if (!at_attach)
        runner_on_rig_problem(r, "the pen's watchdog stopped the motor: rigd did not feed it "
                                 "for 500 ms (rigd hung, stopped or starved of CPU)");
    char names[96];
    if (faults & PEN_FAULT_LATCHED & ~PEN_FAULT_HOST_CAUSED) {
        log_msg(LOG_WARNING, "pen: faults %s latched: not clearing (the pen raised some itself)",
                pen_fault_names(faults & PEN_FAULT_LATCHED, names, sizeof names));
        return;
    }
    uint8_t state;
    /* CLEAR_FAULT outside FAULT is a no-op: wait for the state event. */
    if (r->clearing_fault || !pen_drv_motor(r->pen, &state, NULL) || state != PEN_STATE_FAULT)
        return;
    if (pen_drv_request(r->pen, PEN_MSG_CLEAR_FAULT, NULL, clear_done, r) == 0)
        r->clearing_fault = true;
    bench_sync(r);
}

/* ---- driver callbacks ---- */

static void pen_presence(void *user, bool present, const char *reason)
{
    struct rigd *r = user;
    if (present) {
        const struct pen_identity *id = pen_drv_identity(r->pen);
        r->unvouched = false;
        bench_publish_device(r, "pen", "attached", "%s serial %s on %s", id ? id->model : "?",
                             id ? id->serial : "?", pen_drv_port_name(r->pen));
        r->clearing_fault = false;
        check_pen_faults(r, true);
        /* A motor running when rigd finds the pen was started by a host
         * that is gone (a rigd killed mid-run): stop it now rather than
         * leave it to the pen's watchdog. */
        uint8_t state;
        if (pen_drv_motor(r->pen, &state, NULL) &&
            (state == PEN_STATE_SPINUP || state == PEN_STATE_RUNNING) && !r->have_session)
            safe_stop(r, "motor found running at attach (left by a previous host)", NULL, NULL);
    } else {
        bench_publish_device(r, "pen", "detached", "%s", reason);
        if (r->have_session) {
            log_msg(LOG_ERR, "pen lost during session %llu of %s: %s",
                    (unsigned long long)r->owner.id, r->owner.user, reason);
            runner_on_pen_lost(r, reason);   /* the active run ends in ERROR */
        }
    }
    pen_start_on_state(r);   /* a START waiting for the motor fails now */
    bench_update_heartbeat(r);
}

static void pen_event(void *user, const struct pen_msg *m)
{
    struct rigd *r = user;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "device", "pen");
    if (m->type == PEN_MSG_EVT_STATE) {
        cJSON_AddStringToObject(ev, "event", "state");
        cJSON_AddStringToObject(ev, "state", pen_state_str(m->u.evt_state.state));
        cJSON_AddStringToObject(ev, "previous", pen_state_str(m->u.evt_state.previous));
        cJSON_AddNumberToObject(ev, "reason", m->u.evt_state.reason);
        log_msg(LOG_INFO, "pen: state %s -> %s", pen_state_str(m->u.evt_state.previous),
                pen_state_str(m->u.evt_state.state));
        pen_start_on_state(r);
    } else if (m->type == PEN_MSG_EVT_FAULT) {
        cJSON_AddStringToObject(ev, "event", "fault");
        cJSON_AddNumberToObject(ev, "faults", m->u.evt_fault.faults);
        cJSON_AddNumberToObject(ev, "motor_current_ma", m->u.evt_fault.motor_current_ma);
        cJSON_AddNumberToObject(ev, "supply_mv", m->u.evt_fault.supply_mv);
        char names[96];
        cJSON_AddStringToObject(ev, "names", pen_fault_names(m->u.evt_fault.faults, names, sizeof names));
        log_msg(LOG_WARNING, "pen: fault %s (current %u mA, supply %u mV)", names,
                m->u.evt_fault.motor_current_ma, m->u.evt_fault.supply_mv);
    } else {
        cJSON_AddStringToObject(ev, "event", pen_msg_type_str(m->type));
    }
    api_publish(r->api, "devices", ev);
    if (m->type == PEN_MSG_EVT_FAULT ||
        (m->type == PEN_MSG_EVT_STATE && m->u.evt_state.state == PEN_STATE_FAULT))
        check_pen_faults(r, false);
}

static void sh_presence(void *user, bool present, const char *reason)
{
    struct rigd *r = user;
    if (present) {
        const struct sh_identity *id = sh_drv_identity(r->sh);
        const struct sh_calibration *cal = sh_drv_calibration(r->sh);
        bench_publish_device(r, "sensor", "attached", "%s serial %s, calibration due %u%s",
                             id ? id->model : "?", id ? id->serial : "?", cal ? cal->due_date : 0,
                             sh_drv_cal_due(r->sh) ? " (OVERDUE)" : "");
        bench_update_stream(r);
        return;
    }
    bench_publish_device(r, "sensor", "detached", "%s", reason);
    runner_on_sensor_lost(r, reason);   /* an active capture ends in ERROR */
    if (r->have_session && !r->shutting_down) {
        /* Without the sensor nothing can be measured: stop the motor. */
        char why[160];
        snprintf(why, sizeof why, "sensor head lost: %s", reason);
        safe_stop(r, why, NULL, NULL);
        /* LEAVE THE ENGINE A PLACE HERE: the active run ends in ERROR. */
    }
}

static void sh_stream_event(void *user, enum sh_drv_event ev, uint64_t detail, const char *msg)
{
    struct rigd *r = user;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", "sensor");
    cJSON_AddStringToObject(j, "event", sh_drv_event_str(ev));
    cJSON_AddNumberToObject(j, "count", (double)detail);
    cJSON_AddStringToObject(j, "message", msg);
    struct sh_stream_stats st;
    sh_drv_stream_stats(r->sh, &st);
    cJSON_AddNumberToObject(j, "lost_blocks", (double)st.lost_blocks);
    cJSON_AddNumberToObject(j, "lost_samples", (double)st.lost_samples);
    api_publish(r->api, "devices", j);
    runner_on_stream_event(r, ev, msg);   /* flags an active capture */
    if (ev == SH_EV_STREAM_STOPPED) {
        /* A stop we asked for may have raced with new demand (a session
         * claimed while stopping): follow the demand now. A stop nobody
         * asked for (transfer errors) is retried later, paced. */
        bool asked = r->stream_stop_asked;
        r->stream_stop_asked = false;
        if (asked)
            bench_update_stream(r);
        else if (stream_wanted(r))
            arm_stream_retry(r);
    }
}

/* ---- open / close ---- */

int bench_open(struct rigd *r, char *err, size_t errlen)
{
    static const struct pen_drv_callbacks pen_cb = {.on_event = pen_event, .on_presence = pen_presence};
    static const struct sh_drv_callbacks sh_cb = {
        .on_presence = sh_presence, .on_samples = on_samples, .on_stream_event = sh_stream_event};
    r->pen = pen_drv_new(&r->cfg.pen, &pen_cb, r);
    if (!r->pen) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->sh = sh_drv_new(&r->cfg.sensor, r->cfg.sensor_rate_hz, &sh_cb, r, err, errlen);
    if (!r->sh)
        return -EIO;
    int rc = dev_watch_start(&r->pen_watch, r->ev, pen_drv_dev(r->pen));
    if (rc >= 0)
        rc = dev_watch_start(&r->sh_watch, r->ev, sh_drv_dev(r->sh));
    if (rc >= 0)
        rc = sd_event_add_time_relative(r->ev, &r->demand_timer, CLOCK_MONOTONIC,
                                        RIGD_DEMAND_CHECK_MS * 1000u, 100000, on_demand_timer, r);
    if (rc >= 0)   /* armed only when a stream must be retried */
        rc = sd_event_source_set_enabled(r->demand_timer, SD_EVENT_OFF);
    if (rc < 0) {
        snprintf(err, errlen, "cannot watch devices: %s", strerror(-rc));
        return rc;
    }
    /* Missing devices are not fatal: report them and keep looking. */
    char why[256];
    if (pen_drv_attach(r->pen, why, sizeof why) < 0)
        log_msg(LOG_WARNING, "%s; will attach when it appears", why);
    if (sh_drv_attach(r->sh, why, sizeof why) < 0)
        log_msg(LOG_WARNING, "%s; will attach when it appears", why);
    bench_sync(r);
    return 0;
}

void bench_close(struct rigd *r)
{
    pen_start_cancel_all(r, -ECANCELED);
    r->demand_timer = sd_event_source_disable_unref(r->demand_timer);
    dev_watch_stop(&r->pen_watch);
    dev_watch_stop(&r->sh_watch);
    pen_drv_free(r->pen);
    r->pen = NULL;
    sh_drv_free(r->sh);
    r->sh = NULL;
}

/* Members the drivers describe only while they know them (a device that
 * is missing has no port or identity): the API sends them as null then
 * (docs/API.md, "Members are always sent"). */
static const char *const pen_optional[] = {"port", "identity", "motor", NULL};
static const char *const sensor_optional[] = {"identity", "calibration", NULL};

static cJSON *with_nulls(cJSON *o, const char *const *keys)
{
    for (; o && *keys; keys++)
        if (!cJSON_HasObjectItem(o, *keys))
            cJSON_AddNullToObject(o, *keys);
    return o;
}

cJSON *bench_pen_json(struct rigd *r)
{
    return r->pen ? with_nulls(dev_describe(pen_drv_dev(r->pen)), pen_optional) : NULL;
}

cJSON *bench_sensor_json(struct rigd *r)
{
    return r->sh ? with_nulls(dev_describe(sh_drv_dev(r->sh)), sensor_optional) : NULL;
}

static cJSON *or_null(cJSON *o) { return o ? o : cJSON_CreateNull(); }

cJSON *bench_devices_json(struct rigd *r)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "station", r->cfg.station);
    cJSON *arr = cJSON_AddArrayToObject(b, "devices");
    cJSON_AddItemToArray(arr, or_null(bench_pen_json(r)));
    cJSON_AddItemToArray(arr, or_null(bench_sensor_json(r)));
    return b;
}

void bench_on_watch(void *user, struct api_client *c)
{
    (void)c;
    struct rigd *r = user;
    if (!r->exiting)
        bench_update_stream(r);   /* someone started or stopped watching samples */
}
