/* rigctl's engine-backed functions (see ctl_core.h). */
#include "ctl_core.h"

#include <stdlib.h>

#include "ctl_args.h"
#include "junit.h"
#include "outcome.h"
#include "record.h"
#include "sequence.h"

bool ctl_have_core(void)
{
	return true;
}

/* check_file() tells sequences and spec files apart and reports every
 * problem as `file: json.path: message`. */

int ctl_check_files(char **files, int nfiles, FILE *out, FILE *err)
{
	int rc = CTL_EXIT_OK;
	for (int i = 0; i < nfiles; i++) {
		struct rig_problems problems;
		problems_init(&problems);
		const char *kind = "";
		int r = check_file(files[i], &problems, &kind);
		for (size_t k = 0; k < problems.count; k++)
			fprintf(out, "%s\n", problems.msg[k] ? problems.msg[k] : "(out of memory)");
		if (problems.oom)
			fprintf(err, "rigctl: check: out of memory; %s may have more problems\n", files[i]);
		if (r != 0 || problems_any(&problems)) {
			rc = CTL_EXIT_FAIL;
		} else {
			fprintf(out, "%s: ok (%s)\n", files[i], kind && *kind ? kind : "file");
		}
		problems_free(&problems);
	}
	return rc;
}

int ctl_write_junit(const char *record_path, const char *junit_path, FILE *err)
{
	char msg[512];
	cJSON *record = record_read(record_path, msg, sizeof msg);
	if (!record) {
		fprintf(err, "rigctl: --junit: cannot read run record %s: %s\n", record_path, msg);
		return -1;
	}
	int r = junit_write(junit_path, record, msg, sizeof msg);
	cJSON_Delete(record);
	if (r < 0) {
		fprintf(err, "rigctl: --junit: cannot write %s: %s\n", junit_path, msg);
		return -1;
	}
	return 0;
}
