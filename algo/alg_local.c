// Local SGD without any communication: every agent trains alone on its partition. The lower bound
// of what communication buys, and the compute-only reference of `meshtrain bench harness`.
#include "alg.h"

static int local_init(Alg *a, Err *e) { (void)a; (void)e; return 0; }

static int local_step(Alg *a, long round, float lr, Err *e) {
    (void)round; (void)e;
    sgd_step(&a->env.opt, a->env.params, a->env.grads, lr);
    return 0;
}

static int local_consensus(Alg *a, long round, const Codec *c, double gamma, Err *e) {
    (void)a; (void)round; (void)c; (void)gamma; (void)e;
    return 0;
}

const AlgOps alg_local_ops = {
    .name = "local",
    .on_missing = "nothing is ever sent",
    .keeps_late = 0,
    .init = local_init,
    .step = local_step,
    .consensus = local_consensus,
    .label = alg_label_name,   // nothing sent: no codec, no step
};
