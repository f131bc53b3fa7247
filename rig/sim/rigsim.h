/* rigsim internals: the simulated bench process.
 *
 * rigsim runs a COMMAND inside a umockdev testbed in which two emulated
 * devices exist: the pen (a USB CDC-ACM tty, emulated firmware behind the
 * pty master, main thread) and the sensor head (a usbfs node whose ioctls
 * are answered in umockdev's worker thread). Both talk to one physics model
 * (rig/sim/model/) driven by one clock: monotonic time since rigsim start.
 *
 * Threading: the main thread runs the glib main loop (pen emulator, timers,
 * control socket); umockdev's worker thread runs the usbfs ioctl handler.
 * Everything shared (the model, the sensor-head emulator state and its
 * client list) is guarded by the single world lock; the pen emulator's own
 * state (link faults, receiver, cache) is main-thread only, except
 * modem_bits (atomic). Never block while holding the lock.
 */
#ifndef RIG_SIM_RIGSIM_H
#define RIG_SIM_RIGSIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>
#include <umockdev.h>

#include "control_parse.h"
#include "model/model.h"

/* ---- the world: model + clock + lock (world.c) ---- */

struct rs_world {
    GMutex lock;
    struct sim_model *model;
    struct sim_params params;
    uint64_t t0_ns;             /* CLOCK_MONOTONIC at start */
    uint64_t seed;
    bool verbose;
    UMockdevTestbed *tb;
};

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
double rs_rng_uniform(struct rs_rng *r);      /* [0, 1) */

void rs_log(const struct rs_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- pen emulator (pen_emu.c): main thread only ---- */

struct rs_pen_stats {
    uint64_t rx_bytes, tx_bytes;
    uint64_t requests, responses, naks, resent, events;
    uint64_t rx_bad_frames;     /* CRC/COBS/short: dropped silently */
    uint64_t tx_dropped_frames, tx_corrupted_bits;
    uint64_t ignored_muted;
    uint32_t plugs, unplugs;
};

struct rs_pen;
struct rs_pen *rs_pen_new(struct rs_world *w);
void rs_pen_free(struct rs_pen *p);
int rs_pen_plug(struct rs_pen *p);          /* add device; 0 or -1 */
int rs_pen_unplug(struct rs_pen *p);        /* remove device; 0 or -1 */
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
int rs_sh_plug(struct rs_sh *s);            /* new devnum each time */
int rs_sh_unplug(struct rs_sh *s);
bool rs_sh_present(struct rs_sh *s);
/* Stream faults: affect the next n blocks. */
void rs_sh_drop_blocks(struct rs_sh *s, unsigned n);
void rs_sh_repeat_blocks(struct rs_sh *s, unsigned n);
void rs_sh_clear_stream_faults(struct rs_sh *s);   /* forget pending drop/repeat */
void rs_sh_get_stats(struct rs_sh *s, struct rs_sh_stats *st);

/* ---- the janitor (janitor.c): cleans up if rigsim is SIGKILLed ---- */

struct rs_janitor;
/* In main() first: if argv says this process is the janitor, run it and
 * return its exit status (>= 0); -1 = not the janitor. */
int rs_janitor_main(int argc, char **argv);
/* Start the janitor (NULL with a message if that fails). */
struct rs_janitor *rs_janitor_start(void);
pid_t rs_janitor_pid(const struct rs_janitor *j);      /* 0 for NULL */
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

/* Apply a fault now or schedule it (main thread). 0 or -1 with err. */
int rs_fault_apply(struct rs_bench *b, const struct rs_fault *f, char *err, size_t errlen);

struct rs_control;
struct rs_control *rs_control_new(struct rs_bench *b, const char *path, char *err,
                                  size_t errlen);
void rs_control_free(struct rs_control *c);

/* `rigsim --send LINE`: send one control line, print the reply.
 * Returns the process exit status. */
int rs_control_send(const char *path, const char *line);

#endif
