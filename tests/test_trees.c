// Tests for the tree topologies (RelaySGD) and the papers' fixed graphs: the binary tree, the two
// trees of double-binary-trees, spanning trees of any base, and the 32-node Dyck graph (GUT, CCL).
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "topo.h"
#include "topo_check.h"

static int tree_parent(int w) { return w == 1 ? 0 : w / 2; }   // worker 0 hangs off 1

Test(topo, binary_tree) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_BINARY_TREE, 16, 0);
    cr_assert_eq(n_edges(g), 2 * 15);
    cr_assert(graph_out_degree(g, 0) == 1 && has_edge(g, 0, 1));
    int maxdeg = 0;
    for (int w = 1; w < 16; w++) {
        cr_assert(has_edge(g, w, tree_parent(w)), "%d is not linked to its parent", w);
        if (graph_out_degree(g, w) > maxdeg) maxdeg = graph_out_degree(g, w);
    }
    cr_assert_eq(maxdeg, 3);
    cr_assert_eq(diameter(g), 6);
    cr_assert(graph_symmetric(g));
    graph_free(g), topo_free(&t);
}

Test(topo, double_binary_trees) {
    for (int n = 2; n <= 17; n += 5) {
        Topology t;
        Graph *g = static_graph(&t, TOPO_DOUBLE_BINARY_TREES, n, 0);
        char *want = calloc((size_t)(n * n), 1);
        for (int w = 1; w < n; w++) {
            int p = tree_parent(w), a = n - 1 - w, b = n - 1 - p;
            want[w * n + p] = want[p * n + w] = want[a * n + b] = want[b * n + a] = 1;
        }
        int count = 0;
        for (int k = 0; k < n * n; k++) count += want[k];
        cr_assert_eq(n_edges(g), count, "n = %d: %d edges, expected %d", n, n_edges(g), count);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (want[i * n + j]) cr_assert(has_edge(g, i, j), "n = %d: missing %d -> %d", n, i, j);
        free(want);
        graph_free(g), topo_free(&t);
    }
}

// ---- spanning trees (RelaySGD) ----

// Hops from a to b (BFS), -1 if b cannot be reached.
static int distance(const Graph *g, int a, int b) {
    int n = g->n, *dist = malloc(sizeof(int) * (size_t)n), *queue = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) dist[i] = -1;
    int head = 0, tail = 0;
    dist[a] = 0, queue[tail++] = a;
    while (head < tail) {
        int u = queue[head++];
        for (int p = g->out_start[u]; p < g->out_start[u + 1]; p++)
            if (dist[g->out[p]] < 0) dist[g->out[p]] = dist[u] + 1, queue[tail++] = g->out[p];
    }
    int d = dist[b];
    free(dist), free(queue);
    return d;
}

// A spanning tree of all n agents: symmetric, n-1 undirected edges, connected. Returns its largest degree.
static int tree_check(const Graph *g, int n, const char *what) {
    graph_valid(g, what);
    cr_assert_eq(g->n, n, "%s: %d nodes, expected %d", what, g->n, n);
    cr_assert(graph_symmetric(g), "%s: not symmetric", what);
    cr_assert_eq(n_edges(g), 2 * (n - 1), "%s: %d directed edges, a tree of %d has %d", what, n_edges(g), n,
                 2 * (n - 1));
    cr_assert(n == 1 || diameter(g) > 0, "%s: not connected", what);
    int maxdeg = 0;
    for (int i = 0; i < n; i++) maxdeg = graph_out_degree(g, i) > maxdeg ? graph_out_degree(g, i) : maxdeg;
    return maxdeg;
}

