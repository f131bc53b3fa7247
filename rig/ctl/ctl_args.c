/* rigctl command-line parsing. Global options may come before or after
 * the subcommand: `rigctl --json devices` == `rigctl devices --json`. */
#include "ctl/ctl_args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

enum {
    OPT_SOCKET = 1000,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_HELP,
    OPT_VERSION,
    OPT_RATE,
    OPT_DEPTH,
    OPT_TOPICS,
    OPT_COUNT,
    OPT_DURATION,
    OPT_DUT,
    OPT_OPERATOR,
    OPT_JUNIT,
    OPT_RECORD,
    OPT_WAIT,
    OPT_HOLD,
    OPT_PASS_DAYS,
    OPT_DRY_RUN,
    OPT_DB,
    OPT_STATION_DB,
    OPT_CONFIG,
    OPT_FIXTURE,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_OUTCOME,
    OPT_LIMIT,
    OPT_MEASUREMENT,
};

#define GLOBAL_OPTIONS                                                                             \
    { "socket", required_argument, NULL, OPT_SOCKET }, { "json", no_argument, NULL, OPT_JSON },    \
        { "timeout", required_argument, NULL, OPT_TIMEOUT },                                       \
        { "fixture", required_argument, NULL, OPT_FIXTURE },                                       \
        { "help", no_argument, NULL, OPT_HELP },                                                   \
    {                                                                                              \
        "version", no_argument, NULL, OPT_VERSION                                                  \
    }

static const char usage_main[] =
    "Usage: rigctl [--socket PATH] [--fixture NAME] [--json] [--timeout S] COMMAND [ARGS]\n"
    "\n"
    "Talks to rigd, the test-rig daemon, over its JSON-lines API.\n"
    "\n"
    "Commands:\n"
    "  devices                     list the bench's devices and their state\n"
    "  status                      daemon, session and run status\n"
    "  pen identify|status|stop [--hold]\n"
    "  pen set|start [--rate HZ] [--depth MM] [--hold]\n"
    "                              manual pen control (--hold: stay connected,\n"
    "                              keeping the session, until Ctrl-C)\n"
    "  watch [--topics T,..] [--count N] [--duration S]\n"
    "                              print live events (topics: devices, run,\n"
    "                              measurements, samples, log)\n"
    "  run SEQUENCE --dut SERIAL [--operator NAME] [--record FILE]\n"
    "      [--junit FILE] [--wait] run a test sequence and follow it\n"
    "  abort                       abort the current run\n"
    "  check FILE...               validate sequence / spec-limit files locally\n"
    "  recompute RECORD...         recompute a run record's measurements and\n"
    "                              verdicts from its attachments alone\n"
    "  history [--dut S] [--since T] [--until T] [--outcome O] [--limit N]\n"
    "      [--db CONNINFO]         runs in the station database, newest first\n"
    "                              (--db: the line store, every station)\n"
    "  unit SERIAL [--db CONNINFO] every attempt at a unit, failing measurements\n"
    "  stats [--measurement M] [--since T] [--until T] [--db CONNINFO]\n"
    "                              yields, FPY, capability (Cp/Cpk/Ppk), Pareto\n"
    "  import DIR                  load run records from DIR into the database\n"
    "  sync [--station-db PATH [--db CONNINFO] [--station-id ID] [--max N]]\n"
    "                              the line store's outbox: rigd's, or that of a\n"
    "                              station database (then --db pushes it)\n"
    "  prune [--pass-days N] [--dry-run] [--station-db PATH] DIR|RECORD...\n"
    "  prune --config STATION.JSON [--pass-days N] [--dry-run]\n"
    "                              delete the capture files of PASS runs older\n"
    "                              than N days (retention; records keep the hashes)\n"
    "  report RUN [-o FILE] [--station-db DB | --config STATION.JSON]\n"
    "                              a run's HTML report (RUN: record file or run id)\n"
    "  grr plan|analyse ...        gauge R&R studies (rigctl grr --help)\n"
    "\n"
    "Global options:\n"
    "  --socket PATH   rigd socket (default: $RIGD_SOCKET, else\n"
    "                  $XDG_RUNTIME_DIR/rigd.sock if present, else /run/rigd/rigd.sock)\n"
    "  --fixture NAME  the station's fixture to address (needed when it has\n"
    "                  several; devices/status/watch: only that fixture)\n"
    "  --json          print rigd's raw JSON lines (one object per line)\n"
    "  --timeout S     seconds to wait for each reply (default 10)\n"
    "  --help          this text; `rigctl COMMAND --help` for one command\n"
    "  --version       rigctl's version and the commit it was built from\n"
    "\n"
    "Exit codes: 0 success / PASS, 1 FAIL (pen out of spec; check found problems),\n"
    "2 ERROR / ABORTED / TIMEOUT or rigd refused the request, 64 usage error,\n"
    "69 rigd not reachable, 75 bench busy (retry, or run --wait).\n";

