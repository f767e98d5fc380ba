// Tests for the link layer's pure parts: netem arguments and queue limits from LinkParams, and the
// network plan (default link, per-link overrides, a schedule merged in time order, validation).
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "backend.h"
#include "plan.h"

static void plan_ok(const char *text, int n, NetPlan *p) {
    json_t *o = json_loads(text, 0, NULL);
    cr_assert(o, "test JSON does not parse: %s", text);
    Err e = {{0}};
    int rc = netplan_build(o, n, 1, p, &e);
    json_decref(o);
    cr_assert_eq(rc, 0, "netplan_build(%s) failed: %s", text, e.msg);
}

static void plan_bad(const char *text, int n, const char *want) {
    json_t *o = json_loads(text, 0, NULL);
    cr_assert(o, "test JSON does not parse: %s", text);
    NetPlan p;
    Err e = {{0}};
    int rc = netplan_build(o, n, 1, &p, &e);
    json_decref(o);
    cr_assert_eq(rc, -1, "netplan_build accepted %s", text);
    cr_assert(strstr(e.msg, want), "error for %s is '%s', expected it to contain '%s'", text, e.msg, want);
}

Test(link, netem_arguments_restate_every_parameter) {
    LinkParams p = {
        .up = 1, .delay_ms = 20, .jitter_ms = 2, .jitter_dist = JITTER_NORMAL, .loss_pct = 1.5, .rate_mbit = 20};
    char a[256];
    link_netem_args(&p, a, sizeof a);
    // limit: 20 Mbit/s x (2 x 20 + 4 x 2) ms / (8 x 1514 B) = 79.3 -> 80 packets, + 100 headroom
    cr_assert_str_eq(a, "delay 20.000ms 2.000ms distribution normal loss random 1.5000% rate 20000000bit limit 180");
    p.up = 0;
    link_netem_args(&p, a, sizeof a);
    cr_assert(strstr(a, "loss random 100%"), "a cut link must drop everything: %s", a);
    LinkParams g = {.up = 1, .loss_model = LOSS_GEMODEL, .ge_p = 1, .ge_r = 30, .ge_bad_loss = 50};
    link_netem_args(&g, a, sizeof a);
    cr_assert_str_eq(a, "delay 0.000ms loss gemodel 1.0000% 30.0000% 50.0000% 0.0000% limit 10000");
}

Test(link, queue_limit_follows_rate_times_delay) {
    LinkParams p = {.up = 1, .delay_ms = 50, .rate_mbit = 100};
    // 100e6 x 0.1 s / (8 x 1514) = 825.6 -> 826 + 100
    cr_assert_eq(link_limit(&p), 926);
    p.rate_mbit = 1;
    cr_assert_eq(link_limit(&p), 9 + 100, "1 Mbit/s, 100 ms round trip: 8.26 packets -> 9, + 100");
    p.rate_mbit = 0;
    cr_assert_eq(link_limit(&p), 10000, "no rate: room for an 8 MB socket buffer in flight");
    p.limit_pkts = 7;
    cr_assert_eq(link_limit(&p), 7, "an explicit limit wins");
}

Test(link, shaped_only_when_something_is_set) {
    LinkParams p = {.up = 1};
    cr_assert(!link_is_shaped(&p));
    p.up = 0;
    cr_assert(link_is_shaped(&p), "a cut link is shaped");
    LinkParams q = {.up = 1, .rate_mbit = 5};
    cr_assert(link_is_shaped(&q));
}

Test(link, plan_merges_default_links_and_symmetric_overrides) {
    NetPlan p;
    plan_ok("{\"default_link\": {\"delay_ms\": 5, \"rate_mbit\": 20},"
            " \"links\": [{\"from\": 0, \"to\": 1, \"delay_ms\": 50}, {\"from\": 1, \"to\": 2, \"loss_pct\": 3, "
            "\"symmetric\": true}]}",
            3, &p);
    cr_assert(p.shaped);
    cr_assert_float_eq(p.link[0 * 3 + 1].delay_ms, 50, 1e-12, "0->1 overridden");
    cr_assert_float_eq(p.link[0 * 3 + 1].rate_mbit, 20, 1e-12, "0->1 keeps the default rate");
    cr_assert_float_eq(p.link[1 * 3 + 0].delay_ms, 5, 1e-12, "1->0 untouched: directed override");
    cr_assert_float_eq(p.link[1 * 3 + 2].loss_pct, 3, 1e-12);
    cr_assert_float_eq(p.link[2 * 3 + 1].loss_pct, 3, 1e-12, "symmetric applies both ways");
    cr_assert_float_eq(p.link[2 * 3 + 0].loss_pct, 0, 1e-12);
    netplan_free(&p);
}

