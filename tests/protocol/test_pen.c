/* Pen protocol codec: golden vectors, round trips, every malformed class
 * with its documented error code and stats counter, and receiver resync. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "crc.h"
#include "golden.h"
#include "pen.h"

/* ---- message builders (the same values as tests/protocol/make_fixtures.py) ---- */

static struct pen_msg msg(uint8_t type, uint8_t flags, uint16_t seq)
{
    struct pen_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.flags = flags;
    m.seq = seq;
    return m;
}

static struct pen_identity golden_identity(void)
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

static struct pen_status golden_status(void)
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

struct golden_case {
    const char *name;
    struct pen_msg m;
};

#define R PEN_F_RESPONSE
#define E PEN_F_EVENT

static size_t golden_cases(struct golden_case *c)
{
    size_t n = 0;
    c[n++] = (struct golden_case){"pen_identify_request", msg(PEN_MSG_IDENTIFY, 0, 1)};
    c[n] = (struct golden_case){"pen_identify_response", msg(PEN_MSG_IDENTIFY, R, 1)};
    c[n++].m.u.identity = golden_identity();
    c[n] = (struct golden_case){"pen_set_rate_request", msg(PEN_MSG_SET_RATE, 0, 2)};
    c[n++].m.u.rate_mhz = 120000;
    c[n] = (struct golden_case){"pen_set_rate_response", msg(PEN_MSG_SET_RATE, R, 2)};
    c[n++].m.u.rate_mhz = 120000;
    c[n] = (struct golden_case){"pen_set_depth_request", msg(PEN_MSG_SET_DEPTH, 0, 3)};
    c[n++].m.u.depth_um = 1500;
    c[n] = (struct golden_case){"pen_set_depth_response", msg(PEN_MSG_SET_DEPTH, R, 3)};
    c[n++].m.u.depth_um = 1500;
    c[n++] = (struct golden_case){"pen_start_request", msg(PEN_MSG_START, 0, 4)};
    c[n++] = (struct golden_case){"pen_start_response", msg(PEN_MSG_START, R, 4)};
    c[n++] = (struct golden_case){"pen_stop_request", msg(PEN_MSG_STOP, 0, 5)};
    c[n++] = (struct golden_case){"pen_stop_response", msg(PEN_MSG_STOP, R, 5)};
    c[n++] = (struct golden_case){"pen_get_status_request", msg(PEN_MSG_GET_STATUS, 0, 6)};
    c[n] = (struct golden_case){"pen_get_status_response", msg(PEN_MSG_GET_STATUS, R, 6)};
    c[n++].m.u.status = golden_status();
    c[n++] = (struct golden_case){"pen_heartbeat_request", msg(PEN_MSG_HEARTBEAT, 0, 7)};
    c[n++] = (struct golden_case){"pen_heartbeat_response", msg(PEN_MSG_HEARTBEAT, R, 7)};
    c[n++] = (struct golden_case){"pen_clear_fault_request", msg(PEN_MSG_CLEAR_FAULT, 0, 8)};
    c[n++] = (struct golden_case){"pen_clear_fault_response", msg(PEN_MSG_CLEAR_FAULT, R, 8)};
    c[n] = (struct golden_case){"pen_evt_state", msg(PEN_MSG_EVT_STATE, E, 0x10)};
    c[n++].m.u.evt_state = (struct pen_evt_state){PEN_STATE_RUNNING, PEN_STATE_SPINUP,
                                                  PEN_REASON_AT_RATE};
    c[n] = (struct golden_case){"pen_evt_fault", msg(PEN_MSG_EVT_FAULT, E, 0x11)};
    c[n++].m.u.evt_fault = (struct pen_evt_fault){PEN_FAULT_STALL, 1380, 3900};
    c[n] = (struct golden_case){"pen_nak", msg(PEN_MSG_NAK, R, 0x1234)};
    c[n++].m.u.nak = (struct pen_nak){PEN_MSG_SET_RATE, PEN_ERR_OUT_OF_RANGE};
    return n;
}

/* Compares two messages through their canonical encodings (the codec is
 * strict, so equal encodings mean equal decoded fields). */
static void assert_same_msg(const struct pen_msg *a, const struct pen_msg *b)
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
static size_t unframe(const uint8_t *frame, size_t n, uint8_t *body)
{
    ck_assert_uint_gt(n, 1);
    ck_assert_uint_eq(frame[n - 1], 0);
    long b = cobs_decode(frame, n - 1, body, PEN_MAX_BODY);
    ck_assert_int_gt(b, 0);
    return (size_t)b;
}

/* Wraps a raw body (CRC appended here unless bad_crc) into a wire frame. */
static size_t frame_raw(const uint8_t *hdr_and_payload, size_t n, bool bad_crc,
                        uint8_t *frame, size_t cap)
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

/* ---- golden vectors ---- */

START_TEST(golden_encode_matches)
{
    struct golden_case c[32];
    size_t n = golden_cases(c);
    ck_assert_uint_eq(n, 19);
    for (size_t i = 0; i < n; i++) {
        uint8_t want[128], got[PEN_MAX_FRAME];
        size_t wn = golden_load(c[i].name, want, sizeof want);
        int gn = pen_encode(&c[i].m, got, sizeof got);
        ck_assert_msg(gn == (int)wn, "%s: length %d, golden %zu", c[i].name, gn, wn);
        ck_assert_msg(memcmp(got, want, wn) == 0, "%s: bytes differ", c[i].name);
    }
}
END_TEST

