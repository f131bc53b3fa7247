/* Runs in the daemon: see runner.h for the threading picture. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "log.h"
#include "rigd.h"
#include "run.h"
#include "runner.h"
#include "sequence.h"

/* Bound on one op issued to the event thread: far above the pen driver's
 * own bound (PEN_RESPONSE_TIMEOUT_MS x (1 + PEN_MAX_RETRIES)), so it only
 * fires when the daemon itself is wedged. */
#define RUN_OP_TIMEOUT_S 10.0
/* How long capture_end waits for the samples of the capture window still
 * in flight (one block + the device's transfer latency). */
#define RUN_CAPTURE_TAIL_S 1.0
/* A capture larger than this (~2.8 min at 50 kS/s) is cut and flagged. */
#define RUN_CAPTURE_MAX_SAMPLES (1u << 23)
/* Queued runs start from runner_bench_freed() as soon as the bench is
 * free; this slow poll is only a fallback for a transition not hooked. */
#define RUN_QUEUE_POLL_US 1000000u
/* At shutdown, time for the last events to reach clients' sockets. */

enum cmd_kind { CMD_PEN, CMD_PEN_STOP, CMD_CAPTURE_BEGIN, CMD_INSTRUMENTS, CMD_PEN_REST, CMD_TARE };

/* One op handed from the worker to the event thread. Two references (the
 * worker and the event thread); whoever lets go last frees it, so a worker
 * that gave up waiting never leaves the loop with a dangling pointer. */
struct run_cmd {
    struct run_cmd *next;
    int refs;
    enum cmd_kind kind;
    uint8_t pen_type;
    struct pen_msg req, resp;
    struct rig_instrument inst;
    struct rig_tare tare;
    bool done;
    int status;
    char err[200];
};

struct out_event {
    struct out_event *next;
    const char *topic;
    cJSON *ev;
};

struct capture {
    bool active;
    uint64_t begin_index;       /* samples before this are not ours */
    bool have_first;
    uint64_t first, next;       /* index of buf[0], expected next index */
    int32_t *force, *disp;
    size_t n, cap;
    uint32_t flags, rate_hz;
    char pen_lost[160];         /* the pen vanished during the capture */
};

struct run {
    struct runner *rn;
    pthread_t thread;
    bool thread_started;
    char run_id[37];
    struct api_client *owner;   /* NULL once gone (event thread only) */
    char owner_name[96];
    bool claimed_session;
    cJSON *req;
    struct rig_sequence *seq;
    char dut[64], operator_name[64], record_path[4096], started_utc[32];
    /* shared with the worker, under rn->lock */
    bool aborted;
    char abort_reason[160];
    bool finished;
    struct run_result result;
    int exec_rc;
    unsigned step, total;
    char step_name[96];
    struct capture cap;
    /* The rig's own problem since the run began (rig_ops.rig_check),
     * reported to the engine once; and what the rig did to the bench. */
    char rig_problem[200];
    bool rig_problem_told;
    cJSON *rig_actions;
};

/* The journal fields of a run's log lines (log.h). */
#define RUN_LOG(run)                                                                           \
    (&(struct log_run){ .station = (run)->rn->bench->rigd->cfg.station,                                  \
                        .fixture = (run)->rn->bench->name, .run_id = (run)->run_id,         \
                        .dut = (run)->dut })

struct queued {
    struct queued *next;
    struct api_client *c;
    cJSON *req;
};

