/* rigctl history | unit | stats | import: one request to rigd, the reply
 * as readable tables (see ctl_db.h); history | unit | stats --db: the same
 * queries over the line store (rig/store/line.h), same shapes. */
#include "ctl/ctl_db.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_conn.h"
#include "store/line.h"

/* Queries run on rigd's query thread; import may take minutes. */
#define CTL_DB_TIMEOUT_S 120.0

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const char *s = str_of(o, key);
    return s ? s : dflt;
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void print_line(const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (text) {
        puts(text);
        cJSON_free(text);
    }
}

/* A number in a column of width w, "-" when null. */
static void col_num(double v, int w, int prec)
{
    if (isnan(v))
        printf(" %*s", w, "-");
    else
        printf(" %*.*f", w, prec, v);
}

static void col_pct(double v, int w)
{
    if (isnan(v))
        printf(" %*s", w, "-");
    else
        printf(" %*.1f%%", w - 1, v * 100.0);
}

/* "2026-12-01T10:00:00.123456Z" -> "2026-12-01 10:00:00". */
static void short_time(const char *t, char *out, size_t cap)
{
    snprintf(out, cap, "%.19s", t ? t : "-");
    if (strlen(out) > 10 && out[10] == 'T')
        out[10] = ' ';
}

static const char *outcome_of(const cJSON *run)
{
    const char *o = str_of(run, "outcome");
    return o ? o : "incomplete";
}

/* ---- history --------------------------------------------------------- */

static void print_run_row(const cJSON *run)
{
    char t[32];
    short_time(str_of(run, "started"), t, sizeof t);
    const char *why = str_of(run, "retest_reason");
    const char *msg = str_of(run, "message");
    printf("%-19s  %-16s %3.0f  %-10s %-8s %.8s  %s\n", t, str_or(run, "dut_serial", "-"),
           num_of(run, "attempt"), outcome_of(run), str_or(run, "fixture", "-"),
           str_or(run, "id", "-"),
           msg && *msg ? msg
           : why       ? why
                       : "");
}

static void print_history(const cJSON *reply)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs");
    int n = cJSON_GetArraySize(runs);
    if (n == 0) {
        printf("no runs\n");
        return;
    }
    printf("%-19s  %-16s %3s  %-10s %-8s %-8s  %s\n", "STARTED (UTC)", "DUT", "ATT", "OUTCOME",
           "FIXTURE", "RUN", "MESSAGE / RETEST REASON");
    const cJSON *run;
    cJSON_ArrayForEach (run, runs)
        print_run_row(run);
    printf("%d run%s\n", n, n == 1 ? "" : "s");
}

/* ---- unit ------------------------------------------------------------ */

static void print_failing(const cJSON *m)
{
    const char *units = str_or(m, "units", "");
    printf("      %-24s", str_or(m, "name", "?"));
    const char *text = str_of(m, "text");
    double v = num_of(m, "value");
    if (text)
        printf(" %-12s", text);
    else if (!isnan(v))
        printf(" %10.4g %-4s", v, units);
    else
        printf(" %-15s", "(not measured)");
    const char *lim = str_of(m, "limit");
    printf("  %-10s %s", str_or(m, "outcome", "?"), lim ? lim : "");
    const char *note = str_of(m, "note");
    if (note && *note)
        printf("  (%s)", note);
    putchar('\n');
}

static void print_unit(const cJSON *reply)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs");
    printf("unit %s: %.0f attempt%s, final outcome %s\n", str_or(reply, "dut_serial", "?"),
           num_of(reply, "attempts"), num_of(reply, "attempts") == 1 ? "" : "s",
           str_or(reply, "final_outcome", "none (no complete attempt)"));
    if (cJSON_GetArraySize(runs) == 0)
        return;
    printf("%-19s  %-16s %3s  %-10s %-8s %-8s  %s\n", "STARTED (UTC)", "DUT", "ATT", "OUTCOME",
           "FIXTURE", "RUN", "MESSAGE / RETEST REASON");
    const cJSON *run;
    cJSON_ArrayForEach (run, runs) {
        print_run_row(run);
        const cJSON *m, *fl = cJSON_GetObjectItemCaseSensitive(run, "failing");
        cJSON_ArrayForEach (m, fl)
            print_failing(m);
    }
}

/* ---- stats ----------------------------------------------------------- */

