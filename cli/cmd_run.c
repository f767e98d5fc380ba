// `meshtrain run SCENARIO.json`: validate the scenario, create the run folder, start the agents
// (run_agents.c), and write summary.json atomically at the end, or mark the run as failed.
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "common.h"
#include "run.h"
#include "probe.h"
#include "uml.h"

static const char *USAGE =
    "meshtrain run SCENARIO.json [--set KEY=VALUE]... [--out DIR] [--jobs N] [--dry-run] [--json]\n"
    "                     [--launcher native|mpi|slurm] [--hostfile FILE] [--oversubscribe] [--print-batch]\n"
    "                     [--rendezvous ADDR]";

static void help(void) {
    printf("usage: %s\n\n"
           "Run a scenario: one process per agent, each with its data partition and model replica,\n"
           "exchanging model updates over TCP; metrics per agent, evaluations and summary.json.\n\n"
           "  --set KEY=VALUE   override one scenario key (a.b.c=VALUE; VALUE parsed as JSON, else a string)\n"
           "  --out DIR         the run folder, new or empty (default results/runs/<name>/<timestamp>; for a\n"
           "                    sweep, its folder, default results/sweeps/<name>); locked while in use\n"
           "  --jobs N          a sweep runs N runs at a time (default 1; each User-Mode Linux guest uses one core)\n"
           "  --dry-run         check everything and say what would run; create nothing\n"
           "  --json            print the result as one JSON object, last line on stdout\n"
           "  --launcher L      who starts the agents: native (forked here), mpi (Open MPI's mpirun), slurm\n"
           "                    (srun in the current allocation). Default: slurm inside an allocation\n"
           "                    (SLURM_JOB_ID set), else native; refused under mpirun (docs/cluster.md)\n"
           "  --hostfile FILE   mpi: mpirun's hostfile (HOST slots=N per line)\n"
           "  --oversubscribe   mpi: more agents than slots\n"
           "  --print-batch     slurm: print the sbatch script that runs this command, start nothing\n"
           "  --rendezvous ADDR mpi, slurm: the address agents reach this host at (default: 127.0.0.1\n"
           "                    without a hostfile, else this host's name's first non-loopback address)\n\n"
           "Scenario keys: scenarios/README.md. Exit status: 0 done, 1 the run failed (an agent died,\n"
           "hung or reported an error; the run folder is marked FAILED), 2 bad input (nothing created).\n", USAGE);
}

// A refused run leaves nothing: its lock file, and the folder if the runner made it.
static void run_dir_abandon(Run *r) {
    char lock[1100];
    snprintf(lock, sizeof lock, "%s/.lock", r->run_dir);
    if (r->locked) unlink(lock);
    if (r->made_dir) rmdir(r->run_dir);
}

// 1 if dir holds nothing but its lock file.
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int used = 0;
    while (d && (de = readdir(d)))
        used |= strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".lock");
    if (d) closedir(d);
    return d && !used;
}

// --out: a new or empty folder, writable, and not in use by another run (its lock). Refused: nothing left behind.
static int run_dir_take(Run *r, const char *out, Err *e) {
    struct stat st;
    if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
        err_set(e, "--out %s: exists and is not a folder (expected a new or empty folder)", out);
        return -1;
    }
    int existed = stat(out, &st) == 0;
    if (!existed && dir_make(out)) { err_set(e, "--out %s: cannot create: %s", out, strerror(errno)); return -1; }
    r->made_dir = !existed;
    str_copy(r->run_dir, sizeof r->run_dir, out);
    // Inside User-Mode Linux the host's runner holds the lock of this very folder (and flock does not cross).
    int guest = getenv("MESHTRAIN_UML_GUEST") != NULL;
    if (!dir_is_empty(out)) goto not_empty;
    if (!guest && dir_lock(out, "--out", e) < 0) goto refuse;
    r->locked = !guest;
    if (!dir_is_empty(out)) goto not_empty;   // another run wrote here between the first look and the lock
    return 0;
not_empty:
    err_set(e, "--out %s: the folder is not empty (a run folder must start empty)", out);
refuse:
    run_dir_abandon(r);
    return -1;
}

