/* Capture attachments: rig-capture/1 (raw frames) and rig-capture/2 (the
 * same frames transformed and zstd-compressed), docs/RECORD.md "Capture
 * attachments". The decoder is a parser of untrusted files: every size is
 * checked against the header and against CAPTURE_MAX_FRAMES before anything
 * is allocated, and the zstd frame must declare exactly the size the header
 * promises (tests/core/fuzz_capture_file.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "core/record.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The members both headers share (offsets 0..43). */
static void put_common(uint8_t *h, const struct rig_capture *c, uint32_t version, uint32_t hsize)
{
    memcpy(h, CAPTURE_MAGIC, 8);
    put_u32(h + 8, version);
    put_u32(h + 12, hsize);
    uint64_t rate_bits;
    memcpy(&rate_bits, &c->rate_hz, 8);
    put_u64(h + 16, rate_bits);
    put_u64(h + 24, c->first_sample);
    put_u64(h + 32, c->n);
    put_u32(h + 40, c->flags);
}

/* The rig-capture/1 frame bytes (what samples_sha256 covers). */
static void put_frames(uint8_t *p, const struct rig_capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        put_u32(p + 8 * i, c->force_un ? (uint32_t)c->force_un[i] : 0);
        put_u32(p + 8 * i + 4, (uint32_t)c->disp_nm[i]);
    }
}

int capture_samples_sha256(const struct rig_capture *c, char out[DIGEST_HEX_LEN + 1])
{
    if (c->n > CAPTURE_MAX_FRAMES)
        return -EOVERFLOW;
    uint8_t *p = malloc(c->n ? 8 * c->n : 1);
    if (!p)
        return -ENOMEM;
    put_frames(p, c);
    digest_sha256_buf(p, 8 * c->n, out);
    free(p);
    return 0;
}

static uint32_t zigzag(uint32_t d)
{
    return d << 1 ^ (0u - (d >> 31));
}

static uint32_t unzigzag(uint32_t z)
{
    return z >> 1 ^ (0u - (z & 1));
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The largest step every difference of x is a multiple of, when every
 * difference divided by it still fits in an i32; else 1. Real sensor data
 * is quantised (docs/SIMULATOR-MODEL.md: 0.1 mN and 10 nm steps after
 * calibration), so the step takes log2(step) bits per sample that zstd
 * cannot see off the raw bytes. */
static uint32_t channel_step(const int32_t *x, size_t n)
{
    uint64_t g = 0;
    for (size_t i = 1; i < n && g != 1; i++) {
        int64_t d = (int64_t)x[i] - x[i - 1];
        g = gcd(g, (uint64_t)(d < 0 ? -d : d));
    }
    if (g <= 1 || g > UINT32_MAX)
        return 1;
    for (size_t i = 1; i < n; i++) {
        int64_t q = ((int64_t)x[i] - x[i - 1]) / (int64_t)g;
        if (q < INT32_MIN || q > INT32_MAX)
            return 1;
    }
    return (uint32_t)g;
}

/* Transform 1, one channel into its 4 byte planes at out (4 * n bytes):
 * r[0] = zigzag(x[0]), r[i] = zigzag((x[i] - x[i-1]) / step); plane k
 * holds byte k of every r. */
static void planes_encode(const int32_t *x, size_t n, uint32_t step, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t r;
        if (i == 0)
            r = zigzag((uint32_t)x[0]);
        else if (step == 1) /* modulo 2^32: exact for any i32 pair */
            r = zigzag((uint32_t)x[i] - (uint32_t)x[i - 1]);
        else
            r = zigzag((uint32_t)(int32_t)(((int64_t)x[i] - x[i - 1]) / step));
        for (int k = 0; k < 4; k++)
            out[(size_t)k * n + i] = (uint8_t)(r >> (8 * k));
    }
}

/* The inverse, in modulo-2^32 arithmetic: defined for any bytes (a
 * corrupted file decodes to wrong samples, which the hashes catch). */
static void planes_decode(const uint8_t *in, size_t n, uint32_t step, int32_t *x)
{
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = 0;
        for (int k = 0; k < 4; k++)
            r |= (uint32_t)in[(size_t)k * n + i] << (8 * k);
        uint32_t v = i == 0 ? unzigzag(r) : prev + step * unzigzag(r);
        x[i] = (int32_t)v;
        prev = v;
    }
}

