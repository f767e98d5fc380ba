// The 8-bit quantizer (nn/quant.c): codes and dequantized values on fixed tensors against values
// worked out by hand, QuantMeasure ranges, and stochastic rounding's unbiasedness.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "quant.h"

Test(quant, nearest_codes_by_hand) {
    // min -1, max 1.55: scale = 2.55 / 255 = 0.01. (x - min) / scale = 0, 50, 100.4, 254.6, 255.
    const float x[5] = {-1.0f, -0.5f, 0.004f, 1.546f, 1.55f};
    QParam p = quant_param(-1.0f, 1.55f);
    cr_assert_float_eq(p.scale, 0.01f, 1e-7f);
    uint8_t q[5];
    quant_encode(q, x, 5, p, QROUND_NEAREST, NULL);
    const uint8_t want[5] = {0, 50, 100, 255, 255};
    for (int i = 0; i < 5; i++) cr_assert_eq(q[i], want[i], "x[%d] = %g: code %d, expected %d", i, x[i], q[i], want[i]);
    float d[5];
    quant_decode(d, q, 5, p);
    const float dv[5] = {-1.0f, -0.5f, 0.0f, 1.55f, 1.55f};
    for (int i = 0; i < 5; i++) cr_assert_float_eq(d[i], dv[i], 1e-6f, "x^[%d] = %g, expected %g", i, d[i], dv[i]);
}

Test(quant, clamps_outside_range_and_half_to_even) {
    // range [0, 255]: scale 1. 2.5 -> 2 and 3.5 -> 4 (half to even); -7 -> 0, 300 -> 255.
    QParam p = quant_param(0.0f, 255.0f);
    const float x[4] = {2.5f, 3.5f, -7.0f, 300.0f};
    uint8_t q[4];
    quant_encode(q, x, 4, p, QROUND_NEAREST, NULL);
    cr_assert_eq(q[0], 2); cr_assert_eq(q[1], 4); cr_assert_eq(q[2], 0); cr_assert_eq(q[3], 255);
}

Test(quant, constant_tensor_keeps_its_value) {
    // min == max: the scale is clamped to 1e-8 and every value decodes to min exactly.
    float x[3] = {0.25f, 0.25f, 0.25f}, out[3];
    QParam p = quant_fake_minmax(out, x, 3, QROUND_NEAREST, NULL);
    cr_assert_eq(p.scale, 1e-8f);
    for (int i = 0; i < 3; i++) cr_assert_eq(out[i], 0.25f);
}

Test(quant, fake_minmax_hits_both_ends) {
    float x[4] = {3.0f, -2.0f, 0.7f, 1.0f}, out[4];
    QParam p = quant_fake_minmax(out, x, 4, QROUND_NEAREST, NULL);
    cr_assert_float_eq(p.scale, 5.0f / 255.0f, 1e-7f);
    cr_assert_float_eq(out[0], 3.0f, 1e-6f);
    cr_assert_eq(out[1], -2.0f);
    // 0.7: (0.7 + 2) / (5/255) = 137.7 -> 138 -> 138 * 5/255 - 2 = 0.705882...
    cr_assert_float_eq(out[2], 138.0f * (5.0f / 255.0f) - 2.0f, 1e-6f);
}

Test(quant, measure_is_the_batch_mean_of_per_sample_extremes) {
    // (C=2, B=2, HW=2) channel-major: sample 0 holds {1, 5, -3, 2}, sample 1 holds {0, 4, 7, -1}.
    const float x[8] = {1, 5, 0, 4, -3, 2, 7, -1};
    float mn, mx;
    quant_measure(x, 2, 2, 2, &mn, &mx);
    cr_assert_float_eq(mn, (-3.0f + -1.0f) / 2, 1e-7f);
    cr_assert_float_eq(mx, (5.0f + 7.0f) / 2, 1e-7f);
    // The running update keeps 10% of the old value (the reference's momentum 0.1).
    cr_assert_float_eq(quant_running(1.0f, 2.0f), 0.1f + 1.8f, 1e-6f);
}

