// NGM (algo/alg_ngm.c) over loopback TCP, one thread per agent: four agents on an undirected ring with
// identical models x0, momentum 0. One step has a known answer (below); a second step runs the path
// where the neighbours' models came with the previous step's gossip, and the messages are counted.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include "agent.h"
#include "alg.h"

#define B 4
#define N 4
#define LR 0.1
#define GAMMA 0.5
#define SCEN(alpha)                                                                                                 \
    "{\"name\":\"ngm\",\"seeds\":[3],\"agents\":4,\"dataset\":\"synthetic\",\"model\":\"linear\",\"norm\":\"none\"," \
    "\"batch_size\":4,\"optimizer\":{\"lr\":0.1,\"momentum\":0,\"nesterov\":false,\"weight_decay\":0},"           \
    "\"topology\":{\"kind\":\"ring\",\"directed\":false},\"algorithm\":{\"name\":\"ngm\",\"gamma\":0.5,"          \
    "\"alpha\":" alpha "},\"network\":{\"round_timeout_s\":5}}"

// Batch `step` of agent `id`: B seeded inputs of `size` floats each into in, labels into y.
static void batch_fill(float *in, size_t size, int classes, int id, int step, uint8_t *y) {
    Rng r = rng_derive(77 + (uint64_t)step, (uint64_t)id);
    for (size_t i = 0; i < (size_t)B * size; i++) in[i] = (float)rng_uniform(&r) - 0.5f;
    for (int b = 0; b < B; b++) y[b] = (uint8_t)((b + 3 * id + step) % classes);
}

typedef struct {
    int id;
    int differ;          // 1: agent i starts from its own model (seed 10 + i), else all from x0
    const char *scen;
    int *ports;
    pthread_barrier_t *ready;
    Scenario s;
    Model *m;
    AlgEnv env;
    Alg *alg;
    float *out;          // (n_params) its model after the first step
    uint64_t sent[N];    // messages it sent to each agent in two steps
    char err[400];
} Peer;

// The round's own pass (batch `step`), then the algorithm's step.
static int peer_round(Peer *p, int step, Err *e) {
    Model *m = p->m;
    uint8_t y[B];
    const Slot *in = &m->slots[0];
    batch_fill(model_input(m), (size_t)in->c * in->h * in->w, m->classes, p->id, step, y);
    Rng drop = rng_derive(5, 5);
    agent_batch_set(&p->alg->env, y, B, &drop);
    model_forward(m, B, 1, &drop);
    model_loss(m, y, NULL);
    model_backward(m);
    int rc = p->alg->ops->step(p->alg, step, (float)LR, e);
    agent_batch_set(&p->alg->env, NULL, 0, NULL);
    return rc;
}

static int peer_run(Peer *p, Err *e) {
    int ok = !scenario_load(&p->s, "t", p->scen, e);
    Rng init = rng_derive(1, p->differ ? 10 + (uint64_t)p->id : 1);   // identical initial models unless differ
    ok = ok && (p->m = model_build("linear", NORM_NONE, 1, 4, 4, 4, B, &init, e));
    ok = ok && !agent_env_init(&p->env, p->m, &p->s, p->id, e) && (p->env.net = net_new(p->id, N, "127.0.0.1", e));
    p->ports[p->id] = ok ? net_port(p->env.net) : 0;
    pthread_barrier_wait(p->ready);
    for (int i = 0; i < N; i++) ok = ok && p->ports[i];
    if (!ok) return -1;
    char ips[N][64] = {"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"};
    if (net_connect_all(p->env.net, ips, p->ports, NULL, 5, e) || !(p->alg = alg_new("ngm", &p->env, e))) return -1;
    p->out = xfloats(p->m->n_params);
    if (peer_round(p, 0, e)) return -1;
    memcpy(p->out, p->m->params, p->m->n_params * sizeof(float));
    if (peer_round(p, 1, e) || net_flush(p->alg->env.net, 5, e)) return -1;
    for (int j = 0; j < N; j++) p->sent[j] = j == p->id ? 0 : net_sent(p->alg->env.net, j)->messages;
    return 0;
}

static void *peer_main(void *arg) {
    Peer *p = arg;
    Err e = {{0}};
    if (peer_run(p, &e)) snprintf(p->err, sizeof p->err, "agent %d: %.380s", p->id, e.msg[0] ? e.msg : "failed");
    return NULL;
}

