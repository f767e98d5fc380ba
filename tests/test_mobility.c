// Tests for node mobility and the wireless link model: hand-computed path loss, SNR and PER, monotonicity,
// asymmetry, cuts, waypoints, random waypoint, the change schedule, and parse errors that name path and value.
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mobility.h"

#define LIGHT_SPEED_MPS 299792458.0

// Parse `text` as "network.mobility" for n agents; NULL on failure with the message in e.
static Mobility *parse_text(const char *text, int n_agents, uint64_t seed, double duration_s, Err *e) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cr_assert(o, "test JSON does not parse (line %d: %s): %s", je.line, je.text, text);
    Mobility *m = NULL;
    int rc = mobility_parse(o, "network.mobility", n_agents, seed, duration_s, &m, e);
    json_decref(o);
    cr_assert((rc == 0) == (m != NULL), "mobility_parse returned %d but out is %p", rc, (void *)m);
    return m;
}

static Mobility *parse_ok(const char *text, int n_agents, uint64_t seed, double duration_s) {
    Err e = {{0}};
    Mobility *m = parse_text(text, n_agents, seed, duration_s, &e);
    cr_assert(m, "mobility_parse failed: %s\n  input: %s", e.msg, text);
    return m;
}

// The parse must fail and its message must contain every one of the NULL-terminated fragments.
static void parse_fails(const char *text, int n_agents, double duration_s, const char *const *want) {
    Err e = {{0}};
    Mobility *m = parse_text(text, n_agents, 1, duration_s, &e);
    if (m) mobility_free(m);
    cr_assert(!m, "expected a parse error for: %s", text);
    for (const char *const *w = want; *w; w++)
        cr_assert(strstr(e.msg, *w), "error message '%s' lacks '%s' (input: %s)", e.msg, *w, text);
}

#define FAILS(text, n, dur, ...) parse_fails((text), (n), (dur), (const char *const[]){__VA_ARGS__, NULL})

static void near(double got, double want, double tol, const char *what) {
    cr_assert(fabs(got - want) <= tol, "%s: got %.10g, expected %.10g (tolerance %g)", what, got, want, tol);
}

// Distance at which a transmitter of tx_dbm is received at exactly snr_db under model rm.
static double distance_for_snr(const RadioModel *rm, double tx_dbm, double snr_db) {
    return rm->d0_m * pow(10, (tx_dbm - rm->pl_d0_db - rm->noise_floor_dbm - snr_db) / (10 * rm->exponent));
}

Test(mobility, friis_reference_loss_and_noise_floor) {
    RadioModel rm;
    radio_model_default(&rm);
    // 20 log10(4 pi * 1 m * 2437 MHz / c) = 20 log10(102.151) = 40.1849 dB.
    near(rm.pl_d0_db, 40.1849, 1e-3, "PL(1 m) at 2437 MHz");
    // -174 dBm/Hz + 10 log10(20e6 Hz) + 10 dB = -90.9897 dBm.
    near(rm.noise_floor_dbm, -90.9897, 1e-4, "noise floor");
    near(radio_path_loss_db(&rm, 10), 40.1849 + 30, 1e-3, "PL(10 m), n = 3");
    near(radio_path_loss_db(&rm, 0.2), rm.pl_d0_db, 1e-12, "PL below d0 is held at PL(d0)");
}