struct runner {
    struct bench *bench;
    int efd;
    sd_event_source *wake_src, *queue_timer;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* CLOCK_MONOTONIC */
    struct run_cmd *cmds, **cmds_tail;
    struct run_cmd *inflight[16];   /* issued to drivers, not completed */
    struct out_event *out, **out_tail;
    bool loop_gone;
    bool exit_when_done;        /* shutdown waits for the run to end */
    struct run *run;
    struct queued *queue;
    cJSON *pending_actions;     /* rig actions since the last run, for the next one */
    /* Stream clock: maps monotonic time to the sensor's sample index. */
    bool clock_ok;
    uint64_t stream_end;
    uint32_t stream_rate;
    double min_offset;          /* min over deliveries of t*rate - end */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wake_loop(struct runner *rn)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    if (write(rn->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        bench_log(rn->bench, LOG_ERR, "run: cannot wake the event loop: %s", strerror(errno));
}

/* ---- stream clock (lock held) ------------------------------------------ */

/* Index of the sample the sensor is taking now. Samples arrive in blocks,
 * late by a block plus transfer latency; the smallest lateness seen since
 * the stream started is the best estimate of the fixed offset between the
 * monotonic clock and the sensor's counter. Never below what arrived. */
static uint64_t clock_now_index(const struct runner *rn)
{
    if (!rn->clock_ok || !rn->stream_rate)
        return rn->stream_end;
    double est = mono_s() * rn->stream_rate - rn->min_offset;
    if (!(est > (double)rn->stream_end))
        return rn->stream_end;
    /* A stalled stream must not run the estimate away: at most 0.2 s. */
    double cap = (double)rn->stream_end + 0.2 * rn->stream_rate;
    return (uint64_t)(est < cap ? est : cap);
}

static void clock_update(struct runner *rn, uint64_t first, size_t n, uint32_t rate)
{
    uint64_t end = first + n;
    double off = mono_s() * rate - (double)end;
    if (!rn->clock_ok || rate != rn->stream_rate || end < rn->stream_end ||
        first != rn->stream_end) {
        /* start, restart, gap: the old mapping no longer holds */
        rn->clock_ok = true;
        rn->stream_rate = rate;
        rn->min_offset = off;
    } else if (off < rn->min_offset) {
        rn->min_offset = off;
    }
    rn->stream_end = end;
}

/* ---- capture (lock held) ------------------------------------------------ */

static void capture_reset(struct capture *c)
{
    free(c->force);
    free(c->disp);
    memset(c, 0, sizeof *c);
}

static bool capture_grow(struct capture *c, size_t want)
{
    if (want <= c->cap)
        return true;
    size_t cap = c->cap ? c->cap : 65536;
    while (cap < want)
        cap *= 2;
    int32_t *f = realloc(c->force, cap * sizeof *f);
    if (f)
        c->force = f;
    int32_t *d = f ? realloc(c->disp, cap * sizeof *d) : NULL;
    if (d)
        c->disp = d;
    if (!f || !d)
        return false;
    c->cap = cap;
    return true;
}

static void capture_add(struct capture *c, uint64_t first, const int32_t *force,
                        const int32_t *disp, size_t n, uint32_t rate)
{
    if (first + n <= c->begin_index)
        return;
    if (first < c->begin_index) {
        size_t skip = (size_t)(c->begin_index - first);
        force += skip;
        disp += skip;
        n -= skip;
        first = c->begin_index;
    }
    if (!c->have_first) {
        c->have_first = true;
        c->first = c->next = first;
        c->rate_hz = rate;
    }
    if (first != c->next || rate != c->rate_hz) {
        /* Samples were lost (or the stream restarted): never stitch. */
        c->flags |= AN_F_SAMPLE_LOSS;
        return;
    }
    if (c->n + n > RUN_CAPTURE_MAX_SAMPLES || !capture_grow(c, c->n + n)) {
        c->flags |= AN_F_SAMPLE_LOSS;
        c->next = first + n;
        return;
    }
    memcpy(c->force + c->n, force, n * sizeof *force);
    memcpy(c->disp + c->n, disp, n * sizeof *disp);
    c->n += n;
    c->next = first + n;
}

/* ---- worker side: ops ---------------------------------------------------- */

static struct run *R(void *ctx) { return ctx; }

/* Wait on the condvar until deadline (monotonic seconds). */
static void cond_wait_until(struct runner *rn, double deadline)
{
    struct timespec ts;
    ts.tv_sec = (time_t)deadline;
    ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&rn->cond, &rn->lock, &ts);
}

static void cmd_unref_locked(struct run_cmd *cmd)
{
    if (--cmd->refs == 0)
        free(cmd);
}

/* Post a command and wait for the event thread to complete it. */
static int run_cmd(struct run *run, struct run_cmd *cmd, char *err, size_t errlen)
{
    struct runner *rn = run->rn;
    cmd->refs = 2;
    pthread_mutex_lock(&rn->lock);
    if (rn->loop_gone) {
        cmd->refs = 1;      /* only the worker's: nothing will run it */
        pthread_mutex_unlock(&rn->lock);
        snprintf(err, errlen, "rigd is shutting down");
        return -ESHUTDOWN;
    }
    *rn->cmds_tail = cmd;
    rn->cmds_tail = &cmd->next;
    pthread_mutex_unlock(&rn->lock);
    wake_loop(rn);

    double deadline = mono_s() + RUN_OP_TIMEOUT_S;
    pthread_mutex_lock(&rn->lock);
    while (!cmd->done && mono_s() < deadline)
        cond_wait_until(rn, deadline);
    int st;
    if (cmd->done) {
        st = cmd->status;
        if (err && errlen)
            snprintf(err, errlen, "%s", cmd->err);
    } else {
        cmd->done = true;   /* a late completion is ignored */
        st = -ETIMEDOUT;
        snprintf(err, errlen, "rigd did not complete the request within %.0f s", RUN_OP_TIMEOUT_S);
    }
    pthread_mutex_unlock(&rn->lock);
    return st;
}

static struct run_cmd *cmd_new(enum cmd_kind kind, uint8_t pen_type)
{
    struct run_cmd *c = calloc(1, sizeof *c);
    if (c) {
        c->kind = kind;
        c->pen_type = pen_type;
    }
    return c;
}

/* A pen request; on success *resp (if given) gets the answer. */
static int pen_op(struct run *run, uint8_t type, const struct pen_msg *req, struct pen_msg *resp,
                  char *err, size_t errlen)
{
    struct run_cmd *cmd = cmd_new(CMD_PEN, type);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (req)
        cmd->req = *req;
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    if (rc == 0 && resp)
        *resp = cmd->resp;
    cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc;
}

static int op_identify(void *ctx, struct pen_identity *id, char *err, size_t errlen)
{
    struct pen_msg resp;
    int rc = pen_op(R(ctx), PEN_MSG_IDENTIFY, NULL, &resp, err, errlen);
    if (rc == 0)
        *id = resp.u.identity;
    return rc;
}

static int op_set_rate(void *ctx, uint32_t rate_mhz, char *err, size_t errlen)
{
    struct pen_msg m = {.u.rate_mhz = rate_mhz};
    return pen_op(R(ctx), PEN_MSG_SET_RATE, &m, NULL, err, errlen);
}

static int op_set_depth(void *ctx, uint16_t depth_um, char *err, size_t errlen)
{
    struct pen_msg m = {.u.depth_um = depth_um};
    return pen_op(R(ctx), PEN_MSG_SET_DEPTH, &m, NULL, err, errlen);
}

static int op_start(void *ctx, char *err, size_t errlen)
{
    return pen_op(R(ctx), PEN_MSG_START, NULL, NULL, err, errlen);
}

static int op_stop(void *ctx, char *err, size_t errlen)
{
    struct run_cmd *cmd = cmd_new(CMD_PEN_STOP, PEN_MSG_STOP);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct run *run = R(ctx);
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc;
}

static int op_status(void *ctx, struct pen_status *st, char *err, size_t errlen)
{
    struct pen_msg resp;
    int rc = pen_op(R(ctx), PEN_MSG_GET_STATUS, NULL, &resp, err, errlen);
    if (rc == 0)
        *st = resp.u.status;
    return rc;
}

static int op_capture_begin(void *ctx, char *err, size_t errlen)
{
    struct run *run = R(ctx);
    struct run_cmd *cmd = cmd_new(CMD_CAPTURE_BEGIN, 0);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc;
}

static uint64_t op_capture_mark(void *ctx)
{
    struct run *run = R(ctx);
    struct runner *rn = run->rn;
    pthread_mutex_lock(&rn->lock);
    /* Right after a stream (re)start there is no mapping yet: wait for the
     * first block (bounded) rather than answer from a stale one. */
    double deadline = mono_s() + RUN_CAPTURE_TAIL_S;
    while (!rn->clock_ok && !run->aborted && !rn->loop_gone && mono_s() < deadline)
        cond_wait_until(rn, deadline);
    uint64_t m = clock_now_index(rn);
    pthread_mutex_unlock(&rn->lock);
    return m;
}

/* Hand over the capture: everything from begin up to the sample being
 * taken now, waiting (bounded) for the tail still in transit. */
static int op_capture_end(void *ctx, struct rig_capture *out, char *err, size_t errlen)
{
    struct run *run = R(ctx);
    struct runner *rn = run->rn;
    pthread_mutex_lock(&rn->lock);
    struct capture *c = &run->cap;
    uint64_t target = clock_now_index(rn);
    double deadline = mono_s() + RUN_CAPTURE_TAIL_S;
    while (c->active && !run->aborted && !rn->loop_gone && !(c->flags & AN_F_DISCONNECT) &&
           !c->pen_lost[0] &&
           (!c->have_first || c->next < target) && mono_s() < deadline)
        cond_wait_until(rn, deadline);
    bool had_samples = c->have_first;
    char pen_lost[sizeof c->pen_lost];
    snprintf(pen_lost, sizeof pen_lost, "%s", c->pen_lost);
    if (c->have_first && c->next > target && target > c->first) {
        size_t keep = (size_t)(target - c->first);
        if (keep < c->n)
            c->n = keep;
    }
    memset(out, 0, sizeof *out);
    out->force_un = c->force;
    out->disp_nm = c->disp;
    out->n = c->n;
    out->rate_hz = c->rate_hz;
    out->first_sample = c->first;
    out->flags = c->flags;
    c->force = c->disp = NULL;
    capture_reset(c);
    bool aborted = run->aborted;
    pthread_mutex_unlock(&rn->lock);
    if (aborted) {
        capture_free(out);
        snprintf(err, errlen, "aborted");
        return -ECANCELED;
    }
    if (pen_lost[0]) {
        capture_free(out);
        snprintf(err, errlen, "pen disconnected during the capture (%s)", pen_lost);
        return -ENODEV;
    }
    if (!had_samples && !(out->flags & AN_F_DISCONNECT)) {
        capture_free(out);
        snprintf(err, errlen, "no samples from the sensor head during the capture");
        return -EIO;
    }
    if (!out->force_un) {
        /* The engine wants arrays even for an empty (disconnected) capture. */
        out->force_un = malloc(sizeof *out->force_un);
        out->disp_nm = malloc(sizeof *out->disp_nm);
        if (!out->force_un || !out->disp_nm) {
            capture_free(out);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    return 0;
}

/* A device vanished during the capture in progress: nothing more can be
 * captured, so its wait ends now (lock held). */
static bool capture_doomed(const struct run *run)
{
    const struct capture *c = &run->cap;
    return c->active && ((c->flags & AN_F_DISCONNECT) || c->pen_lost[0]);
}

/* Returns 0 early when the capture in progress lost a device: capture_end
 * then reports the disconnect (ERROR) at once instead of after the whole
 * capture time. */
static int op_sleep(void *ctx, double seconds)
{
    struct run *run = R(ctx);
    struct runner *rn = run->rn;
    double deadline = mono_s() + seconds;
    pthread_mutex_lock(&rn->lock);
    while (!run->aborted && !capture_doomed(run) && mono_s() < deadline)
        cond_wait_until(rn, deadline);
    bool ab = run->aborted;
    pthread_mutex_unlock(&rn->lock);
    return ab ? -ECANCELED : 0;
}

static bool op_aborted(void *ctx)
{
    struct run *run = R(ctx);
    pthread_mutex_lock(&run->rn->lock);
    bool ab = run->aborted;
    pthread_mutex_unlock(&run->rn->lock);
    return ab;
}

/* Why the run was aborted, in rigd's words (runner_abort's reason). */
static void op_abort_reason(void *ctx, char *buf, size_t len)
{
    struct run *run = R(ctx);
    pthread_mutex_lock(&run->rn->lock);
    snprintf(buf, len, "%s", run->abort_reason);
    pthread_mutex_unlock(&run->rn->lock);
}

static int op_instruments(void *ctx, struct rig_instrument *out, size_t max, char *err,
                          size_t errlen)
{
    struct run *run = R(ctx);
    struct run_cmd *cmd = cmd_new(CMD_INSTRUMENTS, 0);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    if (rc == 0 && max > 0)
        out[0] = cmd->inst;
    cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc < 0 ? rc : (max > 0 ? 1 : 0);
}

/* A command without payload in or out: post it, wait, free it. */
static int simple_cmd(struct run *run, enum cmd_kind kind, struct run_cmd **keep, char *err,
                      size_t errlen)
{
    struct run_cmd *cmd = cmd_new(kind, 0);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    if (keep && rc == 0)
        *keep = cmd;        /* the caller reads it, then unrefs */
    else
        cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc;
}

static int op_pen_wait_rest(void *ctx, char *err, size_t errlen)
{
    return simple_cmd(R(ctx), CMD_PEN_REST, NULL, err, errlen);
}

static int op_sensor_tare(void *ctx, struct rig_tare *out, char *err, size_t errlen)
{
    struct run *run = R(ctx);
    struct run_cmd *cmd = NULL;
    int rc = simple_cmd(run, CMD_TARE, &cmd, err, errlen);
    if (rc == 0) {
        pthread_mutex_lock(&run->rn->lock);
        *out = cmd->tare;
        cmd_unref_locked(cmd);
        pthread_mutex_unlock(&run->rn->lock);
    }
    return rc;
}

/* Make the answer current: a status round trip to the pen first, so every
 * event it sent before (a watchdog fault) has been handled by the loop. */
static bool op_rig_check(void *ctx, char *buf, size_t len)
{
    struct run *run = R(ctx);
    char err[200];
    struct pen_msg resp;
    (void)pen_op(run, PEN_MSG_GET_STATUS, NULL, &resp, err, sizeof err);
    pthread_mutex_lock(&run->rn->lock);
    bool tell = run->rig_problem[0] && !run->rig_problem_told;
    if (tell) {
        run->rig_problem_told = true;
        snprintf(buf, len, "%s", run->rig_problem);
    }
    pthread_mutex_unlock(&run->rn->lock);
    return tell;
}

static cJSON *op_rig_actions(void *ctx)
{
    struct run *run = R(ctx);
    pthread_mutex_lock(&run->rn->lock);
    cJSON *a = run->rig_actions ? cJSON_Duplicate(run->rig_actions, 1) : NULL;
    pthread_mutex_unlock(&run->rn->lock);
    return a;
}

/* ---- worker side: events ------------------------------------------------- */

static void post_event(struct run *run, const char *topic, cJSON *ev)
{
    if (!ev)
        return;
    struct out_event *o = calloc(1, sizeof *o);
    if (!o) {
        cJSON_Delete(ev);
        return;
    }
    o->topic = topic;
    o->ev = ev;
    struct runner *rn = run->rn;
    pthread_mutex_lock(&rn->lock);
    *rn->out_tail = o;
    rn->out_tail = &o->next;
    pthread_mutex_unlock(&rn->lock);
    wake_loop(rn);
}

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
        record_add_number(ev, "value", m->value);   /* the record's digits, null if NaN */
    cJSON_AddStringToObject(ev, "units", m->units);
    cJSON_AddStringToObject(ev, "limits", m->limit);
    cJSON_AddStringToObject(ev, "outcome", outcome_str(m->outcome));
    cJSON_AddBoolToObject(ev, "marginal", m->marginal);
    add_str_or_null(ev, "note", m->note);
    post_event(run, "measurements", ev);
}

static void op_emit(void *ctx, const struct run_event *e)
{
    struct run *run = R(ctx);
    switch (e->kind) {
    case RUN_EV_STEP_BEGIN: emit_step_begin(run, e); break;
    case RUN_EV_STEP_END: emit_step_end(run, e); break;
    case RUN_EV_MEASUREMENT: emit_measurement(run, e); break;
    }
}

static const struct rig_ops runner_ops = {
    .pen_identify = op_identify,
    .pen_set_rate = op_set_rate,
    .pen_set_depth = op_set_depth,
    .pen_start = op_start,
    .pen_stop = op_stop,
    .pen_status = op_status,
    .capture_begin = op_capture_begin,
    .capture_mark = op_capture_mark,
    .capture_end = op_capture_end,
    .sleep = op_sleep,
    .aborted = op_aborted,
    .abort_reason = op_abort_reason,
    .instruments = op_instruments,
    .rig_check = op_rig_check,
    .pen_wait_rest = op_pen_wait_rest,
    .sensor_tare = op_sensor_tare,
    .rig_actions = op_rig_actions,
    .emit = op_emit,
};

static void *worker_main(void *arg)
{
    struct run *run = arg;
    struct run_config cfg = {
        .seq = run->seq,
        .run_id = run->run_id,
        .dut_serial = run->dut,
        .operator_name = run->operator_name[0] ? run->operator_name : NULL,
        .station_id = run->rn->bench->rigd->cfg.station,
        .fixture = run->rn->bench->name,
        .record_path = run->record_path,
        /* the contents the client sent (path mode: the engine reads the files) */
    };
    struct run_result res;
    int rc = run_execute(&cfg, &runner_ops, run, &res);
    pthread_mutex_lock(&run->rn->lock);
    run->result = res;
    run->exec_rc = rc;
    run->finished = true;
    pthread_mutex_unlock(&run->rn->lock);
    wake_loop(run->rn);
    return NULL;
}

/* ---- event thread: executing commands -------------------------------------- */

static void inflight_add(struct runner *rn, struct run_cmd *cmd)
{
    for (size_t i = 0; i < sizeof rn->inflight / sizeof rn->inflight[0]; i++)
        if (!rn->inflight[i]) {
            rn->inflight[i] = cmd;
            return;
        }
    /* The worker has one op at a time; more than 16 means abandoned ops
     * piled up: they still complete through their callbacks. */
}

static void inflight_del(struct runner *rn, struct run_cmd *cmd)
{
    for (size_t i = 0; i < sizeof rn->inflight / sizeof rn->inflight[0]; i++)
        if (rn->inflight[i] == cmd)
            rn->inflight[i] = NULL;
}

/* Complete a command on the event thread and drop the loop's reference. */
static void cmd_complete(struct runner *rn, struct run_cmd *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cmd_complete(struct runner *rn, struct run_cmd *cmd, int status, const char *fmt, ...)
{
    pthread_mutex_lock(&rn->lock);
    inflight_del(rn, cmd);
    if (!cmd->done) {
        cmd->done = true;
        cmd->status = status;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(cmd->err, sizeof cmd->err, fmt, ap);
            va_end(ap);
        }
        pthread_cond_broadcast(&rn->cond);
    }
    cmd_unref_locked(cmd);
    pthread_mutex_unlock(&rn->lock);
}

/* The runner outlives every command (freed only after the worker joined
 * and the drivers are closed), so completions may reach it. */
static struct runner *g_runner;

static void pen_cmd_done(void *user, int status, const struct pen_msg *resp)
{
    struct run_cmd *cmd = user;
    struct runner *rn = g_runner;
    if (status == 0) {
        pthread_mutex_lock(&rn->lock);
        cmd->resp = *resp;
        pthread_mutex_unlock(&rn->lock);
        cmd_complete(rn, cmd, 0, NULL);
    } else if (status == PEN_DRV_NAK) {
        uint8_t code = resp ? resp->u.nak.error : 0;
        uint32_t faults = 0;
        if (rn->bench && rn->bench->pen)
            (void)pen_drv_motor(rn->bench->pen, NULL, &faults);
        char names[96];
        pen_fault_names(faults & PEN_FAULT_LATCHED, names, sizeof names);
        if (code == PEN_ERR_FAULT_ACTIVE && (faults & PEN_FAULT_LATCHED) == PEN_FAULT_HOST_CAUSED)
            /* Latched because the rig stopped feeding the watchdog: the
             * rig's problem, not the pen's (the fault is being cleared). */
            cmd_complete(rn, cmd, -EIO, "pen refused %s: %s fault latched because the rig "
                         "let the pen's watchdog expire", pen_msg_type_str(cmd->pen_type), names);
        else if (code == PEN_ERR_FAULT_ACTIVE && (faults & PEN_FAULT_LATCHED))
            cmd_complete(rn, cmd, RIG_OPS_NAK(code), "%s: %s", pen_error_str(code), names);
        else
            cmd_complete(rn, cmd, RIG_OPS_NAK(code), "%s", pen_error_str(code));
    } else if (status == -ETIMEDOUT) {
        cmd_complete(rn, cmd, -EIO, "pen did not answer %s after %d tries",
                     pen_msg_type_str(cmd->pen_type), 1 + PEN_MAX_RETRIES);
    } else if (status == -ENODEV) {
        cmd_complete(rn, cmd, -ENODEV, "pen disconnected during %s", pen_msg_type_str(cmd->pen_type));
    } else {
        cmd_complete(rn, cmd, status < 0 ? status : -EIO, "%s failed: %s",
                     pen_msg_type_str(cmd->pen_type), strerror(status < 0 ? -status : EIO));
    }
    if (rn->bench)
        bench_sync(rn->bench);
}

static void stop_cmd_done(struct bench *bench, void *user, bool confirmed, const char *detail)
{
    (void)bench;
    struct run_cmd *cmd = user;
    if (confirmed)
        cmd_complete(g_runner, cmd, 0, NULL);
    else
        cmd_complete(g_runner, cmd, -EIO, "motor stop not confirmed: %s", detail);
}

static bool run_aborted(struct runner *rn)
{
    pthread_mutex_lock(&rn->lock);
    bool ab = rn->run && rn->run->aborted;
    pthread_mutex_unlock(&rn->lock);
    return ab;
}

/* Asked by penstart.c right before a START that waited goes out. */
static bool start_still_wanted(void *user)
{
    (void)user;
    struct runner *rn = g_runner;
    return !run_aborted(rn) && !rn->bench->rigd->shutting_down && !rn->bench->unvouched;
}

static void exec_pen(struct runner *rn, struct run_cmd *cmd)
{
    struct bench *bench = rn->bench;
    if (!bench->pen || !pen_drv_present(bench->pen)) {
        cmd_complete(rn, cmd, -ENODEV, "pen not attached");
        return;
    }
    if (cmd->pen_type == PEN_MSG_START) {
        /* An aborted run never (re)starts the motor, not even in teardown. */
        if (run_aborted(rn) || bench->rigd->shutting_down) {
            cmd_complete(rn, cmd, -ECANCELED, "run aborted: motor not started");
            return;
        }
        if (bench->unvouched) {
            cmd_complete(rn, cmd, -EIO, "a motor stop was not confirmed; re-attach the pen");
            return;
        }
    }
    int rc = cmd->pen_type == PEN_MSG_START
                 ? pen_start_when_ready(bench, pen_cmd_done, start_still_wanted, cmd)
                 : pen_drv_request(bench->pen, cmd->pen_type, &cmd->req, pen_cmd_done, cmd);
    if (rc < 0) {
        cmd_complete(rn, cmd, rc, "cannot send %s: %s", pen_msg_type_str(cmd->pen_type),
                     strerror(-rc));
        return;
    }
    pthread_mutex_lock(&rn->lock);
    inflight_add(rn, cmd);
    pthread_mutex_unlock(&rn->lock);
    bench_sync(bench);
}

static void exec_capture_begin(struct runner *rn, struct run_cmd *cmd)
{
    struct bench *bench = rn->bench;
    if (!bench->sh || !sh_drv_present(bench->sh)) {
        cmd_complete(rn, cmd, -ENODEV, "sensor head not attached");
        return;
    }
    bench_update_stream(bench);   /* the session wants the stream: make sure */
    pthread_mutex_lock(&rn->lock);
    if (rn->run) {
        capture_reset(&rn->run->cap);
        rn->run->cap.active = true;
        /* Without a valid clock (stream not yet delivering after a (re)start)
         * there is no index yet: take everything the new stream brings. */
        rn->run->cap.begin_index =
            sh_drv_streaming(bench->sh) && rn->clock_ok ? clock_now_index(rn) : 0;
    }
    pthread_mutex_unlock(&rn->lock);
    cmd_complete(rn, cmd, 0, NULL);
}

static void exec_instruments(struct runner *rn, struct run_cmd *cmd)
{
    struct bench *bench = rn->bench;
    const struct sh_identity *id = bench->sh ? sh_drv_identity(bench->sh) : NULL;
    const struct sh_calibration *cal = bench->sh ? sh_drv_calibration(bench->sh) : NULL;
    if (!bench->sh || !sh_drv_present(bench->sh) || !id || !cal) {
        cmd_complete(rn, cmd, -ENODEV, "sensor head not attached (identity unknown)");
        return;
    }
    struct rig_instrument *in = &cmd->inst;
    memset(in, 0, sizeof *in);
    snprintf(in->role, sizeof in->role, "sensor-head");
    snprintf(in->model, sizeof in->model, "%s", id->model);
    snprintf(in->serial, sizeof in->serial, "%s", id->serial);
    snprintf(in->firmware, sizeof in->firmware, "%u.%u.%u", id->fw_major, id->fw_minor,
             id->fw_patch);
    in->cal_date = cal->cal_date;
    in->cal_due = cal->due_date;
    snprintf(in->certificate, sizeof in->certificate, "%s", cal->certificate);
    in->has_coefficients = true;
    in->force_gain_ppm = cal->force_gain_ppm;
    in->force_offset_un = cal->force_offset_un;
    in->disp_gain_ppm = cal->disp_gain_ppm;
    in->disp_offset_nm = cal->disp_offset_nm;
    cmd_complete(rn, cmd, 0, NULL);
}

static void rest_done(void *user, int status, const struct pen_msg *resp)
{
    (void)resp;
    struct runner *rn = g_runner;
    if (status == 0)
        cmd_complete(rn, user, 0, NULL);
    else
        cmd_complete(rn, user, status == -ENODEV ? -ENODEV : -EIO,
                     "the pen's motor did not come to rest within %d ms", RIGD_PEN_SETTLE_MS);
}

static void tare_done(void *user, int status, const char *msg)
{
    struct runner *rn = g_runner;
    struct run_cmd *cmd = user;
    struct bench *bench = rn->bench;
    if (status != 0) {
        cmd_complete(rn, cmd, status == -ENODEV ? -ENODEV : -EIO, "sensor head TARE: %s", msg);
        return;
    }
    int32_t raw = 0;
    (void)sh_drv_tare_info(bench->sh, &raw);
    const struct sh_calibration *cal = sh_drv_calibration(bench->sh);
    pthread_mutex_lock(&rn->lock);
    cmd->tare.offset_raw_un = raw;
    /* what the tare took as zero, in calibrated terms (an untared reading) */
    cmd->tare.zero_n = cal ? sh_cal_force(cal, raw) / 1e6 : NAN;
    pthread_mutex_unlock(&rn->lock);
    cmd_complete(rn, cmd, 0, NULL);
}

static void exec_cmd(struct runner *rn, struct run_cmd *cmd)
{
    switch (cmd->kind) {
    case CMD_PEN:
        exec_pen(rn, cmd);
        break;
    case CMD_PEN_STOP: {
        char why[96];
        snprintf(why, sizeof why, "run %.8s: stop", rn->run ? rn->run->run_id : "?");
        pthread_mutex_lock(&rn->lock);
        inflight_add(rn, cmd);
        pthread_mutex_unlock(&rn->lock);
        safe_stop(rn->bench, why, stop_cmd_done, cmd);
        break;
    }
    case CMD_CAPTURE_BEGIN:
        exec_capture_begin(rn, cmd);
        break;
    case CMD_INSTRUMENTS:
        exec_instruments(rn, cmd);
        break;
    case CMD_PEN_REST:
        if (pen_when_at_rest(rn->bench, rest_done, cmd) < 0)
            cmd_complete(rn, cmd, -ENODEV, "pen not attached");
        break;
    case CMD_TARE:
        if (!rn->bench->sh || sh_drv_tare(rn->bench->sh, tare_done, cmd) < 0)
            cmd_complete(rn, cmd, -ENODEV, "sensor head not attached");
        else
            bench_sync(rn->bench);
        break;
    }
}

/* ---- event thread: run lifecycle --------------------------------------------- */

static void send_to_run(struct runner *rn, const char *topic, cJSON *ev)
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

static void run_free(struct run *run)
{
    if (!run)
        return;
    capture_reset(&run->cap);
    sequence_free(run->seq);
    cJSON_Delete(run->req);
    cJSON_Delete(run->rig_actions);
    free(run);
}

static void try_start_queued(struct runner *rn);

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
        snprintf(reason, sizeof reason, "aborted: %s", run->abort_reason);   /* engine gave none */
    else if (res->outcome != OUTCOME_PASS)
        snprintf(reason, sizeof reason, "%s", res->message);
    log_run_msg(LOG_NOTICE, RUN_LOG(run), "run %s (%s on %s) finished: %s%s%s; record %s", run->run_id,
            run->seq->name ? run->seq->name : "?", run->dut, outcome, reason[0] ? " - " : "",
            reason, run->record_path);
    if (res->record_error[0])
        log_run_msg(LOG_ERR, RUN_LOG(run), "run %s: record problem: %s", run->run_id,
                    res->record_error);

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
        rigd_exit_when_settled(bench->rigd, true);
        return;
    }
    /* A session the run claimed ends with it (the release stops the motor
     * once more: a confirmed stop is the bench's resting state). A session
     * the client held before the run stays its own, but a run that did not
     * pass still gets rigd's own stop on top of the engine's. */
    if (owner && claimed && session_owned_by(bench, owner))
        session_release(bench, "run finished");
    else if (!passed && !bench->stopping)
        safe_stop(bench, "run ended without PASS", NULL, NULL);
    /* Session claims were refused while the run was ending; with no stop
     * in flight nothing else will hand the bench on (a stop's completion
     * does so itself). */
    if (!bench->stopping)
        session_after_stop(bench);
    bench_update_stream(bench);
    try_start_queued(rn);
}


