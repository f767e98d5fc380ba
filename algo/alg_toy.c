// A teaching example, not a paper's algorithm (docs/adding-an-algorithm.md walks through it): every
// callback an algorithm may use, in the fewest lines. Each step, on an undirected graph:
//   1. models out:  send x_i to every neighbour j (message kind TOY_MODEL);
//   2. gradients back: for each neighbour's x_j, g_ij = grad of MY loss on MY batch at x_j
//      (env.model.grad_at), sent back to j (kind TOY_GRAD): two message rounds in one step;
//   3. d_i = (g_i + sum_j g_ji) / (1 + count), the mean of the gradients of the neighbourhood's
//      losses at x_i; x_i <- SGD(x_i, d_i), then gossip averaging with Metropolis weights (as D-PSGD).
// With feature_weight w > 0 it also adds w/2 mean_b ||f_b - fbar_b||^2 to the loss, where f are the
// batch's penultimate features at x_i and fbar their mean at the neighbours' last models (computed
// in on_batch with env.model.features_at, pulled towards in feature_loss): CCL's shape, not its loss.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"

enum { TOY_MODEL = KIND_USER, TOY_GRAD = KIND_USER + 1 };

typedef struct {
    float *nbr;        // (n, n_params) the neighbours' models of the last step, by agent id
    uint8_t *have;     // (n) 1: nbr row j holds j's model of the last step
    float *g, *d;      // (n_params) a cross-gradient; the step's direction
    float *xfeat;      // (max_batch, feature_dim) the batch's features at the neighbours' models
    int xfeat_ok;      // xfeat is this round's
} Toy;

static int toy_init(Alg *a, Err *e) {
    (void)e;
    AlgEnv *env = &a->env;
    Toy *t = xcalloc(1, sizeof *t);
    t->nbr = xfloats((size_t)env->n * env->n_params);
    t->have = xcalloc((size_t)env->n, 1);
    t->g = xfloats(env->n_params);
    t->d = xfloats(env->n_params);
    if (env->cfg->feature_weight > 0) t->xfeat = xfloats((size_t)env->model.max_batch * env->model.feature_dim);
    a->st = t;
    return 0;
}

// Models out, then each neighbour's model in (row j of nbr). A missing one leaves have[j] at 0.
static int toy_models(Alg *a, long round, Err *e) {
    AlgEnv *env = &a->env;
    Toy *t = a->st;
    const Graph *g = env->g;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++)
        if (push_send(env, g->out[k], TOY_MODEL, round, dense, env->params, 1.0, 1.0f, e)) return -1;
    memset(t->have, 0, (size_t)env->n);
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++) {
        int j = g->in[k];
        float *row = t->nbr + (size_t)j * env->n_params;
        double mass = 0;
        memset(row, 0, env->n_params * sizeof *row);
        int got = push_recv(env, j, TOY_MODEL, round, row, &mass, e);   // row = 1 * x_j
        if (got < 0) return -1;
        t->have[j] = (uint8_t)got;
    }
    return 0;
}

// Cross-gradients back to whoever sent a model, and ours in: d = own + what came back; returns count.
static int toy_cross_grads(Alg *a, long round, Err *e) {
    AlgEnv *env = &a->env;
    Toy *t = a->st;
    const Graph *g = env->g;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++) {
        int j = g->in[k];
        if (!t->have[j]) continue;
        if (env->model.grad_at(env->model.ctx, t->nbr + (size_t)j * env->n_params, t->g, NULL, e)) return -1;
        if (push_send(env, j, TOY_GRAD, round, dense, t->g, 1.0, 1.0f, e)) return -1;
    }
    memcpy(t->d, env->grads, env->n_params * sizeof *t->d);
    double count = 0;
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++) {
        int j = g->out[k];
        if (push_dropped(env, env->id, j, TOY_MODEL, round)) continue;   // j got no model: no answer
        if (push_recv(env, j, TOY_GRAD, round, t->d, &count, e) < 0) return -1;   // count += 1 per answer
    }
    return (int)count;
}

