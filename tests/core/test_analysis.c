/* Stroke analysis on synthetic cam waveforms with known answers. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/analysis.h"
#include "synth.h"

struct cap {
    int32_t *force, *disp;
    size_t n;
    struct synth s;
};

/* Generate seconds of signal; the motor runs from the start unless
 * start_at/stop_at (seconds, < 0 = never) say otherwise. */
static void make(struct cap *c, const struct synth_params *p, double seconds, double start_at,
                 double stop_at)
{
    c->n = (size_t)(seconds * p->fs);
    c->force = malloc(c->n * sizeof *c->force);
    c->disp = malloc(c->n * sizeof *c->disp);
    ck_assert_ptr_nonnull(c->force);
    ck_assert_ptr_nonnull(c->disp);
    synth_init(&c->s, p);
    size_t start_i = start_at < 0 ? 0 : (size_t)(start_at * p->fs);
    size_t stop_i = stop_at < 0 ? c->n : (size_t)(stop_at * p->fs);
    if (start_i > c->n)
        start_i = c->n;
    if (stop_i < start_i)
        stop_i = start_i;
    if (stop_i > c->n)
        stop_i = c->n;
    if (start_at < 0)
        synth_set_running(&c->s, true);
    synth_generate(&c->s, start_i, c->force, c->disp);
    if (start_at >= 0)
        synth_set_running(&c->s, true);
    synth_generate(&c->s, stop_i - start_i, c->force + start_i, c->disp + start_i);
    synth_set_running(&c->s, false);
    synth_generate(&c->s, c->n - stop_i, c->force + stop_i, c->disp + stop_i);
}

static void cap_free(struct cap *c)
{
    free(c->force);
    free(c->disp);
}

static struct an_input input(const struct cap *c, const struct synth_params *p)
{
    struct an_input in = {
        .force_un = c->force,
        .disp_nm = c->disp,
        .n = c->n,
        .rate_hz = p->fs,
        .start_index = -1,
        .stop_index = -1,
        .set_rate_hz = p->rate_hz,
        .set_depth_mm = p->depth_mm,
    };
    return in;
}

static double truth_rate(const struct synth *s)
{
    return (double)(s->peaks - 1) / (s->last_peak_t - s->first_peak_t);
}

START_TEST(clean_rates_and_sample_rates)
{
    static const double rates[] = { 50, 100, 150 };
    static const double fss[] = { 20000, 50000, 100000 };
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            struct synth_params p;
            synth_defaults(&p);
            p.rate_hz = rates[i];
            p.fs = fss[j];
            p.depth_mm = 0.25 + 0.75 * (double)j;
            p.noise_um = 0.2;
            struct cap c;
            make(&c, &p, 0.5, -1, -1);
            struct an_input in = input(&c, &p);
            struct an_result r;
            ck_assert_int_eq(an_analyse(&in, &r), 0);
            ck_assert_str_eq(r.error, "");
            ck_assert_msg(fabs(r.rate_hz - p.rate_hz) / p.rate_hz < 1e-4,
                          "rate %.6f vs %.1f at %.0f S/s", r.rate_hz, p.rate_hz, p.fs);
            ck_assert_msg(fabs(r.depth_mean_mm - p.depth_mm) < 0.001,
                          "depth %.6f vs %.3f at %.0f Hz %.0f S/s", r.depth_mean_mm, p.depth_mm,
                          p.rate_hz, p.fs);
            ck_assert_msg(fabs(r.depth_max_mm - p.depth_mm) < 0.002, "max %.6f", r.depth_max_mm);
            ck_assert_msg(fabs(r.depth_error_mm) < 0.001, "err %.6f", r.depth_error_mm);
            ck_assert_msg(r.jitter_pct < 0.05, "jitter %.4f", r.jitter_pct);
            /* every stroke whose peak and both crossings lie inside */
            ck_assert_msg(r.strokes + 1 >= c.s.peaks && r.strokes <= c.s.peaks,
                          "strokes %zu vs %zu", r.strokes, c.s.peaks);
            /* the puncture (0.2 ms tear) falls between samples: the
             * modelled peak, not the largest sample (test_peakforce.c) */
            ck_assert_msg(fabs(r.force_max_n - 0.6) < 0.006, "force max %.4f at %.0f Hz %.0f S/s",
                          r.force_max_n, p.rate_hz, p.fs);
            ck_assert_msg(fabs(r.force_mean_n - 0.6) < 0.003, "force mean %.4f at %.0f Hz %.0f S/s",
                          r.force_mean_n, p.rate_hz, p.fs);
            ck_assert(isnan(r.spinup_ms) && isnan(r.stop_ms));
            cap_free(&c);
        }
}
END_TEST

