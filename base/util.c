// Small helpers shared by every part of meshtrain: checked allocation, timing, error strings.
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void err_set(Err *e, const char *fmt, ...) {
    if (!e) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void *malloc_check(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "meshtrain: out of memory (%zu bytes) at %s:%d\n", n, file, line); abort(); }
    return p;
}

void *calloc_check(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) { fprintf(stderr, "meshtrain: out of memory (%zu x %zu bytes) at %s:%d\n", n, size, file, line); abort(); }
    return p;
}

float *floats_alloc(size_t n, const char *file, int line) {
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0) {
        fprintf(stderr, "meshtrain: out of memory (%zu floats) at %s:%d\n", n, file, line);
        abort();
    }
    memset(p, 0, bytes);
    return p;
}

int str_copy(char *dst, size_t n, const char *src) {
    size_t len = strlen(src);
    if (n == 0) return -1;
    size_t k = len < n - 1 ? len : n - 1;
    memcpy(dst, src, k);
    dst[k] = 0;
    return len < n ? 0 : -1;
}

int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4)) return 0;
        unsigned cp = n ? *p & (0x3f >> n) : *p;
        for (int k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        // overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

double time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The value in kB of the line starting with key in a /proc file, -1 if absent.
static long proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) { kb = strtol(line + n, NULL, 10); break; }
    fclose(f);
    return kb;
}

long pss_kb(void) { return proc_kb("/proc/self/smaps_rollup", "Pss:"); }
long rss_peak_kb(void) { return proc_kb("/proc/self/status", "VmHWM:"); }

int file_write_atomic(const char *path, const void *buf, size_t n, Err *e) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        err_set(e, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { err_set(e, "%s: cannot create: %s", tmp, strerror(errno)); return -1; }
    const char *p = buf;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            err_set(e, "%s: write failed: %s", tmp, strerror(errno));
            close(fd); unlink(tmp);
            return -1;
        }
        p += w; left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) { err_set(e, "%s: %s", tmp, strerror(errno)); unlink(tmp); return -1; }
    if (rename(tmp, path) != 0) { err_set(e, "%s: rename failed: %s", path, strerror(errno)); unlink(tmp); return -1; }
    return 0;
}

int dir_make(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

