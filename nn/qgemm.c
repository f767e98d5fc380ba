// Integer products of u8 code matrices (nn/qgemm.h): a plain C reference, and packed, register-
// blocked kernels for AVX-512 VNNI, AVX-VNNI and AVX2, compiled with target attributes, chosen at run time.
// Why these kernels and not oneDNN's gemm_u8s8s32: docs/int8.md.
#include "qgemm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QGEMM_X86 1
#endif

// A float output: out[m][n] (+)= alpha * P[m][n] + row[m] + col[n].
typedef struct {
    float *out;
    int ldo;
    float alpha;
    const float *row, *col;   // M and N terms
    int accumulate;           // 0: overwrite out, 1: add to it
} QgemmFloatOut;

// op(A) is packed into panels of mr rows, [panel][k group][mr][kg] elements of esz bytes, rows and
// k zero-padded to whole panels and groups (mr = kg = 1: op(A) row-major, for the plain path).
struct QgemmBackend {
    const char *name;
    int (*supported)(void);
    int mr, kg, esz;
    int32_t b_offset;   // the kernels see B - b_offset: P = their sums + b_offset * rowsum(op(A))
    // C (M, N) = op(A) . B in int32 when f is NULL; else f->out receives the float form.
    void (*mul)(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc, const QgemmFloatOut *f);
};

struct QgemmA {
    const QgemmBackend *be;
    int M, K, kp;       // kp: K rounded up to whole k groups
    void *panels;
    int32_t *rowsum;    // rowsum(op(A))
    int32_t *roff;      // b_offset * rowsum, or NULL
};

// ---- shared epilogue: a computed tile into C (int32) or into the float affine form ----

// tile (mr, nr) with row stride ts holds the kernel's sums; roff[i] (may be NULL) is added to row i
// to undo an operand recentring. Writes rows [m0, m0+mr) and columns [n0, n0+nr).
static void tile_store(const int32_t *tile, int ts, int mr, int nr, const int32_t *roff, int m0, int n0, int32_t *C,
                       int ldc, const QgemmFloatOut *f) {
    for (int i = 0; i < mr; i++) {
        const int32_t *t = tile + (size_t)i * ts;
        int32_t off = roff ? roff[i] : 0;
        if (!f) {
            int32_t *c = C + (size_t)(m0 + i) * ldc + n0;
            for (int j = 0; j < nr; j++) c[j] = t[j] + off;
            continue;
        }
        float *o = f->out + (size_t)(m0 + i) * f->ldo + n0;
        const float *col = f->col + n0;
        float r = f->row[m0 + i], a = f->alpha;
        if (f->accumulate)
            for (int j = 0; j < nr; j++) o[j] += a * (float)(t[j] + off) + r + col[j];
        else
            for (int j = 0; j < nr; j++) o[j] = a * (float)(t[j] + off) + r + col[j];
    }
}

// 64-byte aligned scratch; out of memory is not a user error: report and abort, as xmalloc does.
static void *aligned_buf(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "qgemm: out of memory allocating %zu bytes (%s:%d)\n", bytes, __FILE__, __LINE__);
        abort();
    }
    return p;
}

// ---- plain C: the reference, and the path for CPUs without the SIMD kernels ----

static int plain_supported(void) { return 1; }

static void plain_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc, const QgemmFloatOut *f) {
    const uint8_t *A = a->panels;   // op(A) row-major (M, K)
    int32_t *row = f ? xmalloc(sizeof(int32_t) * (size_t)(N > 0 ? N : 1)) : NULL;
    for (int m = 0; m < a->M; m++) {
        int32_t *restrict c = f ? row : C + (size_t)m * ldc;
        for (int n = 0; n < N; n++) c[n] = 0;
        for (int k = 0; k < a->K; k++) {
            int32_t v = A[(size_t)m * a->K + k];
            const uint8_t *restrict b = B + (size_t)k * ldb;
            for (int n = 0; n < N; n++) c[n] += v * b[n];
        }
        if (f) tile_store(row, N, 1, N, NULL, m, 0, NULL, 0, f);
    }
    free(row);
}

static const QgemmBackend plain_backend = {
    .name = "plain", .supported = plain_supported, .mr = 1, .kg = 1, .esz = 1, .b_offset = 0, .mul = plain_mul};

#ifdef QGEMM_X86
// ---- the blocked driver shared by the SIMD kernels ----
// op(A) is packed once into panels of MR rows, [panel][k group][MR][KG] elements of esz bytes (k
// padded with zeros to a multiple of KG); B is packed a block of columns at a time into panels of
// NR columns, [panel][k group][NR][KG]. A kernel multiplies one A panel by one B panel over all of
// K into an MR x NR int32 tile. The B block is sized to stay in L2 while every A panel passes it.

#define B_BLOCK_BYTES ((size_t)256 << 10)

// Where a kernel puts its tile: rows [m0, m0+mv) and columns [n0, n0+nv) of C or of f->out, with
// roff[i] added to row i (NULL: nothing) to undo the recentring of B.
typedef struct {
    int32_t *C;
    int ldc;
    const QgemmFloatOut *f;
    const int32_t *roff;
    int m0, n0, mv, nv;
} TileOut;

