/* rigctl grr analyse: a study's values from the station database
 * (store/study.h) into the computation (core/grr.h), printed as the AIAG
 * manual's tables or as one JSON object. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/grr.h"
#include "ctl/ctl_grr.h"
#include "report/grr_report.h"
#include "store/study.h"
#include "version/version.h"

/* What the HTML report needs of each measurement analysed. */
#define GRR_REPORT_MAX 32
struct collected {
    size_t n;
    char *name[GRR_REPORT_MAX], *units[GRR_REPORT_MAX];
    double *x[GRR_REPORT_MAX];
    struct grr_data data[GRR_REPORT_MAX];
    struct grr_result res[GRR_REPORT_MAX];
};

static int num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Two-sided comparisons have a tolerance (USL - LSL). */
static double tolerance_of(const cJSON *vals)
{
    const char *cmp = str_of(vals, "comparison");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(vals, "low");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(vals, "high");
    static const char *const two_sided[] = { "GELE", "GTLT", "GELT", "GTLE" };
    for (size_t i = 0; cmp && i < sizeof two_sided / sizeof two_sided[0]; i++)
        if (!strcmp(cmp, two_sided[i]) && cJSON_IsNumber(lo) && cJSON_IsNumber(hi))
            return hi->valuedouble - lo->valuedouble;
    return NAN;
}

static cJSON *num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *row_json(const struct grr_anova_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "df", num(r->df));
    cJSON_AddItemToObject(o, "ss", num(r->ss));
    cJSON_AddItemToObject(o, "ms", num(r->ms));
    cJSON_AddItemToObject(o, "f", num(r->f));
    cJSON_AddItemToObject(o, "p", num(r->p));
    return o;
}

static cJSON *comp_json(const struct grr_component *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "sd", num(c->sd));
    cJSON_AddItemToObject(o, "var", num(c->var));
    cJSON_AddItemToObject(o, "pct_tv", num(c->pct_tv));
    cJSON_AddItemToObject(o, "pct_tolerance", num(c->pct_tol));
    return o;
}

static cJSON *result_json(const char *name, const cJSON *vals, const struct grr_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "measurement", name);
    cJSON_AddItemToObject(o, "step", cJSON_Duplicate(cJSON_GetObjectItem(vals, "step"), 1));
    cJSON_AddItemToObject(o, "units", cJSON_Duplicate(cJSON_GetObjectItem(vals, "units"), 1));
    cJSON_AddNumberToObject(o, "parts", (double)r->parts);
    cJSON_AddNumberToObject(o, "operators", (double)r->operators);
    cJSON_AddNumberToObject(o, "trials", (double)r->trials);
    cJSON_AddItemToObject(o, "mean", num(r->mean));
    cJSON_AddItemToObject(o, "tolerance", num(r->tolerance));
    cJSON_AddNumberToObject(o, "tolerance_sigmas", GRR_TOL_SIGMAS);
    cJSON *an = cJSON_AddObjectToObject(o, "anova");
    cJSON_AddItemToObject(an, "part", row_json(&r->part));
    cJSON_AddItemToObject(an, "operator", row_json(&r->oper));
    cJSON_AddItemToObject(an, "interaction", row_json(&r->inter));
    cJSON_AddItemToObject(an, "repeatability", row_json(&r->error));
    cJSON_AddItemToObject(an, "total", row_json(&r->total));
    cJSON_AddBoolToObject(an, "interaction_pooled", r->pooled);
    cJSON_AddNumberToObject(an, "pool_alpha", r->alpha);
    if (r->pooled) {
        cJSON_AddItemToObject(an, "pooled_error", row_json(&r->pooled_error));
        cJSON_AddItemToObject(an, "f_part_pooled", num(r->f_part_pooled));
        cJSON_AddItemToObject(an, "f_operator_pooled", num(r->f_oper_pooled));
    }
    cJSON *c = cJSON_AddObjectToObject(o, "components");
    const struct grr_component *cs[] = { &r->ev, &r->av, &r->ipo, &r->grr, &r->pv, &r->tv };
    static const char *const cn[] = { "ev", "av", "ipo", "grr", "pv", "tv" };
    for (size_t i = 0; i < 6; i++)
        cJSON_AddItemToObject(c, cn[i], comp_json(cs[i]));
    cJSON_AddNumberToObject(o, "ndc", r->ndc);
    cJSON *rg = cJSON_AddObjectToObject(o, "range_method");
    cJSON_AddBoolToObject(rg, "valid", r->range.valid);
    if (r->range.valid) {
        const struct grr_range *g = &r->range;
        cJSON_AddNumberToObject(rg, "rbarbar", g->rbarbar);
        cJSON_AddNumberToObject(rg, "xdiff", g->xdiff);
        cJSON_AddNumberToObject(rg, "rp", g->rp);
        cJSON_AddNumberToObject(rg, "ucl_r", g->ucl_r);
        cJSON_AddNumberToObject(rg, "ranges_above_ucl", (double)g->ranges_above_ucl);
        cJSON_AddNumberToObject(rg, "k1", g->k1);
        cJSON_AddNumberToObject(rg, "k2", g->k2);
        cJSON_AddNumberToObject(rg, "k3", g->k3);
        const struct grr_component *gs[] = { &g->ev, &g->av, &g->grr, &g->pv, &g->tv };
        static const char *const gn[] = { "ev", "av", "grr", "pv", "tv" };
        for (size_t i = 0; i < 5; i++)
            cJSON_AddItemToObject(rg, gn[i], comp_json(gs[i]));
        cJSON_AddNumberToObject(rg, "ndc", g->ndc);
    }
    return o;
}

