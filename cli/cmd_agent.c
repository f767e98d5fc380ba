// `meshtrain agent`: internal; one agent process of a run, started by `meshtrain run` with the
// control channel on an inherited file descriptor.
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "args.h"
#include "common.h"

static const char *USAGE = "meshtrain agent --scenario RUN/scenario.json --run-dir RUN --id I --ctl-fd FD --bind IP";

int cmd_agent(int argc, char **argv) {
    Args a;
    args_init(&a, "agent", USAGE, argc, argv);
    AgentArgs g = {.id = -1, .ctl_fd = -1, .bind_ip = "127.0.0.1"};
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf("usage: %s\n\nInternal: one agent of a decentralized run. `meshtrain run` starts these;\n"
                   "run it by hand only to debug.\n", USAGE);
            return 0;
        }
        else if (args_is(&a, "--scenario")) g.scenario_path = args_str(&a);
        else if (args_is(&a, "--run-dir")) g.run_dir = args_str(&a);
        else if (args_is(&a, "--id")) g.id = (int)args_int(&a, 0, 1023);
        else if (args_is(&a, "--ctl-fd")) g.ctl_fd = (int)args_int(&a, 0, 1 << 20);
        else if (args_is(&a, "--bind")) g.bind_ip = args_str(&a);
        else args_unknown(&a);
    }
    if (!g.scenario_path || !g.run_dir || g.id < 0 || g.ctl_fd < 0)
        args_fail(&a, "--scenario, --run-dir, --id and --ctl-fd are all required");
    blas_threads_set(1);   // one process per agent: one BLAS thread each
    return agent_run(&g);
}
