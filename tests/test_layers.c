// Gradient checks: every layer's backward, and the softmax cross-entropy, against central finite
// differences on tiny models (layer under test + a linear head), then whole zoo models on a sample.
// The numeric side evaluates the loss in double from the float logits; steps shrink at kinks.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

#define CLASSES 4
#define ATOL 1e-4   // |analytic - numeric| <= ATOL + RTOL * max(|analytic|, |numeric|)
#define RTOL 1e-2
// The reported relative error is |a - n| / max(|a|, |n|, ATOL / RTOL): below 1e-2 in magnitude the
// absolute tolerance rules, so a passing entry always shows an error of at most about 2 RTOL.
#define REL_FLOOR (ATOL / RTOL)

// How to check one model; zero fields take the defaults of gc_defaults().
typedef struct {
    int cur;            // batch of the checked pass (default: m->batch)
    int train;          // forward mode (default 1; -1 for evaluation)
    float xscale;       // input ~ N(0, xscale^2) (default 1)
    float eps;          // finite-difference step (default 1e-2)
    int per_tensor;     // sampled entries per parameter tensor (default 60)
    int per_input;      // sampled input entries (default 60)
    float xmean;        // input offset (default 0)
    uint64_t seed;
} GcOpts;

typedef struct {
    Model *m;
    GcOpts o;
    size_t n_in;          // input floats of the checked pass (c, cur, h, w)
    float *x0, *dx, *ga;  // input, analytic d loss/d input, analytic parameter gradients
    uint8_t y[64];
    Rng drop;             // each forward runs on a fresh copy, so dropout masks repeat
    double worst;
    int checked, kinks, failed;
    char where[160], first_fail[200];
} GradCheck;

static int fast_mode(void) { return getenv("MESHTRAIN_FAST_TESTS") != NULL; }

static void gc_defaults(GcOpts *o, const Model *m) {
    if (!o->cur) o->cur = m->batch;
    o->train = o->train < 0 ? 0 : 1;
    if (o->xscale == 0.0f) o->xscale = 1.0f;
    if (o->eps == 0.0f) o->eps = 1e-2f;
    if (!o->per_tensor) o->per_tensor = 60;
    if (!o->per_input) o->per_input = 60;
    if (!o->seed) o->seed = 7;
}

// Mean softmax cross-entropy of the logits slot, in double (model_loss rounds it to float).
static double loss_double(const Model *m, const uint8_t *y) {
    const Slot *s = &m->slots[m->logits];
    int K = s->c, B = m->cur;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        double mx = s->val[b], sum = 0.0;
        for (int k = 1; k < K; k++) mx = fmax(mx, s->val[k * B + b]);
        for (int k = 0; k < K; k++) sum += exp(s->val[k * B + b] - mx);
        total += mx + log(sum) - s->val[y[b] * B + b];
    }
    return total / B;
}

static void gc_forward(GradCheck *g) {
    memcpy(model_input(g->m), g->x0, g->n_in * sizeof(float));
    Rng r = g->drop;
    model_forward(g->m, g->o.cur, g->o.train, &r);
}

static double gc_loss(GradCheck *g) {
    gc_forward(g);
    return loss_double(g->m, g->y);
}

// Central difference for one entry, over the step the float actually took.
static double gc_numeric(GradCheck *g, float *p, float eps) {
    float p0 = *p, hi = p0 + eps, lo = p0 - eps;
    *p = hi;
    double lhi = gc_loss(g);
    *p = lo;
    double llo = gc_loss(g);
    *p = p0;
    return (lhi - llo) / ((double)hi - (double)lo);
}

static int gc_close(double a, double n) { return fabs(a - n) <= ATOL + RTOL * fmax(fabs(a), fabs(n)); }

static void gc_record(GradCheck *g, const char *what, size_t i, double a, double n) {
    g->checked++;
    double rel = fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), REL_FLOOR);
    if (rel > g->worst) {
        g->worst = rel;
        snprintf(g->where, sizeof g->where, "%s[%zu] a=%.4g n=%.4g", what, i, a, n);
    }
}

