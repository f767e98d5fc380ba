// Boots User-Mode Linux with an init script of ours (mount proc and sys, load netem, veth, htb, u32,
// bridge and vxlan, run the command, write its status, power off). The guest runs as PID 1 of a new PID
// namespace whose parent dies with us, so Ctrl-C or SIGKILL of the runner leaves no UML process.
#include "uml.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ftw.h>
#include <unistd.h>

#define MARK_BEGIN "@@meshtrain-uml-begin"
#define MARK_END "@@meshtrain-uml-end"

static volatile sig_atomic_t uml_interrupted, keeper_orphaned;
static void uml_on_signal(int sig) { uml_interrupted = sig; }
static void keeper_on_term(int sig) { (void)sig; keeper_orphaned = 1; }

// s in single quotes for sh.
static void sh_quote(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

static int script_write(const char *path, const char *status_path, const NetProbe *p, const UmlJob *j, Err *e) {
    FILE *f = fopen(path, "w");
    if (!f) { err_set(e, "cannot write %s: %s", path, strerror(errno)); return -1; }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "/");
    fprintf(
        f,
        "#!/bin/sh\n# meshtrain: PID 1 of a User-Mode Linux guest (written by netem/uml.c)\n"
        "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        "mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run\n"
        "M=%s\n"
        "for k in net/sched/sch_netem.ko net/sched/sch_htb.ko net/sched/cls_u32.ko drivers/net/veth.ko "
        "lib/crc-ccitt.ko net/ipv6/ipv6.ko net/llc/llc.ko net/802/stp.ko net/bridge/bridge.ko net/ipv4/udp_tunnel.ko "
        "net/ipv6/ip6_udp_tunnel.ko drivers/net/vxlan/vxlan.ko drivers/net/vxlan.ko; do [ -f $M/$k ] && "
        "insmod $M/$k 2>/dev/null; done\n",
        p->uml_modules);
    static const char *const PASS[] = {"HOME", "LANG", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "TERM", NULL};
    for (const char *const *k = PASS; *k; k++)
        if (getenv(*k)) { fprintf(f, "export %s=", *k); sh_quote(f, getenv(*k)); fputc('\n', f); }
    extern char **environ;
    for (char **en = environ; *en; en++)
        if (!strncmp(*en, "MESHTRAIN_", 10)) {
            const char *eq = strchr(*en, '=');
            if (!eq) continue;
            fprintf(f, "export %.*s=", (int)(eq - *en), *en);
            sh_quote(f, eq + 1);
            fputc('\n', f);
        }
    fprintf(f, "export MESHTRAIN_UML_GUEST=1 MESHTRAIN_TTY=%d\ncd ", j->tty);
    sh_quote(f, cwd);
    fprintf(f, " || exit 1\necho %s\n", MARK_BEGIN);
    for (char *const *a = j->argv; *a; a++) { sh_quote(f, *a); fputc(' ', f); }
    fprintf(f, "2>&1\necho $? > ");
    sh_quote(f, status_path);
    fprintf(f, "\necho %s\necho o > /proc/sysrq-trigger\nsleep 60\n", MARK_END);
    int bad = ferror(f);
    if (fclose(f) || bad) { err_set(e, "cannot write %s", path); return -1; }
    chmod(path, 0755);
    return 0;
}

// Guest memory: the runner (dataset, model) and each agent (about 100 MB for LeNet-5), within half the
// host's free memory; MESHTRAIN_UML_MEM_MB asks for more (`meshtrain uml` sizes for 2 agents).
static long uml_mem_mb(int agents) {
    long want = 768 + 192L * agents, avail = 0;
    const char *ask = getenv("MESHTRAIN_UML_MEM_MB");
    if (ask && atol(ask) > want) want = atol(ask);
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %ld kB", &avail) == 1) break;
    if (f) fclose(f);
    if (avail > 0 && want > avail / 1024 / 2) want = avail / 1024 / 2;
    return want < 512 ? 512 : want;
}

// Copy guest output between the markers to stdout, a line at a time. The console turns "\n" into
// "\r\n"; a lone '\r' (a live progress line) is passed on as it is.
typedef struct { int state, cr; size_t len; char line[4096]; } Relay;

static void relay_line(Relay *r, char end) {
    r->line[r->len] = 0;
    if (!strncmp(r->line, MARK_BEGIN, strlen(MARK_BEGIN))) r->state = 1;
    else if (!strncmp(r->line, MARK_END, strlen(MARK_END))) r->state = 2;
    else if (r->state == 1) { fputs(r->line, stdout); fputc(end, stdout); }
    r->len = 0;
}

