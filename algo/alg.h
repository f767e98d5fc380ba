// The decentralized algorithms behind one small interface: each agent's model is a flat vector,
// and an algorithm turns "here is my gradient" into a local update plus messages to its peers.
// One file per algorithm (alg_*.c); shared push-sum and gossip helpers live in alg_common.c.
#ifndef MESHTRAIN_ALG_H
#define MESHTRAIN_ALG_H
#include <stdint.h>
#include "alg_config.h"
#include "codec.h"
#include "net.h"
#include "optim.h"
#include "topo.h"

enum { KIND_PUSH = 1, KIND_GOSSIP = 2, KIND_CONSENSUS = 3, KIND_ALLREDUCE = NET_KIND_RELIABLE };

// What an algorithm may ask of the model it trains, without seeing it (the runtime fills these: see
// runtime/agent.c). "The current batch" is the one the training round loaded; every call runs a forward
// pass (training mode, as the round's own pass) at the point it is given and then puts back everything it
// touched: the model's parameters, its gradient, its running statistics (batch norm) and the dropout
// stream, so a call changes nothing the round computes. A call costs one forward (and, for grad_at,
// one backward) pass. Use them from step(), consensus() or on_batch(), never from feature_loss() (the
// round's activations are then still needed for its backward pass: the runtime refuses the call).
typedef struct {
    void *ctx;
    int feature_dim;          // width of the penultimate layer (the input of the linear head)
    int max_batch;            // the largest batch: feature buffers of max_batch * feature_dim floats suffice
    // g (n_params) = the gradient of this agent's loss on the current batch at x (n_params), not
    // x's own batch: e.g. at a neighbour's model (NGM's cross-gradients). *loss, if not NULL, gets
    // the loss there. 0, or -1 and e.
    int (*grad_at)(void *ctx, const float *x, float *g, double *loss, Err *e);
    // feat = the penultimate-layer features of the current batch at x, row-major (batch, feature_dim),
    // and labels (batch) its labels; *batch its size. 0, or -1 and e.
    int (*features_at)(void *ctx, const float *x, float *feat, uint8_t *labels, int *batch, Err *e);
} AlgModelFns;

typedef struct {
    int id, n;
    float *params;            // (n_params) where the next gradient is taken: the model reads it
    float *grads;             // (n_params) the gradient taken there
    size_t n_params;
    Net *net;
    Topology topo;
    Graph *g;                 // the current round's graph
    const AlgConfig *cfg;     // the scenario's "algorithm" keys
    uint64_t seed;            // the run's seed
    Span *spans;              // the model's tensors, for per-tensor codecs
    int nt;
    Sgd opt;                  // the local optimizer (momentum, Nesterov, weight decay)
    Codec codec;              // the scenario's compressor
    double timeout_s;         // wait for an in-neighbour's message at most this long
    long missing;             // in-neighbour messages that were dropped or did not arrive in time
    uint8_t *buf;             // send buffer, buf_cap bytes
    size_t buf_cap;
    AlgModelFns model;        // gradients and features at other points (NULL functions: not available)
} AlgEnv;

// An optional key of one algorithm, under the scenario's "algorithm" object: a scalar ("overlap") or
// a field of an object ("compensation.rounds"). runtime/scenario.c reads, range-checks and dumps it
// into AlgConfig at `offset`; another algorithm given it fails with "only <name> <what>".
typedef enum { ALG_KEY_BOOL, ALG_KEY_INT, ALG_KEY_NUM, ALG_KEY_CODEC } AlgKeyType;
typedef struct {
    const char *key;
    AlgKeyType type;
    double lo, hi, def;       // range and default (BOOL: def only; CODEC: none)
    const char *def_codec;    // CODEC: the default codec name
    size_t offset;            // where the value goes in AlgConfig (int for BOOL/INT, double, char[16])
    const char *what;         // "can overlap its messages with computation", "has a compensation"
} AlgKey;

// Consensus rounds without a gradient that an algorithm wants besides training (SC-Sparse-Push's
// compensation): `rounds` of them after training (before the scenario's final consensus rounds)
// and, when every_epochs > 0, also every every_epochs epochs, with their own codec, keep and step.
typedef struct { int rounds; double every_epochs; const char *codec; double keep, gamma; } AlgExtraRounds;

