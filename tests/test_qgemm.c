// Integer products of 8-bit codes (nn/qgemm.h): the plain path against an independent int64 loop,
// every SIMD backend this CPU runs against the plain path (exact), and the float affine form against
// dequantize-then-sum in double.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "qgemm.h"
#include "rng.h"

typedef enum { FILL_RANDOM, FILL_ZERO, FILL_MAX, FILL_EDGES } Fill;

static void fill(uint8_t *x, size_t n, Fill how, Rng *r) {
    for (size_t i = 0; i < n; i++) {
        switch (how) {
        case FILL_RANDOM: x[i] = (uint8_t)rng_below(r, 256); break;
        case FILL_ZERO: x[i] = 0; break;
        case FILL_MAX: x[i] = 255; break;
        case FILL_EDGES: x[i] = rng_below(r, 2) ? 255 : 0; break;
        }
    }
}

// op(A)[m][k] of a stored A.
static int a_at(const uint8_t *A, int ta, int lda, int m, int k) {
    return ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
}

typedef struct {
    int M, N, K, ta;
    int lda, ldb, ldc;
    uint8_t *A, *B;
} Case;

static Case case_new(int M, int N, int K, int ta, int pad, Fill fa, Fill fb, Rng *r) {
    Case c = {.M = M, .N = N, .K = K, .ta = ta};
    c.lda = (ta ? M : K) + pad;
    c.ldb = N + pad;
    c.ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * c.lda, nb = (size_t)K * c.ldb;
    c.A = malloc(na ? na : 1);
    c.B = malloc(nb ? nb : 1);
    fill(c.A, na, fa, r);
    fill(c.B, nb, fb, r);
    return c;
}

static void case_free(Case *c) {
    free(c->A);
    free(c->B);
}

// C from backend BE, with a sentinel in the row padding that must survive.
static int32_t *run_backend(const QgemmBackend *be, const Case *c) {
    size_t n = (size_t)c->M * c->ldc;
    int32_t *C = malloc(sizeof(int32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) C[i] = -7;
    QgemmA *a = qgemm_a_new(be, c->ta, c->M, c->K, c->A, c->lda);
    qgemm_a_mul(a, c->N, c->B, c->ldb, C, c->ldc);
    qgemm_a_free(a);
    return C;
}

static const QgemmBackend *backend_named(const char *name) {
    for (int i = 0; i < qgemm_n_backends; i++)
        if (strcmp(qgemm_backend_name(qgemm_backends[i]), name) == 0) return qgemm_backends[i];
    return NULL;
}

// Compare backend BE to the plain one on case C: every element equal, padding untouched.
static void check_against_plain(const QgemmBackend *be, const Case *c, const char *what) {
    const QgemmBackend *plain = backend_named("plain");
    int32_t *want = run_backend(plain, c), *got = run_backend(be, c);
    for (int m = 0; m < c->M; m++)
        for (int n = 0; n < c->ldc; n++) {
            size_t i = (size_t)m * c->ldc + n;
            cr_assert_eq(got[i], want[i], "%s: %s M=%d N=%d K=%d trans_a=%d: C[%d][%d] = %d, plain gives %d",
                         qgemm_backend_name(be), what, c->M, c->N, c->K, c->ta, m, n, got[i], want[i]);
        }
    free(want);
    free(got);
}

Test(qgemm, plain_matches_int64_loop) {
    Rng r;
    rng_seed(&r, 1);
    const QgemmBackend *plain = backend_named("plain");
    cr_assert_not_null(plain);
    int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {8, 32, 1}, {2, 3, 600}};
    for (int s = 0; s < 5; s++)
        for (int ta = 0; ta < 2; ta++) {
            Case c = case_new(shapes[s][0], shapes[s][1], shapes[s][2], ta, 3, FILL_RANDOM, FILL_RANDOM, &r);
            int32_t *C = run_backend(plain, &c);
            for (int m = 0; m < c.M; m++)
                for (int n = 0; n < c.N; n++) {
                    int64_t want = 0;
                    for (int k = 0; k < c.K; k++)
                        want += (int64_t)a_at(c.A, ta, c.lda, m, k) * c.B[(size_t)k * c.ldb + n];
                    cr_assert_eq(C[(size_t)m * c.ldc + n], want,
                                 "plain M=%d N=%d K=%d trans_a=%d: C[%d][%d] = %d, want %lld", c.M, c.N, c.K, ta, m, n,
                                 C[(size_t)m * c.ldc + n], (long long)want);
                }
            free(C);
            case_free(&c);
        }
}

