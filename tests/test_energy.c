// Tests for the energy model: hand-computed compute and radio energies, precision, asymmetric traffic, the
// two radio regimes and their crossover, energy-equivalent distances from positions and mobility, the
// summary object, and parse errors that name the JSON path.
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "energy.h"
#include "mobility.h"

static void near(double got, double want, double rel, const char *what) {
    double tol = rel * fmax(fabs(want), 1e-300);
    cr_assert(fabs(got - want) <= tol, "%s: got %.12g, expected %.12g (relative tolerance %g)", what, got, want, rel);
}

static json_t *json_of(const char *text) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cr_assert(o, "test JSON does not parse (line %d: %s): %s", je.line, je.text, text);
    return o;
}

static EnergyModel parse_ok(const char *text) {
    json_t *o = json_of(text);
    EnergyModel m;
    Err e = {{0}};
    int rc = energy_parse(o, "energy", &m, &e);
    json_decref(o);
    cr_assert_eq(rc, 0, "energy_parse failed: %s\n  input: %s", e.msg, text);
    return m;
}

// The parse must fail and its message must contain every one of the NULL-terminated fragments.
static void parse_fails(const char *path, const char *text, const char *const *want) {
    json_t *o = json_of(text);
    EnergyModel m;
    Err e = {{0}};
    int rc = energy_parse(o, path, &m, &e);
    json_decref(o);
    cr_assert_eq(rc, -1, "expected a parse error for: %s", text);
    for (const char *const *w = want; *w; w++)
        cr_assert(strstr(e.msg, *w), "error message '%s' lacks '%s' (input: %s)", e.msg, *w, text);
}

#define FAILS(text, ...) parse_fails("energy", (text), (const char *const[]){__VA_ARGS__, NULL})

// A use of agent `self` among n with the given arrays (bits per peer, distance matrix).
static EnergyAgentUse use_of(int n, int self, const double *sent, const double *recv, const double *dist) {
    EnergyAgentUse u = {.n = n, .self = self, .samples = 0, .macs_per_sample = 0, .precision_bits = 32,
                        .bits_sent = sent, .bits_received = recv, .distance_m = dist};
    return u;
}

Test(energy, defaults_are_the_published_constants) {
    EnergyModel m;
    energy_model_default(&m);
    near(m.pj_per_mac_fp32, 4.6, 1e-15, "fp32 MAC = 3.7 pJ mult + 0.9 pJ add");
    near(m.pj_per_mac_fp16, 1.5, 1e-15, "fp16 MAC = 1.1 pJ mult + 0.4 pJ add");
    near(m.pj_per_mac_int8, 0.23, 1e-15, "int8 MAC = 0.2 pJ mult + 0.03 pJ add");
    near(m.backward_factor, 2, 0, "backward factor");
    cr_assert_eq(m.path_loss, ENERGY_FREE_SPACE);
    near(m.e_elec_nj_per_bit, 50, 0, "E_elec");
    near(m.eps_fs_pj_per_bit_m2, 100, 0, "eps_amp (HICSS 2000)");
    near(m.distance_m, 10, 0, "distance");
    cr_assert(isinf(energy_crossover_m(&m)), "free space has no crossover");
    // NULL, {} and the current scenarios' {"model": "default"} all give the defaults.
    EnergyModel a, b = parse_ok("{}"), c = parse_ok("{\"model\": \"default\"}");
    Err e = {{0}};
    cr_assert_eq(energy_parse(NULL, "energy", &a, &e), 0);
    cr_assert(!memcmp(&a, &m, sizeof m) && !memcmp(&b, &m, sizeof m) && !memcmp(&c, &m, sizeof m),
              "NULL, {} and {\"model\": \"default\"} must give the defaults");
}

