/* The sequence executor: plain sequential code that walks a validated
 * sequence and drives the rig through a blocking ops table. The daemon
 * calls run_execute() from a worker thread and implements struct rig_ops
 * on top of its drivers; tests implement it with a synthetic bench.
 *
 * Outcomes (outcome.h): a pen out of limits is FAIL; anything that stops
 * the rig from measuring (an op returning < 0, sample loss, overrun, no
 * target, a disconnect) is ERROR; an operator abort is ABORTED; a step that
 * exceeds its timeout is TIMEOUT. MARGINAL is a flag on PASS. The run's
 * outcome is the most severe of its sections' outcomes (a retry group
 * counts only its last attempt). Teardown always runs, and the executor
 * sends stop at the end of every run in which it started the motor or that
 * did not PASS (the daemon must still stop the motor on its own abnormal
 * paths: client gone, signals, exit).
 *
 * Ops conventions: return 0 on success; a negative errno for a rig problem
 * (ERROR); RIG_OPS_NAK(code) when the pen refused a request with NAK code
 * (enum pen_error): NO_CARTRIDGE and FAULT_ACTIVE are the pen's fault
 * (FAIL), any other NAK is ERROR. err receives a human message. Ops block;
 * each must bound its own duration (driver timeouts).
 */
#ifndef RIG_CORE_RUN_H
#define RIG_CORE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/outcome.h"
#include "protocol/pen.h"
#include "core/record.h"
#include "core/sequence.h"

struct rec_rig_action; /* core/rec.h */
struct rec_sink;

#define RIG_OPS_NAK(code)    (0x100 | (int)(code))
#define RIG_OPS_IS_NAK(rc)   ((rc) > 0 && ((rc)&0x100))
#define RIG_OPS_NAK_CODE(rc) ((rc)&0xFF)

#define RIG_MAX_INSTRUMENTS 8

/* One instrument of the station, for the record and the calibration check. */
struct rig_instrument {
    char role[16]; /* "sensor-head", "pen-fixture", ... */
    char model[32], serial[32], firmware[16];
    uint32_t cal_date, cal_due; /* YYYYMMDD; cal_due 0 = no calibration needed */
    char certificate[32];
    /* The calibration coefficients in force (sensor head: SENSOR.md 3.2) */
    bool has_coefficients;
    int32_t force_gain_ppm, force_offset_un, disp_gain_ppm, disp_offset_nm;
};

/* A zeroed force channel (rig_ops.sensor_tare). */
struct rig_tare {
    int32_t offset_raw_un; /* the sensor head's tare offset, raw uN */
    double zero_n;         /* the force it took as zero, calibrated N */
};

/* What the engine tells its front end while a run executes (rig_ops.emit):
 * typed, so the front end never parses what the engine wrote. Strings
 * point into the engine's data and live only for the emit call. */
enum run_event_kind {
    RUN_EV_STEP_BEGIN,  /* a leaf step starts */
    RUN_EV_MEASUREMENT, /* a measurement of the step was judged */
    RUN_EV_STEP_END,    /* a leaf step ended */
};

/* A measurement as it was judged, with the values of its record entry. */
struct run_measurement {
    const char *name, *quantity;
    const char *units; /* "" for none */
    bool is_text;      /* text quantity (pen model, firmware) */
    double value;      /* NaN: could not be measured (!is_text) */
    const char *text;  /* the value when is_text */
    enum lim_cmp comparison;
    double low, high;  /* resolved limits (NaN if unused) */
    const char *limit; /* the limit as text, e.g. "GELE [0.85, 1.15]" */
    enum rig_outcome outcome;
    bool marginal;
    const char *note; /* why not a plain PASS; NULL if none */
};

struct run_event {
    enum run_event_kind kind;
    const char *run_id; /* the record's id */
    unsigned step;      /* leaf step, from 1; retries count again */
    unsigned total;     /* planned leaf steps (retries once) */
    union {
        struct { /* RUN_EV_STEP_BEGIN */
            enum step_kind kind;
            const char *path; /* JSON path in the sequence file, "" if unknown */
            const char *name; /* the step's label, NULL if none */
        } begin;
        struct run_measurement measurement; /* RUN_EV_MEASUREMENT */
        struct {                            /* RUN_EV_STEP_END */
            enum rig_outcome outcome;
            bool marginal;
            const char *message; /* why not PASS; NULL if none */
        } end;
    } u;
};

struct rig_ops {
    /* Pen (DUT). Rates in mHz, depths in um, as on the wire. */
    int (*pen_identify)(void *ctx, struct pen_identity *id, char *err, size_t errlen);
    int (*pen_set_rate)(void *ctx, uint32_t rate_mhz, char *err, size_t errlen);
    int (*pen_set_depth)(void *ctx, uint16_t depth_um, char *err, size_t errlen);
    int (*pen_start)(void *ctx, char *err, size_t errlen);
    int (*pen_stop)(void *ctx, char *err, size_t errlen); /* confirmed stop */
    int (*pen_status)(void *ctx, struct pen_status *st, char *err, size_t errlen);

