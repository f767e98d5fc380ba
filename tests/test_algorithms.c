// Every algorithm on a problem with a known answer: agent i minimizes 0.5 ||x - c_i||^2, so the optimum
// of the sum is mean(c). N agents run as threads of the test, linked by real TCP sockets on loopback.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "alg.h"

#define MAX_AGENTS 8
#define MAX_PARAMS 128         // the tiny model has 68
#define TIMEOUT_S 5.0          // per message: a bug fails the test instead of hanging it
#define INIT_SEED 11           // the common initial model
#define TARGET_SEED 29         // the targets c_i

typedef struct {
    const char *topology, *algorithm;   // the scenario's "topology" and "algorithm" objects (JSON)
    int n;
    double drop;                        // network.drop_prob
    int rounds;                         // gradient rounds
    float lr0, decay;                   // the lr of round t is lr0 / (1 + decay * t)
    int consensus;                      // consensus-only rounds after training
    const char *cons_codec;             // their codec (NULL: algorithm.compensation's rounds, codec, keep
                                        // and step, as the agent runs them)
    double cons_keep, cons_gamma;
    const char *optimizer;              // the scenario's "optimizer" object (NULL: plain SGD, no momentum)
    int same_targets;                   // 1: every agent's target is agent 0's (identical data)
} RunCfg;

// Fixed-size arrays, so a failed assertion (which ends the test at once) leaks nothing.
typedef struct {
    RunCfg cfg;
    char text[2048];                    // the scenario
    size_t d;                           // parameters per agent
    float x0[MAX_PARAMS];               // the common initial model
    float c[MAX_AGENTS][MAX_PARAMS];    // targets
    float trained[MAX_AGENTS][MAX_PARAMS];   // m->params after the gradient rounds
    float final[MAX_AGENTS][MAX_PARAMS];     // ... and after the consensus rounds
    long missing[MAX_AGENTS];           // env.missing at the end
    int cons_rounds;                    // consensus rounds run
    char err[MAX_AGENTS][600];
    pthread_barrier_t ready, done;
    int ports[MAX_AGENTS];
    atomic_int setup_failed;
} Run;

typedef struct {
    Run *run;
    int id;
    Scenario s;
    Model *m;
    AlgEnv env;                         // until alg_new takes it over
    Alg *alg;
    Err e;
} Agent;

static float lr_at(const RunCfg *c, long t) { return c->lr0 / (1.0f + c->decay * (float)t); }

static Model *tiny_model(Err *e) {
    Rng init = rng_derive(INIT_SEED, 1);   // the same for every agent, as agent.c's setup()
    return model_build("linear", NORM_NONE, 1, 4, 4, 4, 1, &init, e);   // 16x4 weights + 4 biases
}

// ---- one agent (a thread) ----

static int agent_setup(Agent *ag) {
    if (scenario_load(&ag->s, "test", ag->run->text, &ag->e))
        return -1;   // concurrently: see scenario_load_is_thread_safe
    if (!(ag->m = tiny_model(&ag->e))) return -1;
    AlgEnv *env = &ag->env;
    if (agent_env_init(env, ag->m, &ag->s, ag->id, &ag->e)) return -1;
    env->net = net_new(ag->id, env->n, "127.0.0.1", &ag->e);
    return env->net ? 0 : -1;
}

static int agent_connect(Agent *ag) {
    Run *r = ag->run;
    char ips[MAX_AGENTS][64];
    for (int j = 0; j < r->cfg.n; j++) snprintf(ips[j], sizeof ips[j], "127.0.0.1");
    if (net_connect_all(ag->env.net, ips, r->ports, NULL, TIMEOUT_S, &ag->e)) return -1;
    net_set_drop(ag->env.net, ag->s.net.drop_prob, ag->s.seed);
    ag->alg = alg_new(ag->s.alg.name, &ag->env, &ag->e);
    return ag->alg ? 0 : -1;
}

// Drops arrive (marked), so a round that waited out a timeout means a message never came: fail at
// once, which closes this agent's links and so fails its peers, instead of waiting rounds x TIMEOUT_S.
static int round_check(Agent *ag, double t0, long round) {
    double took = time_now() - t0;
    if (took < TIMEOUT_S / 2) return 0;
    err_set(&ag->e, "agent %d: round %ld took %.1f s: a message never came", ag->id, round, took);
    return -1;
}

// Gradient rounds at the query point m->params, then consensus rounds numbered after them (as agent.c).
static int agent_train(Agent *ag) {
    Run *r = ag->run;
    const RunCfg *c = &r->cfg;
    Alg *a = ag->alg;
    Model *m = ag->m;
    const float *target = r->c[ag->id];
    for (long t = 0; t < c->rounds; t++) {
        for (size_t k = 0; k < m->n_params; k++) m->grads[k] = m->params[k] - target[k];
        net_discard_before(a->env.net, t > 0 ? (uint64_t)(t - 1) : 0);   // as agent.c: one round of slack
        double t0 = time_now();
        if (a->ops->step(a, t, lr_at(c, t), &ag->e) || round_check(ag, t0, t)) return -1;
    }
    memcpy(r->trained[ag->id], m->params, r->d * sizeof(float));
    Codec cc;
    const char *codec = c->cons_codec ? c->cons_codec : ag->s.alg.comp.codec;
    double keep = c->cons_codec ? c->cons_keep : ag->s.alg.comp.keep;
    double gamma = c->cons_codec ? c->cons_gamma : ag->s.alg.comp.gamma;
    int count = c->cons_codec ? c->consensus : ag->s.alg.comp.rounds;
    if (codec_init(&cc, codec, keep, &ag->e)) return -1;
    if (ag->id == 0) r->cons_rounds = count;
    for (long round = c->rounds + 1; round <= c->rounds + count; round++) {
        double t0 = time_now();
        if (a->ops->consensus(a, round, &cc, gamma, &ag->e) || round_check(ag, t0, round)) return -1;
    }
    memcpy(r->final[ag->id], m->params, r->d * sizeof(float));
    r->missing[ag->id] = a->env.missing;
    return net_flush(a->env.net, TIMEOUT_S, &ag->e);
}

