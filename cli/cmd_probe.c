// `meshtrain probe`: what this machine offers the engine: CPU vector units, the OpenBLAS core
// type in use, and which datasets can be found (and where to get the missing ones).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "common.h"
#include "data.h"

static const char *USAGE = "meshtrain probe [--json]";

int cmd_probe(int argc, char **argv) {
    Args a;
    args_init(&a, "probe", USAGE, argc, argv);
    int json = 0;
    while (args_next(&a)) {
        if (is_help(a.flag)) { printf("usage: %s\n\nReport the BLAS core type, CPU features and datasets found.\n", USAGE); return 0; }
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2"), avx512 = __builtin_cpu_supports("avx512f");
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    json_t *ds = json_object();
    static const char *names[] = {"fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"};
    if (!json)
        printf("cpu: avx2 %s, avx512 %s\nopenblas core: %s (OPENBLAS_CORETYPE=%s)\ndatasets:\n", avx2 ? "yes" : "no",
               avx512 ? "yes" : "no", blas_core_name(), coretype ? coretype : "unset");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        Dataset tr, te;
        Err e = {{0}};
        int ok = dataset_load(names[i], NULL, 1, &tr, &te, &e) == 0;
        if (json) json_object_set_new(ds, names[i], json_pack("{s:b, s:s}", "found", ok, "detail", ok ? "" : e.msg));
        else if (ok) printf("  %-14s found: %d train, %d test, %dx%dx%d\n", names[i], tr.n, te.n, tr.c, tr.h, tr.w);
        else printf("  %-14s missing: %s\n", names[i], e.msg);
        if (ok) { dataset_free(&tr); dataset_free(&te); }
    }
    if (json) {
        json_t *o = json_pack("{s:b, s:b, s:s, s:s?, s:o}", "avx2", avx2, "avx512", avx512, "blas_core", blas_core_name(),
                              "openblas_coretype", coretype, "datasets", ds);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        json_decref(ds);
    }
    return 0;
}
