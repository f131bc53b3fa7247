/* MNP pen: the driver table (see dev/driver.h). The device side is
 * protocol.c; the wire format is protocol/pen.c (PEN.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/mnp-pen/protocol.h"
#include "protocol/sensor.h" /* PEN_USB_VID, PEN_USB_PID */

extern const struct rig_driver mnp_pen_driver;

struct pen_drv *pen_drv_of(struct rig_device *d)
{
    return d && d->driver == &mnp_pen_driver ? d->priv : NULL;
}

static struct pen_drv *drv(const struct rig_device *d)
{
    return d->priv;
}

static struct rig_device *pen_open(const struct station_match *m, const struct rig_callbacks *cb,
                                   void *user, char *err, size_t errlen)
{
    struct pen_drv *p = pen_drv_new(m, cb, user);
    struct rig_device *d = p ? rig_device_new(&mnp_pen_driver, p) : NULL;
    if (!d) {
        pen_drv_free(p);
        snprintf(err, errlen, "out of memory");
    }
    return d;
}

static int pen_attach(struct rig_device *d, char *err, size_t errlen)
{
    return pen_drv_attach(drv(d), err, errlen);
}

static void pen_close(struct rig_device *d)
{
    pen_drv_free(drv(d));
    free(d);
}

static struct dev *pen_dev(struct rig_device *d)
{
    return pen_drv_dev(drv(d));
}
static bool pen_present(const struct rig_device *d)
{
    return pen_drv_present(drv(d));
}

static bool pen_running(const struct rig_device *d)
{
    uint8_t state;
    return pen_drv_motor(drv(d), &state, NULL) &&
           (state == PEN_STATE_SPINUP || state == PEN_STATE_RUNNING);
}

/* A pen request completing as a rig_done_fn. */
struct generic_req {
    rig_done_fn done;
    void *user;
};

static void generic_done(void *user, int status, const struct pen_msg *resp)
{
    struct generic_req *g = user;
    char msg[96];
    if (status == PEN_DRV_NAK && resp)
        snprintf(msg, sizeof msg, "refused: %s", pen_error_str(resp->u.nak.error));
    else
        snprintf(msg, sizeof msg, "%s", status == 0 ? "ok" : strerror(status < 0 ? -status : EIO));
    if (g->done)
        g->done(g->user, status == PEN_DRV_NAK ? -EPERM : status, msg);
    free(g);
}

static int generic_request(struct rig_device *d, uint8_t type, const struct pen_msg *m,
                           rig_done_fn done, void *user)
{
    struct generic_req *g = malloc(sizeof *g);
    if (!g)
        return -ENOMEM;
    g->done = done;
    g->user = user;
    int rc = pen_drv_request(drv(d), type, m, generic_done, g);
    if (rc < 0)
        free(g);
    return rc;
}

static int pen_start(struct rig_device *d, rig_done_fn done, void *user)
{
    return generic_request(d, PEN_MSG_START, NULL, done, user);
}

static int pen_stop(struct rig_device *d, rig_done_fn done, void *user)
{
    return generic_request(d, PEN_MSG_STOP, NULL, done, user);
}

/* "rate_hz" (SET_RATE) and "depth_mm" (SET_DEPTH); the pen checks the
 * range and NAKs what it cannot do. */
static int pen_configure(struct rig_device *d, const char *key, double value, rig_done_fn done,
                         void *user)
{
    struct pen_msg m = { 0 };
    if (strcmp(key, "rate_hz") == 0 && value >= 0 && value <= UINT32_MAX / 1000.0) {
        m.u.rate_mhz = (uint32_t)(value * 1000.0 + 0.5);
        return generic_request(d, PEN_MSG_SET_RATE, &m, done, user);
    }
    if (strcmp(key, "depth_mm") == 0 && value >= 0 && value <= UINT16_MAX / 1000.0) {
        m.u.depth_um = (uint16_t)(value * 1000.0 + 0.5);
        return generic_request(d, PEN_MSG_SET_DEPTH, &m, done, user);
    }
    return -EINVAL;
}

static cJSON *pen_describe(struct rig_device *d)
{
    return dev_describe(pen_drv_dev(drv(d)));
}

const struct rig_driver mnp_pen_driver = {
    .name = "mnp-pen",
    .longname = "MNP micro-needling pen (USB CDC-ACM service port)",
    .role = RIG_ROLE_PEN,
    .usb_vid = PEN_USB_VID,
    .usb_pid = PEN_USB_PID,
    .scan = pen_drv_scan,
    .open = pen_open,
    .attach = pen_attach,
    .close = pen_close,
    .dev = pen_dev,
    .present = pen_present,
    .start = pen_start,
    .stop = pen_stop,
    .running = pen_running,
    .configure = pen_configure,
    .describe = pen_describe,
};
