/* Unit tests of the simulator physics model alone (no umockdev): pen
 * dynamics, sensor stream, ground truth, determinism, watchdog, FIFO
 * overrun; the faults (test_faults.c), the bench JSON (test_params.c) and
 * the mounts (test_mount.c) are run from here too. Everything runs in
 * simulated time, so nothing here depends on the speed of the machine. */
#include "test_model.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "test_mount.h"

/* ---- pen dynamics ---- */

START_TEST(test_spinup_reaches_rate_fast)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 1);
    ck_assert_int_eq(sim_pen_set_rate(m, 120000), 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_SPINUP);
    uint64_t t_in_band = 0, t_running = 0, max_current = 0;
    for (uint64_t t = MS; t <= 200 * MS; t += MS) {
        run_fed(m, t, NULL);
        struct pen_status st = tm_status(m);
        if (st.motor_current_ma > max_current)
            max_current = st.motor_current_ma;
        if (!t_in_band && fabs(st.measured_rate_mhz - 120000.0) <= 0.05 * 120000)
            t_in_band = t;
        if (!t_running && st.state == PEN_STATE_RUNNING)
            t_running = t;
    }
    ck_assert_uint_gt(t_in_band, 0);
    ck_assert_uint_lt(t_in_band, 100 * MS);
    ck_assert_uint_gt(t_running, 0);
    ck_assert_uint_lt(t_running, 100 * MS);
    /* inrush about 3x the 450 mA run current, then back near run current */
    ck_assert_uint_ge(max_current, 1100);
    ck_assert_uint_le(max_current, 1500);
    struct pen_status st = tm_status(m);
    ck_assert_uint_ge(st.motor_current_ma, 400);
    ck_assert_uint_le(st.motor_current_ma, 500);

    struct pen_msg ev[8];
    int n = sim_pen_take_events(m, ev, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(ev[0].type, PEN_MSG_EVT_STATE);
    ck_assert_uint_eq(ev[0].flags, PEN_F_EVENT);
    ck_assert_uint_eq(ev[0].u.evt_state.state, PEN_STATE_SPINUP);
    ck_assert_uint_eq(ev[0].u.evt_state.reason, PEN_REASON_COMMAND);
    ck_assert_uint_eq(ev[1].u.evt_state.state, PEN_STATE_RUNNING);
    ck_assert_uint_eq(ev[1].u.evt_state.previous, PEN_STATE_SPINUP);
    ck_assert_uint_eq(ev[1].u.evt_state.reason, PEN_REASON_AT_RATE);
    ck_assert_uint_eq((uint16_t)(ev[1].seq - ev[0].seq), 1);

    /* stop: spin down to rest, STOPPING then IDLE */
    ck_assert_int_eq(sim_pen_stop(m), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_STOPPING);
    ck_assert(!sim_pen_motor_running(m));
    run_fed(m, 600 * MS, NULL);
    st = tm_status(m);
    ck_assert_int_eq(st.state, PEN_STATE_IDLE);
    ck_assert_uint_eq(st.measured_rate_mhz, 0);
    ck_assert_uint_eq(st.motor_current_ma, 0);
    sim_model_free(m);
}
END_TEST

START_TEST(test_steady_rate_within_rate_error)
{
    static const double errors[] = { 0.0, 1.5, -3.0 };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        struct sim_params p = tm_defaults();
        p.rate_error_pct = errors[i];
        p.supply_mv = 0; /* USB powered: no droop */
        struct truth tr;
        tm_run_with_truth(&p, 7 + i, 3 * SEC, &tr);
        double mean, sd;
        size_t n;
        tm_rate_stats(&tr, 0.5, &mean, &sd, &n);
        double expect = 120.0 * (1 + errors[i] / 100);
        ck_assert_uint_gt(n, 250);
        /* 0.5 % RMS jitter over > 250 strokes: mean within 0.2 % */
        ck_assert_double_eq_tol(mean, expect, 0.002 * expect);
        ck_assert_double_eq_tol(sd / mean, 0.005, 0.002);
        /* the truth rate is the reciprocal of the truth period */
        ck_assert_double_eq_tol(tr.s[tr.n - 1].rate * tr.s[tr.n - 1].period, 1.0, 1e-6);
        ck_assert_double_eq_tol(tr.s[tr.n - 1].set_rate, 120.0, 1e-9);
        truth_free(&tr);
    }
}
END_TEST

