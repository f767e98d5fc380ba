// Range-EvoNorm's 8-bit backward sums over one row (nn/layer_range_evonorm.c), from the input's and the
// error's codes: an AVX-512 kernel chosen at run time and the plain C loop it is tested against, bit for bit.
#ifndef MESHTRAIN_REVO_SUMS_H
#define MESHTRAIN_REVO_SUMS_H
#include <stdint.h>
#include "quant.h"

// Over i in [0, n): x = qx[i] * px.scale + px.min, d = qg[i] * pg.scale + pg.min (float, as quant_decode),
// u = v x, h = hardsigmoid(u), h' its slope, dn = d gs; adds to *sb the sum of d, to *sgn of d x h, to *sdv
// of dn x x h', and (dx not NULL) dn (h + x v h') to dx[i]. The sums are kept in REVO_SUMS_LANES double
// partial sums (value i in lane i % 8 for the full groups of 8, the tail in lane 0), folded in lane order.
#define REVO_SUMS_LANES 8
void revo_sums_codes(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int n, float v,
                     float gs, double *sb, double *sgn, double *sdv);
void revo_sums_codes_plain(const uint8_t *qx, QParam px, const uint8_t *qg, QParam pg, float *dx, int n, float v,
                           float gs, double *sb, double *sgn, double *sdv);
const char *revo_sums_backend(void);   // "avx512" or "plain"

#endif
