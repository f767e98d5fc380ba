// The runner's side of a run (see run.h): spawning agent processes, the event loop over their
// control channels, failure detection (death, error, hang), Ctrl-C, evaluations and progress.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "auth.h"
#include "ctl.h"
#include "run.h"
#include "train.h"

// Loading a dataset and connecting to every peer: silence is normal for this long before READY.
#define STARTUP_TIMEOUT_S 300.0
// An agent that reported its totals should exit at once; after this long it is ended.
#define DONE_EXIT_S 30.0

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

static void fail_set(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_set(Run *r, const char *fmt, ...) {
    if (r->fail[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail, sizeof r->fail, fmt, ap);
    va_end(ap);
}

// Where agent i runs, for messages: its pid here, or its host and pid there.
static const char *where(const Run *r, int i, char *buf, size_t n) {
    if (r->launch) return launch_where(r->launch, i, buf, n);
    snprintf(buf, n, "pid %d", (int)r->ag[i].pid);
    return buf;
}

// Agents started by a launcher: they connect, authenticate and get the scenario (launch_rdv.c).
static int agents_launch(Run *r) {
    Err e = {{0}};
    char *text = scenario_dump(&r->s);
    int *fds = xcalloc((size_t)r->n, sizeof(int));
    double t0 = time_now();
    int rc = launch_start(r->launch, r->n, r->self, r->run_dir, text, fds, &interrupted, r->net.log, &e);
    free(text);
    for (int i = 0; i < r->n; i++) {
        r->ag[i].fd = fds[i];
        r->ag[i].last_seen = time_now();
        frame_reader_init(&r->ag[i].rd, WIRE_MAX_PAYLOAD);
    }
    free(fds);
    r->net.setup_s = time_now() - t0;
    if (rc) { fail_set(r, "launcher %s: %s", r->launch->ops->name, e.msg); return -1; }
    json_t *hosts = json_array();
    for (int i = 0; i < r->n; i++) json_array_append_new(hosts, json_string(r->launch->host[i]));
    char *h = json_dumps(hosts, JSON_COMPACT);
    run_net_log(&r->net, "{\"event\":\"launch\",\"launcher\":\"%s\",\"agents\":%d,\"hosts\":%s,\"connect_s\":%.4f,"
                "\"rejected\":%d}", r->launch->ops->name, r->n, h ? h : "[]", r->net.setup_s, r->launch->rejected);
    free(h);
    json_decref(hosts);
    return 0;
}

static int agent_spawn(Run *r, int i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) return -1;
    pid_t pid = fork();
    if (pid < 0) { close(sv[0]); close(sv[1]); return -1; }
    if (pid == 0) {
        // The child dies with the runner, ignores the terminal's Ctrl-C (the runner stops it), and
        // gets the control socket without close-on-exec.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) _exit(1);
        signal(SIGINT, SIG_IGN);
        setpriority(PRIO_PROCESS, 0, r->agent_nice);
        close(sv[0]);
        // Its own network namespace (kernel backend), then wait until the runner has wired it.
        int entered = r->net.backend->child_enter(&r->net.ne, i) == 0;
        if (r->net.entered[1] >= 0 && write(r->net.entered[1], entered ? "y" : "n", 1) != 1) _exit(125);
        if (!entered) {
            dprintf(2, "agent %d: cannot enter its network namespace: %s\n", i, strerror(errno));
            _exit(125);
        }
        if (r->net.gate[1] >= 0) close(r->net.gate[1]);
        char c;
        while (r->net.gate[0] >= 0 && read(r->net.gate[0], &c, 1) < 0 && errno == EINTR) {}
        int fd = dup(sv[1]), dfd = r->data_fd >= 0 ? dup(r->data_fd) : -1;   // dup: not close-on-exec
        char id[16], fds[16], dfds[16], ip[32], path[1100];
        snprintf(dfds, sizeof dfds, "%d", dfd);
        snprintf(id, sizeof id, "%d", i);
        snprintf(fds, sizeof fds, "%d", fd);
        backend_addr(r->net.backend, i, ip, sizeof ip);
        snprintf(path, sizeof path, "%s/scenario.json", r->run_dir);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        char *argv[] = {(char *)r->self, "agent", "--scenario", path, "--run-dir", r->run_dir, "--id", id,
                        "--ctl-fd", fds, "--bind", ip, dfd >= 0 ? "--data-fd" : NULL, dfds, NULL};
        execv(r->self, argv);
        _exit(127);
    }
    close(sv[1]);
    r->ag[i].pid = pid;
    r->ag[i].fd = sv[0];
    r->ag[i].last_seen = time_now();
    frame_reader_init(&r->ag[i].rd, WIRE_MAX_PAYLOAD);
    return 0;
}

// Spawn every agent; with a shaping backend, they wait at the gate until their links exist.
static int agents_start(Run *r) {
    Err e = {{0}};
    r->net.gate[0] = r->net.gate[1] = r->net.entered[0] = r->net.entered[1] = -1;
    double t0 = time_now();
    // Link changes must happen on time while the agents keep every core busy (inside User-Mode Linux
    // they share one): the runner, and the tc it starts, get a higher priority than the agents.
    r->agent_nice = getpriority(PRIO_PROCESS, 0);
    if (r->net.backend != &backend_none) setpriority(PRIO_PROCESS, 0, r->agent_nice - 10);
    const char *bn = r->net.backend->name;
    if (r->net.backend->open(&r->net.ne, &e)) { fail_set(r, "network backend %s: %s", bn, e.msg); return -1; }
    if (r->net.backend != &backend_none && (pipe2(r->net.gate, O_CLOEXEC) || pipe2(r->net.entered, O_CLOEXEC))) {
        fail_set(r, "pipe: %s", strerror(errno));
        return -1;
    }
    if (r->launch) return agents_launch(r);
    // One decoded copy of the dataset for every agent here (agents elsewhere load their own).
    if (dataset_share(&r->ev.train, &r->ev.test, &r->data_fd, &e)) { fail_set(r, "%s", e.msg); return -1; }
    for (int i = 0; i < r->n; i++)
        if (agent_spawn(r, i)) { fail_set(r, "cannot start agent %d: %s", i, strerror(errno)); return -1; }
    if (r->net.backend == &backend_none) return 0;
    close(r->net.gate[0]);
    close(r->net.entered[1]);
    r->net.gate[0] = r->net.entered[1] = -1;
    // Every agent reports that it is in its own namespace before anything refers to it.
    for (int got = 0; got < r->n;) {
        struct pollfd pf = {r->net.entered[0], POLLIN, 0};
        char buf[256];
        ssize_t k = poll(&pf, 1, 10000) == 1 ? read(r->net.entered[0], buf, sizeof buf) : 0;
        if (k <= 0) {
            fail_set(r, "network backend %s: only %d of %d agents entered their namespaces", bn, got, r->n);
            break;
        }
        for (ssize_t q = 0; q < k; q++)
            if (buf[q] != 'y') fail_set(r, "network backend %s: an agent could not create its network namespace", bn);
        got += (int)k;
    }
    close(r->net.entered[0]);
    r->net.entered[0] = -1;
    if (r->fail[0]) return -1;
    for (int i = 0; i < r->n; i++) r->net.ne.pids[i] = r->ag[i].pid;
    if (r->net.backend->wire(&r->net.ne, &e)) { fail_set(r, "network backend %s: %s", bn, e.msg); return -1; }
    r->net.setup_s = time_now() - t0;
    close(r->net.gate[1]);   // end of file at the gate: the agents go on
    r->net.gate[1] = -1;
    int shaped = 0;
    for (int k = 0; k < r->n * r->n; k++) shaped += r->net.ne.shaped[k];
    run_net_log(&r->net, "{\"event\":\"setup\",\"backend\":\"%s\",\"agents\":%d,\"shaped_links\":%d,\"setup_s\":%.4f}",
                 r->net.backend_name, r->n, shaped, r->net.setup_s);
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < r->n; j++) {
            if (!r->net.ne.shaped[i * r->n + j]) continue;
            char lj[400];
            link_json(&r->net.ne.link[i * r->n + j], lj, sizeof lj);
            run_net_log(&r->net, "{\"event\":\"link\",\"t_s\":0,\"from\":%d,\"to\":%d,\"link\":%s}", i, j, lj);
        }
    return 0;
}

