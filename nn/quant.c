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

// U(-1/2, 1/2) from the top 24 bits of one draw (exactly representable in a float).
static inline float noise_half(Rng *rng) { return (float)(rng_u64(rng) >> 40) * 0x1p-24f - 0.5f; }

void quant_encode(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng) {
    for (size_t i = 0; i < n; i++) {
        float t = (x[i] - p.min) / p.scale;
        if (r == QROUND_STOCHASTIC) t += noise_half(rng);
        t = t < 0.0f ? 0.0f : (t > QUANT_LEVELS ? QUANT_LEVELS : t);
        q[i] = (uint8_t)rintf(t);   // the default rounding mode: half to even, as torch.round
    }
}

void quant_decode(float *x, const uint8_t *q, size_t n, QParam p) {
    for (size_t i = 0; i < n; i++) x[i] = (float)q[i] * p.scale + p.min;
}

QParam quant_fake_minmax(float *out, const float *x, size_t n, QRound r, Rng *rng) {
    float mn, mx;
    quant_minmax(x, n, &mn, &mx);
    QParam p = quant_param(mn, mx);
    for (size_t i = 0; i < n; i++) {
        uint8_t q;
        quant_encode(&q, x + i, 1, p, r, rng);
        out[i] = (float)q * p.scale + p.min;
    }
    return p;
}
