// Payload codecs for model vectors: dense fp32, per-tensor top-k (fp32 or 8-bit values), random-k,
// scaled sign and 8-bit quantization, behind one small interface; plus error feedback around any of them.
#ifndef MESHTRAIN_CODEC_H
#define MESHTRAIN_CODEC_H
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

// A tensor inside the flat vector (codecs compress per tensor; they know nothing else of layers).

typedef enum {
    CODEC_DENSE = 0,
    CODEC_TOPK = 1,
    CODEC_RANDK = 2,
    CODEC_SIGN = 3,
    CODEC_Q8 = 4,
    CODEC_TOPK8 = 5
} CodecId;

typedef struct Codec Codec;
typedef struct {
    CodecId id;
    const char *name;
    // Encode x (n floats, tensors t[0..nt)) into buf (cap bytes). seed: shared by both sides (random-k
    // indices, stochastic rounding). If q != NULL, write the dense vector the receiver will decode
    // (q = C(x)), so callers can keep error-feedback residuals. Returns bytes written, or -1.
    long (*encode)(const Codec *c, const float *x, size_t n, const Span *t, int nt, uint64_t seed,
                   uint8_t *buf, size_t cap, float *q);
    // out += scale * decode(buf). Every count and index is checked against n and len; -1 and e on
    // malformed input, and then out is unchanged.
    int (*decode)(const Codec *c, const uint8_t *buf, size_t len, size_t n, const Span *t, int nt,
                  uint64_t seed, float scale, float *out, Err *e);
    // Largest encoding for n floats in nt tensors.
    size_t (*bound)(const Codec *c, size_t n, int nt);
} CodecOps;

struct Codec {
    const CodecOps *ops;
    double keep;   // top-k / top-k8 / random-k: fraction of each tensor's entries kept (k = max(1, floor(count*keep)))
    int stochastic;   // q8: stochastic rounding from the seed (else nearest)
};

const char *codec_names(void);   // "dense, topk, randk, sign, q8, topk8"
// Set up codec `name` with its parameter; -1 and e for an unknown name or keep outside (0, 1].
int codec_init(Codec *c, const char *name, double keep, Err *e);
const Codec *codec_for_id(CodecId id);   // static instances for decoding by id (keep ignored)

// x's dense encoding when it is x's own bytes (fp32 little-endian on a little-endian host), so a
// sender can send x where it lies instead of encoding a copy; NULL when c is not dense or the host
// is big-endian (then encode).
const uint8_t *codec_dense_view(const Codec *c, const float *x, size_t n);

// Push-sum's scaling, mixing and de-biasing of a dense payload in one pass over the vector:
// x = keep * x + scale * decode(buf), then z = x * inv when z is not NULL (the same floats as the
// three separate loops). -1 and e on a malformed payload, and then x is unchanged.
int codec_dense_mix(const uint8_t *buf, size_t len, size_t n, float keep, float scale, float *x, float inv, float *z,
                    Err *e);

// Error feedback: v = x + e; q = C(v); e = v - q; encodes q into buf. Invariant: q + e(after) == x + e(before).
long codec_encode_ef(const Codec *c, const float *x, float *residual, size_t n, const Span *t, int nt,
                     uint64_t seed, uint8_t *buf, size_t cap, float *q);

// One message of x (n floats, tensors t) in the byte counter of the low-precision paper's code
// (Aketi et al., gossip_*/gossiper.py `data_amt`): 6K+3 for a sparse codec keeping K entries in all
// (4 B per value, ~2 B per index, the push-sum weight), 4(n+1) for any other (fp32 values and the weight).
uint64_t codec_authors_bytes(const Codec *c, size_t n, const Span *t, int nt);

// For the 8-bit codecs (q8, topk8): 256 levels from mn to mx. Encoder and decoder must compute the same
// floats, so q is exactly what the receiver gets: two statements, so that no compiler fuses them into an
// FMA on one side only. A range that overflows fp32 (or a NaN bound read from the wire) gets step 0:
// every entry is mn.
static inline float codec_level_step(float mn, float mx) {
    float step = (mx - mn) / 255.0f;
    return step <= FLT_MAX ? step : 0.0f;
}
static inline float codec_level_value(float mn, float step, uint8_t level) {
    float offset = (float)level * step;
    return mn + offset;
}

// For codec implementations: the tensor table lies inside [0, n). 0, or -1 and e naming the codec.
int codec_spans_check(const char *codec, const Span *t, int nt, size_t n, Err *e);
// Top-k's k for a tensor of `count` entries: max(1, floor(count*keep)), at most count (0 for an empty one).
size_t codec_keep_count(size_t count, double keep);
// The k largest-magnitude entries of x[0..count) (ties to the lower index) into idx[0..k), ascending;
// cand is scratch for `count` keys (codec_topk.c).
void codec_topk_pick(const float *x, size_t count, size_t k, uint32_t *cand, size_t *idx);
// The per-tensor top-k encoders' common driver (codec_topk.c): for each tensor in turn, tensor() encodes its
// k = codec_keep_count entries at buf + pos (returning the bytes written, or -1), with scratch cand and idx
// sized for the largest tensor; q (when not NULL) is zeroed first. The total bytes, or -1.
typedef long (*TopkTensorFn)(const float *x, size_t count, size_t k, uint32_t *cand, size_t *idx, uint8_t *buf,
                             size_t cap, float *q);
long codec_topk_encode_each(const Codec *c, const char *name, TopkTensorFn tensor, const float *x, size_t n,
                            const Span *t, int nt, uint8_t *buf, size_t cap, float *q);

#endif