static void print_stats(const cJSON *reply)
{
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(reply, "yields");
    printf("units %.0f, runs %.0f: FPY", num_of(y, "units"), num_of(y, "runs"));
    col_pct(num_of(y, "fpy"), 6);
    printf(", final yield");
    col_pct(num_of(y, "final_yield"), 6);
    printf(", retest rate");
    col_pct(num_of(y, "retest_rate"), 6);
    putchar('\n');

    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(reply, "measurements");
    if (cJSON_GetArraySize(ms) > 0) {
        printf("\n%-24s %-6s %-5s %9s %9s %6s %7s %7s %10s %10s %6s %6s %6s\n", "MEASUREMENT",
               "UNITS", "CMP", "LOW", "HIGH", "COUNT", "YIELD", "FPY", "MEAN", "SD", "CP", "CPK",
               "PPK");
        const cJSON *m;
        cJSON_ArrayForEach (m, ms) {
            printf("%-24.24s %-6.6s %-5.5s", str_or(m, "name", "?"), str_or(m, "units", "-"),
                   str_or(m, "comparison", "-"));
            col_num(num_of(m, "low"), 9, 4);
            col_num(num_of(m, "high"), 9, 4);
            printf(" %6.0f", num_of(m, "count"));
            col_pct(num_of(m, "yield"), 7);
            col_pct(num_of(m, "fpy"), 7);
            col_num(num_of(m, "mean"), 10, 5);
            col_num(num_of(m, "sd"), 10, 5);
            col_num(num_of(m, "cp"), 6, 2);
            col_num(num_of(m, "cpk"), 6, 2);
            col_num(num_of(m, "ppk"), 6, 2);
            putchar('\n');
        }
    }
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(reply, "pareto");
    if (cJSON_GetArraySize(pa) > 0) {
        printf("\n%-32s %6s %7s %7s\n", "FAILURE (PARETO)", "COUNT", "SHARE", "CUM");
        const cJSON *p;
        cJSON_ArrayForEach (p, pa) {
            printf("%-32.32s %6.0f", str_or(p, "name", "?"), num_of(p, "count"));
            col_pct(num_of(p, "share"), 7);
            col_pct(num_of(p, "cumulative"), 7);
            putchar('\n');
        }
    }
}

/* ---- import ---------------------------------------------------------- */

static void print_import(const cJSON *reply)
{
    printf("%s: %.0f files, %.0f records: %.0f imported, %.0f already present, %.0f failed\n",
           str_or(reply, "dir", "?"), num_of(reply, "files"), num_of(reply, "records"),
           num_of(reply, "imported"), num_of(reply, "present"), num_of(reply, "failed"));
    const cJSON *e, *errs = cJSON_GetObjectItemCaseSensitive(reply, "errors");
    cJSON_ArrayForEach (e, errs)
        printf("  %s: %s\n", str_or(e, "file", "?"), str_or(e, "message", "?"));
}

/* ---- the request ----------------------------------------------------- */

static int add_opt(cJSON *req, const char *key, const char *v)
{
    return !v || cJSON_AddStringToObject(req, key, v) ? 0 : -1;
}

