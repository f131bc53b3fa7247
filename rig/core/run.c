#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "measure.h"
#include "quantity.h"
#include "run_int.h"

/* Default step timeouts (seconds) when the file gives none: generous, the
 * point is to end a step the rig cannot finish, not to judge speed. */

#define DEFAULT_OP_TIMEOUT_S 10.0
/* Tare: the depth adjuster's settling, then a look at the needle tips
 * (also the window the sensor head averages: its last 10 ms). */
#define TARE_SETTLE_S 0.02
#define TARE_LOOK_S 0.012
#define TARE_RETRACTED_MM (-0.05)
#define DEFAULT_SLACK_S 10.0

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

void put_utc(const struct exec *e, cJSON *obj, const char *key)
{
    struct timespec ts;
    char buf[32];
    wall(e, &ts);
    record_utc(&ts, buf);
    cJSON_AddStringToObject(obj, key, buf);
}


static bool aborted(const struct exec *e)
{
    return e->ops->aborted && e->ops->aborted(e->ctx);
}

void note_message(struct exec *e, const char *fmt, ...)
{
    if (e->res->message[0])
        return;   /* keep the first reason */
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
static enum rig_outcome rc_outcome(int rc)
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

static void rc_message(int rc, const char *what, const char *err, char *out, size_t len)
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

/* The reason an aborted run gives: the front end's words when it has them. */
static void abort_message(const struct exec *e, char *out, size_t len)
{
    char why[200] = "";
    if (e->ops->abort_reason)
        e->ops->abort_reason(e->ctx, why, sizeof why);
    why[sizeof why - 1] = '\0';
    if (why[0])
        snprintf(out, len, "aborted: %s", why);
    else
        snprintf(out, len, "aborted by the operator");
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
    if (aborted(e))
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
    rc_message(rc, what, err, msg, sizeof msg);
    leaf_fail(l, rc_outcome(rc), msg);
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
    cJSON *m;
    cJSON_ArrayForEach(m, l->meas) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, "outcome");
        if (!cJSON_IsString(o) || strcmp(o->valuestring, "FAIL") != 0)
            continue;
        cJSON_ReplaceItemInObjectCaseSensitive(m, "outcome", cJSON_CreateString("ERROR"));
        cJSON_DeleteItemFromObjectCaseSensitive(m, "note");
        cJSON_AddStringToObject(m, "note", msg);
    }
    /* The rig's reason comes first: it explains the rest. */
    l->outcome = outcome_worse(l->outcome, OUTCOME_ERROR);
    snprintf(l->message, sizeof l->message, "%s", msg);
}

/* ---- measurements ----------------------------------------------------- */

static void evaluate(struct exec *e, struct leaf *l, const struct measure_src *v)
{
    for (size_t i = 0; i < l->st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, l->st->evaluate[i]);
        struct lim_eval ev;
        struct measure_value val;
        char why[160];
        cJSON *me = m ? measure_judge(m, v, &e->sp, &ev, why, sizeof why, &val) : NULL;
        if (!me) {
            leaf_fail(l, OUTCOME_ERROR, "measurement missing from spec or out of memory");
            continue;
        }
        cJSON_AddItemToArray(l->meas, me);
        if (ev.outcome != OUTCOME_PASS) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s %s: %s", m->name, outcome_str(ev.outcome), why);
            leaf_fail(l, ev.outcome, msg);
        }
        l->marginal |= ev.marginal;

        struct run_event event = {
            .kind = RUN_EV_MEASUREMENT,
            .u.measurement = {
                .name = m->name,
                .quantity = quantity_info(m->quantity)->name,
                .units = m->units ? m->units : "",
                .is_text = val.is_text,
                .value = val.number,
                .text = val.text,
                .comparison = m->limit.cmp,
                .low = ev.low,
                .high = ev.high,
                .limit = val.limit,
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
    cJSON *dut = cJSON_GetObjectItemCaseSensitive(e->rec, "dut");
    char fw[32];
    snprintf(fw, sizeof fw, "%u.%u.%u", id.fw_major, id.fw_minor, id.fw_patch);
    cJSON_DeleteItemFromObjectCaseSensitive(dut, "reported");
    cJSON *rep = cJSON_AddObjectToObject(dut, "reported");
    if (rep) {
        cJSON_AddStringToObject(rep, "model", id.model);
        cJSON_AddStringToObject(rep, "serial", id.serial);
        cJSON_AddNumberToObject(rep, "hw_revision", id.hw_revision);
        cJSON_AddStringToObject(rep, "firmware", fw);
        cJSON_AddStringToObject(rep, "cartridge_id", id.cartridge_id);
        cJSON_AddNumberToObject(rep, "needle_count", id.needle_count);
    }
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
        int rc = isfinite(hz) ? e->ops->pen_set_rate(e->ctx, (uint32_t)lround(hz * 1000), err, sizeof err)
                              : -EINVAL;
        leaf_op(e, l, rc, "set rate", err);
        if (rc == 0)
            e->sp.rate_hz = hz;
    }
    if (l->st->has_depth && l->outcome == OUTCOME_PASS) {
        double mm = resolve_setpoint(e, &l->st->depth_mm);
        int rc = isfinite(mm) ? e->ops->pen_set_depth(e->ctx, (uint16_t)lround(mm * 1000), err, sizeof err)
                              : -EINVAL;
        leaf_op(e, l, rc, "set depth", err);
        if (rc == 0)
            e->sp.depth_mm = mm;
    }
}

