// im2col straight into sgemm's B panels (nn/conv_cols.h): a panel's nr columns are cut into runs along
// one output row, and each kernel tap copies a run as one shifted stretch of an input row.
#include "conv_cols.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "util.h"

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
// Stride 1 with AVX-512. A group of panels (consecutive output rows) is filled row by row of B. For each
// run and kernel tap (ki, kj) a table holds where the run's stretch of input row starts in a channel plane
// and which of its (at most 32) lanes lie inside the plane, so a row of B costs per run one or two masked
// loads (masked lanes do not fault) and whole-vector stores. A store reaching past its run lands on
// columns written after it (the next run, row r+1 of the panel); only the block's last row, whose next row
// is the next panel's first, uses masked stores (slow on AMD cores). Columns past the last panel's width
// are zeroed at the end.
#define PACK_GROUP 8
#define TAPS_MAX 49   // k <= 7; larger kernels take the C path
#define GROUP_RUNS (PACK_GROUP * RUNS_MAX)

typedef struct {
    ptrdiff_t off;   // the stretch's first element, in its channel's (B, H, W) plane
    uint32_t mask;   // lanes inside the plane
} TapRun;

// One entry of the table: run u (stride 1) shifted by tap (ki, kj).
static TapRun tap_run(const ConvCols *g, const ColRun *u, int ki, int kj) {
    int ih = u->oh - g->p + ki, iw0 = u->ow0 - g->p + kj, len = u->len;
    if (ih < 0 || ih >= g->H) return (TapRun){0, 0};
    int lo = iw0 < 0 ? -iw0 : 0, hi = g->W - iw0 < len ? g->W - iw0 : len;
    if (hi <= lo) return (TapRun){0, 0};
    uint32_t mask = (hi >= 32 ? 0xFFFFFFFFu : (1u << hi) - 1) & ~((1u << lo) - 1);
    return (TapRun){((ptrdiff_t)u->b * g->H + ih) * g->W + iw0, mask};
}

// The entries of whole output rows depend only on the layer's shape: per output row oh and tap t, the
// entry of sample 0 (sample b adds b*H*W to a used entry's offset), kept for the last shape seen by this
// thread (consecutive layers mostly share it), so the tables of a product are copies, not computations.
#define ROW_TAPS_OH_MAX 32
typedef struct {
    int H, W, k, p, OH, OW;
    TapRun e[ROW_TAPS_OH_MAX * TAPS_MAX];   // [oh][t]
} RowTaps;
static _Thread_local RowTaps row_taps_cache;

// The cached entries for g's shape (stride 1), or NULL when the shape has too many output rows.
static const TapRun *row_taps(const ConvCols *g) {
    RowTaps *rt = &row_taps_cache;
    if (g->OH > ROW_TAPS_OH_MAX || g->k * g->k > TAPS_MAX) return NULL;
    if (rt->H == g->H && rt->W == g->W && rt->k == g->k && rt->p == g->p && rt->OH == g->OH && rt->OW == g->OW)
        return rt->e;
    *rt = (RowTaps){.H = g->H, .W = g->W, .k = g->k, .p = g->p, .OH = g->OH, .OW = g->OW};
    TapRun *e = rt->e;
    for (int oh = 0; oh < g->OH; oh++) {
        ColRun u = {.j = 0, .len = g->OW, .b = 0, .oh = oh, .ow0 = 0};
        for (int ki = 0; ki < g->k; ki++)
            for (int kj = 0; kj < g->k; kj++) *e++ = tap_run(g, &u, ki, kj);
    }
    return rt->e;
}

