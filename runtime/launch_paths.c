// Paths between agent hosts: a launched agent's view (its peer sockets whose data goes unacknowledged
// through several retransmission timeouts in a row) and the runner's naming of a partition by host.
#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "launch.h"

char *launch_paths_report(int skip_fd) {
    // The process's own sockets, through their fds (TCP_INFO): a few dozen, where /proc/net/tcp would list
    // every socket of the namespace (thousands with 64 agents on a host), once a second in every agent.
    // An fd the agent closes and reuses meanwhile is at worst read as another socket of this process.
    json_t *ips = json_array();
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d && (de = readdir(d));) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end || end == de->d_name || fd == skip_fd || fd == dirfd(d)) continue;
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        struct tcp_info ti;
        socklen_t tl = sizeof ti;
        if (getpeername((int)fd, (struct sockaddr *)&peer, &pl) || peer.sin_family != AF_INET ||
            getsockopt((int)fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
            continue;
        // tcpi_retransmits: timeouts in a row since the last acknowledgement; tcpi_unacked: segments out.
        if (ti.tcpi_retransmits < LAUNCH_PATH_RETRIES || ti.tcpi_unacked == 0) continue;
        char ip[INET_ADDRSTRLEN];
        if (!inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip)) continue;
        int seen = 0;
        for (size_t k = 0; k < json_array_size(ips) && !seen; k++)
            seen = !strcmp(json_string_value(json_array_get(ips, k)), ip);
        if (!seen) json_array_append_new(ips, json_string(ip));
    }
    if (d) closedir(d);
    char *t = json_array_size(ips) ? json_dumps(ips, JSON_COMPACT) : NULL;
    json_decref(ips);
    return t;
}

int launch_paths_take(Launch *l, int i, const void *p, size_t len, Err *e) {
    json_t *a = json_loadb(p, len, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        err_set(e, "agent %d sent a malformed path report (not a JSON array of addresses)", i);
        return -1;
    }
    // The first address that is another host's agents' (the runner's own host address may be one too).
    for (size_t k = 0; k < json_array_size(a); k++) {
        const char *ip = json_string_value(json_array_get(a, k));
        for (int j = 0; ip && j < l->n; j++)
            if (!strcmp(l->ip[j], ip) && strcmp(l->host[j], l->host[i])) {
                if (!l->unreached_at[i] || l->unreached[i] != j) l->unreached_since[i] = time_now();
                l->unreached[i] = j;
                l->unreached_at[i] = time_now();
                json_decref(a);
                return 0;
            }
    }
    json_decref(a);
    return 0;
}

// Appends to out: the agents of host h as ranges ("0-3, 6").
static void agents_of(const Launch *l, const char *h, char *out, size_t n) {
    size_t len = strlen(out);
    int first = 1;
    for (int j = 0; j < l->n; j++) {
        if (strcmp(l->host[j], h) || (j > 0 && !strcmp(l->host[j - 1], h))) continue;
        int k = j;
        while (k + 1 < l->n && !strcmp(l->host[k + 1], h)) k++;
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, k > j ? "%s%d-%d" : "%s%d", first ? "" : ", ", j, k);
        first = 0;
        if (len >= n) return;
    }
}

// The lowest id of an agent on host h.
static int first_of(const Launch *l, const char *h) {
    int j = 0;
    while (j < l->n && strcmp(l->host[j], h)) j++;
    return j;
}

// Every agent of host h still reaches the runner: not lost, and a record within LAUNCH_PATH_BEATING_S.
static int host_beating(Launch *l, const char *h) {
    for (int j = 0; j < l->n; j++)
        if (!strcmp(l->host[j], h) && (l->lost[j] || launch_silence(l, j) > LAUNCH_PATH_BEATING_S)) return 0;
    return 1;
}

int launch_paths_due(Launch *l, char *out, size_t n) {
    double now = time_now();
    for (int i = 0; i < l->n; i++) {
        if (!l->unreached_at[i]) continue;
        if (now - l->unreached_at[i] > 3 * LAUNCH_BEAT_S) { l->unreached_at[i] = 0; continue; }   // recovered
        // Gathered for a second (the other side's reports too); named only while both hosts reach the runner:
        // a host cut off from everything is its silence's to name (launch_lost_describe).
        const char *a = l->host[i], *b = l->host[l->unreached[i]];
        if (first_of(l, b) < first_of(l, a)) a = b, b = l->host[i];   // the same words whoever reported first
        if (now - l->unreached_since[i] < 1.0 || !host_beating(l, a) || !host_beating(l, b)) continue;
        char who[200] = "";
        int first = 1;
        for (int k = 0; k < l->n; k++)
            if (l->unreached_at[k] && strlen(who) < sizeof who - 16) {
                snprintf(who + strlen(who), sizeof who - strlen(who), "%s%d", first ? "" : ", ", k);
                first = 0;
            }
        char sa[200] = "", sb[200] = "";
        agents_of(l, a, sa, sizeof sa);
        agents_of(l, b, sb, sizeof sb);
        snprintf(out, n,
                 "hosts %s and %s cannot reach each other: agents %s / %s (both still reach the runner; agents %s "
                 "had data to the other host unacknowledged through %d retransmission timeouts in a row)",
                 a, b, sa, sb, who, LAUNCH_PATH_RETRIES);
        return 1;
    }
    return 0;
}
