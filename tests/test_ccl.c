// CCL (algo/alg_ccl.c) against known answers: with both weights 0 it is QG-DSGDm-N, the same floats
// as a direct transcription of that rule (three agents on a ring over loopback TCP, a few rounds of
// the agent's round: on_batch, forward, feature pass, step); with identical models its model-variant
// gradient is exactly 0.
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include "agent.h"
#include "alg.h"

#define N 3
#define B 4
#define ROUNDS 4
#define LR 0.1f
#define GAMMA 0.9f
#define SCEN(lm, ld)                                                                                            \
    "{\"name\":\"ccl\",\"seeds\":[3],\"agents\":3,\"dataset\":\"synthetic\",\"model\":\"mlp\",\"norm\":\"none\"," \
    "\"batch_size\":4,\"optimizer\":{\"lr\":0.1,\"momentum\":0.9,\"nesterov\":true,\"weight_decay\":0.001,"    \
    "\"decay_norm\":true},\"topology\":{\"kind\":\"ring\",\"directed\":false},\"algorithm\":{\"name\":\"ccl\","  \
    "\"gamma\":0.9,\"lambda_m\":" lm ",\"lambda_d\":" ld "},\"network\":{\"round_timeout_s\":5}}"

static Model *model_new_mlp(Err *e) {
    Rng init = rng_derive(1, 1);   // identical initial models, as agent.c's setup
    return model_build("mlp", NORM_NONE, 1, 4, 4, 4, B, &init, e);   // 16 -> 256 -> 256 -> 4
}

// Agent id's batch of round r: seeded inputs in model_input(m), labels y.
static void batch_fill(Model *m, int id, long r, uint8_t *y) {
    Rng g = rng_derive(77 + (uint64_t)r, (uint64_t)id);
    float *in = model_input(m);
    for (int i = 0; i < B * 16; i++) in[i] = (float)rng_uniform(&g) - 0.5f;
    for (int b = 0; b < B; b++) y[b] = (uint8_t)((b + id + r) % 4);
}

typedef struct {
    int id, *ports;
    pthread_barrier_t *ready;
    Scenario s;
    Model *m;
    AlgEnv env;
    Alg *alg;
    float *out;   // (n_params) its model after ROUNDS rounds
    char err[400];
} Peer;

// The agent's round (runtime/agent.c train_round) ROUNDS times.
static int peer_rounds(Peer *p, Err *e) {
    Model *m = p->m;
    for (long r = 0; r < ROUNDS; r++) {
        uint8_t y[B];
        Rng drop = rng_derive(5, (uint64_t)r);
        batch_fill(m, p->id, r, y);
        agent_batch_set(&p->alg->env, y, B, &drop);
        if (p->alg->ops->on_batch(p->alg, r, e)) return -1;
        model_forward(m, B, 1, &drop);
        float loss = model_loss(m, y, NULL);
        if (agent_feature_pass(p->alg, &loss, e)) return -1;
        if (p->alg->ops->step(p->alg, r, LR, e)) return -1;
        agent_batch_set(&p->alg->env, NULL, 0, NULL);
    }
    return net_flush(p->alg->env.net, 5, e);
}

static int peer_run(Peer *p, Err *e) {
    int ok = !scenario_load(&p->s, "t", SCEN("0", "0"), e) && (p->m = model_new_mlp(e));
    ok = ok && !agent_env_init(&p->env, p->m, &p->s, p->id, e) && (p->env.net = net_new(p->id, N, "127.0.0.1", e));
    p->ports[p->id] = ok ? net_port(p->env.net) : 0;
    pthread_barrier_wait(p->ready);
    for (int j = 0; j < N; j++) ok = ok && p->ports[j];
    if (!ok) return -1;
    char ips[N][64] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
    if (net_connect_all(p->env.net, ips, p->ports, NULL, 5, e) || !(p->alg = alg_new("ccl", &p->env, e))) return -1;
    if (peer_rounds(p, e)) return -1;
    p->out = xfloats(p->m->n_params);
    memcpy(p->out, p->m->params, p->m->n_params * sizeof(float));
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

// QG-DSGDm-N by hand, in the float operations the rule names (one model computes every agent's
// gradient): d = g + wd x; m = beta m + d; x -= lr (d + beta m); then G_i = sum_j w_ij (x_j - x_i) over
// the ring's two neighbours (ascending id, w = 1/3), r = gamma G_i, x_i += r, m_i -= r / lr.
// x: (N, n) the agents' models at the end.
static void qg_dsgdm_n(Model *m, float *x, size_t n) {
    float *mom = xfloats(N * n), *g = xfloats(N * n), *half = xfloats(N * n), *acc = xfloats(n);
    for (int i = 0; i < N; i++) memcpy(x + i * n, m->params, n * sizeof(float));
    const float beta = 0.9f, wd = 0.001f, w = (float)(1.0 / 3.0), inv_lr = 1.0f / LR;
    for (long r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++) {
            uint8_t y[B];
            Rng drop = rng_derive(5, (uint64_t)r);
            batch_fill(m, i, r, y);
            memcpy(m->params, x + i * n, n * sizeof(float));
            model_forward(m, B, 1, &drop);
            model_loss(m, y, NULL);
            model_backward(m);
            memcpy(g + i * n, m->grads, n * sizeof(float));
        }
        for (size_t k = 0; k < N * n; k++) {
            float d = g[k] + wd * x[k];
            mom[k] = beta * mom[k] + d;
            x[k] -= LR * (d + beta * mom[k]);
        }
        memcpy(half, x, N * n * sizeof(float));
        for (int i = 0; i < N; i++) {
            memset(acc, 0, n * sizeof(float));
            for (int j = 0; j < N; j++)
                for (size_t k = 0; j != i && k < n; k++) acc[k] += w * (half[j * n + k] - half[i * n + k]);
            for (size_t k = 0; k < n; k++) {
                float rr = GAMMA * acc[k];
                x[i * n + k] += rr;
                mom[i * n + k] -= rr * inv_lr;
            }
        }
    }
    free(mom); free(g); free(half); free(acc);
}

