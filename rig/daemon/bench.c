/* The bench object (bench.h), the bottom of the bench layer: its log
 * lines and events, driving its devices' watches, heartbeats, sensor
 * streaming on demand and the devices' descriptions. It calls nothing of
 * the bench layer's other files: safety.c, penstart.c and benchdev.c
 * build on it. */
#include "daemon/bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/log.h"

void bench_log(const struct bench *bench, int level, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const struct log_run ctx = { .station = bench->rigd->cfg.station, .fixture = bench->name };
    /* One fixture: the lines read as they always did. */
    if (bench->rigd->nbenches > 1)
        log_run_msg(level, &ctx, "fixture %s: %s", bench->name, msg);
    else
        log_run_msg(level, &ctx, "%s", msg);
}

void bench_publish(struct bench *bench, const char *topic, cJSON *ev)
{
    if (!bench->rigd->api) {
        cJSON_Delete(ev);
        return;
    }
    cJSON_AddStringToObject(ev, "fixture", bench->name);
    api_publish(bench->rigd->api, topic, ev);
}

void bench_publish_device(struct bench *bench, const char *device, const char *event,
                          const char *fmt, ...)
{
    if (!bench->rigd->api)
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
    bench_publish(bench, "devices", ev);
}

void bench_sync(struct bench *bench)
{
    for (int role = 0; role < RIG_ROLES; role++)
        if (bench->watch[role].dev)
            dev_watch_sync(&bench->watch[role]);
}

/* The sensor-role instrument, when it is there. */
static struct rig_device *sensor_present(struct bench *bench)
{
    struct rig_device *d = bench->dev[RIG_ROLE_SENSOR];
    return d && d->driver->present(d) ? d : NULL;
}

void bench_update_heartbeat(struct bench *bench)
{
    bool on = bench->pen && pen_drv_present(bench->pen) &&
              (bench->have_session || bench->stopping) && !bench->unvouched &&
              !bench->rigd->exiting;
    if (bench->pen && on != pen_drv_heartbeat(bench->pen)) {
        bench_log(bench, LOG_INFO, "pen heartbeats %s", on ? "on" : "off");
        pen_drv_set_heartbeat(bench->pen, on);
    }
    bench_sync(bench);
}

/* ---- streaming on demand ---- */

static bool stream_wanted(struct bench *bench)
{
    if (bench->rigd->shutting_down || !sensor_present(bench))
        return false;
    return bench->have_session || bench->stream_holds > 0 ||
           api_has_watchers(bench->rigd->api, "samples");
}

/* A stream that ended or failed to start although it is still wanted is
 * retried by a one-shot timer, never at once: a sensor head that keeps
 * failing must not make rigd loop on START/STOP. */
static void arm_stream_retry(struct bench *bench)
{
    if (!bench->demand_timer || bench->rigd->exiting)
        return;
    int on = SD_EVENT_OFF;
    if (sd_event_source_get_enabled(bench->demand_timer, &on) >= 0 && on != SD_EVENT_OFF)
        return; /* already pending: one retry per period at most */
    int rc = sd_event_source_set_time_relative(bench->demand_timer, RIGD_DEMAND_CHECK_MS * 1000u);
    if (rc >= 0)
        rc = sd_event_source_set_enabled(bench->demand_timer, SD_EVENT_ONESHOT);
    if (rc < 0)
        bench_log(bench, LOG_WARNING, "sensor: cannot arm the stream retry timer: %s",
                  strerror(-rc));
}

static void stream_done(void *user, int status, const char *msg)
{
    struct bench *bench = user;
    if (status < 0 && status != -ECANCELED) {
        bench_log(bench, LOG_WARNING, "sensor: %s", msg);
        arm_stream_retry(bench);
        bench_sync(bench);
        return;
    }
    /* The demand may have changed while the request was in flight (the
     * last watcher left during START): follow it now. */
    bench_update_stream(bench);
}

