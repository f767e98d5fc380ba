// fp32 products (nn/sgemm.h): one blocked driver, register-tiled kernels for AVX-512 (8 x 32) and AVX2+FMA
// (6 x 16) compiled with target attributes and chosen at run time, and a plain C kernel as the reference.
// Every backend sums each element's terms in the same order with one fma each, so they agree bit for bit.
#include "sgemm.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SGEMM_X86 1
#endif

// K is cut into blocks of at most KC_MAX, of equal size (K = 576 -> 2 x 288): a block of B panels stays in
// L2 while every row panel of A passes over it. B_BLOCK_BYTES: the packed block of B (L2 is 1 MB on Zen 5,
// 256 KB-2 MB elsewhere).
#define KC_MAX 384
#define B_BLOCK_BYTES ((size_t)384 << 10)

// One tile: rows [0, mv) and columns [0, nv) of the MR x NR kernel. op(A)[i][k] of the tile is
// a[i * rs + k * cs]; C's element (i, j) is c[i * ldc + j] (trans_c: c[j * ldc + i]); add: C += sums.
typedef struct {
    const float *a;
    ptrdiff_t rs, cs;
    int mv, nv;
    float *c;
    ptrdiff_t ldc;
    int trans_c, add;
    // NULL, or op(A) gathered: element (i, k) at a[roff[i] + coff[k]] (roff: the tile's mr rows, rows past mv
    // repeating the last valid one; coff: from the block's first k). rs and cs are then unused.
    const ptrdiff_t *roff;
    const int *coff;
} SgemmTile;

struct SgemmBackend {
    const char *name;
    int (*supported)(void);
    int mr, nr;
    // The tile's kc terms: B panel bp is [kc][nr].
    void (*kernel)(int kc, const float *bp, const SgemmTile *t);
    // NULL, or the same with B's rows k0.. read in place as r says (nr == 32).
    void (*kernel_rows)(int k0, int kc, const SgemmRows *r, const SgemmTile *t);
    // NULL, or kernel with A gathered (t->roff, t->coff set).
    void (*kernel_gather)(int kc, const float *bp, const SgemmTile *t);
};

// A computed tile (mr x nr sums, row stride ts) into C: the edge tiles and transposed C.
static void tile_store(const float *sums, int ts, const SgemmTile *t) {
    for (int i = 0; i < t->mv; i++)
        for (int j = 0; j < t->nv; j++) {
            float *c = t->trans_c ? t->c + (size_t)j * t->ldc + i : t->c + (size_t)i * t->ldc + j;
            *c = t->add ? *c + sums[(size_t)i * ts + j] : sums[(size_t)i * ts + j];
        }
}

// Row i of the tile, rows past mv reading the last valid row (their sums are never stored).
static inline const float *tile_row(const SgemmTile *t, int i) {
    return t->a + (ptrdiff_t)(i < t->mv ? i : t->mv - 1) * t->rs;
}

// The packed block of B: one buffer per thread, kept and grown to the largest block asked for (at most
// B_BLOCK_BYTES plus one panel), so that products neither allocate nor leave freed blocks that glibc's
// growing mmap threshold would turn into a larger heap.
static _Thread_local float *block_buf;
static _Thread_local size_t block_cap;

static float *block_get(size_t floats) {
    if (floats <= block_cap) return block_buf;
    free(block_buf);
    block_buf = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!block_buf) {
        fprintf(stderr, "sgemm: out of memory allocating %zu floats (%s:%d)\n", floats, __FILE__, __LINE__);
        abort();
    }
    block_cap = floats;
    return block_buf;
}

// ---- plain C: the reference, and the path for CPUs without the SIMD kernels ----

#define PLAIN_MR 4
#define PLAIN_NR 8

static int plain_supported(void) { return 1; }

static void plain_kernel(int kc, const float *bp, const SgemmTile *t) {
    float acc[PLAIN_MR][PLAIN_NR] = {{0}};
    const float *a[PLAIN_MR];
    for (int i = 0; i < PLAIN_MR; i++) a[i] = tile_row(t, i);
    for (int k = 0; k < kc; k++, bp += PLAIN_NR)
        for (int i = 0; i < PLAIN_MR; i++) {
            float av = a[i][(ptrdiff_t)k * t->cs];
            for (int j = 0; j < PLAIN_NR; j++) acc[i][j] = fmaf(av, bp[j], acc[i][j]);
        }
    tile_store(&acc[0][0], PLAIN_NR, t);
}

