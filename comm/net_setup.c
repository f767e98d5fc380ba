// Connecting and authenticating an agent's links (net_connect_all, see net.h): every outgoing and
// every incoming connection progresses in one poll loop, so no agent waits for another to finish its
// own connecting, and a silent or lying connection holds no peer's place: past SETUP_PENDING the oldest
// unfinished one is dropped, and whatever is unfinished once every peer is in is rejected.
// Handshake (auth.h): connector -> hello; acceptor -> answer (nonce, proof); connector -> confirm.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net_impl.h"

#define SETUP_PENDING 64    // unauthenticated incoming connections held beyond one per peer (the oldest goes first)
#define SETUP_REJECTS 64    // rejected connections recorded (all are counted)
#define SETUP_RETRY_S 0.1   // an outgoing connection the peer closed is tried again after this
#define SETUP_GRACE_S 1.0   // handshakes under way when every peer is in get this long to fail on their own

enum { C_CONNECTING, C_WAIT_ANSWER, C_WAIT_HELLO, C_WAIT_CONFIRM, C_RETRY };

typedef struct {
    int fd, peer, state;    // peer: whom we connect to, or whom an incoming hello claims (-1 before it)
    double deadline;        // incoming: when accepted (the oldest goes first); C_RETRY: when to connect again
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], buf[AUTH_ANSWER_BYTES];
    size_t have;
    char addr[64];          // the other end, "ip:port"
} Conn;

typedef struct {
    Net *net;
    const NetAuth *auth;
    char (*ips)[64];
    const int *ports;
    Conn *c;
    int nc, cap;
    int out_done, in_done;
    char last_out_error[200];   // why the last outgoing attempt failed (for the timeout message)
} Setup;

static const uint8_t *pair_key(const Setup *s, int j) { return s->auth->pair_keys + (size_t)j * AUTH_KEY_BYTES; }

static void conn_close(Setup *s, int k) {
    if (s->c[k].fd >= 0) close(s->c[k].fd);
    s->c[k] = s->c[--s->nc];
}

static Conn *conn_add(Setup *s) {
    if (s->nc == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        Conn *c = realloc(s->c, sizeof *c * (size_t)s->cap);
        if (!c) { fprintf(stderr, "meshtrain: out of memory\n"); abort(); }
        s->c = c;
    }
    Conn *c = &s->c[s->nc++];
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->peer = -1;
    return c;
}

// Close incoming connection k and record why; it took no peer's place.
static void reject(Setup *s, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reject(Setup *s, int k, const char *fmt, ...) {
    Net *net = s->net;
    if (net->n_rejects < SETUP_REJECTS) {
        if (!net->rejects) net->rejects = xcalloc(SETUP_REJECTS, sizeof *net->rejects);
        NetReject *r = &net->rejects[net->n_rejects];
        str_copy(r->from, sizeof r->from, s->c[k].addr);
        r->claimed = s->c[k].peer;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof r->why, fmt, ap);
        va_end(ap);
    }
    net->n_rejects_total++;
    net->n_rejects += net->n_rejects < SETUP_REJECTS;
    conn_close(s, k);
}

// Read until c->buf holds want bytes: 1 complete, 0 more to come, -1 closed or broken.
static int read_upto(Conn *c, size_t want) {
    while (c->have < want) {
        ssize_t r = read(c->fd, c->buf + c->have, want - c->have);
        if (r > 0) { c->have += (size_t)r; continue; }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    return 1;
}

// A handshake message is tens of bytes on a fresh socket: it goes whole or the connection is broken.
static int write_all(int fd, const uint8_t *b, size_t n) {
    return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void addr_of(int fd, int peer_side, char *out, size_t n) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int rc = peer_side ? getpeername(fd, (struct sockaddr *)&a, &al) : getsockname(fd, (struct sockaddr *)&a, &al);
    char ip[INET_ADDRSTRLEN] = "?";
    if (rc == 0) inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%d", ip, rc == 0 ? ntohs(a.sin_port) : 0);
}

static int out_start(Setup *s, Conn *c, int j) {
    Net *net = s->net;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->ports[j])};
    c->peer = j;
    c->have = 0;
    snprintf(c->addr, sizeof c->addr, "%s:%d", s->ips[j], s->ports[j]);
    if (inet_pton(AF_INET, s->ips[j], &a.sin_addr) != 1) {
        snprintf(s->last_out_error, sizeof s->last_out_error, "bad address '%s' for agent %d", s->ips[j], j);
        return -1;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
        snprintf(s->last_out_error, sizeof s->last_out_error, "agent %d at %s: %s", j, c->addr, strerror(errno));
        close(c->fd);
        c->fd = -1;
        c->state = C_RETRY;
        c->deadline = time_now() + SETUP_RETRY_S;
        return 0;
    }
    (void)net;
    c->state = C_CONNECTING;
    return 0;
}

