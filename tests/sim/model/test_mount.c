/* Measurement system analysis in the model (docs/SIMULATOR-MODEL.md,
 * "Measurement system analysis"): every mount of a pen in the fixture draws
 * its displacement zero, seating, phantom spot and load-cell drift; sessions
 * re-seed the noise. These tests measure each mount from the sensor's
 * samples the way an analyst would, compare with the mount's ground-truth
 * line, check the spreads over many mounts against the documented ones, and
 * run a small crossed gauge study. The analyst's tools are in
 * mount_analyst.c. Part of the test_sim_model binary (test_model.c adds
 * this TCase). */
#include "test_mount.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "helpers.h"
#include "mount_analyst.h"

/* ---- tests ---- */

/* The bench file that turns the variation on is the documented one, and
 * the default bench is an ideal fixture: every mount neutral. */
START_TEST(test_mount_params)
{
    struct sim_params d, t;
    sim_params_default(&d);
    ck_assert_double_eq(d.mount_disp_zero_sd_um, 0);
    ck_assert_double_eq(d.mount_seat_sd_um, 0);
    ck_assert_double_eq(d.mount_k_sd_pct, 0);
    ck_assert_double_eq(d.mount_puncture_sd_pct, 0);
    ck_assert_double_eq(d.mount_tare_drift_sd_mn_per_min, 0);
    t = mount_msa_params();
    ck_assert_double_eq(t.mount_disp_zero_sd_um, 3.0);
    ck_assert_double_eq(t.mount_seat_sd_um, 10.0);
    ck_assert_double_eq(t.mount_k_sd_pct, 3.0);
    ck_assert_double_eq(t.mount_puncture_sd_pct, 2.0);
    ck_assert_double_eq(t.mount_tare_drift_sd_mn_per_min, 2.0);
    ck_assert_double_eq(t.mount_tare_settle_min, 4.0);

    const char *dir = getenv("BENCH_DIR");
    ck_assert_ptr_nonnull(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/msa.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[16384];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    struct sim_params b;
    char err[256];
    sim_params_default(&b);
    ck_assert_msg(sim_params_from_json(&b, root, err, sizeof err) == 0, "msa.json: %s", err);
    cJSON_Delete(root);
    ck_assert_double_eq(b.mount_disp_zero_sd_um, t.mount_disp_zero_sd_um);
    ck_assert_double_eq(b.mount_seat_sd_um, t.mount_seat_sd_um);
    ck_assert_double_eq(b.mount_k_sd_pct, t.mount_k_sd_pct);
    ck_assert_double_eq(b.mount_puncture_sd_pct, t.mount_puncture_sd_pct);
    ck_assert_double_eq(b.mount_tare_drift_sd_mn_per_min, t.mount_tare_drift_sd_mn_per_min);
    ck_assert_double_eq(b.mount_tare_settle_min, t.mount_tare_settle_min);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        { "{\"mount\":{\"seat_sd_um\":-1}}", "$.mount.seat_sd_um: -1 is out of range" },
        { "{\"mount\":{\"phantom_k_sd_pct\":31}}", "$.mount.phantom_k_sd_pct: 31 is out of range" },
        { "{\"mount\":{\"zero\":1}}", "$.mount.zero: unknown key" },
        { "{\"mount\":{\"tare_settle_min\":0}}", "$.mount.tare_settle_min: 0 is out of range" },
        { "{\"mount\":3}", "$.mount: expected an object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        root = cJSON_Parse(bad[i].json);
        sim_params_default(&b);
        ck_assert_int_eq(sim_params_from_json(&b, root, err, sizeof err), -1);
        ck_assert_msg(strncmp(err, bad[i].msg, strlen(bad[i].msg)) == 0, "%s: '%s'", bad[i].json,
                      err);
        cJSON_Delete(root);
    }

    /* the ideal fixture: the first mount's line is neutral */
    struct sim_model *m = sim_model_new(&d, 3);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    follow_read(&fo);
    ck_assert_uint_eq(fo.nmounts, 1);
    const struct mount_line *ml = follow_last_mount(&fo);
    ck_assert_str_eq(ml->why, "start");
    ck_assert_double_eq(ml->session, 0);
    ck_assert_double_eq(ml->mount, 1);
    ck_assert_double_eq(ml->disp_zero_um, 0);
    ck_assert_double_eq(ml->seat_um, 0);
    ck_assert_double_eq(ml->k_factor, 1);
    ck_assert_double_eq(ml->puncture_factor, 1);
    ck_assert_double_eq(ml->drift_mn_per_min, 0);
    follow_free(&fo);
    sim_model_free(m);
}
END_TEST

/* A remount needs the pen at rest; it changes the mount, nothing of the
 * pen; the parked needles' reading moves by exactly the change of the
 * displacement zero; every mount gets its truth line. */
START_TEST(test_remount_only_at_rest)
{
    struct sim_params p = mount_msa_params();
    p.disp_noise_um = 0;
    struct sim_model *m = sim_model_new(&p, 8);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    ck_assert_int_eq(sim_pen_set_rate(m, 120000), 0);
    ck_assert_int_eq(sim_pen_set_depth(m, 1250), 0);
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, 200 * MS, NULL);
    ck_assert_int_eq(sim_pen_remount(m), -1);
    ck_assert_int_eq(sim_model_new_session(m, 5), -1);
    ck_assert_int_eq(sim_pen_stop(m), 0);
    run_fed(m, 205 * MS, NULL);
    ck_assert_int_eq(pen_status_of(m).state, PEN_STATE_STOPPING);
    ck_assert_int_eq(sim_pen_remount(m), -1); /* still coasting */
    pen_wait_rest(m);
    follow_read(&fo);
    ck_assert_uint_eq(fo.nmounts, 1); /* refusals leave no trace */
    ck_assert_uint_eq(sim_model_mount_count(m), 1);
    ck_assert_uint_eq(sim_model_session(m), 0);

    ck_assert_int_eq(sim_sh_start(m), 0);
    struct capture c;
    capture_init(&c);
    for (int k = 0; k < 5; k++) {
        size_t before = c.n;
        run_fed(m, sim_model_now(m) + 20 * MS, &c);
        int32_t parked = c.disp[c.n - 1];
        ck_assert_int_eq(c.disp[before], parked); /* at rest */
        double z0 = follow_last_mount(&fo)->disp_zero_um;
        ck_assert_int_eq(sim_pen_remount(m), 0);
        follow_read(&fo);
        ck_assert_uint_eq(fo.nmounts, 2 + (size_t)k);
        const struct mount_line *ml = follow_last_mount(&fo);
        ck_assert_str_eq(ml->why, "remount");
        ck_assert_double_eq(ml->mount, 2 + k);
        ck_assert_uint_eq(sim_model_mount_count(m), 2 + (unsigned)k);
        run_fed(m, sim_model_now(m) + 20 * MS, &c);
        /* the same needles, read against the new zero (0.01 um LSB) */
        ck_assert_double_eq_tol((c.disp[c.n - 1] - parked) / 1e3, ml->disp_zero_um - z0, 0.011);
        struct pen_status st = pen_status_of(m);
        ck_assert_int_eq(st.state, PEN_STATE_IDLE);
        ck_assert_uint_eq(st.set_rate_mhz, 120000);
        ck_assert_uint_eq(st.set_depth_um, 1250);
    }
    capture_free(&c);
    /* the pen still runs after remounts */
    ck_assert_int_eq(sim_pen_start(m), 0);
    run_fed(m, sim_model_now(m) + 200 * MS, NULL);
    ck_assert_int_eq(pen_status_of(m).state, PEN_STATE_RUNNING);
    follow_free(&fo);
    sim_model_free(m);
}
END_TEST

