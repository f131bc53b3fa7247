/* Sensor-head codec: control payloads, stream blocks, calibration math and
 * stream continuity. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/crc.h"
#include "golden.h"
#include "protocol/sensor.h"

/* ---- the values behind fixtures/golden/sh_*.hex (see make_fixtures.py) ---- */

static struct sh_identity golden_identity(void)
{
    struct sh_identity id;
    memset(&id, 0, sizeof id);
    id.protocol_version = SH_PROTOCOL_VERSION;
    id.hw_revision = 2;
    id.fw_major = 2;
    id.fw_minor = 1;
    id.fw_patch = 0;
    id.channels = SH_CHANNELS;
    id.max_rate_hz = 100000;
    strcpy(id.model, "SH-FD-100");
    strcpy(id.serial, "SH2610000017");
    id.force_full_scale_un = 20000000;
    id.disp_full_scale_nm = 5000000;
    return id;
}

static struct sh_calibration golden_cal(void)
{
    struct sh_calibration c;
    memset(&c, 0, sizeof c);
    c.force_gain_ppm = 1002350;
    c.force_offset_un = -1250;
    c.disp_gain_ppm = 998700;
    c.disp_offset_nm = 340;
    c.cal_date = 20261002;
    c.due_date = 20270402;
    strcpy(c.certificate, "CAL-2026-1187");
    return c;
}

static struct sh_status golden_status(void)
{
    struct sh_status s;
    memset(&s, 0, sizeof s);
    s.flags = SH_STAT_STREAMING | SH_STAT_TARGET_PRESENT | SH_STAT_CAL_VALID;
    s.rate_hz = 50000;
    s.blocks_sent = 1234;
    s.overruns = 0;
    s.tare_offset_un = -5120;
    s.temperature_cdeg = 2875;
    return s;
}

static const int32_t golden_force[4] = { 612000, 598500, -1200, 0 };
static const int32_t golden_disp[4] = { 1480250, 1481000, SH_NO_TARGET, -2500 };

static struct sh_block_header golden_header(void)
{
    struct sh_block_header h;
    memset(&h, 0, sizeof h);
    h.flags = SH_BLK_NO_TARGET;
    h.seq = 7;
    h.first_sample = 3500;
    h.rate_hz = 50000;
    h.count = 4;
    return h;
}

/* ---- control payloads ---- */

START_TEST(identity_golden)
{
    uint8_t want[64], got[64];
    size_t wn = golden_load("sh_identity", want, sizeof want);
    ck_assert_uint_eq(wn, SH_IDENTITY_SIZE);
    struct sh_identity id = golden_identity();
    ck_assert_int_eq(sh_identity_encode(&id, got, sizeof got), SH_IDENTITY_SIZE);
    ck_assert_mem_eq(got, want, wn);
    struct sh_identity d;
    ck_assert_int_eq(sh_identity_decode(want, wn, &d), SH_OK);
    ck_assert_str_eq(d.model, "SH-FD-100");
    ck_assert_str_eq(d.serial, "SH2610000017");
    ck_assert_uint_eq(d.max_rate_hz, 100000);
    ck_assert_uint_eq(d.force_full_scale_un, 20000000);
    ck_assert_uint_eq(d.disp_full_scale_nm, 5000000);
    ck_assert_uint_eq(d.fw_major, 2);
    ck_assert_uint_eq(d.fw_minor, 1);
}
END_TEST

START_TEST(calibration_golden)
{
    uint8_t want[64], got[64];
    size_t wn = golden_load("sh_calibration", want, sizeof want);
    ck_assert_uint_eq(wn, SH_CALIBRATION_SIZE);
    struct sh_calibration c = golden_cal();
    ck_assert_int_eq(sh_calibration_encode(&c, got, sizeof got), SH_CALIBRATION_SIZE);
    ck_assert_mem_eq(got, want, wn);
    struct sh_calibration d;
    ck_assert_int_eq(sh_calibration_decode(want, wn, &d), SH_OK);
    ck_assert_int_eq(d.force_gain_ppm, 1002350);
    ck_assert_int_eq(d.force_offset_un, -1250);
    ck_assert_int_eq(d.disp_gain_ppm, 998700);
    ck_assert_int_eq(d.disp_offset_nm, 340);
    ck_assert_uint_eq(d.cal_date, 20261002);
    ck_assert_uint_eq(d.due_date, 20270402);
    ck_assert_str_eq(d.certificate, "CAL-2026-1187");
}
END_TEST

