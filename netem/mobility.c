// Node mobility and the wireless link model: positions over time (static, scripted, random waypoint),
// log-distance path loss -> SNR -> MCS, PER, retries -> one directed link's LinkParams, sampled into a schedule.
#include "mobility.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "jsonr.h"
#include "rng.h"

#define LIGHT_SPEED_MPS 299792458.0
#define THERMAL_NOISE_DBM_HZ (-174.0)   // kT at 290 K, dBm per Hz
#define MAX_KNOTS_PER_NODE 100000       // waypoints (scripted or generated) per node
#define MAX_SAMPLES 10000000L           // schedule samples (duration_s / step_s + 1)
#define MAX_COORD_M 1e7                 // |x|, |y| and area sides, m
#define RATE_FLOOR_MBIT 1e-3            // an up link never reports rate 0 (which LinkParams reads as unlimited)
#define LOSS_FLOOR_PCT 1e-6             // residual loss below this (one frame in 1e8) is reported as 0, percent
// Random-waypoint streams live far above agent ids so they never share a stream with other draws.
#define RWP_STREAM 0x6d6f62696c000000ULL

typedef struct { double t_s, x_m, y_m; } Knot;
typedef struct { Knot *k; int n, cap; double tx_power_dbm; } Track;

struct Mobility {
    int n;
    double step_s, duration_s;
    RadioModel rm;
    RadioChangeRule rule;
    Track *tracks;              // [n]
};

// ---------------------------------------------------------------------------------------------------
// The radio: path loss, SNR, MCS, PER, retries.

// HT20, one spatial stream, 800 ns guard interval: the HT MCS rates of IEEE 802.11-2016 clause 19; thresholds
// are its receiver minimum input sensitivities (19.3.19.1: -82 ... -64 dBm) less the default -91 dBm noise floor.
static const RadioMcs HT20_MCS[] = {
    {9, 6.5}, {12, 13}, {14, 19.5}, {17, 26}, {21, 39}, {25, 52}, {26, 58.5}, {27, 65},
};

static double q_func(double x) { return 0.5 * erfc(x / 1.4142135623730951); }

void radio_model_default(RadioModel *rm) {
    memset(rm, 0, sizeof *rm);
    rm->freq_mhz = 2437;              // 2.4 GHz channel 6
    rm->d0_m = 1;
    rm->exponent = 3.0;               // Rappaport Table 4.2: urban 2.7-3.5
    rm->tx_power_dbm = 20;            // ETSI EN 300 328 limit at 2.4 GHz: 100 mW EIRP
    rm->noise_figure_db = 10;
    rm->bandwidth_mhz = 20;
    rm->packet_bytes = 1500;
    rm->per_ref = 0.10;               // 802.11 sensitivity is defined at PER <= 10 %
    rm->max_attempts = 7;             // dot11ShortRetryLimit (a "try" limit)
    rm->attempt_overhead_us = 170;    // DIFS 28 + mean backoff 67.5 + HT preamble 36 + SIFS 10 + ACK 28
    rm->base_delay_ms = 1.0;
    rm->base_jitter_ms = 0.5;
    rm->airtime_in_delay = 0;   // netem's rate already delays each packet by its serialization time
    rm->max_range_m = 0;
    rm->snr_min_db = 7;
    rm->n_mcs = (int)(sizeof HT20_MCS / sizeof HT20_MCS[0]);
    memcpy(rm->mcs, HT20_MCS, sizeof HT20_MCS);
    radio_model_derive(rm, 1);
}