    /* Sensor capture: begin collecting samples; mark returns the index of
     * the next sample the sensor will deliver (for spin-up/stop timing, same
     * timebase as rig_capture.first_sample); end returns everything
     * collected since begin with AN_F_* flags for loss/overrun/no target/
     * disconnect. The engine frees the arrays with free(). */
    int (*capture_begin)(void *ctx, char *err, size_t errlen);
    uint64_t (*capture_mark)(void *ctx);
    int (*capture_end)(void *ctx, struct rig_capture *out, char *err, size_t errlen);

    /* Optional (NULL: the rig cannot tare; the record says so). Zero the
     * force channel now. The engine calls it with the motor at rest and
     * the needles retracted (a tare step, and before every run). */
    int (*sensor_tare)(void *ctx, struct rig_tare *out, char *err, size_t errlen);
    /* Optional: wait (bounded) until the pen's motor has come to rest. */
    int (*pen_wait_rest)(void *ctx, char *err, size_t errlen);

    /* Wait; must return early with -ECANCELED when the run is aborted. */
    int (*sleep)(void *ctx, double seconds);
    /* True once an abort was requested (NULL = never). Polled between steps. */
    bool (*aborted)(void *ctx);
    /* Optional (NULL = "aborted by the operator"): why the run was aborted,
     * e.g. "owner disconnected", "rigd shutting down (SIGTERM)", "abort
     * requested by ana". Written into buf (NUL-terminated); called once,
     * after aborted() returned true; an empty string means "not known".
     * It becomes the record's and the result's message. */
    void (*abort_reason)(void *ctx, char *buf, size_t len);

    /* Instruments of the station (sensor head, ...): count or < 0. Every
     * one is recorded, and one whose cal_due has passed stops the run before
     * it starts (ERROR). NULL = no instruments: nothing recorded or checked,
     * so the daemon must provide it. */
    int (*instruments)(void *ctx, struct rig_instrument *out, size_t max, char *err, size_t errlen);

    /* Optional (NULL = the rig never reports problems of its own). Asked
     * after every step that judges measurements and once more before the
     * verdict: returns true, with a message in buf, when something the rig
     * did since the run began invalidates what was measured (e.g. it let
     * the pen's watchdog expire, which stops the motor). The step is then
     * ERROR and its FAILs become ERRORs: the pen is not blamed for the
     * rig. The front end must make the answer current (everything the
     * devices reported up to the call has been seen). Reported once: a
     * later call returns false unless a new problem occurred. */
    bool (*rig_check)(void *ctx, char *buf, size_t len);
    /* Optional: what the rig itself did to the bench for this run, e.g.
     * clearing a fault it caused (record member "rig_actions"): all of
     * them so far, as a malloc'd array in *out (the engine frees it with
     * rec_rig_actions_free); returns their count, 0 for none. */
    size_t (*rig_actions)(void *ctx, struct rec_rig_action **out);

    /* Optional (NULL = not used / system clock). emit gets progress and
     * measurement events (struct run_event, docs/RECORD.md "Events"); it
     * must not keep the pointer nor any pointer inside it. now: monotonic
     * seconds. wall: UTC for timestamps and the calibration check. */
    void (*emit)(void *ctx, const struct run_event *event);
    double (*now)(void *ctx);
    void (*wall)(void *ctx, struct timespec *ts);
};

struct run_config {
    const struct rig_sequence *seq; /* validated, with its spec */
    const char *run_id;             /* the run's id (record "id"); NULL = new UUID */
    const char *dut_serial;         /* required */
    const char *operator_name;      /* may be NULL */
    const char *station_id;         /* may be NULL */
    const char *fixture;            /* the station's fixture; may be NULL */
    const char *record_path;        /* record JSON; captures go beside it as
                                        <record without .json>.cap<N>.bin
                                        (the JSON record file sink, rec.h).
                                        NULL = no record file */
    const struct rec_sink *sinks;   /* more keepers of the record, called */
    size_t nsinks;                  /* after the record file's, in order;
                                        run_execute closes each exactly once
                                        before it returns, opened or not */
    bool no_captures;               /* do not write capture attachments */
    bool raw_captures;              /* the record file's captures as rig-capture/1
                                        (REC_FILE_RAW_CAPTURES), not compressed */
    const char *study_id;           /* a gauge study's run (record "study"); NULL: not */
    unsigned study_part;            /* 1-based, with study_id */
    unsigned study_trial;           /* 1-based, with study_id */
};

struct run_result {
    enum rig_outcome outcome;
    bool marginal;
    unsigned steps; /* leaf steps executed */
    unsigned measurements, passed, failed, errors, marginals;
    unsigned retries; /* extra attempts made by retry groups */
    char record_id[37];
    char message[256];      /* first reason the run is not PASS */
    char record_error[256]; /* last record write problem, "" if none */
};

/* Execute the sequence; blocks until the run ends (call it from a worker
 * thread; every op and emit is called from that thread). Returns 0 when the
 * run reached an outcome (any outcome; see result), -1 if it could not start
 * (bad arguments, or the record could not be created: message in
 * result->message). Exit status for front ends: outcome_exit_code().
 * Thread contract: the engine keeps no global state and only reads cfg and
 * the sequence/spec (regexec on a shared compiled pattern is thread-safe),
 * so runs on different threads may share one loaded sequence; ops and emit
 * run on the caller's thread, so whatever another thread changes for them
 * (the abort flag aborted() reads) must be synchronised by the ops. */
int run_execute(const struct run_config *cfg, const struct rig_ops *ops, void *ctx,
                struct run_result *result);

#endif