typedef struct Alg Alg;
typedef struct {
    const char *name;
    const char *on_missing;   // what the algorithm does when an in-neighbour's message is missing
    int keeps_late;           // 1: messages that miss their round are kept and added later (push-sum)
    // algorithm.compression: whether it takes a codec other than dense, and the defaults of
    // algorithm.compression.kind, .keep and of algorithm.gamma (NULL kind: dense, keep 1, gamma 1).
    struct { int takes; const char *kind; double keep, gamma; } codec;
    // What the graph must be, each a reason (NULL: no such need); the scenario check says
    // "<name> <reason> and needs an undirected topology", "<name> <reason>, so it needs a static
    // topology", "<name> <reason>; use 0" (final consensus rounds), "<name> <reason>, so it needs
    // a spanning tree: chain, binary-tree, double-binary-trees or spanning-tree" (topo_tree_count and
    // topo_tree give the trees). Directed and time-varying graphs are the default.
    // .features: "<name> <reason>, so it needs a model with a feature layer (a linear head after other layers)".
    struct { const char *undirected, *fixed, *no_final_consensus, *tree, *features; } needs;
    const AlgKey *keys;       // its optional keys, ended by a {NULL} entry (NULL: none)
    // 1: quasi-global momentum is defined for it (optimizer.quasi_global): its step takes the local step
    // with sgd_step_qg and calls sgd_qg_track after mixing. 0: the scenario check refuses the option.
    int quasi_global;
    int (*init)(Alg *a, Err *e);
    // After backward: local update with learning rate lr, exchange with peers, mix; leave the next
    // query point in m->params. Any number of message kinds and rounds per step: see below.
    int (*step)(Alg *a, long round, float lr, Err *e);
    // One averaging round without a gradient (final consensus, skew compensation), with codec c and
    // consensus step gamma. Leaves the de-biased model in m->params.
    int (*consensus)(Alg *a, long round, const Codec *c, double gamma, Err *e);
    void (*free)(Alg *a);
    // Optional hooks (NULL: none).
    // Its own consensus rounds (AlgExtraRounds), from its keys.
    void (*extra_rounds)(const AlgConfig *cfg, AlgExtraRounds *x);
    // After training and every consensus round, before the final evaluation (SGP's overlap adds the
    // shares still in flight).
    int (*finish)(Alg *a, Err *e);
    // The round's batch is loaded, its forward pass not yet run: the place to call env.model's
    // functions for this round (CCL's features of the batch at the neighbours' models).
    int (*on_batch)(Alg *a, long round, Err *e);
    // Between the round's forward and backward passes: an extra loss on the penultimate features
    // feat (batch, dim; row-major) with labels y. Write its gradient d(extra loss)/d(feat) into dfeat
    // (same shape; the runtime adds it to the backward pass) and the extra loss into *loss. 0, or -1.
    int (*feature_loss)(Alg *a, const float *feat, const uint8_t *y, int batch, int dim, float *dfeat,
                        double *loss, Err *e);
    // The words for reports ("sparse-push top-k 1%, γ 0.01"); NULL: alg_label_mixing.
    void (*label)(const AlgConfig *cfg, char *out, size_t n);
} AlgOps;

// Messages. A message is (sender, kind, round); the transport keeps one queue per (sender, kind)
// and round, so an algorithm may send several distinct messages to a neighbour in one step by
// giving each its own kind (KIND_USER + 0, 1, ...: models out, then gradients back), and run
// several message rounds per step one after the other with those kinds: the receiver waits for each
// (net_wait / push_recv) in turn. Consensus rounds use their own round numbers (after training).
// Graphs: env->g is the round's directed graph (topo_round); undirected topologies give symmetric
// graphs (every edge both ways, what replying along an edge needs), trees come from the chain and
// binary_tree kinds; an algorithm declares what it needs in `needs`.
enum { KIND_USER = 8 };

struct Alg {
    const AlgOps *ops;
    AlgEnv env;
    void *st;                 // the algorithm's own state
};

// Every algorithm's name, comma-separated, in the registry's order.
const char *alg_names(void);
// The names of those for which pred holds, comma-separated (e.g. the ones that take a codec).
void alg_names_where(int (*pred)(const AlgOps *ops), char *out, size_t n);
// The registered algorithm `name`, or NULL. alg_at(i): the i-th in the registry, NULL past the end.
const AlgOps *alg_find(const char *name);
const AlgOps *alg_at(int i);
// The algorithm `name` on env (which it takes over). NULL and e for an unknown name.
Alg *alg_new(const char *name, const AlgEnv *env, Err *e);
void alg_free(Alg *a);
// Labels for reports: the algorithm's own words (its label hook), or the name for an unknown one.
void alg_label(const AlgConfig *cfg, char *out, size_t n);
void alg_label_name(const AlgConfig *cfg, char *out, size_t n);    // the name alone (nothing sent)
void alg_label_codec(const AlgConfig *cfg, char *out, size_t n);   // the name and its codec
void alg_label_mixing(const AlgConfig *cfg, char *out, size_t n);  // ... and gamma when it matters