static const SgemmBackend plain_backend = {
    .name = "plain", .supported = plain_supported, .mr = PLAIN_MR, .nr = PLAIN_NR, .kernel = plain_kernel};

#ifdef SGEMM_X86
// ---- AVX-512: 8 rows x 32 columns, 16 zmm accumulators; a narrow last panel (nv <= 16) does half ----

#define AVX512_MR 8
#define AVX512_NR 32
#define AVX512_TARGET __attribute__((target("avx512f,fma")))

static int avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

// In-register transpose of 16 rows of 16 floats: r[i] becomes column i (unpack within 128-bit lanes, then
// two rounds of 128-bit block shuffles). Only moves bits.
AVX512_TARGET static inline __attribute__((always_inline)) void avx512_transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {   // r[4g + e]: rows 4g..4g+3 at columns e, 4+e, 8+e, 12+e
        r[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0x88), u1 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0xDD);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0x88),
               u3 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0xDD);
        t[e] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[8 + e] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
        t[4 + e] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[12 + e] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

// A tile into transposed C: the 8 rows' 16-column halves transposed, so column j of the tile is 8
// consecutive floats of C^T's row j (one ymm add and store when all 8 rows are valid).
AVX512_TARGET static void avx512_store_trans(const SgemmTile *t, __m512 c[8][2]) {
    for (int h = 0; h * 16 < t->nv; h++) {
        __m512 r[16];
        for (int i = 0; i < 8; i++) r[i] = c[i][h], r[8 + i] = _mm512_setzero_ps();
        avx512_transpose16(r);
        int jn = t->nv - h * 16 < 16 ? t->nv - h * 16 : 16;
        for (int j = 0; j < jn; j++) {
            float *cp = t->c + (size_t)(h * 16 + j) * t->ldc;
            __m256 v = _mm512_castps512_ps256(r[j]);
            if (t->mv == 8) {
                if (t->add) v = _mm256_add_ps(_mm256_loadu_ps(cp), v);
                _mm256_storeu_ps(cp, v);
                continue;
            }
            float tmp[8];
            _mm256_storeu_ps(tmp, v);
            for (int i = 0; i < t->mv; i++) cp[i] = t->add ? cp[i] + tmp[i] : tmp[i];
        }
    }
}

AVX512_TARGET static inline __attribute__((always_inline)) void avx512_row(const SgemmTile *t, int i, __mmask16 k0,
                                                                           __mmask16 k1, __m512 v0, __m512 v1) {
    float *c = t->c + (size_t)i * t->ldc;
    if (t->add) {
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, c), v0);
        v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, c + 16), v1);
    }
    _mm512_mask_storeu_ps(c, k0, v0);
    _mm512_mask_storeu_ps(c + 16, k1, v1);
}

// One k step of the 8 x 32 tile (accumulators c00..c71, A rows a0..a7 at offset o, B vectors b0, b1).
#define AVX512_ROW(x, y0, y1)                                                                                          \
    do {                                                                                                               \
        __m512 av = _mm512_set1_ps(x[o]);                                                                              \
        y0 = _mm512_fmadd_ps(av, b0, y0);                                                                              \
        y1 = _mm512_fmadd_ps(av, b1, y1);                                                                              \
    } while (0)
#define AVX512_STEP()                                                                                                  \
    do {                                                                                                               \
        AVX512_ROW(a0, c00, c01);                                                                                      \
        AVX512_ROW(a1, c10, c11);                                                                                      \
        AVX512_ROW(a2, c20, c21);                                                                                      \
        AVX512_ROW(a3, c30, c31);                                                                                      \
        AVX512_ROW(a4, c40, c41);                                                                                      \
        AVX512_ROW(a5, c50, c51);                                                                                      \
        AVX512_ROW(a6, c60, c61);                                                                                      \
        AVX512_ROW(a7, c70, c71);                                                                                      \
    } while (0)

