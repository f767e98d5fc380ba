// Tests for the topologies: edge sets and degrees of every kind, random graphs connected over every
// window of B rounds, edge-file errors, mixing matrices, and push-sum / gossip consensus simulated here.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rng.h"
#include "topo.h"
#include "topo_check.h"


Test(topo, names_round_trip) {
    const char *all = topo_names();
    for (int k = TOPO_RING; k <= TOPO_SPANNING_TREE; k++) {
        TopoKind got;
        cr_assert_eq(topo_parse(topo_name((TopoKind)k), &got), 0, "%s does not parse", topo_name((TopoKind)k));
        cr_assert_eq(got, (TopoKind)k);
        cr_assert(strstr(all, topo_name((TopoKind)k)), "%s missing from topo_names()", topo_name((TopoKind)k));
    }
    TopoKind got;
    cr_assert_eq(topo_parse("hypercube", &got), -1);
    cr_assert_eq(topo_parse("", &got), -1);
}

Test(topo, ring) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_RING, 5, 1);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(graph_out_degree(g, i), 1);
        cr_assert_eq(graph_in_degree(g, i), 1);
        cr_assert(has_edge(g, i, (i + 1) % 5));
    }
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_RING, 5, 0);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(graph_out_degree(g, i), 2);
        cr_assert(has_edge(g, i, (i + 1) % 5) && has_edge(g, i, (i + 4) % 5));
    }
    graph_free(g), topo_free(&t);
    for (int directed = 0; directed <= 1; directed++) {   // n = 2: one edge each way, no duplicates
        g = static_graph(&t, TOPO_RING, 2, directed);
        cr_assert_eq(n_edges(g), 2);
        cr_assert(has_edge(g, 0, 1) && has_edge(g, 1, 0));
        graph_free(g), topo_free(&t);
    }
}

Test(topo, single_agent_has_no_edges) {
    for (int k = TOPO_RING; k <= TOPO_RANDOM; k++) {
        if (k == TOPO_TORUS) continue;
        for (int tv = 0; tv <= 1; tv++) {
            Topology t;
            topo_make_kind(&t, (TopoKind)k, 1, 1, tv);
            Graph *g = graph_new(1);
            topo_round(&t, 3, g);
            cr_assert_eq(n_edges(g), 0, "%s n = 1 has edges", topo_name((TopoKind)k));
            cr_assert(topo_strongly_connected(&t, 0, 1));
            graph_free(g), topo_free(&t);
        }
    }
}

Test(topo, torus) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_TORUS, 16, 0);
    for (int i = 0; i < 16; i++) {
        int y = i / 4, x = i % 4;
        cr_assert_eq(graph_out_degree(g, i), 4);
        cr_assert(has_edge(g, i, y * 4 + (x + 1) % 4) && has_edge(g, i, y * 4 + (x + 3) % 4));
        cr_assert(has_edge(g, i, ((y + 1) % 4) * 4 + x) && has_edge(g, i, ((y + 3) % 4) * 4 + x));
    }
    cr_assert_eq(diameter(g), 4);
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_TORUS, 16, 1);
    for (int i = 0; i < 16; i++) cr_assert(graph_out_degree(g, i) == 2 && graph_in_degree(g, i) == 2);
    cr_assert(topo_strongly_connected(&t, 0, 1));
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_TORUS, 6, 0);   // 2 x 3: up and down are the same neighbour
    for (int i = 0; i < 6; i++) cr_assert_eq(graph_out_degree(g, i), 3);
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_TORUS, 12, 0);  // 3 x 4
    for (int i = 0; i < 12; i++) cr_assert(has_edge(g, i, (i + 4) % 12) && has_edge(g, i, (i + 8) % 12));
    graph_free(g), topo_free(&t);
}

