// The control channel over TCP, for agents started on other hosts by a launcher (Slurm, MPI): a
// handshake that proves both ends hold the run's launch key, then a sealed (encrypted, authenticated,
// ordered) stream of records, and a relay that turns it back into the plain AF_UNIX stream of ctl.h.
#ifndef MESHTRAIN_CTL_TCP_H
#define MESHTRAIN_CTL_TCP_H
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "auth.h"
#include "util.h"

#define CTL_TCP_RECORD_MAX (1u << 16)   // plaintext bytes in one sealed record
#define CTL_TCP_RUNNER_ID 0xFFFFFu      // the hello's "to": the runner, not an agent

// One direction each way: crypto_secretstream (XChaCha20-Poly1305) under keys derived from the
// handshake's session key, so a record cannot be forged, replayed, reordered, dropped unseen or read.
typedef struct {
    crypto_secretstream_xchacha20poly1305_state tx, rx;
} CtlSeal;

// The agent's side: connect to host:port within timeout_s, prove the key as agent `id`, check the
// runner's proof, and open the sealed stream. The connected socket, or -1 and e.
int ctl_tcp_connect(const char *host, int port, const uint8_t key[AUTH_KEY_BYTES], int id, CtlSeal *s,
                    double timeout_s, Err *e);
// The runner's side, on an accepted socket: read the hello (for at most timeout_s in all), answer,
// check the agent's proof; *id is the id it claims (< n). 0, or -1 and e (why it was refused).
int ctl_tcp_accept(int fd, const uint8_t key[AUTH_KEY_BYTES], int n, int *id, CtlSeal *s, double timeout_s,
                   Err *e);
// One sealed record of len (<= CTL_TCP_RECORD_MAX) bytes (blocking). 0, or -1 and e.
int ctl_tcp_write(int fd, CtlSeal *s, const void *buf, size_t len, Err *e);
// The last record: the stream ends here (a TCP end without it is a cut, not an end). 0, or -1 and e.
int ctl_tcp_end(int fd, CtlSeal *s, Err *e);
// A heartbeat: an empty sealed record that says only "still here" (the relay sends one every beat_s).
int ctl_tcp_beat(int fd, CtlSeal *s, Err *e);
// The next record into buf (CTL_TCP_RECORD_MAX bytes): its length, 0 at a clean end of stream,
// CTL_TCP_BEAT for a heartbeat, or -1 and e (closed mid-record, forged, out of order, or timeout_s
// without a whole record).
#define CTL_TCP_BEAT (-2L)
long ctl_tcp_read(int fd, CtlSeal *s, uint8_t *buf, double timeout_s, Err *e);

// Relays between plain AF_UNIX sockets and sealed TCP sockets, in a thread of its own: what one end
// of a pair sends comes out of the other. When a TCP side ends or fails, its plain side is closed (the
// runner sees an end of file); when a plain side ends, its TCP side is shut down for writing.
typedef struct CtlRelayPair {
    int plain, tcp;
    CtlSeal seal;
    int id;                 // the agent at the other end (for on_end)
    char why[200];          // how the TCP side ended ("" while it is up, "closed" at a clean end)
    void (*on_end)(const struct CtlRelayPair *p);   // called in the relay's thread when the TCP side ends (or NULL)
    double beat_s;          // send a heartbeat on the TCP side this often (0: never)
    double quiet_s;         // time the relay waited for this pair without a record: see ctl_relay_quiet
} CtlRelayPair;
typedef struct CtlRelay CtlRelay;
// Start relaying n pairs (the array is the relay's until ctl_relay_stop). NULL and e when the thread fails.
CtlRelay *ctl_relay_start(CtlRelayPair *pairs, int n, Err *e);
// How long the relay has been waiting, ready to read, for pair k's next record (heartbeats included):
// a peer that is stopped, or too starved to run its relay thread, stops its heartbeats. Time the relay
// itself was held up (delivering to a plain side nobody read) does not count against the peer.
double ctl_relay_quiet(CtlRelay *r, int k);
// Wait until every pair has ended (timeout_s < 0: forever); 1 if they all did, 0 on timeout.
int ctl_relay_wait(CtlRelay *r, double timeout_s);
// Stop the thread and close every socket still open.
void ctl_relay_stop(CtlRelay *r);

#endif
