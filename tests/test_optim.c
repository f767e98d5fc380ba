// SGD against values worked out by hand (plain, momentum, Nesterov, weight decay with and without
// the norm tensors), and the learning-rate schedules at chosen epochs.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "optim.h"
#include "train.h"

// Four parameters: a 3-entry weight tensor and a 1-entry norm tensor (is_norm).
static const float X0[4] = {1.0f, -2.0f, 0.5f, 3.0f};
static const float G1[4] = {0.5f, 0.25f, -1.0f, 2.0f};
static const float G2[4] = {-0.5f, 1.0f, 0.0f, 1.0f};

typedef struct {
    Model m;
    Tensor t[2];
    Sgd s;
    float x[4];
} Fixture;

// cfg.lr is deliberately wrong: sgd_step must use the lr it is given (the schedule's).
static void fixture_init(Fixture *f, float momentum, int nesterov, float wd, int decay_norm) {
    memset(f, 0, sizeof *f);
    f->t[0] = (Tensor){.name = "w", .offset = 0, .count = 3, .shape = {3}, .ndim = 1, .is_norm = 0};
    f->t[1] = (Tensor){.name = "bn", .offset = 3, .count = 1, .shape = {1}, .ndim = 1, .is_norm = 1};
    f->m.tensors = f->t;
    f->m.n_tensors = 2;
    f->m.n_params = 4;
    SgdConfig cfg = {.lr = 123.0f, .momentum = momentum, .weight_decay = wd, .nesterov = nesterov,
                     .decay_norm = decay_norm};
    sgd_init_model(&f->s, &cfg, &f->m);
    memcpy(f->x, X0, sizeof X0);
}

// One step with G1, then (if two) one with G2, at lr 0.1; compare with expect.
static void check_steps(Fixture *f, int two, const double expect[4], const char *what) {
    sgd_step(&f->s, f->x, G1, 0.1f);
    if (two) sgd_step(&f->s, f->x, G2, 0.1f);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(f->x[i], expect[i], 1e-6, "%s: x[%d] = %.8f, expected %.8f", what, i, f->x[i],
                           expect[i]);
    sgd_free(&f->s);
}

// x - 0.1 g
Test(sgd, plain) {
    Fixture f;
    fixture_init(&f, 0.0f, 0, 0.0f, 0);
    check_steps(&f, 0, (const double[]){0.95, -2.025, 0.6, 2.8}, "plain");
}

// d = g + 0.01 x on the weights only: 1 - 0.1 * 0.51, -2 - 0.1 * 0.23, 0.5 + 0.1 * 0.995; bn: 3 - 0.2.
Test(sgd, weight_decay_skips_norm) {
    Fixture f;
    fixture_init(&f, 0.0f, 0, 0.01f, 0);
    cr_assert_eq(f.s.decay[3], 0.0f, "norm tensor decay %g", f.s.decay[3]);
    cr_assert_float_eq(f.s.decay[0], 0.01f, 1e-9);
    check_steps(&f, 0, (const double[]){0.949, -2.023, 0.5995, 2.8}, "wd, no decay on norm");
}

// The bn entry decays too: 3 - 0.1 * (2 + 0.03).
Test(sgd, weight_decay_on_norm) {
    Fixture f;
    fixture_init(&f, 0.0f, 0, 0.01f, 1);
    check_steps(&f, 0, (const double[]){0.949, -2.023, 0.5995, 2.797}, "wd with decay_norm");
}

// buf1 = G1, x1 = X0 - 0.1 G1; buf2 = 0.9 G1 + G2 = (-0.05, 1.225, -0.9, 2.8); x2 = x1 - 0.1 buf2.
Test(sgd, momentum) {
    Fixture f;
    fixture_init(&f, 0.9f, 0, 0.0f, 0);
    check_steps(&f, 1, (const double[]){0.955, -2.1475, 0.69, 2.52}, "momentum");
}

// x1 = X0 - 0.1 (G1 + 0.9 G1) = (0.905, -2.0475, 0.69, 2.62); buf2 as above;
// x2 = x1 - 0.1 (G2 + 0.9 buf2) = x1 - 0.1 (-0.545, 2.1025, -0.81, 3.52).
Test(sgd, nesterov) {
    Fixture f;
    fixture_init(&f, 0.9f, 1, 0.0f, 0);
    check_steps(&f, 1, (const double[]){0.9595, -2.25775, 0.771, 2.268}, "nesterov");
}

