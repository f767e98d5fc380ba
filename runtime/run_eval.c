// The runner's evaluation gatherer (see run.h): every agent sends its accuracy and its model at each
// evaluation; once all have sent evaluation k, the averaged model is tested and one line of evals.jsonl
// records it with the consensus distance.
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"
#include "run.h"
#include "train.h"

int run_eval_load(RunEval *ev, const Scenario *s, Err *e) {
    if (dataset_load(s->dataset, NULL, s->seed, &ev->train, &ev->test, e)) return -1;
    Rng init = rng_derive(s->seed, 1);
    ev->m = model_build(s->model, s->norm, ev->test.c, ev->test.h, ev->test.w, ev->test.classes, 256, &init, e);
    ev->limit_test = s->limit_test;
    if (!ev->m) return -1;
    // At the agents' precision, so their state (8-bit running ranges) has the same length.
    return model_set_precision(ev->m, s->bits, s->act_round, rng_derive(s->seed, 2999), e);
}

int run_eval_open(RunEval *ev, int n, const char *run_dir, Err *e) {
    char path[1100];
    snprintf(path, sizeof path, "%s/evals.jsonl", run_dir);
    ev->log = fopen(path, "w");
    if (!ev->log) { err_set(e, "%.500s: cannot create: %s", path, strerror(errno)); return -1; }
    ev->n = n;
    ev->models = xcalloc((size_t)n, sizeof(float *));
    for (int i = 0; i < n; i++) ev->models[i] = xfloats(ev->m->n_params + ev->m->n_state);
    ev->queue = xcalloc((size_t)n, sizeof(EvalItem *));
    ev->acc = xcalloc((size_t)n, sizeof(double));
    return 0;
}

// All agents reported evaluation `index`: accuracy of the averaged model and the consensus distance.
static void eval_complete(RunEval *ev, double t_s) {
    size_t np = ev->m->n_params, ns = ev->m->n_state;
    int n = ev->n;
    double acc_sum = 0, acc_min = 1, dist = 0;
    float *avg_p = ev->m->params, *avg_s = ev->m->state;
    memset(avg_p, 0, np * sizeof(float));
    memset(avg_s, 0, ns * sizeof(float));
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < np; k++) avg_p[k] += ev->models[i][k] / n;
        for (size_t k = 0; k < ns; k++) avg_s[k] += ev->models[i][np + k] / n;
    }
    for (int i = 0; i < n; i++) {
        double d = 0;
        for (size_t k = 0; k < np; k++) { double x = ev->models[i][k] - avg_p[k]; d += x * x; }
        dist += d / n;
        acc_sum += ev->acc[i];
        if (ev->acc[i] < acc_min) acc_min = ev->acc[i];
    }
    double loss = 0, acc_avg = model_evaluate(ev->m, &ev->test, ev->limit_test, &loss);
    json_t *accs = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(accs, json_real(ev->acc[i]));
    json_t *o = json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "eval", ev->index, "epoch", ev->epoch,
                          "t_s", t_s, "acc_mean", acc_sum / n, "acc_worst", acc_min, "acc_avg_model", acc_avg,
                          "loss_avg_model", loss, "consensus_distance", dist, "acc", accs);
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
    fprintf(ev->log, "%s\n", t);
    fflush(ev->log);
    free(t);
    json_decref(o);
    ev->final_avg_acc = acc_avg;
    ev->final_consensus = dist;
    ev->index++;
    ev->total++;
}

// Take the head of agent k's queue as its part of evaluation `index`. 0, or -1 and e if it is another one.
static int eval_pop(RunEval *ev, int k, Err *e) {
    EvalItem *h = ev->queue[k];
    if (h->index != ev->index) {
        err_set(e, "agent %d sent evaluation %d while %d was being gathered", k, h->index, ev->index);
        return -1;
    }
    CtlReport rep;
    ctl_report_unpack(h->data, h->len, &rep);   // checked when it was queued
    json_t *o = json_loadb(rep.json, rep.json_len, 0, NULL);
    ev->acc[k] = json_number_value(json_object_get(o, "test_acc"));
    ev->epoch = json_number_value(json_object_get(o, "epoch"));
    json_decref(o);
    memcpy(ev->models[k], rep.floats, rep.float_bytes);
    ev->queue[k] = h->next;
    free(h->data);
    free(h);
    return 0;
}

// Each agent's evaluations arrive in order (index 0, 1, ...), so they queue per agent; evaluation k
// is complete when every queue has its k-th entry at the head.
int run_eval_take(RunEval *ev, int i, const uint8_t *p, size_t len, double t_s, Err *e) {
    size_t np = ev->m->n_params, ns = ev->m->n_state;
    CtlReport rep;
    if (ctl_report_unpack(p, len, &rep) || rep.float_bytes != (np + ns) * sizeof(float)) {
        err_set(e, "evaluation from agent %d has %zu bytes; the runner expects %zu "
                "(model %zu parameters + %zu statistics)",
                i, len, 4 + rep.json_len + (np + ns) * sizeof(float), np, ns);
        return -1;
    }
    json_t *o = json_loadb(rep.json, rep.json_len, 0, NULL);
    int index = o ? (int)json_integer_value(json_object_get(o, "index")) : -1;
    json_decref(o);
    if (index < 0) { err_set(e, "evaluation from agent %d has no index", i); return -1; }
    EvalItem *it = xcalloc(1, sizeof *it);
    it->data = xmalloc(len);
    memcpy(it->data, p, len);
    it->len = len;
    it->index = index;
    EvalItem **tail = &ev->queue[i];
    while (*tail) tail = &(*tail)->next;
    *tail = it;
    for (int completed = 0;; completed = 1) {
        for (int k = 0; k < ev->n; k++) if (!ev->queue[k]) return completed;
        for (int k = 0; k < ev->n; k++) if (eval_pop(ev, k, e)) return -1;
        eval_complete(ev, t_s);
    }
}

int run_eval_close(RunEval *ev) {
    int rc = ev->log && fclose(ev->log) ? -1 : 0;
    ev->log = NULL;
    return rc;
}

void run_eval_free(RunEval *ev) {
    run_eval_close(ev);
    for (int i = 0; i < ev->n; i++) {
        free(ev->models[i]);
        for (EvalItem *it = ev->queue[i], *next; it; it = next) { next = it->next; free(it->data); free(it); }
    }
    free(ev->models), free(ev->queue), free(ev->acc);
    if (ev->m) model_free(ev->m);
    dataset_free(&ev->train);
    dataset_free(&ev->test);
    memset(ev, 0, sizeof *ev);
}
