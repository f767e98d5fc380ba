// Communication topologies: which agent sends to which in a given round (directed and
// time-varying graphs included), and the mixing weights push-sum and gossip use on them.
#ifndef MESHTRAIN_TOPO_H
#define MESHTRAIN_TOPO_H
#include <stdint.h>
#include "util.h"

typedef enum {
    TOPO_RING,          // i -> i+1 (directed) or i <-> i+1
    TOPO_TORUS,         // 2-D torus on an r x c grid (r*c = n, r as close to sqrt(n) as possible)
    TOPO_CIRCULANT14,   // C_n(1,4): i <-> i+-1, i+-4 (what the GUT/CCL code calls "torus")
    TOPO_COMPLETE,
    TOPO_EXPONENTIAL,   // static: i -> i + 2^m, m = 0..floor(log2(n-1)); time-varying: one peer per round
    TOPO_CHAIN,         // i <-> i+1, no wrap
    TOPO_BINARY_TREE,   // heap indexing as RelaySGD: w >= 1 has parent floor(w/2); worker 0 hangs off 1
    TOPO_DOUBLE_BINARY_TREES,  // two trees: the binary tree and its relabelling w -> n-1-w (topo_tree); the
                               // round graph (topo_round) is their union, for algorithms that mix on it
    TOPO_RANDOM,        // seeded random directed graphs, strongly connected over every B rounds
    TOPO_FILE,          // an edge list "i j" per line (# comments), directed edges
    TOPO_SPANNING_TREE, // BFS tree of the base kind (spec.base, static, undirected) from agent 0, ties by lowest id
    TOPO_DYCK,          // the 32-node cubic graph of the GUT/CCL code's DyckGraph: n = 32 only (see build_dyck)
} TopoKind;

typedef struct {
    TopoKind kind;
    int n;
    int directed;       // 1: edges are one-way as listed; 0: every edge also goes back
    int time_varying;   // exponential: one peer per round; random: new graph every round
    int window;         // random: B, the window of rounds whose union is strongly connected (>= 1)
    double extra_p;     // random: probability of each extra edge per round (default 0.1)
    uint64_t seed;      // random
    char file[512];     // file
    TopoKind base;      // spanning-tree: the graph it spans (any kind but spanning-tree; its static form)
} TopoSpec;

typedef struct {
    TopoSpec spec;
    int n_static;       // edges of the static graph (or of the fixed cycle, for random)
    int *static_from, *static_to;
    int *cycle;         // random: the permutation whose cycle every window contains
    int n_trees;        // the tree kinds: 1 (2 for double-binary-trees); 0 for every other kind
    int tree_m[2];      // edges of tree k (both directions), sorted by (from, to)
    int *tree_from[2], *tree_to[2];
} Topology;

// One round's directed graph in compressed-row form, without self-loops; in and out lists sorted.
typedef struct {
    int n;
    int *out_start, *out;   // out-neighbours of i: out[out_start[i] .. out_start[i+1])
    int *in_start, *in;     // in-neighbours of i
    int cap;                // capacity of out / in
} Graph;

const char *topo_names(void);   // "ring, torus, ..."
int topo_parse(const char *name, TopoKind *out);
const char *topo_name(TopoKind k);
// Validate the spec (n range, file readable and well formed, agents in range) and build.
int topo_init(Topology *t, const TopoSpec *spec, Err *e);
void topo_free(Topology *t);

Graph *graph_new(int n);
void graph_free(Graph *g);
// The graph of round `round` (0-based). Static topologies give the same graph every round.
void topo_round(const Topology *t, long round, Graph *g);

static inline int graph_out_degree(const Graph *g, int i) { return g->out_start[i + 1] - g->out_start[i]; }
static inline int graph_in_degree(const Graph *g, int i) { return g->in_start[i + 1] - g->in_start[i]; }
// Push-sum: column-stochastic, sender i keeps and sends 1/(out_degree(i)+1).
static inline double mix_pushsum(const Graph *g, int sender) { return 1.0 / (graph_out_degree(g, sender) + 1); }
// Gossip (undirected graphs): Metropolis weight w_ij = 1/(max(deg_i, deg_j)+1) on edges.
double mix_gossip(const Graph *g, int i, int j);
double mix_gossip_self(const Graph *g, int i);   // 1 - sum_j w_ij
// Spanning trees (RelaySGD). topo_kind_is_tree: chain, binary-tree, spanning-tree, double-binary-trees.
// topo_tree_count: how many trees the topology relays over (0: not a tree kind); topo_tree: tree k's
// symmetric graph (0 <= k < count). For a single tree, tree 0 is the round graph itself.
int topo_kind_is_tree(TopoKind k);
int topo_tree_count(const Topology *t);
void topo_tree(const Topology *t, int k, Graph *g);
// 1 if the union of rounds [r0, r0+len) is strongly connected.
int topo_strongly_connected(const Topology *t, long r0, int len);

#endif
