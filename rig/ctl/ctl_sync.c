/* rigctl sync --station-db PATH [--db CONNINFO] [--station-id ID]
 *             [--max N] [--json]
 *
 * Prints the outbox (backlog, oldest pending, last error, last success)
 * and, with --db, runs one sync pass first. Its own argument parser: it
 * needs none of rigd's options, and keeps this command out of the way of
 * the daemon client's. */
#include "ctl/ctl_sync.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_args.h"
#include "store/line.h"

static const char usage[] =
    "usage: rigctl sync --station-db PATH [--db CONNINFO] [--station-id ID] [--max N] [--json]\n"
    "Shows the line store's outbox of the station database; with --db (a libpq\n"
    "conninfo, e.g. \"host=/run/postgresql dbname=rigline\") first pushes up to N\n"
    "queued runs (all by default) to the line's PostgreSQL.\n";

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

int ctl_sync_main(int argc, char **argv)
{
    enum { O_STATION_DB = 1, O_DB, O_STATION_ID, O_MAX, O_JSON, O_HELP };
    static const struct option opts[] = {
        { "station-db", required_argument, NULL, O_STATION_DB },
        { "db", required_argument, NULL, O_DB },
        { "station-id", required_argument, NULL, O_STATION_ID },
        { "max", required_argument, NULL, O_MAX },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { 0 },
    };
    const char *path = NULL, *conninfo = NULL, *station_id = NULL;
    unsigned long max = 0;
    int json = 0, c;
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
        case O_HELP:
            fputs(usage, stdout);
            return CTL_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (!path || optind != argc) {
        fputs(usage, stderr);
        return CTL_EXIT_USAGE;
    }
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
