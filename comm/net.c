// Transport between agents over TCP (see net.h): connection set-up, a send queue per link, one
// poll loop that writes queued frames and parses incoming ones into the mailbox, and link counts.
#include "net.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "auth.h"
#include "net_impl.h"
#include "wire.h"

static void idle_tick(Net *net, int waiting_for) {
    double now = time_now();
    if (!net->idle || now - net->idle_last < 0.2) return;
    net->idle_last = now;
    net->idle(net->idle_ctx, waiting_for);
}

void net_set_idle(Net *net, void (*fn)(void *ctx, int waiting_for), void *ctx) {
    net->idle = fn;
    net->idle_ctx = ctx;
}

void net_fd_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Socket buffers big enough for a whole model message, so a send completes in the kernel while the
// agent computes (otherwise it only moves on during the next wait, and the peer idles). The FORCE
// variants need CAP_NET_ADMIN; without it the kernel's wmem_max/rmem_max cap applies.
#define NET_SOCKBUF (8 << 20)
void net_fd_buffers(int fd, int opt, int force_opt) {
    int size = NET_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size)) setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

Net *net_new(int id, int n, const char *bind_ip, Err *e) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    if (inet_pton(AF_INET, bind_ip, &a.sin_addr) != 1) {
        err_set(e, "agent %d: bad address '%s'", id, bind_ip);
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { err_set(e, "agent %d: socket: %s", id, strerror(errno)); return NULL; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    net_fd_buffers(fd, SO_RCVBUF, SO_RCVBUFFORCE);   // before listen: accepted sockets inherit it (window scale)
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, n + 8) || getsockname(fd, (struct sockaddr *)&a, &al)) {
        err_set(e, "agent %d: cannot listen on %s: %s", id, bind_ip, strerror(errno));
        close(fd);
        return NULL;
    }
    Net *net = xcalloc(1, sizeof *net);
    net->id = id; net->n = n; net->listen_fd = fd; net->port = ntohs(a.sin_port);
    net->peers = xcalloc((size_t)n, sizeof(Peer));
    net->max_ahead = 1 << 30;   // until net_set_window says otherwise
    net->extra_lo = net->reached_hi = UINT64_MAX;
    for (int j = 0; j < n; j++) {
        net->peers[j].out_fd = net->peers[j].in_fd = -1;
        frame_reader_init(&net->peers[j].rd, WIRE_MAX_PAYLOAD);
    }
    return net;
}

int net_port(const Net *net) { return net->port; }

uint8_t *net_alloc(size_t len) { return (uint8_t *)xmalloc(WIRE_HEADER_BYTES + len) + WIRE_HEADER_BYTES; }
void net_alloc_free(uint8_t *payload) { if (payload) free(payload - WIRE_HEADER_BYTES); }

// The peer closed its end: it finished (a crash is the runner's to report). Forget its queue.
static void peer_left(Peer *p) {
    for (OutBuf *q = p->head, *nx; q; q = nx) { nx = q->next; free(q->data); free(q); p->sent.dropped++; }
    p->head = p->tail = NULL;
    close(p->out_fd);
    p->out_fd = -1;
    p->out_gone = 1;
}

// Write as much of parts as j's socket takes now, without blocking: the bytes written (0 when the
// socket is full or the peer has left), or -1 and e on a broken link.
static ssize_t link_write(Net *net, int j, const struct iovec *parts, int n_parts, Err *e) {
    Peer *p = &net->peers[j];
    struct msghdr mh = {.msg_iov = (struct iovec *)parts, .msg_iovlen = (size_t)n_parts};
    for (;;) {
        ssize_t w = sendmsg(p->out_fd, &mh, MSG_NOSIGNAL);
        if (w >= 0) { p->sent.socket += (uint64_t)w; return w; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno == EPIPE || errno == ECONNRESET) { peer_left(p); return 0; }
        err_set(e, "agent %d: link to agent %d broke: %s", net->id, j, strerror(errno));
        return -1;
    }
}

