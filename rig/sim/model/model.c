/* Physics model of the simulated bench (see model.h for the contract and
 * docs/SIMULATOR-MODEL.md for the equations and every number chosen).
 *
 * Time structure. The pen "firmware" runs a fixed control step of STEP_NS
 * (10 kHz): motor speed, current, supply, temperature, protections and
 * state changes are updated only at step boundaries, which lie on a fixed
 * grid. Between boundaries the stroke phase advances linearly from an
 * anchor (phase, time) fixed at the last boundary or stroke start, so the
 * phase at any instant is computed, never accumulated: however a caller
 * chops time into run_until() calls, the same instants give the same
 * numbers. Stroke completions and punctures are events inside a step, at
 * the exact ns where the phase reaches them. Sensor frames are computed at
 * their own exact times (first_sample + n)/rate after START.
 *
 * Randomness: xoshiro256** streams seeded (via splitmix64) from the seed,
 * one per purpose (unit draws, pen dynamics, sensor noise, mounts: rng.h),
 * so switching the sensor on or off does not change what the pen does.
 * What changes each time the pen is clamped in the fixture lives in
 * mount.c.
 *
 * This file runs the model: the run loop, the life cycle, mounts and
 * sessions, fault injection. The pen firmware, the needles and sensor head,
 * and the ground truth output are parts of their own (model_int.h).
 */
#include "sim/model/model.h"

#include <stdlib.h>
#include <string.h>

#include "sim/model/model_int.h"

/* ---- run loop ---- */

void sim_model_run_until(struct sim_model *m, uint64_t t_ns)
{
    while (m->now < t_ns) {
        uint64_t end = t_ns < m->next_step ? t_ns : m->next_step;
        mdl_advance_within_step(m, end);
        m->now = end;
        if (m->now == m->next_step) {
            mdl_control_step(m);
            m->next_step += STEP_NS;
        }
    }
}

uint64_t sim_model_now(const struct sim_model *m)
{
    return m->now;
}

/* ---- life cycle ---- */

/* The pen part of the model at power-on: motor at rest, setpoint unset,
 * no latched faults, fresh battery, cold motor, an empty event queue. The
 * needles rest wherever the cam stopped (park_phase: 0 = retracted,
 * 0.5 = fully protruded). */
static void pen_power_on(struct sim_model *m, double park_phase)
{
    const struct sim_params *p = &m->p;
    m->state = PEN_STATE_IDLE;
    m->driven = false;
    m->set_rate_mhz = 0; /* not set yet: START is refused until it is */
    uint16_t d = 1000;
    if (d < p->depth_min_um || d > p->depth_max_um || d % p->depth_step_um)
        d = p->depth_min_um;
    m->set_depth_um = d;
    m->f_motor = 0.0;
    m->current_ma = 0.0;
    m->temp_c = AMBIENT_C;
    m->usb_powered = p->supply_mv <= 0;
    m->supply0_mv = m->supply_mv = m->usb_powered ? USB_SUPPLY_MV : p->supply_mv;
    m->faults = 0;
    m->last_hb = m->now;
    m->stall_s = m->oc_s = 0.0;
    m->drift_mm = 0.0;
    m->ring_on = false;
    m->ev_head = m->ev_count = 0;
    m->ev_seq = 0;
    m->cart_present = mdl_cartridge_fitted(m);
    if (!m->cart_present)
        m->faults |= PEN_FAULT_NO_CARTRIDGE;
    mdl_begin_stroke(m, m->now);
    m->phi_anchor = park_phase;
    m->t_anchor = m->now;
    /* The stroke the cam parked in is over as far as it got. */
    m->st.punctured = m->st.phi_puncture >= 0 && park_phase > m->st.phi_puncture;
    m->st.peak_seen = park_phase >= 0.5;
    m->st.rise_seen = park_phase >= 0.25;
    m->st.peak_ns = m->now;
    m->st.all_driven = false;
}

