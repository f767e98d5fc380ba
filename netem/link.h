// One directed link's emulated conditions (what netem applies at the sender's egress) and a change
// of them at a time of the run; shared by the scenario parser, the mobility model and the backends.
#ifndef MESHTRAIN_LINK_H
#define MESHTRAIN_LINK_H

typedef enum { LOSS_RANDOM = 0, LOSS_GEMODEL } LossModel;
typedef enum { JITTER_UNIFORM = 0, JITTER_NORMAL, JITTER_PARETO, JITTER_PARETONORMAL } JitterDist;

typedef struct {
    int up;                  // 0: the link is cut (every packet in this direction is dropped)
    double delay_ms;         // one-way delay added at the sender's egress, >= 0
    double jitter_ms;        // delay variation, >= 0 (distribution below)
    JitterDist jitter_dist;
    LossModel loss_model;
    double loss_pct;         // random loss, 0..100
    // Gilbert-Elliott (netem "loss gemodel p r 1-h 1-k"), all in percent 0..100:
    // p good->bad, r bad->good, 1-h loss in the bad state, 1-k loss in the good state.
    double ge_p, ge_r, ge_bad_loss, ge_good_loss;
    double rate_mbit;        // 0 = not rate-limited
    int limit_pkts;          // netem queue limit in packets; 0 = sized from rate x delay (link_limit)
} LinkParams;

typedef struct {
    double at_s;             // seconds after the start barrier
    int from, to;            // directed: agent `from` sending to agent `to`
    LinkParams p;            // every parameter of the link from this time on
} LinkChange;

#endif
