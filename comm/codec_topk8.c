// Per-tensor top-k with 8-bit values and entropy-coded indices: the k = max(1, floor(count*keep))
// largest-magnitude entries (the top-k codec's selection), their values on 256 min-max levels of the
// tensor's kept values (nearest rounding), and their sorted indices as Golomb-Rice coded gaps.
#include "codec.h"
#include "bytes.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

// Payload, for each tensor in table order:
//   varint k;  and when k > 0:  min and max of the kept values as fp32 LE;  the k index gaps as one
//   Rice bit stream (LSB first, zero-padded to a byte): gap_0 = idx_0, gap_j = idx_j - idx_{j-1} - 1,
//   each as (gap >> b) one-bits, a zero-bit, then the low b bits of gap;  then k level bytes, value =
//   min + level * ((max - min) / 255).
// b is not sent: both sides derive it from k and the tensor's count (rice_param), so a gap costs about
// log2(count/k) + 1.5 bits, within a few percent of the entropy of a random k-subset for densities
// of 0.1% to 10%. Why min-max levels rather than FP8 e4m3: top-k keeps only large magnitudes, which
// lie in a narrow band of exponents; 256 even steps there lose about 10x less than e4m3's 3 mantissa
// bits (tests/test_codec_topk8.c measures both). Why per tensor: biases and weights differ by orders
// of magnitude, and 8 bytes per tensor is under 1% of a 1% top-k message of LeNet-5 or ResNet-20.

// Rice parameter for geometric gaps of density p = k/count: 1 + floor(log2(ln(phi - 1) / ln(1 - p)))
// (Kiely's rule; 0 when the log is negative), with -1/ln(1 - p) ~ mean gap + 1/2 and ln(1/(phi - 1))/2
// ~ 77/320: b = 9, 6, 3 at 0.1%, 1%, 10%. Integer arithmetic, so encoder and decoder agree everywhere.
static int rice_param(size_t count, size_t k) {
    uint64_t t = ((uint64_t)(count - k) * 2 + k) * 77 / (320 * (uint64_t)k);
    if (!t) return 0;
    int b = 1;
    while (t >> b) b++;
    return b;
}


typedef struct { uint8_t *p; size_t pos; uint64_t acc; int nacc; } BitW;

static void bits_put(BitW *w, uint64_t v, int nbits) {   // nbits <= 32
    w->acc |= v << w->nacc;
    w->nacc += nbits;
    while (w->nacc >= 8) { w->p[w->pos++] = (uint8_t)w->acc; w->acc >>= 8; w->nacc -= 8; }
}
static void bits_flush(BitW *w) {
    if (w->nacc > 0) w->p[w->pos++] = (uint8_t)w->acc;
    w->acc = 0;
    w->nacc = 0;
}

static uint64_t gap_at(const size_t *idx, size_t j) { return j ? idx[j] - idx[j - 1] - 1 : idx[0]; }

// Min and max of the kept values, NaN left out (0, 0 when all are NaN).
static void kept_range(const float *x, const size_t *idx, size_t k, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    int any = 0;
    for (size_t j = 0; j < k; j++) {
        float v = x[idx[j]];
        if (v != v) continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        any = 1;
    }
    *mn = any ? lo : 0.0f;
    *mx = any ? hi : 0.0f;
}

// Encode one tensor into buf[0..cap); bytes written, or -1 if it does not fit.
static long topk8_tensor(const float *x, size_t count, size_t k, uint32_t *cand, size_t *idx, uint8_t *buf,
                         size_t cap, float *q) {
    size_t head = varint_size(k);
    if (k == 0) {
        if (cap < head) return -1;
        return (long)put_varint(buf, 0);
    }
    codec_topk_pick(x, count, k, cand, idx);
    int b = rice_param(count, k);
    uint64_t bits = (uint64_t)k * (uint64_t)(b + 1);
    for (size_t j = 0; j < k; j++) bits += gap_at(idx, j) >> b;
    size_t total = head + 8 + (size_t)((bits + 7) / 8) + k;
    if (total > cap) return -1;
    float mn, mx;
    kept_range(x, idx, k, &mn, &mx);
    float step = codec_level_step(mn, mx);
    size_t pos = put_varint(buf, k);
    put_f32(buf + pos, mn);
    put_f32(buf + pos + 4, mx);
    BitW w = {buf + pos + 8, 0, 0, 0};
    for (size_t j = 0; j < k; j++) {
        uint64_t g = gap_at(idx, j);
        for (uint64_t ones = g >> b; ones;) {
            int m = ones > 32 ? 32 : (int)ones;
            bits_put(&w, (m == 32 ? 0xffffffffull : ((1ull << m) - 1)), m);
            ones -= (uint64_t)m;
        }
        bits_put(&w, 0, 1);
        for (int done = 0; done < b; done += 32)   // b > 32 only for tensors of 2^37 entries or more
            bits_put(&w, (g >> done) & 0xffffffffull & ((b - done >= 32) ? ~0ull : ((1ull << (b - done)) - 1)),
                     b - done >= 32 ? 32 : b - done);
    }
    bits_flush(&w);
    uint8_t *lv = buf + pos + 8 + w.pos;
    for (size_t j = 0; j < k; j++) {
        float r = step > 0.0f ? (x[idx[j]] - mn) / step : 0.0f;   // NaN: level 0
        lv[j] = (uint8_t)((r >= 0.0f ? (r <= 255.0f ? r : 255.0f) : 0.0f) + 0.5f);
        if (q) q[idx[j]] = codec_level_value(mn, step, lv[j]);
    }
    return (long)total;
}

static long topk8_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                         uint8_t *buf, size_t cap, float *q) {
    (void)seed;
    return codec_topk_encode_each(c, "topk8", topk8_tensor, x, n, t, nt, buf, cap, q);
}