// For --dry-run: what run_dir_take would refuse, without creating anything. 0, or -1 and e.
static int run_dir_check(const char *out, Err *e) {
    struct stat st;
    if (stat(out, &st)) return 0;
    if (!S_ISDIR(st.st_mode)) {
        err_set(e, "--out %s: exists and is not a folder (expected a new or empty folder)", out);
        return -1;
    }
    if (dir_lock_probe(out, "--out", e)) return -1;
    if (!dir_is_empty(out)) {
        err_set(e, "--out %s: the folder is not empty (a run folder must start empty)", out);
        return -1;
    }
    return 0;
}

static int run_dir_make(Run *r, const char *out, Err *e) {
    if (out) return run_dir_take(r, out, e);
    char stamp[32], base[600];
    time_t t = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
    mkdir("results", 0755);
    mkdir("results/runs", 0755);
    snprintf(base, sizeof base, "results/runs/%s", r->s.name);
    mkdir(base, 0755);
    for (int k = 0; k < 100; k++) {
        snprintf(r->run_dir, sizeof r->run_dir, k ? "%s/%s-%d" : "%s/%s", base, stamp, k);
        if (mkdir(r->run_dir, 0755) == 0) {
            r->made_dir = 1;
            if (dir_lock(r->run_dir, "run folder", e) < 0) { run_dir_abandon(r); return -1; }
            r->locked = 1;
            return 0;
        }
        if (errno != EEXIST) break;
    }
    err_set(e, "cannot create a run folder under %s: %s", base, strerror(errno));
    return -1;
}

// Mark the run FAILED in its folder. 0, or -1 with why in e: the caller must not claim it is marked.
static int status_write(Run *r, const char *status, Err *e) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", status, "reason", r->fail, "git", meshtrain_git);
    if (!o)
        o = json_pack("{s:s, s:s, s:s}", "status", status, "reason", "(not valid UTF-8; see the run's output)", "git",
                      meshtrain_git);
    char *t = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!t) { err_set(e, "%s/FAILED: cannot encode the reason as JSON", r->run_dir); return -1; }
    char path[1100];
    snprintf(path, sizeof path, "%s/FAILED", r->run_dir);
    int rc = file_write_atomic(path, t, strlen(t), e);
    free(t);
    return rc;
}

// Say that the run failed, and where it is marked (or that marking it failed too). Always 1.
static int run_failed_report(Run *r) {
    Err e = {{0}};
    if (status_write(r, "failed", &e))
        fprintf(stderr, "meshtrain run: FAILED: %s\n  run folder: %s\n  and it could NOT be marked FAILED: %s\n",
                r->fail, r->run_dir, e.msg);
    else
        fprintf(stderr, "meshtrain run: FAILED: %s\n  run folder (marked FAILED): %s\n", r->fail, r->run_dir);
    if (r->json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "status", "failed", "reason", r->fail, "run_dir", r->run_dir);
        if (!o) o = json_pack("{s:s, s:s}", "status", "failed", "reason", "(not valid UTF-8; see the run's output)");
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", t ? t : "{\"status\": \"failed\"}");
        free(t);
        json_decref(o);
    }
    return 1;
}

// Everything that can be checked before anything is created: the scenario, the dataset, the model.
static int run_prepare(Run *r, const char *path, char **sets, int n_sets, Err *e) {
    json_t *root = json_file_load(path, e);
    if (!root) return -1;
    for (int i = 0; i < n_sets; i++)
        if (!json_is_object(root) || override_apply(root, sets[i], e)) { json_decref(root); return -1; }
    char *text = json_dumps(root, 0);
    json_decref(root);
    if (!text) { err_set(e, "%s: cannot encode the scenario with its --set values as JSON", path); return -1; }
    int rc = scenario_load(&r->s, path, text, e);
    free(text);
    if (rc) return -1;
    r->n = r->s.agents;
    if (run_eval_load(&r->ev, &r->s, e)) return -1;
    int usable = r->s.limit_train > 0 && r->s.limit_train < r->ev.train.n ? r->s.limit_train : r->ev.train.n;
    if (usable / r->n < 1) {
        err_set(e, "%s: agents: %d agents for %d training samples leaves none per agent", path, r->n, usable);
        return -1;
    }
    return 0;
}

