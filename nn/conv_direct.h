// Direct convolution of a one-channel input (LeNet-5's first layer): no column matrix, no packing; the
// same bits as the im2col + sgemm product (docs/conv.md).
#ifndef MESHTRAIN_CONV_DIRECT_H
#define MESHTRAIN_CONV_DIRECT_H

// 1 if conv_direct_c1_forward takes this shape: stride 1, k*k <= 384 (one sgemm K block), OW <= 64.
int conv_direct_c1_fits(int k, int s, int OW);

// y (OC, B, OH, OW) = w (OC, k*k) . columns of x (1, B, H, W), stride 1, padding p, samples [0, B). Each
// output is the fma chain over the taps in order from 0, padding taps included as 0 terms: the sum sgemm
// gives (one K block), so the results equal conv_cols + sgemm bit for bit on every backend.
void conv_direct_c1_forward(const float *x, int B, int H, int W, int k, int p, int OC, const float *w, int OH, int OW,
                            float *y);

#endif
