/* Physics model: the pen firmware (model_int.h): its events and states,
 * the control step (supply, motor, protections) and the pen's interface. */
#include <string.h>

#include "sim/model/model_int.h"

/* ---- pen events ---- */

static void push_event(struct sim_model *m, const struct pen_msg *ev)
{
    if (m->ev_count == EVENT_QUEUE) {
        /* Nobody is reading events: keep the oldest (they explain what
         * happened first) and count the rest. */
        m->ev_lost++;
        return;
    }
    int i = (m->ev_head + m->ev_count) % EVENT_QUEUE;
    m->ev[i] = *ev;
    m->ev[i].version = PEN_PROTOCOL_VERSION;
    m->ev[i].flags = PEN_F_EVENT;
    m->ev[i].seq = m->ev_seq++;
    m->ev_count++;
}

static void set_state(struct sim_model *m, uint8_t state, uint8_t reason)
{
    if (state == m->state)
        return;
    struct pen_msg ev = { .type = PEN_MSG_EVT_STATE };
    ev.u.evt_state.state = state;
    ev.u.evt_state.previous = m->state;
    ev.u.evt_state.reason = reason;
    mdl_truth_printf(m,
                     "{\"t\":%.9f,\"event\":\"state\",\"state\":\"%s\",\"previous\":\"%s\","
                     "\"reason\":\"%s\"}\n",
                     (double)m->now * 1e-9, mdl_state_name(state), mdl_state_name(m->state),
                     mdl_reason_name(reason));
    m->state = state;
    push_event(m, &ev);
}

static void raise_fault(struct sim_model *m, uint32_t bit)
{
    if (m->faults & bit)
        return;
    m->faults |= bit;
    struct pen_msg ev = { .type = PEN_MSG_EVT_FAULT };
    ev.u.evt_fault.faults = m->faults;
    ev.u.evt_fault.motor_current_ma = (uint16_t)lround(m->current_ma);
    ev.u.evt_fault.supply_mv = (uint16_t)lround(m->supply_mv);
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"fault\",\"faults\":%u}\n", (double)m->now * 1e-9,
                     (unsigned)m->faults);
    push_event(m, &ev);
}

/* A protection trips: motor off, FAULT latched until CLEAR_FAULT. PEN.md
 * 8/9: EVT_STATE (motor off, the fact a host must act on) goes out first,
 * EVT_FAULT (the cause) right behind it. */
static void trip(struct sim_model *m, uint32_t bit, uint8_t reason)
{
    m->driven = false;
    m->stall_s = m->oc_s = 0;
    set_state(m, PEN_STATE_FAULT, reason);
    raise_fault(m, bit);
}

/* ---- firmware control step ---- */

static void update_supply(struct sim_model *m)
{
    if (m->usb_powered && !fault_on(m, SIM_FAULT_LOW_BATTERY))
        return;
    double fall = 0;
    if (m->driven && !m->usb_powered)
        fall += m->p.battery_drain_mv_per_min / 60.0 * STEP_S;
    if (fault_on(m, SIM_FAULT_LOW_BATTERY))
        fall += fault_value(m, SIM_FAULT_LOW_BATTERY, LOW_BATTERY_FALL_MV_S) * STEP_S;
    m->supply_mv = fmax(BATTERY_FLOOR_MV, m->supply_mv - fall);
}

/* Rotor speed the drive aims for: open loop, so it droops with supply. */
static double drive_target_hz(const struct sim_model *m)
{
    double f = set_rate_hz(m) * (1.0 + m->p.rate_error_pct / 100.0);
    return f * m->supply_mv / m->supply0_mv;
}

/* Ground truth for spin-up and stop time (docs/SIMULATOR-MODEL.md): the
 * control step at which the rotor first runs within 5 % of the setpoint
 * after the drive starts, and at which it first falls below 5 % of the rate
 * it had when the drive stopped. "Runs" is the rotor's own speed, the
 * drive's first-order response times the stroke's speed factor (the
 * stroke-to-stroke jitter): what the needle does, so what a measurement
 * can see. */
