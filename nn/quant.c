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

// One loop per mode, simple enough to vectorize (16 values per AVX-512 iteration). Nearest divides by the
// scale, as the reference; stochastic multiplies by its reciprocal (within an ulp; the noise dwarfs that).
void quant_encode(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    const float mn = p.min, sc = p.scale;
    if (r == QROUND_NEAREST) {
        for (size_t i = 0; i < n; i++) q[i] = quant_code((x[i] - mn) / sc);
        return;
    }
    uint64_t key = rng_u64(rng);
    const uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    const float inv = 1.0f / sc;
    for (size_t i = 0; i < n; i++) q[i] = quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i));
}

void quant_fake(float *out, uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    const float mn = p.min, sc = p.scale;
    uint32_t k0 = 0, k1 = 0;
    if (r == QROUND_STOCHASTIC) {
        uint64_t key = rng_u64(rng);
        k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    }
    const float inv = 1.0f / sc;
    // The same codes as quant_encode (same expressions, same key), so the same values as encode + decode.
    if (r == QROUND_NEAREST && q)
        for (size_t i = 0; i < n; i++) q[i] = quant_code((x[i] - mn) / sc), out[i] = (float)q[i] * sc + mn;
    else if (r == QROUND_NEAREST)
        for (size_t i = 0; i < n; i++) out[i] = (float)quant_code((x[i] - mn) / sc) * sc + mn;
    else if (q)
        for (size_t i = 0; i < n; i++) {
            q[i] = quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i));
            out[i] = (float)q[i] * sc + mn;
        }
    else
        for (size_t i = 0; i < n; i++)
            out[i] = (float)quant_code((x[i] - mn) * inv + quant_noise(k0, k1, (uint32_t)i)) * sc + mn;
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
