// One agent of a decentralized run (see agent.h): set-up (data, partition, model, links), the round
// loop, evaluations, skew compensation and final consensus, metrics and reports to the runner.
#include "agent.h"
#include <jansson.h>
#include <errno.h>
#include <malloc.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "alg.h"
#include "auth.h"
#include "ctl.h"
#include "data.h"
#include "linkstat.h"
#include "partition.h"
#include "train.h"

typedef struct {
    const AgentArgs *args;
    Scenario s;
    Dataset train, test;
    Partition part;
    int *mine, n_mine;          // this agent's sample indices (a copy, reshuffled every epoch)
    Model *m;
    Alg *alg;
    FILE *log;
    Rng data_rng, drop_rng;
    double compute_s, t0, last_report, train_s, cpu_s;
    long csw_vol, csw_invol;    // context switches in the training rounds: blocked, and preempted
    long round, total_rounds, rounds_per_epoch;
    double loss_sum;
    long loss_n;
    int evals;                  // evaluations sent so far (their index)
    int log_errno;              // the first error writing the metrics file (0: none)
    FrameReader rd;
} Agent;

static int fail_report(Agent *a, Err *e) {
    json_t *o = json_pack("{s:s}", "error", e->msg);
    if (!o) o = json_pack("{s:s}", "error", "an error whose text is not valid UTF-8 (see the agent's stderr)");
    fprintf(stderr, "meshtrain agent %d: %s\n", a->args->id, e->msg);
    char *t = json_dumps(o, JSON_COMPACT);
    Err e2;
    ctl_send(a->args->ctl_fd, CTL_ERROR, 0, t, strlen(t), &e2);
    free(t);
    json_decref(o);
    return 1;
}

static int partition_make(Agent *a, Err *e) {
    Rng r = rng_derive(a->s.seed, 7);
    int n = a->s.limit_train > 0 && a->s.limit_train < a->train.n ? a->s.limit_train : a->train.n;
    int rc;
    if (!strcmp(a->s.partition.kind, "iid")) rc = partition_iid(&a->part, a->train.y, n, a->s.agents, &r, e);
    else if (!strcmp(a->s.partition.kind, "skew"))
        rc = partition_skew(&a->part, a->train.y, n, a->train.classes, a->s.agents, a->s.partition.skew, &r, e);
    else rc = partition_dirichlet(&a->part, a->train.y, n, a->train.classes, a->s.agents, a->s.partition.alpha, &r, e);
    if (rc) return -1;
    int id = a->args->id;
    a->n_mine = a->part.start[id + 1] - a->part.start[id];
    if (a->n_mine < 1) { err_set(e, "agent %d got no training samples", id); return -1; }
    a->mine = xmalloc(sizeof(int) * (size_t)a->n_mine);
    memcpy(a->mine, a->part.index + a->part.start[id], sizeof(int) * (size_t)a->n_mine);
    return 0;
}

// The keys this agent shares with each peer, from the start signal (hex strings; the runner sends them
// over the inherited control socket, never in argv or a file). NULL and e when they are malformed.
static uint8_t *keys_take(Agent *a, json_t *o, Err *e) {
    json_t *ks = json_object_get(o, "keys");
    if ((int)json_array_size(ks) != a->s.agents) {
        err_set(e, "the runner's start signal has no key per peer");
        return NULL;
    }
    uint8_t *keys = xcalloc((size_t)a->s.agents, AUTH_KEY_BYTES);
    for (int j = 0; j < a->s.agents; j++)
        if (j != a->args->id &&
            auth_key_from_hex(keys + (size_t)j * AUTH_KEY_BYTES, json_string_value(json_array_get(ks, (size_t)j)))) {
            err_set(e, "the runner's start signal has a malformed key for peer %d", j);
            free(keys);
            return NULL;
        }
    return keys;
}