// Our connection to c->peer failed in a way a new attempt may fix (the peer was busy and shed it).
static void out_retry(Setup *s, Conn *c, const char *why) {
    snprintf(s->last_out_error, sizeof s->last_out_error, "agent %d at %s: %s", c->peer, c->addr, why);
    close(c->fd);
    c->fd = -1;
    c->state = C_RETRY;
    c->deadline = time_now() + SETUP_RETRY_S;
}

// Our link to c->peer is authenticated (or needs no authentication): it carries our frames from now on.
static void out_finish(Setup *s, int k) {
    Conn *c = &s->c[k];
    Peer *p = &s->net->peers[c->peer];
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    net_fd_buffers(c->fd, SO_SNDBUF, SO_SNDBUFFORCE);
    p->out_fd = c->fd;
    p->mac = s->auth->mac;
    if (s->auth->on) auth_session_key(p->out_key, pair_key(s, c->peer), c->hello, c->buf);
    c->fd = -1;
    s->out_done++;
    conn_close(s, k);
}

// Progress outgoing connection k. -1 and e when the peer cannot be who the runner said it is.
static int out_step(Setup *s, int k, Err *e) {
    Conn *c = &s->c[k];
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { out_retry(s, c, strerror(err)); return 0; }
        auth_hello_make(c->hello, s->net->id, c->peer, s->auth->on ? AUTH_FLAG_ON : 0);
        if (write_all(c->fd, c->hello, AUTH_HELLO_BYTES)) { out_retry(s, c, strerror(errno)); return 0; }
        if (!s->auth->on) { out_finish(s, k); return 0; }
        c->state = C_WAIT_ANSWER;
        return 0;
    }
    int got = read_upto(c, AUTH_ANSWER_BYTES);
    if (got < 0) { out_retry(s, c, "closed the connection during the handshake"); return 0; }
    if (got == 0) return 0;
    uint8_t confirm[AUTH_CONFIRM_BYTES];
    if (auth_answer_check(c->buf, pair_key(s, c->peer), c->hello, confirm)) {
        err_set(e, "agent %d: whoever listens at %s (agent %d's address) did not prove that it holds this run's key",
                s->net->id, c->addr, c->peer);
        return -1;
    }
    if (write_all(c->fd, confirm, sizeof confirm)) { out_retry(s, c, strerror(errno)); return 0; }
    out_finish(s, k);
    return 0;
}

// An incoming connection proved it is agent c->peer: it carries that agent's frames from now on.
static void in_finish(Setup *s, int k) {
    Conn *c = &s->c[k];
    Peer *p = &s->net->peers[c->peer];
    net_fd_buffers(c->fd, SO_RCVBUF, SO_RCVBUFFORCE);
    p->in_fd = c->fd;
    p->mac = s->auth->mac;
    if (s->auth->on) auth_session_key(p->in_key, pair_key(s, c->peer), c->hello, c->answer);
    c->fd = -1;
    s->in_done++;
    conn_close(s, k);
}

// The hello of incoming connection k is here: check whom it claims to be and answer.
static void in_hello(Setup *s, int k) {
    Conn *c = &s->c[k];
    Net *net = s->net;
    int from, to;
    unsigned flags;
    Err he = {{0}};
    memcpy(c->hello, c->buf, AUTH_HELLO_BYTES);
    if (auth_hello_parse(c->hello, &from, &to, &flags, &he)) { reject(s, k, "%s", he.msg); return; }
    if (from < 0 || from >= net->n || from == net->id) {
        reject(s, k, "claims to be agent %d, not a peer", from);
        return;
    }
    c->peer = from;
    if (to != net->id) { reject(s, k, "addressed to agent %d, this is agent %d", to, net->id); return; }
    if (net->peers[from].in_fd >= 0) { reject(s, k, "agent %d is already connected and authenticated", from); return; }
    if (s->auth->on && !(flags & AUTH_FLAG_ON)) {
        reject(s, k, "offered no authentication; this run requires it");
        return;
    }
    if (!s->auth->on && (flags & AUTH_FLAG_ON)) { reject(s, k, "offered authentication; this run has it off"); return; }
    if (!s->auth->on) { in_finish(s, k); return; }
    auth_answer_make(c->answer, pair_key(s, from), c->hello);
    if (write_all(c->fd, c->answer, AUTH_ANSWER_BYTES)) {
        reject(s, k, "broke during the handshake: %s", strerror(errno));
        return;
    }
    c->have = 0;
    c->state = C_WAIT_CONFIRM;
}

