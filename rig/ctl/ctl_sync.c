/* rigctl sync --station-db PATH [--db CONNINFO] [--station-id ID]
 *             [--max N] [--json]
 * rigctl [--socket PATH] sync [--json]
 *
 * With --station-db: prints the outbox (backlog, oldest pending, last
 * error, last success) of that database and, with --db, runs one sync
 * pass first (local: no rigd needed). Without: asks rigd, whose sync
 * thread pushes its runs ("sync" in its status). Its own argument parser:
 * it needs none of the daemon client's options but --socket. */
#include "ctl/ctl_sync.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_args.h"
#include "ctl/ctl_conn.h"
#include "store/line.h"

static const char usage[] =
    "usage: rigctl sync --station-db PATH [--db CONNINFO] [--station-id ID] [--max N] [--json]\n"
    "       rigctl [--socket PATH] sync [--json]\n"
    "Shows the line store's outbox of the station database; with --db (a libpq\n"
    "conninfo, e.g. \"host=/run/postgresql dbname=rigline\") first pushes up to N\n"
    "queued runs (all by default) to the line's PostgreSQL. Without --station-db,\n"
    "asks rigd (the station config's \"line\"), which pushes by itself.\n";

/* How long rigd may take to answer "status". */
#define CTL_SYNC_TIMEOUT_S 10.0

static void print_status(const struct store_sync_status *s)
{
    printf("backlog:      %lld run(s), %lld due now\n", s->backlog, s->due);
    if (s->oldest[0])
        printf("oldest:       %s\n", s->oldest);
    if (s->next_try[0])
        printf("next retry:   %s (max attempts %lld)\n", s->next_try, s->max_attempts);
    printf("last success: %s\n", s->last_success_at[0] ? s->last_success_at : "never");
    if (s->last_error[0])
        printf("last error:   %s (%s)\n", s->last_error, s->last_error_at);
    printf("sent:         %lld run(s) in all\n", s->sent);
}

