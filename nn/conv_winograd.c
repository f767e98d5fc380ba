// Winograd F(2x2, 3x3) for 3x3 "same" convolutions (nn/conv_winograd.h): a block of whole tile rows at a
// time, input transform V = B^T d B, 16 products U_xi . V_xi by sgemm, output transform A^T M A. The
// transforms are element-wise loops along a tile row (vectorized by the compiler), the same on every CPU.
#include "conv_winograd.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sgemm.h"
#include "util.h"

// A block of tiles (whole tile rows) is sized so that V (16, C, n) and M (16, OC, n) hold about 512 KB: L2.
#define BLOCK_FLOATS ((size_t)128 << 10)

// U, V, M and the transforms' scratch: one buffer per thread, kept and grown (allocating them per call
// would grow the heap through glibc's rising mmap threshold).
static _Thread_local float *wino_buf;
static _Thread_local size_t wino_cap;

static float *wino_get(size_t floats) {
    if (floats > wino_cap) {
        free(wino_buf);
        wino_buf = xmalloc(sizeof(float) * floats);
        wino_cap = floats;
    }
    return wino_buf;
}

int conv_winograd_applies(int k, int s, int p) { return k == 3 && s == 1 && p == 1; }

// U[xi][o][c] = (G g G^T)[xi] for g = w[o][c] (3 x 3), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
static void weights_transform(const float *w, int OC, int C, float *U) {
    size_t plane = (size_t)OC * C;
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++) {
            const float *g = w + ((size_t)o * C + c) * 9;
            float t[4][3];   // G g
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                              t[i][2]};
                for (int j = 0; j < 4; j++) U[(size_t)(4 * i + j) * plane + (size_t)o * C + c] = u[j];
            }
        }
}

// Row ih of a plane as even and odd columns with the padding: e[j] = row[2j], o[j] = row[2j+1] for
// j in [0, tw]; o[-1] (at om[0]) and anything past the row are 0.
static void row_split(const float *plane, int H, int W, int ih, int tw, float *e, float *om) {
    float *restrict o = om + 1, *restrict ev = e;
    om[0] = 0.0f;
    if (ih < 0 || ih >= H) {
        for (int j = 0; j <= tw; j++) ev[j] = o[j] = 0.0f;
        return;
    }
    const float *restrict row = plane + (size_t)ih * W;
    int full = W / 2;   // tiles whose two columns are both inside the row
    for (int j = 0; j < full; j++) {
        ev[j] = row[2 * j];
        o[j] = row[2 * j + 1];
    }
    for (int j = full; j <= tw; j++) {
        ev[j] = 2 * j < W ? row[2 * j] : 0.0f;
        o[j] = 2 * j + 1 < W ? row[2 * j + 1] : 0.0f;
    }
}

// The element-wise steps, with restrict parameters so that the compiler vectorizes them.
// Along a row: h_s[j] from d[s] = row[2j - 1 + s] (om[j], e[j], o[j], e[j+1]) by B^T.
static void rows_bt(int n, const float *restrict om, const float *restrict e, const float *restrict o,
                    float *restrict h0, float *restrict h1, float *restrict h2, float *restrict h3) {
    for (int j = 0; j < n; j++) {
        h0[j] = om[j] - o[j];
        h1[j] = e[j] + o[j];
        h2[j] = o[j] - e[j];
        h3[j] = e[j] - e[j + 1];
    }
}

// Across rows: v_i from rows r0..r3 by B^T.
static void cols_bt(int n, const float *restrict r0, const float *restrict r1, const float *restrict r2,
                    const float *restrict r3, float *restrict v0, float *restrict v1, float *restrict v2,
                    float *restrict v3) {
    for (int j = 0; j < n; j++) {
        v0[j] = r0[j] - r2[j];
        v1[j] = r1[j] + r2[j];
        v2[j] = r2[j] - r1[j];
        v3[j] = r1[j] - r3[j];
    }
}

// a = m0 + m1 + m2, b = m1 - m2 - m3 (A^T; also the second step with sign = -1: a = m0 - m1 - m2).
static void at3(int n, float sign, const float *restrict m0, const float *restrict m1, const float *restrict m2,
                float *restrict a) {
    for (int j = 0; j < n; j++) a[j] = m0[j] + sign * (m1[j] + m2[j]);
}

// row[2j] (+)= y0[j], row[2j+1] (+)= y1[j] for j < n.
static void interleave(int n, int accumulate, const float *restrict y0, const float *restrict y1,
                       float *restrict row) {
    if (accumulate)
        for (int j = 0; j < n; j++) row[2 * j] += y0[j], row[2 * j + 1] += y1[j];
    else
        for (int j = 0; j < n; j++) row[2 * j] = y0[j], row[2 * j + 1] = y1[j];
}

