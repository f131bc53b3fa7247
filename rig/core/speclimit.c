#include "core/speclimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const cmp_names[LIM_CMP_COUNT_] = {
    "EQ",   "NE",   "GT",   "LT",   "GE",   "LE",   "GTLT",  "GELE",
    "GELT", "GTLE", "LTGT", "LEGE", "LEGT", "LTGE", "STREQ", "MATCH",
};

const char *lim_cmp_str(enum lim_cmp c)
{
    return (unsigned)c < LIM_CMP_COUNT_ ? cmp_names[c] : "?";
}

int lim_cmp_from_str(const char *s)
{
    for (int i = 0; i < LIM_CMP_COUNT_; i++)
        if (strcmp(s, cmp_names[i]) == 0)
            return i;
    return -1;
}

int lim_cmp_arity(enum lim_cmp c)
{
    if (c <= LIM_LE)
        return 1;
    if (c <= LIM_LTGE)
        return 2;
    return 0;
}

static const char *const ref_names[LIM_REF_COUNT_] = { "", "$rate_hz", "$depth_mm" };

const char *lim_ref_str(enum lim_ref r)
{
    return (unsigned)r < LIM_REF_COUNT_ ? ref_names[r] : "?";
}

int lim_ref_from_str(const char *s)
{
    for (int i = 1; i < LIM_REF_COUNT_; i++)
        if (strcmp(s, ref_names[i]) == 0)
            return i;
    return -1;
}

/* glibc's regcomp expands repetitions by copying the parsed tree: stacked
 * quantifiers ("1.+++++...") or large nested bounds take gigabytes and
 * seconds (fuzz_spec_file found a 2 GiB one), and spec texts come from
 * clients. MATCH patterns name firmware versions and models: short and
 * simple, so anything beyond these bounds is refused before regcomp. */
#define PATTERN_MAX_LEN   128
#define PATTERN_MAX_BOUND 16
#define PATTERN_MAX_DEPTH 4

static int pattern_check(const char *p, char *err, size_t errlen)
{
    if (strlen(p) > PATTERN_MAX_LEN) {
        snprintf(err, errlen, "pattern longer than %d characters", PATTERN_MAX_LEN);
        return -1;
    }
    bool quantified = false; /* the previous token was a quantifier */
    int depth = 0;
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        bool quantifier = c == '*' || c == '+' || c == '?';
        if (c == '\\' && p[i + 1]) {
            i++; /* an escaped character is a literal */
        } else if (c == '[') {
            /* a bracket expression is one atom; "]" first is a literal */
            size_t j = i + 1 + (p[i + 1] == '^');
            j += p[j] == ']';
            while (p[j] && p[j] != ']')
                j++;
            if (!p[j])
                break; /* unbalanced: regcomp says so */
            i = j;
        } else if (c == '(') {
            if (++depth > PATTERN_MAX_DEPTH) {
                snprintf(err, errlen, "pattern nests groups deeper than %d", PATTERN_MAX_DEPTH);
                return -1;
            }
        } else if (c == ')') {
            depth--;
        } else if (c == '{' && p[i + 1] >= '0' && p[i + 1] <= '9') {
            char *end;
            unsigned long lo = strtoul(p + i + 1, &end, 10), hi = lo;
            if (*end == ',')
                hi = end[1] == '}' ? lo : strtoul(end + 1, &end, 10);
            if (lo > PATTERN_MAX_BOUND || hi > PATTERN_MAX_BOUND) {
                snprintf(err, errlen, "pattern repeats more than %d times", PATTERN_MAX_BOUND);
                return -1;
            }
            quantifier = true;
            while (p[i + 1] && p[i] != '}')
                i++;
        }
        if (quantifier && quantified) {
            snprintf(err, errlen, "pattern stacks quantifiers (\"%.8s\")", p + i - 1);
            return -1;
        }
        quantified = quantifier;
    }
    return 0;
}

int limit_compile(struct limit *l, char *err, size_t errlen)
{
    if (l->re_ok) {
        regfree(&l->re);
        l->re_ok = false;
    }
    if (!l->text) {
        snprintf(err, errlen, "no pattern");
        return -1;
    }
    if (pattern_check(l->text, err, errlen) < 0)
        return -1;
    int rc = regcomp(&l->re, l->text, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &l->re, msg, sizeof msg);
        snprintf(err, errlen, "invalid regular expression: %s", msg);
        return -1;
    }
    l->re_ok = true;
    return 0;
}

void limit_free(struct limit *l)
{
    if (l->re_ok)
        regfree(&l->re);
    l->re_ok = false;
    free(l->text);
    l->text = NULL;
}

static int value_of(const struct lim_value *v, const struct lim_setpoints *sp, double *out,
                    char *err, size_t errlen)
{
    double x = v->value;
    if (v->ref == LIM_REF_RATE_HZ)
        x = sp ? sp->rate_hz : NAN;
    else if (v->ref == LIM_REF_DEPTH_MM)
        x = sp ? sp->depth_mm : NAN;
    if (!isfinite(x)) {
        snprintf(err, errlen, "limit refers to %s but it is not set at this step",
                 lim_ref_str(v->ref));
        return -1;
    }
    *out = x;
    return 0;
}

static double tolerance_abs(const struct limit *l, double nominal)
{
    switch (l->tol_kind) {
    case LIM_TOL_PCT:
        return fabs(nominal) * l->tol / 100.0;
    case LIM_TOL_PPM:
        return fabs(nominal) * l->tol / 1e6;
    case LIM_TOL_ABS:
        return l->tol;
    case LIM_TOL_NONE:
        break;
    }
    return 0;
}

