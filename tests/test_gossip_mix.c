// gossip_mix_dense (one blocked pass) against the plain gossip mix it replaced: accumulate every
// message over the whole vector, then mix; bit for bit, for any count, length and aliasing.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "alg.h"
#include "bytes.h"
#include "rng.h"

static void mix_plain(const float *v, float *out, size_t n, float ws, float inv, const uint8_t *const *payload,
                      const float *scale, int k) {
    float *acc = calloc(n ? n : 1, sizeof *acc);
    for (int j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++) acc[i] += scale[j] * get_f32(payload[j] + 4 * i);
    for (size_t i = 0; i < n; i++) out[i] = (ws * v[i] + acc[i]) * inv;
    free(acc);
}

Test(gossip_mix, dense_pass_matches_plain_bit_for_bit) {
    static const size_t NS[] = {1, 511, 512, 513, 61706};
    Rng r = rng_derive(7, 1);
    for (size_t t = 0; t < sizeof NS / sizeof NS[0]; t++)
        for (int k = 0; k <= 4; k++)
            for (int alias = 0; alias < 2; alias++) {
                size_t n = NS[t];
                float *v = malloc(n * sizeof *v), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
                uint8_t *pay[4];
                const uint8_t *pc[4];
                float scale[4];
                for (size_t i = 0; i < n; i++) v[i] = (float)rng_normal(&r);
                v[0] = -0.0f;   // signed zeros go through as the plain loop leaves them
                for (int j = 0; j < k; j++) {
                    pay[j] = malloc(4 * n);
                    for (size_t i = 0; i < n; i++) put_f32(pay[j] + 4 * i, (float)rng_normal(&r) * 3.0f);
                    if (j == 0) put_f32(pay[j], -0.0f);
                    pc[j] = pay[j];
                    scale[j] = 0.1f + 0.3f * (float)rng_uniform(&r);
                }
                float ws = 1.0f / 3.0f, inv = 1.0f / 0.97f;
                mix_plain(v, want, n, ws, inv, pc, scale, k);
                if (alias) {
                    memcpy(got, v, n * sizeof *v);
                    gossip_mix_dense(got, got, n, ws, inv, pc, scale, k);
                } else
                    gossip_mix_dense(v, got, n, ws, inv, pc, scale, k);
                for (size_t i = 0; i < n; i++)
                    cr_assert(!memcmp(&got[i], &want[i], 4), "n %zu, %d messages%s: element %zu is %a, plain %a", n,
                              k, alias ? " (in place)" : "", i, (double)got[i], (double)want[i]);
                for (int j = 0; j < k; j++) free(pay[j]);
                free(v), free(want), free(got);
            }
}
