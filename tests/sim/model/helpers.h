/* Shared helpers for the simulator model tests and benchmark: drive the
 * model like the emulators do (heartbeats, draining the sensor FIFO) and
 * read the ground-truth lines back. */
#ifndef TESTS_SIM_MODEL_HELPERS_H
#define TESTS_SIM_MODEL_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/model/model.h"

#define MS  1000000ull
#define SEC 1000000000ull

/* Everything the sensor produced, in order, with per-block checks. */
struct capture {
    int32_t *force, *disp;
    uint64_t *index; /* sample index of each frame */
    size_t n, cap;
    uint32_t blocks, next_seq;
    uint32_t overrun_blocks, no_target_blocks, last_blocks;
    uint64_t first_after_overrun; /* first_sample of the latest OVERRUN block */
    bool header_error;            /* magic/version/channels/size/rate/count wrong */
    bool seq_error;               /* seq not +1 per block */
    bool index_error;             /* first_sample went backwards or skipped without OVERRUN */
};

void capture_init(struct capture *c);
void capture_free(struct capture *c);
/* Take every waiting frame, in blocks of at most max frames. */
void capture_drain(struct sim_model *m, struct capture *c, uint32_t max);

/* Run to t, feeding the watchdog every 50 ms and draining the sensor (if c)
 * every 10 ms, the way the emulators would. */
void run_fed(struct sim_model *m, uint64_t t, struct capture *c);

/* Ground truth read back from a tmpfile. */
struct stroke_truth {
    double t, t_rise, t_peak, period, rate, set_rate, protrusion, set_depth, peak_force;
    bool whole; /* driven throughout (else only up to its rise) */
    char state[16];
};
struct truth {
    struct stroke_truth *s;
    size_t n;
    char states[64][16]; /* state names of "state" events in order */
    char reasons[64][16];
    size_t nstates;
    bool parse_error;
};
void truth_read(FILE *f, struct truth *t);
void truth_free(struct truth *t);

#endif
