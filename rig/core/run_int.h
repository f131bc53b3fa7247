/* The sequence executor's insides, shared by run.c (walking the sequence),
 * runstep.c (one leaf step) and runrec.c (the record they fill). Not an
 * API. */
#ifndef RIG_CORE_RUN_INT_H
#define RIG_CORE_RUN_INT_H

#include <cjson/cJSON.h>
#include <math.h>
#include <time.h>

#include "core/analysis.h"
#include "core/record.h"
#include "core/run.h"

struct exec {
    const struct run_config *cfg;
    const struct rig_ops *ops;
    void *ctx;
    const struct rig_spec *spec;
    struct run_result *res;
    cJSON *rec, *steps;
    struct lim_setpoints sp;    /* as last configured */
    double var_rate, var_depth; /* sweep variables, NaN outside */
    cJSON *loop;                /* sweep/repeat/retry context of the leaf */
    bool motor_on, in_teardown;
    /* Skip mode: the rest of setup/main is not run (stop-on-first-fail, a
     * failed setup or unit check, an abort) but still walked, so the record
     * lists every planned step and measurement as SKIPPED with why. */
    bool skipping;
    char skip_reason[128];
    bool record_created; /* first write done (never overwrites) */
    unsigned leaf, leaf_total, captures, attempt;
    enum rig_outcome so_far;
    char cap_stem[4096];
    struct pen_identity id; /* what the pen said at the unit check */
    bool have_id;
};

/* One leaf step as it executes. */
struct leaf {
    const struct seq_step *st;
    cJSON *entry, *meas;
    enum rig_outcome outcome;
    bool marginal;
    char message[256];
    double deadline;
};

/* runstep.c: one leaf step, and the helpers the run and the record share */
double now_s(const struct exec *e);
void wall(const struct exec *e, struct timespec *ts);
void put_utc(const struct exec *e, cJSON *obj, const char *key);
/* The run's message: the first reason it is not PASS (later ones are dropped). */
void note_message(struct exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void leaf_fail(struct leaf *l, enum rig_outcome o, const char *msg);
double resolve_setpoint(const struct exec *e, const struct lim_value *v);
bool runstep_aborted(const struct exec *e);
/* Map an op's return code to an outcome (see run.h), and say what failed. */
enum rig_outcome runstep_rc_outcome(int rc);
void runstep_rc_message(int rc, const char *what, const char *err, char *out, size_t len);
/* Zero the force channel; the result goes into obj "tare" (see runstep.c). */
int runstep_tare(struct exec *e, cJSON *obj, char *err, size_t errlen);
/* Run (or, in skip mode, record as skipped) one leaf step. */
enum rig_outcome runstep_exec_leaf(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section);

/* runrec.c: the record */
cJSON *new_record(struct exec *e);
void add_setpoints(const struct exec *e, cJSON *entry);
/* A capture step's record: samples, flags, analysis, start/stop indices,
 * the capture and its per-stroke values as attachments. */
void record_capture(struct exec *e, struct leaf *l, const struct rig_capture *cap,
                    const struct an_result *an, const struct an_stroke *strokes, size_t nstrokes,
                    int64_t start_index, int64_t stop_index);
/* Record the instruments; ERROR (and the message) if one is overdue. */
enum rig_outcome check_instruments(struct exec *e);
/* Counts over the steps that decide the run; their worst outcome, and the
 * first of them that did not pass in *first_bad. */
enum rig_outcome summarise(struct exec *e, const cJSON **first_bad);
void replace(cJSON *obj, const char *key, cJSON *item);
void write_record(struct exec *e, bool complete);
void verify_attachments(struct exec *e);
/* Attach the sequence and spec the run used (by hash). */
void attach_definitions(struct exec *e);
/* Skip mode (see struct exec): enter it, and record a leaf not run. */
void start_skipping(struct exec *e, const char *why);
enum rig_outcome skip_leaf(struct exec *e, const struct seq_step *st, const char *section);

#endif