// One k step of a half-width tile (<= 16 columns: b0 only, accumulators c00..c70).
#define AVX512_STEP_HALF()                                                                                             \
    do {                                                                                                               \
        c00 = _mm512_fmadd_ps(_mm512_set1_ps(a0[o]), b0, c00);                                                         \
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(a1[o]), b0, c10);                                                         \
        c20 = _mm512_fmadd_ps(_mm512_set1_ps(a2[o]), b0, c20);                                                         \
        c30 = _mm512_fmadd_ps(_mm512_set1_ps(a3[o]), b0, c30);                                                         \
        c40 = _mm512_fmadd_ps(_mm512_set1_ps(a4[o]), b0, c40);                                                         \
        c50 = _mm512_fmadd_ps(_mm512_set1_ps(a5[o]), b0, c50);                                                         \
        c60 = _mm512_fmadd_ps(_mm512_set1_ps(a6[o]), b0, c60);                                                         \
        c70 = _mm512_fmadd_ps(_mm512_set1_ps(a7[o]), b0, c70);                                                         \
    } while (0)
// The named accumulators as the [row][half] array the epilogue takes.
#define AVX512_TILE(c)                                                                                                 \
    __m512 c[AVX512_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},                                          \
                              {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}}

// Lanes of the first and second 16 columns that a tile of nv valid columns stores.
static inline __mmask16 avx512_mask_lo(int nv) { return nv >= 16 ? 0xFFFF : (__mmask16)((1u << nv) - 1); }
static inline __mmask16 avx512_mask_hi(int nv) {
    return nv >= 32 ? 0xFFFF : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
}

// A finished tile to C: its valid rows, the columns k0 / k1 let through, or transposed.
AVX512_TARGET static inline __attribute__((always_inline)) void avx512_tile_out(const SgemmTile *t,
                                                                               __m512 c[AVX512_MR][2],
                                                                               __mmask16 k0, __mmask16 k1) {
    if (t->trans_c) {
        avx512_store_trans(t, c);
        return;
    }
#pragma GCC unroll 8
    for (int i = 0; i < AVX512_MR; i++)
        if (i < t->mv) avx512_row(t, i, k0, k1, c[i][0], c[i][1]);
}

AVX512_TARGET static void avx512_kernel(int kc, const float *bp, const SgemmTile *t) {
    const float *a0 = tile_row(t, 0), *a1 = tile_row(t, 1), *a2 = tile_row(t, 2), *a3 = tile_row(t, 3);
    const float *a4 = tile_row(t, 4), *a5 = tile_row(t, 5), *a6 = tile_row(t, 6), *a7 = tile_row(t, 7);
    ptrdiff_t cs = t->cs, o = 0;
    // Named accumulators: with an array GCC spills them around every fma.
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (t->nv > 16) {
        for (int k = 0; k < kc; k++, bp += AVX512_NR, o += cs) {
            __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
            AVX512_STEP();
        }
    } else {
        for (int k = 0; k < kc; k++, bp += AVX512_NR, o += cs) {
            __m512 b0 = _mm512_load_ps(bp);
            AVX512_STEP_HALF();
        }
    }
    AVX512_TILE(c);
    avx512_tile_out(t, c, avx512_mask_lo(t->nv), avx512_mask_hi(t->nv));
}

// avx512_kernel with each row of B loaded from where it lies (two masked loads) instead of a packed panel.
AVX512_TARGET static void avx512_kernel_rows(int k0, int kc, const SgemmRows *r, const SgemmTile *t) {
    const float *a0 = tile_row(t, 0), *a1 = tile_row(t, 1), *a2 = tile_row(t, 2), *a3 = tile_row(t, 3);
    const float *a4 = tile_row(t, 4), *a5 = tile_row(t, 5), *a6 = tile_row(t, 6), *a7 = tile_row(t, 7);
    ptrdiff_t cs = t->cs, o = 0;
    int tt = k0 % r->period;
    ptrdiff_t pf = r->prefetch;
    const float *p = r->base + (ptrdiff_t)(k0 / r->period) * r->stride;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++, o += cs) {
        __m512 b0 = _mm512_maskz_loadu_ps(r->m0[tt], p + r->off0[tt]);
        __m512 b1 = _mm512_maskz_loadu_ps(r->m1[tt], p + r->off1[tt]);
        if (pf) {   // the stretches the next panel reads that this one does not: fetched while this one computes
            _mm_prefetch((const char *)(p + r->off0[tt] + pf), _MM_HINT_T0);
            _mm_prefetch((const char *)(p + r->off1[tt] + pf + 15), _MM_HINT_T0);
        }
        if (++tt == r->period) tt = 0, p += r->stride;
        AVX512_STEP();
    }
    AVX512_TILE(c);
    avx512_tile_out(t, c, 0xFFFF, 0xFFFF);
}

