/* Bounded sample ring (see sample_ring.h). */
#include "sample_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sample_ring_init(struct sample_ring *r, size_t cap_samples)
{
    memset(r, 0, sizeof *r);
    size_t cap = 1024;
    while (cap < cap_samples)
        cap <<= 1;
    r->force = calloc(cap, sizeof *r->force);
    r->disp = calloc(cap, sizeof *r->disp);
    if (!r->force || !r->disp) {
        free(r->force);
        free(r->disp);
        return -ENOMEM;
    }
    r->cap = cap;
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void sample_ring_free(struct sample_ring *r)
{
    if (!r->cap)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->force);
    free(r->disp);
    memset(r, 0, sizeof *r);
}

void sample_ring_restart(struct sample_ring *r, uint64_t first, uint32_t rate_hz)
{
    pthread_mutex_lock(&r->lock);
    if (r->end != r->seg_start)
        r->gaps++;
    r->seg_start = r->end = first;
    r->rate_hz = rate_hz;
    pthread_mutex_unlock(&r->lock);
}

void sample_ring_push(struct sample_ring *r, uint64_t first, const int32_t *force,
                      const int32_t *disp, size_t n)
{
    pthread_mutex_lock(&r->lock);
    if (first != r->end) {
        if (r->end != r->seg_start)
            r->gaps++;
        r->seg_start = r->end = first;
    }
    /* Only the newest cap samples can survive; skip the rest. */
    if (n > r->cap) {
        size_t skip = n - r->cap;
        force += skip;
        disp += skip;
        first += skip;
        n = r->cap;
    }
    size_t mask = r->cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t pos = (size_t)((first + i) & mask);
        r->force[pos] = force[i];
        r->disp[pos] = disp[i];
    }
    r->end = first + n;
    pthread_mutex_unlock(&r->lock);
}

int sample_ring_read(struct sample_ring *r, uint64_t first, size_t n, int32_t *force,
                     int32_t *disp)
{
    if (n > r->cap)
        return SRING_ARG;
    pthread_mutex_lock(&r->lock);
    int rc = SRING_OK;
    uint64_t oldest = r->end > r->cap ? r->end - r->cap : 0;
    /* Not first + n > end: that wraps for an index near UINT64_MAX. */
    if (first > r->end || n > r->end - first)
        rc = SRING_NOT_YET;
    else if (first < r->seg_start)
        rc = SRING_GAP;
    else if (first < oldest)
        rc = SRING_OVERWRITTEN;
    else {
        size_t mask = r->cap - 1;
        for (size_t i = 0; i < n; i++) {
            size_t pos = (size_t)((first + i) & mask);
            if (force)
                force[i] = r->force[pos];
            if (disp)
                disp[i] = r->disp[pos];
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void sample_ring_span(struct sample_ring *r, uint64_t *oldest, uint64_t *end, uint32_t *rate_hz)
{
    pthread_mutex_lock(&r->lock);
    uint64_t lo = r->end > r->cap ? r->end - r->cap : 0;
    if (lo < r->seg_start)
        lo = r->seg_start;
    if (oldest)
        *oldest = lo;
    if (end)
        *end = r->end;
    if (rate_hz)
        *rate_hz = r->rate_hz;
    pthread_mutex_unlock(&r->lock);
}
