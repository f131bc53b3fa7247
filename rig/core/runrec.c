/* The run record the executor fills (docs/RECORD.md): its skeleton, the
 * instruments, captures and their attachments (kept by the sinks), skipped
 * steps, summaries, and handing each version to the sinks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/caldate.h"
#include "core/quantity.h"
#include "core/run_int.h"
#include "version/version.h"

char *rec_dup(const char *s)
{
    return strdup(s ? s : "");
}

/* Keep an attachment with every sink that keeps attachments; *out is the
 * first sink's name and hash. 0, or -errno with the message in err (the
 * record error). */
static int attach_all(struct exec *e, const char *suffix, const void *buf, size_t len,
                      const struct rig_capture *cap, unsigned flags, struct rec_attachment *out,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < e->nsinks; i++) {
        const struct rec_sink *k = &e->sinks[i];
        struct rec_attachment a = { 0 };
        int rc = 0;
        if (cap && k->ops->attach_capture)
            rc = k->ops->attach_capture(k->impl, suffix, cap, &a, err, errlen);
        else if (!cap && k->ops->attach)
            rc = k->ops->attach(k->impl, suffix, buf, len, flags, &a, err, errlen);
        if (rc < 0) {
            free(a.name);
            snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
            return rc;
        }
        if (a.name && !out->name)
            *out = a;
        else
            free(a.name);
    }
    return 0;
}

void record_capture(struct exec *e, struct leaf *l, const struct rig_capture *cap,
                    const struct an_result *an, const struct an_stroke *strokes, size_t nstrokes,
                    int64_t start_index, int64_t stop_index)
{
    struct rec_capture *c = calloc(1, sizeof *c);
    if (!c) {
        leaf_fail(l, OUTCOME_ERROR, "out of memory");
        return;
    }
    l->step.capture = c;
    c->samples = cap->n;
    c->rate_hz = cap->rate_hz;
    c->first_sample = cap->first_sample;
    /* the commands' samples in the capture (-1: none), for recomputing */
    c->start_index = start_index;
    c->stop_index = stop_index;
    c->analysis = *an;
    if (!e->nsinks || e->cfg->no_captures)
        return;
    char suffix[32], err[256];
    unsigned n = ++e->captures;
    snprintf(suffix, sizeof suffix, "cap%u.bin", n);
    if (attach_all(e, suffix, NULL, 0, cap, 0, &c->data, err, sizeof err) < 0) {
        leaf_fail(l, OUTCOME_ERROR, err);
        return;
    }
    char *csv = strokes_csv(strokes, nstrokes, cap->rate_hz);
    snprintf(suffix, sizeof suffix, "cap%u.strokes.csv", n);
    if (!csv)
        leaf_fail(l, OUTCOME_ERROR, "out of memory writing per-stroke values");
    else if (attach_all(e, suffix, csv, strlen(csv), NULL, 0, &c->strokes, err, sizeof err) < 0)
        leaf_fail(l, OUTCOME_ERROR, err);
    free(csv);
}

/* The sequence and spec the run used, as attachments by hash: the bytes
 * that were parsed and hashed, whoever read them (rigctl, or rigd from a
 * sequence directory), never the files again. */
void attach_definitions(struct exec *e)
{
    const struct run_config *c = e->cfg;
    struct {
        const char *text;
        size_t len;
        struct rec_attachment *out;
        const char *suffix;
    } defs[] = {
        { c->seq->text, c->seq->text_len, &e->rec.sequence.attachment, "sequence.json" },
        { c->seq->spec ? c->seq->spec->text : NULL, c->seq->spec ? c->seq->spec->text_len : 0,
          &e->rec.spec.attachment, "spec.json" },
    };
    for (size_t i = 0; i < 2; i++) {
        char err[256];
        /* before the first record: a results directory that does not
         * exist refuses the run, it is not created here */
        if (defs[i].text && attach_all(e, defs[i].suffix, defs[i].text, defs[i].len, NULL,
                                       REC_ATTACH_NO_DIR, defs[i].out, err, sizeof err) < 0)
            note_message(e, "run record: %s", err);
    }
}

void start_skipping(struct exec *e, const char *why)
{
    if (e->skipping || e->in_teardown)
        return;
    e->skipping = true;
    snprintf(e->skip_reason, sizeof e->skip_reason, "%s", why);
}

/* A leaf the run does not execute: its entry, and its measurements with
 * their limits, all SKIPPED. A configure still moves the setpoints so
 * later skipped measurements show the limits they would have had. */
