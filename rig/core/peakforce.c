/* Puncture peak estimator (see peakforce.h). */
#include "core/peakforce.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define RISE_SAMPLES        5      /* rise curve through this many samples */
#define RISE_NOISE_FRAC     0.004  /* rise residuals below this share of the rise: noise */
#define MAX_FALL            6      /* falling samples used by the tear fit */
#define TEAR_PRIOR_S        0.0002 /* start of the tear-duration search */
#define LM_ITERATIONS       12
#define TEAR_MARGIN         0.5  /* samples: fitted only this far inside the tear */
#define STEP_DONE           1e-4 /* samples: an LM step this small has converged */
#define CANDIDATE_TEAR_FRAC 0.02 /* see rise_end_candidates */
#define CANDIDATE_RISE_FRAC 0.004

struct fit {
    double a, b, c;                  /* rise: F = a + b x + c x^2 (x: see x_at) */
    const int32_t *disp;             /* the needles' position, or NULL */
    double q[3];                     /* with disp: x(t) = q0 + q1 t + q2 t^2 */
    size_t r_end;                    /* last rise sample */
    double x[MAX_FALL], y[MAX_FALL]; /* fall samples: t - r_end, value */
    int k;
    double t_max;                         /* longest tear, samples */
    double fitted_tp, fitted_T, fitted_P; /* the last fit's result */
    bool warm;                            /* there was one */
    double plateau;                       /* P when known from the data (NaN: fitted) */
};

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Solve the 3x3 system m x = y (Cramer); false if singular. */
static bool solve3(double m[3][3], const double y[3], double x[3])
{
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                 m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if (!(fabs(det) > 1e-300))
        return false;
    for (int col = 0; col < 3; col++) {
        double c[3][3];
        memcpy(c, m, sizeof c);
        for (int row = 0; row < 3; row++)
            c[row][col] = y[row];
        x[col] = (c[0][0] * (c[1][1] * c[2][2] - c[1][2] * c[2][1]) -
                  c[0][1] * (c[1][0] * c[2][2] - c[1][2] * c[2][0]) +
                  c[0][2] * (c[1][0] * c[2][1] - c[1][1] * c[2][0])) /
                 det;
    }
    return true;
}

/* The rise's regressor at t (samples after r_end): how far the needles
 * have advanced since r_end (nm, interpolated through r_end - 1 .. r_end
 * + 1) when their position is known -- the press is elastic, so linear in
 * it, however the cam bends it in time -- or else the time itself. */
static double x_at(const struct fit *ft, double t)
{
    return ft->disp ? ft->q[0] + (ft->q[1] + ft->q[2] * t) * t : t;
}

static double dx_at(const struct fit *ft, double t)
{
    return ft->disp ? ft->q[1] + 2 * ft->q[2] * t : 1;
}

static double rise_at(const struct fit *ft, double t)
{
    double x = x_at(ft, t);
    return ft->a + (ft->b + ft->c * x) * x;
}

/* The regressor at sample e - i. */
static double x_sample(const struct fit *ft, size_t e, int i)
{
    return ft->disp ? (double)ft->disp[e - (size_t)i] - (double)ft->disp[e] : -(double)i;
}

/* The rise through f[e-n+1..e], time relative to e: a least-squares line,
 * or a parabola where the line leaves a curvature the samples' noise
 * cannot explain (the cam bends the elastic rise near the top of a
 * shallow stroke; on a steep, straight rise a parabola would only fit the
 * noise and extrapolate it). false unless it rises at e. */
static bool rise_curve(const int32_t *f, size_t e, int n, double amp, struct fit *ft)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
    for (int i = 0; i < n; i++) {
        double x = x_sample(ft, e, i), y = f[e - (size_t)i], x2 = x * x;
        s0 += 1, s1 += x, s2 += x2, s3 += x2 * x, s4 += x2 * x2;
        t0 += y, t1 += x * y, t2 += x2 * y;
    }
    /* line */
    double den = s0 * s2 - s1 * s1;
    if (!(fabs(den) > 0))
        return false;
    double b = (s0 * t1 - s1 * t0) / den, a = (t0 - b * s1) / s0;
    double m[3][3] = { { s4, s3, s2 }, { s3, s2, s1 }, { s2, s1, s0 } };
    double r[3] = { t2, t1, t0 }, k[3];
    bool curved = false;
    if (n >= 4 && solve3(m, r, k)) {
        double sse_l = 0, sse_q = 0;
        for (int i = 0; i < n; i++) {
            double x = x_sample(ft, e, i), y = f[e - (size_t)i];
            double el = y - (a + b * x), eq = y - (k[2] + (k[1] + k[0] * x) * x);
            sse_l += el * el;
            sse_q += eq * eq;
        }
        double floor = RISE_NOISE_FRAC * amp;
        curved = sse_l > 4 * sse_q && sse_l > floor * floor * n;
    }
    ft->a = curved ? k[2] : a;
    ft->b = curved ? k[1] : b;
    ft->c = curved ? k[0] : 0;
    return ft->b > 0;
}

