// The model callbacks an algorithm gets (AlgEnv.model, filled by runtime/agent.c) and the toy
// algorithm that uses them all (algo/alg_toy.c): each callback changes nothing of the model and
// equals the direct computation; one toy step over loopback TCP has a known answer.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "agent.h"
#include "alg.h"

#define B 4
#define SCEN(model, norm, alg) \
    "{\"name\":\"toy\",\"seeds\":[3],\"agents\":2,\"dataset\":\"synthetic\",\"model\":\"" model "\"," \
    "\"norm\":\"" norm "\",\"batch_size\":4,\"optimizer\":{\"lr\":0.1,\"momentum\":0,\"nesterov\":false," \
    "\"weight_decay\":0},\"topology\":{\"kind\":\"ring\",\"directed\":false},\"algorithm\":" alg "," \
    "\"network\":{\"round_timeout_s\":5}}"

// A batch of agent `id`: seeded inputs in model_input(m) and labels y.
static void batch_fill(Model *m, int id, uint8_t *y) {
    Rng r = rng_derive(77, (uint64_t)id);
    size_t n = (size_t)B * m->slots[0].c * m->slots[0].h * m->slots[0].w;
    float *in = model_input(m);
    for (size_t i = 0; i < n; i++) in[i] = (float)rng_uniform(&r) - 0.5f;
    for (int b = 0; b < B; b++) y[b] = (uint8_t)((b + 3 * id) % m->classes);
}

// The direct gradient at x: what grad_at must give, bit for bit (same passes, same order).
static void grad_direct(Model *m, const float *x, const uint8_t *y, float *g) {
    memcpy(m->params, x, m->n_params * sizeof(float));
    Rng r = rng_derive(5, 5);
    model_forward(m, B, 1, &r);
    model_loss(m, y, NULL);
    model_backward(m);
    memcpy(g, m->grads, m->n_params * sizeof(float));
}

Test(toy, callbacks_change_nothing_and_match_direct) {
    Scenario s;
    Err e = {{0}};
    cr_assert_eq(scenario_load(&s, "t", SCEN("lenet5", "batchnorm", "{\"name\":\"toy-crossgrad\"}"), &e), 0, "%s",
                 e.msg);
    Rng init = rng_derive(1, 1);
    Model *m = model_build("lenet5", NORM_BATCH, 1, 28, 28, 10, B, &init, &e);
    cr_assert(m, "%s", e.msg);
    AlgEnv env;
    cr_assert_eq(agent_env_init(&env, m, &s, 0, &e), 0, "%s", e.msg);
    cr_assert(env.model.feature_dim == 84 && env.model.max_batch == B, "feature_dim %d", env.model.feature_dim);
    size_t n = m->n_params, ns = m->n_state;
    float *x = xfloats(n), *g = xfloats(n), *g2 = xfloats(n), *p0 = xfloats(n), *gr0 = xfloats(n), *st0 = xfloats(ns);
    float *feat = xfloats((size_t)B * 84);
    uint8_t y[B], yl[B];
    batch_fill(m, 0, y);
    int bsz = 0;
    cr_expect_neq(env.model.grad_at(env.model.ctx, m->params, g, NULL, &e), 0, "without a batch a call must fail");
    Rng drop = rng_derive(5, 5);
    agent_batch_set(&env, y, B, &drop);
    Rng r = rng_derive(9, 9);   // the round's own state: a gradient and running statistics of its own
    for (size_t i = 0; i < n; i++) {
        m->grads[i] = (float)rng_uniform(&r);
        x[i] = m->params[i] + 0.01f * ((float)rng_uniform(&r) - 0.5f);
    }
    for (size_t i = 0; i < ns; i++) m->state[i] = 0.5f + (float)rng_uniform(&r);
    memcpy(p0, m->params, n * 4); memcpy(gr0, m->grads, n * 4); memcpy(st0, m->state, ns * 4);
    double loss = 0;
    cr_assert_eq(env.model.grad_at(env.model.ctx, x, g, &loss, &e), 0, "%s", e.msg);
    cr_expect(!memcmp(p0, m->params, n * 4) && !memcmp(gr0, m->grads, n * 4) && !memcmp(st0, m->state, ns * 4),
              "grad_at changed the model, its gradient or its running statistics");
    cr_assert_eq(env.model.features_at(env.model.ctx, x, feat, yl, &bsz, &e), 0, "%s", e.msg);
    cr_expect(bsz == B && !memcmp(yl, y, B), "features_at: batch %d or labels differ", bsz);
    cr_expect(!memcmp(p0, m->params, n * 4) && !memcmp(gr0, m->grads, n * 4) && !memcmp(st0, m->state, ns * 4),
              "features_at changed the model, its gradient or its running statistics");
    grad_direct(m, x, y, g2);
    for (size_t i = 0; i < n; i++) cr_assert_eq(g[i], g2[i], "grad_at[%zu] = %g, direct %g", i, g[i], g2[i]);
    // The features are the head's input, (84, B) channel-major in the model, (B, 84) for the algorithm.
    const Slot *hs = &m->slots[m->layers[m->n_layers - 1].in];
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 84; k++)
            cr_assert_eq(feat[b * 84 + k], hs->val[k * B + b], "feature (%d, %d)", b, k);
    cr_expect(isfinite(loss) && loss > 0, "loss %g", loss);
    free(x); free(g); free(g2); free(p0); free(gr0); free(st0); free(feat);
    agent_env_free(&env);
    model_free(m);
    scenario_free(&s);
}

