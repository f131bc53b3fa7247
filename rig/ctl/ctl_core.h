/* rigctl's uses of the engine library (rig/core): local validation of the
 * JSON files users write, and JUnit XML from a run record. ctl_core.c
 * implements them with rig/core; ctl_core_stub.c, used when the engine is
 * not part of the build, reports that they are unavailable. */
#ifndef RIG_CTL_CORE_H
#define RIG_CTL_CORE_H

#include <stdbool.h>
#include <stdio.h>

/* Validates each file (sequence or spec limits, told apart by content),
 * printing every problem as `file: json.path: message` to `out`.
 * Returns a ctl_exit code: 0 all valid, 1 problems found, 2 cannot check. */
int ctl_check_files(char **files, int nfiles, FILE *out, FILE *err);

/* Reads the run record at record_path and writes JUnit XML to junit_path.
 * 0 on success, -1 after printing why to err. */
int ctl_write_junit(const char *record_path, const char *junit_path, FILE *err);

/* False when this rigctl was built without the engine (the functions
 * above then only report that). */
bool ctl_have_core(void);

#endif
