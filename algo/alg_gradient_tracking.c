// Gradient tracking: x <- W(x - lr (g - c)), c <- W(c - g) + g, where c tracks the gap between the
// average gradient and the agent's own. Both vectors go to each neighbour in one message (8 bytes a
// parameter, twice D-PSGD's), mixed with Metropolis weights on an undirected graph.
#include <stdlib.h>
#include <string.h>
#include "alg.h"

// Written with the local optimizer's update u (x after the local step minus x before) and the
// correction y in parameter units, as RelaySGD's code tracks optimizer updates:
//     x <- W(x + u + y),   y <- W(y + u) - u.
// With plain SGD at a constant lr (u = -lr g) this is the rule above with y = lr c; with momentum, u
// is the local Nesterov or heavy-ball step. sum_i y_i stays 0, so the mean moves by the mean update.
enum { KIND_GT = KIND_USER };

typedef struct {
    float *y;            // (n_params) the correction, in parameter units
    float *u;            // (n_params) this step's local update
    float *acc;          // (2 n_params) the weighted sum of the neighbours' [x | y]
} Gt;

static int gt_init(Alg *a, Err *e) {
    (void)e;
    size_t n = a->env.n_params;
    Gt *t = xcalloc(1, sizeof *t);
    t->y = xfloats(n);
    t->u = xfloats(n);
    t->acc = xfloats(2 * n);
    a->st = t;
    return 0;
}

static int gt_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Gt *t = a->st;
    float *x = env->params;
    size_t n = env->n_params;
    memcpy(t->u, x, n * sizeof *x);
    sgd_step(&env->opt, x, env->grads, lr);
    for (size_t i = 0; i < n; i++) {
        t->u[i] = x[i] - t->u[i];
        x[i] += t->y[i];
        t->y[i] += t->u[i];
    }
    topo_round(&env->topo, round, env->g);
    float *v[2] = {x, t->y};   // one message [x | y]; a missing one is lost for both
    if (gossip_mix_diff(env, KIND_GT, round, v, 2, t->acc, e)) return -1;
    for (size_t i = 0; i < n; i++) t->y[i] -= t->u[i];
    return 0;
}

// Plain averaging x = W x (final consensus), one vector per neighbour; the correction is left as it was.
static int gt_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    topo_round(&a->env.topo, round, a->env.g);
    Gt *t = a->st;
    return gossip_mix_diff(&a->env, KIND_CONSENSUS, round, &a->env.params, 1, t->acc, e);
}

static void gt_free(Alg *a) {
    Gt *t = a->st;
    free(t->y);
    free(t->u);
    free(t->acc);
    free(t);
}

const AlgOps alg_gradient_tracking_ops = {
    .name = "gradient-tracking",
    .on_missing = "renormalizes both the model and the correction by the weight that arrived, as RelaySGD's code "
                  "does (they travel in one message, so they are lost together)",
    .keeps_late = 0,
    .needs = {.undirected = "mixes with a symmetric, doubly stochastic (Metropolis) W"},
    .init = gt_init,
    .step = gt_step,
    .consensus = gt_consensus,
    .free = gt_free,
};
