#include "core/analysis.h"
#include "core/an_int.h"
#include "core/peakforce.h"
#include "core/rotor.h"
#include "core/select.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sensor codes for displacement samples that are not a position. */
#define DISP_NO_TARGET    INT32_MIN
#define DISP_OUT_OF_RANGE (INT32_MIN + 1)

/* Below this swing the needle is not stroking (sensor noise is ~0.2 um,
 * the cam stroke ~3.5 mm). */
#define MIN_SWING_NM     200000.0
/* Hysteresis half-band as a fraction of the swing. */
#define HYSTERESIS_FRAC  0.20
/* Samples used to estimate percentiles and the force zero (evenly spaced;
 * more only cost time: order statistics of 2048 samples are as good). */
#define LEVEL_SAMPLES    2048
/* Turning points count when they are this fraction of the capture's range
 * apart (a stroke spans the whole range less any parked offset: a stroke
 * of 3.5 mm with a needle parked 2.5 mm above it still spans 58 %). */
#define TURN_FRAC        0.30
/* Fewer peaks or troughs than this: too few strokes for their medians. */
#define MIN_TURNS        3
/* The plateau after a tear is measured over at least this long (three
 * periods of a 3 kHz fixture ringing), from at most PLATEAU_MAX samples. */
#define PLATEAU_MIN_S    0.001
#define PLATEAU_MAX      256
/* Needle tips this far behind the cartridge face touch nothing. */
#define RETRACTED_NM     100000.0
/* Fewer retracted samples than this (subsampled) give no force zero. */
#define MIN_ZERO_SAMPLES 16
/* Strokes missing for this many periods at the end of the window mean the
 * pen stopped stroking. */
#define STALL_PERIODS    3.0
/* Parabola window half-width as a fraction of the samples per stroke. */
#define PEAK_WINDOW_FRAC 0.02

static bool disp_valid(int32_t d)
{
    return d != DISP_NO_TARGET && d != DISP_OUT_OF_RANGE;
}

static void set_error(struct an_result *out, const char *msg)
{
    size_t len = strlen(out->error);
    snprintf(out->error + len, sizeof out->error - len, "%s%s", len ? "; " : "", msg);
}

static void result_init(struct an_result *out, uint32_t flags)
{
    memset(out, 0, sizeof *out);
    out->flags = flags;
    out->jitter_pct = NAN;
    out->depth_mean_mm = out->depth_min_mm = out->depth_max_mm = NAN;
    out->depth_std_mm = out->depth_error_mm = NAN;
    out->force_mean_n = out->force_min_n = out->force_max_n = NAN;
    out->force_zero_n = NAN;
    out->spinup_ms = out->stop_ms = NAN;
    out->start_delay_ms = out->stop_delay_ms = NAN;
    out->rate_first = out->rate_last = out->rate_periods = NAN;
    out->swing_mm = NAN;
}

/* Transport flags and invalid samples become the capture's error text. */
static void check_rig_problems(const struct an_input *in, struct an_result *out)
{
    size_t no_target = 0, out_of_range = 0;
    for (size_t i = 0; i < in->n; i++) { /* (branch-free: it vectorises) */
        no_target += in->disp_nm[i] == DISP_NO_TARGET;
        out_of_range += in->disp_nm[i] == DISP_OUT_OF_RANGE;
    }
    if (no_target)
        out->flags |= AN_F_NO_TARGET;
    if (out_of_range)
        out->flags |= AN_F_OUT_OF_RANGE;

    char msg[96];
    if (out->flags & AN_F_SAMPLE_LOSS)
        set_error(out, "samples lost in transport");
    if (out->flags & AN_F_OVERRUN)
        set_error(out, "sensor FIFO overrun");
    if (out->flags & AN_F_NO_TARGET) {
        snprintf(msg, sizeof msg, "displacement sensor saw no target (%zu samples)", no_target);
        set_error(out, msg);
    }
    if (out->flags & AN_F_OUT_OF_RANGE) {
        snprintf(msg, sizeof msg, "displacement out of sensor range (%zu samples)", out_of_range);
        set_error(out, msg);
    }
    if (out->flags & AN_F_DISCONNECT)
        set_error(out, "sensor disconnected during capture");
    if (in->n < 3)
        set_error(out, "capture holds fewer than 3 samples");
}