static void agent_free(Agent *ag) {
    AlgEnv *env = ag->alg ? &ag->alg->env : &ag->env;   // alg_new copied env: free through the copy
    agent_env_free(env);
    alg_free(ag->alg);
    model_free(ag->m);
}

// Listen, publish the port, wait for everyone's (barrier), connect concurrently, run. A failing agent
// closes its links at once, so a peer that waits for it fails at once ("link ... closed before its
// round-k message") instead of waiting out timeouts; one that succeeds keeps them open until all are done.
static void *agent_main(void *p) {
    Agent *ag = p;
    Run *r = ag->run;
    int ok = agent_setup(ag) == 0;
    r->ports[ag->id] = ok ? net_port(ag->env.net) : 0;
    if (!ok) atomic_store(&r->setup_failed, 1);
    pthread_barrier_wait(&r->ready);
    if (ok && atomic_load(&r->setup_failed)) { ok = 0; err_set(&ag->e, "another agent failed to set up"); }
    ok = ok && agent_connect(ag) == 0 && agent_train(ag) == 0;
    if (!ok) {
        snprintf(r->err[ag->id], sizeof r->err[ag->id], "%s", ag->e.msg[0] ? ag->e.msg : "failed without a message");
        agent_free(ag);
    }
    pthread_barrier_wait(&r->done);
    if (ok) agent_free(ag);
    return NULL;
}

// ---- a run of n agents ----

static void run_init(Run *r, const RunCfg *cfg) {
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    cr_assert(cfg->n >= 2 && cfg->n <= MAX_AGENTS);
    snprintf(r->text, sizeof r->text,
             "{\"name\":\"algtest\",\"seeds\":[3],\"agents\":%d,\"dataset\":\"synthetic\",\"model\":\"linear\","
             "\"norm\":\"none\",\"optimizer\":%s,"
             "\"topology\":%s,\"algorithm\":%s,\"network\":{\"round_timeout_s\":%g,\"drop_prob\":%g}}",
             cfg->n, cfg->optimizer ? cfg->optimizer : "{\"momentum\":0,\"nesterov\":false,\"weight_decay\":0}",
             cfg->topology, cfg->algorithm, TIMEOUT_S, cfg->drop);
    Err e = {{0}};
    Model *m = tiny_model(&e);
    cr_assert(m, "model_build: %s", e.msg);
    r->d = m->n_params;
    int fits = r->d <= MAX_PARAMS;
    if (fits) memcpy(r->x0, m->params, r->d * sizeof(float));
    model_free(m);
    cr_assert(fits, "the model has %zu parameters, more than MAX_PARAMS = %d", r->d, MAX_PARAMS);
    for (int i = 0; i < cfg->n; i++) {
        Rng g = rng_derive(TARGET_SEED, (uint64_t)(cfg->same_targets ? 0 : i));
        for (size_t k = 0; k < r->d; k++) r->c[i][k] = (float)(2.0 * rng_uniform(&g) - 1.0);
    }
}

// Run every agent to the end (every thread is joined, whatever fails), then assert none failed.
static void run_agents(Run *r) {
    int n = r->cfg.n;
    Agent *ag = xcalloc((size_t)n, sizeof *ag);
    pthread_t th[MAX_AGENTS];
    pthread_barrier_init(&r->ready, NULL, (unsigned)n);
    pthread_barrier_init(&r->done, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        ag[i].run = r;
        ag[i].id = i;
        cr_assert_eq(pthread_create(&th[i], NULL, agent_main, &ag[i]), 0, "pthread_create");
    }
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r->ready);
    pthread_barrier_destroy(&r->done);
    free(ag);
    char all[MAX_AGENTS * 620] = "";   // every agent's error: the first failure is not always agent 0's
    for (int i = 0; i < n; i++)
        if (r->err[i][0]) snprintf(all + strlen(all), sizeof all - strlen(all), "\n  agent %d: %s", i, r->err[i]);
    cr_assert(!all[0], "%s run failed:%s", r->cfg.algorithm, all);
}

static void run_all(Run *r, const RunCfg *cfg) {
    run_init(r, cfg);
    run_agents(r);
}

// ---- references and measures ----

// The larger error, NaN if either is NaN (a diverged agent must fail the checks, which fmax would hide).
static double worst_of(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }

static double target_mean(const Run *r, size_t k) {
    double s = 0;
    for (int i = 0; i < r->cfg.n; i++) s += r->c[i][k];
    return s / r->cfg.n;
}

