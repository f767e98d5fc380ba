// `meshtrain bench train-step`: median time of one training step (forward, loss, backward, SGD)
// on a fixed random batch, as images/s and achieved GFLOP/s (6 flops per MAC per sample).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "train.h"
#include "args.h"
#include "common.h"
#include "model.h"
#include "optim.h"

static const char *USAGE =
    "meshtrain bench train-step --model M [--bits 8|32] [--arith int8|simulated] [--paired] [--batch B] "
    "[--threads T] [--seconds S] [--json]";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// CPU seconds of this process (steadier than wall time on a loaded host; one BLAS thread runs in ours).
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// One timed training step: wall and CPU seconds.
static void step_timed(Model *m, Sgd *sgd, const uint8_t *y, int batch, Rng *rng, double *wall, double *cpu) {
    double t0 = time_now(), c0 = cpu_now();
    model_forward(m, batch, 1, rng);
    model_loss(m, y, NULL);
    model_backward(m);
    sgd_step(sgd, m->params, m->grads, 0.01f);
    *wall = time_now() - t0, *cpu = cpu_now() - c0;
}

static double quantile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[(int)(q * (n - 1) + 0.5)];
}

// Medians over the timed steps: wall and CPU time of m's steps, the fastest wall step; with a paired fp32
// model, its medians and the quartiles of the per-pair speed-ups (fp32 time / m's time).
typedef struct {
    int n;
    double wall, cpu, wall_min, p_wall, p_cpu, r_q1, r_med, r_q3, rw_med;
} StepStats;

static void steps_time(Model *m, Sgd *sgd, Rng *rng, Model *m32, Sgd *sgd32, Rng *rng32, const uint8_t *y, int batch,
                       int warmup, double seconds, StepStats *st) {
    int cap = 1 << 16, n = 0;
    double *t = xmalloc(sizeof(double) * (size_t)cap), *tc = xmalloc(sizeof(double) * (size_t)cap), start = 0;
    double *t32 = xmalloc(sizeof(double) * (size_t)cap), *tc32 = xmalloc(sizeof(double) * (size_t)cap);
    double *rc = xmalloc(sizeof(double) * (size_t)cap), *rw = xmalloc(sizeof(double) * (size_t)cap);
    for (int s = 0; n < cap; s++) {
        if (s == warmup) start = time_now();
        double dt, dc, dt32 = 0, dc32 = 0;
        if (m32 && s % 2) step_timed(m32, sgd32, y, batch, rng32, &dt32, &dc32);   // alternate who goes first
        step_timed(m, sgd, y, batch, rng, &dt, &dc);
        if (m32 && !(s % 2)) step_timed(m32, sgd32, y, batch, rng32, &dt32, &dc32);
        if (s >= warmup) {
            t32[n] = dt32, tc32[n] = dc32, rc[n] = dc32 / dc, rw[n] = dt32 / dt;
            tc[n] = dc;
            t[n++] = dt;
            if (time_now() - start >= seconds && n >= 5) break;
        }
    }
    st->n = n;
    st->wall = quantile(t, n, 0.5), st->wall_min = t[0], st->cpu = quantile(tc, n, 0.5);
    st->p_wall = quantile(t32, n, 0.5), st->p_cpu = quantile(tc32, n, 0.5), st->r_q1 = quantile(rc, n, 0.25);
    st->r_med = quantile(rc, n, 0.5), st->r_q3 = quantile(rc, n, 0.75), st->rw_med = quantile(rw, n, 0.5);
    free(t), free(tc), free(t32), free(tc32), free(rc), free(rw);
}

