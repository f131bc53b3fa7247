/* The engine against the simulator's physics model (rig/sim/model):
 * analysis accuracy versus the ground truth the model writes, over the
 * DVT grid, and the shipped sequences and faults giving the right
 * outcomes. Virtual time: fast and not timing-sensitive. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "model_ops.h"
#include "core/run.h"
#include "core/sequence.h"

struct window {
    double t0, t1; /* model seconds covered by the capture */
    struct an_result an;
};

/* Truth over the strokes whose peak lies inside the window. */
static void truth_in(FILE *truth, const struct window *w, double *rate, double *depth,
                     size_t *count)
{
    rewind(truth);
    char line[1024];
    double sum_period = 0, sum_depth = 0;
    size_t n = 0;
    while (fgets(line, sizeof line, truth)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(j, "t_peak");
        if (cJSON_IsNumber(tp) && tp->valuedouble >= w->t0 && tp->valuedouble <= w->t1) {
            sum_period += cJSON_GetObjectItemCaseSensitive(j, "period_s")->valuedouble;
            sum_depth += cJSON_GetObjectItemCaseSensitive(j, "protrusion_mm")->valuedouble;
            n++;
        }
        cJSON_Delete(j);
    }
    *rate = n ? (double)n / sum_period : NAN;
    *depth = n ? sum_depth / (double)n : NAN;
    *count = n;
}