START_TEST(noise_jitter_and_depth_spread)
{
    struct synth_params p;
    synth_defaults(&p);
    p.rate_hz = 120;
    p.noise_um = 0.5;
    p.jitter_pct = 0.5;
    p.depth_noise_mm = 0.005;
    p.seed = 42;
    struct cap c;
    make(&c, &p, 2.0, -1, -1);
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    double tr = truth_rate(&c.s);
    ck_assert_msg(fabs(r.rate_hz - tr) / tr < 1e-3, "rate %.5f truth %.5f", r.rate_hz, tr);
    ck_assert_msg(r.jitter_pct > 0.35 && r.jitter_pct < 0.65, "jitter %.3f", r.jitter_pct);
    double truth_depth = c.s.depth_sum / (double)c.s.peaks;
    ck_assert_msg(fabs(r.depth_mean_mm - truth_depth) < 0.001, "depth %.5f truth %.5f",
                  r.depth_mean_mm, truth_depth);
    ck_assert_msg(r.depth_std_mm > 0.0035 && r.depth_std_mm < 0.0065, "std %.5f", r.depth_std_mm);
    ck_assert(r.depth_min_mm < r.depth_mean_mm && r.depth_mean_mm < r.depth_max_mm);
    cap_free(&c);
}
END_TEST

START_TEST(ringing_does_not_add_strokes)
{
    struct synth_params p;
    synth_defaults(&p);
    p.ring_mm = 0.3; /* large fixture ringing after every peak */
    p.force_ring_frac = 0.3;
    p.noise_um = 1;
    struct cap c;
    make(&c, &p, 1.0, -1, -1);
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_msg(r.strokes + 1 >= c.s.peaks && r.strokes <= c.s.peaks, "strokes %zu vs %zu",
                  r.strokes, c.s.peaks);
    ck_assert_msg(fabs(r.rate_hz - 100) < 0.01, "rate %.5f", r.rate_hz);
    ck_assert_msg(fabs(r.force_max_n - 0.6) < 0.01, "force %.4f", r.force_max_n);
    cap_free(&c);
}
END_TEST

START_TEST(bias_shows_as_error)
{
    struct synth_params p;
    synth_defaults(&p);
    p.depth_bias_mm = 0.2;
    p.rate_bias_pct = 3;
    struct cap c;
    make(&c, &p, 0.5, -1, -1);
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_msg(fabs(r.depth_error_mm - 0.2) < 0.001, "err %.5f", r.depth_error_mm);
    ck_assert_msg(fabs(r.rate_hz - 103) < 0.01, "rate %.5f", r.rate_hz);
    cap_free(&c);
}
END_TEST

START_TEST(deep_stroke_force)
{
    /* At 2.5 mm the needle meets the phantom below the stroke midpoint. */
    struct synth_params p;
    synth_defaults(&p);
    p.rate_hz = 150;
    p.depth_mm = 2.5;
    struct cap c;
    make(&c, &p, 0.4, -1, -1);
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_msg(fabs(r.force_min_n - 0.6) < 0.002, "force %.4f", r.force_min_n);
    ck_assert_msg(fabs(r.depth_mean_mm - 2.5) < 0.001, "depth %.5f", r.depth_mean_mm);
    cap_free(&c);
}
END_TEST

