// The control channel over TCP (see ctl_tcp.h): the launch-key handshake (comm/auth.c's messages, with
// the runner as the acceptor), sealed records with libsodium's secretstream, and the relay thread.
#include "ctl_tcp.h"
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bytes.h"

#define HDR_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SEAL_EXTRA crypto_secretstream_xchacha20poly1305_ABYTES

// Read exactly n bytes before `end` (time_now). 0, or -1 and e.
static int read_full(int fd, void *buf, size_t n, double end, const char *what, Err *e) {
    size_t off = 0;
    while (off < n) {
        int ms = (int)((end - time_now()) * 1000);
        struct pollfd p = {fd, POLLIN, 0};
        int pr = ms > 0 ? poll(&p, 1, ms) : 0;
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) { err_set(e, "%s: nothing for too long (%zu of %zu bytes)", what, off, n); return -1; }
        ssize_t k = recv(fd, (uint8_t *)buf + off, n - off, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            err_set(e, "%s: %s", what, k == 0 ? (off ? "closed mid-message" : "closed") : strerror(errno));
            return -1;
        }
        off += (size_t)k;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n, Err *e) {
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, (const uint8_t *)buf + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) { err_set(e, "control connection: %s", strerror(errno)); return -1; }
        off += (size_t)w;
    }
    return 0;
}

// A vanished host is noticed within about 4 s (keepalive, TCP_USER_TIMEOUT), and small control messages go at once.
static void tcp_tune(int fd) {
    int one = 1, idle = 1, intvl = 1, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    unsigned user_ms = 4000;   // unacknowledged data for this long: the connection is dead
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
}

// Each direction's key from the session key; both ends exchange their stream headers.
static int seal_open(int fd, CtlSeal *s, const uint8_t session[AUTH_KEY_BYTES], int agent, double end, Err *e) {
    uint8_t k_a2r[AUTH_KEY_BYTES], k_r2a[AUTH_KEY_BYTES], mine[HDR_BYTES], theirs[HDR_BYTES];
    static const char a2r[] = "meshtrain ctl agent->runner v1", r2a[] = "meshtrain ctl runner->agent v1";
    crypto_generichash(k_a2r, sizeof k_a2r, (const uint8_t *)a2r, sizeof a2r - 1, session, AUTH_KEY_BYTES);
    crypto_generichash(k_r2a, sizeof k_r2a, (const uint8_t *)r2a, sizeof r2a - 1, session, AUTH_KEY_BYTES);
    crypto_secretstream_xchacha20poly1305_init_push(&s->tx, mine, agent ? k_a2r : k_r2a);
    int rc = write_full(fd, mine, sizeof mine, e) || read_full(fd, theirs, sizeof theirs, end, "stream header", e) ||
             crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, theirs, agent ? k_r2a : k_a2r);
    if (rc && !e->msg[0]) err_set(e, "malformed stream header");
    sodium_memzero(k_a2r, sizeof k_a2r);
    sodium_memzero(k_r2a, sizeof k_r2a);
    return rc ? -1 : 0;
}

static int connect_to(const char *host, int port, double end, Err *e) {
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, ps, &hints, &ai);
    if (g) { err_set(e, "the runner's address %s: %s", host, gai_strerror(g)); return -1; }
    int fd = -1;
    while (fd < 0 && time_now() < end) {
        for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
            fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen)) {
                err_set(e, "cannot connect to the runner at %s:%d: %s", host, port, strerror(errno));
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0) usleep(200000);
    }
    freeaddrinfo(ai);
    return fd;
}

int ctl_tcp_connect(const char *host, int port, const uint8_t key[AUTH_KEY_BYTES], int id, CtlSeal *s,
                    double timeout_s, Err *e) {
    double end = time_now() + timeout_s;
    int fd = connect_to(host, port, end, e);
    if (fd < 0) return -1;
    tcp_tune(fd);
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], confirm[AUTH_CONFIRM_BYTES], sk[AUTH_KEY_BYTES];
    auth_hello_make(hello, id, (int)CTL_TCP_RUNNER_ID, AUTH_FLAG_ON);
    if (write_full(fd, hello, sizeof hello, e) || read_full(fd, answer, sizeof answer, end, "the runner's answer", e))
        goto fail;
    if (auth_answer_check(answer, key, hello, confirm)) {
        err_set(e, "the runner at %s:%d did not prove the run's launch key", host, port);
        goto fail;
    }
    if (write_full(fd, confirm, sizeof confirm, e)) goto fail;
    auth_session_key(sk, key, hello, answer);
    int rc = seal_open(fd, s, sk, 1, end, e);
    sodium_memzero(sk, sizeof sk);
    if (!rc) return fd;
