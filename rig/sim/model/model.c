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
 */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define STEP_NS 100000ull               /* firmware control step: 100 us */
#define STEP_S (STEP_NS * 1e-9)
#define NS_PER_S 1000000000ull

#define RUNNING_BAND 0.05               /* RUNNING = within 5 % of set rate */
#define SETTLED_BAND 0.01               /* ...or settled within 1 % of target */
#define REST_HZ 0.5                     /* below this the rotor is at rest */
#define STALL_DETECT_FRAC 0.2           /* driven but slower than 20 % of set */
#define STALL_CUTOUT_S 0.300
#define STALL_SPINDOWN_S 0.050          /* rate -> ~0 (1 %) within 50 ms */
#define OVERCURRENT_MA 1500.0
#define OVERCURRENT_TRIP_S 0.100
#define OVERCURRENT_FAULT_MA 1800.0
#define INRUSH_EXTRA 2.0                /* locked rotor draws 3x run current */
#define CURRENT_NOISE_FRAC 0.01
#define LOW_BATTERY_MV 3500.0
#define CUTOFF_MV 3200.0
#define BATTERY_FLOOR_MV 3000.0
#define USB_SUPPLY_MV 5000.0
#define LOW_BATTERY_FALL_MV_S 50.0      /* low-battery fault default */
#define AMBIENT_C 25.0
#define HEAT_K_PER_A2 40.0              /* steady rise: 40 K/A^2 -> 8 K at 450 mA */
#define HEAT_TAU_S 120.0
#define OVERTEMP_C 60.0
#define DRIFT_DEFAULT_MM_MIN 0.02
#define DRIFT_CAP_MM 0.2
#define JITTER_FAULT_DEFAULT_PCT 7.0
#define OVERRUN_DEFAULT_FRAMES 5000.0
#define PUNCTURE_DROP_S 0.0002         /* tissue tear: peak -> plateau */
#define PUNCTURE_SD_FRAC 0.03           /* stroke-to-stroke spread of threshold */
#define LOAD_CELL_ZERO_N 0.050          /* load-cell zero offset + phantom weight */
#define SH_TEMP_CDEG 2650
#define SH_FORCE_FS_UN 10000000         /* 10 N */
#define SH_DISP_FS_NM 5000000           /* 5 mm */
#define EVENT_QUEUE 64
#define TARE_WINDOW_STEPS 100           /* TARE averages the last 10 ms */

/* ---- model state ---- */

/* One needle stroke: phase 0 = fully retracted (p = d - S), 0.5 = peak
 * protrusion d, 1 = retracted again. Everything the force model needs is
 * fixed when the stroke starts. */
struct stroke {
    uint64_t start_ns;
    double rate_factor;         /* 1 + per-stroke jitter */
    double depth_mm;            /* peak protrusion d of this stroke */
    double depth_noise_mm;      /* its per-stroke part */
    double threshold_n;         /* puncture threshold F_p of all needles */
    double threshold_base_n;    /* ... before the mount's phantom spot scales it */
    double seat_mm;             /* phantom surface beyond the face (mount) */
    double set_depth_mm;
    double set_rate_hz;
    double peak_force_n;        /* analytic max of the contact force */
    double plateau_n;           /* friction plateau after puncture */
    double phi_puncture;        /* phase of puncture, < 0 if none */
    double k_n_per_mm;
    bool contact;               /* needles present on this stroke */
    bool punctured;             /* puncture event already happened */
    bool peak_seen;             /* phase 0.5 (peak protrusion) passed */
    bool rise_seen;             /* phase 0.25 (rising mid-stroke) passed */
    uint64_t rise_ns;
    uint64_t peak_ns;
    bool all_driven;            /* motor driven for the whole stroke */
    bool rise_driven;           /* ... at least from its start to its rise */
};

struct fault_slot {
    bool armed;
    double value;
    uint64_t start_ns;
    bool fired;                 /* one-shot faults (sensor overrun) */
};

struct sim_model {
    struct sim_params p;
    uint64_t seed;
    struct rng rng_unit, rng_pen, rng_sh;
    /* measurement system analysis: the bench's own seed (seed is the
     * current unit's), the session, the mount in the fixture and the load
     * cell's zero shift at the last control step */
    uint64_t bench_seed, session;
    struct sim_mount mount;
    double zero_shift_n;
    FILE *truth;
    uint64_t now;
    uint64_t next_step;

    /* pen */
    uint8_t state;
    bool driven;
    uint32_t set_rate_mhz;
    uint16_t set_depth_um;
    double f_motor;             /* mean stroke rate of the rotor, Hz */
    double phi_anchor;          /* phase at t_anchor */
    uint64_t t_anchor;
    struct stroke st;
    uint64_t strokes_done;
    double depth_bias_mm;
    bool usb_powered;
    double supply0_mv, supply_mv;
    double current_ma, temp_c;
    uint32_t faults;
    uint64_t last_hb;
    double stall_s, oc_s;
    double drift_mm;
    bool cart_present;
    double decay_up, decay_down, decay_stall;
    /* rotor ground truth: in band after a start, slow after a stop */
    bool rotor_was_driven, rotor_band_told, rotor_slow_told;
    double rotor_stop_hz;

