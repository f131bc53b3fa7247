/* Rotor fits (see rotor.h). */
#include "core/rotor.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define GRID                12 /* points per axis of each search round */
#define ROUNDS              5  /* the grid shrinks around the best point */
#define TAU_MIN_S           0.0005
#define TAU_MAX_S           0.5
#define MIN_POINTS          6
/* Tracking steps: at most 1/STEPS_PER_REV revolution at MAX_HZ (0.25
 * rad); a step larger than MAX_STEP forward is not a move (a step back
 * never is). A needle that moved less than MOVE_NM since it last moved has
 * not moved (5 x its sensor noise): it keeps its phase, so noise at rest
 * never turns the rotor. */
#define TRACK_MAX_HZ        160.0
#define TRACK_STEPS_PER_REV 25.0
#define TRACK_MAX_STEP      1.0
#define TRACK_MOVE_NM       1000.0
#define DISP_NO_TARGET      INT32_MIN
#define DISP_OUT_OF_RANGE   (INT32_MIN + 1)

enum kind { SPINUP, SPINDOWN };

/* Revolutions per unit F at time t for command time tc, time constant tau. */
static double shape(enum kind k, double t, double tc, double tau)
{
    double x = t - tc;
    if (k == SPINUP)
        return x <= 0 ? 0 : x - tau * (1 - exp(-x / tau));
    return x <= 0 ? x : tau * (1 - exp(-x / tau));
}

/* Least squares of rev_i + C = F shape(t_i) for F and C (for C alone when
 * *F > 0 on entry: the rate is known); returns the SSE in revolutions
 * (INFINITY if degenerate). */
static double fit_linear(enum kind k, const double *t, const double *rev, size_t n, double tc,
                         double tau, double h, double *F)
{
    double sg = 0, sgg = 0, si = 0, sgi = 0, sii = 0;
    /* With the points h apart, e^-(t - tc)/tau steps by a constant factor:
     * one exp per fit instead of one per point (the fits' grid search
     * was most of a start or stop capture's analysis). */
    double e = 0, r = h > 0 ? exp(-h / tau) : 0;
    bool have_e = false;
    for (size_t i = 0; i < n; i++) {
        double x = t[i] - tc, g;
        if (x <= 0) {
            g = k == SPINUP ? 0 : x;
        } else {
            e = have_e && h > 0 ? e * r : exp(-x / tau);
            have_e = true;
            g = k == SPINUP ? x - tau * (1 - e) : tau * (1 - e);
        }
        sg += g, sgg += g * g, si += rev[i], sgi += g * rev[i], sii += rev[i] * rev[i];
    }
    double nn = (double)n, den = nn * sgg - sg * sg;
    if (!(den > 0))
        return INFINITY;
    /* rev = F g - C  ->  F = (n sgi - sg si) / den, C = (F sg - si) / n */
    double f = *F > 0 ? *F : (nn * sgi - sg * si) / den, c = (f * sg - si) / nn;
    /* SSE = sum (rev - F g + C)^2, expanded: no second pass */
    double sse = sii + f * f * sgg + nn * c * c - 2 * f * sgi + 2 * c * si - 2 * f * c * sg;
    *F = f;
    return sse > 0 ? sse : 0;
}

static void fit(enum kind k, const double *t, const double *rev, size_t n, double t_from,
                double rate_hz, struct rotor_fit *out)
{
    out->ok = false;
    if (n < MIN_POINTS || !(t[n - 1] > t[0]))
        return;
    /* The command acts after t_from and before the last point. */
    double lo = t_from, hi = t[n - 1];
    if (!(hi > lo))
        lo = hi - 0.05;
    double llo = log(TAU_MIN_S), lhi = log(TAU_MAX_S);
    /* evenly spaced points (rotor_track's are): see fit_linear */
    double h = (t[n - 1] - t[0]) / (double)(n - 1);
    for (size_t i = 1; i < n && h > 0; i++)
        if (fabs(t[i] - t[i - 1] - h) > 1e-9 * h)
            h = 0;
    double best = INFINITY, b_tc = lo, b_ltau = llo, b_F = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double dtc = (hi - lo) / (GRID - 1), dl = (lhi - llo) / (GRID - 1);
        for (int a = 0; a < GRID; a++)
            for (int b = 0; b < GRID; b++) {
                double tc = lo + a * dtc, ltau = llo + b * dl, F = rate_hz;
                double sse = fit_linear(k, t, rev, n, tc, exp(ltau), h, &F);
                if (sse < best && F > 0) {
                    best = sse;
                    b_tc = tc;
                    b_ltau = ltau;
                    b_F = F;
                }
            }
        /* zoom in around the best point, two grid steps either side */
        double ntc_lo = b_tc - 2 * dtc, ntc_hi = b_tc + 2 * dtc;
        lo = ntc_lo > t_from ? ntc_lo : t_from;
        hi = ntc_hi < t[n - 1] ? ntc_hi : t[n - 1];
        llo = b_ltau - 2 * dl;
        lhi = b_ltau + 2 * dl;
    }
    if (!isfinite(best))
        return;
    out->ok = true;
    out->t_cmd = b_tc;
    out->tau_s = exp(b_ltau);
    out->rate_hz = b_F;
    out->rms_rev = sqrt(best / (double)n);
}

void rotor_fit_spinup(const double *t, const double *rev, size_t n, double t_from, double rate_hz,
                      struct rotor_fit *out)
{
    fit(SPINUP, t, rev, n, t_from, rate_hz, out);
}

