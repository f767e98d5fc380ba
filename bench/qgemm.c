// `make bench` row for the int8 products (nn/qgemm.h): the ResNet-20 and VGG-11-standard conv shapes
// at batch 32, one thread, int8 product time against cblas_sgemm of the same shape in the same run.
// Usage: bin/bench-qgemm [--model resnet20|vgg11-standard|all] [--seconds S] [--backend NAME] [--json]
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qgemm.h"
#include "rng.h"
#include "util.h"
#ifdef QGEMM_BENCH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

// One distinct conv (or linear) of a model, `count` times per step: forward Y (oc, B*ohw) =
// W (oc, k) . col (k, B*ohw); the input gradient dcol (k, B*ohw) = W^T . dY unless the layer is first.
typedef struct {
    const char *model, *what;
    int oc, k, ohw, count, igrad;
} Shape;

static const Shape shapes[] = {
    {"resnet20", "conv1 3->16 @32", 16, 27, 1024, 1, 0},
    {"resnet20", "16->16 @32", 16, 144, 1024, 6, 1},
    {"resnet20", "16->32 s2 @16", 32, 144, 256, 1, 1},
    {"resnet20", "1x1 16->32 s2 @16", 32, 16, 256, 1, 1},
    {"resnet20", "32->32 @16", 32, 288, 256, 5, 1},
    {"resnet20", "32->64 s2 @8", 64, 288, 64, 1, 1},
    {"resnet20", "1x1 32->64 s2 @8", 64, 32, 64, 1, 1},
    {"resnet20", "64->64 @8", 64, 576, 64, 5, 1},
    {"resnet20", "linear 64->10", 10, 64, 1, 1, 1},
    {"vgg11-standard", "conv1 3->64 @32", 64, 27, 1024, 1, 0},
    {"vgg11-standard", "64->128 @16", 128, 576, 256, 1, 1},
    {"vgg11-standard", "128->256 @8", 256, 1152, 64, 1, 1},
    {"vgg11-standard", "256->256 @8", 256, 2304, 64, 1, 1},
    {"vgg11-standard", "256->512 @4", 512, 2304, 16, 1, 1},
    {"vgg11-standard", "512->512 @4", 512, 4608, 16, 1, 1},
    {"vgg11-standard", "512->512 @2", 512, 4608, 4, 2, 1},
    {"vgg11-standard", "linear 512->512", 512, 512, 1, 2, 1},
    {"vgg11-standard", "linear 512->10", 10, 512, 1, 1, 1},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))
#define BATCH 32
// The conv layer's column chunk (nn/layer_conv.c CONV_WORK_FLOATS): whole samples, at least one.
#define CHUNK_FLOATS ((size_t)1 << 17)

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

// One layer's products at batch 32, run as nn/layer_conv.c runs them: chunks of nb samples, each
// chunk one product of N = nb * ohw columns. kind 0: forward, W (oc, k) . col (k, N) into Y (oc,
// B*ohw); kind 1: input gradient, W^T (k, oc) . dY (oc, B*ohw) columns into a (k, N) buffer.
typedef struct {
    int kind, oc, k, ohw, nb, ntot;
    float *w, *col, *y, *dw, *work;   // fp32: W (oc, k), col chunk (k, nb*ohw), Y/dY (oc, ntot), dW, dcol chunk
    uint8_t *wq, *colq, *yq;          // codes of W, col chunk, dY
    int8_t *bs;                       // recentred B chunk for oneDNN
    int32_t *cq;
} Prod;

static int chunk_n(const Prod *p, int b0) { return (BATCH - b0 < p->nb ? BATCH - b0 : p->nb) * p->ohw; }

static void run_sgemm(void *v) {
    Prod *p = v;
    for (int b0 = 0; b0 < BATCH; b0 += p->nb) {
        int n = chunk_n(p, b0);
        if (p->kind == 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->oc, n, p->k, 1.0f, p->w, p->k, p->col, n, 0.0f,
                        p->y + (size_t)b0 * p->ohw, p->ntot);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->k, n, p->oc, 1.0f, p->w, p->k,
                        p->y + (size_t)b0 * p->ohw, p->ntot, 0.0f, p->work, n);
    }
}

