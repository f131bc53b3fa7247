/* The run record the executor fills (docs/RECORD.md): its skeleton, the
 * instruments, captures and their attachments, skipped steps, summaries,
 * and its atomic, never-overwriting writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/caldate.h"
#include "core/quantity.h"
#include "core/run_int.h"
#include "version/version.h"

void add_setpoints(const struct exec *e, cJSON *entry)
{
    cJSON *sp = cJSON_AddObjectToObject(entry, "setpoints");
    if (!sp)
        return;
    record_add_number(sp, "rate_hz", e->sp.rate_hz);
    record_add_number(sp, "depth_mm", e->sp.depth_mm);
}

/* Write an attachment next to the record (never over an existing file;
 * AW_RECREATE_DIR in flags: recreating a vanished directory) and name it
 * in obj: "<key>" file name and "<key>_sha256". false (step ERROR) if it
 * cannot be written. */
static bool attach_flags(struct exec *e, struct leaf *l, cJSON *obj, const char *key,
                         const char *suffix, const void *buf, size_t len, unsigned flags)
{
    char path[4300], sha[DIGEST_HEX_LEN + 1], err[256];
    snprintf(path, sizeof path, "%s.%s", e->cap_stem, suffix);
    digest_sha256_buf(buf, len, sha);
    if (atomic_write_file_flags(path, buf, len, AW_NO_REPLACE | flags, err, sizeof err) < 0) {
        snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
        if (l)
            leaf_fail(l, OUTCOME_ERROR, err);
        else
            note_message(e, "run record: %s", err);
        return false;
    }
    const char *base = strrchr(path, '/');
    char k2[64];
    snprintf(k2, sizeof k2, "%s_sha256", key);
    cJSON_AddStringToObject(obj, key, base ? base + 1 : path);
    cJSON_AddStringToObject(obj, k2, sha);
    return true;
}

static bool attach(struct exec *e, struct leaf *l, cJSON *obj, const char *key, const char *suffix,
                   const void *buf, size_t len)
{
    return attach_flags(e, l, obj, key, suffix, buf, len, AW_RECREATE_DIR);
}

void record_capture(struct exec *e, struct leaf *l, const struct rig_capture *cap,
                    const struct an_result *an, const struct an_stroke *strokes, size_t nstrokes,
                    int64_t start_index, int64_t stop_index)
{
    cJSON *c = cJSON_AddObjectToObject(l->entry, "capture");
    if (!c)
        return;
    cJSON_AddNumberToObject(c, "samples", (double)cap->n);
    cJSON_AddNumberToObject(c, "rate_hz", cap->rate_hz);
    cJSON_AddNumberToObject(c, "first_sample", (double)cap->first_sample);
    /* the commands' samples in the capture (-1: none), for recomputing */
    cJSON_AddNumberToObject(c, "start_index", (double)start_index);
    cJSON_AddNumberToObject(c, "stop_index", (double)stop_index);
    record_put_analysis(c, an, cap->rate_hz);
    if (!e->cfg->record_path || e->cfg->no_captures)
        return;
    char path[4200], sha[DIGEST_HEX_LEN + 1], err[256];
    unsigned n = ++e->captures;
    snprintf(path, sizeof path, "%s.cap%u.bin", e->cap_stem, n);
    if (capture_write_flags(path, cap, AW_NO_REPLACE | AW_RECREATE_DIR, sha, err, sizeof err) < 0) {
        snprintf(e->res->record_error, sizeof e->res->record_error, "%s", err);
        leaf_fail(l, OUTCOME_ERROR, err);
        return;
    }
    const char *base = strrchr(path, '/');
    cJSON_AddStringToObject(c, "file", base ? base + 1 : path);
    cJSON_AddStringToObject(c, "sha256", sha);
    char *csv = strokes_csv(strokes, nstrokes, cap->rate_hz);
    char suffix[32];
    snprintf(suffix, sizeof suffix, "cap%u.strokes.csv", n);
    if (!csv)
        leaf_fail(l, OUTCOME_ERROR, "out of memory writing per-stroke values");
    else
        attach(e, l, c, "strokes", suffix, csv, strlen(csv));
    free(csv);
}

/* The sequence and spec the run used, as attachments by hash: the bytes
 * that were parsed and hashed, whoever read them (rigctl, or rigd from a
 * sequence directory), never the files again. */
