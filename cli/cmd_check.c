// `meshtrain check`: the regression check on communication reduction. Finished runs are compared with
// committed references (results/baseline/<scenario>.json, written from real runs by --write-baseline):
// reduction against the dense baseline run, bytes on the wire, accuracy, each within a stated tolerance.
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "args.h"
#include "common.h"
#include "util.h"

static const char *USAGE =
    "meshtrain check RUN_DIR... --baseline DIR [--json]  |  meshtrain check --write-baseline DIR RUN_DIR... [--json]";

#define REF_FORMAT "meshtrain-baseline"
#define REF_VERSION 1
#define JSON_OUT (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

// How each metric may move before it is a regression: a relative floor (the reduction), a relative
// ceiling (bytes) or a floor in accuracy points. The defaults and why: docs/regression.md.
typedef enum { FLOOR_PCT, CEIL_PCT, FLOOR_POINTS } Bound;
static const struct {
    const char *name, *tol_key;
    Bound bound;
    double def, tol_max, lo, hi;   // default tolerance, its largest value, range of the reference value
} METRICS[] = {
    {"comm_reduction", "comm_reduction_pct", FLOOR_PCT, 10, 100, 1e-9, 1e12},
    {"bytes_wire", "bytes_wire_pct", CEIL_PCT, 10, 1000, 0, 1e18},
    {"acc_mean", "acc_mean_points", FLOOR_POINTS, 1.5, 100, 0, 1},
    {"acc_worst", "acc_worst_points", FLOOR_POINTS, 2.5, 100, 0, 1},
};
#define N_METRICS ((int)(sizeof METRICS / sizeof METRICS[0]))

typedef struct {
    const char *dir;
    json_t *scen, *sum;   // scenario.json, summary.json (NULL when the run did not finish)
    const char *name;     // the scenario's name
    long seed;
    char failed[700];     // why there is no summary
    int bad;              // unusable (already reported)
} RunIn;

typedef struct {
    int json, status;     // status: 0 pass, 1 a check failed, 2 bad input
    int quiet;            // collect errors without printing them
    json_t *rows, *errors;
} Ctx;

static void bad(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(Ctx *c, const char *fmt, ...) {
    char msg[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!c->quiet) fprintf(stderr, "meshtrain check: %s\n", msg);
    json_array_append_new(c->errors, json_string(msg));
    c->status = 2;
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

// A JSON object from PATH, or NULL after reporting which file and what was expected.
static json_t *object_load(Ctx *c, const char *path, const char *expected) {
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        if (je.line < 0) bad(c, "%s: cannot read: %s (expected %s)", path, je.text, expected);
        else bad(c, "%s:%d:%d: not valid JSON: %s (expected %s)", path, je.line, je.column, je.text, expected);
        return NULL;
    }
    if (!json_is_object(o)) {
        bad(c, "%s: found %s, expected %s", path, type_name(o), expected);
        json_decref(o);
        return NULL;
    }
    return o;
}

static double num(const json_t *o, const char *key) { return json_number_value(json_object_get(o, key)); }

// Whether every key of REF has the same value in RUN (numbers within 1e-9 relative, so a reference that
// went through a text round trip still matches). On a difference, where and what into out.
static int json_differs(const json_t *ref, const json_t *run, const char *path, char *out, size_t n) {
    if (json_is_object(ref) && json_is_object(run)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ref, k, v) {
            char sub[300];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
            if (json_differs(v, json_object_get(run, k), sub, out, n)) return 1;
        }
        return 0;
    }
    if (json_is_number(ref) && json_is_number(run)) {
        double a = json_number_value(ref), b = json_number_value(run);
        if (fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b))) return 0;
    } else if (run && json_equal((json_t *)ref, (json_t *)run)) {
        return 0;
    }
    char *a = json_dumps(ref, JSON_ENCODE_ANY | JSON_COMPACT),
         *b = run ? json_dumps(run, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    snprintf(out, n, "%s: reference %.200s, run %.200s", path, a ? a : "?", b ? b : "absent");
    free(a);
    free(b);
    return 1;
}