Test(energy, compute_hand_computed) {
    EnergyModel m;
    energy_model_default(&m);
    double none[2] = {0, 0}, dist[4] = {0, 10, 10, 0};
    EnergyAgentUse u = use_of(2, 0, none, none, dist);
    u.samples = 1000, u.macs_per_sample = 1e6, u.precision_bits = 32;
    EnergyEstimate est;
    energy_agent(&m, &u, &est);
    // 1000 samples x 1e6 forward MACs x (1 forward + 2 backward) = 3e9 MACs; x 4.6 pJ = 1.38e-2 J.
    near(est.macs, 3e9, 1e-15, "training MACs");
    near(est.compute_j, 1.38e-2, 1e-12, "fp32 compute energy");
    near(est.tx_j + est.rx_j + est.comm_j, 0, 0, "no traffic, no communication energy");
    near(est.total_j, 1.38e-2, 1e-12, "total");
    // backward_factor 1 (a model that needs no weight gradient, say): 2e9 MACs x 4.6 pJ = 9.2e-3 J.
    m.backward_factor = 1;
    energy_agent(&m, &u, &est);
    near(est.compute_j, 9.2e-3, 1e-12, "compute energy with backward_factor 1");
}

Test(energy, precision_8_16_32) {
    EnergyModel m;
    energy_model_default(&m);
    double none[2] = {0, 0}, dist[4] = {0, 10, 10, 0};
    EnergyAgentUse u = use_of(2, 1, none, none, dist);
    u.samples = 1000, u.macs_per_sample = 1e6;
    EnergyEstimate e32, e16, e8;
    u.precision_bits = 32; energy_agent(&m, &u, &e32);
    u.precision_bits = 16; energy_agent(&m, &u, &e16);
    u.precision_bits = 8;  energy_agent(&m, &u, &e8);
    // 3e9 MACs x 0.23 pJ = 6.9e-4 J; x 1.5 pJ = 4.5e-3 J; fp32 / int8 = 4.6 / 0.23 = 20 (the "about 20x").
    near(e8.compute_j, 6.9e-4, 1e-12, "int8 compute energy");
    near(e16.compute_j, 4.5e-3, 1e-12, "fp16 compute energy");
    near(e32.compute_j / e8.compute_j, 20, 1e-12, "fp32 / int8 compute energy");
    near(energy_pj_per_mac(&m, 12), 1.5, 1e-15, "12 bits are charged as 16");
    near(energy_pj_per_mac(&m, 24), 4.6, 1e-15, "24 bits are charged as 32");
}

Test(energy, free_space_radio_hand_computed) {
    EnergyModel m;
    energy_model_default(&m);
    // 1 Mbit over 50 m: 1e6 x (50 nJ + 100 pJ x 50^2 = 250 nJ) = 1e6 x 300 nJ = 0.3 J;
    // receiving it 1e6 x 50 nJ = 0.05 J.
    near(energy_amp_pj_per_bit(&m, 50), 250000, 1e-15, "amplifier pJ/bit at 50 m");
    near(energy_tx_j(&m, 1e6, 50), 0.3, 1e-12, "E_tx(1 Mbit, 50 m)");
    near(energy_rx_j(&m, 1e6), 0.05, 1e-12, "E_rx(1 Mbit)");
    // Free space keeps d^2 far away: 1 Mbit over 200 m = 1e6 x (50 nJ + 100 pJ x 40000 = 4000 nJ) = 4.05 J.
    near(energy_tx_j(&m, 1e6, 200), 4.05, 1e-12, "E_tx(1 Mbit, 200 m)");
    // Two agents 50 m apart, each sends the other 1 Mbit: each pays 0.3 J + 0.05 J.
    double dist[4] = {0, 50, 50, 0}, s0[2] = {0, 1e6}, r0[2] = {0, 1e6};
    EnergyAgentUse u = use_of(2, 0, s0, r0, dist);
    EnergyEstimate est;
    energy_agent(&m, &u, &est);
    near(est.tx_j, 0.3, 1e-12, "agent tx");
    near(est.rx_j, 0.05, 1e-12, "agent rx");
    near(est.comm_j, 0.35, 1e-12, "agent comm");
    near(est.bits_sent, 1e6, 0, "bits sent");
}