enum rig_outcome skip_leaf(struct exec *e, const struct seq_step *st, const char *section)
{
    if (st->kind == STEP_CONFIGURE) {
        if (st->has_rate)
            e->sp.rate_hz = resolve_setpoint(e, &st->rate_hz);
        if (st->has_depth)
            e->sp.depth_mm = resolve_setpoint(e, &st->depth_mm);
    }
    char msg[160];
    snprintf(msg, sizeof msg, "not run: %s", e->skip_reason);
    struct rec_step s = {
        .section = rec_dup(section),
        .path = rec_dup(st->path),
        .kind = st->kind,
        .name = st->name ? rec_dup(st->name) : NULL,
        .loop = e->loop,
        .attempt = e->attempt,
        .setpoints = e->sp,
        .duration_s = NAN,
        .outcome = OUTCOME_SKIPPED,
        .message = rec_dup(msg),
        .meas = st->nevaluate ? calloc(st->nevaluate, sizeof *s.meas) : NULL,
    };
    for (size_t i = 0; s.meas && i < st->nevaluate; i++) {
        const struct spec_measurement *m = spec_find(e->spec, st->evaluate[i]);
        if (!m)
            continue;
        const struct quantity_info *qi = quantity_info(m->quantity);
        struct rec_measurement *me = &s.meas[s.nmeas++];
        me->name = rec_dup(m->name);
        me->quantity = rec_dup(qi->name);
        me->is_text = qi->is_string;
        me->value = me->low = me->high = NAN;
        me->units = rec_dup(m->units);
        me->comparison = m->limit.cmp;
        if (!qi->is_string) {
            struct lim_eval ev;
            limit_eval_number(&m->limit, &e->sp, NAN, &ev);
            me->low = ev.low;
            me->high = ev.high;
            char desc[128];
            limit_describe(&m->limit, &ev, desc, sizeof desc);
            me->limit = rec_dup(desc);
        }
        me->outcome = OUTCOME_SKIPPED;
        me->note = rec_dup(msg);
    }
    add_step(e, &s);
    return OUTCOME_SKIPPED;
}

/* ---- the record ------------------------------------------------------- */

void add_step(struct exec *e, struct rec_step *step)
{
    struct rec_run *r = &e->rec;
    if (r->nsteps == r->steps_cap) {
        size_t cap = r->steps_cap ? r->steps_cap * 2 : 16;
        struct rec_step *n = realloc(r->steps, cap * sizeof *n);
        if (!n) {
            rec_step_free(step);
            note_message(e, "run record: out of memory");
            e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
            return;
        }
        r->steps = n;
        r->steps_cap = cap;
    }
    r->steps[r->nsteps++] = *step;
    memset(step, 0, sizeof *step);
}

/* Counts over the steps that decide the run (not superseded attempts);
 * returns their most severe outcome and, in first_bad, the first of them
 * that did not pass. */
enum rig_outcome summarise(struct exec *e, const struct rec_step **first_bad)
{
    struct run_result *r = e->res;
    r->measurements = r->passed = r->failed = r->errors = r->marginals = 0;
    enum rig_outcome worst = OUTCOME_SKIPPED;
    if (first_bad)
        *first_bad = NULL;
    for (size_t i = 0; i < e->rec.nsteps; i++) {
        const struct rec_step *s = &e->rec.steps[i];
        if (s->superseded)
            continue;
        worst = outcome_worse(worst, s->outcome);
        if (first_bad && !*first_bad && s->outcome != OUTCOME_PASS && s->outcome != OUTCOME_SKIPPED)
            *first_bad = s;
        for (size_t j = 0; j < s->nmeas; j++) {
            enum rig_outcome oc = s->meas[j].outcome;
            if (oc == OUTCOME_SKIPPED)
                continue; /* planned, not run: listed, not counted */
            r->measurements++;
            r->passed += oc == OUTCOME_PASS;
            r->failed += oc == OUTCOME_FAIL;
            r->errors += oc == OUTCOME_ERROR || oc == OUTCOME_TIMEOUT;
            r->marginals += s->meas[j].marginal;
        }
    }
    return worst;
}

/* What the rig did to the bench, as the front end says now. */
static void take_rig_actions(struct exec *e, bool complete)
{
    if (!e->ops->rig_actions)
        return;
    struct rec_rig_action *acts = NULL;
    size_t n = e->ops->rig_actions(e->ctx, &acts);
    if (!n || !acts) {
        rec_rig_actions_free(acts, n);
        return;
    }
    struct rec_run *r = &e->rec;
    if (!r->nrig_actions) /* where the record first shows them */
        r->actions_place = e->writes == 0 ? REC_ACTIONS_EARLY
                           : complete     ? REC_ACTIONS_LATE
                                          : REC_ACTIONS_MID;
    rec_rig_actions_free(r->rig_actions, r->nrig_actions);
    r->rig_actions = acts;
    r->nrig_actions = n;
}

