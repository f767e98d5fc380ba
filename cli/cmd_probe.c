// `meshtrain probe`: what this machine offers the engine: CPU vector units, the OpenBLAS core
// type in use, and which datasets can be found (and where to get the missing ones).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "common.h"
#include "data.h"
#include "probe.h"

static const char *USAGE = "meshtrain probe [--json]";

int cmd_probe(int argc, char **argv) {
    Args a;
    args_init(&a, "probe", USAGE, argc, argv);
    int json = 0;
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf("usage: %s\n\nReport the BLAS core type, CPU features, datasets found, and what the machine offers "
                   "for link\n"
                   "emulation: netem in this kernel (tried for real in a throwaway namespace), privileges, user\n"
                   "namespaces, User-Mode Linux and its modules, and the backend `auto` would pick.\n",
                   USAGE);
            return 0;
        }
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
    NetProbe np;
    net_probe(&np);
    int userns = 0;
    FILE *f = fopen("/proc/sys/user/max_user_namespaces", "r");
    if (f) { if (fscanf(f, "%d", &userns) != 1) userns = 0; fclose(f); }
    char chosen[16] = "", why[300] = "";
    Err e = {{0}};
    int ok = backend_choose("auto", 1, &np, chosen, sizeof chosen, why, sizeof why, &e) == 0;
    if (!json) {
        printf("network emulation:\n  netem in this kernel: %s%s\n  privileges: %s\n  network namespaces: %s\n  user "
               "namespaces: %s\n"
               "  User-Mode Linux: %s%s%s\n  auto picks for shaped links: %s (%s)\n",
               np.netem ? "yes" : "no: ", np.netem ? "" : np.netem_why, np.root ? "root" : "not root",
               np.netns ? "yes" : "no", userns > 0 ? "enabled" : "disabled",
               np.uml ? np.uml_path : "no: ", np.uml ? ", modules in " : np.uml_why, np.uml ? np.uml_modules : "",
               ok ? chosen : "nothing", ok ? why : e.msg);
    }
    if (json) {
        json_t *o = json_pack("{s:b, s:b, s:s, s:s?, s:o}", "avx2", avx2, "avx512", avx512, "blas_core",
                              blas_core_name(), "openblas_coretype", coretype, "datasets", ds);
        json_object_set_new(o, "network",
                            json_pack("{s:b, s:s, s:b, s:b, s:b, s:b, s:s, s:s, s:s?, s:s}", "netem", np.netem,
                                      "netem_why", np.netem_why, "root", np.root, "netns", np.netns, "user_namespaces",
                                      userns > 0, "uml", np.uml, "uml_path", np.uml_path, "uml_modules", np.uml_modules,
                                      "auto", ok ? chosen : NULL, "auto_why", ok ? why : e.msg));
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        json_decref(ds);
    }
    return 0;
}
