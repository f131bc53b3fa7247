/* Sensor-head protocol v1 codec (normative spec: SENSOR.md). */
#include "protocol/sensor.h"

#include <string.h>

#include "protocol/crc.h"
#include "protocol/wire.h"

/* Ranges beyond those named in sensor.h (documented in SENSOR.md). */
#define SH_GAIN_MIN_PPM  500000   /* 0.5 */
#define SH_GAIN_MAX_PPM  2000000  /* 2.0 */
#define SH_OFFSET_MAX    10000000 /* +-10 N in uN, +-10 mm in nm */
#define SH_TEMP_MIN_CDEG (-4000)
#define SH_TEMP_MAX_CDEG 12500
#define SH_STAT_KNOWN                                                                              \
    (SH_STAT_STREAMING | SH_STAT_TARGET_PRESENT | SH_STAT_CAL_VALID | SH_STAT_TARED)
/* Largest magnitude a displacement sample may carry: the two most negative
 * int32 values are the special codes. */
#define SH_DISP_FULL_SCALE_MAX  ((uint32_t)INT32_MAX)
#define SH_FORCE_FULL_SCALE_MAX ((uint32_t)INT32_MAX)

const char *sh_result_str(int result)
{
    switch (result) {
    case SH_OK:
        return "ok";
    case SH_E_SHORT:
        return "block shorter than header and CRC";
    case SH_E_MAGIC:
        return "bad block magic";
    case SH_E_VERSION:
        return "unsupported block version";
    case SH_E_LENGTH:
        return "block length disagrees with header";
    case SH_E_CRC:
        return "CRC mismatch";
    case SH_E_RANGE:
        return "field out of range";
    case SH_E_ARG:
        return "bad argument or buffer too small";
    default:
        return "unknown result";
    }
}

const char *sh_error_str(uint8_t error)
{
    switch (error) {
    case SH_ERR_NONE:
        return "no error";
    case SH_ERR_UNKNOWN_REQUEST:
        return "unknown request";
    case SH_ERR_BAD_LENGTH:
        return "bad length";
    case SH_ERR_OUT_OF_RANGE:
        return "value out of range";
    case SH_ERR_BUSY:
        return "busy";
    case SH_ERR_NOT_STREAMING:
        return "not streaming";
    case SH_ERR_BAD_CALIBRATION:
        return "bad calibration";
    default:
        return "unknown error";
    }
}

static bool rate_valid(uint32_t hz)
{
    return hz >= SH_RATE_MIN && hz <= SH_RATE_MAX;
}

/* ---- identity (52 bytes) ---- */

static bool identity_valid(const struct sh_identity *id)
{
    return id->protocol_version == SH_PROTOCOL_VERSION && id->channels == SH_CHANNELS &&
           rate_valid(id->max_rate_hz) && str_field_valid(id->model, SH_STR_LEN) &&
           id->model[0] != 0 && str_field_valid(id->serial, SH_STR_LEN) && id->serial[0] != 0 &&
           id->force_full_scale_un >= 1 && id->force_full_scale_un <= SH_FORCE_FULL_SCALE_MAX &&
           id->disp_full_scale_nm >= 1 && id->disp_full_scale_nm <= SH_DISP_FULL_SCALE_MAX;
}

int sh_identity_encode(const struct sh_identity *id, uint8_t *buf, size_t cap)
{
    if (id == NULL || buf == NULL || cap < SH_IDENTITY_SIZE)
        return SH_E_ARG;
    if (!identity_valid(id))
        return SH_E_RANGE;
    buf[0] = id->protocol_version;
    buf[1] = id->hw_revision;
    buf[2] = id->fw_major;
    buf[3] = id->fw_minor;
    buf[4] = id->fw_patch;
    buf[5] = id->channels;
    put_u16(buf + 6, 0); /* reserved */
    put_u32(buf + 8, id->max_rate_hz);
    str_field_encode(buf + 12, SH_STR_LEN, id->model);
    str_field_encode(buf + 28, SH_STR_LEN, id->serial);
    put_u32(buf + 44, id->force_full_scale_un);
    put_u32(buf + 48, id->disp_full_scale_nm);
    return SH_IDENTITY_SIZE;
}

