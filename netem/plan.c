// Scenario "network" keys into a NetPlan: default_link, per-link overrides, a schedule of changes
// (each restating the whole link), or node positions through the mobility model. Validation first.
#include "plan.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "jsonr.h"
#include "mobility.h"

const char *const NETPLAN_KEYS[] = {"default_link", "links", "schedule", "mobility", "duration_s", NULL};
static const char *const LINK_KEYS[] = {"up", "delay_ms", "jitter_ms", "jitter_dist", "loss_pct", "loss_model",
                                        "ge_p_pct", "ge_r_pct", "ge_bad_loss_pct", "ge_good_loss_pct", "rate_mbit",
                                        "limit_pkts", NULL};


// The plan's wording ("network.links[0]: unknown key 'delay' (...)", "expected >= 0 and <= 100000"), kept as
// users and tests know it.
#define PLAN_WORDS (JSONR_RANGE_WORDS | JSONR_TYPE_BARE | JSONR_KEY_QUOTED)

// The jitter distribution and loss model at o (when given): their own words, which name the value found.
static void link_kinds(JsonR *c, const json_t *o, const char *path, LinkParams *p) {
    char q[JSONR_PATH_LEN];
    const json_t *v;
    if ((v = json_object_get(o, "jitter_dist"))) {
        static const char *const D[] = {"uniform", "normal", "pareto", "paretonormal"};
        const char *s = json_string_value(v);
        int k = -1;
        for (int i = 0; s && i < 4; i++) if (!strcmp(s, D[i])) k = i;
        jsonr_path(q, path, "jitter_dist");
        if (k < 0)
            jsonr_fail(c, q, "%s%s%s is not a distribution (expected uniform, normal, pareto or paretonormal)",
                       s ? "'" : "", s ? s : "a non-string", s ? "'" : "");
        else p->jitter_dist = (JitterDist)k;
    }
    if ((v = json_object_get(o, "loss_model"))) {
        const char *s = json_string_value(v);
        jsonr_path(q, path, "loss_model");
        if (s && !strcmp(s, "random")) p->loss_model = LOSS_RANDOM;
        else if (s && !strcmp(s, "gemodel")) p->loss_model = LOSS_GEMODEL;
        else jsonr_fail(c, q, "%s is not a loss model (expected random or gemodel)", s ? s : "a non-string");
    }
}

// Parameters given in o, merged over *p (a partial object changes only what it names).
static void link_parse(JsonR *c, const json_t *o, const char *path, LinkParams *p, const char *const *extra) {
    if (!jsonr_is_object(c, o, path)) return;
    jsonr_keys(c, o, path, LINK_KEYS, extra);
    p->up = jsonr_bool(c, o, path, "up", p->up);
    p->delay_ms = jsonr_num(c, o, path, "delay_ms", 0, 1e5, p->delay_ms);
    p->jitter_ms = jsonr_num(c, o, path, "jitter_ms", 0, 1e5, p->jitter_ms);
    p->loss_pct = jsonr_num(c, o, path, "loss_pct", 0, 100, p->loss_pct);
    p->ge_p = jsonr_num(c, o, path, "ge_p_pct", 0, 100, p->ge_p);
    p->ge_r = jsonr_num(c, o, path, "ge_r_pct", 0, 100, p->ge_r);
    p->ge_bad_loss = jsonr_num(c, o, path, "ge_bad_loss_pct", 0, 100, p->ge_bad_loss);
    p->ge_good_loss = jsonr_num(c, o, path, "ge_good_loss_pct", 0, 100, p->ge_good_loss);
    p->rate_mbit = jsonr_num_gt(c, o, path, "rate_mbit", 0, 1e5, p->rate_mbit);
    // A number, not an integer, as it always was: 2.5 packets is read as 2.
    p->limit_pkts = (int)jsonr_num(c, o, path, "limit_pkts", 1, 1e6, p->limit_pkts);
    link_kinds(c, o, path, p);
    if (!c->failed && p->loss_model == LOSS_GEMODEL && p->ge_p > 0 && p->ge_r <= 0) {
        char q[JSONR_PATH_LEN];
        jsonr_path(q, path, "ge_r_pct");
        jsonr_fail(c, q, "a Gilbert-Elliott channel with ge_p_pct > 0 needs ge_r_pct > 0 (else it never leaves the "
                   "bad state)");
    }
}

