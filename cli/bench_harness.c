// `meshtrain bench harness`: the runtime's own cost. Runs the same N agents twice through
// `meshtrain run`: once with the algorithm under test (dense SGP by default) and once alone
// (`local`, no messages); the difference per round is serialization, sockets and waiting.
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "args.h"
#include "common.h"
#include "util.h"

static const char *USAGE = "meshtrain bench harness [--agents N] [--model M] [--rounds R] [--algorithm A] [--topology "
                           "K] [--repeat N] [--overlap] [--auth-cost] [--json]";

typedef struct {
    double round_ms, compute_ms, wait_ms, cpu_ms, csw_vol, csw_invol, rss_mb, pss_mb;
    long rounds;
    json_int_t bytes;
} HarnessRun;

// Run one scenario in dir with `meshtrain run` and read its summary.
static int harness_once(const char *self, const char *dir, const char *alg, int overlap, const char *net_extra,
                        int agents, const char *model, const char *dataset, const char *topo, int rounds,
                        HarnessRun *out, Err *e) {
    char scen[PATH_MAX], run[PATH_MAX], text[1024];
    snprintf(scen, sizeof scen, "%s/%s-%s.json", dir, alg, overlap ? "overlap" : "sync");
    snprintf(run, sizeof run, "%s/run-%s-%s-%d", dir, alg, overlap ? "overlap" : "sync",
             (int)getpid() ^ (int)(time_now() * 1000));
    snprintf(text, sizeof text,
             "{\"name\":\"bench-harness-%s\",\"agents\":%d,\"dataset\":\"%s\",\"model\":\"%s\",\"epochs\":1,"
             "\"limit_train\":%d,\"limit_test\":256,\"algorithm\":{\"name\":\"%s\"%s},\"topology\":{\"kind\":"
             "\"%s\"},"
             "\"eval\":{\"every_epochs\":1000},\"metrics_every\":1000000,\"network\":{\"backend\":\"none\"%s}}",
             alg, agents, dataset, model, agents * 32 * rounds, alg, overlap ? ",\"overlap\":true" : "", topo,
             net_extra);
    if (file_write_atomic(scen, text, strlen(text), e)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(self, self, "run", scen, "--out", run, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        char reason[600] = "";
        char fp[PATH_MAX + 16];
        snprintf(fp, sizeof fp, "%s/FAILED", run);
        json_t *f = json_load_file(fp, 0, NULL);
        if (f && json_string_value(json_object_get(f, "reason")))
            str_copy(reason, sizeof reason, json_string_value(json_object_get(f, "reason")));
        json_decref(f);
        err_set(e, "the %s run failed: %s", alg, reason[0] ? reason : "see its output above");
        return -1;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/summary.json", run);
    json_t *o = json_load_file(path, 0, NULL);
    json_t *pa = o ? json_object_get(o, "per_agent") : NULL;
    if (!pa) { err_set(e, "%s: no per-agent totals", path); json_decref(o); return -1; }
    memset(out, 0, sizeof *out);
    size_t i;
    json_t *v;
    json_array_foreach(pa, i, v) {
        long r = (long)json_integer_value(json_object_get(v, "rounds"));
        out->rounds = r;
        out->round_ms += 1e3 * json_number_value(json_object_get(v, "train_s")) / r / agents;
        out->compute_ms += 1e3 * json_number_value(json_object_get(v, "compute_s")) / r / agents;
        out->wait_ms += 1e3 * json_number_value(json_object_get(v, "wait_s")) / r / agents;
        out->cpu_ms += 1e3 * json_number_value(json_object_get(v, "cpu_s")) / r / agents;
        out->csw_vol += (double)json_integer_value(json_object_get(v, "csw_voluntary")) / r / agents;
        out->csw_invol += (double)json_integer_value(json_object_get(v, "csw_involuntary")) / r / agents;
        double rss = json_number_value(json_object_get(v, "rss_peak_mb"));
        if (rss > out->rss_mb) out->rss_mb = rss;
        double pss = json_number_value(json_object_get(v, "pss_mb"));
        if (pss > out->pss_mb) out->pss_mb = pss;
    }
    out->bytes = json_integer_value(json_object_get(o, "bytes_wire"));
    json_decref(o);
    return 0;
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Each figure's median over n runs (n odd or even: the lower middle), field by field; rounds and bytes
// are the same in every run.
static void harness_median(const HarnessRun *runs, int n, HarnessRun *out) {
    double v[64];
    *out = runs[0];
    const size_t off[] = {offsetof(HarnessRun, round_ms), offsetof(HarnessRun, compute_ms),
                          offsetof(HarnessRun, wait_ms),  offsetof(HarnessRun, cpu_ms),
                          offsetof(HarnessRun, csw_vol),  offsetof(HarnessRun, csw_invol),
                          offsetof(HarnessRun, rss_mb),   offsetof(HarnessRun, pss_mb)};
    for (size_t f = 0; f < sizeof off / sizeof off[0]; f++) {
        for (int i = 0; i < n; i++) v[i] = *(const double *)((const char *)&runs[i] + off[f]);
        qsort(v, (size_t)n, sizeof(double), dbl_cmp);
        *(double *)((char *)out + off[f]) = v[(n - 1) / 2];
    }
}

// The lowest and highest of one figure over n runs.
static void harness_range(const HarnessRun *runs, int n, size_t off, double *lo, double *hi) {
    *lo = *hi = *(const double *)((const char *)&runs[0] + off);
    for (int i = 1; i < n; i++) {
        double x = *(const double *)((const char *)&runs[i] + off);
        *lo = x < *lo ? x : *lo;
        *hi = x > *hi ? x : *hi;
    }
}

// The compute-only run and the run with ALGORITHM, repeat times, alternating: medians into base and with,
// and the range of each one's round times.
static int harness_pairs(const char *self, const char *dir, const char *alg, int overlap, int agents,
                         const char *model, const char *dataset, const char *topo, int rounds, int repeat,
                         HarnessRun *base, HarnessRun *with, double range[2], double base_range[2], Err *e) {
    HarnessRun bases[31], withs[31];
    for (int k = 0; k < repeat; k++)
        if (harness_once(self, dir, "local", 0, "", agents, model, dataset, topo, rounds, &bases[k], e) ||
            harness_once(self, dir, alg, overlap, "", agents, model, dataset, topo, rounds, &withs[k], e))
            return -1;
    harness_median(bases, repeat, base);
    harness_median(withs, repeat, with);
    harness_range(withs, repeat, offsetof(HarnessRun, round_ms), &range[0], &range[1]);
    harness_range(bases, repeat, offsetof(HarnessRun, round_ms), &base_range[0], &base_range[1]);
    return 0;
}

// What authentication and frame MACs cost (docs/security.md): the same agents and rounds with links
// unauthenticated, authenticated, and authenticated with a MAC per frame; three runs each, interleaved
// so that a busy spell of the machine hits all three; the medians, as ratios to unauthenticated.
static int auth_cost_measure(const char *self, const char *dir, const char *alg, int overlap, int agents,
                             const char *model, const char *dataset, const char *topo, int rounds, int json, Err *e) {
    static const char *const NET[3] = {",\"auth\":false", ",\"frame_mac\":false", ""};
    static const char *const NAME[3] = {"unauthenticated", "authenticated, no frame MAC", "authenticated + frame MAC"};
    double ms[3][3], cpu[3][3], med[3], cmed[3];
    for (int rep = 0; rep < 3; rep++)
        for (int v = 0; v < 3; v++) {
            HarnessRun h;
            if (harness_once(self, dir, alg, overlap, NET[v], agents, model, dataset, topo, rounds, &h, e)) return -1;
            ms[v][rep] = h.round_ms;
            cpu[v][rep] = h.cpu_ms;
        }
    for (int v = 0; v < 3; v++) {
        qsort(ms[v], 3, sizeof(double), dbl_cmp);
        qsort(cpu[v], 3, sizeof(double), dbl_cmp);
        med[v] = ms[v][1];
        cmed[v] = cpu[v][1];
    }
    FILE *f = json ? stderr : stdout;
    fprintf(f, "auth cost, %s, %d agents, %s (median of 3 runs each, interleaved):\n", alg, agents, model);
    for (int v = 0; v < 3; v++)
        fprintf(f,
                "  %-28s %.3f ms per round [%.3f .. %.3f]  ratio %.3f;  CPU %.3f ms per agent and round, ratio %.3f\n",
                NAME[v], med[v], ms[v][0], ms[v][2], med[v] / med[0], cmed[v], cmed[v] / cmed[0]);
    return 0;
}

int bench_harness(int argc, char **argv) {
    Args a;
    args_init(&a, "bench harness", USAGE, argc, argv);
    int agents = 8, rounds = 150, json = 0, overlap = 0, auth_cost = 0, repeat = 1;
    const char *model = "lenet5", *alg = "sgp", *dataset = "fashion-mnist", *topo = "exponential";
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf(
                "usage: %s\n\nTime per training round of N agent processes running ALGORITHM (default sgp, dense)\n"
                "against the same agents training alone (no messages). Overhead = the difference per round,\n"
                "as a fraction of the compute-only round. Peak RSS per agent is reported, and CPU time per agent and\n"
                "round in both runs (with more agents than cores, extra work shows there; idle time does not), and\n"
                "context switches per agent and round ([blocked, preempted]).\n"
                "  --agents N (8)  --model M (lenet5)  --dataset D (fashion-mnist)  --rounds R (150)  --topology K "
                "(exponential)\n"
                "  --overlap (sgp adds the previous round's shares instead of waiting: OSGP)  --json\n"
                "  --repeat N (1..31)  both runs N times, alternating, so that a busy spell of the host hits both:\n"
                "               each figure is the median, with the range of the round times\n"
                "  --auth-cost  also run ALGORITHM with unauthenticated links and with authentication but no frame\n"
                "               MACs, three times each, interleaved: median round time of each against "
                "unauthenticated\n",
                USAGE);
            return 0;
        }
        else if (args_is(&a, "--agents")) agents = (int)args_int(&a, 1, 256);
        else if (args_is(&a, "--model")) model = args_str(&a);
        else if (args_is(&a, "--dataset")) dataset = args_str(&a);
        else if (args_is(&a, "--rounds")) rounds = (int)args_int(&a, 10, 100000);
        else if (args_is(&a, "--repeat")) repeat = (int)args_int(&a, 1, 31);
        else if (args_is(&a, "--algorithm")) alg = args_str(&a);
        else if (args_is(&a, "--topology")) topo = args_str(&a);
        else if (args_is(&a, "--overlap")) { args_no_value(&a); overlap = 1; }
        else if (args_is(&a, "--auth-cost")) { args_no_value(&a); auth_cost = 1; }
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    const char *self = self_exe();
    char dir[] = "/tmp/meshtrain-harness-XXXXXX";   // mkdtemp template
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    HarnessRun base, with;
    Err e = {{0}};
    double range[2] = {0, 0}, base_range[2] = {0, 0};   // round times: lowest and highest of the runs
    int rc = harness_pairs(self, dir, alg, overlap, agents, model, dataset, topo, rounds, repeat, &base, &with, range,
                           base_range, &e);
    double lo = range[0], hi = range[1], base_lo = base_range[0], base_hi = base_range[1];
    if (!rc && auth_cost)
        rc = auth_cost_measure(self, dir, alg, overlap, agents, model, dataset, topo, rounds, json, &e);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    if (rc) { fprintf(stderr, "meshtrain bench harness: %s\n", e.msg); return 1; }
    double overhead = with.round_ms / base.round_ms - 1.0;
    if (json) {
        json_t *o = json_pack(
            "{s:s, s:s, s:b, s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:[f, f], s:[f, f], s:I}",
            "model", model, "algorithm", alg, "overlap", overlap, "agents", agents, "rounds", (json_int_t)with.rounds,
            "round_ms_compute_only", base.round_ms, "round_ms", with.round_ms, "overhead_pct", 100 * overhead,
            "compute_ms_per_round", with.compute_ms, "wait_ms_per_round", with.wait_ms, "rss_peak_mb_per_agent",
            with.rss_mb, "pss_mb_per_agent", with.pss_mb, "cpu_ms_per_round_compute_only", base.cpu_ms,
            "cpu_ms_per_round", with.cpu_ms, "cpu_overhead_pct", 100 * (with.cpu_ms / base.cpu_ms - 1.0),
            "switches_per_round_compute_only", base.csw_vol, base.csw_invol, "switches_per_round", with.csw_vol,
            with.csw_invol, "bytes_wire", with.bytes);
        json_object_set_new(o, "repeat", json_integer(repeat));
        json_object_set_new(o, "round_ms_range", json_pack("[f, f]", lo, hi));
        json_object_set_new(o, "round_ms_compute_only_range", json_pack("[f, f]", base_lo, base_hi));
        char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(5));
        printf("%s\n", t);
        free(t);
        json_decref(o);
    } else {
        printf("%d agents, %s, %ld rounds: %.2f ms per round with %s, %.2f ms computing alone: overhead %.1f%%\n"
               "  (per agent and round: compute %.2f ms, waiting %.2f ms, CPU %.2f ms against %.2f ms alone,\n"
               "  %.2f blocked and %.2f preempted context switches against %.2f and %.2f; peak RSS per agent %.1f MB, "
               "PSS %.1f MB)\n",
               agents, model, with.rounds, with.round_ms, alg, base.round_ms, 100 * overhead, with.compute_ms,
               with.wait_ms, with.cpu_ms, base.cpu_ms, with.csw_vol, with.csw_invol, base.csw_vol, base.csw_invol,
               with.rss_mb, with.pss_mb);
        if (repeat > 1)
            printf("  medians of %d runs each, alternating; round times %.2f .. %.2f ms with %s, %.2f .. %.2f alone\n",
                   repeat, lo, hi, alg, base_lo, base_hi);
    }
    return 0;
}
