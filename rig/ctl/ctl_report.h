/* rigctl report: static HTML reports (docs/REPORTS.md). Reads record
 * files and the station database directly; never talks to rigd.
 *
 *   rigctl report RUN [-o FILE] [--station-db DB | --config STATION.JSON]
 *
 * RUN is a record file, or a run id (or a unique prefix of 8+ characters)
 * looked up in the station database for its record path. The database,
 * when given, also supplies the run's attempt number and retest reason.
 *
 * The command has its own option parser (a table of modes, ctl_report.c)
 * so report kinds (the lot report, studies) are added there without
 * touching rigctl's common parser. */
#ifndef RIG_CTL_REPORT_H
#define RIG_CTL_REPORT_H

/* -1 when argv is not a `report` command (after rigctl's global
 * options); otherwise runs it and returns rigctl's exit code: 0 written,
 * 2 the report could not be made, 64 usage. */
int ctl_report_dispatch(int argc, char **argv);

#endif
