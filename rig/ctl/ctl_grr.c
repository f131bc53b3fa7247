/* rigctl grr plan | analyse (ctl_grr.h): the options, the randomised
 * run order, the study in the station database and the walk through it.
 *
 * The run order follows the AIAG MSA manual: each operator measures every
 * part once per trial round, in a random order of the parts, and the
 * rounds go trial by trial (trial 1 of A, B, C, then trial 2 ...), so no
 * operator remembers a reading and the trials are spread over time. The
 * permutation comes from a seeded generator, so a seed gives the same
 * plan (tests, and a study made again on paper).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_grr.h"
#include "ctl/ctl_core.h"
#include "store/study.h"

#define GRR_MAX_CELLS       (GRR_PLAN_MAX_PARTS * GRR_PLAN_MAX_OPS * GRR_PLAN_MAX_TRIALS)
#define GRR_PLAN_MAX_PARTS  100
#define GRR_PLAN_MAX_OPS    10
#define GRR_PLAN_MAX_TRIALS 10
#define GRR_MAX_ERRORS      3 /* ERROR runs of one cell before the walk stops */

static const char usage[] =
    "Usage: rigctl [--socket S] [--fixture F] grr plan --sequence SEQ --part-serials S1,S2,...\n"
    "                 [--parts N] [--operators N] [--trials N] [--operator-names A,B,C]\n"
    "                 [--study ID] [--seed N] [--yes] [--mount-hook CMD]\n"
    "                 (--station-db PATH | --config STATION.JSON)\n"
    "       rigctl grr analyse STUDY [--measurement M] [--json] [--html FILE]\n"
    "                 (--station-db PATH | --config STATION.JSON)\n"
    "\n"
    "plan: makes a gauge R&R study's randomised run order (each operator measures\n"
    "every part once per trial round, parts in random order; --seed makes it\n"
    "reproducible), keeps it in the station database and walks through it: for\n"
    "each run it says which part to mount and who runs it, waits for Enter\n"
    "(not with --yes), runs --mount-hook if given, then runs SEQ through rigd with\n"
    "the part's serial as --dut and the operator's name. Parts are DUT serials\n"
    "(--parts defaults to their number); operators default to A, B, C...\n"
    "(--operators, default 3); --trials default 3. A study id that exists is\n"
    "resumed: cells already measured are skipped. A run that ends ERROR, ABORTED\n"
    "or TIMEOUT measured nothing: the cell is run again (the walk stops after 3).\n"
    "FAIL is a measurement like PASS. The hook runs with GRR_STUDY, GRR_POS,\n"
    "GRR_TRIAL, GRR_OPERATOR, GRR_OPERATOR_INDEX, GRR_PART, GRR_SERIAL, GRR_RETRY\n"
    "in its environment; a non-zero exit stops the walk.\n"
    "analyse: the AIAG ANOVA method (interaction pooled when p >= 0.25) and the\n"
    "average-and-range method for each numeric measurement of the study's runs\n"
    "(or the one named; NAME#K: its K-th occurrence in a run, e.g. EOL's depth#2); --html FILE also writes the study's report: one\n"
    "self-contained HTML page with the tables and an appraiser-by-part chart.\n"
    "Exit 0 done, 2 study incomplete or unusable, 64 usage.\n";

