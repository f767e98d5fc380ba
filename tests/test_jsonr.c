// Tests for the one JSON reader (base/jsonr.h): every getter's value, default and exact message in each
// wording its callers use, the unknown-key check, the first error kept, the file prefix and nested errors.
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include "jsonr.h"

static json_t *json_of(const char *text) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cr_assert(o, "test JSON does not parse (line %d: %s): %s", je.line, je.text, text);
    return o;
}

// The reader must have failed with exactly `want`.
static void says(const JsonR *r, const char *want) {
    cr_assert(r->failed, "expected the error '%s', got none", want);
    cr_assert_str_eq(r->e->msg, want);
}

Test(jsonr, values_and_defaults) {
    Err e = {{0}};
    JsonR r = {.e = &e};
    json_t *o = json_of("{\"x\": 2.5, \"n\": 7, \"b\": false, \"s\": \"ring\", \"c\": \"two\", \"sub\": {}}");
    cr_assert_float_eq(jsonr_num(&r, o, "a", "x", 0, 10, 1), 2.5, 1e-12);
    cr_assert_float_eq(jsonr_num(&r, o, "a", "missing", 0, 10, 1), 1, 1e-12);
    cr_assert_float_eq(jsonr_num(&r, NULL, "a", "x", 0, 10, 3), 3, 1e-12);   // an absent parent: the default
    cr_assert_eq(jsonr_int(&r, o, "a", "n", 0, 10, 1), 7);
    cr_assert_eq(jsonr_int(&r, o, "a", "missing", 0, 10, 4), 4);
    cr_assert_eq(jsonr_bool(&r, o, "a", "b", 1), 0);
    cr_assert_eq(jsonr_bool(&r, o, "a", "missing", 1), 1);
    char s[16];
    cr_assert_eq(jsonr_str(&r, o, "a", "s", "ring, torus", "torus", s, sizeof s), 0);
    cr_assert_str_eq(s, "ring");
    jsonr_str(&r, o, "a", "missing", NULL, "dflt", s, sizeof s);
    cr_assert_str_eq(s, "dflt");
    cr_assert_eq(jsonr_choice(&r, o, "a", "c", "one, two, three", 0), 1);
    cr_assert_eq(jsonr_choice(&r, o, "a", "missing", "one, two", 1), 1);
    cr_assert(jsonr_obj(&r, o, "a", "sub") != NULL);
    cr_assert(jsonr_obj(&r, o, "a", "missing") == NULL);
    cr_assert_not(r.failed, "unexpected error: %s", e.msg);
    json_decref(o);
}

// The scenario's wording (no flags): "lo..hi" ranges, the file first.
Test(jsonr, scenario_words) {
    static const struct { const char *json, *want; } C[] = {
        {"{\"lr\": -1}", "s.json: optimizer.lr: -1 is out of range (expected 0..100)"},
        {"{\"lr\": \"x\"}", "s.json: optimizer.lr: expected a number in [0, 100]"},
        {"{\"n\": 0}", "s.json: optimizer.n: 0 is out of range (expected 1..256)"},
        {"{\"n\": 2.5}", "s.json: optimizer.n: expected an integer in 1..256"},
        {"{\"b\": 1}", "s.json: optimizer.b: expected true or false"},
        {"{\"k\": \"step\"}", "s.json: optimizer.k: unknown value 'step' (expected one of: constant, cosine)"},
        {"{\"k\": 3}", "s.json: optimizer.k: expected a string: one of constant, cosine"},
        {"{\"k\": \"aaaaaaaaaaaaaaaaaaaa\"}", "s.json: optimizer.k: 'aaaaaaaaaaaaaaaaaaaa...' is too long (at most 15 "
                                           "characters)"},
        {"{\"lrate\": 1}", "s.json: optimizer.lrate: unknown key (expected one of: lr, n, b, k)"},
    };
    static const char *const K[] = {"lr", "n", "b", "k", NULL};
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        Err e = {{0}};
        JsonR r = {.e = &e, .file = "s.json"};
        json_t *o = json_of(C[i].json);
        char s[16];
        jsonr_keys(&r, o, "optimizer", K, NULL);
        jsonr_num(&r, o, "optimizer", "lr", 0, 100, 0.05);
        jsonr_int(&r, o, "optimizer", "n", 1, 256, 8);
        jsonr_bool(&r, o, "optimizer", "b", 1);
        jsonr_str(&r, o, "optimizer", "k", "constant, cosine", "cosine", s, sizeof s);
        says(&r, C[i].want);
        json_decref(o);
    }
}

