// Scenario files: parsed with jansson into a Scenario with every default filled in. Unknown keys,
// wrong types and out-of-range values are errors naming the file, the JSON path and the value.
#include "scenario.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alg.h"
#include "codec.h"
#include "common.h"
#include "data.h"
#include "plan.h"
#include "energy.h"
#include "jsonr.h"

// The scenario's reader is base/jsonr.h, with the file name at the start of every message.
typedef JsonR Ctx;

// Short names of the reader, kept for parse_algorithm and check_combinations, which are being reworked on
// their own; new code calls jsonr_* directly.
#define fail jsonr_fail
static inline json_t *obj_get(Ctx *c, json_t *obj, const char *path, const char *key) {
    return (json_t *)jsonr_obj(c, obj, path, key);
}
static inline void keys_check(Ctx *c, json_t *obj, const char *path, const char *const *allowed) {
    jsonr_keys(c, obj, path, allowed, NULL);
}
static inline double num(Ctx *c, json_t *obj, const char *path, const char *key, double lo, double hi, double def) {
    return jsonr_num(c, obj, path, key, lo, hi, def);
}
static inline long integer(Ctx *c, json_t *obj, const char *path, const char *key, long lo, long hi, long def) {
    return jsonr_int(c, obj, path, key, lo, hi, def);
}
static inline int boolean(Ctx *c, json_t *obj, const char *path, const char *key, int def) {
    return jsonr_bool(c, obj, path, key, def);
}
static inline void str(Ctx *c, json_t *obj, const char *path, const char *key, const char *choices, const char *def,
                       char *out, size_t n) {
    jsonr_str(c, obj, path, key, choices, def, out, n);
}

static void parse_optimizer(JsonR *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"lr", "momentum", "nesterov", "weight_decay", "decay_norm", "quasi_global",
                                    "schedule", NULL};
    static const char *const KS[] = {"kind", "milestones", "gamma", "warmup_epochs", NULL};
    const json_t *o = jsonr_obj(c, root, "", "optimizer");
    if (o) jsonr_keys(c, o, "optimizer", K, NULL);
    s->sgd.lr = (float)jsonr_num(c, o, "optimizer", "lr", 0, 100, 0.05);
    s->sgd.momentum = (float)jsonr_num(c, o, "optimizer", "momentum", 0, 0.999999, 0.9);
    s->sgd.nesterov = jsonr_bool(c, o, "optimizer", "nesterov", 1);
    s->sgd.weight_decay = (float)jsonr_num(c, o, "optimizer", "weight_decay", 0, 1, 1e-4);
    s->sgd.decay_norm = jsonr_bool(c, o, "optimizer", "decay_norm", 0);
    s->sgd.quasi_global = jsonr_bool(c, o, "optimizer", "quasi_global", 0);
    const json_t *sc = jsonr_obj(c, o, "optimizer", "schedule");
    if (sc) jsonr_keys(c, sc, "optimizer.schedule", KS, NULL);
    char kind[16];
    jsonr_str(c, sc, "optimizer.schedule", "kind", "constant, multistep, cosine", "cosine", kind, sizeof kind);
    schedule_parse(kind, &s->sched.kind);
    s->sched.gamma = (float)jsonr_num(c, sc, "optimizer.schedule", "gamma", 0, 1, 0.1);
    s->sched.warmup_epochs = (float)jsonr_num(c, sc, "optimizer.schedule", "warmup_epochs", 0, 1e4, 0);
    s->sched.n_milestones = 2;
    s->sched.milestones[0] = 0.5f; s->sched.milestones[1] = 0.75f;
    json_t *ms = sc ? json_object_get(sc, "milestones") : NULL;
    if (ms) {
        if (!json_is_array(ms) || json_array_size(ms) > 8) {
            jsonr_fail(c, "optimizer.schedule.milestones", "expected an array of at most 8 fractions in (0,1)");
            return;
        }
        s->sched.n_milestones = (int)json_array_size(ms);
        for (int i = 0; i < s->sched.n_milestones; i++) {
            json_t *m = json_array_get(ms, (size_t)i);
            double x = json_is_number(m) ? json_number_value(m) : -1;
            if (!(x > 0 && x < 1)) {
                jsonr_fail(c, "optimizer.schedule.milestones", "entry %d is not a fraction in (0,1)", i);
                return;
            }
            s->sched.milestones[i] = (float)x;
        }
    }
    if (s->sched.warmup_epochs >= s->epochs && s->sched.warmup_epochs > 0)
        jsonr_fail(c, "optimizer.schedule.warmup_epochs", "%g is not less than epochs (%d)", s->sched.warmup_epochs,
                   s->epochs);
}

