/* The sequence executor, one leaf step (run_int.h): the ops a step calls
 * and what their return codes mean (outcome, message), the step's record
 * entry and front-end events, its measurements judged, and the helpers
 * (time, the run's message, sleeping within a deadline) that run.c and
 * runrec.c share with it. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/measure.h"
#include "core/quantity.h"
#include "core/run_int.h"

/* Default step timeouts (seconds) when the file gives none: generous, the
 * point is to end a step the rig cannot finish, not to judge speed. */

#define DEFAULT_OP_TIMEOUT_S 10.0
/* Tare: the depth adjuster's settling, then a look at the needle tips
 * (also the window the sensor head averages: its last 10 ms). */
#define TARE_SETTLE_S        0.02
#define TARE_LOOK_S          0.012
#define TARE_RETRACTED_MM    (-0.05)
#define DEFAULT_SLACK_S      10.0

/* ---- small helpers ---------------------------------------------------- */

double now_s(const struct exec *e)
{
    if (e->ops->now)
        return e->ops->now(e->ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void wall(const struct exec *e, struct timespec *ts)
{
    if (e->ops->wall)
        e->ops->wall(e->ctx, ts);
    else
        clock_gettime(CLOCK_REALTIME, ts);
}

bool runstep_aborted(const struct exec *e)
{
    return e->ops->aborted && e->ops->aborted(e->ctx);
}

void note_message(struct exec *e, const char *fmt, ...)
{
    if (e->res->message[0])
        return; /* keep the first reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->res->message, sizeof e->res->message, fmt, ap);
    va_end(ap);
}

/* Tell the front end (rig_ops.emit): ev's kind and union are filled in,
 * the members every event has are filled in here. */
static void emit(struct exec *e, struct run_event *ev)
{
    if (!e->ops->emit)
        return;
    ev->run_id = e->res->record_id;
    ev->step = e->leaf;
    ev->total = e->leaf_total;
    e->ops->emit(e->ctx, ev);
}

/* Map an op's return code to an outcome (see run.h). */
enum rig_outcome runstep_rc_outcome(int rc)
{
    if (rc == 0)
        return OUTCOME_PASS;
    if (rc == -ECANCELED)
        return OUTCOME_ABORTED;
    if (rc == -ETIMEDOUT)
        return OUTCOME_TIMEOUT;
    if (RIG_OPS_IS_NAK(rc)) {
        int code = RIG_OPS_NAK_CODE(rc);
        if (code == PEN_ERR_NO_CARTRIDGE || code == PEN_ERR_FAULT_ACTIVE)
            return OUTCOME_FAIL;
    }
    return OUTCOME_ERROR;
}

void runstep_rc_message(int rc, const char *what, const char *err, char *out, size_t len)
{
    if (RIG_OPS_IS_NAK(rc))
        snprintf(out, len, "%s: pen refused (%s)%s%s", what,
                 pen_error_str((uint8_t)RIG_OPS_NAK_CODE(rc)), *err ? ": " : "", err);
    else if (rc == -ECANCELED)
        snprintf(out, len, "%s: aborted", what);
    else if (rc == -ETIMEDOUT)
        snprintf(out, len, "%s: step timeout", what);
    else
        snprintf(out, len, "%s failed: %s", what, *err ? err : strerror(-rc));
}

/* Sleep within the step deadline: -ETIMEDOUT if the deadline cut it short. */
static int sleep_until(struct exec *e, double seconds, double deadline)
{
    double left = deadline - now_s(e);
    bool clipped = seconds > left;
    double t = clipped ? (left > 0 ? left : 0) : seconds;
    if (t > 0) {
        int rc = e->ops->sleep(e->ctx, t);
        if (rc < 0)
            return rc == -ECANCELED ? rc : -EIO;
    }
    if (runstep_aborted(e))
        return -ECANCELED;
    return clipped ? -ETIMEDOUT : 0;
}

/* ---- the step record -------------------------------------------------- */

void leaf_fail(struct leaf *l, enum rig_outcome o, const char *msg)
{
    l->outcome = outcome_worse(l->outcome, o);
    if (!l->message[0] && msg)
        snprintf(l->message, sizeof l->message, "%s", msg);
}

static void leaf_op(struct exec *e, struct leaf *l, int rc, const char *what, const char *err)
{
    (void)e;
    if (rc == 0)
        return;
    char msg[256];
    runstep_rc_message(rc, what, err, msg, sizeof msg);
    leaf_fail(l, runstep_rc_outcome(rc), msg);
}

/* The rig reports a problem of its own (rig_ops.rig_check): the step is
 * ERROR, and what it judged FAIL was measured while the rig was not in
 * control of the bench, so it is not the pen's failure either. */
static void check_rig(struct exec *e, struct leaf *l)
{
    char why[200] = "";
    if (!e->ops->rig_check || !e->ops->rig_check(e->ctx, why, sizeof why))
        return;
    why[sizeof why - 1] = '\0';
    char msg[256];
    snprintf(msg, sizeof msg, "rig problem: %s", why[0] ? why : "unspecified");
    for (size_t i = 0; i < l->step.nmeas; i++) {
        struct rec_measurement *m = &l->step.meas[i];
        if (m->outcome != OUTCOME_FAIL)
            continue;
        char *note = rec_dup(msg);
        if (!note)
            continue;
        m->outcome = OUTCOME_ERROR;
        free(m->note);
        m->note = note;
    }
    /* The rig's reason comes first: it explains the rest. */
    l->outcome = outcome_worse(l->outcome, OUTCOME_ERROR);
    snprintf(l->message, sizeof l->message, "%s", msg);
}

/* ---- measurements ----------------------------------------------------- */

static void evaluate(struct exec *e, struct leaf *l, const struct measure_src *v)
{
    if (!l->st->nevaluate)
        return;
    struct rec_measurement *all = calloc(l->st->nevaluate, sizeof *all);
    if (!all) {
        leaf_fail(l, OUTCOME_ERROR, "out of memory");
        return;
    }
    free(l->step.meas); /* an identify step judged once; nothing there */
    l->step.meas = all;
    l->step.nmeas = 0;
    for (size_t i = 0; i < l->st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, l->st->evaluate[i]);
        struct lim_eval ev;
        char why[160];
        struct rec_measurement *me = &l->step.meas[l->step.nmeas];
        if (!m || measure_judge(m, v, &e->sp, &ev, why, sizeof why, me) < 0) {
            leaf_fail(l, OUTCOME_ERROR, "measurement missing from spec or out of memory");
            continue;
        }
        l->step.nmeas++;
        if (ev.outcome != OUTCOME_PASS) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s %s: %s", m->name, outcome_str(ev.outcome), why);
            leaf_fail(l, ev.outcome, msg);
        }
        l->marginal |= ev.marginal;

        struct run_event event = {
            .kind = RUN_EV_MEASUREMENT,
            .u.measurement = {
                .name = me->name,
                .quantity = me->quantity,
                .units = me->units,
                .is_text = me->is_text,
                .value = me->value,
                .text = me->is_text ? me->text : "",
                .comparison = me->comparison,
                .low = ev.low,
                .high = ev.high,
                .limit = me->limit,
                .outcome = ev.outcome,
                .marginal = ev.marginal,
                .note = why[0] ? why : NULL,
            },
        };
        emit(e, &event);
    }
}

/* ---- leaf steps ------------------------------------------------------- */

static void step_identify(struct exec *e, struct leaf *l)
{
    struct pen_identity id;
    char err[200] = "";
    memset(&id, 0, sizeof id);
    int rc = e->ops->pen_identify(e->ctx, &id, err, sizeof err);
    leaf_op(e, l, rc, "identify", err);
    if (rc != 0)
        return;
    e->rec.has_reported = true;
    e->rec.reported = id;
    if (!spec_applies(e->spec, id.model, id.hw_revision)) {
        char msg[256];
        snprintf(msg, sizeof msg, "spec %s is for model %s, this pen is %s rev %u",
                 e->spec->name ? e->spec->name : "?", e->spec->model ? e->spec->model : "?",
                 id.model, id.hw_revision);
        leaf_fail(l, OUTCOME_ERROR, msg);
    }
    if (id.needle_count == 0 || !id.cartridge_id[0])
        leaf_fail(l, OUTCOME_FAIL, "no needle cartridge detected: fit a cartridge and retest");
    struct measure_src v = { .id = &id };
    evaluate(e, l, &v);
}

double resolve_setpoint(const struct exec *e, const struct lim_value *v)
{
    if (v->ref == LIM_REF_RATE_HZ)
        return e->var_rate;
    if (v->ref == LIM_REF_DEPTH_MM)
        return e->var_depth;
    return v->value;
}

static void step_configure(struct exec *e, struct leaf *l)
{
    char err[200] = "";
    if (l->st->has_rate) {
        double hz = resolve_setpoint(e, &l->st->rate_hz);
        int rc = isfinite(hz)
                     ? e->ops->pen_set_rate(e->ctx, (uint32_t)lround(hz * 1000), err, sizeof err)
                     : -EINVAL;
        leaf_op(e, l, rc, "set rate", err);
        if (rc == 0)
            e->sp.rate_hz = hz;
    }
    if (l->st->has_depth && l->outcome == OUTCOME_PASS) {
        double mm = resolve_setpoint(e, &l->st->depth_mm);
        int rc = isfinite(mm)
                     ? e->ops->pen_set_depth(e->ctx, (uint16_t)lround(mm * 1000), err, sizeof err)
                     : -EINVAL;
        leaf_op(e, l, rc, "set depth", err);
        if (rc == 0)
            e->sp.depth_mm = mm;
    }
}

static int do_start(struct exec *e, char *err, size_t len)
{
    e->motor_on = true; /* from now on a stop is owed whatever the answer */
    return e->ops->pen_start(e->ctx, err, len);
}

static int do_stop(struct exec *e, char *err, size_t len)
{
    int rc = e->ops->pen_stop(e->ctx, err, len);
    if (rc == 0)
        e->motor_on = false;
    return rc;
}

static bool needs_status(const struct exec *e, const struct seq_step *st)
{
    for (size_t i = 0; i < st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, st->evaluate[i]);
        if (m && quantity_info(m->quantity)->source == QS_STATUS)
            return true;
    }
    return false;
}

