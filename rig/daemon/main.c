/* rigd: the rig daemon. Owns the bench devices and serves the JSON-lines
 * API (docs/API.md); see docs/DAEMON.md for options, safety and design.
 *
 *   rigd [--config FILE] [--socket PATH] [--verbose]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/linesync.h"
#include "daemon/log.h"
#include "daemon/rigd.h"
#include "store/store.h"
#include "version/version.h"

#define DEFAULT_CONFIG "/etc/rig/station.json"

struct options {
    const char *config;
    const char *socket;
    bool verbose;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rigd [--config FILE] [--socket PATH] [--verbose] | --version\n"
            "Runs the test-rig daemon for a station's fixtures.\n"
            "  -c, --config FILE   station config (default %s)\n"
            "  -s, --socket PATH   API socket (default $RUNTIME_DIRECTORY/rigd.sock,\n"
            "                      /run/rigd/rigd.sock as root, else $XDG_RUNTIME_DIR/rigd.sock)\n"
            "  -v, --verbose       log protocol traffic\n"
            "SIGINT/SIGTERM stop the motor (confirmed or reported) and exit; a second\n"
            "SIGINT exits at once after a best-effort STOP.\n",
            DEFAULT_CONFIG);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
        { "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
    };
    *o = (struct options){ .config = DEFAULT_CONFIG };
    int c;
    while ((c = getopt_long(argc, argv, "c:s:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("rigd %s (%s)\n", rig_version(), rig_vcs());
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rigd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Default socket: systemd's RuntimeDirectory, else the system or the
 * user's runtime dir. */
static int default_socket(char *buf, size_t cap)
{
    const char *dir = getenv("RUNTIME_DIRECTORY");
    if (dir && *dir) {
        /* RuntimeDirectory may list several, ':'-separated: use the first. */
        size_t n = strcspn(dir, ":");
        return snprintf(buf, cap, "%.*s/rigd.sock", (int)n, dir) < (int)cap ? 0 : -1;
    }
    if (geteuid() == 0) {
        if (mkdir("/run/rigd", 0755) < 0 && errno != EEXIST)
            return -1;
        return snprintf(buf, cap, "/run/rigd/rigd.sock") < (int)cap ? 0 : -1;
    }
    dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir)
        return -1;
    return snprintf(buf, cap, "%s/rigd.sock", dir) < (int)cap ? 0 : -1;
}

/* Open the station database (creating its directory and the schema, or
 * migrating it): rigd refuses to start on one it cannot use (newer,
 * foreign, unreadable), as on any other config error. */
static int open_database(struct rigd *r, char *err, size_t errlen)
{
    if (r->cfg.no_database) {
        log_msg(LOG_WARNING, "no station database (\"database\": false): runs are kept as "
                             "record files only");
        return 0;
    }
    char dir[sizeof r->cfg.database];
    snprintf(dir, sizeof dir, "%s", r->cfg.database);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (g_mkdir_with_parents(dir, 0755) < 0) {
            snprintf(err, errlen, "database %.300s: cannot create its directory: %s",
                     r->cfg.database, strerror(errno));
            return -1;
        }
    }
    char why[400];
    if (store_open(&r->store, r->cfg.database, why, sizeof why) < 0 ||
        store_open(&r->store_loop, r->cfg.database, why, sizeof why) < 0) {
        snprintf(err, errlen, "database %.300s: %.190s", r->cfg.database, why);
        store_close(r->store);
        r->store = NULL;
        return -1;
    }
    r->dbq = dbq_new(r, err, errlen);
    if (!r->dbq) {
        store_close(r->store);
        store_close(r->store_loop);
        r->store = r->store_loop = NULL;
        return -1;
    }
    /* The line store: its thread connects by itself (a line down at
     * start-up is an outage like any other, not a reason to refuse). */
    if (r->cfg.line_conninfo[0] && linesync_new(&r->linesync, r->cfg.database, r->cfg.line_conninfo,
                                                r->cfg.station, err, errlen) < 0) {
        dbq_free(r->dbq);
        r->dbq = NULL;
        store_close(r->store);
        store_close(r->store_loop);
        r->store = r->store_loop = NULL;
        return -1;
    }
    return 0;
}

static void close_database(struct rigd *r)
{
    linesync_free(r->linesync); /* bounded: LINESYNC_STOP_MS */
    r->linesync = NULL;
    dbq_free(r->dbq); /* waits for a query still running */
    r->dbq = NULL;
    store_close(r->store_loop);
    store_close(r->store);
    r->store = r->store_loop = NULL;
}

/* ---- shutdown ---- */

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *user)
{
    struct rigd *r = user;
    (void)s;
    (void)usec;
    sd_event_exit(r->ev, r->exit_code);
    return 0;
}

/* Shutdown: leave the loop once every bench's motor stop has completed
 * and no run is still ending; flush: a moment later, so a "finished"
 * event just queued still reaches its client. */