START_TEST(golden_decode_matches)
{
    struct golden_case c[32];
    size_t n = golden_cases(c);
    for (size_t i = 0; i < n; i++) {
        uint8_t frame[128], body[PEN_MAX_BODY];
        size_t fn = golden_load(c[i].name, frame, sizeof frame);
        size_t bn = unframe(frame, fn, body);
        struct pen_msg m;
        ck_assert_int_eq(pen_decode_body(body, bn, &m), PEN_OK);
        ck_assert_uint_eq(m.version, PEN_PROTOCOL_VERSION);
        assert_same_msg(&m, &c[i].m);
    }
}
END_TEST

START_TEST(golden_fields_decoded)
{
    uint8_t frame[128], body[PEN_MAX_BODY];
    struct pen_msg m;
    size_t fn = golden_load("pen_identify_response", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, unframe(frame, fn, body), &m), PEN_OK);
    ck_assert_str_eq(m.u.identity.model, "MN-PEN-A");
    ck_assert_str_eq(m.u.identity.serial, "PA2611250042");
    ck_assert_str_eq(m.u.identity.cartridge_id, "CA14-L2611");
    ck_assert_uint_eq(m.u.identity.needle_count, 14);
    ck_assert_uint_eq(m.u.identity.depth_max_um, 2500);

    fn = golden_load("pen_get_status_response", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, unframe(frame, fn, body), &m), PEN_OK);
    ck_assert_uint_eq(m.seq, 6);
    ck_assert_uint_eq(m.u.status.state, PEN_STATE_RUNNING);
    ck_assert_uint_eq(m.u.status.measured_rate_mhz, 119850);
    ck_assert_int_eq(m.u.status.temperature_cdeg, 3125);
    ck_assert_uint_eq(m.u.status.uptime_ms, 123456);
    ck_assert_uint_eq(m.u.status.watchdog_ms, 500);

    fn = golden_load("pen_nak", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, unframe(frame, fn, body), &m), PEN_OK);
    ck_assert_uint_eq(m.seq, 0x1234);
    ck_assert_uint_eq(m.u.nak.request_type, PEN_MSG_SET_RATE);
    ck_assert_uint_eq(m.u.nak.error, PEN_ERR_OUT_OF_RANGE);
}
END_TEST

/* ---- round trips ---- */

/* A valid message for every type/direction that exists, with non-trivial
 * values, seq covering both bytes. */
START_TEST(round_trip_every_type_and_direction)
{
    static const uint8_t flag_sets[] = {0, PEN_F_RESPONSE, PEN_F_EVENT};
    int count = 0;
    for (int type = 0; type < 256; type++) {
        for (size_t f = 0; f < 3; f++) {
            int size = pen_payload_size((uint8_t)type, flag_sets[f]);
            if (size < 0)
                continue;
            struct pen_msg m = msg((uint8_t)type, flag_sets[f], (uint16_t)(0xA500 + type));
            switch (type) {
            case PEN_MSG_IDENTIFY: m.u.identity = golden_identity(); break;
            case PEN_MSG_SET_RATE: m.u.rate_mhz = PEN_RATE_MAX_MHZ; break;
            case PEN_MSG_SET_DEPTH: m.u.depth_um = PEN_DEPTH_MAX_UM; break;
            case PEN_MSG_GET_STATUS:
                m.u.status = golden_status();
                m.u.status.temperature_cdeg = -1234;
                m.u.status.faults = PEN_FAULT_KNOWN;
                m.u.status.uptime_ms = 0xFEDCBA98u;
                break;
            case PEN_MSG_EVT_STATE:
                m.u.evt_state = (struct pen_evt_state){PEN_STATE_FAULT, PEN_STATE_RUNNING,
                                                       PEN_REASON_WATCHDOG};
                break;
            case PEN_MSG_EVT_FAULT:
                m.u.evt_fault = (struct pen_evt_fault){PEN_FAULT_WATCHDOG | PEN_FAULT_OVERTEMP,
                                                       5000, 0};
                break;
            case PEN_MSG_NAK: m.u.nak = (struct pen_nak){0xEE, PEN_ERR_BUSY}; break;
            default: break;
            }
            uint8_t frame[PEN_MAX_FRAME], body[PEN_MAX_BODY];
            int n = pen_encode(&m, frame, sizeof frame);
            ck_assert_msg(n > 0, "type 0x%02x flags %u: %s", type, flag_sets[f],
                          pen_result_str(n));
            ck_assert_int_le(n, PEN_MAX_FRAME);
            size_t bn = unframe(frame, (size_t)n, body);
            ck_assert_uint_eq(bn, (size_t)(PEN_HEADER_SIZE + size + PEN_CRC_SIZE));
            struct pen_msg d;
            ck_assert_int_eq(pen_decode_body(body, bn, &d), PEN_OK);
            assert_same_msg(&d, &m);
            count++;
        }
    }
    /* 8 requests + 8 responses + 2 events + NAK. */
    ck_assert_int_eq(count, 19);
}
END_TEST