// d1 = (0.51, 0.23, -0.995, 2), x1 = (0.949, -2.023, 0.5995, 2.8); d2 = G2 + 0.01 x1 on the weights
// = (-0.49051, 0.97977, 0.005995, 1); buf2 = 0.9 d1 + d2 = (-0.03151, 1.18677, -0.889505, 2.8).
Test(sgd, momentum_weight_decay) {
    Fixture f;
    fixture_init(&f, 0.9f, 0, 0.01f, 0);
    check_steps(&f, 1, (const double[]){0.952151, -2.141677, 0.6884505, 2.52}, "momentum + wd");
}

// d1 = (0.51, 0.23, -0.995, 2.03), x1 = X0 - 0.19 d1 = (0.9031, -2.0437, 0.68905, 2.6143);
// d2 = G2 + 0.01 x1 = (-0.490969, 0.979563, 0.0068905, 1.026143); buf2 = 0.9 d1 + d2;
// x2 = x1 - 0.1 (d2 + 0.9 buf2).
Test(sgd, nesterov_weight_decay_on_norm) {
    Fixture f;
    fixture_init(&f, 0.9f, 1, 0.01f, 1);
    check_steps(&f, 1, (const double[]){0.95507411, -2.24844697, 0.768335805, 2.25490283}, "nesterov, wd on norm");
}

static void check_lr(const Schedule *s, double epoch, double total, double expect) {
    float lr = schedule_lr(s, 0.1f, epoch, total);
    cr_assert(fabs(lr - expect) <= 1e-6 + 1e-5 * fabs(expect), "epoch %g of %g: lr %.8f, expected %.8f", epoch,
              total, lr, expect);
}

Test(schedule, constant) {
    Schedule s = {.kind = SCHED_CONSTANT};
    check_lr(&s, 0.0, 10.0, 0.1);
    check_lr(&s, 3.7, 10.0, 0.1);
    check_lr(&s, 10.0, 10.0, 0.1);
}

// Milestones at 50% and 75% of 100 epochs, gamma 0.1: the drop happens at the milestone itself.
Test(schedule, multistep) {
    Schedule s = {.kind = SCHED_MULTISTEP, .milestones = {0.5f, 0.75f}, .n_milestones = 2, .gamma = 0.1f};
    check_lr(&s, 0.0, 100.0, 0.1);
    check_lr(&s, 49.99, 100.0, 0.1);
    check_lr(&s, 50.0, 100.0, 0.01);
    check_lr(&s, 74.99, 100.0, 0.01);
    check_lr(&s, 75.0, 100.0, 0.001);
    check_lr(&s, 99.9, 100.0, 0.001);
    check_lr(&s, 30.0, 60.0, 0.01);   // fractions scale with the total
}

// lr (1 + cos(pi t / T)) / 2, floored at min_lr_frac * lr.
Test(schedule, cosine) {
    Schedule s = {.kind = SCHED_COSINE};
    check_lr(&s, 0.0, 10.0, 0.1);
    check_lr(&s, 2.5, 10.0, 0.1 * (1.0 + cos(M_PI / 4)) / 2);   // 0.0853553
    check_lr(&s, 5.0, 10.0, 0.05);
    check_lr(&s, 10.0, 10.0, 0.0);
    check_lr(&s, 12.0, 10.0, 0.0);   // past the end it stays at the floor
    s.min_lr_frac = 0.1f;
    check_lr(&s, 5.0, 10.0, 0.055);
    check_lr(&s, 10.0, 10.0, 0.01);
    float prev = 1.0f;
    for (double e = 0.0; e <= 10.0; e += 0.25) {
        float lr = schedule_lr(&s, 0.1f, e, 10.0);
        cr_assert_leq(lr, prev, "cosine rises at epoch %g", e);
        prev = lr;
    }
}

