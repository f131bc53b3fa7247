/* A bench's devices (bench.h), the top of the bench layer: its
 * instruments opened and closed by role through the driver registry
 * (dev/driver.h), and their callbacks -- presence, pen events and the
 * faults the rig caused, sensor stream events, the decimated live samples.
 * What a run must know of them goes up through the bench's hooks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rec.h"
#include "core/record.h"
#include "daemon/bench.h"
#include "daemon/log.h"

/* ---- live samples: block means at RIGD_LIVE_RATE_HZ ---- */

static void live_reset(struct live_decim *l, uint64_t first, uint32_t rate_hz)
{
    memset(l, 0, sizeof *l);
    l->factor = rate_hz > RIGD_LIVE_RATE_HZ ? rate_hz / RIGD_LIVE_RATE_HZ : 1;
    l->expect_in = first;
    l->next_out_index = first / l->factor;
}

static void on_samples(void *user, const struct rig_samples *s)
{
    struct bench *bench = user;
    uint64_t first = s->first;
    const int32_t *force = s->ch[RIG_CH_FORCE], *disp = s->ch[RIG_CH_DISP];
    size_t n = s->n;
    uint32_t rate_hz = s->rate_hz;
    if (bench->hooks.samples) /* an active capture */
        bench->hooks.samples(bench, first, force, disp, n, rate_hz);
    if (!api_has_watchers(bench->rigd->api, "samples"))
        return;
    struct live_decim *l = &bench->live;
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
    bench_publish(bench, "samples", ev);
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
    struct bench *bench = user;
    bench->clearing_fault = false;
    if (status == 0) {
        bench_log(bench, LOG_NOTICE, "pen: cleared the WATCHDOG fault the rig caused (%s)",
                  bench->fault_why);
        bench_publish_device(bench, "pen", "fault_cleared", "WATCHDOG fault cleared by rigd: %s",
                             bench->fault_why);
        struct rec_rig_action *a = calloc(1, sizeof *a);
        const struct pen_identity *id = pen_drv_identity(bench->pen);
        if (a) {
            clock_gettime(CLOCK_REALTIME, &a->at);
            a->action = strdup("clear_pen_fault");
            a->faults = strdup("WATCHDOG");
            a->reason = strdup(bench->fault_why);
            a->pen_serial = strdup(id ? id->serial : "");
        }
        if (a && bench->hooks.rig_action) /* into the active or the next run's record */
            bench->hooks.rig_action(bench, a);
        else if (a)
            rec_rig_actions_free(a, 1);
    } else {
        bench_log(bench, LOG_ERR, "pen: could not clear the WATCHDOG fault (%s)",
                  status == PEN_DRV_NAK && resp ? pen_error_str(resp->u.nak.error)
                                                : strerror(status < 0 ? -status : EIO));
    }
    bench_sync(bench);
}

static void check_pen_faults(struct bench *bench, bool at_attach)
{
    uint32_t faults = 0;
    (void)pen_drv_motor(bench->pen, NULL, &faults);
    if (!(faults & PEN_FAULT_HOST_CAUSED) || !pen_drv_present(bench->pen))
        return;
    snprintf(bench->fault_why, sizeof bench->fault_why, "%s",
             at_attach ? "latched before rigd attached the pen: a previous rigd crashed, hung or "
                         "was killed with the motor running"
             : bench->have_session
                 ? "rigd did not send the pen a request for 500 ms while its motor "
                   "ran (rigd hung, stopped or starved of CPU)"
                 : "the pen's watchdog stopped a motor no session of rigd was "
                   "driving (left running by a previous host)");
    if (!at_attach && bench->hooks.rig_problem)
        bench->hooks.rig_problem(bench, "the pen's watchdog stopped the motor: rigd did not feed "
                                        "it for 500 ms (rigd hung, stopped or starved of CPU)");
    char names[96];
    if (faults & PEN_FAULT_LATCHED & ~PEN_FAULT_HOST_CAUSED) {
        bench_log(bench, LOG_WARNING,
                  "pen: faults %s latched: not clearing (the pen raised some itself)",
                  pen_fault_names(faults & PEN_FAULT_LATCHED, names, sizeof names));
        return;
    }
    uint8_t state;
    /* CLEAR_FAULT outside FAULT is a no-op: wait for the state event. */
    if (bench->clearing_fault || !pen_drv_motor(bench->pen, &state, NULL) ||
        state != PEN_STATE_FAULT)
        return;
    if (pen_drv_request(bench->pen, PEN_MSG_CLEAR_FAULT, NULL, clear_done, bench) == 0)
        bench->clearing_fault = true;
    bench_sync(bench);
}

/* ---- driver callbacks ---- */

