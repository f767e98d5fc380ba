// Range-EvoNorm (Aketi, Kodge, Roy 2022; the reference's RangeEN): per sample and group of channels,
// y = x * hardsigmoid(v x) * s * gamma + beta with s = 1 / (C(M) * mean-over-chunks range of x + eps).
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "model.h"
#include "revo_sums.h"

// Layer fields: groups G, k = chunks per group, eps; w = gamma, b = beta, and v is the tensor after beta.
#define REVO_V(l) ((l)->b + 1)
#define REVO_CHUNKS 16

static inline float hsig(float u) { float h = u / 6.0f + 0.5f; return h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h); }
// torch.clamp passes the gradient on the closed interval, so the slope is 1/6 for u in [-3, 3].
static inline float hsig_grad(float u) { return (u >= -3.0f && u <= 3.0f) ? 1.0f / 6.0f : 0.0f; }

// s = 1 / (R C(M) + eps), except for a (sample, group) whose input is constant within every chunk
// (R exactly 0: no spread to normalize, e.g. a group the hard-sigmoid has zeroed on the way in).
// The reference would multiply it by 1/eps = 1e5; here it gets s = 0 (its output is beta, no gradient
// flows through s), and at 8 bits it stays out of the batch's range of s, which it would otherwise
// stretch so far that every other sample's s rounds to 0 or to 1e5/255 (docs/precision.md).
static inline float revo_scale(float range, float cm, float eps) {
    return range > 0.0f ? 1.0f / (range * cm + eps) : 0.0f;
}

// The 8-bit s: nearest rounding over the min and max of the groups that have a scale; the others stay 0.
static void revo_scales_q8(float *sq, const float *sraw, size_t n) {
    float mn = 0.0f, mx = 0.0f;
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (sraw[i] > 0.0f) {
            if (!any || sraw[i] < mn) mn = sraw[i];
            if (!any || sraw[i] > mx) mx = sraw[i];
            any = 1;
        }
    QParam p = quant_param(mn, mx);
    for (size_t i = 0; i < n; i++) {
        if (sraw[i] > 0.0f) {
            uint8_t q;
            quant_fake(&sq[i], &q, &sraw[i], 1, p, QROUND_NEAREST, NULL);
        } else sq[i] = 0.0f;
    }
}

// C(M) = 0.5 * 0.35 * (1 + sqrt(pi ln 4)) / sqrt(2 ln M): the expected range of M Gaussian samples in
// units of their standard deviation, as Banner et al.'s range batch-norm scales it.
static float revo_cm(int M) {
    double mm = M < 2 ? 2.0 : (double)M;   // one value per chunk has no range (never in the model zoo)
    return (float)(0.5 * 0.35 * (1.0 + sqrt(M_PI * log(4.0))) / sqrt(2.0 * log(mm)));
}

typedef struct {
    int B, C, G, cg, HW, nch, M;
    float *sq, *sraw;     // [B*G] the scale used (8-bit at 8 bits) and the unquantized one
    int32_t *imax, *imin; // [B*G*nch] position (within the group) of each chunk's max and min
} Revo;

static Revo revo_view(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in];
    Revo r = {.B = m->cur, .C = xs->c, .G = l->groups, .HW = xs->h * xs->w, .nch = l->k};
    r.cg = r.C / r.G;
    r.M = r.cg * r.HW / r.nch;
    size_t bg = (size_t)m->batch * r.G;
    r.sq = l->save; r.sraw = l->save + bg;
    r.imax = (int32_t *)(l->save + 2 * bg);
    r.imin = r.imax + bg * r.nch;
    return r;
}

// v, gamma, beta as the arithmetic uses them: at 8 bits each rounded to nearest over its own range
// (into m->q8w as [v | gamma | beta]), else the parameters themselves.
static void revo_params(Model *m, Layer *l, int C, const float **v, const float **gamma, const float **beta) {
    const float *pv = m->params + m->tensors[REVO_V(l)].offset, *pg = m->params + m->tensors[l->w].offset;
    const float *pb = m->params + m->tensors[l->b].offset;
    if (m->bits != 8) { *v = pv, *gamma = pg, *beta = pb; return; }
    quant_fake_minmax(m->q8w, pv, (size_t)C, QROUND_NEAREST, NULL);
    quant_fake_minmax(m->q8w + C, pg, (size_t)C, QROUND_NEAREST, NULL);
    quant_fake_minmax(m->q8w + 2 * C, pb, (size_t)C, QROUND_NEAREST, NULL);
    *v = m->q8w, *gamma = m->q8w + C, *beta = m->q8w + 2 * C;
}

