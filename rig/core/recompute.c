/* Recomputing a run record (see recompute.h). */
#include "core/recompute.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/digest.h"
#include "core/measure.h"
#include "core/quantity.h"
#include "core/rec.h"
#include "core/record.h"
#include "core/spec.h"

#define MAX_ATTACHMENT (64u << 20)

struct rc {
    FILE *out;
    struct recompute_result *res;
    char dir[4096];  /* the record's directory, with '/' */
    char where[160]; /* what is being checked, for the lines */
    struct rig_spec *spec;
};

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

static void differ(struct rc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void differ(struct rc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->out, "%s: ", c->where);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    va_end(ap);
    c->res->differences++;
}

/* A JSON value as one line of text (numbers exactly). */
static void show(const cJSON *v, char *buf, size_t len)
{
    if (!v)
        snprintf(buf, len, "(absent)");
    else if (cJSON_IsNumber(v)) {
        for (int digits = 15; digits <= 17; digits++) { /* exact, and short */
            snprintf(buf, len, "%.*g", digits, v->valuedouble);
            if (strtod(buf, NULL) == v->valuedouble)
                break;
        }
    } else if (cJSON_IsString(v))
        snprintf(buf, len, "\"%.100s\"", v->valuestring);
    else if (cJSON_IsNull(v))
        snprintf(buf, len, "null");
    else if (cJSON_IsBool(v))
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else {
        char *p = cJSON_PrintUnformatted(v);
        snprintf(buf, len, "%.120s", p ? p : "?");
        free(p);
    }
}

/* o as the record would read back (its exact numbers are raw text until
 * printed); o is consumed. NULL if out of memory. */
static cJSON *as_read_back(cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON_Delete(o);
    return back;
}

/* Compare member `key` of recorded and recomputed objects; a line if they
 * differ (numbers bit for bit; both NaN-as-null agree). */
static void compare_member(struct rc *c, const char *prefix, const cJSON *rec, const cJSON *now,
                           const char *key)
{
    const cJSON *a = get(rec, key), *b = get(now, key);
    bool same;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        same = a->valuedouble == b->valuedouble;
    else if (a && b)
        same = cJSON_Compare(a, b, true);
    else
        same = !a && !b;
    if (same)
        return;
    char ra[160], rb[160], rel[48] = "";
    show(a, ra, sizeof ra);
    show(b, rb, sizeof rb);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble != 0)
        snprintf(rel, sizeof rel, " (%+.3g %%)",
                 (b->valuedouble - a->valuedouble) / fabs(a->valuedouble) * 100);
    differ(c, "%s%s: recorded %s, recomputed %s%s", prefix, key, ra, rb, rel);
}

/* Every member of either object. */
static void compare_objects(struct rc *c, const char *prefix, const cJSON *rec, const cJSON *now)
{
    const cJSON *m;
    cJSON_ArrayForEach (m, now)
        compare_member(c, prefix, rec, now, m->string);
    cJSON_ArrayForEach (m, rec)
        if (!get(now, m->string))
            compare_member(c, prefix, rec, now, m->string);
}

/* The record's attachment obj[key] (a file name beside the record) with
 * its SHA-256 obj[sha_key]: malloc'd contents (NUL-terminated), or NULL
 * after saying why. */
