// Communication topologies: static edge lists built once, per-round graphs for the time-varying
// kinds (SGP's one-peer exponential graph, seeded random graphs), and push-sum / gossip weights.
#include "topo.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"

#define TOPO_MAX_AGENTS 1024
#define TOPO_MAX_WINDOW 1000000
#define TOPO_LINE_MAX 256

// `directed` and `time_varying` apply only where the kind has a one-way or a per-round form:
// ring (i -> i+1), torus (right and down), exponential (i -> i+2^m; one peer per round) and
// random, file. Circulant, complete, chain, dyck and the trees are symmetric by definition (a one-way
// chain or tree could never carry information back), so both flags are ignored for them.

static const char *kind_names[] = {"ring", "torus", "circulant-1-4", "complete", "exponential",
                                   "chain", "binary-tree", "double-binary-trees", "random", "file",
                                   "spanning-tree", "dyck"};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

const char *topo_names(void) {
    return "ring, torus, circulant-1-4, complete, exponential, chain, binary-tree, "
           "double-binary-trees, random, file, spanning-tree, dyck";
}

int topo_parse(const char *name, TopoKind *out) {
    for (int i = 0; name && i < N_KINDS; i++)
        if (strcmp(name, kind_names[i]) == 0) { *out = (TopoKind)i; return 0; }
    return -1;
}

const char *topo_name(TopoKind k) { return (int)k >= 0 && (int)k < N_KINDS ? kind_names[k] : "?"; }

// ---- edge lists ----

// A growable list of directed edges.
typedef struct { int *from, *to; int m, cap; } Edges;

static void edges_push(Edges *l, int from, int to) {
    if (l->m == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        int *f = xmalloc(sizeof(int) * (size_t)cap), *t = xmalloc(sizeof(int) * (size_t)cap);
        if (l->m) {
            memcpy(f, l->from, sizeof(int) * (size_t)l->m);
            memcpy(t, l->to, sizeof(int) * (size_t)l->m);
        }
        free(l->from);
        free(l->to);
        l->from = f, l->to = t, l->cap = cap;
    }
    l->from[l->m] = from, l->to[l->m] = to, l->m++;
}

// Both directions of an edge, or one, as the spec asks.
static void edges_link(Edges *l, int a, int b, int directed) {
    edges_push(l, a, b);
    if (!directed) edges_push(l, b, a);
}