// avx512_kernel with A gathered: the k-th term of every row at its row's base + coff[k] (one table load per
// k step, the rows' broadcasts as in avx512_kernel; the same fmas in the same order).
AVX512_TARGET static void avx512_kernel_gather(int kc, const float *bp, const SgemmTile *t) {
    const float *a0 = t->a + t->roff[0], *a1 = t->a + t->roff[1], *a2 = t->a + t->roff[2], *a3 = t->a + t->roff[3];
    const float *a4 = t->a + t->roff[4], *a5 = t->a + t->roff[5], *a6 = t->a + t->roff[6], *a7 = t->a + t->roff[7];
    const int *co = t->coff;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (t->nv > 16) {
        for (int k = 0; k < kc; k++, bp += AVX512_NR) {
            ptrdiff_t o = co[k];
            __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
            AVX512_STEP();
        }
    } else {
        for (int k = 0; k < kc; k++, bp += AVX512_NR) {
            ptrdiff_t o = co[k];
            __m512 b0 = _mm512_load_ps(bp);
            AVX512_STEP_HALF();
        }
    }
    AVX512_TILE(c);
    avx512_tile_out(t, c, avx512_mask_lo(t->nv), avx512_mask_hi(t->nv));
}

static const SgemmBackend avx512_backend = {.name = "avx512",
                                            .supported = avx512_supported,
                                            .mr = AVX512_MR,
                                            .nr = AVX512_NR,
                                            .kernel = avx512_kernel,
                                            .kernel_rows = avx512_kernel_rows,
                                            .kernel_gather = avx512_kernel_gather};

// ---- AVX2 + FMA: 6 rows x 16 columns, 12 ymm accumulators ----

#define AVX2_MR 6
#define AVX2_NR 16
#define AVX2_TARGET __attribute__((target("avx2,fma")))

static int avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

AVX2_TARGET static void avx2_kernel(int kc, const float *bp, const SgemmTile *t) {
    const float *a0 = tile_row(t, 0), *a1 = tile_row(t, 1), *a2 = tile_row(t, 2), *a3 = tile_row(t, 3);
    const float *a4 = tile_row(t, 4), *a5 = tile_row(t, 5);
    ptrdiff_t cs = t->cs, o = 0;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++, bp += AVX2_NR, o += cs) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#define AVX2_ROW(x, y0, y1)                                                                                            \
    do {                                                                                                               \
        __m256 av = _mm256_broadcast_ss(x + o);                                                                        \
        y0 = _mm256_fmadd_ps(av, b0, y0);                                                                              \
        y1 = _mm256_fmadd_ps(av, b1, y1);                                                                              \
    } while (0)
        AVX2_ROW(a0, c00, c01);
        AVX2_ROW(a1, c10, c11);
        AVX2_ROW(a2, c20, c21);
        AVX2_ROW(a3, c30, c31);
        AVX2_ROW(a4, c40, c41);
        AVX2_ROW(a5, c50, c51);
