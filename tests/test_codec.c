// Codec tests: round trips of every codec on several tensor tables, the defining property of each
// (top-k set, shared random-k indices, sign scale, q8 error bound), error feedback, sizes, malformed payloads.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "rng.h"

#define MAX_T 16
typedef struct { const char *name; Span t[MAX_T]; int nt; size_t n; } Table;

// The LeNet-5 parameter tensors (conv1 w/b, conv2 w/b, fc1 w/b, fc2 w/b, fc3 w/b): 61,706 entries.
static const size_t LENET[] = {150, 6, 2400, 16, 48000, 120, 10080, 84, 840, 10};

static Table table_from(const char *name, const size_t *counts, int nt) {
    Table tb = {.name = name, .nt = nt};
    for (int i = 0; i < nt; i++) {
        tb.t[i] = (Span){tb.n, counts[i]};
        tb.n += counts[i];
    }
    return tb;
}

// 0: one tensor; 1: many, with size-1 and size-0 tensors (also first and last); 2: LeNet-5.
static Table table_get(int which) {
    static const size_t one[] = {1000};
    static const size_t many[] = {0, 1, 300, 1, 0, 2, 517, 129, 1, 49, 0};
    if (which == 0) return table_from("one tensor", one, 1);
    if (which == 1) return table_from("many tensors", many, (int)(sizeof many / sizeof many[0]));
    return table_from("lenet5", LENET, 10);
}
#define N_TABLES 3

// Normal entries with a different magnitude per tensor (and a few exact zeros), so per-tensor logic matters.
static float *random_vec(const Table *tb, uint64_t seed) {
    float *x = malloc((tb->n ? tb->n : 1) * sizeof *x);
    Rng r;
    rng_seed(&r, seed);
    for (int ti = 0; ti < tb->nt; ti++) {
        double mag = pow(10.0, (double)rng_below(&r, 7) - 3.0);
        for (size_t i = 0; i < tb->t[ti].count; i++) {
            size_t j = tb->t[ti].offset + i;
            x[j] = rng_below(&r, 50) == 0 ? 0.0f : (float)(rng_normal(&r) * mag);
        }
    }
    return x;
}

static Codec make(const char *name, double keep, int stochastic) {
    Codec c;
    Err e = {{0}};
    cr_assert_eq(codec_init(&c, name, keep, &e), 0, "codec_init(%s, %g): %s", name, keep, e.msg);
    c.stochastic = stochastic;
    return c;
}

// Every codec configuration the generic tests run.
typedef struct { const char *name; double keep; int stochastic; int exact_ef; } Config;
static const Config CONFIGS[] = {
    {"dense", 1.0, 0, 1}, {"topk", 0.1, 0, 1},  {"topk", 0.001, 0, 1}, {"topk", 1.0, 0, 1}, {"randk", 0.1, 0, 1},
    {"randk", 1.0, 0, 1}, {"sign", 1.0, 0, 0},  {"q8", 1.0, 0, 0},     {"q8", 1.0, 1, 0},
    {"topk8", 0.01, 0, 0}, {"topk8", 0.3, 0, 0}, {"topk8", 1.0, 0, 0},
};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof(float)) == 0, "%s: entry %zu is %.9g, expected %.9g", what, i,
                  (double)a[i], (double)b[i]);
}

// Encode x; decode(encode(x)) == q bit for bit; decode accumulates with scale; cap and bound behave.
static void round_trip(const Codec *c, const Table *tb, const float *x, uint64_t seed, float *q, long *len_out) {
    char what[160];
    snprintf(what, sizeof what, "%s (keep %g%s) on %s", c->ops->name, c->keep, c->stochastic ? ", stochastic" : "",
             tb->name);
    size_t n = tb->n, cap = c->ops->bound(c, n, tb->nt);
    uint8_t *buf = malloc(cap + 1);
    long len = c->ops->encode(c, x, n, tb->t, tb->nt, seed, buf, cap, q);
    cr_assert(len >= 0 && (size_t)len <= cap, "%s: encode returned %ld, bound %zu", what, len, cap);
    float *out = calloc(n + 1, sizeof *out);
    Err e = {{0}};
    cr_assert_eq(c->ops->decode(c, buf, (size_t)len, n, tb->t, tb->nt, seed, 1.0f, out, &e), 0, "%s: %s", what, e.msg);
    assert_same_bits(out, q, n, what);
    // Accumulate: out = base + 0.25 * q.
    for (size_t i = 0; i < n; i++) out[i] = (float)i * 0.5f - 3.0f;
    cr_assert_eq(c->ops->decode(c, buf, (size_t)len, n, tb->t, tb->nt, seed, 0.25f, out, &e), 0, "%s: %s", what, e.msg);
    for (size_t i = 0; i < n; i++) {
        float want = ((float)i * 0.5f - 3.0f) + 0.25f * q[i];
        cr_assert(fabsf(out[i] - want) <= 1e-6f * fabsf(want), "%s: scaled decode at %zu: %.9g, expected %.9g", what,
                  i, (double)out[i], (double)want);
    }
    // The same bytes again with an exact cap, and -1 with one byte less.
    uint8_t *buf2 = malloc(cap + 1);
    float *q2 = malloc((n + 1) * sizeof *q2);
    cr_assert_eq(c->ops->encode(c, x, n, tb->t, tb->nt, seed, buf2, (size_t)len, q2), len, "%s: exact cap", what);
    cr_assert(memcmp(buf, buf2, (size_t)len) == 0, "%s: encoding is not deterministic", what);
    if (len > 0)
        cr_assert_eq(c->ops->encode(c, x, n, tb->t, tb->nt, seed, buf2, (size_t)len - 1, q2), -1,
                     "%s: cap one byte short must fail", what);
    *len_out = len;
    free(buf); free(buf2); free(q2); free(out);
}

