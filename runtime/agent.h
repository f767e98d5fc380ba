// One agent of a decentralized run: its data partition, its model replica, its algorithm and its
// links; trains round by round, logs metrics (JSON Lines) and reports to the runner.
#ifndef MESHTRAIN_AGENT_H
#define MESHTRAIN_AGENT_H
#include "alg.h"
#include "model.h"
#include "scenario.h"
#include "util.h"

typedef struct {
    const char *scenario_path;   // the resolved scenario.json in the run folder
    const char *run_dir;
    int id;
    int ctl_fd;                  // control channel to the runner
    const char *bind_ip;         // address this agent listens on
} AgentArgs;

// The algorithm's view of agent `id`: m's flat parameters and gradient, its tensors as spans, the
// optimizer, the topology and the codec from s (no links yet). 0, or -1 and e.
int agent_env_init(AlgEnv *env, Model *m, const Scenario *s, int id, Err *e);

// Returns 0 when training finished, 1 when the work failed (the runner was told why), 2 on bad input.
int agent_run(const AgentArgs *args);

#endif
