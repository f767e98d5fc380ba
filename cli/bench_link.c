// `meshtrain bench link`: one shaped link measured end to end through a link backend. Two processes
// in their own namespaces (A and B); A->B gets the configured netem, B->A none. UDP probes give
// one-way delay and loss both ways (one clock: same kernel), TCP gives throughput, and an optional
// scheduled change shows when it took effect. With --hosts, A and B are on two emulated hosts (network
// namespaces) joined by the overlay launched runs use (netem/overlay.c).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "backend.h"
#include "common.h"
#include "probe.h"
#include "uml.h"

static const char *USAGE =
    "meshtrain bench link [--delay-ms D] [--jitter-ms J] [--jitter-dist uniform|normal|pareto|paretonormal]\n"
    "                         [--loss-pct P] [--rate-mbit R] [--backend auto|kernel|uml] [--probes N] [--interval-ms "
    "I]\n"
    "                         [--seconds S] [--change-at S --change-delay-ms D2] [--hosts NS_A=IP_A,NS_B=IP_B] "
    "[--json]";

#define UDP_PORT 9000
#define TCP_PORT 9001

typedef struct {
    LinkParams link;
    int probes;
    double interval_s, tcp_s, change_at_s, change_delay_ms;
    int json;
    const char *hosts;         // --hosts: each side's host namespace (a path) and host address, or NULL
    char host_ns[2][256], host_ip[2][64];
} LinkBench;

typedef struct { uint32_t seq; uint32_t pad; double sent; } Probe;

static void sleep_until(double t) {
    for (;;) {
        double d = t - time_now();
        if (d <= 0) return;
        struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

// UDP datagrams this namespace dropped because a receive buffer was full (/proc/net/snmp, RcvbufErrors).
static long long udp_rcvbuf_errors(void) {
    FILE *f = fopen("/proc/self/net/snmp", "r");
    char names[1024], vals[1024];
    long long v = -1;
    while (f && fgets(names, sizeof names, f) && fgets(vals, sizeof vals, f)) {
        if (strncmp(names, "Udp:", 4) || strncmp(vals, "Udp:", 4)) continue;
        char *sn, *sv, *n = strtok_r(names + 4, " \n", &sn), *x = strtok_r(vals + 4, " \n", &sv);
        for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
            if (!strcmp(n, "RcvbufErrors")) v = atoll(x);
        break;
    }
    if (f) fclose(f);
    return v;
}

// Send b->probes probes to `peer` from t0 on, while recording those the peer sends us; then report
// (as JSON on out_fd) the one-way delays of what we received.
static void probes_run(const LinkBench *b, const char *self_ip, const char *peer_ip, double t0, int out_fd) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)}, to = me;
    inet_pton(AF_INET, self_ip, &me.sin_addr);
    inet_pton(AF_INET, peer_ip, &to.sin_addr);
    // Room for a second of probes while this side is not scheduled (a busy guest): SO_RCVBUF alone is
    // capped by net.core.rmem_max (about 200 KB, a few hundred probes), FORCE is not (root).
    int big = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fd, (struct sockaddr *)&me, sizeof me)) {
        dprintf(out_fd, "{\"error\":\"bind %s: %s\"}", self_ip, strerror(errno));
        return;
    }
    double *delay = xcalloc((size_t)b->probes, sizeof(double)), *sent_at = xcalloc((size_t)b->probes, sizeof(double));
    for (int k = 0; k < b->probes; k++) delay[k] = -1;
    // Every probe is sent, however late (a side that fell behind its schedule still sends the rest, so
    // none counts as lost unsent), and this side listens until the peer's probes have stopped coming for
    // `grace` (the peer may be behind its schedule too: a busy guest runs the two sides in turns).
    double grace = 4 * (b->link.delay_ms + 4 * b->link.jitter_ms) / 1e3 + 1.0;
    double end = t0 + b->probes * b->interval_s + grace, last_rx = 0;
    int next = 0;
    for (;;) {
        double now = time_now();
        if (now >= end && next == b->probes && now - last_rx >= grace) break;
        double due = next < b->probes ? t0 + next * b->interval_s : end;
        if (now >= due && next < b->probes) {
            Probe p = {(uint32_t)next, 0, now};
            sendto(fd, &p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
            if (++next == b->probes && now + grace > end) end = now + grace;
            due = next < b->probes ? t0 + next * b->interval_s : end;
        }
        // Sleep until the next send is due (to the nanosecond: a busy loop here would keep the other
        // side off the only core of User-Mode Linux and add its time slice to the delays measured),
        // then take every probe that arrived: a side that falls behind its sends (a busy guest, short
        // intervals) still receives, and its socket never overflows into losses netem did not make.
        struct pollfd pf = {fd, POLLIN, 0};
        double wait = (next < b->probes ? due : fmax(end, last_rx + grace)) - time_now();
        if (wait < 0) wait = 0;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        if (ppoll(&pf, 1, &ts, NULL) != 1) continue;
        Probe p;
        for (ssize_t r; (r = recv(fd, &p, sizeof p, MSG_DONTWAIT)) >= 0;) {
            double at = last_rx = time_now();
            if (r == (ssize_t)sizeof p && p.seq < (uint32_t)b->probes && delay[p.seq] < 0) {
                delay[p.seq] = (at - p.sent) * 1e3;
                sent_at[p.seq] = p.sent - t0;
            }
        }
    }
    json_t *d = json_array(), *s = json_array();
    for (int k = 0; k < b->probes; k++) {
        json_array_append_new(d, json_real(delay[k]));
        json_array_append_new(s, json_real(delay[k] < 0 ? -1 : sent_at[k]));
    }
    json_t *o = json_pack("{s:o, s:o, s:I}", "delay_ms", d, "sent_s", s, "rcvbuf_drops", udp_rcvbuf_errors());
    char *t = json_dumps(o, JSON_COMPACT);
    size_t len = strlen(t), off = 0;
    while (off < len) { ssize_t w = write(out_fd, t + off, len - off); if (w <= 0) break; off += (size_t)w; }
    free(t);
    json_decref(o);
    close(fd);
    free(delay);
    free(sent_at);
}

