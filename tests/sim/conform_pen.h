/* The pen's service port as PEN.md describes it, for the conformance
 * tests: numbers from the document, an own CRC-16/CCITT-FALSE and COBS,
 * frames built and parsed byte by byte, and a termios client of
 * /dev/ttyACM0 that logs every frame it receives in arrival order (the
 * order of answers and events is part of the contract).
 */
#ifndef RIG_TESTS_SIM_CONFORM_PEN_H
#define RIG_TESTS_SIM_CONFORM_PEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conform.h"

/* PEN.md section 3 (header), 5 (types), 5.10 (errors), 7 (states), 5.8
 * (reasons), 8 (fault bits). */
enum {
    PD_VERSION = 1,
    PD_HEADER = 6,
    PD_CRC = 2,
    PD_MAX_FRAME = 74,
    PD_F_RESPONSE = 0x01,
    PD_F_EVENT = 0x02,
};
enum {
    PD_IDENTIFY = 0x01,
    PD_SET_RATE = 0x02,
    PD_SET_DEPTH = 0x03,
    PD_START = 0x04,
    PD_STOP = 0x05,
    PD_GET_STATUS = 0x06,
    PD_HEARTBEAT = 0x07,
    PD_CLEAR_FAULT = 0x08,
    PD_EVT_STATE = 0x40,
    PD_EVT_FAULT = 0x41,
    PD_NAK = 0x7F,
};
enum {
    PD_E_UNKNOWN_TYPE = 1,
    PD_E_BAD_LENGTH = 2,
    PD_E_OUT_OF_RANGE = 3,
    PD_E_BAD_STATE = 4,
    PD_E_FAULT_ACTIVE = 5,
    PD_E_NO_CARTRIDGE = 6,
    PD_E_VERSION = 7,
};
enum { PD_IDLE, PD_SPINUP, PD_RUNNING, PD_STOPPING, PD_FAULT };
enum { PD_R_COMMAND, PD_R_AT_RATE, PD_R_STOPPED, PD_R_FAULT, PD_R_WATCHDOG, PD_R_FAULT_CLEARED };
#define PD_FAULT_NO_CARTRIDGE 0x0020u
#define PD_FAULT_WATCHDOG     0x0040u
#define PD_WATCHDOG_MS        500
#define PD_RESPONSE_MS        100

/* A received frame that passed COBS, length and CRC (section 4, checks
 * 0..3); everything else is left to the scenario to judge. */
struct pframe {
    uint8_t version, type, flags, len;
    uint16_t seq;
    uint8_t payload[64];
    uint8_t body[72]; /* as received, CRC included */
    size_t body_len;
    uint64_t at_ms;
};

struct pstatus { /* GET_STATUS response, section 5.5 */
    uint8_t state;
    uint32_t set_rate_mhz, measured_rate_mhz, faults, uptime_ms;
    uint16_t set_depth_um, watchdog_ms;
    uint8_t reserved;
};

struct plink {
    int fd;
    uint16_t seq; /* next request seq */
    uint8_t in[512];
    size_t in_pos, in_len;
    uint8_t acc[PD_MAX_FRAME]; /* bytes of the frame being received */
    size_t acc_len;
    bool discarding; /* oversize: drop up to the next 0x00 */
    unsigned bad_frames;
    struct pframe log[256]; /* every frame, in arrival order */
    int nlog;
};

uint16_t pd_crc16(const uint8_t *p, size_t n);
size_t pd_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
long pd_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* Header + payload -> body with CRC -> COBS -> 0x00. Returns frame size. */
size_t pd_frame(const uint8_t *hdr_payload, size_t n, uint8_t *out);
/* A body (header + payload; the CRC is added) with len = payload size. */
size_t pd_body(uint8_t *out, uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
               const uint8_t *payload, uint8_t len);
/* Parse a received body (COBS removed): false if short, CRC or len bad. */
bool pd_parse(const uint8_t *body, size_t n, struct pframe *f);
void pd_status(const struct pframe *f, struct pstatus *st);

/* /dev/ttyACM0 with termios, flushed, a 0x00 sent (section 2). */
bool pl_open(struct ct *t, struct plink *l);
void pl_close(struct plink *l);
bool pl_send_body(struct plink *l, const uint8_t *hdr_payload, size_t n);
bool pl_send(struct plink *l, uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
             const uint8_t *payload, uint8_t len);
/* Next frame (logged): 1, or 0 on timeout / error. */
int pl_recv(struct plink *l, struct pframe *f, int timeout_ms);
/* Wait for the non-event frame carrying seq; 1 found, 0 not within time. */
int pl_answer(struct plink *l, uint16_t seq, struct pframe *f, int timeout_ms);
/* A fresh request: 1 answered, 2 NAKed (f holds the NAK), 0 no answer. */
int pl_request(struct plink *l, uint8_t type, const uint8_t *payload, uint8_t len,
               struct pframe *f);
bool pl_get_status(struct plink *l, struct pstatus *st);
/* SET_RATE: the applied rate, or 0 if refused / unanswered. */
uint32_t pl_set_rate(struct plink *l, uint32_t rate_mhz);
/* GET_STATUS every 50 ms (feeding the watchdog) until state == want. */
bool pl_wait_state(struct plink *l, uint8_t want, int timeout_ms, struct pstatus *st);
/* Listen only (no request: the watchdog starves) until an EVT_STATE with
 * that reason arrives; its log index, or -1. */
int pl_listen_for_state(struct plink *l, uint8_t reason, int timeout_ms);
/* First logged frame at index >= from that matches; -1 if none.
 * state/reason < 0: any (EVT_STATE only). */
int pl_find(const struct plink *l, int from, uint8_t type, uint8_t flags, int state, int reason);
int pl_find_seq(const struct plink *l, int from, uint16_t seq, uint8_t flags);

/* IDLE pen with a rate set, started and RUNNING. */
bool pl_run_motor(struct ct *t, struct plink *l, uint32_t rate_mhz);

#endif