static void output_relay(int fd, Relay *r) {
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    for (ssize_t k = 0; k < n; k++) {
        char c = buf[k];
        if (r->cr) {
            r->cr = 0;
            relay_line(r, c == '\n' ? '\n' : '\r');
            if (c == '\n') continue;
        }
        if (c == '\r') { r->cr = 1; continue; }
        if (c == '\n' || r->len == sizeof r->line - 1) { relay_line(r, '\n'); continue; }
        r->line[r->len++] = c;
    }
    fflush(stdout);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

int uml_run(const NetProbe *p, const UmlJob *j, int *status, Err *e) {
    char dir[] = "/tmp/meshtrain-uml-XXXXXX";
    if (!mkdtemp(dir)) { err_set(e, "cannot create a folder in /tmp: %s", strerror(errno)); return -1; }
    char script[128], status_path[128];
    snprintf(script, sizeof script, "%s/init.sh", dir);
    snprintf(status_path, sizeof status_path, "%s/status", dir);
    if (script_write(script, status_path, p, j, e)) { rmdir(dir); return -1; }
    char mem[64], init[160], umldir[160];
    snprintf(umldir, sizeof umldir, "uml_dir=%s", dir);   // not ~/.uml: HOME may not be writable
    snprintf(mem, sizeof mem, "mem=%ldM", uml_mem_mb(j->agents));
    snprintf(init, sizeof init, "init=%s", script);
    int po[2];
    if (pipe2(po, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); return -1; }
    pid_t keeper = fork();
    if (keeper == 0) {
        // The keeper: a new PID namespace for the guest, whose processes all die when its first one
        // (the UML kernel) does, and that one dies with the keeper, which dies with the runner.
        // If the runner dies (even by SIGKILL) the keeper is told, ends the guest and removes the
        // scratch folder, so nothing of the run stays behind.
        struct sigaction kt = {.sa_handler = keeper_on_term};
        sigaction(SIGTERM, &kt, NULL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGINT, SIG_IGN);
        if (getppid() == 1) _exit(1);
        // Without root, a user namespace grants the right to make the PID namespace (files keep our uid).
        if (unshare(CLONE_NEWPID) && unshare(CLONE_NEWUSER | CLONE_NEWPID)) {
            dprintf(
                2, "meshtrain: cannot create a PID namespace for User-Mode Linux (needs root or user namespaces): %s\n",
                strerror(errno));
            _exit(126);
        }
        pid_t k = fork();
        if (k == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            dup2(po[1], 1);
            dup2(po[1], 2);
            int null = open("/dev/null", O_RDONLY);
            if (null >= 0) dup2(null, 0);
            if (access("/dev/shm", W_OK) == 0) setenv("TMPDIR", "/dev/shm", 1);   // guest memory in RAM, not on disk
            execl(p->uml_path, p->uml_path, mem, umldir, "rootfstype=hostfs", "rootflags=/", "rw", init, "con=null",
                  "con0=null,fd:1", "quiet", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        while (waitpid(k, &st, 0) < 0 && errno == EINTR)
            if (keeper_orphaned) kill(k, SIGKILL);
        if (keeper_orphaned) {
            nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            _exit(1);
        }
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    close(po[1]);
    struct sigaction sa = {.sa_handler = uml_on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    Relay relay = {0};
    double end_seen = 0;
    for (;;) {
        struct pollfd pf = {po[0], POLLIN, 0};
        int rc = poll(&pf, 1, 200);
        if (uml_interrupted) break;
        if (rc > 0) {
            if (pf.revents & POLLIN) output_relay(po[0], &relay);
            else if (pf.revents & (POLLHUP | POLLERR)) break;
        }
        if (waitpid(keeper, NULL, WNOHANG) == keeper) { keeper = 0; break; }
        // The command is done once its end marker is out; a guest that does not power off within
        // 2 s (seen without root, in a user namespace) is ended with its PID namespace.
        if (relay.state == 2 && !end_seen) end_seen = time_now();
        if (end_seen && time_now() - end_seen > 2.0) break;
    }
    if (keeper > 0) { kill(keeper, SIGKILL); waitpid(keeper, NULL, 0); }
    close(po[0]);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    FILE *f = fopen(status_path, "r");
    int st = -1;
    if (f) { if (fscanf(f, "%d", &st) != 1) st = -1; fclose(f); }
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);   // the script, the status and UML's own pid folder
    if (uml_interrupted) {
        err_set(e, "interrupted by %s", uml_interrupted == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM");
        *status = 1;
        return -1;
    }
    if (st < 0) {
        err_set(e, "User-Mode Linux stopped before the command inside it finished (%s)",
                relay.state ? "it started" : "it never started");
        *status = 1;
        return -1;
    }
    *status = st;
    return 0;
}
