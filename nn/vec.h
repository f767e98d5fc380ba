// Vector reductions the compiler can vectorize without -ffast-math: 16 float lanes summed in
// blocks, each block added into a double, so long rows keep double-like accuracy.
#ifndef MESHTRAIN_VEC_H
#define MESHTRAIN_VEC_H
#include <stddef.h>

#define VEC_LANES 16
#define VEC_BLOCK 2048

// sum of x[i]
static inline double vec_sum(const float *restrict x, size_t n) {
    double total = 0.0;
    size_t i = 0;
    for (; i + VEC_LANES <= n;) {
        float acc[VEC_LANES] = {0};
        size_t end = i + VEC_BLOCK < n ? i + VEC_BLOCK : n;
        for (; i + VEC_LANES <= end; i += VEC_LANES)
            for (int j = 0; j < VEC_LANES; j++) acc[j] += x[i + j];
        for (int j = 0; j < VEC_LANES; j++) total += acc[j];
    }
    for (; i < n; i++) total += x[i];
    return total;
}

// sum of x[i] * y[i]
static inline double vec_dot(const float *restrict x, const float *restrict y, size_t n) {
    double total = 0.0;
    size_t i = 0;
    for (; i + VEC_LANES <= n;) {
        float acc[VEC_LANES] = {0};
        size_t end = i + VEC_BLOCK < n ? i + VEC_BLOCK : n;
        for (; i + VEC_LANES <= end; i += VEC_LANES)
            for (int j = 0; j < VEC_LANES; j++) acc[j] += x[i + j] * y[i + j];
        for (int j = 0; j < VEC_LANES; j++) total += acc[j];
    }
    for (; i < n; i++) total += (double)x[i] * y[i];
    return total;
}

// sum of (x[i] - c)^2
static inline double vec_sqdev(const float *restrict x, float c, size_t n) {
    double total = 0.0;
    size_t i = 0;
    for (; i + VEC_LANES <= n;) {
        float acc[VEC_LANES] = {0};
        size_t end = i + VEC_BLOCK < n ? i + VEC_BLOCK : n;
        for (; i + VEC_LANES <= end; i += VEC_LANES)
            for (int j = 0; j < VEC_LANES; j++) { float d = x[i + j] - c; acc[j] += d * d; }
        for (int j = 0; j < VEC_LANES; j++) total += acc[j];
    }
    for (; i < n; i++) { double d = x[i] - c; total += d * d; }
    return total;
}

#endif