void radio_model_derive(RadioModel *rm, int pl_from_freq) {
    if (pl_from_freq)   // Friis free-space loss at d0: 20 log10(4 pi d0 f / c)
        rm->pl_d0_db = 20 * log10(4 * M_PI * rm->d0_m * rm->freq_mhz * 1e6 / LIGHT_SPEED_MPS);
    rm->noise_floor_dbm = THERMAL_NOISE_DBM_HZ + 10 * log10(rm->bandwidth_mhz * 1e6) + rm->noise_figure_db;
    // The bit error rate at which an L-bit frame fails with probability per_ref, then Q^-1 of it by bisection.
    double bits = 8.0 * rm->packet_bytes;
    double ber = -expm1(log1p(-rm->per_ref) / bits);
    double lo = 0, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-14; i++) {
        double mid = 0.5 * (lo + hi);
        if (q_func(mid) > ber) lo = mid; else hi = mid;
    }
    rm->q_ref = 0.5 * (lo + hi);
}

double radio_path_loss_db(const RadioModel *rm, double distance_m) {
    double d = distance_m > rm->d0_m ? distance_m : rm->d0_m;   // the model holds only beyond d0
    return rm->pl_d0_db + 10 * rm->exponent * log10(d / rm->d0_m);
}

// The curve of uncoded BPSK (BER = Q(sqrt(2 Eb/N0))), shifted so that PER = per_ref at the MCS threshold.
double radio_per(const RadioModel *rm, int k, double snr_db) {
    double x = rm->q_ref * pow(10, (snr_db - rm->mcs[k].snr_db) / 20);
    double ber = q_func(x);
    if (ber >= 1) return 1;
    double per = -expm1(8.0 * rm->packet_bytes * log1p(-ber));
    return per < 0 ? 0 : per > 1 ? 1 : per;
}

// Attempts per frame T = min(Geometric(1 - per), A): mean and standard deviation.
static void attempts_stats(double per, int max_attempts, double *mean, double *sd) {
    double m1 = 0, m2 = 0, reach = 1;   // reach = P(attempt i happens) = per^(i-1)
    for (int i = 1; i <= max_attempts; i++) {
        double p_end = i < max_attempts ? reach * (1 - per) : reach;
        m1 += i * p_end;
        m2 += (double)i * i * p_end;
        reach *= per;
    }
    *mean = m1;
    double var = m2 - m1 * m1;
    *sd = var > 0 ? sqrt(var) : 0;
}

void radio_eval(const RadioModel *rm, double tx_power_dbm, double distance_m, RadioBudget *b, LinkParams *out) {
    memset(b, 0, sizeof *b);
    memset(out, 0, sizeof *out);
    b->distance_m = distance_m;
    b->path_loss_db = radio_path_loss_db(rm, distance_m);
    b->rx_dbm = tx_power_dbm - b->path_loss_db;
    b->snr_db = b->rx_dbm - rm->noise_floor_dbm;
    out->jitter_dist = JITTER_NORMAL;
    out->loss_model = LOSS_RANDOM;
    out->limit_pkts = 0;
    out->jitter_ms = rm->base_jitter_ms;
    out->delay_ms = rm->base_delay_ms;
    if ((rm->max_range_m > 0 && distance_m > rm->max_range_m) || b->snr_db < rm->snr_min_db) {
        b->mcs = -1, b->per = 1;
        out->up = 0, out->loss_pct = 100, out->rate_mbit = 0;
        return;
    }
    // Rate adaptation as Minstrel does it: the MCS with the best expected throughput, success probability of
    // one attempt times its bit rate over the medium time. Each MCS's is monotone in SNR, so their maximum is too.
    double bits = 8.0 * rm->packet_bytes, best_mbit = -1;
    for (int k = rm->n_mcs - 1; k >= 0; k--) {
        double air_us = rm->attempt_overhead_us + bits / rm->mcs[k].rate_mbit;   // bits / (Mbit/s) = us
        if (bits / air_us <= best_mbit) break;   // even loss-free, this and every slower MCS would be slower
        double per = radio_per(rm, k, b->snr_db);
        double tput_mbit = (1 - per) * bits / air_us;
        if (tput_mbit <= best_mbit) continue;
        best_mbit = tput_mbit;
        b->mcs = k, b->per = per, b->airtime_us = air_us;
    }
    attempts_stats(b->per, rm->max_attempts, &b->attempts_mean, &b->attempts_sd);
    double loss = 100 * pow(b->per, rm->max_attempts);
    out->up = 1;
    out->loss_pct = loss < LOSS_FLOOR_PCT ? 0 : loss > 100 ? 100 : loss;
    out->delay_ms += 1e3 * distance_m / LIGHT_SPEED_MPS;
    if (rm->airtime_in_delay) out->delay_ms += b->attempts_mean * b->airtime_us / 1e3;
    out->jitter_ms += b->attempts_sd * b->airtime_us / 1e3;
    out->rate_mbit = best_mbit > RATE_FLOOR_MBIT ? best_mbit : RATE_FLOOR_MBIT;   // 0 would mean "unlimited"
}