// What check needs from summary.json; a summary without fingerprint comes from an older meshtrain.
static int summary_valid(Ctx *c, const char *path, json_t *s) {
    static const struct { const char *key; json_type t; const char *what; } NEED[] = {
        {"scenario", JSON_STRING, "a string"}, {"seed", JSON_INTEGER, "an integer"},
        {"bytes_wire", JSON_INTEGER, "an integer"}, {"acc_mean", JSON_REAL, "a number"},
        {"acc_worst", JSON_REAL, "a number"}, {"fingerprint", JSON_OBJECT, "an object"},
    };
    for (size_t i = 0; i < sizeof NEED / sizeof NEED[0]; i++) {
        json_t *v = json_object_get(s, NEED[i].key);
        int ok = v && (NEED[i].t == JSON_REAL ? json_is_number(v) : json_typeof(v) == NEED[i].t);
        if (!ok) {
            bad(c, "%s: \"%s\" is %s, expected %s (the summary.json of meshtrain run, docs/metrics.md%s)", path,
                NEED[i].key, v ? type_name(v) : "missing", NEED[i].what,
                !strcmp(NEED[i].key, "fingerprint") ? "; older versions wrote none: run the scenario again" : "");
            return 0;
        }
    }
    return 1;
}

// One RUN_DIR: its scenario, and its summary or why it has none (FAILED, or never finished).
static void run_load(Ctx *c, RunIn *r) {
    struct stat st;
    char p[PATH_MAX + 32];
    int missing = stat(r->dir, &st) != 0;
    if (missing || !S_ISDIR(st.st_mode)) {
        bad(c, "%s: %s (expected a run folder written by meshtrain run)", r->dir,
            missing ? strerror(errno) : "not a folder");
        r->bad = 1;
        return;
    }
    snprintf(p, sizeof p, "%s/scenario.json", r->dir);
    if (access(p, F_OK)) {
        bad(c, "%s: not a run folder: no scenario.json (expected a folder written by meshtrain run)", r->dir);
        r->bad = 1;
        return;
    }
    if (!(r->scen = object_load(c, p, "the resolved scenario meshtrain run writes"))) { r->bad = 1; return; }
    r->name = json_string_value(json_object_get(r->scen, "name"));
    json_t *sd = json_array_get(json_object_get(r->scen, "seeds"), 0);
    r->seed = sd ? (long)json_integer_value(sd) : 1;
    if (!r->name) { bad(c, "%s: no \"name\" string (expected the scenario's name)", p); r->bad = 1; return; }
    snprintf(p, sizeof p, "%s/summary.json", r->dir);
    if (access(p, F_OK) == 0) {
        if (!(r->sum = object_load(c, p, "the summary.json meshtrain run writes (docs/metrics.md)")) ||
            !summary_valid(c, p, r->sum)) {
            r->bad = 1;
            return;
        }
        r->name = json_string_value(json_object_get(r->sum, "scenario"));
        r->seed = (long)json_integer_value(json_object_get(r->sum, "seed"));
        return;
    }
    snprintf(p, sizeof p, "%s/FAILED", r->dir);
    json_t *f = json_load_file(p, 0, NULL);
    const char *why = json_string_value(json_object_get(f, "reason"));
    if (f || access(p, F_OK) == 0)
        snprintf(r->failed, sizeof r->failed, "FAILED: %.600s", why ? why : "(no reason recorded)");
    else
        snprintf(r->failed, sizeof r->failed,
                 "did not finish: no summary.json and no FAILED (still running, or killed)");
    json_decref(f);
}

// The dense run's scenario name: from the summary the run compared against, else from the baseline
// the scenario named (a run folder, a summary.json, or a run name), else FALLBACK.
static void dense_name(const RunIn *r, const char *fallback, char *out, size_t n) {
    const char *bs = json_string_value(json_object_get(r->sum, "baseline_summary"));
    const char *given = json_string_value(json_object_get(r->sum, "baseline"));
    char p[PATH_MAX + 32] = "";
    struct stat st;
    if (bs) str_copy(p, sizeof p, bs);
    if (!bs && given && stat(given, &st) == 0)
        snprintf(p, sizeof p, S_ISDIR(st.st_mode) ? "%s/summary.json" : "%s", given);
    json_t *b = p[0] ? json_load_file(p, 0, NULL) : NULL;
    const char *nm = json_string_value(json_object_get(b, "scenario"));
    if (nm) str_copy(out, n, nm);
    else if (given && !strchr(given, '/') && stat(given, &st) != 0) str_copy(out, n, given);
    else str_copy(out, n, fallback ? fallback : "");
    json_decref(b);
}