static void pen_presence(void *user, bool present, const char *reason)
{
    struct bench *bench = user;
    if (present) {
        const struct pen_identity *id = pen_drv_identity(bench->pen);
        bench->unvouched = false;
        bench_publish_device(bench, "pen", "attached", "%s serial %s on %s", id ? id->model : "?",
                             id ? id->serial : "?", pen_drv_port_name(bench->pen));
        bench->clearing_fault = false;
        check_pen_faults(bench, true);
        /* A motor running when rigd finds the pen was started by a host
         * that is gone (a rigd killed mid-run): stop it now rather than
         * leave it to the pen's watchdog. */
        uint8_t state;
        if (pen_drv_motor(bench->pen, &state, NULL) &&
            (state == PEN_STATE_SPINUP || state == PEN_STATE_RUNNING) && !bench->have_session)
            safe_stop(bench, "motor found running at attach (left by a previous host)", NULL, NULL);
    } else {
        bench_publish_device(bench, "pen", "detached", "%s", reason);
        if (bench->have_session) {
            bench_log(bench, LOG_ERR, "pen lost during session %llu of %s: %s",
                      (unsigned long long)bench->owner.id, bench->owner.user, reason);
            if (bench->hooks.pen_lost) /* the active run ends in ERROR */
                bench->hooks.pen_lost(bench, reason);
        }
    }
    pen_start_on_state(bench); /* a START waiting for the motor fails now */
    bench_update_heartbeat(bench);
}

static void pen_event(void *user, const struct pen_msg *m)
{
    struct bench *bench = user;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "device", "pen");
    if (m->type == PEN_MSG_EVT_STATE) {
        cJSON_AddStringToObject(ev, "event", "state");
        cJSON_AddStringToObject(ev, "state", pen_state_str(m->u.evt_state.state));
        cJSON_AddStringToObject(ev, "previous", pen_state_str(m->u.evt_state.previous));
        cJSON_AddNumberToObject(ev, "reason", m->u.evt_state.reason);
        bench_log(bench, LOG_INFO, "pen: state %s -> %s", pen_state_str(m->u.evt_state.previous),
                  pen_state_str(m->u.evt_state.state));
        pen_start_on_state(bench);
    } else if (m->type == PEN_MSG_EVT_FAULT) {
        cJSON_AddStringToObject(ev, "event", "fault");
        cJSON_AddNumberToObject(ev, "faults", m->u.evt_fault.faults);
        cJSON_AddNumberToObject(ev, "motor_current_ma", m->u.evt_fault.motor_current_ma);
        cJSON_AddNumberToObject(ev, "supply_mv", m->u.evt_fault.supply_mv);
        char names[96];
        cJSON_AddStringToObject(ev, "names",
                                pen_fault_names(m->u.evt_fault.faults, names, sizeof names));
        bench_log(bench, LOG_WARNING, "pen: fault %s (current %u mA, supply %u mV)", names,
                  m->u.evt_fault.motor_current_ma, m->u.evt_fault.supply_mv);
    } else {
        cJSON_AddStringToObject(ev, "event", pen_msg_type_str(m->type));
    }
    bench_publish(bench, "devices", ev);
    if (m->type == PEN_MSG_EVT_FAULT ||
        (m->type == PEN_MSG_EVT_STATE && m->u.evt_state.state == PEN_STATE_FAULT))
        check_pen_faults(bench, false);
}

static void sh_presence(void *user, bool present, const char *reason)
{
    struct bench *bench = user;
    if (present) {
        const struct sh_identity *id = sh_drv_identity(bench->sh);
        const struct sh_calibration *cal = sh_drv_calibration(bench->sh);
        bench_publish_device(bench, "sensor", "attached", "%s serial %s, calibration due %u%s",
                             id ? id->model : "?", id ? id->serial : "?", cal ? cal->due_date : 0,
                             sh_drv_cal_due(bench->sh) ? " (OVERDUE)" : "");
        bench_update_stream(bench);
        return;
    }
    bench_publish_device(bench, "sensor", "detached", "%s", reason);
    if (bench->hooks.sensor_lost) /* an active capture ends in ERROR */
        bench->hooks.sensor_lost(bench, reason);
    if (bench->have_session && !bench->rigd->shutting_down) {
        /* Without the sensor nothing can be measured: stop the motor. */
        char why[160];
        snprintf(why, sizeof why, "sensor head lost: %s", reason);
        safe_stop(bench, why, NULL, NULL);
        /* LEAVE THE ENGINE A PLACE HERE: the active run ends in ERROR. */
    }
}