int radio_changed(const RadioChangeRule *r, const LinkParams *last, const LinkParams *now) {
    if (last->up != now->up) return 1;
    if (!now->up) return 0;   // a cut link stays cut whatever its other fields say
    if (fabs(now->delay_ms - last->delay_ms) > r->delay_ms) return 1;
    if (fabs(now->jitter_ms - last->jitter_ms) > r->jitter_ms) return 1;
    if (fabs(now->loss_pct - last->loss_pct) > r->loss_pct) return 1;
    if (last->rate_mbit <= 0) return now->rate_mbit > 0;
    return fabs(now->rate_mbit - last->rate_mbit) > r->rate_pct / 100 * last->rate_mbit;
}

// ---------------------------------------------------------------------------------------------------
// Parsing: the first error wins and names its JSON path.


// The mobility reader's wording ("expected a number >= -50 and <= 60", "2.5 is not an integer"), kept as users
// and tests know it.
#define MOBILITY_WORDS (JSONR_RANGE_WORDS | JSONR_NOT_INTEGER)
#define PATH_LEN JSONR_PATH_LEN
static void path_make(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_make(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_LEN, fmt, ap);
    va_end(ap);
}

// A pair [a, b] of numbers at `p`; lo/lo_open/hi bound each element.
static void pair_at(JsonR *c, const json_t *v, const char *p, const char *what, double lo, int lo_open, double hi,
                    double *a, double *b) {
    if (!json_is_array(v) || json_array_size(v) != 2) {
        jsonr_fail(c, p, "expected %s: an array of 2 numbers", what);
        return;
    }
    char q[PATH_LEN];
    path_make(q, "%s[0]", p);
    *a = jsonr_num_value(c, json_array_get(v, 0), q, lo, lo_open, hi, lo);
    path_make(q, "%s[1]", p);
    *b = jsonr_num_value(c, json_array_get(v, 1), q, lo, lo_open, hi, lo);
}

static void parse_mcs(JsonR *c, const json_t *v, const char *path, RadioModel *rm) {
    static const char *const K[] = {"snr_db", "rate_mbit", NULL};
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > RADIO_MAX_MCS) {
        jsonr_fail(c, path, "expected an array of 1..%d {\"snr_db\", \"rate_mbit\"} objects", RADIO_MAX_MCS);
        return;
    }
    rm->n_mcs = (int)json_array_size(v);
    for (int i = 0; i < rm->n_mcs && !c->failed; i++) {
        char p[PATH_LEN];
        path_make(p, "%s[%d]", path, i);
        const json_t *o = json_array_get(v, (size_t)i);
        if (!json_is_object(o)) { jsonr_fail(c, p, "expected an object {\"snr_db\", \"rate_mbit\"}"); return; }
        jsonr_keys(c, o, p, K, NULL);
        if (!json_object_get(o, "snr_db") || !json_object_get(o, "rate_mbit")) {
            jsonr_fail(c, p, "needs both \"snr_db\" and \"rate_mbit\"");
            return;
        }
        rm->mcs[i].snr_db = jsonr_num(c, o, p, "snr_db", -50, 100, 0);
        rm->mcs[i].rate_mbit = jsonr_num_gt(c, o, p, "rate_mbit", 0, 1e5, 1);
        if (c->failed || i == 0) continue;
        if (rm->mcs[i].snr_db <= rm->mcs[i - 1].snr_db || rm->mcs[i].rate_mbit <= rm->mcs[i - 1].rate_mbit)
            jsonr_fail(c, p, "snr_db %g / rate_mbit %g do not both exceed the previous entry's %g / %g (expected "
                       "ascending)", rm->mcs[i].snr_db, rm->mcs[i].rate_mbit, rm->mcs[i - 1].snr_db,
                       rm->mcs[i - 1].rate_mbit);
    }
}

