/* Control-chart limits, histogram bins and run rules (spc.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/spc.h"

/* The published table of factors for subgroup size n (ASTM STP 15D, as
 * the AIAG SPC manual prints it), to three decimals. D3 is 0 below 7. */
static const struct spc_constants table[] = {
    { 2, 1.128, 1.880, 0, 3.267 },      { 3, 1.693, 1.023, 0, 2.574 },
    { 4, 2.059, 0.729, 0, 2.282 },      { 5, 2.326, 0.577, 0, 2.114 },
    { 6, 2.534, 0.483, 0, 2.004 },      { 7, 2.704, 0.419, 0.076, 1.924 },
    { 8, 2.847, 0.373, 0.136, 1.864 },  { 9, 2.970, 0.337, 0.184, 1.816 },
    { 10, 3.078, 0.308, 0.223, 1.777 }, { 11, 3.173, 0.285, 0.256, 1.744 },
    { 12, 3.258, 0.266, 0.283, 1.717 }, { 13, 3.336, 0.249, 0.307, 1.693 },
    { 14, 3.407, 0.235, 0.328, 1.672 }, { 15, 3.472, 0.223, 0.347, 1.653 },
    { 16, 3.532, 0.212, 0.363, 1.637 }, { 17, 3.588, 0.203, 0.378, 1.622 },
    { 18, 3.640, 0.194, 0.391, 1.608 }, { 19, 3.689, 0.187, 0.403, 1.597 },
    { 20, 3.735, 0.180, 0.415, 1.585 }, { 21, 3.778, 0.173, 0.425, 1.575 },
    { 22, 3.819, 0.167, 0.434, 1.566 }, { 23, 3.858, 0.162, 0.443, 1.557 },
    { 24, 3.895, 0.157, 0.451, 1.548 }, { 25, 3.931, 0.153, 0.459, 1.541 },
};

/* The individuals chart's factors: 3/d2(2) rounded as the literature
 * prints them, so the limits equal a hand calculation. */
#define E2   2.66
#define D4_2 3.267

const struct spc_constants *spc_constants(unsigned n)
{
    if (n < SPC_SUBGROUP_MIN || n > SPC_SUBGROUP_MAX)
        return NULL;
    return &table[n - SPC_SUBGROUP_MIN];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile p of sorted s[0..n-1], linear between order statistics (the
 * common "type 7" definition). */
static double quantile(const double *s, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t i = (size_t)h;
    if (i + 1 >= n)
        return s[n - 1];
    return s[i] + (h - (double)i) * (s[i + 1] - s[i]);
}

int spc_histogram(const double *x, size_t n, double lsl, double usl, size_t max_bins,
                  struct spc_hist *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || max_bins == 0)
        return -EINVAL;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return -ENOMEM;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double dmin = s[0], dmax = s[n - 1];
    double iqr = quantile(s, n, 0.75) - quantile(s, n, 0.25);
    free(s);
    double lo = dmin, hi = dmax;
    if (isfinite(lsl))
        lo = fmin(lo, lsl), hi = fmax(hi, lsl);
    if (isfinite(usl))
        lo = fmin(lo, usl), hi = fmax(hi, usl);
    double width;
    if (iqr > 0) {
        width = 2 * iqr / cbrt((double)n);
    } else {
        double k = ceil(log2((double)n)) + 1;
        width = (dmax - dmin) / k;
    }
    if (!(hi > lo)) {
        /* One value and no limits apart from it: one bin around it. */
        double half = fabs(lo) > 0 ? fabs(lo) * 0.05 : 0.5;
        lo -= half;
        hi += half;
    }
    if (!(width > 0)) /* no spread in the data: Sturges over the range */
        width = (hi - lo) / (ceil(log2((double)n)) + 1);
    double nb = ceil((hi - lo) / width);
    if (nb < 1)
        nb = 1;
    if (nb > (double)max_bins) {
        nb = (double)max_bins;
        width = (hi - lo) / nb;
    }
    size_t nbins = (size_t)nb;
    /* The top value (a limit or the maximum) falls on the last edge when
     * the bins fit exactly: it belongs to the last bin. */
    out->count = calloc(nbins, sizeof *out->count);
    if (!out->count)
        return -ENOMEM;
    out->lo = lo;
    out->width = width;
    out->nbins = nbins;
    for (size_t i = 0; i < n; i++) {
        double b = floor((x[i] - lo) / width);
        size_t j = b < 0 ? 0 : b >= nb ? nbins - 1 : (size_t)b;
        out->count[j]++;
    }
    return 0;
}

