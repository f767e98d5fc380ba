// Sweeps: a scenario with "sweep": [{...}, ...] (or several seeds) is one run per entry and seed,
// each the deep merge of the entry over the base, all validated before the first starts. Runs land in
// ROOT/<name>-seed<s>/; running the sweep again skips the finished ones (resume). The folder is locked.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "run.h"

typedef struct {
    char name[64];
    long seed;
    char *text;
    char dir[1200];
    int status, started;
    char baseline[128];
} SweepRun;

int override_apply(json_t *root, const char *set, Err *e) {
    const char *eq = strchr(set, '=');
    char shown[300];
    str_printable(shown, sizeof shown, set);
    if (!eq || eq == set) { err_set(e, "--set '%s': expected KEY=VALUE", shown); return -1; }
    // JSON holds UTF-8 only: such a value would be dropped on the floor, and the run would use the file's.
    if (!utf8_valid(set)) { err_set(e, "--set '%s': not valid UTF-8 (expected KEY=VALUE in UTF-8)", shown); return -1; }
    char key[256];
    if ((size_t)(eq - set) >= sizeof key) {
        err_set(e, "--set '%.60s...': key too long (at most 255 bytes)", shown);
        return -1;
    }
    memcpy(key, set, (size_t)(eq - set));
    key[eq - set] = 0;
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!v) v = json_string(eq + 1);
    json_t *o = root;
    char *save = NULL, *tok = strtok_r(key, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        if (!next) {
            if (json_object_set_new(o, tok, v)) { err_set(e, "--set '%s': cannot set '%s'", shown, tok); return -1; }
            return 0;
        }
        json_t *child = json_object_get(o, tok);
        if (!child) { child = json_object(); json_object_set_new(o, tok, child); }
        if (!json_is_object(child)) {
            err_set(e, "--set '%s': '%s' is not an object", shown, tok);
            json_decref(v);
            return -1;
        }
        o = child;
        tok = next;
    }
    json_decref(v);
    err_set(e, "--set '%s': empty key", shown);
    return -1;
}

// ---- resume: what each run's folder holds ----
// A resume deletes only the files of a run that marked itself FAILED (or left nothing of value); anything else
// unfinished is set aside under ROOT/.set-aside/, and a complete summary a killed runner did not get to rename
// is put in place. A finished run is kept only if it ran the settings the sweep would use now.

typedef enum {
    RESUME_ABSENT,       // no folder: to run
    RESUME_DONE,         // summary.json: finished
    RESUME_SUMMARY_TMP,  // finished, but the runner was killed before renaming its complete summary temp file
    RESUME_REDO,         // marked FAILED (or nothing of value): its own files are removed, then it runs again
    RESUME_SET_ASIDE,    // unfinished without FAILED, or with files of other origin: moved aside, then run again
} ResumeState;

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

// A file a run writes itself (and so one a resume may delete): see docs/metrics.md.
static int name_is_runs_own(const char *name) {
    static const char *const FILES[] = {".lock", "scenario.json", "evals.jsonl", "network.jsonl", "FAILED", NULL};
    for (const char *const *f = FILES; *f; f++) if (!strcmp(name, *f)) return 1;
    int i, len = 0;
    if (sscanf(name, "agent-%d.jsonl%n", &i, &len) == 1 && len == (int)strlen(name)) return 1;
    // temp files of the atomic writes of FAILED and scenario.json, left by a kill before the rename
    return starts(name, "FAILED.tmp.") || starts(name, "scenario.json.tmp.");
}

// A summary temp file whose writer was killed after writing all of it (fingerprint is the last key).
static int summary_tmp_complete(const char *dir, const char *name) {
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    json_t *o = json_load_file(p, 0, NULL);
    int ok = json_is_object(o) && json_object_get(o, "fingerprint") && json_object_get(o, "acc_mean");
    json_decref(o);
    return ok;
}