// A SIMD backend's B side: panels of nr columns, [panel][k group][nr][kg], and the kernel that
// multiplies one A panel by one B panel over all of K into an mr x nr tile.
typedef struct {
    int nr;
    void (*pack_b)(int K, int nb, const uint8_t *B, int ldb, void *bp);
    void (*kernel)(int ngroups, const void *ap, const void *bp, const TileOut *o);
} KernelSpec;

static void gemm_blocked(const KernelSpec *ks, const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C,
                         int ldc, const QgemmFloatOut *f) {
    int M = a->M, mr = a->be->mr, nr = ks->nr, esz = a->be->esz;
    if (M <= 0 || N <= 0) return;
    int groups = a->kp / a->be->kg, mpanels = (M + mr - 1) / mr;
    size_t apsz = (size_t)mr * a->kp * esz, bpsz = (size_t)nr * a->kp * esz;
    int npanels_all = (N + nr - 1) / nr;
    int bpanels = bpsz ? (int)(B_BLOCK_BYTES / bpsz) : npanels_all;   // K = 0: all sums are 0
    if (bpanels < 1) bpanels = 1;
    if (bpanels > npanels_all) bpanels = npanels_all;
    void *bp = aligned_buf(bpsz * bpanels);
    for (int n0 = 0; n0 < N; n0 += bpanels * nr) {
        int nb = N - n0 < bpanels * nr ? N - n0 : bpanels * nr;
        ks->pack_b(a->K, nb, B + n0, ldb, bp);
        for (int mp = 0; mp < mpanels; mp++) {
            int m0 = mp * mr, mv = M - m0 < mr ? M - m0 : mr;
            const char *ap = (const char *)a->panels + apsz * mp;
            for (int np = 0; np * nr < nb; np++) {
                int nv = nb - np * nr < nr ? nb - np * nr : nr;
                TileOut o = {.C = C, .ldc = ldc, .f = f, .roff = a->roff ? a->roff + m0 : NULL, .m0 = m0,
                             .n0 = n0 + np * nr, .mv = mv, .nv = nv};
                ks->kernel(groups, ap, (const char *)bp + bpsz * np, &o);
            }
        }
    }
    free(bp);
}

// ---- AVX-512 VNNI: vpdpbusd multiplies u8 by s8 in groups of 4 into int32 lanes ----
// Both operands are u8 codes, so B is recentred to s8 while packing (q - 128, an xor) and the
// product gets 128 * rowsum(op(A)) back in the epilogue. A tile is 8 rows x 32 columns (16 zmm).

#define VNNI_MR 8
#define VNNI_NR 32

static int vnni_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

// B columns [0, nb) of (K, nb) into panels [panel][K/4][32][4] of s8 (q ^ 0x80), zero-padded.
__attribute__((target("avx2"))) static void vnni_pack_b(int K, int nb, const uint8_t *B, int ldb, void *bpv) {
    int8_t *bp = bpv;
    int groups = (K + 3) / 4, panels = (nb + VNNI_NR - 1) / VNNI_NR;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int p = 0; p < panels; p++) {
        int c0 = p * VNNI_NR, cv = nb - c0 < VNNI_NR ? nb - c0 : VNNI_NR;
        int8_t *dst = bp + (size_t)p * groups * VNNI_NR * 4;
        for (int g = 0; g < groups; g++, dst += VNNI_NR * 4) {
            const uint8_t *src = B + (size_t)g * 4 * ldb + c0;
            if (cv == VNNI_NR && g * 4 + 4 <= K) {
                __m256i r0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)src), flip);
                __m256i r1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + ldb)), flip);
                __m256i r2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + 2 * (size_t)ldb)), flip);
                __m256i r3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + 3 * (size_t)ldb)), flip);
                __m256i a = _mm256_unpacklo_epi8(r0, r1), b = _mm256_unpackhi_epi8(r0, r1);
                __m256i c = _mm256_unpacklo_epi8(r2, r3), d = _mm256_unpackhi_epi8(r2, r3);
                __m256i t0 = _mm256_unpacklo_epi16(a, c),
                        t1 = _mm256_unpackhi_epi16(a, c);   // cols 0-3|16-19, 4-7|20-23
                __m256i t2 = _mm256_unpacklo_epi16(b, d), t3 = _mm256_unpackhi_epi16(b, d);   // 8-11|24-27, 12-15|28-31
                _mm256_store_si256((__m256i *)dst, _mm256_permute2x128_si256(t0, t1, 0x20));
                _mm256_store_si256((__m256i *)(dst + 32), _mm256_permute2x128_si256(t2, t3, 0x20));
                _mm256_store_si256((__m256i *)(dst + 64), _mm256_permute2x128_si256(t0, t1, 0x31));
                _mm256_store_si256((__m256i *)(dst + 96), _mm256_permute2x128_si256(t2, t3, 0x31));
                continue;
            }
            memset(dst, 0, VNNI_NR * 4);
            for (int kk = 0; kk < 4 && g * 4 + kk < K; kk++)
                for (int j = 0; j < cv; j++) dst[j * 4 + kk] = (int8_t)(src[(size_t)kk * ldb + j] ^ 0x80);
        }
    }
}

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,fma")))

