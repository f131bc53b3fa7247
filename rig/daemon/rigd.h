/* rigd internals: the daemon state shared by its modules.
 *
 *   main.c      options, signals, start-up and shutdown
 *   devloop.c   drivers <-> sd-event
 *   bench.c     device callbacks: presence, pen events, stream events,
 *               live sample decimation, streaming on demand
 *   session.c   one session per bench: owner, busy / wait queue
 *   safety.c    safe stop: command STOP, wait (bounded), report
 *   penstart.c  START once the motor has come to rest after a STOP
 *   handlers.c  API request classes that touch devices and sessions
 *
 * Everything runs on the single sd-event thread.
 */
#ifndef RIGD_RIGD_H
#define RIGD_RIGD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "sequence.h"
#include "devloop.h"
#include "pen_drv.h"
#include "sh_drv.h"
#include "station.h"

struct rigd;
struct pen_start;
struct pending;
struct stop_req;

#define RIGD_LIVE_RATE_HZ 1000          /* decimated "samples" topic rate */
#define RIGD_STOP_GRACE_MS 1500         /* bound on waiting for STOP at exit */
#define RIGD_PEN_SETTLE_MS 3000        /* bound on a START waiting for STOPPING -> IDLE */
#define RIGD_DEMAND_CHECK_MS 1000       /* pace of sensor stream restarts after a failure */

struct session_owner {
    uint64_t id;                        /* session id, unique per daemon run */
    struct api_client *client;
    uid_t uid;
    pid_t pid;
    char user[64];
    char host[128];
    char purpose[128];
    char started[32];                   /* ISO 8601 UTC */
    bool implicit;                      /* claimed by a pen command */
};

struct session_waiter {
    struct session_waiter *next;
    struct api_client *client;
    cJSON *req;                         /* duplicated request, for the reply */
};

/* A pending safe stop and everyone waiting for its result. */
typedef void (*safe_stop_fn)(struct rigd *r, void *user, bool confirmed, const char *detail);
struct stop_waiter {
    struct stop_waiter *next;
    safe_stop_fn done;
    void *user;
};

struct live_decim {
    uint32_t factor;                    /* input samples per output sample */
    uint32_t in_window;
    int64_t sum_f, sum_d;
    uint32_t n_d;                       /* displacement values in window */
    uint64_t next_out_index;            /* index (at output rate) of next sample */
    uint64_t expect_in;                 /* next input index (gap detection) */
};

struct rigd {
    sd_event *ev;
    struct api_server *api;
    struct station_config cfg;
    char hostname[128];

    struct pen_drv *pen;
    struct sh_drv *sh;
    struct dev_watch pen_watch, sh_watch;

    bool have_session;
    struct session_owner owner;
    uint64_t next_session_id;
    struct session_waiter *waiters;

    /* Safe stop in flight (one at a time; later requests join it). */
    bool stopping;
    struct stop_waiter *stop_waiters;
    char stop_reason[128];
    bool last_stop_confirmed;
    bool unvouched;                     /* a stop failed: no heartbeats until re-attach/new session */
    char last_stop_detail[160];

    /* Sensor streaming on demand. */
    int stream_holds;                   /* explicit "sensor start" holds */
    bool stream_stop_asked;             /* we asked the stream to stop */
    sd_event_source *demand_timer;      /* one-shot: retry a failed stream */
    struct live_decim live;

    /* Shutdown. */
    bool shutting_down;
    bool exiting;                       /* loop left: no new work */
    int exit_code;
    sd_event_source *grace_timer;
    unsigned sigint_count;

    bool clearing_fault;                /* CLEAR_FAULT of a rig-caused fault in flight */
    char fault_why[200];                /* why that fault was the rig's */

    /* STARTs waiting for the motor to come to rest (penstart.c). */
    struct pen_start *pen_starts;
    sd_event_source *pen_start_timer;

    struct runner *runner;              /* runner.c: active + queued runs (lazy) */

    /* handlers.c: requests waiting for a device, and for a stop. */
    struct pending *pending;
    struct stop_req *stop_reqs;
};

/* bench.c */
int bench_open(struct rigd *r, char *err, size_t errlen);
void bench_close(struct rigd *r);
void bench_sync(struct rigd *r);                /* after driving devices */
/* Start/stop per demand. Call it whenever the demand may have changed:
 * session claimed/released, a client's watch changed or it disconnected. */
