/* conform_sensor: the sensor-head emulator against SENSOR.md, with plain
 * libusb control transfers whose setup packets and data stages are built
 * here from the document (request table of section 2, payloads of
 * section 3, block layout of section 4). Run as
 * `rigsim -- conform_sensor SCENARIO` (tests/sim/meson.build).
 */
#include <stdio.h>
#include <string.h>

#include <libusb.h>

#include "conform.h"

/* Section 1 and 2. */
enum {
    SD_VID = 0x1209,
    SD_PID = 0x5348,
    SD_INTERFACE = 0,
    SD_EP_STREAM = 0x81,
    SD_IN = 0xC1,
    SD_OUT = 0x41,
};
enum {
    SD_GET_IDENTITY = 0x01,
    SD_SET_RATE = 0x02,
    SD_START = 0x03,
    SD_STOP = 0x04,
    SD_TARE = 0x05,
    SD_GET_CAL = 0x06,
    SD_SET_CAL = 0x07,
    SD_GET_STATUS = 0x08,
    SD_GET_ERROR = 0x09,
};
enum {
    SD_E_NONE,
    SD_E_UNKNOWN_REQUEST,
    SD_E_BAD_LENGTH,
    SD_E_OUT_OF_RANGE,
    SD_E_BUSY,
    SD_E_NOT_STREAMING,
    SD_E_BAD_CALIBRATION,
};
#define SD_STAT_STREAMING 0x01u
#define SD_STAT_CAL_VALID 0x04u
#define SD_STAT_TARED     0x08u

/* The request table of section 2. */
static const struct sd_req {
    const char *name;
    uint8_t request, request_type;
    uint16_t length, max_value;
} sd_table[] = {
    { "GET_IDENTITY", SD_GET_IDENTITY, SD_IN, 52, 0 },
    { "SET_RATE", SD_SET_RATE, SD_OUT, 4, 0 },
    { "START", SD_START, SD_OUT, 0, 2000 },
    { "STOP", SD_STOP, SD_OUT, 0, 0 },
    { "TARE", SD_TARE, SD_OUT, 0, 0 },
    { "GET_CAL", SD_GET_CAL, SD_IN, 40, 0 },
    { "SET_CAL", SD_SET_CAL, SD_OUT, 40, 0 },
    { "GET_STATUS", SD_GET_STATUS, SD_IN, 24, 0 },
    { "GET_ERROR", SD_GET_ERROR, SD_IN, 1, 0 },
};
#define SD_NREQ (sizeof sd_table / sizeof sd_table[0])

/* Section 6: the golden calibration record. */
static const char golden_cal[] = "6e 4b 0f 00 1e fb ff ff 2c 3d 0f 00 54 01 00 00 "
                                 "8a 28 35 01 42 4d 35 01 43 41 4c 2d 32 30 32 36 "
                                 "2d 31 31 38 37 00 00 00";

struct sdev {
    libusb_context *ctx;
    libusb_device_handle *h;
};

static void sd_close(struct sdev *d)
{
    if (d->h) {
        (void)libusb_release_interface(d->h, SD_INTERFACE);
        libusb_close(d->h);
    }
    if (d->ctx)
        libusb_exit(d->ctx);
    memset(d, 0, sizeof *d);
}

static bool sd_open(struct ct *t, struct sdev *d)
{
    memset(d, 0, sizeof *d);
    bool ok = libusb_init(&d->ctx) == 0 &&
              (d->h = libusb_open_device_with_vid_pid(d->ctx, SD_VID, SD_PID)) != NULL &&
              libusb_claim_interface(d->h, SD_INTERFACE) == 0;
    CT_CHECK(t, ok, "sensor head %04x:%04x not found or not claimable", SD_VID, SD_PID);
    if (!ok)
        sd_close(d);
    return ok;
}

static int sd_ctrl(struct sdev *d, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                   uint8_t *data, uint16_t len)
{
    return libusb_control_transfer(d->h, type, req, value, index, data, len, 1000);
}

/* GET_ERROR (which also resets it); -1 if that failed. */
static int sd_error(struct sdev *d)
{
    uint8_t e = 0xEE;
    return sd_ctrl(d, SD_IN, SD_GET_ERROR, 0, 0, &e, 1) == 1 ? e : -1;
}

