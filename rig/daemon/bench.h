/* The bench layer of rigd, its bottom: one bench per fixture (struct
 * bench: its drivers, event sources, safe stop, pen starts, streaming on
 * demand) and the daemon's shared state (struct rigd: the event loop, the
 * API server, the station config, shutdown flags). A bench never touches
 * another bench: a fault, an unplug or an abort on one fixture cannot
 * stop, delay or judge another.
 *
 * The bench layer never calls the layers above it (session.h, runner.h,
 * handlers.h, rigd.h; scripts/check-layers holds the order): it tells them
 * through the hooks they registered in bench->hooks. The upper layers' own
 * state per fixture (session, queue, run, pending requests) lives in
 * struct bench too, as data; only the bench's reads of it (is there a
 * session: heartbeats and stream demand) cross layers, and only as reads.
 *
 *   bench.c     the bench object: log, publish, sync, heartbeats,
 *               streaming on demand, device descriptions
 *   safety.c    safe stop: command STOP, wait (bounded), report
 *   penstart.c  START once the motor has come to rest after a STOP
 *   benchdev.c  the devices: driver callbacks (presence, pen events,
 *               stream events, live sample decimation), open and close
 *
 * Everything runs on the single sd-event thread, but for a run's worker
 * thread (runner.h).
 */
#ifndef RIGD_BENCH_H
#define RIGD_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "daemon/api/api.h"
#include "daemon/benchq.h"
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
struct runner;
struct rec_rig_action;
struct store;
struct linesync;
struct dbq;

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

/* What a bench tells the layers above it, and what the session layer asks
 * of the runner layer, as hooks: the lower layer calls through them, the
 * upper one fills them in before the bench opens (session_attach,
 * runner_attach, main.c), so no lower file ever names an upper one. A NULL
 * hook means nobody above listens (the callers then do what they would do
 * without a run or a session). Event thread only. */
struct bench_hooks {
    /* session layer, from safety.c: any safe stop has finished, so the
     * bench may be free for the next session claim or run. */
    void (*stop_done)(struct bench *bench);

    /* runner layer, from benchdev.c: sensor samples for an active
     * capture; stream events (loss, overrun, errors flag a capture); the
     * sensor or the pen vanished (the active run ends in ERROR). */
    void (*samples)(struct bench *bench, uint64_t first, const int32_t *force, const int32_t *disp,
                    size_t n, uint32_t rate_hz);
    void (*stream_event)(struct bench *bench, enum sh_drv_event ev, uint64_t detail,
                         const char *msg);
    void (*sensor_lost)(struct bench *bench, const char *reason);
    void (*pen_lost)(struct bench *bench, const char *reason);
    /* The rig invalidated what the active run measures (ERROR, never
     * FAIL); the rig did something to the bench (action taken: recorded in
     * the active or the next run's record; without the hook it is freed). */
    void (*rig_problem)(struct bench *bench, const char *what);
    void (*rig_action)(struct bench *bench, struct rec_rig_action *action);

    /* runner layer, from session.c: a run active or still ending (desc,
     * if given, names it for a "busy" message); serve a queued run (1
     * started, 0 not yet, -1 refused: see runner_start_queued); abort c's
     * run because its session ends. */
    bool (*run_active)(struct bench *bench, char *desc, size_t len);
    int (*run_start_queued)(struct bench *bench, struct api_client *c, const cJSON *req);
    bool (*run_abort_client)(struct bench *bench, const struct api_client *c, const char *reason);

    /* daemon (main.c), from runner.c: a run still ending at shutdown has
     * ended; the loop may exit once everything has settled. */
    void (*run_ended_at_shutdown)(struct bench *bench);
};

/* One fixture's bench. */
struct bench {
    struct rigd *rigd;
    const struct fixture_config *cfg; /* rigd->cfg.fixtures[i] */
    const char *name;                 /* cfg->name */
    struct bench_hooks hooks;         /* registered by the layers above */

    /* The fixture's instruments by role (RIG_ROLE_PEN, RIG_ROLE_SENSOR),
     * opened through the driver registry (dev/driver.h); pen and sh are
     * the same devices' protocol-level APIs (pen requests, tare...). */
    struct rig_device *dev[RIG_ROLES];
    struct dev_watch watch[RIG_ROLES];
    struct pen_drv *pen;
    struct sh_drv *sh;