// The results: one JSON object, or text.
static void steps_report(const char *model, NormKind norm, int batch, int threads, int bits, int json, Model *m,
                         int paired, const StepStats *st) {
    int n = st->n;
    double med = st->wall, cpu_med = st->cpu, p_wall = st->p_wall, p_cpu = st->p_cpu;
    double r_q1 = st->r_q1, r_med = st->r_med, r_q3 = st->r_q3, rw_med = st->rw_med, t0_min = st->wall_min;
    double macs = (double)model_macs(m), ips = batch / med, gflops = 6.0 * macs * batch / med / 1e9;
    double rss = rss_peak_kb() / 1024.0;
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:s, s:s}",
                              "impl", "meshtrain", "model", model, "norm", norm_name(norm), "batch", batch,
                              "threads", threads, "params", (json_int_t)m->n_params, "macs_per_sample",
                              (json_int_t)model_macs(m), "steps", n, "step_ms", med * 1e3, "step_ms_min", t0_min * 1e3,
                              "images_per_s", ips, "gflops", gflops, "rss_peak_mb", rss, "coretype", blas_core_name(),
                              "git", meshtrain_git);
        json_object_set_new(o, "bits", json_integer(bits));
        json_object_set_new(o, "arith", json_string(model_arith_name(m)));
        json_object_set_new(o, "cpu_ms", json_real(cpu_med * 1e3));
        json_object_set_new(o, "memory", model_memory_json(m));
        if (paired)
            json_object_set_new(o, "paired",
                                json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "fp32_step_ms", p_wall * 1e3, "fp32_cpu_ms",
                                          p_cpu * 1e3, "speedup_cpu_median", r_med, "speedup_cpu_q1", r_q1,
                                          "speedup_cpu_q3", r_q3, "speedup_wall_median", rw_med));
        char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("%s (%s, %zu params, %.1f MMACs/sample): batch %d, %d threads, median step %.2f ms over %d steps\n"
               "  %.0f images/s, %.1f GFLOP/s, peak RSS %.1f MB, BLAS core %s; median CPU time %.2f ms/step; "
               "products: %s\n",
               model, norm_name(norm), m->n_params, macs / 1e6, batch, threads, med * 1e3, n, ips, gflops, rss,
               blas_core_name(), cpu_med * 1e3, model_arith_name(m));
        ModelMemory mm;
        model_memory(m, &mm);
        printf("  %d-bit bytes: weights %zu, activations kept for backward %zu, errors %zu; fp32 master weights and "
               "gradients %zu\n",
               bits, mm.weights, mm.activations, mm.gradients, mm.master);
        if (paired)
            printf("  paired with fp32 (%d pairs): fp32 median %.2f ms wall, %.2f ms CPU; 8-bit speed-up over fp32 "
                   "(CPU time, per pair): median %.3fx, quartiles %.3f-%.3fx; wall: median %.3fx\n",
                   n, p_wall * 1e3, p_cpu * 1e3, r_med, r_q1, r_q3, rw_med);
    }
}

