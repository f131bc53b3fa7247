/* rigd internals: the daemon (struct rigd: the event loop, the API
 * server, the station config, shutdown) and one bench per fixture (struct
 * bench: its drivers, event sources, session and queue, safe stop,
 * streaming and run). A bench never touches another bench: a fault, an
 * unplug or an abort on one fixture cannot stop, delay or judge another.
 *
 *   main.c      options, signals, start-up and shutdown of every bench
 *   devloop.c   drivers <-> sd-event
 *   bench.c     device callbacks: presence, pen events, stream events,
 *               live sample decimation, streaming on demand
 *   session.c   one session per bench: owner, busy / wait queue
 *   safety.c    safe stop: command STOP, wait (bounded), report
 *   penstart.c  START once the motor has come to rest after a STOP
 *   handlers.c  API request classes: station-wide or addressed to one fixture
 *   status.c    "status" and "devices": the station and each fixture
 *   benchq.c    the bench's one queue of waiting session claims and runs
 *   runreq.c    the "run" request, checked before anything moves
 *   runner.c    runs (runner.h): lifecycle, queue, abort, status, shutdown;
 *               its pieces (runner_int.h): runowner.c (the session),
 *               runops.c (the rig ops of the worker), runevents.c (engine
 *               events -> API events), capture.c (capture buffer, stream
 *               clock), opbridge.c (worker <-> loop bridge)
 *
 * Everything runs on the single sd-event thread, but for a run's worker
 * thread (runner.h).
 */
#ifndef RIGD_RIGD_H
#define RIGD_RIGD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "daemon/api/api.h"
#include "daemon/benchq.h"
#include "core/sequence.h"
#include "daemon/devloop.h"
#include "dev/driver.h"
#include "dev/mnp-pen/protocol.h"
#include "dev/sh2/protocol.h"
#include "dev/station.h"

struct rigd;
struct bench;
struct pen_start;
struct pending;
struct stop_req;

#define RIGD_LIVE_RATE_HZ    1000 /* decimated "samples" topic rate */
#define RIGD_STOP_GRACE_MS   1500 /* bound on waiting for STOP at exit */
#define RIGD_PEN_SETTLE_MS   3000 /* bound on a START waiting for STOPPING -> IDLE */
#define RIGD_DEMAND_CHECK_MS 1000 /* pace of sensor stream restarts after a failure */
#define RIGD_EXIT_FLUSH_MS   100  /* lets a last "finished" event reach its client */

struct session_owner {
    uint64_t id; /* session id, unique per daemon run */
    struct api_client *client;
    uid_t uid;
    pid_t pid;
    char user[64];
    char host[128];
    char purpose[128];
    char started[32]; /* ISO 8601 UTC */
    bool implicit;    /* claimed by a pen command */
};

/* A pending safe stop and everyone waiting for its result. */
typedef void (*safe_stop_fn)(struct bench *bench, void *user, bool confirmed, const char *detail);
struct stop_waiter {
    struct stop_waiter *next;
    safe_stop_fn done;
    void *user;
};

struct live_decim {
    uint32_t factor; /* input samples per output sample */
    uint32_t in_window;
    int64_t sum_f, sum_d;
    uint32_t n_d;            /* displacement values in window */
    uint64_t next_out_index; /* index (at output rate) of next sample */
    uint64_t expect_in;      /* next input index (gap detection) */
};

/* One fixture's bench. */
struct bench {
    struct rigd *rigd;
    const struct fixture_config *cfg; /* rigd->cfg.fixtures[i] */
    const char *name;                 /* cfg->name */

    /* The fixture's instruments by role (RIG_ROLE_PEN, RIG_ROLE_SENSOR),
     * opened through the driver registry (dev/driver.h); pen and sh are
     * the same devices' protocol-level APIs (pen requests, tare...). */
    struct rig_device *dev[RIG_ROLES];
    struct dev_watch watch[RIG_ROLES];
    struct pen_drv *pen;
    struct sh_drv *sh;

    bool have_session;
    struct session_owner owner;
    GQueue waiting; /* benchq.h: session claims and runs, in order */

