// `make bench` row for the int8 products (nn/qgemm.h): the ResNet-20 and VGG-11-standard conv shapes
// at batch 32, one thread, int8 product time against cblas_sgemm of the same shape in the same run.
// Usage: bin/bench-qgemm [--model resnet20|vgg11-standard|all] [--seconds S] [--backend NAME] [--json]
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qgemm.h"
#include "rng.h"
#include "util.h"
#ifdef QGEMM_BENCH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

// One distinct conv (or linear) of a model: forward Y (oc, n) = W (oc, k) . col (k, n), `count`
// times per step; the input gradient dcol (k, n) = W^T . dY unless the layer is the first.
typedef struct {
    const char *model, *what;
    int oc, k, n, count, igrad;
} Shape;

static const Shape shapes[] = {
    {"resnet20", "conv1 3->16 @32", 16, 27, 32 * 1024, 1, 0},
    {"resnet20", "16->16 @32", 16, 144, 32 * 1024, 6, 1},
    {"resnet20", "16->32 s2 @16", 32, 144, 32 * 256, 1, 1},
    {"resnet20", "1x1 16->32 s2 @16", 32, 16, 32 * 256, 1, 1},
    {"resnet20", "32->32 @16", 32, 288, 32 * 256, 5, 1},
    {"resnet20", "32->64 s2 @8", 64, 288, 32 * 64, 1, 1},
    {"resnet20", "1x1 32->64 s2 @8", 64, 32, 32 * 64, 1, 1},
    {"resnet20", "64->64 @8", 64, 576, 32 * 64, 5, 1},
    {"resnet20", "linear 64->10", 10, 64, 32, 1, 1},
    {"vgg11-standard", "conv1 3->64 @32", 64, 27, 32 * 1024, 1, 0},
    {"vgg11-standard", "64->128 @16", 128, 576, 32 * 256, 1, 1},
    {"vgg11-standard", "128->256 @8", 256, 1152, 32 * 64, 1, 1},
    {"vgg11-standard", "256->256 @8", 256, 2304, 32 * 64, 1, 1},
    {"vgg11-standard", "256->512 @4", 512, 2304, 32 * 16, 1, 1},
    {"vgg11-standard", "512->512 @4", 512, 4608, 32 * 16, 1, 1},
    {"vgg11-standard", "512->512 @2", 512, 4608, 32 * 4, 2, 1},
    {"vgg11-standard", "linear 512->512", 512, 512, 32, 2, 1},
    {"vgg11-standard", "linear 512->10", 10, 512, 32, 1, 1},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static double budget = 0.25;   // seconds of repetitions per timing

// Median seconds of one call of fn(ctx) over repetitions for about `budget` seconds (after one warm-up).
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double time_median(void (*fn)(void *), void *ctx) {
    double t[401];
    int n = 0;
    fn(ctx);
    double start = time_now();
    while (n < 401 && (n < 5 || time_now() - start < budget)) {
        double t0 = time_now();
        fn(ctx);
        t[n++] = time_now() - t0;
    }
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    return t[n / 2];
}

// One product: op(A) (M, K) . B (K, N); A stored (M, K), or (K, M) when ta.
typedef struct {
    int ta, M, N, K;
    float *af, *bf, *cf;        // fp32 operands and result
    uint8_t *aq, *bq;           // codes
    int32_t *cq;
    int8_t *bs;                 // recentred B for oneDNN
} Prod;

static void run_sgemm(void *v) {
    Prod *p = v;
    int lda = p->ta ? p->M : p->K;
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, CblasNoTrans, p->M, p->N, p->K, 1.0f, p->af, lda,
                p->bf, p->N, 0.0f, p->cf, p->N);
}

static void run_qgemm(void *v) {
    Prod *p = v;
    qgemm(p->ta, p->M, p->N, p->K, p->aq, p->ta ? p->M : p->K, p->bq, p->N, p->cq, p->N);
}

// The weight gradient dW (oc, k) += dY (oc, n) . col^T, which stays fp32 (x^ times unquantized dY).
static void run_wgrad(void *v) {
    Prod *p = v;   // M = oc, K = k, N = n of the forward shape
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->M, p->K, p->N, 1.0f, p->cf, p->N, p->bf, p->N, 1.0f,
                p->af, p->K);
}

