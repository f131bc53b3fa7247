/* Measuring a mount of a pen in the simulated fixture as an analyst
 * would, for the mount tests (test_mount.c): the model's ground-truth lines
 * followed as they grow, small statistics, and a measured run -- the depth
 * reading, force peak, elastic rise and contact point of each stroke from
 * the sensor's samples, with the same strokes' truth beside them. Every
 * function fails the running Check test on anything unexpected.
 */
#ifndef TESTS_SIM_MODEL_MOUNT_ANALYST_H
#define TESTS_SIM_MODEL_MOUNT_ANALYST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "helpers.h"

/* ---- the model's ground truth, followed as it grows ---- */

struct mount_line {
    char why[16];
    double session, mount;
    double disp_zero_um, seat_um, k_factor, puncture_factor, k_n_per_mm;
    double drift_mn_per_min, settle_min, zero_shift_mn;
};

struct stroke_line {
    double t_peak, protrusion, peak_force, penetration;
};

struct follow {
    FILE *f;
    long off;
    struct mount_line mounts[4096];
    size_t nmounts;
    struct stroke_line *strokes;
    size_t nstrokes, cap;
    size_t sessions; /* "session" event lines */
};

/* Follow the truth lines model m writes from now on. */
void follow_init(struct follow *fo, struct sim_model *m);
/* Read the lines the model wrote since the last call. */
void follow_read(struct follow *fo);
void follow_free(struct follow *fo);
/* The latest mount's truth (there is one). */
const struct mount_line *follow_last_mount(const struct follow *fo);

/* ---- small statistics ---- */

struct moments {
    double n, sum, sum2;
};

void moments_add(struct moments *s, double x);
double moments_mean(const struct moments *s);
double moments_sd(const struct moments *s);
/* The spread of s is want within tol x its standard error, and its mean 0
 * within 4 x the standard error of a mean. */
void moments_assert_sd(const char *what, const struct moments *s, double want, double tol);

/* ---- measuring a mount ---- */

struct meas {
    double depth_mm;   /* mean per-stroke top of the displacement */
    double peak_n;     /* mean per-stroke force peak above the zero */
    double k_n_per_mm; /* slope of the elastic rise, force vs displacement */
    double contact_mm; /* displacement reading where that rise starts */
    size_t strokes;
    size_t first_top, last_top;          /* sample index of the first and last stroke's top */
    double truth_depth_mm, truth_peak_n; /* the same strokes' truth */
};

struct pen_status pen_status_of(const struct sim_model *m);
/* Run until the pen is IDLE (at most 2 s). */
void pen_wait_rest(struct sim_model *m);
/* One run as the rig makes it on the current mount: the pen at 120 Hz,
 * settled, the sensor streaming for `ms`, then stopped and at rest; w gets
 * the measurement and the truth of exactly the strokes measured. */
void mount_measured_run(struct sim_model *m, struct follow *fo, uint64_t ms, struct meas *w);
/* The default bench with the documented mount variation turned on. */
struct sim_params mount_msa_params(void);

#endif