// The run's communication reduction: its dense baseline's bytes_wire / its own when that baseline run
// (same scenario name and fingerprint) is among the RUN_DIRs, else the comm_reduction of its summary.
static int reduction_measure(RunIn *runs, int n, const RunIn *r, const char *fallback, double *out, char *how,
                             size_t hn, char *dname, size_t dn) {
    dname[0] = 0;
    if (!json_object_get(r->sum, "baseline")) {
        snprintf(how, hn, "the run names no baseline (scenario key \"baseline\")");
        return -1;
    }
    dense_name(r, fallback, dname, dn);
    char diff[8];
    double wire = num(r->sum, "bytes_wire");
    for (int i = 0; i < n && dname[0]; i++) {
        const RunIn *d = &runs[i];
        if (d == r || !d->sum || strcmp(d->name, dname) ||
            json_differs(json_object_get(d->sum, "fingerprint"), json_object_get(r->sum, "fingerprint"), "", diff,
                         sizeof diff))
            continue;
        if (num(d->sum, "bytes_wire") > 0 && wire > 0) {
            *out = num(d->sum, "bytes_wire") / wire;
            snprintf(how, hn, "bytes_wire of %s / this run's", d->dir);
            return 0;
        }
    }
    json_t *cr = json_object_get(r->sum, "comm_reduction");
    const char *bs = json_string_value(json_object_get(r->sum, "baseline_summary"));
    if (json_is_number(cr)) {
        *out = json_number_value(cr);
        snprintf(how, hn, "comm_reduction of summary.json (against %s)", bs ? bs : "its baseline");
        return 0;
    }
    const char *note = json_string_value(json_object_get(r->sum, "baseline_note"));
    snprintf(how, hn,
             "its summary.json has comm_reduction null (%.500s) and no finished run of '%s' with the same fingerprint "
             "is among the RUN_DIRs",
             note ? note : "no note", dname[0] ? dname : "its baseline");
    return -1;
}

// ---- reference files ----

static int tol_key_index(const char *k) {
    for (int i = 0; i < N_METRICS; i++) if (!strcmp(k, METRICS[i].tol_key)) return i;
    return -1;
}
static int metric_index(const char *k) {
    for (int i = 0; i < N_METRICS; i++) if (!strcmp(k, METRICS[i].name)) return i;
    return -1;
}

static int seed_entry_valid(Ctx *c, const char *path, const char *seed, json_t *e) {
    char *end;
    strtol(seed, &end, 10);
    if (!seed[0] || *end) {
        bad(c, "%s: seeds: key '%s' is not a seed (expected a decimal integer)", path, seed);
        return 0;
    }
    if (!json_is_object(e)) {
        bad(c, "%s: seeds.%s: found %s, expected an object of reference values", path, seed, type_name(e));
        return 0;
    }
    int metrics = 0;
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v) {
        int m = metric_index(k);
        if (m >= 0) {
            if (!json_is_number(v) || json_number_value(v) < METRICS[m].lo || json_number_value(v) > METRICS[m].hi) {
                bad(c, "%s: seeds.%s.%s: expected a number in %g..%g (same unit as in summary.json), found %s", path,
                    seed, k, METRICS[m].lo, METRICS[m].hi, type_name(v));
                return 0;
            }
            metrics++;
        } else if ((!strcmp(k, "fingerprint") || !strcmp(k, "source")) && !json_is_object(v)) {
            bad(c, "%s: seeds.%s.%s: found %s, expected an object", path, seed, k, type_name(v));
            return 0;
        } else if (strcmp(k, "fingerprint") && strcmp(k, "source")) {
            bad(c,
                "%s: seeds.%s: unknown key '%s' (expected comm_reduction, bytes_wire, acc_mean, acc_worst, "
                "fingerprint, source)",
                path, seed, k);
            return 0;
        }
    }
    if (!metrics) {
        bad(c,
            "%s: seeds.%s: no reference value (expected at least one of comm_reduction, bytes_wire, acc_mean, "
            "acc_worst)",
            path, seed);
        return 0;
    }
    return 1;
}

static int tolerances_valid(Ctx *c, const char *path, json_t *t) {
    if (!json_is_object(t)) { bad(c, "%s: tolerances: found %s, expected an object", path, type_name(t)); return 0; }
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) {
        int m = tol_key_index(k);
        if (m < 0) {
            bad(c,
                "%s: tolerances: unknown key '%s' (expected comm_reduction_pct, bytes_wire_pct, acc_mean_points, "
                "acc_worst_points)",
                path, k);
            return 0;
        }
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > METRICS[m].tol_max) {
            bad(c, "%s: tolerances.%s: expected a number in 0..%g, found %s", path, k, METRICS[m].tol_max,
                type_name(v));
            return 0;
        }
    }
    return 1;
}

