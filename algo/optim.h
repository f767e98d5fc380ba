// SGD with momentum, Nesterov and weight decay over the flat parameter vector, and the
// learning-rate schedules (warm-up, multi-step, cosine) as functions of fractional epochs.
#ifndef MESHTRAIN_OPTIM_H
#define MESHTRAIN_OPTIM_H
#include <stddef.h>
#include "util.h"

typedef struct {
    float lr, momentum, weight_decay;
    int nesterov;
    int decay_norm;       // 1: weight decay also on norm scales/shifts and biases
    int quasi_global;     // 1: quasi-global momentum (Lin et al. 2021): see sgd_step_qg
} SgdConfig;

typedef struct {
    SgdConfig cfg;
    size_t n;
    float *buf;           // momentum buffer, n floats (flat, like the parameters)
    float *decay;         // per-parameter weight-decay factor (wd or 0), n floats
    float *qg_before;     // quasi_global: the model before the step, n floats (else NULL)
} Sgd;

// n parameters; the runs in no_decay (norm scales and shifts, biases) get no weight decay unless
// cfg->decay_norm. The optimizer knows flat vectors, not layers (model_norm_spans gives these runs).
void sgd_init(Sgd *s, const SgdConfig *cfg, size_t n, const Span *no_decay, int n_no_decay);
// params -= lr * update(grads), PyTorch's SGD semantics (dampening 0).
void sgd_step(Sgd *s, float *params, const float *grads, float lr);
void sgd_free(Sgd *s);

// Quasi-global momentum (Lin et al. 2021), for the algorithms that define it (AlgOps.quasi_global).
// Without cfg.quasi_global these are sgd_step and nothing. With it, sgd_step_qg keeps z (n), the model
// the gradient was taken at, and steps x (n) as sgd_step would but with a copy of the momentum (the
// buffer m stays as it was); after the mix, sgd_qg_track sets m = beta m + (1 - beta)(z_before - z) / lr
// with z the model after the mix: m follows the model's whole displacement, neighbours' pull included.
// x and z are the same vector except on push-sum (x the numerator, z = x / u the de-biased model).
void sgd_step_qg(Sgd *s, float *x, const float *z, const float *grads, float lr);
void sgd_qg_track(Sgd *s, const float *z, float lr);

typedef enum { SCHED_CONSTANT, SCHED_MULTISTEP, SCHED_COSINE } SchedKind;

typedef struct {
    SchedKind kind;
    float warmup_epochs;      // linear ramp from lr/10 to lr over these epochs
    float milestones[8];      // fractions of training, for multistep
    int n_milestones;
    float gamma;              // multistep factor
    float min_lr_frac;        // cosine floor as a fraction of lr
} Schedule;

// Learning rate at fractional epoch `epoch` out of `total`.
float schedule_lr(const Schedule *s, float lr, double epoch, double total);
const char *schedule_names(void);
int schedule_parse(const char *name, SchedKind *out);

#endif
