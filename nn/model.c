// Model lifecycle: building the layer list, allocating the flat buffers (activation values per
// slot, gradients pooled by liveness), seeded initialization, and the forward/backward passes.
#include "model.h"
#include <math.h>
#include "qgemm.h"
#include <stdlib.h>
#include <string.h>

#define GROW(ptr, n, cap)                                                        \
    do {                                                                         \
        if ((n) == (cap)) {                                                      \
            (cap) = (cap) ? 2 * (cap) : 16;                                      \
            void *np_ = realloc((ptr), (size_t)(cap) * sizeof *(ptr));           \
            if (!np_) { fprintf(stderr, "meshtrain: out of memory\n"); abort(); } \
            (ptr) = np_;                                                         \
        }                                                                        \
    } while (0)

Model *model_new(const char *name, int c, int h, int w, int classes, int batch) {
    Model *m = xcalloc(1, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->batch = m->cur = batch;
    m->classes = classes;
    m->logits = -1;
    m->bits = 32;
    model_slot_new(m, c, h, w);   // slot 0: the input
    return m;
}

int model_slot_new(Model *m, int c, int h, int w) {
    GROW(m->slots, m->n_slots, m->cap_slots);
    Slot *s = &m->slots[m->n_slots];
    memset(s, 0, sizeof *s);
    s->c = c; s->h = h; s->w = w;
    s->producer = -1; s->last_use = -1;
    return m->n_slots++;
}

Layer *model_layer_new(Model *m, const LayerOps *ops, int in, int in2, int out) {
    GROW(m->layers, m->n_layers, m->cap_layers);
    int i = m->n_layers++;
    Layer *l = &m->layers[i];
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->in = in; l->in2 = in2; l->out = out;
    l->w = l->b = -1;
    l->st = (size_t)-1;
    m->slots[in].last_use = i;
    if (in2 >= 0) m->slots[in2].last_use = i;
    if (m->slots[out].producer < 0 && out != 0) m->slots[out].producer = i;
    m->logits = out;
    return l;
}

int model_tensor_new(Model *m, const char *name, int ndim, const int *shape, InitKind init, float a, int is_norm) {
    GROW(m->tensors, m->n_tensors, m->cap_tensors);
    Tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) { t->shape[i] = shape[i]; t->count *= (size_t)shape[i]; }
    t->offset = m->n_params;
    t->init = init; t->init_a = a; t->is_norm = is_norm;
    m->n_params += t->count;
    return m->n_tensors++;
}

size_t model_state_new(Model *m, size_t n) {
    size_t off = m->n_state;
    m->n_state += n;
    return off;
}

void model_work_need(Model *m, size_t n) {
    if (n > m->n_work) m->n_work = n;
}