// A reference file: the format and version, the scenario it is named for, its tolerances and per-seed values.
static int ref_valid(Ctx *c, const char *path, json_t *o, const char *name) {
    const char *fmt = json_string_value(json_object_get(o, "format")),
               *sc = json_string_value(json_object_get(o, "scenario"));
    json_t *ver = json_object_get(o, "version"), *seeds = json_object_get(o, "seeds"),
           *t = json_object_get(o, "tolerances");
    if (!fmt || strcmp(fmt, REF_FORMAT) || !json_is_integer(ver) || json_integer_value(ver) != REF_VERSION) {
        bad(c,
            "%s: expected \"format\": \"%s\" and \"version\": %d (a reference written by meshtrain check "
            "--write-baseline)",
            path, REF_FORMAT, REF_VERSION);
        return 0;
    }
    if (!sc || strcmp(sc, name)) {
        bad(c, "%s: \"scenario\" is '%s', expected '%s' (the file is named for its scenario)", path,
            sc ? sc : "missing", name);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        static const char *const KEYS[] = {"format",    "version",           "scenario",   "note",
                                           "algorithm", "baseline_scenario", "tolerances", "seeds"};
        int known = 0;
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) known |= !strcmp(k, KEYS[i]);
        if (!known) {
            bad(c,
                "%s: unknown key '%s' (expected format, version, scenario, note, algorithm, baseline_scenario, "
                "tolerances, seeds)",
                path, k);
            return 0;
        }
    }
    if (json_object_get(o, "algorithm") && !json_is_object(json_object_get(o, "algorithm"))) {
        bad(c, "%s: algorithm: expected an object", path);
        return 0;
    }
    if (json_object_get(o, "baseline_scenario") && !json_is_string(json_object_get(o, "baseline_scenario"))) {
        bad(c, "%s: baseline_scenario: expected a string", path);
        return 0;
    }
    if (t && !tolerances_valid(c, path, t)) return 0;
    if (!json_is_object(seeds) || !json_object_size(seeds)) {
        bad(c, "%s: seeds: found %s, expected an object with one entry per seed (\"1\": {...})", path,
            seeds ? type_name(seeds) : "nothing");
        return 0;
    }
    json_object_foreach(seeds, k, v) if (!seed_entry_valid(c, path, k, v)) return 0;
    return 1;
}

static int name_safe(const char *s) { return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

static double tolerance(json_t *ref, int m) {
    json_t *v = json_object_get(json_object_get(ref, "tolerances"), METRICS[m].tol_key);
    return json_is_number(v) ? json_number_value(v) : METRICS[m].def;
}

// ---- the check ----

static void fmt_value(int m, double v, char *buf, size_t n) {
    if (isnan(v)) snprintf(buf, n, "-");
    else if (METRICS[m].bound == FLOOR_POINTS) snprintf(buf, n, "%.2f%%", 100 * v);
    else if (METRICS[m].bound == CEIL_PCT) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.2fx", v);
}

static void row_add(Ctx *c, const RunIn *r, int m, double ref, double tol, double got, const char *note) {
    double limit, better;
    const char *unit = METRICS[m].bound == FLOOR_POINTS ? "points" : "pct";
    if (METRICS[m].bound == FLOOR_PCT) { limit = ref * (1 - tol / 100); better = ref * (1 + tol / 100); }
    else if (METRICS[m].bound == CEIL_PCT) { limit = ref * (1 + tol / 100); better = ref * (1 - tol / 100); }
    else { limit = ref - tol / 100; better = ref + tol / 100; }
    int ceil = METRICS[m].bound == CEIL_PCT;
    const char *verdict = isnan(got)           ? "FAIL"
        : (ceil ? got > limit : got < limit)   ? "FAIL"
        : (ceil ? got < better : got > better) ? "better"
                                               : "pass";
    if (!strcmp(verdict, "FAIL") && c->status < 1) c->status = 1;
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:f, s:o, s:f, s:s, s:f, s:s, s:s}", "run", r->name, "run_dir", r->dir,
                          "seed", (json_int_t)r->seed, "metric", METRICS[m].name, "reference", ref, "measured",
                          isnan(got) ? json_null() : json_real(got), "tolerance", tol, "tolerance_unit", unit, "limit",
                          limit, "verdict", verdict, "note", note ? note : "");
    json_array_append_new(c->rows, o);
}

