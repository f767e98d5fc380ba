#!/usr/bin/env python3
"""How long a set of sweeps will take on this machine, printed before `make reproduce(-quick)` starts.

Usage: analysis/scripts/estimate.py JOBS SWEEP.json...   (reads `bin/meshtrain models --json` for sizes)

The model is deliberately simple and its constants were measured here (2026-11-22, 2 cores, runs
through User-Mode Linux, one core per guest): an agent's training round of LeNet-5 costs 11.5 ms of
wall time when 8 agents share a core (SGP, 2 epochs, 1 Gbit/s links: 42.9 s for 468 rounds x 8),
and scales with the model's MACs per sample; each round also waits for its message at the link's
rate plus one link delay. Runs are spread over JOBS guests. Expect +-50%.
"""
import json, math, subprocess, sys

AGENT_ROUND_S_LENET5 = 0.0115       # measured, see above
LENET5_MACS = 416520
# 8-bit training (int8 products where the CPU has VNNI or AVX2, else simulated) against fp32, whole runs: the
# quick lowprec8 grid's runs took 0.58-1.79x (mean 1.09x) the time of the same fp32 runs (2026-12-04, 21 runs, a
# shared host); with simulated products it was 2.7x
PRECISION8_FACTOR = 1.1
# Runs without link emulation (network.backend none) against the User-Mode Linux cost above: the quick lowprec
# sweep's 13 runs took 465 s of run time against 845 s estimated (2026-12-04)
UNSHAPED_FACTOR = 0.55
TRAIN_SAMPLES = {"fashion-mnist": 60000, "mnist": 60000, "cifar10": 50000, "cifar100": 50000, "synthetic": 20000}


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def runs_of(path):
    base = json.load(open(path))
    entries = base.pop("sweep", [{}])
    for e in entries:
        r = merge(base, e)
        for seed in r.get("seeds", [1]):
            yield r, seed


def model_info(bin_path, dataset):
    out = subprocess.run([bin_path, "models", "--json", "--dataset", dataset], capture_output=True, text=True, check=True)
    return {m["model"]: m for m in json.loads(out.stdout.strip().splitlines()[-1])["models"]}


def message_bytes(alg, params):
    comp = alg.get("compression", {})
    kind = comp.get("kind", "q8" if alg["name"] == "deepsqueeze" else "topk" if alg["name"] in ("sparse-push", "sc-sparse-push", "choco", "choco-gossip") else "dense")
    if kind == "dense":
        per = 4 * params
    elif kind == "q8":
        per = params + 64
    elif kind in ("topk", "randk"):
        per = 6 * max(1, comp.get("keep", 0.01) * params)
    elif kind == "topk8":   # ~1.2 B per index (Rice-coded gaps) + 1 B per value at 1% (docs/algorithms.md)
        per = 2.3 * max(1, comp.get("keep", 0.01) * params)
    else:  # sign
        per = params / 8
    if alg["name"] == "allreduce":
        per *= 2  # ring all-reduce: 2 (n-1)/n of the model per agent and step
    return per + 40


def human(seconds):
    """minutes below 2 hours, hours below 2 days, days below a year, else years (and days)"""
    m = seconds / 60
    if m < 120:
        return f"{m:.1f} min"
    if m < 2 * 1440:
        return f"{m / 60:.1f} h"
    if m < 365 * 1440:
        return f"{m / 1440:.1f} days"
    return f"{m / (365 * 1440):.1f} years ({m / 1440:.0f} days)"


def main():
    jobs = int(sys.argv[1])
    total = 0.0
    rows = []
    cache = {}
    for path in sys.argv[2:]:
        sweep_s = 0.0
        for r, seed in runs_of(path):
            ds, model, n = r.get("dataset", "fashion-mnist"), r.get("model", "lenet5"), r.get("agents", 8)
            if ds not in cache:
                cache[ds] = model_info("bin/meshtrain", ds)
            info = cache[ds][model]
            samples = r.get("limit_train") or TRAIN_SAMPLES.get(ds, 60000)
            rounds = r.get("epochs", 5) * math.ceil(samples / n / r.get("batch_size", 32))
            compute = rounds * n * AGENT_ROUND_S_LENET5 * info["macs_per_sample"] / LENET5_MACS
            if r.get("precision", {}).get("bits") == 8:
                compute *= PRECISION8_FACTOR
            if r.get("network", {}).get("backend") == "none":
                compute *= UNSHAPED_FACTOR
            link = r.get("network", {}).get("default_link", {})
            rate = link.get("rate_mbit", 0)
            topo = r.get("topology", {"kind": "exponential", "time_varying": True, "directed": True})
            if topo.get("kind") == "ring":
                peers = 1 if topo.get("directed") else 2
            elif topo.get("kind") == "exponential" and topo.get("time_varying", True) is not False and topo.get("directed", True):
                peers = 1
            elif topo.get("kind") == "exponential":
                peers = int(math.log2(max(2, n - 1))) + 1
                peers = peers if topo.get("directed", True) else 2 * peers - 1
            else:
                peers = n - 1 if topo.get("kind") == "complete" else 2
            if r.get("algorithm", {}).get("name") == "allreduce":
                peers = 1
            # every message a round sends leaves the agent's one interface
            per_round = (peers * message_bytes(r.get("algorithm", {"name": "sgp"}), info["params"]) * 8 / (rate * 1e6) if rate else 0)
            compute *= 1 + 0.3 * (peers - 1)   # more messages to encode, send and mix
            per_round += link.get("delay_ms", 0) / 1e3
            est = compute + rounds * per_round
            sweep_s += est
            rows.append((r["name"], seed, est))
        total += sweep_s
        print(f"  {path}: {human(sweep_s)} of runs")
    for name, seed, est in rows:
        print(f"    {name:30s} seed {seed}: ~{human(est)}")
    print(f"estimate: about {human(total / jobs)} with {jobs} runs at a time (this machine kind; +-50%)")


if __name__ == "__main__":
    main()
