# CPU PyTorch reference for `make bench`: times SGD training steps of the benchmark models
# (lenet5, resnet20, vgg11, vgg11-standard) on random data and prints one JSON result line.
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# name -> (input shape C,H,W, classes, exact parameter count or None)
MODELS = {
    "lenet5": ((1, 28, 28), 10, 61706),
    "resnet20": ((3, 32, 32), 10, 272474),
    "vgg11": ((3, 32, 32), 10, 579786),
    "vgg11-standard": ((3, 32, 32), 10, 9750922),
}


def lenet5(classes):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, classes))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(3):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(BasicBlock(cin, width, stride))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def vgg_features(cfg, batchnorm):
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        layers.append(nn.Conv2d(cin, v, 3, padding=1, bias=True))
        if batchnorm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        cin = v
    return layers


def vgg11(classes):
    cfg = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M"]
    return nn.Sequential(*vgg_features(cfg, True), nn.Flatten(), nn.Linear(128, classes))


def vgg11_standard(classes):
    cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
    return nn.Sequential(
        *vgg_features(cfg, False), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(512, 512), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, classes))


BUILDERS = {"lenet5": lenet5, "resnet20": ResNet20, "vgg11": vgg11,
            "vgg11-standard": vgg11_standard}


def count_macs(model, shape):
    """Multiply-accumulates per sample of one forward pass: conv and linear layers only."""
    total = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        oc, oh, ow = out.shape[1], out.shape[2], out.shape[3]
        total[0] += oc * oh * ow * m.in_channels * kh * kw // m.groups

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]


def main():
    ap = argparse.ArgumentParser(description="Time PyTorch CPU SGD training steps.")
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps (default: enough for about --seconds)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps")
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="target timed duration when --steps is not given")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the result as a JSON last line")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.steps < 0 or a.warmup < 0:
        ap.error("--batch and --threads must be >= 1, --steps and --warmup >= 0")

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)

    shape, classes, want_params = MODELS[a.model]
    model = BUILDERS[a.model](classes)
    params = sum(p.numel() for p in model.parameters())
    assert want_params is None or params == want_params, \
        f"{a.model}: {params} parameters, expected {want_params}"
    macs = count_macs(model, shape)

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    x = torch.randn(a.batch, *shape)
    y = torch.randint(0, classes, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    # Fixed --steps, or else time steps until about --seconds have passed (at least 5 steps).
    times, spent = [], 0.0
    while (len(times) < a.steps) if a.steps else (spent < a.seconds or len(times) < 5):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    steps = len(times)
    if not torch.isfinite(loss).item():
        print(f"torch_step: {a.model}: loss is not finite", file=sys.stderr)
        return 1

    step_s = statistics.median(times)
    res = {
        "impl": "pytorch",
        "model": a.model,
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "params": params,
        "macs_per_sample": macs,
        "step_ms": round(step_s * 1e3, 4),
        "images_per_s": round(a.batch / step_s, 2),
        "gflops": round(6.0 * macs * a.batch / step_s / 1e9, 3),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "steps": steps,
        "warmup": a.warmup,
        "step_ms_min": round(min(times) * 1e3, 4),
        "torch": torch.__version__,
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{a.model}: {params} params, {macs} MACs/sample, {res['step_ms']:.2f} ms/step "
              f"(median of {steps}), {res['images_per_s']:.1f} img/s, "
              f"{res['gflops']:.2f} GFLOP/s, peak RSS {res['rss_peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
