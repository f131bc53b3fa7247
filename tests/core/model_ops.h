/* struct rig_ops on top of the simulator's physics model (rig/sim/model),
 * in virtual time and without umockdev: lets the engine's tests compare
 * analysis against the ground truth the model writes, and run the shipped
 * sequences against the same physics rigsim uses. (The full path through
 * drivers, rigd and rigsim is covered by the integration tests.) */
#ifndef RIG_TESTS_CORE_MODEL_OPS_H
#define RIG_TESTS_CORE_MODEL_OPS_H

#include <stdio.h>

#include "sim/model/model.h"
#include "core/run.h"

struct model_bench {
    struct sim_model *m;
    uint64_t now_ns;
    struct sh_calibration cal;
    uint64_t next_index; /* next sample index expected from the sensor */
    bool capturing;
    int32_t *force, *disp;
    size_t n, cap;
    uint64_t first;
    uint32_t flags;        /* AN_F_* seen during the capture */
    double sensor_start_s; /* model time of sample 0 */
    unsigned stops;
    struct timespec wall;
};

/* Returns 0, or -1 if the model refuses the parameters. */
int model_bench_init(struct model_bench *b, const struct sim_params *p, uint64_t seed, FILE *truth);
void model_bench_free(struct model_bench *b);
/* Advance model time by seconds, draining the sensor FIFO. */
int model_bench_advance(struct model_bench *b, double seconds);
extern const struct rig_ops model_ops;

#endif
