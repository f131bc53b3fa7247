/* rigctl report (see ctl_report.h): option parsing, finding the record
 * (a file, or a run id through the station database) and writing the
 * report rig/report renders. */
#include "ctl/ctl_report.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/record.h"
#include "ctl/ctl_args.h"
#include "ctl/ctl_core.h"
#include "ctl/ctl_lot.h"
#include "report/run_report.h"
#include "store/store.h"
#include "version/version.h"

struct report_args {
    const char *run;        /* RUN: record file or run id */
    const char *out;        /* -o FILE; NULL: default name; "-": stdout */
    const char *station_db; /* --station-db */
    const char *config;     /* --config (station config: its database) */
};

static const char usage[] =
    "Usage: rigctl report RUN [-o FILE] [--station-db DB | --config STATION.JSON]\n"
    "       rigctl report --since T ...   (the lot report: rigctl report --since T --help)\n"
    "\n"
    "Write a run's report: one self-contained HTML file (no network, prints to\n"
    "PDF) with the run's identity, outcome, measurements against their limits,\n"
    "and plots of its captures (docs/REPORTS.md).\n"
    "\n"
    "RUN is a record file (.json), or a run id (or 8+ leading characters of one)\n"
    "looked up in the station database (--station-db, or the database of the\n"
    "station config --config); the database also gives the run's attempt number.\n"
    "-o FILE   where to write (default: the record's name with .html, in the\n"
    "          current directory; - for standard output)\n"
    "Exit 0 written, 2 the record cannot be read or the report not written,\n"
    "64 usage error.\n";

static int usage_error(const char *msg)
{
    fprintf(stderr, "rigctl report: %s\n%s", msg, usage);
    return -1;
}

/* 0: go on, 1: help printed, -1: usage error printed. */
static int parse(int argc, char **argv, struct report_args *a)
{
    enum { OPT_STATION_DB = 256, OPT_CONFIG, OPT_HELP };
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' },
        { "station-db", required_argument, NULL, OPT_STATION_DB },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            a->out = optarg;
            break;
        case OPT_STATION_DB:
            a->station_db = optarg;
            break;
        case OPT_CONFIG:
            a->config = optarg;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return 1;
        default:
            return usage_error("unknown option or missing value");
        }
    }
    if (a->station_db && a->config)
        return usage_error("--station-db and --config both name a database: give one");
    if (optind + 1 != argc)
        return usage_error(optind >= argc ? "no RUN given" : "one RUN at a time");
    a->run = argv[optind];
    return 0;
}

/* The database path from --station-db or --config ("": none). */
static int database_path(const struct report_args *a, char *out, size_t len)
{
    char msg[512];
    if (ctl_station_db(a->station_db, a->config, out, len, msg, sizeof msg) < 0) {
        fprintf(stderr, "rigctl report: %s\n", msg);
        return -1;
    }
    return 0;
}

/* The run's row in the database by id (the record's id when RUN is a
 * file); *row NULL when not there. -1 after a message for a failure. */
