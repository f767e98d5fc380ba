// Datasets by name: where their files are looked for, their normalization constants, and the
// per-step batch path (normalize, optionally pad-4 crop + flip, write channel-major floats).
#include "data.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KIND_IDX, KIND_CIFAR10, KIND_CIFAR100, KIND_SYNTHETIC };

typedef struct {
    const char *name;
    int kind;
    const char *subdirs[2];  // folders under a data root that may hold the files
    const char *probe;       // the file (plain or .gz for idx) whose presence marks the folder
    const char *get;         // the one command that gets it
    float mean[3], std[3];   // per channel, in units of pixel/255
} DatasetInfo;

// synthetic: mean/std are measured on its training split by synthetic_make (about 0.50 / 0.11).
static const DatasetInfo DATASETS[] = {
    {"fashion-mnist", KIND_IDX, {"fashion-mnist", "FashionMNIST/raw"}, "train-images-idx3-ubyte",
     "apt-get install dataset-fashion-mnist", {0.2860f, 0, 0}, {0.3530f, 1, 1}},
    {"mnist", KIND_IDX, {"mnist", "MNIST/raw"}, "train-images-idx3-ubyte",
     "tools/get-data.sh mnist (downloads into ./data/mnist)", {0.1307f, 0, 0}, {0.3081f, 1, 1}},
    {"cifar10", KIND_CIFAR10, {"cifar-10-batches-bin", "cifar10"}, "data_batch_1.bin",
     "make data", {0.4914f, 0.4822f, 0.4465f}, {0.2023f, 0.1994f, 0.2010f}},
    {"cifar100", KIND_CIFAR100, {"cifar-100-binary", "cifar100"}, "train.bin",
     "make data", {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}},
    {"synthetic", KIND_SYNTHETIC, {NULL, NULL}, NULL, NULL, {0.5f, 0, 0}, {0.25f, 1, 1}},
};
enum { N_DATASETS = sizeof DATASETS / sizeof DATASETS[0] };
enum { SYNTHETIC_TRAIN = 20000, SYNTHETIC_TEST = 4000 };

const char *dataset_names(void) { return "fashion-mnist, mnist, cifar10, cifar100, synthetic"; }

static const DatasetInfo *dataset_info(const char *name) {
    for (int i = 0; name && i < N_DATASETS; i++)
        if (strcmp(DATASETS[i].name, name) == 0) return &DATASETS[i];
    return NULL;
}

int dataset_known(const char *name) { return dataset_info(name) != NULL; }