/* The needles never jump: a depth set with the rotor at rest moves the
 * parked needles (in the phantom or not), so the first stroke after the
 * start goes on from where they are. (They jumped 1.5 mm at the first
 * stroke end once, which read as a 7 ms short spin-up.) And the truth
 * lists the stroke the stop cut short after its rise, marked not whole,
 * so a rate over the strokes before a stop counts the same strokes. */
START_TEST(test_needles_continuous_across_stop_and_depth)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 5);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    ck_assert_int_eq(sim_sh_start(m), 0);
    ck_assert_int_eq(sim_pen_set_depth(m, 2500), 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 1003 * MS, &c); /* stops at an arbitrary cam angle */
    ck_assert_int_eq(sim_pen_stop(m), 0);
    run_fed(m, 1500 * MS, &c);
    ck_assert_int_eq(sim_pen_set_depth(m, 1000), 0);
    run_fed(m, 1600 * MS, &c);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 2000 * MS, &c);
    /* 50 kS/s, 120 Hz, 3.5 mm stroke: at most pi * 3.5 * 120 / 50000
     * = 26 um between samples */
    size_t jumps = 0;
    for (size_t k = 1; k < c.n; k++)
        if (abs(c.disp[k] - c.disp[k - 1]) > 100000) {
            /* only the parked needles, with the setting, at 1.5 s */
            double t = (double)(c.index[k] + 1) * 20e-6;
            ck_assert_msg(fabs(t - 1.5) < 0.0001, "a %.3f mm jump at %.5f s",
                          (c.disp[k] - c.disp[k - 1]) / 1e6, t);
            jumps++;
        }
    ck_assert_uint_eq(jumps, 1);
    ck_assert_int_eq(fflush(f), 0);
    struct truth tr;
    truth_read(f, &tr);
    ck_assert(!tr.parse_error);
    size_t partial = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (!tr.s[i].whole) {
            partial++;
            /* its rise came before the stop, its end after */
            ck_assert_double_lt(tr.s[i].t_rise, 1.0031);
            ck_assert_double_gt(tr.s[i].t, 1.003);
        }
    ck_assert_uint_le(partial, 1);
    capture_free(&c);
    truth_free(&tr);
    fclose(f);
    sim_model_free(m);
}
END_TEST

START_TEST(test_truth_depth_matches_setting_plus_bias)
{
    struct sim_params p = tm_defaults();
    p.depth_bias_mm = 0.030;
    struct sim_model *m = tm_model(&p, 3);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    ck_assert_int_eq(sim_pen_set_depth(m, 1500), 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 3 * SEC, &c);
    ck_assert_int_eq(fflush(f), 0);
    struct truth tr;
    truth_read(f, &tr);
    ck_assert(!tr.parse_error);
    ck_assert_uint_gt(tr.n, 300);
    /* 5 um RMS per stroke over > 300 strokes: mean within 1 um */
    ck_assert_double_eq_tol(MEAN_OF(&tr, 0.0, protrusion), 1.5 + 0.030, 0.001);
    ck_assert_double_eq_tol(tr.s[0].set_depth, 1.5, 1e-9);

    /* Each stroke's truth protrusion is the max of the displacement
     * samples inside it (50 kS/s at 120 Hz: peak sampling error < 0.1 um,
     * noise 0.2 um RMS). */
    uint64_t t0 = 0; /* sensor started at t = 0 */
    size_t checked = 0;
    for (size_t i = 0; i < tr.n; i++) {
        double start = tr.s[i].t - tr.s[i].period;
        int32_t best = INT32_MIN;
        for (size_t k = 0; k < c.n; k++) {
            double ts = (double)(t0 + (c.index[k] + 1) * 20000) * 1e-9;
            if (ts > start && ts <= tr.s[i].t && c.disp[k] > best)
                best = c.disp[k];
        }
        ck_assert_int_gt(best, INT32_MIN);
        ck_assert_double_eq_tol(best / 1e6, tr.s[i].protrusion, 0.0015);
        checked++;
    }
    ck_assert_uint_gt(checked, 300);
    capture_free(&c);
    truth_free(&tr);
    fclose(f);
    sim_model_free(m);
}
END_TEST