int limit_resolve(const struct limit *l, const struct lim_setpoints *sp, double *low, double *high,
                  char *err, size_t errlen)
{
    *low = *high = NAN;
    if (l->nominal_form) {
        double nom;
        if (value_of(&l->nominal, sp, &nom, err, errlen) < 0)
            return -1;
        double tol = tolerance_abs(l, nom);
        *low = nom - tol;
        *high = nom + tol;
        return 0;
    }
    int arity = lim_cmp_arity(l->cmp);
    if (arity >= 1 && value_of(&l->low, sp, low, err, errlen) < 0)
        return -1;
    if (arity == 2 && value_of(&l->high, sp, high, err, errlen) < 0)
        return -1;
    return 0;
}

static bool passes(enum lim_cmp c, double x, double lo, double hi)
{
    switch (c) {
    case LIM_EQ:
        return x == lo;
    case LIM_NE:
        return x != lo;
    case LIM_GT:
        return x > lo;
    case LIM_LT:
        return x < lo;
    case LIM_GE:
        return x >= lo;
    case LIM_LE:
        return x <= lo;
    case LIM_GTLT:
        return lo < x && x < hi;
    case LIM_GELE:
        return lo <= x && x <= hi;
    case LIM_GELT:
        return lo <= x && x < hi;
    case LIM_GTLE:
        return lo < x && x <= hi;
    case LIM_LTGT:
        return x < lo || x > hi;
    case LIM_LEGE:
        return x <= lo || x >= hi;
    case LIM_LEGT:
        return x <= lo || x > hi;
    case LIM_LTGE:
        return x < lo || x >= hi;
    default:
        return false;
    }
}

static double marginal_band(const struct limit *l, double lo, double hi)
{
    if (l->marg_kind == LIM_MARG_ABS)
        return l->marg;
    if (l->marg_kind != LIM_MARG_PCT)
        return 0;
    if (l->nominal_form)
        return (hi - lo) / 2 * l->marg / 100.0;
    if (lim_cmp_arity(l->cmp) == 2)
        return (hi - lo) * l->marg / 100.0;
    return fabs(lo) * l->marg / 100.0;
}

static void eval_init(struct lim_eval *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = OUTCOME_ERROR;
    out->low = out->high = NAN;
}

void limit_eval_number(const struct limit *l, const struct lim_setpoints *sp, double x,
                       struct lim_eval *out)
{
    eval_init(out);
    if (lim_cmp_arity(l->cmp) == 0) {
        snprintf(out->note, sizeof out->note, "%s needs a string value", lim_cmp_str(l->cmp));
        return;
    }
    if (limit_resolve(l, sp, &out->low, &out->high, out->note, sizeof out->note) < 0)
        return;
    /* The file check can only order two literal limits; one that refers to
     * a setpoint can resolve to an empty band at run time. Judging a pen
     * against that would FAIL it for the spec's mistake: a bad config is
     * ERROR (DESIGN.md "Outcomes"). */
    if (lim_cmp_arity(l->cmp) == 2 && !l->nominal_form && out->low > out->high) {
        snprintf(out->note, sizeof out->note,
                 "limits resolve to low %g above high %g at this setpoint", out->low, out->high);
        return;
    }
    if (!isfinite(x)) {
        snprintf(out->note, sizeof out->note, "value is not a finite number (%g)", x);
        return;
    }
    if (!passes(l->cmp, x, out->low, out->high)) {
        out->outcome = OUTCOME_FAIL;
        snprintf(out->note, sizeof out->note, "%g outside limits", x);
        return;
    }
    out->outcome = OUTCOME_PASS;
    double band = marginal_band(l, out->low, out->high);
    if (band > 0 && l->cmp != LIM_EQ) {
        double dist = fabs(x - out->low);
        if (lim_cmp_arity(l->cmp) == 2)
            dist = fmin(dist, fabs(x - out->high));
        if (dist <= band) {
            out->marginal = true;
            snprintf(out->note, sizeof out->note, "%g within %g of a limit", x, band);
        }
    }
}

void limit_eval_string(const struct limit *l, const char *s, struct lim_eval *out)
{
    eval_init(out);
    if (!s) {
        snprintf(out->note, sizeof out->note, "no value");
        return;
    }
    if (l->cmp == LIM_STREQ) {
        bool eq = l->text && strcmp(s, l->text) == 0;
        out->outcome = eq ? OUTCOME_PASS : OUTCOME_FAIL;
        if (!eq)
            snprintf(out->note, sizeof out->note, "\"%.60s\" is not \"%.60s\"", s,
                     l->text ? l->text : "");
        return;
    }
    if (l->cmp == LIM_MATCH) {
        if (!l->re_ok) {
            snprintf(out->note, sizeof out->note, "pattern not compiled");
            return;
        }
        bool ok = regexec(&l->re, s, 0, NULL, 0) == 0;
        out->outcome = ok ? OUTCOME_PASS : OUTCOME_FAIL;
        if (!ok)
            snprintf(out->note, sizeof out->note, "\"%.60s\" does not match /%.60s/", s, l->text);
        return;
    }
    snprintf(out->note, sizeof out->note, "%s needs a numeric value", lim_cmp_str(l->cmp));
}

void limit_describe(const struct limit *l, const struct lim_eval *ev, char *buf, size_t len)
{
    switch (lim_cmp_arity(l->cmp)) {
    case 0:
        snprintf(buf, len, "%s \"%s\"", lim_cmp_str(l->cmp), l->text ? l->text : "");
        break;
    case 1:
        snprintf(buf, len, "%s %g", lim_cmp_str(l->cmp), ev->low);
        break;
    default:
        snprintf(buf, len, "%s [%g, %g]", lim_cmp_str(l->cmp), ev->low, ev->high);
        break;
    }
}
