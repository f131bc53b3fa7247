/* SH-2 sensor head driver, private: the driver's state, shared by its
 * parts (see protocol.h for the whole). protocol.c attaches the head and
 * runs it (presence, hotplug, dev ops); control.c sends the asynchronous
 * control requests (start, stop, tare, status); stream.c keeps the bulk
 * stream (transfers, blocks, continuity) and ends it when the head goes.
 * Calls go one way: protocol.c -> control.c -> stream.c. */
#ifndef RIG_DEV_SH2_SH2_INT_H
#define RIG_DEV_SH2_SH2_INT_H

#include <libusb.h>

#include "dev/sh2/protocol.h"

/* Asynchronous control request in flight. */
struct sh_ctrl {
    struct sh_drv *drv;
    struct libusb_transfer *xfer;
    uint8_t request;
    sh_done_fn done;
    void *user;
    /* Internal continuation (start = SET_RATE then START). */
    void (*next)(struct sh_ctrl *c, int status);
    sh_status_fn status_done; /* GET_STATUS completion */
    int actual;               /* bytes transferred (data stage) */
    struct sh_ctrl *prev_link, *next_link;
    uint8_t buf[LIBUSB_CONTROL_SETUP_SIZE + 64];
};

enum stream_state { ST_IDLE, ST_STARTING, ST_STREAMING, ST_STOPPING };

struct sh_drv {
    struct dev dev;
    struct station_match match;
    uint32_t rate_hz;
    struct rig_callbacks cb;
    void *user;

    libusb_context *ctx;
    libusb_hotplug_callback_handle hotplug;
    bool has_hotplug;
    libusb_device_handle *handle;
    libusb_device *device;  /* ref held while open */
    bool present;           /* open and set up */
    bool gone;              /* unplugged: waiting for transfers to end */
    bool close_pending;     /* transfers ended: close in process() */
    uint64_t gone_deadline; /* force the close if transfers never end */
    uint64_t reattach_at;   /* DEV_NO_DEADLINE when none pending */
    bool missing_logged;

    struct sh_identity identity;
    struct sh_calibration cal;

    struct libusb_transfer *bulk[SH_DRV_TRANSFERS];
    int bulk_inflight;
    enum stream_state state;
    uint64_t stop_deadline;
    struct sh_stream stream;
    int32_t raw_f[SH_MAX_SAMPLES], raw_d[SH_MAX_SAMPLES];
    int32_t cal_f[SH_MAX_SAMPLES], cal_d[SH_MAX_SAMPLES];
    uint64_t index_offset; /* sample index = device first_sample + this */
    uint64_t next_index;   /* end of the last block fed (0: none yet) */

    struct sh_ctrl *ctrls; /* async control requests in flight */
    uint64_t transfer_errors;
    uint64_t stale_blocks;  /* a previous stream's blocks, dropped */
    uint32_t logged_rate;   /* the rate the last start was logged at (INFO) */
    bool got_last;          /* this stop's LAST block came: every sample before STOP is in */
    bool tared;             /* SH_STAT_TARED: no calibration offset on force */
    int32_t tare_offset_un; /* the device's tare, raw uN (GET_STATUS) */
};

static inline void sh2_set_state(struct sh_drv *s, enum stream_state st)
{
    s->state = st;
}

/* stream.c */
void sh2_emit(struct sh_drv *s, enum sh_drv_event ev, uint64_t detail, const char *msg);
int sh2_alloc_bulk(struct sh_drv *s);
void sh2_free_bulk(struct sh_drv *s);
int sh2_submit_bulk(struct sh_drv *s);
void sh2_cancel_bulk(struct sh_drv *s);
void sh2_detach(struct sh_drv *s, const char *reason);
void sh2_maybe_finish_detach(struct sh_drv *s);

/* control.c */
void sh2_ctrl_unlink(struct sh_drv *s, struct sh_ctrl *c);

#endif
