#!/bin/bash
# `meshtrain report`: two tiny runs (dense SGP, Sparse-Push) plus a FAILED and an unfinished folder
# give REPORT.md, valid PNG and SVG figures and a reduction factor > 1; bad input is refused (2); a
# missing or failing gnuplot is status 1 and leaves no half report. About 15 s.
# Usage: tests/report.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-report-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {   # expect STATUS TEXT CMD...: exit status and a piece of its output
  local want=$1 text=$2; shift 2
  "$@" > "$tmp/out" 2>&1
  local got=$?
  if [ "$got" = "$want" ] && grep -qF -- "$text" "$tmp/out"; then ok "status $want, '$text': ${*:2}"
  else bad "expected status $want and '$text' from: $* (status $got):"; sed 's/^/    /' "$tmp/out" | head -20; fi
}
if ! command -v gnuplot > /dev/null; then
  echo "tests/report.sh: gnuplot is missing; install it with: apt-get install -y gnuplot-nox (or tools/deps.sh plots)"
  exit 1
fi

# Two finished runs, a FAILED one and one that never finished, in the runs/<name>/<stamp> layout.
cat > "$tmp/s.json" <<'JSON'
{"name": "rep-sgp", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 2,
 "limit_train": 2048, "limit_test": 512, "algorithm": {"name": "sgp"},
 "topology": {"kind": "exponential"}, "network": {"backend": "none"}, "eval": {"every_epochs": 0.5}}
JSON
runs=$tmp/runs
mkdir -p "$runs/rep-sgp" "$runs/rep-sp" "$runs/rep-dead/1" "$runs/rep-busy/1"
"$BIN" run "$tmp/s.json" --out "$runs/rep-sgp/1" > "$tmp/run1.out" 2>&1 || { bad "the dense run failed"; cat "$tmp/run1.out"; }
"$BIN" run "$tmp/s.json" --set name=rep-sp --set algorithm.name=sparse-push --set algorithm.compression.keep=0.01 \
  --out "$runs/rep-sp/1" > "$tmp/run2.out" 2>&1 || { bad "the sparse-push run failed"; cat "$tmp/run2.out"; }
cp "$runs/rep-sgp/1/scenario.json" "$runs/rep-dead/1/"
echo '{"status": "failed", "reason": "agent 2 died: killed by signal 9 (test)"}' > "$runs/rep-dead/1/FAILED"
cp "$runs/rep-sgp/1/scenario.json" "$runs/rep-busy/1/"

# 1. The report: every file, valid PNGs, both runs, a reduction > 1, the failed run listed as failed.
out=$tmp/report
if "$BIN" report "$runs" --out "$out" --baseline rep-sgp --title "report test" --json > "$tmp/rep.out" 2> "$tmp/rep.err"; then
  ok "report over $runs"
else
  bad "report failed:"; cat "$tmp/rep.out" "$tmp/rep.err"
fi
for f in REPORT.md figures.gp accuracy-epoch.{png,svg} accuracy-mb.{png,svg} accuracy-time.{png,svg} energy.{png,svg}; do
  [ -s "$out/$f" ] && ok "$f written" || bad "$f missing or empty"