// The connections refused while the links were set up, for the runner's log and summary.
static json_t *rejects_json(Net *net) {
    int listed, total;
    const NetReject *r = net_rejects(net, &listed, &total);
    json_t *list = json_array();
    for (int q = 0; q < listed; q++)
        json_array_append_new(
            list, json_pack("{s:s, s:i, s:s}", "from", r[q].from, "claimed", r[q].claimed, "why", r[q].why));
    return json_pack("{s:o, s:i}", "rejected", list, "rejected_total", total);
}

// READY with our port, then GO with everyone's address and our keys: the start barrier.
static int links_open(Agent *a, AlgEnv *env, Err *e) {
    env->net = net_new(a->args->id, a->s.agents, a->args->bind_ip, e);
    if (!env->net) return -1;
    char msg[64];
    snprintf(msg, sizeof msg, "{\"port\":%d}", net_port(env->net));
    if (ctl_send(a->args->ctl_fd, CTL_READY, 0, msg, strlen(msg), e)) return -1;
    int got = ctl_recv(a->args->ctl_fd, &a->rd, 600, e);
    if (got <= 0 || a->rd.h.kind != CTL_GO) { if (!got) err_set(e, "no start signal from the runner"); return -1; }
    json_error_t je;
    json_t *o = json_loadb((const char *)a->rd.payload, a->rd.h.payload_len, 0, &je);
    explicit_bzero(a->rd.payload, a->rd.h.payload_len);   // the keys need not outlive the handshake
    json_t *ips = o ? json_object_get(o, "ips") : NULL, *ports = o ? json_object_get(o, "ports") : NULL;
    if (!ips || !ports || (int)json_array_size(ips) != a->s.agents || (int)json_array_size(ports) != a->s.agents) {
        err_set(e, "malformed peer table from the runner");
        json_decref(o);
        return -1;
    }
    NetAuth auth = {a->s.net.auth, a->s.net.frame_mac, NULL};
    uint8_t *keys = auth.on ? keys_take(a, o, e) : NULL;
    if (auth.on && !keys) { json_decref(o); return -1; }
    auth.pair_keys = keys;
    char (*ip)[64] = xcalloc((size_t)a->s.agents, 64);
    int *port = xcalloc((size_t)a->s.agents, sizeof(int));
    for (int j = 0; j < a->s.agents; j++) {
        const char *v = json_string_value(json_array_get(ips, (size_t)j));
        str_copy(ip[j], 64, v ? v : "");
        port[j] = (int)json_integer_value(json_array_get(ports, (size_t)j));
    }
    json_decref(o);
    int rc = net_connect_all(env->net, ip, port, &auth, 30, e);
    if (keys) { explicit_bzero(keys, (size_t)a->s.agents * AUTH_KEY_BYTES); free(keys); }
    free(ip); free(port);
    json_t *rej = rejects_json(env->net);
    char *t = json_dumps(rej, JSON_COMPACT);
    json_decref(rej);
    if (!rc) rc = ctl_send(a->args->ctl_fd, CTL_CONNECTED, 0, t, strlen(t), e);
    else ctl_send(a->args->ctl_fd, CTL_REJECTED, 0, t, strlen(t), &(Err){{0}});   // the log keeps them on failure too
    free(t);
    net_set_drop(env->net, a->s.net.drop_prob, a->s.seed);
    return rc;
}

static void on_idle(void *ctx, int waiting_for);

// ---- What an algorithm may ask of the model (AlgModelFns): gradients and features at other points ----

typedef struct {
    Model *m;
    int head;                   // the linear head: the layer that writes the logits (-1: none)
    int b;                      // the current batch's size (0: no batch, outside a training round)
    int busy;                   // between the round's forward and backward: the activations are in use
    uint8_t *y;                 // its labels (m->batch)
    Rng rng;                    // the round's dropout stream as it was when the batch was set
    float *params, *grads, *state;   // what a call puts back
    long extra_samples;         // samples of grad_at's forward+backward passes (compute energy counts them)
} ModelFns;

