// Skew-Compensated Sparse-Push: Sparse-Push plus extra consensus rounds (no gradient) that pull the
// local models together, at the end of training and optionally every `every_epochs` epochs, with
// their own compressor, keep fraction and step (algorithm.compensation). The paper's mechanism could
// not be read; the authors' code of the time averages without SGD after training (docs/algorithms.md).
// The rounds themselves are run by the agent loop through `consensus`; their bytes are counted.
#include "alg.h"

const AlgOps alg_sc_sparse_push_ops = {"sc-sparse-push", "as sparse-push (compensation rounds likewise)",
                                       1, sparse_push_init, sparse_push_step, sparse_push_consensus, sparse_push_free};
