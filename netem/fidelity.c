// Emulation fidelity (see fidelity.h): per directed pair, the window of samples whose link
// configuration was the one at t = 0, min RTT and delivery rate against it, and the verdicts.
#include "fidelity.h"
#include "backend.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// TCP with timestamps (32 B), IP (20 B) and Ethernet (14 B) around each segment: netem's rate counts
// whole frames, the kernel's delivery rate counts payload.
#define FIDELITY_FRAME_OVERHEAD_B 66.0

static int timing_differs(const LinkParams *a, const LinkParams *b) {
    return a->up != b->up || a->delay_ms != b->delay_ms || a->jitter_ms != b->jitter_ms ||
           a->jitter_dist != b->jitter_dist || a->rate_mbit != b->rate_mbit;
}

// When from -> to or to -> from first takes other timing than at t = 0 (INFINITY: never). TCP's min RTT
// is the minimum over the connection's life, so only samples read before then describe the t = 0 links.
static double window_end(const NetPlan *p, int from, int to) {
    int n = p->n;
    for (int k = 0; k < p->n_change; k++) {
        const LinkChange *c = &p->change[k];
        if (!((c->from == from && c->to == to) || (c->from == to && c->to == from))) continue;
        if (timing_differs(&c->p, &p->link[c->from * n + c->to])) return c->at_s;
    }
    return INFINITY;
}