Test(energy, asymmetric_sent_and_received) {
    EnergyModel m;
    energy_model_default(&m);
    // Three agents: 0-1 10 m, 0-2 30 m, 1-2 20 m.
    double dist[9] = {0, 10, 30, 10, 0, 20, 30, 20, 0};
    // Agent 0 sends 2 Mbit to 1 and receives 0.5 Mbit from 2 (its own entries hold junk: they must be ignored).
    double sent[3] = {7e9, 2e6, 0}, recv[3] = {7e9, 0, 5e5};
    EnergyAgentUse u = use_of(3, 0, sent, recv, dist);
    EnergyEstimate est;
    energy_agent(&m, &u, &est);
    // tx = 2e6 x (50 nJ + 100 pJ x 10^2 = 10 nJ) = 2e6 x 60 nJ = 0.12 J; rx = 5e5 x 50 nJ = 0.025 J
    // (the receiver pays E_elec whatever the distance).
    near(est.tx_j, 0.12, 1e-12, "tx, 2 Mbit over 10 m");
    near(est.rx_j, 0.025, 1e-12, "rx, 0.5 Mbit");
    near(est.bits_sent, 2e6, 0, "bits sent (self ignored)");
    near(est.bits_received, 5e5, 0, "bits received (self ignored)");
    // The reverse traffic: 0.5 Mbit sent to 2 (30 m) and 2 Mbit received from 1:
    // tx = 5e5 x (50 nJ + 100 pJ x 900 = 90 nJ) = 5e5 x 140 nJ = 0.07 J; rx = 2e6 x 50 nJ = 0.1 J.
    double sent2[3] = {0, 0, 5e5}, recv2[3] = {0, 2e6, 0};
    u = use_of(3, 0, sent2, recv2, dist);
    energy_agent(&m, &u, &est);
    near(est.tx_j, 0.07, 1e-12, "tx, 0.5 Mbit over 30 m");
    near(est.rx_j, 0.1, 1e-12, "rx, 2 Mbit");
    near(est.comm_j, 0.17, 1e-12, "comm");
    // Agent 2 sending 0.5 Mbit to agent 0 uses row 2 of the matrix (30 m): the same 0.07 J.
    double sent3[3] = {5e5, 0, 0}, none[3] = {0, 0, 0};
    u = use_of(3, 2, sent3, none, dist);
    energy_agent(&m, &u, &est);
    near(est.tx_j, 0.07, 1e-12, "agent 2's tx to agent 0");
}

Test(energy, two_regime_crossover) {
    EnergyModel m = parse_ok("{\"radio\": {\"path_loss\": \"two-regime\"}}");
    near(m.eps_fs_pj_per_bit_m2, 10, 0, "eps_fs (TWC 2002)");
    near(m.eps_mp_pj_per_bit_m4, 0.0013, 0, "eps_mp (TWC 2002)");
    // d0 = sqrt(10 / 0.0013) = sqrt(7692.3077) = 87.7058 m.
    double d0 = energy_crossover_m(&m);
    near(d0, 87.70580193070292, 1e-12, "crossover distance");
    // The two laws meet at d0: 10 x d0^2 = 0.0013 x d0^4 = 76923.08 pJ/bit.
    near(energy_amp_pj_per_bit(&m, d0 * (1 - 1e-9)), 76923.0769230769, 1e-8, "amp just below d0");
    near(energy_amp_pj_per_bit(&m, d0), 76923.0769230769, 1e-12, "amp at d0");
    // Below d0 the d^2 law applies: at 80 m 10 x 6400 = 64000 pJ (d^4 would give 53248).
    near(energy_amp_pj_per_bit(&m, 80), 64000, 1e-12, "amp at 80 m (free space)");
    // From d0 on the d^4 law: at 90 m 0.0013 x 90^4 = 85293 pJ (d^2 would give 81000).
    near(energy_amp_pj_per_bit(&m, 90), 85293, 1e-12, "amp at 90 m (multipath)");
    // 1 Mbit over 50 m: 1e6 x (50 nJ + 10 pJ x 2500 = 25 nJ) = 0.075 J;
    // over 100 m: 1e6 x (50 nJ + 0.0013 pJ x 1e8 = 130 nJ) = 0.18 J.
    near(energy_tx_j(&m, 1e6, 50), 0.075, 1e-12, "E_tx(1 Mbit, 50 m), two-regime");
    near(energy_tx_j(&m, 1e6, 100), 0.18, 1e-12, "E_tx(1 Mbit, 100 m), two-regime");
    // The amplifier energy never decreases with distance across the crossover.
    double last = 0;
    for (double d = 0; d < 200; d += 0.25) {
        double a = energy_amp_pj_per_bit(&m, d);
        cr_assert(a >= last, "amp decreases at %g m: %g < %g", d, a, last);
        last = a;
    }
}