static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *user)
{
    (void)s;
    (void)revents;
    struct runner *rn = user;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        bench_log(rn->bench, LOG_ERR, "run: eventfd read: %s", strerror(errno));
    for (;;) {
        pthread_mutex_lock(&rn->lock);
        struct run_cmd *cmd = rn->cmds;
        if (cmd) {
            rn->cmds = cmd->next;
            if (!rn->cmds)
                rn->cmds_tail = &rn->cmds;
            cmd->next = NULL;
        }
        struct out_event *o = cmd ? NULL : rn->out;
        if (o) {
            rn->out = o->next;
            if (!rn->out)
                rn->out_tail = &rn->out;
        }
        pthread_mutex_unlock(&rn->lock);
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
    try_start_queued(rn);
    if (rn->queue)
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
    rn->cmds_tail = &rn->cmds;
    rn->out_tail = &rn->out;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rn->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rn->lock, NULL);
    rn->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = rn->efd < 0 ? -errno : sd_event_add_io(bench->rigd->ev, &rn->wake_src, rn->efd, EPOLLIN, on_wake, rn);
    if (rc >= 0)
        rc = sd_event_add_time_relative(bench->rigd->ev, &rn->queue_timer, CLOCK_MONOTONIC, RUN_QUEUE_POLL_US,
                                        50000, on_queue_timer, rn);
    if (rc >= 0)
        rc = sd_event_source_set_enabled(rn->queue_timer, SD_EVENT_OFF);
    if (rc < 0) {
        bench_log(bench, LOG_ERR, "run: cannot set up the run manager: %s", strerror(-rc));
        rn->wake_src = sd_event_source_disable_unref(rn->wake_src);
        rn->queue_timer = sd_event_source_disable_unref(rn->queue_timer);
        if (rn->efd >= 0)
            close(rn->efd);
        pthread_cond_destroy(&rn->cond);
        pthread_mutex_destroy(&rn->lock);
        free(rn);
        return NULL;
    }
    bench->runner = rn;
    g_runner = rn;
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
    if (run_request_bench_ready(bench, c, req, rq, check_bench) < 0) {
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
    rq->seq = NULL;
    snprintf(run->dut, sizeof run->dut, "%s", rq->dut);
    snprintf(run->operator_name, sizeof run->operator_name, "%s", rq->operator_name);
    char err[256];
    if (check_bench && run_request_record_path(bench, rq, run->run_id, run->record_path,
                                               sizeof run->record_path, err, sizeof err) < 0) {
        api_error(c, req, API_E_INTERNAL, "%s", err);
        run_free(run);
        return NULL;
    }
    return run;
}

/* The bench is free for c: it owns the session, or nobody does. */
static bool bench_free_for(struct bench *bench, struct api_client *c)
{
    struct runner *rn = bench->runner;
    if (rn && rn->run)
        return false;
    return session_owned_by(bench, c) || (!bench->have_session && !bench->stopping);
}

static void busy_error(struct bench *bench, struct api_client *c, const cJSON *req)
{
    struct runner *rn = bench->runner;
    if (rn && rn->run)
        api_error(c, req, API_E_BUSY, "bench busy: run %s (%s on %s) owned by %s; retry or use --wait",
                  rn->run->run_id, rn->run->seq->name ? rn->run->seq->name : "?", rn->run->dut,
                  rn->run->owner_name);
    else if (bench->have_session)
        api_error(c, req, API_E_BUSY,
                  "bench busy: session %llu owned by %s (pid %ld) on %s since %s; retry or use --wait",
                  (unsigned long long)bench->owner.id, bench->owner.user, (long)bench->owner.pid, bench->owner.host,
                  bench->owner.started);
    else
        api_error(c, req, API_E_BUSY, "bench busy: a motor stop is in progress; retry");
}

/* Claim the bench and start the worker. Replies to c either way. */
static void start_run(struct runner *rn, struct api_client *c, struct run *run)
{
    struct bench *bench = rn->bench;
    if (!session_owned_by(bench, c)) {
        cJSON *claim = cJSON_CreateObject();
        char purpose[128];
        snprintf(purpose, sizeof purpose, "run %s on %s", run->seq->name ? run->seq->name : "?",
                 run->dut);
        cJSON_AddStringToObject(claim, "purpose", purpose);
        int rc = session_claim(bench, c, claim, false);
        cJSON_Delete(claim);
        if (rc < 0) {
            busy_error(bench, c, run->req);
            run_free(run);
            return;
        }
        run->claimed_session = true;
    }
    run->owner = c;
    snprintf(run->owner_name, sizeof run->owner_name, "%s (%s)", bench->owner.user, api_client_name(c));
    run->rn = rn;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    record_utc(&ts, run->started_utc);
    run->total = (unsigned)sequence_leaf_count(run->seq);
    pthread_mutex_lock(&rn->lock);
    run->rig_actions = rn->pending_actions;     /* what the rig did since the last run */
    rn->pending_actions = NULL;
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
    api_reply(c, run->req, b);

    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "event", "started");
    cJSON_AddStringToObject(ev, "run_id", run->run_id);
    cJSON_AddStringToObject(ev, "sequence", run->seq->name ? run->seq->name : "");
    cJSON_AddStringToObject(ev, "dut", run->dut);
    cJSON_AddNumberToObject(ev, "steps", run->total);
    cJSON_AddStringToObject(ev, "record", run->record_path);
    char msg[4400];
    snprintf(msg, sizeof msg, "%.100s on %s, %u steps, record %s", run->seq->name ? run->seq->name : "?",
             run->dut, run->total, run->record_path);
    cJSON_AddStringToObject(ev, "message", msg);
    send_to_run(rn, "run", ev);
}