/* Percentiles lo_pct/hi_pct of the valid displacement samples (an even
 * subsample of at most LEVEL_SAMPLES). -1 if there are none or memory is
 * short. */
static int percentiles(const struct an_input *in, int lo_pct, int hi_pct, double *lo, double *hi)
{
    size_t stride = in->n / LEVEL_SAMPLES + 1;
    int32_t *v = malloc((in->n / stride + 1) * sizeof *v);
    if (!v)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < in->n; i += stride)
        if (disp_valid(in->disp_nm[i]))
            v[m++] = in->disp_nm[i];
    if (m == 0) {
        free(v);
        return -1;
    }
    *lo = select_i32(v, m, (m - 1) * (size_t)lo_pct / 100);
    *hi = select_i32(v, m, (m - 1) * (size_t)hi_pct / 100);
    free(v);
    return 0;
}

/* Turning points of the needle that are at least delta apart ("zig-zag"):
 * the running maximum since the last confirmed minimum becomes a peak
 * once the signal falls delta below it, and the other way round. A needle
 * at rest, however long and wherever it is parked, yields at most one
 * turning point at either end of the rest; every stroke yields one peak
 * and one trough. Invalid samples end the current swing. The peaks go to
 * pk and the troughs to tr (each at most cap entries). */
static void turning_points(const struct an_input *in, double delta, double *pk, size_t *npk,
                           double *tr, size_t *ntr, size_t cap)
{
    enum { NONE, UP, DOWN } dir = NONE;
    /* integers: x - y > delta iff x - y > floor(delta); >= iff >= ceil */
    int64_t ext_hi = 0, ext_lo = 0, gt = (int64_t)floor(delta), ge = (int64_t)ceil(delta);
    *npk = *ntr = 0;
    for (size_t i = 0; i < in->n; i++) {
        int32_t d = in->disp_nm[i];
        if (!disp_valid(d)) {
            dir = NONE;
            continue;
        }
        if (dir == NONE) {
            dir = UP; /* until the first swing says otherwise */
            ext_hi = ext_lo = d;
            continue;
        }
        ext_hi = d > ext_hi ? d : ext_hi;
        ext_lo = d < ext_lo ? d : ext_lo;
        if (dir == UP && ext_hi - d > gt) {
            if (ext_hi - ext_lo >= ge && *npk < cap)
                pk[(*npk)++] = (double)ext_hi;
            dir = DOWN;
            ext_lo = d;
        } else if (dir == DOWN && d - ext_lo > gt) {
            if (ext_hi - ext_lo >= ge && *ntr < cap)
                tr[(*ntr)++] = (double)ext_lo;
            dir = UP;
            ext_hi = d;
        }
    }
}

/* Retracted (lo) and protruded (hi) levels of the strokes: the medians of
 * the needle's turning points at least a third of the capture's range
 * apart. Percentiles of the whole capture are not enough: a needle parked
 * before the start (or after the stop) for a few percent of the capture,
 * above or between the stroke's extremes, moves them, and the comparator
 * then misses strokes. With fewer than MIN_TURNS peaks or troughs (a
 * capture of one or two strokes) the 2nd and 98th percentiles are used.
 * Returns -1 if there are no valid samples or memory is short. */
static int levels(const struct an_input *in, double *lo, double *hi)
{
    double p_lo, p_hi;
    if (percentiles(in, 0, 100, &p_lo, &p_hi) < 0)
        return -1;
    if (p_hi - p_lo < MIN_SWING_NM) { /* not stroking: report the range */
        *lo = p_lo;
        *hi = p_hi;
        return 0;
    }
    double delta = fmax(MIN_SWING_NM, TURN_FRAC * (p_hi - p_lo));
    size_t cap = in->n / 4 + 1;
    double *pk = malloc(cap * sizeof *pk), *tr = malloc(cap * sizeof *tr);
    if (!pk || !tr) {
        free(pk);
        free(tr);
        return -1;
    }
    size_t npk, ntr;
    turning_points(in, delta, pk, &npk, tr, &ntr, cap);
    int rc = 0;
    if (npk >= MIN_TURNS && ntr >= MIN_TURNS) {
        *hi = median_double(pk, npk);
        *lo = median_double(tr, ntr);
    } else {
        rc = percentiles(in, 2, 98, lo, hi);
    }
    free(pk);
    free(tr);
    return rc;
}