// What a resume finds in dir; tmp[n] receives the complete summary temp file's name (RESUME_SUMMARY_TMP).
static ResumeState run_dir_inspect(const char *dir, char *tmp, size_t n) {
    struct stat st;
    char p[1400];
    if (stat(dir, &st)) return RESUME_ABSENT;
    snprintf(p, sizeof p, "%s/summary.json", dir);
    if (access(p, F_OK) == 0) return RESUME_DONE;
    DIR *d = opendir(dir);
    if (!d) return RESUME_SET_ASIDE;
    struct dirent *de;
    int odd = 0, failed = 0, work = 0;
    tmp[0] = 0;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
        if (starts(nm, "summary.json.tmp.") && summary_tmp_complete(dir, nm)) str_copy(tmp, n, nm);
        else if (!name_is_runs_own(nm)) odd = 1;
        failed |= !strcmp(nm, "FAILED");
        work |= starts(nm, "agent-") || !strcmp(nm, "evals.jsonl");
    }
    closedir(d);
    if (tmp[0]) return RESUME_SUMMARY_TMP;
    if (odd) return RESUME_SET_ASIDE;
    // Killed without a word (no FAILED) after the agents had started: its metrics may be all there is; keep them.
    return failed || !work ? RESUME_REDO : RESUME_SET_ASIDE;
}

