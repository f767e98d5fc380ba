// Node mobility (static, scripted waypoints, random waypoint) and the wireless link model that turns
// two nodes' positions into one directed link's LinkParams over time. Formulas and sources: docs/link-model.md.
#ifndef MESHTRAIN_MOBILITY_H
#define MESHTRAIN_MOBILITY_H
#include <jansson.h>
#include <stdint.h>
#include "link.h"
#include "util.h"

#define RADIO_MAX_MCS 16

// One rung of the rate ladder: the SNR at which this MCS's packet error rate is per_ref, and its PHY rate.
typedef struct {
    double snr_db;               // threshold SNR, dB
    double rate_mbit;            // PHY data rate, Mbit/s
} RadioMcs;

// The link-model constants ("network.mobility.model"); defaults in radio_model_default.
typedef struct {
    double freq_mhz;             // carrier frequency, MHz (gives PL(d0) by Friis unless pl_d0_db is set)
    double d0_m;                 // reference distance of the log-distance model, m
    double pl_d0_db;             // path loss at d0, dB
    double exponent;             // path-loss exponent n (dimensionless)
    double tx_power_dbm;         // transmit power of nodes that do not set their own, dBm
    double noise_figure_db;      // receiver noise figure, dB
    double bandwidth_mhz;        // receiver noise bandwidth, MHz
    double noise_floor_dbm;      // derived: -174 dBm/Hz + 10 log10(bandwidth) + noise figure
    int packet_bytes;            // frame size the PER, airtime and rate refer to, bytes
    double per_ref;              // packet error rate of one attempt at an MCS's threshold SNR, 0..1
    double q_ref;                // derived: Q-function argument at which L-bit frames fail with per_ref
    int max_attempts;            // 802.11 transmit attempts per frame before it is dropped
    double attempt_overhead_us;  // per-attempt medium time besides the payload (DIFS, backoff, preamble, SIFS, ACK), us
    double base_delay_ms;        // one-way delay not derived from the radio (stack, driver, queueing), ms
    double base_jitter_ms;       // jitter not derived from the radio, ms
    int airtime_in_delay;        // 1: delay_ms includes the expected medium time per packet
    double max_range_m;          // links longer than this are cut, m; 0 = no distance cap
    double snr_min_db;           // links below this SNR are cut (the lowest usable threshold), dB
    int n_mcs;
    RadioMcs mcs[RADIO_MAX_MCS]; // ascending in snr_db and rate_mbit
} RadioModel;

// Every intermediate of one directed link's evaluation (for tests, logs and the energy model).
typedef struct {
    double distance_m;
    double path_loss_db;
    double rx_dbm;               // received power, dBm
    double snr_db;
    int mcs;                     // index into RadioModel.mcs; -1 when the link is cut
    double per;                  // one attempt's packet error rate, 0..1
    double attempts_mean;        // expected attempts per frame (delivered or dropped)
    double attempts_sd;          // standard deviation of the attempts per frame
    double airtime_us;           // medium time of one attempt, us
} RadioBudget;

// Built-in constants: 2.4 GHz 802.11n HT20, one spatial stream (see docs/link-model.md for sources).
void radio_model_default(RadioModel *rm);
// Fill the derived fields (pl_d0_db when pl_from_freq, noise_floor_dbm, q_ref) after constants changed.
void radio_model_derive(RadioModel *rm, int pl_from_freq);
double radio_path_loss_db(const RadioModel *rm, double distance_m);
// Packet error rate of one L-bit attempt at MCS k and the given SNR, 0..1.
double radio_per(const RadioModel *rm, int k, double snr_db);
// The directed link from a transmitter of tx_power_dbm to a receiver distance_m away.
void radio_eval(const RadioModel *rm, double tx_power_dbm, double distance_m, RadioBudget *b, LinkParams *out);

// What counts as a meaningful change of a directed link (any one suffices; up/down flips always do).
typedef struct {
    double delay_ms;             // |delay change| above this, ms
    double jitter_ms;            // |jitter change| above this, ms
    double loss_pct;             // |loss change| above this, percentage points
    double rate_pct;             // |rate change| above this share of the last emitted rate, percent
} RadioChangeRule;
int radio_changed(const RadioChangeRule *r, const LinkParams *last, const LinkParams *now);

typedef struct Mobility Mobility;

// Parse the scenario's "network.mobility" object. Errors read "PATH: what is wrong (expected what)",
// PATH being the JSON path below `path` (e.g. "network.mobility.nodes[3].waypoints[1].t"); the caller
// adds the file name. n_agents: nodes must be exactly that many (or omitted when random_waypoint is
// given); seed: drives random waypoint; duration_s: the timeline the schedule covers (> 0).
int mobility_parse(const json_t *obj, const char *path, int n_agents, uint64_t seed, double duration_s,
                   Mobility **out, Err *e);
void mobility_free(Mobility *m);

int mobility_n_nodes(const Mobility *m);
double mobility_step_s(const Mobility *m);
const RadioModel *mobility_model(const Mobility *m);
double mobility_tx_power_dbm(const Mobility *m, int node);

// Position of `node` at time t (s), metres. Before the first waypoint: the first; after the last: the last.
void mobility_position_at(const Mobility *m, int node, double t, double *x, double *y);
double mobility_distance_at(const Mobility *m, int a, int b, double t);
// The directed link from -> to at time t (asymmetric: `from`'s transmit power is used).
void mobility_budget_at(const Mobility *m, int from, int to, double t, RadioBudget *b, LinkParams *out);
void mobility_link_at(const Mobility *m, int from, int to, double t, LinkParams *out);

// Sample every step_s from 0 to duration_s; emit every directed pair at t = 0, then a LinkChange only when
// a pair changed meaningfully (RadioChangeRule) since its last emitted state. Ordered by time, from, to.
// *out is xmalloc'ed (free it); -1 with e set if the schedule would exceed MOBILITY_MAX_CHANGES.
#define MOBILITY_MAX_CHANGES 2000000
int mobility_schedule(const Mobility *m, LinkChange **out, int *n_out, Err *e);

#endif
