// Pooling over channel-major activations: max pool (k, stride, no padding), average pool, and
// global average pool, which turns (C, B, H, W) into the feature-major (C, B) a linear layer reads.
#include <float.h>
#include <string.h>
#include "model.h"

// Max pool keeps, per output, the flat index of its winning input in l->save (as float bits).
static void maxpool_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int planes = xs->c * m->cur, H = xs->h, W = xs->w, OH = ys->h, OW = ys->w;
    int32_t *arg = (int32_t *)l->save;
    for (int pl = 0; pl < planes; pl++) {
        const float *x = xs->val + (size_t)pl * H * W;
        float *y = ys->val + (size_t)pl * OH * OW;
        int32_t *a = arg + (size_t)pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float best = -FLT_MAX;
                int bi = (oh * l->stride) * W + ow * l->stride;
                for (int i = 0; i < l->k; i++)
                    for (int j = 0; j < l->k; j++) {
                        int idx = (oh * l->stride + i) * W + ow * l->stride + j;
                        if (x[idx] > best) { best = x[idx]; bi = idx; }
                    }
                y[oh * OW + ow] = best;
                a[oh * OW + ow] = bi;
            }
    }
}

static void maxpool_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    if (!xs->grad) return;
    int planes = xs->c * m->cur, HW = xs->h * xs->w, OHW = ys->h * ys->w;
    const int32_t *arg = (const int32_t *)l->save;
    for (int pl = 0; pl < planes; pl++) {
        float *dx = xs->grad + (size_t)pl * HW;
        const float *dy = ys->grad + (size_t)pl * OHW;
        const int32_t *a = arg + (size_t)pl * OHW;
        for (int i = 0; i < OHW; i++) dx[a[i]] += dy[i];
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

static const LayerOps maxpool_ops = {"maxpool", maxpool_forward, maxpool_backward};
static const LayerOps avgpool_ops = {"avgpool", avgpool_forward, avgpool_backward};
static const LayerOps gap_ops = {"global-avgpool", gap_forward, gap_backward};

static int pool_add(Model *m, const LayerOps *ops, int in, int k, int stride, int keep_arg) {
    Slot x = m->slots[in];
    int oh = (x.h - k) / stride + 1, ow = (x.w - k) / stride + 1;
    int out = model_slot_new(m, x.c, oh, ow);
    Layer *l = model_layer_new(m, ops, in, -1, out);
    l->k = k; l->stride = stride;
    if (keep_arg) l->save_n = (size_t)x.c * oh * ow * m->batch;   // int32 argmax per output
    l->macs = 0;   // MACs count conv and linear layers only, like the usual model tables
    return out;
}

int model_maxpool(Model *m, int in, int k, int stride) { return pool_add(m, &maxpool_ops, in, k, stride, 1); }
int model_avgpool(Model *m, int in, int k, int stride) { return pool_add(m, &avgpool_ops, in, k, stride, 0); }

int model_gap(Model *m, int in) {
    Slot x = m->slots[in];
    int out = model_slot_new(m, x.c, 1, 1);
    Layer *l = model_layer_new(m, &gap_ops, in, -1, out);
    l->macs = 0;
    return out;
}
