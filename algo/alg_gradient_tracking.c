// Gradient tracking: x <- W(x - lr (g - c)), c <- W(c - g) + g, where c tracks the gap between the
// average gradient and the agent's own. Both vectors go to each neighbour in one message (8 bytes a
// parameter, twice D-PSGD's), mixed with Metropolis weights on an undirected graph.
#include <stdlib.h>
#include <string.h>
#include "alg.h"
#include "bytes.h"

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

// One message [x | y] (2 n fp32, little-endian) to neighbour `to`.
static int gt_send(AlgEnv *env, int to, long round, const float *x, const float *y, Err *e) {
    size_t n = env->n_params;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    const uint8_t *vx = codec_dense_view(dense, x, n), *vy = codec_dense_view(dense, y, n);
    if (vx && vy) {
        struct iovec parts[2] = {{(void *)vx, 4 * n}, {(void *)vy, 4 * n}};
        return net_sendv(env->net, to, KIND_GT, (uint64_t)round, CODEC_DENSE, parts, 2, e);
    }
    uint8_t *buf = net_alloc(8 * n);   // a big-endian host: encode
    for (size_t i = 0; i < n; i++) put_f32(buf + 4 * i, x[i]), put_f32(buf + 4 * (n + i), y[i]);
    return net_send_owned(env->net, to, KIND_GT, (uint64_t)round, CODEC_DENSE, buf, (uint32_t)(8 * n), e);
}

// Add w * [x_j | y_j] from neighbour j into acc. 1 if it came, 0 if missing, -1 and e.
static int gt_recv(AlgEnv *env, int from, long round, float *acc, double *wsum, Err *e) {
    size_t n = env->n_params;
    int missing = 0;
    Msg *m = net_wait(env->net, from, KIND_GT, (uint64_t)round, env->timeout_s, &missing, e);
    if (!m) {
        if (!missing) return -1;
        env->missing++;
        return 0;
    }
    float w = (float)mix_gossip(env->g, env->id, from);
    Err de = {{0}};
    int bad = m->len != 8 * n || m->codec != CODEC_DENSE ||
              codec_dense_mix(m->payload, 8 * n, 2 * n, 1.0f, w, acc, 0, NULL, &de);
    if (bad) err_set(e, "agent %d: malformed gradient-tracking message from agent %d (round %ld: %u bytes, want %zu)",
                     env->id, from, round, m->len, 8 * n);
    else *wsum += w;
    net_release(env->net, m);
    return bad ? -1 : 1;
}

// x = W x and y = W y from one message per neighbour (acc: 2 n floats of scratch); a missing one is left out and the rest
// renormalized, for both vectors (they travel together).
static int gt_mix(AlgEnv *env, long round, float *x, float *y, float *acc, Err *e) {
    Graph *g = env->g;
    size_t n = env->n_params;
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++)
        if (gt_send(env, g->out[k], round, x, y, e)) return -1;
    memset(acc, 0, 2 * n * sizeof *acc);
    double wsum = mix_gossip_self(g, env->id);
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++)
        if (gt_recv(env, g->in[k], round, acc, &wsum, e) < 0) return -1;
    float ws = (float)mix_gossip_self(g, env->id), inv = (float)(1.0 / wsum);
    for (size_t i = 0; i < n; i++) x[i] = (ws * x[i] + acc[i]) * inv;
    for (size_t i = 0; i < n; i++) y[i] = (ws * y[i] + acc[n + i]) * inv;
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
    if (gt_mix(env, round, x, t->y, t->acc, e)) return -1;
    for (size_t i = 0; i < n; i++) t->y[i] -= t->u[i];
    return 0;
}

// Plain averaging x = W x (final consensus), one vector per neighbour; the correction is left as it was.
static int gt_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    topo_round(&a->env.topo, round, a->env.g);
    return gossip_mix(&a->env, KIND_CONSENSUS, round, a->env.params, a->env.params, e);
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
