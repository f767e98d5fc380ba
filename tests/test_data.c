// Tests for the dataset loaders and the batch path: files in the official formats are written to a
// temp folder, loaded back, damaged in each way we guard against, then batched and augmented.
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "data.h"

static char tmp[256];  // one temp folder per test process (Criterion forks one per test)

static void tmp_make(void) {
    snprintf(tmp, sizeof tmp, "/tmp/meshtrain-test-data-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp), "mkdtemp failed");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void tmp_remove(void) {
    if (tmp[0]) nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

// tmp/rel into out; rel may contain folders, which are created.
static const char *tmp_path(char *out, size_t n, const char *rel) {
    snprintf(out, n, "%s/%s", tmp, rel);
    for (char *s = out + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        mkdir(out, 0755);
        *s = '/';
    }
    return out;
}

static void file_put(const char *path, const void *buf, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f, "cannot create %s", path);
        cr_assert_eq(gzwrite(f, buf, (unsigned)n), (int)n);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot create %s", path);
        cr_assert_eq(fwrite(buf, 1, n, f), n);
        fclose(f);
    }
}

static void be32_put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint8_t pixel_of(int i, int k) { return (uint8_t)(i * 31 + k * 7 + 3); }

// An idx3 image file of n images h x w (header claims hdr_n images) and an idx1 label file.
static void idx_write(const char *img, const char *lab, int n, int hdr_n, int h, int w, uint32_t img_magic,
                      int gz) {
    size_t bytes = 16 + (size_t)n * h * w;
    uint8_t *b = malloc(bytes);
    be32_put(b, img_magic);
    be32_put(b + 4, (uint32_t)hdr_n); be32_put(b + 8, (uint32_t)h); be32_put(b + 12, (uint32_t)w);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < h * w; k++) b[16 + (size_t)i * h * w + k] = pixel_of(i, k);
    file_put(img, b, bytes, gz);
    free(b);
    if (!lab) return;
    uint8_t *l = malloc(8 + (size_t)n);
    be32_put(l, 0x801); be32_put(l + 4, (uint32_t)n);
    for (int i = 0; i < n; i++) l[8 + i] = (uint8_t)((i * 3) % 10);
    file_put(lab, l, 8 + (size_t)n, gz);
    free(l);
}

static void idx_check(const Dataset *d, int n, int h, int w) {
    cr_assert_eq(d->n, n); cr_assert_eq(d->c, 1); cr_assert_eq(d->h, h); cr_assert_eq(d->w, w);
    cr_assert_eq(d->classes, 10);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(d->y[i], (i * 3) % 10, "label %d", i);
        for (int k = 0; k < h * w; k++)
            cr_assert_eq(d->x[(size_t)i * h * w + k], pixel_of(i, k), "pixel %d of image %d", k, i);
    }
}

// Expect idx_load to fail with a message naming `who` and containing `what`.
static void idx_expect_fail(const char *img, const char *lab, const char *who, const char *what) {
    Dataset d;
    Err e = {{0}};
    cr_assert_eq(idx_load(img, lab, &d, &e), -1, "idx_load should fail (%s)", what);
    cr_assert_not_null(strstr(e.msg, who), "message does not name %s: %s", who, e.msg);
    cr_assert_not_null(strstr(e.msg, what), "message does not say '%s': %s", what, e.msg);
    cr_assert_null(d.x); cr_assert_null(d.y);
}

TestSuite(data, .init = tmp_make, .fini = tmp_remove);

Test(data, idx_plain_and_gzip_round_trip) {
    char img[512], lab[512];
    for (int gz = 0; gz < 2; gz++) {
        tmp_path(img, sizeof img, gz ? "i.gz" : "i");
        tmp_path(lab, sizeof lab, gz ? "l.gz" : "l");
        idx_write(img, lab, 7, 7, 5, 3, 0x803, gz);
        Dataset d;
        Err e = {{0}};
        cr_assert_eq(idx_load(img, lab, &d, &e), 0, "%s", e.msg);
        idx_check(&d, 7, 5, 3);
        dataset_free(&d);
        cr_assert_null(d.x);
    }
}

