// Strict command-line parsing shared by the subcommands (see args.h).
#include "args.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_init(Args *a, const char *cmd, const char *usage, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd; a->usage = usage; a->argc = argc; a->argv = argv;
}

void args_fail(Args *a, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "meshtrain %s: ", a->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n(see: meshtrain %s --help)\n", a->usage, a->cmd);
    exit(2);
}

void args_unknown(Args *a) { args_fail(a, "unknown flag '%s'", a->flag); }

int is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

const char *args_next(Args *a) {
    if (a->i >= a->argc) return NULL;
    char *s = a->argv[a->i++];
    if (strncmp(s, "--", 2) != 0 && !is_help(s)) { a->flag = s; args_fail(a, "unexpected argument '%s'", s); }
    a->inline_val = NULL;
    char *eq = strchr(s, '=');
    static char flagbuf[128];
    if (eq && (size_t)(eq - s) < sizeof flagbuf) {
        memcpy(flagbuf, s, (size_t)(eq - s));
        flagbuf[eq - s] = 0;
        a->flag = flagbuf;
        a->inline_val = eq + 1;
    } else {
        a->flag = s;
    }
    return a->flag;
}

int args_is(Args *a, const char *name) { return strcmp(a->flag, name) == 0; }

const char *args_str(Args *a) {
    if (a->inline_val) return a->inline_val;
    if (a->i >= a->argc) args_fail(a, "%s needs a value", a->flag);
    return a->argv[a->i++];
}

void args_no_value(Args *a) {
    if (a->inline_val) args_fail(a, "%s takes no value (got '%s')", a->flag, a->inline_val);
}

long args_int(Args *a, long lo, long hi) {
    const char *v = args_str(a);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) args_fail(a, "%s: '%s' is not an integer (expected %ld..%ld)", a->flag, v, lo, hi);
    if (x < lo || x > hi) args_fail(a, "%s: %ld is out of range (expected %ld..%ld)", a->flag, x, lo, hi);
    return x;
}

double args_float(Args *a, double lo, double hi) {
    const char *v = args_str(a);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        args_fail(a, "%s: '%s' is not a number (expected %g..%g)", a->flag, v, lo, hi);
    if (x < lo || x > hi) args_fail(a, "%s: %g is out of range (expected %g..%g)", a->flag, x, lo, hi);
    return x;
}
