// Normalization layers on channel-major activations: BatchNorm (batch statistics in training,
// running statistics in evaluation) and GroupNorm (per sample, per group of channels).
#include <math.h>
#include <string.h>
#include "model.h"
#include "vec.h"

// y = x * (gamma * is) + (beta - mu * gamma * is) over one channel's row, then max(y, 0) if relu (Layer.fused_relu).
// One out-of-line copy serves forward and recompute, so both round alike; batchnorm_mask computes y the same way.
__attribute__((noinline)) static void batchnorm_row(const float *restrict x, float *restrict y, size_t N, float gamma,
                                                    float beta, float mu, float is, int relu) {
    float a = gamma * is, b = beta - mu * a;
    if (!relu) {
        for (size_t i = 0; i < N; i++) y[i] = x[i] * a + b;
        return;
    }
    for (size_t i = 0; i < N; i++) {
        float v = x[i] * a + b;
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

// The output gradient a fused ReLU lets through: dy where batchnorm_row's y was positive, else 0 (as relu_backward).
static inline float batchnorm_mask(float x, float dy, float a, float b, int relu) {
    return !relu || x * a + b > 0.0f ? dy : 0.0f;
}

typedef int VecI16 __attribute__((vector_size(VEC_LANES * sizeof(int))));

// 16 lanes of batchnorm_mask: dy, or +0.0f (all bits clear) where y = x * a + b was not positive.
static inline VecF16 batchnorm_mask_v(VecF16 x, VecF16 dy, float a, float b, int relu) {
    if (!relu) return dy;
    VecI16 keep = x * a + b > 0.0f;
    return (VecF16)((VecI16)dy & keep);
}

// sum of d and of d * x, d the masked dy, in one pass: vec_sum's and vec_dot's blocks, lanes and order (vec.h).
// Inlined with relu a constant (batchnorm_grad_sums): a test of it in the loop kept the sums in memory.
static inline __attribute__((always_inline)) void batchnorm_grad_sums_k(const float *restrict x,
                                                                        const float *restrict dy, size_t N, float a,
                                                                        float b, int relu, double *sdy, double *sdyx) {
    double s = 0.0, sx = 0.0;
    size_t i = 0;
    for (; i + VEC_GROUP * VEC_BLOCK <= N; i += VEC_GROUP * VEC_BLOCK) {
        VecF16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, ax0 = {0}, ax1 = {0}, ax2 = {0}, ax3 = {0};
        for (size_t k = i; k < i + VEC_BLOCK; k += VEC_LANES) {
#define BN_SUMS_LANES(acc, accx, at)                                                                     \
    do {                                                                                                 \
        VecF16 xv_ = vecf16_load(x + (at)), d_ = batchnorm_mask_v(xv_, vecf16_load(dy + (at)), a, b, relu); \
        acc += d_;                                                                                       \
        accx += d_ * xv_;                                                                                \
    } while (0)
            BN_SUMS_LANES(a0, ax0, k);
            BN_SUMS_LANES(a1, ax1, k + VEC_BLOCK);
            BN_SUMS_LANES(a2, ax2, k + 2 * VEC_BLOCK);
            BN_SUMS_LANES(a3, ax3, k + 3 * VEC_BLOCK);
#undef BN_SUMS_LANES
        }
        s = vecf16_total(vecf16_total(vecf16_total(vecf16_total(s, a0), a1), a2), a3);
        sx = vecf16_total(vecf16_total(vecf16_total(vecf16_total(sx, ax0), ax1), ax2), ax3);
    }
    for (; i + VEC_LANES <= N;) {
        VecF16 acc = {0}, accx = {0};
        size_t end = i + VEC_BLOCK < N ? i + VEC_BLOCK : N;
        for (; i + VEC_LANES <= end; i += VEC_LANES) {
            VecF16 xv = vecf16_load(x + i), d = batchnorm_mask_v(xv, vecf16_load(dy + i), a, b, relu);
            acc += d;
            accx += d * xv;
        }
        s = vecf16_total(s, acc);
        sx = vecf16_total(sx, accx);
    }
    for (; i < N; i++) {
        float d = batchnorm_mask(x[i], dy[i], a, b, relu);
        s += d;
        sx += (double)d * x[i];
    }
    *sdy = s; *sdyx = sx;
}

static void batchnorm_grad_sums(const float *restrict x, const float *restrict dy, size_t N, float a, float b,
                                int relu, double *sdy, double *sdyx) {
    if (relu) batchnorm_grad_sums_k(x, dy, N, a, b, 1, sdy, sdyx);
    else batchnorm_grad_sums_k(x, dy, N, a, b, 0, sdy, sdyx);
}

// BatchNorm: x is (C, B*HW), each channel one contiguous row. save = mean[C], invstd[C].
static void batchnorm_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)rng;
    const Slot *xs = &m->slots[l->in];
    int C = xs->c;
    size_t N = (size_t)m->cur * xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset, *beta = m->params + m->tensors[l->b].offset;
    float *rmean = m->state + l->st, *rvar = rmean + C;
    float *mean = l->save, *istd = l->save + C;
    for (int c = 0; c < C; c++) {
        const float *x = xs->val + (size_t)c * N;
        float *y = m->slots[l->out].val + (size_t)c * N;
        float mu, is;
        if (train) {
            double mu_d = vec_sum(x, N) / (double)N;
            double ss = vec_sqdev(x, (float)mu_d, N);
            double var = ss / (double)N;
            mu = (float)mu_d;
            is = (float)(1.0 / sqrt(var + l->eps));
            double unbiased = N > 1 ? ss / (double)(N - 1) : var;
            rmean[c] = (1.0f - l->momentum) * rmean[c] + l->momentum * mu;
            rvar[c] = (1.0f - l->momentum) * rvar[c] + l->momentum * (float)unbiased;
        } else {
            mu = rmean[c];
            is = 1.0f / sqrtf(rvar[c] + l->eps);
        }
        mean[c] = mu; istd[c] = is;
        batchnorm_row(x, y, N, gamma[c], beta[c], mu, is, l->fused_relu);
    }
}