static void rotor_truth(struct sim_model *m)
{
    if (m->driven != m->rotor_was_driven) {
        m->rotor_was_driven = m->driven;
        m->rotor_band_told = m->rotor_slow_told = false;
        m->rotor_stop_hz = m->f_motor;
        mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"%s\",\"rate_hz\":%.6f}\n",
                         (double)m->now * 1e-9, m->driven ? "drive_on" : "drive_off", m->f_motor);
    }
    double set = set_rate_hz(m);
    if (m->driven && !m->rotor_band_told && set > 0 && fabs(f_inst(m) - set) <= 0.05 * set) {
        m->rotor_band_told = true;
        mdl_truth_printf(m,
                         "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"in_band\",\"rate_hz\":%.6f}\n",
                         (double)m->now * 1e-9, f_inst(m));
    }
    if (!m->driven && !m->rotor_slow_told && m->rotor_stop_hz > 0 &&
        f_inst(m) < 0.05 * m->rotor_stop_hz) {
        m->rotor_slow_told = true;
        mdl_truth_printf(
            m, "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"below_5pct\",\"rate_hz\":%.6f}\n",
            (double)m->now * 1e-9, f_inst(m));
    }
}

static void update_motor(struct sim_model *m)
{
    bool stalled = fault_on(m, SIM_FAULT_STALL);
    double nominal = m->driven ? drive_target_hz(m) : 0.0;
    double target = stalled ? 0.0 : nominal;
    double decay = stalled ? m->decay_stall : (m->driven ? m->decay_up : m->decay_down);
    m->f_motor = target + (m->f_motor - target) * decay;
    if (target == 0.0 && m->f_motor < REST_HZ)
        m->f_motor = 0.0;
    rotor_truth(m);

    if (m->driven) {
        /* Back-EMF model: current rises as the rotor lags its drive, to
         * 3x run current when locked (inrush at start, stall). */
        double lag = nominal > 0 ? fmin(1.0, fmax(0.0, 1.0 - m->f_motor / nominal)) : 1.0;
        double i = m->p.run_current_ma * (1.0 + INRUSH_EXTRA * lag);
        if (fault_on(m, SIM_FAULT_OVERCURRENT))
            i = fmax(i, OVERCURRENT_FAULT_MA);
        i *= 1.0 + CURRENT_NOISE_FRAC * rng_normal(&m->rng_pen);
        m->current_ma = fmax(0.0, i);
    } else {
        m->current_ma = 0.0;
    }
    double ia = m->current_ma / 1000.0;
    double rise_ss = HEAT_K_PER_A2 * ia * ia;
    double rise = m->temp_c - AMBIENT_C;
    rise += (rise_ss - rise) * (STEP_S / HEAT_TAU_S);
    m->temp_c = AMBIENT_C + rise;
}

/* The time the watchdog judges (sim_pen_input_seen): the model's, or
 * while the host's bytes are tracked, no later than the emulator has read
 * them. */
static uint64_t watchdog_time(const struct sim_model *m)
{
    return m->input_tracked && m->input_seen < m->now ? m->input_seen : m->now;
}

static void update_faults_and_state(struct sim_model *m)
{
    /* Cartridge detection follows the hardware, not latched. */
    bool present = mdl_cartridge_fitted(m) && !fault_on(m, SIM_FAULT_NO_CARTRIDGE);
    if (present != m->cart_present) {
        m->cart_present = present;
        if (!present)
            raise_fault(m, PEN_FAULT_NO_CARTRIDGE);
        else
            m->faults &= ~PEN_FAULT_NO_CARTRIDGE;
    }

    if (m->supply_mv < LOW_BATTERY_MV)
        raise_fault(m, PEN_FAULT_LOW_BATTERY);
    else
        m->faults &= ~PEN_FAULT_LOW_BATTERY; /* a warning: clears itself */
    if (m->supply_mv < CUTOFF_MV && !(m->faults & PEN_FAULT_BATTERY_CUTOFF))
        trip(m, PEN_FAULT_BATTERY_CUTOFF, PEN_REASON_FAULT);
    if (m->temp_c > OVERTEMP_C && !(m->faults & PEN_FAULT_OVERTEMP))
        trip(m, PEN_FAULT_OVERTEMP, PEN_REASON_FAULT);

    if (m->driven) {
        double set = set_rate_hz(m);
        m->stall_s = m->f_motor < STALL_DETECT_FRAC * set ? m->stall_s + STEP_S : 0.0;
        m->oc_s = m->current_ma > OVERCURRENT_MA ? m->oc_s + STEP_S : 0.0;
        if (m->oc_s > OVERCURRENT_TRIP_S)
            trip(m, PEN_FAULT_OVERCURRENT, PEN_REASON_FAULT);
        else if (m->stall_s >= STALL_CUTOUT_S)
            trip(m, PEN_FAULT_STALL, PEN_REASON_FAULT);
        else if (watchdog_time(m) >= m->last_hb + PEN_WATCHDOG_TIMEOUT_MS * 1000000ull)
            trip(m, PEN_FAULT_WATCHDOG, PEN_REASON_WATCHDOG);
    }

    if (m->state == PEN_STATE_SPINUP && m->driven) {
        double target = drive_target_hz(m);
        if (target > 0 && !fault_on(m, SIM_FAULT_STALL) &&
            (in_running_band(m) || fabs(m->f_motor - target) <= SETTLED_BAND * target))
            set_state(m, PEN_STATE_RUNNING, PEN_REASON_AT_RATE);
    } else if (m->state == PEN_STATE_STOPPING && m->f_motor == 0.0) {
        set_state(m, PEN_STATE_IDLE, PEN_REASON_STOPPED);
    }
}

