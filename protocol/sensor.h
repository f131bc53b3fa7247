/* Sensor-head USB protocol, version 1: descriptors, vendor control request
 * payloads and the bulk IN stream block. Normative text: protocol/SENSOR.md.
 * No I/O, no allocation. All integers little-endian on the wire.
 *
 * Device: USB 2.0 high speed, VID SH_USB_VID, PID SH_USB_PID, one
 * configuration, interface 0 (class 0xFF, subclass SH_USB_SUBCLASS,
 * protocol SH_USB_PROTOCOL), endpoint SH_EP_STREAM bulk IN, 512-byte packets.
 *
 * Control requests: bmRequestType 0xC1 (IN) / 0x41 (OUT) = vendor,
 * interface recipient; wIndex = 0 (interface number). A request the device
 * refuses is STALLed; SH_REQ_GET_ERROR then returns why (enum sh_error).
 *
 * Stream: after SH_REQ_START the device sends one block per bulk transfer
 * (a block always ends with a short packet or is exactly the transfer size;
 * hosts submit transfers of SH_TRANSFER_SIZE bytes).
 *
 *   block   = header samples crc
 *   header  = magic:u32 version:u8 flags:u8 channels:u8 header_size:u8
 *             seq:u32 first_sample:u64 rate_hz:u32 count:u16 reserved:u16
 *   samples = count x (force:i32 uN, displacement:i32 nm)
 *   crc     = CRC-32/ISO-HDLC over header and samples:u32
 */
#ifndef RIG_PROTOCOL_SENSOR_H
#define RIG_PROTOCOL_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SH_PROTOCOL_VERSION 1

#define SH_USB_VID      0x1209
#define SH_USB_PID      0x5348
#define SH_USB_SUBCLASS 0x53
#define SH_USB_PROTOCOL 0x01
#define SH_INTERFACE    0
#define SH_EP_STREAM    0x81
#define SH_MAX_PACKET   512

/* Pen (DUT) USB identity, used by the simulator and the default bench. */
#define PEN_USB_VID 0x1209
#define PEN_USB_PID 0x504E

#define SH_REQTYPE_IN  0xC1
#define SH_REQTYPE_OUT 0x41

enum sh_request {
    SH_REQ_GET_IDENTITY = 0x01, /* IN,  SH_IDENTITY_SIZE bytes */
    SH_REQ_SET_RATE = 0x02,     /* OUT, u32 samples/s per channel */
    SH_REQ_START = 0x03,        /* OUT, no data; wValue = samples per block,
                                   0 = rate/100 (10 ms blocks) */
    SH_REQ_STOP = 0x04,         /* OUT, no data */
    SH_REQ_TARE = 0x05,         /* OUT, no data: zero the force channel */
    SH_REQ_GET_CAL = 0x06,      /* IN,  SH_CALIBRATION_SIZE bytes */
    SH_REQ_SET_CAL = 0x07,      /* OUT, SH_CALIBRATION_SIZE bytes */
    SH_REQ_GET_STATUS = 0x08,   /* IN,  SH_STATUS_SIZE bytes */
    SH_REQ_GET_ERROR = 0x09,    /* IN,  1 byte: enum sh_error of the latest
                                   vendor request (NONE if it succeeded) */
};

enum sh_error {
    SH_ERR_NONE = 0,
    SH_ERR_UNKNOWN_REQUEST = 1,
    SH_ERR_BAD_LENGTH = 2,
    SH_ERR_OUT_OF_RANGE = 3,
    SH_ERR_BUSY = 4, /* e.g. SET_RATE while streaming */
    SH_ERR_NOT_STREAMING = 5,
    SH_ERR_BAD_CALIBRATION = 6,
};

#define SH_RATE_MIN 1000u /* samples/s per channel */
#define SH_RATE_MAX 100000u
#define SH_STR_LEN  16

#define SH_IDENTITY_SIZE 52
struct sh_identity {
    uint8_t protocol_version;
    uint8_t hw_revision;
    uint8_t fw_major, fw_minor, fw_patch;
    uint8_t channels; /* 2 */
    uint32_t max_rate_hz;
    char model[SH_STR_LEN + 1];
    char serial[SH_STR_LEN + 1];
    uint32_t force_full_scale_un; /* |force| limit, uN */
    uint32_t disp_full_scale_nm;  /* |displacement| limit, nm */
};

/* Calibration: calibrated = raw * gain_ppm / 1e6 + offset (output units).
 * Dates are YYYYMMDD (e.g. 20261125); due_date > cal_date. */
#define SH_CALIBRATION_SIZE 40
struct sh_calibration {
    int32_t force_gain_ppm, force_offset_un;
    int32_t disp_gain_ppm, disp_offset_nm;
    uint32_t cal_date, due_date;
    char certificate[SH_STR_LEN + 1];
};

#define SH_STATUS_SIZE         24
#define SH_STAT_STREAMING      0x01u
#define SH_STAT_TARGET_PRESENT 0x02u
#define SH_STAT_CAL_VALID      0x04u
#define SH_STAT_TARED          0x08u /* a TARE is in effect: force is relative to it */
struct sh_status {
    uint8_t flags; /* SH_STAT_* */
    uint32_t rate_hz;
    uint32_t blocks_sent;
    uint32_t overruns;
    int32_t tare_offset_un;
    int16_t temperature_cdeg;
};

