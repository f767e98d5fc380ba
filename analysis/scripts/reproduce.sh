#!/bin/bash
# `make reproduce`: the papers' experiments at full scale, first what will run and how long it should
# take here, then the runs (resumable: run it again to continue) and their reports. Four sweeps:
#   scenarios/paper/sparse-push-cifar10.json  Sparse-Push: ResNet-20 and VGG-11 (narrow), 8 and 16 agents,
#                                             IID and label skew, emulated 20 Mbit/s links -> results/paper/
#   scenarios/paper/relaysgd-cifar10.json     RelaySum paper: VGG-11 (standard) and ResNet-20, 16 agents,
#                                             Dirichlet 1/0.1/0.01, 3 seeds, the authors' tuned LRs, and
#                                             the unreliable-network table -> results/paper/relaysgd/
#   scenarios/paper/thesis-cifar.json         the thesis (Aketi 2024): GUT / QG-GUTm, CCL and NGM with their
#                                             baselines in their scripts' settings (CIFAR-10/100, ResNet-20,
#                                             VGG-11, 5-layer CNN, rings of 5/16/32) -> results/paper/thesis/
#   scenarios/paper/lowprec-cifar10.json      the low-precision paper (Aketi, Kodge, Roy 2022): ResNet-20 and
#     and lowprec8-cifar10.json               VGG-11, 8-agent directed ring, IID and skew 0.8, CHOCO and
#                                             DeepSqueeze, dense and 99% top-k, fp32 (EvoNorm) and 8-bit
#                                             (Range-EvoNorm; only when this build has 8-bit training)
#                                             -> results/paper/lowprec/
# Usage: analysis/scripts/reproduce.sh [bin/meshtrain]   (JOBS=N runs N at a time, default 2)
set -u
BIN=${1:-bin/meshtrain}
OUT=${OUT:-results/paper}
JOBS=${JOBS:-2}
HERE=$(dirname "$0")
PY=$(command -v python3 || echo /usr/bin/python3)
S=scenarios/paper/sparse-push-cifar10.json
R=scenarios/paper/relaysgd-cifar10.json
T=scenarios/paper/thesis-cifar.json
L=scenarios/paper/lowprec-cifar10.json
L8=scenarios/paper/lowprec8-cifar10.json
echo "== reproduce: what will run"
"$BIN" run "$S" --out "$OUT/runs" --dry-run || exit 2
"$BIN" run "$R" --out "$OUT/relaysgd/runs" --dry-run || exit 2
"$BIN" run "$T" --out "$OUT/thesis/runs" --dry-run || exit 2
"$BIN" run "$L" --out "$OUT/lowprec/runs32" --dry-run || exit 2
LP="$L"
if why=$("$BIN" run "$L8" --out "$OUT/lowprec/runs8" --dry-run 2>&1 >/dev/null); then
  LP="$L $L8"
else
  echo "== $L8 skipped: this build cannot run it ($why)"
fi
"$PY" "$HERE/estimate.py" "$JOBS" "$S" "$R" "$T" $LP || exit 2
if ! "$BIN" probe --json | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["datasets"]["cifar10"]["found"] else 1)'; then
  echo "reproduce: CIFAR-10 is not here. Get it with: make data (needs internet), or set MESHTRAIN_DATA to a folder holding" >&2
  echo "  cifar-10-batches-bin/. For a reduced version that needs no download: make reproduce-quick" >&2
  exit 2
fi
status=0
"$BIN" run "$S" --out "$OUT/runs" --jobs "$JOBS" || status=1
"$BIN" report "$OUT/runs" --out "$OUT" --baseline sgp --title "Sparse-Push, CIFAR-10, full scale" || status=1
echo "report: $OUT/REPORT.md"
"$BIN" run "$R" --out "$OUT/relaysgd/runs" --jobs "$JOBS" || status=1
"$BIN" report "$OUT/relaysgd/runs" --out "$OUT/relaysgd" --baseline sgp --title "RelaySum paper, CIFAR-10, full scale" || status=1
echo "report: $OUT/relaysgd/REPORT.md"
"$BIN" run "$L" --out "$OUT/lowprec/runs32" --jobs "$JOBS" || status=1
dirs="$OUT/lowprec/runs32"
case "$LP" in *"$L8"*) "$BIN" run "$L8" --out "$OUT/lowprec/runs8" --jobs "$JOBS" || status=1; dirs="$dirs $OUT/lowprec/runs8" ;; esac
"$BIN" report "$OUT/lowprec/runs32" --out "$OUT/lowprec/fp32" --baseline lp-iid-choco-dense-resnet20 --title "Low precision, fp32, CIFAR-10, full scale" || status=1
"$PY" "$HERE/lowprec_claims.py" "$OUT" $dirs --suffix -resnet20 --suffix -vgg11 || status=1
echo "report: $OUT/lowprec/CLAIMS.md"
# The thesis sweep also trains on CIFAR-100.
if ! "$BIN" probe --json | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["datasets"]["cifar100"]["found"] else 1)'; then
  echo "reproduce: CIFAR-100 is not here (make data gets it): the thesis sweep ($T) did not run" >&2
  exit 2
fi
"$BIN" run "$T" --out "$OUT/thesis/runs" --jobs "$JOBS" || status=1
"$BIN" report "$OUT/thesis/runs" --out "$OUT/thesis" --baseline dpsgd --title "The thesis's algorithms, CIFAR, full scale" || status=1
echo "report: $OUT/thesis/REPORT.md"
exit $status