static void print_row(const char *name, const struct grr_anova_row *r)
{
    printf("  %-22s %4.0f %12.6g %12.6g", name, r->df, r->ss, r->ms);
    if (isfinite(r->f))
        printf(" %10.4g %8.4f", r->f, r->p);
    printf("\n");
}

static void print_comp(const char *name, const struct grr_component *c)
{
    printf("  %-28s %12.6g %7.2f %%", name, c->sd, c->pct_tv);
    if (isfinite(c->pct_tol))
        printf(" %8.2f %%", c->pct_tol);
    printf("\n");
}

static void print_result(const char *name, const cJSON *vals, const struct grr_result *r)
{
    const char *units = str_of(vals, "units");
    const char *step = str_of(vals, "step");
    printf("\nmeasurement %s%s%s%s%s%s: %zu parts x %zu operators x %zu trials, mean %.6g\n", name,
           units ? " (" : "", units ? units : "", units ? ")" : "", step ? ", step " : "",
           step ? step : "", r->parts, r->operators, r->trials, r->mean);
    if (isfinite(r->tolerance))
        printf("tolerance %.6g (%s %g..%g); %% of tolerance = 6 sigma / tolerance\n", r->tolerance,
               str_of(vals, "comparison"), cJSON_GetObjectItem(vals, "low")->valuedouble,
               cJSON_GetObjectItem(vals, "high")->valuedouble);
    else
        printf("no two-sided limits: no %% of tolerance\n");
    printf("ANOVA method (AIAG), two-way with interaction:\n");
    printf("  %-22s %4s %12s %12s %10s %8s\n", "source", "df", "SS", "MS", "F", "p");
    print_row("part", &r->part);
    print_row("operator", &r->oper);
    print_row("part x operator", &r->inter);
    print_row("repeatability", &r->error);
    print_row("total", &r->total);
    if (r->pooled)
        printf("  interaction p = %.4f >= %.2f: not significant, POOLED into the error term "
               "(MS %.6g, df %.0f)\n",
               r->inter.p, r->alpha, r->pooled_error.ms, r->pooled_error.df);
    else
        printf("  interaction p = %.4f < %.2f: significant, KEPT (not pooled)\n", r->inter.p,
               r->alpha);
    printf("  %-28s %12s %9s %10s\n", "component", "sigma", "%TV", "%tol");
    print_comp("EV repeatability", &r->ev);
    print_comp("AV reproducibility", &r->av);
    print_comp("IPO part x operator", &r->ipo);
    print_comp("GRR", &r->grr);
    print_comp("PV part variation", &r->pv);
    print_comp("TV total variation", &r->tv);
    printf("  ndc = 1.41 PV/GRR = %d\n", r->ndc);
    if (!r->range.valid) {
        printf("average-and-range method: no K constants for this design (2..5 trials and "
               "operators, 2..10 parts)\n");
        return;
    }
    const struct grr_range *g = &r->range;
    printf("average-and-range method (K1 %.4f, K2 %.4f, K3 %.4f): R-bar-bar %.6g, X-diff %.6g, "
           "Rp %.6g, UCL_R %.6g (%zu range%s above)\n",
           g->k1, g->k2, g->k3, g->rbarbar, g->xdiff, g->rp, g->ucl_r, g->ranges_above_ucl,
           g->ranges_above_ucl == 1 ? "" : "s");
    print_comp("EV repeatability", &g->ev);
    print_comp("AV reproducibility", &g->av);
    print_comp("GRR", &g->grr);
    print_comp("PV part variation", &g->pv);
    print_comp("TV total variation", &g->tv);
    printf("  ndc = %d\n", g->ndc);
}