Test(mobility, path_loss_snr_and_per_by_hand) {
    Mobility *m = parse_ok(
        "{\"model\": {\"pl_d0_db\": 40, \"path_loss_exponent\": 3, \"tx_power_dbm\": 20, \"airtime_in_delay\": true},"
        " \"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [60, 80]}]}",
        2, 1, 10);
    RadioBudget b;
    LinkParams p;
    mobility_budget_at(m, 0, 1, 0, &b, &p);
    near(b.distance_m, 100, 1e-12, "distance (60, 80)");
    near(b.path_loss_db, 100, 1e-9, "PL(100 m) = 40 + 30 log10(100)");
    near(b.rx_dbm, -80, 1e-9, "received power 20 - 100");
    near(b.snr_db, 10.98970004, 1e-6, "SNR = -80 - (-90.9897)");
    cr_assert_eq(b.mcs, 0, "SNR 10.99 dB: MCS0 (threshold 9 dB) out-earns MCS1 (12 dB), got MCS%d", b.mcs);
    // PER of MCS0 at +1.9897 dB: x = 4.293851 * 10^(1.9897/20) = 5.39923, BER = Q(x) = 3.34634e-8,
    // PER = 1 - (1 - BER)^12000 = 4.01480e-4 (computed by hand with erfc).
    near(b.per, 4.014796e-4, 1e-9, "PER of one 1500-byte attempt");
    cr_assert_eq(p.up, 1);
    cr_assert_eq(p.loss_pct, 0, "residual loss 100 * PER^7 ~ 1.7e-22 %% is floored to 0, got %g", p.loss_pct);
    near(b.airtime_us, 170 + 12000 / 6.5, 1e-9, "airtime = overhead + 12000 bits / 6.5 Mbit/s");
    near(p.rate_mbit, 5.949537168, 1e-6, "rate = (1 - PER) * 12000 / airtime");
    near(p.delay_ms, 3.017297180, 1e-6, "delay = 1 ms + 100 m / c + E[attempts] * airtime");
    cr_assert_eq(p.jitter_dist, JITTER_NORMAL);
    cr_assert_eq(p.loss_model, LOSS_RANDOM);
    cr_assert_eq(p.limit_pkts, 0);
    mobility_free(m);
}

Test(mobility, per_is_reference_at_every_threshold_and_falls_with_snr) {
    RadioModel rm;
    radio_model_default(&rm);
    for (int k = 0; k < rm.n_mcs; k++)
        near(radio_per(&rm, k, rm.mcs[k].snr_db), 0.10, 1e-9, "PER at an MCS threshold (802.11 sensitivity: 10 %)");
    // One dB above MCS0's threshold: x = 4.293851 * 10^(1/20), PER = 1 - (1 - Q(x))^12000 = 0.0086720.
    near(radio_per(&rm, 0, 10), 0.008672022, 1e-8, "PER 1 dB above the MCS0 threshold");
    double prev = 1.0;
    for (double snr = 0; snr <= 40; snr += 0.1) {
        double per = radio_per(&rm, 3, snr);
        cr_assert(per >= 0 && per <= 1 && per <= prev, "PER(MCS3, %g dB) = %g is not in [0, %g]", snr, per, prev);
        prev = per;
    }
}

Test(mobility, retries_shape_loss_delay_jitter_and_rate) {
    Mobility *m = parse_ok(
        "{\"model\": {\"max_attempts\": 3, \"airtime_in_delay\": true, \"mcs\": [{\"snr_db\": 9, \"rate_mbit\": 6.5}]},"
        " \"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [1, 0]}]}",
        2, 1, 10);
    const RadioModel *rm = mobility_model(m);
    double d = distance_for_snr(rm, 20, 9);
    RadioBudget b;
    LinkParams p;
    radio_eval(rm, 20, d, &b, &p);
    near(b.snr_db, 9, 1e-9, "SNR at the constructed distance");
    near(b.per, 0.10, 1e-9, "PER at threshold");
    // Attempts T = min(Geometric(0.9), 3): P = 0.9, 0.09, 0.01 -> mean 1.11, sd sqrt(1.35 - 1.2321) = 0.3433657.
    near(b.attempts_mean, 1.11, 1e-9, "mean attempts");
    near(b.attempts_sd, 0.3433656943, 1e-9, "sd of attempts");
    near(p.loss_pct, 0.1, 1e-9, "residual loss = 100 * 0.1^3 %");
    double air_ms = (170 + 12000 / 6.5) / 1e3;
    near(p.delay_ms, 1.0 + 1e3 * d / LIGHT_SPEED_MPS + 1.11 * air_ms, 1e-9, "delay");
    near(p.jitter_ms, 0.5 + 0.3433656943 * air_ms, 1e-9, "jitter = base + sd(attempts) * airtime");
    near(p.rate_mbit, 5.356734071, 1e-6, "rate = 0.9 * 12000 / airtime");
    mobility_free(m);
}

