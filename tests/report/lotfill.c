/* The known lot (lotfill.h). Unit i (SN-0001..) is run at minute i:
 *  - depth: 0.60 + 0.01 * a fixed pseudo-random wobble, except units
 *    40..49 at +0.05 (a shift: rules 2, 3 and 4 fire) and unit 25 at
 *    0.80 (beyond USL 0.75: FAIL, and rule 1);
 *  - force: 1.20 + 0.05 * wobble, except unit 33 at 2.30 (beyond 2.0:
 *    FAIL);
 *  - every failed unit is retested in the next minute slot (attempt 2,
 *    PASS, nominal values); units 1..4 reported model MNP-B, the rest
 *    MNP-A. Fixture f1 for odd units, f2 for even. */
#include "lotfill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storetest.h"

#define UNITS 60

/* A deterministic wobble in about [-1.7, 1.7]. */
static double wobble(unsigned i)
{
    return sin(i * 2.399) + 0.7 * cos(i * 0.911);
}

static int put(struct store *st, unsigned long n, unsigned unit, double minute, double depth,
               double force, char *err, size_t errlen)
{
    char id[37], dut[16], path[128];
    trun_id(id, n);
    snprintf(dut, sizeof dut, "SN-%04u", unit);
    bool dfail = depth < 0.45 || depth > 0.75, ffail = force > 2.0;
    struct rec_run r;
    trun_init(&r, id, dut, unit % 2 ? "f1" : "f2", minute * 60,
              dfail || ffail ? OUTCOME_FAIL : OUTCOME_PASS);
    const struct tmeas m[] = {
        { "depth", depth, dfail ? OUTCOME_FAIL : OUTCOME_PASS, LIM_GELE, 0.45, 0.75 },
        { "force", force, ffail ? OUTCOME_FAIL : OUTCOME_PASS, LIM_LE, 2.0, NAN },
        { "model", NAN, OUTCOME_PASS, LIM_STREQ, NAN, NAN },
    };
    trun_add_step(&r, m, 3);
    struct rec_measurement *d = &r.steps[0].meas[2];
    free(d->quantity);
    d->quantity = strdup("pen_model");
    free(d->units);
    d->units = strdup("");
    d->is_text = true;
    d->text = strdup(unit <= 4 ? "MNP-B" : "MNP-A");
    free(r.steps[0].meas[0].units);
    r.steps[0].meas[0].units = strdup("mm");
    snprintf(path, sizeof path, "/results/%s-20261201-%s.json", dut, id);
    int rc = store_put_run(st, &r, true, path, err, errlen);
    free(d->text);
    trun_free(&r);
    return rc;
}

int lotfill(struct store *st, char *err, size_t errlen)
{
    unsigned long n = 0;
    double minute = 0;
    for (unsigned u = 1; u <= UNITS; u++) {
        double depth = 0.60 + 0.01 * wobble(u), force = 1.20 + 0.05 * wobble(u + 100);
        if (u >= 40 && u <= 49)
            depth += 0.05;
        if (u == 25)
            depth = 0.80;
        if (u == 33)
            force = 2.30;
        int rc = put(st, ++n, u, minute++, depth, force, err, errlen);
        if (rc == 0 && (u == 25 || u == 33))
            rc = put(st, ++n, u, minute++, 0.60, 1.20, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}