/* One measurement: 0 analysed, -1 said why on stderr. Kept in keep
 * (when given and not full) for the HTML report. */
static int analyse_one(struct store *st, const cJSON *study, const char *name, cJSON *json_out,
                       struct collected *keep)
{
    char err[512], base[256];
    cJSON *vals;
    /* "NAME#K": the K-th occurrence in each run (EOL's three depths) */
    unsigned occ = 0;
    snprintf(base, sizeof base, "%s", name);
    char *hash = strrchr(base, '#');
    if (hash && hash[1] && strspn(hash + 1, "0123456789") == strlen(hash + 1) &&
        strlen(hash + 1) < 4) {
        occ = (unsigned)atoi(hash + 1);
        *hash = '\0';
    }
    if (store_study_values(st, str_of(study, "id"), base, occ, &vals, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return -1;
    }
    size_t P = (size_t)num_of(study, "parts"), O = (size_t)num_of(study, "operators");
    size_t T = (size_t)num_of(study, "trials"), n = P * O * T, have = 0;
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = NAN;
    const cJSON *v;
    cJSON_ArrayForEach (v, cJSON_GetObjectItem(vals, "values")) {
        size_t o = (size_t)num_of(v, "operator") - 1, p = (size_t)num_of(v, "part") - 1;
        size_t t = (size_t)num_of(v, "trial") - 1;
        const cJSON *val = cJSON_GetObjectItem(v, "value");
        if (x && o < O && p < P && t < T && cJSON_IsNumber(val)) {
            x[(o * P + p) * T + t] = val->valuedouble;
            have++;
        }
    }
    int rc = -1;
    struct grr_result r;
    struct grr_data d = { P, O, T, x };
    if (!x) {
        fprintf(stderr, "rigctl: grr: out of memory\n");
    } else if (have < n) {
        fprintf(stderr, "rigctl: grr: %s: %zu of %zu readings: the study is not complete\n", name,
                have, n);
    } else if (grr_analyse(&d, tolerance_of(vals), NAN, &r, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s: %s\n", name, err);
    } else {
        if (json_out)
            cJSON_AddItemToArray(json_out, result_json(name, vals, &r));
        else
            print_result(name, vals, &r);
        rc = 0;
        if (keep && keep->n < GRR_REPORT_MAX) {
            size_t k = keep->n++;
            const char *u = str_of(vals, "units");
            keep->name[k] = strdup(name);
            keep->units[k] = u ? strdup(u) : NULL;
            keep->x[k] = x;
            keep->data[k] = (struct grr_data){ P, O, T, x };
            keep->res[k] = r;
            x = NULL;
        }
    }
    free(x);
    cJSON_Delete(vals);
    return rc;
}

static const char *const *names_of(const cJSON *arr, const char **out, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, (int)i);
        out[i] = cJSON_IsString(v) ? v->valuestring : "?";
    }
    return out;
}