static int queue_position(struct runner *rn, struct api_client *c)
{
    int pos = 1;
    for (struct queued *q = rn->queue; q; q = q->next, pos++)
        if (q->c == c)
            return pos;
    return 0;
}

static void try_start_queued(struct runner *rn)
{
    struct bench *bench = rn->bench;
    /* (A motor still ramping down after the previous stop is the START's
     * business: penstart.c waits for it.) */
    while (rn->queue && !bench->rigd->shutting_down && bench_free_for(bench, rn->queue->c)) {
        struct queued *q = rn->queue;
        rn->queue = q->next;
        /* Re-validate: the files, the devices, the unit in the fixture. */
        struct run_request rq;
        struct run *run = run_request_parse(bench, q->c, q->req, &rq) < 0
                              ? NULL
                              : prepare_run(bench, q->c, q->req, &rq, true);
        cJSON_Delete(q->req);
        struct api_client *c = q->c;
        free(q);
        if (run) {
            start_run(rn, c, run);
            break;
        }
    }
}

/* Errors in the order docs/API.md gives: the request's values and files
 * (a bad file never starts or queues a run), rigd's state, the bench. */
void runner_handle_run(struct bench *bench, struct api_client *c, const cJSON *req)
{
    struct run_request rq;
    if (run_request_parse(bench, c, req, &rq) < 0)
        return;
    struct runner *rn = runner_get(bench);
    if (bench->rigd->shutting_down || !rn || queue_position(rn, c)) {
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
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "wait"))) {
        busy_error(bench, c, req);
        run_free(run);
        return;
    }
    run_free(run);
    struct queued *q = calloc(1, sizeof *q);
    if (!q || !(q->req = cJSON_Duplicate(req, 1))) {
        free(q);
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    q->c = c;
    struct queued **pp = &rn->queue;
    while (*pp)
        pp = &(*pp)->next;
    *pp = q;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "class", "run");
    cJSON_AddStringToObject(ev, "state", "queued");
    cJSON_AddStringToObject(ev, "fixture", rn->bench->name);
    cJSON_AddNumberToObject(ev, "position", queue_position(rn, c));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
    if (id)
        cJSON_AddItemToObject(ev, "id", cJSON_Duplicate(id, 1));
    api_send(c, ev);
    sd_event_source_set_time_relative(rn->queue_timer, RUN_QUEUE_POLL_US);
    sd_event_source_set_enabled(rn->queue_timer, SD_EVENT_ON);
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

