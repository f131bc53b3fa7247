/* Rotor fits (see rotor.h). */
#include "rotor.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define GRID 12                 /* points per axis of each search round */
#define ROUNDS 5                /* the grid shrinks around the best point */
#define TAU_MIN_S 0.0005
#define TAU_MAX_S 0.5
#define MIN_POINTS 6
/* Tracking steps: at most 1/STEPS_PER_REV revolution at MAX_HZ (0.25
 * rad); a step larger than MAX_STEP is not a move. It must stay well below
 * the distance to the other half's position: a needle parked near a
 * quarter turn (0.4 rad from its mirror image) jumped there on a step of
 * noise backwards when this was pi/2, and read a spin-up 6 ms short. */
#define TRACK_MAX_HZ 160.0
#define TRACK_STEPS_PER_REV 25.0
#define TRACK_MAX_STEP 0.5
/* A needle that moves less than this from where a window begins, for at
 * least TRACK_REST_MIN_S, is at rest there (25 x the sensor's noise). */
#define TRACK_REST_NM 5000.0
#define TRACK_REST_MIN_S 0.0005
#define DISP_NO_TARGET INT32_MIN
#define DISP_OUT_OF_RANGE (INT32_MIN + 1)

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

void rotor_fit_spinup(const double *t, const double *rev, size_t n, double t_from,
                      double rate_hz, struct rotor_fit *out)
{
    fit(SPINUP, t, rev, n, t_from, rate_hz, out);
}

void rotor_fit_spindown(const double *t, const double *rev, size_t n, double t_from,
                        double rate_hz, struct rotor_fit *out)
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

/* Track from `from` on the given half; the needle rests until sample
 * rest_until (its phase stays where it is parked: noise is no move). */
static size_t track_half(const int32_t *disp, double fs, double lo, double hi, size_t from,
                         size_t to, size_t rest_until, bool falling, struct rotor_track *tr)
{
    double span = hi - lo;
    size_t step = (size_t)(fs / (TRACK_MAX_HZ * TRACK_STEPS_PER_REV));
    if (step < 1)
        step = 1;
    size_t steps = (to - from) / step + 1;
    size_t keep = steps / ROTOR_TRACK_POINTS + 1, n = 0, k = 0;
    double u = NAN;
    for (size_t i = from; i < to; i += step, k++) {
        int32_t d = disp[i];
        if (d == DISP_NO_TARGET || d == DISP_OUT_OF_RANGE)
            return 0;
        double c = 2 * (hi - d) / span - 1;
        double th = acos(c < -1 ? -1 : c > 1 ? 1 : c);
        if (isnan(u)) {
            u = falling ? 2 * M_PI - th : th;
        } else if (i >= rest_until) {
            /* The rotor only turns forward: the branch that is the smaller
             * step ahead, unless both are far. */
            double at = fmod(u, 2 * M_PI);
            double f1 = fmod(th - at + 4 * M_PI, 2 * M_PI);
            double f2 = fmod(2 * M_PI - th - at + 4 * M_PI, 2 * M_PI);
            double fwd = f1 < f2 ? f1 : f2;
            if (fwd < TRACK_MAX_STEP)
                u += fwd;
        }
        if (k % keep == 0 && n < ROTOR_TRACK_POINTS) {
            tr->t[n] = (double)i / fs;
            tr->rev[n++] = u / (2 * M_PI);
        }
    }
    return n;
}

size_t rotor_track(const int32_t *disp_nm, double fs, double lo, double hi, size_t from,
                   size_t to, struct rotor_track *tr)
{
    tr->n = 0;
    if (!(hi > lo) || !(fs > 0) || to <= from)
        return 0;
    /* A needle parked beyond the strokes' range (a deeper setting before
     * this one) is not on the cam: track from where it is back on it. */
    while (from < to && disp_nm[from] != DISP_NO_TARGET && disp_nm[from] != DISP_OUT_OF_RANGE &&
           (disp_nm[from] > hi + TRACK_REST_NM || disp_nm[from] < lo - TRACK_REST_NM))
        from++;
    if (from >= to)
        return 0;
    /* A needle at rest when the window begins (a start, before the rotor
     * moves): it stays parked until it has clearly moved, and the way it
     * first moves (in or out) says which half of the turn it is on. */
    size_t m = from;
    int32_t d0 = disp_nm[from];
    while (m < to && disp_nm[m] != DISP_NO_TARGET && disp_nm[m] != DISP_OUT_OF_RANGE &&
           fabs((double)disp_nm[m] - d0) < TRACK_REST_NM)
        m++;
    /* (parked outside the strokes' range -- a deeper setting before this
     * one -- its position says nothing about the cam's) */
    if (m < to && m > from + (size_t)(TRACK_REST_MIN_S * fs) && d0 > lo && d0 < hi &&
        disp_nm[m] != DISP_NO_TARGET && disp_nm[m] != DISP_OUT_OF_RANGE) {
        /* (rest ends a step before the move, so the first step sees it) */
        size_t step = (size_t)(fs / (TRACK_MAX_HZ * TRACK_STEPS_PER_REV));
        size_t rest_until = m > from + step ? m - step : from;
        tr->n = track_half(disp_nm, fs, lo, hi, from, to, rest_until, disp_nm[m] < d0, tr);
        return tr->n;
    }
    struct rotor_track alt;
    size_t n = track_half(disp_nm, fs, lo, hi, from, to, from, false, tr);
    size_t n2 = track_half(disp_nm, fs, lo, hi, from, to, from, true, &alt);
    if (n2 > 0 && (n == 0 || alt.rev[n2 - 1] - alt.rev[0] > tr->rev[n - 1] - tr->rev[0])) {
        *tr = alt;
        n = n2;
    }
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
    double begin = t0;          /* where the current revolution began */
    for (size_t j = 0; j < n; j++) {
        double r = rise_s[j], d = fall_s[j];
        if (!(r > t0) || !(d > r))
            continue;
        /* The revolution around this stroke: from a quarter turn before
         * its rise to a quarter turn after its fall, at the fitted speed. */
        double quarter = 0.25 / (F * (1 - exp(-(r - t0) / tau)));
        double start = fmax(begin, r - quarter);
        if (smooth + t0 < start)
            return smooth;      /* in band before this revolution */
        double turned = F * (shape(SPINUP, d, t0, tau) - shape(SPINUP, r, t0, tau));
        if (!(turned > 0))
            return smooth;
        double k = 0.5 / turned;    /* it turned half a revolution rise to fall */
        double end = d + 0.25 / (k * F * (1 - exp(-(d - t0) / tau)));
        if (k * F > target) {
            /* k F (1 - e^-(t - t0)/tau) = target */
            double t = t0 - tau * log(1 - target / (k * F));
            if (t <= start)
                return start - t0;  /* in band as this revolution began */
            if (t <= end)
                return t - t0;
        }
        begin = end;
    }
    return smooth;
}
