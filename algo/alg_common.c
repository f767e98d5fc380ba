// Helpers shared by the algorithms: push-sum messages (mass + scaled, encoded vector), gossip
// mixing with Metropolis weights, and the registry that maps names to implementations.
#include "alg.h"
#include "bytes.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define PUSH_PREFIX 16

static uint64_t codec_seed(const AlgEnv *env, int sender, long round) {
    return env->seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)sender << 40) ^ (uint64_t)round;
}

static int buf_fit(AlgEnv *env, size_t need) {
    if (need <= env->buf_cap) return 0;
    free(env->buf);
    env->buf = xmalloc(need);
    env->buf_cap = need;
    return 0;
}

static void push_prefix(uint8_t *b, double mass, float scale, float weight) {
    put_f64(b, mass);
    put_f32(b + 8, scale);
    put_f32(b + 12, weight);
}

int push_send(AlgEnv *env, int to, int kind, long round, const Codec *c, const float *v, double mass,
              float scale, Err *e) {
    size_t n = env->n_params;
    const uint8_t *raw = codec_dense_view(c, v, n);
    if (raw) {   // dense: v's own bytes leave from where they lie, with no encoded copy
        uint8_t prefix[PUSH_PREFIX];
        push_prefix(prefix, mass, scale, scale);
        struct iovec parts[2] = {{prefix, PUSH_PREFIX}, {(void *)raw, 4 * n}};
        net_count_authors(env->net, to, codec_authors_bytes(c, n, env->spans, env->nt));
        return net_sendv(env->net, to, kind, (uint64_t)round, c->ops->id, parts, 2, e);
    }
    size_t cap = PUSH_PREFIX + c->ops->bound(c, n, env->nt);
    uint8_t *buf = net_alloc(cap);   // encoded straight into the frame that leaves
    push_prefix(buf, mass, scale, scale);
    long len = c->ops->encode(c, v, n, env->spans, env->nt, codec_seed(env, env->id, round), buf + PUSH_PREFIX,
                              cap - PUSH_PREFIX, NULL);
    if (len < 0) { err_set(e, "agent %d: %s encoding failed", env->id, c->ops->name); net_alloc_free(buf); return -1; }
    net_count_authors(env->net, to, codec_authors_bytes(c, n, env->spans, env->nt));
    return net_send_owned(env->net, to, kind, (uint64_t)round, c->ops->id, buf, (uint32_t)(PUSH_PREFIX + len), e);
}

long push_encode(AlgEnv *env, const Codec *c, const float *v, float *residual, long round, float *q_out, Err *e) {
    size_t n = env->n_params;
    buf_fit(env, PUSH_PREFIX + c->ops->bound(c, n, env->nt));
    uint64_t seed = codec_seed(env, env->id, round);
    long len = residual ? codec_encode_ef(c, v, residual, n, env->spans, env->nt, seed, env->buf + PUSH_PREFIX,
                                          env->buf_cap - PUSH_PREFIX, q_out)
                        : c->ops->encode(c, v, n, env->spans, env->nt, seed, env->buf + PUSH_PREFIX,
                                         env->buf_cap - PUSH_PREFIX, q_out);
    if (len < 0) err_set(e, "agent %d: %s encoding failed", env->id, c->ops->name);
    return len;
}

int push_send_encoded(AlgEnv *env, int to, int kind, long round, const Codec *c, long len, double mass, float scale,
                      Err *e) {
    return push_send_encoded_w(env, to, kind, round, c, len, mass, scale, scale, e);
}

int push_send_encoded_w(AlgEnv *env, int to, int kind, long round, const Codec *c, long len, double mass, float scale,
                        float weight, Err *e) {
    push_prefix(env->buf, mass, scale, weight);
    net_count_authors(env->net, to, codec_authors_bytes(c, env->n_params, env->spans, env->nt));
    return net_send(env->net, to, kind, (uint64_t)round, c->ops->id, env->buf, (uint32_t)(PUSH_PREFIX + len), e);
}

int push_recv(AlgEnv *env, int from, int kind, long round, float *x, double *u, Err *e) {
    return push_recv_w(env, from, kind, round, x, u, NULL, e);
}


int push_recv_w(AlgEnv *env, int from, int kind, long round, float *x, double *u, float *weight, Err *e) {
    int missing = 0;
    Msg *m = net_wait(env->net, from, kind, (uint64_t)round, env->timeout_s, &missing, e);
    if (!m) {
        if (!missing) return -1;
        env->missing++;
        return 0;
    }
    return push_apply(env, m, x, u, weight, e);
}

