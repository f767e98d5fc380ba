// 2-D convolution over channel-major activations through nn/sgemm: forward with im2col written straight
// into the packed panels, writing the (OC, B, OH, OW) output; any stride and padding (docs/conv.md).
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "conv_cols.h"
#include "conv_direct.h"
#include "model.h"
#include "qgemm.h"
#include "sgemm.h"
#include "vec.h"

// "Same" stride-1 convolution (OH == H, OW == W): for a fixed (c, ki, kj, sample) the column row
// is the input plane shifted by (ki - p, kj - p), so it is one long copy plus zeroed borders.
static void im2col_same(const float *x, int C, int B, int H, int W, int b0, int nb, int k, int p, float *col) {
    size_t hw = (size_t)H * W, ncol = (size_t)nb * hw;
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                int dy = ki - p, dx = kj - p;
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                int oh0 = dy < 0 ? -dy : 0, oh1 = dy > 0 ? H - dy : H;   // rows with a source row
                for (int b = 0; b < nb; b++) {
                    const float *plane = x + ((size_t)c * B + b0 + b) * hw;
                    float *r = row + (size_t)b * hw;
                    size_t first = (size_t)oh0 * W, last = (size_t)oh1 * W;
                    for (size_t i = 0; i < first; i++) r[i] = 0.0f;
                    ptrdiff_t shift = (ptrdiff_t)dy * W + dx;   // r[i] = plane[i + shift] inside the plane
                    ptrdiff_t lo_s = -shift > (ptrdiff_t)first ? -shift : (ptrdiff_t)first;
                    ptrdiff_t hi_s = (ptrdiff_t)hw - shift < (ptrdiff_t)last ? (ptrdiff_t)hw - shift : (ptrdiff_t)last;
                    if (lo_s > (ptrdiff_t)last) lo_s = (ptrdiff_t)last;
                    if (hi_s < lo_s) hi_s = lo_s;
                    size_t lo = (size_t)lo_s, hi = (size_t)hi_s;
                    for (size_t i = first; i < lo; i++) r[i] = 0.0f;
                    for (size_t i = hi; i < last; i++) r[i] = 0.0f;
                    const float *src = plane + shift;
                    for (size_t i = lo; i < hi; i++) r[i] = src[i];
                    for (size_t i = last; i < hw; i++) r[i] = 0.0f;
                    // Columns that wrapped into the neighbouring row are padding.
                    if (dx < 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = 0; j < -dx; j++) r[(size_t)oh * W + j] = 0.0f;
                    if (dx > 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = W - dx; j < W; j++) r[(size_t)oh * W + j] = 0.0f;
                }
            }
}

// Columns for samples [b0, b0+nb): col is (C*k*k, nb*OH*OW).
static void im2col(const float *x, int C, int B, int H, int W, int b0, int nb, int k, int s, int p,
                   int OH, int OW, float *col) {
    if (s == 1 && OH == H && OW == W) { im2col_same(x, C, B, H, W, b0, nb, k, p, col); return; }
    size_t ncol = (size_t)nb * OH * OW;
    if (s == 1 && p == 0) {   // "valid" convolution: every window is inside the plane
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    float *restrict r = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                    for (int b = 0; b < nb; b++) {
                        const float *restrict src = x + ((size_t)c * B + b0 + b) * H * W + (size_t)ki * W + kj;
                        for (int oh = 0; oh < OH; oh++, r += OW, src += W)
                            for (int ow = 0; ow < OW; ow++) r[ow] = src[ow];
                    }
                }
        return;
    }
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                for (int b = 0; b < nb; b++) {
                    const float *plane = x + ((size_t)c * B + b0 + b) * H * W;
                    for (int oh = 0; oh < OH; oh++) {
                        int ih = oh * s - p + ki;
                        float *r = row + ((size_t)b * OH + oh) * OW;
                        if (ih < 0 || ih >= H) { memset(r, 0, sizeof(float) * OW); continue; }
                        const float *src = plane + (size_t)ih * W;
                        if (s == 1) {
                            int lo = p - kj > 0 ? p - kj : 0;              // first ow with iw >= 0
                            int hi = W + p - kj < OW ? W + p - kj : OW;     // first ow with iw >= W
                            if (hi < lo) hi = lo;
                            const float *sp = src - p + kj;   // sp[ow] is input column ow - p + kj
                            for (int ow = 0; ow < lo; ow++) r[ow] = 0.0f;
                            for (int ow = lo; ow < hi; ow++) r[ow] = sp[ow];   // short rows: a loop beats memcpy
                            for (int ow = hi; ow < OW; ow++) r[ow] = 0.0f;
                        } else {
                            for (int ow = 0; ow < OW; ow++) {
                                int iw = ow * s - p + kj;
                                r[ow] = (iw >= 0 && iw < W) ? src[iw] : 0.0f;
                            }
                        }
                    }
                }
            }
}