static size_t head_width(const Model *m, int head) {
    const Slot *s = &m->slots[m->layers[head].in];
    return (size_t)s->c * s->h * s->w;
}

// Forward pass at x on the current batch, with everything it overwrites saved first (model_fns_restore).
static int model_fns_forward(ModelFns *f, const float *x, Err *e) {
    Model *m = f->m;
    if (f->busy) { err_set(e, "the model's functions cannot be called from feature_loss"); return -1; }
    if (f->b < 1) {
        err_set(e, "the model's functions need the round's batch (call them from step or on_batch)");
        return -1;
    }
    memcpy(f->params, m->params, m->n_params * sizeof(float));
    memcpy(f->grads, m->grads, m->n_params * sizeof(float));
    if (m->n_state) memcpy(f->state, m->state, m->n_state * sizeof(float));
    memmove(m->params, x, m->n_params * sizeof(float));   // x may be the parameters themselves
    Rng r = f->rng;   // a copy: the round's own dropout draws stay as they were
    model_forward(m, f->b, 1, &r);
    return 0;
}

static void model_fns_restore(ModelFns *f) {
    Model *m = f->m;
    memcpy(m->params, f->params, m->n_params * sizeof(float));
    memcpy(m->grads, f->grads, m->n_params * sizeof(float));
    if (m->n_state) memcpy(m->state, f->state, m->n_state * sizeof(float));
}

static int model_grad_at(void *ctx, const float *x, float *g, double *loss, Err *e) {
    ModelFns *f = ctx;
    if (model_fns_forward(f, x, e)) return -1;
    float l = model_loss(f->m, f->y, NULL);
    model_backward(f->m);
    f->extra_samples += f->b;
    memcpy(g, f->m->grads, f->m->n_params * sizeof(float));
    if (loss) *loss = l;
    model_fns_restore(f);
    return 0;
}

// The head's input slot is (c, B, h, w); features are (B, c*h*w) as the head flattens them.
static void features_copy(const Model *m, int head, float *feat) {
    const Slot *s = &m->slots[m->layers[head].in];
    int B = m->cur, hw = s->h * s->w;
    size_t dim = head_width(m, head);
    for (int c = 0; c < s->c; c++)
        for (int b = 0; b < B; b++)
            memcpy(feat + (size_t)b * dim + (size_t)c * hw, s->val + ((size_t)c * B + b) * hw,
                   (size_t)hw * sizeof(float));
}

static int model_features_at(void *ctx, const float *x, float *feat, uint8_t *labels, int *batch, Err *e) {
    ModelFns *f = ctx;
    if (f->head < 0) { err_set(e, "model %s has no linear head, so no penultimate features", f->m->name); return -1; }
    if (model_fns_forward(f, x, e)) return -1;
    features_copy(f->m, f->head, feat);
    if (labels) memcpy(labels, f->y, (size_t)f->b);
    *batch = f->b;
    model_fns_restore(f);
    return 0;
}

void agent_batch_set(AlgEnv *env, const uint8_t *y, int b, const Rng *drop_rng) {
    ModelFns *f = env->model.ctx;
    f->b = y ? b : 0;
    if (y) memcpy(f->y, y, (size_t)b);
    f->rng = drop_rng ? *drop_rng : rng_derive(0, 3);
}

// The round's backward pass with d(extra loss)/d(features) (B, dim) added where the head's backward
// leaves the features' gradient: model_backward's loop, and bit for bit it when there is none.
static void backward_with_features(Model *m, int head, const float *dfeat) {
    memset(m->grads, 0, m->n_params * sizeof(float));
    const Slot *s = &m->slots[m->layers[head].in];
    int B = m->cur, hw = s->h * s->w;
    size_t dim = head_width(m, head);
    for (int i = m->n_layers - 1; i >= 0; i--) {
        model_backward_layer(m, i);
        if (i != head || !s->grad) continue;   // features that are the inputs move no parameter
        for (int c = 0; c < s->c; c++)
            for (int b = 0; b < B; b++)
                for (int k = 0; k < hw; k++)
                    s->grad[((size_t)c * B + b) * hw + k] += dfeat[(size_t)b * dim + (size_t)c * hw + k];
    }
}

