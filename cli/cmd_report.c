// `meshtrain report RUN_DIR...`: finished runs to figures (gnuplot, PNG + SVG) and REPORT.md, a table
// with accuracy, bytes, the reduction against a baseline, energy and time. Everything is made in a
// staging folder inside --out and moved into place only when all of it succeeded.
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "common.h"
#include "report.h"

static const char *USAGE = "meshtrain report RUN_DIR... [--out DIR] [--baseline NAME] [--title T] [--json]";

static void help(void) {
    printf("usage: %s\n\n"
           "Figures and a markdown table from finished runs. Each RUN_DIR is a run folder (written by meshtrain\n"
           "run) or a folder holding run folders up to three levels down (results/runs, results/runs/NAME).\n"
           "Runs without summary.json are listed as failed (FAILED) or unfinished and never plotted.\n\n"
           "  --out DIR        where REPORT.md, the figures and figures.gp go (default results/report)\n"
           "  --baseline NAME  a run's scenario name, algorithm or folder: adds the communication reduction\n"
           "                   (baseline bytes on the wire / the run's) and the accuracy difference; each run is\n"
           "                   compared with a NAME run of the same dataset, model, agents, epochs, partition,\n"
           "                   limits and seed, over the same links when there is one\n"
           "  --title T        title of REPORT.md and the figures\n"
           "  --json           last stdout line: a JSON object with the paths and each run's headline figures\n\n"
           "Figures (PNG and SVG; needs gnuplot: apt-get install -y gnuplot-nox): accuracy-epoch, accuracy-mb\n"
           "(against the cumulative bytes all agents sent), accuracy-time (wall clock), energy (compute and\n"
           "communication per run). See docs/report.md.\n\n"
           "exit status: 0 written, 1 gnuplot missing or failed or the report could not be written, 2 bad usage\n"
           "or bad input (a missing folder, a malformed file, no finished run)\n", USAGE);
}

static int mkdir_p(const char *path, Err *e) {
    char p[PATH_MAX];
    if (str_copy(p, sizeof p, path)) { err_set(e, "--out %.200s...: path too long", path); return -1; }
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) {
            err_set(e, "--out %s: cannot create %s: %s", path, p, strerror(errno));
            return -1;
        }
        *s = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) { err_set(e, "--out %s: expected a folder", path); return -1; }
    return 0;
}

static void stage_remove(const char *stage) {
    DIR *d = opendir(stage);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[2 * PATH_MAX];
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", stage, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(stage);
}

// A markdown table cell: no pipes or line breaks from the data.
static void md_cell(FILE *f, const char *s) {
    fputs("| ", f);
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc(' ', f);
}

// Significant digits, without exponents for the magnitudes in the table.
static const char *num(char *buf, size_t n, double v, int sig) {
    if (v >= 1000 || v <= -1000) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.*g", sig, v);
    return buf;
}

static const char *status_word(RunStatus s) {
    return s == RUN_OK ? "finished" : s == RUN_FAILED ? "failed" : "unfinished";
}

// What all finished runs share: "lenet5 on fashion-mnist, 8 agents, iid, 2 epochs".
static void common_setup(const RepRun *runs, int n, char *out, size_t cap) {
    static const char *const KEYS[] = {"model", "dataset", "agents", "partition", "epochs", "limit_train"};
    int same[6], first = -1;
    for (int i = 0; i < n && first < 0; i++)
        if (runs[i].status == RUN_OK) first = i;
    out[0] = 0;
    if (first < 0) return;
    for (int k = 0; k < 6; k++) {
        same[k] = 1;
        for (int i = first + 1; i < n; i++)
            if (runs[i].status == RUN_OK &&
                !json_equal(json_object_get(runs[i].scen, KEYS[k]), json_object_get(runs[first].scen, KEYS[k])))
                same[k] = 0;
    }
    json_t *s = runs[first].scen;
    size_t len = 0;
#define ADD(...) do { if (len < cap) len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__); } while (0)
    if (same[0] && same[1]) ADD("%s on %s", rep_str(s, "model", "?"), rep_str(s, "dataset", "?"));
    if (same[2]) ADD("%s%.0f agents", len ? ", " : "", rep_num(s, "agents", 0));
    if (same[3]) {
        const char *part = rep_str(s, "partition.kind", "iid");
        if (!strcmp(part, "dirichlet")) ADD("%sdirichlet α %.3g", len ? ", " : "", rep_num(s, "partition.alpha", 0));
        else if (!strcmp(part, "skew")) ADD("%slabel skew %.3g", len ? ", " : "", rep_num(s, "partition.skew", 0));
        else ADD("%s%s", len ? ", " : "", part);
    }
    double epochs = rep_num(s, "epochs", 0), limit = rep_num(s, "limit_train", 0);
    if (same[4]) ADD("%s%.0f epoch%s", len ? ", " : "", epochs, epochs == 1 ? "" : "s");
    if (same[5] && limit > 0) ADD("%s%.0f training samples", len ? ", " : "", limit);
#undef ADD
}

