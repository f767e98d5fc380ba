// nn/vec.h's reductions (blocks summed side by side in vector lanes) against the plain scalar loops they stand
// for: the same bits for every length, including partial groups, partial blocks and tails.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"
#include "vec.h"

// The plain definitions: lane j of each block of VEC_BLOCK sums its terms in order from 0.0f; the block's lanes
// are added in order into a double; the tail past the last whole vector is summed in double.
static double plain_sum(const float *x, const float *y, float c, int kind, size_t n) {
    double total = 0.0;
    size_t i = 0;
    for (; i + VEC_LANES <= n;) {
        float acc[VEC_LANES] = {0};
        size_t end = i + VEC_BLOCK < n ? i + VEC_BLOCK : n;
        for (; i + VEC_LANES <= end; i += VEC_LANES)
            for (int j = 0; j < VEC_LANES; j++) {
                float v = x[i + j], d = v - c;
                acc[j] += kind == 0 ? v : kind == 1 ? v * y[i + j] : d * d;
            }
        for (int j = 0; j < VEC_LANES; j++) total += acc[j];
    }
    for (; i < n; i++) {
        double d = x[i] - c;
        total += kind == 0 ? (double)x[i] : kind == 1 ? (double)x[i] * y[i] : d * d;
    }
    return total;
}

Test(vec, reductions_match_plain_loops) {
    size_t max = 9 * VEC_BLOCK + 37;
    float *x = malloc(max * sizeof *x), *y = malloc(max * sizeof *y);
    Rng r = rng_derive(11, 1);
    for (size_t i = 0; i < max; i++) {
        x[i] = (float)((rng_uniform(&r) - 0.3) * (1 << (i % 13)));   // magnitudes that round differently by order
        y[i] = (float)(rng_uniform(&r) * 3.0 - 1.0);
    }
    size_t lens[] = {0, 1, 15, 16, 17, VEC_BLOCK - 1, VEC_BLOCK, VEC_BLOCK + 5, 3 * VEC_BLOCK + 16,
                     4 * VEC_BLOCK, 4 * VEC_BLOCK + 1, 5 * VEC_BLOCK - 3, 8 * VEC_BLOCK, max};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t n = lens[k];
        for (int off = 0; off < 2; off++) {   // an unaligned start as well
            const float *xs = x + off, *ys = y + off;
            if (n + off > max) continue;
            double got[3] = {vec_sum(xs, n), vec_dot(xs, ys, n), vec_sqdev(xs, 0.37f, n)};
            for (int kind = 0; kind < 3; kind++) {
                double want = plain_sum(xs, ys, kind == 2 ? 0.37f : 0.0f, kind, n);
                cr_assert(memcmp(&got[kind], &want, sizeof want) == 0, "%s, n %zu, offset %d: %.17g, plain %.17g",
                          (const char *[]){"vec_sum", "vec_dot", "vec_sqdev"}[kind], n, off, got[kind], want);
            }
        }
    }
    free(x); free(y);
}