START_TEST(status_golden)
{
    uint8_t want[64], got[64];
    size_t wn = golden_load("sh_status", want, sizeof want);
    ck_assert_uint_eq(wn, SH_STATUS_SIZE);
    struct sh_status s = golden_status();
    ck_assert_int_eq(sh_status_encode(&s, got, sizeof got), SH_STATUS_SIZE);
    ck_assert_mem_eq(got, want, wn);
    struct sh_status d;
    ck_assert_int_eq(sh_status_decode(want, wn, &d), SH_OK);
    ck_assert_uint_eq(d.flags, 7);
    ck_assert_uint_eq(d.rate_hz, 50000);
    ck_assert_uint_eq(d.blocks_sent, 1234);
    ck_assert_int_eq(d.tare_offset_un, -5120);
    ck_assert_int_eq(d.temperature_cdeg, 2875);
}
END_TEST

/* Patch bytes of a golden control payload and decode it with dec. */

static int patched(const char *golden, size_t off, const void *bytes, size_t n,
                   int (*dec)(const uint8_t *, size_t, void *))
{
    uint8_t buf[64];
    size_t len = golden_load(golden, buf, sizeof buf);
    ck_assert_uint_le(off + n, len);
    memcpy(buf + off, bytes, n);
    union {
        struct sh_identity id;
        struct sh_calibration cal;
        struct sh_status st;
    } out;
    return dec(buf, len, &out);
}

static int dec_id(const uint8_t *b, size_t n, void *o)
{
    return sh_identity_decode(b, n, o);
}
static int dec_cal(const uint8_t *b, size_t n, void *o)
{
    return sh_calibration_decode(b, n, o);
}
static int dec_st(const uint8_t *b, size_t n, void *o)
{
    return sh_status_decode(b, n, o);
}

START_TEST(control_payload_errors)
{
    uint8_t buf[64];
    struct sh_identity id;
    struct sh_calibration cal;
    struct sh_status st;
    size_t n = golden_load("sh_identity", buf, sizeof buf);
    ck_assert_int_eq(sh_identity_decode(buf, n - 1, &id), SH_E_SHORT);
    ck_assert_int_eq(sh_identity_decode(buf, n + 1, &id), SH_E_LENGTH);
    ck_assert_int_eq(sh_calibration_decode(buf, 39, &cal), SH_E_SHORT);
    ck_assert_int_eq(sh_status_decode(buf, 25, &st), SH_E_LENGTH);

    ck_assert_int_eq(patched("sh_identity", 0, "\x02", 1, dec_id), SH_E_VERSION);
    ck_assert_int_eq(patched("sh_identity", 5, "\x03", 1, dec_id), SH_E_RANGE); /* channels */
    ck_assert_int_eq(patched("sh_identity", 6, "\x01", 1, dec_id), SH_E_RANGE); /* reserved */
    ck_assert_int_eq(patched("sh_identity", 8, "\xe7\x03\x00\x00", 4, dec_id), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_identity", 12, "\x1f", 1, dec_id), SH_E_RANGE); /* ctrl char */
    ck_assert_int_eq(patched("sh_identity", 27, "Z", 1, dec_id), SH_E_RANGE);    /* after NUL */
    ck_assert_int_eq(patched("sh_identity", 28, "\x00", 1, dec_id), SH_E_RANGE); /* no serial */
    ck_assert_int_eq(patched("sh_identity", 44, "\x00\x00\x00\x00", 4, dec_id), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_identity", 48, "\x00\x00\x00\x80", 4, dec_id), SH_E_RANGE);

    ck_assert_int_eq(patched("sh_calibration", 0, "\x00\x00\x00\x00", 4, dec_cal), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_calibration", 8, "\x81\x84\x1e\x00", 4, dec_cal), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_calibration", 4, "\x7f\x69\x67\xff", 4, dec_cal), SH_E_RANGE);
    /* 20260230 is not a date; 20280229 is (leap year), 20270229 is not. */
    uint8_t d[4] = { 0x9e, 0x2c, 0x35, 0x01 }; /* 20260230 */
    ck_assert_int_eq(patched("sh_calibration", 16, d, 4, dec_cal), SH_E_RANGE);
    uint32_t leap = 20280229, nonleap = 20270229, early = 20261001;
    ck_assert_int_eq(patched("sh_calibration", 20, &leap, 4, dec_cal), SH_OK);
    ck_assert_int_eq(patched("sh_calibration", 20, &nonleap, 4, dec_cal), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_calibration", 20, &early, 4, dec_cal), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_calibration", 24, "\t", 1, dec_cal), SH_E_RANGE);

    ck_assert_int_eq(patched("sh_status", 0, "\x10", 1, dec_st), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_status", 1, "\x01", 1, dec_st), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_status", 4, "\x00\x00\x00\x00", 4, dec_st), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_status", 20, "\x00\x00\x00\x01", 4, dec_st), SH_E_RANGE);
    ck_assert_int_eq(patched("sh_status", 2, "\x60\xf0", 2, dec_st), SH_OK); /* -40.00 C */
    ck_assert_int_eq(patched("sh_status", 2, "\x5f\xf0", 2, dec_st), SH_E_RANGE);
}
END_TEST

