// The topk8 codec (top-k, 8-bit values, Rice-coded index gaps): equal to top-k followed by the min-max
// quantizer, the same index sets as top-k, sizes near the entropy bound, error feedback, corrupted payloads.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "rng.h"

#define MAX_T 80
typedef struct { const char *name; Span t[MAX_T]; int nt; size_t n; } Table;

static Table table_from(const char *name, const size_t *counts, int nt) {
    Table tb = {.name = name, .nt = nt};
    for (int i = 0; i < nt; i++) {
        tb.t[i] = (Span){tb.n, counts[i]};
        tb.n += counts[i];
    }
    return tb;
}

// LeNet-5 (61,706 entries) and ResNet-20 as the CIFAR models are laid out (conv weights, a norm's two
// vectors after each conv, 1x1 downsamples, the head): 272,474 entries in 65 tensors.
static Table lenet(void) {
    static const size_t c[] = {150, 6, 2400, 16, 48000, 120, 10080, 84, 840, 10};
    return table_from("lenet5", c, 10);
}
static Table resnet20(void) {
    size_t c[MAX_T];
    int nt = 0;
    c[nt++] = 432; c[nt++] = 16; c[nt++] = 16;
    const size_t w[3] = {16, 32, 64};
    for (int s = 0; s < 3; s++)
        for (int blk = 0; blk < 3; blk++) {
            size_t in = (s > 0 && blk == 0) ? w[s - 1] : w[s];
            c[nt++] = in * w[s] * 9; c[nt++] = w[s]; c[nt++] = w[s];
            c[nt++] = w[s] * w[s] * 9; c[nt++] = w[s]; c[nt++] = w[s];
            if (s > 0 && blk == 0) { c[nt++] = in * w[s]; c[nt++] = w[s]; c[nt++] = w[s]; }
        }
    c[nt++] = 640; c[nt++] = 10;
    return table_from("resnet20", c, nt);
}

static float *normal_vec(size_t n, uint64_t seed, float offset) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = offset ? offset + fabsf((float)rng_normal(&r)) : (float)rng_normal(&r);
    return x;
}

static Codec make(const char *name, double keep) {
    Codec c;
    Err e = {{0}};
    cr_assert_eq(codec_init(&c, name, keep, &e), 0, "%s", e.msg);
    return c;
}

static long encode(const Codec *c, const Table *tb, const float *x, uint8_t **buf, float *q) {
    size_t cap = c->ops->bound(c, tb->n, tb->nt);
    *buf = malloc(cap);
    long len = c->ops->encode(c, x, tb->n, tb->t, tb->nt, 0, *buf, cap, q);
    cr_assert(len >= 0 && (size_t)len <= cap, "%s on %s: %ld bytes, bound %zu", c->ops->name, tb->name, len, cap);
    return len;
}

// The reference: the top-k codec's kept entries, each tensor's kept values quantized to 256 min-max levels.
static void reference(const Table *tb, const float *x, const float *qt, float *want) {
    for (int ti = 0; ti < tb->nt; ti++) {
        const Span *s = &tb->t[ti];
        float mn = FLT_MAX, mx = -FLT_MAX;
        for (size_t i = s->offset; i < s->offset + s->count; i++)
            if (qt[i] != 0.0f) { mn = fminf(mn, x[i]); mx = fmaxf(mx, x[i]); }
        float step = (mx - mn) / 255.0f;
        for (size_t i = s->offset; i < s->offset + s->count; i++) {
            if (qt[i] == 0.0f) { want[i] = 0.0f; continue; }
            float r = step > 0.0f ? (x[i] - mn) / step : 0.0f;
            float l = floorf(fminf(fmaxf(r, 0.0f), 255.0f) + 0.5f), off = l * step;
            want[i] = mn + off;
            cr_assert(fabsf(want[i] - x[i]) <= 0.5001f * step, "reference off by more than half a step");
        }
    }
}

Test(topk8, equals_topk_then_the_quantizer) {
    Table tbs[2] = {lenet(), resnet20()};
    cr_assert_eq(tbs[0].n, 61706);
    cr_assert_eq(tbs[1].n, 272474, "resnet20 table has %zu entries", tbs[1].n);
    double keeps[] = {0.001, 0.01, 0.1};
    for (int w = 0; w < 2; w++)
        for (int ki = 0; ki < 3; ki++) {
            const Table *tb = &tbs[w];
            Codec c8 = make("topk8", keeps[ki]), ct = make("topk", keeps[ki]);
            float *x = normal_vec(tb->n, 10 + (uint64_t)w, 0), *q = malloc(tb->n * 4), *qt = malloc(tb->n * 4);
            float *want = malloc(tb->n * 4), *out = calloc(tb->n, 4);
            uint8_t *b8, *bt;
            long len = encode(&c8, tb, x, &b8, q);
            encode(&ct, tb, x, &bt, qt);
            reference(tb, x, qt, want);
            for (size_t i = 0; i < tb->n; i++)
                cr_assert(q[i] == want[i], "%s keep %g entry %zu: q %.9g, top-k+quantizer %.9g", tb->name, keeps[ki], i,
                          (double)q[i], (double)want[i]);
            Err e = {{0}};
            cr_assert_eq(c8.ops->decode(&c8, b8, (size_t)len, tb->n, tb->t, tb->nt, 0, 1.0f, out, &e), 0, "%s", e.msg);
            cr_assert(memcmp(out, q, tb->n * 4) == 0, "%s: decode differs from q", tb->name);
            free(x); free(q); free(qt); free(want); free(out); free(b8); free(bt);
        }
}

