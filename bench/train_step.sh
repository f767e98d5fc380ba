#!/bin/sh
# `make bench`: times meshtrain's training step against CPU PyTorch on the same models, batch and
# thread count, and writes results/bench/train-step.md. Usage: bench/train_step.sh bin/meshtrain
set -eu

die() { echo "bench/train_step.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: bench/train_step.sh bin/meshtrain   (env: MODELS, Q8_MODELS, BATCH, THREADS, ROUNDS, PEAK_GFLOPS, PYTHON, OUT)" >&2; exit 1; }
BIN=$1
[ -x "$BIN" ] || die "'$BIN' is not an executable; build it with: make bin/meshtrain"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
MODELS=${MODELS:-"lenet5 resnet20 vgg11"}
Q8_MODELS=${Q8_MODELS-"resnet20 vgg11-standard"}   # 8-bit vs fp32 rows (docs/precision.md); empty: none
BATCH=${BATCH:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
case $ROUNDS in ''|*[!0-9]*|0) die "ROUNDS=$ROUNDS: expected a whole number of rounds >= 1";; esac
PEAK_GFLOPS=${PEAK_GFLOPS:-260}
OUT=${OUT:-"$ROOT/results/bench/train-step.md"}

# The python3 first on PATH (pyenv, venv) may lack Debian's python3-torch: take the first that has it.
if [ -n "${PYTHON:-}" ]; then
  "$PYTHON" -c 'import torch' 2>/dev/null || die "PYTHON=$PYTHON cannot import torch"
  PY=$PYTHON
else
  PY=""
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then PY=$p; break; fi
  done
  [ -n "$PY" ] || die "no python3 that can import torch; install it with: apt-get install -y python3-torch python3-numpy"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/meshtrain-bench.XXXXXX")
trap 'rm -rf "$TMP"; rm -f "$OUT.tmp.$$"' EXIT
trap 'exit 130' INT TERM

# run LABEL OUTFILE CMD...: run CMD, keep its last stdout line in OUTFILE, fail loudly if it fails
# or that line is not a JSON object.
run() {
  label=$1 out=$2; shift 2
  echo "bench: $label" >&2
  "$@" >"$TMP/stdout" 2>"$TMP/stderr" || {
    rc=$?
    tail -n 20 "$TMP/stderr" >&2
    die "$label failed (exit status $rc): $*"
  }
  tail -n 1 "$TMP/stdout" >"$out"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict)' "$out" 2>/dev/null || {
    tail -n 5 "$TMP/stdout" "$TMP/stderr" >&2
    die "$label: last stdout line is not a JSON object: $*"
  }
}

# For each model, ROUNDS rounds of meshtrain then PyTorch: a neighbour's load that comes and
# goes falls on both sides alike, and the report takes the median of the per-round ratios.
i=0
for m in $MODELS; do
  i=$((i + 1))
  for r in $(seq "$ROUNDS"); do
    run "meshtrain $m (round $r of $ROUNDS)" "$TMP/c.$i.$r.json" \
      "$BIN" bench train-step --model "$m" --batch "$BATCH" --threads "$THREADS" --json
    run "pytorch $m (round $r of $ROUNDS)" "$TMP/t.$i.$r.json" env OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" \
      "$PY" "$HERE/torch_step.py" --model "$m" --batch "$BATCH" --threads "$THREADS" --json
  done
done
[ "$i" -gt 0 ] || die "MODELS is empty"

# 8-bit training against fp32 on the same model (Range-EvoNorm, the paper's norm), in this invocation.
j=0
for m in $Q8_MODELS; do
  j=$((j + 1))
  run "meshtrain $m 32-bit" "$TMP/q32.$j.json" \
    "$BIN" bench train-step --model "$m" --norm range-evonorm --bits 32 --batch "$BATCH" --threads "$THREADS" --json
  # --paired: each 8-bit step alternates with an fp32 step of the same model in the same process; the
  # speed-up is the median of the per-pair CPU-time ratios (steady on a loaded host). Int8 products (the
  # default where qgemm has a SIMD backend), then the simulated ones for reference.
  run "meshtrain $m 8-bit" "$TMP/q8.$j.json" \
    "$BIN" bench train-step --model "$m" --norm range-evonorm --bits 8 --paired --seconds 10 --batch "$BATCH" \
    --threads "$THREADS" --json
  run "meshtrain $m 8-bit simulated" "$TMP/q8s.$j.json" \
    "$BIN" bench train-step --model "$m" --norm range-evonorm --bits 8 --arith simulated --paired --batch "$BATCH" \
    --threads "$THREADS" --json
done

mkdir -p "$(dirname "$OUT")"
REPORT="$TMP/train-step.md"
"$PY" - "$TMP" "$i" "$BATCH" "$THREADS" "$PEAK_GFLOPS" "$MODELS" "$Q8_MODELS" "$ROUNDS" >"$REPORT" <<'EOF'
import json, sys, time
tmp, n, batch, threads, peak, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6].split()
q8_models = sys.argv[7].split()
rounds = int(sys.argv[8])
GOALS = {"lenet5": 2.0, "resnet20": 1.3, "vgg11": 1.3}   # issue 15
NEED = ("images_per_s", "gflops", "step_ms", "params", "macs_per_sample", "rss_peak_mb")

