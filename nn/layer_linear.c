// Fully connected layer on feature-major activations (F, B): out (O, B) = W (O, F) x in (F, B) + b,
// and the flatten that turns a (C, B, H, W) slot into (C*H*W, B) for it.
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "model.h"

static void linear_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, F = xs->c, O = ys->c;
    const float *W = m->params + m->tensors[l->w].offset;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, B, F, 1.0f, W, F, xs->val, B, 0.0f, ys->val, B);
    if (l->b >= 0) {
        const float *bias = m->params + m->tensors[l->b].offset;
        for (int o = 0; o < O; o++)
            for (int b = 0; b < B; b++) ys->val[(size_t)o * B + b] += bias[o];
    }
}

static void linear_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, F = xs->c, O = ys->c;
    const float *W = m->params + m->tensors[l->w].offset;
    float *dW = m->grads + m->tensors[l->w].offset;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, F, B, 1.0f, ys->grad, B, xs->val, B, 1.0f, dW, F);
    if (l->b >= 0) {
        float *db = m->grads + m->tensors[l->b].offset;
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int b = 0; b < B; b++) s += ys->grad[(size_t)o * B + b];
            db[o] += s;
        }
    }
    if (xs->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, F, B, O, 1.0f, W, F, ys->grad, B, 1.0f, xs->grad, B);
}

static const LayerOps linear_ops = {"linear", linear_forward, linear_backward};

// (C, B, HW) -> (C*HW, B): out[(c*HW + i)*B + b] = in[(c*B + b)*HW + i].
static void flatten_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in];
    int B = m->cur, C = xs->c, HW = xs->h * xs->w;
    float *y = m->slots[l->out].val;
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            const float *src = xs->val + ((size_t)c * B + b) * HW;
            for (int i = 0; i < HW; i++) y[((size_t)c * HW + i) * B + b] = src[i];
        }
}

static void flatten_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    if (!xs->grad) return;
    int B = m->cur, C = xs->c, HW = xs->h * xs->w;
    const float *dy = m->slots[l->out].grad;
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            float *dst = xs->grad + ((size_t)c * B + b) * HW;
            for (int i = 0; i < HW; i++) dst[i] += dy[((size_t)c * HW + i) * B + b];
        }
}

static const LayerOps flatten_ops = {"flatten", flatten_forward, flatten_backward};

int model_flatten(Model *m, int in) {
    Slot x = m->slots[in];
    if (x.h * x.w == 1) return in;   // (C, B, 1, 1) already is (C, B)
    int out = model_slot_new(m, x.c * x.h * x.w, 1, 1);
    model_layer_new(m, &flatten_ops, in, -1, out);
    return out;
}

int model_linear(Model *m, int in, int o, int bias) {
    in = model_flatten(m, in);
    int F = m->slots[in].c;
    int out = model_slot_new(m, o, 1, 1);
    char name[48];
    int idx = m->n_layers;
    int wshape[2] = {o, F};
    float bound = 1.0f / sqrtf((float)F);   // PyTorch's default for Linear
    snprintf(name, sizeof name, "fc%d.weight", idx);
    int w = model_tensor_new(m, name, 2, wshape, INIT_UNIFORM, bound, 0);
    int b = -1;
    if (bias) {
        snprintf(name, sizeof name, "fc%d.bias", idx);
        b = model_tensor_new(m, name, 1, &o, INIT_UNIFORM, bound, 1);
    }
    Layer *l = model_layer_new(m, &linear_ops, in, -1, out);
    l->w = w; l->b = b;
    l->macs = (uint64_t)o * F;
    return out;
}
