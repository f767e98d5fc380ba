// The wire format between agents: a fixed little-endian frame header (magic, version, sender,
// receiver, round, sequence, kind, codec, payload length, CRC-32C, MAC tag), and a stream parser that
// never trusts a length it has not checked. The tag is the connection's (comm/auth.h); wire.c only
// carries it.
#ifndef MESHTRAIN_WIRE_H
#define MESHTRAIN_WIRE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "util.h"

#define WIRE_MAGIC 0x5448534Du        // "MSHT" little-endian
#define WIRE_VERSION 2
#define WIRE_HEADER_BYTES 56
#define WIRE_MAC_COVERS 36            // a frame's MAC covers header bytes [0, 36) (all but checksum and tag)
#define WIRE_TAG_BYTES 16
#define WIRE_FLAG_MAC 1u              // flags: the tag is a MAC under the connection's key
#define WIRE_MAX_PAYLOAD (64u << 20)  // default bound on one frame's payload

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t kind;          // message kind (the algorithm's; see alg.h)
    uint32_t sender, receiver;
    uint64_t round;
    uint32_t seq;           // per directed link, increasing
    uint16_t codec;         // CodecId of the payload
    uint16_t flags;
    uint32_t payload_len;
    uint32_t checksum;      // CRC-32C of the header (checksum field zero) and the payload
    uint8_t tag[WIRE_TAG_BYTES];   // with WIRE_FLAG_MAC: MAC of header bytes [0, 36) and the payload
} FrameHeader;

// The header's first WIRE_MAC_COVERS bytes as they go on the wire (what a frame's MAC covers).
void wire_header_prefix(uint8_t out[WIRE_MAC_COVERS], const FrameHeader *h);

// Fill h->magic, h->version and h->checksum (the caller sets payload_len; payload may be NULL only
// when it is 0) and write the 40-byte header to out.
void wire_header_write(uint8_t out[WIRE_HEADER_BYTES], FrameHeader *h, const uint8_t *payload);
// The same for a payload in pieces (sent as they lie, with writev): h->payload_len must be their total.
void wire_header_writev(uint8_t out[WIRE_HEADER_BYTES], FrameHeader *h, const struct iovec *parts, int n_parts);
// Parse and check a header (magic, version, payload_len <= max_payload). 0, or -1 and e.
int wire_header_parse(const uint8_t *buf, FrameHeader *h, uint32_t max_payload, Err *e);
// Check the CRC of a parsed header against its payload. 0, or -1 and e.
int wire_frame_verify(const FrameHeader *h, const uint8_t *payload, Err *e);

// CRC-32C of n bytes (the frames' checksum), the fastest way this CPU allows.
uint32_t wire_crc32c(const void *data, size_t n);
// For tests, which check that every method agrees: by the table (method 0), the crc32 instruction
// (1), or carry-less folding (2). 0 and *out, or -1 when this CPU lacks the method.
int wire_crc32c_by(int method, const void *data, size_t n, uint32_t *out);

// Incremental parser for a byte stream (a TCP connection): feed bytes as they arrive, take frames out.
typedef struct {
    uint32_t max_payload;
    uint8_t hdr[WIRE_HEADER_BYTES];
    size_t hdr_have;
    FrameHeader h;
    uint8_t *payload;       // grows to the largest checked payload_len seen
    size_t payload_cap, payload_have;
    int in_payload;
} FrameReader;

void frame_reader_init(FrameReader *r, uint32_t max_payload);
void frame_reader_free(FrameReader *r);
// Consume up to n bytes. Returns 1 when a whole, verified frame is ready (*used = bytes consumed;
// read it from r->h and r->payload, then call again with the rest), 0 when more bytes are needed
// (all n consumed), -1 on a bad frame (e says why; the stream cannot be resynchronized).
int frame_reader_feed(FrameReader *r, const uint8_t *data, size_t n, size_t *used, Err *e);

// While a header is being read: how many of its bytes are still missing (0 otherwise).
size_t frame_reader_header_want(const FrameReader *r);
// While a payload is being read: where its next bytes go and how many are still wanted, so a socket
// can read straight into it (NULL when a header is expected or the stream failed).
uint8_t *frame_reader_space(FrameReader *r, size_t *want);
// n bytes were written at frame_reader_space: 1 when they completed a verified frame, 0 when more
// are needed, -1 and e on a bad checksum.
int frame_reader_wrote(FrameReader *r, size_t n, Err *e);

#endif