static void row_failed_run(Ctx *c, const RunIn *r) {
    if (c->status < 1) c->status = 1;
    json_array_append_new(c->rows,
                          json_pack("{s:s, s:s, s:I, s:s, s:n, s:n, s:n, s:s, s:n, s:s, s:s}", "run", r->name,
                                    "run_dir", r->dir, "seed", (json_int_t)r->seed, "metric", "finished", "reference",
                                    "measured", "tolerance", "tolerance_unit", "", "limit", "verdict", "FAIL", "note",
                                    r->failed));
}

// One finished run against its reference entry: the settings must match, then each metric the entry holds.
static void run_check(Ctx *c, RunIn *runs, int n, RunIn *r, json_t *ref, const char *path) {
    char seed[32], diff[600];
    snprintf(seed, sizeof seed, "%ld", r->seed);
    json_t *e = json_object_get(json_object_get(ref, "seeds"), seed);
    if (!e) {
        bad(c, "%s: %s has no reference for seed %ld (write one with --write-baseline from a run with that seed)",
            r->dir, path, r->seed);
        return;
    }
    json_t *fp = json_object_get(e, "fingerprint"), *alg = json_object_get(ref, "algorithm");
    if ((fp && json_differs(fp, json_object_get(r->sum, "fingerprint"), "fingerprint", diff, sizeof diff)) ||
        (alg && json_differs(alg, json_object_get(r->scen, "algorithm"), "algorithm", diff, sizeof diff))) {
        bad(c,
            "%s: run with other settings than its reference %s (%s): run the scenario as the reference was, or write a "
            "new reference",
            r->dir, path, diff);
        return;
    }
    for (int m = 0; m < N_METRICS; m++) {
        json_t *rv = json_object_get(e, METRICS[m].name);
        if (!rv) continue;
        double got = NAN;
        char how[1600] = "", dname[256];
        if (m == 0) {
            const char *fb = json_string_value(json_object_get(ref, "baseline_scenario"));
            if (reduction_measure(runs, n, r, fb, &got, how, sizeof how, dname, sizeof dname)) got = NAN;
        } else {
            got = num(r->sum, METRICS[m].name);
        }
        row_add(c, r, m, json_number_value(rv), tolerance(ref, m), got, how);
    }
}

static void table_print(Ctx *c, const char *dir, int n_runs) {
    size_t i, w = 3;
    json_t *row;
    json_array_foreach(c->rows, i, row) if (strlen(json_string_value(json_object_get(row, "run"))) > w) w =
        strlen(json_string_value(json_object_get(row, "run")));
    if (json_array_size(c->rows))
        printf("%-*s  %-14s  %12s  %12s  %-24s  %s\n", (int)w, "run", "metric", "reference", "measured", "tolerance",
               "verdict");
    int fails = 0, checks = 0;
    json_array_foreach(c->rows, i, row) {
        const char *metric = json_string_value(json_object_get(row, "metric")),
                   *verdict = json_string_value(json_object_get(row, "verdict"));
        const char *note = json_string_value(json_object_get(row, "note"));
        int m = metric_index(metric);
        char ref[40] = "-", got[40] = "-", tol[64] = "", lim[40];
        if (m >= 0) {
            double t = num(row, "tolerance");
            fmt_value(m, num(row, "reference"), ref, sizeof ref);
            fmt_value(m, json_is_null(json_object_get(row, "measured")) ? NAN : num(row, "measured"), got, sizeof got);
            fmt_value(m, num(row, "limit"), lim, sizeof lim);
            if (METRICS[m].bound == FLOOR_POINTS) snprintf(tol, sizeof tol, "-%g pt (min %s)", t, lim);
            else
                snprintf(tol, sizeof tol, "%s%g%% (%s %s)", METRICS[m].bound == CEIL_PCT ? "+" : "-", t,
                         METRICS[m].bound == CEIL_PCT ? "max" : "min", lim);
        } else {
            snprintf(ref, sizeof ref, "finished");
            snprintf(got, sizeof got, "no summary");
        }
        printf("%-*s  %-14s  %12s  %12s  %-24s  %s\n", (int)w, json_string_value(json_object_get(row, "run")), metric,
               ref, got, tol, verdict);
        if (note[0] && (m <= 0 || !strcmp(verdict, "FAIL"))) printf("%-*s    %s\n", (int)w, "", note);
        checks++;
        fails += !strcmp(verdict, "FAIL");
    }
    if (fails) {
        printf("REGRESSION: %d of %d checks failed against %s:", fails, checks, dir);
        const char *sep = " ";
        json_array_foreach(c->rows, i, row) if (!strcmp(json_string_value(json_object_get(row, "verdict")), "FAIL")) {
            printf("%s%s %s", sep, json_string_value(json_object_get(row, "run")),
                   json_string_value(json_object_get(row, "metric")));
            sep = ", ";
        }
        printf("\n");
    } else if (c->status != 2) {
        printf("pass: %d run%s, %d checks within tolerance of %s\n", n_runs, n_runs == 1 ? "" : "s", checks, dir);
    }
    size_t k = json_array_size(c->errors);
    if (c->status == 2) printf("bad input: %zu problem%s (on stderr); the check is incomplete\n", k, k == 1 ? "" : "s");
}

