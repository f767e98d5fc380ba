// One agent of a decentralized run: its data partition, its model replica, its algorithm and its
// links; trains round by round, logs metrics (JSON Lines) and reports to the runner.
#ifndef MESHTRAIN_AGENT_H
#define MESHTRAIN_AGENT_H
#include "alg.h"
#include "model.h"
#include "scenario.h"
#include <stdio.h>
#include "util.h"

typedef struct {
    const char *scenario_path;   // the resolved scenario.json in the run folder
    const char *run_dir;
    int id;
    int ctl_fd;                  // control channel to the runner
    const char *bind_ip;         // address this agent listens on
    const char *scenario_text;   // the scenario itself (NULL: read scenario_path), for agents on other hosts
    FILE *log;                   // where its metrics go (NULL: run_dir/agent-ID.jsonl); agent_run closes it
    int data_fd;                 // the runner's sealed decoded dataset (dataset_map), or -1: load it from disk
} AgentArgs;

// The algorithm's view of agent `id`: m's flat parameters and gradient, its tensors as spans, the
// optimizer, the topology and the codec from s (no links yet). 0, or -1 and e.
// It also fills env->model (AlgModelFns) on m: they work while a batch is set (agent_batch_set).
int agent_env_init(AlgEnv *env, Model *m, const Scenario *s, int id, Err *e);
// Frees what agent_env_init made and the links (not the algorithm's own state: alg_free).
void agent_env_free(AlgEnv *env);
// The round's batch, for env->model's functions: its inputs are in model_input(m), y its b labels,
// drop_rng the round's dropout stream before its forward pass (NULL: a fixed one). y NULL: no batch.
void agent_batch_set(AlgEnv *env, const uint8_t *y, int b, const Rng *drop_rng);
// After the round's forward pass and loss, for an algorithm with a feature_loss hook: the penultimate
// features to the hook, its loss added to *loss, and the backward pass with its gradient added
// (instead of model_backward). 0, or -1 and e.
int agent_feature_pass(Alg *alg, float *loss, Err *e);

// Returns 0 when training finished, 1 when the work failed (the runner was told why), 2 on bad input.
int agent_run(const AgentArgs *args);

#endif
