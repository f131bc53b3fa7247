/* Spec limits and their comparison against a measured value.
 *
 * Comparison types follow NI TestStand (x = measured value):
 *   EQ x == L      NE x != L      GT x > L      LT x < L     GE x >= L    LE x <= L
 *   GTLT lo <  x <  hi      GELE lo <= x <= hi     GELT lo <= x <  hi   GTLE lo < x <= hi
 *   LTGT x <  lo || x >  hi LEGE x <= lo || x >= hi
 *   LEGT x <= lo || x >  hi LTGE x <  lo || x >= hi
 * A limit is either explicit (low/high numbers) or nominal +/- tolerance
 * (absolute, percent or ppm of the nominal; then lo = nominal - tol, hi =
 * nominal + tol and the comparison defaults to GELE). Any limit value may be
 * a reference to a step setpoint ($rate_hz, $depth_mm) resolved at
 * evaluation time. String limits: exact match (STREQ) or a POSIX extended
 * regular expression (MATCH).
 *
 * Marginal band: a PASSing value within the band of any limit is PASS with
 * the marginal flag. The band is absolute (units of the value) or a percent
 * of: the tolerance (nominal form), high - low (two-limit forms) or |L|
 * (single-limit forms). A NaN or infinite value, or a limit that refers to a
 * setpoint not set, is ERROR.
 */
#ifndef RIG_CORE_SPECLIMIT_H
#define RIG_CORE_SPECLIMIT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/outcome.h"

enum lim_cmp {
    LIM_EQ,
    LIM_NE,
    LIM_GT,
    LIM_LT,
    LIM_GE,
    LIM_LE,
    LIM_GTLT,
    LIM_GELE,
    LIM_GELT,
    LIM_GTLE,
    LIM_LTGT,
    LIM_LEGE,
    LIM_LEGT,
    LIM_LTGE,
    LIM_STREQ,
    LIM_MATCH,
    LIM_CMP_COUNT_
};

const char *lim_cmp_str(enum lim_cmp c);
int lim_cmp_from_str(const char *s); /* -1 if unknown */
/* Number of numeric limits the comparison uses: 1, 2, or 0 for strings. */
int lim_cmp_arity(enum lim_cmp c);

/* Setpoints a limit value may refer to. */
enum lim_ref { LIM_REF_NONE, LIM_REF_RATE_HZ, LIM_REF_DEPTH_MM, LIM_REF_COUNT_ };
const char *lim_ref_str(enum lim_ref r); /* "$rate_hz", ... */
int lim_ref_from_str(const char *s);     /* -1 if unknown */

struct lim_value {
    enum lim_ref ref; /* LIM_REF_NONE: use value */
    double value;
};

enum lim_tol { LIM_TOL_NONE, LIM_TOL_ABS, LIM_TOL_PCT, LIM_TOL_PPM };
enum lim_marg { LIM_MARG_NONE, LIM_MARG_ABS, LIM_MARG_PCT };

struct limit {
    enum lim_cmp cmp;
    struct lim_value low, high; /* single-limit comparisons use low */
    bool nominal_form;          /* low/high come from nominal +/- tol */
    struct lim_value nominal;
    enum lim_tol tol_kind;
    double tol;
    enum lim_marg marg_kind;
    double marg;
    char *text; /* STREQ text or MATCH pattern (owned) */
    regex_t re; /* compiled MATCH pattern */
    bool re_ok;
};

/* Current setpoints; NaN = not set. */
struct lim_setpoints {
    double rate_hz, depth_mm;
};

struct lim_eval {
    enum rig_outcome outcome; /* PASS, FAIL or ERROR */
    bool marginal;
    double low, high; /* resolved limits (NaN if unused) */
    char note[160];   /* why not PASS / why marginal */
};

/* Compile text as the MATCH pattern (REG_EXTENDED | REG_NOSUB). Returns 0,
 * or -1 with the regcomp message in err. */
int limit_compile(struct limit *l, char *err, size_t errlen);
void limit_free(struct limit *l);

/* Resolve low/high against setpoints. Returns 0, or -1 with a message if a
 * referenced setpoint is not set. */
int limit_resolve(const struct limit *l, const struct lim_setpoints *sp, double *low, double *high,
                  char *err, size_t errlen);

void limit_eval_number(const struct limit *l, const struct lim_setpoints *sp, double x,
                       struct lim_eval *out);
void limit_eval_string(const struct limit *l, const char *s, struct lim_eval *out);

/* Human text of the limit as resolved, e.g. "GELE [0.85, 1.15]". */
void limit_describe(const struct limit *l, const struct lim_eval *ev, char *buf, size_t len);

#endif