/* Zero the force channel (docs/FILES.md "tare"): motor stopped and at
 * rest, depth at the pen's minimum, then a short look at the needles: the
 * sensor is tared only when their tips are behind the cartridge face (a
 * tip in the phantom would be tared away as "zero"). The result goes into
 * obj "tare". Returns an op error for the caller's outcome (0 when merely
 * not tared because the needles protrude: each capture still zeroes its
 * force from its retracted samples). */
int runstep_tare(struct exec *e, struct rec_tare *t, char *err, size_t errlen)
{
    free(t->note);
    memset(t, 0, sizeof *t);
    t->present = true;
    t->needle_tip_mm = t->zero_n = NAN;
    wall(e, &t->at);
    if (!e->ops->sensor_tare) {
        t->has_done = true;
        t->note = rec_dup("the rig cannot tare");
        return t->note ? 0 : -ENOMEM;
    }
    int rc = 0;
    if (e->motor_on && (rc = do_stop(e, err, errlen)) != 0)
        return rc;
    if (e->ops->pen_wait_rest && (rc = e->ops->pen_wait_rest(e->ctx, err, errlen)) != 0)
        return rc;
    if (e->have_id && (rc = e->ops->pen_set_depth(e->ctx, e->id.depth_min_um, err, errlen)) != 0)
        return rc;
    if ((rc = e->ops->sleep(e->ctx, TARE_SETTLE_S)) != 0)
        return rc;
    /* where are the needle tips? */
    if ((rc = e->ops->capture_begin(e->ctx, err, errlen)) != 0)
        return rc;
    int slept = e->ops->sleep(e->ctx, TARE_LOOK_S);
    struct rig_capture cap;
    memset(&cap, 0, sizeof cap);
    if ((rc = e->ops->capture_end(e->ctx, &cap, err, errlen)) != 0)
        return rc;
    if (slept != 0) {
        capture_free(&cap);
        return slept;
    }
    double tip_mm = -INFINITY;
    for (size_t i = 0; i < cap.n; i++)
        if (cap.disp_nm[i] > INT32_MIN + 1)
            tip_mm = fmax(tip_mm, cap.disp_nm[i] / 1e6);
    capture_free(&cap);
    t->has_needle_tip = true;
    t->needle_tip_mm = isfinite(tip_mm) ? tip_mm : NAN;
    if (!(tip_mm < TARE_RETRACTED_MM)) {
        t->has_done = true;
        t->note = rec_dup(isfinite(tip_mm) ? "the needle tips rest in the phantom: not tared"
                                           : "no displacement reading: not tared");
        if (!t->note)
            return -ENOMEM;
    } else {
        struct rig_tare tare;
        if ((rc = e->ops->sensor_tare(e->ctx, &tare, err, errlen)) != 0)
            return rc;
        t->has_done = true;
        t->done = true;
        t->offset_raw_un = tare.offset_raw_un;
        t->zero_n = tare.zero_n;
    }
    /* back to the depth the sequence set, if it set one */
    if (isfinite(e->sp.depth_mm))
        rc = e->ops->pen_set_depth(e->ctx, (uint16_t)lround(e->sp.depth_mm * 1000), err, errlen);
    return rc;
}

