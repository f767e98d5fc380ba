// The frame header packed and parsed byte by byte (little-endian on every host), its CRC-32, and the
// incremental stream parser that checks magic, version and length before it trusts or allocates anything.
#include "wire.h"
#include "bytes.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Byte offsets of the fields in the 40-byte header.
enum {
    OFF_MAGIC = 0, OFF_VERSION = 4, OFF_KIND = 6, OFF_SENDER = 8, OFF_RECEIVER = 12, OFF_ROUND = 16,
    OFF_SEQ = 24, OFF_CODEC = 28, OFF_FLAGS = 30, OFF_LEN = 32, OFF_CHECKSUM = 36, OFF_TAG = 40
};

// Serialize every field of h as it stands, with `checksum` in the checksum slot.
static void header_pack(uint8_t out[WIRE_HEADER_BYTES], const FrameHeader *h, uint32_t checksum) {
    put_u32(out + OFF_MAGIC, h->magic);
    put_u16(out + OFF_VERSION, h->version);
    put_u16(out + OFF_KIND, h->kind);
    put_u32(out + OFF_SENDER, h->sender);
    put_u32(out + OFF_RECEIVER, h->receiver);
    put_u64(out + OFF_ROUND, h->round);
    put_u32(out + OFF_SEQ, h->seq);
    put_u16(out + OFF_CODEC, h->codec);
    put_u16(out + OFF_FLAGS, h->flags);
    put_u32(out + OFF_LEN, h->payload_len);
    put_u32(out + OFF_CHECKSUM, checksum);
    memcpy(out + OFF_TAG, h->tag, WIRE_TAG_BYTES);
}

void wire_header_prefix(uint8_t out[WIRE_MAC_COVERS], const FrameHeader *h) {
    uint8_t b[WIRE_HEADER_BYTES];
    header_pack(b, h, 0);
    memcpy(out, b, WIRE_MAC_COVERS);
}

// CRC-32C (Castagnoli): the SSE4.2 instruction where the CPU has it, else a table; both give the
// same value. The instruction's latency is three cycles and its throughput one per cycle, so one
// chain runs at a third of the speed: big buffers go through three independent chains over adjacent
// blocks, joined by "append this many zero bytes" operators (Mark Adler's crc32c.c). A 247 KB dense
// LeNet-5 message takes about 12 us instead of 35 us, on each side of every link.
#define CRC32C_POLY 0x82F63B78u
#define CRC_LONG 8192    // block of each chain for large buffers
#define CRC_SHORT 256    // and for the rest
static uint32_t crc32c_table[256];
static int crc32c_has_hw, crc32c_has_fold;
static uint32_t crc32c_long[4][256], crc32c_short[4][256];   // zeros operators, one table per byte

// GF(2) matrix (32 columns) times a vector.
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1) sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

// Lookup tables for the operator that appends len zero bytes (len a power of two) to a CRC register.
static void crc32c_zeros(uint32_t zeros[4][256], size_t len) {
    uint32_t op[32], sq[32];
    op[0] = CRC32C_POLY;   // one zero bit
    for (int n = 1; n < 32; n++) op[n] = 1u << (n - 1);
    for (size_t bits = 8 * len; bits > 1; bits >>= 1) {
        gf2_square(sq, op);
        memcpy(op, sq, sizeof op);
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++) zeros[k][n] = gf2_times(op, n << (8 * k));
}

