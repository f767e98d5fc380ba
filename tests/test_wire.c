// Wire format tests: the header's byte layout and round trip, each rejection (magic, version, length,
// CRC), and the stream parser on frames split at every byte, frames back to back, and garbage.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"
#include "wire.h"

static FrameHeader sample_header(uint32_t len) {
    FrameHeader h = {0};
    h.kind = 0x0102;
    h.sender = 0x03040506u;
    h.receiver = 7;
    h.round = 0x1122334455667788ull;
    h.seq = 0xA0B0C0D0u;
    h.codec = 1;
    h.flags = 0x8001;
    h.payload_len = len;
    return h;
}

// A frame (header + payload of len pseudo-random bytes) in a fresh buffer.
static uint8_t *make_frame(uint32_t len, uint32_t salt, FrameHeader *h_out) {
    uint8_t *f = malloc(WIRE_HEADER_BYTES + len + 1);
    for (uint32_t i = 0; i < len; i++) f[WIRE_HEADER_BYTES + i] = (uint8_t)(i * 31 + salt);
    FrameHeader h = sample_header(len);
    h.seq = salt;
    wire_header_write(f, &h, f + WIRE_HEADER_BYTES);
    if (h_out) *h_out = h;
    return f;
}

static void assert_same_header(const FrameHeader *a, const FrameHeader *b) {
    cr_assert(a->magic == b->magic && a->version == b->version && a->kind == b->kind);
    cr_assert(a->sender == b->sender && a->receiver == b->receiver && a->round == b->round);
    cr_assert(a->seq == b->seq && a->codec == b->codec && a->flags == b->flags);
    cr_assert(a->payload_len == b->payload_len && a->checksum == b->checksum);
}

