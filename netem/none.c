// The `none` link backend: every agent on loopback (127.0.0.2, .3, ...), nothing shaped. Only used
// when the scenario asks for it, or when `auto` finds nothing to shape.
#include <stdio.h>
#include <string.h>
#include "backend.h"

static int none_open(NetEmu *ne, Err *e) { (void)ne; (void)e; return 0; }
static int none_child_enter(NetEmu *ne, int i) { (void)ne; (void)i; return 0; }
static int none_wire(NetEmu *ne, Err *e) { (void)ne; (void)e; return 0; }
static int none_arm(NetEmu *ne, const LinkChange *c, int n, Err *e) { (void)ne; (void)c; (void)n; (void)e; return 0; }
static int none_apply(NetEmu *ne, const LinkChange *c, int n, Err *e) {
    (void)ne; (void)c; (void)n;
    err_set(e, "backend none cannot change links");
    return -1;
}
static char *none_stats(NetEmu *ne) { (void)ne; return NULL; }
static void none_close(NetEmu *ne) { (void)ne; }

const LinkBackendOps backend_none = {"none",   none_open,  none_child_enter, none_wire,
                                     none_arm, none_apply, none_stats,       none_close};

const LinkBackendOps *backend_find(const char *name) {
    if (!strcmp(name, "none")) return &backend_none;
    if (!strcmp(name, "kernel")) return &backend_kernel;
    return NULL;
}

void backend_addr(const LinkBackendOps *ops, int i, char *out, size_t n) {
    if (ops == &backend_none) snprintf(out, n, "127.0.0.%d", 2 + i % 250);
    else snprintf(out, n, "10.77.%d.%d", (i + 1) >> 8, (i + 1) & 255);
}