// topology.base: the graph a spanning-tree spans (required there, refused elsewhere).
static void parse_topology_base(JsonR *c, const json_t *o, Scenario *s) {
    char base[32];
    jsonr_str(c, o, "topology", "base", topo_names(), "", base, sizeof base);
    int tree = s->topo.kind == TOPO_SPANNING_TREE;
    if (!base[0] && tree)
        jsonr_fail(c, "topology.base", "kind 'spanning-tree' needs a base: the graph it is a BFS tree of (e.g. "
                   "\"torus\"; any kind but spanning-tree)");
    else if (base[0] && !tree)
        jsonr_fail(c, "topology.base", "only kind 'spanning-tree' takes a base ('%s' given with kind '%s')", base,
                   topo_name(s->topo.kind));
    else if (base[0] && (topo_parse(base, &s->topo.base) || s->topo.base == TOPO_SPANNING_TREE))
        jsonr_fail(c, "topology.base", "'%s' cannot be the base of a spanning tree (any other kind can: %s)", base,
                   topo_names());
    if (s->topo.base == TOPO_FILE && tree && !s->topo.file[0])
        jsonr_fail(c, "topology.file", "base 'file' needs a file (an edge list)");
}

static void parse_topology(JsonR *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"kind", "directed", "time_varying", "window", "extra_p", "seed", "file", "base",
                                    NULL};
    const json_t *o = jsonr_obj(c, root, "", "topology");
    if (o) jsonr_keys(c, o, "topology", K, NULL);
    char kind[32];
    jsonr_str(c, o, "topology", "kind", topo_names(), "exponential", kind, sizeof kind);
    topo_parse(kind, &s->topo.kind);
    s->topo.n = s->agents;
    int changing = s->topo.kind == TOPO_EXPONENTIAL || s->topo.kind == TOPO_RANDOM;   // directed, time-varying kinds
    s->topo.directed = jsonr_bool(c, o, "topology", "directed", changing);
    s->topo.time_varying = jsonr_bool(c, o, "topology", "time_varying", changing);
    s->topo.window = (int)jsonr_int(c, o, "topology", "window", 1, 1000, 3);
    s->topo.extra_p = jsonr_num(c, o, "topology", "extra_p", 0, 1, 0.1);
    s->topo.seed = (uint64_t)jsonr_int(c, o, "topology", "seed", 0, 0x7fffffffL, (long)s->seeds[0]);
    jsonr_str(c, o, "topology", "file", NULL, "", s->topo.file, sizeof s->topo.file);
    if (s->topo.kind == TOPO_FILE && !s->topo.file[0])
        jsonr_fail(c, "topology.file", "kind 'file' needs a file (an edge list)");
    parse_topology_base(c, o, s);
}

// "compensation.rounds" -> top "compensation", returns "rounds"; "overlap" -> top "overlap", returns NULL.
static const char *alg_key_split(const char *key, char *top, size_t n) {
    const char *dot = strchr(key, '.');
    size_t l = dot ? (size_t)(dot - key) : strlen(key);
    snprintf(top, n, "%.*s", (int)l, key);
    return dot ? dot + 1 : NULL;
}

static int alg_has_top(const AlgOps *ops, const char *top) {
    char t[32];
    for (const AlgKey *k = ops->keys; k && k->key; k++) {
        alg_key_split(k->key, t, sizeof t);
        if (!strcmp(t, top)) return 1;
    }
    return 0;
}

// The allowed names under "algorithm": the common ones, then every algorithm's own, each once.
static int alg_top_keys(const char **out, int cap) {
    static char tops[32][32];
    int n = 0, t = 0;
    out[n++] = "name"; out[n++] = "gamma"; out[n++] = "compression";
    for (const AlgOps *ops; (ops = alg_at(t)); t++)
        for (const AlgKey *k = ops->keys; k && k->key && n < cap - 1 && n < 32; k++) {
            alg_key_split(k->key, tops[n], sizeof tops[n]);
            int seen = 0;
            for (int q = 0; q < n; q++) seen |= !strcmp(out[q], tops[n]);
            if (!seen) { out[n] = tops[n]; n++; }
        }
    out[n] = NULL;
    return n;
}

