// The kernel backend across hosts (agents started by a launcher): on each host a hub namespace holds a
// bridge joining that host's agents (a veth each, as the kernel backend does) and one VXLAN interface
// whose underlay is the host's network, so every host's agents share one overlay; each agent shapes
// its own egress with the kernel backend's HTB + netem batch (docs/cluster.md).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>
#include <unistd.h>
#include "backend.h"

#define OVERLAY_PORT 4789   // VXLAN's UDP port (IANA): hosts must let it through between them
#define OVERLAY_MTU 1450    // 1500 less VXLAN's 50 bytes, so the underlay never fragments

// Agent i's MAC: neighbours are static, so nothing is resolved or flooded across hosts.
static void agent_mac(int i, char *out, size_t n) {
    snprintf(out, n, "02:6d:74:00:%02x:%02x", (i >> 8) & 255, i & 255);
}

// A random VXLAN id per run: two runs on the same hosts rarely draw the same, and if they do, the
// second one's hub is refused (its abstract socket name is taken).
static int overlay_open(NetEmu *ne, Err *e) {
    ne->hubfd = -1;
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) { err_set(e, "getrandom: %s", strerror(errno)); return -1; }
    ne->vni = 4096 + r % (0xFFFFFFu - 4096);
    return disturb_read(ne, e);
}

// Launched agents enter their namespaces themselves (overlay_join), on their own hosts.
static int overlay_child_enter(NetEmu *ne, int i) { (void)ne, (void)i; return -1; }
static int overlay_wire(NetEmu *ne, Err *e) { (void)ne, (void)e; return 0; }
static int overlay_arm(NetEmu *ne, const LinkChange *c, int n, Err *e) {
    (void)ne, (void)c, (void)n, (void)e;
    return 0;
}

// Each sender's changes go to its agent, which applies them to its own egress at once.
static int overlay_apply(NetEmu *ne, const LinkChange *c, int nc, Err *e) {
    char **t = shape_change_batches(ne, c, nc, e);
    if (!t) return -1;
    int rc = 0;
    for (int i = 0; i < ne->n; i++) {
        if (t[i] && !rc && (!ne->links_send || ne->links_send(ne->links_ctx, i, t[i], e))) {
            if (!ne->links_send) err_set(e, "agent %d's links: no channel to its host", i);
            rc = -1;
        }
        free(t[i]);
    }
    free(t);
    return rc;
}

// The counters are in the agents' namespaces on other hosts: each agent sends its own to the runner over
// its control channel once it finished (launch_agent.c), and the runner reports those.
static char *overlay_stats(NetEmu *ne) { (void)ne; return NULL; }
static void overlay_close(NetEmu *ne) { (void)ne; }

// The first agent of each host (lowest id with that host address) builds the host's hub.
char *overlay_spec(const NetEmu *ne, int i) {
    int n = ne->n, owner = 1;
    for (int j = 0; j < i; j++) owner &= strcmp(ne->underlay[j], ne->underlay[i]) != 0;
    char addr[32], mac[32], *tc = shape_setup_batch(ne, i);
    backend_addr(&backend_kernel, i, addr, sizeof addr);
    agent_mac(i, mac, sizeof mac);
    size_t cap = 256 + (size_t)n * 200;
    char *ipb = xmalloc(cap), *fdb = xmalloc(cap);
    size_t li = (size_t)snprintf(ipb, cap, "link set dev lo up\naddr add %s/16 dev eth0\nlink set dev eth0 up\n", addr);
    size_t lf = 0;
    fdb[0] = 0;
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        char a[32], m[32];
        backend_addr(&backend_kernel, j, a, sizeof a);
        agent_mac(j, m, sizeof m);
        li += (size_t)snprintf(ipb + li, cap - li, "neigh add %s lladdr %s dev eth0 nud permanent\n", a, m);
        if (owner && strcmp(ne->underlay[j], ne->underlay[i]))   // agents of other hosts: through the VXLAN
            lf += (size_t)snprintf(fdb + lf, cap - lf, "fdb append %s dev vx0 dst %s self permanent\n", m,
                                   ne->underlay[j]);
    }
    json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s, s:s?}", "id", i, "addr", addr, "mac", mac,
                          "vni", (int)ne->vni, "port", OVERLAY_PORT, "mtu", OVERLAY_MTU, "local", ne->underlay[i],
                          "ip", ipb, "fdb", fdb, "tc", tc);
    json_object_set_new(o, "owner", json_boolean(owner));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(ipb), free(fdb), free(tc);
    return s;
}