// Every backend this CPU runs, every transpose, odd sizes around the tile widths (6, 8, 16, 32) and
// the k groups (2, 4), K = 1, and the extreme codes.
Test(qgemm, every_backend_equals_plain_exactly) {
    Rng r;
    rng_seed(&r, 2);
    int dims[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 65};
    int nd = (int)(sizeof dims / sizeof dims[0]), ran = 0;
    for (int b = 0; b < qgemm_n_backends; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (!qgemm_backend_supported(be) || strcmp(qgemm_backend_name(be), "plain") == 0) continue;
        ran++;
        for (int ta = 0; ta < 2; ta++)
            for (int i = 0; i < 40; i++) {
                int M = dims[rng_below(&r, nd)], N = dims[rng_below(&r, nd)], K = dims[rng_below(&r, nd)];
                if (i < 4) K = 1;
                Case c = case_new(M, N, K, ta, (int)rng_below(&r, 3), FILL_RANDOM, FILL_RANDOM, &r);
                check_against_plain(be, &c, "random codes");
                case_free(&c);
            }
        for (int ta = 0; ta < 2; ta++) {   // K = 0: empty sums
            Case c = case_new(9, 40, 0, ta, 1, FILL_RANDOM, FILL_RANDOM, &r);
            check_against_plain(be, &c, "K = 0");
            int32_t *C = run_backend(be, &c);
            for (int i = 0; i < 9 * c.ldc; i++)
                if (i % c.ldc < 40) cr_assert_eq(C[i], 0, "%s K = 0: C[%d] = %d", qgemm_backend_name(be), i, C[i]);
            free(C);
            case_free(&c);
        }
        Fill fills[][2] = {{FILL_ZERO, FILL_ZERO}, {FILL_MAX, FILL_MAX}, {FILL_MAX, FILL_ZERO},
                           {FILL_ZERO, FILL_MAX}, {FILL_EDGES, FILL_EDGES}};
        for (int f = 0; f < 5; f++)
            for (int ta = 0; ta < 2; ta++) {
                Case c = case_new(19, 70, 37, ta, 1, fills[f][0], fills[f][1], &r);
                check_against_plain(be, &c, "extreme codes");
                case_free(&c);
            }
    }
    cr_log_info("qgemm: %d SIMD backend(s) checked on this CPU, in use: %s", ran, qgemm_backend());
}

// Shapes of the real layers (a ResNet-20 stage-3 conv, a VGG-11 conv and its input gradient) with
// columns spanning several B blocks, and K at the largest VGG-11 value with all codes 255 (the
// largest sums, 4608 * 255 * 255, must stay exact).
Test(qgemm, layer_shapes_and_largest_sums) {
    Rng r;
    rng_seed(&r, 3);
    for (int b = 0; b < qgemm_n_backends; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (!qgemm_backend_supported(be) || strcmp(qgemm_backend_name(be), "plain") == 0) continue;
        Case c1 = case_new(64, 2048 + 5, 576, 0, 0, FILL_RANDOM, FILL_RANDOM, &r);
        check_against_plain(be, &c1, "conv forward");
        case_free(&c1);
        Case c2 = case_new(1152, 300, 256, 1, 0, FILL_RANDOM, FILL_RANDOM, &r);
        check_against_plain(be, &c2, "input gradient");
        case_free(&c2);
        for (int ta = 0; ta < 2; ta++) {
            Case c3 = case_new(9, 40, 4608, ta, 0, FILL_MAX, FILL_MAX, &r);
            int32_t *C = run_backend(be, &c3);
            for (int i = 0; i < 9 * 40; i++)
                cr_assert_eq(C[i], 4608 * 255 * 255, "%s trans_a=%d: C[%d] = %d, want %d", qgemm_backend_name(be), ta,
                             i, C[i], 4608 * 255 * 255);
            free(C);
            case_free(&c3);
        }
    }
}

