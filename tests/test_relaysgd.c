// Known answers for RelaySum (relaysgd, relaysum-grad): agents as threads over loopback TCP.
// (1) Each agent k adds the one-hot e_k every step: agent i's relayed sum holds e_k with coefficient
//     exactly 1 once dist(i, k) <= t + 1 and 0 before, on every tree (both of double-binary-trees).
// (2) Quadratics 0.5 ||x - c_i||^2 with exact gradients and a constant lr: relaysgd reaches mean(c)
//     to 1e-6 relative where dpsgd keeps a bias; with dropped messages it stays near it.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "alg.h"

#define RS_MAX_AGENTS 16
#define RS_MAX_PARAMS 128   // the tiny model has 68
#define RS_MAX_ROUNDS 10    // rounds whose models are kept (the one-hot runs)
#define RS_TIMEOUT_S 5.0
#define RS_INIT_SEED 11
#define RS_TARGET_SEED 29
#define RELAY_TREES_MAX 2

typedef struct {
    const char *topology, *algorithm;   // JSON objects
    int n, rounds, onehot;              // onehot: x0 = 0, lr 1, gradient -(e_2k + e_2k+1); else quadratics
    double drop;
    float lr;
} RsCfg;

typedef struct {
    RsCfg cfg;
    char text[2048];
    size_t d;
    float c[RS_MAX_AGENTS][RS_MAX_PARAMS];                    // quadratic targets
    float hist[RS_MAX_ROUNDS + 1][RS_MAX_AGENTS][RS_MAX_PARAMS];   // one-hot: x^t per round
    float final[RS_MAX_AGENTS][RS_MAX_PARAMS];
    long missing[RS_MAX_AGENTS];
    char err[RS_MAX_AGENTS][600];
    int ports[RS_MAX_AGENTS];
    pthread_barrier_t ready, done;
    atomic_int setup_failed;
} RsRun;

typedef struct { RsRun *run; int id; Scenario s; Model *m; AlgEnv env; Alg *alg; Err e; } RsAgent;

static Model *rs_model(Err *e) {
    Rng init = rng_derive(RS_INIT_SEED, 1);
    return model_build("linear", NORM_NONE, 1, 4, 4, 4, 1, &init, e);   // 68 parameters
}

static int rs_setup(RsAgent *ag) {
    if (scenario_load(&ag->s, "test", ag->run->text, &ag->e)) return -1;
    if (!(ag->m = rs_model(&ag->e))) return -1;
    if (ag->run->cfg.onehot) memset(ag->m->params, 0, ag->m->n_params * sizeof(float));   // x0 = 0
    if (agent_env_init(&ag->env, ag->m, &ag->s, ag->id, &ag->e)) return -1;
    ag->env.net = net_new(ag->id, ag->env.n, "127.0.0.1", &ag->e);
    return ag->env.net ? 0 : -1;
}

static int rs_connect(RsAgent *ag) {
    char ips[RS_MAX_AGENTS][64];
    for (int j = 0; j < ag->run->cfg.n; j++) snprintf(ips[j], sizeof ips[j], "127.0.0.1");
    if (net_connect_all(ag->env.net, ips, ag->run->ports, NULL, RS_TIMEOUT_S, &ag->e)) return -1;
    net_set_drop(ag->env.net, ag->s.net.drop_prob, ag->s.seed);
    ag->alg = alg_new(ag->s.alg.name, &ag->env, &ag->e);
    return ag->alg ? 0 : -1;
}

static int rs_train(RsAgent *ag) {
    RsRun *r = ag->run;
    const RsCfg *c = &r->cfg;
    Alg *a = ag->alg;
    float *x = ag->m->params, *g = ag->m->grads;
    if (c->onehot) memcpy(r->hist[0][ag->id], x, r->d * sizeof(float));
    for (long t = 0; t < c->rounds; t++) {
        for (size_t k = 0; k < r->d; k++)
            g[k] = c->onehot ? -(float)(k / 2 == (size_t)ag->id) : x[k] - r->c[ag->id][k];
        net_discard_before(a->env.net, t > 0 ? (uint64_t)(t - 1) : 0);
        if (a->ops->step(a, t, c->lr, &ag->e)) return -1;
        if (c->onehot && t < RS_MAX_ROUNDS) memcpy(r->hist[t + 1][ag->id], x, r->d * sizeof(float));
    }
    memcpy(r->final[ag->id], x, r->d * sizeof(float));
    r->missing[ag->id] = a->env.missing;
    return net_flush(a->env.net, RS_TIMEOUT_S, &ag->e);
}