static int check_runs(Ctx *c, const char *dir, RunIn *runs, int n) {
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        bad(c, "--baseline %s: no such folder (expected the folder of reference files, e.g. results/baseline)", dir);
        return 2;
    }
    json_t *refs = json_object();   // scenario name -> reference (null when unusable, reported once)
    for (int i = 0; i < n; i++) {
        RunIn *r = &runs[i];
        if (r->bad) continue;
        if (!r->sum) { row_failed_run(c, r); continue; }
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s.json", dir, r->name);
        if (!json_object_get(refs, r->name)) {
            json_t *ref = NULL;
            if (!name_safe(r->name)) bad(c, "%s: scenario name '%s' cannot name a reference file", r->dir, r->name);
            else if (access(path, F_OK))
                bad(c,
                    "%s: no reference for scenario '%s': %s does not exist (write it with: meshtrain check "
                    "--write-baseline %s RUN_DIR...)",
                    r->dir, r->name, path, dir);
            else if ((ref = object_load(
                          c, path,
                          "a reference object written by meshtrain check --write-baseline (docs/regression.md)")) &&
                     !ref_valid(c, path, ref, r->name)) {
                json_decref(ref);
                ref = NULL;
            }
            json_object_set_new(refs, r->name, ref ? ref : json_null());
        }
        json_t *ref = json_object_get(refs, r->name);
        if (json_is_object(ref)) run_check(c, runs, n, r, ref, path);
    }
    json_decref(refs);
    return c->status;
}

// ---- writing references ----

static int mkdir_p(const char *dir, Err *e) {
    char p[PATH_MAX];
    if (str_copy(p, sizeof p, dir)) { err_set(e, "%s: path too long", dir); return -1; }
    for (char *s = p + 1; ; s++) {
        if (*s && *s != '/') continue;
        char keep = *s;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) { err_set(e, "%s: cannot create: %s", p, strerror(errno)); return -1; }
        if (!(*s = keep)) break;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) { err_set(e, "%s: not a folder", dir); return -1; }
    return 0;
}

// The reference file being replaced, when it is a valid one: its tolerances and note were set by hand,
// on purpose, and are kept. A file that is not a valid reference is replaced whole, with a warning.
static json_t *ref_old(const char *path, const char *name) {
    if (access(path, F_OK)) return NULL;
    Ctx quiet = {0, 0, 1, json_array(), json_array()};
    json_t *o = json_load_file(path, 0, NULL);
    if (!json_is_object(o) || !ref_valid(&quiet, path, o, name)) {
        const char *why = json_string_value(json_array_get(quiet.errors, 0));
        fprintf(stderr,
                "meshtrain check: warning: replacing %s, which is not a valid reference (%s); its tolerances are not "
                "kept\n",
                path, why ? why : "not a JSON object");
        json_decref(o);
        o = NULL;
    }
    json_decref(quiet.rows);
    json_decref(quiet.errors);
    return o;
}