static int64_t command_index(int64_t mark, uint64_t first_sample)
{
    int64_t i = mark - (int64_t)first_sample;
    return i == -1 ? -2 : i;
}

static void step_capture(struct exec *e, struct leaf *l)
{
    const struct seq_step *st = l->st;
    char err[200] = "";
    double seconds = st->seconds;
    if (st->strokes) {
        if (!isfinite(e->sp.rate_hz) || e->sp.rate_hz <= 0) {
            leaf_fail(l, OUTCOME_ERROR, "capture by strokes needs a configured rate");
            return;
        }
        seconds = (st->strokes + 2) / e->sp.rate_hz; /* 2 strokes of margin */
    }
    int rc = e->ops->capture_begin(e->ctx, err, sizeof err);
    leaf_op(e, l, rc, "capture begin", err);
    if (rc != 0)
        return;

    bool want_status = needs_status(e, st);
    struct pen_status status;
    bool have_status = false;
    char status_err[200] = "not read";
    int64_t start_mark = -1, stop_mark = -1;

    if (st->with != CAPTURE_PLAIN) {
        rc = sleep_until(e, st->pre_s, l->deadline);
        leaf_op(e, l, rc, "capture lead-in", "");
    }
    if (l->outcome == OUTCOME_PASS && st->with == CAPTURE_START) {
        start_mark = (int64_t)e->ops->capture_mark(e->ctx);
        rc = do_start(e, err, sizeof err);
        leaf_op(e, l, rc, "start", err);
    }
    if (l->outcome == OUTCOME_PASS && st->with == CAPTURE_STOP) {
        if (want_status) { /* current must be read while still running */
            have_status = e->ops->pen_status(e->ctx, &status, status_err, sizeof status_err) == 0;
        }
        stop_mark = (int64_t)e->ops->capture_mark(e->ctx);
        rc = do_stop(e, err, sizeof err);
        leaf_op(e, l, rc, "stop", err);
    }
    if (l->outcome == OUTCOME_PASS) {
        rc = sleep_until(e, seconds, l->deadline);
        leaf_op(e, l, rc, "capture", "");
    }
    if (want_status && !have_status && l->outcome == OUTCOME_PASS)
        have_status = e->ops->pen_status(e->ctx, &status, status_err, sizeof status_err) == 0;

    struct rig_capture cap;
    memset(&cap, 0, sizeof cap);
    err[0] = '\0';
    rc = e->ops->capture_end(e->ctx, &cap, err, sizeof err);
    leaf_op(e, l, rc, "capture end", err);
    if (rc != 0 || l->outcome == OUTCOME_ABORTED || l->outcome == OUTCOME_TIMEOUT) {
        capture_free(&cap);
        return;
    }
    struct an_input in = {
        .force_un = cap.force_un,
        .disp_nm = cap.disp_nm,
        .n = cap.n,
        .rate_hz = cap.rate_hz,
        .flags = cap.flags & AN_F_KNOWN,
        .start_index = -1,
        .stop_index = -1,
        .set_rate_hz = isfinite(e->sp.rate_hz) ? e->sp.rate_hz : 0,
        .set_depth_mm = e->sp.depth_mm,
    };
    /* A command before the first captured sample (index < 0) is reported
     * by the analysis as outside the capture; -1 itself means "none". */
    if (start_mark >= 0)
        in.start_index = command_index(start_mark, cap.first_sample);
    if (stop_mark >= 0)
        in.stop_index = command_index(stop_mark, cap.first_sample);
    struct an_result an;
    /* every stroke for the per-stroke attachment (at most one per 2 samples) */
    in.strokes_cap = cap.n / 2 + 1;
    in.strokes_out = malloc(in.strokes_cap * sizeof *in.strokes_out);
    if (!in.strokes_out || !cap.disp_nm || an_analyse(&in, &an) < 0) {
        leaf_fail(l, OUTCOME_ERROR,
                  !in.strokes_out ? "out of memory"
                  : cap.disp_nm   ? an.error
                                  : "capture returned no samples");
        free(in.strokes_out);
        capture_free(&cap);
        return;
    }
    record_capture(e, l, &cap, &an, in.strokes_out,
                   an.strokes < in.strokes_cap ? an.strokes : in.strokes_cap, in.start_index,
                   in.stop_index);
    free(in.strokes_out);
    capture_free(&cap);
    if (l->outcome == OUTCOME_PASS) { /* start/stop refused: nothing to judge */
        struct measure_src v = { .an = &an,
                                 .status = have_status ? &status : NULL,
                                 .status_error = status_err };
        evaluate(e, l, &v);
    }
}

