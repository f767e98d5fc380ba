// SGP, Stochastic Gradient Push (Assran et al. 2019): push-sum over directed, time-varying graphs.
// State: numerator x and weight u; the gradient is taken at the de-biased z = x / u.
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct { float *x; double u; } Sgp;

static int sgp_init(Alg *a, Err *e) {
    (void)e;
    Sgp *s = xcalloc(1, sizeof *s);
    s->x = xfloats(a->env.m->n_params);
    memcpy(s->x, a->env.m->params, a->env.m->n_params * sizeof(float));
    s->u = 1.0;
    a->st = s;
    return 0;
}

// Keep 1/(d+1) of x and u, push the same share to each out-neighbour, add what the in-neighbours
// pushed. A dropped message's share stays with its sender (both ends know it is dropped); one that
// is late is not added, and z = x/u stays a weighted average.
static int sgp_push(Alg *a, long round, int kind, Err *e) {
    AlgEnv *env = &a->env;
    Sgp *s = a->st;
    size_t n = env->m->n_params;
    topo_round(&env->topo, round, env->g);
    float w = (float)mix_pushsum(env->g, env->id), keep = w;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    for (int k = env->g->out_start[env->id]; k < env->g->out_start[env->id + 1]; k++) {
        int to = env->g->out[k];
        if (push_send(env, to, kind, round, dense, s->x, s->u * w, w, e)) return -1;
        if (push_dropped(env, env->id, to, kind, round)) keep += w;   // a dropped share stays home
    }
    for (size_t i = 0; i < n; i++) s->x[i] *= keep;
    s->u *= keep;
    for (int k = env->g->in_start[env->id]; k < env->g->in_start[env->id + 1]; k++)
        if (push_recv(env, env->g->in[k], kind, round, s->x, &s->u, e) < 0) return -1;
    debias(env->m->params, s->x, s->u, n);
    return 0;
}

static int sgp_step(Alg *a, long round, float lr, Err *e) {
    Sgp *s = a->st;
    // The optimizer steps the numerator with the gradient taken at z (as the SGP reference code).
    sgd_step(&a->env.opt, s->x, a->env.m->grads, lr);
    return sgp_push(a, round, KIND_PUSH, e);
}

static int sgp_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;   // SGP's averaging is always dense with step 1
    return sgp_push(a, round, KIND_CONSENSUS, e);
}

static void sgp_free(Alg *a) {
    Sgp *s = a->st;
    free(s->x);
    free(s);
}

const AlgOps alg_sgp_ops = {"sgp", "keeps its own mass: a dropped share stays with the sender; a late one is not added, and z = x/u stays an average",
                            sgp_init, sgp_step, sgp_consensus, sgp_free};
