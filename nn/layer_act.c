// Element-wise layers, all in place on their slot: ReLU, dropout (inverted, mask kept for
// backward), and the residual add a += b whose backward passes the gradient to both inputs.
#include <string.h>
#include "model.h"

static void relu_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    if (l->fused_relu) return;   // the batchnorm or add before applied it
    float *x = m->slots[l->out].val;
    size_t n = slot_size(m, l->out);
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_recompute(Model *m, Layer *l) { relu_forward(m, l, 0, NULL); }

static void relu_backward(Model *m, Layer *l) {
    const float *y = m->slots[l->out].val;
    float *g = m->slots[l->out].grad;
    if (!g || l->fused_relu) return;   // in place on the model input: no gradient wanted; or the layer before masks it
    size_t n = slot_size(m, l->out);
    for (size_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

// Inverted dropout: kept units are scaled by 1/(1-p) in training, evaluation is the identity.
static void dropout_forward(Model *m, Layer *l, int train, Rng *rng) {
    float *x = m->slots[l->out].val;
    size_t n = slot_size(m, l->out);
    if (!train || l->p <= 0.0f) return;   // the identity; backward checks m->train and l->p too
    float scale = 1.0f / (1.0f - l->p);
    for (size_t i = 0; i < n; i++) {
        l->save[i] = rng_uniform(rng) < l->p ? 0.0f : scale;
        x[i] *= l->save[i];
    }
}

static void dropout_backward(Model *m, Layer *l) {
    float *g = m->slots[l->out].grad;
    if (!g || !m->train || l->p <= 0.0f) return;
    size_t n = slot_size(m, l->out);
    for (size_t i = 0; i < n; i++) g[i] *= l->save[i];
}

// At 8 bits both operands are quantized (QuantMeasure ranges, the activation rounding) before the sum,
// as the reference's Qsum.
static void add_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    float *restrict a = m->slots[l->out].val;
    const float *restrict b = m->slots[l->in2].val;
    size_t n = slot_size(m, l->out);
    if (m->bits == 8) {
        QParam pa = model_act_range(m, l, 0), pb = model_act_range(m, l, 1);
        uint8_t *q = m->q8gc;   // scratch: the codes are not kept (backward needs neither operand)
        quant_fake(a, NULL, a, n, pa, m->act_round, &m->qrng);
        quant_encode(q, b, n, pb, m->act_round, &m->qrng);
        for (size_t i = 0; i < n; i++) a[i] += (float)q[i] * pb.scale + pb.min;
        if (l->fused_relu)
            for (size_t i = 0; i < n; i++) a[i] = a[i] > 0.0f ? a[i] : 0.0f;
        return;
    }
    if (!l->fused_relu) {
        for (size_t i = 0; i < n; i++) a[i] += b[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {   // the ReLU after it (Layer.fused_relu)
        float v = a[i] + b[i];
        a[i] = v > 0.0f ? v : 0.0f;
    }
}

// Both operands receive the error; at 8 bits the error rounded stochastically to 8 bits (quantize_grad). A fused
// ReLU masks the error first where its output y (the slot's value) is 0; the second operand's gradient is written,
// not added to, when this is its first backward (layer_sets_grad: 0.0f + g keeps the bits of zeroed memory).
static void add_backward(Model *m, Layer *l) {
    float *restrict g = m->slots[l->out].grad;
    float *restrict gb = m->slots[l->in2].grad;
    const float *restrict y = m->slots[l->out].val;
    size_t n = slot_size(m, l->out);
    int set = gb && layer_sets_grad(m, l, l->in2);
    if (l->fused_relu && g && (m->bits == 8 || !gb)) {
        for (size_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
    } else if (l->fused_relu && g) {   // one pass: mask, and pass on to the second operand
        if (set)
            for (size_t i = 0; i < n; i++) { float d = y[i] > 0.0f ? g[i] : 0.0f; g[i] = d; gb[i] = 0.0f + d; }
        else
            for (size_t i = 0; i < n; i++) { float d = y[i] > 0.0f ? g[i] : 0.0f; g[i] = d; gb[i] += d; }
        return;
    }
    if (m->bits == 8 && g) {
        model_error_fake(m, g, g, n);   // in place: the first operand's error is the output's
    }
    if (!gb) return;
    if (set)
        for (size_t i = 0; i < n; i++) gb[i] = 0.0f + g[i];
    else
        for (size_t i = 0; i < n; i++) gb[i] += g[i];
}

static const LayerOps relu_ops = {"relu", relu_forward, relu_backward, READS_OUT, relu_recompute};
static const LayerOps dropout_ops = {"dropout", dropout_forward, dropout_backward, 0, NULL};
static const LayerOps add_ops = {"add", add_forward, add_backward, SETS_GRAD, NULL};

int model_relu(Model *m, int in) {
    model_layer_new(m, &relu_ops, in, -1, in);
    return in;
}

int model_dropout(Model *m, int in, float p) {
    Layer *l = model_layer_new(m, &dropout_ops, in, -1, in);
    l->p = p;
    Slot x = m->slots[in];
    l->save_n = (size_t)x.c * x.h * x.w * m->batch;
    return in;
}

int model_add(Model *m, int a, int b) {
    Layer *l = model_layer_new(m, &add_ops, a, b, a);
    l->q8 = Q8_IN2;
    return a;
}
