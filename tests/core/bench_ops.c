#include "bench_ops.h"

#include <dirent.h>
#include <unistd.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "capbuf.h"
#include "core/record.h"

void bench_init(struct bench *b)
{
    memset(b, 0, sizeof *b);
    synth_defaults(&b->p);
    b->p.noise_um = 0.2;
    b->p.jitter_pct = 0.3;
    b->p.depth_noise_mm = 0.003;
    b->p.spinup_tau_s = 0.010;
    b->p.spindown_tau_s = 0.015;
    b->p.force_noise_n = 0.002;
    synth_init(&b->s, &b->p);
    snprintf(b->id.model, sizeof b->id.model, "MNP-A");
    snprintf(b->id.serial, sizeof b->id.serial, "PA-0000042");
    snprintf(b->id.cartridge_id, sizeof b->id.cartridge_id, "C14-TEST");
    b->id.hw_revision = 2;
    b->id.fw_major = 1;
    b->id.fw_minor = 4;
    b->id.needle_count = 14;
    b->id.protocol_version = 1;
    b->id.depth_step_um = 250;
    b->id.depth_max_um = 2500;
    snprintf(b->ins.role, sizeof b->ins.role, "sensor-head");
    snprintf(b->ins.model, sizeof b->ins.model, "SH-2");
    snprintf(b->ins.serial, sizeof b->ins.serial, "SH2-0007");
    snprintf(b->ins.firmware, sizeof b->ins.firmware, "2.1.0");
    snprintf(b->ins.certificate, sizeof b->ins.certificate, "CAL-<&\"x\">");
    b->ins.cal_date = 20260601;
    b->ins.cal_due = 20270601;
    b->wall.tv_sec = 1795608000; /* 2026-11-25T12:00:00Z */
}

void bench_free(struct bench *b)
{
    free(b->force);
    free(b->disp);
}

static struct bench *B(void *ctx)
{
    return ctx;
}

static int identify(void *ctx, struct pen_identity *id, char *err, size_t len)
{
    (void)err, (void)len;
    B(ctx)->identifies++;
    *id = B(ctx)->id;
    return 0;
}

static int set_rate(void *ctx, uint32_t mhz, char *err, size_t len)
{
    if (mhz < 50000 || mhz > 150000) {
        snprintf(err, len, "rate out of range");
        return RIG_OPS_NAK(PEN_ERR_OUT_OF_RANGE);
    }
    B(ctx)->s.p.rate_hz = mhz / 1000.0;
    return 0;
}

static int set_depth(void *ctx, uint16_t um, char *err, size_t len)
{
    (void)err, (void)len;
    B(ctx)->s.p.depth_mm = um / 1000.0;
    return 0;
}

static int start(void *ctx, char *err, size_t len)
{
    struct bench *b = B(ctx);
    b->starts++;
    if (b->nak_start) {
        snprintf(err, len, "refused");
        return RIG_OPS_NAK(b->nak_start);
    }
    if (b->start_rc) {
        snprintf(err, len, "pen not attached");
        return b->start_rc;
    }
    b->motor = true;
    synth_set_running(&b->s, true);
    return 0;
}

static int stop(void *ctx, char *err, size_t len)
{
    struct bench *b = B(ctx);
    b->stops++;
    if (b->stop_rc) {
        snprintf(err, len, "stop refused by the test bench");
        return b->stop_rc;
    }
    b->motor = false;
    synth_set_running(&b->s, false);
    return 0;
}

static int status(void *ctx, struct pen_status *st, char *err, size_t len)
{
    (void)err, (void)len;
    struct bench *b = B(ctx);
    memset(st, 0, sizeof *st);
    st->state = b->motor ? PEN_STATE_RUNNING : PEN_STATE_IDLE;
    st->set_rate_mhz = (uint32_t)lround(b->s.p.rate_hz * 1000);
    st->motor_current_ma = b->motor ? 450 : 0;
    st->supply_mv = 4000;
    return 0;
}

static int capture_begin(void *ctx, char *err, size_t len)
{
    struct bench *b = B(ctx);
    if (b->fail_capture_begin) {
        snprintf(err, len, "sensor head not responding");
        return b->fail_capture_begin;
    }
    b->capturing = true;
    b->n = 0;
    b->first = b->s.index;
    return 0;
}

static uint64_t capture_mark(void *ctx)
{
    return B(ctx)->s.index;
}

static int capture_end(void *ctx, struct rig_capture *out, char *err, size_t len)
{
    struct bench *b = B(ctx);
    (void)err, (void)len;
    b->capturing = false;
    b->captures++;
    memset(out, 0, sizeof *out);
    out->n = b->n;
    out->rate_hz = b->p.fs;
    out->first_sample = b->first;
    if (!b->flags_on_capture || b->flags_on_capture == b->captures)
        out->flags = b->capture_flags;
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

static void watch(struct bench *b)
{
    if (!b->watch_record)
        return;
    char err[256];
    cJSON *r = record_read(b->watch_record, err, sizeof err);
    if (!r)
        return;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "complete")) &&
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "steps")) > 0)
        b->saw_incomplete = true;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "complete")) &&
        !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "outcome")))
        b->saw_incomplete_verdict = true;
    cJSON_Delete(r);
}

/* rm -rf of the directory holding the watched record (an operator
 * cleaning up under a running station). */
static void delete_record_dir(struct bench *b)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", b->watch_record);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    *slash = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static bool rig_check(void *ctx, char *buf, size_t len)
{
    struct bench *b = B(ctx);
    b->rig_checks++;
    if (!b->rig_problem_at_sleep || b->sleeps < b->rig_problem_at_sleep || b->rig_problem_told)
        return false;
    b->rig_problem_told = true;
    snprintf(buf, len, "test rig lost control");
    return true;
}

static int do_sleep(void *ctx, double seconds)
{
    struct bench *b = B(ctx);
    b->sleeps++;
    watch(b);
    if (b->delete_dir_at_sleep && b->sleeps == b->delete_dir_at_sleep && b->watch_record)
        delete_record_dir(b);
    if (b->abort_at_sleep && b->sleeps >= (unsigned)b->abort_at_sleep)
        b->aborted_flag = true;
    if (b->aborted_flag)
        return -ECANCELED;
    size_t n = (size_t)llround(seconds * b->p.fs);
    if (b->capturing) {
        if (capbuf_reserve(&b->force, &b->disp, b->n, &b->cap, n) < 0)
            return -ENOMEM;
        synth_generate(&b->s, n, b->force + b->n, b->disp + b->n);
        b->n += n;
    } else {
        synth_generate(&b->s, n, NULL, NULL);
    }
    b->pen_time_s += seconds;
    return 0;
}

static bool aborted(void *ctx)
{
    return B(ctx)->aborted_flag;
}

static int instruments(void *ctx, struct rig_instrument *out, size_t max, char *err, size_t len)
{
    (void)err, (void)len;
    if (max < 1)
        return 0;
    out[0] = B(ctx)->ins;
    return 1;
}

static void emit(void *ctx, const struct run_event *ev)
{
    struct bench *b = B(ctx);
    b->emits++;
    if (ev->kind == RUN_EV_MEASUREMENT)
        b->measurement_events++;
}

static double now(void *ctx)
{
    return B(ctx)->s.t;
}

static void wall(void *ctx, struct timespec *ts)
{
    struct bench *b = B(ctx);
    *ts = b->wall;
    ts->tv_sec += (time_t)b->s.t;
}

const struct rig_ops bench_ops = {
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
    .emit = emit,
    .rig_check = rig_check,
    .now = now,
    .wall = wall,
};