// Two separate trees (not their union), each a spanning tree of degree <= 3; for n = 16 both have the
// paper's diameter 6. The second is the first relabelled w -> n-1-w, as the reference's reverse=True.
Test(topo, double_binary_trees_are_two_trees) {
    for (int n = 2; n <= 33; n++) {
        Topology t;
        topo_make_kind(&t, TOPO_DOUBLE_BINARY_TREES, n, 0, 0);
        cr_assert_eq(topo_tree_count(&t), 2);
        Graph *a = graph_new(n), *b = graph_new(n);
        topo_tree(&t, 0, a), topo_tree(&t, 1, b);
        cr_assert_leq(tree_check(a, n, "tree 0"), 3, "n = %d: tree 0 has a degree above 3", n);
        cr_assert_leq(tree_check(b, n, "tree 1"), 3, "n = %d: tree 1 has a degree above 3", n);
        for (int w = 1; w < n; w++) {
            int p = tree_parent(w);
            cr_assert(has_edge(a, w, p) && has_edge(b, n - 1 - w, n - 1 - p), "n = %d: edge %d-%d", n, w, p);
        }
        if (n == 16)
            cr_assert(diameter(a) == 6 && diameter(b) == 6, "n = 16: diameters %d, %d", diameter(a), diameter(b));
        graph_free(a), graph_free(b), topo_free(&t);
    }
}

// Single trees have one tree, the round graph itself; other kinds none.
Test(topo, tree_counts) {
    const TopoKind one[] = {TOPO_CHAIN, TOPO_BINARY_TREE};
    for (int k = 0; k < 2; k++) {
        Topology t;
        Graph *g = static_graph(&t, one[k], 9, 0), *tr = graph_new(9);
        cr_assert_eq(topo_tree_count(&t), 1);
        topo_tree(&t, 0, tr);
        cr_assert_eq(n_edges(tr), n_edges(g));
        for (int i = 0; i < 9; i++)
            for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++) cr_assert(has_edge(tr, i, g->out[p]));
        graph_free(g), graph_free(tr), topo_free(&t);
    }
    const TopoKind none[] = {TOPO_RING, TOPO_COMPLETE, TOPO_TORUS, TOPO_EXPONENTIAL};
    for (int k = 0; k < 4; k++) {
        Topology t;
        topo_make_kind(&t, none[k], 9, 0, 0);
        cr_assert_eq(topo_tree_count(&t), 0, "%s counts as a tree", topo_name(none[k]));
        topo_free(&t);
    }
    cr_assert(topo_kind_is_tree(TOPO_SPANNING_TREE) && topo_kind_is_tree(TOPO_DOUBLE_BINARY_TREES));
    cr_assert(!topo_kind_is_tree(TOPO_RING) && !topo_kind_is_tree(TOPO_FILE));
}

static Graph *spanning_of(Topology *t, TopoKind base, int n) {
    TopoSpec s = spec_of(TOPO_SPANNING_TREE, n, 0, 0);
    s.base = base;
    topo_make(t, &s);
    cr_assert_eq(topo_tree_count(t), 1);
    Graph *g = graph_new(n);
    topo_tree(t, 0, g);
    return g;
}

// A BFS tree from agent 0, ties by lowest id: every tree edge is a base edge, and each agent's depth
// is its distance from 0 in the base graph. Ring: the two halves of the ring; complete: a star at 0.
Test(topo, spanning_tree_of_any_base) {
    const TopoKind bases[] = {TOPO_RING, TOPO_TORUS, TOPO_COMPLETE, TOPO_CIRCULANT14, TOPO_EXPONENTIAL, TOPO_CHAIN};
    for (int k = 0; k < 6; k++) {
        int n = 16;
        Topology t, bt;
        Graph *g = spanning_of(&t, bases[k], n), *b = static_graph(&bt, bases[k], n, 0), *r = graph_new(n);
        tree_check(g, n, topo_name(bases[k]));
        topo_round(&t, 0, r);
        cr_assert_eq(n_edges(r), n_edges(g), "%s: the round graph is not the tree", topo_name(bases[k]));
        for (int i = 0; i < n; i++) {
            for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++)
                cr_assert(has_edge(b, i, g->out[p]) || has_edge(b, g->out[p], i), "%s: %d-%d not in the base",
                          topo_name(bases[k]), i, g->out[p]);
            cr_assert_eq(distance(g, 0, i), distance(b, 0, i), "%s: agent %d deeper than in the base",
                         topo_name(bases[k]), i);
        }
        graph_free(g), graph_free(b), graph_free(r), topo_free(&t), topo_free(&bt);
    }
    Topology t;
    Graph *g = spanning_of(&t, TOPO_COMPLETE, 7);
    cr_assert_eq(graph_out_degree(g, 0), 6, "complete: not a star at agent 0");
    graph_free(g), topo_free(&t);
    g = spanning_of(&t, TOPO_RING, 6);   // 0-1-2-3 and 0-5-4: agent 3 is reached from 2, the lower id
    cr_assert(has_edge(g, 3, 2) && !has_edge(g, 3, 4) && has_edge(g, 4, 5) && has_edge(g, 5, 0));
    graph_free(g), topo_free(&t);
}