static double default_timeout(const struct seq_step *st)
{
    switch (st->kind) {
    case STEP_SETTLE:
        return st->seconds * 1.5 + DEFAULT_SLACK_S;
    case STEP_CAPTURE:
        return (st->strokes ? st->strokes / 50.0 : st->seconds) * 1.5 + st->pre_s + DEFAULT_SLACK_S;
    default:
        return DEFAULT_OP_TIMEOUT_S;
    }
}

enum rig_outcome runstep_exec_leaf(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section)
{
    if (e->skipping)
        return skip_leaf(e, st, section);
    struct leaf l = { .st = st, .outcome = OUTCOME_PASS };
    double t0 = now_s(e);
    double own = isfinite(st->timeout_s) ? st->timeout_s : default_timeout(st);
    l.deadline = fmin(deadline, t0 + own);
    e->leaf++;
    e->res->steps++;

    l.step = (struct rec_step){
        .index = e->leaf,
        .section = rec_dup(section),
        .path = rec_dup(st->path),
        .kind = st->kind,
        .name = st->name ? rec_dup(st->name) : NULL,
        .loop = e->loop,
        .attempt = e->attempt,
        .has_started = true,
    };
    wall(e, &l.step.started);
    if (!l.step.section || !l.step.path || (st->name && !l.step.name)) {
        rec_step_free(&l.step);
        snprintf(e->res->message, sizeof e->res->message, "out of memory");
        return OUTCOME_ERROR;
    }