int push_drain_late(AlgEnv *env, int from, int kind, long round, float *x, double *u, float *weight, Err *e) {
    int count = 0;
    Msg *m;
    while ((m = net_take_late(env->net, from, kind, (uint64_t)round))) {
        if (push_apply(env, m, x, u, weight, e) < 0) return -1;
        count++;
    }
    return count;
}

// Decode a push into x and *u, then release it. 1, or -1 and e on a malformed payload.
int push_apply(AlgEnv *env, Msg *m, float *x, double *u, float *weight, Err *e) {
    int from = m->from;
    long round = (long)m->round;
    int rc = 1;
    const Codec *c = codec_for_id((CodecId)m->codec);
    if (m->len < PUSH_PREFIX || !c) {
        err_set(e, "agent %d: malformed push from agent %d (round %ld: %u bytes, codec %u)", env->id, from, round,
                m->len, m->codec);
        rc = -1;
    } else {
        double mass = get_f64(m->payload);
        float scale = get_f32(m->payload + 8);
        if (weight) *weight = get_f32(m->payload + 12);
        Err de = {{0}};
        if (c->ops->decode(c, m->payload + PUSH_PREFIX, m->len - PUSH_PREFIX, env->n_params, env->spans, env->nt,
                           codec_seed(env, from, round), scale, x, &de)) {
            err_set(e, "agent %d: bad payload from agent %d (round %ld): %s", env->id, from, round, de.msg);
            rc = -1;
        } else {
            *u += mass;
        }
    }
    net_release(env->net, m);
    return rc;
}

int push_gather(AlgEnv *env, int kind, long round, PushBatch *b, Err *e) {
    Graph *g = env->g;
    b->n = 0;
    b->cap = g->in_start[env->id + 1] - g->in_start[env->id] + 4;
    b->m = xmalloc(sizeof *b->m * (size_t)b->cap);
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++) {
        int missing = 0;
        Msg *m = net_wait(env->net, g->in[k], kind, (uint64_t)round, env->timeout_s, &missing, e);
        if (m) b->m[b->n++] = m;
        else if (missing) env->missing++;
        else return -1;
    }
    const int late_kinds[2] = {KIND_PUSH, KIND_CONSENSUS};
    for (int t = 0; t < 2; t++)
        for (Msg *m; (m = net_take_late(env->net, -1, late_kinds[t], (uint64_t)round));) {
            if (b->n == b->cap) b->m = realloc(b->m, sizeof *b->m * (size_t)(b->cap *= 2));
            if (!b->m) { fprintf(stderr, "meshtrain: out of memory\n"); abort(); }
            b->m[b->n++] = m;
        }
    return 0;
}

double push_batch_mass(const PushBatch *b, double u) {
    for (int i = 0; i < b->n; i++)
        if (b->m[i]->len >= PUSH_PREFIX) u += get_f64(b->m[i]->payload);
    return u;
}

void push_batch_free(AlgEnv *env, PushBatch *b) {
    for (int i = 0; i < b->n; i++) net_release(env->net, b->m[i]);
    free(b->m);
    b->m = NULL;
    b->n = b->cap = 0;
}

// Dense pushes in one pass over x per message (see push_batch_mix).
static int push_mix_dense(AlgEnv *env, PushBatch *b, float keep, float *x, double *u, float *z, Err *e) {
    size_t n = env->n_params;
    *u = push_batch_mass(b, *u);
    float inv = (float)(1.0 / *u);
    for (int i = 0; i < b->n; i++) {
        const Msg *m = b->m[i];
        Err de = {{0}};
        if (codec_dense_mix(m->payload + PUSH_PREFIX, m->len - PUSH_PREFIX, n, i == 0 ? keep : 1.0f,
                            get_f32(m->payload + 8), x, inv, i == b->n - 1 ? z : NULL, &de)) {
            err_set(e, "agent %d: bad payload from agent %d (round %llu): %s", env->id, m->from,
                    (unsigned long long)m->round, de.msg);
            return -1;
        }
    }
    return 0;
}

