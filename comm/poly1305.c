// Poly1305 on OpenSSL's libcrypto (see poly1305.h). The algorithm is fetched once per process; each
// tag gets its own context, so agents that are threads (tests) can tag frames at the same time.
#include "poly1305.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static EVP_MAC *poly1305_alg;
static pthread_once_t poly1305_once = PTHREAD_ONCE_INIT;

static void poly1305_fetch(void) { poly1305_alg = EVP_MAC_fetch(NULL, "POLY1305", NULL); }

static void poly1305_fail(const char *what) {
    fprintf(stderr, "meshtrain: libcrypto's Poly1305: %s failed; frames cannot be authenticated\n", what);
    abort();
}

void poly1305_tagv(uint8_t tag[POLY1305_TAG_BYTES], const uint8_t key[POLY1305_KEY_BYTES], const uint8_t *head,
                   size_t head_len, const struct iovec *parts, int n_parts) {
    pthread_once(&poly1305_once, poly1305_fetch);
    if (!poly1305_alg) poly1305_fail("EVP_MAC_fetch(\"POLY1305\")");
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(poly1305_alg);
    if (!ctx) poly1305_fail("EVP_MAC_CTX_new");
    if (!EVP_MAC_init(ctx, key, POLY1305_KEY_BYTES, NULL)) poly1305_fail("EVP_MAC_init");
    if (head_len && !EVP_MAC_update(ctx, head, head_len)) poly1305_fail("EVP_MAC_update");
    for (int k = 0; k < n_parts; k++)
        if (parts[k].iov_len && !EVP_MAC_update(ctx, parts[k].iov_base, parts[k].iov_len))
            poly1305_fail("EVP_MAC_update");
    size_t len = 0;
    if (!EVP_MAC_final(ctx, tag, &len, POLY1305_TAG_BYTES) || len != POLY1305_TAG_BYTES) poly1305_fail("EVP_MAC_final");
    EVP_MAC_CTX_free(ctx);   // clears the key it holds
}