START_TEST(spinup_time)
{
    struct synth_params p;
    synth_defaults(&p);
    p.spinup_tau_s = 0.010; /* 95 % of speed after 3 tau = 30 ms */
    p.noise_um = 0.2;
    struct cap c;
    make(&c, &p, 0.6, 0.1, -1);
    struct an_input in = input(&c, &p);
    in.start_index = (int64_t)(0.1 * p.fs);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert(r.spinup_reached);
    double truth_ms = (c.s.first_at_speed_t - 0.1) * 1000;
    /* the rotor, not the period grid (10 ms here): within 1 ms */
    ck_assert_msg(fabs(r.spinup_ms - truth_ms) < 1, "spin-up %.2f ms, truth %.2f", r.spinup_ms,
                  truth_ms);
    /* the motor is still creeping up the last few % of its speed */
    ck_assert_msg(r.rate_hz > 99.5 && r.rate_hz < 100.01, "steady rate %.4f", r.rate_hz);
    ck_assert(r.steady_strokes > 30 && r.steady_strokes < r.strokes);
    cap_free(&c);
}
END_TEST

/* The rotor may start long after the recorded START: a stream clock
 * that ran behind under load (four fixtures on two busy cores put START
 * 0.3 s before the first stroke), or a pen slow to react. Spin-up is timed
 * from the rotor's start and the delay reported apart, never a false FAIL
 * of a pen that spun up in 30 ms (it read "never within 5 %"). */
START_TEST(spinup_after_late_start)
{
    struct synth_params p;
    synth_defaults(&p);
    p.spinup_tau_s = 0.010;
    p.noise_um = 0.2;
    for (int k = 0; k < 3; k++) {
        double delay = 0.15 + 0.15 * k; /* 0.15, 0.3, 0.45 s */
        struct cap c;
        make(&c, &p, 1.0, 0.1 + delay, -1);
        struct an_input in = input(&c, &p);
        in.start_index = (int64_t)(0.1 * p.fs);
        struct an_result r;
        ck_assert_int_eq(an_analyse(&in, &r), 0);
        double truth_ms = (c.s.first_at_speed_t - 0.1 - delay) * 1000;
        ck_assert_msg(r.spinup_reached && fabs(r.spinup_ms - truth_ms) < 1,
                      "delay %.2f s: spin-up %.2f ms (reached %d), truth %.2f", delay, r.spinup_ms,
                      r.spinup_reached, truth_ms);
        ck_assert_msg(fabs(r.start_delay_ms - delay * 1000) < 2,
                      "delay %.2f s: start delay %.2f ms", delay, r.start_delay_ms);
        ck_assert_msg(r.rate_hz > 99.5 && r.rate_hz < 100.01, "steady rate %.4f", r.rate_hz);
        cap_free(&c);
    }
}
END_TEST

/* The levels that arm the stroke comparator must come from the strokes,
 * whatever the needle did before the motor started: parked anywhere from
 * fully retracted to fully protruded -- or above this run's strokes (a
 * previous run's deeper setting) -- for any share of the capture. (A 3 %
 * false-FAIL rate at production cadence came from percentile levels that
 * a parked needle pulled above the strokes.) */