// Gradient buffers are shared between slots whose backward lifetimes do not overlap. A slot's
// gradient is live from the backward of its last reader down to the backward of its producer,
// so slot t may reuse slot s's memory when t's last reader runs before s's producer in forward order.
static void grads_assign(Model *m) {
    int n = m->n_slots;
    int *buf_of = xmalloc(sizeof(int) * (size_t)n);
    size_t *buf_size = xcalloc((size_t)n, sizeof(size_t));
    int *buf_free_below = xmalloc(sizeof(int) * (size_t)n);   // producer index of its latest occupant
    int n_buf = 0;
    // Backward visits slots in decreasing order of last use; greedily reuse a finished buffer.
    int *order = xmalloc(sizeof(int) * (size_t)n);
    int n_order = 0;
    for (int s = 1; s < n; s++) order[n_order++] = s;
    for (int i = 0; i < n_order; i++)
        for (int j = i + 1; j < n_order; j++) {
            int lu_i = m->slots[order[i]].last_use < 0 ? m->n_layers : m->slots[order[i]].last_use;
            int lu_j = m->slots[order[j]].last_use < 0 ? m->n_layers : m->slots[order[j]].last_use;
            if (lu_j > lu_i) { int t = order[i]; order[i] = order[j]; order[j] = t; }
        }
    for (int i = 0; i < n_order; i++) {
        int s = order[i];
        Slot *sl = &m->slots[s];
        int lu = sl->last_use < 0 ? m->n_layers : sl->last_use;
        size_t need = (size_t)sl->c * sl->h * sl->w * m->batch;
        int pick = -1;
        for (int b = 0; b < n_buf; b++)
            if (lu < buf_free_below[b] && (pick < 0 || buf_size[b] > buf_size[pick])) pick = b;
        if (pick < 0) pick = n_buf++, buf_size[pick] = 0;
        if (need > buf_size[pick]) buf_size[pick] = need;
        buf_free_below[pick] = sl->producer;
        buf_of[s] = pick;
    }
    size_t total = 0;
    size_t *buf_off = xmalloc(sizeof(size_t) * (size_t)(n_buf + 1));
    for (int b = 0; b < n_buf; b++) { buf_off[b] = total; total += (buf_size[b] + 15) / 16 * 16; }
    m->n_grad = total;
    m->grad_mem = xfloats(total);
    for (int i = 0; i < n_order; i++) m->slots[order[i]].grad = m->grad_mem + buf_off[buf_of[order[i]]];
    m->slots[0].grad = NULL;
    free(buf_of); free(buf_size); free(buf_free_below); free(order); free(buf_off);
}

static void params_init(Model *m, Rng *rng) {
    for (int t = 0; t < m->n_tensors; t++) {
        Tensor *T = &m->tensors[t];
        float *p = m->params + T->offset;
        for (size_t i = 0; i < T->count; i++) {
            switch (T->init) {
            case INIT_ZERO: p[i] = 0.0f; break;
            case INIT_ONE: p[i] = 1.0f; break;
            case INIT_NORMAL: p[i] = (float)(rng_normal(rng) * T->init_a); break;
            case INIT_UNIFORM: p[i] = (float)((2.0 * rng_uniform(rng) - 1.0) * T->init_a); break;
            case INIT_UNIFORM_POS: p[i] = (float)(rng_uniform(rng) * T->init_a); break;
            }
        }
    }
}

static size_t slot_floats(const Model *m, int s) {
    return ((size_t)m->slots[s].c * m->slots[s].h * m->slots[s].w * m->batch + 15) / 16 * 16;
}

// Whether some backward reads slot s's float values (the layers' READS_* flags; at 8 bits the layers that
// keep their input's codes read those instead).
static int slot_read_back(const Model *m, int s) {
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        int coded = m->bits == 8 && (l->q8 & Q8_IN);
        if ((l->in == s && (l->ops->reads & READS_IN) && !coded) || (l->out == s && (l->ops->reads & READS_OUT)))
            return 1;
    }
    return 0;
}

// Recomputed slots: 1 where a backward reads the values (written again before), 2 where none does.
static void slots_mark_read(Model *m) {
    for (int s = 0; s < m->n_slots; s++)
        if (m->slots[s].recompute) m->slots[s].recompute = slot_read_back(m, s) ? 1 : 2;
}

// A slot is recomputed when every layer writing it has a recompute, the slots those layers read are kept
// whole, and nothing outside the layers reads it after a forward (the input, the logits, the head's input).
static int slot_recomputable(const Model *m, int s) {
    int head = model_head(m);
    if (m->keep_slots || s == 0 || s == m->logits || (head >= 0 && m->layers[head].in == s) || m->slots[s].producer < 0)
        return 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        if (l->out != s) continue;
        if (!l->ops->recompute) return 0;
        if (l->in != s && m->slots[l->in].recompute) return 0;
        if (l->in2 >= 0 && l->in2 != s && m->slots[l->in2].recompute) return 0;
    }
    return 1;
}