START_TEST(control_encoders_validate)
{
    uint8_t buf[64];
    struct sh_identity id = golden_identity();
    ck_assert_int_eq(sh_identity_encode(&id, buf, SH_IDENTITY_SIZE - 1), SH_E_ARG);
    id.channels = 1;
    ck_assert_int_eq(sh_identity_encode(&id, buf, sizeof buf), SH_E_RANGE);
    id = golden_identity();
    id.model[0] = '\x7f';
    ck_assert_int_eq(sh_identity_encode(&id, buf, sizeof buf), SH_E_RANGE);

    struct sh_calibration c = golden_cal();
    c.due_date = c.cal_date;
    ck_assert_int_eq(sh_calibration_encode(&c, buf, sizeof buf), SH_E_RANGE);
    c = golden_cal();
    ck_assert_int_eq(sh_calibration_encode(&c, buf, SH_CALIBRATION_SIZE - 1), SH_E_ARG);
    ck_assert_int_eq(sh_calibration_encode(NULL, buf, sizeof buf), SH_E_ARG);

    struct sh_status s = golden_status();
    s.rate_hz = SH_RATE_MAX + 1;
    ck_assert_int_eq(sh_status_encode(&s, buf, sizeof buf), SH_E_RANGE);
    s = golden_status();
    ck_assert_int_eq(sh_status_encode(&s, buf, SH_STATUS_SIZE - 1), SH_E_ARG);
}
END_TEST

/* ---- stream block ---- */

START_TEST(block_golden)
{
    uint8_t want[128], got[128];
    size_t wn = golden_load("sh_block", want, sizeof want);
    ck_assert_uint_eq(wn, SH_BLOCK_HEADER_SIZE + 4 * 8 + SH_BLOCK_CRC_SIZE);
    struct sh_block_header h = golden_header();
    ck_assert_int_eq(sh_block_encode(&h, golden_force, golden_disp, got, sizeof got), (int)wn);
    ck_assert_mem_eq(got, want, wn);

    struct sh_block_header d;
    ck_assert_int_eq(sh_block_decode(want, wn, &d), SH_OK);
    ck_assert_uint_eq(d.magic, SH_BLOCK_MAGIC);
    ck_assert_uint_eq(d.version, SH_PROTOCOL_VERSION);
    ck_assert_uint_eq(d.channels, SH_CHANNELS);
    ck_assert_uint_eq(d.header_size, SH_BLOCK_HEADER_SIZE);
    ck_assert_uint_eq(d.flags, SH_BLK_NO_TARGET);
    ck_assert_uint_eq(d.seq, 7);
    ck_assert_uint_eq(d.first_sample, 3500);
    ck_assert_uint_eq(d.rate_hz, 50000);
    ck_assert_uint_eq(d.count, 4);
    int32_t f[4], x[4];
    sh_block_samples(want, &d, f, x);
    ck_assert_mem_eq(f, golden_force, sizeof f);
    ck_assert_mem_eq(x, golden_disp, sizeof x);
}
END_TEST

