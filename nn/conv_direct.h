// Direct convolution of a one-channel input (LeNet-5's first layer): no column matrix, no packing; the
// same bits as the im2col + sgemm product (docs/conv.md).
#ifndef MESHTRAIN_CONV_DIRECT_H
#define MESHTRAIN_CONV_DIRECT_H

// 1 if the functions below take this shape: stride 1, k*k <= 384 (one sgemm K block), OW <= 32.
int conv_direct_c1_fits(int k, int s, int OW);

// y (OC, B, OH, OW) = w (OC, k*k) . columns of x (1, B, H, W), stride 1, padding p, samples [0, B). Each
// output is the fma chain over the taps in order from 0, padding taps included as 0 terms: the sum sgemm
// gives (one K block), so the results equal conv_cols + sgemm bit for bit on every backend.
void conv_direct_c1_forward(const float *x, int B, int H, int W, int k, int p, int OC, const float *w, int OH, int OW,
                            float *y);

// dw (OC, k*k) += dy (OC, B, OH, OW) . columns of x^T, same shapes as conv_direct_c1_forward. Each weight's
// sum: 16 lane sums, lane L over (sample, output row, half h) in order of dy[.][16h + L] times its input
// (0 past OW), fma each; then the lanes added in order 0..15 and the total added to dw. Every backend gives
// these bits (not those of the sgemm weight gradient: another order).
void conv_direct_c1_weight_grad(const float *x, int B, int H, int W, int k, int p, int OC, const float *dy, int OH,
                                int OW, float *dw);

#endif
