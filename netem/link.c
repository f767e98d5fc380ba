// A directed link's parameters turned into netem arguments, the queue limit sized from rate x
// delay, and a JSON form for the network log. Pure functions, unit-tested in tests/test_link.c.
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"

// Packets of a full-size Ethernet frame; the headroom absorbs the bursts TCP sends on an ACK.
#define LINK_MTU_BYTES 1514.0
#define LINK_HEADROOM_PKTS 100
// Without a rate, the queue must hold what TCP keeps in flight: up to an 8 MB socket buffer.
#define LINK_UNLIMITED_PKTS 10000

int link_is_shaped(const LinkParams *p) {
    return !p->up || p->delay_ms > 0 || p->jitter_ms > 0 || p->rate_mbit > 0 ||
           (p->loss_model == LOSS_RANDOM ? p->loss_pct > 0 : p->ge_p > 0);
}

int link_limit(const LinkParams *p) {
    if (p->limit_pkts > 0) return p->limit_pkts;
    if (p->rate_mbit <= 0) return LINK_UNLIMITED_PKTS;
    // A round trip (twice the one-way delay, jitter at its 2-sigma) at the line rate.
    double rtt_s = (2 * p->delay_ms + 4 * p->jitter_ms) / 1e3;
    double pkts = p->rate_mbit * 1e6 * rtt_s / (8 * LINK_MTU_BYTES);
    return (int)ceil(pkts) + LINK_HEADROOM_PKTS;
}

static const char *const DIST[] = {"", "normal", "pareto", "paretonormal"};

void link_netem_args(const LinkParams *p, char *out, size_t n) {
    size_t k = 0;
#define ADD(...)                                                                                                       \
    do {                                                                                                               \
        int w_ = snprintf(out + k, k < n ? n - k : 0, __VA_ARGS__);                                                    \
        if (w_ > 0) k += (size_t)w_;                                                                                   \
    } while (0)
    out[0] = 0;
    ADD("delay %.3fms", p->delay_ms);
    if (p->jitter_ms > 0) {
        ADD(" %.3fms", p->jitter_ms);
        if (p->jitter_dist != JITTER_UNIFORM) ADD(" distribution %s", DIST[p->jitter_dist]);
    }
    if (!p->up) ADD(" loss random 100%%");
    else if (p->loss_model == LOSS_GEMODEL)
        ADD(" loss gemodel %.4f%% %.4f%% %.4f%% %.4f%%", p->ge_p, p->ge_r, p->ge_bad_loss, p->ge_good_loss);
    else if (p->loss_pct > 0) ADD(" loss random %.4f%%", p->loss_pct);
    if (p->rate_mbit > 0) ADD(" rate %.0fbit", p->rate_mbit * 1e6);
    ADD(" limit %d", link_limit(p));
#undef ADD
}

void link_json(const LinkParams *p, char *out, size_t n) {
    static const char *const JD[] = {"uniform", "normal", "pareto", "paretonormal"};
    if (p->loss_model == LOSS_GEMODEL)
        snprintf(out, n,
                 "{\"up\":%s,\"delay_ms\":%g,\"jitter_ms\":%g,\"jitter_dist\":\"%s\",\"loss\":{\"model\":\"gemodel\","
                 "\"p\":%g,\"r\":%g,\"bad_loss_pct\":%g,\"good_loss_pct\":%g},\"rate_mbit\":%g,\"limit_pkts\":%d}",
                 p->up ? "true" : "false", p->delay_ms, p->jitter_ms, JD[p->jitter_dist], p->ge_p, p->ge_r,
                 p->ge_bad_loss, p->ge_good_loss, p->rate_mbit, link_limit(p));
    else
        snprintf(out, n, "{\"up\":%s,\"delay_ms\":%g,\"jitter_ms\":%g,\"jitter_dist\":\"%s\",\"loss_pct\":%g,"
                 "\"rate_mbit\":%g,\"limit_pkts\":%d}",
                 p->up ? "true" : "false", p->delay_ms, p->jitter_ms, JD[p->jitter_dist], p->loss_pct, p->rate_mbit,
                 link_limit(p));
}
