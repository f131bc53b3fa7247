/* rigd's run manager, the run lifecycle (see runner.h for the threading
 * picture and runner_int.h for the pieces): the "run" request, the queue,
 * starting the worker, abort, the end of a run, status and shutdown. The
 * event thread's side of the bridge (on_wake) dispatches down into the
 * pieces. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/linesync.h"
#include "daemon/runner_int.h"

/* Queued runs start from bench_hand_on() as soon as the bench is
 * free; this slow poll is only a fallback for a transition not hooked. */
#define RUN_QUEUE_POLL_US 1000000u

static void *worker_main(void *arg)
{
    struct run *run = arg;
    struct run_config cfg = {
        .seq = run->seq,
        .run_id = run->run_id,
        .dut_serial = run->dut,
        .operator_name = run->operator_name[0] ? run->operator_name : NULL,
        .study_id = run->study[0] ? run->study : NULL,
        .study_part = run->study_part,
        .study_trial = run->study_trial,
        .station_id = run->rn->bench->rigd->cfg.station,
        .fixture = run->rn->bench->name,
        .record_path = run->record_path,
        .raw_captures = run->rn->bench->rigd->cfg.raw_captures,
        /* the contents the client sent (path mode: the engine reads the files) */
    };
    struct run_result res;
    struct rec_sink db;
    char err[256];
    int rc = runstore_sink(run, &db, err, sizeof err);
    if (rc == 0) {
        cfg.sinks = &db;
        cfg.nsinks = 1;
    }
    if (rc < 0) {
        /* No run whose result the database would not keep. */
        memset(&res, 0, sizeof res);
        res.outcome = OUTCOME_ERROR;
        snprintf(res.message, sizeof res.message, "station database: %.200s", err);
    } else {
        rc = run_execute(&cfg, &runner_ops, run, &res);
    }
    pthread_mutex_lock(&run->rn->lock);
    run->result = res;
    run->exec_rc = rc;
    run->finished = true;
    pthread_mutex_unlock(&run->rn->lock);
    wake_loop(run->rn);
    return NULL;
}

/* ---- event thread: run lifecycle --------------------------------------------- */

static void run_free(struct run *run)
{
    if (!run)
        return;
    capture_reset(&run->cap);
    sequence_free(run->seq);
    cJSON_Delete(run->req);
    rec_rig_actions_free(run->rig_actions, run->nrig_actions);
    free(run);
}

static void finish_run(struct runner *rn)
{
    struct bench *bench = rn->bench;
    struct run *run = rn->run;
    pthread_join(run->thread, NULL);
    const struct run_result *res = &run->result;
    const char *outcome = run->exec_rc < 0 ? "ERROR" : outcome_str(res->outcome);
    char reason[512] = "";
    if (run->exec_rc < 0)
        snprintf(reason, sizeof reason, "run could not start: %s", res->message);
    else if (res->outcome == OUTCOME_ABORTED && !res->message[0] && run->abort_reason[0])
        snprintf(reason, sizeof reason, "aborted: %s", run->abort_reason); /* engine gave none */
    else if (res->outcome != OUTCOME_PASS)
        snprintf(reason, sizeof reason, "%s", res->message);
    log_run_msg(LOG_NOTICE, RUN_LOG(run), "run %s (%s on %s) finished: %s%s%s; record %s",
                run->run_id, run->seq->name ? run->seq->name : "?", run->dut, outcome,
                reason[0] ? " - " : "", reason, run->record_path);
    if (run->db_calls)
        log_run_msg(LOG_INFO, RUN_LOG(run), "run %s: station database: %u writes, %.2f ms",
                    run->run_id, run->db_calls, (double)run->db_ns / 1e6);
    if (res->record_error[0])
        log_run_msg(LOG_ERR, RUN_LOG(run), "run %s: record problem: %s", run->run_id,
                    res->record_error);

    runevents_finished(rn, run, outcome, reason);
    /* after the verdict is out: the report never delays or changes it */
    autoreport_start(rn, run, false);
    /* The verdict is in the station database (the worker wrote it before
     * it ended): push it to the line now rather than at the next poll. */
    linesync_kick(bench->rigd->linesync);

    bool claimed = run->claimed_session;
    bool passed = run->exec_rc == 0 && res->outcome == OUTCOME_PASS;
    struct api_client *owner = run->owner;
    pthread_mutex_lock(&rn->lock);
    rn->run = NULL;
    pthread_mutex_unlock(&rn->lock);
    run_free(run);
    if (rn->exit_when_done) {
        /* Shutdown: the motor stop is already confirmed and the session
         * ends with rigd. Leave the loop a moment later, so the queued
         * "finished" event can still reach the owner's socket. */
        bench_log(bench, LOG_NOTICE, "run ended at shutdown");
        if (bench->hooks.run_ended_at_shutdown)
            bench->hooks.run_ended_at_shutdown(bench);
        return;
    }
    run_release_bench(bench, owner, claimed, passed);
    bench_hand_on(bench);
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *user)
{
    (void)s;
    (void)revents;
    (void)fd;
    struct runner *rn = user;
    bridge_ack(rn);
    for (;;) {
        struct run_cmd *cmd;
        struct out_event *o;
        bridge_next(rn, &cmd, &o);
        if (cmd) {
            exec_cmd(rn, cmd);
            continue;
        }
        if (!o)
            break;
        send_to_run(rn, o->topic, o->ev);
        free(o);
    }
    pthread_mutex_lock(&rn->lock);
    bool fin = rn->run && rn->run->finished;
    pthread_mutex_unlock(&rn->lock);
    if (fin)
        finish_run(rn);
    bench_sync(rn->bench);
    return 0;
}

