// fp32 products (nn/sgemm.h) and im2col packed into panels (nn/conv_cols.h): the plain path against a
// double-precision loop within the float summation bound, every SIMD backend this CPU runs against the
// plain path bit for bit, and the conv layer's results equal under every backend.
// No `.timeout` here: with -j2, Criterion 2.4 leaks its timeout record when two tests with timeouts
// overlap in certain orders (this file's and sparse_push_order's: LeakSanitizer failed `make asan`).
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "conv_cols.h"
#include "model.h"
#include "rng.h"
#include "sgemm.h"

static const SgemmBackend *backend_named(const char *name) {
    for (int i = 0; i < sgemm_n_backends; i++)
        if (strcmp(sgemm_backend_name(sgemm_backends[i]), name) == 0) return sgemm_backends[i];
    return NULL;
}

static float *randoms(size_t n, Rng *r) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal(r);
    return x;
}

typedef struct {
    int M, N, K, ta, tb, flags;
    int lda, ldb, ldc;
    float *A, *B, *C0;   // C0: C before the product
} Case;

static Case case_new(int M, int N, int K, int ta, int tb, int flags, Rng *r) {
    Case c = {.M = M, .N = N, .K = K, .ta = ta, .tb = tb, .flags = flags};
    c.lda = (ta ? M : K) + 3;
    c.ldb = (tb ? K : N) + 2;
    c.ldc = ((flags & SGEMM_TRANS_C) ? M : N) + 5;
    c.A = randoms((size_t)c.lda * (ta ? K : M), r);
    c.B = randoms((size_t)c.ldb * (tb ? N : K), r);
    c.C0 = randoms((size_t)c.ldc * ((flags & SGEMM_TRANS_C) ? N : M), r);
    return c;
}

static void case_free(Case *c) { free(c->A), free(c->B), free(c->C0); }
static size_t c_size(const Case *c) { return (size_t)c->ldc * ((c->flags & SGEMM_TRANS_C) ? c->N : c->M); }
static size_t c_at(const Case *c, int m, int n) {
    return (c->flags & SGEMM_TRANS_C) ? (size_t)n * c->ldc + m : (size_t)m * c->ldc + n;
}

static float *run(const SgemmBackend *be, const Case *c) {
    float *C = malloc(sizeof(float) * c_size(c));
    memcpy(C, c->C0, sizeof(float) * c_size(c));
    SgemmMatrix mx = {.b = c->B, .ldb = c->ldb, .trans = c->tb};
    SgemmB b = sgemm_b_matrix(&mx);
    sgemm_be(be, c->ta, c->M, c->N, c->K, c->A, c->lda, &b, C, c->ldc, c->flags);
    return C;
}

// |got - exact| <= gamma_K * sum |terms| (the bound of a K-term float sum with fma), plus the one
// rounding of adding to C.
static void check_exact_sum(const Case *c, const float *C, const char *who) {
    for (int m = 0; m < c->M; m++)
        for (int n = 0; n < c->N; n++) {
            double want = 0.0, mag = 0.0;
            for (int k = 0; k < c->K; k++) {
                double a = c->ta ? c->A[(size_t)k * c->lda + m] : c->A[(size_t)m * c->lda + k];
                double b = c->tb ? c->B[(size_t)n * c->ldb + k] : c->B[(size_t)k * c->ldb + n];
                want += a * b, mag += fabs(a * b);
            }
            double c0 = (c->flags & SGEMM_ACCUMULATE) ? c->C0[c_at(c, m, n)] : 0.0;
            want += c0, mag += fabs(c0);
            double tol = (c->K + 2) * (double)FLT_EPSILON * mag + 1e-30;
            double got = C[c_at(c, m, n)];
            cr_assert(fabs(got - want) <= tol, "%s M=%d N=%d K=%d ta=%d tb=%d flags=%d: C(%d,%d) = %.9g, exact %.9g",
                      who, c->M, c->N, c->K, c->ta, c->tb, c->flags, m, n, got, want);
        }
    // Outside the M x N block (the padding of ldc) nothing changed.
    for (size_t i = 0; i < c_size(c); i++) {
        size_t row = i / c->ldc, col = i % c->ldc;
        int inside = (c->flags & SGEMM_TRANS_C) ? (row < (size_t)c->N && col < (size_t)c->M)
                                                : (row < (size_t)c->M && col < (size_t)c->N);
        if (!inside) cr_assert_eq(C[i], c->C0[i], "%s: C[%zu] outside the product changed", who, i);
    }
}