START_TEST(parked_needle_before_start)
{
    static const double park_above_mm[] = { -3.5, -2.6,  -1.75, -0.9, -0.5,
                                            -0.3, -0.05, 0.0,   0.5,  1.5 };
    static const double pre_s[] = { 0.0, 0.005, 0.05, 0.15, 0.3, 0.6 };
    for (size_t i = 0; i < sizeof park_above_mm / sizeof park_above_mm[0]; i++)
        for (size_t j = 0; j < 4 * sizeof pre_s / sizeof pre_s[0]; j++) {
            /* j % 2: the cam stopped on its way out (the same position,
             * the other half of the turn): the tracker must not wait for
             * it to come round (a 7 ms short spin-up once). (j / 2) % 2:
             * the command went 3 ms before the rotor moved (the pen's
             * latency), the needle resting meanwhile: a step of noise
             * backwards must not take the tracker to the other half
             * (parked 0.5 mm below the top, 6 ms short once). */
            bool falling = j % 2;
            double latency = (j / 2) % 2 ? 0.003 : 0;
            double pre = pre_s[j / 4];
            if (pre < latency)
                continue;
            const char *half = falling ? "falling" : "rising";
            struct synth_params p;
            synth_defaults(&p);
            p.spinup_tau_s = 0.010;
            p.noise_um = 0.2;
            p.seed = 7 + i * 40 + j;
            double park = p.depth_mm + park_above_mm[i]; /* parked protrusion */
            bool on_cam = park <= p.depth_mm;
            if (on_cam) { /* d = D - (S/2)(1 + cos theta) */
                p.theta0 = acos(fmin(1, fmax(-1, 2 * (p.depth_mm - park) / p.stroke_mm - 1)));
                if (falling)
                    p.theta0 = 2 * M_PI - p.theta0;
            }
            struct cap c;
            make(&c, &p, pre + 0.6, pre, -1);
            size_t start = (size_t)(pre * p.fs);
            if (!on_cam) /* parked above the cam's reach: a previous setting */
                for (size_t k = 0; k < start; k++)
                    c.disp[k] = (int32_t)lround(park * 1e6);
            struct an_input in = input(&c, &p);
            in.start_index = (int64_t)start - (int64_t)(latency * p.fs);
            struct an_result r;
            ck_assert_int_eq(an_analyse(&in, &r), 0);
            ck_assert_str_eq(r.error, "");
            double truth_ms = (c.s.first_at_speed_t - pre) * 1000;
            ck_assert_msg(r.spinup_reached && fabs(r.spinup_ms - truth_ms) < 1,
                          "parked at %+.2f mm (%s, %.0f ms latency) for %.3f s: spin-up %.2f ms, "
                          "truth %.2f ms",
                          park, half, latency * 1000, pre, r.spinup_ms, truth_ms);
            ck_assert_msg(r.strokes + 2 >= c.s.peaks && r.strokes <= c.s.peaks,
                          "parked at %+.2f mm (%s) for %.3f s: %zu strokes, truth %zu", park, half,
                          pre, r.strokes, c.s.peaks);
            ck_assert_msg(fabs(r.rate_hz - 100) < 0.5,
                          "parked at %+.2f mm (%s) for %.3f s: rate %.3f", park, half, pre,
                          r.rate_hz);
            ck_assert_msg(fabs(r.depth_mean_mm - p.depth_mm) < 0.002,
                          "parked at %+.2f mm (%s) for %.3f s: depth %.4f", park, half, pre,
                          r.depth_mean_mm);
            cap_free(&c);
        }
}
END_TEST

/* After a stop the needle parks wherever the cam stopped, for most of the
 * capture: the strokes before it still set the levels. (Five seeds: the
 * jitter of the last strokes parks it at five different cam angles.) */
START_TEST(parked_needle_after_stop)
{
    for (size_t i = 0; i < 5; i++) {
        struct synth_params p;
        synth_defaults(&p);
        p.rate_hz = 150;
        p.depth_mm = 2.5;
        p.spindown_tau_s = 0.008;
        p.noise_um = 0.2;
        p.seed = 3 + i;
        p.jitter_pct = 0.5;
        struct cap c;
        /* 0.1 s running, stop, then the spin-down and 0.4 s at rest */
        make(&c, &p, 0.5, -1, 0.1);
        struct an_input in = input(&c, &p);
        in.stop_index = (int64_t)(0.1 * p.fs);
        struct an_result r;
        ck_assert_int_eq(an_analyse(&in, &r), 0);
        double truth = p.spindown_tau_s * log(20) * 1000;
        ck_assert_msg(fabs(r.stop_ms - truth) < 1, "case %zu: stop %.2f ms, truth %.2f", i,
                      r.stop_ms, truth);
        ck_assert_msg(fabs(r.rate_hz - 150) < 0.5, "case %zu: rate %.3f", i, r.rate_hz);
        cap_free(&c);
    }
}
END_TEST

START_TEST(spinup_never_reached)
{
    struct synth_params p;
    synth_defaults(&p);
    p.rate_bias_pct = -20; /* runs, but 20 % slow */
    struct cap c;
    make(&c, &p, 0.5, 0.05, -1);
    struct an_input in = input(&c, &p);
    in.start_index = (int64_t)(0.05 * p.fs);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert(!r.spinup_reached);
    ck_assert_msg(fabs(r.spinup_ms - 450) < 1, "spin-up %.2f", r.spinup_ms);
    cap_free(&c);
}
END_TEST

