// eval.final_consensus in scenarios: the two protocols, the old key as the exact one, and the errors
// (bad protocol or rounds, both keys, CHOCO with exact rounds) naming the key.
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "scenario.h"

static int load(const char *alg_and_eval, Scenario *s, Err *e) {
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\": \"fc\", \"agents\": 4, \"dataset\": \"synthetic\", \"model\": \"linear\", "
             "\"network\": {\"backend\": \"none\"}, %s}",
             alg_and_eval);
    memset(e, 0, sizeof *e);
    return scenario_load(s, "test.json", text, e);
}

Test(final_consensus, protocols_and_the_old_key) {
    Scenario s;
    Err e;
    cr_assert_eq(load("\"eval\": {\"final_consensus_rounds\": 3}", &s, &e), 0, "%s", e.msg);
    cr_assert_eq(s.eval.final_consensus_rounds, 3);
    cr_assert_str_eq(s.eval.final_consensus_protocol, "exact");
    scenario_free(&s);
    cr_assert_eq(load("\"algorithm\": {\"name\": \"sparse-push\", \"compression\": {\"kind\": \"topk8\"}}, "
                      "\"eval\": {\"final_consensus\": {\"rounds\": 50, \"protocol\": \"training\"}}",
                      &s, &e),
                 0, "%s", e.msg);
    cr_assert_eq(s.eval.final_consensus_rounds, 50);
    cr_assert_str_eq(s.eval.final_consensus_protocol, "training");
    cr_assert_str_eq(s.alg.codec, "topk8");
    scenario_free(&s);
    cr_assert_eq(load("\"eval\": {}", &s, &e), 0, "%s", e.msg);
    cr_assert_eq(s.eval.final_consensus_rounds, 0);
    cr_assert_str_eq(s.eval.final_consensus_protocol, "exact");
    scenario_free(&s);
    // CHOCO: its own compressed consensus is allowed, dense exact rounds are not.
    const char *choco = "\"algorithm\": {\"name\": \"choco\"}, "
                        "\"topology\": {\"kind\": \"ring\", \"directed\": true}, ";
    char t[512];
    snprintf(t, sizeof t, "%s\"eval\": {\"final_consensus\": {\"rounds\": 5, \"protocol\": \"training\"}}", choco);
    cr_assert_eq(load(t, &s, &e), 0, "%s", e.msg);
    scenario_free(&s);
    snprintf(t, sizeof t, "%s\"eval\": {\"final_consensus\": {\"rounds\": 5}}", choco);
    cr_assert_eq(load(t, &s, &e), -1);
    cr_assert(strstr(e.msg, "final_consensus") && strstr(e.msg, "training"), "message: %s", e.msg);
}

Test(final_consensus, bad_values_name_the_key) {
    static const struct { const char *eval, *word; } BAD[] = {
        {"{\"final_consensus\": {\"rounds\": 3, \"protocol\": \"fast\"}}", "eval.final_consensus.protocol"},
        {"{\"final_consensus\": {\"rounds\": -1}}", "eval.final_consensus.rounds"},
        {"{\"final_consensus\": {\"rounds\": 2.5}}", "eval.final_consensus.rounds"},
        {"{\"final_consensus\": {\"rounds\": 3, \"gamma\": 0.1}}", "gamma"},
        {"{\"final_consensus\": 3}", "eval.final_consensus"},
        {"{\"final_consensus\": {\"rounds\": 3}, \"final_consensus_rounds\": 3}", "final_consensus_rounds"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char t[256];
        snprintf(t, sizeof t, "\"eval\": %s", BAD[i].eval);
        Scenario s;
        Err e;
        cr_assert_eq(load(t, &s, &e), -1, "%s accepted", BAD[i].eval);
        cr_assert(strstr(e.msg, BAD[i].word), "%s: message '%s' does not name %s", BAD[i].eval, e.msg, BAD[i].word);
    }
}