// Gradient descent on target (NULL: on mean(c), the centralized problem), in double, into x.
static void gd_reference(const Run *r, const float *target, double *x) {
    for (size_t k = 0; k < r->d; k++) {
        double ck = target ? target[k] : target_mean(r, k);
        x[k] = r->x0[k];
        for (long t = 0; t < r->cfg.rounds; t++) x[k] -= lr_at(&r->cfg, t) * (x[k] - ck);
    }
}

// max over entries of |mean over agents of v_i - ref|
static double mean_error(const Run *r, const float (*v)[MAX_PARAMS], const double *ref) {
    double worst = 0;
    for (size_t k = 0; k < r->d; k++) {
        double s = 0;
        for (int i = 0; i < r->cfg.n; i++) s += v[i][k];
        worst = worst_of(worst, fabs(s / r->cfg.n - ref[k]));
    }
    return worst;
}

// max over agents and entries of |v_i - mean(c)|, and of |v_i - v_0| (disagreement)
static void final_errors(const Run *r, const float (*v)[MAX_PARAMS], double *to_mean, double *spread) {
    *to_mean = *spread = 0;
    for (size_t k = 0; k < r->d; k++) {
        double cm = target_mean(r, k);
        for (int i = 0; i < r->cfg.n; i++) {
            *to_mean = worst_of(*to_mean, fabs(v[i][k] - cm));
            *spread = worst_of(*spread, fabs(v[i][k] - v[0][k]));
        }
    }
}

// On a regular graph without drops every algorithm's mixing conserves the average, so the agents'
// mean after training is the centralized gradient-descent iterate (checked unless mean_tol < 0);
// after the consensus rounds every agent is at mean(c).
static void check_converges(const Run *r, const char *label, double mean_tol, double tol) {
    double ref[MAX_PARAMS];
    gd_reference(r, NULL, ref);
    double merr = mean_error(r, r->trained, ref), err, spread, terr, tspread;
    final_errors(r, r->trained, &terr, &tspread);
    final_errors(r, r->final, &err, &spread);
    cr_log_info("%-34s trained: mean vs GD %.1e, max |z-mean c| %.1e | after %d consensus: %.1e, spread %.1e",
                label, merr, terr, r->cons_rounds, err, spread);
    if (mean_tol >= 0)
        cr_expect_leq(merr, mean_tol, "%s: mean of the agents after training is %.3g from centralized GD", label, merr);
    cr_expect_leq(err, tol, "%s: an agent ends %.3g from mean(c) (tolerance %g)", label, err, tol);
    cr_expect_leq(spread, tol, "%s: agents disagree by %.3g (tolerance %g)", label, spread, tol);
}

// Push-sum (SGP) simulated here in double on the same graphs and the same message drops: x, u.
typedef struct {
    double x[MAX_AGENTS][MAX_PARAMS], nx[MAX_AGENTS][MAX_PARAMS], u[MAX_AGENTS];
    long missing[MAX_AGENTS];
} PushSum;

static void pushsum_round(const Run *r, const Topology *t, Graph *g, const Net *drops, long round, int kind,
                          PushSum *ps) {
    int n = r->cfg.n;
    double nu[MAX_AGENTS] = {0};
    topo_round(t, round, g);
    memset(ps->nx, 0, sizeof ps->nx);
    for (int i = 0; i < n; i++) {
        double w = mix_pushsum(g, i), keep = w;
        for (int k = g->out_start[i]; k < g->out_start[i + 1]; k++) {
            int p = g->out[k];
            if (net_drops(drops, i, p, kind, (uint64_t)round)) { keep += w; ps->missing[p]++; continue; }
            for (size_t j = 0; j < r->d; j++) ps->nx[p][j] += w * ps->x[i][j];
            nu[p] += w * ps->u[i];
        }
        for (size_t j = 0; j < r->d; j++) ps->nx[i][j] += keep * ps->x[i][j];
        nu[i] += keep * ps->u[i];
    }
    memcpy(ps->x, ps->nx, sizeof ps->x);
    memcpy(ps->u, nu, sizeof nu);
}

// max over agents and entries of |v_i - x_i / u_i|
static double pushsum_error(const Run *r, const PushSum *ps, const float (*v)[MAX_PARAMS]) {
    double worst = 0;
    for (int i = 0; i < r->cfg.n; i++)
        for (size_t k = 0; k < r->d; k++) worst = worst_of(worst, fabs(v[i][k] - ps->x[i][k] / ps->u[i]));
    return worst;
}

// The run's rounds in the simulation, with the gradient at z = x/u; *after_training: the engine's
// distance from it after the gradient rounds.
static void pushsum_simulate(const Run *r, PushSum *ps, double *after_training) {
    Scenario s;
    Err e = {{0}};
    Topology t;
    cr_assert_eq(scenario_load(&s, "test", r->text, &e), 0, "%s", e.msg);
    Net *drops = net_new(0, r->cfg.n, "127.0.0.1", &e);   // only for net_drops: never connected
    cr_assert(drops, "%s", e.msg);
    if (topo_init(&t, &s.topo, &e)) { net_free(drops); cr_assert_fail("%s", e.msg); }
    net_set_drop(drops, s.net.drop_prob, s.seed);
    Graph *g = graph_new(r->cfg.n);
    memset(ps, 0, sizeof *ps);
    for (int i = 0; i < r->cfg.n; i++) {
        for (size_t k = 0; k < r->d; k++) ps->x[i][k] = r->x0[k];
        ps->u[i] = 1.0;
    }
    for (long round = 0; round < r->cfg.rounds; round++) {
        for (int i = 0; i < r->cfg.n; i++)
            for (size_t k = 0; k < r->d; k++)
                ps->x[i][k] -= lr_at(&r->cfg, round) * (ps->x[i][k] / ps->u[i] - r->c[i][k]);
        pushsum_round(r, &t, g, drops, round, KIND_PUSH, ps);
    }
    *after_training = pushsum_error(r, ps, r->trained);
    for (int c = 0; c < r->cfg.consensus; c++)
        pushsum_round(r, &t, g, drops, r->cfg.rounds + 1 + c, KIND_CONSENSUS, ps);
    net_free(drops);
    graph_free(g);
    topo_free(&t);
}

