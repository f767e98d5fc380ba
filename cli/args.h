// Strict command-line parsing shared by the subcommands: every bad flag or value is an error that
// names the flag, the value and what was expected, prints a one-line usage hint and exits 2.
#ifndef MESHTRAIN_ARGS_H
#define MESHTRAIN_ARGS_H
#include <stdint.h>

typedef struct {
    const char *cmd;        // "train", "bench train-step", ...
    const char *usage;      // one-line usage hint
    int argc, i;
    char **argv;
    const char *flag;       // the flag being parsed
    const char *inline_val; // value given as --flag=value
} Args;

void args_init(Args *a, const char *cmd, const char *usage, int argc, char **argv);
// Next flag, or NULL at the end. Positional words are errors unless the command takes them.
const char *args_next(Args *a);
int args_is(Args *a, const char *name);
const char *args_str(Args *a);
long args_int(Args *a, long lo, long hi);
double args_float(Args *a, double lo, double hi);
void args_no_value(Args *a);
_Noreturn void args_fail(Args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void args_unknown(Args *a);
int is_help(const char *s);

#endif
