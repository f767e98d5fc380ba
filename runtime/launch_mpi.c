// The `mpi` launcher: Open MPI's mpirun starts the agents (on the hosts of --hostfile, else here);
// each is `meshtrain agent --connect` and gets its id from OMPI_COMM_WORLD_RANK (or PMIX_RANK).
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "launch.h"

// A host mpirun starts its daemon on without ssh.
static int host_is_local(const char *h) {
    char me[256] = "";
    gethostname(me, sizeof me);
    return !strcmp(h, "localhost") || !strcmp(h, me) || !strncmp(h, "127.", 4) || !strcmp(h, "::1");
}

// Can we open a TCP connection to host:22 (mpirun's daemons are started over ssh) within 3 s? 0, or -1 and e.
static int host_reach(const char *host, Err *e) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, "22", &hints, &ai);
    if (g) { err_set(e, "cannot resolve it: %s", gai_strerror(g)); return -1; }
    int ok = 0;
    err_set(e, "no address");
    for (struct addrinfo *p = ai; p && !ok; p = p->ai_next) {
        int fd = socket(p->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        if (connect(fd, p->ai_addr, p->ai_addrlen) == 0) ok = 1;
        else if (errno == EINPROGRESS) {
            struct pollfd pf = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (poll(&pf, 1, 3000) == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && !soerr) ok = 1;
            else err_set(e, "ssh port 22: %s", soerr ? strerror(soerr) : "no answer within 3 s");
        } else err_set(e, "ssh port 22: %s", strerror(errno));
        close(fd);
    }
    freeaddrinfo(ai);
    return ok ? 0 : -1;
}

// The hostfile's hosts and slots ("host slots=N", '#' comments); each remote host must be reachable.
static int hostfile_check(const LaunchOpts *o, int n, Err *e) {
    FILE *f = fopen(o->hostfile, "r");
    if (!f) { err_set(e, "--hostfile %s: cannot read: %s", o->hostfile, strerror(errno)); return -1; }
    char line[512];
    int slots = 0, hosts = 0, rc = 0, ln = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        ln++;
        char *h = strtok(line, " \t\r\n");
        if (!h || h[0] == '#') continue;
        hosts++;
        char *kv = strtok(NULL, " \t\r\n");
        int s = kv && !strncmp(kv, "slots=", 6) ? atoi(kv + 6) : 1;
        slots += s > 0 ? s : 1;
        Err he = {{0}};
        if (!host_is_local(h) && host_reach(h, &he)) {
            err_set(e, "--hostfile %s line %d: host %s is unreachable (%s); mpirun starts its daemons there over "
                       "ssh: make `ssh %s true` work without a password, or remove %s from %s", o->hostfile, ln, h,
                    he.msg, h, h, o->hostfile);
            rc = -1;
        }
    }
    fclose(f);
    if (!rc && !hosts) {
        err_set(e, "--hostfile %s: no hosts in it (expected lines 'HOST slots=N')", o->hostfile);
        rc = -1;
    }
    if (!rc && slots < n && !o->oversubscribe) {
        err_set(e, "--hostfile %s: %d slots for %d agents: give the hosts more slots (HOST slots=N) or add "
                   "--oversubscribe", o->hostfile, slots, n);
        rc = -1;
    }
    return rc;
}

static int mpi_check(const LaunchOpts *o, int n, Err *e) {
    char path[512];
    if (launch_program_find("mpirun", path, sizeof path)) {
        err_set(e, "--launcher mpi: mpirun is not in PATH: install Open MPI (apt-get install openmpi-bin) or add "
                   "its bin folder to PATH");
        return -1;
    }
    if (o->print_batch) { err_set(e, "--print-batch is for --launcher slurm (an sbatch script), not mpi"); return -1; }
    if (o->hostfile) return hostfile_check(o, n, e);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > cores && !o->oversubscribe) {
        err_set(e, "--launcher mpi: %d agents for the %ld slots of this host (mpirun gives one per core): add "
                   "--oversubscribe, or --hostfile FILE with more hosts", n, cores);
        return -1;
    }
    return 0;
}

static int mpi_argv(const LaunchOpts *o, int n, const char *program, const char *self, const char **av) {
    static char np[16];
    snprintf(np, sizeof np, "%d", n);
    int k = 0;
    av[k++] = program;
    av[k++] = "-np";
    av[k++] = np;
    if (o->hostfile) av[k++] = "--hostfile", av[k++] = o->hostfile;
    if (o->oversubscribe) av[k++] = "--oversubscribe";
    // Each agent is one process with one BLAS thread: no binding to a core, no MPI transports set up.
    av[k++] = "--bind-to";
    av[k++] = "none";
    // An agent that dies is the runner's to judge and name: mpirun would otherwise kill the other ranks at
    // once, before their own reports ("link from agent 2 closed") reach the runner, and they would be
    // named as lost too. The runner ends mpirun itself when it marks the run FAILED.
    av[k++] = "--mca";
    av[k++] = "orte_enable_recovery";
    av[k++] = "1";
    // -x NAME exports the variable's value from mpirun's environment: the key never appears in an argv.
    const char *vars[] = {LAUNCH_ENV_KEY, LAUNCH_ENV_RENDEZVOUS, "OPENBLAS_NUM_THREADS", "MESHTRAIN_DATA"};
    for (int v = 0; v < 4; v++)
        if (v < 3 || getenv(vars[v])) av[k++] = "-x", av[k++] = vars[v];
    av[k++] = self;
    av[k++] = "agent";
    av[k++] = "--connect";
    av[k] = NULL;
    return k;
}

static void mpi_rendezvous(const LaunchOpts *o, char *out, size_t n) {
    if (!o->hostfile) { str_copy(out, n, "127.0.0.1"); return; }
    launch_host_addr(out, n);
}

// mpirun refuses to run as root unless told that it is meant.
static void mpi_env(void) {
    if (geteuid() != 0) return;
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
}

const LaunchOps launch_mpi = {
    .name = "mpi",
    .program = "mpirun",
    .check = mpi_check,
    .argv_make = mpi_argv,
    .rendezvous_default = mpi_rendezvous,
    .env_set = mpi_env,
};
