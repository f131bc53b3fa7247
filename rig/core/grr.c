/* Gauge R&R: the AIAG ANOVA method and the average-and-range method
 * (contract in grr.h). The F distribution's tail comes from GSL. */
#include "core/grr.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

/* AIAG MSA 4th edition, the K constants = 1/d2*: K1 by trials (d2* for
 * g = parts x operators > 15, i.e. d2), K2 by operators and K3 by parts
 * (d2* for g = 1). Index = count; 0 and 1 unused. */
static const double k1_by_trials[] = { 0, 0, 0.8862, 0.5908, 0.4857, 0.4299 };
static const double k2_by_ops[] = { 0, 0, 0.7071, 0.5231, 0.4467, 0.4030 };
static const double k3_by_parts[] = { 0,      0,      0.7071, 0.5231, 0.4467, 0.4030,
                                      0.3742, 0.3534, 0.3375, 0.3249, 0.3146 };
/* D4 of a range chart by subgroup size (trials). */
static const double d4_by_trials[] = { 0, 0, 3.267, 2.574, 2.282, 2.114 };

#define NTAB(a) (sizeof(a) / sizeof((a)[0]))

static double at(const struct grr_data *d, size_t o, size_t p, size_t t)
{
    return d->x[(o * d->parts + p) * d->trials + t];
}

static int check_data(const struct grr_data *d, char *err, size_t errlen)
{
    if (!d || !d->x || d->parts < 2 || d->operators < 2 || d->trials < 2) {
        snprintf(err, errlen, "a gauge study needs at least 2 parts, 2 operators and 2 trials");
        return -EINVAL;
    }
    if (d->parts > GRR_MAX_PARTS || d->operators > GRR_MAX_OPS || d->trials > GRR_MAX_TRIALS) {
        snprintf(err, errlen, "at most %d parts, %d operators and %d trials", GRR_MAX_PARTS,
                 GRR_MAX_OPS, GRR_MAX_TRIALS);
        return -EINVAL;
    }
    for (size_t o = 0; o < d->operators; o++)
        for (size_t p = 0; p < d->parts; p++)
            for (size_t t = 0; t < d->trials; t++)
                if (!isfinite(at(d, o, p, t))) {
                    snprintf(err, errlen,
                             "operator %zu, part %zu, trial %zu has no value: the study is not "
                             "balanced",
                             o + 1, p + 1, t + 1);
                    return -EINVAL;
                }
    return 0;
}

/* Shares of TV and of the tolerance for each component. */
static void shares(struct grr_component *const *c, size_t n, double tv_sd, double tol)
{
    for (size_t i = 0; i < n; i++) {
        c[i]->pct_tv = tv_sd > 0 ? 100.0 * c[i]->sd / tv_sd : NAN;
        c[i]->pct_tol = tol > 0 ? 100.0 * GRR_TOL_SIGMAS * c[i]->sd / tol : NAN;
    }
}

static void set_var(struct grr_component *c, double var)
{
    c->var = var > 0 ? var : 0;
    c->sd = sqrt(c->var);
}

static int ndc_of(double pv, double grr)
{
    if (!(grr > 0))
        return 0;
    double v = floor(1.41 * pv / grr);
    return v < 1 ? 1 : (int)fmin(v, 1e6);
}

