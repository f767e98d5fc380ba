// Fully connected layer on feature-major activations (F, B): out (O, B) = W (O, F) x in (F, B) + b,
// and the flatten that turns a (C, B, H, W) slot into (C*H*W, B) for it.
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "model.h"
#include "qgemm.h"

static QgemmQuant qq(QParam p) { return (QgemmQuant){.scale = p.scale, .min = p.min}; }

// The two 8-bit products from the codes of both operands, the one place an integer kernel takes over:
// forward (input_grad 0): out (O, B) = W^ (O, F) x^ (F, B), with b the input's codes;
// input gradient (1): out (F, B) += W^T (F, O) Q(dy) (O, B), with b the output error's codes.
// Int8: qgemm on the codes. Simulated: decode both, then cblas_sgemm.
static void linear_product_q8(Model *m, Layer *l, int input_grad, const uint8_t *wq, QParam pw, const uint8_t *bq,
                              QParam pb, float *out) {
    int B = m->cur, F = m->slots[l->in].c, O = m->slots[l->out].c;
    int rows = input_grad ? F : O, inner = input_grad ? O : F;
    if (m->q8_arith == Q8_ARITH_INT8) {
        QgemmA *a = qgemm_a_new(NULL, input_grad, rows, inner, wq, F);
        qgemm_a_mul_affine(a, qq(pw), B, bq, B, qq(pb), out, B, input_grad);
        qgemm_a_free(a);
        return;
    }
    float *bf = input_grad ? m->q8g : m->q8x;
    quant_decode(m->q8w, wq, (size_t)O * F, pw);
    quant_decode(bf, bq, (size_t)inner * B, pb);
    cblas_sgemm(CblasRowMajor, input_grad ? CblasTrans : CblasNoTrans, CblasNoTrans, rows, B, inner, 1.0f, m->q8w, F,
                bf, B, input_grad ? 1.0f : 0.0f, out, B);
}

static void linear_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, F = xs->c, O = ys->c;
    const float *W = m->params + m->tensors[l->w].offset;
    const float *bias = l->b >= 0 ? m->params + m->tensors[l->b].offset : NULL;
    if (m->bits == 8) {
        // Input by QuantMeasure (stochastic by default), weights and bias to nearest over their own range.
        l->px = model_act_range(m, l, 0);
        quant_encode(l->qx, xs->val, (size_t)F * B, l->px, m->act_round, &m->qrng);
        float mn, mx;
        quant_minmax(W, (size_t)O * F, &mn, &mx);
        l->pw = quant_param(mn, mx);
        quant_encode(l->qw, W, (size_t)O * F, l->pw, QROUND_NEAREST, NULL);
        linear_product_q8(m, l, 0, l->qw, l->pw, l->qx, l->px, ys->val);
        if (bias) {   // the product is done with m->q8w: it now holds the 8-bit bias
            quant_fake_minmax(m->q8w, bias, (size_t)O, QROUND_NEAREST, NULL);
            bias = m->q8w;
        }
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, B, F, 1.0f, W, F, xs->val, B, 0.0f, ys->val, B);
    }
    if (bias)
        for (int o = 0; o < O; o++)
            for (int b = 0; b < B; b++) ys->val[(size_t)o * B + b] += bias[o];
}

static void linear_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, F = xs->c, O = ys->c;
    float *dW = m->grads + m->tensors[l->w].offset;
    // At 8 bits the weight gradient takes the 8-bit input and the unquantized error ("biprecision").
    const float *x = xs->val;
    if (m->bits == 8) {
        quant_decode(m->q8x, l->qx, (size_t)F * B, l->px);
        x = m->q8x;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, F, B, 1.0f, ys->grad, B, x, B, 1.0f, dW, F);
    if (l->b >= 0) {
        float *db = m->grads + m->tensors[l->b].offset;
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int b = 0; b < B; b++) s += ys->grad[(size_t)o * B + b];
            db[o] += s;
        }
    }
    if (!xs->grad) return;
    if (m->bits == 8) {
        QParam pg = model_error_q8(m, ys->grad, (size_t)O * B);
        linear_product_q8(m, l, 1, l->qw, l->pw, m->q8gc, pg, xs->grad);
        return;
    }
    const float *W = m->params + m->tensors[l->w].offset;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, F, B, O, 1.0f, W, F, ys->grad, B, 1.0f, xs->grad, B);
}

static const LayerOps linear_ops = {"linear", linear_forward, linear_backward, READS_IN, NULL};

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

static const LayerOps flatten_ops = {"flatten", flatten_forward, flatten_backward, 0, NULL};

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
    l->q8 = Q8_IN | Q8_W;
    l->macs = (uint64_t)o * F;
    return out;
}
