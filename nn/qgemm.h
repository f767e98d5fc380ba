// Integer matrix products of 8-bit codes for 8-bit training: the exact int32 product P = op(A) . B
// of u8 code matrices, their row/column sums, and the float affine form the quantized layers need.
// Backends (AVX-512 VNNI, AVX-VNNI, AVX2, plain C) are chosen at run time; docs/int8.md has the measurements.
#ifndef MESHTRAIN_QGEMM_H
#define MESHTRAIN_QGEMM_H
#include <stdint.h>

// Shapes: op(A) is (M, K): A itself is (M, K) row-major with row stride lda when trans_a == 0
// (conv forward: the weight codes W (OC, C*k*k)), or (K, M) row-major when trans_a == 1 (input
// gradient: W^T with W (OC, C*k*k), so M = C*k*k, K = OC). B is (K, N) row-major with row stride
// ldb (im2col codes, or output-gradient codes (OC, N)). C is (M, N) row-major with row stride ldc.
// Codes are full-range u8 [0, 255]; every backend computes P exactly (int32; exact for
// K * 255 * 255 < 2^31, i.e. K <= 33025).

// Dequantization of a code tensor: x^ = q * scale + min (asymmetric, per tensor).
typedef struct {
    float scale, min;
} QgemmQuant;

// A backend: "avx512-vnni", "avx-vnni", "avx2" or "plain" (its insides stay in qgemm.c).
typedef struct QgemmBackend QgemmBackend;
// Every backend this build has, fastest first; the last one is the plain reference.
extern const QgemmBackend *const qgemm_backends[];
extern const int qgemm_n_backends;
const char *qgemm_backend_name(const QgemmBackend *be);
int qgemm_backend_supported(const QgemmBackend *be);   // 1 if this CPU can run it

// The backend in use: the first supported one in qgemm_backends unless qgemm_backend_set chose another.
const QgemmBackend *qgemm_current(void);
// Its name, for runs to record ("avx512-vnni", "avx-vnni", "avx2" or "plain").
const char *qgemm_backend(void);
// Use the backend called NAME from now on: 0, or -1 if this build lacks it or this CPU cannot run it.
int qgemm_backend_set(const char *name);

// op(A) prepared once for many products (the weights of a conv, multiplied chunk by chunk of
// columns): packed for one backend, with its row sums.
typedef struct QgemmA QgemmA;
// For backend BE (NULL: the one in use). Never NULL (allocation failure aborts).
QgemmA *qgemm_a_new(const QgemmBackend *be, int trans_a, int M, int K, const uint8_t *A, int lda);
void qgemm_a_free(QgemmA *a);
const int32_t *qgemm_a_row_sums(const QgemmA *a);   // rowsum(op(A)), M entries
// C (M, N) int32 = op(A) . B, exact.
void qgemm_a_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc);
// The float form of qgemm_affine with a prepared op(A).
void qgemm_a_mul_affine(const QgemmA *a, QgemmQuant qa, int N, const uint8_t *B, int ldb, QgemmQuant qb, float *C,
                        int ldc, int accumulate);

// C (M, N) int32 = op(A) (M, K) . B (K, N), exact (prepares op(A) for this one product).
void qgemm(int trans_a, int M, int N, int K, const uint8_t *A, int lda, const uint8_t *B, int ldb, int32_t *C,
           int ldc);

// sums[m] = sum_k op(A)[m][k] for m < M (the row sums of op(A); for trans_a == 1 the column sums
// of the stored (K, M) matrix).
void qgemm_row_sums(int trans_a, int M, int K, const uint8_t *A, int lda, int32_t *sums);
// sums[n] = sum_k B[k][n] for n < N.
void qgemm_col_sums(int K, int N, const uint8_t *B, int ldb, int32_t *sums);

// The float product of the dequantized matrices, from the integer product:
//   C[m][n] (+)= sum_{k<K} (qa.scale * op(A)[m][k] + qa.min) * (qb.scale * B[k][n] + qb.min)
//             = sa*sb*P[m][n] + sa*mb*rowsum(op(A))[m] + ma*sb*colsum(B)[n] + K*ma*mb
// in float, equal to the dequantize-then-sum product up to float rounding (summation order and
// the int32 -> float conversion of P). accumulate == 0 overwrites C, 1 adds to it.
// Every one of the K terms is included: a padded convolution, whose float path multiplies by
// exact zeros at the padding (x^ = 0 is no code unless min is a multiple of scale), needs
// qgemm_a_mul_affine_padded below, or must subtract the padded terms itself.
void qgemm_affine(int trans_a, int M, int N, int K, const uint8_t *A, int lda, QgemmQuant qa, const uint8_t *B,
                  int ldb, QgemmQuant qb, float *C, int ldc, int accumulate);

// Where B holds padding, entries that stand for exact zeros (im2col of a padded convolution; the
// input gradient needs none: col2im drops the padded rows of dcol). The columns fall into classes
// with the same padded rows, one per distinct padding pattern (9 for a 3x3 conv with padding 1 on
// planes of 3 x 3 or more, class 0 the interior without padding): column n is of class cls[n] in
// [0, n_classes), and class c's padded k are zk[zoff[c] .. zoff[c+1]).
typedef struct {
    int n_classes;
    const int *cls;    // N entries
    const int *zoff;   // n_classes + 1 offsets into zk
    const int *zk;     // padded rows of B, each in [0, K)
} QgemmPadding;

// qgemm_a_mul_affine with the padded entries of B counted as exact zeros, as the float path does:
//   C[m][n] (+)= sum over k not padded in column n of (sa * op(A)[m][k] + ma) * (sb * B[k][n] + mb).
// The padded entries of B must hold code 0 (so they add nothing to P or to colsum(B)); the
// correction -sa*mb*sum_{k padded} op(A)[m][k] - (number padded)*ma*mb is then applied per class.
// Returns 0, or -1 (C untouched) if a padded entry of B is not code 0 or a class/row is out of range.
int qgemm_a_mul_affine_padded(const QgemmA *a, QgemmQuant qa, int N, const uint8_t *B, int ldb, QgemmQuant qb,
                              const QgemmPadding *pad, float *C, int ldc, int accumulate);

#endif
