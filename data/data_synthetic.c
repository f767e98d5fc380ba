// The `synthetic` task: 1x28x28, 10 classes, from the seed alone. Class k = a 5x5 +-1 motif, with a
// random sign, stamped at a random place on grey 127.5 + N(0, 25^2) noise. A small CNN finds it; but
// each pixel is symmetric about 127.5 given any class, so E[x|class] is equal and a linear model can't.
#include "data.h"
#include <math.h>
#include <string.h>

#define SYN_SIDE 28
#define SYN_MOTIF 5
#define SYN_CLASSES 10
#define SYN_GREY 127.5  // the midpoint of 0..255, so rounding and clamping stay symmetric
#define SYN_NOISE 25.0
#define SYN_AMPLITUDE 70.0
#define SYN_MIN_DISTANCE 6  // motifs differ from each other and from each other's negative in >= 6 cells

// Ten distinct 25-bit motifs (bit set: +1, clear: -1). A motif and its negative are the same class,
// so distance counts min(hamming(a, b), hamming(a, ~b)).
static void synthetic_motifs(uint64_t seed, uint32_t motif[SYN_CLASSES]) {
    const uint32_t all = (1u << (SYN_MOTIF * SYN_MOTIF)) - 1;
    Rng r = rng_derive(seed, 0);
    for (int k = 0; k < SYN_CLASSES; k++) {
        int ok;
        do {
            motif[k] = (uint32_t)(rng_u64(&r) >> 39) & all;
            ok = 1;
            for (int j = 0; j < k && ok; j++) {
                int d = __builtin_popcount(motif[k] ^ motif[j]);
                int dn = SYN_MOTIF * SYN_MOTIF - d;
                ok = (d < dn ? d : dn) >= SYN_MIN_DISTANCE;
            }
        } while (!ok);
    }
}

// One image with this motif into out (28*28 bytes): Box-Muller gives two normals per pair of uniforms.
static void synthetic_image(Rng *r, uint32_t motif, uint8_t *out) {
    double v[SYN_SIDE * SYN_SIDE];
    for (int p = 0; p < SYN_SIDE * SYN_SIDE; p += 2) {
        double u1 = rng_uniform(r), u2 = rng_uniform(r);
        if (u1 < 1e-300) u1 = 1e-300;
        double rad = SYN_NOISE * sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        v[p] = SYN_GREY + rad * cos(th);
        v[p + 1] = SYN_GREY + rad * sin(th);
    }
    double s = rng_below(r, 2) ? SYN_AMPLITUDE : -SYN_AMPLITUDE;
    int py = (int)rng_below(r, SYN_SIDE - SYN_MOTIF + 1), px = (int)rng_below(r, SYN_SIDE - SYN_MOTIF + 1);
    for (int dy = 0; dy < SYN_MOTIF; dy++)
        for (int dx = 0; dx < SYN_MOTIF; dx++) {
            int bit = (motif >> (dy * SYN_MOTIF + dx)) & 1;
            v[(py + dy) * SYN_SIDE + px + dx] += bit ? s : -s;
        }
    for (int p = 0; p < SYN_SIDE * SYN_SIDE; p++) {
        double q = floor(v[p] + 0.5);  // floor(127.5 + t + 0.5) + floor(127.5 - t + 0.5) == 255
        out[p] = (uint8_t)(q < 0.0 ? 0.0 : q > 255.0 ? 255.0 : q);
    }
}

// n images with exactly balanced labels (as balanced as n allows), in shuffled order.
static void synthetic_split(Rng *r, const uint32_t *motif, int n, const char *name, Dataset *d) {
    memset(d, 0, sizeof *d);
    if (n < 0) n = 0;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->n = n; d->c = 1; d->h = SYN_SIDE; d->w = SYN_SIDE; d->classes = SYN_CLASSES;
    d->x = xmalloc((size_t)n * SYN_SIDE * SYN_SIDE);
    d->y = xmalloc((size_t)n);
    for (int i = 0; i < n; i++) d->y[i] = (uint8_t)(i % SYN_CLASSES);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        uint8_t t = d->y[i]; d->y[i] = d->y[j]; d->y[j] = t;
    }
    for (int i = 0; i < n; i++) synthetic_image(r, motif[d->y[i]], d->x + (size_t)i * SYN_SIDE * SYN_SIDE);
}

// Normalization is measured on the training split (about 0.5 and 0.11) and shared with the test
// split; an empty training split falls back to (0.5, 0.25).
static void synthetic_stats(const Dataset *train, float *mean, float *std) {
    size_t m = (size_t)train->n * SYN_SIDE * SYN_SIDE;
    *mean = 0.5f; *std = 0.25f;
    if (m == 0) return;
    uint64_t sum = 0, sq = 0;
    for (size_t i = 0; i < m; i++) { sum += train->x[i]; sq += (uint64_t)train->x[i] * train->x[i]; }
    double mu = (double)sum / (double)m, var = (double)sq / (double)m - mu * mu;
    *mean = (float)(mu / 255.0);
    if (var > 0.0) *std = (float)(sqrt(var) / 255.0);
}

void synthetic_make(uint64_t seed, int n_train, int n_test, Dataset *train, Dataset *test) {
    uint32_t motif[SYN_CLASSES];
    synthetic_motifs(seed, motif);
    Rng rtrain = rng_derive(seed, 1), rtest = rng_derive(seed, 2);
    synthetic_split(&rtrain, motif, n_train, "synthetic", train);
    synthetic_split(&rtest, motif, n_test, "synthetic", test);
    float mean, std;
    synthetic_stats(train, &mean, &std);
    for (int ch = 0; ch < 3; ch++) {
        train->mean[ch] = test->mean[ch] = mean;
        train->std[ch] = test->std[ch] = std;
    }
}
