/* JUnit XML from a run record: one <testsuite> per run (time = the run's
 * wall time), one <testcase> per measurement (classname = step path, name =
 * measurement name plus the step's setpoints, unique within the run; time =
 * its share of its step's time), FAIL as <failure>, ERROR/TIMEOUT/ABORTED
 * as <error>, measurements not run (stop-on-first-fail, a failed setup, an
 * abort) as <skipped>, steps that failed without measurements as their own
 * testcase, and a last testcase "run"/"verdict" carrying the run's outcome,
 * so that every outcome but PASS shows as a failure or an error even when
 * nothing was measured. The rig's identity (DUT, station, instruments,
 * sequence and spec hashes) goes into <properties>. */
#ifndef RIG_CORE_JUNIT_H
#define RIG_CORE_JUNIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* What the front end was told about the run (rigd's "finished" event):
 * when the record on disk is incomplete or says otherwise, the verdict
 * case shows this outcome (never PASS) and why. NULL members = unknown. */
struct junit_verdict {
    const char *outcome;
    const char *reason;
};

/* malloc'd XML text, or NULL if out of memory / not a record. */
char *junit_from_record(const cJSON *record);
char *junit_from_record_verdict(const cJSON *record, const struct junit_verdict *v);
/* Write it atomically to path. Returns 0 or -errno with message in err. */
int junit_write(const char *path, const cJSON *record, char *err, size_t errlen);
int junit_write_verdict(const char *path, const cJSON *record, const struct junit_verdict *v,
                        char *err, size_t errlen);

#endif
