/* Physics model of the simulated bench, private: the model's state, its
 * constants and the small helpers its parts share (model.c has the time
 * structure; model.h the contract). The parts, each calling only the ones
 * below it:
 *   model.c   the run loop, life cycle, mounts and sessions, fault injection
 *   pen.c     the pen firmware: events, the control step, its interface
 *   needle.c  strokes and force, sensor frames, the sensor head interface
 *   truth.c   the ground truth output
 */
#ifndef RIG_SIM_MODEL_MODEL_INT_H
#define RIG_SIM_MODEL_MODEL_INT_H

#include <math.h>
#include <stdio.h>

#include "sim/model/model.h"
#include "sim/model/mount.h"
#include "sim/model/rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define STEP_NS  100000ull /* firmware control step: 100 us */
#define STEP_S   (STEP_NS * 1e-9)
#define NS_PER_S 1000000000ull

#define RUNNING_BAND             0.05 /* RUNNING = within 5 % of set rate */
#define SETTLED_BAND             0.01 /* ...or settled within 1 % of target */
#define REST_HZ                  0.5  /* below this the rotor is at rest */
#define STALL_DETECT_FRAC        0.2  /* driven but slower than 20 % of set */
#define STALL_CUTOUT_S           0.300
#define STALL_SPINDOWN_S         0.050 /* rate -> ~0 (1 %) within 50 ms */
#define OVERCURRENT_MA           1500.0
#define OVERCURRENT_TRIP_S       0.100
#define OVERCURRENT_FAULT_MA     1800.0
#define INRUSH_EXTRA             2.0 /* locked rotor draws 3x run current */
#define CURRENT_NOISE_FRAC       0.01
#define LOW_BATTERY_MV           3500.0
#define CUTOFF_MV                3200.0
#define BATTERY_FLOOR_MV         3000.0
#define USB_SUPPLY_MV            5000.0
#define LOW_BATTERY_FALL_MV_S    50.0 /* low-battery fault default */
#define AMBIENT_C                25.0
#define HEAT_K_PER_A2            40.0 /* steady rise: 40 K/A^2 -> 8 K at 450 mA */
#define HEAT_TAU_S               120.0
#define OVERTEMP_C               60.0
#define DRIFT_DEFAULT_MM_MIN     0.02
#define DRIFT_CAP_MM             0.2
#define JITTER_FAULT_DEFAULT_PCT 7.0
#define OVERRUN_DEFAULT_FRAMES   5000.0
#define PUNCTURE_DROP_S          0.0002 /* tissue tear: peak -> plateau */
#define PUNCTURE_SD_FRAC         0.03   /* stroke-to-stroke spread of threshold */
#define LOAD_CELL_ZERO_N         0.050  /* load-cell zero offset + phantom weight */
#define SH_TEMP_CDEG             2650
#define SH_FORCE_FS_UN           10000000 /* 10 N */
#define SH_DISP_FS_NM            5000000  /* 5 mm */
#define EVENT_QUEUE              64
#define TARE_WINDOW_STEPS        100 /* TARE averages the last 10 ms */

/* ---- model state ---- */

/* One needle stroke: phase 0 = fully retracted (p = d - S), 0.5 = peak
 * protrusion d, 1 = retracted again. Everything the force model needs is
 * fixed when the stroke starts. */
struct stroke {
    uint64_t start_ns;
    double rate_factor;      /* 1 + per-stroke jitter */
    double depth_mm;         /* peak protrusion d of this stroke */
    double depth_noise_mm;   /* its per-stroke part */
    double threshold_n;      /* puncture threshold F_p of all needles */
    double threshold_base_n; /* ... before the mount's phantom spot scales it */
    double seat_mm;          /* phantom surface beyond the face (mount) */
    double set_depth_mm;
    double set_rate_hz;
    double peak_force_n; /* analytic max of the contact force */
    double plateau_n;    /* friction plateau after puncture */
    double phi_puncture; /* phase of puncture, < 0 if none */
    double k_n_per_mm;
    bool contact;   /* needles present on this stroke */
    bool punctured; /* puncture event already happened */
    bool peak_seen; /* phase 0.5 (peak protrusion) passed */
    bool rise_seen; /* phase 0.25 (rising mid-stroke) passed */
    uint64_t rise_ns;
    uint64_t peak_ns;
    bool all_driven;  /* motor driven for the whole stroke */
    bool rise_driven; /* ... at least from its start to its rise */
};

