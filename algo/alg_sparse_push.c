// Sparse-Push: push-sum over directed, time-varying graphs where each message carries only the
// per-tensor top-k of what the receiver does not know yet. The paper's text could not be read; this
// is meshtrain's design from what is known (docs/algorithms.md). Per directed link i->p both ends
// keep the same public copy P_ip of i's numerator (starting at the common initial model), so:
//   q = C(x_i - P_ip);  P_ip += q          (sent: q, and the exact push-sum weight share)
//   x_i -= gamma W_pi P_ip   at the sender, x_p += gamma W_pi P_ip at the receiver
// Mass moves as public copies, so sum(x) and sum(u) are conserved and z = x/u is an average; what a
// copy lacks stays in x_i as error memory until it is among the largest differences (error
// compensation without a separate residual). With gamma = 1 and no compression this is SGP (up to
// float rounding: P += (x - P) is x only to an ulp). Conservation needs p to apply a link's messages
// in the order i sent them, which the link's sequence numbers give (round numbers do not).
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct {
    float *x, *x0, *x_start, *diff, *q;
    double u;
    float **pub_out, **pub_in;   // per peer, allocated on first contact: what the link has carried
    // Per message kind, the first round not yet run here: a message of an earlier round is late.
    // Kept per kind because round numbers grow within a kind only: compensation rounds are numbered
    // after training, which then resumes below them.
    long begun[KIND_CONSENSUS + 1];
} SparsePush;

int sparse_push_init(Alg *a, Err *e) {
    (void)e;
    size_t n = a->env.n_params;
    SparsePush *s = xcalloc(1, sizeof *s);
    s->x = xfloats(n); s->x0 = xfloats(n); s->x_start = xfloats(n); s->diff = xfloats(n); s->q = xfloats(n);
    memcpy(s->x, a->env.params, n * sizeof(float));
    memcpy(s->x0, a->env.params, n * sizeof(float));   // every agent starts from the same model
    s->u = 1.0;
    s->pub_out = xcalloc((size_t)a->env.n, sizeof(float *));
    s->pub_in = xcalloc((size_t)a->env.n, sizeof(float *));
    a->st = s;
    return 0;
}

static float *pub_get(SparsePush *s, float **slot, size_t n) {
    if (!*slot) {
        *slot = xfloats(n);
        memcpy(*slot, s->x0, n * sizeof(float));
    }
    return *slot;
}

// q (in s->q) arrived on the link from p: the link's public copy takes it, and its share of the copy
// moves into x (as the sender moved it out), with the weight's share.
static void sp_absorb(SparsePush *s, int p, size_t n, double mass, float weight) {
    float *pub = pub_get(s, &s->pub_in[p], n);
    for (size_t i = 0; i < n; i++) { pub[i] += s->q[i]; s->x[i] += weight * pub[i]; }
    s->u += mass;
}

// Decode m (from p) into the link's public copy and x; m is released.
static int sp_absorb_one(Alg *a, Msg *m, Err *e) {
    SparsePush *s = a->st;
    size_t n = a->env.n_params;
    int p = m->from;
    double mass = 0.0;
    float weight = 0.0f;
    memset(s->q, 0, n * sizeof(float));
    if (push_apply(&a->env, m, s->q, &mass, &weight, e) < 0) return -1;
    sp_absorb(s, p, n, mass, weight);
    return 0;
}

// Absorb m after everything its sender sent before it on the link (in the sender's order, by sequence
// number), so the receiver's public copy takes the same updates in the same order as the sender's did.
// Round numbers cannot give that order: a compensation round's number is above later training rounds'.
// TCP keeps a link in order, so all of those earlier messages are here by now. m is released.
static int sp_absorb_in_order(Alg *a, Msg *m, Err *e) {
    for (Msg *b; (b = net_take_before(a->env.net, m->from, m->seq));)
        if (sp_absorb_one(a, b, e)) { net_release(a->env.net, m); return -1; }
    return sp_absorb_one(a, m, e);
}

