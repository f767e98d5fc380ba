// Seeded pseudo-random generator (xoshiro256**) and the distributions built on it.
#include "rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

Rng rng_derive(uint64_t seed, uint64_t stream) {
    Rng r;
    uint64_t x = seed ^ (0x6a09e667f3bcc909ULL * (stream + 1));
    rng_seed(&r, splitmix64(&x));
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (rng_u64(r) >> 11) * 0x1.0p-53; }

uint32_t rng_below(Rng *r, uint32_t n) {
    // Lemire's multiply-shift with rejection: unbiased.
    uint64_t m = (uint64_t)(uint32_t)(rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) { m = (uint64_t)(uint32_t)(rng_u64(r) >> 32) * n; l = (uint32_t)m; }
    }
    return (uint32_t)(m >> 32);
}

double rng_normal(Rng *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double rng_gamma(Rng *r, double shape) {
    if (shape < 1.0) {
        // Boost: Gamma(a) = Gamma(a+1) * U^(1/a).
        double u = rng_uniform(r);
        if (u < 1e-300) u = 1e-300;
        return rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do { x = rng_normal(r); v = 1.0 + c * x; } while (v <= 0.0);
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

void rng_dirichlet(Rng *r, double alpha, int k, double *out) {
    double sum = 0.0;
    for (int i = 0; i < k; i++) { out[i] = rng_gamma(r, alpha); sum += out[i]; }
    if (sum <= 0.0) {
        // Every draw underflowed (tiny alpha): the limit puts all mass on one category.
        for (int i = 0; i < k; i++) out[i] = 0.0;
        out[rng_below(r, (uint32_t)k)] = 1.0;
        return;
    }
    for (int i = 0; i < k; i++) out[i] /= sum;
}

void rng_shuffle_int(Rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int t = a[i]; a[i] = a[j]; a[j] = t;
    }
}