static int write_html(const char *path, const cJSON *study, struct collected *c)
{
    struct grr_report_meas meas[GRR_REPORT_MAX];
    for (size_t i = 0; i < c->n; i++)
        meas[i] = (struct grr_report_meas){ c->name[i], c->units[i], &c->data[i], &c->res[i] };
    const char *ops[GRR_MAX_OPS], *parts[GRR_MAX_PARTS];
    char gen[256];
    snprintf(gen, sizeof gen, "rigctl grr analyse, rig %s (%s)", rig_version(), rig_vcs_commit());
    struct grr_report rep = {
        str_of(study, "id"),
        str_of(study, "sequence_file"),
        str_of(study, "created_utc"),
        names_of(cJSON_GetObjectItem(study, "operator_names"), ops, GRR_MAX_OPS),
        names_of(cJSON_GetObjectItem(study, "part_serials"), parts, GRR_MAX_PARTS),
        meas,
        c->n,
        gen,
    };
    struct html h;
    char err[512];
    html_init(&h);
    int r = grr_report_render(&rep, &h, err, sizeof err);
    if (r == 0)
        r = html_write_file(&h, path, err, sizeof err);
    html_free(&h);
    if (r < 0)
        fprintf(stderr, "rigctl: grr: %s\n", err);
    return r;
}

int ctl_grr_analyse(const char *db_path, const char *study_id, const char *measurement, bool json,
                    const char *html)
{
    static struct collected keep; /* large: not on the stack */
    struct store *st;
    char err[512];
    if (access(db_path, F_OK) < 0) {
        fprintf(stderr, "rigctl: grr: station database %s: %s\n", db_path, strerror(errno));
        return CTL_EXIT_ERROR;
    }
    if (store_open(&st, db_path, err, sizeof err) < 0) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        return CTL_EXIT_ERROR;
    }
    cJSON *study = NULL, *names = NULL;
    int rc = CTL_EXIT_ERROR;
    if (store_study_get(st, study_id, &study, err, sizeof err) < 0 ||
        (!measurement && store_study_measurements(st, study_id, &names, err, sizeof err) < 0)) {
        fprintf(stderr, "rigctl: grr: %s\n", err);
        goto out;
    }
    cJSON *results = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("study %s: %d parts x %d operators x %d trials, sequence %s\n", study_id,
               num_of(study, "parts"), num_of(study, "operators"), num_of(study, "trials"),
               str_of(study, "sequence_file"));
    int cells = cJSON_GetArraySize(cJSON_GetObjectItem(study, "cells")), bad = 0, ok = 0;
    if (measurement) {
        bad += analyse_one(st, study, measurement, results, html ? &keep : NULL) < 0;
        ok += !bad;
    } else {
        /* Only what every run of the study measured: a measurement
         * missing from some runs cannot make a balanced study. */
        const cJSON *m;
        cJSON_ArrayForEach (m, names) {
            if (num_of(m, "runs") != cells)
                continue;
            int occ = num_of(m, "occurrences");
            for (int k = occ > 1 ? 1 : 0; k <= (occ > 1 ? occ : 0); k++) {
                char label[300];
                snprintf(label, sizeof label, k ? "%s#%d" : "%s", str_of(m, "name"), k);
                int r = analyse_one(st, study, label, results, html ? &keep : NULL);
                bad += r < 0;
                ok += r == 0;
            }
        }
        if (ok + bad == 0)
            fprintf(stderr,
                    "rigctl: grr: no measurement was taken in all %d runs of %s: the "
                    "study is not complete\n",
                    cells, study_id);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", study_id);
        cJSON_AddItemToObject(o, "sequence_file",
                              cJSON_Duplicate(cJSON_GetObjectItem(study, "sequence_file"), 1));
        cJSON_AddItemToObject(o, "results", results);
        char *s = cJSON_PrintUnformatted(o);
        if (s)
            printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    }
    rc = ok > 0 && bad == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
    if (rc == CTL_EXIT_OK && html && write_html(html, study, &keep) < 0)
        rc = CTL_EXIT_ERROR;
    else if (rc == CTL_EXIT_OK && html && !json)
        printf("\nreport: %s\n", html);
out:
    for (size_t i = 0; i < keep.n; i++) {
        free(keep.name[i]);
        free(keep.units[i]);
        free(keep.x[i]);
    }
    keep.n = 0;
    cJSON_Delete(study);
    cJSON_Delete(names);
    store_close(st);
    return rc;
}