// One seed's reference values from a finished run, or NULL after reporting why it cannot be one.
static json_t *seed_entry(Ctx *c, RunIn *runs, int n, const RunIn *r, char *dname, size_t dn) {
    json_t *e = json_object();
    json_object_set(e, "fingerprint", json_object_get(r->sum, "fingerprint"));
    char how[1600] = "";
    dname[0] = 0;
    if (json_object_get(r->sum, "baseline")) {
        double red;
        if (reduction_measure(runs, n, r, NULL, &red, how, sizeof how, dname, dn)) {
            bad(c,
                "%s: the scenario names baseline '%s' but the reduction cannot be measured: %s (pass the baseline's "
                "run folder too)",
                r->dir, json_string_value(json_object_get(r->sum, "baseline")), how);
            json_decref(e);
            return NULL;
        }
        json_object_set_new(e, "comm_reduction", json_real(red));
    }
    for (int m = 1; m < N_METRICS; m++) json_object_set(e, METRICS[m].name, json_object_get(r->sum, METRICS[m].name));
    const char *git = json_string_value(json_object_get(r->sum, "git"));
    if (git && strstr(git, "-dirty"))
        fprintf(stderr,
                "meshtrain check: warning: %s was built from a changed tree (%s): commit first, so the reference names "
                "the code that produced it\n",
                r->dir, git);
    json_t *src = json_pack("{s:s, s:s?, s:O?, s:s}", "run_dir", r->dir, "git", git, "finished_at",
                            json_object_get(r->sum, "finished_at"), "written_by", meshtrain_git);
    if (how[0]) json_object_set_new(src, "comm_reduction_from", json_string(how));
    json_object_set_new(e, "source", src);
    return e;
}

// The reference file of scenario NAME from every run of it among RUN_DIRs (one entry per seed).
static json_t *ref_build(Ctx *c, const char *path, RunIn *runs, int n, const char *name) {
    json_t *old = ref_old(path, name), *tol = json_object(), *seeds = json_object(), *alg = NULL;
    json_t *o = json_pack("{s:s, s:i, s:s}", "format", REF_FORMAT, "version", REF_VERSION, "scenario", name);
    if (json_is_string(json_object_get(old, "note"))) json_object_set(o, "note", json_object_get(old, "note"));
    for (int i = 0; i < n; i++) {
        RunIn *r = &runs[i];
        if (r->bad || strcmp(r->name, name)) continue;
        char seed[32], dname[256], diff[600];
        snprintf(seed, sizeof seed, "%ld", r->seed);
        if (!r->sum) { bad(c, "%s: %s; a reference is written from finished runs only", r->dir, r->failed); continue; }
        if (json_object_get(seeds, seed)) {
            bad(c, "%s: a second run of '%s' with seed %ld among the RUN_DIRs (give one run per scenario and seed)",
                r->dir, name, r->seed);
            continue;
        }
        json_t *a = json_object_get(r->scen, "algorithm");
        if (alg && json_differs(alg, a, "algorithm", diff, sizeof diff)) {
            bad(c, "%s: runs of '%s' with different settings (%s)", r->dir, name, diff);
            continue;
        }
        if (!alg) alg = a;
        json_t *e = seed_entry(c, runs, n, r, dname, sizeof dname);
        if (!e) continue;
        json_object_set_new(seeds, seed, e);
        if (dname[0] && !json_object_get(o, "baseline_scenario"))
            json_object_set_new(o, "baseline_scenario", json_string(dname));
    }
    if (alg) json_object_set(o, "algorithm", alg);
    for (int m = 0; m < N_METRICS; m++) {   // written out, so the file says what it demands
        json_t *v = json_object_get(json_object_get(old, "tolerances"), METRICS[m].tol_key);
        json_object_set_new(tol, METRICS[m].tol_key,
                            json_real(json_is_number(v) ? json_number_value(v) : METRICS[m].def));
    }
    json_object_set_new(o, "tolerances", tol);
    json_object_set_new(o, "seeds", seeds);
    json_decref(old);
    return o;
}

