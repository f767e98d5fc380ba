// The control channel between the runner and each agent: an AF_UNIX stream carrying wire frames
// (start barrier, progress, evaluations with the model, completion, errors, stop). Never shaped.
#ifndef MESHTRAIN_CTL_H
#define MESHTRAIN_CTL_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"
#include "wire.h"

enum {
    CTL_READY = 1,     // agent -> runner: {"port": P} once listening
    CTL_GO,            // runner -> agent: {"ips": [...], "ports": [...], "keys": [...]} the peer table and
                       // the key this agent shares with each peer (64 hex digits; docs/security.md)
    CTL_PROGRESS,      // agent -> runner: {"round", "epoch", "loss", "bytes_wire", ...}
    CTL_EVAL,          // agent -> runner: u32 json length, the JSON, then the model as floats
    CTL_DONE,          // agent -> runner: totals
    CTL_ERROR,         // agent -> runner: {"error": "..."} just before it exits
    CTL_STOP,          // runner -> agent: stop now
    CTL_CONNECTED,     // agent -> runner: every peer connection is up (lossy links may now take effect), and
                       // {"rejected": [{"from", "claimed", "why"}], "rejected_total": N}: connections it refused
    CTL_REJECTED,      // agent -> runner: the same list when setting up its links failed
};

// Write one whole frame (blocking). 0, or -1 and e.
int ctl_send(int fd, int kind, uint32_t round, const void *payload, size_t len, Err *e);
// Read one whole frame within timeout_s into r (blocking). 1 = frame in r->h / r->payload,
// 0 = timeout, -1 = closed or corrupt (e says which).
int ctl_recv(int fd, FrameReader *r, double timeout_s, Err *e);

#endif
