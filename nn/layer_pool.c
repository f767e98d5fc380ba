// Pooling over channel-major activations: max pool (k, stride, no padding), average pool, and
// global average pool, which turns (C, B, H, W) into the feature-major (C, B) a linear layer reads.
#include "layer_pool.h"
#include <float.h>
#include <immintrin.h>
#include <string.h>
#include "model.h"

// Max pool keeps, per output, the position of the winner inside its window (int32 in l->save);
// ties go to the first position, as in PyTorch. Both loops are select-based so they vectorize.
// 2x2 windows with stride 2, branch-free; ties keep the earlier position (order 0, 1, W, W+1).
void maxpool2_forward_plain(const float *xv, float *yv, int32_t *iv, int planes, int H, int W, int OH, int OW) {
    for (int pl = 0; pl < planes; pl++)
        for (int oh = 0; oh < OH; oh++) {
            const float *restrict r0 = xv + ((size_t)pl * H + 2 * oh) * W, *restrict r1 = r0 + W;
            float *restrict y = yv + ((size_t)pl * OH + oh) * OW;
            int32_t *restrict ix = iv + ((size_t)pl * OH + oh) * OW;
            for (int ow = 0; ow < OW; ow++) {
                float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
                int32_t g1 = b > a, g2 = d > c;          // arithmetic, not selects: no branches
                float m1 = g1 ? b : a, m2 = g2 ? d : c;
                int32_t g = m2 > m1;
                y[ow] = g ? m2 : m1;
                ix[ow] = g1 + g * (W + g2 - g1);
            }
        }
}

// 16 outputs at a time from a pair of rows: even and odd columns split with two-source permutes, then the
// plain loop's compares and selects as masks. Rows of LeNet-5 and CIFAR models (OW 5..16) are one step.
__attribute__((target("avx512f"))) static void maxpool2_rows_avx512(const float *r0, const float *r1, float *y,
                                                                      int32_t *ix, int W, int OW) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i w0 = _mm512_set1_epi32(W), w1 = _mm512_set1_epi32(W + 1);
    for (int o = 0; o < OW; o += 16) {
        int n = OW - o < 16 ? OW - o : 16;   // outputs in this step; 2n inputs per row
        __mmask16 out = (__mmask16)((1u << n) - 1);
        __mmask16 lo = (__mmask16)(2 * n >= 16 ? 0xffff : (1u << 2 * n) - 1);
        __mmask16 hi = (__mmask16)(2 * n <= 16 ? 0 : (1u << (2 * n - 16)) - 1);
        const float *p0 = r0 + 2 * o, *p1 = r1 + 2 * o;
        __m512 t0 = _mm512_maskz_loadu_ps(lo, p0), t1 = _mm512_maskz_loadu_ps(hi, p0 + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(lo, p1), b1 = _mm512_maskz_loadu_ps(hi, p1 + 16);
        __m512 a = _mm512_permutex2var_ps(t0, even, t1), b = _mm512_permutex2var_ps(t0, odd, t1);
        __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
        __mmask16 g1 = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), g2 = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
        __m512 m1 = _mm512_mask_blend_ps(g1, a, b), m2 = _mm512_mask_blend_ps(g2, c, d);
        __mmask16 g = _mm512_cmp_ps_mask(m2, m1, _CMP_GT_OQ);
        __m512i i1 = _mm512_mask_blend_epi32(g1, zero, one), i2 = _mm512_mask_blend_epi32(g2, w0, w1);
        _mm512_mask_storeu_ps(y + o, out, _mm512_mask_blend_ps(g, m1, m2));
        _mm512_mask_storeu_epi32(ix + o, out, _mm512_mask_blend_epi32(g, i1, i2));
    }
}

int maxpool2_forward_avx512(const float *xv, float *yv, int32_t *iv, int planes, int H, int W, int OH, int OW) {
    if (!__builtin_cpu_supports("avx512f") || W % 2) return -1;
    for (int pl = 0; pl < planes; pl++)
        for (int oh = 0; oh < OH; oh++) {
            const float *r0 = xv + ((size_t)pl * H + 2 * oh) * W;
            size_t at = ((size_t)pl * OH + oh) * OW;
            maxpool2_rows_avx512(r0, r0 + W, yv + at, iv + at, W, OW);
        }
    return 0;
}

static void maxpool2_forward(const float *xv, float *yv, int32_t *iv, int planes, int H, int W, int OH, int OW) {
    if (maxpool2_forward_avx512(xv, yv, iv, planes, H, W, OH, OW))
        maxpool2_forward_plain(xv, yv, iv, planes, H, W, OH, OW);
}

