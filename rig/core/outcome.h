/* Outcomes shared by measurements, steps and runs, and a collector of
 * validation problems ("file: json.path: message"). */
#ifndef RIG_CORE_OUTCOME_H
#define RIG_CORE_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered by precedence when outcomes are combined (see outcome_worse):
 * an operator abort wins over everything, a rig problem over a pen
 * verdict, and a FAIL over a PASS. SKIPPED = never ran (after a
 * stop-on-first-fail); it does not change a combined outcome. */
enum rig_outcome {
    OUTCOME_SKIPPED = 0,
    OUTCOME_PASS = 1,
    OUTCOME_FAIL = 2,
    OUTCOME_TIMEOUT = 3,
    OUTCOME_ERROR = 4,
    OUTCOME_ABORTED = 5,
};

/* "PASS", "FAIL", ... */
const char *outcome_str(enum rig_outcome o);
/* Parse an outcome name; -1 if unknown. */
int outcome_from_str(const char *s);
/* Process exit status for a run's outcome, shared by every front end:
 * 0 PASS (marginal included), 1 FAIL, 2 ERROR / TIMEOUT / ABORTED.
 * (Usage errors are the caller's own code, e.g. 64.) */
int outcome_exit_code(enum rig_outcome o);
/* The more severe of two outcomes (SKIPPED is the identity). */
enum rig_outcome outcome_worse(enum rig_outcome a, enum rig_outcome b);

/* Every problem found in a user file, in the order found. */
struct rig_problems {
    char **msg; /* count entries; an entry is NULL if out of memory */
    size_t count, cap;
    bool oom; /* some problems could not be stored at all */
};

/* True if any problem was found (stored or not). */
bool problems_any(const struct rig_problems *p);

void problems_init(struct rig_problems *p);
void problems_free(struct rig_problems *p);
/* Append "file: path: message". Out of memory is reported on stderr and
 * flagged so validation never passes by accident. */
void problems_add(struct rig_problems *p, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Append a line already formatted as "file: path: message". */
void problems_add_line(struct rig_problems *p, const char *line);

#endif
