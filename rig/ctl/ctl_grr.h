/* rigctl grr: gauge R&R studies (docs/REPORTS-grr.md). `grr plan` makes
 * a randomised run order, keeps it in the station database (store/study.h)
 * and walks the operators through it, each run through rigd; `grr
 * analyse` computes the study (core/grr.h) from the database.
 */
#ifndef RIG_CTL_GRR_H
#define RIG_CTL_GRR_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "ctl/ctl_args.h"

/* argv[0] is "grr"; the globals (socket, fixture, json, timeout) come
 * from a. Returns a ctl_exit code. */
int ctl_grr(const struct ctl_args *a, int argc, char **argv);

/* One run through rigd, as `rigctl run` makes it, with the study, part
 * and trial on the run (API minor 4), waiting for its end (ctl_grr_run.c). out: the "finished" event (caller frees), or NULL
 * when the run was refused or the connection failed (said on stderr).
 * Returns a ctl_exit code of the outcome. */
int ctl_grr_run_one(const struct ctl_args *a, const char *sequence, const char *dut,
                    const char *operator_name, const char *study, unsigned part, unsigned trial,
                    cJSON **finished);

/* The analysis of a study (ctl_grr_analyse.c): every numeric measurement,
 * or the one named; tables on stdout, or one JSON object with json; html
 * (may be NULL): also the study's HTML report there (report/grr_report.h). */
int ctl_grr_analyse(const char *db_path, const char *study, const char *measurement, bool json,
                    const char *html);

#endif
