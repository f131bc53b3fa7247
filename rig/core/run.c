/* The sequence executor's run (run.h): checks before the first step
 * (instruments, the unit, the tare), walking the sequence's groups (sweep,
 * repeat, retry) and sections with the skip rules, the final motor stop
 * and the run's outcome. One leaf step is runstep.c, the record runrec.c. */
#include "core/run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run_int.h"

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

/* ---- groups ----------------------------------------------------------- */

static enum rig_outcome exec_list(struct exec *e, const struct seq_step *st, size_t n,
                                  double deadline, const char *section);

static bool halts(const struct exec *e, enum rig_outcome o)
{
    if (e->in_teardown)
        return false; /* teardown always runs to the end */
    if (o == OUTCOME_ABORTED)
        return true;
    return e->cfg->seq->policy == POLICY_STOP_ON_FIRST_FAIL && o != OUTCOME_PASS &&
           o != OUTCOME_SKIPPED;
}

/* The leaf's place in its sweeps and repeats: a key set again moves to
 * the end (the record lists them in the order they were last set). */
static void set_loop(struct exec *e, const char *key, double value)
{
    struct rec_loop *l = &e->loop;
    size_t i = 0;
    while (i < l->n && strcmp(l->v[i].key, key) != 0)
        i++;
    if (i < l->n) {
        memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
        l->n--;
    }
    if (l->n == REC_LOOP_MAX)
        return;
    snprintf(l->v[l->n].key, sizeof l->v[l->n].key, "%s", key);
    l->v[l->n++].value = value;
}

static enum rig_outcome exec_sweep(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    double saved_rate = e->var_rate, saved_depth = e->var_depth;
    struct rec_loop saved_loop = e->loop;
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
    e->loop = saved_loop;
    return agg;
}

static enum rig_outcome exec_repeat(struct exec *e, const struct seq_step *st, double deadline,
                                    const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    struct rec_loop saved_loop = e->loop;
    for (unsigned i = 0; i < st->count; i++) {
        set_loop(e, "repeat", i + 1);
        agg = outcome_worse(agg, exec_list(e, st->body, st->nbody, deadline, section));
    }
    e->loop = saved_loop;
    return agg;
}

/* Mark the record entries of a failed attempt as superseded so summaries
 * count only the attempt that decided the group. */
static void supersede(struct exec *e, size_t from)
{
    for (size_t i = from; i < e->rec.nsteps; i++)
        e->rec.steps[i].superseded = true;
}

static enum rig_outcome exec_retry(struct exec *e, const struct seq_step *st, double deadline,
                                   const char *section)
{
    enum rig_outcome o = OUTCOME_SKIPPED;
    unsigned saved_attempt = e->attempt;
    bool skipping_before = e->skipping;
    for (unsigned a = 1; a <= st->count; a++) {
        size_t first = e->rec.nsteps;
        e->attempt = a;
        o = exec_list(e, st->body, st->nbody, deadline, section);
        if (skipping_before || o == OUTCOME_PASS || o == OUTCOME_SKIPPED || o == OUTCOME_ABORTED ||
            runstep_aborted(e) || a == st->count)
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
    case STEP_SWEEP:
        return exec_sweep(e, st, deadline, section);
    case STEP_REPEAT:
        return exec_repeat(e, st, deadline, section);
    case STEP_RETRY:
        return exec_retry(e, st, deadline, section);
    default:
        return runstep_exec_leaf(e, st, deadline, section);
    }
}

