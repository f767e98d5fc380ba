// The int8 products of 8-bit training (nn/qgemm called by the conv and linear layers) against the simulated
// path (codes decoded to floats, sgemm): same codes, same weight gradients bit for bit, forward outputs and
// input gradients equal up to float summation order, on single layers and on a whole ResNet-20 step.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "qgemm.h"

#define NB 5   // batch: chunks of samples do not divide it evenly

typedef struct {
    int conv, c, hw, oc, k, stride, pad;   // conv == 0: linear (c*hw*hw -> oc)
} Geo;

static Model *one_layer(const Geo *g, Q8Arith arith) {
    Model *m = model_new("one", g->c, g->hw, g->hw, g->oc, NB);
    if (g->conv) model_gap(m, model_conv(m, 0, g->oc, g->k, g->stride, g->pad, 1));   // (oc) logits
    else model_linear(m, 0, g->oc, 1);
    Rng init = rng_derive(5, 1);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
    cr_assert_eq(model_set_precision(m, 8, QROUND_STOCHASTIC, rng_derive(5, 9), &e), 0, "%s", e.msg);
    cr_assert_eq(model_set_q8_arith(m, arith, 1, &e), 0, "%s", e.msg);
    return m;
}

static double max_abs(const float *x, size_t n) {
    double r = 0;
    for (size_t i = 0; i < n; i++) r = fabs(x[i]) > r ? fabs(x[i]) : r;
    return r;
}

// |a - b| <= tol everywhere; returns the largest difference.
static double assert_close(const float *a, const float *b, size_t n, double tol, const char *what) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        cr_assert(d <= tol, "%s[%zu]: int8 %.9g, simulated %.9g (tolerance %.3g)", what, i, a[i], b[i], tol);
        worst = d > worst ? d : worst;
    }
    return worst;
}

// Forward, the same fixed output gradient, backward, on both paths; compare.
static void layer_check(const Geo *g) {
    Model *mi = one_layer(g, Q8_ARITH_INT8), *ms = one_layer(g, Q8_ARITH_SIMULATED);
    size_t n_in = (size_t)g->c * g->hw * g->hw * NB;
    Rng data = rng_derive(7, 7);
    for (size_t i = 0; i < n_in; i++) model_input(mi)[i] = model_input(ms)[i] = (float)(0.7 + rng_normal(&data));
    float *dxi = xfloats(n_in), *dxs = xfloats(n_in);
    mi->slots[0].grad = dxi, ms->slots[0].grad = dxs;
    model_forward(mi, NB, 1, NULL);
    model_forward(ms, NB, 1, NULL);
    Layer *li = &mi->layers[0], *ls = &ms->layers[0];   // the conv or linear layer
    size_t n_out = slot_size(mi, li->out);
    cr_assert(!memcmp(li->qx, ls->qx, slot_size(mi, li->in)), "the input codes differ");
    cr_assert(li->px.scale == ls->px.scale && li->px.min == ls->px.min);
    cr_assert(!memcmp(li->qw, ls->qw, mi->tensors[li->w].count), "the weight codes differ");
    cr_assert_neq(ls->px.min, 0.0f, "x^ = 0 must not be a code, or padding would be trivially exact");
    // A bound on summation-order differences: 1e-5 of the largest possible sum of |terms|.
    int K = g->conv ? g->c * g->k * g->k : g->c * g->hw * g->hw;
    double wmax = fabs(li->pw.min) + 255.0 * li->pw.scale, xmax = fabs(li->px.min) + 255.0 * li->px.scale;
    double tol = 1e-5 * K * wmax * xmax;
    double dy_fwd = assert_close(mi->slots[li->out].val, ms->slots[ls->out].val, n_out, tol, "forward");
    cr_assert_gt(max_abs(ms->slots[ls->out].val, n_out), 100 * tol, "the outputs are large against the tolerance");
    // The same output gradient on both (a fixed tensor, as the loss of two slightly different outputs is not).
    for (size_t i = 0; i < n_out; i++)
        mi->slots[li->out].grad[i] = ms->slots[ls->out].grad[i] = (float)(0.01 * rng_normal(&data));
    memset(dxi, 0, n_in * sizeof(float)), memset(dxs, 0, n_in * sizeof(float));
    memset(mi->grads, 0, mi->n_params * sizeof(float)), memset(ms->grads, 0, ms->n_params * sizeof(float));
    li->ops->backward(mi, li);   // that layer alone, from the fixed gradient
    ls->ops->backward(ms, ls);
    for (size_t i = 0; i < mi->n_params; i++)
        cr_assert(mi->grads[i] == ms->grads[i], "gradient %zu of %zu: int8 path %.9g, simulated %.9g (fp32 both)", i,
                  mi->n_params, mi->grads[i], ms->grads[i]);
    double gmax = 0.0;
    for (size_t i = 0; i < n_out; i++)
        gmax = fabs(mi->slots[li->out].grad[i]) > gmax ? fabs(mi->slots[li->out].grad[i]) : gmax;
    double tolg = 1e-5 * g->oc * g->k * g->k * wmax * 2 * gmax + 1e-12;
    double d_in = assert_close(dxi, dxs, n_in, tolg, "input gradient");
    cr_assert_gt(max_abs(dxs, n_in), 100 * tolg, "the input gradients are large against the tolerance");
    cr_log_info("%s %d->%d k%d s%d p%d: largest difference forward %.2g (of %.3g), input gradient %.2g (of %.3g)",
                g->conv ? "conv" : "linear", g->c, g->oc, g->k, g->stride, g->pad, dy_fwd,
                max_abs(ms->slots[ls->out].val, n_out), d_in, max_abs(dxs, n_in));
    mi->slots[0].grad = ms->slots[0].grad = NULL;
    model_free(mi), model_free(ms);
    free(dxi), free(dxs);
}

