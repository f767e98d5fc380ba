// The dense codec: every entry as fp32 little-endian, 4n bytes, lossless. It is the baseline every
// compression ratio is measured against, and the "no compression" setting of the algorithms.
#include "codec.h"
#include <string.h>

// Byte shifts rather than memcpy so the format is little-endian on any host; GCC and clang turn
// these into single 32-bit loads and stores on little-endian machines.
static inline void put_f32(uint8_t *p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    p[0] = (uint8_t)u; p[1] = (uint8_t)(u >> 8); p[2] = (uint8_t)(u >> 16); p[3] = (uint8_t)(u >> 24);
}
static inline float get_f32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static long dense_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                         uint8_t *buf, size_t cap, float *q) {
    (void)c; (void)t; (void)nt; (void)seed;
    if (n > cap / 4) return -1;
    for (size_t i = 0; i < n; i++) put_f32(buf + 4 * i, x[i]);
    if (q) memcpy(q, x, n * sizeof *q);
    return (long)(4 * n);
}

static int dense_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                        uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)t; (void)nt; (void)seed;
    if (n > len / 4 || len != 4 * n) {
        err_set(e, "dense payload: %zu bytes, expected %zu (4 bytes for each of %zu entries)", len,
                n <= (size_t)-1 / 4 ? 4 * n : (size_t)-1, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) out[i] += scale * get_f32(buf + 4 * i);
    return 0;
}

static size_t dense_bound(const Codec *c, size_t n, int nt) {
    (void)c; (void)nt;
    return 4 * n;
}

const CodecOps codec_dense_ops = {CODEC_DENSE, "dense", dense_encode, dense_decode, dense_bound};