void runner_bench_freed(struct bench *bench)
{
    struct runner *rn = bench->runner;
    if (rn && rn->queue && !bench->rigd->exiting)
        try_start_queued(rn);
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

static int runs_waiting(const struct runner *rn)
{
    int n = 0;
    for (const struct queued *q = rn ? rn->queue : NULL; q; q = q->next)
        n++;
    return n;
}

void runner_status_add(struct bench *bench, cJSON *body)
{
    struct runner *rn = bench->runner;
    /* Runs can wait with none active (a session holds the bench). */
    if (!rn || !rn->run) {
        cJSON_AddNullToObject(body, "run");
        cJSON_AddNumberToObject(body, "runs_waiting", runs_waiting(rn));
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
    cJSON_AddNumberToObject(body, "runs_waiting", runs_waiting(rn));
}

void runner_client_gone(struct bench *bench, struct api_client *c)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    struct queued **pp = &rn->queue;
    while (*pp) {
        struct queued *q = *pp;
        if (q->c == c) {
            *pp = q->next;
            cJSON_Delete(q->req);
            free(q);
        } else {
            pp = &q->next;
        }
    }
    if (rn->run && rn->run->owner == c) {
        rn->run->owner = NULL;
        runner_abort(bench, "owner disconnected");
    }
}

void runner_on_samples(struct bench *bench, uint64_t first, const int32_t *force, const int32_t *disp,
                       size_t n, uint32_t rate_hz)
{
    struct runner *rn = bench->runner;
    if (!rn || !n)
        return;
    pthread_mutex_lock(&rn->lock);
    clock_update(rn, first, n, rate_hz);
    if (rn->run && rn->run->cap.active)
        capture_add(&rn->run->cap, first, force, disp, n, rate_hz);
    /* capture_end waits for samples, capture_mark for a valid clock */
    pthread_cond_broadcast(&rn->cond);
    pthread_mutex_unlock(&rn->lock);
}

static void stream_problem(struct bench *bench, uint32_t an_flags, const char *what)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    pthread_mutex_lock(&rn->lock);
    if (rn->run && rn->run->cap.active) {
        rn->run->cap.flags |= an_flags;
        log_run_msg(LOG_WARNING, RUN_LOG(rn->run), "run %s: capture flagged: %s", rn->run->run_id,
                    what);
        pthread_cond_broadcast(&rn->cond);
    }
    pthread_mutex_unlock(&rn->lock);
}

