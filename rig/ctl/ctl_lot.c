/* rigctl report --since T [--until T] [--fixture F] [--model M]
 *               [--measurement M] [--subgroup N] [--max-violations N]
 *               (--station-db DB | --config STATION.JSON | --db CONNINFO)
 *               [-o FILE]
 *
 * The lot (period) report (rig/report/lot_report.h) from the station
 * database file, the station config's database, or the line store; read
 * directly, not through rigd (like `rigctl sync --station-db`). Its own
 * argument parser, as sync: `report` with --since is this; `report RUN`
 * is the run report. */
#include "ctl/ctl_lot.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_args.h"
#include "dev/station.h"
#include "report/lot_report.h"
#include "store/line.h"
#include "store/store_lot.h"

static const char usage[] =
    "usage: rigctl report --since T [--until T] [--fixture F] [--model M]\n"
    "                     [--measurement M] [--subgroup N] [--max-violations N]\n"
    "                     (--station-db DB | --config STATION.JSON | --db CONNINFO)\n"
    "                     [-o FILE]\n"
    "Writes the lot report of the runs started from T (inclusive) until T\n"
    "(exclusive; UTC, any prefix of 2026-12-01T10:00:00) as one HTML file\n"
    "(default lot-report.html): counts, yields, failure Pareto, per measurement a\n"
    "histogram with Cp/Cpk/Pp/Ppk and an I-MR chart (X-bar/R with --subgroup N,\n"
    "N = 2..25) with the Western Electric rules, and the failed runs. --model: the\n"
    "pen model the DUT reported (its pen_model measurement). The database is the\n"
    "station's file (--station-db, or the \"database\" of --config) or the line's\n"
    "PostgreSQL (--db, a libpq conninfo).\n";

struct lot_args {
    struct store_filter f;
    const char *station_db, *config, *conninfo, *out;
    unsigned long subgroup, max_violations;
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
    const char *path = a->station_db;
    static struct station_config cfg; /* large: not on the stack */
    if (a->config) {
        if (station_load(a->config, &cfg, err, errlen) < 0 ||
            station_resolve_paths(&cfg, err, errlen) < 0)
            return -EINVAL;
        if (cfg.no_database) {
            snprintf(err, errlen, "%s: the station keeps no database (\"database\": false)",
                     a->config);
            return -ENOENT;
        }
        path = cfg.database;
    }
    snprintf(source, slen, "station database %s", path);
    struct store *st;
    int r = store_open(&st, path, err, errlen);
    if (r < 0)
        return r;
    r = store_lot(st, &a->f, lot, err, errlen);
    store_close(st);
    return r;
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
    if (r == 0)
        printf("%s: %zu runs, %zu measurements\n", a.out, lot->nruns, lot->nseries);
    else
        fprintf(stderr, "rigctl report: %s\n", err);
    store_lot_free(lot);
    return r == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

int ctl_lot_dispatch(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "report") != 0)
        return -1;
    /* `report RUN` is the run report's: the lot report is asked for by
     * its period. */
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--since") || !strncmp(argv[i], "--since=", 8))
            return lot_main(argc - 1, argv + 1);
    return -1;
}
