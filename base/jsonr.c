// The one validating JSON reader (jsonr.h): every input file's getters, key checks and messages live here, so
// a scenario, a link plan, node mobility and the energy constants are checked and reported alike.
#include "jsonr.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void jsonr_fail(JsonR *r, const char *path, const char *fmt, ...) {
    if (r->failed) return;   // the first error is the one reported: later ones often follow from it
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->file) err_set(r->e, "%s: %s: %s", r->file, path, msg);
    else err_set(r->e, "%s: %s", path, msg);
    r->failed = 1;
}

void jsonr_fail_err(JsonR *r, const Err *inner) {
    if (r->failed) return;
    Err in = *inner;   // inner may be r->e itself
    if (r->file) err_set(r->e, "%s: %s", r->file, in.msg);
    else err_set(r->e, "%s", in.msg);
    r->failed = 1;
}

void jsonr_path(char out[JSONR_PATH_LEN], const char *path, const char *key) {
    snprintf(out, JSONR_PATH_LEN, "%s%s%s", path, *path ? "." : "", key);
}

const char *jsonr_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    default: return "a number";
    }
}

// " (got a string)" when the reader says what a wrong value is, else "".
static const char *got(const JsonR *r, const json_t *v, char *buf, size_t n) {
    if (!(r->words & JSONR_TYPE_GOT)) return "";
    snprintf(buf, n, " (got %s)", jsonr_type_name(v));
    return buf;
}

// Append "a, b, c" from a NULL-terminated list (NULL: nothing) to out[n].
static void list_append(char *out, size_t n, const char *const *names) {
    for (const char *const *a = names; a && *a; a++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? ", " : "", *a);
}

static int name_in(const char *key, const char *const *names) {
    for (const char *const *a = names; a && *a; a++)
        if (!strcmp(*a, key)) return 1;
    return 0;
}

void jsonr_keys(JsonR *r, const json_t *obj, const char *path, const char *const *allowed,
                const char *const *extra) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (name_in(key, allowed) || name_in(key, extra)) continue;
        char list[600] = "", p[JSONR_PATH_LEN];
        list_append(list, sizeof list, allowed);
        list_append(list, sizeof list, extra);
        if (r->words & JSONR_KEY_QUOTED) {
            jsonr_fail(r, path, "unknown key '%s' (expected one of: %s)", key, list);
        } else {
            jsonr_path(p, path, key);
            jsonr_fail(r, p, "unknown key (expected one of: %s)", list);
        }
        return;
    }
}

int jsonr_is_object(JsonR *r, const json_t *v, const char *path) {
    if (json_is_object(v)) return 1;
    char g[32];
    jsonr_fail(r, path, "expected an object%s", got(r, v, g, sizeof g));
    return 0;
}

const json_t *jsonr_obj(JsonR *r, const json_t *obj, const char *path, const char *key) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return NULL;
    char p[JSONR_PATH_LEN];
    jsonr_path(p, path, key);
    return jsonr_is_object(r, v, p) ? v : NULL;
}

// The range as this reader words it: "lo..hi", or ">= lo and <= hi", "> lo and <= hi", ">= lo".
static void range_text(const JsonR *r, double lo, int lo_open, double hi, char *out, size_t n) {
    if (!(r->words & JSONR_RANGE_WORDS) && !lo_open) snprintf(out, n, "%g..%g", lo, hi);
    else if (isinf(hi)) snprintf(out, n, "%s %g", lo_open ? ">" : ">=", lo);
    else snprintf(out, n, "%s %g and <= %g", lo_open ? ">" : ">=", lo, hi);
}

double jsonr_num_value(JsonR *r, const json_t *v, const char *p, double lo, int lo_open, double hi, double def) {
    char range[96], g[32];
    range_text(r, lo, lo_open, hi, range, sizeof range);
    if (!json_is_number(v)) {
        if (r->words & JSONR_TYPE_BARE) jsonr_fail(r, p, "expected a number%s", got(r, v, g, sizeof g));
        else if (r->words & JSONR_RANGE_WORDS)
            jsonr_fail(r, p, "expected a number %s%s", range, got(r, v, g, sizeof g));
        else jsonr_fail(r, p, "expected a number in %s%g, %g]%s", lo_open ? "(" : "[", lo, hi, got(r, v, g, sizeof g));
        return def;
    }
    double x = json_number_value(v);
    if (!(lo_open ? x > lo : x >= lo) || !(x <= hi) || !isfinite(x)) {
        jsonr_fail(r, p, "%g is out of range (expected %s)", x, range);
        return def;
    }
    return x;
}

