/* SH-2 sensor head over libusb (see protocol.h): finding and attaching
 * the head (setup, scan), its presence (hotplug, closing after unplug),
 * the dev ops and what describes it. The asynchronous control requests are
 * control.c, the bulk stream stream.c (shared state: sh2_int.h). */
#include "dev/sh2/sh2_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include <libusb.h>

#include "protocol/caldate.h"

static const struct dev_ops sh_dev_ops;

/* ---- attach / detach ---- */

static int sync_in(struct sh_drv *s, uint8_t req, uint8_t *buf, uint16_t len)
{
    return libusb_control_transfer(s->handle, SH_REQTYPE_IN, req, 0, SH_INTERFACE, buf, len,
                                   SH_DRV_SETUP_TIMEOUT_MS);
}

/* Read and discard the blocks a stopped stream still sends, up to its
 * LAST block (bounded: SH_DRV_DRAIN_MS in all, or a quiet endpoint). */
static void drain_stale_stream(struct sh_drv *s)
{
    uint8_t *buf = malloc(SH_TRANSFER_SIZE);
    if (!buf)
        return;
    uint64_t end = dev_now_us() + SH_DRV_DRAIN_MS * 1000u;
    unsigned blocks = 0;
    bool last = false;
    while (!last && dev_now_us() < end) {
        int got = 0;
        int rc = libusb_bulk_transfer(s->handle, SH_EP_STREAM, buf, SH_TRANSFER_SIZE, &got,
                                      SH_DRV_DRAIN_QUIET_MS);
        if (rc != 0 && !(rc == LIBUSB_ERROR_TIMEOUT && got > 0))
            break; /* quiet (timeout), or an error: nothing more to read */
        struct sh_block_header h;
        if (sh_block_decode(buf, (size_t)got, &h) == SH_OK)
            last = (h.flags & SH_BLK_LAST) != 0;
        blocks++;
    }
    free(buf);
    dev_log(&s->dev, LOG_NOTICE,
            "sensor: stopped a stream left running by a previous owner; "
            "discarded %u stale block%s%s",
            blocks, blocks == 1 ? "" : "s", last ? "" : " (no LAST block seen)");
}

static int setup_device(struct sh_drv *s, char *err, size_t errlen)
{
    uint8_t buf[64];
    int n = sync_in(s, SH_REQ_GET_IDENTITY, buf, SH_IDENTITY_SIZE);
    if (n < 0 || sh_identity_decode(buf, (size_t)n, &s->identity) != SH_OK) {
        snprintf(err, errlen, "sensor: GET_IDENTITY failed (%s)",
                 n < 0 ? libusb_error_name(n) : "bad payload");
        return -EIO;
    }
    n = sync_in(s, SH_REQ_GET_CAL, buf, SH_CALIBRATION_SIZE);
    if (n < 0 || sh_calibration_decode(buf, (size_t)n, &s->cal) != SH_OK) {
        snprintf(err, errlen, "sensor: GET_CAL failed (%s)",
                 n < 0 ? libusb_error_name(n) : "bad payload");
        return -EIO;
    }
    struct sh_status st;
    n = sync_in(s, SH_REQ_GET_STATUS, buf, SH_STATUS_SIZE);
    if (n < 0 || sh_status_decode(buf, (size_t)n, &st) != SH_OK) {
        snprintf(err, errlen, "sensor: GET_STATUS failed (%s)",
                 n < 0 ? libusb_error_name(n) : "bad payload");
        return -EIO;
    }
    /* A tare a previous host took is still in effect (until power-down). */
    s->tared = (st.flags & SH_STAT_TARED) != 0;
    s->tare_offset_un = st.tare_offset_un;
    /* A stream left running by a previous owner (a rigd that crashed or
     * was killed mid-run) would fill our transfers with its blocks: stop
     * it, and read away what the device flushes after the STOP, before
     * our own stream can start. */
    if (st.flags & SH_STAT_STREAMING) {
        n = libusb_control_transfer(s->handle, SH_REQTYPE_OUT, SH_REQ_STOP, 0, SH_INTERFACE, NULL,
                                    0, SH_DRV_SETUP_TIMEOUT_MS);
        if (n < 0)
            dev_log(&s->dev, LOG_WARNING, "sensor: could not stop a running stream: %s",
                    libusb_error_name(n));
        else
            drain_stale_stream(s);
    }
    return 0;
}