static void maxpool_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int planes = xs->c * m->cur, H = xs->h, W = xs->w, OH = ys->h, OW = ys->w, k = l->k, st = l->stride;
    if (k == 2 && st == 2) { maxpool2_forward(xs->val, ys->val, (int32_t *)l->save, planes, H, W, OH, OW); return; }
    for (int pl = 0; pl < planes; pl++) {
        const float *x = xs->val + (size_t)pl * H * W;
        for (int oh = 0; oh < OH; oh++) {
            float *restrict yr = ys->val + ((size_t)pl * OH + oh) * OW;
            int32_t *restrict ir = (int32_t *)l->save + ((size_t)pl * OH + oh) * OW;
            const float *r = x + (size_t)oh * st * W;
            for (int ow = 0; ow < OW; ow++) { yr[ow] = r[ow * st]; ir[ow] = 0; }
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    if (i == 0 && j == 0) continue;
                    const float *restrict ri = r + (size_t)i * W + j;
                    int32_t pos = i * W + j;
                    for (int ow = 0; ow < OW; ow++) {
                        int gt = ri[ow * st] > yr[ow];
                        yr[ow] = gt ? ri[ow * st] : yr[ow];
                        ir[ow] = gt ? pos : ir[ow];
                    }
                }
        }
    }
}

static void maxpool_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    if (!xs->grad) return;
    int planes = xs->c * m->cur, H = xs->h, W = xs->w, OH = ys->h, OW = ys->w, st = l->stride;
    for (int pl = 0; pl < planes; pl++) {
        const float *dy = ys->grad + (size_t)pl * OH * OW;
        const int32_t *ip = (const int32_t *)l->save + (size_t)pl * OH * OW;
        float *dx = xs->grad + (size_t)pl * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                dx[(size_t)oh * st * W + (size_t)ow * st + ip[oh * OW + ow]] += dy[oh * OW + ow];
    }
}

static void avgpool_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int planes = xs->c * m->cur, H = xs->h, W = xs->w, OH = ys->h, OW = ys->w;
    float inv = 1.0f / (float)(l->k * l->k);
    for (int pl = 0; pl < planes; pl++) {
        const float *x = xs->val + (size_t)pl * H * W;
        float *y = ys->val + (size_t)pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float s = 0.0f;
                for (int i = 0; i < l->k; i++)
                    for (int j = 0; j < l->k; j++) s += x[(oh * l->stride + i) * W + ow * l->stride + j];
                y[oh * OW + ow] = s * inv;
            }
    }
}

static void avgpool_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    if (!xs->grad) return;
    int planes = xs->c * m->cur, H = xs->h, W = xs->w, OH = ys->h, OW = ys->w;
    float inv = 1.0f / (float)(l->k * l->k);
    for (int pl = 0; pl < planes; pl++) {
        float *dx = xs->grad + (size_t)pl * H * W;
        const float *dy = ys->grad + (size_t)pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float g = dy[oh * OW + ow] * inv;
                for (int i = 0; i < l->k; i++)
                    for (int j = 0; j < l->k; j++) dx[(oh * l->stride + i) * W + ow * l->stride + j] += g;
            }
    }
}

// (C, B, HW) -> (C, B): one mean per plane.
static void gap_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in];
    int planes = xs->c * m->cur, HW = xs->h * xs->w;
    float *y = m->slots[l->out].val;
    for (int pl = 0; pl < planes; pl++) {
        const float *x = xs->val + (size_t)pl * HW;
        float s = 0.0f;
        for (int i = 0; i < HW; i++) s += x[i];
        y[pl] = s / (float)HW;
    }
}

static void gap_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    if (!xs->grad) return;
    int planes = xs->c * m->cur, HW = xs->h * xs->w;
    const float *dy = m->slots[l->out].grad;
    for (int pl = 0; pl < planes; pl++) {
        float g = dy[pl] / (float)HW;
        float *dx = xs->grad + (size_t)pl * HW;
        for (int i = 0; i < HW; i++) dx[i] += g;
    }
}

static const LayerOps maxpool_ops = {"maxpool", maxpool_forward, maxpool_backward, 0, NULL};
static const LayerOps avgpool_ops = {"avgpool", avgpool_forward, avgpool_backward, 0, NULL};
static const LayerOps gap_ops = {"global-avgpool", gap_forward, gap_backward, 0, NULL};

static int pool_add(Model *m, const LayerOps *ops, int in, int k, int stride) {
    Slot x = m->slots[in];
    int oh = (x.h - k) / stride + 1, ow = (x.w - k) / stride + 1;
    int out = model_slot_new(m, x.c, oh, ow);
    Layer *l = model_layer_new(m, ops, in, -1, out);
    l->k = k; l->stride = stride;
    if (ops == &maxpool_ops) l->save_n = (size_t)x.c * oh * ow * m->batch;   // int32 winner positions
    l->macs = 0;   // MACs count conv and linear layers only, like the usual model tables
    return out;
}

int model_maxpool(Model *m, int in, int k, int stride) { return pool_add(m, &maxpool_ops, in, k, stride); }
int model_avgpool(Model *m, int in, int k, int stride) { return pool_add(m, &avgpool_ops, in, k, stride); }

int model_gap(Model *m, int in) {
    Slot x = m->slots[in];
    int out = model_slot_new(m, x.c, 1, 1);
    Layer *l = model_layer_new(m, &gap_ops, in, -1, out);
    l->macs = 0;
    return out;
}