// Every changed key between the finished run's scenario and now: "epochs 15 -> 2; ...".
static void json_diff(json_t *was, json_t *now, const char *path, char *out, size_t n) {
    if (json_is_object(was) && json_is_object(now)) {
        const char *k;
        json_t *v;
        char sub[300];
        json_object_foreach(was, k, v) {
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
            json_diff(v, json_object_get(now, k), sub, out, n);
        }
        json_object_foreach(now, k, v) {
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
            if (!json_object_get(was, k)) json_diff(NULL, v, sub, out, n);
        }
        return;
    }
    if (json_equal(was, now)) return;
    char *a = was ? json_dumps(was, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *b = now ? json_dumps(now, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    size_t len = strlen(out);
    snprintf(out + len, n - len, "%s%s %.40s -> %.40s", len ? "; " : "", path, a ? a : "(absent)", b ? b : "(absent)");
    free(a);
    free(b);
}

// 0 if the finished run in dir ran the scenario `text` (of the sweep file path) would resolve to now; else -1
// and e naming the run, each changed key (old -> new) and how to start afresh.
static int run_settings_check(const char *dir, const char *path, const char *text, Err *e) {
    char p[1400], diff[1024] = "";
    snprintf(p, sizeof p, "%s/scenario.json", dir);
    Scenario sc;
    Err in = {{0}};
    if (scenario_load(&sc, path, text, &in)) { err_set(e, "%s", in.msg); return -1; }
    char *dumped = scenario_dump(&sc);
    scenario_free(&sc);
    json_t *now = dumped ? json_loads(dumped, 0, NULL) : NULL, *was = json_load_file(p, 0, NULL);
    free(dumped);
    if (!was) snprintf(diff, sizeof diff, "%.600s is missing or unreadable, so nothing shows what it ran", p);
    else json_diff(was, now, "", diff, sizeof diff);
    json_decref(was);
    json_decref(now);
    if (!diff[0]) return 0;
    err_set(e, "%s finished with other settings than this sweep would run it with now (%.700s). A resume keeps "
            "finished runs only when nothing changed: for the new settings give a new --out (or move that run "
            "away); to resume, use the settings it ran with", dir, diff);
    return -1;
}

// Remove a run's own files (run_dir_inspect found nothing else) and its folder.
static int run_dir_remove(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1400];
    while (d && (de = readdir(d))) {
        if (!name_is_runs_own(de->d_name)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    return rmdir(dir);
}

// Move an unfinished run's folder to ROOT/.set-aside/NAME.K (hidden from reports, kept for the user).
static int run_dir_set_aside(const char *root, const char *dir, char *to, size_t n, Err *e) {
    char aside[1100];
    snprintf(aside, sizeof aside, "%s/.set-aside", root);
    if (mkdir(aside, 0755) && errno != EEXIST) {
        err_set(e, "%s: cannot create: %s", aside, strerror(errno));
        return -1;
    }
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    for (int k = 1; k < 1000; k++) {
        snprintf(to, n, "%s/%s.%d", aside, base, k);
        if (access(to, F_OK) == 0) continue;
        if (rename(dir, to) == 0) return 0;
        break;
    }
    err_set(e, "%s: cannot move it to %s: %s", dir, aside, strerror(errno));
    return -1;
}

// Clear the way for the run in dir (under the sweep folder root), saying on f what was done. 0, or -1 and e.
static int run_dir_settle(const char *root, const char *dir, ResumeState st, const char *tmp, FILE *f, Err *e) {
    if (st == RESUME_ABSENT || st == RESUME_DONE) return 0;
    // An orphaned runner of an earlier sweep may still be writing here: its lock says so.
    int fd = dir_lock(dir, "sweep run folder", e);
    if (fd < 0) return -1;
    int rc = 0;
    char from[1400], to[1400];
    if (st == RESUME_SUMMARY_TMP) {
        snprintf(from, sizeof from, "%s/%s", dir, tmp);
        snprintf(to, sizeof to, "%s/summary.json", dir);
        rc = rename(from, to);
        if (rc) err_set(e, "%s: cannot rename it to summary.json: %s", from, strerror(errno));
        else fprintf(f, "  %s: finished; its runner was stopped before renaming %s, now summary.json\n", dir, tmp);
    } else if (st == RESUME_SET_ASIDE) {
        rc = run_dir_set_aside(root, dir, to, sizeof to, e);
        if (!rc) fprintf(f, "  %s: unfinished, not marked FAILED: moved to %s (kept), to run again\n", dir, to);
    } else if ((rc = run_dir_remove(dir))) {
        err_set(e, "%s: cannot remove the failed run's folder: %s", dir, strerror(errno));
    }
    close(fd);
    return rc;
}

static volatile sig_atomic_t sweep_interrupted;
static void sweep_on_signal(int sig) { sweep_interrupted = sig; }

// Validate one run of the plan (one entry, one seed) and add it. 0, or -1 and e ("FILE: sweep[i]: key: ...").
static int sweep_add(SweepRun **runs, size_t *n, size_t *cap, json_t *one, const char *path, const char *where,
                     Err *e) {
    // Its copy lives in the sweep folder: relative paths must already point where the scenario meant.
    if (scenario_paths_resolve(one, path, e)) return -1;
    char *text = json_dumps(one, JSON_COMPACT);
    Scenario sc;
    Err in = {{0}};
    if (!text) { err_set(e, "%s: %s: cannot encode the run's scenario as JSON", path, where); return -1; }
    if (scenario_load(&sc, path, text, &in)) {
        // "FILE: key: ..." -> "FILE: sweep[i]: key: ..."
        const char *rest = strncmp(in.msg, path, strlen(path)) ? in.msg : in.msg + strlen(path) + 2;
        err_set(e, "%s: %s%s%.400s", path, where, where[0] ? ": " : "", rest);
        free(text);
        return -1;
    }
    for (size_t p = 0; p < *n; p++)
        if (!strcmp((*runs)[p].name, sc.name) && (*runs)[p].seed == (long)sc.seed) {
            err_set(e, "%s: %s: name '%s' with seed %ld is already another run of this sweep (give each entry its "
                    "own name)", path, where, sc.name, (long)sc.seed);
            scenario_free(&sc);
            free(text);
            return -1;
        }
    if (*n == *cap) { *cap *= 2; *runs = realloc(*runs, *cap * sizeof **runs); if (!*runs) abort(); }
    SweepRun *r = &(*runs)[(*n)++];
    memset(r, 0, sizeof *r);
    str_copy(r->name, sizeof r->name, sc.name);
    str_copy(r->baseline, sizeof r->baseline, sc.baseline);
    r->seed = (long)sc.seed;
    r->text = text;
    scenario_free(&sc);
    return 0;
}

// One entry of the sweep (NULL: the base alone), with the --set overrides, one run per seed. 0, or -1 and e.
static int sweep_entry_add(SweepRun **runs, size_t *n, size_t *cap, json_t *base, json_t *entry, size_t index,
                           char **sets, int n_sets, const char *path, Err *e) {
    char where[64] = "";
    if (entry) snprintf(where, sizeof where, "sweep[%zu]", index);
    json_t *m = json_deep_copy(base);
    const char *base_name = json_string_value(json_object_get(base, "name"));
    if (entry) json_object_update_recursive(m, entry);
    if (entry && !json_object_get(entry, "name") && base_name) {
        char nm[64];
        snprintf(nm, sizeof nm, "%.50s-%zu", base_name, index);
        json_object_set_new(m, "name", json_string(nm));
    }
    int rc = 0;
    for (int s = 0; s < n_sets && !rc; s++) if (override_apply(m, sets[s], e)) rc = -1;
    // Seeds are counted after the overrides: --set seeds=[1,2] plans two runs, as the same key in the file does.
    json_t *sd = json_object_get(m, "seeds");
    size_t n_seeds = json_is_array(sd) && json_array_size(sd) > 0 ? json_array_size(sd) : 1;
    for (size_t q = 0; q < n_seeds && !rc; q++) {
        json_t *one = json_deep_copy(m);
        json_t *sv = json_is_array(sd) ? json_array_get(sd, q) : NULL;
        if (sv) json_object_set_new(one, "seeds", json_pack("[O]", sv));
        rc = sweep_add(runs, n, cap, one, path, where, e);
        json_decref(one);
    }
    json_decref(m);
    return rc;
}

// Expand the scenario into runs and validate each. 0, 1 (a single run: not a sweep), or -1 and e.
// base_name: the scenario's own name (the default sweep folder).
static int sweep_expand(const char *path, char **sets, int n_sets, SweepRun **out, int *n_out, char *base_name,
                        size_t bn, Err *e) {
    json_t *root = json_file_load(path, e);
    if (!root) return -1;
    if (!json_is_object(root)) { json_decref(root); return 1; }   // the single run says what is wrong with it
    json_t *sweep = json_object_get(root, "sweep");
    if (sweep && (!json_is_array(sweep) || json_array_size(sweep) == 0)) {
        err_set(e, "%s: sweep: expected a non-empty array of objects (each overrides keys of the base scenario)", path);
        json_decref(root);
        return -1;
    }
    const char *nm = json_string_value(json_object_get(root, "name"));
    str_copy(base_name, bn, nm ? nm : "");
    json_t *base = json_deep_copy(root);
    json_object_del(base, "sweep");
    size_t n_entries = sweep ? json_array_size(sweep) : 1, cap = 16, n = 0;
    SweepRun *runs = xcalloc(cap, sizeof *runs);
    int rc = 0;
    for (size_t i = 0; i < n_entries && !rc; i++) {
        json_t *entry = sweep ? json_array_get(sweep, i) : NULL;
        if (sweep && !json_is_object(entry)) {
            err_set(e, "%s: sweep[%zu]: expected an object", path, i);
            rc = -1;
            break;
        }
        rc = sweep_entry_add(&runs, &n, &cap, base, entry, i, sets, n_sets, path, e);
    }
    json_decref(base);
    json_decref(root);
    if (rc || (!sweep && n == 1)) {
        for (size_t i = 0; i < n; i++) free(runs[i].text);
        free(runs);
        return rc ? -1 : 1;
    }
    *out = runs;
    *n_out = (int)n;
    return 0;
}

// The sweep folder: --out, or results/sweeps/<name>; created and locked (unless dry_run). 0, or -1 and e.
static int sweep_root_take(const char *out, const char *name, int dry_run, char *root, size_t n, Err *e) {
    const char *what = out ? "--out" : "sweep folder";
    snprintf(root, n, out ? "%s" : "results/sweeps/%s", out ? out : name);
    struct stat st;
    int existed = stat(root, &st) == 0;
    if (existed && !S_ISDIR(st.st_mode)) {
        err_set(e, "%s %s: exists and is not a folder (expected a sweep folder)", what, root);
        return -1;
    }
    if (dry_run) return existed ? dir_lock_probe(root, what, e) : 0;
    if (!out) { mkdir("results", 0755); mkdir("results/sweeps", 0755); }
    if (!existed && dir_make(root)) { err_set(e, "%s %s: cannot create: %s", what, root, strerror(errno)); return -1; }
    // Held until the sweep exits: a second sweep (or a second run of it) into the same folder is refused.
    if (dir_lock(root, what, e) >= 0) return 0;
    if (!existed) {
        char lock[1100];
        snprintf(lock, sizeof lock, "%s/.lock", root);
        unlink(lock);
        rmdir(root);
    }
    return -1;
}

// Inspect every run's folder, check the finished runs' settings and (unless dry_run) clear the way for the
// others. The number of finished runs (their status -1), or -1 and e.
static int sweep_resume(SweepRun *runs, int n, const char *path, const char *root, int dry_run, FILE *f, Err *e) {
    ResumeState *st = xcalloc((size_t)n, sizeof *st);
    char (*tmp)[256] = xcalloc((size_t)n, sizeof *tmp);
    int done = 0, rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        snprintf(runs[i].dir, sizeof runs[i].dir, "%s/%s-seed%ld", root, runs[i].name, runs[i].seed);
        st[i] = run_dir_inspect(runs[i].dir, tmp[i], sizeof tmp[i]);
        if (st[i] == RESUME_DONE || st[i] == RESUME_SUMMARY_TMP)
            rc = run_settings_check(runs[i].dir, path, runs[i].text, e);
    }
    for (int i = 0; i < n && !rc && !dry_run; i++) rc = run_dir_settle(root, runs[i].dir, st[i], tmp[i], f, e);
    for (int i = 0; i < n && !rc; i++)
        if (st[i] == RESUME_DONE || st[i] == RESUME_SUMMARY_TMP) { runs[i].status = -1; done++; }
    free(st);
    free(tmp);
    return rc ? -1 : done;
}

static void sweep_plan_free(SweepRun *runs, int n) {
    for (int i = 0; i < n; i++) free(runs[i].text);
    free(runs);
}

// The end of a sweep: one line per run (state, accuracy, bytes, summary), and with --json the result object.
static void sweep_report(const SweepRun *runs, int n, const char *path, const char *root, int failed, int json,
                         FILE *f) {
    json_t *arr = json_array();
    fprintf(f, "sweep %s: %s\n", path,
            sweep_interrupted ? "interrupted (run it again to resume)"
            : failed          ? "finished with failures"
                              : "finished");
    for (int i = 0; i < n; i++) {
        char sp[1300];
        snprintf(sp, sizeof sp, "%s/summary.json", runs[i].dir);
        json_t *s = json_load_file(sp, 0, NULL);
        const char *state = s ? "done" : runs[i].status == 0 ? "not run" : "failed";
        if (!s && sweep_interrupted && runs[i].status == 0) state = "not run";
        fprintf(f, "  %-40s seed %-4ld %-7s", runs[i].name, runs[i].seed, state);
        if (s) fprintf(f, " acc %.2f%%  %.2f MB  %s", 100 * json_number_value(json_object_get(s, "acc_mean")),
                       json_integer_value(json_object_get(s, "bytes_wire")) / 1e6, sp);
        fputc('\n', f);
        json_t *one = json_pack("{s:s, s:I, s:s, s:s}", "name", runs[i].name, "seed", (json_int_t)runs[i].seed, "state",
                                state, "run_dir", runs[i].dir);
        json_array_append_new(arr, one ? one : json_pack("{s:s}", "state", state));   // run_dir is UTF-8 (checked)
        json_decref(s);
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:o}", "sweep", root, "runs", arr);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", t ? t : "{\"sweep\": null}");
        free(t);
        json_decref(o);
    } else {
        json_decref(arr);
    }
}