// Element j of group (b, g) in the channel-major (C, B, HW) layout: the reference's reshape of a sample's
// (C, H, W) values into (G, chunks, M) walks channels, then positions.
static inline size_t revo_at(const Revo *r, int b, int g, int j) {
    return ((size_t)(g * r->cg + j / r->HW) * r->B + b) * r->HW + (size_t)(j % r->HW);
}

// First position of the largest and of the smallest code in q[0..n) (n >= 1): vectorizable passes over
// bytes instead of a branchy scan over floats.
static void codes_extremes(const uint8_t *q, int n, int *imax, int *imin) {
    uint8_t hi = 0, lo = 255;
    for (int i = 0; i < n; i++) {
        hi = q[i] > hi ? q[i] : hi;
        lo = q[i] < lo ? q[i] : lo;
    }
    // The first occurrences by memchr (libc's vectorized byte search) rather than a byte-at-a-time loop.
    *imax = (int)((const uint8_t *)memchr(q, hi, (size_t)n) - q);
    *imin = (int)((const uint8_t *)memchr(q, lo, (size_t)n) - q);
}

// 8 bits: the chunk scan of revo_forward on the input's codes. x^ = q * scale + min is increasing in q, so
// the largest code is at the largest x^ (its first position, as the float scan), and the extremes are
// decoded as quant_fake decoded x^. Same results, unless two codes decode to one float (a scale below
// the float spacing of min: a constant tensor), where the float scan may pick an earlier position.
static void revo_scan_codes(Revo *r, const Layer *l, float cm) {
    const QParam p = l->px;
    for (int b = 0; b < r->B; b++)
        for (int g = 0; g < r->G; g++) {
            int32_t *imax = r->imax + ((size_t)b * r->G + g) * r->nch,
                    *imin = r->imin + ((size_t)b * r->G + g) * r->nch;
            double smax = 0.0, smin = 0.0;
            for (int k = 0; k < r->nch; k++) {
                int qhi = -1, qlo = 256;
                for (int j = k * r->M; j < (k + 1) * r->M;) {   // the chunk's pieces, one per channel it covers
                    int c = g * r->cg + j / r->HW, i = j % r->HW;
                    int len = r->HW - i < (k + 1) * r->M - j ? r->HW - i : (k + 1) * r->M - j;
                    const uint8_t *q = l->qx + ((size_t)c * r->B + b) * r->HW + i;
                    int a, z;
                    codes_extremes(q, len, &a, &z);
                    if (q[a] > qhi) qhi = q[a], imax[k] = j + a;   // strictly: the first extreme takes the gradient
                    if (q[z] < qlo) qlo = q[z], imin[k] = j + z;
                    j += len;
                }
                smax += (float)qhi * p.scale + p.min, smin += (float)qlo * p.scale + p.min;
            }
            float range = (float)(smax / r->nch) - (float)(smin / r->nch);
            r->sraw[b * r->G + g] = revo_scale(range, cm, l->eps);
        }
}

// y = x * hardsigmoid(v x) * s * gamma + beta from the scales r->sq; at 8 bits x is decoded from the input's
// codes l->qx on the fly (q * scale + min, the value quant_fake and quant_decode give), else read from x.
// One out-of-line copy serves forward and recompute, so both round alike.
__attribute__((noinline)) static void revo_output(Model *m, Layer *l, const Revo *r, const float *x) {
    const float *v, *gamma, *beta;
    revo_params(m, l, r->C, &v, &gamma, &beta);
    const int codes = m->bits == 8;
    const float psc = l->px.scale, pmn = l->px.min;
    for (int c = 0; c < r->C; c++)
        for (int b = 0; b < r->B; b++) {
            size_t o = ((size_t)c * r->B + b) * r->HW;
            float *y = m->slots[l->out].val + o;
            float a = r->sq[b * r->G + c / r->cg] * gamma[c];
            if (codes) {
                const uint8_t *q = l->qx + o;
                for (int i = 0; i < r->HW; i++) {
                    float xi = (float)q[i] * psc + pmn;
                    y[i] = xi * hsig(v[c] * xi) * a + beta[c];
                }
            } else {
                const float *xr = x + o;
                for (int i = 0; i < r->HW; i++) y[i] = xr[i] * hsig(v[c] * xr[i]) * a + beta[c];
            }
        }
}