done
for f in "$out"/*.png; do
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok "$(basename "$f") is a PNG" || bad "$f is not a PNG"
done
for f in "$out"/*.svg; do grep -q '</svg>' "$f" && ok "$(basename "$f") is a whole SVG" || bad "$f is not a whole SVG"; done
ls -a "$out" | grep -q '^\.report-tmp' && bad "a staging folder was left in $out" || ok "no staging folder left"
grep -q '^| rep-sgp | sgp |.*| baseline |' "$out/REPORT.md" && ok "REPORT.md: the dense run is the baseline" ||
  bad "REPORT.md lacks the dense run as baseline"
factor=$(grep '^| rep-sp | sparse-push top-k 1%' "$out/REPORT.md" | grep -o '[0-9.]*×' | tr -d '×')
if [ -n "$factor" ] && awk -v f="$factor" 'BEGIN { exit !(f > 1) }'; then ok "REPORT.md: sparse-push sends ${factor}x less"
else bad "REPORT.md: no reduction factor > 1 for sparse-push (got '$factor')"; fi
grep -q "rep-dead.*| \*\*FAILED\*\* | agent 2 died" "$out/REPORT.md" && ok "REPORT.md lists the FAILED run as failed" ||
  bad "REPORT.md does not list the FAILED run as failed"
grep -q "rep-busy.*| unfinished |" "$out/REPORT.md" && ok "REPORT.md lists the unfinished run" || bad "the unfinished run is not listed"
grep -q "failed .*rep-dead" "$tmp/rep.err" && ok "the failed run is named on the terminal" || bad "the failed run is not named"
grep -q 'rep-dead' "$out/figures.gp" && bad "the FAILED run was plotted" || ok "the FAILED run is not plotted"
grep -q "every run was made by meshtrain \`$(grep -o '"git": "[^"]*"' "$runs/rep-sp/1/summary.json" | cut -d'"' -f4)\`" "$out/REPORT.md" &&
  ok "REPORT.md names the code version" || bad "REPORT.md does not name the code version"
if tail -1 "$tmp/rep.out" | python3 -c '
import json, sys
o = json.load(sys.stdin)
r = {x["scenario"]: x for x in o["runs"]}
assert r["rep-sp"]["comm_reduction"] > 1, r["rep-sp"]
assert r["rep-sgp"]["comm_reduction"] == 1
assert r["rep-sgp"]["status"] == "finished" and r["rep-sp"]["status"] == "finished"
assert sum(x["status"] == "failed" for x in o["runs"]) == 1 and sum(x["status"] == "unfinished" for x in o["runs"]) == 1
assert len(o["figures"]) == 4'; then ok "--json: runs, statuses, reduction, figures"; else bad "--json result"; tail -1 "$tmp/rep.out"; fi

# 2. Cumulative bytes at the last evaluation = the summary's bytes_wire (the last evaluation is at the end).
last=$(grep -A7 "rep-sp/1: " "$out/figures.gp" | grep '^2 ' | awk '{print $4}')
wire=$(grep -o '"bytes_wire": [0-9]*' "$runs/rep-sp/1/summary.json" | head -1 | awk '{print $2}')
awk -v a="$last" -v b="$wire" 'BEGIN { d = a * 1e6 - b; exit !(a != "" && d < 0.001 * b && d > -0.001 * b) }' &&
  ok "cumulative MB at the end ($last) = bytes_wire ($wire)" || bad "cumulative MB at the end ($last) != bytes_wire ($wire)"

# 3. gnuplot missing: status 1 with the install line; gnuplot failing: status 1, the old report intact.
expect 1 "apt-get install -y gnuplot-nox" env PATH=/nonexistent "$BIN" report "$runs" --out "$tmp/none"
[ -e "$tmp/none/REPORT.md" ] && bad "a report was written without gnuplot" || ok "nothing written without gnuplot"
mkdir -p "$tmp/fakebin"
printf '#!/bin/sh\necho "fake gnuplot: cannot plot" >&2\nexit 1\n' > "$tmp/fakebin/gnuplot"
chmod +x "$tmp/fakebin/gnuplot"
cp "$out/REPORT.md" "$tmp/REPORT.before"
expect 1 "fake gnuplot: cannot plot" env PATH="$tmp/fakebin:$PATH" "$BIN" report "$runs" --out "$out" --baseline rep-sgp
cmp -s "$out/REPORT.md" "$tmp/REPORT.before" && ok "a failing gnuplot leaves the previous report as it was" ||
  bad "a failing gnuplot changed the previous report"
ls -a "$out" | grep -q '^\.report-tmp' && bad "a failed report left its staging folder" || ok "no staging folder after a failure"

# 4. Bad input: status 2, naming the file or the flag.
expect 2 "No such file or directory" "$BIN" report "$tmp/missing" --out "$tmp/x"
expect 2 "no run folder" "$BIN" report "$tmp/fakebin" --out "$tmp/x"
expect 2 "unknown flag '--colour'" "$BIN" report "$runs" --colour
expect 2 "expected at least one RUN_DIR" "$BIN" report --out "$tmp/x"
expect 2 "--baseline 'allreduce'" "$BIN" report "$runs" --out "$tmp/x" --baseline allreduce
expect 2 "nothing to report" "$BIN" report "$runs/rep-dead" "$runs/rep-busy" --out "$tmp/x"
cp -r "$runs/rep-sp/1" "$tmp/broken"
echo '{"scenario": "rep-sp", "acc_mean": 0.5' > "$tmp/broken/summary.json"
expect 2 "$tmp/broken/summary.json:" "$BIN" report "$tmp/broken" --out "$tmp/x"
printf '{"scenario": "rep-sp", "acc_mean": 0.5}\n' > "$tmp/broken/summary.json"
expect 2 "summary.json: expected a number at \"acc_worst\"" "$BIN" report "$tmp/broken" --out "$tmp/x"
cp "$runs/rep-sp/1/summary.json" "$tmp/broken/summary.json"
echo '{"eval": 9, "epoch": ' >> "$tmp/broken/evals.jsonl"
expect 2 "evals.jsonl:5:" "$BIN" report "$tmp/broken" --out "$tmp/x"
[ -e "$tmp/x" ] && bad "bad input created --out" || ok "bad input creates nothing"
expect 0 "usage: meshtrain report" "$BIN" report --help

echo "report tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
