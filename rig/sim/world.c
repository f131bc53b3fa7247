/* The world of one bench, shared by its two emulators: one model, one
 * lock; and the clock and bus all benches share. */
#include "sim/rigsim.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

uint64_t rs_monotonic_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rs_world_now(const struct rs_world *w)
{
    uint64_t now = rs_monotonic_ns();
    return now > w->t0_ns ? now - w->t0_ns : 0;
}

void rs_world_enter(struct rs_world *w)
{
    g_mutex_lock(&w->lock);
    /* Two threads may read the clock in either order; the model never goes
     * back, so only advance. */
    uint64_t now = rs_world_now(w);
    if (now > sim_model_now(w->model))
        sim_model_run_until(w->model, now);
}

void rs_world_leave(struct rs_world *w)
{
    g_mutex_unlock(&w->lock);
}

/* splitmix64: tiny, good enough for fault dice, and reproducible. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rs_rng_seed(struct rs_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = seed ^ (stream * 0xD1B54A32D192ED03ull);
    (void)splitmix64(&r->s);
}

double rs_rng_uniform(struct rs_rng *r)
{
    return (double)(splitmix64(&r->s) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t rs_bench_seed(uint64_t seed, unsigned i)
{
    if (i == 0)
        return seed;
    /* the state before the i-th call: its output mixes seed + i * golden */
    uint64_t s = seed + (uint64_t)(i - 1) * 0x9E3779B97F4A7C15ull;
    return splitmix64(&s);
}

int rs_bus_new_devnum(struct rs_bus *bus)
{
    /* 2 first: 001 would be the root hub's */
    return g_atomic_int_add(&bus->next_devnum, 1) + 2;
}

void rs_log(const struct rs_world *w, const char *fmt, ...)
{
    if (!w->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (w->tag_logs)
        fprintf(stderr, "rigsim[%.3f] bench %u: ", (double)rs_world_now(w) / 1e9, w->index);
    else
        fprintf(stderr, "rigsim[%.3f]: ", (double)rs_world_now(w) / 1e9);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
