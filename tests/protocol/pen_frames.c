/* Pen protocol codec tests: the golden messages and frame helpers (see
 * pen_frames.h). */
#include "pen_frames.h"

#include <check.h>
#include <string.h>

#include "protocol/cobs.h"
#include "protocol/crc.h"

/* ---- message builders (the same values as tests/protocol/make_fixtures.py) ---- */

struct pen_msg pt_msg(uint8_t type, uint8_t flags, uint16_t seq)
{
    struct pen_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.flags = flags;
    m.seq = seq;
    return m;
}

struct pen_identity pt_golden_identity(void)
{
    struct pen_identity id;
    memset(&id, 0, sizeof id);
    strcpy(id.model, "MN-PEN-A");
    strcpy(id.serial, "PA2611250042");
    id.hw_revision = 3;
    id.fw_major = 1;
    id.fw_minor = 4;
    id.fw_patch = 2;
    strcpy(id.cartridge_id, "CA14-L2611");
    id.needle_count = 14;
    id.protocol_version = PEN_PROTOCOL_VERSION;
    id.depth_step_um = 250;
    id.depth_min_um = 0;
    id.depth_max_um = 2500;
    return id;
}

struct pen_status pt_golden_status(void)
{
    struct pen_status s;
    memset(&s, 0, sizeof s);
    s.state = PEN_STATE_RUNNING;
    s.set_rate_mhz = 120000;
    s.measured_rate_mhz = 119850;
    s.set_depth_um = 1500;
    s.motor_current_ma = 420;
    s.supply_mv = 3950;
    s.temperature_cdeg = 3125;
    s.faults = 0;
    s.uptime_ms = 123456;
    s.watchdog_ms = 500;
    return s;
}

size_t pt_golden_cases(struct golden_case *c)
{
    size_t n = 0;
    c[n++] = (struct golden_case){ "pen_identify_request", pt_msg(PEN_MSG_IDENTIFY, 0, 1) };
    c[n] = (struct golden_case){ "pen_identify_response", pt_msg(PEN_MSG_IDENTIFY, R, 1) };
    c[n++].m.u.identity = pt_golden_identity();
    c[n] = (struct golden_case){ "pen_set_rate_request", pt_msg(PEN_MSG_SET_RATE, 0, 2) };
    c[n++].m.u.rate_mhz = 120000;
    c[n] = (struct golden_case){ "pen_set_rate_response", pt_msg(PEN_MSG_SET_RATE, R, 2) };
    c[n++].m.u.rate_mhz = 120000;
    c[n] = (struct golden_case){ "pen_set_depth_request", pt_msg(PEN_MSG_SET_DEPTH, 0, 3) };
    c[n++].m.u.depth_um = 1500;
    c[n] = (struct golden_case){ "pen_set_depth_response", pt_msg(PEN_MSG_SET_DEPTH, R, 3) };
    c[n++].m.u.depth_um = 1500;
    c[n++] = (struct golden_case){ "pen_start_request", pt_msg(PEN_MSG_START, 0, 4) };
    c[n++] = (struct golden_case){ "pen_start_response", pt_msg(PEN_MSG_START, R, 4) };
    c[n++] = (struct golden_case){ "pen_stop_request", pt_msg(PEN_MSG_STOP, 0, 5) };
    c[n++] = (struct golden_case){ "pen_stop_response", pt_msg(PEN_MSG_STOP, R, 5) };
    c[n++] = (struct golden_case){ "pen_get_status_request", pt_msg(PEN_MSG_GET_STATUS, 0, 6) };
    c[n] = (struct golden_case){ "pen_get_status_response", pt_msg(PEN_MSG_GET_STATUS, R, 6) };
    c[n++].m.u.status = pt_golden_status();
    c[n++] = (struct golden_case){ "pen_heartbeat_request", pt_msg(PEN_MSG_HEARTBEAT, 0, 7) };
    c[n++] = (struct golden_case){ "pen_heartbeat_response", pt_msg(PEN_MSG_HEARTBEAT, R, 7) };
    c[n++] = (struct golden_case){ "pen_clear_fault_request", pt_msg(PEN_MSG_CLEAR_FAULT, 0, 8) };
    c[n++] = (struct golden_case){ "pen_clear_fault_response", pt_msg(PEN_MSG_CLEAR_FAULT, R, 8) };
    c[n] = (struct golden_case){ "pen_evt_state", pt_msg(PEN_MSG_EVT_STATE, E, 0x10) };
    c[n++].m.u.evt_state =
        (struct pen_evt_state){ PEN_STATE_RUNNING, PEN_STATE_SPINUP, PEN_REASON_AT_RATE };
    c[n] = (struct golden_case){ "pen_evt_fault", pt_msg(PEN_MSG_EVT_FAULT, E, 0x11) };
    c[n++].m.u.evt_fault = (struct pen_evt_fault){ PEN_FAULT_STALL, 1380, 3900 };
    c[n] = (struct golden_case){ "pen_nak", pt_msg(PEN_MSG_NAK, R, 0x1234) };
    c[n++].m.u.nak = (struct pen_nak){ PEN_MSG_SET_RATE, PEN_ERR_OUT_OF_RANGE };
    return n;
}

/* Compares two messages through their canonical encodings (the codec is
 * strict, so equal encodings mean equal decoded fields). */
void pt_assert_same_msg(const struct pen_msg *a, const struct pen_msg *b)
{
    uint8_t fa[PEN_MAX_FRAME], fb[PEN_MAX_FRAME];
    int na = pen_encode(a, fa, sizeof fa);
    int nb = pen_encode(b, fb, sizeof fb);
    ck_assert_int_gt(na, 0);
    ck_assert_int_eq(na, nb);
    ck_assert_mem_eq(fa, fb, (size_t)na);
    ck_assert_uint_eq(a->type, b->type);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->seq, b->seq);
}

/* Frame -> body (strip delimiter, undo COBS). */
size_t pt_unframe(const uint8_t *frame, size_t n, uint8_t *body)
{
    ck_assert_uint_gt(n, 1);
    ck_assert_uint_eq(frame[n - 1], 0);
    long b = cobs_decode(frame, n - 1, body, PEN_MAX_BODY);
    ck_assert_int_gt(b, 0);
    return (size_t)b;
}

/* Wraps a raw body (CRC appended here unless bad_crc) into a wire frame. */
size_t pt_frame_raw(const uint8_t *hdr_and_payload, size_t n, bool bad_crc, uint8_t *frame,
                    size_t cap)
{
    uint8_t body[300];
    ck_assert_uint_le(n + 2, sizeof body);
    memcpy(body, hdr_and_payload, n);
    uint16_t crc = crc16_ccitt(CRC16_INIT, body, n);
    if (bad_crc)
        crc ^= 0x0100;
    body[n] = (uint8_t)crc;
    body[n + 1] = (uint8_t)(crc >> 8);
    size_t e = cobs_encode(body, n + 2, frame, cap - 1);
    ck_assert_uint_gt(e, 0);
    frame[e] = 0;
    return e + 1;
}

/* Builds header + payload bytes; returns the length. */
size_t pt_raw(uint8_t *p, uint8_t version, uint8_t type, uint8_t flags, uint8_t hdr_len,
              uint16_t seq, const void *payload, size_t plen)
{
    p[0] = version;
    p[1] = type;
    p[2] = flags;
    p[3] = hdr_len;
    p[4] = (uint8_t)seq;
    p[5] = (uint8_t)(seq >> 8);
    if (plen)
        memcpy(p + 6, payload, plen);
    return 6 + plen;
}