Test(topo, torus_rejects_bad_n) {
    int bad[] = {1, 2, 3, 5, 7, 13, 1021};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        Topology t;
        TopoSpec s = spec_of(TOPO_TORUS, bad[k], 0, 0);
        Err e = {{0}};
        cr_assert_eq(topo_init(&t, &s, &e), -1, "torus accepted n = %d", bad[k]);
        char num[32];
        snprintf(num, sizeof num, "n = %d", bad[k]);
        cr_assert(strstr(e.msg, "torus") && strstr(e.msg, num), "message: %s", e.msg);
        topo_free(&t);
    }
}

Test(topo, spec_errors) {
    struct { TopoSpec s; const char *needle; } cases[4];
    cases[0].s = spec_of(TOPO_RING, 0, 0, 0), cases[0].needle = "got 0";
    cases[1].s = spec_of(TOPO_COMPLETE, 1025, 0, 0), cases[1].needle = "got 1025";
    cases[2].s = spec_of(TOPO_RANDOM, 8, 1, 1), cases[2].s.window = 0, cases[2].needle = "window";
    cases[3].s = spec_of(TOPO_RANDOM, 8, 1, 1), cases[3].s.extra_p = 1.5, cases[3].needle = "extra_p";
    for (int k = 0; k < 4; k++) {
        Topology t;
        Err e = {{0}};
        cr_assert_eq(topo_init(&t, &cases[k].s, &e), -1, "case %d accepted", k);
        cr_assert(strstr(e.msg, cases[k].needle), "case %d: %s", k, e.msg);
    }
    TopoSpec s = spec_of(TOPO_RANDOM, 8, 1, 1);
    s.extra_p = NAN;
    Topology t;
    Err e = {{0}};
    cr_assert_eq(topo_init(&t, &s, &e), -1);
    s = spec_of(TOPO_FILE, 8, 1, 0);   // no file name
    cr_assert_eq(topo_init(&t, &s, &e), -1);
}

Test(topo, circulant_complete_chain) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_CIRCULANT14, 16, 1);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(graph_out_degree(g, i), 4);
        int off[] = {1, 15, 4, 12};
        for (int k = 0; k < 4; k++) cr_assert(has_edge(g, i, (i + off[k]) % 16));
    }
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_COMPLETE, 6, 1);
    for (int i = 0; i < 6; i++) cr_assert_eq(graph_out_degree(g, i), 5);
    cr_assert_eq(n_edges(g), 30);
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_CHAIN, 5, 0);
    cr_assert_eq(n_edges(g), 8);
    cr_assert(graph_out_degree(g, 0) == 1 && graph_out_degree(g, 4) == 1);
    for (int i = 0; i + 1 < 5; i++) cr_assert(has_edge(g, i, i + 1) && has_edge(g, i + 1, i));
    cr_assert_eq(diameter(g), 4);
    graph_free(g), topo_free(&t);
}

Test(topo, exponential_static) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_EXPONENTIAL, 8, 1);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(graph_out_degree(g, i), 3);
        cr_assert_eq(graph_in_degree(g, i), 3);
        cr_assert(has_edge(g, i, (i + 1) % 8) && has_edge(g, i, (i + 2) % 8) && has_edge(g, i, (i + 4) % 8));
    }
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_EXPONENTIAL, 8, 0);   // +-1, +-2, +4 (= -4)
    for (int i = 0; i < 8; i++) cr_assert_eq(graph_out_degree(g, i), 5);
    graph_free(g), topo_free(&t);
    g = static_graph(&t, TOPO_EXPONENTIAL, 9, 1);   // floor(log2 8) = 3: +1, +2, +4, +8
    for (int i = 0; i < 9; i++) cr_assert_eq(graph_out_degree(g, i), 4);
    graph_free(g), topo_free(&t);
}

