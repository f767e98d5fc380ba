// Direct convolution of a one-channel input (LeNet-5's first layer): each output row is an fma chain
// over the taps read from a zero-padded copy of the sample, with the same bits as im2col + sgemm.
#include "conv_direct.h"
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sgemm.h"
#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CONV_DIRECT_X86 1
#endif

#define KK_MAX 384   // sgemm's largest K block: up to it, sgemm's sum is one fma chain from 0
#define OW_MAX 32   // two 16-lane halves per output row
#define OB 6         // output channels per AVX-512 block (12 accumulators for 32 lanes)
#define GO 3         // weight gradient: output channels x taps of one kernel row per block (15 accumulators)
#define GJ 5

int conv_direct_c1_fits(int k, int s, int OW) { return s == 1 && k >= 1 && k * k <= KK_MAX && OW <= OW_MAX; }

// xp (OH + k - 1, wp): the sample with its padding as zeros.
static void pad_plane(const float *x, int H, int W, int p, int hp, int wp, float *xp) {
    memset(xp, 0, sizeof(float) * (size_t)hp * wp);
    for (int i = 0; i < H; i++) {
        int r = i + p;
        if (r < 0 || r >= hp) continue;
        for (int j = 0; j < W; j++) {
            int c = j + p;
            if (c >= 0 && c < wp) xp[(size_t)r * wp + c] = x[(size_t)i * W + j];
        }
    }
}

// Plain C: one output at a time, the taps in order (sgemm's plain kernel does the same fmas).
static void c1_plane_plain(const float *xp, int wp, int k, int OC, const float *w, int OH, int OW, float *y,
                           size_t plane) {
    int kk = k * k;
    for (int o = 0; o < OC; o++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float acc = 0.0f;
                for (int ki = 0; ki < k; ki++)
                    for (int kj = 0; kj < k; kj++)
                        acc = fmaf(w[(size_t)o * kk + ki * k + kj], xp[(size_t)(oh + ki) * wp + ow + kj], acc);
                y[(size_t)o * plane + (size_t)oh * OW + ow] = acc;
            }
}

#ifdef CONV_DIRECT_X86
#define AVX512_TARGET __attribute__((target("avx512f,fma")))

static int avx512_on(void) {
    static int ok = -1;
    if (ok < 0) ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    return ok;
}

// Output rows of OB channels (rows past ov repeat the last valid one, never stored), 32 lanes from j0.
AVX512_TARGET static void c1_block_avx512(const float *xp, int wp, int k, const float *w, int ov, int OH, int OW,
                                          int j0, float *y, size_t plane) {
    int kk = k * k, nv = OW - j0 < 32 ? OW - j0 : 32;
    __mmask16 m0 = (__mmask16)(nv >= 16 ? 0xffff : (1u << nv) - 1);
    __mmask16 m1 = (__mmask16)(nv <= 16 ? 0 : nv >= 32 ? 0xffff : (1u << (nv - 16)) - 1);
    const float *wr[OB];
    for (int r = 0; r < OB; r++) wr[r] = w + (size_t)(r < ov ? r : ov - 1) * kk;
    for (int oh = 0; oh < OH; oh++) {
        // Named accumulators: with an array GCC spills them around every fma.
        __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
               a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        for (int ki = 0; ki < k; ki++) {
            const float *src = xp + (size_t)(oh + ki) * wp + j0;
            for (int kj = 0; kj < k; kj++) {
                int t = ki * k + kj;
                __m512 b0 = _mm512_maskz_loadu_ps(m0, src + kj), b1 = _mm512_maskz_loadu_ps(m1, src + kj + 16);
#define C1_FMA(R)                                                                                                      \
    do {                                                                                                               \
        __m512 wv = _mm512_set1_ps(wr[R][t]);                                                                          \
        a##R##0 = _mm512_fmadd_ps(wv, b0, a##R##0);                                                                    \
        a##R##1 = _mm512_fmadd_ps(wv, b1, a##R##1);                                                                    \
    } while (0)
                C1_FMA(0);
                C1_FMA(1);
                C1_FMA(2);
                C1_FMA(3);
                C1_FMA(4);
                C1_FMA(5);
#undef C1_FMA
            }
        }
        __m512 lo[OB] = {a00, a10, a20, a30, a40, a50}, hi[OB] = {a01, a11, a21, a31, a41, a51};
        for (int r = 0; r < ov; r++) {
            float *d = y + (size_t)r * plane + (size_t)oh * OW + j0;
            _mm512_mask_storeu_ps(d, m0, lo[r]);
            if (m1) _mm512_mask_storeu_ps(d + 16, m1, hi[r]);
        }
    }
}
#endif

