/* Driver integration tests, run inside rigsim (real libserialport and
 * libusb against the simulated bench):
 *   rigsim -- dev_itest identify|timeout|retry|stream|lost-block|repeat-block|
 *                       unplug-sensor|unplug-pen
 * Opens the instruments through the driver registry (dev/driver.h) and
 * drives them with dev_poll_once(), the poll()-based loop step. */
#include <errno.h>
#include <string.h>

#include "itestlib.h"
#include "dev/driver.h"
#include "dev/mnp-pen/protocol.h"
#include "dev/sh2/protocol.h"
#include "dev/station.h"

#define CONFIG_TEXT                                                                                \
    "{\"station\":\"t\",\"pen\":{\"serial\":\"PA-0000001\"},"                                      \
    "\"sensor\":{\"serial\":\"SH2-000101\",\"rate_hz\":50000}}"

struct result {
    bool done;
    int status;
    struct pen_msg msg;
};

struct events {
    unsigned lost, repeated, bad, errors, started, stopped;
    uint64_t samples;
    bool sensor_present;
    /* The sample feed: the current contiguous segment [seg_first, next)
     * and the previous one's end; a block not starting at next opens a
     * new segment. */
    uint64_t seg_first, next, prev_end;
    unsigned segments;
    uint32_t rate_hz;
};

static struct rig_device *pen_dev, *sh_dev;
static struct pen_drv *pen;
static struct sh_drv *sh;
static struct events ev;
static void on_pen_presence(void *user, bool present, const char *reason);

static void on_done(void *user, int status, const struct pen_msg *resp)
{
    struct result *r = user;
    r->done = true;
    r->status = status;
    if (resp)
        r->msg = *resp;
}

static void on_stream_event(void *user, enum rig_stream_event e, uint64_t detail, const char *msg)
{
    (void)user;
    (void)detail;
    (void)msg;
    switch (e) {
    case RIG_EV_LOST_BLOCKS:
        ev.lost++;
        break;
    case RIG_EV_REPEATED_BLOCK:
        ev.repeated++;
        break;
    case RIG_EV_BAD_BLOCK:
        ev.bad++;
        break;
    case RIG_EV_STREAM_ERROR:
        ev.errors++;
        break;
    case RIG_EV_STREAM_STARTED:
        ev.started++;
        break;
    case RIG_EV_STREAM_STOPPED:
        ev.stopped++;
        break;
    case RIG_EV_OVERRUN:
        break;
    }
}

static void on_samples(void *user, const struct rig_samples *s)
{
    (void)user;
    IT_CHECK(s->nch == 2 && s->ch[RIG_CH_FORCE] && s->ch[RIG_CH_DISP], "two channels");
    IT_CHECK(ev.segments == 0 || s->first >= ev.next, "index went back: %llu < %llu",
             (unsigned long long)s->first, (unsigned long long)ev.next);
    if (ev.segments == 0 || s->first != ev.next) {
        ev.prev_end = ev.next;
        ev.seg_first = s->first;
        ev.segments++;
    }
    ev.next = s->first + s->n;
    ev.rate_hz = s->rate_hz;
    ev.samples += s->n;
}

static void on_sh_presence(void *user, bool present, const char *reason)
{
    (void)user;
    (void)reason;
    ev.sensor_present = present;
}

static void pump(int ms)
{
    struct dev *devs[2] = { pen_dev->driver->dev(pen_dev), sh_dev->driver->dev(sh_dev) };
    long long until = it_now_ms() + ms;
    while (it_now_ms() < until)
        IT_CHECK(dev_poll_once(devs, 2, 50) >= 0, "poll failed");
}

static bool pump_until(bool *flag, int ms)
{
    struct dev *devs[2] = { pen_dev->driver->dev(pen_dev), sh_dev->driver->dev(sh_dev) };
    long long until = it_now_ms() + ms;
    while (!*flag && it_now_ms() < until)
        IT_CHECK(dev_poll_once(devs, 2, 50) >= 0, "poll failed");
    return *flag;
}