static void reduction_cell(FILE *f, const RepRun *runs, int i, const char *baseline, int own_reduction) {
    const RepRun *r = &runs[i];
    char a[64];
    if (baseline) {
        if (r->base == i) fputs("| baseline ", f);
        else if (r->base < 0) fputs("| n/a: no comparable baseline ", f);
        else {
            const RepRun *q = &runs[r->base];
            fprintf(f, "| %s× (%+.2f pts)%s ",
                    r->bytes_wire > 0 ? num(a, sizeof a, q->bytes_wire / r->bytes_wire, 3) : "∞",
                    100 * (r->acc_mean - q->acc_mean), r->base_note[0] ? " ¹" : "");
        }
    } else if (own_reduction) {
        json_t *c = json_object_get(r->sum, "comm_reduction");
        if (json_is_number(c))
            fprintf(f, "| %s× vs `%s` ", num(a, sizeof a, json_number_value(c), 3), rep_str(r->sum, "baseline", "?"));
        else fputs("| ", f);
    }
}

static void results_table(FILE *f, const RepRun *runs, int n, const char *baseline, int own_reduction) {
    char a[64], b[64], c[64];
    int setup = 0;
    for (int i = 0; i < n; i++) setup |= runs[i].status == RUN_OK && runs[i].setup[0];
    fprintf(
        f, "| run | algorithm |%s backend: links | acc. mean %% | acc. worst %% | averaged model %% | MB on the wire |",
        setup ? " setup |" : "");
    if (baseline) fprintf(f, " less data than `%s` (accuracy) |", baseline);
    else if (own_reduction) fputs(" less data than the scenario's baseline |", f);
    fprintf(f, " energy compute J | energy comm. J | energy total J | seconds |\n|---|---|---|%s--:|--:|--:|--:|",
            setup ? "---|" : "");
    if (baseline || own_reduction) fputs(":--|", f);
    fputs("--:|--:|--:|--:|\n", f);
    for (int i = 0; i < n; i++) {
        const RepRun *r = &runs[i];
        if (r->status != RUN_OK) continue;
        char links[600];
        snprintf(links, sizeof links, "%s: %s%s%s", r->backend, r->links_long, r->extra[0] ? "; " : "", r->extra);
        md_cell(f, r->short_name);
        md_cell(f, r->alg);
        if (setup) md_cell(f, r->setup);
        md_cell(f, links);
        fprintf(f, "| %.2f | %.2f | %.2f | %s ", 100 * r->acc_mean, 100 * r->acc_worst, 100 * r->acc_avg,
                num(a, sizeof a, r->bytes_wire / 1e6, 4));
        reduction_cell(f, runs, i, baseline, own_reduction);
        fprintf(f, "| %s | %s | %s | %.1f |\n", num(a, sizeof a, r->e_compute, 3), num(b, sizeof b, r->e_comm, 3),
                num(c, sizeof c, r->e_total, 3), r->seconds);
    }
}

