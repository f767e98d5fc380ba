// Launchers: who starts a run's agents. `native` forks them here (run_agents.c); `mpi` (Open MPI's
// mpirun) and `slurm` (srun in the current allocation) start them on any host, and each agent dials
// back to the runner over TCP (comm/ctl_tcp.h). docs/cluster.md says how to use them.
#ifndef MESHTRAIN_LAUNCH_H
#define MESHTRAIN_LAUNCH_H
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>
#include "auth.h"
#include "backend.h"
#include "ctl_tcp.h"
#include "util.h"

#define LAUNCH_ENV_KEY "MESHTRAIN_LAUNCH_KEY"         // the launch key, 64 hex digits (never argv)
#define LAUNCH_ENV_RENDEZVOUS "MESHTRAIN_RENDEZVOUS"  // HOST:PORT where the runner waits for its agents
// runner -> launched agent: a tc batch for its own egress (a link change on the runner's timeline),
// applied by launch_agent.c between the relay and the agent, which never sees it. Above ctl.h's kinds.
#define LAUNCH_CTL_LINKS 0x4C4E
// launched agent -> runner, once it finished: its senders' netem counters ([{from, to, packets, drops,
// ...}], as shape_counters), sent by launch_agent.c, so the run's counters cover links between hosts.
#define LAUNCH_CTL_COUNTERS 0x4C43
// A launched agent's relay sends a heartbeat record every LAUNCH_BEAT_S, whatever the agent is doing; an
// agent the runner has heard nothing from for LAUNCH_SILENT_S (its host stopped, or too starved to run a
// thread) is lost, like one whose connection ended. Seen: 0.9 s without a record on a busy guest.
#define LAUNCH_BEAT_S 1.0
#define LAUNCH_SILENT_S 5.0
// launched agent -> runner, every LAUNCH_BEAT_S while it has any: the addresses of peers its data goes
// unacknowledged to through LAUNCH_PATH_RETRIES retransmission timeouts in a row (about 3 s with nothing
// acknowledged; the kernel itself doubts a route after 3, tcp_retries1), a JSON array. Sent by
// launch_agent.c with unshaped links only: under the overlay, emulated loss and cuts look the same.
#define LAUNCH_CTL_PATHS 0x4C50
#define LAUNCH_PATH_RETRIES 4
// A partition between two hosts is named only while every agent of both has sent a record this recently.
#define LAUNCH_PATH_BEATING_S 2.5

// What `meshtrain run` was asked for.
typedef struct {
    const char *name;         // --launcher: native, mpi, slurm (NULL: detected, see launch_resolve)
    const char *hostfile;     // --hostfile (mpi)
    int oversubscribe;        // --oversubscribe (mpi: more agents than slots)
    int print_batch;          // --print-batch (slurm: print the sbatch script, start nothing)
    const char *rendezvous;   // --rendezvous ADDR: where agents reach the runner (NULL: chosen)
} LaunchOpts;

// One launcher (designated initializers; launch_mpi.c, launch_slurm.c).
typedef struct {
    const char *name;
    const char *program;      // the command it runs (mpirun, srun), looked up in PATH
    // Bad input, before anything is created: 0, or -1 and e with the cause and the command that fixes it.
    int (*check)(const LaunchOpts *o, int n, Err *e);
    // The command that starts n agents, each `self agent --connect`: fills av (room for 40), returns argc.
    int (*argv_make)(const LaunchOpts *o, int n, const char *program, const char *self, const char **av);
    // The address agents on other hosts can reach this host at, when --rendezvous is not given.
    void (*rendezvous_default)(const LaunchOpts *o, char *out, size_t n);
    // In the launcher's process, just before exec: its environment (the key is already set).
    void (*env_set)(void);
} LaunchOps;

extern const LaunchOps launch_mpi, launch_slurm;

// Which launcher runs: --launcher if given, else `slurm` inside a Slurm allocation (SLURM_JOB_ID),
// an error under mpirun (OMPI_COMM_WORLD_SIZE or PMIX_RANK: the runner must not be one of the ranks),
// else native. *ops is NULL for native. why says how it was chosen. 0, or -1 and e.
int launch_resolve(const LaunchOpts *o, const LaunchOps **ops, char *why, size_t wn, Err *e);
// The launcher options to and from the environment (MESHTRAIN_LAUNCHER, MESHTRAIN_HOSTFILE,
// MESHTRAIN_OVERSUBSCRIBE, MESHTRAIN_RENDEZVOUS): what is not given on the command line is taken from
// there, and what is given is put there, so that the runs of a sweep (processes of their own) use it too.
void launch_opts_env(LaunchOpts *o);
// prog's full path from PATH into out. 0, or -1 when it is not there.
int launch_program_find(const char *prog, char *out, size_t n);
// This host's address as others see it: the first non-loopback address of its name, else 127.0.0.1.
void launch_host_addr(char *out, size_t n);
// The sbatch script that runs `self run` with `run_argv` (the command as typed, without --print-batch).
void launch_batch_print(FILE *f, const char *name, int n, const char *self, int argc, char **run_argv);

