/* The pen's rotor from its strokes: spin-up and spin-down times that
 * estimate the pen's behaviour, not the grid of stroke periods (docs/FILES.md
 * "Spin-up and stop time"). Pure computation.
 *
 * The needle's cam phase counts the rotor's revolutions (the analysis
 * tracks it from the displacement: a stroke is one revolution); its offset
 * C (where the needle was parked) is unknown. A DC motor's speed
 * follows a first-order response, so the revolutions are
 *
 *   spin-up    N(t) = F [ (t - t0) - tau (1 - e^-(t - t0)/tau) ],  t >= t0
 *   spin-down  N(t) = F (t - t1)                        t <= t1
 *              N(t) = F tau (1 - e^-(t - t1)/tau)        t >= t1
 *
 * with the rotor starting (t0) or starting to brake (t1), its time
 * constant tau and its running rate F as unknowns. For each (t0 or t1,
 * tau) on a grid, refined twice, F and C follow by linear least squares;
 * the best fit in revolutions is kept. Spin-up is then the time from t0
 * until the rate is within `band` of the setpoint; stop time the time from
 * t1 until the rate has fallen to `band` of what it was. Per-stroke jitter
 * averages out over the fit, which a per-period threshold does not. */
#ifndef RIG_CORE_ROTOR_H
#define RIG_CORE_ROTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The rotor's revolutions from the needle's position. The cam gives
 * p = hi - (hi - lo)(1 + cos theta)/2 (theta = 0: retracted, the start of
 * a stroke), so theta = acos(2 (hi - p)/(hi - lo) - 1) up to its half,
 * which the way the needle moves decides: out is the rising half (0..pi),
 * in the falling one. Steps are small (at most ~1/25 revolution at the
 * fastest rate) and only forward; a needle that has not moved (noise) keeps
 * its phase. */
#define ROTOR_TRACK_POINTS 400
struct rotor_track {
    double t[ROTOR_TRACK_POINTS];   /* s from the capture's first sample */
    double rev[ROTOR_TRACK_POINTS]; /* cam phase in revolutions, 0 = retracted */
    size_t n;
};
/* Track disp_nm[from, to) (sample rate fs; lo/hi the retracted and
 * protruded levels, nm) into tr, at most ROTOR_TRACK_POINTS evenly spread
 * points. A needle at rest when the window begins keeps the phase where it
 * is parked, on the half its first move says. Samples parked beyond the
 * strokes' range at the window's start are skipped. Returns tr->n; 0 when
 * a displacement sample is the sensor's "no target" or "out of range", or
 * the needle never moved. */
size_t rotor_track(const int32_t *disp_nm, double fs, double lo, double hi, size_t from, size_t to,
                   struct rotor_track *tr);

struct rotor_fit {
    bool ok;
    double t_cmd;   /* t0 (spin-up) or t1 (spin-down), s */
    double tau_s;   /* time constant */
    double rate_hz; /* F: the rate it runs (spin-up) or ran (spin-down) at */
    double rms_rev; /* fit residual, revolutions RMS */
};

/* Points (t[i] s, rev[i] revolutions turned, any offset), t increasing:
 * stroke crossings (rev = 0, 1, 2, ...) or the needle's tracked cam phase.
 * t_from: the earliest the command can have acted (the host's command
 * time). rate_hz > 0: F is known (fitted over a longer span) and only t0
 * or t1 and tau are fitted; 0: F is fitted too. Needs at least 6 points. */
void rotor_fit_spinup(const double *t, const double *rev, size_t n, double t_from, double rate_hz,
                      struct rotor_fit *out);
void rotor_fit_spindown(const double *t, const double *rev, size_t n, double t_from, double rate_hz,
                        struct rotor_fit *out);

/* Seconds from t0 to a rate within band (e.g. 0.05) of set_hz; negative
 * if the fitted rate never gets there. */
double rotor_time_to_band(const struct rotor_fit *f, double set_hz, double band);
/* The same for the rotor itself rather than its drive's response: each
 * revolution turns at its own speed (the stroke-to-stroke jitter). The
 * strokes' rising and falling mid-stroke crossings (rise_s[i] < fall_s[i],
 * s, half a revolution apart, in time order; NaN skips one) give each
 * revolution's speed relative to the fitted response; scaled by it within
 * that revolution, the first instant the speed is within the band counts.
 * Before the first stroke, or without strokes: rotor_time_to_band. */
double rotor_band_entry(const struct rotor_fit *f, const double *rise_s, const double *fall_s,
                        size_t n, double set_hz, double band);
/* Seconds from t1 until the rate is below frac (e.g. 0.05) of the rate it
 * ran at. */
double rotor_time_to_rest(const struct rotor_fit *f, double frac);

#endif