void bench_update_stream(struct bench *bench)
{
    struct rig_device *d = sensor_present(bench);
    if (!d)
        return;
    bool want = stream_wanted(bench);
    bool on = d->driver->running(d);
    if (want && !on) {
        int rc = d->driver->start(d, stream_done, bench);
        if (rc < 0 && rc != -EALREADY) {
            bench_log(bench, LOG_WARNING, "sensor: cannot start streaming: %s", strerror(-rc));
            arm_stream_retry(bench);
        }
    } else if (!want && on) {
        int rc = d->driver->stop(d, stream_done, bench);
        if (rc >= 0)
            bench->stream_stop_asked = true;
        else if (rc != -EALREADY)
            bench_log(bench, LOG_WARNING, "sensor: cannot stop streaming: %s", strerror(-rc));
    }
    bench_sync(bench);
}

int bench_flush_stream(struct bench *bench)
{
    struct rig_device *d = sensor_present(bench);
    if (!d || !d->driver->running(d))
        return -ENODEV;
    int rc = d->driver->stop(d, stream_done, bench);
    if (rc >= 0)
        bench->stream_stop_asked = true; /* STREAM_STOPPED restarts it at once */
    bench_sync(bench);
    return rc < 0 ? rc : 0;
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

int bench_stream_init(struct bench *bench)
{
    int rc =
        sd_event_add_time_relative(bench->rigd->ev, &bench->demand_timer, CLOCK_MONOTONIC,
                                   RIGD_DEMAND_CHECK_MS * 1000u, 100000, on_demand_timer, bench);
    if (rc >= 0) /* armed only when a stream must be retried */
        rc = sd_event_source_set_enabled(bench->demand_timer, SD_EVENT_OFF);
    return rc;
}

void bench_stream_stopped(struct bench *bench)
{
    /* A stop we asked for may have raced with new demand (a session
     * claimed while stopping): follow the demand now. A stop nobody
     * asked for (transfer errors) is retried later, paced. */
    bool asked = bench->stream_stop_asked;
    bench->stream_stop_asked = false;
    if (asked)
        bench_update_stream(bench);
    else if (stream_wanted(bench))
        arm_stream_retry(bench);
}

/* Members the drivers describe only while they know them (a device that
 * is missing has no port or identity): the API sends them as null then
 * (docs/API.md, "Members are always sent"). */
static const char *const pen_optional[] = { "port", "identity", "motor", NULL };
static const char *const sensor_optional[] = { "identity", "calibration", NULL };

static cJSON *with_nulls(cJSON *o, const char *const *keys)
{
    for (; o && *keys; keys++)
        if (!cJSON_HasObjectItem(o, *keys))
            cJSON_AddNullToObject(o, *keys);
    return o;
}

cJSON *bench_pen_json(struct bench *bench)
{
    struct rig_device *d = bench->dev[RIG_ROLE_PEN];
    return d ? with_nulls(rig_device_describe(d), pen_optional) : NULL;
}

cJSON *bench_sensor_json(struct bench *bench)
{
    struct rig_device *d = bench->dev[RIG_ROLE_SENSOR];
    return d ? with_nulls(rig_device_describe(d), sensor_optional) : NULL;
}

/* Both devices of the bench (null for one the fixture does not have),
 * each naming the fixture, appended to arr. */
void bench_devices_add(struct bench *bench, cJSON *arr)
{
    cJSON *pen = bench_pen_json(bench), *sensor = bench_sensor_json(bench);
    if (pen)
        cJSON_AddStringToObject(pen, "fixture", bench->name);
    if (sensor)
        cJSON_AddStringToObject(sensor, "fixture", bench->name);
    cJSON_AddItemToArray(arr, pen ? pen : cJSON_CreateNull());
    cJSON_AddItemToArray(arr, sensor ? sensor : cJSON_CreateNull());
}

void bench_on_watch(void *user, struct api_client *c)
{
    (void)c;
    struct rigd *r = user;
    if (r->exiting)
        return;
    for (size_t i = 0; i < r->nbenches; i++)
        bench_update_stream(&r->benches[i]); /* someone started or stopped watching samples */
}
