// The relay between plain control sockets and sealed TCP connections (see ctl_tcp.h): one thread
// polls every pair; plain bytes become sealed records, records become plain bytes again.
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctl_tcp.h"

// A peer whose record stalls this long mid-way is taken for gone.
#define RECORD_WAIT_S 30.0

struct CtlRelay {
    pthread_t thread;
    CtlRelayPair *p;
    int n;
    int wake[2];            // ctl_relay_stop writes here
    int *plain_open;        // per pair: still reading its plain side
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ended;              // pairs whose TCP side ended
};

static void pair_end(CtlRelay *r, int k, const char *why) {
    CtlRelayPair *p = &r->p[k];
    str_copy(p->why, sizeof p->why, why);
    if (p->plain >= 0) close(p->plain);
    if (p->tcp >= 0) close(p->tcp);
    p->plain = p->tcp = -1;
    r->plain_open[k] = 0;
    if (p->on_end) p->on_end(p);
    pthread_mutex_lock(&r->mu);
    r->ended++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void plain_to_tcp(CtlRelay *r, int k, uint8_t *buf) {
    CtlRelayPair *p = &r->p[k];
    ssize_t n = recv(p->plain, buf, CTL_TCP_RECORD_MAX, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Err e = {{0}};
    if (n > 0) {
        if (ctl_tcp_write(p->tcp, &p->seal, buf, (size_t)n, &e)) pair_end(r, k, e.msg);
        return;
    }
    // This end finished: say so in the stream, and keep reading the other way until it ends too.
    r->plain_open[k] = 0;
    if (ctl_tcp_end(p->tcp, &p->seal, &e)) pair_end(r, k, e.msg);
    else shutdown(p->tcp, SHUT_WR);
}

static void tcp_to_plain(CtlRelay *r, int k, uint8_t *buf) {
    CtlRelayPair *p = &r->p[k];
    Err e = {{0}};
    long n = ctl_tcp_read(p->tcp, &p->seal, buf, RECORD_WAIT_S, &e);
    if (n > 0 || n == CTL_TCP_BEAT) {
        pthread_mutex_lock(&r->mu);
        p->quiet_s = 0;
        pthread_mutex_unlock(&r->mu);
    }
    if (n == CTL_TCP_BEAT) return;
    if (n <= 0) { pair_end(r, k, n == 0 ? "closed" : e.msg); return; }
    size_t off = 0;
    while (off < (size_t)n && p->plain >= 0) {
        ssize_t w = send(p->plain, buf + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {   // nobody reads this end any more: the other side is gone
            pair_end(r, k, "its local end closed");
            return;
        }
        off += (size_t)w;
    }
}

// Heartbeats due on every pair that sends them; the time of the next ones (0: no pair sends any).
static double beats_send(CtlRelay *r, double next) {
    double now = time_now(), every = 0;
    for (int k = 0; k < r->n; k++)
        if (r->p[k].beat_s > 0 && r->p[k].tcp >= 0 && (every == 0 || r->p[k].beat_s < every)) every = r->p[k].beat_s;
    if (every == 0 || now < next) return every == 0 ? 0 : next;
    for (int k = 0; k < r->n; k++) {
        Err e = {{0}};
        if (r->p[k].beat_s > 0 && r->p[k].tcp >= 0 && ctl_tcp_beat(r->p[k].tcp, &r->p[k].seal, &e))
            pair_end(r, k, e.msg);
    }
    return now + every;
}

// dt seconds spent waiting, ready to read: quiet time for every pair whose TCP side had nothing.
static void quiet_add(CtlRelay *r, const struct pollfd *pf, const int *who, int m, double dt) {
    pthread_mutex_lock(&r->mu);
    for (int q = 1; q < m; q++)
        if (who[q] < 0 && !pf[q].revents) r->p[-1 - who[q]].quiet_s += dt;
    pthread_mutex_unlock(&r->mu);
}

static void *relay_main(void *arg) {
    CtlRelay *r = arg;
    struct pollfd *pf = xcalloc((size_t)(2 * r->n + 1), sizeof *pf);
    int *who = xcalloc((size_t)(2 * r->n + 1), sizeof(int));
    uint8_t *buf = xmalloc(CTL_TCP_RECORD_MAX);
    double next_beat = 0;
    for (;;) {
        next_beat = beats_send(r, next_beat);
        int m = 0;
        pf[m++] = (struct pollfd){r->wake[0], POLLIN, 0};
        for (int k = 0; k < r->n; k++) {
            if (r->p[k].tcp < 0) continue;
            if (r->plain_open[k]) { who[m] = k; pf[m++] = (struct pollfd){r->p[k].plain, POLLIN, 0}; }
            who[m] = -1 - k;
            pf[m++] = (struct pollfd){r->p[k].tcp, POLLIN, 0};
        }
        if (m == 1) break;
        // At least once a second, so that a pair's quiet time grows while nothing comes at all.
        int wait_ms = next_beat > 0 ? (int)((next_beat - time_now()) * 1e3) + 1 : 1000;
        double t_poll = time_now();
        if (poll(pf, (nfds_t)m, wait_ms < 0 ? 0 : wait_ms > 1000 ? 1000 : wait_ms) < 0 && errno != EINTR) break;
        if (pf[0].revents) break;
        quiet_add(r, pf, who, m, time_now() - t_poll);
        for (int q = 1; q < m; q++) {
            if (!pf[q].revents) continue;
            int k = who[q] >= 0 ? who[q] : -1 - who[q];
            if (r->p[k].tcp < 0) continue;
            if (who[q] >= 0) plain_to_tcp(r, k, buf);
            else tcp_to_plain(r, k, buf);
        }
    }
    free(pf), free(who), free(buf);
    return NULL;
}

CtlRelay *ctl_relay_start(CtlRelayPair *pairs, int n, Err *e) {
    CtlRelay *r = xcalloc(1, sizeof *r);
    r->p = pairs;
    r->n = n;
    r->plain_open = xcalloc((size_t)n, sizeof(int));
    for (int k = 0; k < n; k++) r->plain_open[k] = pairs[k].plain >= 0, pairs[k].quiet_s = 0;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pipe2(r->wake, O_CLOEXEC) || pthread_create(&r->thread, NULL, relay_main, r)) {
        err_set(e, "cannot start the control relay: %s", strerror(errno));
        free(r->plain_open);
        free(r);
        return NULL;
    }
    return r;
}

double ctl_relay_quiet(CtlRelay *r, int k) {
    pthread_mutex_lock(&r->mu);
    double t = r->p[k].quiet_s;
    pthread_mutex_unlock(&r->mu);
    return t;
}

int ctl_relay_wait(CtlRelay *r, double timeout_s) {
    double end = time_now() + timeout_s;
    pthread_mutex_lock(&r->mu);
    while (r->ended < r->n) {
        if (timeout_s < 0) { pthread_cond_wait(&r->cv, &r->mu); continue; }
        double left = end - time_now();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)((left - (long)left) * 1e9);
        ts.tv_sec += (time_t)left + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    int all = r->ended >= r->n;
    pthread_mutex_unlock(&r->mu);
    return all;
}

void ctl_relay_stop(CtlRelay *r) {
    if (!r) return;
    if (write(r->wake[1], "x", 1) != 1) {}
    pthread_join(r->thread, NULL);
    for (int k = 0; k < r->n; k++) {
        if (r->p[k].plain >= 0) close(r->p[k].plain);
        if (r->p[k].tcp >= 0) close(r->p[k].tcp);
        r->p[k].plain = r->p[k].tcp = -1;
    }
    close(r->wake[0]), close(r->wake[1]);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->plain_open);
    free(r);
}