// Write j's queue until the socket is full. -1 and e on a broken link.
static int peer_write(Net *net, int j, Err *e) {
    Peer *p = &net->peers[j];
    while (p->head) {
        OutBuf *b = p->head;
        struct iovec part = {b->data + b->off, b->len - b->off};
        ssize_t w = link_write(net, j, &part, 1, e);
        if (w < 0) return -1;
        if (w == 0) return 0;   // full, or the peer left (and its queue with it)
        b->off += (size_t)w;
        if (b->off < b->len) return 0;
        p->head = b->next;
        if (!p->head) p->tail = NULL;
        free(b->data);
        free(b);
    }
    return 0;
}

// Whether a frame of len payload bytes can go to `to`: 0 yes, 1 the peer has left (the frame counts
// as dropped), -1 and e no such link or too long.
static int link_check(Net *net, int to, size_t len, Err *e) {
    if (len > WIRE_MAX_PAYLOAD) {
        err_set(
            e,
            "agent %d: a %zu-byte message is over the %u-byte frame bound (a larger keep or model than the wire takes)",
            net->id, len, WIRE_MAX_PAYLOAD);
        return -1;
    }
    if (to >= 0 && to < net->n && net->peers[to].out_gone) {   // the peer finished and left: nothing to deliver
        net->peers[to].sent.dropped++;
        return 1;
    }
    if (to < 0 || to >= net->n || to == net->id || net->peers[to].out_fd < 0) {
        err_set(e, "agent %d: no link to agent %d", net->id, to);
        return -1;
    }
    return 0;
}

static void frame_count(Net *net, int to, int kind, uint64_t round, size_t len) {
    LinkCount *c = &net->peers[to].sent;
    c->payload += len;
    c->framing += WIRE_HEADER_BYTES;
    c->messages++;
    c->dropped += net_drops(net, net->id, to, kind, round);
}

// Send a whole frame (header and payload in parts): what the socket takes now leaves at once, if
// nothing is queued before it; the rest is queued. `owned` is the frame as one buffer the queue may
// keep (freed here otherwise); without it, only the unsent rest of parts is copied.
static int frame_out(Net *net, int to, const struct iovec *parts, int n_parts, uint8_t *owned, Err *e) {
    Peer *p = &net->peers[to];
    size_t total = 0, done = 0;
    for (int k = 0; k < n_parts; k++) total += parts[k].iov_len;
    if (p->head && peer_write(net, to, e)) { free(owned); return -1; }
    if (!p->head && !p->out_gone) {
        ssize_t w = link_write(net, to, parts, n_parts, e);
        if (w < 0) { free(owned); return -1; }
        done = (size_t)w;
    }
    if (p->out_gone || done == total) {
        p->sent.dropped += done < total;   // the peer left while we were sending
        free(owned);
        return 0;
    }
    OutBuf *b = xmalloc(sizeof *b);
    b->next = NULL;
    if (owned) {
        b->data = owned;
        b->len = total;
        b->off = done;
    } else {
        b->data = xmalloc(total - done);
        b->len = total - done;
        b->off = 0;
        size_t skip = done, at = 0;
        for (int k = 0; k < n_parts; k++) {
            size_t l = parts[k].iov_len;
            if (skip >= l) { skip -= l; continue; }
            memcpy(b->data + at, (const uint8_t *)parts[k].iov_base + skip, l - skip);
            at += l - skip;
            skip = 0;
        }
    }
    if (p->tail) p->tail->next = b; else p->head = b;
    p->tail = b;
    return 0;
}

// The furthest round this agent has reached, in its sequence (training rounds, or the consensus-only
// rounds from extra_lo on): frames may run at most max_ahead rounds past it.
static void round_reach(Net *net, uint64_t round) {
    uint64_t *r = round >= net->extra_lo ? &net->reached_hi : &net->reached_lo;
    if (round > *r) *r = round;
}

// Last touches on an outgoing frame's header: the MAC under the link's key, and the round reached.
static void frame_seal(Net *net, Peer *p, FrameHeader *h, const struct iovec *parts, int n_parts) {
    round_reach(net, h->round);
    if (!p->mac) return;
    h->magic = WIRE_MAGIC;   // as wire_header_write will set them: the MAC covers them
    h->version = WIRE_VERSION;
    h->flags |= WIRE_FLAG_MAC;
    auth_frame_tag(h->tag, p->out_key, h, parts, n_parts);
}