Test(topo, exponential_time_varying) {
    int ns[] = {8, 6, 16, 2};
    int levels[] = {3, 3, 4, 1};
    for (int c = 0; c < 4; c++) {
        int n = ns[c];
        Topology t;
        topo_make_kind(&t, TOPO_EXPONENTIAL, n, 1, 1);
        Graph *g = graph_new(n);
        for (long r = 0; r < 12; r++) {
            topo_round(&t, r, g);
            graph_valid(g, "exponential");
            int off = 1 << (r % levels[c]);
            for (int i = 0; i < n; i++) {
                cr_assert(graph_out_degree(g, i) == 1 && graph_in_degree(g, i) == 1, "n = %d round %ld", n, r);
                cr_assert(has_edge(g, i, (i + off) % n), "n = %d round %ld: %d -/-> %d", n, r, i, (i + off) % n);
            }
        }
        cr_assert(topo_strongly_connected(&t, 0, 1));                 // +1 alone is the directed ring
        cr_assert(!topo_strongly_connected(&t, 1, 1) || n == 2);   // +2 on even n: two cycles
        cr_assert(topo_strongly_connected(&t, 5, levels[c]));
        graph_free(g), topo_free(&t);
    }
    Topology t;   // undirected: i <-> i + 2^m
    topo_make_kind(&t, TOPO_EXPONENTIAL, 8, 0, 1);
    Graph *g = graph_new(8);
    topo_round(&t, 1, g);
    cr_assert(graph_symmetric(g) && graph_out_degree(g, 0) == 2 && has_edge(g, 0, 6));
    topo_round(&t, 2, g);
    cr_assert(graph_out_degree(g, 0) == 1 && has_edge(g, 0, 4));
    graph_free(g), topo_free(&t);
}

static TopoSpec random_spec(int n, int window, double p, uint64_t seed) {
    TopoSpec s = spec_of(TOPO_RANDOM, n, 1, 1);
    s.window = window, s.extra_p = p, s.seed = seed;
    return s;
}

static int graphs_equal(const Graph *a, const Graph *b) {
    if (a->n != b->n || n_edges(a) != n_edges(b)) return 0;
    return !memcmp(a->out_start, b->out_start, sizeof(int) * (size_t)(a->n + 1)) &&
           !memcmp(a->out, b->out, sizeof(int) * (size_t)n_edges(a));
}

Test(topo, random_deterministic) {
    TopoSpec s = random_spec(12, 3, 0.2, 42);
    Topology a, b, c;
    topo_make(&a, &s);
    topo_make(&b, &s);
    s.seed = 43;
    topo_make(&c, &s);
    Graph *ga = graph_new(12), *gb = graph_new(12), *gc = graph_new(12);
    int differ = 0;
    for (long r = 20; r >= 0; r--) {   // rounds out of order: a pure function of the round
        topo_round(&a, r, ga);
        topo_round(&b, (r * 7) % 21, gb);
        topo_round(&b, r, gb);
        topo_round(&c, r, gc);
        graph_valid(ga, "random");
        cr_assert(graphs_equal(ga, gb), "round %ld differs between two topologies with the same seed", r);
        differ += !graphs_equal(ga, gc);
    }
    cr_assert_gt(differ, 10, "seeds 42 and 43 gave the same graphs in %d of 21 rounds", 21 - differ);
    graph_free(ga), graph_free(gb), graph_free(gc);
    topo_free(&a), topo_free(&b), topo_free(&c);
}

Test(topo, random_windows_strongly_connected) {
    struct { int n, window; double p; } cases[] = {{10, 3, 0.0}, {10, 3, 0.1}, {20, 5, 0.0}, {7, 1, 0.0},
                                                   {16, 4, 0.05}, {5, 9, 0.0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            TopoSpec s = random_spec(cases[c].n, cases[c].window, cases[c].p, seed);
            Topology t;
            topo_make(&t, &s);
            int single = 0;
            for (long r0 = 0; r0 < 40; r0++) {
                cr_assert(topo_strongly_connected(&t, r0, cases[c].window), "n = %d B = %d: window at %ld",
                          cases[c].n, cases[c].window, r0);
                single += topo_strongly_connected(&t, r0, 1);
            }
            if (cases[c].window == 1) cr_assert_eq(single, 40);
            if (cases[c].window > 1 && cases[c].p == 0.0) cr_assert_eq(single, 0);
            if (cases[c].window > 1) cr_assert_lt(single, 20, "n = %d: %d of 40 single rounds connected",
                                                  cases[c].n, single);
            topo_free(&t);
        }
    }
}

