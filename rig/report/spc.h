/* Statistical process control figures for the lot report: histogram
 * binning, individuals and moving-range (I-MR) and X-bar/R chart limits,
 * and the Western Electric run rules. Pure computation: no I/O, no
 * allocation except where a function says so.
 *
 * Contract:
 *  - Functions return 0 or -errno (-EINVAL: too few points or a bad
 *    argument; -ENOMEM); results are only valid after 0.
 *  - Capability (Cp, Cpk, Pp, Ppk) is NOT here: the report takes it from
 *    store_capability() (rig/store/store.h) so it equals `rigctl stats`.
 *  - Chart constants are the published table for subgroup sizes 2..25
 *    (ASTM STP 15D / AIAG SPC manual): d2, A2, D3, D4.
 *  - Western Electric rules are judged on a centre line and a sigma; a
 *    point is flagged for a rule when it completes the rule's pattern and
 *    is itself one of the points beyond the zone (so a pattern is flagged
 *    once per new point that belongs to it):
 *      1  the point is beyond 3 sigma;
 *      2  2 of the last 3 points beyond 2 sigma on the point's side;
 *      3  4 of the last 5 points beyond 1 sigma on the point's side;
 *      4  the point and the 7 before it all on the point's side of the
 *         centre line (a point on the line breaks the run).
 *    "Beyond" is strictly beyond.
 */
#ifndef RIG_REPORT_SPC_H
#define RIG_REPORT_SPC_H

#include <stddef.h>

/* Bit of each rule in a point's flags: SPC_RULE(1) .. SPC_RULE(4). */
#define SPC_RULE(k)      (1u << ((k)-1))
#define SPC_NRULES       4
/* Subgroup sizes with chart constants. */
#define SPC_SUBGROUP_MIN 2
#define SPC_SUBGROUP_MAX 25

struct spc_constants {
    unsigned n;
    double d2, a2, d3_lim, d4_lim; /* d3_lim/d4_lim: the D3/D4 factors */
};
/* The row for subgroup size n, NULL outside SPC_SUBGROUP_MIN..MAX. */
const struct spc_constants *spc_constants(unsigned n);

/* A histogram: nbins bins of width from lo; counts owned by the struct. */
struct spc_hist {
    double lo, width;
    size_t nbins;
    size_t *count;
};
/* Bin x[0..n-1] (n >= 1). The range covers the data and the finite
 * limits among lsl/usl (NAN: none), so both limits fall inside the plot.
 * Width: Freedman-Diaconis (2 IQR n^-1/3) over that range; Sturges
 * (ceil(log2 n) + 1 bins over the data) when the IQR is 0; at most
 * max_bins bins (the width widened to fit). Free with spc_hist_free. */
int spc_histogram(const double *x, size_t n, double lsl, double usl, size_t max_bins,
                  struct spc_hist *out);
void spc_hist_free(struct spc_hist *h);

/* A chart's centre line and control limits. */
struct spc_limits {
    double center, ucl, lcl;
};

/* Individuals and moving range of x[0..n-1] in time order (n >= 2):
 * MR-bar the mean |x[i] - x[i-1]|; X: mean +- 2.66 MR-bar; MR: centre
 * MR-bar, UCL 3.267 MR-bar, LCL 0; sigma = MR-bar / d2(2). */
struct spc_imr {
    struct spc_limits x, mr;
    double sigma;
};
int spc_imr(const double *x, size_t n, struct spc_imr *out);

/* X-bar and R over consecutive subgroups of m values (m in 2..25; a
 * trailing incomplete subgroup is left out; at least 2 subgroups). k
 * subgroups; xbar/range arrays owned by the struct. X-bar: grand mean
 * +- A2 R-bar; R: D3 R-bar .. D4 R-bar; sigma = R-bar / d2(m), the sigma
 * of one value (the X-bar chart's zones use sigma / sqrt(m)). */
struct spc_xbar_r {
    unsigned m;
    size_t k;
    double *xbar, *range;
    struct spc_limits x, r;
    double sigma;
};
int spc_xbar_r(const double *x, size_t n, unsigned m, struct spc_xbar_r *out);
void spc_xbar_r_free(struct spc_xbar_r *c);

/* Western Electric rules over x[0..n-1] against center and sigma (> 0):
 * flags[i] gets the SPC_RULE bits point i violates (0: none). */
int spc_we_rules(const double *x, size_t n, double center, double sigma, unsigned *flags);

/* Points beyond [lcl, ucl] (a range chart's rule 1): flags[i] gets
 * SPC_RULE(1) or 0. */
void spc_beyond(const double *x, size_t n, double lcl, double ucl, unsigned *flags);

#endif