Test(int8, conv_3x3_padded) { layer_check(&(Geo){1, 16, 12, 24, 3, 1, 1}); }
Test(int8, conv_3x3_padded_wide) { layer_check(&(Geo){1, 2, 8, 16, 3, 1, 1}); }   // OC = 8C: wide error columns
Test(int8, conv_3x3_padded_strided) { layer_check(&(Geo){1, 16, 11, 32, 3, 2, 1}); }
Test(int8, conv_5x5_padded_lenet) { layer_check(&(Geo){1, 3, 14, 6, 5, 1, 2}); }
Test(int8, conv_1x1_strided) { layer_check(&(Geo){1, 16, 8, 32, 1, 2, 0}); }
Test(int8, conv_1x1_pointwise) { layer_check(&(Geo){1, 24, 6, 16, 1, 1, 0}); }
Test(int8, conv_valid) { layer_check(&(Geo){1, 6, 10, 16, 5, 1, 0}); }
Test(int8, linear) { layer_check(&(Geo){0, 40, 1, 10, 1, 1, 0}); }

// Every qgemm backend this CPU runs gives the same layer results (they all compute P exactly).
Test(int8, every_backend_on_a_padded_conv) {
    const char *was = qgemm_backend();
    for (int i = 0; i < qgemm_n_backends; i++) {
        if (!qgemm_backend_supported(qgemm_backends[i])) continue;
        cr_assert_eq(qgemm_backend_set(qgemm_backend_name(qgemm_backends[i])), 0);
        layer_check(&(Geo){1, 8, 9, 16, 3, 1, 1});
    }
    qgemm_backend_set(was);
}

static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)b[i] * b[i];
    return sqrt(d / (r > 0 ? r : 1));
}

static Model *resnet(Q8Arith arith, uint64_t qseed) {
    Rng init = rng_derive(3, 1);
    Err e = {{0}};
    Model *m = model_build("resnet20", NORM_REVO, 3, 32, 32, 10, 4, &init, &e);
    cr_assert(m, "%s", e.msg);
    cr_assert_eq(model_set_precision(m, 8, QROUND_STOCHASTIC, rng_derive(qseed, 4), &e), 0, "%s", e.msg);
    cr_assert_eq(model_set_q8_arith(m, arith, 1, &e), 0, "%s", e.msg);
    return m;
}

