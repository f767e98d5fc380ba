// Who may join a run, tried as an intruder would: the handshake's messages under right and wrong keys,
// frame MACs, and a real agent (Net) against scripted peers over loopback TCP: connections that lie,
// stay silent or come first do not take the real peer's place; replayed, forged and far-ahead frames
// are protocol errors that name the peer, and the mailbox stays bounded.
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "auth.h"
#include "net.h"
#include "net_impl.h"
#include "wire.h"

#define TIMEOUT_S 20.0

static void keys_make(uint8_t run_key[AUTH_KEY_BYTES], uint8_t k01[AUTH_KEY_BYTES]) {
    auth_random(run_key, AUTH_KEY_BYTES);
    auth_pair_key(k01, run_key, 0, 1);
}

Test(auth, handshake_proves_the_pair_key_and_only_it) {
    uint8_t run[AUTH_KEY_BYTES], k[AUTH_KEY_BYTES], other[AUTH_KEY_BYTES], k10[AUTH_KEY_BYTES];
    keys_make(run, k);
    auth_pair_key(k10, run, 1, 0);
    cr_assert(!memcmp(k, k10, sizeof k), "the pair key must not depend on the order of the ids");
    auth_pair_key(other, run, 0, 2);
    cr_assert(memcmp(k, other, sizeof k), "agents 0-1 and 0-2 must not share a key");
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], confirm[AUTH_CONFIRM_BYTES];
    auth_hello_make(hello, 0, 1, AUTH_FLAG_ON);
    auth_answer_make(answer, k, hello);
    cr_assert_eq(auth_answer_check(answer, k, hello, confirm), 0);
    cr_assert_eq(auth_confirm_check(confirm, k, hello, answer), 0);
    uint8_t bad[AUTH_CONFIRM_BYTES];
    cr_assert_eq(auth_answer_check(answer, other, hello, bad), -1, "an answer under another key must fail");
    cr_assert_eq(auth_confirm_check(confirm, other, hello, answer), -1);
    // The acceptor's answer cannot be turned into the connector's proof (different labels).
    cr_assert_eq(auth_confirm_check(answer + AUTH_NONCE_BYTES, k, hello, answer), -1);
    // A proof is bound to its hello (ids and nonce): replaying it on a fresh hello fails.
    uint8_t hello2[AUTH_HELLO_BYTES];
    auth_hello_make(hello2, 0, 1, AUTH_FLAG_ON);
    cr_assert_eq(auth_confirm_check(confirm, k, hello2, answer), -1);
    uint8_t s1[AUTH_KEY_BYTES], s2[AUTH_KEY_BYTES], s3[AUTH_KEY_BYTES];
    auth_session_key(s1, k, hello, answer);
    auth_session_key(s2, k, hello, answer);
    auth_session_key(s3, k, hello2, answer);
    cr_assert(!memcmp(s1, s2, sizeof s1) && memcmp(s1, s3, sizeof s1),
              "session keys: same handshake, same key; else not");
}

Test(auth, frame_mac_covers_header_and_payload) {
    uint8_t run[AUTH_KEY_BYTES], k[AUTH_KEY_BYTES];
    keys_make(run, k);
    uint8_t payload[300];
    for (int i = 0; i < 300; i++) payload[i] = (uint8_t)(i * 7);
    FrameHeader h = {.magic = WIRE_MAGIC, .version = WIRE_VERSION, .kind = 1, .sender = 0, .receiver = 1, .round = 9,
                     .seq = 4, .flags = WIRE_FLAG_MAC, .payload_len = sizeof payload};
    struct iovec parts[2] = {{payload, 100}, {payload + 100, 200}};
    auth_frame_tag(h.tag, k, &h, parts, 2);
    cr_assert_eq(auth_frame_check(k, &h, payload), 0, "a tag over pieces must verify over the whole");
    FrameHeader t = h;
    t.seq = 5;
    cr_assert_eq(auth_frame_check(k, &t, payload), -1, "sequence number");
    t = h;
    t.round = 10;
    cr_assert_eq(auth_frame_check(k, &t, payload), -1, "round");
    payload[299] ^= 1;
    cr_assert_eq(auth_frame_check(k, &h, payload), -1, "payload");
}

// A scripted peer: a raw socket that speaks the handshake (with the key or without it) and frames.
typedef struct {
    int fd;
    uint8_t session[AUTH_KEY_BYTES];
} Raw;