static bool serial_matches(struct sh_drv *s, libusb_device_handle *h,
                           const struct libusb_device_descriptor *dd)
{
    if (!s->match.serial[0])
        return true;
    unsigned char ser[128];
    if (!dd->iSerialNumber)
        return false;
    int n = libusb_get_string_descriptor_ascii(h, dd->iSerialNumber, ser, sizeof ser);
    return n > 0 && strcmp((const char *)ser, s->match.serial) == 0;
}

static void close_handle(struct sh_drv *s)
{
    if (!s->handle)
        return;
    sh2_free_bulk(s);
    libusb_release_interface(s->handle, SH_INTERFACE);
    libusb_close(s->handle);
    libusb_unref_device(s->device);
    s->handle = NULL;
    s->device = NULL;
}

int sh_drv_attach(struct sh_drv *s, char *err, size_t errlen)
{
    if (s->handle)
        return 0;
    libusb_device **list;
    ssize_t cnt = libusb_get_device_list(s->ctx, &list);
    if (cnt < 0) {
        snprintf(err, errlen, "sensor: cannot list USB devices: %s", libusb_error_name((int)cnt));
        return -EIO;
    }
    int rc = -ENODEV;
    snprintf(err, errlen, "sensor %04x:%04x%s%s not found", s->match.vid, s->match.pid,
             s->match.serial[0] ? " serial " : "", s->match.serial);
    for (ssize_t i = 0; i < cnt && !s->handle; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) != 0 || dd.idVendor != s->match.vid ||
            dd.idProduct != s->match.pid)
            continue;
        libusb_device_handle *h;
        int r = libusb_open(list[i], &h);
        if (r != 0) {
            snprintf(err, errlen, "sensor: cannot open %04x:%04x: %s", dd.idVendor, dd.idProduct,
                     libusb_error_name(r));
            rc = -EIO;
            continue;
        }
        if (!serial_matches(s, h, &dd)) {
            libusb_close(h);
            continue;
        }
        libusb_set_auto_detach_kernel_driver(h, 1);
        r = libusb_claim_interface(h, SH_INTERFACE);
        if (r != 0) {
            snprintf(err, errlen, "sensor: cannot claim interface %d: %s", SH_INTERFACE,
                     libusb_error_name(r));
            libusb_close(h);
            rc = -EBUSY;
            continue;
        }
        s->handle = h;
        s->device = libusb_ref_device(list[i]);
    }
    libusb_free_device_list(list, 1);
    if (!s->handle) {
        /* Not there: hotplug will tell us. Present but unusable: retry. */
        if (rc != -ENODEV || !s->has_hotplug)
            s->reattach_at = dev_now_us() + 1000000u;
        return rc;
    }
    if (setup_device(s, err, errlen) < 0 || sh2_alloc_bulk(s) < 0) {
        close_handle(s);
        s->reattach_at = dev_now_us() + 1000000u;
        return -EIO;
    }
    s->present = true;
    s->gone = false;
    s->missing_logged = false;
    s->reattach_at = DEV_NO_DEADLINE;
    sh2_set_state(s, ST_IDLE);
    s->dev.fd_generation++;
    dev_log(&s->dev, LOG_INFO, "sensor: attached %s serial %s fw %u.%u.%u, calibration due %u%s",
            s->identity.model, s->identity.serial, s->identity.fw_major, s->identity.fw_minor,
            s->identity.fw_patch, s->cal.due_date,
            sh_drv_cal_due(s) ? " (OVERDUE: measurements refused)" : "");
    if (s->cb.on_presence)
        s->cb.on_presence(s->user, true, "attached");
    return 0;
}

