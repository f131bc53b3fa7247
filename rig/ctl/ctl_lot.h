/* rigctl report --since ...: the lot (period) report from a results
 * database, written as one HTML file (rig/report/lot_report.h). Reached
 * through ctl_report_dispatch (ctl_report.c). */
#ifndef RIG_CTL_LOT_H
#define RIG_CTL_LOT_H

#include <stdbool.h>

/* argv[0] is "report": is this the lot report (a --since among its
 * arguments)? */
bool ctl_lot_wants(int argc, char **argv);
/* Run it (argv[0] "report"); a ctl_exit code: 0 written, 2 database or
 * write error, 64 usage, 69 line store unreachable. */
int ctl_lot_main(int argc, char **argv);

#endif
