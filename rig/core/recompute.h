/* Recompute a run record from itself and its attachments alone (docs/RECORD.md
 * "Recomputable", `rigctl recompute`): every capture is read back (its
 * SHA-256 checked) and analysed again with the command indices and
 * setpoints the record holds; every measurement is judged again against the
 * spec attached to the record (its hash checked), with the values that come
 * from no capture (pen status, identity) as recorded; the per-stroke files
 * are regenerated and compared byte for byte; step and run outcomes are
 * checked against their measurements. Numbers are compared exactly: the
 * record stores doubles so that they read back bit for bit, and the same
 * software gives the same result. Any difference is one line on `out`:
 *
 *   step 7 ($.main[2]) run.cap3.bin: analysis.depth_mean_mm: recorded 1.0102, recomputed 1.0103
 *
 * A newer analysis may legitimately differ from the one that judged the run
 * (`software.vcs` says which that was); the report shows by how much.
 *
 * A capture file is checked twice: the file's SHA-256 ("sha256") and,
 * decoded, its samples' ("samples_sha256", rig-capture/2 onwards). A
 * capture deleted by retention ("pruned_utc") is said on out but is not a
 * difference: its measurements stand as recorded. */
#ifndef RIG_CORE_RECOMPUTE_H
#define RIG_CORE_RECOMPUTE_H

#include <stdio.h>

struct recompute_result {
    unsigned captures;     /* analysed again */
    unsigned pruned;       /* captures deleted by retention (not differences) */
    unsigned measurements; /* judged again */
    unsigned steps;        /* steps checked (not SKIPPED) */
    unsigned differences;  /* lines written */
    int incomplete;        /* the record says the run did not finish */
};

/* 0: everything agrees; 1: something differs or could not be recomputed
 * (each said on out); -1: the record itself cannot be read (err). */
int recompute_record(const char *record_path, FILE *out, struct recompute_result *res, char *err,
                     size_t errlen);

#endif
