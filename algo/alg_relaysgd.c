// RelaySum (Vogels et al., NeurIPS 2021) over spanning trees: every agent's vector reaches every
// other agent exactly once, delayed by one step per hop beyond the first. Two algorithms share it:
// relaysgd (RelaySum/Model: relay the half-step models, fill the missing ones with x0, divide by n)
// and relaysum-grad (RelaySum/Grad: relay the optimizer's updates, no filling). On double binary
// trees the even entries of the vector travel over tree 0 and the odd ones over tree 1.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"
#include "bytes.h"

enum { RELAY_KIND = KIND_USER };   // + the tree's index: a neighbour can be in both trees
#define RELAY_MAX_TREES 2
#define RELAY_HEAD 4               // a message: [u32 count][f32 x len]

// One tree's relay at this agent: the slice v[off], v[off + T], ... (len entries) of the vector.
typedef struct {
    int deg;           // this agent's neighbours in the tree
    int *nbr;          // (deg) their ids, ascending
    size_t off, len;
    float *m;          // (deg, len) the last message from each neighbour (zeros: none, or dropped)
    uint32_t *c;       // (deg) its count (0: none, or dropped)
    float *h, *sum;    // (len) the agent's own slice; the relayed sum h + sum_j m_j
    float *out;        // (len) one outgoing message
} Relay;

typedef struct {
    int grad;          // 1: RelaySum/Grad; 0: RelaySum/Model
    int nt;            // trees (1, or 2 for double binary trees)
    Relay tr[RELAY_MAX_TREES];
    float *ref;        // (n_params) the fill r: x0 (or, with update_ref_state, the last model)
    float *u;          // (n_params) grad: the step's update; zeros in consensus rounds
} RelayState;

static void relay_tree_init(Relay *r, const Topology *t, int k, int id, size_t n_params, int nt) {
    Graph *g = graph_new(t->spec.n);
    topo_tree(t, k, g);
    r->deg = graph_out_degree(g, id);
    r->nbr = xmalloc(sizeof(int) * (size_t)(r->deg + 1));
    memcpy(r->nbr, g->out + g->out_start[id], sizeof(int) * (size_t)r->deg);
    graph_free(g);
    r->off = (size_t)k;
    r->len = n_params > (size_t)k ? (n_params - (size_t)k + (size_t)nt - 1) / (size_t)nt : 0;
    r->m = xfloats((size_t)(r->deg + 1) * r->len);
    r->c = xcalloc((size_t)r->deg + 1, sizeof *r->c);
    r->h = xfloats(r->len + 1), r->sum = xfloats(r->len + 1), r->out = xfloats(r->len + 1);
}

static int relay_init(Alg *a, int grad, Err *e) {
    AlgEnv *env = &a->env;
    RelayState *s = xcalloc(1, sizeof *s);
    s->grad = grad;
    s->nt = topo_tree_count(&env->topo);
    if (s->nt < 1 || s->nt > RELAY_MAX_TREES) {
        err_set(e, "%s: topology %s is not a spanning tree (chain, binary-tree, double-binary-trees, "
                "spanning-tree)", a->ops->name, topo_name(env->topo.spec.kind));
        free(s);
        return -1;
    }
    for (int k = 0; k < s->nt; k++) relay_tree_init(&s->tr[k], &env->topo, k, env->id, env->n_params, s->nt);
    s->ref = xfloats(env->n_params);
    memcpy(s->ref, env->params, env->n_params * sizeof *s->ref);   // x0: every agent starts from it
    s->u = xfloats(env->n_params);
    a->st = s;
    return 0;
}

static int relaysgd_init(Alg *a, Err *e) { return relay_init(a, 0, e); }
static int relaysum_grad_init(Alg *a, Err *e) { return relay_init(a, 1, e); }

// To each neighbour j: count 1 + sum_{l != j} c_l and vector h + sum_{l != j} m_l (last step's).
static int relay_send(AlgEnv *env, Relay *r, int kind, long round, Err *e) {
    for (int j = 0; j < r->deg; j++) {
        uint32_t count = 1;
        memcpy(r->out, r->h, r->len * sizeof *r->out);
        for (int l = 0; l < r->deg; l++) {
            if (l == j) continue;
            const float *m = r->m + (size_t)l * r->len;
            for (size_t i = 0; i < r->len; i++) r->out[i] += m[i];
            count += r->c[l];
        }
        uint32_t len = (uint32_t)(RELAY_HEAD + 4 * r->len);
        uint8_t *p = net_alloc(len);
        put_u32(p, count);
        memcpy(p + RELAY_HEAD, r->out, 4 * r->len);
        net_count_authors(env->net, r->nbr[j], 4 * ((uint64_t)r->len + 1));
        if (net_send_owned(env->net, r->nbr[j], kind, (uint64_t)round, CODEC_DENSE, p, len, e)) return -1;
    }
    return 0;
}

