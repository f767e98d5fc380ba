// libFuzzer target for everything that reads bytes from a peer: the frame stream parser (fed in
// random-size chunks) and every codec's decoder on each frame's payload, against a small tensor table;
// and every encoder on fuzz-chosen floats (encode, decode, compare with q).
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "wire.h"

// A small table with empty, size-1 and longer tensors; 64 entries in all.
static const Span TABLE[] = {{0, 3}, {3, 0}, {3, 1}, {4, 17}, {21, 40}, {61, 0}, {61, 3}};
#define NT ((int)(sizeof TABLE / sizeof TABLE[0]))
#define N 64

// Decode with every codec; a rejected payload must leave out untouched.
static void decode_all(const uint8_t *payload, size_t len, uint64_t seed) {
    for (int id = 0; id <= CODEC_TOPK8; id++) {
        const Codec *c = codec_for_id((CodecId)id);
        float out[N], snap[N];
        for (int i = 0; i < N; i++) out[i] = snap[i] = (float)i;
        Err e = {{0}};
        if (c->ops->decode(c, payload, len, N, TABLE, NT, seed, 0.5f, out, &e) != 0) {
            if (!e.msg[0] || memcmp(out, snap, sizeof out) != 0) abort();
        }
    }
}

// Feed stream[0..len) in chunks whose sizes come from a generator seeded by `salt`; decode every frame.
// Returns the number of complete frames.
static int feed_chunks(const uint8_t *stream, size_t len, uint32_t salt, const uint8_t *expect, size_t expect_len) {
    FrameReader r;
    frame_reader_init(&r, 4096);
    uint32_t s = salt * 2654435761u + 1;
    size_t pos = 0;
    int frames = 0;
    while (pos < len) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        size_t chunk = 1 + s % 67, used = 0;
        if (chunk > len - pos) chunk = len - pos;
        Err e = {{0}};
        int rc = frame_reader_feed(&r, stream + pos, chunk, &used, &e);
        if (used > chunk) abort();
        pos += used;
        if (rc < 0) {
            if (!e.msg[0]) abort();
            break;
        }
        if (rc == 1) {
            frames++;
            if (expect && (r.h.payload_len != expect_len || (expect_len && memcmp(r.payload, expect, expect_len))))
                abort();
            decode_all(r.payload, r.h.payload_len, r.h.round);
        }
    }
    frame_reader_free(&r);
    return frames;
}

// Encode fuzz-chosen floats (NaN, infinities, denormals, ties) with every codec and check the payload fits
// bound() and decodes to q (equal as floats: 0 + -0 decodes to +0, and NaN payload bits may change).
static void encode_all(const uint8_t *bytes, size_t len, uint32_t salt) {
    float x[N] = {0}, q[N], out[N];
    memcpy(x, bytes, len < sizeof x ? len : sizeof x);
    static const char *const names[] = {"dense", "topk", "randk", "sign", "q8", "topk8"};
    uint8_t buf[1024];
    for (int i = 0; i < 6; i++) {
        Codec c;
        Err e = {{0}};
        if (codec_init(&c, names[i], (double)(salt % 100 + 1) / 100.0, &e) != 0) abort();
        c.stochastic = (int)(salt & 1);
        size_t cap = c.ops->bound(&c, N, NT);
        if (cap > sizeof buf) abort();
        long n = c.ops->encode(&c, x, N, TABLE, NT, salt, buf, cap, q);
        if (n < 0 || (size_t)n > cap) abort();
        memset(out, 0, sizeof out);
        if (c.ops->decode(&c, buf, (size_t)n, N, TABLE, NT, salt, 1.0f, out, &e) != 0) abort();
        for (int j = 0; j < N; j++)
            if (!(out[j] == q[j] || (out[j] != out[j] && q[j] != q[j]))) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint32_t salt = data[0];
    // 1. The raw bytes as a stream (headers, lengths, CRCs all untrusted).
    feed_chunks(data + 1, size - 1, salt, NULL, 0);
    // 2. The bytes as the payload of a valid frame (the CRC would otherwise keep the fuzzer away
    //    from the decoders): exactly one frame must come back, byte for byte.
    size_t plen = size - 1;
    if (plen > 4096) plen = 4096;
    uint8_t *frame = malloc(WIRE_HEADER_BYTES + plen + 1);
    memcpy(frame + WIRE_HEADER_BYTES, data + 1, plen);
    FrameHeader h = {0};
    h.round = salt;
    h.payload_len = (uint32_t)plen;
    wire_header_write(frame, &h, frame + WIRE_HEADER_BYTES);
    if (feed_chunks(frame, WIRE_HEADER_BYTES + plen, salt + 1, data + 1, plen) != 1) abort();
    free(frame);
    // 3. The bytes as a vector to encode.
    encode_all(data + 1, size - 1, salt);
    return 0;
}
