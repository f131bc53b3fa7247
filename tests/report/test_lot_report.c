/* The lot report's numbers against the database: a known lot (lotfill.c)
 * is put into a station database, the report is generated, and its
 * counts, yields, capability figures, failed runs and rule violations
 * are compared with what SQL reads back from the same database and what
 * store_capability / spc.h compute from those values. */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lotfill.h"
#include "report/lot_report.h"
#include "report/spc.h"
#include "report/svg.h"
#include "store/store_lot.h"
#include "storetest.h"

static char err[512];
static const char *db_path;
static struct store *st;

static void setup(void)
{
    db_path = scratch_path("lot.db");
    ck_assert_int_eq(store_open(&st, db_path, err, sizeof err), 0);
    ck_assert_msg(lotfill(st, err, sizeof err) == 0, "%s", err);
}

static void teardown(void)
{
    store_close(st);
}

/* The report of filter f as a string (caller frees). */
static char *report(const struct store_filter *f, unsigned subgroup)
{
    struct store_lot *lot;
    ck_assert_msg(store_lot(st, f, &lot, err, sizeof err) == 0, "%s", err);
    struct lot_report_opts o = {
        .filter = f, .source = "test", .subgroup = subgroup, .generated = "now"
    };
    struct html h;
    html_init(&h);
    ck_assert_msg(lot_report_write(&h, lot, &o, err, sizeof err) == 0, "%s", err);
    size_t len;
    char *page = html_take(&h, &len);
    ck_assert_ptr_nonnull(page);
    store_lot_free(lot);
    return page;
}

/* The text of the cell marked data-fig="key". */
static void fig(const char *page, const char *key, char *out, size_t n)
{
    char pat[128];
    snprintf(pat, sizeof pat, "data-fig=\"%s\">", key);
    const char *p = strstr(page, pat);
    ck_assert_msg(p, "no figure %s", key);
    p += strlen(pat);
    const char *e = strchr(p, '<');
    snprintf(out, n, "%.*s", (int)(e - p), p);
}

static void fig_is(const char *page, const char *key, const char *want)
{
    char got[128];
    fig(page, key, got, sizeof got);
    ck_assert_msg(!strcmp(got, want), "%s: report says \"%s\", database \"%s\"", key, got, want);
}

static long long sql1(const char *sql)
{
    long long v = sql_int(db_path, sql);
    ck_assert_msg(v >= 0, "%s", sql);
    return v;
}

/* The values of measurement name in run order, read with SQL. */
static size_t values(const char *name, double *x, size_t max)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT m.value FROM measurements m JOIN runs r ON"
                                        " r.rid = m.rid WHERE m.name = ?1 AND r.complete = 1"
                                        " ORDER BY r.started_utc, r.id, m.step_no, m.idx",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW && n < max)
        x[n++] = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

START_TEST(counts_and_yields)
{
    struct store_filter f = { .since = LOTFILL_SINCE, .until = LOTFILL_UNTIL };
    char *page = report(&f, 0);
    char want[64];
    long long runs = sql1("SELECT count(*) FROM runs");
    long long units = sql1("SELECT count(DISTINCT dut_serial) FROM runs");
    long long first = sql1("SELECT count(*) FROM runs WHERE attempt = 1 AND outcome = 'PASS'");
    long long failed = sql1("SELECT count(*) FROM runs WHERE outcome != 'PASS'");
    /* The lot as designed: 60 units, 2 failed and retested. */
    ck_assert_int_eq(runs, 62);
    ck_assert_int_eq(units, 60);
    ck_assert_int_eq(failed, 2);
    snprintf(want, sizeof want, "%lld", runs);
    fig_is(page, "runs", want);
    fig_is(page, "complete", want);
    snprintf(want, sizeof want, "%lld", units);
    fig_is(page, "units", want);
    snprintf(want, sizeof want, "%lld", failed);
    fig_is(page, "failed_runs", want);
    snprintf(want, sizeof want, "%lld", runs - units);
    fig_is(page, "retests", want);
    snprintf(want, sizeof want, "%.1f %%", 100.0 * (double)first / (double)units);
    fig_is(page, "fpy", want);
    fig_is(page, "final_yield", "100.0 %");
    /* The Pareto names both failures. */
    ck_assert_ptr_nonnull(strstr(page, "<td>depth</td><td class=\"num\">1</td>"));
    ck_assert_ptr_nonnull(strstr(page, "<td>force</td><td class=\"num\">1</td>"));
    free(page);
}
END_TEST