START_TEST(test_depth_bias_drawn_per_unit)
{
    /* bias NaN: drawn from the seed, so units differ but a unit is stable */
    struct sim_params p;
    sim_params_default(&p);
    ck_assert(isnan(p.depth_bias_mm));
    p.depth_noise_mm = 0;
    p.jitter_pct = 0;
    double d[3];
    uint64_t seeds[3] = { 11, 11, 12 };
    for (int i = 0; i < 3; i++) {
        struct truth tr;
        tm_run_with_truth(&p, seeds[i], 300 * MS, &tr);
        ck_assert_uint_gt(tr.n, 10);
        d[i] = tr.s[tr.n - 1].protrusion;
        truth_free(&tr);
    }
    ck_assert_double_eq(d[0], d[1]);
    ck_assert_double_ne(d[0], d[2]);
    ck_assert_double_eq_tol(d[0], 1.0, 0.2); /* 5 sigma of 0.04 mm */
}
END_TEST

/* A pen swap: the next unit starts at power-on (IDLE, no setpoint, no
 * latched fault), reports its own serial, has its own depth bias and
 * rests with its needles wherever its cam stopped; the sensor head keeps
 * streaming. */
START_TEST(test_new_unit_power_on)
{
    struct sim_params p;
    sim_params_default(&p);
    p.depth_noise_mm = 0;
    p.disp_noise_um = 0;
    struct sim_model *m = tm_model(&p, 5);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 200 * MS, &c);
    /* Old unit left in FAULT by a lost heartbeat. */
    sim_model_run_until(m, 800 * MS);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_FAULT);
    capture_drain(m, &c, 2000);
    double parked[4];
    for (int u = 0; u < 4; u++) {
        char serial[17];
        snprintf(serial, sizeof serial, "PA-%07d", 100 + u);
        ck_assert_int_eq(sim_pen_new_unit(m, 1000 + (uint64_t)u, serial), 0);
        struct pen_identity id;
        sim_pen_identity(m, &id);
        ck_assert_str_eq(id.serial, serial);
        struct pen_status st = tm_status(m);
        ck_assert_int_eq(st.state, PEN_STATE_IDLE);
        ck_assert_uint_eq(st.faults, 0);
        ck_assert_uint_eq(st.set_rate_mhz, 0);
        ck_assert_int_eq(sim_pen_start(m), PEN_ERR_BAD_STATE); /* no setpoint yet */
        size_t before = c.n;
        run_fed(m, sim_model_now(m) + 20 * MS, &c);
        ck_assert_uint_gt(c.n, before); /* the sensor kept streaming */
        parked[u] = c.disp[c.n - 1] / 1e6;
        ck_assert_double_eq_tol(c.disp[before], c.disp[c.n - 1], 1e-9); /* at rest */
        ck_assert(parked[u] <= 1.0 + 0.25 && parked[u] >= 1.0 - 3.5 - 0.25);
    }
    /* Units park at different cam positions (a fixed phase would hide a
     * level estimate that depends on it). */
    ck_assert(fabs(parked[0] - parked[1]) > 0.01 || fabs(parked[1] - parked[2]) > 0.01 ||
              fabs(parked[2] - parked[3]) > 0.01);
    ck_assert_int_eq(sim_pen_new_unit(m, 1, ""), -1);
    ck_assert_int_eq(sim_pen_new_unit(m, 1, "12345678901234567"), -1);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

/* ---- sensor stream ---- */

/* A block takes as many waiting frames as asked for, not fewer: with 1000
 * frames in the FIFO, asking for 500 gives exactly 500 twice. */
START_TEST(test_take_block_fills_to_max)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 5);
    ck_assert_int_eq(sim_sh_set_rate(m, 50000), 0);
    ck_assert_int_eq(sim_sh_start(m), 0);
    sim_model_run_until(m, 20 * MS);
    ck_assert_uint_eq(sim_sh_available(m), 1000);
    static int32_t f[SH_MAX_SAMPLES], d[SH_MAX_SAMPLES];
    struct sh_block_header h;
    ck_assert_int_eq(sim_sh_take_block(m, 500, &h, f, d), 500);
    ck_assert_uint_eq(h.count, 500);
    ck_assert_uint_eq(h.first_sample, 0);
    ck_assert_int_eq(sim_sh_take_block(m, 500, &h, f, d), 500);
    ck_assert_uint_eq(h.first_sample, 500);
    ck_assert_uint_eq(sim_sh_available(m), 0);
    sim_model_free(m);
}
END_TEST

