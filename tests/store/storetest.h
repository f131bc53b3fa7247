/* The station database tests' helpers: runs built in memory (the typed
 * record, rec.h) and scratch database paths. */
#ifndef TESTS_STORE_STORETEST_H
#define TESTS_STORE_STORETEST_H

#include <stddef.h>
#include <time.h>

#include "core/rec.h"
#include "store/store.h"

/* One measurement of a test run. */
struct tmeas {
    const char *name;
    double value;
    enum rig_outcome outcome;
    enum lim_cmp cmp;
    double low, high;
};

/* A run with id, dut and fixture (NULL: none) started at base + t seconds;
 * outcome set, not yet complete for the sink (the caller says). */
void trun_init(struct rec_run *r, const char *id, const char *dut, const char *fixture, double t,
               enum rig_outcome outcome);
/* Append a main step with these measurements (copied). */
void trun_add_step(struct rec_run *r, const struct tmeas *m, size_t n);
/* Free what trun_* allocated (the record's strings and arrays). */
void trun_free(struct rec_run *r);

/* A run id "00000000-0000-4000-8000-<n as 12 digits>". */
void trun_id(char out[37], unsigned long n);

/* A fresh directory under the build tree; returns "<dir>/<name>" in a
 * static buffer (one at a time). */
const char *scratch_path(const char *name);

/* One integer from SQL on a fresh connection to path (-1 on error). */
long long sql_int(const char *path, const char *sql);

#endif