// The int8 product the layers will call: W's codes prepared once, then the float affine form per chunk.
static void run_qgemm(void *v) {
    Prod *p = v;
    QgemmQuant qw = {0.002f, -0.25f}, qx = {0.01f, 0.0f};
    QgemmA *a =
        p->kind == 0 ? qgemm_a_new(NULL, 0, p->oc, p->k, p->wq, p->k) : qgemm_a_new(NULL, 1, p->k, p->oc, p->wq, p->k);
    for (int b0 = 0; b0 < BATCH; b0 += p->nb) {
        int n = chunk_n(p, b0);
        if (p->kind == 0)
            qgemm_a_mul_affine(a, qw, n, p->colq, n, qx, p->y + (size_t)b0 * p->ohw, p->ntot, 0);
        else
            qgemm_a_mul_affine(a, qw, n, p->yq + (size_t)b0 * p->ohw, p->ntot, qx, p->work, n, 0);
    }
    qgemm_a_free(a);
}

// The weight gradient dW (oc, k) += dY (oc, N) . col^T per chunk: stays fp32 (x^ times unquantized dY).
static void run_wgrad(void *v) {
    Prod *p = v;
    for (int b0 = 0; b0 < BATCH; b0 += p->nb) {
        int n = chunk_n(p, b0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->oc, p->k, n, 1.0f, p->y + (size_t)b0 * p->ohw, p->ntot,
                    p->col, n, 1.0f, p->dw, p->k);
    }
}

#ifdef QGEMM_BENCH_DNNL
// The same with int32 output (no float form): what oneDNN's column is comparable with.
static void run_qgemm_int32(void *v) {
    Prod *p = v;
    QgemmA *a =
        p->kind == 0 ? qgemm_a_new(NULL, 0, p->oc, p->k, p->wq, p->k) : qgemm_a_new(NULL, 1, p->k, p->oc, p->wq, p->k);
    for (int b0 = 0; b0 < BATCH; b0 += p->nb) {
        int n = chunk_n(p, b0);
        if (p->kind == 0) qgemm_a_mul(a, n, p->colq, n, p->cq, n);
        else qgemm_a_mul(a, n, p->yq + (size_t)b0 * p->ohw, p->ntot, p->cq, n);
    }
    qgemm_a_free(a);
}

// oneDNN multiplies u8 by s8: each B chunk is recentred (q - 128, timed with the product) and
// bo = -128 undoes it; the int32 result (no float form) is what is timed.
static void run_dnnl(void *v) {
    Prod *p = v;
    for (int b0 = 0; b0 < BATCH; b0 += p->nb) {
        int n = chunk_n(p, b0), K = p->kind ? p->oc : p->k, M = p->kind ? p->k : p->oc;
        for (int kk = 0; kk < K; kk++) {
            const uint8_t *src =
                p->kind ? p->yq + (size_t)kk * p->ntot + (size_t)b0 * p->ohw : p->colq + (size_t)kk * n;
            for (int j = 0; j < n; j++) p->bs[(size_t)kk * n + j] = (int8_t)(src[j] ^ 0x80);
        }
        int32_t co = 0;
        dnnl_status_t st = dnnl_gemm_u8s8s32(p->kind ? 'T' : 'N', 'N', 'F', M, n, K, 1.0f, p->wq, p->k, 0, p->bs, n,
                                             -128, 0.0f, p->cq, n, &co);
        if (st != dnnl_success) { fprintf(stderr, "dnnl_gemm_u8s8s32 failed: %d\n", (int)st); exit(1); }
    }
}
#endif

static Prod prod_new(int kind, const Shape *sh, Rng *r) {
    Prod p = {.kind = kind, .oc = sh->oc, .k = sh->k, .ohw = sh->ohw, .ntot = BATCH * sh->ohw};
    size_t per = (size_t)sh->k * sh->ohw;
    p.nb = per > CHUNK_FLOATS ? 1 : (int)(CHUNK_FLOATS / per);
    if (p.nb > BATCH) p.nb = BATCH;
    size_t nw = (size_t)sh->oc * sh->k, nc = (size_t)sh->k * p.nb * sh->ohw, ny = (size_t)sh->oc * p.ntot;
    p.w = xfloats(nw), p.dw = xfloats(nw), p.col = xfloats(nc), p.work = xfloats(nc), p.y = xfloats(ny);
    size_t nbig = (size_t)(sh->k > sh->oc ? sh->k : sh->oc) * p.nb * sh->ohw;   // either operand of a chunk
    p.wq = xmalloc(nw), p.colq = xmalloc(nc), p.yq = xmalloc(ny), p.bs = xmalloc(nbig);
    p.cq = xmalloc(sizeof(int32_t) * nbig);
    for (size_t i = 0; i < nw; i++) p.wq[i] = (uint8_t)rng_below(r, 256), p.w[i] = p.wq[i] * 0.002f - 0.25f;
    for (size_t i = 0; i < nc; i++) p.colq[i] = (uint8_t)rng_below(r, 256), p.col[i] = p.colq[i] * 0.01f;
    for (size_t i = 0; i < ny; i++) p.yq[i] = (uint8_t)rng_below(r, 256), p.y[i] = p.yq[i] * 0.01f;
    return p;
}