static int strokes_push(struct strokes *s, const struct stroke *st)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        struct stroke *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = *st;
    return 0;
}

static double det3(const double m[3][3])
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/* Least-squares parabola through disp[p-k .. p+k] (valid samples only);
 * returns the vertex, or the sample at p if the fit is not a clean maximum
 * inside the window. */
static void fit_peak(const struct an_input *in, size_t p, size_t k, size_t lo_i, size_t hi_i,
                     double *pos, double *val)
{
    *pos = (double)p;
    *val = in->disp_nm[p];
    size_t a = p > lo_i + k ? p - k : lo_i;
    size_t b = p + k < hi_i ? p + k : hi_i;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
    double y0 = in->disp_nm[p];
    for (size_t i = a; i <= b; i++) {
        if (!disp_valid(in->disp_nm[i]))
            continue;
        double x = (double)i - (double)p, y = in->disp_nm[i] - y0;
        double x2 = x * x;
        s0 += 1;
        s1 += x;
        s2 += x2;
        s3 += x2 * x;
        s4 += x2 * x2;
        t0 += y;
        t1 += x * y;
        t2 += x2 * y;
    }
    if (s0 < 3)
        return;
    /* Normal equations of y = A x^2 + B x + C, solved by Cramer's rule. */
    const double m[3][3] = { { s4, s3, s2 }, { s3, s2, s1 }, { s2, s1, s0 } };
    const double r[3] = { t2, t1, t0 };
    double det = det3(m);
    if (fabs(det) < 1e-9)
        return;
    double coef[3];
    for (int col = 0; col < 3; col++) {
        double mc[3][3];
        memcpy(mc, m, sizeof mc);
        for (int row = 0; row < 3; row++)
            mc[row][col] = r[row];
        coef[col] = det3(mc) / det;
    }
    double A = coef[0], B = coef[1], C = coef[2];
    if (!(A < 0))
        return;
    double xv = -B / (2 * A);
    if (fabs(xv) > (double)k)
        return;
    *pos = (double)p + xv;
    *val = y0 + C - B * B / (4 * A);
}

/* The friction plateau after a puncture at m: the median force from the
 * end of the longest tear to the needles' turn (the displacement's peak
 * at peak_i), when that holds at least PLATEAU_MIN_S of samples (the
 * fixture's ringing then averages out); NaN otherwise. */
static double plateau_after(const struct an_input *in, size_t m, size_t peak_i)
{
    size_t a = m + (size_t)ceil(PF_TEAR_MAX_S * in->rate_hz), n = 0;
    if (peak_i <= a || (double)(peak_i - a) < PLATEAU_MIN_S * in->rate_hz)
        return NAN;
    int32_t v[PLATEAU_MAX];
    size_t step = (peak_i - a) / PLATEAU_MAX + 1;
    for (size_t i = a; i < peak_i && n < PLATEAU_MAX; i += step)
        v[n++] = in->force_un[i];
    return select_i32(v, n, n / 2);
}

/* Index of the first largest of v[from..to]: the largest value first (a
 * plain reduction, which vectorises), then where it is. */
static size_t first_max(const int32_t *v, size_t from, size_t to)
{
    int32_t m = v[from];
    for (size_t i = from + 1; i <= to; i++)
        m = v[i] > m ? v[i] : m;
    size_t i = from;
    while (v[i] != m)
        i++;
    return i;
}

/* A stroke's instant: where the needle passes half a swing below that
 * stroke's own peak on its way in -- the cam at 90 degrees, whatever the
 * stroke-to-stroke play in depth (a fixed level would be crossed early on a
 * deep stroke and late on a shallow one, and the rate would carry that
 * play). The crossing of `level` nearest the comparator's (`rise` at
 * sample rise_i) on the rising edge up to the peak; `rise` if none. */
static double time_rise(const struct an_input *in, double level, size_t rise_i, size_t peak_i,
                        double rise)
{
    size_t j = rise_i + 1;
    if (!disp_valid(in->disp_nm[j]) || in->disp_nm[j] > level) {
        /* below the comparator's crossing: walk back down the edge */
        while (j > 0 && disp_valid(in->disp_nm[j - 1]) && in->disp_nm[j - 1] > level)
            j--;
        if (j == 0 || !disp_valid(in->disp_nm[j - 1]) || j + (peak_i - rise_i) < rise_i)
            return rise;
    } else {
        while (j < peak_i && disp_valid(in->disp_nm[j]) && in->disp_nm[j] <= level)
            j++;
        if (j >= peak_i || !disp_valid(in->disp_nm[j]))
            return rise;
    }
    double y0 = in->disp_nm[j - 1], y1 = in->disp_nm[j];
    if (!(y1 > y0))
        return rise;
    return (double)(j - 1) + (level - y0) / (y1 - y0);
}