int sh_identity_decode(const uint8_t *buf, size_t len, struct sh_identity *id)
{
    if (buf == NULL || id == NULL)
        return SH_E_ARG;
    memset(id, 0, sizeof *id);
    if (len != SH_IDENTITY_SIZE)
        return len < SH_IDENTITY_SIZE ? SH_E_SHORT : SH_E_LENGTH;
    id->protocol_version = buf[0];
    id->hw_revision = buf[1];
    id->fw_major = buf[2];
    id->fw_minor = buf[3];
    id->fw_patch = buf[4];
    id->channels = buf[5];
    id->max_rate_hz = get_u32(buf + 8);
    id->force_full_scale_un = get_u32(buf + 44);
    id->disp_full_scale_nm = get_u32(buf + 48);
    if (id->protocol_version != SH_PROTOCOL_VERSION)
        return SH_E_VERSION;
    if (get_u16(buf + 6) != 0 || !str_field_decode(buf + 12, SH_STR_LEN, id->model) ||
        !str_field_decode(buf + 28, SH_STR_LEN, id->serial) || !identity_valid(id))
        return SH_E_RANGE;
    return SH_OK;
}

/* ---- calibration (40 bytes) ---- */

static bool leap_year(uint32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYYMMDD, a real calendar date in 2000..2099. */
static bool date_valid(uint32_t d)
{
    static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    uint32_t y = d / 10000, m = d / 100 % 100, day = d % 100;
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || day < 1)
        return false;
    uint32_t max = mdays[m - 1] + (m == 2 && leap_year(y) ? 1u : 0u);
    return day <= max;
}

static bool gain_valid(int32_t g)
{
    return g >= SH_GAIN_MIN_PPM && g <= SH_GAIN_MAX_PPM;
}

static bool offset_valid(int32_t o)
{
    return o >= -SH_OFFSET_MAX && o <= SH_OFFSET_MAX;
}

static bool calibration_valid(const struct sh_calibration *c)
{
    return gain_valid(c->force_gain_ppm) && gain_valid(c->disp_gain_ppm) &&
           offset_valid(c->force_offset_un) && offset_valid(c->disp_offset_nm) &&
           date_valid(c->cal_date) && date_valid(c->due_date) && c->due_date > c->cal_date &&
           str_field_valid(c->certificate, SH_STR_LEN);
}

int sh_calibration_encode(const struct sh_calibration *c, uint8_t *buf, size_t cap)
{
    if (c == NULL || buf == NULL || cap < SH_CALIBRATION_SIZE)
        return SH_E_ARG;
    if (!calibration_valid(c))
        return SH_E_RANGE;
    put_u32(buf + 0, (uint32_t)c->force_gain_ppm);
    put_u32(buf + 4, (uint32_t)c->force_offset_un);
    put_u32(buf + 8, (uint32_t)c->disp_gain_ppm);
    put_u32(buf + 12, (uint32_t)c->disp_offset_nm);
    put_u32(buf + 16, c->cal_date);
    put_u32(buf + 20, c->due_date);
    str_field_encode(buf + 24, SH_STR_LEN, c->certificate);
    return SH_CALIBRATION_SIZE;
}

int sh_calibration_decode(const uint8_t *buf, size_t len, struct sh_calibration *c)
{
    if (buf == NULL || c == NULL)
        return SH_E_ARG;
    memset(c, 0, sizeof *c);
    if (len != SH_CALIBRATION_SIZE)
        return len < SH_CALIBRATION_SIZE ? SH_E_SHORT : SH_E_LENGTH;
    c->force_gain_ppm = u32_to_i32(get_u32(buf + 0));
    c->force_offset_un = u32_to_i32(get_u32(buf + 4));
    c->disp_gain_ppm = u32_to_i32(get_u32(buf + 8));
    c->disp_offset_nm = u32_to_i32(get_u32(buf + 12));
    c->cal_date = get_u32(buf + 16);
    c->due_date = get_u32(buf + 20);
    if (!str_field_decode(buf + 24, SH_STR_LEN, c->certificate) || !calibration_valid(c))
        return SH_E_RANGE;
    return SH_OK;
}

/* ---- status (24 bytes) ---- */

static bool status_valid(const struct sh_status *s)
{
    return (s->flags & ~SH_STAT_KNOWN) == 0 && rate_valid(s->rate_hz) &&
           s->temperature_cdeg >= SH_TEMP_MIN_CDEG && s->temperature_cdeg <= SH_TEMP_MAX_CDEG;
}

