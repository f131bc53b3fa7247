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
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
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

/* The store's sink, paced and timed. Every update writes the whole run
 * (store.h), so progress updates closer than RUNSTORE_PROGRESS_US to the
 * last write are passed over: the next write carries them. The run's
 * first version (open) and its verdict are always written; a crash leaves
 * the run in the database as incomplete, at most that far behind its
 * record file (the evidence of the steps; `rigctl import` puts an
 * incomplete run again from its file). What the database adds to the
 * run's cycle is the time the worker spends in its calls (run->db_ns,
 * logged when the run finishes). */
#define RUNSTORE_PROGRESS_US 1000000u

struct timed_sink {
    struct rec_sink inner;
    struct run *run;
    uint64_t last_ns; /* the last write's start */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void account(struct timed_sink *s, uint64_t t0)
{
    s->run->db_ns += now_ns() - t0;
    s->run->db_calls++;
}

static int t_open(void *impl, const struct rec_run *r, char *err, size_t errlen)
{
    struct timed_sink *s = impl;
    uint64_t t0 = now_ns();
    s->last_ns = t0;
    int rc = s->inner.ops->open(s->inner.impl, r, err, errlen);
    account(s, t0);
    return rc;
}

static int t_attach(void *impl, const char *suffix, const void *buf, size_t len, unsigned flags,
                    struct rec_attachment *out, char *err, size_t errlen)
{
    struct timed_sink *s = impl;
    return s->inner.ops->attach(s->inner.impl, suffix, buf, len, flags, out, err, errlen);
}

static int t_attach_capture(void *impl, const char *suffix, const struct rig_capture *cap,
                            struct rec_attachment *out, char *err, size_t errlen)
{
    struct timed_sink *s = impl;
    return s->inner.ops->attach_capture(s->inner.impl, suffix, cap, out, err, errlen);
}

static int t_update(void *impl, const struct rec_run *r, bool complete, char *err, size_t errlen)
{
    struct timed_sink *s = impl;
    uint64_t t0 = now_ns();
    if (!complete && t0 - s->last_ns < RUNSTORE_PROGRESS_US * 1000ull)
        return 0;
    s->last_ns = t0;
    int rc = s->inner.ops->update(s->inner.impl, r, complete, err, errlen);
    account(s, t0);
    return rc;
}

static int t_verify(void *impl, const struct rec_run *r, char *err, size_t errlen)
{
    struct timed_sink *s = impl;
    return s->inner.ops->verify ? s->inner.ops->verify(s->inner.impl, r, err, errlen) : 0;
}

static void t_close(void *impl)
{
    struct timed_sink *s = impl;
    if (s->inner.ops->close)
        s->inner.ops->close(s->inner.impl);
    free(s);
}

static const struct rec_sink_ops timed_ops = {
    .name = "station database",
    .open = t_open,
    .attach = t_attach,
    .attach_capture = t_attach_capture,
    .update = t_update,
    .verify = t_verify,
    .close = t_close,
};

int runstore_sink(struct run *run, struct rec_sink *out, char *err, size_t errlen)
{
    struct store *st = run->rn->bench->rigd->store;
    if (!st)
        return 1;
    struct timed_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = store_sink_init(&s->inner, st, run->record_path, err, errlen);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->run = run;
    *out = (struct rec_sink){ .ops = &timed_ops, .impl = s };
    return 0;
}
