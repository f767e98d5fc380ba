// 8-bit training (docs/precision.md): where the scheme says the 8-bit path equals an fp32 computation on
// the quantized operands, it does bit for bit; bits 32 changes nothing; a short 8-bit training learns and
// repeats bit for bit; the memory and energy figures at 8 bits.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "energy.h"
#include "model.h"
#include "train.h"

#define K 4
#define B 6

// A one-layer model: linear (16 -> K) on (16, 1, 1) inputs, or conv 5x5 (2 -> K channels) on 2x5x5.
static Model *one_layer(int conv, int bits) {
    Model *m = model_new("one", conv ? 2 : 16, conv ? 5 : 1, conv ? 5 : 1, K, B);
    if (conv) model_conv(m, 0, K, 5, 1, 0, 1);
    else model_linear(m, 0, K, 1);
    Rng init = rng_derive(5, 1);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    cr_assert_eq(model_set_precision(m, bits, QROUND_STOCHASTIC, rng_derive(5, 9), &e), 0, "%s", e.msg);
    // Bit for bit against fp32 on the quantized operands: the simulated products (the int8 ones agree up to
    // float summation order: tests/test_int8.c).
    if (bits == 8) cr_assert_eq(model_set_q8_arith(m, Q8_ARITH_SIMULATED, 0, &e), 0, "%s", e.msg);
    return m;
}

static void assert_same(const float *a, const float *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(a[i] == b[i], "%s[%zu]: 8-bit %.9g, fp32 on its operands %.9g", what, i, a[i], b[i]);
}

// 8-bit forward = fp32 forward on (W^, b^, x^); weight and bias gradients = fp32 ones from x^ and the
// unquantized error; input gradient = fp32 one from W^ and the error rounded with the same draws.
static void exact_check(int conv) {
    Model *q = one_layer(conv, 8), *f = one_layer(conv, 32);
    Layer *l = &q->layers[0];
    size_t n_in = (size_t)q->slots[0].c * q->slots[0].h * q->slots[0].w * B, nw = q->tensors[l->w].count;
    Rng data = rng_derive(7, 7);
    for (size_t i = 0; i < n_in; i++) model_input(q)[i] = (float)(0.5 + rng_normal(&data));
    uint8_t y[B];
    for (int b = 0; b < B; b++) y[b] = (uint8_t)rng_below(&data, K);
    float *dxq = xfloats(n_in), *dxf = xfloats(n_in), *dy = xfloats((size_t)K * B);
    q->slots[0].grad = dxq, f->slots[0].grad = dxf;

    model_forward(q, B, 1, NULL);
    model_loss(q, y, NULL);
    memcpy(dy, q->slots[q->logits].grad, sizeof(float) * K * B);
    Rng before = q->qrng;   // the draws the error's rounding will take
    model_backward(q);

    // The fp32 model on the 8-bit operands.
    quant_decode(model_input(f), l->qx, n_in, l->px);
    quant_decode(f->params + f->tensors[l->w].offset, l->qw, nw, l->pw);
    quant_fake_minmax(f->params + f->tensors[l->b].offset, q->params + q->tensors[l->b].offset, K, QROUND_NEAREST,
                      NULL);
    model_forward(f, B, 1, NULL);
    assert_same(q->slots[q->logits].val, f->slots[f->logits].val, (size_t)K * B, "logits");
    model_loss(f, y, NULL);
    assert_same(dy, f->slots[f->logits].grad, (size_t)K * B, "error");
    model_backward(f);
    assert_same(q->grads, f->grads, q->n_params, "weight and bias gradient");
    cr_assert(memcmp(q->params, f->params, q->n_params * 4), "the master weights are not the 8-bit ones");

    // Input gradient: the error rounded to 8 bits over its min and max with the same draws.
    float mn, mx;
    quant_minmax(dy, (size_t)K * B, &mn, &mx);
    QParam pg = quant_param(mn, mx);
    uint8_t gq[K * B];
    quant_encode(gq, dy, (size_t)K * B, pg, QROUND_STOCHASTIC, &before);
    model_forward(f, B, 1, NULL);
    quant_decode(f->slots[f->logits].grad, gq, (size_t)K * B, pg);
    memset(dxf, 0, n_in * sizeof(float));
    model_backward(f);
    assert_same(dxq, dxf, n_in, "input gradient");
    int differs = 0;
    for (int i = 0; i < K * B; i++) differs += (float)gq[i] * pg.scale + pg.min != dy[i];
    cr_assert(differs > 0, "the error was rounded");
    q->slots[0].grad = f->slots[0].grad = NULL;
    model_free(q), model_free(f);
    free(dxq), free(dxf), free(dy);
}