    /* fixture resonance, excited at the latest puncture */
    bool ring_on;
    uint64_t punct_t;           /* time of this stroke's puncture */
    uint64_t ring_t0;
    double ring_amp_n, ring_alpha, ring_wd;

    /* pen events */
    struct pen_msg ev[EVENT_QUEUE];
    int ev_head, ev_count;
    uint16_t ev_seq;
    uint64_t ev_lost;

    struct fault_slot fault[SIM_FAULT_COUNT_];

    /* sensor head */
    bool streaming, stopped;    /* stopped: STOP seen, LAST not yet sent */
    uint32_t sh_rate;
    uint64_t stream_t0, next_sample, next_sample_ns;
    struct sh_calibration cal_stored;
    int32_t tare_un;            /* raw uN subtracted from every force sample */
    bool tared;                 /* a TARE is in effect (status flag) */
    double tare_hist[TARE_WINDOW_STEPS];   /* noiseless raw force per step */
    uint32_t tare_hist_n, tare_hist_i;
    uint32_t blocks_sent, overruns, seq;
    uint64_t expect_sample;
    uint64_t drop_pending;
    bool last_dropped;
    uint32_t cap, head, count;
    int32_t *ff, *fd;
    uint64_t *fi;
};

/* ---- small helpers ---- */

static double set_rate_hz(const struct sim_model *m)
{
    return m->set_rate_mhz / 1000.0;
}

/* PEN.md 7: RUNNING is the rotor within 5 % of the setpoint. */
static bool in_running_band(const struct sim_model *m)
{
    double set = set_rate_hz(m);
    return set > 0 && fabs(m->f_motor - set) <= RUNNING_BAND * set;
}

static bool fault_on(const struct sim_model *m, enum sim_fault_kind k)
{
    return m->fault[k].armed && m->now >= m->fault[k].start_ns;
}

static double fault_value(const struct sim_model *m, enum sim_fault_kind k, double dflt)
{
    double v = m->fault[k].value;
    return isfinite(v) && v > 0 ? v : dflt;
}

static double f_inst(const struct sim_model *m)
{
    return m->f_motor * m->st.rate_factor;
}

static double phase_at(const struct sim_model *m, uint64_t t)
{
    return m->phi_anchor + f_inst(m) * (double)(t - m->t_anchor) * 1e-9;
}

/* First time (ns) at which the phase reaches phi, or UINT64_MAX. */
static uint64_t time_at_phase(const struct sim_model *m, double phi)
{
    double f = f_inst(m);
    if (f <= 0.0)
        return UINT64_MAX;
    double dt = (phi - m->phi_anchor) / f * 1e9;
    if (dt <= 0.0)
        return m->t_anchor;
    if (dt > 1e18)
        return UINT64_MAX;
    return m->t_anchor + (uint64_t)ceil(dt);
}

static const char *state_name(uint8_t s)
{
    static const char *const names[PEN_STATE_COUNT_] = {"IDLE", "SPINUP", "RUNNING",
                                                        "STOPPING", "FAULT"};
    return s < PEN_STATE_COUNT_ ? names[s] : "?";
}

