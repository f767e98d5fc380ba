// `meshtrain uml -- COMMAND [ARGS]`: run any command inside the User-Mode Linux guest the `uml`
// backend uses (host file system as root, netem and friends loaded). For tests and for looking around.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "args.h"
#include "common.h"
#include "probe.h"
#include "uml.h"

static const char *USAGE = "meshtrain uml -- COMMAND [ARGS]...";

int cmd_uml(int argc, char **argv) {
    if (argc >= 1 && is_help(argv[0])) {
        printf("usage: %s\n\nBoot User-Mode Linux (about 1 s) with the host's file system as its root and the\n"
               "netem, htb, u32, veth and bridge modules loaded; run COMMAND there as root in the current\n"
               "folder; print its output; exit with its status. COMMAND is found in PATH.\n", USAGE);
        return 0;
    }
    if (argc < 2 || strcmp(argv[0], "--")) {
        fprintf(stderr, "meshtrain uml: expected -- COMMAND [ARGS]...\nusage: %s\n", USAGE);
        return 2;
    }
    static char prog[PATH_MAX];
    if (strchr(argv[1], '/')) snprintf(prog, sizeof prog, "%s", argv[1]);
    else {
        const char *path = getenv("PATH");
        char buf[8192];
        snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
        prog[0] = 0;
        for (char *save = NULL, *d = strtok_r(buf, ":", &save); d && !prog[0]; d = strtok_r(NULL, ":", &save)) {
            snprintf(prog, sizeof prog, "%s/%s", d, argv[1]);
            if (access(prog, X_OK)) prog[0] = 0;
        }
        if (!prog[0]) { fprintf(stderr, "meshtrain uml: COMMAND '%s' not found in PATH\n", argv[1]); return 2; }
    }
    if (prog[0] != '/') {
        static char abs[PATH_MAX];
        if (!realpath(prog, abs)) { fprintf(stderr, "meshtrain uml: COMMAND '%s' not found\n", prog); return 2; }
        snprintf(prog, sizeof prog, "%s", abs);
    }
    NetProbe p;
    net_probe(&p);
    if (!p.uml) { fprintf(stderr, "meshtrain uml: %s\n", p.uml_why); return 2; }
    argv[1] = prog;
    UmlJob j = {argv + 1, 2, stream_is_tty(stdout)};
    int status = 1;
    Err e = {{0}};
    if (uml_run(&p, &j, &status, &e)) { fprintf(stderr, "meshtrain uml: %s\n", e.msg); return 1; }
    return status;
}
