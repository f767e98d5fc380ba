// Tests for emulation fidelity (netem/fidelity.c): synthetic TCP_INFO samples against a plan, the
// window before a link's change, jitter's reach, the saturated delivery rate, and failing verdicts;
// and the test-only disturbance hook's parsing (netem/disturb.c).
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "disturb.h"
#include "fidelity.h"

#define N 4

typedef struct {
    NetPlan plan;
    TcpSample *s[N * N];
    int ns[N * N];
    LinkFidelity f[N * N];
    int nf;
} Case;

static void case_plan(Case *c, const char *network) {
    memset(c, 0, sizeof *c);
    json_t *o = json_loads(network, 0, NULL);
    cr_assert(o, "test JSON does not parse: %s", network);
    Err e = {{0}};
    cr_assert_eq(netplan_build(o, N, 1, &c->plan, &e), 0, "netplan_build(%s): %s", network, e.msg);
    json_decref(o);
}

// Every directed pair gets one sample at t: min RTT `min_ms`, 1 MB acknowledged, application-limited.
static void case_fill(Case *c, double t, double min_ms) {
    for (int k = 0; k < N * N; k++) {
        if (k / N == k % N) continue;
        c->s[k] = realloc(c->s[k], (size_t)(c->ns[k] + 1) * sizeof(TcpSample));
        c->s[k][c->ns[k]++] = (TcpSample){.t_s = t, .min_rtt_ms = min_ms, .rtt_ms = min_ms + 1, .rttvar_ms = 0.5,
                                          .delivery_mbit = 5, .app_limited = 1, .mss = 1448, .acked_bytes = 1e6};
    }
}

static TcpSample *last(Case *c, int i, int j) { return &c->s[i * N + j][c->ns[i * N + j] - 1]; }

static const LinkFidelity *find(const Case *c, int i, int j) {
    for (int k = 0; k < c->nf; k++)
        if (c->f[k].from == i && c->f[k].to == j) return &c->f[k];
    cr_assert_fail("no fidelity entry for %d -> %d", i, j);
    return NULL;
}

static const char *verdict(Case *c) {
    c->nf = fidelity_compare(&c->plan, c->s, c->ns, c->f);
    json_t *o = fidelity_json(c->f, c->nf, NULL);
    static char v[32];
    str_copy(v, sizeof v, json_string_value(json_object_get(o, "verdict")));
    json_decref(o);
    return v;
}

static void case_free(Case *c) {
    for (int k = 0; k < N * N; k++) free(c->s[k]);
    netplan_free(&c->plan);
}

Test(fidelity, faithful_20ms_links_pass) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20}}");
    case_fill(&c, 1.0, 40.6);
    cr_assert_str_eq(verdict(&c), "ok");
    cr_assert_eq(c.nf, N * (N - 1));
    const LinkFidelity *f = find(&c, 0, 1);
    cr_assert(f->compared && f->ok, "0->1: %s", f->why);
    cr_assert_float_eq(f->cfg_rtt_ms, 40.0, 1e-9);
    cr_assert_float_eq(f->lo_ms, 30.0, 1e-9);   // 25% of 40 ms beats the 2 ms floor
    cr_assert_float_eq(f->hi_ms, 50.0, 1e-9);
    cr_assert(!f->rate_compared, "no rate configured, yet the rate was compared");
    case_free(&c);
}

Test(fidelity, a_slow_link_fails_and_is_named) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20}}");
    case_fill(&c, 1.0, 40.6);
    last(&c, 0, 1)->min_rtt_ms = 70.2;   // a guest 30 ms late on 0 -> 1 (or the test hook)
    last(&c, 1, 0)->min_rtt_ms = 12.0;   // and a link faster than configured: not shaped as asked
    cr_assert_str_eq(verdict(&c), "deviates");
    cr_assert(!find(&c, 0, 1)->ok && !find(&c, 1, 0)->ok && find(&c, 0, 2)->ok);
    char msg[1000];
    cr_assert_eq(fidelity_deviations(c.f, c.nf, msg, sizeof msg), 2);
    cr_assert(strstr(msg, "0->1 min RTT 70.2 ms outside 30.0..50.0 ms") && strstr(msg, "1->0"), "%s", msg);
    case_free(&c);
}

Test(fidelity, small_delays_get_the_absolute_floor) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 1}}");
    case_fill(&c, 1.0, 3.9);   // 2 ms configured: 25% would be 0.5 ms, the floor allows 0..4 ms
    cr_assert_str_eq(verdict(&c), "ok");
    last(&c, 2, 3)->min_rtt_ms = 4.2;
    cr_assert_str_eq(verdict(&c), "deviates");
    case_free(&c);
}

Test(fidelity, jitter_widens_the_range_below) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20, \"jitter_ms\": 5}}");
    case_fill(&c, 1.0, 21.0);   // 40 - 2 x 5 of jitter - 10 of tolerance = 20
    cr_assert_str_eq(verdict(&c), "ok");
    cr_assert_float_eq(find(&c, 3, 2)->lo_ms, 20.0, 1e-9);
    case_free(&c);
}