// One prepared op(A) multiplied chunk by chunk of columns (as a conv layer does per chunk of
// samples), B and C with the full row stride, equals the plain whole product.
Test(qgemm, prepared_a_over_column_chunks) {
    Rng r;
    rng_seed(&r, 6);
    for (int b = 0; b < qgemm_n_backends; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (!qgemm_backend_supported(be)) continue;
        for (int ta = 0; ta < 2; ta++) {
            Case c = case_new(23, 3 * 45 + 7, 50, ta, 0, FILL_RANDOM, FILL_RANDOM, &r);
            int32_t *want = run_backend(backend_named("plain"), &c);
            int32_t *got = calloc((size_t)c.M * c.ldc, sizeof(int32_t));
            QgemmA *a = qgemm_a_new(be, ta, c.M, c.K, c.A, c.lda);
            for (int n0 = 0; n0 < c.N; n0 += 45)
                qgemm_a_mul(a, c.N - n0 < 45 ? c.N - n0 : 45, c.B + n0, c.ldb, got + n0, c.ldc);
            for (int i = 0; i < c.M * c.ldc; i++)
                cr_assert_eq(got[i], want[i], "%s trans_a=%d chunked: C[%d] = %d, whole product %d",
                             qgemm_backend_name(be), ta, i, got[i], want[i]);
            const int32_t *rs = qgemm_a_row_sums(a);
            for (int m = 0; m < c.M; m++) {
                int s = 0;
                for (int k = 0; k < c.K; k++) s += a_at(c.A, ta, c.lda, m, k);
                cr_assert_eq(rs[m], s, "%s: prepared row sum %d = %d, want %d", qgemm_backend_name(be), m, rs[m], s);
            }
            qgemm_a_free(a);
            free(want);
            free(got);
            case_free(&c);
        }
    }
}

Test(qgemm, sums) {
    Rng r;
    rng_seed(&r, 4);
    Case c = case_new(13, 21, 11, 1, 2, FILL_RANDOM, FILL_RANDOM, &r);
    int32_t rs[13], rst[13], cs[21];
    qgemm_row_sums(1, 13, 11, c.A, c.lda, rst);
    qgemm_col_sums(11, 21, c.B, c.ldb, cs);
    for (int m = 0; m < 13; m++) {
        int want = 0;
        for (int k = 0; k < 11; k++) want += a_at(c.A, 1, c.lda, m, k);
        cr_assert_eq(rst[m], want, "row sum (trans_a=1) %d: %d, want %d", m, rst[m], want);
    }
    for (int n = 0; n < 21; n++) {
        int want = 0;
        for (int k = 0; k < 11; k++) want += c.B[(size_t)k * c.ldb + n];
        cr_assert_eq(cs[n], want, "column sum %d: %d, want %d", n, cs[n], want);
    }
    uint8_t A[2][3] = {{1, 2, 3}, {255, 0, 255}};
    qgemm_row_sums(0, 2, 3, &A[0][0], 3, rs);
    cr_assert(rs[0] == 6 && rs[1] == 510, "row sums of a fixed matrix: %d %d, want 6 510", rs[0], rs[1]);
    case_free(&c);
}

