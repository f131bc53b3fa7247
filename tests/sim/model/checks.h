/* Helpers of the simulator model's unit tests that assert (Check): a
 * model set up the usual way, its status, a run with ground truth read
 * back, statistics over the truth, and the pen's events. Used by
 * test_model.c, test_faults.c and test_params.c. */
#ifndef TESTS_SIM_MODEL_CHECKS_H
#define TESTS_SIM_MODEL_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpers.h"

struct sim_params tm_defaults(void);
/* A model whose rate has been set to 120 Hz (START needs a setpoint). */
struct sim_model *tm_model(const struct sim_params *p, uint64_t seed);
struct pen_status tm_status(const struct sim_model *m);
/* Mean and RMS spread of stroke rates of RUNNING strokes after t_from. */
void tm_rate_stats(const struct truth *t, double t_from, double *mean, double *sd, size_t *n);
double tm_mean_field(const struct truth *t, double t_from, size_t off);
#define MEAN_OF(t, from, field) tm_mean_field(t, from, offsetof(struct stroke_truth, field))
/* Run a started pen for dur with truth captured; returns the parsed truth. */
void tm_run_with_truth(const struct sim_params *p, uint64_t seed, uint64_t dur, struct truth *tr);
/* A pen started and RUNNING after 200 ms. */
struct sim_model *tm_running_pen(struct sim_params *p, uint64_t seed);
/* Takes the pending events: true when one of type is among them (a fault
 * event with a bit of fault, a state event into state). */
bool tm_has_event(struct sim_model *m, uint8_t type, uint32_t fault, uint8_t state);

#endif