int grr_range_method(const struct grr_data *d, double tolerance, struct grr_range *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = check_data(d, err, errlen);
    if (rc < 0)
        return rc;
    size_t P = d->parts, O = d->operators, T = d->trials;
    if (T >= NTAB(k1_by_trials) || O >= NTAB(k2_by_ops) || P >= NTAB(k3_by_parts))
        return 0; /* outside the manual's tables: valid stays false */
    double rsum = 0, xmin = INFINITY, xmax = -INFINITY;
    for (size_t o = 0; o < O; o++) {
        double rs = 0, xs = 0;
        for (size_t p = 0; p < P; p++) {
            double lo = INFINITY, hi = -INFINITY;
            for (size_t t = 0; t < T; t++) {
                double v = at(d, o, p, t);
                lo = fmin(lo, v);
                hi = fmax(hi, v);
                xs += v;
            }
            rs += hi - lo;
        }
        out->rbar[o] = rs / (double)P;
        out->xbar[o] = xs / (double)(P * T);
        rsum += out->rbar[o];
        xmin = fmin(xmin, out->xbar[o]);
        xmax = fmax(xmax, out->xbar[o]);
    }
    out->rbarbar = rsum / (double)O;
    out->xdiff = xmax - xmin;
    double pmin = INFINITY, pmax = -INFINITY;
    for (size_t p = 0; p < P; p++) {
        double s = 0;
        for (size_t o = 0; o < O; o++)
            for (size_t t = 0; t < T; t++)
                s += at(d, o, p, t);
        s /= (double)(O * T);
        pmin = fmin(pmin, s);
        pmax = fmax(pmax, s);
    }
    out->rp = pmax - pmin;
    out->d4 = d4_by_trials[T];
    out->ucl_r = out->d4 * out->rbarbar;
    for (size_t o = 0; o < O; o++)
        for (size_t p = 0; p < P; p++) {
            double lo = INFINITY, hi = -INFINITY;
            for (size_t t = 0; t < T; t++) {
                lo = fmin(lo, at(d, o, p, t));
                hi = fmax(hi, at(d, o, p, t));
            }
            out->ranges_above_ucl += hi - lo > out->ucl_r;
        }
    out->k1 = k1_by_trials[T];
    out->k2 = k2_by_ops[O];
    out->k3 = k3_by_parts[P];
    double ev = out->rbarbar * out->k1;
    set_var(&out->ev, ev * ev);
    double xk = out->xdiff * out->k2;
    set_var(&out->av, xk * xk - ev * ev / (double)(P * T));
    set_var(&out->grr, out->ev.var + out->av.var);
    double pv = out->rp * out->k3;
    set_var(&out->pv, pv * pv);
    set_var(&out->tv, out->grr.var + out->pv.var);
    struct grr_component *all[] = { &out->ev, &out->av, &out->grr, &out->pv, &out->tv };
    shares(all, NTAB(all), out->tv.sd, tolerance);
    out->ndc = ndc_of(out->pv.sd, out->grr.sd);
    out->valid = true;
    return 0;
}

static double f_tail(double f, double df1, double df2)
{
    if (!(df1 > 0) || !(df2 > 0) || !isfinite(f))
        return NAN;
    return gsl_cdf_fdist_Q(f < 0 ? 0 : f, df1, df2);
}

/* The sums of squares of the crossed design (no interaction assumed). */
static void sums_of_squares(const struct grr_data *d, struct grr_result *out)
{
    size_t P = d->parts, O = d->operators, T = d->trials;
    double sum = 0;
    for (size_t i = 0; i < P * O * T; i++)
        sum += d->x[i];
    double m = sum / (double)(P * O * T);
    out->mean = m;
    double ss_p = 0, ss_o = 0, ss_cells = 0, ss_e = 0, ss_t = 0;
    for (size_t p = 0; p < P; p++) {
        double s = 0;
        for (size_t o = 0; o < O; o++)
            for (size_t t = 0; t < T; t++)
                s += at(d, o, p, t);
        double dv = s / (double)(O * T) - m;
        ss_p += dv * dv;
    }
    for (size_t o = 0; o < O; o++) {
        double s = 0;
        for (size_t p = 0; p < P; p++)
            for (size_t t = 0; t < T; t++)
                s += at(d, o, p, t);
        double dv = s / (double)(P * T) - m;
        ss_o += dv * dv;
    }
    for (size_t o = 0; o < O; o++)
        for (size_t p = 0; p < P; p++) {
            double s = 0;
            for (size_t t = 0; t < T; t++)
                s += at(d, o, p, t);
            double cm = s / (double)T;
            ss_cells += (cm - m) * (cm - m);
            for (size_t t = 0; t < T; t++) {
                double e = at(d, o, p, t) - cm, tt = at(d, o, p, t) - m;
                ss_e += e * e;
                ss_t += tt * tt;
            }
        }
    out->part = (struct grr_anova_row){ (double)(P - 1), ss_p * (double)(O * T), 0, NAN, NAN };
    out->oper = (struct grr_anova_row){ (double)(O - 1), ss_o * (double)(P * T), 0, NAN, NAN };
    double ss_po = ss_cells * (double)T - out->part.ss - out->oper.ss;
    out->inter =
        (struct grr_anova_row){ (double)((P - 1) * (O - 1)), ss_po > 0 ? ss_po : 0, 0, NAN, NAN };
    out->error = (struct grr_anova_row){ (double)(P * O * (T - 1)), ss_e, 0, NAN, NAN };
    out->total = (struct grr_anova_row){ (double)(P * O * T - 1), ss_t, NAN, NAN, NAN };
    struct grr_anova_row *rows[] = { &out->part, &out->oper, &out->inter, &out->error };
    for (size_t i = 0; i < NTAB(rows); i++)
        rows[i]->ms = rows[i]->ss / rows[i]->df;
}