Test(data, idx_truncated_pixels_plain_and_gzip) {
    char img[512], lab[512];
    for (int gz = 0; gz < 2; gz++) {
        tmp_path(img, sizeof img, gz ? "i.gz" : "i");
        tmp_path(lab, sizeof lab, gz ? "l.gz" : "l");
        idx_write(img, lab, 6, 7, 4, 4, 0x803, gz);  // header says 7 images, 6 are there
        idx_expect_fail(img, lab, img, "truncated: expected 112 bytes of pixels, got 96");
    }
}

Test(data, idx_gzip_stream_cut_or_corrupt) {
    char img[512], lab[512];
    tmp_path(img, sizeof img, "i.gz");
    tmp_path(lab, sizeof lab, "l.gz");
    idx_write(img, lab, 300, 300, 28, 28, 0x803, 1);
    struct stat st;
    cr_assert_eq(stat(img, &st), 0);
    cr_assert_eq(truncate(img, st.st_size / 2), 0);
    idx_expect_fail(img, lab, img, "pixels");
    // A gzip header followed by garbage: a damaged stream, not a short file.
    uint8_t junk[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (int i = 10; i < 64; i++) junk[i] = (uint8_t)(i * 37);
    file_put(img, junk, sizeof junk, 0);
    idx_expect_fail(img, lab, img, "");
}

Test(data, idx_truncated_header_and_missing_file) {
    char img[512], lab[512];
    tmp_path(img, sizeof img, "i");
    tmp_path(lab, sizeof lab, "l");
    idx_write(img, lab, 2, 2, 3, 3, 0x803, 0);
    cr_assert_eq(truncate(img, 5), 0);
    idx_expect_fail(img, lab, img, "truncated: expected 16 bytes of idx3 header, got 5");
    idx_write(img, lab, 2, 2, 3, 3, 0x803, 0);
    cr_assert_eq(truncate(lab, 3), 0);
    idx_expect_fail(img, lab, lab, "truncated");
    char missing[512];
    tmp_path(missing, sizeof missing, "no-such-file");
    idx_expect_fail(missing, lab, missing, "cannot open");
}

Test(data, idx_wrong_magic) {
    char img[512], lab[512];
    tmp_path(img, sizeof img, "i");
    tmp_path(lab, sizeof lab, "l");
    idx_write(img, lab, 2, 2, 3, 3, 0x804, 0);
    idx_expect_fail(img, lab, img, "magic 0x00000804");
    idx_write(img, lab, 2, 2, 3, 3, 0x803, 0);
    idx_expect_fail(lab, img, lab, "label file");  // arguments swapped
}

Test(data, idx_count_mismatch_and_bad_label) {
    char img[512], lab[512], lab2[512];
    tmp_path(img, sizeof img, "i");
    tmp_path(lab, sizeof lab, "l");
    tmp_path(lab2, sizeof lab2, "l2");
    idx_write(img, lab, 4, 4, 3, 3, 0x803, 0);
    idx_write(img, lab2, 5, 5, 3, 3, 0x803, 0);  // img now has 5 images, lab has 4 labels
    idx_expect_fail(img, lab, lab, "has 4 labels");
    uint8_t l[8 + 5] = {0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 10, 3, 4};
    file_put(lab2, l, sizeof l, 0);
    idx_expect_fail(img, lab2, lab2, "label 10 at index 2");
}

// An idx3 file whose header claims n images of h x w but which holds only `have` pixel bytes.
static void idx_header_write(const char *path, uint32_t n, uint32_t h, uint32_t w, size_t have) {
    uint8_t b[16 + 64] = {0};
    be32_put(b, 0x803); be32_put(b + 4, n); be32_put(b + 8, h); be32_put(b + 12, w);
    file_put(path, b, 16 + have, 0);
}

Test(data, idx_implausible_header_allocates_nothing_big) {
    char img[512], lab[512];
    tmp_path(img, sizeof img, "i");
    tmp_path(lab, sizeof lab, "l");
    idx_write(img, lab, 2, 2, 2, 2, 0x803, 0);
    idx_header_write(img, 10000000, 4096, 4096, 64);  // claims 1.6e14 bytes
    idx_expect_fail(img, lab, img, "truncated: expected 167772160000000 bytes of pixels, got 64");
    idx_header_write(img, 10000001, 2, 2, 64);
    idx_expect_fail(img, lab, img, "implausible image count");
    idx_header_write(img, 3, 4097, 2, 64);
    idx_expect_fail(img, lab, img, "implausible image size");
    idx_header_write(img, 0, 2, 2, 0);
    idx_expect_fail(img, lab, img, "implausible image count");
}

// A CIFAR file of n records; record i has label (i*7) % classes (CIFAR-100: coarse = i % 20 first).
static void cifar_write(const char *path, int n, int first, int cifar100, size_t extra) {
    int rec = 3073 + cifar100;
    size_t bytes = (size_t)n * rec + extra;
    uint8_t *b = calloc(bytes, 1);
    for (int i = 0; i < n; i++) {
        uint8_t *r = b + (size_t)i * rec;
        int g = first + i;
        if (cifar100) r[0] = (uint8_t)(g % 20);
        r[cifar100] = (uint8_t)((g * 7) % (cifar100 ? 100 : 10));
        for (int k = 0; k < 3072; k++) r[1 + cifar100 + k] = pixel_of(g, k);
    }
    file_put(path, b, bytes, 0);
    free(b);
}

static void cifar_check(const Dataset *d, int n, int cifar100) {
    cr_assert_eq(d->n, n); cr_assert_eq(d->c, 3); cr_assert_eq(d->h, 32); cr_assert_eq(d->w, 32);
    cr_assert_eq(d->classes, cifar100 ? 100 : 10);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(d->y[i], (i * 7) % (cifar100 ? 100 : 10), "label %d", i);
        for (int k = 0; k < 3072; k++) cr_assert_eq(d->x[(size_t)i * 3072 + k], pixel_of(i, k));
    }
}