Test(codec, registry) {
    Err e = {{0}};
    Codec c;
    cr_assert_str_eq(codec_names(), "dense, topk, randk, sign, q8, topk8");
    const char *names[] = {"dense", "topk", "randk", "sign", "q8", "topk8"};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(codec_init(&c, names[i], 0.5, &e), 0, "%s: %s", names[i], e.msg);
        cr_assert_eq((int)c.ops->id, i);
        cr_assert_str_eq(c.ops->name, names[i]);
        const Codec *d = codec_for_id((CodecId)i);
        cr_assert(d && d->ops == c.ops, "codec_for_id(%d)", i);
    }
    cr_assert_null(codec_for_id((CodecId)6));
    cr_assert_eq(codec_init(&c, "gzip", 0.5, &e), -1);
    cr_assert(strstr(e.msg, "gzip") && strstr(e.msg, "topk"), "message: %s", e.msg);
    double bad[] = {0.0, -0.1, 1.5, NAN};
    for (int i = 0; i < 4; i++) {
        e.msg[0] = 0;
        cr_assert_eq(codec_init(&c, "topk", bad[i], &e), -1, "keep %g accepted", bad[i]);
        cr_assert(strstr(e.msg, "keep"), "message: %s", e.msg);
    }
}

Test(codec, round_trip_every_codec_every_table) {
    for (int ci = 0; ci < N_CONFIGS; ci++)
        for (int w = 0; w < N_TABLES; w++) {
            Table tb = table_get(w);
            Codec c = make(CONFIGS[ci].name, CONFIGS[ci].keep, CONFIGS[ci].stochastic);
            float *x = random_vec(&tb, 100 + (uint64_t)w);
            float *q = malloc(tb.n * sizeof *q);
            long len;
            round_trip(&c, &tb, x, 7, q, &len);
            free(x); free(q);
        }
}

Test(codec, dense_is_exact) {
    Table tb = table_get(1);
    Codec c = make("dense", 1.0, 0);
    float *x = random_vec(&tb, 1), *q = malloc(tb.n * sizeof *q);
    long len;
    round_trip(&c, &tb, x, 0, q, &len);
    cr_assert_eq(len, (long)(4 * tb.n));
    assert_same_bits(q, x, tb.n, "dense q");
    free(x); free(q);
}

static size_t expected_k(size_t count, double keep) {
    if (!count) return 0;
    size_t k = (size_t)floor((double)count * keep);
    return k < 1 ? 1 : k > count ? count : k;
}

// Per tensor: exactly k kept, all exact copies of x, and no dropped entry larger than a kept one.
static void check_topk(const Table *tb, const float *x, const float *q, double keep) {
    for (int ti = 0; ti < tb->nt; ti++) {
        const float *xs = x + tb->t[ti].offset, *qs = q + tb->t[ti].offset;
        size_t count = tb->t[ti].count, kept = 0;
        float min_kept = INFINITY, max_dropped = 0.0f;
        for (size_t i = 0; i < count; i++) {
            // A kept zero looks dropped in q; zeros are never larger than anything kept, so that is fine.
            if (qs[i] != 0.0f || xs[i] == 0.0f) {
                if (qs[i] != 0.0f) cr_assert_eq(qs[i], xs[i], "tensor %d entry %zu", ti, i);
            }
            if (qs[i] != 0.0f) { kept++; min_kept = fminf(min_kept, fabsf(xs[i])); }
            else max_dropped = fmaxf(max_dropped, fabsf(xs[i]));
        }
        size_t zeros = 0;
        for (size_t i = 0; i < count; i++) zeros += xs[i] == 0.0f;
        size_t k = expected_k(count, keep);
        cr_assert(kept <= k && kept + zeros >= k, "%s tensor %d (%zu entries, keep %g): %zu kept, expected %zu",
                  tb->name, ti, count, keep, kept, k);
        if (kept && kept < count) cr_assert(max_dropped <= min_kept, "tensor %d: dropped %g > kept %g", ti,
                                            (double)max_dropped, (double)min_kept);
    }
}

