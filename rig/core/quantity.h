/* The quantities the engine can measure, by name, with their units and
 * where their value comes from. Spec measurements name one of these. */
#ifndef RIG_CORE_QUANTITY_H
#define RIG_CORE_QUANTITY_H

#include <stdbool.h>

enum rig_quantity {
    Q_STROKE_COUNT, /* capture */
    Q_STROKE_RATE_HZ,
    Q_RATE_ERROR_PCT, /* (rate - set) / set * 100 */
    Q_JITTER_PCT,
    Q_DEPTH_MEAN_MM,
    Q_DEPTH_MIN_MM,
    Q_DEPTH_MAX_MM,
    Q_DEPTH_STD_MM,
    Q_DEPTH_ERROR_MM, /* mean - set */
    Q_FORCE_MEAN_N,
    Q_FORCE_MIN_N,
    Q_FORCE_MAX_N,
    Q_SPINUP_MS,       /* capture with "with": "start" */
    Q_STOP_MS,         /* capture with "with": "stop" */
    Q_MOTOR_CURRENT_A, /* pen status at the end of a capture */
    Q_SUPPLY_V,
    Q_FIRMWARE_VERSION, /* identity (strings unless noted) */
    Q_PEN_MODEL,
    Q_CARTRIDGE_ID,
    Q_HW_REVISION,  /* identity, numeric */
    Q_NEEDLE_COUNT, /* identity, numeric */
    Q_COUNT_
};

enum q_source {
    QS_CAPTURE,       /* any capture */
    QS_CAPTURE_START, /* capture that includes the start command */
    QS_CAPTURE_STOP,  /* capture that includes the stop command */
    QS_STATUS,        /* pen status read at the end of a capture */
    QS_IDENTITY,      /* identify step */
};

struct quantity_info {
    const char *name;
    const char *units; /* "" for strings and counts */
    enum q_source source;
    bool is_string;
};

const struct quantity_info *quantity_info(enum rig_quantity q);
int quantity_from_name(const char *name); /* -1 if unknown */

#endif
