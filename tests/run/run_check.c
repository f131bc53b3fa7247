/* Checks run records written by rigd (tests/run and docs/RUNS.md figures).
 *
 *   run_check record FILE OUTCOME complete|incomplete [TEXT]
 *       the record parses, has this outcome (ANY = any) and completeness,
 *       every capture attachment exists beside it with the recorded
 *       SHA-256 and sample count, it recomputes from its attachments to
 *       what it says (rig/core/recompute.h, as `rigctl recompute`), and
 *       (optionally) its message or a step message contains TEXT.
 *   run_check accuracy FILE TRUTH MAX_RATE_PCT MAX_DEPTH_UM
 *                      [MAX_FORCE_PCT MAX_FORCE_P95_PCT MAX_TIMING_MS]
 *       for every capture compare with the simulator's ground truth: the
 *       stroke rate over the strokes the analysis counted (its first and
 *       last steady crossing; the truth's strokes crossing mid-stroke in
 *       that span), mean depth and mean peak force over them, per-stroke
 *       depth and force (the per-stroke attachment, p95 of the errors),
 *       spin-up (drive on -> rotor within 5 %) and stop time (drive off ->
 *       rotor below 5 %); prints a table and the maxima; fails above the
 *       limits. With RUN_CHECK_REANALYSE=1 in the environment the captures
 *       are analysed again by this build (an estimator change evaluated on
 *       stored runs) instead of taking the record's values.
 *   run_check raw-capture IN OUT
 *       rewrite the capture attachment IN (either format) as rig-capture/1
 *       at OUT: raw frames a test can alter byte by byte.
 * Exit 0 = as expected, 1 = not, 2 = usage / unreadable input.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/analysis.h"
#include "core/digest.h"
#include "core/recompute.h"
#include "core/record.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "run_check: ");
    fprintf(stderr, fmt, a ? a : "(null)", b ? b : "(null)");
    fputc('\n', stderr);
    return 1;
}

/* Directory part of path (with trailing '/'), or "" */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path + 1) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

static int check_capture(const char *dir, const cJSON *cap)
{
    const char *file = str(cap, "file");
    const char *sha = str(cap, "sha256");
    if (!file || !sha)
        return fail("capture without file/sha256 (%s %s)", file, sha);
    char path[4096], hex[DIGEST_HEX_LEN + 1];
    snprintf(path, sizeof path, "%s%s", dir, file);
    if (digest_sha256_file(path, hex) < 0)
        return fail("cannot read attachment %s%s", path, "");
    if (strcmp(hex, sha) != 0)
        return fail("attachment %s: SHA-256 differs from the record (%s)", path, hex);
    struct rig_capture c;
    char err[256];
    if (capture_read(path, &c, err, sizeof err) < 0)
        return fail("attachment %s: %s", path, err);
    double samples = num(cap, "samples");
    int rc = 0;
    if (!(samples == (double)c.n))
        rc = fail("attachment %s: sample count differs from the record%s", path, "");
    capture_free(&c);
    return rc;
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle);
}