int agent_feature_pass(Alg *alg, float *loss, Err *e) {
    ModelFns *f = alg->env.model.ctx;
    Model *m = f->m;
    if (f->head < 0) {
        err_set(e, "%s needs penultimate features, and model %s has no linear head", alg->ops->name, m->name);
        return -1;
    }
    size_t dim = head_width(m, f->head), cells = (size_t)m->cur * dim;
    float *feat = xfloats(cells), *dfeat = xfloats(cells);
    features_copy(m, f->head, feat);
    double extra = 0;
    f->busy = 1;
    int rc = alg->ops->feature_loss(alg, feat, f->y, m->cur, (int)dim, dfeat, &extra, e);
    f->busy = 0;
    if (!rc) {
        *loss += (float)extra;
        backward_with_features(m, f->head, dfeat);
    }
    free(feat);
    free(dfeat);
    return rc;
}

static void model_fns_init(AlgEnv *env, Model *m) {
    ModelFns *f = xcalloc(1, sizeof *f);
    f->m = m;
    f->head = model_head(m);
    f->y = xmalloc((size_t)m->batch);
    f->params = xfloats(m->n_params);
    f->grads = xfloats(m->n_params);
    f->state = m->n_state ? xfloats(m->n_state) : NULL;
    env->model = (AlgModelFns){.ctx = f, .feature_dim = f->head >= 0 ? (int)head_width(m, f->head) : 0,
                               .max_batch = m->batch, .grad_at = model_grad_at, .features_at = model_features_at};
}

static void model_fns_free(AlgModelFns *fns) {
    ModelFns *f = fns->ctx;
    if (!f) return;
    free(f->y); free(f->params); free(f->grads); free(f->state);
    free(f);
    fns->ctx = NULL;
}

int agent_env_init(AlgEnv *env, Model *m, const Scenario *s, int id, Err *e) {
    memset(env, 0, sizeof *env);
    env->id = id;
    env->n = s->agents;
    env->params = m->params;
    env->grads = m->grads;
    env->n_params = m->n_params;
    env->cfg = &s->alg;
    env->seed = s->seed;
    env->timeout_s = s->net.round_timeout_s;
    if (topo_init(&env->topo, &s->topo, e)) return -1;
    env->g = graph_new(s->agents);
    env->spans = xmalloc(sizeof(Span) * (size_t)m->n_tensors);
    env->nt = model_spans(m, env->spans);
    sgd_init_model(&env->opt, &s->sgd, m);
    model_fns_init(env, m);
    return codec_init(&env->codec, s->alg.codec, s->alg.keep, e);
}

void agent_env_free(AlgEnv *env) {
    net_free(env->net);
    topo_free(&env->topo);
    graph_free(env->g);
    free(env->spans);
    sgd_free(&env->opt);
    model_fns_free(&env->model);
}