Test(quant, stochastic_rounding_is_unbiased) {
    // x sits 0.3 of a step above code 100: codes are 100 or 101 with p = 0.7 / 0.3, so over N draws
    // the mean of x^ is x within 3 sigma = 3 * scale * sqrt(0.21 / N).
    QParam p = quant_param(-1.0f, 1.55f);
    const float x = -1.0f + 100.3f * 0.01f;
    Rng r;
    rng_seed(&r, 42);
    const int N = 100000;
    double sum = 0.0;
    int n101 = 0;
    for (int i = 0; i < N; i++) {
        uint8_t q;
        quant_encode(&q, &x, 1, p, QROUND_STOCHASTIC, &r);
        cr_assert(q == 100 || q == 101, "draw %d: code %d", i, q);
        n101 += q == 101;
        float d;
        quant_decode(&d, &q, 1, p);
        sum += d;
    }
    double sigma = 0.01 * sqrt(0.3 * 0.7 / N);
    cr_assert_leq(fabs(sum / N - x), 3 * sigma, "mean %.7f vs x %.7f (3 sigma %.2g)", sum / N, x, 3 * sigma);
    cr_assert(n101 > 0.29 * N && n101 < 0.31 * N, "%d of %d rounded up", n101, N);
}

Test(quant, stochastic_needs_the_noise_to_differ_from_nearest) {
    QParam p = quant_param(0.0f, 255.0f);
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = 10.5f;   // a tie: nearest gives 10 every time
    uint8_t q[1000];
    Rng r;
    rng_seed(&r, 1);
    quant_encode(q, x, 1000, p, QROUND_STOCHASTIC, &r);
    int up = 0;
    for (int i = 0; i < 1000; i++) up += q[i] == 11;
    cr_assert(up > 400 && up < 600, "%d of 1000 ties went up", up);
}

// The counter-based noise within one call (how the layers call it: a whole tensor at once): unbiased within
// 3 sigma over 1e5 values, for offsets across the step, and the same generator state gives the same codes.
Test(quant, stochastic_rounding_unbiased_within_one_call) {
    const int N = 100000;
    QParam p = quant_param(-1.0f, 1.55f);
    float *x = malloc(sizeof(float) * N);
    uint8_t *q = malloc((size_t)N), *q2 = malloc((size_t)N);
    const float frac[3] = {0.1f, 0.5f, 0.83f};
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < N; i++) x[i] = -1.0f + (100.0f + frac[f]) * 0.01f;
        Rng r, r2;
        rng_seed(&r, 7 + f);
        r2 = r;
        quant_encode(q, x, (size_t)N, p, QROUND_STOCHASTIC, &r);
        quant_encode(q2, x, (size_t)N, p, QROUND_STOCHASTIC, &r2);
        cr_assert(!memcmp(q, q2, (size_t)N), "the same generator state gave different codes");
        cr_assert(!memcmp(&r, &r2, sizeof r), "the generators moved differently");
        double sum = 0.0;
        for (int i = 0; i < N; i++) {
            cr_assert(q[i] == 100 || q[i] == 101, "value %d: code %d", i, q[i]);
            sum += q[i] * (double)p.scale + p.min;
        }
        double t = (x[0] - p.min) / p.scale, fr = t - floor(t);   // the float's own offset in the step
        double sigma = p.scale * sqrt(fr * (1 - fr) / N);
        cr_assert_leq(fabs(sum / N - x[0]), 3 * sigma, "offset %.2f: mean %.7f vs x %.7f (3 sigma %.2g)", frac[f],
                      sum / N, x[0], 3 * sigma);
        quant_encode(q2, x, (size_t)N, p, QROUND_STOCHASTIC, &r2);   // the next call: other draws
        cr_assert(memcmp(q, q2, (size_t)N), "two calls drew the same noise");
    }
    free(x), free(q), free(q2);
}