#ifdef QGEMM_BENCH_DNNL
// oneDNN multiplies u8 by s8: B is recentred (q - 128, timed with the product) and bo = -128 undoes it.
static void run_dnnl(void *v) {
    Prod *p = v;
    size_t nb = (size_t)p->K * p->N;
    for (size_t i = 0; i < nb; i++) p->bs[i] = (int8_t)(p->bq[i] ^ 0x80);
    int32_t co = 0;
    dnnl_status_t st = dnnl_gemm_u8s8s32(p->ta ? 'T' : 'N', 'N', 'F', p->M, p->N, p->K, 1.0f, p->aq,
                                         p->ta ? p->M : p->K, 0, p->bs, p->N, -128, 0.0f, p->cq, p->N, &co);
    if (st != dnnl_success) { fprintf(stderr, "dnnl_gemm_u8s8s32 failed: %d\n", (int)st); exit(1); }
}
#endif

static Prod prod_new(int ta, int M, int N, int K, Rng *r) {
    Prod p = {.ta = ta, .M = M, .N = N, .K = K};
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    p.af = xfloats(na);
    p.bf = xfloats(nb);
    p.cf = xfloats(nc);
    p.aq = xmalloc(na);
    p.bq = xmalloc(nb);
    p.bs = xmalloc(nb);
    p.cq = xmalloc(sizeof(int32_t) * nc);
    for (size_t i = 0; i < na; i++) p.aq[i] = (uint8_t)rng_below(r, 256), p.af[i] = p.aq[i] * 0.01f - 1.0f;
    for (size_t i = 0; i < nb; i++) p.bq[i] = (uint8_t)rng_below(r, 256), p.bf[i] = p.bq[i] * 0.01f;
    return p;
}

static void prod_free(Prod *p) {
    free(p->af), free(p->bf), free(p->cf), free(p->aq), free(p->bq), free(p->bs), free(p->cq);
}

// Check one int8 result against the plain path on a few rows (the unit tests check everything).
static void spot_check(Prod *p) {
    const QgemmBackend *plain = qgemm_backends[qgemm_n_backends - 1];
    int rows = p->M < 3 ? p->M : 3;
    int32_t *want = xmalloc(sizeof(int32_t) * (size_t)rows * p->N);
    uint8_t *a = p->aq;
    // rows [0, rows) of op(A): for ta, op(A)[m][k] = A[k][m], so the stored matrix is passed whole.
    plain->gemm(p->ta, rows, p->N, p->K, a, p->ta ? p->M : p->K, p->bq, p->N, want, p->N, NULL);
    if (memcmp(want, p->cq, sizeof(int32_t) * (size_t)rows * p->N) != 0) {
        fprintf(stderr, "bench-qgemm: %s differs from the plain path on M=%d N=%d K=%d trans_a=%d\n", qgemm_backend(),
                p->M, p->N, p->K, p->ta);
        exit(1);
    }
    free(want);
}

typedef struct {
    double sgemm, q, dnnl, wgrad;
} Times;

