// A test-only hook that makes one directed link's emulation deliberately wrong: the kernel backend
// adds extra delay to its netem qdisc while the plan, network.jsonl's link events and the fidelity
// check keep the configured value. It exists so tests can check that an unfaithful link is flagged
// without relying on a busy host. Set MESHTRAIN_TEST_LINK_DISTURB=FROM:TO:EXTRA_MS (docs/network.md);
// a run with it set says so on stderr, in network.jsonl and in summary.json.
#ifndef MESHTRAIN_DISTURB_H
#define MESHTRAIN_DISTURB_H
#include "link.h"
#include "util.h"

#define LINK_DISTURB_ENV "MESHTRAIN_TEST_LINK_DISTURB"

typedef struct {
    int set;                 // 0: the variable is unset or empty (the normal case)
    int from, to;
    double extra_ms;         // added to netem's delay on from -> to, > 0
    char value[64];          // the variable's text, for the record
} LinkDisturb;

// Parse `text` (NULL or "": not set) for n agents. 0, or -1 and e naming the variable.
int link_disturb_parse(const char *text, int n, LinkDisturb *d, Err *e);
// The parameters netem really gets for from -> to: p, with the disturbance added when it applies.
LinkParams link_disturbed(const LinkDisturb *d, int from, int to, const LinkParams *p);

#endif