Test(topo, spanning_tree_bad_base) {
    TopoSpec s = spec_of(TOPO_SPANNING_TREE, 7, 0, 0);
    s.base = TOPO_TORUS;   // 7 is prime
    Topology t;
    Err e = {{0}};
    cr_assert_eq(topo_init(&t, &s, &e), -1);
    cr_assert(strstr(e.msg, "torus"), "%s", e.msg);
    s.base = TOPO_SPANNING_TREE;
    cr_assert_eq(topo_init(&t, &s, &e), -1);
    cr_assert(strstr(e.msg, "base"), "%s", e.msg);
}

// The Dyck graph of the GUT/CCL code: 32 agents, cubic (48 edges), symmetric, connected, bipartite with
// girth 6 (the Dyck graph's), and the code's edges: 8-cycles 8b + k and its spokes.
static int girth(const Graph *g) {
    int best = 1 << 30, n = g->n, dist[64], parent[64], queue[64];
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < n; i++) dist[i] = -1;
        int head = 0, tail = 0;
        dist[s] = 0, parent[s] = -1, queue[tail++] = s;
        while (head < tail) {
            int u = queue[head++];
            for (int p = g->out_start[u]; p < g->out_start[u + 1]; p++) {
                int v = g->out[p];
                if (dist[v] < 0) dist[v] = dist[u] + 1, parent[v] = u, queue[tail++] = v;
                else if (parent[u] != v && dist[u] + dist[v] + 1 < best) best = dist[u] + dist[v] + 1;
            }
        }
    }
    return best;
}

Test(topo, dyck) {
    Topology t;
    Graph *g = static_graph(&t, TOPO_DYCK, 32, 0);
    cr_assert_eq(n_edges(g), 96);   // 48 undirected edges
    for (int i = 0; i < 32; i++) cr_assert_eq(graph_out_degree(g, i), 3, "agent %d", i);
    cr_assert(graph_symmetric(g));
    cr_assert(diameter(g) > 0);
    cr_assert_eq(girth(g), 6);
    const int spokes[][2] = {{0, 8}, {1, 17}, {2, 10}, {7, 23}, {9, 25}, {15, 31}, {16, 24}, {19, 3}, {30, 22}};
    for (size_t k = 0; k < sizeof spokes / sizeof spokes[0]; k++)
        cr_assert(has_edge(g, spokes[k][0], spokes[k][1]), "no edge %d-%d", spokes[k][0], spokes[k][1]);
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < 8; k++) cr_assert(has_edge(g, 8 * b + k, 8 * b + (k + 1) % 8));
    int side[32];   // bipartite: 2-colour by BFS order of the fixed labelling
    for (int i = 0; i < 32; i++) side[i] = (i % 8 + (i / 8 == 1 || i / 8 == 2)) % 2;
    for (int i = 0; i < 32; i++)
        for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++) cr_assert_neq(side[i], side[g->out[p]]);
    graph_free(g), topo_free(&t);
    TopoSpec s = spec_of(TOPO_DYCK, 16, 0, 0);
    Err e = {{0}};
    cr_assert_eq(topo_init(&t, &s, &e), -1);
    cr_assert(strstr(e.msg, "32"), "%s", e.msg);
}
