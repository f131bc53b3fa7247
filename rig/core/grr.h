/* Gauge R&R (repeatability and reproducibility) of a crossed study: every
 * operator measures every part the same number of times. Pure
 * computation, no I/O: the caller reads the study (rigctl grr analyse
 * reads the station database) and hands over a balanced table.
 *
 * Contract:
 *  - Data: x[(o * parts + p) * trials + t] is operator o's trial t on part
 *    p; every cell has `trials` finite values (a missing or non-finite
 *    value is -EINVAL: the caller decides what an unfinished study is).
 *    parts >= 2, operators >= 2, trials >= 2.
 *  - ANOVA method (AIAG MSA, 4th edition, chapter III): two-way crossed
 *    ANOVA, random effects, with the part x operator interaction. When the
 *    interaction's F test has p >= pool_alpha (AIAG: 0.25) the interaction
 *    is pooled into the error term and its component is 0 (out->pooled);
 *    else it is kept. Negative variance components are set to 0, as the
 *    manual does. All figures are standard deviations (sigma) or
 *    variances, never 5.15 or 6 sigma spreads: %TV is a ratio of sigmas,
 *    %tolerance uses GRR_TOL_SIGMAS (6) sigma over the tolerance.
 *  - Average-and-range method: the manual's K1 (trials), K2 (operators),
 *    K3 (parts) = 1/d2* constants; given for 2..5 trials and operators
 *    and 2..10 parts (out->range.valid false otherwise).
 *  - ndc = 1.41 PV / GRR truncated to an integer, at least 1 (AIAG);
 *    0 when GRR is 0 (undefined).
 * Returns 0 or -EINVAL with a message in err.
 */
#ifndef RIG_CORE_GRR_H
#define RIG_CORE_GRR_H

#include <stdbool.h>
#include <stddef.h>

#define GRR_POOL_ALPHA  0.25 /* AIAG: pool the interaction when p >= this */
#define GRR_TOL_SIGMAS  6.0  /* %tolerance = 100 * 6 sigma / (USL - LSL) */
#define GRR_MAX_PARTS   100
#define GRR_MAX_OPS     10
#define GRR_MAX_TRIALS  10
#define GRR_RANGE_PARTS 10 /* K3 is tabulated up to 10 parts */

struct grr_data {
    size_t parts, operators, trials;
    const double *x; /* parts * operators * trials values, layout above */
};

/* One ANOVA line. f and p are NaN where the line has none (error, total). */
struct grr_anova_row {
    double df, ss, ms, f, p;
};

/* Components as sigma, their share of TV (%) and of the tolerance (%,
 * NaN without a tolerance). */
struct grr_component {
    double var, sd, pct_tv, pct_tol;
};

struct grr_range {
    bool valid;
    double rbar[GRR_MAX_OPS], xbar[GRR_MAX_OPS]; /* per operator */
    double rbarbar, xdiff, rp, d4, ucl_r;
    double k1, k2, k3;
    struct grr_component ev, av, grr, pv, tv;
    int ndc;
    size_t ranges_above_ucl; /* cells whose range is beyond UCL_R */
};

struct grr_result {
    size_t parts, operators, trials;
    double mean;
    /* the table with interaction; F of part and operator over MS(interaction) */
    struct grr_anova_row part, oper, inter, error, total;
    bool pooled;                       /* interaction pooled into the error term */
    double alpha;                      /* the pooling level used */
    struct grr_anova_row pooled_error; /* when pooled: interaction + error */
    double f_part_pooled, p_part_pooled, f_oper_pooled, p_oper_pooled;
    struct grr_component ev, av, ipo, grr, pv, tv;
    int ndc;
    double tolerance; /* USL - LSL, NaN if none */
    struct grr_range range;
};

/* tolerance: USL - LSL (NaN or <= 0: none). alpha: pooling level (NaN:
 * GRR_POOL_ALPHA; 0: never pool; > 1: always pool). */
int grr_analyse(const struct grr_data *d, double tolerance, double alpha, struct grr_result *out,
                char *err, size_t errlen);

/* The range method alone (grr_analyse fills out->range with it). */
int grr_range_method(const struct grr_data *d, double tolerance, struct grr_range *out, char *err,
                     size_t errlen);

#endif