static int setup(Agent *a, Err *e) {
    const Scenario *s = &a->s;
    // The runner's one decoded copy, mapped read-only, when it gave one (native launcher); else the files.
    if (a->args->data_fd >= 0 ? dataset_map(a->args->data_fd, &a->train, &a->test, e)
                              : dataset_load(s->dataset, NULL, s->seed, &a->train, &a->test, e))
        return -1;
    if (partition_make(a, e)) return -1;
    dataset_populate(&a->train, a->mine, a->n_mine);   // no page faults in the rounds (data.h)
    Rng init = rng_derive(s->seed, 1);   // the same for every agent: all models start identical
    a->m = model_build(s->model, s->norm, a->train.c, a->train.h, a->train.w, a->train.classes, s->batch, &init, e);
    if (!a->m) return -1;
    // Each agent's own stream for the 8-bit stochastic roundings (no draw at 32 bits).
    if (model_set_precision(a->m, s->bits, s->act_round, rng_derive(s->seed, 3000 + (uint64_t)a->args->id), e))
        return -1;
    AlgEnv env;
    if (agent_env_init(&env, a->m, s, a->args->id, e)) return -1;
    if (links_open(a, &env, e)) return -1;
    a->alg = alg_new(s->alg.name, &env, e);
    if (!a->alg) return -1;
    net_set_idle(a->alg->env.net, on_idle, a);
    a->data_rng = rng_derive(s->seed, 1000 + (uint64_t)a->args->id);
    a->drop_rng = rng_derive(s->seed, 2000 + (uint64_t)a->args->id);
    a->rounds_per_epoch = (a->n_mine + s->batch - 1) / s->batch;
    a->total_rounds = a->rounds_per_epoch * s->epochs;
    // Consensus-only rounds are numbered from total_rounds + 1 (train): a sequence of their own.
    net_set_window(a->alg->env.net, s->net.max_rounds_ahead, (uint64_t)a->total_rounds + 1);
    return 0;
}

// Cumulative bytes per peer as {"peer": {"payload", "framing", "socket", "messages"}}.
static json_t *links_json(Agent *a, int sent) {
    json_t *o = json_object();
    for (int j = 0; j < a->s.agents; j++) {
        if (j == a->args->id) continue;
        const LinkCount *c = sent ? net_sent(a->alg->env.net, j) : net_recv(a->alg->env.net, j);
        if (!c->messages) continue;
        char k[16];
        snprintf(k, sizeof k, "%d", j);
        json_t *l = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "payload", (json_int_t)c->payload, "framing",
                              (json_int_t)c->framing, "socket", (json_int_t)c->socket, "messages",
                              (json_int_t)c->messages, "dropped", (json_int_t)c->dropped, "late", (json_int_t)c->late);
        if (sent) json_object_set_new(l, "authors", json_integer((json_int_t)c->authors));   // docs/metrics.md
        json_object_set_new(o, k, l);
    }
    return o;
}

static void totals(Agent *a, uint64_t *payload, uint64_t *wire, uint64_t *msgs, uint64_t *authors) {
    *payload = *wire = *msgs = *authors = 0;
    for (int j = 0; j < a->s.agents; j++) {
        if (j == a->args->id) continue;
        const LinkCount *c = net_sent(a->alg->env.net, j);
        *payload += c->payload; *wire += c->payload + c->framing; *msgs += c->messages; *authors += c->authors;
    }
}

// One metrics line. The log is line-buffered, so a full disk or a failing device shows here, at the
// line it cut: the first error sticks (log_check turns it into the agent's failure).
static void log_line(Agent *a, json_t *o) {
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
    if ((!t || fprintf(a->log, "%s\n", t) < 0 || fflush(a->log)) && !a->log_errno) a->log_errno = t ? errno : ENOMEM;
    free(t);
    json_decref(o);
}

static int log_check(Agent *a, Err *e) {
    if (!a->log_errno) return 0;
    err_set(e, "%s/agent-%d.jsonl: cannot write its metrics: %s; its last line may be cut", a->args->run_dir,
            a->args->id, strerror(a->log_errno));
    return -1;
}

static int report(Agent *a, int kind, json_t *o, const float *model, Err *e) {
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
    json_decref(o);
    if (!t) { err_set(e, "agent %d: cannot encode a report as JSON", a->args->id); return -1; }
    // The model travels as its parameters followed by its running statistics (batchnorm).
    CtlFloats spans[2] = {{model, a->m->n_params}, {a->m->state, a->m->n_state}};
    int rc = ctl_report_send(a->args->ctl_fd, kind, (uint32_t)a->round, t, spans, model ? 2 : 0, e);
    free(t);
    return rc;
}

