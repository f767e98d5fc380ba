// Direct one-channel convolution (nn/conv_direct.h): the forward equals im2col + sgemm bit for bit, the
// weight gradient is within the float bound of a double sum and the same on every backend, and conv layers'
// weight gradients (one channel; two channels through the transposed scratch) match central differences.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "conv_cols.h"
#include "conv_direct.h"
#include "model.h"
#include "rng.h"
#include "sgemm.h"

static float *normals(size_t n, Rng *r) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal(r);
    return x;
}

typedef struct {
    int B, H, W, OC, k, p;
} Shape;

static int out_h(const Shape *s) { return s->H + 2 * s->p - s->k + 1; }
static int out_w(const Shape *s) { return s->W + 2 * s->p - s->k + 1; }

// Shapes: LeNet-5's first conv, planes narrower than a vector, k 1/3/5/7 (taps in blocks of 5 and fewer),
// channel counts not a multiple of the blocks (3 and 6), output rows of exactly 16 and 32.
static const Shape shapes[] = {{5, 28, 28, 6, 5, 2}, {3, 4, 5, 7, 3, 1}, {2, 9, 16, 2, 1, 0}, {4, 6, 32, 5, 5, 2},
                               {3, 11, 13, 4, 7, 3}, {2, 8, 20, 1, 3, 0}, {3, 3, 2, 8, 5, 2}};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

Test(conv_direct, forward_equals_sgemm_bitwise_on_every_backend) {
    const char *was = sgemm_backend();
    Rng r;
    rng_seed(&r, 21);
    for (int i = 0; i < N_SHAPES; i++) {
        const Shape *s = &shapes[i];
        int OH = out_h(s), OW = out_w(s), kk = s->k * s->k, N = s->B * OH * OW;
        cr_assert(conv_direct_c1_fits(s->k, 1, OW));
        float *x = normals((size_t)s->B * s->H * s->W, &r), *w = normals((size_t)s->OC * kk, &r);
        float *want = malloc(sizeof(float) * (size_t)s->OC * N), *got = malloc(sizeof(float) * (size_t)s->OC * N);
        for (int b = 0; b < sgemm_n_backends; b++) {
            if (!sgemm_backend_supported(sgemm_backends[b])) continue;
            cr_assert_eq(sgemm_backend_set(sgemm_backend_name(sgemm_backends[b])), 0);
            ConvCols g = {.x = x, .C = 1, .B = s->B, .H = s->H, .W = s->W, .k = s->k, .s = 1, .p = s->p, .OH = OH,
                          .OW = OW, .b0 = 0};
            SgemmB bb = conv_cols_b(&g);
            sgemm_packed(0, s->OC, N, kk, w, kk, &bb, want, N, 0);
            for (size_t e = 0; e < (size_t)s->OC * N; e++) got[e] = -9.0f;
            conv_direct_c1_forward(x, s->B, s->H, s->W, s->k, s->p, s->OC, w, OH, OW, got);
            for (size_t e = 0; e < (size_t)s->OC * N; e++)
                cr_assert(got[e] == want[e], "%s shape %d: y[%zu] = %.9g, sgemm %.9g",
                          sgemm_backend_name(sgemm_backends[b]), i, e, got[e], want[e]);
        }
        free(x), free(w), free(want), free(got);
    }
    sgemm_backend_set(was);
}

Test(conv_direct, weight_grad_within_bound_and_equal_on_every_backend) {
    const char *was = sgemm_backend();
    Rng r;
    rng_seed(&r, 22);
    for (int i = 0; i < N_SHAPES; i++) {
        const Shape *s = &shapes[i];
        int OH = out_h(s), OW = out_w(s), kk = s->k * s->k, N = s->B * OH * OW;
        float *x = normals((size_t)s->B * s->H * s->W, &r), *dy = normals((size_t)s->OC * N, &r);
        float *dw0 = normals((size_t)s->OC * kk, &r);   // the gradient accumulates onto what is there
        float *want = malloc(sizeof(float) * (size_t)s->OC * kk), *got = malloc(sizeof(float) * (size_t)s->OC * kk);
        cr_assert_eq(sgemm_backend_set("plain"), 0);
        memcpy(want, dw0, sizeof(float) * (size_t)s->OC * kk);
        conv_direct_c1_weight_grad(x, s->B, s->H, s->W, s->k, s->p, s->OC, dy, OH, OW, want);
        for (int o = 0; o < s->OC; o++)
            for (int t = 0; t < kk; t++) {
                int ki = t / s->k, kj = t % s->k;
                double sum = dw0[(size_t)o * kk + t], mag = fabs(sum);
                for (int b = 0; b < s->B; b++)
                    for (int oh = 0; oh < OH; oh++)
                        for (int ow = 0; ow < OW; ow++) {
                            int ih = oh - s->p + ki, iw = ow - s->p + kj;
                            if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                            double term = (double)dy[(size_t)o * N + ((size_t)b * OH + oh) * OW + ow] *
                                          x[((size_t)b * s->H + ih) * s->W + iw];
                            sum += term, mag += fabs(term);
                        }
                float v = want[(size_t)o * kk + t];
                cr_assert(fabs(v - sum) <= (N + 20) * (double)FLT_EPSILON * mag + 1e-30,
                          "plain shape %d: dw[%d][%d] = %.9g, exact %.9g", i, o, t, v, sum);
            }
        for (int b = 0; b < sgemm_n_backends; b++) {
            if (!sgemm_backend_supported(sgemm_backends[b])) continue;
            cr_assert_eq(sgemm_backend_set(sgemm_backend_name(sgemm_backends[b])), 0);
            memcpy(got, dw0, sizeof(float) * (size_t)s->OC * kk);
            conv_direct_c1_weight_grad(x, s->B, s->H, s->W, s->k, s->p, s->OC, dy, OH, OW, got);
            cr_assert_eq(memcmp(got, want, sizeof(float) * (size_t)s->OC * kk), 0, "%s shape %d: dw differs from plain",
                         sgemm_backend_name(sgemm_backends[b]), i);
        }
        free(x), free(dy), free(dw0), free(want), free(got);
    }
    sgemm_backend_set(was);
}