// tab[t][q] for the runs [0, nq) and taps t = (ki, kj).
static void tap_table(const ConvCols *g, const ColRun *runs, int nq, TapRun *tab) {
    int kk = g->k * g->k;
    const TapRun *rows = row_taps(g);
    for (int q = 0; q < nq; q++) {
        const ColRun *u = &runs[q];
        if (rows && u->ow0 == 0 && u->len == g->OW) {
            const TapRun *src = rows + (size_t)u->oh * kk;
            ptrdiff_t boff = (ptrdiff_t)u->b * g->H * g->W;
            for (int t = 0; t < kk; t++)
                tab[(size_t)t * nq + q] = src[t].mask ? (TapRun){src[t].off + boff, src[t].mask} : (TapRun){0, 0};
            continue;
        }
        for (int t = 0; t < kk; t++) tab[(size_t)t * nq + q] = tap_run(g, u, t / g->k, t % g->k);
    }
}

__attribute__((target("avx512f"))) static void pack_group_avx512(const ConvCols *g, int k0, int kc, int nq,
                                                                 const ColRun *runs, const int *doff,
                                                                 const TapRun *tab, int nr, float *dst) {
    int kk = g->k * g->k, t = k0 % kk, c = k0 / kk;
    size_t cstride = (size_t)g->B * g->H * g->W;
    for (int r = 0; r < kc; r++) {
        const float *plane = g->x + (size_t)c * cstride;
        float *drow = dst + (size_t)r * nr;
        const TapRun *tr = tab + (size_t)t * nq;
        if (r < kc - 1) {
            for (int q = 0; q < nq; q++) {
                const float *sp = plane + tr[q].off;
                _mm512_storeu_ps(drow + doff[q], _mm512_maskz_loadu_ps((__mmask16)tr[q].mask, sp));
                if (runs[q].len > 16)
                    _mm512_storeu_ps(drow + doff[q] + 16,
                                     _mm512_maskz_loadu_ps((__mmask16)(tr[q].mask >> 16), sp + 16));
            }
        } else {
            for (int q = 0; q < nq; q++) {
                const float *sp = plane + tr[q].off;
                int len = runs[q].len;
                uint32_t lmask = len >= 32 ? 0xFFFFFFFFu : (1u << len) - 1;
                __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)tr[q].mask, sp);
                __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(tr[q].mask >> 16), sp + 16);
                _mm512_mask_storeu_ps(drow + doff[q], (__mmask16)lmask, v0);
                _mm512_mask_storeu_ps(drow + doff[q] + 16, (__mmask16)(lmask >> 16), v1);
            }
        }
        if (++t == kk) t = 0, c++;
    }
}

// Panels [0, np) of a group starting at column n (nc_left columns from n to the block's end), into dst.
// The table covers at most 64 runs; a chunk of runs holds whole panels, so that a store spilling into the
// next row of its panel is overwritten later.
static void pack_s1_group(const ConvCols *g, int k0, int kc, int n, int nc_left, int np, int nr, float *dst) {
    ColRun runs[GROUP_RUNS];
    int doff[GROUP_RUNS], first[PACK_GROUP + 1], nq = 0;
    TapRun tab[TAPS_MAX * 64];
    for (int pn = 0; pn < np; pn++) {
        int w = nc_left - pn * nr < nr ? nc_left - pn * nr : nr;
        first[pn] = nq;
        int got = col_runs(g, n + pn * nr, w, runs + nq);
        for (int q = nq; q < nq + got; q++) doff[q] = pn * kc * nr + runs[q].j;
        nq += got;
    }
    first[np] = nq;
    for (int p0 = 0; p0 < np;) {
        int p1 = p0 + 1;   // panels [p0, p1): at most 64 runs (a panel alone has at most 32)
        while (p1 < np && first[p1 + 1] - first[p0] <= 64) p1++;
        int q0 = first[p0], m = first[p1] - q0;
        tap_table(g, runs + q0, m, tab);
        pack_group_avx512(g, k0, kc, m, runs + q0, doff + q0, tab, nr, dst);
        p0 = p1;
    }
    for (int pn = 0; pn < np; pn++) {   // the last panel's columns past its width
        int w = nc_left - pn * nr < nr ? nc_left - pn * nr : nr;
        if (w < nr)
            for (int r = 0; r < kc; r++)
                for (int j = w; j < nr; j++) dst[(size_t)pn * kc * nr + (size_t)r * nr + j] = 0.0f;
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

// The whole column matrix, rows of nb*OH*OW, for stride 1 and OW <= 32: per row of B and output row one
// or two masked loads and whole-vector stores. Writes go forward through the matrix, so a store spilling
// past its run lands on elements written after it; only stores that would reach past the matrix's end
// are masked.
__attribute__((target("avx512f"))) static void write_avx512(const ConvCols *g, int nq, const TapRun *tab, int K,
                                                            float *col) {
    int kk = g->k * g->k, OW = g->OW, t = 0, c = 0, two = OW > 16;
    size_t cstride = (size_t)g->B * g->H * g->W, ncol = (size_t)nq * OW, n = (size_t)K * ncol;
    size_t reach = two ? 32 : 16;   // floats one run's stores cover
    uint32_t lmask = OW >= 32 ? 0xFFFFFFFFu : (1u << OW) - 1;
    for (int r = 0; r < K; r++) {
        const float *plane = g->x + (size_t)c * cstride;
        size_t at = (size_t)r * ncol;
        const TapRun *tr = tab + (size_t)t * nq;
        for (int q = 0; q < nq; q++, at += OW) {
            const float *sp = plane + tr[q].off;
            __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)tr[q].mask, sp);
            __m512 v1 = two ? _mm512_maskz_loadu_ps((__mmask16)(tr[q].mask >> 16), sp + 16) : _mm512_setzero_ps();
            if (at + reach <= n) {
                _mm512_storeu_ps(col + at, v0);
                if (two) _mm512_storeu_ps(col + at + 16, v1);
                continue;
            }
            _mm512_mask_storeu_ps(col + at, (__mmask16)lmask, v0);
            _mm512_mask_storeu_ps(col + at + 16, (__mmask16)(lmask >> 16), v1);
        }
        if (++t == kk) t = 0, c++;
    }
}
#endif

