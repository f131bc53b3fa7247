/* Physics model of the simulated bench: one reference pen (motor, cam,
 * depth mechanism, battery, faults) pressed on a skin phantom over a load
 * cell, and the sensor head that samples force and needle displacement.
 *
 * One simulated clock drives everything: sim_model_run_until() integrates
 * the pen and, while the sensor head streams, pushes synchronous sample
 * frames into the sensor's bounded FIFO (which overruns like the real
 * device's when nobody drains it). The pen emulator and the USB emulator
 * both call into the same model; the caller serialises access (the model is
 * not thread-safe) and always calls run_until(now) before a command or a
 * query so every effect happens at the right simulated time.
 *
 * Deterministic: the same params, seed and call sequence (times included)
 * give the same samples. No I/O except the optional ground-truth writer.
 */
#ifndef RIG_SIM_MODEL_H
#define RIG_SIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol/pen.h"
#include "protocol/sensor.h"

struct cJSON;

/* Everything a bench file can set (fixtures/benches/NAME.json). Defaults (see
 * sim_params_default) are a healthy reference pen from shared DOMAIN.md. */
struct sim_params {
    /* identities */
    char pen_model[PEN_STR_LEN + 1], pen_serial[PEN_STR_LEN + 1];
    char cartridge_id[PEN_STR_LEN + 1];
    uint8_t pen_hw_revision, pen_fw[3], needle_count;
    uint16_t depth_step_um, depth_min_um, depth_max_um;
    char sh_model[SH_STR_LEN + 1], sh_serial[SH_STR_LEN + 1];
    uint8_t sh_hw_revision, sh_fw[3];
    struct sh_calibration sh_cal;
    /* pen unit */
    double depth_bias_mm;            /* NaN = draw N(0, depth_bias_sd_mm) from seed */
    double depth_bias_sd_mm;         /* 0.04 */
    double depth_noise_mm;           /* per-stroke RMS, 0.005 */
    double stroke_mm;                /* 3.5 */
    double rate_error_pct;           /* steady-state rate offset, 0 */
    double jitter_pct;               /* stroke-period jitter RMS, 0.5 */
    double spinup_ms;                /* time constant to 90 % speed, 30 */
    double spindown_ms;              /* 40 */
    double run_current_ma;           /* 450 */
    double supply_mv;                /* 4000; <= 0 means USB powered 5000 */
    double battery_drain_mv_per_min; /* 0 */
    /* phantom */
    double phantom_k_n_per_mm;    /* 2.5 */
    double puncture_n_per_needle; /* 0.0375 */
    double plateau_frac;          /* friction plateau as fraction of peak 0.45 */
    double ring_hz, ring_zeta;    /* 3000, 0.05 */
    double ring_gain;             /* ring amplitude as fraction of drop 0.3 */
    /* sensor head */
    uint32_t sh_rate_hz;     /* default 50000 */
    uint32_t sh_fifo_frames; /* device FIFO, default 100000 */
    double force_noise_n;    /* RMS 0.002 */
    double disp_noise_um;    /* RMS 0.2 */
    double force_lsb_n;      /* quantisation 0.0001 */
    double disp_lsb_um;      /* quantisation 0.01 */
    /* mount variation, drawn each time the pen is (re)mounted in the
     * fixture (docs/SIMULATOR-MODEL.md "Measurement system analysis").
     * Defaults: all spreads 0 = an ideal fixture; sim_params_mount_typical
     * sets the documented realistic ones. */
    double mount_disp_zero_sd_um;          /* needle tip vs the sensor's zero, RMS */
    double mount_seat_sd_um;               /* phantom surface vs cartridge face, RMS */
    double mount_k_sd_pct;                 /* phantom stiffness at the new spot, RMS % */
    double mount_puncture_sd_pct;          /* puncture threshold at the new spot, RMS % */
    double mount_tare_drift_sd_mn_per_min; /* load-cell zero drift rate, RMS */
    double mount_tare_settle_min;          /* the drift settles with this time constant, 4 */
};

void sim_params_default(struct sim_params *p);
/* Set the mount spreads to the documented realistic magnitudes (what
 * fixtures/benches/msa.json holds); nothing else changes. */
void sim_params_mount_typical(struct sim_params *p);

/* Apply a bench JSON document over p. On error returns -1 and writes
 * "json.path: message" into err. */
int sim_params_from_json(struct sim_params *p, const struct cJSON *root, char *err, size_t errlen);

/* Faults the model can simulate (the link faults live in the emulators). */
enum sim_fault_kind {
    SIM_FAULT_STALL,          /* rotor locks: rate -> 0, current 1.3 A, cut-out 300 ms */
    SIM_FAULT_OVERCURRENT,    /* current 1.8 A; trips after 100 ms */
    SIM_FAULT_DEPTH_DRIFT,    /* value: mm/min creep (default 0.02, cap 0.2 mm) */
    SIM_FAULT_RATE_JITTER,    /* value: jitter % RMS (default 7) */
    SIM_FAULT_LOW_BATTERY,    /* supply falls to warning then cut-off */
    SIM_FAULT_NO_CARTRIDGE,   /* no force, displacement "no target" */
    SIM_FAULT_SENSOR_OVERRUN, /* value: samples dropped (default 5000) */
    SIM_FAULT_BENT_NEEDLE,    /* value: needles missing (default 1) */
    SIM_FAULT_COUNT_
};
const char *sim_fault_name(enum sim_fault_kind k);
int sim_fault_from_name(const char *name); /* -1 if unknown */

