// `meshtrain train`: one model, one machine, no network. Prints a progress line per epoch (live on
// a terminal) and, with --json, one JSON object with the result as the last line on stdout.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "common.h"
#include "data.h"
#include "model.h"
#include "train.h"

static const char *USAGE =
    "meshtrain train --model M --dataset D [--epochs N] [--batch B] [--lr X] [--momentum X] [--seed S] [--json]";

static void help(void) {
    printf("usage: %s\n\n"
           "Train one model on one machine with the C engine (no agents, no network).\n\n"
           "  --model M           %s (default lenet5)\n"
           "  --dataset D         %s (default fashion-mnist)\n"
           "  --norm N            %s (default: the model's own, see `meshtrain models`)\n"
           "  --epochs N          passes over the training set (default 10)\n"
           "  --batch B           batch size (default 32)\n"
           "  --lr X              peak learning rate (default 0.05)\n"
           "  --momentum X        SGD momentum (default 0.9)\n"
           "  --nesterov | --no-nesterov   Nesterov momentum (default on)\n"
           "  --weight-decay X    L2 weight decay (default 5e-4)\n"
           "  --decay-norm        also decay norm scales/shifts and biases (default off)\n"
           "  --schedule S        constant, multistep, cosine (default cosine)\n"
           "  --milestones A,B    multistep milestones as fractions of training (default 0.5,0.75)\n"
           "  --gamma X           multistep factor (default 0.1)\n"
           "  --warmup E          epochs of linear warm-up from lr/10 (default 0)\n"
           "  --seed S            seed of initialization, data order, augmentation, dropout (default 1)\n"
           "  --bits N            training precision: 32, or 8 (the 8-bit scheme of docs/precision.md; default 32)\n"
           "  --activation-rounding R   8 bits: stochastic (the reference's, default) or nearest\n"
           "  --threads T         BLAS threads (default 1)\n"
           "  --data-dir DIR      look for the dataset here first\n"
           "  --limit-train N     train on the first N samples only (for quick checks)\n"
           "  --limit-test N      evaluate on the first N test samples only\n"
           "  --json              print the result as one JSON object, last line on stdout\n\n"
           "Progress goes to stdout, or to stderr with --json. Exit status 2 on bad input.\n",
           USAGE, model_names(), dataset_names(), norm_names());
}

typedef struct { int tty; FILE *out; } Progress;

static void on_step(const TrainReport *r, void *ctx) {
    Progress *p = ctx;
    if (!p->tty) return;
    char eta[32];
    fmt_duration(r->eta_s, eta, sizeof eta);
    fprintf(p->out, "\r\033[Kepoch %d/%d  step %d/%d  loss %.4f  train acc %5.2f%%  %.0f img/s  left %s",
            r->epoch, r->epochs, r->step, r->steps, r->train_loss, 100 * r->train_acc, r->images_per_s, eta);
    fflush(p->out);
}

static void on_epoch(const TrainReport *r, void *ctx) {
    Progress *p = ctx;
    char eta[32];
    fmt_duration(r->eta_s, eta, sizeof eta);
    fprintf(
        p->out,
        "%sepoch %d/%d  loss %.4f  train acc %5.2f%%  test acc %5.2f%%  test loss %.4f  lr %.4g  %.0f img/s  left %s\n",
        p->tty ? "\r\033[K" : "", r->epoch, r->epochs, r->train_loss, 100 * r->train_acc, 100 * r->test_acc,
        r->test_loss, r->lr, r->images_per_s, eta);
    fflush(p->out);
}

static void milestones_parse(Args *a, Schedule *s) {
    const char *v = args_str(a);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    s->n_milestones = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *end;
        double x = strtod(tok, &end);
        if (end == tok || *end || x <= 0 || x >= 1 || s->n_milestones == 8)
            args_fail(a, "--milestones: '%s' is not a list of up to 8 fractions in (0,1)", v);
        s->milestones[s->n_milestones++] = (float)x;
    }
}

