// im2col straight into sgemm's B panels (nn/conv_cols.h): a panel's nr columns are cut into runs along
// one output row, and each kernel tap copies a run as one shifted stretch of an input row.
#include "conv_cols.h"
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CONV_COLS_X86 1
#endif

// Columns [j, j+len) of a panel: sample b (of the whole tensor), output row oh, output columns ow0...
typedef struct {
    int j, len, b, oh, ow0;
} ColRun;

#define RUNS_MAX 64   // panels are at most this wide (sgemm's nr <= 32)

// The runs of columns [n, n+w) (column n = sample b0 + n / ohw, position n % ohw).
static int col_runs(const ConvCols *g, int n, int w, ColRun *runs) {
    int ohw = g->OH * g->OW, b = g->b0 + n / ohw, pos = n % ohw, oh = pos / g->OW, ow = pos % g->OW, nrun = 0;
    for (int j = 0; j < w;) {
        int len = g->OW - ow < w - j ? g->OW - ow : w - j;
        runs[nrun++] = (ColRun){.j = j, .len = len, .b = b, .oh = oh, .ow0 = ow};
        j += len, ow += len;
        if (ow == g->OW) {
            ow = 0;
            if (++oh == g->OH) oh = 0, b++;
        }
    }
    return nrun;
}

// One run of one row (c, ki, kj) into d[0, len).
static inline void run_fill(const ConvCols *g, const ColRun *r, int c, int ki, int kj, float *restrict d) {
    int ih = r->oh * g->s - g->p + ki, len = r->len;
    if (ih < 0 || ih >= g->H) {
        for (int t = 0; t < len; t++) d[t] = 0.0f;
        return;
    }
    const float *restrict src = g->x + ((size_t)c * g->B + r->b) * g->H * g->W + (size_t)ih * g->W;
    int iw0 = r->ow0 * g->s - g->p + kj;
    if (g->s == 1) {   // d[t] = src[iw0 + t] where 0 <= iw0 + t < W
        int lo = iw0 < 0 ? -iw0 : 0, hi = g->W - iw0 < len ? g->W - iw0 : len;
        if (lo > len) lo = len;
        if (hi < lo) hi = lo;
        for (int t = 0; t < lo; t++) d[t] = 0.0f;
        const float *restrict sp = src + iw0;
        for (int t = lo; t < hi; t++) d[t] = sp[t];
        for (int t = hi; t < len; t++) d[t] = 0.0f;
        return;
    }
    for (int t = 0; t < len; t++) {
        int iw = iw0 + t * g->s;
        d[t] = iw >= 0 && iw < g->W ? src[iw] : 0.0f;
    }
}

