/* Checks run records written by rigd (tests/run and docs/RUNS.md figures).
 *
 *   run_check record FILE OUTCOME complete|incomplete [TEXT]
 *       the record parses, has this outcome (ANY = any) and completeness,
 *       every capture attachment exists beside it with the recorded
 *       SHA-256 and sample count, and (optionally) its message or a step
 *       message contains TEXT.
 *   run_check accuracy FILE TRUTH MAX_RATE_PCT MAX_DEPTH_UM
 *       for every steady capture (no start/stop inside) compare the
 *       measured stroke rate and mean depth with the simulator's ground
 *       truth over the strokes whose peak lies in the capture's window;
 *       prints one line per capture and the maxima; fails above the limits.
 * Exit 0 = as expected, 1 = not, 2 = usage / unreadable input.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "digest.h"
#include "record.h"

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
    cJSON_ArrayForEach(step, get(rec, "steps")) {
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
    printf("record %s: %s, %s, %u capture attachment%s verified\n", file, outcome ? outcome : "?",
           complete ? "complete" : "incomplete", captures, captures == 1 ? "" : "s");
    cJSON_Delete(rec);
    return rc;
}

/* Ground truth lines of one rigsim run. */
struct truth {
    double sensor_t0, sensor_rate;
    unsigned sensor_starts;
    double *t_peak, *period, *depth;
    size_t n, cap;
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
            /* Only the first stream start: rigd streams through the run. */
            if (t->sensor_starts++ == 0) {
                t->sensor_t0 = num(j, "t");
                t->sensor_rate = num(j, "rate_hz");
            }
        } else if (!ev && isfinite(num(j, "t_peak"))) {
            if (t->n == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 4096;
                t->t_peak = realloc(t->t_peak, t->cap * sizeof *t->t_peak);
                t->period = realloc(t->period, t->cap * sizeof *t->period);
                t->depth = realloc(t->depth, t->cap * sizeof *t->depth);
                if (!t->t_peak || !t->period || !t->depth) {
                    fclose(f);
                    return -1;
                }
            }
            t->t_peak[t->n] = num(j, "t_peak");
            t->period[t->n] = num(j, "period_s");
            t->depth[t->n] = num(j, "protrusion_mm");
            t->n++;
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return 0;
}

static int cmd_accuracy(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    char err[512];
    cJSON *rec = record_read(argv[2], err, sizeof err);
    struct truth t;
    if (!rec || truth_load(argv[3], &t) < 0) {
        fprintf(stderr, "run_check: %s\n", rec ? "cannot read the truth file" : err);
        return 2;
    }
    double max_rate = atof(argv[4]), max_depth = atof(argv[5]);
    if (t.sensor_starts != 1) {
        fprintf(stderr, "run_check: %u sensor starts in the truth (need exactly 1)\n",
                t.sensor_starts);
        return 1;
    }
    double worst_rate = 0, worst_depth = 0;
    unsigned compared = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, get(rec, "steps")) {
        const cJSON *cap = get(step, "capture");
        const cJSON *an = cap ? get(cap, "analysis") : NULL;
        if (!cJSON_IsObject(an))
            continue;
        /* Spin-up and stop captures are not steady: their rate is not the
         * truth's stroke rate by definition. */
        if (isfinite(num(an, "spinup_ms")) || isfinite(num(an, "stop_ms")))
            continue;
        double rate = num(cap, "rate_hz");
        double w0 = t.sensor_t0 + (num(cap, "first_sample") + 1) / rate;
        double w1 = w0 + num(cap, "samples") / rate;
        double sum_p = 0, sum_d = 0;
        size_t n = 0;
        for (size_t i = 0; i < t.n; i++)
            if (t.t_peak[i] >= w0 && t.t_peak[i] <= w1) {
                sum_p += t.period[i];
                sum_d += t.depth[i];
                n++;
            }
        if (n < 5) {
            fprintf(stderr, "run_check: capture %s: only %zu truth strokes in its window\n",
                    str(cap, "file"), n);
            return 1;
        }
        double true_rate = (double)n / sum_p, true_depth = sum_d / (double)n;
        double m_rate = num(an, "stroke_rate_hz"), m_depth = num(an, "depth_mean_mm");
        double e_rate = fabs(m_rate - true_rate) / true_rate * 100.0;
        double e_depth = fabs(m_depth - true_depth) * 1000.0;
        printf("%-40s rate %9.4f Hz (truth %9.4f, %.4f %%)  depth %.4f mm (truth %.4f, %.2f um)\n",
               str(cap, "file"), m_rate, true_rate, e_rate, m_depth, true_depth, e_depth);
        if (!(e_rate <= worst_rate))
            worst_rate = e_rate;
        if (!(e_depth <= worst_depth))
            worst_depth = e_depth;
        compared++;
    }
    printf("%u captures compared: max rate error %.4f %%, max depth error %.2f um\n", compared,
           worst_rate, worst_depth);
    cJSON_Delete(rec);
    free(t.t_peak);
    free(t.period);
    free(t.depth);
    if (compared == 0)
        return 1;
    return worst_rate <= max_rate && worst_depth <= max_depth ? 0 : 1;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "record") == 0)
        rc = cmd_record(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "accuracy") == 0)
        rc = cmd_accuracy(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: run_check record FILE OUTCOME complete|incomplete [TEXT]\n"
                        "       run_check accuracy FILE TRUTH MAX_RATE_PCT MAX_DEPTH_UM\n");
    return rc;
}
