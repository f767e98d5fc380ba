// The energy estimate: per-MAC compute energy (Horowitz, ISSCC 2014) and the first-order radio model
// (Heinzelman et al., HICSS 2000 and IEEE TWC 2002), with every constant a scenario option. The formulas,
// defaults and their sources are in docs/energy.md; tests in tests/test_energy.c.
#include "energy.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonr.h"
#include "mobility.h"

#define PJ 1e-12
#define NJ 1e-9

// Defaults of the two radio models: each paper's constants are a set, so path_loss picks the set.
#define HICSS2000_EPS_AMP_PJ_PER_BIT_M2 100.0
#define TWC2002_EPS_FS_PJ_PER_BIT_M2 10.0
#define TWC2002_EPS_MP_PJ_PER_BIT_M4 0.0013

static const char SOURCE_COMPUTE[] =
    "Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, 45 nm 0.9 V: "
    "fp32 add 0.9 + mult 3.7 pJ, fp16 0.4 + 1.1 pJ, int8 0.03 + 0.2 pJ; backward = 2 x forward MACs (assumption)";
static const char SOURCE_RADIO_FS[] =
    "first-order radio model, Heinzelman, Chandrakasan, Balakrishnan, HICSS 2000, Table 1: "
    "E_elec 50 nJ/bit, eps_amp 100 pJ/bit/m^2 (d^2 at every distance)";
static const char SOURCE_RADIO_TR[] =
    "first-order radio model, Heinzelman, Chandrakasan, Balakrishnan, IEEE Trans. Wireless Commun. 1(4), 2002: "
    "E_elec 50 nJ/bit, eps_fs 10 pJ/bit/m^2 (d^2 below d0), eps_mp 0.0013 pJ/bit/m^4 (d^4 from d0 on)";
static const char SOURCE_DISTANCE[] =
    "distance_m (default 10 m) is an assumption, used only for links without node positions";

void energy_model_default(EnergyModel *m) {
    memset(m, 0, sizeof *m);
    m->pj_per_mac_fp32 = 3.7 + 0.9;
    m->pj_per_mac_fp16 = 1.1 + 0.4;
    m->pj_per_mac_int8 = 0.2 + 0.03;
    m->backward_factor = 2.0;
    m->path_loss = ENERGY_FREE_SPACE;
    m->e_elec_nj_per_bit = 50.0;
    m->eps_fs_pj_per_bit_m2 = HICSS2000_EPS_AMP_PJ_PER_BIT_M2;
    m->eps_mp_pj_per_bit_m4 = 0;
    m->distance_m = 10.0;
}

// ---- parsing ----

// The energy reader's wording ("energy.radio: expected an object (got an array)"), kept as users know it.
#define ENERGY_WORDS (JSONR_RANGE_WORDS | JSONR_TYPE_GOT)

static const char *const KEYS[] = {"model", "compute", "radio", NULL};
static const char *const KEYS_COMPUTE[] = {"pj_per_mac_fp32", "pj_per_mac_fp16", "pj_per_mac_int8", "backward_factor",
                                           NULL};
static const char *const KEYS_RADIO[] = {"path_loss", "e_elec_nj_per_bit", "eps_fs_pj_per_bit_m2",
                                         "eps_mp_pj_per_bit_m4", "distance_m", NULL};
static const char *const PATH_LOSS[] = {"free-space", "two-regime"};

// A number >= 0 at obj[key], left as it is when absent.
static void nonneg(JsonR *r, const json_t *obj, const char *path, const char *key, double *out) {
    *out = jsonr_num(r, obj, path, key, 0, INFINITY, *out);
}

