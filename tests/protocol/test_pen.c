/* Pen protocol codec: golden vectors, round trips, every malformed class
 * with its documented error code and stats counter, and receiver resync
 * (the streaming receiver's tests are test_pen_rx.c). */
#include "test_pen.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cobs.h"
#include "protocol/crc.h"
#include "golden.h"
#include "protocol/pen.h"
#include "pen_frames.h"

/* ---- golden vectors ---- */

START_TEST(golden_encode_matches)
{
    struct golden_case c[32];
    size_t n = pt_golden_cases(c);
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
    size_t n = pt_golden_cases(c);
    for (size_t i = 0; i < n; i++) {
        uint8_t frame[128], body[PEN_MAX_BODY];
        size_t fn = golden_load(c[i].name, frame, sizeof frame);
        size_t bn = pt_unframe(frame, fn, body);
        struct pen_msg m;
        ck_assert_int_eq(pen_decode_body(body, bn, &m), PEN_OK);
        ck_assert_uint_eq(m.version, PEN_PROTOCOL_VERSION);
        pt_assert_same_msg(&m, &c[i].m);
    }
}
END_TEST

START_TEST(golden_fields_decoded)
{
    uint8_t frame[128], body[PEN_MAX_BODY];
    struct pen_msg m;
    size_t fn = golden_load("pen_identify_response", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, pt_unframe(frame, fn, body), &m), PEN_OK);
    ck_assert_str_eq(m.u.identity.model, "MN-PEN-A");
    ck_assert_str_eq(m.u.identity.serial, "PA2611250042");
    ck_assert_str_eq(m.u.identity.cartridge_id, "CA14-L2611");
    ck_assert_uint_eq(m.u.identity.needle_count, 14);
    ck_assert_uint_eq(m.u.identity.depth_max_um, 2500);

    fn = golden_load("pen_get_status_response", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, pt_unframe(frame, fn, body), &m), PEN_OK);
    ck_assert_uint_eq(m.seq, 6);
    ck_assert_uint_eq(m.u.status.state, PEN_STATE_RUNNING);
    ck_assert_uint_eq(m.u.status.measured_rate_mhz, 119850);
    ck_assert_int_eq(m.u.status.temperature_cdeg, 3125);
    ck_assert_uint_eq(m.u.status.uptime_ms, 123456);
    ck_assert_uint_eq(m.u.status.watchdog_ms, 500);

    fn = golden_load("pen_nak", frame, sizeof frame);
    ck_assert_int_eq(pen_decode_body(body, pt_unframe(frame, fn, body), &m), PEN_OK);
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
    static const uint8_t flag_sets[] = { 0, PEN_F_RESPONSE, PEN_F_EVENT };
    int count = 0;
    for (int type = 0; type < 256; type++) {
        for (size_t f = 0; f < 3; f++) {
            int size = pen_payload_size((uint8_t)type, flag_sets[f]);
            if (size < 0)
                continue;
            struct pen_msg m = pt_msg((uint8_t)type, flag_sets[f], (uint16_t)(0xA500 + type));
            switch (type) {
            case PEN_MSG_IDENTIFY:
                m.u.identity = pt_golden_identity();
                break;
            case PEN_MSG_SET_RATE:
                m.u.rate_mhz = PEN_RATE_MAX_MHZ;
                break;
            case PEN_MSG_SET_DEPTH:
                m.u.depth_um = PEN_DEPTH_MAX_UM;
                break;
            case PEN_MSG_GET_STATUS:
                m.u.status = pt_golden_status();
                m.u.status.temperature_cdeg = -1234;
                m.u.status.faults = PEN_FAULT_KNOWN;
                m.u.status.uptime_ms = 0xFEDCBA98u;
                break;
            case PEN_MSG_EVT_STATE:
                m.u.evt_state = (struct pen_evt_state){ PEN_STATE_FAULT, PEN_STATE_RUNNING,
                                                        PEN_REASON_WATCHDOG };
                break;
            case PEN_MSG_EVT_FAULT:
                m.u.evt_fault =
                    (struct pen_evt_fault){ PEN_FAULT_WATCHDOG | PEN_FAULT_OVERTEMP, 5000, 0 };
                break;
            case PEN_MSG_NAK:
                m.u.nak = (struct pen_nak){ 0xEE, PEN_ERR_BUSY };
                break;
            default:
                break;
            }
            uint8_t frame[PEN_MAX_FRAME], body[PEN_MAX_BODY];
            int n = pen_encode(&m, frame, sizeof frame);
            ck_assert_msg(n > 0, "type 0x%02x flags %u: %s", type, flag_sets[f], pen_result_str(n));
            ck_assert_int_le(n, PEN_MAX_FRAME);
            size_t bn = pt_unframe(frame, (size_t)n, body);
            ck_assert_uint_eq(bn, (size_t)(PEN_HEADER_SIZE + size + PEN_CRC_SIZE));
            struct pen_msg d;
            ck_assert_int_eq(pen_decode_body(body, bn, &d), PEN_OK);
            pt_assert_same_msg(&d, &m);
            count++;
        }
    }
    /* 8 requests + 8 responses + 2 events + NAK. */
    ck_assert_int_eq(count, 19);
}
END_TEST