    /* session.c: the session and the one queue (benchq.h) of session
     * claims and runs, in order. */
    bool have_session;
    struct session_owner owner;
    GQueue waiting;

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
    /* The station results database (rig/store; NULL: "database": false):
     * store is the runs' writer, shared by every bench's worker (one
     * connection behind the store's mutex); store_loop is the event
     * thread's own for quick reads (the attempts of a serial), so the
     * loop never waits behind a worker's commit; dbq runs the API's
     * queries on a thread of their own (handlers layer). */
    struct store *store, *store_loop;
    struct dbq *dbq;
    /* The push to the line store (NULL: no "line" in the config). */
    struct linesync *linesync;
    uint64_t next_session_id; /* session ids are unique per daemon run */

    struct bench benches[STATION_MAX_FIXTURES];
    size_t nbenches; /* cfg.nfixtures */

    /* Shutdown. */
    bool shutting_down;
    bool exiting; /* loop left: no new work */
    int exit_code;
    sd_event_source *grace_timer, *flush_timer;
};

/* ---- bench.c ---- */

/* Log a line about a bench: with several fixtures prefixed "fixture
 * NAME: "; under the journal with RIG_STATION and RIG_FIXTURE. */
void bench_log(const struct bench *bench, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Publish ev on topic with "fixture": the bench's name. */
void bench_publish(struct bench *bench, const char *topic, cJSON *ev);
void bench_publish_device(struct bench *bench, const char *device, const char *event,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bench_sync(struct bench *bench); /* after driving devices */
void bench_update_heartbeat(struct bench *bench);
/* Start/stop per demand. Call it whenever the demand may have changed:
 * session claimed/released, a client's watch changed or it disconnected. */
void bench_update_stream(struct bench *bench);
/* STOP the stream now, so that the sensor head sends what it has sampled
 * in a short LAST block instead of at the next block boundary; it is
 * restarted as soon as it has stopped (still wanted). 0 if STOP was sent. */
int bench_flush_stream(struct bench *bench);
/* The stream retry timer (created disarmed): 0 or -errno. */
int bench_stream_init(struct bench *bench);
/* The sensor's stream stopped: follow the demand (a stop we asked for),
 * or retry later, paced (a stop nobody asked for). */
void bench_stream_stopped(struct bench *bench);
/* api on_watch hook (user: struct rigd): a client's subscriptions changed. */
void bench_on_watch(void *user, struct api_client *c);
/* Append the bench's pen and sensor entries (each with "fixture") to arr. */
void bench_devices_add(struct bench *bench, cJSON *arr);
/* One device's entry of "devices" (NULL when not in the station config). */
cJSON *bench_pen_json(struct bench *bench);
cJSON *bench_sensor_json(struct bench *bench);

/* ---- safety.c ---- */

/* STOP the pen and wait for the answer (bounded by the pen driver's
 * retries). `done` (may be NULL) gets confirmed/not confirmed; then the
 * stop_done hook runs. */
void safe_stop(struct bench *bench, const char *reason, safe_stop_fn done, void *user);
/* Forget waiters whose user is going away. */
void safe_stop_forget(struct bench *bench, void *user);

/* ---- penstart.c ---- */

/* Send START once the pen can take it (its motor not ramping down after a
 * STOP; bounded by RIGD_PEN_SETTLE_MS). done gets the START's completion
 * as from pen_drv_request; wanted (may be NULL) is asked right before
 * START goes out and cancels it (-ECANCELED) when false. 0, or -ENODEV /
 * -ENOMEM (done is then not called). */
int pen_start_when_ready(struct bench *bench, pen_done_fn done, bool (*wanted)(void *user),
                         void *user);
/* Call done (status 0, or -ETIMEDOUT / -ENODEV) once the pen's motor is
 * at rest (not driven, not ramping down), bounded by RIGD_PEN_SETTLE_MS. */
int pen_when_at_rest(struct bench *bench, pen_done_fn done, void *user);
/* The pen reported a state change (or re-attached): re-check waiters. */
void pen_start_on_state(struct bench *bench);
/* Complete every waiter not yet talking to the pen with status. */
void pen_start_cancel_all(struct bench *bench, int status);

/* ---- benchdev.c ---- */

/* Open the fixture's instruments and watch them (missing devices are
 * not fatal: they attach when they appear). 0, or -errno with err set. */
int bench_open(struct bench *bench, char *err, size_t errlen);
void bench_close(struct bench *bench);

#endif
