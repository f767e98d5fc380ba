// The run's keys, the handshake's messages and the frame MAC (see auth.h), on libsodium: BLAKE2b for
// key derivation, HMAC-SHA-512/256 for the handshake's proofs, ChaCha20 + Poly1305 for frames (Poly1305
// through poly1305.c: the same tag, computed ~3x faster on large frames).
#include "auth.h"
#include <sodium.h>
#include <string.h>
#include "bytes.h"
#include "poly1305.h"

#define AUTH_VERSION 1

static void sodium_ready(void) {
    if (sodium_init() < 0) { fprintf(stderr, "meshtrain: libsodium could not initialize\n"); abort(); }
}

void auth_random(void *buf, size_t n) {
    sodium_ready();
    randombytes_buf(buf, n);
}

void auth_pair_key(uint8_t out[AUTH_KEY_BYTES], const uint8_t run_key[AUTH_KEY_BYTES], int a, int b) {
    sodium_ready();
    uint8_t in[24] = "meshtrain pair v1";   // 17 bytes, then the two ids
    put_u32(in + 16, (uint32_t)(a < b ? a : b));
    put_u32(in + 20, (uint32_t)(a < b ? b : a));
    crypto_generichash(out, AUTH_KEY_BYTES, in, sizeof in, run_key, AUTH_KEY_BYTES);
}

void auth_key_to_hex(char out[2 * AUTH_KEY_BYTES + 1], const uint8_t key[AUTH_KEY_BYTES]) {
    sodium_bin2hex(out, 2 * AUTH_KEY_BYTES + 1, key, AUTH_KEY_BYTES);
}

int auth_key_from_hex(uint8_t out[AUTH_KEY_BYTES], const char *hex) {
    size_t got = 0;
    if (!hex || strlen(hex) != 2 * AUTH_KEY_BYTES) return -1;
    if (sodium_hex2bin(out, AUTH_KEY_BYTES, hex, 2 * AUTH_KEY_BYTES, NULL, &got, NULL) || got != AUTH_KEY_BYTES)
        return -1;
    return 0;
}

void auth_hello_make(uint8_t out[AUTH_HELLO_BYTES], int from, int to, unsigned flags) {
    put_u32(out, AUTH_MAGIC);
    put_u16(out + 4, AUTH_VERSION);
    put_u16(out + 6, (uint16_t)flags);
    put_u32(out + 8, (uint32_t)from);
    put_u32(out + 12, (uint32_t)to);
    if (flags & AUTH_FLAG_ON) auth_random(out + 16, AUTH_NONCE_BYTES);
    else memset(out + 16, 0, AUTH_NONCE_BYTES);
}

int auth_hello_parse(const uint8_t in[AUTH_HELLO_BYTES], int *from, int *to, unsigned *flags, Err *e) {
    if (get_u32(in) != AUTH_MAGIC) { err_set(e, "not a meshtrain hello (magic 0x%08x)", get_u32(in)); return -1; }
    if (get_u16(in + 4) != AUTH_VERSION) {
        err_set(e, "handshake version %u, this build speaks %u", get_u16(in + 4), AUTH_VERSION);
        return -1;
    }
    *flags = get_u16(in + 6);
    uint32_t f = get_u32(in + 8), t = get_u32(in + 12);
    *from = f > 1u << 20 ? -1 : (int)f;
    *to = t > 1u << 20 ? -1 : (int)t;
    return 0;
}

// HMAC-SHA-512/256 under key of: a label, the hello, and (when not NULL) the acceptor's nonce.
static void proof_make(uint8_t out[AUTH_PROOF_BYTES], const uint8_t key[AUTH_KEY_BYTES], const char *label,
                       const uint8_t hello[AUTH_HELLO_BYTES], const uint8_t nonce_s[AUTH_NONCE_BYTES]) {
    crypto_auth_hmacsha512256_state st;
    crypto_auth_hmacsha512256_init(&st, key, AUTH_KEY_BYTES);
    crypto_auth_hmacsha512256_update(&st, (const uint8_t *)label, strlen(label) + 1);
    crypto_auth_hmacsha512256_update(&st, hello, AUTH_HELLO_BYTES);
    crypto_auth_hmacsha512256_update(&st, nonce_s, AUTH_NONCE_BYTES);
    crypto_auth_hmacsha512256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void auth_answer_make(uint8_t out[AUTH_ANSWER_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES]) {
    auth_random(out, AUTH_NONCE_BYTES);
    proof_make(out + AUTH_NONCE_BYTES, key, "meshtrain answer", hello, out);
}

int auth_answer_check(const uint8_t answer[AUTH_ANSWER_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES], uint8_t confirm[AUTH_CONFIRM_BYTES]) {
    uint8_t want[AUTH_PROOF_BYTES];
    proof_make(want, key, "meshtrain answer", hello, answer);
    if (crypto_verify_32(want, answer + AUTH_NONCE_BYTES)) return -1;
    proof_make(confirm, key, "meshtrain confirm", hello, answer);
    return 0;
}

int auth_confirm_check(const uint8_t confirm[AUTH_CONFIRM_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                       const uint8_t hello[AUTH_HELLO_BYTES], const uint8_t answer[AUTH_ANSWER_BYTES]) {
    uint8_t want[AUTH_PROOF_BYTES];
    proof_make(want, key, "meshtrain confirm", hello, answer);
    return crypto_verify_32(want, confirm) ? -1 : 0;
}

void auth_session_key(uint8_t out[AUTH_KEY_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES], const uint8_t answer[AUTH_ANSWER_BYTES]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, AUTH_KEY_BYTES, AUTH_KEY_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)"meshtrain session v1", 21);
    crypto_generichash_update(&st, hello, AUTH_HELLO_BYTES);
    crypto_generichash_update(&st, answer, AUTH_NONCE_BYTES);   // the acceptor's nonce, not its proof
    crypto_generichash_final(&st, out, AUTH_KEY_BYTES);
    sodium_memzero(&st, sizeof st);
}

void auth_frame_tag(uint8_t tag[WIRE_TAG_BYTES], const uint8_t key[AUTH_KEY_BYTES], const FrameHeader *h,
                    const struct iovec *parts, int n_parts) {
    // The sequence number is unique per connection and direction (a gap or repeat is refused before
    // this is checked), so each frame gets its own Poly1305 key, as Poly1305 requires.
    uint8_t nonce[8], otk[POLY1305_KEY_BYTES], prefix[WIRE_MAC_COVERS];
    _Static_assert(POLY1305_KEY_BYTES == crypto_onetimeauth_poly1305_KEYBYTES && WIRE_TAG_BYTES == POLY1305_TAG_BYTES,
                   "Poly1305's key and tag sizes");
    put_u64(nonce, h->seq);
    crypto_stream_chacha20(otk, sizeof otk, nonce, key);
    wire_header_prefix(prefix, h);
    poly1305_tagv(tag, otk, prefix, sizeof prefix, parts, n_parts);
    sodium_memzero(otk, sizeof otk);
}

int auth_frame_check(const uint8_t key[AUTH_KEY_BYTES], const FrameHeader *h, const uint8_t *payload) {
    uint8_t want[WIRE_TAG_BYTES];
    struct iovec part = {(void *)payload, h->payload_len};
    auth_frame_tag(want, key, h, &part, 1);
    return crypto_verify_16(want, h->tag) ? -1 : 0;
}
