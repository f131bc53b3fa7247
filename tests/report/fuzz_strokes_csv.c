/* libFuzzer: arbitrary bytes as a per-stroke file (strokes_parse). Either
 * it is refused with a message and nothing allocated, or every stroke it
 * returns holds what the contract promises. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "report/strokes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rep_strokes s;
    char err[200] = "";
    int rc = strokes_parse((const char *)data, size, &s, err, sizeof err);
    if (rc < 0) {
        if (s.v || s.n || !err[0])
            abort();
        return 0;
    }
    if ((s.n == 0) != (s.v == NULL) || s.n > STROKES_MAX)
        abort();
    for (size_t i = 0; i < s.n; i++) {
        const struct rep_stroke *t = &s.v[i];
        if (!isfinite(t->rise_s) || !isfinite(t->peak_s) || !isfinite(t->depth_mm) ||
            isinf(t->force_n))
            abort();
    }
    strokes_free(&s);
    return 0;
}
