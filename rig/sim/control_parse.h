/* rigsim's parsers, free of I/O and of the bench: "--fault" specs and the
 * control-socket request lines. Pure functions (input -> parsed value or an
 * error message), so they can be unit tested and fuzzed on their own.
 */
#ifndef RIG_SIM_CONTROL_PARSE_H
#define RIG_SIM_CONTROL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Benches one rigsim can present (--bench, repeatable). */
#define RS_MAX_BENCHES 8

enum rs_link_fault {
    RS_LF_PEN_UNPLUG,
    RS_LF_PEN_REPLUG,
    RS_LF_SENSOR_UNPLUG,
    RS_LF_SENSOR_REPLUG,
    RS_LF_PEN_CORRUPT,
    RS_LF_PEN_DROP,
    RS_LF_PEN_MUTE,
    RS_LF_SENSOR_DROP_BLOCK,
    RS_LF_SENSOR_REPEAT_BLOCK,
    RS_LF_COUNT_
};

/* A parsed fault: either a model fault or a link fault. */
struct rs_fault {
    int bench; /* "--fault N:...": 0..RS_MAX_BENCHES-1, default 0 */
    bool is_model;
    int kind;    /* enum sim_fault_kind or enum rs_link_fault */
    double at_s; /* offset from rigsim start (specs) or from now */
    bool has_at;
    double value;
    bool has_value;
    double replug_after_s; /* unplug kinds: < 0 = stay unplugged */
};

/* Parse "[BENCH:]KIND[@SECONDS][=VALUE]" (BENCH: decimal, default 0;
 * whether that bench exists is the caller's to check). 0 or -1 with a
 * message in err. */
int rs_fault_parse(const char *spec, struct rs_fault *f, char *err, size_t errlen);
const char *rs_link_fault_name(enum rs_link_fault k);

/* One control-socket request line (docs/RIGSIM.md, "Control socket"). */
enum rs_ctl_kind {
    RS_CTL_FAULT,
    RS_CTL_CLEAR,
    RS_CTL_QUERY,
    RS_CTL_SWAP_PEN,
    RS_CTL_REMOUNT,
    RS_CTL_SESSION,
};

enum rs_ctl_query {
    RS_Q_PEN,
    RS_Q_SENSOR,
    RS_Q_STATS,
    RS_Q_TIME,
};

struct rs_ctl_request {
    /* "bench": N, the bench acted on (default 0); 0..RS_MAX_BENCHES-1 here,
     * whether it exists is the caller's to check */
    int bench;
    enum rs_ctl_kind kind;
    enum rs_ctl_query query; /* RS_CTL_QUERY */
    struct rs_fault fault;   /* RS_CTL_FAULT */
    /* RS_CTL_FAULT with "after": fault.at_s counts from the time the
     * request is applied, not from rigsim's start ("at") */
    bool at_from_now;
    /* RS_CTL_SWAP_PEN: the next unit's seed and serial, and how long the
     * port stays unplugged between the two pens */
    unsigned long long swap_seed;
    char swap_serial[17];
    double swap_gap_s;
    /* RS_CTL_SESSION: the new session's seed */
    unsigned long long session_seed;
};

/* Parse one line (without its newline). 0, or -1 with a message in err. */
int rs_control_parse(const char *line, struct rs_ctl_request *req, char *err, size_t errlen);

#endif
