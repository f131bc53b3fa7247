/* A synthetic bench implementing struct rig_ops for executor tests: the
 * pen and the sensor are the synth model in virtual time (sleep() just
 * generates samples), with switches for the faults the tests inject. */
#ifndef RIG_TESTS_CORE_BENCH_OPS_H
#define RIG_TESTS_CORE_BENCH_OPS_H

#include "core/run.h"
#include "synth.h"

struct bench {
    struct synth s;
    struct synth_params p;
    bool motor; /* pen driven */
    /* capture */
    bool capturing;
    int32_t *force, *disp;
    size_t n, cap;
    uint64_t first;
    /* identity and instruments */
    struct pen_identity id;
    struct rig_instrument ins;
    struct timespec wall;
    /* fault switches */
    uint32_t capture_flags;    /* added to the next capture_end (once) */
    unsigned flags_on_capture; /* ...on the capture with this number (1-based), 0 = every */
    int fail_capture_begin;    /* return this from capture_begin */
    int nak_start;             /* RIG_OPS_NAK code from start */
    int start_rc;              /* return this from start (e.g. -ENODEV) */
    int stop_rc;               /* return this from stop (stop not confirmed) */
    int abort_at_sleep;        /* set aborted at this sleep call (1-based), 0 = never */
    /* observations */
    unsigned captures, sleeps, stops, starts, identifies, emits, measurement_events;
    bool aborted_flag;
    double pen_time_s;             /* virtual seconds spent in sleeps */
    const char *watch_record;      /* read this record at every sleep... */
    bool saw_incomplete;           /* ...and note if it was complete:false with steps */
    bool saw_incomplete_verdict;   /* ...or complete:false with an outcome that is not null */
    unsigned delete_dir_at_sleep;  /* remove watch_record's directory at this sleep (1-based) */
    unsigned rig_problem_at_sleep; /* rig_check reports a problem from this sleep on (1-based) */
    bool rig_problem_told;
    unsigned rig_checks;
};

void bench_init(struct bench *b);
void bench_free(struct bench *b);
extern const struct rig_ops bench_ops;

#endif
