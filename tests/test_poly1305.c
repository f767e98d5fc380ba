// poly1305_tagv (libcrypto's vector code) against libsodium's Poly1305, the plain reference the frame
// MAC used before: RFC 8439's test vector, then random keys, lengths and splits into parts.
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>
#include "poly1305.h"
#include "rng.h"

Test(poly1305, rfc8439_vector) {
    static const uint8_t key[32] = {0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52,
                                    0xfe, 0x42, 0xd5, 0x06, 0xa8, 0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d,
                                    0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
    static const uint8_t want[16] = {0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
                                     0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9};
    const char *msg = "Cryptographic Forum Research Group";
    uint8_t tag[16];
    struct iovec part = {(void *)(msg + 5), strlen(msg) - 5};
    poly1305_tagv(tag, key, (const uint8_t *)msg, 5, &part, 1);
    cr_assert_arr_eq(tag, want, 16, "RFC 8439 section 2.5.2's tag");
}

Test(poly1305, same_tag_as_libsodium_for_any_split) {
    cr_assert_geq(sodium_init(), 0);
    enum { MAX = 300000 };
    uint8_t *buf = malloc(MAX);
    cr_assert_not_null(buf);
    Rng r = rng_derive(42, 1);
    for (size_t i = 0; i < MAX; i++) buf[i] = (uint8_t)rng_below(&r, 256);
    static const size_t LENS[] = {0, 1, 15, 16, 17, 36, 52, 255, 4096, 4111, 246840, 246876, MAX};
    for (size_t t = 0; t < sizeof LENS / sizeof LENS[0]; t++)
        for (int split = 0; split < 4; split++) {
            size_t len = LENS[t];
            uint8_t key[32], want[16], got[16];
            for (int i = 0; i < 32; i++) key[i] = (uint8_t)rng_below(&r, 256);
            crypto_onetimeauth_poly1305(want, buf, len, key);
            // head, then up to three parts at random cut points (some empty)
            size_t head = split ? (size_t)rng_below(&r, (uint32_t)(len < 64 ? len + 1 : 64)) : 0;
            size_t a = head + (len > head ? (size_t)rng_below(&r, (uint32_t)(len - head + 1)) : 0);
            size_t b = a + (len > a ? (size_t)rng_below(&r, (uint32_t)(len - a + 1)) : 0);
            struct iovec parts[3] = {{buf + head, a - head}, {buf + a, b - a}, {buf + b, len - b}};
            poly1305_tagv(got, key, buf, head, parts, 3);
            cr_assert_arr_eq(got, want, 16, "length %zu, split %d (head %zu, cuts %zu %zu): tags differ", len, split,
                             head, a, b);
            got[0] ^= 1;
            cr_assert(memcmp(got, want, 16), "a changed tag must differ");
        }
    free(buf);
}