static void rs_free(RsAgent *ag) {
    agent_env_free(ag->alg ? &ag->alg->env : &ag->env);
    alg_free(ag->alg);
    model_free(ag->m);
}

static void *rs_main(void *p) {
    RsAgent *ag = p;
    RsRun *r = ag->run;
    int ok = rs_setup(ag) == 0;
    r->ports[ag->id] = ok ? net_port(ag->env.net) : 0;
    if (!ok) atomic_store(&r->setup_failed, 1);
    pthread_barrier_wait(&r->ready);
    if (ok && atomic_load(&r->setup_failed)) { ok = 0; err_set(&ag->e, "another agent failed to set up"); }
    ok = ok && rs_connect(ag) == 0 && rs_train(ag) == 0;
    if (!ok) {
        snprintf(r->err[ag->id], sizeof r->err[ag->id], "%s", ag->e.msg[0] ? ag->e.msg : "failed without a message");
        rs_free(ag);
    }
    pthread_barrier_wait(&r->done);
    if (ok) rs_free(ag);
    return NULL;
}

static void rs_run(RsRun *r, const RsCfg *cfg) {
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    cr_assert(cfg->n >= 2 && cfg->n <= RS_MAX_AGENTS && 2 * cfg->n <= 68);
    snprintf(r->text, sizeof r->text,
             "{\"name\":\"relaytest\",\"seeds\":[3],\"agents\":%d,\"dataset\":\"synthetic\",\"model\":\"linear\","
             "\"norm\":\"none\",\"optimizer\":{\"lr\":%g,\"momentum\":0,\"nesterov\":false,\"weight_decay\":0},"
             "\"topology\":%s,\"algorithm\":%s,\"network\":{\"round_timeout_s\":%g,\"drop_prob\":%g}}",
             cfg->n, (double)cfg->lr, cfg->topology, cfg->algorithm, RS_TIMEOUT_S, cfg->drop);
    r->d = 68;
    for (int i = 0; i < cfg->n; i++) {
        Rng g = rng_derive(RS_TARGET_SEED, (uint64_t)i);
        for (size_t k = 0; k < r->d; k++) r->c[i][k] = (float)(2.0 * rng_uniform(&g) - 1.0);
    }
    RsAgent *ag = calloc((size_t)cfg->n, sizeof *ag);
    pthread_t th[RS_MAX_AGENTS];
    pthread_barrier_init(&r->ready, NULL, (unsigned)cfg->n);
    pthread_barrier_init(&r->done, NULL, (unsigned)cfg->n);
    for (int i = 0; i < cfg->n; i++) {
        ag[i].run = r, ag[i].id = i;
        cr_assert_eq(pthread_create(&th[i], NULL, rs_main, &ag[i]), 0);
    }
    for (int i = 0; i < cfg->n; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r->ready), pthread_barrier_destroy(&r->done);
    free(ag);
    for (int i = 0; i < cfg->n; i++) cr_assert(!r->err[i][0], "%s agent %d: %s", cfg->algorithm, i, r->err[i]);
}

// ---- (1) one-hot relays ----

// dist[k][i][j]: hops between i and j in tree k (k < count).
static int rs_tree_dists(const char *topology, int n, int (*dist)[RS_MAX_AGENTS][RS_MAX_AGENTS]) {
    char text[1024];
    snprintf(text, sizeof text, "{\"name\":\"t\",\"agents\":%d,\"dataset\":\"synthetic\",\"model\":\"linear\","
             "\"topology\":%s,\"algorithm\":{\"name\":\"relaysgd\"}}", n, topology);
    Scenario s;
    Topology t;
    Err e = {{0}};
    cr_assert_eq(scenario_load(&s, "tree", text, &e), 0, "%s", e.msg);
    cr_assert_eq(topo_init(&t, &s.topo, &e), 0, "%s", e.msg);
    int count = topo_tree_count(&t);
    Graph *g = graph_new(n);
    for (int k = 0; k < count; k++) {
        topo_tree(&t, k, g);
        for (int a = 0; a < n; a++) {
            int *d = dist[k][a], queue[RS_MAX_AGENTS], head = 0, tail = 0;
            for (int b = 0; b < n; b++) d[b] = -1;
            d[a] = 0, queue[tail++] = a;
            while (head < tail)
                for (int u = queue[head++], p = g->out_start[u]; p < g->out_start[u + 1]; p++)
                    if (d[g->out[p]] < 0) d[g->out[p]] = d[u] + 1, queue[tail++] = g->out[p];
        }
    }
    graph_free(g), topo_free(&t);
    return count;
}

