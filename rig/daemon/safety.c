/* Safe stop: command STOP, wait for the pen's answer (bounded by the pen
 * driver: PEN_RESPONSE_TIMEOUT_MS x (1 + PEN_MAX_RETRIES)), report whether
 * the stop was confirmed. Heartbeats are switched off when the answer is
 * missing, because rigd can then no longer vouch for the pen: its own
 * watchdog stops the motor within PEN_WATCHDOG_TIMEOUT_MS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bench.h"
#include "daemon/log.h"

static void finish(struct bench *bench, bool confirmed, const char *detail)
{
    bench->stopping = false;
    bench->last_stop_confirmed = confirmed;
    snprintf(bench->last_stop_detail, sizeof bench->last_stop_detail, "%s", detail);
    if (confirmed)
        bench_log(bench, LOG_NOTICE, "motor stop confirmed (%s)", bench->stop_reason);
    else
        bench_log(bench, LOG_ERR,
                  "motor stop NOT confirmed (%s): %s; heartbeats off, the pen watchdog "
                  "stops the motor within %d ms",
                  bench->stop_reason, detail, PEN_WATCHDOG_TIMEOUT_MS);
    if (!confirmed) {
        bench->unvouched = true;
        pen_drv_set_heartbeat(bench->pen, false);
    }
    bench_publish_device(bench, "pen", confirmed ? "stop_confirmed" : "stop_not_confirmed",
                         "%s: %s", bench->stop_reason, detail);
    /* Detach the list first: a waiter may start another stop. */
    struct stop_waiter *w = bench->stop_waiters;
    bench->stop_waiters = NULL;
    while (w) {
        struct stop_waiter *next = w->next;
        if (w->done)
            w->done(bench, w->user, confirmed, detail);
        free(w);
        w = next;
    }
    bench_update_heartbeat(bench);
    if (bench->hooks.stop_done)
        bench->hooks.stop_done(bench); /* the session layer hands the bench on */
    bench_sync(bench);
}

static void stop_done(void *user, int status, const struct pen_msg *resp)
{
    struct bench *bench = user;
    char detail[128];
    switch (status) {
    case 0:
        finish(bench, true, "pen acknowledged STOP");
        return;
    case PEN_DRV_NAK:
        /* BAD_STATE to STOP means nothing to stop: the motor is off. */
        if (resp &&
            (resp->u.nak.error == PEN_ERR_BAD_STATE || resp->u.nak.error == PEN_ERR_FAULT_ACTIVE)) {
            snprintf(detail, sizeof detail, "pen says motor is not running (%s)",
                     pen_error_str(resp->u.nak.error));
            finish(bench, true, detail);
            return;
        }
        snprintf(detail, sizeof detail, "pen refused STOP: %s",
                 resp ? pen_error_str(resp->u.nak.error) : "?");
        break;
    case -ETIMEDOUT:
        snprintf(detail, sizeof detail, "no answer to STOP after %d tries", 1 + PEN_MAX_RETRIES);
        break;
    case -ENODEV:
        snprintf(detail, sizeof detail, "pen disconnected");
        break;
    default:
        snprintf(detail, sizeof detail, "STOP failed: %s", strerror(status < 0 ? -status : EIO));
        break;
    }
    finish(bench, false, detail);
}

void safe_stop(struct bench *bench, const char *reason, safe_stop_fn done, void *user)
{
    struct stop_waiter *w = calloc(1, sizeof *w);
    if (w) {
        w->done = done;
        w->user = user;
        w->next = bench->stop_waiters;
        bench->stop_waiters = w;
    } else if (done) {
        bench_log(bench, LOG_ERR, "out of memory queueing a stop waiter");
    }
    if (bench->stopping)
        return; /* joins the stop already in flight */
    bench->stopping = true;
    snprintf(bench->stop_reason, sizeof bench->stop_reason, "%s", reason);
    bench_log(bench, LOG_NOTICE, "stopping the motor: %s", reason);
    if (!bench->pen || !pen_drv_port_name(bench->pen)[0]) {
        finish(bench, false, "pen not attached");
        return;
    }
    int rc = pen_drv_request(bench->pen, PEN_MSG_STOP, NULL, stop_done, bench);
    if (rc < 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "cannot send STOP: %s", strerror(-rc));
        finish(bench, false, detail);
        return;
    }
    bench_sync(bench);
}

void safe_stop_forget(struct bench *bench, void *user)
{
    for (struct stop_waiter *w = bench->stop_waiters; w; w = w->next)
        if (w->user == user)
            w->done = NULL;
}