static cJSON *build_request(const struct ctl_args *a, const char **what)
{
    static const char *const names[] = { "history", "unit", "stats", "import" };
    *what = names[a->cmd - CTL_CMD_HISTORY];
    cJSON *req = cJSON_CreateObject();
    int rc = req && cJSON_AddStringToObject(req, "class", *what) ? 0 : -1;
    rc |= add_opt(req, "fixture", a->fixture);
    switch (a->cmd) {
    case CTL_CMD_HISTORY:
        rc |= add_opt(req, "dut", a->dut) | add_opt(req, "since", a->since) |
              add_opt(req, "until", a->until) | add_opt(req, "outcome", a->outcome);
        if (a->limit && !cJSON_AddNumberToObject(req, "limit", (double)a->limit))
            rc = -1;
        break;
    case CTL_CMD_UNIT:
        rc |= add_opt(req, "serial", a->serial);
        break;
    case CTL_CMD_STATS:
        rc |= add_opt(req, "measurement", a->measurement) | add_opt(req, "since", a->since) |
              add_opt(req, "until", a->until);
        break;
    default: {
        /* rigd reads DIR: an absolute path, as this shell sees it */
        char *real = realpath(a->dir, NULL);
        if (!real) {
            fprintf(stderr, "rigctl: import: %s: ", a->dir);
            perror(NULL);
            cJSON_Delete(req);
            return NULL;
        }
        rc |= add_opt(req, "dir", real);
        free(real);
        break;
    }
    }
    if (rc) {
        fprintf(stderr, "rigctl: out of memory\n");
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* The reply as rigd would give it: the class, and history's runs in
 * "runs". */
static cJSON *line_reply(const struct ctl_args *a, const char *what, char *err, size_t errlen)
{
    struct line *ln;
    if (line_connect(&ln, a->db, NULL, err, errlen) < 0)
        return NULL;
    struct store_filter f = {
        .dut = a->dut,
        .since = a->since,
        .until = a->until,
        .outcome = a->outcome,
        .fixture = a->fixture,
        .measurement = a->measurement,
        .limit = (unsigned)a->limit,
    };
    cJSON *out = NULL, *reply = NULL;
    int r = a->cmd == CTL_CMD_HISTORY ? line_history(ln, &f, &out, err, errlen)
            : a->cmd == CTL_CMD_UNIT  ? line_unit(ln, a->serial, &out, err, errlen)
                                      : line_stats(ln, &f, &out, err, errlen);
    line_close(ln);
    if (r < 0)
        return NULL;
    if (a->cmd == CTL_CMD_HISTORY) {
        reply = cJSON_CreateObject();
        if (reply)
            cJSON_AddItemToObject(reply, "runs", out);
        else
            cJSON_Delete(out);
    } else {
        reply = out;
    }
    if (!reply || !cJSON_AddStringToObject(reply, "class", what)) {
        cJSON_Delete(reply);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return reply;
}

static int line_command(const struct ctl_args *a, const char *what)
{
    char err[1024];
    cJSON *reply = line_reply(a, what, err, sizeof err);
    if (!reply) {
        fprintf(stderr, "rigctl: %s --db: %s\n", what, err);
        return CTL_EXIT_ERROR;
    }
    if (a->json)
        print_line(reply);
    else if (a->cmd == CTL_CMD_HISTORY)
        print_history(reply);
    else if (a->cmd == CTL_CMD_UNIT)
        print_unit(reply);
    else
        print_stats(reply);
    fflush(stdout);
    cJSON_Delete(reply);
    return CTL_EXIT_OK;
}

int ctl_db_command(const struct ctl_args *a)
{
    if (a->db) {
        static const char *const names[] = { "history", "unit", "stats" };
        return line_command(a, names[a->cmd - CTL_CMD_HISTORY]);
    }
    const char *what;
    cJSON *req = build_request(a, &what);
    if (!req)
        return CTL_EXIT_ERROR;
    char tried[8192], err[8192];
    const char *path = a->socket ? a->socket : ctl_default_socket(tried, sizeof tried);
    struct ctl_conn c;
    if (ctl_connect(&c, path, a->timeout_s, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: %s\n", err);
        cJSON_Delete(req);
        return CTL_EXIT_UNAVAILABLE;
    }
    if (a->json)
        print_line(c.greeting);
    double timeout = a->timeout_set             ? a->timeout_s
                     : a->cmd == CTL_CMD_IMPORT ? -1
                                                : CTL_DB_TIMEOUT_S;
    cJSON *reply = NULL;
    int r = ctl_request(&c, req, timeout, NULL, NULL, &reply, err, sizeof err);
    int rc = CTL_EXIT_OK;
    const char *cls = r > 0 ? str_of(reply, "class") : NULL;
    bool is_err = cls && strcmp(cls, "error") == 0;
    if (r <= 0) {
        fprintf(stderr, "rigctl: %s: %s\n", what, r == 0 ? "no reply from rigd" : err);
        rc = CTL_EXIT_ERROR;
    } else if (a->json) {
        print_line(reply);
        rc = is_err ? CTL_EXIT_ERROR : CTL_EXIT_OK;
    } else if (is_err) {
        const char *code = str_of(reply, "code");
        fprintf(stderr, "rigctl: %s: %s (%s)\n", what, str_or(reply, "message", "failed"),
                code ? code : "?");
        rc = CTL_EXIT_ERROR;
    } else if (a->cmd == CTL_CMD_HISTORY) {
        print_history(reply);
    } else if (a->cmd == CTL_CMD_UNIT) {
        print_unit(reply);
    } else if (a->cmd == CTL_CMD_STATS) {
        print_stats(reply);
    } else {
        print_import(reply);
        rc = num_of(reply, "failed") > 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
    }
    fflush(stdout);
    cJSON_Delete(reply);
    ctl_close(&c);
    return rc;
}