static int agent_index(JsonR *c, const json_t *o, const char *path, const char *key, int n) {
    char p[JSONR_PATH_LEN];
    jsonr_path(p, path, key);
    json_t *v = json_object_get(o, key);
    if (!v) { jsonr_fail(c, p, "missing (an agent index 0..%d)", n - 1); return -1; }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= n) {
        if (json_is_integer(v))
            jsonr_fail(c, p, "agent %lld does not exist (expected 0..%d)", (long long)json_integer_value(v), n - 1);
        else jsonr_fail(c, p, "expected an agent index 0..%d", n - 1);
        return -1;
    }
    return (int)json_integer_value(v);
}

static int change_cmp(const void *a, const void *b) {
    const LinkChange *x = a, *y = b;
    if (x->at_s != y->at_s) return x->at_s < y->at_s ? -1 : 1;
    return x->from != y->from ? x->from - y->from : x->to - y->to;
}

static void plan_links(JsonR *c, const json_t *arr, NetPlan *p) {
    static const char *const EXTRA[] = {"from", "to", "symmetric", NULL};
    int n = p->n;
    if (!json_is_array(arr)) {
        jsonr_fail(c, "network.links", "expected an array of {from, to, ...link parameters}");
        return;
    }
    size_t k;
    json_t *o;
    json_array_foreach(arr, k, o) {
        char path[64];
        snprintf(path, sizeof path, "network.links[%zu]", k);
        if (!json_is_object(o)) { jsonr_fail(c, path, "expected an object"); return; }
        int from = agent_index(c, o, path, "from", n), to = agent_index(c, o, path, "to", n);
        if (c->failed) return;
        if (from == to) {
            jsonr_fail(c, path, "from and to are both agent %d (a link joins two agents)", from);
            return;
        }
        int sym = json_is_true(json_object_get(o, "symmetric"));
        link_parse(c, o, path, &p->link[from * n + to], EXTRA);
        if (sym) link_parse(c, o, path, &p->link[to * n + from], EXTRA);
    }
}