// Compare the engine's run with the simulated SGP: z after training and at the end, and the count of
// missing messages. The simulation keeps sum(u) = n, so matching it means the engine does too.
static void check_sgp_simulated(const Run *r, const char *label, double tol) {
    PushSum ps;
    double worst_t, usum = 0, umin = INFINITY, umax = 0;
    pushsum_simulate(r, &ps, &worst_t);
    double worst_f = pushsum_error(r, &ps, r->final);
    for (int i = 0; i < r->cfg.n; i++) {
        usum += ps.u[i], umin = fmin(umin, ps.u[i]), umax = fmax(umax, ps.u[i]);
        cr_expect_eq(r->missing[i], ps.missing[i], "%s: agent %d missed %ld messages, %ld were dropped", label, i,
                     r->missing[i], ps.missing[i]);
    }
    cr_log_info("%-34s vs double push-sum: %.1e after training, %.1e at the end; u in [%.3f, %.3f], sum %.12f", label,
                worst_t, worst_f, umin, umax, usum);
    cr_expect_leq(worst_t, tol, "%s: z differs from the simulated push-sum by %.3g after training", label, worst_t);
    cr_expect_leq(worst_f, tol, "%s: z differs from the simulated push-sum by %.3g at the end", label, worst_f);
    cr_expect(fabs(usum - r->cfg.n) < 1e-9, "%s: simulated sum of u is %.12f, not %d", label, usum, r->cfg.n);
}

// ---- tests ----

#define EXP_GRAPH "{\"kind\":\"exponential\"}"
#define DIRECTED_RING "{\"kind\":\"ring\",\"directed\":true}"
#define RING "{\"kind\":\"ring\"}"
#define TREE "{\"kind\":\"binary-tree\"}"
#define CHOCO_TOPK "{\"name\":\"choco\",\"gamma\":0.5,\"compression\":{\"kind\":\"topk\",\"keep\":0.5}}"
#define CHOCO_GOSSIP_TOPK "{\"name\":\"choco-gossip\",\"gamma\":0.5,\"compression\":{\"kind\":\"topk\",\"keep\":0.5}}"
#define SPARSE_PUSH_TOPK "{\"name\":\"sparse-push\",\"gamma\":0.3,\"compression\":{\"kind\":\"topk\",\"keep\":0.25}}"
#define DENSE_CONSENSUS(k) .consensus = (k), .cons_codec = "dense", .cons_keep = 1.0, .cons_gamma = 1.0

// Every agent's model after training: bit for bit the same, and the centralized GD iterate.
static void check_allreduce(int n) {
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"allreduce\"}", .n = n, .rounds = 30, .lr0 = 0.3f};
    Run r;
    run_all(&r, &cfg);
    double ref[MAX_PARAMS], worst = 0;
    gd_reference(&r, NULL, ref);
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < r.d; k++) worst = worst_of(worst, fabs(r.trained[i][k] - ref[k]));
        cr_expect(!memcmp(r.trained[i], r.trained[0], r.d * sizeof(float)),
                  "allreduce n=%d: agent %d differs from agent 0", n, i);
    }
    cr_log_info("allreduce n=%d: max |x - centralized GD| = %.1e", n, worst);
    cr_expect_leq(worst, 1e-5, "allreduce n=%d: %.3g from the centralized iterate", n, worst);
}

Test(algorithms, allreduce_is_centralized_gd) {
    check_allreduce(4);
    check_allreduce(3);   // 68 parameters in uneven chunks
}

static void check_sgp(const char *topology, int n, const char *label, int consensus) {
    RunCfg cfg = {.topology = topology, .algorithm = "{\"name\":\"sgp\"}", .n = n, .rounds = 100, .lr0 = 0.3f,
                  DENSE_CONSENSUS(consensus)};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, label, 1e-5, 1e-5);
    check_sgp_simulated(&r, label, 1e-5);
}

// One peer per round on a power of two: log2(n) consensus rounds average exactly.
Test(algorithms, sgp_exponential_4) { check_sgp(EXP_GRAPH, 4, "sgp exponential n=4", 10); }
Test(algorithms, sgp_exponential_8) { check_sgp(EXP_GRAPH, 8, "sgp exponential n=8", 10); }
Test(algorithms, sgp_directed_ring) { check_sgp(DIRECTED_RING, 5, "sgp directed ring n=5", 100); }

// Out-degrees differ on a tree, so the weights u move away from 1 and only the de-biasing z = x/u
// keeps the answer right; the mean of z no longer follows centralized GD.
Test(algorithms, sgp_binary_tree_debiases) {
    RunCfg cfg = {.topology = TREE, .algorithm = "{\"name\":\"sgp\"}", .n = 6, .rounds = 200,
                  .lr0 = 0.3f, .decay = 0.05f, DENSE_CONSENSUS(60)};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, "sgp binary tree n=6", -1, 1e-4);
    check_sgp_simulated(&r, "sgp binary tree n=6", 1e-5);
}