// Adjoint of im2col_same: each column row is added to the plane as one shifted block, after the
// entries that im2col_same would have taken from the padding are zeroed (col is scratch).
static void col2im_same(float *col, int C, int B, int H, int W, int b0, int nb, int k, int p, float *dx) {
    size_t hw = (size_t)H * W, ncol = (size_t)nb * hw;
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                int dy = ki - p, dxs = kj - p;
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                int oh0 = dy < 0 ? -dy : 0, oh1 = dy > 0 ? H - dy : H;
                if (oh1 <= oh0) continue;
                ptrdiff_t shift = (ptrdiff_t)dy * W + dxs;
                ptrdiff_t lo = (ptrdiff_t)oh0 * W, hi = (ptrdiff_t)oh1 * W;
                if (lo + shift < 0) lo = -shift;
                if (hi + shift > (ptrdiff_t)hw) hi = (ptrdiff_t)hw - shift;
                for (int b = 0; b < nb; b++) {
                    float *restrict r = row + (size_t)b * hw;
                    float *restrict dst = dx + ((size_t)c * B + b0 + b) * hw + shift;
                    if (dxs < 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = 0; j < -dxs; j++) r[(size_t)oh * W + j] = 0.0f;
                    if (dxs > 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = W - dxs; j < W; j++) r[(size_t)oh * W + j] = 0.0f;
                    for (ptrdiff_t i = lo; i < hi; i++) dst[i] += r[i];
                }
            }
}

// Scatter-add columns back into dx (the adjoint of im2col).
static void col2im(float *col, int C, int B, int H, int W, int b0, int nb, int k, int s, int p,
                   int OH, int OW, float *dx) {
    if (s == 1 && OH == H && OW == W) { col2im_same(col, C, B, H, W, b0, nb, k, p, dx); return; }
    size_t ncol = (size_t)nb * OH * OW;
    if (s == 1 && p == 0) {
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    const float *restrict r = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                    for (int b = 0; b < nb; b++) {
                        float *restrict dst = dx + ((size_t)c * B + b0 + b) * H * W + (size_t)ki * W + kj;
                        for (int oh = 0; oh < OH; oh++, r += OW, dst += W)
                            for (int ow = 0; ow < OW; ow++) dst[ow] += r[ow];
                    }
                }
        return;
    }
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                for (int b = 0; b < nb; b++) {
                    float *plane = dx + ((size_t)c * B + b0 + b) * H * W;
                    for (int oh = 0; oh < OH; oh++) {
                        int ih = oh * s - p + ki;
                        if (ih < 0 || ih >= H) continue;
                        const float *restrict r = row + ((size_t)b * OH + oh) * OW;
                        float *restrict dst = plane + (size_t)ih * W;
                        if (s == 1) {
                            int lo = p - kj > 0 ? p - kj : 0, hi = W + p - kj < OW ? W + p - kj : OW;
                            float *restrict dp = dst - p + kj;
                            for (int ow = lo; ow < hi; ow++) dp[ow] += r[ow];
                            continue;
                        }
                        for (int ow = 0; ow < OW; ow++) {
                            int iw = ow * s - p + kj;
                            if (iw >= 0 && iw < W) dst[iw] += r[ow];
                        }
                    }
                }
            }
}

// 1x1, stride 1, no padding: the input already is the column matrix (C, B*H*W).
static int conv_is_pointwise(const Layer *l) { return l->k == 1 && l->stride == 1 && l->pad == 0; }

// One input channel (LeNet-5's first conv): forward and weight gradient are direct convolutions
// (nn/conv_direct.h), which neither pack nor keep columns.
static int conv_is_direct(int C, const Layer *l, int OW) { return C == 1 && conv_direct_c1_fits(l->k, l->stride, OW); }

static int conv_chunk(const Model *m, const Layer *l) {
    const Slot *x = &m->slots[l->in], *y = &m->slots[l->out];
    size_t per = (size_t)x->c * l->k * l->k * y->h * y->w;
    int nb = (int)(m->n_work / per);
    if (nb < 1) nb = 1;
    return nb < m->cur ? nb : m->cur;
}

// y (OC, B*ohw) = W (OC, K) x columns of x (K, B*ohw), packed block by block from x; a training forward
// keeps the columns of small layers in l->save when `keep` (the fp32 path), and multiplies those.
static void conv_gemm(Model *m, Layer *l, const float *W, const float *x, float *y, int keep) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, K = C * l->k * l->k;
    int ohw = ys->h * ys->w;
    if (conv_is_pointwise(l)) {
        sgemm(0, 0, OC, B * ohw, K, W, K, x, B * ohw, y, B * ohw, 0);
        return;
    }
    if (conv_is_direct(C, l, ys->w)) {
        conv_direct_c1_forward(x, B, xs->h, xs->w, l->k, l->pad, OC, W, ys->h, ys->w, y);
        return;
    }
    ConvCols g = {.x = x, .C = C, .B = B, .H = xs->h, .W = xs->w, .k = l->k, .s = l->stride, .p = l->pad,
                  .OH = ys->h, .OW = ys->w, .b0 = 0};
    if (keep) {
        if (!conv_cols_write_avx512(&g, B, l->save))
            im2col(x, C, B, xs->h, xs->w, 0, B, l->k, l->stride, l->pad, ys->h, ys->w, l->save);
        sgemm(0, 0, OC, B * ohw, K, W, K, l->save, B * ohw, y, B * ohw, 0);
        return;
    }
    if (l->stride == 2) {   // the AVX-512 stride-2 writer, chunk by chunk, multiplied as a matrix (rows in place)
        int nb = conv_chunk(m, l);
        for (int b0 = 0; b0 < B; b0 += nb) {
            int n = B - b0 < nb ? B - b0 : nb;
            g.b0 = b0;
            if (!conv_cols_write_avx512(&g, n, m->work)) break;
            sgemm(0, 0, OC, n * ohw, K, W, K, m->work, n * ohw, y + (size_t)b0 * ohw, B * ohw, 0);
            if (b0 + n == B) return;
        }
        g.b0 = 0;
    }
    SgemmB b = conv_cols_b(&g);
    sgemm_packed(0, OC, B * ohw, K, W, K, &b, y, B * ohw, 0);
}