// The hub's abstract socket on this host: "meshtrain-overlay-VNI" (abstract names live and die with the
// socket, in the host's namespace, so nothing is left in the file system).
static socklen_t hub_name(struct sockaddr_un *sa, unsigned vni) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int k = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "meshtrain-overlay-%u", vni);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)k);
}

// The hub keeper: a process in a namespace of its own (the hub) that lives as long as any agent of this
// host: each agent (the first, which built the hub, included) holds a connection to its abstract socket,
// and the keeper ends when the last one closes, so the bridge outlives no agent and is there until the
// last one finished. Until the first agent connected, it dies with the one that started it.
__attribute__((noreturn)) static void hub_keeper_main(int fd, int ready, int go) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);   // a launcher's SIGTERM is for the agents; the keeper follows them
    // Only its three descriptors: a copy of the agent's control connection kept here would hide the
    // agent's death from the runner.
    if (dup2(fd, 0) < 0 || dup2(ready, 1) < 0 || dup2(go, 2) < 0 || close_range(3, ~0U, 0)) _exit(1);
    fd = 0, ready = 1, go = 2;
    char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n', c;
    if (write(ready, &ok, 1) != 1 || ok != 'y' || read(go, &c, 1) != 1) _exit(1);
    if (listen(fd, 1024)) _exit(1);
    struct pollfd pf[1025];
    int np = 1, ever = 0;
    pf[0] = (struct pollfd){fd, POLLIN, 0};
    for (;;) {
        if (poll(pf, (nfds_t)np, -1) < 0) continue;
        for (int k = np - 1; k >= 1; k--)
            if (pf[k].revents) { close(pf[k].fd); pf[k] = pf[--np]; }
        if ((pf[0].revents & POLLIN) && np < 1025) {
            int a = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (a >= 0) pf[np++] = (struct pollfd){a, POLLIN, 0};
            if (a >= 0 && !ever++) prctl(PR_SET_PDEATHSIG, 0);
        }
        if (ever && np == 1) _exit(0);
    }
}

static pid_t hub_keeper_start(unsigned vni, int *go, Err *e) {
    int p[2], q[2];
    if (pipe2(p, O_CLOEXEC) || pipe2(q, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); return -1; }
    // Bound here, in the host's namespace: a second run's hub with the same id would fail here.
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    socklen_t sl = hub_name(&sa, vni);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl)) {
        err_set(e, "cannot announce the host's hub: %s", strerror(errno));
        return -1;
    }
    pid_t k = fork();
    if (k < 0) { err_set(e, "fork: %s", strerror(errno)); return -1; }
    if (k == 0) hub_keeper_main(fd, p[1], q[0]);   // fd >= 3, so the dup2s cannot clobber each other
    close(p[1]), close(q[0]), close(fd);
    char ok = 0;
    ssize_t r = read(p[0], &ok, 1);
    close(p[0]);
    if (r != 1 || ok != 'y') {
        err_set(e, "cannot create the host's hub namespace (needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN)");
        close(q[1]);
        return -1;
    }
    *go = q[1];
    return k;
}

// Connect to this host's hub (within 60 s: its first agent builds it) and keep the connection for as
// long as this process lives. The keeper's pid (SO_PEERCRED), or -1 and e.
static pid_t hub_hold(unsigned vni, Err *e) {
    struct sockaddr_un sa;
    socklen_t sl = hub_name(&sa, vni);
    for (int tries = 0; tries < 1200; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sl)) {
            struct ucred cr;
            socklen_t cl = sizeof cr;
            if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl)) return cr.pid;   // fd stays open
        }
        if (fd >= 0) close(fd);
        usleep(50000);
    }
    err_set(e, "the host's hub (built by its first agent) did not appear within 60 s");
    return -1;
}

// A batch run here (nsfd -1) or in the namespace at nsfd; the failure says which step it was.
static int step(int nsfd, const char *tool, const char *batch, const char *what, Err *e) {
    if (!batch || !*batch) return 0;
    char *av[] = {(char *)tool, "-batch", "@BATCH", NULL};
    Err in = {{0}};
    if (!ns_exec(nsfd, av, batch, NULL, &in)) return 0;
    err_set(e, "%s: %.440s", what, in.msg);
    return -1;
}