static void edges_free(Edges *l) {
    free(l->from);
    free(l->to);
    memset(l, 0, sizeof *l);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// Sort by (from, to), drop self-loops and duplicates.
static void edges_normalize(Edges *l, int n) {
    if (l->m == 0) return;
    uint64_t *key = xmalloc(sizeof(uint64_t) * (size_t)l->m);
    int k = 0;
    for (int e = 0; e < l->m; e++)
        if (l->from[e] != l->to[e]) key[k++] = (uint64_t)l->from[e] * (uint64_t)n + (uint64_t)l->to[e];
    qsort(key, (size_t)k, sizeof *key, cmp_u64);
    int m = 0;
    for (int e = 0; e < k; e++) {
        if (m > 0 && key[e] == key[e - 1]) continue;
        l->from[m] = (int)(key[e] / (uint64_t)n), l->to[m] = (int)(key[e] % (uint64_t)n), m++;
    }
    l->m = m;
    free(key);
}

// ---- graphs ----

static void graph_reserve(Graph *g, int n, int m) {
    if (g->n != n) {
        free(g->out_start);
        free(g->in_start);
        g->out_start = xcalloc((size_t)n + 1, sizeof(int));
        g->in_start = xcalloc((size_t)n + 1, sizeof(int));
        g->n = n;
    }
    if (m > g->cap) {
        int cap = g->cap > 0 ? g->cap : 16;
        while (cap < m) cap *= 2;
        free(g->out);
        free(g->in);
        g->out = xmalloc(sizeof(int) * (size_t)cap);
        g->in = xmalloc(sizeof(int) * (size_t)cap);
        g->cap = cap;
    }
}

Graph *graph_new(int n) {
    Graph *g = xcalloc(1, sizeof *g);
    g->n = -1;
    graph_reserve(g, n > 0 ? n : 0, 4 * (n > 0 ? n : 1));
    return g;
}

void graph_free(Graph *g) {
    if (!g) return;
    free(g->out_start);
    free(g->out);
    free(g->in_start);
    free(g->in);
    free(g);
}

// Fill g from edges sorted by (from, to) without duplicates: both lists come out sorted.
static void graph_set(Graph *g, int n, const int *from, const int *to, int m) {
    graph_reserve(g, n, m);
    memset(g->out_start, 0, sizeof(int) * ((size_t)n + 1));
    memset(g->in_start, 0, sizeof(int) * ((size_t)n + 1));
    for (int e = 0; e < m; e++) g->out_start[from[e] + 1]++, g->in_start[to[e] + 1]++;
    for (int i = 0; i < n; i++) g->out_start[i + 1] += g->out_start[i], g->in_start[i + 1] += g->in_start[i];
    int *fill = xmalloc(sizeof(int) * ((size_t)n + 1));
    memcpy(fill, g->in_start, sizeof(int) * ((size_t)n + 1));
    for (int e = 0; e < m; e++) {
        g->out[e] = to[e];                  // edges arrive grouped by `from`, `to` ascending
        g->in[fill[to[e]]++] = from[e];     // `from` ascending, so each in-list is sorted too
    }
    free(fill);
}

// ---- static topologies ----

static int torus_rows(int n) {
    int r = 1;
    for (int d = 2; (long)d * d <= n; d++)
        if (n % d == 0) r = d;
    return r;
}

static void build_torus(Edges *l, int n, int directed) {
    int r = torus_rows(n), c = n / r;
    for (int y = 0; y < r; y++)
        for (int x = 0; x < c; x++) {
            int i = y * c + x;
            edges_link(l, i, y * c + (x + 1) % c, directed);
            edges_link(l, i, ((y + 1) % r) * c + x, directed);
        }
}

// RelaySGD heap tree: w >= 2 hangs off floor(w/2); worker 0 is a leaf of worker 1. `flip`
// relabels w -> n-1-w (the second tree of double-binary-trees).
static void build_tree(Edges *l, int n, int flip) {
    for (int w = 1; w < n; w++) {
        int p = w == 1 ? 0 : w / 2;
        int a = flip ? n - 1 - w : w, b = flip ? n - 1 - p : p;
        edges_link(l, a, b, 0);
    }
}

static int exp_levels(int n) {   // floor(log2(n-1)) + 1 offsets 1, 2, 4, ...; 0 for n = 1
    int k = 0;
    while (n > 1 && (1L << k) <= n - 1) k++;
    return k;
}

// The Dyck graph as the GUT/CCL code numbers it: four 8-cycles (agents 8b + k, k = 0..7, b = 0..3), and
// one spoke per agent: block 0's even k to block 1, its odd k to block 2; block 3's even k to block 2,
// its odd k to block 1 (same k). 32 agents, 48 edges, cubic, bipartite.
static void build_dyck(Edges *l) {
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < 8; k++) edges_link(l, 8 * b + k, 8 * b + (k + 1) % 8, 0);
    for (int k = 0; k < 8; k++) {
        edges_link(l, k, 8 * (k % 2 ? 2 : 1) + k, 0);
        edges_link(l, 24 + k, 8 * (k % 2 ? 1 : 2) + k, 0);
    }
}