void dataset_free(Dataset *d) {
    if (!d) return;
    if (d->map) munmap(d->map, d->map_len);
    else if (!d->mapped) {
        free(d->x);
        free(d->y);
    }
    memset(d, 0, sizeof *d);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// dir/base into out; 0, or -1 when it does not fit.
static int path_join(char *out, size_t size, const char *dir, const char *base, const char *ext) {
    int k = snprintf(out, size, "%s/%s%s", dir, base, ext);
    return k >= 0 && (size_t)k < size ? 0 : -1;
}

// dir/base, or dir/base.gz when only that exists, into out. Returns 1 when one of them exists.
static int path_find(char *out, size_t size, const char *dir, const char *base, int gz_ok) {
    if (path_join(out, size, dir, base, "") == 0 && file_exists(out)) return 1;
    if (gz_ok && path_join(out, size, dir, base, ".gz") == 0 && file_exists(out)) return 1;
    path_join(out, size, dir, base, "");  // report the plain name when neither exists
    return 0;
}

static int idx_load_folder(const char *dir, Dataset *train, Dataset *test, Err *e) {
    static const char *const base[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][4096];
    for (int i = 0; i < 4; i++)
        if (!path_find(path[i], sizeof path[i], dir, base[i], 1)) {
            err_set(e, "%s: has %s but not %s[.gz]", dir, base[0], base[i]);
            return -1;
        }
    if (idx_load(path[0], path[1], train, e) != 0) return -1;
    if (idx_load(path[2], path[3], test, e) != 0) { dataset_free(train); return -1; }
    return 0;
}

static int cifar_load_folder(const char *dir, int cifar100, Dataset *train, Dataset *test, Err *e) {
    static const char *const c10[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                       "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    static const char *const c100[2] = {"train.bin", "test.bin"};
    int n_train = cifar100 ? 1 : 5;
    const char *const *base = cifar100 ? c100 : c10;
    char buf[6][4096];
    const char *path[6];
    for (int i = 0; i <= n_train; i++) {
        if (path_join(buf[i], sizeof buf[i], dir, base[i], "") != 0) {
            err_set(e, "%s: path too long", dir);
            return -1;
        }
        path[i] = buf[i];
    }
    if (cifar_load(path, n_train, cifar100, train, e) != 0) return -1;
    if (cifar_load(path + n_train, 1, cifar100, test, e) != 0) { dataset_free(train); return -1; }
    return 0;
}

static int dataset_load_folder(const DatasetInfo *info, const char *dir, Dataset *train, Dataset *test,
                               Err *e) {
    int rc = info->kind == KIND_IDX ? idx_load_folder(dir, train, test, e)
                                    : cifar_load_folder(dir, info->kind == KIND_CIFAR100, train, test, e);
    if (rc != 0) return -1;
    Dataset *both[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        snprintf(both[s]->name, sizeof both[s]->name, "%s", info->name);
        memcpy(both[s]->mean, info->mean, sizeof info->mean);
        memcpy(both[s]->std, info->std, sizeof info->std);
        both[s]->augment = info->kind == KIND_CIFAR10 || info->kind == KIND_CIFAR100;
    }
    return 0;
}

// Append s to the list in buf (size n), ending with "..." once it no longer fits.
static void list_append(char *buf, size_t n, const char *s) {
    size_t len = strlen(buf), add = strlen(s), ls = len ? 2 : 0;
    if (len >= 3 && strcmp(buf + len - 3, "...") == 0) return;
    if (len + ls + 4 > n) return;
    memcpy(buf + len, ", ", ls);
    if (len + ls + add + 4 < n) memcpy(buf + len + ls, s, add + 1);
    else memcpy(buf + len + ls, "...", 4);
}

int dataset_load(const char *name, const char *dir, uint64_t seed, Dataset *train, Dataset *test, Err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const DatasetInfo *info = dataset_info(name);
    if (!info) {
        err_set(e, "unknown dataset '%s' (known: %s)", name ? name : "(null)", dataset_names());
        return -1;
    }
    if (info->kind == KIND_SYNTHETIC) {
        synthetic_make(seed, SYNTHETIC_TRAIN, SYNTHETIC_TEST, train, test);
        return 0;
    }
    // An explicit folder is the only place searched, and may hold the files directly.
    const char *env = getenv("MESHTRAIN_DATA");
    const char *roots[3];
    int n_roots = 0;
    if (dir) roots[n_roots++] = dir;
    else {
        if (env && *env) roots[n_roots++] = env;
        roots[n_roots++] = "./data";
        roots[n_roots++] = "/usr/share/datasets";
    }
    char looked[320] = "", folder[4096], probe[4096];
    for (int r = 0; r < n_roots; r++)
        for (int s = dir ? -1 : 0; s < 2; s++) {
            int k = s < 0 ? snprintf(folder, sizeof folder, "%s", roots[r])
                          : snprintf(folder, sizeof folder, "%s/%s", roots[r], info->subdirs[s]);
            if (k < 0 || (size_t)k >= sizeof folder) continue;
            if (path_find(probe, sizeof probe, folder, info->probe, info->kind == KIND_IDX))
                return dataset_load_folder(info, folder, train, test, e);
            list_append(looked, sizeof looked, folder);
        }
    err_set(e, "dataset %s not found: looked for %s%s in %s%s. Get it with: %s", info->name, info->probe,
            info->kind == KIND_IDX ? "[.gz]" : "", looked,
            dir || (env && *env) ? "" : " ($MESHTRAIN_DATA not set)", info->get);
    return -1;
}

// Copy one (h, w) plane into out, normalized, with its top-left at (dy, dx) in the 4-padded image
// and optionally mirrored. Pixels from the padding are 0 in normalized space (i.e. the mean).
static void plane_augment(float *out, const uint8_t *src, int h, int w, int dy, int dx, int flip,
                          float scale, float shift) {
    // Output columns whose source column lies inside the image: [lo, hi); the rest is padding.
    int lo = flip ? dx - 4 : 4 - dx, hi = lo + w;
    lo = lo < 0 ? 0 : lo;
    hi = hi > w ? w : hi;
    for (int r = 0; r < h; r++) {
        float *o = out + (size_t)r * w;
        int sy = r + dy - 4;
        if (sy < 0 || sy >= h) { memset(o, 0, sizeof(float) * (size_t)w); continue; }
        const uint8_t *s = src + (size_t)sy * w;
        for (int col = 0; col < lo; col++) o[col] = 0.0f;
        if (flip) {
            const int base = w - 1 + dx - 4;  // source column = w - 1 - col + dx - 4
            for (int col = lo; col < hi; col++) o[col] = s[base - col] * scale + shift;
        } else {
            const int off = dx - 4;
            for (int col = lo; col < hi; col++) o[col] = s[col + off] * scale + shift;
        }
        for (int col = hi; col < w; col++) o[col] = 0.0f;
    }
}

void dataset_batch(const Dataset *d, const int *idx, int b, int train, Rng *rng, float *x, uint8_t *y) {
    const int c = d->c, h = d->h, w = d->w;
    const size_t plane = (size_t)h * w;
    float scale[3] = {1, 1, 1}, shift[3] = {0, 0, 0};
    for (int ch = 0; ch < c && ch < 3; ch++) {
        float inv = 1.0f / d->std[ch];  // (v/255 - mean)/std = v * scale + shift: no division per pixel
        scale[ch] = inv / 255.0f;
        shift[ch] = -d->mean[ch] * inv;
    }
    const int augment = train && d->augment && rng;  // no rng: no augmentation
    // The samples lie at random places in a dataset much larger than the caches: ask for all of their
    // lines first, so that their misses overlap instead of stalling one sample after the other.
    const size_t bytes = (size_t)c * plane;
    for (int i = 0; i < b; i++)
        for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(d->x + (size_t)idx[i] * bytes + o, 0, 0);
    for (int i = 0; i < b; i++) {
        const uint8_t *src = d->x + (size_t)idx[i] * c * plane;
        if (y) y[i] = d->y[idx[i]];
        int dy = 4, dx = 4, flip = 0;
        if (augment) {  // same crop and flip for every channel of a sample
            dy = (int)rng_below(rng, 9);
            dx = (int)rng_below(rng, 9);
            flip = (int)rng_below(rng, 2);
        }
        for (int ch = 0; ch < c; ch++) {
            float *out = x + ((size_t)ch * b + i) * plane;  // x is (c, b, h, w)
            const uint8_t *s = src + (size_t)ch * plane;
            const float sc = scale[ch < 3 ? ch : 2], sh = shift[ch < 3 ? ch : 2];
            if (!augment) {
                for (size_t p = 0; p < plane; p++) out[p] = s[p] * sc + sh;
            } else {
                plane_augment(out, s, h, w, dy, dx, flip, sc, sh);
            }
        }
    }
}

void dataset_populate(const Dataset *d, const int *idx, int n) {
#ifdef MADV_POPULATE_READ
    if (!d->map || n < 1) return;   // a loaded dataset is in memory already
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)d->c * d->h * d->w;
    const uintptr_t lo = (uintptr_t)d->x / page * page;
    size_t pages = ((uintptr_t)d->x + (size_t)d->n * bytes - lo + page - 1) / page;
    uint8_t *need = calloc(pages, 1);
    if (!need) return;
    for (int i = 0; i < n; i++) {
        uintptr_t a = (uintptr_t)(d->x + (size_t)idx[i] * bytes);
        for (size_t p = (a - lo) / page; p <= (a + bytes - 1 - lo) / page; p++) need[p] = 1;
    }
    for (size_t p = 0; p < pages;) {   // one call per run of needed pages
        size_t q = p;
        while (q < pages && need[q]) q++;
        if (q > p) madvise((void *)(lo + p * page), (q - p) * page, MADV_POPULATE_READ);
        p = q + (q == p);
    }
    free(need);
#else
    (void)d; (void)idx; (void)n;
#endif
}