/* A whole little study twice with the same seeds gives the same samples
 * and the same truth, byte for byte; another session seed gives other
 * mounts and other noise. */
static void study_run(uint64_t session, struct capture *c, char **truth, size_t *len)
{
    struct sim_params p = mount_msa_params();
    struct sim_model *m = sim_model_new(&p, 21);
    ck_assert_ptr_nonnull(m);
    FILE *f = open_memstream(truth, len);
    ck_assert_ptr_nonnull(f);
    sim_model_set_truth(m, f);
    capture_init(c);
    ck_assert_int_eq(sim_model_new_session(m, session), 0);
    ck_assert_int_eq(sim_sh_start(m), 0);
    for (int u = 0; u < 2; u++) {
        char serial[17];
        snprintf(serial, sizeof serial, "PA-%07d", 500 + u);
        ck_assert_int_eq(sim_pen_new_unit(m, 500 + (uint64_t)u, serial), 0);
        for (int r = 0; r < 2; r++) {
            if (r > 0)
                ck_assert_int_eq(sim_pen_remount(m), 0);
            ck_assert_int_eq(sim_pen_set_rate(m, 120000), 0);
            ck_assert_int_eq(sim_pen_start(m), 0);
            run_fed(m, sim_model_now(m) + 300 * MS, c);
            ck_assert_int_eq(sim_pen_stop(m), 0);
            for (int i = 0; i < 50 && pen_status_of(m).state != PEN_STATE_IDLE; i++)
                run_fed(m, sim_model_now(m) + 10 * MS, c);
        }
    }
    fclose(f);
    sim_model_free(m);
}