static const int dims[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 65};
#define NDIMS ((int)(sizeof dims / sizeof dims[0]))

Test(sgemm, plain_within_float_bound) {
    Rng r;
    rng_seed(&r, 1);
    const SgemmBackend *plain = backend_named("plain");
    cr_assert_not_null(plain);
    int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {8, 32, 1}, {2, 3, 1000}, {9, 70, 385}, {5, 4, 0}};
    for (int s = 0; s < 7; s++)
        for (int f = 0; f < 16; f++) {
            Case c = case_new(shapes[s][0], shapes[s][1], shapes[s][2], f & 1, f >> 1 & 1, f >> 2, &r);
            float *C = run(plain, &c);
            check_exact_sum(&c, C, "plain");
            free(C);
            case_free(&c);
        }
}

// Every backend this CPU runs, both transposes, accumulate and transposed C, sizes around the tiles
// (4, 6, 8 rows; 8, 16, 32 columns) and K across the block of 384: the plain path's bits.
Test(sgemm, every_backend_equals_plain_bitwise) {
    Rng r;
    rng_seed(&r, 2);
    const SgemmBackend *plain = backend_named("plain");
    int ran = 0;
    int ks[] = {1, 2, 9, 27, 144, 385, 800};
    for (int b = 0; b < sgemm_n_backends; b++) {
        const SgemmBackend *be = sgemm_backends[b];
        if (!sgemm_backend_supported(be) || be == plain) continue;
        ran++;
        for (int i = 0; i < NDIMS; i++)
            for (int j = 0; j < NDIMS; j += 2)
                for (int f = 0; f < 16; f++) {
                    Case c = case_new(dims[i], dims[(j + i) % NDIMS], ks[(i + j + f) % 7], f & 1, f >> 1 & 1, f >> 2,
                                      &r);
                    float *want = run(plain, &c), *got = run(be, &c);
                    for (size_t e = 0; e < c_size(&c); e++)
                        cr_assert(got[e] == want[e] || (isnan(got[e]) && isnan(want[e])),
                                  "%s M=%d N=%d K=%d ta=%d tb=%d flags=%d: C[%zu] = %.9g, plain %.9g",
                                  sgemm_backend_name(be), c.M, c.N, c.K, c.ta, c.tb, c.flags, e, got[e], want[e]);
                    if (i % 4 == 0 && f % 5 == 0) check_exact_sum(&c, got, sgemm_backend_name(be));
                    free(want), free(got);
                    case_free(&c);
                }
    }
    cr_log_info("%d SIMD backends checked", ran);
}

