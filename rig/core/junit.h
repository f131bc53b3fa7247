/* JUnit XML from a run record: one <testsuite> per run, one <testcase> per
 * measurement (classname = step path, name = measurement name), FAIL as
 * <failure>, ERROR/TIMEOUT/ABORTED as <error>, steps that failed without
 * measurements as their own testcase, and the rig's identity (DUT,
 * station, instruments, sequence and spec hashes) as <properties>. */
#ifndef RIG_CORE_JUNIT_H
#define RIG_CORE_JUNIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* malloc'd XML text, or NULL if out of memory / not a record. */
char *junit_from_record(const cJSON *record);
/* Write it atomically to path. Returns 0 or -errno with message in err. */
int junit_write(const char *path, const cJSON *record, char *err, size_t errlen);

#endif