static uint32_t crc32c_shift(uint32_t zeros[4][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

#if defined(__x86_64__)
// Folding with carry-less multiplication (VPCLMULQDQ on 512-bit registers, four 128-bit lanes each),
// for CPUs that have it: 64 bytes per instruction pair instead of 8 per crc32, so a 247 KB message
// costs a few microseconds. A 128-bit block F of the stream stands for the polynomial whose first bit
// is its highest term; moving it D bits further is multiplying by x^D mod P, which is one carry-less
// product per 64-bit half: its first half by x^(63+D) mod P, its second by x^(D-1) mod P (one less
// than the plain powers because the product of two reflected 64-bit halves comes out one bit short).
// The last 128 bits left are turned into the CRC register by two crc32 instructions.
#define FOLD_BLOCK 256   // bytes per step: four registers of 64 bytes

// x^n mod P (P = CRC-32C's polynomial, bit d the coefficient of x^d), in the reflected 64-bit form
// a carry-less product multiplies by (the coefficient of x^d at bit 63 - d).
static uint64_t fold_const(unsigned n) {
    uint64_t r = 1, k = 0;
    for (unsigned i = 0; i < n; i++) {
        r <<= 1;
        if (r >> 32 & 1) r ^= 0x11EDC6F41ull;
    }
    for (int d = 0; d < 32; d++)
        if (r >> d & 1) k |= 1ull << (63 - d);
    return k;
}

// Per 128-bit lane, the two constants that move a block by D bits: one step (FOLD_BLOCK), the
// registers onto the last one (192, 128, 64 bytes), and lanes 0..2 of that onto lane 3.
static uint64_t fold_step[2], fold_regs[3][2], fold_lanes[8];

static void crc32c_fold_init(void) {
    fold_step[0] = fold_const(63 + 8 * FOLD_BLOCK);
    fold_step[1] = fold_const(8 * FOLD_BLOCK - 1);
    for (int r = 0; r < 3; r++) {
        unsigned d = 8 * 64 * (unsigned)(3 - r);
        fold_regs[r][0] = fold_const(63 + d);
        fold_regs[r][1] = fold_const(d - 1);
    }
    for (int l = 0; l < 3; l++) {
        unsigned d = 128 * (unsigned)(3 - l);
        fold_lanes[2 * l] = fold_const(63 + d);
        fold_lanes[2 * l + 1] = fold_const(d - 1);
    }
    fold_lanes[6] = fold_lanes[7] = 0;
}

__attribute__((target("avx512f,vpclmulqdq"))) static inline __m512i fold512(__m512i a, __m512i k, __m512i next) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a, k, 0x00), _mm512_clmulepi64_epi128(a, k, 0x11), next,
                                     0x96);
}

// The CRC register after n bytes (n a positive multiple of FOLD_BLOCK) from register crc.
__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) static uint32_t crc32c_fold(uint32_t crc, const uint8_t *p,
                                                                                 size_t n) {
    // The register enters as the first 32 bits of the stream (the CRC is linear).
    __m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
    __m512i a1 = _mm512_loadu_si512(p + 64), a2 = _mm512_loadu_si512(p + 128), a3 = _mm512_loadu_si512(p + 192);
    __m512i k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)fold_step[1], (long long)fold_step[0]));
    for (p += FOLD_BLOCK, n -= FOLD_BLOCK; n; p += FOLD_BLOCK, n -= FOLD_BLOCK) {
        a0 = fold512(a0, k, _mm512_loadu_si512(p));
        a1 = fold512(a1, k, _mm512_loadu_si512(p + 64));
        a2 = fold512(a2, k, _mm512_loadu_si512(p + 128));
        a3 = fold512(a3, k, _mm512_loadu_si512(p + 192));
    }
    __m512i kr[3];
    for (int r = 0; r < 3; r++)
        kr[r] = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)fold_regs[r][1], (long long)fold_regs[r][0]));
    __m512i t = fold512(a0, kr[0], fold512(a1, kr[1], fold512(a2, kr[2], a3)));
    __m512i kl = _mm512_loadu_si512(fold_lanes);
    __m512i u = _mm512_xor_si512(_mm512_clmulepi64_epi128(t, kl, 0x00), _mm512_clmulepi64_epi128(t, kl, 0x11));
    __m128i last = _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(u, 0), _mm512_extracti32x4_epi32(u, 1)),
                                 _mm_xor_si128(_mm512_extracti32x4_epi32(u, 2), _mm512_extracti32x4_epi32(t, 3)));
    uint64_t c = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(last));
    return (uint32_t)__builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(last, 1));
}
#endif

// Filled once before main, so agents running as threads never see a half-filled table.
__attribute__((constructor)) static void crc32c_table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc32c_table[i] = c;
    }
    crc32c_zeros(crc32c_long, CRC_LONG);
    crc32c_zeros(crc32c_short, CRC_SHORT);
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_has_hw = __builtin_cpu_supports("sse4.2");
    crc32c_has_fold = crc32c_has_hw && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
    crc32c_fold_init();
#endif
}

static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) crc = crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

