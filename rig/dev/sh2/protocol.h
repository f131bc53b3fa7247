/* SH-2 sensor head driver, the device side: USB vendor-class device via
 * libusb (wire format: protocol/sensor.h, SENSOR.md). api.c puts it behind
 * the driver table ("sh2", role sensor; dev/driver.h); rigd uses the
 * functions below for what only this instrument does (tare, calibration).
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
 * gap shows as a jump in the sample index, repeated blocks are dropped.
 * Samples are calibrated (sh_cal_force / sh_cal_disp) and fed to
 * on_samples (channels RIG_CH_FORCE, RIG_CH_DISP).
 * Sample indices are the device's first_sample plus
 * an offset chosen at each stream start, so they only ever increase while
 * the driver lives: a restart shows up as a discontinuity, and an index
 * never names two different samples.
 *
 * Hotplug: a libusb hotplug callback notices unplug (and in-flight transfers
 * ending with NO_DEVICE) and re-plug of a device with the configured
 * VID/PID; the driver then re-opens it and calls on_presence(true).
 */
#ifndef RIG_DEV_SH2_PROTOCOL_H
#define RIG_DEV_SH2_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/driver.h"
#include "protocol/sensor.h"

#define SH_DRV_TRANSFERS        8
#define SH_DRV_SETUP_TIMEOUT_MS 1000
#define SH_DRV_CTRL_TIMEOUT_MS  1000
#define SH_DRV_DRAIN_MS         3000 /* attach: bound on reading a dead owner's stream away */
#define SH_DRV_DRAIN_QUIET_MS   100  /* ...an endpoint quiet this long is empty */
#define SH_DRV_GONE_WAIT_MS     2000 /* wait for transfers after unplug */

struct sh_drv;

/* Stream events are the generic ones (dev/driver.h); the old names stay
 * for the daemon's run code until it moves to the generic ones. */
#define sh_drv_event         rig_stream_event
#define sh_drv_event_str     rig_stream_event_str
#define SH_EV_LOST_BLOCKS    RIG_EV_LOST_BLOCKS
#define SH_EV_REPEATED_BLOCK RIG_EV_REPEATED_BLOCK
#define SH_EV_OVERRUN        RIG_EV_OVERRUN
#define SH_EV_BAD_BLOCK      RIG_EV_BAD_BLOCK
#define SH_EV_STREAM_ERROR   RIG_EV_STREAM_ERROR
#define SH_EV_STREAM_STARTED RIG_EV_STREAM_STARTED
#define SH_EV_STREAM_STOPPED RIG_EV_STREAM_STOPPED

/* Completion of an asynchronous control request: status 0 or -errno
 * (-EPIPE: the device refused it (STALL); -ETIMEDOUT; -ENODEV). */
typedef void (*sh_done_fn)(void *user, int status, const char *msg);
/* Completion of sh_drv_get_status: st is NULL unless status == 0. */
typedef void (*sh_status_fn)(void *user, int status, const struct sh_status *st);

/* cb: on_presence, on_samples, on_stream_event. */
struct sh_drv *sh_drv_new(const struct station_match *match, uint32_t rate_hz,
                          const struct rig_callbacks *cb, void *user, char *err, size_t errlen);
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

/* The SH-2 heads present now matching m (ids, and serial when given), as
 * a JSON array of match objects plus bus/address; NULL with err. */
cJSON *sh_drv_scan(const struct station_match *m, char *err, size_t errlen);
/* Streaming rate (per channel) for the next start; 0 or -EINVAL. */
int sh_drv_set_rate(struct sh_drv *s, uint32_t rate_hz);
uint32_t sh_drv_rate(const struct sh_drv *s);
/* The driver behind an open "sh2" device; NULL for another driver's. */
struct sh_drv *sh_drv_of(struct rig_device *d);
void sh_drv_stream_stats(const struct sh_drv *s, struct sh_stream_stats *out);

cJSON *sh_identity_to_json(const struct sh_identity *id);
cJSON *sh_calibration_to_json(const struct sh_calibration *c, bool due);

#endif
