/* Per-mount variation of the bench fixture (mount.h; the numbers and why
 * they are what they are: docs/SIMULATOR-MODEL.md, "Measurement system
 * analysis").
 *
 * Each time a pen is clamped in the fixture, four things come out a little
 * different, and a gauge study's reproducibility is made of them:
 *  - the displacement zero: where the needle tips sit relative to the
 *    sensor's zero (every depth reading of the mount is shifted by it);
 *  - the seating: where the phantom surface is relative to the cartridge
 *    face (contact, puncture and penetration move with it; the displacement
 *    reading does not, it is taken on the needles);
 *  - the phantom spot: stiffness and puncture threshold where the needles
 *    now land;
 *  - the load cell's zero, which creeps after the clamping load goes on
 *    (fast at first, settling over minutes).
 * All are drawn from the mount stream, in a fixed order, whatever the
 * spreads: changing one spread does not change the other draws.
 */
#include "sim/model/mount.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Realistic magnitudes (RMS), see the document for the reasoning. */
#define TYPICAL_DISP_ZERO_SD_UM     3.0  /* collet/V-block axial repeatability */
#define TYPICAL_SEAT_SD_UM          10.0 /* cast phantom flatness + clamp indentation */
#define TYPICAL_K_SD_PCT            3.0  /* sheet thickness spot to spot */
#define TYPICAL_PUNCTURE_SD_PCT     2.0  /* surface toughness spot to spot */
#define TYPICAL_DRIFT_SD_MN_PER_MIN 2.0  /* creep under the new clamping load */
#define TYPICAL_SETTLE_MIN          4.0  /* silicone creep settles in minutes */

/* A factor never goes below this, however wide a bench's spread: a phantom
 * spot is softer or weaker, never without stiffness. */
#define FACTOR_MIN 0.1

enum { MOUNT_DRAWS = 5 };

void sim_params_mount_typical(struct sim_params *p)
{
    p->mount_disp_zero_sd_um = TYPICAL_DISP_ZERO_SD_UM;
    p->mount_seat_sd_um = TYPICAL_SEAT_SD_UM;
    p->mount_k_sd_pct = TYPICAL_K_SD_PCT;
    p->mount_puncture_sd_pct = TYPICAL_PUNCTURE_SD_PCT;
    p->mount_tare_drift_sd_mn_per_min = TYPICAL_DRIFT_SD_MN_PER_MIN;
    p->mount_tare_settle_min = TYPICAL_SETTLE_MIN;
}

void sim_mount_seed(struct sim_mount *mt, uint64_t seed, uint64_t session)
{
    /* Stream 4: 1-3 are the unit, pen and sensor streams (model.c). */
    rng_seed(&mt->rng, rng_session_seed(seed, session), 4);
    mt->session = session;
    mt->n = 0;
}

void sim_mount_draw(struct sim_mount *mt, const struct sim_params *p, enum sim_mount_why why,
                    uint64_t t_ns)
{
    /* The load cell does not know the pen was out: its zero carries on
     * from wherever the previous mount's creep had taken it. */
    double base = sim_mount_zero_shift_n(mt, t_ns);
    double z[MOUNT_DRAWS];
    for (int i = 0; i < MOUNT_DRAWS; i++)
        z[i] = rng_normal(&mt->rng);
    mt->n++;
    mt->why = why;
    mt->t_ns = t_ns;
    mt->zero_base_n = base;
    mt->disp_zero_mm = z[0] * p->mount_disp_zero_sd_um * 1e-3;
    mt->seat_mm = z[1] * p->mount_seat_sd_um * 1e-3;
    mt->k_factor = fmax(FACTOR_MIN, 1.0 + z[2] * p->mount_k_sd_pct / 100.0);
    mt->puncture_factor = fmax(FACTOR_MIN, 1.0 + z[3] * p->mount_puncture_sd_pct / 100.0);
    mt->drift_n_per_s = z[4] * p->mount_tare_drift_sd_mn_per_min * 1e-3 / 60.0;
    mt->settle_s = p->mount_tare_settle_min * 60.0;
}

double sim_mount_zero_shift_n(const struct sim_mount *mt, uint64_t t_ns)
{
    if (mt->drift_n_per_s == 0.0 || t_ns <= mt->t_ns)
        return mt->zero_base_n;
    double dt = (double)(t_ns - mt->t_ns) * 1e-9;
    /* Creep under the new load: the drift starts at the drawn rate and
     * decays, r tau (1 - e^(-t/tau)). Bench files cannot set tau = 0;
     * params made in code might: then the zero just keeps drifting. */
    double moved = mt->settle_s > 0.0
                       ? mt->drift_n_per_s * mt->settle_s * -expm1(-dt / mt->settle_s)
                       : mt->drift_n_per_s * dt;
    return mt->zero_base_n + moved;
}

/* A bench string as a JSON string body: serials may hold '"' or '\'. */
static void json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 2 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
}

int sim_mount_describe(const struct sim_mount *mt, const struct sim_params *p, char *buf,
                       size_t len)
{
    static const char *const why_names[SIM_MOUNT_WHY_COUNT_] = {
        [SIM_MOUNT_START] = "start",
        [SIM_MOUNT_REMOUNT] = "remount",
        [SIM_MOUNT_SWAP] = "swap",
        [SIM_MOUNT_SESSION] = "session",
    };
    char serial[2 * PEN_STR_LEN + 1];
    json_escape(p->pen_serial, serial, sizeof serial);
    const char *why = (unsigned)mt->why < SIM_MOUNT_WHY_COUNT_ ? why_names[mt->why] : "?";
    return snprintf(buf, len,
                    "\"why\":\"%s\",\"session\":%llu,\"mount\":%u,\"serial\":\"%s\","
                    "\"disp_zero_um\":%.4f,\"seat_um\":%.4f,\"phantom_k_factor\":%.6f,"
                    "\"puncture_factor\":%.6f,\"k_n_per_mm\":%.6f,"
                    "\"puncture_n_per_needle\":%.7f,\"tare_drift_mn_per_min\":%.5f,"
                    "\"tare_settle_min\":%.4g,\"zero_shift_mn\":%.5f",
                    why, (unsigned long long)mt->session, (unsigned)mt->n, serial,
                    mt->disp_zero_mm * 1e3, mt->seat_mm * 1e3, mt->k_factor, mt->puncture_factor,
                    p->phantom_k_n_per_mm * mt->k_factor,
                    p->puncture_n_per_needle * mt->puncture_factor, mt->drift_n_per_s * 60e3,
                    mt->settle_s / 60.0, mt->zero_base_n * 1e3);
}
