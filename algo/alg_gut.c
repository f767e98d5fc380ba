// GUT, Global Update Tracking (Aketi, Hashemi, Roy; NeurIPS 2023), and QG-GUTm, its quasi-global momentum
// variant, in the form of the authors' code (github:aparna-aketi/global_update_tracking: gossip/distributed.py
// transfer_params, models/gut.py, trainer.py train; ../shared/reference/papers-heterogeneous-data.md 4.3).
// One model-sized message per neighbour per step, as D-PSGD: the agent's last model change D_i = x_i - xh_i.
// Each agent keeps its own last-sent model xh_i and ONE running sum s_i = sum_{j!=i} w_ij xh_j of its
// neighbours' (no per-neighbour copies), so G_i = s_i + (w_ii - 1) xh_i = sum_j w_ij (xh_j - xh_i) is the
// gossip pull and, from the same buffers, acc_y = sum_j w_ij D_j + b G_i^{old} (b = 1 + beta, + beta^2
// with Nesterov) is what the neighbours' last updates were. With lr the previous step's learning rate:
//   delta_i = g_i - G_i / lr          (g_i taken at the query point x_i + G_i)
//   y_i     = delta_i - (mu / lr) acc_y_i - mu delta_i^{prev}
//   x_i    <- x_i - lr' * opt(y_i)    (gut: plain SGD on y; qg-gut: the optimizer's momentum on y)
// Closed form (reference 4.4, beta = 0): y_i^t = delta_i^t + mu (sum_j w_ij y_j^{t-1} - g_i^{t-1}), so the
// agents' mean of y is the mean of g at every step (symmetric W). The next query point is x_i + G_i.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct {
    int qg;              // 1: qg-gut (the optimizer's momentum, and the tracker's b = 1 + beta shift)
    float b;             // acc_y's shift of the old gossip term: 1 (gut), 1 + beta (+ beta^2 Nesterov)
    float lr_prev;       // the learning rate the tracker divides by (the previous step's, as the reference)
    float wii;           // Metropolis self-weight of this agent (a static graph)
    float *x;            // (n) the model itself, without the gossip pull: params = x + G
    float *xh;           // (n) xh_i: the model as last sent (neighbours know it)
    float *s;            // (n) sum_{j!=i} w_ij xh_j
    float *G;            // (n) s + (w_ii - 1) xh: the gossip pull
    float *acc;          // (n) acc_y
    float *y;            // (n) the tracker
    float *dprev;        // (n) delta of the previous step
    float *d;            // (n) scratch: this step's D_i, then what goes to a neighbour
    float *r;            // (n) scratch: sum_j w_ij D_j received
    float **pend;        // [out-degree] (n each, allocated at the first drop) D's dropped on the way to a neighbour
    int npend;
} Gut;

static int gut_init_common(Alg *a, int qg) {
    AlgEnv *env = &a->env;
    size_t n = env->n_params;
    Gut *t = xcalloc(1, sizeof *t);
    t->qg = qg;
    const SgdConfig *oc = &env->opt.cfg;
    t->b = qg ? 1.0f + oc->momentum + (oc->nesterov ? oc->momentum * oc->momentum : 0.0f) : 1.0f;
    topo_round(&env->topo, 0, env->g);
    t->wii = (float)mix_gossip_self(env->g, env->id);
    float **bufs[] = {&t->x, &t->xh, &t->s, &t->G, &t->acc, &t->y, &t->dprev, &t->d, &t->r};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) *bufs[k] = xfloats(n);
    // All agents start from the same model (agent.c), so every neighbour's copy is x^0: s = (1 - w_ii) x^0
    // and G = 0 exactly in float (off x - off x); acc_y and delta_prev start at 0.
    float off = 1.0f - t->wii;
    for (size_t i = 0; i < n; i++) {
        t->x[i] = t->xh[i] = env->params[i];
        t->s[i] = off * env->params[i];
        t->G[i] = t->s[i] - off * t->xh[i];
    }
    t->npend = env->g->out_start[env->id + 1] - env->g->out_start[env->id];
    t->pend = xcalloc((size_t)t->npend + 1, sizeof *t->pend);
    t->lr_prev = -1;   // the first step's learning rate
    a->st = t;
    return 0;
}