Test(energy, parse_overrides_and_round_trip) {
    EnergyModel m =
        parse_ok("{\"model\": \"default\", \"compute\": {\"pj_per_mac_fp32\": 3.0, \"pj_per_mac_fp16\": 1,"
                 " \"pj_per_mac_int8\": 0.1, \"backward_factor\": 1.5}, \"radio\": {\"path_loss\": \"two-regime\","
                 " \"e_elec_nj_per_bit\": 40, \"eps_fs_pj_per_bit_m2\": 20, \"eps_mp_pj_per_bit_m4\": 0.002,"
                 " \"distance_m\": 25}}");
    near(m.pj_per_mac_fp32, 3, 0, "fp32");
    near(m.pj_per_mac_fp16, 1, 0, "fp16 (an integer is a number)");
    near(m.pj_per_mac_int8, 0.1, 0, "int8");
    near(m.backward_factor, 1.5, 0, "backward");
    cr_assert_eq(m.path_loss, ENERGY_TWO_REGIME);
    near(m.e_elec_nj_per_bit, 40, 0, "E_elec");
    near(m.eps_fs_pj_per_bit_m2, 20, 0, "eps_fs");
    near(m.eps_mp_pj_per_bit_m4, 0.002, 0, "eps_mp");
    near(m.distance_m, 25, 0, "distance");
    near(energy_crossover_m(&m), 100, 1e-12, "d0 = sqrt(20 / 0.002)");
    // free-space keeps its own default eps (100) unless given.
    EnergyModel f = parse_ok("{\"radio\": {\"path_loss\": \"free-space\", \"e_elec_nj_per_bit\": 0}}");
    near(f.eps_fs_pj_per_bit_m2, 100, 0, "free-space eps default");
    near(f.e_elec_nj_per_bit, 0, 0, "zero is allowed");
    // The resolved object reads back to the same model, in both radio modes.
    const EnergyModel *ms[2] = {&m, &f};
    for (int i = 0; i < 2; i++) {
        json_t *o = energy_model_json(ms[i]);
        EnergyModel back;
        Err e = {{0}};
        cr_assert_eq(energy_parse(o, "energy", &back, &e), 0, "energy_model_json does not parse back: %s", e.msg);
        cr_assert(!memcmp(&back, ms[i], sizeof back), "round trip %d changed the model", i);
        json_decref(o);
    }
}

Test(energy, parse_errors_name_the_path) {
    FAILS("{\"modle\": \"default\"}", "energy.modle: unknown key", "expected one of: model, compute, radio");
    FAILS("{\"radio\": {\"eps_amp_pj_per_bit_m2\": 100}}", "energy.radio.eps_amp_pj_per_bit_m2: unknown key",
          "eps_fs_pj_per_bit_m2");
    FAILS("{\"compute\": {\"pj_per_mac\": 4.6}}", "energy.compute.pj_per_mac: unknown key", "pj_per_mac_fp32");
    FAILS("{\"radio\": {\"e_elec_nj_per_bit\": -1}}",
          "energy.radio.e_elec_nj_per_bit: -1 is out of range (expected >= 0)");
    FAILS("{\"compute\": {\"backward_factor\": -0.5}}",
          "energy.compute.backward_factor: -0.5 is out of range (expected >= 0)");
    FAILS("{\"compute\": {\"pj_per_mac_fp32\": \"4.6\"}}",
          "energy.compute.pj_per_mac_fp32: expected a number >= 0 (got a string)");
    FAILS("{\"radio\": {\"distance_m\": true}}", "energy.radio.distance_m: expected a number >= 0 (got a boolean)");
    FAILS("{\"radio\": [1]}", "energy.radio: expected an object (got an array)");
    FAILS("{\"model\": \"horowitz\"}", "energy.model: unknown value 'horowitz' (expected one of: default)");
    FAILS("{\"model\": 1}", "energy.model: expected a string");
    FAILS("{\"radio\": {\"path_loss\": \"d4\"}}", "energy.radio.path_loss: unknown value 'd4'",
          "free-space, two-regime");
    FAILS("{\"radio\": {\"eps_mp_pj_per_bit_m4\": 0.0013}}",
          "energy.radio.eps_mp_pj_per_bit_m4: only used when path_loss is");
    FAILS("{\"radio\": {\"path_loss\": \"two-regime\", \"eps_mp_pj_per_bit_m4\": -0.0013}}",
          "energy.radio.eps_mp_pj_per_bit_m4: -0.0013 is out of range");
    FAILS("[]", "energy: expected an object (got an array)");
    // The caller's path prefixes every message.
    parse_fails("sweep[2].energy", "{\"radio\": {\"distance_m\": -3}}",
                (const char *const[]){"sweep[2].energy.radio.distance_m: -3 is out of range", NULL});
    // A failed parse leaves the defaults, not a half-parsed model.
    json_t *o = json_of("{\"compute\": {\"pj_per_mac_fp32\": 1}, \"radio\": {\"distance_m\": -3}}");
    EnergyModel m, d;
    Err e = {{0}};
    cr_assert_eq(energy_parse(o, "energy", &m, &e), -1);
    energy_model_default(&d);
    cr_assert(!memcmp(&m, &d, sizeof m), "a failed parse must leave the defaults");
    json_decref(o);
}