/* The same level on the way out: the crossing nearest before sample
 * fall_i (the comparator's, below the level), back to the peak. */
static double time_fall(const struct an_input *in, double level, size_t peak_i, size_t fall_i)
{
    size_t j = fall_i;
    while (j > peak_i + 1 && disp_valid(in->disp_nm[j - 1]) && in->disp_nm[j - 1] < level)
        j--;
    if (j <= peak_i + 1 || !disp_valid(in->disp_nm[j - 1]) || !disp_valid(in->disp_nm[j]))
        return NAN;
    double y0 = in->disp_nm[j - 1], y1 = in->disp_nm[j];
    if (!(y0 > y1))
        return NAN;
    return (double)(j - 1) + (y0 - level) / (y0 - y1);
}

/* Comparator with hysteresis over the displacement; appends every complete
 * stroke (rising crossing, high phase, falling crossing). */
static int segment(const struct an_input *in, double lo, double hi, struct strokes *s)
{
    const double mid = (lo + hi) / 2, band = HYSTERESIS_FRAC * (hi - lo);
    const double upper = mid + band, lower = mid - band;
    enum { UNKNOWN, LOW, HIGH } state = UNKNOWN;
    bool have_rise = false, have_fall = false;
    double rise = 0;
    size_t rise_i = 0, peak_i = 0, fall_i = 0;

    for (size_t i = 0; i < in->n; i++) {
        int32_t d = in->disp_nm[i];
        if (!disp_valid(d)) { /* a gap breaks the stroke in progress */
            state = UNKNOWN;
            have_rise = have_fall = false;
            continue;
        }
        if (state == UNKNOWN) {
            if (d < lower)
                state = LOW;
            else if (d > upper)
                state = HIGH, peak_i = i;
            continue;
        }
        if (state == LOW) {
            if (d <= upper)
                continue;
            /* Rising edge: walk back to the samples straddling mid. */
            size_t j = i;
            while (j > 0 && disp_valid(in->disp_nm[j - 1]) && in->disp_nm[j - 1] > mid)
                j--;
            if (j == 0 || !disp_valid(in->disp_nm[j - 1])) {
                have_rise = false;
            } else {
                double y0 = in->disp_nm[j - 1], y1 = in->disp_nm[j];
                rise = (double)(j - 1) + (mid - y0) / (y1 - y0);
                rise_i = j - 1;
                have_rise = true;
            }
            state = HIGH;
            peak_i = i;
            continue;
        }
        /* HIGH */
        if (d > in->disp_nm[peak_i])
            peak_i = i;
        if (d >= lower)
            continue;
        state = LOW;
        size_t prev_fall = fall_i;
        bool had_fall = have_fall;
        fall_i = i;
        have_fall = true;
        if (!have_rise)
            continue;
        size_t per = (i - rise_i) * 2; /* rough samples per stroke */
        size_t k = (size_t)lround((double)per * PEAK_WINDOW_FRAC);
        if (k < 2)
            k = 2;
        if (k > 64)
            k = 64;
        struct stroke st = { .rise = rise, .force_un = NAN };
        fit_peak(in, peak_i, k, rise_i, i, &st.peak_pos, &st.depth_nm);
        st.rise = time_rise(in, st.depth_nm - (hi - lo) / 2, rise_i, peak_i, rise);
        st.fall = time_fall(in, st.depth_nm - (hi - lo) / 2, peak_i, i);
        size_t half = i - rise_i;
        if (in->force_un && (had_fall || rise_i >= half)) {
            /* The needle meets the phantom on its way out, which at deep
             * settings is below the midpoint: search the whole stroke, from
             * the previous stroke's falling edge; then model its top
             * (peakforce.h): the largest sample misses a puncture peak. A
             * first stroke too close to the capture's start to search
             * (its puncture may be before it) has no force. */
            size_t from = had_fall ? prev_fall : rise_i - half;
            size_t fm = first_max(in->force_un, from, i);
            struct pf_result pf;
            pf_estimate(in->force_un, in->disp_nm, from, i, fm, in->rate_hz,
                        plateau_after(in, fm, peak_i), st.peak_pos, &pf);
            st.force_un = pf.peak;
        }
        if (strokes_push(s, &st) < 0)
            return -1;
        have_rise = false;
    }
    return 0;
}