static const char usage_pen[] =
    "Usage: rigctl pen identify|status|stop [--hold]\n"
    "       rigctl pen set [--rate HZ] [--depth MM] [--hold]\n"
    "       rigctl pen start [--rate HZ] [--depth MM] [--hold]\n"
    "\n"
    "Manual control of the pen under test. `set` changes the stroke rate (Hz)\n"
    "and/or needle depth (mm); rigd checks them against the pen's ranges.\n"
    "`start --rate/--depth` sends the set and then the start in one connection.\n"
    "set/start claim the bench session for this connection; rigd ends it and\n"
    "stops the motor when rigctl exits, so a bare `pen start` in a new rigctl\n"
    "has no rate of its own: give --rate/--depth, or use --hold.\n"
    "--hold keeps the connection (the session, and the motor running) until\n"
    "Ctrl-C or SIGTERM, showing device events meanwhile; then rigd stops the\n"
    "motor. Example: rigctl pen start --rate 120 --depth 1.25 --hold\n";

static const char usage_watch[] =
    "Usage: rigctl watch [--topics T[,T...]] [--count N] [--duration S]\n"
    "\n"
    "Prints events as they happen until Ctrl-C, N events or S seconds.\n"
    "Topics: devices, run, measurements, samples, log\n"
    "(default: all but samples).\n";

static const char usage_run[] =
    "Usage: rigctl run SEQUENCE --dut SERIAL [--operator NAME] [--record FILE]\n"
    "                  [--junit FILE] [--wait]\n"
    "\n"
    "Runs SEQUENCE on the pen with serial SERIAL and follows it: a progress bar\n"
    "on a terminal (plain lines otherwise), each measurement as it is judged,\n"
    "then a summary. rigctl reads SEQUENCE and the spec it names with your\n"
    "rights and sends their contents to rigd. SERIAL must be the serial the pen\n"
    "in the fixture reports.\n"
    "  --wait          if the bench is busy, wait for it instead of failing\n"
    "  --record NAME   file name of the run record in rigd's results directory\n"
    "                  (NAME.json; never overwritten; default <serial>-<time>-<id>)\n"
    "  --junit FILE    also write JUnit XML for CI\n"
    "Exit: 0 PASS, 1 FAIL, 2 ERROR/ABORTED/TIMEOUT (or refused), 69 no rigd,\n"
    "75 bench busy.\n";

static const char usage_history[] =
    "Usage: rigctl history [--dut SERIAL] [--since T] [--until T] [--outcome O]\n"
    "                      [--fixture F] [--limit N] [--db CONNINFO] [--json]\n"
    "\n"
    "Runs in the station database, newest first (default at most 100, --limit\n"
    "up to 1000): start time, DUT, attempt, outcome, fixture, run id and the\n"
    "retest reason or message. T is UTC, any prefix of 2026-12-01T10:00:00\n"
    "(--since inclusive, --until exclusive). O: PASS, FAIL, ERROR, ABORTED,\n"
    "TIMEOUT or incomplete. --fixture filters by fixture name. --db: the runs of\n"
    "every station in the line store (a libpq conninfo), each with its station.\n";

static const char usage_unit[] =
    "Usage: rigctl unit SERIAL [--db CONNINFO] [--json]\n"
    "\n"
    "Every attempt at the unit, oldest first, with its outcome, retest reason\n"
    "and the measurements that failed. --db: every station's, from the line store.\n";

static const char usage_stats[] =
    "Usage: rigctl stats [--measurement M] [--since T] [--until T] [--fixture F]\n"
    "                    [--db CONNINFO] [--json]\n"
    "\n"
    "Yields over the units first tested in the window (FPY, final yield, retest\n"
    "rate); per measurement and limits: count, yield, FPY, mean, s.d., Cp, Cpk,\n"
    "Ppk; the Pareto of failures. Definitions: docs/STORE.md. --db: over every\n"
    "station, from the line store.\n";