static void build_static(Edges *l, const TopoSpec *s) {
    int n = s->n, d = s->directed;
    switch (s->kind) {
    case TOPO_RING:
        for (int i = 0; i < n; i++) edges_link(l, i, (i + 1) % n, d);
        break;
    case TOPO_TORUS: build_torus(l, n, d); break;
    case TOPO_CIRCULANT14:
        for (int i = 0; i < n; i++) edges_link(l, i, (i + 1) % n, 0), edges_link(l, i, (i + 4) % n, 0);
        break;
    case TOPO_COMPLETE:
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) edges_push(l, i, j);
        break;
    case TOPO_EXPONENTIAL:
        for (int m = 0; m < exp_levels(n); m++)
            for (int i = 0; i < n; i++) edges_link(l, i, (int)((i + (1L << m)) % n), d);
        break;
    case TOPO_CHAIN:
        for (int i = 0; i + 1 < n; i++) edges_link(l, i, i + 1, 0);
        break;
    case TOPO_BINARY_TREE: build_tree(l, n, 0); break;
    case TOPO_DOUBLE_BINARY_TREES: build_tree(l, n, 0), build_tree(l, n, 1); break;
    case TOPO_DYCK: build_dyck(l); break;
    default: break;
    }
    edges_normalize(l, n);
}

// ---- edge files ----

// Parse "i j" with optional whitespace and a trailing # comment. 1: edge, 0: blank, -1: malformed.
static int parse_edge_line(char *line, long *a, long *b) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *p = line, *end;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p == '\0') return 0;
    errno = 0;
    *a = strtol(p, &end, 10);
    if (end == p || errno || (*end != ' ' && *end != '\t')) return -1;
    p = end;
    *b = strtol(p, &end, 10);
    if (end == p || errno) return -1;
    for (p = end; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return -1;
    return 1;
}

