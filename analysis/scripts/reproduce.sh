#!/bin/bash
# `make reproduce`: the papers' experiments at full scale (CIFAR-10, ResNet-20 and VGG-11, 8 and 16
# agents, 200 epochs, the authors' hyperparameters, IID and label-skewed): first what will run and how
# long it should take here, then the runs (resumable: run it again to continue) and their report.
# Usage: analysis/scripts/reproduce.sh [bin/meshtrain]   (JOBS=N runs N at a time, default 2)
set -u
BIN=${1:-bin/meshtrain}
OUT=${OUT:-results/paper}
JOBS=${JOBS:-2}
HERE=$(dirname "$0")
PY=$(command -v python3 || echo /usr/bin/python3)
S=scenarios/paper/sparse-push-cifar10.json
echo "== reproduce: what will run"
"$BIN" run "$S" --out "$OUT/runs" --dry-run || exit 2
"$PY" "$HERE/estimate.py" "$JOBS" "$S" || exit 2
if ! "$BIN" probe --json | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["datasets"]["cifar10"]["found"] else 1)'; then
  echo "reproduce: CIFAR-10 is not here. Get it with: make data (needs internet), or set MESHTRAIN_DATA to a folder holding" >&2
  echo "  cifar-10-batches-bin/. For a reduced version that needs no download: make reproduce-quick" >&2
  exit 2
fi
"$BIN" run "$S" --out "$OUT/runs" --jobs "$JOBS"; status=$?
"$BIN" report "$OUT/runs" --out "$OUT" --baseline sgp --title "Sparse-Push, CIFAR-10, full scale" || status=1
echo "report: $OUT/REPORT.md"
exit $status
