/* Helpers of the simulator model's unit tests that assert (see checks.h). */
#include "checks.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct sim_params tm_defaults(void)
{
    struct sim_params p;
    sim_params_default(&p);
    p.depth_bias_mm = 0.0;
    return p;
}

/* A model whose rate has been set to 120 Hz (START needs a setpoint). */
struct sim_model *tm_model(const struct sim_params *p, uint64_t seed)
{
    struct sim_model *m = sim_model_new(p, seed);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(sim_pen_set_rate(m, 120000), 0);
    return m;
}

struct pen_status tm_status(const struct sim_model *m)
{
    struct pen_status st;
    sim_pen_status(m, &st);
    return st;
}

/* Mean and RMS spread of stroke rates of RUNNING strokes after t_from. */
void tm_rate_stats(const struct truth *t, double t_from, double *mean, double *sd, size_t *n)
{
    double s = 0, s2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i].t < t_from || strcmp(t->s[i].state, "RUNNING") != 0)
            continue;
        s += t->s[i].rate;
        s2 += t->s[i].rate * t->s[i].rate;
        k++;
    }
    *n = k;
    *mean = k ? s / (double)k : NAN;
    *sd = k > 1 ? sqrt(fmax(0, (s2 - s * s / (double)k) / (double)(k - 1))) : NAN;
}

double tm_mean_field(const struct truth *t, double t_from, size_t off)
{
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i].t < t_from)
            continue;
        s += *(const double *)(const void *)((const char *)&t->s[i] + off);
        k++;
    }
    return k ? s / (double)k : NAN;
}
/* Run a started pen for dur with truth captured; returns the parsed truth. */
void tm_run_with_truth(const struct sim_params *p, uint64_t seed, uint64_t dur, struct truth *tr)
{
    struct sim_model *m = tm_model(p, seed);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, dur, NULL);
    ck_assert_int_eq(fflush(f), 0);
    truth_read(f, tr);
    ck_assert(!tr->parse_error);
    fclose(f);
    sim_model_free(m);
}
struct sim_model *tm_running_pen(struct sim_params *p, uint64_t seed)
{
    struct sim_model *m = tm_model(p, seed);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 200 * MS, NULL);
    ck_assert_int_eq(tm_status(m).state, PEN_STATE_RUNNING);
    return m;
}

bool tm_has_event(struct sim_model *m, uint8_t type, uint32_t fault, uint8_t state)
{
    struct pen_msg ev[64];
    int n = sim_pen_take_events(m, ev, 64);
    for (int i = 0; i < n; i++) {
        if (ev[i].type != type)
            continue;
        if (type == PEN_MSG_EVT_FAULT && (ev[i].u.evt_fault.faults & fault))
            return true;
        if (type == PEN_MSG_EVT_STATE && ev[i].u.evt_state.state == state)
            return true;
    }
    return false;
}