int net_sendv(Net *net, int to, int kind, uint64_t round, int codec, const struct iovec *parts, int n_parts, Err *e) {
    size_t len = 0;
    for (int k = 0; k < n_parts; k++) len += parts[k].iov_len;
    if (n_parts > NET_MAX_PARTS) {
        err_set(e, "agent %d: a message in %d parts (at most %d)", net->id, n_parts, NET_MAX_PARTS);
        return -1;
    }
    int ok = link_check(net, to, len, e);
    if (ok) return ok < 0 ? -1 : 0;
    Peer *p = &net->peers[to];
    FrameHeader h = {.kind = (uint16_t)kind, .sender = (uint32_t)net->id, .receiver = (uint32_t)to, .round = round,
                     .seq = p->seq++, .codec = (uint16_t)codec, .payload_len = (uint32_t)len};
    frame_seal(net, p, &h, parts, n_parts);
    uint8_t hdr[WIRE_HEADER_BYTES];
    wire_header_writev(hdr, &h, parts, n_parts);
    struct iovec frame[1 + NET_MAX_PARTS];
    frame[0] = (struct iovec){hdr, WIRE_HEADER_BYTES};
    memcpy(frame + 1, parts, sizeof *parts * (size_t)n_parts);
    frame_count(net, to, kind, round, len);
    return frame_out(net, to, frame, 1 + n_parts, NULL, e);
}

int net_send(Net *net, int to, int kind, uint64_t round, int codec, const uint8_t *payload, uint32_t len, Err *e) {
    struct iovec part = {(void *)payload, len};
    return net_sendv(net, to, kind, round, codec, &part, 1, e);
}

int net_send_owned(Net *net, int to, int kind, uint64_t round, int codec, uint8_t *payload, uint32_t len, Err *e) {
    int ok = link_check(net, to, len, e);
    if (ok) { net_alloc_free(payload); return ok < 0 ? -1 : 0; }
    Peer *p = &net->peers[to];
    FrameHeader h = {.kind = (uint16_t)kind, .sender = (uint32_t)net->id, .receiver = (uint32_t)to, .round = round,
                     .seq = p->seq++, .codec = (uint16_t)codec, .payload_len = len};
    struct iovec part = {payload, len};
    frame_seal(net, p, &h, &part, 1);
    uint8_t *frame = payload - WIRE_HEADER_BYTES;   // the header goes in the room net_alloc left
    wire_header_write(frame, &h, payload);
    frame_count(net, to, kind, round, len);
    struct iovec whole = {frame, WIRE_HEADER_BYTES + (size_t)len};
    return frame_out(net, to, &whole, 1, frame, e);
}

// Store a frame; its payload buffer is taken from the reader (which allocates a new one next time).
static void box_put(Net *net, const FrameHeader *h, FrameReader *rd, int dropped) {
    if (net->n_box == net->cap_box) {
        net->cap_box = net->cap_box ? 2 * net->cap_box : 16;
        net->box = realloc(net->box, sizeof(Slot) * (size_t)net->cap_box);
        if (!net->box) { fprintf(stderr, "meshtrain: out of memory\n"); abort(); }
    }
    Slot *s = &net->box[net->n_box++];
    s->dropped = dropped;
    s->m.from = (int)h->sender; s->m.kind = h->kind; s->m.round = h->round; s->m.codec = h->codec; s->m.seq = h->seq;
    s->m.len = dropped ? 0 : h->payload_len;
    s->m.payload = NULL;
    if (!dropped && h->payload_len) {
        s->m.payload = rd->payload;
        rd->payload = NULL;
        rd->payload_cap = 0;
    }
}