static int bench_train_step(int argc, char **argv) {
    Args a;
    args_init(&a, "bench train-step", USAGE, argc, argv);
    const char *model = "lenet5", *dataset = NULL, *norm_s = NULL, *arith_s = NULL;
    int batch = 32, threads = 1, json = 0, warmup = 5, bits = 32, paired = 0;
    double seconds = 3.0;
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf("usage: %s\n\nTime training steps of one model on a fixed random batch (data loading not timed).\n"
                   "  --model M      %s\n  --dataset D    input shape to use (default: fashion-mnist for "
                   "lenet5/mlp/linear, else cifar10)\n"
                   "  --norm N       %s\n  --bits N       precision: 32 or 8 (docs/precision.md; default 32)\n"
                   "  --arith A      8 bits: int8 (qgemm's integer products; the default where it has a SIMD "
                   "backend) or simulated (decoded codes, sgemm; docs/int8.md)\n"
                   "  --paired       8 bits: alternate each step with a step of the same model at fp32 and report "
                   "the\n                 median of the per-pair CPU-time ratios fp32 / 8-bit (steady on a loaded "
                   "host)\n"
                   "  --batch B      batch size (default 32)\n  --threads T    BLAS threads "
                   "(default 1)\n"
                   "  --seconds S    time to spend timing after 5 warm-up steps (default 3)\n  --json         result "
                   "as one JSON object\n",
                   USAGE, model_names(), norm_names());
            return 0;
        }
        else if (args_is(&a, "--model")) model = args_str(&a);
        else if (args_is(&a, "--dataset")) dataset = args_str(&a);
        else if (args_is(&a, "--norm")) norm_s = args_str(&a);
        else if (args_is(&a, "--batch")) batch = (int)args_int(&a, 1, 4096);
        else if (args_is(&a, "--bits")) {
            bits = (int)args_int(&a, 1, 64);
            if (bits != 8 && bits != 32) args_fail(&a, "--bits: %d (expected 8 or 32)", bits);
        }
        else if (args_is(&a, "--arith")) {
            arith_s = args_str(&a);
            if (strcmp(arith_s, "int8") && strcmp(arith_s, "simulated"))
                args_fail(&a, "--arith: '%s' (expected int8 or simulated)", arith_s);
        }
        else if (args_is(&a, "--threads")) threads = (int)args_int(&a, 1, 256);
        else if (args_is(&a, "--seconds")) seconds = args_float(&a, 0.01, 3600);
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else if (args_is(&a, "--paired")) { args_no_value(&a); paired = 1; }
        else args_unknown(&a);
    }
    a.flag = "--model";
    if (paired && bits != 8) {
        a.flag = "--paired";
        args_fail(&a, "--paired: compares 8 bits with fp32, needs --bits 8");
    }
    if (arith_s && bits != 8) {
        a.flag = "--arith";
        args_fail(&a, "--arith: %s needs --bits 8", arith_s);
    }
    a.flag = "--model";
    if (!model_known(model)) args_fail(&a, "--model: unknown model '%s' (expected one of: %s)", model, model_names());
    if (!dataset)
        dataset = (!strcmp(model, "lenet5") || !strcmp(model, "mlp") || !strcmp(model, "linear")) ? "fashion-mnist"
                                                                                                  : "cifar10";
    int c, h, w, k;
    a.flag = "--dataset";
    if (dataset_shape(dataset, &c, &h, &w, &k)) args_fail(&a, "--dataset: unknown dataset '%s'", dataset);
    NormKind norm = model_default_norm(model);
    a.flag = "--norm";
    if (norm_s && norm_parse(norm_s, &norm))
        args_fail(&a, "--norm: unknown '%s' (expected one of: %s)", norm_s, norm_names());
    if (!model_takes_norm(model, norm))
        args_fail(&a, "--norm: %s needs a convolutional model (lenet5, cnn5, resnet20, vgg11, vgg11-standard), not "
                  "%s", norm_name(norm), model);
    blas_threads_set(threads);
    Rng rng = rng_derive(1, 1);
    Err e = {{0}};
    Model *m = model_build(model, norm, c, h, w, k, batch, &rng, &e);
    if (m && model_set_precision(m, bits, QROUND_STOCHASTIC, rng_derive(1, 4), &e)) model_free(m), m = NULL;
    if (m && arith_s &&
        model_set_q8_arith(m, strcmp(arith_s, "int8") ? Q8_ARITH_SIMULATED : Q8_ARITH_INT8, 0, &e))
        model_free(m), m = NULL;
    if (!m) { fprintf(stderr, "meshtrain bench train-step: %s\n", e.msg); return 2; }
    float *x = model_input(m);
    for (size_t i = 0; i < (size_t)c * h * w * batch; i++) x[i] = (float)rng_normal(&rng);
    uint8_t *y = xmalloc((size_t)batch);
    for (int i = 0; i < batch; i++) y[i] = (uint8_t)rng_below(&rng, (uint32_t)k);
    Sgd sgd, sgd32;
    SgdConfig sc = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f, .nesterov = 1};
    sgd_init_model(&sgd, &sc, m);
    // --paired: the same model at fp32 (same initialization and batch), stepped alternately with m.
    Model *m32 = NULL;
    Rng rng32 = rng_derive(1, 1);
    if (paired) {
        m32 = model_build(model, norm, c, h, w, k, batch, &rng32, &e);
        if (!m32) { fprintf(stderr, "meshtrain bench train-step: %s\n", e.msg); return 2; }
        memcpy(model_input(m32), x, sizeof(float) * (size_t)c * h * w * batch);
        sgd_init_model(&sgd32, &sc, m32);
    }
    StepStats st;
    steps_time(m, &sgd, &rng, m32, &sgd32, &rng32, y, batch, warmup, seconds, &st);
    steps_report(model, norm, batch, threads, bits, json, m, m32 != NULL, &st);
    free(y);
    sgd_free(&sgd);
    if (m32) sgd_free(&sgd32), model_free(m32);
    model_free(m);
    return 0;
}

int bench_harness(int argc, char **argv);
int bench_link(int argc, char **argv);
int bench_setup(int argc, char **argv);

int cmd_bench(int argc, char **argv) {
    if (argc < 1 || is_help(argv[0])) {
        printf(
            "usage: meshtrain bench WHAT [FLAGS]\n\n  train-step   time of one training step of a model (see --help)\n"
            "  harness      time per round of N agents with SGP against the same agents computing alone\n"
            "  link         one netem-shaped link measured end to end: delay, loss, throughput (configured vs "
            "measured)\n"
            "  setup        time to create N agents' namespaces and every directed link\n");
        return argc < 1 ? 2 : 0;
    }
    if (!strcmp(argv[0], "train-step")) return bench_train_step(argc - 1, argv + 1);
    if (!strcmp(argv[0], "harness")) return bench_harness(argc - 1, argv + 1);
    if (!strcmp(argv[0], "link")) return bench_link(argc - 1, argv + 1);
    if (!strcmp(argv[0], "setup")) return bench_setup(argc - 1, argv + 1);
    fprintf(stderr, "meshtrain bench: unknown benchmark '%s' (expected: train-step, harness, link, setup)\n", argv[0]);
    return 2;
}