static void figures_section(FILE *f, const RepRun *runs, int n, const int made[FIG_N]) {
    static const char *const HEAD[FIG_N] = {"Accuracy vs epoch", "Accuracy vs data sent", "Accuracy vs wall-clock time",
                                            "Energy: compute and communication"};
    static const char *const TEXT[FIG_N] = {
        "Mean over agents of each agent's test accuracy at each evaluation (evals.jsonl `acc_mean` against `epoch`).",
        "The same accuracy against the megabytes all agents had sent by that evaluation (payload + 40-byte frame "
        "headers, "
        "log scale): each agent's cumulative bytes from the `sent` counters of its round lines in agent-<i>.jsonl, "
        "interpolated linearly to the round of its own line for that evaluation, summed over agents.",
        "The same accuracy against the wall-clock seconds since the start barrier when the evaluation was gathered "
        "(evals.jsonl `t_s`): time to accuracy under the emulated links.",
        "Estimated energy per run, summed over agents (summary.json `energy_j`): compute from the "
        "multiply-accumulates, "
        "communication from every bit on the wire through the first-order radio model; the constants are in each "
        "summary.json `energy_model` (docs/metrics.md). Left in joules, right as shares of the run's energy."};
    fputs("\n## Figures\n\nEach as PNG and SVG; their data and the gnuplot script are in `figures.gp` "
          "(re-render with `gnuplot figures.gp` in this folder).\n", f);
    for (int fig = 0; fig < FIG_N; fig++) {
        fprintf(f, "\n### %s\n\n", HEAD[fig]);
        if (!made[fig]) { fputs("Not drawn: no finished run has the data for it.\n", f); }
        else fprintf(f, "![%s](%s.png)\n\n%s ([SVG](%s.svg))\n", HEAD[fig], FIG_FILE[fig], TEXT[fig], FIG_FILE[fig]);
        for (int i = 0; i < n && fig != FIG_ENERGY; i++) {
            const RepRun *r = &runs[i];
            if (r->status == RUN_OK &&
                (!r->n_ev || (fig == FIG_MB && !r->has_bytes) || (fig == FIG_TIME && !r->has_time)))
                fprintf(f, "\nLeft out: %s (%s).\n", r->short_name, r->ev_note[0] ? r->ev_note : "no data");
        }
    }
}

static void versions_line(FILE *f, const RepRun *runs, int n) {
    int versions = 0, dirty = 0, first = -1;
    for (int i = 0; i < n; i++) {
        if (runs[i].status != RUN_OK) continue;
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= runs[j].status == RUN_OK && !strcmp(runs[j].git, runs[i].git);
        versions += !seen;
        dirty |= strstr(runs[i].git, "-dirty") != NULL;
        if (first < 0) first = i;
    }
    const char *d = "; `-dirty`: built from a tree with uncommitted changes, so the commit alone does not pin the code";
    if (versions == 1)
        fprintf(f, "- Code: every run was made by meshtrain `%s` (summary.json `git`)%s.\n", runs[first].git,
                dirty ? d : "");
    else
        fprintf(f,
                "- Code: the runs come from %d versions of meshtrain (summary.json `git`, per run below): compare with "
                "care%s.\n",
                versions, dirty ? d : "");
}