// A frame from j must carry a valid MAC (when the link has one), the link's next sequence number (TCP
// keeps order, so anything else is a replay or an injection), and a round this agent may buffer.
static int frame_admit(Net *net, int j, const FrameHeader *h, const uint8_t *payload, Err *e) {
    Peer *p = &net->peers[j];
    if (p->mac && (!(h->flags & WIRE_FLAG_MAC) || auth_frame_check(p->in_key, h, payload))) {
        err_set(e, "agent %d: protocol error on the link from agent %d: frame %u (round %llu) %s", net->id, j, h->seq,
                (unsigned long long)h->round,
                h->flags & WIRE_FLAG_MAC ? "fails its MAC (forged or altered)" : "has no MAC");
        return -1;
    }
    if (h->seq != p->seq_in) {
        err_set(e, "agent %d: protocol error on the link from agent %d: frame sequence number %u where %u was due "
                "(a replayed, dropped or injected frame)", net->id, j, h->seq, p->seq_in);
        return -1;
    }
    p->seq_in++;
    uint64_t base = h->round >= net->extra_lo ? net->reached_hi : net->reached_lo;
    if (h->round > base && h->round - base > (uint64_t)net->max_ahead) {
        err_set(e, "agent %d: protocol error on the link from agent %d: a frame for round %llu, %llu rounds past this "
                "agent's round %llu (network.max_rounds_ahead = %d)", net->id, j, (unsigned long long)h->round,
                (unsigned long long)(h->round - base), (unsigned long long)base, net->max_ahead);
        return -1;
    }
    return 0;
}

// A whole frame arrived from j: check its routing, count it, and file it (or drop it).
static int frame_deliver(Net *net, int j, Err *e) {
    Peer *p = &net->peers[j];
    FrameHeader h = p->rd.h;
    if ((int)h.sender != j || (int)h.receiver != net->id) {
        err_set(e, "agent %d: frame on the link from %d claims sender %u, receiver %u", net->id, j, h.sender,
                h.receiver);
        return -1;
    }
    if (frame_admit(net, j, &h, p->rd.payload, e)) return -1;
    p->recv.payload += h.payload_len;
    p->recv.framing += WIRE_HEADER_BYTES;
    p->recv.messages++;
    p->last_big = h.payload_len >= 4096;
    if (h.round < net->floor_round) { p->recv.late++; return 0; }
    int drop = net_drops(net, (int)h.sender, net->id, h.kind, h.round);
    if (drop) p->recv.dropped++;
    box_put(net, &h, &p->rd, drop);
    return 0;
}

// Feed bytes that arrived outside a frame's own buffer to j's reader, delivering each frame they complete.
static int peer_feed(Net *net, int j, const uint8_t *buf, size_t n, Err *e) {
    Peer *p = &net->peers[j];
    size_t off = 0;
    while (off < n) {
        size_t used = 0;
        Err fe = {{0}};
        int got = frame_reader_feed(&p->rd, buf + off, n - off, &used, &fe);
        off += used;
        if (got < 0) { err_set(e, "agent %d: bad frame from agent %d: %s", net->id, j, fe.msg); return -1; }
        if (got == 0) break;
        if (frame_deliver(net, j, e)) return -1;
    }
    return 0;
}

// Read what is available on j's connection into frames. -1 and e on a closed or corrupt link.
// A large payload is read straight into its frame's buffer, with `spill` after it for whatever
// follows; after a large frame the next header is read alone, so that its payload does not land in
// `spill` and need a copy. A short read means the socket is empty: no extra read just to see EAGAIN.
static int peer_read(Net *net, int j, Err *e) {
    Peer *p = &net->peers[j];
    uint8_t spill[1 << 16];
    for (;;) {
        size_t want = 0, hdr_want = frame_reader_header_want(&p->rd);
        uint8_t *direct = frame_reader_space(&p->rd, &want);
        if (want < 4096) { direct = NULL; want = 0; }
        struct iovec iov[2];
        int n = 0;
        if (direct) iov[n++] = (struct iovec){direct, want};
        size_t spill_len = !direct && hdr_want && p->last_big ? hdr_want : sizeof spill;
        iov[n++] = (struct iovec){spill, spill_len};
        ssize_t r = readv(p->in_fd, iov, n);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {   // the peer finished and left; only waiting for it later is an error
            close(p->in_fd);
            p->in_fd = -1;
            p->in_closed = 1;
            return 0;
        }
        if (r < 0) { err_set(e, "agent %d: link from agent %d broke: %s", net->id, j, strerror(errno)); return -1; }
        p->recv.socket += (uint64_t)r;
        size_t in_direct = (size_t)r < want ? (size_t)r : want;
        if (direct) {
            Err fe = {{0}};
            int got = frame_reader_wrote(&p->rd, in_direct, &fe);
            if (got < 0) { err_set(e, "agent %d: bad frame from agent %d: %s", net->id, j, fe.msg); return -1; }
            if (got == 1 && frame_deliver(net, j, e)) return -1;
        }
        if (peer_feed(net, j, spill, (size_t)r - in_direct, e)) return -1;
        if ((size_t)r < want + spill_len) return 0;
    }
}

