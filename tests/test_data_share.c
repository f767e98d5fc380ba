// Tests for the shared dataset (data_share.c): the mapped copy equals the loaded one byte for byte,
// nobody can write it, and unsealed, malformed or lying descriptors are refused with a reason.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "data.h"

static void same_dataset(const Dataset *a, const Dataset *b) {
    cr_assert_str_eq(a->name, b->name);
    cr_assert(a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->classes == b->classes);
    cr_assert_eq(a->augment, b->augment);
    cr_assert_eq(memcmp(a->mean, b->mean, sizeof a->mean), 0);
    cr_assert_eq(memcmp(a->std, b->std, sizeof a->std), 0);
    cr_assert_eq(memcmp(a->x, b->x, (size_t)a->n * a->c * a->h * a->w), 0, "pixels differ");
    cr_assert_eq(memcmp(a->y, b->y, (size_t)a->n), 0, "labels differ");
}

Test(data_share, mapped_equals_loaded_and_batches_alike) {
    Dataset tr, te, mtr, mte;
    Err e = {{0}};
    cr_assert_eq(dataset_load("synthetic", NULL, 7, &tr, &te, &e), 0, "%s", e.msg);
    int fd;
    cr_assert_eq(dataset_share(&tr, &te, &fd, &e), 0, "%s", e.msg);
    cr_assert_eq(dataset_map(fd, &mtr, &mte, &e), 0, "%s", e.msg);
    same_dataset(&tr, &mtr);
    same_dataset(&te, &mte);
    int idx[3] = {0, 17, tr.n - 1};
    float a[3 * 64 * 64], b[3 * 64 * 64];
    uint8_t ya[3], yb[3];
    dataset_batch(&tr, idx, 3, 0, NULL, a, ya);
    dataset_batch(&mtr, idx, 3, 0, NULL, b, yb);
    cr_assert_eq(memcmp(a, b, sizeof(float) * 3 * tr.c * tr.h * tr.w), 0);
    cr_assert_eq(memcmp(ya, yb, 3), 0);
    dataset_free(&mte);   // frees nothing: points into the training set's mapping
    dataset_free(&mtr);
    dataset_free(&tr);
    dataset_free(&te);
    close(fd);
}

Test(data_share, nobody_can_write_or_resize_it) {
    Dataset tr, te;
    Err e = {{0}};
    cr_assert_eq(dataset_load("synthetic", NULL, 3, &tr, &te, &e), 0, "%s", e.msg);
    int fd;
    cr_assert_eq(dataset_share(&tr, &te, &fd, &e), 0, "%s", e.msg);
    uint8_t byte = 1;
    cr_assert_lt(pwrite(fd, &byte, 1, 0), 0, "a sealed file took a write");
    cr_assert_neq(ftruncate(fd, 1), 0, "a sealed file shrank");
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_eq(w, MAP_FAILED, "a sealed file gave a writable shared mapping");
    cr_assert_neq(fcntl(fd, F_ADD_SEALS, 0), 0, "seals can still be changed");
    dataset_free(&tr);
    dataset_free(&te);
    close(fd);
}

Test(data_share, refuses_unsealed_or_malformed) {
    Dataset tr, te;
    Err e = {{0}};
    int fd = memfd_create("not-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    cr_assert_geq(fd, 0);
    char junk[8192] = {0};
    cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    cr_assert_eq(dataset_map(fd, &tr, &te, &e), -1);
    cr_assert_not_null(strstr(e.msg, "not a sealed"), "%s", e.msg);
    // Sealed, but all zeros: the header is refused.
    cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
    cr_assert_eq(dataset_map(fd, &tr, &te, &e), -1);
    cr_assert_not_null(strstr(e.msg, "malformed header"), "%s", e.msg);
    cr_assert_null(tr.x);
    close(fd);
}

Test(data_share, refuses_offsets_outside_the_file) {
    Dataset tr, te, mtr, mte;
    Err e = {{0}};
    cr_assert_eq(dataset_load("synthetic", NULL, 5, &tr, &te, &e), 0, "%s", e.msg);
    int fd;
    cr_assert_eq(dataset_share(&tr, &te, &fd, &e), 0, "%s", e.msg);
    // Copy the sealed file, claim more test samples than it holds, seal the copy.
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *buf = malloc((size_t)size);
    cr_assert_eq(pread(fd, buf, (size_t)size, 0), (ssize_t)size);
    int32_t *n_test = (int32_t *)(buf + 16 + 32 + (32 + 6 * 4 + 6 * 4 + 16));   // header: set[1].n
    cr_assert_eq(*n_test, te.n, "the test's view of the header layout is wrong");
    *n_test = te.n * 1000;
    int bad = memfd_create("lying", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    cr_assert_eq(write(bad, buf, (size_t)size), (ssize_t)size);
    cr_assert_eq(fcntl(bad, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
    cr_assert_eq(dataset_map(bad, &mtr, &mte, &e), -1);
    cr_assert_not_null(strstr(e.msg, "malformed"), "%s", e.msg);
    free(buf);
    close(bad);
    close(fd);
    dataset_free(&tr);
    dataset_free(&te);
}