// One optional key of the chosen algorithm: read, range-checked, into s->alg (default when absent).
static void parse_alg_key(Ctx *c, json_t *o, const AlgOps *ops, const AlgKey *k, AlgConfig *cfg) {
    char top[32], path[64];
    const char *field = alg_key_split(k->key, top, sizeof top);
    json_t *obj = o;
    snprintf(path, sizeof path, "algorithm");
    if (field) {
        obj = obj_get(c, o, "algorithm", top);
        snprintf(path, sizeof path, "algorithm.%s", top);
        char prev[32] = "";
        if (k > ops->keys) alg_key_split(k[-1].key, prev, sizeof prev);
        if (obj && strcmp(prev, top)) {   // the first field of its object checks the object's keys
            const char *fields[17];
            int nf = 0;
            for (const AlgKey *f = k;
                 f->key && nf < 16 && alg_key_split(f->key, prev, sizeof prev) && !strcmp(prev, top); f++)
                fields[nf++] = alg_key_split(f->key, prev, sizeof prev);
            fields[nf] = NULL;
            keys_check(c, obj, path, fields);
        }
    }
    const char *name = field ? field : k->key;
    void *p = (char *)cfg + k->offset;
    if (k->type == ALG_KEY_BOOL) *(int *)p = boolean(c, obj, path, name, (int)k->def);
    else if (k->type == ALG_KEY_INT)
        *(int *)p = (int)integer(c, obj, path, name, (long)k->lo, (long)k->hi, (long)k->def);
    else if (k->type == ALG_KEY_NUM) *(double *)p = num(c, obj, path, name, k->lo, k->hi, k->def);
    else str(c, obj, path, name, codec_names(), k->def_codec, (char *)p, sizeof cfg->codec);
}

// The defaults of every other algorithm's keys (so AlgConfig is whole), and an error for any of them given.
static void parse_alg_others(Ctx *c, json_t *o, const AlgOps *mine, AlgConfig *cfg) {
    const AlgOps *ops;
    for (int t = 0; (ops = alg_at(t)); t++) {
        if (ops == mine) continue;
        for (const AlgKey *k = ops->keys; k && k->key; k++) {
            char top[32], path[64];
            alg_key_split(k->key, top, sizeof top);
            if (o && json_object_get(o, top) && !alg_has_top(mine, top)) {
                snprintf(path, sizeof path, "algorithm.%s", top);
                fail(c, path, "only %s %s (algorithm is '%s')", ops->name, k->what, mine->name);
            }
            void *p = (char *)cfg + k->offset;
            if (k->type == ALG_KEY_BOOL || k->type == ALG_KEY_INT) *(int *)p = (int)k->def;
            else if (k->type == ALG_KEY_NUM) *(double *)p = k->def;
            else snprintf((char *)p, sizeof cfg->codec, "%s", k->def_codec);
        }
    }
}

static int alg_takes_codec(const AlgOps *ops) { return ops->codec.takes; }

// The algorithm asks the registry for its defaults and its own keys: no algorithm is named here.
static void parse_algorithm(Ctx *c, json_t *root, Scenario *s) {
    static const char *const KC[] = {"kind", "keep", "error_feedback", NULL};
    const char *K[40];
    alg_top_keys(K, 40);
    json_t *o = obj_get(c, root, "", "algorithm");
    if (o) keys_check(c, o, "algorithm", K);
    char names[256];
    snprintf(names, sizeof names, "%s", alg_names());
    str(c, o, "algorithm", "name", names, "sgp", s->alg.name, sizeof s->alg.name);
    const AlgOps *ops = alg_find(s->alg.name);
    if (!ops) return;   // an unknown name failed above
    int compressed = ops->codec.takes;
    s->alg.gamma = num(c, o, "algorithm", "gamma", 1e-6, 1, compressed ? ops->codec.gamma : 1.0);
    json_t *cp = obj_get(c, o, "algorithm", "compression");
    if (cp) keys_check(c, cp, "algorithm.compression", KC);
    str(c, cp, "algorithm.compression", "kind", codec_names(), compressed ? ops->codec.kind : "dense",
        s->alg.codec, sizeof s->alg.codec);
    s->alg.keep = num(c, cp, "algorithm.compression", "keep", 1e-9, 1, compressed ? ops->codec.keep : 1.0);
    s->alg.error_feedback = boolean(c, cp, "algorithm.compression", "error_feedback", 1);
    parse_alg_others(c, o, ops, &s->alg);
    for (const AlgKey *k = ops->keys; k && k->key; k++) parse_alg_key(c, o, ops, k, &s->alg);
    if (cp && !compressed && strcmp(s->alg.codec, "dense")) {
        char list[256];
        alg_names_where(alg_takes_codec, list, sizeof list);
        fail(c, "algorithm.compression.kind", "'%s' needs a compressed algorithm (%s), not '%s'", s->alg.codec, list,
             s->alg.name);
    }
}

