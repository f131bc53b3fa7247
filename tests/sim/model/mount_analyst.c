/* Measuring a mount as an analyst would (mount_analyst.h). */
#include "mount_analyst.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#define RATE_HZ      50000.0
#define SET_DEPTH_MM 1.0
#define STROKE_MM    3.5

/* ---- the model's ground truth, followed as it grows ---- */

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsNumber(v), "truth line without number %s", k);
    return v->valuedouble;
}

/* Read the lines the model wrote since the last call. */
void follow_read(struct follow *fo)
{
    char line[2048];
    ck_assert_int_eq(fflush(fo->f), 0);
    ck_assert_int_eq(fseek(fo->f, fo->off, SEEK_SET), 0);
    while (fgets(line, sizeof line, fo->f)) {
        cJSON *o = cJSON_Parse(line);
        ck_assert_msg(o != NULL, "truth line is not JSON: %s", line);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
        if (cJSON_IsString(ev) && strcmp(ev->valuestring, "mount") == 0) {
            ck_assert_uint_lt(fo->nmounts, sizeof fo->mounts / sizeof fo->mounts[0]);
            struct mount_line *ml = &fo->mounts[fo->nmounts++];
            const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "why");
            ck_assert(cJSON_IsString(why));
            snprintf(ml->why, sizeof ml->why, "%s", why->valuestring);
            ml->session = num(o, "session");
            ml->mount = num(o, "mount");
            ml->disp_zero_um = num(o, "disp_zero_um");
            ml->seat_um = num(o, "seat_um");
            ml->k_factor = num(o, "phantom_k_factor");
            ml->puncture_factor = num(o, "puncture_factor");
            ml->k_n_per_mm = num(o, "k_n_per_mm");
            ml->drift_mn_per_min = num(o, "tare_drift_mn_per_min");
            ml->settle_min = num(o, "tare_settle_min");
            ml->zero_shift_mn = num(o, "zero_shift_mn");
            ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "serial")));
            (void)num(o, "puncture_n_per_needle");
        } else if (cJSON_IsString(ev) && strcmp(ev->valuestring, "session") == 0) {
            fo->sessions++;
        } else if (!ev) {
            if (fo->nstrokes == fo->cap) {
                fo->cap = fo->cap ? 2 * fo->cap : 4096;
                fo->strokes = realloc(fo->strokes, fo->cap * sizeof *fo->strokes);
                ck_assert_ptr_nonnull(fo->strokes);
            }
            fo->strokes[fo->nstrokes++] =
                (struct stroke_line){ num(o, "t_peak"), num(o, "protrusion_mm"),
                                      num(o, "peak_force_n"), num(o, "penetration_mm") };
        }
        cJSON_Delete(o);
    }
    fo->off = ftell(fo->f);
    /* back to the end, where the model writes next */
    ck_assert_int_eq(fseek(fo->f, 0, SEEK_END), 0);
}

void follow_init(struct follow *fo, struct sim_model *m)
{
    memset(fo, 0, sizeof *fo);
    fo->f = tmpfile();
    ck_assert_ptr_nonnull(fo->f);
    sim_model_set_truth(m, fo->f);
}

void follow_free(struct follow *fo)
{
    fclose(fo->f);
    free(fo->strokes);
}

const struct mount_line *follow_last_mount(const struct follow *fo)
{
    ck_assert_uint_gt(fo->nmounts, 0);
    return &fo->mounts[fo->nmounts - 1];
}

/* ---- small statistics ---- */

void moments_add(struct moments *s, double x)
{
    s->n++;
    s->sum += x;
    s->sum2 += x * x;
}

double moments_mean(const struct moments *s)
{
    return s->sum / s->n;
}

double moments_sd(const struct moments *s)
{
    return sqrt(fmax(0.0, (s->sum2 - s->sum * s->sum / s->n) / (s->n - 1)));
}

/* A spread estimated from n values is within its expected value to about
 * 1/sqrt(2(n - 1)) (relative); tol is that many of those. */
void moments_assert_sd(const char *what, const struct moments *s, double want, double tol)
{
    double rel = 1.0 / sqrt(2.0 * (s->n - 1));
    ck_assert_msg(fabs(moments_sd(s) / want - 1.0) <= tol * rel,
                  "%s: sd %.4g over %g mounts, documented %.4g (tolerance %.0f %%)", what,
                  moments_sd(s), s->n, want, 100 * tol * rel);
    ck_assert_msg(fabs(moments_mean(s)) <= 4.0 * want / sqrt(s->n), "%s: mean %.4g, want 0 +- %.3g",
                  what, moments_mean(s), 4.0 * want / sqrt(s->n));
}

/* ---- measuring a mount from the samples, as an analyst would ---- */

/* Strokes are the runs of samples above mid-stroke; the first and last run
 * may be cut by the window and are skipped. The force zero is the mean
 * force while the needle tips are well behind the cartridge face; the
 * elastic rise is fitted over 20-80 % of each stroke's peak before it. */