static void activate_due_faults(struct sim_model *m)
{
    struct fault_slot *o = &m->fault[SIM_FAULT_SENSOR_OVERRUN];
    if (o->armed && !o->fired && m->now >= o->start_ns) {
        o->fired = true;
        m->drop_pending +=
            (uint64_t)llround(fault_value(m, SIM_FAULT_SENSOR_OVERRUN, OVERRUN_DEFAULT_FRAMES));
    }
    if (fault_on(m, SIM_FAULT_DEPTH_DRIFT)) {
        double mins = (double)(m->now - m->fault[SIM_FAULT_DEPTH_DRIFT].start_ns) / 60e9;
        double rate = fault_value(m, SIM_FAULT_DEPTH_DRIFT, DRIFT_DEFAULT_MM_MIN);
        m->drift_mm = fmin(DRIFT_CAP_MM, rate * mins);
    }
}

/* Noiseless raw (untared, uncalibrated) force now, in uN. */
void mdl_control_step(struct sim_model *m)
{
    /* Re-anchor the phase here: the rate changes at this boundary. */
    m->phi_anchor = phase_at(m, m->now);
    m->t_anchor = m->now;
    if (!m->driven)
        m->st.all_driven = false;
    activate_due_faults(m);
    update_supply(m);
    update_motor(m);
    update_faults_and_state(m);
    m->zero_shift_n = sim_mount_zero_shift_n(&m->mount, m->now);
    mdl_record_tare_history(m);
}

/* ---- pen firmware interface ---- */

int sim_pen_set_rate(struct sim_model *m, uint32_t rate_mhz)
{
    if (rate_mhz < PEN_RATE_MIN_MHZ || rate_mhz > PEN_RATE_MAX_MHZ)
        return PEN_ERR_OUT_OF_RANGE;
    /* PEN.md 5.2: the drive makes rates in PEN_RATE_STEP_MHZ steps; the
     * setpoint is the nearest, a half step up (the range ends are steps) */
    uint32_t applied = (rate_mhz + PEN_RATE_STEP_MHZ / 2) / PEN_RATE_STEP_MHZ * PEN_RATE_STEP_MHZ;
    bool changed = applied != m->set_rate_mhz;
    m->set_rate_mhz = applied;
    /* PEN.md 5.2/7: a new setpoint the rotor already runs within 5 % of
     * keeps RUNNING (no spin-up that is none); a farther one spins up
     * again. The same setpoint changes nothing (an out-of-spec pen that
     * settled outside the band stays RUNNING). */
    if (changed && m->state == PEN_STATE_RUNNING && !in_running_band(m))
        set_state(m, PEN_STATE_SPINUP, PEN_REASON_COMMAND);
    return 0;
}

int sim_pen_set_depth(struct sim_model *m, uint16_t depth_um)
{
    if (depth_um < m->p.depth_min_um || depth_um > m->p.depth_max_um ||
        depth_um > PEN_DEPTH_MAX_UM || (depth_um - m->p.depth_min_um) % m->p.depth_step_um)
        return PEN_ERR_OUT_OF_RANGE;
    m->set_depth_um = depth_um;
    /* With the rotor at rest the adjuster moves the parked needles too,
     * wherever the cam stopped (in the phantom or not): the needles never
     * jump when the rotor starts. */
    if (m->f_motor == 0.0) {
        m->st.depth_mm = mdl_depth_now_mm(m) + m->st.depth_noise_mm;
        m->st.set_depth_mm = depth_um / 1000.0;
        mdl_stroke_geometry(&m->st, &m->p);
    }
    return 0;
}