Test(precision, linear_8bit_is_fp32_on_quantized_operands) { exact_check(0); }
Test(precision, conv_8bit_is_fp32_on_quantized_operands) { exact_check(1); }

// QuantMeasure: training uses this batch's range and moves the running range 90% of the way to it
// (momentum 0.1, from 0); evaluation uses the running range.
Test(precision, running_range_for_evaluation) {
    Model *m = one_layer(0, 8);
    Layer *l = &m->layers[0];
    Rng data = rng_derive(8, 8);
    for (int i = 0; i < 16 * B; i++) model_input(m)[i] = (float)rng_normal(&data);
    float mn, mx;
    quant_measure(model_input(m), 16, B, 1, &mn, &mx);
    model_forward(m, B, 1, NULL);
    cr_assert_eq(l->px.min, mn);
    float *run = m->state + l->qst;
    cr_assert_float_eq(run[0], 0.9f * mn, 1e-6f);
    cr_assert_float_eq(run[1], 0.9f * mx, 1e-6f);
    model_forward(m, B, 0, NULL);
    cr_assert_eq(l->px.min, run[0], "evaluation takes the running min");
    cr_assert_float_eq(l->px.scale, (run[1] - run[0]) / 255.0f, 1e-7f);
    model_free(m);
}

// Bits 32 is the fp32 engine: same state size, same outputs and gradients bit for bit.
Test(precision, bits_32_changes_nothing) {
    Model *m[2];
    for (int k = 0; k < 2; k++) {
        Rng init = rng_derive(3, 1);
        Err e = {{0}};
        m[k] = model_build("resnet20", NORM_REVO, 3, 32, 32, 10, 4, &init, &e);
        cr_assert(m[k], "%s", e.msg);
    }
    size_t ns = m[1]->n_state;
    Err e = {{0}};
    cr_assert_eq(model_set_precision(m[1], 32, QROUND_NEAREST, rng_derive(1, 1), &e), 0);
    cr_assert_eq(m[1]->n_state, ns);
    Rng data = rng_derive(4, 4);
    uint8_t y[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < (size_t)3 * 32 * 32 * 4; i++)
        model_input(m[0])[i] = model_input(m[1])[i] = (float)rng_normal(&data);
    for (int k = 0; k < 2; k++) {
        model_forward(m[k], 4, 1, NULL);
        model_loss(m[k], y, NULL);
        model_backward(m[k]);
    }
    cr_assert(!memcmp(m[0]->grads, m[1]->grads, m[0]->n_params * 4), "gradients differ at bits 32");
    model_free(m[0]), model_free(m[1]);
}

static int fast_mode(void) { return getenv("MESHTRAIN_FAST_TESTS") != NULL; }

static void train_once(int bits, uint64_t seed, TrainReport *r, float **params, size_t *n, double *first_loss) {
    Dataset tr, te;
    synthetic_make(11, fast_mode() ? 1000 : 10000, 500, &tr, &te);   // ASan: a smaller run
    Rng init = rng_derive(seed, 1);
    Err e = {{0}};
    Model *m = model_build("lenet5", NORM_REVO, 1, 28, 28, 10, 32, &init, &e);
    cr_assert(m, "%s", e.msg);
    cr_assert_eq(model_set_precision(m, bits, QROUND_STOCHASTIC, rng_derive(seed, 4), &e), 0, "%s", e.msg);
    *first_loss = 0;
    model_evaluate(m, &tr, 256, first_loss);
    // lr 0.03: at 0.05 this 8-bit LeNet-5 / Range-EvoNorm run is unstable (a conv output's range jumps 6x and
    // the model falls back to chance, or the loss overflows, around step 400-500), with either product path;
    // the draws of the first quantizer (before the counter-based noise) happened to avoid it. docs/int8.md.
    TrainConfig cfg = {
        .epochs = fast_mode() ? 1 : 3, .seed = seed, .sgd = {.lr = 0.03f, .momentum = 0.9f, .nesterov = 1}};
    cr_assert_eq(train_run(m, &tr, &te, &cfg, NULL, r, &e), 0, "%s", e.msg);
    *n = m->n_params + m->n_state;
    *params = xfloats(*n);
    memcpy(*params, m->params, m->n_params * 4);
    memcpy(*params + m->n_params, m->state, m->n_state * 4);
    model_free(m);
    dataset_free(&tr), dataset_free(&te);
}

