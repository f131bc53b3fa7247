/* SH-2 sensor head: the driver table (see dev/driver.h). The device side
 * is protocol.c; the wire format is protocol/sensor.c (SENSOR.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/sh2/protocol.h"

extern const struct rig_driver sh2_driver;

struct sh_drv *sh_drv_of(struct rig_device *d)
{
    return d && d->driver == &sh2_driver ? d->priv : NULL;
}

static struct sh_drv *drv(const struct rig_device *d)
{
    return d->priv;
}

static struct rig_device *sh2_open(const struct station_match *m, const struct rig_callbacks *cb,
                                   void *user, char *err, size_t errlen)
{
    /* The rate is a setting (configure "rate_hz"); the device's default
     * until then. */
    struct sh_drv *s = sh_drv_new(m, 50000, cb, user, err, errlen);
    if (!s)
        return NULL;
    struct rig_device *d = rig_device_new(&sh2_driver, s);
    if (!d) {
        sh_drv_free(s);
        snprintf(err, errlen, "out of memory");
    }
    return d;
}

static int sh2_attach(struct rig_device *d, char *err, size_t errlen)
{
    return sh_drv_attach(drv(d), err, errlen);
}

static void sh2_close(struct rig_device *d)
{
    sh_drv_free(drv(d));
    free(d);
}

static struct dev *sh2_dev(struct rig_device *d)
{
    return sh_drv_dev(drv(d));
}
static bool sh2_present(const struct rig_device *d)
{
    return sh_drv_present(drv(d));
}
static bool sh2_running(const struct rig_device *d)
{
    return sh_drv_streaming(drv(d));
}

static int sh2_start(struct rig_device *d, rig_done_fn done, void *user)
{
    return sh_drv_start(drv(d), done, user);
}

static int sh2_stop(struct rig_device *d, rig_done_fn done, void *user)
{
    return sh_drv_stop(drv(d), done, user);
}

static int sh2_configure(struct rig_device *d, const char *key, double value, rig_done_fn done,
                         void *user)
{
    (void)done;
    (void)user;
    if (strcmp(key, "rate_hz") != 0 || value != (double)(uint32_t)value)
        return -EINVAL;
    int rc = sh_drv_set_rate(drv(d), (uint32_t)value);
    return rc < 0 ? rc : 1; /* taken at the next start */
}

static cJSON *sh2_describe(struct rig_device *d)
{
    return dev_describe(sh_drv_dev(drv(d)));
}

const struct rig_driver sh2_driver = {
    .name = "sh2",
    .longname = "SH-2 force/displacement sensor head (USB vendor class)",
    .role = RIG_ROLE_SENSOR,
    .usb_vid = SH_USB_VID,
    .usb_pid = SH_USB_PID,
    .scan = sh_drv_scan,
    .open = sh2_open,
    .attach = sh2_attach,
    .close = sh2_close,
    .dev = sh2_dev,
    .present = sh2_present,
    .start = sh2_start,
    .stop = sh2_stop,
    .running = sh2_running,
    .configure = sh2_configure,
    .describe = sh2_describe,
};
