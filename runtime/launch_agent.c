// `meshtrain agent --connect`: an agent started by a launcher (mpirun, srun), possibly on another
// host: its id from the launcher, the runner's address and launch key from its environment, the
// control channel over sealed TCP, its metrics streamed to the runner, and with shaped links its own
// namespace on the overlay across hosts, whose egress changes it applies as the runner sends them.
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agent.h"
#include "ctl.h"
#include "launch.h"

static volatile int finished;   // set once agent_run returned: the runner's end is then expected

// The runner is gone (or cut off) while this agent still works: nothing of the run may be left behind.
static void on_runner_end(const CtlRelayPair *p) {
    if (finished) return;
    dprintf(2, "meshtrain agent %d: lost the runner (%s): exiting\n", p->id, p->why);
    _exit(1);
}

// The id the launcher gave this process, and which variable it came from.
static int id_from_launcher(const char **var) {
    const char *vars[] = {"SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"};
    for (int k = 0; k < 3; k++) {
        const char *v = getenv(vars[k]);
        char *end;
        long id = v ? strtol(v, &end, 10) : -1;
        if (v && *v && !*end && id >= 0 && id < 1 << 20) { *var = vars[k]; return (int)id; }
    }
    return -1;
}

// The key, then wiped from this process's environment block (what /proc/PID/environ shows).
static int key_take(uint8_t key[AUTH_KEY_BYTES]) {
    char *hex = getenv(LAUNCH_ENV_KEY);
    int rc = hex ? auth_key_from_hex(key, hex) : -1;
    if (hex) explicit_bzero(hex, strlen(hex));
    unsetenv(LAUNCH_ENV_KEY);
    return rc;
}

// Metrics lines go to the runner as CTL_LOG messages over the control socket.
static ssize_t log_write(void *cookie, const char *buf, size_t n) {
    Err e = {{0}};
    return ctl_send(*(int *)cookie, CTL_LOG, 0, buf, n, &e) ? -1 : (ssize_t)n;
}

// The address this host reaches the runner from: peers on other hosts reach this agent there too.
static void local_addr(int fd, char *out, size_t n) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    str_copy(out, n, "127.0.0.1");
    if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
        getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

// Between the relay (fd relay) and the agent (fd agent): whole frames both ways, except the runner's
// link changes (LAUNCH_CTL_LINKS), applied here to this agent's egress. A change that fails is this
// agent's error: it is reported as the agent would report one, and the agent ends. With unshaped links
// (watch), once a beat it also reports the peers its data goes unacknowledged to (LAUNCH_CTL_PATHS): the
// only writer of frames to the relay besides the agent, whose frames it forwards whole.
typedef struct { int relay, agent, id, watch, tcp; pthread_t th; } LinksFilter;

static void paths_send(LinksFilter *f, double *next) {
    if (!f->watch || time_now() < *next) return;
    *next = time_now() + LAUNCH_BEAT_S;
    char *t = launch_paths_report(f->tcp);
    Err e = {{0}};
    if (t) ctl_send(f->relay, LAUNCH_CTL_PATHS, 0, t, strlen(t), &e);
    free(t);
}

static void *links_filter_main(void *arg) {
    LinksFilter *f = arg;
    FrameReader rd;
    frame_reader_init(&rd, WIRE_MAX_PAYLOAD);
    double next = 0;
    for (;;) {
        struct pollfd pf[2] = {{f->relay, POLLIN, 0}, {f->agent, POLLIN, 0}};
        int got_any = poll(pf, 2, f->watch ? (int)(LAUNCH_BEAT_S * 1000) : -1);
        paths_send(f, &next);
        if (got_any <= 0) continue;
        Err e = {{0}};
        for (int k = 0; k < 2; k++) {
            if (!pf[k].revents) continue;
            int from = k ? f->agent : f->relay, to = k ? f->relay : f->agent;
            int got = ctl_recv(from, &rd, 60, &e);
            if (got != 1) {   // one side ended: so does the other (the relay then ends the sealed stream)
                shutdown(to, SHUT_WR);
                if (!k) close(f->agent), f->agent = -1;   // the runner is gone: the agent sees the end
                frame_reader_free(&rd);
                return NULL;
            }
            if (!k && rd.h.kind == LAUNCH_CTL_LINKS) {
                char *batch = strndup((const char *)rd.payload, rd.h.payload_len);
                int rc = overlay_links_apply(batch, &e);
                free(batch);
                if (!rc) continue;
                char msg[600];
                json_t *o = json_pack("{s:s}", "error", e.msg);
                char *t = json_dumps(o, JSON_COMPACT);
                snprintf(msg, sizeof msg, "%s", t ? t : "{}");
                free(t), json_decref(o);
                dprintf(2, "meshtrain agent %d: %s\n", f->id, e.msg);
                ctl_send(f->relay, CTL_ERROR, 0, msg, strlen(msg), &e);
                shutdown(f->relay, SHUT_WR);
                usleep(500000);   // the relay sends it on
                _exit(1);
            }
            if (ctl_send(to, rd.h.kind, (uint32_t)rd.h.round, rd.payload, rd.h.payload_len, &e)) {
                shutdown(from, SHUT_RDWR);
                frame_reader_free(&rd);
                return NULL;
            }
        }
    }
}

// Put the links filter between the relay and the agent: *ctl becomes the agent's end. watch: report
// unacknowledged paths (unshaped links); tcp: the control connection, which is not a peer's.
static int filter_start(LinksFilter *f, int id, int *ctl, int watch, int tcp, Err *e) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        err_set(e, "socketpair: %s", strerror(errno));
        return -1;
    }
    *f = (LinksFilter){.relay = *ctl, .agent = sv[1], .id = id, .watch = watch, .tcp = tcp};
    if (pthread_create(&f->th, NULL, links_filter_main, f)) { err_set(e, "cannot start a thread"); return -1; }
    *ctl = sv[0];
    return 0;
}