START_TEST(test_same_seed_same_study)
{
    struct capture c[3];
    char *truth[3];
    size_t len[3];
    static const uint64_t sessions[3] = { 7, 7, 8 };
    for (int i = 0; i < 3; i++)
        study_run(sessions[i], &c[i], &truth[i], &len[i]);
    ck_assert_uint_eq(c[0].n, c[1].n);
    ck_assert_int_eq(memcmp(c[0].force, c[1].force, c[0].n * sizeof(int32_t)), 0);
    ck_assert_int_eq(memcmp(c[0].disp, c[1].disp, c[0].n * sizeof(int32_t)), 0);
    ck_assert_uint_eq(len[0], len[1]);
    ck_assert_int_eq(memcmp(truth[0], truth[1], len[0]), 0);
    ck_assert(strstr(truth[0], "\"event\":\"session\",\"session\":7") != NULL);
    /* 1 start + 1 session + 2 swaps + 2 remounts */
    size_t mounts = 0;
    for (const char *s = truth[0]; (s = strstr(s, "\"event\":\"mount\"")) != NULL; s++)
        mounts++;
    ck_assert_uint_eq(mounts, 6);
    /* another session: other noise, other mounts, the same units */
    size_t n = c[0].n < c[2].n ? c[0].n : c[2].n;
    ck_assert_int_ne(memcmp(c[0].force, c[2].force, n * sizeof(int32_t)), 0);
    ck_assert_int_ne(memcmp(c[0].disp, c[2].disp, n * sizeof(int32_t)), 0);
    const char *a = strstr(truth[0], "\"why\":\"swap\""), *b = strstr(truth[2], "\"why\":\"swap\"");
    ck_assert(a && b);
    a = strstr(a, "\"disp_zero_um\"");
    b = strstr(b, "\"disp_zero_um\"");
    ck_assert(a && b);
    ck_assert_int_ne(strncmp(a, b, (size_t)(strchr(a, '}') - a)), 0);
    const char *ua = strstr(truth[0], "\"event\":\"unit\",\"seed\":500");
    const char *ub = strstr(truth[2], "\"event\":\"unit\",\"seed\":500");
    ck_assert(ua && ub);
    ck_assert_int_eq(strncmp(ua, ub, (size_t)(strchr(ua, '}') - ua)), 0);
    for (int i = 0; i < 3; i++) {
        capture_free(&c[i]);
        free(truth[i]);
    }
}
END_TEST

/* The drawn values over many remounts have the documented spreads, are
 * independent of each other, and the truth is consistent with itself. */
START_TEST(test_mount_draws_match_documented_spreads)
{
    struct sim_params p = mount_msa_params();
    struct sim_model *m = sim_model_new(&p, 31);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        sim_model_run_until(m, sim_model_now(m) + 10 * MS);
        ck_assert_int_eq(sim_pen_remount(m), 0);
    }
    follow_read(&fo);
    ck_assert_uint_eq(fo.nmounts, N + 1);
    struct moments z = { 0 }, s = { 0 }, k = { 0 }, f = { 0 }, r = { 0 };
    double szs = 0;
    for (size_t i = 1; i < fo.nmounts; i++) {
        const struct mount_line *ml = &fo.mounts[i];
        moments_add(&z, ml->disp_zero_um);
        moments_add(&s, ml->seat_um);
        moments_add(&k, (ml->k_factor - 1) * 100);
        moments_add(&f, (ml->puncture_factor - 1) * 100);
        moments_add(&r, ml->drift_mn_per_min);
        szs += ml->disp_zero_um * ml->seat_um;
        ck_assert_double_eq_tol(ml->k_n_per_mm, 2.5 * ml->k_factor, 1e-5);
        ck_assert_double_eq(ml->settle_min, 4.0);
    }
    /* 5 x the standard error of a spread from 2000 values (1.6 %) */
    moments_assert_sd("disp_zero_um", &z, 3.0, 5);
    moments_assert_sd("seat_um", &s, 10.0, 5);
    moments_assert_sd("phantom_k_pct", &k, 3.0, 5);
    moments_assert_sd("puncture_pct", &f, 2.0, 5);
    moments_assert_sd("tare_drift_mn_per_min", &r, 2.0, 5);
    double corr =
        (szs / z.n - moments_mean(&z) * moments_mean(&s)) / (moments_sd(&z) * moments_sd(&s));
    ck_assert_msg(fabs(corr) < 0.1, "zero and seating correlate: %.3f", corr);
    follow_free(&fo);
    sim_model_free(m);
}
END_TEST

