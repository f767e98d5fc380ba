// The network plan of a scenario: every directed link's parameters at the start and the timed
// changes after it, compiled from "network" (default_link, links, schedule, or mobility) and validated.
#ifndef MESHTRAIN_PLAN_H
#define MESHTRAIN_PLAN_H
#include <jansson.h>
#include <stdint.h>
#include "link.h"
#include "util.h"

typedef struct {
    int n;                   // agents
    int shaped;              // 1 if any link is shaped (otherwise `auto` means `none`)
    double duration_s;       // the emulated timeline: schedule and mobility lie within it
    LinkParams *link;        // n x n, link[from * n + to] at t = 0
    LinkChange *change;      // after t = 0, sorted by at_s
    int n_change;
    int mobile;              // the links come from node positions (network.mobility)
} NetPlan;

// Compile the "network" object (NULL: nothing shaped) for n agents. Messages name the JSON path
// ("network.links[2].delay_ms: -5 is out of range ..."). 0, or -1 and e.
int netplan_build(const json_t *network, int n, uint64_t seed, NetPlan *p, Err *e);
void netplan_free(NetPlan *p);
// The keys of "network" netplan_build reads (the scenario parser owns the others).
extern const char *const NETPLAN_KEYS[];

#endif