Test(data, cifar10_and_cifar100_round_trip) {
    char a[512], b[512];
    const char *paths[2] = {tmp_path(a, sizeof a, "a.bin"), tmp_path(b, sizeof b, "b.bin")};
    for (int c100 = 0; c100 < 2; c100++) {
        cifar_write(a, 3, 0, c100, 0);
        cifar_write(b, 2, 3, c100, 0);
        Dataset d;
        Err e = {{0}};
        cr_assert_eq(cifar_load(paths, 2, c100, &d, &e), 0, "%s", e.msg);
        cifar_check(&d, 5, c100);
        dataset_free(&d);
    }
}

Test(data, cifar_bad_size_and_bad_label) {
    char a[512], b[512];
    const char *paths[2] = {tmp_path(a, sizeof a, "a.bin"), tmp_path(b, sizeof b, "b.bin")};
    Dataset d;
    Err e = {{0}};
    cifar_write(a, 2, 0, 0, 0);
    cifar_write(b, 2, 2, 0, 5);
    cr_assert_eq(cifar_load(paths, 2, 0, &d, &e), -1);
    cr_assert_not_null(strstr(e.msg, b), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "6151 bytes"), "%s", e.msg);
    cr_assert_null(d.x);
    cifar_write(b, 2, 2, 0, 0);
    cr_assert_eq(cifar_load(paths, 2, 1, &d, &e), -1, "CIFAR-10 files read as CIFAR-100");
    cr_assert_not_null(strstr(e.msg, a), "%s", e.msg);
    uint8_t rec[3073] = {10};
    file_put(b, rec, sizeof rec, 0);
    cr_assert_eq(cifar_load(paths, 2, 0, &d, &e), -1);
    cr_assert_not_null(strstr(e.msg, b), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "label 10"), "%s", e.msg);
    file_put(b, rec, 0, 0);
    cr_assert_eq(cifar_load(paths, 2, 0, &d, &e), -1, "empty file");
    cr_assert_not_null(strstr(e.msg, b), "%s", e.msg);
}