    emit(e, &(struct run_event){
                .kind = RUN_EV_STEP_BEGIN,
                .u.begin = { .kind = st->kind, .path = st->path ? st->path : "", .name = st->name },
            });

    char err[200] = "";
    int rc;
    if (runstep_aborted(e) && !e->in_teardown) {
        leaf_fail(&l, OUTCOME_ABORTED, "aborted");
    } else {
        switch (st->kind) {
        case STEP_IDENTIFY:
            step_identify(e, &l);
            break;
        case STEP_CONFIGURE:
            step_configure(e, &l);
            break;
        case STEP_START:
            rc = do_start(e, err, sizeof err);
            leaf_op(e, &l, rc, "start", err);
            break;
        case STEP_STOP:
            rc = do_stop(e, err, sizeof err);
            leaf_op(e, &l, rc, "stop", err);
            break;
        case STEP_SETTLE:
            rc = sleep_until(e, st->seconds, l.deadline);
            leaf_op(e, &l, rc, "settle", "");
            break;
        case STEP_CAPTURE:
            step_capture(e, &l);
            break;
        case STEP_TARE:
            rc = runstep_tare(e, &l.step.tare, err, sizeof err);
            leaf_op(e, &l, rc, "tare", err);
            break;
        default:
            leaf_fail(&l, OUTCOME_ERROR, "not a leaf step");
            break;
        }
    }
    if (st->kind == STEP_CAPTURE || st->nevaluate)
        check_rig(e, &l);
    if (l.outcome == OUTCOME_PASS && now_s(e) > l.deadline)
        leaf_fail(&l, OUTCOME_TIMEOUT, "step took longer than its timeout");
    bool marginal = l.marginal && l.outcome == OUTCOME_PASS;

    l.step.setpoints = e->sp;
    l.step.duration_s = now_s(e) - t0;
    l.step.outcome = l.outcome;
    l.step.marginal = marginal;
    if (l.message[0])
        l.step.message = rec_dup(l.message);
    add_step(e, &l.step);

    emit(e, &(struct run_event){
                .kind = RUN_EV_STEP_END,
                .u.end = { .outcome = l.outcome,
                           .marginal = marginal,
                           .message = l.message[0] ? l.message : NULL },
            });
    write_record(e, false);
    return l.outcome;
}