#ifdef CONV_COLS_X86
// Stride 1 with AVX-512: a run is at most 32 columns, one or two masked loads of the input row (masked
// lanes do not fault: the row's neighbours in memory are never read) and whole-vector stores. A group of
// panels (consecutive output rows) is filled row r by row r, so the input is read along its rows. A store
// reaching past its run lands on columns written after it (the next run, the tail, row r+1 of the panel);
// only the last row, whose next row is the next panel's first, needs masked stores (slow on AMD cores).
#define PACK_GROUP 8
__attribute__((target("avx512f"))) static void pack_s1_avx512(const ConvCols *g, int k0, int kc, int np,
                                                              ColRun (*runs)[RUNS_MAX], const int *nrun, const int *w,
                                                              int nr, float *dst) {
    int k = g->k, kk = k * k, c = k0 / kk, ki = k0 % kk / k, kj = k0 % k;
    uint32_t nrmask = nr >= 32 ? 0xFFFFFFFFu : (1u << nr) - 1;
    const __m512 z = _mm512_setzero_ps();
    for (int r = 0; r < kc; r++) {
        int exact = r == kc - 1;
        const float *plane = g->x + (size_t)c * g->B * g->H * g->W;
        for (int pn = 0; pn < np; pn++) {
            float *d = dst + (size_t)pn * kc * nr + (size_t)r * nr;
            for (int q = 0; q < nrun[pn]; q++) {
                const ColRun *u = &runs[pn][q];
                int ih = u->oh - g->p + ki, len = u->len, iw0 = u->ow0 - g->p + kj;
                uint32_t valid = 0;
                const float *sp = plane;
                if (ih >= 0 && ih < g->H) {
                    int lo = iw0 < 0 ? -iw0 : 0, hi = g->W - iw0 < len ? g->W - iw0 : len;
                    if (hi > lo) valid = (hi >= 32 ? 0xFFFFFFFFu : (1u << hi) - 1) & ~((1u << lo) - 1);
                    sp = plane + ((size_t)u->b * g->H + ih) * g->W + iw0;
                }
                float *o = d + u->j;
                __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)valid, sp);
                __m512 v1 = len > 16 ? _mm512_maskz_loadu_ps((__mmask16)(valid >> 16), sp + 16) : z;
                if (!exact) {
                    _mm512_storeu_ps(o, v0);
                    if (len > 16) _mm512_storeu_ps(o + 16, v1);
                    continue;
                }
                uint32_t lmask = len >= 32 ? 0xFFFFFFFFu : (1u << len) - 1;
                _mm512_mask_storeu_ps(o, (__mmask16)lmask, v0);
                _mm512_mask_storeu_ps(o + 16, (__mmask16)(lmask >> 16), v1);
            }
            uint32_t tail = nrmask & ~(w[pn] >= 32 ? 0xFFFFFFFFu : (1u << w[pn]) - 1);   // columns past w: zero
            if (tail) {
                _mm512_mask_storeu_ps(d, (__mmask16)tail, z);
                _mm512_mask_storeu_ps(d + 16, (__mmask16)(tail >> 16), z);
            }
        }
        if (++kj == k) {
            kj = 0;
            if (++ki == k) ki = 0, c++;
        }
    }
}

static int avx512_ok(void) {
    static int ok = -1;   // the CPU does not change under a process
    if (ok < 0) {
        __builtin_cpu_init();
        ok = __builtin_cpu_supports("avx512f");
    }
    return ok;
}
#endif

static void conv_cols_pack(const void *ctx, int k0, int kc, int n0, int nc, int nr, float *dst) {
    const ConvCols *g = ctx;
    int k = g->k, kk = k * k, npanels = (nc + nr - 1) / nr;
#ifdef CONV_COLS_X86
    if (g->s == 1 && nr == 32 && avx512_ok()) {   // the AVX-512 backend's panels
        ColRun runs[PACK_GROUP][RUNS_MAX];
        int nrun[PACK_GROUP], w[PACK_GROUP];
        for (int p0 = 0; p0 < npanels; p0 += PACK_GROUP) {
            int np = npanels - p0 < PACK_GROUP ? npanels - p0 : PACK_GROUP;
            for (int pn = 0; pn < np; pn++) {
                int j0 = (p0 + pn) * nr;
                w[pn] = nc - j0 < nr ? nc - j0 : nr;
                nrun[pn] = col_runs(g, n0 + j0, w[pn], runs[pn]);
            }
            pack_s1_avx512(g, k0, kc, np, runs, nrun, w, nr, dst + (size_t)p0 * kc * nr);
        }
        return;
    }
#endif
    ColRun runs[RUNS_MAX];
    for (int pnl = 0; pnl < npanels; pnl++, dst += (size_t)kc * nr) {
        int w = nc - pnl * nr < nr ? nc - pnl * nr : nr;
        int nrun = col_runs(g, n0 + pnl * nr, w, runs);
        int c = k0 / kk, ki = k0 % kk / k, kj = k0 % k;
        for (int r = 0; r < kc; r++) {
            float *d = dst + (size_t)r * nr;
            for (int q = 0; q < nrun; q++) run_fill(g, &runs[q], c, ki, kj, d + runs[q].j);
            for (int j = w; j < nr; j++) d[j] = 0.0f;
            if (++kj == k) {
                kj = 0;
                if (++ki == k) ki = 0, c++;
            }
        }
    }
}

SgemmB conv_cols_b(const ConvCols *g) { return (SgemmB){.pack = conv_cols_pack, .ctx = g}; }