static void sources_section(FILE *f, const RepRun *runs, int n, const char *baseline) {
    fputs("\n## Where the numbers come from\n\n"
          "- Accuracies: summary.json `acc_mean` (mean over agents of each agent's final test accuracy), `acc_worst` "
          "(the lowest agent) and `acc_avg_model` (the average of all agents' parameters, evaluated by the runner).\n"
          "- MB on the wire: summary.json `bytes_wire` / 10^6, what all agents sent (payload + frame headers).\n", f);
    if (baseline)
        fprintf(
            f,
            "- Less data than `%s`: the baseline's `bytes_wire` / the run's; in brackets the run's `acc_mean` minus "
            "the "
            "baseline's, in percentage points. A run's baseline is a finished `%s` run (scenario name, algorithm or "
            "folder) with the same dataset, model, agents, epochs, batch, partition, limits and seed, over the same "
            "links when there is one (table below).\n",
            baseline, baseline);
    fputs("- Energy: summary.json `energy_j` (an estimate, not a measurement; its constants are in `energy_model`).\n"
          "- Seconds: summary.json `seconds`, the wall clock of the whole run, set-up included.\n"
          "- Backend and links: summary.json `backend` and the resolved scenario.json `network`.\n", f);
    versions_line(f, runs, n);
    fputs("\n| run | folder | code (git) | finished (UTC) | compared with |\n|---|---|---|---|---|\n", f);
    for (int i = 0; i < n; i++) {
        const RepRun *r = &runs[i];
        if (r->status != RUN_OK) continue;
        char when[64] = "?", cmp[PATH_MAX + 400] = "";
        time_t t = (time_t)r->finished_at;
        struct tm tm;
        if (r->finished_at > 0 && gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        if (baseline && r->base == i) snprintf(cmp, sizeof cmp, "(a baseline)");
        else if (baseline && r->base >= 0) {
            const RepRun *b = &runs[r->base];
            snprintf(cmp, sizeof cmp, "%s%s%s%s%s%s", b->real, r->base_note[0] ? " ¹ " : "", r->base_note,
                     strcmp(b->git, r->git) ? " (made by other code: `" : "", strcmp(b->git, r->git) ? b->git : "",
                     strcmp(b->git, r->git) ? "`)" : "");
        }
        else if (baseline) snprintf(cmp, sizeof cmp, "%s", r->base_note);
        md_cell(f, r->short_name);
        fprintf(f, "| `%s` | `%s` ", r->real, r->git);
        md_cell(f, when);
        md_cell(f, cmp);
        fputs("|\n", f);
    }
}

static int report_md(const char *path, const RepRun *runs, int n, const char *title, const char *subtitle,
                     const char *baseline, const int made[FIG_N], Err *e) {
    FILE *f = fopen(path, "w");
    if (!f) { err_set(e, "%s: cannot create: %s", path, strerror(errno)); return -1; }
    int n_ok = 0, n_other = 0, own_reduction = 0, other_links = 0;
    for (int i = 0; i < n; i++) {
        const RepRun *r = &runs[i];
        n_ok += r->status == RUN_OK;
        n_other += r->status != RUN_OK;
        own_reduction |= r->status == RUN_OK && json_is_number(json_object_get(r->sum, "comm_reduction"));
        other_links |= baseline && r->status == RUN_OK && r->base >= 0 && r->base != i && r->base_note[0];
    }
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    fprintf(f, "# %s\n\n%d finished run%s%s%s", title[0] ? title : "meshtrain report", n_ok, n_ok == 1 ? "" : "s",
            subtitle[0] ? ": " : "", subtitle);
    if (n_other) fprintf(f, "; %d more failed or did not finish (listed below, not plotted)", n_other);
    fprintf(f, ". Made %s by meshtrain `%s` report.\n\n## Results\n\n", when, meshtrain_git);
    results_table(f, runs, n, baseline, own_reduction);
    if (other_links)
        fputs("\n¹ compared with a baseline that ran over other links: see \"compared with\" below.\n", f);
    if (!baseline && !own_reduction)
        fputs("\nGive `--baseline NAME` (a run's scenario name or algorithm) for the communication reduction.\n", f);
    if (n_other) {
        fputs("\n## Failed and unfinished runs (not plotted)\n\n| folder | scenario | status | why "
              "|\n|---|---|---|---|\n",
              f);
        for (int i = 0; i < n; i++) {
            if (runs[i].status == RUN_OK) continue;
            fprintf(f, "| `%s` ", runs[i].real);
            md_cell(f, runs[i].name);
            md_cell(f, runs[i].status == RUN_FAILED ? "**FAILED**" : "unfinished");
            md_cell(f, runs[i].reason);
            fputs("|\n", f);
        }
    }
    figures_section(f, runs, n, made);
    sources_section(f, runs, n, baseline);
    if (fclose(f) != 0) { err_set(e, "%s: write failed: %s", path, strerror(errno)); return -1; }
    return 0;
}

// Figures first, the script, REPORT.md last; figures this report did not draw are removed after.
static int install(const char *stage, const char *out, const int made[FIG_N], Err *e) {
    static const char *const EXT[] = {"png", "svg"}, *const LAST[] = {"figures.gp", "REPORT.md"};
    char from[2 * PATH_MAX], to[2 * PATH_MAX];
    for (int k = 0; k < 2 * FIG_N + 2; k++) {
        if (k < 2 * FIG_N && !made[k / 2]) continue;
        if (k < 2 * FIG_N) {
            snprintf(from, sizeof from, "%s/%s.%s", stage, FIG_FILE[k / 2], EXT[k % 2]);
            snprintf(to, sizeof to, "%s/%s.%s", out, FIG_FILE[k / 2], EXT[k % 2]);
        } else {
            snprintf(from, sizeof from, "%s/%s", stage, LAST[k - 2 * FIG_N]);
            snprintf(to, sizeof to, "%s/%s", out, LAST[k - 2 * FIG_N]);
        }
        if (rename(from, to)) { err_set(e, "%s: cannot move into place: %s", to, strerror(errno)); return -1; }
    }
    for (int k = 0; k < 2 * FIG_N; k++) {
        snprintf(to, sizeof to, "%s/%s.%s", out, FIG_FILE[k / 2], EXT[k % 2]);
        if (!made[k / 2]) unlink(to);
    }
    snprintf(to, sizeof to, "%s/figures.gp.failed", out);
    unlink(to);
    return 0;
}

static void json_result(const RepRun *runs, int n, const char *out, const int made[FIG_N]) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/REPORT.md", out);
    json_t *o = json_pack("{s:s}", "report", p), *figs = json_array(), *arr = json_array();
    for (int fig = 0; fig < FIG_N; fig++)
        if (made[fig]) {
            snprintf(p, sizeof p, "%s/%s.png", out, FIG_FILE[fig]);
            json_array_append_new(figs, json_string(p));
        }
    for (int i = 0; i < n; i++) {
        const RepRun *r = &runs[i];
        json_t *x = json_pack("{s:s, s:s, s:s}", "dir", r->real, "scenario", r->name, "status", status_word(r->status));
        if (r->status != RUN_OK) {
            json_object_set_new(x, "reason", json_string(r->reason));
        } else {
            const RepRun *b = r->base >= 0 ? &runs[r->base] : NULL;
            json_t *h = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "label", r->label, "acc_mean", r->acc_mean,
                                  "acc_worst", r->acc_worst, "acc_avg_model", r->acc_avg, "bytes_wire", r->bytes_wire,
                                  "energy_j", r->e_total, "seconds", r->seconds);
            json_object_update(x, h);
            json_decref(h);
            json_object_set_new(x, "baseline", b ? json_string(b->real) : json_null());
            json_object_set_new(x, "comm_reduction",
                                b && r->bytes_wire > 0 ? json_real(b->bytes_wire / r->bytes_wire) : json_null());
        }
        json_array_append_new(arr, x);
    }
    json_object_set_new(o, "figures", figs);
    json_object_set_new(o, "runs", arr);
    char *t = json_dumps(o, JSON_COMPACT);
    printf("%s\n", t);
    free(t);
    json_decref(o);
}