// Columns from codes xq (C, B, H, W), samples [b0, b0+nb): col (C*k*k, nb*OH*OW) of type T, where the
// input value is DEC(code) and the padding ZERO. The instance here: the codes themselves with code 0 at the
// padding (the int8 forward). (A decoding instance for the weight gradient's columns, x^ with exact zeros
// at the padding, measured slower than decoding the tensor and the float im2col: 1.03x against 1.10x.)
#define IM2COL_FROM_CODES(NAME, T, DEC, ZERO)                                                                    \
    static void NAME(const uint8_t *xq, QParam px, int C, int B, int H, int W, int b0, int nb, int k, int s,    \
                     int p, int OH, int OW, T *col) {                                                          \
        (void)px;                                                                                              \
        size_t ncol = (size_t)nb * OH * OW;                                                                    \
        for (int c = 0; c < C; c++)                                                                            \
            for (int ki = 0; ki < k; ki++)                                                                     \
                for (int kj = 0; kj < k; kj++) {                                                               \
                    T *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;                                     \
                    int lo = 0, hi = OW; /* stride 1: output columns [lo, hi) read the plane */                \
                    if (s == 1) {                                                                              \
                        lo = p - kj > 0 ? p - kj : 0;                                                          \
                        hi = W + p - kj < OW ? W + p - kj : OW;                                                \
                        if (hi < lo) hi = lo;                                                                  \
                    }                                                                                          \
                    for (int b = 0; b < nb; b++) {                                                             \
                        const uint8_t *plane = xq + ((size_t)c * B + b0 + b) * H * W;                          \
                        for (int oh = 0; oh < OH; oh++) {                                                      \
                            int ih = oh * s - p + ki;                                                          \
                            T *restrict r = row + ((size_t)b * OH + oh) * OW;                                  \
                            if (ih < 0 || ih >= H) {                                                           \
                                for (int ow = 0; ow < OW; ow++) r[ow] = ZERO;                                  \
                                continue;                                                                      \
                            }                                                                                  \
                            const uint8_t *restrict src = plane + (size_t)ih * W;                              \
                            if (s == 1) {                                                                      \
                                const uint8_t *sp = src - p + kj;                                              \
                                for (int ow = 0; ow < lo; ow++) r[ow] = ZERO;                                  \
                                for (int ow = lo; ow < hi; ow++) r[ow] = DEC(sp[ow]);                          \
                                for (int ow = hi; ow < OW; ow++) r[ow] = ZERO;                                 \
                            } else {                                                                           \
                                for (int ow = 0; ow < OW; ow++) {                                              \
                                    int iw = ow * s - p + kj;                                                  \
                                    r[ow] = (iw >= 0 && iw < W) ? DEC(src[iw]) : ZERO;                         \
                                }                                                                              \
                            }                                                                                  \
                        }                                                                                      \
                    }                                                                                          \
                }                                                                                              \
    }
#define CODE_SELF(q) (q)
IM2COL_FROM_CODES(im2col_q8_any, uint8_t, CODE_SELF, 0)

// im2col_same on codes: each column row is the plane shifted by (ki - p, kj - p), one long copy, with code 0
// at the rows and columns that fall in the padding (short rows make a per-row copy slow).
static void im2col_q8_same(const uint8_t *xq, int C, int B, int H, int W, int b0, int nb, int k, int p,
                           uint8_t *col) {
    size_t hw = (size_t)H * W, ncol = (size_t)nb * hw;
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                int dy = ki - p, dx = kj - p;
                uint8_t *row = col + ((size_t)(c * k + ki) * k + kj) * ncol;
                int oh0 = dy < 0 ? -dy : 0, oh1 = dy > 0 ? H - dy : H;   // rows with a source row
                if (oh1 < oh0) oh1 = oh0;
                ptrdiff_t shift = (ptrdiff_t)dy * W + dx;   // r[i] = plane[i + shift]
                size_t first = (size_t)oh0 * W, last = (size_t)oh1 * W;
                // [lo, hi): the part of [first, last) whose source lies inside the plane
                ptrdiff_t lo = (ptrdiff_t)first, hi = (ptrdiff_t)last;
                if (lo + shift < 0) lo = -shift;
                if (hi + shift > (ptrdiff_t)hw) hi = (ptrdiff_t)hw - shift;
                if (hi < lo) hi = lo;
                for (int b = 0; b < nb; b++) {
                    const uint8_t *plane = xq + ((size_t)c * B + b0 + b) * hw;
                    uint8_t *r = row + (size_t)b * hw;
                    memset(r, 0, (size_t)lo);
                    memcpy(r + lo, plane + lo + shift, (size_t)(hi - lo));
                    memset(r + hi, 0, hw - (size_t)hi);
                    // Columns that wrapped into the neighbouring row are padding.
                    if (dx < 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = 0; j < -dx; j++) r[(size_t)oh * W + j] = 0;
                    if (dx > 0)
                        for (int oh = oh0; oh < oh1; oh++)
                            for (int j = W - dx; j < W; j++) r[(size_t)oh * W + j] = 0;
                }
            }
}

