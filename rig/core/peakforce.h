/* Puncture peak force of one stroke, from its force samples (docs/FILES.md
 * "Peak force"). Pure computation.
 *
 * The needles press the phantom: the force rises (elastic, nearly linear
 * over the last samples), the needles tear through within ~0.1-0.3 ms and
 * the force falls to a friction plateau. The peak is where the rise ends.
 * At 20 kS/s the largest sample misses it by several percent: the samples
 * straddle the tear. So the estimator models the stroke's top:
 *
 *   rise  F(t) = a + b x(t)             for t <= tp (least squares through
 *                                        the last rise samples; x the
 *                                        needles' position, interpolated
 *                                        between samples, or else time)
 *   tear  F(t) = P + (F(tp) - P) cos^2(pi (t - tp) / (2 T))
 *                                        for tp <= t <= tp + T
 *
 * with the puncture time tp (between the last rise sample and the first
 * fall sample) and the tear duration T as unknowns -- and the level P it
 * falls to, unless the caller measured it (the median force between the
 * tear and the needles' turn: friction, the fixture's ringing averaging
 * out) -- fitted by Levenberg-Marquardt to the falling samples within the
 * tear; the peak force is F(tp), on the rise. When the stroke did
 * not tear (no fall of at least PF_TEAR_FRAC of the peak within
 * PF_TEAR_MAX_S: a shallow stroke that only pressed the phantom), or the fit
 * is not determined, the peak is the vertex of a parabola through the top
 * samples (the smooth maximum of an elastic press). */
#ifndef RIG_CORE_PEAKFORCE_H
#define RIG_CORE_PEAKFORCE_H

#include <stddef.h>
#include <stdint.h>

#define PF_TEAR_FRAC  0.15   /* a tear drops at least this share of the peak... */
#define PF_TEAR_MAX_S 0.0005 /* ...within this long after it */

enum pf_method { PF_NONE, PF_TEAR_FIT, PF_PARABOLA, PF_MAX_SAMPLE };

struct pf_result {
    double peak;   /* force units of the input; NaN if none */
    double t_peak; /* fractional sample index of the peak */
    enum pf_method method;
};

/* f[from..to] (inclusive) are one stroke's force samples at fs samples/s;
 * m is the index of the largest of them. disp: the needles' position at
 * the same instants (NULL if unknown): the elastic rise is linear in it,
 * not in time. plateau: the level the tear ends at when the caller
 * measured it (NaN: fitted too). turn: the fractional sample index at
 * which the needles turn back (NaN if unknown): from there they withdraw,
 * so no later sample belongs to the tear. */
void pf_estimate(const int32_t *f, const int32_t *disp, size_t from, size_t to, size_t m, double fs,
                 double plateau, double turn, struct pf_result *out);

#endif
