// CCL, Cross-feature Contrastive Loss (Aketi and Roy, WACV 2024), on QG-DSGDm-N as its authors run it.
// Each step of agent i on a static undirected graph (W: Metropolis weights; on the regular graphs of the
// paper these are the reference's uniform 1/(d+1)):
//   on_batch:  f_i^(j) (B, F) = the features of i's batch at neighbour j's last model (features_at);
//              with lambda_d > 0, send j the per-class sums and counts of f_i^(j) (kind CCL_STATS) and
//              take j's (its batch at i's model): a message round of its own, as the reference's
//              transfer_additional, since the sums need j's model first.
//   features:  L_m = sum_j MSE(f_i, f_i^(j)); P[c] = (sum of f_i over class c (detached) + the received
//              sums of class c) / (the counts); L_d = MSE(f_i, P[y]); the loss gains lambda_m L_m +
//              lambda_d L_d, and d/df = (2 / (B F)) (lambda_m sum_j (f_i - f_i^(j)) + lambda_d (f_i - P[y])).
//   step:      m = beta m + g + wd x; x -= lr (g + wd x + beta m) (Nesterov; else lr m): optim.c's sgd_step;
//              then gossip: send x (kind CCL_MODEL), keep each neighbour's, G = sum_j w_ij (x_j - x),
//              x += gamma G, m -= gamma G / lr ("QG-DSGDm-N": the gossip's pull goes into the momentum).
// The reference gossips first and takes the gradient at the mixed model; this is the same sequence
// cut half a step later (all models start identical, so its first gossip is a no-op): the next
// round's gradient is at x after the mix, and lr in the correction is the one of the step before it.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"
#include "bytes.h"

enum { CCL_MODEL = KIND_USER, CCL_STATS = KIND_USER + 1, CCL_CLASSES = 256 };   // labels are bytes

typedef struct {
    int d;                    // neighbours: the static graph's in-list (symmetric)
    int *id;                  // (d) their agent ids
    float **nbr;              // (d) x (n_params) each neighbour's last model (the initial model before any)
    float *tmp, *acc;         // (n_params) a model being received; the gossip's sum_j w_ij (x_j - x)
    float *xf;                // (d, max_batch, F) the batch's features at each neighbour's model
    int batch;                // rows of xf this round (0: none)
    uint8_t *y;               // (max_batch) its labels
    float *psum, *osum;       // (CCL_CLASSES, F) received and own per-class feature sums
    float pcnt[CCL_CLASSES], ocnt[CCL_CLASSES];
} Ccl;

static int ccl_active(const AlgConfig *cfg) { return cfg->ccl_lambda_m > 0 || cfg->ccl_lambda_d > 0; }

static int ccl_init(Alg *a, Err *e) {
    AlgEnv *env = &a->env;
    int active = ccl_active(env->cfg);
    if (active && (!env->model.features_at || env->model.feature_dim < 1)) {
        err_set(e, "ccl: lambda_m or lambda_d > 0 needs the model's penultimate features, which are not available");
        return -1;
    }
    topo_round(&env->topo, 0, env->g);   // static: the neighbours of every round
    const Graph *g = env->g;
    Ccl *c = xcalloc(1, sizeof *c);
    c->d = graph_in_degree(g, env->id);
    c->id = xcalloc((size_t)c->d + 1, sizeof *c->id);
    c->nbr = xcalloc((size_t)c->d + 1, sizeof *c->nbr);
    for (int k = 0; k < c->d; k++) {
        c->id[k] = g->in[g->in_start[env->id] + k];
        c->nbr[k] = xfloats(env->n_params);
        memcpy(c->nbr[k], env->params, env->n_params * sizeof(float));   // every agent starts from it
    }
    c->tmp = xfloats(env->n_params);
    c->acc = xfloats(env->n_params);
    if (active) {
        size_t F = (size_t)env->model.feature_dim;
        c->xf = xfloats((size_t)(c->d + 1) * env->model.max_batch * F);
        c->y = xcalloc((size_t)env->model.max_batch + 1, 1);
        c->psum = xfloats(CCL_CLASSES * F);
        c->osum = xfloats(CCL_CLASSES * F);
    }
    a->st = c;
    return 0;
}

static void ccl_free(Alg *a) {
    Ccl *c = a->st;
    for (int k = 0; k < c->d; k++) free(c->nbr[k]);
    free(c->nbr); free(c->id); free(c->tmp); free(c->acc); free(c->xf); free(c->psum); free(c->osum); free(c->y);
    free(c);
}