// One entry, with steps eps, eps/4, eps/16: the first that matches passes. When none does and the
// steps disagree with each other, the entry straddles kinks (ReLU, max-pool ties, hardsigmoid at
// +-3) whose error shrinks only with the step; it is counted as such, not as checked.
static void gc_entry(GradCheck *g, const char *what, size_t i, float *p, double a) {
    double n = 0.0, lo = INFINITY, hi = -INFINITY;
    for (float step = 1.0f; step > 0.03f; step /= 4) {
        n = gc_numeric(g, p, g->o.eps * step);
        if (gc_close(a, n)) { gc_record(g, what, i, a, n); return; }
        lo = fmin(lo, n); hi = fmax(hi, n);
    }
    if (!gc_close(lo, hi)) { g->kinks++; return; }
    if (g->failed++ == 0)
        snprintf(g->first_fail, sizeof g->first_fail, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, a, n);
    gc_record(g, what, i, a, n);
}

// The first k entries of a random permutation of [0, n) into idx (k <= n).
static void sample_distinct(Rng *r, size_t n, size_t k, size_t *idx) {
    size_t *all = xmalloc(n * sizeof *all);
    for (size_t i = 0; i < n; i++) all[i] = i;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + rng_below(r, (uint32_t)(n - i));
        size_t t = all[i]; all[i] = all[j]; all[j] = t;
        idx[i] = all[i];
    }
    free(all);
}

// k sampled distinct entries (all when count <= k) of the count floats at base, whose analytic
// gradients are at grad.
static void gc_block(GradCheck *g, Rng *r, const char *what, float *base, const float *grad, size_t count, int k) {
    size_t n = (size_t)k < count ? (size_t)k : count;
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    sample_distinct(r, count, n, idx);
    for (size_t j = 0; j < n; j++) gc_entry(g, what, idx[j], base + idx[j], grad[idx[j]]);
    free(idx);
}

static void gc_tensors(GradCheck *g, Rng *r) {
    Model *m = g->m;
    for (int t = 0; t < m->n_tensors; t++) {
        const Tensor *T = &m->tensors[t];
        gc_block(g, r, T->name, m->params + T->offset, g->ga + T->offset, T->count, g->o.per_tensor);
    }
}

static void gc_input(GradCheck *g, Rng *r) { gc_block(g, r, "input", g->x0, g->dx, g->n_in, g->o.per_input); }

// Samples per im2col chunk of the first non-pointwise conv layer (the batch when it is not split).
static int conv_chunk_of(const Model *m) {
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        if (strcmp(l->ops->kind, "conv2d") != 0 || (l->k == 1 && l->stride == 1 && l->pad == 0)) continue;
        const Slot *x = &m->slots[l->in], *y = &m->slots[l->out];
        size_t per = (size_t)x->c * l->k * l->k * y->h * y->w;
        return (int)(m->n_work / per);
    }
    return 0;
}

// m is finalized.
static void gc_setup(GradCheck *g, Model *m, const GcOpts *o) {
    memset(g, 0, sizeof *g);
    g->m = m;
    g->o = *o;
    gc_defaults(&g->o, m);
    cr_assert_leq(g->o.cur, (int)sizeof g->y, "at most %zu samples", sizeof g->y);
    Rng data = rng_derive(g->o.seed, 2);
    g->n_in = (size_t)m->slots[0].c * m->slots[0].h * m->slots[0].w * g->o.cur;
    g->x0 = xfloats(g->n_in);
    g->dx = xfloats(g->n_in);
    g->ga = xfloats(m->n_params);
    for (size_t i = 0; i < g->n_in; i++) g->x0[i] = (float)(g->o.xmean + rng_normal(&data) * g->o.xscale);
    for (int b = 0; b < g->o.cur; b++) g->y[b] = (uint8_t)rng_below(&data, CLASSES);
    g->drop = rng_derive(g->o.seed, 3);
    m->slots[0].grad = g->dx;   // ask model_backward for d loss / d input too
}

static void gc_analytic(GradCheck *g) {
    gc_forward(g);
    model_loss(g->m, g->y, NULL);
    model_backward(g->m);
    memcpy(g->ga, g->m->grads, g->m->n_params * sizeof(float));
}

static void gc_teardown(GradCheck *g) {
    g->m->slots[0].grad = NULL;
    model_free(g->m);
    free(g->x0); free(g->dx); free(g->ga);
}