// A: send as fast as TCP allows for tcp_s seconds. B: count what arrives after a one-second warm-up.
static void tcp_run(const LinkBench *b, int sender, const char *self_ip, const char *peer_ip, double t0, int out_fd) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, sender ? SO_SNDBUF : SO_RCVBUF, &big, sizeof big);
    static char buf[1 << 16];
    if (!sender) {
        inet_pton(AF_INET, self_ip, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1)) {
            dprintf(out_fd, "{\"error\":\"listen: %s\"}", strerror(errno));
            return;
        }
        dprintf(out_fd, "L");   // listening: the runner may start A
        int c = accept(fd, NULL, NULL);
        int mss = 0;
        socklen_t ml = sizeof mss;
        getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml);
        double warm = time_now() + 1.0, t_first = 0, t_last = 0;
        long long bytes = 0;
        for (;;) {
            ssize_t r = recv(c, buf, sizeof buf, 0);
            if (r <= 0) break;
            double now = time_now();
            if (now >= warm) { if (!t_first) t_first = now; else bytes += r; t_last = now; }
        }
        double secs = t_last - t_first;
        dprintf(out_fd, "{\"goodput_mbit\":%.6f,\"mss\":%d,\"seconds\":%.3f}", secs > 0 ? bytes * 8 / secs / 1e6 : 0,
                mss, secs);
        close(c);
    } else {
        sleep_until(t0);
        inet_pton(AF_INET, peer_ip, &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
            dprintf(out_fd, "{\"error\":\"connect: %s\"}", strerror(errno));
            return;
        }
        double end = time_now() + b->tcp_s;
        while (time_now() < end)
            if (send(fd, buf, sizeof buf, MSG_NOSIGNAL) < 0) break;
        dprintf(out_fd, "{}");
    }
    close(fd);
}

typedef struct { pid_t pid; int res[2], go[2]; } Side;

// What a side wrote that was read but not yet handed out (per pipe), so reads can be large.
typedef struct { int fd; char *buf; size_t len, cap; } SideIn;