static const char usage_import[] =
    "Usage: rigctl import DIR [--json]\n"
    "\n"
    "Loads the run records under DIR (recursively) into the station database,\n"
    "by run id: a run already there complete is left alone, so importing twice\n"
    "changes nothing. rigd reads the files with its own rights, so only root or\n"
    "rigd's user may import.\n";

static const char usage_simple[] = "Usage: rigctl %s\n"
                                   "\n"
                                   "%s\n";

static const char usage_check[] =
    "Usage: rigctl check FILE...\n"
    "\n"
    "Validates sequence and spec-limit files without rigd and prints every\n"
    "problem as `file: json.path: message`. Exit 0 when all are valid, 1 if not.\n";

static const char usage_recompute[] =
    "Usage: rigctl recompute RECORD...\n"
    "\n"
    "Recomputes every measured value and verdict of each run record from the\n"
    "record and its attachments alone (captures, per-stroke files, the spec and\n"
    "sequence it used, all checked against their SHA-256), without rigd, and\n"
    "prints every difference as `record: where: what: recorded X, recomputed Y`.\n"
    "Exit 0 when everything agrees, 1 on any difference, 2 if a record cannot\n"
    "be read.\n";

static const char usage_prune[] =
    "Usage: rigctl prune [--pass-days N] [--dry-run] [--station-db PATH] DIR|RECORD...\n"
    "       rigctl prune --config STATION.JSON [--pass-days N] [--dry-run]\n"
    "\n"
    "Retention of raw captures, without rigd: for every run record given (or in\n"
    "each DIR) that is complete, PASS and ended more than N days ago (default\n"
    "30), deletes its capture files (*.cap<N>.bin) and marks each capture in\n"
    "the record with \"pruned_utc\" (rewritten atomically). Records, per-stroke\n"
    "files, sequence and spec copies and every hash stay; FAIL, ERROR, TIMEOUT,\n"
    "ABORTED and incomplete runs keep everything for good. Running it again\n"
    "changes nothing. --dry-run: only print what would be deleted.\n"
    "--station-db: also mark those captures pruned in the station database\n"
    "(attachments.pruned_utc), catching up on runs pruned before.\n"
    "--config: the station's results directory, database and \"retention\"\n"
    "{\"pass_days\"} from its config (relative paths as rigd resolves them):\n"
    "what the daily rig-prune.timer runs.\n"
    "Exit 0 done, 2 a record could not be pruned (the others were).\n";

