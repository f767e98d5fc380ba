// 3x3 "same" convolutions (stride 1, padding 1) by Winograd F(2x2, 3x3): 16 products of (OC, C) by
// (C, tiles) through nn/sgemm instead of 9*C-deep ones, 2.25x fewer multiplies (docs/conv.md).
#ifndef MESHTRAIN_CONV_WINOGRAD_H
#define MESHTRAIN_CONV_WINOGRAD_H

// 1 if a conv with kernel k, stride s and padding p goes this way.
int conv_winograd_applies(int k, int s, int p);

// y (OC, B, H, W) (+)= the conv of x (C, B, H, W) with w (OC, C, 3, 3), padding 1, stride 1 (any H, W >= 1);
// accumulate: 0 overwrites y, 1 adds to it.
void conv_winograd(const float *x, int C, int B, int H, int W, const float *w, int OC, float *y, int accumulate);

#endif
