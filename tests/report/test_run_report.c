/* run_report_render() on records the simulated bench does not easily
 * make: an incomplete record (rigd killed mid-run), a run with no step, a
 * capture whose file is missing, one pruned by retention, one whose file
 * is not the one the record names, and hostile text. The page must be made
 * every time and say what is missing. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/record.h"
#include "report/run_report.h"

static struct rec_run base(void)
{
    struct rec_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "11111111-2222-4333-8444-555555555555");
    r.dut_serial = strdup("PA-<b>&1");
    r.operator_name = strdup("O'Brien \"Q\"");
    r.station = strdup("EOL-3");
    r.sequence.name = strdup("eol");
    r.spec.name = strdup("spec");
    r.started.tv_sec = 1790000000;
    return r;
}

static struct rec_step *add_capture_step(struct rec_run *r, const char *file)
{
    r->steps = realloc(r->steps, sizeof *r->steps * (r->nsteps + 1));
    struct rec_step *s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    s->index = (unsigned)r->nsteps;
    s->section = strdup("main");
    s->path = strdup("$.main[0]");
    s->kind = STEP_CAPTURE;
    s->setpoints.rate_hz = 100;
    s->setpoints.depth_mm = 1;
    s->outcome = OUTCOME_PASS;
    s->capture = calloc(1, sizeof *s->capture);
    s->capture->samples = 1000;
    s->capture->rate_hz = 50000;
    s->capture->start_index = -1;
    s->capture->stop_index = -1;
    s->capture->data.name = strdup(file);
    snprintf(s->capture->data.sha256, sizeof s->capture->data.sha256, "%064d", 0);
    s->capture->analysis.force_zero_n = NAN;
    s->nmeas = 1;
    s->meas = calloc(1, sizeof *s->meas);
    s->meas[0].name = strdup("depth");
    s->meas[0].quantity = strdup("depth_mean_mm");
    s->meas[0].units = strdup("mm");
    s->meas[0].value = NAN;
    s->meas[0].low = 0.85;
    s->meas[0].high = 1.15;
    s->meas[0].comparison = LIM_GELE;
    s->meas[0].limit = strdup("GELE [0.85, 1.15]");
    s->meas[0].outcome = OUTCOME_ERROR;
    s->meas[0].note = strdup("capture <missing>");
    return s;
}

static char *render(const struct rec_run *r, const char *dir)
{
    struct run_report_opts o = { .dir = dir, .record_name = "x.json" };
    struct html h;
    html_init(&h);
    char err[300];
    ck_assert_int_eq(run_report_render(r, &o, &h, err, sizeof err), 0);
    size_t n;
    char *s = html_take(&h, &n);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(incomplete_no_steps)
{
    struct rec_run r = base();
    r.complete = false;
    char *s = render(&r, "/nonexistent");
    ck_assert_ptr_nonnull(strstr(s, "<div class=\"word\">INCOMPLETE</div>"));
    ck_assert_ptr_nonnull(strstr(s, "no measurement recorded"));
    ck_assert_ptr_nonnull(strstr(s, "The run has no capture"));
    ck_assert_ptr_nonnull(strstr(s, "not ended (record incomplete)"));
    /* user text escaped everywhere */
    ck_assert_ptr_null(strstr(s, "PA-<b>"));
    ck_assert_ptr_nonnull(strstr(s, "PA-&lt;b&gt;&amp;1"));
    free(s);
    rec_run_free(&r);
}
END_TEST

START_TEST(missing_pruned_and_changed_captures)
{
    char dir[] = "/tmp/report-unit-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct rec_run r = base();
    r.complete = true;
    r.outcome = OUTCOME_ERROR;
    r.message = strdup("capture missing");
    add_capture_step(&r, "x.cap1.bin"); /* no such file */
    struct rec_step *p = add_capture_step(&r, "x.cap2.bin");
    p->capture->pruned = true;
    p->capture->pruned_at.tv_sec = 1800000000;
    add_capture_step(&r, "x.cap3.bin"); /* there, but not the recorded bytes */
    char path[256];
    snprintf(path, sizeof path, "%s/x.cap3.bin", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("not a capture", f);
    fclose(f);
    char *s = render(&r, dir);
    ck_assert_ptr_nonnull(strstr(s, "<div class=\"word\">ERROR</div>"));
    ck_assert_ptr_nonnull(strstr(s, "x.cap1.bin cannot be read (missing)"));
    ck_assert_ptr_nonnull(strstr(s, "x.cap2.bin was deleted by retention on 2027-01-15"));
    ck_assert_ptr_nonnull(strstr(s, "x.cap3.bin is not the one the record names"));
    ck_assert_ptr_nonnull(strstr(s, "No per-stroke values"));
    ck_assert_ptr_nonnull(strstr(s, "capture &lt;missing&gt;"));
    /* no waveform without samples */
    ck_assert_ptr_null(strstr(s, "id=\"c1-wd\""));
    /* three captures judged at setpoints: the setpoint plots, no point */
    ck_assert_ptr_nonnull(strstr(s, "id=\"sw-d\""));
    free(s);
    unlink(path);
    rmdir(dir);
    rec_run_free(&r);
}
END_TEST

START_TEST(path_for)
{
    char out[64];
    ck_assert_int_eq(run_report_path_for("/r/a.json", out, sizeof out), 0);
    ck_assert_str_eq(out, "/r/a.html");
    ck_assert_int_eq(run_report_path_for("/r/a", out, sizeof out), 0);
    ck_assert_str_eq(out, "/r/a.html");
    ck_assert_int_eq(run_report_path_for("/r/a.json", out, 8), -ENAMETOOLONG);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("report_run");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, incomplete_no_steps);
    tcase_add_test(tc, missing_pruned_and_changed_captures);
    tcase_add_test(tc, path_for);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