// The output again from the input and the saved statistics (a recomputed slot, model.c).
static void batchnorm_recompute(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    int C = xs->c;
    size_t N = (size_t)m->cur * xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset, *beta = m->params + m->tensors[l->b].offset;
    for (int c = 0; c < C; c++)
        batchnorm_row(xs->val + (size_t)c * N, m->slots[l->out].val + (size_t)c * N, N, gamma[c], beta[c],
                      l->save[c], l->save[C + c], l->fused_relu);
}

// What the input gradient of a channel's row needs: gamma * istd, the means of dy and dy * xhat, the statistics, and
// batchnorm_row's coefficients (the fused ReLU's mask).
typedef struct {
    float k, mdy, mdyx, mu, is, a, b;
} BnDx;

// dx (+)= k * (d - mdy - (x - mu) * is * mdyx), d the masked dy; in evaluation mode (mean and istd constants, the
// running statistics) k * d. Inlined with relu, set and train constants (batchnorm_dx).
static inline __attribute__((always_inline)) void batchnorm_dx_k(float *restrict dx, const float *restrict x,
                                                                 const float *restrict dy, size_t N, BnDx p, int relu,
                                                                 int set, int train) {
    for (size_t i = 0; i < N; i++) {
        float d = batchnorm_mask(x[i], dy[i], p.a, p.b, relu);
        float v = train ? p.k * (d - p.mdy - (x[i] - p.mu) * p.is * p.mdyx) : p.k * d;
        dx[i] = set ? 0.0f + v : dx[i] + v;
    }
}

static void batchnorm_dx(float *restrict dx, const float *restrict x, const float *restrict dy, size_t N, BnDx p,
                         int relu, int set, int train) {
    switch (relu << 2 | set << 1 | train) {
    case 0: batchnorm_dx_k(dx, x, dy, N, p, 0, 0, 0); break;
    case 1: batchnorm_dx_k(dx, x, dy, N, p, 0, 0, 1); break;
    case 2: batchnorm_dx_k(dx, x, dy, N, p, 0, 1, 0); break;
    case 3: batchnorm_dx_k(dx, x, dy, N, p, 0, 1, 1); break;
    case 4: batchnorm_dx_k(dx, x, dy, N, p, 1, 0, 0); break;
    case 5: batchnorm_dx_k(dx, x, dy, N, p, 1, 0, 1); break;
    case 6: batchnorm_dx_k(dx, x, dy, N, p, 1, 1, 0); break;
    default: batchnorm_dx_k(dx, x, dy, N, p, 1, 1, 1); break;
    }
}

// dy is masked by the fused ReLU first (Layer.fused_relu); dx is written, not added to, when this is the first
// backward to reach it (layer_sets_grad: 0.0f + v keeps the bits of adding to zeroed memory).
static void batchnorm_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    int C = xs->c, relu = l->fused_relu, set = xs->grad && layer_sets_grad(m, l, l->in);
    size_t N = (size_t)m->cur * xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset, *beta = m->params + m->tensors[l->b].offset;
    float *dgamma = m->grads + m->tensors[l->w].offset, *dbeta = m->grads + m->tensors[l->b].offset;
    const float *mean = l->save, *istd = l->save + C;
    for (int c = 0; c < C; c++) {
        const float *restrict x = xs->val + (size_t)c * N, *restrict dy = m->slots[l->out].grad + (size_t)c * N;
        float mu = mean[c], is = istd[c];
        float a = gamma[c] * is, b = beta[c] - mu * a;   // batchnorm_row's
        double sdy, sdyx;
        if (m->no_fuse) {   // the plain path (tests): ReLU masked by relu_backward, two passes
            sdy = vec_sum(dy, N);
            sdyx = vec_dot(dy, x, N);
        } else {
            batchnorm_grad_sums(x, dy, N, a, b, relu, &sdy, &sdyx);
        }
        sdyx = (sdyx - mu * sdy) * is;   // sum dy * xhat
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!xs->grad) continue;
        float *restrict dx = xs->grad + (size_t)c * N;
        BnDx p = {gamma[c] * is, (float)(sdy / N), (float)(sdyx / N), mu, is, a, b};
        batchnorm_dx(dx, x, dy, N, p, relu, set, m->train);
    }
}

