// SGD with momentum, Nesterov and weight decay over the flat parameter vector, and the
// learning-rate schedules (warm-up, multi-step, cosine).
#include "optim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sgd_init(Sgd *s, const SgdConfig *cfg, size_t n, const Span *no_decay, int n_no_decay) {
    s->cfg = *cfg;
    s->n = n;
    s->buf = xfloats(s->n);
    s->decay = xfloats(s->n);
    for (size_t i = 0; i < n; i++) s->decay[i] = cfg->weight_decay;
    for (int t = 0; t < n_no_decay && !cfg->decay_norm; t++)
        for (size_t i = 0; i < no_decay[t].count; i++) s->decay[no_decay[t].offset + i] = 0.0f;
    s->qg_before = cfg->quasi_global ? xfloats(s->n) : NULL;
}

void sgd_step(Sgd *s, float *restrict x, const float *restrict g, float lr) {
    float mu = s->cfg.momentum;
    float *restrict buf = s->buf;
    const float *restrict wd = s->decay;
    size_t n = s->n;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) x[i] -= lr * (g[i] + wd[i] * x[i]);
    } else if (s->cfg.nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd[i] * x[i];
            buf[i] = mu * buf[i] + d;
            x[i] -= lr * (d + mu * buf[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd[i] * x[i];
            buf[i] = mu * buf[i] + d;
            x[i] -= lr * buf[i];
        }
    }
}

void sgd_free(Sgd *s) {
    free(s->buf); free(s->decay); free(s->qg_before);
    s->buf = s->decay = s->qg_before = NULL;
}

// The local step with a copy of the momentum: t = mu m + d stands in for the updated buffer, m is kept.
void sgd_step_qg(Sgd *s, float *restrict x, const float *z, const float *restrict g, float lr) {
    if (!s->cfg.quasi_global) { sgd_step(s, x, g, lr); return; }
    memcpy(s->qg_before, z, s->n * sizeof *z);
    float mu = s->cfg.momentum;
    const float *restrict buf = s->buf, *restrict wd = s->decay;
    size_t n = s->n;
    int nesterov = s->cfg.nesterov;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd[i] * x[i];
        float t = mu * buf[i] + d;
        x[i] -= lr * (nesterov ? d + mu * t : t);
    }
}

// 1e-8 floors lr as Lin et al.'s code does (a zero learning rate would divide by zero).
void sgd_qg_track(Sgd *s, const float *restrict z, float lr) {
    if (!s->cfg.quasi_global) return;
    float mu = s->cfg.momentum, f = (1.0f - mu) / (lr > 1e-8f ? lr : 1e-8f);
    float *restrict buf = s->buf;
    const float *restrict before = s->qg_before;
    for (size_t i = 0; i < s->n; i++) buf[i] = mu * buf[i] + f * (before[i] - z[i]);
}

// Warm-up ramps linearly from lr/10 at epoch 0 to lr at warmup_epochs (the low-precision
// paper's code trains its first epoch at lr/10); after it, the schedule's shape applies.
float schedule_lr(const Schedule *s, float lr, double epoch, double total) {
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return (float)(lr * (0.1 + 0.9 * epoch / s->warmup_epochs));
    switch (s->kind) {
    case SCHED_CONSTANT: return lr;
    case SCHED_MULTISTEP: {
        float f = lr;
        for (int i = 0; i < s->n_milestones; i++)
            if (epoch >= s->milestones[i] * total) f *= s->gamma;
        return f;
    }
    case SCHED_COSINE: {
        double t0 = s->warmup_epochs, span = total - t0;
        double p = span > 0 ? (epoch - t0) / span : 1.0;
        if (p > 1.0) p = 1.0;
        double lo = lr * s->min_lr_frac;
        return (float)(lo + (lr - lo) * 0.5 * (1.0 + cos(3.141592653589793 * p)));
    }
    }
    return lr;
}

const char *schedule_names(void) { return "constant, multistep, cosine"; }

int schedule_parse(const char *name, SchedKind *out) {
    static const char *names[] = {"constant", "multistep", "cosine"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) { *out = (SchedKind)i; return 0; }
    return -1;
}
