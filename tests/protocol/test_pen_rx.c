/* Pen protocol codec: the streaming receiver (pen_rx): splits at every
 * boundary, every malformed class between good frames with its stats
 * counter, resync after garbage, random noise. Part of test_protocol_pen
 * (test_pen.c adds these tests). */
#include "test_pen.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cobs.h"
#include "golden.h"
#include "pen_frames.h"

static size_t load_all_golden(uint8_t *stream, size_t cap, struct golden_case *c, size_t *count)
{
    *count = pt_golden_cases(c);
    size_t len = 0;
    stream[len++] = 0x00; /* a sender starts with a delimiter */
    for (size_t i = 0; i < *count; i++)
        len += golden_load(c[i].name, stream + len, cap - len);
    return len;
}

/* Feeds data in chunks of the given sizes (cycled) and collects results. */
static size_t feed(struct pen_rx *rx, const uint8_t *data, size_t len, const size_t *chunks,
                   size_t nchunks, int *results, struct pen_msg *msgs, size_t max)
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
        size_t chunks[2] = { cut, len - cut };
        int res[64];
        struct pen_msg msgs[64];
        size_t got = feed(&rx, stream, len, cut ? chunks : chunks + 1, cut ? 2 : 1, res, msgs, 64);
        ck_assert_uint_eq(got, count);
        for (size_t i = 0; i < got; i++) {
            ck_assert_int_eq(res[i], PEN_OK);
            pt_assert_same_msg(&msgs[i], &c[i].m);
        }
        ck_assert_uint_eq(rx.stats.frames_ok, count);
        ck_assert_uint_eq(rx.stats.bytes, len);
        ck_assert_uint_eq(rx.stats.empty, 1);
        ck_assert_uint_eq(rx.stats.crc_errors + rx.stats.malformed + rx.stats.oversize +
                              rx.stats.unknown_type,
                          0);
    }
    /* Byte by byte and in odd chunk sizes. */
    static const size_t sizes[][3] = { { 1, 1, 1 }, { 3, 7, 2 }, { 13, 1, 64 }, { 500, 500, 500 } };
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
    const size_t all[1] = { len };
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
        size_t chunks[2] = { cut, len };
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
    frame[7] ^= 0x40; /* a data byte (rate), not a COBS code */
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
    const uint8_t shorty[] = { 0x04, 0x01, 0x07, 0x05, 0x00 };
    st = bad_between_good(shorty, sizeof shorty, PEN_E_SHORT);
    ck_assert_uint_eq(st.malformed, 1);
    /* Cut after the CRC went missing but COBS stays valid: CRC error. */
    uint8_t f2[128];
    n = golden_load("pen_get_status_response", f2, sizeof f2);
    uint8_t body[PEN_MAX_BODY], cut[128];
    size_t bn = pt_unframe(f2, n, body);
    size_t cn = cobs_encode(body, bn - 5, cut, sizeof cut - 1);
    cut[cn] = 0;
    st = bad_between_good(cut, cn + 1, PEN_E_CRC);
    ck_assert_uint_eq(st.crc_errors, 1);
}
END_TEST

START_TEST(rx_oversize)
{
    uint8_t junk[200];
    memset(junk, 0x01, sizeof junk); /* valid COBS codes, never a 0x00 */
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
    size_t n = pt_raw(p, 1, 0x20, 0, 0, 9, NULL, 0);
    size_t fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    struct pen_rx_stats st = bad_between_good(frame, fn, PEN_E_UNKNOWN_TYPE);
    ck_assert_uint_eq(st.unknown_type, 1);

    n = pt_raw(p, 1, PEN_MSG_SET_RATE, 0, 2, 9, "\x01\x02", 2);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_LENGTH);
    ck_assert_uint_eq(st.malformed, 1);

    n = pt_raw(p, 1, PEN_MSG_SET_DEPTH, 0, 2, 9, "\xff\xff", 2);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_RANGE);
    ck_assert_uint_eq(st.malformed, 1);

    n = pt_raw(p, 1, PEN_MSG_EVT_STATE, PEN_F_EVENT, 3, 9, "\x01\x00\x07", 3);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_RANGE);

    n = pt_raw(p, 1, PEN_MSG_STOP, 0x10, 0, 9, NULL, 0);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_FLAGS);
    ck_assert_uint_eq(st.malformed, 1);

    n = pt_raw(p, 3, PEN_MSG_STOP, 0, 0, 9, NULL, 0);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    st = bad_between_good(frame, fn, PEN_E_VERSION);
    ck_assert_uint_eq(st.malformed, 1);
}
END_TEST

START_TEST(rx_reports_header_of_nakable_frames)
{
    /* A pen must NAK a CRC-good frame it cannot accept, with its seq. */
    uint8_t p[64], frame[128];
    size_t n = pt_raw(p, 1, PEN_MSG_SET_DEPTH, 0, 2, 0x4321, "\xff\xff", 2);
    size_t fn = pt_frame_raw(p, n, false, frame, sizeof frame);
    struct pen_rx rx;
    pen_rx_init(&rx);
    const uint8_t *q = frame;
    size_t left = fn;
    struct pen_msg m;
    ck_assert_int_eq(pen_rx_next(&rx, &q, &left, &m), PEN_E_RANGE);
    ck_assert_uint_eq(m.type, PEN_MSG_SET_DEPTH);
    ck_assert_uint_eq(m.seq, 0x4321);
    ck_assert_uint_eq(m.flags, 0);
    n = pt_raw(p, 1, 0x55, 0, 0, 0x0102, NULL, 0);
    fn = pt_frame_raw(p, n, false, frame, sizeof frame);
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
    static const uint8_t garbage[] = { 0x12, 0x34, 0xFF, 0xFF, 0x55, 0xAA, 0x00 };

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
    const size_t one[1] = { 1 };
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
    ck_assert_uint_eq(rx.stats.empty, 0); /* the 0x00 ended the discarded run */
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

void pen_rx_add_tests(TCase *tc)
{
    tcase_add_test(tc, rx_split_at_every_boundary);
    tcase_add_test(tc, rx_bad_crc);
    tcase_add_test(tc, rx_truncated);
    tcase_add_test(tc, rx_oversize);
    tcase_add_test(tc, rx_unknown_type_and_fields);
    tcase_add_test(tc, rx_reports_header_of_nakable_frames);
    tcase_add_test(tc, rx_garbage_and_empty_frames);
    tcase_add_test(tc, rx_oversize_across_chunks);
    tcase_add_test(tc, rx_random_noise_never_crashes);
}