static void conv_cols_pack(const void *ctx, int k0, int kc, int n0, int nc, int nr, float *dst) {
    const ConvCols *g = ctx;
    int k = g->k, kk = k * k, npanels = (nc + nr - 1) / nr;
#ifdef CONV_COLS_X86
    if (g->s == 1 && nr == 32 && k * k <= TAPS_MAX && avx512_ok()) {   // the AVX-512 backend's panels
        for (int p0 = 0; p0 < npanels; p0 += PACK_GROUP) {
            int np = npanels - p0 < PACK_GROUP ? npanels - p0 : PACK_GROUP;
            pack_s1_group(g, k0, kc, n0 + p0 * nr, nc - p0 * nr, np, nr, dst + (size_t)p0 * kc * nr);
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

#ifdef CONV_COLS_X86
// Stride 2, OW <= 16, W <= 32: an output row of a tap is the even lanes of 32 input floats from
// kj - p (two masked loads, lanes outside the row 0), gathered by one permute; stores as write_avx512.
__attribute__((target("avx512f"))) static void write_s2_avx512(const ConvCols *g, int nb, float *col) {
    int k = g->k, H = g->H, W = g->W, OH = g->OH, OW = g->OW, p = g->p;
    size_t ncol = (size_t)nb * OH * OW, n = (size_t)g->C * k * k * ncol, hw = (size_t)H * W;
    int even[16];
    for (int L = 0; L < 16; L++) even[L] = 2 * L;
    __m512i idx = _mm512_loadu_si512(even);
    __mmask16 om = (__mmask16)((1u << OW) - 1);
    size_t at = 0;
    for (int c = 0; c < g->C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                int base = kj - p;
                uint32_t m = 0;
                for (int j = 0; j < 32; j++)
                    if (base + j >= 0 && base + j < W) m |= 1u << j;
                for (int b = 0; b < nb; b++) {
                    const float *plane = g->x + ((size_t)c * g->B + g->b0 + b) * hw;
                    for (int oh = 0; oh < OH; oh++, at += OW) {
                        int ih = 2 * oh - p + ki;
                        __m512 v = _mm512_setzero_ps();
                        if (ih >= 0 && ih < H) {
                            const float *src = plane + (size_t)ih * W + base;
                            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, src);
                            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), src + 16);
                            v = _mm512_permutex2var_ps(lo, idx, hi);
                        }
                        if (at + 16 <= n) _mm512_storeu_ps(col + at, v);
                        else _mm512_mask_storeu_ps(col + at, om, v);
                    }
                }
            }
}
#endif