static int fail(int code, RepList *l, const Err *e) {
    if (e) fprintf(stderr, "meshtrain report: %s\n", e->msg);
    report_free(l);
    return code;
}

// The whole report into STAGE, then moved into OUT.
static int report_write(RepList *l, const char *out, const char *title, const char *baseline, const char *gnuplot,
                        int made[FIG_N], Err *e) {
    char stage[PATH_MAX + 64], path[PATH_MAX + 96], subtitle[400];
    snprintf(stage, sizeof stage, "%s/.report-tmp.%d", out, (int)getpid());
    if (mkdir(stage, 0755)) { err_set(e, "%s: cannot create: %s", stage, strerror(errno)); return -1; }
    common_setup(l->v, l->n, subtitle, sizeof subtitle);
    snprintf(path, sizeof path, "%s/REPORT.md", stage);
    int rc = 0;
    if (report_plot(l->v, l->n, stage, gnuplot, title, subtitle, made, e)) {
        // Keep gnuplot's script, whose line numbers its message gives; nothing else is written.
        char from[PATH_MAX + 96], to[PATH_MAX + 96];
        snprintf(from, sizeof from, "%s/figures.gp", stage);
        snprintf(to, sizeof to, "%s/figures.gp.failed", out);
        if (rename(from, to) == 0)
            fprintf(stderr, "meshtrain report: the script gnuplot failed on is kept in %s\n", to);
        rc = -1;
    } else {
        rc = report_md(path, l->v, l->n, title, subtitle, baseline, made, e) || install(stage, out, made, e);
    }
    stage_remove(stage);
    return rc ? -1 : 0;
}

