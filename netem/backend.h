// Link backends behind one small interface: `none` (loopback, no shaping) and `kernel` (a network
// namespace per agent, a bridge, netem per directed link). `uml` runs `kernel` inside User-Mode Linux.
#ifndef MESHTRAIN_BACKEND_H
#define MESHTRAIN_BACKEND_H
#include <stdio.h>
#include <sys/types.h>
#include "disturb.h"
#include "link.h"
#include "util.h"

typedef struct NetEmu NetEmu;

typedef struct {
    const char *name;
    int (*open)(NetEmu *ne, Err *e);                 // before any agent exists (e.g. the hub namespace)
    int (*child_enter)(NetEmu *ne, int i);           // in agent i's process, after fork, before exec
    int (*wire)(NetEmu *ne, Err *e);                 // all agents exist (ne->pids): connect and shape
    int (*arm)(NetEmu *ne, const LinkChange *c, int n, Err *e);   // get ready to apply these soon (optional work ahead)
    int (*apply)(NetEmu *ne, const LinkChange *c, int n, Err *e);   // change links (all from one time)
    char *(*stats)(NetEmu *ne);                      // per-link counters as JSON text (caller frees), or NULL
    void (*close)(NetEmu *ne);                       // release what open created (namespaces die with their processes)
} LinkBackendOps;

struct NetEmu {
    const LinkBackendOps *ops;
    int n;                   // agents
    pid_t *pids;             // agent processes (set by the runner before wire)
    pid_t hub;               // kernel: the process that created the bridge's namespace
    int hubfd, *nsfd;        // kernel: the namespaces, held open so they outlive their processes until close
    LinkParams *link;        // n x n, link[from * n + to]: the current parameters
    unsigned char *shaped;   // n x n: 1 if this directed link gets its own netem qdisc
    struct NsProc *armed;    // kernel: per agent, a `tc -batch -` already started for the next change
    LinkDisturb disturb;     // kernel: the test-only disturbance (disturb.h), read from the environment at wire
    // overlay (agents on several hosts, overlay.c): each agent's host address, the run's VXLAN id,
    // and how a tc batch for agent i's egress reaches it (over its control channel).
    char (*underlay)[64];
    unsigned vni;
    int (*links_send)(void *ctx, int i, const char *tc_batch, Err *e);
    void *links_ctx;
};

// A program started inside a namespace that reads its batch from a pipe: started ahead of time,
// so that the change itself costs one netlink request, not a fork and exec.
typedef struct NsProc { pid_t pid; int in, out, fed_short; } NsProc;
int ns_spawn(int nsfd, char *const argv[], NsProc *p, Err *e);
// Write input and close its stdin (it starts working). -1 if not all of it could be written.
int ns_feed(NsProc *p, const char *input);
// ns_feed (unless input is NULL: fed already), then collect its output and wait. 0 if it exited with 0.
int ns_finish(NsProc *p, const char *input, Err *e);

extern const LinkBackendOps backend_none, backend_kernel, backend_overlay;

// The kernel backend's shaping of agent i's egress (eth0: HTB root, a class, netem and u32 filter per
// shaped destination) as a tc batch (caller frees), or NULL when no link from i is shaped.
char *shape_setup_batch(const NetEmu *ne, int i);
// The tc batches that apply these changes, one per sending agent (NULL where it sends none; caller
// frees each and the array); ne->link takes the new parameters. NULL and e if a link is not shaped.
char **shape_change_batches(NetEmu *ne, const LinkChange *c, int nc, Err *e);
// The test-only disturbance (disturb.h) from the environment into ne, checked. 0, or -1 and e.
int disturb_read(NetEmu *ne, Err *e);
// Agent `from`'s netem counters (namespace at nsfd, -1: this one), one object per directed link
// {from, to, bytes, packets, drops, overlimits, requeues} appended to links. 0, or -1 if tc failed.
struct json_t;
int shape_counters(int nsfd, int from, int n, struct json_t *links);
// TCP segmentation and receive offloads off on an interface of this namespace. 0, or -1.
int iface_offloads_off(const char *ifname);

// Agents on several hosts (overlay.c). The runner's side: agent i's overlay as JSON text (caller frees):
// its address, MAC, host address, the run's VXLAN id, whether it builds its host's hub (its first agent),
// the hub's forwarding entries, and the ip and tc batches of its namespace. Needs ne->underlay.
// The agent's side: leave the host's namespace for a new one on the overlay (the first agent of a
// host builds the host's hub) as spec says (needs CAP_SYS_ADMIN and CAP_NET_ADMIN on this host);
// its overlay address into addr.
char *overlay_spec(const NetEmu *ne, int i);
int overlay_join(const char *spec, char *addr, size_t n, Err *e);
// In the agent's namespace: a tc batch from the runner (a link change). 0, or -1 and e.
int overlay_links_apply(const char *tc_batch, Err *e);

// The backend called `name` ("none", "kernel"), or NULL.
const LinkBackendOps *backend_find(const char *name);
// Agent i's address under a backend: 127.0.0.(2+i) on loopback, 10.77.x.y in namespaces.
void backend_addr(const LinkBackendOps *ops, int i, char *out, size_t n);

// The network namespace of process pid, opened (close-on-exec). -1 and e if it cannot be.
int ns_open(pid_t pid, Err *e);

// netem's arguments for p ("delay 20ms 2ms distribution normal loss random 1% rate 20mbit limit 130").
void link_netem_args(const LinkParams *p, char *out, size_t n);
// The queue limit in packets: a round trip's worth at the link's rate, plus headroom (see docs/network.md).
int link_limit(const LinkParams *p);
// 1 if the link needs shaping at all (any delay, jitter, loss, rate, or cut).
int link_is_shaped(const LinkParams *p);
// The parameters as a JSON object text into out (for the network log).
void link_json(const LinkParams *p, char *out, size_t n);

// Run argv (a program found in /usr/sbin, /sbin, /usr/bin, /bin) inside the network namespace
// open at nsfd (-1: this one), feeding it `input` as a batch file (the string "@BATCH" in argv is
// replaced by its path). Its output is returned in *out (caller frees) when out != NULL.
// 0 when it exits with status 0; else -1 and e with its stderr.
int ns_exec(int nsfd, char *const argv[], const char *input, char **out, Err *e);

#endif