START_TEST(block_round_trip_extremes)
{
    static int32_t f[SH_MAX_SAMPLES], x[SH_MAX_SAMPLES], f2[SH_MAX_SAMPLES], x2[SH_MAX_SAMPLES];
    static uint8_t buf[SH_BLOCK_MAX_SIZE];
    for (int i = 0; i < SH_MAX_SAMPLES; i++) {
        f[i] = (i % 3 == 0) ? INT32_MIN : (i % 3 == 1) ? INT32_MAX : -i * 1000;
        x[i] = (i % 5 == 0) ? SH_OUT_OF_RANGE : i * 777;
    }
    static const uint16_t counts[] = { 1, 2, 500, SH_MAX_SAMPLES };
    for (size_t k = 0; k < 4; k++) {
        struct sh_block_header h = { 0 };
        h.flags = SH_BLK_KNOWN;
        h.seq = 0xFFFFFFFFu;
        h.first_sample = UINT64_MAX - counts[k];
        h.rate_hz = k % 2 ? SH_RATE_MIN : SH_RATE_MAX;
        h.count = counts[k];
        int n = sh_block_encode(&h, f, x, buf, sizeof buf);
        ck_assert_int_eq(n, SH_BLOCK_HEADER_SIZE + counts[k] * 8 + SH_BLOCK_CRC_SIZE);
        ck_assert_int_le(n, SH_BLOCK_MAX_SIZE);
        struct sh_block_header d;
        ck_assert_int_eq(sh_block_decode(buf, (size_t)n, &d), SH_OK);
        ck_assert_uint_eq(d.seq, h.seq);
        ck_assert_uint_eq(d.first_sample, h.first_sample);
        ck_assert_uint_eq(d.rate_hz, h.rate_hz);
        ck_assert_uint_eq(d.flags, h.flags);
        ck_assert_uint_eq(d.count, h.count);
        sh_block_samples(buf, &d, f2, x2);
        ck_assert_mem_eq(f2, f, counts[k] * sizeof f[0]);
        ck_assert_mem_eq(x2, x, counts[k] * sizeof x[0]);
    }
    ck_assert_int_le(SH_BLOCK_MAX_SIZE, SH_TRANSFER_SIZE);
}
END_TEST

/* Loads the golden block, applies a patch, optionally refreshes the CRC so
 * the patch is seen by the field checks rather than as corruption. */
static int block_patched(size_t off, const void *bytes, size_t n, size_t len_delta_neg,
                         bool fix_crc)
{
    uint8_t buf[128];
    size_t len = golden_load("sh_block", buf, sizeof buf);
    if (n)
        memcpy(buf + off, bytes, n);
    len -= len_delta_neg;
    if (fix_crc) {
        uint32_t crc = crc32_ieee(0, buf, len - 4);
        for (int i = 0; i < 4; i++)
            buf[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    struct sh_block_header h;
    return sh_block_decode(buf, len, &h);
}

START_TEST(block_errors)
{
    uint8_t buf[128];
    struct sh_block_header h;
    size_t len = golden_load("sh_block", buf, sizeof buf);
    ck_assert_int_eq(sh_block_decode(buf, 31, &h), SH_E_SHORT);
    ck_assert_int_eq(sh_block_decode(buf, 0, &h), SH_E_SHORT);
    ck_assert_int_eq(block_patched(0, NULL, 0, 0, false), SH_OK);
    ck_assert_int_eq(block_patched(0, "SHB2", 4, 0, true), SH_E_MAGIC);
    ck_assert_int_eq(block_patched(4, "\x02", 1, 0, true), SH_E_VERSION);
    ck_assert_int_eq(block_patched(7, "\x20", 1, 0, true), SH_E_LENGTH);      /* header_size */
    ck_assert_int_eq(block_patched(24, "\x05\x00", 2, 0, true), SH_E_LENGTH); /* count 5 */
    ck_assert_int_eq(block_patched(24, "\x03\x00", 2, 0, true), SH_E_LENGTH); /* count 3 */
    ck_assert_int_eq(sh_block_decode(buf, len - 1, &h), SH_E_LENGTH);
    ck_assert_int_eq(sh_block_decode(buf, len - 8, &h), SH_E_LENGTH);
    /* Count 3 and length shortened by one sample: consistent, CRC decides. */
    ck_assert_int_eq(block_patched(24, "\x03\x00", 2, 8, true), SH_OK);
    /* Corruption anywhere CRC-covered. */
    for (size_t i = 8; i < len; i++) {
        if (i == 24 || i == 25)
            continue; /* count: caught as length first */
        uint8_t x = buf[i] ^ 0x10;
        ck_assert_int_eq(block_patched(i, &x, 1, 0, false), SH_E_CRC);
    }
    /* Field ranges behind a valid CRC. */
    ck_assert_int_eq(block_patched(6, "\x03", 1, 0, true), SH_E_RANGE);              /* channels */
    ck_assert_int_eq(block_patched(5, "\x20", 1, 0, true), SH_E_RANGE);              /* flags */
    ck_assert_int_eq(block_patched(20, "\xe7\x03\x00\x00", 4, 0, true), SH_E_RANGE); /* 999 Hz */
    ck_assert_int_eq(block_patched(20, "\xa1\x86\x01\x00", 4, 0, true), SH_E_RANGE); /* 100001 */
    ck_assert_int_eq(block_patched(26, "\x01\x00", 2, 0, true), SH_E_RANGE);         /* reserved */
    /* count 0 with a header-only length. */
    ck_assert_int_eq(block_patched(24, "\x00\x00", 2, 32, true), SH_E_RANGE);
}
END_TEST

START_TEST(block_encoder_validates)
{
    static int32_t f[SH_MAX_SAMPLES + 1], x[SH_MAX_SAMPLES + 1];
    static uint8_t buf[SH_BLOCK_MAX_SIZE + 8];
    struct sh_block_header h = golden_header();
    h.count = 0;
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, sizeof buf), SH_E_RANGE);
    h.count = SH_MAX_SAMPLES + 1;
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, sizeof buf), SH_E_RANGE);
    h = golden_header();
    h.rate_hz = SH_RATE_MIN - 1;
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, sizeof buf), SH_E_RANGE);
    h = golden_header();
    h.flags = 0x80;
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, sizeof buf), SH_E_RANGE);
    h = golden_header();
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, 63), SH_E_ARG);
    ck_assert_int_eq(sh_block_encode(&h, f, x, buf, 64), 64);
    ck_assert_int_eq(sh_block_encode(&h, NULL, x, buf, sizeof buf), SH_E_ARG);
}
END_TEST

