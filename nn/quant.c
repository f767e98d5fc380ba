// 8-bit asymmetric min-max quantizer: ranges (per tensor, QuantMeasure's batch mean of per-sample
// extremes), encoding with nearest or stochastic rounding, decoding.
#include "quant.h"
#include <math.h>
#include <string.h>

const char *quant_round_name(QRound r) { return r == QROUND_NEAREST ? "nearest" : "stochastic"; }

int quant_round_parse(const char *s, QRound *out) {
    if (!strcmp(s, "stochastic")) { *out = QROUND_STOCHASTIC; return 0; }
    if (!strcmp(s, "nearest")) { *out = QROUND_NEAREST; return 0; }
    return -1;
}

QParam quant_param(float mn, float mx) {
    float scale = (mx - mn) / QUANT_LEVELS;
    return (QParam){.scale = scale > 1e-8f ? scale : 1e-8f, .min = mn};
}

// Sixteen running extremes (elementwise selects, which vectorize; a scalar min reduction over floats does
// not without -ffast-math), folded at the end. The result is the same as a sequential scan.
#define QUANT_LANES 16

void quant_minmax(const float *x, size_t n, float *mn, float *mx) {
    float lo[QUANT_LANES], hi[QUANT_LANES];
    for (int j = 0; j < QUANT_LANES; j++) lo[j] = hi[j] = x[0];
    size_t i = 0;
    for (; i + QUANT_LANES <= n; i += QUANT_LANES)
        for (int j = 0; j < QUANT_LANES; j++) {
            float v = x[i + j];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    for (; i < n; i++) {
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
    }
    for (int j = 1; j < QUANT_LANES; j++) {
        lo[0] = lo[j] < lo[0] ? lo[j] : lo[0];
        hi[0] = hi[j] > hi[0] ? hi[j] : hi[0];
    }
    *mn = lo[0], *mx = hi[0];
}

void quant_measure(const float *x, int C, int B, int HW, float *mn, float *mx) {
    double slo = 0.0, shi = 0.0;
    for (int b = 0; b < B; b++) {
        float lo = x[(size_t)b * HW], hi = lo;
        for (int c = 0; c < C; c++) {
            float l, h;
            quant_minmax(x + ((size_t)c * B + b) * HW, (size_t)HW, &l, &h);
            lo = l < lo ? l : lo;
            hi = h > hi ? h : hi;
        }
        slo += lo, shi += hi;
    }
    *mn = (float)(slo / B), *mx = (float)(shi / B);
}

// The stochastic rounding noise is counter-based: one 64-bit draw from the caller's generator keys the
// call, and value i gets U(-1/2, 1/2) from a hash of (key, i) (two rounds of the "lowbias32" integer
// mixer, 32-bit multiplies and shifts, which vectorize), its top 24 bits exact in a float. Seeded and
// deterministic: the same generator state gives the same codes, whatever the blocking.
static inline uint32_t quant_mix(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static inline float quant_noise(uint32_t k0, uint32_t k1, uint32_t i) {
    uint32_t h = quant_mix(quant_mix(i * 0x9e3779b9u + k0) ^ k1);
    return (float)(h >> 8) * 0x1p-24f - 0.5f;
}

static inline uint8_t quant_code(float t) {
    float v = t < 0.0f ? 0.0f : (t > QUANT_LEVELS ? QUANT_LEVELS : t);
    return (uint8_t)(int32_t)rintf(v);   // the default rounding mode: half to even, as torch.round
}

// The plain loops, one per mode (GCC vectorizes them), over values [i0, n) of the call: the reference the
// AVX-512 path below is tested against bit for bit (tests/test_quant_simd.c). Nearest divides by the scale,
// as the reference; stochastic multiplies by its reciprocal (within an ulp; the noise dwarfs that).
static void encode_plain(uint8_t *q, const float *x, size_t i0, size_t n, QParam p, int sto, uint32_t k0,
                         uint32_t k1) {
    const float mn = p.min, sc = p.scale, inv = 1.0f / sc;
    if (!sto)
        for (size_t i = i0; i < n; i++) q[i] = quant_code((x[i] - mn) / sc);
    else
        for (size_t i = i0; i < n; i++) q[i] = quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i));
}