// What every row of a tile shares: the column masks (o->nv valid) and, for the float form, alpha
// and the column terms, loaded once per tile.
typedef struct {
    __mmask16 k0, k1;
    __m512 alpha, col0, col1;
} VnniEpi;

#define VNNI_INLINE VNNI_TARGET static inline __attribute__((always_inline))

VNNI_INLINE VnniEpi vnni_epi(const TileOut *o) {
    VnniEpi e;
    e.k0 = o->nv >= 16 ? 0xFFFF : (__mmask16)((1u << o->nv) - 1);
    e.k1 = o->nv >= 32 ? 0xFFFF : o->nv <= 16 ? 0 : (__mmask16)((1u << (o->nv - 16)) - 1);
    e.alpha = e.col0 = e.col1 = _mm512_setzero_ps();
    if (o->f) {
        e.alpha = _mm512_set1_ps(o->f->alpha);
        e.col0 = _mm512_maskz_loadu_ps(e.k0, o->f->col + o->n0);
        e.col1 = _mm512_maskz_loadu_ps(e.k1, o->f->col + o->n0 + 16);
    }
    return e;
}

// Row i of the tile (32 sums in two vectors) into C as int32, or into f->out in the float form.
VNNI_INLINE void vnni_store_row(const TileOut *o, const VnniEpi *e, int i, __m512i c0, __m512i c1) {
    if (o->roff) {
        __m512i r = _mm512_set1_epi32(o->roff[i]);
        c0 = _mm512_add_epi32(c0, r);
        c1 = _mm512_add_epi32(c1, r);
    }
    size_t row = (size_t)(o->m0 + i);
    if (!o->f) {
        int32_t *c = o->C + row * o->ldc + o->n0;
        _mm512_mask_storeu_epi32(c, e->k0, c0);
        _mm512_mask_storeu_epi32(c + 16, e->k1, c1);
        return;
    }
    float *out = o->f->out + row * o->f->ldo + o->n0;
    __m512 r = _mm512_set1_ps(o->f->row[o->m0 + i]);
    __m512 v0 = _mm512_add_ps(_mm512_fmadd_ps(e->alpha, _mm512_cvtepi32_ps(c0), r), e->col0);
    __m512 v1 = _mm512_add_ps(_mm512_fmadd_ps(e->alpha, _mm512_cvtepi32_ps(c1), r), e->col1);
    if (o->f->accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(e->k0, out));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(e->k1, out + 16));
    }
    _mm512_mask_storeu_ps(out, e->k0, v0);
    _mm512_mask_storeu_ps(out + 16, e->k1, v1);
}

VNNI_TARGET static void vnni_kernel(int groups, const void *apv, const void *bpv, const TileOut *o) {
    const uint8_t *a = apv;
    const int8_t *b = bpv;
    if (o->nv <= 16) {   // a narrow last panel (small chunks of columns): half the work
        __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int g = 0; g < groups; g++, a += VNNI_MR * 4, b += VNNI_NR * 4) {
            __m512i b0 = _mm512_load_si512((const void *)b);
#define VNNI_ROW1(i, x)                                                                                                \
    do {                                                                                                               \
        int32_t w;                                                                                                     \
        memcpy(&w, a + 4 * (i), 4);                                                                                    \
        x = _mm512_dpbusd_epi32(x, _mm512_set1_epi32(w), b0);                                                          \
    } while (0)
            VNNI_ROW1(0, c0);
            VNNI_ROW1(1, c1);
            VNNI_ROW1(2, c2);
            VNNI_ROW1(3, c3);
            VNNI_ROW1(4, c4);
            VNNI_ROW1(5, c5);
            VNNI_ROW1(6, c6);
            VNNI_ROW1(7, c7);
#undef VNNI_ROW1
        }
        __m512i c[VNNI_MR] = {c0, c1, c2, c3, c4, c5, c6, c7};
        VnniEpi e = vnni_epi(o);
#pragma GCC unroll 8
        for (int i = 0; i < VNNI_MR; i++)
            if (i < o->mv) vnni_store_row(o, &e, i, c[i], _mm512_setzero_si512());
        return;
    }
    // Named accumulators: with an array GCC 12 copies and spills them around every vpdpbusd.
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512i c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int g = 0; g < groups; g++, a += VNNI_MR * 4, b += VNNI_NR * 4) {
        __m512i b0 = _mm512_load_si512((const void *)b), b1 = _mm512_load_si512((const void *)(b + 64));
#define VNNI_ROW(i, x0, x1)                                                                                            \
    do {                                                                                                               \
        int32_t w;                                                                                                     \
        memcpy(&w, a + 4 * (i), 4);                                                                                    \
        __m512i av = _mm512_set1_epi32(w);                                                                             \
        x0 = _mm512_dpbusd_epi32(x0, av, b0);                                                                          \
        x1 = _mm512_dpbusd_epi32(x1, av, b1);                                                                          \
    } while (0)
        VNNI_ROW(0, c00, c01);
        VNNI_ROW(1, c10, c11);
        VNNI_ROW(2, c20, c21);
        VNNI_ROW(3, c30, c31);
        VNNI_ROW(4, c40, c41);
        VNNI_ROW(5, c50, c51);
        VNNI_ROW(6, c60, c61);
        VNNI_ROW(7, c70, c71);
#undef VNNI_ROW
    }
    VnniEpi e = vnni_epi(o);
    __m512i c[VNNI_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                             {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
#pragma GCC unroll 8
    for (int i = 0; i < VNNI_MR; i++)
        if (i < o->mv) vnni_store_row(o, &e, i, c[i][0], c[i][1]);
}

static const KernelSpec vnni_spec = {.nr = VNNI_NR, .pack_b = vnni_pack_b, .kernel = vnni_kernel};

static void vnni_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc, const QgemmFloatOut *f) {
    gemm_blocked(&vnni_spec, a, N, B, ldb, C, ldc, f);
}

