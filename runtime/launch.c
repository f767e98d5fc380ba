// Launchers (see launch.h): which one runs, where its program is, this host's address, and the
// sbatch script of --print-batch. The launchers themselves are launch_mpi.c and launch_slurm.c.
#include "launch.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const LaunchOps *const launchers[] = {&launch_mpi, &launch_slurm};

int launch_resolve(const LaunchOpts *o, const LaunchOps **ops, char *why, size_t wn, Err *e) {
    *ops = NULL;
    const char *name = o->name;
    if (!name) {
        if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK")) {
            err_set(e, "meshtrain run is itself running under mpirun (OMPI_COMM_WORLD_SIZE or PMIX_RANK is set): "
                       "the runner must not be one of the ranks; run `meshtrain run SCENARIO --launcher mpi` on the "
                       "launching host instead (or --launcher native to run every agent here)");
            return -1;
        }
        name = getenv("SLURM_JOB_ID") ? "slurm" : "native";
        snprintf(why, wn, "%s", getenv("SLURM_JOB_ID") ? "inside Slurm allocation SLURM_JOB_ID" : "the default");
    } else snprintf(why, wn, "--launcher %s", name);
    if (!strcmp(name, "native")) return 0;
    for (size_t k = 0; k < sizeof launchers / sizeof *launchers; k++)
        if (!strcmp(name, launchers[k]->name)) { *ops = launchers[k]; return 0; }
    err_set(e, "--launcher '%s': unknown (expected native, mpi or slurm)", name);
    return -1;
}

void launch_opts_env(LaunchOpts *o) {
    const char **v[] = {&o->name, &o->hostfile, &o->rendezvous};
    const char *names[] = {"MESHTRAIN_LAUNCHER", "MESHTRAIN_HOSTFILE", "MESHTRAIN_RENDEZVOUS"};
    for (int k = 0; k < 3; k++) {
        if (*v[k]) setenv(names[k], *v[k], 1);
        else if (getenv(names[k]) && *getenv(names[k])) *v[k] = getenv(names[k]);
    }
    if (o->oversubscribe) setenv("MESHTRAIN_OVERSUBSCRIBE", "1", 1);
    else o->oversubscribe = getenv("MESHTRAIN_OVERSUBSCRIBE") && !strcmp(getenv("MESHTRAIN_OVERSUBSCRIBE"), "1");
}

int launch_program_find(const char *prog, char *out, size_t n) {
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t k = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)k, path);
        snprintf(out, n, "%s/%s", k ? dir : ".", prog);
        if (access(out, X_OK) == 0) return 0;
        path += k + (path[k] == ':');
    }
    return -1;
}

void launch_host_addr(char *out, size_t n) {
    char name[256];
    str_copy(out, n, "127.0.0.1");
    if (gethostname(name, sizeof name)) return;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(name, NULL, &hints, &ai)) return;
    for (struct addrinfo *p = ai; p; p = p->ai_next) {
        char ip[64];
        const struct sockaddr_in *sa = (const struct sockaddr_in *)p->ai_addr;
        if (!inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip) || !strncmp(ip, "127.", 4)) continue;
        str_copy(out, n, ip);
        break;
    }
    freeaddrinfo(ai);
}

// One word for the shell, single-quoted.
static void shell_quote(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) *s == '\'' ? fputs("'\\''", f) : fputc(*s, f);
    fputc('\'', f);
}

void launch_batch_print(FILE *f, const char *name, int n, const char *self, int argc, char **run_argv) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) str_copy(cwd, sizeof cwd, ".");
    fprintf(f, "#!/bin/bash\n"
               "# meshtrain run %s: the runner runs in this script on the job's first node; its %d agents are\n"
               "# the job's tasks, started with srun. Submit with: sbatch FILE\n"
               "#SBATCH --job-name=meshtrain-%s\n#SBATCH --ntasks=%d\n#SBATCH --cpus-per-task=1\n"
               "#SBATCH --output=meshtrain-%s-%%j.out\nset -e\ncd ", name, n, name, n, name);
    shell_quote(f, cwd);
    fputs("\nexec ", f);
    shell_quote(f, self);
    fputs(" run", f);
    for (int k = 0; k < argc; k++) fputc(' ', f), shell_quote(f, run_argv[k]);
    fputs(" --launcher slurm\n", f);
}
