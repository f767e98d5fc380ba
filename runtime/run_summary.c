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
#include "energy.h"
#include "mobility.h"
#include "train.h"

// First-order radio model (Heinzelman et al. 2000) and Horowitz (ISSCC 2014) fp32 MAC energy;
// see docs/metrics.md. Training costs 3x the forward MACs per sample.

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
            snprintf(note, nn, "%.600s was run with other settings (dataset, model, agents, epochs, partition, "
                     "limits or seed)", path);
            json_decref(o);
            return NULL;
        }
        str_copy(where, n, path);
        return o;
    }
    // A sweep's runs sit side by side as <name>-seed<s>: the baseline run of the same sweep and seed.
    char sib[1300];
    const char *slash = strrchr(r->run_dir, '/');
    snprintf(sib, sizeof sib, "%.*s%s%s-seed%llu/summary.json", slash ? (int)(slash - r->run_dir) : 0, r->run_dir,
             slash ? "/" : "", b, (unsigned long long)r->s.seed);
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

// The energy estimate (analysis/energy.c) from the agents' done objects: per-peer socket bytes, samples, MACs.
static json_t *energy_of(const Run *r, json_t *const *done, EnergyEstimate *total) {
    int n = r->n;
    EnergyModel m = r->s.energy;   // parsed and checked with the scenario: no second parse to fall back from
    Err e;
    double *dist = xmalloc((size_t)n * (size_t)n * sizeof *dist);
    double *sent = xcalloc((size_t)n, sizeof *sent), *recv = xcalloc((size_t)n, sizeof *recv);
    char note[160];
    json_t *links = r->s.net.links_json ? json_loads(r->s.net.links_json, 0, NULL) : NULL;
    json_t *mj = links ? json_object_get(links, "mobility") : NULL;
    Mobility *mob = NULL;
    if (mj && !mobility_parse(mj, "network.mobility", n, r->s.seed, r->s.net.duration_s, &mob, &e)) {
        double t_end = 0;
        for (int i = 0; i < n; i++)
            if (r->ag[i].done_at - r->t_go > t_end) t_end = r->ag[i].done_at - r->t_go;
        energy_distances_mobility(&m, mob, t_end, dist);
        snprintf(note, sizeof note, "network.mobility: energy-equivalent distance over the first %.1f s", t_end);
        mobility_free(mob);
    } else {
        energy_distances_constant(&m, n, dist);
        snprintf(note, sizeof note, "energy.radio.distance_m = %g m for every link", m.distance_m);
    }
    json_decref(links);
    EnergyEstimate *est = xcalloc((size_t)n, sizeof *est);
    for (int i = 0; i < n; i++) {
        json_t *s = json_object_get(done[i], "sent"), *rv = json_object_get(done[i], "recv");
        for (int j = 0; j < n; j++) {
            char k[16];
            snprintf(k, sizeof k, "%d", j);
            sent[j] = 8.0 * (double)json_integer_value(json_object_get(json_object_get(s, k), "socket"));
            recv[j] = 8.0 * (double)json_integer_value(json_object_get(json_object_get(rv, k), "socket"));
        }
        EnergyAgentUse u = {.n = n, .self = i, .precision_bits = r->s.bits, .wgrad_fp32 = r->s.bits == 8,
                            .bits_sent = sent, .bits_received = recv,
                            .distance_m = dist,
                            .samples = (double)json_integer_value(json_object_get(done[i], "samples")),
                            .macs_per_sample = (double)json_integer_value(json_object_get(done[i], "macs_per_sample"))};
        energy_agent(&m, &u, &est[i]);
    }
    energy_sum(est, n, total);
    json_t *o = energy_json(&m, est, n, note);
    free(dist), free(sent), free(recv), free(est);
    return o;
}

// The agents' totals summed over the run.
typedef struct {
    double acc_sum, acc_min, compute, wait, rss_max, pss_max, pss_sum;
    json_int_t pay, wire, msgs, missing, authors;
} RunTotals;

