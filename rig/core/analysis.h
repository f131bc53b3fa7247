/* Stroke analysis of one capture: synchronous force (uN) and needle
 * displacement (nm) samples at a fixed rate. Pure computation, no I/O.
 *
 * Method (details in docs/FILES.md "Analysis"):
 *  1. Robust levels: the medians of the needle's turning points (peaks and
 *     troughs at least 30 % of the capture's range apart) give the
 *     protruded and retracted levels, so a needle parked anywhere for any
 *     part of the capture cannot move them; the midpoint with a hysteresis
 *     band of +/-20 % of the swing arms and fires a comparator, so noise and
 *     fixture ringing cannot create extra strokes.
 *  2. Each rising crossing of the midpoint is timed by linear interpolation
 *     between the two samples that straddle it; a stroke is a rising crossing
 *     followed by a falling one. Periods are the differences of successive
 *     rising crossing times.
 *  3. Stroke rate = least-squares slope of crossing time vs. stroke index over
 *     the steady part of the capture (after spin-up, before the stop command),
 *     jitter = RMS deviation of the periods from their mean, in %.
 *  4. Protrusion per stroke = vertex of a least-squares parabola fitted to the
 *     samples around the stroke's highest sample; peak force = the modelled
 *     top of the stroke's force (peakforce.h: rise line and tear fitted, so
 *     a 20 kS/s sampler does not miss a puncture peak) less the force zero:
 *     the median force while the needle tips are behind the cartridge face.
 *  5. Spin-up and stop time estimate the rotor, not the period grid
 *     (rotor.h): a first-order fit of the revolutions the strokes count
 *     gives when the rotor started (or began to brake) and its time
 *     constant. Spin-up: from the rotor starting until its rate is within
 *     5 % of the setpoint. Stop: from it starting to brake until its rate
 *     is below 5 % of the rate before. The host's command time only bounds
 *     the search (start_delay_ms / stop_delay_ms: how long after it the
 *     rotor reacted). Without a fit: the first period from which every
 *     later one is in band (from the command, at its midpoint), and the
 *     command to the last stroke's peak.
 */
#ifndef RIG_CORE_ANALYSIS_H
#define RIG_CORE_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Capture flags: any of these make every measurement of the capture ERROR
 * (the rig could not measure), never FAIL. */
#define AN_F_SAMPLE_LOSS  0x01u /* blocks or samples lost in transport */
#define AN_F_OVERRUN      0x02u /* sensor FIFO overran */
#define AN_F_NO_TARGET    0x04u /* displacement sensor saw no target */
#define AN_F_OUT_OF_RANGE 0x08u /* displacement beyond the sensor's range */
#define AN_F_DISCONNECT   0x10u /* sensor went away during the capture */
#define AN_F_KNOWN        0x1Fu

/* Spin-up band: rate within this fraction of the setpoint. */
#define AN_SPINUP_BAND 0.05
/* Stop: rate below this fraction of the rate before the stop. */
#define AN_STOP_FRAC   0.05

/* One stroke as the analysis saw it (optional output). Times are
 * fractional sample indices of the capture. */
struct an_stroke {
    double rise;     /* rising mid-level crossing */
    double peak;     /* fitted top of the displacement */
    double depth_mm; /* fitted protrusion */
    double force_n;  /* modelled peak force less the force zero; NaN */
    bool steady;     /* used for rate, jitter, depth and force */
};

struct an_input {
    const int32_t *force_un; /* n samples (may be NULL: no force data) */
    const int32_t *disp_nm;  /* n samples; INT32_MIN / INT32_MIN+1 are
                                    the sensor's "no target" / "out of range" */
    size_t n;
    double rate_hz;                /* sample rate per channel */
    uint32_t flags;                /* AN_F_* from the transport */
    int64_t start_index;           /* sample index of the start command, or -1 */
    int64_t stop_index;            /* sample index of the stop command, or -1 */
    double set_rate_hz;            /* stroke-rate setpoint (for spin-up), 0 = unknown */
    double set_depth_mm;           /* depth setpoint (for depth error), NaN = unknown */
    struct an_stroke *strokes_out; /* optional: every stroke found, up to strokes_cap */
    size_t strokes_cap;
};

struct an_result {
    /* Rig problems: if error[0] != 0 the capture cannot be judged; every
     * measurement of it is ERROR with this text. */
    uint32_t flags;
    char error[160];

    size_t strokes;        /* complete strokes (peaks) found; as many
                                    (up to strokes_cap) in in->strokes_out */
    size_t steady_strokes; /* strokes used for rate, jitter, depth, force */
    double rate_hz;        /* 0 when fewer than 2 steady strokes */
    /* The rate's definition, explicitly: rate_periods stroke periods
     * between the rising mid-level crossings of the first and the last
     * steady stroke (fractional sample indices); rate = periods / time. */
    double rate_first, rate_last;
    double rate_periods;
    double jitter_pct; /* NaN when fewer than 3 steady strokes */
    double depth_mean_mm, depth_min_mm, depth_max_mm, depth_std_mm;
    double depth_error_mm;                         /* mean - set depth; NaN if unknown */
    double force_mean_n, force_min_n, force_max_n; /* NaN if no force data */
    double force_zero_n;                           /* force with the needles retracted, subtracted
                                    from the peaks above; NaN if never retracted */
    double spinup_ms;                              /* NaN unless start_index given; capture
                                    length after start if rate never in band */
    bool spinup_reached;
    double stop_ms;        /* NaN unless stop_index given; 0 when no
                                    stroke after the stop command */
    double start_delay_ms; /* host's start command -> rotor starting (fit); NaN */
    double stop_delay_ms;  /* host's stop command -> rotor braking (fit); NaN */
    double stalled_ms;     /* > 0: no strokes for this long before the end of
                                    the window (stop command or capture end); the
                                    rate then counts that time too */
    double swing_mm;       /* protruded - retracted level (diagnostic) */
};

/* Analyse one capture. Returns 0 on success (result filled, possibly with
 * result->error set for rig problems), -1 on invalid arguments (NULL
 * pointers, rate not a finite number > 0, unknown flags). Allocates scratch
 * memory; returns -1 with error "out of memory" if that fails. */
int an_analyse(const struct an_input *in, struct an_result *out);

#endif
