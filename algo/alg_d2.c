// D2 (Tang et al. 2018): decentralized SGD that corrects for heterogeneous data. With exact gradients
// x^{t+1/2} = 2x^t - x^{t-1} - lr (g^t - g^{t-1}) (first step x^0 - lr g^0), then x^{t+1} = W x^{t+1/2}
// with Metropolis weights on an undirected graph, one model vector per neighbour per step (4 bytes a
// parameter). The mix is gossip_mix_diff: in gossip_mix's form (w_ii v + sum w_ij v_j) a ring's float
// weights sum to 1 + 3e-8 and D2's correction adds that up step after step (1.7e-4 off the optimum).
#include <stdlib.h>
#include <string.h>
#include "alg.h"

// Written with the local optimizer's update u^t (x after the local step minus x before), as RelaySGD's
// code does: x^{t+1/2} = x^t + u^t + c^t with the correction c^t = x^t - (x^{t-1} + u^{t-1}), c^0 = 0.
// With plain SGD (u = -lr g, constant lr) that is D2's rule; with momentum, u is the local Nesterov or
// heavy-ball step, which is how the RelaySGD paper's "D2 with momentum" rows were run.
typedef struct {
    float *c;            // (n_params) the correction c^t
    float *acc;          // (n_params) scratch for the mix
} D2;

static int d2_init(Alg *a, Err *e) {
    (void)e;
    D2 *d = xcalloc(1, sizeof *d);
    d->c = xfloats(a->env.n_params);      // zeroed: the first step is x^0 + u^0
    d->acc = xfloats(a->env.n_params);
    a->st = d;
    return 0;
}

static int d2_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    D2 *d = a->st;
    float *x = env->params;
    size_t n = env->n_params;
    sgd_step(&env->opt, x, env->grads, lr);
    for (size_t i = 0; i < n; i++) x[i] += d->c[i];
    topo_round(&env->topo, round, env->g);
    if (gossip_mix_diff(env, KIND_GOSSIP, round, &x, 1, d->acc, e)) return -1;
    // c^{t+1} = x^{t+1} - (x^t + u^t), written c^t + sum_j w_ij (x_j - x_i)^{t+1/2}: the mix's change
    // before x's rounding, which sums to 0 over the agents (symmetric W). Taken as x^{t+1} - (x^t + u^t)
    // instead, each step's rounding of x would enter sum(c) for good and move the fixed point away from
    // mean(c_i) by about 3e-8 a step (1e-5 relative after 400 steps).
    for (size_t i = 0; i < n; i++) d->c[i] += d->acc[i];
    return 0;
}

// Plain averaging x = W x (final consensus): no gradient, and the correction is left as it was.
static int d2_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    D2 *d = a->st;
    topo_round(&a->env.topo, round, a->env.g);
    return gossip_mix_diff(&a->env, KIND_CONSENSUS, round, &a->env.params, 1, d->acc, e);
}

static void d2_free(Alg *a) {
    D2 *d = a->st;
    free(d->c);
    free(d->acc);
    free(d);
}

const AlgOps alg_d2_ops = {
    .name = "d2",
    .on_missing = "renormalizes by the weight that arrived, as RelaySGD's code does (the correction then carries "
                  "the lost mass into the next step: D2 is fragile to drops)",
    .keeps_late = 0,
    .needs = {.undirected = "corrects with a symmetric, doubly stochastic (Metropolis) W"},
    .init = d2_init,
    .step = d2_step,
    .consensus = d2_consensus,
    .free = d2_free,
};