/* Sum of squared residuals of the tear model at p = {tp, T, P}; with
 * jac != NULL also the Gauss-Newton normal equations. tp is relative to
 * r_end (0..1), T in samples. */
static double tear_sse(const struct fit *ft, const double p[3], double jtj[3][3], double jtr[3])
{
    double tp = p[0], T = p[1], P = p[2];
    double L = rise_at(ft, tp), h = L - P;
    double dL = (ft->b + 2 * ft->c * x_at(ft, tp)) * dx_at(ft, tp);
    double sse = 0;
    if (jtj) {
        memset(jtj, 0, 9 * sizeof jtj[0][0]);
        memset(jtr, 0, 3 * sizeof jtr[0]);
    }
    for (int i = 0; i < ft->k; i++) {
        double x = ft->x[i] - tp, g, dg_dx = 0, sin2 = 0;
        if (x >= T) {
            g = 0;
        } else {
            double sn, cs;
            sincos(M_PI * x / (2 * T), &sn, &cs);
            g = cs * cs;
            sin2 = 2 * sn * cs; /* sin(pi x / T) */
            dg_dx = -(M_PI / (2 * T)) * sin2;
        }
        double r = ft->y[i] - (P + h * g);
        sse += r * r;
        if (!jtj)
            continue;
        /* d model / d(tp, T, P) */
        double j[3] = {
            dL * g - h * dg_dx,
            x < T ? h * (M_PI * x / (2 * T * T)) * sin2 : 0,
            1 - g,
        };
        for (int u = 0; u < 3; u++) {
            jtr[u] += j[u] * r;
            for (int v = 0; v < 3; v++)
                jtj[u][v] += j[u] * j[v];
        }
    }
    return sse;
}

/* Residual of fall sample i for the fitted model with peak F(tp). */
static double tear_residual(const struct fit *ft, int i, double peak, double tp)
{
    double x = ft->x[i] - tp, T = ft->fitted_T, g = 0;
    if (x < T) {
        double c = cos(M_PI * x / (2 * T));
        g = c * c;
    }
    return ft->y[i] - (ft->fitted_P + (peak - ft->fitted_P) * g);
}

/* Levenberg-Marquardt on (tp, T, P), bounded. Returns the residual SSE
 * per sample; the peak F(tp) in *peak, tp (relative to r_end) in *tp. */
static double fit_tear(struct fit *ft, double fs, double *peak, double *tp_out)
{
    double p[3] = { 0.5, clamp(TEAR_PRIOR_S * fs, 0.3, ft->t_max),
                    isfinite(ft->plateau) ? ft->plateau : ft->y[ft->k - 1] };
    if (ft->warm) { /* a refit with fewer samples starts where the last ended */
        p[0] = ft->fitted_tp;
        p[1] = ft->fitted_T;
        p[2] = isfinite(ft->plateau) ? ft->plateau : ft->fitted_P;
    }
    double lambda = 1e-3, jtj[3][3], jtr[3];
    double sse = tear_sse(ft, p, jtj, jtr);
    for (int it = 0; it < LM_ITERATIONS; it++) {
        double m[3][3], d[3], r[3];
        memcpy(m, jtj, sizeof m);
        memcpy(r, jtr, sizeof r);
        for (int u = 0; u < 3; u++)
            m[u][u] *= 1 + lambda;
        if (isfinite(ft->plateau)) { /* P known: fit tp and T only */
            for (int u = 0; u < 3; u++)
                m[2][u] = m[u][2] = 0;
            m[2][2] = 1;
            r[2] = 0;
        }
        if (!solve3(m, r, d))
            break;
        double q[3] = { clamp(p[0] + d[0], 0, 1), clamp(p[1] + d[1], 0.3, ft->t_max),
                        isfinite(ft->plateau) ? ft->plateau : p[2] + d[2] };
        double jtj2[3][3], jtr2[3];
        double s2 = tear_sse(ft, q, jtj2, jtr2);
        if (s2 < sse) {
            memcpy(jtj, jtj2, sizeof jtj);
            memcpy(jtr, jtr2, sizeof jtr);
            /* converged: the puncture instant within 1e-4 of a sample
             * (0.02 % of the peak on the steepest rise) */
            bool done = fabs(q[0] - p[0]) < STEP_DONE && fabs(q[1] - p[1]) < 10 * STEP_DONE;
            memcpy(p, q, sizeof p);
            sse = s2;
            lambda *= 0.3;
            if (done)
                break;
        } else {
            if (fabs(q[0] - p[0]) < STEP_DONE && fabs(q[1] - p[1]) < 10 * STEP_DONE)
                break; /* no better point this close: at the minimum */
            lambda *= 10;
        }
    }
    *peak = rise_at(ft, p[0]);
    *tp_out = p[0];
    ft->fitted_tp = p[0];
    ft->fitted_T = p[1];
    ft->fitted_P = p[2];
    ft->warm = true;
    return sse / ft->k;
}

