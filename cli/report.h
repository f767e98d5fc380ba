// `meshtrain report`: run folders to gnuplot figures and a markdown table. cmd_report.c has the
// flags, REPORT.md and the atomic install; report_load.c reads run folders (status, summary,
// evaluations, cumulative bytes, labels); report_plot.c writes the gnuplot script and runs gnuplot.
#ifndef MESHTRAIN_REPORT_H
#define MESHTRAIN_REPORT_H
#include <jansson.h>
#include <limits.h>
#include "util.h"

typedef enum { RUN_OK, RUN_FAILED, RUN_UNFINISHED } RunStatus;

// One evaluation of a run (a line of evals.jsonl). Accuracies are fractions.
typedef struct {
    int index;              // its "eval" number, which the agents' eval lines carry too
    double epoch, t_s, acc_mean, acc_worst, acc_avg_model;
    double bytes;           // wire bytes sent by all agents up to this evaluation's round, < 0 unknown
} RepEval;

typedef struct {
    char dir[PATH_MAX];     // as found (the argument or a folder below it)
    char real[PATH_MAX];    // realpath, to drop duplicates
    RunStatus status;
    char reason[600];       // failed / unfinished: why
    json_t *scen, *sum;     // scenario.json, summary.json (NULL when absent or unreadable)
    char name[128];         // scenario name
    char alg[200];          // "sparse-push top-k 0.1%, γ 0.01"
    char links[200];        // "5 Mbit/s, 20 ms, 0.1% loss"; "loopback (unshaped)"
    char links_long[300];   // with jitter, overrides, changes: for the table
    int shaped;
    char extra[200];        // partition when not iid, message drops
    char setup[200];        // settings that differ among the finished runs: "4 agents, 1 epoch"
    char label[600];        // legend: alg, links if shaped, extra; unique among the report's runs
    char short_name[200];   // table: scenario name, plus the folder when names repeat
    RepEval *ev;
    int n_ev;
    int has_time;           // every evaluation has t_s
    int has_bytes;          // cumulative bytes known at every evaluation
    char ev_note[300];      // why evaluations, time or bytes are missing
    double acc_mean, acc_worst, acc_avg, seconds, e_compute, e_comm, e_total, bytes_wire, finished_at;
    char git[64], backend[32];
    int base;               // index of its baseline run, -1 none
    char base_note[300];
} RepRun;

typedef struct { RepRun *v; int n, cap; } RepList;

// Adds the run folders at ARG: ARG itself, or folders up to three levels below it holding
// scenario.json, summary.json or FAILED. -1 (e) if ARG is missing or holds no run folder.
int report_find(RepList *l, const char *arg, Err *e);
// Status of every run; for finished ones summary, scenario, evaluations and cumulative bytes.
// -1 (e names the file and what was expected) on a malformed file of a finished run.
int report_load(RepRun *r, Err *e);
// Legend labels and table names, unique among the runs.
void report_labels(RepRun *runs, int n);
// Per run: the baseline run (same fingerprint; same links preferred) among those matching NAME
// (scenario name, algorithm or folder). -1 (e) if no finished run matches NAME at all.
int report_baselines(RepRun *runs, int n, const char *name, Err *e);
void report_free(RepList *l);

// The value at a dotted path ("energy_j.compute") of a JSON object, or NULL / the default.
json_t *rep_get(json_t *o, const char *path);
double rep_num(json_t *o, const char *path, double dflt);
const char *rep_str(json_t *o, const char *path, const char *dflt);

enum { FIG_EPOCH, FIG_MB, FIG_TIME, FIG_ENERGY, FIG_N };
extern const char *const FIG_FILE[FIG_N];   // base names: "accuracy-epoch", ...

// Path of gnuplot in $PATH, 0; -1 when not found.
int gnuplot_find(char *path, size_t n);
// Writes DIR/figures.gp and runs gnuplot in DIR; made[f] says which figures were drawn.
// -1 (e, with gnuplot's own words) when it fails.
int report_plot(const RepRun *runs, int n, const char *dir, const char *gnuplot, const char *title,
                const char *subtitle, int made[FIG_N], Err *e);

#endif
