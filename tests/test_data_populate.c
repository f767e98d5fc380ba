// dataset_populate maps the pages of the samples asked for and no more than reading them maps (the
// kernel's fault-around included), so an agent's PSS share of the shared dataset stays what it reads.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data.h"

// Pages of the mapping that holds p, as this process's page tables have them (smaps' Rss).
static long mapped_pages(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert_not_null(f);
    char line[512];
    int in = 0;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1) break;
    }
    fclose(f);
    cr_assert_geq(kb, 0, "no mapping holds %p", p);
    return kb * 1024 / sysconf(_SC_PAGESIZE);
}

Test(data_populate, maps_the_samples_pages_and_no_others) {
    Dataset train, test, mtrain, mtest;
    synthetic_make(3, 4000, 100, &train, &test);
    int fd = -1;
    Err e = {{0}};
    cr_assert_eq(dataset_share(&train, &test, &fd, &e), 0, "%s", e.msg);
    cr_assert_eq(dataset_map(fd, &mtrain, &mtest, &e), 0, "%s", e.msg);
    Dataset rtrain, rtest;   // a second mapping of the same file, read instead of populated
    cr_assert_eq(dataset_map(fd, &rtrain, &rtest, &e), 0, "%s", e.msg);
    long before = mapped_pages(mtrain.x), rbefore = mapped_pages(rtrain.x);   // the labels' pages, checked
    int idx[3] = {0, 1500, 3999};
    dataset_populate(&mtrain, idx, 3);
    long populated = mapped_pages(mtrain.x) - before;
    static float a[3 * 3 * 32 * 32], b[3 * 3 * 32 * 32];
    uint8_t ya[3], yb[3];
    dataset_batch(&rtrain, idx, 3, 0, NULL, a, ya);
    long read = mapped_pages(rtrain.x) - rbefore;
    cr_assert_gt(populated, 0, "no page mapped");
    cr_assert_leq(populated, read, "populating 3 samples mapped %ld pages, reading them %ld", populated, read);
    dataset_batch(&mtrain, idx, 3, 0, NULL, b, yb);
    cr_assert_eq(mapped_pages(mtrain.x) - before, populated, "reading populated samples mapped more pages");
    cr_assert(!memcmp(a, b, sizeof a) && !memcmp(ya, yb, 3), "the two mappings' batches differ");
    dataset_free(&rtrain); dataset_free(&rtest);
    dataset_free(&mtrain); dataset_free(&mtest); dataset_free(&train); dataset_free(&test);
    close(fd);
}
