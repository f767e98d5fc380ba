// `meshtrain agent`: internal; one agent process of a run, started by `meshtrain run` with the
// control channel on an inherited file descriptor, or by a launcher (mpirun, srun) with --connect.
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "args.h"
#include "common.h"
#include "launch.h"

static const char *USAGE =
    "meshtrain agent --scenario RUN/scenario.json --run-dir RUN --id I --ctl-fd FD --bind IP [--data-fd FD]\n"
    "       meshtrain agent --connect";

int cmd_agent(int argc, char **argv) {
    Args a;
    args_init(&a, "agent", USAGE, argc, argv);
    int connect = 0;
    AgentArgs g = {.id = -1, .ctl_fd = -1, .bind_ip = "127.0.0.1", .data_fd = -1};
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf("usage: %s\n\nInternal: one agent of a decentralized run. `meshtrain run` starts these;\n"
                   "run it by hand only to debug. With --connect (started by mpirun or srun for\n"
                   "`meshtrain run --launcher mpi|slurm`), the id comes from the launcher (SLURM_PROCID,\n"
                   "OMPI_COMM_WORLD_RANK, PMIX_RANK) and the runner's address and key from the environment\n"
                   "(MESHTRAIN_RENDEZVOUS, MESHTRAIN_LAUNCH_KEY); docs/cluster.md.\n", USAGE);
            return 0;
        }
        else if (args_is(&a, "--scenario")) g.scenario_path = args_str(&a);
        else if (args_is(&a, "--run-dir")) g.run_dir = args_str(&a);
        else if (args_is(&a, "--id")) g.id = (int)args_int(&a, 0, 1023);
        else if (args_is(&a, "--ctl-fd")) g.ctl_fd = (int)args_int(&a, 0, 1 << 20);
        else if (args_is(&a, "--bind")) g.bind_ip = args_str(&a);
        else if (args_is(&a, "--data-fd")) g.data_fd = (int)args_int(&a, 0, 1 << 20);
        else if (args_is(&a, "--connect")) { args_no_value(&a); connect = 1; }
        else args_unknown(&a);
    }
    if (connect) {
        if (g.scenario_path || g.run_dir || g.id >= 0 || g.ctl_fd >= 0 || g.data_fd >= 0)
            args_fail(&a, "--connect takes everything from the launcher and the runner: no other flags");
        blas_threads_set(1);
        return launch_agent_main();
    }
    if (!g.scenario_path || !g.run_dir || g.id < 0 || g.ctl_fd < 0)
        args_fail(&a, "--scenario, --run-dir, --id and --ctl-fd are all required");
    blas_threads_set(1);   // one process per agent: one BLAS thread each
    return agent_run(&g);
}
