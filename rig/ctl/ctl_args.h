/* rigctl command-line parsing (no I/O besides usage text). */
#ifndef RIG_CTL_ARGS_H
#define RIG_CTL_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes (documented in docs/API.md and `rigctl --help`). */
enum ctl_exit {
    CTL_EXIT_OK = 0,           /* success; run PASS */
    CTL_EXIT_FAIL = 1,         /* run FAIL (pen out of spec); check found problems */
    CTL_EXIT_ERROR = 2,        /* run ERROR/ABORTED/TIMEOUT; rigd refused or failed */
    CTL_EXIT_USAGE = 64,       /* bad command line (EX_USAGE) */
    CTL_EXIT_UNAVAILABLE = 69, /* rigd not reachable (EX_UNAVAILABLE) */
    CTL_EXIT_BUSY = 75,        /* bench busy: retry later or --wait (EX_TEMPFAIL) */
};

enum ctl_command {
    CTL_CMD_NONE,
    CTL_CMD_DEVICES,
    CTL_CMD_STATUS,
    CTL_CMD_PEN,
    CTL_CMD_WATCH,
    CTL_CMD_RUN,
    CTL_CMD_ABORT,
    CTL_CMD_CHECK,
    CTL_CMD_RECOMPUTE,
    CTL_CMD_PRUNE,
    CTL_CMD_HISTORY, /* the station database (ctl_db.h) */
    CTL_CMD_UNIT,
    CTL_CMD_STATS,
    CTL_CMD_IMPORT,
    CTL_CMD_GRR, /* its own options (ctl_grr.h): files/nfiles = its argv */
};

struct ctl_args {
    /* global */
    const char *socket;  /* NULL: ctl_default_socket() */
    const char *fixture; /* NULL: rigd's only fixture */
    bool json;
    double timeout_s; /* reply timeout; run: overall limit when set */
    bool timeout_set;
    bool help;    /* --help given: usage printed, exit 0 */
    bool version; /* --version given */
    enum ctl_command cmd;
    /* pen */
    const char *pen_action; /* identify|set|start|stop|status */
    double rate_hz, depth_mm;
    bool have_rate, have_depth;
    bool hold; /* keep the session (connection) until Ctrl-C */
    /* watch */
    const char *topics; /* comma separated, NULL = default */
    long count;         /* 0 = unlimited */
    double duration_s;  /* 0 = unlimited */
    /* run */
    const char *sequence, *dut, *operator_name, *junit, *record;
    bool wait;
    /* history, unit, stats, import (--dut is run's) */
    const char *since, *until, *outcome, *measurement, *serial, *dir;
    long limit;     /* 0: rigd's default */
    const char *db; /* history, unit, stats: the line store's conninfo */
    /* prune */
    double pass_days; /* < 0: PRUNE_DEFAULT_PASS_DAYS */
    bool dry_run;
    const char *station_db; /* prune: mark pruned captures there too */
    const char *config;     /* prune: directory, database, policy from it */
    /* check, recompute, prune */
    char **files;
    int nfiles;
};

#define CTL_DEFAULT_TIMEOUT_S 10.0

/* Parses argv. Returns CTL_EXIT_OK (proceed, or help was printed when
 * args->help) or CTL_EXIT_USAGE after printing a message to `err`. */
int ctl_parse_args(int argc, char **argv, struct ctl_args *args, FILE *out, FILE *err);

#endif