static int write_baseline(Ctx *c, const char *dir, RunIn *runs, int n) {
    json_t *files = json_object();   // path -> reference
    for (int i = 0; i < n; i++) {
        RunIn *r = &runs[i];
        if (r->bad) continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s.json", dir, r->name);
        if (!name_safe(r->name)) {
            bad(c, "%s: scenario name '%s' cannot name a reference file", r->dir, r->name);
            continue;
        }
        if (!json_object_get(files, path)) json_object_set_new(files, path, ref_build(c, path, runs, n, r->name));
    }
    Err e = {{0}};
    if (c->status == 0 && mkdir_p(dir, &e)) bad(c, "--write-baseline %s", e.msg);
    if (c->status) fprintf(stderr, "meshtrain check: nothing written\n");
    json_t *written = json_array();
    const char *path;
    json_t *o;
    if (!c->status) json_object_foreach(files, path, o) {
        char *body = json_dumps(o, JSON_OUT);
        size_t len = strlen(body);
        char *t = xmalloc(len + 2);
        memcpy(t, body, len);
        t[len] = '\n';
        if (file_write_atomic(path, t, len + 1, &e)) bad(c, "%s", e.msg);
        else json_array_append_new(written, json_string(path));
        free(body);
        free(t);
        if (!c->json && !c->status)
            printf("wrote %s (%zu seed%s)\n", path, json_object_size(json_object_get(o, "seeds")),
                   json_object_size(json_object_get(o, "seeds")) == 1 ? "" : "s");
    }
    if (c->json) {
        json_t *res = json_pack("{s:s, s:o, s:O}", "baseline", dir, "written", written, "errors", c->errors);
        char *s = json_dumps(res, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(res);
    } else {
        json_decref(written);
    }
    json_decref(files);
    return c->status ? 2 : 0;
}

static void help(void) {
    printf("usage: %s\n\n"
           "Regression check on communication reduction: each finished run is compared with the committed\n"
           "reference of its scenario (DIR/<scenario>.json, the entry for its seed; same fingerprint and algorithm\n"
           "settings required): comm_reduction against its dense baseline run, bytes_wire, acc_mean, acc_worst.\n\n"
           "  --baseline DIR        the folder of reference files (e.g. results/baseline)\n"
           "  --write-baseline DIR  write DIR/<scenario>.json from the given runs instead (atomically; tolerances\n"
           "                        already in a file being replaced are kept)\n"
           "  --json                print the result as one JSON object on stdout\n\n"
           "The reduction is the dense run's bytes_wire / this run's when the dense run (the scenario's baseline,\n"
           "same fingerprint) is among the RUN_DIRs, else comm_reduction from summary.json. Default tolerances\n"
           "(a reference file may override them): reduction >= ref - 10%%, bytes_wire <= ref + 10%%, acc_mean\n"
           ">= ref - 1.5 points, acc_worst >= ref - 2.5 points. A run without summary.json fails the check.\n"
           "File format and reasons: docs/regression.md.\n\n"
           "Exit status: 0 every check passed, 1 a regression or a failed run, 2 bad input (missing folder,\n"
           "no matching reference, malformed JSON, a run with other settings than its reference).\n", USAGE);
}

int cmd_check(int argc, char **argv) {
    Args a;
    char **flags = xcalloc((size_t)argc + 1, sizeof *flags);
    RunIn *runs = xcalloc((size_t)argc + 1, sizeof *runs);
    int nf = 0, n = 0;
    for (int i = 0; i < argc; i++) {   // RUN_DIRs are the words that are neither flags nor a flag's value
        int value = i > 0 && (!strcmp(argv[i - 1], "--baseline") || !strcmp(argv[i - 1], "--write-baseline"));
        if (argv[i][0] != '-' && !value) runs[n++].dir = argv[i];
        else flags[nf++] = argv[i];
    }
    args_init(&a, "check", USAGE, nf, flags);
    const char *base = NULL, *write = NULL;
    Ctx c = {0, 0, 0, json_array(), json_array()};
    while (args_next(&a)) {
        if (is_help(a.flag)) { help(); return 0; }
        else if (args_is(&a, "--baseline")) base = args_str(&a);
        else if (args_is(&a, "--write-baseline")) write = args_str(&a);
        else if (args_is(&a, "--json")) { args_no_value(&a); c.json = 1; }
        else args_unknown(&a);
    }
    if (base && write) {
        a.flag = "--write-baseline";
        args_fail(&a, "--baseline and --write-baseline exclude each other");
    }
    if (!base && !write) { a.flag = "--baseline"; args_fail(&a, "missing --baseline DIR (or --write-baseline DIR)"); }
    if (!n) { a.flag = "RUN_DIR"; args_fail(&a, "missing RUN_DIR (one or more run folders)"); }
    for (int i = 0; i < n; i++) run_load(&c, &runs[i]);
    int st = write ? write_baseline(&c, write, runs, n) : check_runs(&c, base, runs, n);
    if (!write) {
        if (c.json) {
            static const char *const WORD[] = {"pass", "regression", "bad input"};
            json_t *res = json_pack("{s:s, s:i, s:s, s:O, s:O}", "status", WORD[st], "exit", st, "baseline", base,
                                    "checks", c.rows, "errors", c.errors);
            char *s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(10));
            printf("%s\n", s);
            free(s);
            json_decref(res);
        } else {
            table_print(&c, base, n);
        }
    }
    for (int i = 0; i < n; i++) { json_decref(runs[i].scen); json_decref(runs[i].sum); }
    json_decref(c.rows);
    json_decref(c.errors);
    free(runs);
    free(flags);
    return st;
}
