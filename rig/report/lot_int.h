/* Inside the lot report: the per-measurement section (lot_chart.c) that
 * the page (lot_report.c) writes for each population. Not for callers of
 * lot_report.h. */
#ifndef RIG_REPORT_LOT_INT_H
#define RIG_REPORT_LOT_INT_H

#include "report/html.h"
#include "report/lot_report.h"
#include "store/store_lot.h"

/* Histogram, capability figures, control chart and rule violations of
 * population s (the ix-th of the lot, for unique plot ids). 0 or -ENOMEM
 * (the writer's own errors are sticky in h). */
int lot_measurement(struct html *h, const struct store_lot *lot, const struct store_lot_series *s,
                    size_t ix, const struct lot_report_opts *o);

/* "2026-12-01T10:00:00.000000Z" as "2026-12-01 10:00:00" (what fits). */
void lot_time(char *out, size_t n, const char *utc);

#endif