// relaysum-grad with x0 = 0 and u_k = e_2k + e_2k+1: x^{t+1} - x^t = S^t / n exactly (n a power of two,
// small integers), so S^t = n (x^{t+1} - x^t) is the relayed sum itself. Entry 2k + p (p = parity) goes
// over tree p mod count: coefficient 1 iff dist(i, k) <= t + 1 in that tree.
static void check_onehot(const char *topology, int n, int rounds) {
    static int dist[RELAY_TREES_MAX][RS_MAX_AGENTS][RS_MAX_AGENTS];
    int count = rs_tree_dists(topology, n, dist);
    RsCfg cfg = {.topology = topology, .algorithm = "{\"name\":\"relaysum-grad\"}", .n = n, .rounds = rounds,
                 .onehot = 1, .lr = 1.0f};
    static RsRun r;
    rs_run(&r, &cfg);
    int full_at = -1;
    for (int t = 0; t < rounds; t++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                for (int p = 0; p < 2; p++) {
                    size_t q = (size_t)(2 * k + p);
                    float S = (float)n * (r.hist[t + 1][i][q] - r.hist[t][i][q]);
                    float want = dist[q % (size_t)count][i][k] <= t + 1 ? 1.0f : 0.0f;
                    all &= want == 1.0f;
                    cr_assert(S == want, "%s n=%d: agent %d step %d: coefficient of e_%zu (agent %d, tree %zu, dist %d)"
                              " is %.9g, expected %g", topology, n, i, t, q, k, q % (size_t)count,
                              dist[q % (size_t)count][i][k], (double)S, (double)want);
                }
        if (all && full_at < 0) full_at = t;
    }
    cr_log_info("one-hot relay %s n=%d: every coefficient exact over %d steps; all of them 1 from step %d on",
                topology, n, rounds, full_at);
}

Test(relaysgd, onehot_chain) { check_onehot("{\"kind\":\"chain\"}", 8, 9); }
Test(relaysgd, onehot_binary_tree) { check_onehot("{\"kind\":\"binary-tree\"}", 16, 8); }
Test(relaysgd, onehot_double_binary_trees) { check_onehot("{\"kind\":\"double-binary-trees\"}", 16, 8); }
Test(relaysgd, onehot_spanning_tree_of_torus) {
    check_onehot("{\"kind\":\"spanning-tree\",\"base\":\"torus\"}", 16, 8);
}

// relaysgd on the same drive is the unrolled rule x_i^{t+1} = (1/n) sum_k y_k^{t - tau_ik}, tau_ik =
// max(dist(i,k) - 1, 0), y_k^s = x_k^s + u_k its half-step model, and x0 = 0 where t - tau_ik < 0.
Test(relaysgd, model_is_the_delayed_average) {
    const char *topo = "{\"kind\":\"double-binary-trees\"}";
    enum { N = 8, T = 8 };
    static int dist[RELAY_TREES_MAX][RS_MAX_AGENTS][RS_MAX_AGENTS];
    int count = rs_tree_dists(topo, N, dist);
    RsCfg cfg = {
        .topology = topo, .algorithm = "{\"name\":\"relaysgd\"}", .n = N, .rounds = T, .onehot = 1, .lr = 1.0f};
    static RsRun r;
    rs_run(&r, &cfg);
    static double x[T + 1][N][2 * N], y[T][N][2 * N];
    memset(x, 0, sizeof x);
    double worst = 0;
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < N; k++)
            for (int q = 0; q < 2 * N; q++) y[t][k][q] = x[t][k][q] + (q / 2 == k);
        for (int i = 0; i < N; i++)
            for (int q = 0; q < 2 * N; q++) {
                double s = 0;
                for (int k = 0; k < N; k++) {
                    int d = dist[q % count][i][k], tau = d > 1 ? d - 1 : 0;
                    s += t - tau >= 0 ? y[t - tau][k][q] : 0.0;
                }
                x[t + 1][i][q] = s / N;
                worst = fmax(worst, fabs(x[t + 1][i][q] - r.hist[t + 1][i][q]));
            }
    }
    cr_log_info("relaysgd one-hot drive, double binary trees n=8: max |x - unrolled rule| %.1e over %d steps", worst,
                T);
    cr_expect_leq(worst, 1e-6, "relaysgd is %.3g from the unrolled RelaySum rule", worst);
}