static int toy_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Toy *t = a->st;
    topo_round(&env->topo, round, env->g);
    if (toy_models(a, round, e)) return -1;
    int count = toy_cross_grads(a, round, e);
    if (count < 0) return -1;
    float inv = 1.0f / (float)(1 + count);
    for (size_t i = 0; i < env->n_params; i++) t->d[i] *= inv;
    sgd_step(&env->opt, env->params, t->d, lr);
    return gossip_mix(env, KIND_GOSSIP, round, env->params, env->params, e);
}

static int toy_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;   // dense, step 1: the toy keeps to the plain average
    topo_round(&a->env.topo, round, a->env.g);
    return gossip_mix(&a->env, KIND_CONSENSUS, round, a->env.params, a->env.params, e);
}

// Before the round's forward pass: the batch's features at each neighbour's last model, averaged.
static int toy_on_batch(Alg *a, long round, Err *e) {
    (void)round;
    AlgEnv *env = &a->env;
    Toy *t = a->st;
    t->xfeat_ok = 0;
    if (!t->xfeat) return 0;
    size_t cells = (size_t)env->model.max_batch * env->model.feature_dim;
    float *f = xfloats(cells);
    int count = 0, b = 0;
    memset(t->xfeat, 0, cells * sizeof *f);
    for (int j = 0; j < env->n; j++) {
        if (!t->have[j]) continue;
        if (env->model.features_at(env->model.ctx, t->nbr + (size_t)j * env->n_params, f, NULL, &b, e)) {
            free(f);
            return -1;
        }
        for (size_t i = 0; i < (size_t)b * env->model.feature_dim; i++) t->xfeat[i] += f[i];
        count++;
    }
    free(f);
    for (size_t i = 0; count && i < (size_t)b * env->model.feature_dim; i++) t->xfeat[i] /= (float)count;
    t->xfeat_ok = count > 0;
    return 0;
}

// w/2 mean_b ||f_b - fbar_b||^2: its gradient w (f_b - fbar_b) / B pulls the features, not fbar.
static int toy_feature_loss(Alg *a, const float *feat, const uint8_t *y, int batch, int dim, float *dfeat,
                            double *loss, Err *e) {
    (void)y; (void)e;
    Toy *t = a->st;
    size_t cells = (size_t)batch * dim;
    double w = a->env.cfg->feature_weight, sum = 0;
    for (size_t i = 0; i < cells; i++) {
        double diff = t->xfeat_ok ? (double)feat[i] - t->xfeat[i] : 0.0;
        sum += diff * diff;
        dfeat[i] = (float)(w * diff / batch);
    }
    *loss = 0.5 * w * sum / batch;
    return 0;
}

static void toy_free(Alg *a) {
    Toy *t = a->st;
    free(t->nbr); free(t->have); free(t->g); free(t->d); free(t->xfeat);
    free(t);
}

static const AlgKey TOY_KEYS[] = {
    {.key = "feature_weight", .type = ALG_KEY_NUM, .lo = 0, .hi = 10, .def = 0,
     .offset = offsetof(AlgConfig, feature_weight), .what = "has a feature_weight"},
    {.key = NULL},
};

static void toy_label(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_mixing(cfg, out, n);
    size_t l = strlen(out);
    if (cfg->feature_weight > 0 && l < n) snprintf(out + l, n - l, ", feature weight %.3g", cfg->feature_weight);
}

const AlgOps alg_toy_ops = {
    .name = "toy-crossgrad",
    .on_missing = "a missing model gets no cross-gradient back; a missing cross-gradient is left out of the mean; "
                  "gossip renormalizes as dpsgd",
    .keeps_late = 0,
    .needs = {.undirected = "sends each cross-gradient back along the edge its model came by"},
    .keys = TOY_KEYS,
    .init = toy_init,
    .step = toy_step,
    .consensus = toy_consensus,
    .free = toy_free,
    .on_batch = toy_on_batch,
    .feature_loss = toy_feature_loss,
    .label = toy_label,
};
