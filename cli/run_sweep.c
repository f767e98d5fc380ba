// Sweeps: a scenario with "sweep": [{...}, ...] (or several seeds) is one run per entry and seed,
// each the deep merge of the entry over the base, all validated before the first starts. Runs land in
// ROOT/<name>-seed<s>/; running the sweep again skips the finished ones (resume).
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

typedef struct { char name[64]; long seed; char *text; char dir[1200]; int status, started; char baseline[128]; } SweepRun;

int override_apply(json_t *root, const char *set, Err *e) {
    const char *eq = strchr(set, '=');
    if (!eq || eq == set) { err_set(e, "--set '%s': expected KEY=VALUE", set); return -1; }
    char key[256];
    if ((size_t)(eq - set) >= sizeof key) { err_set(e, "--set: key too long"); return -1; }
    memcpy(key, set, (size_t)(eq - set));
    key[eq - set] = 0;
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!v) v = json_string(eq + 1);
    json_t *o = root;
    char *save = NULL, *tok = strtok_r(key, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        if (!next) { json_object_set_new(o, tok, v); return 0; }
        json_t *child = json_object_get(o, tok);
        if (!child) { child = json_object(); json_object_set_new(o, tok, child); }
        if (!json_is_object(child)) { err_set(e, "--set '%s': '%s' is not an object", set, tok); json_decref(v); return -1; }
        o = child;
        tok = next;
    }
    json_decref(v);
    err_set(e, "--set '%s': empty key", set);
    return -1;
}

// Remove a run folder of ours that did not finish (only files a run writes; nothing else is touched).
static int partial_remove(const char *dir) {
    static const char *const FILES[] = {"scenario.json", "evals.jsonl", "network.jsonl", "FAILED", NULL};
    char p[1400];
    for (const char *const *f = FILES; *f; f++) { snprintf(p, sizeof p, "%s/%s", dir, *f); unlink(p); }
    for (int i = 0; i < 1024; i++) { snprintf(p, sizeof p, "%s/agent-%d.jsonl", dir, i); if (unlink(p) && errno == ENOENT && i > 256) break; }
    return rmdir(dir);
}

static volatile sig_atomic_t sweep_interrupted;
static void sweep_on_signal(int sig) { sweep_interrupted = sig; }

// Expand the scenario into runs and validate each. 0, 1 (a single run: not a sweep), or -1 and e.
static int sweep_expand(const char *path, char **sets, int n_sets, SweepRun **out, int *n_out, Err *e) {
    json_t *root = json_file_load(path, e);
    if (!root) return -1;
    json_t *sweep = json_is_object(root) ? json_object_get(root, "sweep") : NULL, *seeds = json_object_get(root, "seeds");
    int multi_seed = 0;
    json_t *sw;   // an entry's own seeds count too
    size_t k;
    json_array_foreach(sweep, k, sw) if (json_is_object(sw) && json_array_size(json_object_get(sw, "seeds")) > 1) multi_seed = 1;
    if (!sweep && !(json_is_array(seeds) && json_array_size(seeds) > 1) && !multi_seed) { json_decref(root); return 1; }
    if (sweep && (!json_is_array(sweep) || json_array_size(sweep) == 0)) {
        err_set(e, "%s: sweep: expected a non-empty array of objects (each overrides keys of the base scenario)", path);
        json_decref(root);
        return -1;
    }
    json_t *base = json_deep_copy(root);
    json_object_del(base, "sweep");
    const char *base_name = json_string_value(json_object_get(base, "name"));
    size_t n_entries = sweep ? json_array_size(sweep) : 1, cap = 16, n = 0;
    SweepRun *runs = xcalloc(cap, sizeof *runs);
    int rc = 0;
    for (size_t i = 0; i < n_entries && !rc; i++) {
        json_t *entry = sweep ? json_array_get(sweep, i) : NULL;
        char where[64] = "";
        if (sweep) snprintf(where, sizeof where, "sweep[%zu]", i);
        if (sweep && !json_is_object(entry)) { err_set(e, "%s: %s: expected an object", path, where); rc = -1; break; }
        json_t *m = json_deep_copy(base);
        if (entry) json_object_update_recursive(m, entry);
        if (sweep && !json_object_get(entry, "name") && base_name) {
            char nm[64];
            snprintf(nm, sizeof nm, "%.50s-%zu", base_name, i);
            json_object_set_new(m, "name", json_string(nm));
        }
        for (int s = 0; s < n_sets && !rc; s++) if (override_apply(m, sets[s], e)) rc = -1;
        json_t *sd = json_object_get(m, "seeds");
        size_t n_seeds = json_is_array(sd) && json_array_size(sd) > 0 ? json_array_size(sd) : 1;
        for (size_t q = 0; q < n_seeds && !rc; q++) {
            json_t *one = json_deep_copy(m);
            json_t *sv = json_is_array(sd) ? json_array_get(sd, q) : NULL;
            if (sv) json_object_set_new(one, "seeds", json_pack("[O]", sv));
            char *text = json_dumps(one, JSON_COMPACT);
            json_decref(one);
            Scenario sc;
            Err in = {{0}};
            if (scenario_load(&sc, path, text, &in)) {
                // "FILE: key: ..." -> "FILE: sweep[i]: key: ..."
                const char *rest = strncmp(in.msg, path, strlen(path)) ? in.msg : in.msg + strlen(path) + 2;
                err_set(e, "%s: %s%s%.400s", path, where, where[0] ? ": " : "", rest);
                free(text);
                rc = -1;
                break;
            }
            if (n == cap) { cap *= 2; runs = realloc(runs, cap * sizeof *runs); if (!runs) abort(); }
            memset(&runs[n], 0, sizeof runs[n]);
            str_copy(runs[n].name, sizeof runs[n].name, sc.name);
            str_copy(runs[n].baseline, sizeof runs[n].baseline, sc.baseline);
            runs[n].seed = (long)sc.seed;
            runs[n].text = text;
            for (size_t p = 0; p < n; p++)
                if (!strcmp(runs[p].name, sc.name) && runs[p].seed == (long)sc.seed) {
                    err_set(e, "%s: %s: name '%s' with seed %ld is already another run of this sweep (give each entry its own name)",
                            path, where, sc.name, (long)sc.seed);
                    rc = -1;
                }
            scenario_free(&sc);
            n++;
        }
        json_decref(m);
    }
    json_decref(base);
    json_decref(root);
    if (rc) { for (size_t i = 0; i < n; i++) free(runs[i].text); free(runs); return -1; }
    *out = runs;
    *n_out = (int)n;
    return 0;
}