static void im2col_q8(const uint8_t *xq, QParam px, int C, int B, int H, int W, int b0, int nb, int k, int s, int p,
                      int OH, int OW, uint8_t *col) {
    if (s == 1 && OH == H && OW == W) im2col_q8_same(xq, C, B, H, W, b0, nb, k, p, col);
    else im2col_q8_any(xq, px, C, B, H, W, b0, nb, k, s, p, OH, OW, col);
}

// The padding plan of a padded conv: output positions with the same set of kernel taps in the padding
// form a class (class 0: none, the interior); class c's padded taps (ki*k + kj) are ztap[zoff[c] ..
// zoff[c+1]), in every input channel. The positions of one sample's OH*OW outputs that are not interior are
// listed with their class (pos, pcls; n_border of them). One allocation, freed with the layer. A "same"
// conv's input gradient, computed as a conv of the error (below), has the same plan.
typedef struct {
    int n_classes, n_border;
    int *zoff, *ztap, *pos, *pcls;
} ConvPad;

static ConvPad *conv_pad_new(const Model *m, const Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int k = l->k, kk = k * k, OH = ys->h, OW = ys->w, ohw = OH * OW;
    // masks[c]: the taps in the padding for class c; at most ohw + 1 classes.
    uint64_t *masks = xmalloc(sizeof(uint64_t) * ((size_t)ohw + 1));
    int *pos_cls = xmalloc(sizeof(int) * (size_t)ohw), nc = 1, nbord = 0;
    masks[0] = 0;
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            uint64_t mask = 0;
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    int ih = oh * l->stride - l->pad + ki, iw = ow * l->stride - l->pad + kj;
                    if (ih < 0 || ih >= xs->h || iw < 0 || iw >= xs->w) mask |= (uint64_t)1 << (ki * k + kj);
                }
            int c = 0;
            while (c < nc && masks[c] != mask) c++;
            if (c == nc) masks[nc++] = mask;
            pos_cls[oh * OW + ow] = c;
            nbord += c != 0;
        }
    size_t nz = 0;
    for (int c = 0; c < nc; c++) nz += (size_t)__builtin_popcountll(masks[c]);
    ConvPad *cp = xmalloc(sizeof *cp + sizeof(int) * ((size_t)nc + 1 + nz + 2 * (size_t)nbord));
    cp->zoff = (int *)(cp + 1), cp->ztap = cp->zoff + nc + 1, cp->pos = cp->ztap + nz, cp->pcls = cp->pos + nbord;
    int z = 0;
    for (int c = 0; c < nc; c++) {
        cp->zoff[c] = z;
        for (int t = 0; t < kk; t++)
            if (masks[c] >> t & 1) cp->ztap[z++] = t;
    }
    cp->zoff[nc] = z;
    int j = 0;
    for (int i = 0; i < ohw; i++)
        if (pos_cls[i]) cp->pos[j] = i, cp->pcls[j++] = pos_cls[i];
    cp->n_classes = nc, cp->n_border = nbord;
    free(masks), free(pos_cls);
    return cp;
}

// The columns hold code 0 at the padding, so the affine product counts x^ = pb.min for each padded tap;
// corr (M, n_classes) holds those terms for op(A) = A (M, Cx*kk) row-major (codes in pa):
// corr[m][c] = pa.scale * pb.min * sum over padded k of A[m][k] + (number padded) * pa.min * pb.min
// (what qgemm_a_mul_affine_padded subtracts; here the sums are done once per product, not per chunk).
static float *conv_pad_corr(const ConvPad *cp, const uint8_t *A, int M, int Cx, int kk, QParam pa, QParam pb) {
    float *corr = xmalloc(sizeof(float) * (size_t)M * cp->n_classes);
    for (int mm = 0; mm < M; mm++)
        for (int c = 0; c < cp->n_classes; c++) {
            int32_t sum = 0;
            const uint8_t *row = A + (size_t)mm * Cx * kk;
            for (int ch = 0; ch < Cx; ch++)
                for (int z = cp->zoff[c]; z < cp->zoff[c + 1]; z++) sum += row[ch * kk + cp->ztap[z]];
            corr[(size_t)mm * cp->n_classes + c] =
                pa.scale * pb.min * (float)sum + (float)((cp->zoff[c + 1] - cp->zoff[c]) * Cx) * pa.min * pb.min;
        }
    return corr;
}

// y (M, ld) holding n samples of ohw columns: subtract corr at the border positions (the interior class
// has nothing padded).
static void conv_pad_subtract(const ConvPad *cp, const float *corr, int M, float *y, size_t ld, int n, int ohw) {
    for (int mm = 0; mm < M; mm++) {
        const float *restrict co = corr + (size_t)mm * cp->n_classes;
        for (int b = 0; b < n; b++) {
            float *restrict row = y + (size_t)mm * ld + (size_t)b * ohw;
            for (int j = 0; j < cp->n_border; j++) row[cp->pos[j]] -= co[cp->pcls[j]];
        }
    }
}

static QgemmQuant qq(QParam p) { return (QgemmQuant){.scale = p.scale, .min = p.min}; }

