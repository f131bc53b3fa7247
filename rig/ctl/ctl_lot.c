/* rigctl report --since T [--until T] [--fixture F] [--model M]
 *               [--measurement M] [--subgroup N] [--max-violations N]
 *               (--station-db DB | --config STATION.JSON | --db CONNINFO)
 *               [-o FILE]
 *
 * The lot (period) report (rig/report/lot_report.h) from the station
 * database file, the station config's database, or the line store; read
 * directly, not through rigd (like `rigctl sync --station-db`). Its own
 * argument parser: ctl_report.c hands `report` with --since here;
 * `report RUN` is the run report. */
#include "ctl/ctl_lot.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_args.h"
#include "ctl/ctl_core.h"
#include "report/lot_report.h"
#include "report/run_report.h"
#include "store/line.h"
#include "store/store_lot.h"

static const char usage[] =
    "usage: rigctl report --since T [--until T] [--fixture F] [--model M]\n"
    "                     [--measurement M] [--subgroup N] [--max-violations N]\n"
    "                     (--station-db DB | --config STATION.JSON | --db CONNINFO)\n"
    "                     [-o FILE] [--run-reports]\n"
    "Writes the lot report of the runs started from T (inclusive) until T\n"
    "(exclusive; UTC, any prefix of 2026-12-01T10:00:00) as one HTML file\n"
    "(default lot-report.html): counts, yields, failure Pareto, per measurement a\n"
    "histogram with Cp/Cpk/Pp/Ppk and an I-MR chart (X-bar/R with --subgroup N,\n"
    "N = 2..25) with the Western Electric rules, and the failed runs. --model: the\n"
    "pen model the DUT reported (its pen_model measurement). The database is the\n"
    "station's file (--station-db, or the \"database\" of --config) or the line's\n"
    "PostgreSQL (--db, a libpq conninfo). --run-reports also writes the failed\n"
    "runs' run reports next to FILE (from their record files), where its links\n"
    "point.\n";

struct lot_args {
    struct store_filter f;
    const char *station_db, *config, *conninfo, *out;
    unsigned long subgroup, max_violations;
    bool run_reports;
};

static int parse(int argc, char **argv, struct lot_args *a)
{
    enum {
        O_SINCE = 1,
        O_UNTIL,
        O_FIXTURE,
        O_MODEL,
        O_MEAS,
        O_SUBGROUP,
        O_MAXV,
        O_STATION_DB,
        O_CONFIG,
        O_DB,
        O_RUN_REPORTS,
        O_HELP,
    };
    static const struct option opts[] = {
        { "since", required_argument, NULL, O_SINCE },
        { "until", required_argument, NULL, O_UNTIL },
        { "fixture", required_argument, NULL, O_FIXTURE },
        { "model", required_argument, NULL, O_MODEL },
        { "measurement", required_argument, NULL, O_MEAS },
        { "subgroup", required_argument, NULL, O_SUBGROUP },
        { "max-violations", required_argument, NULL, O_MAXV },
        { "station-db", required_argument, NULL, O_STATION_DB },
        { "config", required_argument, NULL, O_CONFIG },
        { "db", required_argument, NULL, O_DB },
        { "output", required_argument, NULL, 'o' },
        { "run-reports", no_argument, NULL, O_RUN_REPORTS },
        { "help", no_argument, NULL, O_HELP },
        { 0 },
    };
    memset(a, 0, sizeof *a);
    a->out = "lot-report.html";
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case O_SINCE:
            a->f.since = optarg;
            break;
        case O_UNTIL:
            a->f.until = optarg;
            break;
        case O_FIXTURE:
            a->f.fixture = optarg;
            break;
        case O_MODEL:
            a->f.model = optarg;
            break;
        case O_MEAS:
            a->f.measurement = optarg;
            break;
        case O_SUBGROUP:
        case O_MAXV:
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg) {
                fprintf(stderr, "rigctl report: not a number: %s\n", optarg);
                return -1;
            }
            *(c == O_SUBGROUP ? &a->subgroup : &a->max_violations) = v;
            break;
        case O_STATION_DB:
            a->station_db = optarg;
            break;
        case O_CONFIG:
            a->config = optarg;
            break;
        case O_DB:
            a->conninfo = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case O_RUN_REPORTS:
            a->run_reports = true;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    int sources = !!a->station_db + !!a->config + !!a->conninfo;
    if (optind != argc || !a->f.since || sources != 1) {
        if (sources != 1)
            fprintf(stderr, "rigctl report: give one of --station-db, --config, --db\n");
        fputs(usage, stderr);
        return -1;
    }
    if (a->subgroup && (a->subgroup < 2 || a->subgroup > 25)) {
        fprintf(stderr, "rigctl report: --subgroup must be 2 to 25\n");
        return -1;
    }
    return 0;
}

