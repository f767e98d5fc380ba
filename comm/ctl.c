// The control channel between the runner and each agent (see ctl.h): whole frames over AF_UNIX.
#include "ctl.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ctl_send(int fd, int kind, uint32_t round, const void *payload, size_t len, Err *e) {
    if (len > WIRE_MAX_PAYLOAD) { err_set(e, "control message of %zu bytes is over the %u-byte bound", len, WIRE_MAX_PAYLOAD); return -1; }
    FrameHeader h = {.kind = (uint16_t)kind, .round = round, .payload_len = (uint32_t)len};
    uint8_t hdr[WIRE_HEADER_BYTES];
    wire_header_write(hdr, &h, payload);
    const uint8_t *parts[2] = {hdr, payload};
    size_t sizes[2] = {WIRE_HEADER_BYTES, len};
    for (int k = 0; k < 2; k++) {
        size_t off = 0;
        while (off < sizes[k]) {
            ssize_t w = send(fd, parts[k] + off, sizes[k] - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { err_set(e, "control channel: %s", strerror(errno)); return -1; }
            off += (size_t)w;
        }
    }
    return 0;
}

int ctl_recv(int fd, FrameReader *r, double timeout_s, Err *e) {
    double end = time_now() + timeout_s;
    uint8_t buf[1 << 16];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int ms = (int)((end - time_now()) * 1000);
        if (ms < 0) return 0;
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return 0;
        // Peek so that bytes after this frame stay in the socket for the next call.
        ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { err_set(e, "control channel closed"); return -1; }
        size_t used = 0;
        int got = frame_reader_feed(r, buf, (size_t)n, &used, e);
        if (recv(fd, buf, used, 0) != (ssize_t)used) { err_set(e, "control channel: short read"); return -1; }
        if (got < 0) return -1;
        if (got == 1) return 1;
    }
}