// ---- one toy step by two agents over loopback: both end at x0 - lr * (g_0(x0) + g_1(x0)) / 2 ----

typedef struct {
    int id;
    int *ports;
    pthread_barrier_t *ready;
    Scenario s;
    Model *m;
    AlgEnv env;
    Alg *alg;
    float *own, *out;   // its gradient at x0 on its batch; its model after the step
    char err[400];
} Peer;

// Set up, meet the other at the barrier (always, so a failure cannot hang it), connect, one step.
static int peer_run(Peer *p, Err *e) {
    int ok = !scenario_load(&p->s, "t", SCEN("linear", "none", "{\"name\":\"toy-crossgrad\"}"), e);
    Rng init = rng_derive(1, 1);   // identical initial models
    ok = ok && (p->m = model_build("linear", NORM_NONE, 1, 4, 4, 4, B, &init, e));
    ok = ok && !agent_env_init(&p->env, p->m, &p->s, p->id, e) && (p->env.net = net_new(p->id, 2, "127.0.0.1", e));
    p->ports[p->id] = ok ? net_port(p->env.net) : 0;
    pthread_barrier_wait(p->ready);
    if (!ok || !p->ports[0] || !p->ports[1]) return -1;
    char ips[2][64] = {"127.0.0.1", "127.0.0.1"};
    if (net_connect_all(p->env.net, ips, p->ports, NULL, 5, e) || !(p->alg = alg_new("toy-crossgrad", &p->env, e)))
        return -1;
    Model *m = p->m;
    uint8_t y[B];
    batch_fill(m, p->id, y);
    Rng drop = rng_derive(5, 5);
    agent_batch_set(&p->alg->env, y, B, &drop);
    model_forward(m, B, 1, &drop);
    model_loss(m, y, NULL);
    model_backward(m);
    p->own = xfloats(m->n_params);
    p->out = xfloats(m->n_params);
    memcpy(p->own, m->grads, m->n_params * sizeof(float));
    if (p->alg->ops->step(p->alg, 0, 0.1f, e) || net_flush(p->alg->env.net, 5, e)) return -1;
    memcpy(p->out, m->params, m->n_params * sizeof(float));
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
    free(p->own);
    free(p->out);
}

// Two agents, each other's only neighbour, identical models x0: each sends x0, gets back the other's
// gradient at x0 and steps with their mean, the gradient of the union of the two batches; gossip
// then averages two equal models. So both end at x0 - lr (g_0 + g_1) / 2.
Test(toy, one_step_is_sgd_on_the_union_of_batches) {
    Peer p[2];
    memset(p, 0, sizeof p);
    int ports[2] = {0, 0};
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        p[i].id = i; p[i].ports = ports; p[i].ready = &ready;
        cr_assert_eq(pthread_create(&th[i], NULL, peer_main, &p[i]), 0);
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ready);
    int ok = !p[0].err[0] && !p[1].err[0];
    char msg[820];
    snprintf(msg, sizeof msg, "%s %s", p[0].err, p[1].err);
    size_t n = ok ? p[0].m->n_params : 0;
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    Model *x0 = ok ? model_build("linear", NORM_NONE, 1, 4, 4, 4, B, &init, &e) : NULL;
    double worst = 0;
    for (size_t k = 0; x0 && k < n; k++) {
        double want = x0->params[k] - 0.1 * 0.5 * ((double)p[0].own[k] + p[1].own[k]);
        for (int i = 0; i < 2; i++) worst = fmax(worst, fabs(p[i].out[k] - want));
    }
    int differ = ok && !memcmp(p[0].own, p[1].own, n * sizeof(float));
    model_free(x0);
    peer_free(&p[0]);
    peer_free(&p[1]);
    cr_assert(ok, "%s", msg);
    cr_expect(!differ, "the two batches gave the same gradient: the test would not tell");
    cr_expect(worst < 1e-6, "an agent is %g from x0 - lr * mean gradient", worst);
}
