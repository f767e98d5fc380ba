// Scenario files: parsed with jansson into a Scenario with every default filled in. Unknown keys,
// wrong types and out-of-range values are errors naming the file, the JSON path and the value.
#include "scenario.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alg.h"
#include "codec.h"
#include "data.h"
#include "plan.h"
#include "energy.h"

typedef struct { const char *file; Err *e; int failed; } Ctx;

static void fail(Ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(Ctx *c, const char *path, const char *fmt, ...) {
    if (c->failed) return;   // the first error is the one reported
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(c->e, "%s: %s: %s", c->file, path, msg);
    c->failed = 1;
}

static void join(char *out, size_t n, const char *path, const char *key) {
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

// Every key of obj must be in allowed (NULL-terminated).
static void keys_check(Ctx *c, json_t *obj, const char *path, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, key) == 0;
        if (!ok) {
            char p[256], list[400] = "";
            join(p, sizeof p, path, key);
            for (const char *const *a = allowed; *a; a++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
            fail(c, p, "unknown key (expected one of: %s)", list);
        }
    }
}

static json_t *obj_get(Ctx *c, json_t *obj, const char *path, const char *key) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v && !json_is_object(v)) {
        char p[256];
        join(p, sizeof p, path, key);
        fail(c, p, "expected an object");
        return NULL;
    }
    return v;
}

static double num(Ctx *c, json_t *obj, const char *path, const char *key, double lo, double hi, double def) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_number(v)) { fail(c, p, "expected a number in [%g, %g]", lo, hi); return def; }
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) { fail(c, p, "%g is out of range (expected %g..%g)", x, lo, hi); return def; }
    return x;
}

static long integer(Ctx *c, json_t *obj, const char *path, const char *key, long lo, long hi, long def) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_integer(v)) { fail(c, p, "expected an integer in %ld..%ld", lo, hi); return def; }
    long x = (long)json_integer_value(v);
    if (x < lo || x > hi) { fail(c, p, "%ld is out of range (expected %ld..%ld)", x, lo, hi); return def; }
    return x;
}

static int boolean(Ctx *c, json_t *obj, const char *path, const char *key, int def) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_boolean(v)) { fail(c, p, "expected true or false"); return def; }
    return json_is_true(v);
}

// A string, checked against `choices` (comma-separated) when not NULL.
static void str(Ctx *c, json_t *obj, const char *path, const char *key, const char *choices, const char *def,
                char *out, size_t n) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    snprintf(out, n, "%s", def);
    if (!v) return;
    char p[256];
    join(p, sizeof p, path, key);
    if (!json_is_string(v)) { fail(c, p, "expected a string%s%s", choices ? ": one of " : "", choices ? choices : ""); return; }
    const char *s = json_string_value(v);
    if (strlen(s) >= n) { fail(c, p, "'%.40s...' is too long (at most %zu characters)", s, n - 1); return; }
    if (choices) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", choices);
        int ok = 0;
        char *save = NULL;
        for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) ok |= strcmp(tok, s) == 0;
        if (!ok) { fail(c, p, "unknown value '%s' (expected one of: %s)", s, choices); return; }
    }
    snprintf(out, n, "%s", s);
}

