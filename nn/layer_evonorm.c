// EvoNorm-S0 as the reference code (EvoNormSample2d) computes it: per sample and group of channels,
// y = x * hardsigmoid(x) / sqrt(var_group(x) + eps) * gamma + beta, biased variance, no running stats.
#include <math.h>
#include "model.h"


static inline float hsig(float x) { float v = x / 6.0f + 0.5f; return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
static inline float hsig_grad(float x) { return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f; }

// save = mean[B*G], rstd[B*G] (rstd = 1/sqrt(var + eps)).
static void evonorm_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    const Slot *xs = &m->slots[l->in];
    int B = m->cur, C = xs->c, G = l->groups, cg = C / G, HW = xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset, *beta = m->params + m->tensors[l->b].offset;
    float *mean = l->save, *rstd = l->save + (size_t)m->batch * G;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++) {
            double mu;
            float r = group_moments(xs->val, B, b, g * cg, (g + 1) * cg, HW, l->eps, &mu);
            mean[b * G + g] = (float)mu; rstd[b * G + g] = r;
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                float *y = m->slots[l->out].val + ((size_t)c * B + b) * HW;
                float a = gamma[c] * r;
                for (int i = 0; i < HW; i++) y[i] = x[i] * hsig(x[i]) * a + beta[c];
            }
        }
}

static void evonorm_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    int B = m->cur, C = xs->c, G = l->groups, cg = C / G, HW = xs->h * xs->w;
    const float *gamma = m->params + m->tensors[l->w].offset;
    float *dgamma = m->grads + m->tensors[l->w].offset, *dbeta = m->grads + m->tensors[l->b].offset;
    const float *mean = l->save, *rstd = l->save + (size_t)m->batch * G;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++) {
            float mu = mean[b * G + g], r = rstd[b * G + g];
            double dr = 0.0;   // d loss / d rstd
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                const float *dy = m->slots[l->out].grad + ((size_t)c * B + b) * HW;
                double sdy = 0.0, sdyn = 0.0;
                for (int i = 0; i < HW; i++) { float n = x[i] * hsig(x[i]); sdy += dy[i]; sdyn += dy[i] * n; }
                dgamma[c] += (float)(sdyn * r);
                dbeta[c] += (float)sdy;
                dr += gamma[c] * sdyn;
            }
            if (!xs->grad) continue;
            // rstd = (var + eps)^(-1/2): d rstd / d var = -rstd^3 / 2; d var / d x_i = 2 (x_i - mu) / L.
            float L = (float)cg * HW;
            float kvar = (float)(dr * (-0.5) * r * r * r) * 2.0f / L;
            for (int c = g * cg; c < (g + 1) * cg; c++) {
                const float *x = xs->val + ((size_t)c * B + b) * HW;
                const float *dy = m->slots[l->out].grad + ((size_t)c * B + b) * HW;
                float *dx = xs->grad + ((size_t)c * B + b) * HW;
                float a = gamma[c] * r;
                for (int i = 0; i < HW; i++) {
                    float dn = hsig(x[i]) + x[i] * hsig_grad(x[i]);
                    dx[i] += dy[i] * a * dn + kvar * (x[i] - mu);
                }
            }
        }
}

static const LayerOps evonorm_ops = {"evonorm-s0", evonorm_forward, evonorm_backward, READS_IN, NULL};

// The reference asserts C % groups == 0; we take the largest group count <= groups dividing C
// (LeNet-5's 6 channels get 6 groups) and say so in docs/models.md.
int model_evonorm(Model *m, int in, int groups) {
    Slot x = m->slots[in];
    while (groups > 1 && x.c % groups) groups--;
    int out = model_slot_new(m, x.c, x.h, x.w);
    Layer *l = model_layer_new(m, &evonorm_ops, in, -1, out);
    l->eps = 1e-5f; l->groups = groups;
    norm_affine_new(m, l, "evo", x.c);
    l->save_n = 2 * (size_t)m->batch * groups;
    return out;
}

int model_norm_act(Model *m, int in, NormKind kind, int act) {
    switch (kind) {
    case NORM_EVO: return model_evonorm(m, in, 8);   // EvoNorm-S0 carries its own activation
    case NORM_REVO: return model_range_evonorm(m, in, 8, INIT_UNIFORM_POS);   // gamma ~ U(0, 1) as RangeEN
    case NORM_BATCH: in = model_batchnorm(m, in); break;
    case NORM_GROUP: in = model_groupnorm(m, in, 2); break;   // 2 groups, as the reference repos
    case NORM_NONE: break;
    }
    return act ? model_relu(m, in) : in;
}
