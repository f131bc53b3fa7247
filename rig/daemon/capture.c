/* rigd's run manager, the capture buffer and the stream clock: samples
 * that the bench hands over (benchdev.c, through the runner's samples hook:
 * runner_on_samples, event thread) go into the active capture; the worker's
 * capture ops take them out. Stream events flag the capture (loss,
 * overrun, disconnect). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "daemon/runner_int.h"

/* How long capture_end waits for the samples of the capture window still
 * in flight (the flush's LAST block, or one block + the device's transfer
 * latency). */
#define RUN_CAPTURE_TAIL_S      1.0
/* A capture larger than this (~2.8 min at 50 kS/s) is cut and flagged. */
#define RUN_CAPTURE_MAX_SAMPLES (1u << 23)

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
    if (rn->flushing_stream) {
        rn->stream_end = end;
        return;
    }
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

void capture_reset(struct capture *c)
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
                        const int32_t *disp, size_t n, uint32_t rate, bool continues)
{
    if (c->await_restart) {
        if (continues)
            return; /* the old stream's tail, from before the capture began */
        c->await_restart = false;
    }
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

/* ---- worker side: capture ops --------------------------------------------- */

int op_capture_begin(void *ctx, char *err, size_t errlen)
{
    return simple_cmd(R(ctx), CMD_CAPTURE_BEGIN, NULL, err, errlen);
}

uint64_t op_capture_mark(void *ctx)
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
 * taken now. The block holding that sample closes only at the next block
 * boundary (10 ms at the default block size), so instead of waiting for
 * it the stream is flushed: STOP makes the head send what it has taken in
 * a short LAST block (SENSOR.md 2), and bench_flush_stream restarts the
 * stream at once. Waits (bounded) for that tail. */
int op_capture_end(void *ctx, struct rig_capture *out, char *err, size_t errlen)
{
    struct run *run = R(ctx);
    struct runner *rn = run->rn;
    pthread_mutex_lock(&rn->lock);
    struct capture *c = &run->cap;
    uint64_t target = clock_now_index(rn);
    bool flush = c->active && c->have_first && c->next < target && !run->aborted && !rn->loop_gone;
    pthread_mutex_unlock(&rn->lock);
    if (flush) {
        char ferr[128];
        (void)simple_cmd(run, CMD_CAPTURE_FLUSH, NULL, ferr, sizeof ferr);
    }
    pthread_mutex_lock(&rn->lock);
    double deadline = mono_s() + RUN_CAPTURE_TAIL_S;
    while (c->active && !run->aborted && !rn->loop_gone && !(c->flags & AN_F_DISCONNECT) &&
           !c->pen_lost[0] && !c->flush_done && (!c->have_first || c->next < target) &&
           mono_s() < deadline)
        cond_wait_until(rn, deadline);
    /* The LAST block holds every sample taken before STOP, which went out
     * after this call: the window is whole even where the clock's estimate
     * of the head's counter ran ahead of it. */
    if (c->flush_done && c->flush_last && c->have_first && c->next < target)
        target = c->next;
    /* Never hand over a window without its tail as if it were whole. */
    if (c->active && c->have_first && c->next < target)
        c->flags |= AN_F_SAMPLE_LOSS;
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
bool capture_doomed(const struct run *run)
{
    const struct capture *c = &run->cap;
    return c->active && ((c->flags & AN_F_DISCONNECT) || c->pen_lost[0]);
}

/* ---- event thread ---------------------------------------------------------- */

void exec_capture_begin(struct runner *rn, struct run_cmd *cmd)
{
    struct bench *bench = rn->bench;
    if (!bench->sh || !sh_drv_present(bench->sh)) {
        cmd_complete(rn, cmd, -ENODEV, "sensor head not attached");
        return;
    }
    bench_update_stream(bench); /* the session wants the stream: make sure */
    pthread_mutex_lock(&rn->lock);
    if (rn->run) {
        capture_reset(&rn->run->cap);
        rn->run->cap.active = true;
        /* Without a valid clock (stream not yet delivering after a (re)start,
         * a flush's restart) there is no index yet: take everything the new
         * stream brings, but nothing of the old one's tail. */
        bool clock = sh_drv_streaming(bench->sh) && rn->clock_ok;
        rn->run->cap.begin_index = clock ? clock_now_index(rn) : 0;
        rn->run->cap.await_restart = !clock;
    }
    pthread_mutex_unlock(&rn->lock);
    cmd_complete(rn, cmd, 0, NULL);
}

void exec_capture_flush(struct runner *rn, struct run_cmd *cmd)
{
    struct bench *bench = rn->bench;
    pthread_mutex_lock(&rn->lock);
    struct capture *c = rn->run ? &rn->run->cap : NULL;
    bool go = c && c->active && !c->flushing && bench->sh && sh_drv_streaming(bench->sh);
    if (go) {
        c->flushing = true; /* before the STOP: its STREAM_STOPPED is ours */
        rn->flushing_stream = true;
        rn->clock_ok = false;
    }
    pthread_mutex_unlock(&rn->lock);
    if (go && bench_flush_stream(bench) < 0) {
        /* Not stopped: capture_end waits for the next block instead. */
        pthread_mutex_lock(&rn->lock);
        c->flushing = false;
        rn->flushing_stream = false;
        pthread_mutex_unlock(&rn->lock);
    }
    cmd_complete(rn, cmd, 0, NULL);
}

void runner_on_samples(struct bench *bench, uint64_t first, const int32_t *force,
                       const int32_t *disp, size_t n, uint32_t rate_hz)
{
    struct runner *rn = bench->runner;
    if (!rn || !n)
        return;
    pthread_mutex_lock(&rn->lock);
    bool continues = rn->have_last_end && first == rn->last_end;
    rn->have_last_end = true;
    rn->last_end = first + n;
    clock_update(rn, first, n, rate_hz);
    if (rn->run && rn->run->cap.active)
        capture_add(&rn->run->cap, first, force, disp, n, rate_hz, continues);
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

void runner_on_stream_event(struct bench *bench, enum sh_drv_event ev, uint64_t detail,
                            const char *msg)
{
    struct runner *rn = bench->runner;
    if (rn && (ev == SH_EV_STREAM_STARTED || ev == SH_EV_STREAM_STOPPED)) {
        /* The sensor's sample counter restarts with the stream: forget the
         * clock mapping; a capture that already has samples is cut -- unless
         * it is the capture_end's own flush. */
        pthread_mutex_lock(&rn->lock);
        rn->clock_ok = false;
        rn->stream_end = 0;
        if (ev == SH_EV_STREAM_STOPPED)
            rn->flushing_stream = false; /* no block of the old stream follows */
        struct capture *c = rn->run ? &rn->run->cap : NULL;
        bool flushed = ev == SH_EV_STREAM_STOPPED && c && c->active && c->flushing;
        if (flushed) {
            c->flush_done = true;
            c->flush_last = detail != 0;
            pthread_cond_broadcast(&rn->cond);
        }
        /* (a restart after samples shows up as an index jump in capture_add) */
        bool cut = ev == SH_EV_STREAM_STOPPED && c && c->active && c->have_first && !flushed;
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