Test(topo, random_static_and_undirected) {
    TopoSpec s = random_spec(10, 3, 0.1, 5);
    s.time_varying = 0;
    Topology t;
    topo_make(&t, &s);
    Graph *g0 = graph_new(10), *g = graph_new(10);
    topo_round(&t, 0, g0);
    for (long r = 1; r < 10; r++) {
        topo_round(&t, r, g);
        cr_assert(graphs_equal(g, g0), "static random graph changed in round %ld", r);
    }
    cr_assert(topo_strongly_connected(&t, 7, 1), "static random graph must hold the whole cycle");
    topo_free(&t);
    s.time_varying = 1, s.directed = 0;
    topo_make(&t, &s);
    for (long r = 0; r < 10; r++) {
        topo_round(&t, r, g);
        graph_valid(g, "random undirected");
        cr_assert(graph_symmetric(g), "undirected random graph not symmetric in round %ld", r);
    }
    graph_free(g0), graph_free(g), topo_free(&t);
}

// ---- edge files ----

static void write_temp(char *path, const char *text) {
    strcpy(path, "/tmp/meshtrain_topo_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static int file_init(Topology *t, const char *text, int n, int directed, Err *e, char *path) {
    write_temp(path, text);
    TopoSpec s = spec_of(TOPO_FILE, n, directed, 0);
    snprintf(s.file, sizeof s.file, "%s", path);
    int rc = topo_init(t, &s, e);
    unlink(path);
    return rc;
}

Test(topo, file_good) {
    const char *text = "# a directed ring of four, with noise\n\n0 1\n  1\t2   # comment\n2 3\n3 0\n0 1\n\r\n";
    Topology t;
    Err e = {{0}};
    char path[64];
    cr_assert_eq(file_init(&t, text, 4, 1, &e, path), 0, "%s", e.msg);
    Graph *g = graph_new(4);
    topo_round(&t, 0, g);
    graph_valid(g, "file");
    cr_assert_eq(n_edges(g), 4, "duplicates must be merged");
    for (int i = 0; i < 4; i++) cr_assert(has_edge(g, i, (i + 1) % 4));
    topo_free(&t);
    cr_assert_eq(file_init(&t, text, 4, 0, &e, path), 0, "%s", e.msg);
    topo_round(&t, 0, g);
    cr_assert(n_edges(g) == 8 && graph_symmetric(g));
    graph_free(g), topo_free(&t);
}

Test(topo, file_errors) {
    struct { const char *text; int line; const char *needle; } cases[] = {
        {"0 1\n1 x\n", 2, "malformed"},       {"0 1\n\n1\n", 3, "malformed"},
        {"# c\n0 1 2\n", 2, "malformed"},     {"0 1\n1 2\n2 4\n", 3, "agent 4 outside 0..3"},
        {"-1 2\n", 1, "agent -1 outside"},    {"0 1\n2 2\n", 2, "self-loop"},
        {"0 1\n1 2.5\n", 2, "malformed"},     {"0,1\n", 1, "malformed"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Topology t;
        Err e = {{0}};
        char path[64], where[96];
        cr_assert_eq(file_init(&t, cases[c].text, 4, 1, &e, path), -1, "case %zu accepted", c);
        snprintf(where, sizeof where, "%s:%d:", path, cases[c].line);
        cr_assert(strstr(e.msg, where), "case %zu: expected \"%s\" in: %s", c, where, e.msg);
        cr_assert(strstr(e.msg, cases[c].needle), "case %zu: expected \"%s\" in: %s", c, cases[c].needle, e.msg);
    }
    TopoSpec s = spec_of(TOPO_FILE, 4, 1, 0);
    snprintf(s.file, sizeof s.file, "/nonexistent/meshtrain/edges.txt");
    Topology t;
    Err e = {{0}};
    cr_assert_eq(topo_init(&t, &s, &e), -1);
    cr_assert(strstr(e.msg, "/nonexistent/meshtrain/edges.txt"), "%s", e.msg);
}

// ---- mixing ----

// Every kind, directed or not, time-varying or not, as a small table for the matrix tests.
typedef struct { TopoKind kind; int n, directed, tv; } Case;
static const Case all_cases[] = {
    {TOPO_RING, 7, 1, 0},        {TOPO_RING, 7, 0, 0},          {TOPO_TORUS, 12, 0, 0},
    {TOPO_TORUS, 9, 1, 0},       {TOPO_CIRCULANT14, 16, 0, 0},  {TOPO_COMPLETE, 9, 0, 0},
    {TOPO_EXPONENTIAL, 8, 1, 0}, {TOPO_EXPONENTIAL, 11, 1, 1},  {TOPO_EXPONENTIAL, 6, 0, 1},
    {TOPO_CHAIN, 6, 0, 0},       {TOPO_BINARY_TREE, 13, 0, 0},  {TOPO_DOUBLE_BINARY_TREES, 16, 0, 0},
    {TOPO_RANDOM, 10, 1, 1},     {TOPO_RANDOM, 10, 0, 1},
};
#define N_CASES ((int)(sizeof all_cases / sizeof all_cases[0]))

static void case_make(Topology *t, const Case *c) {
    TopoSpec s = spec_of(c->kind, c->n, c->directed, c->tv);
    s.window = 3, s.seed = 9;
    topo_make(t, &s);
}

// W[j*n + i]: the share of i's mass that lands at j in push-sum.
static void pushsum_matrix(const Graph *g, double *W) {
    int n = g->n;
    memset(W, 0, sizeof(double) * (size_t)(n * n));
    for (int i = 0; i < n; i++) {
        W[i * n + i] = mix_pushsum(g, i);
        for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++) W[g->out[p] * n + i] = mix_pushsum(g, i);
    }
}

Test(topo, pushsum_columns_sum_to_one) {
    for (int c = 0; c < N_CASES; c++) {
        Topology t;
        case_make(&t, &all_cases[c]);
        int n = t.spec.n;
        Graph *g = graph_new(n);
        double *W = malloc(sizeof(double) * (size_t)(n * n));
        for (long r = 0; r < 6; r++) {
            topo_round(&t, r, g);
            graph_valid(g, topo_name(t.spec.kind));
            pushsum_matrix(g, W);
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int j = 0; j < n; j++) sum += W[j * n + i];
                cr_assert(fabs(sum - 1.0) <= 4e-16, "%s n = %d round %ld: column %d sums to 1%+.3g",
                          topo_name(t.spec.kind), n, r, i, sum - 1.0);
            }
        }
        free(W), graph_free(g), topo_free(&t);
    }
}