static const QgemmBackend vnni_backend = {.name = "avx512-vnni", .supported = vnni_supported, .mr = VNNI_MR, .kg = 4,
                                          .esz = 1, .b_offset = 128, .mul = vnni_mul};

// ---- AVX2: codes widened to int16, vpmaddwd multiplies pairs into int32 lanes ----
// vpmaddubsw would take u8 directly but adds its pairs into int16 with saturation (255*127*2 >
// 32767), so full-range codes would be wrong; int16 pairs are exact. Tile: 6 rows x 16 columns.

#define AVX2_MR 6
#define AVX2_NR 16

static int avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

// A 6 x 16 tile of int32 sums (two ymm per row) into C or, in the float form, into f->out: whole-
// width tiles from the registers, partial ones through tile_store. Shared by avx2 and avx-vnni.
__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void
ymm_store_tile(const TileOut *o, __m256i c[AVX2_MR][2]) {
    if (o->roff)
        for (int i = 0; i < AVX2_MR; i++) {
            __m256i r = _mm256_set1_epi32(i < o->mv ? o->roff[i] : 0);
            c[i][0] = _mm256_add_epi32(c[i][0], r);
            c[i][1] = _mm256_add_epi32(c[i][1], r);
        }
    if (o->nv == AVX2_NR) {   // whole-width tiles straight from the registers
        const QgemmFloatOut *f = o->f;
        __m256 alpha = _mm256_set1_ps(f ? f->alpha : 0.0f), col0 = _mm256_setzero_ps(), col1 = col0;
        if (f) col0 = _mm256_loadu_ps(f->col + o->n0), col1 = _mm256_loadu_ps(f->col + o->n0 + 8);
#pragma GCC unroll 6
        for (int i = 0; i < AVX2_MR; i++) {
            if (i >= o->mv) break;
            if (!f) {
                int32_t *dst = o->C + (size_t)(o->m0 + i) * o->ldc + o->n0;
                _mm256_storeu_si256((__m256i *)dst, c[i][0]);
                _mm256_storeu_si256((__m256i *)(dst + 8), c[i][1]);
                continue;
            }
            float *out = f->out + (size_t)(o->m0 + i) * f->ldo + o->n0;
            __m256 r = _mm256_set1_ps(f->row[o->m0 + i]);
            __m256 v0 = _mm256_add_ps(_mm256_fmadd_ps(alpha, _mm256_cvtepi32_ps(c[i][0]), r), col0);
            __m256 v1 = _mm256_add_ps(_mm256_fmadd_ps(alpha, _mm256_cvtepi32_ps(c[i][1]), r), col1);
            if (f->accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(out));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(out + 8));
            }
            _mm256_storeu_ps(out, v0);
            _mm256_storeu_ps(out + 8, v1);
        }
        return;
    }
    int32_t tile[AVX2_MR * AVX2_NR] __attribute__((aligned(32)));
    for (int i = 0; i < AVX2_MR; i++) {
        _mm256_store_si256((__m256i *)(tile + i * AVX2_NR), c[i][0]);
        _mm256_store_si256((__m256i *)(tile + i * AVX2_NR + 8), c[i][1]);
    }
    tile_store(tile, AVX2_NR, o->mv, o->nv, NULL, o->m0, o->n0, o->C, o->ldc, o->f);   // roff added above
}