static int on_queue_timer(sd_event_source *s, uint64_t usec, void *user)
{
    struct runner *rn = user;
    bench_hand_on(rn->bench);
    if (benchq_count(&rn->bench->waiting, BENCHQ_RUN))
        sd_event_source_set_time(s, usec + RUN_QUEUE_POLL_US);
    else
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
    return 0;
}

static struct runner *runner_get(struct bench *bench)
{
    if (bench->runner)
        return bench->runner;
    struct runner *rn = calloc(1, sizeof *rn);
    if (!rn)
        return NULL;
    rn->bench = bench;
    int rc = bridge_init(rn);
    if (rc >= 0)
        rc = sd_event_add_io(bench->rigd->ev, &rn->wake_src, rn->efd, EPOLLIN, on_wake, rn);
    if (rc >= 0)
        rc = sd_event_add_time_relative(bench->rigd->ev, &rn->queue_timer, CLOCK_MONOTONIC,
                                        RUN_QUEUE_POLL_US, 50000, on_queue_timer, rn);
    if (rc >= 0)
        rc = sd_event_source_set_enabled(rn->queue_timer, SD_EVENT_OFF);
    if (rc < 0) {
        bench_log(bench, LOG_ERR, "run: cannot set up the run manager: %s", strerror(-rc));
        rn->wake_src = sd_event_source_disable_unref(rn->wake_src);
        rn->queue_timer = sd_event_source_disable_unref(rn->queue_timer);
        bridge_destroy(rn);
        free(rn);
        return NULL;
    }
    bench->runner = rn;
    return rn;
}

/* ---- the "run" request ------------------------------------------------------- */

/* Make the run of a checked request (runreq.c), taking rq's sequence.
 * NULL after replying an error. check_bench: the bench is free for it
 * now, so the unit in the fixture must be the run's too. */