static void measure(const struct capture *c, struct meas *w)
{
    double mid_nm = (SET_DEPTH_MM - STROKE_MM / 2) * 1e6;
    double zero = 0;
    size_t nz = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->disp[i] < mid_nm - 0.5e6) {
            zero += c->force[i];
            nz++;
        }
    ck_assert_uint_gt(nz, 1000);
    zero /= (double)nz;
    double sx = 0, sy = 0, sxx = 0, sxy = 0, np = 0, depth = 0, peak = 0;
    size_t strokes = 0, runs = 0;
    for (size_t i = 0; i < c->n;) {
        if (c->disp[i] <= mid_nm) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < c->n && c->disp[i] > mid_nm)
            i++;
        if (runs++ == 0 || a == 0 || i == c->n)
            continue;
        size_t top = a, fpk = a;
        for (size_t k = a; k < i; k++) {
            if (c->disp[k] > c->disp[top])
                top = k;
            if (c->force[k] > c->force[fpk])
                fpk = k;
        }
        double f_peak = c->force[fpk] - zero;
        for (size_t k = a; k < fpk; k++) {
            double f = c->force[k] - zero;
            if (f < 0.2 * f_peak || f > 0.8 * f_peak)
                continue;
            double x = c->disp[k] / 1e6, y = f / 1e6;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            np++;
        }
        depth += c->disp[top] / 1e6;
        peak += f_peak / 1e6;
        if (strokes++ == 0)
            w->first_top = top;
        w->last_top = top;
    }
    ck_assert_uint_gt(strokes, 10);
    ck_assert_double_gt(np, 3.0 * (double)strokes);
    double slope = (sxy - sx * sy / np) / (sxx - sx * sx / np);
    double icept = (sy - slope * sx) / np;
    w->strokes = strokes;
    w->depth_mm = depth / (double)strokes;
    w->peak_n = peak / (double)strokes;
    w->k_n_per_mm = slope;
    w->contact_mm = -icept / slope;
}

/* Mean truth of the strokes that peaked in [t0, t1] (s). */
static void truth_of(const struct follow *fo, double t0, double t1, struct meas *w)
{
    double d = 0, f = 0;
    size_t n = 0;
    for (size_t i = 0; i < fo->nstrokes; i++)
        if (fo->strokes[i].t_peak >= t0 && fo->strokes[i].t_peak <= t1) {
            d += fo->strokes[i].protrusion;
            f += fo->strokes[i].peak_force;
            n++;
        }
    ck_assert_uint_eq(n, w->strokes);
    w->truth_depth_mm = d / (double)n;
    w->truth_peak_n = f / (double)n;
}

struct pen_status pen_status_of(const struct sim_model *m)
{
    struct pen_status st;
    sim_pen_status(m, &st);
    return st;
}

void pen_wait_rest(struct sim_model *m)
{
    for (int i = 0; i < 200 && pen_status_of(m).state != PEN_STATE_IDLE; i++)
        run_fed(m, sim_model_now(m) + 10 * MS, NULL);
    ck_assert_int_eq(pen_status_of(m).state, PEN_STATE_IDLE);
}

/* One run as the rig makes it on the current mount: the pen at 120 Hz,
 * settled, the sensor streaming for `ms`, then stopped and at rest. */
void mount_measured_run(struct sim_model *m, struct follow *fo, uint64_t ms, struct meas *w)
{
    ck_assert_int_eq(sim_pen_set_rate(m, 120000), 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, sim_model_now(m) + 150 * MS, NULL);
    struct capture c;
    capture_init(&c);
    uint64_t t0 = sim_model_now(m);
    ck_assert_int_eq(sim_sh_start(m), 0);
    run_fed(m, t0 + ms * MS, &c);
    ck_assert_int_eq(sim_sh_stop(m), 0);
    capture_drain(m, &c, SH_MAX_SAMPLES);
    ck_assert(!c.seq_error && !c.index_error && c.overrun_blocks == 0);
    measure(&c, w);
    capture_free(&c);
    ck_assert_int_eq(sim_pen_stop(m), 0);
    pen_wait_rest(m);
    follow_read(fo);
    /* Frame n of the window was taken at t0 + (n + 1)/rate: the truth of
     * exactly the strokes measured (a period is 8.3 ms, the top sample
     * within a few samples of the stroke's peak). */
    double t_first = (double)t0 * 1e-9 + (double)(w->first_top + 1) / RATE_HZ;
    double t_last = (double)t0 * 1e-9 + (double)(w->last_top + 1) / RATE_HZ;
    truth_of(fo, t_first - 0.002, t_last + 0.002, w);
}

struct sim_params mount_msa_params(void)
{
    struct sim_params p;
    sim_params_default(&p);
    sim_params_mount_typical(&p);
    return p;
}