static void parse_optimizer(Ctx *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"lr", "momentum", "nesterov", "weight_decay", "decay_norm", "schedule", NULL};
    static const char *const KS[] = {"kind", "milestones", "gamma", "warmup_epochs", NULL};
    json_t *o = obj_get(c, root, "", "optimizer");
    if (o) keys_check(c, o, "optimizer", K);
    s->sgd.lr = (float)num(c, o, "optimizer", "lr", 0, 100, 0.05);
    s->sgd.momentum = (float)num(c, o, "optimizer", "momentum", 0, 0.999999, 0.9);
    s->sgd.nesterov = boolean(c, o, "optimizer", "nesterov", 1);
    s->sgd.weight_decay = (float)num(c, o, "optimizer", "weight_decay", 0, 1, 1e-4);
    s->sgd.decay_norm = boolean(c, o, "optimizer", "decay_norm", 0);
    json_t *sc = obj_get(c, o, "optimizer", "schedule");
    if (sc) keys_check(c, sc, "optimizer.schedule", KS);
    char kind[16];
    str(c, sc, "optimizer.schedule", "kind", "constant, multistep, cosine", "cosine", kind, sizeof kind);
    schedule_parse(kind, &s->sched.kind);
    s->sched.gamma = (float)num(c, sc, "optimizer.schedule", "gamma", 0, 1, 0.1);
    s->sched.warmup_epochs = (float)num(c, sc, "optimizer.schedule", "warmup_epochs", 0, 1e4, 0);
    s->sched.n_milestones = 2;
    s->sched.milestones[0] = 0.5f; s->sched.milestones[1] = 0.75f;
    json_t *ms = sc ? json_object_get(sc, "milestones") : NULL;
    if (ms) {
        if (!json_is_array(ms) || json_array_size(ms) > 8) { fail(c, "optimizer.schedule.milestones", "expected an array of at most 8 fractions in (0,1)"); return; }
        s->sched.n_milestones = (int)json_array_size(ms);
        for (int i = 0; i < s->sched.n_milestones; i++) {
            json_t *m = json_array_get(ms, (size_t)i);
            double x = json_is_number(m) ? json_number_value(m) : -1;
            if (!(x > 0 && x < 1)) { fail(c, "optimizer.schedule.milestones", "entry %d is not a fraction in (0,1)", i); return; }
            s->sched.milestones[i] = (float)x;
        }
    }
    if (s->sched.warmup_epochs >= s->epochs && s->sched.warmup_epochs > 0)
        fail(c, "optimizer.schedule.warmup_epochs", "%g is not less than epochs (%d)", s->sched.warmup_epochs, s->epochs);
}

static void parse_topology(Ctx *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"kind", "directed", "time_varying", "window", "extra_p", "seed", "file", NULL};
    json_t *o = obj_get(c, root, "", "topology");
    if (o) keys_check(c, o, "topology", K);
    char kind[32];
    str(c, o, "topology", "kind", topo_names(), "exponential", kind, sizeof kind);
    topo_parse(kind, &s->topo.kind);
    s->topo.n = s->agents;
    s->topo.directed = boolean(c, o, "topology", "directed", s->topo.kind == TOPO_EXPONENTIAL || s->topo.kind == TOPO_RANDOM);
    s->topo.time_varying = boolean(c, o, "topology", "time_varying", s->topo.kind == TOPO_EXPONENTIAL || s->topo.kind == TOPO_RANDOM);
    s->topo.window = (int)integer(c, o, "topology", "window", 1, 1000, 3);
    s->topo.extra_p = num(c, o, "topology", "extra_p", 0, 1, 0.1);
    s->topo.seed = (uint64_t)integer(c, o, "topology", "seed", 0, 0x7fffffffL, (long)s->seeds[0]);
    str(c, o, "topology", "file", NULL, "", s->topo.file, sizeof s->topo.file);
    if (s->topo.kind == TOPO_FILE && !s->topo.file[0]) fail(c, "topology.file", "kind 'file' needs a file (an edge list)");
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
            for (const AlgKey *f = k; f->key && nf < 16 && alg_key_split(f->key, prev, sizeof prev) && !strcmp(prev, top);
                 f++)
                fields[nf++] = alg_key_split(f->key, prev, sizeof prev);
            fields[nf] = NULL;
            keys_check(c, obj, path, fields);
        }
    }
    const char *name = field ? field : k->key;
    void *p = (char *)cfg + k->offset;
    if (k->type == ALG_KEY_BOOL) *(int *)p = boolean(c, obj, path, name, (int)k->def);
    else if (k->type == ALG_KEY_INT) *(int *)p = (int)integer(c, obj, path, name, (long)k->lo, (long)k->hi, (long)k->def);
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

