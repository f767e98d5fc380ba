// CHOCO-SGD on plain gossip (Koloskova et al. 2019, Algorithm 2), static undirected graph with
// Metropolis weights: x^{t+1/2} = x - lr*update; q = C(x^{t+1/2} - x^_i); x^_j += q_j for self and
// neighbours (kept as s = sum_j W_ij x^_j, self included); x = x^{t+1/2} + gamma (s - x^_i).
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct { float *xhat, *s, *diff, *q; } ChocoG;

static int chg_init(Alg *a, Err *e) {
    (void)e;
    size_t n = a->env.n_params;
    ChocoG *c = xcalloc(1, sizeof *c);
    c->xhat = xfloats(n); c->s = xfloats(n); c->diff = xfloats(n); c->q = xfloats(n);
    a->st = c;
    return 0;
}

static int chg_exchange(Alg *a, long round, int kind, double gamma, Err *e) {
    AlgEnv *env = &a->env;
    ChocoG *c = a->st;
    Graph *g = env->g;
    size_t n = env->n_params;
    float *x = env->params;
    topo_round(&env->topo, round, g);
    for (size_t i = 0; i < n; i++) c->diff[i] = x[i] - c->xhat[i];
    long len = push_encode(env, &env->codec, c->diff, NULL, round, c->q, e);
    if (len < 0) return -1;
    float wself = (float)mix_gossip_self(g, env->id);
    for (size_t i = 0; i < n; i++) { c->xhat[i] += c->q[i]; c->s[i] += wself * c->q[i]; }
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++) {
        int j = g->out[k];
        double w = mix_gossip(g, j, env->id);   // the weight j gives to us
        if (push_send_encoded(env, j, kind, round, &env->codec, len, w, (float)w, e)) return -1;
    }
    double unused = 0;
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++)
        if (push_recv(env, g->in[k], kind, round, c->s, &unused, e) < 0) return -1;
    // A late q_j still belongs in s: it keeps s equal to sum_j W_ij x^_j.
    if (push_drain_late(env, -1, KIND_GOSSIP, round, c->s, &unused, NULL, e) < 0 ||
        push_drain_late(env, -1, KIND_CONSENSUS, round, c->s, &unused, NULL, e) < 0) return -1;
    float gm = (float)gamma;
    for (size_t i = 0; i < n; i++) x[i] += gm * (c->s[i] - c->xhat[i]);
    return 0;
}

static int chg_step(Alg *a, long round, float lr, Err *e) {
    sgd_step(&a->env.opt, a->env.params, a->env.grads, lr);
    return chg_exchange(a, round, KIND_GOSSIP, a->env.cfg->gamma, e);
}

static int chg_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c;
    return chg_exchange(a, round, KIND_CONSENSUS, gamma, e);
}

static void chg_free(Alg *a) {
    ChocoG *c = a->st;
    free(c->xhat); free(c->s); free(c->diff); free(c->q);
    free(c);
}

const AlgOps alg_choco_gossip_ops = {
    .name = "choco-gossip",
    .on_missing =
        "a late q_j is added when it arrives; a dropped one is lost and s_i stays behind that neighbour's copy",
    .keeps_late = 1,
    .codec = {.takes = 1, .kind = "topk", .keep = 0.01, .gamma = 0.01},
    .needs = {.undirected = "averages with symmetric (Metropolis) weights",
              .fixed = "keeps a public copy of each in-neighbour's model",
              .no_final_consensus = "keeps public copies that dense averaging rounds would desynchronize"},
    .init = chg_init,
    .step = chg_step,
    .consensus = chg_consensus,
    .free = chg_free,
};