// Each agent's CTL_DONE totals with its final accuracy, into per_agent (returned), done[i] and t.
// NULL, and r->fail, if an agent finished without totals.
static json_t *per_agent_gather(Run *r, json_t **done, RunTotals *t) {
    json_t *agents = json_array();
    memset(t, 0, sizeof *t);
    t->acc_min = 1;
    for (int i = 0; i < r->n; i++) {
        json_t *d = r->ag[i].done_json ? json_loads(r->ag[i].done_json, 0, NULL) : NULL;
        if (!d) {
            snprintf(r->fail, sizeof r->fail, "agent %d finished without totals", i);
            json_decref(agents);
            for (int k = 0; k < i; k++) json_decref(done[k]);
            return NULL;
        }
        done[i] = json_incref(d);
        t->pay += json_integer_value(json_object_get(d, "bytes_payload"));
        t->wire += json_integer_value(json_object_get(d, "bytes_wire"));
        t->authors += json_integer_value(json_object_get(d, "bytes_authors"));
        t->msgs += json_integer_value(json_object_get(d, "messages"));
        t->missing += json_integer_value(json_object_get(d, "missing"));
        t->compute += json_number_value(json_object_get(d, "compute_s"));
        t->wait += json_number_value(json_object_get(d, "wait_s"));
        double rss = json_number_value(json_object_get(d, "rss_peak_mb"));
        if (rss > t->rss_max) t->rss_max = rss;
        double pss = json_number_value(json_object_get(d, "pss_mb"));   // shared pages count 1/n
        if (pss > t->pss_max) t->pss_max = pss;
        t->pss_sum += pss;
        t->acc_sum += r->ev.acc[i];
        if (r->ev.acc[i] < t->acc_min) t->acc_min = r->ev.acc[i];
        json_object_set_new(d, "agent", json_integer(i));
        json_object_set_new(d, "test_acc", json_real(r->ev.acc[i]));
        json_object_del(d, "type");
        json_array_append_new(agents, d);
    }
    return agents;
}

// The summary's head: what ran, accuracies, bytes, energy, time. NULL if it cannot be encoded.
static json_t *summary_head(const Run *r, const RunTotals *t, const EnergyEstimate *etot, json_t *energy) {
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I,"
                     " s:{s:f, s:f, s:f}, s:o,"
                     " s:f, s:f, s:f, s:s, s:s, s:s}",
                     "scenario", r->s.name, "algorithm", r->s.alg.name, "backend", r->net.backend_name,
                     "agents", r->n, "epochs", r->s.epochs, "seed", (json_int_t)r->s.seed,
                     "seconds", time_now() - r->t0, "acc_mean", t->acc_sum / r->n, "acc_worst", t->acc_min,
                     "acc_avg_model", r->ev.final_avg_acc, "consensus_distance", r->ev.final_consensus,
                     "bytes_payload", t->pay, "bytes_wire", t->wire, "messages", t->msgs,
                     "missing_messages", t->missing,
                     "energy_j", "compute", etot->compute_j, "comm", etot->comm_j, "total", etot->total_j,
                     "energy", energy,
                     "compute_s_total", t->compute, "wait_s_total", t->wait, "rss_peak_mb_max", t->rss_max,
                     "run_dir", r->run_dir, "git", meshtrain_git, "cflags", meshtrain_cflags);
}

// Who could join: authentication as run, and the connections the agents refused (docs/security.md);
// the network as run. 0, or -1 if it cannot be encoded.
static int summary_network(Run *r, json_t *o) {
    if (r->net.fidelity) json_object_set_new(o, "link_fidelity", r->net.fidelity), r->net.fidelity = NULL;
    json_object_set_new(o, "auth", json_boolean(r->s.net.auth));
    json_object_set_new(o, "frame_mac", json_boolean(r->s.net.frame_mac));
    json_object_set_new(o, "rejected_connections", json_integer(r->net.rejected_total));
    json_object_set_new(o, "rejected", r->net.rejected ? json_incref(r->net.rejected) : json_array());
    json_t *net = json_pack("{s:s, s:s, s:s, s:f, s:i}", "asked", r->s.net.backend, "backend", r->net.backend_name,
                            "why", r->net.backend_why, "setup_s", r->net.setup_s, "link_changes", r->net.next_change);
    if (!net) return -1;
    json_object_set_new(o, "network", net);
    return 0;
}

// The communication reduction against the scenario's baseline run (bytes on the wire), or why there is none.
// Also the same ratio in the low-precision paper's counter (comm_reduction_authors), when both have it.
static void summary_baseline(const Run *r, json_t *o, json_t *fp, json_int_t wire, json_int_t authors) {
    char where[1100] = "", note[1400] = "";
    json_t *b = baseline_load(r, fp, where, sizeof where, note, sizeof note);
    json_int_t bw = b ? json_integer_value(json_object_get(b, "bytes_wire")) : 0;
    json_object_set_new(o, "baseline", json_string(r->s.baseline));
    if (bw > 0 && wire > 0) {
        json_object_set_new(o, "comm_reduction", json_real((double)bw / (double)wire));
        json_object_set_new(o, "baseline_summary", json_string(where));
        json_int_t ba = json_integer_value(json_object_get(b, "bytes_authors"));
        json_object_set_new(o, "comm_reduction_authors",
                            ba > 0 && authors > 0 ? json_real((double)ba / (double)authors) : json_null());
    } else {
        json_object_set_new(o, "comm_reduction", json_null());
        json_object_set_new(o, "baseline_note", json_string(note[0] ? note : "the baseline sent no bytes"));
    }
    json_decref(b);
}