Test(codec, topk_keeps_the_largest_k_per_tensor) {
    double keeps[] = {0.001, 0.01, 0.1, 0.5, 0.99, 1.0};
    for (int w = 0; w < N_TABLES; w++)
        for (int ki = 0; ki < 6; ki++) {
            Table tb = table_get(w);
            Codec c = make("topk", keeps[ki], 0);
            float *x = random_vec(&tb, 40 + (uint64_t)ki), *q = malloc(tb.n * sizeof *q);
            long len;
            round_trip(&c, &tb, x, 0, q, &len);
            check_topk(&tb, x, q, keeps[ki]);
            free(x); free(q);
        }
}

Test(codec, topk_ties_go_to_the_lower_index) {
    // Equal magnitudes everywhere, and a constant-zero tensor: the first k indices win.
    float x[40];
    for (int i = 0; i < 20; i++) x[i] = (i % 2) ? -1.5f : 1.5f;
    for (int i = 20; i < 40; i++) x[i] = 0.0f;
    x[13] = 2.0f;
    Span t[2] = {{0, 20}, {20, 20}};
    Codec c = make("topk", 0.2, 0);   // k = 4 per tensor
    uint8_t buf[256];
    float q[40];
    cr_assert_gt(c.ops->encode(&c, x, 40, t, 2, 0, buf, sizeof buf, q), 0);
    for (int i = 0; i < 20; i++) {
        int kept = i == 13 || i < 3;
        cr_assert_eq(q[i] != 0.0f, kept, "entry %d kept=%d", i, q[i] != 0.0f);
    }
    // Tensor 1 (all zero) sends indices 0..3: check them on the wire (flag 1, fixed width).
    size_t pos = 1 + 1 + 4 + 16;
    cr_assert_eq(buf[pos], 4);
    cr_assert_eq(buf[pos + 1], 1);
    for (int j = 0; j < 4; j++) cr_assert_eq(buf[pos + 2 + j], j);
}

// One tensor of `count` entries, large at the given indices, keep = k/count.
static long topk_one(size_t count, const size_t *at, size_t k, uint8_t *buf, size_t cap) {
    float *x = calloc(count, sizeof *x), *q = malloc(count * sizeof *q);
    for (size_t i = 0; i < count; i++) x[i] = 1e-3f * (float)((i * 7919) % 101) / 101.0f;
    for (size_t j = 0; j < k; j++) x[at[j]] = 10.0f + (float)j;
    Span t = {0, count};
    Codec c = make("topk", (double)k / (double)count + 1e-12, 0);
    long len = c.ops->encode(&c, x, count, &t, 1, 0, buf, cap, q);
    for (size_t j = 0; j < k; j++) cr_assert_eq(q[at[j]], x[at[j]]);
    float *out = calloc(count, sizeof *out);
    Err e = {{0}};
    cr_assert_eq(c.ops->decode(&c, buf, (size_t)len, count, &t, 1, 0, 1.0f, out, &e), 0, "%s", e.msg);
    assert_same_bits(out, q, count, "topk_one");
    free(x); free(q); free(out);
    return len;
}

Test(codec, topk_picks_the_smaller_index_format) {
    uint8_t buf[1024];
    // Clustered indices in a long tensor: 1-byte deltas beat 4-byte fixed indices.
    size_t clustered[10];
    for (int j = 0; j < 10; j++) clustered[j] = 70000 + (size_t)j;
    long len = topk_one(100000, clustered, 10, buf, sizeof buf);
    cr_assert_eq(buf[1], 0, "expected varint format, flag %d", buf[1]);
    cr_assert_eq(len, 1 + 1 + (3 + 9) + 40, "varint payload %ld bytes", len);   // 70000 takes 3 varint bytes
    // Spread indices in a 60000-entry tensor: 3-byte deltas lose to 2-byte fixed indices.
    size_t spread[3] = {0, 30000, 59999};
    len = topk_one(60000, spread, 3, buf, sizeof buf);
    cr_assert_eq(buf[1], 2, "expected 2-byte fixed format, flag %d", buf[1]);
    cr_assert_eq(len, 1 + 1 + 6 + 12, "fixed payload %ld bytes", len);
    // A tensor of 200: 1-byte fixed indices (deltas of 150 would need 2 varint bytes).
    size_t small[2] = {10, 160};
    len = topk_one(200, small, 2, buf, sizeof buf);
    cr_assert_eq(buf[1], 1, "expected 1-byte fixed format, flag %d", buf[1]);
    cr_assert_eq(len, 1 + 1 + 2 + 8);
}

