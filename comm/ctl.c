// The control channel between the runner and each agent (see ctl.h): whole frames over AF_UNIX.
#include "ctl.h"
#include <stdlib.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bytes.h"

int ctl_send(int fd, int kind, uint32_t round, const void *payload, size_t len, Err *e) {
    if (len > WIRE_MAX_PAYLOAD) {
        err_set(e, "control message of %zu bytes is over the %u-byte bound", len, WIRE_MAX_PAYLOAD);
        return -1;
    }
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

uint8_t *ctl_report_pack(const char *json, const CtlFloats *spans, int n_spans, size_t *len) {
    size_t tl = strlen(json), total = 4 + tl;
    for (int k = 0; k < n_spans; k++) total += spans[k].n * sizeof(float);
    uint8_t *buf = xmalloc(total), *p = buf + 4 + tl;
    put_u32(buf, (uint32_t)tl);
    memcpy(buf + 4, json, tl);
    for (int k = 0; k < n_spans; k++) {
        if (spans[k].n) memcpy(p, spans[k].v, spans[k].n * sizeof(float));
        p += spans[k].n * sizeof(float);
    }
    *len = total;
    return buf;
}

int ctl_report_send(int fd, int kind, uint32_t round, const char *json, const CtlFloats *spans, int n_spans, Err *e) {
    size_t len;
    uint8_t *buf = ctl_report_pack(json, spans, n_spans, &len);
    int rc = ctl_send(fd, kind, round, buf, len, e);
    free(buf);
    return rc;
}

int ctl_report_unpack(const uint8_t *p, size_t len, CtlReport *out) {
    memset(out, 0, sizeof *out);
    if (len < 4) return -1;
    uint32_t tl = get_u32(p);
    out->json_len = tl;
    if (tl > len - 4) return -1;
    out->json = (const char *)p + 4;
    out->json_len = tl;
    out->floats = p + 4 + tl;
    out->float_bytes = len - 4 - tl;
    return 0;
}
