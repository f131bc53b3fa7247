#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "caldate.h"
#include "quantity.h"
#include "version.h"

/* Default step timeouts (seconds) when the file gives none: generous, the
 * point is to end a step the rig cannot finish, not to judge speed. */

#define DEFAULT_OP_TIMEOUT_S 10.0
#define DEFAULT_SLACK_S 10.0

struct exec {
    const struct run_config *cfg;
    const struct rig_ops *ops;
    void *ctx;
    const struct rig_spec *spec;
    struct run_result *res;
    cJSON *rec, *steps;
    struct lim_setpoints sp;          /* as last configured */
    double var_rate, var_depth;       /* sweep variables, NaN outside */
    cJSON *loop;                      /* sweep/repeat/retry context of the leaf */
    bool motor_on, in_teardown;
    /* Skip mode: the rest of setup/main is not run (stop-on-first-fail, a
     * failed setup or unit check, an abort) but still walked, so the record
     * lists every planned step and measurement as SKIPPED with why. */
    bool skipping;
    char skip_reason[128];
    bool record_created;              /* first write done (never overwrites) */
    unsigned leaf, leaf_total, captures, attempt;
    enum rig_outcome so_far;
    char cap_stem[4096];
};

/* ---- small helpers ---------------------------------------------------- */

static double now_s(const struct exec *e)
{
    if (e->ops->now)
        return e->ops->now(e->ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wall(const struct exec *e, struct timespec *ts)
{
    if (e->ops->wall)
        e->ops->wall(e->ctx, ts);
    else
        clock_gettime(CLOCK_REALTIME, ts);
}

static void put_utc(const struct exec *e, cJSON *obj, const char *key)
{
    struct timespec ts;
    char buf[32];
    wall(e, &ts);
    record_utc(&ts, buf);
    cJSON_AddStringToObject(obj, key, buf);
}

static void put_number_or_null(cJSON *obj, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

static bool aborted(const struct exec *e)
{
    return e->ops->aborted && e->ops->aborted(e->ctx);
}

static void note_message(struct exec *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_message(struct exec *e, const char *fmt, ...)
{
    if (e->res->message[0])
        return;   /* keep the first reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->res->message, sizeof e->res->message, fmt, ap);
    va_end(ap);
}

static void emit(struct exec *e, cJSON *ev)
{
    if (ev && e->ops->emit)
        e->ops->emit(e->ctx, ev);
    cJSON_Delete(ev);
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

struct leaf {
    const struct seq_step *st;
    cJSON *entry, *meas;
    enum rig_outcome outcome;
    bool marginal;
    char message[256];
    double deadline;
};

static void leaf_fail(struct leaf *l, enum rig_outcome o, const char *msg)
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

static void add_setpoints(const struct exec *e, cJSON *entry)
{
    cJSON *sp = cJSON_AddObjectToObject(entry, "setpoints");
    if (!sp)
        return;
    put_number_or_null(sp, "rate_hz", e->sp.rate_hz);
    put_number_or_null(sp, "depth_mm", e->sp.depth_mm);
}

/* ---- measurements ----------------------------------------------------- */

struct values {
    const struct an_result *an;       /* NULL outside captures */
    const struct pen_status *status;  /* NULL if not read */
    const char *status_error;         /* why status is missing */
    const struct pen_identity *id;    /* identify step */
};

/* Numeric value of q, or NaN with outcome hint/note when not measurable. */
static double numeric_value(const struct exec *e, enum rig_quantity q, const struct values *v,
                            enum rig_outcome *hint, char *note, size_t len)
{
    const struct an_result *a = v->an;
    *hint = OUTCOME_PASS;
    if (quantity_info(q)->source == QS_IDENTITY) {
        if (q == Q_HW_REVISION)
            return v->id->hw_revision;
        return v->id->needle_count;
    }
    if (quantity_info(q)->source == QS_STATUS) {
        if (!v->status) {
            *hint = OUTCOME_ERROR;
            snprintf(note, len, "pen status not available: %s", v->status_error);
            return NAN;
        }
        return q == Q_MOTOR_CURRENT_A ? v->status->motor_current_ma / 1000.0
                                      : v->status->supply_mv / 1000.0;
    }
    if (a->error[0]) {
        *hint = OUTCOME_ERROR;
        snprintf(note, len, "%s", a->error);
    }
    double x = NAN;
    switch (q) {
    case Q_STROKE_COUNT: x = (double)a->strokes; break;
    case Q_STROKE_RATE_HZ:
        x = a->rate_hz;
        if (a->stalled_ms > 0 && *hint == OUTCOME_PASS)
            snprintf(note, len, "no strokes in the last %.0f ms of the capture", a->stalled_ms);
        break;
    case Q_RATE_ERROR_PCT:
        x = isfinite(e->sp.rate_hz) ? (a->rate_hz - e->sp.rate_hz) / e->sp.rate_hz * 100 : NAN;
        break;
    case Q_JITTER_PCT: x = a->jitter_pct; break;
    case Q_DEPTH_MEAN_MM: x = a->depth_mean_mm; break;
    case Q_DEPTH_MIN_MM: x = a->depth_min_mm; break;
    case Q_DEPTH_MAX_MM: x = a->depth_max_mm; break;
    case Q_DEPTH_STD_MM: x = a->depth_std_mm; break;
    case Q_DEPTH_ERROR_MM: x = a->depth_error_mm; break;
    case Q_FORCE_MEAN_N: x = a->force_mean_n; break;
    case Q_FORCE_MIN_N: x = a->force_min_n; break;
    case Q_FORCE_MAX_N: x = a->force_max_n; break;
    case Q_SPINUP_MS:
        x = a->spinup_ms;
        if (!a->spinup_reached && *hint == OUTCOME_PASS)
            snprintf(note, len, "rate never came within 5 %% of the setpoint");
        break;
    case Q_STOP_MS: x = a->stop_ms; break;
    default: break;
    }
    /* No strokes is the pen's failure, not the rig's: the sensor saw a
     * target and the needle did not move. */
    if (!isfinite(x) && *hint == OUTCOME_PASS && a->steady_strokes < 3 &&
        q != Q_RATE_ERROR_PCT) {
        *hint = OUTCOME_FAIL;
        snprintf(note, len, "too few strokes to measure (%zu detected)", a->strokes);
    }
    return x;
}

static const char *string_value(enum rig_quantity q, const struct pen_identity *id, char *buf,
                                size_t len)
{
    switch (q) {
    case Q_FIRMWARE_VERSION:
        snprintf(buf, len, "%u.%u.%u", id->fw_major, id->fw_minor, id->fw_patch);
        return buf;
    case Q_PEN_MODEL: return id->model;
    case Q_CARTRIDGE_ID: return id->cartridge_id;
    default: return "";
    }
}

static void evaluate(struct exec *e, struct leaf *l, const struct values *v)
{
    for (size_t i = 0; i < l->st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, l->st->evaluate[i]);
        cJSON *me = cJSON_CreateObject();
        if (!m || !me) {
            cJSON_Delete(me);
            leaf_fail(l, OUTCOME_ERROR, "measurement missing from spec or out of memory");
            continue;
        }
        const struct quantity_info *qi = quantity_info(m->quantity);
        struct lim_eval ev;
        char note[160] = "", sbuf[32];
        cJSON_AddStringToObject(me, "name", m->name);
        cJSON_AddStringToObject(me, "quantity", qi->name);
        if (qi->is_string) {
            const char *s = string_value(m->quantity, v->id, sbuf, sizeof sbuf);
            cJSON_AddStringToObject(me, "value", s);
            limit_eval_string(&m->limit, s, &ev);
        } else {
            enum rig_outcome hint;
            double x = numeric_value(e, m->quantity, v, &hint, note, sizeof note);
            put_number_or_null(me, "value", x);
            limit_eval_number(&m->limit, &e->sp, x, &ev);
            if (hint != OUTCOME_PASS) {
                ev.outcome = hint;
                ev.marginal = false;
            }
        }
        cJSON_AddStringToObject(me, "units", m->units ? m->units : "");
        cJSON_AddStringToObject(me, "comparison", lim_cmp_str(m->limit.cmp));
        if (qi->is_string) {
            cJSON_AddStringToObject(me, m->limit.cmp == LIM_MATCH ? "pattern" : "expected",
                                    m->limit.text ? m->limit.text : "");
        } else {
            put_number_or_null(me, "low", ev.low);
            if (lim_cmp_arity(m->limit.cmp) == 2)
                put_number_or_null(me, "high", ev.high);
        }
        char desc[128];
        limit_describe(&m->limit, &ev, desc, sizeof desc);
        cJSON_AddStringToObject(me, "limit", desc);
        cJSON_AddStringToObject(me, "outcome", outcome_str(ev.outcome));
        cJSON_AddBoolToObject(me, "marginal", ev.marginal);
        const char *why = note[0] ? note : ev.note;
        if (why[0])
            cJSON_AddStringToObject(me, "note", why);
        cJSON_AddItemToArray(l->meas, me);

        if (ev.outcome != OUTCOME_PASS) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s %s: %s", m->name, outcome_str(ev.outcome), why);
            leaf_fail(l, ev.outcome, msg);
        }
        l->marginal |= ev.marginal;

        cJSON *event = cJSON_CreateObject();
        if (event) {
            cJSON_AddStringToObject(event, "class", "measurement");
            cJSON_AddStringToObject(event, "run", e->res->record_id);
            cJSON_AddNumberToObject(event, "step", e->leaf);
            cJSON_AddItemReferenceToObject(event, "measurement", me);
            emit(e, event);
        }
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
    struct values v = { .id = &id };
    evaluate(e, l, &v);
}

static double resolve_setpoint(const struct exec *e, const struct lim_value *v)
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

static void record_capture(struct exec *e, struct leaf *l, const struct rig_capture *cap,
                           const struct an_result *an)
{
    cJSON *c = cJSON_AddObjectToObject(l->entry, "capture");
    if (!c)
        return;
    cJSON_AddNumberToObject(c, "samples", (double)cap->n);
    cJSON_AddNumberToObject(c, "rate_hz", cap->rate_hz);
    cJSON_AddNumberToObject(c, "first_sample", (double)cap->first_sample);
    cJSON *flags = cJSON_AddArrayToObject(c, "flags");
    static const char *const names[] = { "sample_loss", "overrun", "no_target", "out_of_range",
                                         "disconnect" };
    for (unsigned b = 0; b < 5 && flags; b++)
        if (an->flags & (1u << b))
            cJSON_AddItemToArray(flags, cJSON_CreateString(names[b]));
    if (an->error[0])
        cJSON_AddStringToObject(c, "error", an->error);
    cJSON *a = cJSON_AddObjectToObject(c, "analysis");
    if (a) {
        cJSON_AddNumberToObject(a, "strokes", (double)an->strokes);
        cJSON_AddNumberToObject(a, "steady_strokes", (double)an->steady_strokes);
        put_number_or_null(a, "stroke_rate_hz", an->rate_hz);
        put_number_or_null(a, "jitter_pct", an->jitter_pct);
        put_number_or_null(a, "depth_mean_mm", an->depth_mean_mm);
        put_number_or_null(a, "depth_min_mm", an->depth_min_mm);
        put_number_or_null(a, "depth_max_mm", an->depth_max_mm);
        put_number_or_null(a, "depth_std_mm", an->depth_std_mm);
        put_number_or_null(a, "peak_force_mean_n", an->force_mean_n);
        put_number_or_null(a, "peak_force_min_n", an->force_min_n);
        put_number_or_null(a, "peak_force_max_n", an->force_max_n);
        put_number_or_null(a, "spinup_ms", an->spinup_ms);
        put_number_or_null(a, "stop_ms", an->stop_ms);
        put_number_or_null(a, "swing_mm", an->swing_mm);
        cJSON_AddNumberToObject(a, "stalled_ms", an->stalled_ms);
    }
    if (!e->cfg->record_path || e->cfg->no_captures)
        return;
    char path[4200], sha[DIGEST_HEX_LEN + 1], err[256];
    snprintf(path, sizeof path, "%s.cap%u.bin", e->cap_stem, ++e->captures);
    if (capture_write_flags(path, cap, AW_NO_REPLACE | AW_RECREATE_DIR, sha, err, sizeof err) < 0) {
        snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
        leaf_fail(l, OUTCOME_ERROR, err);
        return;
    }
    const char *base = strrchr(path, '/');
    cJSON_AddStringToObject(c, "file", base ? base + 1 : path);
    cJSON_AddStringToObject(c, "sha256", sha);
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
    if (!cap.disp_nm || an_analyse(&in, &an) < 0) {
        leaf_fail(l, OUTCOME_ERROR, cap.disp_nm ? an.error : "capture returned no samples");
        capture_free(&cap);
        return;
    }
    record_capture(e, l, &cap, &an);
    capture_free(&cap);
    if (l->outcome == OUTCOME_PASS) {   /* start/stop refused: nothing to judge */
        struct values v = { .an = &an, .status = have_status ? &status : NULL,
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

static void write_record(struct exec *e, bool complete);

static void start_skipping(struct exec *e, const char *why)
{
    if (e->skipping || e->in_teardown)
        return;
    e->skipping = true;
    snprintf(e->skip_reason, sizeof e->skip_reason, "%s", why);
}

/* A leaf the run does not execute: its entry, and its measurements with
 * their limits, all SKIPPED. A configure still moves the setpoints so
 * later skipped measurements show the limits they would have had. */
static enum rig_outcome skip_leaf(struct exec *e, const struct seq_step *st, const char *section)
{
    if (st->kind == STEP_CONFIGURE) {
        if (st->has_rate)
            e->sp.rate_hz = resolve_setpoint(e, &st->rate_hz);
        if (st->has_depth)
            e->sp.depth_mm = resolve_setpoint(e, &st->depth_mm);
    }
    cJSON *entry = cJSON_CreateObject(), *meas = cJSON_CreateArray();
    if (!entry || !meas) {
        cJSON_Delete(entry);
        cJSON_Delete(meas);
        return OUTCOME_SKIPPED;
    }
    cJSON_AddStringToObject(entry, "section", section);
    cJSON_AddStringToObject(entry, "path", st->path ? st->path : "");
    cJSON_AddStringToObject(entry, "kind", step_kind_str(st->kind));
    if (st->name)
        cJSON_AddStringToObject(entry, "name", st->name);
    if (e->loop)
        cJSON_AddItemToObject(entry, "loop", cJSON_Duplicate(e->loop, true));
    if (e->attempt)
        cJSON_AddNumberToObject(entry, "attempt", e->attempt);
    add_setpoints(e, entry);
    cJSON_AddStringToObject(entry, "outcome", "SKIPPED");
    char msg[160];
    snprintf(msg, sizeof msg, "not run: %s", e->skip_reason);
    cJSON_AddStringToObject(entry, "message", msg);
    for (size_t i = 0; i < st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, st->evaluate[i]);
        cJSON *me = cJSON_CreateObject();
        if (!m || !me) {
            cJSON_Delete(me);
            continue;
        }
        cJSON_AddStringToObject(me, "name", m->name);
        cJSON_AddStringToObject(me, "quantity", quantity_info(m->quantity)->name);
        cJSON_AddNullToObject(me, "value");
        cJSON_AddStringToObject(me, "units", m->units ? m->units : "");
        cJSON_AddStringToObject(me, "comparison", lim_cmp_str(m->limit.cmp));
        if (!quantity_info(m->quantity)->is_string) {
            struct lim_eval ev;
            limit_eval_number(&m->limit, &e->sp, NAN, &ev);
            put_number_or_null(me, "low", ev.low);
            if (lim_cmp_arity(m->limit.cmp) == 2)
                put_number_or_null(me, "high", ev.high);
            char desc[128];
            limit_describe(&m->limit, &ev, desc, sizeof desc);
            cJSON_AddStringToObject(me, "limit", desc);
        }
        cJSON_AddStringToObject(me, "outcome", "SKIPPED");
        cJSON_AddBoolToObject(me, "marginal", false);
        cJSON_AddStringToObject(me, "note", msg);
        cJSON_AddItemToArray(meas, me);
    }
    cJSON_AddItemToObject(entry, "measurements", meas);
    cJSON_AddItemToArray(e->steps, entry);
    return OUTCOME_SKIPPED;
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

    cJSON *ev = cJSON_CreateObject();
    if (ev) {
        cJSON_AddStringToObject(ev, "class", "progress");
        cJSON_AddStringToObject(ev, "run", e->res->record_id);
        cJSON_AddNumberToObject(ev, "step", e->leaf);
        cJSON_AddNumberToObject(ev, "total", e->leaf_total);
        cJSON_AddStringToObject(ev, "kind", step_kind_str(st->kind));
        cJSON_AddStringToObject(ev, "path", st->path ? st->path : "");
        if (st->name)
            cJSON_AddStringToObject(ev, "name", st->name);
        cJSON_AddStringToObject(ev, "state", "begin");
        emit(e, ev);
    }

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

    ev = cJSON_CreateObject();
    if (ev) {
        cJSON_AddStringToObject(ev, "class", "progress");
        cJSON_AddStringToObject(ev, "run", e->res->record_id);
        cJSON_AddNumberToObject(ev, "step", e->leaf);
        cJSON_AddNumberToObject(ev, "total", e->leaf_total);
        cJSON_AddStringToObject(ev, "state", "end");
        cJSON_AddStringToObject(ev, "outcome", outcome_str(l.outcome));
        cJSON_AddBoolToObject(ev, "marginal", marginal);
        if (l.message[0])
            cJSON_AddStringToObject(ev, "message", l.message);
        emit(e, ev);
    }
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

/* ---- the record ------------------------------------------------------- */

/* Counts over the steps that decide the run (not superseded attempts);
 * returns their most severe outcome and, in first_bad, the first of them
 * that did not pass. */
static enum rig_outcome summarise(struct exec *e, const cJSON **first_bad)
{
    struct run_result *r = e->res;
    r->measurements = r->passed = r->failed = r->errors = r->marginals = 0;
    enum rig_outcome worst = OUTCOME_SKIPPED;
    if (first_bad)
        *first_bad = NULL;
    cJSON *s;
    cJSON_ArrayForEach(s, e->steps) {
        if (cJSON_GetObjectItemCaseSensitive(s, "superseded"))
            continue;
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(s, "outcome");
        int sov = cJSON_IsString(so) ? outcome_from_str(so->valuestring) : OUTCOME_ERROR;
        if (sov < 0)
            sov = OUTCOME_ERROR;
        worst = outcome_worse(worst, (enum rig_outcome)sov);
        if (first_bad && !*first_bad && sov != OUTCOME_PASS && sov != OUTCOME_SKIPPED)
            *first_bad = s;
        cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s, "measurements")) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, "outcome");
            int oc = cJSON_IsString(o) ? outcome_from_str(o->valuestring) : OUTCOME_ERROR;
            if (oc == OUTCOME_SKIPPED)
                continue;       /* planned, not run: listed, not counted */
            r->measurements++;
            r->passed += oc == OUTCOME_PASS;
            r->failed += oc == OUTCOME_FAIL;
            r->errors += oc == OUTCOME_ERROR || oc == OUTCOME_TIMEOUT;
            r->marginals += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "marginal"));
        }
    }
    return worst;
}

static void replace(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

static void write_record(struct exec *e, bool complete)
{
    enum rig_outcome now = outcome_worse(e->so_far, summarise(e, NULL));
    replace(e->rec, "complete", cJSON_CreateBool(complete));
    /* An unfinished run has no verdict: a record left behind by a crash or
     * a full disk must never read PASS. */
    replace(e->rec, "outcome", complete ? cJSON_CreateString(outcome_str(now == OUTCOME_SKIPPED
                                                                          ? OUTCOME_PASS : now))
                                        : cJSON_CreateNull());
    replace(e->rec, "retries", cJSON_CreateNumber(e->res->retries));
    cJSON *sum = cJSON_CreateObject();
    if (sum) {
        cJSON_AddNumberToObject(sum, "steps", e->res->steps);
        cJSON_AddNumberToObject(sum, "measurements", e->res->measurements);
        cJSON_AddNumberToObject(sum, "pass", e->res->passed);
        cJSON_AddNumberToObject(sum, "fail", e->res->failed);
        cJSON_AddNumberToObject(sum, "error", e->res->errors);
        cJSON_AddNumberToObject(sum, "marginal", e->res->marginals);
        replace(e->rec, "summary", sum);
    }
    if (e->ops->rig_actions) {
        cJSON *acts = e->ops->rig_actions(e->ctx);
        if (acts)
            replace(e->rec, "rig_actions", acts);
    }
    if (!e->cfg->record_path)
        return;
    char err[256];
    /* The first write creates the record and never replaces a file that
     * exists; later ones replace our own and recreate a vanished directory. */
    unsigned flags = e->record_created ? AW_RECREATE_DIR : AW_NO_REPLACE;
    if (record_write_flags(e->cfg->record_path, e->rec, flags, err, sizeof err) == 0) {
        e->record_created = true;
    } else {
        snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
        e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
        note_message(e, "run record: %s", err);
    }
}

static cJSON *new_record(struct exec *e)
{
    const struct run_config *c = e->cfg;
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return NULL;
    cJSON_AddStringToObject(r, "format", RECORD_FORMAT);
    cJSON_AddStringToObject(r, "id", e->res->record_id);
    cJSON_AddBoolToObject(r, "complete", false);
    cJSON_AddStringToObject(r, "outcome", "PASS");
    cJSON_AddBoolToObject(r, "marginal", false);
    cJSON *dut = cJSON_AddObjectToObject(r, "dut");
    if (dut)
        cJSON_AddStringToObject(dut, "serial", c->dut_serial);
    cJSON *sw = cJSON_AddObjectToObject(r, "software");
    if (sw) {
        cJSON_AddStringToObject(sw, "name", "rig");
        cJSON_AddStringToObject(sw, "version", rig_version());
        cJSON_AddStringToObject(sw, "vcs", rig_vcs());
        cJSON_AddBoolToObject(sw, "dirty", rig_vcs_dirty());
    }
    cJSON_AddStringToObject(r, "operator", c->operator_name ? c->operator_name : "");
    cJSON_AddStringToObject(r, "station", c->station_id ? c->station_id : "");
    cJSON *seq = cJSON_AddObjectToObject(r, "sequence");
    if (seq) {
        cJSON_AddStringToObject(seq, "file", c->seq->file ? c->seq->file : "");
        cJSON_AddStringToObject(seq, "name", c->seq->name ? c->seq->name : "");
        cJSON_AddStringToObject(seq, "sha256", c->seq->sha256);
        cJSON_AddStringToObject(seq, "policy", c->seq->policy == POLICY_CONTINUE
                                                   ? "continue" : "stop-on-first-fail");
    }
    cJSON *sp = cJSON_AddObjectToObject(r, "spec");
    if (sp) {
        const struct rig_spec *s = e->spec;
        cJSON_AddStringToObject(sp, "file", s->file ? s->file : "");
        cJSON_AddStringToObject(sp, "name", s->name ? s->name : "");
        cJSON_AddStringToObject(sp, "version", s->version ? s->version : "");
        cJSON_AddStringToObject(sp, "sha256", s->sha256);
    }
    cJSON_AddArrayToObject(r, "instruments");
    put_utc(e, r, "started_utc");
    cJSON_AddNullToObject(r, "ended_utc");
    cJSON_AddNumberToObject(r, "retries", 0);
    e->steps = cJSON_AddArrayToObject(r, "steps");
    if (!e->steps) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* Record the instruments and refuse any whose calibration is overdue. */
static enum rig_outcome check_instruments(struct exec *e)
{
    if (!e->ops->instruments)
        return OUTCOME_PASS;
    struct rig_instrument ins[RIG_MAX_INSTRUMENTS];
    char err[200] = "";
    memset(ins, 0, sizeof ins);
    int n = e->ops->instruments(e->ctx, ins, RIG_MAX_INSTRUMENTS, err, sizeof err);
    if (n < 0) {
        note_message(e, "cannot read the station's instruments: %s", *err ? err : strerror(-n));
        return OUTCOME_ERROR;
    }
    if (n > RIG_MAX_INSTRUMENTS)
        n = RIG_MAX_INSTRUMENTS;
    struct timespec ts;
    wall(e, &ts);
    uint32_t today = caldate_utc(ts.tv_sec);
    enum rig_outcome o = OUTCOME_PASS;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(e->rec, "instruments");
    for (int i = 0; i < n; i++) {
        char cal[11], due[11];
        record_date(ins[i].cal_date, cal);
        record_date(ins[i].cal_due, due);
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddStringToObject(j, "role", ins[i].role);
            cJSON_AddStringToObject(j, "model", ins[i].model);
            cJSON_AddStringToObject(j, "serial", ins[i].serial);
            cJSON_AddStringToObject(j, "firmware", ins[i].firmware);
            cJSON_AddStringToObject(j, "cal_date", cal);
            cJSON_AddStringToObject(j, "cal_due", due);
            cJSON_AddStringToObject(j, "certificate", ins[i].certificate);
            cJSON_AddItemToArray(arr, j);
        }
        if (caldate_overdue(ins[i].cal_due, today)) {
            char today_s[11];
            record_date(today, today_s);
            note_message(e, "%s %s (serial %s): calibration was due %s (today is %s); "
                         "recalibrate it before testing", ins[i].role, ins[i].model,
                         ins[i].serial, due, today_s);
            o = OUTCOME_ERROR;
        }
    }
    return o;
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

/* Every capture the record names must still be on disk as written: a
 * run whose evidence is gone cannot PASS. */
static void verify_attachments(struct exec *e)
{
    if (!e->cfg->record_path || e->cfg->no_captures)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", e->cfg->record_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    const cJSON *st;
    cJSON_ArrayForEach(st, e->steps) {
        const cJSON *cap = cJSON_GetObjectItemCaseSensitive(st, "capture");
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(cap, "file");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(cap, "sha256");
        if (!cJSON_IsString(file) || !cJSON_IsString(sha))
            continue;
        char path[4400], got[DIGEST_HEX_LEN + 1];
        snprintf(path, sizeof path, "%s%s", dir, file->valuestring);
        if (digest_sha256_file(path, got) < 0 || strcmp(got, sha->valuestring) != 0) {
            e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
            snprintf(e->res->record_error, sizeof e->res->record_error,
                     "capture attachment %s is missing or changed", file->valuestring);
            note_message(e, "run record: capture attachment %s is missing or changed",
                         file->valuestring);
        }
    }
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
    /* Nothing is tested on a pen that is not the unit the run is for. */
    bool unit_ok = instruments_ok && check_unit(&e);
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