static void rigd_exit_when_settled(struct rigd *r, bool flush)
{
    bool ending = false;
    for (size_t i = 0; i < r->nbenches; i++) {
        if (!r->benches[i].shutdown_stopped)
            return;
        /* the aborted run ends first (record, reply); its end calls us */
        ending = runner_defer_exit(&r->benches[i]) || ending;
    }
    if (ending)
        return;
    log_msg(LOG_NOTICE, "exiting");
    if (!flush || (!r->flush_timer && sd_event_add_time_relative(
                                          r->ev, &r->flush_timer, CLOCK_MONOTONIC,
                                          RIGD_EXIT_FLUSH_MS * 1000u, 10000, on_exit_timer, r) < 0))
        sd_event_exit(r->ev, r->exit_code);
}

/* The bench's run_ended_at_shutdown hook: its "finished" event is queued. */
static void run_ended_at_shutdown(struct bench *bench)
{
    rigd_exit_when_settled(bench->rigd, true);
}

static void shutdown_stopped(struct bench *bench, void *user, bool confirmed, const char *detail)
{
    (void)user;
    (void)detail;
    struct rigd *r = bench->rigd;
    bench_log(bench, LOG_NOTICE, "motor stop at shutdown %s",
              confirmed ? "confirmed" : "NOT confirmed");
    if (!confirmed && r->exit_code == 0)
        r->exit_code = 2;
    bench->shutdown_stopped = true;
    rigd_exit_when_settled(r, false);
}

static int on_grace_timeout(sd_event_source *s, uint64_t usec, void *user)
{
    struct rigd *r = user;
    (void)s;
    (void)usec;
    log_msg(LOG_ERR, "motor stop not confirmed within %d ms; exiting anyway (heartbeats off)",
            RIGD_STOP_GRACE_MS);
    r->exit_code = 2;
    sd_event_exit(r->ev, r->exit_code);
    return 0;
}

static void rigd_begin_shutdown(struct rigd *r, const char *why)
{
    if (r->shutting_down)
        return;
    r->shutting_down = true;
    sd_notify(0, "STOPPING=1");
    log_msg(LOG_NOTICE, "shutting down: %s", why);
    int rc = sd_event_add_time_relative(r->ev, &r->grace_timer, CLOCK_MONOTONIC,
                                        RIGD_STOP_GRACE_MS * 1000u, 10000, on_grace_timeout, r);
    if (rc < 0)
        log_msg(LOG_WARNING, "cannot arm the shutdown timer: %s", strerror(-rc));
    char abort_why[160], reason[160];
    snprintf(abort_why, sizeof abort_why, "rigd shutting down (%s)", why);
    snprintf(reason, sizeof reason, "rigd shutdown (%s)", why);
    for (size_t i = 0; i < r->nbenches; i++) {
        struct bench *bench = &r->benches[i];
        runner_abort(bench, abort_why); /* the worker is joined after the loop */
        bench_update_stream(bench);
        safe_stop(bench, reason, shutdown_stopped, NULL);
    }
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *user)
{
    struct rigd *r = user;
    (void)s;
    if (si->ssi_signo == SIGINT && r->shutting_down) {
        /* Second SIGINT: do not wait. One STOP frame straight to each
         * port; heartbeats stop with us, so the pens' watchdogs are the
         * backstop. */
        for (size_t i = 0; i < r->nbenches; i++) {
            struct bench *bench = &r->benches[i];
            int rc = bench->pen ? pen_drv_stop_now(bench->pen) : -ENODEV;
            if (bench->pen)
                pen_drv_set_heartbeat(bench->pen, false);
            bench_log(bench, LOG_ERR,
                      "second SIGINT: exiting now; STOP %s, not confirmed; pen "
                      "watchdog stops the motor within %d ms",
                      rc == 0 ? "sent" : "could not be sent", PEN_WATCHDOG_TIMEOUT_MS);
        }
        r->exit_code = 2;
        sd_event_exit(r->ev, r->exit_code);
        return 0;
    }
    rigd_begin_shutdown(r, si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}

static int setup_signals(struct rigd *r)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -errno;
    /* A client vanishing mid-write must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    int rc = sd_event_add_signal(r->ev, NULL, SIGINT, on_signal, r);
    if (rc >= 0)
        rc = sd_event_add_signal(r->ev, NULL, SIGTERM, on_signal, r);
    return rc;
}

/* Warnings and errors also go to API watchers of "log". */
static void log_to_watchers(void *user, int level, const char *msg)
{
    struct rigd *r = user;
    if (!r->api || level > LOG_NOTICE || !api_has_watchers(r->api, "log"))
        return;
    static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice" };
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "level", names[level]);
    cJSON_AddStringToObject(ev, "message", msg);
    api_publish(r->api, "log", ev);
}