/* ---- calibration math ---- */

START_TEST(calibration_math)
{
    struct sh_calibration c = golden_cal();
    c.force_gain_ppm = 1000000;
    c.force_offset_un = 0;
    ck_assert_int_eq(sh_cal_force(&c, 123456), 123456);
    ck_assert_int_eq(sh_cal_force(&c, -123456), -123456);
    /* 1.5x with rounding half away from zero: 3 * 1.5 = 4.5 -> 5. */
    c.force_gain_ppm = 1500000;
    ck_assert_int_eq(sh_cal_force(&c, 3), 5);
    ck_assert_int_eq(sh_cal_force(&c, -3), -5);
    ck_assert_int_eq(sh_cal_force(&c, 1000), 1500);
    c.force_offset_un = -200;
    ck_assert_int_eq(sh_cal_force(&c, 1000), 1300);
    /* Saturation. */
    c.force_gain_ppm = 2000000;
    ck_assert_int_eq(sh_cal_force(&c, INT32_MAX), INT32_MAX);
    ck_assert_int_eq(sh_cal_force(&c, INT32_MIN), INT32_MIN);
    /* Golden calibration on a typical reading. */
    c = golden_cal();
    ck_assert_int_eq(sh_cal_force(&c, 600000), 600160); /* 601410 - 1250 */
    /* A tared sample: the tare replaced the zero offset (SENSOR.md 3.2). */
    ck_assert_int_eq(sh_cal_force_tared(&c, 600000, true), 601410);
    ck_assert_int_eq(sh_cal_force_tared(&c, 600000, false), 600160);
    ck_assert_int_eq(sh_cal_force_tared(&c, 0, true), 0); /* zero at the tare */
    ck_assert_int_eq(sh_cal_disp(&c, 1500000), 1498390);  /* 1498050 + 340 */
    /* Special displacement codes pass through; real values never become one. */
    ck_assert_int_eq(sh_cal_disp(&c, SH_NO_TARGET), SH_NO_TARGET);
    ck_assert_int_eq(sh_cal_disp(&c, SH_OUT_OF_RANGE), SH_OUT_OF_RANGE);
    c.disp_gain_ppm = 2000000;
    c.disp_offset_nm = -10000000;
    ck_assert_int_eq(sh_cal_disp(&c, INT32_MIN + 2), INT32_MIN + 2);
    ck_assert_int_eq(sh_cal_disp(&c, INT32_MAX), INT32_MAX);
}
END_TEST