START_TEST(test_samples_synchronous_and_counted)
{
    static const uint32_t rates[] = { 50000, 20000, 48000, 7500 };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        struct sim_params p = tm_defaults();
        struct sim_model *m = tm_model(&p, 5);
        ck_assert_int_eq(sim_pen_start(m), 0);
        run_fed(m, 123 * MS, NULL);
        ck_assert_int_eq(sim_sh_set_rate(m, rates[i]), 0);
        ck_assert_int_eq(sim_sh_start(m), 0);
        ck_assert_int_eq(sim_sh_set_rate(m, rates[i]), SH_ERR_BUSY);
        struct capture c;
        capture_init(&c);
        run_fed(m, 123 * MS + 2 * SEC, &c);
        ck_assert_uint_eq(c.n, 2 * (size_t)rates[i]);
        ck_assert(!c.header_error);
        ck_assert(!c.seq_error);
        ck_assert(!c.index_error);
        ck_assert_uint_eq(c.overrun_blocks, 0);
        ck_assert_uint_eq(c.no_target_blocks, 0);
        struct sh_status st;
        sim_sh_status(m, &st);
        ck_assert_uint_eq(st.blocks_sent, c.blocks);
        ck_assert_uint_eq(st.rate_hz, rates[i]);
        ck_assert(st.flags & SH_STAT_STREAMING);
        /* stop: the block that empties the FIFO is flagged LAST */
        run_fed(m, 123 * MS + 2 * SEC + 5 * MS, NULL);
        ck_assert_int_eq(sim_sh_stop(m), 0);
        ck_assert_int_eq(sim_sh_stop(m), SH_ERR_NOT_STREAMING);
        capture_drain(m, &c, 100);
        ck_assert_uint_eq(c.last_blocks, 1);
        run_fed(m, 123 * MS + 3 * SEC, NULL);
        ck_assert_uint_eq(sim_sh_available(m), 0);
        capture_free(&c);
        sim_model_free(m);
    }
}
END_TEST

START_TEST(test_same_seed_same_samples)
{
    struct sim_params p = tm_defaults();
    p.depth_bias_mm = NAN;
    struct capture c[3];
    uint64_t seeds[3] = { 42, 42, 43 };
    for (int i = 0; i < 3; i++) {
        struct sim_model *m = tm_model(&p, seeds[i]);
        capture_init(&c[i]);
        ck_assert_int_eq(sim_pen_start(m), 0);
        ck_assert_int_eq(sim_sh_start(m), 0);
        if (i == 0) {
            run_fed(m, SEC, &c[i]);
        } else {
            /* a different chopping of the same call times */
            for (uint64_t t = 7 * MS; t < SEC; t += 7 * MS)
                sim_model_run_until(m, t);
            sim_model_run_until(m, SEC);
            capture_drain(m, &c[i], 333);
        }
        sim_model_free(m);
    }
    /* run_fed feeds the watchdog; both stay well under 500 ms? no: the
     * second pen had no heartbeat for 1 s, so compare the first 490 ms. */
    size_t n = 490 * 50;
    ck_assert_uint_ge(c[0].n, n);
    ck_assert_uint_ge(c[1].n, n);
    ck_assert_int_eq(memcmp(c[0].force, c[1].force, n * sizeof(int32_t)), 0);
    ck_assert_int_eq(memcmp(c[0].disp, c[1].disp, n * sizeof(int32_t)), 0);
    ck_assert_int_ne(memcmp(c[0].force, c[2].force, n * sizeof(int32_t)), 0);
    ck_assert_int_ne(memcmp(c[0].disp, c[2].disp, n * sizeof(int32_t)), 0);
    for (int i = 0; i < 3; i++)
        capture_free(&c[i]);
}
END_TEST