// Kept values all in [1, inf), so decoded entries are non-zero exactly where an index was sent.
Test(topk8, exact_index_sets) {
    Table tb = resnet20();
    Codec c8 = make("topk8", 0.01), ct = make("topk", 0.01);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        float *x = normal_vec(tb.n, seed, 1.0f), *qt = malloc(tb.n * 4), *out = calloc(tb.n, 4);
        for (size_t i = 0; i < tb.n; i++)
            if (i % 3 == 0) x[i] = -x[i];
        uint8_t *b8, *bt;
        long len = encode(&c8, &tb, x, &b8, NULL);
        encode(&ct, &tb, x, &bt, qt);
        Err e = {{0}};
        cr_assert_eq(c8.ops->decode(&c8, b8, (size_t)len, tb.n, tb.t, tb.nt, 0, 1.0f, out, &e), 0, "%s", e.msg);
        size_t kept = 0;
        for (size_t i = 0; i < tb.n; i++) {
            cr_assert_eq(out[i] != 0.0f, qt[i] != 0.0f, "entry %zu: topk8 %g, topk %g", i, (double)out[i],
                         (double)qt[i]);
            kept += qt[i] != 0.0f;
        }
        cr_assert_gt(kept, 2600);
        free(x); free(qt); free(out); free(b8); free(bt);
    }
}

// log2(C(n, k)) / k: the fewest bits per index that can name a k-subset of n.
static double entropy_bits(size_t n, size_t k) {
    return (lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1)) / log(2.0) / (double)k;
}

// One tensor of 100,000 at densities 0.1%, 1%, 10%: index bytes within 3% of the entropy bound; then the
// LeNet-5 and ResNet-20 messages at 1%: bytes per index and per value, printed for the docs.
Test(topk8, sizes_near_the_entropy_bound) {
    static const size_t one[] = {100000};
    Table tb = table_from("one tensor", one, 1);
    double keeps[] = {0.001, 0.01, 0.1};
    for (int ki = 0; ki < 3; ki++) {
        Codec c = make("topk8", keeps[ki]);
        float *x = normal_vec(tb.n, 5, 0);
        uint8_t *buf;
        long len = encode(&c, &tb, x, &buf, NULL);
        size_t k = codec_keep_count(tb.n, keeps[ki]);
        long head = k < 128 ? 1 : k < 16384 ? 2 : 3;   // varint k
        double ibits = (double)(len - (long)k - 8 - head) * 8 / (double)k, h = entropy_bits(tb.n, k);
        cr_assert(ibits <= 1.03 * h + 8.0 / (double)k && ibits >= 0.97 * h,
                  "density %g: %.3f bits per index, entropy %.3f", keeps[ki], ibits, h);
        fprintf(stderr, "topk8 one tensor of 100000, density %g: %.3f bits per index (entropy bound %.3f)\n", keeps[ki],
                ibits, h);
        free(x); free(buf);
    }
    Table tbs[2] = {lenet(), resnet20()};
    double bounds[2] = {1.30, 1.25};   // bytes per index, overheads of the small tensors included
    for (int w = 0; w < 2; w++) {
        Codec c = make("topk8", 0.01);
        float *x = normal_vec(tbs[w].n, 6, 0);
        uint8_t *buf;
        long len = encode(&c, &tbs[w], x, &buf, NULL);
        size_t K = 0;
        for (int ti = 0; ti < tbs[w].nt; ti++) K += codec_keep_count(tbs[w].t[ti].count, 0.01);
        double per_index = (double)(len - (long)K) / (double)K;   // everything but the value bytes
        cr_assert(per_index <= bounds[w], "%s: %.3f bytes per index", tbs[w].name, per_index);
        Codec ct = make("topk", 0.01);
        uint8_t *bt;
        long lt = encode(&ct, &tbs[w], x, &bt, NULL);
        free(bt);
        cr_assert_geq((double)lt / (double)len, 1.8, "%s: topk8 only %.2fx smaller than fp32 top-k", tbs[w].name,
                      (double)lt / (double)len);
        double dense = 4.0 * (double)tbs[w].n, authors = 6.0 * (double)K + 3;
        fprintf(stderr,
                "topk8 %s keep 1%%: K = %zu, %ld bytes = %.3f bytes per index (headers included) + 1 per "
                "value; dense %.0fx; fp32 top-k %ld bytes (%.2fx); authors' counter 6K+3 = %.0f (%.2fx ours)\n",
                tbs[w].name, K, len, per_index, dense / (double)len, lt, (double)lt / (double)len, authors,
                authors / (double)len);
        free(x); free(buf);
    }
}