static void text_of(const cJSON *o, const char *key, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(out, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static long long int_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* rigd's "sync" (status), printed as the local mode prints the outbox. */
static int from_rigd(const char *socket, int json)
{
    char tried[8192], err[8192];
    const char *path = socket ? socket : ctl_default_socket(tried, sizeof tried);
    struct ctl_conn c;
    if (ctl_connect(&c, path, CTL_SYNC_TIMEOUT_S, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl sync: %s\n", err);
        return CTL_EXIT_UNAVAILABLE;
    }
    cJSON *req = cJSON_CreateObject(), *reply = NULL;
    cJSON_AddStringToObject(req, "class", "status");
    int r = ctl_request(&c, req, CTL_SYNC_TIMEOUT_S, NULL, NULL, &reply, err, sizeof err);
    ctl_close(&c);
    if (r <= 0) {
        fprintf(stderr, "rigctl sync: %s\n", r == 0 ? "no reply from rigd" : err);
        return CTL_EXIT_ERROR;
    }
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(reply, "sync");
    int rc = CTL_EXIT_OK;
    if (!cJSON_IsObject(o)) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(reply, "message");
        fprintf(stderr, "rigctl sync: %s\n",
                cJSON_IsString(msg) ? msg->valuestring
                                    : "rigd pushes to no line store (no \"line\" in the station "
                                      "config); use --station-db PATH for a database");
        rc = CTL_EXIT_ERROR;
    } else if (json) {
        char *t = cJSON_Print(o);
        if (t)
            puts(t);
        free(t);
    } else {
        struct store_sync_status s = { 0 };
        s.backlog = int_of(o, "backlog");
        s.due = int_of(o, "due");
        s.max_attempts = int_of(o, "max_attempts");
        s.sent = int_of(o, "sent");
        text_of(o, "oldest", s.oldest, sizeof s.oldest);
        text_of(o, "next_try", s.next_try, sizeof s.next_try);
        text_of(o, "last_error", s.last_error, sizeof s.last_error);
        text_of(o, "last_error_at", s.last_error_at, sizeof s.last_error_at);
        text_of(o, "last_success_at", s.last_success_at, sizeof s.last_success_at);
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(o, "connected");
        printf("line:         %s\n", cJSON_IsTrue(up) ? "connected" : "not connected");
        print_status(&s);
    }
    cJSON_Delete(reply);
    return rc;
}

static int sync_main(int argc, char **argv, const char *socket, int json)
{
    enum { O_STATION_DB = 1, O_DB, O_STATION_ID, O_MAX, O_JSON, O_HELP, O_SOCKET };
    static const struct option opts[] = {
        { "station-db", required_argument, NULL, O_STATION_DB },
        { "db", required_argument, NULL, O_DB },
        { "station-id", required_argument, NULL, O_STATION_ID },
        { "max", required_argument, NULL, O_MAX },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { "socket", required_argument, NULL, O_SOCKET },
        { 0 },
    };
    const char *path = NULL, *conninfo = NULL, *station_id = NULL;
    unsigned long max = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_STATION_DB:
            path = optarg;
            break;
        case O_DB:
            conninfo = optarg;
            break;
        case O_STATION_ID:
            station_id = optarg;
            break;
        case O_MAX:
            max = strtoul(optarg, NULL, 10);
            break;
        case O_JSON:
            json = 1;
            break;
        case O_SOCKET:
            socket = optarg;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return CTL_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (optind != argc || (!path && (conninfo || station_id || max))) {
        fputs(usage, stderr);
        return CTL_EXIT_USAGE;
    }
    if (!path)
        return from_rigd(socket, json);
    char err[512];
    struct store *st;
    if (store_open(&st, path, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl sync: %s\n", err);
        return CTL_EXIT_ERROR;
    }
    int rc = CTL_EXIT_OK, synced = 0;
    struct store_sync_stats stats = { 0 };
    char sync_err[512] = "";
    if (conninfo) {
        struct line *ln;
        int r = line_connect(&ln, conninfo, station_id, sync_err, sizeof sync_err);
        if (r == 0) {
            r = store_sync(st, ln, max, &stats, sync_err, sizeof sync_err);
            line_close(ln);
        } else {
            store_sync_note_error(st, sync_err, err, sizeof err); /* best effort */
        }
        synced = 1;
        if (r < 0)
            rc = r == -ECONNREFUSED ? CTL_EXIT_UNAVAILABLE : CTL_EXIT_ERROR;
    }
    struct store_sync_status s;
    if (store_sync_status(st, &s, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl sync: %s\n", err);
        store_close(st);
        return CTL_EXIT_ERROR;
    }
    store_close(st);
    if (json) {
        cJSON *o = store_sync_status_json(&s);
        if (o && synced) {
            cJSON *p = cJSON_AddObjectToObject(o, "sync");
            if (p) {
                cJSON_AddNumberToObject(p, "sent", (double)stats.sent);
                cJSON_AddNumberToObject(p, "batches", (double)stats.batches);
                cJSON_AddNumberToObject(p, "failed", (double)stats.failed);
                if (sync_err[0] && rc != CTL_EXIT_OK)
                    cJSON_AddStringToObject(p, "error", sync_err);
                else
                    cJSON_AddNullToObject(p, "error");
            }
        }
        char *t = o ? cJSON_Print(o) : NULL;
        if (t)
            puts(t);
        free(t);
        cJSON_Delete(o);
    } else {
        if (synced)
            printf("sync:         %lu run(s) sent in %lu transaction(s), %lu failed\n", stats.sent,
                   stats.batches, stats.failed);
        print_status(&s);
    }
    if (rc != CTL_EXIT_OK)
        fprintf(stderr, "rigctl sync: %s\n", sync_err);
    return rc;
}

int ctl_sync_dispatch(int argc, char **argv)
{
    /* rigctl's global options before the command: --socket and --json
     * mean here what they mean for every command. */
    const char *socket = NULL;
    int json = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc)
            socket = argv[++i];
        else if (!strncmp(argv[i], "--socket=", 9))
            socket = argv[i] + 9;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else
            break;
    }
    if (i >= argc || strcmp(argv[i], "sync") != 0)
        return -1;
    return sync_main(argc - i, argv + i, socket, json);
}