void rotor_fit_spindown(const double *t, const double *rev, size_t n, double t_from, double rate_hz,
                        struct rotor_fit *out)
{
    fit(SPINDOWN, t, rev, n, t_from, rate_hz, out);
}

double rotor_time_to_band(const struct rotor_fit *f, double set_hz, double band)
{
    /* F (1 - e^-x/tau) reaches the band edge on its way up */
    double target = (1 - band) * set_hz;
    if (!f->ok || !(f->rate_hz > target) || fabs(f->rate_hz - set_hz) > band * set_hz)
        return -1;
    return -f->tau_s * log(1 - target / f->rate_hz);
}

double rotor_time_to_rest(const struct rotor_fit *f, double frac)
{
    if (!f->ok || !(frac > 0 && frac < 1))
        return -1;
    return -f->tau_s * log(frac);
}

static bool disp_ok(int32_t d)
{
    return d != DISP_NO_TARGET && d != DISP_OUT_OF_RANGE;
}

size_t rotor_track(const int32_t *disp_nm, double fs, double lo, double hi, size_t from, size_t to,
                   struct rotor_track *tr)
{
    tr->n = 0;
    if (!(hi > lo) || !(fs > 0) || to <= from)
        return 0;
    /* A needle parked beyond the strokes' range (a deeper setting before
     * this one) is not on the cam: track from where it is back on it. */
    while (from < to && disp_ok(disp_nm[from]) &&
           (disp_nm[from] > hi + TRACK_MOVE_NM || disp_nm[from] < lo - TRACK_MOVE_NM))
        from++;
    double span = hi - lo;
    size_t step = (size_t)(fs / (TRACK_MAX_HZ * TRACK_STEPS_PER_REV));
    if (step < 1)
        step = 1;
    size_t steps = to > from ? (to - from) / step + 1 : 0;
    size_t keep = steps / ROTOR_TRACK_POINTS + 1, n = 0, k = 0;
    double u = NAN;  /* unknown until the needle first moves */
    int32_t ref = 0; /* where it was when it last moved */
    bool have_ref = false;
    for (size_t i = from; i < to; i += step, k++) {
        int32_t d = disp_nm[i];
        if (!disp_ok(d))
            return tr->n = 0;
        double c = 2 * (hi - d) / span - 1;
        double th = acos(c < -1 ? -1 : c > 1 ? 1 : c);
        if (!have_ref) {
            ref = d;
            have_ref = true;
        } else if (fabs((double)d - ref) >= TRACK_MOVE_NM) {
            /* It moved: out (displacement up) is the rising half of the
             * turn, theta in (0, pi); in is the falling half. The way it
             * moves decides, not the nearest branch: near a turning point
             * both branches are close, and a stroke whose depth differs
             * from the last (a dip at the bottom) made the nearest one
             * the wrong one and stalled the tracker for a revolution. */
            double now = d > ref ? th : 2 * M_PI - th;
            if (isnan(u)) {
                /* its phase until now: where it rested, on that half */
                double c0 = 2 * (hi - ref) / span - 1;
                double th0 = acos(c0 < -1 ? -1 : c0 > 1 ? 1 : c0);
                u = d > ref ? th0 : 2 * M_PI - th0;
                for (size_t j = 0; j < n; j++)
                    tr->rev[j] = u / (2 * M_PI);
            }
            double fwd = fmod(now - fmod(u, 2 * M_PI) + 4 * M_PI, 2 * M_PI);
            if (fwd < TRACK_MAX_STEP) /* the rotor only turns forward */
                u += fwd;
            ref = d;
        }
        if (k % keep == 0 && n < ROTOR_TRACK_POINTS) {
            tr->t[n] = (double)i / fs;
            tr->rev[n++] = u / (2 * M_PI);
        }
    }
    if (isnan(u))
        return tr->n = 0; /* never moved: nothing to fit */
    tr->n = n;
    return n;
}

double rotor_band_entry(const struct rotor_fit *f, const double *rise_s, const double *fall_s,
                        size_t n, double set_hz, double band)
{
    double smooth = rotor_time_to_band(f, set_hz, band);
    if (smooth < 0)
        return smooth;
    double target = (1 - band) * set_hz, t0 = f->t_cmd, tau = f->tau_s, F = f->rate_hz;
    double begin = t0; /* where the current revolution began */
    for (size_t j = 0; j < n; j++) {
        double r = rise_s[j], d = fall_s[j];
        if (!(r > t0) || !(d > r))
            continue;
        /* The revolution around this stroke: from a quarter turn before
         * its rise to a quarter turn after its fall, at the fitted speed. */
        double quarter = 0.25 / (F * (1 - exp(-(r - t0) / tau)));
        double start = fmax(begin, r - quarter);
        if (smooth + t0 < start)
            return smooth; /* in band before this revolution */
        double turned = F * (shape(SPINUP, d, t0, tau) - shape(SPINUP, r, t0, tau));
        if (!(turned > 0))
            return smooth;
        double k = 0.5 / turned; /* it turned half a revolution rise to fall */
        double end = d + 0.25 / (k * F * (1 - exp(-(d - t0) / tau)));
        if (k * F > target) {
            /* k F (1 - e^-(t - t0)/tau) = target */
            double t = t0 - tau * log(1 - target / (k * F));
            if (t <= start)
                return start - t0; /* in band as this revolution began */
            if (t <= end)
                return t - t0;
        }
        begin = end;
    }
    return smooth;
}
