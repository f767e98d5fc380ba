// Range-EvoNorm's 8-bit backward sums (nn/revo_sums.c): the AVX-512 kernel against the plain C loop bit for
// bit, on random codes, row lengths around the 8-value step, with and without dx, slopes on both sides of
// the hard-sigmoid's corners; and the plain loop against the sums worked out in double.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "revo_sums.h"

static void codes_fill(uint8_t *q, int n, Rng *r) {
    for (int i = 0; i < n; i++) q[i] = (uint8_t)(rng_u64(r) >> 56);
}

Test(revo_sums, fast_equals_plain_bitwise) {
    const int ns[] = {1, 7, 8, 9, 64, 100, 1024, 1031};
    const float vs[] = {1.0f, 0.37f, -2.5f, 4.0f};
    Rng r;
    rng_seed(&r, 17);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (size_t t = 0; t < sizeof vs / sizeof vs[0]; t++) {
            int n = ns[k];
            uint8_t *qx = malloc((size_t)n), *qg = malloc((size_t)n);
            float *da = malloc(sizeof(float) * n), *db = malloc(sizeof(float) * n);
            codes_fill(qx, n, &r), codes_fill(qg, n, &r);
            for (int i = 0; i < n; i++) da[i] = db[i] = (float)i * 0.01f - 1.0f;
            QParam px = quant_param(-3.1f, 5.2f), pg = quant_param(-0.02f, 0.013f);
            for (int with_dx = 0; with_dx < 2; with_dx++) {
                double a[3] = {0.5, -1.0, 2.0}, b[3] = {0.5, -1.0, 2.0};
                revo_sums_codes(qx, px, qg, pg, with_dx ? da : NULL, n, vs[t], 0.83f, &a[0], &a[1], &a[2]);
                revo_sums_codes_plain(qx, px, qg, pg, with_dx ? db : NULL, n, vs[t], 0.83f, &b[0], &b[1], &b[2]);
                cr_assert(!memcmp(a, b, sizeof a), "n=%d v=%g dx=%d: sums %.17g %.17g %.17g vs plain %.17g %.17g %.17g",
                          n, vs[t], with_dx, a[0], a[1], a[2], b[0], b[1], b[2]);
                for (int i = 0; i < n; i++)
                    cr_assert(!memcmp(&da[i], &db[i], sizeof(float)), "n=%d v=%g: dx[%d] %.9g vs plain %.9g", n, vs[t],
                              i, da[i], db[i]);
            }
            free(qx), free(qg), free(da), free(db);
        }
    cr_log_info("revo_sums backend: %s\n", revo_sums_backend());
}

// The plain loop's sums are the formula's (in double, to float rounding).
Test(revo_sums, plain_matches_formula) {
    const int n = 37;
    uint8_t qx[37], qg[37];
    Rng r;
    rng_seed(&r, 3);
    codes_fill(qx, n, &r), codes_fill(qg, n, &r);
    QParam px = quant_param(-4.0f, 4.0f), pg = quant_param(-1.0f, 1.0f);
    float v = 0.9f, gs = 1.7f, dx[37] = {0};
    double sb = 0, sgn = 0, sdv = 0, eb = 0, eg = 0, ev = 0;
    revo_sums_codes_plain(qx, px, qg, pg, dx, n, v, gs, &sb, &sgn, &sdv);
    for (int i = 0; i < n; i++) {
        double x = (float)qx[i] * px.scale + px.min, d = (float)qg[i] * pg.scale + pg.min, u = v * x;
        double h = fmin(fmax(u / 6 + 0.5, 0), 1), hg = fabs(u) <= 3 ? 1.0 / 6 : 0;
        eb += d, eg += d * x * h, ev += d * gs * x * x * hg;
        double edx = d * gs * (h + x * v * hg);
        cr_assert(fabs(dx[i] - edx) <= 1e-5 * (1 + fabs(edx)), "dx[%d] %g vs %g", i, dx[i], edx);
    }
    cr_assert(fabs(sb - eb) <= 1e-5 * (1 + fabs(eb)), "sum d %g vs %g", sb, eb);
    cr_assert(fabs(sgn - eg) <= 1e-5 * (1 + fabs(eg)), "sum d x h %g vs %g", sgn, eg);
    cr_assert(fabs(sdv - ev) <= 1e-5 * (1 + fabs(ev)), "sum dn x x h' %g vs %g", sdv, ev);
}