Test(fidelity, only_samples_before_a_change_count) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20}, \"schedule\": [{\"at_s\": 2.0, \"from\": 2, \"to\": 3, "
                  "\"delay_ms\": 50}]}");
    case_fill(&c, 1.0, 40.4);
    case_fill(&c, 3.0, 40.4);   // lifetime minimum: still 40 after 2 -> 3 became 50 ms
    last(&c, 2, 3)->rtt_ms = 71;
    cr_assert_str_eq(verdict(&c), "ok");
    const LinkFidelity *f = find(&c, 3, 2);   // the reverse pair's RTT covers 2 -> 3 as well
    cr_assert(f->compared && f->samples == 1 && f->t_s == 1.0, "3->2: %d samples, t %g", f->samples, f->t_s);
    cr_assert(strstr(f->why, "before its change at 2.00 s"), "%s", f->why);
    cr_assert_eq(find(&c, 0, 1)->samples, 2);
    case_free(&c);
}

Test(fidelity, change_before_any_sample_is_not_compared) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20}, \"schedule\": [{\"at_s\": 0.5, \"from\": 0, \"to\": 1, "
                  "\"delay_ms\": 50}]}");
    case_fill(&c, 1.0, 40.4);
    cr_assert_str_eq(verdict(&c), "ok");
    cr_assert(!find(&c, 0, 1)->compared && !find(&c, 1, 0)->compared && find(&c, 0, 2)->compared);
    case_free(&c);
}

Test(fidelity, saturated_delivery_rate_is_compared_with_the_rate) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20, \"rate_mbit\": 20}}");
    case_fill(&c, 1.0, 40.2);
    TcpSample *s = last(&c, 0, 1);
    s->app_limited = 0, s->rtt_ms = 48, s->delivery_mbit = 19.1;   // a queue stood: the rate set the pace
    cr_assert_str_eq(verdict(&c), "ok");
    const LinkFidelity *f = find(&c, 0, 1);
    cr_assert(f->rate_compared && f->rate_ok, "%s", f->why);
    cr_assert_float_eq(f->rate_mbit, 19.1 * 1514 / 1448, 1e-6);   // as wire bytes, as netem counts them
    cr_assert(!find(&c, 0, 2)->rate_compared, "an application-limited sample was compared");
    s->delivery_mbit = 30.0;                                        // faster than its rate: not limited as asked
    cr_assert_str_eq(verdict(&c), "deviates");
    cr_assert(strstr(find(&c, 0, 1)->why, "above the configured 20"), "%s", find(&c, 0, 1)->why);
    s->delivery_mbit = 9.0;   // slower: the queue may be the reverse direction's, so reported but not counted
    cr_assert_str_eq(verdict(&c), "ok");
    cr_assert(strstr(find(&c, 0, 1)->why, "below the configured 20, not counted"), "%s", find(&c, 0, 1)->why);
    s->delivery_mbit = 30.0, s->rtt_ms = 40.5;   // no queue: TCP's window, not the link, set the pace
    cr_assert_str_eq(verdict(&c), "ok");
    cr_assert(!find(&c, 0, 1)->rate_compared);
    case_free(&c);
}

Test(fidelity, idle_links_and_no_samples_are_not_compared) {
    Case c;
    case_plan(&c, "{\"default_link\": {\"delay_ms\": 20}}");
    cr_assert_str_eq(verdict(&c), "nothing to compare");
    case_fill(&c, 1.0, 40.0);
    for (int k = 0; k < N * N; k++)
        if (c.ns[k]) c.s[k][0].acked_bytes = 0;   // sent, nothing acknowledged yet
    cr_assert_str_eq(verdict(&c), "nothing to compare");
    cr_assert(strstr(find(&c, 1, 2)->why, "no messages"), "%s", find(&c, 1, 2)->why);
    case_free(&c);
}

Test(fidelity, unshaped_plan_has_nothing_to_compare) {
    Case c;
    case_plan(&c, "{}");
    case_fill(&c, 1.0, 0.1);
    cr_assert_str_eq(verdict(&c), "nothing to compare");
    cr_assert_eq(c.nf, 0);
    case_free(&c);
}

Test(fidelity, disturbance_hook_parses_and_applies_to_one_link) {
    LinkDisturb d;
    Err e = {{0}};
    cr_assert_eq(link_disturb_parse(NULL, 4, &d, &e), 0);
    cr_assert(!d.set);
    cr_assert_eq(link_disturb_parse("0:1:30", 4, &d, &e), 0, "%s", e.msg);
    LinkParams p = {.up = 1, .delay_ms = 20};
    cr_assert_float_eq(link_disturbed(&d, 0, 1, &p).delay_ms, 50.0, 1e-9);
    cr_assert_float_eq(link_disturbed(&d, 1, 0, &p).delay_ms, 20.0, 1e-9);
    const char *bad[] = {"0:1", "0:0:5", "0:4:5", "0:1:-3", "0:1:5x", "a:b:c"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cr_assert_eq(link_disturb_parse(bad[k], 4, &d, &e), -1, "accepted %s", bad[k]);
        cr_assert(strstr(e.msg, LINK_DISTURB_ENV), "%s", e.msg);
    }
}
