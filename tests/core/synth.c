#include "synth.h"

#include <math.h>
#include <string.h>

void synth_defaults(struct synth_params *p)
{
    memset(p, 0, sizeof *p);
    p->fs = 50000;
    p->rate_hz = 100;
    p->depth_mm = 1.0;
    p->stroke_mm = 3.5;
    p->force_peak_n = 0.6;
    p->plateau_frac = 0.45;
    p->tear_s = 0.0002;
    p->phantom_k = 2.5;
    p->ring_hz = 3000;
    p->ring_zeta = 0.05;
    p->seed = 1;
}

static double uniform(struct synth *s)
{
    /* xorshift64*: plenty for test noise, and reproducible. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return ((s->rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(struct synth *s)
{
    double u1 = uniform(s), u2 = uniform(s);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void new_stroke(struct synth *s)
{
    s->f_cur =
        s->p.rate_hz * (1 + s->p.rate_bias_pct / 100) * (1 + s->p.jitter_pct / 100 * gauss(s));
    s->depth_cur = s->p.depth_mm + s->p.depth_bias_mm + s->p.depth_noise_mm * gauss(s);
    s->punctured = false;
}

void synth_init(struct synth *s, const struct synth_params *p)
{
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->rng = p->seed ? p->seed : 1;
    synth_truth_reset(s);
    new_stroke(s);
    s->theta = p->theta0;
    /* A rest position past the peak belongs to a stroke already counted. */
    if (s->theta >= M_PI)
        s->punctured = true;
}

void synth_set_running(struct synth *s, bool on)
{
    s->running = on;
    if (on && s->p.spinup_tau_s <= 0)
        s->speed = 1;
    if (!on && s->p.spindown_tau_s <= 0)
        s->speed = 0;
}

void synth_truth_reset(struct synth *s)
{
    s->peaks = 0;
    s->depth_sum = 0;
    s->first_peak_t = s->last_peak_t = s->prev_peak_t = -1;
    s->first_at_speed_t = -1;
    s->peak_force_sum = 0;
    s->punctures = 0;
}

static void advance_motor(struct synth *s, double dt)
{
    if (s->running) {
        if (s->p.spinup_tau_s > 0)
            s->speed += (1 - s->speed) * dt / s->p.spinup_tau_s;
        if (s->speed >= 0.95 && s->first_at_speed_t < 0)
            s->first_at_speed_t = s->t;
    } else if (s->speed > 0) {
        s->speed -= s->speed * dt / s->p.spindown_tau_s;
        if (s->speed < 0.02)
            s->speed = 0;
    }
    double before = s->theta;
    s->theta += 2 * M_PI * s->f_cur * s->speed * dt;
    if (before < M_PI && s->theta >= M_PI) { /* bottom of the stroke */
        if (s->peaks == 0)
            s->first_peak_t = s->t;
        s->peaks++;
        s->depth_sum += s->depth_cur;
        s->prev_peak_t = s->last_peak_t;
        s->last_peak_t = s->t;
        s->have_peak_ring = true;
        s->ring_t0 = s->t;
    }
    if (s->theta >= 2 * M_PI) {
        s->theta -= 2 * M_PI;
        new_stroke(s);
    }
}

/* Force on the phantom at protrusion d: elastic k*d on the way in until
 * the puncture threshold, reached at an instant between samples (found by
 * interpolating the rise), then a raised-cosine tear over tear_s to the
 * friction plateau (tear_s 0: an instant drop), 0 once the needles draw
 * back (even within the tear); plus ringing excited by the puncture,
 * swinging first the way the load fell. */
static double force_at(struct synth *s, double d)
{
    if (s->p.force_peak_n <= 0)
        return 0;
    double fp = s->p.force_peak_n, pl = s->p.plateau_frac * fp;
    double f = 0;
    if (d > 0) {
        if (!s->punctured && s->theta < M_PI) {
            f = s->p.phantom_k * d;
            if (f >= fp) {
                /* the threshold was crossed since the previous sample */
                double f0 = s->p.phantom_k * (s->prev_d > 0 ? s->prev_d : 0);
                double frac = f > f0 ? (fp - f0) / (f - f0) : 0;
                s->punct_t = s->prev_t + frac * (s->t - s->prev_t);
                s->punctured = true;
                s->force_ring = true;
                s->fring_t0 = s->punct_t + s->p.tear_s;
                s->fring_amp = s->p.force_ring_frac * (fp - pl);
                s->peak_force_sum += fp;
                s->punctures++;
            }
        }
        if (s->punctured) {
            double tau = s->t - s->punct_t;
            if (s->theta >= M_PI) {
                f = 0; /* drawn back: the needles slide out */
            } else if (s->p.tear_s > 0 && tau < s->p.tear_s) {
                double c = cos(M_PI * tau / (2 * s->p.tear_s));
                f = pl + (fp - pl) * c * c;
            } else {
                f = pl;
            }
        } else if (s->theta >= M_PI) {
            f = s->p.phantom_k * d; /* pressed, never torn: elastic both ways */
        }
    }
    if (s->force_ring && d > 0 && s->t >= s->fring_t0) {
        double w = 2 * M_PI * 3000, tt = s->t - s->fring_t0;
        /* the fixture springs back as the load drops: under first */
        f -= s->fring_amp * exp(-0.05 * w * tt) * sin(w * tt);
    }
    s->prev_d = d;
    s->prev_t = s->t;
    return f;
}

void synth_generate(struct synth *s, size_t n, int32_t *force_un, int32_t *disp_nm)
{
    double dt = 1 / s->p.fs;
    for (size_t i = 0; i < n; i++) {
        double d = s->depth_cur - s->p.stroke_mm / 2 * (1 + cos(s->theta));
        if (s->have_peak_ring && s->p.ring_mm > 0) {
            double w = 2 * M_PI * s->p.ring_hz, tt = s->t - s->ring_t0;
            d += s->p.ring_mm * exp(-s->p.ring_zeta * w * tt) * sin(w * tt);
        }
        double f = force_at(s, d);
        d += s->p.noise_um / 1000 * gauss(s);
        f += s->p.force_noise_n * gauss(s);
        if (disp_nm)
            disp_nm[i] = (int32_t)lround(d * 1e6);
        if (force_un)
            force_un[i] = (int32_t)lround(f * 1e6);
        s->t += dt;
        s->index++;
        advance_motor(s, dt);
    }
}
