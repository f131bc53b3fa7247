/* SH-2 sensor head: the asynchronous control requests after attach (see
 * protocol.h): the request list, and the chains behind start (SET_RATE,
 * START), stop, tare (TARE, GET_STATUS) and status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "dev/sh2/sh2_int.h"

/* ---- async control requests ---- */

void sh2_ctrl_unlink(struct sh_drv *s, struct sh_ctrl *c)
{
    if (c->prev_link)
        c->prev_link->next_link = c->next_link;
    else
        s->ctrls = c->next_link;
    if (c->next_link)
        c->next_link->prev_link = c->prev_link;
}

static void ctrl_finish(struct sh_ctrl *c, int status, const char *msg)
{
    if (c->done)
        c->done(c->user, status, msg);
}

static void LIBUSB_CALL ctrl_cb(struct libusb_transfer *x)
{
    struct sh_ctrl *c = x->user_data;
    struct sh_drv *s = c->drv;
    int status;
    char msg[128];
    switch (x->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        status = 0;
        snprintf(msg, sizeof msg, "ok");
        break;
    case LIBUSB_TRANSFER_STALL:
        status = -EPIPE;
        snprintf(msg, sizeof msg, "sensor head refused request 0x%02x", c->request);
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        status = -ENODEV;
        snprintf(msg, sizeof msg, "sensor head gone");
        break;
    case LIBUSB_TRANSFER_TIMED_OUT:
        status = -ETIMEDOUT;
        snprintf(msg, sizeof msg, "sensor head did not answer request 0x%02x", c->request);
        break;
    case LIBUSB_TRANSFER_CANCELLED:
        status = -ECANCELED;
        snprintf(msg, sizeof msg, "cancelled");
        break;
    default:
        status = -EIO;
        snprintf(msg, sizeof msg, "control transfer 0x%02x failed", c->request);
        break;
    }
    dev_log(&s->dev, LOG_DEBUG, "sensor: control 0x%02x -> %s", c->request, msg);
    c->actual = x->actual_length;
    sh2_ctrl_unlink(s, c);
    libusb_free_transfer(x);
    if (c->next)
        c->next(c, status);
    else
        ctrl_finish(c, status, msg);
    free(c);
    if (status == -ENODEV)
        sh2_detach(s, "unplugged (control transfer: no device)");
    sh2_maybe_finish_detach(s);
}

/* Submit a vendor control request: OUT with `data` (len bytes), or IN
 * (reqtype SH_REQTYPE_IN, data NULL) reading up to len bytes into c->buf. */
static struct sh_ctrl *ctrl_submit_dir(struct sh_drv *s, uint8_t reqtype, uint8_t request,
                                       uint16_t value, const void *data, uint16_t len,
                                       void (*next)(struct sh_ctrl *, int), sh_done_fn done,
                                       void *user, int *rcp);

static int ctrl_submit(struct sh_drv *s, uint8_t request, uint16_t value, const void *data,
                       uint16_t len, void (*next)(struct sh_ctrl *, int), sh_done_fn done,
                       void *user)
{
    int rc;
    ctrl_submit_dir(s, SH_REQTYPE_OUT, request, value, data, len, next, done, user, &rc);
    return rc;
}

static struct sh_ctrl *ctrl_submit_dir(struct sh_drv *s, uint8_t reqtype, uint8_t request,
                                       uint16_t value, const void *data, uint16_t len,
                                       void (*next)(struct sh_ctrl *, int), sh_done_fn done,
                                       void *user, int *rcp)
{
    struct sh_ctrl *c = NULL;
    *rcp = 0;
#define CTRL_FAIL(e)                                                                               \
    do {                                                                                           \
        *rcp = (e);                                                                                \
        return NULL;                                                                               \
    } while (0)
    if (!s->present || s->gone)
        CTRL_FAIL(-ENODEV);
    if (len > 64)
        CTRL_FAIL(-EINVAL);
    c = calloc(1, sizeof *c);
    if (!c)
        CTRL_FAIL(-ENOMEM);
    c->xfer = libusb_alloc_transfer(0);
    if (!c->xfer) {
        free(c);
        CTRL_FAIL(-ENOMEM);
    }
    c->drv = s;
    c->request = request;
    c->done = done;
    c->user = user;
    c->next = next;
    libusb_fill_control_setup(c->buf, reqtype, request, value, SH_INTERFACE, len);
    if (len && data)
        memcpy(c->buf + LIBUSB_CONTROL_SETUP_SIZE, data, len);
    libusb_fill_control_transfer(c->xfer, s->handle, c->buf, ctrl_cb, c, SH_DRV_CTRL_TIMEOUT_MS);
    int rc = libusb_submit_transfer(c->xfer);
    if (rc != 0) {
        libusb_free_transfer(c->xfer);
        free(c);
        CTRL_FAIL(rc == LIBUSB_ERROR_NO_DEVICE ? -ENODEV : -EIO);
    }
#undef CTRL_FAIL
    c->next_link = s->ctrls;
    if (s->ctrls)
        s->ctrls->prev_link = c;
    s->ctrls = c;
    dev_log(&s->dev, LOG_DEBUG, "sensor: control 0x%02x value=%u len=%u sent", request, value, len);
    return c;
}

static void status_after(struct sh_ctrl *c, int status)
{
    struct sh_status st;
    if (status == 0 &&
        sh_status_decode(c->buf + LIBUSB_CONTROL_SETUP_SIZE, (size_t)c->actual, &st) != SH_OK)
        status = -EPROTO;
    if (c->status_done)
        c->status_done(c->user, status, status == 0 ? &st : NULL);
}