// The closing lines on the terminal and the --json headline.
static json_t *summary_announce(const Run *r, const json_t *o, const RunTotals *t, double energy_j, const char *path) {
    FILE *f = r->json ? stderr : stdout;
    double seconds = json_number_value(json_object_get(o, "seconds"));
    fprintf(f, "done in %.1f s: accuracy mean %.2f%%, worst %.2f%%, averaged model %.2f%%; %.3f MB on the wire; "
            "energy %.3g J\n  %s\n", seconds, 100 * t->acc_sum / r->n, 100 * t->acc_min, 100 * r->ev.final_avg_acc,
            t->wire / 1e6, energy_j, path);
    if (r->net.rejected_total)   // the run finished, but somebody tried to join it: say so where it is seen
        fprintf(f, "  %d connection(s) from outside the run were rejected (network.jsonl, summary.json \"rejected\")\n",
                r->net.rejected_total);
    if (!r->s.net.auth)
        fprintf(f, "  links were NOT authenticated (network.auth false): any local process could have joined\n");
    json_t *cr = json_object_get(o, "comm_reduction");
    json_t *h = json_pack("{s:s, s:f, s:f, s:f, s:I, s:f, s:O}", "summary", path, "acc_mean", t->acc_sum / r->n,
                          "acc_worst", t->acc_min, "acc_avg_model", r->ev.final_avg_acc, "bytes_wire", t->wire,
                          "seconds", seconds, "comm_reduction", cr ? cr : json_null());
    return h ? h : json_pack("{s:n}", "summary");   // cannot fail with a UTF-8 run folder; never NULL
}

// Bytes of one agent's model at the run's precision and batch (model_memory): weights, activations kept for
// backward, errors, fp32 master weights and gradients. A model is built for it (no data is read).
static json_t *memory_of(const Run *r) {
    int c, h, w, k;
    Err e = {{0}};
    Rng init = rng_derive(r->s.seed, 1);
    Model *m = dataset_shape(r->s.dataset, &c, &h, &w, &k) ? NULL
                                                           : model_build(r->s.model, r->s.norm, c, h, w, k, r->s.batch,
                                                                         &init, &e);
    json_t *o = m && !model_set_precision(m, r->s.bits, r->s.act_round, init, &e) ? model_memory_json(m) : json_null();
    if (json_is_object(o)) json_object_set_new(o, "arith", json_string(model_arith_name(m)));   // docs/int8.md
    model_free(m);
    return o;
}

int summary_write(Run *r, char *out_path, size_t out_n, json_t **headline) {
    RunTotals t;
    json_t **done = xcalloc((size_t)r->n, sizeof(json_t *));
    json_t *agents = per_agent_gather(r, done, &t);
    if (!agents) { free(done); return -1; }
    EnergyEstimate etot;
    json_t *energy = energy_of(r, done, &etot);
    for (int i = 0; i < r->n; i++) {   // the per-peer counters served the energy model; per_agent keeps the totals
        json_object_del(done[i], "sent");
        json_object_del(done[i], "recv");
        json_decref(done[i]);
    }
    free(done);
    json_t *o = summary_head(r, &t, &etot, energy);
    if (!o) {   // every string in it is ours or checked UTF-8; still, never dump NULL
        snprintf(r->fail, sizeof r->fail, "%.500s/summary.json: cannot encode the summary as JSON", r->run_dir);
        json_decref(agents);
        return -1;
    }
    json_object_set_new(o, "bytes_authors", json_integer(t.authors));   // docs/metrics.md
    json_object_set_new(o, "final_consensus", json_pack("{s:i, s:s}", "rounds", r->s.eval.final_consensus_rounds,
                                                        "protocol", r->s.eval.final_consensus_protocol));
    // Memory per agent now: proportional set size, the dataset they share counted once over all.
    json_object_set_new(o, "pss_mb_max", json_real(t.pss_max));
    json_object_set_new(o, "pss_mb_mean", json_real(t.pss_sum / r->n));
    json_object_set_new(o, "per_agent", agents);
    json_object_set_new(o, "memory", memory_of(r));
    json_t *fp = fingerprint(r);
    if (summary_network(r, o) || !fp) {
        snprintf(r->fail, sizeof r->fail, "%.500s/summary.json: cannot encode the network or fingerprint as JSON",
                 r->run_dir);
        json_decref(fp), json_decref(o);
        return -1;
    }
    json_object_set_new(o, "finished_at", json_real((double)time(NULL)));
    if (r->s.baseline[0]) summary_baseline(r, o, fp, t.wire, t.authors);
    json_object_set_new(o, "fingerprint", fp);
    snprintf(out_path, out_n, "%s/summary.json", r->run_dir);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    Err e = {{0}};
    if (!text) err_set(&e, "%s: cannot encode the summary as JSON", out_path);
    int rc = text ? file_write_atomic(out_path, text, strlen(text), &e) : -1;
    free(text);
    if (rc) { snprintf(r->fail, sizeof r->fail, "%s", e.msg); json_decref(o); return -1; }
    *headline = summary_announce(r, o, &t, etot.total_j, out_path);
    json_decref(o);
    return 0;
}