// How far below the mean one direction's jitter can take a packet: uniform jitter stops at J; netem's
// other distributions come from tables that reach about 4 J.
static double jitter_reach(const LinkParams *p) {
    return p->jitter_dist == JITTER_UNIFORM ? p->jitter_ms : 4 * p->jitter_ms;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The delivery rate where the link was saturated: samples not limited by the application and taken
// while a queue stood at the link (smoothed RTT above the minimum by more than jitter explains), so the
// link's rate, not TCP's window, set the pace. Their median, as a wire rate; -1 when there is none.
static double saturated_rate(const TcpSample *s, int ns, double jitter_ms, int *used) {
    double *v = malloc((size_t)(ns > 0 ? ns : 1) * sizeof *v);
    int k = 0;
    for (int q = 0; q < ns; q++) {
        double queue_ms = fmax(1.0, fmax(0.1 * s[q].min_rtt_ms, 2 * jitter_ms));
        if (s[q].app_limited || s[q].delivery_mbit <= 0 || s[q].mss <= 0 || s[q].min_rtt_ms < 0) continue;
        if (s[q].rtt_ms - s[q].min_rtt_ms < queue_ms) continue;
        v[k++] = s[q].delivery_mbit * (s[q].mss + FIDELITY_FRAME_OVERHEAD_B) / s[q].mss;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    double r = k == 0 ? -1 : k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    free(v);
    *used = k;
    return r;
}

static void rate_check(LinkFidelity *f, const LinkParams *fwd, const TcpSample *s, int ns, double jitter_ms) {
    if (fwd->rate_mbit <= 0) return;
    int used = 0;
    f->rate_mbit = saturated_rate(s, ns, jitter_ms, &used);
    if (!used) return;
    // One-sided: a link that delivered faster than its rate was not limited as asked. Slower proves
    // nothing about the emulation: a standing queue may be the reverse direction's (acknowledgements
    // waiting behind its data, seen in runs where both directions carry messages), and TCP's window
    // then sets the pace. Such a rate is reported, not counted.
    f->rate_compared = 1;
    f->rate_ok = f->rate_mbit / fwd->rate_mbit <= 1 + FIDELITY_RATE_REL;
    if (f->rate_mbit / fwd->rate_mbit < 1 - FIDELITY_RATE_REL)
        snprintf(f->why, sizeof f->why, "rate %.2f Mbit/s below the configured %g, not counted (TCP's window can "
                 "cause it: loss, acknowledgements queued in the other direction)", f->rate_mbit, fwd->rate_mbit);
}

// One directed pair: its samples in the window, then the verdicts.
static void link_assess(const NetPlan *p, int i, int j, const TcpSample *s, int ns, LinkFidelity *f) {
    const LinkParams *fwd = &p->link[i * p->n + j], *back = &p->link[j * p->n + i];
    memset(f, 0, sizeof *f);
    f->from = i, f->to = j;
    f->cfg_rtt_ms = fwd->delay_ms + back->delay_ms;
    double tol = fmax(FIDELITY_RTT_ABS_MS, FIDELITY_RTT_REL * f->cfg_rtt_ms);
    f->lo_ms = fmax(0, f->cfg_rtt_ms - jitter_reach(fwd) - jitter_reach(back) - tol);
    f->hi_ms = f->cfg_rtt_ms + tol;
    f->min_rtt_ms = f->rtt_ms = f->rate_mbit = -1;
    f->cfg_rate_mbit = fwd->rate_mbit;
    double end = window_end(p, i, j);
    int k = 0;
    while (k < ns && s[k].t_s < end) k++;
    f->samples = k;
    if (!fwd->up || !back->up) { snprintf(f->why, sizeof f->why, "cut at the start"); return; }
    if (k == 0) {
        if (ns) snprintf(f->why, sizeof f->why, "its timing changed at %.2f s, before the first sample (min RTT is "
                         "the connection's lifetime minimum, so later samples mix configurations)", end);
        else snprintf(f->why, sizeof f->why, "no messages crossed it, so no sample");
        return;
    }
    const TcpSample *last = &s[k - 1];
    f->t_s = last->t_s, f->min_rtt_ms = last->min_rtt_ms, f->rtt_ms = last->rtt_ms, f->rttvar_ms = last->rttvar_ms;
    f->retrans = last->retrans, f->acked_bytes = last->acked_bytes;
    if (last->min_rtt_ms < 0) { snprintf(f->why, sizeof f->why, "the kernel gives no min RTT"); return; }
    // Agents sample a peer once they have sent to it, but the message may still be unacknowledged.
    if (last->acked_bytes <= 0) { snprintf(f->why, sizeof f->why, "no messages crossed it yet"); return; }
    f->compared = 1;
    int rtt_ok = f->min_rtt_ms >= f->lo_ms && f->min_rtt_ms <= f->hi_ms;
    rate_check(f, fwd, s, k, fwd->jitter_ms + back->jitter_ms);
    f->ok = rtt_ok && (!f->rate_compared || f->rate_ok);
    if (!rtt_ok)
        snprintf(f->why, sizeof f->why, "min RTT %.1f ms outside %.1f..%.1f ms", f->min_rtt_ms, f->lo_ms, f->hi_ms);
    else if (!f->ok)
        snprintf(f->why, sizeof f->why, "rate %.2f Mbit/s above the configured %g", f->rate_mbit, f->cfg_rate_mbit);
    if (ns > k && isfinite(end))
        snprintf(f->why + strlen(f->why), sizeof f->why - strlen(f->why), "%scompared before its change at %.2f s",
                 f->why[0] ? "; " : "", end);
}

int fidelity_compare(const NetPlan *plan, TcpSample *const *s, const int *ns, LinkFidelity *out) {
    int n = plan->n, nf = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            // Unshaped pairs too: in a shaped run they must stay fast, and a slow guest shows there as well.
            if (i == j || !plan->shaped) continue;
            link_assess(plan, i, j, s[i * n + j], ns[i * n + j], &out[nf++]);
        }
    return nf;
}

static json_t *num_or_null(double v) { return v < 0 ? json_null() : json_real(v); }

json_t *fidelity_link_json(const LinkFidelity *f) {
    json_t *o = json_pack("{s:i, s:i, s:b, s:o, s:{s:f, s:[f, f], s:f}}", "from", f->from, "to", f->to, "compared",
                          f->compared, "ok", f->compared ? json_boolean(f->ok) : json_null(), "configured", "rtt_ms",
                          f->cfg_rtt_ms, "accepted_min_rtt_ms", f->lo_ms, f->hi_ms, "rate_mbit", f->cfg_rate_mbit);
    json_t *m = json_pack("{s:o, s:o, s:f, s:I, s:f, s:o, s:i, s:f}", "min_rtt_ms", num_or_null(f->min_rtt_ms),
                          "rtt_ms",
                          num_or_null(f->rtt_ms), "rttvar_ms", f->rttvar_ms, "retrans", (json_int_t)f->retrans,
                          "acked_bytes", f->acked_bytes, "rate_mbit", num_or_null(f->rate_mbit), "samples", f->samples,
                          "t_s", f->t_s);
    json_object_set_new(o, "measured", m);
    int has_ratio = f->compared && f->cfg_rtt_ms > 0;
    json_object_set_new(o, "ratio", has_ratio ? json_real(f->min_rtt_ms / f->cfg_rtt_ms) : json_null());
    json_object_set_new(o, "rate_ratio", f->rate_compared ? json_real(f->rate_mbit / f->cfg_rate_mbit) : json_null());
    if (f->why[0]) json_object_set_new(o, "why", json_string(f->why));
    return o;
}

json_t *fidelity_json(const LinkFidelity *f, int nf, const char *why_nothing) {
    int compared = 0, bad = 0;
    json_t *links = json_array(), *dev = json_array();
    for (int k = 0; k < nf; k++) {
        compared += f[k].compared;
        json_array_append_new(links, fidelity_link_json(&f[k]));
        if (!f[k].compared || f[k].ok) continue;
        bad++;
        char name[32];
        snprintf(name, sizeof name, "%d->%d", f[k].from, f[k].to);
        json_array_append_new(dev, json_string(name));
    }
    const char *verdict = !compared ? "nothing to compare" : bad ? "deviates" : "ok";
    json_t *o =
        json_pack("{s:s, s:i, s:i, s:o, s:{s:f, s:f, s:f}, s:o}", "verdict", verdict, "links_compared", compared,
                  "links_deviating", bad, "deviating", dev, "tolerance", "rtt_abs_ms", FIDELITY_RTT_ABS_MS, "rtt_rel",
                  FIDELITY_RTT_REL, "rate_rel", FIDELITY_RATE_REL, "links", links);
    if (!compared)
        json_object_set_new(o, "why",
                            json_string(why_nothing ? why_nothing : "no link could be compared: see each link's why"));
    return o;
}

int fidelity_deviations(const LinkFidelity *f, int nf, char *out, size_t n) {
    int bad = 0;
    size_t k = 0;
    out[0] = 0;
    for (int q = 0; q < nf; q++) {
        if (!f[q].compared || f[q].ok) continue;
        int w = snprintf(out + k, k < n ? n - k : 0, "%s%d->%d %s (configured RTT %.1f ms)", bad ? "; " : "",
                         f[q].from, f[q].to, f[q].why, f[q].cfg_rtt_ms);
        if (w > 0) k += (size_t)w;
        bad++;
    }
    return bad;
}
