// Tests for the partitioners: equal sizes, disjoint valid indices, determinism from the seed, and
// label histograms that show the intended skew (or its absence); bad arguments are rejected.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "partition.h"

// Labels i % classes, shuffled so that index order carries no label information.
static uint8_t *labels_balanced(int n, int classes, uint64_t seed) {
    uint8_t *y = malloc((size_t)n);
    int *perm = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) perm[i] = i;
    Rng r;
    rng_seed(&r, seed);
    rng_shuffle_int(&r, perm, n);
    for (int i = 0; i < n; i++) y[perm[i]] = (uint8_t)(i % classes);
    free(perm);
    return y;
}

// Every agent holds `per` samples, all indices are valid and no sample is given out twice.
static void partition_valid(const Partition *p, int n, int agents, int per) {
    cr_assert_eq(p->agents, agents);
    char *seen = calloc((size_t)n, 1);
    cr_assert_eq(p->start[0], 0);
    for (int a = 0; a < agents; a++) {
        cr_assert_eq(p->start[a + 1] - p->start[a], per, "agent %d holds %d, expected %d", a,
                     p->start[a + 1] - p->start[a], per);
        for (int t = p->start[a]; t < p->start[a + 1]; t++) {
            int i = p->index[t];
            cr_assert(i >= 0 && i < n, "agent %d has index %d", a, i);
            cr_assert(!seen[i], "sample %d given out twice", i);
            seen[i] = 1;
        }
    }
    free(seen);
}

static void histogram(const Partition *p, const uint8_t *y, int a, int classes, int *h) {
    memset(h, 0, sizeof(int) * (size_t)classes);
    for (int t = p->start[a]; t < p->start[a + 1]; t++) h[y[p->index[t]]]++;
}

// Mean over agents of the total-variation distance between an agent's label mix and uniform.
static double skew_tv(const Partition *p, const uint8_t *y, int classes) {
    int h[256];
    double tv = 0;
    for (int a = 0; a < p->agents; a++) {
        histogram(p, y, a, classes, h);
        double m = p->start[a + 1] - p->start[a], d = 0;
        for (int c = 0; c < classes; c++) d += fabs(h[c] / m - 1.0 / classes);
        tv += d / 2;
    }
    return tv / p->agents;
}

static int classes_seen(const Partition *p, const uint8_t *y, int a, int classes) {
    int h[256], k = 0;
    histogram(p, y, a, classes, h);
    for (int c = 0; c < classes; c++) k += h[c] > 0;
    return k;
}

enum { KIND_IID, KIND_SKEW, KIND_DIRICHLET };

static int partition_run(int kind, Partition *p, const uint8_t *y, int n, int classes, int agents, double arg,
                         uint64_t seed, Err *e) {
    Rng r;
    rng_seed(&r, seed);
    if (kind == KIND_IID) return partition_iid(p, y, n, agents, &r, e);
    if (kind == KIND_SKEW) return partition_skew(p, y, n, classes, agents, arg, &r, e);
    return partition_dirichlet(p, y, n, classes, agents, arg, &r, e);
}

Test(partition, iid_equal_disjoint_uniform) {
    const int n = 10000, agents = 10;
    uint8_t *y = labels_balanced(n, 10, 1);
    Partition p;
    Err e = {{0}};
    cr_assert_eq(partition_iid(&p, y, n, agents, &(Rng){{1, 2, 3, 4}}, &e), 0, "%s", e.msg);
    partition_valid(&p, n, agents, 1000);
    int h[10];
    for (int a = 0; a < agents; a++) {
        histogram(&p, y, a, 10, h);
        for (int c = 0; c < 10; c++) cr_assert(h[c] > 60 && h[c] < 140, "agent %d has %d of class %d", a, h[c], c);
    }
    cr_assert(skew_tv(&p, y, 10) < 0.1);
    partition_free(&p);
    cr_assert_eq(partition_iid(&p, y, 103, 10, &(Rng){{1, 2, 3, 4}}, &e), 0);
    partition_valid(&p, 103, 10, 10);  // the remainder is dropped
    partition_free(&p);
    cr_assert_eq(partition_iid(&p, y, 5, 5, &(Rng){{1, 2, 3, 4}}, &e), 0);
    partition_valid(&p, 5, 5, 1);
    partition_free(&p);
    free(y);
}