// Overlapped SGP (OSGP, delay 1): the previous round's shares are added instead of waiting for this
// round's; mass in flight leaves x and u together, so z still reaches mean(c).
Test(algorithms, sgp_overlap_converges) {
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"sgp\",\"overlap\":true}", .n = 8, .rounds = 300,
                  .lr0 = 0.3f, .decay = 0.05f, DENSE_CONSENSUS(60)};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, "sgp overlap n=8", -1, 1e-4);
}

// 30% of the pushes dropped: the sender keeps what it would have given, so sum(x) and sum(u) are
// conserved (the run matches a simulated push-sum with the same drops) and z still reaches mean(c).
Test(algorithms, sgp_with_drops) {
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"sgp\"}", .n = 8, .drop = 0.3, .rounds = 1000,
                  .lr0 = 0.3f, .decay = 0.1f, DENSE_CONSENSUS(60)};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, "sgp drops 0.3 n=8", -1, 2e-3);   // an O(lr) bias: u != 1 where z differs
    check_sgp_simulated(&r, "sgp drops 0.3 n=8", 1e-5);
    long lost = 0;
    for (int i = 0; i < r.cfg.n; i++) lost += r.missing[i];
    cr_expect_gt(lost, 0, "no message was dropped");
}

static void check_alg(const char *algorithm, const char *topology, int n, int rounds, int consensus, const char *codec,
                      double keep, double gamma, double tol, const char *label) {
    RunCfg cfg = {.topology = topology, .algorithm = algorithm, .n = n, .rounds = rounds, .lr0 = 0.3f,
                  .consensus = consensus, .cons_codec = codec, .cons_keep = keep, .cons_gamma = gamma};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, label, 1e-5, tol);
}

Test(algorithms, dpsgd_ring) {
    check_alg("{\"name\":\"dpsgd\"}", RING, 5, 100, 60, "dense", 1, 1, 1e-5, "dpsgd ring n=5");
}

// Degrees differ on a tree, so Metropolis weights differ from edge to edge (they stay symmetric).
Test(algorithms, gossip_on_a_tree) {
    check_alg("{\"name\":\"dpsgd\"}", TREE, 6, 100, 200, "dense", 1, 1, 1e-5, "dpsgd tree n=6");
    check_alg(CHOCO_GOSSIP_TOPK, TREE, 6, 100, 200, "topk", 0.5, 0.5, 1e-4, "choco-gossip tree n=6 topk 0.5");
}

// A missing neighbour is left out and the rest renormalized, so every mix is a convex combination:
// the agents agree in the end, each entry inside the range the agents held after training. The
// average is not conserved (the weights are not column-stochastic then), so that value is mean(c)
// only up to the spread left by training.
Test(algorithms, dpsgd_with_drops) {
    RunCfg cfg = {.topology = RING, .algorithm = "{\"name\":\"dpsgd\"}", .n = 5, .drop = 0.3, .rounds = 1000,
                  .lr0 = 0.3f, .decay = 0.1f, DENSE_CONSENSUS(100)};
    Run r;
    run_all(&r, &cfg);
    double outside = 0, err, spread;
    for (size_t k = 0; k < r.d; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < cfg.n; i++) lo = fmin(lo, r.trained[i][k]), hi = fmax(hi, r.trained[i][k]);
        for (int i = 0; i < cfg.n; i++) outside = worst_of(outside, worst_of(lo - r.final[i][k], r.final[i][k] - hi));
    }
    final_errors(&r, r.final, &err, &spread);
    long lost = 0;
    for (int i = 0; i < cfg.n; i++) lost += r.missing[i];
    cr_log_info("dpsgd drops 0.3 ring n=5: %ld messages missing; end: |z - mean c| %.1e, spread %.1e, outside the "
                "trained range %.1e", lost, err, spread, outside);
    cr_expect_gt(lost, 0, "no message was dropped");
    cr_expect_leq(outside, 1e-6,
                  "dpsgd with drops: an agent ends %.3g outside the range the agents held after training", outside);
    cr_expect_leq(spread, 1e-5, "dpsgd with drops: agents disagree by %.3g after the consensus rounds", spread);
}

// The compressed push-sum algorithms where out-degrees differ (a tree), so their weights u move away
// from 1 and must travel with the numerators: decaying lr, then consensus rounds with the same codec.
// Lazy mixing (gamma < 1) leaves an O(lr) bias on such a graph (a double-precision push-sum with
// mixing (1-gamma) I + gamma P shows the same), hence the looser tolerance.
static void check_tree(const char *algorithm, const char *codec, double keep, double gamma, const char *label) {
    RunCfg cfg = {.topology = TREE, .algorithm = algorithm, .n = 6, .rounds = 1000, .lr0 = 0.3f, .decay = 0.1f,
                  .consensus = 200, .cons_codec = codec, .cons_keep = keep, .cons_gamma = gamma};
    Run r;
    run_all(&r, &cfg);
    check_converges(&r, label, -1, 5e-3);
}

Test(algorithms, compressed_pushsum_on_a_tree) {
    check_tree("{\"name\":\"deepsqueeze\",\"gamma\":0.5,\"compression\":{\"kind\":\"dense\"}}", "dense", 1, 0.5,
               "deepsqueeze tree n=6 dense");
    check_tree(CHOCO_TOPK, "topk", 0.5, 0.5, "choco tree n=6 topk 0.5");
    check_tree(SPARSE_PUSH_TOPK, "topk", 0.25, 0.3, "sparse-push tree n=6 topk 0.25");
}