static int cmd_record(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    const char *file = argv[2], *want = argv[3], *comp = argv[4];
    const char *text = argc > 5 ? argv[5] : NULL;
    char err[512];
    cJSON *rec = record_read(file, err, sizeof err);
    if (!rec) {
        fprintf(stderr, "run_check: %s\n", err);
        return 1;
    }
    int rc = 0;
    const char *outcome = str(rec, "outcome");
    if (strcmp(want, "ANY") != 0 && (!outcome || strcmp(outcome, want) != 0))
        rc = fail("outcome %s, expected %s", outcome, want);
    bool complete = cJSON_IsTrue(get(rec, "complete"));
    if (complete != (strcmp(comp, "complete") == 0))
        rc = fail("record is %s, expected %s", complete ? "complete" : "incomplete", comp);
    if (!complete && !cJSON_IsNull(get(rec, "ended_utc")))
        rc = fail("incomplete record has an end time%s%s", "", "");
    if (!complete && !cJSON_IsNull(get(rec, "outcome")))
        rc = fail("incomplete record carries a verdict (%s)%s", outcome, "");
    if (!str(rec, "id") || !get(rec, "instruments"))
        rc = fail("record lacks id or instruments%s%s", "", "");
    char dir[4096];
    dir_of(file, dir, sizeof dir);
    bool found = !text || contains(str(rec, "message"), text);
    unsigned captures = 0;
    const cJSON *step;
    cJSON_ArrayForEach (step, get(rec, "steps")) {
        const cJSON *cap = get(step, "capture");
        if (cJSON_IsObject(cap) && str(cap, "file")) {
            captures++;
            if (check_capture(dir, cap))
                rc = 1;
        }
        if (text && contains(str(step, "message"), text))
            found = true;
    }
    if (!found)
        rc = fail("no message mentions \"%s\" (run message: %s)", text, str(rec, "message"));
    struct recompute_result rr;
    int r = recompute_record(file, stderr, &rr, err, sizeof err);
    if (r != 0)
        rc = fail("the record does not recompute from its attachments%s%s", r < 0 ? ": " : "",
                  r < 0 ? err : " (above)");
    printf("record %s: %s, %s, %u capture attachment%s verified\n", file, outcome ? outcome : "?",
           complete ? "complete" : "incomplete", captures, captures == 1 ? "" : "s");
    cJSON_Delete(rec);
    return rc;
}

/* Ground truth lines of one rigsim run. */
struct truth_stroke {
    double t_rise, t_peak, period, depth, force;
};
/* rigd restarts the stream to flush each capture's tail (SENSOR.md STOP,
 * docs/DAEMON.md "Captures"); its sample index keeps counting across
 * streams, one index left out at each restart (rig/dev/sh2/stream.c). */
#define MAX_STREAMS 65536
struct truth {
    double sensor_t0[MAX_STREAMS], sensor_rate[MAX_STREAMS];
    double sensor_frames[MAX_STREAMS]; /* frames taken before its stop; NaN: not stopped */
    unsigned sensor_starts, sensor_stops;
    struct truth_stroke *s;
    size_t n, cap;
    double rotor_t[4096]; /* rotor events: time and kind */
    char rotor_what[4096][12];
    size_t nrotor;
};

