// The control channel over TCP: the launch-key handshake succeeds only when both ends hold the key
// and the claimed id is in range; sealed records arrive intact, and a flipped bit, a replayed record or
// a connection cut without the end record are errors, not data.
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctl_tcp.h"

typedef struct {
    int lfd, fd, id, n, rc;
    uint8_t key[AUTH_KEY_BYTES];
    CtlSeal seal;
    Err e;
} Side;

static void *runner_side(void *arg) {
    Side *s = arg;
    s->fd = accept(s->lfd, NULL, NULL);
    s->rc = ctl_tcp_accept(s->fd, s->key, s->n, &s->id, &s->seal, 5.0, &s->e);
    return NULL;
}

static int listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port = ntohs(a.sin_port);
    return fd;
}

// Handshake agent `id` holding agent_key with a runner holding runner_key; the agent's socket (or -1).
static int handshake(Side *r, const uint8_t *agent_key, int id, CtlSeal *aseal, Err *e) {
    int port;
    r->lfd = listener(&port);
    pthread_t t;
    pthread_create(&t, NULL, runner_side, r);
    int fd = ctl_tcp_connect("127.0.0.1", port, agent_key, id, aseal, 5.0, e);
    if (fd < 0) shutdown(r->lfd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(r->lfd);
    return fd;
}

Test(ctl_tcp, records_both_ways) {
    Side r = {.n = 4};
    auth_random(r.key, sizeof r.key);
    CtlSeal as;
    Err e = {{0}};
    int fd = handshake(&r, r.key, 3, &as, &e);
    cr_assert_geq(fd, 0, "%s", e.msg);
    cr_assert_eq(r.rc, 0, "%s", r.e.msg);
    cr_assert_eq(r.id, 3);
    uint8_t buf[CTL_TCP_RECORD_MAX];
    cr_assert_eq(ctl_tcp_write(fd, &as, "hello runner", 12, &e), 0);
    cr_assert_eq(ctl_tcp_read(r.fd, &r.seal, buf, 5.0, &e), 12);
    cr_assert_eq(memcmp(buf, "hello runner", 12), 0);
    cr_assert_eq(ctl_tcp_write(r.fd, &r.seal, "go", 2, &e), 0);
    cr_assert_eq(ctl_tcp_read(fd, &as, buf, 5.0, &e), 2);
    cr_assert_eq(ctl_tcp_end(fd, &as, &e), 0);
    cr_assert_eq(ctl_tcp_read(r.fd, &r.seal, buf, 5.0, &e), 0, "the end record is a clean end");
    close(fd), close(r.fd);
}

Test(ctl_tcp, wrong_key_or_id_refused) {
    Side r = {.n = 4};
    auth_random(r.key, sizeof r.key);
    uint8_t other[AUTH_KEY_BYTES];
    auth_random(other, sizeof other);
    CtlSeal as;
    Err e = {{0}};
    cr_assert_eq(handshake(&r, other, 1, &as, &e), -1);
    cr_assert(strstr(e.msg, "did not prove"), "%s", e.msg);
    cr_assert_eq(r.rc, -1);
    close(r.fd);
    Side r2 = {.n = 4};
    memcpy(r2.key, r.key, sizeof r.key);
    Err e2 = {{0}};
    int fd = handshake(&r2, r.key, 4, &as, &e2);   // id 4 of 4 agents: no such agent
    cr_assert_eq(r2.rc, -1);
    cr_assert(strstr(r2.e.msg, "not an agent's"), "%s", r2.e.msg);
    if (fd >= 0) close(fd);
    close(r2.fd);
}

// A record as it travels: taken off the wire by the test, altered, and fed to the reader.
Test(ctl_tcp, forged_replayed_cut) {
    Side r = {.n = 2};
    auth_random(r.key, sizeof r.key);
    CtlSeal as;
    Err e = {{0}};
    int fd = handshake(&r, r.key, 0, &as, &e);
    cr_assert_geq(fd, 0, "%s", e.msg);
    uint8_t wire[256], buf[CTL_TCP_RECORD_MAX];
    cr_assert_eq(ctl_tcp_write(fd, &as, "metrics", 7, &e), 0);
    size_t len = 4 + 7 + crypto_secretstream_xchacha20poly1305_ABYTES;
    cr_assert_eq(recv(r.fd, wire, len, MSG_WAITALL), (ssize_t)len);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CtlSeal copy = r.seal;
    wire[8] ^= 1;
    cr_assert_eq(send(sv[0], wire, len, 0), (ssize_t)len);
    cr_assert_eq(ctl_tcp_read(sv[1], &copy, buf, 1.0, &e), -1);
    cr_assert(strstr(e.msg, "forged"), "%s", e.msg);
    wire[8] ^= 1;
    copy = r.seal;
    send(sv[0], wire, len, 0);
    send(sv[0], wire, len, 0);
    cr_assert_eq(ctl_tcp_read(sv[1], &copy, buf, 1.0, &e), 7);
    cr_assert_eq(ctl_tcp_read(sv[1], &copy, buf, 1.0, &e), -1, "a replayed record is refused");
    close(sv[0]);
    cr_assert_eq(ctl_tcp_read(sv[1], &copy, buf, 1.0, &e), -1, "a cut without the end record is an error");
    close(sv[1]), close(fd), close(r.fd);
}