static void sh_stream_event(void *user, enum sh_drv_event ev, uint64_t detail, const char *msg)
{
    struct bench *bench = user;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", "sensor");
    cJSON_AddStringToObject(j, "event", sh_drv_event_str(ev));
    cJSON_AddNumberToObject(j, "count", (double)detail);
    cJSON_AddStringToObject(j, "message", msg);
    struct sh_stream_stats st;
    sh_drv_stream_stats(bench->sh, &st);
    cJSON_AddNumberToObject(j, "lost_blocks", (double)st.lost_blocks);
    cJSON_AddNumberToObject(j, "lost_samples", (double)st.lost_samples);
    bench_publish(bench, "devices", j);
    if (bench->hooks.stream_event) /* flags an active capture */
        bench->hooks.stream_event(bench, ev, detail, msg);
    if (ev == SH_EV_STREAM_STOPPED)
        bench_stream_stopped(bench);
}

/* ---- open / close ---- */

/* Each role's callbacks; a driver calls those of its role. */
static const struct rig_callbacks role_callbacks[RIG_ROLES] = {
    [RIG_ROLE_PEN] = { .on_presence = pen_presence, .on_pen_event = pen_event },
    [RIG_ROLE_SENSOR] = { .on_presence = sh_presence,
                          .on_samples = on_samples,
                          .on_stream_event = sh_stream_event },
};

static const struct station_match *role_match(const struct bench *bench, enum rig_role role)
{
    return role == RIG_ROLE_PEN ? &bench->cfg->pen : &bench->cfg->sensor;
}

/* A driver's line: the fixture's, through rigd's logger. */
static void driver_log(void *user, int level, const char *msg)
{
    bench_log(user, level, "%s", msg);
}

/* Open every role's instrument through the registry (attached later). */
static int open_devices(struct bench *bench, char *err, size_t errlen)
{
    for (int role = 0; role < RIG_ROLES; role++) {
        bench->dev[role] =
            rig_device_open(role_match(bench, role), &role_callbacks[role], bench, err, errlen);
        if (!bench->dev[role])
            return -EIO;
        dev_set_log(bench->dev[role]->driver->dev(bench->dev[role]), driver_log, bench,
                    log_verbose());
    }
    /* rigd's run and request code speaks the MNP pen protocol and the
     * SH-2's tare and calibration (see docs/INSTRUMENTS.md). */
    bench->pen = pen_drv_of(bench->dev[RIG_ROLE_PEN]);
    bench->sh = sh_drv_of(bench->dev[RIG_ROLE_SENSOR]);
    if (!bench->pen || !bench->sh) {
        int role = bench->pen ? RIG_ROLE_SENSOR : RIG_ROLE_PEN;
        snprintf(err, errlen, "%s driver \"%s\": rigd cannot run tests with it yet",
                 rig_role_str(role), bench->dev[role]->driver->name);
        return -ENOTSUP;
    }
    struct rig_device *sensor = bench->dev[RIG_ROLE_SENSOR];
    if (sensor->driver->configure(sensor, "rate_hz", bench->cfg->sensor_rate_hz, NULL, NULL) < 0) {
        snprintf(err, errlen, "sensor: rate %u Hz refused", bench->cfg->sensor_rate_hz);
        return -EINVAL;
    }
    return 0;
}

int bench_open(struct bench *bench, char *err, size_t errlen)
{
    int rc = open_devices(bench, err, errlen);
    if (rc < 0)
        return rc;
    for (int role = 0; role < RIG_ROLES && rc >= 0; role++)
        rc = dev_watch_start(&bench->watch[role], bench->rigd->ev,
                             bench->dev[role]->driver->dev(bench->dev[role]));
    if (rc >= 0)
        rc = bench_stream_init(bench);
    if (rc < 0) {
        snprintf(err, errlen, "cannot watch devices: %s", strerror(-rc));
        return rc;
    }
    /* Missing devices are not fatal: report them and keep looking. */
    for (int role = 0; role < RIG_ROLES; role++) {
        char why[256];
        struct rig_device *d = bench->dev[role];
        if (d->driver->attach(d, why, sizeof why) < 0)
            bench_log(bench, LOG_WARNING, "%s; will attach when it appears", why);
    }
    bench_sync(bench);
    return 0;
}

void bench_close(struct bench *bench)
{
    pen_start_cancel_all(bench, -ECANCELED);
    bench->demand_timer = sd_event_source_disable_unref(bench->demand_timer);
    for (int role = 0; role < RIG_ROLES; role++) {
        dev_watch_stop(&bench->watch[role]);
        rig_device_close(bench->dev[role]);
        bench->dev[role] = NULL;
    }
    bench->pen = NULL;
    bench->sh = NULL;
    /* Waiters of a stop that never finished (second SIGINT) are dropped. */
    while (bench->stop_waiters) {
        struct stop_waiter *w = bench->stop_waiters;
        bench->stop_waiters = w->next;
        free(w);
    }
    benchq_clear(&bench->waiting);
}
