// Heartbeats on the sealed control channel: a beat record is neither data nor an end, and a relay whose
// peer beats keeps its quiet time near zero, while one whose peer is silent sees it grow: what the runner
// uses to take a stopped host's agents for lost (runtime/launch_rdv.c).
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctl_tcp.h"

typedef struct {
    int lfd, fd, id, rc;
    uint8_t key[AUTH_KEY_BYTES];
    CtlSeal seal;
    Err e;
} Runner;

static void *runner_accept(void *arg) {
    Runner *s = arg;
    s->fd = accept(s->lfd, NULL, NULL);
    s->rc = ctl_tcp_accept(s->fd, s->key, 1, &s->id, &s->seal, 5.0, &s->e);
    return NULL;
}

// A handshaken connection over loopback: the agent's socket and seal, and the runner's in r.
static int connected(Runner *r, CtlSeal *aseal) {
    auth_random(r->key, sizeof r->key);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof a;
    cr_assert_eq(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(r->lfd, 1), 0);
    getsockname(r->lfd, (struct sockaddr *)&a, &sl);
    pthread_t t;
    pthread_create(&t, NULL, runner_accept, r);
    Err e = {{0}};
    int fd = ctl_tcp_connect("127.0.0.1", ntohs(a.sin_port), r->key, 0, aseal, 5.0, &e);
    pthread_join(t, NULL);
    close(r->lfd);
    cr_assert_geq(fd, 0, "%s", e.msg);
    cr_assert_eq(r->rc, 0, "%s", r->e.msg);
    return fd;
}

Test(ctl_beat, a_beat_is_neither_data_nor_end) {
    Runner r;
    CtlSeal as;
    int fd = connected(&r, &as);
    uint8_t buf[CTL_TCP_RECORD_MAX];
    Err e = {{0}};
    cr_assert_eq(ctl_tcp_beat(fd, &as, &e), 0);
    cr_assert_eq(ctl_tcp_write(fd, &as, "after", 5, &e), 0);
    cr_assert_eq(ctl_tcp_read(r.fd, &r.seal, buf, 2.0, &e), CTL_TCP_BEAT);
    cr_assert_eq(ctl_tcp_read(r.fd, &r.seal, buf, 2.0, &e), 5, "the record after a beat: %s", e.msg);
    cr_assert_eq(memcmp(buf, "after", 5), 0);
    close(fd), close(r.fd);
}

// The agent's relay beats every beat_s (0: never); after 1.5 s, the runner's relay's quiet time.
static double quiet_after(double beat_s) {
    Runner r;
    CtlSeal as;
    int fd = connected(&r, &as);
    int pa[2], pr[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pa);
    socketpair(AF_UNIX, SOCK_STREAM, 0, pr);
    CtlRelayPair agent = {.plain = pa[1], .tcp = fd, .seal = as, .beat_s = beat_s};
    CtlRelayPair runner = {.plain = pr[1], .tcp = r.fd, .seal = r.seal};
    Err e = {{0}};
    CtlRelay *ra = ctl_relay_start(&agent, 1, &e), *rr = ctl_relay_start(&runner, 1, &e);
    cr_assert(ra && rr, "%s", e.msg);
    usleep(1500000);
    double q = ctl_relay_quiet(rr, 0);
    cr_assert_eq(runner.why[0], 0, "the connection ended: %s", runner.why);
    ctl_relay_stop(ra), ctl_relay_stop(rr);
    close(pa[0]), close(pr[0]);
    return q;
}

Test(ctl_beat, quiet_time_grows_only_without_beats) {
    double beating = quiet_after(0.2), silent = quiet_after(0);
    cr_assert_lt(beating, 0.6, "a peer beating every 0.2 s looked quiet for %.2f s", beating);
    cr_assert_geq(silent, 1.0, "a silent peer looked quiet for only %.2f s of 1.5", silent);
}
