/* COBS encoder/decoder (see cobs.h). Byte loops with explicit bounds
 * checks on every write: these run on untrusted input. */
#include "protocol/cobs.h"

size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    if (dst == NULL || (src == NULL && len > 0) || cap < COBS_MAX_ENCODED(len))
        return 0;
    size_t code_pos = 0; /* where the current block's code byte goes */
    size_t out = 1;
    uint8_t code = 1; /* 1 + number of data bytes in current block */
    for (size_t i = 0; i < len; i++) {
        if (src[i] == 0) {
            dst[code_pos] = code;
            code_pos = out++;
            code = 1;
            continue;
        }
        dst[out++] = src[i];
        code++;
        /* A full block (254 data bytes) ends without an implied zero; start
         * a new one only if more data follows, so no extra trailing code. */
        if (code == 0xFF && i + 1 < len) {
            dst[code_pos] = code;
            code_pos = out++;
            code = 1;
        }
    }
    dst[code_pos] = code;
    return out;
}

long cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    if (src == NULL || dst == NULL)
        return -1;
    size_t in = 0, out = 0;
    while (in < len) {
        uint8_t code = src[in++];
        if (code == 0)
            return -1;
        size_t n = (size_t)code - 1u;
        if (n > len - in || n > cap - out)
            return -1;
        for (size_t k = 0; k < n; k++) {
            uint8_t b = src[in++];
            if (b == 0)
                return -1;
            /* out <= in always holds, so in-place decoding is safe. */
            dst[out++] = b;
        }
        /* Every block except a full one (0xFF) and the last one stands for
         * a zero byte that the encoder removed. */
        if (code != 0xFF && in < len) {
            if (out >= cap)
                return -1;
            dst[out++] = 0;
        }
    }
    return (long)out;
}
