#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return q;
}

void capture_init(struct capture *c)
{
    memset(c, 0, sizeof *c);
}

void capture_free(struct capture *c)
{
    free(c->force);
    free(c->disp);
    free(c->index);
    memset(c, 0, sizeof *c);
}

static void capture_reserve(struct capture *c, size_t more)
{
    if (c->n + more <= c->cap)
        return;
    size_t cap = c->cap ? c->cap : 65536;
    while (cap < c->n + more)
        cap *= 2;
    c->force = xrealloc(c->force, cap * sizeof *c->force);
    c->disp = xrealloc(c->disp, cap * sizeof *c->disp);
    c->index = xrealloc(c->index, cap * sizeof *c->index);
    c->cap = cap;
}

static void check_block(struct capture *c, const struct sh_block_header *h, int got)
{
    if (h->magic != SH_BLOCK_MAGIC || h->version != SH_PROTOCOL_VERSION ||
        h->channels != SH_CHANNELS || h->header_size != SH_BLOCK_HEADER_SIZE ||
        h->count != (uint16_t)got || h->count == 0 || h->count > SH_MAX_SAMPLES ||
        h->rate_hz < SH_RATE_MIN || h->rate_hz > SH_RATE_MAX || (h->flags & ~SH_BLK_KNOWN))
        c->header_error = true;
    if (h->seq != c->next_seq)
        c->seq_error = true;
    c->next_seq = h->seq + 1;
    uint64_t expect = c->n ? c->index[c->n - 1] + 1 : 0;
    if (h->flags & SH_BLK_OVERRUN) {
        c->overrun_blocks++;
        c->first_after_overrun = h->first_sample;
        if (h->first_sample <= expect && c->n)
            c->index_error = true;
    } else if (h->first_sample != expect) {
        c->index_error = true;
    }
    if (h->flags & SH_BLK_NO_TARGET)
        c->no_target_blocks++;
    if (h->flags & SH_BLK_LAST)
        c->last_blocks++;
    c->blocks++;
}

void capture_drain(struct sim_model *m, struct capture *c, uint32_t max)
{
    struct sh_block_header h;
    for (;;) {
        capture_reserve(c, SH_MAX_SAMPLES);
        int got = sim_sh_take_block(m, max, &h, c->force + c->n, c->disp + c->n);
        if (got <= 0)
            return;
        check_block(c, &h, got);
        for (int i = 0; i < got; i++)
            c->index[c->n + (size_t)i] = h.first_sample + (uint64_t)i;
        c->n += (size_t)got;
    }
}

void run_fed(struct sim_model *m, uint64_t t, struct capture *c)
{
    uint64_t now = sim_model_now(m);
    while (now < t) {
        uint64_t next = (now / (10 * MS) + 1) * (10 * MS);
        if (next > t)
            next = t;
        sim_model_run_until(m, next);
        now = next;
        if (now % (50 * MS) == 0)
            sim_pen_heartbeat(m);
        if (c)
            capture_drain(m, c, SH_MAX_SAMPLES);
    }
}

static double num(const cJSON *o, const char *k, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v)) {
        *bad = true;
        return 0;
    }
    return v->valuedouble;
}

static void str(const cJSON *o, const char *k, char *dst, size_t cap, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v)) {
        *bad = true;
        return;
    }
    snprintf(dst, cap, "%s", v->valuestring);
}

void truth_read(FILE *f, struct truth *t)
{
    memset(t, 0, sizeof *t);
    char line[1024];
    size_t cap = 0;
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        if (!o) {
            t->parse_error = true;
            continue;
        }
        bool bad = false;
        if (cJSON_GetObjectItemCaseSensitive(o, "stroke")) {
            if (t->n == cap) {
                cap = cap ? cap * 2 : 1024;
                t->s = xrealloc(t->s, cap * sizeof *t->s);
            }
            struct stroke_truth *s = &t->s[t->n++];
            s->t = num(o, "t", &bad);
            s->t_rise = num(o, "t_rise", &bad);
            s->t_peak = num(o, "t_peak", &bad);
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "whole");
            if (!cJSON_IsBool(w))
                bad = true;
            s->whole = cJSON_IsTrue(w);
            s->period = num(o, "period_s", &bad);
            s->rate = num(o, "rate_hz", &bad);
            s->set_rate = num(o, "set_rate_hz", &bad);
            s->protrusion = num(o, "protrusion_mm", &bad);
            s->set_depth = num(o, "set_depth_mm", &bad);
            s->peak_force = num(o, "peak_force_n", &bad);
            str(o, "state", s->state, sizeof s->state, &bad);
        } else {
            char ev[16] = "";
            str(o, "event", ev, sizeof ev, &bad);
            (void)num(o, "t", &bad);
            if (strcmp(ev, "state") == 0 && t->nstates < 64) {
                str(o, "state", t->states[t->nstates], sizeof t->states[0], &bad);
                str(o, "reason", t->reasons[t->nstates], sizeof t->reasons[0], &bad);
                t->nstates++;
            }
        }
        if (bad)
            t->parse_error = true;
        cJSON_Delete(o);
    }
}

void truth_free(struct truth *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}