static void idx_folder(const char *rel, int n_train, int n_test) {
    char img[512], lab[512], r1[256], r2[256];
    snprintf(r1, sizeof r1, "%s/train-images-idx3-ubyte.gz", rel);
    snprintf(r2, sizeof r2, "%s/train-labels-idx1-ubyte.gz", rel);
    idx_write(tmp_path(img, sizeof img, r1), tmp_path(lab, sizeof lab, r2), n_train, n_train, 28, 28, 0x803, 1);
    snprintf(r1, sizeof r1, "%s/t10k-images-idx3-ubyte", rel);
    snprintf(r2, sizeof r2, "%s/t10k-labels-idx1-ubyte", rel);
    idx_write(tmp_path(img, sizeof img, r1), tmp_path(lab, sizeof lab, r2), n_test, n_test, 28, 28, 0x803, 0);
}

Test(data, load_by_name_from_dir_and_env) {
    idx_folder("fashion-mnist", 6, 4);
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("fashion-mnist", tmp, 1, &tr, &te, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.n, 6); cr_assert_eq(te.n, 4);
    cr_assert_str_eq(tr.name, "fashion-mnist");
    cr_assert_float_eq(tr.mean[0], 0.2860f, 1e-6); cr_assert_float_eq(te.std[0], 0.3530f, 1e-6);
    cr_assert_eq(tr.augment, 0);
    idx_check(&tr, 6, 28, 28);
    dataset_free(&tr); dataset_free(&te);

    idx_folder("mnist", 3, 2);
    setenv("MESHTRAIN_DATA", tmp, 1);
    cr_assert_eq(dataset_load("mnist", NULL, 1, &tr, &te, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.n, 3);
    cr_assert_float_eq(tr.mean[0], 0.1307f, 1e-6); cr_assert_float_eq(tr.std[0], 0.3081f, 1e-6);
    dataset_free(&tr); dataset_free(&te);
}

Test(data, load_cifar_by_name) {
    char p[512];
    const char *c10[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                          "data_batch_5.bin", "test_batch.bin"};
    for (int i = 0; i < 6; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "cifar-10-batches-bin/%s", c10[i]);
        cifar_write(tmp_path(p, sizeof p, rel), 1, i, 0, 0);
    }
    cifar_write(tmp_path(p, sizeof p, "cifar100/train.bin"), 5, 0, 1, 0);
    cifar_write(tmp_path(p, sizeof p, "cifar100/test.bin"), 2, 0, 1, 0);
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("cifar10", tmp, 1, &tr, &te, &e), 0, "%s", e.msg);
    cifar_check(&tr, 5, 0);
    cr_assert_eq(te.n, 1);
    cr_assert_eq(tr.augment, 1); cr_assert_eq(te.augment, 1);
    cr_assert_float_eq(tr.mean[2], 0.4465f, 1e-6); cr_assert_float_eq(tr.std[1], 0.1994f, 1e-6);
    dataset_free(&tr); dataset_free(&te);
    cr_assert_eq(dataset_load("cifar100", tmp, 1, &tr, &te, &e), 0, "%s", e.msg);
    cifar_check(&tr, 5, 1);
    cr_assert_float_eq(te.mean[1], 0.4865f, 1e-6); cr_assert_float_eq(te.std[2], 0.2762f, 1e-6);
    dataset_free(&tr); dataset_free(&te);
}

Test(data, missing_dataset_says_where_and_how) {
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("cifar10", tmp, 1, &tr, &te, &e), -1);
    cr_assert_not_null(strstr(e.msg, tmp), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "cifar-10-batches-bin"), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "make data"), "%s", e.msg);
    cr_assert_eq(dataset_load("fashion-mnist", tmp, 1, &tr, &te, &e), -1);
    cr_assert_not_null(strstr(e.msg, "apt-get install dataset-fashion-mnist"), "%s", e.msg);
    // The default search: $MESHTRAIN_DATA, ./data (here: inside the empty temp folder), system folders.
    cr_assert_eq(chdir(tmp), 0);
    setenv("MESHTRAIN_DATA", tmp, 1);
    cr_assert_eq(dataset_load("mnist", NULL, 1, &tr, &te, &e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s/mnist", tmp);
    cr_assert_not_null(strstr(e.msg, want), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "./data/mnist"), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "/usr/share/datasets/mnist"), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "get-data.sh mnist"), "%s", e.msg);
    cr_assert_null(tr.x); cr_assert_null(te.x);
}