int run_sweep(const char *path, char **sets, int n_sets, const char *out, int json, int jobs, int dry_run, int *handled) {
    SweepRun *runs = NULL;
    int n = 0;
    Err e = {{0}};
    int rc = sweep_expand(path, sets, n_sets, &runs, &n, &e);
    *handled = rc != 1;
    if (rc == 1) return 0;
    if (rc) { fprintf(stderr, "meshtrain run: %s\n", e.msg); return 2; }
    char root[1024];
    if (out) snprintf(root, sizeof root, "%s", out);
    else {
        Scenario first;
        scenario_load(&first, path, runs[0].text, &e);
        json_t *o = json_load_file(path, 0, NULL);
        const char *bn = json_string_value(json_object_get(o, "name"));
        snprintf(root, sizeof root, "results/sweeps/%s", bn ? bn : first.name);
        json_decref(o);
        scenario_free(&first);
        if (!dry_run) { mkdir("results", 0755); mkdir("results/sweeps", 0755); }
    }
    if (!dry_run && dir_make(root)) { fprintf(stderr, "meshtrain run: --out %s: cannot create: %s\n", root, strerror(errno)); return 2; }
    int done = 0;
    for (int i = 0; i < n; i++) {
        snprintf(runs[i].dir, sizeof runs[i].dir, "%s/%s-seed%ld", root, runs[i].name, runs[i].seed);
        char sp[1300];
        snprintf(sp, sizeof sp, "%s/summary.json", runs[i].dir);
        if (access(sp, F_OK) == 0) { runs[i].status = -1; done++; }
    }
    FILE *f = json ? stderr : stdout;
    fprintf(f, "sweep %s: %d runs in %s (%d finished already, skipped)\n", path, n, root, done);
    for (int i = 0; i < n; i++) {
        Scenario sc;
        scenario_load(&sc, path, runs[i].text, &e);
        fprintf(f, "  %-28s seed %-3ld %-7s %s, %d agents, %s, %s, %d epochs, %s links\n", runs[i].name, runs[i].seed,
                runs[i].status == -1 ? "done" : "to run", sc.alg.name, sc.agents, sc.model, sc.dataset, sc.epochs,
                sc.net.shaped ? "shaped" : "unshaped");
        scenario_free(&sc);
    }
    fflush(f);
    if (dry_run) { for (int i = 0; i < n; i++) free(runs[i].text); free(runs); return 0; }
    struct sigaction sa = {.sa_handler = sweep_on_signal}, old;
    sigaction(SIGINT, &sa, &old);
    const char *self = self_exe();
    int failed = 0, next = done, running = 0, tty = stream_is_tty(f);
    pid_t *pid = xcalloc((size_t)n, sizeof(pid_t));
    double last_draw = 0;
    int drawn = 0;
    for (;;) {
        // Start runs while there is a free job (and no Ctrl-C).
        while (!sweep_interrupted && running < jobs && next < n) {
            // The first run not started whose baseline (another run of this sweep, same seed) is not
            // still to come: its communication reduction needs the baseline's summary.
            int i = -1;
            for (int k = 0; k < n && i < 0; k++) {
                if (runs[k].started || runs[k].status == -1) continue;
                int wait = 0;
                for (int q = 0; q < n; q++)
                    wait |= q != k && runs[k].baseline[0] && !strcmp(runs[q].name, runs[k].baseline) && runs[q].seed == runs[k].seed &&
                            runs[q].status != -1 && (!runs[q].started || pid[q] > 0);
                if (!wait) i = k;
            }
            if (i < 0) break;
            runs[i].started = 1;
            next++;
            if (access(runs[i].dir, F_OK) == 0 && partial_remove(runs[i].dir)) {
                fprintf(stderr, "meshtrain run: %s holds an unfinished run with files of its own; move it away to rerun\n", runs[i].dir);
                runs[i].status = 2;
                failed++;
                continue;
            }
            char tmp[1300], log[1300];
            snprintf(tmp, sizeof tmp, "%s/.%s-seed%ld.json", root, runs[i].name, runs[i].seed);
            snprintf(log, sizeof log, "%s/%s-seed%ld.log", root, runs[i].name, runs[i].seed);
            if (file_write_atomic(tmp, runs[i].text, strlen(runs[i].text), &e)) { fprintf(stderr, "meshtrain run: %s\n", e.msg); return 1; }
            if (jobs == 1) { fprintf(f, "[%d/%d] %s seed %ld\n", i + 1, n, runs[i].name, runs[i].seed); fflush(f); }
            pid[i] = fork();
            if (pid[i] == 0) {
                sigaction(SIGINT, &old, NULL);
                if (jobs > 1) {   // several at once: each run's output goes to its log, the sweep draws the lines
                    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                    if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
                    setenv("MESHTRAIN_TTY", "0", 1);
                    setenv("MESHTRAIN_PROGRESS_S", "1", 1);
                }
                execl(self, self, "run", tmp, "--out", runs[i].dir, (char *)NULL);
                _exit(127);
            }
            running++;
        }
        if (running == 0) break;
        int st = 0;
        pid_t w = waitpid(-1, &st, jobs > 1 ? WNOHANG : 0);
        if (w < 0 && errno == EINTR) continue;
        for (int i = 0; w > 0 && i < n; i++) {
            if (pid[i] != w) continue;
            char tmp[1300];
            snprintf(tmp, sizeof tmp, "%s/.%s-seed%ld.json", root, runs[i].name, runs[i].seed);
            unlink(tmp);
            runs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
            failed += runs[i].status != 0;
            pid[i] = 0;
            running--;
            if (jobs > 1) {
                if (tty && drawn) { fprintf(f, "\033[%dA\033[J", drawn); drawn = 0; }
                fprintf(f, "%s seed %ld: %s (log %s/%s-seed%ld.log)\n", runs[i].name, runs[i].seed,
                        runs[i].status ? "FAILED" : "done", root, runs[i].name, runs[i].seed);
            }
        }
        if (jobs > 1 && w == 0) {
            // One line per running job: the last progress line of its log.
            double now = time_now();
            if (now - last_draw >= (tty ? 0.5 : 30.0)) {
                last_draw = now;
                if (tty && drawn) fprintf(f, "\033[%dA\033[J", drawn);
                drawn = 0;
                for (int i = 0; i < n; i++) {
                    if (pid[i] <= 0) continue;
                    char log[1300], line[400] = "starting";
                    snprintf(log, sizeof log, "%s/%s-seed%ld.log", root, runs[i].name, runs[i].seed);
                    FILE *lf = fopen(log, "r");
                    if (lf) {
                        fseek(lf, 0, SEEK_END);
                        long sz = ftell(lf);
                        fseek(lf, sz > 4096 ? sz - 4096 : 0, SEEK_SET);
                        char buf[400];
                        while (fgets(buf, sizeof buf, lf)) if (strstr(buf, "epoch ")) snprintf(line, sizeof line, "%s", buf);
                        fclose(lf);
                    }
                    line[strcspn(line, "\n")] = 0;
                    fprintf(f, "  %s seed %ld: %s\n", runs[i].name, runs[i].seed, line);
                    drawn++;
                }
                fflush(f);
                if (!tty) drawn = 0;
            }
            usleep(100000);
        }
    }
    if (tty && drawn) fprintf(f, "\033[%dA\033[J", drawn);
    free(pid);
    sigaction(SIGINT, &old, NULL);
    json_t *arr = json_array();
    fprintf(f, "sweep %s: %s\n", path, sweep_interrupted ? "interrupted (run it again to resume)" : failed ? "finished with failures" : "finished");
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
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s}", "name", runs[i].name, "seed", (json_int_t)runs[i].seed,
                                             "state", state, "run_dir", runs[i].dir));
        json_decref(s);
        free(runs[i].text);
    }
    free(runs);
    if (json) {
        json_t *o = json_pack("{s:s, s:o}", "sweep", root, "runs", arr);
        char *t = json_dumps(o, JSON_COMPACT);
        printf("%s\n", t);
        free(t);
        json_decref(o);
    } else {
        json_decref(arr);
    }
    return sweep_interrupted || failed ? 1 : 0;
}
