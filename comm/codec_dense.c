// The dense codec: every entry as fp32 little-endian, 4n bytes, lossless. It is the baseline every
// compression ratio is measured against, and the "no compression" setting of the algorithms.
#include "codec.h"
#include "bytes.h"
#include <string.h>

static long dense_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                         uint8_t *buf, size_t cap, float *q) {
    (void)c; (void)t; (void)nt; (void)seed;
    if (n > cap / 4) return -1;
    for (size_t i = 0; i < n; i++) put_f32(buf + 4 * i, x[i]);
    if (q) memcpy(q, x, n * sizeof *q);
    return (long)(4 * n);
}

static int dense_check(const uint8_t *buf, size_t len, size_t n, Err *e) {
    (void)buf;
    if (n > len / 4 || len != 4 * n) {
        err_set(e, "dense payload: %zu bytes, expected %zu (4 bytes for each of %zu entries)", len,
                n <= (size_t)-1 / 4 ? 4 * n : (size_t)-1, n);
        return -1;
    }
    return 0;
}

static int dense_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                        uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)t; (void)nt; (void)seed;
    if (dense_check(buf, len, n, e)) return -1;
    for (size_t i = 0; i < n; i++) out[i] += scale * get_f32(buf + 4 * i);
    return 0;
}

int codec_dense_mix(const uint8_t *buf, size_t len, size_t n, float keep, float scale, float *x, float inv, float *z,
                    Err *e) {
    if (dense_check(buf, len, n, e)) return -1;
    if (!z) {
        for (size_t i = 0; i < n; i++) x[i] = keep * x[i] + scale * get_f32(buf + 4 * i);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        float v = keep * x[i] + scale * get_f32(buf + 4 * i);
        x[i] = v;
        z[i] = v * inv;
    }
    return 0;
}

const uint8_t *codec_dense_view(const Codec *c, const float *x, size_t n) {
    (void)n;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    _Static_assert(sizeof(float) == 4, "fp32 floats");
    if (c->ops->id == CODEC_DENSE) return (const uint8_t *)x;
#endif
    (void)c; (void)x;
    return NULL;
}

static size_t dense_bound(const Codec *c, size_t n, int nt) {
    (void)c; (void)nt;
    return 4 * n;
}

const CodecOps codec_dense_ops = {CODEC_DENSE, "dense", dense_encode, dense_decode, dense_bound};
