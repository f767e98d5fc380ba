// Range-EvoNorm's 8-bit backward sums from codes: the plain C loop and an AVX-512 kernel doing the same
// operations in the same order per lane (no FMA: the build does not contract, -std=c11), so bit-identical.
#include "revo_sums.h"

static inline float hsig(float u) {
    float h = u / 6.0f + 0.5f;
    return h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
}
// torch.clamp passes the gradient on the closed interval, so the slope is 1/6 for u in [-3, 3].
static inline float hsig_grad(float u) { return (u >= -3.0f && u <= 3.0f) ? 1.0f / 6.0f : 0.0f; }

// One value into lane j's sums (and dx).
static inline void sums_one(float xi, float d, float *dx, float v, float gs, double *lb, double *lg, double *lv) {
    float u = v * xi, h = hsig(u), nv = xi * h;
    float dn = d * gs, hg = hsig_grad(u);
    *lb += d, *lg += d * nv;
    *lv += dn * xi * xi * hg;
    if (dx) *dx += dn * (h + xi * v * hg);
}

// Values [i0, n): full groups of 8 into lanes 0..7, the tail into lane 0; then the fold.
static void sums_plain_from(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int i0, int n,
                            float v, float gs, double lb[8], double lg[8], double lv[8]) {
    int i = i0;
    for (; i + REVO_SUMS_LANES <= n; i += REVO_SUMS_LANES)
        for (int j = 0; j < REVO_SUMS_LANES; j++)
            sums_one((float)qx[i + j] * px.scale + px.min, (float)qg[i + j] * pg.scale + pg.min,
                     dx ? dx + i + j : NULL, v, gs, &lb[j], &lg[j], &lv[j]);
    for (; i < n; i++)
        sums_one((float)qx[i] * px.scale + px.min, (float)qg[i] * pg.scale + pg.min, dx ? dx + i : NULL, v, gs,
                 &lb[0], &lg[0], &lv[0]);
}

static void sums_fold(const double lb[8], const double lg[8], const double lv[8], double *sb, double *sgn,
                      double *sdv) {
    for (int j = 0; j < REVO_SUMS_LANES; j++) *sb += lb[j], *sgn += lg[j], *sdv += lv[j];
}

void revo_sums_codes_plain(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int n, float v,
                           float gs, double *sb, double *sgn, double *sdv) {
    double lb[8] = {0}, lg[8] = {0}, lv[8] = {0};
    sums_plain_from(qx, px, qg, pg, dx, 0, n, v, gs, lb, lg, lv);
    sums_fold(lb, lg, lv, sb, sgn, sdv);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define REVO_X86 1
#define AVX512_TARGET __attribute__((target("avx512f,avx2")))

// 8 codes as floats q * scale + min.
AVX512_TARGET static inline __m256 decode8(const uint8_t *q, QParam p) {
    __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)q)));
    return _mm256_add_ps(_mm256_mul_ps(f, _mm256_set1_ps(p.scale)), _mm256_set1_ps(p.min));
}

// 16 codes as floats q * scale + min.
AVX512_TARGET static inline __m512 decode16(const uint8_t *q, QParam p) {
    __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q)));
    return _mm512_add_ps(_mm512_mul_ps(f, _mm512_set1_ps(p.scale)), _mm512_set1_ps(p.min));
}

// acc + values 0..7 of f, then + values 8..15: lane j gets value j before value 8 + j, as in the plain loop.
AVX512_TARGET static inline __m512d add_halves(__m512d acc, __m512 f) {
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    return _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
}