static void progress_send(Agent *a, int force) {
    double now = time_now();
    if (!force && now - a->last_report < 0.25) return;
    a->last_report = now;
    uint64_t pay, wire, msgs, authors;
    totals(a, &pay, &wire, &msgs, &authors);
    json_t *o = json_pack("{s:I, s:I, s:f, s:f, s:I}", "round", (json_int_t)a->round, "rounds",
                          (json_int_t)a->total_rounds, "loss", a->loss_n ? a->loss_sum / a->loss_n : 0.0, "epoch",
                          (double)a->round / a->rounds_per_epoch, "bytes_wire", (json_int_t)wire);
    Err e;
    report(a, CTL_PROGRESS, o, NULL, &e);
}

// While blocked on a peer: tell the runner we are alive and whom we wait for.
static void on_idle(void *ctx, int waiting_for) {
    Agent *a = ctx;
    (void)waiting_for;
    progress_send(a, 1);
}

static void metrics_line(Agent *a, float lr) {
    json_t *o =
        json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:o, s:o}", "type", "round", "round", (json_int_t)a->round,
                  "epoch", (double)a->round / a->rounds_per_epoch, "loss", a->loss_n ? a->loss_sum / a->loss_n : 0.0,
                  "lr", (double)lr, "compute_s", a->compute_s, "wait_s", net_wait_seconds(a->alg->env.net), "missing",
                  (json_int_t)a->alg->env.missing, "sent", links_json(a, 1), "recv", links_json(a, 0));
    // The kernel's view of each link, and when it was read: CLOCK_MONOTONIC, which the runner shares
    // (one kernel), so it can place the sample against the link schedule (docs/network.md). In whole
    // microseconds: the lines keep 7 significant digits of a real, too few for a clock that counts uptime.
    json_object_set_new(o, "t_mono_us", json_integer((json_int_t)(time_now() * 1e6)));
    json_object_set_new(o, "tcp", linkstat_json(a->alg->env.net, a->args->id, a->s.agents));
    log_line(a, o);
    a->loss_sum = 0;
    a->loss_n = 0;
}

static void eval_tick(void *ctx) { progress_send(ctx, 0); }   // rate-limited to 4 per second

// Evaluate our model on the test set; log it and send it (with the model) to the runner.
static int evaluate(Agent *a, const char *when, Err *e) {
    double loss = 0;
    double acc = model_evaluate_tick(a->m, &a->test, a->s.limit_test, &loss, eval_tick, a);
    json_t *line = json_pack("{s:s, s:s, s:i, s:I, s:f, s:f, s:f}", "type", "eval", "when", when, "index", a->evals++,
                             "round", (json_int_t)a->round, "epoch", (double)a->round / a->rounds_per_epoch,
                             "test_acc", acc, "test_loss", loss);
    json_t *copy = json_deep_copy(line);
    log_line(a, line);
    if (log_check(a, e)) { json_decref(copy); return -1; }
    return report(a, CTL_EVAL, copy, a->m->params, e);
}