// Activation memory: kept slots each their own, then the layers' saves, then the buffers of the recomputed
// slots. A recomputed slot is live from its producer to its last reader in forward, and over the same
// layers in backward (written again at its last reader's backward): slots whose spans do not overlap share.
static void slots_place(Model *m) {
    int n = m->n_slots;
    size_t total = 0;
    for (int s = 0; s < n; s++) {
        m->slots[s].recompute = slot_recomputable(m, s);
        if (!m->slots[s].recompute) total += slot_floats(m, s);
    }
    for (int i = 0; i < m->n_layers; i++) total += (m->layers[i].save_n + 15) / 16 * 16;
    int *buf_of = xmalloc(sizeof(int) * (size_t)n), *buf_end = xmalloc(sizeof(int) * (size_t)n);
    size_t *buf_size = xcalloc((size_t)n, sizeof(size_t));
    int n_buf = 0;
    for (int s = 0; s < n; s++) {   // slots in order of their producers
        if (!m->slots[s].recompute) continue;
        int pick = -1;
        for (int b = 0; b < n_buf; b++)
            if (buf_end[b] < m->slots[s].producer && (pick < 0 || buf_size[b] > buf_size[pick])) pick = b;
        if (pick < 0) pick = n_buf++, buf_size[pick] = 0;
        if (slot_floats(m, s) > buf_size[pick]) buf_size[pick] = slot_floats(m, s);
        buf_end[pick] = m->slots[s].last_use < 0 ? m->n_layers : m->slots[s].last_use;
        buf_of[s] = pick;
    }
    m->n_pool = 0;
    for (int b = 0; b < n_buf; b++) m->n_pool += buf_size[b];
    m->n_act = total + m->n_pool;
    m->act_mem = xfloats(m->n_act);
    float *p = m->act_mem;
    for (int s = 0; s < n; s++)
        if (!m->slots[s].recompute) { m->slots[s].val = p; p += slot_floats(m, s); }
    for (int i = 0; i < m->n_layers; i++) {
        m->layers[i].save = m->layers[i].save_n ? p : NULL;
        p += (m->layers[i].save_n + 15) / 16 * 16;
    }
    for (int s = 0; s < n; s++) {
        if (!m->slots[s].recompute) continue;
        float *q = p;
        for (int b = 0; b < buf_of[s]; b++) q += buf_size[b];
        m->slots[s].val = q;
    }
    slots_mark_read(m);
    free(buf_of); free(buf_end); free(buf_size);
}

// A batchnorm or residual add followed at once by a ReLU in place on its output applies it: one pass in forward and
// in backward instead of two; the ReLU's mask taken from the batchnorm's input, or from the add's (the ReLU's)
// output (model.h: Layer.fused_relu).
static void layers_fuse(Model *m) {
    for (int i = 0; i + 1 < m->n_layers; i++) {
        Layer *a = &m->layers[i], *b = &m->layers[i + 1];
        int bn = !strcmp(a->ops->kind, "batchnorm") && a->in != a->out, add = !strcmp(a->ops->kind, "add");
        if ((bn || add) && !strcmp(b->ops->kind, "relu") && b->in == a->out && b->out == a->out)
            a->fused_relu = b->fused_relu = 1;
    }
}

int model_finalize(Model *m, Rng *init, Err *e) {
    if (m->n_layers == 0) { err_set(e, "model %s has no layers", m->name); return -1; }
    if (m->slots[m->logits].c != m->classes || m->slots[m->logits].h * m->slots[m->logits].w != 1) {
        err_set(e, "model %s: last layer gives (%d,%d,%d), expected %d logits", m->name,
                m->slots[m->logits].c, m->slots[m->logits].h, m->slots[m->logits].w, m->classes);
        return -1;
    }
    m->params = xfloats(m->n_params);
    m->grads = xfloats(m->n_params);
    m->state = xfloats(m->n_state ? m->n_state : 1);
    // Running variances start at 1: the layer that owns them marks which (see batchnorm).
    if (!m->no_fuse) layers_fuse(m);
    slots_place(m);
    m->work = xfloats(m->n_work ? m->n_work : 1);
    grads_assign(m);
    params_init(m, init);
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].st != (size_t)-1) {   // batchnorm: running mean 0, running var 1
            int C = m->slots[m->layers[i].in].c;
            for (int c = 0; c < C; c++) m->state[m->layers[i].st + (size_t)C + c] = 1.0f;
        }
    return 0;
}