static void prod_free(Prod *p) {
    free(p->w), free(p->dw), free(p->col), free(p->work), free(p->y);
    free(p->wq), free(p->colq), free(p->yq), free(p->bs), free(p->cq);
}

// The backend in use against the plain path on the first chunk (the unit tests check everything).
static void spot_check(Prod *p) {
    int n = chunk_n(p, 0), M = p->kind ? p->k : p->oc, K = p->kind ? p->oc : p->k;
    const uint8_t *B = p->kind ? p->yq : p->colq;
    int ldb = p->kind ? p->ntot : n;
    int32_t *want = xmalloc(sizeof(int32_t) * (size_t)M * n), *got = xmalloc(sizeof(int32_t) * (size_t)M * n);
    QgemmA *a = qgemm_a_new(qgemm_backends[qgemm_n_backends - 1], p->kind, M, K, p->wq, p->kind ? M : K);
    qgemm_a_mul(a, n, B, ldb, want, n);
    qgemm_a_free(a);
    qgemm(p->kind, M, n, K, p->wq, p->kind ? M : K, B, ldb, got, n);
    if (memcmp(want, got, sizeof(int32_t) * (size_t)M * n) != 0) {
        fprintf(stderr, "bench-qgemm: %s differs from the plain path on M=%d N=%d K=%d trans_a=%d\n", qgemm_backend(),
                M, n, K, p->kind);
        exit(1);
    }
    free(want);
    free(got);
}

#define MAX_BE 4
static const QgemmBackend *bes[MAX_BE];   // the backends timed: every one this CPU runs, or --backend
static int n_be;

static void usage(void) {
    fprintf(stderr, "usage: bin/bench-qgemm [--model resnet20|vgg11-standard|all] [--seconds S per timing] "
                    "[--backend avx512-vnni|avx-vnni|avx2|plain] [--json]\n");
    exit(2);
}

// One model: a row per product and backend, then totals over the step (x count). Returns the JSON
// object of its totals.
static void bench_model(const char *model, Rng *r, char *js, size_t jcap) {
    double sg[2] = {0}, q[MAX_BE][2] = {{0}}, wgrad = 0.0;
    for (int s = 0; s < N_SHAPES; s++) {
        const Shape *sh = &shapes[s];
        if (strcmp(sh->model, model)) continue;
        for (int kind = 0; kind < 2; kind++) {
            if (kind == 1 && !sh->igrad) continue;
            int M = kind ? sh->k : sh->oc, K = kind ? sh->oc : sh->k;
            Prod p = prod_new(kind, sh, r);
            double ts = time_median(run_sgemm, &p);
            sg[kind] += sh->count * ts;
            if (kind == 0) wgrad += sh->count * time_median(run_wgrad, &p);
            printf("| %s | %s | %d x %d x %d (x%d) | %d | %.3f |", sh->what, kind ? "input grad" : "forward", M,
                   chunk_n(&p, 0), K, (BATCH + p.nb - 1) / p.nb, sh->count, 1e3 * ts);
            for (int b = 0; b < n_be; b++) {
                qgemm_backend_set(qgemm_backend_name(bes[b]));
                spot_check(&p);
                double tq = time_median(run_qgemm, &p);
                q[b][kind] += sh->count * tq;
                printf(" %.3f (%.2fx) |", 1e3 * tq, ts / tq);
            }
#ifdef QGEMM_BENCH_DNNL
            qgemm_backend_set(qgemm_backend_name(bes[0]));
            double td = time_median(run_dnnl, &p), t32 = time_median(run_qgemm_int32, &p);
            printf(" %.3f | %.3f (%.2fx) |", 1e3 * t32, 1e3 * td, ts / td);
#endif
            printf("\n");
            fflush(stdout);
            prod_free(&p);
        }
    }
    const char *what[2] = {"forward", "input grad"};
    size_t jn = strlen(js);
    jn += (size_t)snprintf(js + jn, jcap - jn, ",\"%s\":{\"wgrad_ms\":%.3f,\"sgemm_ms\":[%.3f,%.3f]", model,
                           1e3 * wgrad, 1e3 * sg[0], 1e3 * sg[1]);
    for (int kind = 0; kind < 2; kind++) {
        printf("| **all, x count** | %s | | | %.2f |", what[kind], 1e3 * sg[kind]);
        for (int b = 0; b < n_be; b++) printf(" %.2f (**%.2fx**) |", 1e3 * q[b][kind], sg[kind] / q[b][kind]);
        printf("\n");
    }
    printf("| **fwd + igrad + fp32 wgrad** | wgrad %.2f ms | | | %.2f |", 1e3 * wgrad, 1e3 * (sg[0] + sg[1] + wgrad));
    for (int b = 0; b < n_be; b++) {
        double f32 = sg[0] + sg[1] + wgrad, i8 = q[b][0] + q[b][1] + wgrad;
        printf(" %.2f (**%.2fx**) |", 1e3 * i8, f32 / i8);
        jn += (size_t)snprintf(js + jn, jcap - jn,
                               ",\"%s\":{\"int8_ms\":[%.3f,%.3f],\"forward_ratio\":%.3f,\"igrad_ratio\":%.3f,"
                               "\"products_ratio\":%.3f}",
                               qgemm_backend_name(bes[b]), 1e3 * q[b][0], 1e3 * q[b][1], sg[0] / q[b][0],
                               sg[1] / q[b][1], f32 / i8);
    }
    snprintf(js + jn, jcap - jn, "}");
    printf("\n\n");
}

