// Datasets: MNIST / Fashion-MNIST idx files, CIFAR-10/100 binary batches, and a procedural
// `synthetic` task. Images are kept as bytes; batches are normalized into channel-major floats.
#ifndef MESHTRAIN_DATA_H
#define MESHTRAIN_DATA_H
#include <stdint.h>
#include "rng.h"
#include "util.h"

typedef struct {
    char name[32];
    int n, c, h, w, classes;
    uint8_t *x;            // (n, c, h, w) pixels 0..255, sample-major as stored on disk
    uint8_t *y;            // (n) labels in [0, classes)
    float mean[3], std[3]; // per-channel normalization, in units of pixel/255
    int augment;           // 1: pad-4 random crop + horizontal flip on training batches (CIFAR)
    void *map;             // a read-only shared mapping that x and y point into (dataset_map), or NULL
    size_t map_len;
    int mapped;            // x and y point into another Dataset's mapping: dataset_free frees nothing
} Dataset;

// The names `--dataset` accepts, as one comma-separated line for messages.
const char *dataset_names(void);
int dataset_known(const char *name);

// Find and load dataset `name` into train and test. dir: a folder to use, or NULL for the search
// order $MESHTRAIN_DATA, ./data, then system folders (/usr/share/datasets/<name>). seed only
// matters for `synthetic`. On failure: -1 and an Err that says where it looked and how to get it.
int dataset_load(const char *name, const char *dir, uint64_t seed, Dataset *train, Dataset *test, Err *e);
void dataset_free(Dataset *d);

// One decoded copy for every agent of a run (data_share.c). dataset_share writes train and test into
// a sealed memory file (no one can change it afterwards) and returns its descriptor (close-on-exec:
// clear it for a child that should inherit it). dataset_map maps such a descriptor read-only and
// refuses one that is not sealed against writing, growing and shrinking, or whose header does not fit.
int dataset_share(const Dataset *train, const Dataset *test, int *fd, Err *e);
int dataset_map(int fd, Dataset *train, Dataset *test, Err *e);

// Loaders, exposed for tests. Paths may be plain or gzip (.gz) idx files.
int idx_load(const char *images_path, const char *labels_path, Dataset *d, Err *e);
// CIFAR binary records: [label (1 byte, or coarse+fine for CIFAR-100)] + 3072 pixel bytes.
int cifar_load(const char *const *paths, int n_paths, int cifar100, Dataset *d, Err *e);
// The synthetic task (see data_synthetic.c): deterministic from seed.
void synthetic_make(uint64_t seed, int n_train, int n_test, Dataset *train, Dataset *test);

// Write samples idx[0..b) as normalized floats into x, channel-major: x is (c, b, h, w).
// Labels go to y[b]. With train=1 and d->augment, apply pad-4 random crop and flip from rng.
void dataset_batch(const Dataset *d, const int *idx, int b, int train, Rng *rng, float *x, uint8_t *y);
// Map the pages that hold samples idx[0..n) now (MADV_POPULATE_READ), so that training touches no page
// for the first time: a batch of 32 random samples of a mapped dataset (dataset_map) is otherwise ~32 page
// faults, about 30 us of a LeNet-5 round. Only those pages, so that the agent's share of the dataset (its
// PSS) stays what it reads. A hint: a kernel older than 5.14 refuses it and the pages fault in as read.
void dataset_populate(const Dataset *d, const int *idx, int n);

#endif