int model_head(const Model *m) {
    for (int i = m->n_layers - 1; i >= 0; i--)
        if (m->layers[i].out == m->logits && m->layers[i].in != m->layers[i].out)
            return strcmp(m->layers[i].ops->kind, "linear") ? -1 : i;
    return -1;
}

int model_has_features(const Model *m) {
    int h = model_head(m);
    if (h < 0) return 0;
    int slot = m->layers[h].in;
    for (int i = h - 1; i >= 0 && slot != 0; i--)   // a flatten only reshapes: look through it
        if (m->layers[i].out == slot && !strcmp(m->layers[i].ops->kind, "flatten")) slot = m->layers[i].in;
    return slot != 0;
}

int model_spans(const Model *m, Span *out) {
    for (int t = 0; t < m->n_tensors; t++) out[t] = (Span){m->tensors[t].offset, m->tensors[t].count};
    return m->n_tensors;
}

int model_norm_spans(const Model *m, Span *out) {
    int k = 0;
    for (int t = 0; t < m->n_tensors; t++)
        if (m->tensors[t].is_norm) out[k++] = (Span){m->tensors[t].offset, m->tensors[t].count};
    return k;
}

void model_free(Model *m) {
    if (!m) return;
    free(m->params); free(m->grads); free(m->state); free(m->work);
    free(m->act_mem); free(m->grad_mem);
    free(m->q8x); free(m->q8w); free(m->q8g); free(m->q8gc); free(m->q8_codes);
    for (int i = 0; i < m->n_layers; i++) free(m->layers[i].q8plan);
    free(m->tensors); free(m->layers); free(m->slots);
    free(m);
}

float *model_input(Model *m) { return m->slots[0].val; }

void model_forward(Model *m, int b, int train, Rng *rng) {
    m->cur = b;
    m->train = train;
    for (int i = 0; i < m->n_layers; i++) m->layers[i].ops->forward(m, &m->layers[i], train, rng);
}

float model_loss(Model *m, const uint8_t *y, int *correct) {
    Slot *s = &m->slots[m->logits];
    int K = s->c, B = m->cur;
    const float *z = s->val;   // (K, B)
    float *dz = s->grad;
    double loss = 0.0;
    int ok = 0;
    for (int b = 0; b < B; b++) {
        float mx = z[b];
        int arg = 0;
        for (int k = 1; k < K; k++) if (z[k * B + b] > mx) { mx = z[k * B + b]; arg = k; }
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)(z[k * B + b] - mx));
        double lse = mx + log(sum);
        loss += lse - z[y[b] * B + b];
        ok += arg == y[b];
        for (int k = 0; k < K; k++) {
            double pk = exp((double)z[k * B + b] - lse);
            dz[k * B + b] = (float)((pk - (k == y[b])) / B);
        }
    }
    if (correct) *correct = ok;
    return (float)(loss / B);
}

