// Range-EvoNorm (nn/layer_range_evonorm.c): backward against central finite differences at 32 bits, on
// group/chunk shapes that exercise the G and chunk reductions, and the forward against the formula.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "model.h"

#define K 4   // classes of the linear head

typedef struct {
    Model *m;
    int B;
    float *x0, *dx;
    uint8_t y[16];
    int checked, kinks, failed;
    char first[200];
} Fd;

static double fd_loss(Fd *f) {
    memcpy(model_input(f->m), f->x0, (size_t)f->m->slots[0].c * f->m->slots[0].h * f->m->slots[0].w * f->B * 4);
    model_forward(f->m, f->B, 1, NULL);
    const Slot *s = &f->m->slots[f->m->logits];
    double total = 0.0;
    for (int b = 0; b < f->B; b++) {
        double mx = s->val[b], sum = 0.0;
        for (int k = 1; k < K; k++) mx = fmax(mx, s->val[k * f->B + b]);
        for (int k = 0; k < K; k++) sum += exp(s->val[k * f->B + b] - mx);
        total += mx + log(sum) - s->val[f->y[b] * f->B + b];
    }
    return total / f->B;
}

// One entry: the first of steps 1e-2, 2.5e-3, 6.25e-4 whose central difference matches passes; when none does
// and the steps disagree, the entry straddles a kink (a chunk's max or min changing hands, hardsigmoid at +-3).
static void fd_entry(Fd *f, const char *what, size_t i, float *p, double a) {
    double lo = INFINITY, hi = -INFINITY, n = 0;
    for (float eps = 1e-2f; eps > 5e-4f; eps /= 4) {
        float p0 = *p;
        *p = p0 + eps;
        double lp = fd_loss(f);
        *p = p0 - eps;
        double lm = fd_loss(f);
        *p = p0;
        n = (lp - lm) / ((double)(p0 + eps) - (double)(p0 - eps));
        if (fabs(a - n) <= 1e-4 + 1e-2 * fmax(fabs(a), fabs(n))) { f->checked++; return; }
        lo = fmin(lo, n), hi = fmax(hi, n);
    }
    if (fabs(lo - hi) > 1e-4 + 1e-2 * fmax(fabs(lo), fabs(hi))) { f->kinks++; return; }
    if (f->failed++ == 0) snprintf(f->first, sizeof f->first, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, a, n);
}

// Range-EvoNorm on a (C, H, H) input and a linear head; v and beta away from their init so every term counts.
static void fd_check(int C, int H, int B, int want_groups, int want_chunks) {
    Model *m = model_new("revo", C, H, H, K, B);
    int x = model_range_evonorm(m, 0, 8, INIT_UNIFORM_POS);
    model_linear(m, x, K, 1);
    Rng init = rng_derive(11, 1), data = rng_derive(12, 2);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    cr_assert_eq(m->layers[0].groups, want_groups, "groups %d", m->layers[0].groups);
    cr_assert_eq(m->layers[0].k, want_chunks, "chunks %d", m->layers[0].k);
    const Layer *l = &m->layers[0];
    for (int c = 0; c < C; c++) {
        m->params[m->tensors[l->b + 1].offset + c] = (float)(1.0 + 0.5 * rng_normal(&data));   // v
        m->params[m->tensors[l->b].offset + c] = (float)(0.3 * rng_normal(&data));             // beta
    }
    Fd f = {.m = m, .B = B};
    size_t n_in = (size_t)C * H * H * B;
    f.x0 = xfloats(n_in), f.dx = xfloats(n_in);
    for (size_t i = 0; i < n_in; i++) f.x0[i] = (float)rng_normal(&data);
    for (int b = 0; b < B; b++) f.y[b] = (uint8_t)rng_below(&data, K);
    fd_loss(&f);
    model_loss(m, f.y, NULL);
    m->slots[0].grad = f.dx;
    model_backward(m);
    float *ga = xfloats(m->n_params);
    memcpy(ga, m->grads, m->n_params * sizeof(float));
    for (int t = 0; t < m->n_tensors; t++) {
        const Tensor *T = &m->tensors[t];
        for (size_t i = 0; i < T->count && i < 40; i++)
            fd_entry(&f, T->name, i, m->params + T->offset + i, ga[T->offset + i]);
    }
    for (size_t i = 0; i < n_in; i += n_in / 120 + 1) fd_entry(&f, "input", i, f.x0 + i, f.dx[i]);
    cr_log_info("range-evonorm C=%d %dx%d B=%d: %d entries match, %d at kinks, %d wrong", C, H, H, B, f.checked,
                f.kinks, f.failed);
    cr_assert_eq(f.failed, 0, "%d entries wrong, first %s", f.failed, f.first);
    cr_assert_geq(f.checked, 10 * (f.kinks + 1), "%d matched against %d at kinks", f.checked, f.kinks);
    m->slots[0].grad = NULL;
    model_free(m);
    free(f.x0), free(f.dx), free(ga);
}