// Check the gradients of a finalized model: sampled entries of every parameter tensor and of the
// input. Logs the worst relative error, frees m, and asserts.
static void gradcheck_run(Model *m, const char *name, GcOpts o) {
    GradCheck g;
    gc_setup(&g, m, &o);
    gc_analytic(&g);
    Rng pick = rng_derive(g.o.seed, 4);
    gc_tensors(&g, &pick);
    gc_input(&g, &pick);
    cr_log_info("gradcheck %-28s worst rel err %.2e at %s (%d checked, %d at kinks)", name, g.worst, g.where,
                g.checked, g.kinks);
    fprintf(stderr, "gradcheck %-28s worst rel err %.2e  (%d entries, %d at kinks)\n", name, g.worst, g.checked,
            g.kinks);
    int failed = g.failed, kinks = g.kinks, checked = g.checked;
    char msg[200];
    snprintf(msg, sizeof msg, "%s", g.first_fail);
    gc_teardown(&g);
    cr_assert_eq(failed, 0, "%s: %d of %d entries differ, first %s", name, failed, checked, msg);
    cr_assert(kinks <= 2 + checked / 10, "%s: %d of %d entries at kinks (too many to trust)", name, kinks,
              checked);
    cr_assert(checked > 0, "%s: nothing checked", name);
}

// Finalize m (the layers under test followed by a head to CLASSES logits), then check it.
static void gradcheck(Model *m, const char *name, GcOpts o) {
    Err e;
    Rng init = rng_derive(o.seed ? o.seed : 7, 1);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "finalize: %s", e.msg);
    gradcheck_run(m, name, o);
}

// A tiny model with input (c, h, w), batch B; the layer under test starts from slot 0.
static Model *tiny(int c, int h, int w, int B) { return model_new("tiny", c, h, w, CLASSES, B); }
static void head(Model *m, int x) { model_linear(m, x, CLASSES, 1); }

static Model *conv_model(int c, int hw, int B, int oc, int k, int s, int p, int bias) {
    Model *m = tiny(c, hw, hw, B);
    head(m, model_conv(m, 0, oc, k, s, p, bias));
    return m;
}

Test(gradcheck, conv_k3_s1_p1_bias) {
    gradcheck(conv_model(2, 6, 3, 3, 3, 1, 1, 1), "conv k3 s1 p1 bias", (GcOpts){0});
}
Test(gradcheck, conv_k3_s2_p1) {
    gradcheck(conv_model(3, 7, 2, 4, 3, 2, 1, 0), "conv k3 s2 p1", (GcOpts){0});
}
Test(gradcheck, conv_k1_pointwise) {
    gradcheck(conv_model(4, 5, 3, 3, 1, 1, 0, 1), "conv k1 s1 p0 (pointwise)", (GcOpts){0});
}
Test(gradcheck, conv_k1_s2) { gradcheck(conv_model(3, 6, 2, 3, 1, 2, 0, 0), "conv k1 s2", (GcOpts){0}); }
Test(gradcheck, conv_k5_p2_bias) {
    gradcheck(conv_model(2, 6, 2, 3, 5, 1, 2, 1), "conv k5 s1 p2 bias", (GcOpts){0});
}
Test(gradcheck, conv_k5_p2_tiny_input) {
    gradcheck(conv_model(2, 2, 2, 3, 5, 1, 2, 0), "conv k5 p2 on 2x2", (GcOpts){0});
}
Test(gradcheck, conv_k3_s2_p0_even) {
    gradcheck(conv_model(2, 8, 2, 2, 3, 2, 0, 1), "conv k3 s2 p0 on 8x8", (GcOpts){0});
}

Test(gradcheck, conv_nonsquare_no_bias) {
    Model *m = tiny(2, 5, 7, 4);
    head(m, model_conv(m, 0, 3, 3, 1, 0, 0));
    gradcheck(m, "conv k3 p0 on 5x7", (GcOpts){0});
}

// A pass over fewer samples than the model holds (the last batch of an epoch).
Test(gradcheck, conv_partial_batch) {
    gradcheck(conv_model(2, 6, 5, 3, 3, 1, 1, 1), "conv cur 3 of 5", (GcOpts){.cur = 3});
}

// im2col chunking as model_conv sets it up: the column scratch is capped, so a layer with more
// columns per batch runs in chunks of whole samples. The cap is read off model_conv, not assumed.
static size_t conv_work_cap(void) {
    Model *m = model_new("cap", 1, 8, 8, CLASSES, 1 << 16);
    model_conv(m, 0, 1, 3, 1, 1, 0);   // 576 column floats per sample, 37.7 M for the batch
    size_t cap = m->n_work;
    model_free(m);
    return cap;
}

static size_t conv_cols(int c, int hw, int k, int s, int p) {
    size_t o = (size_t)(hw + 2 * p - k) / s + 1;
    return (size_t)c * k * k * o * o;
}

// A conv on the smallest square input whose columns per sample exceed frac of the cap.
static Model *conv_over_cap(double frac, int c, int B, int k, int s, int p) {
    size_t cap = conv_work_cap();
    int hw = k;
    while ((double)conv_cols(c, hw, k, s, p) <= frac * (double)cap) hw++;
    return conv_model(c, hw, B, 2, k, s, p, 1);
}

