/* The synthetic benches' capture buffer (two parallel sample arrays that
 * grow together), shared by bench_ops.c and model_ops.c. */
#ifndef TESTS_CORE_CAPBUF_H
#define TESTS_CORE_CAPBUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Make room for `more` frames after the n held: 0, or -ENOMEM with the
 * arrays still valid (whichever realloc worked keeps its new block). */
static inline int capbuf_reserve(int32_t **force, int32_t **disp, size_t n, size_t *cap,
                                 size_t more)
{
    if (n + more <= *cap)
        return 0;
    size_t ncap = (n + more) * 2;
    int32_t *f = realloc(*force, ncap * sizeof *f);
    if (f)
        *force = f;
    int32_t *d = realloc(*disp, ncap * sizeof *d);
    if (d)
        *disp = d;
    if (!f || !d)
        return -ENOMEM;
    *cap = ncap;
    return 0;
}

#endif