// The 8-bit forward product from the codes of both operands, W^ (OC, K) and x^ (C, B, H, W): the one place
// an integer kernel takes over. Int8: im2col of the codes, qgemm with the padding as exact zeros.
// Simulated: decode both, then the fp32 product.
static void conv_product_q8_forward(Model *m, Layer *l, const uint8_t *wq, QParam pw, const uint8_t *xq, QParam px,
                                    float *y) {
    if (m->q8_arith == Q8_ARITH_SIMULATED) {
        quant_decode(m->q8w, wq, m->tensors[l->w].count, pw);
        quant_decode(m->q8x, xq, slot_size(m, l->in), px);
        conv_gemm(m, l, m->q8w, m->q8x, y, 0);
        return;
    }
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, K = C * l->k * l->k, ohw = ys->h * ys->w;
    QgemmA *a = qgemm_a_new(NULL, 0, OC, K, wq, K);
    if (conv_is_pointwise(l)) {
        qgemm_a_mul_affine(a, qq(pw), B * ohw, xq, B * ohw, qq(px), y, B * ohw, 0);
        qgemm_a_free(a);
        return;
    }
    // Padding: code 0 in the columns, its affine terms taken off again at the border positions.
    ConvPad *cp = NULL;
    float *corr = NULL;
    if (l->pad) {
        if (!l->q8plan) l->q8plan = conv_pad_new(m, l);
        cp = l->q8plan;
        corr = conv_pad_corr(cp, wq, OC, C, l->k * l->k, pw, px);
    }
    int nb = (int)(m->n_work * sizeof(float) / ((size_t)K * ohw));   // codes: 4x the samples of the float chunk
    nb = nb < 1 ? 1 : (nb > B ? B : nb);
    uint8_t *col = (uint8_t *)m->work;   // K * n * ohw codes fit in the float columns' space
    for (int b0 = 0; b0 < B; b0 += nb) {
        int n = B - b0 < nb ? B - b0 : nb;
        im2col_q8(xq, px, C, B, xs->h, xs->w, b0, n, l->k, l->stride, l->pad, ys->h, ys->w, col);
        float *yc = y + (size_t)b0 * ohw;
        qgemm_a_mul_affine(a, qq(pw), n * ohw, col, n * ohw, qq(px), yc, B * ohw, 0);
        if (cp) conv_pad_subtract(cp, corr, OC, yc, (size_t)B * ohw, n, ohw);
    }
    free(corr);
    qgemm_a_free(a);
}

static void conv_forward(Model *m, Layer *l, int train, Rng *rng) {
    (void)rng;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, OC = ys->c, ohw = ys->h * ys->w;
    const float *W = m->params + m->tensors[l->w].offset;   // (OC, C, k, k)
    const float *bias = l->b >= 0 ? m->params + m->tensors[l->b].offset : NULL;
    if (m->bits == 8) {
        // Input by QuantMeasure (stochastic by default), weights and bias to nearest over their own range.
        l->px = model_act_range(m, l, 0);
        quant_encode(l->qx, xs->val, slot_size(m, l->in), l->px, m->act_round, &m->qrng);
        float mn, mx;
        quant_minmax(W, m->tensors[l->w].count, &mn, &mx);
        l->pw = quant_param(mn, mx);
        quant_encode(l->qw, W, m->tensors[l->w].count, l->pw, QROUND_NEAREST, NULL);
        conv_product_q8_forward(m, l, l->qw, l->pw, l->qx, l->px, ys->val);
        if (bias) {   // the product is done with m->q8w: it now holds the 8-bit bias
            quant_fake_minmax(m->q8w, bias, (size_t)OC, QROUND_NEAREST, NULL);
            bias = m->q8w;
        }
    } else {
        conv_gemm(m, l, W, xs->val, ys->val, train && l->save);
    }
    if (bias) {
        for (int o = 0; o < OC; o++) {
            float *row = ys->val + (size_t)o * B * ohw;
            for (size_t i = 0; i < (size_t)B * ohw; i++) row[i] += bias[o];
        }
    }
}

// dW^T (K, OC) of the layer in progress: a buffer per thread, kept (a malloc per layer would cost page
// faults: it is over glibc's mmap threshold for the larger layers).
static float *wgrad_scratch(size_t n) {
    static _Thread_local float *buf;
    static _Thread_local size_t cap;
    if (n > cap) {
        free(buf);
        buf = xfloats(n);
        cap = n;
    }
    return buf;
}

