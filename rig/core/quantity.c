#include "core/quantity.h"

#include <string.h>

static const struct quantity_info table[Q_COUNT_] = {
    [Q_STROKE_COUNT] = { "stroke_count", "", QS_CAPTURE, false },
    [Q_STROKE_RATE_HZ] = { "stroke_rate_hz", "Hz", QS_CAPTURE, false },
    [Q_RATE_ERROR_PCT] = { "rate_error_pct", "%", QS_CAPTURE, false },
    [Q_JITTER_PCT] = { "jitter_pct", "%", QS_CAPTURE, false },
    [Q_DEPTH_MEAN_MM] = { "depth_mean_mm", "mm", QS_CAPTURE, false },
    [Q_DEPTH_MIN_MM] = { "depth_min_mm", "mm", QS_CAPTURE, false },
    [Q_DEPTH_MAX_MM] = { "depth_max_mm", "mm", QS_CAPTURE, false },
    [Q_DEPTH_STD_MM] = { "depth_std_mm", "mm", QS_CAPTURE, false },
    [Q_DEPTH_ERROR_MM] = { "depth_error_mm", "mm", QS_CAPTURE, false },
    [Q_FORCE_MEAN_N] = { "peak_force_mean_n", "N", QS_CAPTURE, false },
    [Q_FORCE_MIN_N] = { "peak_force_min_n", "N", QS_CAPTURE, false },
    [Q_FORCE_MAX_N] = { "peak_force_max_n", "N", QS_CAPTURE, false },
    [Q_SPINUP_MS] = { "spinup_ms", "ms", QS_CAPTURE_START, false },
    [Q_STOP_MS] = { "stop_ms", "ms", QS_CAPTURE_STOP, false },
    [Q_MOTOR_CURRENT_A] = { "motor_current_a", "A", QS_STATUS, false },
    [Q_SUPPLY_V] = { "supply_v", "V", QS_STATUS, false },
    [Q_FIRMWARE_VERSION] = { "firmware_version", "", QS_IDENTITY, true },
    [Q_PEN_MODEL] = { "pen_model", "", QS_IDENTITY, true },
    [Q_CARTRIDGE_ID] = { "cartridge_id", "", QS_IDENTITY, true },
    [Q_HW_REVISION] = { "hw_revision", "", QS_IDENTITY, false },
    [Q_NEEDLE_COUNT] = { "needle_count", "", QS_IDENTITY, false },
};

const struct quantity_info *quantity_info(enum rig_quantity q)
{
    return (unsigned)q < Q_COUNT_ ? &table[q] : NULL;
}

int quantity_from_name(const char *name)
{
    for (int i = 0; i < Q_COUNT_; i++)
        if (strcmp(name, table[i].name) == 0)
            return i;
    return -1;
}
