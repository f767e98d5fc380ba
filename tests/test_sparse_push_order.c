// Sparse-Push must absorb a link's messages in the order the sender sent them, whatever their round
// numbers: SC-Sparse-Push's compensation rounds are numbered after the training rounds (as agent.c
// does), so a compensation message that misses its round precedes, on its link, training pushes with
// lower round numbers. Two agents run as threads over loopback TCP; the sender holds back one
// compensation message until the receiver has timed out on it and moved on to training, and the test
// checks that the sum of the push-sum numerators x is still what the gradient steps made it.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "agent.h"
#include "alg.h"

#define N_AGENTS 2
#define MAX_PARAMS 128        // the tiny model has 68
#define TRAIN_ROUNDS 12
#define COMP_AFTER 6          // compensation rounds run after this many training rounds
#define COMP_ROUNDS 3
#define FINAL_ROUNDS 40       // dense, gamma 1: the agents agree on sum(x) / sum(u) to float precision
#define TIMEOUT_S 5.0         // an ordinary round's wait: long, so only the delayed message is late
#define SHORT_TIMEOUT_S 0.2   // the receiver's wait in the delayed round
#define HOLD_S 0.8            // the sender's delay in that round: well past the receiver's wait
#define RECEIVER 0
#define SENDER 1

typedef struct {
    char text[1024];                        // the scenario
    size_t d;
    float x0[MAX_PARAMS];                   // the common initial model
    float c[N_AGENTS][MAX_PARAMS];          // agent i's gradient is params - c_i
    double stepped[N_AGENTS][MAX_PARAMS];   // sum over rounds of lr * gradient: what SGD took out of x
    float final[N_AGENTS][MAX_PARAMS];      // m->params (x / u) at the end
    long missing[N_AGENTS];
    char err[N_AGENTS][600];
    int ports[N_AGENTS];
    pthread_barrier_t ready, done;
} OrderRun;

typedef struct {
    OrderRun *run;
    int id;
    Scenario s;
    Model *m;
    AlgEnv env;
    Alg *alg;
    Err e;
} OrderAgent;

static Model *order_model(Err *e) {
    Rng init = rng_derive(11, 1);   // the same for every agent
    return model_build("linear", NORM_NONE, 1, 4, 4, 4, 1, &init, e);
}

static int order_setup(OrderAgent *ag) {
    if (scenario_load(&ag->s, "order", ag->run->text, &ag->e)) return -1;
    if (!(ag->m = order_model(&ag->e))) return -1;
    AlgEnv *env = &ag->env;
    if (agent_env_init(env, ag->m, &ag->s, ag->id, &ag->e)) return -1;
    env->timeout_s = TIMEOUT_S;
    env->net = net_new(ag->id, env->n, "127.0.0.1", &ag->e);
    return env->net ? 0 : -1;
}

static int order_connect(OrderAgent *ag) {
    char ips[N_AGENTS][64];
    for (int j = 0; j < N_AGENTS; j++) snprintf(ips[j], sizeof ips[j], "127.0.0.1");
    if (net_connect_all(ag->env.net, ips, ag->run->ports, NULL, TIMEOUT_S, &ag->e)) return -1;
    ag->alg = alg_new(ag->s.alg.name, &ag->env, &ag->e);
    return ag->alg ? 0 : -1;
}

static int order_train(OrderAgent *ag, long t) {
    Model *m = ag->m;
    float lr = ag->s.sgd.lr;
    for (size_t k = 0; k < m->n_params; k++) {
        m->grads[k] = m->params[k] - ag->run->c[ag->id][k];
        ag->run->stepped[ag->id][k] += (double)(lr * m->grads[k]);   // as sgd_step without momentum or decay
    }
    return ag->alg->ops->step(ag->alg, t, lr, &ag->e);
}

// The last compensation round is the delayed one: the receiver gives up on the sender's message
// quickly and goes on to training round COMP_AFTER, where the held message arrives right before the
// sender's push of that round, on the same link.
static int order_compensate(OrderAgent *ag, long round, const Codec *c) {
    Alg *a = ag->alg;
    int delayed = round == TRAIN_ROUNDS + COMP_ROUNDS;
    if (delayed && ag->id == SENDER) nanosleep(&(struct timespec){0, (long)(HOLD_S * 1e9)}, NULL);
    if (delayed && ag->id == RECEIVER) a->env.timeout_s = SHORT_TIMEOUT_S;
    int rc = a->ops->consensus(a, round, c, ag->s.alg.comp.gamma, &ag->e);
    a->env.timeout_s = TIMEOUT_S;
    return rc;
}

// The agent's schedule (agent.c): training, compensation rounds numbered after training, training
// again, then final dense consensus rounds numbered after those.
static int order_schedule(OrderAgent *ag) {
    Codec comp;
    if (codec_init(&comp, ag->s.alg.comp.codec, ag->s.alg.comp.keep, &ag->e)) return -1;
    long extra = TRAIN_ROUNDS + 1;
    for (long t = 0; t < TRAIN_ROUNDS; t++) {
        if (t == COMP_AFTER)
            for (int k = 0; k < COMP_ROUNDS; k++)
                if (order_compensate(ag, extra++, &comp)) return -1;
        if (order_train(ag, t)) return -1;
    }
    for (int k = 0; k < FINAL_ROUNDS; k++)
        if (ag->alg->ops->consensus(ag->alg, extra++, codec_for_id(CODEC_DENSE), 1.0, &ag->e)) return -1;
    memcpy(ag->run->final[ag->id], ag->m->params, ag->run->d * sizeof(float));
    ag->run->missing[ag->id] = ag->alg->env.missing;
    return net_flush(ag->alg->env.net, TIMEOUT_S, &ag->e);
}