#undef AVX2_ROW
    }
    __m256 c[AVX2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (t->trans_c || t->nv < AVX2_NR) {
        float sums[AVX2_MR * AVX2_NR];
        for (int i = 0; i < AVX2_MR; i++) {
            _mm256_storeu_ps(sums + i * AVX2_NR, c[i][0]);
            _mm256_storeu_ps(sums + i * AVX2_NR + 8, c[i][1]);
        }
        tile_store(sums, AVX2_NR, t);
        return;
    }
#pragma GCC unroll 6
    for (int i = 0; i < AVX2_MR; i++) {
        if (i >= t->mv) break;
        float *cp = t->c + (size_t)i * t->ldc;
        __m256 v0 = c[i][0], v1 = c[i][1];
        if (t->add) {
            v0 = _mm256_add_ps(_mm256_loadu_ps(cp), v0);
            v1 = _mm256_add_ps(_mm256_loadu_ps(cp + 8), v1);
        }
        _mm256_storeu_ps(cp, v0);
        _mm256_storeu_ps(cp + 8, v1);
    }
}

static const SgemmBackend avx2_backend = {
    .name = "avx2", .supported = avx2_supported, .mr = AVX2_MR, .nr = AVX2_NR, .kernel = avx2_kernel};
#endif

// ---- selection ----

const SgemmBackend *const sgemm_backends[] = {
#ifdef SGEMM_X86
    &avx512_backend, &avx2_backend,
#endif
    &plain_backend};
const int sgemm_n_backends = (int)(sizeof sgemm_backends / sizeof sgemm_backends[0]);

static const SgemmBackend *chosen;

const char *sgemm_backend_name(const SgemmBackend *be) { return be->name; }
int sgemm_backend_supported(const SgemmBackend *be) { return be->supported(); }

const SgemmBackend *sgemm_current(void) {
    if (!chosen)
        for (int i = 0; i < sgemm_n_backends && !chosen; i++)
            if (sgemm_backends[i]->supported()) chosen = sgemm_backends[i];
    return chosen;
}

const char *sgemm_backend(void) { return sgemm_current()->name; }

int sgemm_backend_set(const char *name) {
    for (int i = 0; i < sgemm_n_backends; i++)
        if (strcmp(sgemm_backends[i]->name, name) == 0 && sgemm_backends[i]->supported()) {
            chosen = sgemm_backends[i];
            return 0;
        }
    return -1;
}

// ---- B from a stored matrix ----

#ifdef SGEMM_X86
static int avx512_supported_cached(void) {
    static int ok = -1;   // the CPU does not change under a process
    if (ok < 0) ok = avx512_supported();
    return ok;
}

// One panel of 32 columns of B = b^T (rows j0.. of b, w of them) over k0..k0+kc: 16 x 16 blocks read
// along b's rows, transposed in registers.
AVX512_TARGET static void avx512_pack_trans(const SgemmMatrix *mx, int k0, int kc, int j0, int w, float *dst) {
    for (int k = 0; k < kc; k += 16) {
        int kn = kc - k < 16 ? kc - k : 16;
        __mmask16 km = (__mmask16)((1u << kn) - 1);
        for (int h = 0; h < 2; h++) {
            if (h * 16 >= w) {   // columns past w: zero
                for (int e = 0; e < kn; e++)
                    _mm512_storeu_ps(dst + (size_t)(k + e) * AVX512_NR + 16, _mm512_setzero_ps());
                continue;
            }
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                int j = h * 16 + i;
                r[i] = j < w ? _mm512_maskz_loadu_ps(km, mx->b + (size_t)(j0 + j) * mx->ldb + k0 + k)
                             : _mm512_setzero_ps();
            }
            avx512_transpose16(r);
            for (int e = 0; e < kn; e++) _mm512_storeu_ps(dst + (size_t)(k + e) * AVX512_NR + 16 * h, r[e]);
        }
    }
}
#endif

static void pack_matrix(const void *ctx, int k0, int kc, int n0, int nc, int nr, float *dst) {
    const SgemmMatrix *mx = ctx;
    for (int p = 0; p * nr < nc; p++, dst += (size_t)kc * nr) {
        int j0 = n0 + p * nr, w = nc - p * nr < nr ? nc - p * nr : nr;
        if (!mx->trans) {
            for (int k = 0; k < kc; k++) {
                const float *restrict src = mx->b + (size_t)(k0 + k) * mx->ldb + j0;
                float *restrict d = dst + (size_t)k * nr;
                for (int j = 0; j < w; j++) d[j] = src[j];
                for (int j = w; j < nr; j++) d[j] = 0.0f;
            }
            continue;
        }
#ifdef SGEMM_X86
        if (nr == AVX512_NR && avx512_supported_cached()) {
            avx512_pack_trans(mx, k0, kc, j0, w, dst);
            continue;
        }
#endif
        for (int j = 0; j < w; j++) {   // B[k][n] = b[n][k]: rows of b read along k
            const float *restrict src = mx->b + (size_t)(j0 + j) * mx->ldb + k0;
            for (int k = 0; k < kc; k++) dst[(size_t)k * nr + j] = src[k];
        }
        if (w < nr)
            for (int k = 0; k < kc; k++)
                for (int j = w; j < nr; j++) dst[(size_t)k * nr + j] = 0.0f;
    }
}