cJSON *sh_drv_scan(const struct station_match *m, char *err, size_t errlen)
{
    libusb_context *ctx;
    int rc = libusb_init(&ctx);
    if (rc != 0) {
        snprintf(err, errlen, "libusb_init: %s", libusb_error_name(rc));
        return NULL;
    }
    libusb_device **list;
    ssize_t cnt = libusb_get_device_list(ctx, &list);
    if (cnt < 0) {
        snprintf(err, errlen, "sensor: cannot list USB devices: %s", libusb_error_name((int)cnt));
        libusb_exit(ctx);
        return NULL;
    }
    cJSON *arr = cJSON_CreateArray();
    for (ssize_t i = 0; i < cnt; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) != 0 || dd.idVendor != m->vid ||
            dd.idProduct != m->pid)
            continue;
        unsigned char ser[128] = "";
        libusb_device_handle *h;
        if (dd.iSerialNumber && libusb_open(list[i], &h) == 0) {
            if (libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, ser, sizeof ser) < 0)
                ser[0] = '\0';
            libusb_close(h);
        }
        if (m->serial[0] && strcmp((const char *)ser, m->serial) != 0)
            continue;
        struct station_match found = { .vid = dd.idVendor, .pid = dd.idProduct };
        snprintf(found.serial, sizeof found.serial, "%s", (const char *)ser);
        cJSON *o = station_match_to_json(&found);
        cJSON_AddNumberToObject(o, "bus", libusb_get_bus_number(list[i]));
        cJSON_AddNumberToObject(o, "address", libusb_get_device_address(list[i]));
        cJSON_AddItemToArray(arr, o);
    }
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    return arr;
}

/* The device is gone but some transfers never completed (a disconnect
 * the kernel -- or an emulation -- never reports as an error on the
 * usbfs fd). libusb_close() then drops them from its in-flight list (their
 * callbacks will never run), so they are ours to free. */
static void force_close(struct sh_drv *s)
{
    dev_log(&s->dev, LOG_WARNING,
            "sensor: %d bulk and %s control transfer(s) still pending %d ms after "
            "unplug; closing anyway",
            s->bulk_inflight, s->ctrls ? "some" : "no", SH_DRV_GONE_WAIT_MS);
    libusb_release_interface(s->handle, SH_INTERFACE);
    libusb_close(s->handle);
    s->handle = NULL;
    libusb_unref_device(s->device);
    s->device = NULL;
    for (int i = 0; i < SH_DRV_TRANSFERS; i++)
        if (s->bulk[i])
            s->bulk[i]->user_data = NULL;
    s->bulk_inflight = 0;
    sh2_free_bulk(s);
    while (s->ctrls) {
        struct sh_ctrl *c = s->ctrls;
        sh2_ctrl_unlink(s, c);
        libusb_free_transfer(c->xfer);
        if (c->done)
            c->done(c->user, -ENODEV, "sensor head gone");
        if (c->status_done)
            c->status_done(c->user, -ENODEV, NULL);
        free(c);
    }
    if (s->state != ST_IDLE) {
        sh2_set_state(s, ST_IDLE);
        sh2_emit(s, SH_EV_STREAM_STOPPED, 0, "stream stopped (device gone)");
    }
    s->gone = false;
    s->close_pending = false;
    s->dev.fd_generation++;
}

static void finish_detach(struct sh_drv *s)
{
    if (s->gone && !s->close_pending && dev_now_us() >= s->gone_deadline) {
        force_close(s);
        return;
    }
    if (!s->close_pending)
        return;
    s->close_pending = false;
    close_handle(s);
    s->gone = false;
    s->dev.fd_generation++;
}

static int LIBUSB_CALL hotplug_cb(libusb_context *ctx, libusb_device *device,
                                  libusb_hotplug_event event, void *user)
{
    (void)ctx;
    struct sh_drv *s = user;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
        if (s->device == device)
            sh2_detach(s, "unplugged");
    } else if (!s->present) {
        /* Open from process(), not from inside libusb's event handling
         * (and only once the old handle is fully closed). */
        s->reattach_at = dev_now_us();
    }
    return 0;
}

/* ---- dev ops ---- */

static int sh_pollfds(struct dev *d, struct pollfd *out, int max)
{
    struct sh_drv *s = (struct sh_drv *)d;
    const struct libusb_pollfd **fds = libusb_get_pollfds(s->ctx);
    if (!fds)
        return 0;
    int n = 0;
    for (int i = 0; fds[i] && n < max; i++, n++) {
        out[n].fd = fds[i]->fd;
        out[n].events = fds[i]->events;
        out[n].revents = 0;
    }
    libusb_free_pollfds(fds);
    return n;
}