// One pass of the poll loop, waiting at most ms. -1 and e on a broken link.
static int net_poll(Net *net, int ms, Err *e) {
    struct pollfd fds[2 * 1024];
    int who[2 * 1024], nf = 0;
    for (int j = 0; j < net->n && nf < 2046; j++) {
        if (j == net->id) continue;
        if (net->peers[j].in_fd >= 0) { fds[nf] = (struct pollfd){net->peers[j].in_fd, POLLIN, 0}; who[nf++] = j; }
        if (net->peers[j].head && net->peers[j].out_fd >= 0) {
            fds[nf] = (struct pollfd){net->peers[j].out_fd, POLLOUT, 0};
            who[nf++] = -1 - j;
        }
    }
    int r = poll(fds, (nfds_t)nf, ms);
    if (r < 0 && errno != EINTR) { err_set(e, "agent %d: poll: %s", net->id, strerror(errno)); return -1; }
    for (int k = 0; k < nf && r > 0; k++) {
        if (!fds[k].revents) continue;
        int rc = who[k] >= 0 ? peer_read(net, who[k], e) : peer_write(net, -1 - who[k], e);
        if (rc) return -1;
    }
    return 0;
}

static int box_find(const Net *net, int from, int kind, uint64_t round) {
    for (int i = 0; i < net->n_box; i++)
        if (net->box[i].m.from == from && net->box[i].m.kind == kind && net->box[i].m.round == round) return i;
    return -1;
}

static void box_remove(Net *net, int i) {
    free(net->box[i].m.payload);
    net->box[i] = net->box[--net->n_box];
}

Msg *net_wait(Net *net, int from, int kind, uint64_t round, double timeout_s, int *timed_out, Err *e) {
    double t0 = time_now(), end = t0 + timeout_s;
    round_reach(net, round);
    *timed_out = 0;
    for (;;) {
        // Writes first, without waiting, so our own sends never sit behind a wait for a peer.
        for (int j = 0; j < net->n; j++)
            if (net->peers[j].head && peer_write(net, j, e)) return NULL;
        int i = box_find(net, from, kind, round);
        if (i >= 0) {
            net->waited += time_now() - t0;
            if (net->box[i].dropped) { box_remove(net, i); *timed_out = 1; return NULL; }
            Msg *m = xmalloc(sizeof *m);
            *m = net->box[i].m;
            net->box[i].m.payload = NULL;
            box_remove(net, i);
            return m;
        }
        double left = end - time_now();
        if (left <= 0) { net->waited += time_now() - t0; *timed_out = 1; return NULL; }
        if (net->peers[from].in_closed) {
            err_set(e, "agent %d: link from agent %d closed before its round-%llu message", net->id, from,
                    (unsigned long long)round);
            return NULL;
        }
        idle_tick(net, from);
        if (net_poll(net, left > 0.05 ? 50 : (int)(left * 1000) + 1, e)) return NULL;
    }
}

Msg *net_take_late(Net *net, int from, int kind, uint64_t round) {
    int best = -1;
    for (int i = 0; i < net->n_box; i++) {
        const Msg *m = &net->box[i].m;
        if (m->kind != kind || m->round >= round || (from >= 0 && m->from != from)) continue;
        if (best < 0 || m->round < net->box[best].m.round) best = i;
    }
    if (best < 0) return NULL;
    if (net->box[best].dropped) { box_remove(net, best); return net_take_late(net, from, kind, round); }
    Msg *m = xmalloc(sizeof *m);
    *m = net->box[best].m;
    net->box[best].m.payload = NULL;
    box_remove(net, best);
    return m;
}

