/* Benchmark (not a test): how capture samples compress with zstd after
 * each candidate transform, at a few levels -- the figures behind
 * rig-capture/2's choice (docs/RECORD.md):
 *
 *   bench_capture_codec CAPTURE...   (rig-capture/1 or /2 files)
 *
 * Transforms: the raw frames; the per-channel first difference, zigzag,
 * frames interleaved; the same in two channel planes; step-scaled
 * difference in 8 byte planes (rig-capture/2's transform 1, what
 * capture_encode writes at CAPTURE_ZSTD_LEVEL). Prints the total bytes
 * (plus a 64-byte header each), the ratio to rig-capture/1 and the ms to
 * compress, summed over the files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "core/record.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t zz(uint32_t d)
{
    return d << 1 ^ (0u - (d >> 31));
}

#define NT 4
#define NL 4
static const char *const tname[NT] = { "raw frames", "delta zigzag, interleaved",
                                       "delta zigzag, channel planes",
                                       "step-scaled delta, byte planes" };
static const int levels[NL] = { 1, 3, 9, 19 };

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_capture_codec CAPTURE...\n");
        return 64;
    }
    double raw_total = 0, bytes[NT][NL] = { { 0 } }, ms[NT][NL] = { { 0 } };
    for (int a = 1; a < argc; a++) {
        struct rig_capture c;
        char err[256];
        if (capture_read(argv[a], &c, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        size_t n = c.n, len = 8 * n;
        raw_total += CAPTURE_HEADER_SIZE + len;
        uint8_t *t[NT];
        for (int k = 0; k < NT; k++)
            t[k] = malloc(len ? len : 1);
        uint32_t *il = (uint32_t *)t[1], *pl = (uint32_t *)t[2];
        for (size_t i = 0; i < n; i++) {
            uint32_t f = (uint32_t)c.force_un[i], d = (uint32_t)c.disp_nm[i];
            memcpy(t[0] + 8 * i, &f, 4);
            memcpy(t[0] + 8 * i + 4, &d, 4);
            uint32_t df = f - (i ? (uint32_t)c.force_un[i - 1] : 0);
            uint32_t dd = d - (i ? (uint32_t)c.disp_nm[i - 1] : 0);
            il[2 * i] = zz(df);
            il[2 * i + 1] = zz(dd);
            pl[i] = zz(df);
            pl[n + i] = zz(dd);
        }
        /* transform 1 as written: the payload of capture_encode's file */
        uint8_t *file;
        size_t flen;
        if (capture_encode(&c, CAPTURE_FORMAT_ZSTD, &file, &flen, NULL, err, sizeof err) < 0 ||
            ZSTD_decompress(t[3], len, file + CAPTURE2_HEADER_SIZE, flen - CAPTURE2_HEADER_SIZE) !=
                len) {
            fprintf(stderr, "%s: cannot re-encode\n", argv[a]);
            return 1;
        }
        free(file);
        size_t cap = ZSTD_compressBound(len);
        uint8_t *out = malloc(cap);
        for (int k = 0; k < NT; k++)
            for (int l = 0; l < NL; l++) {
                double t0 = now_ms();
                size_t z = ZSTD_compress(out, cap, t[k], len, levels[l]);
                ms[k][l] += now_ms() - t0;
                bytes[k][l] += (double)z + CAPTURE2_HEADER_SIZE;
            }
        free(out);
        for (int k = 0; k < NT; k++)
            free(t[k]);
        capture_free(&c);
    }
    printf("%d captures, %.0f bytes as rig-capture/1\n", argc - 1, raw_total);
    for (int k = 0; k < NT; k++)
        for (int l = 0; l < NL; l++)
            printf("  %-31s zstd %2d %10.0f bytes  ratio %5.2f  %8.2f ms\n", tname[k], levels[l],
                   bytes[k][l], raw_total / bytes[k][l], ms[k][l]);
    return 0;
}