// Plain C weight gradient of one sample: acc (OC, k*k, 16) lane sums, as the AVX-512 path's lanes.
static void c1_grad_plain(const float *xp, int wp, int k, int OC, const float *dy, int OH, int OW, size_t plane,
                          float *acc) {
    int kk = k * k;
    for (int o = 0; o < OC; o++)
        for (int t = 0; t < kk; t++) {
            float *a = acc + ((size_t)o * kk + t) * 16;
            int ki = t / k, kj = t % k;
            for (int oh = 0; oh < OH; oh++) {
                const float *d = dy + (size_t)o * plane + (size_t)oh * OW;
                const float *s = xp + (size_t)(oh + ki) * wp + kj;
                for (int j0 = 0; j0 < 32; j0 += 16)
                    for (int L = 0; L < 16; L++) {
                        int j = j0 + L;
                        float dv = j < OW ? d[j] : 0.0f, xv = j < OW ? s[j] : 0.0f;
                        a[L] = fmaf(dv, xv, a[L]);
                    }
            }
        }
}

#ifdef CONV_DIRECT_X86
// One sample's lane sums for output channels o0.. (ov of GO valid) and taps (ki, kj0..) (jv of GJ valid):
// acc rows as c1_grad_plain's. Invalid rows/taps repeat the last valid ones and are not stored.
AVX512_TARGET static void c1_grad_block_avx512(const float *xp, int wp, int k, int kk, const float *dy, int ov,
                                               int ki, int kj0, int jv, int OH, int OW, size_t plane, float *acc) {
    __mmask16 m0 = (__mmask16)(OW >= 16 ? 0xffff : (1u << OW) - 1);
    __mmask16 m1 = (__mmask16)(OW <= 16 ? 0 : OW >= 32 ? 0xffff : (1u << (OW - 16)) - 1);
    const float *d[GO];
    int kj[GJ];
    for (int r = 0; r < GO; r++) d[r] = dy + (size_t)(r < ov ? r : ov - 1) * plane;
    for (int c = 0; c < GJ; c++) kj[c] = kj0 + (c < jv ? c : jv - 1);
    float *ap[GO][GJ];
    for (int r = 0; r < GO; r++)
        for (int c = 0; c < GJ; c++) ap[r][c] = acc + ((size_t)(r < ov ? r : ov - 1) * kk + ki * k + kj[c]) * 16;
#define G_ROW(R) __m512 a##R##0 = _mm512_loadu_ps(ap[R][0]), a##R##1 = _mm512_loadu_ps(ap[R][1]),                   \
                        a##R##2 = _mm512_loadu_ps(ap[R][2]), a##R##3 = _mm512_loadu_ps(ap[R][3]),                   \
                        a##R##4 = _mm512_loadu_ps(ap[R][4])
    G_ROW(0);
    G_ROW(1);
    G_ROW(2);
#undef G_ROW
    for (int oh = 0; oh < OH; oh++) {
        const float *s = xp + (size_t)(oh + ki) * wp;
        __m512 dl0 = _mm512_maskz_loadu_ps(m0, d[0] + (size_t)oh * OW),
               dh0 = _mm512_maskz_loadu_ps(m1, d[0] + (size_t)oh * OW + 16);
        __m512 dl1 = _mm512_maskz_loadu_ps(m0, d[1] + (size_t)oh * OW),
               dh1 = _mm512_maskz_loadu_ps(m1, d[1] + (size_t)oh * OW + 16);
        __m512 dl2 = _mm512_maskz_loadu_ps(m0, d[2] + (size_t)oh * OW),
               dh2 = _mm512_maskz_loadu_ps(m1, d[2] + (size_t)oh * OW + 16);
#define G_TAP(C)                                                                                                       \
    do {                                                                                                               \
        __m512 xl = _mm512_maskz_loadu_ps(m0, s + kj[C]), xh = _mm512_maskz_loadu_ps(m1, s + kj[C] + 16);            \
        a0##C = _mm512_fmadd_ps(dl0, xl, a0##C);                                                                       \
        a1##C = _mm512_fmadd_ps(dl1, xl, a1##C);                                                                       \
        a2##C = _mm512_fmadd_ps(dl2, xl, a2##C);                                                                       \
        a0##C = _mm512_fmadd_ps(dh0, xh, a0##C);                                                                       \
        a1##C = _mm512_fmadd_ps(dh1, xh, a1##C);                                                                       \
        a2##C = _mm512_fmadd_ps(dh2, xh, a2##C);                                                                       \
    } while (0)
        G_TAP(0);
        G_TAP(1);
        G_TAP(2);
        G_TAP(3);
        G_TAP(4);
#undef G_TAP
    }
    __m512 all[GO][GJ] = {{a00, a01, a02, a03, a04}, {a10, a11, a12, a13, a14}, {a20, a21, a22, a23, a24}};
    for (int r = 0; r < ov; r++)
        for (int c = 0; c < jv; c++) _mm512_storeu_ps(ap[r][c], all[r][c]);
}
#endif