// One training pass, then every step-th of the first n parameters (the conv's weights and bias come first):
// the analytic gradient against central differences of the loss. Returns how many were checked.
static int grads_match_differences(Model *m, int B, const uint8_t *y, Rng *drop, size_t n, size_t step) {
    model_forward(m, B, 1, drop);
    model_loss(m, y, NULL);
    model_backward(m);
    float *ga = malloc(sizeof(float) * n);
    memcpy(ga, m->grads, sizeof(float) * n);
    int checked = 0;
    for (size_t i = 0; i < n; i += step) {
        float keep = m->params[i], h = 1e-2f;
        m->params[i] = keep + h;
        model_forward(m, B, 0, drop);
        double lp = model_loss(m, y, NULL);
        m->params[i] = keep - h;
        model_forward(m, B, 0, drop);
        double lm = model_loss(m, y, NULL);
        m->params[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        cr_assert(fabs(fd - ga[i]) <= 2e-3 + 2e-2 * fabs(fd), "param %zu: analytic %.6g, differences %.6g", i, ga[i],
                  fd);
        checked++;
    }
    free(ga);
    return checked;
}

// A one-channel conv (5x5, padding 2, bias) and a linear head: the conv's weight and bias gradients against
// central differences of the loss in double steps.
Test(conv_direct, layer_weight_grad_matches_differences) {
    int B = 3, hw = 7, classes = 4;
    Model *m = model_new("c1", 1, hw, hw, classes, B);
    model_linear(m, model_conv(m, 0, 3, 5, 1, 2, 1), classes, 1);
    Err e;
    Rng init, data, drop;
    rng_seed(&init, 31);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "finalize: %s", e.msg);
    rng_seed(&data, 32);
    for (int i = 0; i < B * hw * hw; i++) model_input(m)[i] = (float)rng_normal(&data);
    uint8_t y[3] = {0, 3, 1};
    rng_seed(&drop, 33);
    cr_assert_gt(grads_match_differences(m, B, y, &drop, 3 * 25 + 3, 4), 15);
    model_free(m);
}

// A two-channel 3x3 conv (padding 1, bias) over 24 samples of 8 x 8: 1536 positions, so its weight gradient
// sums into the transposed scratch (nn/layer_conv.c) and is transposed back; against central differences.
Test(conv_direct, layer_weight_grad_via_scratch_matches_differences) {
    int B = 24, hw = 8, classes = 3, C = 2, OC = 3;
    Model *m = model_new("c2", C, hw, hw, classes, B);
    model_linear(m, model_conv(m, 0, OC, 3, 1, 1, 1), classes, 1);
    Err e;
    Rng init, data, drop;
    rng_seed(&init, 41);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "finalize: %s", e.msg);
    rng_seed(&data, 42);
    for (int i = 0; i < B * C * hw * hw; i++) model_input(m)[i] = (float)rng_normal(&data);
    uint8_t y[24];
    for (int i = 0; i < B; i++) y[i] = (uint8_t)(i % classes);
    rng_seed(&drop, 43);
    cr_assert_gt(grads_match_differences(m, B, y, &drop, (size_t)OC * C * 9 + OC, 2), 25);
    model_free(m);
}