static void open_bench(void)
{
    struct station_config cfg;
    char err[256];
    IT_CHECK(station_parse(CONFIG_TEXT, "test", &cfg, err, sizeof err) == 0, "%s", err);
    static const struct rig_callbacks shcb = { .on_presence = on_sh_presence,
                                               .on_samples = on_samples,
                                               .on_stream_event = on_stream_event };
    static const struct rig_callbacks pencb = { .on_presence = on_pen_presence };
    pen_dev = rig_device_open(&cfg.fixtures[0].pen, &pencb, NULL, err, sizeof err);
    IT_CHECK(pen_dev, "pen driver: %s", err);
    sh_dev = rig_device_open(&cfg.fixtures[0].sensor, &shcb, NULL, err, sizeof err);
    IT_CHECK(sh_dev, "sensor driver: %s", err);
    pen = pen_drv_of(pen_dev);
    sh = sh_drv_of(sh_dev);
    IT_CHECK(pen && sh, "the config's default drivers are mnp-pen and sh2");
    IT_CHECK(sh_dev->driver->configure(sh_dev, "rate_hz", cfg.fixtures[0].sensor_rate_hz, NULL,
                                       NULL) == 1,
             "sensor rate");
    IT_CHECK(pen_dev->driver->attach(pen_dev, err, sizeof err) == 0, "pen attach: %s", err);
    IT_CHECK(sh_dev->driver->attach(sh_dev, err, sizeof err) == 0, "sensor attach: %s", err);
    long long until = it_now_ms() + 5000;
    while (!pen_drv_present(pen) && it_now_ms() < until)
        pump(50);
    IT_CHECK(pen_drv_present(pen), "pen did not answer IDENTIFY");
}

static struct result request(uint8_t type, const struct pen_msg *m)
{
    struct result r = { 0 };
    IT_CHECK(pen_drv_request(pen, type, m, on_done, &r) == 0, "request not sent");
    IT_CHECK(pump_until(&r.done, 5000), "request never completed");
    return r;
}

static void sim_fault(const char *line)
{
    cJSON *o = sim_ctl(line);
    IT_CHECK(o && js_bool(o, "ok"), "rigsim refused %s", line);
    cJSON_Delete(o);
}

struct status_result {
    bool done;
    int status;
    struct sh_status st;
};

static void on_sh_status(void *user, int status, const struct sh_status *st)
{
    struct status_result *r = user;
    r->done = true;
    r->status = status;
    if (st)
        r->st = *st;
}

static struct sh_status sensor_status(void)
{
    struct status_result r = { 0 };
    IT_CHECK(sh_drv_get_status(sh, on_sh_status, &r) == 0, "GET_STATUS not sent");
    IT_CHECK(pump_until(&r.done, 5000), "GET_STATUS never completed");
    IT_CHECK(r.status == 0, "GET_STATUS failed: %d", r.status);
    return r.st;
}

