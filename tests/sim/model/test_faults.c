/* Unit tests of the simulator physics model: the injected faults (stall,
 * overcurrent, depth drift, rate jitter, low battery, no cartridge, sensor
 * overrun, bent needle), run by test_model.c. */
#include "test_model.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"

START_TEST(test_fault_stall)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_running_pen(&p, 1);
    (void)sim_pen_take_events(m, (struct pen_msg[8]){ 0 }, 8);
    sim_model_inject(m, SIM_FAULT_STALL, NAN, 300 * MS);
    run_fed(m, 290 * MS, NULL);
    ck_assert_uint_gt(tm_status(m).measured_rate_mhz, 110000);
    run_fed(m, 350 * MS, NULL); /* 50 ms after the stall */
    struct pen_status st = tm_status(m);
    ck_assert_uint_lt(st.measured_rate_mhz, 2000);
    ck_assert_uint_ge(st.motor_current_ma, 1200);
    ck_assert_uint_le(st.motor_current_ma, 1500);
    run_fed(m, 580 * MS, NULL); /* cut-out ~300 ms after detection */
    ck_assert(sim_pen_motor_running(m));
    run_fed(m, 650 * MS, NULL);
    ck_assert(!sim_pen_motor_running(m));
    st = tm_status(m);
    ck_assert_int_eq(st.state, PEN_STATE_FAULT);
    ck_assert(st.faults & PEN_FAULT_STALL);
    ck_assert_uint_eq(st.motor_current_ma, 0);
    ck_assert(tm_has_event(m, PEN_MSG_EVT_FAULT, PEN_FAULT_STALL, 0));
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_overcurrent)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_running_pen(&p, 1);
    sim_model_inject(m, SIM_FAULT_OVERCURRENT, NAN, 300 * MS);
    run_fed(m, 395 * MS, NULL);
    ck_assert(sim_pen_motor_running(m));
    ck_assert_uint_gt(tm_status(m).motor_current_ma, 1500);
    run_fed(m, 410 * MS, NULL);
    ck_assert(!sim_pen_motor_running(m));
    ck_assert(tm_status(m).faults & PEN_FAULT_OVERCURRENT);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_FAULT);
    ck_assert(tm_has_event(m, PEN_MSG_EVT_FAULT, PEN_FAULT_OVERCURRENT, 0));
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_depth_drift)
{
    struct sim_params p = tm_defaults();
    p.depth_noise_mm = 0;
    struct sim_model *m = tm_model(&p, 1);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    sim_model_inject(m, SIM_FAULT_DEPTH_DRIFT, 6.0, 0); /* 0.1 mm/s: cap at 2 s */
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 3 * SEC, NULL);
    ck_assert_int_eq(fflush(f), 0);
    struct truth tr;
    truth_read(f, &tr);
    double mid = NAN, last = tr.s[tr.n - 1].protrusion;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.s[i].t >= 1.0) {
            mid = tr.s[i].protrusion;
            break;
        }
    ck_assert_double_eq_tol(mid, 1.0 + 0.1, 0.002);
    ck_assert_double_eq_tol(last, 1.0 + 0.2, 1e-9); /* capped */
    truth_free(&tr);
    fclose(f);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_rate_jitter)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_model(&p, 4);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    sim_model_inject(m, SIM_FAULT_RATE_JITTER, NAN, 1 * SEC); /* default 7 % */
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 4 * SEC, NULL);
    ck_assert_int_eq(fflush(f), 0);
    struct truth tr;
    truth_read(f, &tr);
    double s1 = 0, s1sq = 0, s2 = 0, s2sq = 0;
    size_t n1 = 0, n2 = 0;
    for (size_t i = 0; i < tr.n; i++) {
        double r = tr.s[i].rate;
        if (tr.s[i].t > 0.3 && tr.s[i].t < 0.99) {
            s1 += r, s1sq += r * r, n1++;
        } else if (tr.s[i].t > 1.02) {
            s2 += r, s2sq += r * r, n2++;
        }
    }
    double sd1 = sqrt((s1sq - s1 * s1 / n1) / (n1 - 1)) / (s1 / n1);
    double sd2 = sqrt((s2sq - s2 * s2 / n2) / (n2 - 1)) / (s2 / n2);
    ck_assert_double_lt(sd1, 0.01);
    ck_assert_double_gt(sd2, 0.05);
    ck_assert_double_lt(sd2, 0.10);
    truth_free(&tr);
    fclose(f);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_low_battery)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_running_pen(&p, 1);
    (void)sim_pen_take_events(m, (struct pen_msg[8]){ 0 }, 8);
    sim_model_inject(m, SIM_FAULT_LOW_BATTERY, 200.0, 500 * MS); /* 200 mV/s */
    run_fed(m, 2900 * MS, NULL);                                 /* 4000 - 480 = 3520 mV */
    struct pen_status st = tm_status(m);
    ck_assert_uint_eq(st.faults & PEN_FAULT_LOW_BATTERY, 0);
    /* open-loop drive: rate droops with supply (3520/4000 = 0.88) */
    ck_assert_double_eq_tol(st.measured_rate_mhz / 120000.0, 3520.0 / 4000.0, 0.03);
    run_fed(m, 3100 * MS, NULL); /* 3480 mV: warning, still running */
    st = tm_status(m);
    ck_assert(st.faults & PEN_FAULT_LOW_BATTERY);
    ck_assert(sim_pen_motor_running(m));
    ck_assert(tm_has_event(m, PEN_MSG_EVT_FAULT, PEN_FAULT_LOW_BATTERY, 0));
    run_fed(m, 4600 * MS, NULL); /* 3180 mV: below cut-off */
    st = tm_status(m);
    ck_assert(!sim_pen_motor_running(m));
    ck_assert(st.faults & PEN_FAULT_BATTERY_CUTOFF);
    ck_assert_int_eq(st.state, PEN_STATE_FAULT);
    ck_assert_uint_lt(st.supply_mv, 3200);
    ck_assert_int_eq(sim_pen_clear_fault(m), PEN_ERR_FAULT_ACTIVE); /* still flat */
    /* a fresh battery: the warning clears itself, the cut-off needs CLEAR_FAULT */
    sim_model_clear_faults(m);
    run_fed(m, 4700 * MS, NULL);
    ck_assert_uint_eq(tm_status(m).faults & PEN_FAULT_LOW_BATTERY, 0);
    ck_assert(tm_status(m).faults & PEN_FAULT_BATTERY_CUTOFF);
    ck_assert_int_eq(sim_pen_clear_fault(m), 0);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_IDLE);
    ck_assert_uint_eq(tm_status(m).faults, 0);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_no_cartridge)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_running_pen(&p, 1);
    sim_model_inject(m, SIM_FAULT_NO_CARTRIDGE, NAN, 300 * MS);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 290 * MS, &c);
    ck_assert_uint_eq(c.no_target_blocks, 0);
    size_t before = c.n;
    run_fed(m, 310 * MS, NULL);
    capture_drain(m, &c, SH_MAX_SAMPLES);
    before = c.n;
    run_fed(m, 800 * MS, &c);
    ck_assert_uint_gt(c.no_target_blocks, 0);
    int32_t fmax_un = INT32_MIN;
    for (size_t k = before; k < c.n; k++) {
        ck_assert_int_eq(c.disp[k], SH_NO_TARGET);
        if (c.force[k] > fmax_un)
            fmax_un = c.force[k];
    }
    ck_assert_int_lt(fmax_un, 100000); /* zero offset + noise only */
    /* the pen keeps running and reports it */
    ck_assert(sim_pen_motor_running(m));
    ck_assert(tm_status(m).faults & PEN_FAULT_NO_CARTRIDGE);
    struct pen_identity id;
    sim_pen_identity(m, &id);
    ck_assert_str_eq(id.cartridge_id, "");
    ck_assert_uint_eq(id.needle_count, 0);
    struct sh_status sst;
    sim_sh_status(m, &sst);
    ck_assert_uint_eq(sst.flags & SH_STAT_TARGET_PRESENT, 0);
    ck_assert(tm_has_event(m, PEN_MSG_EVT_FAULT, PEN_FAULT_NO_CARTRIDGE, 0));
    /* once stopped it will not start without a cartridge */
    ck_assert_int_eq(sim_pen_stop(m), 0);
    run_fed(m, 950 * MS, &c); /* 120 Hz -> rest: ~95 ms */
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_IDLE);
    ck_assert_int_eq(sim_pen_start(m), PEN_ERR_NO_CARTRIDGE);
    /* put it back */
    sim_model_clear_faults(m);
    run_fed(m, 1000 * MS, &c);
    ck_assert_uint_eq(tm_status(m).faults & PEN_FAULT_NO_CARTRIDGE, 0);
    ck_assert_int_ne(c.disp[c.n - 1], SH_NO_TARGET);
    ck_assert_int_eq(sim_pen_start(m), 0);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_sensor_overrun)
{
    struct sim_params p = tm_defaults();
    struct sim_model *m = tm_running_pen(&p, 1);
    ck_assert_int_eq(sim_sh_start(m), 0); /* at 200 ms */
    sim_model_inject(m, SIM_FAULT_SENSOR_OVERRUN, 1234, 400 * MS);
    struct capture c;
    capture_init(&c);
    run_fed(m, 1200 * MS, &c);
    ck_assert_uint_eq(c.overrun_blocks, 1);
    /* frame 9999 is taken at t0 + 10000/50000 s = 400 ms, just before the
     * fault acts; frames 10000..11233 are lost */
    ck_assert_uint_eq(c.first_after_overrun, 10000 + 1234);
    ck_assert_uint_eq(c.n, 50000 - 1234);
    ck_assert(!c.index_error && !c.seq_error);
    capture_free(&c);
    sim_model_free(m);
}
END_TEST