// The same with the smallest power-of-two batch for which the layer no longer keeps its columns
// between forward and backward (save_n == 0): backward then redoes im2col chunk by chunk.
static Model *conv_over_cap_unkept(double frac, int c, int k) {
    for (int B = 2; B <= 512; B *= 2) {
        Model *m = conv_over_cap(frac, c, B, k, 1, (k - 1) / 2);
        if (m->layers[0].save_n == 0) return m;
        model_free(m);
    }
    cr_assert_fail("the conv keeps its columns even at batch 512");
    return NULL;
}

static void gradcheck_chunked(Model *m, const char *name, int expect_chunk, GcOpts o) {
    Err e;
    Rng init = rng_derive(7, 1);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "finalize: %s", e.msg);
    cr_assert_eq(conv_chunk_of(m), expect_chunk, "%s: im2col takes %d samples at a time, expected %d", name,
                 conv_chunk_of(m), expect_chunk);
    o.per_tensor = o.per_input = fast_mode() ? 6 : 20;
    gradcheck_run(m, name, o);
}

// Just over a third of the cap per sample: chunks of 2 + 2 + 1.
Test(gradcheck, conv_chunks_of_two, .timeout = 120) {
    gradcheck_chunked(conv_over_cap(0.34, 2, 5, 3, 1, 1), "conv k3 p1 chunked 2+2+1", 2, (GcOpts){0});
}
Test(gradcheck, conv_chunks_partial_batch, .timeout = 120) {
    gradcheck_chunked(conv_over_cap(0.34, 2, 5, 5, 1, 2), "conv k5 p2 cur 3 of 5: 2+1", 2, (GcOpts){.cur = 3});
}
Test(gradcheck, conv_chunks_unkept_columns, .timeout = 120) {
    gradcheck_chunked(conv_over_cap_unkept(0.34, 2, 3), "conv k3 p1 chunked, columns redone", 2, (GcOpts){0});
}
// Over half the cap per sample, stride 2: one sample at a time.
Test(gradcheck, conv_chunks_of_one_s2, .timeout = 120) {
    gradcheck_chunked(conv_over_cap(0.51, 3, 3, 3, 2, 1), "conv k3 s2 p1 chunked 1+1+1", 1, (GcOpts){0});
}

static Model *linear_model(int bias) {
    Model *m = tiny(3, 2, 2, 3);
    head(m, model_linear(m, 0, 6, bias));
    return m;
}
Test(gradcheck, linear_bias) { gradcheck(linear_model(1), "linear bias", (GcOpts){0}); }
Test(gradcheck, linear_no_bias) { gradcheck(linear_model(0), "linear no bias", (GcOpts){0}); }

Test(gradcheck, flatten) {
    Model *m = tiny(2, 3, 3, 3);
    int x = model_flatten(m, model_conv(m, 0, 2, 3, 1, 1, 0));
    cr_assert_eq(m->slots[x].c, 18);
    head(m, x);
    gradcheck(m, "flatten", (GcOpts){0});
}

Test(gradcheck, relu_after_conv) {
    Model *m = tiny(2, 5, 5, 3);
    head(m, model_relu(m, model_conv(m, 0, 3, 3, 1, 1, 1)));
    gradcheck(m, "relu (conv)", (GcOpts){0});
}

Test(gradcheck, relu_after_linear) {
    Model *m = tiny(6, 1, 1, 4);
    head(m, model_relu(m, model_linear(m, 0, 8, 1)));
    gradcheck(m, "relu (linear)", (GcOpts){0});
}

static Model *pool_model(int hw, int k, int s, int max) {
    Model *m = tiny(2, hw, hw, 3);
    head(m, max ? model_maxpool(m, 0, k, s) : model_avgpool(m, 0, k, s));
    return m;
}
Test(gradcheck, maxpool_2x2) { gradcheck(pool_model(6, 2, 2, 1), "maxpool k2 s2", (GcOpts){0}); }
Test(gradcheck, maxpool_odd_input) { gradcheck(pool_model(7, 2, 2, 1), "maxpool k2 s2 on 7x7", (GcOpts){0}); }
Test(gradcheck, maxpool_overlapping) {
    gradcheck(pool_model(7, 3, 2, 1), "maxpool k3 s2 (overlap)", (GcOpts){0});
}
Test(gradcheck, avgpool_2x2) { gradcheck(pool_model(6, 2, 2, 0), "avgpool k2 s2", (GcOpts){0}); }
Test(gradcheck, avgpool_overlapping) {
    gradcheck(pool_model(5, 3, 1, 0), "avgpool k3 s1 (overlap)", (GcOpts){0});
}

