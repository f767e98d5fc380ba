// The "algorithm" keys of a scenario as an algorithm sees them: a plain struct, so algorithms need
// neither the scenario nor its parser (runtime/scenario.c fills it and validates it).
#ifndef MESHTRAIN_ALG_CONFIG_H
#define MESHTRAIN_ALG_CONFIG_H

typedef struct {
    char name[32];
    double gamma;            // consensus step (choco, deepsqueeze, sparse-push)
    char codec[16];          // dense, topk, randk, sign, q8
    double keep;             // fraction kept by topk / randk
    int error_feedback;
    int overlap;             // sgp: add the previous round's shares (OSGP, delay 1) instead of waiting
    // sc-sparse-push: extra consensus rounds that pull skewed local models together
    struct { int rounds; double every_epochs; char codec[16]; double keep; double gamma; } comp;
    double feature_weight;   // toy-crossgrad: weight of its pull of the features towards the neighbours'
    double ccl_lambda_m, ccl_lambda_d;   // ccl: weights of the model-variant and data-variant feature losses
    int relay_update_ref;    // relaysgd: fill missing models with the last model instead of x0 (update_ref_state)
    double alpha;            // ngm: weight of the data-variant cross-gradients (1 - alpha: model-variant)
    double gut_scaling;      // gut, qg-gut: the GUT scaling factor mu (the reference's --scaling)
} AlgConfig;

#endif
