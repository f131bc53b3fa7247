/* A station database with a known lot for the lot report's tests: 64
 * runs over 2 fixtures with a depth (GELE 0.45..0.75 mm) and a force
 * (LE 2.0 N, one-sided) measurement and the pen's reported model, made
 * to fail, be retested and break the control-chart rules at known runs
 * (see lotfill.c). */
#ifndef TESTS_REPORT_LOTFILL_H
#define TESTS_REPORT_LOTFILL_H

#include "store/store.h"

/* Runs are put from 2026-12-01T00:00:00Z, one a minute. */
#define LOTFILL_SINCE "2026-12-01"
#define LOTFILL_UNTIL "2026-12-02"

/* Put the lot into st; 0 or -errno with a message in err. */
int lotfill(struct store *st, char *err, size_t errlen);

#endif