int main(int argc, char **argv)
{
    struct options opt;
    if (parse_options(argc, argv, &opt) < 0)
        return 64;
    log_init(opt.verbose);

    static struct rigd rigd;
    struct rigd *r = &rigd;
    char err[512];
    if (station_load(opt.config, &r->cfg, err, sizeof err) < 0) {
        log_msg(LOG_ERR, "bad station config: %s", err);
        return 78;
    }
    if (station_resolve_paths(&r->cfg, err, sizeof err) < 0) {
        log_msg(LOG_ERR, "bad station config: %s", err);
        return 78;
    }
    r->nbenches = r->cfg.nfixtures;
    for (size_t i = 0; i < r->nbenches; i++) {
        struct bench *bench = &r->benches[i];
        bench->rigd = r;
        bench->cfg = &r->cfg.fixtures[i];
        bench->name = bench->cfg->name;
        g_queue_init(&bench->waiting);
        /* The layers above the bench register their hooks, top last. */
        session_attach(bench);
        runner_attach(bench);
        bench->hooks.run_ended_at_shutdown = run_ended_at_shutdown;
    }
    if (gethostname(r->hostname, sizeof r->hostname) < 0)
        snprintf(r->hostname, sizeof r->hostname, "localhost");
    r->hostname[sizeof r->hostname - 1] = '\0';

    char sockpath[1024];
    if (opt.socket)
        snprintf(sockpath, sizeof sockpath, "%s", opt.socket);
    else if (default_socket(sockpath, sizeof sockpath) < 0) {
        log_msg(LOG_ERR,
                "no socket path: give --socket, or set RUNTIME_DIRECTORY or XDG_RUNTIME_DIR");
        return 78;
    }

    int rc = sd_event_default(&r->ev);
    if (rc < 0) {
        log_msg(LOG_ERR, "sd_event_default: %s", strerror(-rc));
        return 1;
    }
    if (open_database(r, err, sizeof err) < 0) {
        log_msg(LOG_ERR, "bad station database: %s", err);
        sd_event_unref(r->ev);
        return 78;
    }
    rc = setup_signals(r);
    if (rc < 0) {
        log_msg(LOG_ERR, "cannot set up signal handling: %s", strerror(-rc));
        return 1;
    }
    /* Under systemd with WatchdogSec= the loop pings the service manager;
     * a hung loop gets rigd killed, its heartbeats stop, and the pen's own
     * watchdog stops the motor. Without WATCHDOG_USEC this does nothing. */
    rc = sd_event_set_watchdog(r->ev, true);
    if (rc < 0)
        log_msg(LOG_WARNING, "cannot enable the systemd watchdog: %s", strerror(-rc));
    static const struct api_handlers handlers = {
        .on_request = handlers_on_request,
        .on_disconnect = handlers_on_disconnect,
        .on_watch = bench_on_watch,
    };
    r->api = api_server_new(r->ev, sockpath, &handlers, r);
    if (!r->api) {
        log_msg(LOG_ERR, "cannot serve %s: %s", sockpath, strerror(errno));
        sd_event_unref(r->ev);
        return 1;
    }
    log_set_hook(log_to_watchers, r);
    log_msg(LOG_NOTICE, "station %s: %zu fixture%s, serving %s, records in %s, database %s",
            r->cfg.station, r->nbenches, r->nbenches == 1 ? "" : "s", sockpath, r->cfg.results_dir,
            r->cfg.no_database ? "none" : r->cfg.database);
    for (size_t i = 0; i < r->nbenches; i++) {
        if (bench_open(&r->benches[i], err, sizeof err) < 0) {
            log_msg(LOG_ERR, "cannot open fixture %s: %s", r->benches[i].name, err);
            for (size_t j = 0; j <= i; j++)
                bench_close(&r->benches[j]);
            api_server_free(r->api);
            sd_event_unref(r->ev);
            return 1;
        }
    }

    /* Under systemd (Type=notify): serving now; devices may still attach. */
    sd_notify(0, "READY=1");
    rc = sd_event_loop(r->ev);
    if (rc < 0)
        log_msg(LOG_ERR, "event loop failed: %s", strerror(-rc));

    /* Fail the runs' remaining ops, let them write their records, join. */
    for (size_t i = 0; i < r->nbenches; i++)
        runner_shutdown(&r->benches[i]);
    r->exiting = true;
    for (size_t i = 0; i < r->nbenches; i++)
        if (r->benches[i].pen)
            pen_drv_set_heartbeat(r->benches[i].pen, false);
    log_set_hook(NULL, NULL);
    api_server_free(r->api);
    r->api = NULL;
    for (size_t i = 0; i < r->nbenches; i++)
        bench_close(&r->benches[i]);
    close_database(r);
    r->grace_timer = sd_event_source_unref(r->grace_timer);
    r->flush_timer = sd_event_source_unref(r->flush_timer);
    sd_event_unref(r->ev);
    return rc < 0 ? 1 : r->exit_code;
}
