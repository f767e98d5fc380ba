// The runner's side of a launched run (see launch.h): the rendezvous port, the launcher's process
// with the launch key in its environment, the agents' authenticated connections, their metrics files.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctl.h"
#include "launch.h"

// Remote hosts start their daemons and load the binary: every agent must have connected by then.
#define CONNECT_ALL_S 120.0
#define HANDSHAKE_S 5.0

static int listen_open(Launch *l, Err *e) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int g = getaddrinfo(l->addr, "0", &hints, &ai);
    if (g) { err_set(e, "--rendezvous %s: %s", l->addr, gai_strerror(g)); return -1; }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128);
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (rc || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        err_set(e, "cannot listen at %s for the agents: %s", l->addr, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    l->listen_fd = fd;
    return 0;
}

// The launcher's process: its output to launcher.log, the key in its environment only.
static int launcher_spawn(Launch *l, int n, const char *self, const uint8_t key[AUTH_KEY_BYTES], Err *e) {
    const char *av[48];
    l->ops->argv_make(&l->o, n, l->program, self, av);
    int out = open(l->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) { err_set(e, "%s: cannot create: %s", l->log_path, strerror(errno)); return -1; }
    char hex[2 * AUTH_KEY_BYTES + 1], rdv[320];
    auth_key_to_hex(hex, key);
    snprintf(rdv, sizeof rdv, "%s:%d", l->addr, l->port);
    pid_t pid = fork();
    if (pid < 0) { close(out); err_set(e, "fork: %s", strerror(errno)); return -1; }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);   // the launcher, and through it the agents, end with the runner
        setpgid(0, 0);                      // the terminal's Ctrl-C goes to the runner, which stops it
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0), dup2(out, 1), dup2(out, 2);
        setenv(LAUNCH_ENV_KEY, hex, 1);
        setenv(LAUNCH_ENV_RENDEZVOUS, rdv, 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        if (l->ops->env_set) l->ops->env_set();
        execv(l->program, (char **)av);
        dprintf(2, "cannot run %s: %s\n", l->program, strerror(errno));
        _exit(127);
    }
    explicit_bzero(hex, sizeof hex);
    close(out);
    l->pid = pid;
    return 0;
}

// The launcher's last output line, for a message.
static void log_tail(const Launch *l, char *out, size_t n) {
    FILE *f = fopen(l->log_path, "r");
    char line[400] = "", last[400] = "(no output)";
    while (f && fgets(line, sizeof line, f))
        if (strspn(line, " \t\r\n") < strlen(line)) str_copy(last, sizeof last, line);
    if (f) fclose(f);
    last[strcspn(last, "\r\n")] = 0;
    str_copy(out, n, last);
}

int launch_poll(Launch *l) {
    if (l->exited || l->pid <= 0) return l->exited;
    int st;
    if (waitpid(l->pid, &st, WNOHANG) == l->pid) l->exited = 1, l->status = st;
    return l->exited;
}

static void reject_log(Launch *l, FILE *log, const char *from, int claimed, const char *why) {
    l->rejected++;
    if (!log) return;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "event", "rejected", "agent", "runner", "from", from, "claimed",
                          claimed, "why", why);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t) fprintf(log, "%s\n", t), fflush(log);
    free(t);
    json_decref(o);
}

