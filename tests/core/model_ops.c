#include "model_ops.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "capbuf.h"

#define CHUNK_NS 5000000ull /* 5 ms of model time per drain */

static struct model_bench *MB(void *ctx)
{
    return ctx;
}

int model_bench_init(struct model_bench *b, const struct sim_params *p, uint64_t seed, FILE *truth)
{
    memset(b, 0, sizeof *b);
    b->m = sim_model_new(p, seed);
    if (!b->m)
        return -1;
    if (truth)
        sim_model_set_truth(b->m, truth);
    sim_sh_calibration(b->m, &b->cal);
    if (sim_sh_start(b->m) != 0)
        return -1;
    b->wall.tv_sec = 1795608000; /* 2026-11-25T12:00:00Z, before the sim's cal due date */
    return 0;
}

void model_bench_free(struct model_bench *b)
{
    sim_model_free(b->m);
    free(b->force);
    free(b->disp);
}

static int append(struct model_bench *b, const int32_t *f, const int32_t *d, size_t n)
{
    if (capbuf_reserve(&b->force, &b->disp, b->n, &b->cap, n) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        b->force[b->n + i] = sh_cal_force(&b->cal, f[i]);
        b->disp[b->n + i] = sh_cal_disp(&b->cal, d[i]);
    }
    b->n += n;
    return 0;
}

static int drain(struct model_bench *b)
{
    static int32_t f[SH_MAX_SAMPLES], d[SH_MAX_SAMPLES];
    struct sh_block_header h;
    int n;
    while ((n = sim_sh_take_block(b->m, SH_MAX_SAMPLES, &h, f, d)) > 0) {
        if (b->capturing) {
            if (h.first_sample != b->next_index)
                b->flags |= AN_F_SAMPLE_LOSS;
            if (h.flags & SH_BLK_OVERRUN)
                b->flags |= AN_F_OVERRUN;
            if (append(b, f, d, (size_t)n) < 0)
                return -ENOMEM;
        }
        b->next_index = h.first_sample + (uint64_t)n;
    }
    return 0;
}

int model_bench_advance(struct model_bench *b, double seconds)
{
    uint64_t end = b->now_ns + (uint64_t)llround(seconds * 1e9);
    while (b->now_ns < end) {
        b->now_ns = b->now_ns + CHUNK_NS < end ? b->now_ns + CHUNK_NS : end;
        sim_pen_heartbeat(b->m);
        sim_model_run_until(b->m, b->now_ns);
        int rc = drain(b);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int nak(int code, const char *what, char *err, size_t len)
{
    if (code == 0)
        return 0;
    snprintf(err, len, "%s refused", what);
    return RIG_OPS_NAK(code);
}

static int identify(void *ctx, struct pen_identity *id, char *err, size_t len)
{
    (void)err, (void)len;
    sim_pen_identity(MB(ctx)->m, id);
    return 0;
}

static int set_rate(void *ctx, uint32_t mhz, char *err, size_t len)
{
    return nak(sim_pen_set_rate(MB(ctx)->m, mhz), "set rate", err, len);
}

static int set_depth(void *ctx, uint16_t um, char *err, size_t len)
{
    return nak(sim_pen_set_depth(MB(ctx)->m, um), "set depth", err, len);
}

static int start(void *ctx, char *err, size_t len)
{
    return nak(sim_pen_start(MB(ctx)->m), "start", err, len);
}

static int stop(void *ctx, char *err, size_t len)
{
    MB(ctx)->stops++;
    return nak(sim_pen_stop(MB(ctx)->m), "stop", err, len);
}

static int status(void *ctx, struct pen_status *st, char *err, size_t len)
{
    (void)err, (void)len;
    sim_pen_status(MB(ctx)->m, st);
    return 0;
}

static int capture_begin(void *ctx, char *err, size_t len)
{
    (void)err, (void)len;
    struct model_bench *b = MB(ctx);
    int rc = drain(b); /* older samples are not part of this capture */
    if (rc < 0)
        return rc;
    b->capturing = true;
    b->n = 0;
    b->flags = 0;
    b->first = b->next_index;
    return 0;
}

static uint64_t capture_mark(void *ctx)
{
    struct model_bench *b = MB(ctx);
    return b->next_index + sim_sh_available(b->m);
}

static int capture_end(void *ctx, struct rig_capture *out, char *err, size_t len)
{
    struct model_bench *b = MB(ctx);
    (void)err, (void)len;
    int rc = drain(b);
    b->capturing = false;
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    out->n = b->n;
    out->rate_hz = 50000;
    out->first_sample = b->first;
    out->flags = b->flags;
    out->force_un = malloc((b->n ? b->n : 1) * sizeof *out->force_un);
    out->disp_nm = malloc((b->n ? b->n : 1) * sizeof *out->disp_nm);
    if (!out->force_un || !out->disp_nm) {
        capture_free(out);
        return -ENOMEM;
    }
    memcpy(out->force_un, b->force, b->n * sizeof *b->force);
    memcpy(out->disp_nm, b->disp, b->n * sizeof *b->disp);
    return 0;
}

static int do_sleep(void *ctx, double s)
{
    return model_bench_advance(MB(ctx), s);
}

static bool aborted(void *ctx)
{
    (void)ctx;
    return false;
}

static int instruments(void *ctx, struct rig_instrument *out, size_t max, char *err, size_t len)
{
    (void)err, (void)len;
    if (max < 1)
        return 0;
    struct sh_identity id;
    struct model_bench *b = MB(ctx);
    sim_sh_identity(b->m, &id);
    memset(out, 0, sizeof *out);
    snprintf(out->role, sizeof out->role, "sensor-head");
    snprintf(out->model, sizeof out->model, "%s", id.model);
    snprintf(out->serial, sizeof out->serial, "%s", id.serial);
    snprintf(out->firmware, sizeof out->firmware, "%u.%u.%u", id.fw_major, id.fw_minor,
             id.fw_patch);
    out->cal_date = b->cal.cal_date;
    out->cal_due = b->cal.due_date;
    snprintf(out->certificate, sizeof out->certificate, "%s", b->cal.certificate);
    return 1;
}

static double now(void *ctx)
{
    return (double)MB(ctx)->now_ns * 1e-9;
}

static void wall(void *ctx, struct timespec *ts)
{
    *ts = MB(ctx)->wall;
    ts->tv_sec += (time_t)(MB(ctx)->now_ns / 1000000000ull);
}

const struct rig_ops model_ops = {
    .pen_identify = identify,
    .pen_set_rate = set_rate,
    .pen_set_depth = set_depth,
    .pen_start = start,
    .pen_stop = stop,
    .pen_status = status,
    .capture_begin = capture_begin,
    .capture_mark = capture_mark,
    .capture_end = capture_end,
    .sleep = do_sleep,
    .aborted = aborted,
    .instruments = instruments,
    .now = now,
    .wall = wall,
};
