// DeepSqueeze (Tang et al. 2019) on push-sum numerators, as the low-precision paper's code
// (gossip_ds/) runs it: error-compensated compression of the model itself, consensus step gamma:
//   v_i = x_i + e_i;  c_i = C(v_i);  e_i = v_i - c_i
//   x_i += gamma * (sum_{j in in(i)} W_ij c_j + (W_ii - 1) c_i);   u_i likewise with exact weights
// where x is the push-sum numerator, u its weight, and the gradient is taken at z = x / u.
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct { float *x, *e, *q, *acc; double u; } Cps;

static int cps_init(Alg *a, Err *e) {
    (void)e;
    size_t n = a->env.n_params;
    Cps *s = xcalloc(1, sizeof *s);
    s->x = xfloats(n); s->e = xfloats(n); s->q = xfloats(n); s->acc = xfloats(n);
    memcpy(s->x, a->env.params, n * sizeof(float));
    s->u = 1.0;
    a->st = s;
    return 0;
}

// One compressed push-sum exchange with codec c and step gamma. A dropped message's share stays with
// the sender; a late one is added when it arrives, so sum(x) and sum(u) are conserved.
static int cps_exchange(Alg *a, long round, int kind, const Codec *c, double gamma, Err *e) {
    AlgEnv *env = &a->env;
    Cps *s = a->st;
    size_t n = env->n_params;
    topo_round(&env->topo, round, env->g);
    double w = mix_pushsum(env->g, env->id);
    long len = push_encode(env, c, s->x, env->cfg->error_feedback ? s->e : NULL, round, s->q, e);
    if (len < 0) return -1;
    double given = 0.0;   // the share of c_i and u_i that leaves (dropped messages' shares stay)
    for (int k = env->g->out_start[env->id]; k < env->g->out_start[env->id + 1]; k++) {
        int to = env->g->out[k];
        if (push_send_encoded(env, to, kind, round, c, len, w * s->u, (float)w, e)) return -1;
        if (!push_dropped(env, env->id, to, kind, round)) given += w;
    }
    memset(s->acc, 0, n * sizeof(float));
    double r = 0.0;
    for (int k = env->g->in_start[env->id]; k < env->g->in_start[env->id + 1]; k++)
        if (push_recv(env, env->g->in[k], kind, round, s->acc, &r, e) < 0) return -1;
    // Shares that missed their round still carry mass their senders gave away: add them now.
    if (push_drain_late(env, -1, KIND_PUSH, round, s->acc, &r, NULL, e) < 0 ||
        push_drain_late(env, -1, KIND_CONSENSUS, round, s->acc, &r, NULL, e) < 0) return -1;
    float g = (float)gamma, self = (float)-given;
    for (size_t i = 0; i < n; i++) s->x[i] += g * (s->acc[i] + self * s->q[i]);
    s->u += gamma * (r - given * s->u);
    debias(env->params, s->x, s->u, n);
    return 0;
}

static int cps_step(Alg *a, long round, float lr, Err *e) {
    Cps *s = a->st;
    sgd_step(&a->env.opt, s->x, a->env.grads, lr);
    return cps_exchange(a, round, KIND_PUSH, &a->env.codec, a->env.cfg->gamma, e);
}

static int cps_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    return cps_exchange(a, round, KIND_CONSENSUS, c, gamma, e);
}

static void cps_free(Alg *a) {
    Cps *s = a->st;
    free(s->x); free(s->e); free(s->q); free(s->acc);
    free(s);
}

const AlgOps alg_deepsqueeze_ops = {
    .name = "deepsqueeze",
    .on_missing = "a dropped share stays with the sender; a late one is added when it arrives",
    .keeps_late = 1,
    .codec = {.takes = 1, .kind = "q8", .keep = 0.01, .gamma = 0.01},
    .init = cps_init,
    .step = cps_step,
    .consensus = cps_consensus,
    .free = cps_free,
};