/* The lot from the chosen database; source: what the report names. */
static int read_lot(const struct lot_args *a, struct store_lot **lot, char *source, size_t slen,
                    char *err, size_t errlen)
{
    if (a->conninfo) {
        struct line *ln;
        int r = line_connect(&ln, a->conninfo, NULL, err, errlen);
        if (r < 0)
            return r;
        r = line_lot(ln, &a->f, lot, err, errlen);
        line_close(ln);
        snprintf(source, slen, "line database (PostgreSQL)");
        return r;
    }
    char path[4096];
    int found = ctl_station_db(a->station_db, a->config, path, sizeof path, err, errlen);
    if (found < 0)
        return found;
    snprintf(source, slen, "station database %s", path);
    /* store_open would create a missing database: a report only reads. */
    if (access(path, R_OK) != 0) {
        int e = errno;
        snprintf(err, errlen, "station database %.900s: %s", path, strerror(e));
        return -e;
    }
    struct store *st;
    int r = store_open(&st, path, err, errlen);
    if (r < 0)
        return r;
    r = store_lot(st, &a->f, lot, err, errlen);
    store_close(st);
    return r;
}

/* The failed runs' run reports next to the lot report (its links). A
 * run whose record cannot be read is reported and passed over. Returns
 * how many could not be written. */
static unsigned run_reports(const struct store_lot *lot, const char *lot_file)
{
    char copy[4096], dir[4096], file[4096], path[8400], err[600];
    snprintf(copy, sizeof copy, "%s", lot_file);
    snprintf(dir, sizeof dir, "%s", dirname(copy)); /* dirname may write into copy */
    unsigned written = 0, failed = 0;
    for (size_t i = 0; i < lot->nruns; i++) {
        const struct store_lot_run *u = &lot->runs[i];
        if (!u->outcome || !strcmp(u->outcome, "PASS"))
            continue;
        if (!u->record_path) {
            fprintf(stderr, "rigctl report: run %s: no record file in the database\n", u->id);
            failed++;
            continue;
        }
        lot_report_run_file(u, file, sizeof file);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        struct run_report_opts o = { .attempt = u->attempt };
        if (run_report_file(u->record_path, path, &o, err, sizeof err) < 0) {
            fprintf(stderr, "rigctl report: run %s: %s\n", u->id, err);
            failed++;
        } else {
            written++;
        }
    }
    printf("run reports: %u written, %u not\n", written, failed);
    return failed;
}

static int lot_main(int argc, char **argv)
{
    struct lot_args a;
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    char err[1024], source[4200];
    struct store_lot *lot;
    int r = read_lot(&a, &lot, source, sizeof source, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "rigctl report: %s\n", err);
        return r == -ECONNREFUSED ? CTL_EXIT_UNAVAILABLE : CTL_EXIT_ERROR;
    }
    struct lot_report_opts o = {
        .filter = &a.f,
        .source = source,
        .subgroup = (unsigned)a.subgroup,
        .max_violations = a.max_violations,
    };
    struct html h;
    html_init(&h);
    r = lot_report_write(&h, lot, &o, err, sizeof err);
    if (r == 0)
        r = html_write_file(&h, a.out, err, sizeof err);
    html_free(&h);
    unsigned missing = 0;
    if (r == 0) {
        printf("%s: %zu runs, %zu measurements\n", a.out, lot->nruns, lot->nseries);
        if (a.run_reports)
            missing = run_reports(lot, a.out);
    } else {
        fprintf(stderr, "rigctl report: %s\n", err);
    }
    store_lot_free(lot);
    return r == 0 && missing == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

bool ctl_lot_wants(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--since") || !strncmp(argv[i], "--since=", 8))
            return true;
    return false;
}

int ctl_lot_main(int argc, char **argv)
{
    return lot_main(argc, argv);
}
