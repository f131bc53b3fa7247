/* Bounded ring of calibrated sensor samples, addressed by absolute sample
 * index (the sensor head's first_sample counter), so a consumer asks for
 * "samples [i, i+n)" and learns precisely whether they are still there.
 *
 * Samples after a discontinuity (lost blocks, device overrun, restart) are
 * never stitched to the ones before: the ring remembers the index where the
 * current contiguous segment starts and a read that reaches back before it
 * fails with SRING_GAP. The writer is the sensor driver (event-loop thread);
 * readers may be other threads (the engine), so a mutex guards it.
 */
#ifndef RIG_DEV_SAMPLE_RING_H
#define RIG_DEV_SAMPLE_RING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct sample_ring {
    pthread_mutex_t lock;
    int32_t *force;             /* uN, calibrated */
    int32_t *disp;              /* nm, calibrated; SH_NO_TARGET/SH_OUT_OF_RANGE pass through */
    size_t cap;                 /* power of two */
    uint64_t seg_start;         /* first index of the current contiguous segment */
    uint64_t end;               /* one past the newest sample */
    uint64_t gaps;              /* discontinuities seen */
    uint32_t rate_hz;
};

enum sring_result {
    SRING_OK = 0,
    SRING_GAP = -1,             /* range starts before the current segment (gap or restart) */
    SRING_OVERWRITTEN = -2,     /* range already overwritten (reader too slow) */
    SRING_NOT_YET = -3,         /* range extends past the newest sample */
    SRING_ARG = -4,
};

/* cap_samples is rounded up to a power of two. 0 or -ENOMEM. */
int sample_ring_init(struct sample_ring *r, size_t cap_samples);
void sample_ring_free(struct sample_ring *r);

/* Start a new segment at index `first` (after a gap or a stream start). */
void sample_ring_restart(struct sample_ring *r, uint64_t first, uint32_t rate_hz);
/* Append n samples starting at index `first`. If first != end, a new
 * segment starts (counted as a gap when data existed before). */
void sample_ring_push(struct sample_ring *r, uint64_t first, const int32_t *force,
                      const int32_t *disp, size_t n);

/* Copy samples [first, first+n) out. Returns SRING_OK or an error above. */
int sample_ring_read(struct sample_ring *r, uint64_t first, size_t n, int32_t *force,
                     int32_t *disp);

/* Snapshot of the readable range [*seg_start, *end) and the rate. */
void sample_ring_span(struct sample_ring *r, uint64_t *oldest, uint64_t *end, uint32_t *rate_hz);


#endif
