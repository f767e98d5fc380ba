// Training one model on one machine: the epoch loop and evaluation. Random streams are derived
// from the seed (init, data order and augmentation, dropout), so one seed gives one run, bit for bit.
#include "train.h"
#include <stdlib.h>
#include <string.h>

double model_evaluate(Model *m, const Dataset *d, int n, double *loss) {
    return model_evaluate_tick(m, d, n, loss, NULL, NULL);
}

double model_evaluate_tick(Model *m, const Dataset *d, int n, double *loss, void (*tick)(void *), void *ctx) {
    if (n <= 0 || n > d->n) n = d->n;
    int *idx = xmalloc(sizeof(int) * (size_t)m->batch);
    uint8_t *y = xmalloc((size_t)m->batch);
    double total_loss = 0.0;
    long correct = 0;
    for (int s = 0; s < n; s += m->batch) {
        int b = n - s < m->batch ? n - s : m->batch;
        for (int i = 0; i < b; i++) idx[i] = s + i;
        dataset_batch(d, idx, b, 0, NULL, model_input(m), y);
        model_forward(m, b, 0, NULL);
        int ok = 0;
        total_loss += (double)model_loss(m, y, &ok) * b;
        correct += ok;
        if (tick) tick(ctx);
    }
    free(idx); free(y);
    if (loss) *loss = n ? total_loss / n : 0.0;
    return n ? (double)correct / n : 0.0;
}

int train_run(Model *m, const Dataset *train, const Dataset *test, const TrainConfig *cfg,
              const TrainHooks *hooks, TrainReport *out, Err *e) {
    if (train->c != m->slots[0].c || train->h != m->slots[0].h || train->w != m->slots[0].w) {
        err_set(e, "dataset %s gives %dx%dx%d images, model %s expects %dx%dx%d", train->name, train->c,
                train->h, train->w, m->name, m->slots[0].c, m->slots[0].h, m->slots[0].w);
        return -1;
    }
    int n = cfg->limit_train > 0 && cfg->limit_train < train->n ? cfg->limit_train : train->n;
    int B = m->batch, steps = (n + B - 1) / B;
    Rng data_rng = rng_derive(cfg->seed, 2), drop_rng = rng_derive(cfg->seed, 3);
    Sgd sgd;
    sgd_init_model(&sgd, &cfg->sgd, m);
    int *order = xmalloc(sizeof(int) * (size_t)n);
    uint8_t *y = xmalloc((size_t)B);
    TrainReport r;
    memset(&r, 0, sizeof r);
    r.epochs = cfg->epochs; r.steps = steps;
    double t0 = time_now(), images = 0.0, train_s = 0.0;
    for (int ep = 0; ep < cfg->epochs; ep++) {
        for (int i = 0; i < n; i++) order[i] = i;
        rng_shuffle_int(&data_rng, order, n);
        double loss_sum = 0.0;
        long correct = 0, seen = 0;
        r.epoch = ep + 1;
        double te = time_now();
        for (int s = 0; s < steps; s++) {
            int b = n - s * B < B ? n - s * B : B;
            dataset_batch(train, order + (size_t)s * B, b, 1, &data_rng, model_input(m), y);
            model_forward(m, b, 1, &drop_rng);
            int ok = 0;
            loss_sum += (double)model_loss(m, y, &ok) * b;
            correct += ok; seen += b;
            model_backward(m);
            r.lr = schedule_lr(&cfg->sched, cfg->sgd.lr, ep + (double)s / steps, cfg->epochs);
            sgd_step(&sgd, m->params, m->grads, (float)r.lr);
            images += b;
            if (hooks && hooks->on_step && (s % 50 == 49 || s == steps - 1)) {
                r.step = s + 1;
                r.train_loss = loss_sum / seen; r.train_acc = (double)correct / seen;
                r.seconds = time_now() - t0;
                r.images_per_s = images / (train_s + time_now() - te);
                double left = (double)(cfg->epochs - ep) * n - (double)(s + 1) * B;
                r.eta_s = left > 0 ? left / r.images_per_s : 0.0;
                hooks->on_step(&r, hooks->ctx);
            }
        }
        train_s += time_now() - te;
        r.step = steps;
        r.train_loss = loss_sum / seen; r.train_acc = (double)correct / seen;
        r.test_acc = model_evaluate(m, test, cfg->limit_test, &r.test_loss);
        r.seconds = time_now() - t0;
        r.images_per_s = images / train_s;   // training throughput, evaluation excluded
        r.eta_s = r.seconds / (ep + 1) * (cfg->epochs - ep - 1);
        if (hooks && hooks->on_epoch) hooks->on_epoch(&r, hooks->ctx);
    }
    free(order); free(y);
    sgd_free(&sgd);
    if (out) *out = r;
    return 0;
}

void sgd_init_model(Sgd *s, const SgdConfig *cfg, const Model *m) {
    Span *norm = xmalloc(sizeof(Span) * (size_t)(m->n_tensors ? m->n_tensors : 1));
    sgd_init(s, cfg, m->n_params, norm, model_norm_spans(m, norm));
    free(norm);
}

json_t *model_memory_json(const Model *m) {
    ModelMemory mm;
    model_memory(m, &mm);
    return json_pack("{s:i, s:I, s:I, s:I, s:I}", "bits", mm.bits, "weights", (json_int_t)mm.weights, "activations",
                     (json_int_t)mm.activations, "gradients", (json_int_t)mm.gradients, "master",
                     (json_int_t)mm.master);
}
