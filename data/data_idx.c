// The idx loader (MNIST, Fashion-MNIST): reads plain or gzip idx3 image and idx1 label files
// through zlib, checking every header field and length before trusting it.
#include "data.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u  // unsigned bytes, 3 dimensions
#define IDX_MAGIC_LABELS 0x00000801u  // unsigned bytes, 1 dimension
#define IDX_MAX_N 10000000u
#define IDX_MAX_SIDE 4096u
#define IDX_CLASSES 10

// Read up to n bytes; returns how many arrived (short only at end of file or on a gzip error).
static size_t gz_read_upto(gzFile f, uint8_t *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (1u << 30)) want = 1u << 30;  // gzread counts in unsigned int
        int r = gzread(f, buf + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

// Explain a short read: a damaged gzip stream is not the same problem as a file cut short.
static void err_short(Err *e, gzFile f, const char *path, const char *what, size_t want, size_t got) {
    int code = Z_OK;
    const char *zmsg = gzerror(f, &code);
    if (code != Z_OK && code != Z_BUF_ERROR)
        err_set(e, "%s: read error after %zu of %zu bytes of %s: %s", path, got, want, what, zmsg);
    else
        err_set(e, "%s: truncated: expected %zu bytes of %s, got %zu", path, want, what, got);
}

// Read exactly `want` bytes into a new buffer. The buffer grows only as data actually arrives,
// so a header that lies about its size cannot make us allocate more than about twice the file.
static uint8_t *gz_read_body(gzFile f, const char *path, const char *what, size_t want, Err *e) {
    size_t cap = want < ((size_t)1 << 24) ? want : ((size_t)1 << 24);
    uint8_t *buf = xmalloc(cap);
    size_t got = 0;
    for (;;) {
        size_t r = gz_read_upto(f, buf + got, cap - got);
        got += r;
        if (got == want) return buf;
        if (got < cap) break;  // end of data before the buffer filled
        size_t next = cap * 2 < want ? cap * 2 : want;
        uint8_t *grown = xmalloc(next);  // copying keeps the out-of-memory report in one place
        memcpy(grown, buf, got);
        free(buf);
        buf = grown;
        cap = next;
    }
    err_short(e, f, path, what, want, got);
    free(buf);
    return NULL;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static gzFile gz_open(const char *path, Err *e) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        err_set(e, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(f, 1 << 17);
    return f;
}

// Images: header magic, n, rows, cols (big-endian u32), then n*rows*cols bytes.
static int idx_read_images(const char *path, Dataset *d, Err *e) {
    gzFile f = gz_open(path, e);
    if (!f) return -1;
    uint8_t h[16];
    size_t got = gz_read_upto(f, h, sizeof h);
    uint32_t magic = got >= 4 ? be32(h) : IDX_MAGIC_IMAGES;  // a wrong magic says more than a short header
    if (got < sizeof h && magic == IDX_MAGIC_IMAGES) {
        err_short(e, f, path, "idx3 header", sizeof h, got);
        gzclose(f);
        return -1;
    }
    if (magic != IDX_MAGIC_IMAGES) {
        err_set(e, "%s: not an idx3 image file: magic 0x%08x, expected 0x%08x%s", path, magic,
                IDX_MAGIC_IMAGES, magic == IDX_MAGIC_LABELS ? " (this is a label file)" : "");
        gzclose(f);
        return -1;
    }
    uint32_t n = be32(h + 4), rows = be32(h + 8), cols = be32(h + 12);
    const char *bad = NULL;
    if (n == 0 || n > IDX_MAX_N) bad = "image count";
    else if (rows == 0 || rows > IDX_MAX_SIDE || cols == 0 || cols > IDX_MAX_SIDE) bad = "image size";
    if (bad) {
        err_set(e, "%s: implausible %s in header: %u images of %ux%u (limits: 1..%u images, sides 1..%u)",
                path, bad, n, rows, cols, IDX_MAX_N, IDX_MAX_SIDE);
        gzclose(f);
        return -1;
    }
    size_t bytes = (size_t)n * rows * cols;  // <= 1e7 * 4096^2, fits in 64 bits
    d->x = gz_read_body(f, path, "pixels", bytes, e);
    gzclose(f);
    if (!d->x) return -1;
    d->n = (int)n; d->c = 1; d->h = (int)rows; d->w = (int)cols;
    return 0;
}

// Labels: header magic, n, then n bytes, each < IDX_CLASSES; n must match the image count.
static int idx_read_labels(const char *path, const char *images_path, Dataset *d, Err *e) {
    gzFile f = gz_open(path, e);
    if (!f) return -1;
    uint8_t h[8];
    size_t got = gz_read_upto(f, h, sizeof h);
    uint32_t magic = got >= 4 ? be32(h) : IDX_MAGIC_LABELS;
    if (got < sizeof h && magic == IDX_MAGIC_LABELS) {
        err_short(e, f, path, "idx1 header", sizeof h, got);
        gzclose(f);
        return -1;
    }
    if (magic != IDX_MAGIC_LABELS) {
        err_set(e, "%s: not an idx1 label file: magic 0x%08x, expected 0x%08x%s", path, magic,
                IDX_MAGIC_LABELS, magic == IDX_MAGIC_IMAGES ? " (this is an image file)" : "");
        gzclose(f);
        return -1;
    }
    uint32_t n = be32(h + 4);
    if (n != (uint32_t)d->n) {
        err_set(e, "%s: has %u labels but %s has %d images", path, n, images_path, d->n);
        gzclose(f);
        return -1;
    }
    d->y = gz_read_body(f, path, "labels", n, e);
    gzclose(f);
    if (!d->y) return -1;
    for (uint32_t i = 0; i < n; i++)
        if (d->y[i] >= IDX_CLASSES) {
            err_set(e, "%s: label %u at index %u is out of range (expected 0..%d)", path, d->y[i], i,
                    IDX_CLASSES - 1);
            return -1;
        }
    return 0;
}

int idx_load(const char *images_path, const char *labels_path, Dataset *d, Err *e) {
    memset(d, 0, sizeof *d);
    if (idx_read_images(images_path, d, e) != 0 || idx_read_labels(labels_path, images_path, d, e) != 0) {
        dataset_free(d);
        return -1;
    }
    snprintf(d->name, sizeof d->name, "idx");
    d->classes = IDX_CLASSES;
    // Plain pixel/255 until the caller sets the dataset's own statistics.
    for (int ch = 0; ch < 3; ch++) { d->mean[ch] = 0.0f; d->std[ch] = 1.0f; }
    return 0;
}