/* Measured per mount from the samples alone: the depth reading moves with
 * the displacement zero, the elastic rise starts where zero + seating put
 * the phantom surface and has the spot's stiffness, the force peak follows
 * the spot's puncture threshold. Each mount agrees with its truth line,
 * and over many remounts the measured spreads are the documented ones. */
START_TEST(test_remount_changes_measurements_as_documented)
{
    struct sim_params p = mount_msa_params();
    struct sim_model *m = sim_model_new(&p, 41);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    enum { N = 150 };
    struct moments dz = { 0 }, ds = { 0 }, dk = { 0 }, dfp = { 0 };
    double ratio0 = NAN;
    for (int i = 0; i < N; i++) {
        if (i > 0)
            ck_assert_int_eq(sim_pen_remount(m), 0);
        struct meas w;
        mount_measured_run(m, &fo, 250, &w);
        const struct mount_line *ml = follow_last_mount(&fo);
        /* depth reading = true protrusion + this mount's zero (the top
         * sample of a 0.2 um-noisy stroke sits ~0.3 um high) */
        double zero_um = (w.depth_mm - w.truth_depth_mm) * 1e3;
        ck_assert_msg(fabs(zero_um - ml->disp_zero_um) < 1.0,
                      "mount %d: depth reading - truth %.3f um, zero %.3f um", i, zero_um,
                      ml->disp_zero_um);
        /* contact: the rise starts at reading = zero + seating */
        double seat_um = w.contact_mm * 1e3 - zero_um;
        ck_assert_msg(fabs(seat_um - ml->seat_um) < 1.5, "mount %d: seating %.3f vs %.3f um", i,
                      seat_um, ml->seat_um);
        ck_assert_msg(fabs(w.k_n_per_mm / ml->k_n_per_mm - 1) < 0.01,
                      "mount %d: stiffness %.4f vs %.4f N/mm", i, w.k_n_per_mm, ml->k_n_per_mm);
        /* the sampled force peak is a fixed ~1 % under the true one */
        double ratio = w.peak_n / w.truth_peak_n;
        if (i == 0)
            ratio0 = ratio;
        ck_assert_msg(fabs(ratio / ratio0 - 1) < 0.006, "mount %d: peak/truth %.4f (first %.4f)", i,
                      ratio, ratio0);
        moments_add(&dz, zero_um);
        moments_add(&ds, seat_um);
        moments_add(&dk, (w.k_n_per_mm / 2.5 - 1) * 100);
        moments_add(&dfp, log(w.peak_n));
    }
    /* Measured spreads: the mount's plus what 30 strokes leave of the
     * per-stroke noise (puncture 3 %/sqrt(30); the rest is negligible).
     * 4.5 x the standard error of a spread from 150 values (5.8 %). */
    moments_assert_sd("measured zero um", &dz, 3.0, 4.5);
    moments_assert_sd("measured seating um", &ds, 10.0, 4.5);
    moments_assert_sd("measured stiffness %", &dk, 3.0, 4.5);
    double want_f = sqrt(0.02 * 0.02 + 0.03 * 0.03 / 30);
    double rel = moments_sd(&dfp) / want_f - 1;
    ck_assert_msg(fabs(rel) < 4.5 / sqrt(2.0 * (N - 1)), "peak force spread %.4f, want %.4f",
                  moments_sd(&dfp), want_f);
    printf("%d remounts measured: zero sd %.2f um, seating sd %.2f um, stiffness sd %.2f %%, "
           "peak force sd %.2f %% (documented 3, 10, 3, 2 (+0.55 stroke noise))\n",
           N, moments_sd(&dz), moments_sd(&ds), moments_sd(&dk), 100 * moments_sd(&dfp));
    follow_free(&fo);
    sim_model_free(m);
}
END_TEST

/* The load cell's zero creeps after each mount at the drawn rate and
 * settles: measured at rest from the raw force 0.05 s and 10 s after the
 * mount (0.2 s windows), it moves as the truth line says, with the
 * documented spread. */