int push_batch_mix(AlgEnv *env, PushBatch *b, float keep, float *x, double *u, float *z, Err *e) {
    int rc = 0, dense = 1;
    for (int i = 0; i < b->n; i++) dense &= b->m[i]->codec == CODEC_DENSE && b->m[i]->len >= PUSH_PREFIX;
    if (dense && b->n > 0) rc = push_mix_dense(env, b, keep, x, u, z, e);
    else {   // no message, or one the fused loop does not take (push_apply says what is wrong)
        size_t n = env->n_params;
        for (size_t i = 0; i < n; i++) x[i] *= keep;
        for (int i = 0; i < b->n && !rc; i++) {
            rc = push_apply(env, b->m[i], x, u, NULL, e) < 0 ? -1 : 0;
            b->m[i] = NULL;
        }
        if (!rc && z) debias(z, x, *u, n);
    }
    push_batch_free(env, b);
    return rc;
}

// out = (ws v + acc) inv with acc = 0 + s_0 m_0 + s_1 m_1 + ... in the order of msgs, in blocks of
// GOSSIP_BLOCK floats so that acc stays in registers and L1: the same floats as accumulating each message
// over the whole vector and then mixing, in one pass over v, out and the payloads. out may alias v.
enum { GOSSIP_BLOCK = 512 };
void gossip_mix_dense(const float *v, float *out, size_t n, float ws, float inv, const uint8_t *const *payload,
                      const float *scale, int k) {
    float acc[GOSSIP_BLOCK];
    for (size_t b0 = 0; b0 < n; b0 += GOSSIP_BLOCK) {
        size_t len = n - b0 < GOSSIP_BLOCK ? n - b0 : GOSSIP_BLOCK;
        for (size_t i = 0; i < len; i++) acc[i] = 0.0f;
        for (int j = 0; j < k; j++) {
            const uint8_t *p = payload[j] + 4 * b0;
            float s = scale[j];
            for (size_t i = 0; i < len; i++) acc[i] += s * get_f32(p + 4 * i);
        }
        for (size_t i = 0; i < len; i++) out[b0 + i] = (ws * v[b0 + i] + acc[i]) * inv;
    }
}

// Whether m is a well-formed dense push of n floats (gossip_mix's fused pass takes only those).
static int push_is_dense(const Msg *m, size_t n) {
    return m->codec == CODEC_DENSE && m->len >= PUSH_PREFIX && (size_t)(m->len - PUSH_PREFIX) == 4 * n;
}

int gossip_mix(AlgEnv *env, int kind, long round, const float *v, float *out, Err *e) {
    Graph *g = env->g;
    size_t n = env->n_params;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    // Metropolis weights are symmetric, so the sender scales by w_ij and the receiver only adds.
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++) {
        int j = g->out[k];
        if (push_send(env, j, kind, round, dense, v, mix_gossip(g, env->id, j), (float)mix_gossip(g, env->id, j), e))
            return -1;
    }
    // Every in-neighbour's message first (in order), then one pass over the model.
    int lo = g->in_start[env->id], deg = g->in_start[env->id + 1] - lo, got = 0, all_dense = 1, rc = 0;
    Msg **msg = xmalloc(sizeof *msg * (size_t)(deg ? deg : 1));
    for (int k = 0; k < deg; k++) {
        int missing = 0;
        Msg *m = net_wait(env->net, g->in[lo + k], kind, (uint64_t)round, env->timeout_s, &missing, e);
        if (!m && !missing) { rc = -1; break; }
        if (!m) { env->missing++; continue; }
        msg[got++] = m;
        all_dense &= push_is_dense(m, n);
    }
    double wsum = mix_gossip_self(g, env->id);
    float ws = (float)wsum;
    if (!rc && all_dense) {
        const uint8_t **payload = xmalloc(sizeof *payload * (size_t)(got ? got : 1));
        float *scale = xmalloc(sizeof *scale * (size_t)(got ? got : 1));
        for (int k = 0; k < got; k++) {
            wsum += get_f64(msg[k]->payload);
            scale[k] = get_f32(msg[k]->payload + 8);
            payload[k] = msg[k]->payload + PUSH_PREFIX;
        }
        // A missing neighbour's weight is left out and the rest renormalized (the gossip rule of RelaySGD's code).
        gossip_mix_dense(v, out, n, ws, (float)(1.0 / wsum), payload, scale, got);
        free(payload);
        free(scale);
    } else if (!rc) {   // a message the fused pass does not take: push_apply decodes it, or says what is wrong
        float *acc = xfloats(n);
        for (int k = 0; k < got && !rc; k++) {
            rc = push_apply(env, msg[k], acc, &wsum, NULL, e) < 0 ? -1 : 0;
            msg[k] = NULL;
        }
        float inv = (float)(1.0 / wsum);
        if (!rc)
            for (size_t i = 0; i < n; i++) out[i] = (ws * v[i] + acc[i]) * inv;
        free(acc);
    }
    for (int k = 0; k < got; k++) net_release(env->net, msg[k]);
    free(msg);
    return rc;
}

