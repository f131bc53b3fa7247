/* Measured values and their verdicts (see measure.h). */
#include "core/measure.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/quantity.h"
#include "core/rec.h"
#include "core/record.h"

/* A value the record holds (recomputing), NaN when it held none. */
static double recorded_number(const cJSON *rec)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static double capture_value(enum rig_quantity q, const struct an_result *a,
                            const struct lim_setpoints *sp, enum rig_outcome *hint, char *note,
                            size_t len)
{
    if (a->error[0]) {
        *hint = OUTCOME_ERROR;
        snprintf(note, len, "%s", a->error);
    }
    double x = NAN;
    switch (q) {
    case Q_STROKE_COUNT:
        x = (double)a->strokes;
        break;
    case Q_STROKE_RATE_HZ:
        x = a->rate_hz;
        if (a->stalled_ms > 0 && *hint == OUTCOME_PASS)
            snprintf(note, len, "no strokes in the last %.0f ms of the capture", a->stalled_ms);
        break;
    case Q_RATE_ERROR_PCT:
        x = isfinite(sp->rate_hz) ? (a->rate_hz - sp->rate_hz) / sp->rate_hz * 100 : NAN;
        break;
    case Q_JITTER_PCT:
        x = a->jitter_pct;
        break;
    case Q_DEPTH_MEAN_MM:
        x = a->depth_mean_mm;
        break;
    case Q_DEPTH_MIN_MM:
        x = a->depth_min_mm;
        break;
    case Q_DEPTH_MAX_MM:
        x = a->depth_max_mm;
        break;
    case Q_DEPTH_STD_MM:
        x = a->depth_std_mm;
        break;
    case Q_DEPTH_ERROR_MM:
        x = a->depth_error_mm;
        break;
    case Q_FORCE_MEAN_N:
        x = a->force_mean_n;
        break;
    case Q_FORCE_MIN_N:
        x = a->force_min_n;
        break;
    case Q_FORCE_MAX_N:
        x = a->force_max_n;
        break;
    case Q_SPINUP_MS:
        x = a->spinup_ms;
        if (!a->spinup_reached && *hint == OUTCOME_PASS)
            snprintf(note, len, "rate never came within 5 %% of the setpoint");
        break;
    case Q_STOP_MS:
        x = a->stop_ms;
        break;
    default:
        break;
    }
    /* No strokes is the pen's failure, not the rig's: the sensor saw a
     * target and the needle did not move. */
    if (!isfinite(x) && *hint == OUTCOME_PASS && a->steady_strokes < 3 && q != Q_RATE_ERROR_PCT) {
        *hint = OUTCOME_FAIL;
        snprintf(note, len, "too few strokes to measure (%zu detected)", a->strokes);
    }
    return x;
}

/* Numeric value of q, or NaN with an outcome hint and note when it could
 * not be measured. */
static double numeric_value(enum rig_quantity q, const struct measure_src *v,
                            const struct lim_setpoints *sp, enum rig_outcome *hint, char *note,
                            size_t len)
{
    *hint = OUTCOME_PASS;
    enum q_source src = quantity_info(q)->source;
    if (src == QS_IDENTITY || src == QS_STATUS) {
        if (v->recorded) {
            double x = recorded_number(v->recorded);
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(v->recorded, "note");
            if (!isfinite(x)) {
                *hint = OUTCOME_ERROR;
                snprintf(note, len, "%s", cJSON_IsString(n) ? n->valuestring : "not measured");
            }
            return x;
        }
        if (src == QS_IDENTITY)
            return q == Q_HW_REVISION ? v->id->hw_revision : v->id->needle_count;
        if (!v->status) {
            *hint = OUTCOME_ERROR;
            snprintf(note, len, "pen status not available: %s", v->status_error);
            return NAN;
        }
        return q == Q_MOTOR_CURRENT_A ? v->status->motor_current_ma / 1000.0
                                      : v->status->supply_mv / 1000.0;
    }
    return capture_value(q, v->an, sp, hint, note, len);
}

static const char *string_value(enum rig_quantity q, const struct measure_src *v, char *buf,
                                size_t len)
{
    if (v->recorded) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v->recorded, "value");
        return cJSON_IsString(s) ? s->valuestring : "";
    }
    const struct pen_identity *id = v->id;
    switch (q) {
    case Q_FIRMWARE_VERSION:
        snprintf(buf, len, "%u.%u.%u", id->fw_major, id->fw_minor, id->fw_patch);
        return buf;
    case Q_PEN_MODEL:
        return id->model;
    case Q_CARTRIDGE_ID:
        return id->cartridge_id;
    default:
        return "";
    }
}

static char *dup(const char *s)
{
    return strdup(s ? s : "");
}

int measure_judge(const struct spec_measurement *m, const struct measure_src *v,
                  const struct lim_setpoints *sp, struct lim_eval *ev, char *why, size_t whylen,
                  struct rec_measurement *out)
{
    memset(out, 0, sizeof *out);
    const struct quantity_info *qi = quantity_info(m->quantity);
    char note[160] = "", sbuf[32];
    out->name = dup(m->name);
    out->quantity = dup(qi->name);
    out->is_text = qi->is_string;
    out->value = NAN;
    if (qi->is_string) {
        const char *s = string_value(m->quantity, v, sbuf, sizeof sbuf);
        out->text = dup(s);
        limit_eval_string(&m->limit, s, ev);
        out->low = out->high = NAN;
        char **lim = m->limit.cmp == LIM_MATCH ? &out->pattern : &out->expected;
        *lim = dup(m->limit.text);
    } else {
        enum rig_outcome hint;
        double x = numeric_value(m->quantity, v, sp, &hint, note, sizeof note);
        out->value = x;
        limit_eval_number(&m->limit, sp, x, ev);
        if (hint != OUTCOME_PASS) {
            ev->outcome = hint;
            ev->marginal = false;
        }
        out->low = ev->low;
        out->high = lim_cmp_arity(m->limit.cmp) == 2 ? ev->high : NAN;
    }
    out->units = dup(m->units);
    out->comparison = m->limit.cmp;
    char desc[128];
    limit_describe(&m->limit, ev, desc, sizeof desc);
    out->limit = dup(desc);
    out->outcome = ev->outcome;
    out->marginal = ev->marginal;
    snprintf(why, whylen, "%s", note[0] ? note : ev->note);
    if (why[0])
        out->note = dup(why);
    if (!out->name || !out->quantity ||
        (out->is_text && (!out->text || !(out->pattern || out->expected))) || !out->units ||
        !out->limit || (why[0] && !out->note)) {
        rec_measurement_free(out);
        return -ENOMEM;
    }
    return 0;
}