// ---- (2) quadratics with heterogeneous optima ----

// max over agents of ||x_i - mean(c)|| / ||mean(c)||
static double rs_rel_error(const RsRun *r) {
    double worst = 0, norm = 0;
    for (size_t k = 0; k < r->d; k++) {
        double m = 0;
        for (int i = 0; i < r->cfg.n; i++) m += r->c[i][k];
        norm += (m / r->cfg.n) * (m / r->cfg.n);
    }
    for (int i = 0; i < r->cfg.n; i++) {
        double e2 = 0;
        for (size_t k = 0; k < r->d; k++) {
            double m = 0;
            for (int j = 0; j < r->cfg.n; j++) m += r->c[j][k];
            double diff = r->final[i][k] - m / r->cfg.n;
            e2 += diff * diff;
        }
        worst = isnan(e2) ? NAN : fmax(worst, sqrt(e2 / norm));
    }
    return worst;
}

static double rs_quadratic(const char *topology, const char *algorithm, int n, double drop, long *missing) {
    RsCfg cfg = {.topology = topology, .algorithm = algorithm, .n = n, .rounds = 600, .lr = 0.1f, .drop = drop};
    static RsRun r;
    rs_run(&r, &cfg);
    *missing = 0;
    for (int i = 0; i < n; i++) *missing += r.missing[i];
    double err = rs_rel_error(&r);
    cr_log_info("quadratics %-26s %-30s n=%d drop %.2f, 600 steps lr 0.1: max ||x_i - x*|| / ||x*|| = %.2e "
                "(%ld messages missing)", algorithm, topology, n, drop, err, *missing);
    return err;
}

#define DBT "{\"kind\":\"double-binary-trees\"}"
#define RELAYSGD "{\"name\":\"relaysgd\"}"

Test(relaysgd, quadratics_exact_where_dpsgd_is_biased) {
    long lost;
    double relay = rs_quadratic(DBT, RELAYSGD, 8, 0, &lost);
    double chain = rs_quadratic("{\"kind\":\"chain\"}", RELAYSGD, 6, 0, &lost);
    double grad = rs_quadratic(DBT, "{\"name\":\"relaysum-grad\"}", 8, 0, &lost);
    double dpsgd = rs_quadratic("{\"kind\":\"ring\"}", "{\"name\":\"dpsgd\"}", 8, 0, &lost);
    double dpsgd_tree = rs_quadratic("{\"kind\":\"binary-tree\"}", "{\"name\":\"dpsgd\"}", 8, 0, &lost);
    cr_expect_leq(relay, 1e-6, "relaysgd on double binary trees ends %.3g (relative) from the optimum", relay);
    cr_expect_leq(chain, 1e-6, "relaysgd on a chain ends %.3g (relative) from the optimum", chain);
    // RelaySum/Grad is not exact: at its fixed point each u_k = -lr (x* - c_k) is non-zero, and agents that
    // have summed them with different delays differ by (1/n) sum_k (tau_jk - tau_ik) u_k, an O(lr) bias.
    cr_expect_leq(grad, 0.15, "relaysum-grad on double binary trees ends %.3g (relative) from the optimum", grad);
    cr_expect_geq(dpsgd, 1e-3, "dpsgd on a ring should keep a bias, ends %.3g from the optimum", dpsgd);
    cr_expect_geq(dpsgd_tree, 1e-3, "dpsgd on a tree should keep a bias, ends %.3g from the optimum", dpsgd_tree);
}

Test(relaysgd, quadratics_with_drops) {
    long lost;
    double err = rs_quadratic(DBT, RELAYSGD, 8, 0.01, &lost);
    cr_expect_gt(lost, 0, "no message was dropped");
    // Each drop pulls the receivers towards x0 for a step (the gap is filled with x0), so the error stays
    // O(drop rate * ||x0 - x*|| / lr) instead of vanishing: 0.21 here, still below dpsgd's 0.38 without drops.
    cr_expect_leq(err, 0.3, "relaysgd with 1%% drops ends %.3g (relative) from the optimum", err);
    // Filling with the agent's own latest model (the paper's robustness runs) pulls nowhere: 0.08 at 10%.
    err = rs_quadratic(DBT, "{\"name\":\"relaysgd\",\"update_ref_state\":true}", 8, 0.1, &lost);
    cr_expect_gt(lost, 0, "no message was dropped");
    cr_expect_leq(err, 0.15, "relaysgd (update_ref_state) with 10%% drops ends %.3g (relative) from the optimum", err);
}