Test(link, schedule_restates_the_link_in_time_order) {
    NetPlan p;
    // Given out of order: at 5 s the rate changes, at 2 s the delay; each change carries every parameter.
    plan_ok("{\"default_link\": {\"delay_ms\": 5, \"rate_mbit\": 20}, \"duration_s\": 10, \"schedule\": ["
            "{\"at_s\": 5, \"from\": 0, \"to\": 1, \"rate_mbit\": 2}, {\"at_s\": 2, \"from\": 0, \"to\": 1, "
            "\"delay_ms\": 80},"
            "{\"at_s\": 3, \"from\": 1, \"to\": 0, \"up\": false, \"symmetric\": true}]}",
            2, &p);
    cr_assert_eq(p.n_change, 4);
    cr_assert_float_eq(p.change[0].at_s, 2, 1e-12);
    cr_assert_float_eq(p.change[0].p.delay_ms, 80, 1e-12);
    cr_assert_float_eq(p.change[0].p.rate_mbit, 20, 1e-12, "the change at 2 s keeps the rate then in force");
    cr_assert(p.change[1].at_s == 3 && p.change[2].at_s == 3 && !p.change[1].p.up && !p.change[2].p.up,
              "cut both ways at 3 s");
    cr_assert_float_eq(p.change[3].at_s, 5, 1e-12);
    cr_assert_float_eq(p.change[3].p.delay_ms, 80, 1e-12, "the change at 5 s keeps the delay set at 2 s");
    cr_assert_float_eq(p.change[3].p.rate_mbit, 2, 1e-12);
    cr_assert_float_eq(p.link[1].delay_ms, 5, 1e-12, "t = 0 state unchanged by the schedule");
    netplan_free(&p);
}

Test(link, plan_without_shaping_is_not_shaped) {
    NetPlan p;
    plan_ok("{}", 4, &p);
    cr_assert(!p.shaped);
    netplan_free(&p);
}

Test(link, plan_errors_name_the_path_and_value) {
    plan_bad("{\"default_link\": {\"delay_ms\": -1}}", 2, "network.default_link.delay_ms: -1 is out of range");
    plan_bad("{\"default_link\": {\"loss_pct\": 101}}", 2, "network.default_link.loss_pct: 101 is out of range");
    plan_bad("{\"default_link\": {\"rate_mbit\": 0}}", 2,
             "network.default_link.rate_mbit: 0 is out of range (expected > 0");
    plan_bad("{\"default_link\": {\"jitter_dist\": \"gauss\"}}", 2,
             "network.default_link.jitter_dist: 'gauss' is not a distribution");
    plan_bad("{\"links\": [{\"from\": 0, \"to\": 5}]}", 3,
             "network.links[0].to: agent 5 does not exist (expected 0..2)");
    plan_bad("{\"links\": [{\"from\": 1, \"to\": 1}]}", 3, "network.links[0]: from and to are both agent 1");
    plan_bad("{\"links\": [{\"to\": 1}]}", 3, "network.links[0].from: missing");
    plan_bad("{\"links\": [{\"from\": 0, \"to\": 1, \"delay\": 3}]}", 3, "network.links[0]: unknown key 'delay'");
    plan_bad("{\"schedule\": [{\"at_s\": 20, \"from\": 0, \"to\": 1}], \"duration_s\": 10}", 2,
             "network.schedule[0].at_s: 20 is out of range");
    plan_bad("{\"schedule\": [{\"from\": 0, \"to\": 1}]}", 2, "network.schedule[0]: missing at_s");
    plan_bad("{\"default_link\": {\"loss_model\": \"gemodel\", \"ge_p_pct\": 1}}", 2, "ge_r_pct");
    plan_bad("{\"default_link\": {\"delay_ms\": 1}, \"mobility\": {}}", 2,
             "network.mobility: node positions give every link");
}