struct grr_opts {
    const char *action, *sequence, *study, *serials, *op_names, *db, *config, *hook;
    const char *measurement, *html;
    long parts, operators, trials;
    uint64_t seed;
    bool have_seed, yes, json;
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "rigctl: grr: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return CTL_EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

enum {
    O_SEQ = 1,
    O_PARTS,
    O_OPS,
    O_TRIALS,
    O_STUDY,
    O_SEED,
    O_NAMES,
    O_SERIALS,
    O_DB,
    O_CONFIG,
    O_YES,
    O_HOOK,
    O_MEAS,
    O_JSON,
    O_HTML,
    O_HELP
};

static int parse_opts(int argc, char **argv, struct grr_opts *o)
{
    static const struct option opts[] = {
        { "sequence", required_argument, NULL, O_SEQ },
        { "parts", required_argument, NULL, O_PARTS },
        { "operators", required_argument, NULL, O_OPS },
        { "trials", required_argument, NULL, O_TRIALS },
        { "study", required_argument, NULL, O_STUDY },
        { "seed", required_argument, NULL, O_SEED },
        { "operator-names", required_argument, NULL, O_NAMES },
        { "part-serials", required_argument, NULL, O_SERIALS },
        { "station-db", required_argument, NULL, O_DB },
        { "config", required_argument, NULL, O_CONFIG },
        { "yes", no_argument, NULL, O_YES },
        { "mount-hook", required_argument, NULL, O_HOOK },
        { "measurement", required_argument, NULL, O_MEAS },
        { "json", no_argument, NULL, O_JSON },
        { "html", required_argument, NULL, O_HTML },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case O_SEQ:
            o->sequence = optarg;
            break;
        case O_STUDY:
            o->study = optarg;
            break;
        case O_NAMES:
            o->op_names = optarg;
            break;
        case O_SERIALS:
            o->serials = optarg;
            break;
        case O_DB:
            o->db = optarg;
            break;
        case O_CONFIG:
            o->config = optarg;
            break;
        case O_YES:
            o->yes = true;
            break;
        case O_HOOK:
            o->hook = optarg;
            break;
        case O_MEAS:
            o->measurement = optarg;
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_HTML:
            o->html = optarg;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return 1;
        case O_PARTS:
            if (parse_long(optarg, 2, GRR_PLAN_MAX_PARTS, &o->parts) < 0)
                return usage_error("--parts: a whole number 2..100, not '%s'", optarg);
            break;
        case O_OPS:
            if (parse_long(optarg, 2, GRR_PLAN_MAX_OPS, &o->operators) < 0)
                return usage_error("--operators: a whole number 2..10, not '%s'", optarg);
            break;
        case O_TRIALS:
            if (parse_long(optarg, 2, GRR_PLAN_MAX_TRIALS, &o->trials) < 0)
                return usage_error("--trials: a whole number 2..10, not '%s'", optarg);
            break;
        case O_SEED:
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return usage_error("--seed: a whole number, not '%s'", optarg);
            o->have_seed = true;
            break;
        default:
            return usage_error("bad option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "grr needs an action: plan or analyse");
    o->action = argv[optind++];
    if (!strcmp(o->action, "analyse") || !strcmp(o->action, "analyze")) {
        if (optind != argc - 1)
            return usage_error("%s", "grr analyse needs one STUDY");
        o->study = argv[optind];
    } else if (!strcmp(o->action, "plan")) {
        if (optind != argc)
            return usage_error("unexpected argument '%s'", argv[optind]);
    } else {
        return usage_error("unknown action '%s' (plan or analyse)", o->action);
    }
    if (!o->db == !o->config)
        return usage_error("%s", "name the station database: --station-db PATH or --config FILE");
    return 0;
}

/* Splits a comma list into at most max items (in buf); count or -1. */
static int split(const char *list, char *buf, size_t cap, const char **items, int max)
{
    if (snprintf(buf, cap, "%s", list) >= (int)cap)
        return -1;
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max || !*t || strlen(t) > 63)
            return -1;
        for (const char *c = t; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return -1;
        items[n++] = t;
    }
    return n;
}

/* SplitMix64: a documented, seedable generator (the permutations). */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Trial by trial, operator by operator, the parts in a random order
 * (Fisher-Yates; the modulo's bias is below 1e-17 for 100 parts). */
static size_t make_plan(unsigned parts, unsigned ops, unsigned trials, uint64_t seed,
                        struct store_study_cell *cells)
{
    uint64_t s = seed;
    size_t n = 0;
    unsigned perm[GRR_PLAN_MAX_PARTS];
    for (unsigned t = 1; t <= trials; t++)
        for (unsigned o = 1; o <= ops; o++) {
            for (unsigned p = 0; p < parts; p++)
                perm[p] = p + 1;
            for (unsigned i = parts - 1; i > 0; i--) {
                unsigned j = (unsigned)(splitmix(&s) % (i + 1));
                unsigned tmp = perm[i];
                perm[i] = perm[j];
                perm[j] = tmp;
            }
            for (unsigned p = 0; p < parts; p++, n++)
                cells[n] = (struct store_study_cell){ (unsigned)n, t, o, perm[p] };
        }
    return n;
}

static int open_db(const struct grr_opts *o, struct store **st)
{
    char err[512], path[4096];
    if (ctl_station_db(o->db, o->config, path, sizeof path, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return -1;
    }
    /* rigd makes the station database; a study never starts one (a typo
     * in the path would otherwise keep the study where rigd never looks) */
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "rigctl: grr: station database %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (store_open(st, path, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return -1;
    }
    return 0;
}

static int create_study(struct store *st, const struct grr_opts *o, const char *id)
{
    char sbuf[8192], nbuf[1024];
    const char *serials[GRR_PLAN_MAX_PARTS], *names[GRR_PLAN_MAX_OPS];
    static const char *const abc[] = { "A", "B", "C", "D", "E", "F", "G", "H", "I", "J" };
    if (!o->sequence || !o->serials)
        return usage_error("%s", "a new study needs --sequence SEQ and --part-serials S1,S2,...");
    int np = split(o->serials, sbuf, sizeof sbuf, serials, GRR_PLAN_MAX_PARTS);
    if (np < 2 || (o->parts && np != o->parts))
        return usage_error("--part-serials: 2..100 serials of 1..63 printable characters, as "
                           "many as --parts (%s)",
                           o->serials);
    long nops = o->operators ? o->operators : 3;
    int nn = nops;
    if (o->op_names) {
        nn = split(o->op_names, nbuf, sizeof nbuf, names, GRR_PLAN_MAX_OPS);
        if (nn < 2 || (o->operators && nn != o->operators))
            return usage_error("--operator-names: 2..10 names, as many as --operators (%s)",
                               o->op_names);
    } else {
        for (int i = 0; i < nn; i++)
            names[i] = abc[i];
    }
    char seq[4096];
    if (!realpath(o->sequence, seq)) {
        fprintf(stderr, "rigctl: grr: %s: %s\n", o->sequence, strerror(errno));
        return CTL_EXIT_ERROR;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t seed =
        o->have_seed ? o->seed : (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    seed &= (1ull << 53) - 1; /* exact in JSON and as a SQLite integer */
    static struct store_study_cell cells[GRR_MAX_CELLS];
    unsigned trials = o->trials ? (unsigned)o->trials : 3;
    size_t n = make_plan((unsigned)np, (unsigned)nn, trials, seed, cells);
    struct store_study s = { id,   seq,     (unsigned)np, (unsigned)nn, trials,
                             seed, serials, names,        cells,        n };
    char err[512];
    if (store_study_create(st, &s, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return CTL_EXIT_ERROR;
    }
    printf("study %s: %d parts x %d operators x %u trials = %zu runs, seed %" PRIu64 "\n", id, np,
           nn, trials, n, seed);
    return CTL_EXIT_OK;
}

static int num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static const char *item_str(const cJSON *arr, int i)
{
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

/* The hook (a shell command) with the cell in its environment. */
static int run_hook(const char *hook, const char *study, const cJSON *cell, const char *op,
                    const char *serial, int retry)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char v[64];
        setenv("GRR_STUDY", study, 1);
        static const char *const keys[][2] = { { "GRR_POS", "pos" },
                                               { "GRR_TRIAL", "trial" },
                                               { "GRR_OPERATOR_INDEX", "operator" },
                                               { "GRR_PART", "part" } };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            snprintf(v, sizeof v, "%d", num_of(cell, keys[i][1]));
            setenv(keys[i][0], v, 1);
        }
        snprintf(v, sizeof v, "%d", retry);
        setenv("GRR_RETRY", v, 1);
        setenv("GRR_OPERATOR", op, 1);
        setenv("GRR_SERIAL", serial, 1);
        execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Asks for Enter; false on "q" or end of input. */
static bool confirm(void)
{
    char line[256];
    printf("  Enter to start, q to stop: ");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return false;
    return line[0] != 'q' && line[0] != 'Q';
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One cell until it is measured (or the walk must stop: -1). */
static int walk_cell(const struct ctl_args *a, const struct grr_opts *o, struct store *st,
                     const cJSON *study, const cJSON *cell, int total, int prev_part)
{
    const char *id = str_of(study, "id"), *seq = str_of(study, "sequence_file");
    const cJSON *serials = cJSON_GetObjectItemCaseSensitive(study, "part_serials");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(study, "operator_names");
    int pos = num_of(cell, "pos"), part = num_of(cell, "part"), op = num_of(cell, "operator");
    const char *serial = item_str(serials, part - 1), *name = item_str(names, op - 1);
    for (int retry = 0; retry <= GRR_MAX_ERRORS; retry++, prev_part = part) {
        if (retry == GRR_MAX_ERRORS) {
            fprintf(stderr, "rigctl: grr: run %d ended without a measurement %d times: stopping\n",
                    pos + 1, retry);
            return -1;
        }
        if (part == prev_part)
            printf("[%d/%d] trial %d, operator %s: part %d (%s) again: take it out of the fixture "
                   "and clamp it again%s\n",
                   pos + 1, total, num_of(cell, "trial"), name, part, serial,
                   retry ? " (the last run measured nothing)" : "");
        else
            printf("[%d/%d] trial %d, operator %s: mount part %d (%s): take the pen in the "
                   "fixture out and clamp this one%s\n",
                   pos + 1, total, num_of(cell, "trial"), name, part, serial,
                   retry ? " (the last run measured nothing)" : "");
        fflush(stdout);
        if (!o->yes && !confirm()) {
            printf("stopped: resume with the same command (--study %s)\n", id);
            return -1;
        }
        if (o->hook && run_hook(o->hook, id, cell, name, serial, retry) < 0) {
            fprintf(stderr, "rigctl: grr: the mount hook failed: stopping\n");
            return -1;
        }
        cJSON *fin;
        int rc = ctl_grr_run_one(a, seq, serial, name, id, (unsigned)part,
                                 (unsigned)num_of(cell, "trial"), &fin);
        if (!fin) {
            if (rc == CTL_EXIT_UNAVAILABLE)
                return -1;
            continue; /* refused (e.g. the wrong pen mounted): ask again */
        }
        const char *outcome = str_of(fin, "outcome"), *rid = str_of(fin, "record_id");
        const char *reason = str_of(fin, "reason");
        if (!rid)
            rid = str_of(fin, "run_id");
        printf("  run %s: %s%s%s\n", rid ? rid : "?", outcome ? outcome : "?", reason ? " - " : "",
               reason ? reason : "");
        char err[512];
        int r = rid && outcome
                    ? store_study_done(st, id, (unsigned)pos, rid, outcome, err, sizeof err)
                    : -EPROTO;
        cJSON_Delete(fin);
        if (r < 0) {
            fprintf(stderr, "rigctl: grr: %s\n", r == -EPROTO ? "rigd named no outcome" : err);
            return -1;
        }
        if (rc != CTL_EXIT_ERROR)
            return 0;
    }
    return -1;
}

static int plan(const struct ctl_args *a, const struct grr_opts *o)
{
    char id[64];
    if (o->study) {
        size_t n = strlen(o->study);
        if (n == 0 || n > 63 ||
            strspn(o->study, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                             "VWXYZ0123456789._-") != n)
            return usage_error("--study '%s': 1..63 letters, digits, '.', '_', '-'", o->study);
        snprintf(id, sizeof id, "%s", o->study);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(id, sizeof id, "GRR-%Y%m%dT%H%M%SZ", &tm);
    }
    struct store *st;
    if (open_db(o, &st) < 0)
        return CTL_EXIT_ERROR;
    cJSON *study = NULL;
    char err[512];
    int r = store_study_get(st, id, &study, err, sizeof err);
    if (r == -ENOENT) {
        r = create_study(st, o, id);
        if (r != CTL_EXIT_OK) {
            store_close(st);
            return r;
        }
        r = store_study_get(st, id, &study, err, sizeof err);
    } else if (r == 0) {
        printf("study %s exists: resuming it (its own plan; the plan options are ignored)\n", id);
    }
    if (r < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        store_close(st);
        return CTL_EXIT_ERROR;
    }
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(study, "cells"), *cell;
    int total = cJSON_GetArraySize(cells), done = 0, rc = CTL_EXIT_OK, prev_part = 0;
    cJSON_ArrayForEach (cell, cells) {
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cell, "run_id"))) {
            done++;
            continue;
        }
        if (walk_cell(a, o, st, study, cell, total, prev_part) < 0) {
            rc = CTL_EXIT_ERROR;
            break;
        }
        prev_part = num_of(cell, "part");
        done++;
    }
    if (rc == CTL_EXIT_OK)
        printf("study %s complete (%d runs): rigctl grr analyse %s\n", id, done, id);
    else
        printf("study %s: %d of %d runs done\n", id, done, total);
    cJSON_Delete(study);
    store_close(st);
    return rc;
}

int ctl_grr(const struct ctl_args *a, int argc, char **argv)
{
    struct grr_opts o = { 0 };
    int r = parse_opts(argc, argv, &o);
    if (r)
        return r > 0 ? CTL_EXIT_OK : r;
    if (!strcmp(o.action, "plan"))
        return plan(a, &o);
    char err[512], db[4096];
    if (ctl_station_db(o.db, o.config, db, sizeof db, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return CTL_EXIT_ERROR;
    }
    return ctl_grr_analyse(db, o.study, o.measurement, o.json || a->json, o.html);
}
