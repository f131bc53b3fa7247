/* Retention of capture attachments (docs/RECORD.md "Retention", `rigctl
 * prune`): the raw samples of a unit that passed are kept for a while,
 * those of any other outcome for good.
 *
 * A record qualifies when it is complete, its outcome is PASS and it ended
 * more than pass_days before now. Its capture files (only those: never the
 * record, the per-stroke CSVs, the sequence and spec copies, nor any hash)
 * are then deleted, and the record says so: each capture gains
 * "pruned_utc". The record is rewritten first (atomically, as every record
 * write: temp file, fsync, rename, fsync of the directory) and the files
 * deleted after, so a crash between the two leaves a record that says
 * pruned and a file the next prune deletes -- never a record naming a file
 * that is silently gone. Pruning again changes nothing (idempotent). */
#ifndef RIG_CORE_PRUNE_H
#define RIG_CORE_PRUNE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define PRUNE_DEFAULT_PASS_DAYS 30

struct prune_policy {
    double pass_days; /* PASS records older than this lose their captures */
    time_t now;       /* the clock to judge "older" by (0: time(NULL)) */
    bool dry_run;     /* say what would go, change nothing */
    /* Told of every capture its record says is pruned (now or before),
     * after the record was rewritten and the files deleted, so an index
     * (the station database) can say so too; a crash before it is caught
     * up by the next prune. Not called on a dry run. NULL: none. A
     * failure is the record's error (the files are gone all the same). */
    int (*on_pruned)(void *ctx, const char *run_id, const char *name,
                     const struct timespec *pruned_at, char *err, size_t errlen);
    void *ctx;
};

struct prune_result {
    unsigned records;         /* records looked at */
    unsigned pruned_records;  /* records whose captures went (now) */
    unsigned files;           /* capture files deleted */
    unsigned long long bytes; /* their size */
    unsigned kept_not_pass;   /* FAIL, ERROR, ... or incomplete: kept for good */
    unsigned kept_young;      /* PASS, not old enough yet */
};

/* One record file. Adds to *res; one line per deleted file on out (if not
 * NULL). 0, or -errno with a message (the record unreadable or not
 * rewritable: nothing deleted; -ENODATA: JSON that is not a run record). */
int prune_record(const char *record_path, const struct prune_policy *p, FILE *out,
                 struct prune_result *res, char *err, size_t errlen);

/* Every record in dir (the *.json files that are rig records; the
 * sequence and spec copies are skipped). A record that cannot be pruned is
 * said on out and the others go on; the first error is returned. */
int prune_dir(const char *dir, const struct prune_policy *p, FILE *out, struct prune_result *res,
              char *err, size_t errlen);

#endif
