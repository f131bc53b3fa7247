/* libFuzzer target for the pen frame decoder.
 * Input: byte 0 seeds the chunk sizes, the rest is fed (a) directly to
 * pen_decode_body and (b) in pseudo-random chunks to pen_rx_next.
 * Invariants checked (abort on violation):
 *  - results are defined PEN_* codes, the receiver consumes all input and
 *    its counters add up to the frames it reported;
 *  - a body that decodes is canonical: re-encoding the message reproduces
 *    it byte for byte;
 *  - a frame the receiver accepts re-encodes to a frame that decodes to
 *    the same message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cobs.h"
#include "protocol/pen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void require_result(int r)
{
    REQUIRE(r == PEN_OK || (r <= PEN_E_COBS && r >= PEN_E_FLAGS));
}

/* Encodes m, decodes the frame again, and returns the body length. */
static size_t reencode(const struct pen_msg *m, uint8_t *body)
{
    uint8_t frame[PEN_MAX_FRAME];
    int n = pen_encode(m, frame, sizeof frame);
    REQUIRE(n > 1 && n <= PEN_MAX_FRAME && frame[n - 1] == 0);
    REQUIRE(memchr(frame, 0, (size_t)n - 1) == NULL);
    long b = cobs_decode(frame, (size_t)n - 1, body, PEN_MAX_BODY);
    REQUIRE(b >= PEN_HEADER_SIZE + PEN_CRC_SIZE);
    return (size_t)b;
}

static void check_body(const uint8_t *data, size_t size)
{
    struct pen_msg m;
    int r = pen_decode_body(data, size, &m);
    require_result(r);
    if (r != PEN_OK)
        return;
    uint8_t body[PEN_MAX_BODY];
    size_t n = reencode(&m, body);
    REQUIRE(n == size && memcmp(body, data, size) == 0);
}

static void check_stream(const uint8_t *data, size_t size, uint32_t seed)
{
    struct pen_rx rx;
    pen_rx_init(&rx);
    uint64_t reported = 0;
    size_t left = size;
    const uint8_t *p = data;
    while (left > 0) {
        seed = seed * 1103515245u + 12345u;
        size_t take = 1 + (seed >> 16) % 97;
        if (take > left)
            take = left;
        const uint8_t *q = p;
        size_t qlen = take;
        for (;;) {
            struct pen_msg m;
            int r = pen_rx_next(&rx, &q, &qlen, &m);
            if (r == PEN_NEED_MORE)
                break;
            require_result(r);
            reported++;
            if (r == PEN_OK) {
                uint8_t body[PEN_MAX_BODY], body2[PEN_MAX_BODY];
                size_t n = reencode(&m, body);
                struct pen_msg m2;
                REQUIRE(pen_decode_body(body, n, &m2) == PEN_OK);
                REQUIRE(reencode(&m2, body2) == n && memcmp(body, body2, n) == 0);
            }
        }
        REQUIRE(qlen == 0 && q == p + take);
        p += take;
        left -= take;
    }
    const struct pen_rx_stats *st = &rx.stats;
    REQUIRE(st->bytes == size);
    REQUIRE(st->frames_ok + st->crc_errors + st->oversize + st->unknown_type + st->malformed ==
            reported);
    REQUIRE(rx.len <= sizeof rx.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0];
    check_body(data + 1, size - 1);
    check_stream(data + 1, size - 1, seed);
    return 0;
}