// An untransposed matrix's 32-column panel read in place: row k is 32 floats at b + k * ldb + n.
static int matrix_rows(const void *ctx, int n, SgemmRows *r) {
    const SgemmMatrix *mx = ctx;
    if (mx->trans) return 0;
    r->base = mx->b + n, r->stride = mx->ldb, r->period = 1, r->prefetch = 0;
    r->off0[0] = 0, r->off1[0] = 16, r->m0[0] = r->m1[0] = 0xFFFF;
    return 1;
}

SgemmB sgemm_b_matrix(const SgemmMatrix *mx) { return (SgemmB){.pack = pack_matrix, .ctx = mx, .rows = matrix_rows}; }

// ---- the driver ----

static void c_zero(int M, int N, float *C, int ldc, int trans_c) {
    int rows = trans_c ? N : M, cols = trans_c ? M : N;
    for (int i = 0; i < rows; i++) memset(C + (size_t)i * ldc, 0, sizeof(float) * (size_t)cols);
}

// One block of K with B's panels read in place where b->rows can describe them; any other panel (the
// last, narrower one; runs of columns the description does not fit) is packed alone into bp.
static void rows_block(const SgemmBackend *be, const SgemmB *b, int k0, int kc, int M, int N, const float *A,
                       ptrdiff_t rs, ptrdiff_t cs, float *C, int ldc, int tc, int add, float *bp) {
    int mr = be->mr, nr = be->nr;
    SgemmRows r;
    for (int n = 0; n < N; n += nr) {
        int nv = N - n < nr ? N - n : nr;
        int direct = nv == nr && b->rows(b->ctx, n, &r);
        if (!direct) b->pack(b->ctx, k0, kc, n, nv, nr, bp);
        for (int m0 = 0; m0 < M; m0 += mr) {
            SgemmTile t = {.a = A + (ptrdiff_t)m0 * rs + (ptrdiff_t)k0 * cs, .rs = rs, .cs = cs,
                           .mv = M - m0 < mr ? M - m0 : mr, .nv = nv,
                           .c = tc ? C + (size_t)n * ldc + m0 : C + (size_t)m0 * ldc + n, .ldc = ldc, .trans_c = tc,
                           .add = add};
            if (direct) be->kernel_rows(k0, kc, &r, &t);
            else be->kernel(kc, bp, &t);
        }
    }
}

