// The `kernel` link backend: each agent in its own network namespace (created by the agent's process,
// so the kernel removes it with the process), a veth to a bridge in a hub namespace, and at each
// agent's egress an HTB class with a u32 filter and a netem qdisc per destination (docs/network.md).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backend.h"

// A growing text buffer for batches.
typedef struct { char *s; size_t len, cap; } Text;
static void text_add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(Text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (w >= 0 && t->s && t->len + (size_t)w < t->cap) { t->len += (size_t)w; return; }
        size_t need = t->len + (size_t)(w > 0 ? w : 0) + 4096;
        t->cap = need > 2 * t->cap ? need : 2 * t->cap;
        char *ns = realloc(t->s, t->cap);
        if (!ns) { fprintf(stderr, "out of memory\n"); abort(); }
        t->s = ns;
    }
}

// The HTB class (and netem handle) of destination j: minor 2 + j, written in hex as tc reads it.
static unsigned dest_class(int j) { return 2u + (unsigned)j; }

static int kernel_open(NetEmu *ne, Err *e) {
    ne->hubfd = -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); return -1; }
    pid_t h = fork();
    if (h < 0) { err_set(e, "fork: %s", strerror(errno)); return -1; }
    if (h == 0) {   // the hub: holds the bridge's namespace for as long as the runner lives
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(p[1], &ok, 1) != 1) _exit(1);
        signal(SIGINT, SIG_IGN);
        for (;;) pause();
    }
    close(p[1]);
    char ok = 0;
    ssize_t r = read(p[0], &ok, 1);
    close(p[0]);
    ne->hub = h;
    ne->hubfd = -1;
    if (r != 1 || ok != 'y') {
        err_set(e, "cannot create a network namespace (unshare: needs root or CAP_SYS_ADMIN)");
        return -1;
    }
    ne->hubfd = ns_open(h, e);
    return ne->hubfd < 0 ? -1 : 0;
}

static int kernel_child_enter(NetEmu *ne, int i) {
    (void)ne; (void)i;
    return unshare(CLONE_NEWNET);
}

// TCP segmentation and receive offloads would hand netem 64 KB super-packets, so that one loss
// drops 40 segments and rates count wrongly: turn them off on the agent's interface.
int iface_offloads_off(const char *ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    static const unsigned CMDS[] = {ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO};
    int rc = 0;
    for (size_t k = 0; k < sizeof CMDS / sizeof CMDS[0]; k++) {
        struct ethtool_value v = {.cmd = CMDS[k], .data = 0};
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        ifr.ifr_data = (char *)&v;
        if (ioctl(fd, SIOCETHTOOL, &ifr) && errno != EOPNOTSUPP) rc = -1;
    }
    close(fd);
    return rc;
}

static int iface_flags_up(int fd, const char *ifname) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr)) return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static int iface_addr(int fd, const char *ifname, const char *addr, const char *mask) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    struct sockaddr_in *sa = (struct sockaddr_in *)&ifr.ifr_addr;
    sa->sin_family = AF_INET;
    if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1 || ioctl(fd, SIOCSIFADDR, &ifr)) return -1;
    if (inet_pton(AF_INET, mask, &sa->sin_addr) != 1 || ioctl(fd, SIOCSIFNETMASK, &ifr)) return -1;
    return 0;
}

// In agent i's namespace: lo up, eth0 with its /16 address, up, offloads off. Done with ioctls in a
// forked child (no ip exec: that is most of the setup time inside User-Mode Linux).
static int ns_iface_setup(int nsfd, int i, Err *e) {
    char addr[32];
    backend_addr(&backend_kernel, i, addr, sizeof addr);
    pid_t c = fork();
    if (c < 0) { err_set(e, "fork: %s", strerror(errno)); return -1; }
    if (c == 0) {
        if (setns(nsfd, CLONE_NEWNET)) _exit(1);
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || iface_flags_up(fd, "lo")) _exit(2);
        if (iface_addr(fd, "eth0", addr, "255.255.0.0")) _exit(3);
        if (iface_offloads_off("eth0")) _exit(4);
        _exit(iface_flags_up(fd, "eth0") ? 5 : 0);
    }
    int st = 0;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    static const char *const WHAT[] = {"", "enter its namespace", "bring lo up", "give eth0 its address",
                                       "turn off eth0's segmentation offloads", "bring eth0 up"};
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        int k = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
        err_set(e, "agent %d: cannot %s", i, k >= 1 && k <= 5 ? WHAT[k] : "set up its interfaces");
        return -1;
    }
    return 0;
}