static int raw_connect(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to the agent");
    return fd;
}

static void raw_read(int fd, uint8_t *b, size_t n) {
    size_t have = 0;
    while (have < n) {
        ssize_t r = read(fd, b + have, n - have);
        cr_assert(r > 0, "the agent closed the connection during the handshake");
        have += (size_t)r;
    }
}

// Connect to agent `to` claiming to be `from`; with key, complete the handshake as the real peer would.
static Raw raw_join(int port, int from, int to, const uint8_t *key) {
    Raw r = {raw_connect(port), {0}};
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], confirm[AUTH_CONFIRM_BYTES];
    auth_hello_make(hello, from, to, AUTH_FLAG_ON);
    cr_assert_eq(write(r.fd, hello, sizeof hello), (ssize_t)sizeof hello);
    if (!key) return r;
    raw_read(r.fd, answer, sizeof answer);
    cr_assert_eq(auth_answer_check(answer, key, hello, confirm), 0, "the agent's proof");
    cr_assert_eq(write(r.fd, confirm, sizeof confirm), (ssize_t)sizeof confirm);
    auth_session_key(r.session, key, hello, answer);
    return r;
}

static void raw_frame(Raw *r, int from, int to, uint64_t round, uint32_t seq, int forge) {
    uint8_t f[WIRE_HEADER_BYTES + 16] = {0};
    FrameHeader h = {.magic = WIRE_MAGIC, .version = WIRE_VERSION, .kind = 1, .sender = (uint32_t)from,
                     .receiver = (uint32_t)to, .round = round, .seq = seq, .flags = WIRE_FLAG_MAC, .payload_len = 16};
    struct iovec part = {f + WIRE_HEADER_BYTES, 16};
    auth_frame_tag(h.tag, r->session, &h, &part, 1);
    if (forge) h.tag[0] ^= 1;
    wire_header_write(f, &h, f + WIRE_HEADER_BYTES);
    cr_assert_eq(write(r->fd, f, sizeof f), (ssize_t)sizeof f);
}

// Agent 1 (a real Net) and a scripted agent 0 that holds the key.
typedef struct {
    Net *net;
    uint8_t keys[2 * AUTH_KEY_BYTES];
    int port, rc;
    Err e;
} Agent1;

static void *agent1_connect(void *arg) {
    Agent1 *a = arg;
    char ips[2][64] = {"127.0.0.1", "127.0.0.1"};
    int ports[2] = {a->port, net_port(a->net)};
    NetAuth auth = {1, 1, a->keys};
    a->rc = net_connect_all(a->net, ips, ports, &auth, TIMEOUT_S, &a->e);
    return NULL;
}

// Agent 0's listener: accepts agent 1's connection and answers its handshake with the key.
static int listener_make(int *port) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t al = sizeof a;
    cr_assert(!bind(fd, (struct sockaddr *)&a, sizeof a) && !listen(fd, 4) &&
              !getsockname(fd, (struct sockaddr *)&a, &al));
    *port = ntohs(a.sin_port);
    return fd;
}

static void listener_answer(int lfd, const uint8_t *key) {
    int fd = accept(lfd, NULL, NULL);
    uint8_t hello[AUTH_HELLO_BYTES], answer[AUTH_ANSWER_BYTES], confirm[AUTH_CONFIRM_BYTES];
    raw_read(fd, hello, sizeof hello);
    auth_answer_make(answer, key, hello);
    cr_assert_eq(write(fd, answer, sizeof answer), (ssize_t)sizeof answer);
    raw_read(fd, confirm, sizeof confirm);
    cr_assert_eq(auth_confirm_check(confirm, key, hello, answer), 0, "agent 1's proof");
    // kept open (leaked to the end of the test): agent 1 sends on it
}