START_TEST(stop_time)
{
    struct synth_params p;
    synth_defaults(&p);
    p.spindown_tau_s = 0.020;
    struct cap c;
    make(&c, &p, 0.8, -1, 0.3);
    struct an_input in = input(&c, &p);
    in.stop_index = (int64_t)(0.3 * p.fs);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    /* stop time: braking starts, rate below 5 % of before: tau ln 20 */
    double truth = p.spindown_tau_s * log(20) * 1000;
    ck_assert_msg(fabs(r.stop_ms - truth) < 1, "stop %.2f ms, truth %.2f", r.stop_ms, truth);
    ck_assert_msg(fabs(r.stop_delay_ms) < 1, "stop delay %.2f ms", r.stop_delay_ms);
    ck_assert_msg(fabs(r.rate_hz - 100) < 0.01, "rate before stop %.4f", r.rate_hz);
    cap_free(&c);
}
END_TEST

/* A stroke is timed where the needle passes half a swing below its own
 * peak on the way in (the cam at 90 degrees): a fixed level would be
 * crossed early on a deep stroke and late on a shallow one, so the
 * stroke-to-stroke play in depth would show in the rate (0.03 % on a
 * short capture once). Constant speed, no jitter, 20 um of play. */
START_TEST(rate_ignores_depth_play)
{
    static const double rates[] = { 50, 150 };
    for (size_t i = 0; i < 2; i++) {
        struct synth_params p;
        synth_defaults(&p);
        p.fs = 20000;
        p.rate_hz = rates[i];
        p.depth_noise_mm = 0.020;
        p.noise_um = 0.2;
        p.seed = 11 + i;
        struct cap c;
        make(&c, &p, 0.1, -1, -1); /* a handful of strokes: edges count */
        struct an_input in = input(&c, &p);
        struct an_result r;
        ck_assert_int_eq(an_analyse(&in, &r), 0);
        ck_assert_msg(fabs(r.rate_hz - p.rate_hz) / p.rate_hz < 2e-5, "rate %.6f vs %.0f",
                      r.rate_hz, p.rate_hz);
        ck_assert_msg(r.depth_std_mm > 0.010, "depth play %.4f mm", r.depth_std_mm);
        cap_free(&c);
    }
}
END_TEST

/* Peak force at 20 kS/s, where 3-4 samples cover the 0.2 ms tear: with
 * noise and the fixture ringing the tear excites, at every rate, on deep
 * strokes and on shallow ones whose tear the withdrawal cuts short (the
 * needles turn within it). Per capture within 1 %, per stroke p95 within
 * 3 % (the goal; 2 % here). */
static int cmp_abs(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return (x > y) - (x < y);
}

START_TEST(force_at_20k)
{
    static const double rates[] = { 50, 100, 150 };
    static const double depths[] = { 0.45, 0.7, 1.0, 2.5 };
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) {
            struct synth_params p;
            synth_defaults(&p);
            p.fs = 20000;
            p.rate_hz = rates[i];
            p.depth_mm = depths[j];
            p.noise_um = 0.2;
            p.force_noise_n = 0.002;
            p.force_ring_frac = 0.3;
            p.jitter_pct = 0.5;
            p.seed = 31 + i * 4 + j;
            struct cap c;
            make(&c, &p, 0.5, -1, -1);
            struct an_stroke st[128];
            struct an_input in = input(&c, &p);
            in.strokes_out = st;
            in.strokes_cap = 128;
            struct an_result r;
            ck_assert_int_eq(an_analyse(&in, &r), 0);
            ck_assert_str_eq(r.error, "");
            double e[128];
            size_t n = 0;
            for (size_t k = 0; k < r.strokes && k < 128; k++)
                if (st[k].steady && isfinite(st[k].force_n))
                    e[n++] = (st[k].force_n - 0.6) / 0.6;
            ck_assert_uint_gt(n, 15);
            qsort(e, n, sizeof e[0], cmp_abs);
            double p95 = fabs(e[(size_t)ceil(0.95 * (double)n) - 1]);
            ck_assert_msg(fabs(r.force_mean_n - 0.6) / 0.6 < 0.01, "%.0f Hz, %.2f mm: mean %.4f N",
                          p.rate_hz, p.depth_mm, r.force_mean_n);
            ck_assert_msg(p95 < 0.02, "%.0f Hz, %.2f mm: stroke p95 %.2f %%", p.rate_hz, p.depth_mm,
                          p95 * 100);
            cap_free(&c);
        }
}
END_TEST