// W[i*n + j]: the weight agent i gives to j's value in gossip.
static void gossip_matrix(const Graph *g, double *W) {
    int n = g->n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) W[i * n + j] = mix_gossip(g, i, j);
}

Test(topo, gossip_symmetric_doubly_stochastic) {
    for (int c = 0; c < N_CASES; c++) {
        Topology t;
        case_make(&t, &all_cases[c]);
        int n = t.spec.n;
        Graph *g = graph_new(n);
        double *W = malloc(sizeof(double) * (size_t)(n * n));
        for (long r = 0; r < 4; r++) {
            topo_round(&t, r, g);
            gossip_matrix(g, W);
            int sym = graph_symmetric(g);
            for (int i = 0; i < n; i++) {
                double row = 0, col = 0;
                for (int j = 0; j < n; j++) {
                    cr_assert_geq(W[i * n + j], 0.0, "%s: negative weight", topo_name(t.spec.kind));
                    cr_assert((W[i * n + j] > 0) == (i == j || has_edge(g, j, i)));
                    if (sym) cr_assert_eq(W[i * n + j], W[j * n + i], "%s: W not symmetric", topo_name(t.spec.kind));
                    row += W[i * n + j], col += W[j * n + i];
                }
                cr_assert(fabs(row - 1) < 1e-12, "%s: row %d sums to %.17g", topo_name(t.spec.kind), i, row);
                if (sym)
                    cr_assert(fabs(col - 1) < 1e-12, "%s: column %d sums to %.17g", topo_name(t.spec.kind), i, col);
            }
        }
        free(W), graph_free(g), topo_free(&t);
    }
    Topology t;   // the ring gives 1/3 everywhere, as in RelaySGD and CHOCO
    Graph *g = static_graph(&t, TOPO_RING, 8, 0);
    cr_assert(fabs(mix_gossip(g, 3, 4) - 1.0 / 3) < 1e-15 && fabs(mix_gossip_self(g, 3) - 1.0 / 3) < 1e-15);
    cr_assert_eq(mix_gossip(g, 3, 5), 0.0);
    graph_free(g), topo_free(&t);
}