Test(codec, randk_indices_from_the_seed) {
    Table tb = table_get(1);
    Codec c = make("randk", 0.1, 0);
    float *x = random_vec(&tb, 5), *q = malloc(tb.n * sizeof *q), *q2 = malloc(tb.n * sizeof *q2);
    for (size_t i = 0; i < tb.n; i++) if (x[i] == 0.0f) x[i] = 1.0f;   // so kept entries show in q
    long len;
    round_trip(&c, &tb, x, 11, q, &len);
    for (int ti = 0; ti < tb.nt; ti++) {
        size_t kept = 0;
        for (size_t i = 0; i < tb.t[ti].count; i++) {
            size_t j = tb.t[ti].offset + i;
            if (q[j] != 0.0f) { kept++; cr_assert_eq(q[j], x[j]); }
        }
        cr_assert_eq(kept, expected_k(tb.t[ti].count, 0.1), "tensor %d", ti);
    }
    // Only k varints and values on the wire.
    size_t want = 0;
    for (int ti = 0; ti < tb.nt; ti++) want += 1 + 4 * expected_k(tb.t[ti].count, 0.1);
    cr_assert_eq((size_t)len, want);
    // Another seed picks other entries, and decoding with the wrong seed puts values elsewhere.
    uint8_t *buf = malloc((size_t)len);
    c.ops->encode(&c, x, tb.n, tb.t, tb.nt, 12, buf, (size_t)len, q2);
    cr_assert(memcmp(q, q2, tb.n * sizeof *q) != 0, "seeds 11 and 12 chose the same entries");
    free(x); free(q); free(q2); free(buf);
}

Test(codec, randk_is_uniform) {
    enum { COUNT = 20, K = 5, SEEDS = 4000 };
    Span t = {0, COUNT};
    Codec c = make("randk", (double)K / COUNT, 0);
    float x[COUNT], q[COUNT];
    uint8_t buf[64];
    int hits[COUNT] = {0};
    for (int i = 0; i < COUNT; i++) x[i] = 1.0f + (float)i;
    for (uint64_t s = 0; s < SEEDS; s++) {
        cr_assert_gt(c.ops->encode(&c, x, COUNT, &t, 1, s, buf, sizeof buf, q), 0);
        for (int i = 0; i < COUNT; i++) hits[i] += q[i] != 0.0f;
    }
    // Each entry is kept with probability 1/4: 1000 +- 5 sigma (sigma ~ 27).
    for (int i = 0; i < COUNT; i++) cr_assert(abs(hits[i] - SEEDS / 4) < 140, "entry %d kept %d times", i, hits[i]);
}

Test(codec, sign_is_scaled_sign) {
    for (int w = 0; w < N_TABLES; w++) {
        Table tb = table_get(w);
        Codec c = make("sign", 1.0, 0);
        float *x = random_vec(&tb, 9), *q = malloc(tb.n * sizeof *q);
        long len;
        round_trip(&c, &tb, x, 0, q, &len);
        size_t want = 0;
        for (int ti = 0; ti < tb.nt; ti++) {
            size_t count = tb.t[ti].count;
            if (!count) continue;
            want += 4 + (count + 7) / 8;
            const float *xs = x + tb.t[ti].offset, *qs = q + tb.t[ti].offset;
            double l1 = 0;
            for (size_t i = 0; i < count; i++) l1 += fabs(xs[i]);
            float sc = (float)(l1 / (double)count);
            for (size_t i = 0; i < count; i++) {
                float s = xs[i] >= 0.0f ? sc : -sc;
                cr_assert(fabsf(qs[i] - s) <= 1e-6f * sc, "%s tensor %d entry %zu: %g, expected %g", tb.name, ti, i,
                          (double)qs[i], (double)s);
            }
        }
        cr_assert_eq((size_t)len, want);
        free(x); free(q);
    }
}

// Nearest rounding: |q - x| <= (max - min)/255/2 per tensor (with float slack); constant tensors exact.
Test(codec, q8_error_bound) {
    for (int w = 0; w < N_TABLES; w++) {
        Table tb = table_get(w);
        Codec c = make("q8", 1.0, 0);
        float *x = random_vec(&tb, 21), *q = malloc(tb.n * sizeof *q);
        long len;
        round_trip(&c, &tb, x, 0, q, &len);
        for (int ti = 0; ti < tb.nt; ti++) {
            const float *xs = x + tb.t[ti].offset, *qs = q + tb.t[ti].offset;
            size_t count = tb.t[ti].count;
            float mn = INFINITY, mx = -INFINITY;
            for (size_t i = 0; i < count; i++) { mn = fminf(mn, xs[i]); mx = fmaxf(mx, xs[i]); }
            double half = (double)(mx - mn) / 255.0 / 2.0, slack = 1e-6 * fmax(fabs(mn), fabs(mx));
            for (size_t i = 0; i < count; i++)
                cr_assert(fabs((double)qs[i] - xs[i]) <= half + slack, "%s tensor %d entry %zu: |%g - %g| > %g",
                          tb.name, ti, i, (double)qs[i], (double)xs[i], half);
        }
        free(x); free(q);
    }
    float x[5] = {2.5f, 2.5f, 2.5f, 2.5f, 2.5f}, q[5];
    Span t = {0, 5};
    uint8_t buf[64];
    Codec c = make("q8", 1.0, 0);
    cr_assert_eq(c.ops->encode(&c, x, 5, &t, 1, 0, buf, sizeof buf, q), 13);
    assert_same_bits(q, x, 5, "constant tensor");
}