#ifdef CONV_COLS_X86
// conv_cols_pad with AVX-512 (W + 2p <= 48): a padded row is up to three masked loads (the padding lanes
// masked off: 0, never read) stored whole; a store's spill past its row is overwritten by the next row.
__attribute__((target("avx512f"))) static void pad_avx512(const ConvCols *g, int nb, float *xp) {
    int H = g->H, W = g->W, p = g->p, Wp = W + 2 * p, Hp = H + 2 * p, nv = (Wp + 15) / 16;
    size_t hwp = (size_t)Hp * Wp, edge = (size_t)p * Wp;
    __mmask16 m[3];
    for (int v = 0; v < 3; v++) {
        unsigned bits = 0;
        for (int l = 0; l < 16; l++) bits |= (unsigned)(16 * v + l >= p && 16 * v + l < p + W) << l;
        m[v] = (__mmask16)bits;
    }
    __m512 z = _mm512_setzero_ps();
    for (int c = 0; c < g->C; c++)
        for (int b = 0; b < nb; b++) {
            const float *src = g->x + ((size_t)c * g->B + g->b0 + b) * H * W;
            // the next plane (a channel's planes lie B samples apart: too far for the hardware prefetcher)
            const float *next = b + 1 < nb ? src + (size_t)H * W
                : c + 1 < g->C             ? src + (size_t)(g->B - b) * H * W
                                           : src;
            float *d = xp + ((size_t)c * nb + b) * hwp;
            for (size_t e = 0; e < edge; e += 16) _mm512_storeu_ps(d + e, z);
            for (int h = 0; h < H; h++) {
                float *row = d + (size_t)(h + p) * Wp;
                const float *sr = src + (size_t)h * W - p;
                for (int e = 0; e < W; e += 16) _mm_prefetch((const char *)(next + (size_t)h * W + e), _MM_HINT_T0);
                for (int v = 0; v < nv; v++) _mm512_storeu_ps(row + 16 * v, _mm512_maskz_loadu_ps(m[v], sr + 16 * v));
            }
            for (size_t e = 0; e < edge; e += 16) _mm512_storeu_ps(d + hwp - edge + e, z);
        }
}
#endif

void conv_cols_pad(const ConvCols *g, int nb, float *xp) {
#ifdef CONV_COLS_X86
    if (g->W + 2 * g->p <= 48 && avx512_ok()) {
        pad_avx512(g, nb, xp);
        return;
    }
#endif
    int H = g->H, W = g->W, p = g->p, Wp = W + 2 * p, Hp = H + 2 * p;
    for (int c = 0; c < g->C; c++)
        for (int b = 0; b < nb; b++) {
            const float *src = g->x + ((size_t)c * g->B + g->b0 + b) * H * W;
            float *d = xp + ((size_t)c * nb + b) * Hp * Wp;
            for (int h = 0; h < Hp; h++)
                for (int w = 0; w < Wp; w++) {
                    int ih = h - p, iw = w - p;
                    d[(size_t)h * Wp + w] = ih >= 0 && ih < H && iw >= 0 && iw < W ? src[(size_t)ih * W + iw] : 0.0f;
                }
        }
}

int conv_cols_write_avx512(const ConvCols *g, int nb, float *col) {
#ifdef CONV_COLS_X86
    if (g->s == 2 && g->OW <= 16 && g->W <= 32 && avx512_ok()) {
        write_s2_avx512(g, nb, col);
        return 1;
    }
    int nq = nb * g->OH, kk = g->k * g->k;   // one run per output row
    if (g->s != 1 || g->OW > 32 || kk > TAPS_MAX || !avx512_ok()) return 0;
    ColRun *runs = xmalloc(sizeof *runs * (size_t)nq);
    TapRun *tab = xmalloc(sizeof *tab * (size_t)nq * kk);
    for (int q = 0; q < nq; q++)
        runs[q] = (ColRun){.j = q * g->OW, .len = g->OW, .b = g->b0 + q / g->OH, .oh = q % g->OH, .ow0 = 0};
    tap_table(g, runs, nq, tab);
    write_avx512(g, nq, tab, g->C * kk, col);
    free(runs), free(tab);
    return 1;
#else
    (void)g, (void)nb, (void)col;
    return 0;
#endif
}

