// Transport tests: two agents as threads over loopback TCP. Frames arrive whole and in order whether
// the socket took them at once or only in part (the rest queued as a copy, so the sender may reuse
// its buffers at once), small frames around a large one, and the per-link byte counts add up.
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "net.h"
#include "wire.h"

#define TIMEOUT_S 20.0
#define SMALL 60                       // small frames before and after the large one
#define LARGE_PARTS 3
#define LARGE_PART_BYTES (8u << 20)    // 24 MB in all: more than the socket buffers hold

typedef struct {
    Net *net[2];
    int ports[2];
    int ok[2];
    char why[2][512];
    uint64_t payload_sent;
    uint8_t keys[2][2 * AUTH_KEY_BYTES];   // per agent: the key it shares with each agent (authenticated, with MACs)
} Pair;

static uint8_t small_byte(int round, int i) { return (uint8_t)(round * 7 + i); }
static uint8_t large_byte(size_t i) { return (uint8_t)(i * 2654435761u >> 13); }

static int connect_both(Pair *p, int id) {
    char ips[2][64] = {"127.0.0.1", "127.0.0.1"};
    Err e = {{0}};
    NetAuth auth = {1, 1, p->keys[id]};
    if (net_connect_all(p->net[id], ips, p->ports, &auth, TIMEOUT_S, &e)) {
        snprintf(p->why[id], sizeof p->why[id], "%s", e.msg);
        return -1;
    }
    return 0;
}

// Agent 0: small frames, one large frame in parts that are overwritten as soon as it returns, small
// frames again; then everything must leave.
static void *sender(void *arg) {
    Pair *p = arg;
    Err e = {{0}};
    if (connect_both(p, 0)) return NULL;
    uint8_t small[SMALL];
    int round = 0;
    for (; round < SMALL; round++) {
        for (int i = 0; i < round; i++) small[i] = small_byte(round, i);
        if (net_send(p->net[0], 1, 1, (uint64_t)round, 0, small, (uint32_t)round, &e)) goto fail;
        p->payload_sent += (uint64_t)round;
    }
    uint8_t *parts[LARGE_PARTS];
    struct iovec iov[LARGE_PARTS];
    for (int k = 0; k < LARGE_PARTS; k++) {
        parts[k] = malloc(LARGE_PART_BYTES);
        for (size_t i = 0; i < LARGE_PART_BYTES; i++) parts[k][i] = large_byte(k * (size_t)LARGE_PART_BYTES + i);
        iov[k] = (struct iovec){parts[k], LARGE_PART_BYTES};
    }
    int rc = net_sendv(p->net[0], 1, 1, (uint64_t)round++, 0, iov, LARGE_PARTS, &e);
    for (int k = 0; k < LARGE_PARTS; k++) { memset(parts[k], 0xEE, LARGE_PART_BYTES); free(parts[k]); }
    if (rc) goto fail;
    p->payload_sent += (uint64_t)LARGE_PARTS * LARGE_PART_BYTES;
    for (int k = 0; k < SMALL; k++, round++) {
        for (int i = 0; i < k; i++) small[i] = small_byte(round, i);
        if (net_send(p->net[0], 1, 1, (uint64_t)round, 0, small, (uint32_t)k, &e)) goto fail;
        p->payload_sent += (uint64_t)k;
    }
    if (net_flush(p->net[0], TIMEOUT_S, &e)) goto fail;
    int timed_out = 0;
    Msg *done = net_wait(p->net[0], 1, 2, 0, TIMEOUT_S, &timed_out, &e);   // the receiver has checked everything
    if (!done) goto fail;
    net_release(p->net[0], done);
    p->ok[0] = 1;
    return NULL;
fail:
    snprintf(p->why[0], sizeof p->why[0], "%s", e.msg[0] ? e.msg : "timed out");
    return NULL;
}

static int check_msg(Pair *p, int round, uint32_t len, int large) {
    Err e = {{0}};
    int timed_out = 0;
    Msg *m = net_wait(p->net[1], 0, 1, (uint64_t)round, TIMEOUT_S, &timed_out, &e);
    if (!m) { snprintf(p->why[1], sizeof p->why[1], "round %d: %s", round, e.msg[0] ? e.msg : "timed out"); return -1; }
    int bad = m->len != len;
    for (uint32_t i = 0; i < len && !bad; i++)
        bad = m->payload[i] != (large ? large_byte(i) : small_byte(round, (int)i));
    if (bad)
        snprintf(p->why[1], sizeof p->why[1], "round %d: %u bytes, expected %u, or wrong content", round, m->len, len);
    net_release(p->net[1], m);
    return bad ? -1 : 0;
}

static void *receiver(void *arg) {
    Pair *p = arg;
    if (connect_both(p, 1)) return NULL;
    int round = 0;
    for (; round < SMALL; round++)
        if (check_msg(p, round, (uint32_t)round, 0)) return NULL;
    if (check_msg(p, round++, LARGE_PARTS * LARGE_PART_BYTES, 1)) return NULL;
    for (int k = 0; k < SMALL; k++, round++)
        if (check_msg(p, round, (uint32_t)k, 0)) return NULL;
    Err e = {{0}};
    uint8_t one = 1;
    if (net_send(p->net[1], 0, 2, 0, 0, &one, 1, &e) || net_flush(p->net[1], TIMEOUT_S, &e)) {
        snprintf(p->why[1], sizeof p->why[1], "%s", e.msg);
        return NULL;
    }
    p->ok[1] = 1;
    return NULL;
}

Test(net, frames_whole_and_in_order_and_counted, .timeout = 60) {
    Pair p;
    memset(&p, 0, sizeof p);
    Err e = {{0}};
    uint8_t run_key[AUTH_KEY_BYTES];
    auth_random(run_key, sizeof run_key);
    auth_pair_key(p.keys[0] + AUTH_KEY_BYTES, run_key, 0, 1);
    auth_pair_key(p.keys[1], run_key, 1, 0);
    for (int id = 0; id < 2; id++) {
        p.net[id] = net_new(id, 2, "127.0.0.1", &e);
        cr_assert(p.net[id], "%s", e.msg);
        p.ports[id] = net_port(p.net[id]);
    }
    pthread_t t[2];
    pthread_create(&t[0], NULL, sender, &p);
    pthread_create(&t[1], NULL, receiver, &p);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    cr_assert(p.ok[1], "receiver: %s", p.why[1]);
    cr_assert(p.ok[0], "sender: %s", p.why[0]);
    const LinkCount *s = net_sent(p.net[0], 1), *r = net_recv(p.net[1], 0);
    uint64_t frames = 2 * SMALL + 1;
    cr_assert_eq(s->messages, frames);
    cr_assert_eq(s->payload, p.payload_sent);
    cr_assert_eq(s->framing, frames * WIRE_HEADER_BYTES);
    cr_assert_eq(s->socket, s->payload + s->framing, "socket bytes %llu, payload + framing %llu",
                 (unsigned long long)s->socket, (unsigned long long)(s->payload + s->framing));
    cr_assert(r->messages == s->messages && r->payload == s->payload && r->framing == s->framing &&
                  r->socket == s->socket,
              "received counts differ from sent counts");
    for (int id = 0; id < 2; id++) net_free(p.net[id]);
}