static uint64_t sh_deadline(struct dev *d)
{
    struct sh_drv *s = (struct sh_drv *)d;
    if (s->close_pending)
        return 0;
    uint64_t dl = s->gone ? s->gone_deadline : s->reattach_at;
    if (s->state == ST_STOPPING && s->bulk_inflight > 0 && s->stop_deadline < dl)
        dl = s->stop_deadline;
    struct timeval tv;
    if (libusb_get_next_timeout(s->ctx, &tv) == 1) {
        uint64_t t = dev_now_us() + (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
        if (t < dl)
            dl = t;
    }
    return dl;
}

static void sh_process(struct dev *d, const struct pollfd *fds, int n)
{
    struct sh_drv *s = (struct sh_drv *)d;
    (void)fds;
    (void)n;
    /* libusb checks its own fds; a zero timeout makes this non-blocking. */
    struct timeval zero = { 0, 0 };
    int rc = libusb_handle_events_timeout_completed(s->ctx, &zero, NULL);
    if (rc != 0 && rc != LIBUSB_ERROR_INTERRUPTED)
        dev_log(&s->dev, LOG_WARNING, "sensor: libusb event handling: %s", libusb_error_name(rc));
    finish_detach(s);
    uint64_t now = dev_now_us();
    if (s->state == ST_STOPPING && s->bulk_inflight > 0 && now >= s->stop_deadline) {
        s->stop_deadline = DEV_NO_DEADLINE;
        sh2_cancel_bulk(s);
    }
    if (s->reattach_at != DEV_NO_DEADLINE && now >= s->reattach_at && !s->gone && !s->present) {
        char err[256];
        int r = sh_drv_attach(s, err, sizeof err);
        if (r == 0) {
            s->reattach_at = DEV_NO_DEADLINE;
        } else {
            /* Just announced: the node may not be ready; try again shortly. */
            s->reattach_at = now + 250000u;
            if (!s->missing_logged) {
                dev_log(&s->dev, LOG_WARNING, "%s; waiting for hotplug", err);
                s->missing_logged = true;
            }
            if (!s->has_hotplug)
                s->reattach_at = now + 1000000u;
        }
    }
}

cJSON *sh_identity_to_json(const struct sh_identity *id)
{
    cJSON *o = dev_identity_json(id->model, id->serial, id->hw_revision, id->fw_major, id->fw_minor,
                                 id->fw_patch);
    cJSON_AddNumberToObject(o, "protocol_version", id->protocol_version);
    cJSON_AddNumberToObject(o, "channels", id->channels);
    cJSON_AddNumberToObject(o, "max_rate_hz", id->max_rate_hz);
    cJSON_AddNumberToObject(o, "force_full_scale_n", id->force_full_scale_un / 1e6);
    cJSON_AddNumberToObject(o, "disp_full_scale_mm", id->disp_full_scale_nm / 1e6);
    return o;
}

cJSON *sh_calibration_to_json(const struct sh_calibration *c, bool due)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cal_date", c->cal_date);
    cJSON_AddNumberToObject(o, "due_date", c->due_date);
    cJSON_AddStringToObject(o, "certificate", c->certificate);
    cJSON_AddBoolToObject(o, "due", due);
    return o;
}

static cJSON *sh_describe(struct dev *d)
{
    struct sh_drv *s = (struct sh_drv *)d;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "sensor");
    cJSON_AddBoolToObject(o, "present", s->present);
    cJSON_AddItemToObject(o, "match", station_match_to_json(&s->match));
    if (s->present) {
        cJSON_AddItemToObject(o, "identity", sh_identity_to_json(&s->identity));
        cJSON_AddItemToObject(o, "calibration", sh_calibration_to_json(&s->cal, sh_drv_cal_due(s)));
    }
    static const char *const names[] = { "idle", "starting", "streaming", "stopping" };
    cJSON_AddStringToObject(o, "stream", names[s->state]);
    cJSON_AddNumberToObject(o, "rate_hz", s->rate_hz);
    cJSON *st = cJSON_AddObjectToObject(o, "stream_stats");
    cJSON_AddNumberToObject(st, "blocks", (double)s->stream.stats.blocks);
    cJSON_AddNumberToObject(st, "samples", (double)s->stream.stats.samples);
    cJSON_AddNumberToObject(st, "lost_blocks", (double)s->stream.stats.lost_blocks);
    cJSON_AddNumberToObject(st, "repeated_blocks", (double)s->stream.stats.repeated_blocks);
    cJSON_AddNumberToObject(st, "lost_samples", (double)s->stream.stats.lost_samples);
    cJSON_AddNumberToObject(st, "overruns", (double)s->stream.stats.overruns);
    cJSON_AddNumberToObject(st, "bad_blocks", (double)s->stream.stats.bad_blocks);
    cJSON_AddNumberToObject(st, "transfer_errors", (double)s->transfer_errors);
    cJSON_AddNumberToObject(st, "stale_blocks", (double)s->stale_blocks);
    return o;
}