Test(data, names) {
    cr_assert(dataset_known("fashion-mnist") && dataset_known("mnist") && dataset_known("cifar10"));
    cr_assert(dataset_known("cifar100") && dataset_known("synthetic"));
    cr_assert(!dataset_known("imagenet") && !dataset_known("") && !dataset_known(NULL));
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("imagenet", NULL, 1, &tr, &te, &e), -1);
    cr_assert_not_null(strstr(e.msg, "imagenet"), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, dataset_names()), "%s", e.msg);
}

Test(data, real_fashion_mnist) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0)
        cr_skip_test("%s not installed (apt-get install dataset-fashion-mnist)", dir);
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("fashion-mnist", dir, 1, &tr, &te, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.n, 60000); cr_assert_eq(te.n, 10000);
    cr_assert_eq(tr.h, 28); cr_assert_eq(tr.w, 28); cr_assert_eq(tr.c, 1);
    const int first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    for (int i = 0; i < 10; i++) cr_assert_eq(tr.y[i], first[i], "train label %d", i);
    uint64_t sum = 0;
    for (size_t i = 0; i < (size_t)tr.n * 784; i++) sum += tr.x[i];
    cr_assert_float_eq(sum / (255.0 * tr.n * 784), 0.2860, 5e-4, "pixel mean");
    dataset_free(&tr); dataset_free(&te);
}

Test(data, batch_normalizes_channel_major) {
    uint8_t x[2 * 3 * 2 * 3], y[2] = {4, 7};
    for (int i = 0; i < (int)sizeof x; i++) x[i] = (uint8_t)(i * 11);
    x[0] = 51;  // == mean 0.2 * 255 of channel 0 in sample 0: normalizes to 0
    Dataset d = {.n = 2, .c = 3, .h = 2, .w = 3, .classes = 10, .x = x, .y = y,
                 .mean = {0.2f, 0.5f, 0.3f}, .std = {0.25f, 0.5f, 0.125f}};
    const int idx[3] = {1, 0, 1}, b = 3;
    float out[3 * 3 * 6];
    uint8_t lab[3];
    for (int train = 0; train < 2; train++) {  // augment is 0: train changes nothing
        memset(out, 0xff, sizeof out);
        dataset_batch(&d, idx, b, train, NULL, out, lab);
        for (int i = 0; i < b; i++) {
            cr_assert_eq(lab[i], y[idx[i]]);
            for (int ch = 0; ch < 3; ch++)
                for (int r = 0; r < 2; r++)
                    for (int col = 0; col < 3; col++) {
                        int v = x[idx[i] * 18 + ch * 6 + r * 3 + col];
                        float want = (v / 255.0f - d.mean[ch]) / d.std[ch];
                        float got = out[((ch * b + i) * 2 + r) * 3 + col];
                        cr_assert_float_eq(got, want, 1e-5, "sample %d ch %d (%d,%d): %g != %g", i, ch, r, col,
                                           got, want);
                    }
        }
        cr_assert_float_eq(out[(0 * b + 1) * 6], 0.0f, 1e-6, "a pixel equal to the mean normalizes to 0");
    }
}

// The reference for one augmented plane: top-left (dy, dx) in the zero-padded (h+8, w+8) image.
static float aug_ref(const Dataset *d, int i, int ch, int r, int col, int dy, int dx, int flip) {
    int sy = r + dy - 4, sx = (flip ? d->w - 1 - col : col) + dx - 4;
    if (sy < 0 || sy >= d->h || sx < 0 || sx >= d->w) return 0.0f;
    int v = d->x[(((size_t)i * d->c + ch) * d->h + sy) * d->w + sx];
    return (v / 255.0f - d->mean[ch]) / d->std[ch];
}

static int aug_matches(const Dataset *d, const float *out, int b, int i, int dy, int dx, int flip) {
    for (int ch = 0; ch < d->c; ch++)
        for (int r = 0; r < d->h; r++)
            for (int col = 0; col < d->w; col++)
                if (fabsf(out[((size_t)(ch * b + i) * d->h + r) * d->w + col] -
                          aug_ref(d, i, ch, r, col, dy, dx, flip)) > 1e-5f)
                    return 0;
    return 1;
}