static struct run *prepare_run(struct bench *bench, struct api_client *c, const cJSON *req,
                               struct run_request *rq, bool check_bench)
{
    /* A missing device refuses even a run that would wait: a queued run
     * must not start on a bench that is not there. */
    unsigned attempt = 0;
    if (run_request_bench_ready(bench, c, req, rq, check_bench) < 0 ||
        runstore_check(bench, c, req, rq->dut, &attempt) < 0) {
        run_request_free(rq);
        return NULL;
    }
    struct run *run = calloc(1, sizeof *run);
    if (!run || record_uuid(run->run_id) < 0 || !(run->req = cJSON_Duplicate(req, 1))) {
        api_error(c, req, API_E_INTERNAL, "cannot set up the run (out of memory / no randomness)");
        run_request_free(rq);
        if (run)
            cJSON_Delete(run->req);
        free(run);
        return NULL;
    }
    run->seq = rq->seq;
    run->attempt = attempt;
    rq->seq = NULL;
    snprintf(run->dut, sizeof run->dut, "%s", rq->dut);
    snprintf(run->operator_name, sizeof run->operator_name, "%s", rq->operator_name);
    snprintf(run->study, sizeof run->study, "%s", rq->study);
    run->study_part = rq->study_part;
    run->study_trial = rq->study_trial;
    char err[256];
    if (check_bench && run_request_record_path(bench, rq, run->run_id, run->record_path,
                                               sizeof run->record_path, err, sizeof err) < 0) {
        api_error(c, req, API_E_INTERNAL, "%s", err);
        run_free(run);
        return NULL;
    }
    return run;
}

/* Claim the bench and start the worker. Replies to c either way. */
static void start_run(struct runner *rn, struct api_client *c, struct run *run)
{
    struct bench *bench = rn->bench;
    if (!run_claim_session(bench, c, run)) {
        run_free(run);
        return;
    }
    run->owner = c;
    snprintf(run->owner_name, sizeof run->owner_name, "%s (%s)", bench->owner.user,
             api_client_name(c));
    run->rn = rn;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    record_utc(&ts, run->started_utc);
    run->total = (unsigned)sequence_leaf_count(run->seq);
    pthread_mutex_lock(&rn->lock);
    run->rig_actions = rn->pending_actions; /* what the rig did since the last run */
    run->nrig_actions = rn->npending_actions;
    rn->pending_actions = NULL;
    rn->npending_actions = 0;
    rn->run = run;
    pthread_mutex_unlock(&rn->lock);
    bench_update_stream(bench);

    int rc = pthread_create(&run->thread, NULL, worker_main, run);
    if (rc != 0) {
        api_error(c, run->req, API_E_INTERNAL, "cannot start the run thread: %s", strerror(rc));
        pthread_mutex_lock(&rn->lock);
        rn->run = NULL;
        pthread_mutex_unlock(&rn->lock);
        if (run->claimed_session)
            session_release(bench, "run could not start");
        run_free(run);
        return;
    }
    run->thread_started = true;
    log_run_msg(LOG_NOTICE, RUN_LOG(run), "run %s: %s on %s for %s, record %s", run->run_id,
                run->seq->name ? run->seq->name : "?", run->dut, run->owner_name, run->record_path);

    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "run_id", run->run_id);
    cJSON_AddStringToObject(b, "state", "started");
    cJSON_AddStringToObject(b, "fixture", bench->name);
    cJSON_AddStringToObject(b, "record", run->record_path);
    runevents_add_attempt(b, run);
    api_reply(c, run->req, b);

    runevents_started(rn, run);
}

int runner_start_queued(struct bench *bench, struct api_client *c, const cJSON *req)
{
    struct runner *rn = bench->runner;
    /* (A motor still ramping down after the previous stop is the START's
     * business: penstart.c waits for it.) */
    if (!rn || !bench_free_for(bench, c))
        return 0;
    /* Re-validate: the files, the devices, the unit in the fixture. */
    struct run_request rq;
    struct run *run =
        run_request_parse(bench, c, req, &rq) < 0 ? NULL : prepare_run(bench, c, req, &rq, true);
    if (!run)
        return -1; /* refused, and told why */
    start_run(rn, c, run);
    return 1;
}

/* Errors in the order docs/API.md gives: the request's values and files
 * (a bad file never starts or queues a run), rigd's state, the bench. */