// One raw message [v_0 | ... | v_{nv-1}] (nv * n fp32, little-endian) to neighbour `to`.
static int mix_diff_send(AlgEnv *env, int to, int kind, long round, float *const *v, int nv, Err *e) {
    size_t n = env->n_params;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    struct iovec parts[GOSSIP_DIFF_MAX];
    int views = 1;
    net_count_authors(env->net, to, 4 * ((uint64_t)n * (uint64_t)nv + 1));
    for (int k = 0; k < nv; k++) {
        const uint8_t *raw = codec_dense_view(dense, v[k], n);
        parts[k] = (struct iovec){(void *)raw, 4 * n};
        views &= raw != NULL;
    }
    if (views) return net_sendv(env->net, to, kind, (uint64_t)round, CODEC_DENSE, parts, nv, e);
    uint8_t *buf = net_alloc(4 * n * (size_t)nv);   // a big-endian host: encode
    for (int k = 0; k < nv; k++)
        for (size_t i = 0; i < n; i++) put_f32(buf + 4 * (n * (size_t)k + i), v[k][i]);
    return net_send_owned(env->net, to, kind, (uint64_t)round, CODEC_DENSE, buf, (uint32_t)(4 * n * (size_t)nv), e);
}

// acc[k] += w (v_j[k] - v[k]) from `from`'s message. 1 if it came, 0 if missing, -1 and e.
static int mix_diff_recv(AlgEnv *env, int from, int kind, long round, float *const *v, int nv, float *acc, float w,
                         Err *e) {
    size_t n = env->n_params;
    int missing = 0;
    Msg *m = net_wait(env->net, from, kind, (uint64_t)round, env->timeout_s, &missing, e);
    if (!m) {
        if (!missing) return -1;
        env->missing++;
        return 0;
    }
    int bad = m->len != 4 * n * (size_t)nv || m->codec != CODEC_DENSE;
    if (bad)
        err_set(e, "agent %d: malformed message from agent %d (round %ld: %u bytes, want %zu)", env->id, from, round,
                m->len, 4 * n * (size_t)nv);
    for (int k = 0; k < nv && !bad; k++)
        for (size_t i = 0; i < n; i++) acc[n * k + i] += w * (get_f32(m->payload + 4 * (n * k + i)) - v[k][i]);
    net_release(env->net, m);
    return bad ? -1 : 1;
}

int gossip_mix_diff(AlgEnv *env, int kind, long round, float *const *v, int nv, float *acc, Err *e) {
    Graph *g = env->g;
    size_t n = env->n_params;
    if (nv < 1 || nv > GOSSIP_DIFF_MAX) { err_set(e, "gossip_mix_diff: %d vectors", nv); return -1; }
    for (int k = g->out_start[env->id]; k < g->out_start[env->id + 1]; k++)
        if (mix_diff_send(env, g->out[k], kind, round, v, nv, e)) return -1;
    memset(acc, 0, n * (size_t)nv * sizeof *acc);
    float all = 0, got = 0;
    for (int k = g->in_start[env->id]; k < g->in_start[env->id + 1]; k++) {
        float w = (float)mix_gossip(g, env->id, g->in[k]);
        int rc = mix_diff_recv(env, g->in[k], kind, round, v, nv, acc, w, e);
        if (rc < 0) return -1;
        all += w;
        got += rc ? w : 0.0f;
    }
    // Renormalized: (w_ii v + sum_arrived w_ij v_j) / (w_ii + sum_arrived w_ij), with w_ii = 1 - all.
    float inv = got == all ? 1.0f : 1.0f / (1.0f - all + got);
    for (int k = 0; k < nv; k++)
        for (size_t i = 0; i < n; i++) {
            acc[n * k + i] *= inv;
            v[k][i] += acc[n * k + i];
        }
    return 0;
}

void debias(float *params, const float *x, double u, size_t n) {
    float inv = (float)(1.0 / u);
    for (size_t i = 0; i < n; i++) params[i] = x[i] * inv;
}

// The registry: adding an algorithm is its file plus one line here (docs/adding-an-algorithm.md).
extern const AlgOps alg_allreduce_ops, alg_dpsgd_ops, alg_sgp_ops, alg_choco_ops, alg_choco_gossip_ops,
    alg_deepsqueeze_ops, alg_sparse_push_ops, alg_sc_sparse_push_ops, alg_local_ops, alg_toy_ops;