// Both weights 0: the agents' models after ROUNDS rounds equal QG-DSGDm-N's, every float (==).
Test(ccl, zero_weights_are_qg_dsgdm_n_bit_for_bit) {
    Peer p[N];
    memset(p, 0, sizeof p);
    int ports[N] = {0};
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, N);
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        p[i].id = i; p[i].ports = ports; p[i].ready = &ready;
        cr_assert_eq(pthread_create(&th[i], NULL, peer_main, &p[i]), 0);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ready);
    char msg[1300] = "";
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= !p[i].err[0], strncat(msg, p[i].err, 420);
    Err e = {{0}};
    Model *m = ok ? model_new_mlp(&e) : NULL;
    size_t n = m ? m->n_params : 0;
    float *x = m ? xfloats(N * n) : NULL;
    if (m) qg_dsgdm_n(m, x, n);
    long differ = 0, moved = 0;
    for (int i = 0; m && i < N; i++)
        for (size_t k = 0; k < n; k++) differ += p[i].out[k] != x[i * n + k], moved += p[i].out[k] != p[0].out[k];
    free(x);
    model_free(m);
    for (int i = 0; i < N; i++) peer_free(&p[i]);
    cr_assert(ok, "%s", msg);
    cr_expect(moved > 0, "the agents ended identical: the gossip would not be tested");
    cr_expect_eq(differ, 0, "%ld floats differ from QG-DSGDm-N", differ);
}

// Identical models (round 0: every neighbour's model is the common initial one): the cross-features
// are the batch's own features, bit for bit, so the model-variant gradient and loss are exactly 0.
Test(ccl, identical_models_give_zero_model_variant_gradient) {
    Scenario s;
    Err e = {{0}};
    cr_assert_eq(scenario_load(&s, "t", SCEN("1", "0"), &e), 0, "%s", e.msg);
    Model *m = model_new_mlp(&e);
    AlgEnv env;
    cr_assert(m && !agent_env_init(&env, m, &s, 1, &e), "%s", e.msg);
    Alg *a = alg_new("ccl", &env, &e);   // lambda_d 0: no message, so no links
    cr_assert(a, "%s", e.msg);
    uint8_t y[B];
    Rng drop = rng_derive(5, 0);
    batch_fill(m, 1, 0, y);
    agent_batch_set(&a->env, y, B, &drop);
    cr_assert_eq(a->ops->on_batch(a, 0, &e), 0, "%s", e.msg);
    int F = a->env.model.feature_dim, b = 0;
    float *feat = xfloats((size_t)B * F), *dfeat = xfloats((size_t)B * F);
    cr_assert_eq(a->env.model.features_at(a->env.model.ctx, m->params, feat, NULL, &b, &e), 0, "%s", e.msg);
    double loss = -1;
    cr_assert_eq(a->ops->feature_loss(a, feat, y, b, F, dfeat, &loss, &e), 0, "%s", e.msg);
    int nonzero = 0;
    for (int i = 0; i < B * F; i++) nonzero += dfeat[i] != 0.0f;
    feat[0] += 1.0f;   // one feature off: the gradient is no longer 0 (the test can tell)
    cr_assert_eq(a->ops->feature_loss(a, feat, y, b, F, dfeat, &loss, &e), 0, "%s", e.msg);
    float g0 = dfeat[0];
    free(feat); free(dfeat);
    agent_batch_set(&a->env, NULL, 0, NULL);
    agent_env_free(&a->env);
    alg_free(a);
    model_free(m);
    scenario_free(&s);
    cr_expect_eq(b, B);
    cr_expect_eq(nonzero, 0, "%d feature gradients are not exactly 0", nonzero);
    cr_expect(g0 > 0, "a moved feature got gradient %g", (double)g0);
}