// Everything up to and including `stop` (0: until the pipe closes), within timeout_s. Caller frees.
static char *side_read(SideIn *in, double timeout_s, int stop) {
    double end = time_now() + timeout_s;
    for (;;) {
        char *hit = stop ? memchr(in->buf, stop, in->len) : NULL;
        if (hit) {
            size_t k = (size_t)(hit - in->buf) + 1;
            char *t = xmalloc(k + 1);
            memcpy(t, in->buf, k);
            t[k] = 0;
            memmove(in->buf, in->buf + k, in->len - k);
            in->len -= k;
            return t;
        }
        struct pollfd pf = {in->fd, POLLIN, 0};
        int ms = (int)((end - time_now()) * 1e3);
        if (ms <= 0 || poll(&pf, 1, ms) != 1) break;
        if (in->len + 65536 > in->cap) {
            in->cap = 2 * in->cap + 65536;
            in->buf = realloc(in->buf, in->cap);
            if (!in->buf) abort();
        }
        ssize_t r = read(in->fd, in->buf + in->len, in->cap - in->len - 1);
        if (r <= 0) break;
        in->len += (size_t)r;
    }
    char *t = xmalloc(in->len + 1);   // timeout or end of file: whatever came
    memcpy(t, in->buf, in->len);
    t[in->len] = 0;
    in->len = 0;
    return t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Delay statistics of one direction, and (when change_at > 0) when the new delay first showed.
static json_t *direction_stats(const char *text, const LinkBench *b, double configured_delay, double change_delay,
                               Err *e) {
    json_t *o = json_loads(text, 0, NULL);
    json_t *d = o ? json_object_get(o, "delay_ms") : NULL, *s = o ? json_object_get(o, "sent_s") : NULL;
    if (!d || !json_is_array(d)) {
        json_t *err = o ? json_object_get(o, "error") : NULL;
        err_set(e, "a probe side failed: %s", err ? json_string_value(err) : text[0] ? text : "(no output)");
        json_decref(o);
        return NULL;
    }
    int n = (int)json_array_size(d), got = 0;
    double *v = xmalloc((size_t)n * sizeof(double)), sum = 0, sq = 0, effect = -1;
    for (int k = 0; k < n; k++) {
        double x = json_number_value(json_array_get(d, (size_t)k)), t = json_number_value(json_array_get(s, (size_t)k));
        if (x < 0) continue;
        if (b->change_at_s > 0 && t >= b->change_at_s) {
            // After the change, only probes sent before it showed keep the old delay; the first with
            // the new one (within 2 ms + 5%) dates the change.
            if (effect < 0 && fabs(x - change_delay) <= 2 + 0.05 * change_delay) effect = (t - b->change_at_s) * 1e3;
            continue;
        }
        v[got++] = x;
        sum += x;
        sq += x * x;
    }
    qsort(v, (size_t)got, sizeof(double), cmp_double);
    int sent = 0;
    for (int k = 0; k < n; k++)
        sent += !(b->change_at_s > 0 && json_number_value(json_array_get(s, (size_t)k)) >= b->change_at_s);
    if (b->change_at_s > 0) sent = (int)(b->change_at_s / b->interval_s);
    if (sent > n) sent = n;
    int lost = sent - got;
    if (lost < 0) lost = 0;
    double mean = got ? sum / got : 0, sd = got > 1 ? sqrt(fmax(0, (sq - got * mean * mean) / (got - 1))) : 0;
    double p = sent ? (double)lost / sent : 0, z = 1.96;
    // Wilson score interval of the loss probability (95%).
    double den = 1 + z * z / sent, mid = (p + z * z / (2.0 * sent)) / den;
    double half = z * sqrt(p * (1 - p) / sent + z * z / (4.0 * sent * sent)) / den;
    json_t *r =
        json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:f, s:f, s:f}", "configured_delay_ms",
                  configured_delay, "delay_mean_ms", mean, "delay_median_ms", got ? v[got / 2] : 0, "delay_min_ms",
                  got ? v[0] : 0, "delay_p99_ms", got ? v[(int)(0.99 * (got - 1))] : 0, "delay_sd_ms", sd, "loss_pct",
                  100 * p, "probes", sent, "lost", lost, "loss_ci95_low_pct", 100 * fmax(0, mid - half),
                  "loss_ci95_high_pct", 100 * fmin(1, mid + half), "delay_max_ms", got ? v[got - 1] : 0);
    if (b->change_at_s > 0) json_object_set_new(r, "change_effect_ms", json_real(effect));
    // Probes the receiver's own socket dropped (a full buffer): lost, but not by the link.
    json_object_set(r, "receiver_rcvbuf_drops", json_object_get(o, "rcvbuf_drops"));
    free(v);
    json_decref(o);
    return r;
}

static void side_kill(Side *s) {
    if (s->pid > 0) { kill(s->pid, SIGKILL); waitpid(s->pid, NULL, 0); s->pid = 0; }
}

// The two ends of the measured link, A (0) and B (1): each a process in its own namespace, wired by
// the kernel backend; B->A gets a qdisc too but stays unshaped (delay 0), so both directions compare.
typedef struct {
    const LinkBench *b;
    NetEmu ne;
    pid_t pids[2];
    LinkParams link[4];
    unsigned char shaped[4];
    Side side[2];
    SideIn in[2];
    char ip[2][32];
    double setup_s;   // namespaces, veths and qdiscs
    char underlay[2][64];   // --hosts: the sides' host addresses, and their overlay specs
    char *spec[2];
} LinkRig;

static void rig_init(LinkRig *g, const LinkBench *b) {
    memset(g, 0, sizeof *g);
    g->b = b;
    g->ne.ops = &backend_kernel;
    g->ne.n = 2;
    LinkParams link[4] = {{.up = 1}, b->link, {.up = 1}, {.up = 1}};
    unsigned char shaped[4] = {0, 1, 1, 0};
    memcpy(g->link, link, sizeof link);
    memcpy(g->shaped, shaped, sizeof shaped);
    g->ne.pids = g->pids;
    g->ne.link = g->link;
    g->ne.shaped = g->shaped;
    for (int i = 0; i < 2; i++) backend_addr(&backend_kernel, i, g->ip[i], sizeof g->ip[i]);
    if (!b->hosts) return;
    g->ne.ops = &backend_overlay;
    g->ne.underlay = g->underlay;
    for (int i = 0; i < 2; i++) str_copy(g->underlay[i], sizeof g->underlay[i], b->host_ip[i]);
}

