// Emulation fidelity of a finished run: the agents' TCP samples (the "tcp" key of their metrics lines)
// against the network plan (netem/fidelity.h); one "fidelity" event per directed link in network.jsonl,
// a warning naming the links outside tolerance, and summary.json's "link_fidelity".
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "disturb.h"
#include "fidelity.h"
#include "run.h"

static void sample_add(TcpSample **s, int *ns, const TcpSample *x) {
    TcpSample *g = realloc(*s, (size_t)(*ns + 1) * sizeof **s);
    if (!g) { fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__); abort(); }
    *s = g;
    (*s)[(*ns)++] = *x;
}

static double num_or(const json_t *o, const char *key, double dflt) {
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

// Agent i's samples per peer, in the order it wrote them (time order). Lines without "tcp" (older
// runs, evaluations, totals) are skipped; times count from the start barrier.
static void samples_read(const Run *r, int i, TcpSample **s, int *ns) {
    char path[1200];
    snprintf(path, sizeof path, "%s/agent-%d.jsonl", r->run_dir, i);
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *tcp = json_object_get(o, "tcp");
        const json_t *t = json_object_get(o, "t_mono_us");
        const char *peer;
        json_t *p;
        json_object_foreach(json_is_integer(t) ? tcp : NULL, peer, p) {
            int j = atoi(peer);
            if (j < 0 || j >= r->n || j == i) continue;
            TcpSample x = {.t_s = (double)json_integer_value(t) / 1e6 - r->t_go,
                           .min_rtt_ms = num_or(p, "min_rtt_ms", -1), .rtt_ms = num_or(p, "rtt_ms", -1),
                           .rttvar_ms = num_or(p, "rttvar_ms", 0), .delivery_mbit = num_or(p, "delivery_mbit", -1),
                           .app_limited = json_is_true(json_object_get(p, "app_limited")),
                           .mss = (int)num_or(p, "mss", 0), .retrans = (long)num_or(p, "retrans", 0),
                           .acked_bytes = num_or(p, "acked_bytes", 0)};
            sample_add(&s[i * r->n + j], &ns[i * r->n + j], &x);
        }
        json_decref(o);
    }
    free(line);
    if (f) fclose(f);
}

static void netlog_json(Run *r, json_t *o) {
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    if (r->net.log && t) fprintf(r->net.log, "%s\n", t);
    free(t);
    json_decref(o);
}

// Say what the comparison found: one line when the links were faithful, a warning naming each link otherwise.
static void verdict_print(Run *r, const LinkFidelity *f, int nf, const json_t *out) {
    FILE *o = r->json ? stderr : stdout;
    int compared = (int)json_integer_value(json_object_get(out, "links_compared"));
    char msg[4000];
    int bad = fidelity_deviations(f, nf, msg, sizeof msg);
    if (!compared)
        fprintf(o, "link fidelity: nothing to compare (%s)\n", json_string_value(json_object_get(out, "why")));
    else if (!bad)
        fprintf(o, "link fidelity: %d links compared, all within tolerance\n", compared);
    else
        fprintf(stderr, "warning: link emulation deviates from the scenario on %d of %d links: %s. The timing results "
                "of this run do not reflect the configured links (docs/network.md, \"Emulation fidelity\")\n", bad,
                compared, msg);
}

json_t *run_fidelity(Run *r) {
    if (r->net.backend == &backend_none || !r->net.plan.shaped)
        return fidelity_json(NULL, 0, r->net.backend == &backend_none ? "backend none: no link is emulated"
                                                                  : "the scenario shapes no link");
    int n = r->n;
    TcpSample **s = xcalloc((size_t)n * (size_t)n, sizeof *s);
    int *ns = xcalloc((size_t)n * (size_t)n, sizeof *ns);
    int any = 0;
    for (int i = 0; i < n; i++) samples_read(r, i, s, ns);
    for (int k = 0; k < n * n; k++) any |= ns[k] > 0;
    LinkFidelity *f = xcalloc((size_t)n * (size_t)n, sizeof *f);
    int nf = fidelity_compare(&r->net.plan, s, ns, f);
    json_t *out = fidelity_json(f, nf, any ? NULL : "no agent sampled its links (metrics lines without \"tcp\")");
    LinkDisturb d;
    Err e;
    if (!link_disturb_parse(getenv(LINK_DISTURB_ENV), n, &d, &e) && d.set) {   // a run wrong on purpose says so
        json_t *h = json_pack("{s:s, s:s, s:i, s:i, s:f}", "variable", LINK_DISTURB_ENV, "value", d.value, "from",
                              d.from, "to", d.to, "extra_delay_ms", d.extra_ms);
        netlog_json(r, json_pack("{s:s, s:O}", "event", "test_hook", "hook", h));
        json_object_set_new(out, "test_hook", h);
    }
    for (int k = 0; k < nf; k++) {
        json_t *ev = json_pack("{s:s}", "event", "fidelity");
        json_t *lj = fidelity_link_json(&f[k]);
        json_object_update(ev, lj);
        json_decref(lj);
        netlog_json(r, ev);
    }
    if (r->net.log) fflush(r->net.log);
    verdict_print(r, f, nf, out);
    for (int k = 0; k < n * n; k++) free(s[k]);
    free(s), free(ns), free(f);
    return out;
}