/* Whether the needles' positions at r_end - n + 1 .. r_end + 1 are all
 * valid and advancing (the sensor's "no target" and "out of range" are
 * INT32_MIN and INT32_MIN + 1): then they are the rise's regressor. */
static bool rising_position(const int32_t *disp, size_t r_end, int n)
{
    for (size_t j = r_end + 1 - (size_t)n; j <= r_end + 1; j++) {
        if (disp[j] <= INT32_MIN + 1)
            return false;
        if (j > r_end + 1 - (size_t)n && !(disp[j] > disp[j - 1]))
            return false;
    }
    return true;
}

/* The rise ending at r_end into ft: samples before r_end while the force
 * climbs, in contact (above a tenth of the stroke's rise: before contact
 * it is flat), at most RISE_SAMPLES; false if there are not two. */
static bool rise_setup(const int32_t *f, const int32_t *disp, size_t from, size_t r_end, double top,
                       double amp, struct fit *ft)
{
    double floor = top - 0.9 * amp;
    int n = 1;
    while (n < RISE_SAMPLES && r_end - (size_t)n >= from &&
           f[r_end - (size_t)n] < f[r_end - (size_t)n + 1] && f[r_end - (size_t)n] > floor)
        n++;
    if (n < 2)
        return false;
    if (disp && rising_position(disp, r_end, n)) {
        /* x(t) through the positions at r_end - 1, r_end, r_end + 1 */
        double dm = (double)disp[r_end - 1] - disp[r_end],
               dp = (double)disp[r_end + 1] - disp[r_end];
        ft->disp = disp;
        ft->q[0] = 0;
        ft->q[1] = (dp - dm) / 2;
        ft->q[2] = (dp + dm) / 2;
    }
    return rise_curve(f, r_end, n, amp, ft);
}

/* Which sample the rise ends at: the largest m (bit 0) and/or the one
 * before (bit 1). The rise up to m - 1, continued, says what m would read
 * had the needles not torn yet: m clearly below it (2 % of the rise: 5 x
 * the noise) is already on the tear; m on it is the rise's last. Only a
 * puncture within ~half a sample before m leaves it open (the tear starts
 * flat), and then both are fitted. Halves the fits. */
static unsigned rise_end_candidates(const int32_t *f, const int32_t *disp, size_t from, size_t to,
                                    size_t m, double amp)
{
    if (m == 0 || m >= to)
        return 1u;
    struct fit ft = { .r_end = m - 1 };
    if (!rise_setup(f, disp, from, m - 1, f[m], amp, &ft))
        return 3u;
    double below = rise_at(&ft, 1.0) - f[m];
    if (below > CANDIDATE_TEAR_FRAC * amp)
        return 2u;
    if (below < CANDIDATE_RISE_FRAC * amp)
        return 1u;
    return 3u;
}

/* The tear fit with the rise ending at r_end (the puncture between r_end
 * and r_end + 1). false if the samples do not determine it. */
