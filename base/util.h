// Small helpers shared by every part of meshtrain: checked allocation, timing, error strings.
// Numeric code never prints or exits on bad input; it returns -1 and fills an Err.
#ifndef MESHTRAIN_UTIL_H
#define MESHTRAIN_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// A run of a flat vector: the tensors of a model, the parameters a rule treats alike.
typedef struct { size_t offset, count; } Span;

// An error message a function fills when it returns -1: "what, where, expected what".
typedef struct { char msg[512]; } Err;
void err_set(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Out of memory is not a user error: report file/line and abort.
void *malloc_check(size_t n, const char *file, int line);
void *calloc_check(size_t n, size_t size, const char *file, int line);
#define xmalloc(n) malloc_check((n), __FILE__, __LINE__)
#define xcalloc(n, s) calloc_check((n), (s), __FILE__, __LINE__)
// 64-byte aligned floats, zeroed (for SIMD-friendly flat buffers).
float *floats_alloc(size_t n, const char *file, int line);
#define xfloats(n) floats_alloc((n), __FILE__, __LINE__)

// Copy src into dst[n] (always terminated). 0, or -1 if src did not fit.
int str_copy(char *dst, size_t n, const char *src);
// 1 if s is valid UTF-8 (JSON can hold it), else 0: paths and values bound for JSON are checked first.
int utf8_valid(const char *s);

double time_now(void);              // monotonic seconds
long rss_peak_kb(void);             // peak resident set size of this process (VmHWM), -1 if unknown
// Proportional set size now (/proc/self/smaps_rollup Pss): pages shared with n processes count 1/n.
// -1 if unknown.
long pss_kb(void);

// mkdir -p: create PATH and any missing parents (0755). 0, or -1 with errno.
int dir_make(const char *path);

// Write a whole buffer to PATH atomically (temp file in the same folder, fsync, rename).
int file_write_atomic(const char *path, const void *buf, size_t n, Err *e);

#endif