int sim_pen_start(struct sim_model *m)
{
    /* The START request itself counts as a heartbeat. */
    m->last_hb = m->now;
    switch (m->state) {
    case PEN_STATE_SPINUP:
    case PEN_STATE_RUNNING:
        return 0;
    case PEN_STATE_STOPPING:
        return PEN_ERR_BAD_STATE;
    case PEN_STATE_FAULT:
        return PEN_ERR_FAULT_ACTIVE;
    default:
        break;
    }
    if (!m->cart_present)
        return PEN_ERR_NO_CARTRIDGE;
    if (m->set_rate_mhz == 0)
        return PEN_ERR_BAD_STATE;
    m->driven = true;
    m->stall_s = m->oc_s = 0;
    set_state(m, PEN_STATE_SPINUP, PEN_REASON_COMMAND);
    return 0;
}

int sim_pen_stop(struct sim_model *m)
{
    if (!m->driven)
        return 0;
    m->driven = false;
    set_state(m, m->f_motor > 0 ? PEN_STATE_STOPPING : PEN_STATE_IDLE, PEN_REASON_COMMAND);
    return 0;
}

/* Fault conditions the firmware can still see with the motor off. */
static bool fault_condition_persists(const struct sim_model *m)
{
    return m->supply_mv < CUTOFF_MV || m->temp_c > OVERTEMP_C;
}

int sim_pen_clear_fault(struct sim_model *m)
{
    if (m->state != PEN_STATE_FAULT)
        return 0;
    if (fault_condition_persists(m))
        return PEN_ERR_FAULT_ACTIVE;
    /* Latched bits clear; live warnings (cartridge, low battery) stay. */
    m->faults &= PEN_FAULT_NO_CARTRIDGE | PEN_FAULT_LOW_BATTERY;
    set_state(m, PEN_STATE_IDLE, PEN_REASON_FAULT_CLEARED);
    return 0;
}

void sim_pen_heartbeat(struct sim_model *m)
{
    m->last_hb = m->now;
}

void sim_pen_input_seen(struct sim_model *m, bool tracked, uint64_t seen_ns)
{
    m->input_tracked = tracked;
    if (seen_ns > m->input_seen)
        m->input_seen = seen_ns;
}

void sim_pen_identity(const struct sim_model *m, struct pen_identity *id)
{
    memset(id, 0, sizeof *id);
    memcpy(id->model, m->p.pen_model, sizeof id->model);
    memcpy(id->serial, m->p.pen_serial, sizeof id->serial);
    id->hw_revision = m->p.pen_hw_revision;
    id->fw_major = m->p.pen_fw[0];
    id->fw_minor = m->p.pen_fw[1];
    id->fw_patch = m->p.pen_fw[2];
    if (m->cart_present) {
        memcpy(id->cartridge_id, m->p.cartridge_id, sizeof id->cartridge_id);
        id->needle_count = m->p.needle_count;
    }
    id->protocol_version = PEN_PROTOCOL_VERSION;
    id->depth_step_um = m->p.depth_step_um;
    id->depth_min_um = m->p.depth_min_um;
    id->depth_max_um = m->p.depth_max_um;
}

static uint16_t clamp_u16(double x, double hi)
{
    return (uint16_t)lround(fmin(hi, fmax(0.0, x)));
}

void sim_pen_status(const struct sim_model *m, struct pen_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = m->state;
    st->set_rate_mhz = m->set_rate_mhz;
    /* Tachometer: this stroke's instantaneous rate. */
    st->measured_rate_mhz = m->f_motor > REST_HZ ? (uint32_t)lround(f_inst(m) * 1000.0) : 0;
    st->set_depth_um = m->set_depth_um;
    st->motor_current_ma = clamp_u16(m->current_ma, 5000);
    st->supply_mv = clamp_u16(m->supply_mv, 6000);
    st->temperature_cdeg = (int16_t)lround(fmin(125.0, fmax(-40.0, m->temp_c)) * 100.0);
    st->faults = m->faults;
    st->uptime_ms = (uint32_t)(m->now / 1000000ull);
    st->watchdog_ms = PEN_WATCHDOG_TIMEOUT_MS;
}

int sim_pen_take_events(struct sim_model *m, struct pen_msg *ev, int max)
{
    int n = 0;
    while (n < max && m->ev_count > 0) {
        ev[n++] = m->ev[m->ev_head];
        m->ev_head = (m->ev_head + 1) % EVENT_QUEUE;
        m->ev_count--;
    }
    return n;
}

bool sim_pen_motor_running(const struct sim_model *m)
{
    return m->driven;
}