// --hosts: side i enters its host's namespace, then joins the overlay as a launched agent does. 0, or -1.
static int rig_side_host(LinkRig *g, int i) {
    int fd = open(g->b->host_ns[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        dprintf(2, "meshtrain bench link: cannot enter host namespace %s: %s\n", g->b->host_ns[i], strerror(errno));
        return -1;
    }
    close(fd);
    char addr[32];
    Err e = {{0}};
    if (overlay_join(g->spec[i], addr, sizeof addr, &e)) {
        dprintf(2, "meshtrain bench link: side %c on %s: %s\n", 'A' + i, g->b->host_ip[i], e.msg);
        return -1;
    }
    return 0;
}

// Side i, in the child: enter its namespace, say so on entered_fd, then probes and (A) the throughput test.
__attribute__((noreturn)) static void rig_side_main(LinkRig *g, int i, int entered_fd) {
    const LinkBench *b = g->b;
    Side *sd = &g->side[i];
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);
    close(sd->res[0]);
    close(sd->go[1]);
    char ok = (b->hosts ? rig_side_host(g, i) : backend_kernel.child_enter(&g->ne, i)) == 0 ? 'y' : 'n';
    if (write(entered_fd, &ok, 1) != 1 || ok != 'y') _exit(1);
    double t0;   // the runner sends the start time once the links exist
    if (read(sd->go[0], &t0, sizeof t0) != sizeof t0) _exit(1);
    if (i == 1) dprintf(sd->res[1], "R");   // B ready for probes right away
    probes_run(b, g->ip[i], g->ip[1 - i], t0, sd->res[1]);
    dprintf(sd->res[1], "\n");
    double t1 = 0;   // B listens at once; A starts when the runner has seen B listening
    if (i == 0 && read(sd->go[0], &t1, sizeof t1) != sizeof t1) _exit(1);
    if (b->tcp_s > 0) tcp_run(b, i == 0, g->ip[i], g->ip[1 - i], t1, sd->res[1]);
    // --hosts: A's host hub goes with A, and with it what A's netem still holds (its FIN): A stays until the end.
    for (char c; i == 0 && b->hosts && read(sd->go[0], &c, 1) > 0;) {}
    _exit(0);
}

// Open the backend, start both sides, wire their link once both are in their namespaces. 0, or -1 and e.
static int rig_start(LinkRig *g, Err *e) {
    double t_setup = time_now();
    if (g->b->hosts) {
        if (backend_overlay.open(&g->ne, e)) return -1;
        for (int i = 0; i < 2; i++) g->spec[i] = overlay_spec(&g->ne, i);
    } else if (backend_kernel.open(&g->ne, e)) return -1;
    int entered[2];
    if (pipe(entered)) { err_set(e, "pipe: %s", strerror(errno)); backend_kernel.close(&g->ne); return -1; }
    for (int i = 0; i < 2; i++) {
        Side *sd = &g->side[i];
        if (pipe(sd->res) || pipe(sd->go)) { err_set(e, "pipe: %s", strerror(errno)); return -1; }
        sd->pid = fork();
        if (sd->pid == 0) rig_side_main(g, i, entered[1]);
        close(sd->res[1]);
        close(sd->go[0]);
        g->pids[i] = sd->pid;
        g->in[i] = (SideIn){sd->res[0], NULL, 0, 0};
    }
    close(entered[1]);
    char ok[2] = {0, 0};
    int rc = -1;
    ssize_t got = 0, r;
    while (got < 2 && (r = read(entered[0], ok + got, (size_t)(2 - got))) > 0) got += r;
    if (got != 2 || ok[0] != 'y' || ok[1] != 'y') err_set(e, "cannot create the two namespaces");
    else if (g->b->hosts) {   // each side wired itself; a change is applied from here, into side A's namespace
        g->ne.nsfd = xmalloc(2 * sizeof(int));
        for (int i = 0; i < 2; i++) g->ne.nsfd[i] = ns_open(g->pids[i], e);
        rc = g->ne.nsfd[0] >= 0 && g->ne.nsfd[1] >= 0 ? 0 : -1;
    } else if (!backend_kernel.wire(&g->ne, e)) rc = 0;
    close(entered[0]);
    g->setup_s = time_now() - t_setup;
    return rc;
}