// Three chains over blocks of `block` bytes each, while at least 3 * block bytes remain.
#define CRC_THREE_WAY(block, zeros)                                                           \
    while (n >= 3 * (block)) {                                                                 \
        uint64_t c1 = 0, c2 = 0;                                                               \
        for (const uint8_t *end = p + (block); p < end; p += 8) {                              \
            c0 = __builtin_ia32_crc32di(c0, load64(p));                                        \
            c1 = __builtin_ia32_crc32di(c1, load64(p + (block)));                              \
            c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * (block)));                          \
        }                                                                                      \
        c0 = crc32c_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;                                 \
        c0 = crc32c_shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;                                 \
        p += 2 * (block);                                                                      \
        n -= 3 * (block);                                                                      \
    }

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c0 = crc;
    CRC_THREE_WAY(CRC_LONG, crc32c_long)
    CRC_THREE_WAY(CRC_SHORT, crc32c_short)
    for (; n >= 8; p += 8, n -= 8) c0 = __builtin_ia32_crc32di(c0, load64(p));
    uint32_t c32 = (uint32_t)c0;
    for (; n; p++, n--) c32 = __builtin_ia32_crc32qi(c32, *p);
    return c32;
}
#endif

static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n) {
#if defined(__x86_64__)
    if (crc32c_has_fold && n >= 4 * FOLD_BLOCK) {
        size_t m = n - n % FOLD_BLOCK;
        crc = crc32c_fold(crc, p, m);
        p += m;
        n -= m;
    }
    if (crc32c_has_hw) return crc32c_hw(crc, p, n);
#endif
    return crc32c_soft(crc, p, n);
}

uint32_t wire_crc32c(const void *data, size_t n) { return crc32c(0xFFFFFFFFu, data, n) ^ 0xFFFFFFFFu; }
int wire_crc32c_by(int method, const void *data, size_t n, uint32_t *out) {
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    if (method == 0) crc = crc32c_soft(crc, p, n);
#if defined(__x86_64__)
    else if (method == 1 && crc32c_has_hw) crc = crc32c_hw(crc, p, n);
    else if (method == 2 && crc32c_has_fold) {
        size_t m = n - n % FOLD_BLOCK;
        if (m) crc = crc32c_fold(crc, p, m);
        crc = crc32c_hw(crc, p + m, n - m);
    }
#endif
    else return -1;
    *out = crc ^ 0xFFFFFFFFu;
    return 0;
}

// CRC-32C of the header (checksum field zero) followed by the payload's pieces.
static uint32_t frame_crc(const FrameHeader *h, const struct iovec *parts, int n_parts) {
    uint8_t b[WIRE_HEADER_BYTES];
    header_pack(b, h, 0);
    uint32_t crc = crc32c(0xFFFFFFFFu, b, WIRE_HEADER_BYTES);
    for (int k = 0; k < n_parts; k++)
        if (parts[k].iov_len) crc = crc32c(crc, parts[k].iov_base, parts[k].iov_len);
    return crc ^ 0xFFFFFFFFu;
}

void wire_header_writev(uint8_t out[WIRE_HEADER_BYTES], FrameHeader *h, const struct iovec *parts, int n_parts) {
    h->magic = WIRE_MAGIC;
    h->version = WIRE_VERSION;
    h->checksum = frame_crc(h, parts, n_parts);
    header_pack(out, h, h->checksum);
}

// The caller sets h->payload_len (the header has no length argument) and every routing field; payload
// may be NULL only when payload_len is 0.
void wire_header_write(uint8_t out[WIRE_HEADER_BYTES], FrameHeader *h, const uint8_t *payload) {
    struct iovec part = {(void *)payload, h->payload_len};
    wire_header_writev(out, h, &part, 1);
}

int wire_header_parse(const uint8_t *buf, FrameHeader *h, uint32_t max_payload, Err *e) {
    FrameHeader r;
    r.magic = get_u32(buf + OFF_MAGIC);
    r.version = get_u16(buf + OFF_VERSION);
    r.kind = get_u16(buf + OFF_KIND);
    r.sender = get_u32(buf + OFF_SENDER);
    r.receiver = get_u32(buf + OFF_RECEIVER);
    r.round = get_u64(buf + OFF_ROUND);
    r.seq = get_u32(buf + OFF_SEQ);
    r.codec = get_u16(buf + OFF_CODEC);
    r.flags = get_u16(buf + OFF_FLAGS);
    r.payload_len = get_u32(buf + OFF_LEN);
    r.checksum = get_u32(buf + OFF_CHECKSUM);
    memcpy(r.tag, buf + OFF_TAG, WIRE_TAG_BYTES);
    if (r.magic != WIRE_MAGIC) {
        err_set(e, "frame header: bad magic 0x%08x, expected 0x%08x (\"MSHT\"): not a meshtrain stream or out of sync",
                r.magic, WIRE_MAGIC);
        return -1;
    }
    if (r.version != WIRE_VERSION) {
        err_set(e, "frame header: unknown wire version %u, this build speaks version %u", (unsigned)r.version,
                (unsigned)WIRE_VERSION);
        return -1;
    }
    if (r.payload_len > max_payload) {
        err_set(e, "frame header: payload_len %u exceeds the limit of %u bytes (sender %u, round %llu)",
                r.payload_len, max_payload, r.sender, (unsigned long long)r.round);
        return -1;
    }
    *h = r;
    return 0;
}