START_TEST(test_tare_drift_after_mount)
{
    struct sim_params p = mount_msa_params();
    struct sim_model *m = sim_model_new(&p, 51);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    enum { N = 120 };
    const double t1 = 0.05, t2 = 10.05, win = 0.2, tau = 4 * 60.0;
    /* r tau (1 - e^(-t/tau)) averaged over each window, difference per
     * unit of initial rate (mN per mN/min) */
    double shape = tau / 60.0 * (exp(-(t1 + win / 2) / tau) - exp(-(t2 + win / 2) / tau));
    struct moments rate = { 0 };
    for (int i = 0; i < N; i++) {
        if (i > 0) {
            sim_model_run_until(m, sim_model_now(m) + 50 * MS);
            ck_assert_int_eq(sim_pen_remount(m), 0);
        }
        uint64_t tm = sim_model_now(m);
        double level[2];
        const double at[2] = { t1, t2 };
        for (int k = 0; k < 2; k++) {
            sim_model_run_until(m, tm + (uint64_t)(at[k] * 1e9));
            struct capture c;
            capture_init(&c);
            ck_assert_int_eq(sim_sh_start(m), 0);
            sim_model_run_until(m, sim_model_now(m) + (uint64_t)(win * 1e9));
            ck_assert_int_eq(sim_sh_stop(m), 0);
            capture_drain(m, &c, SH_MAX_SAMPLES);
            double sum = 0;
            for (size_t j = 0; j < c.n; j++)
                sum += c.force[j];
            level[k] = sum / (double)c.n / 1e3; /* mN */
            capture_free(&c);
        }
        follow_read(&fo);
        const struct mount_line *ml = follow_last_mount(&fo);
        double moved = level[1] - level[0];
        /* 10 000 samples of 2 mN noise: each mean is good to 0.02 mN, the
         * difference to 0.03 mN */
        ck_assert_msg(fabs(moved - ml->drift_mn_per_min * shape) < 0.2,
                      "mount %d: zero moved %.3f mN, truth rate %.3f mN/min -> %.3f", i, moved,
                      ml->drift_mn_per_min, ml->drift_mn_per_min * shape);
        moments_add(&rate, moved / shape);
    }
    moments_assert_sd("measured drift rate mN/min", &rate, 2.0, 4.5);
    /* the zero carries on across mounts: the last line's shift is where
     * the creep of the mounts before had taken it */
    ck_assert_double_ne(follow_last_mount(&fo)->zero_shift_mn, 0);
    follow_free(&fo);
    sim_model_free(m);
}
END_TEST

/* ---- a crossed gauge study ---- */

enum { PARTS = 10, OPS = 3, TRIALS = 3 };

struct grr {
    double part, op, interaction, repeatability, reproducibility;
};

/* Two-way crossed ANOVA with interaction (AIAG MSA): variance components
 * from the mean squares, negative estimates taken as 0. */
static struct grr anova(const double x[PARTS][OPS][TRIALS])
{
    double grand = 0, pm[PARTS] = { 0 }, om[OPS] = { 0 }, cm[PARTS][OPS] = { { 0 } };
    for (int i = 0; i < PARTS; i++)
        for (int j = 0; j < OPS; j++)
            for (int k = 0; k < TRIALS; k++) {
                grand += x[i][j][k];
                pm[i] += x[i][j][k] / (OPS * TRIALS);
                om[j] += x[i][j][k] / (PARTS * TRIALS);
                cm[i][j] += x[i][j][k] / TRIALS;
            }
    grand /= PARTS * OPS * TRIALS;
    double ss_p = 0, ss_o = 0, ss_c = 0, ss_e = 0;
    for (int i = 0; i < PARTS; i++)
        ss_p += OPS * TRIALS * (pm[i] - grand) * (pm[i] - grand);
    for (int j = 0; j < OPS; j++)
        ss_o += PARTS * TRIALS * (om[j] - grand) * (om[j] - grand);
    for (int i = 0; i < PARTS; i++)
        for (int j = 0; j < OPS; j++) {
            ss_c += TRIALS * (cm[i][j] - grand) * (cm[i][j] - grand);
            for (int k = 0; k < TRIALS; k++)
                ss_e += (x[i][j][k] - cm[i][j]) * (x[i][j][k] - cm[i][j]);
        }
    double ms_p = ss_p / (PARTS - 1), ms_o = ss_o / (OPS - 1);
    double ms_i = (ss_c - ss_p - ss_o) / ((PARTS - 1) * (OPS - 1));
    double ms_e = ss_e / (PARTS * OPS * (TRIALS - 1));
    struct grr g;
    g.repeatability = ms_e;
    g.interaction = fmax(0.0, (ms_i - ms_e) / TRIALS);
    g.op = fmax(0.0, (ms_o - ms_i) / (PARTS * TRIALS));
    g.part = fmax(0.0, (ms_p - ms_i) / (OPS * TRIALS));
    g.reproducibility = g.op + g.interaction;
    return g;
}