// ---- consensus ----

#define DIM 10

static void random_values(double *x, int n, uint64_t seed, double *mean) {
    Rng r = rng_derive(seed, 7);
    memset(mean, 0, sizeof(double) * DIM);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < DIM; d++) x[i * DIM + d] = 10 * rng_normal(&r), mean[d] += x[i * DIM + d] / n;
}

static double max_error(const double *x, const double *u, int n, const double *mean) {
    double err = 0;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < DIM; d++) err = fmax(err, fabs(x[i * DIM + d] / u[i] - mean[d]));
    return err;
}

// One push-sum round: i keeps w*x_i, w*u_i and sends the same to each out-neighbour.
static void pushsum_step(const Graph *g, double *x, double *u, double *nx, double *nu) {
    int n = g->n;
    memset(nx, 0, sizeof(double) * (size_t)(n * DIM));
    memset(nu, 0, sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        double w = mix_pushsum(g, i);
        for (int p = g->out_start[i] - 1; p < g->out_start[i + 1]; p++) {
            int j = p < g->out_start[i] ? i : g->out[p];
            for (int d = 0; d < DIM; d++) nx[j * DIM + d] += w * x[i * DIM + d];
            nu[j] += w * u[i];
        }
    }
    memcpy(x, nx, sizeof(double) * (size_t)(n * DIM));
    memcpy(u, nu, sizeof(double) * (size_t)n);
}

// Rounds until every z_i = x_i / u_i is within tol of the mean; checks mass every round.
static int pushsum_rounds(const Topology *t, double tol, int max_rounds) {
    int n = t->spec.n;
    double *x = malloc(sizeof(double) * (size_t)(n * DIM)), *nx = malloc(sizeof(double) * (size_t)(n * DIM));
    double *u = malloc(sizeof(double) * (size_t)n), *nu = malloc(sizeof(double) * (size_t)n), mean[DIM];
    random_values(x, n, 3, mean);
    for (int i = 0; i < n; i++) u[i] = 1;
    Graph *g = graph_new(n);
    int r = 0;
    while (r < max_rounds && max_error(x, u, n, mean) > tol) {
        topo_round(t, r++, g);
        pushsum_step(g, x, u, nx, nu);
        double usum = 0;
        for (int i = 0; i < n; i++) usum += u[i];
        cr_assert(fabs(usum - n) < 1e-12 * n, "round %d: weights sum to %.17g, not %d", r, usum, n);
        for (int d = 0; d < DIM; d++) {
            double xs = 0;
            for (int i = 0; i < n; i++) xs += x[i * DIM + d];
            cr_assert(fabs(xs / n - mean[d]) < 1e-12, "round %d: mass of coordinate %d drifted", r, d);
        }
    }
    double err = max_error(x, u, n, mean);
    free(x), free(nx), free(u), free(nu), graph_free(g);
    return err <= tol ? r : -1;
}

