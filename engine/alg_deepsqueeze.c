// DeepSqueeze (Tang et al. 2019) on push-sum numerators, as the low-precision paper's code
// (gossip_ds/) runs it: error-compensated compression of x + e, consensus step gamma. It is the
// same update as Sparse-Push (alg_sparse_push.c); only the scenario defaults differ (8-bit codec).
#include "alg.h"

const AlgOps alg_deepsqueeze_ops = {"deepsqueeze", "the missing share is not added (push-sum mass leaves with it)",
                                    cps_init, cps_step, cps_consensus, cps_free};