// Rogues first (a wrong proof, a bare old-style hello, a silent hello), then the real agent 0: agent 1
// must take the real one and record the others.
static Raw setup_with_rogues(Agent1 *a, int max_ahead) {
    uint8_t run[AUTH_KEY_BYTES];
    memset(a, 0, sizeof *a);
    auth_random(run, sizeof run);
    auth_pair_key(a->keys, run, 1, 0);
    Err e = {{0}};
    a->net = net_new(1, 2, "127.0.0.1", &e);
    cr_assert(a->net, "%s", e.msg);
    net_set_window(a->net, max_ahead, 1000000);
    uint8_t wrong[AUTH_KEY_BYTES];
    auth_random(wrong, sizeof wrong);
    int port1 = net_port(a->net);
    Raw liar = raw_join(port1, 0, 1, NULL);   // claims agent 0, will send a proof under a wrong key
    Raw silent = raw_join(port1, 0, 1, NULL);   // claims agent 0, then says nothing
    int bare = raw_connect(port1);
    cr_assert_eq(write(bare, "MSHT\0\0\0\0", 8), 8);   // the old hello: magic and a claimed id
    int lfd = listener_make(&a->port);
    pthread_t t;
    pthread_create(&t, NULL, agent1_connect, a);
    uint8_t junk[AUTH_ANSWER_BYTES];
    raw_read(liar.fd, junk, sizeof junk);   // agent 1 answers the liar's hello...
    uint8_t proof[AUTH_CONFIRM_BYTES];
    auth_random(proof, sizeof proof);
    cr_assert_eq(write(liar.fd, proof, sizeof proof), (ssize_t)sizeof proof);   // ...and gets a wrong proof
    listener_answer(lfd, a->keys);
    Raw real = raw_join(port1, 0, 1, a->keys);
    pthread_join(t, NULL);
    cr_assert_eq(a->rc, 0, "agent 1 must connect despite the rogues: %s", a->e.msg);
    int listed, total;
    const NetReject *r = net_rejects(a->net, &listed, &total);
    cr_assert_eq(total, 3, "3 rogue connections rejected, got %d", total);
    int wrong_proof = 0, silent_seen = 0;
    for (int q = 0; q < listed; q++) {
        wrong_proof += strstr(r[q].why, "did not prove") != NULL && r[q].claimed == 0;
        silent_seen += strstr(r[q].why, "unauthenticated") != NULL || strstr(r[q].why, "sent no") != NULL;
        cr_assert(strstr(r[q].from, "127.0.0.1:"), "a rejection names where it came from: '%s'", r[q].from);
    }
    cr_assert(wrong_proof == 1 && silent_seen >= 1, "the rejections say why");
    close(liar.fd); close(silent.fd); close(bare); close(lfd);
    return real;
}

// Wait for a message that never comes (kind 2), so every frame the peer sent is read and checked.
static void expect_error(Agent1 *a, const char *what) {
    int timed_out = 0;
    Err e = {{0}};
    Msg *m = net_wait(a->net, 0, 2, 0, 5, &timed_out, &e);
    cr_assert(!m && !timed_out, "%s must be a protocol error", what);
    cr_assert(strstr(e.msg, "protocol error") && strstr(e.msg, "from agent 0"), "%s: '%s' must name the peer", what,
              e.msg);
}

Test(auth, rogues_take_no_place_and_replays_are_refused, .timeout = 60) {
    Agent1 a;
    Raw real = setup_with_rogues(&a, 256);
    raw_frame(&real, 0, 1, 0, 0, 0);
    int timed_out = 0;
    Err e = {{0}};
    Msg *m = net_wait(a.net, 0, 1, 0, 5, &timed_out, &e);
    cr_assert(m, "the real peer's frame arrives: %s", e.msg);
    net_release(a.net, m);
    raw_frame(&real, 0, 1, 1, 0, 0);   // the same sequence number again, valid MAC: a replay
    expect_error(&a, "a replayed frame");
    close(real.fd);
    net_free(a.net);
}

Test(auth, forged_frames_are_refused, .timeout = 60) {
    Agent1 a;
    Raw real = setup_with_rogues(&a, 256);
    raw_frame(&real, 0, 1, 0, 0, 1);
    expect_error(&a, "a frame with a wrong MAC");
    close(real.fd);
    net_free(a.net);
}

Test(auth, far_ahead_frames_are_refused_and_memory_stays_bounded, .timeout = 60) {
    Agent1 a;
    Raw real = setup_with_rogues(&a, 64);
    raw_frame(&real, 0, 1, 10000, 0, 0);
    expect_error(&a, "a frame 10,000 rounds ahead");
    close(real.fd);
    net_free(a.net);
    // A peer that floods rounds one by one: buffered up to the window, an error after it.
    real = setup_with_rogues(&a, 64);
    for (uint32_t r = 0; r < 200; r++) raw_frame(&real, 0, 1, r, r, 0);
    expect_error(&a, "the 65th round ahead");
    cr_assert_leq(a.net->n_box, 65, "the mailbox holds at most the window (%d frames)", a.net->n_box);
    close(real.fd);
    net_free(a.net);
}