int sh_status_encode(const struct sh_status *s, uint8_t *buf, size_t cap)
{
    if (s == NULL || buf == NULL || cap < SH_STATUS_SIZE)
        return SH_E_ARG;
    if (!status_valid(s))
        return SH_E_RANGE;
    buf[0] = s->flags;
    buf[1] = 0; /* reserved */
    put_u16(buf + 2, (uint16_t)s->temperature_cdeg);
    put_u32(buf + 4, s->rate_hz);
    put_u32(buf + 8, s->blocks_sent);
    put_u32(buf + 12, s->overruns);
    put_u32(buf + 16, (uint32_t)s->tare_offset_un);
    put_u32(buf + 20, 0); /* reserved */
    return SH_STATUS_SIZE;
}

int sh_status_decode(const uint8_t *buf, size_t len, struct sh_status *s)
{
    if (buf == NULL || s == NULL)
        return SH_E_ARG;
    memset(s, 0, sizeof *s);
    if (len != SH_STATUS_SIZE)
        return len < SH_STATUS_SIZE ? SH_E_SHORT : SH_E_LENGTH;
    s->flags = buf[0];
    s->temperature_cdeg = u16_to_i16(get_u16(buf + 2));
    s->rate_hz = get_u32(buf + 4);
    s->blocks_sent = get_u32(buf + 8);
    s->overruns = get_u32(buf + 12);
    s->tare_offset_un = u32_to_i32(get_u32(buf + 16));
    if (buf[1] != 0 || get_u32(buf + 20) != 0 || !status_valid(s))
        return SH_E_RANGE;
    return SH_OK;
}

/* ---- calibration math ---- */

static int32_t saturate_i32(int64_t v, int64_t lo)
{
    if (v > INT32_MAX)
        return INT32_MAX;
    if (v < lo)
        return (int32_t)lo;
    return (int32_t)v;
}

/* raw * gain_ppm / 1e6 + offset, rounded half away from zero. The product
 * fits int64 (|raw|, |gain| < 2^31). */
static int64_t apply_cal(int32_t raw, int32_t gain_ppm, int32_t offset)
{
    int64_t p = (int64_t)raw * gain_ppm;
    int64_t q = p >= 0 ? (p + 500000) / 1000000 : -((-p + 500000) / 1000000);
    return q + offset;
}

int32_t sh_cal_force(const struct sh_calibration *c, int32_t raw_un)
{
    return saturate_i32(apply_cal(raw_un, c->force_gain_ppm, c->force_offset_un), INT32_MIN);
}

int32_t sh_cal_force_tared(const struct sh_calibration *c, int32_t raw_un, bool tared)
{
    return saturate_i32(apply_cal(raw_un, c->force_gain_ppm, tared ? 0 : c->force_offset_un),
                        INT32_MIN);
}

int32_t sh_cal_disp(const struct sh_calibration *c, int32_t raw_nm)
{
    if (raw_nm == SH_NO_TARGET || raw_nm == SH_OUT_OF_RANGE)
        return raw_nm;
    /* Saturate above the special codes so a real value never reads as one. */
    return saturate_i32(apply_cal(raw_nm, c->disp_gain_ppm, c->disp_offset_nm),
                        (int64_t)SH_OUT_OF_RANGE + 1);
}

/* ---- stream block ---- */

static size_t block_size(uint16_t count)
{
    return SH_BLOCK_HEADER_SIZE + (size_t)count * 8u + SH_BLOCK_CRC_SIZE;
}

static bool block_fields_valid(const struct sh_block_header *h)
{
    return (h->flags & ~SH_BLK_KNOWN) == 0 && rate_valid(h->rate_hz) && h->count >= 1 &&
           h->count <= SH_MAX_SAMPLES;
}

int sh_block_encode(const struct sh_block_header *hdr, const int32_t *force, const int32_t *disp,
                    uint8_t *out, size_t cap)
{
    if (hdr == NULL || force == NULL || disp == NULL || out == NULL)
        return SH_E_ARG;
    if (!block_fields_valid(hdr))
        return SH_E_RANGE;
    size_t size = block_size(hdr->count);
    if (cap < size)
        return SH_E_ARG;
    put_u32(out + 0, SH_BLOCK_MAGIC);
    out[4] = SH_PROTOCOL_VERSION;
    out[5] = hdr->flags;
    out[6] = SH_CHANNELS;
    out[7] = SH_BLOCK_HEADER_SIZE;
    put_u32(out + 8, hdr->seq);
    put_u64(out + 12, hdr->first_sample);
    put_u32(out + 20, hdr->rate_hz);
    put_u16(out + 24, hdr->count);
    put_u16(out + 26, 0); /* reserved */
    uint8_t *p = out + SH_BLOCK_HEADER_SIZE;
    for (uint16_t i = 0; i < hdr->count; i++, p += 8) {
        put_u32(p, (uint32_t)force[i]);
        put_u32(p + 4, (uint32_t)disp[i]);
    }
    size_t covered = size - SH_BLOCK_CRC_SIZE;
    put_u32(out + covered, crc32_ieee(0, out, covered));
    return (int)size;
}

