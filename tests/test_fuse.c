// Fused layers (a batchnorm or residual add applying the ReLU after it, layers writing rather than adding an
// input's gradient) against the plain path (Model.no_fuse): the same outputs, gradients and weights, bit for bit.
#include <criterion/criterion.h>
#include <string.h>
#include "model.h"
#include "optim.h"

// ResNet basic blocks (identity shortcut, then strided with a 1x1-conv shortcut), gap, linear head: every
// batchnorm-ReLU pair and residual add that ResNet-20 has.
static int block(Model *m, int x, int oc, int stride) {
    int y = model_norm_act(m, model_conv(m, x, oc, 3, stride, 1, 0), NORM_BATCH, 1);
    y = model_norm_act(m, model_conv(m, y, oc, 3, 1, 1, 0), NORM_BATCH, 0);
    int sc = x;
    if (stride != 1 || m->slots[x].c != oc)
        sc = model_norm_act(m, model_conv(m, x, oc, 1, stride, 0, 0), NORM_BATCH, 0);
    return model_relu(m, model_add(m, y, sc));
}

static Model *build(int no_fuse, int batch, int hw, int bits) {
    Model *m = model_new("fuse", 3, hw, hw, 10, batch);
    int x = model_norm_act(m, model_conv(m, 0, 8, 3, 1, 1, 0), NORM_BATCH, 1);
    x = block(m, x, 8, 1);
    x = block(m, x, 16, 2);
    model_linear(m, model_gap(m, x), 10, 1);
    m->no_fuse = no_fuse;
    Rng init = rng_derive(7, 1);
    Err e;
    cr_assert_eq(model_finalize(m, &init, &e), 0, "model_finalize: %s", e.msg);
    if (bits == 8) cr_assert_eq(model_set_precision(m, 8, QROUND_STOCHASTIC, rng_derive(9, 1), &e), 0, "%s", e.msg);
    return m;
}

static void fill_input(Model *m, int b, int hw, uint64_t seed, uint8_t *y) {
    Rng r = rng_derive(seed, 2);
    size_t n = (size_t)3 * hw * hw * b;
    float *x = model_input(m);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * rng_uniform(&r) - 1.0);
    for (int i = 0; i < b; i++) y[i] = (uint8_t)(rng_uniform(&r) * 10);
}

static void assert_same(const float *a, const float *b, size_t n, const char *what, int step) {
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof(float)) == 0, "step %d: %s[%zu]: fused %.9g, plain %.9g", step, what, i,
                  (double)a[i], (double)b[i]);
}

// Steps of SGD (Nesterov, weight decay) in training mode, then a backward in evaluation mode.
static void check_same(int batch, int hw, int bits) {
    Model *f = build(0, batch, hw, bits), *p = build(1, batch, hw, bits);
    int fused = 0;
    for (int i = 0; i < f->n_layers; i++) fused += f->layers[i].fused_relu;
    cr_assert_eq(fused, 2 * 5, "the model's 3 batchnorm-ReLU and 2 add-ReLU pairs are fused (%d layers marked)",
                 fused);
    for (int i = 0; i < p->n_layers; i++) cr_assert_eq(p->layers[i].fused_relu, 0, "no_fuse: layer %d fused", i);
    SgdConfig cfg = {.momentum = 0.9f, .nesterov = 1, .weight_decay = 5e-4f};
    Sgd sf, sp;
    sgd_init(&sf, &cfg, f->n_params, NULL, 0);
    sgd_init(&sp, &cfg, p->n_params, NULL, 0);
    uint8_t y[32];
    for (int step = 0; step < 4; step++) {
        int train = step < 3;
        Rng rf = rng_derive(3, (uint64_t)step), rp = rf;
        fill_input(f, batch, hw, (uint64_t)step, y);
        fill_input(p, batch, hw, (uint64_t)step, y);
        model_forward(f, batch, train, &rf);
        model_forward(p, batch, train, &rp);
        int cf, cp;
        float lf = model_loss(f, y, &cf), lp = model_loss(p, y, &cp);
        cr_assert(memcmp(&lf, &lp, sizeof lf) == 0 && cf == cp, "step %d: loss %.9g vs %.9g", step, (double)lf,
                  (double)lp);
        model_backward(f);
        model_backward(p);
        assert_same(f->grads, p->grads, f->n_params, "grads", step);
        assert_same(f->state, p->state, f->n_state, "running statistics", step);
        sgd_step(&sf, f->params, f->grads, 0.1f);
        sgd_step(&sp, p->params, p->grads, 0.1f);
        assert_same(f->params, p->params, f->n_params, "params", step);
    }
    sgd_free(&sf); sgd_free(&sp);
    model_free(f); model_free(p);
}

Test(fuse, same_bits) { check_same(4, 12, 32); }

// A row length that leaves a tail after the 16-lane blocks (3x3 outputs x 3 samples at the last stage).
Test(fuse, same_bits_odd_rows) { check_same(3, 12, 32); }

// Rows of several groups of 4 x 2048 (24x24 x 32 samples: 18432 per channel) and a partial group after them.
Test(fuse, same_bits_long_rows) { check_same(32, 24, 32); }

// At 8 bits (the add quantizes its operands, the errors are rounded stochastically).
Test(fuse, same_bits_8bit) { check_same(4, 12, 8); }