START_TEST(capability)
{
    struct store_filter f = { .since = LOTFILL_SINCE };
    char *page = report(&f, 0);
    static const struct {
        const char *name;
        enum lim_cmp cmp;
        double low, high;
    } m[] = { { "depth", LIM_GELE, 0.45, 0.75 }, { "force", LIM_LE, 2.0, NAN } };
    double x[256];
    for (size_t i = 0; i < 2; i++) {
        size_t n = values(m[i].name, x, 256);
        ck_assert_uint_eq(n, 62);
        struct store_capability c;
        store_capability(x, n, m[i].cmp, m[i].low, m[i].high, &c);
        const struct {
            const char *k;
            double v;
        } figs[] = { { "cp", c.cp }, { "cpk", c.cpk }, { "pp", c.pp }, { "ppk", c.ppk } };
        for (size_t j = 0; j < 4; j++) {
            char key[32], want[32];
            snprintf(key, sizeof key, "%s %s", m[i].name, figs[j].k);
            lot_report_fmt_index(want, sizeof want, figs[j].v);
            fig_is(page, key, want);
        }
        ck_assert(isfinite(c.cpk));
        /* One-sided force: no Cp. */
        ck_assert(i == 0 ? isfinite(c.cp) : isnan(c.cp));
    }
    /* And rigctl stats's own figure of depth (store_stats) reads the same. */
    cJSON *s;
    struct store_filter g = { .measurement = "depth" };
    ck_assert_int_eq(store_stats(st, &g, &s, err, sizeof err), 0);
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "measurements"), 0);
    char want[32];
    lot_report_fmt_index(want, sizeof want, cJSON_GetObjectItem(d, "cpk")->valuedouble);
    fig_is(page, "depth cpk", want);
    cJSON_Delete(s);
    free(page);
}
END_TEST

START_TEST(failed_runs_linked)
{
    char *page = report(&(struct store_filter){ .since = LOTFILL_SINCE }, 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT id, record_path, dut_serial FROM runs WHERE"
                                        " outcome != 'PASS'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int n = 0;
    const char *table = strstr(page, "<table class=\"failed\"");
    ck_assert_ptr_nonnull(table);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const char *path = (const char *)sqlite3_column_text(s, 1);
        const char *base = strrchr(path, '/') + 1;
        char link[256];
        snprintf(link, sizeof link, "<a href=\"%.*s.html\">%s</a>", (int)(strlen(base) - 5), base,
                 id);
        ck_assert_msg(strstr(table, link), "no %s", link);
        n++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    ck_assert_int_eq(n, 2);
    /* Both retests passed. */
    ck_assert_ptr_nonnull(strstr(table, "attempt 2: PASS"));
    ck_assert_ptr_null(strstr(table, "none in the period"));
    free(page);
}
END_TEST

/* The row of the violations table of chart `chart` at point p. */
static const char *violation(const char *page, const char *section, const char *chart, size_t p)
{
    const char *s = strstr(page, section);
    ck_assert_ptr_nonnull(s);
    const char *end = strstr(s + 1, "<section");
    char row[96];
    snprintf(row, sizeof row, "<tr><td>%s</td><td class=\"num\">%zu</td>", chart, p);
    const char *r = strstr(s, row);
    return r && (!end || r < end) ? r : NULL;
}

START_TEST(rules_flagged)
{
    char *page = report(&(struct store_filter){ .since = LOTFILL_SINCE }, 0);
    double x[256];
    size_t n = values("depth", x, 256);
    unsigned flags[256];
    struct spc_imr c;
    ck_assert_int_eq(spc_imr(x, n, &c), 0);
    ck_assert_int_eq(spc_we_rules(x, n, c.x.center, c.sigma, flags), 0);
    /* Unit 25's 0.80 mm is point 25: beyond 3 sigma, and listed. */
    ck_assert(flags[24] & SPC_RULE(1));
    const char *r = violation(page, "<section id=\"m0\">", "I", 25);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(r, "SN-0025"));
    ck_assert(strstr(r, "1: beyond 3σ") < strstr(r, "</tr>"));
    /* The shift of units 40..49 (points 42..51) breaks rule 4 by its end. */
    ck_assert(flags[50] & SPC_RULE(4));
    /* Every flagged point is in the list, and no other. */
    size_t listed = 0;
    for (size_t i = 0; i < n; i++) {
        bool in = violation(page, "<section id=\"m0\">", "I", i + 1) != NULL;
        ck_assert_msg(in == (flags[i] != 0), "point %zu: flags %u, listed %d", i + 1, flags[i], in);
        listed += in;
    }
    ck_assert_uint_gt(listed, 5);
    free(page);
}
END_TEST

START_TEST(subgroups_and_model)
{
    char *page = report(&(struct store_filter){ .since = LOTFILL_SINCE }, 5);
    double x[256];
    size_t n = values("depth", x, 256);
    struct spc_xbar_r c;
    ck_assert_int_eq(spc_xbar_r(x, n, 5, &c), 0);
    char want[160];
    snprintf(want, sizeof want, "centre %.5g, limits %.5g … %.5g", c.x.center, c.x.lcl, c.x.ucl);
    ck_assert_msg(strstr(page, want), "no \"%s\"", want);
    ck_assert_ptr_nonnull(strstr(page, "X̄ chart (subgroups of 5)"));
    spc_xbar_r_free(&c);
    free(page);

    /* Units 1..4 reported MNP-B. */
    page = report(&(struct store_filter){ .since = LOTFILL_SINCE, .model = "MNP-B" }, 0);
    fig_is(page, "runs", "4");
    fig_is(page, "units", "4");
    fig_is(page, "failed_runs", "0");
    ck_assert_ptr_nonnull(strstr(page, "MNP-B"));
    free(page);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lot_report");
    TCase *t = tcase_create("lot");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, counts_and_yields);
    tcase_add_test(t, capability);
    tcase_add_test(t, failed_runs_linked);
    tcase_add_test(t, rules_flagged);
    tcase_add_test(t, subgroups_and_model);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