// The link plan's wording: ">= lo and <= hi", bare type errors, the unknown key quoted at its object.
Test(jsonr, plan_words) {
    unsigned w = JSONR_RANGE_WORDS | JSONR_TYPE_BARE | JSONR_KEY_QUOTED;
    static const char *const K[] = {"delay_ms", "rate_mbit", NULL}, *const X[] = {"from", "to", NULL};
    static const struct { const char *json, *want; } C[] = {
        {"{\"delay_ms\": -5}", "network.links[2].delay_ms: -5 is out of range (expected >= 0 and <= 100000)"},
        {"{\"delay_ms\": \"x\"}", "network.links[2].delay_ms: expected a number"},
        {"{\"rate_mbit\": 0}", "network.links[2].rate_mbit: 0 is out of range (expected > 0 and <= 100000)"},
        {"{\"delay\": 3}", "network.links[2]: unknown key 'delay' (expected one of: delay_ms, rate_mbit, from, to)"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        Err e = {{0}};
        JsonR r = {.e = &e, .words = w};
        json_t *o = json_of(C[i].json);
        jsonr_keys(&r, o, "network.links[2]", K, X);
        jsonr_num(&r, o, "network.links[2]", "delay_ms", 0, 1e5, 0);
        jsonr_num_gt(&r, o, "network.links[2]", "rate_mbit", 0, 1e5, 0);
        says(&r, C[i].want);
        json_decref(o);
    }
}

// Mobility's wording: ranges in words, named in type errors too, and a real where an integer belongs said so.
Test(jsonr, mobility_words) {
    unsigned w = JSONR_RANGE_WORDS | JSONR_NOT_INTEGER;
    static const struct { const char *json, *want; } C[] = {
        {"{\"p\": \"x\"}", "m.model.p: expected a number >= -50 and <= 60"},
        {"{\"p\": 90}", "m.model.p: 90 is out of range (expected >= -50 and <= 60)"},
        {"{\"n\": 2.5}", "m.model.n: 2.5 is not an integer (expected 1..65535)"},
        {"{\"n\": \"x\"}", "m.model.n: expected an integer in 1..65535"},
        {"{\"n\": 0}", "m.model.n: 0 is out of range (expected 1..65535)"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        Err e = {{0}};
        JsonR r = {.e = &e, .words = w};
        json_t *o = json_of(C[i].json);
        jsonr_num(&r, o, "m.model", "p", -50, 60, 20);
        jsonr_int(&r, o, "m.model", "n", 1, 65535, 1500);
        says(&r, C[i].want);
        json_decref(o);
    }
}

// The energy constants' wording: no upper bound, and what a wrong value is.
Test(jsonr, energy_words) {
    unsigned w = JSONR_RANGE_WORDS | JSONR_TYPE_GOT;
    static const struct { const char *json, *want; } C[] = {
        {"{\"d\": -1}", "energy.radio.d: -1 is out of range (expected >= 0)"},
        {"{\"d\": true}", "energy.radio.d: expected a number >= 0 (got a boolean)"},
        {"{\"m\": 1}", "energy.radio.m: expected a string: one of default (got a number)"},
        {"{\"m\": \"horowitz\"}", "energy.radio.m: unknown value 'horowitz' (expected one of: default)"},
        {"{\"o\": [1]}", "energy.radio.o: expected an object (got an array)"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        Err e = {{0}};
        JsonR r = {.e = &e, .words = w};
        json_t *o = json_of(C[i].json);
        jsonr_num(&r, o, "energy.radio", "d", 0, INFINITY, 10);
        jsonr_choice(&r, o, "energy.radio", "m", "default", 0);
        cr_assert(jsonr_obj(&r, o, "energy.radio", "o") == NULL);
        says(&r, C[i].want);
        json_decref(o);
    }
}

Test(jsonr, wrong_values_give_the_default) {
    Err e = {{0}};
    JsonR r = {.e = &e};
    json_t *o = json_of("{\"x\": 50, \"n\": \"a\", \"b\": 0, \"s\": \"z\", \"sub\": 1}");
    cr_assert_float_eq(jsonr_num(&r, o, "", "x", 0, 10, 1), 1, 1e-12);
    cr_assert_eq(jsonr_int(&r, o, "", "n", 0, 10, 2), 2);
    cr_assert_eq(jsonr_bool(&r, o, "", "b", 1), 1);
    char s[8];
    cr_assert_eq(jsonr_str(&r, o, "", "s", "a, b", "a", s, sizeof s), -1);
    cr_assert_str_eq(s, "a");
    cr_assert_eq(jsonr_choice(&r, o, "", "s", "a, b", 1), 1);
    cr_assert(jsonr_obj(&r, o, "", "sub") == NULL);
    says(&r, "x: 50 is out of range (expected 0..10)");   // the first error, at a top-level path
    json_decref(o);
}

Test(jsonr, nested_errors_and_paths) {
    Err e = {{0}}, inner = {{0}};
    JsonR r = {.e = &e, .file = "f.json"};
    err_set(&inner, "network.links[0].loss_pct: 150 is out of range");
    jsonr_fail_err(&r, &inner);
    says(&r, "f.json: network.links[0].loss_pct: 150 is out of range");
    jsonr_fail(&r, "later", "dropped");
    says(&r, "f.json: network.links[0].loss_pct: 150 is out of range");
    // A nested error in the reader's own buffer, prefixed in place.
    Err same = {{0}};
    JsonR q = {.e = &same, .file = "g.json"};
    err_set(&same, "energy: expected an object");
    jsonr_fail_err(&q, &same);
    says(&q, "g.json: energy: expected an object");
    char p[JSONR_PATH_LEN];
    jsonr_path(p, "", "agents");
    cr_assert_str_eq(p, "agents");
    jsonr_path(p, "network.mobility", "step_s");
    cr_assert_str_eq(p, "network.mobility.step_s");
    cr_assert_str_eq(jsonr_type_name(json_null()), "null");
}

Test(jsonr, keys_accept_the_allowed_and_extra) {
    static const char *const K[] = {"a", NULL}, *const X[] = {"b", NULL};
    Err e = {{0}};
    JsonR r = {.e = &e};
    json_t *o = json_of("{\"a\": 1, \"b\": 2}");
    jsonr_keys(&r, o, "x", K, X);
    cr_assert_not(r.failed, "unexpected error: %s", e.msg);
    jsonr_keys(&r, o, "x", K, NULL);
    says(&r, "x.b: unknown key (expected one of: a)");
    json_decref(o);
}