static int do_start(struct exec *e, char *err, size_t len)
{
    e->motor_on = true;   /* from now on a stop is owed whatever the answer */
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
static int do_tare(struct exec *e, cJSON *obj, char *err, size_t errlen)
{
    cJSON *t = cJSON_CreateObject();
    if (!t)
        return -ENOMEM;
    replace(obj, "tare", t);
    put_utc(e, t, "utc");
    if (!e->ops->sensor_tare) {
        cJSON_AddBoolToObject(t, "done", false);
        cJSON_AddStringToObject(t, "note", "the rig cannot tare");
        return 0;
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
    record_add_number(t, "needle_tip_mm", tip_mm);
    if (!(tip_mm < TARE_RETRACTED_MM)) {
        cJSON_AddBoolToObject(t, "done", false);
        cJSON_AddStringToObject(t, "note", isfinite(tip_mm)
                                               ? "the needle tips rest in the phantom: not tared"
                                               : "no displacement reading: not tared");
    } else {
        struct rig_tare tare;
        if ((rc = e->ops->sensor_tare(e->ctx, &tare, err, errlen)) != 0)
            return rc;
        cJSON_AddBoolToObject(t, "done", true);
        cJSON_AddNumberToObject(t, "offset_raw_un", tare.offset_raw_un);
        record_add_number(t, "zero_n", tare.zero_n);
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
        seconds = (st->strokes + 2) / e->sp.rate_hz;   /* 2 strokes of margin */
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
        if (want_status) {   /* current must be read while still running */
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
        .force_un = cap.force_un, .disp_nm = cap.disp_nm, .n = cap.n, .rate_hz = cap.rate_hz,
        .flags = cap.flags & AN_F_KNOWN, .start_index = -1, .stop_index = -1,
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
        leaf_fail(l, OUTCOME_ERROR, !in.strokes_out ? "out of memory"
                                    : cap.disp_nm ? an.error : "capture returned no samples");
        free(in.strokes_out);
        capture_free(&cap);
        return;
    }
    record_capture(e, l, &cap, &an, in.strokes_out, an.strokes < in.strokes_cap ? an.strokes
                                                                                 : in.strokes_cap,
                   in.start_index, in.stop_index);
    free(in.strokes_out);
    capture_free(&cap);
    if (l->outcome == OUTCOME_PASS) {   /* start/stop refused: nothing to judge */
        struct measure_src v = { .an = &an, .status = have_status ? &status : NULL,
                                 .status_error = status_err };
        evaluate(e, l, &v);
    }
}

static double default_timeout(const struct seq_step *st)
{
    switch (st->kind) {
    case STEP_SETTLE: return st->seconds * 1.5 + DEFAULT_SLACK_S;
    case STEP_CAPTURE:
        return (st->strokes ? st->strokes / 50.0 : st->seconds) * 1.5 + st->pre_s + DEFAULT_SLACK_S;
    default: return DEFAULT_OP_TIMEOUT_S;
    }
}


static enum rig_outcome exec_leaf(struct exec *e, const struct seq_step *st, double deadline,
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

    l.entry = cJSON_CreateObject();
    l.meas = cJSON_CreateArray();
    if (!l.entry || !l.meas) {
        cJSON_Delete(l.entry);
        cJSON_Delete(l.meas);
        snprintf(e->res->message, sizeof e->res->message, "out of memory");
        return OUTCOME_ERROR;
    }
    cJSON_AddNumberToObject(l.entry, "index", e->leaf);
    cJSON_AddStringToObject(l.entry, "section", section);
    cJSON_AddStringToObject(l.entry, "path", st->path ? st->path : "");
    cJSON_AddStringToObject(l.entry, "kind", step_kind_str(st->kind));
    if (st->name)
        cJSON_AddStringToObject(l.entry, "name", st->name);
    if (e->loop)
        cJSON_AddItemToObject(l.entry, "loop", cJSON_Duplicate(e->loop, true));
    if (e->attempt)
        cJSON_AddNumberToObject(l.entry, "attempt", e->attempt);
    put_utc(e, l.entry, "started_utc");

    emit(e, &(struct run_event){
                .kind = RUN_EV_STEP_BEGIN,
                .u.begin = { .kind = st->kind, .path = st->path ? st->path : "",
                             .name = st->name },
            });

    char err[200] = "";
    int rc;
    if (aborted(e) && !e->in_teardown) {
        leaf_fail(&l, OUTCOME_ABORTED, "aborted");
    } else {
        switch (st->kind) {
        case STEP_IDENTIFY: step_identify(e, &l); break;
        case STEP_CONFIGURE: step_configure(e, &l); break;
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
        case STEP_CAPTURE: step_capture(e, &l); break;
        case STEP_TARE:
            rc = do_tare(e, l.entry, err, sizeof err);
            leaf_op(e, &l, rc, "tare", err);
            break;
        default: leaf_fail(&l, OUTCOME_ERROR, "not a leaf step"); break;
        }
    }
    if (st->kind == STEP_CAPTURE || st->nevaluate)
        check_rig(e, &l);
    if (l.outcome == OUTCOME_PASS && now_s(e) > l.deadline)
        leaf_fail(&l, OUTCOME_TIMEOUT, "step took longer than its timeout");
    bool marginal = l.marginal && l.outcome == OUTCOME_PASS;

    add_setpoints(e, l.entry);
    cJSON_AddNumberToObject(l.entry, "duration_s", now_s(e) - t0);
    cJSON_AddStringToObject(l.entry, "outcome", outcome_str(l.outcome));
    cJSON_AddBoolToObject(l.entry, "marginal", marginal);
    if (l.message[0])
        cJSON_AddStringToObject(l.entry, "message", l.message);
    cJSON_AddItemToObject(l.entry, "measurements", l.meas);
    cJSON_AddItemToArray(e->steps, l.entry);

    emit(e, &(struct run_event){
                .kind = RUN_EV_STEP_END,
                .u.end = { .outcome = l.outcome, .marginal = marginal,
                           .message = l.message[0] ? l.message : NULL },
            });
    write_record(e, false);
    return l.outcome;
}

/* ---- groups ----------------------------------------------------------- */

static enum rig_outcome exec_list(struct exec *e, const struct seq_step *st, size_t n,
                                  double deadline, const char *section);

static bool halts(const struct exec *e, enum rig_outcome o)
{
    if (e->in_teardown)
        return false;   /* teardown always runs to the end */
    if (o == OUTCOME_ABORTED)
        return true;
    return e->cfg->seq->policy == POLICY_STOP_ON_FIRST_FAIL && o != OUTCOME_PASS &&
           o != OUTCOME_SKIPPED;
}

static void set_loop(struct exec *e, const char *key, double value)
{
    if (!e->loop)
        e->loop = cJSON_CreateObject();
    if (!e->loop)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(e->loop, key);
    cJSON_AddNumberToObject(e->loop, key, value);
}

static void restore_loop(struct exec *e, cJSON *saved)
{
    cJSON_Delete(e->loop);
    e->loop = saved;
}

static enum rig_outcome exec_sweep(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    double saved_rate = e->var_rate, saved_depth = e->var_depth;
    cJSON *saved_loop = e->loop ? cJSON_Duplicate(e->loop, true) : NULL;
    size_t nr = st->nrates ? st->nrates : 1, nd = st->ndepths ? st->ndepths : 1;
    /* Every point is walked: after a halt the rest are recorded SKIPPED. */
    for (size_t r = 0; r < nr; r++)
        for (size_t d = 0; d < nd; d++) {
            if (st->nrates) {
                e->var_rate = st->rates_hz[r];
                set_loop(e, "rate_hz", e->var_rate);
            }
            if (st->ndepths) {
                e->var_depth = st->depths_mm[d];
                set_loop(e, "depth_mm", e->var_depth);
            }
            agg = outcome_worse(agg, exec_list(e, st->body, st->nbody, deadline, section));
        }
    e->var_rate = saved_rate;
    e->var_depth = saved_depth;
    restore_loop(e, saved_loop);
    return agg;
}

static enum rig_outcome exec_repeat(struct exec *e, const struct seq_step *st, double deadline,
                                    const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    cJSON *saved_loop = e->loop ? cJSON_Duplicate(e->loop, true) : NULL;
    for (unsigned i = 0; i < st->count; i++) {
        set_loop(e, "repeat", i + 1);
        agg = outcome_worse(agg, exec_list(e, st->body, st->nbody, deadline, section));
    }
    restore_loop(e, saved_loop);
    return agg;
}

/* Mark the record entries of a failed attempt as superseded so summaries
 * count only the attempt that decided the group. */
static void supersede(struct exec *e, int from)
{
    int n = cJSON_GetArraySize(e->steps);
    for (int i = from; i < n; i++) {
        cJSON *s = cJSON_GetArrayItem(e->steps, i);
        if (s && !cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            cJSON_AddBoolToObject(s, "superseded", true);
    }
}

static enum rig_outcome exec_retry(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section)
{
    enum rig_outcome o = OUTCOME_SKIPPED;
    unsigned saved_attempt = e->attempt;
    bool skipping_before = e->skipping;
    for (unsigned a = 1; a <= st->count; a++) {
        int first = cJSON_GetArraySize(e->steps);
        e->attempt = a;
        o = exec_list(e, st->body, st->nbody, deadline, section);
        if (skipping_before || o == OUTCOME_PASS || o == OUTCOME_SKIPPED ||
            o == OUTCOME_ABORTED || aborted(e) || a == st->count)
            break;
        /* A failed attempt's halt does not skip the next attempt. */
        supersede(e, first);
        e->skipping = false;
        e->res->retries++;
    }
    e->attempt = saved_attempt;
    return o;
}

static enum rig_outcome exec_step(struct exec *e, const struct seq_step *st, double deadline,
                                  const char *section)
{
    if (isfinite(st->timeout_s) && st->nbody)
        deadline = fmin(deadline, now_s(e) + st->timeout_s);
    switch (st->kind) {
    case STEP_SWEEP: return exec_sweep(e, st, deadline, section);
    case STEP_REPEAT: return exec_repeat(e, st, deadline, section);
    case STEP_RETRY: return exec_retry(e, st, deadline, section);
    default: return exec_leaf(e, st, deadline, section);
    }
}

static enum rig_outcome exec_list(struct exec *e, const struct seq_step *st, size_t n,
                                  double deadline, const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    for (size_t i = 0; i < n; i++) {
        if (!e->in_teardown && !e->skipping && aborted(e)) {
            agg = outcome_worse(agg, OUTCOME_ABORTED);
            start_skipping(e, "the run was aborted");
        }
        enum rig_outcome o = exec_step(e, &st[i], deadline, section);
        agg = outcome_worse(agg, o);
        if (!e->skipping && halts(e, o))
            start_skipping(e, o == OUTCOME_ABORTED ? "the run was aborted"
                                                   : "an earlier step did not pass (stop-on-first-fail)");
    }
    return agg;
}

/* The scanned serial must be the serial the pen reports, before any test
 * step: a PASS is never filed under a unit that was not tested. */
static bool check_unit(struct exec *e)
{
    struct pen_identity id;
    char err[200] = "";
    memset(&id, 0, sizeof id);
    int rc = e->ops->pen_identify(e->ctx, &id, err, sizeof err);
    if (rc != 0) {
        char msg[256];
        rc_message(rc, "unit identity: identify", err, msg, sizeof msg);
        e->so_far = outcome_worse(e->so_far, rc_outcome(rc) == OUTCOME_ABORTED ? OUTCOME_ABORTED
                                                                               : OUTCOME_ERROR);
        note_message(e, "%s", msg);
        return false;
    }
    e->id = id;
    e->have_id = true;
    cJSON *dut = cJSON_GetObjectItemCaseSensitive(e->rec, "dut");
    cJSON_DeleteItemFromObjectCaseSensitive(dut, "reported_serial");
    cJSON_AddStringToObject(dut, "reported_serial", id.serial);
    if (strcmp(id.serial, e->cfg->dut_serial) != 0) {
        e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
        note_message(e, "unit identity: the pen in the fixture reports serial %s, not %s (the "
                     "serial the run was started for); nothing was tested", id.serial,
                     e->cfg->dut_serial);
        return false;
    }
    return true;
}

static bool ops_complete(const struct rig_ops *o)
{
    return o && o->pen_identify && o->pen_set_rate && o->pen_set_depth && o->pen_start &&
           o->pen_stop && o->pen_status && o->capture_begin && o->capture_mark &&
           o->capture_end && o->sleep;
}

static void final_stop(struct exec *e)
{
    if (!e->motor_on && e->so_far == OUTCOME_PASS)
        return;
    char err[200] = "";
    int rc = e->ops->pen_stop(e->ctx, err, sizeof err);
    cJSON *fs = cJSON_CreateObject();
    if (fs) {
        cJSON_AddBoolToObject(fs, "sent", true);
        cJSON_AddStringToObject(fs, "result", rc == 0 ? "confirmed" : (*err ? err : strerror(rc < 0 ? -rc : EIO)));
        replace(e->rec, "final_stop", fs);
    }
    if (rc == 0) {
        e->motor_on = false;
    } else {
        e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
        note_message(e, "final motor stop not confirmed: %s", *err ? err : "error");
    }
}

int run_execute(const struct run_config *cfg, const struct rig_ops *ops, void *ctx,
                struct run_result *result)
{
    if (!result)
        return -1;
    memset(result, 0, sizeof *result);
    result->outcome = OUTCOME_ERROR;
    if (!cfg || !cfg->seq || !cfg->seq->spec || !cfg->dut_serial || !*cfg->dut_serial ||
        !ops_complete(ops)) {
        snprintf(result->message, sizeof result->message,
                 "run needs a loaded sequence with its spec, a DUT serial and a complete ops table");
        return -1;
    }
    struct exec e = {
        .cfg = cfg, .ops = ops, .ctx = ctx, .spec = cfg->seq->spec, .res = result,
        .sp = { NAN, NAN }, .var_rate = NAN, .var_depth = NAN, .so_far = OUTCOME_SKIPPED,
    };
    if (cfg->run_id && cfg->run_id[0]) {
        if (strlen(cfg->run_id) >= sizeof result->record_id) {
            snprintf(result->message, sizeof result->message, "run id too long");
            return -1;
        }
        snprintf(result->record_id, sizeof result->record_id, "%s", cfg->run_id);
    } else if (record_uuid(result->record_id) < 0) {
        snprintf(result->message, sizeof result->message, "cannot generate a record id");
        return -1;
    }
    if (cfg->record_path) {
        size_t len = strlen(cfg->record_path);
        if (len >= 5 && strcmp(cfg->record_path + len - 5, ".json") == 0)
            len -= 5;
        if (len >= sizeof e.cap_stem) {
            snprintf(result->message, sizeof result->message, "record path too long");
            return -1;
        }
        memcpy(e.cap_stem, cfg->record_path, len);
        e.cap_stem[len] = '\0';
    }
    e.rec = new_record(&e);
    if (!e.rec) {
        snprintf(result->message, sizeof result->message, "out of memory");
        return -1;
    }
    e.leaf_total = (unsigned)sequence_leaf_count(cfg->seq);

    bool instruments_ok = check_instruments(&e) == OUTCOME_PASS;
    if (!instruments_ok)
        e.so_far = OUTCOME_ERROR;
    write_record(&e, false);
    if (result->record_error[0]) {
        snprintf(result->message, sizeof result->message, "cannot write the run record: %.200s",
                 result->record_error);
        cJSON_Delete(e.rec);
        return -1;
    }
    attach_definitions(&e);   /* (after the record exists: its directory does) */
    /* Nothing is tested on a pen that is not the unit the run is for. */
    bool unit_ok = instruments_ok && check_unit(&e);
    if (unit_ok) {
        /* Zero the force channel before every run (the load cell drifts). */
        char err[200] = "";
        int rc = do_tare(&e, e.rec, err, sizeof err);
        if (rc != 0) {
            char msg[256];
            rc_message(rc, "tare", err, msg, sizeof msg);
            e.so_far = outcome_worse(e.so_far, rc_outcome(rc) == OUTCOME_ABORTED ? OUTCOME_ABORTED
                                                                                 : OUTCOME_ERROR);
            note_message(&e, "%s", msg);
            start_skipping(&e, "the force channel could not be tared");
        }
    }
    if (!instruments_ok)
        start_skipping(&e, "an instrument cannot be used");
    else if (!unit_ok)
        start_skipping(&e, "the pen is not the unit this run is for");
    const struct rig_sequence *s = cfg->seq;
    enum rig_outcome o = exec_list(&e, s->setup, s->nsetup, INFINITY, "setup");
    e.so_far = outcome_worse(e.so_far, o);
    /* main needs a good setup, whatever the policy */
    if (!(o == OUTCOME_PASS || o == OUTCOME_SKIPPED))
        start_skipping(&e, "the setup did not pass");
    o = exec_list(&e, s->main, s->nmain, INFINITY, "main");
    e.so_far = outcome_worse(e.so_far, o);
    if (aborted(&e))
        e.so_far = OUTCOME_ABORTED;
    /* Teardown always runs -- on the unit the run started. */
    if (unit_ok) {
        e.skipping = false;
        e.in_teardown = true;
        o = exec_list(&e, s->teardown, s->nteardown, INFINITY, "teardown");
        if (e.so_far != OUTCOME_ABORTED)
            e.so_far = outcome_worse(e.so_far, o);
    } else {
        o = exec_list(&e, s->teardown, s->nteardown, INFINITY, "teardown");
    }
    if (e.so_far == OUTCOME_SKIPPED)
        e.so_far = OUTCOME_PASS;
    /* The run's message is its first cause: the first step that did not
     * pass, before anything the final stop or a late rig check adds. */
    const cJSON *bad = NULL;
    summarise(&e, &bad);
    if (bad && e.so_far != OUTCOME_PASS) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(bad, "path");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(bad, "kind");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(bad, "message");
        note_message(&e, "%s (%s): %s", cJSON_IsString(p) ? p->valuestring : "?",
                     cJSON_IsString(k) ? k->valuestring : "?",
                     cJSON_IsString(m) ? m->valuestring : "not PASS");
    }
    final_stop(&e);
    verify_attachments(&e);
    char why[200] = "";
    if (ops->rig_check && ops->rig_check(ctx, why, sizeof why)) {
        why[sizeof why - 1] = '\0';
        e.so_far = outcome_worse(e.so_far, OUTCOME_ERROR);
        note_message(&e, "rig problem: %s", why[0] ? why : "unspecified");
    }
    result->outcome = e.so_far;
    result->marginal = e.so_far == OUTCOME_PASS && result->marginals > 0;
    if (e.so_far == OUTCOME_ABORTED)
        abort_message(&e, result->message, sizeof result->message);
    replace(e.rec, "marginal", cJSON_CreateBool(result->marginal));
    struct timespec ts;
    char buf[32];
    wall(&e, &ts);
    record_utc(&ts, buf);
    replace(e.rec, "ended_utc", cJSON_CreateString(buf));
    if (result->message[0])
        replace(e.rec, "message", cJSON_CreateString(result->message));
    write_record(&e, true);
    result->outcome = e.so_far;
    cJSON_Delete(e.rec);
    cJSON_Delete(e.loop);
    return 0;
}
