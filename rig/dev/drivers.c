/* The driver registry (see driver.h). Adding an instrument: one line in
 * RIG_DRIVER_LIST (the first driver of a role is that role's default). */
#include "dev/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RIG_DRIVER_LIST(X)                                                                         \
    X(mnp_pen_driver)                                                                              \
    X(sh2_driver)

#define DECLARE(sym) extern const struct rig_driver sym;
#define ENTRY(sym)   &sym,
RIG_DRIVER_LIST(DECLARE)
const struct rig_driver *const rig_drivers[] = { RIG_DRIVER_LIST(ENTRY) NULL };

const char *rig_role_str(enum rig_role role)
{
    return role == RIG_ROLE_PEN ? "pen" : "sensor";
}

const char *rig_stream_event_str(enum rig_stream_event ev)
{
    switch (ev) {
    case RIG_EV_LOST_BLOCKS:
        return "lost_blocks";
    case RIG_EV_REPEATED_BLOCK:
        return "repeated_block";
    case RIG_EV_OVERRUN:
        return "overrun";
    case RIG_EV_BAD_BLOCK:
        return "bad_block";
    case RIG_EV_STREAM_ERROR:
        return "stream_error";
    case RIG_EV_STREAM_STARTED:
        return "stream_started";
    case RIG_EV_STREAM_STOPPED:
        return "stream_stopped";
    }
    return "unknown";
}

const struct rig_driver *rig_driver_find(const char *name)
{
    for (const struct rig_driver *const *d = rig_drivers; *d; d++)
        if (strcmp((*d)->name, name) == 0)
            return *d;
    return NULL;
}

const struct rig_driver *rig_driver_default(enum rig_role role)
{
    for (const struct rig_driver *const *d = rig_drivers; *d; d++)
        if ((*d)->role == role)
            return *d;
    return NULL;
}

const char *rig_driver_names(int role, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (const struct rig_driver *const *d = rig_drivers; *d; d++) {
        if (role >= 0 && (int)(*d)->role != role)
            continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", (*d)->name);
        if (n < 0 || (size_t)n >= len - at)
            break;
        at += (size_t)n;
    }
    return buf;
}

struct rig_device *rig_device_new(const struct rig_driver *drv, void *priv)
{
    struct rig_device *d = calloc(1, sizeof *d);
    if (d) {
        d->driver = drv;
        d->priv = priv;
    }
    return d;
}

struct rig_device *rig_device_open(const struct station_match *m, const struct rig_callbacks *cb,
                                   void *user, char *err, size_t errlen)
{
    const struct rig_driver *drv = rig_driver_find(m->driver);
    if (!drv) {
        char names[256];
        snprintf(err, errlen, "unknown driver \"%s\" (known: %s)", m->driver,
                 rig_driver_names(-1, names, sizeof names));
        return NULL;
    }
    return drv->open(m, cb, user, err, errlen);
}

cJSON *rig_device_describe(struct rig_device *d)
{
    cJSON *o = d->driver->describe(d);
    if (o)
        cJSON_AddStringToObject(o, "driver", d->driver->name);
    return o;
}