static void revo_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)train; (void)rng;
    Revo r = revo_view(m, l);
    const Slot *xs = &m->slots[l->in];
    const float *x = xs->val;
    int on_codes = m->bits == 8 && m->q8_arith == Q8_ARITH_INT8;   // simulated: the float scan, the reference
    if (m->bits == 8) {   // the input by QuantMeasure; its codes are what backward reads
        size_t n = slot_size(m, l->in);
        l->px = model_act_range(m, l, 0);
        // On codes nothing reads the decoded floats (the output decodes the codes itself): the codes only,
        // the same draws and codes as quant_fake's.
        if (on_codes) quant_encode(l->qx, x, n, l->px, m->act_round, &m->qrng);
        else quant_fake(m->q8x, l->qx, x, n, l->px, m->act_round, &m->qrng), x = m->q8x;
    }
    float cm = revo_cm(r.M);
    if (on_codes) revo_scan_codes(&r, l, cm);
    for (int b = 0; b < r.B && !on_codes; b++)
        for (int g = 0; g < r.G; g++) {
            // One pass over the group in the reference's order (channels, then positions), chunk by chunk.
            int32_t *imax = r.imax + ((size_t)b * r.G + g) * r.nch, *imin = r.imin + ((size_t)b * r.G + g) * r.nch;
            float hi = 0.0f, lo = 0.0f;
            double smax = 0.0, smin = 0.0;
            int j = 0, k = 0, left = 0;
            for (int c = g * r.cg; c < (g + 1) * r.cg; c++) {
                const float *xr = x + ((size_t)c * r.B + b) * r.HW;
                for (int i = 0; i < r.HW; i++, j++) {
                    float xv = xr[i];
                    if (left == 0) {   // a chunk starts
                        hi = lo = xv, imax[k] = imin[k] = j, left = r.M;
                    } else {
                        if (xv > hi) hi = xv, imax[k] = j;   // the first extreme takes the gradient
                        if (xv < lo) lo = xv, imin[k] = j;
                    }
                    if (--left == 0) smax += hi, smin += lo, k++;
                }
            }
            float range = (float)(smax / r.nch) - (float)(smin / r.nch);
            r.sraw[b * r.G + g] = revo_scale(range, cm, l->eps);
        }
    size_t bg = (size_t)r.B * r.G;
    if (m->bits == 8) revo_scales_q8(r.sq, r.sraw, bg);
    else memcpy(r.sq, r.sraw, bg * sizeof(float));
    revo_output(m, l, &r, x);
}

// The output again from the input (at 8 bits its kept codes, decoded as quant_fake decoded them) and the
// saved scales (a recomputed slot, model.c).
static void revo_recompute(Model *m, Layer *l) {
    Revo r = revo_view(m, l);
    revo_output(m, l, &r, m->slots[l->in].val);   // at 8 bits from the kept codes
}