static int train_round(Agent *a, Err *e) {
    const Scenario *s = &a->s;
    long r = a->round, in_epoch = r % a->rounds_per_epoch;
    if (in_epoch == 0) rng_shuffle_int(&a->data_rng, a->mine, a->n_mine);
    int b = (int)(a->n_mine - in_epoch * s->batch < s->batch ? a->n_mine - in_epoch * s->batch : s->batch);
    uint8_t y[4096];
    double t = time_now();
    dataset_batch(&a->train, a->mine + in_epoch * s->batch, b, 1, &a->data_rng, model_input(a->m), y);
    const AlgOps *ops = a->alg->ops;
    agent_batch_set(&a->alg->env, y, b, &a->drop_rng);
    if (ops->on_batch && ops->on_batch(a->alg, r, e)) return -1;
    model_forward(a->m, b, 1, &a->drop_rng);
    float loss = model_loss(a->m, y, NULL);
    if (ops->feature_loss && agent_feature_pass(a->alg, &loss, e)) return -1;   // its backward included
    if (!isfinite(loss)) {
        err_set(e, "agent %d: training diverged at round %ld (loss %g; %ld in-neighbour messages missing so far): "
                "lower optimizer.lr or algorithm.gamma, or raise network.round_timeout_s", a->args->id, r, (double)loss,
                a->alg->env.missing);
        return -1;
    }
    a->loss_sum += loss;
    a->loss_n++;
    if (!ops->feature_loss) model_backward(a->m);
    a->compute_s += time_now() - t;
    float lr = schedule_lr(&s->sched, s->sgd.lr, (double)r / a->rounds_per_epoch, s->epochs);
    // Push-sum algorithms add late shares when they come; the others forget them (with one round of
    // slack, which an overlapping algorithm needs).
    if (!ops->keeps_late) net_discard_before(a->alg->env.net, r > 0 ? (uint64_t)(r - 1) : 0);
    if (ops->step(a->alg, r, lr, e)) return -1;
    agent_batch_set(&a->alg->env, NULL, 0, NULL);   // the batch's inputs do not outlive the round
    a->round++;
    if (a->round % s->metrics_every == 0 || a->round == a->total_rounds) metrics_line(a, lr);
    if (log_check(a, e)) return -1;
    progress_send(a, 0);
    return 0;
}

// Extra averaging rounds without gradients, numbered after the training rounds so they never mix.
static int consensus_rounds(Agent *a, int count, const Codec *c, double gamma, long *next, Err *e) {
    for (int k = 0; k < count; k++) {
        if (a->alg->ops->consensus(a->alg, *next, c, gamma, e)) return -1;
        (*next)++;
    }
    return 0;
}

// CPU seconds this process used (user and system): with more agents than cores, the part of the
// harness overhead that is work rather than idle time.
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int train(Agent *a, Err *e) {
    const Scenario *s = &a->s;
    const AlgOps *ops = a->alg->ops;
    AlgExtraRounds xr = {0};   // the algorithm's own consensus rounds (SC-Sparse-Push's compensation)
    if (ops->extra_rounds) ops->extra_rounds(&s->alg, &xr);
    Codec xc;
    if (ops->extra_rounds && codec_init(&xc, xr.codec, xr.keep, e)) return -1;
    long extra = a->total_rounds + 1;   // round numbers of consensus-only rounds
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t_start = time_now(), cpu_start = cpu_now();
    double next_eval = s->eval.every_epochs, next_extra = xr.every_epochs;
    while (a->round < a->total_rounds) {
        if (train_round(a, e)) return -1;
        double epoch = (double)a->round / a->rounds_per_epoch;
        if (ops->extra_rounds && xr.every_epochs > 0 && epoch + 1e-9 >= next_extra && a->round < a->total_rounds) {
            if (consensus_rounds(a, xr.rounds, &xc, xr.gamma, &extra, e)) return -1;
            next_extra += xr.every_epochs;
        }
        if (epoch + 1e-9 >= next_eval && a->round < a->total_rounds) {
            if (evaluate(a, "epoch", e)) return -1;
            next_eval += s->eval.every_epochs;
        }
    }
    a->train_s = time_now() - t_start;   // the training rounds, evaluations included
    a->cpu_s = cpu_now() - cpu_start;
    getrusage(RUSAGE_SELF, &ru1);
    a->csw_vol = ru1.ru_nvcsw - ru0.ru_nvcsw;
    a->csw_invol = ru1.ru_nivcsw - ru0.ru_nivcsw;
    if (ops->extra_rounds && consensus_rounds(a, xr.rounds, &xc, xr.gamma, &extra, e)) return -1;
    // The final consensus: exact (dense, gamma 1) or as in training (the algorithm's codec and gamma).
    int training = !strcmp(s->eval.final_consensus_protocol, "training");
    if (consensus_rounds(a, s->eval.final_consensus_rounds, training ? &a->alg->env.codec : codec_for_id(CODEC_DENSE),
                         training ? s->alg.gamma : 1.0, &extra, e))
        return -1;
    if (ops->finish && ops->finish(a->alg, e)) return -1;
    if (net_flush(a->alg->env.net, s->net.round_timeout_s, e)) return -1;
    return evaluate(a, "final", e);
}

