// A model: one flat float buffer of parameters (and one of gradients), a table of named tensors
// inside it, and a list of layers that read and write activation slots.
// Activations are channel-major: a slot of per-sample shape (c, h, w) is stored as (c, B, h, w),
// so a convolution over the whole batch is one GEMM and norms reduce over contiguous rows.
#ifndef MESHTRAIN_MODEL_H
#define MESHTRAIN_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "quant.h"
#include "rng.h"
#include "util.h"

typedef enum { NORM_NONE, NORM_BATCH, NORM_GROUP, NORM_EVO, NORM_REVO } NormKind;
// INIT_UNIFORM is U(-a, a), INIT_UNIFORM_POS is U(0, a).
typedef enum { INIT_ZERO, INIT_ONE, INIT_NORMAL, INIT_UNIFORM, INIT_UNIFORM_POS } InitKind;

typedef struct {
    char name[48];
    size_t offset, count;  // where the tensor lives in params / grads
    int shape[4], ndim;
    int is_norm;           // a normalization scale/shift or a bias (weight decay may skip these)
    InitKind init;
    float init_a;          // std (normal) or bound (uniform)
} Tensor;

typedef struct {
    int c, h, w;           // per-sample shape; storage (c, B, h, w)
    float *val, *grad;     // grad is NULL for the input slot; grads share memory by liveness
    int producer;          // index of the first layer that writes this slot (-1: the input)
    int last_use;          // index of the last layer that reads it
    int recompute;         // every writer can write it again (LayerOps.recompute): its value lives in a
                           // buffer shared by liveness and is written again before backward reads it
} Slot;

typedef struct Model Model;
typedef struct Layer Layer;

typedef struct {
    const char *kind;
    void (*forward)(Model *m, Layer *l, int train, Rng *rng);
    void (*backward)(Model *m, Layer *l);   // accumulates into grads and into the input slots' grads
    int reads;   // what backward reads of the forward's slots: READS_IN, READS_OUT (memory accounting)
    // Writes l->out again, bit for bit as the last forward did, from its inputs and l->save, changing
    // nothing else (NULL: the layer cannot, e.g. it draws random numbers).
    void (*recompute)(Model *m, Layer *l);
} LayerOps;
// SETS_GRAD: backward writes, not adds, the gradient of an input whose first backward it is (layer_sets_grad),
// so model_backward_layer does not zero it first.
enum { READS_IN = 1, READS_OUT = 2, SETS_GRAD = 4 };
// What a layer quantizes at 8 bits: its input activation (codes kept for backward), both operands of a
// residual add (not kept), its weight tensor (codes kept for the input-gradient product).
enum { Q8_IN = 1, Q8_IN2 = 2, Q8_W = 4 };

struct Layer {
    const LayerOps *ops;
    int in, in2, out;           // slots (in2 = -1 unless the layer has two inputs; out == in: in place)
    int k, stride, pad, groups; // geometry (conv, pool, norm groups)
    float eps, momentum, p;     // norm epsilon, running-statistics momentum, dropout probability
    int w, b;                   // tensor indices of weight/scale and bias/shift (-1: none)
    size_t st;                  // offset of running statistics in Model.state (batchnorm)
    float *save;                // values kept from forward for backward, save_n floats
    size_t save_n;
    uint64_t macs;              // multiply-accumulates per sample in forward
    int q8;                     // Q8_* flags: what the layer quantizes when the model runs at 8 bits
    size_t qst;                 // 8 bits: running (min, max) of each quantized input in Model.state
    uint8_t *qx, *qw;           // 8 bits: codes of the input (slot size) and of the weight tensor
    QParam px, pw;              // their ranges
    void *q8plan;               // 8 bits, int8 products: the layer's own plan (conv: padding classes), one block
    int fused_relu;   // batchnorm, add: applies the ReLU right after it (forward and backward); that ReLU: does
                      // nothing (set by model_finalize unless Model.no_fuse)
};

// 8 bits: how the conv and linear products run. Q8_ARITH_INT8: integer products of the codes (nn/qgemm,
// its backend in use), equal to the simulated ones up to float summation order; Q8_ARITH_SIMULATED: the
// codes decoded to floats and multiplied by sgemm (the reference, and the choice where qgemm has only
// its plain backend, slower than sgemm).
typedef enum { Q8_ARITH_SIMULATED, Q8_ARITH_INT8 } Q8Arith;