static void parse_network(JsonR *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"backend", "round_timeout_s", "drop_prob", "default_link", "links", "schedule",
                                    "mobility", "duration_s", "auth", "frame_mac", "max_rounds_ahead", NULL};
    const json_t *o = jsonr_obj(c, root, "", "network");
    if (o) jsonr_keys(c, o, "network", K, NULL);
    jsonr_str(c, o, "network", "backend", "auto, kernel, uml, none", "auto", s->net.backend, sizeof s->net.backend);
    s->net.round_timeout_s = jsonr_num(c, o, "network", "round_timeout_s", 0.001, 3600, 30);
    s->net.drop_prob = jsonr_num(c, o, "network", "drop_prob", 0, 1, 0);
    s->net.auth = jsonr_bool(c, o, "network", "auth", 1);
    s->net.frame_mac = jsonr_bool(c, o, "network", "frame_mac", 1);
    s->net.max_rounds_ahead = (int)jsonr_int(c, o, "network", "max_rounds_ahead", 1, 1000000, 256);
    if (!s->net.auth && s->net.frame_mac && o && json_is_true(json_object_get(o, "frame_mac")))
        jsonr_fail(c, "network.frame_mac", "true needs network.auth true (the frame key comes from the handshake)");
    if (!s->net.auth) s->net.frame_mac = 0;
    if (c->failed) return;
    // The link keys are compiled (and so validated) by netem/plan.c; the scenario keeps their text.
    json_t *links = json_object();
    for (const char *const *k = NETPLAN_KEYS; *k; k++)
        if (o && json_object_get(o, *k)) json_object_set(links, *k, json_object_get(o, *k));
    NetPlan plan;
    Err e;
    if (netplan_build(links, s->agents, s->seed, &plan, &e)) {
        jsonr_fail_err(c, &e);   // e names the JSON path already
        json_decref(links);
        return;
    }
    s->net.shaped = plan.shaped;
    s->net.duration_s = plan.duration_s;
    netplan_free(&plan);
    if (json_object_size(links)) s->net.links_json = json_dumps(links, JSON_COMPACT);
    json_decref(links);
    if (!strcmp(s->net.backend, "none") && s->net.shaped)
        jsonr_fail(c, "network.backend",
                   "\"none\" shapes nothing, but the scenario asks for shaped links: use \"auto\" "
                   "(or remove default_link, links, schedule and mobility)");
}

int scenario_netplan(const Scenario *s, NetPlan *p, Err *e) {
    json_t *links = s->net.links_json ? json_loads(s->net.links_json, 0, NULL) : NULL;
    int rc = netplan_build(links, s->agents, s->seed, p, e);
    json_decref(links);
    return rc;
}

void scenario_free(Scenario *s) {
    free(s->net.links_json);
    s->net.links_json = NULL;
}

static void parse_seeds(JsonR *c, json_t *root, Scenario *s) {
    json_t *v = json_object_get(root, "seeds");
    s->n_seeds = 1;
    s->seeds[0] = 1;
    if (!v) return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > SCEN_MAX_SEEDS) {
        jsonr_fail(c, "seeds", "expected an array of 1 to %d integers", SCEN_MAX_SEEDS);
        return;
    }
    s->n_seeds = (int)json_array_size(v);
    for (int i = 0; i < s->n_seeds; i++) {
        json_t *x = json_array_get(v, (size_t)i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 0x7fffffffL) {
            jsonr_fail(c, "seeds", "entry %d is not an integer in 0..2147483647", i);
            return;
        }
        s->seeds[i] = (uint64_t)json_integer_value(x);
    }
}

// eval.final_consensus: {"rounds": N, "protocol": "exact" | "training"}; eval.final_consensus_rounds N is
// {"rounds": N, "protocol": "exact"} (the two may not both be given).
static void parse_final_consensus(JsonR *c, const json_t *ev, Scenario *s) {
    static const char *const KF[] = {"rounds", "protocol", NULL};
    snprintf(s->eval.final_consensus_protocol, sizeof s->eval.final_consensus_protocol, "exact");
    const json_t *fc = ev ? jsonr_obj(c, ev, "eval", "final_consensus") : NULL;
    if (!fc) return;
    if (json_object_get(ev, "final_consensus_rounds")) {
        jsonr_fail(c, "eval.final_consensus", "given with eval.final_consensus_rounds: give one of them "
                   "(final_consensus_rounds N is final_consensus {\"rounds\": N, \"protocol\": \"exact\"})");
        return;
    }
    jsonr_keys(c, fc, "eval.final_consensus", KF, NULL);
    s->eval.final_consensus_rounds = (int)jsonr_int(c, fc, "eval.final_consensus", "rounds", 0, 100000, 0);
    jsonr_str(c, fc, "eval.final_consensus", "protocol", "exact, training", "exact", s->eval.final_consensus_protocol,
              sizeof s->eval.final_consensus_protocol);
}

