// Who may join a run: keys per pair of agents derived from the run's key, the messages of the
// challenge-response every connection starts with, and the per-frame MAC (docs/security.md).
// The primitives are libsodium's; this file only says what is hashed, under which key, in which order.
#ifndef MESHTRAIN_AUTH_H
#define MESHTRAIN_AUTH_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "wire.h"

#define AUTH_KEY_BYTES 32
#define AUTH_NONCE_BYTES 16
#define AUTH_PROOF_BYTES 32
#define AUTH_MAGIC 0x4148534Du                                  // "MSHA" little-endian
#define AUTH_HELLO_BYTES (16 + AUTH_NONCE_BYTES)                 // magic, version, flags, from, to, nonce
#define AUTH_ANSWER_BYTES (AUTH_NONCE_BYTES + AUTH_PROOF_BYTES)  // acceptor's nonce, its proof
#define AUTH_CONFIRM_BYTES AUTH_PROOF_BYTES                      // connector's proof
#define AUTH_FLAG_ON 1u                                          // hello flags: the connector authenticates

// Fill buf with n random bytes from the kernel's generator (getrandom, through libsodium).
void auth_random(void *buf, size_t n);
// The key that agents a and b share (the same for (a, b) and (b, a)), derived from the run's key.
void auth_pair_key(uint8_t out[AUTH_KEY_BYTES], const uint8_t run_key[AUTH_KEY_BYTES], int a, int b);

// A key as 64 hex digits (out holds 65 bytes), and back: 0, or -1 when hex is not 64 hex digits.
void auth_key_to_hex(char out[2 * AUTH_KEY_BYTES + 1], const uint8_t key[AUTH_KEY_BYTES]);
int auth_key_from_hex(uint8_t out[AUTH_KEY_BYTES], const char *hex);

// The connector's first message: who it is, whom it wants, a fresh nonce (filled here when flags has
// AUTH_FLAG_ON).
void auth_hello_make(uint8_t out[AUTH_HELLO_BYTES], int from, int to, unsigned flags);
// Parse a hello. 0 and the fields, or -1 and e (not a meshtrain hello, or another version).
int auth_hello_parse(const uint8_t in[AUTH_HELLO_BYTES], int *from, int *to, unsigned *flags, Err *e);
// The acceptor's answer to a hello: a fresh nonce and its proof that it holds the pair's key.
void auth_answer_make(uint8_t out[AUTH_ANSWER_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES]);
// The connector checks the answer (0 when it proves the key, -1 otherwise) and writes its own proof.
int auth_answer_check(const uint8_t answer[AUTH_ANSWER_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES], uint8_t confirm[AUTH_CONFIRM_BYTES]);
// The acceptor checks the connector's proof. 0 when it proves the key, -1 otherwise.
int auth_confirm_check(const uint8_t confirm[AUTH_CONFIRM_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                       const uint8_t hello[AUTH_HELLO_BYTES], const uint8_t answer[AUTH_ANSWER_BYTES]);
// The connection's own key (for frame MACs), which both ends derive from the pair key and the
// handshake's two nonces: a key no other connection uses.
void auth_session_key(uint8_t out[AUTH_KEY_BYTES], const uint8_t key[AUTH_KEY_BYTES],
                      const uint8_t hello[AUTH_HELLO_BYTES], const uint8_t answer[AUTH_ANSWER_BYTES]);

// A frame's MAC: Poly1305 under a one-time key drawn from ChaCha20(session key, nonce = the frame's
// sequence number), over header bytes [0, WIRE_MAC_COVERS) and the payload's pieces.
void auth_frame_tag(uint8_t tag[WIRE_TAG_BYTES], const uint8_t key[AUTH_KEY_BYTES], const FrameHeader *h,
                    const struct iovec *parts, int n_parts);
// 0 when h->tag is the MAC of the frame (h, payload) under key, -1 otherwise (constant time).
int auth_frame_check(const uint8_t key[AUTH_KEY_BYTES], const FrameHeader *h, const uint8_t *payload);

#endif
