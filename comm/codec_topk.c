// Per-tensor top-k: keep the k = max(1, floor(count*keep)) entries of largest magnitude (ties to the lower
// index), found by selection in O(count), and send k, the sorted indices (delta varints or fixed width,
// whichever is smaller) and the values as fp32.
#include "codec.h"
#include "bytes.h"
#include <stdlib.h>
#include <string.h>

// Payload, for each tensor in table order:
//   varint k;  and when k > 0:  flag byte (0 = delta varints, 1/2/4 = fixed-width little-endian indices),
//   the k indices ascending (first delta from 0, then each >= 1), then the k values as fp32 LE.
enum { FLAG_VARINT = 0 };

static inline uint64_t get_fixed(const uint8_t *p, int w) {
    uint64_t v = 0;
    for (int i = 0; i < w; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static inline void put_fixed(uint8_t *p, uint64_t v, int w) {
    for (int i = 0; i < w; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Smallest of 1/2/4 bytes that holds every index of a tensor of `count` entries (0: none does).
static int fixed_width(size_t count) {
    return count <= 0x100 ? 1 : count <= 0x10000 ? 2 : (uint64_t)count <= 0x100000000ull ? 4 : 0;
}

size_t codec_keep_count(size_t count, double keep) {
    if (count == 0) return 0;
    double k = (double)count * keep;
    return !(k >= 1.0) ? 1 : k >= (double)count ? count : (size_t)k;
}

// |x| as an unsigned key: ordered like the magnitude for every float, NaN above infinity, -0 == +0,
// so the order is total and the selection deterministic whatever the input.
static inline uint32_t mag_key(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u & 0x7fffffffu;
}

static inline uint32_t median3(uint32_t a, uint32_t b, uint32_t c) {
    if (a > b) { uint32_t s = a; a = b; b = s; }
    if (b > c) b = c;
    return a > b ? a : b;
}

// The value at position p of a[0..n) sorted ascending, in expected O(n) (Hoare's FIND with a median of
// three pivot from pseudo-random positions, so sorted and constant tensors stay linear). Reorders a.
static uint32_t select_nth(uint32_t *a, size_t n, size_t p) {
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, pp = (ptrdiff_t)p;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    while (hi - lo > 16) {
        uint64_t len = (uint64_t)(hi - lo + 1);
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        uint32_t piv = median3(a[lo + (ptrdiff_t)((s & 0xffffffu) % len)],
                               a[lo + (ptrdiff_t)(((s >> 24) & 0xffffffu) % len)], a[lo + (hi - lo) / 2]);
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < piv) i++;
            while (a[j] > piv) j--;
            if (i <= j) { uint32_t tmp = a[i]; a[i] = a[j]; a[j] = tmp; i++; j--; }
        }
        if (pp <= j) hi = j;
        else if (pp >= i) lo = i;
        else return piv;   // j < p < i: everything there equals the pivot
    }
    for (ptrdiff_t i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        ptrdiff_t j = i - 1;
        while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
    return a[pp];
}

// The k largest-magnitude entries of x[0..count) in ascending index order: everything above the k-th
// largest key T, plus the lowest-indexed entries equal to T until there are k. A histogram of the keys'
// top 11 bits (exponent and 3 mantissa bits) first finds the bucket that holds T, so only that bucket's
// keys go through quickselect: three streaming passes over x instead of a selection over all of it.
enum { BUCKET_SHIFT = 20, N_BUCKETS = 1 << (31 - BUCKET_SHIFT), SCAN_BLOCK = 32 };

// Whether any key in x[0..len) is >= lo: a branch-free test the compiler vectorizes, so the scans
// below skip whole blocks and only look entry by entry where something may be kept.
static inline int block_has(const float *x, size_t len, uint32_t lo) {
    int any = 0;
    for (size_t i = 0; i < len; i++) any |= mag_key(x[i]) >= lo;
    return any;
}

void codec_topk_pick(const float *x, size_t count, size_t k, uint32_t *cand, size_t *idx) {
    if (k == count) {
        for (size_t i = 0; i < count; i++) idx[i] = i;
        return;
    }
    size_t above = 0, nc = 0;
    if (count <= N_BUCKETS) {   // short tensor: clearing the histogram would cost more than it saves
        for (size_t i = 0; i < count; i++) cand[i] = mag_key(x[i]);
        nc = count;
    } else {
        size_t hist[N_BUCKETS] = {0};
        for (size_t i = 0; i < count; i++) hist[mag_key(x[i]) >> BUCKET_SHIFT]++;
        uint32_t b = N_BUCKETS - 1;
        while (above + hist[b] < k) above += hist[b--];
        for (size_t i0 = 0; i0 < count; i0 += SCAN_BLOCK) {
            size_t end = i0 + SCAN_BLOCK < count ? i0 + SCAN_BLOCK : count;
            if (!block_has(x + i0, end - i0, b << BUCKET_SHIFT)) continue;
            for (size_t i = i0; i < end; i++) {
                uint32_t key = mag_key(x[i]);
                if (key >> BUCKET_SHIFT == b) cand[nc++] = key;
            }
        }
    }
    uint32_t thr = select_nth(cand, nc, nc - (k - above));
    for (size_t j = 0; j < nc; j++) above += cand[j] > thr;
    size_t ties = k - above, m = 0;
    for (size_t i0 = 0; i0 < count; i0 += SCAN_BLOCK) {
        size_t end = i0 + SCAN_BLOCK < count ? i0 + SCAN_BLOCK : count;
        if (!block_has(x + i0, end - i0, thr)) continue;
        for (size_t i = i0; i < end; i++) {
            uint32_t key = mag_key(x[i]);
            if (key > thr) idx[m++] = i;
            else if (key == thr && ties) { idx[m++] = i; ties--; }
        }
    }
}

// Encode one tensor into buf[0..cap); bytes written, or -1 if it does not fit.
static long topk_tensor(const float *x, size_t count, size_t k, uint32_t *cand, size_t *idx, uint8_t *buf,
                        size_t cap, float *q) {
    size_t head = varint_size(k);
    if (k == 0) {
        if (cap < head) return -1;
        return (long)put_varint(buf, 0);
    }
    codec_topk_pick(x, count, k, cand, idx);
    size_t vbytes = varint_size(idx[0]);
    for (size_t i = 1; i < k; i++) vbytes += varint_size(idx[i] - idx[i - 1]);
    int w = fixed_width(count);
    int flag = (w && (size_t)w * k <= vbytes) ? w : FLAG_VARINT;
    size_t ibytes = flag ? (size_t)w * k : vbytes;
    size_t total = head + 1 + ibytes + 4 * k;
    if (total > cap) return -1;
    size_t pos = put_varint(buf, k);
    buf[pos++] = (uint8_t)flag;
    if (flag) {
        for (size_t i = 0; i < k; i++) put_fixed(buf + pos + i * (size_t)w, idx[i], w);
        pos += ibytes;
    } else {
        for (size_t i = 0, prev = 0; i < k; prev = idx[i], i++) pos += put_varint(buf + pos, idx[i] - prev);
    }
    for (size_t i = 0; i < k; i++) put_f32(buf + pos + 4 * i, x[idx[i]]);
    if (q)
        for (size_t i = 0; i < k; i++) q[idx[i]] = x[idx[i]];
    return (long)total;
}

long codec_topk_encode_each(const Codec *c, const char *name, TopkTensorFn tensor, const float *x, size_t n,
                            const Span *t, int nt, uint8_t *buf, size_t cap, float *q) {
    if (codec_spans_check(name, t, nt, n, NULL) != 0) return -1;
    size_t maxc = 0, maxk = 0;
    for (int i = 0; i < nt; i++) {
        size_t k = codec_keep_count(t[i].count, c->keep);
        if (t[i].count > maxc) maxc = t[i].count;
        if (k > maxk) maxk = k;
    }
    // Room for every key of the longest tensor: the candidate bucket can be all of it (constant tensors).
    uint32_t *cand = xmalloc((maxc ? maxc : 1) * sizeof *cand);
    size_t *idx = xmalloc((maxk ? maxk : 1) * sizeof *idx);
    if (q) memset(q, 0, n * sizeof *q);
    size_t pos = 0;
    long rc = 0;
    for (int i = 0; i < nt && rc >= 0; i++) {
        const Span *s = &t[i];
        rc = tensor(x + s->offset, s->count, codec_keep_count(s->count, c->keep), cand, idx, buf + pos, cap - pos,
                    q ? q + s->offset : NULL);
        if (rc >= 0) pos += (size_t)rc;
    }
    free(cand);
    free(idx);
    return rc < 0 ? -1 : (long)pos;
}

static long topk_encode(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                        uint8_t *buf, size_t cap, float *q) {
    (void)seed;
    return codec_topk_encode_each(c, "topk", topk_tensor, x, n, t, nt, buf, cap, q);
}

// Check the k indices of tensor ti starting at *pos (strictly increasing, below count, inside len) and
// move *pos past them.
static int topk_check_indices(const uint8_t *buf, size_t len, size_t *pos, int flag, size_t k, size_t count,
                              int ti, Err *e) {
    uint64_t prev = 0;
    for (size_t j = 0; j < k; j++) {
        uint64_t v;
        if (flag) {
            if ((size_t)flag > len - *pos) goto truncated;
            v = get_fixed(buf + *pos, flag);
            *pos += (size_t)flag;
            if (j > 0 && v <= prev) {
                err_set(e, "topk payload: tensor %d: index %zu is %llu after %llu (must increase)", ti, j,
                        (unsigned long long)v, (unsigned long long)prev);
                return -1;
            }
        } else {
            uint64_t d;
            if (get_varint(buf, len, pos, &d) != 0) goto truncated;
            if (j > 0 && d == 0) {
                err_set(e, "topk payload: tensor %d: index delta %zu is 0 (indices must increase)", ti, j);
                return -1;
            }
            if (d >= (uint64_t)count - prev) {
                err_set(e, "topk payload: tensor %d: index %zu = %llu + %llu is past the tensor's %zu entries", ti,
                        j, (unsigned long long)prev, (unsigned long long)d, count);
                return -1;
            }
            v = prev + d;
        }
        if (v >= count) {
            err_set(e, "topk payload: tensor %d: index %llu out of range (tensor has %zu entries)", ti,
                    (unsigned long long)v, count);
            return -1;
        }
        prev = v;
    }
    return 0;
truncated:
    err_set(e, "topk payload: tensor %d: indices truncated or malformed at byte %zu of %zu", ti, *pos, len);
    return -1;
}

// out[idx[j]] += scale * value[j] for indices already checked by topk_check_indices.
static void topk_apply(const uint8_t *ib, const uint8_t *vb, int flag, size_t k, float scale, float *out) {
    size_t pos = 0, idx = 0;
    for (size_t j = 0; j < k; j++) {
        if (flag) {
            idx = (size_t)get_fixed(ib + pos, flag);
            pos += (size_t)flag;
        } else {
            uint64_t d = 0;
            get_varint(ib, (size_t)-1, &pos, &d);
            idx += (size_t)d;
        }
        out[idx] += scale * get_f32(vb + 4 * j);
    }
}

// Walk the payload tensor by tensor; with out == NULL only check it, else also apply it (decode applies
// only after a clean check, so a malformed payload leaves out unchanged).
static int topk_walk(const uint8_t *buf, size_t len, const Span *t, int nt, float scale, float *out, Err *e) {
    size_t pos = 0;
    for (int ti = 0; ti < nt; ti++) {
        size_t count = t[ti].count;
        uint64_t k;
        if (get_varint(buf, len, &pos, &k) != 0) {
            err_set(e, "topk payload: tensor %d: k missing or malformed at byte %zu of %zu", ti, pos, len);
            return -1;
        }
        if (k > count) {
            err_set(e, "topk payload: tensor %d: k = %llu but the tensor has %zu entries", ti,
                    (unsigned long long)k, count);
            return -1;
        }
        if (k == 0) continue;
        if (pos >= len) {
            err_set(e, "topk payload: tensor %d: index format byte missing at byte %zu", ti, pos);
            return -1;
        }
        int flag = buf[pos++];
        if (flag != FLAG_VARINT && flag != 1 && flag != 2 && flag != 4) {
            err_set(e, "topk payload: tensor %d: unknown index format %d (expected 0, 1, 2 or 4)", ti, flag);
            return -1;
        }
        size_t ipos = pos;
        if (topk_check_indices(buf, len, &pos, flag, (size_t)k, count, ti, e) != 0) return -1;
        if ((size_t)k > (len - pos) / 4) {
            err_set(e, "topk payload: tensor %d: %llu values need %llu bytes, %zu left", ti, (unsigned long long)k,
                    (unsigned long long)k * 4, len - pos);
            return -1;
        }
        if (out) topk_apply(buf + ipos, buf + pos, flag, (size_t)k, scale, out + t[ti].offset);
        pos += 4 * (size_t)k;
    }
    if (pos != len) {
        err_set(e, "topk payload: %zu bytes, but the %d tensors end at byte %zu", len, nt, pos);
        return -1;
    }
    return 0;
}

static int topk_decode(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                       uint64_t seed, float scale, float *out, Err *e) {
    (void)c; (void)seed;
    if (codec_spans_check("topk", t, nt, n, e) != 0) return -1;
    if (topk_walk(buf, len, t, nt, scale, NULL, e) != 0) return -1;
    return topk_walk(buf, len, t, nt, scale, out, e);
}

// Per tensor at most 10 + 1 header bytes; in all at most n*keep + 2 per tensor entries (the 2 absorbs
// max(1, .) and rounding of count*keep); an index costs at most 4 bytes (the fixed width caps the
// varint choice), or 10 as a varint when a tensor is too long for 4-byte indices.
static size_t topk_bound(const Codec *c, size_t n, int nt) {
    size_t ntz = nt > 0 ? (size_t)nt : 0;
    double kk = c->keep * (double)n;
    size_t ksum = kk >= (double)n ? n : (size_t)kk + 2 * ntz;
    if (ksum > n) ksum = n;
    size_t per = (uint64_t)n > 0x100000000ull ? 10 + 4 : 4 + 4;
    return ntz * 11 + ksum * per;
}

const CodecOps codec_topk_ops = {CODEC_TOPK, "topk", topk_encode, topk_decode, topk_bound};