/* A request that must be STALLed with code want. */
static void sd_refused(struct ct *t, struct sdev *d, const char *what, uint8_t type, uint8_t req,
                       uint16_t value, uint16_t index, uint8_t *data, uint16_t len, int want)
{
    int r = sd_ctrl(d, type, req, value, index, data, len);
    int e = sd_error(d);
    CT_CHECK(t, r == LIBUSB_ERROR_PIPE && e == want, "%s: want STALL + error %d, got %s / %d", what,
             want, r >= 0 ? "answered" : libusb_error_name(r), e);
}

static bool sd_status(struct sdev *d, uint8_t st[24])
{
    return sd_ctrl(d, SD_IN, SD_GET_STATUS, 0, 0, st, 24) == 24;
}

static uint8_t sd_flags(struct sdev *d)
{
    uint8_t st[24];
    return sd_status(d, st) ? st[0] : 0xFF;
}

static uint32_t sd_rate(struct sdev *d)
{
    uint8_t st[24];
    return sd_status(d, st) ? ct_get32(st + 4) : 0;
}

static int sd_set_rate(struct sdev *d, uint32_t rate)
{
    uint8_t b[4];
    ct_put32(b, rate);
    return sd_ctrl(d, SD_OUT, SD_SET_RATE, 0, 0, b, 4);
}

/* Valid data for an OUT request of the table (only SET_RATE and SET_CAL
 * carry any), so that only the field under test is wrong. */
static void valid_data(uint8_t req, uint8_t *buf, size_t cap)
{
    memset(buf, 0, cap);
    if (req == SD_SET_RATE)
        ct_put32(buf, 20000);
    else if (req == SD_SET_CAL)
        (void)ct_hex(golden_cal, buf, cap);
}

/* Section 4.2: CRC-32/ISO-HDLC, reflected poly 0xEDB88320, bit by bit. */
static uint32_t sd_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---------------------------------------------------------------- */

static void check_block(struct ct *t, const uint8_t *b, int n, uint32_t rate, uint16_t count)
{
    CT_REQUIRE(t, n >= 32, "block of %d bytes", n);
    uint16_t c = ct_get16(b + 24);
    CT_CHECK(t, memcmp(b, "SHB1", 4) == 0 && b[4] == 1 && b[6] == 2 && b[7] == 28,
             "block magic/version/channels/header_size");
    CT_CHECK(t, n == 32 + 8 * c && c == count, "block of %d bytes, count %u (want %u)", n, c,
             count);
    CT_CHECK(t, ct_get32(b + 8) == 0 && ct_get32(b + 12) == 0 && ct_get32(b + 16) == 0,
             "first block after START: seq and first_sample 0");
    CT_CHECK(t, ct_get32(b + 20) == rate && ct_get16(b + 26) == 0 && (b[5] & 0xE0) == 0,
             "rate %u, reserved %u, flags 0x%02x", ct_get32(b + 20), ct_get16(b + 26), b[5]);
    CT_CHECK(t, sd_crc32(b, (size_t)n - 4) == ct_get32(b + n - 4), "block CRC");
}