void run_kill_all(Run *r) {
    if (r->launch) {   // a finished run's agents exit by themselves; the launcher then does too
        int all = 1;
        for (int i = 0; i < r->n; i++) all &= r->ag[i].done;
        for (int i = 0; i < r->n; i++)   // nothing more is read: the relay must not wait to deliver it
            if (r->ag[i].fd >= 0) close(r->ag[i].fd), r->ag[i].fd = -1;
        launch_stop(r->launch, all && !r->fail[0] ? DONE_EXIT_S : 0.0);
        for (int i = 0; i < r->n; i++) r->ag[i].exited = 1;
        return;
    }
    for (int i = 0; i < r->n; i++) if (r->ag[i].pid > 0 && !r->ag[i].exited) kill(r->ag[i].pid, SIGTERM);
    double end = time_now() + 1.0;
    for (int i = 0; i < r->n; i++) {
        while (r->ag[i].pid > 0 && !r->ag[i].exited) {
            int st;
            pid_t p = waitpid(r->ag[i].pid, &st, WNOHANG);
            if (p == r->ag[i].pid || (p < 0 && errno == ECHILD)) { r->ag[i].exited = 1; break; }
            if (time_now() > end) {
                kill(r->ag[i].pid, SIGKILL);
                waitpid(r->ag[i].pid, &st, 0);
                r->ag[i].exited = 1;
                break;
            }
            usleep(10000);
        }
    }
}

