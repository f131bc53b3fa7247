/* The run record as a typed structure (the model of docs/RECORD.md), and
 * the sinks that keep it.
 *
 * The executor fills one struct rec_run as a run goes and hands it to its
 * sinks after every change that must survive a crash (the first record,
 * each step, the verdict). A sink turns it into what it keeps: the JSON
 * record file and its attachments (rec_json.c, the per-run evidence), the
 * station database (the history and index), later more. No sink reads
 * another's output, and nothing reads the record back by string keys.
 *
 * Ownership: every string member is malloc'd and owned by the record (NULL
 * where the schema says absent/null); arrays likewise. rec_run_free()
 * releases everything. Numbers that may be absent are NaN (JSON null).
 *
 * rec_from_json() is the inverse of the JSON sink's serialiser: it reads a
 * record file's document back into this structure (import, recompute,
 * reports). rec_to_json(rec_from_json(doc)) equals doc for every record the
 * sink wrote.
 */
#ifndef RIG_CORE_REC_H
#define RIG_CORE_REC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/analysis.h"
#include "core/digest.h"
#include "core/outcome.h"
#include "core/run.h"
#include "core/sequence.h"
#include "core/speclimit.h"
#include "protocol/pen.h"

/* A file kept beside the record: its name (no directory) and SHA-256 of
 * its bytes. name NULL: none. */
struct rec_attachment {
    char *name;
    char sha256[DIGEST_HEX_LEN + 1];
    /* A capture file: SHA-256 of its raw frames (record "samples_sha256",
     * capture_samples_sha256), whatever the file's format; "" for none
     * (other attachments, and records from before rig-capture/2). */
    char samples_sha256[DIGEST_HEX_LEN + 1];
};

/* One judged (or planned and skipped) measurement. */
struct rec_measurement {
    char *name, *quantity, *units; /* units "" for none */
    bool is_text;                  /* text quantity: value in text */
    double value;                  /* NaN: not measured (JSON null) */
    char *text;                    /* text value; NULL: not measured */
    enum lim_cmp comparison;
    double low, high;         /* resolved limits; NaN if the comparison has none */
    char *pattern, *expected; /* MATCH / STREQ limits; NULL otherwise */
    char *limit;              /* the limit as text; NULL for none */
    enum rig_outcome outcome; /* SKIPPED: planned, not run */
    bool marginal;
    char *note; /* why not a plain PASS; NULL if none */
};

/* Zeroing the force channel: before every run, and a "tare" step. */
struct rec_tare {
    bool present;       /* false: no tare recorded here */
    struct timespec at; /* when (UTC) */
    /* How far it got: an op error can end it before the needles were
     * looked at (has_needle_tip false) or before it was decided (has_done
     * false); the record then holds only what was known. */
    bool has_needle_tip, has_done;
    double needle_tip_mm; /* NaN (JSON null): no displacement reading */
    bool done;
    int32_t offset_raw_un;
    double zero_n;
    char *note; /* why not done; NULL when done */
};

/* A capture step's samples and what the analysis made of them. */
struct rec_capture {
    uint64_t samples;
    double rate_hz;
    uint64_t first_sample;
    int64_t start_index, stop_index; /* -1: no such command in the capture */
    struct an_result analysis;       /* flags and error included */
    struct rec_attachment data;      /* rig-capture file; name NULL when not written */
    bool pruned;                     /* data's file deleted by retention (rec_prune) */
    struct timespec pruned_at;       /* when (UTC; record "pruned_utc") */
    struct rec_attachment strokes;   /* per-stroke CSV */
};

/* Where a leaf sits in sweeps/repeats: up to REC_LOOP_MAX (key, value). */
#define REC_LOOP_MAX 8
struct rec_loop {
    size_t n;
    struct {
        char key[24];
        double value;
    } v[REC_LOOP_MAX];
};