static void parse_root(JsonR *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"name", "seeds", "agents", "dataset", "model", "norm", "partition", "epochs",
                                    "batch_size", "optimizer", "topology", "algorithm", "precision", "network",
                                    "energy", "eval", "baseline", "metrics_every", "hang_timeout_s", "limit_train",
                                    "limit_test", NULL};
    static const char *const KP[] = {"kind", "alpha", "skew", NULL};
    static const char *const KE[] = {"every_epochs", "final_consensus_rounds", "final_consensus", NULL};
    jsonr_keys(c, root, "", K, NULL);
    jsonr_str(c, root, "", "name", NULL, "", s->name, sizeof s->name);
    if (!s->name[0] && !c->failed) jsonr_fail(c, "name", "missing: every scenario needs a name");
    for (const char *p = s->name; *p && !c->failed; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
            jsonr_fail(c, "name", "'%s' may only hold letters, digits, '-', '_' and '.' (it names a folder)", s->name);
    if (!c->failed && strspn(s->name, ".") == strlen(s->name))
        jsonr_fail(c, "name", "'%s' is not a usable folder name", s->name);
    parse_seeds(c, root, s);
    s->seed = s->seeds[0];
    s->agents = (int)jsonr_int(c, root, "", "agents", 1, 256, 8);
    jsonr_str(c, root, "", "dataset", "fashion-mnist, mnist, cifar10, cifar100, synthetic", "fashion-mnist", s->dataset,
              sizeof s->dataset);
    jsonr_str(c, root, "", "model", "linear, mlp, lenet5, cnn5, resnet20, vgg11, vgg11-standard", "lenet5", s->model,
              sizeof s->model);
    char norm[16];
    jsonr_str(c, root, "", "norm", norm_names(), norm_name(model_default_norm(s->model)), norm, sizeof norm);
    norm_parse(norm, &s->norm);
    if (!c->failed && !model_takes_norm(s->model, s->norm))
        jsonr_fail(c, "norm", "'%s' needs a convolutional model (lenet5, cnn5, resnet20, vgg11, vgg11-standard), "
                   "not model '%s'", norm, s->model);
    const json_t *p = jsonr_obj(c, root, "", "partition");
    if (p) jsonr_keys(c, p, "partition", KP, NULL);
    jsonr_str(c, p, "partition", "kind", "iid, dirichlet, skew", "iid", s->partition.kind, sizeof s->partition.kind);
    s->partition.alpha = jsonr_num(c, p, "partition", "alpha", 1e-6, 1e6, 0.1);
    s->partition.skew = jsonr_num(c, p, "partition", "skew", 0, 1, 0.8);
    s->epochs = (int)jsonr_int(c, root, "", "epochs", 1, 100000, 5);
    s->batch = (int)jsonr_int(c, root, "", "batch_size", 1, 4096, 32);
    parse_optimizer(c, root, s);
    parse_topology(c, root, s);
    parse_algorithm(c, root, s);
    s->bits = 32;
    s->act_round = QROUND_STOCHASTIC;
    const json_t *pr = jsonr_obj(c, root, "", "precision");
    if (pr) {
        static const char *const KR[] = {"bits", "activation_rounding", NULL};
        jsonr_keys(c, pr, "precision", KR, NULL);
        s->bits = (int)jsonr_int(c, pr, "precision", "bits", 8, 32, 32);
        if (s->bits != 8 && s->bits != 32) jsonr_fail(c, "precision.bits", "%d (expected 8 or 32)", s->bits);
        char round[16];
        jsonr_str(c, pr, "precision", "activation_rounding", "stochastic, nearest", "stochastic", round, sizeof round);
        quant_round_parse(round, &s->act_round);
    }
    parse_network(c, root, s);
    const json_t *en = jsonr_obj(c, root, "", "energy");
    Err ee;
    if (energy_parse(en, "energy", &s->energy, &ee)) jsonr_fail_err(c, &ee);   // defaults even after an error
    const json_t *ev = jsonr_obj(c, root, "", "eval");
    if (ev) jsonr_keys(c, ev, "eval", KE, NULL);
    s->eval.every_epochs = jsonr_num(c, ev, "eval", "every_epochs", 0.01, 1e4, 1);
    s->eval.final_consensus_rounds = (int)jsonr_int(c, ev, "eval", "final_consensus_rounds", 0, 100000, 0);
    parse_final_consensus(c, ev, s);
    jsonr_str(c, root, "", "baseline", NULL, "", s->baseline, sizeof s->baseline);
    s->metrics_every = (int)jsonr_int(c, root, "", "metrics_every", 1, 1000000, 10);
    s->hang_timeout_s = jsonr_num(c, root, "", "hang_timeout_s", 0.2, 86400, 60);
    s->limit_train = (int)jsonr_int(c, root, "", "limit_train", 0, 1 << 30, 0);
    s->limit_test = (int)jsonr_int(c, root, "", "limit_test", 0, 1 << 30, 0);
}