// A sweep under way: its runs, the jobs running them, and the progress lines drawn for them.
typedef struct {
    SweepRun *runs;
    int n;
    const char *path;         // the scenario file
    char root[1024];          // the sweep's folder
    const char *self;         // the meshtrain binary each run executes
    int jobs;                 // runs at a time
    FILE *f;                  // where the sweep talks (stderr under --json)
    int tty;
    struct sigaction old_int; // SIGINT as it was: each run gets it back
    pid_t *pid;               // per run: its process while it runs
    int failed, next, running;
    int drawn;                // progress lines on screen (a terminal redraws them)
    double last_draw;
} Sweep;

// What the sweep will do: each run with its settings, and whether it finished already.
static void sweep_plan_print(const Sweep *sw, int done) {
    Err e = {{0}};
    fprintf(sw->f, "sweep %s: %d runs in %s (%d finished already, skipped)\n", sw->path, sw->n, sw->root, done);
    for (int i = 0; i < sw->n; i++) {
        const SweepRun *r = &sw->runs[i];
        Scenario sc;
        scenario_load(&sc, sw->path, r->text, &e);
        fprintf(sw->f, "  %-28s seed %-3ld %-7s %s, %d agents, %s, %s, %d epochs, %s links\n", r->name, r->seed,
                r->status == -1 ? "done" : "to run", sc.alg.name, sc.agents, sc.model, sc.dataset, sc.epochs,
                sc.net.shaped ? "shaped" : "unshaped");
        scenario_free(&sc);
    }
    fflush(sw->f);
}

