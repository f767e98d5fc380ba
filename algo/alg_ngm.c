// NGM, Neighborhood Gradient Mean (Aketi, Kodge, Roy; TMLR 2023; first named NGC, arXiv 2209.14390),
// after the authors' optimizers/ngc.py and gossip/gossiper.py (../shared/reference section 3.1). Round t,
// agent i with in-neighbours j on an undirected graph, w_ij the Metropolis weights (1/(d+1) on a ring,
// the code's uniform weights), gamma = algorithm.gamma, alpha = algorithm.alpha:
//   1. gossip:  y_i = x_i + gamma sum_j w_ij (x_j - x_i)           (models x_j of round t, kind NGM_MODEL)
//   2. self-gradient g_ii = grad F(y_i; B_i): the round's own backward pass, taken at y_i
//   3. model-variant cross-gradients g_ji = grad F(x_j; B_i), one grad_at pass per neighbour's model
//   4. second message round: g_ji goes back to j (kind NGM_GRAD); i gets g_ij = grad F(x_i; B_j), the
//      data-variant cross-gradients (its model on its neighbours' batches). Skipped when alpha = 0.
//   5. d_i = alpha (g_ii + sum_j g_ij) / (1 + #g_ij) + (1 - alpha) (g_ii + sum_j g_ji) / (1 + #g_ji)
//   6. x_i <- SGD(y_i, d_i): the local optimizer (momentum, Nesterov, weight decay at y_i, as the code's
//      torch SGD); optimizer.quasi_global gives the code's --qgm (the momentum follows y's displacement).
// The round's gradient is taken where step leaves the parameters, so step t ends with the gossip of
// round t + 1 (steps 4-6 of t, then 1 of t + 1) and leaves y_i there; x_i and the x_j of t + 1 stay
// for the next step's cross-gradients. The first step (or one after a consensus round) gossips first:
// if that moves y_i off the point the gradient was taken at, it takes g_ii again there (one grad_at).
// Costs per step: 2 vectors to each neighbour (1 with alpha 0), d extra forward+backward passes.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"

enum { NGM_MODEL = KIND_USER, NGM_GRAD = KIND_USER + 1 };

typedef struct {
    float *nbr;        // (cap, n_params) row k: the model x_j of the k-th in-neighbour, of round `ready`
    uint8_t *have;     // (cap) 1: row k arrived
    int cap;
    float *g;          // (n_params) one model-variant cross-gradient g_ji
    float *mv, *dv;    // (n_params) g_ii + sum_j g_ji; g_ii + sum_j g_ij
    float *self;       // (n_params) g_ii taken again after the first gossip (NULL until needed)
    float *acc;        // (n_params) the gossip's sum_j w_ij (x_j - x_i)
    long ready;        // the round whose x_j are in nbr and whose y_i is in params (-1: none)
} Ngm;

static int ngm_init(Alg *a, Err *e) {
    (void)e;
    AlgEnv *env = &a->env;
    Ngm *t = xcalloc(1, sizeof *t);
    t->g = xfloats(env->n_params);
    t->mv = xfloats(env->n_params);
    t->dv = xfloats(env->n_params);
    t->acc = xfloats(env->n_params);
    t->ready = -1;
    a->st = t;
    return 0;
}

// Models of `round` out (params, x_i) and in (rows of nbr, in the in-list's order), then the gossip
// params = y_i. A missing model is left out and the others' weights renormalized (as gossip_mix_diff).
static int ngm_gossip(Alg *a, long round, Err *e) {
    AlgEnv *env = &a->env;
    Ngm *t = a->st;
    Graph *g = env->g;
    size_t n = env->n_params;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    topo_round(&env->topo, round, g);
    int deg = g->in_start[env->id + 1] - g->in_start[env->id];
    if (deg > t->cap) {
        free(t->nbr);
        free(t->have);
        t->nbr = xfloats((size_t)deg * n);
        t->have = xcalloc((size_t)deg, 1);
        t->cap = deg;
    }
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++)
        if (push_send(env, g->out[k], NGM_MODEL, round, dense, env->params, 1.0, 1.0f, e)) return -1;
    memset(t->acc, 0, n * sizeof *t->acc);
    double all = 0, got = 0;
    for (int k = 0; k < deg; k++) {
        int j = g->in[g->in_start[env->id] + k];
        float *row = t->nbr + (size_t)k * n, w = (float)mix_gossip(g, env->id, j);
        double mass = 0;
        memset(row, 0, n * sizeof *row);
        int rc = push_recv(env, j, NGM_MODEL, round, row, &mass, e);   // row = x_j
        if (rc < 0) return -1;
        t->have[k] = (uint8_t)rc;
        all += w;
        if (!rc) continue;
        got += w;
        for (size_t i = 0; i < n; i++) t->acc[i] += w * (row[i] - env->params[i]);
    }
    float scale = (float)(env->cfg->gamma * (got == all ? 1.0 : 1.0 / (1.0 - all + got)));
    for (size_t i = 0; i < n; i++) env->params[i] += scale * t->acc[i];
    t->ready = round;
    return 0;
}

