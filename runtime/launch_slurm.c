// The `slurm` launcher: srun starts the agents as tasks of the current allocation; each is
// `meshtrain agent --connect` and gets its id from SLURM_PROCID. Outside one, --print-batch.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launch.h"

// The allocation's task count: SLURM_NTASKS, else the sum of SLURM_JOB_CPUS_PER_NODE ("4(x2),2"). -1: unknown.
static int alloc_tasks(void) {
    const char *t = getenv("SLURM_NTASKS");
    if (!t) t = getenv("SLURM_NPROCS");
    if (t) return atoi(t);
    const char *c = getenv("SLURM_JOB_CPUS_PER_NODE");
    if (!c) return -1;
    int sum = 0;
    while (*c) {
        char *end;
        long cpus = strtol(c, &end, 10), times = 1;
        if (end == c) return -1;
        if (!strncmp(end, "(x", 2)) times = strtol(end + 2, &end, 10), end += *end == ')';
        sum += (int)(cpus * times);
        c = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return sum;
}

static int slurm_check(const LaunchOpts *o, int n, Err *e) {
    if (o->hostfile || o->oversubscribe) {
        err_set(e, "--launcher slurm: %s is for --launcher mpi (Slurm's allocation says where agents run)",
                o->hostfile ? "--hostfile" : "--oversubscribe");
        return -1;
    }
    if (o->print_batch) return 0;
    char path[512];
    if (launch_program_find("srun", path, sizeof path)) {
        err_set(e, "--launcher slurm: srun is not in PATH: install Slurm's client (apt-get install slurm-client) "
                   "or add its bin folder to PATH");
        return -1;
    }
    const char *job = getenv("SLURM_JOB_ID");
    if (!job) {
        err_set(e, "--launcher slurm: not inside a Slurm allocation (SLURM_JOB_ID is not set): run it in one, "
                   "`salloc -n %d meshtrain run SCENARIO --launcher slurm`, or print the batch script and submit it, "
                   "`meshtrain run SCENARIO --print-batch > run.sbatch && sbatch run.sbatch`", n);
        return -1;
    }
    int tasks = alloc_tasks();
    if (tasks >= 0 && tasks < n) {
        err_set(e,
                "--launcher slurm: %d agents but allocation %s has %d task%s: allocate at least %d, "
                "`salloc -n %d meshtrain run SCENARIO --launcher slurm`",
                n, job, tasks, tasks == 1 ? "" : "s", n, n);
        return -1;
    }
    return 0;
}

static int slurm_argv(const LaunchOpts *o, int n, const char *program, const char *self, const char **av) {
    (void)o;
    static char nt[32];
    snprintf(nt, sizeof nt, "--ntasks=%d", n);
    int k = 0;
    av[k++] = program;
    av[k++] = nt;
    av[k++] = "--kill-on-bad-exit=1";   // one agent failing ends the step (the runner says why)
    av[k++] = "--export=ALL";          // the key reaches the tasks in their environment, never in argv
    av[k++] = "--job-name=meshtrain-agents";
    av[k++] = self;
    av[k++] = "agent";
    av[k++] = "--connect";
    av[k] = NULL;
    return k;
}

static void slurm_rendezvous(const LaunchOpts *o, char *out, size_t n) {
    (void)o;
    launch_host_addr(out, n);
}

const LaunchOps launch_slurm = {
    .name = "slurm",
    .program = "srun",
    .check = slurm_check,
    .argv_make = slurm_argv,
    .rendezvous_default = slurm_rendezvous,
    .env_set = NULL,
};