START_TEST(strings_full_width_and_terminated)
{
    struct pen_msg m = pt_msg(PEN_MSG_IDENTIFY, R, 9);
    m.u.identity = pt_golden_identity();
    strcpy(m.u.identity.model, "0123456789ABCDEF"); /* 16 chars, no NUL on wire */
    strcpy(m.u.identity.cartridge_id, "");
    m.u.identity.needle_count = 0;
    uint8_t frame[PEN_MAX_FRAME], body[PEN_MAX_BODY];
    int n = pen_encode(&m, frame, sizeof frame);
    ck_assert_int_gt(n, 0);
    struct pen_msg d;
    memset(&d, 0xFF, sizeof d);
    ck_assert_int_eq(pen_decode_body(body, pt_unframe(frame, (size_t)n, body), &d), PEN_OK);
    ck_assert_str_eq(d.u.identity.model, "0123456789ABCDEF");
    ck_assert_str_eq(d.u.identity.cartridge_id, "");
    ck_assert_uint_eq(d.u.identity.needle_count, 0);
}
END_TEST

/* ---- encoder validation ---- */

START_TEST(encoder_validates)
{
    uint8_t frame[PEN_MAX_FRAME];
    struct pen_msg m = pt_msg(PEN_MSG_SET_RATE, 0, 1);
    m.u.rate_mhz = PEN_RATE_MIN_MHZ - 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.rate_mhz = PEN_RATE_MAX_MHZ + 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.rate_mhz = PEN_RATE_MIN_MHZ;
    ck_assert_int_gt(pen_encode(&m, frame, sizeof frame), 0);

    m = pt_msg(PEN_MSG_SET_DEPTH, 0, 1);
    m.u.depth_um = PEN_DEPTH_MAX_UM + 1;
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);

    m = pt_msg(PEN_MSG_IDENTIFY, R, 1);
    m.u.identity = pt_golden_identity();
    m.u.identity.model[3] = '\n';
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.identity = pt_golden_identity();
    memset(m.u.identity.serial, 'A', sizeof m.u.identity.serial); /* unterminated */
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);
    m.u.identity = pt_golden_identity();
    m.u.identity.needle_count = 0; /* cartridge present, no needles */
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_RANGE);

    m = pt_msg(0x33, 0, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_UNKNOWN_TYPE);
    m = pt_msg(PEN_MSG_START, PEN_F_RESPONSE | PEN_F_EVENT, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_FLAGS);
    m = pt_msg(PEN_MSG_EVT_STATE, 0, 1);
    ck_assert_int_eq(pen_encode(&m, frame, sizeof frame), PEN_E_FLAGS);

    /* Buffer exactly large enough works, one byte less does not. */
    m = pt_msg(PEN_MSG_HEARTBEAT, 0, 0x0101);
    int n = pen_encode(&m, frame, sizeof frame);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(pen_encode(&m, frame, (size_t)n), n);
    ck_assert_int_eq(pen_encode(&m, frame, (size_t)n - 1), PEN_E_ARG);
    ck_assert_int_eq(pen_encode(NULL, frame, sizeof frame), PEN_E_ARG);
}
END_TEST

