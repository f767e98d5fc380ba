// A partition between agent hosts (runtime/launch_paths.c): the runner maps reported addresses to hosts,
// waits a second, names both hosts and their agents, and holds back while a side no longer reaches it.
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "launch.h"

// Agents 0, 1 and 4 on h1 (10.0.0.1), 2 and 3 on h2 (10.0.0.2).
static Launch two_hosts(void) {
    static char host[5][64], ip[5][64];
    static char lost[5];
    static int unreached[5];
    static double at[5], since[5];
    const char *h[5] = {"h1", "h1", "h2", "h2", "h1"};
    for (int i = 0; i < 5; i++) {
        strcpy(host[i], h[i]);
        strcpy(ip[i], h[i][1] == '1' ? "10.0.0.1" : "10.0.0.2");
        lost[i] = 0, unreached[i] = 0, at[i] = since[i] = 0;
    }
    return (Launch){.n = 5, .host = host, .ip = ip, .lost = lost, .unreached = unreached, .unreached_at = at,
                    .unreached_since = since};
}

static void report(Launch *l, int i, const char *json) {
    Err e = {{0}};
    cr_assert_eq(launch_paths_take(l, i, json, strlen(json), &e), 0, "%s", e.msg);
}

Test(launch_paths, names_both_hosts_after_a_second) {
    Launch l = two_hosts();
    char msg[600];
    report(&l, 0, "[\"10.0.0.1\",\"10.0.0.2\"]");   // its own host's address first: skipped
    cr_assert_eq(l.unreached[0], 2);
    cr_assert_eq(launch_paths_due(&l, msg, sizeof msg), 0, "named before the second of gathering");
    l.unreached_since[0] -= 1.1;
    report(&l, 2, "[\"10.0.0.1\"]");
    cr_assert_eq(launch_paths_due(&l, msg, sizeof msg), 1);
    const char *want = "hosts h1 and h2 cannot reach each other: agents 0-1, 4 / 2-3 (";
    cr_assert(!strncmp(msg, want, strlen(want)), "%s", msg);
    cr_assert(strstr(msg, "agents 0, 2 had data"), "%s", msg);
}

// Reported first by h2's agents: still named h1 first (hosts in the order of their lowest agent).
Test(launch_paths, names_hosts_in_agent_order) {
    Launch l = two_hosts();
    char msg[600];
    report(&l, 3, "[\"10.0.0.1\"]");
    l.unreached_since[3] -= 1.1;
    cr_assert_eq(launch_paths_due(&l, msg, sizeof msg), 1);
    const char *want = "hosts h1 and h2 cannot reach each other: agents 0-1, 4 / 2-3 (";
    cr_assert(!strncmp(msg, want, strlen(want)), "%s", msg);
}

Test(launch_paths, holds_back_while_a_side_is_lost_or_reports_are_old) {
    Launch l = two_hosts();
    char msg[600];
    report(&l, 1, "[\"10.0.0.2\"]");
    l.unreached_since[1] -= 2;
    l.lost[3] = 1;   // h2 no longer reaches the runner: its loss is named, not a partition
    cr_assert_eq(launch_paths_due(&l, msg, sizeof msg), 0);
    l.lost[3] = 0;
    l.unreached_at[1] -= 4 * LAUNCH_BEAT_S;   // no report for longer than three beats: recovered
    cr_assert_eq(launch_paths_due(&l, msg, sizeof msg), 0);
    cr_assert_eq(l.unreached_at[1], 0);
    report(&l, 0, "[\"10.0.0.1\",\"192.0.2.9\"]");   // its own host and an address no agent has
    cr_assert_eq(l.unreached_at[0], 0);
}

Test(launch_paths, refuses_a_malformed_report) {
    Launch l = two_hosts();
    Err e = {{0}};
    cr_assert_eq(launch_paths_take(&l, 2, "{\"x\":1}", 7, &e), -1);
    cr_assert(strstr(e.msg, "agent 2") && strstr(e.msg, "malformed"), "%s", e.msg);
}

// A working loopback connection with data on it: nothing to report.
Test(launch_paths, a_working_connection_is_not_reported) {
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof a;
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 1), 0);
    getsockname(l, (struct sockaddr *)&a, &sl);
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = accept(l, NULL, NULL);
    cr_assert_eq(write(c, "data", 4), 4);
    usleep(20000);
    char *t = launch_paths_report(-1);
    cr_assert_null(t, "reported %s", t);
    close(s), close(c), close(l);
}