Test(codec, q8_stochastic_is_unbiased) {
    enum { N = 64, SEEDS = 3000 };
    Span t = {0, N};
    Codec c = make("q8", 1.0, 1);
    float x[N], q[N];
    double mean[N] = {0};
    uint8_t buf[N + 8];
    for (int i = 0; i < N; i++) x[i] = sinf((float)i * 0.7f) * 3.0f;
    float step = 0;
    for (uint64_t s = 0; s < SEEDS; s++) {
        cr_assert_eq(c.ops->encode(&c, x, N, &t, 1, s, buf, sizeof buf, q), N + 8);
        for (int i = 0; i < N; i++) mean[i] += q[i] / (double)SEEDS;
    }
    float mn = x[0], mx = x[0];
    for (int i = 0; i < N; i++) { mn = fminf(mn, x[i]); mx = fmaxf(mx, x[i]); }
    step = (mx - mn) / 255.0f;
    // A Bernoulli over one step: sd of the mean <= step/2/sqrt(SEEDS); allow 5 of them.
    double tol = 5.0 * step / 2.0 / sqrt((double)SEEDS) + 1e-6;
    int differ = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(fabs(mean[i] - x[i]) <= tol, "entry %d: mean %.7f, x %.7f (tol %.2g)", i, mean[i], (double)x[i], tol);
    }
    // And it differs from nearest rounding for some entries and seeds.
    float qn[N];
    c.stochastic = 0;
    c.ops->encode(&c, x, N, &t, 1, 0, buf, sizeof buf, qn);
    c.stochastic = 1;
    for (uint64_t s = 0; s < 8; s++) {
        c.ops->encode(&c, x, N, &t, 1, s, buf, sizeof buf, q);
        differ += memcmp(q, qn, sizeof q) != 0;
    }
    cr_assert_gt(differ, 0);
}

// q + e_after == x + e_before over many rounds: exactly where q copies entries, else within rounding.
Test(codec, error_feedback_invariant) {
    for (int ci = 0; ci < N_CONFIGS; ci++) {
        Table tb = table_get(1);
        Codec c = make(CONFIGS[ci].name, CONFIGS[ci].keep, CONFIGS[ci].stochastic);
        size_t n = tb.n, cap = c.ops->bound(&c, n, tb.nt);
        float *res = calloc(n, sizeof *res), *before = malloc(n * sizeof *before), *q = malloc(n * sizeof *q);
        float *out = malloc(n * sizeof *out);
        uint8_t *buf = malloc(cap);
        for (int round = 0; round < 40; round++) {
            float *x = random_vec(&tb, 1000 + (uint64_t)round);
            memcpy(before, res, n * sizeof *res);
            long len = codec_encode_ef(&c, x, res, n, tb.t, tb.nt, (uint64_t)round, buf, cap, q);
            cr_assert_geq(len, 0);
            for (size_t i = 0; i < n; i++) {
                float lhs = q[i] + res[i], rhs = x[i] + before[i];
                if (CONFIGS[ci].exact_ef)
                    cr_assert(lhs == rhs, "%s round %d entry %zu: %.9g != %.9g", c.ops->name, round, i, (double)lhs,
                              (double)rhs);
                else
                    cr_assert(fabsf(lhs - rhs) <= 4e-7f * fmaxf(fabsf(q[i]), fabsf(rhs)), "%s round %d entry %zu",
                              c.ops->name, round, i);
            }
            // The payload decodes to q.
            Err e = {{0}};
            memset(out, 0, n * sizeof *out);
            cr_assert_eq(c.ops->decode(&c, buf, (size_t)len, n, tb.t, tb.nt, (uint64_t)round, 1.0f, out, &e), 0);
            assert_same_bits(out, q, n, c.ops->name);
            // A failed encode (no room) leaves the residual alone; q may be NULL.
            memcpy(before, res, n * sizeof *res);
            cr_assert_eq(codec_encode_ef(&c, x, res, n, tb.t, tb.nt, 0, buf, 0, NULL), n ? -1 : 0);
            cr_assert(memcmp(before, res, n * sizeof *res) == 0, "%s: failed encode changed the residual", c.ops->name);
            free(x);
        }
        free(res); free(before); free(q); free(out); free(buf);
    }
}

Test(codec, lenet_topk_bytes) {
    Table tb = table_get(2);
    cr_assert_eq(tb.n, 61706);
    Codec c = make("topk", 0.001, 0);
    float *x = random_vec(&tb, 3), *q = malloc(tb.n * sizeof *q);
    long len;
    round_trip(&c, &tb, x, 0, q, &len);
    check_topk(&tb, x, q, 0.001);
    size_t K = 0;
    for (int ti = 0; ti < tb.nt; ti++) K += expected_k(tb.t[ti].count, 0.001);
    cr_assert_eq(K, 67);
    size_t dense = 4 * tb.n;
    // Values 4 bytes each; indices 1-2 bytes; k and flag 2 bytes per tensor.
    cr_assert(len >= (long)(4 * K + K + 2 * tb.nt) && len <= (long)(4 * K + 2 * K + 2 * tb.nt), "topk %ld bytes", len);
    fprintf(stderr, "lenet5 top-k keep 0.001: K = %zu kept, payload %ld bytes, dense %zu bytes, ratio %.1fx "
            "(paper counter 6K+3 = %zu bytes, %.1fx vs 4(d+1))\n", K, len, dense, (double)dense / (double)len,
            6 * K + 3, (double)(4 * (tb.n + 1)) / (double)(6 * K + 3));
    free(x); free(q);
}

