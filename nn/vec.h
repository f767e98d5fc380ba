// Vector reductions without -ffast-math: 16 float lanes summed in blocks, each block added into a double, so
// long rows keep double-like accuracy. Four blocks run side by side (independent add chains), same bits.
#ifndef MESHTRAIN_VEC_H
#define MESHTRAIN_VEC_H
#include <stddef.h>
#include <string.h>

#define VEC_LANES 16
#define VEC_BLOCK 2048
#define VEC_GROUP 4   // blocks summed side by side (VEC_REDUCE names 4): a block's lanes are a chain of dependent adds

// 16 float lanes (GCC vector extension: element-wise IEEE arithmetic on any target, one zmm with AVX-512).
typedef float VecF16 __attribute__((vector_size(VEC_LANES * sizeof(float))));

static inline VecF16 vecf16_load(const float *p) {
    VecF16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline double vecf16_total(double total, VecF16 acc) {
    for (int j = 0; j < VEC_LANES; j++) total += acc[j];
    return total;
}

// The reductions below, for one term t(i): blocks of VEC_BLOCK, each lane j of a block summing t(i + j) over
// the block's vectors in order from 0.0f, the block's lanes then added in order into the double total; groups
// of VEC_GROUP whole blocks run side by side; the tail past the last whole vector is summed in double.
#define VEC_REDUCE(n, total, TERM_V, TERM_1)                                                      \
    do {                                                                                          \
        size_t i_ = 0;                                                                            \
        for (; i_ + VEC_GROUP * VEC_BLOCK <= (n); i_ += VEC_GROUP * VEC_BLOCK) {                  \
            VecF16 a0_ = {0}, a1_ = {0}, a2_ = {0}, a3_ = {0}; /* named: an array would live in memory */ \
            for (size_t k_ = i_; k_ < i_ + VEC_BLOCK; k_ += VEC_LANES) {                          \
                a0_ += TERM_V(k_);                                                                \
                a1_ += TERM_V(k_ + VEC_BLOCK);                                                    \
                a2_ += TERM_V(k_ + 2 * VEC_BLOCK);                                                \
                a3_ += TERM_V(k_ + 3 * VEC_BLOCK);                                                \
            }                                                                                     \
            (total) = vecf16_total((total), a0_);                                                 \
            (total) = vecf16_total((total), a1_);                                                 \
            (total) = vecf16_total((total), a2_);                                                 \
            (total) = vecf16_total((total), a3_);                                                 \
        }                                                                                         \
        for (; i_ + VEC_LANES <= (n);) {                                                          \
            VecF16 acc_ = {0};                                                                    \
            size_t end_ = i_ + VEC_BLOCK < (n) ? i_ + VEC_BLOCK : (n);                            \
            for (; i_ + VEC_LANES <= end_; i_ += VEC_LANES) acc_ += TERM_V(i_);                   \
            (total) = vecf16_total((total), acc_);                                                \
        }                                                                                         \
        for (; i_ < (n); i_++) (total) += TERM_1(i_);                                             \
    } while (0)

// sum of x[i]
static inline double vec_sum(const float *restrict x, size_t n) {
    double total = 0.0;
#define VEC_SUM_V(k) vecf16_load(x + (k))
#define VEC_SUM_1(k) x[k]
    VEC_REDUCE(n, total, VEC_SUM_V, VEC_SUM_1);
#undef VEC_SUM_V
#undef VEC_SUM_1
    return total;
}

// sum of x[i] * y[i]
static inline double vec_dot(const float *restrict x, const float *restrict y, size_t n) {
    double total = 0.0;
#define VEC_DOT_V(k) (vecf16_load(x + (k)) * vecf16_load(y + (k)))
#define VEC_DOT_1(k) ((double)x[k] * y[k])
    VEC_REDUCE(n, total, VEC_DOT_V, VEC_DOT_1);
#undef VEC_DOT_V
#undef VEC_DOT_1
    return total;
}

// sum of (x[i] - c)^2
static inline double vec_sqdev(const float *restrict x, float c, size_t n) {
    double total = 0.0;
    VecF16 cv = {0};
    cv += c;
#define VEC_SQDEV_V(k) ((vecf16_load(x + (k)) - cv) * (vecf16_load(x + (k)) - cv))
#define VEC_SQDEV_1(k) ((double)(x[k] - c) * (double)(x[k] - c))
    VEC_REDUCE(n, total, VEC_SQDEV_V, VEC_SQDEV_1);
#undef VEC_SQDEV_V
#undef VEC_SQDEV_1
    return total;
}

#endif