struct rec_step {
    unsigned index; /* 1-based execution order; 0 for a SKIPPED step */
    char *section;  /* "setup" | "main" | "teardown" */
    char *path;     /* JSON path in the sequence file, "" if unknown */
    enum step_kind kind;
    char *name; /* NULL if the file does not name it */
    struct rec_loop loop;
    unsigned attempt; /* 0 outside a retry */
    bool superseded;
    bool has_started;
    struct timespec started;
    struct lim_setpoints setpoints; /* NaN: not set */
    double duration_s;              /* NaN for SKIPPED */
    enum rig_outcome outcome;
    bool marginal;
    char *message; /* NULL if none */
    struct rec_measurement *meas;
    size_t nmeas;
    struct rec_tare tare;        /* a tare step */
    struct rec_capture *capture; /* NULL unless a capture step */
};

/* Something the rig did to the bench for this run (rig_ops.rig_actions). */
struct rec_rig_action {
    struct timespec at;
    char *action, *faults, *reason, *pen_serial; /* NULL: absent */
};

struct rec_definition {          /* the sequence or the spec the run used */
    char *file, *name, *version; /* version: spec only (NULL for the sequence) */
    char sha256[DIGEST_HEX_LEN + 1];
    char *policy; /* sequence only: "continue" | "stop-on-first-fail" */
    struct rec_attachment attachment;
};

/* Where "rig_actions" sits among the record's members: the record shows
 * the rig's actions from the write that first had any (after the summary
 * when the first record had them, after the run's tare when a later step
 * write did, at the very end when only the verdict did). */
enum rec_actions_place { REC_ACTIONS_EARLY, REC_ACTIONS_MID, REC_ACTIONS_LATE };

struct rec_run {
    char id[37];
    bool complete;
    enum rig_outcome outcome; /* meaningful only when complete */
    bool marginal;
    char *message; /* the first reason it is not PASS; NULL if none */

    char *dut_serial;      /* as the operator entered it */
    char *reported_serial; /* what the pen said before any step; NULL if not asked */
    bool has_reported;     /* an identify step filled reported */
    struct pen_identity reported;

    char *sw_version, *sw_vcs;
    bool sw_dirty;
    char *operator_name, *station; /* "" when not given */
    struct {                       /* a gauge R&R study's run (rigctl grr) */
        char *id;                  /* NULL: not part of a study */
        unsigned part, trial;      /* 1-based */
    } study;
    char *fixture; /* NULL: engine run outside rigd */
    struct rec_definition sequence, spec;

    struct rig_instrument instruments[RIG_MAX_INSTRUMENTS];
    size_t ninstruments;
    struct rec_tare tare; /* before the run */

    struct timespec started;
    bool has_ended;
    struct timespec ended;
    unsigned retries;
    bool final_stop_sent;
    char *final_stop_result; /* NULL unless sent */
    struct rec_rig_action *rig_actions;
    size_t nrig_actions;
    enum rec_actions_place actions_place;

    struct { /* over the steps that decide the run */
        unsigned steps, measurements, pass, fail, error, marginal;
    } summary;

    struct rec_step *steps;
    size_t nsteps, steps_cap;
};

void rec_run_free(struct rec_run *r);
void rec_step_free(struct rec_step *s);
void rec_measurement_free(struct rec_measurement *m);
void rec_capture_free(struct rec_capture *c);
void rec_rig_actions_free(struct rec_rig_action *a, size_t n);
/* A deep copy of n actions (NULL for none or out of memory). */
struct rec_rig_action *rec_rig_actions_dup(const struct rec_rig_action *a, size_t n);

/* ---- sinks ------------------------------------------------------------ */

/* One keeper of records. Methods return 0 or -errno with a message in err.
 * Called from the run's thread, in this order: open once (refuse the run
 * up front when it cannot be kept: no space, locked for good), attach for
 * each attachment before the first update that names it, update after
 * every change (complete=false) and once with the verdict (complete=true),
 * close once (also when the run was refused before open: close must cope
 * with a sink never opened). A sink may work in the background, but must have made the
 * complete record durable before update(complete=true) returns, and must
 * never let a crash leave an update on disk that names an attachment that
 * is not. */