void sgemm_be(const SgemmBackend *be, int trans_a, int M, int N, int K, const float *A, int lda, const SgemmB *b,
              float *C, int ldc, int flags) {
    int acc = flags & SGEMM_ACCUMULATE, tc = (flags & SGEMM_TRANS_C) != 0;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!acc) c_zero(M, N, C, ldc, tc);
        return;
    }
    int mr = be->mr, nr = be->nr;
    int nk = (K + KC_MAX - 1) / KC_MAX, kcb = (K + nk - 1) / nk;   // blocks of K: kcb each, the last shorter
    int npan = (N + nr - 1) / nr;
    int bpan = (int)(B_BLOCK_BYTES / ((size_t)kcb * nr * sizeof(float)));
    bpan = bpan < 1 ? 1 : bpan > npan ? npan : bpan;
    ptrdiff_t rs = trans_a ? 1 : lda, cs = trans_a ? lda : 1;
    float *bp = block_get((size_t)kcb * nr * bpan);
    for (int k0 = 0; k0 < K; k0 += kcb) {
        int kc = K - k0 < kcb ? K - k0 : kcb;
        if (b->rows && be->kernel_rows) {
            rows_block(be, b, k0, kc, M, N, A, rs, cs, C, ldc, tc, acc || k0 > 0, bp);
            continue;
        }
        for (int n0 = 0; n0 < N; n0 += bpan * nr) {
            int nb = N - n0 < bpan * nr ? N - n0 : bpan * nr;
            b->pack(b->ctx, k0, kc, n0, nb, nr, bp);
            for (int m0 = 0; m0 < M; m0 += mr)
                for (int j0 = 0; j0 < nb; j0 += nr) {
                    int n = n0 + j0;
                    SgemmTile t = {.a = A + (ptrdiff_t)m0 * rs + (ptrdiff_t)k0 * cs, .rs = rs, .cs = cs,
                                   .mv = M - m0 < mr ? M - m0 : mr, .nv = nb - j0 < nr ? nb - j0 : nr,
                                   .c = tc ? C + (size_t)n * ldc + m0 : C + (size_t)m0 * ldc + n, .ldc = ldc,
                                   .trans_c = tc, .add = acc || k0 > 0};
                    be->kernel(kc, bp + (size_t)(j0 / nr) * kc * nr, &t);
                }
        }
    }
}

int sgemm_uses_gather(void) { return sgemm_current()->kernel_gather != NULL; }

int sgemm_gather_a(int M, int N, int K, const SgemmGatherA *ga, const SgemmB *b, float *C, int ldc, int flags) {
    const SgemmBackend *be = sgemm_current();
    if (!be->kernel_gather) return 0;
    int acc = flags & SGEMM_ACCUMULATE, tc = (flags & SGEMM_TRANS_C) != 0;
    if (M <= 0 || N <= 0) return 1;
    if (K <= 0) {
        if (!acc) c_zero(M, N, C, ldc, tc);
        return 1;
    }
    int mr = be->mr, nr = be->nr;
    int nk = (K + KC_MAX - 1) / KC_MAX, kcb = (K + nk - 1) / nk;   // the blocks of sgemm_be
    int npan = (N + nr - 1) / nr;
    int bpan = (int)(B_BLOCK_BYTES / ((size_t)kcb * nr * sizeof(float)));
    bpan = bpan < 1 ? 1 : bpan > npan ? npan : bpan;
    float *bp = block_get((size_t)kcb * nr * bpan);
    ptrdiff_t roff[64];
    for (int k0 = 0; k0 < K; k0 += kcb) {
        int kc = K - k0 < kcb ? K - k0 : kcb;
        for (int n0 = 0; n0 < N; n0 += bpan * nr) {
            int nb = N - n0 < bpan * nr ? N - n0 : bpan * nr;
            b->pack(b->ctx, k0, kc, n0, nb, nr, bp);
            for (int m0 = 0; m0 < M; m0 += mr) {
                int mv = M - m0 < mr ? M - m0 : mr;
                for (int i = 0; i < mr; i++) roff[i] = ga->roff[m0 + (i < mv ? i : mv - 1)];
                for (int j0 = 0; j0 < nb; j0 += nr) {
                    int n = n0 + j0;
                    SgemmTile t = {.a = ga->a, .mv = mv, .nv = nb - j0 < nr ? nb - j0 : nr,
                                   .c = tc ? C + (size_t)n * ldc + m0 : C + (size_t)m0 * ldc + n, .ldc = ldc,
                                   .trans_c = tc, .add = acc || k0 > 0, .roff = roff, .coff = ga->coff + k0};
                    be->kernel_gather(kc, bp + (size_t)(j0 / nr) * kc * nr, &t);
                }
            }
        }
    }
    return 1;
}

void sgemm_packed(int trans_a, int M, int N, int K, const float *A, int lda, const SgemmB *b, float *C, int ldc,
                  int flags) {
    sgemm_be(sgemm_current(), trans_a, M, N, K, A, lda, b, C, ldc, flags);
}

void sgemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, int flags) {
    SgemmMatrix mx = {.b = B, .ldb = ldb, .trans = trans_b};
    SgemmB b = sgemm_b_matrix(&mx);
    sgemm_packed(trans_a, M, N, K, A, lda, &b, C, ldc, flags);
}