// At 8 bits with int8 products the per-channel sums come from nn/revo_sums.c: the terms of the sequential
// loop below, from the codes (decoded on the fly, as quant_decode and quant_fake decode them), in 8
// interleaved double partial sums (the simulated path's results up to summation order, as the products are).
// At 8 bits the error is rounded stochastically to 8 bits first and every gradient of the layer comes from
// it (the reference puts quantize_grad on the layer's output); the quantizers pass gradients straight through.
static void revo_backward(Model *m, Layer *l) {
    Revo r = revo_view(m, l);
    const Slot *xs = &m->slots[l->in];
    const float *x = xs->val, *dy = m->slots[l->out].grad;
    size_t n = slot_size(m, l->in);
    int lanes = m->bits == 8 && m->q8_arith == Q8_ARITH_INT8;
    QParam pg = {0};
    if (lanes)   // the error's codes in m->q8gc: the same draw and codes as model_error_fake's
        pg = model_error_q8(m, dy, n);
    else if (m->bits == 8) {
        model_error_fake(m, m->q8g, dy, n);
        dy = m->q8g;
        quant_decode(m->q8x, l->qx, n, l->px);
        x = m->q8x;
    }
    const float *v, *gamma, *beta;
    revo_params(m, l, r.C, &v, &gamma, &beta);
    float *dv = m->grads + m->tensors[REVO_V(l)].offset, *dgamma = m->grads + m->tensors[l->w].offset;
    float *dbeta = m->grads + m->tensors[l->b].offset, *dx = xs->grad;
    float cm = revo_cm(r.M);
    for (int b = 0; b < r.B; b++)
        for (int g = 0; g < r.G; g++) {
            float sq = r.sq[b * r.G + g], sraw = r.sraw[b * r.G + g];
            double ds = 0.0;   // d loss / d s
            for (int c = g * r.cg; c < (g + 1) * r.cg; c++) {
                size_t o = ((size_t)c * r.B + b) * r.HW;
                double sb = 0.0, sgn = 0.0, sdv = 0.0;
                if (lanes)
                    revo_sums_codes(l->qx + o, l->px, m->q8gc + o, pg, dx ? dx + o : NULL, r.HW, v[c], gamma[c] * sq,
                                    &sb, &sgn, &sdv);
                for (int i = 0; i < r.HW && !lanes; i++) {
                    float xi = x[o + i], d = dy[o + i], u = v[c] * xi, h = hsig(u), nv = xi * h;
                    float dn = d * gamma[c] * sq, hg = hsig_grad(u);
                    sb += d, sgn += d * nv;
                    sdv += dn * xi * xi * hg;
                    if (dx) dx[o + i] += dn * (h + xi * v[c] * hg);
                }
                dbeta[c] += (float)sb;
                dgamma[c] += (float)(sgn * sq);
                dv[c] += (float)sdv;
                ds += sgn * gamma[c];
            }
            if (!dx) continue;
            // s = 1 / (R C(M) + eps): ds/dR = -C(M) s^2; R's gradient goes to each chunk's max and min.
            float dr = (float)(ds * -cm * sraw * sraw) / (float)r.nch;
            for (int k = 0; k < r.nch; k++) {
                size_t at = ((size_t)b * r.G + g) * r.nch + k;
                dx[revo_at(&r, b, g, r.imax[at])] += dr;
                dx[revo_at(&r, b, g, r.imin[at])] -= dr;
            }
        }
}

static const LayerOps revo_ops = {"range-evonorm", revo_forward, revo_backward, READS_IN, revo_recompute};

// G as asked, reduced to the largest count that divides C (the reference asserts C % 8 == 0; LeNet-5's 6
// channels get 6 groups); chunks: 16, or the largest count below that divides a group's C/G*H*W values
// into chunks of at least 2 (the reference's reshape needs 16 to divide them).
int model_range_evonorm(Model *m, int in, int groups, InitKind gamma_init) {
    Slot x = m->slots[in];
    while (groups > 1 && x.c % groups) groups--;
    int L = x.c / groups * x.h * x.w, nch = REVO_CHUNKS;
    while (nch > 1 && (L % nch || L / nch < 2)) nch--;
    int out = model_slot_new(m, x.c, x.h, x.w);
    Layer *l = model_layer_new(m, &revo_ops, in, -1, out);
    l->eps = 1e-5f; l->groups = groups; l->k = nch;
    l->q8 = Q8_IN;
    char name[48];
    int idx = m->n_layers - 1;
    snprintf(name, sizeof name, "ren%d.weight", idx);
    l->w = model_tensor_new(m, name, 1, &x.c, gamma_init, 1.0f, 1);
    snprintf(name, sizeof name, "ren%d.bias", idx);
    l->b = model_tensor_new(m, name, 1, &x.c, INIT_ZERO, 0.0f, 1);
    snprintf(name, sizeof name, "ren%d.v", idx);
    model_tensor_new(m, name, 1, &x.c, INIT_ONE, 0.0f, 1);   // REVO_V(l)
    size_t bg = (size_t)m->batch * groups;
    l->save_n = 2 * bg + 2 * bg * nch;   // sq, sraw, then the chunks' int32 max and min positions
    return out;
}