static void chomp(char *s) {
    size_t k = strlen(s);
    while (k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r')) s[--k] = '\0';
}

// One line of an edge file: 0 and the edge added (or nothing, for blank lines), -1 and e filled.
static int edge_line(Edges *l, const TopoSpec *s, int lineno, char *line, Err *e) {
    char shown[TOPO_LINE_MAX];
    snprintf(shown, sizeof shown, "%s", line);
    chomp(shown);
    long a, b;
    int k = parse_edge_line(line, &a, &b);
    if (k == 0) return 0;
    if (k < 0) {
        err_set(e, "topo: %s:%d: malformed line \"%s\" (expected two agent ids \"i j\")", s->file, lineno, shown);
        return -1;
    }
    if (a < 0 || a >= s->n || b < 0 || b >= s->n) {
        err_set(e, "topo: %s:%d: agent %ld outside 0..%d in \"%s\"", s->file, lineno,
                a < 0 || a >= s->n ? a : b, s->n - 1, shown);
        return -1;
    }
    if (a == b) {
        err_set(e, "topo: %s:%d: self-loop %ld -> %ld in \"%s\" (an agent always keeps its own share)",
                s->file, lineno, a, b, shown);
        return -1;
    }
    edges_link(l, (int)a, (int)b, s->directed);
    return 0;
}

static int read_edge_file(Edges *l, const TopoSpec *s, Err *e) {
    FILE *f = fopen(s->file, "r");
    if (!f) { err_set(e, "topo: cannot read edge file %s: %s", s->file, strerror(errno)); return -1; }
    char line[TOPO_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            err_set(e, "topo: %s:%d: line longer than %d characters: \"%.60s...\"", s->file, lineno,
                    TOPO_LINE_MAX - 2, line);
            rc = -1;
        } else {
            rc = edge_line(l, s, lineno, line, e);
        }
    }
    if (rc == 0 && ferror(f)) {
        err_set(e, "topo: error reading edge file %s: %s", s->file, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc == 0) edges_normalize(l, s->n);
    return rc;
}

// ---- init ----

static int spec_check(const TopoSpec *s, Err *e) {
    if ((int)s->kind < 0 || (int)s->kind >= N_KINDS) {
        err_set(e, "topo: unknown topology kind %d (expected one of %s)", (int)s->kind, topo_names());
        return -1;
    }
    const char *name = kind_names[s->kind];
    if (s->n < 1 || s->n > TOPO_MAX_AGENTS) {
        err_set(e, "topo: %s: agents must be in 1..%d, got %d", name, TOPO_MAX_AGENTS, s->n);
        return -1;
    }
    if (s->kind == TOPO_TORUS && (s->n < 4 || torus_rows(s->n) < 2)) {
        err_set(e, "topo: torus needs n = r x c with r, c >= 2, but n = %d %s (try circulant-1-4 or ring)",
                s->n, s->n < 4 ? "is below 4" : "is prime");
        return -1;
    }
    if (s->kind == TOPO_DYCK && s->n != 32) {
        err_set(e, "topo: dyck is the 32-node Dyck graph, but n = %d (for other sizes try ring or circulant-1-4)",
                s->n);
        return -1;
    }
    if (s->kind == TOPO_RANDOM && (s->window < 1 || s->window > TOPO_MAX_WINDOW)) {
        err_set(e, "topo: random: window B must be in 1..%d rounds, got %d", TOPO_MAX_WINDOW, s->window);
        return -1;
    }
    if (s->kind == TOPO_RANDOM && !(s->extra_p >= 0.0 && s->extra_p <= 1.0)) {
        err_set(e, "topo: random: extra_p must be a probability in [0, 1], got %g", s->extra_p);
        return -1;
    }
    if (s->kind == TOPO_SPANNING_TREE && (s->base == TOPO_SPANNING_TREE || (int)s->base < 0 ||
                                          (int)s->base >= N_KINDS)) {
        err_set(e, "topo: spanning-tree: the base must be one of the other kinds (%s), got %s", topo_names(),
                topo_name(s->base));
        return -1;
    }
    if (s->kind == TOPO_FILE && (s->file[0] == '\0' || !memchr(s->file, '\0', sizeof s->file))) {
        err_set(e, "topo: file: needs the path of an edge list (\"i j\" per line, at most %zu characters)",
                sizeof s->file - 1);
        return -1;
    }
    return 0;
}

static void take_edges(Topology *t, Edges *l) {
    t->n_static = l->m;
    t->static_from = l->from, t->static_to = l->to;
    memset(l, 0, sizeof *l);
}

// ---- spanning trees ----

// The BFS tree of the base graph from agent 0, visiting each agent's neighbours in ascending id (so a
// tie goes to the lowest id): the shortest-path tree RelaySGD's social-network-tree takes. The base is
// used in its static, undirected form (exponential: every offset; random: the cycle and round 0's
// extras; a file's edges both ways). A base that is not connected is refused.
static int build_spanning_tree(Edges *l, const TopoSpec *s, Err *e) {
    TopoSpec b = *s;
    b.kind = s->base, b.directed = 0, b.time_varying = 0;
    Topology base;
    if (topo_init(&base, &b, e) < 0) return -1;
    int n = s->n, head = 0, tail = 0;
    Graph *g = graph_new(n);
    topo_round(&base, 0, g);
    int *parent = xmalloc(sizeof(int) * (size_t)n), *queue = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) parent[i] = -1;
    parent[0] = 0, queue[tail++] = 0;
    while (head < tail) {
        int u = queue[head++];
        for (int p = g->out_start[u]; p < g->out_start[u + 1]; p++)
            if (parent[g->out[p]] < 0) parent[g->out[p]] = u, queue[tail++] = g->out[p];
    }
    for (int v = 1; v < n; v++) {
        if (parent[v] < 0) {
            err_set(e, "topo: spanning-tree: the base %s graph is not connected (agent %d cannot be reached "
                    "from agent 0)", topo_name(s->base), v);
            break;
        }
        edges_link(l, v, parent[v], 0);
    }
    int rc = tail == n ? 0 : -1;
    free(parent), free(queue), graph_free(g), topo_free(&base);
    if (rc == 0) edges_normalize(l, n);
    return rc;
}