void runner_on_sensor_lost(struct bench *bench, const char *reason)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    pthread_mutex_lock(&rn->lock);
    rn->clock_ok = false;
    pthread_mutex_unlock(&rn->lock);
    char what[200];
    snprintf(what, sizeof what, "sensor head lost: %s", reason);
    stream_problem(bench, AN_F_DISCONNECT, what);
}

void runner_on_pen_lost(struct bench *bench, const char *reason)
{
    struct runner *rn = bench->runner;
    if (!rn)
        return;
    pthread_mutex_lock(&rn->lock);
    if (rn->run && rn->run->cap.active && !rn->run->cap.pen_lost[0]) {
        snprintf(rn->run->cap.pen_lost, sizeof rn->run->cap.pen_lost, "%s",
                 reason && *reason ? reason : "detached");
        pthread_cond_broadcast(&rn->cond);
    }
    pthread_mutex_unlock(&rn->lock);
}

void runner_on_stream_event(struct bench *bench, enum sh_drv_event ev, const char *msg)
{
    struct runner *rn = bench->runner;
    if (rn && (ev == SH_EV_STREAM_STARTED || ev == SH_EV_STREAM_STOPPED)) {
        /* The sensor's sample counter restarts with the stream: forget the
         * clock mapping; a capture that already has samples is cut. */
        pthread_mutex_lock(&rn->lock);
        rn->clock_ok = false;
        rn->stream_end = 0;
        /* (a restart after samples shows up as an index jump in capture_add) */
        bool cut = ev == SH_EV_STREAM_STOPPED && rn->run && rn->run->cap.active &&
                   rn->run->cap.have_first;
        pthread_mutex_unlock(&rn->lock);
        if (cut)
            stream_problem(bench, AN_F_SAMPLE_LOSS, "sensor stream restarted during the capture");
    }
    if (ev == SH_EV_LOST_BLOCKS || ev == SH_EV_BAD_BLOCK)
        stream_problem(bench, AN_F_SAMPLE_LOSS, msg);
    else if (ev == SH_EV_OVERRUN)
        stream_problem(bench, AN_F_OVERRUN, msg);
    else if (ev == SH_EV_STREAM_ERROR)
        stream_problem(bench, AN_F_SAMPLE_LOSS, msg);
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

void runner_note_rig_action(struct bench *bench, cJSON *action)
{
    struct runner *rn = runner_get(bench);
    if (!rn) {
        cJSON_Delete(action);
        return;
    }
    pthread_mutex_lock(&rn->lock);
    cJSON **arr = rn->run ? &rn->run->rig_actions : &rn->pending_actions;
    if (!*arr)
        *arr = cJSON_CreateArray();
    if (*arr)
        cJSON_AddItemToArray(*arr, action);
    else
        cJSON_Delete(action);
    pthread_mutex_unlock(&rn->lock);
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
    pthread_mutex_lock(&rn->lock);
    rn->loop_gone = true;
    /* Nothing will execute queued or in-flight ops any more: fail them so
     * the worker can finish (teardown, record) without waiting. */
    while (rn->cmds) {
        struct run_cmd *cmd = rn->cmds;
        rn->cmds = cmd->next;
        cmd->done = true;
        cmd->status = -ESHUTDOWN;
        snprintf(cmd->err, sizeof cmd->err, "rigd is shutting down");
        cmd_unref_locked(cmd);
    }
    rn->cmds_tail = &rn->cmds;
    for (size_t i = 0; i < sizeof rn->inflight / sizeof rn->inflight[0]; i++) {
        struct run_cmd *cmd = rn->inflight[i];
        if (cmd && !cmd->done) {
            cmd->done = true;
            cmd->status = -ESHUTDOWN;
            snprintf(cmd->err, sizeof cmd->err, "rigd is shutting down");
        }
    }
    pthread_cond_broadcast(&rn->cond);
    struct run *run = rn->run;
    pthread_mutex_unlock(&rn->lock);
    if (run && run->thread_started) {
        pthread_join(run->thread, NULL);
        log_run_msg(LOG_NOTICE, RUN_LOG(run), "run %s ended at shutdown: %s; record %s",
                    run->run_id,
                run->exec_rc < 0 ? "not started" : outcome_str(run->result.outcome),
                run->record_path);
    }
    pthread_mutex_lock(&rn->lock);
    rn->run = NULL;
    while (rn->out) {
        struct out_event *o = rn->out;
        rn->out = o->next;
        cJSON_Delete(o->ev);
        free(o);
    }
    rn->out_tail = &rn->out;
    pthread_mutex_unlock(&rn->lock);
    run_free(run);
    while (rn->queue) {
        struct queued *q = rn->queue;
        rn->queue = q->next;
        cJSON_Delete(q->req);
        free(q);
    }
    cJSON_Delete(rn->pending_actions);
    rn->pending_actions = NULL;
    rn->wake_src = sd_event_source_disable_unref(rn->wake_src);
    rn->queue_timer = sd_event_source_disable_unref(rn->queue_timer);
    /* The runner itself stays until exit: driver completions of ops that
     * were in flight arrive when bench_close() frees the drivers. */
}
