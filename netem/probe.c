// Probing the machine for link emulation: a throwaway network namespace in which a netem qdisc is
// added for real (the only honest test), and the files User-Mode Linux needs. Then `auto`'s choice.
#include "probe.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backend.h"

// In a child: a new network namespace, then `tc qdisc add dev lo root netem delay 1ms`.
static void probe_netem(NetProbe *p) {
    int po[2];
    if (pipe(po)) { snprintf(p->netem_why, sizeof p->netem_why, "pipe: %s", strerror(errno)); return; }
    pid_t c = fork();
    if (c == 0) {
        close(po[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNET)) {
            dprintf(po[1], "N cannot create a network namespace: %s", strerror(errno));
            _exit(1);
        }
        Err e = {{0}};
        char *lo[] = {"ip", "link", "set", "dev", "lo", "up", NULL};
        char *tc[] = {"tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", NULL};
        if (ns_exec(-1, lo, NULL, NULL, &e) || ns_exec(-1, tc, NULL, NULL, &e)) {
            dprintf(po[1], "Y %s", e.msg);
            _exit(1);
        }
        dprintf(po[1], "Y");
        _exit(0);
    }
    close(po[1]);
    char buf[400] = "";
    ssize_t k = c > 0 ? read(po[0], buf, sizeof buf - 1) : -1;
    buf[k > 0 ? k : 0] = 0;
    close(po[0]);
    int st = 1;
    if (c > 0) waitpid(c, &st, 0);
    p->netns = buf[0] == 'Y';
    p->netem = c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!p->netem) snprintf(p->netem_why, sizeof p->netem_why, "%s", buf[0] ? buf + 2 : "the probe could not run");
}

static void probe_uml(NetProbe *p) {
    snprintf(p->uml_path, sizeof p->uml_path, "/usr/bin/linux.uml");
    if (access(p->uml_path, X_OK)) {
        snprintf(p->uml_why, sizeof p->uml_why, "%s not found (apt-get install -y user-mode-linux)", p->uml_path);
        return;
    }
    DIR *d = opendir("/usr/lib/uml/modules");
    struct dirent *de;
    char dir[300] = "";
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(dir, sizeof dir, "/usr/lib/uml/modules/%.200s/kernel", de->d_name);
    if (d) closedir(d);
    static const char *const MODS[] = {"net/sched/sch_netem.ko", "net/sched/sch_htb.ko", "net/sched/cls_u32.ko",
                                       "drivers/net/veth.ko", "net/bridge/bridge.ko"};
    for (size_t k = 0; k < sizeof MODS / sizeof MODS[0]; k++) {
        char f[600];
        snprintf(f, sizeof f, "%s/%s", dir, MODS[k]);
        if (!dir[0] || access(f, R_OK)) {
            snprintf(p->uml_why, sizeof p->uml_why, "User-Mode Linux module %s not found under /usr/lib/uml/modules "
                     "(apt-get install -y user-mode-linux)", MODS[k]);
            return;
        }
    }
    snprintf(p->uml_modules, sizeof p->uml_modules, "%s", dir);
    p->uml = 1;
}

void net_probe(NetProbe *p) {
    memset(p, 0, sizeof *p);
    p->root = geteuid() == 0;
    probe_netem(p);
    probe_uml(p);
}

int backend_choose(const char *asked, int shaped, const NetProbe *p, char *chosen, size_t nc, char *why, size_t nw,
                   Err *e) {
    const char *install = "apt-get install -y user-mode-linux (runs netem in a User-Mode Linux kernel, no root needed)";
    if (!strcmp(asked, "none") || (!strcmp(asked, "auto") && !shaped)) {
        snprintf(chosen, nc, "none");
        snprintf(why, nw, "%s", shaped ? "asked for" : "the scenario shapes no link (loopback)");
        return 0;
    }
    if (getenv("MESHTRAIN_UML_GUEST")) {   // inside the User-Mode Linux that `uml` booted
        snprintf(chosen, nc, "kernel");
        snprintf(why, nw, "inside User-Mode Linux");
        if (p->netem) return 0;
        err_set(e, "network.backend: inside User-Mode Linux, netem does not work: %s", p->netem_why);
        return -1;
    }
    int want_kernel = !strcmp(asked, "kernel"), want_uml = !strcmp(asked, "uml");
    if (!want_uml && p->netem) {
        snprintf(chosen, nc, "kernel");
        snprintf(why, nw, "the host kernel has netem and this process may use it");
        return 0;
    }
    if (want_kernel) {
        err_set(e, "network.backend: \"kernel\" is not usable here: %s. Use \"uml\" or \"auto\" (%s)", p->netem_why,
                install);
        return -1;
    }
    if (p->uml) {
        snprintf(chosen, nc, "uml");
        snprintf(why, nw, "%s%s; User-Mode Linux has it",
                 want_uml ? "asked for" : "the host kernel cannot give netem: ", want_uml ? "" : p->netem_why);
        return 0;
    }
    err_set(e,
            "network: the scenario shapes links, but no backend can: the host kernel: %s; User-Mode Linux: %s. "
            "Install it: %s, or set network.backend to \"none\" and remove the link keys",
            p->netem_why, p->uml_why, install);
    return -1;
}