static int gut_init(Alg *a, Err *e) { (void)e; return gut_init_common(a, 0); }
static int qg_gut_init(Alg *a, Err *e) { (void)e; return gut_init_common(a, 1); }

// Send D (t->d) to out-neighbour k (index in the graph's out row) scaled by w_ij. A drop is known to both
// ends (push_dropped): the sender keeps that D and adds it to its next message to that neighbour, so the
// neighbour's share of s catches up a round late instead of lagging for good.
static int gut_send(Alg *a, int k, int kind, long round, Err *e) {
    AlgEnv *env = &a->env;
    Gut *t = a->st;
    size_t n = env->n_params;
    int j = env->g->out[env->g->out_start[env->id] + k];
    double w = mix_gossip(env->g, env->id, j);
    const float *v = t->d;
    if (t->pend[k]) {   // a D that was dropped before: this message carries it too
        for (size_t i = 0; i < n; i++) t->pend[k][i] += t->d[i];
        v = t->pend[k];
    }
    int dropped = push_dropped(env, env->id, j, kind, round);
    if (push_send(env, j, kind, round, codec_for_id(CODEC_DENSE), v, w, (float)w, e)) return -1;
    if (dropped && !t->pend[k]) {
        t->pend[k] = xfloats(n);
        memcpy(t->pend[k], t->d, n * sizeof *t->d);
    } else if (!dropped && t->pend[k]) {
        free(t->pend[k]);
        t->pend[k] = NULL;
    }
    return 0;
}

// transfer_params: D = x - xh to every neighbour, r = sum_j w_ij D_j (late ones included, a training
// round's too in a consensus round), then
// acc_y = r + w_ii D + b G^{old}; xh += D; s += r; G = s + (w_ii - 1) xh; params = x + G.
static int gut_exchange(Alg *a, int kind, long round, Err *e) {
    AlgEnv *env = &a->env;
    Gut *t = a->st;
    Graph *g = env->g;
    size_t n = env->n_params;
    for (size_t i = 0; i < n; i++) t->d[i] = t->x[i] - t->xh[i];
    if (t->npend != g->out_start[env->id + 1] - g->out_start[env->id]) {
        err_set(e, "agent %d: gut needs a static graph (out-degree changed)", env->id);
        return -1;
    }
    for (int k = 0; k < t->npend; k++)
        if (gut_send(a, k, kind, round, e)) return -1;
    memset(t->r, 0, n * sizeof *t->r);
    double u = 0;
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++) {
        int from = g->in[k];
        if (kind != KIND_GOSSIP && push_drain_late(env, from, KIND_GOSSIP, round, t->r, &u, NULL, e) < 0) return -1;
        if (push_drain_late(env, from, kind, round, t->r, &u, NULL, e) < 0) return -1;   // late D's: catch up
        if (push_recv(env, from, kind, round, t->r, &u, e) < 0) return -1;
    }
    float wii = t->wii, wm1 = t->wii - 1.0f, b = t->b;
    for (size_t i = 0; i < n; i++) {
        t->acc[i] = t->r[i] + wii * t->d[i] + b * t->G[i];
        t->xh[i] += t->d[i];
        t->s[i] += t->r[i];
        t->G[i] = t->s[i] + wm1 * t->xh[i];
        env->params[i] = t->x[i] + t->G[i];
    }
    return 0;
}

