/* store_lot(): the runs, values and failing measurements of a selection
 * against what was put, in the order store_stats uses; the model filter
 * (the pen's reported model, a "pen_model" measurement). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_lot.h"
#include "storetest.h"

static char err[512];

/* Put run n of dut at t seconds with force value v (limits 1..2), depth
 * 0.5 (PASS), and, when model is set, the pen's reported model. */
static void put(struct store *st, unsigned n, const char *dut, const char *fixture, double t,
                double v, const char *model, bool complete)
{
    char id[37];
    trun_id(id, n);
    bool fail = v < 1 || v > 2;
    struct rec_run r;
    trun_init(&r, id, dut, fixture, t, fail ? OUTCOME_FAIL : OUTCOME_PASS);
    const struct tmeas m[] = {
        { "force", v, fail ? OUTCOME_FAIL : OUTCOME_PASS, LIM_GELE, 1, 2 },
        { "depth", 0.5, OUTCOME_PASS, LIM_GELE, 0.4, 0.6 },
    };
    trun_add_step(&r, m, 2);
    if (model) {
        const struct tmeas id_m[] = { { "model", NAN, OUTCOME_PASS, LIM_STREQ, NAN, NAN } };
        trun_add_step(&r, id_m, 1);
        struct rec_measurement *d = &r.steps[1].meas[0];
        free(d->quantity);
        d->quantity = strdup("pen_model");
        d->is_text = true;
        d->text = strdup(model);
    }
    ck_assert_int_eq(store_put_run(st, &r, complete, "/rec/x.json", err, sizeof err), 0);
    if (model)
        free(r.steps[1].meas[0].text);
    trun_free(&r);
}

static struct store *fill(void)
{
    struct store *st;
    ck_assert_int_eq(store_open(&st, scratch_path("lot.db"), err, sizeof err), 0);
    /* Put out of time order: the lot is in start order. */
    put(st, 3, "C", "f1", 30, 1.7, "MNP-B", true);
    put(st, 1, "A", "f1", 10, 1.5, "MNP-A", true);
    put(st, 2, "B", "f2", 20, 2.5, "MNP-A", true); /* force FAIL */
    put(st, 4, "B", "f1", 40, 1.6, "MNP-A", true); /* B's retest */
    put(st, 5, "D", "f1", 50, 1.4, NULL, false);   /* incomplete */
    return st;
}

static const struct store_lot_series *find(const struct store_lot *lot, const char *name)
{
    for (size_t i = 0; i < lot->nseries; i++)
        if (!strcmp(lot->series[i].name, name))
            return &lot->series[i];
    return NULL;
}

START_TEST(whole)
{
    struct store *st = fill();
    struct store_lot *lot;
    ck_assert_int_eq(store_lot(st, NULL, &lot, err, sizeof err), 0);
    ck_assert_uint_eq(lot->started, 5);
    ck_assert_uint_eq(lot->nruns, 4);
    static const char *const serial[] = { "A", "B", "C", "B" };
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(lot->runs[i].dut_serial, serial[i]);
    ck_assert_uint_eq(lot->runs[3].attempt, 2);
    ck_assert_str_eq(lot->runs[1].outcome, "FAIL");
    ck_assert_str_eq(lot->runs[1].failing, "force");
    ck_assert_ptr_null(lot->runs[0].failing);
    ck_assert_str_eq(lot->runs[0].record_path, "/rec/x.json");
    const struct store_lot_series *f = find(lot, "force");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->count, 4);
    ck_assert_uint_eq(f->pass, 3);
    ck_assert_uint_eq(f->n, 4);
    static const double want[] = { 1.5, 2.5, 1.7, 1.6 };
    for (size_t i = 0; i < 4; i++) {
        ck_assert_double_eq(f->x[i], want[i]);
        ck_assert_uint_eq(f->run[i], i);
    }
    ck_assert_str_eq(f->comparison, "GELE");
    ck_assert_double_eq(f->low, 1);
    ck_assert_double_eq(f->high, 2);
    /* The text measurement is a population without numeric values. */
    const struct store_lot_series *m = find(lot, "model");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->count, 4);
    ck_assert_uint_eq(m->n, 0);
    /* stats of the same selection: yields over units A, B, C. */
    const cJSON *y = cJSON_GetObjectItem(lot->stats, "yields");
    ck_assert_int_eq(cJSON_GetObjectItem(y, "units")->valueint, 4); /* D too */
    store_lot_free(lot);
    store_close(st);
}
END_TEST

START_TEST(filtered)
{
    struct store *st = fill();
    struct store_lot *lot;
    struct store_filter f = { .model = "MNP-A" };
    ck_assert_int_eq(store_lot(st, &f, &lot, err, sizeof err), 0);
    ck_assert_uint_eq(lot->nruns, 3);
    ck_assert_uint_eq(lot->started, 3);
    const struct store_lot_series *s = find(lot, "force");
    ck_assert_uint_eq(s->n, 3);
    ck_assert_double_eq(s->x[2], 1.6);
    const cJSON *y = cJSON_GetObjectItem(lot->stats, "yields");
    ck_assert_int_eq(cJSON_GetObjectItem(y, "units")->valueint, 2); /* A and B */
    ck_assert_int_eq(cJSON_GetObjectItem(y, "runs")->valueint, 3);
    store_lot_free(lot);

    f = (struct store_filter){ .since = "2026-12-01T00:00:15",
                               .until = "2026-12-01T00:00:45",
                               .fixture = "f1" };
    ck_assert_int_eq(store_lot(st, &f, &lot, err, sizeof err), 0);
    ck_assert_uint_eq(lot->nruns, 2); /* C and B's retest */
    ck_assert_str_eq(lot->runs[0].dut_serial, "C");
    ck_assert_uint_eq(find(lot, "force")->n, 2);
    store_lot_free(lot);

    f = (struct store_filter){ .model = "MNP-X" };
    ck_assert_int_eq(store_lot(st, &f, &lot, err, sizeof err), 0);
    ck_assert_uint_eq(lot->nruns, 0);
    ck_assert_uint_eq(lot->nseries, 0);
    store_lot_free(lot);
    store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_lot");
    TCase *t = tcase_create("lot");
    tcase_add_test(t, whole);
    tcase_add_test(t, filtered);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
