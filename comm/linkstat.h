// The kernel's view of an agent's links: TCP_INFO of the socket that carries its frames to each peer,
// as a JSON object for the metrics lines. The runner compares it with the configured links
// (netem/fidelity.h); see docs/network.md, "Emulation fidelity".
#ifndef MESHTRAIN_LINKSTAT_H
#define MESHTRAIN_LINKSTAT_H
#include <jansson.h>
#include "net.h"

// {"PEER": {"rtt_ms", "rttvar_ms", "min_rtt_ms", "retrans", "delivery_mbit", "app_limited", "mss",
// "acked_bytes"}, ...} for every peer this agent has sent messages to.
// The RTT of agent i's out socket covers i -> j (data) and j -> i (acknowledgements).
json_t *linkstat_json(const Net *net, int self, int n);

#endif