static int alg_defines_qgm(const AlgOps *ops) { return ops->quasi_global; }

// optimizer.quasi_global needs an algorithm that defines it and a momentum to make quasi-global.
static void check_quasi_global(Ctx *c, const Scenario *s, const AlgOps *ops) {
    if (!s->sgd.quasi_global || !ops) return;
    if (!ops->quasi_global) {
        char list[256];
        alg_names_where(alg_defines_qgm, list, sizeof list);
        fail(c, "optimizer.quasi_global", "true: quasi-global momentum is not defined for %s (it is for: %s)",
             ops->name, list);
    } else if (s->sgd.momentum == 0) {
        fail(c, "optimizer.quasi_global", "true needs optimizer.momentum > 0 (it is 0: there is no momentum to make "
             "quasi-global)");
    }
}

// An algorithm with a loss on penultimate features needs a model that has them: the model is built
// once at batch 1 (no data is read) to see whether a linear head sits after other layers.
static void check_features(Ctx *c, const Scenario *s, const AlgOps *ops) {
    int ch, h, w, classes;
    if (dataset_shape(s->dataset, &ch, &h, &w, &classes)) return;   // the dataset key reports that
    Rng r = rng_derive(s->seed, 1);
    Err e = {{0}};
    Model *m = model_build(s->model, s->norm, ch, h, w, classes, 1, &r, &e);
    if (m && !model_has_features(m))
        fail(c, "model", "'%s': %s %s, so it needs a model with a feature layer (a linear head after other layers: "
             "lenet5, cnn5, resnet20, vgg11, ...)", s->model, s->alg.name, ops->needs.features);
    model_free(m);
}

// Combinations that each value alone cannot rule out.
static void check_combinations(Ctx *c, Scenario *s) {
    if (c->failed) return;
    const char *a = s->alg.name;
    const AlgOps *ops = alg_find(a);
    if (ops && ops->needs.undirected && s->topo.directed)
        fail(c, "topology.directed", "%s %s and needs an undirected topology", a, ops->needs.undirected);
    if (ops && ops->needs.fixed && s->topo.time_varying)
        fail(c, "topology.time_varying", "%s %s, so it needs a static topology", a, ops->needs.fixed);
    // The training protocol is the algorithm's own compressed consensus, which keeps the copies in step.
    if (ops && ops->needs.no_final_consensus && s->eval.final_consensus_rounds > 0 &&
        !strcmp(s->eval.final_consensus_protocol, "exact"))
        fail(c, "eval.final_consensus_rounds", "%s %s; use 0, or eval.final_consensus {\"protocol\": \"training\"} "
             "(its own compressed consensus with its gamma)", a, ops->needs.no_final_consensus);
    if (ops && ops->needs.tree && !topo_kind_is_tree(s->topo.kind))
        fail(c, "topology.kind", "'%s': %s %s, so it needs a spanning tree: chain, binary-tree, double-binary-trees "
             "or spanning-tree (with topology.base naming the graph it spans)", topo_name(s->topo.kind), a,
             ops->needs.tree);
    check_quasi_global(c, s, ops);
    if (ops && ops->needs.features) check_features(c, s, ops);
    if (s->topo.kind == TOPO_TORUS && s->agents < 4)
        fail(c, "agents", "a 2-D torus needs at least 4 agents (got %d)", s->agents);
    if ((s->topo.kind == TOPO_DYCK || (s->topo.kind == TOPO_SPANNING_TREE && s->topo.base == TOPO_DYCK)) &&
        s->agents != 32)
        fail(c, "agents", "the dyck topology is the 32-node Dyck graph (got %d agents): use 32, or ring or "
             "circulant-1-4 for other sizes", s->agents);
}

