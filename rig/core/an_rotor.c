/* Spin-up and stop time of a capture (analysis.h): the rotor tracked and
 * fitted over the strokes around the start and stop commands (rotor.h). */
#include "core/an_int.h"

#include <math.h>
#include <stdlib.h>

#include "core/rotor.h"

/* Spin-up is fitted over the strokes this long after the start command;
 * stop time over those from this long before the stop command on. */
#define SPINUP_FIT_S       0.3
/* ... and at least this long past the first stroke after START */
#define SPINUP_ONSET_FIT_S 0.25
#define STOP_FIT_BEFORE_S  0.05
#define STOP_FIT_SHARE     0.98
/* ... and then again over the transient only: from the command to this
 * many time constants after the rotor started (the cam's revolutions wander
 * stroke by stroke, so a long steady tail blurs the time constant). */
#define SPINUP_REFIT_TAUS  6.0
#define SPINUP_REFIT_MIN_S 0.02
/* Track the rotor over samples [from, to) and fit it (rotor.h); the
 * tracked points stay in *tr for the caller. */
static void fit_rotor(const struct an_input *in, double lo, double hi, size_t from, size_t to,
                      bool spinup, double t_from, double rate_hz, struct rotor_track *tr,
                      struct rotor_fit *rf)
{
    rf->ok = false;
    size_t n = rotor_track(in->disp_nm, in->rate_hz, lo, hi, from, to, tr);
    if (!spinup && n > 0) {
        /* Fit the braking, not the rest: a rotor snaps to a standstill at
         * the end (a real one by friction, any model by a threshold), which
         * a first-order decay does not describe. Keep the points until
         * STOP_FIT_SHARE of the revolutions made after the command: the
         * tail fixes the total (F tau) that the time constant is read
         * against (0.9 left stop time up to 2.3 ms off, 0.98 within 1). */
        size_t c = 0;
        while (c < n && tr->t[c] < t_from)
            c++;
        if (c < n) {
            double limit = tr->rev[c] + STOP_FIT_SHARE * (tr->rev[n - 1] - tr->rev[c]);
            size_t m = c;
            while (m < n && tr->rev[m] <= limit)
                m++;
            n = m;
        }
    }
    if (spinup)
        rotor_fit_spinup(tr->t, tr->rev, n, t_from, rate_hz, rf);
    else
        rotor_fit_spindown(tr->t, tr->rev, n, t_from, rate_hz, rf);
    tr->n = n;
}

/* rotor_band_entry over strokes [a, b). */
static double band_entry(const struct an_input *in, const struct strokes *s, size_t a, size_t b,
                         const struct rotor_fit *rf)
{
    double *rise = malloc(2 * (b - a + 1) * sizeof *rise);
    if (!rise)
        return rotor_time_to_band(rf, in->set_rate_hz, AN_SPINUP_BAND);
    double *fall = rise + (b - a + 1);
    for (size_t i = a; i < b; i++) {
        rise[i - a] = s->v[i].rise / in->rate_hz;
        fall[i - a] = s->v[i].fall / in->rate_hz;
    }
    double up = rotor_band_entry(rf, rise, fall, b - a, in->set_rate_hz, AN_SPINUP_BAND);
    free(rise);
    return up;
}

/* Spin-up (rotor.h): the rotor's start t0 and the time from it until the
 * rate is within the band, from a first-order fit of the strokes from the
 * start command up to SPINUP_FIT_S after it, refined over the transient
 * alone (SPINUP_REFIT_TAUS). Falls back to the first
 * period from which every later one is in the band (timed at its midpoint,
 * from the command) when the fit cannot be made. Returns the index of the
 * first steady stroke. */
