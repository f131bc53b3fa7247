/* rigd's run manager: the "run" request, one active run per bench, the
 * worker thread that executes it (rig/core run_execute) and the bridge
 * between that blocking thread and the single sd-event thread.
 *
 *   worker thread                       sd-event thread
 *   -------------                       ---------------
 *   op() -> post cmd, write eventfd --> on_wake: issue async driver call
 *        <- condvar: done + result  <-- driver completion fills the cmd
 *   emit() -> outbox, eventfd       --> publish to watchers + run owner
 *   end   -> finished, eventfd      --> join, "finished" event, release
 *
 * Every wait of the worker is bounded and wakes on abort. Sensor samples
 * reach an active capture through runner_on_samples(), the bench's samples
 * hook (benchdev.c) on the event thread. Everything here except the
 * worker's ops runs on the event thread. Protocol: docs/API.md ("run",
 * "abort"), docs/RUNS.md.
 */
#ifndef RIGD_RUNNER_H
#define RIGD_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dev/sh2/protocol.h"

struct rigd;
struct bench;
struct api_client;
struct runner;

/* Register the runner layer's hooks on the bench (bench.h, struct
 * bench_hooks: samples, stream and device events, rig problems and
 * actions, and the session layer's questions about runs); before it opens. */
void runner_attach(struct bench *bench);

/* "run" request: validate, claim the bench (or queue with "wait"), start. */
void runner_handle_run(struct bench *bench, struct api_client *c, const cJSON *req);
/* Abort the active run (-> ABORTED) and drop queued runs' hope of starting
 * while shutting down. Returns true when a run was active. Wakes the
 * worker; pen starts are refused from now on. */
bool runner_abort(struct bench *bench, const char *reason);
/* Abort the active run if client c owns it (a session ending under it). */
bool runner_abort_client(struct bench *bench, const struct api_client *c, const char *reason);
/* A run from the bench's queue (benchq.h), served by bench_hand_on():
 * 1 started (replied), 0 the bench is not free for it yet (keep it
 * queued), -1 refused on re-validation (replied with the error). */
int runner_start_queued(struct bench *bench, struct api_client *c, const cJSON *req);
/* True while a run is active or still ending (its worker not yet joined,
 * its final STOP maybe not yet sent): the bench must not get a new owner
 * then. desc (if given) names the run for a "busy" message. */
bool runner_active_desc(struct bench *bench, char *desc, size_t len);
/* Adds "run": {...} (id, step, owner, ...) or "run": null to a status body. */
void runner_status_add(struct bench *bench, cJSON *body);
/* A client went away: abort its run, drop its queued runs. */
void runner_client_gone(struct bench *bench, struct api_client *c);

/* Hooks of the bench layer (bench_hooks, registered by runner_attach;
 * event thread). */
void runner_on_samples(struct bench *bench, uint64_t first, const int32_t *force,
                       const int32_t *disp, size_t n, uint32_t rate_hz);
/* A sensor stream event: loss, overrun, errors flag an active capture.
 * detail as the driver gave it (STREAM_STOPPED: 1 if its LAST block came). */
void runner_on_stream_event(struct bench *bench, enum sh_drv_event ev, uint64_t detail,
                            const char *msg);
void runner_on_sensor_lost(struct bench *bench, const char *reason);
/* The pen vanished: a capture in progress cannot be judged (ERROR, not a
 * pen FAIL for the strokes that stopped); later ops fail with -ENODEV. */
void runner_on_pen_lost(struct bench *bench, const char *reason);

/* The rig did something that invalidates what the active run measures
 * (e.g. it let the pen's watchdog expire): the run is told at its next
 * check and ends ERROR, never FAIL. No-op without an active run. */
void runner_on_rig_problem(struct bench *bench, const char *what);
/* Something the rig did to the bench (takes action, one malloc'd entry
 * and its strings): recorded in the active run's record, or in the next
 * run's when none is active. */
struct rec_rig_action;
void runner_note_rig_action(struct bench *bench, struct rec_rig_action *action);

/* Shutdown: true when a run is still ending; the loop is then exited
 * (sd_event_exit with bench->rigd->exit_code) as soon as it has finished, so its
 * owner gets the "finished" event. The shutdown grace timer still bounds it. */
bool runner_defer_exit(struct bench *bench);
/* After the event loop has ended: abort, fail every pending op, join the
 * worker (its record is written, marked ABORTED) and free everything. */
void runner_shutdown(struct bench *bench);

#endif