// Ties go to the first position of the window, as in PyTorch: on a constant input each window's
// whole gradient lands on its top-left entry.
Test(gradcheck, maxpool_ties_go_first) {
    Model *m = tiny(1, 4, 4, 2);
    head(m, model_maxpool(m, 0, 2, 2));
    Err e;
    Rng init = rng_derive(7, 1);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    float *dx = xfloats(32);
    m->slots[0].grad = dx;
    for (int i = 0; i < 32; i++) model_input(m)[i] = 1.0f;
    uint8_t y[2] = {0, 3};
    model_forward(m, 2, 1, NULL);
    model_loss(m, y, NULL);
    model_backward(m);
    for (int i = 0; i < 32; i++) {
        int r = i % 16 / 4, c = i % 4, first = r % 2 == 0 && c % 2 == 0;
        if (first) cr_assert_neq(dx[i], 0.0f, "dx[%d]: the window's first entry gets its gradient", i);
        else cr_assert_eq(dx[i], 0.0f, "dx[%d] = %g: only a tied window's first entry gets gradient", i, dx[i]);
    }
    m->slots[0].grad = NULL;
    model_free(m);
    free(dx);
}

Test(gradcheck, maxpool_after_conv) {
    Model *m = tiny(2, 6, 6, 2);
    head(m, model_maxpool(m, model_conv(m, 0, 3, 3, 1, 1, 1), 2, 2));
    gradcheck(m, "maxpool (conv)", (GcOpts){0});
}

Test(gradcheck, global_avgpool) {
    Model *m = tiny(3, 4, 5, 3);
    head(m, model_gap(m, model_conv(m, 0, 4, 3, 1, 1, 0)));
    gradcheck(m, "global avgpool", (GcOpts){0});
}

Test(gradcheck, global_avgpool_on_input) {
    Model *m = tiny(3, 3, 3, 2);
    head(m, model_gap(m, 0));
    gradcheck(m, "global avgpool (input)", (GcOpts){0});
}

Test(gradcheck, dropout_train) {
    Model *m = tiny(5, 1, 1, 4);
    head(m, model_dropout(m, model_linear(m, 0, 12, 1), 0.5f));
    gradcheck(m, "dropout p=0.5 (train)", (GcOpts){0});
}

Test(gradcheck, dropout_after_conv) {
    Model *m = tiny(2, 4, 4, 3);
    head(m, model_dropout(m, model_conv(m, 0, 3, 3, 1, 1, 0), 0.3f));
    gradcheck(m, "dropout p=0.3 (conv)", (GcOpts){0});
}

// a = conv(s1); a += s1, where s1 is also the input of conv: s1's gradient gets both paths.
Test(gradcheck, add_shared_input) {
    Model *m = tiny(2, 5, 5, 3);
    int s1 = model_conv(m, 0, 3, 3, 1, 1, 0);
    int a = model_conv(m, s1, 3, 3, 1, 1, 1);
    head(m, model_add(m, a, s1));
    gradcheck(m, "add (b also read by conv)", (GcOpts){0});
}

// The second input is read again after the add (by a 1x1 conv) and added once more.
Test(gradcheck, add_input_read_after) {
    Model *m = tiny(2, 5, 5, 3);
    int s1 = model_conv(m, 0, 3, 3, 1, 1, 0);
    int a = model_conv(m, s1, 3, 3, 1, 1, 0);
    a = model_add(m, a, s1);
    int s3 = model_conv(m, s1, 3, 1, 1, 0, 0);
    head(m, model_add(m, a, s3));
    gradcheck(m, "add (b read after)", (GcOpts){0});
}

// Two ResNet basic blocks with batchnorm: identity shortcut, then a strided 1x1-conv shortcut.
static int basic_block(Model *m, int x, int oc, int stride) {
    int y = model_relu(m, model_batchnorm(m, model_conv(m, x, oc, 3, stride, 1, 0)));
    y = model_batchnorm(m, model_conv(m, y, oc, 3, 1, 1, 0));
    int sc = x;
    if (stride != 1 || m->slots[x].c != oc) sc = model_batchnorm(m, model_conv(m, x, oc, 1, stride, 0, 0));
    return model_relu(m, model_add(m, y, sc));
}