Test(partition, deterministic_from_seed) {
    const int n = 3000;
    uint8_t *y = labels_balanced(n, 10, 2);
    const double arg[3] = {0, 0.5, 0.3};
    for (int kind = 0; kind < 3; kind++) {
        Partition a, b, c;
        Err e = {{0}};
        cr_assert_eq(partition_run(kind, &a, y, n, 10, 6, arg[kind], 77, &e), 0, "%s", e.msg);
        cr_assert_eq(partition_run(kind, &b, y, n, 10, 6, arg[kind], 77, &e), 0, "%s", e.msg);
        cr_assert_eq(partition_run(kind, &c, y, n, 10, 6, arg[kind], 78, &e), 0, "%s", e.msg);
        size_t bytes = sizeof(int) * (size_t)a.start[6];
        cr_assert_eq(memcmp(a.start, b.start, sizeof(int) * 7), 0);
        cr_assert_eq(memcmp(a.index, b.index, bytes), 0, "kind %d: same seed, other partition", kind);
        cr_assert_neq(memcmp(a.index, c.index, bytes), 0, "kind %d: other seed, same partition", kind);
        partition_free(&a); partition_free(&b); partition_free(&c);
    }
    free(y);
}

Test(partition, skew_one_sorts_by_label) {
    const int n = 10000;
    uint8_t *y = labels_balanced(n, 10, 3);
    Partition p;
    Err e = {{0}};
    cr_assert_eq(partition_run(KIND_SKEW, &p, y, n, 10, 10, 1.0, 5, &e), 0, "%s", e.msg);
    partition_valid(&p, n, 10, 1000);
    for (int a = 0; a < 10; a++) cr_assert_eq(classes_seen(&p, y, a, 10), 1, "agent %d", a);
    partition_free(&p);
    cr_assert_eq(partition_run(KIND_SKEW, &p, y, n, 10, 8, 1.0, 5, &e), 0, "%s", e.msg);
    partition_valid(&p, n, 8, 1250);
    for (int a = 0; a < 8; a++) cr_assert(classes_seen(&p, y, a, 10) <= 2, "agent %d", a);
    partition_free(&p);
    cr_assert_eq(partition_run(KIND_SKEW, &p, y, n, 10, 10, 0.0, 5, &e), 0, "%s", e.msg);
    partition_valid(&p, n, 10, 1000);
    cr_assert(skew_tv(&p, y, 10) < 0.1, "skew 0 is IID");
    partition_free(&p);
    free(y);
}

// The low-precision paper's example: CIFAR-10 sized, skew 0.8, 8 agents. Agent 0 gets 4000 of class 0,
// 1000 of class 1 and 1250 random samples.
Test(partition, skew_paper_example) {
    const int n = 50000;
    uint8_t *y = labels_balanced(n, 10, 4);
    Partition p;
    Err e = {{0}};
    cr_assert_eq(partition_run(KIND_SKEW, &p, y, n, 10, 8, 0.8, 9, &e), 0, "%s", e.msg);
    partition_valid(&p, n, 8, 6250);
    int h[10] = {0};
    for (int t = 0; t < 5000; t++) h[y[p.index[t]]]++;
    cr_assert_eq(h[0], 4000); cr_assert_eq(h[1], 1000);
    histogram(&p, y, 0, 10, h);
    cr_assert(h[0] > 4050 && h[0] < 4250, "class 0: %d", h[0]);
    for (int c = 2; c < 10; c++) cr_assert(h[c] > 70 && h[c] < 200, "class %d: %d", c, h[c]);
    partition_free(&p);
    free(y);
}

Test(partition, skew_unbalanced_labels_still_equal) {
    const int n = 4321;
    uint8_t *y = malloc(n);
    Rng r;
    rng_seed(&r, 12);
    for (int i = 0; i < n; i++) y[i] = (uint8_t)(rng_uniform(&r) < 0.5 ? 0 : rng_below(&r, 7));
    const double skews[5] = {0, 0.37, 0.5, 0.93, 1};
    for (int s = 0; s < 5; s++)
        for (int agents = 1; agents <= 13; agents += 3) {
            Partition p;
            Err e = {{0}};
            cr_assert_eq(partition_run(KIND_SKEW, &p, y, n, 7, agents, skews[s], 3, &e), 0, "%s", e.msg);
            partition_valid(&p, n, agents, n / agents);
            partition_free(&p);
        }
    free(y);
}

