// The runner of `meshtrain run`: starts one agent process per agent, drives the start barrier,
// watches for deaths and hangs, gathers evaluations (averaged model, consensus distance) and
// progress, and stops everything cleanly on failure or Ctrl-C.
#ifndef MESHTRAIN_RUN_H
#define MESHTRAIN_RUN_H
#include <stdio.h>
#include <jansson.h>
#include <sys/types.h>
#include "data.h"
#include "model.h"
#include "scenario.h"
#include "wire.h"
#include "backend.h"
#include "plan.h"
#include "launch.h"

typedef struct EvalItem { uint8_t *data; size_t len; int index; struct EvalItem *next; } EvalItem;

// One agent process as the runner sees it.
typedef struct {
    pid_t pid;
    int fd;                 // control channel (-1: closed)
    FrameReader rd;
    int port, ready, connected, done, exited;
    double last_seen, eof_at, done_at;
    long round, rounds;
    double loss, epoch;
    uint64_t bytes_wire;
    char *done_json;        // the agent's totals (CTL_DONE payload)
    char error[400];        // the error it reported, if any
} AgentProc;

// The evaluation gatherer: each agent's evaluations (its accuracy and model) queue until every agent
// has sent the same one; then the averaged model's accuracy and the consensus distance go to evals.jsonl.
typedef struct {
    Dataset train, test;    // the runner evaluates the averaged model on test
    Model *m;               // the averaged model
    int limit_test;         // the scenario's: evaluate on the first N test samples (0: all)
    int n;                  // agents (0 until run_eval_open)
    float **models;         // evaluation `index`'s models (params then running statistics)
    EvalItem **queue;       // per agent: its evaluations not yet gathered, oldest first
    double *acc;            // per agent: its accuracy in the latest gathered evaluation
    int index;              // the evaluation being gathered
    double epoch;           // its epoch
    long total;             // evaluations completed
    double final_avg_acc, final_consensus;
    FILE *log;              // evals.jsonl
} RunEval;

// The emulated network: the backend, its plan (links at t = 0, then changes), what the agents refused,
// and the log of it all (network.jsonl).
typedef struct {
    const LinkBackendOps *backend;
    char backend_name[16];  // recorded in summary.json ("uml" when the kernel backend runs inside UML)
    char backend_why[300];  // why auto chose it
    NetEmu ne;
    NetPlan plan;
    int next_change;        // the first change not yet applied
    int armed_upto;         // changes before this one have their tc started
    LinkChange *deferred;   // t = 0 loss and cuts, applied once every agent is connected
    int n_deferred;
    double setup_s;         // namespaces, veths and qdiscs
    int gate[2];            // agents wait on gate[0] until their links exist
    int entered[2];         // each agent writes 'y' here once it is in its own namespace
    json_t *rejected;       // connections the agents refused while setting up links: [{agent, from, claimed, why}]
    int rejected_total;     // all of them (the list keeps each agent's first 64)
    FILE *log;              // network.jsonl
    json_t *fidelity;       // run_fidelity's verdict, for summary.json's "link_fidelity"
} RunNet;

// The runner proper: the scenario, the run folder, the agents and their control channels, the failure.
typedef struct {
    Scenario s;
    char run_dir[1024];
    const char *self;       // path of the meshtrain binary
    int n;
    AgentProc *ag;
    RunEval ev;
    RunNet net;
    double t0;              // the runner's start
    double t_go;            // the start barrier (time 0 of the schedule)
    int tty, json;
    int agent_nice;         // the agents' scheduling priority (the runner's own may be higher)
    char fail[600];         // why the run failed ("" while it is fine)
    char secondary[600];    // a failure that is probably the consequence of another one
    double secondary_at;
    int secondary_agent;    // the agent that reported it
    int secondary_peer;     // the agent whose closed link it reports (-1: unknown)
    double last_print;
    int made_dir;           // the runner created run_dir (a refused run removes it again)
    int locked;             // the runner holds run_dir/.lock
    Launch *launch;         // agents started by a launcher (mpirun, srun) that dial back; NULL: forked here
    int data_fd;            // the decoded dataset, sealed, that forked agents map (dataset_share); -1: none
} Run;

// Lifecycles. run_init before anything else; run_free releases every part (safe on a partly built run).
void run_init(Run *r);
void run_free(Run *r);
// The agents' table (control channels closed until spawned).
void run_agents_alloc(Run *r);

// The evaluation gatherer. load: the dataset and the averaged model (before anything is created);
// open: its buffers for n agents and evals.jsonl in run_dir. 0, or -1 and e.
int run_eval_load(RunEval *ev, const Scenario *s, Err *e);
int run_eval_open(RunEval *ev, int n, const char *run_dir, Err *e);
// An agent's CTL_EVAL payload; t_s stamps evaluations it completes. 1 if it completed at least one
// evaluation (the runner was busy meanwhile), 0 if not, -1 and e when it is malformed or out of order.
int run_eval_take(RunEval *ev, int agent, const uint8_t *p, size_t len, double t_s, Err *e);
// Close evals.jsonl. 0, or -1 if its writes failed.
int run_eval_close(RunEval *ev);
void run_eval_free(RunEval *ev);

// The network part. init: nothing open yet; plan: the scenario's links and changes for n agents.
void run_net_init(RunNet *net);
int run_net_plan(RunNet *net, const Scenario *s, int n, Err *e);
// One line of network.jsonl (no-op before it is open).
void run_net_log(RunNet *net, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Apply the changes due by now (t_go: the start barrier) and arm the next ones. 0, or -1 and e.
int run_net_changes_apply(RunNet *net, double t_go, Err *e);
// Every agent is connected: apply the t = 0 loss and cuts held back until then. 0, or -1 and e.
int run_net_deferred_apply(RunNet *net, double t_go, Err *e);
// Connections agent i refused while setting up its links ({"rejected": [...], "rejected_total": N}).
void run_net_rejects_take(RunNet *net, int i, const json_t *o, double t_go);
void run_net_free(RunNet *net);

// Apply one --set "a.b.c=VALUE" to a scenario's JSON. 0, or -1 and e.
int override_apply(json_t *root, const char *set, Err *e);
// A scenario with "sweep" entries or several seeds: run each, `jobs` at a time (skipping finished ones), and return the
// exit status, with *handled = 1; *handled = 0 for a single run (the caller runs it).
int run_sweep(const char *path, char **sets, int n_sets, const char *out, int json, int jobs, int dry_run,
              int *handled);

// Start the agents, run the event loop to the end. 0 success, 1 failure (r->fail says why).
int run_agents(Run *r);
void run_kill_all(Run *r);

// After the agents have finished: their links as TCP saw them against the plan (docs/network.md,
// "Emulation fidelity"); logs to network.jsonl, warns, and returns summary.json's "link_fidelity".
json_t *run_fidelity(Run *r);

// summary.json of a finished run (path into out_path) and the headline for --json. 0, or -1 and r->fail.
int summary_write(Run *r, char *out_path, size_t out_n, json_t **headline);

#endif
