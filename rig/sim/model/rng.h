/* Random numbers of the simulator model: xoshiro256** streams seeded
 * through splitmix64, one stream per purpose (unit draws, pen dynamics,
 * sensor noise, mounts), so that switching one process on or off does not
 * shift the numbers another one sees. Internal to rig/sim/model/; static
 * inline because the sensor noise draws two normals per sample frame.
 */
#ifndef RIG_SIM_MODEL_RNG_H
#define RIG_SIM_MODEL_RNG_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
    bool has_spare;
    double spare;
};

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->has_spare = false;
}

/* The seed a stream gets in a session: session 0 is "no session" and
 * leaves the seed as it is (so runs without sessions keep their numbers);
 * any other session scrambles it, so sessions 1 and 2 of seed 5 share
 * nothing with each other or with seeds 6 and 7. */
static inline uint64_t rng_session_seed(uint64_t seed, uint64_t session)
{
    if (session == 0)
        return seed;
    uint64_t x = session ^ 0x5E5510E5EED5EED5ull;
    return seed ^ splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r) /* xoshiro256** */
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static inline double rng_uniform(struct rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal, Marsaglia's polar method (no trig; pairs cached). */
static inline double rng_normal(struct rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform(r) - 1.0;
        v = 2.0 * rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = true;
    return u * f;
}

#endif
