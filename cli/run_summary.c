// summary.json of a finished run: accuracies (mean, worst agent, averaged model), bytes, messages,
// time, the energy estimate and the communication reduction against a baseline run. Written last
// and atomically, so a summary exists only for a run that finished.
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "common.h"
#include "run.h"

// First-order radio model (Heinzelman et al. 2000) and Horowitz (ISSCC 2014) fp32 MAC energy;
// see docs/metrics.md. Training costs 3x the forward MACs per sample.
#define PJ_PER_MAC_FP32 4.6
#define E_ELEC_NJ_PER_BIT 50.0
#define EPS_AMP_PJ_PER_BIT_M2 100.0
#define DEFAULT_DISTANCE_M 10.0

// What a baseline must share with a run for their bytes to be comparable (everything but the algorithm).
static json_t *fingerprint(const Run *r) {
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:f, s:f, s:i, s:i, s:I}", "dataset", r->s.dataset, "model",
                     r->s.model, "norm", norm_name(r->s.norm), "agents", r->n, "epochs", r->s.epochs, "batch_size",
                     r->s.batch, "partition", r->s.partition.kind, "alpha", r->s.partition.alpha, "skew",
                     r->s.partition.skew, "limit_train", r->s.limit_train, "limit_test", r->s.limit_test, "seed",
                     (json_int_t)r->s.seed);
}

// A baseline summary: a path to a run folder or summary.json, the name of a run of the same sweep
// (ROOT/<name>-seed<s>), or the name of runs under results/runs (then the newest finished one whose
// fingerprint matches ours). NULL, with why in note, if none fits.
static json_t *baseline_load(const Run *r, json_t *mine, char *where, size_t n, char *note, size_t nn) {
    const char *b = r->s.baseline;
    char path[1400];
    struct stat st;
    snprintf(path, sizeof path, "%s", b);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(path, sizeof path, "%s/summary.json", b);
    if (stat(path, &st) == 0) {
        json_t *o = json_load_file(path, 0, NULL);
        if (o && !json_equal(json_object_get(o, "fingerprint"), mine)) {
            snprintf(note, nn, "%.600s was run with other settings (dataset, model, agents, epochs, partition, limits or seed)", path);
            json_decref(o);
            return NULL;
        }
        str_copy(where, n, path);
        return o;
    }
    // A sweep's runs sit side by side as <name>-seed<s>: the baseline run of the same sweep and seed.
    char sib[1300];
    const char *slash = strrchr(r->run_dir, '/');
    snprintf(sib, sizeof sib, "%.*s%s%s-seed%llu/summary.json", slash ? (int)(slash - r->run_dir) : 0, r->run_dir, slash ? "/" : "",
             b, (unsigned long long)r->s.seed);
    if (!strchr(b, '/') && stat(sib, &st) == 0) {
        json_t *o = json_load_file(sib, 0, NULL);
        if (o && json_equal(json_object_get(o, "fingerprint"), mine)) { str_copy(where, n, sib); return o; }
        json_decref(o);
    }
    char dir[700];
    snprintf(dir, sizeof dir, "results/runs/%s", b);
    DIR *d = opendir(dir);
    struct dirent *de;
    json_t *best = NULL;
    double best_t = -1;
    while (d && (de = readdir(d))) {
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/%s/summary.json", dir, de->d_name);
        json_t *o = de->d_name[0] != '.' ? json_load_file(probe, 0, NULL) : NULL;
        double t = o ? json_number_value(json_object_get(o, "finished_at")) : -1;
        if (o && json_equal(json_object_get(o, "fingerprint"), mine) && t > best_t) {
            json_decref(best);
            best = o; best_t = t;
            str_copy(where, n, probe);
        } else {
            json_decref(o);
        }
    }
    if (d) closedir(d);
    if (!best) snprintf(note, nn, "no finished run named '%s' with the same settings under results/runs", b);
    return best;
}

