// TCP_INFO per peer for the metrics lines (see linkstat.h). glibc's <netinet/tcp.h> stops before
// tcpi_min_rtt and tcpi_delivery_rate, so the kernel's own <linux/tcp.h> describes the struct; a field
// beyond the length the kernel filled in is reported as absent rather than read as zero.
#include "linkstat.h"
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define FILLED(len, field) ((len) >= offsetof(struct tcp_info, field) + sizeof(((struct tcp_info *)0)->field))

static json_t *peer_json(int fd) {
    struct tcp_info ti = {0};
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || !FILLED(len, tcpi_total_retrans)) return NULL;
    json_t *o = json_pack("{s:f, s:f, s:I, s:i}", "rtt_ms", ti.tcpi_rtt / 1e3, "rttvar_ms", ti.tcpi_rttvar / 1e3,
                          "retrans", (json_int_t)ti.tcpi_total_retrans, "mss", (int)ti.tcpi_snd_mss);
    if (FILLED(len, tcpi_bytes_acked))
        json_object_set_new(o, "acked_bytes", json_integer((json_int_t)ti.tcpi_bytes_acked));
    if (FILLED(len, tcpi_min_rtt)) json_object_set_new(o, "min_rtt_ms", json_real(ti.tcpi_min_rtt / 1e3));
    if (FILLED(len, tcpi_delivery_rate)) {
        // The kernel's latest delivery-rate sample, payload bytes per second; app_limited says the sender
        // had nothing more to send then, so the sample says nothing about the link's capacity.
        json_object_set_new(o, "delivery_mbit", json_real((double)ti.tcpi_delivery_rate * 8 / 1e6));
        json_object_set_new(o, "app_limited", json_boolean(ti.tcpi_delivery_rate_app_limited));
    }
    return o;
}

json_t *linkstat_json(const Net *net, int self, int n) {
    json_t *o = json_object();
    for (int j = 0; j < n; j++) {
        // Only peers it sends to, as the "sent" counts: with a sparse topology most sockets carry nothing.
        int fd = j == self || !net_sent(net, j)->messages ? -1 : net_peer_fd(net, j, 1);
        json_t *p = fd >= 0 ? peer_json(fd) : NULL;
        if (!p) continue;
        char k[16];
        snprintf(k, sizeof k, "%d", j);
        json_object_set_new(o, k, p);
    }
    return o;
}
