// Emulation fidelity: did the links behave as the scenario configured them? Compares the kernel's
// view of each directed pair's TCP connection (samples from the agents' metrics lines) with the plan:
// minimum RTT against the sum of both directions' delays, and delivery rate against the configured
// rate where the link was saturated. Pure functions; the runner (runtime/run_fidelity.c) feeds them and
// writes the result. Tolerances and reasons: docs/network.md, "Emulation fidelity".
#ifndef MESHTRAIN_FIDELITY_H
#define MESHTRAIN_FIDELITY_H
#include <jansson.h>
#include "plan.h"

// Min RTT is accepted within max(2 ms, 25%) of the configured RTT (less jitter's reach below it);
// a saturated link's delivery rate at most 25% above its configured rate (below: reported, not counted).
#define FIDELITY_RTT_ABS_MS 2.0
#define FIDELITY_RTT_REL 0.25
#define FIDELITY_RATE_REL 0.25

// One reading of TCP_INFO on agent `from`'s socket to `to` (cumulative since the connection began).
typedef struct {
    double t_s;              // since the start barrier
    double min_rtt_ms;       // < 0: the kernel did not say
    double rtt_ms, rttvar_ms;
    double delivery_mbit;    // payload rate of the latest delivery-rate sample; < 0: not known
    int app_limited;         // that sample was taken while the sender had nothing to send
    int mss;
    long retrans;
    double acked_bytes;
} TcpSample;

typedef struct {
    int from, to;
    int compared;            // 0: not compared, why says so
    int ok;                  // compared and within tolerance (rate too, when compared)
    int samples;             // samples in the window compared
    double t_s;              // when the sample used was read
    double cfg_rtt_ms, lo_ms, hi_ms;             // configured RTT and the accepted range of min RTT
    double min_rtt_ms, rtt_ms, rttvar_ms, acked_bytes;
    long retrans;
    int rate_compared, rate_ok;
    double cfg_rate_mbit, rate_mbit;             // measured: the median saturated sample as a wire rate (headers in)
    char why[256];
} LinkFidelity;

// Compare every directed pair that is shaped in either direction. s[from * n + to] holds ns[...]
// samples, in time order. Writes at most n * (n - 1) entries to out; returns how many.
int fidelity_compare(const NetPlan *plan, TcpSample *const *s, const int *ns, LinkFidelity *out);
// One link as JSON (the network log's fidelity event and summary.json's links use the same object).
json_t *fidelity_link_json(const LinkFidelity *f);
// summary.json's "link_fidelity": verdict ("ok", "deviates", "nothing to compare"), tolerances, links.
json_t *fidelity_json(const LinkFidelity *f, int nf, const char *why_nothing);
// "0->1 min RTT 70.3 ms for 40.0 ms (accepted 28.0..50.0); ..." for the deviating links into out.
// Returns how many deviate.
int fidelity_deviations(const LinkFidelity *f, int nf, char *out, size_t n);

#endif
