// Reading run folders for `meshtrain report`: where they are, whether they finished, their summary,
// their evaluations and the bytes all agents had sent at each evaluation (from the agents' round lines).
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "report.h"

#define FIND_DEPTH 3   // results/runs/<name>/<stamp>, results/sweeps/<sweep>/<run>

// realloc or stop: out of memory is not a user error.
static void *grow(void *v, size_t n, size_t size) {
    void *w = realloc(v, n * size);
    if (!w) { fprintf(stderr, "meshtrain report: out of memory\n"); exit(1); }
    return w;
}

static int has_file(const char *dir, const char *name) {
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_run_dir(const char *d) {
    return has_file(d, "summary.json") || has_file(d, "scenario.json") || has_file(d, "FAILED");
}

static void list_add(RepList *l, const char *dir) {
    char real[PATH_MAX];
    if (!realpath(dir, real)) str_copy(real, sizeof real, dir);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].real, real) == 0) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = grow(l->v, (size_t)l->cap, sizeof *l->v);
    }
    RepRun *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    str_copy(r->dir, sizeof r->dir, dir);
    str_copy(r->real, sizeof r->real, real);
    r->base = -1;
}

static int walk(RepList *l, const char *dir, int depth) {
    if (is_run_dir(dir)) { list_add(l, dir); return 1; }
    if (depth == 0) return 0;
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort), found = 0;
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        struct stat st;
        int fits = snprintf(p, sizeof p, "%s/%s", dir, ents[i]->d_name) < (int)sizeof p;
        if (fits && ents[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            found += walk(l, p, depth - 1);
        free(ents[i]);
    }
    if (n >= 0) free(ents);
    return found;
}

int report_find(RepList *l, const char *arg, Err *e) {
    char dir[PATH_MAX];
    struct stat st;
    if (str_copy(dir, sizeof dir, arg)) { err_set(e, "%.200s...: path too long", arg); return -1; }
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') dir[--len] = 0;
    if (stat(dir, &st) != 0) {
        err_set(e, "%s: %s (expected a run folder or a folder holding run folders)", arg, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode)) {   // a summary.json or scenario.json given: its folder
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;
        if (strcmp(base, "summary.json") && strcmp(base, "scenario.json") && strcmp(base, "FAILED")) {
            err_set(e, "%s: expected a run folder (or its summary.json), not another file", arg);
            return -1;
        }
        if (slash == dir) dir[1] = 0;
        else if (slash) *slash = 0;
        else str_copy(dir, sizeof dir, ".");
    }
    if (walk(l, dir, FIND_DEPTH) == 0) {
        err_set(e, "%s: no run folder here or up to %d levels below (a run folder holds scenario.json, summary.json "
                "or FAILED)", arg, FIND_DEPTH);
        return -1;
    }
    return 0;
}

// The value at a dotted path ("energy_j.compute"), or NULL.
json_t *rep_get(json_t *o, const char *path) {
    char key[128];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t k = dot ? (size_t)(dot - path) : strlen(path);
        if (k >= sizeof key) return NULL;
        memcpy(key, path, k);
        key[k] = 0;
        o = json_object_get(o, key);
        path += k + (dot ? 1 : 0);
    }
    return o;
}