// The same codes as encode_plain (same expressions, same key), so the same values as encode + decode.
static void fake_plain(float *out, uint8_t *q, const float *x, size_t i0, size_t n, QParam p, int sto,
                       uint32_t k0, uint32_t k1) {
    const float mn = p.min, sc = p.scale, inv = 1.0f / sc;
    if (!sto && q)
        for (size_t i = i0; i < n; i++) q[i] = quant_code((x[i] - mn) / sc), out[i] = (float)q[i] * sc + mn;
    else if (!sto)
        for (size_t i = i0; i < n; i++) out[i] = (float)quant_code((x[i] - mn) / sc) * sc + mn;
    else if (q)
        for (size_t i = i0; i < n; i++) {
            q[i] = quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i));
            out[i] = (float)q[i] * sc + mn;
        }
    else
        for (size_t i = i0; i < n; i++)
            out[i] = (float)quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i)) * sc + mn;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QUANT_X86 1
#define AVX512_TARGET __attribute__((target("avx512f")))

// ---- AVX-512: 16 values per step, the plain expressions op for op (no FMA: the build does not contract,
// -std=c11), so bit-identical. GCC's own vectorization of the plain loops packs codes through vpermt2w/b and
// round-trips them through bytes to decode; here the code goes to a byte by one vpmovdb and decodes from its
// int32. quant_code's clamp keeps NaN (neither t < 0 nor t > 255), which both paths convert to the integer
// indefinite 0x80000000 and truncate to the byte 0; the masked moves below keep that, where min/max would not.
AVX512_TARGET static inline __m512i avx512_code(__m512 t) {
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(QUANT_LEVELS);
    __m512 v = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(t, top, _CMP_GT_OQ), top);
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(t, zero, _CMP_LT_OQ), zero);
    return _mm512_and_si512(_mm512_cvtps_epi32(v), _mm512_set1_epi32(0xff));   // rint in the default mode
}

AVX512_TARGET static inline __m512i avx512_mix(__m512i h) {
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int)0x7feb352du));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 15));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int)0x846ca68bu));
    return _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
}

// i * 0x9e3779b9 + k0 for i = 0..15: the hash's first step, which the loops below advance by 16 * 0x9e3779b9
// a step (mod 2^32 the same as multiplying each index: one vector add instead of a vpmulld).
AVX512_TARGET static inline __m512i avx512_seed(uint32_t k0) {
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_add_epi32(_mm512_mullo_epi32(idx, _mm512_set1_epi32((int)0x9e3779b9u)), _mm512_set1_epi32((int)k0));
}
#define AVX512_SEED_STEP ((int)(16u * 0x9e3779b9u))

// The codes (as int32 in [0, 255]) of x[i..i+16); hk: avx512_seed advanced to i.
AVX512_TARGET static inline __m512i avx512_codes16(const float *x, size_t i, QParam p, float inv, int sto, __m512i hk,
                                                   uint32_t k1) {
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(p.min));
    if (!sto) return avx512_code(_mm512_div_ps(d, _mm512_set1_ps(p.scale)));
    __m512i h = avx512_mix(_mm512_xor_si512(avx512_mix(hk), _mm512_set1_epi32((int)k1)));
    __m512 noise = _mm512_sub_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(h, 8)), _mm512_set1_ps(0x1p-24f)),
                                 _mm512_set1_ps(0.5f));
    return avx512_code(_mm512_add_ps(_mm512_mul_ps(d, _mm512_set1_ps(inv)), noise));
}