static const struct dev_ops sh_dev_ops = {
    .kind = "sensor",
    .pollfds = sh_pollfds,
    .deadline = sh_deadline,
    .process = sh_process,
    .describe = sh_describe,
};

/* libusb adds/removes fds when devices open/close: tell the host. */
static void LIBUSB_CALL fd_added(int fd, short events, void *user)
{
    (void)fd;
    (void)events;
    ((struct sh_drv *)user)->dev.fd_generation++;
}
static void LIBUSB_CALL fd_removed(int fd, void *user)
{
    (void)fd;
    ((struct sh_drv *)user)->dev.fd_generation++;
}

struct sh_drv *sh_drv_new(const struct station_match *match, uint32_t rate_hz,
                          const struct rig_callbacks *cb, void *user, char *err, size_t errlen)
{
    struct sh_drv *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->dev.ops = &sh_dev_ops;
    s->match = *match;
    s->rate_hz = rate_hz;
    if (cb)
        s->cb = *cb;
    s->user = user;
    s->reattach_at = DEV_NO_DEADLINE;
    int rc = libusb_init(&s->ctx);
    if (rc != 0) {
        snprintf(err, errlen, "libusb_init: %s", libusb_error_name(rc));
        free(s);
        return NULL;
    }
    libusb_set_pollfd_notifiers(s->ctx, fd_added, fd_removed, s);
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        rc = libusb_hotplug_register_callback(
            s->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
            match->vid, match->pid, LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, s, &s->hotplug);
        s->has_hotplug = rc == LIBUSB_SUCCESS;
    }
    if (!s->has_hotplug)
        dev_log(&s->dev, LOG_WARNING,
                "sensor: libusb hotplug unavailable; rescanning every second");
    return s;
}

void sh_drv_free(struct sh_drv *s)
{
    if (!s)
        return;
    s->cb.on_presence = NULL;
    s->cb.on_samples = NULL;
    s->cb.on_stream_event = NULL;
    for (struct sh_ctrl *c = s->ctrls; c; c = c->next_link) {
        c->done = NULL;
        c->status_done = NULL;
    }
    if (s->handle) {
        /* Cancel everything and let the callbacks run before closing. */
        s->gone = true;
        s->present = false;
        sh2_cancel_bulk(s);
        for (struct sh_ctrl *c = s->ctrls; c; c = c->next_link)
            libusb_cancel_transfer(c->xfer);
        uint64_t until = dev_now_us() + 2000000u;
        while ((s->bulk_inflight > 0 || s->ctrls) && dev_now_us() < until) {
            struct timeval tv = { 0, 100000 };
            libusb_handle_events_timeout_completed(s->ctx, &tv, NULL);
        }
        if (s->bulk_inflight == 0 && !s->ctrls) {
            s->close_pending = false;
            close_handle(s);
        } else {
            force_close(s);
        }
    }
    if (s->has_hotplug)
        libusb_hotplug_deregister_callback(s->ctx, s->hotplug);
    libusb_exit(s->ctx);
    free(s);
}

struct dev *sh_drv_dev(struct sh_drv *s)
{
    return &s->dev;
}
bool sh_drv_present(const struct sh_drv *s)
{
    return s->present;
}
const struct sh_identity *sh_drv_identity(const struct sh_drv *s)
{
    return s->present ? &s->identity : NULL;
}
const struct sh_calibration *sh_drv_calibration(const struct sh_drv *s)
{
    return s->present ? &s->cal : NULL;
}
/* Judged now, not at attach: rigd may run across the due date. */
bool sh_drv_cal_due(const struct sh_drv *s)
{
    return caldate_overdue(s->cal.due_date, caldate_utc(time(NULL)));
}
uint32_t sh_drv_rate(const struct sh_drv *s)
{
    return s->rate_hz;
}
int sh_drv_set_rate(struct sh_drv *s, uint32_t rate_hz)
{
    if (rate_hz < SH_RATE_MIN || rate_hz > SH_RATE_MAX)
        return -EINVAL;
    s->rate_hz = rate_hz;
    return 0;
}
