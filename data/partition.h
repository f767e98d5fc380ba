// Partitioners: how a training set is split among agents (IID, label-sorted skew, Dirichlet).
// All are deterministic from the Rng passed in.
#ifndef MESHTRAIN_PARTITION_H
#define MESHTRAIN_PARTITION_H
#include <stdint.h>
#include "rng.h"
#include "util.h"

typedef struct {
    int agents;
    int *start;   // (agents + 1): agent a owns index[start[a] .. start[a+1])
    int *index;   // sample indices into the dataset
} Partition;

// IID: shuffle, then equal contiguous slices (floor(n / agents) each; the remainder is dropped).
int partition_iid(Partition *p, const uint8_t *labels, int n, int agents, Rng *rng, Err *e);
// Label-sorted skew in [0,1] (the low-precision paper's code): a fraction `skew` of each class
// goes to a label-sorted pool dealt out in contiguous blocks, the rest is dealt IID.
int partition_skew(Partition *p, const uint8_t *labels, int n, int classes, int agents, double skew,
                   Rng *rng, Err *e);
// Dirichlet over labels with concentration alpha (the QGM / RelaySGD routine, equal sizes per agent).
int partition_dirichlet(Partition *p, const uint8_t *labels, int n, int classes, int agents,
                        double alpha, Rng *rng, Err *e);
void partition_free(Partition *p);

#endif