// CHOCO's running sum s_i carries its float rounding for good; in gradient-free rounds it moves x by
// about 2e-7 per round here (1.8e-5 after 100 rounds, 1.4e-4 after 800), hence 1e-4 at 100 rounds.
Test(algorithms, choco_gossip_topk) {
    check_alg(CHOCO_GOSSIP_TOPK, RING, 4, 100, 100, "topk", 0.5, 0.5, 1e-4, "choco-gossip ring n=4 topk 0.5");
}

Test(algorithms, choco_pushsum_topk) {
    check_alg(CHOCO_TOPK, DIRECTED_RING, 4, 100, 200, "topk", 0.5, 0.5, 1e-4, "choco directed ring n=4 topk 0.5");
}

Test(algorithms, deepsqueeze_dense) {
    check_alg("{\"name\":\"deepsqueeze\",\"gamma\":0.5,\"compression\":{\"kind\":\"dense\"}}", EXP_GRAPH, 8, 100, 60,
              "dense", 1, 0.5, 1e-5, "deepsqueeze exponential n=8 dense");
}

Test(algorithms, deepsqueeze_q8) {
    check_alg("{\"name\":\"deepsqueeze\",\"gamma\":0.5,\"compression\":{\"kind\":\"q8\"}}", EXP_GRAPH, 8, 100, 100,
              "q8", 1, 0.5, 1e-2, "deepsqueeze exponential n=8 q8");
}

Test(algorithms, sparse_push_topk) {
    check_alg(SPARSE_PUSH_TOPK, EXP_GRAPH, 8, 100, 200, "topk", 0.25, 0.3, 1e-4,
              "sparse-push exponential n=8 topk 0.25");
}

// The compensation rounds are run with algorithm.compensation's codec, keep and step, as the agent does.
Test(algorithms, sc_sparse_push_compensation) {
    check_alg("{\"name\":\"sc-sparse-push\",\"gamma\":0.3,\"compression\":{\"kind\":\"topk\",\"keep\":0.25},"
              "\"compensation\":{\"rounds\":200,\"kind\":\"topk\",\"keep\":0.25,\"gamma\":0.5}}",
              EXP_GRAPH, 8, 100, 0, NULL, 0, 0, 1e-4, "sc-sparse-push exponential n=8 topk 0.25");
}

// With no compression and gamma = 1, DeepSqueeze, CHOCO (static graphs) and Sparse-Push are push-sum
// itself, so each must follow the simulated SGP: where out-degrees differ (a tree: u moves, and an
// agent feeds several public copies in one round) and, except CHOCO, with drops.
// CHOCO keeps s_i = sum_j W_ij x^_j as a running float sum whose rounding is never corrected; in
// consensus rounds that error moves x steadily (about 2e-7 per round here), hence its tolerance.
static void check_pushsum_family(const char *name, const char *topology, int n, double drop, double tol,
                                 const char *label) {
    char alg[128];
    snprintf(alg, sizeof alg, "{\"name\":\"%s\",\"gamma\":1,\"compression\":{\"kind\":\"dense\"}}", name);
    RunCfg cfg = {.topology = topology, .algorithm = alg, .n = n, .drop = drop, .rounds = 200, .lr0 = 0.3f,
                  .decay = 0.05f, DENSE_CONSENSUS(60)};
    Run r;
    run_all(&r, &cfg);
    check_sgp_simulated(&r, label, tol);
}

Test(algorithms, pushsum_family_is_sgp_on_a_tree) {
    check_pushsum_family("deepsqueeze", TREE, 6, 0, 1e-5, "deepsqueeze dense g=1 tree n=6");
    check_pushsum_family("choco", TREE, 6, 0, 1e-4, "choco dense g=1 tree n=6");
    check_pushsum_family("sparse-push", TREE, 6, 0, 1e-5, "sparse-push dense g=1 tree n=6");
}

Test(algorithms, pushsum_family_is_sgp_with_drops) {
    check_pushsum_family("deepsqueeze", EXP_GRAPH, 8, 0.3, 1e-5, "deepsqueeze dense g=1 drops 0.3");
    check_pushsum_family("sparse-push", EXP_GRAPH, 8, 0.3, 1e-5, "sparse-push dense g=1 drops 0.3");
}

// Sparse-Push with no compression and gamma = 1 next to SGP: same graph, rounds and consensus.
static void run_sgp_and_sparse_push(Run *sgp, Run *sp, int rounds, int consensus) {
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"sgp\"}", .n = 8, .rounds = rounds, .lr0 = 0.3f,
                  DENSE_CONSENSUS(consensus)};
    run_all(sgp, &cfg);
    cfg.algorithm = "{\"name\":\"sparse-push\",\"gamma\":1,\"compression\":{\"kind\":\"dense\"}}";
    run_all(sp, &cfg);
}

