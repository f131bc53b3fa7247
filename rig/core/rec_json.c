/* The record document of a typed run record (rec.h, docs/RECORD.md): the
 * JSON record file's serialiser, member for member and byte for byte what
 * the executor wrote when it built the record as a cJSON tree (pinned by
 * tests/core/data/records/), and freeing the typed record. The inverse is
 * rec_parse.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rec.h"
#include "core/record.h"

/* ---- freeing ---------------------------------------------------------- */

void rec_measurement_free(struct rec_measurement *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->quantity);
    free(m->units);
    free(m->text);
    free(m->pattern);
    free(m->expected);
    free(m->limit);
    free(m->note);
    memset(m, 0, sizeof *m);
}

void rec_capture_free(struct rec_capture *c)
{
    if (!c)
        return;
    free(c->data.name);
    free(c->strokes.name);
    free(c);
}

void rec_step_free(struct rec_step *s)
{
    if (!s)
        return;
    free(s->section);
    free(s->path);
    free(s->name);
    free(s->message);
    for (size_t i = 0; i < s->nmeas; i++)
        rec_measurement_free(&s->meas[i]);
    free(s->meas);
    free(s->tare.note);
    rec_capture_free(s->capture);
    memset(s, 0, sizeof *s);
}

void rec_rig_actions_free(struct rec_rig_action *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].action);
        free(a[i].faults);
        free(a[i].reason);
        free(a[i].pen_serial);
    }
    free(a);
}