size_t an_find_spinup(const struct an_input *in, const struct strokes *s, size_t a, size_t b,
                      double lo, double hi, struct an_result *out)
{
    double fs = in->rate_hz, t_cmd = (double)in->start_index / fs;
    size_t to = (size_t)in->start_index + (size_t)(SPINUP_FIT_S * fs);
    /* A rotor that starts late (a stream clock that ran behind under load,
     * a pen slow to react) still has its transient in the window: it
     * reaches SPINUP_ONSET_FIT_S past the first stroke. */
    if (a < b) {
        size_t late = (size_t)s->v[a].rise + (size_t)(SPINUP_ONSET_FIT_S * fs);
        if (late > to)
            to = late;
    }
    struct rotor_fit rf;
    struct rotor_track *tr = malloc(sizeof *tr);
    if (!tr)
        rf.ok = false;
    else
        fit_rotor(in, lo, hi, (size_t)in->start_index, to < in->n ? to : in->n, true, t_cmd, 0, tr,
                  &rf);
    double up = -1;
    if (rf.ok) {
        /* The running rate from the long span; the start and the time
         * constant from the transient. */
        double end = rf.t_cmd + fmax(SPINUP_REFIT_TAUS * rf.tau_s, SPINUP_REFIT_MIN_S);
        size_t to2 = (size_t)(end * fs);
        struct rotor_fit again;
        fit_rotor(in, lo, hi, (size_t)in->start_index, to2 < in->n ? to2 : in->n, true, t_cmd,
                  rf.rate_hz, tr, &again);
        if (again.ok)
            rf = again;
        up = band_entry(in, s, a, b, &rf);
    }
    free(tr);
    if (rf.ok && up >= 0) {
        out->spinup_ms = up * 1000.0;
        out->spinup_reached = true;
        out->start_delay_ms = (rf.t_cmd - t_cmd) * 1000.0;
        double steady = (rf.t_cmd + up) * fs;
        size_t i = a;
        while (i < b && s->v[i].rise < steady)
            i++;
        return i;
    }
    size_t first_ok = b; /* none yet */
    for (size_t j = b; j-- > a + 1;) {
        double f = fs / (s->v[j].rise - s->v[j - 1].rise);
        if (fabs(f - in->set_rate_hz) > AN_SPINUP_BAND * in->set_rate_hz)
            break;
        first_ok = j - 1;
    }
    if (first_ok + 1 < b && !rf.ok) {
        double tm = (s->v[first_ok].rise + s->v[first_ok + 1].rise) / 2;
        out->spinup_ms = fmax(0, (tm - (double)in->start_index) / fs * 1000.0);
        out->spinup_reached = true;
        return first_ok;
    }
    out->spinup_ms = ((double)in->n - (double)in->start_index) / fs * 1000.0;
    out->spinup_reached = false;
    return b;
}

/* Stop time (rotor.h): from the rotor starting to brake (t1) until its
 * rate is below AN_STOP_FRAC of what it ran at, from a first-order fit of
 * the strokes from STOP_FIT_BEFORE_S before the stop command to the end.
 * Without a fit: from the command to the peak of the last stroke, 0 when
 * no stroke followed it. */
void an_find_stop(const struct an_input *in, const struct strokes *s, double lo, double hi,
                  struct an_result *out)
{
    double fs = in->rate_hz, t_cmd = (double)in->stop_index / fs;
    size_t before = (size_t)(STOP_FIT_BEFORE_S * fs);
    size_t from = (size_t)in->stop_index > before ? (size_t)in->stop_index - before : 0;
    struct rotor_fit rf = { .ok = false };
    struct rotor_track *tr = malloc(sizeof *tr);
    if (tr)
        fit_rotor(in, lo, hi, from, in->n, false, t_cmd, 0, tr, &rf);
    free(tr);
    double down = rotor_time_to_rest(&rf, AN_STOP_FRAC);
    if (rf.ok && down >= 0 && rf.t_cmd >= t_cmd - 0.001) {
        out->stop_ms = down * 1000.0;
        out->stop_delay_ms = (rf.t_cmd - t_cmd) * 1000.0;
        return;
    }
    size_t first_after = 0;
    while (first_after < s->n && s->v[first_after].peak_pos < (double)in->stop_index)
        first_after++;
    out->stop_ms =
        first_after == s->n ? 0 : (s->v[s->n - 1].peak_pos - (double)in->stop_index) / fs * 1000.0;
}