int summary_write(Run *r, char *out_path, size_t out_n, json_t **headline) {
    double acc_sum = 0, acc_min = 1, compute = 0, wait = 0, macs_total = 0, rss_max = 0;
    json_int_t pay = 0, wire = 0, msgs = 0, missing = 0;
    json_t *agents = json_array();
    for (int i = 0; i < r->n; i++) {
        json_t *d = r->ag[i].done_json ? json_loads(r->ag[i].done_json, 0, NULL) : NULL;
        if (!d) { snprintf(r->fail, sizeof r->fail, "agent %d finished without totals", i); json_decref(agents); return -1; }
        pay += json_integer_value(json_object_get(d, "bytes_payload"));
        wire += json_integer_value(json_object_get(d, "bytes_wire"));
        msgs += json_integer_value(json_object_get(d, "messages"));
        missing += json_integer_value(json_object_get(d, "missing"));
        compute += json_number_value(json_object_get(d, "compute_s"));
        wait += json_number_value(json_object_get(d, "wait_s"));
        macs_total += 3.0 * (double)json_integer_value(json_object_get(d, "samples")) *
                      (double)json_integer_value(json_object_get(d, "macs_per_sample"));
        double rss = json_number_value(json_object_get(d, "rss_peak_mb"));
        if (rss > rss_max) rss_max = rss;
        acc_sum += r->ag[i].final_acc;
        if (r->ag[i].final_acc < acc_min) acc_min = r->ag[i].final_acc;
        json_object_set_new(d, "agent", json_integer(i));
        json_object_set_new(d, "test_acc", json_real(r->ag[i].final_acc));
        json_object_del(d, "type");
        json_array_append_new(agents, d);
    }
    double bits = 8.0 * (double)wire;
    double e_compute = macs_total * PJ_PER_MAC_FP32 * 1e-12;
    // Every bit sent is received once: E = bits * (E_elec + eps_amp d^2) + bits * E_elec.
    double e_comm = bits * (2 * E_ELEC_NJ_PER_BIT * 1e-9 + EPS_AMP_PJ_PER_BIT_M2 * 1e-12 * DEFAULT_DISTANCE_M * DEFAULT_DISTANCE_M);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I,"
                          " s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f, s:f, s:s},"
                          " s:f, s:f, s:f, s:s, s:s, s:s}",
                          "scenario", r->s.name, "algorithm", r->s.alg.name, "backend", r->backend_name,
                          "agents", r->n, "epochs", r->s.epochs, "seed", (json_int_t)r->s.seed,
                          "seconds", time_now() - r->t0, "acc_mean", acc_sum / r->n, "acc_worst", acc_min,
                          "acc_avg_model", r->final_avg_acc, "consensus_distance", r->final_consensus,
                          "bytes_payload", pay, "bytes_wire", wire, "messages", msgs, "missing_messages", missing,
                          "energy_j", "compute", e_compute, "comm", e_comm, "total", e_compute + e_comm,
                          "energy_model", "pj_per_mac", PJ_PER_MAC_FP32, "e_elec_nj_per_bit", E_ELEC_NJ_PER_BIT,
                          "eps_amp_pj_per_bit_m2", EPS_AMP_PJ_PER_BIT_M2, "distance_m", DEFAULT_DISTANCE_M,
                          "source", "Horowitz ISSCC 2014 (fp32 MAC); Heinzelman et al. HICSS 2000 (radio)",
                          "compute_s_total", compute, "wait_s_total", wait, "rss_peak_mb_max", rss_max,
                          "run_dir", r->run_dir, "git", meshtrain_git, "cflags", meshtrain_cflags);
    json_object_set_new(o, "per_agent", agents);
    json_object_set_new(o, "network", json_pack("{s:s, s:s, s:s, s:f, s:i}", "asked", r->s.net.backend, "backend", r->backend_name,
                                                "why", r->backend_why, "setup_s", r->setup_s, "link_changes", r->next_change));
    json_t *fp = fingerprint(r);
    json_object_set_new(o, "finished_at", json_real((double)time(NULL)));
    if (r->s.baseline[0]) {
        char where[1100] = "", note[1400] = "";
        json_t *b = baseline_load(r, fp, where, sizeof where, note, sizeof note);
        json_int_t bw = b ? json_integer_value(json_object_get(b, "bytes_wire")) : 0;
        json_object_set_new(o, "baseline", json_string(r->s.baseline));
        if (bw > 0 && wire > 0) {
            json_object_set_new(o, "comm_reduction", json_real((double)bw / (double)wire));
            json_object_set_new(o, "baseline_summary", json_string(where));
        } else {
            json_object_set_new(o, "comm_reduction", json_null());
            json_object_set_new(o, "baseline_note", json_string(note[0] ? note : "the baseline sent no bytes"));
        }
        json_decref(b);
    }
    json_object_set_new(o, "fingerprint", fp);
    snprintf(out_path, out_n, "%s/summary.json", r->run_dir);
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    Err e;
    int rc = file_write_atomic(out_path, t, strlen(t), &e);
    free(t);
    if (rc) { snprintf(r->fail, sizeof r->fail, "%s", e.msg); json_decref(o); return -1; }
    FILE *f = r->json ? stderr : stdout;
    fprintf(f, "done in %.1f s: accuracy mean %.2f%%, worst %.2f%%, averaged model %.2f%%; %.3f MB on the wire; energy %.3g J\n  %s\n",
            json_number_value(json_object_get(o, "seconds")), 100 * acc_sum / r->n, 100 * acc_min, 100 * r->final_avg_acc,
            wire / 1e6, e_compute + e_comm, out_path);
    *headline = json_pack("{s:s, s:f, s:f, s:f, s:I, s:f, s:O}", "summary", out_path, "acc_mean", acc_sum / r->n, "acc_worst",
                          acc_min, "acc_avg_model", r->final_avg_acc, "bytes_wire", wire, "seconds",
                          json_number_value(json_object_get(o, "seconds")),
                          "comm_reduction", json_object_get(o, "comm_reduction") ? json_object_get(o, "comm_reduction") : json_null());
    json_decref(o);
    return 0;
}