int sh_block_decode(const uint8_t *buf, size_t len, struct sh_block_header *hdr)
{
    if (buf == NULL || hdr == NULL)
        return SH_E_ARG;
    memset(hdr, 0, sizeof *hdr);
    if (len < SH_BLOCK_HEADER_SIZE + SH_BLOCK_CRC_SIZE)
        return SH_E_SHORT;
    hdr->magic = get_u32(buf);
    hdr->version = buf[4];
    hdr->flags = buf[5];
    hdr->channels = buf[6];
    hdr->header_size = buf[7];
    hdr->seq = get_u32(buf + 8);
    hdr->first_sample = get_u64(buf + 12);
    hdr->rate_hz = get_u32(buf + 20);
    hdr->count = get_u16(buf + 24);
    if (hdr->magic != SH_BLOCK_MAGIC)
        return SH_E_MAGIC;
    if (hdr->version != SH_PROTOCOL_VERSION)
        return SH_E_VERSION;
    if (hdr->header_size != SH_BLOCK_HEADER_SIZE || len != block_size(hdr->count))
        return SH_E_LENGTH;
    size_t covered = len - SH_BLOCK_CRC_SIZE;
    if (crc32_ieee(0, buf, covered) != get_u32(buf + covered))
        return SH_E_CRC;
    /* CRC first, so a corrupted field reads as corruption, not as a range
     * error; these checks then catch a device that sends nonsense. */
    if (hdr->channels != SH_CHANNELS || get_u16(buf + 26) != 0 || !block_fields_valid(hdr))
        return SH_E_RANGE;
    return SH_OK;
}

void sh_block_samples(const uint8_t *buf, const struct sh_block_header *hdr, int32_t *force,
                      int32_t *disp)
{
    const uint8_t *p = buf + SH_BLOCK_HEADER_SIZE;
    for (uint16_t i = 0; i < hdr->count; i++, p += 8) {
        force[i] = u32_to_i32(get_u32(p));
        disp[i] = u32_to_i32(get_u32(p + 4));
    }
}

/* ---- continuity ---- */

void sh_stream_reset(struct sh_stream *s)
{
    memset(s, 0, sizeof *s);
}

void sh_stream_bad_block(struct sh_stream *s)
{
    s->stats.bad_blocks++;
}

/* Takes hdr as the newest block: advances the expected seq/sample and
 * counts it as accepted. */
static void stream_accept(struct sh_stream *s, const struct sh_block_header *hdr)
{
    s->next_seq = hdr->seq + 1u; /* wraps at 2^32 by design */
    s->next_sample = hdr->first_sample + hdr->count;
    s->stats.blocks++;
    s->stats.samples += hdr->count;
    if (hdr->flags & SH_BLK_OVERRUN)
        s->stats.overruns++;
}

enum sh_continuity sh_stream_check(struct sh_stream *s, const struct sh_block_header *hdr)
{
    if (!s->started) {
        s->started = true;
        stream_accept(s, hdr);
        return SH_CONT_FIRST;
    }
    /* Serial-number arithmetic (RFC 1982 style): a difference below 2^31
     * is "ahead", anything else is "behind", so seq may wrap at 2^32. */
    uint32_t ahead = hdr->seq - s->next_seq;
    if (ahead >= 0x80000000u) {
        s->stats.repeated_blocks++;
        return SH_CONT_REPEAT;
    }
    if (ahead == 0 && hdr->first_sample < s->next_sample) {
        /* Right seq but samples we already have: the timeline is broken,
         * so the block cannot be placed. Drop it like a repeat. */
        s->stats.repeated_blocks++;
        return SH_CONT_REPEAT;
    }
    uint64_t skipped = hdr->first_sample > s->next_sample ? hdr->first_sample - s->next_sample : 0;
    s->stats.lost_blocks += ahead;
    s->stats.lost_samples += skipped;
    stream_accept(s, hdr);
    if (ahead > 0)
        return SH_CONT_GAP;
    return skipped > 0 ? SH_CONT_OVERRUN : SH_CONT_OK;
}
