// The kernel backend across hosts (agents started by a launcher): each agent's namespace gets a VXLAN
// interface (eth0) whose underlay is its host's network, so the agents of every host share one overlay;
// egress shaping is the kernel backend's, applied by each agent in its own namespace (docs/cluster.md).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backend.h"

#define OVERLAY_PORT 4789   // VXLAN's UDP port (IANA): hosts must let it through between them
#define OVERLAY_MTU 1450    // 1500 less VXLAN's 50 bytes, so the underlay never fragments

// Agent i's VXLAN id and MAC. Each agent has its own id: a host's agents share one UDP socket, which
// hands a packet to the interface whose id it carries (the forwarding entries give each peer's id).
static unsigned agent_vni(const NetEmu *ne, int i) { return (ne->vni_base + (unsigned)i) & 0xFFFFFFu; }
static void agent_mac(int i, char *out, size_t n) { snprintf(out, n, "02:6d:74:00:%02x:%02x", (i >> 8) & 255, i & 255); }

// A random first id per run, so that two runs on the same hosts never share one.
static int overlay_open(NetEmu *ne, Err *e) {
    ne->hubfd = -1;
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) { err_set(e, "getrandom: %s", strerror(errno)); return -1; }
    ne->vni_base = 4096 + r % (0xFFFFFFu - 4096 - 70000);
    return disturb_read(ne, e);
}

// Launched agents enter their namespaces themselves (overlay_join), on their own hosts.
static int overlay_child_enter(NetEmu *ne, int i) { (void)ne, (void)i; return -1; }
static int overlay_wire(NetEmu *ne, Err *e) { (void)ne, (void)e; return 0; }
static int overlay_arm(NetEmu *ne, const LinkChange *c, int n, Err *e) { (void)ne, (void)c, (void)n, (void)e; return 0; }

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

// The counters are in the agents' namespaces on other hosts: not gathered (docs/cluster.md).
static char *overlay_stats(NetEmu *ne) { (void)ne; return NULL; }
static void overlay_close(NetEmu *ne) { (void)ne; }

char *overlay_spec(const NetEmu *ne, int i) {
    int n = ne->n;
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
        lf += (size_t)snprintf(fdb + lf, cap - lf, "fdb append %s dev eth0 dst %s vni %u self permanent\n", m,
                               ne->underlay[j], agent_vni(ne, j));
    }
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s, s:s?}", "addr", addr, "mac", mac, "vni",
                          (int)agent_vni(ne, i), "port", OVERLAY_PORT, "mtu", OVERLAY_MTU, "local", ne->underlay[i],
                          "ip", ipb, "fdb", fdb, "tc", tc);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(ipb), free(fdb), free(tc);
    return s;
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

// Checksums computed in software on eth0: VXLAN hands a packet for an agent on the same host straight to
// that agent's interface, still waiting for a checksum that nothing then computes (TCP stalled).
static int tx_checksum_off(const char *ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ethtool_value v = {.cmd = ETHTOOL_STXCSUM, .data = 0};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (char *)&v;
    int rc = fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr) ? -1 : 0;
    if (fd >= 0) close(fd);
    return rc;
}

int overlay_join(const char *spec, char *addr, size_t n, Err *e) {
    json_t *o = json_loads(spec, 0, NULL);
    const char *a = json_string_value(json_object_get(o, "addr")), *mac = json_string_value(json_object_get(o, "mac"));
    const char *local = json_string_value(json_object_get(o, "local"));
    if (!a || !mac || !local) { err_set(e, "a malformed overlay from the runner"); json_decref(o); return -1; }
    str_copy(addr, n, a);
    int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc = -1;
    char create[400];
    snprintf(create, sizeof create,
             "link add name eth0 netns %d address %s mtu %d type vxlan id %d dstport %d local %s nolearning\n",
             (int)getpid(), mac, (int)json_integer_value(json_object_get(o, "mtu")),
             (int)json_integer_value(json_object_get(o, "vni")), (int)json_integer_value(json_object_get(o, "port")),
             local);
    if (host < 0) err_set(e, "cannot open this host's network namespace: %s", strerror(errno));
    else if (unshare(CLONE_NEWNET))
        err_set(e, "cannot create a network namespace: %s (shaped links across hosts need root, or CAP_SYS_ADMIN "
                   "and CAP_NET_ADMIN, on every host; or set network.backend to none)", strerror(errno));
    // The VXLAN interface is created from the host's namespace (its UDP socket stays there, on the host's
    // network) straight into ours; it goes when our namespace does, with this process.
    else if (!step(host, "ip", create, "creating the VXLAN interface (needs the vxlan module)", e) &&
             !step(-1, "ip", json_string_value(json_object_get(o, "ip")), "addresses and neighbours", e) &&
             !((iface_offloads_off("eth0") || tx_checksum_off("eth0")) && (err_set(e, "cannot turn off eth0's offloads"), 1)) &&
             !step(-1, "bridge", json_string_value(json_object_get(o, "fdb")), "the overlay's forwarding entries", e) &&
             !step(-1, "tc", json_string_value(json_object_get(o, "tc")), "egress shaping (HTB and netem: needs sch_netem)",
                   e))
        rc = 0;
    if (host >= 0) close(host);
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