static void parse_network(Ctx *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"backend", "round_timeout_s", "drop_prob", "default_link", "links", "schedule",
                                    "mobility", "duration_s", "auth", "frame_mac", "max_rounds_ahead", NULL};
    json_t *o = obj_get(c, root, "", "network");
    if (o) keys_check(c, o, "network", K);
    str(c, o, "network", "backend", "auto, kernel, uml, none", "auto", s->net.backend, sizeof s->net.backend);
    s->net.round_timeout_s = num(c, o, "network", "round_timeout_s", 0.001, 3600, 30);
    s->net.drop_prob = num(c, o, "network", "drop_prob", 0, 1, 0);
    s->net.auth = boolean(c, o, "network", "auth", 1);
    s->net.frame_mac = boolean(c, o, "network", "frame_mac", 1);
    s->net.max_rounds_ahead = (int)integer(c, o, "network", "max_rounds_ahead", 1, 1000000, 256);
    if (!s->net.auth && s->net.frame_mac && o && json_object_get(o, "frame_mac") && json_is_true(json_object_get(o, "frame_mac")))
        fail(c, "network.frame_mac", "true needs network.auth true (the frame key comes from the handshake)");
    if (!s->net.auth) s->net.frame_mac = 0;
    if (c->failed) return;
    // The link keys are compiled (and so validated) by netem/plan.c; the scenario keeps their text.
    json_t *links = json_object();
    for (const char *const *k = NETPLAN_KEYS; *k; k++)
        if (o && json_object_get(o, *k)) json_object_set(links, *k, json_object_get(o, *k));
    NetPlan plan;
    Err e;
    if (netplan_build(links, s->agents, s->seed, &plan, &e)) {
        err_set(c->e, "%s: %s", c->file, e.msg);   // e names the JSON path already
        c->failed = 1;
        json_decref(links);
        return;
    }
    s->net.shaped = plan.shaped;
    s->net.duration_s = plan.duration_s;
    netplan_free(&plan);
    if (json_object_size(links)) s->net.links_json = json_dumps(links, JSON_COMPACT);
    json_decref(links);
    if (!strcmp(s->net.backend, "none") && s->net.shaped)
        fail(c, "network.backend", "\"none\" shapes nothing, but the scenario asks for shaped links: use \"auto\" (or remove "
             "default_link, links, schedule and mobility)");
}

int scenario_netplan(const Scenario *s, NetPlan *p, Err *e) {
    json_t *links = s->net.links_json ? json_loads(s->net.links_json, 0, NULL) : NULL;
    int rc = netplan_build(links, s->agents, s->seed, p, e);
    json_decref(links);
    return rc;
}

void scenario_free(Scenario *s) {
    free(s->net.links_json);
    free(s->energy_json);
    s->net.links_json = s->energy_json = NULL;
}

static void parse_seeds(Ctx *c, json_t *root, Scenario *s) {
    json_t *v = json_object_get(root, "seeds");
    s->n_seeds = 1;
    s->seeds[0] = 1;
    if (!v) return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > SCEN_MAX_SEEDS) {
        fail(c, "seeds", "expected an array of 1 to %d integers", SCEN_MAX_SEEDS);
        return;
    }
    s->n_seeds = (int)json_array_size(v);
    for (int i = 0; i < s->n_seeds; i++) {
        json_t *x = json_array_get(v, (size_t)i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 0x7fffffffL) {
            fail(c, "seeds", "entry %d is not an integer in 0..2147483647", i);
            return;
        }
        s->seeds[i] = (uint64_t)json_integer_value(x);
    }
}

