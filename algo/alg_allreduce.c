// All-reduce: the centralized baseline. Every step the gradients are averaged exactly with a ring
// all-reduce (reduce-scatter then all-gather, 2(n-1)/n of the model per agent) over the same
// transport, so its bytes are counted like everyone else's; then every agent takes the same step.
#include <stdlib.h>
#include <string.h>
#include "alg.h"

typedef struct { float *g; } Ar;

static int ar_init(Alg *a, Err *e) {
    (void)e;
    Ar *s = xcalloc(1, sizeof *s);
    s->g = xfloats(a->env.n_params);
    a->st = s;
    return 0;
}

// Chunk c of the vector: [c*n/N, (c+1)*n/N).
static void chunk(size_t n, int N, int c, size_t *lo, size_t *len) {
    *lo = n * (size_t)c / (size_t)N;
    *len = n * (size_t)(c + 1) / (size_t)N - *lo;
}

static int ar_exchange(AlgEnv *env, long round, int step, float *g, int c_send, int c_recv, int add, Err *e) {
    int N = env->n, next = (env->id + 1) % N, prev = (env->id + N - 1) % N;
    size_t n = env->n_params, lo, len;
    chunk(n, N, c_send, &lo, &len);
    net_count_authors(env->net, next, 4 * ((uint64_t)len + 1));
    if (net_send(env->net, next, KIND_ALLREDUCE + step, (uint64_t)round, CODEC_DENSE, (const uint8_t *)(g + lo),
                 (uint32_t)(len * sizeof(float)), e)) return -1;
    int missing = 0;
    Msg *m = net_wait(env->net, prev, KIND_ALLREDUCE + step, (uint64_t)round, env->timeout_s, &missing, e);
    if (!m) {
        if (missing) err_set(e, "agent %d: all-reduce step %d of round %ld: nothing from agent %d within %.0f s",
                             env->id, step, round, prev, env->timeout_s);
        return -1;
    }
    chunk(n, N, c_recv, &lo, &len);
    if (m->len != len * sizeof(float)) {
        err_set(e, "agent %d: all-reduce chunk from %d has %u bytes, expected %zu", env->id, prev, m->len,
                len * sizeof(float));
        net_release(env->net, m);
        return -1;
    }
    float *in = (float *)m->payload;   // fp32 as sent (both ends are the same machine kind)
    if (add) for (size_t i = 0; i < len; i++) g[lo + i] += in[i];
    else memcpy(g + lo, in, len * sizeof(float));
    net_release(env->net, m);
    return 0;
}

static int ar_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Ar *s = a->st;
    int N = env->n, id = env->id;
    size_t n = env->n_params;
    memcpy(s->g, env->grads, n * sizeof(float));
    for (int st = 0; st < N - 1; st++)   // reduce-scatter: afterwards chunk id+1 holds the full sum
        if (ar_exchange(env, round, st, s->g, ((id - st) % N + N) % N, ((id - st - 1) % N + N) % N, 1, e)) return -1;
    for (int st = 0; st < N - 1; st++)   // all-gather
        if (ar_exchange(env, round, N - 1 + st, s->g, ((id + 1 - st) % N + N) % N, ((id - st) % N + N) % N, 0, e))
            return -1;
    float inv = 1.0f / (float)N;
    for (size_t i = 0; i < n; i++) s->g[i] *= inv;
    sgd_step(&env->opt, env->params, s->g, lr);
    return 0;
}

// Models never differ, so there is nothing to average.
static int ar_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)a; (void)round; (void)c; (void)gamma; (void)e;
    return 0;
}

static void ar_free(Alg *a) {
    Ar *s = a->st;
    free(s->g);
    free(s);
}

const AlgOps alg_allreduce_ops = {
    .name = "allreduce",
    .on_missing =
        "cannot continue: the average must be exact, so a missing chunk fails the run (drops do not apply to it)",
    .keeps_late = 0,
    .init = ar_init,
    .step = ar_step,
    .consensus = ar_consensus,
    .free = ar_free,
    .label = alg_label_codec,   // the exact average: no step to show
};
