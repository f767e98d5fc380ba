// Normalization layers on channel-major activations: BatchNorm (batch statistics in training,
// running statistics in evaluation) and GroupNorm (per sample, per group of channels).
#include <math.h>
#include <string.h>
#include "model.h"
#include "vec.h"

// y = x * (gamma * is) + (beta - mu * gamma * is) over one channel's row. One out-of-line copy serves
// forward and recompute, so both round alike (the same contractions into fused multiply-adds).
__attribute__((noinline)) static void batchnorm_row(const float *restrict x, float *restrict y, size_t N, float gamma,
                                                    float beta, float mu, float is) {
    float a = gamma * is, b = beta - mu * a;
    for (size_t i = 0; i < N; i++) y[i] = x[i] * a + b;
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
        batchnorm_row(x, y, N, gamma[c], beta[c], mu, is);
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
                      l->save[c], l->save[C + c]);
}

static void batchnorm_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    int C = xs->c;
    size_t N = (size_t)m->cur * xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset;
    float *dgamma = m->grads + m->tensors[l->w].offset, *dbeta = m->grads + m->tensors[l->b].offset;
    const float *mean = l->save, *istd = l->save + C;
    for (int c = 0; c < C; c++) {
        const float *x = xs->val + (size_t)c * N, *dy = m->slots[l->out].grad + (size_t)c * N;
        float mu = mean[c], is = istd[c];
        double sdy = vec_sum(dy, N);
        double sdyx = (vec_dot(dy, x, N) - mu * sdy) * is;   // sum dy * xhat
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!xs->grad) continue;
        float *dx = xs->grad + (size_t)c * N;
        if (!m->train) {   // evaluation mode: mean and istd are constants (running statistics)
            float k = gamma[c] * is;
            for (size_t i = 0; i < N; i++) dx[i] += k * dy[i];
            continue;
        }
        float k = gamma[c] * is, mdy = (float)(sdy / N), mdyx = (float)(sdyx / N);
        for (size_t i = 0; i < N; i++) dx[i] += k * (dy[i] - mdy - (x[i] - mu) * is * mdyx);
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

static const LayerOps batchnorm_ops = {"batchnorm", batchnorm_forward, batchnorm_backward, READS_IN,
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