// Steps 3-4: mv = self + sum_j g_ji (g_ji sent back to j unless alpha is 0) and, unless alpha is 0,
// dv = self + the g_ij that came back. Counts in cnt[0] (model-variant) and cnt[1] (data-variant).
static int ngm_cross(Alg *a, long round, const float *self, double cnt[2], Err *e) {
    AlgEnv *env = &a->env;
    Ngm *t = a->st;
    const Graph *g = env->g;
    size_t n = env->n_params;
    int send = env->cfg->alpha > 0;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    memcpy(t->mv, self, n * sizeof *t->mv);
    cnt[0] = cnt[1] = 0;
    for (int k = 0; k < g->in_start[env->id + 1] - g->in_start[env->id]; k++) {
        if (!t->have[k]) continue;   // no model, no cross-gradient (j expects none: it knows the drop)
        int j = g->in[g->in_start[env->id] + k];
        if (env->model.grad_at(env->model.ctx, t->nbr + (size_t)k * n, t->g, NULL, e)) return -1;
        for (size_t i = 0; i < n; i++) t->mv[i] += t->g[i];
        cnt[0] += 1;
        if (send && push_send(env, j, NGM_GRAD, round, dense, t->g, 1.0, 1.0f, e)) return -1;
    }
    if (!send) return 0;
    memcpy(t->dv, self, n * sizeof *t->dv);
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++) {
        int j = g->out[k];
        if (push_dropped(env, env->id, j, NGM_MODEL, round)) continue;   // j got no model: no answer
        if (push_recv(env, j, NGM_GRAD, round, t->dv, &cnt[1], e) < 0) return -1;   // cnt[1] += 1 per answer
    }
    return 0;
}

static int ngm_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Ngm *t = a->st;
    size_t n = env->n_params;
    const float *self = env->grads;
    if (t->ready != round) {   // the first step: gossip now, and take g_ii at y_i if that moved it
        if (!t->self) t->self = xfloats(n);
        memcpy(t->self, env->params, n * sizeof *t->self);   // x_i, where the round's gradient was taken
        if (ngm_gossip(a, round, e)) return -1;
        int moved = 0;   // by value: -0 + 0 is +0, and that moves nothing
        for (size_t i = 0; i < n && !moved; i++) moved = t->self[i] != env->params[i];
        if (moved) {
            if (env->model.grad_at(env->model.ctx, env->params, t->self, NULL, e)) return -1;
            self = t->self;
        }
    } else topo_round(&env->topo, round, env->g);
    double cnt[2];
    if (ngm_cross(a, round, self, cnt, e)) return -1;
    // d = alpha dv / (1 + #dv) + (1 - alpha) mv / (1 + #mv), into mv
    double alpha = env->cfg->alpha;
    float wd = (float)(alpha / (1 + cnt[1])), wm = (float)((1 - alpha) / (1 + cnt[0]));
    if (alpha >= 1) for (size_t i = 0; i < n; i++) t->mv[i] = wd * t->dv[i];
    else if (alpha <= 0) for (size_t i = 0; i < n; i++) t->mv[i] *= wm;
    else for (size_t i = 0; i < n; i++) t->mv[i] = wd * t->dv[i] + wm * t->mv[i];
    sgd_step_qg(&env->opt, env->params, env->params, t->mv, lr);   // x_i = SGD(y_i, d_i)
    if (ngm_gossip(a, round + 1, e)) return -1;                      // y_i of the next round
    sgd_qg_track(&env->opt, env->params, lr);
    return 0;
}

static int ngm_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;   // dense, step 1: the plain average, as dpsgd
    Ngm *t = a->st;
    t->ready = -1;          // the neighbours' models kept for the next step are stale now
    topo_round(&a->env.topo, round, a->env.g);
    return gossip_mix(&a->env, KIND_CONSENSUS, round, a->env.params, a->env.params, e);
}

static void ngm_free(Alg *a) {
    Ngm *t = a->st;
    free(t->nbr); free(t->have); free(t->g); free(t->mv); free(t->dv); free(t->self); free(t->acc);
    free(t);
}

// alpha 1 (data-variant cross-gradients) is what the authors' scripts run (test.sh, README: --alpha 1.0).
static const AlgKey NGM_KEYS[] = {
    {.key = "alpha", .type = ALG_KEY_NUM, .lo = 0, .hi = 1, .def = 1, .offset = offsetof(AlgConfig, alpha),
     .what = "mixes data- and model-variant cross-gradients with an alpha"},
    {.key = NULL},
};

static void ngm_label(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_mixing(cfg, out, n);
    size_t l = strlen(out);
    if (l < n) snprintf(out + l, n - l, ", α %.3g", cfg->alpha);
}

const AlgOps alg_ngm_ops = {
    .name = "ngm",
    .on_missing = "a missing model is left out of the gossip (the rest renormalized) and gets no cross-gradient "
                  "back; a missing cross-gradient is left out of its mean",
    .keeps_late = 0,
    .needs = {.undirected = "sends each cross-gradient back along the edge its model came by"},
    .keys = NGM_KEYS,
    .quasi_global = 1,
    .init = ngm_init,
    .step = ngm_step,
    .consensus = ngm_consensus,
    .free = ngm_free,
    .label = ngm_label,
};