// Round to nearest FP8 e4m3 (bias 7, 3 mantissa bits, largest 448, subnormals down to 2^-9).
static float e4m3(float v) {
    float a = fabsf(v);
    if (a >= 448.0f) return copysignf(448.0f, v);
    int e;
    frexpf(a, &e);   // a = m 2^e, m in [0.5, 1)
    int ex = e - 1 < -6 ? -6 : e - 1;
    float step = ldexpf(1.0f, ex - 3);
    return copysignf(roundf(a / step) * step, v);
}

// The choice of quantizer: on the top 1% of normal and heavy-tailed tensors, per-tensor min-max levels
// lose less than e4m3 scaled to the tensor's largest magnitude.
Test(topk8, minmax_levels_beat_e4m3_on_topk_values) {
    static const size_t one[] = {100000};
    Table tb = table_from("one tensor", one, 1);
    Codec c = make("topk8", 0.01), ct = make("topk", 0.01);
    for (int heavy = 0; heavy < 2; heavy++) {
        float *x = normal_vec(tb.n, 21, 0), *q = malloc(tb.n * 4), *qt = malloc(tb.n * 4);
        if (heavy)   // Student-t-like tails: a normal over the square root of a chi-square with 3 degrees
            for (size_t i = 0; i < tb.n; i++)
                x[i] = x[i] /
                    sqrtf((x[(i * 7919) % tb.n] * x[(i * 7919) % tb.n] +
                           x[(i * 104729) % tb.n] * x[(i * 104729) % tb.n] +
                           x[(i * 1299709) % tb.n] * x[(i * 1299709) % tb.n]) /
                              3 +
                          1e-3f);
        uint8_t *b, *bt;
        encode(&c, &tb, x, &b, q);
        encode(&ct, &tb, x, &bt, qt);
        float amax = 0;
        for (size_t i = 0; i < tb.n; i++) amax = fmaxf(amax, fabsf(qt[i]));
        double emm = 0, e8 = 0, ref = 0;
        for (size_t i = 0; i < tb.n; i++) {
            if (qt[i] == 0.0f) continue;
            double d1 = (double)q[i] - x[i], d2 = (double)e4m3(x[i] * (448.0f / amax)) * (amax / 448.0f) - x[i];
            emm += d1 * d1; e8 += d2 * d2; ref += (double)x[i] * x[i];
        }
        fprintf(stderr, "top-1%% values of a %s tensor: relative rms error min-max 8-bit %.4f%%, e4m3 %.4f%%\n",
                heavy ? "heavy-tailed" : "normal", 100 * sqrt(emm / ref), 100 * sqrt(e8 / ref));
        cr_assert_lt(emm, e8);
        free(x); free(q); free(qt); free(b); free(bt);
    }
}

// The sender's error memory keeps the value quantization error: after codec_encode_ef, a kept entry's
// residual is v - q (within half a level), a dropped one's all of v, and q + e_after == x + e_before.
Test(topk8, error_feedback_keeps_the_quantization_error) {
    Table tb = lenet();
    Codec c = make("topk8", 0.01);
    size_t n = tb.n, cap = c.ops->bound(&c, n, tb.nt);
    float *res = calloc(n, 4), *before = malloc(n * 4), *q = malloc(n * 4);
    uint8_t *buf = malloc(cap);
    size_t nonzero_kept = 0;
    for (int round = 0; round < 20; round++) {
        float *x = normal_vec(n, 300 + (uint64_t)round, 0);
        memcpy(before, res, n * 4);
        cr_assert_geq(codec_encode_ef(&c, x, res, n, tb.t, tb.nt, (uint64_t)round, buf, cap, q), 0);
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + before[i];
            cr_assert(fabsf(q[i] + res[i] - v) <= 4e-7f * fmaxf(fabsf(v), fabsf(q[i])), "round %d entry %zu", round, i);
            if (q[i] == 0.0f) cr_assert(res[i] == v, "dropped entry %zu lost part of v", i);
            else nonzero_kept += res[i] != 0.0f;
        }
        free(x);
    }
    cr_assert_gt(nonzero_kept, 500, "the quantization error is not kept (%zu kept entries with a residual)",
                 nonzero_kept);
    free(res); free(before); free(q); free(buf);
}