// The start signal: every agent's address and port, and, when links are authenticated, the keys
// agent i shares with each peer, derived from a fresh key for this run that never leaves this process.
// Each agent gets only its own keys, over its inherited control socket.
static void go_send(Run *r) {
    uint8_t run_key[AUTH_KEY_BYTES];
    auth_random(run_key, sizeof run_key);
    json_t *ips = json_array(), *ports = json_array();
    for (int i = 0; i < r->n; i++) {
        char ip[64];
        if (r->launch) str_copy(ip, sizeof ip, r->launch->ip[i]);
        else backend_addr(r->net.backend, i, ip, sizeof ip);
        json_array_append_new(ips, json_string(ip));
        json_array_append_new(ports, json_integer(r->ag[i].port));
    }
    for (int i = 0; i < r->n && !r->fail[0]; i++) {
        json_t *o = json_pack("{s:O, s:O}", "ips", ips, "ports", ports);
        if (r->s.net.auth) {
            json_t *keys = json_array();
            for (int j = 0; j < r->n; j++) {
                uint8_t k[AUTH_KEY_BYTES];
                char hex[2 * AUTH_KEY_BYTES + 1] = "";
                if (j != i) auth_pair_key(k, run_key, i, j), auth_key_to_hex(hex, k);
                json_array_append_new(keys, json_string(hex));
                explicit_bzero(k, sizeof k);
            }
            json_object_set_new(o, "keys", keys);
        }
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        Err e;
        if (!t || ctl_send(r->ag[i].fd, CTL_GO, 0, t, strlen(t), &e))
            fail_set(r, "agent %d: cannot send the start signal: %s", i, t ? e.msg : "out of memory");
        if (t) { explicit_bzero(t, strlen(t)); free(t); }
    }
    explicit_bzero(run_key, sizeof run_key);
    json_decref(ips);
    json_decref(ports);
    r->t_go = time_now();
    // ready_s: from the runner's start until every agent had loaded its data and was listening.
    run_net_log(&r->net, "{\"event\":\"start\",\"t_s\":0,\"ready_s\":%.4f,\"auth\":%s,\"frame_mac\":%s}",
                r->t_go - r->t0, r->s.net.auth ? "true" : "false", r->s.net.frame_mac ? "true" : "false");
}

// An error that only says a peer's link closed or broke ("link from agent 2 closed ...", "link to
// agent 2 broke: ...") is a consequence of what happened to that peer: the peer's id, or -1.
static int consequence_of(const char *msg) {
    const char *p = strstr(msg, "link from agent ");
    if (!p) p = strstr(msg, "link to agent ");
    if (!p || (!strstr(p, " closed") && !strstr(p, " broke"))) return -1;
    p = strstr(p, "agent ") + 6;
    return (int)strtol(p, NULL, 10);
}