START_TEST(test_fifo_overrun_exact_skip)
{
    struct sim_params p = tm_defaults();
    p.sh_fifo_frames = 1000;
    struct sim_model *m = tm_model(&p, 9);
    ck_assert_int_eq(sim_sh_set_rate(m, 10000), 0);
    sim_model_run_until(m, 250 * MS);
    ck_assert_int_eq(sim_sh_start(m), 0);
    sim_model_run_until(m, 750 * MS); /* 5000 frames made, FIFO holds 1000 */
    ck_assert_uint_eq(sim_sh_available(m), 1000);
    struct sh_status st;
    sim_sh_status(m, &st);
    ck_assert_uint_eq(st.overruns, 1);
    struct capture c;
    capture_init(&c);
    capture_drain(m, &c, 400);
    ck_assert_uint_eq(c.n, 1000);
    ck_assert_uint_eq(c.overrun_blocks, 0);
    ck_assert_uint_eq(c.index[999], 999);
    sim_model_run_until(m, 760 * MS); /* frames 5000..5099 */
    capture_drain(m, &c, 400);
    ck_assert_uint_eq(c.n, 1100);
    ck_assert_uint_eq(c.overrun_blocks, 1);
    ck_assert_uint_eq(c.first_after_overrun, 5000);
    ck_assert(!c.index_error && !c.seq_error && !c.header_error);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

START_TEST(test_tare_and_calibration)
{
    struct sim_params p = tm_defaults();
    p.sh_cal.force_gain_ppm = 1020000;
    p.sh_cal.force_offset_un = 3000;
    p.sh_cal.disp_gain_ppm = 990000;
    p.sh_cal.disp_offset_nm = -2000;
    p.depth_noise_mm = 0;
    p.force_noise_n = 0;
    p.disp_noise_um = 0;
    struct sim_model *m = tm_model(&p, 2);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 100 * MS, &c);
    /* pen at rest, retracted: the load cell sees its zero offset only;
     * applying the device's calibration gives the true values back */
    struct sh_calibration cal;
    sim_sh_calibration(m, &cal);
    ck_assert_int_eq(cal.force_gain_ppm, 1020000);
    double f = sh_cal_force(&cal, c.force[100]) / 1e6;
    double d = sh_cal_disp(&cal, c.disp[100]) / 1e6;
    ck_assert_double_eq_tol(f, 0.050, 0.0002);
    ck_assert_double_eq_tol(d, 1.0 - 3.5, 0.0001);
    /* TARE: the mean raw force of the last 10 ms becomes the offset that
     * is subtracted from the raw (uncalibrated) samples */
    ck_assert_int_eq(sim_sh_tare(m), 0);
    struct sh_status st;
    sim_sh_status(m, &st);
    int32_t expect_tare = (int32_t)lround((50000.0 - 3000.0) / 1.02);
    ck_assert_int_le(abs(st.tare_offset_un - expect_tare), 1);
    ck_assert(st.flags & SH_STAT_CAL_VALID);
    ck_assert(st.flags & SH_STAT_TARGET_PRESENT);
    size_t before = c.n;
    run_fed(m, 200 * MS, &c);
    ck_assert_int_le(abs(c.force[before + 10]), 100); /* one LSB */
    /* the stored calibration cannot change while streaming */
    ck_assert_int_eq(sim_sh_set_calibration(m, &cal), SH_ERR_BUSY);
    ck_assert_int_eq(sim_sh_stop(m), 0);
    /* writing a calibration changes what the device stores, not its physics */
    struct sh_calibration bad = cal;
    bad.due_date = bad.cal_date;
    ck_assert_int_eq(sim_sh_set_calibration(m, &bad), SH_ERR_BAD_CALIBRATION);
    struct sh_calibration other = cal;
    other.force_gain_ppm = 1000000;
    ck_assert_int_eq(sim_sh_set_calibration(m, &other), 0);
    sim_sh_calibration(m, &cal);
    ck_assert_int_eq(cal.force_gain_ppm, 1000000);
    struct sh_identity id;
    sim_sh_identity(m, &id);
    ck_assert_str_eq(id.model, "SH-2");
    ck_assert_uint_eq(id.channels, 2);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

START_TEST(test_depth_change_at_rest_moves_needles)
{
    struct sim_params p = tm_defaults();
    p.depth_noise_mm = 0;
    p.disp_noise_um = 0;
    struct sim_model *m = tm_model(&p, 2);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 20 * MS, &c);
    ck_assert_double_eq_tol(c.disp[c.n - 1] / 1e6, 1.0 - 3.5, 1e-5);
    ck_assert_int_eq(sim_pen_set_depth(m, 2000), 0);
    run_fed(m, 40 * MS, &c);
    ck_assert_double_eq_tol(c.disp[c.n - 1] / 1e6, 2.0 - 3.5, 1e-5);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

START_TEST(test_force_waveform_shape)
{
    /* no noise: force rises k*p to the puncture threshold, falls to the
     * plateau, rings, and is ~0 after withdrawal; the sampled maximum of
     * each stroke is within ~1.5 % of the truth peak */
    struct sim_params p = tm_defaults();
    p.force_noise_n = 0;
    p.disp_noise_um = 0;
    p.jitter_pct = 0;
    p.depth_noise_mm = 0;
    struct sim_model *m = tm_model(&p, 1);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    ck_assert_int_eq(sim_pen_start(m), 0);
    ck_assert_int_eq(sim_sh_start(m), 0); /* t0 = 0 */
    struct capture c;
    capture_init(&c);
    run_fed(m, 500 * MS, &c);
    ck_assert_int_eq(fflush(f), 0);
    struct truth tr;
    truth_read(f, &tr);
    size_t checked = 0;
    for (size_t i = 0; i < tr.n; i++) {
        if (strcmp(tr.s[i].state, "RUNNING") != 0)
            continue;
        size_t a = (size_t)ceil((tr.s[i].t - tr.s[i].period) * 50000.0);
        size_t b = (size_t)floor(tr.s[i].t * 50000.0) - 1;
        ck_assert_uint_lt(b, c.n);
        size_t peak = a, tip = a;
        for (size_t k = a; k <= b; k++) {
            if (c.force[k] > c.force[peak])
                peak = k;
            if (c.disp[k] > c.disp[tip])
                tip = k;
        }
        double fpk = c.force[peak] / 1e6 - 0.05, tp = tr.s[i].peak_force;
        ck_assert_double_eq_tol(tp, 0.525, 0.1);
        ck_assert_double_le(fpk, tp + 0.0002);
        ck_assert_double_ge(fpk, tp * 0.985);
        /* displacement at the force peak: x_p = F/k */
        ck_assert_double_eq_tol(c.disp[peak] / 1e6, tp / 2.5, 0.03);
        /* 1.2 ms later, still advancing: the plateau (0.45 x peak) give
         * or take the decaying ring, 0.3 x drop x exp(-zeta w 1.2 ms) */
        double ring = 0.3 * 0.55 * tp * exp(-0.05 * 2 * M_PI * 3000 * 0.0012);
        ck_assert_double_eq_tol(c.force[peak + 60] / 1e6 - 0.05, 0.45 * tp, ring + 0.002);
        ck_assert_double_lt(c.force[peak + 60] / 1e6 - 0.05, 0.8 * tp);
        /* after the needles withdraw: back to the zero offset */
        ck_assert_uint_lt(tip + 150, c.n);
        ck_assert_double_eq_tol(c.force[tip + 150] / 1e6, 0.05, 0.002);
        checked++;
    }
    ck_assert_uint_gt(checked, 40);
    truth_free(&tr);
    fclose(f);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

/* ---- commands and watchdog ---- */

START_TEST(test_command_ranges)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = sim_model_new(&p, 1);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(tm_status(m).set_rate_mhz, 0);
    ck_assert_int_eq(sim_pen_start(m), PEN_ERR_BAD_STATE); /* no rate set yet */
    ck_assert(!sim_pen_motor_running(m));
    ck_assert_int_eq(sim_pen_set_rate(m, 49999), PEN_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(sim_pen_set_rate(m, 150001), PEN_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(sim_pen_set_rate(m, 50000), 0);
    ck_assert_int_eq(sim_pen_set_rate(m, 133333), 0);
    ck_assert_uint_eq(tm_status(m).set_rate_mhz, 133300); /* PEN.md 5.2: 100 mHz steps */
    ck_assert_int_eq(sim_pen_set_rate(m, 133350), 0);
    ck_assert_uint_eq(tm_status(m).set_rate_mhz, 133400);               /* a half step rounds up */
    ck_assert_int_eq(sim_pen_set_depth(m, 1100), PEN_ERR_OUT_OF_RANGE); /* not x 250 um */
    ck_assert_int_eq(sim_pen_set_depth(m, 2750), PEN_ERR_OUT_OF_RANGE); /* above max */
    ck_assert_int_eq(sim_pen_set_depth(m, 2500), 0);
    ck_assert_int_eq(sim_pen_set_depth(m, 0), 0);
    ck_assert_uint_eq(tm_status(m).set_depth_um, 0);
    ck_assert_int_eq(sim_sh_set_rate(m, 999), SH_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(sim_sh_set_rate(m, 100001), SH_ERR_OUT_OF_RANGE);
    struct pen_identity id;
    sim_pen_identity(m, &id);
    ck_assert_str_eq(id.model, "MNP-A");
    ck_assert_uint_eq(id.needle_count, 14);
    ck_assert_uint_eq(id.depth_step_um, 250);
    ck_assert_uint_eq(id.protocol_version, PEN_PROTOCOL_VERSION);
    ck_assert_uint_eq(tm_status(m).watchdog_ms, PEN_WATCHDOG_TIMEOUT_MS);
    sim_model_free(m);

    /* profile B style range: steps count from depth_min_um */
    p.depth_min_um = 150;
    p.depth_step_um = 100;
    p.depth_max_um = 2950;
    m = tm_model(&p, 1);
    ck_assert_int_eq(sim_pen_set_depth(m, 250), 0);
    ck_assert_int_eq(sim_pen_set_depth(m, 200), PEN_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(sim_pen_set_depth(m, 100), PEN_ERR_OUT_OF_RANGE);
    sim_model_free(m);
}
END_TEST

START_TEST(test_state_machine_rules)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 1);
    ck_assert_int_eq(sim_pen_stop(m), 0);        /* STOP in IDLE: nothing */
    ck_assert_int_eq(sim_pen_clear_fault(m), 0); /* no fault: nothing */
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 200 * MS, NULL);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_RUNNING);
    ck_assert_int_eq(sim_pen_start(m), 0); /* START while running: nothing */
    (void)sim_pen_take_events(m, (struct pen_msg[8]){ 0 }, 8);
    /* a new setpoint the rotor is already within 5 % of: still RUNNING */
    ck_assert_int_eq(sim_pen_set_rate(m, 121000), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_RUNNING);
    ck_assert_int_eq(sim_pen_take_events(m, (struct pen_msg[8]){ 0 }, 8), 0);
    /* a new setpoint while running: SPINUP until within 5 % again */
    ck_assert_int_eq(sim_pen_set_rate(m, 80000), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_SPINUP);
    ck_assert(tm_has_event(m, PEN_MSG_EVT_STATE, 0, PEN_STATE_SPINUP));
    run_fed(m, 400 * MS, NULL);
    struct pen_status st = tm_status(m);
    ck_assert_int_eq(st.state, PEN_STATE_RUNNING);
    ck_assert_double_eq_tol(st.measured_rate_mhz, 80000, 0.05 * 80000);
    /* START while the rotor is still braking is refused */
    ck_assert_int_eq(sim_pen_stop(m), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_STOPPING);
    ck_assert_int_eq(sim_pen_start(m), PEN_ERR_BAD_STATE);
    ck_assert_int_eq(sim_pen_stop(m), 0); /* STOP in STOPPING: nothing */
    run_fed(m, 700 * MS, NULL);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_IDLE);
    sim_model_free(m);
}
END_TEST

