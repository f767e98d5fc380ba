// D-PSGD (Lian et al. 2017): a local SGD step, then gossip averaging with the neighbours on an
// undirected graph, Metropolis weights: x_i <- sum_j W_ij (x_j - lr * update_j). With
// optimizer.quasi_global, the momentum follows the mixed model's displacement (QGM, Lin et al. 2021).
#include "alg.h"

static int dpsgd_init(Alg *a, Err *e) { (void)a; (void)e; return 0; }

static int dpsgd_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    sgd_step_qg(&env->opt, env->params, env->params, env->grads, lr);   // sgd_step unless quasi_global
    topo_round(&env->topo, round, env->g);
    if (gossip_mix(env, KIND_GOSSIP, round, env->params, env->params, e)) return -1;
    sgd_qg_track(&env->opt, env->params, lr);
    return 0;
}

static int dpsgd_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    topo_round(&a->env.topo, round, a->env.g);
    return gossip_mix(&a->env, KIND_CONSENSUS, round, a->env.params, a->env.params, e);
}

const AlgOps alg_dpsgd_ops = {
    .name = "dpsgd",
    .on_missing = "renormalizes by the weight that arrived (the missing neighbour is left out)",
    .keeps_late = 0,
    .needs = {.undirected = "averages with symmetric (Metropolis) weights"},
    .quasi_global = 1,
    .init = dpsgd_init,
    .step = dpsgd_step,
    .consensus = dpsgd_consensus,
};
