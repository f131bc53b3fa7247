/* MNP pen (DUT) driver, the device side: the pen's USB CDC-ACM service
 * port via libserialport (wire format: protocol/pen.h, PEN.md). api.c puts
 * it behind the driver table ("mnp-pen", role pen; dev/driver.h); rigd
 * sends the pen's requests through the functions below.
 *
 * Request/response by sequence number: every request gets a fresh seq, is
 * resent with the SAME seq after PEN_RESPONSE_TIMEOUT_MS at most
 * PEN_MAX_RETRIES times, then completes with -ETIMEDOUT. Several requests may
 * be in flight (PEN_DRV_MAX_INFLIGHT). Completions and pen events are
 * delivered through callbacks (dev/driver.h: on_pen_event, on_presence)
 * from dev_process().
 *
 * Heartbeats: while enabled (rigd enables them only while a session owns the
 * pen and rigd can vouch for it) a HEARTBEAT request goes out every
 * PEN_HEARTBEAT_PERIOD_MS; otherwise the pen's own watchdog stops the motor.
 *
 * Presence: a read error, EOF or hang-up means the device is gone: every
 * pending request completes with -ENODEV, on_presence(false) is called and
 * the driver rescans (sp_list_ports) every PEN_DRV_RESCAN_MS until the pen
 * matching the bench config is back; then it re-opens the port, sends
 * IDENTIFY and GET_STATUS and calls on_presence(true) once the identity
 * (and, normally, the motor's state and latched faults) are known.
 */
#ifndef RIG_DEV_MNP_PEN_PROTOCOL_H
#define RIG_DEV_MNP_PEN_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/driver.h"
#include "protocol/pen.h"

#define PEN_DRV_MAX_INFLIGHT 8
#define PEN_DRV_RESCAN_MS    500
#define PEN_DRV_BAUD         115200

struct pen_drv;

/* Completion status: 0 = response in *resp; PEN_DRV_NAK = refused, the NAK
 * is in *resp (resp->u.nak); -ETIMEDOUT no answer after retries; -ENODEV
 * device gone; -EPROTO answer of the wrong type; -ECANCELED driver closed. */
#define PEN_DRV_NAK 1
typedef void (*pen_done_fn)(void *user, int status, const struct pen_msg *resp);

struct pen_link_stats {
    uint64_t tx_frames, rx_frames;
    uint64_t crc_errors, malformed; /* from the frame receiver */
    uint64_t requests, responses, retries, timeouts, naks;
    uint64_t events, unmatched; /* responses to no pending request */
    uint64_t heartbeats, heartbeat_timeouts;
    uint32_t attaches, detaches;
};

/* cb: on_pen_event, on_presence. */
struct pen_drv *pen_drv_new(const struct station_match *match, const struct rig_callbacks *cb,
                            void *user);
/* Closes the port; pending requests complete with -ECANCELED. */
void pen_drv_free(struct pen_drv *p);
struct dev *pen_drv_dev(struct pen_drv *p);

/* Look for the pen now and open it. 0, or -ENODEV (not present: the driver
 * keeps rescanning) or another -errno with a message in err. */
int pen_drv_attach(struct pen_drv *p, char *err, size_t errlen);
bool pen_drv_present(const struct pen_drv *p);
/* Identity from the last IDENTIFY, NULL when unknown. */
const struct pen_identity *pen_drv_identity(const struct pen_drv *p);
/* The motor as the pen last reported it: state (PEN_STATE_*) and active
 * faults (PEN_FAULT_*). Returns false while the state is unknown (not
 * attached, or a START/STOP/CLEAR_FAULT was answered and no state event or
 * status has come since); *faults is the last report either way. */
bool pen_drv_motor(const struct pen_drv *p, uint8_t *state, uint32_t *faults);
/* Port name currently open ("" when none). */
const char *pen_drv_port_name(const struct pen_drv *p);

/* Send a request: type plus the request payload in req->u (rate_mhz /
 * depth_um for SET_RATE / SET_DEPTH). 0 or -ENODEV / -EAGAIN (too many in
 * flight) / -EINVAL. `done` may be NULL. */
int pen_drv_request(struct pen_drv *p, uint8_t type, const struct pen_msg *req, pen_done_fn done,
                    void *user);
/* Best-effort: write a STOP frame right now without waiting (last resort
 * on a second SIGINT). 0 or -errno. */
int pen_drv_stop_now(struct pen_drv *p);

void pen_drv_set_heartbeat(struct pen_drv *p, bool on);
bool pen_drv_heartbeat(const struct pen_drv *p);

/* The pens present now matching m (ids and serial, or path), as a JSON
 * array of match objects (with "path": the port); NULL with err. */
cJSON *pen_drv_scan(const struct station_match *m, char *err, size_t errlen);
/* The driver behind an open "mnp-pen" device; NULL for another driver's. */
struct pen_drv *pen_drv_of(struct rig_device *d);

void pen_drv_stats(const struct pen_drv *p, struct pen_link_stats *out);
cJSON *pen_identity_to_json(const struct pen_identity *id);
cJSON *pen_status_to_json(const struct pen_status *st);

#endif