void attach_definitions(struct exec *e)
{
    const struct run_config *c = e->cfg;
    if (!c->record_path)
        return;
    struct {
        const char *text;
        size_t len;
        const char *key, *suffix;
    } defs[] = {
        { c->seq->text, c->seq->text_len, "sequence", "sequence.json" },
        { c->seq->spec ? c->seq->spec->text : NULL, c->seq->spec ? c->seq->spec->text_len : 0,
          "spec", "spec.json" },
    };
    for (size_t i = 0; i < 2; i++) {
        cJSON *obj = cJSON_GetObjectItemCaseSensitive(e->rec, defs[i].key);
        if (defs[i].text && obj)
            /* before the first record: a results directory that does
             * not exist refuses the run, it is not created here */
            attach_flags(e, NULL, obj, "attachment", defs[i].suffix, defs[i].text, defs[i].len, 0);
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
            record_add_number(me, "low", ev.low);
            if (lim_cmp_arity(m->limit.cmp) == 2)
                record_add_number(me, "high", ev.high);
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

/* ---- the record ------------------------------------------------------- */

/* Counts over the steps that decide the run (not superseded attempts);
 * returns their most severe outcome and, in first_bad, the first of them
 * that did not pass. */
enum rig_outcome summarise(struct exec *e, const cJSON **first_bad)
{
    struct run_result *r = e->res;
    r->measurements = r->passed = r->failed = r->errors = r->marginals = 0;
    enum rig_outcome worst = OUTCOME_SKIPPED;
    if (first_bad)
        *first_bad = NULL;
    cJSON *s;
    cJSON_ArrayForEach (s, e->steps) {
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
        cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(s, "measurements")) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, "outcome");
            int oc = cJSON_IsString(o) ? outcome_from_str(o->valuestring) : OUTCOME_ERROR;
            if (oc == OUTCOME_SKIPPED)
                continue; /* planned, not run: listed, not counted */
            r->measurements++;
            r->passed += oc == OUTCOME_PASS;
            r->failed += oc == OUTCOME_FAIL;
            r->errors += oc == OUTCOME_ERROR || oc == OUTCOME_TIMEOUT;
            r->marginals += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "marginal"));
        }
    }
    return worst;
}

void replace(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

void write_record(struct exec *e, bool complete)
{
    enum rig_outcome now = outcome_worse(e->so_far, summarise(e, NULL));
    replace(e->rec, "complete", cJSON_CreateBool(complete));
    /* An unfinished run has no verdict: a record left behind by a crash or
     * a full disk must never read PASS. */
    replace(e->rec, "outcome",
            complete ? cJSON_CreateString(outcome_str(now == OUTCOME_SKIPPED ? OUTCOME_PASS : now))
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

cJSON *new_record(struct exec *e)
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
        cJSON_AddStringToObject(sw, "vcs", rig_vcs_commit());
        cJSON_AddBoolToObject(sw, "dirty", rig_vcs_dirty());
    }
    cJSON_AddStringToObject(r, "operator", c->operator_name ? c->operator_name : "");
    cJSON_AddStringToObject(r, "station", c->station_id ? c->station_id : "");
    if (c->fixture)
        cJSON_AddStringToObject(r, "fixture", c->fixture);
    else
        cJSON_AddNullToObject(r, "fixture");
    cJSON *seq = cJSON_AddObjectToObject(r, "sequence");
    if (seq) {
        cJSON_AddStringToObject(seq, "file", c->seq->file ? c->seq->file : "");
        cJSON_AddStringToObject(seq, "name", c->seq->name ? c->seq->name : "");
        cJSON_AddStringToObject(seq, "sha256", c->seq->sha256);
        cJSON_AddStringToObject(
            seq, "policy", c->seq->policy == POLICY_CONTINUE ? "continue" : "stop-on-first-fail");
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
            if (ins[i].has_coefficients) {
                cJSON *k = cJSON_AddObjectToObject(j, "coefficients");
                cJSON_AddNumberToObject(k, "force_gain_ppm", ins[i].force_gain_ppm);
                cJSON_AddNumberToObject(k, "force_offset_un", ins[i].force_offset_un);
                cJSON_AddNumberToObject(k, "disp_gain_ppm", ins[i].disp_gain_ppm);
                cJSON_AddNumberToObject(k, "disp_offset_nm", ins[i].disp_offset_nm);
            }
            cJSON_AddItemToArray(arr, j);
        }
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
 * run whose evidence is gone cannot PASS. */
void verify_attachments(struct exec *e)
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
    cJSON_ArrayForEach (st, e->steps) {
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
