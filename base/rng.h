// Seeded pseudo-random generator (xoshiro256**, seeded through splitmix64). Every random choice
// in meshtrain draws from an Rng passed in explicitly; there is no global generator.
#ifndef MESHTRAIN_RNG_H
#define MESHTRAIN_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
// A child generator for stream `stream` (e.g. agent id or purpose), independent of the parent's state.
Rng rng_derive(uint64_t seed, uint64_t stream);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);                 // [0, 1)
uint32_t rng_below(Rng *r, uint32_t n);     // uniform in [0, n), unbiased; n > 0
double rng_normal(Rng *r);                  // standard normal
double rng_gamma(Rng *r, double shape);     // Gamma(shape, 1), shape > 0 (Marsaglia-Tsang)
void rng_dirichlet(Rng *r, double alpha, int k, double *out);   // symmetric Dirichlet(alpha) in out[k]
void rng_shuffle_int(Rng *r, int *a, int n);                     // Fisher-Yates

#endif