START_TEST(test_fault_bent_needle)
{
    struct sim_params p = tm_defaults();
    struct truth healthy, bent;
    tm_run_with_truth(&p, 8, 2 * SEC, &healthy);
    struct sim_model *m = tm_model(&p, 8);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    sim_model_inject(m, SIM_FAULT_BENT_NEEDLE, 2, 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    run_fed(m, 2 * SEC, &c);
    ck_assert_int_eq(fflush(f), 0);
    truth_read(f, &bent);
    double h = MEAN_OF(&healthy, 0.3, peak_force), b = MEAN_OF(&bent, 0.3, peak_force);
    /* 14 needles x 0.0375 N = 0.525 N; two missing: 12/14 of it */
    ck_assert_double_eq_tol(h, 0.525, 0.01);
    ck_assert_double_eq_tol(b / h, 12.0 / 14.0, 0.01);
    /* and the force samples show it: max per stroke ~ truth peak + zero offset */
    int32_t fmax_un = INT32_MIN;
    for (size_t k = c.n / 2; k < c.n; k++)
        if (c.force[k] > fmax_un)
            fmax_un = c.force[k];
    ck_assert_double_eq_tol(fmax_un / 1e6, 0.45 + 0.05, 0.04);
    capture_free(&c);
    truth_free(&healthy);
    truth_free(&bent);
    fclose(f);
    sim_model_free(m);
}
END_TEST

/* Review fix: a bent-needle value beyond int range ("all of them") used to
 * be converted unclamped, wrapping to a healthy or super-healthy pen. */
START_TEST(test_fault_bent_needle_huge_value)
{
    static const double values[] = { 14, 3e9, 1e30 };
    struct sim_params p = tm_defaults();
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct sim_model *m = tm_model(&p, 8);
        FILE *f = tmpfile();
        ck_assert_ptr_nonnull(f);
        sim_model_set_truth(m, f);
        sim_model_inject(m, SIM_FAULT_BENT_NEEDLE, values[i], 0);
        ck_assert_int_eq(sim_pen_start(m), 0);
        run_fed(m, SEC / 2, NULL);
        ck_assert_int_eq(fflush(f), 0);
        struct truth t;
        truth_read(f, &t);
        ck_assert(!t.parse_error);
        ck_assert_uint_gt(t.n, 10);
        /* no needle left to meet the phantom: no force on any stroke */
        ck_assert_msg(MEAN_OF(&t, 0.1, peak_force) == 0.0, "value %g: peak force %g N", values[i],
                      MEAN_OF(&t, 0.1, peak_force));
        truth_free(&t);
        fclose(f);
        sim_model_free(m);
    }
}
END_TEST

TCase *faults_tcase(void)
{
    TCase *f = tcase_create("faults");
    tcase_add_test(f, test_fault_stall);
    tcase_add_test(f, test_fault_overcurrent);
    tcase_add_test(f, test_fault_depth_drift);
    tcase_add_test(f, test_fault_rate_jitter);
    tcase_add_test(f, test_fault_low_battery);
    tcase_add_test(f, test_fault_no_cartridge);
    tcase_add_test(f, test_fault_sensor_overrun);
    tcase_add_test(f, test_fault_bent_needle);
    tcase_add_test(f, test_fault_bent_needle_huge_value);
    tcase_set_timeout(f, 120);
    return f;
}