extern const AlgOps alg_relaysgd_ops, alg_relaysum_grad_ops;
extern const AlgOps alg_d2_ops, alg_gradient_tracking_ops;
extern const AlgOps alg_ccl_ops;
extern const AlgOps alg_ngm_ops;
extern const AlgOps alg_gut_ops, alg_qg_gut_ops;

static const AlgOps *const ALGS[] = {
    &alg_allreduce_ops,
    &alg_dpsgd_ops,
    &alg_sgp_ops,
    &alg_choco_ops,
    &alg_choco_gossip_ops,
    &alg_deepsqueeze_ops,
    &alg_sparse_push_ops,
    &alg_sc_sparse_push_ops,
    &alg_local_ops,
    &alg_toy_ops,
    &alg_relaysgd_ops,
    &alg_relaysum_grad_ops,
    &alg_d2_ops,
    &alg_gradient_tracking_ops,
    &alg_ccl_ops,
    &alg_ngm_ops,
    &alg_gut_ops,
    &alg_qg_gut_ops,
};
#define N_ALGS ((int)(sizeof ALGS / sizeof ALGS[0]))

const AlgOps *alg_at(int i) { return i >= 0 && i < N_ALGS ? ALGS[i] : NULL; }

const AlgOps *alg_find(const char *name) {
    for (int i = 0; i < N_ALGS; i++)
        if (!strcmp(ALGS[i]->name, name)) return ALGS[i];
    return NULL;
}

void alg_names_where(int (*pred)(const AlgOps *ops), char *out, size_t n) {
    out[0] = 0;
    for (int i = 0; i < N_ALGS; i++) {
        if (pred && !pred(ALGS[i])) continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", l ? ", " : "", ALGS[i]->name);
    }
}

const char *alg_names(void) {
    static _Thread_local char names[512];   // per thread: agents that are threads (tests) load scenarios at once
    if (!names[0]) alg_names_where(NULL, names, sizeof names);
    return names;
}

Alg *alg_new(const char *name, const AlgEnv *env, Err *e) {
    const AlgOps *ops = alg_find(name);
    if (!ops) {
        err_set(e, "unknown algorithm '%s' (expected one of: %s)", name, alg_names());
        return NULL;
    }
    Alg *a = xcalloc(1, sizeof *a);
    a->ops = ops;
    a->env = *env;
    if (a->ops->init(a, e)) { free(a); return NULL; }
    return a;
}

void alg_free(Alg *a) {
    if (!a) return;
    if (a->ops->free) a->ops->free(a);
    free(a->env.buf);
    free(a);
}

// Appends to a fixed buffer; truncates silently (labels only).
static void label_cat(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void label_cat(char *out, size_t n, const char *fmt, ...) {
    size_t len = strlen(out);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, n - len, fmt, ap);
    va_end(ap);
}

void alg_label_name(const AlgConfig *cfg, char *out, size_t n) { snprintf(out, n, "%s", cfg->name); }

void alg_label_codec(const AlgConfig *cfg, char *out, size_t n) {
    const char *kind = cfg->codec;
    alg_label_name(cfg, out, n);
    if (!strcmp(kind, "topk")) label_cat(out, n, " top-k %.3g%%", 100 * cfg->keep);
    else if (!strcmp(kind, "topk8")) label_cat(out, n, " top-k %.3g%% 8-bit", 100 * cfg->keep);
    else if (!strcmp(kind, "randk")) label_cat(out, n, " rand-k %.3g%%", 100 * cfg->keep);
    else if (!strcmp(kind, "q8")) label_cat(out, n, " 8-bit");
    else if (strcmp(kind, "dense")) label_cat(out, n, " %s", kind);
}

// The step only matters to a reader when it is not the plain average's 1, or with a codec.
void alg_label_mixing(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_codec(cfg, out, n);
    if (strcmp(cfg->codec, "dense") || fabs(cfg->gamma - 1) > 1e-6) label_cat(out, n, ", γ %.3g", cfg->gamma);
}

void alg_label(const AlgConfig *cfg, char *out, size_t n) {
    const AlgOps *ops = alg_find(cfg->name);
    if (!ops) alg_label_name(cfg, out, n);
    else if (ops->label) ops->label(cfg, out, n);
    else alg_label_mixing(cfg, out, n);
}