// The first run not started whose baseline (another run of this sweep, same seed) is not still to
// come: its communication reduction needs the baseline's summary. -1 if none can start now.
static int sweep_next(const Sweep *sw) {
    const SweepRun *runs = sw->runs;
    for (int k = 0; k < sw->n; k++) {
        if (runs[k].started || runs[k].status == -1) continue;
        int wait = 0;
        for (int q = 0; q < sw->n; q++)
            wait |= q != k && runs[k].baseline[0] && !strcmp(runs[q].name, runs[k].baseline) &&
                    runs[q].seed == runs[k].seed && runs[q].status != -1 && (!runs[q].started || sw->pid[q] > 0);
        if (!wait) return k;
    }
    return -1;
}

// Start run i as `meshtrain run` on its resolved scenario. 0, or -1 and e.
static int sweep_job_start(Sweep *sw, int i, Err *e) {
    SweepRun *r = &sw->runs[i];
    r->started = 1;
    sw->next++;
    char tmp[1300], log[1300];
    snprintf(tmp, sizeof tmp, "%s/.%s-seed%ld.json", sw->root, r->name, r->seed);
    snprintf(log, sizeof log, "%s/%s-seed%ld.log", sw->root, r->name, r->seed);
    if (file_write_atomic(tmp, r->text, strlen(r->text), e)) return -1;
    if (sw->jobs == 1) { fprintf(sw->f, "[%d/%d] %s seed %ld\n", i + 1, sw->n, r->name, r->seed); fflush(sw->f); }
    sw->pid[i] = fork();
    if (sw->pid[i] == 0) {
        sigaction(SIGINT, &sw->old_int, NULL);
        if (sw->jobs > 1) {   // several at once: each run's output goes to its log, the sweep draws the lines
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
            setenv("MESHTRAIN_TTY", "0", 1);
            setenv("MESHTRAIN_PROGRESS_S", "1", 1);
        }
        execl(sw->self, sw->self, "run", tmp, "--out", r->dir, (char *)NULL);
        _exit(127);
    }
    sw->running++;
    return 0;
}