struct Model {
    char name[32];
    NormKind norm;
    int batch;                  // largest batch the buffers hold
    int cur;                    // batch size of the current forward/backward
    int train;                  // mode of the last forward: backward differentiates that function
    int classes;
    float *params, *grads;      // n_params each
    size_t n_params;
    float *state;               // running statistics (not trained by SGD), n_state
    size_t n_state;
    Tensor *tensors;  int n_tensors, cap_tensors;
    Layer *layers;    int n_layers, cap_layers;
    Slot *slots;      int n_slots, cap_slots;
    int logits;                 // slot holding (classes, B) logits
    float *work;                // shared scratch (im2col columns), n_work floats
    size_t n_work;
    float *act_mem, *grad_mem;  // backing memory of all slot values and all pooled grads
    size_t n_act, n_grad;
    size_t n_pool;              // of n_act: the buffers shared by the recomputed slots
    int keep_slots;             // set before model_finalize: every slot its own memory, none recomputed (the
                                // reference layout, for tests and for code that reads slots after forward)
    int no_fuse;                // set before model_finalize: no layer does its neighbour's work (the plain path, for
                                // tests: fused layers give the same bits)
    // Precision (model_set_precision): 32, or 8 with the activation rounding and the generator of every
    // stochastic rounding (activations in forward, errors in backward). 8-bit scratch: dequantized
    // input, weights and error (floats) and the error's codes, each as large as the largest need.
    int bits;
    QRound act_round;
    Rng qrng;
    float *q8x, *q8w, *q8g;
    uint8_t *q8gc, *q8_codes;   // q8_codes: backing memory of every layer's qx and qw
    size_t n_q8_codes;
    Q8Arith q8_arith;           // chosen by model_set_precision (qgemm_backend), changed by model_set_q8_arith
};

// Bytes of a model at its precision (docs/precision.md): weights and back-propagated errors as the
// arithmetic uses them (1 byte each at 8 bits), the activations that backward reads (8-bit codes for the
// quantized layers' inputs), and the fp32 master weights plus weight gradients kept at any precision.
typedef struct {
    int bits;
    size_t weights, activations, gradients, master;
} ModelMemory;

// Build: create, add layers (each returns its output slot), then finalize (allocates, initializes).
Model *model_new(const char *name, int c, int h, int w, int classes, int batch);
int model_conv(Model *m, int in, int oc, int k, int stride, int pad, int bias);
int model_linear(Model *m, int in, int out, int bias);   // flattens (c,h,w) inputs first
int model_flatten(Model *m, int in);                     // (c,B,h,w) -> (c*h*w, B)
int model_relu(Model *m, int in);                        // in place
int model_maxpool(Model *m, int in, int k, int stride);
int model_avgpool(Model *m, int in, int k, int stride);
int model_gap(Model *m, int in);                         // global average pool -> (c, B)
int model_dropout(Model *m, int in, float p);            // in place, p = drop probability
int model_add(Model *m, int a, int b);                   // in place into a: a += b
int model_batchnorm(Model *m, int in);
int model_groupnorm(Model *m, int in, int groups);
int model_evonorm(Model *m, int in, int groups);         // EvoNorm-S0 with hard-swish; includes the activation
// Normalization by kind followed by its activation (ReLU, except EvoNorm which has its own).
int model_norm_act(Model *m, int in, NormKind kind, int act);
int model_range_evonorm(Model *m, int in, int groups, InitKind gamma_init);   // Range-EvoNorm (8-bit paper)
int model_finalize(Model *m, Rng *init, Err *e);
// Run m at `bits` (32: nothing changes; 8: the reference's 8-bit training, docs/precision.md) with the
// activations rounded as act_round and every stochastic rounding drawn from rng. Call once, after
// building and before the first forward; adds 8-bit running ranges to m->state. 0, or -1 and e.
int model_set_precision(Model *m, int bits, QRound act_round, Rng rng, Err *e);
// The 8-bit products from now on: Q8_ARITH_SIMULATED, or Q8_ARITH_INT8 (needs bits 8 and a SIMD qgemm
// backend unless allow_plain: the plain one is for tests). 0, or -1 and e.
int model_set_q8_arith(Model *m, Q8Arith a, int allow_plain, Err *e);
// What the products run on, for runs to record: "fp32", "int8 avx512-vnni" (the qgemm backend), "simulated".
const char *model_arith_name(const Model *m);
void model_memory(const Model *m, ModelMemory *out);
void model_free(Model *m);

