/* Inside the analysis (analysis.c): the strokes it found, shared with the
 * spin-up and stop fits (an_rotor.c). */
#ifndef RIG_CORE_AN_INT_H
#define RIG_CORE_AN_INT_H

#include <stddef.h>

#include "core/analysis.h"

struct stroke {
    double rise;     /* rising midpoint crossing, fractional sample index */
    double fall;     /* falling one (time_rise's level), NaN if not found */
    double peak_pos; /* fractional sample index of the fitted vertex */
    double depth_nm; /* fitted protrusion */
    double force_un; /* modelled peak force of the stroke (peakforce.h), NaN if none */
};

struct strokes {
    struct stroke *v;
    size_t n, cap;
};

/* Spin-up (rotor.h): the rotor's start t0 and the time from it until the
 * rate is within the band; returns the index of the first steady stroke
 * in [a, b). */
size_t an_find_spinup(const struct an_input *in, const struct strokes *s, size_t a, size_t b,
                      double lo, double hi, struct an_result *out);
/* Stop time (rotor.h) from the stop command. */
void an_find_stop(const struct an_input *in, const struct strokes *s, double lo, double hi,
                  struct an_result *out);

#endif
