// The model zoo: builders for every architecture `--model` accepts, each with a `norm` option.
// Layer orders and initializations follow the reference code named in docs/models.md.
#include <string.h>
#include "model.h"

static const char *NORM_NAMES[] = {"none", "batchnorm", "groupnorm", "evonorm", "range-evonorm"};

const char *norm_names(void) { return "none, batchnorm, groupnorm, evonorm, range-evonorm"; }
const char *norm_name(NormKind k) { return NORM_NAMES[k]; }

int norm_parse(const char *s, NormKind *out) {
    for (int i = 0; i < 5; i++)
        if (strcmp(s, NORM_NAMES[i]) == 0) { *out = (NormKind)i; return 0; }
    return -1;
}

// MLP: two hidden layers of 256 (norm over features when asked).
static void build_mlp(Model *m, NormKind norm) {
    int x = model_linear(m, 0, 256, 1);
    x = model_norm_act(m, x, norm, 1);
    x = model_linear(m, x, 256, 1);
    x = model_norm_act(m, x, norm, 1);
    model_linear(m, x, m->classes, 1);
}

// Softmax regression: the linear baseline that the synthetic task defeats.
static void build_linear(Model *m, NormKind norm) {
    (void)norm;
    model_linear(m, 0, m->classes, 1);
}

// LeNet-5 (the GUT/CCL repos' FMNIST model): 61,706 parameters at 28x28 without norm.
static void build_lenet5(Model *m, NormKind norm) {
    int x = model_conv(m, 0, 6, 5, 1, 2, 1);
    x = model_norm_act(m, x, norm, 1);
    x = model_maxpool(m, x, 2, 2);
    x = model_conv(m, x, 16, 5, 1, 0, 1);
    x = model_norm_act(m, x, norm, 1);
    x = model_maxpool(m, x, 2, 2);
    x = model_relu(m, model_linear(m, x, 120, 1));
    x = model_relu(m, model_linear(m, x, 84, 1));
    model_linear(m, x, m->classes, 1);
}

// The 5-layer CNN of the NGC repo ("cganet5"): convs [32, 32, M, 64, M, 64, M] and one linear.
static void build_cnn5(Model *m, NormKind norm) {
    static const int cfg[] = {32, 32, -1, 64, -1, 64, -1};
    int x = 0;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (cfg[i] < 0) { x = model_maxpool(m, x, 2, 2); continue; }
        x = model_conv(m, x, cfg[i], 3, 1, 1, 0);
        x = model_norm_act(m, x, norm, 1);
    }
    model_linear(m, x, m->classes, 1);
}

// ResNet-20 for 32x32: 3 stages x 3 basic blocks (16/32/64), 1x1-conv shortcuts on shape change.
// With EvoNorm or Range-EvoNorm there is no separate ReLU anywhere, as in the reference code. With
// Range-EvoNorm the 8-bit reference's init_modelq: gamma 1 (0 in each block's last norm), fc N(0, 0.01).
static void build_resnet20(Model *m, NormKind norm) {
    int relu = norm != NORM_EVO && norm != NORM_REVO;
    int x = model_conv(m, 0, 16, 3, 1, 1, 0);
    x = model_norm_act(m, x, norm, 1);
    int widths[3] = {16, 32, 64};
    for (int s = 0; s < 3; s++)
        for (int blk = 0; blk < 3; blk++) {
            int stride = (s > 0 && blk == 0) ? 2 : 1;
            int y = model_conv(m, x, widths[s], 3, stride, 1, 0);
            y = model_norm_act(m, y, norm, 1);
            y = model_conv(m, y, widths[s], 3, 1, 1, 0);
            y = model_norm_act(m, y, norm, !relu);
            if (norm == NORM_REVO) m->tensors[m->layers[m->n_layers - 1].w].init = INIT_ZERO;   // bn2: zero-init
            int sc = x;
            if (stride != 1 || m->slots[x].c != widths[s]) {
                sc = model_conv(m, x, widths[s], 1, stride, 0, 0);
                sc = model_norm_act(m, sc, norm, !relu);
            }
            x = model_add(m, y, sc);
            if (relu) x = model_relu(m, x);
        }
    x = model_gap(m, x);
    model_linear(m, x, m->classes, 1);
    if (norm != NORM_REVO) return;
    for (int t = 0; t < m->n_tensors; t++) {
        Tensor *T = &m->tensors[t];
        if (!strncmp(T->name, "ren", 3) && !strcmp(strchr(T->name, '.'), ".weight") && T->init != INIT_ZERO)
            T->init = INIT_ONE;
    }
    Layer *fc = &m->layers[m->n_layers - 1];
    m->tensors[fc->w].init = INIT_NORMAL, m->tensors[fc->w].init_a = 0.01f;
    m->tensors[fc->b].init = INIT_ZERO;
}

