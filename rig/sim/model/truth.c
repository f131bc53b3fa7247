/* Physics model: the ground truth output (model_int.h), one JSON object a
 * line of what really happened: strokes, states, mounts, sessions. */
#include <stdarg.h>

#include "sim/model/model_int.h"

const char *mdl_state_name(uint8_t s)
{
    static const char *const names[PEN_STATE_COUNT_] = { "IDLE", "SPINUP", "RUNNING", "STOPPING",
                                                         "FAULT" };
    return s < PEN_STATE_COUNT_ ? names[s] : "?";
}

const char *mdl_reason_name(uint8_t r)
{
    static const char *const names[] = { "command", "at_rate",  "stopped",
                                         "fault",   "watchdog", "fault_cleared" };
    return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* ---- ground truth ---- */

void mdl_truth_printf(struct sim_model *m, const char *fmt, ...)
{
    if (!m->truth)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(m->truth, fmt, ap);
    va_end(ap);
    if (n < 0) {
        /* Keep simulating: losing the truth file must not stop the bench,
         * but say so once. */
        fprintf(stderr, "sim model: cannot write ground truth; truth output disabled\n");
        m->truth = NULL;
    }
}

void mdl_truth_stroke(struct sim_model *m, uint64_t t_end)
{
    const struct stroke *s = &m->st;
    double period = (double)(t_end - s->start_ns) * 1e-9;
    double t_peak = (double)s->peak_ns * 1e-9; /* phase 0.5 */
    /* Effective penetration: past the puncture point the surface stays
     * depressed by the deflection at puncture, x_p = F_p / k, below where
     * this mount seats it; a stroke that never punctures does not
     * penetrate. */
    double pen = s->contact && s->phi_puncture >= 0
                     ? s->depth_mm - s->seat_mm - s->peak_force_n / s->k_n_per_mm
                     : 0.0;
    mdl_truth_printf(
        m,
        "{\"t\":%.9f,\"stroke\":%llu,\"t_rise\":%.9f,\"t_peak\":%.9f,\"period_s\":%.9f,"
        "\"rate_hz\":%.6f,\"set_rate_hz\":%.3f,\"protrusion_mm\":%.6f,"
        "\"set_depth_mm\":%.3f,\"peak_force_n\":%.6f,\"penetration_mm\":%.6f,"
        "\"punctured\":%s,\"whole\":%s,\"state\":\"%s\"}\n",
        (double)t_end * 1e-9, (unsigned long long)m->strokes_done, (double)s->rise_ns * 1e-9,
        t_peak, period, 1.0 / period, s->set_rate_hz, s->depth_mm, s->set_depth_mm,
        s->contact ? s->peak_force_n : 0.0, pen > 0 ? pen : 0.0,
        s->phi_puncture >= 0 ? "true" : "false", s->all_driven ? "true" : "false",
        mdl_state_name(m->state));
}

/* The mount in effect, so an analyst can check each mount's readings. */
void mdl_truth_mount(struct sim_model *m)
{
    char members[768];
    sim_mount_describe(&m->mount, &m->p, members, sizeof members);
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"mount\",%s}\n", (double)m->now * 1e-9, members);
}

void mdl_truth_session(struct sim_model *m)
{
    mdl_truth_printf(m, "{\"t\":%.9f,\"event\":\"session\",\"session\":%llu}\n",
                     (double)m->now * 1e-9, (unsigned long long)m->session);
}
