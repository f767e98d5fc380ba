// Running iproute2 (`ip -batch`, `tc -batch`, `tc -j -s`) inside another process's network
// namespace: fork, setns into /proc/PID/ns/net, exec, with the batch in a memfd and output captured.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backend.h"

static const char *tool_path(const char *name, char *buf, size_t n) {
    static const char *const DIRS[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++) {
        snprintf(buf, n, "%s/%s", DIRS[i], name);
        if (access(buf, X_OK) == 0) return buf;
    }
    return NULL;
}

int ns_exec(int nsfd, char *const argv[], const char *input, char **out, Err *e) {
    char prog[256];
    if (!tool_path(argv[0], prog, sizeof prog)) {
        err_set(e, "%s not found in /usr/sbin, /sbin, /usr/bin or /bin (apt-get install -y iproute2)", argv[0]);
        return -1;
    }
    int mfd = -1;
    char batch[64] = "";
    if (input) {
        mfd = memfd_create("meshtrain-batch", 0);
        size_t len = strlen(input), off = 0;
        while (mfd >= 0 && off < len) {
            ssize_t w = write(mfd, input + off, len - off);
            if (w <= 0) { close(mfd); mfd = -1; break; }
            off += (size_t)w;
        }
        if (mfd < 0) { err_set(e, "cannot hold a batch for %s: %s", argv[0], strerror(errno)); return -1; }
        snprintf(batch, sizeof batch, "/proc/self/fd/%d", mfd);
    }
    int po[2];
    if (pipe2(po, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); if (mfd >= 0) close(mfd); return -1; }
    // Everything the child needs is prepared here: it is a vfork child (no copy of our memory, which
    // matters for a runner holding a dataset, above all inside User-Mode Linux) and only makes syscalls.
    char *av[64];
    int k = 0;
    for (; argv[k] && k < 63; k++) av[k] = strcmp(argv[k], "@BATCH") ? argv[k] : batch;
    av[k] = NULL;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t c = vfork();
    if (c == 0) {
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) _exit(126);
        dup2(po[1], 1);
        dup2(po[1], 2);
        if (null >= 0) dup2(null, 0);
        execv(prog, av);
        _exit(127);
    }
    if (null >= 0) close(null);
    if (c < 0) {
        err_set(e, "fork: %s", strerror(errno));
        close(po[0]);
        close(po[1]);
        if (mfd >= 0) close(mfd);
        return -1;
    }
    close(po[1]);
    if (mfd >= 0) close(mfd);
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1024 > cap) { cap *= 2; char *nb = realloc(buf, cap); if (!nb) break; buf = nb; }
        ssize_t r = read(po[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    buf[len] = 0;
    close(po[0]);
    int st = 0;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = 0;
        const char *why = WIFEXITED(st) && WEXITSTATUS(st) == 126 ? "cannot enter the network namespace"
                        : WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "cannot run it" : len ? buf : "(no output)";
        err_set(e, "%s %s failed: %.400s", argv[0], argv[1] ? argv[1] : "", why);
        free(buf);
        return -1;
    }
    if (out) *out = buf;
    else free(buf);
    return 0;
}

int ns_open(pid_t pid, Err *e) {
    char ns[64];
    snprintf(ns, sizeof ns, "/proc/%d/ns/net", (int)pid);
    int fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0) err_set(e, "cannot open %s: %s", ns, strerror(errno));
    return fd;
}

int ns_spawn(int nsfd, char *const argv[], NsProc *p, Err *e) {
    char prog[256];
    p->pid = 0;
    p->in = p->out = -1;
    if (!tool_path(argv[0], prog, sizeof prog)) {
        err_set(e, "%s not found (apt-get install -y iproute2)", argv[0]);
        return -1;
    }
    int pi[2], po[2];
    if (pipe2(pi, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); return -1; }
    if (pipe2(po, O_CLOEXEC)) { err_set(e, "pipe: %s", strerror(errno)); close(pi[0]); close(pi[1]); return -1; }
    pid_t c = vfork();
    if (c == 0) {
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) _exit(126);
        dup2(pi[0], 0);
        dup2(po[1], 1);
        dup2(po[1], 2);
        execv(prog, argv);
        _exit(127);
    }
    close(pi[0]);
    close(po[1]);
    if (c < 0) { err_set(e, "fork: %s", strerror(errno)); close(pi[1]); close(po[0]); return -1; }
    p->pid = c;
    p->in = pi[1];
    p->out = po[0];
    return 0;
}

int ns_feed(NsProc *p, const char *input) {
    size_t len = strlen(input), off = 0;
    while (off < len) {
        ssize_t w = write(p->in, input + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(p->in);
    p->in = -1;
    p->fed_short = off < len;
    return p->fed_short ? -1 : 0;
}

int ns_finish(NsProc *p, const char *input, Err *e) {
    if (input) ns_feed(p, input);
    char buf[2048];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(p->out, buf + got, sizeof buf - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (got == sizeof buf - 1) got = 0;   // keep reading; only the tail matters
    }
    buf[got] = 0;
    close(p->out);
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {}
    p->pid = 0;
    if (p->fed_short || !WIFEXITED(st) || WEXITSTATUS(st)) {
        while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' ')) buf[--got] = 0;
        err_set(e, "tc failed: %.400s",
                got                                           ? buf
                    : WIFEXITED(st) && WEXITSTATUS(st) == 126 ? "cannot enter the network namespace"
                                                              : "(no output)");
        return -1;
    }
    return 0;
}