static void resnet_step(Model *m, double *loss) {
    Rng data = rng_derive(4, 4);
    uint8_t y[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < (size_t)3 * 32 * 32 * 4; i++) model_input(m)[i] = (float)rng_normal(&data);
    model_forward(m, 4, 1, NULL);
    *loss = model_loss(m, y, NULL);
    model_backward(m);
}

// A whole ResNet-20 (Range-EvoNorm) step: the int8 step's logits and gradients match the simulated step's.
// Through 20 layers of quantizers a summation-order difference can move a value across a rounding boundary
// (one code step, and the next ranges with it), so the comparison is relative: several times closer than
// two simulated steps that differ only in the rounding draws (measured: 0.0066 against 0.041 for logits).
Test(int8, resnet20_step, .timeout = 60) {
    Model *mi = resnet(Q8_ARITH_INT8, 1), *ms = resnet(Q8_ARITH_SIMULATED, 1), *mo = resnet(Q8_ARITH_SIMULATED, 2);
    double li, ls, lo;
    resnet_step(mi, &li), resnet_step(ms, &ls), resnet_step(mo, &lo);
    size_t nl = (size_t)10 * 4, np = mi->n_params;
    const float *zi = mi->slots[mi->logits].val, *zs = ms->slots[ms->logits].val, *zo = mo->slots[mo->logits].val;
    double e_logit = rel_l2(zi, zs, nl), e_grad = rel_l2(mi->grads, ms->grads, np);
    double o_logit = rel_l2(zo, zs, nl), o_grad = rel_l2(mo->grads, ms->grads, np);
    cr_log_info("resnet20 step: loss int8 %.7f simulated %.7f; relative L2 int8 vs simulated: logits %.2g, "
                "gradients %.2g; other draws vs simulated: %.2g, %.2g", li, ls, e_logit, e_grad, o_logit, o_grad);
    // Per layer: the share of input codes that differ. The first conv sees the same input (none differ); each
    // later quantizer flips the few values that sit within a rounding error of a code boundary, and the
    // flips grow with depth (about 1e-4 of the codes at layer 1, a few percent near the end).
    for (int i = 0; i < mi->n_layers; i++) {
        Layer *a = &mi->layers[i], *b = &ms->layers[i];
        if (!(a->q8 & Q8_IN)) continue;
        size_t n = slot_size(mi, a->in), diff = 0;
        for (size_t j = 0; j < n; j++) diff += a->qx[j] != b->qx[j];
        cr_log_info("layer %d %s: %zu of %zu input codes differ", i, a->ops->kind, diff, n);
        if (i == 0) cr_assert_eq(diff, 0, "the first layer's input codes differ");
        if (i == 1) cr_assert_lt(diff, n / 1000, "layer 1: %zu of %zu codes differ", diff, n);
    }
    cr_assert_lt(fabs(li - ls), 1e-3 * fabs(ls), "loss %.7f vs %.7f", li, ls);
    cr_assert_lt(e_logit, 0.3 * o_logit, "logits: int8 vs simulated %.3g, against other draws %.3g", e_logit, o_logit);
    cr_assert_lt(e_grad, 0.3 * o_grad, "gradients: int8 vs simulated %.3g, against other draws %.3g", e_grad, o_grad);
    model_free(mi), model_free(ms), model_free(mo);
}

