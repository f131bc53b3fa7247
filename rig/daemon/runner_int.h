/* What the pieces of rigd's run manager share; not an API (runner.h is,
 * and has the threading picture). Each file does one job and calls only
 * the ones below it:
 *
 *   runner.c     run lifecycle: the "run" request, the queue, start,
 *                abort, the end of a run, status, shutdown; the event
 *                thread's side of the bridge (on_wake)
 *   runowner.c   a run and the bench's session: free for whom, busy,
 *                claim, release or stop at the end
 *   runops.c     the rig_ops the engine runs on: pen requests, stop,
 *                instruments, tare, rest, rig check, abort; worker side
 *                and the event thread that executes them
 *   runevents.c  engine events (struct run_event) -> API events, and a
 *                run's own started/finished events
 *   capture.c    the capture buffer and the stream clock, fed by
 *                runner_on_samples; the capture ops
 *   opbridge.c   worker <-> event thread: command queue, eventfd,
 *                in-flight commands, the event outbox, bounded waits
 *
 * Locking: rn->lock guards what the worker and the event thread share
 * (commands, outbox, a run's shared members, the capture, the stream
 * clock); rn->cond (CLOCK_MONOTONIC) wakes the worker, also on abort.
 */
#ifndef RIGD_RUNNER_INT_H
#define RIGD_RUNNER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "core/rec.h"
#include "core/run.h"
#include "core/sequence.h"
#include "daemon/bench.h"
#include "daemon/log.h"
#include "daemon/runner.h"
#include "daemon/runreq.h"
#include "daemon/session.h"

enum cmd_kind {
    CMD_PEN,
    CMD_PEN_STOP,
    CMD_CAPTURE_BEGIN,
    CMD_CAPTURE_FLUSH,
    CMD_INSTRUMENTS,
    CMD_PEN_REST,
    CMD_TARE
};

/* One op handed from the worker to the event thread. Two references (the
 * worker and the event thread); whoever lets go last frees it, so a worker
 * that gave up waiting never leaves the loop with a dangling pointer. */
struct run_cmd {
    struct run_cmd *next;
    struct runner *rn; /* whose command: driver completions find it here */
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
    uint64_t begin_index; /* samples before this are not ours */
    bool have_first;
    uint64_t first, next; /* index of buf[0], expected next index */
    int32_t *force, *disp;
    size_t n, cap;
    uint32_t flags, rate_hz;
    char pen_lost[160]; /* the pen vanished during the capture */
    /* Begun while the stream was (re)starting: the old stream's tail (its
     * LAST block after a flush) is not ours; the new stream's first block
     * is the first that does not continue it. */
    bool await_restart;
    /* capture_end flushed the stream (STOP): the stop is ours, not a cut;
     * flush_done once it has stopped, flush_last if its LAST block came. */
    bool flushing, flush_done, flush_last;
};

struct run {
    struct runner *rn;
    pthread_t thread;
    bool thread_started;
    char run_id[37];
    struct api_client *owner; /* NULL once gone (event thread only) */
    char owner_name[96];
    bool claimed_session;
    cJSON *req;
    struct rig_sequence *seq;
    char dut[64], operator_name[64], record_path[4096], started_utc[32];
    char study[64]; /* "" = not a study's run; then part, trial */
    unsigned study_part, study_trial;
    unsigned attempt; /* the DUT's attempt number (station database); 0: none */
    uint64_t db_ns;   /* worker: time spent writing the station database */
    unsigned db_calls;
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
    struct rec_rig_action *rig_actions; /* what the rig did (record "rig_actions") */
    size_t nrig_actions;
};

/* The journal fields of a run's log lines (log.h). */
#define RUN_LOG(run)                                                                               \
    (&(struct log_run){ .station = (run)->rn->bench->rigd->cfg.station,                            \
                        .fixture = (run)->rn->bench->name,                                         \
                        .run_id = (run)->run_id,                                                   \
                        .dut = (run)->dut })

struct runner {
    struct bench *bench;
    int efd;
    sd_event_source *wake_src, *queue_timer;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    struct run_cmd *cmds, **cmds_tail;
    struct run_cmd *inflight[16]; /* issued to drivers, not completed */
    struct out_event *out, **out_tail;
    bool loop_gone;
    bool exit_when_done; /* shutdown waits for the run to end */
    struct run *run;
    struct rec_rig_action *pending_actions; /* rig actions since the last run, for the next one */
    size_t npending_actions;
    /* Stream clock: maps monotonic time to the sensor's sample index. */
    bool clock_ok;
    uint64_t stream_end;
    uint32_t stream_rate;
    double min_offset; /* min over deliveries of t*rate - end */
    /* A flush's STOP is out: the clock stays invalid until the stream has
     * stopped (its LAST block must not map "now" into the old stream). */
    bool flushing_stream;
    /* End of the last block delivered, kept across stream restarts. */
    bool have_last_end;
    uint64_t last_end;
    struct autoreport *reports; /* automatic reports being written (autoreport.c) */
};

