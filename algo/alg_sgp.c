// SGP, Stochastic Gradient Push (Assran et al. 2019): push-sum over directed, time-varying graphs.
// State: numerator x and weight u; the gradient is taken at the de-biased z = x / u, which is x
// itself while u is 1 (regular graphs without drops): x then lives in the model's parameters.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct {
    float *x;            // the model's parameters while u is 1, else own
    float *own;          // x's buffer for when u is not 1 (allocated the first time it is needed)
    double u;
    long pending;        // overlap: the round whose incoming shares are still to be added (-1: none)
    int pending_kind;
} Sgp;

static int sgp_init(Alg *a, Err *e) {
    (void)e;
    Sgp *s = xcalloc(1, sizeof *s);
    s->x = a->env.params;
    s->u = 1.0;
    s->pending = -1;
    a->st = s;
    return 0;
}

// Push the same share 1/(d+1) of x and u to each out-neighbour; u keeps its share now, x only in
// sgp_receive (*keep), in the same pass that adds what arrived. A dropped message's share stays with
// its sender (both ends know it is dropped); one that is late is not added, and z = x/u stays a
// weighted average.
static int sgp_send(Alg *a, long round, int kind, float *keep, Err *e) {
    AlgEnv *env = &a->env;
    Sgp *s = a->st;
    topo_round(&env->topo, round, env->g);
    float w = (float)mix_pushsum(env->g, env->id);
    *keep = w;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    for (int k = env->g->out_start[env->id]; k < env->g->out_start[env->id + 1]; k++) {
        int to = env->g->out[k];
        if (push_send(env, to, kind, round, dense, s->x, s->u * w, w, e)) return -1;
        if (push_dropped(env, env->id, to, kind, round)) *keep += w;   // a dropped share stays home
    }
    s->u *= *keep;
    return 0;
}

// Before a mix that leaves u at u_end: x moves out of the parameters when u_end is not 1. Returns
// the z the mix writes besides x (NULL when x is the parameters and stays there).
static float *sgp_place(Alg *a, double u_end) {
    Sgp *s = a->st;
    float *params = a->env.params;
    size_t n = a->env.n_params;
    if (s->x == params && u_end == 1.0) return NULL;
    if (s->x == params) {
        if (!s->own) s->own = xfloats(n);
        memcpy(s->own, params, n * sizeof *params);
        s->x = s->own;
    }
    return params;
}

// After it: with u back at 1, z = x exactly, so x lives in the parameters again.
static void sgp_settle(Alg *a) {
    Sgp *s = a->st;
    if (s->u == 1.0) s->x = a->env.params;
}

// x *= keep, add the shares the in-neighbours of `round` pushed (recomputes that round's graph), and
// leave z = x/u in the model. Shares that missed their own round are added now: the sender gave them
// away, so adding them late is what keeps sum(x) and sum(u) (push-sum tolerates the delay).
static int sgp_receive(Alg *a, long round, int kind, float keep, Err *e) {
    AlgEnv *env = &a->env;
    Sgp *s = a->st;
    PushBatch b;
    topo_round(&env->topo, round, env->g);
    if (push_gather(env, kind, round, &b, e)) { push_batch_free(env, &b); return -1; }
    float *z = sgp_place(a, push_batch_mass(&b, s->u));
    if (push_batch_mix(env, &b, keep, s->x, &s->u, z, e)) return -1;
    sgp_settle(a);
    return 0;
}

// Synchronous: push this round's shares and add this round's. Overlapped (algorithm.overlap, the
// SGP paper's OSGP with delay 1): push this round's shares, add the previous round's, which arrived
// while the gradient was computed; mass in flight is missing from x and u alike, so z stays an average.
static int sgp_push(Alg *a, long round, int kind, Err *e) {
    AlgEnv *env = &a->env;
    Sgp *s = a->st;
    float keep;
    if (sgp_send(a, round, kind, &keep, e)) return -1;
    long from_round = env->cfg->overlap ? s->pending : round;
    int from_kind = env->cfg->overlap ? s->pending_kind : kind;
    s->pending = round;
    s->pending_kind = kind;
    if (from_round >= 0) return sgp_receive(a, from_round, from_kind, keep, e);
    // Overlap's first round: nothing to add yet.
    float *z = sgp_place(a, s->u);
    for (size_t i = 0; i < env->n_params; i++) s->x[i] *= keep;
    if (z) debias(z, s->x, s->u, env->n_params);
    sgp_settle(a);
    return 0;
}

static int sgp_step(Alg *a, long round, float lr, Err *e) {
    Sgp *s = a->st;
    AlgEnv *env = &a->env;
    // The optimizer steps the numerator with the gradient taken at z (as the SGP reference code).
    // Quasi-global momentum measures the displacement of z = x / u, the model the gradient sees.
    sgd_step_qg(&env->opt, s->x, env->params, env->grads, lr);   // sgd_step unless quasi_global
    if (sgp_push(a, round, KIND_PUSH, e)) return -1;
    sgd_qg_track(&env->opt, env->params, lr);
    return 0;
}

// Overlap leaves the last round's incoming shares unread: add them before the final evaluation.
static int sgp_finish(Alg *a, Err *e) {
    Sgp *s = a->st;
    if (!a->env.cfg->overlap || s->pending < 0) return 0;
    if (sgp_receive(a, s->pending, s->pending_kind, 1.0f, e)) return -1;
    s->pending = -1;
    return 0;
}

static int sgp_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;   // SGP's averaging is always dense with step 1
    return sgp_push(a, round, KIND_CONSENSUS, e);
}

static void sgp_free(Alg *a) {
    Sgp *s = a->st;
    free(s->own);
    free(s);
}

static const AlgKey SGP_KEYS[] = {
    {.key = "overlap", .type = ALG_KEY_BOOL, .def = 0, .offset = offsetof(AlgConfig, overlap),
     .what = "can overlap its messages with computation"},
    {.key = NULL},
};

static void sgp_label(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_mixing(cfg, out, n);
    if (cfg->overlap) snprintf(out + strlen(out), n - strlen(out), " (overlap)");
}

const AlgOps alg_sgp_ops = {
    .name = "sgp",
    .on_missing = "keeps mass: a dropped share stays with the sender; a late one is added when it arrives",
    .keeps_late = 1,
    .keys = SGP_KEYS,
    .quasi_global = 1,
    .init = sgp_init,
    .step = sgp_step,
    .consensus = sgp_consensus,
    .free = sgp_free,
    .finish = sgp_finish,
    .label = sgp_label,
};