// qgemm_affine against sum_k (sa*qa+ma)(sb*qb+mb) in double: within a few float roundings of the
// terms' magnitudes (the int32 -> float conversion of P and the additions of the correction terms).
static void check_affine(const Case *c, QgemmQuant qa, QgemmQuant qb, int accumulate, const char *what) {
    size_t n = (size_t)c->M * c->ldc;
    float *C = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) C[i] = 0.5f + (float)(i % 7);
    qgemm_affine(c->ta, c->M, c->N, c->K, c->A, c->lda, qa, c->B, c->ldb, qb, C, c->ldc, accumulate);
    for (int m = 0; m < c->M; m++)
        for (int j = 0; j < c->ldc; j++) {
            size_t i = (size_t)m * c->ldc + j;
            float before = 0.5f + (float)(i % 7);
            if (j >= c->N) {
                cr_assert_eq(C[i], before, "%s: padding C[%d][%d] changed", what, m, j);
                continue;
            }
            double want = accumulate ? before : 0.0, mag = fabs(want), p = 0.0, ra = 0.0, cb = 0.0;
            float fsum = accumulate ? before : 0.0f;   // dequantize, then sum in float as the float path does
            for (int k = 0; k < c->K; k++) {
                int a = a_at(c->A, c->ta, c->lda, m, k), b = c->B[(size_t)k * c->ldb + j];
                double x = ((double)qa.scale * a + qa.min) * ((double)qb.scale * b + qb.min);
                fsum += (qa.scale * (float)a + qa.min) * (qb.scale * (float)b + qb.min);
                want += x;
                mag += fabs(x);
                p += (double)a * b;
                ra += a;
                cb += b;
            }
            mag += fabs(qa.scale * qb.scale * p) + fabs(qa.scale * qb.min * ra) + fabs(qa.min * qb.scale * cb) +
                   fabs(c->K * qa.min * qb.min);
            double tol = 8.0 * FLT_EPSILON * mag;
            // Against the float sum: both differ from the exact value by at most their rounding
            // (the float sum's grows with K: a summation-order difference, not a wrong term).
            double ftol = tol + (c->K + 4) * FLT_EPSILON * mag;
            cr_assert(fabs(C[i] - fsum) <= ftol, "%s (%s) K=%d: C[%d][%d] = %.9g, float sum %.9g (tol %.3g)", what,
                      qgemm_backend(), c->K, m, j, C[i], fsum, ftol);
            cr_assert(fabs(C[i] - want) <= tol,
                      "%s (%s) M=%d N=%d K=%d trans_a=%d: C[%d][%d] = %.9g, want %.9g (tol %.3g)", what,
                      qgemm_backend(), c->M, c->N, c->K, c->ta, m, j, C[i], want, tol);
        }
    free(C);
}

Test(qgemm, affine_equals_dequantized_product) {
    Rng r;
    rng_seed(&r, 5);
    QgemmQuant w = {.scale = 0.0021f, .min = -0.27f}, x = {.scale = 0.013f, .min = 0.0f},
               g = {.scale = 1.7e-5f, .min = -2.2e-3f};
    for (int b = 0; b < qgemm_n_backends; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (!qgemm_backend_supported(be)) continue;
        cr_assert_eq(qgemm_backend_set(qgemm_backend_name(be)), 0, "backend %s is supported but cannot be set",
                     qgemm_backend_name(be));
        for (int ta = 0; ta < 2; ta++) {
            Case c = case_new(21, 67, 77, ta, 2, FILL_RANDOM, FILL_RANDOM, &r);
            check_affine(&c, w, x, 0, "weights x activations");
            check_affine(&c, w, g, 1, "weights x gradients, accumulated");
            check_affine(&c, g, w, 0, "negative minimum on both sides");
            case_free(&c);
            Case e = case_new(5, 33, 1, ta, 0, FILL_MAX, FILL_ZERO, &r);
            check_affine(&e, w, g, 0, "K = 1, extreme codes");
            case_free(&e);
        }
    }
    qgemm_backend_set(qgemm_backend_name(qgemm_current()));
}