void bench_update_stream(struct rigd *r);
/* api on_watch hook: a client's subscriptions changed. */
void bench_on_watch(void *user, struct api_client *c);
void bench_update_heartbeat(struct rigd *r);
cJSON *bench_devices_json(struct rigd *r);
/* One device's entry of "devices" (NULL when not in the station config). */
cJSON *bench_pen_json(struct rigd *r);
cJSON *bench_sensor_json(struct rigd *r);
void bench_publish_device(struct rigd *r, const char *device, const char *event, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

/* session.c */
cJSON *session_owner_json(const struct session_owner *o);
bool session_owned_by(const struct rigd *r, const struct api_client *c);
/* The peer's user name (SO_PEERCRED uid), "uid N" or "an unknown user". */
void session_peer_user(const struct api_client *c, char *out, size_t len);
/* Claim for client c; on success fills r->owner. 0, or -EBUSY. */
int session_claim(struct rigd *r, struct api_client *c, const cJSON *req, bool implicit);
/* Stop the motor, end the session, hand it to the next waiter. */
void session_release(struct rigd *r, const char *reason);
void session_after_stop(struct rigd *r);
void session_client_gone(struct rigd *r, struct api_client *c);
void session_handle(struct rigd *r, struct api_client *c, const cJSON *req);

/* safety.c: STOP the pen and wait for the answer (bounded by the pen
 * driver's retries). `done` (may be NULL) gets confirmed/not confirmed. */
void safe_stop(struct rigd *r, const char *reason, safe_stop_fn done, void *user);
/* Forget waiters whose user is going away. */
void safe_stop_forget(struct rigd *r, void *user);

/* penstart.c: send START once the pen can take it (its motor not ramping
 * down after a STOP; bounded by RIGD_PEN_SETTLE_MS). done gets the START's
 * completion as from pen_drv_request; wanted (may be NULL) is asked right
 * before START goes out and cancels it (-ECANCELED) when false. 0, or
 * -ENODEV / -ENOMEM (done is then not called). */
int pen_start_when_ready(struct rigd *r, pen_done_fn done, bool (*wanted)(void *user), void *user);
/* Call done (status 0, or -ETIMEDOUT / -ENODEV) once the pen's motor is
 * at rest (not driven, not ramping down), bounded by RIGD_PEN_SETTLE_MS. */
int pen_when_at_rest(struct rigd *r, pen_done_fn done, void *user);
/* The pen reported a state change (or re-attached): re-check waiters. */
void pen_start_on_state(struct rigd *r);
/* Complete every waiter not yet talking to the pen with status. */
void pen_start_cancel_all(struct rigd *r, int status);

/* runreq.c: the "run" request, checked before anything moves. */
#define RUNREQ_NAME_MAX 129
struct run_request {
    struct rig_sequence *seq;           /* loaded and validated, owned */
    char dut[64], operator_name[64];
    char record_name[RUNREQ_NAME_MAX];  /* "" = default name */
    bool wait;
};
/* Arguments (their types already checked), files, and a named record
 * that must not exist yet. 0, or -1 after replying the error to c. */
int run_request_parse(struct rigd *r, struct api_client *c, const cJSON *req,
                      struct run_request *out);
void run_request_free(struct run_request *rq);
/* Both devices attached, (check_unit) the pen in the fixture is rq->dut,
 * and room on disk for the run. 0, or -1 after replying the error. */
int run_request_bench_ready(struct rigd *r, struct api_client *c, const cJSON *req,
                            const struct run_request *rq, bool check_unit);
/* Where the record goes: results_dir/NAME, or results_dir/<dut>-<UTC
 * time>-<run id>.json; creates the results directory. 0 or -errno. */
int run_request_record_path(struct rigd *r, const struct run_request *rq, const char *run_id,
                            char *out, size_t cap, char *err, size_t errlen);

/* handlers.c */
/* A request class, or one action of a class: its handler and the members
 * it takes (api_args.h, NULL for none; checked before the handler runs).
 * Tables end with a NULL name. */
struct rigd_request {
    const char *name;
    void (*handle)(struct rigd *r, struct api_client *c, const cJSON *req);
    const struct api_member *members;
};
/* Runs the entry of `actions` named by req's "action" (dflt when absent;
 * NULL: "action" is required). Answers bad_request for a missing action
 * or an action's member of the wrong type, bad_argument for an unknown
 * action. */
void rigd_dispatch_action(struct rigd *r, struct api_client *c, const cJSON *req, const char *cls,
                          const struct rigd_request *actions, const char *dflt);
/* 1..max-1 bytes, none a control character: text rigd logs or records
 * (a newline would forge a log line). */
bool rigd_printable(const char *s, size_t max);
void handlers_on_request(void *user, struct api_client *c, const char *cls, const cJSON *req);
void handlers_on_disconnect(void *user, struct api_client *c);

/* main.c */
void rigd_begin_shutdown(struct rigd *r, const char *why);

/* runner.c (see runner.h) */
#include "runner.h"

#endif
