/* START when the pen can take it. A pen refuses START while its motor
 * ramps down after a STOP (state STOPPING, PEN.md section 7), which at
 * production cadence is exactly when the next run starts: the previous one
 * ended with the motor running, was aborted, or failed. Every START rigd
 * sends -- a run's and a manual `pen start` -- goes through here:
 *
 *   state unknown (a START/STOP answer came, its state event not yet)
 *       -> GET_STATUS, then decide;
 *   STOPPING -> wait for the pen's state event (IDLE), re-asking its
 *       status every PENSTART_POLL_MS in case the event was lost, at most
 *       RIGD_PEN_SETTLE_MS;
 *   otherwise -> START. A NAK "bad state" (the state changed under us)
 *       is answered by asking the status again, at most PENSTART_RETRIES
 *       times.
 *
 * Before START goes out the caller is asked whether it still wants it
 * (an aborted run, a client gone): a wait must never end in a motor
 * started for nobody. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/bench.h"
#include "daemon/log.h"

#define PENSTART_POLL_MS 50
#define PENSTART_RETRIES 3

struct pen_start {
    struct pen_start *next;
    struct bench *bench;
    pen_done_fn done;
    bool (*wanted)(void *user);
    void *user;
    uint64_t deadline_us;
    bool in_flight; /* GET_STATUS or START sent, not answered */
    bool sent_start;
    bool rest_only; /* just wait for the motor to rest: no START */
    int naks;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void unlink_start(struct pen_start *s)
{
    for (struct pen_start **pp = &s->bench->pen_starts; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

/* Complete a waiter (status/resp as pen_drv completions) and free it. */
static void finish(struct pen_start *s, int status, const struct pen_msg *resp)
{
    unlink_start(s);
    pen_done_fn done = s->done;
    void *user = s->user;
    free(s);
    if (done)
        done(user, status, resp);
}

static void check(struct pen_start *s);

static void status_answered(void *user, int status, const struct pen_msg *resp)
{
    (void)resp;
    struct pen_start *s = user;
    s->in_flight = false;
    if (status == -ENODEV || status == -ECANCELED) {
        finish(s, status, NULL);
        return;
    }
    /* A failed status leaves the state unknown: the deadline bounds it.
     * (check may complete and free s.) */
    struct bench *bench = s->bench;
    check(s);
    bench_sync(bench);
}

static void start_answered(void *user, int status, const struct pen_msg *resp)
{
    struct pen_start *s = user;
    s->in_flight = false;
    if (status == PEN_DRV_NAK && resp && resp->u.nak.error == PEN_ERR_BAD_STATE &&
        s->naks < PENSTART_RETRIES && mono_us() < s->deadline_us) {
        /* The motor was still ramping down after all: ask, then wait. */
        s->naks++;
        s->sent_start = false;
        if (pen_drv_request(s->bench->pen, PEN_MSG_GET_STATUS, NULL, status_answered, s) == 0) {
            s->in_flight = true;
            return;
        }
    }
    finish(s, status, resp);
}

static void send_start(struct pen_start *s)
{
    struct bench *bench = s->bench;
    bench_update_heartbeat(bench);
    int rc = pen_drv_request(bench->pen, PEN_MSG_START, NULL, start_answered, s);
    if (rc < 0) {
        finish(s, rc, NULL);
        return;
    }
    s->in_flight = s->sent_start = true;
    bench_sync(bench);
}

static void check(struct pen_start *s)
{
    struct bench *bench = s->bench;
    if (s->in_flight)
        return;
    if (!bench->pen || !pen_drv_present(bench->pen)) {
        finish(s, -ENODEV, NULL);
        return;
    }
    if (s->wanted && !s->wanted(s->user)) {
        finish(s, -ECANCELED, NULL);
        return;
    }
    uint8_t state;
    bool known = pen_drv_motor(bench->pen, &state, NULL);
    if (s->rest_only && known && state != PEN_STATE_STOPPING && state != PEN_STATE_SPINUP &&
        state != PEN_STATE_RUNNING) {
        finish(s, 0, NULL);
        return;
    }
    if (!s->rest_only && known && state != PEN_STATE_STOPPING) {
        send_start(s);
        return;
    }
    if (mono_us() >= s->deadline_us && s->rest_only) {
        finish(s, -ETIMEDOUT, NULL);
        return;
    }
    if (mono_us() >= s->deadline_us) {
        /* Send it anyway: the pen's NAK then says what is wrong. */
        bench_log(bench, LOG_WARNING, "pen: motor %s %d ms after the stop; sending START anyway",
                  known ? "still stopping" : "state unknown", RIGD_PEN_SETTLE_MS);
        s->naks = PENSTART_RETRIES;
        send_start(s);
        return;
    }
    if (!known) {
        if (pen_drv_request(bench->pen, PEN_MSG_GET_STATUS, NULL, status_answered, s) == 0)
            s->in_flight = true;
        bench_sync(bench);
    }
    /* STOPPING: the state event (pen_start_on_state) or the poll timer
     * comes back here. */
}

static int on_poll(sd_event_source *src, uint64_t usec, void *user)
{
    (void)usec;
    struct bench *bench = user;
    /* Waiting for a motor to come to rest: ask again (the IDLE event may
     * have been lost), then re-check every waiter. */
    for (struct pen_start *s = bench->pen_starts, *next; s; s = next) {
        next = s->next;
        if (s->in_flight)
            continue;
        uint8_t state;
        if (pen_drv_present(bench->pen) && pen_drv_motor(bench->pen, &state, NULL) &&
            (state == PEN_STATE_STOPPING ||
             (s->rest_only && (state == PEN_STATE_SPINUP || state == PEN_STATE_RUNNING))) &&
            mono_us() < s->deadline_us) {
            if (pen_drv_request(bench->pen, PEN_MSG_GET_STATUS, NULL, status_answered, s) == 0)
                s->in_flight = true;
            continue;
        }
        check(s);
    }
    if (bench->pen_starts)
        sd_event_source_set_time_relative(src, PENSTART_POLL_MS * 1000u);
    else
        sd_event_source_set_enabled(src, SD_EVENT_OFF);
    bench_sync(bench);
    return 0;
}

static int wait_start(struct bench *bench, pen_done_fn done, bool (*wanted)(void *user), void *user,
                      bool rest_only)
{
    if (!bench->pen || !pen_drv_present(bench->pen))
        return -ENODEV;
    struct pen_start *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->bench = bench;
    s->done = done;
    s->wanted = wanted;
    s->user = user;
    s->rest_only = rest_only;
    s->deadline_us = mono_us() + RIGD_PEN_SETTLE_MS * 1000u;
    s->next = bench->pen_starts;
    bench->pen_starts = s;
    if (!bench->pen_start_timer &&
        sd_event_add_time_relative(bench->rigd->ev, &bench->pen_start_timer, CLOCK_MONOTONIC,
                                   PENSTART_POLL_MS * 1000u, 5000, on_poll, bench) < 0)
        bench_log(bench, LOG_WARNING,
                  "pen: no poll timer for a waiting START; relying on state events");
    if (bench->pen_start_timer) {
        sd_event_source_set_time_relative(bench->pen_start_timer, PENSTART_POLL_MS * 1000u);
        sd_event_source_set_enabled(bench->pen_start_timer, SD_EVENT_ON);
    }
    check(s);
    return 0;
}

int pen_start_when_ready(struct bench *bench, pen_done_fn done, bool (*wanted)(void *user),
                         void *user)
{
    return wait_start(bench, done, wanted, user, false);
}

int pen_when_at_rest(struct bench *bench, pen_done_fn done, void *user)
{
    return wait_start(bench, done, NULL, user, true);
}

void pen_start_on_state(struct bench *bench)
{
    for (struct pen_start *s = bench->pen_starts, *next; s; s = next) {
        next = s->next;
        check(s);
    }
}

void pen_start_cancel_all(struct bench *bench, int status)
{
    /* Waiters with a request in flight complete through the driver. */
    for (struct pen_start *s = bench->pen_starts, *next; s; s = next) {
        next = s->next;
        if (!s->in_flight)
            finish(s, status, NULL);
    }
    bench->pen_start_timer = sd_event_source_disable_unref(bench->pen_start_timer);
}