Test(range_evonorm, gradient_8_groups_16_chunks) { fd_check(8, 8, 3, 8, 16); }        // 64 values: 16 chunks of 4
Test(range_evonorm, gradient_6_channels_5_chunks) { fd_check(6, 5, 2, 6, 5); }        // G 6; 25 values: 5 chunks of 5
Test(range_evonorm, gradient_16_channels_10_chunks) { fd_check(16, 10, 2, 8, 10); }   // 200 values: 10 chunks of 20

// The forward against the formula worked out here in double: C = 8 (one channel per group), 2x2 planes, so
// each group's 4 values fall in 2 chunks of 2 (M = 2), gamma 1, beta 0, v 1.
Test(range_evonorm, forward_matches_the_formula) {
    const int C = 8, B = 2, HW = 4;
    Model *m = model_new("revo", C, 2, 2, K, B);
    int x = model_range_evonorm(m, 0, 8, INIT_ONE);
    model_linear(m, x, K, 1);
    Rng init = rng_derive(1, 1), data = rng_derive(3, 3);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    cr_assert_eq(m->layers[0].k, 2, "chunks %d", m->layers[0].k);
    float *in = model_input(m);
    for (int i = 0; i < C * B * HW; i++) in[i] = (float)(2.0 * rng_normal(&data));
    model_forward(m, B, 1, NULL);
    double cm = 0.5 * 0.35 * (1 + sqrt(M_PI * log(4.0))) / sqrt(2 * log(2.0));
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            const float *v = in + ((size_t)c * B + b) * HW;   // the group: chunks {v0, v1} and {v2, v3}
            double r = (fmax(v[0], v[1]) + fmax(v[2], v[3])) / 2 - (fmin(v[0], v[1]) + fmin(v[2], v[3])) / 2;
            double sc = 1.0 / (r * cm + 1e-5);
            for (int i = 0; i < HW; i++) {
                double h = fmin(fmax(v[i] / 6.0 + 0.5, 0.0), 1.0), want = v[i] * h * sc;
                float got = m->slots[x].val[((size_t)c * B + b) * HW + i];
                cr_assert(fabs(got - want) <= 1e-5 * fmax(1.0, fabs(want)), "c %d b %d i %d: %g, expected %g", c, b, i,
                          got, want);
            }
        }
    model_free(m);
}

// Which models take it: the convolutional ones; the others are refused, naming the norm.
Test(range_evonorm, only_convolutional_models) {
    const char *yes[] = {"lenet5", "cnn5", "resnet20", "vgg11", "vgg11-standard"};
    for (int i = 0; i < 5; i++) cr_assert(model_takes_norm(yes[i], NORM_REVO), "%s", yes[i]);
    cr_assert(!model_takes_norm("mlp", NORM_REVO) && !model_takes_norm("linear", NORM_REVO));
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    cr_assert_null(model_build("mlp", NORM_REVO, 1, 28, 28, 10, 4, &init, &e));
    cr_assert(strstr(e.msg, "range-evonorm") && strstr(e.msg, "mlp"), "%s", e.msg);
}

