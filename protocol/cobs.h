/* Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
 * Encoded output never contains 0x00, so 0x00 can delimit frames and a
 * receiver resynchronises at the next 0x00 after any garbage.
 * Worst-case encoded size: len + len/254 + 1 (COBS_MAX_ENCODED).
 * No I/O, no allocation.
 */
#ifndef RIG_PROTOCOL_COBS_H
#define RIG_PROTOCOL_COBS_H

#include <stddef.h>
#include <stdint.h>

#define COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Encode src[0..len) into dst (capacity cap). Does not append the 0x00
 * delimiter. Returns the encoded length, or 0 if cap is too small. */
size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Decode src[0..len) (without delimiter) into dst (capacity cap).
 * Returns the decoded length, or -1 if the input is not valid COBS (a zero
 * byte, or a code byte pointing past the end) or does not fit in cap.
 * dst may equal src (in-place decoding is supported). */
long cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

#endif