Test(data, batch_augment_crop_flip_from_seed) {
    enum { B = 64, PLANE = 3 * 32 * 32 };
    uint8_t *x = malloc((size_t)B * PLANE), y[B] = {0};
    Rng g;
    rng_seed(&g, 99);
    for (int i = 0; i < B * PLANE; i++) x[i] = (uint8_t)rng_below(&g, 256);
    Dataset d = {.n = B, .c = 3, .h = 32, .w = 32, .classes = 10, .x = x, .y = y, .augment = 1,
                 .mean = {0.4914f, 0.4822f, 0.4465f}, .std = {0.2023f, 0.1994f, 0.2010f}};
    int idx[B];
    for (int i = 0; i < B; i++) idx[i] = i;
    float *a = malloc(sizeof(float) * B * PLANE), *b2 = malloc(sizeof(float) * B * PLANE);
    Rng r1, r2;
    rng_seed(&r1, 5); rng_seed(&r2, 5);
    dataset_batch(&d, idx, B, 1, &r1, a, NULL);
    dataset_batch(&d, idx, B, 1, &r2, b2, NULL);
    cr_assert_eq(memcmp(a, b2, sizeof(float) * B * PLANE), 0, "same seed must give the same batch");
    rng_seed(&r2, 6);
    dataset_batch(&d, idx, B, 1, &r2, b2, NULL);
    cr_assert_neq(memcmp(a, b2, sizeof(float) * B * PLANE), 0, "another seed should give another batch");
    int flips = 0, shifted = 0, offsets[81] = {0}, distinct = 0;
    for (int i = 0; i < B; i++) {
        int found = 0;
        for (int t = 0; t < 162 && !found; t++)
            if (aug_matches(&d, a, B, i, t / 18, (t / 2) % 9, t % 2)) {
                found = 1;
                flips += t % 2;
                shifted += t / 2 != 40;  // (dy, dx) == (4, 4) is no shift
                distinct += offsets[t / 2]++ == 0;
            }
        cr_assert(found, "sample %d is no pad-4 crop (+ flip) of its source", i);
    }
    cr_assert(flips > 16 && flips < 48, "%d of %d samples flipped", flips, B);
    cr_assert(shifted > 48 && distinct > 20, "%d shifted, %d distinct offsets", shifted, distinct);
    dataset_batch(&d, idx, B, 0, &r2, a, NULL);  // test batches are never augmented
    for (int i = 0; i < B; i++) cr_assert(aug_matches(&d, a, B, i, 4, 4, 0), "test sample %d was augmented", i);
    free(x); free(a); free(b2);
}

Test(data, synthetic_deterministic_balanced) {
    Dataset a, b, c, d, a2, b2;
    synthetic_make(7, 1000, 95, &a, &b);
    synthetic_make(7, 1000, 95, &a2, &b2);
    synthetic_make(8, 1000, 95, &c, &d);
    cr_assert_eq(a.n, 1000); cr_assert_eq(b.n, 95);
    cr_assert_eq(a.c, 1); cr_assert_eq(a.h, 28); cr_assert_eq(a.w, 28); cr_assert_eq(a.classes, 10);
    cr_assert_str_eq(a.name, "synthetic");
    cr_assert_eq(memcmp(a.x, a2.x, 1000 * 784), 0); cr_assert_eq(memcmp(a.y, a2.y, 1000), 0);
    cr_assert_eq(memcmp(b.x, b2.x, 95 * 784), 0);
    cr_assert_neq(memcmp(a.x, c.x, 1000 * 784), 0, "another seed gives other images");
    cr_assert_neq(memcmp(a.x, b.x, 95 * 784), 0, "train and test come from different streams");
    int count[10] = {0}, tcount[10] = {0};
    for (int i = 0; i < a.n; i++) count[a.y[i]]++;
    for (int i = 0; i < b.n; i++) tcount[b.y[i]]++;
    for (int k = 0; k < 10; k++) {
        cr_assert_eq(count[k], 100, "class %d has %d training samples", k, count[k]);
        cr_assert(tcount[k] == 9 || tcount[k] == 10);
    }
    cr_assert_float_eq(a.mean[0], 0.5, 0.01); cr_assert(a.std[0] > 0.08f && a.std[0] < 0.15f);
    cr_assert_float_eq(b.mean[0], a.mean[0], 0); cr_assert_float_eq(b.std[0], a.std[0], 0);
    Dataset *all[6] = {&a, &b, &c, &d, &a2, &b2};
    for (int i = 0; i < 6; i++) dataset_free(all[i]);
}