Msg *net_take_before(Net *net, int from, uint32_t seq) {
    int best = -1;
    for (int i = 0; i < net->n_box; i++) {
        const Msg *m = &net->box[i].m;
        if (m->from != from || m->seq >= seq) continue;
        if (best < 0 || m->seq < net->box[best].m.seq) best = i;
    }
    if (best < 0) return NULL;
    if (net->box[best].dropped) { box_remove(net, best); return net_take_before(net, from, seq); }
    Msg *m = xmalloc(sizeof *m);
    *m = net->box[best].m;
    net->box[best].m.payload = NULL;
    box_remove(net, best);
    return m;
}

void net_release(Net *net, Msg *m) {
    (void)net;
    if (!m) return;
    free(m->payload);
    free(m);
}

void net_discard_before(Net *net, uint64_t round) {
    net->floor_round = round;
    for (int i = 0; i < net->n_box;)
        if (net->box[i].m.round < round) {
            net->peers[net->box[i].m.from].recv.late += !net->box[i].dropped;
            box_remove(net, i);
        } else
            i++;
}

int net_flush(Net *net, double timeout_s, Err *e) {
    double t0 = time_now(), end = t0 + timeout_s;
    for (;;) {
        int pending = 0;
        for (int j = 0; j < net->n; j++) pending |= net->peers[j].head != NULL;
        if (!pending) break;
        if (time_now() > end) {
            err_set(e, "agent %d: could not send everything within %.0f s", net->id, timeout_s);
            return -1;
        }
        idle_tick(net, -1);
        if (net_poll(net, 50, e)) return -1;
    }
    net->waited += time_now() - t0;
    return 0;
}

void net_set_window(Net *net, int max_ahead, uint64_t extra_lo) {
    net->max_ahead = max_ahead;
    net->extra_lo = extra_lo;
    if (net->reached_hi < extra_lo || net->reached_hi == UINT64_MAX) net->reached_hi = extra_lo;
}

void net_set_drop(Net *net, double p, uint64_t seed) {
    net->drop_p = p;
    net->drop_seed = seed;
}

int net_drops(const Net *net, int from, int to, int kind, uint64_t round) {
    if (net->drop_p <= 0 || kind >= NET_KIND_RELIABLE) return 0;
    Rng r = rng_derive(net->drop_seed ^ ((uint64_t)from << 48) ^ ((uint64_t)to << 32) ^ ((uint64_t)kind << 20), round);
    return rng_uniform(&r) < net->drop_p;
}

int net_peer_fd(const Net *net, int peer, int out) {
    if (peer < 0 || peer >= net->n) return -1;
    return out ? net->peers[peer].out_fd : net->peers[peer].in_fd;
}

const LinkCount *net_sent(const Net *net, int peer) { return &net->peers[peer].sent; }
void net_count_authors(Net *net, int to, uint64_t bytes) {
    if (to >= 0 && to < net->n && to != net->id) net->peers[to].sent.authors += bytes;
}
const LinkCount *net_recv(const Net *net, int peer) { return &net->peers[peer].recv; }
double net_wait_seconds(const Net *net) { return net->waited; }

void net_free(Net *net) {
    if (!net) return;
    for (int j = 0; j < net->n; j++) {
        Peer *p = &net->peers[j];
        if (p->out_fd >= 0) close(p->out_fd);
        if (p->in_fd >= 0) close(p->in_fd);
        for (OutBuf *b = p->head, *nx; b; b = nx) { nx = b->next; free(b->data); free(b); }
        frame_reader_free(&p->rd);
        explicit_bzero(p->out_key, sizeof p->out_key);
        explicit_bzero(p->in_key, sizeof p->in_key);
    }
    for (int i = 0; i < net->n_box; i++) free(net->box[i].m.payload);
    free(net->box);
    free(net->peers);
    free(net->rejects);
    if (net->listen_fd >= 0) close(net->listen_fd);
    free(net);
}