// Sixteen values a step in float (zmm) while they last, then eight (ymm); the sums in double (zmm), value
// i in lane i % 8 in the plain loop's order; op for op the plain sums_one.
AVX512_TARGET static int sums_avx512(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int n,
                                     float v, float gs, double lb[8], double lg[8], double lv[8]) {
    const __m256 vv = _mm256_set1_ps(v), g = _mm256_set1_ps(gs), six = _mm256_set1_ps(6.0f);
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256 lo3 = _mm256_set1_ps(-3.0f), hi3 = _mm256_set1_ps(3.0f), sixth = _mm256_set1_ps(1.0f / 6.0f);
    __m512d ab = _mm512_setzero_pd(), ag = _mm512_setzero_pd(), av = _mm512_setzero_pd();
    int i = 0;
    {
        const __m512 vv16 = _mm512_set1_ps(v), g16 = _mm512_set1_ps(gs), six16 = _mm512_set1_ps(6.0f);
        const __m512 half16 = _mm512_set1_ps(0.5f), one16 = _mm512_set1_ps(1.0f), zero16 = _mm512_setzero_ps();
        const __m512 lo16 = _mm512_set1_ps(-3.0f), hi16 = _mm512_set1_ps(3.0f), sixth16 = _mm512_set1_ps(1.0f / 6.0f);
        for (; i + 16 <= n; i += 16) {
            __m512 xi = decode16(qx + i, px), d = decode16(qg + i, pg);
            __m512 u = _mm512_mul_ps(vv16, xi);
            __m512 h0 = _mm512_add_ps(_mm512_div_ps(u, six16), half16);
            __m512 h = _mm512_mask_mov_ps(h0, _mm512_cmp_ps_mask(h0, one16, _CMP_GT_OQ), one16);
            h = _mm512_mask_mov_ps(h, _mm512_cmp_ps_mask(h0, zero16, _CMP_LT_OQ), zero16);
            __m512 nv = _mm512_mul_ps(xi, h), dn = _mm512_mul_ps(d, g16);
            __mmask16 in = _mm512_cmp_ps_mask(u, lo16, _CMP_GE_OQ) & _mm512_cmp_ps_mask(u, hi16, _CMP_LE_OQ);
            __m512 hg = _mm512_maskz_mov_ps(in, sixth16);
            ab = add_halves(ab, d);
            ag = add_halves(ag, _mm512_mul_ps(d, nv));
            av = add_halves(av, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dn, xi), xi), hg));
            if (dx) {
                __m512 t = _mm512_mul_ps(dn, _mm512_add_ps(h, _mm512_mul_ps(_mm512_mul_ps(xi, vv16), hg)));
                _mm512_storeu_ps(dx + i, _mm512_add_ps(_mm512_loadu_ps(dx + i), t));
            }
        }
    }
    for (; i + 8 <= n; i += 8) {
        __m256 xi = decode8(qx + i, px), d = decode8(qg + i, pg);
        __m256 u = _mm256_mul_ps(vv, xi);
        __m256 h0 = _mm256_add_ps(_mm256_div_ps(u, six), half);
        __m256 h = _mm256_blendv_ps(h0, one, _mm256_cmp_ps(h0, one, _CMP_GT_OQ));
        h = _mm256_blendv_ps(h, zero, _mm256_cmp_ps(h0, zero, _CMP_LT_OQ));
        __m256 nv = _mm256_mul_ps(xi, h), dn = _mm256_mul_ps(d, g);
        __m256 in = _mm256_and_ps(_mm256_cmp_ps(u, lo3, _CMP_GE_OQ), _mm256_cmp_ps(u, hi3, _CMP_LE_OQ));
        __m256 hg = _mm256_and_ps(in, sixth);
        ab = _mm512_add_pd(ab, _mm512_cvtps_pd(d));
        ag = _mm512_add_pd(ag, _mm512_cvtps_pd(_mm256_mul_ps(d, nv)));
        av = _mm512_add_pd(av, _mm512_cvtps_pd(_mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dn, xi), xi), hg)));
        if (dx) {   // dn * (h + (x v) h'), x v being u (a product commutes exactly)
            __m256 t = _mm256_mul_ps(dn, _mm256_add_ps(h, _mm256_mul_ps(_mm256_mul_ps(xi, vv), hg)));
            _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), t));
        }
    }
    _mm512_storeu_pd(lb, ab), _mm512_storeu_pd(lg, ag), _mm512_storeu_pd(lv, av);
    return i;
}

static int revo_avx512(void) {
    static int have = -1;   // a property of the CPU, the same for every caller
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2");
    }
    return have;
}
#endif

const char *revo_sums_backend(void) {
#ifdef REVO_X86
    if (revo_avx512()) return "avx512";
#endif
    return "plain";
}

void revo_sums_codes(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int n, float v,
                     float gs, double *sb, double *sgn, double *sdv) {
    double lb[8] = {0}, lg[8] = {0}, lv[8] = {0};
    int i = 0;
#ifdef REVO_X86
    if (revo_avx512()) i = sums_avx512(qx, px, qg, pg, dx, n, v, gs, lb, lg, lv);
#endif
    sums_plain_from(qx, px, qg, pg, dx, i, n, v, gs, lb, lg, lv);
    sums_fold(lb, lg, lv, sb, sgn, sdv);
}
