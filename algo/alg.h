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
} AlgEnv;

typedef struct Alg Alg;
typedef struct {
    const char *name;
    const char *on_missing;   // what the algorithm does when an in-neighbour's message is missing
    int keeps_late;           // 1: messages that miss their round are kept and added later (push-sum)
    int (*init)(Alg *a, Err *e);
    // After backward: local update with learning rate lr, exchange with peers, mix; leave the next
    // query point in m->params.
    int (*step)(Alg *a, long round, float lr, Err *e);
    // One averaging round without a gradient (final consensus, skew compensation), with codec c and
    // consensus step gamma. Leaves the de-biased model in m->params.
    int (*consensus)(Alg *a, long round, const Codec *c, double gamma, Err *e);
    void (*free)(Alg *a);
} AlgOps;

struct Alg {
    const AlgOps *ops;
    AlgEnv env;
    void *st;                 // the algorithm's own state
};

// Every algorithm's name, comma-separated, in the registry's order.
const char *alg_names(void);
// The algorithm `name` on env (which it takes over). NULL and e for an unknown name.
Alg *alg_new(const char *name, const AlgEnv *env, Err *e);
void alg_free(Alg *a);

// SGP with overlap still holds the last round's incoming shares after training: this adds them.
int sgp_finish(Alg *a, Err *e);

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
// Encode v once into the send buffer for push_send_encoded (after a 12-byte prefix). With residual,
// error feedback: the encoded q = C(v + residual) and residual becomes v + residual - q. q (dense)
// goes to q_out when not NULL. Returns the encoded length, or -1 and e.
long push_encode(AlgEnv *env, const Codec *c, const float *v, float *residual, long round, float *q_out, Err *e);
// Send what push_encode left in the buffer, with this receiver's mass and scale.
int push_send_encoded(AlgEnv *env, int to, int kind, long round, const Codec *c, long len, double mass, float scale, Err *e);
// params = x / u
void debias(float *params, const float *x, double u, size_t n);

// Sparse-Push's update (alg_sparse_push.c), which SC-Sparse-Push shares.
int sparse_push_init(Alg *a, Err *e);
int sparse_push_step(Alg *a, long round, float lr, Err *e);
int sparse_push_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e);
void sparse_push_free(Alg *a);

#endif