static int truth_load(const char *path, struct truth *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(t, 0, sizeof *t);
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        if (!j)
            continue;
        const char *ev = str(j, "event");
        if (ev && strcmp(ev, "sensor_start") == 0) {
            if (t->sensor_starts < MAX_STREAMS) {
                t->sensor_t0[t->sensor_starts] = num(j, "t");
                t->sensor_rate[t->sensor_starts] = num(j, "rate_hz");
                t->sensor_frames[t->sensor_starts] = NAN;
            }
            t->sensor_starts++;
        } else if (ev && strcmp(ev, "sensor_stop") == 0) {
            if (t->sensor_starts > 0 && t->sensor_starts <= MAX_STREAMS)
                t->sensor_frames[t->sensor_starts - 1] = num(j, "frames");
            t->sensor_stops++;
        } else if (ev && strcmp(ev, "rotor") == 0 && t->nrotor < 4096) {
            t->rotor_t[t->nrotor] = num(j, "t");
            snprintf(t->rotor_what[t->nrotor++], sizeof t->rotor_what[0], "%s", str(j, "what"));
        } else if (!ev && isfinite(num(j, "t_peak"))) {
            if (t->n == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 4096;
                t->s = realloc(t->s, t->cap * sizeof *t->s);
                if (!t->s) {
                    fclose(f);
                    return -1;
                }
            }
            t->s[t->n++] =
                (struct truth_stroke){ num(j, "t_rise"), num(j, "t_peak"), num(j, "period_s"),
                                       num(j, "protrusion_mm"), num(j, "peak_force_n") };
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return 0;
}

/* The truth time of rigd's sample index `index` (taken at t0 + (n + 1) /
 * rate as frame n of its stream), or NaN. rigd's first stream starts at
 * index 0, each next one a frame after the last of the one before. */
static double truth_time(const struct truth *t, double index)
{
    double base = 0;
    for (unsigned k = 0; k < t->sensor_starts && k < MAX_STREAMS; k++) {
        double frames = t->sensor_frames[k];
        if (!isfinite(frames) || index < base + frames)
            return index >= base ? t->sensor_t0[k] + (index - base + 1) / t->sensor_rate[k] : NAN;
        base += frames + 1;
    }
    return NAN;
}

/* The first rotor event `what` in [a, b], or NaN. */
static double rotor_at(const struct truth *t, const char *what, double a, double b)
{
    for (size_t i = 0; i < t->nrotor; i++)
        if (t->rotor_t[i] >= a && t->rotor_t[i] <= b && strcmp(t->rotor_what[i], what) == 0)
            return t->rotor_t[i];
    return NAN;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double p95(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, cmp_d);
    return v[(size_t)ceil(0.95 * (double)n) - 1];
}

struct worst {
    double rate, depth, depth_p95, force, force_p95, spinup, stop;
};

static void worse(double *w, double e)
{
    if (isfinite(e) && !(fabs(e) <= *w))
        *w = fabs(e);
}

/* The per-stroke attachment's steady strokes compared with the truth
 * strokes nearest in time: depth error (um) and peak-force error (%) p95. */
static void per_stroke(const char *dir, const cJSON *cap, const struct truth *t, double w0,
                       double *depth_p95, double *force_p95)
{
    *depth_p95 = *force_p95 = NAN;
    const char *file = str(cap, "strokes");
    if (!file)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    double de[8192], fe[8192];
    size_t nd = 0, nf = 0;
    char line[256];
    size_t k = 0;
    while (fgets(line, sizeof line, f) && nd < 8192) {
        if (k++ == 0)
            continue; /* header */
        double rise, peak, depth, force = NAN;
        int steady = 0;
        char fs[64] = "";
        if (sscanf(line, "%*u,%lf,%lf,%lf,%63[^,],%d", &rise, &peak, &depth, fs, &steady) < 4 &&
            sscanf(line, "%*u,%lf,%lf,%lf,,%d", &rise, &peak, &depth, &steady) < 4)
            continue;
        if (fs[0])
            force = atof(fs);
        if (!steady)
            continue;
        double tr = w0 + rise;
        const struct truth_stroke *best = NULL;
        for (size_t i = 0; i < t->n; i++)
            if (!best || fabs(t->s[i].t_rise - tr) < fabs(best->t_rise - tr))
                best = &t->s[i];
        if (!best || fabs(best->t_rise - tr) > 0.25 * best->period)
            continue;
        de[nd++] = fabs(depth - best->depth) * 1000.0;
        if (isfinite(force) && best->force > 0)
            fe[nf++] = fabs(force - best->force) / best->force * 100.0;
    }
    fclose(f);
    *depth_p95 = p95(de, nd);
    *force_p95 = p95(fe, nf);
}

/* Replace every capture's analysis in rec by this build's (and its
 * per-stroke file by one in tmpdir, named by absolute path). */
static unsigned reanalyse(cJSON *rec, const char *dir, const char *tmpdir)
{
    cJSON *step;
    unsigned k = 0;
    cJSON_ArrayForEach (step, cJSON_GetObjectItemCaseSensitive(rec, "steps")) {
        cJSON *cap = cJSON_GetObjectItemCaseSensitive(step, "capture");
        const char *file = str(cap, "file");
        if (!file)
            continue;
        char path[4096], err[256];
        snprintf(path, sizeof path, "%s%s", dir, file);
        struct rig_capture c;
        if (capture_read(path, &c, err, sizeof err) < 0)
            continue;
        const cJSON *sp = get(step, "setpoints");
        struct an_input in = {
            .force_un = c.force_un,
            .disp_nm = c.disp_nm,
            .n = c.n,
            .rate_hz = c.rate_hz,
            .flags = c.flags & AN_F_KNOWN,
            .start_index = (int64_t)num(cap, "start_index"),
            .stop_index = (int64_t)num(cap, "stop_index"),
            .set_rate_hz = isfinite(num(sp, "rate_hz")) ? num(sp, "rate_hz") : 0,
            .set_depth_mm = num(sp, "depth_mm"),
        };
        in.strokes_cap = c.n / 2 + 1;
        in.strokes_out = malloc(in.strokes_cap * sizeof *in.strokes_out);
        struct an_result an;
        if (in.strokes_out && an_analyse(&in, &an) == 0) {
            cJSON *now = cJSON_CreateObject();
            record_put_analysis(now, &an, c.rate_hz);
            char *text = cJSON_PrintUnformatted(now);
            cJSON *back = text ? cJSON_Parse(text) : NULL;
            free(text);
            cJSON_Delete(now);
            if (back) {
                cJSON_ReplaceItemInObjectCaseSensitive(
                    cap, "analysis", cJSON_DetachItemFromObjectCaseSensitive(back, "analysis"));
                cJSON_Delete(back);
            }
            char *csv =
                strokes_csv(in.strokes_out,
                            an.strokes < in.strokes_cap ? an.strokes : in.strokes_cap, c.rate_hz);
            char csvpath[4200];
            snprintf(csvpath, sizeof csvpath, "%s/strokes%u.csv", tmpdir, ++k);
            FILE *f = csv ? fopen(csvpath, "w") : NULL;
            if (f) {
                fputs(csv, f);
                fclose(f);
                cJSON_ReplaceItemInObjectCaseSensitive(cap, "strokes", cJSON_CreateString(csvpath));
            }
            free(csv);
        }
        free(in.strokes_out);
        capture_free(&c);
    }
    return k;
}

static int cmd_accuracy(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    char err[512];
    cJSON *rec = record_read(argv[2], err, sizeof err);
    struct truth *t = calloc(1, sizeof *t);
    if (!rec || !t || truth_load(argv[3], t) < 0) {
        fprintf(stderr, "run_check: %s\n", rec ? "cannot read the truth file" : err);
        return 2;
    }
    /* limits: rate %, mean depth um [, mean force %, force p95 %, timing ms] */
    double lim[5] = { atof(argv[4]), atof(argv[5]), argc > 6 ? atof(argv[6]) : INFINITY,
                      argc > 7 ? atof(argv[7]) : INFINITY, argc > 8 ? atof(argv[8]) : INFINITY };
    if (t->sensor_starts < 1 || t->sensor_starts > MAX_STREAMS) {
        fprintf(stderr, "run_check: %u sensor starts in the truth (need 1..%d)\n", t->sensor_starts,
                MAX_STREAMS);
        return 1;
    }
    char dir[4096];
    dir_of(argv[2], dir, sizeof dir);
    char tmpdir[] = "/tmp/run-check-XXXXXX";
    const char *re = getenv("RUN_CHECK_REANALYSE");
    unsigned csvs = 0;
    bool reanalysed = re && strcmp(re, "1") == 0 && mkdtemp(tmpdir);
    if (reanalysed) {
        csvs = reanalyse(rec, dir, tmpdir);
        dir[0] = '\0'; /* the per-stroke files are named by absolute path now */
    }
    struct worst w = { 0 };
    unsigned compared = 0;
    printf("%-28s %9s %9s %9s %9s %9s %9s %9s\n", "capture", "rate %", "depth um", "d p95 um",
           "force %", "f p95 %", "spinup ms", "stop ms");
    const cJSON *step;
    cJSON_ArrayForEach (step, get(rec, "steps")) {
        const cJSON *cap = get(step, "capture");
        const cJSON *an = cap ? get(cap, "analysis") : NULL;
        if (!cJSON_IsObject(an) || !isfinite(num(an, "rate_periods")))
            continue;
        double rate = num(cap, "rate_hz");
        double w0 = truth_time(t, num(cap, "first_sample"));
        double w1 = w0 + num(cap, "samples") / rate;
        if (!isfinite(w0)) {
            fprintf(stderr, "run_check: capture %s: sample %g in no stream of the truth\n",
                    str(cap, "file"), num(cap, "first_sample"));
            return 1;
        }
        /* The rate as the analysis defines it: periods between the rising
         * crossings of its first and last steady stroke. The truth's
         * strokes crossing (t_rise) in that span, by the same definition. */
        double a = w0 + num(an, "rate_first_s"), b = w0 + num(an, "rate_last_s");
        double tol = 0.25 / num(an, "stroke_rate_hz");
        size_t first = SIZE_MAX, last = 0, n = 0;
        double sum_d = 0, sum_f = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->s[i].t_rise >= a - tol && t->s[i].t_rise <= b + tol) {
                if (first == SIZE_MAX)
                    first = i;
                last = i;
                sum_d += t->s[i].depth;
                sum_f += t->s[i].force;
                n++;
            }
        if (n < 3) {
            fprintf(stderr, "run_check: capture %s: only %zu truth strokes in its window\n",
                    str(cap, "file"), n);
            return 1;
        }
        double true_rate = (double)(n - 1) / (t->s[last].t_rise - t->s[first].t_rise);
        double e_rate = (num(an, "stroke_rate_hz") - true_rate) / true_rate * 100.0;
        if (fabs(num(an, "rate_periods") - (double)(n - 1)) > 0.5)
            printf("  (%s: %g periods measured, %zu in the truth)\n", str(cap, "file"),
                   num(an, "rate_periods"), n - 1);
        double e_depth = (num(an, "depth_mean_mm") - sum_d / (double)n) * 1000.0;
        double e_force = sum_f > 0 ? (num(an, "peak_force_mean_n") - sum_f / (double)n) /
                                         (sum_f / (double)n) * 100.0
                                   : NAN;
        double dp95, fp95;
        per_stroke(dir, cap, t, w0, &dp95, &fp95);
        double e_up = NAN, e_stop = NAN;
        if (isfinite(num(an, "spinup_ms"))) {
            double on = rotor_at(t, "drive_on", w0, w1), band = rotor_at(t, "in_band", w0, w1);
            e_up = num(an, "spinup_ms") - (band - on) * 1000.0;
        }
        if (isfinite(num(an, "stop_ms"))) {
            double off = rotor_at(t, "drive_off", w0, w1), slow = rotor_at(t, "below_5pct", w0, w1);
            e_stop = num(an, "stop_ms") - (slow - off) * 1000.0;
        }
        printf("%-28.28s %+9.4f %+9.3f %9.3f %+9.3f %9.3f %+9.3f %+9.3f\n", str(cap, "file"),
               e_rate, e_depth, dp95, e_force, fp95, e_up, e_stop);
        /* spin-up and stop captures are not steady: their rate is judged
         * over few strokes; still compared, by the same definition */
        worse(&w.rate, e_rate);
        worse(&w.depth, e_depth);
        worse(&w.depth_p95, dp95);
        worse(&w.force, e_force);
        worse(&w.force_p95, fp95);
        worse(&w.spinup, e_up);
        worse(&w.stop, e_stop);
        compared++;
    }
    printf("%u captures: max |error| rate %.4f %%, mean depth %.3f um, depth p95 %.2f um, "
           "mean peak force %.3f %%, force p95 %.2f %%, spin-up %.3f ms, stop %.3f ms\n",
           compared, w.rate, w.depth, w.depth_p95, w.force, w.force_p95, w.spinup, w.stop);
    cJSON_Delete(rec);
    free(t->s);
    free(t);
    for (unsigned i = 1; i <= csvs; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s/strokes%u.csv", tmpdir, i);
        unlink(p);
    }
    if (reanalysed)
        rmdir(tmpdir);
    if (compared == 0)
        return 1;
    return w.rate <= lim[0] && w.depth <= lim[1] && w.force <= lim[2] && w.force_p95 <= lim[3] &&
                   w.spinup <= lim[4] && w.stop <= lim[4]
               ? 0
               : 1;
}

static int cmd_raw_capture(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    struct rig_capture c;
    char err[256], sha[DIGEST_HEX_LEN + 1];
    if (capture_read(argv[2], &c, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    unlink(argv[3]);
    int rc = capture_write(argv[3], &c, sha, err, sizeof err);
    capture_free(&c);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "record") == 0)
        rc = cmd_record(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "accuracy") == 0)
        rc = cmd_accuracy(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "raw-capture") == 0)
        rc = cmd_raw_capture(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: run_check record FILE OUTCOME complete|incomplete [TEXT]\n"
                        "       run_check accuracy FILE TRUTH MAX_RATE_PCT MAX_DEPTH_UM\n"
                        "                 [MAX_FORCE_PCT MAX_FORCE_P95_PCT MAX_TIMING_MS]\n"
                        "       run_check raw-capture IN OUT\n");
    return rc;
}
