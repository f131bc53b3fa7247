/* Pen protocol codec tests, shared: the golden messages (the same values
 * as tests/protocol/make_fixtures.py) and the frame helpers that assert
 * (Check), for test_pen.c and test_pen_rx.c. */
#ifndef RIG_TESTS_PROTOCOL_PEN_FRAMES_H
#define RIG_TESTS_PROTOCOL_PEN_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/pen.h"

struct golden_case {
    const char *name;
    struct pen_msg m;
};

#define R PEN_F_RESPONSE
#define E PEN_F_EVENT

struct pen_msg pt_msg(uint8_t type, uint8_t flags, uint16_t seq);
struct pen_identity pt_golden_identity(void);
struct pen_status pt_golden_status(void);
/* Fills c with every golden case (name, message); returns how many. */
size_t pt_golden_cases(struct golden_case *c);
/* Compares two messages through their canonical encodings. */
void pt_assert_same_msg(const struct pen_msg *a, const struct pen_msg *b);
/* Frame -> body (strip delimiter, undo COBS). */
size_t pt_unframe(const uint8_t *frame, size_t n, uint8_t *body);
/* Wraps a raw body (CRC appended here unless bad_crc) into a wire frame. */
size_t pt_frame_raw(const uint8_t *hdr_and_payload, size_t n, bool bad_crc, uint8_t *frame,
                    size_t cap);
/* Builds header + payload bytes; returns the length. */
size_t pt_raw(uint8_t *p, uint8_t version, uint8_t type, uint8_t flags, uint8_t hdr_len,
              uint16_t seq, const void *payload, size_t plen);

#endif
