// The test-only link disturbance (see disturb.h): parsing and application, pure functions.
#include "disturb.h"
#include <stdio.h>
#include <string.h>

int link_disturb_parse(const char *text, int n, LinkDisturb *d, Err *e) {
    memset(d, 0, sizeof *d);
    if (!text || !text[0]) return 0;
    int from, to, used = 0;
    double extra;
    if (sscanf(text, "%d:%d:%lf%n", &from, &to, &extra, &used) != 3 || text[used] || from < 0 || to < 0 || from >= n ||
        to >= n || from == to || !(extra > 0 && extra <= 10000)) {
        err_set(e, "%s=%.40s: expected FROM:TO:EXTRA_MS, two different agents below %d and 0 < EXTRA_MS <= 10000",
                LINK_DISTURB_ENV, text, n);
        return -1;
    }
    *d = (LinkDisturb){.set = 1, .from = from, .to = to, .extra_ms = extra};
    str_copy(d->value, sizeof d->value, text);
    return 0;
}

LinkParams link_disturbed(const LinkDisturb *d, int from, int to, const LinkParams *p) {
    LinkParams q = *p;
    if (d->set && d->from == from && d->to == to) q.delay_ms += d->extra_ms;
    return q;
}