// The whole of fd (at most SCEN_MAX_BYTES), or NULL and e naming path.
static char *file_slurp(int fd, const char *path, size_t *len, Err *e) {
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) { free(buf); err_set(e, "%s: out of memory reading it", path); return NULL; }
            buf = grown;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { err_set(e, "%s: cannot read: %s", path, strerror(errno)); free(buf); return NULL; }
        if (r == 0) break;
        n += (size_t)r;
        if (n > SCEN_MAX_BYTES) {
            err_set(e, "%s: larger than %d MiB (expected a scenario file of at most that size)", path,
                    SCEN_MAX_BYTES >> 20);
            free(buf);
            return NULL;
        }
    }
    *len = n;
    return buf;
}

json_t *scenario_file_read(const char *path, Err *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { err_set(e, "%s: cannot read: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        err_set(e, "%s: is a folder (expected a JSON file)", path);
        return NULL;
    }
    size_t len = 0;
    char *buf = file_slurp(fd, path, &len, e);
    close(fd);
    if (!buf) return NULL;
    json_error_t je;
    // A key given twice is almost always an edit gone wrong; jansson would keep the last one silently.
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root) err_set(e, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
    return root;
}

int scenario_paths_resolve(json_t *root, const char *path, Err *e) {
    json_t *topo = json_is_object(root) ? json_object_get(root, "topology") : NULL;
    json_t *file = json_is_object(topo) ? json_object_get(topo, "file") : NULL;
    const char *f = json_string_value(file);
    if (!f || !f[0] || f[0] == '/') return 0;
    const char *slash = strrchr(path, '/');
    char full[PATH_MAX + 64], abs[PATH_MAX];
    snprintf(full, sizeof full, "%.*s%s%s", slash ? (int)(slash - path) : 0, path, slash ? "/" : "", f);
    const char *use = realpath(full, abs) ? abs : full;
    if (!utf8_valid(use)) {
        err_set(e, "%s: topology.file: '%s' next to the scenario is not a valid UTF-8 path (expected one JSON "
                "can hold)", path, f);
        return -1;
    }
    json_object_set_new(topo, "file", json_string(use));
    return 0;
}

int scenario_load(Scenario *s, const char *path, const char *text, Err *e) {
    memset(s, 0, sizeof *s);
    json_error_t je;
    json_t *root = text ? json_loads(text, JSON_REJECT_DUPLICATES, &je) : scenario_file_read(path, e);
    if (!root) {
        if (text) err_set(e, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
        return -1;
    }
    // A relative edge list is next to the scenario: resolved here, so every copy of it agrees.
    if (scenario_paths_resolve(root, path, e)) { json_decref(root); return -1; }
    JsonR c = {.e = e, .file = path};
    if (!json_is_object(root)) jsonr_fail(&c, "(top level)", "expected a JSON object");
    else parse_root(&c, root, s);
    check_combinations(&c, s);
    json_decref(root);
    // An edge list, or the graph a spanning tree spans, is checked here: before anything starts.
    if (!c.failed && (s->topo.kind == TOPO_FILE || s->topo.kind == TOPO_SPANNING_TREE)) {
        Topology t;
        if (topo_init(&t, &s->topo, e)) {
            Err inner = *e;
            err_set(e, "%s: topology.%s: %.400s", path, s->topo.kind == TOPO_FILE ? "file" : "base", inner.msg);
            return -1;
        }
        topo_free(&t);
    }
    return c.failed ? -1 : 0;
}

// The chosen algorithm's own keys into its "algorithm" object, in its order. A flag is written only
// when set, so the dump of a scenario that never had it reads as before.
static void alg_keys_dump(const Scenario *s, json_t *alg) {
    const AlgOps *ops = alg_find(s->alg.name);
    for (const AlgKey *k = ops ? ops->keys : NULL; k && k->key; k++) {
        char top[32];
        const char *field = alg_key_split(k->key, top, sizeof top);
        const void *p = (const char *)&s->alg + k->offset;
        json_t *v = k->type == ALG_KEY_BOOL ? (*(const int *)p ? json_true() : NULL)
                    : k->type == ALG_KEY_INT ? json_integer(*(const int *)p)
                    : k->type == ALG_KEY_NUM ? json_real(*(const double *)p)
                                             : json_string((const char *)p);
        if (!v) continue;
        json_t *obj = alg;
        if (field) {
            obj = json_object_get(alg, top);
            if (!obj) json_object_set_new(alg, top, obj = json_object());
        }
        json_object_set_new(obj, field ? field : k->key, v);
    }
}

char *scenario_dump(const Scenario *s) {
    json_t *seeds = json_array(), *ms = json_array();
    for (int i = 0; i < s->n_seeds; i++) json_array_append_new(seeds, json_integer((json_int_t)s->seeds[i]));
    for (int i = 0; i < s->sched.n_milestones; i++) json_array_append_new(ms, json_real(s->sched.milestones[i]));
    static const char *SCHED[] = {"constant", "multistep", "cosine"};
    json_t *o = json_pack(
        "{s:s, s:o, s:i, s:s, s:s, s:s, s:{s:s, s:f, s:f}, s:i, s:i,"
        " s:{s:f, s:f, s:b, s:f, s:b, s:{s:s, s:o, s:f, s:f}},"
        " s:{s:s, s:b, s:b, s:i, s:f, s:I, s:s},"
        " s:{s:s, s:f, s:{s:s, s:f, s:b}},"
        " s:{s:s, s:f, s:f, s:b, s:b, s:i}, s:{s:f, s:i}, s:s, s:i, s:f, s:i, s:i}",
        "name", s->name, "seeds", seeds, "agents", s->agents, "dataset", s->dataset, "model", s->model,
        "norm", norm_name(s->norm), "partition", "kind", s->partition.kind, "alpha", s->partition.alpha,
        "skew", s->partition.skew, "epochs", s->epochs, "batch_size", s->batch,
        "optimizer", "lr", (double)s->sgd.lr, "momentum", (double)s->sgd.momentum, "nesterov", s->sgd.nesterov,
        "weight_decay", (double)s->sgd.weight_decay, "decay_norm", s->sgd.decay_norm, "schedule", "kind",
        SCHED[s->sched.kind], "milestones", ms, "gamma", (double)s->sched.gamma, "warmup_epochs",
        (double)s->sched.warmup_epochs,
        "topology", "kind", topo_name(s->topo.kind), "directed", s->topo.directed, "time_varying",
        s->topo.time_varying, "window", s->topo.window, "extra_p", s->topo.extra_p, "seed", (json_int_t)s->topo.seed,
        "file", s->topo.file,
        "algorithm", "name", s->alg.name, "gamma", s->alg.gamma, "compression", "kind", s->alg.codec, "keep",
        s->alg.keep, "error_feedback", s->alg.error_feedback,
        "network", "backend", s->net.backend, "round_timeout_s", s->net.round_timeout_s, "drop_prob", s->net.drop_prob,
        "auth", s->net.auth, "frame_mac", s->net.frame_mac, "max_rounds_ahead", s->net.max_rounds_ahead,
        "eval", "every_epochs", s->eval.every_epochs, "final_consensus_rounds", s->eval.final_consensus_rounds,
        "baseline", s->baseline, "metrics_every", s->metrics_every, "hang_timeout_s", s->hang_timeout_s,
        "limit_train", s->limit_train, "limit_test", s->limit_test);
    if (!o) return NULL;   // jansson has released the "o" arguments already
    alg_keys_dump(s, json_object_get(o, "algorithm"));
    if (s->bits != 32)   // only when set: fp32 scenarios dump as before
        json_object_set_new(o, "precision", json_pack("{s:i, s:s}", "bits", s->bits, "activation_rounding",
                                                      quant_round_name(s->act_round)));
    if (strcmp(s->eval.final_consensus_protocol, "exact")) {   // the exact protocol dumps as before
        json_t *ev = json_object_get(o, "eval");
        json_object_del(ev, "final_consensus_rounds");
        json_object_set_new(ev, "final_consensus", json_pack("{s:i, s:s}", "rounds", s->eval.final_consensus_rounds,
                                                             "protocol", s->eval.final_consensus_protocol));
    }
    if (s->sgd.quasi_global)   // only when set: scenarios without it dump as before
        json_object_set_new(json_object_get(o, "optimizer"), "quasi_global", json_true());
    if (s->topo.kind != TOPO_FILE && !(s->topo.kind == TOPO_SPANNING_TREE && s->topo.base == TOPO_FILE))
        json_object_del(json_object_get(o, "topology"), "file");
    if (s->topo.kind == TOPO_SPANNING_TREE)
        json_object_set_new(json_object_get(o, "topology"), "base", json_string(topo_name(s->topo.base)));
    json_t *links = s->net.links_json ? json_loads(s->net.links_json, 0, NULL) : NULL;
    if (links) json_object_update(json_object_get(o, "network"), links);
    json_decref(links);
    json_object_set_new(o, "energy", energy_model_json(&s->energy));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}