// How many entries (over every agent) of va and vb differ in their bits; the largest difference and the first.
static int bits_differ(const Run *r, const float (*va)[MAX_PARAMS], const float (*vb)[MAX_PARAMS], double *worst,
                       char *first, size_t cap) {
    int count = 0;
    *worst = 0;
    for (int i = 0; i < r->cfg.n; i++)
        for (size_t k = 0; k < r->d; k++) {
            if (!memcmp(&va[i][k], &vb[i][k], sizeof(float))) continue;
            if (!count++) snprintf(first, cap, "agent %d entry %zu: %.9g vs %.9g", i, k, va[i][k], vb[i][k]);
            *worst = worst_of(*worst, fabs(va[i][k] - vb[i][k]));
        }
    return count;
}

// docs/algorithms.md: with gamma = 1 and no compression Sparse-Push is SGP up to float rounding (the
// public copy is updated as P += (x - P), which is x only up to an ulp).
Test(algorithms, sparse_push_dense_is_sgp_up_to_rounding) {
    Run sgp, sp;
    run_sgp_and_sparse_push(&sgp, &sp, 5, 5);
    char ft[160] = "", ff[160] = "";
    double wt, wf;
    int nt = bits_differ(&sp, sp.trained, sgp.trained, &wt, ft, sizeof ft);
    int nf = bits_differ(&sp, sp.final, sgp.final, &wf, ff, sizeof ff);
    cr_log_info("sparse-push (dense, gamma 1) vs sgp: %d and %d entries differ, largest %.2g and %.2g", nt, nf, wt, wf);
    cr_expect_leq(wt, 1e-6, "sparse-push (dense, gamma 1) and sgp differ by %.2g after 5 rounds (first %s)", wt, ft);
    cr_expect_leq(wf, 1e-6, "sparse-push (dense, gamma 1) and sgp differ by %.2g after 5 consensus rounds (first %s)",
                  wf, ff);
}

// No communication: every agent converges to its own target, not to the mean.
Test(algorithms, local_converges_to_own_target) {
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"local\"}", .n = 4, .rounds = 60, .lr0 = 0.3f,
                  DENSE_CONSENSUS(5)};
    Run r;
    run_all(&r, &cfg);
    double worst = 0, err, spread;
    for (int i = 0; i < cfg.n; i++) {
        double ref[MAX_PARAMS];
        gd_reference(&r, r.c[i], ref);
        for (size_t k = 0; k < r.d; k++)
            worst = worst_of(worst, worst_of(fabs(r.trained[i][k] - ref[k]), fabs(r.final[i][k] - r.c[i][k])));
        cr_expect(!memcmp(r.trained[i], r.final[i], r.d * sizeof(float)), "local: agent %d changed in consensus rounds",
                  i);
    }
    final_errors(&r, r.final, &err, &spread);
    cr_log_info("local n=4: max |x_i - c_i| %.1e; max |x_i - mean c| %.2f", worst, err);
    cr_expect_leq(worst, 1e-5, "local: an agent is %.3g from its own target", worst);
    cr_expect_gt(err, 0.5, "local: the agents ended near mean(c) without communicating");
}

// The harness runs agents as threads, so the scenario parser must be reentrant. It was not: str()
// checked choices with strtok, whose position is one process-wide variable, and threads loading a
// valid scenario at once failed now and then ("unknown value 'exponential'"). Checked two ways: a
// caller's own strtok loop must survive a scenario_load in between, and concurrent loads must succeed.
typedef struct { const char *text; atomic_int *caught; double until; int loads, failures; char first[600]; } LoadJob;

static void *load_many(void *p) {
    LoadJob *job = p;
    for (; time_now() < job->until && !atomic_load(job->caught); job->loads++) {
        Scenario s;
        Err e = {{0}};
        if (scenario_load(&s, "test", job->text, &e)) {
            if (!job->failures++) snprintf(job->first, sizeof job->first, "%s", e.msg);
            atomic_store(job->caught, 1);
        }
    }
    return NULL;
}

static void check_strtok_kept(const char *text) {
    char mine[] = "a,b,c";
    Scenario s;
    Err e = {{0}};
    char *first = strtok(mine, ",");
    cr_assert_eq(scenario_load(&s, "test", text, &e), 0, "%s", e.msg);
    char *second = strtok(NULL, ",");
    cr_expect(first && second && !strcmp(second, "b"),
              "scenario_load moved the caller's strtok position: the token after "
              "'a' in \"a,b,c\" came out as '%s'",
              second ? second : "(null)");
}

Test(algorithms, scenario_load_is_thread_safe) {
    Run r;
    RunCfg cfg = {.topology = EXP_GRAPH, .algorithm = "{\"name\":\"sgp\"}", .n = 8};
    run_init(&r, &cfg);
    check_strtok_kept(r.text);
    atomic_int caught = 0;
    LoadJob jobs[MAX_AGENTS];
    pthread_t th[MAX_AGENTS];
    for (int i = 0; i < MAX_AGENTS; i++) {
        jobs[i] = (LoadJob){.text = r.text, .caught = &caught, .until = time_now() + 0.5};
        cr_assert_eq(pthread_create(&th[i], NULL, load_many, &jobs[i]), 0);
    }
    int failures = 0, loads = 0;
    const char *first = "";
    for (int i = 0; i < MAX_AGENTS; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].failures && !failures) first = jobs[i].first;
        failures += jobs[i].failures;
        loads += jobs[i].loads;
    }
    cr_expect_eq(failures, 0, "%d of %d concurrent loads of a valid scenario failed (%d threads); first: %s", failures,
                 loads, MAX_AGENTS, first);
}

// ---- the heterogeneous-data baselines: D2, gradient tracking, quasi-global momentum ----

