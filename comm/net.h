// Transport between agents: one TCP connection per directed link (i connects to j to send to j),
// framed messages (wire.h), a mailbox keyed by (sender, kind, round), and byte counts per link.
// A send writes what the socket takes at once and queues only the rest, which the poll loop that
// receives progresses, so large simultaneous exchanges cannot deadlock on full socket buffers.
#ifndef MESHTRAIN_NET_H
#define MESHTRAIN_NET_H
#include <stdint.h>
#include <sys/uio.h>
#include "rng.h"
#include "util.h"

#define NET_KIND_RELIABLE 0x8000   // kinds at or above this are never dropped (exact baselines)

typedef struct {
    uint64_t payload, framing, socket;   // bytes: message payloads, frame headers, what crossed the socket
    uint64_t messages, dropped, late;    // late: arrived after the receiver had moved past its round
    uint64_t authors;   // sent only: the same messages in the low-precision paper's counter (net_count_authors)
} LinkCount;

typedef struct {
    int from, kind;
    uint64_t round;
    uint16_t codec;
    uint32_t seq;           // the link's frame sequence number: the sender's order on this link
    uint32_t len;
    uint8_t *payload;
} Msg;

typedef struct Net Net;

// Listen on bind_ip with a kernel-chosen port (net_port tells which).
Net *net_new(int id, int n, const char *bind_ip, Err *e);
int net_port(const Net *net);
// How links prove who is at each end (docs/security.md). pair_keys holds n keys of AUTH_KEY_BYTES (32),
// key j shared with agent j; on = 0 (pair_keys unused) only to measure what authentication costs.
typedef struct {
    int on, mac;              // challenge-response on every connection; a MAC on every frame
    const uint8_t *pair_keys;
} NetAuth;
// A connection refused while the links were set up: where it came from, whom it claimed to be (-1:
// it never said), and why. It took no peer's place.
typedef struct { char from[64]; int claimed; char why[160]; } NetReject;

// Connect to every other agent (ips[j]:ports[j]) and accept one authenticated connection from each,
// concurrently, within timeout_s. A connection that fails the handshake is closed and recorded
// (net_rejects) and the agent goes on accepting; one that stays silent is closed after a few seconds.
// The listening socket is closed once every peer is in. 0, or -1 and e (which names the missing
// peers and the rejected connections).
int net_connect_all(Net *net, char ips[][64], const int *ports, const NetAuth *auth, double timeout_s, Err *e);
// The connections refused during set-up: the first *n_listed of them (*n_total in all).
const NetReject *net_rejects(const Net *net, int *n_listed, int *n_total);
// Bound what a peer can make this agent buffer: a frame more than max_ahead rounds past the furthest
// round this agent has sent or waited for is a protocol error naming the peer. Rounds from extra_lo
// on (the consensus-only rounds after training) count as a sequence of their own.
void net_set_window(Net *net, int max_ahead, uint64_t extra_lo);
// Send a frame to `to`: the bytes the socket takes now leave at once (when nothing is queued before
// them); only the rest is copied and queued, to leave as the poll loop runs (net_wait, net_flush).
// The caller may reuse the payload as soon as this returns.
int net_send(Net *net, int to, int kind, uint64_t round, int codec, const uint8_t *payload, uint32_t len, Err *e);
// The same with the payload in pieces (at most NET_MAX_PARTS), sent where they lie: a dense model
// goes from the parameter vector itself.
#define NET_MAX_PARTS 8
int net_sendv(Net *net, int to, int kind, uint64_t round, int codec, const struct iovec *parts, int n_parts, Err *e);
// A payload buffer with room for the frame header in front, to fill and hand to net_send_owned,
// which takes it over (no copy); net_alloc_free releases one that was never sent.
uint8_t *net_alloc(size_t len);
void net_alloc_free(uint8_t *payload);
int net_send_owned(Net *net, int to, int kind, uint64_t round, int codec, uint8_t *payload, uint32_t len, Err *e);
// Wait for the message (from, kind, round). Returns it (valid until net_release), or NULL with *timed_out
// = 1 when timeout_s passed or the message was dropped, or NULL and e on a broken link.
Msg *net_wait(Net *net, int from, int kind, uint64_t round, double timeout_s, int *timed_out, Err *e);
void net_release(Net *net, Msg *m);
// A message of `kind` from `from` (any sender when from < 0) whose round is before `round`, the oldest
// first, without waiting: a share that missed its round's timeout, for algorithms that still add it
// (push-sum conserves mass that way). Drop markers are skipped. NULL when there is none.
Msg *net_take_late(Net *net, int from, int kind, uint64_t round);
// The message from `from` that the sender sent first among those it sent before sequence number
// `seq` (any kind), without waiting: an algorithm that must apply a link's messages in the sender's
// order takes these before the message with `seq`. Drop markers are skipped. NULL when there is none.
Msg *net_take_before(Net *net, int from, uint32_t seq);
// Forget messages of rounds before `round` (they arrived too late to be used).
void net_discard_before(Net *net, uint64_t round);
// Send everything queued. 0, or -1 and e.
int net_flush(Net *net, double timeout_s, Err *e);
// Message-level drop probability for kinds below NET_KIND_RELIABLE. Whether a message is dropped is a
// hash of (seed, sender, receiver, kind, round), so the sender knows it too (net_drops) and can keep
// the share it would have given away; the message is still sent (its bytes count) and discarded on
// arrival.
void net_set_drop(Net *net, double p, uint64_t seed);
int net_drops(const Net *net, int from, int to, int kind, uint64_t round);
// Called about every 200 ms while net_wait or net_flush blocks (a heartbeat for the runner, which can
// then tell an agent that waits from one that hangs).
void net_set_idle(Net *net, void (*fn)(void *ctx, int waiting_for), void *ctx);
// The socket that carries frames to `peer` (out = 1) or from it (out = 0), -1 when there is none:
// for reading the kernel's view of the link (TCP_INFO), never for reading or writing.
int net_peer_fd(const Net *net, int peer, int out);
const LinkCount *net_sent(const Net *net, int peer);
// Add `bytes` to the authors'-convention count of what went to `to` (codec_authors_bytes; the caller
// knows what a message holds, the transport does not). Out-of-range peers are ignored.
void net_count_authors(Net *net, int to, uint64_t bytes);
const LinkCount *net_recv(const Net *net, int peer);
double net_wait_seconds(const Net *net);    // total time spent blocked in net_wait and net_flush
void net_free(Net *net);

#endif