struct sim_model *sim_model_new(const struct sim_params *p, uint64_t seed)
{
    if (!p || p->sh_fifo_frames == 0 || p->sh_rate_hz < SH_RATE_MIN ||
        p->sh_rate_hz > SH_RATE_MAX || p->stroke_mm <= 0 || p->spinup_ms <= 0 ||
        p->spindown_ms <= 0 || p->phantom_k_n_per_mm <= 0 || p->depth_step_um == 0 ||
        p->sh_cal.force_gain_ppm <= 0 || p->sh_cal.disp_gain_ppm <= 0 || p->force_lsb_n <= 0 ||
        p->disp_lsb_um <= 0)
        return NULL;
    struct sim_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = *p;
    m->seed = seed;
    m->cap = p->sh_fifo_frames;
    m->ff = malloc(sizeof *m->ff * m->cap);
    m->fd = malloc(sizeof *m->fd * m->cap);
    m->fi = malloc(sizeof *m->fi * m->cap);
    if (!m->ff || !m->fd || !m->fi) {
        sim_model_free(m);
        return NULL;
    }
    rng_seed(&m->rng_unit, seed, 1);
    rng_seed(&m->rng_pen, seed, 2);
    rng_seed(&m->rng_sh, seed, 3);
    m->bench_seed = seed;
    sim_mount_seed(&m->mount, seed, 0);
    sim_mount_draw(&m->mount, p, SIM_MOUNT_START, 0);

    m->depth_bias_mm =
        isnan(p->depth_bias_mm) ? rng_normal(&m->rng_unit) * p->depth_bias_sd_mm : p->depth_bias_mm;
    /* "Time to 90 %" of a first-order response is tau * ln 10. */
    m->decay_up = exp(-STEP_S / (p->spinup_ms * 1e-3 / log(10.0)));
    m->decay_down = exp(-STEP_S / (p->spindown_ms * 1e-3 / log(10.0)));
    m->decay_stall = exp(-STEP_S / (STALL_SPINDOWN_S / log(100.0)));
    double w = 2.0 * M_PI * p->ring_hz;
    m->ring_alpha = p->ring_zeta * w;
    m->ring_wd = w * sqrt(fmax(0.0, 1.0 - p->ring_zeta * p->ring_zeta));

    m->next_step = STEP_NS;
    pen_power_on(m, 0.0); /* the first unit rests retracted */

    m->sh_rate = p->sh_rate_hz;
    m->cal_stored = p->sh_cal;
    return m;
}

int sim_pen_new_unit(struct sim_model *m, uint64_t seed, const char *serial)
{
    size_t len = serial ? strlen(serial) : 0;
    if (len == 0 || len > PEN_STR_LEN)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (serial[i] < 0x20 || serial[i] > 0x7e)
            return -1;
    memset(m->p.pen_serial, 0, sizeof m->p.pen_serial);
    memcpy(m->p.pen_serial, serial, len);
    m->seed = seed;
    rng_seed(&m->rng_unit, seed, 1);
    rng_seed(&m->rng_pen, rng_session_seed(seed, m->session), 2);
    m->depth_bias_mm = isnan(m->p.depth_bias_mm) ? rng_normal(&m->rng_unit) * m->p.depth_bias_sd_mm
                                                 : m->p.depth_bias_mm;
    /* Pen faults belong to the old unit; the sensor head's stay. */
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        if (k != SIM_FAULT_SENSOR_OVERRUN)
            m->fault[k] = (struct fault_slot){ 0 };
    /* The next unit goes into the fixture: a mount of its own, in place
     * before the power-on parks its needles against the phantom. */
    sim_mount_draw(&m->mount, &m->p, SIM_MOUNT_SWAP, m->now);
    pen_power_on(m, rng_uniform(&m->rng_unit));
    mdl_truth_printf(m,
                     "{\"t\":%.9f,\"event\":\"unit\",\"seed\":%llu,\"serial\":\"%s\","
                     "\"depth_bias_mm\":%.6f,\"needles\":%u}\n",
                     (double)m->now * 1e-9, (unsigned long long)m->seed, m->p.pen_serial,
                     m->depth_bias_mm, (unsigned)m->p.needle_count);
    mdl_truth_mount(m);
    return 0;
}

