/* Test sequence files (format "rig-sequence/1", see docs/FILES.md).
 *
 * A sequence names its spec file by a path relative to the sequence file;
 * loading a sequence loads and validates that spec too and checks every
 * reference: each measurement a step evaluates must exist in the spec and
 * be measurable by that step (identity checks in identify, spin-up only in
 * a capture that includes the start command, ...). */
#ifndef RIG_CORE_SEQUENCE_H
#define RIG_CORE_SEQUENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/digest.h"
#include "core/speclimit.h"
#include "core/outcome.h"
#include "core/spec.h"

#define SEQUENCE_FORMAT "rig-sequence/1"

enum step_kind {
    STEP_IDENTIFY,
    STEP_CONFIGURE,
    STEP_START,
    STEP_STOP,
    STEP_SETTLE,
    STEP_CAPTURE,
    STEP_TARE,
    STEP_SWEEP,
    STEP_REPEAT,
    STEP_RETRY,
    STEP_KIND_COUNT_
};
const char *step_kind_str(enum step_kind k);

enum capture_with {
    CAPTURE_PLAIN, /* motor state unchanged during the capture */
    CAPTURE_START, /* the start command is sent inside the capture */
    CAPTURE_STOP,  /* the stop command is sent inside the capture */
};

enum seq_policy { POLICY_STOP_ON_FIRST_FAIL, POLICY_CONTINUE };

struct seq_step {
    enum step_kind kind;
    char *name;       /* user label or NULL */
    char *path;       /* JSON path in the file, e.g. "$.main[2]" */
    double timeout_s; /* NaN = default (see run.h) */
    /* identify, capture */
    char **evaluate;
    size_t nevaluate;
    /* configure */
    bool has_rate, has_depth;
    struct lim_value rate_hz, depth_mm; /* number or $rate_hz / $depth_mm */
    /* settle, capture: seconds (capture: 0 when strokes is used) */
    double seconds;
    unsigned strokes; /* capture by stroke count, 0 = by seconds */
    enum capture_with with;
    double pre_s; /* capture with start/stop: lead-in before the command */
    /* sweep */
    double *rates_hz, *depths_mm;
    size_t nrates, ndepths;
    /* repeat: count; retry: attempts (total tries) */
    unsigned count;
    struct seq_step *body; /* sweep, repeat, retry */
    size_t nbody;
};

struct rig_sequence {
    char *file;
    char sha256[DIGEST_HEX_LEN + 1];
    char *text; /* the bytes parsed and hashed (NUL-terminated) */
    size_t text_len;
    char *name, *description;
    char *spec_ref;        /* as written in the file */
    char *spec_path;       /* resolved against the sequence's directory */
    struct rig_spec *spec; /* owned; NULL only from sequence_parse(spec=NULL) */
    bool spec_owned;
    enum seq_policy policy;
    struct seq_step *setup, *main, *teardown;
    size_t nsetup, nmain, nteardown;
};

/* Load a sequence file and the spec it names, validating both and every
 * reference between them. NULL with all problems added on failure. */
struct rig_sequence *sequence_load(const char *path, struct rig_problems *problems);
/* Validate from memory (buf[len] must be '\0'). With spec != NULL the
 * references are checked against it (not owned); with NULL, the "spec" key
 * is only checked to be a string and references are not checked. */
struct rig_sequence *sequence_parse(const char *label, const char *buf, size_t len,
                                    const struct rig_spec *spec, struct rig_problems *problems);
/* From the contents of a sequence and of the spec it names (both
 * NUL-terminated at [len]): what a front end sends when it read the files
 * with its own user's rights. The labels (the files' paths) name them in
 * problems and in the record. NULL with every problem added. */
struct rig_sequence *sequence_from_texts(const char *seq_label, const char *seq_text,
                                         size_t seq_len, const char *spec_label,
                                         const char *spec_text, size_t spec_len,
                                         struct rig_problems *problems);
/* The path a sequence file's "spec" reference names (relative to the
 * sequence's directory); malloc'd, NULL if out of memory. */
char *sequence_resolve_spec(const char *seq_file, const char *ref);
void sequence_free(struct rig_sequence *s);

/* Leaf steps one pass through setup + main + teardown will execute (sweeps
 * and repeats expanded, retries counted once): for progress bars. */
size_t sequence_leaf_count(const struct rig_sequence *s);
/* Upper bound of the seconds a run of s can capture (every loop expanded,
 * every retry attempt, strokes at slowest_hz): what its attachments need
 * on disk is this times the sample rate times the frame size. */
double sequence_capture_seconds(const struct rig_sequence *s, double slowest_hz);

/* Validate a file of either kind, detected from its "format" key (or, if
 * absent, from its keys). Returns 0 if valid, 1 if there were problems
 * (added to problems). kind_out (optional) gets "spec", "sequence" or "". */
int check_file(const char *path, struct rig_problems *problems, const char **kind_out);

#endif