int topo_kind_is_tree(TopoKind k) {
    return k == TOPO_CHAIN || k == TOPO_BINARY_TREE || k == TOPO_SPANNING_TREE || k == TOPO_DOUBLE_BINARY_TREES;
}

// One tree per relay: the static edges for a single tree, each binary tree alone for double-binary-trees.
static void trees_init(Topology *t) {
    if (!topo_kind_is_tree(t->spec.kind)) return;
    t->n_trees = t->spec.kind == TOPO_DOUBLE_BINARY_TREES ? 2 : 1;
    for (int k = 0; k < t->n_trees; k++) {
        Edges l = {0};
        if (t->n_trees == 1) {
            for (int j = 0; j < t->n_static; j++) edges_push(&l, t->static_from[j], t->static_to[j]);
        } else {
            build_tree(&l, t->spec.n, k);
            edges_normalize(&l, t->spec.n);
        }
        t->tree_m[k] = l.m, t->tree_from[k] = l.from, t->tree_to[k] = l.to;
    }
}

int topo_tree_count(const Topology *t) { return t->n_trees; }

void topo_tree(const Topology *t, int k, Graph *g) {
    if (k < 0 || k >= t->n_trees) { graph_set(g, t->spec.n, NULL, NULL, 0); return; }
    graph_set(g, t->spec.n, t->tree_from[k], t->tree_to[k], t->tree_m[k]);
}

int topo_init(Topology *t, const TopoSpec *spec, Err *e) {
    memset(t, 0, sizeof *t);
    if (spec_check(spec, e) < 0) return -1;
    t->spec = *spec;
    Edges l = {0};
    if (spec->kind == TOPO_RANDOM) {
        // The fixed Hamiltonian cycle: edge j goes cycle[j] -> cycle[j+1 mod n].
        int n = spec->n;
        t->cycle = xmalloc(sizeof(int) * (size_t)n);
        for (int i = 0; i < n; i++) t->cycle[i] = i;
        Rng r = rng_derive(spec->seed, 0);
        rng_shuffle_int(&r, t->cycle, n);
        for (int j = 0; j < n && n > 1; j++) edges_push(&l, t->cycle[j], t->cycle[(j + 1) % n]);
    } else if (spec->kind == TOPO_FILE) {
        if (read_edge_file(&l, spec, e) < 0) { edges_free(&l); return -1; }
    } else if (spec->kind == TOPO_SPANNING_TREE) {
        if (build_spanning_tree(&l, spec, e) < 0) { edges_free(&l); return -1; }
    } else if (!(spec->kind == TOPO_EXPONENTIAL && spec->time_varying)) {
        build_static(&l, spec);
    }
    take_edges(t, &l);
    trees_init(t);
    return 0;
}

void topo_free(Topology *t) {
    if (!t) return;
    free(t->static_from);
    free(t->static_to);
    free(t->cycle);
    for (int k = 0; k < 2; k++) free(t->tree_from[k]), free(t->tree_to[k]);
    memset(t, 0, sizeof *t);
}

// ---- rounds ----

static long mod_pos(long a, long m) { return ((a % m) + m) % m; }

// Cycle edges of this round, then extra edges from a generator that depends only on (seed, round),
// so the graph is a pure function of the round. A static random graph (time_varying = 0) is round
// 0's extras plus the whole cycle, not round 0's share of it: a graph used every round must be
// strongly connected on its own, and with the whole cycle it is, whatever B.
static void random_round(const Topology *t, long round, Edges *l) {
    const TopoSpec *s = &t->spec;
    int n = s->n, d = s->directed, all = !s->time_varying;
    if (all) round = 0;
    for (int j = 0; j < t->n_static; j++)
        if (all || mod_pos(round, s->window) == j % s->window)
            edges_link(l, t->static_from[j], t->static_to[j], d);
    if (s->extra_p <= 0.0) return;
    Rng r = rng_derive(s->seed, (uint64_t)round + 1);
    for (int i = 0; i < n; i++)
        for (int j = d ? 0 : i + 1; j < n; j++)
            if (j != i && rng_uniform(&r) < s->extra_p) edges_link(l, i, j, d);
}