// A padded 3x3 convolution (stride 1, padding 1) on codes: im2col puts code 0 at the padding, the
// columns fall into 9 classes by border position, and the result must equal the float path, which
// multiplies the dequantized weights by exact zeros there.
Test(qgemm, padded_conv_equals_float_path) {
    enum { C = 3, NB = 2, H = 5, W = 4, OC = 5, KS = 3, KK = C * KS * KS, N = NB * H * W };
    Rng r;
    rng_seed(&r, 7);
    uint8_t x[C][NB][H][W], w[OC][KK], col[KK][N];
    fill(&x[0][0][0][0], sizeof x, FILL_RANDOM, &r);
    fill(&w[0][0], sizeof w, FILL_RANDOM, &r);
    int cls[N], zoff[10], zk[9 * KK], nz = 0;
    int pad_at[9][KK];   // 1 where row k is padding for class c
    memset(pad_at, 0, sizeof pad_at);
    for (int n = 0; n < N; n++) {
        int oh = n / W % H, ow = n % W, b = n / (H * W);
        cls[n] = (oh == 0 ? 1 : oh == H - 1 ? 2 : 0) * 3 + (ow == 0 ? 1 : ow == W - 1 ? 2 : 0);
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < KS; ki++)
                for (int kj = 0; kj < KS; kj++) {
                    int k = (c * KS + ki) * KS + kj, ih = oh + ki - 1, iw = ow + kj - 1;
                    int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                    col[k][n] = inside ? x[c][b][ih][iw] : 0;
                    pad_at[cls[n]][k] = !inside;
                }
    }
    for (int c = 0; c < 9; c++) {
        zoff[c] = nz;
        for (int k = 0; k < KK; k++)
            if (pad_at[c][k]) zk[nz++] = k;
    }
    zoff[9] = nz;
    QgemmPadding pad = {.n_classes = 9, .cls = cls, .zoff = zoff, .zk = zk};
    QgemmQuant qw = {.scale = 0.0031f, .min = -0.41f}, qx = {.scale = 0.021f, .min = -1.3f};
    for (int b = 0; b < qgemm_n_backends; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (!qgemm_backend_supported(be)) continue;
        QgemmA *a = qgemm_a_new(be, 0, OC, KK, &w[0][0], KK);
        float y[OC][N];
        cr_assert_eq(qgemm_a_mul_affine_padded(a, qw, N, &col[0][0], N, qx, &pad, &y[0][0], N, 0), 0);
        for (int m = 0; m < OC; m++)
            for (int n = 0; n < N; n++) {
                double want = 0.0, mag = 0.0;
                for (int k = 0; k < KK; k++) {
                    if (pad_at[cls[n]][k]) continue;   // the float path's exact zero
                    double t = ((double)qw.scale * w[m][k] + qw.min) * ((double)qx.scale * col[k][n] + qx.min);
                    want += t;
                    mag += fabs(t) + fabs(qw.scale * qx.scale * w[m][k] * col[k][n]) +
                           fabs(qw.scale * qx.min * w[m][k]) + fabs(qw.min * qx.scale * col[k][n]) +
                           fabs(qw.min * qx.min);
                }
                cr_assert(fabs(y[m][n] - want) <= 8.0 * FLT_EPSILON * mag,
                          "%s padded conv: y[%d][%d] (class %d) = %.9g, float path %.9g", qgemm_backend_name(be), m,
                          n, cls[n], y[m][n], want);
            }
        // A padded entry that is not code 0 is refused, and the output left alone.
        col[zk[0]][0] = 9;
        y[0][0] = 42.0f;
        cr_assert_eq(qgemm_a_mul_affine_padded(a, qw, N, &col[0][0], N, qx, &pad, &y[0][0], N, 0), -1,
                     "a nonzero code at the padding was accepted");
        cr_assert_eq(y[0][0], 42.0f);
        col[zk[0]][0] = 0;
        qgemm_a_free(a);
    }
}

Test(qgemm, selection) {
    const QgemmBackend *first = NULL;
    for (int b = 0; b < qgemm_n_backends && !first; b++)
        if (qgemm_backend_supported(qgemm_backends[b])) first = qgemm_backends[b];
    cr_assert_not_null(first, "no backend is supported, not even plain");
    cr_assert_str_eq(qgemm_backend_name(qgemm_backends[qgemm_n_backends - 1]), "plain",
                     "the last backend must be the plain one");
    cr_assert_eq(qgemm_backend_set("no-such-backend"), -1, "an unknown backend name was accepted");
    cr_assert_eq(qgemm_backend_set("plain"), 0);
    cr_assert_str_eq(qgemm_backend(), "plain");
    cr_assert_eq(qgemm_backend_set(qgemm_backend_name(first)), 0);
    cr_assert_str_eq(qgemm_backend(), qgemm_backend_name(first));
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        cr_assert_str_eq(qgemm_backend_name(first), "avx512-vnni", "this CPU has AVX-512 VNNI but %s is chosen",
                         qgemm_backend_name(first));
}