Test(gradcheck, add_resnet_blocks) {
    Model *m = tiny(2, 6, 6, 3);
    int x = model_relu(m, model_conv(m, 0, 3, 3, 1, 1, 0));
    x = basic_block(m, x, 3, 1);
    x = basic_block(m, x, 4, 2);
    head(m, model_gap(m, x));
    gradcheck(m, "add (resnet blocks)", (GcOpts){.per_tensor = 30, .eps = 3e-3f});
}

Test(gradcheck, batchnorm_conv) {
    Model *m = tiny(2, 4, 4, 3);
    head(m, model_batchnorm(m, model_conv(m, 0, 3, 3, 1, 1, 1)));
    gradcheck(m, "batchnorm (conv)", (GcOpts){0});
}

Test(gradcheck, batchnorm_input) {
    Model *m = tiny(3, 3, 3, 2);
    head(m, model_batchnorm(m, 0));
    gradcheck(m, "batchnorm (input)", (GcOpts){.xscale = 2.0f});
}

// A large mean and a small spread: the statistics must not cancel catastrophically.
Test(gradcheck, batchnorm_offset_input) {
    Model *m = tiny(3, 3, 3, 4);
    head(m, model_batchnorm(m, 0));
    gradcheck(m, "batchnorm (input 50 + N(0, 0.5))", (GcOpts){.xmean = 50.0f, .xscale = 0.5f});
}

Test(gradcheck, batchnorm_features) {
    Model *m = tiny(5, 1, 1, 5);
    head(m, model_batchnorm(m, model_linear(m, 0, 6, 1)));
    gradcheck(m, "batchnorm (features)", (GcOpts){0});
}

Test(gradcheck, batchnorm_partial_batch) {
    Model *m = tiny(2, 4, 4, 5);
    head(m, model_batchnorm(m, model_conv(m, 0, 3, 3, 1, 1, 0)));
    gradcheck(m, "batchnorm cur 3 of 5", (GcOpts){.cur = 3});
}

static Model *groupnorm_model(int oc, int groups) {
    Model *m = tiny(2, 4, 4, 3);
    head(m, model_groupnorm(m, model_conv(m, 0, oc, 3, 1, 1, 1), groups));
    return m;
}
Test(gradcheck, groupnorm_2) { gradcheck(groupnorm_model(4, 2), "groupnorm 2 groups", (GcOpts){0}); }
Test(gradcheck, groupnorm_1) { gradcheck(groupnorm_model(4, 1), "groupnorm 1 group", (GcOpts){0}); }
Test(gradcheck, groupnorm_per_channel) {
    gradcheck(groupnorm_model(3, 3), "groupnorm 3 groups of 1", (GcOpts){0});
}
Test(gradcheck, groupnorm_uneven_ask) {
    gradcheck(groupnorm_model(6, 4), "groupnorm 6 ch ask 4 (->3)", (GcOpts){0});
}

Test(gradcheck, groupnorm_partial_batch) {
    Model *m = tiny(2, 4, 4, 5);
    head(m, model_groupnorm(m, model_conv(m, 0, 4, 3, 1, 1, 0), 2));
    gradcheck(m, "groupnorm cur 2 of 5", (GcOpts){.cur = 2});
}

// On the input directly, so each input entry is the only one that can cross a +-3 kink.
Test(gradcheck, evonorm_input) {
    Model *m = tiny(4, 3, 3, 3);
    head(m, model_evonorm(m, 0, 2));
    gradcheck(m, "evonorm 2 groups (input)", (GcOpts){.xscale = 1.5f});
}

Test(gradcheck, evonorm_saturated) {
    Model *m = tiny(4, 3, 3, 2);
    head(m, model_evonorm(m, 0, 4));
    gradcheck(m, "evonorm 4 groups (|x| ~ 3)", (GcOpts){.xscale = 3.0f});
}

Test(gradcheck, evonorm_conv) {
    Model *m = tiny(2, 4, 4, 3);
    head(m, model_evonorm(m, model_conv(m, 0, 8, 3, 1, 1, 0), 8));
    gradcheck(m, "evonorm 8 groups (conv)", (GcOpts){0});
}

Test(gradcheck, evonorm_partial_batch) {
    Model *m = tiny(4, 3, 3, 4);
    head(m, model_evonorm(m, 0, 2));
    gradcheck(m, "evonorm cur 2 of 4", (GcOpts){.cur = 2});
}

