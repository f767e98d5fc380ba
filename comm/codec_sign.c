// Scaled sign per tensor (signSGD / CHOCO's "sign" compressor): q = (||v||_1 / count) * sign(v), sent as
// one fp32 scale and one bit per entry, about 32x smaller than dense.
#include "codec.h"
#include "bytes.h"
#include <math.h>
#include <string.h>

// Payload, for each non-empty tensor in table order: the scale as fp32 LE, then ceil(count/8) bytes of
// bits, entry i in bit i%8 of byte i/8, set when the entry is >= 0 (so -0 and +0 decode to +scale and
// NaN to -scale). Empty tensors take no bytes. The length is fixed by the table alone.

static size_t sign_size(const Span *t, int nt) {
    size_t s = 0;
    for (int i = 0; i < nt; i++)
        if (t[i].count) s += 4 + (t[i].count + 7) / 8;
    return s;
}

// ||x||_1 / count: 16 float lanes per block of 2048 (vectorizable without -ffast-math), each block
// added into a double, so long tensors keep their precision.
static float l1_mean(const float *x, size_t count) {
    double total = 0.0;
    size_t i = 0;
    while (i + 16 <= count) {
        float acc[16] = {0};
        size_t end = i + 2048 < count ? i + 2048 : count;
        for (; i + 16 <= end; i += 16)
            for (int j = 0; j < 16; j++) acc[j] += fabsf(x[i + j]);
        for (int j = 0; j < 16; j++) total += acc[j];
    }
    for (; i < count; i++) total += fabsf(x[i]);
    return (float)(total / (double)count);
}

static long sign_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                        uint8_t *buf, size_t cap, float *q) {
    (void)c; (void)seed;
    if (codec_spans_check("sign", t, nt, n, NULL) != 0) return -1;
    size_t total = sign_size(t, nt);
    if (total > cap) return -1;
    if (q) memset(q, 0, n * sizeof *q);
    uint8_t *p = buf;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        if (!count) continue;
        const float *xs = x + t[ti].offset;
        float sc = l1_mean(xs, count);
        put_f32(p, sc);
        p += 4;
        for (size_t b = 0; b < (count + 7) / 8; b++) {
            size_t end = 8 * b + 8 < count ? 8 * b + 8 : count;
            uint8_t byte = 0;
            for (size_t i = 8 * b; i < end; i++) byte |= (uint8_t)((xs[i] >= 0.0f) << (i - 8 * b));
            p[b] = byte;
        }
        p += (count + 7) / 8;
        if (q) {
            float *qs = q + t[ti].offset;
            for (size_t i = 0; i < count; i++) qs[i] = xs[i] >= 0.0f ? sc : -sc;
        }
    }
    return (long)total;
}

static int sign_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                       uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)seed;
    if (codec_spans_check("sign", t, nt, n, e) != 0) return -1;
    size_t want = sign_size(t, nt);
    if (len != want) {
        err_set(e, "sign payload: %zu bytes, expected %zu for %d tensors (4-byte scale + 1 bit per entry each)",
                len, want, nt);
        return -1;
    }
    const uint8_t *p = buf;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        if (!count) continue;
        float sc = get_f32(p), pos = scale * sc, neg = scale * -sc;
        p += 4;
        float *os = out + t[ti].offset;
        size_t full = count / 8;
        for (size_t b = 0; b < full; b++)
            for (int j = 0; j < 8; j++) os[8 * b + j] += (p[b] >> j) & 1 ? pos : neg;
        for (size_t i = 8 * full; i < count; i++) os[i] += (p[i >> 3] >> (i & 7)) & 1 ? pos : neg;
        p += (count + 7) / 8;
    }
    return 0;
}

// 4 bytes and one padding byte per tensor beyond the n/8 bytes of bits.
static size_t sign_bound(const Codec *c, size_t n, int nt) {
    (void)c;
    size_t ntz = nt > 0 ? (size_t)nt : 0;
    return ntz * 5 + (n + 7) / 8;
}

const CodecOps codec_sign_ops = {CODEC_SIGN, "sign", sign_encode, sign_decode, sign_bound};
