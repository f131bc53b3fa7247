/* Calibration dates as instruments carry them: YYYYMMDD as a u32 (the
 * sensor head's GET_CAL, SENSOR.md 3.2), 0 = none. One definition of
 * "overdue" for every part that judges it (the drivers that report it and
 * the engine that refuses to measure with it): an instrument may be used
 * through its due date, UTC, and is overdue from the next day on. */
#ifndef RIG_PROTOCOL_CALDATE_H
#define RIG_PROTOCOL_CALDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The UTC calendar day of t as YYYYMMDD (0 if t cannot be converted). */
uint32_t caldate_utc(time_t t);
/* True when an instrument due on `due` must not be used on `today`. */
bool caldate_overdue(uint32_t due, uint32_t today);

#endif
