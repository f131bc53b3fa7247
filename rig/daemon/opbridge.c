/* rigd's run manager, the bridge between the blocking worker thread and
 * the single sd-event thread (runner.h has the picture): the worker posts
 * a command and waits on the condvar, bounded and woken on abort; the
 * event thread executes it (runops.c, capture.c) and completes it. Events
 * of the run take the same eventfd through the outbox. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/runner_int.h"

/* Bound on one op issued to the event thread: far above the pen driver's
 * own bound (PEN_RESPONSE_TIMEOUT_MS x (1 + PEN_MAX_RETRIES)), so it only
 * fires when the daemon itself is wedged. */
#define RUN_OP_TIMEOUT_S 10.0

double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void wake_loop(struct runner *rn)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    if (write(rn->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        bench_log(rn->bench, LOG_ERR, "run: cannot wake the event loop: %s", strerror(errno));
}

/* ---- worker side ---------------------------------------------------------- */

void cond_wait_until(struct runner *rn, double deadline)
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

void cmd_unref_locked(struct run_cmd *cmd)
{
    if (--cmd->refs == 0)
        free(cmd);
}

/* Post a command and wait for the event thread to complete it. */
int run_cmd(struct run *run, struct run_cmd *cmd, char *err, size_t errlen)
{
    struct runner *rn = run->rn;
    cmd->refs = 2;
    cmd->rn = rn;
    pthread_mutex_lock(&rn->lock);
    if (rn->loop_gone) {
        cmd->refs = 1; /* only the worker's: nothing will run it */
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
        cmd->done = true; /* a late completion is ignored */
        st = -ETIMEDOUT;
        snprintf(err, errlen, "rigd did not complete the request within %.0f s", RUN_OP_TIMEOUT_S);
    }
    pthread_mutex_unlock(&rn->lock);
    return st;
}

struct run_cmd *cmd_new(enum cmd_kind kind, uint8_t pen_type)
{
    struct run_cmd *c = calloc(1, sizeof *c);
    if (c) {
        c->kind = kind;
        c->pen_type = pen_type;
    }
    return c;
}

/* A command without payload in or out: post it, wait; *keep (if given)
 * gets it on success, else it is freed. */
int simple_cmd(struct run *run, enum cmd_kind kind, struct run_cmd **keep, char *err, size_t errlen)
{
    struct run_cmd *cmd = cmd_new(kind, 0);
    if (!cmd) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = run_cmd(run, cmd, err, errlen);
    pthread_mutex_lock(&run->rn->lock);
    if (keep && rc == 0)
        *keep = cmd; /* the caller reads it, then unrefs */
    else
        cmd_unref_locked(cmd);
    pthread_mutex_unlock(&run->rn->lock);
    return rc;
}

void post_event(struct run *run, const char *topic, cJSON *ev)
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

/* ---- event thread side ---------------------------------------------------- */

void inflight_add(struct runner *rn, struct run_cmd *cmd)
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
void cmd_complete(struct runner *rn, struct run_cmd *cmd, int status, const char *fmt, ...)
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

int bridge_init(struct runner *rn)
{
    rn->cmds_tail = &rn->cmds;
    rn->out_tail = &rn->out;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rn->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rn->lock, NULL);
    rn->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return rn->efd < 0 ? -errno : 0;
}

void bridge_destroy(struct runner *rn)
{
    if (rn->efd >= 0)
        close(rn->efd);
    pthread_cond_destroy(&rn->cond);
    pthread_mutex_destroy(&rn->lock);
}

void bridge_ack(struct runner *rn)
{
    uint64_t v;
    if (read(rn->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        bench_log(rn->bench, LOG_ERR, "run: eventfd read: %s", strerror(errno));
}

void bridge_next(struct runner *rn, struct run_cmd **cmdp, struct out_event **evp)
{
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
    *cmdp = cmd;
    *evp = o;
}

void bridge_shutdown(struct runner *rn)
{
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
    pthread_mutex_unlock(&rn->lock);
}

void bridge_drop_events(struct runner *rn)
{
    pthread_mutex_lock(&rn->lock);
    while (rn->out) {
        struct out_event *o = rn->out;
        rn->out = o->next;
        cJSON_Delete(o->ev);
        free(o);
    }
    rn->out_tail = &rn->out;
    pthread_mutex_unlock(&rn->lock);
}