// Which link backend runs the scenario (network.backend, and what `auto` finds on this machine). Agents
// started by a launcher shape their links on their own hosts (netem/overlay.c): nothing is probed here.
static int backend_resolve(Run *r, const LaunchOpts *lo, char *chosen, size_t n, Err *e) {
    const LaunchOps *lops = NULL;
    char lwhy[200];
    Err le = {{0}};
    const char *asked = r->s.net.backend;
    if (!launch_resolve(lo, &lops, lwhy, sizeof lwhy, &le) && lops && strcmp(asked, "none") &&
        (strcmp(asked, "auto") || r->s.net.shaped)) {
        if (!strcmp(asked, "uml")) {
            err_set(e,
                    "network.backend \"uml\" runs every agent inside one User-Mode Linux kernel on this host, "
                    "not with --launcher %s: use \"kernel\" or \"auto\" (every agent host then needs root, or "
                    "CAP_SYS_ADMIN and CAP_NET_ADMIN, and sch_netem: docs/cluster.md) or --launcher native",
                    lops->name);
            return -1;
        }
        str_copy(chosen, n, "kernel");
        str_copy(r->net.backend_name, sizeof r->net.backend_name, getenv("MESHTRAIN_UML_GUEST") ? "uml" : "kernel");
        str_copy(r->net.backend_why, sizeof r->net.backend_why,
                 "agents on several hosts: a VXLAN overlay between their hosts, each agent shapes its own egress "
                 "(every agent host needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, and sch_netem)");
        r->net.backend = &backend_overlay;
        return 0;
    }
    NetProbe p;
    memset(&p, 0, sizeof p);
    if (r->s.net.shaped || strcmp(r->s.net.backend, "none")) net_probe(&p);
    RunNet *net = &r->net;
    if (backend_choose(r->s.net.backend, r->s.net.shaped, &p, chosen, n, net->backend_why, sizeof net->backend_why, e))
        return -1;
    str_copy(r->net.backend_name, sizeof r->net.backend_name, getenv("MESHTRAIN_UML_GUEST") ? "uml" : chosen);
    if (!strcmp(chosen, "uml")) return 0;
    r->net.backend = backend_find(chosen);
    return 0;
}

// The whole run inside User-Mode Linux: the same command, with the folder already made.
static int run_in_uml(Run *r, const char *scen, char **sets, int n_sets) {
    const char *self = self_exe();
    char **av = xcalloc((size_t)(2 * n_sets + 8), sizeof(char *));
    int k = 0;
    av[k++] = (char *)self;
    av[k++] = "run";
    av[k++] = (char *)scen;
    for (int i = 0; i < n_sets; i++) { av[k++] = "--set"; av[k++] = sets[i]; }
    av[k++] = "--out";
    av[k++] = r->run_dir;
    if (r->json) av[k++] = "--json";
    NetProbe p;
    net_probe(&p);
    UmlJob j = {av, r->n, stream_is_tty(r->json ? stderr : stdout)};
    int status = 1;
    Err e = {{0}};
    int rc = uml_run(&p, &j, &status, &e);
    free(av);
    char path[1100], fpath[1100];
    snprintf(path, sizeof path, "%s/summary.json", r->run_dir);
    snprintf(fpath, sizeof fpath, "%s/FAILED", r->run_dir);
    if (rc || (status != 0 && access(fpath, F_OK))) {
        const char *why = rc ? e.msg : "the run inside User-Mode Linux failed without saying why";
        snprintf(r->fail, sizeof r->fail, "%s", why);
        if (access(path, F_OK)) return run_failed_report(r);
        fprintf(stderr, "meshtrain run: FAILED: %s\n  run folder (it holds a summary.json): %s\n", r->fail, r->run_dir);
        return 1;
    }
    return status;
}