static bool try_tear(const int32_t *f, const int32_t *disp, size_t from, size_t to, size_t r_end,
                     double fs, double top, double amp, double plateau, double turn, double *peak,
                     double *tp, double *cost)
{
    if (r_end <= from || r_end >= to)
        return false;
    struct fit ft = { .r_end = r_end, .t_max = fmax(1.0, PF_TEAR_MAX_S * fs), .plateau = plateau };
    if (!rise_setup(f, disp, from, r_end, top, amp, &ft))
        return false;
    /* The falling samples, while they fall and the tear may last, and
     * before the needles turn: then they withdraw and the force collapses,
     * whatever the tear was doing. */
    for (size_t j = r_end + 1; j <= to && ft.k < MAX_FALL && !((double)j >= turn); j++) {
        if (j > r_end + 1 && f[j] > f[j - 1])
            break;
        if ((double)(j - r_end) > ft.t_max + 1)
            break;
        ft.x[ft.k] = (double)(j - r_end);
        ft.y[ft.k] = f[j];
        ft.k++;
    }
    if (ft.k < 2)
        return false;
    *cost = fit_tear(&ft, fs, peak, tp);
    /* The model ends with the tear: what follows it (the fixture ringing
     * it excites, the withdrawal) would only pull the fit -- a sample in
     * the ringing's first swing makes the tear longer, its start earlier
     * and the peak lower. Keep the samples at least half a sample inside
     * the fitted tear, refit, until the set no longer changes. */
    for (int round = 0; round < 3; round++) {
        int k = 0;
        while (k < ft.k && ft.x[k] - *tp <= ft.fitted_T - TEAR_MARGIN)
            k++;
        if (k < 3)
            k = ft.k < 3 ? ft.k : 3;
        if (k == ft.k)
            break;
        ft.k = k;
        *cost = fit_tear(&ft, fs, peak, tp);
    }
    /* A stroke torn just before its top withdraws from the phantom within
     * the tear: the force collapses to nothing instead of the plateau.
     * While the last sample is by far the model's worst (3 x the RMS
     * residual), drop it and fit again. */
    while (ft.k > 3) {
        double last = fabs(tear_residual(&ft, ft.k - 1, *peak, *tp));
        if (last * last < 9 * *cost)
            break;
        ft.k--;
        *cost = fit_tear(&ft, fs, peak, tp);
    }
    *tp += (double)r_end;
    return isfinite(*peak);
}

/* Vertex of a least-squares parabola through the samples near m that lie
 * within 5 % of the stroke's rise of the top. */
static bool parabola_top(const int32_t *f, size_t from, size_t to, size_t m, double amp,
                         double *peak, double *tp)
{
    double lim = f[m] - 0.05 * amp;
    size_t a = m, b = m;
    while (a > from && m - a < 16 && f[a - 1] >= lim)
        a--;
    while (b < to && b - m < 16 && f[b + 1] >= lim)
        b++;
    if (b - a < 2)
        return false;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
    for (size_t i = a; i <= b; i++) {
        double x = (double)i - (double)m, y = f[i] - (double)f[m], x2 = x * x;
        s0 += 1, s1 += x, s2 += x2, s3 += x2 * x, s4 += x2 * x2;
        t0 += y, t1 += x * y, t2 += x2 * y;
    }
    double mm[3][3] = { { s4, s3, s2 }, { s3, s2, s1 }, { s2, s1, s0 } };
    double r[3] = { t2, t1, t0 }, c[3];
    if (!solve3(mm, r, c) || !(c[0] < 0))
        return false;
    double xv = -c[1] / (2 * c[0]);
    if (xv < (double)a - (double)m || xv > (double)b - (double)m)
        return false;
    *peak = f[m] + c[2] - c[1] * c[1] / (4 * c[0]);
    *tp = (double)m + xv;
    return true;
}

void pf_estimate(const int32_t *f, const int32_t *disp, size_t from, size_t to, size_t m, double fs,
                 double plateau, double turn, struct pf_result *out)
{
    out->peak = f[m];
    out->t_peak = (double)m;
    out->method = PF_MAX_SAMPLE;
    int32_t lo = f[m];
    for (size_t i = from; i < m; i++)
        if (f[i] < lo)
            lo = f[i];
    double amp = (double)f[m] - lo;
    if (!(amp > 0))
        return;
    /* A tear: the force drops a share of the rise soon after the top. */
    size_t ahead = m + (size_t)ceil(PF_TEAR_MAX_S * fs);
    int32_t after = f[m];
    for (size_t i = m + 1; i <= to && i <= ahead; i++)
        if (f[i] < after)
            after = f[i];
    if ((double)f[m] - after >= PF_TEAR_FRAC * amp) {
        /* The largest sample is the last of the rise, or the first of the
         * fall: fit both ways, keep the better. */
        double best = INFINITY, peak = 0, tp = 0;
        unsigned which = rise_end_candidates(f, disp, from, to, m, amp);
        for (int k = 0; k < 2; k++) {
            double pk, t, cost;
            size_t r_end = k == 0 ? m : m - 1;
            if (!(which & (1u << k)) || (m == 0 && k == 1))
                continue;
            bool ok =
                try_tear(f, disp, from, to, r_end, fs, f[m], amp, plateau, turn, &pk, &t, &cost);
            if (ok && cost < best) {
                best = cost;
                peak = pk;
                tp = t;
            }
        }
        if (isfinite(best)) {
            /* Never below the largest sample: the noise of the fit. */
            out->peak = fmax(peak, (double)f[m]);
            out->t_peak = tp;
            out->method = PF_TEAR_FIT;
            return;
        }
    }
    double pk, tp;
    if (parabola_top(f, from, to, m, amp, &pk, &tp)) {
        out->peak = pk;
        out->t_peak = tp;
        out->method = PF_PARABOLA;
    }
}
