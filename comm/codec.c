// The codec registry (by name for the command line, by id for decoding received frames) and error
// feedback around any codec: the part of v = x + e that the codec dropped is carried to the next round.
#include "codec.h"
#include <stdlib.h>
#include <string.h>

// One file per codec (codec_dense.c, codec_topk.c, ...) defines one of these.
extern const CodecOps codec_dense_ops, codec_topk_ops, codec_randk_ops, codec_sign_ops, codec_q8_ops,
    codec_topk8_ops;

static const CodecOps *const ALL[] = {&codec_dense_ops, &codec_topk_ops, &codec_randk_ops, &codec_sign_ops,
                                      &codec_q8_ops,    &codec_topk8_ops};
#define N_CODECS ((int)(sizeof ALL / sizeof ALL[0]))

// keep = 1 so that bound() of a decoding instance is an upper bound for any sender's keep.
static const Codec BY_ID[] = {
    {&codec_dense_ops, 1.0, 0}, {&codec_topk_ops, 1.0, 0}, {&codec_randk_ops, 1.0, 0},
    {&codec_sign_ops, 1.0, 0},  {&codec_q8_ops, 1.0, 0},    {&codec_topk8_ops, 1.0, 0},
};

const char *codec_names(void) { return "dense, topk, randk, sign, q8, topk8"; }

int codec_init(Codec *c, const char *name, double keep, Err *e) {
    const CodecOps *ops = NULL;
    for (int i = 0; i < N_CODECS && name; i++)
        if (strcmp(name, ALL[i]->name) == 0) ops = ALL[i];
    if (!ops) {
        err_set(e, "unknown codec '%s'; known codecs: %s", name ? name : "(null)", codec_names());
        return -1;
    }
    // Written so that NaN fails too.
    if (!(keep > 0.0 && keep <= 1.0)) {
        err_set(e, "codec %s: keep = %g is outside (0, 1] (the fraction of each tensor's entries kept)", name,
                keep);
        return -1;
    }
    c->ops = ops;
    c->keep = keep;
    c->stochastic = 0;
    return 0;
}

const Codec *codec_for_id(CodecId id) {
    for (int i = 0; i < N_CODECS; i++)
        if (BY_ID[i].ops->id == id) return &BY_ID[i];
    return NULL;
}

// v and (when the caller passes none) q are scratch copies, so a failed encode leaves residual as it was.
long codec_encode_ef(const Codec *c, const float *x, float *residual, size_t n, const Span *t, int nt,
                     uint64_t seed, uint8_t *buf, size_t cap, float *q) {
    float *v = xmalloc(n * sizeof *v);
    float *qq = q ? q : xmalloc(n * sizeof *qq);
    for (size_t i = 0; i < n; i++) v[i] = x[i] + residual[i];
    long len = c->ops->encode(c, v, n, t, nt, seed, buf, cap, qq);
    if (len >= 0)
        for (size_t i = 0; i < n; i++) residual[i] = v[i] - qq[i];
    if (qq != q) free(qq);
    free(v);
    return len;
}

uint64_t codec_authors_bytes(const Codec *c, size_t n, const Span *t, int nt) {
    CodecId id = c->ops->id;
    if (id != CODEC_TOPK && id != CODEC_TOPK8 && id != CODEC_RANDK) return 4 * ((uint64_t)n + 1);
    uint64_t k = 0;
    for (int i = 0; i < nt; i++) k += codec_keep_count(t[i].count, c->keep);
    return 6 * k + 3;
}

int codec_spans_check(const char *codec, const Span *t, int nt, size_t n, Err *e) {
    if (nt < 0 || (nt > 0 && !t)) { err_set(e, "%s: bad tensor table (%d tensors)", codec, nt); return -1; }
    for (int i = 0; i < nt; i++)
        if (t[i].offset > n || t[i].count > n - t[i].offset) {
            err_set(e, "%s: tensor %d [%zu, +%zu) lies outside the %zu-entry vector", codec, i, t[i].offset, t[i].count,
                    n);
            return -1;
        }
    return 0;
}