/* Sections 3 and 6: the golden vectors, and the live device's payloads. */
static void sh_golden(struct ct *t)
{
    CT_CHECK(t, sd_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u, "CRC-32 check value");
    uint8_t blk[96];
    size_t bn = ct_hex("53 48 42 31 01 02 02 1c 07 00 00 00 ac 0d 00 00 00 00 00 00 50 c3 00 00 "
                       "04 00 00 00 a0 56 09 00 3a 96 16 00 e4 21 09 00 28 99 16 00 50 fb ff ff "
                       "00 00 00 80 00 00 00 00 3c f6 ff ff 66 e8 e0 30",
                       blk, sizeof blk);
    CT_CHECK(t, bn == 64 && sd_crc32(blk, 60) == 0x30e0e866u, "golden block CRC");

    struct sdev d;
    CT_REQUIRE(t, sd_open(t, &d), "open");
    uint8_t id[52], cal[40], want[40], st[24];
    CT_REQUIRE(t, sd_ctrl(&d, SD_IN, SD_GET_IDENTITY, 0, 0, id, 52) == 52, "GET_IDENTITY");
    uint32_t max_rate = ct_get32(id + 8);
    CT_CHECK(t, id[0] == 1 && id[5] == 2 && ct_get16(id + 6) == 0, "version/channels/reserved");
    CT_CHECK(t, max_rate >= 1000 && max_rate <= 100000, "max_rate_hz %u", max_rate);
    CT_CHECK(t, id[12] >= 0x20 && id[28] >= 0x20, "model/serial empty");
    CT_CHECK(t, ct_get32(id + 44) >= 1 && ct_get32(id + 48) >= 1, "full scales");

    (void)ct_hex(golden_cal, want, sizeof want);
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_SET_CAL, 0, 0, want, 40) == 40, "SET_CAL golden record");
    CT_CHECK(t, sd_ctrl(&d, SD_IN, SD_GET_CAL, 0, 0, cal, 40) == 40 && memcmp(cal, want, 40) == 0,
             "GET_CAL does not return the record just written");
    CT_REQUIRE(t, sd_status(&d, st), "GET_STATUS");
    CT_CHECK(t,
             (st[0] & SD_STAT_CAL_VALID) && (st[0] & 0xF0) == 0 && st[1] == 0 &&
                 ct_get32(st + 20) == 0,
             "status flags 0x%02x reserved %u/%u", st[0], st[1], ct_get32(st + 20));

    /* one block of 10 frames at 1000 S/s */
    CT_REQUIRE(t, sd_set_rate(&d, 1000) == 4, "SET_RATE 1000");
    CT_REQUIRE(t, sd_ctrl(&d, SD_OUT, SD_START, 10, 0, NULL, 0) == 0, "START 10");
    static uint8_t buf[16384];
    int got = 0;
    int r = libusb_bulk_transfer(d.h, SD_EP_STREAM, buf, sizeof buf, &got, 2000);
    CT_CHECK(t, r == 0, "bulk read: %s", libusb_error_name(r));
    if (r == 0)
        check_block(t, buf, got, 1000, 10);
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_STOP, 0, 0, NULL, 0) == 0, "STOP");
    bool last = false;
    for (int i = 0; i < 20 && !last; i++)
        last = libusb_bulk_transfer(d.h, SD_EP_STREAM, buf, sizeof buf, &got, 500) == 0 &&
               got >= 32 && (buf[5] & 0x10);
    CT_CHECK(t, last, "no LAST block after STOP");
    sd_close(&d);
}

/* Section 2, errors: GET_ERROR reports the latest vendor request; every
 * successful one, IN or OUT, leaves NONE; standard requests leave it. */
static void sh_error_register(struct ct *t)
{
    struct sdev d;
    uint8_t buf[64];
    CT_REQUIRE(t, sd_open(t, &d), "open");
    static const struct {
        const char *name;
        uint8_t type, req;
        uint16_t len;
    } good[] = {
        { "GET_IDENTITY", SD_IN, SD_GET_IDENTITY, 52 }, { "GET_STATUS", SD_IN, SD_GET_STATUS, 24 },
        { "GET_CAL", SD_IN, SD_GET_CAL, 40 },           { "TARE", SD_OUT, SD_TARE, 0 },
        { "SET_RATE", SD_OUT, SD_SET_RATE, 4 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CT_CHECK(t, sd_ctrl(&d, SD_IN, 0x55, 0, 0, buf, 1) == LIBUSB_ERROR_PIPE, "0x55 answered");
        valid_data(good[i].req, buf, sizeof buf);
        int r = sd_ctrl(&d, good[i].type, good[i].req, 0, 0, buf, good[i].len);
        CT_CHECK(t, r == good[i].len, "%s: %d", good[i].name, r);
        int e = sd_error(&d);
        CT_CHECK(t, e == SD_E_NONE, "GET_ERROR after a successful %s: %d, want NONE", good[i].name,
                 e);
    }
    sd_refused(t, &d, "undefined 0x55", SD_IN, 0x55, 0, 0, buf, 1, SD_E_UNKNOWN_REQUEST);
    CT_CHECK(t, sd_error(&d) == SD_E_NONE, "GET_ERROR did not reset the register");

    CT_CHECK(t, sd_ctrl(&d, SD_IN, 0x55, 0, 0, buf, 1) == LIBUSB_ERROR_PIPE, "0x55 answered");
    CT_CHECK(t, libusb_get_descriptor(d.h, LIBUSB_DT_DEVICE, 0, buf, 18) == 18, "GET_DESCRIPTOR");
    CT_CHECK(t, sd_error(&d) == SD_E_UNKNOWN_REQUEST,
             "a standard request between changed the error register");

    CT_CHECK(t, sd_ctrl(&d, SD_IN, 0x55, 0, 0, buf, 1) == LIBUSB_ERROR_PIPE, "0x55 answered");
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_STOP, 0, 0, NULL, 0) == LIBUSB_ERROR_PIPE,
             "STOP while idle answered");
    CT_CHECK(t, sd_error(&d) == SD_E_NOT_STREAMING, "the latest refusal is not the one reported");

    /* a malformed GET_ERROR is refused like any request, with its own code */
    CT_CHECK(t, sd_ctrl(&d, SD_IN, 0x55, 0, 0, buf, 1) == LIBUSB_ERROR_PIPE, "0x55 answered");
    CT_CHECK(t, sd_ctrl(&d, SD_IN, SD_GET_ERROR, 0, 0, buf, 2) == LIBUSB_ERROR_PIPE,
             "GET_ERROR with wLength 2 answered");
    CT_CHECK(t, sd_error(&d) == SD_E_BAD_LENGTH, "refused GET_ERROR: code not BAD_LENGTH");
    sd_close(&d);
}