// ReLU and dropout directly on the input: the input slot has no gradient buffer, so their backward
// must skip it instead of writing through NULL. The head's gradients match a twin fed relu(x).
static void inplace_on_input(int dropout) {
    Model *a = tiny(4, 1, 1, 2), *b = tiny(4, 1, 1, 2);
    head(a, dropout ? model_dropout(a, 0, 0.0f) : model_relu(a, 0));
    head(b, 0);
    Err e;
    Rng ia = rng_derive(5, 1), ib = rng_derive(5, 1);
    cr_assert_eq(model_finalize(a, &ia, &e), 0, "%s", e.msg);
    cr_assert_eq(model_finalize(b, &ib, &e), 0, "%s", e.msg);
    for (int i = 0; i < 8; i++) {
        model_input(a)[i] = (float)(i - 4);
        model_input(b)[i] = dropout || i > 4 ? (float)(i - 4) : 0.0f;
    }
    uint8_t y[2] = {0, 3};
    Model *both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        Rng r = rng_derive(1, 3);
        model_forward(both[k], 2, 1, &r);
        model_loss(both[k], y, NULL);
        model_backward(both[k]);
    }
    for (size_t i = 0; i < a->n_params; i++)
        cr_assert_float_eq(a->grads[i], b->grads[i], 1e-6, "grad %zu: %g vs %g", i, a->grads[i], b->grads[i]);
    model_free(a); model_free(b);
}
Test(layers, relu_on_input) { inplace_on_input(0); }
Test(layers, dropout_on_input) { inplace_on_input(1); }

// Backward after an evaluation-mode forward (train = 0) must give the gradient of the function that
// forward computed: dropout is the identity, batchnorm an affine map with running statistics, and a
// conv's kept im2col columns are those of this pass.
Test(eval_backward, dropout) {
    Model *m = tiny(5, 1, 1, 4);
    head(m, model_dropout(m, model_linear(m, 0, 12, 1), 0.5f));
    gradcheck(m, "dropout (eval)", (GcOpts){.train = -1});
}

Test(eval_backward, batchnorm) {
    Model *m = tiny(3, 3, 3, 3);
    head(m, model_batchnorm(m, 0));
    gradcheck(m, "batchnorm (eval)", (GcOpts){.train = -1});
}

Test(eval_backward, conv) {
    gradcheck(conv_model(2, 5, 3, 3, 3, 1, 1, 1), "conv (eval)", (GcOpts){.train = -1});
}

Test(eval_backward, groupnorm_evonorm) {
    Model *m = tiny(4, 3, 3, 3);
    head(m, model_evonorm(m, model_groupnorm(m, 0, 2), 2));
    gradcheck(m, "groupnorm+evonorm (eval)", (GcOpts){.train = -1});
}

// The loss layer alone: logits written directly, loss against a hand computation in double,
// d loss / d logits against (softmax - onehot) / B and against differences of model_loss itself.
static Model *logits_model(int K, int B) {
    Model *m = model_new("logits", K, 1, 1, K, B);
    model_linear(m, 0, K, 0);
    Err e;
    Rng init = rng_derive(1, 1);
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    m->cur = B;
    return m;
}

static double ce_ref(const float *z, int K, int B, int b, int y) {
    double mx = -INFINITY, s = 0.0;
    for (int k = 0; k < K; k++) mx = fmax(mx, z[k * B + b]);
    for (int k = 0; k < K; k++) s += exp((double)z[k * B + b] - mx);
    return mx + log(s) - z[y * B + b];
}