// A gathered A (scattered rows, columns at irregular offsets) against the same values as a stored matrix
// on the plain backend, bit for bit: edge rows (M % 8), half and full 32-wide panels and a narrow last
// one, K across the block of 384, accumulate and transposed C. Only backends with a gather kernel run it.
Test(sgemm, gather_a_equals_stored_matrix_bitwise) {
    const char *was = sgemm_backend();
    Rng r;
    rng_seed(&r, 5);
    int ran = 0, ms[] = {5, 8, 13}, ns[] = {8, 20, 32, 45}, ks[] = {100, 800};
    for (int b = 0; b < sgemm_n_backends; b++) {
        const SgemmBackend *be = sgemm_backends[b];
        if (!sgemm_backend_supported(be)) continue;
        cr_assert_eq(sgemm_backend_set(sgemm_backend_name(be)), 0);
        if (!sgemm_uses_gather()) continue;
        ran++;
        for (int t = 0; t < 24; t++) {
            int M = ms[t % 3], N = ns[t % 4], K = ks[t / 12], flags = t / 3 % 4;
            int span = 3 * K + 7;   // each row's stretch of a; columns at increasing, uneven offsets
            float *a = randoms((size_t)M * span, &r), *A = malloc(sizeof(float) * (size_t)M * K);
            float *B = randoms((size_t)K * N, &r), *C0 = randoms((size_t)M * N, &r);
            ptrdiff_t *roff = malloc(sizeof(ptrdiff_t) * (size_t)M);
            int *coff = malloc(sizeof(int) * (size_t)K);
            for (int i = 0; i < M; i++) roff[i] = (ptrdiff_t)((i * 7) % M) * span;   // rows out of order
            for (int k = 0, o = 0; k < K; k++, o += 1 + (int)rng_below(&r, 3)) coff[k] = o;
            for (int i = 0; i < M; i++)
                for (int k = 0; k < K; k++) A[(size_t)i * K + k] = a[roff[i] + coff[k]];
            int ldc = flags & SGEMM_TRANS_C ? M : N;
            float *want = malloc(sizeof(float) * (size_t)M * N), *got = malloc(sizeof(float) * (size_t)M * N);
            memcpy(want, C0, sizeof(float) * (size_t)M * N), memcpy(got, C0, sizeof(float) * (size_t)M * N);
            SgemmMatrix mx = {.b = B, .ldb = N, .trans = 0};
            SgemmB bm = sgemm_b_matrix(&mx);
            sgemm_be(backend_named("plain"), 0, M, N, K, A, K, &bm, want, ldc, flags);
            SgemmGatherA ga = {.a = a, .roff = roff, .coff = coff};
            cr_assert_eq(sgemm_gather_a(M, N, K, &ga, &bm, got, ldc, flags), 1);
            cr_assert_eq(memcmp(got, want, sizeof(float) * (size_t)M * N), 0, "%s M=%d N=%d K=%d flags=%d: differs",
                         sgemm_backend_name(be), M, N, K, flags);
            free(a), free(A), free(B), free(C0), free(roff), free(coff), free(want), free(got);
        }
    }
    cr_assert_eq(sgemm_backend_set("plain"), 0);
    cr_assert_eq(sgemm_gather_a(1, 1, 1, &(SgemmGatherA){0}, NULL, NULL, 1, 0), 0, "plain has no gather kernel");
    sgemm_backend_set(was);
    cr_log_info("%d backends with a gather kernel checked", ran);
}

Test(sgemm, backend_selection) {
    const char *was = sgemm_backend();
    cr_assert_eq(sgemm_backend_set("plain"), 0);
    cr_assert_str_eq(sgemm_backend(), "plain");
    cr_assert_eq(sgemm_backend_set("no-such-backend"), -1);
    cr_assert_str_eq(sgemm_backend(), "plain", "a failed set keeps the backend");
    cr_assert_eq(sgemm_backend_set(was), 0);
    cr_assert(sgemm_backend_supported(sgemm_current()));
}

// ---- im2col into panels: a convolution through sgemm against the direct sum ----

typedef struct {
    int C, H, W, B, OC, k, s, p, b0, nb;
} ConvCase;

// y (OC, nb*OH*OW) = W (OC, C*k*k) . columns of x for samples [b0, b0+nb), with backend be.
static void conv_via_sgemm(const SgemmBackend *be, const ConvCase *cc, const float *x, const float *Wt, float *y) {
    int OH = (cc->H + 2 * cc->p - cc->k) / cc->s + 1, OW = (cc->W + 2 * cc->p - cc->k) / cc->s + 1;
    ConvCols g = {.x = x, .C = cc->C, .B = cc->B, .H = cc->H, .W = cc->W, .k = cc->k, .s = cc->s, .p = cc->p,
                  .OH = OH, .OW = OW, .b0 = cc->b0};
    SgemmB b = conv_cols_b(&g);
    int N = cc->nb * OH * OW, K = cc->C * cc->k * cc->k;
    sgemm_be(be, 0, cc->OC, N, K, Wt, K, &b, y, N, 0);
}