// B columns [0, nb) into panels [panel][K/2][16][2] of int16, zero-padded.
__attribute__((target("avx2"))) static void avx2_pack_b(int K, int nb, const uint8_t *B, int ldb, void *bpv) {
    int16_t *bp = bpv;
    int groups = (K + 1) / 2, panels = (nb + AVX2_NR - 1) / AVX2_NR;
    for (int p = 0; p < panels; p++) {
        int c0 = p * AVX2_NR, cv = nb - c0 < AVX2_NR ? nb - c0 : AVX2_NR;
        int16_t *dst = bp + (size_t)p * groups * AVX2_NR * 2;
        for (int g = 0; g < groups; g++, dst += AVX2_NR * 2) {
            const uint8_t *src = B + (size_t)g * 2 * ldb + c0;
            if (cv == AVX2_NR && g * 2 + 2 <= K) {
                __m128i r0 = _mm_loadu_si128((const __m128i *)src);
                __m128i r1 = _mm_loadu_si128((const __m128i *)(src + ldb));
                _mm256_store_si256((__m256i *)dst, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(r0, r1)));
                _mm256_store_si256((__m256i *)(dst + 16), _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(r0, r1)));
                continue;
            }
            memset(dst, 0, sizeof(int16_t) * AVX2_NR * 2);
            for (int kk = 0; kk < 2 && g * 2 + kk < K; kk++)
                for (int j = 0; j < cv; j++) dst[j * 2 + kk] = src[(size_t)kk * ldb + j];
        }
    }
}

__attribute__((target("avx2,fma"))) static void avx2_kernel(int groups, const void *apv, const void *bpv,
                                                        const TileOut *o) {
    const int16_t *a = apv, *b = bpv;
    // Named accumulators, as in vnni_kernel (an array makes GCC 12 copy them on every step).
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int g = 0; g < groups; g++, a += AVX2_MR * 2, b += AVX2_NR * 2) {
        __m256i b0 = _mm256_load_si256((const __m256i *)b), b1 = _mm256_load_si256((const __m256i *)(b + 16));
#define AVX2_ROW(i, x0, x1)                                                                                            \
    do {                                                                                                               \
        int32_t w;                                                                                                     \
        memcpy(&w, a + 2 * (i), 4);                                                                                    \
        __m256i av = _mm256_set1_epi32(w);                                                                             \
        x0 = _mm256_add_epi32(x0, _mm256_madd_epi16(av, b0));                                                          \
        x1 = _mm256_add_epi32(x1, _mm256_madd_epi16(av, b1));                                                          \
    } while (0)
        AVX2_ROW(0, c00, c01);
        AVX2_ROW(1, c10, c11);
        AVX2_ROW(2, c20, c21);
        AVX2_ROW(3, c30, c31);
        AVX2_ROW(4, c40, c41);
        AVX2_ROW(5, c50, c51);
#undef AVX2_ROW
    }
    __m256i c[AVX2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    ymm_store_tile(o, c);
}

static const KernelSpec avx2_spec = {.nr = AVX2_NR, .pack_b = avx2_pack_b, .kernel = avx2_kernel};

static void avx2_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc, const QgemmFloatOut *f) {
    gemm_blocked(&avx2_spec, a, N, B, ldb, C, ldc, f);
}

static const QgemmBackend avx2_backend = {.name = "avx2", .supported = avx2_supported, .mr = AVX2_MR, .kg = 2,
                                          .esz = 2, .b_offset = 0, .mul = avx2_mul};

// ---- AVX-VNNI: the VEX form of vpdpbusd on ymm, for CPUs with it but without AVX-512 ----
// Same recentring of B as avx512-vnni, the tile shape of avx2 (16 ymm registers): 6 x 16.

static int avxvnni_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
}

// B columns [0, nb) into panels [panel][K/4][16][4] of s8 (q ^ 0x80), zero-padded (SSE2 interleave).
static void avxvnni_pack_b(int K, int nb, const uint8_t *B, int ldb, void *bpv) {
    int8_t *bp = bpv;
    int groups = (K + 3) / 4, panels = (nb + AVX2_NR - 1) / AVX2_NR;
    const __m128i flip = _mm_set1_epi8((char)0x80);
    for (int p = 0; p < panels; p++) {
        int c0 = p * AVX2_NR, cv = nb - c0 < AVX2_NR ? nb - c0 : AVX2_NR;
        int8_t *dst = bp + (size_t)p * groups * AVX2_NR * 4;
        for (int g = 0; g < groups; g++, dst += AVX2_NR * 4) {
            const uint8_t *src = B + (size_t)g * 4 * ldb + c0;
            if (cv == AVX2_NR && g * 4 + 4 <= K) {
                __m128i r0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)src), flip);
                __m128i r1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + ldb)), flip);
                __m128i r2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + 2 * (size_t)ldb)), flip);
                __m128i r3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + 3 * (size_t)ldb)), flip);
                __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
                __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
                _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(a, c));          // cols 0-3
                _mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi16(a, c));   // 4-7
                _mm_storeu_si128((__m128i *)(dst + 32), _mm_unpacklo_epi16(b, d));   // 8-11
                _mm_storeu_si128((__m128i *)(dst + 48), _mm_unpackhi_epi16(b, d));   // 12-15
                continue;
            }
            memset(dst, 0, AVX2_NR * 4);
            for (int kk = 0; kk < 4 && g * 4 + kk < K; kk++)
                for (int j = 0; j < cv; j++) dst[j * 4 + kk] = (int8_t)(src[(size_t)kk * ldb + j] ^ 0x80);
        }
    }
}