static void capture(struct model_bench *b, double seconds, struct window *w, double set_rate,
                    double set_depth)
{
    char err[128];
    struct rig_capture c;
    ck_assert_int_eq(model_ops.capture_begin(b, err, sizeof err), 0);
    ck_assert_int_eq(model_bench_advance(b, seconds), 0);
    ck_assert_int_eq(model_ops.capture_end(b, &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.flags, 0);
    w->t0 = (double)c.first_sample / c.rate_hz;
    w->t1 = (double)(c.first_sample + c.n) / c.rate_hz;
    struct an_input in = { .force_un = c.force_un,
                           .disp_nm = c.disp_nm,
                           .n = c.n,
                           .rate_hz = c.rate_hz,
                           .start_index = -1,
                           .stop_index = -1,
                           .set_rate_hz = set_rate,
                           .set_depth_mm = set_depth };
    ck_assert_int_eq(an_analyse(&in, &w->an), 0);
    ck_assert_str_eq(w->an.error, "");
    capture_free(&c);
}

START_TEST(accuracy_over_dvt_grid)
{
    static const double rates[] = { 50, 100, 150 };
    struct sim_params p;
    sim_params_default(&p);
    FILE *truth = tmpfile();
    ck_assert_ptr_nonnull(truth);
    struct model_bench b;
    ck_assert_int_eq(model_bench_init(&b, &p, 7, truth), 0);
    char err[128];
    ck_assert_int_eq(model_ops.pen_set_rate(&b, 100000, err, sizeof err), 0);
    ck_assert_int_eq(model_ops.pen_start(&b, err, sizeof err), 0);
    ck_assert_int_eq(model_bench_advance(&b, 0.3), 0);
    struct window w[30];
    double set_r[30], set_d[30];
    int k = 0;
    for (int r = 0; r < 3; r++)
        for (int d = 1; d <= 10; d++, k++) {
            set_r[k] = rates[r];
            set_d[k] = 0.25 * d;
            ck_assert_int_eq(
                model_ops.pen_set_rate(&b, (uint32_t)(rates[r] * 1000), err, sizeof err), 0);
            ck_assert_int_eq(model_ops.pen_set_depth(&b, (uint16_t)(250 * d), err, sizeof err), 0);
            ck_assert_int_eq(model_bench_advance(&b, 0.25), 0);
            capture(&b, 40 / rates[r], &w[k], set_r[k], set_d[k]);
        }
    fflush(truth);
    double worst_rate = 0, worst_depth = 0;
    for (k = 0; k < 30; k++) {
        double tr, td;
        size_t n;
        truth_in(truth, &w[k], &tr, &td, &n);
        ck_assert_msg(n >= 35, "point %d: %zu truth strokes", k, n);
        double er = fabs(w[k].an.rate_hz - tr) / tr * 100;
        double ed = fabs(w[k].an.depth_mean_mm - td) * 1000;
        worst_rate = fmax(worst_rate, er);
        worst_depth = fmax(worst_depth, ed);
        ck_assert_msg(er < 0.1, "%g Hz %g mm: rate %.5f vs truth %.5f (%.4f %%)", set_r[k],
                      set_d[k], w[k].an.rate_hz, tr, er);
        ck_assert_msg(ed < 5, "%g Hz %g mm: depth %.5f vs truth %.5f (%.2f um)", set_r[k], set_d[k],
                      w[k].an.depth_mean_mm, td, ed);
    }
    printf(
        "DVT grid (30 points, 40 strokes each): worst rate error %.4f %%, worst depth error %.2f um\n",
        worst_rate, worst_depth);
    model_bench_free(&b);
    fclose(truth);
}
END_TEST

static struct run_result run_on_model(const char *seq_file, struct model_bench *b)
{
    struct rig_problems p;
    problems_init(&p);
    struct rig_sequence *s = sequence_load(seq_file, &p);
    ck_assert_ptr_nonnull(s);
    struct run_config cfg = { .seq = s, .dut_serial = "PA-0000001", .station_id = "model" };
    struct run_result r;
    ck_assert_int_eq(run_execute(&cfg, &model_ops, b, &r), 0);
    sequence_free(s);
    problems_free(&p);
    return r;
}

START_TEST(eol_passes_on_a_healthy_pen)
{
    struct sim_params p;
    sim_params_default(&p);
    p.depth_bias_mm = 0.01; /* a fixed, healthy unit */
    struct model_bench b;
    ck_assert_int_eq(model_bench_init(&b, &p, 11, NULL), 0);
    struct run_result r = run_on_model(FIXTURES_DIR "/sequences/eol.json", &b);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s: %s", outcome_str(r.outcome), r.message);
    ck_assert_uint_eq(r.measurements, 18);
    ck_assert(!sim_pen_motor_running(b.m));
    printf("EOL on the model: %.2f s of pen time\n", (double)b.now_ns * 1e-9);
    model_bench_free(&b);
}
END_TEST

START_TEST(dvt_sweep_passes_on_a_healthy_pen)
{
    struct sim_params p;
    sim_params_default(&p);
    p.depth_bias_mm = -0.02;
    struct model_bench b;
    ck_assert_int_eq(model_bench_init(&b, &p, 12, NULL), 0);
    struct run_result r = run_on_model(FIXTURES_DIR "/sequences/dvt-sweep.json", &b);
    ck_assert_msg(r.outcome == OUTCOME_PASS, "%s: %s", outcome_str(r.outcome), r.message);
    ck_assert_uint_eq(r.measurements, 3 + 30 * 7);
    ck_assert_uint_eq(r.retries, 0);
    model_bench_free(&b);
}
END_TEST

START_TEST(faults_give_the_right_outcome)
{
    static const struct {
        enum sim_fault_kind fault;
        double value, at_s;
        enum rig_outcome want;
        const char *message;
    } cases[] = {
        { SIM_FAULT_DEPTH_DRIFT, 6.0, 0, OUTCOME_FAIL, "depth FAIL" },
        { SIM_FAULT_NO_CARTRIDGE, 0, 0, OUTCOME_FAIL, "pen refused (no cartridge)" },
        { SIM_FAULT_SENSOR_OVERRUN, 5000, 0.2, OUTCOME_ERROR, "sensor FIFO overrun" },
        { SIM_FAULT_STALL, 0, 0.3, OUTCOME_FAIL, "FAIL" },
        { SIM_FAULT_RATE_JITTER, 8, 0, OUTCOME_FAIL, " FAIL: " },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sim_params p;
        sim_params_default(&p);
        p.depth_bias_mm = 0;
        struct model_bench b;
        ck_assert_int_eq(model_bench_init(&b, &p, 21, NULL), 0);
        sim_model_inject(b.m, cases[i].fault, cases[i].value, (uint64_t)(cases[i].at_s * 1e9));
        struct run_result r = run_on_model(FIXTURES_DIR "/sequences/eol.json", &b);
        printf("fault %s: %s: %s\n", sim_fault_name(cases[i].fault), outcome_str(r.outcome),
               r.message);
        ck_assert_msg(r.outcome == cases[i].want, "fault %s: %s (%s)",
                      sim_fault_name(cases[i].fault), outcome_str(r.outcome), r.message);
        ck_assert_msg(strstr(r.message, cases[i].message) != NULL, "fault %s: %s",
                      sim_fault_name(cases[i].fault), r.message);
        ck_assert(!sim_pen_motor_running(b.m));
        model_bench_free(&b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_truth");
    TCase *tc = tcase_create("sim_truth");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, accuracy_over_dvt_grid);
    tcase_add_test(tc, eol_passes_on_a_healthy_pen);
    tcase_add_test(tc, dvt_sweep_passes_on_a_healthy_pen);
    tcase_add_test(tc, faults_give_the_right_outcome);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