void runner_handle_run(struct bench *bench, struct api_client *c, const cJSON *req)
{
    struct run_request rq;
    if (run_request_parse(bench, c, req, &rq) < 0)
        return;
    struct runner *rn = runner_get(bench);
    if (bench->rigd->shutting_down || !rn || benchq_position(&bench->waiting, c, BENCHQ_RUN)) {
        if (bench->rigd->shutting_down)
            api_error(c, req, API_E_INVALID_STATE, "rigd is shutting down");
        else if (!rn)
            api_error(c, req, API_E_INTERNAL, "the run manager is not available");
        else
            api_error(c, req, API_E_INVALID_STATE, "this connection already has a run waiting");
        run_request_free(&rq);
        return;
    }
    bool free_now = bench_free_for(bench, c);
    struct run *run = prepare_run(bench, c, req, &rq, free_now);
    if (!run)
        return;
    if (free_now) {
        start_run(rn, c, run);
        return;
    }
    /* Only the stop that ended the previous run or session is still in
     * flight: that is the rig finishing its own work, not a busy bench.
     * The run waits for it (bounded by the stop's own bound) whether or
     * not the client asked to wait; refusing it would make an operator
     * retry a good pen because of rigd's timing. */
    bool wait = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "wait"));
    bool only_stopping =
        !rn->run && !bench->have_session && bench->stopping && g_queue_is_empty(&bench->waiting);
    if (!wait && !only_stopping) {
        busy_error(bench, c, req);
        run_free(run);
        return;
    }
    run_free(run);
    if (benchq_push(&bench->waiting, BENCHQ_RUN, c, req) < 0) {
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    sd_event_source_set_time_relative(rn->queue_timer, RUN_QUEUE_POLL_US);
    sd_event_source_set_enabled(rn->queue_timer, SD_EVENT_ON);
    if (!wait)
        return; /* the reply comes when it starts, a moment from now */
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "state", "queued");
    cJSON_AddStringToObject(ev, "fixture", rn->bench->name);
    cJSON_AddNumberToObject(ev, "position", benchq_position(&bench->waiting, c, BENCHQ_RUN));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
    if (id)
        cJSON_AddItemToObject(ev, "id", cJSON_Duplicate(id, 1));
    api_send(c, ev);
}

bool runner_abort(struct bench *bench, const char *reason)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return false;
    pthread_mutex_lock(&rn->lock);
    struct run *run = rn->run;
    if (run && !run->aborted) {
        run->aborted = true;
        snprintf(run->abort_reason, sizeof run->abort_reason, "%s", reason);
        log_run_msg(LOG_NOTICE, RUN_LOG(run), "run %s: aborting: %s", run->run_id, reason);
    }
    pthread_cond_broadcast(&rn->cond);
    pthread_mutex_unlock(&rn->lock);
    return run != NULL;
}

bool runner_abort_client(struct bench *bench, const struct api_client *c, const char *reason)
{
    struct runner *rn = bench->runner;
    if (!rn || !rn->run || !c || rn->run->owner != c)
        return false;
    return runner_abort(bench, reason);
}

bool runner_active_desc(struct bench *bench, char *desc, size_t len)
{
    struct runner *rn = bench->runner;
    if (!rn || !rn->run)
        return false;
    if (desc && len) {
        pthread_mutex_lock(&rn->lock);
        bool ending = rn->run->aborted;
        pthread_mutex_unlock(&rn->lock);
        snprintf(desc, len, "run %s (%s on %s) of %s is still %s", rn->run->run_id,
                 rn->run->seq->name ? rn->run->seq->name : "?", rn->run->dut, rn->run->owner_name,
                 ending ? "ending" : "active");
    }
    return true;
}

void runner_status_add(struct bench *bench, cJSON *body)
{
    struct runner *rn = bench->runner;
    /* Runs can wait with none active (a session holds the bench). */
    if (!rn || !rn->run) {
        cJSON_AddNullToObject(body, "run");
        cJSON_AddNumberToObject(body, "runs_waiting", benchq_count(&bench->waiting, BENCHQ_RUN));
        return;
    }
    struct run *run = rn->run;
    cJSON *j = cJSON_AddObjectToObject(body, "run");
    cJSON_AddStringToObject(j, "run_id", run->run_id);
    cJSON_AddStringToObject(j, "sequence", run->seq->name ? run->seq->name : "");
    cJSON_AddStringToObject(j, "file", run->seq->file ? run->seq->file : "");
    cJSON_AddStringToObject(j, "dut", run->dut);
    cJSON_AddStringToObject(j, "owner", run->owner_name);
    cJSON_AddStringToObject(j, "started", run->started_utc);
    cJSON_AddStringToObject(j, "record", run->record_path);
    pthread_mutex_lock(&rn->lock);
    cJSON_AddNumberToObject(j, "step", run->step);
    cJSON_AddNumberToObject(j, "total", run->total);
    cJSON_AddStringToObject(j, "step_name", run->step_name);
    cJSON_AddBoolToObject(j, "aborting", run->aborted);
    pthread_mutex_unlock(&rn->lock);
    cJSON_AddNumberToObject(body, "runs_waiting", benchq_count(&bench->waiting, BENCHQ_RUN));
}