struct rec_sink_ops {
    const char *name;
    int (*open)(void *sink, const struct rec_run *r, char *err, size_t errlen);
    /* Keep bytes as the attachment "<record stem>.<suffix>"; fill *out
     * (name and SHA-256). flags: REC_ATTACH_*. */
    int (*attach)(void *sink, const char *suffix, const void *buf, size_t len, unsigned flags,
                  struct rec_attachment *out, char *err, size_t errlen);
    int (*attach_capture)(void *sink, const char *suffix, const struct rig_capture *cap,
                          struct rec_attachment *out, char *err, size_t errlen);
    int (*update)(void *sink, const struct rec_run *r, bool complete, char *err, size_t errlen);
    /* Optional: before the verdict, check that every attachment r names
     * that this sink keeps is still as written (a run whose evidence is
     * gone cannot PASS). 0, or -errno with the attachment's name in err. */
    int (*verify)(void *sink, const struct rec_run *r, char *err, size_t errlen);
    void (*close)(void *sink);
};
#define REC_ATTACH_NO_DIR 0x1u /* do not create the results directory for it */

struct rec_sink {
    const struct rec_sink_ops *ops;
    void *impl;
};

/* ---- the JSON record file (rec_json.c) -------------------------------- */

/* The record document of r (docs/RECORD.md). NULL if out of memory. */
cJSON *rec_to_json(const struct rec_run *r);
/* One measurement's entry of that document. NULL if out of memory. */
cJSON *rec_measurement_to_json(const struct rec_measurement *m);
/* Fill *out from a record document; 0, or -EINVAL with what is wrong in
 * err. *out is zeroed first and must be freed with rec_run_free() either
 * way. */
int rec_from_json(const cJSON *doc, struct rec_run *out, char *err, size_t errlen);

/* ---- the JSON record file sink (rec_file.c) --------------------------- */

/* The record file at path (docs/RECORD.md) and its attachments beside it
 * as "<path without .json>.<suffix>": every write atomic (temp file,
 * fsync, rename, fsync of the directory); the first record never replaces
 * a file that exists, later ones replace their own and recreate a vanished
 * directory; an attachment never replaces a file, and recreates a
 * vanished directory unless REC_ATTACH_NO_DIR. Fills *sink; its close
 * frees it (also when it was never opened). -1 with a message if path is
 * unusable (too long). */
extern const struct rec_sink_ops rec_file_sink_ops;
int rec_file_sink_new(const char *path, struct rec_sink *sink, char *err, size_t errlen);
/* The same, with REC_FILE_BACKGROUND: the record versions between the
 * first and the verdict are written by a writer thread, newest only (a
 * version not yet started is replaced by the next), so the run does not
 * wait for their fsyncs. Attachments stay synchronous, so each is durable
 * before any version that names it; the first record and the verdict are
 * durable when update returns; a background write that failed is reported
 * by the next update. A crash can leave the record some versions behind
 * (never torn, never naming what is not on disk). */
#define REC_FILE_BACKGROUND   0x1u
/* Captures as rig-capture/1 (raw frames) rather than the default
 * rig-capture/2 (compressed, lossless; docs/RECORD.md). Either way the
 * record names the file's SHA-256 and its samples' ("samples_sha256"). */
#define REC_FILE_RAW_CAPTURES 0x2u
int rec_file_sink_new_flags(const char *path, unsigned flags, struct rec_sink *sink, char *err,
                            size_t errlen);
/* Record versions the sink wrote and the ones it skipped (coalesced). */
void rec_file_sink_stats(const struct rec_sink *sink, unsigned *written, unsigned *coalesced);

#endif