/* ---- continuity ---- */

static struct sh_block_header hdr_at(uint32_t seq, uint64_t first, uint16_t count, uint8_t flags)
{
    struct sh_block_header h = golden_header();
    h.seq = seq;
    h.first_sample = first;
    h.count = count;
    h.flags = flags;
    return h;
}

START_TEST(continuity_sequence)
{
    struct sh_stream s;
    sh_stream_reset(&s);
    struct sh_block_header h;
    h = hdr_at(0, 0, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_FIRST);
    h = hdr_at(1, 100, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    /* Repeat of the same block, and an older one. */
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_REPEAT);
    h = hdr_at(0, 0, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_REPEAT);
    /* Two blocks lost. */
    h = hdr_at(4, 400, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_GAP);
    /* Device overrun: seq continues, samples skipped. */
    h = hdr_at(5, 530, 100, SH_BLK_OVERRUN);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OVERRUN);
    h = hdr_at(6, 630, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    /* Right seq but samples going backwards: cannot be placed, dropped. */
    h = hdr_at(7, 700, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_REPEAT);
    h = hdr_at(7, 730, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    sh_stream_bad_block(&s);

    ck_assert_uint_eq(s.stats.blocks, 6);
    ck_assert_uint_eq(s.stats.samples, 600);
    ck_assert_uint_eq(s.stats.lost_blocks, 2);
    ck_assert_uint_eq(s.stats.repeated_blocks, 3);
    ck_assert_uint_eq(s.stats.lost_samples, 200 + 30);
    ck_assert_uint_eq(s.stats.overruns, 1);
    ck_assert_uint_eq(s.stats.bad_blocks, 1);

    sh_stream_reset(&s);
    ck_assert_uint_eq(s.stats.blocks, 0);
    h = hdr_at(900, 90000, 100, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_FIRST);
}
END_TEST

START_TEST(continuity_wraps_at_2_32)
{
    struct sh_stream s;
    sh_stream_reset(&s);
    uint64_t first = 5000000000ull;
    struct sh_block_header h = hdr_at(0xFFFFFFFEu, first, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_FIRST);
    h = hdr_at(0xFFFFFFFFu, first + 10, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    h = hdr_at(0, first + 20, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    /* An old block from before the wrap is a repeat, not a huge gap. */
    h = hdr_at(0xFFFFFFFFu, first + 10, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_REPEAT);
    h = hdr_at(1, first + 30, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_OK);
    /* Gap across the wrap. */
    sh_stream_reset(&s);
    h = hdr_at(0xFFFFFFFFu, 0, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_FIRST);
    h = hdr_at(2, 30, 10, 0);
    ck_assert_int_eq(sh_stream_check(&s, &h), SH_CONT_GAP);
    ck_assert_uint_eq(s.stats.lost_blocks, 2);
    ck_assert_uint_eq(s.stats.lost_samples, 20);
}
END_TEST

START_TEST(result_strings)
{
    for (int r = SH_E_ARG; r <= SH_OK; r++)
        ck_assert_str_ne(sh_result_str(r), "unknown result");
    ck_assert_str_eq(sh_result_str(5), "unknown result");
    for (int e = SH_ERR_NONE; e <= SH_ERR_BAD_CALIBRATION; e++)
        ck_assert_str_ne(sh_error_str((uint8_t)e), "unknown error");
    ck_assert_str_eq(sh_error_str(200), "unknown error");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sensor");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, identity_golden);
    tcase_add_test(tc, calibration_golden);
    tcase_add_test(tc, status_golden);
    tcase_add_test(tc, control_payload_errors);
    tcase_add_test(tc, control_encoders_validate);
    tcase_add_test(tc, block_golden);
    tcase_add_test(tc, block_round_trip_extremes);
    tcase_add_test(tc, block_errors);
    tcase_add_test(tc, block_encoder_validates);
    tcase_add_test(tc, calibration_math);
    tcase_add_test(tc, continuity_sequence);
    tcase_add_test(tc, continuity_wraps_at_2_32);
    tcase_add_test(tc, result_strings);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return golden_run_suite(suite(), argc, argv);
}