void runner_client_gone(struct bench *bench, struct api_client *c)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    if (rn->run && rn->run->owner == c) {
        rn->run->owner = NULL;
        runner_abort(bench, "owner disconnected");
    }
}

void runner_on_rig_problem(struct bench *bench, const char *what)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    pthread_mutex_lock(&rn->lock);
    struct run *run = rn->run;
    if (run && !run->rig_problem[0]) {
        snprintf(run->rig_problem, sizeof run->rig_problem, "%s", what);
        log_run_msg(LOG_ERR, RUN_LOG(run), "run %s: rig problem: %s", run->run_id, what);
    }
    pthread_mutex_unlock(&rn->lock);
}

void runner_note_rig_action(struct bench *bench, struct rec_rig_action *action)
{
    struct runner *rn = runner_get(bench);
    if (!rn) {
        rec_rig_actions_free(action, 1);
        return;
    }
    pthread_mutex_lock(&rn->lock);
    struct rec_rig_action **arr = rn->run ? &rn->run->rig_actions : &rn->pending_actions;
    size_t *n = rn->run ? &rn->run->nrig_actions : &rn->npending_actions;
    struct rec_rig_action *more = realloc(*arr, (*n + 1) * sizeof *more);
    if (more) {
        more[(*n)++] = *action;
        *arr = more;
        free(action);
    } else {
        rec_rig_actions_free(action, 1);
    }
    pthread_mutex_unlock(&rn->lock);
}

void runner_attach(struct bench *bench)
{
    struct bench_hooks *h = &bench->hooks;
    h->samples = runner_on_samples;
    h->stream_event = runner_on_stream_event;
    h->sensor_lost = runner_on_sensor_lost;
    h->pen_lost = runner_on_pen_lost;
    h->rig_problem = runner_on_rig_problem;
    h->rig_action = runner_note_rig_action;
    h->run_active = runner_active_desc;
    h->run_start_queued = runner_start_queued;
    h->run_abort_client = runner_abort_client;
}

bool runner_defer_exit(struct bench *bench)
{
    struct runner *rn = bench->runner;
    if (!rn || !rn->run)
        return false;
    rn->exit_when_done = true;
    return true;
}

void runner_shutdown(struct bench *bench)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    runner_abort(bench, "rigd shutting down");
    bridge_shutdown(rn);
    pthread_mutex_lock(&rn->lock);
    struct run *run = rn->run;
    pthread_mutex_unlock(&rn->lock);
    if (run && run->thread_started) {
        pthread_join(run->thread, NULL);
        log_run_msg(
            LOG_NOTICE, RUN_LOG(run), "run %s ended at shutdown: %s; record %s", run->run_id,
            run->exec_rc < 0 ? "not started" : outcome_str(run->result.outcome), run->record_path);
        autoreport_start(rn, run, true);
    }
    autoreport_shutdown(rn);
    pthread_mutex_lock(&rn->lock);
    rn->run = NULL;
    pthread_mutex_unlock(&rn->lock);
    bridge_drop_events(rn);
    run_free(run);
    rec_rig_actions_free(rn->pending_actions, rn->npending_actions);
    rn->pending_actions = NULL;
    rn->npending_actions = 0;
    rn->wake_src = sd_event_source_disable_unref(rn->wake_src);
    rn->queue_timer = sd_event_source_disable_unref(rn->queue_timer);
    /* The runner itself stays until exit: driver completions of ops that
     * were in flight arrive when bench_close() frees the drivers. */
}