/* Median period in samples of strokes [a, b); 0 if fewer than 2. */
static double median_period(const struct strokes *s, size_t a, size_t b)
{
    if (b < a + 2)
        return 0;
    size_t m = b - a - 1;
    double *p = malloc(m * sizeof *p);
    if (!p)
        return 0;
    for (size_t i = 0; i < m; i++)
        p[i] = s->v[a + i + 1].rise - s->v[a + i].rise;
    double med = select_double(p, m, m / 2);
    free(p);
    return med;
}

/* Rate and jitter over strokes [a, b). The rate is the number of periods
 * between the first and last rising crossing over the time between them:
 * the pen's jitter is per period (its phase wanders), so this is the mean
 * period, and stroke numbers are rounded from the median period so a
 * stroke lost to a sensor gap does not bias it. */
static void rate_and_jitter(const struct an_input *in, const struct strokes *s, size_t a, size_t b,
                            struct an_result *out)
{
    double med = median_period(s, a, b);
    if (med <= 0)
        return;
    double span = s->v[b - 1].rise - s->v[a].rise;
    double periods = round(span / med);
    if (periods >= 1 && span > 0) {
        out->rate_hz = in->rate_hz * periods / span;
        out->rate_first = s->v[a].rise;
        out->rate_last = s->v[b - 1].rise;
        out->rate_periods = periods;
    }
    /* A pen that stops stroking before the end of the window (a stall)
     * must not look healthy from the strokes it made before: then the rate
     * is the periods made over the whole window. */
    double end = in->stop_index >= 0 ? (double)in->stop_index : (double)in->n;
    double tail = end - s->v[b - 1].rise;
    if (tail > STALL_PERIODS * med && periods >= 1) {
        out->rate_hz = in->rate_hz * periods / (end - s->v[a].rise);
        out->stalled_ms = (tail - med) / in->rate_hz * 1000.0;
    }
    /* Jitter over periods of consecutive strokes (one period apart). */
    double sum = 0, sum2 = 0, m = 0;
    for (size_t i = a + 1; i < b; i++) {
        double p = s->v[i].rise - s->v[i - 1].rise;
        if (fabs(p - med) > 0.5 * med)
            continue;
        sum += p;
        sum2 += p * p;
        m += 1;
    }
    if (m >= 2) {
        double mean = sum / m;
        double var = (sum2 - m * mean * mean) / (m - 1);
        out->jitter_pct = sqrt(var > 0 ? var : 0) / mean * 100.0;
    }
}

/* The force with no needle in the phantom: the median of the force
 * samples taken while the needle tips are behind the cartridge face
 * (displacement below -RETRACTED_NM; SENSOR.md: positive = beyond the
 * face). The load cell's zero, the phantom's weight and the fixture's
 * preload, whatever a tare left of them or drift added since. NaN when the
 * needles were never retracted. */
static double force_zero(const struct an_input *in)
{
    size_t stride = in->n / LEVEL_SAMPLES + 1, m = 0;
    int32_t *v = malloc((in->n / stride + 1) * sizeof *v);
    if (!v)
        return NAN;
    for (size_t i = 0; i < in->n; i += stride)
        if (disp_valid(in->disp_nm[i]) && in->disp_nm[i] < -RETRACTED_NM)
            v[m++] = in->force_un[i];
    double z = NAN;
    if (m >= MIN_ZERO_SAMPLES)
        z = select_i32(v, m, m / 2);
    free(v);
    return z;
}

