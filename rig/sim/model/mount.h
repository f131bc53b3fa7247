/* The fixture side of a measurement: what changes each time a pen is
 * clamped in the bench (docs/SIMULATOR-MODEL.md, "Measurement system
 * analysis"). Internal to rig/sim/model/: model.c owns one struct
 * sim_mount and asks it, per stroke and per sample, where the phantom and
 * the sensor zeros are for the current mount.
 */
#ifndef RIG_SIM_MODEL_MOUNT_H
#define RIG_SIM_MODEL_MOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/model/model.h"
#include "sim/model/rng.h"

/* Why a mount happened (the truth line's "why"). */
enum sim_mount_why {
    SIM_MOUNT_START,   /* the pen in the fixture when the model starts */
    SIM_MOUNT_REMOUNT, /* the same pen taken out and put back */
    SIM_MOUNT_SWAP,    /* another unit clamped in */
    SIM_MOUNT_SESSION, /* a new session's operator mounts the pen */
    SIM_MOUNT_WHY_COUNT_
};

struct sim_mount {
    struct rng rng; /* the mount stream: one set of draws per mount */
    uint64_t session;
    uint32_t n; /* mounts in this session, 1 = its first */
    enum sim_mount_why why;
    uint64_t t_ns; /* when this mount happened */
    /* the draws */
    double disp_zero_mm;    /* added to every displacement reading */
    double seat_mm;         /* phantom surface beyond the cartridge face */
    double k_factor;        /* phantom stiffness here / the bench's */
    double puncture_factor; /* puncture threshold here / the bench's */
    double drift_n_per_s;   /* load-cell zero: drift rate right after the mount */
    double settle_s;        /* ... settling time constant (0: it never settles) */
    double zero_base_n;     /* zero shift left by the mounts before this one */
};

/* Seed the mount stream for a session (0 = no session) and restart the
 * session's mount count; the load cell's zero shift so far stays. */
void sim_mount_seed(struct sim_mount *mt, uint64_t seed, uint64_t session);
/* The next mount at t_ns: draw its values from the mount stream. */
void sim_mount_draw(struct sim_mount *mt, const struct sim_params *p, enum sim_mount_why why,
                    uint64_t t_ns);
/* How far the load cell's zero has moved from the bench's at t_ns (N). */
double sim_mount_zero_shift_n(const struct sim_mount *mt, uint64_t t_ns);
/* The mount as ground truth: JSON members (no braces) for the "mount"
 * event line. Returns what snprintf returns. */
int sim_mount_describe(const struct sim_mount *mt, const struct sim_params *p, char *buf,
                       size_t len);

#endif