Test(mobility, link_degrades_monotonically_with_distance) {
    RadioModel rm;
    radio_model_default(&rm);
    RadioBudget b;
    LinkParams p, prev;
    radio_eval(&rm, 20, 1, &b, &prev);
    double prev_snr = b.snr_db;
    int flips = 0, saw_loss = 0;
    for (double d = 1.25; d <= 200; d += 0.25) {
        radio_eval(&rm, 20, d, &b, &p);
        cr_assert(b.snr_db < prev_snr, "SNR does not fall from %g to %g m", d - 0.25, d);
        if (p.up != prev.up) {
            flips++;
            cr_assert(prev.up && !p.up, "link came back up at %g m", d);
        }
        if (p.up && prev.up) {
            cr_assert(p.rate_mbit <= prev.rate_mbit + 1e-12, "rate rises from %g to %g Mbit/s at %g m",
                      prev.rate_mbit, p.rate_mbit, d);
            cr_assert(p.delay_ms >= prev.delay_ms - 1e-12, "delay falls from %g to %g ms at %g m",
                      prev.delay_ms, p.delay_ms, d);
        }
        cr_assert(p.loss_pct >= 0 && p.loss_pct <= 100, "loss %g %% at %g m", p.loss_pct, d);
        saw_loss |= p.up && p.loss_pct > 1;
        prev = p, prev_snr = b.snr_db;
    }
    cr_assert_eq(flips, 1, "the link should go down exactly once between 1 and 200 m, flipped %d times", flips);
    cr_assert(saw_loss, "loss never exceeded 1 %% before the cut: the edge has no grey zone");
    // Near: the fastest MCS; far but up: MCS0.
    radio_eval(&rm, 20, 5, &b, &p);
    cr_assert_eq(b.mcs, rm.n_mcs - 1);
    radio_eval(&rm, 20, distance_for_snr(&rm, 20, 8), &b, &p);
    cr_assert(p.up && b.mcs == 0, "SNR 8 dB: up %d, MCS%d (expected up at MCS0)", p.up, b.mcs);
}

Test(mobility, unequal_tx_power_makes_links_asymmetric) {
    Mobility *m =
        parse_ok("{\"model\": {\"airtime_in_delay\": true}, \"nodes\": [{\"pos\": [0, 0], \"tx_power_dbm\": 20},"
                 " {\"pos\": [60, 0], \"tx_power_dbm\": 10}, {\"pos\": [0, 60]}]}",
                 3, 1, 10);
    RadioBudget b01, b10;
    LinkParams p01, p10, p02, p20;
    mobility_budget_at(m, 0, 1, 0, &b01, &p01);
    mobility_budget_at(m, 1, 0, 0, &b10, &p10);
    near(b01.snr_db - b10.snr_db, 10, 1e-9, "SNR difference = tx power difference");
    cr_assert(p01.rate_mbit > p10.rate_mbit, "strong sender's rate %g not above weak sender's %g",
              p01.rate_mbit, p10.rate_mbit);
    cr_assert(p01.delay_ms < p10.delay_ms, "strong sender's delay %g not below %g", p01.delay_ms, p10.delay_ms);
    // Equal powers (node 2 takes the default 20 dBm): both directions identical.
    mobility_link_at(m, 0, 2, 0, &p02);
    mobility_link_at(m, 2, 0, 0, &p20);
    cr_assert(memcmp(&p02, &p20, sizeof p02) == 0, "equal tx powers but 0->2 and 2->0 differ");
    near(mobility_tx_power_dbm(m, 2), 20, 0, "default tx power");
    mobility_free(m);
}

