// The `uml` backend: boot User-Mode Linux (a Linux kernel with netem that runs as an ordinary process)
// with the host's file system as its root, and run a meshtrain command inside it with the kernel backend.
#ifndef MESHTRAIN_UML_H
#define MESHTRAIN_UML_H
#include "probe.h"
#include "util.h"

typedef struct {
    char *const *argv;      // the command to run inside (absolute program path first)
    int agents;             // sizes the guest's memory
    int tty;                // the host's output is a terminal (the guest prints live lines then)
} UmlJob;

// Boot, run, power off. Guest output between its markers goes to our stdout. *status is the
// command's exit status. 0, or -1 and e when User-Mode Linux itself failed.
int uml_run(const NetProbe *p, const UmlJob *j, int *status, Err *e);

#endif