void model_backward_layer(Model *m, int i) {
    Layer *l = &m->layers[i];
    // The first backward to reach a slot (its last reader) starts its gradient at zero;
    // in-place layers transform the gradient they share with their input instead.
    if (l->in != l->out && m->slots[l->in].last_use == i && m->slots[l->in].grad && !layer_sets_grad(m, l, l->in))
        memset(m->slots[l->in].grad, 0, slot_size(m, l->in) * sizeof(float));
    if (l->in2 >= 0 && m->slots[l->in2].last_use == i && m->slots[l->in2].grad && !layer_sets_grad(m, l, l->in2))
        memset(m->slots[l->in2].grad, 0, slot_size(m, l->in2) * sizeof(float));
    // The same reader is the first to need a recomputed slot: its writers run again, in forward order.
    int ins[2] = {l->in, l->in2};
    for (int k = 0; k < 2; k++) {
        int s = ins[k];
        if (s < 0 || (k == 1 && s == l->in) || m->slots[s].recompute != 1 || m->slots[s].last_use != i) continue;
        for (int j = m->slots[s].producer; j <= i; j++)
            if (m->layers[j].out == s) m->layers[j].ops->recompute(m, &m->layers[j]);
    }
    l->ops->backward(m, l);
}

void model_backward(Model *m) {
    memset(m->grads, 0, m->n_params * sizeof(float));
    for (int i = m->n_layers - 1; i >= 0; i--) model_backward_layer(m, i);
}

uint64_t model_macs(const Model *m) {
    uint64_t s = 0;
    for (int i = 0; i < m->n_layers; i++) s += m->layers[i].macs;
    return s;
}

int model_set_precision(Model *m, int bits, QRound act_round, Rng rng, Err *e) {
    if (bits != 8 && bits != 32) { err_set(e, "precision %d bits: expected 8 or 32", bits); return -1; }
    if (m->q8_codes) { err_set(e, "model %s: its precision is already set", m->name); return -1; }
    m->bits = bits;
    m->act_round = act_round;
    m->qrng = rng;
    if (bits == 32) return 0;
    slots_mark_read(m);   // 8 bits: layers that keep codes no longer need the recomputed floats
    // The integer products where qgemm has a SIMD backend; its plain loop would be slower than sgemm.
    m->q8_arith = strcmp(qgemm_backend(), "plain") ? Q8_ARITH_INT8 : Q8_ARITH_SIMULATED;
    size_t n_state = m->n_state, codes = 0, nx = 1, nw = 1, ng = 1;
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        if (!l->q8) continue;
        size_t in = (size_t)m->slots[l->in].c * m->slots[l->in].h * m->slots[l->in].w * m->batch;
        size_t out = (size_t)m->slots[l->out].c * m->slots[l->out].h * m->slots[l->out].w * m->batch;
        l->qst = n_state;
        n_state += (l->q8 & Q8_IN2) ? 4 : 2;   // running (min, max) per quantized operand, from 0 as the reference
        if (l->q8 & Q8_IN) codes += (in + 15) / 16 * 16;
        if (l->q8 & Q8_W) codes += (m->tensors[l->w].count + 15) / 16 * 16;
        nx = in > nx ? in : nx;
        ng = out > ng ? out : ng;
        if (l->w >= 0) nw = m->tensors[l->w].count * 3 > nw ? m->tensors[l->w].count * 3 : nw;
        if (l->b >= 0) nw = m->tensors[l->b].count > nw ? m->tensors[l->b].count : nw;
    }
    float *st = realloc(m->state, (n_state ? n_state : 1) * sizeof(float));
    if (!st) { err_set(e, "out of memory for the 8-bit ranges"); return -1; }
    m->state = st;
    memset(m->state + m->n_state, 0, (n_state - m->n_state) * sizeof(float));
    m->n_state = n_state;
    m->q8x = xfloats(nx); m->q8w = xfloats(nw); m->q8g = xfloats(ng);
    m->q8gc = xmalloc(ng);
    m->n_q8_codes = codes;
    m->q8_codes = xmalloc(codes ? codes : 1);
    uint8_t *p = m->q8_codes;
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        if (l->q8 & Q8_IN) {
            l->qx = p;
            p += ((size_t)m->slots[l->in].c * m->slots[l->in].h * m->slots[l->in].w * m->batch + 15) / 16 * 16;
        }
        if (l->q8 & Q8_W) { l->qw = p; p += (m->tensors[l->w].count + 15) / 16 * 16; }
    }
    return 0;
}