Test(wire, header_layout_and_round_trip) {
    FrameHeader h;
    uint8_t *f = make_frame(5, 9, &h);
    cr_assert_eq(h.magic, WIRE_MAGIC);
    cr_assert_eq(h.version, WIRE_VERSION);
    cr_assert(memcmp(f, "MSHT", 4) == 0, "magic bytes");
    // Little-endian fields at fixed offsets.
    cr_assert(f[4] == WIRE_VERSION && f[5] == 0, "version");
    cr_assert(f[6] == 0x02 && f[7] == 0x01, "kind");
    cr_assert(f[8] == 0x06 && f[11] == 0x03, "sender");
    cr_assert(f[16] == 0x88 && f[23] == 0x11, "round");
    cr_assert(f[24] == 9 && f[28] == 1 && f[30] == 0x01 && f[31] == 0x80, "seq, codec, flags");
    cr_assert(f[32] == 5 && f[33] == 0 && f[34] == 0 && f[35] == 0, "payload_len");
    uint32_t crc = (uint32_t)f[36] | (uint32_t)f[37] << 8 | (uint32_t)f[38] << 16 | (uint32_t)f[39] << 24;
    cr_assert_eq(crc, h.checksum);
    cr_assert(!memcmp(f + 40, h.tag, WIRE_TAG_BYTES), "tag at bytes 40..55");
    FrameHeader p;
    Err e = {{0}};
    cr_assert_eq(wire_header_parse(f, &p, WIRE_MAX_PAYLOAD, &e), 0, "%s", e.msg);
    assert_same_header(&p, &h);
    cr_assert_eq(wire_frame_verify(&p, f + WIRE_HEADER_BYTES, &e), 0, "%s", e.msg);
    free(f);
    // An empty payload (NULL) is a valid frame too.
    uint8_t b[WIRE_HEADER_BYTES];
    h = sample_header(0);
    wire_header_write(b, &h, NULL);
    cr_assert_eq(wire_header_parse(b, &p, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(wire_frame_verify(&p, NULL, &e), 0, "%s", e.msg);
}

// CRC-32C: the standard check value by every method this CPU has, and each fast method against the
// table on every length up to a few blocks and on unaligned starts (chains, folds, joins and tails).
static uint32_t crc_by(int method, const uint8_t *p, size_t n) {
    uint32_t c = 0;
    cr_assert_eq(wire_crc32c_by(method, p, n, &c), 0);
    return c;
}

Test(wire, crc32c_methods_agree) {
    cr_assert_eq(wire_crc32c("123456789", 9), 0xE3069283u);
    size_t max = 3 * 8192 * 2 + 3 * 256 + 123;
    uint8_t *b = malloc(max + 8);
    Rng r = rng_derive(5, 0);
    for (size_t i = 0; i < max + 8; i++) b[i] = (uint8_t)rng_u64(&r);
    for (int method = 0; method <= 2; method++) {
        uint32_t c;
        if (wire_crc32c_by(method, "123456789", 9, &c)) {
            cr_log_info("CRC-32C method %d: not on this CPU", method);
            continue;
        }
        cr_assert_eq(c, 0xE3069283u, "method %d", method);
        for (size_t n = 0; n < 2100; n++)
            cr_assert_eq(crc_by(method, b + n % 8, n), crc_by(0, b + n % 8, n), "method %d, length %zu", method, n);
        for (size_t n = 3 * 256 - 9; n <= max; n += 8191)
            for (size_t off = 0; off < 8; off += 3)
                cr_assert_eq(crc_by(method, b + off, n), crc_by(0, b + off, n), "method %d, length %zu at offset %zu",
                             method, n, off);
        size_t edges[] = {3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 6 * 8192, 6 * 8192 + 3 * 256, max};
        for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
            cr_assert_eq(crc_by(method, b, edges[k]), crc_by(0, b, edges[k]), "method %d, length %zu", method,
                         edges[k]);
    }
    for (size_t n = 0; n < 5000; n += 37) cr_assert_eq(wire_crc32c(b, n), crc_by(0, b, n), "length %zu", n);
    free(b);
}

static void expect_parse_error(const uint8_t *b, uint32_t max, const char *word) {
    FrameHeader p;
    Err e = {{0}};
    cr_assert_eq(wire_header_parse(b, &p, max, &e), -1, "accepted (%s)", word);
    cr_assert(strstr(e.msg, word), "message '%s' lacks '%s'", e.msg, word);
}

Test(wire, header_rejections) {
    uint8_t *f = make_frame(100, 1, NULL);
    uint8_t b[WIRE_HEADER_BYTES];
    memcpy(b, f, sizeof b);
    b[0] = 'X';
    expect_parse_error(b, WIRE_MAX_PAYLOAD, "bad magic 0x");
    memcpy(b, f, sizeof b);
    b[4] = 1;   // the version before frames carried a MAC tag
    expect_parse_error(b, WIRE_MAX_PAYLOAD, "unknown wire version 1");
    memcpy(b, f, sizeof b);
    expect_parse_error(b, 99, "payload_len 100 exceeds the limit of 99");
    b[32] = 0xff; b[33] = 0xff; b[34] = 0xff; b[35] = 0xff;
    expect_parse_error(b, WIRE_MAX_PAYLOAD, "payload_len 4294967295");
    // CRC: a flipped payload byte, and a changed header field.
    FrameHeader p;
    Err e = {{0}};
    memcpy(b, f, sizeof b);
    cr_assert_eq(wire_header_parse(b, &p, WIRE_MAX_PAYLOAD, &e), 0);
    f[WIRE_HEADER_BYTES + 50] ^= 0x10;
    cr_assert_eq(wire_frame_verify(&p, f + WIRE_HEADER_BYTES, &e), -1);
    cr_assert(strstr(e.msg, "CRC-32"), "message: %s", e.msg);
    f[WIRE_HEADER_BYTES + 50] ^= 0x10;
    p.receiver ^= 1;
    cr_assert_eq(wire_frame_verify(&p, f + WIRE_HEADER_BYTES, &e), -1, "header change not caught");
    p.receiver ^= 1;
    cr_assert_eq(wire_frame_verify(&p, f + WIRE_HEADER_BYTES, &e), 0, "%s", e.msg);
    free(f);
}

// Feed buf in pieces of the given sizes (the last takes the rest); collect the frames' seq numbers.
static int feed_all(FrameReader *r, const uint8_t *buf, size_t len, const size_t *cuts, int ncuts, uint32_t *seqs,
                    int max_frames, Err *e) {
    int frames = 0;
    size_t pos = 0;
    for (int c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        while (pos < end) {
            size_t used = 0;
            int rc = frame_reader_feed(r, buf + pos, end - pos, &used, e);
            cr_assert(used <= end - pos);
            pos += used;
            if (rc < 0) return -1;
            if (rc == 0) { cr_assert_eq(pos, end, "0 but bytes left"); break; }
            cr_assert_lt(frames, max_frames);
            // The payload is valid and complete until the next feed.
            cr_assert_eq(wire_frame_verify(&r->h, r->payload, e), 0);
            seqs[frames++] = r->h.seq;
        }
    }
    return frames;
}

Test(wire, frame_split_at_every_byte) {
    FrameHeader h;
    uint32_t plen = 77;
    uint8_t *f = make_frame(plen, 42, &h);
    size_t len = WIRE_HEADER_BYTES + plen;
    for (size_t cut = 0; cut <= len; cut++) {
        FrameReader r;
        frame_reader_init(&r, 1000);
        Err e = {{0}};
        uint32_t seq[2];
        cr_assert_eq(feed_all(&r, f, len, &cut, 1, seq, 2, &e), 1, "split at %zu: %s", cut, e.msg);
        assert_same_header(&r.h, &h);
        cr_assert(memcmp(r.payload, f + WIRE_HEADER_BYTES, plen) == 0);
        frame_reader_free(&r);
    }
    // Byte by byte, and in three pieces at every pair of cuts (a sample of them).
    size_t cuts[200];
    for (size_t i = 0; i < len - 1; i++) cuts[i] = i + 1;
    FrameReader r;
    frame_reader_init(&r, 1000);
    Err e = {{0}};
    uint32_t seq[2];
    cr_assert_eq(feed_all(&r, f, len, cuts, (int)len - 1, seq, 2, &e), 1, "%s", e.msg);
    frame_reader_free(&r);
    for (size_t a = 0; a <= len; a += 3)
        for (size_t b = a; b <= len; b += 5) {
            size_t two[2] = {a, b};
            frame_reader_init(&r, 1000);
            cr_assert_eq(feed_all(&r, f, len, two, 2, seq, 2, &e), 1, "cuts %zu %zu: %s", a, b, e.msg);
            frame_reader_free(&r);
        }
    free(f);
}

Test(wire, several_frames_in_one_feed) {
    uint32_t lens[4] = {10, 0, 300, 1};
    size_t total = 0, off = 0;
    for (int i = 0; i < 4; i++) total += WIRE_HEADER_BYTES + lens[i];
    uint8_t *buf = malloc(total);
    for (int i = 0; i < 4; i++) {
        uint8_t *f = make_frame(lens[i], 100 + (uint32_t)i, NULL);
        memcpy(buf + off, f, WIRE_HEADER_BYTES + lens[i]);
        off += WIRE_HEADER_BYTES + lens[i];
        free(f);
    }
    FrameReader r;
    frame_reader_init(&r, 1000);
    Err e = {{0}};
    size_t pos = 0, used;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(frame_reader_feed(&r, buf + pos, total - pos, &used, &e), 1, "frame %d: %s", i, e.msg);
        cr_assert_eq(used, WIRE_HEADER_BYTES + lens[i], "frame %d used %zu", i, used);
        cr_assert_eq(r.h.seq, 100 + (uint32_t)i);
        cr_assert_eq(r.h.payload_len, lens[i]);
        pos += used;
    }
    cr_assert_eq(frame_reader_feed(&r, buf + pos, 0, &used, &e), 0);
    cr_assert_eq(used, 0);
    frame_reader_free(&r);
    // Split everywhere too: four frames each time.
    for (size_t cut = 0; cut <= total; cut += 7) {
        frame_reader_init(&r, 1000);
        uint32_t seq[4];
        cr_assert_eq(feed_all(&r, buf, total, &cut, 1, seq, 4, &e), 4, "cut %zu: %s", cut, e.msg);
        for (int i = 0; i < 4; i++) cr_assert_eq(seq[i], 100 + (uint32_t)i);
        frame_reader_free(&r);
    }
    free(buf);
}

static void expect_stream_error(uint8_t *f, size_t len, uint32_t max, const char *word) {
    FrameReader r;
    frame_reader_init(&r, max);
    Err e = {{0}};
    size_t used = 0;
    cr_assert_eq(frame_reader_feed(&r, f, len, &used, &e), -1, "accepted (%s)", word);
    cr_assert(strstr(e.msg, word), "message '%s' lacks '%s'", e.msg, word);
    // Sticky: the stream cannot be resynchronized.
    cr_assert_eq(frame_reader_feed(&r, f, len, &used, &e), -1);
    cr_assert(strstr(e.msg, "resynchronized"), "%s", e.msg);
    frame_reader_free(&r);
}

Test(wire, reader_rejections) {
    size_t len = WIRE_HEADER_BYTES + 64;
    uint8_t *f = make_frame(64, 3, NULL);
    f[1] ^= 0xff;
    expect_stream_error(f, len, 1000, "bad magic");
    f[1] ^= 0xff;
    f[5] = 1;
    expect_stream_error(f, len, 1000, "version 258");
    f[5] = 0;
    f[WIRE_HEADER_BYTES + 3] ^= 1;
    expect_stream_error(f, len, 1000, "CRC-32");
    f[WIRE_HEADER_BYTES + 3] ^= 1;
    // Too long: refused from the header alone, before any allocation.
    FrameReader r;
    frame_reader_init(&r, 63);
    Err e = {{0}};
    size_t used;
    cr_assert_eq(frame_reader_feed(&r, f, WIRE_HEADER_BYTES, &used, &e), -1);
    cr_assert(strstr(e.msg, "payload_len 64 exceeds the limit of 63"), "%s", e.msg);
    cr_assert_null(r.payload);
    cr_assert_eq(r.payload_cap, 0);
    frame_reader_free(&r);
    free(f);
}

Test(wire, garbage_never_crashes) {
    Rng g;
    rng_seed(&g, 5);
    uint8_t *frame = make_frame(20, 1, NULL);
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = rng_below(&g, 400);
        uint8_t *buf = malloc(len + 1);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rng_below(&g, 256);
        // Half the time start from a real frame with a few bytes changed, to get past the magic.
        if (len >= 60 && rng_below(&g, 2)) {
            memcpy(buf, frame, 60);
            for (int k = 0; k < 3; k++) buf[rng_below(&g, 60)] ^= (uint8_t)(1u << rng_below(&g, 8));
        }
        FrameReader r;
        frame_reader_init(&r, 1u << rng_below(&g, 12));
        Err e = {{0}};
        size_t pos = 0;
        while (pos < len) {
            size_t chunk = 1 + rng_below(&g, 64), used = 0;
            if (chunk > len - pos) chunk = len - pos;
            int rc = frame_reader_feed(&r, buf + pos, chunk, &used, &e);
            cr_assert(used <= chunk);
            pos += used;
            if (rc < 0) { cr_assert(e.msg[0]); break; }
        }
        frame_reader_free(&r);
        free(buf);
    }
    free(frame);
}
