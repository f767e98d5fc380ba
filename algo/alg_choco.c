// CHOCO-SGD on push-sum, as the low-precision paper's code (gossip_choco/) runs it on a static
// directed graph: each agent keeps a public copy x^_i of its numerator and s_i = sum_in W_ij x^_j;
//   q_i = C(x_i - x^_i);  x^_i += q_i;  send W_ji q_i;  s_i += sum_in W_ij q_j
//   x_i += gamma (s_i + W_ii x^_i - x^_i);  u_i += gamma (sum_in W_ij u_j + W_ii u_i - u_i)
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct { float *x, *xhat, *s, *diff, *q; double u; } Choco;

static int choco_init(Alg *a, Err *e) {
    (void)e;
    size_t n = a->env.n_params;
    Choco *c = xcalloc(1, sizeof *c);
    c->x = xfloats(n); c->xhat = xfloats(n); c->s = xfloats(n); c->diff = xfloats(n); c->q = xfloats(n);
    memcpy(c->x, a->env.params, n * sizeof(float));
    c->u = 1.0;
    a->st = c;
    return 0;
}

// A late q_j is added to s_i when it arrives; a dropped one leaves s_i behind the neighbour's public
// copy for good: CHOCO is not robust to message loss, one of the findings of the RelaySGD paper.
static int choco_exchange(Alg *a, long round, int kind, const Codec *cd, double gamma, Err *e) {
    AlgEnv *env = &a->env;
    Choco *c = a->st;
    size_t n = env->n_params;
    topo_round(&env->topo, round, env->g);
    double w = mix_pushsum(env->g, env->id);
    for (size_t i = 0; i < n; i++) c->diff[i] = c->x[i] - c->xhat[i];
    long len = push_encode(env, cd, c->diff, NULL, round, c->q, e);
    if (len < 0) return -1;
    for (size_t i = 0; i < n; i++) c->xhat[i] += c->q[i];
    for (int k = env->g->out_start[env->id]; k < env->g->out_start[env->id + 1]; k++)
        if (push_send_encoded(env, env->g->out[k], kind, round, cd, len, w * c->u, (float)w, e)) return -1;
    double r = 0.0;
    for (int k = env->g->in_start[env->id]; k < env->g->in_start[env->id + 1]; k++)
        if (push_recv(env, env->g->in[k], kind, round, c->s, &r, e) < 0) return -1;
    // A late q_j still belongs in s (it keeps s equal to sum_in W_ij x^_j); its weight share is spent.
    double spent = 0.0;
    if (push_drain_late(env, -1, KIND_PUSH, round, c->s, &spent, NULL, e) < 0 ||
        push_drain_late(env, -1, KIND_CONSENSUS, round, c->s, &spent, NULL, e) < 0) return -1;
    float g = (float)gamma, wf = (float)w;
    for (size_t i = 0; i < n; i++) c->x[i] += g * (c->s[i] + (wf - 1.0f) * c->xhat[i]);
    c->u += gamma * (r + (w - 1.0) * c->u);
    debias(env->params, c->x, c->u, n);
    return 0;
}

static int choco_step(Alg *a, long round, float lr, Err *e) {
    Choco *c = a->st;
    sgd_step(&a->env.opt, c->x, a->env.grads, lr);
    return choco_exchange(a, round, KIND_PUSH, &a->env.codec, a->env.cfg->gamma, e);
}

static int choco_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c;   // the public copies only stay consistent with one codec
    return choco_exchange(a, round, KIND_CONSENSUS, &a->env.codec, gamma, e);
}

static void choco_free(Alg *a) {
    Choco *c = a->st;
    free(c->x); free(c->xhat); free(c->s); free(c->diff); free(c->q);
    free(c);
}

const AlgOps alg_choco_ops = {
    .name = "choco",
    .on_missing =
        "a late q_j is added when it arrives; a dropped one is lost and s_i stays behind that neighbour's copy "
        "(not robust to drops)",
    .keeps_late = 1,
    .codec = {.takes = 1, .kind = "topk", .keep = 0.01, .gamma = 0.01},
    .needs = {.fixed = "keeps a public copy of each in-neighbour's model",
              .no_final_consensus = "keeps public copies that dense averaging rounds would desynchronize"},
    .init = choco_init,
    .step = choco_step,
    .consensus = choco_consensus,
    .free = choco_free,
};