// With Range-EvoNorm the convolutions have no bias, as the 8-bit reference's (the norm's beta is one).
static int vgg_features(Model *m, const int *cfg, int n, NormKind norm) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (cfg[i] < 0) { x = model_maxpool(m, x, 2, 2); continue; }
        x = model_conv(m, x, cfg[i], 3, 1, 1, norm != NORM_REVO);
        x = model_norm_act(m, x, norm, 1);
    }
    return x;
}

// VGG-11 narrow (the GUT/CCL repos): [16,M,32,M,64,64,M,128,128,M,128,128,M] + Linear(128, C).
static void build_vgg11(Model *m, NormKind norm) {
    static const int cfg[] = {16, -1, 32, -1, 64, 64, -1, 128, 128, -1, 128, 128, -1};
    int x = vgg_features(m, cfg, 13, norm);
    model_linear(m, x, m->classes, 1);
}

// VGG-11 standard (RelaySGD): config A, no norm by default, dropout in the classifier. With Range-EvoNorm
// the 8-bit paper's VGG-11 (its vgg_quantized): Dropout, Linear(512, 512), ReLU, Linear(512, classes).
static void build_vgg11_standard(Model *m, NormKind norm) {
    static const int cfg[] = {64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1};
    int x = vgg_features(m, cfg, 13, norm);
    if (norm == NORM_REVO) {
        x = model_dropout(m, model_flatten(m, x), 0.5f);
        x = model_relu(m, model_linear(m, x, 512, 1));
        model_linear(m, x, m->classes, 1);
        return;
    }
    x = model_dropout(m, model_flatten(m, x), 0.5f);
    x = model_dropout(m, model_relu(m, model_linear(m, x, 512, 1)), 0.5f);
    x = model_relu(m, model_linear(m, x, 512, 1));
    model_linear(m, x, m->classes, 1);
}

typedef struct {
    const char *name;
    void (*build)(Model *m, NormKind norm);
    NormKind default_norm;
    int min_hw;        // smallest input side the architecture accepts
    int revo;          // takes range-evonorm (its norms follow convolutions)
    const char *about;
} Arch;

static const Arch ARCHS[] = {
    {"linear", build_linear, NORM_NONE, 1, 0, "softmax regression (a linear baseline)"},
    {"mlp", build_mlp, NORM_NONE, 1, 0, "2 hidden layers of 256, ReLU"},
    {"lenet5", build_lenet5, NORM_NONE, 12, 1, "LeNet-5: conv6-5x5, pool, conv16-5x5, pool, fc 120-84"},
    {"cnn5", build_cnn5, NORM_NONE, 8, 1, "5-layer CNN (NGC's cganet5): conv 32-32-M-64-M-64-M, fc"},
    {"resnet20", build_resnet20, NORM_BATCH, 8, 1, "ResNet-20 for 32x32, 16/32/64 channels"},
    {"vgg11", build_vgg11, NORM_BATCH, 32, 1, "VGG-11 narrow (16..128 channels), as in GUT/CCL"},
    {"vgg11-standard", build_vgg11_standard, NORM_NONE, 32, 1,
     "VGG-11 config A (64..512), dropout classifier, as in RelaySGD"},
};
#define N_ARCHS ((int)(sizeof ARCHS / sizeof ARCHS[0]))

const char *model_names(void) { return "linear, mlp, lenet5, cnn5, resnet20, vgg11, vgg11-standard"; }

static const Arch *arch_find(const char *name) {
    for (int i = 0; i < N_ARCHS; i++)
        if (strcmp(ARCHS[i].name, name) == 0) return &ARCHS[i];
    return NULL;
}

int model_known(const char *arch) { return arch_find(arch) != NULL; }

int model_takes_norm(const char *arch, NormKind norm) {
    const Arch *a = arch_find(arch);
    return a && (norm != NORM_REVO || a->revo);
}

NormKind model_default_norm(const char *arch) {
    const Arch *a = arch_find(arch);
    return a ? a->default_norm : NORM_NONE;
}

Model *model_build(const char *arch, NormKind norm, int c, int h, int w, int classes, int batch,
                   Rng *init, Err *e) {
    const Arch *a = arch_find(arch);
    if (!a) { err_set(e, "unknown model '%s' (expected one of: %s)", arch, model_names()); return NULL; }
    if (h < a->min_hw || w < a->min_hw) {
        err_set(e, "model %s needs inputs of at least %dx%d, the dataset gives %dx%d", arch, a->min_hw,
                a->min_hw, h, w);
        return NULL;
    }
    if (batch < 1) { err_set(e, "batch size %d: expected >= 1", batch); return NULL; }
    if (!a->revo && norm == NORM_REVO) {
        err_set(e, "norm range-evonorm: model %s has no convolution for it to follow (expected one of: lenet5, "
                "cnn5, resnet20, vgg11, vgg11-standard)", arch);
        return NULL;
    }
    Model *m = model_new(arch, c, h, w, classes, batch);
    m->norm = norm;
    a->build(m, norm);
    if (model_finalize(m, init, e) != 0) { model_free(m); return NULL; }
    return m;
}