/* While the emulator tracks the host's bytes, the watchdog judges only the
 * time up to which it has read them: a starved rigsim loop (the sensor
 * head's thread advancing the model meanwhile) must not trip it with a
 * heartbeat still unread; a silent host still trips it once read up to. */
START_TEST(test_watchdog_judges_read_input_only)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 1);
    sim_model_run_until(m, 37 * MS);
    sim_pen_input_seen(m, true, 37 * MS);
    ck_assert_int_eq(sim_pen_start(m), 0);
    sim_pen_input_seen(m, true, 100 * MS); /* then the loop stalls ... */
    sim_model_run_until(m, 1000 * MS);     /* ... while the model runs on */
    ck_assert_msg(sim_pen_motor_running(m), "tripped on input not yet read");
    sim_pen_heartbeat(m); /* the heartbeat that waited in the pty */
    sim_pen_input_seen(m, true, 1000 * MS);
    sim_model_run_until(m, 1400 * MS);
    sim_pen_input_seen(m, true, 1400 * MS);
    ck_assert(sim_pen_motor_running(m));
    /* nothing more from the host: read up to 1.51 s, the watchdog trips */
    sim_pen_input_seen(m, true, 1510 * MS);
    sim_model_run_until(m, 1520 * MS);
    ck_assert(!sim_pen_motor_running(m));
    ck_assert(tm_status(m).faults & PEN_FAULT_WATCHDOG);
    /* untracked (port closed): the model's own time */
    ck_assert_int_eq(sim_pen_clear_fault(m), 0);
    sim_pen_input_seen(m, false, 1520 * MS);
    ck_assert_int_eq(sim_pen_start(m), 0);
    sim_model_run_until(m, 2030 * MS);
    ck_assert(tm_status(m).faults & PEN_FAULT_WATCHDOG);
    sim_model_free(m);
}
END_TEST

