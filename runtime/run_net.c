// The runner's network part (see run.h): the link plan handed to the backend, the link changes applied
// on time, the t = 0 loss and cuts held back until every agent is connected, the connections the agents
// refused, and network.jsonl that records all of it.
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run.h"

void run_net_init(RunNet *net) {
    memset(net, 0, sizeof *net);
    net->ne.hubfd = -1;
    net->gate[0] = net->gate[1] = net->entered[0] = net->entered[1] = -1;
}

// Every link starts as planned, except that loss and cuts wait (deferred) where the backend shapes it.
static void links_start(RunNet *net, int n) {
    net->ne.link = xmalloc((size_t)n * n * sizeof(LinkParams));
    net->deferred = xcalloc((size_t)n * n + 1, sizeof(LinkChange));
    for (int k = 0; k < n * n; k++) {
        LinkParams p = net->plan.link[k];
        net->ne.link[k] = p;
        if (!net->ne.shaped[k] || (p.up && p.loss_pct <= 0 && (p.loss_model != LOSS_GEMODEL || p.ge_p <= 0))) continue;
        net->ne.link[k].up = 1;
        net->ne.link[k].loss_model = LOSS_RANDOM;
        net->ne.link[k].loss_pct = 0;
        net->deferred[net->n_deferred++] = (LinkChange){0, k / n, k % n, p};
    }
}

int run_net_plan(RunNet *net, const Scenario *s, int n, Err *e) {
    if (scenario_netplan(s, &net->plan, e)) return -1;
    net->ne.ops = net->backend;
    net->ne.n = n;
    net->ne.pids = xcalloc((size_t)n, sizeof(pid_t));
    net->ne.shaped = xcalloc((size_t)n * n, 1);
    if (net->backend != &backend_none)   // every ordered pair gets its own qdisc, so any link can change later
        for (int k = 0; k < n * n; k++) net->ne.shaped[k] = k / n != k % n;
    // TCP handshakes over lossy or cut links would stall the start: links begin without loss, and their
    // t = 0 loss and cuts are applied as soon as every agent has connected (logged as changes at 0 s).
    links_start(net, n);
    return 0;
}

void run_net_log(RunNet *net, const char *fmt, ...) {
    if (!net->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(net->log, fmt, ap);
    va_end(ap);
    fputc('\n', net->log);
    fflush(net->log);
}

// Within a second of the next change, start what will apply it (a tc reading its batch).
static int changes_arm(RunNet *net, double t_s, Err *e) {
    int k = net->next_change;
    const LinkChange *c = net->plan.change;
    if (net->armed_upto > k || c[k].at_s - t_s >= 1.0) return 0;
    int a = k;
    while (a < net->plan.n_change && c[a].at_s == c[k].at_s) a++;
    Err be = {{0}};
    if (net->backend->arm(&net->ne, &c[k], a - k, &be)) {
        err_set(e, "network backend %s: %s", net->backend->name, be.msg);
        return -1;
    }
    net->armed_upto = a;
    return 0;
}

// Each change is logged with the time it took effect (after tc returned).
int run_net_changes_apply(RunNet *net, double t_go, Err *e) {
    if (net->next_change >= net->plan.n_change) return 0;
    if (changes_arm(net, time_now() - t_go, e)) return -1;
    double now = time_now() - t_go;
    int k = net->next_change;
    while (k < net->plan.n_change && net->plan.change[k].at_s <= now) k++;
    if (k == net->next_change) return 0;
    Err be = {{0}};
    const LinkChange *c = &net->plan.change[net->next_change];
    int m = k - net->next_change;
    if (net->backend->apply(&net->ne, c, m, &be)) {
        err_set(e, "network backend %s: changing links: %s", net->backend->name, be.msg);
        return -1;
    }
    double done = time_now() - t_go;
    for (int q = 0; q < m; q++) {
        char lj[400];
        link_json(&c[q].p, lj, sizeof lj);
        run_net_log(net, "{\"event\":\"change\",\"at_s\":%.4f,\"t_s\":%.4f,\"from\":%d,\"to\":%d,\"link\":%s}",
                    c[q].at_s, done, c[q].from, c[q].to, lj);
    }
    net->next_change = k;
    return 0;
}

int run_net_deferred_apply(RunNet *net, double t_go, Err *e) {
    if (!net->n_deferred) return 0;
    Err be = {{0}};
    int rc = net->backend->apply(&net->ne, net->deferred, net->n_deferred, &be);
    if (rc) err_set(e, "network backend %s: %s", net->backend->name, be.msg);
    double t = time_now() - t_go;
    for (int q = 0; q < net->n_deferred && !rc; q++) {
        char lj[400];
        link_json(&net->deferred[q].p, lj, sizeof lj);
        run_net_log(net, "{\"event\":\"change\",\"at_s\":0,\"t_s\":%.4f,\"from\":%d,\"to\":%d,\"link\":%s,"
                    "\"why\":\"loss and cuts wait until every agent is connected\"}", t, net->deferred[q].from,
                    net->deferred[q].to, lj);
    }
    net->n_deferred = 0;
    net->armed_upto = net->next_change;   // those may have used a tc armed for the next change: arm again
    return rc;
}

void run_net_rejects_take(RunNet *net, int i, const json_t *o, double t_go) {
    if (!net->rejected) net->rejected = json_array();
    net->rejected_total += (int)json_integer_value(json_object_get(o, "rejected_total"));
    size_t q;
    json_t *v;
    json_array_foreach(json_object_get(o, "rejected"), q, v) {
        json_t *item = json_pack("{s:i, s:O?, s:O?, s:O?}", "agent", i, "from", json_object_get(v, "from"), "claimed",
                                 json_object_get(v, "claimed"), "why", json_object_get(v, "why"));
        if (!item) continue;
        json_array_append(net->rejected, item);
        json_object_set_new(item, "event", json_string("rejected"));
        json_object_set_new(item, "t_s", json_real(time_now() - t_go));
        char *t = json_dumps(item, JSON_COMPACT);
        if (t) run_net_log(net, "%s", t);
        free(t);
        json_decref(item);
    }
}

void run_net_free(RunNet *net) {
    for (int k = 0; k < 2; k++) {
        if (net->gate[k] >= 0) close(net->gate[k]);
        if (net->entered[k] >= 0) close(net->entered[k]);
    }
    if (net->log) fclose(net->log);
    free(net->ne.pids), free(net->ne.shaped), free(net->ne.link), free(net->deferred);
    netplan_free(&net->plan);
    json_decref(net->rejected);
    json_decref(net->fidelity);
    run_net_init(net);
}
