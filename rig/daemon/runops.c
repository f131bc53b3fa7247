/* rigd's run manager, the rig_ops the engine runs on (runner.h): each op
 * of the worker thread becomes a command for the event thread
 * (opbridge.c), which executes it on the bench's drivers and completes it
 * from their callbacks. Capture ops are in capture.c. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daemon/runner_int.h"

/* ---- worker side: ops ---------------------------------------------------- */

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
    struct pen_msg m = { .u.rate_mhz = rate_mhz };
    return pen_op(R(ctx), PEN_MSG_SET_RATE, &m, NULL, err, errlen);
}

static int op_set_depth(void *ctx, uint16_t depth_um, char *err, size_t errlen)
{
    struct pen_msg m = { .u.depth_um = depth_um };
    return pen_op(R(ctx), PEN_MSG_SET_DEPTH, &m, NULL, err, errlen);
}

static int op_start(void *ctx, char *err, size_t errlen)
{
    return pen_op(R(ctx), PEN_MSG_START, NULL, NULL, err, errlen);
}

static int op_stop(void *ctx, char *err, size_t errlen)
{
    return simple_cmd(R(ctx), CMD_PEN_STOP, NULL, err, errlen);
}

static int op_status(void *ctx, struct pen_status *st, char *err, size_t errlen)
{
    struct pen_msg resp;
    int rc = pen_op(R(ctx), PEN_MSG_GET_STATUS, NULL, &resp, err, errlen);
    if (rc == 0)
        *st = resp.u.status;
    return rc;
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
    struct run_cmd *cmd = NULL;
    int rc = simple_cmd(run, CMD_INSTRUMENTS, &cmd, err, errlen);
    if (rc == 0) {
        pthread_mutex_lock(&run->rn->lock);
        if (max > 0)
            out[0] = cmd->inst;
        cmd_unref_locked(cmd);
        pthread_mutex_unlock(&run->rn->lock);
    }
    return rc < 0 ? rc : (max > 0 ? 1 : 0);
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

static size_t op_rig_actions(void *ctx, struct rec_rig_action **out)
{
    struct run *run = R(ctx);
    pthread_mutex_lock(&run->rn->lock);
    size_t n = run->nrig_actions;
    *out = rec_rig_actions_dup(run->rig_actions, n);
    pthread_mutex_unlock(&run->rn->lock);
    return *out ? n : 0;
}

const struct rig_ops runner_ops = {
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
    .emit = runevents_emit,
};

/* ---- event thread: executing commands -------------------------------------- */

/* Driver completions find their runner in the command: each fixture's
 * bench has its own, and the runner outlives every command it posted
 * (freed only after the worker joined and the drivers are closed). */

static void pen_cmd_done(void *user, int status, const struct pen_msg *resp)
{
    struct run_cmd *cmd = user;
    struct runner *rn = cmd->rn;
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
            cmd_complete(rn, cmd, -EIO,
                         "pen refused %s: %s fault latched because the rig "
                         "let the pen's watchdog expire",
                         pen_msg_type_str(cmd->pen_type), names);
        else if (code == PEN_ERR_FAULT_ACTIVE && (faults & PEN_FAULT_LATCHED))
            cmd_complete(rn, cmd, RIG_OPS_NAK(code), "%s: %s", pen_error_str(code), names);
        else
            cmd_complete(rn, cmd, RIG_OPS_NAK(code), "%s", pen_error_str(code));
    } else if (status == -ETIMEDOUT) {
        cmd_complete(rn, cmd, -EIO, "pen did not answer %s after %d tries",
                     pen_msg_type_str(cmd->pen_type), 1 + PEN_MAX_RETRIES);
    } else if (status == -ENODEV) {
        cmd_complete(rn, cmd, -ENODEV, "pen disconnected during %s",
                     pen_msg_type_str(cmd->pen_type));
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
        cmd_complete(cmd->rn, cmd, 0, NULL);
    else
        cmd_complete(cmd->rn, cmd, -EIO, "motor stop not confirmed: %s", detail);
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
    struct runner *rn = ((struct run_cmd *)user)->rn;
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
    struct run_cmd *cmd = user;
    struct runner *rn = cmd->rn;
    if (status == 0)
        cmd_complete(rn, cmd, 0, NULL);
    else
        cmd_complete(rn, cmd, status == -ENODEV ? -ENODEV : -EIO,
                     "the pen's motor did not come to rest within %d ms", RIGD_PEN_SETTLE_MS);
}

static void tare_done(void *user, int status, const char *msg)
{
    struct run_cmd *cmd = user;
    struct runner *rn = cmd->rn;
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

void exec_cmd(struct runner *rn, struct run_cmd *cmd)
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
    case CMD_CAPTURE_FLUSH:
        exec_capture_flush(rn, cmd);
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
