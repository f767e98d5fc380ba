// Names for `meshtrain report`: what each run did in words ("sparse-push top-k 0.1%, γ 0.01",
// "5 Mbit/s, 20 ms"), made unique among the runs, and which run each is compared with.
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include "alg.h"
#include "report.h"

// Appends to a fixed buffer; truncates silently (labels only).
static void cat(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t n, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

// The scenario's "algorithm" object as the algorithm's config, read leniently (a run folder of an older
// version may lack keys: their defaults), for the registry's label hook, which has the words.
static void alg_config_read(json_t *sc, AlgConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    str_copy(cfg->name, sizeof cfg->name, rep_str(sc, "algorithm.name", "?"));
    str_copy(cfg->codec, sizeof cfg->codec, rep_str(sc, "algorithm.compression.kind", "dense"));
    cfg->keep = rep_num(sc, "algorithm.compression.keep", 1);
    cfg->gamma = rep_num(sc, "algorithm.gamma", 1);
    const AlgOps *ops = alg_find(cfg->name);
    for (const AlgKey *k = ops ? ops->keys : NULL; k && k->key; k++) {
        char path[96];
        snprintf(path, sizeof path, "algorithm.%s", k->key);
        void *p = (char *)cfg + k->offset;
        if (k->type == ALG_KEY_BOOL) *(int *)p = rep_get(sc, path) ? json_is_true(rep_get(sc, path)) : (int)k->def;
        else if (k->type == ALG_KEY_INT) *(int *)p = (int)rep_num(sc, path, k->def);
        else if (k->type == ALG_KEY_NUM) *(double *)p = rep_num(sc, path, k->def);
        else str_copy((char *)p, sizeof cfg->codec, rep_str(sc, path, k->def_codec));
    }
}

static void alg_label_of(json_t *sc, char *out, size_t n) {
    AlgConfig cfg;
    alg_config_read(sc, &cfg);
    alg_label(&cfg, out, n);
}

static void links_label(RepRun *r) {
    json_t *net = json_object_get(r->scen, "network"), *dl = json_object_get(net, "default_link"),
           *mob = json_object_get(net, "mobility");
    size_t n_links = json_array_size(json_object_get(net, "links")),
           n_sched = json_array_size(json_object_get(net, "schedule"));
    char *s = r->links, *l = r->links_long;
    size_t ns = sizeof r->links, nl = sizeof r->links_long;
    s[0] = l[0] = 0;
    r->shaped = json_object_size(dl) > 0 || n_links || n_sched || mob;
    if (!r->shaped) {
        str_copy(s, ns, "loopback (unshaped)");
        str_copy(l, nl, s);
        return;
    }
    if (mob) {
        json_t *area = rep_get(mob, "random_waypoint.area");
        if (area) cat(s, ns, "mobile: random waypoint in %.4g x %.4g m", json_number_value(json_array_get(area, 0)),
                      json_number_value(json_array_get(area, 1)));
        else cat(s, ns, "mobile: positions from the scenario");
        str_copy(l, nl, s);
        cat(l, nl, ", radio model every %.3g s", rep_num(mob, "step_s", 1));
    } else {
        double rate = rep_num(dl, "rate_mbit", 0), delay = rep_num(dl, "delay_ms", 0),
               jitter = rep_num(dl, "jitter_ms", 0), loss = rep_num(dl, "loss_pct", 0);
        char r_txt[32] = "";
        if (rate >= 1000) snprintf(r_txt, sizeof r_txt, "%.3g Gbit/s", rate / 1000);
        else if (rate > 0) snprintf(r_txt, sizeof r_txt, "%.3g Mbit/s", rate);
        cat(s, ns, "%s", r_txt);
        cat(l, nl, "%s", r_txt);
        if (delay > 0) {
            cat(s, ns, "%s%.4g ms", s[0] ? ", " : "", delay);
            cat(l, nl, "%s%.4g ms", l[0] ? ", " : "", delay);
            if (jitter > 0) cat(l, nl, " ± %.3g ms", jitter);
        }
        if (loss > 0) {
            cat(s, ns, "%s%.3g%% loss", s[0] ? ", " : "", loss);
            cat(l, nl, "%s%.3g%% loss", l[0] ? ", " : "", loss);
        }
        if (!s[0]) { cat(s, ns, "per-link settings"); cat(l, nl, "per-link settings"); }
        if (n_links) { cat(s, ns, " + link overrides"); cat(l, nl, " + %zu link overrides", n_links); }
        if (n_sched) { cat(s, ns, " + changes"); cat(l, nl, " + %zu scheduled changes", n_sched); }
    }
}

static void extra_label(RepRun *r) {
    const char *part = rep_str(r->scen, "partition.kind", "iid");
    double drop = rep_num(r->scen, "network.drop_prob", 0);
    r->extra[0] = 0;
    if (!strcmp(part, "dirichlet"))
        cat(r->extra, sizeof r->extra, "dirichlet α %.3g", rep_num(r->scen, "partition.alpha", 0));
    else if (!strcmp(part, "skew"))
        cat(r->extra, sizeof r->extra, "label skew %.3g", rep_num(r->scen, "partition.skew", 0));
    else if (strcmp(part, "iid")) cat(r->extra, sizeof r->extra, "%s", part);
    if (drop > 0) cat(r->extra, sizeof r->extra, "%s%.3g%% messages dropped", r->extra[0] ? ", " : "", 100 * drop);
    if (rep_num(r->scen, "precision.bits", 32) == 8)
        cat(r->extra, sizeof r->extra, "%s8-bit training", r->extra[0] ? ", " : "");
    // Which final consensus the run ended with: exact (dense, γ 1) or the training codec and γ.
    double fc = rep_num(r->scen, "eval.final_consensus_rounds", rep_num(r->scen, "eval.final_consensus.rounds", 0));
    const char *proto = rep_str(r->scen, "eval.final_consensus.protocol", "exact");
    if (fc > 0)
        cat(r->extra, sizeof r->extra, "%s+%.0f %s consensus rounds", r->extra[0] ? ", " : "", fc,
            strcmp(proto, "training") ? "exact" : "training-codec");
}

static const char *base_name(const char *dir) {
    const char *s = strrchr(dir, '/');
    return s && s[1] ? s + 1 : dir;
}

static int same_status_ok(const RepRun *runs, int i, int j) {
    return runs[i].status == RUN_OK && runs[j].status == RUN_OK;
}

// Settings that differ among the finished runs join their labels ("4 agents, 1 epoch"); the shared
// ones are in the figures' subtitle instead.
static void setup_label(const RepRun *runs, int n, int i, char *out, size_t cap) {
    static const char *const KEYS[] = {"model", "dataset", "agents", "epochs", "limit_train", "partition"};
    const RepRun *r = &runs[i];
    out[0] = 0;
    for (int k = 0; k < 6; k++) {
        int differ = 0;
        for (int j = 0; j < n; j++)
            differ |= runs[j].status == RUN_OK &&
                !json_equal(json_object_get(runs[j].scen, KEYS[k]), json_object_get(r->scen, KEYS[k]));
        if (!differ) continue;
        double v = rep_num(r->scen, KEYS[k], 0);
        const char *sep = out[0] ? ", " : "";
        if (k == 0) cat(out, cap, "%s%s", sep, rep_str(r->scen, "model", "?"));
        else if (k == 1) cat(out, cap, "%son %s", sep, rep_str(r->scen, "dataset", "?"));
        else if (k == 2) cat(out, cap, "%s%.0f agents", sep, v);
        else if (k == 3) cat(out, cap, "%s%.0f epoch%s", sep, v, v == 1 ? "" : "s");
        else if (k == 4 && v > 0) cat(out, cap, "%s%.0f samples", sep, v);
        else if (k == 4) cat(out, cap, "%sall samples", sep);
        else if (k == 5 && !r->extra[0]) cat(out, cap, "%s%s", sep, rep_str(r->scen, "partition.kind", "iid"));
    }
}

void report_labels(RepRun *runs, int n) {
    for (int i = 0; i < n; i++) {
        RepRun *r = &runs[i];
        if (!r->scen) { str_copy(r->alg, sizeof r->alg, "?"); str_copy(r->links, sizeof r->links, "?"); }
        else { alg_label_of(r->scen, r->alg, sizeof r->alg); links_label(r); extra_label(r); }
        r->label[0] = 0;
        cat(r->label, sizeof r->label, "%s", r->alg);
        if (r->shaped) cat(r->label, sizeof r->label, ", %s", r->links);
        if (r->extra[0]) cat(r->label, sizeof r->label, ", %s", r->extra);
    }
    for (int i = 0; i < n; i++) {
        if (runs[i].status != RUN_OK) continue;
        setup_label(runs, n, i, runs[i].setup, sizeof runs[i].setup);
        if (runs[i].setup[0]) cat(runs[i].label, sizeof runs[i].label, ", %s", runs[i].setup);
    }
    // Same words for different finished runs (the others are listed by folder): add the scenario
    // name, then the folder.
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            int dup = 0;
            for (int j = 0; j < n; j++)
                dup |= j != i && same_status_ok(runs, i, j) && !strcmp(runs[i].label, runs[j].label);
            if (dup && pass == 0) cat(runs[i].label, sizeof runs[i].label, " (%s)", runs[i].name);
            if (dup && pass == 1) cat(runs[i].label, sizeof runs[i].label, " [%s]", base_name(runs[i].dir));
        }
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= j != i && same_status_ok(runs, i, j) && !strcmp(runs[i].name, runs[j].name);
        snprintf(runs[i].short_name, sizeof runs[i].short_name, dup ? "%s (%s)" : "%s", runs[i].name,
                 base_name(runs[i].dir));
    }
}