int model_set_q8_arith(Model *m, Q8Arith a, int allow_plain, Err *e) {
    if (a == Q8_ARITH_INT8) {
        if (m->bits != 8) { err_set(e, "model %s: int8 products need 8-bit precision", m->name); return -1; }
        if (!allow_plain && !strcmp(qgemm_backend(), "plain")) {
            err_set(e, "int8 products: this CPU has only qgemm's plain backend (slower than sgemm)");
            return -1;
        }
    }
    m->q8_arith = a;
    return 0;
}

const char *model_arith_name(const Model *m) {
    static char name[48];
    if (m->bits != 8) return "fp32";
    if (m->q8_arith == Q8_ARITH_SIMULATED) return "simulated";
    snprintf(name, sizeof name, "int8 %s", qgemm_backend());
    return name;
}

QParam model_act_range(Model *m, Layer *l, int k) {
    const Slot *s = &m->slots[k ? l->in2 : l->in];
    float *run = m->state + l->qst + 2 * k;
    if (m->train) {
        float mn, mx;
        quant_measure(s->val, s->c, m->cur, s->h * s->w, &mn, &mx);
        run[0] = quant_running(run[0], mn);
        run[1] = quant_running(run[1], mx);
        return quant_param(mn, mx);
    }
    return quant_param(run[0], run[1]);
}

QParam model_error_q8(Model *m, const float *g, size_t n) {
    float mn, mx;
    quant_minmax(g, n, &mn, &mx);
    QParam p = quant_param(mn, mx);
    quant_encode(m->q8gc, g, n, p, QROUND_STOCHASTIC, &m->qrng);
    return p;
}

QParam model_error_fake(Model *m, float *out, const float *g, size_t n) {
    float mn, mx;
    quant_minmax(g, n, &mn, &mx);
    QParam p = quant_param(mn, mx);
    quant_fake(out, NULL, g, n, p, QROUND_STOCHASTIC, &m->qrng);
    return p;
}

static size_t slot_bytes(const Model *m, int s, size_t per) {
    return (size_t)m->slots[s].c * m->slots[s].h * m->slots[s].w * m->batch * per;
}

// Activations kept for backward: every slot some backward reads in fp32 (counted once), the codes of the
// 8-bit layers' inputs, and what layers save (statistics, masks, max-pool winners; not the convolution's
// column cache, a copy kept only for speed).
void model_memory(const Model *m, ModelMemory *out) {
    int q = m->bits == 8;
    size_t wb = q ? 1 : 4;
    out->bits = m->bits;
    out->weights = m->n_params * wb;
    out->gradients = m->n_grad * wb;
    out->master = 2 * m->n_params * sizeof(float);
    out->activations = 0;
    char *kept = xcalloc((size_t)m->n_slots, 1);
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        if (q && (l->q8 & Q8_IN)) out->activations += slot_bytes(m, l->in, 1);
        else if (l->ops->reads & READS_IN) kept[l->in] = 1;
        if (l->ops->reads & READS_OUT) kept[l->out] = 1;
        if (strcmp(l->ops->kind, "conv2d") != 0) out->activations += l->save_n * sizeof(float);
    }
    // Recomputed slots share buffers (each starts at its buffer's start): a buffer counts once, at the size
    // of its largest occupant that backward reads.
    for (int s = 0; s < m->n_slots; s++) {
        if (!kept[s]) continue;
        if (!m->slots[s].recompute) { out->activations += slot_bytes(m, s, sizeof(float)); continue; }
        int first = 1;
        size_t big = 0;
        for (int t = 0; t < m->n_slots; t++) {
            if (!kept[t] || !m->slots[t].recompute || m->slots[t].val != m->slots[s].val) continue;
            if (t < s) first = 0;
            if (slot_bytes(m, t, sizeof(float)) > big) big = slot_bytes(m, t, sizeof(float));
        }
        if (first) out->activations += big;
    }
    free(kept);
}
