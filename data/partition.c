// Partitioners: IID slices, the low-precision paper's label-sorted skew, and the Dirichlet routine
// of QGM / RelaySGD / GUT. Every agent gets the same number of samples; all draws come from the Rng.
#include "partition.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIRICHLET_AUX 10              // agents served by one chunk (n_auxi_workers in the original)
#define DIRICHLET_MAX_DRAWS 100000    // redraws of one chunk before giving up (the original loops forever)

void partition_free(Partition *p) {
    if (!p) return;
    free(p->start);
    free(p->index);
    memset(p, 0, sizeof *p);
}

static int partition_check(const uint8_t *labels, int n, int classes, int agents, Err *e) {
    if (!labels || n < 1) { err_set(e, "partition: no samples to split (n = %d)", n); return -1; }
    if (agents < 1 || agents > n) {
        err_set(e, "partition: agents must be in 1..%d (the number of samples), got %d", n, agents);
        return -1;
    }
    if (classes < 1 || classes > 256) {
        err_set(e, "partition: classes must be in 1..256, got %d", classes);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (labels[i] >= classes) {
            err_set(e, "partition: label %d of sample %d is not below classes = %d", labels[i], i, classes);
            return -1;
        }
    return 0;
}

// Agent a owns index[a*per .. (a+1)*per); index is taken over (it may hold more than agents*per).
static void partition_set(Partition *p, int agents, int per, int *index) {
    p->agents = agents;
    p->start = xmalloc(sizeof(int) * (size_t)(agents + 1));
    for (int a = 0; a <= agents; a++) p->start[a] = a * per;
    p->index = index;
}

// Sample indices grouped by label, each group in increasing index order (a stable counting sort).
// cstart (classes + 1): class c occupies out[cstart[c] .. cstart[c+1]).
static void indices_by_label(const int *rows, int n, const uint8_t *labels, int classes, int *out, int *cstart) {
    memset(cstart, 0, sizeof(int) * (size_t)(classes + 1));
    for (int i = 0; i < n; i++) cstart[labels[rows ? rows[i] : i] + 1]++;
    for (int c = 0; c < classes; c++) cstart[c + 1] += cstart[c];
    int *fill = xmalloc(sizeof(int) * (size_t)classes);
    memcpy(fill, cstart, sizeof(int) * (size_t)classes);
    for (int i = 0; i < n; i++) {
        int r = rows ? rows[i] : i;
        out[fill[labels[r]]++] = r;
    }
    free(fill);
}

int partition_iid(Partition *p, const uint8_t *labels, int n, int agents, Rng *rng, Err *e) {
    memset(p, 0, sizeof *p);
    if (partition_check(labels, n, 256, agents, e) != 0) return -1;
    int *perm = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) perm[i] = i;
    rng_shuffle_int(rng, perm, n);
    partition_set(p, agents, n / agents, perm);
    return 0;
}

// Move `want` indices to dst from pool a (cursor *ia), topping up from pool b when a runs dry.
// The pools together hold n >= agents * per samples, so b never runs dry too.
static void pool_take(int *dst, int want, const int *a, int na, int *ia, const int *b, int *ib) {
    for (int k = 0; k < want; k++) dst[k] = *ia < na ? a[(*ia)++] : b[(*ib)++];
}

// As in skew_sort + DataPartitioner: the first floor(skew * |class c|) samples of each class (in index
// order) form the sorted pool, the rest a shuffled pool. Agent a gets the next floor(skew * N/agents)
// sorted samples, then enough shuffled ones to make floor(N/agents). The original's two truncations
// can give one sample less; the per-class rounding can leave a pool short, then the other pool fills in.
int partition_skew(Partition *p, const uint8_t *labels, int n, int classes, int agents, double skew,
                   Rng *rng, Err *e) {
    memset(p, 0, sizeof *p);
    if (!(skew >= 0.0 && skew <= 1.0)) {
        err_set(e, "partition: skew must be in [0, 1], got %g", skew);
        return -1;
    }
    if (partition_check(labels, n, classes, agents, e) != 0) return -1;
    int *sorted = xmalloc(sizeof(int) * (size_t)n), *cstart = xmalloc(sizeof(int) * (size_t)(classes + 1));
    indices_by_label(NULL, n, labels, classes, sorted, cstart);
    int *pool_s = xmalloc(sizeof(int) * (size_t)n), *pool_r = xmalloc(sizeof(int) * (size_t)n);
    int ns = 0, nr = 0;
    for (int c = 0; c < classes; c++) {
        int size = cstart[c + 1] - cstart[c], k = (int)(skew * size);
        for (int i = 0; i < size; i++) {
            int v = sorted[cstart[c] + i];
            if (i < k) pool_s[ns++] = v;
            else pool_r[nr++] = v;
        }
    }
    rng_shuffle_int(rng, pool_r, nr);
    int per = n / agents, ks = (int)(1.0 / agents * n * skew);
    if (ks > per) ks = per;
    int *index = xmalloc(sizeof(int) * (size_t)agents * per);
    int is = 0, ir = 0;
    for (int a = 0; a < agents; a++) {
        int *dst = index + (size_t)a * per;
        pool_take(dst, ks, pool_s, ns, &is, pool_r, &ir);
        pool_take(dst + ks, per - ks, pool_r, nr, &ir, pool_s, &is);
    }
    free(sorted); free(cstart); free(pool_s); free(pool_r);
    partition_set(p, agents, per, index);
    return 0;
}