static void parse_model(JsonR *c, const json_t *parent, const char *path, RadioModel *rm) {
    static const char *const K[] = {"freq_mhz", "d0_m", "pl_d0_db", "path_loss_exponent", "tx_power_dbm",
        "noise_figure_db", "bandwidth_mhz", "packet_bytes", "threshold_per_pct", "max_attempts",
        "attempt_overhead_us", "base_delay_ms", "base_jitter_ms", "airtime_in_delay", "max_range_m",
        "snr_min_db", "mcs", NULL};
    radio_model_default(rm);
    const json_t *o = jsonr_obj(c, parent, path, "model");
    if (!o) return;
    char p[PATH_LEN];
    jsonr_path(p, path, "model");
    jsonr_keys(c, o, p, K, NULL);
    rm->freq_mhz = jsonr_num(c, o, p, "freq_mhz", 1, 1e6, rm->freq_mhz);
    rm->d0_m = jsonr_num_gt(c, o, p, "d0_m", 0, 1e4, rm->d0_m);
    rm->pl_d0_db = jsonr_num(c, o, p, "pl_d0_db", 0, 300, rm->pl_d0_db);
    rm->exponent = jsonr_num(c, o, p, "path_loss_exponent", 1, 8, rm->exponent);
    rm->tx_power_dbm = jsonr_num(c, o, p, "tx_power_dbm", -50, 60, rm->tx_power_dbm);
    rm->noise_figure_db = jsonr_num(c, o, p, "noise_figure_db", 0, 40, rm->noise_figure_db);
    rm->bandwidth_mhz = jsonr_num_gt(c, o, p, "bandwidth_mhz", 0, 1e4, rm->bandwidth_mhz);
    rm->packet_bytes = jsonr_int(c, o, p, "packet_bytes", 1, 65535, rm->packet_bytes);
    rm->per_ref = jsonr_num_gt(c, o, p, "threshold_per_pct", 0, 99.9, rm->per_ref * 100) / 100;
    rm->max_attempts = jsonr_int(c, o, p, "max_attempts", 1, 255, rm->max_attempts);
    rm->attempt_overhead_us = jsonr_num(c, o, p, "attempt_overhead_us", 0, 1e6, rm->attempt_overhead_us);
    rm->base_delay_ms = jsonr_num(c, o, p, "base_delay_ms", 0, 1e5, rm->base_delay_ms);
    rm->base_jitter_ms = jsonr_num(c, o, p, "base_jitter_ms", 0, 1e5, rm->base_jitter_ms);
    rm->max_range_m = jsonr_num(c, o, p, "max_range_m", 0, 1e7, rm->max_range_m);
    rm->snr_min_db = jsonr_num(c, o, p, "snr_min_db", -50, 100, rm->snr_min_db);
    rm->airtime_in_delay = jsonr_bool(c, o, p, "airtime_in_delay", rm->airtime_in_delay);
    const json_t *mcs = json_object_get(o, "mcs");
    if (mcs && !c->failed) {
        char q[PATH_LEN];
        jsonr_path(q, p, "mcs");
        parse_mcs(c, mcs, q, rm);
    }
    radio_model_derive(rm, json_object_get(o, "pl_d0_db") == NULL);
}