/* Stream block. */
#define SH_BLOCK_MAGIC       0x31424853u /* "SHB1" */
#define SH_BLOCK_HEADER_SIZE 28
#define SH_BLOCK_CRC_SIZE    4
#define SH_CHANNELS          2
#define SH_MAX_SAMPLES       2000 /* sample frames per block */
#define SH_BLOCK_MAX_SIZE    (SH_BLOCK_HEADER_SIZE + SH_MAX_SAMPLES * 8 + SH_BLOCK_CRC_SIZE)
#define SH_TRANSFER_SIZE     16384 /* >= SH_BLOCK_MAX_SIZE */

#define SH_BLK_OVERRUN                                                                             \
    0x01u                         /* device FIFO overflowed before this block;
                                   first_sample skips the lost samples */
#define SH_BLK_NO_TARGET    0x02u /* >=1 displacement sample is SH_NO_TARGET */
#define SH_BLK_OUT_OF_RANGE 0x04u /* >=1 displacement is SH_OUT_OF_RANGE */
#define SH_BLK_FORCE_SAT    0x08u /* >=1 force sample at full scale */
#define SH_BLK_LAST         0x10u /* last block after STOP */
#define SH_BLK_KNOWN        0x1Fu

#define SH_NO_TARGET    INT32_MIN       /* displacement: no peak / no target */
#define SH_OUT_OF_RANGE (INT32_MIN + 1) /* displacement: beyond range */

struct sh_block_header {
    uint32_t magic;
    uint8_t version, flags, channels, header_size;
    uint32_t seq;          /* +1 per block from 0 at START */
    uint64_t first_sample; /* index of first sample frame */
    uint32_t rate_hz;
    uint16_t count; /* 1..SH_MAX_SAMPLES */
};

enum sh_result {
    SH_OK = 0,
    SH_E_SHORT = -1, /* shorter than header + CRC */
    SH_E_MAGIC = -2,
    SH_E_VERSION = -3,
    SH_E_LENGTH = -4, /* count/header_size disagree with length */
    SH_E_CRC = -5,
    SH_E_RANGE = -6, /* channels, rate, flags or count invalid */
    SH_E_ARG = -7,   /* bad argument / buffer too small */
};

const char *sh_result_str(int result);
const char *sh_error_str(uint8_t error);

/* Control payloads: encode returns bytes written, SH_E_ARG (NULL or buffer
 * too small) or SH_E_RANGE (a field the decoder would reject); decode
 * validates length and ranges and returns SH_OK or SH_E_*. */
int sh_identity_encode(const struct sh_identity *id, uint8_t *buf, size_t cap);
int sh_identity_decode(const uint8_t *buf, size_t len, struct sh_identity *id);
int sh_calibration_encode(const struct sh_calibration *c, uint8_t *buf, size_t cap);
int sh_calibration_decode(const uint8_t *buf, size_t len, struct sh_calibration *c);
int sh_status_encode(const struct sh_status *s, uint8_t *buf, size_t cap);
int sh_status_decode(const uint8_t *buf, size_t len, struct sh_status *s);

/* Apply calibration to a raw sample (saturating to int32). SH_NO_TARGET
 * and SH_OUT_OF_RANGE displacement codes pass through unchanged.
 * sh_cal_force is for untared samples; a tared sample (SH_STAT_TARED) is
 * already relative to the tare, which replaced the calibration's zero
 * offset: sh_cal_force_tared applies the gain only (SENSOR.md 3.2). */
int32_t sh_cal_force(const struct sh_calibration *c, int32_t raw_un);
int32_t sh_cal_force_tared(const struct sh_calibration *c, int32_t raw_un, bool tared);
int32_t sh_cal_disp(const struct sh_calibration *c, int32_t raw_nm);

/* Encode a block: hdr->count samples from force[] and disp[]; magic,
 * version, channels and header_size are filled in. Returns block size or
 * SH_E_*. */
int sh_block_encode(const struct sh_block_header *hdr, const int32_t *force, const int32_t *disp,
                    uint8_t *out, size_t cap);

/* Validate a received block and decode its header. Samples stay in buf;
 * read them with sh_block_samples(). Returns SH_OK or SH_E_*. */
int sh_block_decode(const uint8_t *buf, size_t len, struct sh_block_header *hdr);

/* De-interleave the samples of a block already accepted by sh_block_decode
 * into force[] and disp[] (each with room for hdr->count values). */
void sh_block_samples(const uint8_t *buf, const struct sh_block_header *hdr, int32_t *force,
                      int32_t *disp);

/* Continuity check from headers alone: lost, repeated and out-of-order
 * blocks, and sample gaps (overrun). */
enum sh_continuity {
    SH_CONT_OK = 0,
    SH_CONT_FIRST = 1,   /* first block seen since reset */
    SH_CONT_GAP = 2,     /* seq jumped forward: blocks lost */
    SH_CONT_REPEAT = 3,  /* seq already seen (duplicate/old): drop */
    SH_CONT_OVERRUN = 4, /* seq ok but samples skipped (device overrun) */
};

struct sh_stream_stats {
    uint64_t blocks;  /* accepted blocks */
    uint64_t samples; /* accepted sample frames */
    uint64_t lost_blocks;
    uint64_t repeated_blocks;
    uint64_t lost_samples; /* from gaps and overruns */
    uint64_t overruns;     /* blocks flagged SH_BLK_OVERRUN */
    uint64_t bad_blocks;   /* failed sh_block_decode (counted by caller
                                   via sh_stream_bad_block) */
};

struct sh_stream {
    bool started;
    uint32_t next_seq;
    uint64_t next_sample;
    struct sh_stream_stats stats;
};

void sh_stream_reset(struct sh_stream *s);
enum sh_continuity sh_stream_check(struct sh_stream *s, const struct sh_block_header *hdr);
void sh_stream_bad_block(struct sh_stream *s);

#endif