#ifdef CONV_COLS_X86
// Rows of dx (W <= 16 floats) summed in registers: for each input row, the taps (ki, kj) in order, each
// adding an output row of the column matrix shifted by kj lanes (masked: other lanes untouched). A row's
// load and store are whole vectors (the lanes past W are the next row's values, stored back unchanged)
// except for a plane's last rows.
__attribute__((target("avx512f"))) static void add_valid_avx512(const float *col, const ConvCols *g, int nb,
                                                                float *dx) {
    int k = g->k, H = g->H, W = g->W, OH = g->OH, OW = g->OW;
    size_t ncol = (size_t)nb * OH * OW, hw = (size_t)H * W;
    __mmask16 om = (__mmask16)((1u << OW) - 1), wm = (__mmask16)((1u << W) - 1);
    for (int c = 0; c < g->C; c++)
        for (int b = 0; b < nb; b++) {
            float *plane = dx + ((size_t)c * g->B + g->b0 + b) * hw;
            const float *cb = col + (size_t)c * k * k * ncol + (size_t)b * OH * OW;
            for (int ih = 0; ih < H; ih++) {
                float *d = plane + (size_t)ih * W;
                int whole = (size_t)ih * W + 16 <= hw;
                __m512 acc = whole ? _mm512_loadu_ps(d) : _mm512_maskz_loadu_ps(wm, d);
                for (int ki = 0; ki < k; ki++) {
                    int oh = ih - ki;
                    if (oh < 0 || oh >= OH) continue;
                    for (int kj = 0; kj < k; kj++) {
                        const float *r = cb + (size_t)(ki * k + kj) * ncol + (size_t)oh * OW - kj;
                        __mmask16 m = (__mmask16)(om << kj);
                        acc = _mm512_mask_add_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, r));
                    }
                }
                if (whole) _mm512_storeu_ps(d, acc);
                else _mm512_mask_storeu_ps(d, wm, acc);
            }
        }
}

// Stride 2, W <= 32, OW <= 16: per row of dx (two vectors), the taps (ki, kj) in order, each the output row
// of one tap spread to every other lane (kj - p, kj - p + 2, ...) by a permute, added under a mask.
__attribute__((target("avx512f"))) static void add_s2_avx512(const float *col, const ConvCols *g, int nb, float *dx) {
    int k = g->k, H = g->H, W = g->W, OH = g->OH, OW = g->OW, p = g->p;
    size_t ncol = (size_t)nb * OH * OW, hw = (size_t)H * W;
    __m512i idx[2][8];
    __mmask16 msk[2][8];
    for (int kj = 0; kj < k; kj++)
        for (int h = 0; h < 2; h++) {
            int id[16];
            unsigned m = 0;
            for (int L = 0; L < 16; L++) {
                int iw = 16 * h + L, d = iw + p - kj;   // = 2 * ow
                id[L] = 0;
                if (iw < W && d >= 0 && d % 2 == 0 && d / 2 < OW) id[L] = d / 2, m |= 1u << L;
            }
            idx[h][kj] = _mm512_loadu_si512(id);
            msk[h][kj] = (__mmask16)m;
        }
    __mmask16 rm = (__mmask16)((1u << OW) - 1);
    __mmask16 w0 = (__mmask16)(W >= 16 ? 0xffff : (1u << W) - 1), w1 = (__mmask16)(W <= 16 ? 0 : (1u << (W - 16)) - 1);
    for (int c = 0; c < g->C; c++)
        for (int b = 0; b < nb; b++) {
            float *plane = dx + ((size_t)c * g->B + g->b0 + b) * hw;
            const float *cb = col + (size_t)c * k * k * ncol + (size_t)b * OH * OW;
            for (int ih = 0; ih < H; ih++) {
                float *d = plane + (size_t)ih * W;
                __m512 a0 = _mm512_maskz_loadu_ps(w0, d), a1 = _mm512_maskz_loadu_ps(w1, d + 16);
                for (int ki = 0; ki < k; ki++) {
                    int t = ih + p - ki;   // = 2 * oh
                    if (t < 0 || t % 2 || t / 2 >= OH) continue;
                    for (int kj = 0; kj < k; kj++) {
                        const float *r = cb + (size_t)(ki * k + kj) * ncol + (size_t)(t / 2) * OW;
                        __m512 v = _mm512_maskz_loadu_ps(rm, r);
                        a0 = _mm512_mask_add_ps(a0, msk[0][kj], a0, _mm512_permutexvar_ps(idx[0][kj], v));
                        a1 = _mm512_mask_add_ps(a1, msk[1][kj], a1, _mm512_permutexvar_ps(idx[1][kj], v));
                    }
                }
                _mm512_mask_storeu_ps(d, w0, a0);
                if (w1) _mm512_mask_storeu_ps(d + 16, w1, a1);
            }
        }
}
#endif