static double num_key(JsonR *r, const json_t *obj, const char *path, const char *key, double lo, int lo_open,
                      double hi, double def) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[JSONR_PATH_LEN];
    jsonr_path(p, path, key);
    return jsonr_num_value(r, v, p, lo, lo_open, hi, def);
}

double jsonr_num(JsonR *r, const json_t *obj, const char *path, const char *key, double lo, double hi, double def) {
    return num_key(r, obj, path, key, lo, 0, hi, def);
}

double jsonr_num_gt(JsonR *r, const json_t *obj, const char *path, const char *key, double lo, double hi,
                    double def) {
    return num_key(r, obj, path, key, lo, 1, hi, def);
}

long jsonr_int(JsonR *r, const json_t *obj, const char *path, const char *key, long lo, long hi, long def) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    char p[JSONR_PATH_LEN], g[32];
    jsonr_path(p, path, key);
    if (!json_is_integer(v)) {
        if ((r->words & JSONR_NOT_INTEGER) && json_is_number(v))
            jsonr_fail(r, p, "%g is not an integer (expected %ld..%ld)", json_number_value(v), lo, hi);
        else
            jsonr_fail(r, p, "expected an integer in %ld..%ld%s", lo, hi, got(r, v, g, sizeof g));
        return def;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        jsonr_fail(r, p, "%lld is out of range (expected %ld..%ld)", (long long)x, lo, hi);
        return def;
    }
    return (long)x;
}

int jsonr_bool(JsonR *r, const json_t *obj, const char *path, const char *key, int def) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v) return def;
    if (json_is_boolean(v)) return json_is_true(v);
    char p[JSONR_PATH_LEN], g[32];
    jsonr_path(p, path, key);
    jsonr_fail(r, p, "expected true or false%s", got(r, v, g, sizeof g));
    return def;
}

// The index of s in choices ("a, b, c"), or -1.
static int choice_index(const char *choices, const char *s) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", choices);
    char *save = NULL;
    int i = 0;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save), i++)
        if (!strcmp(tok, s)) return i;
    return -1;
}

// The string at obj[key] (NULL when absent or not a string: then an error, p filled either way).
static const char *string_at(JsonR *r, const json_t *obj, const char *path, const char *key, const char *choices,
                             char p[JSONR_PATH_LEN]) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    jsonr_path(p, path, key);
    if (!v || json_is_string(v)) return v ? json_string_value(v) : NULL;
    char g[32];
    jsonr_fail(r, p, "expected a string%s%s%s", choices ? ": one of " : "", choices ? choices : "",
               got(r, v, g, sizeof g));
    return NULL;
}

int jsonr_str(JsonR *r, const json_t *obj, const char *path, const char *key, const char *choices, const char *def,
              char *out, size_t n) {
    snprintf(out, n, "%s", def);
    if (!obj || !json_object_get(obj, key)) return 0;
    char p[JSONR_PATH_LEN];
    const char *s = string_at(r, obj, path, key, choices, p);
    if (!s) return -1;
    if (strlen(s) >= n) {
        jsonr_fail(r, p, "'%.40s...' is too long (at most %zu characters)", s, n - 1);
        return -1;
    }
    if (choices && choice_index(choices, s) < 0) {
        jsonr_fail(r, p, "unknown value '%s' (expected one of: %s)", s, choices);
        return -1;
    }
    snprintf(out, n, "%s", s);
    return 0;
}

int jsonr_choice(JsonR *r, const json_t *obj, const char *path, const char *key, const char *choices, int def) {
    if (!obj || !json_object_get(obj, key)) return def;
    char p[JSONR_PATH_LEN];
    const char *s = string_at(r, obj, path, key, choices, p);
    if (!s) return def;
    int k = choice_index(choices, s);
    if (k >= 0) return k;
    jsonr_fail(r, p, "unknown value '%.60s' (expected one of: %s)", s, choices);
    return def;
}