/* ---- decoder error classes (pen_decode_body) ---- */

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
    const uint8_t rate_ok[4] = { 0xC0, 0xD4, 0x01, 0x00 }; /* 120000 */

    /* Short. */
    ck_assert_int_eq(pen_decode_body((const uint8_t *)"\x01\x07\x00\x00\x01", 5, &m), PEN_E_SHORT);
    ck_assert_int_eq(pen_decode_body(p, 0, &m), PEN_E_SHORT);
    /* Oversize body. */
    memset(p, 1, sizeof p);
    ck_assert_int_eq(pen_decode_body(p, PEN_MAX_BODY + 1, &m), PEN_E_OVERSIZE);
    /* CRC. */
    size_t n = pt_raw(p, 1, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    uint8_t body[64];
    memcpy(body, p, n);
    body[n] = 0;
    body[n + 1] = 0;
    ck_assert_int_eq(pen_decode_body(body, n + 2, &m), PEN_E_CRC);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_OK);
    ck_assert_uint_eq(m.u.rate_mhz, 120000);
    /* Version. */
    n = pt_raw(p, 2, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_VERSION);
    n = pt_raw(p, 0, PEN_MSG_SET_RATE, 0, 4, 7, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_VERSION);
    /* Unknown type: header still reported so the pen can NAK it. */
    n = pt_raw(p, 1, 0x20, 0, 0, 0xBEEF, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    ck_assert_uint_eq(m.type, 0x20);
    ck_assert_uint_eq(m.seq, 0xBEEF);
    n = pt_raw(p, 1, 0x00, 0, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    n = pt_raw(p, 1, 0xFF, 0, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_UNKNOWN_TYPE);
    /* Flags: unknown bit, both bits, wrong direction for the type. */
    n = pt_raw(p, 1, PEN_MSG_HEARTBEAT, 0x04, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = pt_raw(p, 1, PEN_MSG_HEARTBEAT, 0x80, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = pt_raw(p, 1, PEN_MSG_HEARTBEAT, 0x03, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = pt_raw(p, 1, PEN_MSG_HEARTBEAT, PEN_F_EVENT, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = pt_raw(p, 1, PEN_MSG_EVT_STATE, 0, 3, 1, "\x00\x00\x00", 3);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    n = pt_raw(p, 1, PEN_MSG_NAK, 0, 2, 1, "\x02\x03", 2);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_FLAGS);
    /* Length: wrong size for the type, header len disagreeing with body. */
    n = pt_raw(p, 1, PEN_MSG_SET_RATE, 0, 2, 1, rate_ok, 2);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = pt_raw(p, 1, PEN_MSG_SET_RATE, 0, 4, 1, rate_ok, 3);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = pt_raw(p, 1, PEN_MSG_SET_RATE, 0, 3, 1, rate_ok, 4);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = pt_raw(p, 1, PEN_MSG_HEARTBEAT, 0, 1, 1, "\x00", 1);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
    n = pt_raw(p, 1, PEN_MSG_GET_STATUS, PEN_F_RESPONSE, 0, 1, NULL, 0);
    ck_assert_int_eq(decode_raw(p, n, &m), PEN_E_LENGTH);
}
END_TEST

/* Encodes the golden status/identity with one field changed and checks the
 * decoder refuses it. The encoder would refuse too, so bytes are patched. */
static int decode_patched(const char *golden, size_t offset, const void *bytes, size_t n)
{
    uint8_t frame[128], body[PEN_MAX_BODY];
    size_t fn = golden_load(golden, frame, sizeof frame);
    size_t bn = pt_unframe(frame, fn, body);
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
    ck_assert_int_eq(decode_patched(st, 0, "\x02", 1), PEN_OK);                   /* control */
    ck_assert_int_eq(decode_patched(st, 0, "\x05", 1), PEN_E_RANGE);              /* state */
    ck_assert_int_eq(decode_patched(st, 1, "\x4f\xc3\x00\x00", 4), PEN_E_RANGE);  /* 49999 mHz */
    ck_assert_int_eq(decode_patched(st, 1, "\x00\x00\x00\x00", 4), PEN_OK);       /* unset */
    ck_assert_int_eq(decode_patched(st, 9, "\xb9\x0b", 2), PEN_E_RANGE);          /* depth 3001 */
    ck_assert_int_eq(decode_patched(st, 11, "\x89\x13", 2), PEN_E_RANGE);         /* 5001 mA */
    ck_assert_int_eq(decode_patched(st, 13, "\x71\x17", 2), PEN_E_RANGE);         /* 6001 mV */
    ck_assert_int_eq(decode_patched(st, 15, "\x5f\xf0", 2), PEN_E_RANGE);         /* -4001 */
    ck_assert_int_eq(decode_patched(st, 15, "\x60\xf0", 2), PEN_OK);              /* -4000 */
    ck_assert_int_eq(decode_patched(st, 17, "\x80\x00\x00\x00", 4), PEN_E_RANGE); /* fault bit */
    ck_assert_int_eq(decode_patched(st, 25, "\x00\x00", 2), PEN_E_RANGE);         /* watchdog 0 */
    ck_assert_int_eq(decode_patched(st, 27, "\x01", 1), PEN_E_RANGE);             /* reserved */

    const char *ev = "pen_evt_state";
    ck_assert_int_eq(decode_patched(ev, 0, "\x05", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(ev, 1, "\x09", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(ev, 2, "\x06", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_evt_fault", 0, "\x00\x01\x00\x00", 4), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_nak", 1, "\x00", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_nak", 1, "\x09", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched("pen_set_rate_request", 0, "\xf1\x49\x02\x00", 4),
                     PEN_E_RANGE); /* 150001 */
    ck_assert_int_eq(decode_patched("pen_set_depth_response", 0, "\xb9\x0b", 2), PEN_E_RANGE);

    const char *id = "pen_identify_response";
    ck_assert_int_eq(decode_patched(id, 2, "\x7f", 1), PEN_E_RANGE); /* DEL in model */
    ck_assert_int_eq(decode_patched(id, 2, "\x80", 1), PEN_E_RANGE);
    ck_assert_int_eq(decode_patched(id, 10, "X", 1), PEN_E_RANGE);        /* text after NUL */
    ck_assert_int_eq(decode_patched(id, 0, "\x00", 1), PEN_E_RANGE);      /* empty model */
    ck_assert_int_eq(decode_patched(id, 52, "\x00", 1), PEN_E_RANGE);     /* 0 needles */
    ck_assert_int_eq(decode_patched(id, 52, "\x41", 1), PEN_E_RANGE);     /* 65 needles */
    ck_assert_int_eq(decode_patched(id, 53, "\x02", 1), PEN_E_RANGE);     /* protocol */
    ck_assert_int_eq(decode_patched(id, 54, "\x00\x00", 2), PEN_E_RANGE); /* step 0 */
    ck_assert_int_eq(decode_patched(id, 56, "\xc5\x09", 2), PEN_E_RANGE); /* min > max */
    ck_assert_int_eq(decode_patched(id, 58, "\xb9\x0b", 2), PEN_E_RANGE); /* max 3001 */
    /* Cartridge removed and needle count 0 together is valid. */
    uint8_t no_cart[17] = { 0 };
    ck_assert_int_eq(decode_patched(id, 36, no_cart, 17), PEN_OK);
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
    pen_rx_add_tests(tc);
    tcase_add_test(tc, strings_and_sizes);
    tcase_add_test(tc, fault_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return golden_run_suite(suite(), argc, argv);
}
