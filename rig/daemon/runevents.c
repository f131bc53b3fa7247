/* rigd's run manager, the API events of a run (docs/API.md "run"): the
 * engine's typed events (struct run_event, worker thread) become "run"
 * and "measurements" events here and only here, and so do a run's own
 * started and finished events (event thread). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daemon/runner_int.h"

/* Every member an event's example in docs/API.md shows is sent, null
 * when it has no value, so clients need no "absent" case. */
static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* A step begins -> the "run" topic's progress event (docs/API.md). */
static void emit_step_begin(struct run *run, const struct run_event *e)
{
    const char *name = e->u.begin.name, *kind = step_kind_str(e->u.begin.kind);
    const char *path = e->u.begin.path;
    char label[96];
    if (name)
        snprintf(label, sizeof label, "%s", name);
    else
        snprintf(label, sizeof label, "%s %s", kind, path ? path : "");
    pthread_mutex_lock(&run->rn->lock);
    run->step = e->step;
    run->total = e->total;
    snprintf(run->step_name, sizeof run->step_name, "%s", label);
    pthread_mutex_unlock(&run->rn->lock);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "event", "progress");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    double step = e->step, total = e->total;
    double frac = total > 0 && step >= 1 ? (step - 1) / total : 0;
    cJSON_AddNumberToObject(ev, "progress", frac > 1 ? 1 : frac);
    cJSON_AddStringToObject(ev, "step", label);
    cJSON_AddNumberToObject(ev, "index", step);
    cJSON_AddNumberToObject(ev, "total", total);
    cJSON_AddStringToObject(ev, "kind", kind);
    add_str_or_null(ev, "path", path);
    post_event(run, "run", ev);
}

/* A step ended -> a step_result event when it did not pass. */
static void emit_step_end(struct run *run, const struct run_event *e)
{
    if (e->u.end.outcome == OUTCOME_PASS)
        return;
    /* A step that did not pass: say why, as text rigctl prints. */
    const char *outcome = outcome_str(e->u.end.outcome), *msg = e->u.end.message;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "event", "step_result");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    cJSON_AddNumberToObject(ev, "index", e->step);
    cJSON_AddStringToObject(ev, "outcome", outcome);
    char text[320];
    pthread_mutex_lock(&run->rn->lock);
    snprintf(text, sizeof text, "%s: %s%s%s", run->step_name, outcome, msg ? " - " : "",
             msg ? msg : "");
    pthread_mutex_unlock(&run->rn->lock);
    cJSON_AddStringToObject(ev, "message", text);
    post_event(run, "run", ev);
}

/* A judged measurement -> the "measurements" topic (docs/API.md), in the
 * order and with the values of the record entry. */
static void emit_measurement(struct run *run, const struct run_event *e)
{
    const struct run_measurement *m = &e->u.measurement;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "measurement");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    cJSON_AddNumberToObject(ev, "step", e->step);
    cJSON_AddStringToObject(ev, "name", m->name);
    cJSON_AddStringToObject(ev, "quantity", m->quantity);
    if (m->is_text)
        cJSON_AddStringToObject(ev, "value", m->text);
    else
        record_add_number(ev, "value", m->value); /* the record's digits, null if NaN */
    cJSON_AddStringToObject(ev, "units", m->units);
    cJSON_AddStringToObject(ev, "limits", m->limit);
    cJSON_AddStringToObject(ev, "outcome", outcome_str(m->outcome));
    cJSON_AddBoolToObject(ev, "marginal", m->marginal);
    add_str_or_null(ev, "note", m->note);
    post_event(run, "measurements", ev);
}

void runevents_emit(void *ctx, const struct run_event *e)
{
    struct run *run = ctx;
    switch (e->kind) {
    case RUN_EV_STEP_BEGIN:
        emit_step_begin(run, e);
        break;
    case RUN_EV_STEP_END:
        emit_step_end(run, e);
        break;
    case RUN_EV_MEASUREMENT:
        emit_measurement(run, e);
        break;
    }
}

/* ---- event thread ---------------------------------------------------------- */

void send_to_run(struct runner *rn, const char *topic, cJSON *ev)
{
    struct bench *bench = rn->bench;
    struct api_client *owner = rn->run ? rn->run->owner : NULL;
    cJSON_AddStringToObject(ev, "fixture", bench->name);
    /* The owner gets every event of its run even if it does not watch;
     * a watching owner gets it once, through the topic. */
    if (owner && !api_client_watching(owner, topic))
        api_send(owner, cJSON_Duplicate(ev, 1));
    if (bench->rigd->api)
        api_publish(bench->rigd->api, topic, ev);
    else
        cJSON_Delete(ev);
}

void runevents_add_attempt(cJSON *obj, const struct run *run)
{
    if (run->attempt)
        cJSON_AddNumberToObject(obj, "attempt", run->attempt);
    else
        cJSON_AddNullToObject(obj, "attempt");
}

void runevents_started(struct runner *rn, const struct run *run)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "event", "started");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    cJSON_AddStringToObject(ev, "sequence", run->seq->name ? run->seq->name : "");
    cJSON_AddStringToObject(ev, "dut", run->dut);
    cJSON_AddNumberToObject(ev, "steps", run->total);
    cJSON_AddStringToObject(ev, "record", run->record_path);
    runevents_add_attempt(ev, run);
    char msg[4400];
    snprintf(msg, sizeof msg, "%.100s on %s, %u steps, record %s",
             run->seq->name ? run->seq->name : "?", run->dut, run->total, run->record_path);
    cJSON_AddStringToObject(ev, "message", msg);
    send_to_run(rn, "run", ev);
}

void runevents_finished(struct runner *rn, const struct run *run, const char *outcome,
                        const char *reason)
{
    const struct run_result *res = &run->result;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "event", "finished");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    cJSON_AddStringToObject(ev, "outcome", outcome);
    cJSON_AddBoolToObject(ev, "marginal", res->marginal);
    if (reason[0])
        cJSON_AddStringToObject(ev, "reason", reason);
    else
        cJSON_AddNullToObject(ev, "reason");
    cJSON_AddStringToObject(ev, "record", run->record_path);
    cJSON_AddStringToObject(ev, "record_id", res->record_id);
    runevents_add_attempt(ev, run);
    add_str_or_null(ev, "record_error", res->record_error[0] ? res->record_error : NULL);
    cJSON *sum = cJSON_AddObjectToObject(ev, "summary");
    cJSON_AddNumberToObject(sum, "steps", res->steps);
    cJSON_AddNumberToObject(sum, "measurements", res->measurements);
    cJSON_AddNumberToObject(sum, "pass", res->passed);
    cJSON_AddNumberToObject(sum, "fail", res->failed);
    cJSON_AddNumberToObject(sum, "error", res->errors);
    cJSON_AddNumberToObject(sum, "marginal", res->marginals);
    cJSON_AddNumberToObject(sum, "retries", res->retries);
    send_to_run(rn, "run", ev);
}
