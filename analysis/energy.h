// The energy estimate of a run: compute from exact MAC counts times a per-MAC energy, communication from
// the bits on the wire with the first-order radio model. Every constant is a scenario option ("energy");
// formulas, defaults and sources: docs/energy.md. An estimate, not a measurement.
#ifndef MESHTRAIN_ENERGY_H
#define MESHTRAIN_ENERGY_H
#include <jansson.h>
#include "util.h"

// Above this many position samples the mobility time average takes evenly spaced instants.
#define ENERGY_MAX_DISTANCE_SAMPLES 1000

typedef enum {
    ENERGY_FREE_SPACE,   // amplifier energy eps_fs d^2 at every distance (Heinzelman et al. 2000)
    ENERGY_TWO_REGIME,   // eps_fs d^2 below d0 = sqrt(eps_fs / eps_mp), eps_mp d^4 from d0 on (Heinzelman et al. 2002)
} EnergyPathLoss;

// The constants ("energy" in a scenario); defaults in energy_model_default, keys in docs/energy.md.
typedef struct {
    // compute
    double pj_per_mac_fp32;       // one fp32 multiply-accumulate, pJ
    double pj_per_mac_fp16;       // one fp16 multiply-accumulate, pJ
    double pj_per_mac_int8;       // one 8-bit integer multiply-accumulate, pJ
    double backward_factor;       // backward MACs per forward MAC (input gradient + weight gradient)
    // radio
    EnergyPathLoss path_loss;
    double e_elec_nj_per_bit;     // transmitter or receiver electronics, nJ/bit (paid by both ends)
    double eps_fs_pj_per_bit_m2;  // free-space amplifier, pJ/bit/m^2
    double eps_mp_pj_per_bit_m4;  // multipath amplifier, pJ/bit/m^4 (ENERGY_TWO_REGIME only)
    double distance_m;            // the distance of every link when node positions are not given, m
} EnergyModel;

// What the runner knows about one agent at the end of a run.
typedef struct {
    int n;                        // agents: the length of bits_sent / bits_received, distance_m is n x n
    int self;                     // this agent's index (its own entries are ignored)
    double samples;               // training samples it processed (each one forward and one backward pass)
    double macs_per_sample;       // forward multiply-accumulates of one sample (the engine's model_macs)
    int precision_bits;           // arithmetic precision of training: 8, 16 or 32
    int wgrad_fp32;               // the weight gradient's MACs take an fp32 operand (8-bit training's biprecision,
                                  // docs/precision.md): one forward's worth of them is charged at fp32
    const double *bits_sent;      // [n] bits it wrote on the link to each destination, frame headers included
    const double *bits_received;  // [n] bits it read from the link from each source, frame headers included
    const double *distance_m;     // [n * n] row-major, distance_m[from * n + to], metres (energy_distances_*)
} EnergyAgentUse;

typedef struct {
    double macs;                  // training MACs: samples x macs_per_sample x (1 + backward_factor)
    double bits_sent, bits_received;
    double compute_j, tx_j, rx_j;
    double comm_j;                // tx_j + rx_j
    double total_j;               // compute_j + comm_j
} EnergyEstimate;

void energy_model_default(EnergyModel *m);
// Parse the scenario's "energy" object (NULL: all defaults). Errors read "PATH: what is wrong (expected
// what)", PATH being the JSON path below `path` (NULL: "energy"), e.g.
// "energy.radio.e_elec_nj_per_bit: -1 is out of range (expected >= 0)". 0, or -1 and e (m then holds defaults).
int energy_parse(const json_t *obj, const char *path, EnergyModel *m, Err *e);
// The resolved constants as a scenario "energy" object (every key, defaults filled); energy_parse reads it back.
json_t *energy_model_json(const EnergyModel *m);

// Energy per MAC for a training precision, pJ: bits <= 8 int8, <= 16 fp16, otherwise fp32.
double energy_pj_per_mac(const EnergyModel *m, int precision_bits);
// The crossover distance d0 = sqrt(eps_fs / eps_mp), m (INFINITY for free space or eps_mp = 0).
double energy_crossover_m(const EnergyModel *m);
// Amplifier energy to carry one bit over distance_m, pJ/bit.
double energy_amp_pj_per_bit(const EnergyModel *m, double distance_m);
// E_tx(k, d) = k (E_elec + amp(d)) and E_rx(k) = k E_elec, joules.
double energy_tx_j(const EnergyModel *m, double bits, double distance_m);
double energy_rx_j(const EnergyModel *m, double bits);

// One agent's estimate.
void energy_agent(const EnergyModel *m, const EnergyAgentUse *use, EnergyEstimate *out);
// Sum of n estimates.
void energy_sum(const EnergyEstimate *per_agent, int n, EnergyEstimate *total);

// Distance matrices (n x n, diagonal 0) for EnergyAgentUse.distance_m.
// Every link m->distance_m.
void energy_distances_constant(const EnergyModel *m, int n, double *dist);
// From positions at n_samples instants, x[s * n + i], y[s * n + i] (metres): per pair, the distance at which
// the amplifier energy per bit equals its mean over the instants (so bits spread evenly over time cost what
// they would at the sampled distances). With no amplifier energy at all: the mean distance.
void energy_distances_from_positions(const EnergyModel *m, int n, int n_samples, const double *x, const double *y,
                                     double *dist);
// The same from node mobility over [0, t_end_s] (the run's training time since the start barrier): midpoints
// of min(ceil(t_end_s / step_s), ENERGY_MAX_DISTANCE_SAMPLES) equal intervals (one sample, at 0, if t_end_s <= 0).
// dist holds mobility_n_nodes(mob)^2 entries.
typedef struct Mobility Mobility;
void energy_distances_mobility(const EnergyModel *m, const Mobility *mob, double t_end_s, double *dist);

// The "energy" object of summary.json: totals (compute_j, tx_j, rx_j, comm_j, total_j), per_agent (with
// macs, bits_sent, bits_received), the constants (energy_model_json), their sources, and `distance`, a note
// saying where the link distances came from (e.g. "mobility, energy-equivalent mean over 812 s").
json_t *energy_json(const EnergyModel *m, const EnergyEstimate *per_agent, int n, const char *distance);

#endif