static void in_step(Setup *s, int k) {
    Conn *c = &s->c[k];
    size_t want = c->state == C_WAIT_HELLO ? AUTH_HELLO_BYTES : AUTH_CONFIRM_BYTES;
    int got = read_upto(c, want);
    if (got < 0) { reject(s, k, "closed the connection during the handshake"); return; }
    if (got == 0) return;
    if (c->state == C_WAIT_HELLO) { in_hello(s, k); return; }
    if (auth_confirm_check(c->buf, pair_key(s, c->peer), c->hello, c->answer)) {
        reject(s, k, "claimed agent %d but did not prove that it holds this run's key", c->peer);
        return;
    }
    if (s->net->peers[c->peer].in_fd >= 0) {
        reject(s, k, "agent %d is already connected and authenticated", c->peer);
        return;
    }
    in_finish(s, k);
}

// Take every connection waiting on the listening socket; past SETUP_PENDING, the oldest unfinished
// handshake is dropped to make room (a flood delays peers; it cannot hold their places). Every peer's
// handshake fits beside SETUP_PENDING strangers, so peers slow to prove do not push each other out.
static void in_accept(Setup *s) {
    for (;;) {
        int fd = accept4(s->net->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        int pending = 0, oldest = -1;
        for (int k = 0; k < s->nc; k++)
            if (s->c[k].state == C_WAIT_HELLO || s->c[k].state == C_WAIT_CONFIRM) {
                pending++;
                if (oldest < 0 || s->c[k].deadline < s->c[oldest].deadline) oldest = k;
            }
        if (pending >= SETUP_PENDING + s->net->n)
            reject(s, oldest, "dropped: %d connections were waiting to authenticate", pending);
        Conn *c = conn_add(s);
        c->fd = fd;
        c->state = C_WAIT_HELLO;
        c->deadline = time_now();
        addr_of(fd, 1, c->addr, sizeof c->addr);
    }
}

static int setup_poll(Setup *s, double end, Err *e) {
    struct pollfd fds[SETUP_PENDING + 1100];
    int who[SETUP_PENDING + 1100], nf = 0;
    fds[nf] = (struct pollfd){s->net->listen_fd, POLLIN, 0};
    who[nf++] = -1;
    double now = time_now(), wake = end;
    for (int k = 0; k < s->nc && nf < (int)(sizeof fds / sizeof *fds); k++) {
        if (s->c[k].deadline > now && s->c[k].deadline < wake) wake = s->c[k].deadline;
        if (s->c[k].state == C_RETRY) continue;
        fds[nf] = (struct pollfd){s->c[k].fd, s->c[k].state == C_CONNECTING ? POLLOUT : POLLIN, 0};
        who[nf++] = k;
    }
    int ms = (int)((wake - now) * 1000) + 1;
    if (poll(fds, (nfds_t)nf, ms < 1 ? 1 : ms > 200 ? 200 : ms) < 0 && errno != EINTR) {
        err_set(e, "agent %d: poll: %s", s->net->id, strerror(errno));
        return -1;
    }
    // Handle the ready connections from the last: closing one moves the last into its place.
    for (int q = nf - 1; q >= 1; q--) {
        int k = who[q];
        if (!fds[q].revents || k >= s->nc || s->c[k].fd != fds[q].fd) continue;
        if (s->c[k].state == C_CONNECTING || s->c[k].state == C_WAIT_ANSWER) { if (out_step(s, k, e)) return -1; }
        else in_step(s, k);
    }
    if (fds[0].revents) in_accept(s);
    return 0;
}

// Outgoing connections the peer shed are started again when their retry time comes.
static int setup_timers(Setup *s) {
    double now = time_now();
    for (int k = s->nc - 1; k >= 0; k--) {
        Conn *c = &s->c[k];
        if (c->state == C_RETRY && now > c->deadline && out_start(s, c, c->peer)) return -1;
    }
    return 0;
}

// Incoming handshakes still under way.
static int setup_pending(const Setup *s) {
    int n = 0;
    for (int k = 0; k < s->nc; k++) n += s->c[k].state == C_WAIT_HELLO || s->c[k].state == C_WAIT_CONFIRM;
    return n;
}

static void setup_fail(Setup *s, double t0, Err *e) {
    Net *net = s->net;
    char miss_in[200] = "", miss_out[200] = "", rej[600] = "";
    for (int j = 0; j < net->n; j++) {
        if (j == net->id) continue;
        size_t l = strlen(miss_in), m = strlen(miss_out);
        if (net->peers[j].in_fd < 0 && l < sizeof miss_in - 8)
            snprintf(miss_in + l, sizeof miss_in - l, "%s%d", l ? ", " : "", j);
        if (net->peers[j].out_fd < 0 && m < sizeof miss_out - 8)
            snprintf(miss_out + m, sizeof miss_out - m, "%s%d", m ? ", " : "", j);
    }
    for (int q = 0; q < net->n_rejects && strlen(rej) < sizeof rej - 100; q++) {
        size_t l = strlen(rej);
        snprintf(rej + l, sizeof rej - l, "%s%s (claimed agent %d): %s", q ? "; " : "", net->rejects[q].from,
                 net->rejects[q].claimed, net->rejects[q].why);
    }
    err_set(e,
            "agent %d: links not set up after %.1f s: %d of %d peers authenticated to it (missing: %s), it reached %d "
            "of %d "
            "(missing: %s%s%s); %d connection(s) rejected%s%s",
            net->id, time_now() - t0, s->in_done, net->n - 1, miss_in[0] ? miss_in : "none", s->out_done, net->n - 1,
            miss_out[0] ? miss_out : "none", s->last_out_error[0] ? "; last error: " : "", s->last_out_error,
            net->n_rejects_total, rej[0] ? ": " : "", rej);
}

int net_connect_all(Net *net, char ips[][64], const int *ports, const NetAuth *auth, double timeout_s, Err *e) {
    static const NetAuth none = {0, 0, NULL};
    Setup s = {.net = net, .auth = auth && auth->on ? auth : &none, .ips = ips, .ports = ports};
    double t0 = time_now(), end = t0 + timeout_s;
    int rc = 0;
    net_fd_nonblock(net->listen_fd);   // in_accept takes connections until there are none
    for (int j = 0; j < net->n && !rc; j++)
        if (j != net->id) rc = out_start(&s, conn_add(&s), j);
    if (rc)
        err_set(e, "agent %d: cannot connect: %s", net->id, s.last_out_error[0] ? s.last_out_error : strerror(errno));
    while (!rc && (s.out_done < net->n - 1 || s.in_done < net->n - 1)) {
        if (time_now() > end) { setup_fail(&s, t0, e); rc = -1; break; }
        rc = setup_poll(&s, end, e);
        if (!rc) rc = setup_timers(&s);
    }
    // Every peer is in; any handshake still under way is an intruder's (or a late duplicate). It gets
    // SETUP_GRACE_S to finish, so its rejection names what it failed (a wrong proof, a bad hello) rather
    // than the clock; a run with no such connection does not wait at all.
    double grace_end = time_now() + SETUP_GRACE_S;
    while (!rc && setup_pending(&s) && time_now() < grace_end) {
        rc = setup_poll(&s, grace_end, e);
        if (!rc) rc = setup_timers(&s);
    }
    while (s.nc) {
        if (!rc && s.c[s.nc - 1].state != C_RETRY && s.c[s.nc - 1].state != C_CONNECTING &&
            s.c[s.nc - 1].state != C_WAIT_ANSWER)
            reject(&s, s.nc - 1, "%s %.0f s after every peer was in",
                   s.c[s.nc - 1].state == C_WAIT_HELLO ? "had sent no hello" : "had sent no proof", SETUP_GRACE_S);
        else conn_close(&s, s.nc - 1);
    }
    free(s.c);
    for (int j = 0; j < net->n && !rc; j++)
        if (j != net->id) { net_fd_nonblock(net->peers[j].out_fd); net_fd_nonblock(net->peers[j].in_fd); }
    if (!rc) {   // nobody else may connect now: later connections are refused by the kernel
        close(net->listen_fd);
        net->listen_fd = -1;
    }
    return rc;
}

const NetReject *net_rejects(const Net *net, int *n_listed, int *n_total) {
    *n_listed = net->n_rejects;
    *n_total = net->n_rejects_total;
    return net->rejects;
}