static int t_identify(void)
{
    const struct pen_identity *id = pen_drv_identity(pen);
    IT_CHECK(id && strcmp(id->serial, "PA-0000001") == 0, "pen identity");
    IT_CHECK(id->protocol_version == PEN_PROTOCOL_VERSION, "protocol version %u",
             id->protocol_version);
    const struct sh_identity *sid = sh_drv_identity(sh);
    IT_CHECK(sid && strcmp(sid->serial, "SH2-000101") == 0, "sensor identity");
    IT_CHECK(sh_drv_calibration(sh)->due_date > 0, "calibration read");
    IT_CHECK(!(sensor_status().flags & SH_STAT_STREAMING), "sensor idle at start");
    struct result r = request(PEN_MSG_GET_STATUS, NULL);
    IT_CHECK(r.status == 0 && r.msg.type == PEN_MSG_GET_STATUS, "status %d", r.status);
    IT_CHECK(r.msg.u.status.state == PEN_STATE_IDLE, "pen idle at start");
    /* scan finds the simulated instruments through the table */
    char err[256];
    cJSON *found = pen_dev->driver->scan(
        &(struct station_match){ .vid = PEN_USB_VID, .pid = PEN_USB_PID }, err, sizeof err);
    IT_CHECK(found && cJSON_GetArraySize(found) == 1, "pen scan: %s", found ? "count" : err);
    const char *ser = js_str(cJSON_GetArrayItem(found, 0), "serial");
    IT_CHECK(ser && strcmp(ser, "PA-0000001") == 0, "pen scan: serial");
    cJSON_Delete(found);
    found = sh_dev->driver->scan(
        &(struct station_match){ .vid = SH_USB_VID, .pid = SH_USB_PID, .serial = "SH2-000101" },
        err, sizeof err);
    IT_CHECK(found && cJSON_GetArraySize(found) == 1, "sensor scan: %s", found ? "count" : err);
    cJSON_Delete(found);
    cJSON *d = rig_device_describe(pen_dev);
    const char *name = js_str(d, "driver");
    IT_CHECK(name && strcmp(name, "mnp-pen") == 0, "describe names the driver");
    /* attach: IDENTIFY + GET_STATUS; then ours */
    IT_CHECK(js_num(d, "link.requests", 0) == 3 && js_num(d, "link.responses", 0) == 3,
             "link stats count requests and responses");
    const cJSON *motor = cJSON_GetObjectItemCaseSensitive(d, "motor");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(motor, "state");
    const cJSON *mf = cJSON_GetObjectItemCaseSensitive(motor, "faults");
    IT_CHECK(cJSON_IsString(ms) && strcmp(ms->valuestring, "idle") == 0, "describe: motor idle");
    IT_CHECK(cJSON_IsString(mf) && strcmp(mf->valuestring, "none") == 0, "describe: no faults");
    cJSON_Delete(d);
    return 0;
}

static int t_timeout(void)
{
    struct pen_link_stats before, after;
    pen_drv_stats(pen, &before);
    sim_fault("{\"fault\":\"pen-mute\",\"value\":1}");
    long long t0 = it_now_ms();
    struct result r = request(PEN_MSG_GET_STATUS, NULL);
    long long took = it_now_ms() - t0;
    pen_drv_stats(pen, &after);
    IT_CHECK(r.status == -ETIMEDOUT, "muted pen: status %d, want -ETIMEDOUT", r.status);
    IT_CHECK(after.retries - before.retries == PEN_MAX_RETRIES, "retries %llu",
             (unsigned long long)(after.retries - before.retries));
    IT_CHECK(after.timeouts - before.timeouts == 1, "one timeout counted");
    IT_CHECK(took >= (1 + PEN_MAX_RETRIES) * PEN_RESPONSE_TIMEOUT_MS - 10,
             "gave up after %lld ms, before all retries", took);
    sim_fault("{\"fault\":\"pen-mute\",\"value\":0}");
    r = request(PEN_MSG_GET_STATUS, NULL);
    IT_CHECK(r.status == 0, "after unmute: status %d", r.status);
    return 0;
}

static int t_retry(void)
{
    sim_fault("{\"fault\":\"pen-drop\",\"value\":0.3}");
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        struct result r = request(PEN_MSG_GET_STATUS, NULL);
        ok += r.status == 0;
        IT_CHECK(r.status == 0 || r.status == -ETIMEDOUT, "status %d", r.status);
    }
    sim_fault("{\"clear\":true}");
    struct pen_link_stats st;
    pen_drv_stats(pen, &st);
    IT_CHECK(st.retries > 0, "dropped frames must cause resends with the same seq");
    IT_CHECK(ok >= 30, "only %d/40 requests succeeded despite retries", ok);
    fprintf(stderr, "retry: %d/40 ok, %llu retries, %llu timeouts, %llu unmatched\n", ok,
            (unsigned long long)st.retries, (unsigned long long)st.timeouts,
            (unsigned long long)st.unmatched);
    return 0;
}