START_TEST(strings_full_width_and_terminated)
{
    struct pen_msg m = msg(PEN_MSG_IDENTIFY, R, 9);
    m.u.identity = golden_identity();
    strcpy(m.u.identity.model, "0123456789ABCDEF");    /* 16 chars, no NUL on wire */
    strcpy(m.u.identity.cartridge_id, "");
    m.u.identity.needle_count = 0;
    uint8_t frame[PEN_MAX_FRAME], body[PEN_MAX_BODY];
    int n = pen_encode(&m, frame, sizeof frame);
    ck_assert_int_gt(n, 0);
    struct pen_msg d;
    memset(&d, 0xFF, sizeof d);
    ck_assert_int_eq(pen_decode_body(body, unframe(frame, (size_t)n, body), &d), PEN_OK);
    ck_assert_str_eq(d.u.identity.model, "0123456789ABCDEF");
    ck_assert_str_eq(d.u.identity.cartridge_id, "");
    ck_assert_uint_eq(d.u.identity.needle_count, 0);
}
END_TEST

/* ---- encoder validation ---- */

START_TEST(encoder_validates)
{
    uint8_t frame[PEN_MAX_FRAME];
    struct pen_msg m = msg(PEN_MSG_SET_RATE, 0, 1);
    m.u.rate_mhz = PEN_RATE_MIN_MHZ - 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.rate_mhz = PEN_RATE_MAX_MHZ + 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.rate_mhz = PEN_RATE_MIN_MHZ;
    ck_assert_int_gt(pen_encode(&m, frame, sizeof frame), 0);

    m = msg(PEN_MSG_SET_DEPTH, 0, 1);
    m.u.depth_um = PEN_DEPTH_MAX_UM + 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);

    m = msg(PEN_MSG_IDENTIFY, R, 1);
    m.u.identity = golden_identity();
    m.u.identity.model[3] = '\n';
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.identity = golden_identity();
    memset(m.u.identity.serial, 'A', sizeof m.u.identity.serial);  /* unterminated */
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.identity = golden_identity();
    m.u.identity.needle_count = 0;      /* cartridge present, no needles */
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);

    m = msg(0x33, 0, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_UNKNOWN_TYPE);
    m = msg(PEN_MSG_START, PEN_F_RESPONSE | PEN_F_EVENT, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_FLAGS);
    m = msg(PEN_MSG_EVT_STATE, 0, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_FLAGS);

    /* Buffer exactly large enough works, one byte less does not. */
    m = msg(PEN_MSG_HEARTBEAT, 0, 0x0101);
    int n = pen_encode(&m, frame, sizeof frame);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(pen_encode(&m, frame, (size_t)n), n);
    ck_assert_int_eq(pen_encode(&m, frame, (size_t)n - 1), PEN_E_ARG);
    ck_assert_int_eq(pen_encode(NULL, frame, sizeof frame), PEN_E_ARG);
}
END_TEST

/* ---- decoder error classes (pen_decode_body) ---- */

/* Builds header + payload bytes; returns the length. */
static size_t raw(uint8_t *p, uint8_t version, uint8_t type, uint8_t flags,
                  uint8_t hdr_len, uint16_t seq, const void *payload, size_t plen)
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

static int decode_raw(const uint8_t *p, size_t n, struct pen_msg *m)
{
    uint8_t body[300];
    memcpy(body, p, n);
    uint16_t crc = crc16_ccitt(CRC16_INIT, body, n);
    body[n] = (uint8_t)crc;
    body[n + 1] = (uint8_t)(crc >> 8);
    return pen_decode_body(body, n + 2, m);
}

