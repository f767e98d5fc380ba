// The CIFAR-10/100 binary loader: fixed-size records of label byte(s) + 3072 pixels in (c,h,w)
// order, several batch files concatenated. File sizes are checked before anything is allocated.
#include "data.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072  // 3 x 32 x 32
#define CIFAR_MAX_N 10000000L

// Records in one file, or -1 with an Err when the file is missing, empty or not whole records.
static long cifar_count(const char *path, int rec, int cifar100, Err *e) {
    struct stat st;
    if (stat(path, &st) != 0) { err_set(e, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (!S_ISREG(st.st_mode)) { err_set(e, "%s: not a regular file", path); return -1; }
    if (st.st_size == 0 || st.st_size % rec != 0) {
        err_set(e, "%s: size %lld bytes is not a whole number of %d-byte %s records", path,
                (long long)st.st_size, rec, cifar100 ? "CIFAR-100" : "CIFAR-10");
        return -1;
    }
    return (long)(st.st_size / rec);
}

// Split n records from f into pixels x (n, 3072) and labels y (n); labels are checked against classes.
static int cifar_read(FILE *f, const char *path, int cifar100, long n, uint8_t *x, uint8_t *y, Err *e) {
    enum { CHUNK = 512 };
    int rec = CIFAR_PIXELS + 1 + cifar100;
    int classes = cifar100 ? 100 : 10;
    uint8_t *buf = xmalloc((size_t)CHUNK * rec);
    int rc = 0;
    for (long done = 0; done < n && rc == 0;) {
        long k = n - done < CHUNK ? n - done : CHUNK;
        size_t got = fread(buf, (size_t)rec, (size_t)k, f);
        if (got != (size_t)k) {
            err_set(e, "%s: truncated while reading: expected %ld records, got %ld", path, n, done + (long)got);
            rc = -1;
            break;
        }
        for (long i = 0; i < k; i++) {
            const uint8_t *r = buf + (size_t)i * rec;
            int label = r[cifar100];  // CIFAR-100 stores (coarse, fine): we train on the fine label
            if (cifar100 && r[0] >= 20) {
                err_set(e, "%s: record %ld has coarse label %d, out of range 0..19", path, done + i, r[0]);
                rc = -1;
                break;
            }
            if (label >= classes) {
                err_set(e, "%s: record %ld has label %d, out of range 0..%d", path, done + i, label, classes - 1);
                rc = -1;
                break;
            }
            y[done + i] = (uint8_t)label;
            memcpy(x + (size_t)(done + i) * CIFAR_PIXELS, r + 1 + cifar100, CIFAR_PIXELS);
        }
        done += k;
    }
    free(buf);
    return rc;
}

int cifar_load(const char *const *paths, int n_paths, int cifar100, Dataset *d, Err *e) {
    memset(d, 0, sizeof *d);
    if (!paths || n_paths < 1) { err_set(e, "cifar_load: no files given"); return -1; }
    cifar100 = cifar100 ? 1 : 0;
    int rec = CIFAR_PIXELS + 1 + cifar100;
    long *count = xmalloc(sizeof(long) * (size_t)n_paths);
    long total = 0;
    for (int i = 0; i < n_paths; i++) {
        count[i] = cifar_count(paths[i], rec, cifar100, e);
        if (count[i] < 0) { free(count); return -1; }
        total += count[i];
        if (total > CIFAR_MAX_N) {
            err_set(e, "%s: more than %ld records in total", paths[i], CIFAR_MAX_N);
            free(count);
            return -1;
        }
    }
    d->x = xmalloc((size_t)total * CIFAR_PIXELS);
    d->y = xmalloc((size_t)total);
    long at = 0;
    int rc = 0;
    for (int i = 0; i < n_paths && rc == 0; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) { err_set(e, "%s: cannot open: %s", paths[i], strerror(errno)); rc = -1; break; }
        // A file that shrank since it was measured reads short and is reported as truncated.
        rc = cifar_read(f, paths[i], cifar100, count[i], d->x + (size_t)at * CIFAR_PIXELS, d->y + at, e);
        fclose(f);
        at += count[i];
    }
    free(count);
    if (rc != 0) { dataset_free(d); return -1; }
    snprintf(d->name, sizeof d->name, "%s", cifar100 ? "cifar100" : "cifar10");
    d->n = (int)total; d->c = 3; d->h = 32; d->w = 32;
    d->classes = cifar100 ? 100 : 10;
    for (int ch = 0; ch < 3; ch++) { d->mean[ch] = 0.0f; d->std[ch] = 1.0f; }
    return 0;
}
