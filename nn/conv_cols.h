// im2col written straight into the packed B panels of nn/sgemm.h: the columns of a convolution's input
// are never stored whole, only a cache-sized block of panels at a time.
#ifndef MESHTRAIN_CONV_COLS_H
#define MESHTRAIN_CONV_COLS_H
#include "sgemm.h"

// The column matrix (C*k*k, nb*OH*OW) of x (C, B, H, W) for samples [b0, b0+nb): row (c, ki, kj), column
// (b, oh, ow) holds x[c][b0+b][oh*s - p + ki][ow*s - p + kj], 0 in the padding.
typedef struct {
    const float *x;
    int C, B, H, W;
    int k, s, p, OH, OW;
    int b0;
} ConvCols;

// Samples [b0, b0+nb) of x zero-padded: xp (C, nb, H+2p, W+2p), written row by row; up to
// CONV_PAD_SLACK floats past its end may be written (zeros or copies) and must exist.
#define CONV_PAD_SLACK 16
void conv_cols_pad(const ConvCols *g, int nb, float *xp);

// The column matrix itself, (C*k*k, nb*OH*OW) row-major, with AVX-512 (stride 1, OW <= 32; stride 2,
// OW <= 16, W <= 32): 1, or 0 (col
// untouched) when this CPU or shape has no such path (the caller's plain im2col then writes it).
int conv_cols_write_avx512(const ConvCols *g, int nb, float *col);

// The adjoint for a "valid" conv (stride 1, no padding, W <= 16) with AVX-512: dx (C, B, H, W) += col
// (C*k*k, nb*OH*OW) scattered back, each element's terms added in the order of the taps, as the plain
// col2im does (the same bits). 1, or 0 (dx untouched) when this CPU or shape has no such path.
int conv_cols_add_valid_avx512(const float *col, const ConvCols *g, int nb, float *dx);

// The same for stride 2 (any padding, W <= 32, OW <= 16, k <= 8: ResNet's downsampling convs).
int conv_cols_add_s2_avx512(const float *col, const ConvCols *g, int nb, float *dx);

// As an SgemmB (ctx: a ConvCols that outlives the product).
SgemmB conv_cols_b(const ConvCols *g);

#endif