/* The ops' context is the run. */
static inline struct run *R(void *ctx)
{
    return ctx;
}

/* ---- autoreport.c: the station's automatic run report ---------------------- */

struct autoreport;
/* After a run has ended (its worker joined): when the station config asks
 * for it, write the run's report beside its record -- on a thread of its
 * own (now false: event thread, logged when done) or at once (now true:
 * shutdown, after the loop). Never affects the run; failures are logged. */
void autoreport_start(struct runner *rn, const struct run *run, bool now);
/* Shutdown: wait for the reports being written and log them. */
void autoreport_shutdown(struct runner *rn);

/* ---- opbridge.c: worker <-> event thread --------------------------------- */

double mono_s(void);
void wake_loop(struct runner *rn);
/* Wait on the condvar until deadline (monotonic seconds); lock held. */
void cond_wait_until(struct runner *rn, double deadline);
/* The lock, the condvar and the eventfd: 0 or -errno (then destroy). */
int bridge_init(struct runner *rn);
void bridge_destroy(struct runner *rn);
/* Worker side: make, post and wait for commands; post events. */
struct run_cmd *cmd_new(enum cmd_kind kind, uint8_t pen_type);
void cmd_unref_locked(struct run_cmd *cmd);
int run_cmd(struct run *run, struct run_cmd *cmd, char *err, size_t errlen);
int simple_cmd(struct run *run, enum cmd_kind kind, struct run_cmd **keep, char *err,
               size_t errlen);
void post_event(struct run *run, const char *topic, cJSON *ev);
/* Event thread side. A command issued to a driver is in flight until
 * its completion (cmd_complete), so shutdown can fail it. */
void inflight_add(struct runner *rn, struct run_cmd *cmd);
void cmd_complete(struct runner *rn, struct run_cmd *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Clear the eventfd; then take the next command, else the next event. */
void bridge_ack(struct runner *rn);
void bridge_next(struct runner *rn, struct run_cmd **cmd, struct out_event **ev);
/* The loop has ended: fail queued and in-flight commands, refuse new ones. */
void bridge_shutdown(struct runner *rn);
void bridge_drop_events(struct runner *rn);

/* ---- capture.c: capture buffer, stream clock ----------------------------- */

void capture_reset(struct capture *c);
bool capture_doomed(const struct run *run);
int op_capture_begin(void *ctx, char *err, size_t errlen);
uint64_t op_capture_mark(void *ctx);
int op_capture_end(void *ctx, struct rig_capture *out, char *err, size_t errlen);
void exec_capture_begin(struct runner *rn, struct run_cmd *cmd);
void exec_capture_flush(struct runner *rn, struct run_cmd *cmd);

/* ---- runevents.c: a run's API events ------------------------------------- */

/* rig_ops.emit (worker thread). */
void runevents_emit(void *ctx, const struct run_event *e);
/* Event thread: ev (taken) to the run's owner and the topic's watchers. */
void send_to_run(struct runner *rn, const char *topic, cJSON *ev);
void runevents_started(struct runner *rn, const struct run *run);
/* "attempt": the run's attempt number, null without a database. */
void runevents_add_attempt(cJSON *obj, const struct run *run);

/* ---- runstore.c: the station results database of a run ------------------ */

/* Before a run is started or queued (event thread): the database can take
 * it (writable, room on its disk) and the DUT has an attempt left under
 * the station's max_attempts; *attempt: the run's attempt number (0
 * without a database). 0, or -1 after replying the error. */
int runstore_check(struct bench *bench, struct api_client *c, const cJSON *req, const char *dut,
                   unsigned *attempt);
/* The database's record sink for the run (worker thread), record path
 * recorded in its rows. 0 with *out set, 1 without a database (*out
 * untouched), -errno with err. */
int runstore_sink(struct run *run, struct rec_sink *out, char *err, size_t errlen);
void runevents_finished(struct runner *rn, const struct run *run, const char *outcome,
                        const char *reason);

/* ---- runops.c: the rig_ops of a run -------------------------------------- */

extern const struct rig_ops runner_ops;
/* The runner that driver completions report to. */
void exec_cmd(struct runner *rn, struct run_cmd *cmd);

/* ---- runowner.c: a run and the bench's session --------------------------- */

bool bench_free_for(struct bench *bench, struct api_client *c);
void busy_error(struct bench *bench, struct api_client *c, const cJSON *req);
/* Claim a session for the run unless c holds one; false after replying busy. */
bool run_claim_session(struct bench *bench, struct api_client *c, struct run *run);
/* The run has ended: release the session it claimed, or stop the motor,
 * and hand the bench on. */
void run_release_bench(struct bench *bench, struct api_client *owner, bool claimed, bool passed);

#endif