// The owner builds the hub: the VXLAN interface, created from the host's namespace (its UDP socket stays
// there, on the host's network) straight into the hub, a bridge, and the other hosts' agents' entries.
static int hub_build(const json_t *o, pid_t keeper, int hubfd, Err *e) {
    char b[600];
    snprintf(b, sizeof b, "link add name vx0 netns %d mtu %d type vxlan id %d dstport %d local %s nolearning\n",
             (int)keeper, (int)json_integer_value(json_object_get(o, "mtu")),
             (int)json_integer_value(json_object_get(o, "vni")), (int)json_integer_value(json_object_get(o, "port")),
             json_string_value(json_object_get(o, "local")));
    if (step(-1, "ip", b, "creating the host's VXLAN interface (needs the vxlan module)", e)) return -1;
    const char *hub = "link add name br0 type bridge stp_state 0 forward_delay 0\nlink set dev br0 up\n"
                      "link set dev vx0 master br0 up\n";
    return step(hubfd, "ip", hub, "the host's bridge", e) ||
           step(hubfd, "bridge", json_string_value(json_object_get(o, "fdb")), "the overlay's forwarding entries", e);
}

// This agent: a veth from the hub's bridge into a namespace of its own, its address and neighbours,
// offloads off, its egress shaping.
static int agent_attach(const json_t *o, pid_t keeper, int hubfd, Err *e) {
    int id = (int)json_integer_value(json_object_get(o, "id")),
        mtu = (int)json_integer_value(json_object_get(o, "mtu"));
    char b[600];
    if (unshare(CLONE_NEWNET)) {
        err_set(e, "cannot create a network namespace: %s (shaped links across hosts need root, or CAP_SYS_ADMIN "
                   "and CAP_NET_ADMIN, on every host; or set network.backend to none)", strerror(errno));
        return -1;
    }
    snprintf(b, sizeof b, "link add name v%d netns %d mtu %d type veth peer name eth0 netns %d address %s mtu %d\n", id,
             (int)keeper, mtu, (int)getpid(), json_string_value(json_object_get(o, "mac")), mtu);
    if (step(-1, "ip", b, "the agent's veth", e)) return -1;
    snprintf(b, sizeof b, "link set dev v%d master br0 up\n", id);
    if (step(hubfd, "ip", b, "joining the host's bridge", e) ||
        step(-1, "ip", json_string_value(json_object_get(o, "ip")), "addresses and neighbours", e))
        return -1;
    if (iface_offloads_off("eth0")) { err_set(e, "cannot turn off eth0's offloads"); return -1; }
    return step(-1, "tc", json_string_value(json_object_get(o, "tc")),
                "egress shaping (HTB and netem: needs sch_netem)", e);
}

int overlay_join(const char *spec, char *addr, size_t n, Err *e) {
    json_t *o = json_loads(spec, 0, NULL);
    const char *a = json_string_value(json_object_get(o, "addr"));
    if (!a || !json_string_value(json_object_get(o, "local"))) {
        err_set(e, "a malformed overlay from the runner");
        json_decref(o);
        return -1;
    }
    str_copy(addr, n, a);
    unsigned vni = (unsigned)json_integer_value(json_object_get(o, "vni"));
    int go = -1, hubfd = -1, rc = -1;
    pid_t keeper = 0;
    if (json_is_true(json_object_get(o, "owner"))) {   // this host's first agent builds its hub
        keeper = hub_keeper_start(vni, &go, e);
        if (keeper > 0 && ((hubfd = ns_open(keeper, e)) < 0 || hub_build(o, keeper, hubfd, e))) keeper = -1;
        if (keeper > 0 && write(go, "g", 1) != 1) { err_set(e, "the host's hub keeper ended"); keeper = -1; }
        if (hubfd >= 0) close(hubfd), hubfd = -1;
    }
    if (keeper >= 0) keeper = hub_hold(vni, e);   // every agent of the host, its first included
    if (keeper > 0 && (hubfd = ns_open(keeper, e)) >= 0) rc = agent_attach(o, keeper, hubfd, e);
    if (go >= 0) close(go);
    if (hubfd >= 0) close(hubfd);
    json_decref(o);
    return rc;
}

int overlay_links_apply(const char *tc_batch, Err *e) { return step(-1, "tc", tc_batch, "changing links", e); }

const LinkBackendOps backend_overlay = {
    .name = "kernel",
    .open = overlay_open,
    .child_enter = overlay_child_enter,
    .wire = overlay_wire,
    .arm = overlay_arm,
    .apply = overlay_apply,
    .stats = overlay_stats,
    .close = overlay_close,
};