/* Section 2: wLength MUST equal the table's; any other is BAD_LENGTH and
 * has no effect. */
static void sh_lengths(struct ct *t)
{
    struct sdev d;
    static uint8_t buf[256];
    char what[64];
    CT_REQUIRE(t, sd_open(t, &d), "open");
    for (size_t i = 0; i < SD_NREQ; i++) {
        const struct sd_req *q = &sd_table[i];
        const int lens[] = { q->length + 1, q->length - 1, 64, 255 };
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            if (lens[k] < 0 || lens[k] == q->length)
                continue;
            valid_data(q->request, buf, sizeof buf);
            snprintf(what, sizeof what, "%s with wLength %d", q->name, lens[k]);
            sd_refused(t, &d, what, q->request_type, q->request, 0, 0, buf, (uint16_t)lens[k],
                       SD_E_BAD_LENGTH);
        }
    }
    CT_CHECK(t, sd_rate(&d) != 20000, "a SET_RATE of the wrong length took effect");
    CT_CHECK(t, !(sd_flags(&d) & SD_STAT_STREAMING), "a START of the wrong length took effect");
    sd_close(&d);
}

/* Section 2: wIndex 0 and wValue as in the table, else OUT_OF_RANGE; the
 * wrong direction, an undefined bRequest or another recipient is
 * UNKNOWN_REQUEST. */