static enum rig_outcome exec_list(struct exec *e, const struct seq_step *st, size_t n,
                                  double deadline, const char *section)
{
    enum rig_outcome agg = OUTCOME_SKIPPED;
    for (size_t i = 0; i < n; i++) {
        if (!e->in_teardown && !e->skipping && runstep_aborted(e)) {
            agg = outcome_worse(agg, OUTCOME_ABORTED);
            start_skipping(e, "the run was aborted");
        }
        enum rig_outcome o = exec_step(e, &st[i], deadline, section);
        agg = outcome_worse(agg, o);
        if (!e->skipping && halts(e, o))
            start_skipping(e, o == OUTCOME_ABORTED
                                  ? "the run was aborted"
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
        runstep_rc_message(rc, "unit identity: identify", err, msg, sizeof msg);
        e->so_far = outcome_worse(
            e->so_far, runstep_rc_outcome(rc) == OUTCOME_ABORTED ? OUTCOME_ABORTED : OUTCOME_ERROR);
        note_message(e, "%s", msg);
        return false;
    }
    e->id = id;
    e->have_id = true;
    free(e->rec.reported_serial);
    e->rec.reported_serial = rec_dup(id.serial);
    if (strcmp(id.serial, e->cfg->dut_serial) != 0) {
        e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
        note_message(e,
                     "unit identity: the pen in the fixture reports serial %s, not %s (the "
                     "serial the run was started for); nothing was tested",
                     id.serial, e->cfg->dut_serial);
        return false;
    }
    return true;
}

static bool ops_complete(const struct rig_ops *o)
{
    return o && o->pen_identify && o->pen_set_rate && o->pen_set_depth && o->pen_start &&
           o->pen_stop && o->pen_status && o->capture_begin && o->capture_mark && o->capture_end &&
           o->sleep;
}

static void final_stop(struct exec *e)
{
    if (!e->motor_on && e->so_far == OUTCOME_PASS)
        return;
    char err[200] = "";
    int rc = e->ops->pen_stop(e->ctx, err, sizeof err);
    free(e->rec.final_stop_result);
    e->rec.final_stop_sent = true;
    e->rec.final_stop_result =
        rec_dup(rc == 0 ? "confirmed" : (*err ? err : strerror(rc < 0 ? -rc : EIO)));
    if (rc == 0) {
        e->motor_on = false;
    } else {
        e->so_far = outcome_worse(e->so_far, OUTCOME_ERROR);
        note_message(e, "final motor stop not confirmed: %s", *err ? err : "error");
    }
}

/* The caller's sinks, when the run is refused before they were handed to
 * the record (run_execute closes each exactly once). */
static void close_given(const struct run_config *cfg)
{
    for (size_t i = 0; cfg && cfg->sinks && i < cfg->nsinks; i++)
        if (cfg->sinks[i].ops && cfg->sinks[i].ops->close)
            cfg->sinks[i].ops->close(cfg->sinks[i].impl);
}

/* The record's keepers: the record file (cfg->record_path), then the
 * caller's, each opened with the new record. -1 with a message if one
 * cannot keep it (close_sinks then closes them all). */
static int open_sinks(struct exec *e, char *msg, size_t msglen)
{
    const struct run_config *cfg = e->cfg;
    size_t n = (cfg->record_path ? 1 : 0) + (cfg->sinks ? cfg->nsinks : 0);
    e->sinks = n ? calloc(n, sizeof *e->sinks) : NULL;
    if (n && !e->sinks) {
        close_given(cfg);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    bool file_ok =
        !cfg->record_path ||
        rec_file_sink_new_flags(cfg->record_path, cfg->raw_captures ? REC_FILE_RAW_CAPTURES : 0,
                                &e->sinks[e->nsinks++], msg, msglen) == 0;
    if (!file_ok)
        e->nsinks--;
    for (size_t i = 0; cfg->sinks && i < cfg->nsinks; i++)
        e->sinks[e->nsinks++] = cfg->sinks[i];
    if (!file_ok)
        return -1;
    if (new_record(e) < 0) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < e->nsinks; i++) {
        char err[200] = "";
        const struct rec_sink *k = &e->sinks[i];
        if (k->ops->open && k->ops->open(k->impl, &e->rec, err, sizeof err) < 0) {
            snprintf(msg, msglen, "cannot keep the run record (%s): %s", k->ops->name, err);
            return -1;
        }
    }
    return 0;
}

static void close_sinks(struct exec *e)
{
    for (size_t i = 0; i < e->nsinks; i++)
        if (e->sinks[i].ops->close)
            e->sinks[i].ops->close(e->sinks[i].impl);
    free(e->sinks);
    e->sinks = NULL;
    e->nsinks = 0;
    rec_run_free(&e->rec);
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
        snprintf(
            result->message, sizeof result->message,
            "run needs a loaded sequence with its spec, a DUT serial and a complete ops table");
        close_given(cfg);
        return -1;
    }
    struct exec e = {
        .cfg = cfg,
        .ops = ops,
        .ctx = ctx,
        .spec = cfg->seq->spec,
        .res = result,
        .sp = { NAN, NAN },
        .var_rate = NAN,
        .var_depth = NAN,
        .so_far = OUTCOME_SKIPPED,
    };
    if (cfg->run_id && cfg->run_id[0]) {
        if (strlen(cfg->run_id) >= sizeof result->record_id) {
            snprintf(result->message, sizeof result->message, "run id too long");
            close_given(cfg);
            return -1;
        }
        snprintf(result->record_id, sizeof result->record_id, "%s", cfg->run_id);
    } else if (record_uuid(result->record_id) < 0) {
        snprintf(result->message, sizeof result->message, "cannot generate a record id");
        close_given(cfg);
        return -1;
    }
    if (open_sinks(&e, result->message, sizeof result->message) < 0) {
        close_sinks(&e);
        return -1;
    }
    e.leaf_total = (unsigned)sequence_leaf_count(cfg->seq);

    bool instruments_ok = check_instruments(&e) == OUTCOME_PASS;
    if (!instruments_ok)
        e.so_far = OUTCOME_ERROR;
    /* The texts first, so that the first record on disk already names
     * them: a rigd killed right after it left a record that could not be
     * recomputed ("spec: not attached"). attach() creates the directory. */
    attach_definitions(&e);
    write_record(&e, false);
    if (result->record_error[0]) {
        snprintf(result->message, sizeof result->message, "cannot write the run record: %.200s",
                 result->record_error);
        close_sinks(&e);
        return -1;
    }
    /* Nothing is tested on a pen that is not the unit the run is for. */
    bool unit_ok = instruments_ok && check_unit(&e);
    if (unit_ok) {
        /* Zero the force channel before every run (the load cell drifts). */
        char err[200] = "";
        int rc = runstep_tare(&e, &e.rec.tare, err, sizeof err);
        if (rc != 0) {
            char msg[256];
            runstep_rc_message(rc, "tare", err, msg, sizeof msg);
            e.so_far =
                outcome_worse(e.so_far, runstep_rc_outcome(rc) == OUTCOME_ABORTED ? OUTCOME_ABORTED
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
    if (runstep_aborted(&e))
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
    const struct rec_step *bad = NULL;
    summarise(&e, &bad);
    if (bad && e.so_far != OUTCOME_PASS)
        note_message(&e, "%s (%s): %s", bad->path ? bad->path : "?", step_kind_str(bad->kind),
                     bad->message ? bad->message : "not PASS");
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
    e.rec.marginal = result->marginal;
    e.rec.has_ended = true;
    wall(&e, &e.rec.ended);
    if (result->message[0])
        e.rec.message = rec_dup(result->message);
    write_record(&e, true);
    result->outcome = e.so_far;
    close_sinks(&e);
    return 0;
}