static void stream_for(int ms)
{
    IT_CHECK(sh_dev->driver->start(sh_dev, NULL, NULL) == 0, "start streaming");
    long long until = it_now_ms() + 5000;
    while (!sh_dev->driver->running(sh_dev) && it_now_ms() < until)
        pump(20);
    IT_CHECK(sh_dev->driver->running(sh_dev), "stream did not start");
    pump(ms);
}

static int t_stream(void)
{
    stream_for(3000);
    struct sh_status sst = sensor_status();
    IT_CHECK((sst.flags & SH_STAT_STREAMING) && sst.rate_hz == 50000, "device streams at 50 kS/s");
    struct sh_stream_stats st;
    sh_drv_stream_stats(sh, &st);
    IT_CHECK(st.blocks > 50, "only %llu blocks in 3 s", (unsigned long long)st.blocks);
    IT_CHECK(st.lost_blocks == 0 && st.repeated_blocks == 0 && st.bad_blocks == 0 &&
                 st.lost_samples == 0,
             "loss: lost %llu repeated %llu bad %llu", (unsigned long long)st.lost_blocks,
             (unsigned long long)st.repeated_blocks, (unsigned long long)st.bad_blocks);
    IT_CHECK(ev.lost == 0 && ev.errors == 0, "no loss events");
    IT_CHECK(ev.samples == st.samples, "every accepted sample delivered");
    IT_CHECK(ev.rate_hz == 50000, "rate %u", ev.rate_hz);
    IT_CHECK(ev.segments == 1 && ev.next - ev.seg_first >= 50000, "one contiguous second and more");
    IT_CHECK(sh_dev->driver->stop(sh_dev, NULL, NULL) == 0, "stop");
    long long until = it_now_ms() + 5000;
    while (ev.stopped == 0 && it_now_ms() < until)
        pump(20);
    IT_CHECK(ev.stopped == 1, "stream stop reported");
    /* A restart counts from 0 on the device, but indices keep increasing
     * and the restart is a discontinuity, never stitched. */
    uint64_t prev_end = ev.next;
    stream_for(500);
    IT_CHECK(ev.segments == 2 && ev.prev_end == prev_end, "the restart opens a new segment");
    IT_CHECK(ev.seg_first > prev_end, "restart segment starts at %llu <= previous end %llu",
             (unsigned long long)ev.seg_first, (unsigned long long)prev_end);
    return 0;
}

static int t_lost_block(void)
{
    stream_for(500);
    uint64_t end0 = ev.next;
    unsigned segments0 = ev.segments;
    sim_fault("{\"fault\":\"sensor-drop-block\",\"value\":3}");
    long long until = it_now_ms() + 5000;
    while (ev.lost == 0 && it_now_ms() < until)
        pump(20);
    IT_CHECK(ev.lost == 1, "one lost-blocks event, got %u", ev.lost);
    struct sh_stream_stats st;
    sh_drv_stream_stats(sh, &st);
    IT_CHECK(st.lost_blocks == 3, "3 blocks lost, counted %llu",
             (unsigned long long)st.lost_blocks);
    IT_CHECK(st.lost_samples > 0, "lost samples counted");
    /* The gap is never patched over: the feed jumps over it. */
    IT_CHECK(ev.segments == segments0 + 1, "a new segment starts after the gap");
    IT_CHECK(ev.seg_first > end0, "the index jumps over the gap");
    return 0;
}

static int t_repeat_block(void)
{
    stream_for(500);
    sim_fault("{\"fault\":\"sensor-repeat-block\",\"value\":2}");
    long long until = it_now_ms() + 5000;
    while (ev.repeated < 2 && it_now_ms() < until)
        pump(20);
    struct sh_stream_stats st;
    sh_drv_stream_stats(sh, &st);
    IT_CHECK(ev.repeated == 2 && st.repeated_blocks == 2, "2 repeated blocks dropped, got %u",
             ev.repeated);
    IT_CHECK(st.lost_blocks == 0, "no loss");
    return 0;
}