// Range-EvoNorm at 8 bits finds its chunk extremes on the codes when the products are int8 (the float scan
// when simulated): the same positions, scales and outputs, bit for bit, with chunks that span channels.
Test(int8, range_evonorm_scan_on_codes) {
    Model *mm[2];
    for (int k = 0; k < 2; k++) {
        Model *m = mm[k] = model_new("revo", 16, 3, 11, 16, NB);   // G 8: 2 channels of 33 = 66 values, 11 chunks of 6
        model_gap(m, model_range_evonorm(m, 0, 8, INIT_UNIFORM_POS));
        Rng init = rng_derive(2, 1);
        Err e = {{0}};
        cr_assert_eq(model_finalize(m, &init, &e), 0, "%s", e.msg);
        cr_assert_eq(model_set_precision(m, 8, QROUND_STOCHASTIC, rng_derive(2, 9), &e), 0, "%s", e.msg);
        cr_assert_eq(model_set_q8_arith(m, k ? Q8_ARITH_SIMULATED : Q8_ARITH_INT8, 1, &e), 0, "%s", e.msg);
        Rng data = rng_derive(3, 3);
        for (size_t i = 0; i < (size_t)16 * 33 * NB; i++) model_input(m)[i] = (float)rng_normal(&data);
        model_forward(m, NB, 1, NULL);
    }
    Layer *a = &mm[0]->layers[0], *b = &mm[1]->layers[0];
    cr_assert_gt(a->k, 1, "several chunks");
    cr_assert_neq(33 % (66 / a->k), 0, "a chunk spans two channels (%d chunks)", a->k);
    cr_assert(!memcmp(a->save, b->save, a->save_n * sizeof(float)), "scales or extreme positions differ");
    size_t n = slot_size(mm[0], a->out);
    cr_assert(!memcmp(mm[0]->slots[a->out].val, mm[1]->slots[b->out].val, n * sizeof(float)), "outputs differ");
    // Backward from one fixed error: the same gradients up to the order of the per-channel sums.
    size_t nin = (size_t)16 * 33 * NB;
    float *dx[2] = {xfloats(nin), xfloats(nin)};
    Rng gr = rng_derive(4, 4);
    float *g = xfloats(n);
    for (size_t i = 0; i < n; i++) g[i] = (float)rng_normal(&gr);
    for (int k = 0; k < 2; k++) {
        Layer *l = &mm[k]->layers[0];
        mm[k]->slots[0].grad = dx[k];
        memset(dx[k], 0, nin * sizeof(float)), memset(mm[k]->grads, 0, mm[k]->n_params * sizeof(float));
        memcpy(mm[k]->slots[l->out].grad, g, n * sizeof(float));
        l->ops->backward(mm[k], l);
        mm[k]->slots[0].grad = NULL;
    }
    double gmax = max_abs(mm[1]->grads, mm[1]->n_params), xmax = max_abs(dx[1], nin);
    assert_close(mm[0]->grads, mm[1]->grads, mm[1]->n_params, 1e-5 * gmax, "parameter gradient");
    assert_close(dx[0], dx[1], nin, 1e-5 * xmax, "input gradient");
    free(dx[0]), free(dx[1]), free(g);
    model_free(mm[0]), model_free(mm[1]);
}

// The choice is explicit: int8 needs 8 bits; names say what runs.
Test(int8, arith_names) {
    Model *m = model_new("one", 4, 1, 1, 2, 2);
    model_linear(m, 0, 2, 1);
    Rng init = rng_derive(1, 1);
    Err e = {{0}};
    cr_assert_eq(model_finalize(m, &init, &e), 0);
    cr_assert_str_eq(model_arith_name(m), "fp32");
    cr_assert_eq(model_set_q8_arith(m, Q8_ARITH_INT8, 1, &e), -1, "int8 at 32 bits");
    cr_assert_eq(model_set_precision(m, 8, QROUND_STOCHASTIC, rng_derive(1, 2), &e), 0);
    if (strcmp(qgemm_backend(), "plain")) {
        cr_assert_eq(m->q8_arith, Q8_ARITH_INT8, "the SIMD backend %s is used by default", qgemm_backend());
        char want[48];
        snprintf(want, sizeof want, "int8 %s", qgemm_backend());
        cr_assert_str_eq(model_arith_name(m), want);
    } else {
        cr_assert_eq(m->q8_arith, Q8_ARITH_SIMULATED);
    }
    cr_assert_eq(model_set_q8_arith(m, Q8_ARITH_SIMULATED, 0, &e), 0);
    cr_assert_str_eq(model_arith_name(m), "simulated");
    model_free(m);
}