Test(topo, pushsum_consensus_exponential) {
    int ns[] = {8, 16, 6};
    for (int c = 0; c < 3; c++) {
        Topology t;
        topo_make_kind(&t, TOPO_EXPONENTIAL, ns[c], 1, 1);
        int r = pushsum_rounds(&t, 1e-6, 2000);
        cr_log_info("push-sum, time-varying exponential n = %d: %d rounds to 1e-6", ns[c], r);
        fprintf(stderr, "push-sum, time-varying exponential n = %d: %d rounds to 1e-6\n", ns[c], r);
        cr_assert(r > 0 && r <= 200, "n = %d: %d rounds", ns[c], r);
        topo_free(&t);
    }
}

Test(topo, pushsum_consensus_random) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        TopoSpec s = random_spec(10, 3, 0.1, seed);
        Topology t;
        topo_make(&t, &s);
        int r = pushsum_rounds(&t, 1e-6, 5000);
        fprintf(stderr, "push-sum, random directed n = 10 B = 3 p = 0.1 seed %d: %d rounds to 1e-6\n", (int)seed, r);
        cr_assert(r > 0 && r <= 1000, "seed %d: %d rounds", (int)seed, r);
        topo_free(&t);
        s.extra_p = 0;   // the bare cycle, spread over three rounds
        topo_make(&t, &s);
        r = pushsum_rounds(&t, 1e-6, 20000);
        fprintf(stderr, "push-sum, random directed n = 10 B = 3 p = 0 seed %d: %d rounds to 1e-6\n", (int)seed, r);
        cr_assert(r > 0, "seed %d, p = 0: no consensus", (int)seed);
        topo_free(&t);
    }
}

static int gossip_rounds(const Topology *t, double tol, int max_rounds) {
    int n = t->spec.n;
    double *x = malloc(sizeof(double) * (size_t)(n * DIM)), *nx = malloc(sizeof(double) * (size_t)(n * DIM));
    double *one = malloc(sizeof(double) * (size_t)n), mean[DIM];
    random_values(x, n, 4, mean);
    for (int i = 0; i < n; i++) one[i] = 1;
    Graph *g = graph_new(n);
    int r = 0;
    while (r < max_rounds && max_error(x, one, n, mean) > tol) {
        topo_round(t, r++, g);
        for (int i = 0; i < n; i++) {
            double ws = mix_gossip_self(g, i);
            for (int d = 0; d < DIM; d++) nx[i * DIM + d] = ws * x[i * DIM + d];
            for (int p = g->in_start[i]; p < g->in_start[i + 1]; p++) {
                int j = g->in[p];
                double w = mix_gossip(g, i, j);
                for (int d = 0; d < DIM; d++) nx[i * DIM + d] += w * x[j * DIM + d];
            }
        }
        memcpy(x, nx, sizeof(double) * (size_t)(n * DIM));
    }
    double err = max_error(x, one, n, mean);
    free(x), free(nx), free(one), graph_free(g);
    return err <= tol ? r : -1;
}

Test(topo, gossip_consensus) {
    Case cases[] = {{TOPO_RING, 8, 0, 0}, {TOPO_TORUS, 16, 0, 0}, {TOPO_COMPLETE, 9, 0, 0},
                    {TOPO_CIRCULANT14, 16, 0, 0}};
    for (int c = 0; c < 4; c++) {
        Topology t;
        case_make(&t, &cases[c]);
        int r = gossip_rounds(&t, 1e-6, 5000);
        fprintf(stderr, "gossip, %s n = %d: %d rounds to 1e-6\n", topo_name(cases[c].kind), cases[c].n, r);
        cr_assert(r > 0, "%s: no consensus", topo_name(cases[c].kind));
        topo_free(&t);
    }
}
