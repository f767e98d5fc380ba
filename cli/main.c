// meshtrain: one program, subcommands in the style of git and ip. Dispatches to cmd_*.c.
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "common.h"

int cmd_train(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_uml(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *about;
} CMDS[] = {
    {"run", cmd_run, "run a scenario: one process per agent over real sockets, metrics, summary"},
    {"train", cmd_train, "train one model on one machine (the engine on its own)"},
    {"models", cmd_models, "list the models with parameter counts and MACs per sample"},
    {"bench", cmd_bench, "benchmarks: train-step, harness, link, setup"},
    {"report", cmd_report, "figures (gnuplot PNG + SVG) and a markdown table from finished runs"},
    {"probe", cmd_probe, "what this machine offers: BLAS core type, datasets, netem, UML"},
    {"check", cmd_check, "regression check: runs against committed references (reduction, bytes, accuracy)"},
    {"uml", cmd_uml, "run a command inside the User-Mode Linux guest the uml backend uses"},
    {"agent", cmd_agent, "internal: one agent process, started by run"},
};

static void help(FILE *f) {
    fprintf(f, "usage: meshtrain COMMAND [FLAGS]   (meshtrain COMMAND --help for its flags)\n\n"
               "Decentralized deep learning on edge devices under emulated wireless links.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++) fprintf(f, "  %-8s %s\n", CMDS[i].name, CMDS[i].about);
    fprintf(f, "\nexit status: 0 success, 1 the work failed, 2 bad usage or bad input\n");
}

int main(int argc, char **argv) {
    blas_select_core(argv);
    if (argc < 2) { help(stderr); return 2; }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) { help(stdout); return 0; }
    if (strcmp(argv[1], "--version") == 0) { printf("meshtrain %s\n", meshtrain_git); return 0; }
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++)
        if (strcmp(argv[1], CMDS[i].name) == 0) return CMDS[i].run(argc - 2, argv + 2);
    fprintf(stderr, "meshtrain: unknown command '%s'\n", argv[1]);
    help(stderr);
    return 2;
}