// Join this host's part of the overlay (a namespace of its own with a VXLAN eth0 and its egress shaping),
// then start the links filter (no path reports: emulated loss and cuts would look like a partition).
static int overlay_enter(const char *spec, int id, int *ctl, char *bind_ip, size_t n, LinksFilter *f, int tcp, Err *e) {
    if (overlay_join(spec, bind_ip, n, e)) return -1;
    return filter_start(f, id, ctl, 0, tcp, e);
}

// This agent's senders' netem counters, for the run's link report (the runner cannot read another host's
// tc): sent once it finished, before its end of the stream. Nothing is sent if tc cannot say.
static void counters_send(int ctl, int id) {
    json_t *links = json_array();
    char *t = shape_counters(-1, id, 1 << 20, links) ? NULL : json_dumps(links, JSON_COMPACT);
    Err e = {{0}};
    if (t) ctl_send(ctl, LAUNCH_CTL_COUNTERS, 0, t, strlen(t), &e);
    free(t);
    json_decref(links);
}

static int fail(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "meshtrain agent --connect: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

int launch_agent_main(void) {
    const char *var = NULL, *rdv = getenv(LAUNCH_ENV_RENDEZVOUS);
    int id = id_from_launcher(&var);
    uint8_t key[AUTH_KEY_BYTES];
    if (id < 0)
        return fail("no agent id from a launcher (SLURM_PROCID, OMPI_COMM_WORLD_RANK or PMIX_RANK)%s%s", "", "");
    if (key_take(key)) return fail("%s is missing or not 64 hex digits%s (meshtrain run sets it)", LAUNCH_ENV_KEY, "");
    char host[256];
    const char *colon = rdv ? strrchr(rdv, ':') : NULL;
    if (!colon || colon == rdv) return fail("%s '%s' is not HOST:PORT", LAUNCH_ENV_RENDEZVOUS, rdv ? rdv : "");
    snprintf(host, sizeof host, "%.*s", (int)(colon - rdv), rdv);
    Err e = {{0}};
    CtlSeal seal;
    int fd = ctl_tcp_connect(host, atoi(colon + 1), key, id, &seal, 60, &e);
    explicit_bzero(key, sizeof key);
    if (fd < 0) return fail("agent %s: %s", var, e.msg);
    char me[256] = "", info[400], bind_ip[64];
    gethostname(me, sizeof me);
    json_t *o = json_pack("{s:s, s:i, s:s}", "host", me, "pid", (int)getpid(), "id_from", var);
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    snprintf(info, sizeof info, "%s", t);
    free(t);
    int sv[2];
    if (ctl_tcp_write(fd, &seal, info, strlen(info), &e) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return fail("cannot reach the runner: %s%s", e.msg[0] ? e.msg : "socketpair", "");
    local_addr(fd, bind_ip, sizeof bind_ip);
    CtlRelayPair pair = {.plain = sv[1], .tcp = fd, .seal = seal, .id = id, .on_end = on_runner_end,
                         .beat_s = LAUNCH_BEAT_S};
    CtlRelay *relay = ctl_relay_start(&pair, 1, &e);
    if (!relay) return fail("%s%s", e.msg, "");
    FrameReader rd;
    frame_reader_init(&rd, WIRE_MAX_PAYLOAD);
    if (ctl_recv(sv[0], &rd, 60, &e) != 1 || rd.h.kind != CTL_SCENARIO)
        return fail("no scenario from the runner: %s%s", e.msg[0] ? e.msg : "another message first", "");
    json_t *sc = json_loadb((const char *)rd.payload, rd.h.payload_len, 0, NULL);
    const char *text = json_string_value(json_object_get(sc, "scenario"));
    const char *run_dir = json_string_value(json_object_get(sc, "run_dir"));
    if (!text || !run_dir) return fail("a malformed scenario message from the runner%s%s", "", "");
    char path[1200];
    snprintf(path, sizeof path, "%s/scenario.json", run_dir);
    const char *overlay = json_string_value(json_object_get(sc, "overlay"));
    LinksFilter filter = {.relay = -1};
    int ctl = sv[0];
    if (overlay ? overlay_enter(overlay, id, &ctl, bind_ip, sizeof bind_ip, &filter, fd, &e)
                : filter_start(&filter, id, &ctl, 1, fd, &e)) {
        char host_err[800];
        snprintf(host_err, sizeof host_err, "host %s: %s", me, e.msg);
        json_t *eo = json_pack("{s:s}", "error", host_err);
        char *et = json_dumps(eo, JSON_COMPACT);
        json_decref(eo);
        ctl_send(sv[0], CTL_ERROR, 0, et, strlen(et), &e);
        free(et);
        shutdown(sv[0], SHUT_WR);
        ctl_relay_wait(relay, 5.0);
        return fail("%s%s", host_err, "");
    }
    FILE *log = fopencookie(&ctl, "w", (cookie_io_functions_t){.write = log_write});
    AgentArgs g = {.scenario_path = path, .scenario_text = text, .run_dir = run_dir, .id = id, .ctl_fd = ctl,
                   .bind_ip = bind_ip, .log = log, .data_fd = -1};
    int rc = agent_run(&g);   // closes log
    finished = 1;
    if (overlay && !rc) counters_send(ctl, id);
    shutdown(ctl, SHUT_WR);   // the relay ends the sealed stream; the runner then closes its side
    if (filter.relay >= 0) pthread_join(filter.th, NULL);
    ctl_relay_wait(relay, 10.0);
    ctl_relay_stop(relay);
    close(sv[0]);
    json_decref(sc);
    frame_reader_free(&rd);
    return rc;
}