Test(gradcheck, softmax_cross_entropy) {
    enum { K = 5, B = 3 };
    Model *m = logits_model(K, B);
    float *z = m->slots[m->logits].val;
    const float *dz = m->slots[m->logits].grad;
    const float z0[K * B] = {   // (K, B): row k holds class k's logit for each sample
        0.5f, -1.0f, 2.0f,
        1.5f, 0.0f, -0.5f,
        -2.0f, 3.0f, 0.25f,
        0.0f, 1.0f, -1.0f,
        0.1f, 0.2f, 0.3f,
    };
    uint8_t y[B] = {1, 1, 4};
    memcpy(z, z0, sizeof z0);
    int correct = -1;
    double L = model_loss(m, y, &correct), ref = 0.0;
    for (int b = 0; b < B; b++) ref += ce_ref(z0, K, B, b, y[b]) / B;
    cr_assert_float_eq(L, ref, 1e-6, "loss %.8f, expected %.8f", L, ref);
    cr_assert_eq(correct, 1, "argmaxes are 1 (=y), 2, 0: expected 1 correct, got %d", correct);
    float dz0[K * B];
    memcpy(dz0, dz, sizeof dz0);
    double worst = 0.0;
    for (int i = 0; i < K * B; i++) {
        int b = i % B, k = i / B;
        double p = exp(-ce_ref(z0, K, B, b, k)), expect = (p - (k == y[b])) / B;
        cr_assert_float_eq(dz0[i], expect, 1e-6, "dz[%d] = %g, expected %g", i, dz0[i], expect);
        memcpy(z, z0, sizeof z0);
        z[i] = z0[i] + 1e-2f;
        double hi = model_loss(m, y, NULL);
        z[i] = z0[i] - 1e-2f;
        double n = (hi - model_loss(m, y, NULL)) / ((double)(z0[i] + 1e-2f) - (double)(z0[i] - 1e-2f));
        cr_assert(gc_close(dz0[i], n), "dz[%d]: analytic %g, numeric %g", i, dz0[i], n);
        worst = fmax(worst, fabs(dz0[i] - n) / fmax(fmax(fabs(dz0[i]), fabs(n)), REL_FLOOR));
    }
    cr_log_info("gradcheck softmax cross-entropy worst rel err %.2e", worst);
    fprintf(stderr, "gradcheck %-28s worst rel err %.2e  (%d entries, 0 at kinks)\n", "softmax cross-entropy",
            worst, K * B);
    model_free(m);
}

// Huge logits must not overflow: the loss is the exact margin, the gradient finite.
Test(gradcheck, softmax_cross_entropy_large_logits) {
    Model *m = logits_model(3, 2);
    float *z = m->slots[m->logits].val;   // (K=3, B=2)
    const float big[6] = {1000.0f, -1000.0f, 0.0f, 1000.0f, -1000.0f, 0.0f};
    memcpy(z, big, sizeof big);
    uint8_t y[2] = {0, 0};   // sample 0 right with margin 1000; sample 1 wrong by 2000
    float L = model_loss(m, y, NULL);
    cr_assert_float_eq(L, 1000.0f, 1e-2f, "loss %g, expected (0 + 2000) / 2", L);
    for (int i = 0; i < 6; i++) cr_assert(isfinite(m->slots[m->logits].grad[i]));
    model_free(m);
}

// Whole zoo models: a sample of every parameter tensor and of the input.
static void gradcheck_zoo(const char *arch, NormKind norm, int c, int hw, int B, GcOpts o) {
    Err e;
    Rng init = rng_derive(11, 1);
    Model *m = model_build(arch, norm, c, hw, hw, CLASSES, B, &init, &e);
    cr_assert_not_null(m, "%s", e.msg);
    char name[64];
    snprintf(name, sizeof name, "%s %s (%dx%dx%d, B=%d)", arch, norm_name(norm), c, hw, hw, B);
    gradcheck_run(m, name, o);
}

// ReLU kinks are everywhere in a whole model, so the step starts smaller (3e-3 down to 2e-4).
static GcOpts zoo_opts(void) {
    return (GcOpts){.per_tensor = fast_mode() ? 1 : 3, .per_input = fast_mode() ? 4 : 10, .eps = 3e-3f};
}

Test(gradcheck_zoo, lenet5_none) { gradcheck_zoo("lenet5", NORM_NONE, 1, 16, 3, zoo_opts()); }
Test(gradcheck_zoo, lenet5_batchnorm) { gradcheck_zoo("lenet5", NORM_BATCH, 1, 16, 3, zoo_opts()); }
Test(gradcheck_zoo, lenet5_groupnorm) { gradcheck_zoo("lenet5", NORM_GROUP, 1, 16, 3, zoo_opts()); }
Test(gradcheck_zoo, lenet5_evonorm) { gradcheck_zoo("lenet5", NORM_EVO, 1, 16, 3, zoo_opts()); }
Test(gradcheck_zoo, resnet20_batchnorm, .timeout = 240) {
    gradcheck_zoo("resnet20", NORM_BATCH, 3, 8, 2, zoo_opts());
}
Test(gradcheck_zoo, resnet20_evonorm, .timeout = 240) {
    gradcheck_zoo("resnet20", NORM_EVO, 3, 8, 2, zoo_opts());
}
Test(gradcheck_zoo, resnet20_groupnorm, .timeout = 240) {
    gradcheck_zoo("resnet20", NORM_GROUP, 3, 8, 2, zoo_opts());
}
Test(gradcheck_zoo, mlp_batchnorm) { gradcheck_zoo("mlp", NORM_BATCH, 1, 4, 4, zoo_opts()); }
