#!/bin/sh
# `make bench`, harness row: 8 LeNet-5 agents on loopback, D-PSGD on a ring against the same agents computing
# alone (`bench harness`, both in this invocation), with memory per agent; written to results/bench/harness.md.
# Both runs go REPEAT times (default 3), alternating, and each figure is their median: a busy spell of a shared
# host then hits both, and the ranges show how busy it was.
set -eu
BIN=${1:-bin/meshtrain}
OUT=${OUT:-results/bench/harness.md}
AGENTS=${AGENTS:-8}
REPEAT=${REPEAT:-3}
mkdir -p "$(dirname "$OUT")"
json=$("$BIN" bench harness --agents "$AGENTS" --model lenet5 --algorithm dpsgd --topology ring --repeat "$REPEAT" --json | tail -1)
echo "$json" | python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
print("# Harness: %d LeNet-5 agents, %s, loopback (`meshtrain bench harness`)\n" % (o["agents"], o["algorithm"]))
print("| figure | with messages | computing alone | ratio |")
print("|---|--:|--:|--:|")
print("| ms per round | %.2f | %.2f | %.2fx |" % (o["round_ms"], o["round_ms_compute_only"], o["round_ms"] / o["round_ms_compute_only"]))
r, b = o["round_ms_range"], o["round_ms_compute_only_range"]
print("| ms per round, range of %d runs | %.2f .. %.2f | %.2f .. %.2f | |" % (o["repeat"], r[0], r[1], b[0], b[1]))
print("| CPU ms per agent and round | %.2f | %.2f | %.2fx |" % (o["cpu_ms_per_round"], o["cpu_ms_per_round_compute_only"],
      o["cpu_ms_per_round"] / o["cpu_ms_per_round_compute_only"]))
print("\nMemory per agent: PSS %.1f MB (the dataset they share counts once over all), peak RSS %.1f MB." %
      (o["pss_mb_per_agent"], o["rss_peak_mb_per_agent"]))
print("Medians of %d runs of each, alternating. With more agents than cores the CPU row is the steadier figure:" % o["repeat"])
print("a round then takes about agents / cores times the CPU time of an agent per round, plus any idle time.")
print("Targets (issue 15): at most 5 ms per round; at most 35 MB PSS per agent.")
' > "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
cat "$OUT"
