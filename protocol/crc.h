/* CRCs used by both device protocols. Pure functions, no I/O.
 *
 * crc16_ccitt: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection,
 *   xorout 0). Check value for "123456789" is 0x29B1. Protects pen frames
 *   (<= 246 bytes, Hamming distance 4 up to 32751 bits).
 * crc32_ieee: CRC-32/ISO-HDLC (the zlib/Ethernet CRC: poly 0x04C11DB7
 *   reflected, init and xorout 0xFFFFFFFF). Check value 0xCBF43926.
 *   Protects sensor-head stream blocks (<= 16 KiB).
 *
 * Both accept a running value so data can be fed in pieces:
 *   crc = crc16_ccitt(CRC16_INIT, a, n); crc = crc16_ccitt(crc, b, m);
 * For crc32_ieee pass 0 to start; the function applies init/xorout itself.
 */
#ifndef RIG_PROTOCOL_CRC_H
#define RIG_PROTOCOL_CRC_H

#include <stddef.h>
#include <stdint.h>

#define CRC16_INIT 0xFFFFu

uint16_t crc16_ccitt(uint16_t crc, const void *data, size_t len);
uint32_t crc32_ieee(uint32_t crc, const void *data, size_t len);

#endif