static void usage(void) {
    fprintf(stderr, "usage: bin/bench-qgemm [--model resnet20|vgg11-standard|all] [--seconds S per timing] "
                    "[--backend avx512-vnni|avx2|plain] [--json]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *model = "all";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            budget = atof(argv[++i]);
            if (!(budget > 0 && budget < 100)) {
                fprintf(stderr, "bench-qgemm: --seconds '%s': expected a number in (0, 100)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            if (qgemm_backend_set(argv[++i]) != 0) {
                fprintf(stderr, "bench-qgemm: --backend '%s': not in this build or not supported by this CPU\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else usage();
    }
    if (strcmp(model, "all") && strcmp(model, "resnet20") && strcmp(model, "vgg11-standard")) {
        fprintf(stderr, "bench-qgemm: --model '%s': expected resnet20, vgg11-standard or all\n", model);
        return 2;
    }
    openblas_set_num_threads(1);
    Rng r;
    rng_seed(&r, 13);
    printf("## int8 products (%s) vs cblas_sgemm (OpenBLAS %s), batch 32, one thread\n\n", qgemm_backend(),
           openblas_get_corename());
    printf("| model | layer | product | M x N x K | count | sgemm ms | int8 ms | ratio sgemm/int8 |%s\n",
#ifdef QGEMM_BENCH_DNNL
           " oneDNN u8s8 ms | ratio sgemm/oneDNN |"
#else
           ""
#endif
    );
    printf("|---|---|---|---|---:|---:|---:|---:|%s\n",
#ifdef QGEMM_BENCH_DNNL
           "---:|---:|"
#else
           ""
#endif
    );
    const char *models[] = {"resnet20", "vgg11-standard"};
    char js[2048];
    int jn = snprintf(js, sizeof js, "{\"backend\":\"%s\",\"coretype\":\"%s\"", qgemm_backend(), openblas_get_corename());
    for (int mi = 0; mi < 2; mi++) {
        if (strcmp(model, "all") && strcmp(model, models[mi])) continue;
        Times tot[2] = {{0}};   // [0] forward, [1] input gradient
        double wgrad = 0.0;
        for (int s = 0; s < N_SHAPES; s++) {
            const Shape *sh = &shapes[s];
            if (strcmp(sh->model, models[mi])) continue;
            for (int kind = 0; kind < 2; kind++) {
                if (kind == 1 && !sh->igrad) continue;
                int M = kind ? sh->k : sh->oc, K = kind ? sh->oc : sh->k;
                Prod p = prod_new(kind, M, sh->n, K, &r);
                Times t = {0};
                t.sgemm = time_median(run_sgemm, &p);
                t.q = time_median(run_qgemm, &p);
                spot_check(&p);
#ifdef QGEMM_BENCH_DNNL
                t.dnnl = time_median(run_dnnl, &p);
#endif
                if (kind == 0) wgrad += sh->count * time_median(run_wgrad, &p);
                tot[kind].sgemm += sh->count * t.sgemm;
                tot[kind].q += sh->count * t.q;
                tot[kind].dnnl += sh->count * t.dnnl;
                printf("| %s | %s | %s | %d x %d x %d | %d | %.3f | %.3f | %.2fx |", models[mi], sh->what,
                       kind ? "input grad" : "forward", M, sh->n, K, sh->count, 1e3 * t.sgemm, 1e3 * t.q,
                       t.sgemm / t.q);
#ifdef QGEMM_BENCH_DNNL
                printf(" %.3f | %.2fx |", 1e3 * t.dnnl, t.sgemm / t.dnnl);
#endif
                printf("\n");
                fflush(stdout);
                prod_free(&p);
            }
        }
        double f32 = tot[0].sgemm + tot[1].sgemm + wgrad, i8 = tot[0].q + tot[1].q + wgrad;
        printf("| %s | all (x count) | forward | | | %.2f | %.2f | %.2fx |\n", models[mi], 1e3 * tot[0].sgemm,
               1e3 * tot[0].q, tot[0].sgemm / tot[0].q);
        printf("| %s | all (x count) | input grad | | | %.2f | %.2f | %.2fx |\n", models[mi], 1e3 * tot[1].sgemm,
               1e3 * tot[1].q, tot[1].sgemm / tot[1].q);
        printf("| %s | all (x count) | fwd + igrad + fp32 wgrad (%.2f ms) | | | %.2f | %.2f | %.2fx |\n\n", models[mi],
               1e3 * wgrad, 1e3 * f32, 1e3 * i8, f32 / i8);
        jn += snprintf(js + jn, sizeof js - (size_t)jn,
                       ",\"%s\":{\"forward_ratio\":%.3f,\"igrad_ratio\":%.3f,\"products_ratio\":%.3f,"
                       "\"sgemm_ms\":%.3f,\"int8_ms\":%.3f,\"wgrad_ms\":%.3f}",
                       models[mi], tot[0].sgemm / tot[0].q, tot[1].sgemm / tot[1].q, f32 / i8, 1e3 * f32, 1e3 * i8,
                       1e3 * wgrad);
    }
    if (json) printf("%s}\n", js);
    return 0;
}