    /* Safe stop in flight (one at a time; later requests join it). */
    bool stopping;
    struct stop_waiter *stop_waiters;
    char stop_reason[128];
    bool last_stop_confirmed;
    bool unvouched; /* a stop failed: no heartbeats until re-attach/new session */
    char last_stop_detail[160];
    bool shutdown_stopped; /* shutdown: this bench's motor stop has completed */

    /* Sensor streaming on demand. */
    int stream_holds;              /* explicit "sensor start" holds */
    bool stream_stop_asked;        /* we asked the stream to stop */
    sd_event_source *demand_timer; /* one-shot: retry a failed stream */
    struct live_decim live;

    bool clearing_fault; /* CLEAR_FAULT of a rig-caused fault in flight */
    char fault_why[200]; /* why that fault was the rig's */

    /* STARTs waiting for the motor to come to rest (penstart.c). */
    struct pen_start *pen_starts;
    sd_event_source *pen_start_timer;

    struct runner *runner; /* runner.c: active + queued runs (lazy) */

    /* handlers.c: requests waiting for a device, and for a stop. */
    struct pending *pending;
    struct stop_req *stop_reqs;
};

/* The daemon. */
struct rigd {
    sd_event *ev;
    struct api_server *api;
    struct station_config cfg;
    char hostname[128];
    uint64_t next_session_id; /* session ids are unique per daemon run */

    struct bench benches[STATION_MAX_FIXTURES];
    size_t nbenches; /* cfg.nfixtures */

    /* Shutdown. */
    bool shutting_down;
    bool exiting; /* loop left: no new work */
    int exit_code;
    sd_event_source *grace_timer, *flush_timer;
};

/* bench.c */
int bench_open(struct bench *bench, char *err, size_t errlen);
void bench_close(struct bench *bench);
void bench_sync(struct bench *bench); /* after driving devices */
/* Start/stop per demand. Call it whenever the demand may have changed:
 * session claimed/released, a client's watch changed or it disconnected. */
void bench_update_stream(struct bench *bench);
/* STOP the stream now, so that the sensor head sends what it has sampled
 * in a short LAST block instead of at the next block boundary; it is
 * restarted as soon as it has stopped (still wanted). 0 if STOP was sent. */