// Keep the first consequence (agent i blames peer X) until X's own fate is known. When X itself reports
// a consequence (X blames Y), X's is closer to the cause and replaces it: both messages can arrive in the
// same poll round, and agent i may be read first (1 blames 3, 3 blames 2, 2 was killed).
static void consequence_note(Run *r, int i, const char *msg) {
    // Not when X blames the agent that blamed it: that cycle says nothing new.
    if (r->secondary[0] && (r->secondary_peer != i || consequence_of(msg) == r->secondary_agent)) return;
    snprintf(r->secondary, sizeof r->secondary, "agent %d failed: %.500s", i, msg);
    r->secondary_agent = i;
    r->secondary_at = time_now();
    r->secondary_peer = consequence_of(msg);
}

// The consequence becomes the run's failure once the peer it names has exited without a failure of
// its own (a failure would have been reported first), or after CONSEQUENCE_WAIT_S if the peer is
// still there: a process killed with a large heap can take a while to become reapable on a busy
// machine, and until then its peers' "closed" errors must not be taken for the cause.
#define CONSEQUENCE_WAIT_S 15.0
static int consequence_due(const Run *r, double now) {
    int x = r->secondary_peer;
    if (r->launch && x >= 0 && x < r->n && r->launch->lost[x]) return 0;   // its host's loss is being named
    if (x >= 0 && x < r->n && !r->ag[x].exited) return now - r->secondary_at > CONSEQUENCE_WAIT_S;
    return now - r->secondary_at > 0.5;
}

// The JSON of a control message: the whole payload, or a report's (ctl.h). NULL if there is none.
static json_t *frame_json(const FrameHeader *h, const uint8_t *p) {
    size_t len = h->payload_len;
    if (h->kind == CTL_READY || h->kind == CTL_ERROR || h->kind == CTL_CONNECTED || h->kind == CTL_REJECTED)
        return json_loadb((const char *)p, len, 0, NULL);
    CtlReport rep;
    if ((h->kind == CTL_PROGRESS || h->kind == CTL_DONE) && !ctl_report_unpack(p, len, &rep))
        return json_loadb(rep.json, rep.json_len, 0, NULL);
    return NULL;
}

static void on_connected(Run *r, int i, const json_t *o) {
    run_net_rejects_take(&r->net, i, o, r->t_go);
    r->ag[i].connected = 1;
    for (int k = 0; k < r->n; k++) if (!r->ag[k].connected) return;
    Err e = {{0}};
    if (run_net_deferred_apply(&r->net, r->t_go, &e)) fail_set(r, "%s", e.msg);
}

static void on_eval(Run *r, int i, const uint8_t *p, size_t len) {
    Err e = {{0}};
    int got = run_eval_take(&r->ev, i, p, len, r->t_go > 0 ? time_now() - r->t_go : 0.0, &e);
    if (got < 0) { fail_set(r, "%s", e.msg); return; }
    // The runner was busy evaluating and read nothing meanwhile: that silence is not the agents'.
    double now = time_now();
    if (got) for (int k = 0; k < r->n; k++) r->ag[k].last_seen = now;
}

static void on_error(Run *r, int i, const json_t *o) {
    const char *msg = o ? json_string_value(json_object_get(o, "error")) : NULL;
    if (msg) str_copy(r->ag[i].error, sizeof r->ag[i].error, msg);
    // "link from agent X closed" is a consequence: X's own fate decides (consequence_wait).
    if (msg && consequence_of(msg) >= 0)
        consequence_note(r, i, msg);
    else
        fail_set(r, "agent %d failed: %s", i, msg ? msg : "(no message)");
}