// The column matrix written whole (AVX-512, stride 1, OW <= 32) against direct indexing, and nothing
// written past it.
static void check_cols_written(const ConvCase *cc, const float *x) {
    int OH = (cc->H + 2 * cc->p - cc->k) / cc->s + 1, OW = (cc->W + 2 * cc->p - cc->k) / cc->s + 1;
    int K = cc->C * cc->k * cc->k;
    size_t ncol = (size_t)cc->nb * OH * OW, n = (size_t)K * ncol;
    float *col = malloc(sizeof(float) * (n + 16));
    for (size_t i = 0; i < n + 16; i++) col[i] = -7.0f;
    ConvCols g = {.x = x, .C = cc->C, .B = cc->B, .H = cc->H, .W = cc->W, .k = cc->k, .s = cc->s, .p = cc->p,
                  .OH = OH, .OW = OW, .b0 = cc->b0};
    int wrote = conv_cols_write_avx512(&g, cc->nb, col);
    if ((cc->s != 1 || OW > 32) && !(cc->s == 2 && OW <= 16 && cc->W <= 32))
        cr_assert_eq(wrote, 0, "stride %d, OW %d: no AVX-512 column writer", cc->s, OW);
    if (!wrote) {
        free(col);
        return;
    }
    for (int row = 0; row < K; row++) {
        int c = row / (cc->k * cc->k), ki = row / cc->k % cc->k, kj = row % cc->k;
        for (size_t j = 0; j < ncol; j++) {
            int b = (int)(j / ((size_t)OH * OW)), oh = (int)(j / OW % OH), ow = (int)(j % OW);
            int ih = oh * cc->s - cc->p + ki, iw = ow * cc->s - cc->p + kj;
            float want = ih < 0 || ih >= cc->H || iw < 0 || iw >= cc->W
                             ? 0.0f
                             : x[(((size_t)c * cc->B + cc->b0 + b) * cc->H + ih) * cc->W + iw];
            cr_assert_eq(col[(size_t)row * ncol + j], want,
                         "columns C=%d H=%d W=%d k=%d p=%d: col[%d][%zu] = %g, want %g", cc->C, cc->H, cc->W, cc->k,
                         cc->p, row, j, col[(size_t)row * ncol + j], want);
        }
    }
    for (size_t i = n; i < n + 16; i++)
        cr_assert_eq(col[i], -7.0f, "column writer C=%d H=%d W=%d k=%d p=%d nb=%d: wrote col[%zu] past the %zu", cc->C,
                     cc->H, cc->W, cc->k, cc->p, cc->nb, i, n);
    free(col);
}