static const char *reason_name(uint8_t r)
{
    static const char *const names[] = {"command", "at_rate", "stopped", "fault",
                                        "watchdog", "fault_cleared"};
    return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* ---- ground truth ---- */

static void truth_printf(struct sim_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void truth_printf(struct sim_model *m, const char *fmt, ...)
{
    if (!m->truth)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(m->truth, fmt, ap);
    va_end(ap);
    if (n < 0) {
        /* Keep simulating: losing the truth file must not stop the bench,
         * but say so once. */
        fprintf(stderr, "sim model: cannot write ground truth; truth output disabled\n");
        m->truth = NULL;
    }
}

static void truth_stroke(struct sim_model *m, uint64_t t_end)
{
    const struct stroke *s = &m->st;
    double period = (double)(t_end - s->start_ns) * 1e-9;
    double t_peak = (double)s->peak_ns * 1e-9;     /* phase 0.5 */
    /* Effective penetration: past the puncture point the surface stays
     * depressed by the deflection at puncture, x_p = F_p / k, below where
     * this mount seats it; a stroke that never punctures does not
     * penetrate. */
    double pen = s->contact && s->phi_puncture >= 0
                     ? s->depth_mm - s->seat_mm - s->peak_force_n / s->k_n_per_mm
                     : 0.0;
    truth_printf(m,
                 "{\"t\":%.9f,\"stroke\":%llu,\"t_rise\":%.9f,\"t_peak\":%.9f,\"period_s\":%.9f,"
                 "\"rate_hz\":%.6f,\"set_rate_hz\":%.3f,\"protrusion_mm\":%.6f,"
                 "\"set_depth_mm\":%.3f,\"peak_force_n\":%.6f,\"penetration_mm\":%.6f,"
                 "\"punctured\":%s,\"whole\":%s,\"state\":\"%s\"}\n",
                 (double)t_end * 1e-9, (unsigned long long)m->strokes_done,
                 (double)s->rise_ns * 1e-9, t_peak, period,
                 1.0 / period, s->set_rate_hz, s->depth_mm, s->set_depth_mm,
                 s->contact ? s->peak_force_n : 0.0, pen > 0 ? pen : 0.0,
                 s->phi_puncture >= 0 ? "true" : "false", s->all_driven ? "true" : "false",
                 state_name(m->state));
}

/* The mount in effect, so an analyst can check each mount's readings. */
static void truth_mount(struct sim_model *m)
{
    char members[768];
    sim_mount_describe(&m->mount, &m->p, members, sizeof members);
    truth_printf(m, "{\"t\":%.9f,\"event\":\"mount\",%s}\n", (double)m->now * 1e-9, members);
}

static void truth_session(struct sim_model *m)
{
    truth_printf(m, "{\"t\":%.9f,\"event\":\"session\",\"session\":%llu}\n",
                 (double)m->now * 1e-9, (unsigned long long)m->session);
}

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
    struct pen_msg ev = {.type = PEN_MSG_EVT_STATE};
    ev.u.evt_state.state = state;
    ev.u.evt_state.previous = m->state;
    ev.u.evt_state.reason = reason;
    truth_printf(m, "{\"t\":%.9f,\"event\":\"state\",\"state\":\"%s\",\"previous\":\"%s\","
                 "\"reason\":\"%s\"}\n",
                 (double)m->now * 1e-9, state_name(state), state_name(m->state),
                 reason_name(reason));
    m->state = state;
    push_event(m, &ev);
}

static void raise_fault(struct sim_model *m, uint32_t bit)
{
    if (m->faults & bit)
        return;
    m->faults |= bit;
    struct pen_msg ev = {.type = PEN_MSG_EVT_FAULT};
    ev.u.evt_fault.faults = m->faults;
    ev.u.evt_fault.motor_current_ma = (uint16_t)lround(m->current_ma);
    ev.u.evt_fault.supply_mv = (uint16_t)lround(m->supply_mv);
    truth_printf(m, "{\"t\":%.9f,\"event\":\"fault\",\"faults\":%u}\n", (double)m->now * 1e-9,
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

/* ---- strokes and force ---- */

static bool cartridge_fitted(const struct sim_model *m)
{
    return m->p.needle_count > 0 && m->p.cartridge_id[0] != '\0';
}

static double depth_now_mm(const struct sim_model *m)
{
    return m->set_depth_um / 1000.0 + m->depth_bias_mm + m->drift_mm;
}

/* Where this stroke punctures and the forces it sees. Puncture happens
 * where the phantom's deflection force k*(p - seat) reaches the needles'
 * combined threshold F_p; from the cam law p = d - (S/2)(1 + cos theta)
 * that is at cos theta_p = 2 (d - seat - x_p) / S - 1 with x_p = F_p / k. */
static void stroke_geometry(struct stroke *s, const struct sim_params *p)
{
    double f_p = s->threshold_n;
    double reach_mm = s->depth_mm - s->seat_mm;     /* past the phantom surface */
    double f_max_elastic = s->k_n_per_mm * fmax(0.0, reach_mm);
    if (s->contact && f_p > 0 && f_max_elastic > f_p) {
        double c = 2.0 * (reach_mm - f_p / s->k_n_per_mm) / p->stroke_mm - 1.0;
        c = fmin(1.0, fmax(-1.0, c));
        s->phi_puncture = acos(c) / (2.0 * M_PI);
        s->peak_force_n = f_p;
        s->plateau_n = p->plateau_frac * f_p;
    } else {
        s->phi_puncture = -1.0;
        s->peak_force_n = f_max_elastic;
        s->plateau_n = 0.0;
    }
}

/* The phantom a stroke meets is the one at the current mount's spot, as
 * far from the cartridge face as this mount seats it. */
static void stroke_meets_mount(struct stroke *s, const struct sim_mount *mt,
                               const struct sim_params *p)
{
    s->k_n_per_mm = p->phantom_k_n_per_mm * mt->k_factor;
    s->threshold_n = s->threshold_base_n * mt->puncture_factor;
    s->seat_mm = mt->seat_mm;
    stroke_geometry(s, p);
}

/* Draw the next stroke's parameters (at its start, phase 0). */
static void begin_stroke(struct sim_model *m, uint64_t t)
{
    struct stroke *s = &m->st;
    const struct sim_params *p = &m->p;
    double jitter_pct = fault_on(m, SIM_FAULT_RATE_JITTER)
                            ? fault_value(m, SIM_FAULT_RATE_JITTER, JITTER_FAULT_DEFAULT_PCT)
                            : p->jitter_pct;
    double j = rng_normal(&m->rng_pen) * jitter_pct / 100.0;
    double dn = rng_normal(&m->rng_pen) * p->depth_noise_mm;
    double pn = rng_normal(&m->rng_pen) * PUNCTURE_SD_FRAC;

    s->start_ns = t;
    s->rate_factor = fmax(0.5, 1.0 + j);
    s->depth_noise_mm = dn;
    s->depth_mm = depth_now_mm(m) + dn;
    s->set_depth_mm = m->set_depth_um / 1000.0;
    s->set_rate_hz = set_rate_hz(m);
    s->punctured = false;
    s->peak_seen = false;
    s->rise_seen = false;
    s->rise_ns = 0;
    s->all_driven = m->driven;
    s->rise_driven = false;

    int needles = p->needle_count;
    if (fault_on(m, SIM_FAULT_BENT_NEEDLE)) {
        /* Clamp before converting: more missing than fitted means none
         * left, and a value beyond int range would not convert (lround
         * gives an unspecified long, the int cast wraps it). */
        double missing = fmin(fault_value(m, SIM_FAULT_BENT_NEEDLE, 1.0), (double)needles);
        needles -= (int)lround(missing);
    }
    s->contact = m->cart_present && needles > 0;
    s->threshold_base_n =
        (needles > 0 ? needles : 0) * p->puncture_n_per_needle * fmax(0.0, 1.0 + pn);
    stroke_meets_mount(s, &m->mount, p);
}

/* Needle-phantom contact force at phase phi (0..1 within the stroke),
 * protrusion p_mm and time tau_s since the puncture (< 0: not yet): elastic
 * k*p up to puncture; then the tissue tears over PUNCTURE_DROP_S (a
 * raised-cosine fall, so the force peak is rounded on its falling side and
 * a 20-50 kS/s sampler sees it within ~1 %) to the friction plateau, held
 * while the needles still advance; ~0 once they withdraw (they slide out). */
static inline double contact_force(const struct stroke *s, double phi, double p_mm,
                                   double tau_s)
{
    p_mm -= s->seat_mm;                 /* needle tips past the phantom surface */
    if (!s->contact || p_mm <= 0.0)
        return 0.0;
    if (s->phi_puncture < 0.0 || phi < s->phi_puncture)
        return s->k_n_per_mm * p_mm;
    if (phi > 0.5)
        return 0.0;
    if (tau_s < 0.0)
        return s->peak_force_n;         /* at the puncture instant */
    if (tau_s >= PUNCTURE_DROP_S)
        return s->plateau_n;
    double drop = s->peak_force_n - s->plateau_n;
    return s->plateau_n + drop * 0.5 * (1.0 + cos(M_PI * tau_s / PUNCTURE_DROP_S));
}

/* Fixture resonance excited by the load drop at puncture: starts when the
 * tear is complete, at zero (continuous force), first swinging on in the
 * direction of the drop (undershoot). */
static inline double ring_force(const struct sim_model *m, uint64_t t)
{
    if (!m->ring_on || t < m->ring_t0)
        return 0.0;
    double tau = (double)(t - m->ring_t0) * 1e-9;
    if (m->ring_alpha * tau > 16.0)     /* decayed below 1e-7 of its start */
        return 0.0;
    return -m->ring_amp_n * exp(-m->ring_alpha * tau) * sin(m->ring_wd * tau);
}

/* Seconds since this stroke's puncture at t, or -1 before it. */
static inline double since_puncture(const struct sim_model *m, uint64_t t)
{
    if (!m->st.punctured || t < m->punct_t)
        return -1.0;
    return (double)(t - m->punct_t) * 1e-9;
}

static void on_puncture(struct sim_model *m, uint64_t t)
{
    struct stroke *s = &m->st;
    s->punctured = true;
    m->ring_on = m->p.ring_gain > 0;
    m->punct_t = t;
    m->ring_t0 = t + (uint64_t)(PUNCTURE_DROP_S * 1e9);
    m->ring_amp_n = m->p.ring_gain * (s->peak_force_n - s->plateau_n);
}

static void on_stroke_end(struct sim_model *m, uint64_t t)
{
    m->strokes_done++;
    if (m->st.all_driven || m->st.rise_driven)
        truth_stroke(m, t);
    m->phi_anchor = 0.0;
    m->t_anchor = t;
    begin_stroke(m, t);
}

/* ---- sensor frames ---- */

static uint64_t sample_time(const struct sim_model *m, uint64_t n)
{
    /* Frame n is taken at t0 + (n + 1)/rate, so D seconds of streaming
     * hold exactly D x rate frames. Split to avoid 64-bit overflow. */
    uint64_t k = n + 1;
    uint64_t sec = k / m->sh_rate, rem = k % m->sh_rate;
    return m->stream_t0 + sec * NS_PER_S + rem * NS_PER_S / m->sh_rate;
}

static inline int32_t quantise(double x, double lsb, int32_t fs, bool *over)
{
    double q = nearbyint(x / lsb) * lsb;
    if (q >= fs || q <= -fs) {
        *over = true;
        return q > 0 ? fs : -fs;
    }
    *over = false;
    return (int32_t)lrint(q);    /* q is a whole number of LSBs, not of units */
}

static void fifo_push(struct sim_model *m, int32_t f, int32_t d, uint64_t idx)
{
    if (m->drop_pending > 0 || m->count == m->cap) {
        if (m->drop_pending > 0)
            m->drop_pending--;
        if (!m->last_dropped)
            m->overruns++;
        m->last_dropped = true;
        return;
    }
    uint32_t i = m->head + m->count;
    if (i >= m->cap)
        i -= m->cap;
    m->ff[i] = f;
    m->fd[i] = d;
    m->fi[i] = idx;
    m->count++;
    m->last_dropped = false;
}

static void emit_sample(struct sim_model *m, uint64_t t)
{
    const struct sim_params *p = &m->p;
    const struct sh_calibration *c = &p->sh_cal;   /* physical transfer */
    double phi = phase_at(m, t);
    double p_mm = m->st.depth_mm - 0.5 * p->stroke_mm * (1.0 + cos(2.0 * M_PI * phi));
    double force_n = contact_force(&m->st, phi, p_mm, since_puncture(m, t)) + ring_force(m, t) +
                     LOAD_CELL_ZERO_N + m->zero_shift_n;
    double f_un = force_n * 1e6 + rng_normal(&m->rng_sh) * p->force_noise_n * 1e6;
    /* The sensor reads the needles against its own zero, which this mount
     * put a little off the cartridge face. */
    double d_nm = (p_mm + m->mount.disp_zero_mm) * 1e6 +
                  rng_normal(&m->rng_sh) * p->disp_noise_um * 1e3;
    bool over;
    /* Tared, uncalibrated: raw = (true - offset) x 1e6 / gain - tare. */
    int32_t fr = quantise((f_un - c->force_offset_un) * 1e6 / c->force_gain_ppm - m->tare_un,
                          p->force_lsb_n * 1e6, SH_FORCE_FS_UN, &over);
    int32_t dr;
    if (!m->cart_present) {
        dr = SH_NO_TARGET;              /* no needle tips: "no peak" */
    } else {
        dr = quantise((d_nm - c->disp_offset_nm) * 1e6 / c->disp_gain_ppm,
                      p->disp_lsb_um * 1e3, SH_DISP_FS_NM, &over);
        if (over)
            dr = SH_OUT_OF_RANGE;
    }
    fifo_push(m, fr, dr, m->next_sample);
}

static void emit_samples_until(struct sim_model *m, uint64_t t)
{
    while (m->streaming && m->next_sample_ns <= t) {
        emit_sample(m, m->next_sample_ns);
        m->next_sample++;
        m->next_sample_ns = sample_time(m, m->next_sample);
    }
}

enum stroke_event { EV_RISE, EV_PUNCTURE, EV_PEAK, EV_END };

/* The next thing that happens within the current stroke, and its phase:
 * the rising mid-stroke (0.25, where a mid-level comparator times the
 * stroke: ground truth for the stroke rate), the puncture (<= 0.5, on the
 * way in), the peak (0.5), the end (1). */
static enum stroke_event next_stroke_event(const struct stroke *s, double *phi)
{
    bool punct = s->phi_puncture >= 0 && !s->punctured;
    if (!s->rise_seen && (!punct || s->phi_puncture >= 0.25)) {
        *phi = 0.25;
        return EV_RISE;
    }
    if (punct) {
        *phi = s->phi_puncture;
        return EV_PUNCTURE;
    }
    if (!s->peak_seen) {
        *phi = 0.5;
        return EV_PEAK;
    }
    *phi = 1.0;
    return EV_END;
}

/* Advance from m->now to t (within one control step): process puncture,
 * peak and stroke-end events in time order, with the frames in between. */
static void advance_within_step(struct sim_model *m, uint64_t t)
{
    for (;;) {
        double phi;
        enum stroke_event ev = next_stroke_event(&m->st, &phi);
        uint64_t t_evt = time_at_phase(m, phi);
        if (t_evt < m->now)
            t_evt = m->now;
        if (t_evt > t) {
            emit_samples_until(m, t);
            return;
        }
        emit_samples_until(m, t_evt);
        m->now = t_evt;
        switch (ev) {
        case EV_PUNCTURE:
            on_puncture(m, t_evt);
            break;
        case EV_RISE:
            m->st.rise_seen = true;
            m->st.rise_ns = t_evt;
            m->st.rise_driven = m->st.all_driven && m->driven;
            break;
        case EV_PEAK:
            m->st.peak_seen = true;
            m->st.peak_ns = t_evt;
            break;
        case EV_END:
            on_stroke_end(m, t_evt);
            break;
        }
    }
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
        truth_printf(m, "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"%s\",\"rate_hz\":%.6f}\n",
                     (double)m->now * 1e-9, m->driven ? "drive_on" : "drive_off", m->f_motor);
    }
    double set = set_rate_hz(m);
    if (m->driven && !m->rotor_band_told && set > 0 && fabs(f_inst(m) - set) <= 0.05 * set) {
        m->rotor_band_told = true;
        truth_printf(m, "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"in_band\",\"rate_hz\":%.6f}\n",
                     (double)m->now * 1e-9, f_inst(m));
    }
    if (!m->driven && !m->rotor_slow_told && m->rotor_stop_hz > 0 &&
        f_inst(m) < 0.05 * m->rotor_stop_hz) {
        m->rotor_slow_told = true;
        truth_printf(m, "{\"t\":%.9f,\"event\":\"rotor\",\"what\":\"below_5pct\",\"rate_hz\":%.6f}\n",
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

static void update_faults_and_state(struct sim_model *m)
{
    /* Cartridge detection follows the hardware, not latched. */
    bool present = cartridge_fitted(m) && !fault_on(m, SIM_FAULT_NO_CARTRIDGE);
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
        m->faults &= ~PEN_FAULT_LOW_BATTERY;    /* a warning: clears itself */
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
        else if (m->now - m->last_hb >= PEN_WATCHDOG_TIMEOUT_MS * 1000000ull)
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
        m->drop_pending += (uint64_t)llround(fault_value(m, SIM_FAULT_SENSOR_OVERRUN,
                                                         OVERRUN_DEFAULT_FRAMES));
    }
    if (fault_on(m, SIM_FAULT_DEPTH_DRIFT)) {
        double mins = (double)(m->now - m->fault[SIM_FAULT_DEPTH_DRIFT].start_ns) / 60e9;
        double rate = fault_value(m, SIM_FAULT_DEPTH_DRIFT, DRIFT_DEFAULT_MM_MIN);
        m->drift_mm = fmin(DRIFT_CAP_MM, rate * mins);
    }
}

/* Noiseless raw (untared, uncalibrated) force now, in uN. */
static double raw_force_now(const struct sim_model *m)
{
    const struct sh_calibration *c = &m->p.sh_cal;
    double phi = phase_at(m, m->now);
    double p_mm = m->st.depth_mm - 0.5 * m->p.stroke_mm * (1.0 + cos(2.0 * M_PI * phi));
    double f = contact_force(&m->st, phi, p_mm, since_puncture(m, m->now)) +
               ring_force(m, m->now) + LOAD_CELL_ZERO_N + m->zero_shift_n;
    return (f * 1e6 - c->force_offset_un) * 1e6 / c->force_gain_ppm;
}

static void record_tare_history(struct sim_model *m)
{
    m->tare_hist[m->tare_hist_i] = raw_force_now(m);
    m->tare_hist_i = (m->tare_hist_i + 1) % TARE_WINDOW_STEPS;
    if (m->tare_hist_n < TARE_WINDOW_STEPS)
        m->tare_hist_n++;
}

static void control_step(struct sim_model *m)
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
    record_tare_history(m);
}

void sim_model_run_until(struct sim_model *m, uint64_t t_ns)
{
    while (m->now < t_ns) {
        uint64_t end = t_ns < m->next_step ? t_ns : m->next_step;
        advance_within_step(m, end);
        m->now = end;
        if (m->now == m->next_step) {
            control_step(m);
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
    m->set_rate_mhz = 0;        /* not set yet: START is refused until it is */
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
    m->cart_present = cartridge_fitted(m);
    if (!m->cart_present)
        m->faults |= PEN_FAULT_NO_CARTRIDGE;
    begin_stroke(m, m->now);
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
        p->sh_cal.force_gain_ppm <= 0 || p->sh_cal.disp_gain_ppm <= 0 ||
        p->force_lsb_n <= 0 || p->disp_lsb_um <= 0)
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

    m->depth_bias_mm = isnan(p->depth_bias_mm)
                           ? rng_normal(&m->rng_unit) * p->depth_bias_sd_mm
                           : p->depth_bias_mm;
    /* "Time to 90 %" of a first-order response is tau * ln 10. */
    m->decay_up = exp(-STEP_S / (p->spinup_ms * 1e-3 / log(10.0)));
    m->decay_down = exp(-STEP_S / (p->spindown_ms * 1e-3 / log(10.0)));
    m->decay_stall = exp(-STEP_S / (STALL_SPINDOWN_S / log(100.0)));
    double w = 2.0 * M_PI * p->ring_hz;
    m->ring_alpha = p->ring_zeta * w;
    m->ring_wd = w * sqrt(fmax(0.0, 1.0 - p->ring_zeta * p->ring_zeta));

    m->next_step = STEP_NS;
    pen_power_on(m, 0.0);       /* the first unit rests retracted */

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
    m->depth_bias_mm = isnan(m->p.depth_bias_mm)
                           ? rng_normal(&m->rng_unit) * m->p.depth_bias_sd_mm
                           : m->p.depth_bias_mm;
    /* Pen faults belong to the old unit; the sensor head's stay. */
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        if (k != SIM_FAULT_SENSOR_OVERRUN)
            m->fault[k] = (struct fault_slot){0};
    /* The next unit goes into the fixture: a mount of its own, in place
     * before the power-on parks its needles against the phantom. */
    sim_mount_draw(&m->mount, &m->p, SIM_MOUNT_SWAP, m->now);
    pen_power_on(m, rng_uniform(&m->rng_unit));
    truth_printf(m, "{\"t\":%.9f,\"event\":\"unit\",\"seed\":%llu,\"serial\":\"%s\","
                 "\"depth_bias_mm\":%.6f,\"needles\":%u}\n",
                 (double)m->now * 1e-9, (unsigned long long)m->seed, m->p.pen_serial,
                 m->depth_bias_mm, (unsigned)m->p.needle_count);
    truth_mount(m);
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
    truth_printf(m, "{\"t\":%.9f,\"event\":\"unit\",\"seed\":%llu,\"depth_bias_mm\":%.6f,"
                 "\"needles\":%u}\n",
                 (double)m->now * 1e-9, (unsigned long long)m->seed, m->depth_bias_mm,
                 (unsigned)m->p.needle_count);
    if (m->session != 0)
        truth_session(m);
    truth_mount(m);
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
    stroke_meets_mount(&m->st, &m->mount, &m->p);
    /* Needles parked past the puncture point went through the new spot as
     * the pen went in (as at power-on); nothing rings any more. */
    m->st.punctured = m->st.phi_puncture >= 0 && phase_at(m, m->now) > m->st.phi_puncture;
    m->ring_on = false;
    truth_mount(m);
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
    truth_session(m);
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
        m->st.depth_mm = depth_now_mm(m) + m->st.depth_noise_mm;
        m->st.set_depth_mm = depth_um / 1000.0;
        stroke_geometry(&m->st, &m->p);
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

/* ---- sensor head interface ---- */

int sim_sh_set_rate(struct sim_model *m, uint32_t rate_hz)
{
    if (m->streaming)
        return SH_ERR_BUSY;
    if (rate_hz < SH_RATE_MIN || rate_hz > SH_RATE_MAX)
        return SH_ERR_OUT_OF_RANGE;
    m->sh_rate = rate_hz;
    return 0;
}

int sim_sh_start(struct sim_model *m)
{
    if (m->streaming)
        return SH_ERR_BUSY;
    m->streaming = true;
    m->stopped = false;
    m->stream_t0 = m->now;
    m->next_sample = 0;
    m->next_sample_ns = sample_time(m, 0);
    m->head = m->count = 0;
    m->seq = 0;
    m->blocks_sent = m->overruns = 0;   /* "since the last START" */
    m->expect_sample = 0;
    m->last_dropped = false;
    /* Frame n of this stream is taken at t + (n + 1) / rate_hz. */
    truth_printf(m, "{\"t\":%.9f,\"event\":\"sensor_start\",\"rate_hz\":%u}\n",
                 (double)m->now * 1e-9, (unsigned)m->sh_rate);
    return 0;
}

int sim_sh_stop(struct sim_model *m)
{
    if (!m->streaming)
        return SH_ERR_NOT_STREAMING;
    m->streaming = false;
    m->stopped = true;
    truth_printf(m, "{\"t\":%.9f,\"event\":\"sensor_stop\",\"frames\":%llu}\n",
                 (double)m->now * 1e-9, (unsigned long long)m->next_sample);
    return 0;
}

int sim_sh_tare(struct sim_model *m)
{
    /* The mean raw force over the last 10 ms becomes the tare offset
     * (SENSOR.md); the device's own noise averages out over 500 samples,
     * so the noiseless history stands in for it. */
    double sum = 0;
    for (uint32_t i = 0; i < m->tare_hist_n; i++)
        sum += m->tare_hist[i];
    double mean = m->tare_hist_n ? sum / m->tare_hist_n : raw_force_now(m);
    m->tare_un = (int32_t)lround(mean);
    m->tared = true;
    return 0;
}

void sim_sh_identity(const struct sim_model *m, struct sh_identity *id)
{
    memset(id, 0, sizeof *id);
    id->protocol_version = SH_PROTOCOL_VERSION;
    id->hw_revision = m->p.sh_hw_revision;
    id->fw_major = m->p.sh_fw[0];
    id->fw_minor = m->p.sh_fw[1];
    id->fw_patch = m->p.sh_fw[2];
    id->channels = SH_CHANNELS;
    id->max_rate_hz = SH_RATE_MAX;
    memcpy(id->model, m->p.sh_model, sizeof id->model);
    memcpy(id->serial, m->p.sh_serial, sizeof id->serial);
    id->force_full_scale_un = SH_FORCE_FS_UN;
    id->disp_full_scale_nm = SH_DISP_FS_NM;
}

void sim_sh_calibration(const struct sim_model *m, struct sh_calibration *c)
{
    *c = m->cal_stored;
}

static bool cal_valid(const struct sh_calibration *c)
{
    return c->force_gain_ppm > 0 && c->disp_gain_ppm > 0 && c->due_date > c->cal_date;
}

int sim_sh_set_calibration(struct sim_model *m, const struct sh_calibration *c)
{
    /* Writing a calibration changes the stored certificate data only; the
     * physical transfer of the sensor (params.sh_cal) stays what it is. */
    if (m->streaming)
        return SH_ERR_BUSY;
    if (!cal_valid(c))
        return SH_ERR_BAD_CALIBRATION;
    m->cal_stored = *c;
    return 0;
}

void sim_sh_status(const struct sim_model *m, struct sh_status *st)
{
    memset(st, 0, sizeof *st);
    st->flags = (m->streaming ? SH_STAT_STREAMING : 0) |
                (m->cart_present ? SH_STAT_TARGET_PRESENT : 0) |
                (cal_valid(&m->cal_stored) ? SH_STAT_CAL_VALID : 0) |
                (m->tared ? SH_STAT_TARED : 0);
    st->rate_hz = m->sh_rate;
    st->blocks_sent = m->blocks_sent;
    st->overruns = m->overruns;
    st->tare_offset_un = m->tare_un;
    st->temperature_cdeg = SH_TEMP_CDEG;
}

uint32_t sim_sh_available(const struct sim_model *m)
{
    return m->count;
}

int sim_sh_take_block(struct sim_model *m, uint32_t max, struct sh_block_header *hdr,
                      int32_t *force_un, int32_t *disp_nm)
{
    if (max > SH_MAX_SAMPLES)
        max = SH_MAX_SAMPLES;
    if (max == 0 || m->count == 0)
        return 0;
    uint64_t first = m->fi[m->head];
    uint8_t flags = first != m->expect_sample ? SH_BLK_OVERRUN : 0;
    uint32_t n = 0;
    /* A block holds consecutive frames only: stop at a gap left by drops. */
    while (n < max && m->count > 0) {
        uint32_t i = m->head;
        if (m->fi[i] != first + n)
            break;
        int32_t d = m->fd[i];
        force_un[n] = m->ff[i];
        disp_nm[n] = d;
        if (d == SH_NO_TARGET)
            flags |= SH_BLK_NO_TARGET;
        else if (d == SH_OUT_OF_RANGE)
            flags |= SH_BLK_OUT_OF_RANGE;
        if (m->ff[i] >= SH_FORCE_FS_UN || m->ff[i] <= -SH_FORCE_FS_UN)
            flags |= SH_BLK_FORCE_SAT;
        m->head = m->head + 1 == m->cap ? 0 : m->head + 1;
        m->count--;
        n++;
    }
    if (m->stopped && m->count == 0) {
        flags |= SH_BLK_LAST;
        m->stopped = false;
    }
    memset(hdr, 0, sizeof *hdr);
    hdr->magic = SH_BLOCK_MAGIC;
    hdr->version = SH_PROTOCOL_VERSION;
    hdr->flags = flags;
    hdr->channels = SH_CHANNELS;
    hdr->header_size = SH_BLOCK_HEADER_SIZE;
    hdr->seq = m->seq++;
    hdr->first_sample = first;
    hdr->rate_hz = m->sh_rate;
    hdr->count = (uint16_t)n;
    m->expect_sample = first + n;
    m->blocks_sent++;
    return (int)n;
}

/* ---- faults ---- */

void sim_model_inject(struct sim_model *m, enum sim_fault_kind k, double value,
                      uint64_t start_ns)
{
    if ((unsigned)k >= SIM_FAULT_COUNT_)
        return;
    m->fault[k] = (struct fault_slot){.armed = true, .value = value, .start_ns = start_ns};
    truth_printf(m, "{\"t\":%.9f,\"event\":\"inject\",\"fault\":\"%s\",\"value\":%.6g,"
                 "\"start\":%.9f}\n",
                 (double)m->now * 1e-9, sim_fault_name(k), isfinite(value) ? value : 0.0,
                 (double)start_ns * 1e-9);
}

void sim_model_clear_faults(struct sim_model *m)
{
    /* Remove the physical conditions (the pen is "repaired"); latched
     * firmware flags stay until CLEAR_FAULT. */
    truth_printf(m, "{\"t\":%.9f,\"event\":\"clear_faults\"}\n", (double)m->now * 1e-9);
    if (m->fault[SIM_FAULT_LOW_BATTERY].armed)
        m->supply_mv = m->supply0_mv;   /* fresh battery */
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        m->fault[k] = (struct fault_slot){0};
    m->drift_mm = 0;
    m->drop_pending = 0;
}