int sh_drv_get_status(struct sh_drv *s, sh_status_fn done, void *user)
{
    int rc;
    struct sh_ctrl *c = ctrl_submit_dir(s, SH_REQTYPE_IN, SH_REQ_GET_STATUS, 0, NULL,
                                        SH_STATUS_SIZE, status_after, NULL, user, &rc);
    if (c)
        c->status_done = done;
    return rc;
}

/* START chain: SET_RATE -> START, bulk transfers already in flight. */
static void start_after_start(struct sh_ctrl *c, int status)
{
    struct sh_drv *s = c->drv;
    if (status == 0) {
        sh2_set_state(s, ST_STREAMING);
        /* rigd restarts the stream after every capture (its flush): say
         * so once per rate, not five times a run */
        dev_log(&s->dev, s->rate_hz != s->logged_rate ? LOG_INFO : LOG_DEBUG,
                "sensor: streaming at %u S/s per channel", s->rate_hz);
        s->logged_rate = s->rate_hz;
        sh2_emit(s, SH_EV_STREAM_STARTED, s->rate_hz, "stream started");
        ctrl_finish(c, 0, "streaming");
        return;
    }
    if (s->state == ST_STARTING) {
        sh2_set_state(s, ST_STOPPING);
        s->stop_deadline = 0;
    }
    ctrl_finish(c, status, "START failed");
}

static void start_after_rate(struct sh_ctrl *c, int status)
{
    struct sh_drv *s = c->drv;
    if (status == 0)
        status = ctrl_submit(s, SH_REQ_START, 0, NULL, 0, start_after_start, c->done, c->user);
    if (status == 0)
        return;
    if (s->state == ST_STARTING) {
        sh2_set_state(s, ST_STOPPING);
        s->stop_deadline = 0;
    }
    ctrl_finish(c, status, "SET_RATE failed");
}

int sh_drv_start(struct sh_drv *s, sh_done_fn done, void *user)
{
    if (!s->present || s->gone)
        return -ENODEV;
    if (s->state != ST_IDLE)
        return -EALREADY;
    sh_stream_reset(&s->stream);
    s->got_last = false;
    sh2_set_state(s, ST_STARTING);
    int rc = sh2_submit_bulk(s);
    if (rc == 0) {
        uint8_t le[4] = { (uint8_t)s->rate_hz, (uint8_t)(s->rate_hz >> 8),
                          (uint8_t)(s->rate_hz >> 16), (uint8_t)(s->rate_hz >> 24) };
        rc = ctrl_submit(s, SH_REQ_SET_RATE, 0, le, 4, start_after_rate, done, user);
    } else {
        rc = -EIO;
    }
    if (rc < 0) {
        sh2_set_state(s, ST_STOPPING);
        s->stop_deadline = 0;
        sh2_cancel_bulk(s);
        if (s->bulk_inflight == 0)
            sh2_set_state(s, ST_IDLE);
    }
    return rc;
}

static void stop_after_stop(struct sh_ctrl *c, int status)
{
    struct sh_drv *s = c->drv;
    /* Give the device time to send its LAST block; then cancel the rest. */
    if (s->state == ST_STOPPING && s->stop_deadline != 0)
        s->stop_deadline = dev_now_us() + 300000u;
    ctrl_finish(c, status, status == 0 ? "stopped" : "STOP failed");
}

int sh_drv_stop(struct sh_drv *s, sh_done_fn done, void *user)
{
    if (!s->present || s->gone)
        return -ENODEV;
    if (s->state == ST_IDLE || s->state == ST_STOPPING)
        return -EALREADY;
    sh2_set_state(s, ST_STOPPING);
    s->got_last = false;
    s->stop_deadline = dev_now_us() + 2u * SH_DRV_CTRL_TIMEOUT_MS * 1000u;
    return ctrl_submit(s, SH_REQ_STOP, 0, NULL, 0, stop_after_stop, done, user);
}

/* TARE chain: TARE, then GET_STATUS for the offset it took. */
static void tare_after_status(struct sh_ctrl *c, int status)
{
    struct sh_drv *s = c->drv;
    struct sh_status st;
    if (status == 0 &&
        sh_status_decode(c->buf + LIBUSB_CONTROL_SETUP_SIZE, (size_t)c->actual, &st) != SH_OK)
        status = -EPROTO;
    if (status == 0) {
        s->tared = (st.flags & SH_STAT_TARED) != 0;
        s->tare_offset_un = st.tare_offset_un;
        dev_log(&s->dev, LOG_INFO, "sensor: tared, offset %d uN (raw)", st.tare_offset_un);
    }
    ctrl_finish(c, status, status == 0 ? "tared" : "TARE done, status unreadable");
}

static void tare_after_tare(struct sh_ctrl *c, int status)
{
    struct sh_drv *s = c->drv;
    if (status == 0) {
        s->tared = true;
        int rc;
        ctrl_submit_dir(s, SH_REQTYPE_IN, SH_REQ_GET_STATUS, 0, NULL, SH_STATUS_SIZE,
                        tare_after_status, c->done, c->user, &rc);
        if (rc == 0)
            return;
        status = rc;
    }
    ctrl_finish(c, status, "TARE failed");
}

int sh_drv_tare(struct sh_drv *s, sh_done_fn done, void *user)
{
    return ctrl_submit(s, SH_REQ_TARE, 0, NULL, 0, tare_after_tare, done, user);
}

bool sh_drv_tare_info(const struct sh_drv *s, int32_t *offset_raw_un)
{
    if (offset_raw_un)
        *offset_raw_un = s->tare_offset_un;
    return s->tared;
}
