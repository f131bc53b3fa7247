/* libFuzzer target for capture attachments (rig-capture/1 and /2): the
 * input is decoded as a capture file's bytes. Whatever it holds, the
 * decoder answers with samples or a message, never reads or allocates
 * beyond what the header may declare (CAPTURE_MAX_FRAMES); what it
 * accepts re-encodes in either format and decodes to the same samples bit
 * for bit (the codec is lossless on every input it accepts). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct rig_capture *a, const struct rig_capture *b)
{
    assert(a->n == b->n && a->first_sample == b->first_sample && a->flags == b->flags);
    assert(memcmp(&a->rate_hz, &b->rate_hz, sizeof a->rate_hz) == 0);
    assert(a->n == 0 || (memcmp(a->force_un, b->force_un, a->n * sizeof *a->force_un) == 0 &&
                         memcmp(a->disp_nm, b->disp_nm, a->n * sizeof *a->disp_nm) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rig_capture c;
    char err[256] = "";
    if (capture_decode("fuzz", data, size, &c, err, sizeof err) < 0) {
        assert(err[0] != '\0');
        return 0;
    }
    assert(c.n <= CAPTURE_MAX_FRAMES);
    char s[2][DIGEST_HEX_LEN + 1];
    for (int f = CAPTURE_FORMAT_RAW; f <= CAPTURE_FORMAT_ZSTD; f++) {
        uint8_t *buf;
        size_t len;
        struct rig_capture back;
        assert(capture_encode(&c, f, &buf, &len, s[f - 1], err, sizeof err) == 0);
        assert(capture_decode("again", buf, len, &back, err, sizeof err) == 0);
        same(&c, &back);
        capture_free(&back);
        free(buf);
    }
    assert(strcmp(s[0], s[1]) == 0);
    capture_free(&c);
    return 0;
}