static void order_free(OrderAgent *ag) {
    AlgEnv *env = ag->alg ? &ag->alg->env : &ag->env;   // alg_new copied env: free through the copy
    agent_env_free(env);
    alg_free(ag->alg);
    model_free(ag->m);
}

// A failing agent closes its links at once, so its peer fails too instead of waiting out timeouts.
static void *order_main(void *p) {
    OrderAgent *ag = p;
    OrderRun *r = ag->run;
    int ok = order_setup(ag) == 0;
    r->ports[ag->id] = ok ? net_port(ag->env.net) : 0;
    pthread_barrier_wait(&r->ready);
    for (int j = 0; j < N_AGENTS; j++) ok = ok && r->ports[j] > 0;
    ok = ok && order_connect(ag) == 0 && order_schedule(ag) == 0;
    if (!ok) {
        snprintf(r->err[ag->id], sizeof r->err[ag->id], "%s", ag->e.msg[0] ? ag->e.msg : "a peer failed to set up");
        order_free(ag);
    }
    pthread_barrier_wait(&r->done);
    if (ok) order_free(ag);
    return NULL;
}

static void order_init(OrderRun *r, const char *algorithm) {
    memset(r, 0, sizeof *r);
    snprintf(r->text, sizeof r->text,
             "{\"name\":\"order\",\"seeds\":[3],\"agents\":%d,\"dataset\":\"synthetic\",\"model\":\"linear\","
             "\"norm\":\"none\",\"optimizer\":{\"lr\":0.3,\"momentum\":0,\"nesterov\":false,\"weight_decay\":0},"
             "\"topology\":{\"kind\":\"exponential\"},\"algorithm\":%s,"
             "\"network\":{\"round_timeout_s\":%g,\"drop_prob\":0}}",
             N_AGENTS, algorithm, TIMEOUT_S);
    Err e = {{0}};
    Model *m = order_model(&e);
    cr_assert(m, "model_build: %s", e.msg);
    r->d = m->n_params;
    int fits = r->d <= MAX_PARAMS;
    if (fits) memcpy(r->x0, m->params, r->d * sizeof(float));
    model_free(m);
    cr_assert(fits, "the model has %zu parameters, more than MAX_PARAMS = %d", r->d, MAX_PARAMS);
    for (int i = 0; i < N_AGENTS; i++) {
        Rng g = rng_derive(29, (uint64_t)i);
        for (size_t k = 0; k < r->d; k++) r->c[i][k] = (float)(2.0 * rng_uniform(&g) - 1.0);
    }
}

static void order_run(OrderRun *r) {
    OrderAgent ag[N_AGENTS];
    pthread_t th[N_AGENTS];
    memset(ag, 0, sizeof ag);
    pthread_barrier_init(&r->ready, NULL, N_AGENTS);
    pthread_barrier_init(&r->done, NULL, N_AGENTS);
    for (int i = 0; i < N_AGENTS; i++) {
        ag[i] = (OrderAgent){.run = r, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, order_main, &ag[i]), 0, "pthread_create");
    }
    for (int i = 0; i < N_AGENTS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r->ready);
    pthread_barrier_destroy(&r->done);
    for (int i = 0; i < N_AGENTS; i++) cr_assert(!r->err[i][0], "agent %d: %s", i, r->err[i]);
}

// Every message was absorbed by the end (the final rounds wait long), so sum(u) = N and the agents'
// common z is sum(x) / N; sum(x) must be N x0 less what the gradient steps took out. One message
// absorbed against the wrong public copy moves sum(x) by gamma times a top-k difference (about 0.1).
static void check_mass(const OrderRun *r, const char *label) {
    double worst = 0.0, spread = 0.0, want = 0.0;
    size_t at = 0;
    for (size_t k = 0; k < r->d; k++) {
        double sum_x = N_AGENTS * (double)r->x0[k];
        for (int i = 0; i < N_AGENTS; i++) sum_x -= r->stepped[i][k];
        double err = fabs((double)r->final[RECEIVER][k] - sum_x / N_AGENTS);
        if (err > worst) { worst = err; at = k; want = sum_x / N_AGENTS; }
        spread = fmax(spread, fabs((double)r->final[RECEIVER][k] - r->final[SENDER][k]));
    }
    cr_log_info("%s: z - sum(x)/N at most %.3g (parameter %zu), agents differ by %.3g, %ld message(s) late",
                label, worst, at, spread, r->missing[RECEIVER]);
    cr_assert_geq(r->missing[RECEIVER], 1, "%s: the held compensation message was not late: the test proves nothing",
                  label);
    cr_expect_leq(spread, 1e-5, "%s: the agents did not reach consensus (they differ by %.3g)", label, spread);
    cr_expect_leq(worst, 1e-4, "%s: sum of x not conserved: z[%zu] is %.6f, sum(x)/N is %.6f (off by %.3g)", label,
                  at, (double)r->final[RECEIVER][at], want, worst);
}

Test(sparse_push_order, late_compensation_message_keeps_sum_of_x, .timeout = 60) {
    static OrderRun r;
    order_init(&r, "{\"name\":\"sc-sparse-push\",\"gamma\":0.3,\"compression\":{\"kind\":\"topk\",\"keep\":0.25},"
                   "\"compensation\":{\"rounds\":3,\"kind\":\"topk\",\"keep\":0.25,\"gamma\":0.5}}");
    order_run(&r);
    check_mass(&r, "sc-sparse-push, a late compensation message");
}