// The AVX-512 adjoint of a "valid" conv's columns against the plain scatter-add in the same order, bit for
// bit, on planes up to 16 wide; wider planes, padding and stride 2 are declined with dx untouched.
Test(conv_direct, valid_col2im_equals_plain_scatter) {
    Rng r;
    rng_seed(&r, 41);
    int cases[][6] = {
        {6, 3, 14, 14, 5, 3}, {2, 2, 5, 7, 3, 2}, {3, 4, 16, 9, 1, 4}, {1, 2, 4, 16, 4, 1}, {2, 3, 6, 6, 6, 2}};
    for (int t = 0; t < 5; t++) {
        int C = cases[t][0], B = cases[t][1], H = cases[t][2], W = cases[t][3], k = cases[t][4], nb = cases[t][5];
        int OH = H - k + 1, OW = W - k + 1, b0 = B - nb;
        size_t ncol = (size_t)nb * OH * OW, nx = (size_t)C * B * H * W;
        float *col = normals((size_t)C * k * k * ncol, &r), *want = normals(nx, &r), *got = malloc(sizeof(float) * nx);
        memcpy(got, want, sizeof(float) * nx);
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                    for (int b = 0; b < nb; b++)
                        for (int oh = 0; oh < OH; oh++)
                            for (int ow = 0; ow < OW; ow++)
                                want[(((size_t)c * B + b0 + b) * H + oh + ki) * W + ow + kj] +=
                                    col[((size_t)(c * k + ki) * k + kj) * ncol + ((size_t)b * OH + oh) * OW + ow];
        ConvCols g = {.C = C, .B = B, .H = H, .W = W, .k = k, .s = 1, .p = 0, .OH = OH, .OW = OW, .b0 = b0};
        if (!conv_cols_add_valid_avx512(col, &g, nb, got)) {
            cr_log_info("no AVX-512 on this CPU: the plain col2im is the path");
            free(col), free(want), free(got);
            return;
        }
        cr_assert_eq(memcmp(got, want, sizeof(float) * nx), 0, "case %d: dx differs from the plain scatter-add", t);
        free(col), free(want), free(got);
    }
    float dx[2 * 17 * 17] = {0}, colz[1] = {0};
    ConvCols wide = {.C = 1, .B = 1, .H = 17, .W = 17, .k = 3, .s = 1, .p = 0, .OH = 15, .OW = 15};
    cr_assert_eq(conv_cols_add_valid_avx512(colz, &wide, 1, dx), 0, "W = 17: declined");
    ConvCols pad = {.C = 1, .B = 1, .H = 8, .W = 8, .k = 3, .s = 1, .p = 1, .OH = 8, .OW = 8};
    cr_assert_eq(conv_cols_add_valid_avx512(colz, &pad, 1, dx), 0, "padding 1: declined");
    ConvCols s2 = {.C = 1, .B = 1, .H = 8, .W = 8, .k = 2, .s = 2, .p = 0, .OH = 4, .OW = 4};
    cr_assert_eq(conv_cols_add_valid_avx512(colz, &s2, 1, dx), 0, "stride 2: declined");
}

// Stride 2 (ResNet's downsampling convs: 3x3 padding 1, 1x1 padding 0; odd planes, padding 2): the AVX-512
// adjoint against the plain scatter-add in col2im's order, bit for bit.
Test(conv_direct, stride2_col2im_equals_plain_scatter) {
    Rng r;
    rng_seed(&r, 42);
    // C, B, H (= W), k, p, nb
    int cases[][6] = {
        {3, 3, 32, 3, 1, 2}, {2, 2, 16, 1, 0, 2}, {2, 3, 9, 3, 1, 3}, {1, 2, 13, 5, 2, 1}, {2, 2, 8, 3, 0, 2}};
    for (int t = 0; t < 5; t++) {
        int C = cases[t][0], B = cases[t][1], H = cases[t][2], W = H, k = cases[t][3], p = cases[t][4],
            nb = cases[t][5];
        int OH = (H + 2 * p - k) / 2 + 1, OW = (W + 2 * p - k) / 2 + 1, b0 = B - nb;
        size_t ncol = (size_t)nb * OH * OW, nx = (size_t)C * B * H * W;
        float *col = normals((size_t)C * k * k * ncol, &r), *want = normals(nx, &r), *got = malloc(sizeof(float) * nx);
        memcpy(got, want, sizeof(float) * nx);
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                    for (int b = 0; b < nb; b++)
                        for (int oh = 0; oh < OH; oh++)
                            for (int ow = 0; ow < OW; ow++) {
                                int ih = 2 * oh - p + ki, iw = 2 * ow - p + kj;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                want[(((size_t)c * B + b0 + b) * H + ih) * W + iw] +=
                                    col[((size_t)(c * k + ki) * k + kj) * ncol + ((size_t)b * OH + oh) * OW + ow];
                            }
        ConvCols g = {.C = C, .B = B, .H = H, .W = W, .k = k, .s = 2, .p = p, .OH = OH, .OW = OW, .b0 = b0};
        if (!conv_cols_add_s2_avx512(col, &g, nb, got)) {
            cr_log_info("no AVX-512 on this CPU: the plain col2im is the path");
            free(col), free(want), free(got);
            return;
        }
        cr_assert_eq(memcmp(got, want, sizeof(float) * nx), 0, "case %d: dx differs from the plain scatter-add", t);
        free(col), free(want), free(got);
    }
    float dx[4] = {0}, colz[1] = {0};
    ConvCols wide = {.C = 1, .B = 1, .H = 2, .W = 34, .k = 3, .s = 2, .p = 1, .OH = 1, .OW = 17};
    cr_assert_eq(conv_cols_add_s2_avx512(colz, &wide, 1, dx), 0, "W = 34: declined");
}