// Each neighbour's message of this round into its slot; a dropped or late one leaves the slot empty
// (zeros, count 0), so it is neither relayed nor counted. Leaves h + sum_j m_j in r->sum and returns
// C = 1 + sum_j c_j, or -1 and e.
static long relay_recv(AlgEnv *env, Relay *r, int kind, long round, Err *e) {
    long total = 1;
    memcpy(r->sum, r->h, r->len * sizeof *r->sum);
    for (int j = 0; j < r->deg; j++) {
        float *m = r->m + (size_t)j * r->len;
        int missing = 0;
        Msg *msg = net_wait(env->net, r->nbr[j], kind, (uint64_t)round, env->timeout_s, &missing, e);
        memset(m, 0, r->len * sizeof *m);
        r->c[j] = 0;
        if (!msg) {
            if (!missing) return -1;
            env->missing++;
            continue;
        }
        uint32_t count = msg->len >= RELAY_HEAD ? get_u32(msg->payload) : 0;
        if (msg->len != RELAY_HEAD + 4 * r->len || count < 1 || count > (uint32_t)env->n) {
            err_set(e, "agent %d: malformed relay message from agent %d (round %ld: %u bytes, count %u; expected "
                    "%zu bytes, count 1..%d)", env->id, msg->from, round, msg->len, count, RELAY_HEAD + 4 * r->len,
                    env->n);
            net_release(env->net, msg);
            return -1;
        }
        memcpy(m, msg->payload + RELAY_HEAD, 4 * r->len);
        net_release(env->net, msg);
        r->c[j] = count;
        total += count;
        for (size_t i = 0; i < r->len; i++) r->sum[i] += m[i];
    }
    return total;
}

// One relay round: v's slices out over every tree, the sums in; then per tree
//   model: x = (sum + (n - C) ref) / n      grad: x = x + sum / n
static int relay_round(Alg *a, long round, const float *v, Err *e) {
    AlgEnv *env = &a->env;
    RelayState *s = a->st;
    size_t T = (size_t)s->nt;
    for (int k = 0; k < s->nt; k++) {
        Relay *r = &s->tr[k];
        for (size_t i = 0; i < r->len; i++) r->h[i] = v[r->off + T * i];
        if (relay_send(env, r, RELAY_KIND + k, round, e)) return -1;
    }
    float inv = 1.0f / (float)env->n;
    for (int k = 0; k < s->nt; k++) {
        Relay *r = &s->tr[k];
        long C = relay_recv(env, r, RELAY_KIND + k, round, e);
        if (C < 0) return -1;
        float fill = s->grad ? 0.0f : (float)(env->n - C);
        float *x = env->params + r->off;
        const float *ref = s->ref + r->off;
        for (size_t i = 0; i < r->len; i++) {
            size_t p = T * i;
            x[p] = s->grad ? x[p] + r->sum[i] * inv : (r->sum[i] + fill * ref[p]) * inv;
        }
    }
    if (!s->grad && env->cfg->relay_update_ref) memcpy(s->ref, env->params, env->n_params * sizeof *s->ref);
    return 0;
}

// Model: the optimizer's step gives x^{t+1/2} in params, which is relayed. Grad: the update u =
// x^{t+1/2} - x^t is relayed and params go back to x^t before the mix adds the average update.
static int relay_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    RelayState *s = a->st;
    topo_round(&env->topo, round, env->g);
    if (!s->grad) {
        sgd_step(&env->opt, env->params, env->grads, lr);
        return relay_round(a, round, env->params, e);
    }
    memcpy(s->u, env->params, env->n_params * sizeof *s->u);
    sgd_step(&env->opt, env->params, env->grads, lr);
    for (size_t i = 0; i < env->n_params; i++) {
        float after = env->params[i];
        env->params[i] = s->u[i];
        s->u[i] = after - s->u[i];
    }
    return relay_round(a, round, s->u, e);
}

// Without a gradient: Model relays its model as it is (delayed averaging); Grad relays a zero update,
// which delivers the updates still on their way, so after diameter - 1 rounds every agent agrees.
static int relay_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c; (void)gamma;
    RelayState *s = a->st;
    if (!s->grad) return relay_round(a, round, a->env.params, e);
    memset(s->u, 0, a->env.n_params * sizeof *s->u);
    return relay_round(a, round, s->u, e);
}

static void relay_free(Alg *a) {
    RelayState *s = a->st;
    if (!s) return;
    for (int k = 0; k < s->nt; k++) {
        Relay *r = &s->tr[k];
        free(r->nbr), free(r->m), free(r->c), free(r->h), free(r->sum), free(r->out);
    }
    free(s->ref), free(s->u), free(s);
}

static const AlgKey RELAYSGD_KEYS[] = {
    {.key = "update_ref_state", .type = ALG_KEY_BOOL, .def = 0, .offset = offsetof(AlgConfig, relay_update_ref),
     .what = "fills missing models with its own latest model instead of x0 (update_ref_state)"},
    {.key = NULL},
};

#define RELAY_TREE_NEED "relays over spanning trees (each vector must reach every agent exactly once)"

const AlgOps alg_relaysgd_ops = {
    .name = "relaysgd",
    .on_missing = "a dropped or late message is not relayed and its agents' share of the average is filled with "
                  "x0 (the last model with update_ref_state)",
    .keeps_late = 0,
    .needs = {.tree = RELAY_TREE_NEED},
    .keys = RELAYSGD_KEYS,
    .init = relaysgd_init,
    .step = relay_step,
    .consensus = relay_consensus,
    .free = relay_free,
    .label = alg_label_name,
};

const AlgOps alg_relaysum_grad_ops = {
    .name = "relaysum-grad",
    .on_missing = "a dropped or late update is not relayed and is lost for good (no filling)",
    .keeps_late = 0,
    .needs = {.tree = RELAY_TREE_NEED},
    .init = relaysum_grad_init,
    .step = relay_step,
    .consensus = relay_consensus,
    .free = relay_free,
    .label = alg_label_name,
};