struct fault_slot {
    bool armed;
    double value;
    uint64_t start_ns;
    bool fired; /* one-shot faults (sensor overrun) */
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
    double f_motor;    /* mean stroke rate of the rotor, Hz */
    double phi_anchor; /* phase at t_anchor */
    uint64_t t_anchor;
    struct stroke st;
    uint64_t strokes_done;
    double depth_bias_mm;
    bool usb_powered;
    double supply0_mv, supply_mv;
    double current_ma, temp_c;
    uint32_t faults;
    uint64_t last_hb;
    bool input_tracked; /* sim_pen_input_seen */
    uint64_t input_seen;
    double stall_s, oc_s;
    double drift_mm;
    bool cart_present;
    double decay_up, decay_down, decay_stall;
    /* rotor ground truth: in band after a start, slow after a stop */
    bool rotor_was_driven, rotor_band_told, rotor_slow_told;
    double rotor_stop_hz;

    /* fixture resonance, excited at the latest puncture */
    bool ring_on;
    uint64_t punct_t; /* time of this stroke's puncture */
    uint64_t ring_t0;
    double ring_amp_n, ring_alpha, ring_wd;

    /* pen events */
    struct pen_msg ev[EVENT_QUEUE];
    int ev_head, ev_count;
    uint16_t ev_seq;
    uint64_t ev_lost;

    struct fault_slot fault[SIM_FAULT_COUNT_];

    /* sensor head */
    bool streaming, stopped; /* stopped: STOP seen, LAST not yet sent */
    uint32_t sh_rate;
    uint64_t stream_t0, next_sample, next_sample_ns;
    struct sh_calibration cal_stored;
    int32_t tare_un;                     /* raw uN subtracted from every force sample */
    bool tared;                          /* a TARE is in effect (status flag) */
    double tare_hist[TARE_WINDOW_STEPS]; /* noiseless raw force per step */
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

static inline double set_rate_hz(const struct sim_model *m)
{
    return m->set_rate_mhz / 1000.0;
}

/* PEN.md 7: RUNNING is the rotor within 5 % of the setpoint. */
static inline bool in_running_band(const struct sim_model *m)
{
    double set = set_rate_hz(m);
    return set > 0 && fabs(m->f_motor - set) <= RUNNING_BAND * set;
}

static inline bool fault_on(const struct sim_model *m, enum sim_fault_kind k)
{
    return m->fault[k].armed && m->now >= m->fault[k].start_ns;
}

static inline double fault_value(const struct sim_model *m, enum sim_fault_kind k, double dflt)
{
    double v = m->fault[k].value;
    return isfinite(v) && v > 0 ? v : dflt;
}

static inline double f_inst(const struct sim_model *m)
{
    return m->f_motor * m->st.rate_factor;
}

static inline double phase_at(const struct sim_model *m, uint64_t t)
{
    return m->phi_anchor + f_inst(m) * (double)(t - m->t_anchor) * 1e-9;
}

/* First time (ns) at which the phase reaches phi, or UINT64_MAX. */
static inline uint64_t time_at_phase(const struct sim_model *m, double phi)
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

/* truth.c */
const char *mdl_state_name(uint8_t s);
const char *mdl_reason_name(uint8_t r);
void mdl_truth_printf(struct sim_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mdl_truth_stroke(struct sim_model *m, uint64_t t_end);
void mdl_truth_mount(struct sim_model *m);
void mdl_truth_session(struct sim_model *m);

/* needle.c */
bool mdl_cartridge_fitted(const struct sim_model *m);
double mdl_depth_now_mm(const struct sim_model *m);
void mdl_stroke_geometry(struct stroke *s, const struct sim_params *p);
void mdl_stroke_meets_mount(struct stroke *s, const struct sim_mount *mt,
                            const struct sim_params *p);
void mdl_begin_stroke(struct sim_model *m, uint64_t t);
void mdl_advance_within_step(struct sim_model *m, uint64_t t);
void mdl_record_tare_history(struct sim_model *m);

/* pen.c */
void mdl_control_step(struct sim_model *m);

#endif