// dst (cols, rows) = src (rows, cols) transposed, in 16 x 16 tiles (a plain double loop strides through
// whole matrices: it cost VGG-11 15% of its step).
static void transpose(const float *restrict src, int rows, int cols, float *restrict dst) {
    for (int i0 = 0; i0 < rows; i0 += 16)
        for (int j0 = 0; j0 < cols; j0 += 16) {
            int i1 = rows - i0 < 16 ? rows : i0 + 16, j1 = cols - j0 < 16 ? cols : j0 + 16;
            for (int j = j0; j < j1; j++)
                for (int i = i0; i < i1; i++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
        }
}

// The chunk's input for the weight gradient read in place by sgemm_gather_a instead of as a written column
// matrix: xp (C, n, H+2p, W+2p) a zero-padded copy of samples [b0, b0+n) (about k*k times smaller than the
// columns; without padding, x itself, planes B samples apart). Row (c, ki, kj) of the column matrix is at
// roff = c * plane stride + ki*Wp + kj, column (b, oh, ow) at coff = b*HWp + oh*s*Wp + ow*s. The same
// values as the columns (0 in the padding) in the same order: the same bits. 0 when the backend in use
// has no such kernel or the copy does not fit the work buffer (the caller writes the columns).
static int wgrad_gather(const Model *m, const Layer *l, const float *x, int b0, int n, const float *dy, float *dWt,
                        int ldt, int flags) {
    static _Thread_local ptrdiff_t *roff;
    static _Thread_local int *coff;
    static _Thread_local size_t rcap, ccap;
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, H = xs->h, W = xs->w, k = l->k, s = l->stride, p = l->pad;
    int K = C * k * k, OH = ys->h, OW = ys->w, ohw = OH * OW, Hp = H + 2 * p, Wp = W + 2 * p;
    size_t hwp = (size_t)Hp * Wp;
    if (!sgemm_uses_gather()) return 0;
    if (p > 0 && (size_t)C * n * hwp + CONV_PAD_SLACK > m->n_work) return 0;
    if ((size_t)n * hwp > INT32_MAX) return 0;
    if ((size_t)K > rcap) {
        free(roff);
        roff = xmalloc(sizeof(ptrdiff_t) * (size_t)K);
        rcap = (size_t)K;
    }
    if ((size_t)n * ohw > ccap) {
        free(coff);
        coff = xmalloc(sizeof(int) * (size_t)n * ohw);
        ccap = (size_t)n * ohw;
    }
    const float *xp = x + (size_t)b0 * hwp;   // no padding: x itself, channel planes B samples apart
    ptrdiff_t cstride = (ptrdiff_t)B * hwp;
    if (p > 0) {
        ConvCols g = {.x = x, .C = C, .B = B, .H = H, .W = W, .k = k, .s = s, .p = p, .OH = OH, .OW = OW, .b0 = b0};
        conv_cols_pad(&g, n, m->work);
        xp = m->work, cstride = (ptrdiff_t)n * hwp;
    }
    for (int c = 0, i = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) roff[i++] = c * cstride + (ptrdiff_t)ki * Wp + kj;
    for (int b = 0, i = 0; b < n; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) coff[i++] = (int)(b * hwp + (size_t)oh * s * Wp + (size_t)ow * s);
    SgemmGatherA ga = {.a = xp, .roff = roff, .coff = coff};
    SgemmMatrix dm = {.b = dy + (size_t)b0 * ohw, .ldb = B * ohw, .trans = 1};
    SgemmB bm = sgemm_b_matrix(&dm);
    bm.rows = NULL;
    return sgemm_gather_a(K, OC, n * ohw, &ga, &bm, dWt, ldt, flags);
}

// dW (OC, K) += dy (OC, B*ohw) x columns of x, transposed; the columns from the forward when `kept`.
// Computed as dW^T (K, OC) += columns (K, n*ohw) . dy^T: the columns are sgemm's A as stored (no transpose
// of the big operand), dy^T is packed (OC*n*ohw floats). Each K block's tiles are added to dW^T: with many
// blocks (positions) in a scratch that starts as dW transposed and is transposed back at the end, so the
// kernel stores plain tiles (transposed stores of every block's tiles into dW cost 3% of a ResNet-20 step);
// with few (VGG-11's small late planes, where the transposes of large weights would cost more) straight
// into dW by transposed stores. The same additions either way: the same bits.
#define WGRAD_SCRATCH_POSITIONS (4 * 384)
static void conv_weight_grad(Model *m, Layer *l, const float *x, const float *dy, int kept) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, K = C * l->k * l->k, ohw = ys->h * ys->w;
    float *dW = m->grads + m->tensors[l->w].offset;
    if (conv_is_direct(C, l, ys->w)) {
        conv_direct_c1_weight_grad(x, B, xs->h, xs->w, l->k, l->pad, OC, dy, ys->h, ys->w, dW);
        return;
    }
    int scratch = (size_t)B * ohw >= WGRAD_SCRATCH_POSITIONS;
    float *dWt = dW;   // dW^T: (K, OC) at dWt[k * ldt + o], or dW itself read transposed
    int ldt = K, flags = SGEMM_ACCUMULATE | SGEMM_TRANS_C;
    if (scratch) {
        dWt = wgrad_scratch((size_t)K * OC), ldt = OC, flags = SGEMM_ACCUMULATE;
        transpose(dW, OC, K, dWt);
    }
    if (conv_is_pointwise(l)) {
        sgemm(0, 1, K, OC, B * ohw, x, B * ohw, dy, B * ohw, dWt, ldt, flags);
    } else if (kept) {
        sgemm(0, 1, K, OC, B * ohw, l->save, B * ohw, dy, B * ohw, dWt, ldt, flags);
    } else {
        int nb = conv_chunk(m, l);
        for (int b0 = 0; b0 < B; b0 += nb) {
            int n = B - b0 < nb ? B - b0 : nb;
            if (wgrad_gather(m, l, x, b0, n, dy, dWt, ldt, flags)) continue;
            ConvCols g = {.x = x, .C = C, .B = B, .H = xs->h, .W = xs->w, .k = l->k, .s = l->stride, .p = l->pad,
                          .OH = ys->h, .OW = ys->w, .b0 = b0};
            if (!conv_cols_write_avx512(&g, n, m->work))
                im2col(x, C, B, xs->h, xs->w, b0, n, l->k, l->stride, l->pad, ys->h, ys->w, m->work);
            sgemm(0, 1, K, OC, n * ohw, m->work, n * ohw, dy + (size_t)b0 * ohw, B * ohw, dWt, ldt, flags);
        }
    }
    if (scratch) transpose(dWt, K, OC, dW);
}

// A "same" convolution (stride 1, k = 2p + 1, output as large as the input).
static int conv_is_same(const Model *m, const Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    return l->stride == 1 && l->k == 2 * l->pad + 1 && ys->h == xs->h && ys->w == xs->w;
}

