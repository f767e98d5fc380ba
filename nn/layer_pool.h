// The 2x2 stride-2 max pool kernels of layer_pool.c, for tests/test_pool.c: the plain loop and the
// AVX-512 one the layer takes when the CPU has it; both write the maxima and the winners' offsets.
#ifndef MESHTRAIN_LAYER_POOL_H
#define MESHTRAIN_LAYER_POOL_H
#include <stdint.h>

// x is (planes, H, W), y and ix (planes, OH, OW) with OH = H / 2, OW = W / 2. ix gets the winner's offset
// from its window's top-left corner (0, 1, W or W + 1); ties go to the first in that order.
void maxpool2_forward_plain(const float *x, float *y, int32_t *ix, int planes, int H, int W, int OH, int OW);
// The same with AVX-512, bit for bit; 0 when done, -1 when this CPU has no AVX-512 or W is odd (nothing
// written then).
int maxpool2_forward_avx512(const float *x, float *y, int32_t *ix, int planes, int H, int W, int OH, int OW);

#endif