int capture_encode(const struct rig_capture *c, int format, uint8_t **buf, size_t *len,
                   char samples_sha256[DIGEST_HEX_LEN + 1], char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    if (c->n > CAPTURE_MAX_FRAMES) {
        snprintf(err, errlen, "capture too large (%zu frames, at most %u)", c->n,
                 (unsigned)CAPTURE_MAX_FRAMES);
        return -EOVERFLOW;
    }
    if (format != CAPTURE_FORMAT_RAW && format != CAPTURE_FORMAT_ZSTD) {
        snprintf(err, errlen, "unknown capture format %d", format);
        return -EINVAL;
    }
    size_t raw = 8 * c->n;
    uint8_t *frames = malloc(CAPTURE_HEADER_SIZE + raw);
    if (!frames) {
        snprintf(err, errlen, "out of memory writing capture");
        return -ENOMEM;
    }
    put_common(frames, c, 1, CAPTURE_HEADER_SIZE);
    put_u32(frames + 44, 0);
    put_frames(frames + CAPTURE_HEADER_SIZE, c);
    if (samples_sha256)
        digest_sha256_buf(frames + CAPTURE_HEADER_SIZE, raw, samples_sha256);
    if (format == CAPTURE_FORMAT_RAW) {
        *buf = frames;
        *len = CAPTURE_HEADER_SIZE + raw;
        return 0;
    }
    free(frames);
    uint8_t *planes = malloc(raw ? raw : 1);
    size_t bound = ZSTD_compressBound(raw);
    uint8_t *out = malloc(CAPTURE2_HEADER_SIZE + bound);
    if (!planes || !out) {
        free(planes);
        free(out);
        snprintf(err, errlen, "out of memory writing capture");
        return -ENOMEM;
    }
    uint32_t fstep = c->force_un ? channel_step(c->force_un, c->n) : 1;
    uint32_t dstep = channel_step(c->disp_nm, c->n);
    if (c->force_un)
        planes_encode(c->force_un, c->n, fstep, planes);
    else
        memset(planes, 0, 4 * c->n);
    planes_encode(c->disp_nm, c->n, dstep, planes + 4 * c->n);
    /* with zstd's content checksum, so a damaged file is refused when read
     * rather than decoding to other samples */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t z =
        cc ? ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, CAPTURE_ZSTD_LEVEL) : (size_t)-1;
    if (cc && !ZSTD_isError(z))
        z = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    if (cc && !ZSTD_isError(z))
        z = ZSTD_compress2(cc, out + CAPTURE2_HEADER_SIZE, bound, planes, raw);
    ZSTD_freeCCtx(cc);
    free(planes);
    if (ZSTD_isError(z)) {
        free(out);
        snprintf(err, errlen, "cannot compress capture: %s", ZSTD_getErrorName(z));
        return -EIO;
    }
    put_common(out, c, 2, CAPTURE2_HEADER_SIZE);
    put_u32(out + 44, CAPTURE_TRANSFORM_DELTA_PLANES);
    put_u32(out + 48, fstep);
    put_u32(out + 52, dstep);
    put_u64(out + 56, z);
    *buf = out;
    *len = CAPTURE2_HEADER_SIZE + z;
    return 0;
}

static int not_a_capture(const char *name, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s is not a rig-capture file: %s", name, why);
    return -EINVAL;
}