static void peer_free(Peer *p) {
    if (p->alg) { agent_env_free(&p->alg->env); alg_free(p->alg); }
    else agent_env_free(&p->env);
    model_free(p->m);
    scenario_free(&p->s);
    free(p->out);
}

// U (n_params, double): the gradient at x0 of the mean loss over the union of the batches of agents
// ids (nb of them, B samples each): one forward and backward pass over all nb * B samples.
static void union_grad(const int *ids, int nb, double *U, size_t n) {
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    Model *m = model_build("linear", NORM_NONE, 1, 4, 4, 4, nb * B, &init, &e);
    cr_assert(m, "%s", e.msg);
    uint8_t y[N * B];
    for (int k = 0; k < nb; k++) batch_fill(model_input(m) + (size_t)k * B * 16, 16, m->classes, ids[k], 0, y + k * B);
    Rng r = rng_derive(5, 5);
    model_forward(m, nb * B, 1, &r);
    model_loss(m, y, NULL);
    model_backward(m);
    for (size_t i = 0; i < n; i++) U[i] = m->grads[i];
    model_free(m);
}

static void run_peers(Peer *p, const char *scen, int differ) {
    memset(p, 0, N * sizeof *p);
    int ports[N] = {0};
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, N);
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        p[i].id = i; p[i].differ = differ; p[i].scen = scen; p[i].ports = ports; p[i].ready = &ready;
        cr_assert_eq(pthread_create(&th[i], NULL, peer_main, &p[i]), 0);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ready);
    for (int i = 0; i < N; i++) cr_assert(!p[i].err[0], "%s", p[i].err);
}

// The known answer of step 0 with identical models (w = 1/3 on the ring, momentum 0). Agent i's
// direction is D_i = the gradient at x0 of the union of its own and its neighbours' batches
// (alpha 1; the data-variant cross-gradients grad F(x0; B_j)), or its own batch's gradient (alpha 0:
// the model-variant ones are grad F(x0; B_i) again). It steps to x0 - lr D_i, and the gossip of the
// next round gives y_i = x0 - lr (D_i + gamma/3 sum_j (D_j - D_i)). Asserted per parameter to 2e-7
// (float rounding: 1.4e-8 measured); D_i is one pass over the union's samples, not a sum of gradients.
static void check_step0(Peer *p, int alpha, double *worst) {
    size_t n = p[0].m->n_params;
    double *D = calloc((size_t)N * n, sizeof *D);
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    Model *x0 = model_build("linear", NORM_NONE, 1, 4, 4, 4, B, &init, &e);
    cr_assert(x0, "%s", e.msg);
    for (int i = 0; i < N; i++) {
        int ids[3] = {i, (i + N - 1) % N, (i + 1) % N};
        union_grad(ids, alpha ? 3 : 1, D + (size_t)i * n, n);
    }
    *worst = 0;
    for (int i = 0; i < N; i++) {
        const double *Di = D + (size_t)i * n, *Dl = D + (size_t)((i + N - 1) % N) * n;
        const double *Dr = D + (size_t)((i + 1) % N) * n;
        for (size_t k = 0; k < n; k++) {
            double want = x0->params[k] - LR * (Di[k] + GAMMA / 3 * (Dl[k] + Dr[k] - 2 * Di[k]));
            *worst = fmax(*worst, fabs(p[i].out[k] - want));
        }
    }
    int differ = 0;   // the agents' directions must differ, or the gossip term would not be tested
    for (size_t k = 0; k < n; k++) differ |= fabs(D[k] - D[n + k]) > 1e-3;
    cr_expect(differ, "the agents' directions agree: the test would not tell");
    model_free(x0);
    free(D);
}

Test(ngm, alpha1_steps_with_the_gradient_of_the_neighbourhoods_union) {
    Peer p[N];
    run_peers(p, SCEN("1"), 0);
    double worst;
    check_step0(p, 1, &worst);
    // Two steps: a model to each neighbour in round 0, 1 and 2 (the last with step 1's gossip) and a
    // cross-gradient in rounds 0 and 1: 5 messages to each ring neighbour, none to the opposite agent.
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            uint64_t want = j == i || j == (i + 2) % N ? 0 : 5;
            cr_expect_eq(p[i].sent[j], want, "agent %d sent %lu messages to %d, want %lu", i,
                         (unsigned long)p[i].sent[j], j, (unsigned long)want);
        }
    for (int i = 0; i < N; i++) peer_free(&p[i]);
    cr_expect(worst < 2e-7, "an agent is %g from x0 - lr (D_i + gamma/3 sum_j (D_j - D_i))", worst);
}