int wire_frame_verify(const FrameHeader *h, const uint8_t *payload, Err *e) {
    struct iovec part = {(void *)payload, h->payload_len};
    uint32_t crc = frame_crc(h, &part, 1);
    if (crc != h->checksum) {
        err_set(e, "frame from %u to %u (round %llu, seq %u, %u payload bytes): CRC-32 0x%08x, header says 0x%08x",
                h->sender, h->receiver, (unsigned long long)h->round, h->seq, h->payload_len, crc, h->checksum);
        return -1;
    }
    return 0;
}

void frame_reader_init(FrameReader *r, uint32_t max_payload) {
    memset(r, 0, sizeof *r);
    r->max_payload = max_payload;
}

void frame_reader_free(FrameReader *r) {
    free(r->payload);
    r->payload = NULL;
    r->payload_cap = 0;
}

// in_payload is 0 while reading a header, 1 while reading a payload, and -1 once the stream has failed
// (a length-prefixed stream cannot be resynchronized, so every later feed fails too).
enum { READ_HEADER = 0, READ_PAYLOAD = 1, READ_FAILED = -1 };

// The header is complete: check it, and make room for its (now checked) payload length.
static int reader_take_header(FrameReader *r, Err *e) {
    if (wire_header_parse(r->hdr, &r->h, r->max_payload, e) != 0) return -1;
    if (r->h.payload_len > r->payload_cap) {
        free(r->payload);
        r->payload = xmalloc(r->h.payload_len);
        r->payload_cap = r->h.payload_len;
    }
    r->payload_have = 0;
    r->in_payload = READ_PAYLOAD;
    return 0;
}

int frame_reader_feed(FrameReader *r, const uint8_t *data, size_t n, size_t *used, Err *e) {
    size_t pos = 0;
    int rc = 0;
    if (r->in_payload == READ_FAILED) {
        err_set(e, "frame stream: an earlier frame was bad; the stream cannot be resynchronized");
        rc = -1;
    }
    while (rc == 0) {
        if (r->in_payload == READ_HEADER) {
            if (pos == n) break;
            size_t take = WIRE_HEADER_BYTES - r->hdr_have;
            if (take > n - pos) take = n - pos;
            memcpy(r->hdr + r->hdr_have, data + pos, take);
            r->hdr_have += take;
            pos += take;
            if (r->hdr_have < WIRE_HEADER_BYTES) break;
            if (reader_take_header(r, e) != 0) { rc = -1; break; }
        }
        size_t take = r->h.payload_len - r->payload_have;
        if (take > n - pos) take = n - pos;
        if (take) memcpy(r->payload + r->payload_have, data + pos, take);
        r->payload_have += take;
        pos += take;
        if (r->payload_have < r->h.payload_len) break;
        // A whole frame: verify it, then reset so the next feed starts a new header (r->h and
        // r->payload stay valid for the caller until then).
        r->hdr_have = 0;
        r->in_payload = READ_HEADER;
        rc = wire_frame_verify(&r->h, r->payload, e) == 0 ? 1 : -1;
    }
    if (rc < 0) r->in_payload = READ_FAILED;
    if (used) *used = pos;
    return rc;
}

size_t frame_reader_header_want(const FrameReader *r) {
    return r->in_payload == READ_HEADER ? WIRE_HEADER_BYTES - r->hdr_have : 0;
}

uint8_t *frame_reader_space(FrameReader *r, size_t *want) {
    if (r->in_payload != READ_PAYLOAD || r->payload_have >= r->h.payload_len) return NULL;
    *want = r->h.payload_len - r->payload_have;
    return r->payload + r->payload_have;
}

int frame_reader_wrote(FrameReader *r, size_t n, Err *e) {
    r->payload_have += n;
    if (r->payload_have < r->h.payload_len) return 0;
    r->hdr_have = 0;
    r->in_payload = READ_HEADER;
    if (wire_frame_verify(&r->h, r->payload, e) == 0) return 1;
    r->in_payload = READ_FAILED;
    return -1;
}