static int usage_error(FILE *err, const char *fmt, const char *arg)
{
    fputs("rigctl: ", err);
    fprintf(err, fmt, arg);
    fputs("\nTry 'rigctl --help'.\n", err);
    return CTL_EXIT_USAGE;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Handles an option every command accepts. 1 = handled, 0 = not global,
 * -1 = bad value (message printed). */
static int global_opt(int opt, struct ctl_args *a, FILE *err)
{
    switch (opt) {
    case OPT_SOCKET:
        a->socket = optarg;
        return 1;
    case OPT_JSON:
        a->json = true;
        return 1;
    case OPT_FIXTURE:
        if (!*optarg || strlen(optarg) > 31 ||
            strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(optarg)) {
            usage_error(err, "--fixture '%s': a fixture name (1..31 of A-Z a-z 0-9 _ . -)", optarg);
            return -1;
        }
        a->fixture = optarg;
        return 1;
    case OPT_TIMEOUT:
        if (parse_number(optarg, &a->timeout_s) < 0 || a->timeout_s <= 0) {
            usage_error(err, "--timeout needs a positive number of seconds, not '%s'", optarg);
            return -1;
        }
        a->timeout_set = true;
        return 1;
    case OPT_HELP:
        a->help = true;
        return 1;
    case OPT_VERSION:
        a->version = true;
        return 1;
    default:
        return 0;
    }
}

static const struct {
    const char *name;
    enum ctl_command cmd;
} commands[] = {
    { "devices", CTL_CMD_DEVICES }, { "status", CTL_CMD_STATUS },
    { "pen", CTL_CMD_PEN },         { "watch", CTL_CMD_WATCH },
    { "run", CTL_CMD_RUN },         { "abort", CTL_CMD_ABORT },
    { "check", CTL_CMD_CHECK },     { "recompute", CTL_CMD_RECOMPUTE },
    { "history", CTL_CMD_HISTORY }, { "unit", CTL_CMD_UNIT },
    { "stats", CTL_CMD_STATS },     { "import", CTL_CMD_IMPORT },
    { "prune", CTL_CMD_PRUNE },     { "grr", CTL_CMD_GRR },
};

static void print_usage(const struct ctl_args *a, FILE *out)
{
    switch (a->cmd) {
    case CTL_CMD_PEN:
        fputs(usage_pen, out);
        break;
    case CTL_CMD_WATCH:
        fputs(usage_watch, out);
        break;
    case CTL_CMD_RUN:
        fputs(usage_run, out);
        break;
    case CTL_CMD_CHECK:
        fputs(usage_check, out);
        break;
    case CTL_CMD_RECOMPUTE:
        fputs(usage_recompute, out);
        break;
    case CTL_CMD_PRUNE:
        fputs(usage_prune, out);
        break;
    case CTL_CMD_DEVICES:
        fprintf(out, usage_simple, "devices", "Lists the bench's devices, present or not.");
        break;
    case CTL_CMD_STATUS:
        fprintf(out, usage_simple, "status", "Shows the daemon, session and run status.");
        break;
    case CTL_CMD_ABORT:
        fprintf(out, usage_simple, "abort",
                "Aborts the current run (the pen is stopped; outcome ABORTED).");
        break;
    case CTL_CMD_HISTORY:
        fputs(usage_history, out);
        break;
    case CTL_CMD_UNIT:
        fputs(usage_unit, out);
        break;
    case CTL_CMD_STATS:
        fputs(usage_stats, out);
        break;
    case CTL_CMD_IMPORT:
        fputs(usage_import, out);
        break;
    case CTL_CMD_GRR: /* ctl_grr() prints its own */
    case CTL_CMD_NONE:
        fputs(usage_main, out);
        break;
    }
}

static int parse_watch_opt(int opt, struct ctl_args *a, FILE *err)
{
    double v;
    switch (opt) {
    case OPT_TOPICS:
        a->topics = optarg;
        return 0;
    case OPT_COUNT:
        if (parse_number(optarg, &v) < 0 || v < 1 || v != floor(v) || v > 1e9)
            return usage_error(err, "--count needs a positive integer, not '%s'", optarg);
        a->count = (long)v;
        return 0;
    case OPT_DURATION:
        if (parse_number(optarg, &a->duration_s) < 0 || a->duration_s <= 0)
            return usage_error(err, "--duration needs a positive number of seconds, not '%s'",
                               optarg);
        return 0;
    }
    return -1;
}

static int parse_pen_opt(int opt, struct ctl_args *a, FILE *err)
{
    switch (opt) {
    case OPT_RATE:
        if (parse_number(optarg, &a->rate_hz) < 0 || a->rate_hz <= 0)
            return usage_error(err, "--rate needs a positive number (Hz), not '%s'", optarg);
        a->have_rate = true;
        return 0;
    case OPT_DEPTH:
        if (parse_number(optarg, &a->depth_mm) < 0 || a->depth_mm < 0)
            return usage_error(err, "--depth needs a number >= 0 (mm), not '%s'", optarg);
        a->have_depth = true;
        return 0;
    case OPT_HOLD:
        a->hold = true;
        return 0;
    }
    return -1;
}

static int parse_run_opt(int opt, struct ctl_args *a)
{
    switch (opt) {
    case OPT_DUT:
        a->dut = optarg;
        return 0;
    case OPT_OPERATOR:
        a->operator_name = optarg;
        return 0;
    case OPT_JUNIT:
        a->junit = optarg;
        return 0;
    case OPT_RECORD:
        a->record = optarg;
        return 0;
    case OPT_WAIT:
        a->wait = true;
        return 0;
    }
    return -1;
}

static int parse_prune_opt(int opt, struct ctl_args *a, FILE *err)
{
    char *end;
    switch (opt) {
    case OPT_PASS_DAYS:
        a->pass_days = strtod(optarg, &end);
        if (end == optarg || *end || !(a->pass_days >= 0) || a->pass_days > 1e6)
            return usage_error(err, "--pass-days '%s': a number of days, 0 or more", optarg);
        return 0;
    case OPT_DRY_RUN:
        a->dry_run = true;
        return 0;
    case OPT_STATION_DB:
        a->station_db = optarg;
        return 0;
    case OPT_CONFIG:
        a->config = optarg;
        return 0;
    }
    return -1;
}

/* history and stats filters. */
static int parse_db_opt(int opt, struct ctl_args *a, FILE *err)
{
    double v;
    bool history = a->cmd == CTL_CMD_HISTORY, stats = a->cmd == CTL_CMD_STATS;
    switch (opt) {
    case OPT_DUT:
        if (!history)
            return -1;
        a->dut = optarg;
        return 0;
    case OPT_SINCE:
        a->since = optarg;
        return history || stats ? 0 : -1;
    case OPT_UNTIL:
        a->until = optarg;
        return history || stats ? 0 : -1;
    case OPT_OUTCOME:
        a->outcome = optarg;
        return history ? 0 : -1;
    case OPT_MEASUREMENT:
        a->measurement = optarg;
        return stats ? 0 : -1;
    case OPT_DB:
        a->db = optarg;
        return history || stats || a->cmd == CTL_CMD_UNIT ? 0 : -1;
    case OPT_LIMIT:
        if (!history)
            return -1;
        if (parse_number(optarg, &v) < 0 || v < 1 || v > 1000 || v != floor(v))
            return usage_error(err, "--limit needs a whole number 1..1000, not '%s'", optarg);
        a->limit = (long)v;
        return 0;
    }
    return -1;
}

/* Options of the subcommand, globals included. */
static int parse_command_options(int argc, char **argv, struct ctl_args *a, FILE *err)
{
    static const struct option opts[] = {
        GLOBAL_OPTIONS,
        { "rate", required_argument, NULL, OPT_RATE },
        { "depth", required_argument, NULL, OPT_DEPTH },
        { "topics", required_argument, NULL, OPT_TOPICS },
        { "count", required_argument, NULL, OPT_COUNT },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "dut", required_argument, NULL, OPT_DUT },
        { "operator", required_argument, NULL, OPT_OPERATOR },
        { "junit", required_argument, NULL, OPT_JUNIT },
        { "record", required_argument, NULL, OPT_RECORD },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "hold", no_argument, NULL, OPT_HOLD },
        { "since", required_argument, NULL, OPT_SINCE },
        { "until", required_argument, NULL, OPT_UNTIL },
        { "outcome", required_argument, NULL, OPT_OUTCOME },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "measurement", required_argument, NULL, OPT_MEASUREMENT },
        { "pass-days", required_argument, NULL, OPT_PASS_DAYS },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "db", required_argument, NULL, OPT_DB },
        { "station-db", required_argument, NULL, OPT_STATION_DB },
        { "config", required_argument, NULL, OPT_CONFIG },
        { NULL, 0, NULL, 0 },
    };
    int opt, li = 0;
    /* Re-initialise getopt (argv[0] is the subcommand) in permuting mode
	 * so options may follow positionals: `run seq.json --dut X`. */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", opts, &li)) != -1) {
        if (opt == '?' || opt == ':')
            return usage_error(err, "bad option '%s'", argv[optind - 1]);
        int g = global_opt(opt, a, err);
        if (g < 0)
            return CTL_EXIT_USAGE;
        if (g > 0)
            continue;
        /* Options only make sense for their own command. */
        int r = -1;
        if (a->cmd == CTL_CMD_WATCH)
            r = parse_watch_opt(opt, a, err);
        else if (a->cmd == CTL_CMD_PEN)
            r = parse_pen_opt(opt, a, err);
        else if (a->cmd == CTL_CMD_RUN)
            r = parse_run_opt(opt, a);
        else if (a->cmd == CTL_CMD_PRUNE)
            r = parse_prune_opt(opt, a, err);
        else if (a->cmd >= CTL_CMD_HISTORY)
            r = parse_db_opt(opt, a, err);
        if (r < 0)
            return usage_error(err, "option '--%s' does not apply to this command", opts[li].name);
        if (r > 0)
            return r;
    }
    return CTL_EXIT_OK;
}