Test(mobility, link_is_cut_beyond_max_range_and_below_min_snr) {
    Mobility *m = parse_ok("{\"model\": {\"max_range_m\": 50},"
                           " \"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [{\"t\": 0, \"pos\": [49, 0]},"
                           " {\"t\": 2, \"pos\": [51, 0]}]}]}", 2, 1, 10);
    RadioBudget b;
    LinkParams p;
    mobility_budget_at(m, 0, 1, 0.9, &b, &p);   // 49.9 m
    cr_assert(p.up && p.loss_pct < 1e-3, "49.9 m (range 50 m): up %d, loss %g", p.up, p.loss_pct);
    mobility_budget_at(m, 0, 1, 1.1, &b, &p);   // 50.1 m
    cr_assert(b.snr_db > 15, "the cut at 50.1 m must come from the range, not the SNR (%g dB)", b.snr_db);
    cr_assert(!p.up && p.loss_pct == 100 && b.mcs == -1, "50.1 m: up %d, loss %g, MCS %d", p.up, p.loss_pct, b.mcs);
    mobility_free(m);

    RadioModel rm;
    radio_model_default(&rm);
    radio_eval(&rm, 20, distance_for_snr(&rm, 20, rm.snr_min_db + 0.01), &b, &p);
    cr_assert(p.up, "SNR just above snr_min_db should be up");
    radio_eval(&rm, 20, distance_for_snr(&rm, 20, rm.snr_min_db - 0.01), &b, &p);
    cr_assert(!p.up && p.loss_pct == 100, "SNR just below snr_min_db: up %d, loss %g", p.up, p.loss_pct);
}

Test(mobility, waypoints_interpolate_linearly_and_hold) {
    Mobility *m = parse_ok("{\"nodes\": [{\"pos\": [5, -7]}, {\"waypoints\": [{\"t\": 2, \"pos\": [0, 0]},"
                           " {\"t\": 10, \"pos\": [100, 0]}, {\"t\": 20, \"pos\": [100, 50]}]}]}", 2, 1, 30);
    static const struct { double t, x, y; } want[] = {
        {0, 0, 0}, {2, 0, 0}, {6, 50, 0}, {10, 100, 0}, {15, 100, 25}, {19, 100, 45}, {20, 100, 50}, {30, 100, 50},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double x, y;
        mobility_position_at(m, 1, want[i].t, &x, &y);
        cr_assert(fabs(x - want[i].x) < 1e-9 && fabs(y - want[i].y) < 1e-9,
                  "node 1 at t = %g: (%g, %g), expected (%g, %g)", want[i].t, x, y, want[i].x, want[i].y);
        mobility_position_at(m, 0, want[i].t, &x, &y);
        cr_assert(x == 5 && y == -7, "static node moved to (%g, %g) at t = %g", x, y, want[i].t);
    }
    near(mobility_distance_at(m, 0, 1, 6), hypot(45, 7), 1e-9, "distance at t = 6");
    mobility_free(m);
}

#define RWP_JSON "{\"random_waypoint\": {\"area\": [200, 100], \"speed_mps\": [1, 5], \"pause_s\": 3}," \
                 " \"nodes\": [{}, {\"pos\": [7, 7]}, {}, {}]}"

Test(mobility, random_waypoint_is_deterministic_and_stays_inside) {
    Mobility *a = parse_ok(RWP_JSON, 4, 42, 600), *b = parse_ok(RWP_JSON, 4, 42, 600);
    Mobility *c = parse_ok(RWP_JSON, 4, 43, 600), *shorter = parse_ok(RWP_JSON, 4, 42, 300);
    int differs = 0;
    for (int i = 0; i < 4; i++) {
        double px, py, moved = 0;
        mobility_position_at(a, i, 0, &px, &py);
        for (double t = 0; t <= 600; t += 0.7) {
            double xa, ya, xb, yb, xc, yc;
            mobility_position_at(a, i, t, &xa, &ya);
            mobility_position_at(b, i, t, &xb, &yb);
            mobility_position_at(c, i, t, &xc, &yc);
            cr_assert(xa == xb && ya == yb, "seed 42 gives node %d two positions at t = %g", i, t);
            cr_assert(xa >= 0 && xa <= 200 && ya >= 0 && ya <= 100, "node %d left the area: (%g, %g) at t = %g", i, xa,
                      ya, t);
            cr_assert(hypot(xa - px, ya - py) <= 5 * 0.7 + 1e-9, "node %d moved faster than 5 m/s at t = %g", i, t);
            if (t <= 300) {
                double xs, ys;
                mobility_position_at(shorter, i, t, &xs, &ys);
                cr_assert(xs == xa && ys == ya, "node %d's path depends on the run's duration (t = %g)", i, t);
            }
            differs |= xa != xc || ya != yc;
            moved += hypot(xa - px, ya - py);
            px = xa, py = ya;
        }
        if (i == 1) cr_assert(moved == 0, "node 1 has a fixed pos but moved %g m", moved);
        else cr_assert(moved > 300, "random waypoint node %d barely moved (%g m in 600 s)", i, moved);
    }
    cr_assert(differs, "seeds 42 and 43 gave the same paths");
    mobility_free(a), mobility_free(b), mobility_free(c), mobility_free(shorter);
}

