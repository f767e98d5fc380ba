#!/bin/bash
# The SC-Sparse-Push experiment: SGP, Sparse-Push (0.1% top-k) and SC-Sparse-Push on label-skewed
# (skew 0.8) and Dirichlet (alpha 0.1) Fashion-MNIST, 8 agents; a gnuplot figure and a table.
# Usage: analysis/scripts/sc_compensation.sh [OUT_DIR] [--plot-only]   (about 5 minutes on 2 cores; finished
# runs in RUNS (results/runs/sc-sparse-push) are kept and skipped, so an interrupted run resumes)
set -eu
BIN=${BIN:-bin/meshtrain}
OUT=${1:-results/sc-sparse-push}
RUNS=${RUNS:-results/runs/sc-sparse-push}
mkdir -p "$OUT" "$RUNS"
py=$(command -v python3 || echo /usr/bin/python3)
if [ "${2:-}" != "--plot-only" ]; then
  for part in skew dirichlet; do
    for variant in sgp sparse-push sc-sparse-push sc-every-epoch; do
      [ -e "$RUNS/$part-$variant/summary.json" ] && continue   # resume: finished runs are kept
      rm -rf "$RUNS/$part-$variant"
      alg=$variant extra=()
      [ "$variant" != sgp ] && extra=(--set algorithm.compression.keep=0.001 --set algorithm.gamma=0.01)
      if [ "$variant" = sc-every-epoch ]; then
        alg=sc-sparse-push
        extra+=(--set algorithm.compensation.every_epochs=1 --set algorithm.compensation.rounds=10)
      fi
      echo "== $part / $variant"
      "$BIN" run scenarios/fmnist-lenet-8.json --set partition.kind="$part" --set partition.skew=0.8 \
        --set partition.alpha=0.1 --set algorithm.name="$alg" "${extra[@]}" --set name="sc-$part-$variant" \
        --out "$RUNS/$part-$variant"
    done
  done
fi
"$py" - "$OUT" "$RUNS" <<'PY'
import json, os, sys
out, runs = sys.argv[1], sys.argv[2]
rows = []
for part in ("skew", "dirichlet"):
    for alg in ("sgp", "sparse-push", "sc-sparse-push", "sc-every-epoch"):
        s = json.load(open(os.path.join(runs, f"{part}-{alg}", "summary.json")))
        rows.append((part, alg, s["acc_mean"], s["acc_worst"], s["acc_avg_model"], s["bytes_wire"] / 1e6))
short = {"sgp": "SGP", "sparse-push": "SP", "sc-sparse-push": "SC end", "sc-every-epoch": "SC epoch"}
with open(os.path.join(out, "bars.dat"), "w") as f:
    for part, alg, mean, worst, avg, mb in rows:
        f.write(f'"{part[:4]} {short[alg]}" {100*mean:.2f} {100*worst:.2f} {100*avg:.2f} {mb:.3f}\n')
with open(os.path.join(out, "curves.dat"), "w") as f:
    for part, alg, *_ in rows:
        f.write(f'# {part} {alg}\n')
        for line in open(os.path.join(runs, f"{part}-{alg}", "evals.jsonl")):
            e = json.loads(line)
            f.write(f'{e["epoch"]} {100*e["acc_mean"]:.2f}\n')
        f.write('\n\n')
sgp = {p: mb for p, a, m, w, av, mb in rows if a == "sgp"}
with open(os.path.join(out, "table.md"), "w") as f:
    f.write("| partition | algorithm | mean acc % | worst acc % | averaged-model acc % | MB sent | reduction vs SGP |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|\n")
    for part, alg, mean, worst, avg, mb in rows:
        f.write(f"| {part} | {alg} | {100*mean:.2f} | {100*worst:.2f} | {100*avg:.2f} | {mb:.2f} | {sgp[part]/mb:.0f}x |\n")
print(open(os.path.join(out, "table.md")).read())
PY
for term in "pngcairo size 1100,480 font ',10'" "svg size 1100,480 font 'sans,10'"; do
  ext=png; [[ $term == svg* ]] && ext=svg
  gnuplot <<GP
set terminal $term
set output "$OUT/sc-sparse-push.$ext"
set multiplot layout 1,2 title "SC-Sparse-Push on non-IID Fashion-MNIST (LeNet-5, 8 agents, 5 epochs; Sparse-Push keeps 0.1% of entries)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "test accuracy after training (%)"
set yrange [0:100]
set xtics rotate by -30 font ",8"
set bmargin 5
set key below horizontal
set title "final accuracy (bars) and MB sent (labels); SP = Sparse-Push, SC = SC-Sparse-Push"
plot "$OUT/bars.dat" using 2:xtic(1) title "mean over agents", '' using 3 title "worst agent", '' using 4 title "averaged model", \
     '' using (\$0):(\$2+4):(sprintf("%.1f MB", \$5)) with labels notitle font ",8"
unset style
set style data linespoints
unset bmargin
set xtics rotate by 0 font ",9"
set title "mean agent accuracy during training"
set xlabel "epoch"
set ylabel "test accuracy (%)"
set yrange [*:*]
set key bottom right font ",8"
plot "$OUT/curves.dat" index 0 title "skew SGP" lw 2, '' index 1 title "skew Sparse-Push" lw 2, \
     '' index 2 title "skew SC (end)" lw 2, '' index 3 title "skew SC (every epoch)" lw 2, \
     '' index 4 title "Dirichlet SGP" dt 2 lw 2, '' index 5 title "Dirichlet Sparse-Push" dt 2 lw 2, \
     '' index 6 title "Dirichlet SC (end)" dt 2 lw 2, '' index 7 title "Dirichlet SC (every epoch)" dt 2 lw 2
unset multiplot
GP
done
echo "figure: $OUT/sc-sparse-push.png, $OUT/sc-sparse-push.svg; table: $OUT/table.md"