void conv_direct_c1_weight_grad(const float *x, int B, int H, int W, int k, int p, int OC, const float *dy, int OH,
                                int OW, float *dw) {
    int hp = OH + k - 1, wp = OW + k - 1, kk = k * k;
    size_t hw = (size_t)OH * OW, plane = (size_t)B * hw;
    float *xp = xmalloc(sizeof(float) * (size_t)hp * wp);
    float *acc = calloc((size_t)OC * kk * 16, sizeof(float));
    if (!acc) {
        fprintf(stderr, "conv_direct: out of memory (%s:%d)\n", __FILE__, __LINE__);
        abort();
    }
#ifdef CONV_DIRECT_X86
    int simd = avx512_on() && strcmp(sgemm_backend(), "avx512") == 0;
#else
    int simd = 0;
#endif
    for (int b = 0; b < B; b++) {
        pad_plane(x + (size_t)b * H * W, H, W, p, hp, wp, xp);
        const float *db = dy + (size_t)b * hw;
        if (!simd) {
            c1_grad_plain(xp, wp, k, OC, db, OH, OW, plane, acc);
            continue;
        }
#ifdef CONV_DIRECT_X86
        for (int o0 = 0; o0 < OC; o0 += GO)
            for (int ki = 0; ki < k; ki++)
                for (int kj0 = 0; kj0 < k; kj0 += GJ)
                    c1_grad_block_avx512(xp, wp, k, kk, db + (size_t)o0 * plane, OC - o0 < GO ? OC - o0 : GO, ki, kj0,
                                         k - kj0 < GJ ? k - kj0 : GJ, OH, OW, plane, acc + (size_t)o0 * kk * 16);
#endif
    }
    for (size_t e = 0; e < (size_t)OC * kk; e++) {
        float s = 0.0f;
        for (int L = 0; L < 16; L++) s += acc[e * 16 + L];
        dw[e] += s;
    }
    free(acc), free(xp);
}

void conv_direct_c1_forward(const float *x, int B, int H, int W, int k, int p, int OC, const float *w, int OH, int OW,
                            float *y) {
    int hp = OH + k - 1, wp = OW + k - 1;
    size_t hw = (size_t)OH * OW, plane = (size_t)B * hw;   // y's stride between channels
    float *xp = xmalloc(sizeof(float) * (size_t)hp * wp);
#ifdef CONV_DIRECT_X86
    int simd = avx512_on() && strcmp(sgemm_backend(), "avx512") == 0;
#else
    int simd = 0;
#endif
    for (int b = 0; b < B; b++) {
        pad_plane(x + (size_t)b * H * W, H, W, p, hp, wp, xp);
        float *yb = y + (size_t)b * hw;
        if (!simd) {
            c1_plane_plain(xp, wp, k, OC, w, OH, OW, yb, plane);
            continue;
        }
#ifdef CONV_DIRECT_X86
        for (int o0 = 0; o0 < OC; o0 += OB)
            for (int j0 = 0; j0 < OW; j0 += 32)
                c1_block_avx512(xp, wp, k, w + (size_t)o0 * k * k, OC - o0 < OB ? OC - o0 : OB, OH, OW, j0,
                                yb + (size_t)o0 * plane, plane);
#endif
    }
    free(xp);
}