/* A capture that begins just after a puncture: its first stroke's peak
 * is not in it, so that stroke has no force (it read 37 % low once)
 * instead of the top of what is left. */
START_TEST(stroke_cut_by_capture_start)
{
    struct synth_params p;
    synth_defaults(&p);
    p.fs = 20000;
    p.depth_mm = 3.0; /* punctures well below the mid-level */
    p.noise_um = 0.2;
    struct cap c;
    make(&c, &p, 0.5, -1, -1);
    /* start 5 samples after the first puncture of the second stroke */
    size_t first = 0, seen = 0;
    for (size_t i = 1; i + 1 < c.n; i++)
        if (c.force[i] > 500000 && c.force[i + 1] < c.force[i] && c.force[i - 1] < c.force[i] &&
            ++seen == 2) {
            first = i + 5;
            break;
        }
    ck_assert_uint_gt(first, 0);
    struct an_stroke st[64];
    struct an_input in = input(&c, &p);
    in.force_un += first;
    in.disp_nm += first;
    in.n -= first;
    in.strokes_out = st;
    in.strokes_cap = 64;
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_uint_gt(r.strokes, 10);
    ck_assert_msg(isnan(st[0].force_n), "first stroke force %.4f", st[0].force_n);
    ck_assert_msg(fabs(r.force_min_n - 0.6) < 0.006, "force min %.4f", r.force_min_n);
    ck_assert_msg(fabs(r.force_mean_n - 0.6) < 0.003, "force mean %.4f", r.force_mean_n);
    cap_free(&c);
}
END_TEST

/* Stop time at the fastest rate with the stroke-to-stroke play in depth:
 * where one stroke ends lower than the next begins, the needle dips at the
 * bottom, and a tracker that took the nearer branch there thought it had
 * not turned yet and lost a revolution (a stop 4.6 ms short once). */
START_TEST(stop_time_with_depth_play)
{
    for (size_t i = 0; i < 8; i++) {
        struct synth_params p;
        synth_defaults(&p);
        p.fs = 20000;
        p.rate_hz = 150;
        p.depth_mm = 2.5;
        p.depth_noise_mm = 0.006;
        p.jitter_pct = 0.5;
        p.spindown_tau_s = 0.0174;
        p.noise_um = 0.2;
        p.seed = 41 + i;
        struct cap c;
        make(&c, &p, 0.45, -1, 0.1);
        struct an_input in = input(&c, &p);
        in.stop_index = (int64_t)(0.1 * p.fs);
        struct an_result r;
        ck_assert_int_eq(an_analyse(&in, &r), 0);
        double truth = p.spindown_tau_s * log(20) * 1000;
        ck_assert_msg(fabs(r.stop_ms - truth) < 1, "seed %zu: stop %.2f ms, truth %.2f", i,
                      r.stop_ms, truth);
        cap_free(&c);
    }
}
END_TEST

START_TEST(stall_reads_slow)
{
    /* The rotor stops at 0.3 s of a 0.6 s capture with no stop command. */
    struct synth_params p;
    synth_defaults(&p);
    p.spindown_tau_s = 0.005;
    struct cap c;
    make(&c, &p, 0.6, -1, 0.3);
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_msg(r.stalled_ms > 250 && r.stalled_ms < 300, "stalled %.1f ms", r.stalled_ms);
    ck_assert_msg(r.rate_hz > 45 && r.rate_hz < 55, "rate %.2f", r.rate_hz);
    cap_free(&c);
}
END_TEST

START_TEST(stop_when_already_stopped)
{
    struct synth_params p;
    synth_defaults(&p);
    struct cap c;
    make(&c, &p, 0.5, -1, 0.2);
    struct an_input in = input(&c, &p);
    in.stop_index = (int64_t)(0.4 * p.fs); /* command long after the rotor stopped */
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert(r.stop_ms == 0);
    cap_free(&c);
}
END_TEST