// The files a run writes from its start: scenario.json (resolved), evals.jsonl, network.jsonl. 0, or -1 and r->fail.
static int run_files_open(Run *r) {
    char *resolved = scenario_dump(&r->s), path[1100];
    Err e = {{0}};
    snprintf(path, sizeof path, "%s/scenario.json", r->run_dir);
    if (!resolved) {
        snprintf(r->fail, sizeof r->fail, "%.500s: cannot encode the resolved scenario as JSON", path);
        return -1;
    }
    int rc = file_write_atomic(path, resolved, strlen(resolved), &e);
    free(resolved);
    if (rc) { snprintf(r->fail, sizeof r->fail, "%s", e.msg); return -1; }
    if (run_eval_open(&r->ev, r->n, r->run_dir, &e)) { snprintf(r->fail, sizeof r->fail, "%s", e.msg); return -1; }
    // Every backend has a network log: authentication and rejected connections are logged on loopback too.
    snprintf(path, sizeof path, "%s/network.jsonl", r->run_dir);
    r->net.log = fopen(path, "w");
    if (!r->net.log) {
        snprintf(r->fail, sizeof r->fail, "%.500s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

// Start the agents, wait for the end, write summary.json or mark the run FAILED. The exit status.
static int run_execute(Run *r) {
    if (run_files_open(r)) return run_failed_report(r);
    r->self = self_exe();
    run_agents_alloc(r);
    r->tty = stream_is_tty(r->json ? stderr : stdout);
    fprintf(r->json ? stderr : stdout, "run %s: %d agents, %s on %s (%s), %s, %s topology, backend %s -> %s\n",
            r->s.name, r->n, r->s.model, r->s.dataset, r->s.partition.kind, r->s.alg.name, topo_name(r->s.topo.kind),
            r->net.backend_name, r->run_dir);
    int rc = run_agents(r);
    if (run_eval_close(&r->ev) && !rc) {
        snprintf(r->fail, sizeof r->fail, "%.500s/evals.jsonl: write failed", r->run_dir);
        rc = 1;
    }
    if (r->net.log) fclose(r->net.log);
    r->net.log = NULL;
    char path[1100];
    json_t *head = NULL;
    if (!rc && summary_write(r, path, sizeof path, &head)) rc = 1;
    if (rc) return run_failed_report(r);
    char *t = r->json ? json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (t) printf("%s\n", t);
    free(t);
    json_decref(head);
    return 0;
}

// The launcher (launch.h): NULL for native, and its own checks; with shaped links, the overlay across hosts.
static int launcher_resolve(Run *r, const LaunchOpts *o, const char *chosen, char *why, size_t wn, Err *e) {
    const LaunchOps *ops;
    if (launch_resolve(o, &ops, why, wn, e)) return -1;
    if (!ops) {
        if (o->hostfile || o->oversubscribe || o->print_batch || o->rendezvous) {
            err_set(e, "%s needs --launcher mpi or slurm (the agents run here: %s)",
                    o->hostfile ? "--hostfile" : o->oversubscribe ? "--oversubscribe" : o->print_batch ? "--print-batch"
                                                                                                      : "--rendezvous",
                    why);
            return -1;
        }
        return 0;
    }
    (void)chosen;
    if (ops->check(o, r->n, e)) return -1;
    r->launch = xcalloc(1, sizeof *r->launch);
    if (r->net.backend == &backend_overlay) r->launch->ne = &r->net.ne;   // shaped links across hosts
    r->launch->ops = ops;
    r->launch->o = *o;
    r->launch->listen_fd = -1;
    return 0;
}

// One run (not a sweep): check, create its folder, run it here or inside User-Mode Linux. The exit status.
static int run_one(Run *r, const char *scen, char **sets, int n_sets, const char *out, int dry_run,
                   const LaunchOpts *lo, int argc, char **argv) {
    Err e = {{0}};
    char chosen[16] = "none", lwhy[200] = "";
    if (run_prepare(r, scen, sets, n_sets, &e) || backend_resolve(r, lo, chosen, sizeof chosen, &e) ||
        launcher_resolve(r, lo, chosen, lwhy, sizeof lwhy, &e) ||
        (dry_run && out && run_dir_check(out, &e)) || (!dry_run && !lo->print_batch && run_dir_make(r, out, &e))) {
        fprintf(stderr, "meshtrain run: %s\n", e.msg);
        return 2;
    }
    if (lo->print_batch) {   // argv without --print-batch and --launcher: the script adds --launcher slurm
        launch_batch_print(stdout, r->s.name, r->n, self_exe(), argc, argv);
        return 0;
    }
    if (dry_run) {   // everything is checked and nothing created: say what would run
        printf("run %s: %d agents, %s on %s (%s), %s, %s topology, %d epochs, backend %s (%s), launcher %s (%s): "
               "valid\n",
               r->s.name, r->n, r->s.model, r->s.dataset, r->s.partition.kind, r->s.alg.name, topo_name(r->s.topo.kind),
               r->s.epochs, r->net.backend_name, r->net.backend_why, r->launch ? r->launch->ops->name : "native", lwhy);
        return 0;
    }
    if (r->launch)
        fprintf(r->json ? stderr : stdout, "launcher: %s (%s)%s\n", r->launch->ops->name, lwhy,
                !strcmp(r->launch->ops->name, "mpi") && geteuid() == 0
                    ? "; running as root, so mpirun gets OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
                    : "");
    fprintf(r->json ? stderr : stdout, "network: %s (%s)\n", r->net.backend_name, r->net.backend_why);
    if (!strcmp(chosen, "uml")) return run_in_uml(r, scen, sets, n_sets);
    if (run_net_plan(&r->net, &r->s, r->n, &e)) {
        fprintf(stderr, "meshtrain run: %s\n", e.msg);
        run_dir_abandon(r);
        return 2;
    }
    return run_execute(r);
}

int cmd_run(int argc, char **argv) {
    Args a;
    args_init(&a, "run", USAGE, argc, argv);
    const char *scen = NULL, *out = NULL;
    char **sets = xcalloc((size_t)argc + 1, sizeof(char *));
    int n_sets = 0, jobs = 1, dry_run = 0, json = 0;
    LaunchOpts lo = {0};
    // The command again for --print-batch: the same arguments less --print-batch and --launcher.
    char **again = xcalloc((size_t)argc + 1, sizeof(char *));
    int n_again = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--print-batch")) continue;
        if (!strcmp(argv[i], "--launcher")) { i++; continue; }
        again[n_again++] = argv[i];
    }
    for (int i = 0; i < argc; i++) {   // the scenario path is the one positional argument
        const char *prev = i ? argv[i - 1] : "";
        if (argv[i][0] != '-' && strcmp(prev, "--set") && strcmp(prev, "--out") && strcmp(prev, "--jobs") &&
            strcmp(prev, "--launcher") && strcmp(prev, "--hostfile") && strcmp(prev, "--rendezvous")) {
            if (scen) { a.flag = argv[i]; args_fail(&a, "unexpected argument '%s' (one scenario per run)", argv[i]); }
            scen = argv[i];
            memmove(argv + i, argv + i + 1, sizeof(char *) * (size_t)(argc - i - 1));
            argc--; i--;
        }
    }
    a.argc = argc;
    while (args_next(&a)) {
        if (is_help(a.flag)) { help(); return 0; }
        else if (args_is(&a, "--set")) sets[n_sets++] = (char *)args_str(&a);
        else if (args_is(&a, "--out")) out = args_str(&a);
        else if (args_is(&a, "--jobs")) jobs = (int)args_int(&a, 1, 64);
        else if (args_is(&a, "--dry-run")) { args_no_value(&a); dry_run = 1; }
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else if (args_is(&a, "--launcher")) lo.name = args_str(&a);
        else if (args_is(&a, "--hostfile")) lo.hostfile = args_str(&a);
        else if (args_is(&a, "--oversubscribe")) { args_no_value(&a); lo.oversubscribe = 1; }
        else if (args_is(&a, "--print-batch")) { args_no_value(&a); lo.print_batch = 1; }
        else if (args_is(&a, "--rendezvous")) lo.rendezvous = args_str(&a);
        else args_unknown(&a);
    }
    if (lo.print_batch && !lo.name) lo.name = "slurm";   // the script is Slurm's
    if (!scen) { a.flag = "SCENARIO.json"; args_fail(&a, "missing the scenario file"); }
    if (out && !utf8_valid(out)) {   // summary.json records the folder: JSON holds UTF-8 only
        char shown[600];
        str_printable(shown, sizeof shown, out);
        a.flag = "--out";
        args_fail(&a, "--out '%s' is not valid UTF-8 (expected a folder path in UTF-8, which summary.json can record)",
                  shown);
    }
    // A sweep's runs are `meshtrain run` processes of their own: they get the launcher through the environment.
    launch_opts_env(&lo);
    int handled = 0, st = lo.print_batch ? 0 : run_sweep(scen, sets, n_sets, out, json, jobs, dry_run, &handled);
    if (!handled) {
        Run r;
        run_init(&r);
        r.json = json;
        st = run_one(&r, scen, sets, n_sets, out, dry_run, &lo, n_again, again);
        run_free(&r);
    }
    free(sets);
    free(again);
    return st;
}