// Gossip in difference form: send x, keep each neighbour's model that arrives, x += gamma G with
// G = sum_arrived w_ij (x_j - x) renormalized as dpsgd does (by w_ii + the weight that arrived); with
// qg, m -= gamma G / lr. A missing model leaves the neighbour's last one in place.
static int ccl_gossip(Alg *a, int kind, long round, double gamma, int qg, float lr, Err *e) {
    AlgEnv *env = &a->env;
    Ccl *c = a->st;
    const Graph *g = env->g;
    size_t n = env->n_params;
    float *x = env->params;
    const Codec *dense = codec_for_id(CODEC_DENSE);
    for (int k = 0; k < c->d; k++)
        if (push_send(env, c->id[k], kind, round, dense, x, 1.0, 1.0f, e)) return -1;
    memset(c->acc, 0, n * sizeof *c->acc);
    float all = 0, got = 0;
    for (int k = 0; k < c->d; k++) {
        double mass = 0;
        memset(c->tmp, 0, n * sizeof *c->tmp);
        int rc = push_recv(env, c->id[k], kind, round, c->tmp, &mass, e);   // tmp = 1 * x_j
        if (rc < 0) return -1;
        float w = (float)mix_gossip(g, env->id, c->id[k]);
        all += w;
        if (!rc) continue;
        got += w;
        float *t = c->nbr[k];
        c->nbr[k] = c->tmp, c->tmp = t;
        for (size_t i = 0; i < n; i++) c->acc[i] += w * (c->nbr[k][i] - x[i]);
    }
    float gm = (float)gamma * (got == all ? 1.0f : 1.0f / (1.0f - all + got));
    float inv_lr = 1.0f / (lr > 1e-8f ? lr : 1e-8f);   // 1e-8 floors lr as sgd_qg_track does
    float *m = env->opt.buf;
    for (size_t i = 0; i < n; i++) {
        float r = gm * c->acc[i];
        x[i] += r;
        if (qg) m[i] -= r * inv_lr;
    }
    return 0;
}

static int ccl_step(Alg *a, long round, float lr, Err *e) {
    AlgEnv *env = &a->env;
    sgd_step(&env->opt, env->params, env->grads, lr);
    topo_round(&env->topo, round, env->g);
    return ccl_gossip(a, CCL_MODEL, round, env->cfg->gamma, 1, lr, e);
}

static int ccl_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)c;
    topo_round(&a->env.topo, round, a->env.g);
    return ccl_gossip(a, KIND_CONSENSUS, round, gamma, 0, 0.0f, e);
}

// Per-class sums (CCL_CLASSES, F) and counts of feat (batch, F) into sum and cnt (zeroed first).
static void class_sums(const float *feat, const uint8_t *y, int batch, size_t F, float *sum, float *cnt) {
    memset(sum, 0, CCL_CLASSES * F * sizeof *sum);
    memset(cnt, 0, CCL_CLASSES * sizeof *cnt);
    for (int b = 0; b < batch; b++) {
        cnt[y[b]] += 1.0f;
        for (size_t f = 0; f < F; f++) sum[(size_t)y[b] * F + f] += feat[(size_t)b * F + f];
    }
}

// Stats message: [u32 classes present] then per class [u32 class][f32 count][F f32 sums]: the classes
// of the batch only (the reference sends all C, C (F + 1) floats; with skewed data a batch has few).
static int stats_send(AlgEnv *env, int to, long round, const float *sum, const float *cnt, Err *e) {
    size_t F = (size_t)env->model.feature_dim, row = 8 + 4 * F;
    uint32_t present = 0;
    for (int q = 0; q < CCL_CLASSES; q++) present += cnt[q] > 0;
    uint8_t *buf = net_alloc(4 + present * row), *p = buf + 4;
    put_u32(buf, present);
    for (int q = 0; q < CCL_CLASSES; q++) {
        if (cnt[q] <= 0) continue;
        put_u32(p, (uint32_t)q);
        put_f32(p + 4, cnt[q]);
        for (size_t f = 0; f < F; f++) put_f32(p + 8 + 4 * f, sum[(size_t)q * F + f]);
        p += row;
    }
    return net_send_owned(env->net, to, CCL_STATS, (uint64_t)round, CODEC_DENSE, buf, (uint32_t)(4 + present * row),
                          e);
}

// Add from's stats of `round` into psum, pcnt. 1 if it came, 0 if missing, -1 and e if malformed.
static int stats_recv(AlgEnv *env, Ccl *c, int from, long round, Err *e) {
    size_t F = (size_t)env->model.feature_dim, row = 8 + 4 * F;
    int missing = 0;
    Msg *m = net_wait(env->net, from, CCL_STATS, (uint64_t)round, env->timeout_s, &missing, e);
    if (!m) {
        if (!missing) return -1;
        env->missing++;
        return 0;
    }
    uint32_t k = m->len >= 4 ? get_u32(m->payload) : 0;
    int bad = m->len < 4 || k > CCL_CLASSES || m->len != 4 + (size_t)k * row;
    for (uint32_t q = 0; q < k && !bad; q++) {
        const uint8_t *p = m->payload + 4 + q * row;
        uint32_t cls = get_u32(p);
        bad = cls >= CCL_CLASSES;
        for (size_t f = 0; f < F && !bad; f++) c->psum[cls * F + f] += get_f32(p + 8 + 4 * f);
        if (!bad) c->pcnt[cls] += get_f32(p + 4);
    }
    if (bad)
        err_set(e, "agent %d: malformed class statistics from agent %d (round %ld: %u bytes)", env->id, from, round,
                m->len);
    net_release(env->net, m);
    return bad ? -1 : 1;
}