Test(ngm, alpha0_uses_model_variant_cross_gradients_and_sends_no_second_round) {
    Peer p[N];
    run_peers(p, SCEN("0"), 0);
    double worst;
    check_step0(p, 0, &worst);
    for (int i = 0; i < N; i++)
        cr_expect_eq(p[i].sent[(i + 1) % N], 3, "agent %d sent %lu messages, want 3 (models only)", i,
                     (unsigned long)p[i].sent[(i + 1) % N]);
    for (int i = 0; i < N; i++) peer_free(&p[i]);
    cr_expect(worst < 2e-7, "an agent is %g from x0 - lr (g_i + gamma/3 sum_j (g_j - g_i))", worst);
}

// g (n_params, double) = the gradient at point x (n_params) of agent k's step-0 batch, on m (batch B).
static void grad_of(Model *m, const float *x, int k, double *g) {
    uint8_t y[B];
    memcpy(m->params, x, m->n_params * sizeof(float));
    batch_fill(model_input(m), 16, m->classes, k, 0, y);
    Rng r = rng_derive(5, 5);
    model_forward(m, B, 1, &r);
    model_loss(m, y, NULL);
    model_backward(m);
    for (size_t i = 0; i < m->n_params; i++) g[i] = m->grads[i];
}

// Models that start apart (agent i from seed 10 + i), alpha 1: the first step gossips first,
// y_i = x_i + gamma/3 sum_j (x_j - x_i), takes the self-gradient again at y_i and the cross-gradients at
// the neighbours' pre-gossip x_j, as the reference (section 3.1): d_i = (grad F(y_i; B_i) + sum_j
// grad F(x_i; B_j)) / 3, x_i' = y_i - lr d_i, and the step ends at y_i' = x_i' + gamma/3 sum_j (x_j' - x_i').
// Computed in double from direct passes; asserted per parameter to 2e-7 (measured 1.3e-8; taking
// the self-gradient at x_i instead of y_i is 3.8e-4 off).
Test(ngm, models_apart_self_gradient_at_the_gossiped_model) {
    Peer p[N];
    run_peers(p, SCEN("1"), 1);
    size_t n = p[0].m->n_params;
    Err e = {{0}};
    Model *m[N];
    for (int i = 0; i < N; i++) {
        Rng init = rng_derive(1, 10 + (uint64_t)i);
        m[i] = model_build("linear", NORM_NONE, 1, 4, 4, 4, B, &init, &e);
        cr_assert(m[i], "%s", e.msg);
    }
    double *x1 = calloc((size_t)N * n, sizeof *x1), *g = calloc(n, sizeof *g), *d = calloc(n, sizeof *d);
    float *yf = xfloats(n);
    for (int i = 0; i < N; i++) {
        int l = (i + N - 1) % N, r = (i + 1) % N;
        const float *xi = m[i]->params, *xl = m[l]->params, *xr = m[r]->params;
        for (size_t k = 0; k < n; k++) yf[k] = xi[k] + (float)(GAMMA / 3) * ((xl[k] - xi[k]) + (xr[k] - xi[k]));
        Model *w = m[(i + 2) % N];   // a scratch model for the passes (its parameters are read first)
        float *keep = xfloats(n);
        memcpy(keep, w->params, n * sizeof *keep);
        grad_of(w, yf, i, d);
        for (int j = 0; j < 2; j++) {
            grad_of(w, xi, j ? r : l, g);
            for (size_t k = 0; k < n; k++) d[k] += g[k];
        }
        memcpy(w->params, keep, n * sizeof *keep);
        free(keep);
        for (size_t k = 0; k < n; k++) x1[(size_t)i * n + k] = yf[k] - LR * d[k] / 3;
    }
    double worst = 0;
    for (int i = 0; i < N; i++) {
        const double *a = x1 + (size_t)i * n, *al = x1 + (size_t)((i + N - 1) % N) * n;
        const double *ar = x1 + (size_t)((i + 1) % N) * n;
        for (size_t k = 0; k < n; k++)
            worst = fmax(worst, fabs(p[i].out[k] - (a[k] + GAMMA / 3 * (al[k] + ar[k] - 2 * a[k]))));
    }
    for (int i = 0; i < N; i++) { peer_free(&p[i]); model_free(m[i]); }
    free(x1); free(g); free(d); free(yf);
    cr_expect(worst < 2e-7, "an agent is %g from the reference's first step", worst);
}