static void parse_radio(JsonR *r, const json_t *o, const char *p, EnergyModel *m) {
    jsonr_keys(r, o, p, KEYS_RADIO, NULL);
    int two = jsonr_choice(r, o, p, "path_loss", "free-space, two-regime", 0) == 1;
    m->path_loss = two ? ENERGY_TWO_REGIME : ENERGY_FREE_SPACE;
    if (two) {
        m->eps_fs_pj_per_bit_m2 = TWC2002_EPS_FS_PJ_PER_BIT_M2;
        m->eps_mp_pj_per_bit_m4 = TWC2002_EPS_MP_PJ_PER_BIT_M4;
    } else if (json_object_get(o, "eps_mp_pj_per_bit_m4")) {
        char q[JSONR_PATH_LEN];
        jsonr_path(q, p, "eps_mp_pj_per_bit_m4");
        jsonr_fail(r, q, "only used when path_loss is \"two-regime\" (path_loss is \"free-space\": d^2 at every "
                   "distance)");
    }
    nonneg(r, o, p, "e_elec_nj_per_bit", &m->e_elec_nj_per_bit);
    nonneg(r, o, p, "eps_fs_pj_per_bit_m2", &m->eps_fs_pj_per_bit_m2);
    if (two) nonneg(r, o, p, "eps_mp_pj_per_bit_m4", &m->eps_mp_pj_per_bit_m4);
    nonneg(r, o, p, "distance_m", &m->distance_m);
}

int energy_parse(const json_t *obj, const char *path, EnergyModel *m, Err *e) {
    JsonR r = {.e = e, .words = ENERGY_WORDS};
    const char *p = path && *path ? path : "energy";
    energy_model_default(m);
    if (!obj) return 0;
    if (!jsonr_is_object(&r, obj, p)) return -1;
    jsonr_keys(&r, obj, p, KEYS, NULL);
    jsonr_choice(&r, obj, p, "model", "default", 0);
    char sub[JSONR_PATH_LEN];
    const json_t *cp = jsonr_obj(&r, obj, p, "compute");
    jsonr_path(sub, p, "compute");
    if (cp) {
        jsonr_keys(&r, cp, sub, KEYS_COMPUTE, NULL);
        nonneg(&r, cp, sub, "pj_per_mac_fp32", &m->pj_per_mac_fp32);
        nonneg(&r, cp, sub, "pj_per_mac_fp16", &m->pj_per_mac_fp16);
        nonneg(&r, cp, sub, "pj_per_mac_int8", &m->pj_per_mac_int8);
        nonneg(&r, cp, sub, "backward_factor", &m->backward_factor);
    }
    const json_t *rd = jsonr_obj(&r, obj, p, "radio");
    jsonr_path(sub, p, "radio");
    if (rd) parse_radio(&r, rd, sub, m);
    if (r.failed) { energy_model_default(m); return -1; }
    return 0;
}

json_t *energy_model_json(const EnergyModel *m) {
    json_t *radio =
        json_pack("{s:s, s:f, s:f}", "path_loss", PATH_LOSS[m->path_loss == ENERGY_TWO_REGIME], "e_elec_nj_per_bit",
                  m->e_elec_nj_per_bit, "eps_fs_pj_per_bit_m2", m->eps_fs_pj_per_bit_m2);
    if (m->path_loss == ENERGY_TWO_REGIME)
        json_object_set_new(radio, "eps_mp_pj_per_bit_m4", json_real(m->eps_mp_pj_per_bit_m4));
    json_object_set_new(radio, "distance_m", json_real(m->distance_m));
    return json_pack("{s:s, s:{s:f, s:f, s:f, s:f}, s:o}", "model", "default", "compute", "pj_per_mac_fp32",
                     m->pj_per_mac_fp32, "pj_per_mac_fp16", m->pj_per_mac_fp16, "pj_per_mac_int8", m->pj_per_mac_int8,
                     "backward_factor", m->backward_factor, "radio", radio);
}

// ---- the formulas ----

double energy_pj_per_mac(const EnergyModel *m, int precision_bits) {
    if (precision_bits <= 8) return m->pj_per_mac_int8;
    if (precision_bits <= 16) return m->pj_per_mac_fp16;
    return m->pj_per_mac_fp32;
}

