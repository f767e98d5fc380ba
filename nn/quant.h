// 8-bit asymmetric min-max quantization (Banner et al. 2018, as the low-precision reference code
// does it): codes q in [0, 255] with x^ = q * scale + min, nearest or stochastic rounding.
#ifndef MESHTRAIN_QUANT_H
#define MESHTRAIN_QUANT_H
#include <stddef.h>
#include <stdint.h>
#include "rng.h"

typedef enum { QROUND_STOCHASTIC, QROUND_NEAREST } QRound;

// How codes map back to floats: x^ = q * scale + min.
typedef struct {
    float scale, min;
} QParam;

#define QUANT_LEVELS 255.0f   // 2^8 - 1
#define QUANT_MOMENTUM 0.1f   // QuantMeasure: running = momentum * running + (1 - momentum) * batch

const char *quant_round_name(QRound r);
int quant_round_parse(const char *s, QRound *out);   // "stochastic" | "nearest"; 0, or -1

// The range [mn, mx] as a QParam: scale = max((mx - mn) / 255, 1e-8), as the reference clamps it.
QParam quant_param(float mn, float mx);
// Smallest and largest of x[0..n) (n >= 1).
void quant_minmax(const float *x, size_t n, float *mn, float *mx);
// QuantMeasure's training range of a channel-major (C, B, HW) tensor: the batch mean of each
// sample's min and of each sample's max (over its C*HW values).
void quant_measure(const float *x, int C, int B, int HW, float *mn, float *mx);
// The reference's running update: run = QUANT_MOMENTUM * run + (1 - QUANT_MOMENTUM) * v.
static inline float quant_running(float run, float v) { return QUANT_MOMENTUM * run + (1.0f - QUANT_MOMENTUM) * v; }

// Codes of x[0..n) in p: q = clamp(round((x - min) / scale [+ U(-1/2, 1/2)]), 0, 255), the noise only
// when r is QROUND_STOCHASTIC; round half to even. The noise is counter-based: one rng_u64 from rng
// (which may then not be NULL) keys the call, value i's noise is a hash of (key, i) (n < 2^32).
void quant_encode(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng);
// quant_encode then quant_decode in one pass: out[i] = x^[i] (out may be x), the codes in q unless q is NULL.
// The same draws and results as the two calls.
void quant_fake(float *out, uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng);
// The plain C loops of quant_encode and quant_fake, which use AVX-512 where the CPU has it (quant_backend:
// "avx512" or "plain"): the same draws and bit-identical results (tests/test_quant_simd.c compares them).
void quant_encode_plain(uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng);
void quant_fake_plain(float *out, uint8_t *q, const float *x, size_t n, QParam p, QRound r, Rng *rng);
const char *quant_backend(void);
// x^[i] = q[i] * scale + min.
void quant_decode(float *x, const uint8_t *q, size_t n, QParam p);
// Quantize-dequantize ("fake quantization") of x[0..n) into out (may be x), over x's own min and max.
QParam quant_fake_minmax(float *out, const float *x, size_t n, QRound r, Rng *rng);

#endif