struct sim_model;

/* NULL if p is unusable (zero FIFO, sensor rate out of range, non-positive
 * stroke/time constants/stiffness/gains/LSBs) or memory runs out. */
struct sim_model *sim_model_new(const struct sim_params *p, uint64_t seed);
void sim_model_free(struct sim_model *m);

/* Ground truth: one JSON object per line, per completed stroke:
 *   {"t":s,"stroke":n,"rate_hz":f,"protrusion_mm":d,"peak_force_n":F,...}
 * and per pen state change. NULL disables. */
void sim_model_set_truth(struct sim_model *m, FILE *truth);

/* Advance simulated time (ns since model start) to t_ns. Never goes back. */
void sim_model_run_until(struct sim_model *m, uint64_t t_ns);
uint64_t sim_model_now(const struct sim_model *m);

/* Pen firmware side: what the emulated pen reports and obeys.
 * Each returns 0 or a PEN_ERR_* code for a NAK. */
int sim_pen_set_rate(struct sim_model *m, uint32_t rate_mhz);
int sim_pen_set_depth(struct sim_model *m, uint16_t depth_um);
int sim_pen_start(struct sim_model *m);
int sim_pen_stop(struct sim_model *m);
int sim_pen_clear_fault(struct sim_model *m);
void sim_pen_heartbeat(struct sim_model *m); /* feeds the watchdog */
/* The pen's UART as the emulator services it. While the host has the port
 * open (tracked), the watchdog judges only the time up to which the
 * emulator has read the host's bytes (seen_ns): rigsim's main loop may be
 * starved while the sensor head's thread advances the model, and a
 * heartbeat still unread in the pty must not let the simulated watchdog
 * trip -- a real pen reads its UART as bytes arrive. Untracked (port
 * closed: nothing can arrive), the watchdog judges the model's own time. */
void sim_pen_input_seen(struct sim_model *m, bool tracked, uint64_t seen_ns);
void sim_pen_identity(const struct sim_model *m, struct pen_identity *id);
void sim_pen_status(const struct sim_model *m, struct pen_status *st);
/* Events raised since the last call (state changes, faults); returns count
 * written (<= max). */
int sim_pen_take_events(struct sim_model *m, struct pen_msg *ev, int max);
bool sim_pen_motor_running(const struct sim_model *m);

/* Swap the pen for another unit of the same model (an operator unplugs one
 * pen and plugs in the next): the pen part restarts at power-on with the
 * unit drawn from seed (depth bias, dynamics, where the needles are
 * parked) and the given USB/IDENTIFY serial (1..16 printable ASCII); the
 * sensor head and the phantom stay. 0, or -1 for a bad serial. */
int sim_pen_new_unit(struct sim_model *m, uint64_t seed, const char *serial);

/* Measurement system analysis (docs/SIMULATOR-MODEL.md): every mount of a
 * pen in the fixture draws its own displacement zero, seating, phantom spot
 * and load-cell drift from the mount stream; sim_model_new mounts the first
 * pen, sim_pen_new_unit mounts the next one.
 *
 * Remount: the operator takes the same pen out and puts it back (a new
 * mount draw; the pen's state, setpoint and parked needles stay). Only with
 * the pen at rest (not driven, rotor stopped): -1 and nothing changes
 * otherwise, as an operator must stop the pen before unclamping it. */
int sim_pen_remount(struct sim_model *m);
/* A new session (operator, day) with its own seed: re-seeds the pen's
 * per-stroke noise, the sensor noise and the mount stream from (seed,
 * session), then mounts the pen (the session's first mount). Session 0 =
 * the streams the seed alone gives (the default). -1 if the pen is not at
 * rest, as for a remount. */
int sim_model_new_session(struct sim_model *m, uint64_t session);
uint64_t sim_model_session(const struct sim_model *m);
/* Mounts so far in this session: 1 = its first. */
uint32_t sim_model_mount_count(const struct sim_model *m);

/* Sensor head side. */
int sim_sh_set_rate(struct sim_model *m, uint32_t rate_hz); /* 0 or SH_ERR_* */
int sim_sh_start(struct sim_model *m);
int sim_sh_stop(struct sim_model *m);
int sim_sh_tare(struct sim_model *m);
void sim_sh_identity(const struct sim_model *m, struct sh_identity *id);
void sim_sh_calibration(const struct sim_model *m, struct sh_calibration *c);
int sim_sh_set_calibration(struct sim_model *m, const struct sh_calibration *c);
void sim_sh_status(const struct sim_model *m, struct sh_status *st);
/* Frames waiting in the device FIFO. */
uint32_t sim_sh_available(const struct sim_model *m);
/* Pop up to max frames into a block: fills hdr (seq, first_sample, rate,
 * count, flags incl. OVERRUN / NO_TARGET) and samples. Returns count. */
int sim_sh_take_block(struct sim_model *m, uint32_t max, struct sh_block_header *hdr,
                      int32_t *force_un, int32_t *disp_nm);

/* Faults. start_ns = when it takes effect (simulated time). */
void sim_model_inject(struct sim_model *m, enum sim_fault_kind k, double value, uint64_t start_ns);
void sim_model_clear_faults(struct sim_model *m);

#endif