START_TEST(test_watchdog_stops_after_500ms_not_before)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 1);
    sim_model_run_until(m, 37 * MS);
    ck_assert_int_eq(sim_pen_start(m), 0);
    sim_model_run_until(m, 200 * MS);
    sim_pen_heartbeat(m); /* last heartbeat at 200 ms */
    sim_model_run_until(m, 699 * MS);
    ck_assert(sim_pen_motor_running(m));
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_RUNNING);
    ck_assert_uint_eq(tm_status(m).faults & PEN_FAULT_WATCHDOG, 0);
    sim_model_run_until(m, 701 * MS);
    ck_assert(!sim_pen_motor_running(m));
    struct pen_status st = tm_status(m);
    ck_assert_int_eq(st.state, PEN_STATE_FAULT);
    ck_assert(st.faults & PEN_FAULT_WATCHDOG);
    struct pen_msg ev[8];
    int n = sim_pen_take_events(m, ev, 8);
    ck_assert_int_eq(n, 4); /* SPINUP, RUNNING, FAULT, then the fault (PEN.md 9) */
    ck_assert_uint_eq(ev[2].type, PEN_MSG_EVT_STATE);
    ck_assert_uint_eq(ev[2].u.evt_state.state, PEN_STATE_FAULT);
    ck_assert_uint_eq(ev[2].u.evt_state.reason, PEN_REASON_WATCHDOG);
    ck_assert_uint_eq(ev[3].type, PEN_MSG_EVT_FAULT);
    ck_assert(ev[3].u.evt_fault.faults & PEN_FAULT_WATCHDOG);
    ck_assert_uint_eq(ev[3].seq, (uint16_t)(ev[2].seq + 1));
    /* latched until CLEAR_FAULT */
    ck_assert_int_eq(sim_pen_start(m), PEN_ERR_FAULT_ACTIVE);
    ck_assert_int_eq(sim_pen_clear_fault(m), 0);
    ck_assert_uint_eq(tm_status(m).faults, 0);
    ck_assert_int_ne(tm_status(m).state, PEN_STATE_FAULT);
    ck_assert_int_eq(sim_pen_start(m), 0);
    ck_assert(sim_pen_motor_running(m));
    /* the rotor keeps decelerating/accelerating normally afterwards */
    run_fed(m, 1200 * MS, NULL);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_RUNNING);
    sim_model_free(m);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("sim-model");
    TCase *pen = tcase_create("pen");
    tcase_add_test(pen, test_spinup_reaches_rate_fast);
    tcase_add_test(pen, test_steady_rate_within_rate_error);
    tcase_add_test(pen, test_truth_depth_matches_setting_plus_bias);
    tcase_add_test(pen, test_needles_continuous_across_stop_and_depth);
    tcase_add_test(pen, test_depth_bias_drawn_per_unit);
    tcase_add_test(pen, test_new_unit_power_on);
    tcase_add_test(pen, test_command_ranges);
    tcase_add_test(pen, test_state_machine_rules);
    tcase_add_test(pen, test_watchdog_stops_after_500ms_not_before);
    tcase_add_test(pen, test_watchdog_judges_read_input_only);
    tcase_set_timeout(pen, 120);
    suite_add_tcase(s, pen);
    TCase *sh = tcase_create("sensor");
    tcase_add_test(sh, test_samples_synchronous_and_counted);
    tcase_add_test(sh, test_take_block_fills_to_max);
    tcase_add_test(sh, test_same_seed_same_samples);
    tcase_add_test(sh, test_fifo_overrun_exact_skip);
    tcase_add_test(sh, test_tare_and_calibration);
    tcase_add_test(sh, test_force_waveform_shape);
    tcase_add_test(sh, test_depth_change_at_rest_moves_needles);
    tcase_set_timeout(sh, 120);
    suite_add_tcase(s, sh);
    suite_add_tcase(s, faults_tcase());
    suite_add_tcase(s, params_tcase());
    suite_add_tcase(s, mount_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