Test(energy, distances_constant_and_from_positions) {
    EnergyModel m;
    energy_model_default(&m);
    double dist[9];
    energy_distances_constant(&m, 3, dist);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) near(dist[i * 3 + j], i == j ? 0 : 10, 0, "constant distance");
    // Two nodes 10 m apart at one instant and 30 m at the other. Free space: mean amp = 100 x (100 + 900) / 2
    // = 50000 pJ/bit, the energy-equivalent distance sqrt(500) = 22.36 m (not the mean 20 m).
    double x[4] = {0, 10, 0, 30}, y[4] = {0, 0, 0, 0}, d2[4];
    energy_distances_from_positions(&m, 2, 2, x, y, d2);
    near(d2[1], sqrt(500), 1e-12, "energy-equivalent distance, free space");
    near(d2[2], d2[1], 0, "symmetric");
    near(d2[0] + d2[3], 0, 0, "diagonal");
    // Two-regime at 50 m and 100 m: mean amp = (10 x 2500 + 0.0013 x 1e8) / 2 = (25000 + 130000) / 2 = 77500 pJ,
    // above 10 x d0^2 = 76923 so the d^4 law inverts it: (77500 / 0.0013)^(1/4) = 87.87 m.
    EnergyModel t = parse_ok("{\"radio\": {\"path_loss\": \"two-regime\"}}");
    double x2[4] = {0, 50, 0, 100};
    energy_distances_from_positions(&t, 2, 2, x2, y, d2);
    near(d2[1], pow(77500 / 0.0013, 0.25), 1e-12, "energy-equivalent distance, two-regime");
    near(energy_amp_pj_per_bit(&t, d2[1]), 77500, 1e-12, "amp at the equivalent distance = mean amp");
    // Both below d0 (10 m and 30 m): the d^2 law inverts it, sqrt(500) again.
    energy_distances_from_positions(&t, 2, 2, x, y, d2);
    near(d2[1], sqrt(500), 1e-12, "two-regime below d0");
    // No amplifier energy: the distance does not matter, report the mean.
    m.eps_fs_pj_per_bit_m2 = 0;
    energy_distances_from_positions(&m, 2, 2, x, y, d2);
    near(d2[1], 20, 1e-12, "mean distance when the amplifier costs nothing");
}

static Mobility *mobility_of(const char *text, int n, double duration_s) {
    json_t *o = json_of(text);
    Mobility *mob = NULL;
    Err e = {{0}};
    int rc = mobility_parse(o, "network.mobility", n, 1, duration_s, &mob, &e);
    json_decref(o);
    cr_assert_eq(rc, 0, "mobility_parse failed: %s", e.msg);
    return mob;
}