Test(mobility, nodes_may_be_omitted_with_random_waypoint) {
    Mobility *m = parse_ok("{\"random_waypoint\": {\"area\": [50, 50], \"speed_mps\": [2, 2]}}", 3, 5, 100);
    cr_assert_eq(mobility_n_nodes(m), 3);
    double x0, y0, x1, y1;
    mobility_position_at(m, 0, 0, &x0, &y0);
    mobility_position_at(m, 1, 0, &x1, &y1);
    cr_assert(x0 != x1 || y0 != y1, "two nodes start at the same random point");
    mobility_free(m);
}

// Node 2 walks from 10 m to 140 m away from node 0 over 60 s, past node 1 at 40 m; 0 and 1 stay put.
#define SCHED_JSON                                                                                                     \
    "{\"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [40, 0]}, {\"waypoints\": [{\"t\": 0, \"pos\": [10, 0]},"               \
    " {\"t\": 60, \"pos\": [140, 0]}]}]}"

Test(mobility, schedule_emits_t0_for_every_pair_then_only_meaningful_changes) {
    Mobility *m = parse_ok(SCHED_JSON, 3, 1, 60);
    LinkChange *ch = NULL;
    int n = 0;
    Err e = {{0}};
    cr_assert_eq(mobility_schedule(m, &ch, &n, &e), 0, "mobility_schedule failed: %s", e.msg);
    cr_assert(n > 6, "only %d changes: node 2's links never changed", n);
    int seen[3][3] = {{0}};
    for (int i = 0; i < 6; i++) {
        cr_assert(ch[i].at_s == 0, "entry %d is at %g s, expected the 6 pairs at t = 0 first", i, ch[i].at_s);
        cr_assert(ch[i].from != ch[i].to && !seen[ch[i].from][ch[i].to], "pair %d->%d repeated or a self-link at t = 0",
                  ch[i].from, ch[i].to);
        seen[ch[i].from][ch[i].to] = 1;
    }
    // Replay: every later entry involves node 2, is in time order, and differs meaningfully from the
    // pair's previous state; at every sample the replayed state matches the model within the rule.
    RadioChangeRule rule = {0.5, 0.5, 0.5, 5};
    LinkParams state[3][3];
    int next = 0, went_down = 0;
    for (double t = 0; t <= 60; t += 1) {
        for (; next < n && ch[next].at_s <= t + 1e-9; next++) {
            const LinkChange *c = &ch[next];
            cr_assert(next < 6 || c->at_s > 0, "a second t = 0 entry");
            cr_assert(next < 6 || c->from == 2 || c->to == 2, "static pair %d->%d changed at %g s", c->from, c->to,
                      c->at_s);
            cr_assert(next == 0 || c->at_s >= ch[next - 1].at_s, "entries out of time order at %d", next);
            if (next >= 6)
                cr_assert(radio_changed(&rule, &state[c->from][c->to], &c->p),
                          "entry %d (%d->%d at %g s) is no meaningful change", next, c->from, c->to, c->at_s);
            went_down |= !c->p.up;
            state[c->from][c->to] = c->p;
        }
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                if (a == b) continue;
                LinkParams now;
                mobility_link_at(m, a, b, t, &now);
                cr_assert(!radio_changed(&rule, &state[a][b], &now), "at %g s the schedule's %d->%d lags the model "
                          "(delay %g vs %g, loss %g vs %g, rate %g vs %g, up %d vs %d)", t, a, b, state[a][b].delay_ms,
                          now.delay_ms, state[a][b].loss_pct, now.loss_pct, state[a][b].rate_mbit, now.rate_mbit,
                          state[a][b].up, now.up);
            }
    }
    cr_assert_eq(next, n, "%d entries after the last sample", n - next);
    cr_assert(went_down, "node 2 reaches 140 m from node 0, whose link should be cut");
    free(ch);
    mobility_free(m);
}