int main(int argc, char **argv) {
    const char *model = "all", *only = NULL;
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
            only = argv[++i];
            if (qgemm_backend_set(only) != 0) {
                fprintf(stderr, "bench-qgemm: --backend '%s': not in this build or not supported by this CPU\n", only);
                return 2;
            }
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else usage();
    }
    if (strcmp(model, "all") && strcmp(model, "resnet20") && strcmp(model, "vgg11-standard")) {
        fprintf(stderr, "bench-qgemm: --model '%s': expected resnet20, vgg11-standard or all\n", model);
        return 2;
    }
    const char *in_use = qgemm_backend();
    for (int b = 0; b < qgemm_n_backends && n_be < MAX_BE; b++) {
        const QgemmBackend *be = qgemm_backends[b];
        if (qgemm_backend_supported(be) && (!only || !strcmp(only, qgemm_backend_name(be)))) bes[n_be++] = be;
    }
    openblas_set_num_threads(1);
    Rng r;
    rng_seed(&r, 13);
    char js[4096];
    snprintf(js, sizeof js, "{\"backend\":\"%s\",\"coretype\":\"%s\",\"batch\":%d", in_use, openblas_get_corename(),
             BATCH);
    char cpu[128] = "unknown", line[256];
    FILE *ci = fopen("/proc/cpuinfo", "r");
    while (ci && fgets(line, sizeof line, ci))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (ci) fclose(ci);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    printf("# int8 products (nn/qgemm.c) vs fp32 sgemm\n\n%s | CPU: %s | backend in use: %s | OpenBLAS core: %s | "
           "median of repetitions for %.2f s per timing; ratio = sgemm time / int8 time (above 1: int8 faster). "
           "int8 = op(A) prepared once + the float affine form per chunk. See docs/int8.md.\n\n",
           when, cpu, in_use, openblas_get_corename(), budget);
    const char *models[] = {"resnet20", "vgg11-standard"};
    for (int mi = 0; mi < 2; mi++) {
        if (strcmp(model, "all") && strcmp(model, models[mi])) continue;
        printf("### %s, batch %d, one thread: int8 product vs cblas_sgemm (OpenBLAS %s)\n\n", models[mi], BATCH,
               openblas_get_corename());
        printf("| layer | product | M x N x K (chunks) | count | sgemm ms |");
        for (int b = 0; b < n_be; b++) printf(" %s ms (ratio) |", qgemm_backend_name(bes[b]));
#ifdef QGEMM_BENCH_DNNL
        printf(" %s int32-out ms | oneDNN u8s8s32 int32-out ms (ratio) |", qgemm_backend_name(bes[0]));
#endif
        printf("\n|---|---|---|---:|---:|");
        for (int b = 0; b < n_be; b++) printf("---:|");
#ifdef QGEMM_BENCH_DNNL
        printf("---:|---:|");
#endif
        printf("\n");
        bench_model(models[mi], &r, js, sizeof js);
    }
    qgemm_backend_set(in_use);
    if (json) printf("%s}\n", js);
    return 0;
}