// GUT.__call__ then optimizer.step() on p.grad = y, then the next transfer_params. env->grads (n) was
// taken at params = x + G.
static int gut_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Gut *t = a->st;
    size_t n = env->n_params;
    if (t->lr_prev < 0) t->lr_prev = lr;
    float mu = (float)env->cfg->gut_scaling;
    float inv = (float)(-1.0 / t->lr_prev), ca = (float)(-env->cfg->gut_scaling / t->lr_prev), cd = -mu;
    const float *g = env->grads;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + inv * t->G[i];
        t->y[i] = d + ca * t->acc[i] + cd * t->dprev[i];
        t->dprev[i] = d;
    }
    t->lr_prev = lr;
    if (t->qg) sgd_step(&env->opt, t->x, t->y, lr);
    else {   // GUT is the reference's beta = 0 run: plain SGD on y (weight decay as configured)
        Sgd plain = env->opt;
        plain.cfg.momentum = 0;
        sgd_step(&plain, t->x, t->y, lr);
    }
    topo_round(&env->topo, round, env->g);
    return gut_exchange(a, KIND_GOSSIP, round, e);
}

// gossip_avg: no gradient, the model takes its gossip pull (x += G) and the change goes out as a D.
static int gut_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    Gut *t = a->st;
    for (size_t i = 0; i < a->env.n_params; i++) t->x[i] += t->G[i];
    topo_round(&a->env.topo, round, a->env.g);
    return gut_exchange(a, KIND_CONSENSUS, round, e);
}

static void gut_free(Alg *a) {
    Gut *t = a->st;
    if (!t) return;
    float *bufs[] = {t->x, t->xh, t->s, t->G, t->acc, t->y, t->dprev, t->d, t->r};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) free(bufs[k]);
    for (int k = 0; k < t->npend; k++) free(t->pend[k]);
    free(t->pend);
    free(t);
}

// For tests: the tracker y and the model x without its gossip pull (n_params each).
void alg_gut_peek(const Alg *a, const float **x, const float **y) {
    const Gut *t = a->st;
    *x = t->x;
    *y = t->y;
}

// The GUT scaling factor mu (--scaling in the reference); defaults from its test.sh: 0.9 for GUT (beta = 0),
// 0.06 for QG-GUTm (beta = 0.9; its FMNIST runs use 0.01, CIFAR-100 0.005).
#define GUT_WHAT "and qg-gut have a GUT scaling factor (scaling)"
static const AlgKey GUT_KEYS[] = {
    {.key = "scaling", .type = ALG_KEY_NUM, .lo = 0, .hi = 1, .def = 0.9, .offset = offsetof(AlgConfig, gut_scaling),
     .what = GUT_WHAT},
    {.key = NULL},
};
static const AlgKey QG_GUT_KEYS[] = {
    {.key = "scaling", .type = ALG_KEY_NUM, .lo = 0, .hi = 1, .def = 0.06,
     .offset = offsetof(AlgConfig, gut_scaling), .what = GUT_WHAT},
    {.key = NULL},
};

static void gut_label(const AlgConfig *cfg, char *out, size_t n) {
    snprintf(out, n, "%s μ %.3g", cfg->name, cfg->gut_scaling);
}

#define GUT_MISSING "a dropped model change is resent: the sender adds it to its next message to that neighbour " \
                    "(a drop is known to both ends), a late one is taken the next round; until then the neighbour's " \
                    "share of the running sum lags"
#define GUT_UNDIRECTED "tracks its neighbours' updates with a symmetric (Metropolis) W"
#define GUT_FIXED "keeps one running sum of its neighbours' models under fixed weights"

const AlgOps alg_gut_ops = {
    .name = "gut",
    .on_missing = GUT_MISSING,
    .keeps_late = 1,
    .needs = {.undirected = GUT_UNDIRECTED, .fixed = GUT_FIXED},
    .keys = GUT_KEYS,
    .init = gut_init,
    .step = gut_step,
    .consensus = gut_consensus,
    .free = gut_free,
    .label = gut_label,
};

const AlgOps alg_qg_gut_ops = {
    .name = "qg-gut",
    .on_missing = GUT_MISSING,
    .keeps_late = 1,
    .needs = {.undirected = GUT_UNDIRECTED, .fixed = GUT_FIXED},
    .keys = QG_GUT_KEYS,
    .init = qg_gut_init,
    .step = gut_step,
    .consensus = gut_consensus,
    .free = gut_free,
    .label = gut_label,
};
