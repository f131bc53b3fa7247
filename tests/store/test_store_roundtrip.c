/* The round trip import relies on: a run kept through the store's record
 * sink gives the same rows as the same run written by the JSON record
 * file sink, read back with rec_from_json() and put in the store (by
 * store_put_run, and by store_import_dir over the file's directory).
 * Runs: every record of fixtures/corpus/rec_json (complete and not, EOL,
 * DVT sweeps, loops, retries, aborts, rig actions). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storetest.h"

static char err[512];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void load_record(const char *path, struct rec_run *r)
{
    char *text = slurp(path);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    ck_assert_msg(doc, "%s: not JSON", path);
    int rc = rec_from_json(doc, r, err, sizeof err);
    cJSON_Delete(doc);
    ck_assert_msg(rc == 0, "%s: rec_from_json: %s", path, err);
}

/* Every row of the station's tables (not schema_version: when it was
 * made), as text in key order. */
static char *dump(const char *db_path)
{
    static const char *const tables[] = { "runs",         "steps",       "setpoints",
                                          "measurements", "instruments", "attachments" };
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    out[0] = '\0';
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2, 3", tables[t]);
        if (strcmp(tables[t], "runs") == 0)
            snprintf(sql, sizeof sql, "SELECT * FROM runs ORDER BY id");
        sqlite3_stmt *s;
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
                      sqlite3_errmsg(db));
        while (sqlite3_step(s) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(s); c++) {
                const char *v = (const char *)sqlite3_column_text(s, c);
                size_t need = len + strlen(sqlite3_column_name(s, c)) + (v ? strlen(v) : 4) + 8;
                while (need >= cap) {
                    cap *= 2;
                    out = realloc(out, cap);
                    ck_assert_ptr_nonnull(out);
                }
                len += (size_t)sprintf(out + len, "%s.%s=%s\n", tables[t],
                                       sqlite3_column_name(s, c), v ? v : "NULL");
            }
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return out;
}

static void assert_same(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return;
    /* the first line that differs */
    size_t i = 0, line = 0;
    while (a[i] && a[i] == b[i])
        i++;
    while (line < i && a[i - line - 1] != '\n')
        line++;
    ck_abort_msg("%s: rows differ at\n  sink:   %.200s\n  import: %.200s", what, a + i - line,
                 b + i - line);
}

static void round_trip(const char *src)
{
    struct rec_run r0;
    load_record(src, &r0);
    const char *p = scratch_path("rec.json");
    char rec_path[512], dir[512], db_sink[600], db_put[600], db_import[600];
    snprintf(rec_path, sizeof rec_path, "%s", p);
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(rec_path, '/') - rec_path), rec_path);
    snprintf(db_sink, sizeof db_sink, "%s", scratch_path("sink.db"));
    snprintf(db_put, sizeof db_put, "%s", scratch_path("put.db"));
    snprintf(db_import, sizeof db_import, "%s", scratch_path("import.db"));

    /* The run through both sinks, as run_execute drives them: open, then
     * an update with the verdict (or without, for an incomplete run). */
    struct store *a;
    ck_assert_msg(store_open(&a, db_sink, err, sizeof err) == 0, "%s", err);
    struct rec_sink sinks[2];
    ck_assert_msg(rec_file_sink_new(rec_path, &sinks[0], err, sizeof err) == 0, "%s", err);
    ck_assert_msg(store_sink_init(&sinks[1], a, rec_path, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 2; i++) {
        const struct rec_sink *k = &sinks[i];
        ck_assert_msg(k->ops->open(k->impl, &r0, err, sizeof err) == 0, "%s open: %s", k->ops->name,
                      err);
        ck_assert_msg(k->ops->update(k->impl, &r0, r0.complete, err, sizeof err) == 0,
                      "%s update: %s", k->ops->name, err);
        k->ops->close(k->impl);
    }
    store_close(a);

    /* The file back through rec_from_json into the store. */
    struct rec_run r1;
    load_record(rec_path, &r1);
    struct store *b;
    ck_assert_msg(store_open(&b, db_put, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(store_put_run(b, &r1, r1.complete, rec_path, err, sizeof err) == 0, "%s", err);
    store_close(b);
    rec_run_free(&r1);

    /* And through the import of the file's directory. */
    struct store *c;
    ck_assert_msg(store_open(&c, db_import, err, sizeof err) == 0, "%s", err);
    struct store_import_stats st;
    ck_assert_msg(store_import_dir(c, dir, &st, NULL, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(st.records, 1);
    ck_assert_uint_eq(st.imported, 1);
    ck_assert_uint_eq(st.failed, 0);
    store_close(c);

    char *da = dump(db_sink), *db = dump(db_put), *dc = dump(db_import);
    ck_assert_msg(strstr(da, "runs.id="), "%s: no run in the database", src);
    assert_same(src, da, db);
    assert_same(src, da, dc);
    free(da);
    free(db);
    free(dc);
    rec_run_free(&r0);
}

START_TEST(corpus_round_trip)
{
    DIR *d = opendir(STORE_TEST_CORPUS);
    ck_assert_msg(d, "cannot open %s", STORE_TEST_CORPUS);
    struct dirent *e;
    unsigned n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", STORE_TEST_CORPUS, e->d_name);
        round_trip(path);
        n++;
    }
    closedir(d);
    ck_assert_uint_ge(n, 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_roundtrip");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, corpus_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