static int lookup(const char *db, const char *id, bool must, cJSON **row)
{
    *row = NULL;
    /* store_open would create a missing database: a report only reads */
    if (access(db, R_OK) != 0) {
        fprintf(stderr, "rigctl report: station database %s: %s\n", db, strerror(errno));
        return -1;
    }
    struct store *st;
    char err[512];
    if (store_open(&st, db, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl report: %s\n", err);
        return -1;
    }
    int rc = store_find_run(st, id, row, err, sizeof err);
    store_close(st);
    if (rc < 0 && (must || rc != -ENOENT)) {
        fprintf(stderr, "rigctl report: %s\n", err);
        return -1;
    }
    return 0;
}

static const char *row_str(const cJSON *row, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The record's id without parsing it all (the report parses it later). */
static int record_id(const char *path, char *id, size_t len)
{
    char err[256];
    cJSON *doc = record_read(path, err, sizeof err);
    if (!doc)
        return -1;
    const char *s = row_str(doc, "id");
    snprintf(id, len, "%s", s ? s : "");
    cJSON_Delete(doc);
    return s ? 0 : -1;
}

static int report_run(const struct report_args *a)
{
    char db[4096], path[4096], id[64];
    if (database_path(a, db, sizeof db) < 0)
        return CTL_EXIT_ERROR;
    struct stat sb;
    bool is_file = stat(a->run, &sb) == 0 && S_ISREG(sb.st_mode);
    cJSON *row = NULL;
    if (is_file) {
        snprintf(path, sizeof path, "%s", a->run);
        if (*db && record_id(path, id, sizeof id) == 0 && lookup(db, id, false, &row) < 0)
            return CTL_EXIT_ERROR;
    } else {
        if (!*db) {
            fprintf(stderr,
                    "rigctl report: %s is not a record file; to find a run by id give "
                    "--station-db DB or --config STATION.JSON\n",
                    a->run);
            return CTL_EXIT_USAGE;
        }
        if (lookup(db, a->run, true, &row) < 0)
            return CTL_EXIT_ERROR;
        const char *rp = row_str(row, "record_path");
        if (!rp) {
            fprintf(stderr, "rigctl report: run %s: the database has no record file for it\n",
                    a->run);
            cJSON_Delete(row);
            return CTL_EXIT_ERROR;
        }
        snprintf(path, sizeof path, "%s", rp);
    }
    struct run_report_opts o = { 0 };
    if (row) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(row, "attempt");
        o.attempt = cJSON_IsNumber(at) && at->valuedouble >= 1 ? (unsigned)at->valuedouble : 0;
        o.retest_reason = row_str(row, "retest_reason");
    }
    char gen[160], now[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    record_utc(&ts, now);
    snprintf(gen, sizeof gen, "Generated by rigctl report, rig %s (%s), at %s UTC.", rig_version(),
             rig_vcs(), now);
    o.generator = gen;

    char out[4096], err[600];
    if (a->out) {
        snprintf(out, sizeof out, "%s", a->out);
    } else {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", path);
        if (run_report_path_for(basename(copy), out, sizeof out) < 0) {
            fprintf(stderr, "rigctl report: %s: name too long\n", path);
            cJSON_Delete(row);
            return CTL_EXIT_ERROR;
        }
    }
    struct html h;
    html_init(&h);
    int rc = run_report_build(path, &o, &h, err, sizeof err);
    if (rc == 0 && strcmp(out, "-") == 0)
        rc = fwrite(h.buf, 1, h.len, stdout) == h.len && fflush(stdout) == 0 ? 0 : -EIO;
    else if (rc == 0)
        rc = html_write_file(&h, out, err, sizeof err);
    html_free(&h);
    cJSON_Delete(row);
    if (rc < 0) {
        fprintf(stderr, "rigctl report: %s\n", rc == -EIO && !*err ? "cannot write" : err);
        return CTL_EXIT_ERROR;
    }
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "report: %s\n", out);
    return CTL_EXIT_OK;
}

/* Report kinds, first match wins. A new kind (the lot report: --since)
 * adds its options to parse() and an entry here before "run". */
static const struct {
    const char *name;
    bool (*wants)(const struct report_args *a);
    int (*make)(const struct report_args *a);
} kinds[] = {
    { "run", NULL, report_run },
};

int ctl_report_dispatch(int argc, char **argv)
{
    /* rigctl's global options before the command are accepted and have
     * no meaning here (a report does not talk to rigd). */
    int i = 1;
    for (; i < argc; i++) {
        if ((!strcmp(argv[i], "--socket") || !strcmp(argv[i], "--fixture") ||
             !strcmp(argv[i], "--timeout")) &&
            i + 1 < argc)
            i++;
        else if (strncmp(argv[i], "--", 2) != 0 || !strcmp(argv[i], "--"))
            break;
    }
    if (i >= argc || strcmp(argv[i], "report") != 0)
        return -1;
    /* The lot report (ctl_lot.c) is asked for by its period and has its
     * own options. */
    if (ctl_lot_wants(argc - i, argv + i))
        return ctl_lot_main(argc - i, argv + i);
    struct report_args a;
    int rc = parse(argc - i, argv + i, &a);
    if (rc != 0)
        return rc > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (!kinds[k].wants || kinds[k].wants(&a))
            return kinds[k].make(&a);
    }
    return CTL_EXIT_USAGE;
}