static void sh_setup_fields(struct ct *t)
{
    struct sdev d;
    static uint8_t buf[256];
    char what[64];
    CT_REQUIRE(t, sd_open(t, &d), "open");
    for (size_t i = 0; i < SD_NREQ; i++) {
        const struct sd_req *q = &sd_table[i];
        valid_data(q->request, buf, sizeof buf);
        snprintf(what, sizeof what, "%s with wValue %u", q->name, q->max_value + 1u);
        sd_refused(t, &d, what, q->request_type, q->request, (uint16_t)(q->max_value + 1), 0, buf,
                   q->length, SD_E_OUT_OF_RANGE);
        static const uint16_t bad_index[] = { 1, 0x0100, 0x0081 };
        for (size_t k = 0; k < sizeof bad_index / sizeof bad_index[0]; k++) {
            valid_data(q->request, buf, sizeof buf);
            snprintf(what, sizeof what, "%s with wIndex 0x%04x", q->name, bad_index[k]);
            sd_refused(t, &d, what, q->request_type, q->request, 0, bad_index[k], buf, q->length,
                       SD_E_OUT_OF_RANGE);
        }
        uint8_t other = q->request_type == SD_IN ? SD_OUT : SD_IN;
        snprintf(what, sizeof what, "%s in the wrong direction", q->name);
        sd_refused(t, &d, what, other, q->request, 0, 0, buf, q->length, SD_E_UNKNOWN_REQUEST);
    }
    CT_CHECK(t, sd_rate(&d) != 20000, "a refused SET_RATE took effect");
    CT_CHECK(t, !(sd_flags(&d) & SD_STAT_STREAMING), "a refused START took effect");

    static const uint8_t undefined[] = { 0x00, 0x0A, 0x7F, 0xFF };
    for (size_t k = 0; k < sizeof undefined; k++) {
        snprintf(what, sizeof what, "undefined bRequest 0x%02x", undefined[k]);
        sd_refused(t, &d, what, SD_IN, undefined[k], 0, 0, buf, 1, SD_E_UNKNOWN_REQUEST);
    }
    sd_refused(t, &d, "GET_STATUS to the device (0xC0)", 0xC0, SD_GET_STATUS, 0, 0, buf, 24,
               SD_E_UNKNOWN_REQUEST);
    sd_refused(t, &d, "GET_STATUS to an endpoint (0xC2)", 0xC2, SD_GET_STATUS, 0, 0, buf, 24,
               SD_E_UNKNOWN_REQUEST);

    /* START's wValue: 0 and 1..2000 are fine */
    static const uint16_t frames[] = { 0, 1, 2000 };
    for (size_t k = 0; k < sizeof frames / sizeof frames[0]; k++) {
        CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_START, frames[k], 0, NULL, 0) == 0,
                 "START with wValue %u refused", frames[k]);
        sd_refused(t, &d, "STOP with wIndex 1", SD_OUT, SD_STOP, 0, 1, NULL, 0, SD_E_OUT_OF_RANGE);
        CT_CHECK(t, sd_flags(&d) & SD_STAT_STREAMING, "a refused STOP stopped the stream");
        CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_STOP, 0, 0, NULL, 0) == 0, "STOP");
    }
    sd_close(&d);
}

/* Section 2: the order of the checks decides the code when several apply:
 * request, length, setup fields, data, state. */
static void sh_precedence(struct ct *t)
{
    struct sdev d;
    uint8_t buf[64], bad_cal[40];
    CT_REQUIRE(t, sd_open(t, &d), "open");
    (void)ct_hex(golden_cal, bad_cal, sizeof bad_cal);
    memcpy(bad_cal + 20, bad_cal + 16, 4); /* due_date = cal_date: invalid (3.2) */

    sd_refused(t, &d, "undefined, wrong length and wIndex", SD_IN, 0x55, 1, 1, buf, 7,
               SD_E_UNKNOWN_REQUEST);
    ct_put32(buf, 999);
    sd_refused(t, &d, "SET_RATE: wLength 2, wValue 1, wIndex 1", SD_OUT, SD_SET_RATE, 1, 1, buf, 2,
               SD_E_BAD_LENGTH);
    sd_refused(t, &d, "SET_RATE 999 with wValue 1", SD_OUT, SD_SET_RATE, 1, 0, buf, 4,
               SD_E_OUT_OF_RANGE);
    sd_refused(t, &d, "invalid SET_CAL with wIndex 1", SD_OUT, SD_SET_CAL, 0, 1, bad_cal, 40,
               SD_E_OUT_OF_RANGE);
    sd_refused(t, &d, "invalid SET_CAL", SD_OUT, SD_SET_CAL, 0, 0, bad_cal, 40,
               SD_E_BAD_CALIBRATION);

    CT_REQUIRE(t, sd_set_rate(&d, 1000) == 4, "SET_RATE 1000");
    CT_REQUIRE(t, sd_ctrl(&d, SD_OUT, SD_START, 0, 0, NULL, 0) == 0, "START");
    ct_put32(buf, 999);
    sd_refused(t, &d, "streaming: SET_RATE 999", SD_OUT, SD_SET_RATE, 0, 0, buf, 4,
               SD_E_OUT_OF_RANGE);
    ct_put32(buf, 200000);
    sd_refused(t, &d, "streaming: SET_RATE 200000", SD_OUT, SD_SET_RATE, 0, 0, buf, 4,
               SD_E_OUT_OF_RANGE);
    ct_put32(buf, 2000);
    sd_refused(t, &d, "streaming: SET_RATE 2000", SD_OUT, SD_SET_RATE, 0, 0, buf, 4, SD_E_BUSY);
    sd_refused(t, &d, "streaming: SET_RATE of 3 bytes", SD_OUT, SD_SET_RATE, 0, 0, buf, 3,
               SD_E_BAD_LENGTH);
    sd_refused(t, &d, "streaming: invalid SET_CAL", SD_OUT, SD_SET_CAL, 0, 0, bad_cal, 40,
               SD_E_BAD_CALIBRATION);
    (void)ct_hex(golden_cal, buf, sizeof buf);
    sd_refused(t, &d, "streaming: valid SET_CAL", SD_OUT, SD_SET_CAL, 0, 0, buf, 40, SD_E_BUSY);
    sd_refused(t, &d, "streaming: START 2001", SD_OUT, SD_START, 2001, 0, NULL, 0,
               SD_E_OUT_OF_RANGE);
    sd_refused(t, &d, "streaming: START", SD_OUT, SD_START, 0, 0, NULL, 0, SD_E_BUSY);
    CT_CHECK(t, sd_rate(&d) == 1000, "rate changed while streaming");
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_STOP, 0, 0, NULL, 0) == 0, "STOP");
    sd_close(&d);
}