// The runner's side of a launched run.
typedef struct Launch {
    const LaunchOps *ops;
    LaunchOpts o;
    int n;                    // agents
    char program[512];        // its full path
    char addr[256];           // where the runner listens
    int port, listen_fd;
    pid_t pid;                // the launcher's process (0: not started)
    int exited, status;       // its end (waitpid status)
    double exited_at;         // when the runner saw it (0: not yet)
    char log_path[1100];      // its standard output and error
    CtlRelayPair *pairs;      // per agent: its sealed connection and the runner's plain end
    CtlRelay *relay;
    char (*host)[64];         // per agent: the host it reported, the address it connected from, its pid
    char (*ip)[64];
    int *rpid;
    FILE **metrics;           // per agent: RUN/agent-I.jsonl, written from its CTL_LOG messages
    int rejected;             // connections to the rendezvous port refused
    char *lost;               // per agent: its control connection ended before it finished
    double lost_at;           // the first such loss (0: none)
    NetEmu *ne;               // shaped links across hosts (backend_overlay), or NULL: set before launch_start
    int *ctl;                 // per agent: the runner's plain end (link changes are sent there)
    char **counters;          // per agent: its LAUNCH_CTL_COUNTERS (a JSON array), or NULL
    double *silent;           // per agent: how long it had been silent when it was taken for lost (0: not)
    int *unreached;           // per agent: an agent of another host its data goes unacknowledged to
    double *unreached_at;     // per agent: its last path report naming unreached[i] (0: none)
    double *unreached_since;  // per agent: its first report of that host
} Launch;

// Listen, start the launcher with the key in its environment, accept and authenticate n agents
// (each id once), send each the scenario (text) and give the runner one plain socket per agent in
// fds[]. stop: set by a signal handler. log: network.jsonl for refused connections. 0, or -1 and e.
int launch_start(Launch *l, int n, const char *self, const char *run_dir, const char *scenario_text, int *fds,
                 volatile sig_atomic_t *stop, FILE *log, Err *e);
// Has the launcher exited? 1 (status in l->status), 0 not yet.
int launch_poll(Launch *l);
// Where agent i runs, for messages: "host H, pid P".
const char *launch_where(const Launch *l, int i, char *buf, size_t n);
// Agent i's counters (LAUNCH_CTL_COUNTERS), kept. 0, or -1 and e if they are not a JSON array.
int launch_counters_take(Launch *l, int i, const void *p, size_t len, Err *e);
// Every agent's counters as one JSON array (caller frees), *reported: how many agents sent theirs; NULL if none.
char *launch_counters_json(const Launch *l, int *reported);
// Seconds the runner has waited, ready to read, since agent i's connection last delivered anything
// (heartbeats included).
double launch_silence(Launch *l, int i);
// The failure of the agents in l->lost, by host: "host h2 lost agents 4, 5 (all 2 of its agents; pids
// ...) before they finished: control connection: closed".
void launch_lost_describe(const Launch *l, char *out, size_t n);
// The agent's side: the addresses of peers this process's TCP sockets (but skip_fd, its control
// connection) have had data unacknowledged to through LAUNCH_PATH_RETRIES timeouts, as a JSON array
// (caller frees), or NULL when there are none. IPv4 only.
char *launch_paths_report(int skip_fd);
// The runner's side: agent i's LAUNCH_CTL_PATHS, kept. 0, or -1 and e if it is not a JSON array.
int launch_paths_take(Launch *l, int i, const void *p, size_t len, Err *e);
// A partition to name now: two hosts whose agents cannot reach each other while all of them still reach
// the runner ("hosts h1 and h2 cannot reach each other: agents 0-3 / 4-7 ..."), reported for a second.
// 1 and out, else 0.
int launch_paths_due(Launch *l, char *out, size_t n);
// Append a CTL_LOG payload to agent i's metrics file. 0, or -1 and e.
int launch_metrics_write(Launch *l, int i, const char *run_dir, const void *p, size_t len, Err *e);
// End: wait up to grace_s for the launcher to exit, then SIGTERM, then SIGKILL; close everything.
void launch_stop(Launch *l, double grace_s);
void launch_free(Launch *l);

// The agent's side (`meshtrain agent --connect`): its id from the launcher's environment, the key and
// the runner's address from ours, then the agent proper. The exit status.
int launch_agent_main(void);

#endif
