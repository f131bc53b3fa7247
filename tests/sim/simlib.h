/* Plain device clients for the rigsim tests: libserialport for the pen,
 * libusb for the sensor head, a Unix socket for rigsim's control channel.
 * Deliberately independent of rig/ code: these play the part of any
 * program that would talk to real devices. Protocol codecs come from
 * protocol/.
 */
#ifndef RIG_TESTS_SIM_SIMLIB_H
#define RIG_TESTS_SIM_SIMLIB_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libserialport.h>
#include <libusb.h>

#include "protocol/pen.h"
#include "protocol/sensor.h"

#define PEN_PORT      "/dev/ttyACM0"
#define IO_TIMEOUT_MS 1000 /* generous: 2 cores shared by many */

/* Test bookkeeping: print and count failures, keep going. */
extern int sim_failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            sim_failures++;                                                                        \
        }                                                                                          \
    } while (0)
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            CHECK(cond, __VA_ARGS__);                                                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

uint64_t now_ms(void);
void sleep_ms(unsigned ms);

/* ---- pen over libserialport ---- */
struct pen_link {
    struct sp_port *port;
    struct pen_rx rx;
    uint8_t buf[256];
    size_t pos, len;
    uint16_t seq;
    struct pen_msg events[64];
    int nevents;
    bool io_error;
};

int pen_open(struct pen_link *l); /* PEN_PORT */
int pen_open_port(struct pen_link *l, const char *name);
void pen_close(struct pen_link *l);
/* Next decoded frame: 1 got one, 0 timeout, -1 read error (unplug). */
int pen_poll(struct pen_link *l, struct pen_msg *out, int timeout_ms);
/* Send a request (its payload in req->u) with a fresh seq and wait for
 * the matching response, keeping events aside. 0 = response, 1 = NAK
 * (resp holds it), -1 timeout, -2 I/O error. */
int pen_request(struct pen_link *l, uint8_t type, const struct pen_msg *req, struct pen_msg *resp,
                int timeout_ms);
/* Same, but with an explicit seq (retries). */
int pen_request_seq(struct pen_link *l, uint8_t type, uint16_t seq, const struct pen_msg *req,
                    struct pen_msg *resp, int timeout_ms);
/* Send raw body bytes (header + payload, CRC added here). */
int pen_send_raw(struct pen_link *l, const uint8_t *body, size_t len);
/* Wait for an event matching type (and reason for EVT_STATE if >= 0). */
bool pen_wait_event(struct pen_link *l, uint8_t type, int reason, int timeout_ms,
                    struct pen_msg *out);
/* Poll GET_STATUS (also the heartbeat) until state == want. */
bool pen_wait_state(struct pen_link *l, uint8_t want, int timeout_ms, struct pen_status *st);
/* SET_RATE, START and wait for RUNNING: 0, or 1 after a failed check. */
int pen_start(struct pen_link *l, uint32_t rate_mhz);
/* Heartbeats every 100 ms for ms milliseconds (the watchdog is 500 ms). */
void pen_keep_alive(struct pen_link *l, unsigned ms);

/* ---- sensor head over libusb ---- */
struct sh_dev {
    libusb_context *ctx;
    libusb_device_handle *h;
};

int sh_open(struct sh_dev *d); /* find by VID/PID, claim interface 0 */
/* The one with this USB serial (several benches: one sensor head each). */
int sh_open_serial(struct sh_dev *d, const char *serial);
void sh_close(struct sh_dev *d);
int sh_ctrl_in(struct sh_dev *d, uint8_t req, uint16_t value, uint8_t *buf, uint16_t len);
int sh_ctrl_out(struct sh_dev *d, uint8_t req, uint16_t value, const uint8_t *buf, uint16_t len);
int sh_set_rate(struct sh_dev *d, uint32_t rate);

/* Async streaming with n transfers in flight, checking every block. */
struct sh_streamer {
    struct sh_dev *d;
    struct sh_stream cont;
    int inflight;
    bool stopping;
    uint64_t hash; /* FNV-1a of the first hash_limit samples */
    uint64_t hash_limit, hashed;
    uint64_t cont_counts[5]; /* enum sh_continuity histogram */
    uint64_t flags_seen;     /* OR of block flags */
    uint64_t no_device, errors, last_block_at_ms;
    bool saw_last;
    unsigned min_count, max_count; /* frames per block, LAST block excluded */
    struct libusb_transfer *xfers[32];
};

int sh_stream_begin(struct sh_streamer *s, struct sh_dev *d, int ntransfers);
/* Run libusb events for ms milliseconds (or until no transfer is left). */
void sh_stream_run(struct sh_streamer *s, unsigned ms);
/* Cancel and wait for every transfer; frees them. */
void sh_stream_end(struct sh_streamer *s);
/* Stream at 50 kS/s from the sensor head with this serial (NULL: the
 * first found) and hash its first n samples (FNV-1a, sh_streamer): 0, or
 * 1 after a failed check. */
int sh_hash(const char *serial, uint64_t n, uint64_t *hash);

/* ---- rigsim control socket ---- */
/* Send one JSON line to $RIGSIM_CONTROL; returns the parsed reply (caller
 * frees) or NULL. */
cJSON *ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl() and require "ok":true. */
bool ctl_ok(const char *line);
double json_num(const cJSON *o, const char *path); /* "a.b"; NaN if absent */
/* Is the pen's motor running, as rigsim says ({"query":"pen"})? */
bool sim_motor_running(void);
bool sim_wait_motor_stopped(int timeout_ms);

#endif