__attribute__((target("avx2,fma,avxvnni"))) static void avxvnni_kernel(int groups, const void *apv, const void *bpv,
                                                                      const TileOut *o) {
    const uint8_t *a = apv;
    const int8_t *b = bpv;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int g = 0; g < groups; g++, a += AVX2_MR * 4, b += AVX2_NR * 4) {
        __m256i b0 = _mm256_load_si256((const __m256i *)b), b1 = _mm256_load_si256((const __m256i *)(b + 32));
#define AVXVNNI_ROW(i, x0, x1)                                                                                         \
    do {                                                                                                               \
        int32_t w;                                                                                                     \
        memcpy(&w, a + 4 * (i), 4);                                                                                    \
        __m256i av = _mm256_set1_epi32(w);                                                                             \
        x0 = _mm256_dpbusd_avx_epi32(x0, av, b0);                                                                      \
        x1 = _mm256_dpbusd_avx_epi32(x1, av, b1);                                                                      \
    } while (0)
        AVXVNNI_ROW(0, c00, c01);
        AVXVNNI_ROW(1, c10, c11);
        AVXVNNI_ROW(2, c20, c21);
        AVXVNNI_ROW(3, c30, c31);
        AVXVNNI_ROW(4, c40, c41);
        AVXVNNI_ROW(5, c50, c51);
#undef AVXVNNI_ROW
    }
    __m256i c[AVX2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    ymm_store_tile(o, c);
}

static const KernelSpec avxvnni_spec = {.nr = AVX2_NR, .pack_b = avxvnni_pack_b, .kernel = avxvnni_kernel};

static void avxvnni_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc,
                        const QgemmFloatOut *f) {
    gemm_blocked(&avxvnni_spec, a, N, B, ldb, C, ldc, f);
}

static const QgemmBackend avxvnni_backend = {.name = "avx-vnni", .supported = avxvnni_supported, .mr = AVX2_MR,
                                             .kg = 4, .esz = 1, .b_offset = 128, .mul = avxvnni_mul};
#endif

// ---- selection and the public entry points ----

const QgemmBackend *const qgemm_backends[] = {
#ifdef QGEMM_X86
    &vnni_backend, &avxvnni_backend, &avx2_backend,
#endif
    &plain_backend};
const int qgemm_n_backends = (int)(sizeof qgemm_backends / sizeof qgemm_backends[0]);

static const QgemmBackend *chosen;

const char *qgemm_backend_name(const QgemmBackend *be) { return be->name; }
int qgemm_backend_supported(const QgemmBackend *be) { return be->supported(); }

const QgemmBackend *qgemm_current(void) {
    if (!chosen)
        for (int i = 0; i < qgemm_n_backends && !chosen; i++)
            if (qgemm_backends[i]->supported()) chosen = qgemm_backends[i];
    return chosen;
}

const char *qgemm_backend(void) { return qgemm_current()->name; }

int qgemm_backend_set(const char *name) {
    for (int i = 0; i < qgemm_n_backends; i++)
        if (strcmp(qgemm_backends[i]->name, name) == 0 && qgemm_backends[i]->supported()) {
            chosen = qgemm_backends[i];
            return 0;
        }
    return -1;
}

#ifdef QGEMM_X86
// One 8-row, 4-k block of op(A) into dst[r][kk] (32 bytes) with SSE2: for trans_a, src points at
// A[k][m0] (4 rows of 8 bytes); else at A[m0][k] (8 rows of 4 bytes).
static void pack_a_block_8x4(int ta, const uint8_t *src, int lda, uint8_t *dst) {
    if (ta) {
        __m128i r0 = _mm_loadl_epi64((const __m128i *)src), r1 = _mm_loadl_epi64((const __m128i *)(src + lda));
        __m128i r2 = _mm_loadl_epi64((const __m128i *)(src + 2 * (size_t)lda));
        __m128i r3 = _mm_loadl_epi64((const __m128i *)(src + 3 * (size_t)lda));
        __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpacklo_epi8(r2, r3);   // (m, k0 k1), (m, k2 k3)
        _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(a, b));               // m 0-3
        _mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi16(a, b));        // m 4-7
        return;
    }
    for (int r = 0; r < 8; r++) memcpy(dst + 4 * r, src + (size_t)r * lda, 4);
}

// Four such blocks at once for trans_a == 0 (src at A[m0][k], 16 bytes of 8 rows): two 4 x 4
// transposes of 32-bit words, rows 0-3 and 4-7, so group g gets rows 0-7 of its 4 bytes.
static void pack_a_blocks_8x16(const uint8_t *src, int lda, uint8_t *dst) {
    for (int h = 0; h < 2; h++) {
        const uint8_t *s = src + (size_t)4 * h * lda;
        __m128 r0 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)s));
        __m128 r1 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + lda)));
        __m128 r2 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + 2 * (size_t)lda)));
        __m128 r3 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + 3 * (size_t)lda)));
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);   // only moves bits: r_g now holds group g of rows 0-3
        _mm_storeu_ps((float *)(dst + 16 * h), r0);
        _mm_storeu_ps((float *)(dst + 32 + 16 * h), r1);
        _mm_storeu_ps((float *)(dst + 64 + 16 * h), r2);
        _mm_storeu_ps((float *)(dst + 96 + 16 * h), r3);
    }
}
#endif

