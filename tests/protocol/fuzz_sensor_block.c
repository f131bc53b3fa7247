/* libFuzzer target for the sensor-head decoders: stream block, samples,
 * continuity and the control payloads.
 * Invariants checked (abort on violation):
 *  - an accepted block re-encodes to the identical bytes;
 *  - an accepted control payload re-encodes to the identical bytes;
 *  - the continuity tracker accounts for every header it is given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static int32_t force[SH_MAX_SAMPLES], disp[SH_MAX_SAMPLES];
static uint8_t out[SH_BLOCK_MAX_SIZE];

static void check_block(const uint8_t *data, size_t size)
{
    struct sh_block_header h;
    int r = sh_block_decode(data, size, &h);
    REQUIRE(r <= SH_OK && r >= SH_E_ARG);
    if (r != SH_OK)
        return;
    REQUIRE(h.count >= 1 && h.count <= SH_MAX_SAMPLES);
    sh_block_samples(data, &h, force, disp);
    int n = sh_block_encode(&h, force, disp, out, sizeof out);
    REQUIRE(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);

    struct sh_stream s;
    sh_stream_reset(&s);
    REQUIRE(sh_stream_check(&s, &h) == SH_CONT_FIRST);
    REQUIRE(sh_stream_check(&s, &h) == SH_CONT_REPEAT);
    REQUIRE(s.stats.blocks == 1 && s.stats.samples == h.count);
}

static void check_control(const uint8_t *data, size_t size)
{
    uint8_t buf[64];
    struct sh_identity id;
    struct sh_calibration cal;
    struct sh_status st;
    /* Whole input (usually a length error) and the exact-size prefix. */
    (void)sh_identity_decode(data, size, &id);
    (void)sh_calibration_decode(data, size, &cal);
    (void)sh_status_decode(data, size, &st);
    if (size >= SH_IDENTITY_SIZE && sh_identity_decode(data, SH_IDENTITY_SIZE, &id) == SH_OK) {
        REQUIRE(sh_identity_encode(&id, buf, sizeof buf) == SH_IDENTITY_SIZE);
        REQUIRE(memcmp(buf, data, SH_IDENTITY_SIZE) == 0);
    }
    if (size >= SH_CALIBRATION_SIZE &&
        sh_calibration_decode(data, SH_CALIBRATION_SIZE, &cal) == SH_OK) {
        REQUIRE(sh_calibration_encode(&cal, buf, sizeof buf) == SH_CALIBRATION_SIZE);
        REQUIRE(memcmp(buf, data, SH_CALIBRATION_SIZE) == 0);
        /* Calibration math on arbitrary samples: codes pass through,
         * real values never turn into codes. */
        for (size_t i = 0; i + 4 <= size && i < 64; i += 4) {
            int32_t raw;
            memcpy(&raw, data + i, sizeof raw);
            int32_t d = sh_cal_disp(&cal, raw);
            if (raw == SH_NO_TARGET || raw == SH_OUT_OF_RANGE)
                REQUIRE(d == raw);
            else
                REQUIRE(d != SH_NO_TARGET && d != SH_OUT_OF_RANGE);
            (void)sh_cal_force(&cal, raw);
        }
    }
    if (size >= SH_STATUS_SIZE && sh_status_decode(data, SH_STATUS_SIZE, &st) == SH_OK) {
        REQUIRE(sh_status_encode(&st, buf, sizeof buf) == SH_STATUS_SIZE);
        REQUIRE(memcmp(buf, data, SH_STATUS_SIZE) == 0);
    }
}

/* Reads the input as a series of 14-byte pseudo headers (seq:u32,
 * first_sample:u64, count:u16) and runs them through the tracker. */
static void check_continuity(const uint8_t *data, size_t size)
{
    struct sh_stream s;
    sh_stream_reset(&s);
    uint64_t calls = 0, samples = 0;
    for (size_t off = 0; off + 14 <= size; off += 14) {
        struct sh_block_header h;
        memset(&h, 0, sizeof h);
        memcpy(&h.seq, data + off, 4);
        memcpy(&h.first_sample, data + off + 4, 8);
        memcpy(&h.count, data + off + 12, 2);
        h.flags = data[off] & SH_BLK_KNOWN;
        enum sh_continuity c = sh_stream_check(&s, &h);
        REQUIRE(c <= SH_CONT_OVERRUN);
        REQUIRE((c == SH_CONT_FIRST) == (calls == 0));
        if (c != SH_CONT_REPEAT)
            samples += h.count;
        calls++;
    }
    REQUIRE(s.stats.blocks + s.stats.repeated_blocks == calls);
    REQUIRE(s.stats.samples == samples);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_block(data, size);
    check_control(data, size);
    check_continuity(data, size);
    return 0;
}