// One connection: authenticated, a new id, its host and pid.
static void agent_take(Launch *l, int fd, int n, int *fds, FILE *log, const uint8_t key[AUTH_KEY_BYTES]) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char from[64] = "?";
    if (!getpeername(fd, (struct sockaddr *)&ss, &sl))
        getnameinfo((struct sockaddr *)&ss, sl, from, sizeof from, NULL, 0, NI_NUMERICHOST);
    Err e = {{0}};
    int id = -1;
    CtlSeal seal;
    uint8_t buf[CTL_TCP_RECORD_MAX + 1];
    long k = -1;
    if (ctl_tcp_accept(fd, key, n, &id, &seal, HANDSHAKE_S, &e) == 0) {
        if (fds[id] >= 0) err_set(&e, "agent %d is already connected", id);
        else if ((k = ctl_tcp_read(fd, &seal, buf, HANDSHAKE_S, &e)) <= 0 && !e.msg[0]) err_set(&e, "no host record");
    }
    json_t *o = k > 0 && !e.msg[0] ? json_loadb((const char *)buf, (size_t)k, 0, NULL) : NULL;
    int sv[2] = {-1, -1};
    if (!e.msg[0] && !o) err_set(&e, "a malformed host record");
    if (!e.msg[0] && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        err_set(&e, "socketpair: %s", strerror(errno));
    if (e.msg[0]) {
        reject_log(l, log, from, id, e.msg);
        json_decref(o);
        close(fd);
        return;
    }
    str_copy(l->host[id], 64,
             json_string_value(json_object_get(o, "host")) ? json_string_value(json_object_get(o, "host")) : from);
    str_copy(l->ip[id], 64, from);
    l->rpid[id] = (int)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    l->pairs[id] = (CtlRelayPair){.plain = sv[1], .tcp = fd, .seal = seal, .id = id};
    fds[id] = sv[0];
}

// Every agent is in: each gets the scenario, and with shaped links its part of the overlay, built from
// every agent's host address (so the scenarios wait until the last agent connected).
static int scenarios_send(Launch *l, int n, const char *scenario_text, const char *run_dir, int *fds, Err *e) {
    if (l->ne) {
        l->ne->underlay = xcalloc((size_t)n, 64);
        for (int i = 0; i < n; i++) str_copy(l->ne->underlay[i], 64, l->ip[i]);
        l->ctl = xmalloc((size_t)n * sizeof(int));
        memcpy(l->ctl, fds, (size_t)n * sizeof(int));
    }
    for (int i = 0; i < n; i++) {
        json_t *sc = json_pack("{s:s, s:s}", "scenario", scenario_text, "run_dir", run_dir);
        if (l->ne) {
            char *spec = overlay_spec(l->ne, i);
            json_object_set_new(sc, "overlay", json_string(spec));
            free(spec);
            backend_addr(&backend_kernel, i, l->ip[i], 64);   // peers reach it on the overlay
        }
        char *t = json_dumps(sc, JSON_COMPACT);
        json_decref(sc);
        int rc = ctl_send(fds[i], CTL_SCENARIO, 0, t, strlen(t), e);   // waits in the socket until the relay runs
        free(t);
        if (rc) return -1;
    }
    return 0;
}

// A link change for agent i's egress, to its host over its control channel (the ctx is the Launch).
static int links_send(void *ctx, int i, const char *tc_batch, Err *e) {
    const Launch *l = ctx;
    if (l->pairs[i].why[0]) return 0;   // its connection ended (finished, or lost: named elsewhere)
    return ctl_send(l->ctl[i], LAUNCH_CTL_LINKS, 0, tc_batch, strlen(tc_batch), e);
}

static void missing_list(const int *fds, int n, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0, shown = 0; i < n && len + 16 < cap; i++)
        if (fds[i] < 0) len += (size_t)snprintf(out + len, cap - len, "%s%d", shown++ ? ", " : "", i);
}

