// Helpers the topology tests share: building a topology that must succeed, and checking a graph's
// shape (valid lists, symmetry, edges, eccentricity and diameter). Included by test_topo.c and test_trees.c.
#ifndef MESHTRAIN_TOPO_CHECK_H
#define MESHTRAIN_TOPO_CHECK_H
#include <criterion/criterion.h>
#include <string.h>
#include "topo.h"

static inline TopoSpec spec_of(TopoKind kind, int n, int directed, int time_varying) {
    TopoSpec s;
    memset(&s, 0, sizeof s);
    s.kind = kind, s.n = n, s.directed = directed, s.time_varying = time_varying;
    s.window = 1, s.extra_p = 0.1, s.seed = 1;
    return s;
}

static inline void topo_make(Topology *t, const TopoSpec *s) {
    Err e = {{0}};
    int rc = topo_init(t, s, &e);
    cr_assert_eq(rc, 0, "topo_init(%s, n = %d) failed: %s", topo_name(s->kind), s->n, e.msg);
}

static inline void topo_make_kind(Topology *t, TopoKind kind, int n, int directed, int time_varying) {
    TopoSpec s = spec_of(kind, n, directed, time_varying);
    topo_make(t, &s);
}

static inline int has_edge(const Graph *g, int i, int j) {
    for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++)
        if (g->out[p] == j) return 1;
    return 0;
}

static inline int n_edges(const Graph *g) { return g->out_start[g->n]; }

// No self-loops, strictly ascending lists (so no duplicates), and in-lists mirror out-lists.
static inline void graph_valid(const Graph *g, const char *what) {
    cr_assert_eq(g->out_start[g->n], g->in_start[g->n], "%s: %d out-edges but %d in-edges", what,
                 g->out_start[g->n], g->in_start[g->n]);
    for (int i = 0; i < g->n; i++) {
        for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++) {
            int j = g->out[p];
            cr_assert(j >= 0 && j < g->n && j != i, "%s: bad edge %d -> %d", what, i, j);
            cr_assert(p == g->out_start[i] || g->out[p - 1] < j, "%s: out-list of %d not ascending", what, i);
            int found = 0;
            for (int q = g->in_start[j]; q < g->in_start[j + 1]; q++) found |= g->in[q] == i;
            cr_assert(found, "%s: edge %d -> %d missing from the in-list of %d", what, i, j, j);
        }
        for (int p = g->in_start[i] + 1; p < g->in_start[i + 1]; p++)
            cr_assert(g->in[p - 1] < g->in[p], "%s: in-list of %d not ascending", what, i);
    }
}

static inline int graph_symmetric(const Graph *g) {
    for (int i = 0; i < g->n; i++)
        for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++)
            if (!has_edge(g, g->out[p], i)) return 0;
    return 1;
}

// Eccentricity of src (BFS over out-edges), -1 if some agent is unreachable.
static inline int eccentricity(const Graph *g, int src) {
    int n = g->n, *dist = malloc(sizeof(int) * (size_t)n), *queue = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) dist[i] = -1;
    int head = 0, tail = 0, far = 0;
    dist[src] = 0, queue[tail++] = src;
    while (head < tail) {
        int u = queue[head++];
        if (dist[u] > far) far = dist[u];
        for (int p = g->out_start[u]; p < g->out_start[u + 1]; p++)
            if (dist[g->out[p]] < 0) dist[g->out[p]] = dist[u] + 1, queue[tail++] = g->out[p];
    }
    int reached = tail;
    free(dist);
    free(queue);
    return reached == n ? far : -1;
}

static inline int diameter(const Graph *g) {
    int d = 0;
    for (int i = 0; i < g->n; i++) {
        int e = eccentricity(g, i);
        if (e < 0) return -1;
        if (e > d) d = e;
    }
    return d;
}

// Round 0 of a static kind.
static inline Graph *static_graph(Topology *t, TopoKind kind, int n, int directed) {
    topo_make_kind(t, kind, n, directed, 0);
    Graph *g = graph_new(n);
    topo_round(t, 0, g);
    graph_valid(g, topo_name(kind));
    return g;
}

#endif