int grr_analyse(const struct grr_data *d, double tolerance, double alpha, struct grr_result *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = check_data(d, err, errlen);
    if (rc < 0)
        return rc;
    size_t P = d->parts, O = d->operators, T = d->trials;
    out->parts = P;
    out->operators = O;
    out->trials = T;
    out->alpha = isnan(alpha) ? GRR_POOL_ALPHA : alpha;
    out->tolerance = tolerance > 0 ? tolerance : NAN;
    sums_of_squares(d, out);

    /* The table as the manual prints it: main effects over the
     * interaction, the interaction over the error. A zero denominator
     * (identical repeats) gives an infinite F: significant, not pooled. */
    out->inter.f = out->inter.ms / out->error.ms;
    out->inter.p = out->error.ms > 0   ? f_tail(out->inter.f, out->inter.df, out->error.df)
                   : out->inter.ms > 0 ? 0
                                       : 1;
    out->part.f = out->part.ms / out->inter.ms;
    out->part.p = f_tail(out->part.f, out->part.df, out->inter.df);
    out->oper.f = out->oper.ms / out->inter.ms;
    out->oper.p = f_tail(out->oper.f, out->oper.df, out->inter.df);

    out->pooled = out->alpha > 0 && out->inter.p >= out->alpha;
    double n_o = (double)(P * T), n_p = (double)(O * T); /* readings per operator, part */
    double var_e, var_po, var_o, var_p;
    out->f_part_pooled = out->p_part_pooled = out->f_oper_pooled = out->p_oper_pooled = NAN;
    out->pooled_error = (struct grr_anova_row){ NAN, NAN, NAN, NAN, NAN };
    if (out->pooled) {
        double df = out->inter.df + out->error.df, ss = out->inter.ss + out->error.ss;
        double ms = ss / df;
        out->pooled_error = (struct grr_anova_row){ df, ss, ms, NAN, NAN };
        out->f_part_pooled = out->part.ms / ms;
        out->p_part_pooled = f_tail(out->f_part_pooled, out->part.df, df);
        out->f_oper_pooled = out->oper.ms / ms;
        out->p_oper_pooled = f_tail(out->f_oper_pooled, out->oper.df, df);
        var_e = ms;
        var_po = 0;
        var_o = (out->oper.ms - ms) / n_o;
        var_p = (out->part.ms - ms) / n_p;
    } else {
        var_e = out->error.ms;
        var_po = (out->inter.ms - out->error.ms) / (double)T;
        var_o = (out->oper.ms - out->inter.ms) / n_o;
        var_p = (out->part.ms - out->inter.ms) / n_p;
    }
    set_var(&out->ev, var_e);
    set_var(&out->av, var_o);
    set_var(&out->ipo, var_po);
    set_var(&out->grr, out->ev.var + out->av.var + out->ipo.var);
    set_var(&out->pv, var_p);
    set_var(&out->tv, out->grr.var + out->pv.var);
    struct grr_component *all[] = { &out->ev, &out->av, &out->ipo, &out->grr, &out->pv, &out->tv };
    shares(all, NTAB(all), out->tv.sd, out->tolerance);
    out->ndc = ndc_of(out->pv.sd, out->grr.sd);
    return grr_range_method(d, tolerance, &out->range, err, errlen);
}