double energy_crossover_m(const EnergyModel *m) {
    if (m->path_loss != ENERGY_TWO_REGIME || m->eps_mp_pj_per_bit_m4 <= 0) return INFINITY;
    return sqrt(m->eps_fs_pj_per_bit_m2 / m->eps_mp_pj_per_bit_m4);
}

double energy_amp_pj_per_bit(const EnergyModel *m, double d) {
    if (d < energy_crossover_m(m)) return m->eps_fs_pj_per_bit_m2 * d * d;
    return m->eps_mp_pj_per_bit_m4 * d * d * d * d;
}

// The distance at which the amplifier costs amp pJ/bit (the inverse of energy_amp_pj_per_bit, which is
// continuous and non-decreasing); `fallback` when no distance costs anything.
static double amp_inverse(const EnergyModel *m, double amp, double fallback) {
    double d0 = energy_crossover_m(m), fs = m->eps_fs_pj_per_bit_m2, mp = m->eps_mp_pj_per_bit_m4;
    if (fs > 0 && (isinf(d0) || amp <= fs * d0 * d0)) return sqrt(amp / fs);
    if (m->path_loss == ENERGY_TWO_REGIME && mp > 0) return sqrt(sqrt(amp / mp));
    return fallback;
}

double energy_tx_j(const EnergyModel *m, double bits, double distance_m) {
    return bits * (m->e_elec_nj_per_bit * NJ + energy_amp_pj_per_bit(m, distance_m) * PJ);
}

double energy_rx_j(const EnergyModel *m, double bits) { return bits * m->e_elec_nj_per_bit * NJ; }

void energy_agent(const EnergyModel *m, const EnergyAgentUse *u, EnergyEstimate *out) {
    memset(out, 0, sizeof *out);
    out->macs = u->samples * u->macs_per_sample * (1 + m->backward_factor);
    // With wgrad_fp32 the weight gradient (one forward's worth of MACs, at most backward_factor of them)
    // multiplies 8-bit activations by fp32 errors: charged at the fp32 energy, the rest at the precision's.
    double wg = u->wgrad_fp32 ? fmin(1.0, m->backward_factor) : 0.0;
    double low = u->samples * u->macs_per_sample * (1 + m->backward_factor - wg);
    out->compute_j = (low * energy_pj_per_mac(m, u->precision_bits) +
                      (out->macs - low) * energy_pj_per_mac(m, 32)) * PJ;
    for (int j = 0; j < u->n; j++) {
        if (j == u->self) continue;
        out->bits_sent += u->bits_sent[j];
        out->bits_received += u->bits_received[j];
        out->tx_j += energy_tx_j(m, u->bits_sent[j], u->distance_m[(size_t)u->self * (size_t)u->n + (size_t)j]);
    }
    out->rx_j = energy_rx_j(m, out->bits_received);
    out->comm_j = out->tx_j + out->rx_j;
    out->total_j = out->compute_j + out->comm_j;
}

void energy_sum(const EnergyEstimate *per, int n, EnergyEstimate *t) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < n; i++) {
        t->macs += per[i].macs, t->bits_sent += per[i].bits_sent, t->bits_received += per[i].bits_received;
        t->compute_j += per[i].compute_j, t->tx_j += per[i].tx_j, t->rx_j += per[i].rx_j;
        t->comm_j += per[i].comm_j, t->total_j += per[i].total_j;
    }
}

// ---- link distances ----

void energy_distances_constant(const EnergyModel *m, int n, double *dist) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) dist[(size_t)i * (size_t)n + (size_t)j] = i == j ? 0 : m->distance_m;
}

// Accumulate one instant's positions: per pair (a < b), the amplifier energy in dist[a][b], the distance in dist[b][a].
static void accumulate(const EnergyModel *m, int n, const double *x, const double *y, double *dist) {
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            double d = hypot(x[a] - x[b], y[a] - y[b]);
            dist[(size_t)a * (size_t)n + (size_t)b] += energy_amp_pj_per_bit(m, d);
            dist[(size_t)b * (size_t)n + (size_t)a] += d;
        }
}