// V[xi][c][t0 + j] for the tw tiles of tile row ti of plane (channel c, one sample): B^T d B with
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], rows then columns. ld: V's row length (tiles of the block).
static void input_tiles(const float *plane, int H, int W, int ti, int tw, float *V, size_t xstride, float *scratch) {
    // Four input rows 2ti-1 .. 2ti+2, each split and transformed along the row: h[r][s][j].
    float *h = scratch;                      // 4 rows x 4 x tw
    float *e = h + 16 * (size_t)tw, *om = e + tw + 1;   // tw + 1, tw + 2
    for (int r = 0; r < 4; r++) {
        row_split(plane, H, W, 2 * ti - 1 + r, tw, e, om);
        float *h0 = h + (size_t)(4 * r) * tw;
        rows_bt(tw, om, e, om + 1, h0, h0 + tw, h0 + 2 * tw, h0 + 3 * tw);
    }
    for (int s = 0; s < 4; s++) {
        const float *r0 = h + (size_t)s * tw;
        cols_bt(tw, r0, r0 + 4 * (size_t)tw, r0 + 8 * (size_t)tw, r0 + 12 * (size_t)tw, V + (size_t)s * xstride,
                V + (size_t)(4 + s) * xstride, V + (size_t)(8 + s) * xstride, V + (size_t)(12 + s) * xstride);
    }
}

// Tile row ti of output plane y (channel o, one sample) from M[xi][o][t0 + j]: A^T m A with
// A^T = [1 1 1 0; 0 1 -1 -1]; the outputs past H or W are dropped.
static void output_tiles(const float *Mo, size_t xstride, int tw, int ti, int H, int W, float *plane, int accumulate,
                         float *scratch) {
    float *a = scratch, *b = a + 4 * (size_t)tw;   // a[i][j], b[i][j]: row i of m after A^T on the columns
    float *y0 = b + 4 * (size_t)tw, *y1 = y0 + tw;   // one output row's even and odd columns
    for (int i = 0; i < 4; i++) {
        const float *m0 = Mo + (size_t)(4 * i) * xstride;
        at3(tw, 1.0f, m0, m0 + xstride, m0 + 2 * xstride, a + (size_t)i * tw);
        at3(tw, -1.0f, m0 + xstride, m0 + 2 * xstride, m0 + 3 * xstride, b + (size_t)i * tw);
    }
    for (int r = 0; r < 2; r++) {
        int oh = 2 * ti + r;
        if (oh >= H) break;
        float sign = r == 0 ? 1.0f : -1.0f;   // r = 0: rows 0 + 1 + 2; r = 1: 1 - 2 - 3
        const float *p = a + (size_t)r * tw, *q = b + (size_t)r * tw;
        at3(tw, sign, p, p + tw, p + 2 * tw, y0);
        at3(tw, sign, q, q + tw, q + 2 * tw, y1);
        float *row = plane + (size_t)oh * W;
        int full = W / 2;
        interleave(full, accumulate, y0, y1, row);
        if (W % 2) row[W - 1] = accumulate ? row[W - 1] + y0[full] : y0[full];
    }
}

void conv_winograd(const float *x, int C, int B, int H, int W, const float *w, int OC, float *y, int accumulate) {
    int th = (H + 1) / 2, tw = (W + 1) / 2;
    int rows = (int)(BLOCK_FLOATS / (16 * (size_t)(C + OC) * tw));   // tile rows per block
    rows = rows < 1 ? 1 : rows > B * th ? B * th : rows;
    int nb = rows * tw;   // tiles per block (at most)
    size_t hw = (size_t)H * W, nu = 16 * (size_t)OC * C, nv = 16 * (size_t)C * nb, nm = 16 * (size_t)OC * nb;
    float *U = wino_get(nu + nv + nm + 20 * (size_t)tw + 8), *V = U + nu, *M = V + nv, *scratch = M + nm;
    weights_transform(w, OC, C, U);
    // Blocks of tile rows over (sample, tile row): row index q = b * th + ti.
    for (int q0 = 0; q0 < B * th; q0 += rows) {
        int nq = B * th - q0 < rows ? B * th - q0 : rows, n = nq * tw;
        for (int c = 0; c < C; c++)
            for (int q = 0; q < nq; q++) {
                int b = (q0 + q) / th, ti = (q0 + q) % th;
                input_tiles(x + ((size_t)c * B + b) * hw, H, W, ti, tw, V + (size_t)c * n + (size_t)q * tw,
                            (size_t)C * n, scratch);
            }
        for (int xi = 0; xi < 16; xi++)
            sgemm(0, 0, OC, n, C, U + (size_t)xi * OC * C, C, V + (size_t)xi * C * n, n, M + (size_t)xi * OC * n, n,
                  0);
        for (int o = 0; o < OC; o++)
            for (int q = 0; q < nq; q++) {
                int b = (q0 + q) / th, ti = (q0 + q) % th;
                output_tiles(M + (size_t)o * n + (size_t)q * tw, (size_t)OC * n, tw, ti, H, W,
                             y + ((size_t)o * B + b) * hw, accumulate, scratch);
            }
    }
}