void write_record(struct exec *e, bool complete)
{
    enum rig_outcome now = outcome_worse(e->so_far, summarise(e, NULL));
    struct rec_run *r = &e->rec;
    r->complete = complete;
    /* An unfinished run has no verdict: a record left behind by a crash or
     * a full disk must never read PASS (the sinks write none). */
    r->outcome = now == OUTCOME_SKIPPED ? OUTCOME_PASS : now;
    r->retries = e->res->retries;
    r->summary.steps = e->res->steps;
    r->summary.measurements = e->res->measurements;
    r->summary.pass = e->res->passed;
    r->summary.fail = e->res->failed;
    r->summary.error = e->res->errors;
    r->summary.marginal = e->res->marginals;
    take_rig_actions(e, complete);
    bool failed = false;
    for (size_t i = 0; i < e->nsinks; i++) {
        char err[256] = "";
        const struct rec_sink *k = &e->sinks[i];
        if (k->ops->update(k->impl, r, complete, err, sizeof err) < 0) {
            snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
            e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
            note_message(e, "run record: %s", err);
            failed = true;
        }
    }
    e->writes++;
    if (!complete || !failed || r->outcome == OUTCOME_ERROR)
        return;
    /* A sink lost the verdict (or reported a write that failed before
     * it): the run is ERROR, and every sink is given the ERROR, also the
     * ones that had already kept the verdict. */
    r->outcome = OUTCOME_ERROR;
    r->marginal = false;
    if (!r->message)
        r->message = rec_dup(e->res->message);
    for (size_t i = 0; i < e->nsinks; i++) {
        char err[256] = "";
        const struct rec_sink *k = &e->sinks[i];
        if (k->ops->update(k->impl, r, true, err, sizeof err) < 0)
            snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
    }
}

static void definition(struct rec_definition *d, const char *file, const char *name,
                       const char *sha256)
{
    d->file = rec_dup(file);
    d->name = rec_dup(name);
    snprintf(d->sha256, sizeof d->sha256, "%s", sha256);
}

int new_record(struct exec *e)
{
    const struct run_config *c = e->cfg;
    struct rec_run *r = &e->rec;
    snprintf(r->id, sizeof r->id, "%s", e->res->record_id);
    r->dut_serial = rec_dup(c->dut_serial);
    r->sw_version = rec_dup(rig_version());
    r->sw_vcs = rec_dup(rig_vcs_commit());
    r->sw_dirty = rig_vcs_dirty();
    r->operator_name = rec_dup(c->operator_name);
    if (c->study_id) {
        if (!(r->study.id = rec_dup(c->study_id)))
            return -ENOMEM;
        r->study.part = c->study_part;
        r->study.trial = c->study_trial;
    }
    r->station = rec_dup(c->station_id);
    r->fixture = c->fixture ? rec_dup(c->fixture) : NULL;
    definition(&r->sequence, c->seq->file, c->seq->name, c->seq->sha256);
    r->sequence.policy =
        rec_dup(c->seq->policy == POLICY_CONTINUE ? "continue" : "stop-on-first-fail");
    const struct rig_spec *s = e->spec;
    definition(&r->spec, s->file, s->name, s->sha256);
    r->spec.version = rec_dup(s->version);
    wall(e, &r->started);
    if (!r->dut_serial || !r->sw_version || !r->sw_vcs || !r->operator_name || !r->station ||
        (c->fixture && !r->fixture) || !r->sequence.file || !r->sequence.name ||
        !r->sequence.policy || !r->spec.file || !r->spec.name || !r->spec.version)
        return -ENOMEM;
    return 0;
}

/* Record the instruments and refuse any whose calibration is overdue. */
enum rig_outcome check_instruments(struct exec *e)
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
    for (int i = 0; i < n; i++) {
        char due[11];
        record_date(ins[i].cal_due, due);
        struct rig_instrument *in = &e->rec.instruments[e->rec.ninstruments++];
        *in = ins[i];
        in->role[sizeof in->role - 1] = in->model[sizeof in->model - 1] = '\0';
        in->serial[sizeof in->serial - 1] = in->firmware[sizeof in->firmware - 1] = '\0';
        in->certificate[sizeof in->certificate - 1] = '\0';
        if (caldate_overdue(ins[i].cal_due, today)) {
            char today_s[11];
            record_date(today, today_s);
            note_message(e,
                         "%s %s (serial %s): calibration was due %s (today is %s); "
                         "recalibrate it before testing",
                         ins[i].role, ins[i].model, ins[i].serial, due, today_s);
            o = OUTCOME_ERROR;
        }
    }
    return o;
}

/* Every capture the record names must still be on disk as written: a
 * run whose evidence is gone cannot PASS (rec_sink_ops.verify). */
void verify_attachments(struct exec *e)
{
    if (e->cfg->no_captures)
        return;
    for (size_t i = 0; i < e->nsinks; i++) {
        const struct rec_sink *k = &e->sinks[i];
        char err[256] = "";
        if (k->ops->verify && k->ops->verify(k->impl, &e->rec, err, sizeof err) < 0) {
            e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
            snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
            note_message(e, "run record: %s", err);
        }
    }
}
