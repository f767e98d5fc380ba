// 8-bit asymmetric min-max quantization per tensor (the scheme of the low-precision decentralized
// training paper): 255 steps between the tensor's min and max, rounded to nearest or stochastically.
#include "codec.h"
#include "bytes.h"
#include "rng.h"
#include <float.h>
#include <math.h>
#include <string.h>

// Payload, for each non-empty tensor in table order: min and max as fp32 LE, then count level bytes;
// entry = min + level * ((max - min) / 255). Empty tensors take no bytes; the length is fixed by the table.
// NaN entries are left out of min/max and sent as level 0; a range too wide for fp32 (max - min = inf)
// sends every entry as min.

static size_t q8_size(const Span *t, int nt) {
    size_t s = 0;
    for (int i = 0; i < nt; i++)
        if (t[i].count) s += 8 + t[i].count;
    return s;
}


// (v - mn) / step clamped to [0, 255]; NaN (an entry or an infinite range) becomes 0.
static inline float q8_pos(float v, float mn, float step) {
    float r = (v - mn) / step;
    return r >= 0.0f ? (r <= 255.0f ? r : 255.0f) : 0.0f;
}

// Min and max over 16 lanes (x < m ? x : m maps to a vector min and skips NaN entries); 0, 0 when
// every entry is NaN.
static void min_max(const float *x, size_t count, float *mn_out, float *mx_out) {
    float lo[16], hi[16];
    for (int j = 0; j < 16; j++) { lo[j] = INFINITY; hi[j] = -INFINITY; }
    size_t i = 0;
    for (; i + 16 <= count; i += 16)
        for (int j = 0; j < 16; j++) {
            lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
            hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
        }
    for (; i < count; i++) {
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
    }
    float mn = lo[0], mx = hi[0];
    for (int j = 1; j < 16; j++) {
        mn = lo[j] < mn ? lo[j] : mn;
        mx = hi[j] > mx ? hi[j] : mx;
    }
    if (mn > mx) mn = mx = 0.0f;
    *mn_out = mn;
    *mx_out = mx;
}

static void q8_tensor(const float *x, size_t count, int stochastic, Rng *g, uint8_t *p, float *q) {
    float mn, mx;
    min_max(x, count, &mn, &mx);
    float step = codec_level_step(mn, mx);
    put_f32(p, mn);
    put_f32(p + 4, mx);
    uint8_t *lv = p + 8;
    if (step > 0.0f && !stochastic) {
        for (size_t i = 0; i < count; i++) lv[i] = (uint8_t)(q8_pos(x[i], mn, step) + 0.5f);
    } else if (step > 0.0f) {
        uint64_t bits = 0;
        for (size_t i = 0; i < count; i++) {
            // 24 random bits per entry, two entries per draw: u is exact in fp32 and strictly below 1.
            if (!(i & 1)) bits = rng_u64(g);
            float u = (float)((bits >> (i & 1 ? 16 : 40)) & 0xffffffu) * 0x1p-24f;
            float l = floorf(q8_pos(x[i], mn, step) + u);
            lv[i] = (uint8_t)(l < 255.0f ? l : 255.0f);
        }
    } else {
        memset(lv, 0, count);
    }
    if (q)
        for (size_t i = 0; i < count; i++) q[i] = codec_level_value(mn, step, lv[i]);
}

static long q8_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                      uint8_t *buf, size_t cap, float *q) {
    if (codec_spans_check("q8", t, nt, n, NULL) != 0) return -1;
    size_t total = q8_size(t, nt);
    if (total > cap) return -1;
    if (q) memset(q, 0, n * sizeof *q);
    uint8_t *p = buf;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        if (!count) continue;
        Rng g = rng_derive(seed, ((uint64_t)CODEC_Q8 << 32) | (uint32_t)ti);
        q8_tensor(x + t[ti].offset, count, c->stochastic, &g, p, q ? q + t[ti].offset : NULL);
        p += 8 + count;
    }
    return (long)total;
}

static int q8_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                     uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)seed;
    if (codec_spans_check("q8", t, nt, n, e) != 0) return -1;
    size_t want = q8_size(t, nt);
    if (len != want) {
        err_set(e, "q8 payload: %zu bytes, expected %zu for %d tensors (8-byte range + 1 byte per entry each)", len,
                want, nt);
        return -1;
    }
    const uint8_t *p = buf;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        if (!count) continue;
        float mn = get_f32(p), step = codec_level_step(mn, get_f32(p + 4));
        const uint8_t *lv = p + 8;
        float *os = out + t[ti].offset;
        for (size_t i = 0; i < count; i++) os[i] += scale * codec_level_value(mn, step, lv[i]);
        p += 8 + count;
    }
    return 0;
}

static size_t q8_bound(const Codec *c, size_t n, int nt) {
    (void)c;
    return (nt > 0 ? (size_t)nt : 0) * 8 + n;
}

const CodecOps codec_q8_ops = {CODEC_Q8, "q8", q8_encode, q8_decode, q8_bound};