int launch_start(Launch *l, int n, const char *self, const char *run_dir, const char *scenario_text, int *fds,
                 volatile sig_atomic_t *stop, FILE *log, Err *e) {
    l->n = n;
    l->pairs = xcalloc((size_t)n, sizeof *l->pairs);
    l->host = xcalloc((size_t)n, 64), l->ip = xcalloc((size_t)n, 64);
    l->rpid = xcalloc((size_t)n, sizeof(int));
    l->lost = xcalloc((size_t)n, 1);
    l->counters = xcalloc((size_t)n, sizeof(char *));
    l->silent = xcalloc((size_t)n, sizeof(double));
    l->unreached = xcalloc((size_t)n, sizeof(int));
    l->unreached_at = xcalloc((size_t)n, sizeof(double));
    l->unreached_since = xcalloc((size_t)n, sizeof(double));
    l->metrics = xcalloc((size_t)n, sizeof(FILE *));
    for (int i = 0; i < n; i++) fds[i] = -1, l->pairs[i].plain = l->pairs[i].tcp = -1;
    snprintf(l->log_path, sizeof l->log_path, "%s/launcher.log", run_dir);
    if (launch_program_find(l->ops->program, l->program, sizeof l->program)) {
        err_set(e, "%s is not in PATH", l->ops->program);
        return -1;
    }
    if (l->o.rendezvous) str_copy(l->addr, sizeof l->addr, l->o.rendezvous);
    else l->ops->rendezvous_default(&l->o, l->addr, sizeof l->addr);
    uint8_t key[AUTH_KEY_BYTES];
    auth_random(key, sizeof key);
    int rc = listen_open(l, e) || launcher_spawn(l, n, self, key, e);
    double end = time_now() + CONNECT_ALL_S;
    for (int got = 0; !rc && got < n;) {
        struct pollfd pf = {l->listen_fd, POLLIN, 0};
        poll(&pf, 1, 200);
        char miss[200], tail[400];
        missing_list(fds, n, miss, sizeof miss);
        if (*stop) { err_set(e, "interrupted while the agents connected"); rc = -1; }
        else if (launch_poll(l)) {
            log_tail(l, tail, sizeof tail);
            err_set(e, "%s exited (status %d) before every agent connected (missing: %s); its output is in %s: %s",
                    l->ops->program, WIFEXITED(l->status) ? WEXITSTATUS(l->status) : 128 + WTERMSIG(l->status), miss,
                    l->log_path, tail);
            rc = -1;
        } else if (time_now() > end) {
            err_set(e, "agents %s did not reach the runner at %s:%d within %.0f s (can their hosts reach this one? "
                       "see --rendezvous in docs/cluster.md)", miss, l->addr, l->port, CONNECT_ALL_S);
            rc = -1;
        } else if (pf.revents & POLLIN) {
            int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) agent_take(l, fd, n, fds, log, key);
            got = 0;
            for (int i = 0; i < n; i++) got += fds[i] >= 0;
        }
    }
    explicit_bzero(key, sizeof key);
    close(l->listen_fd);   // later connections are refused by the kernel
    l->listen_fd = -1;
    if (!rc && !(l->relay = ctl_relay_start(l->pairs, n, e))) rc = -1;
    if (!rc && scenarios_send(l, n, scenario_text, run_dir, fds, e)) rc = -1;
    if (!rc && l->ne) l->ne->links_send = links_send, l->ne->links_ctx = l;
    return rc;
}

const char *launch_where(const Launch *l, int i, char *buf, size_t n) {
    if (l->host && l->host[i][0]) snprintf(buf, n, "host %s, pid %d", l->host[i], l->rpid[i]);
    else snprintf(buf, n, "not connected");
    return buf;
}

