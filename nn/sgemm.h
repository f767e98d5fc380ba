// fp32 matrix products for the convolutions: C (M, N) (+)= op(A) (M, K) . B (K, N), with B supplied
// by a packer (a matrix, or im2col written straight into the packed panels). Backends (AVX-512, AVX2+FMA,
// plain C) are chosen at run time and give the same bits (same blocking, one fma per term); docs/conv.md.
#ifndef MESHTRAIN_SGEMM_H
#define MESHTRAIN_SGEMM_H
#include <stddef.h>

// A backend: "avx512", "avx2" or "plain" (its insides stay in sgemm.c).
typedef struct SgemmBackend SgemmBackend;
// Every backend this build has, fastest first; the last one is the plain reference.
extern const SgemmBackend *const sgemm_backends[];
extern const int sgemm_n_backends;
const char *sgemm_backend_name(const SgemmBackend *be);
int sgemm_backend_supported(const SgemmBackend *be);   // 1 if this CPU can run it
// The backend in use: the first supported one unless sgemm_backend_set chose another.
const SgemmBackend *sgemm_current(void);
const char *sgemm_backend(void);
// Use the backend called NAME from now on: 0, or -1 if this build lacks it or this CPU cannot run it.
int sgemm_backend_set(const char *name);

// The B operand as packed panels. pack writes rows [k0, k0+kc) and columns [n0, n0+nc) of B into
// ceil(nc/nr) panels of nr columns, dst[panel][k - k0][j] (kc * nr floats each), columns past nc zero.
// Optionally B's panels read in place (the AVX-512 backend; 32-column panels): row k of the panel at
// column n is lanes 0-15 from p + off0[t] under mask m0[t] and lanes 16-31 from p + off1[t] under m1[t]
// (masked lanes are 0 and never read), with t = k % period and p = base + (k / period) * stride.
#define SGEMM_ROWS_PERIOD_MAX 49
typedef struct {
    const float *base;
    ptrdiff_t stride;
    int period;
    ptrdiff_t prefetch;   // rows at each row's address + prefetch are fetched ahead (the next panel's), or 0
    ptrdiff_t off0[SGEMM_ROWS_PERIOD_MAX], off1[SGEMM_ROWS_PERIOD_MAX];
    unsigned short m0[SGEMM_ROWS_PERIOD_MAX], m1[SGEMM_ROWS_PERIOD_MAX];
} SgemmRows;

typedef struct {
    void (*pack)(const void *ctx, int k0, int kc, int n0, int nc, int nr, float *dst);
    const void *ctx;
    // NULL, or: describe the 32-column panel at column n in *r and return 1; 0 when it cannot (it is packed).
    int (*rows)(const void *ctx, int n, SgemmRows *r);
} SgemmB;

// A stored matrix as B: B[k][n] = b[k * ldb + n], or b[n * ldb + k] when trans.
typedef struct {
    const float *b;
    int ldb, trans;
} SgemmMatrix;
SgemmB sgemm_b_matrix(const SgemmMatrix *mx);

enum {
    SGEMM_ACCUMULATE = 1,   // C += product (else C = product)
    SGEMM_TRANS_C = 2,      // C is stored transposed: element (m, n) at C[n * ldc + m]
};

// op(A)[m][k] = A[m * lda + k], or A[k * lda + m] when trans_a. The sum over k runs in order, one fma per
// term, in equal blocks of at most 384 (the same for every backend, set by K alone); each block's sum is
// added to C. With K = 0 the product is 0.
void sgemm_be(const SgemmBackend *be, int trans_a, int M, int N, int K, const float *A, int lda, const SgemmB *b,
              float *C, int ldc, int flags);
// The same with the backend in use.
void sgemm_packed(int trans_a, int M, int N, int K, const float *A, int lda, const SgemmB *b, float *C, int ldc,
                  int flags);
// op(A) gathered: element (m, k) at a[roff[m] + coff[k]] (a convolution's input read in place as its
// column matrix: a row offset per kernel tap, a column offset per output position).
typedef struct {
    const float *a;
    const ptrdiff_t *roff;   // M
    const int *coff;         // K
} SgemmGatherA;
// sgemm_packed with A gathered, the same blocks and terms in the same order (the same bits as the stored
// matrix it describes): 1, or 0 (C untouched) when the backend in use has no such kernel (AVX-512 only).
// 1 if the backend in use has it.
int sgemm_uses_gather(void);
int sgemm_gather_a(int M, int N, int K, const SgemmGatherA *ga, const SgemmB *b, float *C, int ldc, int flags);
// B a stored matrix (trans_b as SgemmMatrix.trans).
void sgemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, int flags);

#endif
