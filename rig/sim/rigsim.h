/* rigsim internals: the simulated bench process.
 *
 * rigsim runs a COMMAND inside a umockdev testbed holding one or more
 * benches (fixtures). Each bench has two emulated devices: the pen (a USB
 * CDC-ACM tty, emulated firmware behind the pty master, main thread) and
 * the sensor head (a usbfs node whose ioctls are answered in umockdev's
 * worker thread). Both talk to the bench's own physics model
 * (rig/sim/model/); all benches share one clock: monotonic time since
 * rigsim start.
 *
 * Threading: the main thread runs the glib main loop (pen emulators,
 * timers, control socket); umockdev's worker thread runs the usbfs ioctl
 * handlers. Everything shared within a bench (its model, its sensor-head
 * emulator state and client list) is guarded by that bench's world lock,
 * so one bench's traffic never waits for another's; the pen emulator's own
 * state (link faults, receiver, cache) is main-thread only, except
 * modem_bits (atomic). Never block while holding a lock, and never hold
 * two world locks at once.
 */
#ifndef RIG_SIM_RIGSIM_H
#define RIG_SIM_RIGSIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>
#include <umockdev.h>

#include "sim/control_parse.h"
#include "sim/model/model.h"

/* ---- the world of one bench: model + clock + lock (world.c) ---- */

/* The USB bus all benches share. A bus address is never given twice, so
 * a re-plugged sensor head gets a number no device of the testbed ever
 * had (as a real host controller counts on). */
struct rs_bus {
    gint next_devnum; /* atomic; 0 = the first is 2, as today */
};
int rs_bus_new_devnum(struct rs_bus *bus);

struct rs_world {
    GMutex lock;
    struct sim_model *model;
    struct sim_params params;
    uint64_t seed;  /* this bench's (rs_bench_seed) */
    unsigned index; /* bench number: its ports, tty and log tag */
    bool tag_logs;  /* several benches: say which in rs_log */
    /* the same in every bench's world (set once before any thread runs,
     * read without a lock) */
    uint64_t t0_ns; /* CLOCK_MONOTONIC at start */
    bool verbose;
    UMockdevTestbed *tb;
    struct rs_bus *bus;
};

/* The seed of bench i: --seed itself for bench 0 (single-bench runs stay
 * as they were), else the i-th output of SplitMix64 started at seed, so
 * two benches from files that differ only in serials are different units. */
uint64_t rs_bench_seed(uint64_t seed, unsigned i);

uint64_t rs_monotonic_ns(void);
/* Simulated time: ns since rigsim start. */
uint64_t rs_world_now(const struct rs_world *w);
/* Take the world lock and advance the model to now. */
void rs_world_enter(struct rs_world *w);
void rs_world_leave(struct rs_world *w);

/* Deterministic per-purpose random numbers (link faults) from the seed. */
struct rs_rng {
    uint64_t s;
};
void rs_rng_seed(struct rs_rng *r, uint64_t seed, uint64_t stream);
double rs_rng_uniform(struct rs_rng *r); /* [0, 1) */

