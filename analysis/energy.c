// The energy estimate: per-MAC compute energy (Horowitz, ISSCC 2014) and the first-order radio model
// (Heinzelman et al., HICSS 2000 and IEEE TWC 2002), with every constant a scenario option. The formulas,
// defaults and their sources are in docs/energy.md; tests in tests/test_energy.c.
#include "energy.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static const char SOURCE_DISTANCE[] = "distance_m (default 10 m) is an assumption, used only for links without node positions";

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


static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    default: return "a number";
    }
}

static void keys_check(PathErr *c, const json_t *obj, const char *path, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= !strcmp(*a, key);
        if (ok) continue;
        char p[300], list[300] = "";
        snprintf(p, sizeof p, "%.200s.%s", path, key);
        for (const char *const *a = allowed; *a; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
        path_fail(c, p, "unknown key (expected one of: %s)", list);
    }
}

// The object at obj[key] (NULL when absent or when it is not an object, then an error).
static const json_t *sub_object(PathErr *c, const json_t *obj, const char *path, const char *key, char *sub, size_t n) {
    snprintf(sub, n, "%.200s.%s", path, key);
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v && !json_is_object(v)) { path_fail(c, sub, "expected an object (got %s)", type_name(v)); return NULL; }
    return v;
}

// A number >= 0 at obj[key], left as it is when absent.
static void nonneg(PathErr *c, const json_t *obj, const char *path, const char *key, double *out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return;
    char p[300];
    snprintf(p, sizeof p, "%.200s.%s", path, key);
    if (!json_is_number(v)) { path_fail(c, p, "expected a number >= 0 (got %s)", type_name(v)); return; }
    double x = json_number_value(v);
    if (!(x >= 0) || !isfinite(x)) { path_fail(c, p, "%g is out of range (expected >= 0)", x); return; }
    *out = x;
}

// A string at obj[key] that must be one of choices (NULL-terminated); its index, or def when absent.
static int choice(PathErr *c, const json_t *obj, const char *path, const char *key, const char *const *choices, int def) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[300], list[200] = "";
    snprintf(p, sizeof p, "%.200s.%s", path, key);
    for (const char *const *a = choices; *a; a++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == choices ? "" : ", ", *a);
    if (!json_is_string(v)) { path_fail(c, p, "expected a string: one of %s (got %s)", list, type_name(v)); return def; }
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], json_string_value(v))) return i;
    path_fail(c, p, "unknown value '%.60s' (expected one of: %s)", json_string_value(v), list);
    return def;
}

static const char *const KEYS[] = {"model", "compute", "radio", NULL};
static const char *const KEYS_COMPUTE[] = {"pj_per_mac_fp32", "pj_per_mac_fp16", "pj_per_mac_int8", "backward_factor", NULL};
static const char *const KEYS_RADIO[] = {"path_loss", "e_elec_nj_per_bit", "eps_fs_pj_per_bit_m2", "eps_mp_pj_per_bit_m4",
                                         "distance_m", NULL};
static const char *const MODELS[] = {"default", NULL};
static const char *const PATH_LOSS[] = {"free-space", "two-regime", NULL};

static void parse_radio(PathErr *c, const json_t *r, const char *p, EnergyModel *m) {
    keys_check(c, r, p, KEYS_RADIO);
    m->path_loss = choice(c, r, p, "path_loss", PATH_LOSS, ENERGY_FREE_SPACE) == 1 ? ENERGY_TWO_REGIME : ENERGY_FREE_SPACE;
    if (m->path_loss == ENERGY_TWO_REGIME) {
        m->eps_fs_pj_per_bit_m2 = TWC2002_EPS_FS_PJ_PER_BIT_M2;
        m->eps_mp_pj_per_bit_m4 = TWC2002_EPS_MP_PJ_PER_BIT_M4;
    } else if (json_object_get(r, "eps_mp_pj_per_bit_m4")) {
        char q[300];
        snprintf(q, sizeof q, "%.200s.eps_mp_pj_per_bit_m4", p);
        path_fail(c, q, "only used when path_loss is \"two-regime\" (path_loss is \"free-space\": d^2 at every distance)");
    }
    nonneg(c, r, p, "e_elec_nj_per_bit", &m->e_elec_nj_per_bit);
    nonneg(c, r, p, "eps_fs_pj_per_bit_m2", &m->eps_fs_pj_per_bit_m2);
    if (m->path_loss == ENERGY_TWO_REGIME) nonneg(c, r, p, "eps_mp_pj_per_bit_m4", &m->eps_mp_pj_per_bit_m4);
    nonneg(c, r, p, "distance_m", &m->distance_m);
}

int energy_parse(const json_t *obj, const char *path, EnergyModel *m, Err *e) {
    PathErr c = {e, 0};
    const char *p = path && *path ? path : "energy";
    energy_model_default(m);
    if (!obj) return 0;
    if (!json_is_object(obj)) { path_fail(&c, p, "expected an object (got %s)", type_name(obj)); return -1; }
    keys_check(&c, obj, p, KEYS);
    choice(&c, obj, p, "model", MODELS, 0);
    char sub[300];
    const json_t *cp = sub_object(&c, obj, p, "compute", sub, sizeof sub);
    if (cp) {
        keys_check(&c, cp, sub, KEYS_COMPUTE);
        nonneg(&c, cp, sub, "pj_per_mac_fp32", &m->pj_per_mac_fp32);
        nonneg(&c, cp, sub, "pj_per_mac_fp16", &m->pj_per_mac_fp16);
        nonneg(&c, cp, sub, "pj_per_mac_int8", &m->pj_per_mac_int8);
        nonneg(&c, cp, sub, "backward_factor", &m->backward_factor);
    }
    const json_t *r = sub_object(&c, obj, p, "radio", sub, sizeof sub);
    if (r) parse_radio(&c, r, sub, m);
    if (c.failed) { energy_model_default(m); return -1; }
    return 0;
}

json_t *energy_model_json(const EnergyModel *m) {
    json_t *radio = json_pack("{s:s, s:f, s:f}", "path_loss", PATH_LOSS[m->path_loss == ENERGY_TWO_REGIME],
                              "e_elec_nj_per_bit", m->e_elec_nj_per_bit, "eps_fs_pj_per_bit_m2", m->eps_fs_pj_per_bit_m2);
    if (m->path_loss == ENERGY_TWO_REGIME) json_object_set_new(radio, "eps_mp_pj_per_bit_m4", json_real(m->eps_mp_pj_per_bit_m4));
    json_object_set_new(radio, "distance_m", json_real(m->distance_m));
    return json_pack("{s:s, s:{s:f, s:f, s:f, s:f}, s:o}", "model", "default", "compute", "pj_per_mac_fp32", m->pj_per_mac_fp32,
                     "pj_per_mac_fp16", m->pj_per_mac_fp16, "pj_per_mac_int8", m->pj_per_mac_int8, "backward_factor",
                     m->backward_factor, "radio", radio);
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
    out->compute_j = out->macs * energy_pj_per_mac(m, u->precision_bits) * PJ;
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
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "macs", t->macs, "bits_sent", t->bits_sent, "bits_received",
                     t->bits_received, "compute_j", t->compute_j, "tx_j", t->tx_j, "rx_j", t->rx_j, "comm_j", t->comm_j,
                     "total_j", t->total_j);
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