Test(energy, distances_from_mobility) {
    EnergyModel m;
    energy_model_default(&m);
    double d[9];
    // Static nodes: (0,0), (30,40), (0,40): 50 m, 40 m, 30 m whatever the time.
    Mobility *mob = mobility_of("{\"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [30, 40]}, {\"pos\": [0, 40]}]}", 3, 100);
    energy_distances_mobility(&m, mob, 100, d);
    near(d[0 * 3 + 1], 50, 1e-12, "0-1");
    near(d[0 * 3 + 2], 40, 1e-12, "0-2");
    near(d[2 * 3 + 1], 30, 1e-12, "2-1");
    mobility_free(mob);
    // Node 1 moves from 0 to 100 m over 100 s; step_s 1 gives 100 samples at t = 0.5, 1.5, ..., 99.5 where d = t.
    // Free space: mean d^2 = (sum_k (k + 0.5)^2) / 100 = (328350 + 4950 + 25) / 100 = 3333.25, d = 57.7343 m
    // (the continuous mean gives 100 / sqrt(3) = 57.735 m).
    mob = mobility_of("{\"step_s\": 1, \"nodes\": [{\"pos\": [0, 0]},"
                      " {\"waypoints\": [{\"t\": 0, \"pos\": [0, 0]}, {\"t\": 100, \"pos\": [100, 0]}]}]}", 2, 100);
    energy_distances_mobility(&m, mob, 100, d);
    near(d[1], sqrt(3333.25), 1e-12, "energy-equivalent distance of a moving node");
    // The run ended at 50 s: samples at 0.5 .. 49.5, mean d^2 = (40425 + 1225 + 12.5) / 50 = 833.25.
    energy_distances_mobility(&m, mob, 50, d);
    near(d[1], sqrt(833.25), 1e-12, "averaged over the run's time only");
    // No time elapsed: the positions at t = 0.
    energy_distances_mobility(&m, mob, 0, d);
    near(d[1], 0, 0, "t = 0");
    mobility_free(mob);
}

Test(energy, summary_object) {
    EnergyModel m;
    energy_model_default(&m);
    double dist[4] = {0, 50, 50, 0}, s0[2] = {0, 1e6}, r0[2] = {0, 0}, s1[2] = {0, 0}, r1[2] = {1e6, 0};
    EnergyEstimate est[2];
    EnergyAgentUse u0 = use_of(2, 0, s0, r0, dist), u1 = use_of(2, 1, s1, r1, dist);
    u0.samples = u1.samples = 1000, u0.macs_per_sample = u1.macs_per_sample = 1e6;
    energy_agent(&m, &u0, &est[0]);
    energy_agent(&m, &u1, &est[1]);
    json_t *o = energy_json(&m, est, 2, "constant 10 m");
    // Compute 2 x 0.0138 J; 1 Mbit over 50 m: tx 0.3 J (agent 0), rx 0.05 J (agent 1).
    near(json_number_value(json_object_get(o, "compute_j")), 0.0276, 1e-12, "compute_j");
    near(json_number_value(json_object_get(o, "tx_j")), 0.3, 1e-12, "tx_j");
    near(json_number_value(json_object_get(o, "rx_j")), 0.05, 1e-12, "rx_j");
    near(json_number_value(json_object_get(o, "comm_j")), 0.35, 1e-12, "comm_j");
    near(json_number_value(json_object_get(o, "total_j")), 0.3776, 1e-12, "total_j");
    json_t *pa = json_object_get(o, "per_agent");
    cr_assert_eq(json_array_size(pa), 2);
    near(json_number_value(json_object_get(json_array_get(pa, 1), "rx_j")), 0.05, 1e-12, "agent 1 rx_j");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(pa, 1), "agent")), 1);
    cr_assert(json_is_null(json_object_get(o, "crossover_m")), "free space: crossover null");
    cr_assert_str_eq(json_string_value(json_object_get(o, "distance")), "constant 10 m");
    json_t *src = json_object_get(o, "sources");
    cr_assert(strstr(json_string_value(json_object_get(src, "compute")), "Horowitz"), "compute source");
    cr_assert(strstr(json_string_value(json_object_get(src, "radio")), "HICSS 2000"), "radio source");
    near(json_number_value(
             json_object_get(json_object_get(json_object_get(o, "constants"), "radio"), "eps_fs_pj_per_bit_m2")),
         100, 0, "constants.radio.eps_fs_pj_per_bit_m2");
    json_decref(o);
}