// Turn the sums of accumulate into energy-equivalent distances, symmetric, diagonal 0.
static void finish(const EnergyModel *m, int n, int n_samples, double *dist) {
    for (int a = 0; a < n; a++) {
        dist[(size_t)a * (size_t)n + (size_t)a] = 0;
        for (int b = a + 1; b < n; b++) {
            double *up = &dist[(size_t)a * (size_t)n + (size_t)b], *lo = &dist[(size_t)b * (size_t)n + (size_t)a];
            double d = amp_inverse(m, *up / n_samples, *lo / n_samples);
            *up = *lo = d;
        }
    }
}

void energy_distances_from_positions(const EnergyModel *m, int n, int n_samples, const double *x, const double *y,
                                     double *dist) {
    memset(dist, 0, (size_t)n * (size_t)n * sizeof *dist);
    if (n_samples < 1) { energy_distances_constant(m, n, dist); return; }
    for (int s = 0; s < n_samples; s++) accumulate(m, n, x + (size_t)s * (size_t)n, y + (size_t)s * (size_t)n, dist);
    finish(m, n, n_samples, dist);
}

void energy_distances_mobility(const EnergyModel *m, const Mobility *mob, double t_end_s, double *dist) {
    int n = mobility_n_nodes(mob);
    double step = mobility_step_s(mob);
    int s_n = 1;
    if (t_end_s > 0) {
        double want = ceil(t_end_s / step);
        s_n = want > ENERGY_MAX_DISTANCE_SAMPLES ? ENERGY_MAX_DISTANCE_SAMPLES : want < 1 ? 1 : (int)want;
    }
    double *x = xmalloc((size_t)n * sizeof *x), *y = xmalloc((size_t)n * sizeof *y);
    memset(dist, 0, (size_t)n * (size_t)n * sizeof *dist);
    for (int s = 0; s < s_n; s++) {
        double t = t_end_s > 0 ? ((double)s + 0.5) * t_end_s / (double)s_n : 0;
        for (int i = 0; i < n; i++) mobility_position_at(mob, i, t, &x[i], &y[i]);
        accumulate(m, n, x, y, dist);
    }
    finish(m, n, s_n, dist);
    free(x), free(y);
}

// ---- summary.json ----

static json_t *estimate_json(const EnergyEstimate *t) {
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "macs", t->macs, "bits_sent", t->bits_sent,
                     "bits_received", t->bits_received, "compute_j", t->compute_j, "tx_j", t->tx_j, "rx_j", t->rx_j,
                     "comm_j", t->comm_j, "total_j", t->total_j);
}

json_t *energy_json(const EnergyModel *m, const EnergyEstimate *per_agent, int n, const char *distance) {
    EnergyEstimate t;
    energy_sum(per_agent, n, &t);
    json_t *o = estimate_json(&t);
    json_t *agents = json_array();
    for (int i = 0; i < n; i++) {
        json_t *a = json_pack("{s:i}", "agent", i), *est = estimate_json(&per_agent[i]);
        json_object_update(a, est);
        json_decref(est);
        json_array_append_new(agents, a);
    }
    json_object_set_new(o, "per_agent", agents);
    json_object_set_new(o, "constants", energy_model_json(m));
    double d0 = energy_crossover_m(m);
    json_object_set_new(o, "crossover_m", isinf(d0) ? json_null() : json_real(d0));
    json_object_set_new(o, "distance", json_string(distance ? distance : ""));
    json_object_set_new(o, "sources", json_pack("{s:s, s:s, s:s}", "compute", SOURCE_COMPUTE, "radio",
                                                m->path_loss == ENERGY_TWO_REGIME ? SOURCE_RADIO_TR : SOURCE_RADIO_FS,
                                                "distance", SOURCE_DISTANCE));
    return o;
}
