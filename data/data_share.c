// One decoded copy of a run's dataset for all its agents: the runner writes train and test into a
// sealed memfd once, each agent maps it read-only, so the pixels count once, not once per agent.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data.h"

#define SHARE_MAGIC 0x5344544du   // "MTDS"
#define SHARE_VERSION 1u
#define SHARE_ALIGN 4096u
// Every seal a mapper requires: nobody (not even the writer) can change, grow or shrink the bytes.
#define SHARE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

typedef struct {
    char name[32];
    int32_t n, c, h, w, classes, augment;
    float mean[3], std[3];
    uint64_t x_off, y_off;   // byte offsets in the file of the (n, c, h, w) pixels and the (n) labels
} ShareSet;

typedef struct {
    uint32_t magic, version;
    uint64_t size;           // bytes of the whole file
    ShareSet set[2];         // train, test
} ShareHeader;

static uint64_t align_up(uint64_t v) { return (v + SHARE_ALIGN - 1) / SHARE_ALIGN * SHARE_ALIGN; }
static uint64_t set_pixels(const Dataset *d) { return (uint64_t)d->n * d->c * d->h * d->w; }

static int write_all(int fd, const void *p, size_t n, uint64_t off) {
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        b += k; n -= (size_t)k; off += (uint64_t)k;
    }
    return 0;
}

int dataset_share(const Dataset *train, const Dataset *test, int *fd_out, Err *e) {
    const Dataset *ds[2] = {train, test};
    ShareHeader h;
    memset(&h, 0, sizeof h);
    h.magic = SHARE_MAGIC;
    h.version = SHARE_VERSION;
    uint64_t off = align_up(sizeof h);
    for (int s = 0; s < 2; s++) {
        ShareSet *t = &h.set[s];
        const Dataset *d = ds[s];
        memcpy(t->name, d->name, sizeof t->name);
        t->n = d->n; t->c = d->c; t->h = d->h; t->w = d->w; t->classes = d->classes; t->augment = d->augment;
        memcpy(t->mean, d->mean, sizeof t->mean);
        memcpy(t->std, d->std, sizeof t->std);
        t->x_off = off; off = align_up(off + set_pixels(d));
        t->y_off = off; off = align_up(off + (uint64_t)d->n);
    }
    h.size = off;
    int fd = memfd_create("meshtrain-dataset", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) { err_set(e, "memfd_create for the shared dataset: %s", strerror(errno)); return -1; }
    int bad = ftruncate(fd, (off_t)h.size) != 0 || write_all(fd, &h, sizeof h, 0) != 0;
    for (int s = 0; s < 2 && !bad; s++)
        bad = write_all(fd, ds[s]->x, set_pixels(ds[s]), h.set[s].x_off) != 0 ||
              write_all(fd, ds[s]->y, (size_t)ds[s]->n, h.set[s].y_off) != 0;
    if (!bad) bad = fcntl(fd, F_ADD_SEALS, SHARE_SEALS) != 0;
    if (bad) {
        err_set(e, "writing the shared dataset (%llu bytes) into memory: %s", (unsigned long long)h.size,
                strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

// The header's set t lies inside a file of size bytes and describes a sane dataset.
static int set_valid(const ShareSet *t, uint64_t size) {
    if (t->n < 1 || t->c < 1 || t->c > 3 || t->h < 1 || t->w < 1 || t->classes < 1 || t->classes > 256) return 0;
    if (memchr(t->name, 0, sizeof t->name) == NULL) return 0;
    uint64_t px = (uint64_t)t->n * (uint64_t)t->c * (uint64_t)t->h * (uint64_t)t->w;
    return t->x_off <= size && px <= size - t->x_off && t->y_off <= size && (uint64_t)t->n <= size - t->y_off;
}

int dataset_map(int fd, Dataset *train, Dataset *test, Err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & SHARE_SEALS) != SHARE_SEALS) {
        err_set(e, "shared dataset (fd %d) is not a sealed memory file (seals %#x, expected %#x): refusing data "
                "that could change during the run", fd, seals < 0 ? 0 : seals, SHARE_SEALS);
        return -1;
    }
    struct stat st;
    ShareHeader h;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof h || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        err_set(e, "shared dataset (fd %d): cannot read its header: %s", fd, strerror(errno));
        return -1;
    }
    if (h.magic != SHARE_MAGIC || h.version != SHARE_VERSION || h.size != (uint64_t)st.st_size ||
        !set_valid(&h.set[0], h.size) || !set_valid(&h.set[1], h.size)) {
        err_set(e, "shared dataset (fd %d): malformed header (magic %#x version %u, %llu of %lld bytes)", fd, h.magic,
                h.version, (unsigned long long)h.size, (long long)st.st_size);
        return -1;
    }
    uint8_t *base = mmap(NULL, (size_t)h.size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) { err_set(e, "shared dataset: mmap: %s", strerror(errno)); return -1; }
    Dataset *ds[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        const ShareSet *t = &h.set[s];
        Dataset *d = ds[s];
        memcpy(d->name, t->name, sizeof d->name);
        d->n = t->n; d->c = t->c; d->h = t->h; d->w = t->w; d->classes = t->classes; d->augment = t->augment;
        memcpy(d->mean, t->mean, sizeof d->mean);
        memcpy(d->std, t->std, sizeof d->std);
        d->x = base + t->x_off;
        d->y = base + t->y_off;
    }
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < ds[s]->n; i++)
            if (ds[s]->y[i] >= ds[s]->classes) {
                err_set(e, "shared dataset: %s label %d of sample %d is not below %d classes",
                        s ? "test" : "train", ds[s]->y[i], i, ds[s]->classes);
                munmap(base, (size_t)h.size);
                memset(train, 0, sizeof *train);
                memset(test, 0, sizeof *test);
                return -1;
            }
    // The mapping belongs to the training set; the test set points into it and frees nothing.
    train->map = base;
    train->map_len = (size_t)h.size;
    test->mapped = 1;
    return 0;
}