double rep_num(json_t *o, const char *path, double dflt) {
    json_t *v = rep_get(o, path);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *rep_str(json_t *o, const char *path, const char *dflt) {
    const char *s = json_string_value(rep_get(o, path));
    return s ? s : dflt;
}

static int need_num(json_t *o, const char *key, double *out, const char *file, Err *e) {
    json_t *v = rep_get(o, key);
    if (!json_is_number(v)) {
        err_set(e, "%s: expected a number at \"%s\" (%s)", file, key, v ? "it has another type" : "missing");
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static json_t *load_object(const char *dir, const char *name, Err *e) {
    char p[PATH_MAX + 64];
    json_error_t je;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    json_t *o = json_load_file(p, 0, &je);
    if (!o) {
        if (je.line <= 0) err_set(e, "%s: cannot read: %s", p, je.text);
        else err_set(e, "%s:%d:%d: not valid JSON: %s", p, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(o)) { err_set(e, "%s: expected a JSON object", p); json_decref(o); return NULL; }
    return o;
}

static void status_read(RepRun *r) {
    if (has_file(r->dir, "summary.json")) { r->status = RUN_OK; return; }
    if (has_file(r->dir, "FAILED")) {
        Err e;
        json_t *o = load_object(r->dir, "FAILED", &e);
        r->status = RUN_FAILED;
        const char *status = rep_str(o, "status", "failed");   // "failed", or how else it ended
        snprintf(
            r->reason, sizeof r->reason, "%s%s%s", strcmp(status, "failed") ? status : "",
            strcmp(status, "failed") ? ": " : "",
            rep_str(o, "reason", o ? "(FAILED gives no reason)" : "(FAILED is not the JSON meshtrain run writes)"));
        json_decref(o);
        return;
    }
    r->status = RUN_UNFINISHED;
    str_copy(r->reason, sizeof r->reason, "no summary.json: still running, or stopped before it finished");
}

static int evals_read(RepRun *r, Err *e) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/evals.jsonl", r->dir);
    FILE *f = fopen(p, "r");
    if (!f) {
        if (errno != ENOENT) { err_set(e, "%s: cannot read: %s", p, strerror(errno)); return -1; }
        str_copy(r->ev_note, sizeof r->ev_note, "no evals.jsonl");
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, cap_ev = 0, rc = 0;
    r->has_time = 1;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        char where[PATH_MAX + 100];
        snprintf(where, sizeof where, "%s:%d", p, lineno);
        if (!json_is_object(o)) {
            err_set(e, "%s: expected one JSON object per line (%s)", where, o ? "not an object" : je.text);
            rc = -1;
        }
        if (r->n_ev == cap_ev) {
            cap_ev = cap_ev ? 2 * cap_ev : 16;
            r->ev = grow(r->ev, (size_t)cap_ev, sizeof *r->ev);
        }
        RepEval *v = &r->ev[r->n_ev];
        if (!rc &&
            (need_num(o, "epoch", &v->epoch, where, e) || need_num(o, "acc_mean", &v->acc_mean, where, e) ||
             need_num(o, "acc_worst", &v->acc_worst, where, e) ||
             need_num(o, "acc_avg_model", &v->acc_avg_model, where, e)))
            rc = -1;
        v->index = (int)rep_num(o, "eval", r->n_ev);
        v->t_s = rep_num(o, "t_s", NAN);
        if (isnan(v->t_s)) r->has_time = 0;
        v->bytes = -1;
        json_decref(o);
        if (rc) break;
        r->n_ev++;
    }
    free(line);
    fclose(f);
    if (!r->n_ev) r->has_time = 0;
    if (!rc && !r->n_ev) str_copy(r->ev_note, sizeof r->ev_note, "evals.jsonl is empty");
    else if (!rc && !r->has_time)
        str_copy(r->ev_note, sizeof r->ev_note, "evals.jsonl has no t_s (made before it was recorded)");
    return rc;
}

// One agent's cumulative wire bytes sent (payload + framing over all peers) after each logged round,
// and for each of its evaluations the round and how many of those points precede it in the file: an
// evaluation comes after everything logged before it, including extra lines for the same round
// (older sc-sparse-push runs log their compensation rounds under the last training round).
typedef struct { double round, epoch, bytes; int done; } Pt;
typedef struct { double round, bytes; int pos; } EvalAt;   // bytes: from the eval line itself, else -1
typedef struct { Pt *p; int n, cap; EvalAt *ev; int n_ev, seen; } AgentLog;

static void pt_add(AgentLog *a, double round, double epoch, double bytes, int done) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->p = grow(a->p, (size_t)a->cap, sizeof *a->p);
    }
    a->p[a->n++] = (Pt){round, epoch, bytes, done};
}

static double sent_sum(json_t *o) {
    double sum = 0;
    const char *peer;
    json_t *c;
    json_object_foreach(json_object_get(o, "sent"), peer, c) sum += rep_num(c, "payload", 0) + rep_num(c, "framing", 0);
    return sum;
}

// Eval lines carry the index of the evals.jsonl line (older ones do not: then their order), and
// may carry the agent's own count (`bytes_wire`, or `sent` as in round lines), used as it is.
static void eval_add(AgentLog *a, json_t *o) {
    json_t *idx = json_object_get(o, "index");
    long index = json_is_integer(idx) ? (long)json_integer_value(idx) : a->seen;
    a->seen++;
    if (index < 0 || index > 1000000 || !json_is_number(json_object_get(o, "round"))) return;
    if (index >= a->n_ev) {
        int n = (int)index + 16;
        a->ev = grow(a->ev, (size_t)n, sizeof *a->ev);
        for (int i = a->n_ev; i < n; i++) a->ev[i] = (EvalAt){-1, -1, 0};
        a->n_ev = n;
    }
    double bytes = rep_num(o, "bytes_wire", json_object_get(o, "sent") ? sent_sum(o) : -1);
    a->ev[index] = (EvalAt){rep_num(o, "round", 0), bytes, a->n};
}

// 1 when the file is missing (bytes unknown), -1 on a malformed line.
static int agent_read(const char *dir, int i, AgentLog *a, Err *e) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/agent-%d.jsonl", dir, i);
    FILE *f = fopen(p, "r");
    if (!f) return 1;
    pt_add(a, 0, 0, 0, 0);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *type = rep_str(o, "type", NULL);
        if (!type) {
            err_set(e, "%s:%d: expected a JSON object with a \"type\" (%s)", p, lineno, o ? "none given" : je.text);
            rc = -1;
        } else if (!strcmp(type, "round")) {
            pt_add(a, rep_num(o, "round", 0), rep_num(o, "epoch", 0), sent_sum(o), 0);
        } else if (!strcmp(type, "eval")) {
            eval_add(a, o);
        } else if (!strcmp(type, "done")) {
            double rounds = rep_num(o, "rounds", -1), last = a->p[a->n - 1].round;
            if (rounds >= last)
                pt_add(a, rounds, a->p[a->n - 1].epoch, rep_num(o, "bytes_wire", a->p[a->n - 1].bytes), 1);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

// Bytes at round x for an evaluation line preceded by pos points in the file. Followed by nothing but
// the agent's totals, it is the final evaluation: everything the agent sent, it sent before it (the
// current code logs no round line for compensation or final consensus rounds). Otherwise the last
// point before it at or below x, then linear towards the next point, which may follow it in the file.
static double bytes_at(const AgentLog *a, double x, int pos) {
    if (pos == a->n - 1 && a->p[a->n - 1].done) return a->p[a->n - 1].bytes;
    int k = (pos < 1 ? 1 : pos > a->n ? a->n : pos) - 1;
    while (k > 0 && a->p[k].round > x) k--;
    const Pt *q = &a->p[k], *next = k + 1 < a->n ? &a->p[k + 1] : NULL;
    if (x <= q->round || !next || next->round <= q->round) return q->bytes;
    double t = (x - q->round) / (next->round - q->round);
    return q->bytes + (t > 1 ? 1 : t) * (next->bytes - q->bytes);
}

// By epoch, for an evaluation an agent has no line for: linear, held at the last value.
static double bytes_at_epoch(const AgentLog *a, double x) {
    for (int k = 1; k < a->n; k++)
        if (x <= a->p[k].epoch) {
            double x0 = a->p[k - 1].epoch, x1 = a->p[k].epoch;
            if (x1 <= x0) return a->p[k].bytes;
            double t = x < x0 ? 0 : (x - x0) / (x1 - x0);
            return a->p[k - 1].bytes + t * (a->p[k].bytes - a->p[k - 1].bytes);
        }
    return a->p[a->n - 1].bytes;
}

// Bytes on the wire at each evaluation: every agent's cumulative bytes at the round of its own line
// for that evaluation, summed over agents.
static int bytes_at_evals(RepRun *r, int agents, Err *e) {
    if (!r->n_ev || agents <= 0) return 0;
    for (int i = 0; i < agents; i++) {
        AgentLog a = {0};
        int rc = agent_read(r->dir, i, &a, e);
        if (rc == 1)
            snprintf(r->ev_note, sizeof r->ev_note, "agent-%d.jsonl is missing: bytes per evaluation unknown", i);
        for (int k = 0; !rc && k < r->n_ev; k++) {
            int idx = r->ev[k].index;
            const EvalAt *at = idx >= 0 && idx < a.n_ev && a.ev[idx].round >= 0 ? &a.ev[idx] : NULL;
            double b = at && at->bytes >= 0 ? at->bytes
                : at                        ? bytes_at(&a, at->round, at->pos)
                                            : bytes_at_epoch(&a, r->ev[k].epoch);
            r->ev[k].bytes = (i ? r->ev[k].bytes : 0) + b;
        }
        free(a.p);
        free(a.ev);
        if (rc) {
            for (int k = 0; k < r->n_ev; k++) r->ev[k].bytes = -1;
            return rc < 0 ? -1 : 0;
        }
    }
    r->has_bytes = 1;
    return 0;
}

int report_load(RepRun *r, Err *e) {
    status_read(r);
    Err ignore;
    r->scen = load_object(r->dir, "scenario.json", r->status == RUN_OK ? e : &ignore);
    str_copy(r->name, sizeof r->name, rep_str(r->scen, "name", "?"));
    if (r->status != RUN_OK) return 0;
    if (!r->scen) return -1;
    r->sum = load_object(r->dir, "summary.json", e);
    if (!r->sum) return -1;
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/summary.json", r->dir);
    json_t *s = r->sum;
    if (need_num(s, "acc_mean", &r->acc_mean, p, e) || need_num(s, "acc_worst", &r->acc_worst, p, e) ||
        need_num(s, "acc_avg_model", &r->acc_avg, p, e) || need_num(s, "bytes_wire", &r->bytes_wire, p, e) ||
        need_num(s, "seconds", &r->seconds, p, e) || need_num(s, "energy_j.compute", &r->e_compute, p, e) ||
        need_num(s, "energy_j.comm", &r->e_comm, p, e) || need_num(s, "energy_j.total", &r->e_total, p, e))
        return -1;
    r->finished_at = rep_num(s, "finished_at", 0);
    str_copy(r->git, sizeof r->git, rep_str(s, "git", "unknown"));
    str_copy(r->backend, sizeof r->backend, rep_str(s, "backend", rep_str(r->scen, "network.backend", "?")));
    str_copy(r->name, sizeof r->name, rep_str(s, "scenario", r->name));
    if (evals_read(r, e)) return -1;
    int agents = (int)rep_num(s, "agents", rep_num(r->scen, "agents", 0));
    return bytes_at_evals(r, agents, e);
}

void report_free(RepList *l) {
    for (int i = 0; i < l->n; i++) {
        json_decref(l->v[i].scen);
        json_decref(l->v[i].sum);
        free(l->v[i].ev);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