static void plan_schedule(JsonR *c, const json_t *arr, NetPlan *p) {
    static const char *const EXTRA[] = {"at_s", "from", "to", "symmetric", NULL};
    int n = p->n;
    if (!json_is_array(arr)) {
        jsonr_fail(c, "network.schedule", "expected an array of {at_s, from, to, ...link parameters}");
        return;
    }
    size_t m = json_array_size(arr);
    p->change = xcalloc(2 * m + 1, sizeof(LinkChange));
    // Entries name only what changes; each is merged over the link's state at its time, in time order.
    size_t *order = xcalloc(m + 1, sizeof(size_t));
    double *at = xcalloc(m + 1, sizeof(double));
    for (size_t k = 0; k < m && !c->failed; k++) {
        json_t *o = json_array_get(arr, k);
        char path[64];
        snprintf(path, sizeof path, "network.schedule[%zu]", k);
        if (!json_is_object(o)) { jsonr_fail(c, path, "expected an object"); break; }
        if (!json_object_get(o, "at_s")) { jsonr_fail(c, path, "missing at_s (seconds after the start)"); break; }
        at[k] = jsonr_num(c, o, path, "at_s", 0, p->duration_s, 0);
        if (c->failed) {   // say why the range ends where it does
            Err in = *c->e;
            err_set(c->e, "%.420s (network.duration_s = %g: the emulated timeline ends there)", in.msg, p->duration_s);
        }
        order[k] = k;
    }
    for (size_t a = 1; a < m; a++)   // stable insertion sort by time
        for (size_t b = a; b > 0 && at[order[b - 1]] > at[order[b]]; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    LinkParams *cur = xmalloc((size_t)n * n * sizeof(LinkParams));
    memcpy(cur, p->link, (size_t)n * n * sizeof(LinkParams));
    for (size_t r = 0; r < m && !c->failed; r++) {
        size_t k = order[r];
        json_t *o = json_array_get(arr, k);
        char path[64];
        snprintf(path, sizeof path, "network.schedule[%zu]", k);
        int from = agent_index(c, o, path, "from", n), to = agent_index(c, o, path, "to", n);
        if (c->failed) break;
        if (from == to) { jsonr_fail(c, path, "from and to are both agent %d", from); break; }
        int sym = json_is_true(json_object_get(o, "symmetric"));
        for (int d = 0; d <= sym; d++) {
            int a = d ? to : from, b = d ? from : to;
            link_parse(c, o, path, &cur[a * n + b], EXTRA);
            p->change[p->n_change++] = (LinkChange){at[k], a, b, cur[a * n + b]};
        }
    }
    free(cur);
    free(order);
    free(at);
    qsort(p->change, (size_t)p->n_change, sizeof(LinkChange), change_cmp);
}

static void plan_mobility(JsonR *c, const json_t *mob, uint64_t seed, NetPlan *p) {
    Mobility *m = NULL;
    if (mobility_parse(mob, "network.mobility", p->n, seed, p->duration_s, &m, c->e)) { c->failed = 1; return; }
    LinkChange *ch = NULL;
    int nch = 0;
    if (mobility_schedule(m, &ch, &nch, c->e)) { c->failed = 1; mobility_free(m); return; }
    mobility_free(m);
    int n = p->n;
    p->change = xcalloc((size_t)nch + 1, sizeof(LinkChange));
    for (int k = 0; k < nch; k++) {
        if (ch[k].at_s <= 0) p->link[ch[k].from * n + ch[k].to] = ch[k].p;
        else p->change[p->n_change++] = ch[k];
    }
    free(ch);
    qsort(p->change, (size_t)p->n_change, sizeof(LinkChange), change_cmp);
    p->mobile = 1;
}

int netplan_build(const json_t *net, int n, uint64_t seed, NetPlan *p, Err *e) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->link = xcalloc((size_t)n * n, sizeof(LinkParams));
    JsonR c = {.e = e, .words = PLAN_WORDS};
    LinkParams dflt = {.up = 1};
    p->duration_s = jsonr_num_gt(&c, net, "network", "duration_s", 0, 1e7, 3600);
    const json_t *dl = net ? json_object_get(net, "default_link") : NULL;
    const json_t *links = net ? json_object_get(net, "links") : NULL;
    const json_t *sched = net ? json_object_get(net, "schedule") : NULL;
    const json_t *mob = net ? json_object_get(net, "mobility") : NULL;
    if (dl) link_parse(&c, dl, "network.default_link", &dflt, NULL);
    for (int k = 0; k < n * n; k++) p->link[k] = dflt;
    if (mob && (dl || links || sched))
        jsonr_fail(&c, "network.mobility", "node positions give every link's parameters: remove %s, or remove mobility",
              dl ? "default_link" : links ? "links" : "schedule");
    if (!c.failed && links) plan_links(&c, links, p);
    if (!c.failed && sched) plan_schedule(&c, sched, p);
    if (!c.failed && mob) plan_mobility(&c, mob, seed, p);
    if (c.failed) { netplan_free(p); return -1; }
    for (int k = 0; k < n * n; k++) p->shaped |= k / n != k % n && link_is_shaped(&p->link[k]);
    p->shaped |= p->n_change > 0;
    return 0;
}

void netplan_free(NetPlan *p) {
    free(p->link);
    free(p->change);
    p->link = NULL;
    p->change = NULL;
}
