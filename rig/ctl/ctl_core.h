/* rigctl's uses of the engine library (rig/core): local validation of the
 * JSON files users write, reading a run's files with the user's rights,
 * and JUnit XML from a run record. */
#ifndef RIG_CTL_CORE_H
#define RIG_CTL_CORE_H

#include <stdbool.h>
#include <stdio.h>

/* Validates each file (sequence or spec limits, told apart by content),
 * printing every problem as `file: json.path: message` to `out`.
 * Returns a ctl_exit code: 0 all valid, 1 problems found, 2 cannot check. */
int ctl_check_files(char **files, int nfiles, FILE *out, FILE *err);

/* Recomputes each record (rig/core/recompute.h), printing every
 * difference as `record: where: what` to out and a summary line per
 * record. Returns 0 all agree, 1 a difference, 2 a record unreadable. */
int ctl_recompute(char **records, int n, bool json, FILE *out, FILE *err);

/* Retention (rig/core/prune.h) over each path, a record or a directory
 * of records: pass_days < 0 for the default. One line per deleted file
 * and a summary on out (one JSON object with json). Returns 0, or 2 if
 * some record could not be pruned (said on err). */
int ctl_prune(char **paths, int n, double pass_days, bool dry_run, const char *station_db,
              bool json, FILE *out, FILE *err);
/* The station database an offline command (report, grr) reads:
 * station_db as given, else the "database" of the station config
 * `config` with its paths resolved as rigd resolves them; neither: "".
 * 0 with the path in out; -EINVAL (the config cannot be read or is
 * invalid) or -ENOENT (the station keeps no database), with a message in
 * err. */
int ctl_station_db(const char *station_db, const char *config, char *out, size_t outlen, char *err,
                   size_t errlen);
/* The same over the station config's results directory and database,
 * pass_days (< 0) from its "retention" (rig-prune.timer). */
int ctl_prune_config(const char *config, double pass_days, bool dry_run, bool json, FILE *out,
                     FILE *err);

/* Reads the run record at record_path and writes JUnit XML to junit_path.
 * outcome/reason: what rigd's "finished" event said (NULL if unknown); a
 * record that is incomplete or says otherwise is reported as an error,
 * and an unreadable one gives JUnit with the event's verdict alone.
 * 0 on success, -1 after printing why to err. */
int ctl_write_junit(const char *record_path, const char *junit_path, const char *run_id,
                    const char *outcome, const char *reason, FILE *err);

/* A run's files as rigctl's user can read them: the sequence and the spec
 * it names, their canonical paths and their contents (sent to rigd, which
 * never reads a client's files with its own rights). */
struct ctl_run_files {
    char *seq_path, *seq_text, *spec_path, *spec_text;
};
/* 0, or -1 after printing every problem (`file: json.path: message`) or
 * why a file cannot be read to err. */
int ctl_run_files_load(const char *sequence, struct ctl_run_files *out, FILE *err);
void ctl_run_files_free(struct ctl_run_files *f);

#endif