int bench_flush_stream(struct bench *bench);
/* api on_watch hook (user: struct rigd): a client's subscriptions changed. */
void bench_on_watch(void *user, struct api_client *c);
void bench_update_heartbeat(struct bench *bench);
/* Append the bench's pen and sensor entries (each with "fixture") to arr. */
void bench_devices_add(struct bench *bench, cJSON *arr);
/* One device's entry of "devices" (NULL when not in the station config). */
cJSON *bench_pen_json(struct bench *bench);
cJSON *bench_sensor_json(struct bench *bench);
void bench_publish_device(struct bench *bench, const char *device, const char *event,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* session.c */
cJSON *session_owner_json(const struct session_owner *o);
bool session_owned_by(const struct bench *bench, const struct api_client *c);
/* The peer's user name (SO_PEERCRED uid), "uid N" or "an unknown user". */
void session_peer_user(const struct api_client *c, char *out, size_t len);
/* Claim for client c; on success fills bench->owner. 0, or -EBUSY. */
int session_claim(struct bench *bench, struct api_client *c, const cJSON *req, bool implicit);
/* Stop the motor, end the session, hand it to the next waiter. */
void session_release(struct bench *bench, const char *reason);
void session_after_stop(struct bench *bench);
/* The bench may have become free (a stop ended, a run ended, a session
 * was released): serve the queue's head -- a session claim or a run --
 * for as long as the bench is free for it. */
void bench_hand_on(struct bench *bench);
void session_client_gone(struct bench *bench, struct api_client *c);
void session_handle(struct bench *bench, struct api_client *c, const cJSON *req);

/* safety.c: STOP the pen and wait for the answer (bounded by the pen
 * driver's retries). `done` (may be NULL) gets confirmed/not confirmed. */
void safe_stop(struct bench *bench, const char *reason, safe_stop_fn done, void *user);
/* Forget waiters whose user is going away. */
void safe_stop_forget(struct bench *bench, void *user);

/* penstart.c: send START once the pen can take it (its motor not ramping
 * down after a STOP; bounded by RIGD_PEN_SETTLE_MS). done gets the START's
 * completion as from pen_drv_request; wanted (may be NULL) is asked right
 * before START goes out and cancels it (-ECANCELED) when false. 0, or
 * -ENODEV / -ENOMEM (done is then not called). */
int pen_start_when_ready(struct bench *bench, pen_done_fn done, bool (*wanted)(void *user),
                         void *user);
/* Call done (status 0, or -ETIMEDOUT / -ENODEV) once the pen's motor is
 * at rest (not driven, not ramping down), bounded by RIGD_PEN_SETTLE_MS. */
int pen_when_at_rest(struct bench *bench, pen_done_fn done, void *user);
/* The pen reported a state change (or re-attached): re-check waiters. */
void pen_start_on_state(struct bench *bench);
/* Complete every waiter not yet talking to the pen with status. */
void pen_start_cancel_all(struct bench *bench, int status);

/* runreq.c: the "run" request, checked before anything moves. */
#define RUNREQ_NAME_MAX 129
struct run_request {
    struct rig_sequence *seq; /* loaded and validated, owned */
    char dut[64], operator_name[64];
    char record_name[RUNREQ_NAME_MAX]; /* "" = default name */
    bool wait;
};
/* Arguments (their types already checked), files, and a named record
 * that must not exist yet. 0, or -1 after replying the error to c. */
int run_request_parse(struct bench *bench, struct api_client *c, const cJSON *req,
                      struct run_request *out);
void run_request_free(struct run_request *rq);
/* Both devices attached, (check_unit) the pen in the fixture is rq->dut,
 * and room on disk for the run. 0, or -1 after replying the error. */
int run_request_bench_ready(struct bench *bench, struct api_client *c, const cJSON *req,
                            const struct run_request *rq, bool check_unit);
/* Where the record goes: results_dir/NAME, or results_dir/<dut>-<UTC
 * time>-<run id>.json; creates the results directory. 0 or -errno. */
int run_request_record_path(struct bench *bench, const struct run_request *rq, const char *run_id,
                            char *out, size_t cap, char *err, size_t errlen);

/* handlers.c */
/* A request class, or one action of a class: its handler and the members
 * it takes (api_args.h, NULL for none; checked before the handler runs).
 * Tables end with a NULL name. */
struct rigd_request {
    const char *name;
    void (*handle)(struct bench *bench, struct api_client *c, const cJSON *req);
    const struct api_member *members;
};
/* Runs the entry of `actions` named by req's "action" (dflt when absent;
 * NULL: "action" is required). Answers bad_request for a missing action
 * or an action's member of the wrong type, bad_argument for an unknown
 * action. */
void rigd_dispatch_action(struct bench *bench, struct api_client *c, const cJSON *req,
                          const char *cls, const struct rigd_request *actions, const char *dflt);
/* 1..max-1 bytes, none a control character: text rigd logs or records
 * (a newline would forge a log line). */
bool rigd_printable(const char *s, size_t max);
void handlers_on_request(void *user, struct api_client *c, const char *cls, const cJSON *req);
void handlers_on_disconnect(void *user, struct api_client *c);

/* status.c: the "status" and "devices" replies; one: the fixture the
 * request named (or the only one), else NULL. */
cJSON *rigd_status_json(struct rigd *r, struct bench *one);
cJSON *rigd_devices_json(struct rigd *r, struct bench *one);

/* main.c */
void rigd_begin_shutdown(struct rigd *rigd, const char *why);
/* Shutdown: leave the loop once every bench's motor stop has completed
 * and no run is still ending; flush: a moment later, so a "finished"
 * event just queued still reaches its client. */
void rigd_exit_when_settled(struct rigd *rigd, bool flush);
/* Log a line about a bench: with several fixtures prefixed "fixture
 * NAME: "; under the journal with RIG_STATION and RIG_FIXTURE. */
void bench_log(const struct bench *bench, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Publish ev on topic with "fixture": the bench's name. */
void bench_publish(struct bench *bench, const char *topic, cJSON *ev);

/* runner.c (see runner.h) */
#include "daemon/runner.h"

#endif