// op(A) into the backend's panels (see struct QgemmBackend), written in order; the loops read the
// stored A along its rows (k for trans_a == 0, m for trans_a == 1).
static void pack_a(const QgemmBackend *be, int ta, int M, int K, const uint8_t *A, int lda, int kp, void *ap) {
    int mr = be->mr, kg = be->kg, panels = (M + mr - 1) / mr, groups = kp / kg;
    size_t psz = (size_t)mr * kp;
    memset(ap, 0, psz * panels * be->esz);
    uint8_t *p8 = ap;
    int16_t *p16 = ap;
    for (int p = 0; p < panels; p++) {
        int rv = M - p * mr < mr ? M - p * mr : mr;   // valid rows of this panel
        for (int g = 0; g < groups; g++) {
            int kv = K - g * kg < kg ? K - g * kg : kg;   // valid k of this group
            size_t at = (size_t)p * psz + (size_t)g * mr * kg;
#ifdef QGEMM_X86
            if (!ta && be->esz == 1 && kg == 4 && mr == 8 && rv == 8 && g + 4 <= K / 4) {   // 4 whole groups
                pack_a_blocks_8x16(A + (size_t)p * 8 * lda + g * 4, lda, p8 + at);
                g += 3;
                continue;
            }
            if (be->esz == 1 && kg == 4 && mr == 8 && rv == 8 && kv == 4) {   // the VNNI layout, whole blocks
                pack_a_block_8x4(ta, A + (ta ? (size_t)g * 4 * lda + (size_t)p * 8 : (size_t)p * 8 * lda + g * 4), lda,
                                 p8 + at);
                continue;
            }
#endif
            if (ta) {
                for (int kk = 0; kk < kv; kk++) {
                    const uint8_t *src = A + (size_t)(g * kg + kk) * lda + (size_t)p * mr;
                    if (be->esz == 1)
                        for (int r = 0; r < rv; r++) p8[at + (size_t)r * kg + kk] = src[r];
                    else
                        for (int r = 0; r < rv; r++) p16[at + (size_t)r * kg + kk] = src[r];
                }
                continue;
            }
            for (int r = 0; r < rv; r++) {
                const uint8_t *src = A + (size_t)(p * mr + r) * lda + (size_t)g * kg;
                if (be->esz == 1 && kv == 4) memcpy(p8 + at + (size_t)r * 4, src, 4);   // one 32-bit move
                else if (be->esz == 1)
                    for (int kk = 0; kk < kv; kk++) p8[at + (size_t)r * kg + kk] = src[kk];
                else
                    for (int kk = 0; kk < kv; kk++) p16[at + (size_t)r * kg + kk] = src[kk];
            }
        }
    }
}

QgemmA *qgemm_a_new(const QgemmBackend *be, int trans_a, int M, int K, const uint8_t *A, int lda) {
    if (!be) be = qgemm_current();
    QgemmA *a = xcalloc(1, sizeof *a);
    a->be = be;
    a->M = M > 0 ? M : 0;
    a->K = K > 0 ? K : 0;
    a->kp = (a->K + be->kg - 1) / be->kg * be->kg;
    int panels = (a->M + be->mr - 1) / be->mr;
    a->panels = aligned_buf((size_t)panels * be->mr * a->kp * be->esz + 64);
    pack_a(be, trans_a, a->M, a->K, A, lda, a->kp, a->panels);
    a->rowsum = xmalloc(sizeof(int32_t) * (size_t)(a->M + 1));
    qgemm_row_sums(trans_a, a->M, a->K, A, lda, a->rowsum);
    if (be->b_offset) {
        a->roff = xmalloc(sizeof(int32_t) * (size_t)(a->M + 1));
        for (int m = 0; m < a->M; m++) a->roff[m] = be->b_offset * a->rowsum[m];
    }
    return a;
}

void qgemm_a_free(QgemmA *a) {
    if (!a) return;
    free(a->panels);
    free(a->rowsum);
    free(a->roff);
    free(a);
}

const int32_t *qgemm_a_row_sums(const QgemmA *a) { return a->rowsum; }

void qgemm_a_mul(const QgemmA *a, int N, const uint8_t *B, int ldb, int32_t *C, int ldc) {
    if (a->M > 0 && N > 0) a->be->mul(a, N, B, ldb, C, ldc, NULL);
}

void qgemm(int trans_a, int M, int N, int K, const uint8_t *A, int lda, const uint8_t *B, int ldb, int32_t *C,
           int ldc) {
    QgemmA *a = qgemm_a_new(NULL, trans_a, M, K, A, lda);
    qgemm_a_mul(a, N, B, ldb, C, ldc);
    qgemm_a_free(a);
}