START_TEST(no_target_is_a_rig_error)
{
    struct synth_params p;
    synth_defaults(&p);
    struct cap c;
    make(&c, &p, 0.5, -1, -1);
    for (size_t i = 1000; i < 1100; i++)
        c.disp[i] = INT32_MIN;
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert(r.flags & AN_F_NO_TARGET);
    ck_assert_str_eq(r.error, "displacement sensor saw no target (100 samples)");
    /* the strokes outside the gap are still analysed, for the record */
    ck_assert(r.strokes > 40);
    cap_free(&c);
}
END_TEST

START_TEST(transport_flags_are_rig_errors)
{
    struct synth_params p;
    synth_defaults(&p);
    struct cap c;
    make(&c, &p, 0.2, -1, -1);
    struct an_input in = input(&c, &p);
    in.flags = AN_F_SAMPLE_LOSS | AN_F_OVERRUN;
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_str_eq(r.error, "samples lost in transport; sensor FIFO overrun");
    cap_free(&c);
}
END_TEST

START_TEST(still_needle_has_no_strokes)
{
    struct synth_params p;
    synth_defaults(&p);
    p.noise_um = 0.5;
    struct cap c;
    make(&c, &p, 0.3, 10, -1); /* never started */
    struct an_input in = input(&c, &p);
    struct an_result r;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_str_eq(r.error, "");
    ck_assert_uint_eq(r.strokes, 0);
    ck_assert(r.rate_hz == 0);
    ck_assert(isnan(r.depth_mean_mm));
    cap_free(&c);
}
END_TEST

START_TEST(bad_arguments)
{
    int32_t d[4] = { 0 };
    struct an_result r;
    struct an_input in = {
        .disp_nm = d, .n = 4, .rate_hz = 0, .start_index = -1, .stop_index = -1
    };
    ck_assert_int_eq(an_analyse(&in, &r), -1);
    /* Review fix: an infinite rate used to be analysed (every duration
     * 0 ms); it is as invalid as 0 or NaN */
    in.rate_hz = INFINITY;
    ck_assert_int_eq(an_analyse(&in, &r), -1);
    ck_assert_str_eq(r.error, "invalid analysis input");
    in.rate_hz = NAN;
    ck_assert_int_eq(an_analyse(&in, &r), -1);
    in.rate_hz = 1000;
    in.flags = 0x80;
    ck_assert_int_eq(an_analyse(&in, &r), -1);
    ck_assert_int_eq(an_analyse(NULL, &r), -1);
    in.flags = 0;
    in.start_index = 4;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_str_eq(r.error, "start command (sample 4) is outside the capture (4 samples)");
    in.start_index = -1;
    in.n = 2;
    ck_assert_int_eq(an_analyse(&in, &r), 0);
    ck_assert_str_eq(r.error, "capture holds fewer than 3 samples");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("analysis");
    TCase *tc = tcase_create("analysis");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clean_rates_and_sample_rates);
    tcase_add_test(tc, noise_jitter_and_depth_spread);
    tcase_add_test(tc, ringing_does_not_add_strokes);
    tcase_add_test(tc, bias_shows_as_error);
    tcase_add_test(tc, deep_stroke_force);
    tcase_add_test(tc, spinup_time);
    tcase_add_test(tc, spinup_never_reached);
    tcase_add_test(tc, spinup_after_late_start);
    tcase_add_test(tc, parked_needle_before_start);
    tcase_add_test(tc, parked_needle_after_stop);
    tcase_add_test(tc, stop_time);
    tcase_add_test(tc, rate_ignores_depth_play);
    tcase_add_test(tc, force_at_20k);
    tcase_add_test(tc, stroke_cut_by_capture_start);
    tcase_add_test(tc, stop_time_with_depth_play);
    tcase_add_test(tc, stall_reads_slow);
    tcase_add_test(tc, stop_when_already_stopped);
    tcase_add_test(tc, no_target_is_a_rig_error);
    tcase_add_test(tc, transport_flags_are_rig_errors);
    tcase_add_test(tc, still_needle_has_no_strokes);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
