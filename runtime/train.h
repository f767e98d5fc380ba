// Training one model on one machine: the epoch loop (shuffle, batches, forward, loss, backward,
// SGD step) and evaluation on a test set. Progress goes to a callback; nothing here prints.
#ifndef MESHTRAIN_TRAIN_H
#define MESHTRAIN_TRAIN_H
#include <stdint.h>
#include <jansson.h>
#include "data.h"
#include "model.h"
#include "optim.h"

typedef struct {
    int epochs;
    uint64_t seed;
    SgdConfig sgd;
    Schedule sched;
    int limit_train;      // use only the first N training samples (0: all)
    int limit_test;       // evaluate on the first N test samples (0: all)
} TrainConfig;

typedef struct {
    int epoch, epochs;          // 1-based epoch just finished (or running, for step reports)
    int step, steps;            // steps done in this epoch / per epoch
    double train_loss, train_acc;
    double test_loss, test_acc; // filled at the end of each epoch
    double lr, seconds, images_per_s, eta_s;
} TrainReport;

typedef struct {
    void (*on_step)(const TrainReport *r, void *ctx);    // called every few steps (may be NULL)
    void (*on_epoch)(const TrainReport *r, void *ctx);   // called after each epoch's evaluation
    void *ctx;
} TrainHooks;

// Train m; the final epoch's report goes to *out. Returns 0, or -1 with e set.
int train_run(Model *m, const Dataset *train, const Dataset *test, const TrainConfig *cfg,
              const TrainHooks *hooks, TrainReport *out, Err *e);
// Accuracy in [0,1] of m on the first n samples of d (n <= 0: all); mean loss to *loss.
double model_evaluate(Model *m, const Dataset *d, int n, double *loss);
// The same, calling tick(ctx) after every batch (a heartbeat during long evaluations); tick may be NULL.
double model_evaluate_tick(Model *m, const Dataset *d, int n, double *loss, void (*tick)(void *), void *ctx);

// The optimizer over m's flat parameters, with no weight decay on its norm and bias tensors (unless
// cfg->decay_norm): sgd_init with m's spans.
void sgd_init_model(Sgd *s, const SgdConfig *cfg, const Model *m);

// The bytes of m at its precision (model_memory) as {"bits", "weights", "activations", "gradients", "master"}.
json_t *model_memory_json(const Model *m);

#endif