Test(partition, dirichlet_skew_grows_as_alpha_shrinks) {
    const int n = 20000;
    uint8_t *y = labels_balanced(n, 10, 5);
    Partition lo, hi;
    Err e = {{0}};
    cr_assert_eq(partition_run(KIND_DIRICHLET, &lo, y, n, 10, 10, 0.1, 21, &e), 0, "%s", e.msg);
    cr_assert_eq(partition_run(KIND_DIRICHLET, &hi, y, n, 10, 10, 100.0, 21, &e), 0, "%s", e.msg);
    partition_valid(&lo, n, 10, 2000);
    partition_valid(&hi, n, 10, 2000);
    double tv_lo = skew_tv(&lo, y, 10), tv_hi = skew_tv(&hi, y, 10);
    cr_assert(tv_hi < 0.1, "alpha 100 should be near IID: TV %g", tv_hi);
    cr_assert(tv_lo > 0.4 && tv_lo > 5 * tv_hi, "alpha 0.1 should be skewed: TV %g vs %g", tv_lo, tv_hi);
    partition_free(&lo); partition_free(&hi);
    free(y);
}

Test(partition, dirichlet_sizes_over_chunks) {
    const int n = 12345;
    uint8_t *y = labels_balanced(n, 100, 6);
    const int agents[5] = {1, 3, 10, 16, 25};  // 16 and 25 use chunks of 10 agents plus a remainder
    for (int k = 0; k < 5; k++) {
        Partition p;
        Err e = {{0}};
        cr_assert_eq(partition_run(KIND_DIRICHLET, &p, y, n, 100, agents[k], 0.5, 8, &e), 0, "%s", e.msg);
        partition_valid(&p, n, agents[k], n / agents[k]);
        partition_free(&p);
    }
    free(y);
}

Test(partition, dirichlet_impossible_split_reported) {
    // Two classes, ten agents, alpha near 0: each class lands on one agent, so eight stay empty.
    const int n = 1000;
    uint8_t *y = labels_balanced(n, 2, 7);
    Partition p;
    Err e = {{0}};
    cr_assert_eq(partition_run(KIND_DIRICHLET, &p, y, n, 2, 10, 0.0001, 1, &e), -1);
    cr_assert_not_null(strstr(e.msg, "alpha"), "%s", e.msg);
    cr_assert_null(p.index);
    partition_free(&p);
    free(y);
}

Test(partition, bad_arguments_rejected) {
    uint8_t y[20];
    for (int i = 0; i < 20; i++) y[i] = (uint8_t)(i % 4);
    struct { int kind, n, classes, agents; double arg; const char *says; } bad[] = {
        {KIND_IID, 20, 4, 0, 0, "agents"},          {KIND_IID, 20, 4, 21, 0, "agents"},
        {KIND_IID, 0, 4, 1, 0, "no samples"},       {KIND_SKEW, 20, 4, 2, -0.1, "skew"},
        {KIND_SKEW, 20, 4, 2, 1.1, "skew"},         {KIND_SKEW, 20, 4, 2, NAN, "skew"},
        {KIND_SKEW, 20, 3, 2, 0.5, "label 3"},      {KIND_SKEW, 20, 4, -1, 0.5, "agents"},
        {KIND_DIRICHLET, 20, 4, 2, 0, "alpha"},     {KIND_DIRICHLET, 20, 4, 2, -1, "alpha"},
        {KIND_DIRICHLET, 20, 4, 2, NAN, "alpha"},   {KIND_DIRICHLET, 20, 4, 2, INFINITY, "alpha"},
        {KIND_DIRICHLET, 20, 4, 30, 1, "agents"},   {KIND_DIRICHLET, 20, 0, 2, 1, "classes"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        Partition p;
        Err e = {{0}};
        int rc = partition_run(bad[t].kind, &p, y, bad[t].n, bad[t].classes, bad[t].agents, bad[t].arg, 1, &e);
        cr_assert_eq(rc, -1, "case %zu accepted", t);
        cr_assert_not_null(strstr(e.msg, bad[t].says), "case %zu: '%s' lacks '%s'", t, e.msg, bad[t].says);
        cr_assert_null(p.index);
        partition_free(&p);
    }
    Partition p;
    Err e = {{0}};
    cr_assert_eq(partition_iid(&p, NULL, 5, 1, &(Rng){{1, 2, 3, 4}}, &e), -1);
}