// Mean and 1/sqrt(biased variance + eps) of sample b over channels [c0, c1) of a (C, B, HW) tensor.
float group_moments(const float *x, int B, int b, int c0, int c1, int HW, float eps, double *mean) {
    double s = 0.0, ss = 0.0, n = (double)(c1 - c0) * HW;
    for (int c = c0; c < c1; c++) s += vec_sum(x + ((size_t)c * B + b) * HW, (size_t)HW);
    double mu = s / n;
    for (int c = c0; c < c1; c++) ss += vec_sqdev(x + ((size_t)c * B + b) * HW, (float)mu, (size_t)HW);
    *mean = mu;
    return (float)(1.0 / sqrt(ss / n + eps));
}

// GroupNorm: for sample b and group g (C/G channels), statistics over (C/G)*HW values.
// save = mean[B*G], invstd[B*G].
static void groupnorm_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in];
    int B = m->cur, C = xs->c, G = l->groups, cg = C / G, HW = xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset, *beta = m->params + m->tensors[l->b].offset;
    float *mean = l->save, *istd = l->save + (size_t)m->batch * G;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++) {
            double mu;
            float is = group_moments(xs->val, B, b, g * cg, (g + 1) * cg, HW, l->eps, &mu);
            mean[b * G + g] = (float)mu; istd[b * G + g] = is;
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                float *y = m->slots[l->out].val + ((size_t)c * B + b) * HW;
                float a = gamma[c] * is, sh = beta[c] - (float)mu * a;
                for (int i = 0; i < HW; i++) y[i] = x[i] * a + sh;
            }
        }
}

static void groupnorm_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    int B = m->cur, C = xs->c, G = l->groups, cg = C / G, HW = xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset;
    float *dgamma = m->grads + m->tensors[l->w].offset, *dbeta = m->grads + m->tensors[l->b].offset;
    const float *mean = l->save, *istd = l->save + (size_t)m->batch * G;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++) {
            float mu = mean[b * G + g], is = istd[b * G + g];
            double sdxh = 0.0, sdxhx = 0.0;   // sums of dxhat and dxhat * xhat over the group
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                const float *dy = m->slots[l->out].grad + ((size_t)c * B + b) * HW;
                double sdy = 0.0, sdyxh = 0.0;
                for (int i = 0; i < HW; i++) { float xh = (x[i] - mu) * is; sdy += dy[i]; sdyxh += dy[i] * xh; }
                dgamma[c] += (float)sdyxh;
                dbeta[c] += (float)sdy;
                sdxh += gamma[c] * sdy;
                sdxhx += gamma[c] * sdyxh;
            }
            if (!xs->grad) continue;
            float n = (float)cg * HW, ma = (float)(sdxh / n), mb = (float)(sdxhx / n);
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                const float *dy = m->slots[l->out].grad + ((size_t)c * B + b) * HW;
                float *dx = xs->grad + ((size_t)c * B + b) * HW;
                for (int i = 0; i < HW; i++) {
                    float xh = (x[i] - mu) * is;
                    dx[i] += is * (gamma[c] * dy[i] - ma - xh * mb);
                }
            }
        }
}

static const LayerOps batchnorm_ops = {"batchnorm", batchnorm_forward, batchnorm_backward, READS_IN | SETS_GRAD,
                                       batchnorm_recompute};
static const LayerOps groupnorm_ops = {"groupnorm", groupnorm_forward, groupnorm_backward, READS_IN, NULL};

// Scale (init 1) and shift (init 0) per channel, both marked as norm parameters.
void norm_affine_new(Model *m, Layer *l, const char *kind, int C) {
    char name[48];
    snprintf(name, sizeof name, "%s%d.weight", kind, m->n_layers - 1);
    l->w = model_tensor_new(m, name, 1, &C, INIT_ONE, 0.0f, 1);
    snprintf(name, sizeof name, "%s%d.bias", kind, m->n_layers - 1);
    l->b = model_tensor_new(m, name, 1, &C, INIT_ZERO, 0.0f, 1);
}

int model_batchnorm(Model *m, int in) {
    Slot x = m->slots[in];
    int out = model_slot_new(m, x.c, x.h, x.w);
    Layer *l = model_layer_new(m, &batchnorm_ops, in, -1, out);
    l->eps = 1e-5f; l->momentum = 0.1f;
    norm_affine_new(m, l, "bn", x.c);
    l->st = model_state_new(m, 2 * (size_t)x.c);
    l->save_n = 2 * (size_t)x.c;
    return out;
}

int model_groupnorm(Model *m, int in, int groups) {
    Slot x = m->slots[in];
    while (groups > 1 && x.c % groups) groups--;   // the largest group count <= asked that divides C
    int out = model_slot_new(m, x.c, x.h, x.w);
    Layer *l = model_layer_new(m, &groupnorm_ops, in, -1, out);
    l->eps = 1e-5f; l->groups = groups;
    norm_affine_new(m, l, "gn", x.c);
    l->save_n = 2 * (size_t)m->batch * groups;
    return out;
}
