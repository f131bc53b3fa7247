/* rigctl report --since ...: the lot (period) report from a results
 * database, written as one HTML file (rig/report/lot_report.h). */
#ifndef RIG_CTL_LOT_H
#define RIG_CTL_LOT_H

/* When argv is `rigctl report ... --since ...`, run it and return a
 * ctl_exit code (0 written, 2 database or write error, 64 usage, 69 line
 * store unreachable); otherwise -1 (not this command). */
int ctl_lot_dispatch(int argc, char **argv);

#endif