static bool dup_opt(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

struct rec_rig_action *rec_rig_actions_dup(const struct rec_rig_action *a, size_t n)
{
    struct rec_rig_action *d = n ? calloc(n, sizeof *d) : NULL;
    for (size_t i = 0; d && i < n; i++) {
        d[i].at = a[i].at;
        if (!dup_opt(&d[i].action, a[i].action) || !dup_opt(&d[i].faults, a[i].faults) ||
            !dup_opt(&d[i].reason, a[i].reason) || !dup_opt(&d[i].pen_serial, a[i].pen_serial)) {
            rec_rig_actions_free(d, n);
            return NULL;
        }
    }
    return d;
}

static void definition_free(struct rec_definition *d)
{
    free(d->file);
    free(d->name);
    free(d->version);
    free(d->policy);
    free(d->attachment.name);
}

void rec_run_free(struct rec_run *r)
{
    if (!r)
        return;
    free(r->message);
    free(r->dut_serial);
    free(r->reported_serial);
    free(r->sw_version);
    free(r->sw_vcs);
    free(r->operator_name);
    free(r->study.id);
    free(r->station);
    free(r->fixture);
    definition_free(&r->sequence);
    definition_free(&r->spec);
    free(r->tare.note);
    free(r->final_stop_result);
    rec_rig_actions_free(r->rig_actions, r->nrig_actions);
    for (size_t i = 0; i < r->nsteps; i++)
        rec_step_free(&r->steps[i]);
    free(r->steps);
    memset(r, 0, sizeof *r);
}

/* ---- serialising ------------------------------------------------------ */

/* Every member added through these: ok turns false when one could not be
 * (out of memory). */
struct out {
    bool ok;
};

static cJSON *chk(struct out *o, cJSON *item)
{
    if (!item)
        o->ok = false;
    return item;
}

static void put_str(struct out *o, cJSON *obj, const char *key, const char *s)
{
    if (obj)
        chk(o, cJSON_AddStringToObject(obj, key, s ? s : ""));
}

static void put_num(struct out *o, cJSON *obj, const char *key, double v)
{
    if (obj)
        chk(o, cJSON_AddNumberToObject(obj, key, v));
}

static void put_bool(struct out *o, cJSON *obj, const char *key, bool v)
{
    if (obj)
        chk(o, cJSON_AddBoolToObject(obj, key, v));
}

static void put_null(struct out *o, cJSON *obj, const char *key)
{
    if (obj)
        chk(o, cJSON_AddNullToObject(obj, key));
}

/* record_add_number (shortest exact digits, null when not finite) */
static void put_exact(struct out *o, cJSON *obj, const char *key, double v)
{
    if (!obj)
        return;
    record_add_number(obj, key, v);
    if (!cJSON_GetObjectItemCaseSensitive(obj, key))
        o->ok = false;
}

static void put_utc(struct out *o, cJSON *obj, const char *key, const struct timespec *ts)
{
    char buf[32];
    record_utc(ts, buf);
    put_str(o, obj, key, buf);
}

static cJSON *add_obj(struct out *o, cJSON *obj, const char *key)
{
    return obj ? chk(o, cJSON_AddObjectToObject(obj, key)) : NULL;
}

static cJSON *add_arr(struct out *o, cJSON *obj, const char *key)
{
    return obj ? chk(o, cJSON_AddArrayToObject(obj, key)) : NULL;
}

static void put_tare(struct out *o, cJSON *obj, const struct rec_tare *t)
{
    cJSON *j = add_obj(o, obj, "tare");
    put_utc(o, j, "utc", &t->at);
    if (t->has_needle_tip)
        put_exact(o, j, "needle_tip_mm", t->needle_tip_mm);
    if (!t->has_done)
        return;
    put_bool(o, j, "done", t->done);
    if (t->note)
        put_str(o, j, "note", t->note);
    if (t->done) {
        put_num(o, j, "offset_raw_un", t->offset_raw_un);
        put_exact(o, j, "zero_n", t->zero_n);
    }
}

static void put_setpoints(struct out *o, cJSON *obj, const struct lim_setpoints *sp)
{
    cJSON *j = add_obj(o, obj, "setpoints");
    put_exact(o, j, "rate_hz", sp->rate_hz);
    put_exact(o, j, "depth_mm", sp->depth_mm);
}

static void put_measurement(struct out *o, cJSON *arr, const struct rec_measurement *m)
{
    cJSON *j = chk(o, cJSON_CreateObject());
    if (!j)
        return;
    cJSON_AddItemToArray(arr, j);
    put_str(o, j, "name", m->name);
    put_str(o, j, "quantity", m->quantity);
    if (m->is_text && m->text)
        put_str(o, j, "value", m->text);
    else if (m->is_text)
        put_null(o, j, "value");
    else
        put_exact(o, j, "value", m->value);
    put_str(o, j, "units", m->units);
    put_str(o, j, "comparison", lim_cmp_str(m->comparison));
    if (m->pattern)
        put_str(o, j, "pattern", m->pattern);
    if (m->expected)
        put_str(o, j, "expected", m->expected);
    if (!m->is_text) {
        put_exact(o, j, "low", m->low);
        if (lim_cmp_arity(m->comparison) == 2)
            put_exact(o, j, "high", m->high);
    }
    if (m->limit)
        put_str(o, j, "limit", m->limit);
    put_str(o, j, "outcome", outcome_str(m->outcome));
    put_bool(o, j, "marginal", m->marginal);
    if (m->note)
        put_str(o, j, "note", m->note);
}

cJSON *rec_measurement_to_json(const struct rec_measurement *m)
{
    struct out o = { .ok = true };
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    put_measurement(&o, arr, m);
    cJSON *j = o.ok ? cJSON_DetachItemFromArray(arr, 0) : NULL;
    cJSON_Delete(arr);
    return j;
}

static void put_attachment(struct out *o, cJSON *obj, const char *key, const char *shakey,
                           const struct rec_attachment *a)
{
    if (!a->name)
        return;
    put_str(o, obj, key, a->name);
    put_str(o, obj, shakey, a->sha256);
}

static void put_capture(struct out *o, cJSON *obj, const struct rec_capture *c)
{
    cJSON *j = add_obj(o, obj, "capture");
    if (!j)
        return;
    put_num(o, j, "samples", (double)c->samples);
    put_num(o, j, "rate_hz", c->rate_hz);
    put_num(o, j, "first_sample", (double)c->first_sample);
    put_num(o, j, "start_index", (double)c->start_index);
    put_num(o, j, "stop_index", (double)c->stop_index);
    record_put_analysis(j, &c->analysis, c->rate_hz);
    if (!cJSON_GetObjectItemCaseSensitive(j, "analysis"))
        o->ok = false;
    put_attachment(o, j, "file", "sha256", &c->data);
    if (c->data.name && c->data.samples_sha256[0])
        put_str(o, j, "samples_sha256", c->data.samples_sha256);
    if (c->data.name && c->pruned)
        put_utc(o, j, "pruned_utc", &c->pruned_at);
    put_attachment(o, j, "strokes", "strokes_sha256", &c->strokes);
}

static void put_step(struct out *o, cJSON *arr, const struct rec_step *s)
{
    cJSON *j = chk(o, cJSON_CreateObject());
    if (!j)
        return;
    cJSON_AddItemToArray(arr, j);
    bool ran = s->index != 0; /* a SKIPPED step has no index, time or verdict flags */
    if (ran)
        put_num(o, j, "index", s->index);
    put_str(o, j, "section", s->section);
    put_str(o, j, "path", s->path);
    put_str(o, j, "kind", step_kind_str(s->kind));
    if (s->name)
        put_str(o, j, "name", s->name);
    if (s->loop.n) {
        cJSON *l = add_obj(o, j, "loop");
        for (size_t i = 0; i < s->loop.n && i < REC_LOOP_MAX; i++)
            put_num(o, l, s->loop.v[i].key, s->loop.v[i].value);
    }
    if (s->attempt)
        put_num(o, j, "attempt", s->attempt);
    if (s->has_started)
        put_utc(o, j, "started_utc", &s->started);
    if (s->tare.present)
        put_tare(o, j, &s->tare);
    if (s->capture)
        put_capture(o, j, s->capture);
    put_setpoints(o, j, &s->setpoints);
    if (ran)
        put_num(o, j, "duration_s", s->duration_s);
    put_str(o, j, "outcome", outcome_str(s->outcome));
    if (ran)
        put_bool(o, j, "marginal", s->marginal);
    if (s->message)
        put_str(o, j, "message", s->message);
    cJSON *m = add_arr(o, j, "measurements");
    for (size_t i = 0; m && i < s->nmeas; i++)
        put_measurement(o, m, &s->meas[i]);
    if (s->superseded)
        put_bool(o, j, "superseded", true);
}

static void put_instrument(struct out *o, cJSON *arr, const struct rig_instrument *in)
{
    cJSON *j = chk(o, cJSON_CreateObject());
    if (!j)
        return;
    cJSON_AddItemToArray(arr, j);
    char cal[11], due[11];
    record_date(in->cal_date, cal);
    record_date(in->cal_due, due);
    put_str(o, j, "role", in->role);
    put_str(o, j, "model", in->model);
    put_str(o, j, "serial", in->serial);
    put_str(o, j, "firmware", in->firmware);
    put_str(o, j, "cal_date", cal);
    put_str(o, j, "cal_due", due);
    put_str(o, j, "certificate", in->certificate);
    if (in->has_coefficients) {
        cJSON *k = add_obj(o, j, "coefficients");
        put_num(o, k, "force_gain_ppm", in->force_gain_ppm);
        put_num(o, k, "force_offset_un", in->force_offset_un);
        put_num(o, k, "disp_gain_ppm", in->disp_gain_ppm);
        put_num(o, k, "disp_offset_nm", in->disp_offset_nm);
    }
}

static void put_actions(struct out *o, cJSON *rec, const struct rec_run *r)
{
    cJSON *arr = add_arr(o, rec, "rig_actions");
    for (size_t i = 0; arr && i < r->nrig_actions; i++) {
        const struct rec_rig_action *a = &r->rig_actions[i];
        cJSON *j = chk(o, cJSON_CreateObject());
        if (!j)
            return;
        cJSON_AddItemToArray(arr, j);
        put_utc(o, j, "utc", &a->at);
        if (a->action)
            put_str(o, j, "action", a->action);
        if (a->faults)
            put_str(o, j, "faults", a->faults);
        if (a->reason)
            put_str(o, j, "reason", a->reason);
        if (a->pen_serial)
            put_str(o, j, "pen_serial", a->pen_serial);
    }
}

static void put_definition(struct out *o, cJSON *rec, const char *key,
                           const struct rec_definition *d)
{
    cJSON *j = add_obj(o, rec, key);
    put_str(o, j, "file", d->file);
    put_str(o, j, "name", d->name);
    if (d->version)
        put_str(o, j, "version", d->version);
    put_str(o, j, "sha256", d->sha256);
    if (d->policy)
        put_str(o, j, "policy", d->policy);
    put_attachment(o, j, "attachment", "attachment_sha256", &d->attachment);
}

static void put_dut(struct out *o, cJSON *rec, const struct rec_run *r)
{
    cJSON *dut = add_obj(o, rec, "dut");
    put_str(o, dut, "serial", r->dut_serial);
    if (r->reported_serial)
        put_str(o, dut, "reported_serial", r->reported_serial);
    if (r->has_reported) {
        const struct pen_identity *id = &r->reported;
        char fw[32];
        snprintf(fw, sizeof fw, "%u.%u.%u", id->fw_major, id->fw_minor, id->fw_patch);
        cJSON *rep = add_obj(o, dut, "reported");
        put_str(o, rep, "model", id->model);
        put_str(o, rep, "serial", id->serial);
        put_num(o, rep, "hw_revision", id->hw_revision);
        put_str(o, rep, "firmware", fw);
        put_str(o, rep, "cartridge_id", id->cartridge_id);
        put_num(o, rep, "needle_count", id->needle_count);
    }
}

cJSON *rec_to_json(const struct rec_run *r)
{
    struct out o = { .ok = true };
    cJSON *rec = cJSON_CreateObject();
    if (!rec)
        return NULL;
    put_str(&o, rec, "format", RECORD_FORMAT);
    put_str(&o, rec, "id", r->id);
    put_bool(&o, rec, "complete", r->complete);
    /* an unfinished run has no verdict */
    if (r->complete)
        put_str(&o, rec, "outcome", outcome_str(r->outcome));
    else
        put_null(&o, rec, "outcome");
    put_bool(&o, rec, "marginal", r->marginal);
    put_dut(&o, rec, r);
    cJSON *sw = add_obj(&o, rec, "software");
    put_str(&o, sw, "name", "rig");
    put_str(&o, sw, "version", r->sw_version);
    put_str(&o, sw, "vcs", r->sw_vcs);
    put_bool(&o, sw, "dirty", r->sw_dirty);
    put_str(&o, rec, "operator", r->operator_name);
    if (r->study.id) { /* only in a study's runs: other records stay as they were */
        cJSON *st = add_obj(&o, rec, "study");
        put_str(&o, st, "id", r->study.id);
        put_num(&o, st, "part", r->study.part);
        put_num(&o, st, "trial", r->study.trial);
    }
    put_str(&o, rec, "station", r->station);
    if (r->fixture)
        put_str(&o, rec, "fixture", r->fixture);
    else
        put_null(&o, rec, "fixture");
    put_definition(&o, rec, "sequence", &r->sequence);
    put_definition(&o, rec, "spec", &r->spec);
    cJSON *ins = add_arr(&o, rec, "instruments");
    for (size_t i = 0; ins && i < r->ninstruments && i < RIG_MAX_INSTRUMENTS; i++)
        put_instrument(&o, ins, &r->instruments[i]);
    put_utc(&o, rec, "started_utc", &r->started);
    if (r->has_ended)
        put_utc(&o, rec, "ended_utc", &r->ended);
    else
        put_null(&o, rec, "ended_utc");
    put_num(&o, rec, "retries", r->retries);
    cJSON *steps = add_arr(&o, rec, "steps");
    for (size_t i = 0; steps && i < r->nsteps; i++)
        put_step(&o, steps, &r->steps[i]);
    cJSON *sum = add_obj(&o, rec, "summary");
    put_num(&o, sum, "steps", r->summary.steps);
    put_num(&o, sum, "measurements", r->summary.measurements);
    put_num(&o, sum, "pass", r->summary.pass);
    put_num(&o, sum, "fail", r->summary.fail);
    put_num(&o, sum, "error", r->summary.error);
    put_num(&o, sum, "marginal", r->summary.marginal);
    bool actions = r->nrig_actions > 0;
    if (actions && r->actions_place == REC_ACTIONS_EARLY)
        put_actions(&o, rec, r);
    if (r->tare.present)
        put_tare(&o, rec, &r->tare);
    if (actions && r->actions_place == REC_ACTIONS_MID)
        put_actions(&o, rec, r);
    if (r->final_stop_sent) {
        cJSON *fs = add_obj(&o, rec, "final_stop");
        put_bool(&o, fs, "sent", true);
        put_str(&o, fs, "result", r->final_stop_result);
    }
    if (r->message)
        put_str(&o, rec, "message", r->message);
    if (actions && r->actions_place == REC_ACTIONS_LATE)
        put_actions(&o, rec, r);
    if (!o.ok) {
        cJSON_Delete(rec);
        return NULL;
    }
    return rec;
}