static void check_conv(const ConvCase *cc, Rng *r) {
    int OH = (cc->H + 2 * cc->p - cc->k) / cc->s + 1, OW = (cc->W + 2 * cc->p - cc->k) / cc->s + 1;
    int K = cc->C * cc->k * cc->k, N = cc->nb * OH * OW;
    float *x = randoms((size_t)cc->C * cc->B * cc->H * cc->W, r), *Wt = randoms((size_t)cc->OC * K, r);
    float *want = malloc(sizeof(float) * (size_t)cc->OC * N), *got = malloc(sizeof(float) * (size_t)cc->OC * N);
    conv_via_sgemm(backend_named("plain"), cc, x, Wt, want);
    for (int o = 0; o < cc->OC; o++)
        for (int b = 0; b < cc->nb; b++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double sum = 0.0, mag = 0.0;
                    for (int c = 0; c < cc->C; c++)
                        for (int ki = 0; ki < cc->k; ki++)
                            for (int kj = 0; kj < cc->k; kj++) {
                                int ih = oh * cc->s - cc->p + ki, iw = ow * cc->s - cc->p + kj;
                                if (ih < 0 || ih >= cc->H || iw < 0 || iw >= cc->W) continue;
                                double t = (double)Wt[(size_t)o * K + (c * cc->k + ki) * cc->k + kj] *
                                           x[(((size_t)c * cc->B + cc->b0 + b) * cc->H + ih) * cc->W + iw];
                                sum += t, mag += fabs(t);
                            }
                    float v = want[(size_t)o * N + ((size_t)b * OH + oh) * OW + ow];
                    cr_assert(fabs(v - sum) <= (K + 1) * (double)FLT_EPSILON * mag + 1e-30,
                              "plain conv C=%d H=%d W=%d k=%d s=%d p=%d b0=%d: y[%d][%d][%d][%d] = %.9g, exact %.9g",
                              cc->C, cc->H, cc->W, cc->k, cc->s, cc->p, cc->b0, o, b, oh, ow, v, sum);
                }
    check_cols_written(cc, x);
    for (int i = 0; i < sgemm_n_backends; i++) {
        const SgemmBackend *be = sgemm_backends[i];
        if (!sgemm_backend_supported(be)) continue;
        conv_via_sgemm(be, cc, x, Wt, got);
        for (size_t e = 0; e < (size_t)cc->OC * N; e++)
            cr_assert(got[e] == want[e], "%s conv C=%d H=%d W=%d k=%d s=%d p=%d b0=%d nb=%d: y[%zu] = %.9g, plain %.9g",
                      sgemm_backend_name(be), cc->C, cc->H, cc->W, cc->k, cc->s, cc->p, cc->b0, cc->nb, e, got[e],
                      want[e]);
    }
    free(x), free(Wt), free(want), free(got);
}

// Odd planes (runs of columns shorter and longer than a panel, planes smaller than the kernel), k 1/3/5,
// strides 1/2, padding 0/1/2, a chunk of samples starting past sample 0.
Test(conv_cols, conv_equals_direct_sum) {
    Rng r;
    rng_seed(&r, 3);
    int planes[][2] = {{1, 1}, {2, 3}, {5, 5}, {7, 4}, {8, 8}, {9, 11}, {16, 16}, {17, 3}, {33, 2}, {32, 32}};
    int kinds[][3] = {{1, 1, 0}, {1, 2, 0}, {3, 1, 1}, {3, 2, 1}, {3, 1, 0}, {5, 1, 2}, {5, 2, 2}, {3, 2, 0}};
    for (int pl = 0; pl < 10; pl++)
        for (int kd = 0; kd < 8; kd++) {
            ConvCase cc = {.C = 1 + (pl + kd) % 3, .H = planes[pl][0], .W = planes[pl][1], .B = 3, .OC = 1 + pl % 9,
                           .k = kinds[kd][0], .s = kinds[kd][1], .p = kinds[kd][2]};
            if (cc.H + 2 * cc.p < cc.k || cc.W + 2 * cc.p < cc.k) continue;
            cc.b0 = (pl + kd) % 2, cc.nb = cc.B - cc.b0 - (kd % 3 == 0 && cc.b0 == 0);
            check_conv(&cc, &r);
        }
    // Many samples of tiny planes: panels of 16 and 32 runs, more runs than one table of the AVX-512 packer.
    ConvCase many[] = {{.C = 2, .H = 2, .W = 2, .B = 40, .OC = 3, .k = 3, .s = 1, .p = 1, .b0 = 1, .nb = 39},
                       {.C = 3, .H = 1, .W = 1, .B = 70, .OC = 9, .k = 1, .s = 1, .p = 0, .b0 = 0, .nb = 70},
                       {.C = 1, .H = 3, .W = 1, .B = 50, .OC = 2, .k = 3, .s = 1, .p = 1, .b0 = 2, .nb = 47}};
    for (int i = 0; i < 3; i++) check_conv(&many[i], &r);
}

// ---- the conv layer under every backend: forward, weight and input gradients bit for bit ----

typedef struct {
    float *logits, *grads, *dx;
    size_t np;
} LayerRun;