// What must agree for two runs' bytes to be comparable: everything but the algorithm and the links.
static json_t *fingerprint(const RepRun *r) {
    json_t *fp = json_object_get(r->sum, "fingerprint");
    if (fp) return json_incref(fp);
    fp = json_object();
    static const char *const KEYS[] = {"dataset", "model", "norm", "agents", "epochs", "batch_size", "partition",
                                       "limit_train", "limit_test", NULL};
    for (const char *const *k = KEYS; *k; k++) json_object_set(fp, *k, json_object_get(r->scen, *k));
    json_object_set(fp, "seed", json_object_get(r->sum, "seed"));
    return fp;
}

static int same_network(const RepRun *a, const RepRun *b) {
    json_t *x = json_deep_copy(json_object_get(a->scen, "network")),
           *y = json_deep_copy(json_object_get(b->scen, "network"));
    json_object_del(x, "backend");
    json_object_del(y, "backend");
    int eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

int report_baselines(RepRun *runs, int n, const char *name, Err *e) {
    int *cand = xcalloc((size_t)n, sizeof *cand), any = 0;
    char real[PATH_MAX];
    if (!realpath(name, real)) real[0] = 0;
    for (int i = 0; i < n; i++) {
        RepRun *r = &runs[i];
        cand[i] = r->status == RUN_OK &&
            (!strcmp(r->name, name) || !strcmp(rep_str(r->scen, "algorithm.name", ""), name) ||
             (real[0] && !strcmp(r->real, real)));
        any |= cand[i];
    }
    if (!any) {
        err_set(e, "--baseline '%s': no finished run among those given has that scenario name, algorithm or folder",
                name);
        free(cand);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        RepRun *r = &runs[i];
        if (r->status != RUN_OK) continue;
        if (cand[i]) { r->base = i; continue; }
        json_t *fp = fingerprint(r);
        int first = -1, same_links = -1;
        for (int j = 0; j < n; j++) {
            if (!cand[j]) continue;
            json_t *fj = fingerprint(&runs[j]);
            if (json_equal(fp, fj)) {
                if (first < 0) first = j;
                if (same_links < 0 && same_network(r, &runs[j])) same_links = j;
            }
            json_decref(fj);
        }
        json_decref(fp);
        r->base = same_links >= 0 ? same_links : first;
        if (r->base < 0)
            snprintf(r->base_note, sizeof r->base_note,
                     "no '%s' run with the same dataset, model, agents, epochs, batch, "
                     "partition, limits and seed",
                     name);
        else if (same_links < 0)
            snprintf(r->base_note, sizeof r->base_note, "baseline ran over other links (%s)", runs[r->base].links);
    }
    free(cand);
    return 0;
}