static void parse_root(Ctx *c, json_t *root, Scenario *s) {
    static const char *const K[] = {"name", "seeds", "agents", "dataset", "model", "norm", "partition", "epochs",
                                    "batch_size", "optimizer", "topology", "algorithm", "precision", "network",
                                    "energy", "eval", "baseline", "metrics_every", "hang_timeout_s", "limit_train",
                                    "limit_test", NULL};
    static const char *const KP[] = {"kind", "alpha", "skew", NULL};
    static const char *const KE[] = {"every_epochs", "final_consensus_rounds", NULL};
    keys_check(c, root, "", K);
    str(c, root, "", "name", NULL, "", s->name, sizeof s->name);
    if (!s->name[0] && !c->failed) fail(c, "name", "missing: every scenario needs a name");
    for (const char *p = s->name; *p && !c->failed; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
            fail(c, "name", "'%s' may only hold letters, digits, '-', '_' and '.' (it names a folder)", s->name);
    if (!c->failed && strspn(s->name, ".") == strlen(s->name))
        fail(c, "name", "'%s' is not a usable folder name", s->name);
    parse_seeds(c, root, s);
    s->seed = s->seeds[0];
    s->agents = (int)integer(c, root, "", "agents", 1, 256, 8);
    str(c, root, "", "dataset", "fashion-mnist, mnist, cifar10, cifar100, synthetic", "fashion-mnist", s->dataset, sizeof s->dataset);
    str(c, root, "", "model", "linear, mlp, lenet5, cnn5, resnet20, vgg11, vgg11-standard", "lenet5", s->model, sizeof s->model);
    char norm[16];
    str(c, root, "", "norm", norm_names(), norm_name(model_default_norm(s->model)), norm, sizeof norm);
    norm_parse(norm, &s->norm);
    json_t *p = obj_get(c, root, "", "partition");
    if (p) keys_check(c, p, "partition", KP);
    str(c, p, "partition", "kind", "iid, dirichlet, skew", "iid", s->partition.kind, sizeof s->partition.kind);
    s->partition.alpha = num(c, p, "partition", "alpha", 1e-6, 1e6, 0.1);
    s->partition.skew = num(c, p, "partition", "skew", 0, 1, 0.8);
    s->epochs = (int)integer(c, root, "", "epochs", 1, 100000, 5);
    s->batch = (int)integer(c, root, "", "batch_size", 1, 4096, 32);
    parse_optimizer(c, root, s);
    parse_topology(c, root, s);
    parse_algorithm(c, root, s);
    json_t *pr = obj_get(c, root, "", "precision");
    if (pr) {
        static const char *const KR[] = {"bits", NULL};
        keys_check(c, pr, "precision", KR);
        if (integer(c, pr, "precision", "bits", 8, 32, 32) != 32)
            fail(c, "precision.bits", "8-bit training is not in this build yet (expected 32)");
    }
    parse_network(c, root, s);
    json_t *en = obj_get(c, root, "", "energy");
    EnergyModel em;
    Err ee;
    if (!c->failed && energy_parse(en, "energy", &em, &ee)) { err_set(c->e, "%s: %s", c->file, ee.msg); c->failed = 1; }
    else if (en) s->energy_json = json_dumps(en, JSON_COMPACT);
    json_t *ev = obj_get(c, root, "", "eval");
    if (ev) keys_check(c, ev, "eval", KE);
    s->eval.every_epochs = num(c, ev, "eval", "every_epochs", 0.01, 1e4, 1);
    s->eval.final_consensus_rounds = (int)integer(c, ev, "eval", "final_consensus_rounds", 0, 100000, 0);
    str(c, root, "", "baseline", NULL, "", s->baseline, sizeof s->baseline);
    s->metrics_every = (int)integer(c, root, "", "metrics_every", 1, 1000000, 10);
    s->hang_timeout_s = num(c, root, "", "hang_timeout_s", 0.2, 86400, 60);
    s->limit_train = (int)integer(c, root, "", "limit_train", 0, 1 << 30, 0);
    s->limit_test = (int)integer(c, root, "", "limit_test", 0, 1 << 30, 0);
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
    if (ops && ops->needs.no_final_consensus && s->eval.final_consensus_rounds > 0)
        fail(c, "eval.final_consensus_rounds", "%s %s; use 0", a, ops->needs.no_final_consensus);
    if (ops && ops->needs.tree && s->topo.kind != TOPO_CHAIN && s->topo.kind != TOPO_BINARY_TREE)
        fail(c, "topology.kind", "%s %s, so it needs a spanning tree (chain or binary_tree)", a, ops->needs.tree);
    if (s->topo.kind == TOPO_TORUS && s->agents < 4)
        fail(c, "agents", "a 2-D torus needs at least 4 agents (got %d)", s->agents);
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
    Ctx c = {path, e, 0};
    if (!json_is_object(root)) fail(&c, "(top level)", "expected a JSON object");
    else parse_root(&c, root, s);
    check_combinations(&c, s);
    json_decref(root);
    if (!c.failed && s->topo.kind == TOPO_FILE) {
        Topology t;
        if (topo_init(&t, &s->topo, e)) {
            Err inner = *e;
            err_set(e, "%s: topology.file: %.400s", path, inner.msg);
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
    if (s->topo.kind != TOPO_FILE) json_object_del(json_object_get(o, "topology"), "file");
    json_t *links = s->net.links_json ? json_loads(s->net.links_json, 0, NULL) : NULL;
    if (links) json_object_update(json_object_get(o, "network"), links);
    json_decref(links);
    EnergyModel em;
    Err ee;
    json_t *ej = s->energy_json ? json_loads(s->energy_json, 0, NULL) : NULL;
    if (energy_parse(ej, "energy", &em, &ee)) energy_model_default(&em);
    json_decref(ej);
    json_object_set_new(o, "energy", energy_model_json(&em));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}
