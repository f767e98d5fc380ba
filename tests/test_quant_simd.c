// The quantizer's AVX-512 path (nn/quant.c) against its plain C loops, bit for bit: codes and dequantized
// values, both roundings, lengths around the 16-value step, values past both ends of the range, and NaN.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "quant.h"

// n values spread past [mn, mx] on both sides (so both clamps bite), some exactly on the ends, one NaN.
static float *values_new(int n, uint64_t seed, float mn, float mx) {
    float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        double u = (double)(rng_u64(&r) >> 11) * 0x1p-53;
        x[i] = mn + (float)(u * 1.2 - 0.1) * (mx - mn);
    }
    if (n > 5) x[1] = mn, x[2] = mx, x[3] = NAN, x[4] = -0.0f;
    return x;
}

// One call of each flavour on both paths with equal generators: the same bits out, the generators moved alike.
static void check_same(int n, QRound round, uint64_t seed) {
    float mn = -0.73f, mx = 1.91f;
    float *x = values_new(n, seed, mn, mx);
    QParam p = quant_param(mn, mx);
    size_t nb = (size_t)(n ? n : 1);
    uint8_t *qa = calloc(nb, 1), *qb = calloc(nb, 1);
    float *oa = calloc(nb, sizeof(float)), *ob = calloc(nb, sizeof(float));
    Rng ra, rb;
    rng_seed(&ra, seed + 100), rb = ra;

    quant_encode(qa, x, (size_t)n, p, round, &ra);
    quant_encode_plain(qb, x, (size_t)n, p, round, &rb);
    for (int i = 0; i < n; i++)
        cr_assert_eq(qa[i], qb[i], "encode %s n=%d: value %d (%g): code %d, plain %d", quant_round_name(round), n,
                     i, x[i], qa[i], qb[i]);
    for (int with_codes = 0; with_codes < 2; with_codes++) {
        memset(qa, 0, nb), memset(qb, 0, nb);
        quant_fake(oa, with_codes ? qa : NULL, x, (size_t)n, p, round, &ra);
        quant_fake_plain(ob, with_codes ? qb : NULL, x, (size_t)n, p, round, &rb);
        cr_assert(!memcmp(oa, ob, sizeof(float) * (size_t)n), "fake %s n=%d codes=%d: values differ",
                  quant_round_name(round), n, with_codes);
        cr_assert(!memcmp(qa, qb, (size_t)n), "fake %s n=%d: codes differ", quant_round_name(round), n);
    }
    cr_assert(!memcmp(&ra, &rb, sizeof ra), "the generators moved differently");
    free(x), free(qa), free(qb), free(oa), free(ob);
}

Test(quant_simd, fast_equals_plain_bitwise) {
    const int ns[] = {0, 1, 15, 16, 17, 31, 48, 1000, 4099, 65536 + 7};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        check_same(ns[k], QROUND_NEAREST, 11 + k);
        check_same(ns[k], QROUND_STOCHASTIC, 31 + k);
    }
}

// The check above is only a check of the fast path where there is one.
Test(quant_simd, backend_named) {
    const char *b = quant_backend();
    cr_assert(!strcmp(b, "avx512") || !strcmp(b, "plain"), "backend '%s'", b);
    cr_log_info("quant backend: %s\n", b);
}

// A NaN value encodes to 0 and dequantizes to min on both paths (as the plain C conversion does on x86).
Test(quant_simd, nan_goes_to_code_zero) {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = 0.5f;
    x[3] = x[20] = NAN;
    uint8_t q[32];
    QParam p = quant_param(0.0f, 1.0f);
    quant_encode(q, x, 32, p, QROUND_NEAREST, NULL);
    cr_assert(q[3] == 0 && q[20] == 0, "NaN codes %d %d", q[3], q[20]);
    cr_assert(q[0] == 127 || q[0] == 128, "0.5 over [0, 1]: code %d", q[0]);
    float out[32];
    Rng r;
    rng_seed(&r, 5);
    quant_fake(out, NULL, x, 32, p, QROUND_STOCHASTIC, &r);
    cr_assert(out[3] == p.min && out[20] == p.min, "NaN dequantized to %g %g, not min", out[3], out[20]);
}