// LeNet-5 with Range-EvoNorm at 8 bits on the synthetic task: the loss falls well below its start, and a
// second run with the same seed gives the same weights, running ranges and figures bit for bit.
Test(precision, lenet5_8bit_learns_and_repeats, .timeout = 240) {
    TrainReport r1, r2;
    float *p1, *p2;
    size_t n1, n2;
    double l1, l2;
    train_once(8, 21, &r1, &p1, &n1, &l1);
    train_once(8, 21, &r2, &p2, &n2, &l2);
    cr_log_info("8-bit lenet5: loss %.3f -> train %.3f, test %.3f, test acc %.3f", l1, r1.train_loss, r1.test_loss,
                r1.test_acc);
    if (!fast_mode()) cr_assert_lt(r1.train_loss, 0.8 * l1, "train loss %.3f from %.3f", r1.train_loss, l1);
    if (!fast_mode()) cr_assert_gt(r1.test_acc, 0.25, "test accuracy %.3f (chance 0.1)", r1.test_acc);
    cr_assert_eq(n1, n2);
    cr_assert(!memcmp(p1, p2, n1 * 4), "same seed, different weights");
    cr_assert(r1.test_loss == r2.test_loss && r1.train_loss == r2.train_loss);
    free(p1), free(p2);
}

// Memory at 8 bits: weights and errors a quarter, and the activations backward keeps (codes for every
// conv, linear and Range-EvoNorm input) less than 40% of fp32's on ResNet-20 with Range-EvoNorm (fp32
// recomputes the Range-EvoNorm outputs in backward instead of keeping them: 2.98x, docs/precision.md).
Test(precision, memory_quarter) {
    ModelMemory mm[2];
    for (int k = 0; k < 2; k++) {
        Rng init = rng_derive(3, 1);
        Err e = {{0}};
        Model *m = model_build("resnet20", NORM_REVO, 3, 32, 32, 10, 32, &init, &e);
        cr_assert(m, "%s", e.msg);
        cr_assert_eq(model_set_precision(m, k ? 8 : 32, QROUND_STOCHASTIC, init, &e), 0);
        model_memory(m, &mm[k]);
        if (k) cr_assert_geq(m->n_q8_codes, mm[k].activations / 2, "the kept activations are real code buffers");
        model_free(m);
    }
    cr_log_info("resnet20 activations kept: fp32 %zu, 8-bit %zu bytes", mm[0].activations, mm[1].activations);
    cr_assert_eq(mm[0].weights, 4 * mm[1].weights);
    cr_assert_eq(mm[0].gradients, 4 * mm[1].gradients);
    cr_assert_lt(5 * mm[1].activations, 2 * mm[0].activations);
    cr_assert_eq(mm[0].master, mm[1].master);
}

// Energy at 8 bits with the fp32 weight gradient: forward and input gradient at int8, the weight gradient
// (one forward's MACs) at fp32.
Test(precision, energy_charges_the_weight_gradient_at_fp32) {
    EnergyModel em;
    energy_model_default(&em);
    double sent[2] = {0}, recv[2] = {0}, dist[4] = {0};
    EnergyAgentUse u = {.n = 2, .self = 0, .samples = 1000, .macs_per_sample = 1e6, .precision_bits = 8,
                        .wgrad_fp32 = 1, .bits_sent = sent, .bits_received = recv, .distance_m = dist};
    EnergyEstimate e8, e32;
    energy_agent(&em, &u, &e8);
    u.precision_bits = 32, u.wgrad_fp32 = 0;
    energy_agent(&em, &u, &e32);
    double want = 1e9 * (2 * em.pj_per_mac_int8 + em.pj_per_mac_fp32) * 1e-12;
    cr_assert_float_eq(e8.compute_j, want, 1e-12, "%g J, expected %g", e8.compute_j, want);
    cr_assert_eq(e8.macs, e32.macs);
    cr_log_info("fp32 / 8-bit compute energy: %.2f", e32.compute_j / e8.compute_j);
}