// Linear from lr/10 at epoch 0 to lr at warmup_epochs, then the schedule's own shape.
Test(schedule, warmup) {
    Schedule s = {.kind = SCHED_CONSTANT, .warmup_epochs = 5.0f};
    check_lr(&s, 0.0, 20.0, 0.01);
    check_lr(&s, 2.5, 20.0, 0.055);
    check_lr(&s, 4.999, 20.0, 0.1 * (0.1 + 0.9 * 4.999 / 5));
    check_lr(&s, 5.0, 20.0, 0.1);
    check_lr(&s, 7.0, 20.0, 0.1);
    s.kind = SCHED_MULTISTEP;
    s.milestones[0] = 0.5f; s.n_milestones = 1; s.gamma = 0.1f;
    check_lr(&s, 2.0, 20.0, 0.046);   // the ramp wins during warm-up
    check_lr(&s, 10.0, 20.0, 0.01);
}

// Cosine after warm-up starts at lr when the warm-up ends and reaches the floor at the total.
Test(schedule, warmup_then_cosine) {
    Schedule s = {.kind = SCHED_COSINE, .warmup_epochs = 5.0f};
    check_lr(&s, 1.0, 15.0, 0.028);
    check_lr(&s, 5.0, 15.0, 0.1);
    check_lr(&s, 10.0, 15.0, 0.05);
    check_lr(&s, 15.0, 15.0, 0.0);
}

Test(schedule, names) {
    SchedKind k;
    cr_assert_eq(schedule_parse("cosine", &k), 0);
    cr_assert_eq(k, SCHED_COSINE);
    cr_assert_eq(schedule_parse("multistep", &k), 0);
    cr_assert_eq(k, SCHED_MULTISTEP);
    cr_assert_eq(schedule_parse("constant", &k), 0);
    cr_assert_eq(k, SCHED_CONSTANT);
    cr_assert_eq(schedule_parse("step", &k), -1);
    cr_assert_not_null(strstr(schedule_names(), "cosine"));
}

// Quasi-global momentum: off, sgd_step_qg is sgd_step bit for bit; on, the step uses a copy of the
// momentum (the buffer is untouched) and sgd_qg_track sets m = mu m + (1 - mu)(z_before - z) / lr.
Test(sgd, quasi_global) {
    enum { N = 5 };
    const float g[N] = {0.5f, -1.0f, 2.0f, 0.25f, -0.125f}, lr = 0.1f, mu = 0.9f;
    SgdConfig cfg = {.lr = lr, .momentum = mu, .nesterov = 1, .weight_decay = 0.01f};
    Sgd a, b, q;
    sgd_init(&a, &cfg, N, NULL, 0);
    sgd_init(&b, &cfg, N, NULL, 0);
    cfg.quasi_global = 1;
    sgd_init(&q, &cfg, N, NULL, 0);
    float xa[N] = {1, 2, 3, 4, 5}, xb[N], xq[N], before[N];
    memcpy(xb, xa, sizeof xa);
    memcpy(xq, xa, sizeof xa);
    for (int t = 0; t < 3; t++) {
        sgd_step(&a, xa, g, lr);
        sgd_step_qg(&b, xb, xb, g, lr);   // quasi_global off
        cr_expect(!memcmp(xa, xb, sizeof xa) && !memcmp(a.buf, b.buf, sizeof xa), "off: not sgd_step bit for bit");
        float m0[N];
        memcpy(m0, q.buf, sizeof m0);
        memcpy(before, xq, sizeof xq);
        sgd_step_qg(&q, xq, xq, g, lr);
        cr_expect(!memcmp(m0, q.buf, sizeof m0), "the step changed the momentum buffer");
        for (int i = 0; i < N; i++) {
            float d = g[i] + 0.01f * before[i], tm = mu * m0[i] + d;
            cr_expect_float_eq(xq[i], before[i] - lr * (d + mu * tm), 1e-6f, "step entry %d", i);
            xq[i] *= 0.999f;   // stands in for the mix
        }
        sgd_qg_track(&q, xq, lr);
        for (int i = 0; i < N; i++)
            cr_expect_float_eq(q.buf[i], mu * m0[i] + (1 - mu) * (before[i] - xq[i]) / lr, 1e-5f, "m entry %d", i);
    }
    sgd_free(&a); sgd_free(&b); sgd_free(&q);
}