// The reference's initializations: ResNet-20 gamma 1 except each block's last norm (0), v 1, beta 0, fc
// N(0, 0.01); VGG gamma in [0, 1).
Test(range_evonorm, reference_initializations) {
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    Model *m = model_build("resnet20", NORM_REVO, 3, 32, 32, 10, 2, &init, &e);
    cr_assert(m, "%s", e.msg);
    int n_revo = 0, n_zero = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        cr_assert(strcmp(l->ops->kind, "relu"), "no separate ReLU in ResNet-20 with range-evonorm");
        if (strcmp(l->ops->kind, "range-evonorm")) continue;
        n_revo++;
        const float *g = m->params + m->tensors[l->w].offset, *v = m->params + m->tensors[l->b + 1].offset;
        int zero = g[0] == 0.0f;
        n_zero += zero;
        for (size_t c = 0; c < m->tensors[l->w].count; c++) {
            cr_assert(g[c] == (zero ? 0.0f : 1.0f) && v[c] == 1.0f, "layer %d channel %zu: gamma %g v %g", i, c, g[c],
                      v[c]);
            cr_assert_eq(m->params[m->tensors[l->b].offset + c], 0.0f);
        }
    }
    cr_assert_eq(n_revo, 1 + 9 * 2 + 2, "%d norms", n_revo);   // stem, 2 per block, 2 shortcuts
    cr_assert_eq(n_zero, 9, "one zero-init norm per block, got %d", n_zero);
    model_free(m);
    m = model_build("vgg11-standard", NORM_REVO, 3, 32, 32, 10, 2, &init, &e);
    cr_assert(m, "%s", e.msg);
    int lin = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        lin += !strcmp(l->ops->kind, "linear");
        if (!strcmp(l->ops->kind, "conv2d")) cr_assert_eq(l->b, -1, "8-bit VGG convolutions have no bias");
        if (strcmp(l->ops->kind, "range-evonorm")) continue;
        const float *g = m->params + m->tensors[l->w].offset;
        for (size_t c = 0; c < m->tensors[l->w].count; c++) cr_assert(g[c] >= 0.0f && g[c] < 1.0f, "gamma %g", g[c]);
    }
    cr_assert_eq(lin, 2, "the paper's classifier: Linear(512, 512), ReLU, Linear(512, 10)");
    model_free(m);
}

// A (sample, group) constant within every chunk has no spread to normalize: s = 0 (output beta), never the
// reference's 1/eps = 1e5; at 8 bits it stays out of the batch's range of s, so the other samples keep theirs.
static void degenerate_group(int bits) {
    const int C = 8, B = 3, HW = 4;
    Model *m = model_new("revo", C, 2, 2, K, B);
    int x = model_range_evonorm(m, 0, 8, INIT_ONE);
    model_linear(m, x, K, 1);
    Rng init = rng_derive(1, 1), data = rng_derive(3, 3);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    if (bits == 8) cr_assert_eq(model_set_precision(m, 8, QROUND_NEAREST, rng_derive(5, 5), &e), 0, "%s", e.msg);
    float *in = model_input(m);
    for (int i = 0; i < C * B * HW; i++) in[i] = (float)(2.0 * rng_normal(&data));
    for (int i = 0; i < HW; i++) in[((size_t)2 * B + 1) * HW + i] = 1.5f;   // channel 2 (group 2), sample 1: constant
    model_forward(m, B, 1, NULL);
    for (int i = 0; i < HW; i++) {
        float got = m->slots[x].val[((size_t)2 * B + 1) * HW + i];
        cr_assert(got == 0.0f, "%d bits: the constant group's output %g, expected beta = 0", bits, got);
    }
    // Every other group's output stays in the range of a normalized value (|x h(x) s| well under 1e3).
    for (size_t i = 0; i < (size_t)C * B * HW; i++) {
        float v = m->slots[x].val[i];
        cr_assert(isfinite(v) && fabsf(v) < 100.0f, "%d bits: output %zu is %g", bits, i, v);
    }
    const uint8_t y[3] = {0, 1, 2};
    model_loss(m, y, NULL);
    model_backward(m);
    for (size_t i = 0; i < m->n_params; i++) cr_assert(isfinite(m->grads[i]), "%d bits: gradient %zu", bits, i);
    model_free(m);
}

Test(range_evonorm, constant_group_has_no_scale_32_bits) { degenerate_group(32); }
Test(range_evonorm, constant_group_has_no_scale_8_bits) { degenerate_group(8); }