START_TEST(decode_error_classes)
{
    uint8_t p[200];
    struct pen_msg m;
    const uint8_t rate_ok[4] = {0xC0, 0xD4, 0x01, 0x00};  /* 120000 */

    /* Short. */
    ck_assert_int_eq(pen_decode_body((const uint8_t *)"\x01\x07\x00\x00\x01", 5, &m), PEN_E_SHORT);
    ck_assert_int_eq(pen_decode_body(p, 0, &m), PEN_E_SHORT);
    /* Oversize body. */
    memset(p, 1, sizeof p);
    ck_assert_int_eq(pen_decode_body(p, PEN_MAX_BODY + 1, &m), PEN_E_OVERSIZE);
    /* CRC. */
    size_t n = raw(p, 1, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    uint8_t body[64];
    memcpy(body, p, n);
    body[n] = 0;
    body[n + 1] = 0;
    ck_assert_int_eq(pen_decode_body(body, n + 2, &m), PEN_E_CRC);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_OK);
    ck_assert_uint_eq(m.u.rate_mhz, 120000);
    /* Version. */
    n = raw(p, 2, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_VERSION);
    n = raw(p, 0, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_VERSION);
    /* Unknown type: header still reported so the pen can NAK it. */
    n = raw(p, 1, 0x20, 0, 0, 0xBEEF, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    ck_assert_uint_eq(m.type, 0x20);
    ck_assert_uint_eq(m.seq, 0xBEEF);
    n = raw(p, 1, 0x00, 0, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    n = raw(p, 1, 0xFF, 0, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    /* Flags: unknown bit, both bits, wrong direction for the type. */
    n = raw(p, 1, PEN_MSG_HEARTBEAT, 0x04, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = raw(p, 1, PEN_MSG_HEARTBEAT, 0x80, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = raw(p, 1, PEN_MSG_HEARTBEAT, 0x03, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = raw(p, 1, PEN_MSG_HEARTBEAT, PEN_F_EVENT, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = raw(p, 1, PEN_MSG_EVT_STATE, 0, 3, 1, "\x00\x00\x00", 3);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = raw(p, 1, PEN_MSG_NAK, 0, 2, 1, "\x02\x03", 2);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    /* Length: wrong size for the type, header len disagreeing with body. */
    n = raw(p, 1, PEN_MSG_SET_RATE, 0, 2, 1, rate_ok, 2);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = raw(p, 1, PEN_MSG_SET_RATE, 0, 4, 1, rate_ok, 3);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = raw(p, 1, PEN_MSG_SET_RATE, 0, 3, 1, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = raw(p, 1, PEN_MSG_HEARTBEAT, 0, 1, 1, "\x00", 1);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = raw(p, 1, PEN_MSG_GET_STATUS, PEN_F_RESPONSE, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
}
END_TEST

/* Encodes the golden status/identity with one field changed and checks the
 * decoder refuses it. The encoder would refuse too, so bytes are patched. */
static int decode_patched(const char *golden, size_t offset, const void *bytes, size_t n)
{
    uint8_t frame[128], body[PEN_MAX_BODY];
    size_t fn = golden_load(golden, frame, sizeof frame);
    size_t bn = unframe(frame, fn, body);
    ck_assert_uint_le(PEN_HEADER_SIZE + offset + n, bn - PEN_CRC_SIZE);
    memcpy(body + PEN_HEADER_SIZE + offset, bytes, n);
    uint16_t crc = crc16_ccitt(CRC16_INIT, body, bn - PEN_CRC_SIZE);
    body[bn - 2] = (uint8_t)crc;
    body[bn - 1] = (uint8_t)(crc >> 8);
    struct pen_msg m;
    return pen_decode_body(body, bn, &m);
}

START_TEST(decode_range_and_enum)
{
    const char *st = "pen_get_status_response";
    ck_assert_int_eq(decode_patched(st, 0, "\x02", 1), PEN_OK);         /* control */
    ck_assert_int_eq(decode_patched(st, 0, "\x05", 1), PEN_E_RANGE);    /* state */
    ck_assert_int_eq(decode_patched(st, 1, "\x4f\xc3\x00\x00", 4), PEN_E_RANGE); /* 49999 mHz */
    ck_assert_int_eq(decode_patched(st, 1, "\x00\x00\x00\x00", 4), PEN_OK);      /* unset */
    ck_assert_int_eq(decode_patched(st, 9, "\xb9\x0b", 2), PEN_E_RANGE);  /* depth 3001 */
    ck_assert_int_eq(decode_patched(st, 11, "\x89\x13", 2), PEN_E_RANGE); /* 5001 mA */
    ck_assert_int_eq(decode_patched(st, 13, "\x71\x17", 2), PEN_E_RANGE); /* 6001 mV */
    ck_assert_int_eq(decode_patched(st, 15, "\x5f\xf0", 2), PEN_E_RANGE); /* -4001 */
    ck_assert_int_eq(decode_patched(st, 15, "\x60\xf0", 2), PEN_OK);      /* -4000 */
    ck_assert_int_eq(decode_patched(st, 17, "\x80\x00\x00\x00", 4), PEN_E_RANGE); /* fault bit */
    ck_assert_int_eq(decode_patched(st, 25, "\x00\x00", 2), PEN_E_RANGE); /* watchdog 0 */
    ck_assert_int_eq(decode_patched(st, 27, "\x01", 1), PEN_E_RANGE);     /* reserved */

    const char *ev = "pen_evt_state";
    ck_assert_int_eq(decode_patched(ev, 0, "\x05", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(ev, 1, "\x09", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(ev, 2, "\x06", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_evt_fault", 0, "\x00\x01\x00\x00", 4), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_nak", 1, "\x00", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_nak", 1, "\x09", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_set_rate_request", 0, "\xf1\x49\x02\x00", 4),
                     PEN_E_RANGE);  /* 150001 */
    ck_assert_int_eq(decode_patched("pen_set_depth_response", 0, "\xb9\x0b", 2), PEN_E_RANGE);

    const char *id = "pen_identify_response";
    ck_assert_int_eq(decode_patched(id, 2, "\x7f", 1), PEN_E_RANGE);   /* DEL in model */
    ck_assert_int_eq(decode_patched(id, 2, "\x80", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(id, 10, "X", 1), PEN_E_RANGE);     /* text after NUL */
    ck_assert_int_eq(decode_patched(id, 0, "\x00", 1), PEN_E_RANGE);   /* empty model */
    ck_assert_int_eq(decode_patched(id, 52, "\x00", 1), PEN_E_RANGE);  /* 0 needles */
    ck_assert_int_eq(decode_patched(id, 52, "\x41", 1), PEN_E_RANGE);  /* 65 needles */
    ck_assert_int_eq(decode_patched(id, 53, "\x02", 1), PEN_E_RANGE);  /* protocol */
    ck_assert_int_eq(decode_patched(id, 54, "\x00\x00", 2), PEN_E_RANGE); /* step 0 */
    ck_assert_int_eq(decode_patched(id, 56, "\xc5\x09", 2), PEN_E_RANGE); /* min > max */
    ck_assert_int_eq(decode_patched(id, 58, "\xb9\x0b", 2), PEN_E_RANGE); /* max 3001 */
    /* Cartridge removed and needle count 0 together is valid. */
    uint8_t no_cart[17] = {0};
    ck_assert_int_eq(decode_patched(id, 36, no_cart, 17), PEN_OK);
}
END_TEST

/* ---- streaming receiver ---- */

static size_t load_all_golden(uint8_t *stream, size_t cap, struct golden_case *c, size_t *count)
{
    *count = golden_cases(c);
    size_t len = 0;
    stream[len++] = 0x00;   /* a sender starts with a delimiter */
    for (size_t i = 0; i < *count; i++)
        len += golden_load(c[i].name, stream + len, cap - len);
    return len;
}

/* Feeds data in chunks of the given sizes (cycled) and collects results. */
static size_t feed(struct pen_rx *rx, const uint8_t *data, size_t len,
                   const size_t *chunks, size_t nchunks, int *results,
                   struct pen_msg *msgs, size_t max)
{
    size_t nres = 0, ci = 0;
    while (len > 0) {
        size_t take = chunks[ci++ % nchunks];
        if (take > len)
            take = len;
        const uint8_t *p = data;
        size_t left = take;
        for (;;) {
            struct pen_msg m;
            int r = pen_rx_next(rx, &p, &left, &m);
            if (r == PEN_NEED_MORE) {
                ck_assert_uint_eq(left, 0);
                break;
            }
            ck_assert_uint_lt(nres, max);
            results[nres] = r;
            msgs[nres++] = m;
        }
        data += take;
        len -= take;
    }
    return nres;
}

START_TEST(rx_split_at_every_boundary)
{
    uint8_t stream[2048];
    struct golden_case c[32];
    size_t count;
    size_t len = load_all_golden(stream, sizeof stream, c, &count);
    for (size_t cut = 0; cut <= len; cut++) {
        struct pen_rx rx;
        pen_rx_init(&rx);
        size_t chunks[2] = {cut, len - cut};
        int res[64];
        struct pen_msg msgs[64];
        size_t got = feed(&rx, stream, len, cut ? chunks : chunks + 1, cut ? 2 : 1, res, msgs, 64);
        ck_assert_uint_eq(got, count);
        for (size_t i = 0; i < got; i++) {
            ck_assert_int_eq(res[i], PEN_OK);
            assert_same_msg(&msgs[i], &c[i].m);
        }
        ck_assert_uint_eq(rx.stats.frames_ok, count);
        ck_assert_uint_eq(rx.stats.bytes, len);
        ck_assert_uint_eq(rx.stats.empty, 1);
        ck_assert_uint_eq(rx.stats.crc_errors + rx.stats.malformed + rx.stats.oversize +
                              rx.stats.unknown_type, 0);
    }
    /* Byte by byte and in odd chunk sizes. */
    static const size_t sizes[][3] = {{1, 1, 1}, {3, 7, 2}, {13, 1, 64}, {500, 500, 500}};
    for (size_t s = 0; s < 4; s++) {
        struct pen_rx rx;
        pen_rx_init(&rx);
        int res[64];
        struct pen_msg msgs[64];
        ck_assert_uint_eq(feed(&rx, stream, len, sizes[s], 3, res, msgs, 64), count);
        ck_assert_uint_eq(rx.stats.frames_ok, count);
    }
}
END_TEST

/* Runs one bad frame between two good ones through a fresh receiver and
 * checks: expected error, then recovery on the next good frame. */
static struct pen_rx_stats bad_between_good(const uint8_t *bad, size_t bad_len, int want)
{
    uint8_t good[128], stream[1024];
    size_t gl = golden_load("pen_heartbeat_request", good, sizeof good);
    size_t len = 0;
    stream[len++] = 0;
    memcpy(stream + len, good, gl);
    len += gl;
    memcpy(stream + len, bad, bad_len);
    len += bad_len;
    memcpy(stream + len, good, gl);
    len += gl;

    struct pen_rx rx;
    pen_rx_init(&rx);
    int res[8];
    struct pen_msg msgs[8];
    const size_t all[1] = {len};
    size_t got = feed(&rx, stream, len, all, 1, res, msgs, 8);
    ck_assert_uint_eq(got, 3);
    ck_assert_int_eq(res[0], PEN_OK);
    ck_assert_msg(res[1] == want, "got %d (%s), want %d", res[1], pen_result_str(res[1]), want);
    ck_assert_int_eq(res[2], PEN_OK);
    ck_assert_uint_eq(msgs[2].type, PEN_MSG_HEARTBEAT);
    ck_assert_uint_eq(rx.stats.frames_ok, 2);
    ck_assert_uint_eq(rx.stats.bytes, len);

    /* The same stream split at every byte gives the same outcome. */
    for (size_t cut = 1; cut < len; cut++) {
        struct pen_rx rx2;
        pen_rx_init(&rx2);
        size_t chunks[2] = {cut, len};
        ck_assert_uint_eq(feed(&rx2, stream, len, chunks, 2, res, msgs, 8), 3);
        ck_assert_int_eq(res[1], want);
        ck_assert_int_eq(res[2], PEN_OK);
        ck_assert_mem_eq(&rx2.stats, &rx.stats, sizeof rx.stats);
    }
    return rx.stats;
}

START_TEST(rx_bad_crc)
{
    uint8_t frame[128];
    size_t n = golden_load("pen_set_rate_request", frame, sizeof frame);
    frame[7] ^= 0x40;  /* a data byte (rate), not a COBS code */
    struct pen_rx_stats st = bad_between_good(frame, n, PEN_E_CRC);
    ck_assert_uint_eq(st.crc_errors, 1);
    ck_assert_uint_eq(st.malformed, 0);
}
END_TEST

START_TEST(rx_truncated)
{
    /* Identify request 03 01 01 01 02 01 03 d0 d2 00 cut before its last
     * byte: the final code byte points past the end -> COBS error. */
    uint8_t frame[128];
    size_t n = golden_load("pen_identify_request", frame, sizeof frame);
    frame[n - 2] = 0;
    struct pen_rx_stats st = bad_between_good(frame, n - 1, PEN_E_COBS);
    ck_assert_uint_eq(st.malformed, 1);
    /* A body shorter than header + CRC. */
    const uint8_t shorty[] = {0x04, 0x01, 0x07, 0x05, 0x00};
    st = bad_between_good(shorty, sizeof shorty, PEN_E_SHORT);
    ck_assert_uint_eq(st.malformed, 1);
    /* Cut after the CRC went missing but COBS stays valid: CRC error. */
    uint8_t f2[128];
    n = golden_load("pen_get_status_response", f2, sizeof f2);
    uint8_t body[PEN_MAX_BODY], cut[128];
    size_t bn = unframe(f2, n, body);
    size_t cn = cobs_encode(body, bn - 5, cut, sizeof cut - 1);
    cut[cn] = 0;
    st = bad_between_good(cut, cn + 1, PEN_E_CRC);
    ck_assert_uint_eq(st.crc_errors, 1);
}
END_TEST

START_TEST(rx_oversize)
{
    uint8_t junk[200];
    memset(junk, 0x01, sizeof junk);   /* valid COBS codes, never a 0x00 */
    junk[sizeof junk - 1] = 0;
    struct pen_rx_stats st = bad_between_good(junk, sizeof junk, PEN_E_OVERSIZE);
    ck_assert_uint_eq(st.oversize, 1);
    ck_assert_uint_eq(st.malformed, 0);
    /* The largest legal encoded length (73 bytes, here 0x01 codes that
     * decode to 72 zero bytes) reaches the CRC check; one more byte is
     * oversize. */
    uint8_t big[80];
    size_t max_enc = COBS_MAX_ENCODED(PEN_MAX_BODY);
    ck_assert_uint_eq(max_enc, 73);
    memset(big, 0x01, sizeof big);
    big[max_enc] = 0;
    st = bad_between_good(big, max_enc + 1, PEN_E_CRC);
    ck_assert_uint_eq(st.crc_errors, 1);
    memset(big, 0x01, sizeof big);
    big[max_enc + 1] = 0;
    st = bad_between_good(big, max_enc + 2, PEN_E_OVERSIZE);
    ck_assert_uint_eq(st.oversize, 1);
}
END_TEST

START_TEST(rx_unknown_type_and_fields)
{
    uint8_t p[64], frame[128];
    size_t n = raw(p, 1, 0x20, 0, 0, 9, NULL, 0);
    size_t fn = frame_raw(p, n, false, frame, sizeof frame);
    struct pen_rx_stats st = bad_between_good(frame, fn, PEN_E_UNKNOWN_TYPE);
    ck_assert_uint_eq(st.unknown_type, 1);

    n = raw(p, 1, PEN_MSG_SET_RATE, 0, 2, 9, "\x01\x02", 2);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_LENGTH);
    ck_assert_uint_eq(st.malformed, 1);

    n = raw(p, 1, PEN_MSG_SET_DEPTH, 0, 2, 9, "\xff\xff", 2);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_RANGE);
    ck_assert_uint_eq(st.malformed, 1);

    n = raw(p, 1, PEN_MSG_EVT_STATE, PEN_F_EVENT, 3, 9, "\x01\x00\x07", 3);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_RANGE);

    n = raw(p, 1, PEN_MSG_STOP, 0x10, 0, 9, NULL, 0);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_FLAGS);
    ck_assert_uint_eq(st.malformed, 1);

    n = raw(p, 3, PEN_MSG_STOP, 0, 0, 9, NULL, 0);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_VERSION);
    ck_assert_uint_eq(st.malformed, 1);
}
END_TEST

START_TEST(rx_reports_header_of_nakable_frames)
{
    /* A pen must NAK a CRC-good frame it cannot accept, with its seq. */
    uint8_t p[64], frame[128];
    size_t n = raw(p, 1, PEN_MSG_SET_DEPTH, 0, 2, 0x4321, "\xff\xff", 2);
    size_t fn = frame_raw(p, n, false, frame, sizeof frame);
    struct pen_rx rx;
    pen_rx_init(&rx);
    const uint8_t *q = frame;
    size_t left = fn;
    struct pen_msg m;
    ck_assert_int_eq(pen_rx_next(&rx, &q, &left, &m), PEN_E_RANGE);
    ck_assert_uint_eq(m.type, PEN_MSG_SET_DEPTH);
    ck_assert_uint_eq(m.seq, 0x4321);
    ck_assert_uint_eq(m.flags, 0);
    n = raw(p, 1, 0x55, 0, 0, 0x0102, NULL, 0);
    fn = frame_raw(p, n, false, frame, sizeof frame);
    q = frame;
    left = fn;
    ck_assert_int_eq(pen_rx_next(&rx, &q, &left, &m), PEN_E_UNKNOWN_TYPE);
    ck_assert_uint_eq(m.type, 0x55);
    ck_assert_uint_eq(m.seq, 0x0102);
    ck_assert_uint_eq(left, 0);
}
END_TEST

START_TEST(rx_garbage_and_empty_frames)
{
    uint8_t good[128], stream[512];
    size_t gl = golden_load("pen_evt_state", good, sizeof good);
    static const uint8_t garbage[] = {0x12, 0x34, 0xFF, 0xFF, 0x55, 0xAA, 0x00};

    /* Garbage before the first frame, ended by a delimiter, then empty
     * frames, then the good frame. */
    size_t len = 0;
    memcpy(stream + len, garbage, sizeof garbage);
    len += sizeof garbage;
    memset(stream + len, 0, 3);
    len += 3;
    memcpy(stream + len, good, gl);
    len += gl;
    /* Garbage between frames, glued to the next frame (no delimiter): that
     * frame is lost, the following one recovers. */
    memcpy(stream + len, garbage, sizeof garbage - 1);
    len += sizeof garbage - 1;
    memcpy(stream + len, good, gl);
    len += gl;
    memcpy(stream + len, good, gl);
    len += gl;

    struct pen_rx rx;
    pen_rx_init(&rx);
    int res[16];
    struct pen_msg msgs[16];
    const size_t one[1] = {1};
    size_t got = feed(&rx, stream, len, one, 1, res, msgs, 16);
    ck_assert_uint_eq(got, 4);
    /* 0x12 announces 17 bytes but only 5 follow before the 0x00. */
    ck_assert_int_eq(res[0], PEN_E_COBS);
    ck_assert_int_eq(res[1], PEN_OK);
    /* Garbage + frame happen to be valid COBS; the CRC catches it. */
    ck_assert_int_eq(res[2], PEN_E_CRC);
    ck_assert_int_eq(res[3], PEN_OK);
    ck_assert_uint_eq(msgs[3].type, PEN_MSG_EVT_STATE);
    ck_assert_uint_eq(msgs[3].seq, 0x10);
    ck_assert_uint_eq(rx.stats.frames_ok, 2);
    ck_assert_uint_eq(rx.stats.empty, 3);
    ck_assert_uint_eq(rx.stats.malformed, 1);
    ck_assert_uint_eq(rx.stats.crc_errors, 1);
    ck_assert_uint_eq(rx.stats.bytes, len);
}
END_TEST

START_TEST(rx_oversize_across_chunks)
{
    /* 300 non-zero bytes in several chunks: one OVERSIZE, nothing more until
     * the delimiter, then a good frame. */
    struct pen_rx rx;
    pen_rx_init(&rx);
    uint8_t junk[100];
    memset(junk, 0x42, sizeof junk);
    struct pen_msg m;
    int oversize = 0;
    for (int i = 0; i < 3; i++) {
        const uint8_t *p = junk;
        size_t left = sizeof junk;
        int r;
        while ((r = pen_rx_next(&rx, &p, &left, &m)) != PEN_NEED_MORE) {
            ck_assert_int_eq(r, PEN_E_OVERSIZE);
            oversize++;
        }
    }
    ck_assert_int_eq(oversize, 1);
    uint8_t good[128], stream[130];
    size_t gl = golden_load("pen_stop_response", good, sizeof good);
    stream[0] = 0;
    memcpy(stream + 1, good, gl);
    const uint8_t *p = stream;
    size_t left = gl + 1;
    ck_assert_int_eq(pen_rx_next(&rx, &p, &left, &m), PEN_OK);
    ck_assert_uint_eq(m.type, PEN_MSG_STOP);
    ck_assert_uint_eq(left, 0);
    ck_assert_uint_eq(rx.stats.oversize, 1);
    ck_assert_uint_eq(rx.stats.empty, 0);   /* the 0x00 ended the discarded run */
}
END_TEST

START_TEST(rx_random_noise_never_crashes)
{
    /* Noise with many delimiters: every result is a defined code and the
     * counters add up. */
    struct pen_rx rx;
    pen_rx_init(&rx);
    uint32_t seed = 12345;
    uint64_t results = 0;
    for (int round = 0; round < 2000; round++) {
        uint8_t buf[97];
        for (size_t i = 0; i < sizeof buf; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (seed >> 16) % 11 == 0 ? 0 : (uint8_t)(seed >> 24);
        }
        const uint8_t *p = buf;
        size_t left = sizeof buf;
        struct pen_msg m;
        int r;
        while ((r = pen_rx_next(&rx, &p, &left, &m)) != PEN_NEED_MORE) {
            ck_assert_int_le(r, PEN_OK);
            ck_assert_int_ge(r, PEN_E_FLAGS);
            results++;
        }
    }
    ck_assert_uint_eq(rx.stats.bytes, 2000u * 97u);
    ck_assert_uint_eq(rx.stats.frames_ok + rx.stats.crc_errors + rx.stats.oversize +
                          rx.stats.unknown_type + rx.stats.malformed,
                      results);
    ck_assert_uint_gt(rx.stats.crc_errors, 0);
}
END_TEST

START_TEST(strings_and_sizes)
{
    for (int r = PEN_E_ARG; r <= PEN_NEED_MORE; r++)
        ck_assert_str_ne(pen_result_str(r), "unknown result");
    ck_assert_str_eq(pen_result_str(42), "unknown result");
    ck_assert_str_eq(pen_msg_type_str(PEN_MSG_NAK), "NAK");
    ck_assert_str_eq(pen_msg_type_str(0x99), "UNKNOWN");
    ck_assert_str_eq(pen_state_str(PEN_STATE_RUNNING), "running");
    ck_assert_str_eq(pen_error_str(PEN_ERR_BUSY), "busy");
    ck_assert_int_eq(pen_payload_size(PEN_MSG_IDENTIFY, R), 60);
    ck_assert_int_eq(pen_payload_size(PEN_MSG_GET_STATUS, R), 28);
    ck_assert_int_eq(pen_payload_size(PEN_MSG_EVT_FAULT, E), 8);
    ck_assert_int_eq(pen_payload_size(PEN_MSG_EVT_FAULT, R), -1);
    ck_assert_int_eq(pen_payload_size(PEN_MSG_START, R | E), -1);
    /* The largest message fits the declared frame bound. */
    ck_assert_int_le(PEN_HEADER_SIZE + 60 + PEN_CRC_SIZE, PEN_MAX_BODY);
    ck_assert_int_eq(PEN_MAX_FRAME, 74);
}
END_TEST

START_TEST(fault_names)
{
    char buf[80];
    ck_assert_str_eq(pen_fault_names(0, buf, sizeof buf), "none");
    ck_assert_str_eq(pen_fault_names(PEN_FAULT_WATCHDOG, buf, sizeof buf), "WATCHDOG");
    ck_assert_str_eq(pen_fault_names(PEN_FAULT_STALL | PEN_FAULT_WATCHDOG, buf, sizeof buf),
                     "STALL+WATCHDOG");
    ck_assert_str_eq(pen_fault_names(PEN_FAULT_KNOWN, buf, sizeof buf),
                     "STALL+OVERCURRENT+LOW_BATTERY+BATTERY_CUTOFF+OVERTEMP+NO_CARTRIDGE+WATCHDOG");
    ck_assert_str_eq(pen_fault_names(0x80000000u, buf, sizeof buf), "?");
    char tiny[6];
    ck_assert_str_eq(pen_fault_names(PEN_FAULT_OVERCURRENT, tiny, sizeof tiny), "OVERC");
    ck_assert((PEN_FAULT_LATCHED & PEN_FAULT_LOW_BATTERY) == 0);
    ck_assert((PEN_FAULT_LATCHED & PEN_FAULT_NO_CARTRIDGE) == 0);
    ck_assert((PEN_FAULT_LATCHED & PEN_FAULT_HOST_CAUSED) == PEN_FAULT_HOST_CAUSED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pen");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, golden_encode_matches);
    tcase_add_test(tc, golden_decode_matches);
    tcase_add_test(tc, golden_fields_decoded);
    tcase_add_test(tc, round_trip_every_type_and_direction);
    tcase_add_test(tc, strings_full_width_and_terminated);
    tcase_add_test(tc, encoder_validates);
    tcase_add_test(tc, decode_error_classes);
    tcase_add_test(tc, decode_range_and_enum);
    tcase_add_test(tc, rx_split_at_every_boundary);
    tcase_add_test(tc, rx_bad_crc);
    tcase_add_test(tc, rx_truncated);
    tcase_add_test(tc, rx_oversize);
    tcase_add_test(tc, rx_unknown_type_and_fields);
    tcase_add_test(tc, rx_reports_header_of_nakable_frames);
    tcase_add_test(tc, rx_garbage_and_empty_frames);
    tcase_add_test(tc, rx_oversize_across_chunks);
    tcase_add_test(tc, rx_random_noise_never_crashes);
    tcase_add_test(tc, strings_and_sizes);
    tcase_add_test(tc, fault_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return golden_run_suite(suite(), argc, argv);
}
