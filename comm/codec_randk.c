// Per-tensor random-k: k = max(1, floor(count*keep)) entries chosen uniformly without replacement by a
// generator both sides derive from the shared seed and the tensor index, so only k and the values travel.
#include "codec.h"
#include "bytes.h"
#include "rng.h"
#include <stdlib.h>
#include <string.h>

// Payload, for each tensor in table order: varint k, then the k chosen values as fp32 LE in ascending
// index order. The values are sent as they are, not scaled by count/k: random-k is biased (E[q] = x*k/count),
// which is what error feedback and CHOCO-style algorithms want. A caller that wants the unbiased variant
// can pass scale = count/k to decode (per tensor); the codec has no switch for it, so q is always unscaled.

static size_t keep_count(size_t count, double keep) {
    if (count == 0) return 0;
    double k = (double)count * keep;
    return !(k >= 1.0) ? 1 : k >= (double)count ? count : (size_t)k;
}

// Tensors must lie inside the vector, and be short enough for rng_below's 32-bit range.

// Floyd's algorithm: a uniform k-subset of [0, count) in k draws, marked in bits (count bits). The stream
// mixes in the codec id so the same seed used by another purpose draws different numbers.
static void randk_choose(uint64_t seed, int ti, size_t count, size_t k, uint64_t *bits) {
    memset(bits, 0, (count + 63) / 64 * sizeof *bits);
    Rng g = rng_derive(seed, ((uint64_t)CODEC_RANDK << 32) | (uint32_t)ti);
    for (size_t j = count - k; j < count; j++) {
        size_t r = rng_below(&g, (uint32_t)(j + 1));
        if (bits[r >> 6] >> (r & 63) & 1) r = j;
        bits[r >> 6] |= 1ull << (r & 63);
    }
}

// Run body for each chosen index i in ascending order, j counting them from 0 (the value slot on the wire).
#define FOR_EACH_CHOSEN(bits, count, i, j, body)                                \
    for (size_t w_ = 0, j = 0; w_ < ((count) + 63) / 64; w_++)                  \
        for (uint64_t m_ = (bits)[w_]; m_; m_ &= m_ - 1, j++) {                 \
            size_t i = w_ * 64 + (size_t)__builtin_ctzll(m_);                   \
            body;                                                               \
        }

static size_t max_count(const Span *t, int nt) {
    size_t m = 0;
    for (int i = 0; i < nt; i++)
        if (t[i].count > m) m = t[i].count;
    return m;
}

static long randk_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                         uint8_t *buf, size_t cap, float *q) {
    if (codec_spans_check("randk", t, nt, n, NULL) != 0) return -1;
    size_t total = 0;
    for (int i = 0; i < nt; i++) {
        size_t k = keep_count(t[i].count, c->keep);
        total += varint_size(k) + 4 * k;
    }
    if (total > cap) return -1;
    uint64_t *bits = xmalloc((max_count(t, nt) + 63) / 64 * sizeof *bits);
    if (q) memset(q, 0, n * sizeof *q);
    size_t pos = 0;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count, k = keep_count(count, c->keep);
        const float *xs = x + t[ti].offset;
        pos += put_varint(buf + pos, k);
        if (k == 0) continue;
        randk_choose(seed, ti, count, k, bits);
        FOR_EACH_CHOSEN(bits, count, i, j, put_f32(buf + pos + 4 * j, xs[i]));
        if (q) {
            float *qs = q + t[ti].offset;
            FOR_EACH_CHOSEN(bits, count, i, j, (void)j; qs[i] = xs[i]);
        }
        pos += 4 * k;
    }
    free(bits);
    return (long)pos;
}

// Check every k against its tensor and the payload length (nothing is written).
static int randk_check(const uint8_t *buf, size_t len, const Span *t, int nt, Err *e) {
    size_t pos = 0;
    for (int ti = 0; ti < nt; ti++) {
        uint64_t k;
        if (get_varint(buf, len, &pos, &k) != 0) {
            err_set(e, "randk payload: tensor %d: k missing or malformed at byte %zu of %zu", ti, pos, len);
            return -1;
        }
        if (k > t[ti].count) {
            err_set(e, "randk payload: tensor %d: k = %llu but the tensor has %zu entries", ti,
                    (unsigned long long)k, t[ti].count);
            return -1;
        }
        if (k > (len - pos) / 4) {
            err_set(e, "randk payload: tensor %d: %llu values need %llu bytes, %zu left", ti, (unsigned long long)k,
                    (unsigned long long)k * 4, len - pos);
            return -1;
        }
        pos += 4 * (size_t)k;
    }
    if (pos != len) {
        err_set(e, "randk payload: %zu bytes, but the %d tensors end at byte %zu", len, nt, pos);
        return -1;
    }
    return 0;
}

static int randk_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                        uint64_t seed, float scale, float *out, Err *e) {
    (void)c;
    if (codec_spans_check("randk", t, nt, n, e) != 0 || randk_check(buf, len, t, nt, e) != 0) return -1;
    uint64_t *bits = xmalloc((max_count(t, nt) + 63) / 64 * sizeof *bits);
    size_t pos = 0;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        uint64_t k = 0;
        get_varint(buf, len, &pos, &k);
        if (k == 0) continue;
        randk_choose(seed, ti, count, (size_t)k, bits);
        float *os = out + t[ti].offset;
        const uint8_t *vb = buf + pos;
        FOR_EACH_CHOSEN(bits, count, i, j, os[i] += scale * get_f32(vb + 4 * j));
        pos += 4 * (size_t)k;
    }
    free(bits);
    return 0;
}

// Per tensor at most a 10-byte k; at most n*keep + 2 per tensor values in all (as for top-k).
static size_t randk_bound(const Codec *c, size_t n, int nt) {
    size_t ntz = nt > 0 ? (size_t)nt : 0;
    double kk = c->keep * (double)n;
    size_t ksum = kk >= (double)n ? n : (size_t)kk + 2 * ntz;
    if (ksum > n) ksum = n;
    return ntz * 10 + ksum * 4;
}

const CodecOps codec_randk_ops = {CODEC_RANDK, "randk", randk_encode, randk_decode, randk_bound};