static void parse_change_rule(JsonR *c, const json_t *parent, const char *path, RadioChangeRule *r) {
    static const char *const K[] = {"delay_ms", "jitter_ms", "loss_pct", "rate_pct", NULL};
    const json_t *o = jsonr_obj(c, parent, path, "min_change");
    char p[PATH_LEN];
    jsonr_path(p, path, "min_change");
    if (o) jsonr_keys(c, o, p, K, NULL);
    r->delay_ms = jsonr_num(c, o, p, "delay_ms", 0, 1e6, 0.5);
    r->jitter_ms = jsonr_num(c, o, p, "jitter_ms", 0, 1e6, 0.5);
    r->loss_pct = jsonr_num(c, o, p, "loss_pct", 0, 100, 0.5);
    r->rate_pct = jsonr_num(c, o, p, "rate_pct", 0, 1e6, 5);
}

// ---------------------------------------------------------------------------------------------------
// Tracks: piecewise-linear position over time, knots strictly ascending in time.

static int track_push(Track *tr, double t_s, double x_m, double y_m) {
    if (tr->n == MAX_KNOTS_PER_NODE) return -1;
    if (tr->n == tr->cap) {
        int cap = tr->cap ? 2 * tr->cap : 16;
        Knot *k = xmalloc((size_t)cap * sizeof *k);
        if (tr->n) memcpy(k, tr->k, (size_t)tr->n * sizeof *k);
        free(tr->k);
        tr->k = k, tr->cap = cap;
    }
    tr->k[tr->n++] = (Knot){t_s, x_m, y_m};
    return 0;
}

static void parse_waypoints(JsonR *c, const json_t *v, const char *path, double duration_s, Track *tr) {
    static const char *const K[] = {"t", "pos", NULL};
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > MAX_KNOTS_PER_NODE) {
        jsonr_fail(c, path, "expected an array of 1..%d {\"t\", \"pos\"} objects", MAX_KNOTS_PER_NODE);
        return;
    }
    for (size_t i = 0; i < json_array_size(v) && !c->failed; i++) {
        char p[PATH_LEN], q[PATH_LEN];
        path_make(p, "%s[%zu]", path, i);
        const json_t *w = json_array_get(v, i);
        if (!json_is_object(w)) { jsonr_fail(c, p, "expected an object {\"t\": seconds, \"pos\": [x, y]}"); return; }
        jsonr_keys(c, w, p, K, NULL);
        if (!json_object_get(w, "t") || !json_object_get(w, "pos")) {
            jsonr_fail(c, p, "needs both \"t\" and \"pos\"");
            return;
        }
        path_make(q, "%s.t", p);
        double t = jsonr_num_value(c, json_object_get(w, "t"), q, 0, 0, 1e12, 0);
        if (!c->failed && t > duration_s)
            jsonr_fail(c, q, "%g is past the end of the run (duration %g s)", t, duration_s);
        if (!c->failed && tr->n && t <= tr->k[tr->n - 1].t_s)
            jsonr_fail(c, q, "%g is not after the previous waypoint's time %g", t, tr->k[tr->n - 1].t_s);
        double x = 0, y = 0;
        path_make(q, "%s.pos", p);
        pair_at(c, json_object_get(w, "pos"), q, "[x, y] in metres", -MAX_COORD_M, 0, MAX_COORD_M, &x, &y);
        if (!c->failed) track_push(tr, t, x, y);
    }
}

// Node `i`: tx power and a fixed position or scripted waypoints. Returns 1 if it takes random waypoint.
static int parse_node(JsonR *c, const json_t *o, const char *p, double duration_s, const RadioModel *rm, Track *tr) {
    static const char *const K[] = {"pos", "waypoints", "tx_power_dbm", NULL};
    tr->tx_power_dbm = rm->tx_power_dbm;
    if (!o) return 1;
    if (!json_is_object(o)) { jsonr_fail(c, p, "expected an object with \"pos\" or \"waypoints\""); return 0; }
    jsonr_keys(c, o, p, K, NULL);
    tr->tx_power_dbm = jsonr_num(c, o, p, "tx_power_dbm", -50, 60, rm->tx_power_dbm);
    const json_t *pos = json_object_get(o, "pos"), *wp = json_object_get(o, "waypoints");
    if (c->failed) return 0;
    if (pos && wp) { jsonr_fail(c, p, "has both \"pos\" and \"waypoints\" (expected one of them)"); return 0; }
    char q[PATH_LEN];
    if (pos) {
        double x = 0, y = 0;
        jsonr_path(q, p, "pos");
        pair_at(c, pos, q, "[x, y] in metres", -MAX_COORD_M, 0, MAX_COORD_M, &x, &y);
        if (!c->failed) track_push(tr, 0, x, y);
        return 0;
    }
    if (wp) {
        jsonr_path(q, p, "waypoints");
        parse_waypoints(c, wp, q, duration_s, tr);
        return 0;
    }
    return 1;
}