// Append to out (at *len) what printf would, within n.
static void cat(char *out, size_t n, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cat(char *out, size_t n, size_t *len, const char *fmt, ...) {
    if (*len >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k;
}

void launch_lost_describe(const Launch *l, char *out, size_t n) {
    size_t len = 0;
    char *named = xcalloc((size_t)l->n, 1);
    out[0] = 0;
    for (int i = 0; i < l->n; i++) {
        if (!l->lost[i] || named[i]) continue;
        int lost = 0, of = 0, first = 1;
        for (int j = 0; j < l->n; j++)
            if (!strcmp(l->host[j], l->host[i])) of++, lost += l->lost[j];
        cat(out, n, &len, "%shost %s lost agent%s ", len ? "; " : "", l->host[i], lost > 1 ? "s" : "");
        for (int j = 0; j < l->n; j++)
            if (l->lost[j] && !strcmp(l->host[j], l->host[i]))
                cat(out, n, &len, "%s%d", first ? "" : ", ", j), first = 0;
        cat(out, n, &len, " (%s%d of its %d agents; pid%s", lost == of ? "all " : "", lost, of, lost > 1 ? "s" : "");
        first = 1;
        for (int j = 0; j < l->n; j++)
            if (l->lost[j] && !strcmp(l->host[j], l->host[i])) {
                cat(out, n, &len, "%s%d", first ? " " : ", ", l->rpid[j]);
                first = 0, named[j] = 1;
            }
        char why[200];
        if (l->silent[i] > 0)
            snprintf(why, sizeof why, "nothing, not even a heartbeat, for %.1f s (stopped, or too starved to run)",
                     l->silent[i]);
        else str_copy(why, sizeof why, l->pairs[i].why[0] ? l->pairs[i].why : "control connection closed");
        cat(out, n, &len, ") before %s finished: %s", lost > 1 ? "they" : "it", why);
    }
    free(named);
}

int launch_metrics_write(Launch *l, int i, const char *run_dir, const void *p, size_t len, Err *e) {
    char path[1100];
    snprintf(path, sizeof path, "%s/agent-%d.jsonl", run_dir, i);
    if (!l->metrics[i] && !(l->metrics[i] = fopen(path, "w"))) {
        err_set(e, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (fwrite(p, 1, len, l->metrics[i]) != len || fflush(l->metrics[i])) {
        err_set(e, "%s: cannot write agent %d's metrics: %s", path, i, strerror(errno));
        return -1;
    }
    return 0;
}

double launch_silence(Launch *l, int i) { return l->relay ? ctl_relay_quiet(l->relay, i) : 0; }

int launch_counters_take(Launch *l, int i, const void *p, size_t len, Err *e) {
    json_t *a = json_loadb(p, len, 0, NULL);
    int ok = json_is_array(a);
    json_decref(a);
    if (!ok) { err_set(e, "agent %d sent malformed link counters", i); return -1; }
    free(l->counters[i]);
    l->counters[i] = strndup(p, len);
    return 0;
}

char *launch_counters_json(const Launch *l, int *reported) {
    json_t *all = json_array();
    *reported = 0;
    for (int i = 0; l->counters && i < l->n; i++) {
        json_t *a = l->counters[i] ? json_loads(l->counters[i], 0, NULL) : NULL;
        if (a) json_array_extend(all, a), ++*reported;
        json_decref(a);
    }
    char *s = *reported ? json_dumps(all, JSON_COMPACT) : NULL;
    json_decref(all);
    return s;
}

void launch_stop(Launch *l, double grace_s) {
    double end = time_now() + grace_s;
    while (l->pid > 0 && !launch_poll(l) && time_now() < end) usleep(20000);
    if (l->pid > 0 && !launch_poll(l)) {
        // mpirun and srun pass it on to every agent they started. The agents need not wait for it: their
        // control connections are closed already, and an agent whose runner is gone exits at once (one cut
        // off from here notices by itself). So the run is marked FAILED after at most a second more, even
        // when the launcher waits for a host it cannot reach (srun did, up to 3 s).
        kill(l->pid, SIGTERM);
        end = time_now() + 1.0;
        while (!launch_poll(l) && time_now() < end) usleep(20000);
        if (!launch_poll(l)) kill(-l->pid, SIGKILL), kill(l->pid, SIGKILL), waitpid(l->pid, &l->status, 0);
        l->exited = 1;
    }
    ctl_relay_stop(l->relay);
    l->relay = NULL;
}

void launch_free(Launch *l) {
    if (l->listen_fd > 0) close(l->listen_fd);
    l->listen_fd = -1;
    ctl_relay_stop(l->relay);
    l->relay = NULL;
    for (int i = 0; l->metrics && i < l->n; i++)
        if (l->metrics[i]) fclose(l->metrics[i]);
    free(l->lost), l->lost = NULL;
    for (int i = 0; l->counters && i < l->n; i++) free(l->counters[i]);
    free(l->counters), l->counters = NULL;
    free(l->silent), l->silent = NULL;
    free(l->unreached), l->unreached = NULL;
    free(l->unreached_at), l->unreached_at = NULL;
    free(l->unreached_since), l->unreached_since = NULL;
    free(l->metrics), free(l->pairs), free(l->host), free(l->ip), free(l->rpid), free(l->ctl);
    l->ctl = NULL;
    if (l->ne) free(l->ne->underlay), l->ne->underlay = NULL, l->ne->links_send = NULL;
    l->metrics = NULL, l->pairs = NULL, l->host = l->ip = NULL, l->rpid = NULL;
}