// Run: fill model_input() with (c, b, h, w) floats, then forward, loss, backward.
float *model_input(Model *m);
void model_forward(Model *m, int b, int train, Rng *rng);
// Softmax cross-entropy, mean over the batch; writes d(loss)/d(logits); counts correct predictions.
float model_loss(Model *m, const uint8_t *y, int *correct);
void model_backward(Model *m);
// Step i of model_backward (layers from last to first): zeroes the gradients this layer starts, writes
// again the recomputed slots whose last reader it is, then runs the layer's backward.
void model_backward_layer(Model *m, int i);
uint64_t model_macs(const Model *m);     // forward MACs per sample
// The tensors of m as runs of the flat vector (out holds m->n_tensors), and those that are norm
// scales/shifts or biases (no weight decay by default). Each returns how many it wrote.
int model_spans(const Model *m, Span *out);
// The linear head, the layer that writes the logits (-1: the last layer is not linear), and whether
// the model has a feature layer: a linear head whose input is not the model's input (CCL's features).
int model_head(const Model *m);
int model_has_features(const Model *m);
int model_norm_spans(const Model *m, Span *out);

// Internals for layer files.
int model_slot_new(Model *m, int c, int h, int w);
Layer *model_layer_new(Model *m, const LayerOps *ops, int in, int in2, int out);
int model_tensor_new(Model *m, const char *name, int ndim, const int *shape, InitKind init, float a, int is_norm);
size_t model_state_new(Model *m, size_t n);
// 8 bits: the range of operand k (0: l->in, 1: l->in2) of l, by QuantMeasure: in training the batch mean
// of per-sample extremes (updating the running range), in evaluation the running range.
QParam model_act_range(Model *m, Layer *l, int k);
// 8 bits: the codes of the back-propagated error g[0..n) in m->q8gc, over its own min and max, stochastic
// rounding (the reference's quantize_grad). Returns their range; g is left as it is.
QParam model_error_q8(Model *m, const float *g, size_t n);
// The same rounding, decoded into out (may be g) in the same pass, without keeping the codes.
QParam model_error_fake(Model *m, float *out, const float *g, size_t n);
void model_work_need(Model *m, size_t n);
// Shared by the normalization layers (layer_norm.c): per-channel scale and shift tensors, and the
// mean and 1/sqrt(var + eps) of sample b over channels [c0, c1) of a (C, B, HW) tensor.
void norm_affine_new(Model *m, Layer *l, const char *kind, int C);
float group_moments(const float *x, int B, int b, int c0, int c1, int HW, float eps, double *mean);
// Whether l's backward writes slot s's gradient rather than adding to it: s is an input l is the last reader
// of (so its backward is the first to reach s), l's kind sets gradients, s is not l's in-place output, and the
// model is not on its plain path (Model.no_fuse).
static inline int layer_sets_grad(const Model *m, const Layer *l, int s) {
    return !m->no_fuse && (l->ops->reads & SETS_GRAD) && s != l->out && m->slots[s].last_use == (int)(l - m->layers);
}
static inline size_t slot_size(const Model *m, int s) {
    return (size_t)m->slots[s].c * m->slots[s].h * m->slots[s].w * m->cur;
}

// The model zoo (models.c).
const char *model_names(void);            // "mlp, linear, lenet5, ..."
int model_known(const char *arch);
const char *norm_names(void);
int norm_parse(const char *s, NormKind *out);
// Whether arch can take norm (range-evonorm needs convolutional feature layers); 1 or 0.
int model_takes_norm(const char *arch, NormKind norm);
const char *norm_name(NormKind k);
NormKind model_default_norm(const char *arch);
Model *model_build(const char *arch, NormKind norm, int c, int h, int w, int classes, int batch,
                   Rng *init, Err *e);

#endif