// max over agents and entries of |x_i - mean(c)| after training, relative to max |mean(c)|
static double rel_to_optimum(const Run *r) {
    double err, spread, scale = 0;
    final_errors(r, r->trained, &err, &spread);
    for (size_t k = 0; k < r->d; k++) scale = fmax(scale, fabs(target_mean(r, k)));
    return err / scale;
}

static double exact_run(const char *algorithm, int rounds) {
    RunCfg cfg = {.topology = RING, .algorithm = algorithm, .n = 5, .rounds = rounds, .lr0 = 0.1f, DENSE_CONSENSUS(0)};
    Run r;
    run_all(&r, &cfg);
    return rel_to_optimum(&r);
}

// Heterogeneous optima, exact gradients, a constant lr: D2 and gradient tracking correct for the
// differing local gradients and reach mean(c) itself; D-PSGD stops where lr * (x_i - c_i) balances the
// neighbours' pull, an O(lr) bias that no number of rounds removes.
Test(algorithms, exact_methods_reach_the_mean_optimum) {
    double d2 = exact_run("{\"name\":\"d2\"}", 400);
    double gt = exact_run("{\"name\":\"gradient-tracking\"}", 400);
    double dp = exact_run("{\"name\":\"dpsgd\"}", 400);
    cr_log_info("ring n=5, lr 0.1, 400 rounds, max |x_i - x*| / |x*|: d2 %.2e, gradient-tracking %.2e, dpsgd %.2e",
                d2, gt, dp);
    cr_expect_leq(d2, 1e-6, "d2 ends %.3g (relative) from the mean optimum", d2);
    cr_expect_leq(gt, 1e-6, "gradient-tracking ends %.3g (relative) from the mean optimum", gt);
    cr_expect_geq(dp, 1e-2, "dpsgd ends only %.3g (relative) from the mean optimum: where is its bias?", dp);
}

#define QGM_OPT "{\"momentum\":0.9,\"nesterov\":true,\"weight_decay\":0,\"quasi_global\":true}"

// Centralized momentum SGD on agent 0's target, in float: with qgm the quasi-global rule (m follows the
// displacement, in sgd_step_qg's order of operations), else PyTorch's heavy-ball m = mu m + g (Nesterov).
static void momentum_reference(const Run *r, float mu, int qgm, float *x) {
    float m[MAX_PARAMS] = {0};
    memcpy(x, r->x0, r->d * sizeof *x);
    for (long t = 0; t < r->cfg.rounds; t++) {
        float lr = lr_at(&r->cfg, t), f = (1.0f - mu) / lr;
        for (size_t k = 0; k < r->d; k++) {
            float g = x[k] - r->c[0][k], before = x[k], tm = mu * m[k] + g;
            x[k] -= lr * (g + mu * tm);
            m[k] = qgm ? mu * m[k] + f * (before - x[k]) : tm;
        }
    }
}

// Identical data on a graph that averages identical models to themselves: every agent's model is the
// centralized iterate of the same optimizer. *heavy_ball: the distance to PyTorch's heavy-ball instead.
static double qgm_run(const char *algorithm, const char *topology, double *heavy_ball) {
    RunCfg cfg = {.topology = topology, .algorithm = algorithm, .n = 4, .rounds = 60, .lr0 = 0.1f,
                  .optimizer = QGM_OPT, .same_targets = 1, DENSE_CONSENSUS(0)};
    Run r;
    run_all(&r, &cfg);
    float ref[MAX_PARAMS], hb[MAX_PARAMS];
    momentum_reference(&r, 0.9f, 1, ref);
    momentum_reference(&r, 0.9f, 0, hb);
    double worst = 0, scale = 0;
    *heavy_ball = 0;
    for (int i = 0; i < cfg.n; i++)
        for (size_t k = 0; k < r.d; k++) {
            worst = worst_of(worst, fabs(r.trained[i][k] - ref[k]));
            *heavy_ball = worst_of(*heavy_ball, fabs(r.trained[i][k] - hb[k]));
            scale = fmax(scale, fabs(ref[k]));
        }
    *heavy_ball /= scale;
    return worst / scale;
}

// Complete graph, Metropolis weights 1/4: the mix rounds (0.25 v + 0.75 v need not be v in float), so
// D-PSGD matches to float tolerance; SGP on the exponential graph averages pairs (0.5 x + 0.5 x is x
// exactly, u stays 1), so it matches bit for bit.
Test(algorithms, quasi_global_with_identical_data_is_centralized) {
    double hb_dp, hb_sgp;
    double dp = qgm_run("{\"name\":\"dpsgd\"}", "{\"kind\":\"complete\"}", &hb_dp);
    double sgp = qgm_run("{\"name\":\"sgp\"}", EXP_GRAPH, &hb_sgp);
    cr_log_info("QGM, identical data, n=4, 60 rounds, relative to centralized QGM: dpsgd complete %.2e, sgp "
                "exponential %.2e; to heavy-ball: %.2e, %.2e", dp, sgp, hb_dp, hb_sgp);
    cr_expect_leq(dp, 1e-6, "dpsgd with QGM on a complete graph is %.3g from the centralized iterate", dp);
    cr_expect_eq(sgp, 0.0, "sgp with QGM on pairs is %.3g from the centralized iterate (expected bit for bit)", sgp);
    cr_expect_geq(hb_dp, 1e-5, "QGM should not be heavy-ball momentum (%.3g apart)", hb_dp);
}