// --change-at-s: arm the new delay ahead, apply it on time; how late it took effect (ms).
static double rig_change(LinkRig *g, double t0, int *rc, Err *e) {
    const LinkBench *b = g->b;
    LinkChange c = {b->change_at_s, 0, 1, b->link};
    c.p.delay_ms = b->change_delay_ms;
    if (backend_kernel.arm(&g->ne, &c, 1, e)) *rc = -1;
    sleep_until(t0 + b->change_at_s);
    if (!*rc && backend_kernel.apply(&g->ne, &c, 1, e)) *rc = -1;
    return (time_now() - t0 - b->change_at_s) * 1e3;
}

// Both sides' probe reports, as each direction's statistics. 0, or -1 (and e) when either is missing.
static int rig_probes_collect(LinkRig *g, int rc, json_t **ab, json_t **ba, Err *e) {
    const LinkBench *b = g->b;
    double probe_s = b->probes * b->interval_s + 4 * (b->link.delay_ms + 4 * b->link.jitter_ms) / 1e3 + 1.0 + 30;
    char *r0 = side_read(&g->in[0], probe_s, '\n');
    char *r1 = side_read(&g->in[1], probe_s, '\n');
    double change_delay = b->change_at_s > 0 ? b->change_delay_ms : b->link.delay_ms;
    *ab = rc ? NULL : direction_stats(r1, b, b->link.delay_ms, change_delay, e);   // B received what A sent
    *ba = *ab ? direction_stats(r0, b, 0, 0, e) : NULL;
    free(r0);
    free(r1);
    return *ab && *ba ? 0 : -1;
}

// What each direction's netem qdisc counted (packets passed on, packets dropped), read once the probes
// are in and before the throughput test: every probe A sent must show here, so a probe that bypassed
// the shaping, or a loss that netem did not make, is visible. Nothing is added if tc cannot say.
static void rig_counters(LinkRig *g, json_t *ab, json_t *ba) {
    char *st = g->ne.nsfd ? backend_kernel.stats(&g->ne) : NULL;
    json_t *arr = st ? json_loads(st, 0, NULL) : NULL;
    size_t k;
    json_t *q;
    json_array_foreach(arr, k, q) {
        int from = (int)json_integer_value(json_object_get(q, "from"));
        json_t *d = from == 0 ? ab : ba;
        json_object_set(d, "netem_packets", json_object_get(q, "packets"));
        json_object_set(d, "netem_drops", json_object_get(q, "drops"));
    }
    json_decref(arr);
    free(st);
}

// The throughput test, A to B, once B listens: B's report, or NULL (and e) if it failed.
static json_t *rig_throughput(LinkRig *g, int *rc, Err *e) {
    free(side_read(&g->in[1], 5, 'L'));
    double t1 = time_now() + 0.05;
    if (write(g->side[0].go[1], &t1, sizeof t1) != sizeof t1) *rc = -1;
    char *tb = side_read(&g->in[1], g->b->tcp_s + 30, 0);
    json_t *tcp = json_loads(tb, 0, NULL);
    if (!tcp || json_object_get(tcp, "error")) { err_set(e, "throughput test failed: %s", tb); *rc = -1; }
    free(tb);
    return tcp;
}

// The measurement as JSON: what was configured, each direction, the throughput and the change.
static json_t *result_json(const LinkRig *g, json_t *ab, json_t *ba, json_t *tcp, double change_applied,
                           const char *backend_name, const char *why) {
    const LinkBench *b = g->b;
    json_t *out = json_pack("{s:s, s:s, s:f, s:o, s:o}", "backend", backend_name, "why", why, "setup_s", g->setup_s,
                            "a_to_b", ab, "b_to_a", ba);
    char lj[400];
    link_json(&b->link, lj, sizeof lj);
    json_object_set_new(out, "configured", json_loads(lj, 0, NULL));
    if (tcp) {
        double good = json_number_value(json_object_get(tcp, "goodput_mbit"));
        int mss = (int)json_integer_value(json_object_get(tcp, "mss"));
        // netem's rate counts whole frames: payload + TCP (32 with timestamps) + IP (20) + Ethernet (14).
        double wire = mss > 0 ? good * (mss + 66.0) / mss : 0;
        json_object_set_new(tcp, "wire_mbit", json_real(wire));
        json_object_set_new(tcp, "configured_rate_mbit", json_real(b->link.rate_mbit));
        json_object_set_new(out, "throughput", tcp);
    }
    if (b->change_at_s > 0)
        json_object_set_new(out, "change", json_pack("{s:f, s:f, s:f}", "at_s", b->change_at_s, "new_delay_ms",
                                                     b->change_delay_ms, "applied_after_ms", change_applied));
    return out;
}