static void on_frame(Run *r, int i) {
    AgentProc *a = &r->ag[i];
    const FrameHeader *h = &a->rd.h;
    a->last_seen = time_now();
    json_t *o = frame_json(h, a->rd.payload);
    int all = 1;
    switch (h->kind) {
    case CTL_READY:
        a->port = (int)json_integer_value(json_object_get(o, "port"));
        a->ready = 1;
        for (int k = 0; k < r->n; k++) all &= r->ag[k].ready;
        if (all) go_send(r);
        break;
    case CTL_REJECTED: run_net_rejects_take(&r->net, i, o, r->t_go); break;
    case CTL_CONNECTED: on_connected(r, i, o); break;
    case CTL_PROGRESS:
        a->round = (long)json_integer_value(json_object_get(o, "round"));
        a->rounds = (long)json_integer_value(json_object_get(o, "rounds"));
        a->loss = json_number_value(json_object_get(o, "loss"));
        a->epoch = json_number_value(json_object_get(o, "epoch"));
        a->bytes_wire = (uint64_t)json_integer_value(json_object_get(o, "bytes_wire"));
        break;
    case CTL_EVAL: on_eval(r, i, a->rd.payload, h->payload_len); break;
    case CTL_DONE:
        a->done = 1;
        a->done_at = time_now();
        free(a->done_json);
        a->done_json = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (o) a->bytes_wire = (uint64_t)json_integer_value(json_object_get(o, "bytes_wire"));
        break;
    case CTL_ERROR: on_error(r, i, o); break;
    case CTL_LOG: {
        Err e = {{0}};
        if (!r->launch) fail_set(r, "agent %d sent its metrics over the control channel, but it runs here", i);
        else if (launch_metrics_write(r->launch, i, r->run_dir, a->rd.payload, h->payload_len, &e))
            fail_set(r, "%s", e.msg);
        break;
    }
    case LAUNCH_CTL_COUNTERS: {
        Err e = {{0}};
        if (!r->launch || launch_counters_take(r->launch, i, a->rd.payload, h->payload_len, &e))
            fail_set(r, "%s", r->launch ? e.msg : "an agent started here sent link counters");
        break;
    }
    case LAUNCH_CTL_PATHS: {
        Err e = {{0}};
        if (!r->launch || launch_paths_take(r->launch, i, a->rd.payload, h->payload_len, &e))
            fail_set(r, "%s", r->launch ? e.msg : "an agent started here sent a path report");
        break;
    }
    default: fail_set(r, "agent %d sent an unknown control message (kind %u)", i, h->kind);
    }
    json_decref(o);
}

// Read what agent i sent; frames go to on_frame. EOF before CTL_DONE is a failure.
static void agent_read(Run *r, int i) {
    AgentProc *a = &r->ag[i];
    uint8_t buf[1 << 16];
    ssize_t n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        close(a->fd);
        a->fd = -1;
        a->eof_at = time_now();   // the exit status, reaped next, usually says more
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && !r->fail[0]) {
        size_t used = 0;
        Err e = {{0}};
        int got = frame_reader_feed(&a->rd, buf + off, (size_t)n - off, &used, &e);
        off += used;
        if (got < 0) { fail_set(r, "agent %d: corrupt control message: %s", i, e.msg); return; }
        if (got == 0) break;
        on_frame(r, i);
    }
}

// Agents on other hosts: the end of the control connection is their exit. Connections lost before
// finishing are gathered for LOST_GATHER_S (a host's agents go together) and named by host. The
// launcher's exit before every agent finished is a failure too.
#define LOST_GATHER_S 1.0
#define LAUNCHER_GONE_S 5.0
static void remote_reap(Run *r) {
    Launch *l = r->launch;
    for (int i = 0; i < r->n; i++) {
        AgentProc *a = &r->ag[i];
        double quiet = a->exited || a->fd < 0 || a->done ? 0 : launch_silence(l, i);
        if (quiet > LAUNCH_SILENT_S) l->silent[i] = quiet;   // alive for TCP, but not a sign of life
        if (a->exited || (a->fd >= 0 && !l->silent[i])) continue;
        a->exited = 1;
        if (a->done || a->error[0]) continue;   // an error was reported (on_error) when it came
        l->lost[i] = 1;
        if (!l->lost_at) l->lost_at = time_now();
    }
    int gone = 1;   // every agent gone: nothing more to gather
    for (int i = 0; i < r->n; i++) gone &= r->ag[i].exited;
    if (l->lost_at && (gone || time_now() - l->lost_at >= LOST_GATHER_S)) {
        char msg[sizeof r->fail];
        launch_lost_describe(l, msg, sizeof msg);
        fail_set(r, "%s", msg);
    }
    // Hosts that both reach the runner but not each other (launch_paths.c).
    char part[sizeof r->fail];
    if (!l->lost_at && launch_paths_due(l, part, sizeof part)) fail_set(r, "%s", part);
    int all = 1;
    for (int i = 0; i < r->n; i++) all &= r->ag[i].done;
    // The launcher ends once its agents have: what they sent last may still be on its way (relay, sockets).
    if (!all && !l->lost_at && launch_poll(l) && !l->exited_at) l->exited_at = time_now();
    if (!all && !l->lost_at && l->exited_at && time_now() - l->exited_at > LAUNCHER_GONE_S) {
        int st = l->status;
        fail_set(r, "%s exited (status %d) %.0f s ago and not every agent finished; its output: %s", l->ops->program,
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), LAUNCHER_GONE_S, l->log_path);
    }
}

