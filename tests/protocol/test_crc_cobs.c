/* CRC check values and COBS framing properties. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cobs.h"
#include "protocol/crc.h"
#include "golden.h"

START_TEST(crc16_check_value)
{
    uint8_t in[16];
    size_t n = golden_load("crc_check", in, sizeof in);
    ck_assert_uint_eq(n, 9);
    ck_assert_mem_eq(in, "123456789", 9);
    ck_assert_uint_eq(crc16_ccitt(CRC16_INIT, in, n), 0x29B1);
}
END_TEST

START_TEST(crc32_check_value)
{
    ck_assert_uint_eq(crc32_ieee(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(crc32_ieee(0, "", 0), 0);
}
END_TEST

START_TEST(crc_chaining_equals_one_shot)
{
    const char *s = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        uint16_t a = crc16_ccitt(crc16_ccitt(CRC16_INIT, s, cut), s + cut, n - cut);
        ck_assert_uint_eq(a, crc16_ccitt(CRC16_INIT, s, n));
        uint32_t b = crc32_ieee(crc32_ieee(0, s, cut), s + cut, n - cut);
        ck_assert_uint_eq(b, crc32_ieee(0, s, n));
    }
    /* Known value for this string (zlib). */
    ck_assert_uint_eq(crc32_ieee(0, s, n), 0x414FA339u);
}
END_TEST

/* Deterministic pseudo-random bytes with many zeros, so COBS code paths
 * (zero runs, 254-byte blocks) are all exercised. */
static void fill(uint8_t *p, size_t n, uint32_t seed, int zero_every)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (zero_every && (seed >> 16) % (unsigned)zero_every == 0) ? 0 : (uint8_t)(seed >> 24);
    }
}

static void check_round_trip(const uint8_t *src, size_t n)
{
    uint8_t enc[1200], dec[1100];
    size_t e = cobs_encode(src, n, enc, sizeof enc);
    ck_assert_uint_gt(e, 0);
    ck_assert_uint_le(e, COBS_MAX_ENCODED(n));
    ck_assert_ptr_null(memchr(enc, 0, e));
    long d = cobs_decode(enc, e, dec, sizeof dec);
    ck_assert_int_eq(d, (long)n);
    ck_assert_mem_eq(dec, src, n);
    /* In place. */
    d = cobs_decode(enc, e, enc, e);
    ck_assert_int_eq(d, (long)n);
    ck_assert_mem_eq(enc, src, n);
}

START_TEST(cobs_round_trip_sizes)
{
    static const size_t sizes[] = { 0, 1, 2, 253, 254, 255, 256, 507, 508, 509, 1000 };
    uint8_t src[1000];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int z = 0; z < 4; z++) {
            int zero_every[] = { 0, 2, 7, 300 };
            fill(src, sizes[i], (uint32_t)(i * 31 + (size_t)z), zero_every[z]);
            check_round_trip(src, sizes[i]);
        }
        memset(src, 0, sizes[i]);
        check_round_trip(src, sizes[i]);
    }
}
END_TEST

START_TEST(cobs_known_encodings)
{
    /* Examples from Cheshire & Baker / Wikipedia. */
    uint8_t out[16];
    const uint8_t z1[] = { 0x00 };
    ck_assert_uint_eq(cobs_encode(z1, 1, out, sizeof out), 2);
    ck_assert_mem_eq(out, "\x01\x01", 2);
    const uint8_t a[] = { 0x11, 0x22, 0x00, 0x33 };
    ck_assert_uint_eq(cobs_encode(a, 4, out, sizeof out), 5);
    ck_assert_mem_eq(out, "\x03\x11\x22\x02\x33", 5);
    ck_assert_uint_eq(cobs_encode(NULL, 0, out, sizeof out), 1);
    ck_assert_uint_eq(out[0], 0x01);
    /* 254 non-zero bytes: one full block, no trailing code byte. */
    uint8_t big[254], enc[300];
    memset(big, 0x5A, sizeof big);
    ck_assert_uint_eq(cobs_encode(big, sizeof big, enc, sizeof enc), 255);
    ck_assert_uint_eq(enc[0], 0xFF);
}
END_TEST

START_TEST(cobs_rejects_invalid)
{
    uint8_t out[16];
    /* A zero byte inside the encoding. */
    ck_assert_int_eq(cobs_decode((const uint8_t *)"\x03\x11\x00", 3, out, sizeof out), -1);
    /* Code byte pointing past the end. */
    ck_assert_int_eq(cobs_decode((const uint8_t *)"\x05\x11\x22", 3, out, sizeof out), -1);
    /* Leading zero code. */
    ck_assert_int_eq(cobs_decode((const uint8_t *)"\x00", 1, out, sizeof out), -1);
    /* Output does not fit. */
    ck_assert_int_eq(cobs_decode((const uint8_t *)"\x03\x11\x22\x02\x33", 5, out, 3), -1);
    ck_assert_int_eq(cobs_decode((const uint8_t *)"\x03\x11\x22\x02\x33", 5, out, 4), 4);
    /* Encoder: capacity below the worst case is refused. */
    ck_assert_uint_eq(cobs_encode((const uint8_t *)"\x11\x22", 2, out, 2), 0);
}
END_TEST

START_TEST(cobs_decode_fuzz_never_overflows)
{
    /* Random inputs: result is -1 or a length that fits. */
    uint8_t in[64], out[40];
    for (uint32_t seed = 1; seed < 5000; seed++) {
        fill(in, sizeof in, seed, 50);
        size_t n = seed % sizeof in;
        long d = cobs_decode(in, n, out, sizeof out);
        ck_assert(d == -1 || (d >= 0 && (size_t)d <= sizeof out));
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("crc_cobs");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, crc16_check_value);
    tcase_add_test(tc, crc32_check_value);
    tcase_add_test(tc, crc_chaining_equals_one_shot);
    tcase_add_test(tc, cobs_round_trip_sizes);
    tcase_add_test(tc, cobs_known_encodings);
    tcase_add_test(tc, cobs_rejects_invalid);
    tcase_add_test(tc, cobs_decode_fuzz_never_overflows);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return golden_run_suite(suite(), argc, argv);
}
