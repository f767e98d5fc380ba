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

typedef struct EvalItem { uint8_t *data; size_t len; int index; struct EvalItem *next; } EvalItem;

typedef struct {
    pid_t pid;
    int fd;                 // control channel
    FrameReader rd;
    int port, ready, connected, done, exited;
    double last_seen, eof_at, done_at;
    long round, rounds;
    double loss, epoch;
    uint64_t bytes_wire;
    char *done_json;        // the agent's totals (CTL_DONE payload)
    char error[400];        // the error it reported, if any
    double final_acc, final_loss;
    double acc_at_eval;     // its accuracy in the evaluation being gathered
    int evals;              // evaluations received
} AgentProc;

typedef struct {
    Scenario s;
    char run_dir[1024];
    const char *self;       // path of the meshtrain binary
    int n;
    AgentProc *ag;
    Dataset train, test;    // the runner evaluates the averaged model
    Model *m;
    float **models;         // evaluation eval_index's models (params then running statistics)
    int eval_index;         // the evaluation being gathered
    struct EvalItem **queue;   // per agent: its evaluations not yet gathered, oldest first
    FILE *evals;            // evals.jsonl
    double t0;
    int tty, json;
    char fail[600];         // why the run failed ("" while it is fine)
    char secondary[600];    // a failure that is probably the consequence of another one
    double secondary_at;
    int secondary_peer;     // the agent whose closed link it reports (-1: unknown)
    double last_print;
    double final_avg_acc, final_consensus;
    long eval_total;
    double eval_epoch;      // epoch of the evaluation being gathered
    // The emulated network: the backend, its plan (links at t = 0, then changes) and its log.
    const LinkBackendOps *backend;
    char backend_name[16];  // recorded in summary.json ("uml" when the kernel backend runs inside UML)
    char backend_why[300];  // why auto chose it
    NetEmu ne;
    NetPlan plan;
    int next_change;        // the first change not yet applied
    int armed_upto;         // changes before this one have their tc started
    LinkChange *deferred;   // t = 0 loss and cuts, applied once every agent is connected
    int n_deferred;
    int agent_nice;         // the agents' scheduling priority (the runner's own may be higher)
    double t_go;            // the start barrier (time 0 of the schedule)
    double setup_s;         // namespaces, veths and qdiscs
    int auth;               // the agents authenticate their links (network.auth)
    json_t *rejected;       // connections the agents refused while setting up links: [{agent, from, claimed, why}]
    int rejected_total;     // all of them (the list keeps each agent's first 64)
    FILE *netlog;           // network.jsonl
    int gate[2];            // agents wait on gate[0] until their links exist
    int entered[2];         // each agent writes 'y' here once it is in its own namespace
    json_t *fidelity;       // run_fidelity's verdict, for summary.json's "link_fidelity"
    int made_dir;           // the runner created run_dir (a refused run removes it again)
    int locked;             // the runner holds run_dir/.lock
} Run;

// Apply one --set "a.b.c=VALUE" to a scenario's JSON. 0, or -1 and e.
int override_apply(json_t *root, const char *set, Err *e);
// A scenario with "sweep" entries or several seeds: run each, `jobs` at a time (skipping finished ones), and return the
// exit status, with *handled = 1; *handled = 0 for a single run (the caller runs it).
int run_sweep(const char *path, char **sets, int n_sets, const char *out, int json, int jobs, int dry_run, int *handled);

// Start the agents, run the event loop to the end. 0 success, 1 failure (r->fail says why).
int run_agents(Run *r);
void run_kill_all(Run *r);

// After the agents have finished: their links as TCP saw them against the plan (docs/network.md,
// "Emulation fidelity"); logs to network.jsonl, warns, and returns summary.json's "link_fidelity".
json_t *run_fidelity(Run *r);

#endif