// Messages of rounds this agent has been through (they missed their round's wait): absorbed now, each
// after its link's earlier ones. Never a message of a round still to come here: that one is awaited.
static int sp_absorb_late(Alg *a, Err *e) {
    SparsePush *s = a->st;
    const int kinds[2] = {KIND_PUSH, KIND_CONSENSUS};
    for (int t = 0; t < 2; t++)
        for (Msg *m; (m = net_take_late(a->env.net, -1, kinds[t], (uint64_t)s->begun[kinds[t]]));)
            if (sp_absorb_in_order(a, m, e)) return -1;
    return 0;
}

static int sp_exchange(Alg *a, long round, int kind, const Codec *c, double gamma, Err *e) {
    AlgEnv *env = &a->env;
    SparsePush *s = a->st;
    size_t n = env->n_params;
    topo_round(&env->topo, round, env->g);
    double w = mix_pushsum(env->g, env->id), u_given = 0.0;
    float gw = (float)(gamma * w);
    // Every out-link's difference is taken against x as it was before this round's shares left, so
    // numerator and weight leave in the same proportions however many peers there are.
    memcpy(s->x_start, s->x, n * sizeof(float));
    for (int k = env->g->out_start[env->id]; k < env->g->out_start[env->id + 1]; k++) {
        int p = env->g->out[k];
        float *pub = pub_get(s, &s->pub_out[p], n);
        for (size_t i = 0; i < n; i++) s->diff[i] = s->x_start[i] - pub[i];
        long len = push_encode(env, c, s->diff, NULL, round, s->q, e);
        if (len < 0 || push_send_encoded_w(env, p, kind, round, c, len, gamma * w * s->u, 1.0f, gw, e)) return -1;
        if (push_dropped(env, env->id, p, kind, round)) continue;   // both ends know: nothing moves
        for (size_t i = 0; i < n; i++) { pub[i] += s->q[i]; s->x[i] -= gw * pub[i]; }
        u_given += gamma * w * s->u;
    }
    s->u -= u_given;
    s->begun[kind] = round;   // this round's messages are awaited below, not late
    if (sp_absorb_late(a, e)) return -1;
    for (int k = env->g->in_start[env->id]; k < env->g->in_start[env->id + 1]; k++) {
        int p = env->g->in[k], missing = 0;
        Msg *m = net_wait(env->net, p, kind, (uint64_t)round, env->timeout_s, &missing, e);
        if (!m) {   // dropped (nothing moved) or late (absorbed when it comes)
            if (!missing) return -1;
            env->missing++;
            continue;
        }
        if (sp_absorb_in_order(a, m, e)) return -1;
    }
    s->begun[kind] = round + 1;
    debias(env->params, s->x, s->u, n);
    return 0;
}

int sparse_push_step(Alg *a, long round, float lr, Err *e) {
    SparsePush *s = a->st;
    sgd_step(&a->env.opt, s->x, a->env.grads, lr);
    return sp_exchange(a, round, KIND_PUSH, &a->env.codec, a->env.cfg->gamma, e);
}

int sparse_push_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    return sp_exchange(a, round, KIND_CONSENSUS, c, gamma, e);
}

void sparse_push_free(Alg *a) {
    SparsePush *s = a->st;
    for (int j = 0; j < a->env.n; j++) { free(s->pub_out[j]); free(s->pub_in[j]); }
    free(s->pub_out); free(s->pub_in);
    free(s->x); free(s->x0); free(s->x_start); free(s->diff); free(s->q);
    free(s);
}

const AlgOps alg_sparse_push_ops = {
    .name = "sparse-push",
    .on_missing = "a dropped message moves nothing (both ends know); a late one is absorbed when it arrives, in its "
                  "link's order",
    .keeps_late = 1,
    .codec = {.takes = 1, .kind = "topk", .keep = 0.01, .gamma = 0.01},
    .init = sparse_push_init,
    .step = sparse_push_step,
    .consensus = sparse_push_consensus,
    .free = sparse_push_free,
};