static void expect_reject(const Table *tb, const uint8_t *p, size_t len, const char *what) {
    const Codec *c = codec_for_id(CODEC_TOPK8);
    float *out = calloc(tb->n, 4);
    uint8_t *copy = malloc(len ? len : 1);   // exactly len bytes, so ASan sees a read past the end
    memcpy(copy, p, len);
    Err e = {{0}};
    cr_assert_eq(c->ops->decode(c, copy, len, tb->n, tb->t, tb->nt, 0, 1.0f, out, &e), -1, "%s accepted", what);
    cr_assert(e.msg[0], "%s: no message", what);
    for (size_t i = 0; i < tb->n; i++) cr_assert(out[i] == 0.0f, "%s: out changed", what);
    free(out); free(copy);
}

// Hand-made payloads for one tensor of 100 entries: k = 2, b = rice_param(100, 2) = 5.
Test(topk8, crafted_payloads) {
    static const size_t one[] = {100};
    Table tb = table_from("one tensor", one, 1);
    uint8_t p[32] = {2, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};   // k = 2, min 1, max 2
    // Gap 3 (a zero bit, low bits 1,1,0,0,0), gap 4 (a zero bit, 0,0,1,0,0), LSB first: 0x06, 0x02 (+ a pad bit).
    p[9] = 0x06; p[10] = 0x02; p[11] = 0; p[12] = 255;
    const Codec *c = codec_for_id(CODEC_TOPK8);
    float out[100] = {0};
    Err e = {{0}};
    cr_assert_eq(c->ops->decode(c, p, 13, 100, tb.t, 1, 0, 1.0f, out, &e), 0, "%s", e.msg);
    cr_assert(out[3] == 1.0f && out[8] == 2.0f, "decoded %g at 3, %g at 8", (double)out[3], (double)out[8]);
    expect_reject(&tb, p, 14, "a byte too many");
    expect_reject(&tb, p, 12, "a value byte short");
    expect_reject(&tb, p, 9, "no index stream");
    expect_reject(&tb, p, 5, "range cut");
    uint8_t q[32];
    memcpy(q, p, 13); q[10] = 0x82;   // padding bit set
    expect_reject(&tb, q, 13, "non-zero padding");
    memcpy(q, p, 13); q[0] = 101;     // k > count
    expect_reject(&tb, q, 13, "k above count");
    memcpy(q, p, 13); q[9] = 0xff; q[10] = 0xff;   // a unary run past the tensor
    expect_reject(&tb, q, 13, "long unary run");
    memcpy(q, p, 13); q[9] = 0xc6; q[10] = 0x01;   // second gap 96: index 100 in a tensor of 100
    expect_reject(&tb, q, 13, "gap past the tensor");
}

// Valid payloads with random bytes changed, cut or extended: never a crash, never a read past the buffer
// (ASan in `make asan`); a rejected payload leaves out untouched.
Test(topk8, corrupted_payloads) {
    Table tb = lenet();
    Rng g;
    rng_seed(&g, 7);
    float *out = calloc(tb.n, 4), *snap = malloc(tb.n * 4);
    int rejected = 0;
    for (int iter = 0; iter < 400; iter++) {
        double keep = iter % 2 ? 0.01 : 0.2;
        Codec c = make("topk8", keep);
        float *x = normal_vec(tb.n, 900 + (uint64_t)iter, 0);
        uint8_t *buf;
        long len = encode(&c, &tb, x, &buf, NULL);
        size_t cut = (size_t)len;
        int how = (int)rng_below(&g, 3);
        if (how == 0) cut = rng_below(&g, (uint64_t)len);
        uint8_t *p = malloc(cut + 1);
        memcpy(p, buf, cut);
        if (how == 2) p[cut++] = (uint8_t)rng_below(&g, 256);
        for (int f = 0; f < 1 + (int)rng_below(&g, 4) && cut; f++)
            p[rng_below(&g, cut)] ^= (uint8_t)(1 + rng_below(&g, 255));
        memcpy(snap, out, tb.n * 4);
        Err e = {{0}};
        if (c.ops->decode(&c, p, cut, tb.n, tb.t, tb.nt, 0, 1e-3f, out, &e) != 0) {
            rejected++;
            cr_assert(e.msg[0]);
            cr_assert(memcmp(out, snap, tb.n * 4) == 0, "iteration %d: out changed by a rejected payload", iter);
        }
        free(x); free(buf); free(p);
    }
    cr_assert_gt(rejected, 200, "only %d of 400 corrupted payloads rejected", rejected);
    free(out); free(snap);
}