int conv_cols_add_s2_avx512(const float *col, const ConvCols *g, int nb, float *dx) {
#ifdef CONV_COLS_X86
    if (g->s != 2 || g->W > 32 || g->OW > 16 || g->k > 8 || !avx512_ok()) return 0;
    add_s2_avx512(col, g, nb, dx);
    return 1;
#else
    (void)col, (void)g, (void)nb, (void)dx;
    return 0;
#endif
}

int conv_cols_add_valid_avx512(const float *col, const ConvCols *g, int nb, float *dx) {
#ifdef CONV_COLS_X86
    if (g->s != 1 || g->p != 0 || g->W > 16 || g->OW != g->W - g->k + 1 || !avx512_ok()) return 0;
    add_valid_avx512(col, g, nb, dx);
    return 1;
#else
    (void)col, (void)g, (void)nb, (void)dx;
    return 0;
#endif
}

// A panel of 32 columns read in place: one run of 32, or two runs of 16 (output rows of 32 or 16 columns,
// stride 1); row (c, tap) of the panel is then two masked stretches of input rows of channel c.
static int conv_cols_rows(const void *ctx, int n, SgemmRows *r) {
#ifdef CONV_COLS_X86
    const ConvCols *g = ctx;
    int kk = g->k * g->k;
    if (g->s != 1 || kk > SGEMM_ROWS_PERIOD_MAX || kk > TAPS_MAX) return 0;
    ColRun runs[RUNS_MAX];
    int nrun = col_runs(g, n, 32, runs);
    if (!(nrun == 1 || (nrun == 2 && runs[0].len == 16))) return 0;
    TapRun tab[TAPS_MAX * 2];
    tap_table(g, runs, nrun, tab);
    r->base = g->x, r->stride = (ptrdiff_t)g->B * g->H * g->W, r->period = kk;
    r->prefetch = (ptrdiff_t)nrun * g->W;   // the next panel: nrun output rows further, inside a sample mostly
    for (int t = 0; t < kk; t++) {
        const TapRun *e = &tab[t * nrun];
        r->off0[t] = e[0].off, r->m0[t] = (unsigned short)e[0].mask;
        if (nrun == 1) r->off1[t] = e[0].off + 16, r->m1[t] = (unsigned short)(e[0].mask >> 16);
        else r->off1[t] = e[1].off, r->m1[t] = (unsigned short)e[1].mask;
    }
    return 1;
#else
    (void)ctx, (void)n, (void)r;
    return 0;
#endif
}

SgemmB conv_cols_b(const ConvCols *g) { return (SgemmB){.pack = conv_cols_pack, .ctx = g, .rows = conv_cols_rows}; }
