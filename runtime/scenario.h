// A scenario (the JSON file `meshtrain run` takes), parsed and validated into one struct with every
// default filled in. Errors name the file, the JSON path, the value and what was expected.
#ifndef MESHTRAIN_SCENARIO_H
#define MESHTRAIN_SCENARIO_H
#include <stdint.h>
#include <jansson.h>
#include "alg_config.h"
#include "energy.h"
#include "model.h"
#include "optim.h"
#include "topo.h"
#include "util.h"

#define SCEN_MAX_SEEDS 16
#define SCEN_MAX_BYTES (16 << 20)   // scenario files are hand-written: anything larger is a mistake

typedef struct {
    char name[64];
    uint64_t seeds[SCEN_MAX_SEEDS];
    int n_seeds;
    uint64_t seed;              // the seed of this run (seeds[0] unless the runner picks another)
    int agents;
    char dataset[32], model[32];
    NormKind norm;
    int bits;                   // precision.bits: 32, or 8 (the 8-bit training of docs/precision.md)
    QRound act_round;           // precision.activation_rounding (8 bits): stochastic (default) or nearest
    struct { char kind[16]; double alpha, skew; } partition;
    int epochs, batch;
    SgdConfig sgd;
    Schedule sched;
    TopoSpec topo;
    AlgConfig alg;
    struct {
        char backend[16];
        double round_timeout_s;  // wait for an in-neighbour's round-k message at most this long
        double drop_prob;        // message-level drop probability at the receiver
        int auth;                // peers prove they hold the run's key (docs/security.md); off only to measure its cost
        int frame_mac;           // every frame carries a MAC under the connection's key
        int max_rounds_ahead;    // a frame further ahead of this agent's own round is a protocol error
        int shaped;              // any link shaped (default_link, links, schedule or mobility)
        double duration_s;       // the emulated network timeline
        char *links_json;        // those keys as given (NULL: none), compiled by scenario_netplan
    } net;
    // Averaging rounds without a gradient after training: "exact" (dense, gamma 1) or "training" (the
    // algorithm's own codec and gamma, as the low-precision paper's code ends its runs).
    struct { double every_epochs; int final_consensus_rounds; char final_consensus_protocol[12]; } eval;
    int metrics_every;           // rounds between metrics lines
    double hang_timeout_s;       // an agent silent this long is declared hung
    int limit_train, limit_test; // use only the first N samples (quick runs); 0 = all
    char baseline[128];
    EnergyModel energy;          // the "energy" constants (defaults filled), see analysis/energy.h
} Scenario;

// Parse path (or text, when text != NULL; path is then only used in messages). 0, or -1 and e.
int scenario_load(Scenario *s, const char *path, const char *text, Err *e);
// A scenario-like JSON file: at most SCEN_MAX_BYTES, not a folder, no key given twice. NULL and e naming the file.
json_t *scenario_file_read(const char *path, Err *e);
// Make the relative file paths in root (topology.file) absolute against the folder of the scenario at path, so
// a copy of the scenario elsewhere (a sweep's run) reads the same files. 0, or -1 and e.
int scenario_paths_resolve(json_t *root, const char *path, Err *e);
// The link parameters and changes of the scenario (netem/plan.h). 0, or -1 and e.
#include "plan.h"
int scenario_netplan(const Scenario *s, NetPlan *p, Err *e);
void scenario_free(Scenario *s);
// The resolved scenario as JSON text (every key, defaults filled); caller frees. NULL if it cannot be encoded.
char *scenario_dump(const Scenario *s);


#endif
