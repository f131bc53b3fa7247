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

#include "log.h"
#include "rigd.h"

static void finish(struct rigd *r, bool confirmed, const char *detail)
{
    r->stopping = false;
    r->last_stop_confirmed = confirmed;
    snprintf(r->last_stop_detail, sizeof r->last_stop_detail, "%s", detail);
    if (confirmed)
        log_msg(LOG_NOTICE, "motor stop confirmed (%s)", r->stop_reason);
    else
        log_msg(LOG_ERR, "motor stop NOT confirmed (%s): %s; heartbeats off, the pen watchdog "
                "stops the motor within %d ms", r->stop_reason, detail, PEN_WATCHDOG_TIMEOUT_MS);
    if (!confirmed) {
        r->unvouched = true;
        pen_drv_set_heartbeat(r->pen, false);
    }
    bench_publish_device(r, "pen", confirmed ? "stop_confirmed" : "stop_not_confirmed", "%s: %s",
                         r->stop_reason, detail);
    /* Detach the list first: a waiter may start another stop. */
    struct stop_waiter *w = r->stop_waiters;
    r->stop_waiters = NULL;
    while (w) {
        struct stop_waiter *next = w->next;
        if (w->done)
            w->done(r, w->user, confirmed, detail);
        free(w);
        w = next;
    }
    bench_update_heartbeat(r);
    session_after_stop(r);
    bench_sync(r);
}

static void stop_done(void *user, int status, const struct pen_msg *resp)
{
    struct rigd *r = user;
    char detail[128];
    switch (status) {
    case 0:
        finish(r, true, "pen acknowledged STOP");
        return;
    case PEN_DRV_NAK:
        /* BAD_STATE to STOP means nothing to stop: the motor is off. */
        if (resp && (resp->u.nak.error == PEN_ERR_BAD_STATE ||
                     resp->u.nak.error == PEN_ERR_FAULT_ACTIVE)) {
            snprintf(detail, sizeof detail, "pen says motor is not running (%s)",
                     pen_error_str(resp->u.nak.error));
            finish(r, true, detail);
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
    finish(r, false, detail);
}

void safe_stop(struct rigd *r, const char *reason, safe_stop_fn done, void *user)
{
    struct stop_waiter *w = calloc(1, sizeof *w);
    if (w) {
        w->done = done;
        w->user = user;
        w->next = r->stop_waiters;
        r->stop_waiters = w;
    } else if (done) {
        log_msg(LOG_ERR, "out of memory queueing a stop waiter");
    }
    if (r->stopping)
        return;     /* joins the stop already in flight */
    r->stopping = true;
    snprintf(r->stop_reason, sizeof r->stop_reason, "%s", reason);
    log_msg(LOG_NOTICE, "stopping the motor: %s", reason);
    if (!r->pen || !pen_drv_port_name(r->pen)[0]) {
        finish(r, false, "pen not attached");
        return;
    }
    int rc = pen_drv_request(r->pen, PEN_MSG_STOP, NULL, stop_done, r);
    if (rc < 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "cannot send STOP: %s", strerror(-rc));
        finish(r, false, detail);
        return;
    }
    bench_sync(r);
}

void safe_stop_forget(struct rigd *r, void *user)
{
    for (struct stop_waiter *w = r->stop_waiters; w; w = w->next)
        if (w->user == user)
            w->done = NULL;
}
