/* Little-endian load/store and fixed-width ASCII field helpers shared by
 * the pen and sensor codecs. Internal to protocol/ (not installed). */
#ifndef RIG_PROTOCOL_WIRE_H
#define RIG_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

/* Two's complement reinterpretation without implementation-defined casts. */
static inline int32_t u32_to_i32(uint32_t v)
{
    int32_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static inline int16_t u16_to_i16(uint16_t v)
{
    int16_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static inline bool ascii_printable(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* A wire string field of n bytes: printable ASCII, then NUL padding to the
 * end (no printable byte after the first NUL). Copies it into out[n + 1],
 * always terminated. Returns false if the field breaks the rule. */
static inline bool str_field_decode(const uint8_t *p, size_t n, char *out)
{
    size_t i = 0;
    while (i < n && p[i] != 0) {
        if (!ascii_printable(p[i]))
            return false;
        out[i] = (char)p[i];
        i++;
    }
    size_t end = i;
    for (; i < n; i++)
        if (p[i] != 0)
            return false;
    memset(out + end, 0, n + 1 - end);
    return true;
}

/* Checks that a C string of at most n characters (found within s[0..n])
 * is printable ASCII. */
static inline bool str_field_valid(const char *s, size_t n)
{
    size_t len = strnlen(s, n + 1);
    if (len > n)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!ascii_printable((uint8_t)s[i]))
            return false;
    return true;
}

/* Writes a validated C string into an n-byte NUL-padded wire field. */
static inline void str_field_encode(uint8_t *p, size_t n, const char *s)
{
    size_t len = strnlen(s, n);
    memcpy(p, s, len);
    memset(p + len, 0, n - len);
}

#endif
