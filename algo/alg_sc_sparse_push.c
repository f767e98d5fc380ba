// Skew-Compensated Sparse-Push: Sparse-Push plus extra consensus rounds (no gradient) that pull the
// local models together, at the end of training and optionally every `every_epochs` epochs, with
// their own compressor, keep fraction and step (algorithm.compensation). The paper's mechanism could
// not be read; the authors' code of the time averages without SGD after training (docs/algorithms.md).
// The agent runs the rounds through `consensus` when extra_rounds says; their bytes are counted.
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "alg.h"

#define COMP_KEY(k, t, l, h, d, field) \
    {.key = "compensation." k, .type = t, .lo = l, .hi = h, .def = d, .offset = offsetof(AlgConfig, comp.field), \
     .what = "has a compensation"}

static const AlgKey SC_KEYS[] = {
    COMP_KEY("rounds", ALG_KEY_INT, 0, 100000, 20, rounds),
    COMP_KEY("every_epochs", ALG_KEY_NUM, 0, 1e4, 0, every_epochs),
    {.key = "compensation.kind", .type = ALG_KEY_CODEC, .def_codec = "topk", .offset = offsetof(AlgConfig, comp.codec),
     .what = "has a compensation"},
    COMP_KEY("keep", ALG_KEY_NUM, 1e-9, 1, 0.1, keep),
    COMP_KEY("gamma", ALG_KEY_NUM, 1e-6, 1, 0.5, gamma),
    {.key = NULL},
};

static void sc_extra_rounds(const AlgConfig *cfg, AlgExtraRounds *x) {
    x->rounds = cfg->comp.rounds;
    x->every_epochs = cfg->comp.every_epochs;
    x->codec = cfg->comp.codec;
    x->keep = cfg->comp.keep;
    x->gamma = cfg->comp.gamma;
}

static void sc_label(const AlgConfig *cfg, char *out, size_t n) {
    alg_label_mixing(cfg, out, n);
    size_t l = strlen(out);
    double every = cfg->comp.every_epochs;
    l += (size_t)snprintf(out + l, l < n ? n - l : 0, ", %d compensation rounds", cfg->comp.rounds);
    if (every > 0 && l < n) snprintf(out + l, n - l, " every %.3g epoch%s", every, every == 1 ? "" : "s");
}

const AlgOps alg_sc_sparse_push_ops = {
    .name = "sc-sparse-push",
    .on_missing = "as sparse-push (compensation rounds likewise)",
    .keeps_late = 1,
    .codec = {.takes = 1, .kind = "topk", .keep = 0.01, .gamma = 0.01},
    .keys = SC_KEYS,
    .init = sparse_push_init,
    .step = sparse_push_step,
    .consensus = sparse_push_consensus,
    .free = sparse_push_free,
    .extra_rounds = sc_extra_rounds,
    .label = sc_label,
};