static void depth_and_force(const struct an_input *in, const struct strokes *s, size_t a, size_t b,
                            struct an_result *out)
{
    if (b <= a)
        return;
    double sum = 0, sum2 = 0, mn = INFINITY, mx = -INFINITY;
    double fsum = 0, fmn = INFINITY, fmx = -INFINITY, nf = 0;
    double n = (double)(b - a);
    double zero = 0;
    if (in->force_un) {
        out->force_zero_n = force_zero(in) / 1e6;
        if (isfinite(out->force_zero_n))
            zero = out->force_zero_n;
    }
    for (size_t i = a; i < b; i++) {
        double d = s->v[i].depth_nm / 1e6;
        sum += d;
        sum2 += d * d;
        mn = fmin(mn, d);
        mx = fmax(mx, d);
        double f = s->v[i].force_un / 1e6 - zero;
        if (isfinite(f)) { /* a stroke cut by the capture's start has none */
            fsum += f;
            fmn = fmin(fmn, f);
            fmx = fmax(fmx, f);
            nf++;
        }
    }
    out->depth_mean_mm = sum / n;
    out->depth_min_mm = mn;
    out->depth_max_mm = mx;
    double var = n > 1 ? (sum2 - n * out->depth_mean_mm * out->depth_mean_mm) / (n - 1) : 0;
    out->depth_std_mm = sqrt(var > 0 ? var : 0);
    if (isfinite(in->set_depth_mm))
        out->depth_error_mm = out->depth_mean_mm - in->set_depth_mm;
    if (in->force_un && nf > 0) {
        out->force_mean_n = fsum / nf;
        out->force_min_n = fmn;
        out->force_max_n = fmx;
    }
}

int an_analyse(const struct an_input *in, struct an_result *out)
{
    if (!in || !out)
        return -1;
    /* An infinite sample rate would turn every duration into 0 ms (a
     * spin-up or stop time that PASSes) instead of an error. */
    if (!in->disp_nm || !(in->rate_hz > 0) || !isfinite(in->rate_hz) || (in->flags & ~AN_F_KNOWN)) {
        result_init(out, 0);
        snprintf(out->error, sizeof out->error, "invalid analysis input");
        return -1;
    }
    result_init(out, in->flags);
    check_rig_problems(in, out);
    if (in->n < 3)
        return 0;
    /* A command outside the capture means the capture does not hold what
     * the step needs (e.g. samples arrived late): the rig's problem. */
    char msg[120];
    if (in->start_index >= (int64_t)in->n || in->start_index < -1) {
        snprintf(msg, sizeof msg,
                 "start command (sample %lld) is outside the capture (%zu samples)",
                 (long long)in->start_index, in->n);
        set_error(out, msg);
        return 0;
    }
    if (in->stop_index >= (int64_t)in->n || in->stop_index < -1) {
        snprintf(msg, sizeof msg, "stop command (sample %lld) is outside the capture (%zu samples)",
                 (long long)in->stop_index, in->n);
        set_error(out, msg);
        return 0;
    }

    double lo, hi;
    if (levels(in, &lo, &hi) < 0) {
        set_error(out, "no valid displacement samples");
        return 0;
    }
    out->swing_mm = (hi - lo) / 1e6;
    if (hi - lo < MIN_SWING_NM)
        return 0; /* needle not stroking: zero strokes, rate 0 */

    struct strokes s = { 0 };
    if (segment(in, lo, hi, &s) < 0) {
        free(s.v);
        set_error(out, "out of memory");
        return -1;
    }
    out->strokes = s.n;

    /* Steady part: strokes after spin-up, with their period ending before
     * the stop command. */
    size_t a = 0, b = s.n;
    if (in->start_index >= 0)
        while (a < b && s.v[a].rise < (double)in->start_index)
            a++;
    if (in->stop_index >= 0) {
        size_t first_after = a;
        while (first_after < b && s.v[first_after].peak_pos < (double)in->stop_index)
            first_after++;
        an_find_stop(in, &s, lo, hi, out);
        b = first_after;
    }
    if (in->start_index >= 0 && in->set_rate_hz > 0)
        a = an_find_spinup(in, &s, a, b, lo, hi, out);

    out->steady_strokes = b > a ? b - a : 0;
    rate_and_jitter(in, &s, a, b, out);
    depth_and_force(in, &s, a, b, out);
    double zero = isfinite(out->force_zero_n) ? out->force_zero_n : 0;
    for (size_t i = 0; i < s.n && i < in->strokes_cap && in->strokes_out; i++)
        in->strokes_out[i] = (struct an_stroke){
            .rise = s.v[i].rise,
            .peak = s.v[i].peak_pos,
            .depth_mm = s.v[i].depth_nm / 1e6,
            .force_n = in->force_un ? s.v[i].force_un / 1e6 - zero : NAN,
            .steady = i >= a && i < b,
        };
    free(s.v);
    return 0;
}