// netem for from -> to; the test-only disturbance (disturb.h) enters here, so a change restating the
// link keeps it, while ne->link and the network log keep the configured parameters.
static void netem_cmd(const NetEmu *ne, Text *t, const char *verb, int from, int to, const LinkParams *p) {
    char args[256];
    LinkParams q = link_disturbed(&ne->disturb, from, to, p);
    link_netem_args(&q, args, sizeof args);
    text_add(t, "qdisc %s dev eth0 parent 1:%x handle %x: netem %s\n", verb, dest_class(to), dest_class(to), args);
}

// The test-only disturbance, if its variable is set: checked, and announced, since such a run's links
// are wrong on purpose.
int disturb_read(NetEmu *ne, Err *e) {
    if (link_disturb_parse(getenv(LINK_DISTURB_ENV), ne->n, &ne->disturb, e)) return -1;
    const LinkDisturb *d = &ne->disturb;
    if (!d->set) return 0;
    if (!ne->shaped[d->from * ne->n + d->to]) {
        err_set(e, "%s=%s: link %d -> %d is not shaped, so there is no netem to disturb", LINK_DISTURB_ENV, d->value,
                d->from, d->to);
        return -1;
    }
    fprintf(stderr, "TEST HOOK %s=%s: netem on link %d -> %d gets %g ms more delay than the scenario says\n",
            LINK_DISTURB_ENV, d->value, d->from, d->to, d->extra_ms);
    return 0;
}

static int kernel_wire(NetEmu *ne, Err *e) {
    int n = ne->n;
    if (disturb_read(ne, e)) return -1;
    ne->nsfd = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) ne->nsfd[i] = -1;
    for (int i = 0; i < n; i++)
        if ((ne->nsfd[i] = ns_open(ne->pids[i], e)) < 0) return -1;
    // 1. One veth per agent, created straight into the hub's and the agent's namespaces (nothing in ours).
    Text t = {0};
    for (int i = 0; i < n; i++)
        text_add(&t, "link add name veth%d netns %d type veth peer name eth0 netns %d\n", i, (int)ne->hub,
                 (int)ne->pids[i]);
    char *ipb[] = {"ip", "-batch", "@BATCH", NULL};
    int rc = ns_exec(-1, ipb, t.s, NULL, e);
    // 2. The hub: a bridge joining every agent's veth.
    if (!rc) {
        t.len = 0;
        text_add(&t, "link add name br0 type bridge stp_state 0 forward_delay 0\nlink set dev br0 up\n");
        for (int i = 0; i < n; i++) text_add(&t, "link set dev veth%d master br0 up\n", i);
        rc = ns_exec(ne->hubfd, ipb, t.s, NULL, e);
    }
    // 3. Each agent: its address, and its egress shaping per destination.
    for (int i = 0; i < n && !rc; i++) {
        rc = ns_iface_setup(ne->nsfd[i], i, e);
        if (rc) break;
        char *tb = shape_setup_batch(ne, i);
        char *tcb[] = {"tc", "-batch", "@BATCH", NULL};
        if (tb) rc = ns_exec(ne->nsfd[i], tcb, tb, NULL, e);
        free(tb);
        if (rc) { Err in = *e; err_set(e, "agent %d's links: %.450s", i, in.msg); }
    }
    free(t.s);
    return rc;
}

char *shape_setup_batch(const NetEmu *ne, int i) {
    int n = ne->n, any = 0;
    Text t = {0};
    text_add(&t, "qdisc add dev eth0 root handle 1: htb default 1\n"
                 "class add dev eth0 parent 1: classid 1:1 htb rate 10gbit quantum 60000\n");
    for (int j = 0; j < n; j++) {
        if (!ne->shaped[i * n + j]) continue;
        char dst[32];
        backend_addr(&backend_kernel, j, dst, sizeof dst);
        text_add(&t, "class add dev eth0 parent 1: classid 1:%x htb rate 10gbit quantum 60000\n", dest_class(j));
        netem_cmd(ne, &t, "add", i, j, &ne->link[i * n + j]);
        text_add(&t, "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst %s/32 flowid 1:%x\n", dst,
                 dest_class(j));
        any = 1;
    }
    if (!any) { free(t.s); return NULL; }
    return t.s;
}

char **shape_change_batches(NetEmu *ne, const LinkChange *c, int nc, Err *e) {
    int n = ne->n;
    Text *t = xcalloc((size_t)n, sizeof(Text));
    char **out = xcalloc((size_t)n, sizeof(char *));
    for (int k = 0; k < nc; k++) {
        if (!ne->shaped[c[k].from * n + c[k].to]) {
            err_set(e, "link %d -> %d is not shaped, so it cannot change", c[k].from, c[k].to);
            for (int i = 0; i < n; i++) free(t[i].s);
            free(t), free(out);
            return NULL;
        }
        netem_cmd(ne, &t[c[k].from], "replace", c[k].from, c[k].to, &c[k].p);
        ne->link[c[k].from * n + c[k].to] = c[k].p;
    }
    for (int i = 0; i < n; i++) out[i] = t[i].s;
    free(t);
    return out;
}