typedef struct { const uint8_t *p; uint64_t bit, nbits; } BitR;

static inline int bit_get(BitR *r) {
    int v = (r->p[r->bit >> 3] >> (r->bit & 7)) & 1;
    r->bit++;
    return v;
}

// Read tensor ti's k gaps from the bit stream at buf[*pos..len): every index below count, every bit
// inside the buffer, the padding zero; move *pos past the stream. idx (when not NULL) gets the indices.
static int topk8_indices(const uint8_t *buf, size_t len, size_t *pos, size_t k, size_t count, int ti, size_t *idx,
                         Err *e) {
    int b = rice_param(count, k);
    BitR r = {buf + *pos, 0, (uint64_t)(len - *pos) * 8};
    uint64_t next = 0;   // the smallest index the next gap may give
    for (size_t j = 0; j < k; j++) {
        uint64_t ones = 0;
        for (;;) {
            if (r.bit >= r.nbits) goto truncated;
            if (!bit_get(&r)) break;
            // (ones << b) alone already lies past the tensor: malformed, and this bounds the loop.
            if (++ones > ((uint64_t)count >> b)) goto past;
        }
        if ((uint64_t)b > r.nbits - r.bit) goto truncated;
        uint64_t low = 0;
        for (int i = 0; i < b; i++) low |= (uint64_t)bit_get(&r) << i;
        uint64_t g = (ones << b) | low;
        if (g >= (uint64_t)count - next) goto past;
        uint64_t v = next + g;
        if (idx) idx[j] = (size_t)v;
        next = v + 1;
    }
    while (r.bit & 7)
        if (bit_get(&r)) {
            err_set(e, "topk8 payload: tensor %d: non-zero padding after the index stream", ti);
            return -1;
        }
    *pos += (size_t)(r.bit >> 3);
    return 0;
truncated:
    err_set(e, "topk8 payload: tensor %d: index stream truncated at bit %llu of %llu", ti, (unsigned long long)r.bit,
            (unsigned long long)r.nbits);
    return -1;
past:
    err_set(e, "topk8 payload: tensor %d: an index gap runs past the tensor's %zu entries (k = %zu)", ti, count, k);
    return -1;
}

// Walk the payload tensor by tensor; with out == NULL only check it, else also apply it (decode applies
// only after a clean check, so a malformed payload leaves out unchanged). idx: scratch for max k.
static int topk8_walk(const uint8_t *buf, size_t len, const Span *t, int nt, float scale, float *out, size_t *idx,
                      Err *e) {
    size_t pos = 0;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        uint64_t k;
        if (get_varint(buf, len, &pos, &k) != 0) {
            err_set(e, "topk8 payload: tensor %d: k missing or malformed at byte %zu of %zu", ti, pos, len);
            return -1;
        }
        if (k > count) {
            err_set(e, "topk8 payload: tensor %d: k = %llu but the tensor has %zu entries", ti, (unsigned long long)k,
                    count);
            return -1;
        }
        if (k == 0) continue;
        if (len - pos < 8) {
            err_set(e, "topk8 payload: tensor %d: value range truncated at byte %zu of %zu", ti, pos, len);
            return -1;
        }
        float mn = get_f32(buf + pos), step = codec_level_step(mn, get_f32(buf + pos + 4));
        pos += 8;
        if (topk8_indices(buf, len, &pos, (size_t)k, count, ti, out ? idx : NULL, e) != 0) return -1;
        if ((size_t)k > len - pos) {
            err_set(e, "topk8 payload: tensor %d: %llu value bytes needed, %zu left", ti, (unsigned long long)k,
                    len - pos);
            return -1;
        }
        if (out) {
            float *os = out + t[ti].offset;
            for (size_t j = 0; j < (size_t)k; j++) os[idx[j]] += scale * codec_level_value(mn, step, buf[pos + j]);
        }
        pos += (size_t)k;
    }
    if (pos != len) {
        err_set(e, "topk8 payload: %zu bytes, but the %d tensors end at byte %zu", len, nt, pos);
        return -1;
    }
    return 0;
}

static int topk8_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                        uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)seed;
    if (codec_spans_check("topk8", t, nt, n, e) != 0) return -1;
    if (topk8_walk(buf, len, t, nt, scale, NULL, NULL, e) != 0) return -1;
    size_t maxc = 1;
    for (int i = 0; i < nt; i++) maxc = t[i].count > maxc ? t[i].count : maxc;
    size_t *idx = xmalloc(maxc * sizeof *idx);
    int rc = topk8_walk(buf, len, t, nt, scale, out, idx, e);
    free(idx);
    return rc;
}

// Per tensor at most 10 (k) + 8 (range) + 1 (padding) bytes; per kept entry 1 value byte and at most
// b + 1 + 2.6 bits of index (the gaps sum to below count, and rice_param makes 2^b > 0.48 (count - k)/k,
// so the unary parts total under 2.6 k bits), b <= 32 for tensors under 2^32 entries (6 bytes in all),
// else <= 63 (10 bytes). ksum as for top-k.
static size_t topk8_bound(const Codec *c, size_t n, int nt) {
    size_t ntz = nt > 0 ? (size_t)nt : 0;
    double kk = c->keep * (double)n;
    size_t ksum = kk >= (double)n ? n : (size_t)kk + 2 * ntz;
    if (ksum > n) ksum = n;
    size_t per = (uint64_t)n > 0xffffffffull ? 10 : 6;
    return ntz * 19 + ksum * per;
}

const CodecOps codec_topk8_ops = {CODEC_TOPK8, "topk8", topk8_encode, topk8_decode, topk8_bound};
