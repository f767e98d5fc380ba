// What this machine offers for link emulation (netem in the host kernel and the right to use it,
// User-Mode Linux with its modules), and the choice `network.backend: auto` makes from it.
#ifndef MESHTRAIN_PROBE_H
#define MESHTRAIN_PROBE_H
#include "util.h"

typedef struct {
    int root;                 // effective uid 0
    int netns;                // can create a network namespace
    int netem;                // a netem qdisc could be added inside one
    char netem_why[420];      // why not (tc's own words), when !netem
    int uml;                  // linux.uml and its netem, veth, htb, u32 and bridge modules are there
    char uml_path[128], uml_modules[300], uml_why[300];
} NetProbe;

void net_probe(NetProbe *p);

// Resolve `asked` (auto, kernel, uml, none) for a scenario that does (shaped = 1) or does not shape
// links. Fills chosen ("none", "kernel" or "uml") and why (one line). 0, or -1 and e when no
// backend can do what the scenario asks (e says what to install).
int backend_choose(const char *asked, int shaped, const NetProbe *p, char *chosen, size_t nc, char *why, size_t nw,
                   Err *e);

#endif
