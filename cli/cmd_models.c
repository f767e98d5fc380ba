// `meshtrain models`: the model zoo with parameter counts and forward MACs per sample, for a
// dataset's input shape (or each model's usual dataset).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "common.h"
#include "data.h"
#include "model.h"

static const char *USAGE = "meshtrain models [--dataset D] [--norm N] [--json]";
static const char *ARCHES[] = {"linear", "mlp", "lenet5", "cnn5", "resnet20", "vgg11", "vgg11-standard"};

static const char *usual_dataset(const char *arch) {
    return (!strcmp(arch, "linear") || !strcmp(arch, "mlp") || !strcmp(arch, "lenet5")) ? "fashion-mnist" : "cifar10";
}

int cmd_models(int argc, char **argv) {
    Args a;
    args_init(&a, "models", USAGE, argc, argv);
    const char *dataset = NULL, *norm_s = NULL;
    int json = 0;
    while (args_next(&a)) {
        if (is_help(a.flag)) {
            printf(
                "usage: %s\n\nList the models, their normalization, parameter count and forward MACs per sample\n"
                "(conv and linear layers) for the input shape of --dataset (default: each model's usual one).\n"
                "  --dataset D   %s\n  --norm N      %s (default: each model's own)\n  --json        one JSON object\n",
                USAGE, dataset_names(), norm_names());
            return 0;
        }
        else if (args_is(&a, "--dataset")) dataset = args_str(&a);
        else if (args_is(&a, "--norm")) norm_s = args_str(&a);
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    int c, h, w, k;
    a.flag = "--dataset";
    if (dataset && dataset_shape(dataset, &c, &h, &w, &k))
        args_fail(&a, "--dataset: unknown dataset '%s' (expected one of: %s)", dataset, dataset_names());
    NormKind forced = NORM_NONE;
    a.flag = "--norm";
    if (norm_s && norm_parse(norm_s, &forced))
        args_fail(&a, "--norm: unknown '%s' (expected one of: %s)", norm_s, norm_names());
    json_t *list = json_array();
    if (!json)
        printf("%-15s %-13s %-14s %12s %14s  %s\n", "model", "norm", "dataset", "params", "MACs/sample", "input");
    for (size_t i = 0; i < sizeof ARCHES / sizeof ARCHES[0]; i++) {
        const char *ds = dataset ? dataset : usual_dataset(ARCHES[i]);
        dataset_shape(ds, &c, &h, &w, &k);
        NormKind norm = norm_s ? forced : model_default_norm(ARCHES[i]);
        Rng r = rng_derive(0, 0);
        Err e = {{0}};
        Model *m = model_build(ARCHES[i], norm, c, h, w, k, 1, &r, &e);
        if (!m) {
            if (!json) printf("%-15s %-13s %-14s %12s %14s  (%s)\n", ARCHES[i], norm_name(norm), ds, "-", "-", e.msg);
            continue;
        }
        if (json)
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s, s:I, s:I, s:[i,i,i], s:i}", "model", ARCHES[i], "norm",
                                            norm_name(norm), "dataset", ds, "params", (json_int_t)m->n_params,
                                            "macs_per_sample", (json_int_t)model_macs(m), "input", c, h, w, "classes",
                                            k));
        else
            printf("%-15s %-13s %-14s %12zu %14llu  %dx%dx%d\n", ARCHES[i], norm_name(norm), ds, m->n_params,
                   (unsigned long long)model_macs(m), c, h, w);
        model_free(m);
    }
    if (json) {
        json_t *o = json_pack("{s:o}", "models", list);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        json_decref(list);
    }
    return 0;
}
