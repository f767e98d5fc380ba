// Pieces the subcommands share: BLAS set-up, dataset shapes, terminal detection, durations.
#include <jansson.h>
#include "common.h"
#include "scenario.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

void blas_select_core(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("MESHTRAIN_BLAS_REEXEC")) return;
    const char *core = openblas_get_corename();
    if (!core || !cpu_has_avx512()) return;
    // Kernels that already use AVX-512 need nothing; anything else is the AVX2 fallback.
    if (strcasestr(core, "skylakex") || strcasestr(core, "cooperlake") || strcasestr(core, "sapphire")) return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv("MESHTRAIN_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    // exec failed: carry on with the slower kernels rather than stop; `probe` reports the core.
}

void blas_threads_set(int n) { openblas_set_num_threads(n); }

const char *blas_core_name(void) {
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

int dataset_shape(const char *name, int *c, int *h, int *w, int *classes) {
    static const struct { const char *name; int c, h, w, k; } T[] = {
        {"fashion-mnist", 1, 28, 28, 10}, {"mnist", 1, 28, 28, 10}, {"synthetic", 1, 28, 28, 10},
        {"cifar10", 3, 32, 32, 10}, {"cifar100", 3, 32, 32, 100},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (strcmp(T[i].name, name) == 0) {
            *c = T[i].c; *h = T[i].h; *w = T[i].w; *classes = T[i].k;
            return 0;
        }
    return -1;
}

int stream_is_tty(FILE *f) {
    const char *t = getenv("MESHTRAIN_TTY");   // set inside User-Mode Linux, whose console is not a terminal
    if (t) return t[0] == '1' && getenv("CI") == NULL;
    return isatty(fileno(f)) && getenv("CI") == NULL;
}

void fmt_duration(double s, char *buf, size_t n) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

json_t *json_file_load(const char *path, Err *e) { return scenario_file_read(path, e); }

const char *self_exe(void) {
    static char self[4096];
    if (!self[0]) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
    }
    return self;
}

void str_printable(char *dst, size_t n, const char *src) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && k + 5 < n; p++) {
        if (*p >= 0x20 && *p < 0x7f) dst[k++] = (char)*p;
        else k += (size_t)snprintf(dst + k, n - k, "\\x%02x", *p);
    }
    if (n) dst[k < n ? k : n - 1] = 0;
}

// The message for a lock another process holds: who (the pid it wrote) and what to do. Closes fd.
static void lock_busy(int fd, const char *what, const char *dir, const char *path, Err *e) {
    char pid[24] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    err_set(e, "%s %s: in use by another meshtrain (pid %s holds %s); wait for it to end or choose another folder",
            what, dir, pid[0] ? pid : "unknown", path);
    close(fd);
}

int dir_lock_probe(const char *dir, const char *what, Err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    if (flock(fd, LOCK_SH | LOCK_NB)) { lock_busy(fd, what, dir, path, e); return -1; }
    close(fd);
    return 0;
}

int dir_lock(const char *dir, const char *what, Err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    // Close-on-exec: a run started by a sweep takes its own lock; it must not inherit (and keep) the sweep's.
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_set(e, "%s %s: cannot write there: %s (expected a writable folder)", what, dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) { lock_busy(fd, what, dir, path, e); return -1; }
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len) {
        err_set(e, "%s %s: cannot write %s: %s (expected a writable folder)", what, dir, path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