void spc_hist_free(struct spc_hist *h)
{
    free(h->count);
    h->count = NULL;
    h->nbins = 0;
}

int spc_imr(const double *x, size_t n, struct spc_imr *out)
{
    memset(out, 0, sizeof *out);
    if (n < 2)
        return -EINVAL;
    double sum = 0, mr = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    for (size_t i = 1; i < n; i++)
        mr += fabs(x[i] - x[i - 1]);
    double mean = sum / (double)n, mrbar = mr / (double)(n - 1);
    out->x = (struct spc_limits){ mean, mean + E2 * mrbar, mean - E2 * mrbar };
    out->mr = (struct spc_limits){ mrbar, D4_2 * mrbar, 0 };
    out->sigma = mrbar / table[0].d2;
    return 0;
}

int spc_xbar_r(const double *x, size_t n, unsigned m, struct spc_xbar_r *out)
{
    memset(out, 0, sizeof *out);
    const struct spc_constants *c = spc_constants(m);
    if (!c || n / m < 2)
        return -EINVAL;
    size_t k = n / m;
    out->xbar = malloc(k * sizeof *out->xbar);
    out->range = malloc(k * sizeof *out->range);
    if (!out->xbar || !out->range) {
        spc_xbar_r_free(out);
        return -ENOMEM;
    }
    double xs = 0, rs = 0;
    for (size_t g = 0; g < k; g++) {
        const double *v = x + g * m;
        double sum = 0, lo = v[0], hi = v[0];
        for (unsigned i = 0; i < m; i++) {
            sum += v[i];
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
        out->xbar[g] = sum / m;
        out->range[g] = hi - lo;
        xs += out->xbar[g];
        rs += out->range[g];
    }
    double grand = xs / (double)k, rbar = rs / (double)k;
    out->m = m;
    out->k = k;
    out->x = (struct spc_limits){ grand, grand + c->a2 * rbar, grand - c->a2 * rbar };
    out->r = (struct spc_limits){ rbar, c->d4_lim * rbar, c->d3_lim * rbar };
    out->sigma = rbar / c->d2;
    return 0;
}

void spc_xbar_r_free(struct spc_xbar_r *c)
{
    free(c->xbar);
    free(c->range);
    c->xbar = c->range = NULL;
    c->k = 0;
}

/* Side of point v beyond z sigmas: +1 above, -1 below, 0 inside. */
static int beyond(double v, double center, double sigma, double z)
{
    if (v > center + z * sigma)
        return 1;
    if (v < center - z * sigma)
        return -1;
    return 0;
}

/* The "m of the last w beyond z sigma on one side" rules (2 and 3). */
static const struct {
    unsigned rule, of, window;
    double z;
} zone_rules[] = {
    { 1, 1, 1, 3 },
    { 2, 2, 3, 2 },
    { 3, 4, 5, 1 },
};

int spc_we_rules(const double *x, size_t n, double center, double sigma, unsigned *flags)
{
    if (!(sigma > 0) || !isfinite(center))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned f = 0;
        for (size_t r = 0; r < sizeof zone_rules / sizeof zone_rules[0]; r++) {
            size_t w = zone_rules[r].window;
            int side = beyond(x[i], center, sigma, zone_rules[r].z);
            if (side == 0 || i + 1 < w)
                continue;
            unsigned hits = 0;
            for (size_t j = i + 1 - w; j <= i; j++)
                hits += beyond(x[j], center, sigma, zone_rules[r].z) == side;
            if (hits >= zone_rules[r].of)
                f |= SPC_RULE(zone_rules[r].rule);
        }
        /* Rule 4: 8 in a row strictly on the point's side. */
        int side = x[i] > center ? 1 : x[i] < center ? -1 : 0;
        if (side != 0 && i >= 7) {
            size_t j = i - 7;
            while (j < i && (x[j] > center ? 1 : x[j] < center ? -1 : 0) == side)
                j++;
            if (j == i)
                f |= SPC_RULE(4);
        }
        flags[i] = f;
    }
    return 0;
}

void spc_beyond(const double *x, size_t n, double lcl, double ucl, unsigned *flags)
{
    for (size_t i = 0; i < n; i++)
        flags[i] = (x[i] > ucl || x[i] < lcl) ? SPC_RULE(1) : 0;
}