void topo_round(const Topology *t, long round, Graph *g) {
    const TopoSpec *s = &t->spec;
    if (s->kind == TOPO_RANDOM || (s->kind == TOPO_EXPONENTIAL && s->time_varying)) {
        Edges l = {0};
        if (s->kind == TOPO_RANDOM) {
            random_round(t, round, &l);
        } else {
            int levels = exp_levels(s->n);
            long off = levels ? 1L << mod_pos(round, levels) : 0;
            for (int i = 0; i < s->n && levels; i++) edges_link(&l, i, (int)((i + off) % s->n), s->directed);
        }
        edges_normalize(&l, s->n);
        graph_set(g, s->n, l.from, l.to, l.m);
        edges_free(&l);
    } else {
        graph_set(g, s->n, t->static_from, t->static_to, t->n_static);
    }
}

// ---- mixing weights ----

// Gossip degree: max(in, out), which is the ordinary degree on an undirected graph. On a directed
// graph it still keeps every row stochastic with a non-negative self-weight (the sum over the
// in-neighbours is at most in/(deg+1) < 1); the matrix is then not symmetric, nor doubly stochastic.
static int gossip_degree(const Graph *g, int i) {
    int a = graph_in_degree(g, i), b = graph_out_degree(g, i);
    return a > b ? a : b;
}

static int has_in_edge(const Graph *g, int i, int j) {   // j -> i?
    int lo = g->in_start[i], hi = g->in_start[i + 1];
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->in[mid] == j) return 1;
        if (g->in[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

// The weight agent i gives to the value it receives from j (0 unless j -> i is an edge; the
// self-weight when j == i).
double mix_gossip(const Graph *g, int i, int j) {
    if (i == j) return mix_gossip_self(g, i);
    if (!has_in_edge(g, i, j)) return 0.0;
    int di = gossip_degree(g, i), dj = gossip_degree(g, j);
    return 1.0 / ((di > dj ? di : dj) + 1);
}

double mix_gossip_self(const Graph *g, int i) {
    double sum = 0.0;
    int di = gossip_degree(g, i);
    for (int k = g->in_start[i]; k < g->in_start[i + 1]; k++) {
        int dj = gossip_degree(g, g->in[k]);
        sum += 1.0 / ((di > dj ? di : dj) + 1);
    }
    return 1.0 - sum;
}

// ---- connectivity ----

static int reach_all(const char *adj, int n, int transpose) {
    char *seen = xcalloc((size_t)n, 1);
    int *queue = xmalloc(sizeof(int) * (size_t)n), head = 0, tail = 0, count = 1;
    seen[0] = 1, queue[tail++] = 0;
    while (head < tail) {
        int u = queue[head++];
        for (int v = 0; v < n; v++) {
            char edge = transpose ? adj[(size_t)v * n + u] : adj[(size_t)u * n + v];
            if (edge && !seen[v]) seen[v] = 1, queue[tail++] = v, count++;
        }
    }
    free(seen);
    free(queue);
    return count == n;
}

int topo_strongly_connected(const Topology *t, long r0, int len) {
    int n = t->spec.n;
    char *adj = xcalloc((size_t)n * (size_t)n, 1);
    Graph *g = graph_new(n);
    for (int k = 0; k < len; k++) {
        topo_round(t, r0 + k, g);
        for (int i = 0; i < n; i++)
            for (int p = g->out_start[i]; p < g->out_start[i + 1]; p++) adj[(size_t)i * n + g->out[p]] = 1;
    }
    int ok = reach_all(adj, n, 0) && reach_all(adj, n, 1);
    graph_free(g);
    free(adj);
    return ok;
}
