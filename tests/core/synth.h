/* Synthetic bench for the engine's tests: a cam-driven needle
 * d(t) = D_k - (S/2)(1 + cos theta(t)) with per-stroke depth noise, period
 * jitter, spin-up/spin-down, sensor noise, fixture ringing, and a force
 * model (phantom deflection up to puncture, then a friction plateau).
 * Stateful, so a test can start/stop the motor between sample chunks like
 * a real bench. Deterministic for a given seed. Records ground truth. */
#ifndef RIG_TESTS_CORE_SYNTH_H
#define RIG_TESTS_CORE_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct synth_params {
    double fs;                          /* samples/s */
    double rate_hz;                     /* stroke-rate setpoint */
    double rate_bias_pct;               /* steady-state rate error */
    double depth_mm;                    /* protrusion at the bottom of the stroke */
    double depth_bias_mm;               /* unit bias added to depth_mm */
    double depth_noise_mm;              /* per-stroke RMS */
    double stroke_mm;                   /* 3.5 */
    double noise_um;                    /* displacement sensor noise RMS */
    double jitter_pct;                  /* per-period RMS */
    double ring_mm, ring_hz, ring_zeta; /* displacement ringing after each peak */
    double spinup_tau_s;                /* 0 = instant */
    double spindown_tau_s;              /* 0 = instant */
    double force_peak_n;                /* puncture force (0 = no force signal) */
    double phantom_k;                   /* N/mm */
    double force_noise_n;
    double force_ring_frac; /* force ringing amplitude as a fraction of the drop */
    double tear_s;          /* puncture: raised-cosine fall over this long
                                (0 = instant drop to the plateau) */
    double plateau_frac;    /* friction plateau as a fraction of the peak (0.45) */
    double theta0;          /* cam angle at rest before the first start
                                (0 = retracted, pi = fully protruded) */
    uint64_t seed;
};

void synth_defaults(struct synth_params *p); /* 100 Hz, 1 mm, 50 kS/s, clean */

struct synth {
    struct synth_params p;
    double t, theta, speed, f_cur, depth_cur;
    bool running, punctured, have_peak_ring, force_ring;
    double ring_t0, fring_t0, fring_amp;
    double punct_t;        /* exact puncture time (between samples) */
    double prev_d, prev_t; /* the previous sample's protrusion and time */
    uint64_t rng;
    uint64_t index; /* next sample index */
    /* ground truth */
    size_t peaks; /* peaks since the last truth reset */
    double first_peak_t, last_peak_t, prev_peak_t, depth_sum;
    double first_at_speed_t; /* first time speed >= 0.95 after start, -1 */
    double peak_force_sum;   /* sum of the strokes' puncture forces (truth) */
    size_t punctures;
};

void synth_init(struct synth *s, const struct synth_params *p);
void synth_set_running(struct synth *s, bool on);
void synth_truth_reset(struct synth *s);
void synth_generate(struct synth *s, size_t n, int32_t *force_un, int32_t *disp_nm);

#endif
