/* The station results database's part in a run (runner layer): before a
 * run starts or queues, the database must be able to take it (writable,
 * room on its disk) and the DUT serial must have an attempt left under the
 * station's "max_attempts"; the worker then writes the run through the
 * store's record sink beside the JSON record file (docs/STORE.md).
 *
 * One store connection (rigd->store) is shared by every bench's worker:
 * SQLite takes one writer at a time anyway, and the store's mutex queues
 * the benches' commits in the process instead of making them wait out
 * each other's file locks (SQLITE_BUSY). The event thread reads the
 * attempts on a connection of its own (rigd->store_loop), so it never
 * waits behind a worker's commit.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/runner_int.h"
#include "store/store.h"

/* Room the database needs for a run (its rows and WAL growth): EOL runs
 * take tens of KB, so this is margin, not a measure. */
#define RUNSTORE_SPACE_MARGIN (8ull << 20)

/* The database file and its directory (for -wal, -shm and journal files)
 * are writable and have room. 0, or -1 after replying the error. */
static int check_writable(struct bench *bench, struct api_client *c, const cJSON *req)
{
    const char *db = bench->rigd->cfg.database;
    char dir[sizeof bench->rigd->cfg.database];
    snprintf(dir, sizeof dir, "%s", db);
    char *d = dirname(dir);
    if (access(db, W_OK) < 0 || access(d, W_OK | X_OK) < 0) {
        api_error(c, req, API_E_DATABASE,
                  "the station database %s is not writable (%s): runs are refused until it is, "
                  "so that no result is lost (nothing was tested)",
                  db, strerror(errno));
        return -1;
    }
    struct statvfs vfs;
    if (statvfs(d, &vfs) == 0) {
        unsigned long long have = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        if (have < RUNSTORE_SPACE_MARGIN) {
            api_error(c, req, API_E_NO_SPACE,
                      "the station database's disk (%s) has %llu MB free; a run needs %llu MB: "
                      "free space before testing (nothing was tested)",
                      d, have >> 20, RUNSTORE_SPACE_MARGIN >> 20);
            return -1;
        }
    }
    return 0;
}

int runstore_check(struct bench *bench, struct api_client *c, const cJSON *req, const char *dut,
                   unsigned *attempt)
{
    struct rigd *r = bench->rigd;
    *attempt = 0;
    if (!r->store_loop)
        return 0;
    if (check_writable(bench, c, req) < 0)
        return -1;
    char err[256];
    int rc = store_next_attempt(r->store_loop, dut, attempt, err, sizeof err);
    if (rc < 0) {
        api_error(c, req, API_E_DATABASE,
                  "the station database cannot say which attempt this is: %s (nothing was "
                  "tested)",
                  err);
        return -1;
    }
    if (r->cfg.max_attempts && *attempt > r->cfg.max_attempts) {
        api_error(c, req, API_E_NO_ATTEMPTS,
                  "DUT %s has had its %u attempt%s (the station's max_attempts): no further run "
                  "(nothing was tested)",
                  dut, r->cfg.max_attempts, r->cfg.max_attempts == 1 ? "" : "s");
        return -1;
    }
    return 0;
}

int runstore_sink(struct run *run, struct rec_sink *out, char *err, size_t errlen)
{
    struct store *st = run->rn->bench->rigd->store;
    if (!st)
        return 1;
    return store_sink_init(out, st, run->record_path, err, errlen);
}