// The linear-inseparability property: per-class mean images agree up to sampling noise.
Test(data, synthetic_class_means_equal) {
    Dataset tr, te;
    synthetic_make(3, 10000, 0, &tr, &te);
    static double mean[10][784], all[784];
    int count[10] = {0};
    for (int i = 0; i < tr.n; i++) {
        count[tr.y[i]]++;
        for (int p = 0; p < 784; p++) {
            mean[tr.y[i]][p] += tr.x[(size_t)i * 784 + p];
            all[p] += tr.x[(size_t)i * 784 + p];
        }
    }
    double grand = 0;
    for (int p = 0; p < 784; p++) { all[p] /= tr.n; grand += all[p] / 784; }
    cr_assert_float_eq(grand, 127.5, 0.3, "grand mean %g", grand);
    for (int k = 0; k < 10; k++) {
        double ss = 0, worst = 0;
        for (int p = 0; p < 784; p++) {
            double dlt = mean[k][p] / count[k] - all[p];
            ss += dlt * dlt;
            if (fabs(dlt) > worst) worst = fabs(dlt);
        }
        // Sampling noise alone: per-pixel sd ~29 over ~1000 images gives an rms difference near 0.9.
        cr_assert(sqrt(ss / 784) < 1.3 && worst < 5.0, "class %d mean image differs: rms %g, max %g", k,
                  sqrt(ss / 784), worst);
    }
    dataset_free(&tr); dataset_free(&te);
}

// But the classes are separable by a non-linear feature: the sign pattern (up to global sign) of the
// highest-energy 5x5 window is the class motif in nearly every image, and the ten motifs differ.
Test(data, synthetic_motif_recoverable) {
    Dataset tr, te;
    synthetic_make(11, 1000, 0, &tr, &te);
    uint32_t pat[1000];
    for (int i = 0; i < tr.n; i++) {
        const uint8_t *x = tr.x + (size_t)i * 784;
        double best = -1;
        int by = 0, bx = 0;
        for (int y0 = 0; y0 <= 23; y0++)
            for (int x0 = 0; x0 <= 23; x0++) {
                double en = 0;
                for (int dy = 0; dy < 5; dy++)
                    for (int dx = 0; dx < 5; dx++) { double v = x[(y0 + dy) * 28 + x0 + dx] - 127.5; en += v * v; }
                if (en > best) { best = en; by = y0; bx = x0; }
            }
        uint32_t m = 0;
        for (int t = 0; t < 25; t++) m |= (uint32_t)(x[(by + t / 5) * 28 + bx + t % 5] > 127.5) << t;
        pat[i] = (m & 1) ? m : ~m & 0x1ffffff;
    }
    uint32_t mode[10];
    for (int k = 0; k < 10; k++) {
        int best = 0;
        for (int i = 0; i < tr.n; i++) {
            if (tr.y[i] != k) continue;
            int c = 0;
            for (int j = 0; j < tr.n; j++) c += tr.y[j] == k && pat[j] == pat[i];
            if (c > best) { best = c; mode[k] = pat[i]; }
        }
        cr_assert(best >= 85, "class %d: its motif shows in only %d of 100 images", k, best);
        for (int j = 0; j < k; j++) cr_assert_neq(mode[j], mode[k], "classes %d and %d share a motif", j, k);
    }
    dataset_free(&tr); dataset_free(&te);
}

Test(data, synthetic_by_name) {
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("synthetic", "/nonexistent", 42, &tr, &te, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.n, 20000); cr_assert_eq(te.n, 4000); cr_assert_eq(tr.augment, 0);
    dataset_free(&tr); dataset_free(&te);
}