// Shared helpers (alg_common.c).
// Push-sum payload: [f64 mass (the weight u times the mixing weight)][f32 scale][f32 weight][codec
// bytes of v]. The receiver adds scale * decode(v) to its numerator and mass to its weight; `weight`
// is the sender's mixing weight for algorithms that apply it themselves (it equals scale otherwise).
int push_send(AlgEnv *env, int to, int kind, long round, const Codec *c, const float *v, double mass,
              float scale, Err *e);
// Wait for `from`'s push of `round`; on success add scale*v into x and the mass into *u. Returns 1 if
// it arrived, 0 if missing (dropped or timed out), -1 and e on a broken link or malformed payload.
int push_recv(AlgEnv *env, int from, int kind, long round, float *x, double *u, Err *e);
int push_recv_w(AlgEnv *env, int from, int kind, long round, float *x, double *u, float *weight, Err *e);
// Add every late push of `kind` from `from` (any sender when from < 0) with a round before `round`,
// oldest first, as push_recv would (scale * v into x, mass into *u; weight, if not NULL, gets the last
// one's weight). Returns how many, or -1 and e.
int push_drain_late(AlgEnv *env, int from, int kind, long round, float *x, double *u, float *weight, Err *e);
// SGP's receive side in one pass over x per message. push_gather waits for the pushes of `round`
// from the current graph's in-neighbours and takes the late ones (as push_drain_late: KIND_PUSH, then
// KIND_CONSENSUS); push_batch_mass tells the weight u will have once they are added; push_batch_mix
// does x = keep * x + the scaled vectors, *u += the masses and, when z is not NULL, z = x / *u (the
// same floats as scaling x, push_recv, push_drain_late and debias one after the other; z NULL is for
// x that is z itself, with u ending at 1), then releases the messages. 0, or -1 and e.
typedef struct { Msg **m; int n, cap; } PushBatch;
int push_gather(AlgEnv *env, int kind, long round, PushBatch *b, Err *e);
double push_batch_mass(const PushBatch *b, double u);
int push_batch_mix(AlgEnv *env, PushBatch *b, float keep, float *x, double *u, float *z, Err *e);
void push_batch_free(AlgEnv *env, PushBatch *b);
// Decode one push message into x and *u as push_recv does, then release it. 1, or -1 and e.
int push_apply(AlgEnv *env, Msg *m, float *x, double *u, float *weight, Err *e);
int push_send_encoded_w(AlgEnv *env, int to, int kind, long round, const Codec *c, long len, double mass, float scale,
                        float weight, Err *e);
// 1 if the message from -> to of this round will be dropped (both ends know; see net_drops).
static inline int push_dropped(const AlgEnv *env, int from, int to, int kind, long round) {
    return net_drops(env->net, from, to, kind, (uint64_t)round);
}
// Send v (dense) to every neighbour of the current undirected graph and wait for theirs; mix with
// Metropolis weights, renormalizing by the weight that arrived. out may alias v.
int gossip_mix(AlgEnv *env, int kind, long round, const float *v, float *out, Err *e);
// gossip_mix's arithmetic on k dense payloads (4 n bytes each, little-endian fp32) with their scales:
// out[i] = (ws v[i] + (0 + scale_0 p_0[i] + scale_1 p_1[i] + ...)) * inv. out may alias v.
void gossip_mix_dense(const float *v, float *out, size_t n, float ws, float inv, const uint8_t *const *payload,
                      const float *scale, int k);
// The same mix for nv <= GOSSIP_DIFF_MAX vectors in one message (nv * 4 n bytes, no prefix), written
// v_i += sum_j w_ij (v_j - v_i): a consensus is kept exactly in float, so D2's and gradient tracking's
// corrections do not add up rounding at their fixed point. acc (nv * n floats) gets the change each
// v_k[i] was given, before that sum's rounding.
enum { GOSSIP_DIFF_MAX = 4 };
int gossip_mix_diff(AlgEnv *env, int kind, long round, float *const *v, int nv, float *acc, Err *e);
// Encode v once into the send buffer for push_send_encoded (after a 12-byte prefix). With residual,
// error feedback: the encoded q = C(v + residual) and residual becomes v + residual - q. q (dense)
// goes to q_out when not NULL. Returns the encoded length, or -1 and e.
long push_encode(AlgEnv *env, const Codec *c, const float *v, float *residual, long round, float *q_out, Err *e);
// Send what push_encode left in the buffer, with this receiver's mass and scale.
int push_send_encoded(AlgEnv *env, int to, int kind, long round, const Codec *c, long len, double mass, float scale,
                      Err *e);
// params = x / u
void debias(float *params, const float *x, double u, size_t n);

// Sparse-Push's update (alg_sparse_push.c), which SC-Sparse-Push shares.
int sparse_push_init(Alg *a, Err *e);
int sparse_push_step(Alg *a, long round, float lr, Err *e);
int sparse_push_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e);
void sparse_push_free(Alg *a);

#endif
