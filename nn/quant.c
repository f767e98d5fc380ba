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

void quant_minmax(const float *x, size_t n, float *mn, float *mx) {
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *mn = lo, *mx = hi;
}

void quant_measure(const float *x, int C, int B, int HW, float *mn, float *mx) {
    double slo = 0.0, shi = 0.0;
    for (int b = 0; b < B; b++) {
        float lo = x[(size_t)b * HW], hi = lo;
        for (int c = 0; c < C; c++) {
            const float *p = x + ((size_t)c * B + b) * HW;
            for (int i = 0; i < HW; i++) {
                lo = p[i] < lo ? p[i] : lo;
                hi = p[i] > hi ? p[i] : hi;
            }
        }
        slo += lo, shi += hi;
    }
    *mn = (float)(slo / B), *mx = (float)(shi / B);
}

// Blocks of values: the scaling and the rounding loops vectorize; the noise takes two 24-bit draws (exact
// in a float) from each 64-bit output of the generator.
#define QUANT_BLOCK 256

void quant_encode(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    float t[QUANT_BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += QUANT_BLOCK) {
        size_t nb = n - i0 < QUANT_BLOCK ? n - i0 : QUANT_BLOCK;
        for (size_t i = 0; i < nb; i++) t[i] = (x[i0 + i] - p.min) / p.scale;
        if (r == QROUND_STOCHASTIC)   // + U(-1/2, 1/2)
            for (size_t i = 0; i < nb; i += 2) {
                uint64_t u = rng_u64(rng);
                t[i] += (float)(u >> 40) * 0x1p-24f - 0.5f;
                if (i + 1 < nb) t[i + 1] += (float)((u >> 16) & 0xffffff) * 0x1p-24f - 0.5f;
            }
        for (size_t i = 0; i < nb; i++) {
            float v = t[i] < 0.0f ? 0.0f : (t[i] > QUANT_LEVELS ? QUANT_LEVELS : t[i]);
            q[i0 + i] = (uint8_t)(int)rintf(v);   // the default rounding mode: half to even, as torch.round
        }
    }
}

void quant_decode(float *x, const uint8_t *q, size_t n, QParam p) {
    for (size_t i = 0; i < n; i++) x[i] = (float)q[i] * p.scale + p.min;
}

QParam quant_fake_minmax(float *out, const float *x, size_t n, QRound r, Rng *rng) {
    float mn, mx;
    quant_minmax(x, n, &mn, &mx);
    QParam p = quant_param(mn, mx);
    uint8_t q[QUANT_BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += QUANT_BLOCK) {
        size_t nb = n - i0 < QUANT_BLOCK ? n - i0 : QUANT_BLOCK;
        quant_encode(q, x + i0, nb, p, r, rng);
        quant_decode(out + i0, q, nb, p);
    }
    return p;
}