void rs_log(const struct rs_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- pen emulator (pen_emu.c): main thread only ---- */

struct rs_pen_stats {
    uint64_t rx_bytes, tx_bytes;
    uint64_t requests, responses, naks, resent, events;
    uint64_t rx_bad_frames; /* CRC/COBS/short: dropped silently */
    uint64_t tx_dropped_frames, tx_corrupted_bits;
    uint64_t ignored_muted;
    uint32_t plugs, unplugs;
};

struct rs_pen;
struct rs_pen *rs_pen_new(struct rs_world *w);
void rs_pen_free(struct rs_pen *p);
int rs_pen_plug(struct rs_pen *p);   /* add device; 0 or -1 */
int rs_pen_unplug(struct rs_pen *p); /* remove device; 0 or -1 */
bool rs_pen_present(const struct rs_pen *p);
/* Link faults (call with the world lock NOT held; main thread). */
void rs_pen_set_corrupt_ber(struct rs_pen *p, double ber);
void rs_pen_set_drop_prob(struct rs_pen *p, double prob);
void rs_pen_set_mute(struct rs_pen *p, bool mute);
void rs_pen_get_stats(const struct rs_pen *p, struct rs_pen_stats *st);

/* ---- sensor-head emulator (sh_emu.c) ---- */

struct rs_sh_stats {
    uint64_t ioctls, urbs_submitted, urbs_reaped, blocks_sent, samples_sent;
    uint64_t blocks_dropped, blocks_repeated, control_requests, stalls;
    uint32_t plugs, unplugs, devnum;
};

struct rs_sh;
struct rs_sh *rs_sh_new(struct rs_world *w);
void rs_sh_free(struct rs_sh *s);
int rs_sh_plug(struct rs_sh *s); /* new devnum each time */
int rs_sh_unplug(struct rs_sh *s);
bool rs_sh_present(struct rs_sh *s);
/* Stream faults: affect the next n blocks. */
void rs_sh_drop_blocks(struct rs_sh *s, unsigned n);
void rs_sh_repeat_blocks(struct rs_sh *s, unsigned n);
void rs_sh_clear_stream_faults(struct rs_sh *s); /* forget pending drop/repeat */
void rs_sh_get_stats(struct rs_sh *s, struct rs_sh_stats *st);

/* ---- the janitor (janitor.c): cleans up if rigsim is SIGKILLed ---- */

struct rs_janitor;
/* In main() first: if argv says this process is the janitor, run it and
 * return its exit status (>= 0); -1 = not the janitor. */
int rs_janitor_main(int argc, char **argv);
/* Start the janitor (NULL with a message if that fails). */
struct rs_janitor *rs_janitor_start(void);
pid_t rs_janitor_pid(const struct rs_janitor *j); /* 0 for NULL */
/* What to kill (process group) and remove (file or directory tree) if
 * rigsim dies without calling rs_janitor_finish. NULL j: no-op. */
void rs_janitor_watch_pgid(struct rs_janitor *j, pid_t pgid);
void rs_janitor_watch_path(struct rs_janitor *j, const char *path);
/* rigsim cleaned up itself: let the janitor exit, and reap it. */
void rs_janitor_finish(struct rs_janitor *j);

/* ---- faults and the control socket (control.c; parsers in control_parse.h) ---- */

struct rs_bench {
    struct rs_world *world;
    struct rs_pen *pen;
    struct rs_sh *sh;
};

/* ---- the benches of this rigsim (benchset.c) ---- */

/* Numbered 0..n-1 in command-line order. The worlds live here, and the
 * set must not be freed while umockdev's worker thread may still release
 * a client (which takes its world's lock): main keeps it static. */
struct rs_benchset {
    struct rs_bench bench[RS_MAX_BENCHES];
    struct rs_world world[RS_MAX_BENCHES];
    FILE *truth[RS_MAX_BENCHES];
    const char *truth_path[RS_MAX_BENCHES];
    struct rs_bus bus;
    int n;
};

struct rs_bench_options {
    const char *files[RS_MAX_BENCHES]; /* none: one default bench */
    int nfiles;
    const char *truths[RS_MAX_BENCHES]; /* the k-th is bench k's */
    int ntruths;
    uint64_t seed, session;
    bool verbose;
};

/* Load the bench files, refuse serials two benches share, open the truth
 * files and create the models. 0, or -1 after a message on stderr. */
int rs_benchset_load(struct rs_benchset *set, const struct rs_bench_options *o);
/* Start the clock, create the emulators in testbed tb and plug every
 * bench in (pen, then sensor head, bench by bench). 0 or -1. */
int rs_benchset_plug(struct rs_benchset *set, UMockdevTestbed *tb);
/* Free the emulators, then the testbed tb (its directory goes), then the
 * models, and close the truth files: 0, or -1 if a truth file could not
 * be written (said on stderr). */
int rs_benchset_free(struct rs_benchset *set, UMockdevTestbed *tb);
/* Which bench holds pen (or sensor-head) serial `serial`, other than
 * bench `except`: its index, or -1. Main thread. */
int rs_benchset_pen_serial_owner(struct rs_benchset *set, const char *serial, int except);

/* Apply a fault now or schedule it (main thread). 0 or -1 with err. */
int rs_fault_apply(struct rs_bench *b, const struct rs_fault *f, char *err, size_t errlen);

struct rs_control;
/* The control socket of all benches in set: a request's "bench" picks one. */
struct rs_control *rs_control_new(struct rs_benchset *set, const char *path, char *err,
                                  size_t errlen);
void rs_control_free(struct rs_control *c);

/* `rigsim --send LINE`: send one control line, print the reply.
 * Returns the process exit status. */
int rs_control_send(const char *path, const char *line);

#endif