static int alloc_channels(struct rig_capture *out, size_t n, char *err, size_t errlen)
{
    out->n = n;
    out->force_un = malloc((n ? n : 1) * sizeof *out->force_un);
    out->disp_nm = malloc((n ? n : 1) * sizeof *out->disp_nm);
    if (!out->force_un || !out->disp_nm) {
        capture_free(out);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static int decode_v2(const char *name, const uint8_t *buf, size_t len, struct rig_capture *out,
                     char *err, size_t errlen)
{
    if (len < CAPTURE2_HEADER_SIZE || get_u32(buf + 12) != CAPTURE2_HEADER_SIZE)
        return not_a_capture(name, "rig-capture/2 header size is not 64", err, errlen);
    uint64_t count = get_u64(buf + 32), zlen = get_u64(buf + 56);
    if (get_u32(buf + 44) != CAPTURE_TRANSFORM_DELTA_PLANES)
        return not_a_capture(name, "unknown transform", err, errlen);
    if (count > CAPTURE_MAX_FRAMES)
        return not_a_capture(name, "more frames than a capture may hold", err, errlen);
    if (zlen != len - CAPTURE2_HEADER_SIZE)
        return not_a_capture(name, "compressed length is not the rest of the file", err, errlen);
    const uint8_t *z = buf + CAPTURE2_HEADER_SIZE;
    size_t raw = (size_t)count * 8;
    /* one zstd frame, all of the payload, declaring exactly 8 x count
     * bytes: checked before allocating what the header asks for */
    if (ZSTD_findFrameCompressedSize(z, zlen) != zlen)
        return not_a_capture(name, "payload is not exactly one zstd frame", err, errlen);
    if (ZSTD_getFrameContentSize(z, zlen) != (unsigned long long)raw)
        return not_a_capture(name, "zstd frame size does not match the frame count", err, errlen);
    uint8_t *planes = malloc(raw ? raw : 1);
    if (!planes) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t got = ZSTD_decompress(planes, raw, z, zlen);
    if (ZSTD_isError(got) || got != raw) {
        free(planes);
        snprintf(err, errlen, "%s: corrupt compressed capture (%s)", name,
                 ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
        return -EINVAL;
    }
    int rc = alloc_channels(out, (size_t)count, err, errlen);
    if (rc == 0) {
        planes_decode(planes, out->n, get_u32(buf + 48), out->force_un);
        planes_decode(planes + 4 * out->n, out->n, get_u32(buf + 52), out->disp_nm);
    }
    free(planes);
    return rc;
}

int capture_decode(const char *name, const uint8_t *buf, size_t len, struct rig_capture *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len < CAPTURE_HEADER_SIZE || memcmp(buf, CAPTURE_MAGIC, 8) != 0)
        return not_a_capture(name, "no RIGCAP header", err, errlen);
    uint32_t version = get_u32(buf + 8);
    uint64_t rate_bits = get_u64(buf + 16);
    int rc;
    if (version == 1) {
        uint64_t count = get_u64(buf + 32);
        if (get_u32(buf + 12) != CAPTURE_HEADER_SIZE || (len - CAPTURE_HEADER_SIZE) % 8 != 0 ||
            count != (len - CAPTURE_HEADER_SIZE) / 8)
            return not_a_capture(name, "rig-capture/1 size does not match its frame count", err,
                                 errlen);
        rc = alloc_channels(out, (size_t)count, err, errlen);
        for (size_t i = 0; rc == 0 && i < out->n; i++) {
            out->force_un[i] = (int32_t)get_u32(buf + CAPTURE_HEADER_SIZE + 8 * i);
            out->disp_nm[i] = (int32_t)get_u32(buf + CAPTURE_HEADER_SIZE + 8 * i + 4);
        }
    } else if (version == 2) {
        rc = decode_v2(name, buf, len, out, err, errlen);
    } else {
        return not_a_capture(name, "unknown version", err, errlen);
    }
    if (rc < 0)
        return rc;
    memcpy(&out->rate_hz, &rate_bits, 8);
    out->first_sample = get_u64(buf + 24);
    out->flags = get_u32(buf + 40);
    return 0;
}

int capture_write(const char *path, const struct rig_capture *c, char sha256[DIGEST_HEX_LEN + 1],
                  char *err, size_t errlen)
{
    return capture_write_flags(path, c, 0, sha256, err, errlen);
}

int capture_write_flags(const char *path, const struct rig_capture *c, unsigned flags,
                        char sha256[DIGEST_HEX_LEN + 1], char *err, size_t errlen)
{
    return capture_write_format(path, c, CAPTURE_FORMAT_RAW, flags, sha256, NULL, err, errlen);
}

int capture_write_format(const char *path, const struct rig_capture *c, int format, unsigned flags,
                         char sha256[DIGEST_HEX_LEN + 1], char samples_sha256[DIGEST_HEX_LEN + 1],
                         char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int rc = capture_encode(c, format, &buf, &len, samples_sha256, err, errlen);
    if (rc < 0)
        return rc;
    digest_sha256_buf(buf, len, sha256);
    rc = atomic_write_file_flags(path, buf, len, flags, err, errlen);
    free(buf);
    return rc;
}

int capture_read(const char *path, struct rig_capture *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    /* no file longer than the largest raw capture is read at all (and a
     * /proc or pipe path reports size 0: read up to the same bound) */
    const size_t max = CAPTURE_HEADER_SIZE + 8 * (size_t)CAPTURE_MAX_FRAMES;
    size_t cap = 65536, n = 0;
    uint8_t *b = malloc(cap);
    while (b && !ferror(f)) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap || cap > max)
            break;
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
        }
        b = nb;
        cap *= 2;
    }
    bool bad = !b || ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(b);
        snprintf(err, errlen, bad ? "cannot read %s" : "%s is larger than any capture", path);
        return bad ? -EIO : -EFBIG;
    }
    int rc = capture_decode(path, b, n, out, err, errlen);
    free(b);
    return rc;
}