/* 10 units x 3 sessions x 3 trials of the mean depth reading (um). Each
 * session mounts each unit once (the swap) and, with remount_each, again
 * before every further trial. */
static struct grr depth_study(const struct sim_params *p, bool remount_each)
{
    static double x[PARTS][OPS][TRIALS];
    struct sim_model *m = sim_model_new(p, 61);
    ck_assert_ptr_nonnull(m);
    struct follow fo;
    follow_init(&fo, m);
    for (int j = 0; j < OPS; j++) {
        ck_assert_int_eq(sim_model_new_session(m, 100 + (uint64_t)j), 0);
        for (int i = 0; i < PARTS; i++) {
            char serial[17];
            snprintf(serial, sizeof serial, "PA-%07d", 900 + i);
            ck_assert_int_eq(sim_pen_new_unit(m, 900 + (uint64_t)i, serial), 0);
            for (int k = 0; k < TRIALS; k++) {
                if (k > 0 && remount_each)
                    ck_assert_int_eq(sim_pen_remount(m), 0);
                struct meas w;
                mount_measured_run(m, &fo, 250, &w);
                x[i][j][k] = w.depth_mm * 1e3;
            }
        }
    }
    follow_free(&fo);
    sim_model_free(m);
    return anova(x);
}

START_TEST(test_crossed_study_reproducibility)
{
    struct sim_params ideal;
    sim_params_default(&ideal);
    struct sim_params msa = mount_msa_params();
    struct grr g0 = depth_study(&ideal, false);
    struct grr g1 = depth_study(&msa, false);
    struct grr g2 = depth_study(&msa, true);
    const struct {
        const char *what;
        const struct grr *g;
    } rows[] = { { "ideal fixture", &g0 },
                 { "msa, one mount/session", &g1 },
                 { "msa, remount/trial", &g2 } };
    for (size_t i = 0; i < 3; i++)
        printf("crossed study 10x3x3, depth (um^2), %-24s part %7.1f  repeatability %6.3f  "
               "reproducibility %6.3f (session %6.3f, session x unit %6.3f)\n",
               rows[i].what, rows[i].g->part, rows[i].g->repeatability, rows[i].g->reproducibility,
               rows[i].g->op, rows[i].g->interaction);
    /* Ideal fixture: trials differ by stroke noise only (5 um / sqrt(30)
     * strokes ~ 0.9 um), and nothing makes sessions differ. */
    ck_assert_double_lt(g0.repeatability, 2.0);
    ck_assert_double_lt(g0.reproducibility, 1.5);
    /* One mount per unit per session: that mount's zero (3 um RMS, 9 um^2)
     * is shared by the session's trials, so it is reproducibility, not
     * repeatability. 18 degrees of freedom: within 1/4..3x of 9. */
    ck_assert_double_lt(g1.repeatability, 2.0);
    ck_assert_double_gt(g1.reproducibility, 9.0 / 4);
    ck_assert_double_lt(g1.reproducibility, 9.0 * 3);
    /* A remount before every trial moves it into repeatability. */
    ck_assert_double_gt(g2.repeatability, 9.0 / 2);
    ck_assert_double_lt(g2.repeatability, 9.0 * 2 + 2);
    /* the units themselves: depth bias 40 um RMS */
    ck_assert_double_gt(g1.part, 300);
}
END_TEST

TCase *mount_tcase(void)
{
    TCase *tc = tcase_create("mount");
    tcase_add_test(tc, test_mount_params);
    tcase_add_test(tc, test_remount_only_at_rest);
    tcase_add_test(tc, test_same_seed_same_study);
    tcase_add_test(tc, test_mount_draws_match_documented_spreads);
    tcase_add_test(tc, test_remount_changes_measurements_as_documented);
    tcase_add_test(tc, test_tare_drift_after_mount);
    tcase_add_test(tc, test_crossed_study_reproducibility);
    tcase_set_timeout(tc, 240);
    return tc;
}