static bool pen_present_flag;
static unsigned pen_presence_changes;

static void on_pen_presence(void *user, bool present, const char *reason)
{
    (void)user;
    (void)reason;
    pen_present_flag = present;
    pen_presence_changes++;
}

static bool wait_flag_value(const bool *flag, bool want, int ms)
{
    long long until = it_now_ms() + ms;
    while (*flag != want && it_now_ms() < until)
        pump(20);
    return *flag == want;
}

/* Unplug mid-stream: the stream ends with an error event, the driver
 * closes cleanly, re-attaches on re-plug (hotplug) and streams again. */
static int t_unplug_sensor(void)
{
    ev.sensor_present = true;
    stream_for(300);
    sim_fault("{\"fault\":\"sensor-unplug\",\"replug_after\":1.0}");
    IT_CHECK(wait_flag_value(&ev.sensor_present, false, 5000), "unplug not noticed");
    IT_CHECK(ev.errors >= 1, "stream error reported on unplug");
    IT_CHECK(sh_dev->driver->start(sh_dev, NULL, NULL) == -ENODEV, "start refused while gone");
    IT_CHECK(wait_flag_value(&ev.sensor_present, true, 10000), "no re-attach after re-plug");
    IT_CHECK(sh_drv_present(sh) && sh_drv_identity(sh), "identity read again");
    long long until = it_now_ms() + 5000;
    while (sh_drv_streaming(sh) && it_now_ms() < until)
        pump(20);
    uint64_t before = ev.samples;
    stream_for(500);
    IT_CHECK(ev.samples > before, "streaming again after re-plug");
    return 0;
}

/* Unplug the pen: pending requests fail with -ENODEV, the driver rescans
 * and re-identifies the pen when it is back. */
static int t_unplug_pen(void)
{
    pen_present_flag = true;
    struct result r = { 0 };
    sim_fault("{\"fault\":\"pen-unplug\",\"replug_after\":1.0}");
    IT_CHECK(wait_flag_value(&pen_present_flag, false, 5000), "pen unplug not noticed");
    IT_CHECK(pen_drv_request(pen, PEN_MSG_GET_STATUS, NULL, on_done, &r) == -ENODEV,
             "request refused while the pen is gone");
    IT_CHECK(wait_flag_value(&pen_present_flag, true, 10000), "pen not re-attached after re-plug");
    r = request(PEN_MSG_GET_STATUS, NULL);
    IT_CHECK(r.status == 0, "pen answers after re-attach");
    struct pen_link_stats st;
    pen_drv_stats(pen, &st);
    IT_CHECK(st.attaches == 2 && st.detaches == 1, "attaches %u detaches %u", st.attaches,
             st.detaches);
    return 0;
}

int main(int argc, char **argv)
{
    IT_CHECK(argc == 2, "usage: dev_itest SCENARIO");
    open_bench();
    int rc = 1;
    if (strcmp(argv[1], "identify") == 0)
        rc = t_identify();
    else if (strcmp(argv[1], "timeout") == 0)
        rc = t_timeout();
    else if (strcmp(argv[1], "retry") == 0)
        rc = t_retry();
    else if (strcmp(argv[1], "stream") == 0)
        rc = t_stream();
    else if (strcmp(argv[1], "lost-block") == 0)
        rc = t_lost_block();
    else if (strcmp(argv[1], "repeat-block") == 0)
        rc = t_repeat_block();
    else if (strcmp(argv[1], "unplug-sensor") == 0)
        rc = t_unplug_sensor();
    else if (strcmp(argv[1], "unplug-pen") == 0)
        rc = t_unplug_pen();
    else
        IT_CHECK(0, "unknown scenario %s", argv[1]);
    rig_device_close(sh_dev);
    rig_device_close(pen_dev);
    if (rc == 0)
        fprintf(stderr, "PASS %s\n", argv[1]);
    return rc;
}