// Start `tc -batch -` in every namespace these changes touch, so that applying them is immediate.
static int kernel_arm(NetEmu *ne, const LinkChange *c, int nc, Err *e) {
    if (!ne->armed) ne->armed = xcalloc((size_t)ne->n, sizeof(NsProc));
    char *tcb[] = {"tc", "-batch", "-", NULL};
    for (int k = 0; k < nc; k++) {
        NsProc *p = &ne->armed[c[k].from];
        if (p->pid > 0) continue;
        if (ns_spawn(ne->nsfd[c[k].from], tcb, p, e)) return -1;
    }
    return 0;
}

static int kernel_apply(NetEmu *ne, const LinkChange *c, int nc, Err *e) {
    int n = ne->n;
    char **t = shape_change_batches(ne, c, nc, e);
    if (!t) return -1;
    int rc = kernel_arm(ne, c, nc, e);
    // Every namespace's tc gets its commands first, so they work in parallel; then each is waited for.
    for (int from = 0; from < n && !rc; from++) if (t[from]) ns_feed(&ne->armed[from], t[from]);
    for (int from = 0; from < n; from++) {
        if (!t[from] || ne->armed[from].pid <= 0) { free(t[from]); continue; }
        Err in = {{0}};
        if (ns_finish(&ne->armed[from], NULL, &in) && !rc) {
            err_set(e, "agent %d's links: %.450s", from, in.msg);
            rc = -1;
        }
        free(t[from]);
    }
    free(t);
    return rc;
}

// Per directed link from agent `from` (its namespace at nsfd, -1: this one), what its netem qdisc saw:
// packets, bytes, drops, overlimits, requeues, appended to links. 0, or -1 when tc could not say.
int shape_counters(int nsfd, int from, int n, json_t *links) {
    char *out = NULL;
    Err e;
    char *av[] = {"tc", "-j", "-s", "qdisc", "show", "dev", "eth0", NULL};
    if (ns_exec(nsfd, av, NULL, &out, &e)) return -1;
    json_t *arr = json_loads(out, 0, NULL);
    free(out);
    size_t k;
    json_t *q;
    json_array_foreach(arr, k, q) {
        const char *kind = json_string_value(json_object_get(q, "kind"));
        const char *handle = json_string_value(json_object_get(q, "handle"));
        if (!kind || !handle || strcmp(kind, "netem")) continue;
        int j = (int)strtol(handle, NULL, 16) - 2;
        if (j < 0 || j >= n) continue;
        json_array_append_new(links, json_pack("{s:i, s:i, s:O?, s:O?, s:O?, s:O?, s:O?}", "from", from, "to", j,
                                               "bytes", json_object_get(q, "bytes"), "packets",
                                               json_object_get(q, "packets"), "drops", json_object_get(q, "drops"),
                                               "overlimits", json_object_get(q, "overlimits"), "requeues",
                                               json_object_get(q, "requeues")));
    }
    int rc = arr ? 0 : -1;
    json_decref(arr);
    return rc;
}

static char *kernel_stats(NetEmu *ne) {
    json_t *links = json_array();
    for (int i = 0; i < ne->n; i++) shape_counters(ne->nsfd[i], i, ne->n, links);
    char *s = json_dumps(links, JSON_COMPACT);
    json_decref(links);
    return s;
}

static void kernel_close(NetEmu *ne) {
    for (int i = 0; ne->armed && i < ne->n; i++)
        if (ne->armed[i].pid > 0) {
            if (ne->armed[i].in >= 0) close(ne->armed[i].in);
            close(ne->armed[i].out);
            kill(ne->armed[i].pid, SIGKILL);
            waitpid(ne->armed[i].pid, NULL, 0);
        }
    free(ne->armed);
    ne->armed = NULL;
    for (int i = 0; ne->nsfd && i < ne->n; i++) if (ne->nsfd[i] >= 0) close(ne->nsfd[i]);
    free(ne->nsfd);
    ne->nsfd = NULL;
    if (ne->hubfd >= 0) close(ne->hubfd);
    ne->hubfd = -1;
    if (ne->hub > 0) {
        kill(ne->hub, SIGKILL);
        while (waitpid(ne->hub, NULL, 0) < 0 && errno == EINTR) {}
        ne->hub = 0;
    }
}

const LinkBackendOps backend_kernel = {"kernel", kernel_open, kernel_child_enter, kernel_wire, kernel_arm, kernel_apply,
                                       kernel_stats, kernel_close};