/* What rigd accepts as a DUT serial or an operator: 1..max-1 bytes of
 * valid UTF-8 without control characters (a newline would forge log
 * lines). Checked here too, so the user hears it before anything is sent. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || !g_utf8_validate(s, (gssize)n, NULL))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool record_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 6 || n > 128 || strcmp(s + n - 5, ".json") != 0 || s[0] == '.' || s[0] == '-')
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int check_positionals(int argc, char **argv, struct ctl_args *a, FILE *err)
{
    int n = argc - optind;
    char **pos = argv + optind;
    switch (a->cmd) {
    case CTL_CMD_PEN: {
        static const char *const actions[] = { "identify", "status", "start", "stop", "set" };
        if (n != 1)
            return usage_error(err, "%s",
                               "pen needs one action: identify, status, start, stop or set");
        for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
            if (strcmp(pos[0], actions[i]) == 0)
                a->pen_action = actions[i];
        if (!a->pen_action)
            return usage_error(err, "unknown pen action '%s'", pos[0]);
        bool is_set = strcmp(a->pen_action, "set") == 0;
        if (is_set && !a->have_rate && !a->have_depth)
            return usage_error(err, "%s", "pen set needs --rate HZ and/or --depth MM");
        bool is_start = strcmp(a->pen_action, "start") == 0;
        if (!is_set && !is_start && (a->have_rate || a->have_depth))
            return usage_error(err, "%s", "--rate/--depth only go with 'pen set' or 'pen start'");
        return CTL_EXIT_OK;
    }
    case CTL_CMD_RUN:
        if (n != 1)
            return usage_error(err, "%s", "run needs exactly one SEQUENCE file");
        a->sequence = pos[0];
        if (!a->dut || !*a->dut)
            return usage_error(err, "%s", "run needs --dut SERIAL (the pen under test)");
        if (!text_ok(a->dut, 64))
            return usage_error(err, "--dut '%s': 1..63 printable characters, valid UTF-8", a->dut);
        if (a->operator_name && !text_ok(a->operator_name, 64))
            return usage_error(err, "--operator '%s': 1..63 printable characters, valid UTF-8",
                               a->operator_name);
        if (a->record && !record_name_ok(a->record))
            return usage_error(err,
                               "--record '%s': a file name ending in .json (letters, digits, "
                               "'.', '_', '-'); records go into rigd's results directory",
                               a->record);
        if (!g_utf8_validate(a->sequence, -1, NULL))
            return usage_error(err, "%s", "the SEQUENCE path is not valid UTF-8");
        return CTL_EXIT_OK;
    case CTL_CMD_CHECK:
    case CTL_CMD_RECOMPUTE:
    case CTL_CMD_PRUNE:
        if (a->cmd == CTL_CMD_PRUNE && a->config) {
            if (n > 0 || a->station_db)
                return usage_error(err, "%s",
                                   "prune --config takes the results directory and database "
                                   "from the station config: no DIR, RECORD or --station-db");
            return CTL_EXIT_OK;
        }
        if (n < 1)
            return usage_error(err, "%s needs at least one file",
                               a->cmd == CTL_CMD_CHECK       ? "check"
                               : a->cmd == CTL_CMD_RECOMPUTE ? "recompute"
                                                             : "prune");
        a->files = pos;
        a->nfiles = n;
        return CTL_EXIT_OK;
    case CTL_CMD_UNIT:
        if (n != 1 || !text_ok(pos[0], 64))
            return usage_error(err, "%s", "unit needs one SERIAL (1..63 printable characters)");
        a->serial = pos[0];
        return CTL_EXIT_OK;
    case CTL_CMD_IMPORT:
        if (n != 1)
            return usage_error(err, "%s", "import needs one DIR");
        a->dir = pos[0];
        return CTL_EXIT_OK;
    default:
        if (n > 0)
            return usage_error(err, "unexpected argument '%s'", pos[0]);
        return CTL_EXIT_OK;
    }
}

int ctl_parse_args(int argc, char **argv, struct ctl_args *a, FILE *out, FILE *err)
{
    static const struct option opts[] = { GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    memset(a, 0, sizeof *a);
    a->timeout_s = CTL_DEFAULT_TIMEOUT_S;
    a->pass_days = -1;
    int opt;
    optind = 0; /* full getopt reset (glibc), so tests can parse twice */
    opterr = 0;
    /* "+": stop at the subcommand; its own options are parsed below. */
    while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return usage_error(err, "bad option '%s'", argv[optind - 1]);
        if (global_opt(opt, a, err) < 0)
            return CTL_EXIT_USAGE;
    }
    if (a->version)
        return CTL_EXIT_OK;
    if (optind >= argc) {
        if (a->help) {
            fputs(usage_main, out);
            return CTL_EXIT_OK;
        }
        fputs(usage_main, err);
        return CTL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            a->cmd = commands[i].cmd;
    if (a->cmd == CTL_CMD_NONE)
        return usage_error(err, "unknown command '%s'", name);
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (a->cmd == CTL_CMD_GRR) { /* parsed by ctl_grr() */
        a->files = sub_argv;
        a->nfiles = sub_argc;
        return CTL_EXIT_OK;
    }
    int r = parse_command_options(sub_argc, sub_argv, a, err);
    if (r != CTL_EXIT_OK)
        return r;
    if (a->help) {
        print_usage(a, out);
        return CTL_EXIT_OK;
    }
    return check_positionals(sub_argc, sub_argv, a, err);
}