void sim_model_free(struct sim_model *m)
{
    if (!m)
        return;
    free(m->ff);
    free(m->fd);
    free(m->fi);
    free(m);
}

void sim_model_set_truth(struct sim_model *m, FILE *truth)
{
    m->truth = truth;
    /* What the unit is, so a reader can check depth = setting + bias. */
    mdl_truth_printf(m,
                     "{\"t\":%.9f,\"event\":\"unit\",\"seed\":%llu,\"depth_bias_mm\":%.6f,"
                     "\"needles\":%u}\n",
                     (double)m->now * 1e-9, (unsigned long long)m->seed, m->depth_bias_mm,
                     (unsigned)m->p.needle_count);
    if (m->session != 0)
        mdl_truth_session(m);
    mdl_truth_mount(m);
}

/* ---- measurement system analysis: mounts and sessions ---- */

/* An operator unclamps a pen only when it is at rest (docs: the model
 * refuses rather than guess what a pen running out of the fixture does). */
static bool pen_at_rest(const struct sim_model *m)
{
    return !m->driven && m->f_motor == 0.0;
}

/* A new mount under the pen at rest: the needles stay where the cam
 * stopped, now against the phantom at the new spot. */
static void remount_at_rest(struct sim_model *m, enum sim_mount_why why)
{
    sim_mount_draw(&m->mount, &m->p, why, m->now);
    m->zero_shift_n = sim_mount_zero_shift_n(&m->mount, m->now);
    mdl_stroke_meets_mount(&m->st, &m->mount, &m->p);
    /* Needles parked past the puncture point went through the new spot as
     * the pen went in (as at power-on); nothing rings any more. */
    m->st.punctured = m->st.phi_puncture >= 0 && phase_at(m, m->now) > m->st.phi_puncture;
    m->ring_on = false;
    mdl_truth_mount(m);
}

int sim_pen_remount(struct sim_model *m)
{
    if (!pen_at_rest(m))
        return -1;
    remount_at_rest(m, SIM_MOUNT_REMOUNT);
    return 0;
}

int sim_model_new_session(struct sim_model *m, uint64_t session)
{
    if (!pen_at_rest(m))
        return -1;
    /* The unit stream stays: the units are the same physical pens. */
    m->session = session;
    rng_seed(&m->rng_pen, rng_session_seed(m->seed, session), 2);
    rng_seed(&m->rng_sh, rng_session_seed(m->bench_seed, session), 3);
    sim_mount_seed(&m->mount, m->bench_seed, session);
    mdl_truth_session(m);
    remount_at_rest(m, SIM_MOUNT_SESSION);
    return 0;
}

uint64_t sim_model_session(const struct sim_model *m)
{
    return m->session;
}

uint32_t sim_model_mount_count(const struct sim_model *m)
{
    return m->mount.n;
}

/* ---- faults ---- */

void sim_model_inject(struct sim_model *m, enum sim_fault_kind k, double value, uint64_t start_ns)
{
    if ((unsigned)k >= SIM_FAULT_COUNT_)
        return;
    m->fault[k] = (struct fault_slot){ .armed = true, .value = value, .start_ns = start_ns };
    mdl_truth_printf(m,
                     "{\"t\":%.9f,\"event\":\"inject\",\"fault\":\"%s\",\"value\":%.6g,"
                     "\"start\":%.9f}\n",
                     (double)m->now * 1e-9, sim_fault_name(k), isfinite(value) ? value : 0.0,
                     (double)start_ns * 1e-9);
}

void sim_model_clear_faults(struct sim_model *m)
{
    /* Remove the physical conditions (the pen is "repaired"); latched
     * firmware flags stay until CLEAR_FAULT. */
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"clear_faults\"}\n", (double)m->now * 1e-9);
    if (m->fault[SIM_FAULT_LOW_BATTERY].armed)
        m->supply_mv = m->supply0_mv; /* fresh battery */
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        m->fault[k] = (struct fault_slot){ 0 };
    m->drift_mm = 0;
    m->drop_pending = 0;
}