void qgemm_row_sums(int trans_a, int M, int K, const uint8_t *A, int lda, int32_t *sums) {
    if (trans_a) {   // column sums of the stored (K, M): add whole rows, which vectorizes
        qgemm_col_sums(K, M, A, lda, sums);
        return;
    }
    for (int m = 0; m < M; m++) {
        const uint8_t *a = A + (size_t)m * lda;
        int32_t s = 0;
        for (int k = 0; k < K; k++) s += a[k];
        sums[m] = s;
    }
}

void qgemm_col_sums(int K, int N, const uint8_t *B, int ldb, int32_t *sums) {
    for (int n = 0; n < N; n++) sums[n] = 0;
    for (int k = 0; k < K; k++) {
        const uint8_t *restrict b = B + (size_t)k * ldb;
        int32_t *restrict s = sums;
        for (int n = 0; n < N; n++) s[n] += b[n];
    }
}

void qgemm_a_mul_affine(const QgemmA *a, QgemmQuant qa, int N, const uint8_t *B, int ldb, QgemmQuant qb, float *C,
                        int ldc, int accumulate) {
    int M = a->M, K = a->K;
    if (M <= 0 || N <= 0) return;
    int32_t *cs = xmalloc(sizeof(int32_t) * (size_t)N);
    float *row = xmalloc(sizeof(float) * (size_t)M), *col = xmalloc(sizeof(float) * (size_t)N);
    qgemm_col_sums(K, N, B, ldb, cs);
    float kmm = (float)K * qa.min * qb.min;
    for (int m = 0; m < M; m++) row[m] = qa.scale * qb.min * (float)a->rowsum[m] + kmm;
    for (int n = 0; n < N; n++) col[n] = qa.min * qb.scale * (float)cs[n];
    QgemmFloatOut f = {.out = C, .ldo = ldc, .alpha = qa.scale * qb.scale, .row = row, .col = col,
                       .accumulate = accumulate};
    a->be->mul(a, N, B, ldb, NULL, 0, &f);
    free(cs);
    free(row);
    free(col);
}

void qgemm_affine(int trans_a, int M, int N, int K, const uint8_t *A, int lda, QgemmQuant qa, const uint8_t *B,
                  int ldb, QgemmQuant qb, float *C, int ldc, int accumulate) {
    QgemmA *a = qgemm_a_new(NULL, trans_a, M, K, A, lda);
    qgemm_a_mul_affine(a, qa, N, B, ldb, qb, C, ldc, accumulate);
    qgemm_a_free(a);
}

// op(A)[m][k] read back from the backend's panels.
static int a_code(const QgemmA *a, int m, int k) {
    const QgemmBackend *be = a->be;
    size_t at = (size_t)(m / be->mr) * be->mr * a->kp + (size_t)(k / be->kg) * be->mr * be->kg +
                (size_t)(m % be->mr) * be->kg + (size_t)(k % be->kg);
    return be->esz == 1 ? ((const uint8_t *)a->panels)[at] : ((const int16_t *)a->panels)[at];
}

int qgemm_a_mul_affine_padded(const QgemmA *a, QgemmQuant qa, int N, const uint8_t *B, int ldb, QgemmQuant qb,
                              const QgemmPadding *pad, float *C, int ldc, int accumulate) {
    int M = a->M, K = a->K, nc = pad->n_classes;
    if (M <= 0 || N <= 0) return 0;
    if (nc < 1 || pad->zoff[0] != 0) return -1;
    for (int c = 0; c < nc; c++) {
        if (pad->zoff[c + 1] < pad->zoff[c]) return -1;
        for (int z = pad->zoff[c]; z < pad->zoff[c + 1]; z++)
            if (pad->zk[z] < 0 || pad->zk[z] >= K) return -1;
    }
    for (int n = 0; n < N; n++) {
        int c = pad->cls[n];
        if (c < 0 || c >= nc) return -1;
        for (int z = pad->zoff[c]; z < pad->zoff[c + 1]; z++)
            if (B[(size_t)pad->zk[z] * ldb + n] != 0) return -1;
    }
    // corr[m][c] = sa*mb*(sum of op(A)[m][k] over class c's padded k) + (their number)*ma*mb
    float *corr = xmalloc(sizeof(float) * (size_t)M * nc);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < nc; c++) {
            int32_t s = 0;
            for (int z = pad->zoff[c]; z < pad->zoff[c + 1]; z++) s += a_code(a, m, pad->zk[z]);
            corr[(size_t)m * nc + c] =
                qa.scale * qb.min * (float)s + (float)(pad->zoff[c + 1] - pad->zoff[c]) * qa.min * qb.min;
        }
    qgemm_a_mul_affine(a, qa, N, B, ldb, qb, C, ldc, accumulate);
    for (int m = 0; m < M; m++) {
        float *restrict row = C + (size_t)m * ldc;
        const float *restrict cm = corr + (size_t)m * nc;
        for (int n = 0; n < N; n++) row[n] -= cm[pad->cls[n]];
    }
    free(corr);
    return 0;
}