// Start the sides, probe both directions (and change the delay), test throughput. The result, or NULL and e.
static json_t *rig_measure(LinkRig *g, const char *backend_name, const char *why, Err *e) {
    const LinkBench *b = g->b;
    int rc = 0;
    double t0 = time_now() + 0.2;
    for (int i = 0; i < 2; i++) if (write(g->side[i].go[1], &t0, sizeof t0) != sizeof t0) rc = -1;
    free(side_read(&g->in[1], 5, 'R'));
    double change_applied = b->change_at_s > 0 ? rig_change(g, t0, &rc, e) : -1;
    json_t *ab, *ba, *tcp = NULL;
    if (rig_probes_collect(g, rc, &ab, &ba, e)) rc = -1;
    if (!rc) rig_counters(g, ab, ba);
    if (!rc && b->tcp_s > 0) tcp = rig_throughput(g, &rc, e);
    else if (!rc) for (int i = 0; i < 2; i++) close(g->side[i].go[1]);
    if (!rc) return result_json(g, ab, ba, tcp, change_applied, backend_name, why);
    json_decref(ab), json_decref(ba), json_decref(tcp);
    return NULL;
}

// The table of configured against measured values.
static void result_print(const LinkBench *b, const json_t *out, const char *backend_name, double setup_s) {
    json_t *ab = json_object_get(out, "a_to_b"), *ba = json_object_get(out, "b_to_a");
    json_t *tp = json_object_get(out, "throughput");
#define F(o, k) json_number_value(json_object_get(o, k))
    printf("link A->B through %s (setup %.3f s)\n", backend_name, setup_s);
    printf("                 configured   measured\n");
    printf("  delay ms       %10.2f   median %.2f, mean %.2f, sd %.2f, p99 %.2f\n", b->link.delay_ms,
           F(ab, "delay_median_ms"), F(ab, "delay_mean_ms"), F(ab, "delay_sd_ms"), F(ab, "delay_p99_ms"));
    printf("  loss %%         %10.2f   %.2f (95%% CI %.2f..%.2f, %d of %d probes)\n", b->link.loss_pct,
           F(ab, "loss_pct"), F(ab, "loss_ci95_low_pct"), F(ab, "loss_ci95_high_pct"), (int)F(ab, "lost"),
           (int)F(ab, "probes"));
    if (json_object_get(ab, "netem_drops"))
        printf("                              netem on A->B: %d dropped, %d passed on\n", (int)F(ab, "netem_drops"),
               (int)F(ab, "netem_packets"));
    if (tp)
        printf("  rate Mbit/s    %10.2f   %.2f on the wire (TCP goodput %.2f)\n", b->link.rate_mbit, F(tp, "wire_mbit"),
               F(tp, "goodput_mbit"));
    printf("  B->A (unshaped): delay median %.3f ms, loss %.2f%%\n", F(ba, "delay_median_ms"), F(ba, "loss_pct"));
    if (b->change_at_s > 0)
        printf("  change at %.2f s to %.1f ms: applied %.1f ms late, first seen on a probe sent %.1f ms after it\n",
               b->change_at_s, b->change_delay_ms, F(json_object_get(out, "change"), "applied_after_ms"),
               F(ab, "change_effect_ms"));
#undef F
}

// The measurement itself, with the kernel backend (on the host, or inside User-Mode Linux).
static int link_measure(const LinkBench *b, const char *backend_name, const char *why, Err *e) {
    LinkRig g;
    rig_init(&g, b);
    json_t *out = rig_start(&g, e) ? NULL : rig_measure(&g, backend_name, why, e);
    for (int i = 0; i < 2; i++) side_kill(&g.side[i]);
    backend_kernel.close(&g.ne);
    free(g.spec[0]), free(g.spec[1]);
    free(g.in[0].buf);
    free(g.in[1].buf);
    if (!out) return -1;
    if (b->json) {
        char *t = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", t);
        free(t);
    } else {
        result_print(b, out, backend_name, g.setup_s);
    }
    json_decref(out);
    return 0;
}

static int uml_reexec(const NetProbe *p, const char *what, char **args, int n_args, int agents) {
    char **av = xcalloc((size_t)n_args + 4, sizeof(char *));
    av[0] = (char *)self_exe(), av[1] = "bench", av[2] = (char *)what;
    for (int i = 0; i < n_args; i++) av[3 + i] = args[i];
    UmlJob j = {av, agents, 0};
    int status = 1;
    Err e = {{0}};
    int rc = uml_run(p, &j, &status, &e);
    free(av);
    if (rc) { fprintf(stderr, "meshtrain bench %s: %s\n", what, e.msg); return 1; }
    return status;
}