def load(path, side, model):
    d = json.load(open(path))
    miss = [k for k in NEED if k not in d]
    if miss:
        sys.exit(f"bench/train_step.sh: {side} {model}: JSON lacks {', '.join(miss)}")
    return d

cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass

rows, notes, cores = [], [], []
for i, m in enumerate(models, 1):
    cs = [load(f"{tmp}/c.{i}.{r}.json", "meshtrain", m) for r in range(1, rounds + 1)]
    ts = [load(f"{tmp}/t.{i}.{r}.json", "pytorch", m) for r in range(1, rounds + 1)]
    ratios = sorted(a["images_per_s"] / b["images_per_s"] for a, b in zip(cs, ts))
    ratio = ratios[len(ratios) // 2] if len(ratios) % 2 else 0.5 * (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2])
    c = sorted(cs, key=lambda d: d["images_per_s"])[len(cs) // 2]   # the median run of each side
    t = sorted(ts, key=lambda d: d["images_per_s"])[len(ts) // 2]
    if c.get("coretype") and c["coretype"] not in cores:
        cores.append(str(c["coretype"]))
    if c["params"] != t["params"]:
        notes.append(f"WARNING: {m}: params differ, meshtrain {c['params']:,} vs PyTorch {t['params']:,}: not the same model")
    if c["macs_per_sample"] != t["macs_per_sample"]:
        notes.append(f"WARNING: {m}: MACs/sample differ, meshtrain {c['macs_per_sample']:,} vs PyTorch {t['macs_per_sample']:,}")
    pct = 100.0 * c["gflops"] / (peak * threads)
    rows.append([m, f"{c['params']:,}", f"{c['macs_per_sample']:,}",
                 f"{c['images_per_s']:.1f}", f"{t['images_per_s']:.1f}",
                 f"{ratio:.2f}x [{ratios[0]:.2f}-{ratios[-1]:.2f}]",
                 f"{c['gflops']:.1f}", f"{pct:.1f}%", f"{c['rss_peak_mb']:.0f}", f"{t['rss_peak_mb']:.0f}"])
    if m in GOALS:
        ok = "met" if ratio >= GOALS[m] else "NOT met"
        notes.append(f"{m}: {ratio:.2f}x against goal >={GOALS[m]:g}x: {ok}")

head = ["model", "params", "MACs/sample", "meshtrain img/s", "PyTorch img/s", f"ratio (median of {rounds} [range])",
        "meshtrain GFLOP/s", "% of peak", "meshtrain peak RSS MB", "PyTorch peak RSS MB"]
print("# Training-step speed: meshtrain vs CPU PyTorch")
print()
print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} | CPU: {cpu} | OpenBLAS core: {', '.join(cores) or 'unknown'} | "
      f"batch {batch}, {threads} thread(s), PyTorch {t.get('torch', '?')} | "
      f"goals: >=1.3x on resnet20 and vgg11, >=2x on lenet5 | peak {peak:g} GFLOP/s per core (AVX-512; env PEAK_GFLOPS)")
print()
print("| " + " | ".join(head) + " |")
print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
for s in notes:
    print(f"- {s}")
print()
print(f"Median step time after warm-up, random inputs and labels; {rounds} rounds alternating meshtrain and PyTorch, "
      "img/s of each side's median round, ratio the median of the per-round ratios; GFLOP/s = 6 x MACs x batch / "
      "step time. See bench/README.md.")
if q8_models:
    print()
    print("## 8-bit training against fp32 (meshtrain, norm range-evonorm; docs/precision.md)")
    print()
    print("Speed-up: fp32 / 8-bit CPU time per step, median [quartiles] over pairs of steps alternated in one process "
          "(`bench train-step --paired`); the 8-bit products named in `products`.")
    print()
    print("| model | products | fp32 CPU ms | 8-bit CPU ms | speed-up | simulated 8-bit: speed-up | weights B (fp32 / 8-bit) | activations kept B | errors B |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for j, m in enumerate(q8_models, 1):
        a, b, c = (json.load(open(f"{tmp}/q{t}.{j}.json")) for t in ("32", "8", "8s"))
        ma, mb, p, ps = a["memory"], b["memory"], b["paired"], c["paired"]
        print(f"| {m} | {b['arith']} | {p['fp32_cpu_ms']:.1f} | {b['cpu_ms']:.1f} | **{p['speedup_cpu_median']:.2f}x** "
              f"[{p['speedup_cpu_q1']:.2f}-{p['speedup_cpu_q3']:.2f}] | {ps['speedup_cpu_median']:.2f}x | "
              f"{ma['weights']:,} / {mb['weights']:,} | {ma['activations']:,} / {mb['activations']:,} | "
              f"{ma['gradients']:,} / {mb['gradients']:,} |")
EOF
# Copy next to the target first so the final mv is an atomic rename on one filesystem.
cp "$REPORT" "$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
cat "$OUT"