typedef struct { double w_m, h_m, vmin_mps, vmax_mps, pause_s; } RwpSpec;

static int parse_rwp(JsonR *c, const json_t *parent, const char *path, RwpSpec *s) {
    static const char *const K[] = {"area", "speed_mps", "pause_s", NULL};
    const json_t *o = jsonr_obj(c, parent, path, "random_waypoint");
    if (!o) return 0;
    char p[PATH_LEN], q[PATH_LEN];
    jsonr_path(p, path, "random_waypoint");
    jsonr_keys(c, o, p, K, NULL);
    if (!c->failed && (!json_object_get(o, "area") || !json_object_get(o, "speed_mps"))) {
        jsonr_fail(c, p, "needs \"area\": [width_m, height_m] and \"speed_mps\": [min, max]");
        return 0;
    }
    jsonr_path(q, p, "area");
    pair_at(c, json_object_get(o, "area"), q, "[width_m, height_m]", 0, 1, MAX_COORD_M, &s->w_m, &s->h_m);
    // A minimum speed of 0 makes the mean speed decay forever (Yoon, Liu, Noble 2003): require > 0.
    jsonr_path(q, p, "speed_mps");
    pair_at(c, json_object_get(o, "speed_mps"), q, "[min, max] in m/s", 0, 1, 1e4, &s->vmin_mps, &s->vmax_mps);
    if (!c->failed && s->vmin_mps > s->vmax_mps)
        jsonr_fail(c, q, "minimum %g is above maximum %g", s->vmin_mps, s->vmax_mps);
    s->pause_s = jsonr_num(c, o, p, "pause_s", 0, 1e9, 0);
    return !c->failed;
}

// Random waypoint (Johnson and Maltz 1996, as in Camp, Boleng, Davies 2002): start at a uniform point,
// pause, pick a uniform destination and a uniform speed in [min, max], travel, repeat until duration_s.
static int rwp_generate(const RwpSpec *s, uint64_t seed, int node, double duration_s, Track *tr) {
    Rng r = rng_derive(seed, RWP_STREAM + (uint64_t)node);
    double x = rng_uniform(&r) * s->w_m, y = rng_uniform(&r) * s->h_m, t = 0;
    if (track_push(tr, t, x, y)) return -1;
    while (t < duration_s) {
        if (s->pause_s > 0) {
            t += s->pause_s;
            if (track_push(tr, t, x, y)) return -1;
            if (t >= duration_s) break;
        }
        double nx = rng_uniform(&r) * s->w_m, ny = rng_uniform(&r) * s->h_m;
        double v = s->vmin_mps + rng_uniform(&r) * (s->vmax_mps - s->vmin_mps);
        double dt = hypot(nx - x, ny - y) / v;
        if (!(t + dt > t)) continue;   // a zero-length leg adds no knot (and cannot stall: pause or travel advances t)
        t += dt, x = nx, y = ny;
        if (track_push(tr, t, x, y)) return -1;
    }
    return 0;
}