// Reap exited agents: an exit before CTL_DONE, a non-zero status or a signal is a failure.
static void agents_reap(Run *r) {
    if (r->launch) { remote_reap(r); return; }
    for (int i = 0; i < r->n; i++) {
        AgentProc *a = &r->ag[i];
        if (a->exited) continue;
        int st;
        pid_t p = waitpid(a->pid, &st, WNOHANG);
        if (p != a->pid) continue;
        // Drain what it wrote before dying: its last message may say why.
        while (a->fd >= 0) agent_read(r, i);
        a->exited = 1;
        if (WIFSIGNALED(st) && a->done && WTERMSIG(st) == SIGKILL) continue;   // ended by us after DONE
        if (WIFSIGNALED(st))
            fail_set(r, "agent %d (pid %d) was killed by signal %d (%s)", i, (int)a->pid, WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else if (WEXITSTATUS(st) != 0 && a->error[0] && consequence_of(a->error) < 0)
            fail_set(r, "agent %d failed: %s", i, a->error);
        else if (WEXITSTATUS(st) != 0 && a->error[0]) consequence_note(r, i, a->error);   // the peer's fate decides
        else if (WEXITSTATUS(st) != 0)
            fail_set(r, "agent %d (pid %d) exited with status %d", i, (int)a->pid, WEXITSTATUS(st));
        else if (!a->done) fail_set(r, "agent %d (pid %d) exited without finishing", i, (int)a->pid);
    }
}

static void progress_print(Run *r, int force) {
    double now = time_now();
    // Plain lines every 10 s off a terminal; a sweep running several jobs asks for them more often.
    const char *every = getenv("MESHTRAIN_PROGRESS_S");
    double plain_s = every && atof(every) > 0 ? atof(every) : 10.0;
    if (!force && now - r->last_print < (r->tty ? 0.25 : plain_s)) return;
    r->last_print = now;
    long done = 0, total = 0;
    double loss = 0, acc = 0, mb = 0;
    for (int i = 0; i < r->n; i++) {
        done += r->ag[i].round; total += r->ag[i].rounds;
        loss += r->ag[i].loss / r->n; acc += r->ev.acc[i] / r->n;
        mb += r->ag[i].bytes_wire / 1e6;
    }
    double el = now - r->t0, frac = total ? (double)done / total : 0;
    char left[32];
    fmt_duration(frac > 0.01 ? el * (1 - frac) / frac : -1, left, sizeof left);
    FILE *f = r->json ? stderr : stdout;
    char elapsed[32];
    fmt_duration(el, elapsed, sizeof elapsed);
    fprintf(f, "%s%s  epoch %.2f/%d  loss %.4f  acc %s%.2f%%  %.2f MB sent  %s elapsed  %s left%s",
            r->tty ? "\r\033[K" : "", r->s.name, r->n ? r->ag[0].epoch : 0, r->s.epochs, loss,
            r->ev.total ? "" : "(no eval yet) ", 100 * acc, mb, elapsed, frac > 0.01 ? left : "?", r->tty ? "" : "\n");
    fflush(f);
}

// Failures that announce nothing: a closed channel, silence, a consequence whose cause never spoke;
// and an agent that finished but is still there (its results are in, so it is ended).
static void agents_watch(Run *r) {
    double now = time_now();
    char w[128];
    for (int i = 0; i < r->n; i++) {
        AgentProc *a = &r->ag[i];
        // Its exit status says more: wait for it a while.
        if (a->fd < 0 && !a->done && !a->exited && now - a->eof_at > CONSEQUENCE_WAIT_S)
            fail_set(r, "agent %d (%s) closed its control channel before finishing", i, where(r, i, w, sizeof w));
    }
    for (int i = 0; i < r->n; i++) {
        AgentProc *a = &r->ag[i];
        if (!a->done && !a->exited && now - a->last_seen > (a->ready ? r->s.hang_timeout_s : STARTUP_TIMEOUT_S))
            fail_set(r, "agent %d (%s) sent nothing for %.1f s: hung (hang_timeout_s = %g)", i,
                     where(r, i, w, sizeof w), now - a->last_seen, r->s.hang_timeout_s);
    }
    if (r->secondary[0] && consequence_due(r, now)) fail_set(r, "%s", r->secondary);
    for (int i = 0; i < r->n; i++)
        if (r->ag[i].done && !r->ag[i].exited && now - r->ag[i].done_at > DONE_EXIT_S && r->ag[i].pid > 0)
            kill(r->ag[i].pid, SIGKILL);
}

int run_agents(Run *r) {
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    r->t0 = r->last_print = time_now();
    agents_start(r);
    struct pollfd *fds = xcalloc((size_t)r->n, sizeof *fds);
    while (!r->fail[0]) {
        int alive = 0, nf = 0;
        for (int i = 0; i < r->n; i++) {
            if (r->ag[i].fd >= 0) fds[nf++] = (struct pollfd){r->ag[i].fd, POLLIN, 0};
            alive += !r->ag[i].exited;
        }
        if (!alive) break;
        int wait_ms = 100;
        if (r->t_go > 0 && r->net.next_change < r->net.plan.n_change) {
            double due = (r->t_go + r->net.plan.change[r->net.next_change].at_s - time_now()) * 1e3;
            wait_ms = due < 0 ? 0 : due < wait_ms ? (int)due + 1 : wait_ms;
        }
        poll(fds, (nfds_t)nf, wait_ms);
        Err e = {{0}};
        if (r->t_go > 0 && run_net_changes_apply(&r->net, r->t_go, &e)) fail_set(r, "%s", e.msg);
        for (int i = 0; i < r->n && !r->fail[0]; i++) {
            // Read every agent whose socket is readable (cheap: MSG_DONTWAIT).
            if (r->ag[i].fd >= 0) agent_read(r, i);
        }
        agents_reap(r);
        agents_watch(r);
        if (interrupted) fail_set(r, "interrupted by %s", interrupted == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM");
        progress_print(r, 0);
    }
    free(fds);
    if (r->secondary[0]) fail_set(r, "%s", r->secondary);   // every agent gone, the cause never named
    if (r->tty) fputc('\n', r->json ? stderr : stdout);
    if (!r->fail[0] && r->net.backend != &backend_none) {
        // Launched agents sent their own senders' counters from their hosts (launch_agent.c).
        int from = r->n;
        char *st = r->launch ? launch_counters_json(r->launch, &from) : r->net.backend->stats(&r->net.ne);
        if (st)
            run_net_log(&r->net, "{\"event\":\"counters\",\"t_s\":%.4f,\"agents\":%d,\"links\":%s}",
                        time_now() - r->t_go, from, st);
        free(st);
    }
    if (!r->fail[0]) r->net.fidelity = run_fidelity(r);
    if (r->fail[0]) { run_kill_all(r); r->net.backend->close(&r->net.ne); return 1; }
    run_kill_all(r);
    r->net.backend->close(&r->net.ne);
    return 0;
}

void run_init(Run *r) {
    memset(r, 0, sizeof *r);
    run_net_init(&r->net);
    r->secondary_peer = -1;
    r->data_fd = -1;
}

void run_agents_alloc(Run *r) {
    r->ag = xcalloc((size_t)r->n, sizeof(AgentProc));
    for (int i = 0; i < r->n; i++) r->ag[i].fd = -1;
}

void run_free(Run *r) {
    if (r->data_fd >= 0) close(r->data_fd);
    r->data_fd = -1;
    for (int i = 0; r->ag && i < r->n; i++) {
        if (r->ag[i].fd >= 0) close(r->ag[i].fd);
        frame_reader_free(&r->ag[i].rd);
        free(r->ag[i].done_json);
    }
    free(r->ag);
    r->ag = NULL;
    run_eval_free(&r->ev);
    run_net_free(&r->net);
    if (r->launch) launch_free(r->launch);
    free(r->launch);
    r->launch = NULL;
    scenario_free(&r->s);
}