int cmd_report(int argc, char **argv) {
    Args a;
    args_init(&a, "report", USAGE, argc, argv);
    const char *out = "results/report", *baseline = NULL, *title = "";
    int json = 0, n_dirs = 0, only_dirs = 0;
    const char **dirs = xcalloc((size_t)argc + 1, sizeof *dirs);
    while (a.i < a.argc) {
        const char *w = a.argv[a.i];
        if (only_dirs || w[0] != '-' || !w[1]) { dirs[n_dirs++] = w; a.i++; continue; }
        if (!strcmp(w, "--")) { only_dirs = 1; a.i++; continue; }
        args_next(&a);
        if (is_help(a.flag)) { help(); free(dirs); return 0; }
        else if (args_is(&a, "--out")) out = args_str(&a);
        else if (args_is(&a, "--baseline")) baseline = args_str(&a);
        else if (args_is(&a, "--title")) title = args_str(&a);
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    if (!n_dirs) args_fail(&a, "expected at least one RUN_DIR");
    if (!out[0]) args_fail(&a, "--out: expected a folder");
    if (baseline && !baseline[0]) args_fail(&a, "--baseline: expected a scenario name, algorithm or folder");
    FILE *msg = json ? stderr : stdout;
    RepList l = {0};
    Err e = {{0}};
    int rc = 0;
    for (int i = 0; i < n_dirs && !rc; i++) rc = report_find(&l, dirs[i], &e);
    free(dirs);
    for (int i = 0; i < l.n && !rc; i++) rc = report_load(&l.v[i], &e);
    if (rc) return fail(2, &l, &e);
    int n_ok = 0;
    for (int i = 0; i < l.n; i++) n_ok += l.v[i].status == RUN_OK;
    report_labels(l.v, l.n);
    for (int i = 0; i < l.n; i++) {
        RepRun *r = &l.v[i];
        fprintf(msg, "  %-10s %s: ", status_word(r->status), r->dir);
        if (r->status == RUN_OK) fprintf(msg, "%s%s%s\n", r->label, r->ev_note[0] ? "; " : "", r->ev_note);
        else fprintf(msg, "%s (left out)\n", r->reason);
    }
    if (!n_ok) {
        err_set(&e, "none of the %d run folder%s finished (no summary.json): nothing to report", l.n,
                l.n == 1 ? "" : "s");
        return fail(2, &l, &e);
    }
    if (baseline && report_baselines(l.v, l.n, baseline, &e)) return fail(2, &l, &e);
    char gnuplot[PATH_MAX];
    if (gnuplot_find(gnuplot, sizeof gnuplot)) {
        fprintf(stderr, "meshtrain report: gnuplot not found in PATH; install it with: apt-get install -y gnuplot-nox "
                        "(or tools/deps.sh plots)\n");
        return fail(1, &l, NULL);
    }
    if (mkdir_p(out, &e)) return fail(2, &l, &e);
    int made[FIG_N] = {0};
    if (report_write(&l, out, title, baseline, gnuplot, made, &e)) return fail(1, &l, &e);
    int figs = 0;
    for (int fig = 0; fig < FIG_N; fig++) figs += made[fig];
    fprintf(msg, "wrote %s/REPORT.md and %d figure%s (PNG + SVG) from %d run%s%s\n", out, figs, figs == 1 ? "" : "s",
            n_ok, n_ok == 1 ? "" : "s", n_ok < l.n ? "; the others are listed as left out" : "");
    if (json) json_result(l.v, l.n, out, made);
    report_free(&l);
    return 0;
}