static int parse_nodes(JsonR *c, const json_t *obj, const char *path, int n_agents, uint64_t seed, Mobility *m) {
    RwpSpec rwp;
    int has_rwp = parse_rwp(c, obj, path, &rwp);
    const json_t *nodes = json_object_get(obj, "nodes");
    char p[PATH_LEN];
    jsonr_path(p, path, "nodes");
    if (c->failed) return -1;
    if (!nodes && !has_rwp) {
        jsonr_fail(c, p, "missing: expected %d node objects (or a random_waypoint for all)", n_agents);
        return -1;
    }
    if (nodes && (!json_is_array(nodes) || (int)json_array_size(nodes) != n_agents)) {
        if (json_is_array(nodes))
            jsonr_fail(c, p, "%zu entries, expected %d (one per agent)", json_array_size(nodes), n_agents);
        else
            jsonr_fail(c, p, "expected an array of %d node objects (one per agent)", n_agents);
        return -1;
    }
    for (int i = 0; i < n_agents && !c->failed; i++) {
        char q[PATH_LEN];
        path_make(q, "%s[%d]", p, i);
        int wants_rwp = parse_node(c, nodes ? json_array_get(nodes, (size_t)i) : NULL, q, m->duration_s, &m->rm,
                                   &m->tracks[i]);
        if (c->failed || !wants_rwp) continue;
        if (!has_rwp)
            jsonr_fail(c, q, "has neither \"pos\" nor \"waypoints\" (expected one, or a top-level random_waypoint)");
        else if (rwp_generate(&rwp, seed, i, m->duration_s, &m->tracks[i]))
            jsonr_fail(c, q,
                       "random_waypoint needs more than %d legs over %g s (expected fewer: larger area, lower speed or "
                       "a pause)",
                       MAX_KNOTS_PER_NODE, m->duration_s);
    }
    return c->failed ? -1 : 0;
}

int mobility_parse(const json_t *obj, const char *path, int n_agents, uint64_t seed, double duration_s,
                   Mobility **out, Err *e) {
    static const char *const K[] = {"step_s", "model", "nodes", "random_waypoint", "min_change", NULL};
    JsonR c = {.e = e, .words = MOBILITY_WORDS};
    *out = NULL;
    if (!path) path = "";
    if (!json_is_object(obj)) { jsonr_fail(&c, path, "expected an object"); return -1; }
    if (n_agents < 1) { jsonr_fail(&c, path, "the scenario has %d agents (expected at least 1)", n_agents); return -1; }
    if (!(duration_s > 0 && duration_s <= 1e9)) {
        jsonr_fail(&c, path, "the run's duration %g s is out of range (expected > 0 and <= 1e9)", duration_s);
        return -1;
    }
    jsonr_keys(&c, obj, path, K, NULL);
    if (c.failed) return -1;
    Mobility *m = xcalloc(1, sizeof *m);
    m->n = n_agents, m->duration_s = duration_s;
    m->tracks = xcalloc((size_t)n_agents, sizeof *m->tracks);
    m->step_s = jsonr_num_gt(&c, obj, path, "step_s", 0, 3600, 1.0);
    if (!c.failed && duration_s / m->step_s + 1 > MAX_SAMPLES) {
        char p[PATH_LEN];
        jsonr_path(p, path, "step_s");
        jsonr_fail(&c, p, "%g gives more than %ld samples over %g s (expected a larger step)", m->step_s, MAX_SAMPLES,
                   duration_s);
    }
    if (!c.failed) parse_model(&c, obj, path, &m->rm);
    if (!c.failed) parse_change_rule(&c, obj, path, &m->rule);
    if (!c.failed) parse_nodes(&c, obj, path, n_agents, seed, m);
    if (c.failed) { mobility_free(m); return -1; }
    *out = m;
    return 0;
}

void mobility_free(Mobility *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) free(m->tracks[i].k);
    free(m->tracks);
    free(m);
}

// ---------------------------------------------------------------------------------------------------
// Queries and the schedule.

int mobility_n_nodes(const Mobility *m) { return m->n; }
double mobility_step_s(const Mobility *m) { return m->step_s; }
const RadioModel *mobility_model(const Mobility *m) { return &m->rm; }
double mobility_tx_power_dbm(const Mobility *m, int node) { return m->tracks[node].tx_power_dbm; }

