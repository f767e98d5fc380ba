#!/bin/bash
# `make reproduce-quick`: the papers' figures at reduced scale on Fashion-MNIST (LeNet-5): three sweeps
# through the emulated network with 8 agents (IID algorithms, non-IID with SC-Sparse-Push, link
# conditions), one with 16 agents on Dirichlet-heterogeneous data without link emulation (RelaySGD, D2,
# gradient tracking, quasi-global momentum, SGP, D-PSGD, all-reduce; message drops), one with the thesis's
# methods (NGM, GUT, QG-GUTm, CCL against D-PSGD, QG-DSGDm-N and RelaySGD; 16-agent ring, 2 seeds), the low-precision
# paper's grid (fp32: lowprec, with Sparse-Push's 8-bit values; 8-bit training: lowprec8), their reports, and results/quick/REPORT.md with each checked claim beside the paper's.
# Usage: analysis/scripts/reproduce_quick.sh [bin/meshtrain]   (JOBS=N runs N at a time, default 2)
set -u
BIN=${1:-bin/meshtrain}
OUT=${OUT:-results/quick}
JOBS=${JOBS:-2}
HERE=$(dirname "$0")
PY=$(command -v python3 || echo /usr/bin/python3)
# SWEEPS (environment) runs a subset, e.g. SWEEPS="lowprec lowprec8"; the claims of the others say n/a.
SWEEPS=${SWEEPS:-"iid noniid links heterogeneous thesis lowprec lowprec8"}
start=$(date +%s)

echo "== reproduce-quick: what will run"
for s in $SWEEPS; do
  "$BIN" run "scenarios/quick/$s.json" --out "$OUT/runs/$s" --dry-run || exit 2
done
"$PY" "$HERE/estimate.py" "$JOBS" $(for s in $SWEEPS; do echo "scenarios/quick/$s.json"; done) || exit 2

status=0
for s in $SWEEPS; do
  echo "== sweep $s"
  "$BIN" run "scenarios/quick/$s.json" --out "$OUT/runs/$s" --jobs "$JOBS" || status=1
done
for s in $SWEEPS; do
  echo "== report $s"
  base=sgp; [ "$s" = thesis ] && base=dpsgd; [ "$s" = lowprec8 ] && base=lp8-iid-choco-dense
  "$BIN" report "$OUT/runs/$s" --out "$OUT/$s" --baseline "$base" --title "reproduce-quick: $s" || status=1
done
echo "== claims"
"$PY" "$HERE/claims.py" "$OUT" "$(( $(date +%s) - start ))" || status=1
echo "report: $OUT/REPORT.md"
exit $status