// Process w ended with status st: its run's status, and a line for it when several run at once.
static void sweep_job_reaped(Sweep *sw, pid_t w, int st) {
    for (int i = 0; w > 0 && i < sw->n; i++) {
        if (sw->pid[i] != w) continue;
        SweepRun *r = &sw->runs[i];
        char tmp[1300];
        snprintf(tmp, sizeof tmp, "%s/.%s-seed%ld.json", sw->root, r->name, r->seed);
        unlink(tmp);
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        sw->failed += r->status != 0;
        sw->pid[i] = 0;
        sw->running--;
        if (sw->jobs > 1) {
            if (sw->tty && sw->drawn) { fprintf(sw->f, "\033[%dA\033[J", sw->drawn); sw->drawn = 0; }
            fprintf(sw->f, "%s seed %ld: %s (log %s/%s-seed%ld.log)\n", r->name, r->seed, r->status ? "FAILED" : "done",
                    sw->root, r->name, r->seed);
        }
    }
}

// The last progress line ("epoch ...") in the last 4 KB of a run's log, or "starting".
static void log_last_progress(const char *log, char *line, size_t n) {
    snprintf(line, n, "starting");
    FILE *lf = fopen(log, "r");
    if (lf) {
        fseek(lf, 0, SEEK_END);
        long sz = ftell(lf);
        fseek(lf, sz > 4096 ? sz - 4096 : 0, SEEK_SET);
        char buf[400];
        while (fgets(buf, sizeof buf, lf)) if (strstr(buf, "epoch ")) snprintf(line, n, "%s", buf);
        fclose(lf);
    }
    line[strcspn(line, "\n")] = 0;
}