Test(codec, bound_is_an_upper_bound) {
    // Worst cases: long varint indices (k = count, all deltas 1 are cheap, so use spread ones), all tensors.
    double keeps[] = {0.001, 0.3, 1.0};
    for (int w = 0; w < N_TABLES; w++)
        for (int ci = 0; ci < 6; ci++)
            for (int ki = 0; ki < 3; ki++) {
                Table tb = table_get(w);
                const char *names[] = {"dense", "topk", "randk", "sign", "q8", "topk8"};
                Codec c = make(names[ci], keeps[ki], 0);
                float *x = random_vec(&tb, 77);
                size_t cap = c.ops->bound(&c, tb.n, tb.nt);
                uint8_t *buf = malloc(cap);
                long len = c.ops->encode(&c, x, tb.n, tb.t, tb.nt, 1, buf, cap, NULL);
                cr_assert(len >= 0 && (size_t)len <= cap, "%s keep %g on %s: %ld > bound %zu", names[ci], keeps[ki],
                          tb.name, len, cap);
                free(x); free(buf);
            }
}

// Every prefix of a valid payload, and the payload plus one byte: -1 with a message, out untouched.
Test(codec, malformed_truncated_payloads) {
    for (int ci = 0; ci < N_CONFIGS; ci++)
        for (int w = 0; w < 2; w++) {
            Table tb = table_get(w);
            Codec c = make(CONFIGS[ci].name, CONFIGS[ci].keep, CONFIGS[ci].stochastic);
            float *x = random_vec(&tb, 8), *out = random_vec(&tb, 9), *snap = malloc(tb.n * sizeof *snap);
            memcpy(snap, out, tb.n * sizeof *snap);
            size_t cap = c.ops->bound(&c, tb.n, tb.nt);
            uint8_t *buf = malloc(cap + 1);
            long len = c.ops->encode(&c, x, tb.n, tb.t, tb.nt, 3, buf, cap, NULL);
            cr_assert_gt(len, 0);
            buf[len] = 0;
            for (size_t cut = 0; cut <= (size_t)len + 1; cut++) {
                if (cut == (size_t)len) continue;
                Err e = {{0}};
                // A fresh copy of exactly `cut` bytes, so ASan sees any read past the end.
                uint8_t *p = malloc(cut ? cut : 1);
                memcpy(p, buf, cut);
                int rc = c.ops->decode(&c, p, cut, tb.n, tb.t, tb.nt, 3, 1.0f, out, &e);
                cr_assert_eq(rc, -1, "%s on %s: %zu of %ld bytes accepted", c.ops->name, tb.name, cut, len);
                cr_assert(e.msg[0], "%s: no message", c.ops->name);
                cr_assert(memcmp(out, snap, tb.n * sizeof *out) == 0, "%s: out changed by a bad payload", c.ops->name);
                free(p);
            }
            free(x); free(out); free(snap); free(buf);
        }
}