// Activation rounding: stochastic (the reference's) draws anew on every forward, nearest does not.
Test(precision, activation_rounding_option) {
    for (int k = 0; k < 2; k++) {
        Model *m = model_new("one", 16, 1, 1, K, B);
        model_linear(m, 0, K, 1);
        Rng init = rng_derive(5, 1), data = rng_derive(6, 6);
        Err e = {{0}};
        cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
        cr_assert_eq(model_set_precision(m, 8, k ? QROUND_NEAREST : QROUND_STOCHASTIC, rng_derive(1, 2), &e), 0);
        for (int i = 0; i < 16 * B; i++) model_input(m)[i] = (float)rng_normal(&data);
        model_forward(m, B, 1, NULL);   // sets the running range
        float first[K * B];
        model_forward(m, B, 0, NULL);
        memcpy(first, m->slots[m->logits].val, sizeof first);
        model_forward(m, B, 0, NULL);
        int same = !memcmp(first, m->slots[m->logits].val, sizeof first);
        cr_assert_eq(same, k, "%s rounding: two evaluations %s", k ? "nearest" : "stochastic",
                     same ? "agree" : "differ");
        model_free(m);
    }
}

// The residual add at 8 bits (the reference's Qsum): a^ + b^, each operand on its own QuantMeasure range
// (nearest rounding here, so the expected value is computable), and both operands receive the same
// 8-bit error.
Test(precision, add_quantizes_both_operands) {
    Model *m = model_new("add", 8, 1, 1, K, B);
    int a = model_linear(m, 0, 8, 0), b = model_linear(m, 0, 8, 0);
    int s = model_add(m, a, b);
    model_linear(m, s, K, 1);
    Rng init = rng_derive(5, 1), data = rng_derive(6, 6);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    cr_assert_eq(model_set_precision(m, 8, QROUND_NEAREST, rng_derive(1, 2), &e), 0);
    for (int i = 0; i < 8 * B; i++) model_input(m)[i] = (float)rng_normal(&data);
    m->cur = B, m->train = 1;
    for (int i = 0; i < 2; i++) m->layers[i].ops->forward(m, &m->layers[i], 1, NULL);   // the two operands
    float va[8 * B], vb[8 * B];
    memcpy(va, m->slots[a].val, sizeof va);
    memcpy(vb, m->slots[b].val, sizeof vb);
    m->layers[2].ops->forward(m, &m->layers[2], 1, NULL);
    float mn, mx;
    QParam p[2];
    const float *v[2] = {va, vb};
    for (int k = 0; k < 2; k++) quant_measure(v[k], 8, B, 1, &mn, &mx), p[k] = quant_param(mn, mx);
    for (int i = 0; i < 8 * B; i++) {
        uint8_t qa, qb;
        quant_encode(&qa, va + i, 1, p[0], QROUND_NEAREST, NULL);
        quant_encode(&qb, vb + i, 1, p[1], QROUND_NEAREST, NULL);
        float want = ((float)qa * p[0].scale + p[0].min) + ((float)qb * p[1].scale + p[1].min);
        cr_assert(m->slots[s].val[i] == want, "[%d]: %.9g, expected %.9g", i, m->slots[s].val[i], want);
    }
    // Backward of the add alone: the error in place becomes its 8-bit version, and b's error receives it.
    float *g = m->slots[s].grad, g0[8 * B];
    for (int i = 0; i < 8 * B; i++) g[i] = g0[i] = (float)rng_normal(&data);
    memset(m->slots[b].grad, 0, sizeof g0);
    Rng before = m->qrng;
    m->layers[2].ops->backward(m, &m->layers[2]);
    quant_minmax(g0, 8 * B, &mn, &mx);
    QParam pg = quant_param(mn, mx);
    uint8_t gq[8 * B];
    quant_encode(gq, g0, 8 * B, pg, QROUND_STOCHASTIC, &before);
    for (int i = 0; i < 8 * B; i++) {
        float want = (float)gq[i] * pg.scale + pg.min;
        cr_assert(g[i] == want && m->slots[b].grad[i] == want, "error[%d]: %g and %g, expected %g", i, g[i],
                  m->slots[b].grad[i], want);
    }
    model_free(m);
}
