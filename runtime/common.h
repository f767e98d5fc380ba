// Pieces the subcommands share: BLAS set-up (core type, threads), dataset shapes without loading,
// terminal detection and small JSON helpers for the final result line.
#ifndef MESHTRAIN_COMMON_H
#define MESHTRAIN_COMMON_H
#include <stdio.h>
#include "util.h"

// Re-executes the program once with OPENBLAS_CORETYPE set when this CPU has AVX-512 but the
// OpenBLAS build would fall back to AVX2 kernels (Debian's 0.3.21 on Zen 4/5). Call first in main.
void blas_select_core(char **argv);
void blas_threads_set(int n);
const char *blas_core_name(void);

// Input shape and classes of a dataset, known without reading it. -1 for an unknown name.
int dataset_shape(const char *name, int *c, int *h, int *w, int *classes);

// The commit this binary was built from ("-dirty" when the tree had changes) and its build flags.
extern const char meshtrain_git[], meshtrain_cflags[];

int stream_is_tty(FILE *f);
// This program's own path (/proc/self/exe), to start agents and guests with the same binary.
const char *self_exe(void);
// A scenario-like JSON file (bounded, no duplicate keys: scenario_file_read), or NULL and e naming the file
// (and line:column when it is not valid JSON).
#include <jansson.h>
json_t *json_file_load(const char *path, Err *e);
void fmt_duration(double s, char *buf, size_t n);   // "1h02m", "3m05s", "42s"
// src with bytes outside printable ASCII written as \xNN, for messages about values that may not be UTF-8.
void str_printable(char *dst, size_t n, const char *src);
// Take the lock of a run or sweep folder: flock on DIR/.lock, which holds the holder's pid. The fd (returned)
// stays open for the life of the process. -1 and e naming `what` (the flag) and DIR when the folder is not
// writable or another process holds it.
int dir_lock(const char *dir, const char *what, Err *e);
// For --dry-run: 0 if nobody holds DIR's lock (nothing is created), else -1 and the same message as dir_lock.
int dir_lock_probe(const char *dir, const char *what, Err *e);

#endif
