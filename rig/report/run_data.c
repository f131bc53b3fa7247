/* The run report's data: each capture step's samples (capture_read, both
 * file versions) and per-stroke values (the per-stroke file, else the
 * engine's analysis of the samples), with why when either is missing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "core/record.h"
#include "report/run_int.h"

static void join(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir && *dir ? dir : ".", name);
}

static void load_samples(struct rr_ctx *c, struct rr_cap *k)
{
    const struct rec_capture *rc = k->step->capture;
    char path[4096], msg[240];
    if (rc->pruned) {
        char t[32];
        record_utc(&rc->pruned_at, t);
        snprintf(k->why, sizeof k->why,
                 "The capture file %s was deleted by retention on %s UTC (a PASS run's samples "
                 "are kept for a set time; the record, its hashes and the per-stroke values stay).",
                 rc->data.name ? rc->data.name : "?", t);
        return;
    }
    if (!rc->data.name) {
        snprintf(k->why, sizeof k->why, "No capture file was written for this step%s%s.",
                 rc->analysis.error[0] ? ": " : "", rc->analysis.error);
        return;
    }
    join(path, sizeof path, c->o->dir, rc->data.name);
    char hex[DIGEST_HEX_LEN + 1];
    if (digest_sha256_file(path, hex) < 0) {
        snprintf(k->why, sizeof k->why, "The capture file %s cannot be read (missing).",
                 rc->data.name);
        return;
    }
    if (rc->data.sha256[0] && strcmp(hex, rc->data.sha256) != 0) {
        snprintf(k->why, sizeof k->why,
                 "The capture file %s is not the one the record names (its SHA-256 differs): "
                 "not shown.",
                 rc->data.name);
        return;
    }
    if (capture_read(path, &k->cap, msg, sizeof msg) < 0) {
        snprintf(k->why, sizeof k->why, "The capture file cannot be read: %s", msg);
        return;
    }
    k->have_samples = true;
}

static int load_strokes(struct rr_ctx *c, struct rr_cap *k)
{
    const struct rec_capture *rc = k->step->capture;
    char path[4096], msg[300] = "";
    if (rc->strokes.name) {
        join(path, sizeof path, c->o->dir, rc->strokes.name);
        int r = strokes_load(path, &k->st, msg, sizeof msg);
        if (r == 0) {
            k->st_source = "the record's per-stroke file";
            return 0;
        }
        if (r == -ENOMEM)
            return r;
    }
    if (k->have_samples) {
        char m2[200];
        int r = strokes_from_capture(&k->cap, rc->start_index, rc->stop_index,
                                     k->step->setpoints.rate_hz, k->step->setpoints.depth_mm,
                                     &k->st, m2, sizeof m2);
        if (r == 0) {
            k->st_source = "recomputed from the capture (the engine's analysis)";
            return 0;
        }
        if (r == -ENOMEM)
            return r;
        /* both reasons may not fit; the first words of each are enough */
        if (snprintf(k->st_why, sizeof k->st_why, "%s%s%s", msg, *msg ? "; " : "", m2) >=
            (int)sizeof k->st_why)
            k->st_why[sizeof k->st_why - 2] = '.';
        return 0;
    }
    snprintf(k->st_why, sizeof k->st_why, "%s", *msg ? msg : "no per-stroke file and no samples");
    return 0;
}

int rr_load_caps(struct rr_ctx *c, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < c->r->nsteps; i++)
        n += c->r->steps[i].capture != NULL;
    c->ncaps = 0;
    c->caps = n ? calloc(n, sizeof *c->caps) : NULL;
    if (n && !c->caps) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->r->nsteps; i++) {
        const struct rec_step *s = &c->r->steps[i];
        if (!s->capture)
            continue;
        struct rr_cap *k = &c->caps[c->ncaps++];
        k->step = s;
        k->no = (unsigned)c->ncaps;
        load_samples(c, k);
        if (load_strokes(c, k) < 0) {
            rr_free_caps(c);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    return 0;
}

void rr_free_caps(struct rr_ctx *c)
{
    for (size_t i = 0; i < c->ncaps; i++) {
        if (c->caps[i].have_samples)
            capture_free(&c->caps[i].cap);
        strokes_free(&c->caps[i].st);
    }
    free(c->caps);
    c->caps = NULL;
    c->ncaps = 0;
}
