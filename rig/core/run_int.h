/* The sequence executor's insides, shared by run.c (walking the sequence),
 * runstep.c (one leaf step) and runrec.c (the record they fill). Not an
 * API. */
#ifndef RIG_CORE_RUN_INT_H
#define RIG_CORE_RUN_INT_H

#include <math.h>
#include <time.h>

#include "core/analysis.h"
#include "core/rec.h"
#include "core/record.h"
#include "core/run.h"

struct exec {
    const struct run_config *cfg;
    const struct rig_ops *ops;
    void *ctx;
    const struct rig_spec *spec;
    struct run_result *res;
    struct rec_run rec;     /* the record, as the sinks get it */
    struct rec_sink *sinks; /* the record file's (cfg->record_path), then cfg's */
    size_t nsinks;
    unsigned writes;            /* record versions handed to the sinks */
    struct lim_setpoints sp;    /* as last configured */
    double var_rate, var_depth; /* sweep variables, NaN outside */
    struct rec_loop loop;       /* sweep/repeat context of the leaf */
    bool motor_on, in_teardown;
    /* Skip mode: the rest of setup/main is not run (stop-on-first-fail, a
     * failed setup or unit check, an abort) but still walked, so the record
     * lists every planned step and measurement as SKIPPED with why. */
    bool skipping;
    char skip_reason[128];
    unsigned leaf, leaf_total, captures, attempt;
    enum rig_outcome so_far;
    struct pen_identity id; /* what the pen said at the unit check */
    bool have_id;
};

/* One leaf step as it executes. */
struct leaf {
    const struct seq_step *st;
    struct rec_step step; /* its record entry, moved into the record at the end */
    enum rig_outcome outcome;
    bool marginal;
    char message[256];
    double deadline;
};

/* runstep.c: one leaf step, and the helpers the run and the record share */
double now_s(const struct exec *e);
void wall(const struct exec *e, struct timespec *ts);
/* strdup that never returns NULL for a NULL argument's sake: "" then. NULL
 * only when out of memory. */
char *rec_dup(const char *s);
/* The run's message: the first reason it is not PASS (later ones are dropped). */
void note_message(struct exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void leaf_fail(struct leaf *l, enum rig_outcome o, const char *msg);
double resolve_setpoint(const struct exec *e, const struct lim_value *v);
bool runstep_aborted(const struct exec *e);
/* Map an op's return code to an outcome (see run.h), and say what failed. */
enum rig_outcome runstep_rc_outcome(int rc);
void runstep_rc_message(int rc, const char *what, const char *err, char *out, size_t len);
/* Zero the force channel; the result goes into *t (see runstep.c). */
int runstep_tare(struct exec *e, struct rec_tare *t, char *err, size_t errlen);
/* Run (or, in skip mode, record as skipped) one leaf step. */
enum rig_outcome runstep_exec_leaf(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section);

/* runrec.c: the record */
/* Fill the record's skeleton; -ENOMEM. */
int new_record(struct exec *e);
/* Append step to the record (moved: *step is emptied). */
void add_step(struct exec *e, struct rec_step *step);
/* A capture step's record: samples, flags, analysis, start/stop indices,
 * the capture and its per-stroke values as attachments. */
void record_capture(struct exec *e, struct leaf *l, const struct rig_capture *cap,
                    const struct an_result *an, const struct an_stroke *strokes, size_t nstrokes,
                    int64_t start_index, int64_t stop_index);
/* Record the instruments; ERROR (and the message) if one is overdue. */
enum rig_outcome check_instruments(struct exec *e);
/* Counts over the steps that decide the run; their worst outcome, and the
 * first of them that did not pass in *first_bad. */
enum rig_outcome summarise(struct exec *e, const struct rec_step **first_bad);
/* Hand the record to every sink (a failure is a record error, ERROR). */
void write_record(struct exec *e, bool complete);
void verify_attachments(struct exec *e);
/* Attach the sequence and spec the run used (by hash). */
void attach_definitions(struct exec *e);
/* Skip mode (see struct exec): enter it, and record a leaf not run. */
void start_skipping(struct exec *e, const char *why);
enum rig_outcome skip_leaf(struct exec *e, const struct seq_step *st, const char *section);

#endif
