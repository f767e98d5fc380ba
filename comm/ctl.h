// The control channel between the runner and each agent: an AF_UNIX stream carrying wire frames
// (start barrier, progress, evaluations with the model, completion, errors, stop). Never shaped.
// For agents on other hosts it is relayed over sealed TCP (ctl_tcp.h).
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
    CTL_LOG,           // agent -> runner: bytes of its metrics file (agent-I.jsonl), for agents on other hosts
    CTL_SCENARIO,      // runner -> agent: {"scenario": resolved JSON text, "run_dir": ...}, for agents on other hosts
};

// A report from an agent (CTL_PROGRESS, CTL_EVAL, CTL_DONE) is: u32 length of the JSON text, the JSON,
// then optionally floats in the host's representation (the model: parameters, then running statistics;
// both ends are the same machine, or hosts of one architecture under a launcher, so no conversion).
// One encoder and one decoder for both sides.
typedef struct { const float *v; size_t n; } CtlFloats;
typedef struct {
    const char *json;        // not NUL-terminated: json_len bytes
    size_t json_len;
    const uint8_t *floats;   // what follows the JSON (may be unaligned: copy it out)
    size_t float_bytes;
} CtlReport;

// The payload of a report: the JSON text then each span of floats in order; *len its size. Caller frees.
uint8_t *ctl_report_pack(const char *json, const CtlFloats *spans, int n_spans, size_t *len);
// Pack and send one report (blocking). 0, or -1 and e.
int ctl_report_send(int fd, int kind, uint32_t round, const char *json, const CtlFloats *spans, int n_spans, Err *e);
// Split a report's payload into its JSON and its floats (pointers into p). 0, or -1 when the length
// prefix is missing or claims more than the payload holds (out->json_len is then the claimed length, or 0).
int ctl_report_unpack(const uint8_t *p, size_t len, CtlReport *out);

// Write one whole frame (blocking). 0, or -1 and e.
int ctl_send(int fd, int kind, uint32_t round, const void *payload, size_t len, Err *e);
// Read one whole frame within timeout_s into r (blocking). 1 = frame in r->h / r->payload,
// 0 = timeout, -1 = closed or corrupt (e says which).
int ctl_recv(int fd, FrameReader *r, double timeout_s, Err *e);

#endif