// The input gradient of a "same" conv is itself a "same" conv, of dy with the weights transposed and
// flipped: dx (C, B*hw) += W' (C, OC*k*k) . columns of dy, W'[c][o][t] = W[o][c][k*k-1-t]; the columns
// are packed straight from dy, so neither the column matrix nor col2im is needed.
static void conv_input_grad_same(Model *m, Layer *l, const float *W, const float *dy, float *dx) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, kk = l->k * l->k, hw = ys->h * ys->w;
    float *wt = xmalloc(sizeof(float) * (size_t)C * OC * kk);
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < kk; t++) wt[((size_t)c * OC + o) * kk + (kk - 1 - t)] = W[((size_t)o * C + c) * kk + t];
    ConvCols g = {.x = dy, .C = OC, .B = B, .H = ys->h, .W = ys->w, .k = l->k, .s = 1, .p = l->pad,
                  .OH = ys->h, .OW = ys->w, .b0 = 0};
    SgemmB b = conv_cols_b(&g);
    sgemm_packed(0, C, B * hw, OC * kk, wt, OC * kk, &b, dx, B * hw, SGEMM_ACCUMULATE);
    free(wt);
}

// dx (C, B, H, W) += the adjoint of the convolution applied to dy: W^T dy, scattered back by col2im
// (a "same" conv: conv_input_grad_same).
static void conv_input_grad(Model *m, Layer *l, const float *W, const float *dy, float *dx) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, K = C * l->k * l->k, ohw = ys->h * ys->w;
    if (conv_is_pointwise(l)) {
        sgemm(1, 0, K, B * ohw, OC, W, K, dy, B * ohw, dx, B * ohw, SGEMM_ACCUMULATE);
        return;
    }
    if (conv_is_same(m, l)) {
        conv_input_grad_same(m, l, W, dy, dx);
        return;
    }
    int nb = conv_chunk(m, l);
    for (int b0 = 0; b0 < B; b0 += nb) {
        int n = B - b0 < nb ? B - b0 : nb;
        sgemm(1, 0, K, n * ohw, OC, W, K, dy + (size_t)b0 * ohw, B * ohw, m->work, n * ohw, 0);
        ConvCols g = {.C = C, .B = B, .H = xs->h, .W = xs->w, .k = l->k, .s = l->stride, .p = l->pad,
                      .OH = ys->h, .OW = ys->w, .b0 = b0};
        if (!conv_cols_add_valid_avx512(m->work, &g, n, dx) && !conv_cols_add_s2_avx512(m->work, &g, n, dx))
            col2im(m->work, C, B, xs->h, xs->w, b0, n, l->k, l->stride, l->pad, ys->h, ys->w, dx);
    }
}

// The input gradient of a "same" conv (stride 1, k = 2p + 1) is itself a "same" conv, of the error with the
// weights transposed and flipped: dx (C, B*hw) += W' (C, OC*k*k) . columns of Q(dy), W'[c][o][t] =
// W[o][c][k*k-1-t]. On codes: im2col of the error's codes (4x fewer bytes than the float columns), qgemm
// straight into dx, the padding plan of the forward (the same geometry). This replaces the float columns
// (k*k times dx's size) and col2im; the sum has the same terms in another order.
static void conv_input_grad_same_q8(Model *m, Layer *l, const uint8_t *wq, QParam pw, const uint8_t *gq, QParam pg,
                                    float *dx) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, kk = l->k * l->k, hw = ys->h * ys->w;
    uint8_t *wt = xmalloc((size_t)C * OC * kk);
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < kk; t++)
                wt[((size_t)c * OC + o) * kk + (kk - 1 - t)] = wq[((size_t)o * C + c) * kk + t];
    QgemmA *a = qgemm_a_new(NULL, 0, C, OC * kk, wt, OC * kk);
    if (!l->q8plan) l->q8plan = conv_pad_new(m, l);
    ConvPad *cp = l->q8plan;
    float *corr = conv_pad_corr(cp, wt, C, OC, kk, pw, pg);
    size_t per = (size_t)OC * kk * hw;   // column codes per sample
    int nb = (int)(m->n_work * sizeof(float) / per);
    nb = nb < 1 ? 1 : (nb > B ? B : nb);
    uint8_t *col = (uint8_t *)m->work;
    for (int b0 = 0; b0 < B; b0 += nb) {
        int n = B - b0 < nb ? B - b0 : nb;
        im2col_q8(gq, pg, OC, B, ys->h, ys->w, b0, n, l->k, 1, l->pad, ys->h, ys->w, col);
        float *dxc = dx + (size_t)b0 * hw;
        qgemm_a_mul_affine(a, qq(pw), n * hw, col, n * hw, qq(pg), dxc, B * hw, 1);
        conv_pad_subtract(cp, corr, C, dxc, (size_t)B * hw, n, hw);
    }
    free(corr), free(wt);
    qgemm_a_free(a);
}

