/* Instrument drivers: one method table per driver, one registry.
 *
 * Every instrument rigd can use is a driver in its own folder
 * (rig/dev/<name>/: protocol.c talks to the device, api.c fills the
 * table below) plus one line in rig/dev/drivers.c. A driver has a role:
 * a "pen" (the device under test: motor, rate, depth) or a "sensor" (a
 * sampling instrument: force and displacement). The station config names
 * a driver per fixture device ("driver": "mnp-pen"); without one the
 * registry's default for the role is used (the first of that role in
 * rig_drivers[]). See docs/INSTRUMENTS.md.
 *
 * The table covers the lifecycle every instrument shares: scan, open,
 * attach, close, start / stop (motor or stream), configure, describe, the
 * dev handle for the event loop (dev.h), and the callbacks (presence,
 * samples, stream events, pen events). Protocol-level operations stay in
 * the driver's own API (mnp-pen/protocol.h: pen_drv_request ...).
 */
#ifndef RIG_DEV_DRIVER_H
#define RIG_DEV_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dev/dev.h"
#include "dev/station.h"
#include "protocol/pen.h"

enum rig_role { RIG_ROLE_PEN, RIG_ROLE_SENSOR };
#define RIG_ROLES 2
const char *rig_role_str(enum rig_role role); /* "pen", "sensor" */

/* A block of samples from a sampling instrument. Indices only ever
 * increase while the device lives; first != the previous block's end is a
 * discontinuity (samples lost, or a new stream): never stitch across it. */
#define RIG_MAX_CHANNELS 4
enum {
    RIG_CH_FORCE = 0, /* sensor role: force, uN (calibrated, tared) */
    RIG_CH_DISP = 1,  /* sensor role: displacement, nm, or SH_NO_TARGET / SH_OUT_OF_RANGE */
};
struct rig_samples {
    uint64_t first;   /* index of ch[*][0] */
    uint32_t rate_hz; /* per channel */
    size_t n;         /* samples per channel */
    unsigned nch;
    const int32_t *ch[RIG_MAX_CHANNELS];
};

/* What happened to a sampling instrument's stream. */
enum rig_stream_event {
    RIG_EV_LOST_BLOCKS,    /* data lost in transit: detail = blocks lost this time */
    RIG_EV_REPEATED_BLOCK, /* duplicate/old data dropped */
    RIG_EV_OVERRUN,        /* the device skipped samples: detail = samples */
    RIG_EV_BAD_BLOCK,      /* data failed validation (CRC, framing...) */
    RIG_EV_STREAM_ERROR,   /* transfer error: streaming stopped */
    RIG_EV_STREAM_STARTED,
    RIG_EV_STREAM_STOPPED,
};
const char *rig_stream_event_str(enum rig_stream_event ev);

/* Called from dev_process() (never from inside a method). Members a role
 * does not use may be NULL. */
struct rig_callbacks {
    /* Attached (identity known) or detached; reason is human-readable. */
    void (*on_presence)(void *user, bool present, const char *reason);
    /* Sensor role: samples just decoded and calibrated. */
    void (*on_samples)(void *user, const struct rig_samples *s);
    void (*on_stream_event)(void *user, enum rig_stream_event ev, uint64_t detail, const char *msg);
    /* Pen role: unsolicited events, as pen messages (EVT_STATE, EVT_FAULT). */
    void (*on_pen_event)(void *user, const struct pen_msg *evt);
};

/* Completion of start / stop / configure: status 0 or -errno. */
typedef void (*rig_done_fn)(void *user, int status, const char *msg);

/* One open instrument. */
struct rig_device {
    const struct rig_driver *driver;
    void *priv; /* the driver's own object */
};

struct rig_driver {
    const char *name;     /* "mnp-pen": the config's "driver" */
    const char *longname; /* "MNP micro-needling pen (USB CDC)" */
    enum rig_role role;
    uint16_t usb_vid, usb_pid; /* the match's default ids */
    /* The devices present now that the driver would open for m (ids,
     * serial, path), as a new JSON array; NULL with err on failure. */
    cJSON *(*scan)(const struct station_match *m, char *err, size_t errlen);
    /* A device for m (the config's "driver" is this driver). Opens
     * nothing yet; NULL with err on failure. */
    struct rig_device *(*open)(const struct station_match *m, const struct rig_callbacks *cb,
                               void *user, char *err, size_t errlen);
    /* Find and open the device now: 0, -ENODEV (not there: the driver
     * keeps looking and reports on_presence when it appears) or -errno,
     * with err. */
    int (*attach)(struct rig_device *d, char *err, size_t errlen);
    /* Close and free; pending operations end with -ECANCELED. */
    void (*close)(struct rig_device *d);
    struct dev *(*dev)(struct rig_device *d);
    bool (*present)(const struct rig_device *d);
    /* Motor (pen) or stream (sensor) on and off; done may be NULL.
     * 0, -EALREADY, -ENODEV or -errno. running: on now. */
    int (*start)(struct rig_device *d, rig_done_fn done, void *user);
    int (*stop)(struct rig_device *d, rig_done_fn done, void *user);
    bool (*running)(const struct rig_device *d);
    /* A driver-specific setting ("rate_hz", "depth_mm", ...): 1 applied at
     * once (done not called), 0 sent (done called later), -EINVAL unknown
     * key or bad value, or -errno. */
    int (*configure)(struct rig_device *d, const char *key, double value, rig_done_fn done,
                     void *user);
    /* Identity, link state and statistics as a new JSON object (the API's
     * "devices" entry; docs/API.md). */
    cJSON *(*describe)(struct rig_device *d);
};

/* ---- registry (drivers.c) ---- */

extern const struct rig_driver *const rig_drivers[]; /* NULL-terminated */
const struct rig_driver *rig_driver_find(const char *name);
/* The role's default: the first registered driver of that role. */
const struct rig_driver *rig_driver_default(enum rig_role role);
/* "mnp-pen, sh2" (names of role, or every name when role < 0) into buf. */
const char *rig_driver_names(int role, char *buf, size_t len);

/* Shortcuts through the table. */
struct rig_device *rig_device_open(const struct station_match *m, const struct rig_callbacks *cb,
                                   void *user, char *err, size_t errlen);
static inline void rig_device_close(struct rig_device *d)
{
    if (d)
        d->driver->close(d);
}
/* The device's describe() plus "driver". */
cJSON *rig_device_describe(struct rig_device *d);

/* A driver's open(): the handle with priv set (free with free()). */
struct rig_device *rig_device_new(const struct rig_driver *drv, void *priv);

#endif