int bench_link(int argc, char **argv) {
    Args a;
    args_init(&a, "bench link", USAGE, argc, argv);
    LinkBench b = {.link = {.up = 1}, .probes = 1000, .interval_s = 0.002, .tcp_s = 3};
    const char *backend = "auto";
    char **orig = argv;
    int orig_n = argc;
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf(
                "usage: %s\n\nMeasure one link shaped by netem, configured against measured: one-way delay and loss "
                "from\n"
                "UDP probes (--probes every --interval-ms, both directions: B->A is left unshaped), throughput from\n"
                "a TCP transfer of --seconds (0: skip), and with --change-at, when a scheduled delay change took "
                "effect.\n"
                "Each direction also reports its netem qdisc's counts (packets passed, dropped): the probes lost\n"
                "should be exactly those netem dropped.\n"
                "Defaults: no delay, no loss, no rate limit, 1000 probes every 2 ms, 3 s of TCP, backend auto.\n",
                USAGE);
            return 0;
        }
        else if (args_is(&a, "--delay-ms")) b.link.delay_ms = args_float(&a, 0, 1e5);
        else if (args_is(&a, "--jitter-ms")) b.link.jitter_ms = args_float(&a, 0, 1e5);
        else if (args_is(&a, "--loss-pct")) b.link.loss_pct = args_float(&a, 0, 100);
        else if (args_is(&a, "--rate-mbit")) b.link.rate_mbit = args_float(&a, 1e-3, 1e5);
        else if (args_is(&a, "--probes")) b.probes = (int)args_int(&a, 10, 1000000);
        else if (args_is(&a, "--interval-ms")) b.interval_s = args_float(&a, 0.05, 1000) / 1e3;
        else if (args_is(&a, "--seconds")) b.tcp_s = args_float(&a, 0, 600);
        else if (args_is(&a, "--change-at")) b.change_at_s = args_float(&a, 0.01, 3600);
        else if (args_is(&a, "--change-delay-ms")) b.change_delay_ms = args_float(&a, 0, 1e5);
        else if (args_is(&a, "--backend")) {
            backend = args_str(&a);
            if (strcmp(backend, "auto") && strcmp(backend, "kernel") && strcmp(backend, "uml"))
                args_fail(&a, "'%s' is not a shaping backend (expected auto, kernel or uml)", backend);
        } else if (args_is(&a, "--jitter-dist")) {
            const char *d = args_str(&a);
            static const char *const D[] = {"uniform", "normal", "pareto", "paretonormal"};
            int k = -1;
            for (int i = 0; i < 4; i++) if (!strcmp(d, D[i])) k = i;
            if (k < 0)
                args_fail(&a, "'%s' is not a distribution (expected uniform, normal, pareto or paretonormal)", d);
            b.link.jitter_dist = (JitterDist)k;
        } else if (args_is(&a, "--hosts")) {
            b.hosts = args_str(&a);
            if (sscanf(b.hosts, "%255[^=]=%63[^,],%255[^=]=%63s", b.host_ns[0], b.host_ip[0], b.host_ns[1],
                       b.host_ip[1]) != 4)
                args_fail(&a, "'%s' is not NS_A=IP_A,NS_B=IP_B (e.g. /run/netns/h1=10.78.0.1,/run/netns/h2=10.78.0.2)",
                          b.hosts);
        } else if (args_is(&a, "--json")) { args_no_value(&a); b.json = 1; }
        else args_unknown(&a);
    }
    if (b.change_at_s > 0 && b.change_at_s + 0.3 > b.probes * b.interval_s) {
        a.flag = "--change-at";
        args_fail(&a, "%g s is too late: the probes end at %g s (raise --probes)", b.change_at_s,
                  b.probes * b.interval_s);
    }
    NetProbe p;
    net_probe(&p);
    char chosen[16], why[300];
    Err e = {{0}};
    if (backend_choose(backend, 1, &p, chosen, sizeof chosen, why, sizeof why, &e)) {
        fprintf(stderr, "meshtrain bench link: %s\n", e.msg);
        return 2;
    }
    if (!strcmp(chosen, "uml") && b.hosts) {
        fprintf(stderr, "meshtrain bench link: --hosts names namespaces of this kernel, which has no netem (%s): run "
                        "it inside User-Mode Linux, `meshtrain uml -- meshtrain bench link --hosts ...`\n", why);
        return 2;
    }
    if (!strcmp(chosen, "uml")) {
        if (!b.json) printf("network: uml (%s)\n", why);
        return uml_reexec(&p, "link", orig, orig_n, 2);
    }
    const char *name = b.hosts
        ? (getenv("MESHTRAIN_UML_GUEST") ? "uml, overlay across hosts" : "kernel, overlay across hosts")
        : getenv("MESHTRAIN_UML_GUEST") ? "uml"
                                        : "kernel";
    if (link_measure(&b, name, why, &e)) { fprintf(stderr, "meshtrain bench link: %s\n", e.msg); return 1; }
    return 0;
}

// `meshtrain bench setup --agents N`: time to create N agents' namespaces and every directed link
// (N (N - 1) netem qdiscs with their HTB classes and filters), as a run does before its start barrier.
// Check what was built: every directed link has its netem qdisc. 0, or -1 and e.
static int setup_qdiscs_check(NetEmu *ne, int *counted, Err *e) {
    int n = ne->n;
    char *st = backend_kernel.stats(ne);
    json_t *arr = st ? json_loads(st, 0, NULL) : NULL;
    *counted = arr ? (int)json_array_size(arr) : -1;
    json_decref(arr);
    free(st);
    if (*counted != n * (n - 1)) { err_set(e, "%d netem qdiscs found, %d expected", *counted, n * (n - 1)); return -1; }
    return 0;
}