fail:
    close(fd);
    return -1;
}

int ctl_tcp_accept(int fd, const uint8_t key[AUTH_KEY_BYTES], int n, int *id, CtlSeal *s, double timeout_s,
                   Err *e) {
    double end = time_now() + timeout_s;
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], confirm[AUTH_CONFIRM_BYTES], sk[AUTH_KEY_BYTES];
    int to;
    unsigned flags;
    tcp_tune(fd);
    if (read_full(fd, hello, sizeof hello, end, "hello", e) || auth_hello_parse(hello, id, &to, &flags, e)) return -1;
    if (to != (int)CTL_TCP_RUNNER_ID || !(flags & AUTH_FLAG_ON) || *id < 0 || *id >= n) {
        err_set(e, "a hello that is not an agent's to the runner (from %d to %d, flags %u)", *id, to, flags);
        return -1;
    }
    auth_answer_make(answer, key, hello);
    if (write_full(fd, answer, sizeof answer, e) || read_full(fd, confirm, sizeof confirm, end, "confirm", e))
        return -1;
    if (auth_confirm_check(confirm, key, hello, answer)) { err_set(e, "wrong proof of the launch key"); return -1; }
    auth_session_key(sk, key, hello, answer);
    int rc = seal_open(fd, s, sk, 0, end, e);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

static int record_push(int fd, CtlSeal *s, const void *buf, size_t len, unsigned char tag, Err *e) {
    if (len > CTL_TCP_RECORD_MAX) { err_set(e, "control record of %zu bytes is too long", len); return -1; }
    uint8_t *c = xmalloc(4 + len + SEAL_EXTRA);
    unsigned long long clen;
    crypto_secretstream_xchacha20poly1305_push(&s->tx, c + 4, &clen, buf, len, NULL, 0, tag);
    put_u32(c, (uint32_t)clen);
    int rc = write_full(fd, c, 4 + (size_t)clen, e);
    free(c);
    return rc;
}

int ctl_tcp_write(int fd, CtlSeal *s, const void *buf, size_t len, Err *e) {
    return record_push(fd, s, buf, len, 0, e);
}

int ctl_tcp_end(int fd, CtlSeal *s, Err *e) {
    return record_push(fd, s, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL, e);
}

int ctl_tcp_beat(int fd, CtlSeal *s, Err *e) {
    return record_push(fd, s, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_PUSH, e);
}

long ctl_tcp_read(int fd, CtlSeal *s, uint8_t *buf, double timeout_s, Err *e) {
    double end = time_now() + timeout_s;
    uint8_t lb[4];
    if (read_full(fd, lb, 4, end, "control connection", e)) return -1;
    uint32_t clen = get_u32(lb);
    if (clen < SEAL_EXTRA || clen > CTL_TCP_RECORD_MAX + SEAL_EXTRA) {
        err_set(e, "control connection: a record of %u bytes (not a sealed record)", clen);
        return -1;
    }
    uint8_t *c = xmalloc(clen);
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    int rc = read_full(fd, c, clen, end, "control connection", e);
    if (!rc && crypto_secretstream_xchacha20poly1305_pull(&s->rx, buf, &mlen, &tag, c, clen, NULL, 0)) {
        err_set(e, "control connection: a forged, replayed or reordered record");
        rc = -1;
    }
    free(c);
    if (rc) return -1;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) return 0;
    if (!mlen && tag == crypto_secretstream_xchacha20poly1305_TAG_PUSH) return CTL_TCP_BEAT;
    if (!mlen) { err_set(e, "control connection: an empty record that is not the end"); return -1; }
    return (long)mlen;
}