static int done_report(Agent *a, Err *e) {
    uint64_t pay, wire, msgs, authors;
    totals(a, &pay, &wire, &msgs, &authors);
    // samples: forward+backward passes over one sample, the rounds' own and the algorithm's grad_at calls
    const ModelFns *f = a->alg->env.model.ctx;
    json_int_t samples = (json_int_t)a->n_mine * a->s.epochs + (f ? f->extra_samples : 0);
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:f, s:f, s:s}", "type",
                  "done", "rounds", (json_int_t)a->round, "bytes_payload", (json_int_t)pay, "bytes_wire",
                  (json_int_t)wire, "messages", (json_int_t)msgs, "compute_s", a->compute_s, "wait_s",
                  net_wait_seconds(a->alg->env.net), "missing", (json_int_t)a->alg->env.missing, "samples", samples,
                  "train_s", a->train_s, "cpu_s", a->cpu_s, "csw_voluntary", (json_int_t)a->csw_vol, "csw_involuntary",
                  (json_int_t)a->csw_invol, "macs_per_sample", (json_int_t)model_macs(a->m), "rss_peak_mb",
                  rss_peak_kb() / 1024.0, "pss_mb", pss_kb() / 1024.0, "on_missing", a->alg->ops->on_missing);
    json_object_set_new(o, "bytes_authors", json_integer((json_int_t)authors));   // the paper's counter
    json_object_set_new(o, "sent", links_json(a, 1));   // per peer, for the energy model (bits over each link)
    json_object_set_new(o, "recv", links_json(a, 0));
    json_t *copy = json_deep_copy(o);
    log_line(a, o);
    if (fileno(a->log) >= 0 && fsync(fileno(a->log)) && errno != EINVAL && !a->log_errno)
        a->log_errno = errno;   // a result is on disk before it is reported
    if (log_check(a, e)) { json_decref(copy); return -1; }
    return report(a, CTL_DONE, copy, NULL, e);
}

int agent_run(const AgentArgs *args) {
    // Message buffers of a few hundred KB come and go every round: keep them in the heap instead of
    // fresh mmaps (page faults cost 3% of a dense SGP run).
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    Agent a;
    memset(&a, 0, sizeof a);
    a.args = args;
    frame_reader_init(&a.rd, 1 << 20);
    Err e = {{0}};
    if (scenario_load(&a.s, args->scenario_path, args->scenario_text, &e)) { fail_report(&a, &e); return 2; }
    if (args->id < 0 || args->id >= a.s.agents) {
        err_set(&e, "agent id %d outside 0..%d", args->id, a.s.agents - 1);
        fail_report(&a, &e);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/agent-%d.jsonl", args->run_dir, args->id);
    a.log = args->log ? args->log : fopen(path, "w");
    if (!a.log) { err_set(&e, "%s: cannot create", path); return fail_report(&a, &e); }
    setvbuf(a.log, NULL, _IOLBF, 0);
    int rc = 0;
    if (setup(&a, &e) || train(&a, &e) || done_report(&a, &e)) rc = fail_report(&a, &e);
    fclose(a.log);
    if (a.alg) { agent_env_free(&a.alg->env); alg_free(a.alg); }
    model_free(a.m);
    partition_free(&a.part);
    free(a.mine);
    dataset_free(&a.train); dataset_free(&a.test);
    frame_reader_free(&a.rd);
    return rc;
}