typedef struct { uint8_t b[256]; size_t n; } Bytes;
static void b_varint(Bytes *p, uint64_t v) {
    while (v >= 0x80) { p->b[p->n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p->b[p->n++] = (uint8_t)v;
}
static void b_byte(Bytes *p, int v) { p->b[p->n++] = (uint8_t)v; }
static void b_f32s(Bytes *p, int count) {
    for (int i = 0; i < count; i++) { float f = 1.5f; memcpy(p->b + p->n, &f, 4); p->n += 4; }
}

static void expect_reject(const Codec *c, const Bytes *p, const char *what, const char *word) {
    Span t[2] = {{0, 100}, {100, 50}};
    float out[150], snap[150];
    for (int i = 0; i < 150; i++) out[i] = snap[i] = (float)i;
    Err e = {{0}};
    uint8_t *copy = malloc(p->n ? p->n : 1);
    memcpy(copy, p->b, p->n);
    cr_assert_eq(c->ops->decode(c, copy, p->n, 150, t, 2, 0, 1.0f, out, &e), -1, "%s: %s accepted", c->ops->name, what);
    cr_assert(strstr(e.msg, word), "%s: %s: message '%s' lacks '%s'", c->ops->name, what, e.msg, word);
    cr_assert(memcmp(out, snap, sizeof out) == 0, "%s: %s changed out", c->ops->name, what);
    free(copy);
}

// A valid first tensor (k 1, 1-byte index 5), so failures in the second one test validate-before-apply.
static Bytes topk_first(void) {
    Bytes p = {{0}, 0};
    b_varint(&p, 1); b_byte(&p, 1); b_byte(&p, 5); b_f32s(&p, 1);
    return p;
}

Test(codec, malformed_topk_crafted) {
    const Codec *c = codec_for_id(CODEC_TOPK);
    Bytes p = topk_first();
    b_varint(&p, 1ull << 60);
    expect_reject(c, &p, "huge k", "k = ");
    p = topk_first(); b_varint(&p, 51);
    expect_reject(c, &p, "k > count", "50 entries");
    p = topk_first(); b_varint(&p, 2); b_byte(&p, 3);
    expect_reject(c, &p, "unknown index format", "format");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_byte(&p, 1); b_byte(&p, 100); b_f32s(&p, 1);
    expect_reject(c, &p, "fixed index out of range", "out of range");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_byte(&p, 2); b_byte(&p, 0); b_byte(&p, 1); b_f32s(&p, 1);
    expect_reject(c, &p, "2-byte index 256 out of range", "out of range");
    p = (Bytes){{0}, 0}; b_varint(&p, 2); b_byte(&p, 1); b_byte(&p, 5); b_byte(&p, 5); b_f32s(&p, 2);
    expect_reject(c, &p, "repeated fixed index", "must increase");
    p = (Bytes){{0}, 0}; b_varint(&p, 2); b_byte(&p, 1); b_byte(&p, 5); b_byte(&p, 3); b_f32s(&p, 2);
    expect_reject(c, &p, "decreasing fixed index", "must increase");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_byte(&p, 0); b_varint(&p, 100); b_f32s(&p, 1);
    expect_reject(c, &p, "varint index out of range", "past the tensor");
    p = (Bytes){{0}, 0}; b_varint(&p, 2); b_byte(&p, 0); b_varint(&p, 3); b_varint(&p, 0); b_f32s(&p, 2);
    expect_reject(c, &p, "zero delta", "is 0");
    p = (Bytes){{0}, 0}; b_varint(&p, 2); b_byte(&p, 0); b_varint(&p, 60); b_varint(&p, 40); b_f32s(&p, 2);
    expect_reject(c, &p, "delta past the end", "past the tensor");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_byte(&p, 0);
    for (int i = 0; i < 11; i++) b_byte(&p, 0xff);
    expect_reject(c, &p, "overlong varint", "truncated");
    p = (Bytes){{0}, 0};
    for (int i = 0; i < 11; i++) b_byte(&p, 0x80);
    expect_reject(c, &p, "overlong k", "malformed");
    p = topk_first(); b_varint(&p, 2); b_byte(&p, 1); b_byte(&p, 1); b_byte(&p, 2); b_f32s(&p, 1);
    expect_reject(c, &p, "missing values", "values need");
    p = topk_first(); b_varint(&p, 0); b_byte(&p, 0);
    expect_reject(c, &p, "trailing byte", "end at byte");
    // And the valid versions are accepted.
    p = topk_first(); b_varint(&p, 2); b_byte(&p, 0); b_varint(&p, 3); b_varint(&p, 46); b_f32s(&p, 2);
    Span t[2] = {{0, 100}, {100, 50}};
    float out[150] = {0};
    Err e = {{0}};
    cr_assert_eq(c->ops->decode(c, p.b, p.n, 150, t, 2, 0, 2.0f, out, &e), 0, "%s", e.msg);
    cr_assert(out[5] == 3.0f && out[103] == 3.0f && out[149] == 3.0f && out[0] == 0.0f);
}

Test(codec, malformed_randk_sign_q8_crafted) {
    const Codec *r = codec_for_id(CODEC_RANDK);
    Bytes p = {{0}, 0};
    b_varint(&p, 1ull << 62);
    expect_reject(r, &p, "huge k", "k = ");
    p = (Bytes){{0}, 0}; b_varint(&p, 101);
    expect_reject(r, &p, "k > count", "100 entries");
    p = (Bytes){{0}, 0}; b_varint(&p, 3); b_f32s(&p, 2);
    expect_reject(r, &p, "missing values", "values need");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_f32s(&p, 1); b_varint(&p, 1); b_f32s(&p, 1); b_byte(&p, 7);
    expect_reject(r, &p, "trailing byte", "end at byte");
    p = (Bytes){{0}, 0}; b_varint(&p, 1); b_f32s(&p, 1); b_varint(&p, 2);
    expect_reject(r, &p, "second tensor short", "values need");
    p = (Bytes){{0}, 0}; b_f32s(&p, 1);
    expect_reject(codec_for_id(CODEC_SIGN), &p, "short sign payload", "expected");
    expect_reject(codec_for_id(CODEC_Q8), &p, "short q8 payload", "expected");
    expect_reject(codec_for_id(CODEC_DENSE), &p, "short dense payload", "expected");
}

// Random bytes of random lengths into every decoder: never a crash; on -1, out untouched.
Test(codec, garbage_payloads) {
    Table tb = table_get(1);
    Rng g;
    rng_seed(&g, 99);
    float *out = calloc(tb.n, sizeof *out), *snap = malloc(tb.n * sizeof *snap);
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = rng_below(&g, 4) == 0 ? rng_below(&g, 5000) : rng_below(&g, 64);
        uint8_t *buf = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rng_below(&g, 256);
        if (len && rng_below(&g, 2)) buf[0] = (uint8_t)rng_below(&g, 4);   // small k: get further in
        const Codec *c = codec_for_id((CodecId)rng_below(&g, 6));
        memcpy(snap, out, tb.n * sizeof *out);
        Err e = {{0}};
        if (c->ops->decode(c, buf, len, tb.n, tb.t, tb.nt, (uint64_t)iter, 1e-3f, out, &e) != 0) {
            cr_assert(e.msg[0]);
            cr_assert(memcmp(out, snap, tb.n * sizeof *out) == 0, "%s changed out on bad input", c->ops->name);
        }
        free(buf);
    }
    free(out); free(snap);
}

// Non-finite inputs must not crash any codec, and what is decoded is still q.
Test(codec, non_finite_inputs) {
    Table tb = table_get(1);
    for (int ci = 0; ci < N_CONFIGS; ci++) {
        Codec c = make(CONFIGS[ci].name, CONFIGS[ci].keep, CONFIGS[ci].stochastic);
        float *x = random_vec(&tb, 4), *q = malloc(tb.n * sizeof *q);
        x[3] = NAN; x[10] = INFINITY; x[400] = -INFINITY; x[999] = NAN;
        size_t cap = c.ops->bound(&c, tb.n, tb.nt);
        uint8_t *buf = malloc(cap);
        long len = c.ops->encode(&c, x, tb.n, tb.t, tb.nt, 1, buf, cap, q);
        cr_assert_geq(len, 0);
        float *out = calloc(tb.n, sizeof *out);
        Err e = {{0}};
        cr_assert_eq(c.ops->decode(&c, buf, (size_t)len, tb.n, tb.t, tb.nt, 1, 1.0f, out, &e), 0);
        assert_same_bits(out, q, tb.n, c.ops->name);
        free(x); free(q); free(buf); free(out);
    }
}

// Bad tensor tables (outside the vector) are refused by encode and decode alike.
Test(codec, bad_tables) {
    Span t[2] = {{0, 10}, {10, 11}};
    float x[20] = {0}, q[20];
    uint8_t buf[1024];
    for (int ci = 1; ci < 6; ci++) {
        const Codec *c = codec_for_id((CodecId)ci);
        cr_assert_eq(c->ops->encode(c, x, 20, t, 2, 0, buf, sizeof buf, q), -1, "%s", c->ops->name);
        Err e = {{0}};
        cr_assert_eq(c->ops->decode(c, buf, 8, 20, t, 2, 0, 1.0f, x, &e), -1, "%s", c->ops->name);
        cr_assert(strstr(e.msg, "outside"), "%s: %s", c->ops->name, e.msg);
    }
}

// Reference top-k by sorting (|x| descending, then index ascending) on data with many ties.
static const float *g_ref_x;
static int by_mag_then_index(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    float ai = fabsf(g_ref_x[i]), aj = fabsf(g_ref_x[j]);
    if (ai != aj) return ai > aj ? -1 : 1;
    return i < j ? -1 : i > j;
}

Test(codec, topk_matches_a_sorting_reference) {
    Rng g;
    rng_seed(&g, 17);
    size_t counts[] = {1, 2, 17, 100, 1000, 5000};
    double keeps[] = {0.001, 0.05, 0.3, 0.5, 0.9};
    for (int ci = 0; ci < 6; ci++)
        for (int kind = 0; kind < 3; kind++) {
            size_t n = counts[ci];
            float *x = malloc(n * sizeof *x), *q = malloc(n * sizeof *q);
            size_t *order = malloc(n * sizeof *order);
            // kind 0: normals; 1: small integers (heavy ties); 2: all +-1 except a few.
            for (size_t i = 0; i < n; i++)
                x[i] = kind == 0   ? (float)rng_normal(&g)
                       : kind == 1 ? (float)((int)rng_below(&g, 7) - 3)
                                   : (rng_below(&g, 2) ? 1.0f : -1.0f) * (rng_below(&g, 50) ? 1.0f : 2.0f);
            Span t = {0, n};
            uint8_t *buf = malloc(16 * n + 16);
            for (int ki = 0; ki < 5; ki++) {
                Codec c = make("topk", keeps[ki], 0);
                cr_assert_gt(c.ops->encode(&c, x, n, &t, 1, 0, buf, 16 * n + 16, q), 0);
                for (size_t i = 0; i < n; i++) order[i] = i;
                g_ref_x = x;
                qsort(order, n, sizeof *order, by_mag_then_index);
                size_t k = expected_k(n, keeps[ki]);
                char *in = calloc(n, 1);
                for (size_t j = 0; j < k; j++) in[order[j]] = 1;
                for (size_t i = 0; i < n; i++) {
                    float want = in[i] ? x[i] : 0.0f;
                    cr_assert(memcmp(&q[i], &want, 4) == 0 || (want == 0.0f && q[i] == 0.0f),
                              "n %zu kind %d keep %g: entry %zu is %g, expected %g", n, kind, keeps[ki], i,
                              (double)q[i], (double)want);
                    // A kept zero is indistinguishable in q; make sure kept status agrees on nonzeros.
                    if (x[i] != 0.0f) cr_assert_eq(q[i] != 0.0f, in[i], "entry %zu kept status", i);
                }
                free(in);
            }
            free(x); free(q); free(order); free(buf);
        }
}