void mobility_position_at(const Mobility *m, int node, double t, double *x, double *y) {
    const Track *tr = &m->tracks[node];
    const Knot *k = tr->k;
    if (t <= k[0].t_s || tr->n == 1) { *x = k[0].x_m, *y = k[0].y_m; return; }
    if (t >= k[tr->n - 1].t_s) { *x = k[tr->n - 1].x_m, *y = k[tr->n - 1].y_m; return; }
    int lo = 0, hi = tr->n - 1;   // k[lo].t_s < t < k[hi].t_s
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (k[mid].t_s <= t) lo = mid; else hi = mid;
    }
    double f = (t - k[lo].t_s) / (k[hi].t_s - k[lo].t_s);
    *x = k[lo].x_m + f * (k[hi].x_m - k[lo].x_m);
    *y = k[lo].y_m + f * (k[hi].y_m - k[lo].y_m);
}

double mobility_distance_at(const Mobility *m, int a, int b, double t) {
    double xa, ya, xb, yb;
    mobility_position_at(m, a, t, &xa, &ya);
    mobility_position_at(m, b, t, &xb, &yb);
    return hypot(xa - xb, ya - yb);
}

void mobility_budget_at(const Mobility *m, int from, int to, double t, RadioBudget *b, LinkParams *out) {
    radio_eval(&m->rm, m->tracks[from].tx_power_dbm, mobility_distance_at(m, from, to, t), b, out);
}

void mobility_link_at(const Mobility *m, int from, int to, double t, LinkParams *out) {
    RadioBudget b;
    mobility_budget_at(m, from, to, t, &b, out);
}

int mobility_schedule(const Mobility *m, LinkChange **out, int *n_out, Err *e) {
    int n = m->n;
    long n_samples = (long)floor(m->duration_s / m->step_s + 1e-9) + 1;
    LinkParams *last = xcalloc((size_t)n * (size_t)n, sizeof *last);
    double *xs = xmalloc((size_t)n * sizeof *xs), *ys = xmalloc((size_t)n * sizeof *ys);
    LinkChange *ch = NULL;
    long cnt = 0, cap = 0;
    *out = NULL, *n_out = 0;
    for (long s = 0; s < n_samples; s++) {
        double t = (double)s * m->step_s;
        for (int i = 0; i < n; i++) mobility_position_at(m, i, t, &xs[i], &ys[i]);
        for (int from = 0; from < n; from++) {
            for (int to = 0; to < n; to++) {
                if (from == to) continue;
                RadioBudget b;
                LinkParams p;
                radio_eval(&m->rm, m->tracks[from].tx_power_dbm, hypot(xs[from] - xs[to], ys[from] - ys[to]), &b, &p);
                LinkParams *l = &last[(size_t)from * (size_t)n + (size_t)to];
                if (s > 0 && !radio_changed(&m->rule, l, &p)) continue;
                if (cnt == MOBILITY_MAX_CHANGES) {
                    err_set(e, "mobility: the link schedule holds more than %d changes by t = %g s (expected fewer: "
                            "raise step_s or min_change, or use fewer agents)", MOBILITY_MAX_CHANGES, t);
                    free(ch), free(last), free(xs), free(ys);
                    return -1;
                }
                if (cnt == cap) {
                    cap = cap ? 2 * cap : 1024;
                    if (cap > MOBILITY_MAX_CHANGES) cap = MOBILITY_MAX_CHANGES;
                    LinkChange *grown = xmalloc((size_t)cap * sizeof *grown);
                    if (cnt) memcpy(grown, ch, (size_t)cnt * sizeof *grown);
                    free(ch);
                    ch = grown;
                }
                ch[cnt++] = (LinkChange){.at_s = t, .from = from, .to = to, .p = p};
                *l = p;
            }
        }
    }
    free(last), free(xs), free(ys);
    *out = ch, *n_out = (int)cnt;
    return 0;
}