Test(mobility, schedule_of_static_nodes_is_the_t0_state_only) {
    Mobility *m = parse_ok("{\"step_s\": 0.5, \"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [30, 0]}, {\"pos\": [0, 200]},"
                           " {\"pos\": [30, 40]}]}", 4, 1, 100);
    LinkChange *ch = NULL;
    int n = 0;
    Err e = {{0}};
    cr_assert_eq(mobility_schedule(m, &ch, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 12, "4 static nodes: expected the 12 directed pairs once, got %d entries", n);
    for (int i = 0; i < n; i++) {
        LinkParams now;
        mobility_link_at(m, ch[i].from, ch[i].to, 0, &now);
        cr_assert(ch[i].at_s == 0 && memcmp(&now, &ch[i].p, sizeof now) == 0, "entry %d is not the t = 0 state", i);
    }
    free(ch);
    mobility_free(m);
}

Test(mobility, defaults_fill_everything_omitted) {
    Mobility *m = parse_ok("{\"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [1, 0]}]}", 2, 1, 10);
    RadioModel want;
    radio_model_default(&want);
    const RadioModel *got = mobility_model(m);
    cr_assert(memcmp(got, &want, sizeof want) == 0, "omitted model differs from radio_model_default");
    near(mobility_step_s(m), 1.0, 0, "default step_s");
    cr_assert_eq(got->n_mcs, 8);
    near(got->mcs[7].rate_mbit, 65, 0, "MCS7 HT20 rate");
    near(got->mcs[0].snr_db, 9, 0, "MCS0 threshold");
    mobility_free(m);
    // A given pl_d0_db wins over the Friis value; a given freq_mhz moves the Friis value.
    m = parse_ok("{\"model\": {\"freq_mhz\": 5180}, \"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [1, 0]}]}", 2, 1, 10);
    near(mobility_model(m)->pl_d0_db, 20 * log10(4 * M_PI * 5180e6 / LIGHT_SPEED_MPS), 1e-9, "PL(d0) at 5180 MHz");
    mobility_free(m);
}

Test(mobility, parse_errors_name_the_path_and_the_value) {
    const char *two = "{\"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [1, 0]}]}";
    FAILS(two, 3, 10, "network.mobility.nodes", "2 entries", "expected 3");
    FAILS(
        "{\"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [{\"t\": 8, \"pos\": [0, 0]}, {\"t\": 5, \"pos\": [1, 1]}]}]}",
        2, 10, "network.mobility.nodes[1].waypoints[1].t: 5 is not after the previous waypoint's time 8");
    FAILS(
        "{\"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [{\"t\": 0, \"pos\": [0, 0]}, {\"t\": 0, \"pos\": [1, 1]}]}]}",
        2, 10, "network.mobility.nodes[1].waypoints[1].t", "0 is not after");
    FAILS("{\"random_waypoint\": {\"area\": [100, 100], \"speed_mps\": [-1, 5]}}", 2, 10,
          "network.mobility.random_waypoint.speed_mps[0]", "-1", "out of range");
    FAILS("{\"random_waypoint\": {\"area\": [100, 100], \"speed_mps\": [0, 5]}}", 2, 10,
          "network.mobility.random_waypoint.speed_mps[0]", "0 is out of range", "> 0");
    FAILS("{\"random_waypoint\": {\"area\": [100, 100], \"speed_mps\": [6, 5]}}", 2, 10,
          "network.mobility.random_waypoint.speed_mps", "minimum 6 is above maximum 5");
    FAILS("{\"speed\": 3, \"nodes\": []}", 2, 10, "network.mobility.speed", "unknown key", "step_s");
    FAILS("{\"model\": {\"exponent\": 3}, \"nodes\": []}", 2, 10, "network.mobility.model.exponent", "unknown key",
          "path_loss_exponent");
    FAILS("{\"nodes\": [{\"pos\": [0, 0]}, {\"position\": [1, 0]}]}", 2, 10, "network.mobility.nodes[1].position",
          "unknown key");
    FAILS("{\"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [{\"t\": 0, \"pos\": [0, 0], \"speed\": 1}]}]}", 2, 10,
          "network.mobility.nodes[1].waypoints[0].speed", "unknown key");
    FAILS("{\"random_waypoint\": {\"area\": [9, 9], \"speed_mps\": [1, 1], \"pause\": 2}}", 2, 10,
          "network.mobility.random_waypoint.pause", "unknown key");
    FAILS("{\"min_change\": {\"rate\": 5}, \"nodes\": []}", 2, 10, "network.mobility.min_change.rate", "unknown key");
    FAILS("{\"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [{\"t\": 0, \"pos\": [0, 0]}, {\"t\": 100, \"pos\": [1, "
          "1]}]}]}",
          2, 60, "network.mobility.nodes[1].waypoints[1].t", "100 is past the end of the run", "60");
    FAILS("{\"nodes\": [{\"pos\": [0, 0]}, {\"pos\": [1, 0], \"waypoints\": [{\"t\": 0, \"pos\": [0, 0]}]}]}", 2, 10,
          "network.mobility.nodes[1]", "both \"pos\" and \"waypoints\"");
    FAILS("{\"nodes\": [{\"pos\": [0, 0]}, {\"tx_power_dbm\": 3}]}", 2, 10, "network.mobility.nodes[1]",
          "neither \"pos\" nor \"waypoints\"");
    FAILS("{\"nodes\": [{\"pos\": [0, 0, 0]}, {\"pos\": [1, 0]}]}", 2, 10, "network.mobility.nodes[0].pos",
          "array of 2 numbers");
    FAILS("{\"nodes\": [{\"pos\": [0, \"x\"]}, {\"pos\": [1, 0]}]}", 2, 10, "network.mobility.nodes[0].pos[1]",
          "expected a number");
    FAILS("{\"nodes\": [{\"pos\": [0, 0], \"tx_power_dbm\": 90}, {\"pos\": [1, 0]}]}", 2, 10,
          "network.mobility.nodes[0].tx_power_dbm", "90 is out of range");
    FAILS("{\"step_s\": 0, \"nodes\": []}", 2, 10, "network.mobility.step_s", "0 is out of range");
    FAILS("{\"model\": {\"mcs\": [{\"snr_db\": 9, \"rate_mbit\": 6.5}, {\"snr_db\": 8, \"rate_mbit\": 13}]}, "
          "\"nodes\": []}",
          2, 10, "network.mobility.model.mcs[1]", "snr_db 8", "ascending");
    FAILS("{\"model\": {\"max_attempts\": 2.5}, \"nodes\": []}", 2, 10, "network.mobility.model.max_attempts",
          "2.5 is not an integer");
    FAILS("{\"model\": {\"packet_bytes\": 0}, \"nodes\": []}", 2, 10, "network.mobility.model.packet_bytes",
          "0 is out of range");
    FAILS("{\"model\": {\"airtime_in_delay\": 1}, \"nodes\": []}", 2, 10, "network.mobility.model.airtime_in_delay",
          "true or false");
    FAILS("{\"model\": []}", 2, 10, "network.mobility.model", "expected an object");
    FAILS("{}", 2, 10, "network.mobility.nodes", "missing");
    FAILS("[1, 2]", 2, 10, "network.mobility", "expected an object");
}

Test(mobility, zero_change_rule_emits_every_sample) {
    // 2 nodes oscillating 60 <-> 130 m every sample with a zero change rule: every sample is a change.
    char text[4096] =
        "{\"step_s\": 1, \"min_change\": {\"delay_ms\": 0, \"jitter_ms\": 0, \"loss_pct\": 0, \"rate_pct\": 0},"
        " \"nodes\": [{\"pos\": [0, 0]}, {\"waypoints\": [";
    for (int i = 0; i <= 40; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s{\"t\": %d, \"pos\": [%d, 0]}", i ? ", " : "", i,
                 i % 2 ? 130 : 60);
    strcat(text, "]}]}");
    Mobility *m = parse_ok(text, 2, 1, 40);
    LinkChange *ch = NULL;
    int n = 0;
    Err e = {{0}};
    cr_assert_eq(mobility_schedule(m, &ch, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 2 * 41, "every one of 41 samples should change both directions, got %d entries", n);
    free(ch);
    mobility_free(m);
}