// Values [0, n & ~15); returns where the plain tail starts.
AVX512_TARGET static size_t encode_avx512(uint8_t *q, const float *x, size_t n, QParam p, int sto, uint32_t k0,
                                          uint32_t k1) {
    size_t i = 0;
    const float inv = 1.0f / p.scale;   // once per call (the compiler left the division in the loop)
    __m512i hk = avx512_seed(k0);
    const __m512i step = _mm512_set1_epi32(AVX512_SEED_STEP);
    for (; i + 16 <= n; i += 16, hk = _mm512_add_epi32(hk, step))
        _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtepi32_epi8(avx512_codes16(x, i, p, inv, sto, hk, k1)));
    return i;
}

AVX512_TARGET static size_t fake_avx512(float *out, uint8_t *q, const float *x, size_t n, QParam p, int sto,
                                        uint32_t k0, uint32_t k1) {
    const __m512 sc = _mm512_set1_ps(p.scale), mn = _mm512_set1_ps(p.min);
    size_t i = 0;
    const float inv = 1.0f / p.scale;   // once per call (the compiler left the division in the loop)
    __m512i hk = avx512_seed(k0);
    const __m512i step = _mm512_set1_epi32(AVX512_SEED_STEP);
    for (; i + 16 <= n; i += 16, hk = _mm512_add_epi32(hk, step)) {
        __m512i c = avx512_codes16(x, i, p, inv, sto, hk, k1);
        if (q) _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtepi32_epi8(c));
        _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(c), sc), mn));
    }
    return i;
}

static int quant_avx512(void) {
    static int have = -1;   // a property of the CPU, the same for every caller
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return have;
}
#endif

const char *quant_backend(void) {
#ifdef QUANT_X86
    if (quant_avx512()) return "avx512";
#endif
    return "plain";
}

static void quant_key(QRound r, Rng *rng, uint32_t *k0, uint32_t *k1) {
    *k0 = *k1 = 0;
    if (r != QROUND_STOCHASTIC) return;
    uint64_t key = rng_u64(rng);
    *k0 = (uint32_t)key, *k1 = (uint32_t)(key >> 32);
}

void quant_encode(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    uint32_t k0, k1;
    quant_key(r, rng, &k0, &k1);
    size_t i = 0;
#ifdef QUANT_X86
    if (quant_avx512()) i = encode_avx512(q, x, n, p, r == QROUND_STOCHASTIC, k0, k1);
#endif
    encode_plain(q, x, i, n, p, r == QROUND_STOCHASTIC, k0, k1);
}

void quant_encode_plain(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    uint32_t k0, k1;
    quant_key(r, rng, &k0, &k1);
    encode_plain(q, x, 0, n, p, r == QROUND_STOCHASTIC, k0, k1);
}

void quant_fake(float *out, uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    uint32_t k0, k1;
    quant_key(r, rng, &k0, &k1);
    size_t i = 0;
#ifdef QUANT_X86
    if (quant_avx512()) i = fake_avx512(out, q, x, n, p, r == QROUND_STOCHASTIC, k0, k1);
#endif
    fake_plain(out, q, x, i, n, p, r == QROUND_STOCHASTIC, k0, k1);
}

void quant_fake_plain(float *out, uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    uint32_t k0, k1;
    quant_key(r, rng, &k0, &k1);
    fake_plain(out, q, x, 0, n, p, r == QROUND_STOCHASTIC, k0, k1);
}

void quant_decode(float *x, const uint8_t *q, size_t n, QParam p) {
    for (size_t i = 0; i < n; i++) x[i] = (float)q[i] * p.scale + p.min;
}

QParam quant_fake_minmax(float *out, const float *x, size_t n, QRound r, Rng *rng) {
    float mn, mx;
    quant_minmax(x, n, &mn, &mx);
    QParam p = quant_param(mn, mx);
    uint8_t q[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t nb = n - i0 < 256 ? n - i0 : 256;
        quant_encode(q, x + i0, nb, p, r, rng);
        quant_decode(out + i0, q, nb, p);
    }
    return p;
}