int cmd_train(int argc, char **argv) {
    Args a;
    args_init(&a, "train", USAGE, argc, argv);
    const char *model = "lenet5", *dataset = "fashion-mnist", *norm_s = NULL, *data_dir = NULL;
    int batch = 32, json = 0, threads = 1, bits = 32;
    QRound act_round = QROUND_STOCHASTIC;
    TrainConfig cfg = {.epochs = 10, .seed = 1};
    cfg.sgd = (SgdConfig){.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 1};
    cfg.sched = (Schedule){.kind = SCHED_COSINE, .milestones = {0.5f, 0.75f}, .n_milestones = 2, .gamma = 0.1f};
    while (args_next(&a)) {
        if (is_help(a.flag)) { help(); return 0; }
        else if (args_is(&a, "--model")) model = args_str(&a);
        else if (args_is(&a, "--dataset")) dataset = args_str(&a);
        else if (args_is(&a, "--norm")) norm_s = args_str(&a);
        else if (args_is(&a, "--epochs")) cfg.epochs = (int)args_int(&a, 1, 100000);
        else if (args_is(&a, "--batch")) batch = (int)args_int(&a, 1, 65536);
        else if (args_is(&a, "--lr")) cfg.sgd.lr = (float)args_float(&a, 0, 100);
        else if (args_is(&a, "--momentum")) cfg.sgd.momentum = (float)args_float(&a, 0, 0.999999);
        else if (args_is(&a, "--nesterov")) { args_no_value(&a); cfg.sgd.nesterov = 1; }
        else if (args_is(&a, "--no-nesterov")) { args_no_value(&a); cfg.sgd.nesterov = 0; }
        else if (args_is(&a, "--weight-decay")) cfg.sgd.weight_decay = (float)args_float(&a, 0, 1);
        else if (args_is(&a, "--decay-norm")) { args_no_value(&a); cfg.sgd.decay_norm = 1; }
        else if (args_is(&a, "--schedule")) {
            const char *v = args_str(&a);
            if (schedule_parse(v, &cfg.sched.kind))
                args_fail(&a, "--schedule: unknown '%s' (expected one of: %s)", v, schedule_names());
        }
        else if (args_is(&a, "--milestones")) milestones_parse(&a, &cfg.sched);
        else if (args_is(&a, "--gamma")) cfg.sched.gamma = (float)args_float(&a, 0, 1);
        else if (args_is(&a, "--warmup")) cfg.sched.warmup_epochs = (float)args_float(&a, 0, 1e5);
        else if (args_is(&a, "--seed")) cfg.seed = (uint64_t)args_int(&a, 0, 0x7fffffffL);
        else if (args_is(&a, "--threads")) threads = (int)args_int(&a, 1, 256);
        else if (args_is(&a, "--bits")) {
            bits = (int)args_int(&a, 1, 64);
            if (bits != 8 && bits != 32) args_fail(&a, "--bits: %d (expected 8 or 32)", bits);
        } else if (args_is(&a, "--activation-rounding")) {
            const char *v = args_str(&a);
            if (quant_round_parse(v, &act_round))
                args_fail(&a, "--activation-rounding: unknown '%s' (expected stochastic or nearest)", v);
        }
        else if (args_is(&a, "--data-dir")) data_dir = args_str(&a);
        else if (args_is(&a, "--limit-train")) cfg.limit_train = (int)args_int(&a, 1, 1 << 30);
        else if (args_is(&a, "--limit-test")) cfg.limit_test = (int)args_int(&a, 1, 1 << 30);
        else if (args_is(&a, "--json")) { args_no_value(&a); json = 1; }
        else args_unknown(&a);
    }
    a.flag = "--model";
    if (!model_known(model)) args_fail(&a, "--model: unknown model '%s' (expected one of: %s)", model, model_names());
    a.flag = "--dataset";
    if (!dataset_known(dataset))
        args_fail(&a, "--dataset: unknown dataset '%s' (expected one of: %s)", dataset, dataset_names());
    NormKind norm = model_default_norm(model);
    a.flag = "--norm";
    if (norm_s && norm_parse(norm_s, &norm))
        args_fail(&a, "--norm: unknown '%s' (expected one of: %s)", norm_s, norm_names());
    if (!model_takes_norm(model, norm))
        args_fail(&a, "--norm: %s needs a convolutional model (lenet5, cnn5, resnet20, vgg11, vgg11-standard), not "
                  "%s", norm_name(norm), model);
    if (cfg.epochs > 1 && cfg.sched.warmup_epochs >= cfg.epochs)
        args_fail(&a, "--warmup: %g epochs is not less than --epochs %d", cfg.sched.warmup_epochs, cfg.epochs);
    blas_threads_set(threads);

    Err e = {{0}};
    Dataset train, test;
    if (dataset_load(dataset, data_dir, cfg.seed, &train, &test, &e)) {
        fprintf(stderr, "meshtrain train: %s\n", e.msg);
        return 2;
    }
    Rng init = rng_derive(cfg.seed, 1);
    Model *m = model_build(model, norm, train.c, train.h, train.w, train.classes, batch, &init, &e);
    if (m && model_set_precision(m, bits, act_round, rng_derive(cfg.seed, 4), &e)) model_free(m), m = NULL;
    if (!m) {
        fprintf(stderr, "meshtrain train: %s\n", e.msg);
        dataset_free(&train); dataset_free(&test);
        return 2;
    }
    Progress p = {.out = json ? stderr : stdout};
    p.tty = stream_is_tty(p.out);
    fprintf(p.out,
            "training %s (%s, %zu parameters, %d-bit) on %s: %d train / %d test images, batch %d, %d epochs, BLAS "
            "%s x%d\n",
            model, norm_name(norm), m->n_params, bits, dataset, cfg.limit_train ? cfg.limit_train : train.n,
            cfg.limit_test ? cfg.limit_test : test.n, batch, cfg.epochs, blas_core_name(), threads);
    TrainHooks hooks = {on_step, on_epoch, &p};
    TrainReport r;
    int rc = train_run(m, &train, &test, &cfg, &hooks, &r, &e);
    if (rc) fprintf(stderr, "meshtrain train: %s\n", e.msg);
    else if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:i, s:f, s:f, s:I, s:I, s:I, s:I, s:s, s:s}",
                              "model", model, "dataset", dataset, "norm", norm_name(norm),
                              "test_acc", r.test_acc, "test_loss", r.test_loss, "train_loss", r.train_loss,
                              "train_acc", r.train_acc, "epochs", cfg.epochs, "seconds", r.seconds,
                              "images_per_s", r.images_per_s, "params", (json_int_t)m->n_params,
                              "macs_per_sample", (json_int_t)model_macs(m), "batch", (json_int_t)batch,
                              "seed", (json_int_t)cfg.seed, "git", meshtrain_git, "blas_core", blas_core_name());
        json_object_set_new(o, "bits", json_integer(bits));
        json_object_set_new(o, "memory", model_memory_json(m));
        char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("test accuracy %.2f%%  (loss %.4f) after %d epochs in %.1f s\n", 100 * r.test_acc, r.test_loss,
               cfg.epochs, r.seconds);
    }
    model_free(m);
    dataset_free(&train); dataset_free(&test);
    return rc ? 1 : 0;
}