// One line per running job: the last progress line of its log (redrawn in place on a terminal).
static void sweep_draw(Sweep *sw) {
    double now = time_now();
    if (now - sw->last_draw < (sw->tty ? 0.5 : 30.0)) return;
    sw->last_draw = now;
    if (sw->tty && sw->drawn) fprintf(sw->f, "\033[%dA\033[J", sw->drawn);
    sw->drawn = 0;
    for (int i = 0; i < sw->n; i++) {
        if (sw->pid[i] <= 0) continue;
        char log[1300], line[400];
        snprintf(log, sizeof log, "%s/%s-seed%ld.log", sw->root, sw->runs[i].name, sw->runs[i].seed);
        log_last_progress(log, line, sizeof line);
        fprintf(sw->f, "  %s seed %ld: %s\n", sw->runs[i].name, sw->runs[i].seed, line);
        sw->drawn++;
    }
    fflush(sw->f);
    if (!sw->tty) sw->drawn = 0;
}

// Run the runs, `jobs` at a time, until all have ended (or Ctrl-C). 0, or 1 if a run could not start.
static int sweep_jobs_run(Sweep *sw) {
    Err e = {{0}};
    for (;;) {
        // Start runs while there is a free job (and no Ctrl-C).
        while (!sweep_interrupted && sw->running < sw->jobs && sw->next < sw->n) {
            int i = sweep_next(sw);
            if (i < 0) break;
            if (sweep_job_start(sw, i, &e)) { fprintf(stderr, "meshtrain run: %s\n", e.msg); return 1; }
        }
        if (sw->running == 0) return 0;
        int st = 0;
        pid_t w = waitpid(-1, &st, sw->jobs > 1 ? WNOHANG : 0);
        if (w < 0 && errno == EINTR) continue;
        sweep_job_reaped(sw, w, st);
        if (sw->jobs > 1 && w == 0) {
            sweep_draw(sw);
            usleep(100000);
        }
    }
}

int run_sweep(const char *path, char **sets, int n_sets, const char *out, int json, int jobs, int dry_run,
              int *handled) {
    Sweep sw = {.path = path, .jobs = jobs, .f = json ? stderr : stdout};
    Err e = {{0}};
    char base_name[64];
    int rc = sweep_expand(path, sets, n_sets, &sw.runs, &sw.n, base_name, sizeof base_name, &e);
    *handled = rc != 1;
    if (rc == 1) return 0;
    if (rc) { fprintf(stderr, "meshtrain run: %s\n", e.msg); return 2; }
    int done = -1;
    if (sweep_root_take(out, base_name[0] ? base_name : sw.runs[0].name, dry_run, sw.root, sizeof sw.root, &e) ||
        (done = sweep_resume(sw.runs, sw.n, path, sw.root, dry_run, sw.f, &e)) < 0) {
        fprintf(stderr, "meshtrain run: %s\n", e.msg);
        sweep_plan_free(sw.runs, sw.n);
        return 2;
    }
    sweep_plan_print(&sw, done);
    if (dry_run) { sweep_plan_free(sw.runs, sw.n); return 0; }
    struct sigaction sa = {.sa_handler = sweep_on_signal};
    sigaction(SIGINT, &sa, &sw.old_int);
    sw.self = self_exe();
    sw.next = done;
    sw.tty = stream_is_tty(sw.f);
    sw.pid = xcalloc((size_t)sw.n, sizeof(pid_t));
    if (sweep_jobs_run(&sw)) return 1;
    if (sw.tty && sw.drawn) fprintf(sw.f, "\033[%dA\033[J", sw.drawn);
    free(sw.pid);
    sigaction(SIGINT, &sw.old_int, NULL);
    sweep_report(sw.runs, sw.n, path, sw.root, sw.failed, json, sw.f);
    sweep_plan_free(sw.runs, sw.n);
    return sweep_interrupted || sw.failed ? 1 : 0;
}