/* Section 2: while streaming everything but SET_RATE, START and SET_CAL is
 * served; STOP ends it, a second STOP is NOT_STREAMING. */
static void sh_streaming(struct ct *t)
{
    struct sdev d;
    uint8_t buf[64];
    CT_REQUIRE(t, sd_open(t, &d), "open");
    sd_refused(t, &d, "STOP before any START", SD_OUT, SD_STOP, 0, 0, NULL, 0, SD_E_NOT_STREAMING);
    CT_REQUIRE(t, sd_set_rate(&d, 1000) == 4, "SET_RATE 1000");
    CT_REQUIRE(t, sd_ctrl(&d, SD_OUT, SD_START, 0, 0, NULL, 0) == 0, "START");
    CT_CHECK(t, sd_flags(&d) & SD_STAT_STREAMING, "not STREAMING");
    CT_CHECK(t, sd_ctrl(&d, SD_IN, SD_GET_IDENTITY, 0, 0, buf, 52) == 52, "GET_IDENTITY");
    CT_CHECK(t, sd_ctrl(&d, SD_IN, SD_GET_CAL, 0, 0, buf, 40) == 40, "GET_CAL");
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_TARE, 0, 0, NULL, 0) == 0, "TARE");
    CT_CHECK(t, sd_error(&d) == SD_E_NONE, "GET_ERROR");
    CT_CHECK(t, sd_flags(&d) & SD_STAT_TARED, "not TARED after TARE");
    ct_put32(buf, 2000);
    sd_refused(t, &d, "SET_RATE while streaming", SD_OUT, SD_SET_RATE, 0, 0, buf, 4, SD_E_BUSY);
    sd_refused(t, &d, "START while streaming", SD_OUT, SD_START, 0, 0, NULL, 0, SD_E_BUSY);
    (void)ct_hex(golden_cal, buf, sizeof buf);
    sd_refused(t, &d, "SET_CAL while streaming", SD_OUT, SD_SET_CAL, 0, 0, buf, 40, SD_E_BUSY);
    CT_CHECK(t, sd_ctrl(&d, SD_OUT, SD_STOP, 0, 0, NULL, 0) == 0, "STOP");
    CT_CHECK(t, !(sd_flags(&d) & SD_STAT_STREAMING), "still STREAMING after STOP");
    sd_refused(t, &d, "second STOP", SD_OUT, SD_STOP, 0, 0, NULL, 0, SD_E_NOT_STREAMING);
    sd_close(&d);
}

static const struct ct_scenario scenarios[] = {
    { "golden", "SENSOR.md 3/4/6: golden vectors, identity, calibration, one block", sh_golden },
    { "error-register", "2: GET_ERROR after successful IN and OUT requests, standard requests",
      sh_error_register },
    { "lengths", "2: every wLength but the table's is BAD_LENGTH", sh_lengths },
    { "setup-fields", "2: wValue/wIndex OUT_OF_RANGE, direction/recipient UNKNOWN_REQUEST",
      sh_setup_fields },
    { "precedence", "2: request, length, setup fields, data, then state", sh_precedence },
    { "streaming", "2: what is served and what is BUSY while streaming", sh_streaming },
};

int main(int argc, char **argv)
{
    return ct_main(argc, argv, scenarios, sizeof scenarios / sizeof scenarios[0]);
}
