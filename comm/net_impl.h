// The transport's insides (see net.h), shared by net.c (frames, mailbox) and net_setup.c (connecting
// and authenticating the links); nothing else includes this.
#ifndef MESHTRAIN_NET_IMPL_H
#define MESHTRAIN_NET_IMPL_H
#include "auth.h"
#include "net.h"
#include "wire.h"

typedef struct OutBuf { uint8_t *data; size_t len, off; struct OutBuf *next; } OutBuf;

typedef struct {
    int out_fd, in_fd;
    OutBuf *head, *tail;
    FrameReader rd;
    uint32_t seq;           // the next frame's sequence number on our link to it
    uint32_t seq_in;        // the sequence number its next frame must carry
    int in_closed;          // the peer closed its side (it finished)
    int last_big;           // its last frame was large: read the next header alone
    int out_gone;           // our link to it broke because it left
    LinkCount sent, recv;
    int mac;                // frames on both links carry a MAC under the keys below
    uint8_t out_key[AUTH_KEY_BYTES], in_key[AUTH_KEY_BYTES];   // each connection's own key
} Peer;

typedef struct { Msg m; int dropped; } Slot;

struct Net {
    int id, n, listen_fd, port;
    Peer *peers;
    Slot *box;
    int n_box, cap_box;
    double drop_p;
    uint64_t drop_seed;
    double waited;
    uint64_t floor_round;   // messages of earlier rounds are late
    // A frame may be at most max_ahead rounds past the furthest round this agent has sent or waited
    // for. Rounds from extra_lo on (consensus-only rounds) are a sequence of their own.
    int max_ahead;
    uint64_t extra_lo, reached_lo, reached_hi;
    NetReject *rejects;     // connections refused during set-up (the first SETUP_REJECTS)
    int n_rejects, n_rejects_total;
    void (*idle)(void *ctx, int waiting_for);
    void *idle_ctx;
    double idle_last;
};

void net_fd_nonblock(int fd);
// Socket buffers of NET_SOCKBUF (opt, or force_opt where the process may exceed the system's cap).
void net_fd_buffers(int fd, int opt, int force_opt);

#endif