// One draw for a chunk of S samples and k agents: per class, Dirichlet(alpha) shares, zeroed for agents
// already holding >= S/k ("balance"), cut at floor(cumsum * |class|). cut is (classes, k + 1) offsets
// into each class; size (k). Returns the smallest agent size.
static int dirichlet_draw(Rng *rng, double alpha, int k, int classes, const int *cstart, int S, int *cut,
                          int *size, double *share) {
    const double fair = (double)S / k;
    for (int j = 0; j < k; j++) size[j] = 0;
    for (int c = 0; c < classes; c++) {
        int len = cstart[c + 1] - cstart[c], *cc = cut + (size_t)c * (k + 1);
        rng_dirichlet(rng, alpha, k, share);
        double sum = 0.0;
        for (int j = 0; j < k; j++) { if (!(size[j] < fair)) share[j] = 0.0; sum += share[j]; }
        if (!(sum > 0.0)) {  // every share left underflowed: the alpha -> 0 limit, one open agent takes all
            int open = 0;
            for (int j = 0; j < k; j++) open += size[j] < fair;
            int pick = (int)rng_below(rng, (uint32_t)(open ? open : k));
            for (int j = 0; j < k; j++) {
                share[j] = (!open || size[j] < fair) && pick-- == 0 ? 1.0 : 0.0;
                sum += share[j];
            }
        }
        double cum = 0.0;
        cc[0] = 0;
        for (int j = 0; j < k - 1; j++) {
            cum += share[j] / sum;
            int t = (int)(cum * len);
            cc[j + 1] = t < cc[j] ? cc[j] : t > len ? len : t;
        }
        cc[k] = len;
        for (int j = 0; j < k; j++) size[j] += cc[j + 1] - cc[j];
    }
    int min = size[0];
    for (int j = 1; j < k; j++) if (size[j] < min) min = size[j];
    return min;
}

// Split rows[0..S) among k agents, redrawing until every agent has >= floor(S / (2k)); write the rows
// agent by agent (each agent's rows class by class) into out[0..S).
static int dirichlet_chunk(const int *rows, int S, const uint8_t *labels, int classes, int k, double alpha,
                           Rng *rng, int *out, Err *e) {
    int *byclass = xmalloc(sizeof(int) * (size_t)S), *cstart = xmalloc(sizeof(int) * (size_t)(classes + 1));
    int *cut = xmalloc(sizeof(int) * (size_t)classes * (k + 1)), *size = xmalloc(sizeof(int) * (size_t)k);
    double *share = xmalloc(sizeof(double) * (size_t)k);
    indices_by_label(rows, S, labels, classes, byclass, cstart);
    const int need = (int)(0.5 * S / k);
    int draws = 0, min;
    do min = dirichlet_draw(rng, alpha, k, classes, cstart, S, cut, size, share);
    while (min < need && ++draws < DIRICHLET_MAX_DRAWS);
    int rc = 0;
    if (min < need) {
        err_set(e, "partition: Dirichlet alpha = %g gave some agent fewer than %d of %d samples in %d draws; "
                "use a larger alpha or fewer agents", alpha, need, S, DIRICHLET_MAX_DRAWS);
        rc = -1;
    } else {
        int at = 0;
        for (int j = 0; j < k; j++)
            for (int c = 0; c < classes; c++) {
                const int *cc = cut + (size_t)c * (k + 1);
                for (int t = cc[j]; t < cc[j + 1]; t++) out[at++] = byclass[cstart[c] + t];
            }
    }
    free(byclass); free(cstart); free(cut); free(size); free(share);
    return rc;
}

// Section 1.1 of the heterogeneous-data notes: shuffle, cut into chunks of 10 agents each, split each
// chunk by Dirichlet shares, concatenate, then cut the concatenation into equal contiguous slices.
// The structure follows the original; NumPy's random streams are not reproduced bit for bit.
int partition_dirichlet(Partition *p, const uint8_t *labels, int n, int classes, int agents,
                        double alpha, Rng *rng, Err *e) {
    memset(p, 0, sizeof *p);
    if (!(alpha > 0.0) || !isfinite(alpha)) {
        err_set(e, "partition: Dirichlet alpha must be > 0 and finite, got %g", alpha);
        return -1;
    }
    if (partition_check(labels, n, classes, agents, e) != 0) return -1;
    int *perm = xmalloc(sizeof(int) * (size_t)n), *all = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) perm[i] = i;
    rng_shuffle_int(rng, perm, n);
    const int splits = (agents + DIRICHLET_AUX - 1) / DIRICHLET_AUX;
    const int chunk = (int)((double)DIRICHLET_AUX / agents * n);
    int rc = 0;
    for (int s = 0, from = 0; s < splits && rc == 0; s++) {
        int to = s == splits - 1 ? n : from + chunk;
        int k = s < splits - 1 ? DIRICHLET_AUX : agents - DIRICHLET_AUX * (splits - 1);
        rc = dirichlet_chunk(perm + from, to - from, labels, classes, k, alpha, rng, all + from, e);
        from = to;
    }
    free(perm);
    if (rc != 0) { free(all); return -1; }
    partition_set(p, agents, n / agents, all);
    return 0;
}