static LayerRun layer_run(int c, int hw, int B, int cur, int oc, int k, int s, int p) {
    Model *m = model_new("conv", c, hw, hw, 4, B);
    int x = model_conv(m, 0, oc, k, s, p, 1);
    x = model_conv(m, x, oc, 3, 1, 1, 0);   // a "same" conv: its input gradient is a conv of dy
    model_linear(m, x, 4, 1);
    Err e;
    Rng init;
    rng_seed(&init, 11);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "finalize: %s", e.msg);
    Rng data;
    rng_seed(&data, 12);
    size_t nin = (size_t)c * hw * hw * cur;
    float *dx = calloc(nin, sizeof(float));
    for (size_t i = 0; i < nin; i++) model_input(m)[i] = (float)rng_normal(&data);
    uint8_t y[8];
    for (int b = 0; b < cur; b++) y[b] = (uint8_t)rng_below(&data, 4);
    m->slots[0].grad = dx;
    Rng drop;
    rng_seed(&drop, 13);
    model_forward(m, cur, 1, &drop);
    model_loss(m, y, NULL);
    model_backward(m);
    LayerRun lr = {.logits = malloc(sizeof(float) * 4 * cur), .grads = malloc(sizeof(float) * m->n_params), .dx = dx,
                   .np = m->n_params};
    memcpy(lr.logits, m->slots[m->logits].val, sizeof(float) * 4 * cur);
    memcpy(lr.grads, m->grads, sizeof(float) * m->n_params);
    m->slots[0].grad = NULL;
    model_free(m);
    return lr;
}

static void layer_compare(const LayerRun *a, const LayerRun *b, size_t nl, size_t np, size_t nx, const char *what) {
    cr_assert_eq(memcmp(a->logits, b->logits, sizeof(float) * nl), 0, "%s: logits differ", what);
    cr_assert_eq(memcmp(a->grads, b->grads, sizeof(float) * np), 0, "%s: parameter gradients differ", what);
    cr_assert_eq(memcmp(a->dx, b->dx, sizeof(float) * nx), 0, "%s: input gradients differ", what);
}

Test(conv_cols, layer_equal_under_every_backend) {
    const char *was = sgemm_backend();
    // input (c, hw, hw), batch, samples used, oc, k, stride, pad
    int cfg[][8] = {{3, 9, 4, 3, 5, 3, 1, 1}, {2, 8, 3, 3, 6, 3, 2, 1}, {4, 7, 2, 2, 9, 1, 1, 0},
                    {3, 6, 5, 2, 3, 5, 1, 2}, {5, 10, 2, 2, 17, 1, 2, 0},
                    // one input channel: the direct forward and weight gradient (nn/conv_direct.h)
                    {1, 12, 3, 3, 6, 5, 1, 2}, {1, 9, 4, 3, 7, 3, 1, 0},
                    // columns over the 2 MB kept for backward: the weight gradient reads the input in place
                    // (sgemm_gather_a) sample by sample; "same", stride 2 and "valid", a partial batch
                    {8, 32, 8, 5, 8, 3, 1, 1}, {32, 32, 8, 3, 8, 3, 2, 1}, {8, 32, 8, 6, 8, 5, 1, 0}};
    for (int t = 0; t < 10; t++) {
        int *q = cfg[t];
        cr_assert_eq(sgemm_backend_set("plain"), 0);
        LayerRun want = layer_run(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
        size_t nx = (size_t)q[0] * q[1] * q[1] * q[3];
        for (int i = 0; i < sgemm_n_backends; i++) {
            if (!sgemm_backend_supported(sgemm_backends[i])) continue;
            cr_assert_eq(sgemm_backend_set(sgemm_backend_name(sgemm_backends[i])), 0);
            LayerRun got = layer_run(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
            layer_compare(&got, &want, 4 * (size_t)q[3], want.np, nx, sgemm_backend_name(sgemm_backends[i]));
            free(got.logits), free(got.grads), free(got.dx);
        }
        free(want.logits), free(want.grads), free(want.dx);
    }
    sgemm_backend_set(was);
}