// The 8-bit input-gradient product from the codes of W^ and of the quantized error: the second place an
// integer kernel takes over. Int8: dcol = W^T . Q(dy) by qgemm, chunk by chunk, then col2im (which drops
// the padded rows, as the float path). Simulated: decode both, then the fp32 product.
static void conv_product_q8_input_grad(Model *m, Layer *l, const uint8_t *wq, QParam pw, const uint8_t *gq,
                                       QParam pg, float *dx) {
    if (m->q8_arith == Q8_ARITH_SIMULATED) {
        quant_decode(m->q8w, wq, m->tensors[l->w].count, pw);
        quant_decode(m->q8g, gq, slot_size(m, l->out), pg);
        conv_input_grad(m, l, m->q8w, m->q8g, dx);
        return;
    }
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, C = xs->c, OC = ys->c, K = C * l->k * l->k, ohw = ys->h * ys->w;
    QgemmA *a = qgemm_a_new(NULL, 1, K, OC, wq, K);
    if (conv_is_pointwise(l)) {
        qgemm_a_mul_affine(a, qq(pw), B * ohw, gq, B * ohw, qq(pg), dx, B * ohw, 1);
        qgemm_a_free(a);
        return;
    }
    // A "same" conv whose error columns (OC*k*k*hw codes per sample) fit the work buffer (OC <= 4C).
    if (l->stride == 1 && ys->h == xs->h && ys->w == xs->w && l->k == 2 * l->pad + 1 &&
        (size_t)OC * l->k * l->k * ohw <= m->n_work * sizeof(float)) {
        qgemm_a_free(a);
        conv_input_grad_same_q8(m, l, wq, pw, gq, pg, dx);
        return;
    }
    int nb = conv_chunk(m, l);
    for (int b0 = 0; b0 < B; b0 += nb) {
        int n = B - b0 < nb ? B - b0 : nb;
        qgemm_a_mul_affine(a, qq(pw), n * ohw, gq + (size_t)b0 * ohw, B * ohw, qq(pg), m->work, n * ohw, 0);
        col2im(m->work, C, B, xs->h, xs->w, b0, n, l->k, l->stride, l->pad, ys->h, ys->w, dx);
    }
    qgemm_a_free(a);
}

static void conv_backward(Model *m, Layer *l) {
    const Slot *xs = &m->slots[l->in], *ys = &m->slots[l->out];
    int B = m->cur, OC = ys->c, ohw = ys->h * ys->w;
    const float *dy = ys->grad;   // (OC, B*ohw)
    if (l->b >= 0) {
        float *db = m->grads + m->tensors[l->b].offset;
        for (int o = 0; o < OC; o++) db[o] += (float)vec_sum(dy + (size_t)o * B * ohw, (size_t)B * ohw);
    }
    if (m->bits == 8) {
        // The weight gradient from the 8-bit input and the unquantized error ("biprecision"); the input
        // gradient from the 8-bit weights and the error rounded stochastically to 8 bits.
        quant_decode(m->q8x, l->qx, slot_size(m, l->in), l->px);
        conv_weight_grad(m, l, m->q8x, dy, 0);
        if (!xs->grad) return;
        QParam pg = model_error_q8(m, dy, slot_size(m, l->out));
        conv_product_q8_input_grad(m, l, l->qw, l->pw, m->q8gc, pg, xs->grad);
        return;
    }
    conv_weight_grad(m, l, xs->val, dy, l->save && m->train && !conv_is_pointwise(l));
    if (xs->grad) conv_input_grad(m, l, m->params + m->tensors[l->w].offset, dy, xs->grad);
}

static const LayerOps conv_ops = {"conv2d", conv_forward, conv_backward, READS_IN, NULL};

// Column chunks are sized to stay in a core's L2 cache (measured: 512 KB chunks beat 4 MB ones by
// about 1.5x on ResNet-20 and LeNet-5); a chunk always holds at least one whole sample.
#define CONV_WORK_FLOATS ((size_t)1 << 17)
// Layers whose whole-batch columns fit in this keep them between forward and backward. 2 MB: ResNet-20's
// first conv (3.4 MB of columns) then rebuilds them in backward, which measured no slower and took peak RSS
// from 63.7 to 58.1 MB (VGG-11 narrow 40.2 to 32.3 MB) at batch 32.
#define CONV_KEEP_FLOATS ((size_t)1 << 19)

int model_conv(Model *m, int in, int oc, int k, int stride, int pad, int bias) {
    Slot x = m->slots[in];
    int oh = (x.h + 2 * pad - k) / stride + 1, ow = (x.w + 2 * pad - k) / stride + 1;
    int out = model_slot_new(m, oc, oh, ow);
    char name[48];
    int idx = m->n_layers;
    int wshape[4] = {oc, x.c, k, k};
    snprintf(name, sizeof name, "conv%d.weight", idx);
    // He initialization over fan-out, as the reference CIFAR models do.
    int w = model_tensor_new(m, name, 4, wshape, INIT_NORMAL, sqrtf(2.0f / (float)(k * k * oc)), 0);
    int b = -1;
    if (bias) {
        snprintf(name, sizeof name, "conv%d.bias", idx);
        b = model_tensor_new(m, name, 1, &oc, INIT_ZERO, 0.0f, 1);
    }
    Layer *l = model_layer_new(m, &conv_ops, in, -1, out);
    l->k = k; l->stride = stride; l->pad = pad;
    l->w = w; l->b = b;
    l->q8 = Q8_IN | Q8_W;
    l->macs = (uint64_t)oc * oh * ow * x.c * k * k;
    if (!conv_is_pointwise(l)) {
        size_t per = (size_t)x.c * k * k * oh * ow;
        size_t need = per * (size_t)m->batch;
        model_work_need(m, need < CONV_WORK_FLOATS ? need : (per > CONV_WORK_FLOATS ? per : CONV_WORK_FLOATS));
        if (need <= CONV_KEEP_FLOATS && !conv_is_direct(x.c, l, ow)) l->save_n = need;
    }
    return out;
}
