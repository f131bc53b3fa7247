/* Sensor-head driver: USB vendor-class device via libusb (see sensor.h).
 *
 * Control requests: synchronous (short timeout) only during attach, where
 * they run once, in order, before anything else can use the device
 * (identity, calibration, status, serial check); every request after attach
 * (rate, start, stop, tare, status) is an asynchronous control transfer so
 * the event loop never blocks on the device.
 *
 * Stream: SH_DRV_TRANSFERS bulk IN transfers of SH_TRANSFER_SIZE are kept in
 * flight while streaming. Each block is validated (sh_block_decode), checked
 * for continuity (sh_stream_check: lost, repeated, overrun) and the problems
 * are counted and reported through on_stream_event -- never patched over: a
 * gap starts a new segment in the sample ring, repeated blocks are dropped.
 * Samples are calibrated (sh_cal_force / sh_cal_disp) into the ring.
 * Sample indices (ring and on_samples) are the device's first_sample plus
 * an offset chosen at each stream start, so they only ever increase while
 * the driver lives: a restart shows up as a discontinuity, and an index
 * never names two different samples.
 *
 * Hotplug: a libusb hotplug callback notices unplug (and in-flight transfers
 * ending with NO_DEVICE) and re-plug of a device with the configured
 * VID/PID; the driver then re-opens it and calls on_presence(true).
 */
#ifndef RIG_DEV_SH_DRV_H
#define RIG_DEV_SH_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "dev.h"
#include "sample_ring.h"
#include "sensor.h"
#include "station.h"

#define SH_DRV_TRANSFERS 8
#define SH_DRV_SETUP_TIMEOUT_MS 1000
#define SH_DRV_CTRL_TIMEOUT_MS 1000
#define SH_DRV_DRAIN_MS 3000          /* attach: bound on reading a dead owner's stream away */
#define SH_DRV_DRAIN_QUIET_MS 100     /* ...an endpoint quiet this long is empty */
#define SH_DRV_GONE_WAIT_MS 2000      /* wait for transfers after unplug */
#define SH_DRV_RING_SAMPLES (1u << 19)  /* ~10 s at 50 kS/s */

struct sh_drv;

enum sh_drv_event {
    SH_EV_LOST_BLOCKS,      /* seq jumped: detail = blocks lost this time */
    SH_EV_REPEATED_BLOCK,   /* duplicate/old block dropped */
    SH_EV_OVERRUN,          /* device FIFO overflow: samples skipped */
    SH_EV_BAD_BLOCK,        /* failed validation (CRC, magic, length...) */
    SH_EV_STREAM_ERROR,     /* transfer error / stall: streaming stopped */
    SH_EV_STREAM_STARTED,
    SH_EV_STREAM_STOPPED,
};
const char *sh_drv_event_str(enum sh_drv_event ev);

struct sh_drv_callbacks {
    void (*on_presence)(void *user, bool present, const char *reason);
    /* Calibrated samples just added to the ring (for live decimation). */
    void (*on_samples)(void *user, uint64_t first, const int32_t *force, const int32_t *disp,
                       size_t n, uint32_t rate_hz);
    void (*on_stream_event)(void *user, enum sh_drv_event ev, uint64_t detail, const char *msg);
};

/* Completion of an asynchronous control request: status 0 or -errno
 * (-EPIPE: the device refused it (STALL); -ETIMEDOUT; -ENODEV). */
typedef void (*sh_done_fn)(void *user, int status, const char *msg);
/* Completion of sh_drv_get_status: st is NULL unless status == 0. */
typedef void (*sh_status_fn)(void *user, int status, const struct sh_status *st);

struct sh_drv *sh_drv_new(const struct station_match *match, uint32_t rate_hz,
                          const struct sh_drv_callbacks *cb, void *user, char *err, size_t errlen);
void sh_drv_free(struct sh_drv *s);
struct dev *sh_drv_dev(struct sh_drv *s);

/* Find and open the device now. 0 or -ENODEV (hotplug will attach it
 * later) or -errno with err. */
int sh_drv_attach(struct sh_drv *s, char *err, size_t errlen);
bool sh_drv_present(const struct sh_drv *s);
bool sh_drv_streaming(const struct sh_drv *s);

const struct sh_identity *sh_drv_identity(const struct sh_drv *s);
const struct sh_calibration *sh_drv_calibration(const struct sh_drv *s);
/* True when the calibration due date is today or past (UTC). */
bool sh_drv_cal_due(const struct sh_drv *s);
/* True when a tare is in effect (force samples are relative to it); the
 * device's tare offset (raw uN) in *offset_raw_un. */
bool sh_drv_tare_info(const struct sh_drv *s, int32_t *offset_raw_un);

int sh_drv_start(struct sh_drv *s, sh_done_fn done, void *user);
int sh_drv_stop(struct sh_drv *s, sh_done_fn done, void *user);
int sh_drv_tare(struct sh_drv *s, sh_done_fn done, void *user);
/* Asynchronous GET_STATUS (streaming flag, overruns, target present...). */
int sh_drv_get_status(struct sh_drv *s, sh_status_fn done, void *user);

struct sample_ring *sh_drv_ring(struct sh_drv *s);
void sh_drv_stream_stats(const struct sh_drv *s, struct sh_stream_stats *out);

cJSON *sh_identity_to_json(const struct sh_identity *id);
cJSON *sh_calibration_to_json(const struct sh_calibration *c, bool due);

#endif