// Build the namespaces and every shaped link of n agents, check them, tear them down; print the times.
static int setup_measure(int n, int json) {
    Err e = {{0}};
    NetEmu ne;
    memset(&ne, 0, sizeof ne);
    ne.ops = &backend_kernel;
    ne.n = n;
    ne.pids = xcalloc((size_t)n, sizeof(pid_t));
    ne.link = xcalloc((size_t)n * n, sizeof(LinkParams));
    ne.shaped = xcalloc((size_t)n * n, 1);
    for (int k = 0; k < n * n; k++) {
        ne.link[k] = (LinkParams){.up = 1, .delay_ms = 5, .jitter_ms = 1, .loss_pct = 0.5, .rate_mbit = 20};
        ne.shaped[k] = k / n != k % n;
    }
    int entered[2], gate[2];
    double t0 = time_now();
    int rc = backend_kernel.open(&ne, &e) || pipe(entered) || pipe(gate) ? -1 : 0;
    for (int i = 0; i < n && !rc; i++) {
        ne.pids[i] = fork();
        if (ne.pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(gate[1]);
            char ok = backend_kernel.child_enter(&ne, i) == 0 ? 'y' : 'n';
            if (write(entered[1], &ok, 1) != 1) _exit(1);
            char c;
            while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
            _exit(0);
        }
    }
    close(entered[1]);
    close(gate[0]);
    int got = 0;
    char buf[256];
    ssize_t r;
    while (!rc && got < n && (r = read(entered[0], buf, sizeof buf)) > 0) got += (int)r;
    double t_ns = time_now();
    if (!rc && got == n) rc = backend_kernel.wire(&ne, &e);
    double t1 = time_now();
    int counted = -1;
    if (!rc && got == n) rc = setup_qdiscs_check(&ne, &counted, &e);
    close(gate[1]);
    for (int i = 0; i < n; i++) if (ne.pids[i] > 0) waitpid(ne.pids[i], NULL, 0);
    backend_kernel.close(&ne);
    double t2 = time_now();
    if (rc || got != n) {
        fprintf(stderr, "meshtrain bench setup: %s\n", e.msg[0] ? e.msg : "agents could not enter namespaces");
        free(ne.pids), free(ne.link), free(ne.shaped);
        return 1;
    }
    const char *name = getenv("MESHTRAIN_UML_GUEST") ? "uml" : "kernel";
    if (json)
        printf("{\"backend\":\"%s\",\"agents\":%d,\"links\":%d,\"qdiscs_found\":%d,\"namespaces_s\":%.4f,"
               "\"setup_s\":%.4f,\"teardown_s\":%.4f}\n", name, n, n * (n - 1), counted, t_ns - t0, t1 - t0, t2 - t1);
    else
        printf("%d agents, %d shaped directed links (%d netem qdiscs found) through %s: setup %.3f s "
               "(namespaces %.3f s), teardown %.3f s\n", n, n * (n - 1), counted, name, t1 - t0, t_ns - t0, t2 - t1);
    free(ne.pids);
    free(ne.link);
    free(ne.shaped);
    return 0;
}

int bench_setup(int argc, char **argv) {
    static const char *U = "meshtrain bench setup [--agents N] [--backend auto|kernel|uml] [--json]";
    Args a;
    args_init(&a, "bench setup", U, argc, argv);
    int n = 16, json = 0;
    const char *backend = "auto";
    char **orig = argv;
    int orig_n = argc;
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf("usage: %s\n\nTime the network setup of N agents: namespaces, veths, bridge, and a netem qdisc per "
                   "directed link.\n",
                   U);
            return 0;
        } else if (args_is(&a, "--agents")) n = (int)args_int(&a, 2, 256);
        else if (args_is(&a, "--backend")) {
            backend = args_str(&a);
            if (strcmp(backend, "auto") && strcmp(backend, "kernel") && strcmp(backend, "uml"))
                args_fail(&a, "'%s' is not a shaping backend (expected auto, kernel or uml)", backend);
        } else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    NetProbe p;
    net_probe(&p);
    char chosen[16], why[300];
    Err e = {{0}};
    if (backend_choose(backend, 1, &p, chosen, sizeof chosen, why, sizeof why, &e)) {
        fprintf(stderr, "meshtrain bench setup: %s\n", e.msg);
        return 2;
    }
    if (!strcmp(chosen, "uml")) return uml_reexec(&p, "setup", orig, orig_n, n / 4 + 1);
    return setup_measure(n, json);
}
