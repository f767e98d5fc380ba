// The AVX-512 2x2 max pool against the plain loop: the same maxima and the same winners, ties and
// NaNs included, for the row widths of LeNet-5, CIFAR models and odd leftovers.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "layer_pool.h"
#include "rng.h"

Test(pool, maxpool2_avx512_matches_plain) {
    if (!__builtin_cpu_supports("avx512f")) cr_skip_test("this CPU has no AVX-512");
    static const int HW[][2] = {{28, 28}, {10, 10}, {32, 32}, {16, 16}, {8, 8},
                                {2, 2},   {6, 34},  {5, 4},   {7, 66},  {3, 2}};
    Rng r = rng_derive(11, 1);
    for (size_t t = 0; t < sizeof HW / sizeof HW[0]; t++)
        for (int ties = 0; ties < 3; ties++) {
            int H = HW[t][0], W = HW[t][1], OH = H / 2, OW = W / 2, planes = 3;
            size_t nx = (size_t)planes * H * W, ny = (size_t)planes * OH * OW;
            float *x = malloc(nx * sizeof *x), *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1);
            int32_t *i0 = malloc(ny * sizeof *i0), *i1 = malloc(ny * sizeof *i1);
            // ties 0: distinct normals; 1: few levels, so windows tie often; 2: levels, some NaN and -0/+0
            for (size_t i = 0; i < nx; i++) {
                x[i] = ties ? (float)rng_below(&r, 3) - 1.0f : (float)rng_normal(&r);
                if (ties == 2 && rng_below(&r, 7) == 0) x[i] = rng_below(&r, 2) ? NAN : -0.0f;
            }
            maxpool2_forward_plain(x, y0, i0, planes, H, W, OH, OW);
            cr_assert_eq(maxpool2_forward_avx512(x, y1, i1, planes, H, W, OH, OW), 0, "%dx%d: no AVX-512 path", H, W);
            for (size_t i = 0; i < ny; i++) {
                cr_assert(!memcmp(&y0[i], &y1[i], 4), "%dx%d ties %d: output %zu is %a, plain %a", H, W, ties, i,
                          (double)y1[i], (double)y0[i]);
                cr_assert_eq(i1[i], i0[i], "%dx%d ties %d: output %zu's winner at %d, plain %d", H, W, ties, i, i1[i],
                             i0[i]);
            }
            free(x), free(y0), free(y1), free(i0), free(i1);
        }
}

Test(pool, maxpool2_avx512_refuses_odd_widths) {
    float x[15] = {0}, y[4];
    int32_t ix[4];
    cr_assert_eq(maxpool2_forward_avx512(x, y, ix, 1, 3, 5, 1, 2), -1, "an odd width is the plain loop's");
}