static char *read_attachment(struct rc *c, const cJSON *obj, const char *key, const char *sha_key,
                             size_t *len_out)
{
    const char *name = str(obj, key), *sha = str(obj, sha_key);
    if (!name || !sha) {
        differ(c, "%s: not attached", key);
        return NULL;
    }
    if (strchr(name, '/')) {
        differ(c, "%s: \"%s\" is not a file beside the record", key, name);
        return NULL;
    }
    char path[4400];
    snprintf(path, sizeof path, "%s%s", c->dir, name);
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(MAX_ATTACHMENT + 1) : NULL;
    size_t n = buf ? fread(buf, 1, MAX_ATTACHMENT + 1, f) : 0;
    if (f)
        fclose(f);
    if (!buf || n > MAX_ATTACHMENT) {
        differ(c, "%s: cannot read %s", key, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    char hex[DIGEST_HEX_LEN + 1];
    digest_sha256_buf(buf, n, hex);
    if (strcmp(hex, sha) != 0) {
        differ(c, "%s: %s has SHA-256 %s, the record says %s", key, name, hex, sha);
        free(buf);
        return NULL;
    }
    *len_out = n;
    return buf;
}

static bool load_spec(struct rc *c, const cJSON *rec)
{
    const cJSON *spec = get(rec, "spec");
    snprintf(c->where, sizeof c->where, "spec");
    size_t len;
    char *text = read_attachment(c, spec, "attachment", "attachment_sha256", &len);
    if (!text)
        return false;
    const char *used = str(spec, "sha256");
    char hex[DIGEST_HEX_LEN + 1];
    digest_sha256_buf(text, len, hex);
    if (!used || strcmp(used, hex) != 0)
        differ(c, "the attached spec (SHA-256 %s) is not the one the run used (%s)", hex,
               used ? used : "none recorded");
    struct rig_problems pr;
    problems_init(&pr);
    c->spec = spec_parse(str(spec, "attachment"), text, len, &pr);
    if (!c->spec)
        differ(c, "the attached spec does not load: %s",
               pr.count && pr.msg[0] ? pr.msg[0] : "invalid");
    problems_free(&pr);
    free(text);
    const cJSON *seq = get(rec, "sequence");
    snprintf(c->where, sizeof c->where, "sequence");
    char *stext = read_attachment(c, seq, "attachment", "attachment_sha256", &len);
    if (stext) {
        digest_sha256_buf(stext, len, hex);
        const char *sused = str(seq, "sha256");
        if (!sused || strcmp(sused, hex) != 0)
            differ(c, "the attached sequence (SHA-256 %s) is not the one the run used (%s)", hex,
                   sused ? sused : "none recorded");
    }
    free(stext);
    return c->spec != NULL;
}

/* Analyse the step's capture again; *an valid when true. */
static bool recompute_capture(struct rc *c, const cJSON *step, const cJSON *cap,
                              struct an_result *an)
{
    const char *file = str(cap, "file");
    if (!file) {
        differ(c, "capture not attached: its values cannot be recomputed");
        return false;
    }
    if (get(cap, "pruned_utc")) {
        /* deleted on purpose (rec_prune): not a mismatch, and nothing to
         * recompute from; its per-stroke file and hashes stay checked */
        fprintf(c->out, "%s: capture pruned by retention (%s): its values are as recorded\n",
                c->where, str(cap, "pruned_utc") ? str(cap, "pruned_utc") : "?");
        c->res->pruned++;
        size_t clen;
        free(read_attachment(c, cap, "strokes", "strokes_sha256", &clen));
        return false;
    }
    size_t len;
    char *bytes = read_attachment(c, cap, "file", "sha256", &len);
    bool attached = bytes != NULL;
    free(bytes); /* (hash checked; capture_read parses the file) */
    if (!attached)
        return false;
    char path[4400], err[256];
    snprintf(path, sizeof path, "%s%s", c->dir, file);
    struct rig_capture rc;
    if (capture_read(path, &rc, err, sizeof err) < 0) {
        differ(c, "%s", err);
        return false;
    }
    /* the samples themselves, whatever the file's format (docs/RECORD.md) */
    const char *samples_sha = str(cap, "samples_sha256");
    char hex[DIGEST_HEX_LEN + 1];
    if (samples_sha && capture_samples_sha256(&rc, hex) < 0) {
        differ(c, "cannot hash the samples of %s", file);
    } else if (samples_sha && strcmp(hex, samples_sha) != 0) {
        /* and analysed all the same: the lines below show what they change */
        differ(c, "samples of %s have SHA-256 %s, the record says %s", file, hex, samples_sha);
    }
    const cJSON *sp = get(step, "setpoints");
    double start = num(cap, "start_index"), stop = num(cap, "stop_index");
    double set_rate = num(sp, "rate_hz");
    struct an_input in = {
        .force_un = rc.force_un,
        .disp_nm = rc.disp_nm,
        .n = rc.n,
        .rate_hz = rc.rate_hz,
        .flags = rc.flags & AN_F_KNOWN,
        .start_index = isfinite(start) ? (int64_t)start : -1,
        .stop_index = isfinite(stop) ? (int64_t)stop : -1,
        .set_rate_hz = isfinite(set_rate) ? set_rate : 0,
        .set_depth_mm = num(sp, "depth_mm"),
    };
    if (!isfinite(start) || !isfinite(stop))
        differ(c, "the record lacks the start/stop command's sample (start_index, stop_index)");
    in.strokes_cap = rc.n / 2 + 1;
    in.strokes_out = malloc(in.strokes_cap * sizeof *in.strokes_out);
    bool ok = in.strokes_out && an_analyse(&in, an) == 0;
    if (!ok) {
        differ(c, "cannot analyse %s: %s", file, in.strokes_out ? an->error : "out of memory");
    } else {
        c->res->captures++;
        cJSON *now = cJSON_CreateObject();
        if (now) {
            cJSON_AddNumberToObject(now, "samples", (double)rc.n);
            cJSON_AddNumberToObject(now, "rate_hz", rc.rate_hz);
            cJSON_AddNumberToObject(now, "first_sample", (double)rc.first_sample);
            record_put_analysis(now, an, rc.rate_hz);
            now = as_read_back(now);
        }
        if (now) {
            compare_member(c, "", cap, now, "samples");
            compare_member(c, "", cap, now, "rate_hz");
            compare_member(c, "", cap, now, "first_sample");
            compare_member(c, "", cap, now, "flags");
            compare_member(c, "", cap, now, "error");
            compare_objects(c, "analysis.", get(cap, "analysis"), get(now, "analysis"));
            cJSON_Delete(now);
        }
        size_t nst = an->strokes < in.strokes_cap ? an->strokes : in.strokes_cap;
        char *csv = strokes_csv(in.strokes_out, nst, rc.rate_hz);
        size_t clen;
        char *old = read_attachment(c, cap, "strokes", "strokes_sha256", &clen);
        if (csv && old && (clen != strlen(csv) || memcmp(csv, old, clen) != 0))
            differ(c, "per-stroke values (%s) differ from the recomputed ones",
                   str(cap, "strokes"));
        free(csv);
        free(old);
    }
    free(in.strokes_out);
    capture_free(&rc);
    return ok;
}

static bool rig_problem(const cJSON *m)
{
    const char *o = str(m, "outcome"), *n = str(m, "note");
    return o && n && strcmp(o, "ERROR") == 0 && strncmp(n, "rig problem:", 12) == 0;
}

/* Judge the step's measurements again; returns the worst outcome. */
static int outcome_of(const cJSON *o, const char *key);

static enum rig_outcome rejudge(struct rc *c, const cJSON *step, const struct an_result *an,
                                bool *marginal)
{
    bool pruned = get(get(step, "capture"), "pruned_utc") != NULL;
    enum rig_outcome worst = OUTCOME_PASS;
    const cJSON *sp = get(step, "setpoints");
    struct lim_setpoints lsp = { .rate_hz = num(sp, "rate_hz"), .depth_mm = num(sp, "depth_mm") };
    const cJSON *m;
    cJSON_ArrayForEach (m, get(step, "measurements")) {
        const char *name = str(m, "name");
        char base[160];
        snprintf(base, sizeof base, "%s", c->where);
        snprintf(c->where, sizeof c->where, "%.100s measurement %.40s", base, name ? name : "?");
        const struct spec_measurement *sm = name && c->spec ? spec_find(c->spec, name) : NULL;
        if (!sm) {
            differ(c, "not in the attached spec");
        } else {
            enum q_source src = quantity_info(sm->quantity)->source;
            bool from_capture = src != QS_IDENTITY && src != QS_STATUS;
            if (from_capture && !an && pruned) {
                /* the capture is gone by policy: the recorded judgement stands */
                int o = outcome_of(m, "outcome");
                if (o >= 0)
                    worst = outcome_worse(worst, (enum rig_outcome)o);
                *marginal |= cJSON_IsTrue(get(m, "marginal"));
            } else if (from_capture && !an) {
                differ(c, "no capture to recompute it from");
            } else {
                struct measure_src v = { .an = an, .recorded = from_capture ? NULL : m };
                struct lim_eval ev;
                char why[160];
                struct rec_measurement rm;
                cJSON *now = NULL;
                if (measure_judge(sm, &v, &lsp, &ev, why, sizeof why, &rm) == 0) {
                    now = rec_measurement_to_json(&rm);
                    rec_measurement_free(&rm);
                }
                if (now && rig_problem(m) && ev.outcome == OUTCOME_FAIL) {
                    /* the rig took the blame for this FAIL (docs/RECORD.md) */
                    ev.outcome = OUTCOME_ERROR;
                    cJSON_ReplaceItemInObjectCaseSensitive(now, "outcome",
                                                           cJSON_CreateString("ERROR"));
                    cJSON_DeleteItemFromObjectCaseSensitive(now, "note");
                    cJSON_AddStringToObject(now, "note", str(m, "note"));
                }
                now = as_read_back(now);
                if (now) {
                    c->res->measurements++;
                    compare_objects(c, "", m, now);
                    worst = outcome_worse(worst, ev.outcome);
                    *marginal |= ev.marginal;
                }
                cJSON_Delete(now);
            }
        }
        snprintf(c->where, sizeof c->where, "%s", base);
    }
    return worst;
}

static int outcome_of(const cJSON *o, const char *key)
{
    const char *s = str(o, key);
    return s ? outcome_from_str(s) : -1;
}

static void check_steps(struct rc *c, const cJSON *rec)
{
    enum rig_outcome run = OUTCOME_PASS;
    bool run_marginal = false;
    const cJSON *step;
    cJSON_ArrayForEach (step, get(rec, "steps")) {
        int recorded = outcome_of(step, "outcome");
        double index = num(step, "index");
        snprintf(c->where, sizeof c->where, "step %.0f (%.60s)", index,
                 str(step, "path") ? str(step, "path") : "?");
        if (recorded == OUTCOME_SKIPPED || !isfinite(index))
            continue;
        c->res->steps++;
        const cJSON *cap = get(step, "capture");
        struct an_result an;
        bool have_an = false;
        if (cJSON_IsObject(cap)) {
            char base[160];
            snprintf(base, sizeof base, "%s", c->where);
            snprintf(c->where, sizeof c->where, "%.100s %.50s", base,
                     str(cap, "file") ? str(cap, "file") : "capture");
            have_an = recompute_capture(c, step, cap, &an);
            snprintf(c->where, sizeof c->where, "%s", base);
        }
        bool marginal = false;
        enum rig_outcome worst = rejudge(c, step, have_an ? &an : NULL, &marginal);
        if (recorded < 0) {
            differ(c, "no outcome recorded");
            continue;
        }
        /* A step is at least as bad as its worst measurement (its actions
         * can make it worse, which the record alone cannot replay). */
        if (outcome_worse((enum rig_outcome)recorded, worst) != (enum rig_outcome)recorded)
            differ(c, "outcome: recorded %s, its measurements recompute to %s",
                   outcome_str((enum rig_outcome)recorded), outcome_str(worst));
        if (recorded == OUTCOME_PASS && worst == OUTCOME_PASS &&
            cJSON_IsTrue(get(step, "marginal")) != marginal)
            differ(c, "marginal: recorded %s, recomputed %s",
                   cJSON_IsTrue(get(step, "marginal")) ? "true" : "false",
                   marginal ? "true" : "false");
        if (!cJSON_IsTrue(get(step, "superseded"))) {
            run = outcome_worse(run, (enum rig_outcome)recorded);
            run_marginal |= cJSON_IsTrue(get(step, "marginal"));
        }
    }
    snprintf(c->where, sizeof c->where, "run");
    if (c->res->incomplete)
        return; /* no verdict yet */
    int recorded = outcome_of(rec, "outcome");
    if (recorded < 0)
        differ(c, "no outcome recorded");
    else if (outcome_worse((enum rig_outcome)recorded, run) != (enum rig_outcome)recorded)
        differ(c, "outcome: recorded %s, its steps make it %s",
               outcome_str((enum rig_outcome)recorded), outcome_str(run));
    else if (recorded == OUTCOME_PASS && cJSON_IsTrue(get(rec, "marginal")) != run_marginal)
        differ(c, "marginal: recorded %s, its steps say %s",
               cJSON_IsTrue(get(rec, "marginal")) ? "true" : "false",
               run_marginal ? "true" : "false");
}

int recompute_record(const char *record_path, FILE *out, struct recompute_result *res, char *err,
                     size_t errlen)
{
    memset(res, 0, sizeof *res);
    cJSON *rec = record_read(record_path, err, errlen);
    if (!rec)
        return -1;
    struct rc c = { .out = out, .res = res };
    const char *slash = strrchr(record_path, '/');
    size_t n = slash ? (size_t)(slash - record_path + 1) : 0;
    if (n >= sizeof c.dir)
        n = sizeof c.dir - 1;
    memcpy(c.dir, record_path, n);
    c.dir[n] = '\0';
    res->incomplete = !cJSON_IsTrue(get(rec, "complete"));
    load_spec(&c, rec);
    check_steps(&c, rec);
    spec_free(c.spec);
    cJSON_Delete(rec);
    return res->differences ? 1 : 0;
}