// Before the forward pass: the batch's features at each neighbour's model, then the class statistics.
static int ccl_on_batch(Alg *a, long round, Err *e) {
    AlgEnv *env = &a->env;
    Ccl *c = a->st;
    c->batch = 0;
    if (!ccl_active(env->cfg)) return 0;
    size_t F = (size_t)env->model.feature_dim, cells = (size_t)env->model.max_batch * F;
    int b = 0;
    for (int k = 0; k < c->d; k++)
        if (env->model.features_at(env->model.ctx, c->nbr[k], c->xf + k * cells, k ? NULL : c->y, &b, e)) return -1;
    c->batch = c->d ? b : 0;
    memset(c->psum, 0, CCL_CLASSES * F * sizeof *c->psum);
    memset(c->pcnt, 0, sizeof c->pcnt);
    if (env->cfg->ccl_lambda_d <= 0 || !c->d) return 0;
    for (int k = 0; k < c->d; k++) {
        class_sums(c->xf + k * cells, c->y, b, F, c->osum, c->ocnt);   // osum: scratch here
        if (stats_send(env, c->id[k], round, c->osum, c->ocnt, e)) return -1;
    }
    for (int k = 0; k < c->d; k++)
        if (stats_recv(env, c, c->id[k], round, e) < 0) return -1;
    return 0;
}

// lambda_m sum_j MSE(f, f^(j)) + lambda_d MSE(f, P[y]), MSE the mean over the B F cells; P detached.
static int ccl_feature_loss(Alg *a, const float *feat, const uint8_t *y, int batch, int dim, float *dfeat,
                            double *loss, Err *e) {
    AlgEnv *env = &a->env;
    Ccl *c = a->st;
    size_t cells = (size_t)batch * dim, F = (size_t)dim, stride = (size_t)env->model.max_batch * F;
    memset(dfeat, 0, cells * sizeof *dfeat);
    *loss = 0;
    if (!ccl_active(env->cfg) || !c->batch) return 0;
    if (c->batch != batch || dim != env->model.feature_dim) {
        err_set(e, "ccl: features (%d, %d) but cross-features (%d, %d)", batch, dim, c->batch,
                env->model.feature_dim);
        return -1;
    }
    float wm = (float)env->cfg->ccl_lambda_m, wd = (float)env->cfg->ccl_lambda_d, scale = 2.0f / (float)cells;
    double lm = 0, ld = 0;
    for (int k = 0; wm > 0 && k < c->d; k++)
        for (size_t i = 0; i < cells; i++) {
            float diff = feat[i] - c->xf[k * stride + i];
            lm += (double)diff * diff;
            dfeat[i] += wm * scale * diff;
        }
    if (wd > 0) {
        class_sums(feat, y, batch, F, c->osum, c->ocnt);
        for (int b = 0; b < batch; b++) {
            size_t q = y[b];
            float cnt = c->ocnt[q] + c->pcnt[q];
            for (size_t f = 0; f < F; f++) {
                float diff = feat[b * F + f] - (c->osum[q * F + f] + c->psum[q * F + f]) / cnt;
                ld += (double)diff * diff;
                dfeat[b * F + f] += wd * scale * diff;
            }
        }
    }
    *loss = (wm * lm + wd * ld) / (double)cells;
    return 0;
}

static const AlgKey CCL_KEYS[] = {
    {.key = "lambda_m", .type = ALG_KEY_NUM, .lo = 0, .hi = 100, .def = 0.1,
     .offset = offsetof(AlgConfig, ccl_lambda_m),
     .what = "has a model-variant feature loss (lambda_m)"},
    {.key = "lambda_d", .type = ALG_KEY_NUM, .lo = 0, .hi = 100, .def = 0.1,
     .offset = offsetof(AlgConfig, ccl_lambda_d),
     .what = "has a data-variant feature loss (lambda_d)"},
    {.key = NULL},
};

static void ccl_label(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_mixing(cfg, out, n);
    size_t l = strlen(out);
    if (l < n) snprintf(out + l, n - l, ", λm %.3g, λd %.3g", cfg->ccl_lambda_m, cfg->ccl_lambda_d);
}

const AlgOps alg_ccl_ops = {
    .name = "ccl",
    .on_missing = "a missing model leaves that neighbour's last one for the cross-features and gossip renormalizes "
                  "as dpsgd; missing class statistics are left out of the prototypes",
    .keeps_late = 0,
    .needs = {.undirected = "sends class statistics back along the edge each model came by",
              .fixed = "keeps each neighbour's last model for its cross-features",
              .features = "contrasts the penultimate features of its batch"},
    .keys = CCL_KEYS,
    .init = ccl_init,
    .step = ccl_step,
    .consensus = ccl_consensus,
    .free = ccl_free,
    .on_batch = ccl_on_batch,
    .feature_loss = ccl_feature_loss,
    .label = ccl_label,
};
