#!/bin/bash
# The regression check on communication reduction (meshtrain check, docs/regression.md): two small real
# runs (sgp, and sparse-push keeping 1% against it), a baseline written from them; the check passes on
# the same runs, fails naming the metric when a reference demands more than the code delivers, fails on a
# FAILED run, and refuses bad input (malformed or missing reference, missing folder) with status 2.
# Usage: tests/check.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-check-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN NAME -- ARGS...: run, check the exit status and that stdout+stderr match PATTERN.
expect() {
  local want=$1 pat=$2 what=$3; shift 3
  local out got
  out=$("$@" 2>&1); got=$?
  if [ "$got" != "$want" ]; then bad "$what: status $got, expected $want"; echo "$out" | tail -12 | sed 's/^/    /'; return; fi
  if ! printf '%s' "$out" | grep -q -- "$pat"; then bad "$what: output lacks '$pat'"; echo "$out" | tail -12 | sed 's/^/    /'; return; fi
  if printf '%s' "$out" | grep -q -i 'sanitizer\|segmentation\|core dumped'; then bad "$what: crashed"; return; fi
  ok "$what"
}

# doctor FILE KEY FACTOR ADD: every "KEY": number line of a reference becomes number * FACTOR + ADD.
doctor() {
  awk -v k="\"$2\":" -v f="$3" -v a="$4" '$1 == k { v = $2; c = (v ~ /,$/) ? "," : ""; sub(/,$/, "", v);
    printf "%s%s %.10g%s\n", substr($0, 1, index($0, k) - 1), k, v * f + a, c; next } { print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

scenario() {   # scenario NAME ALGORITHM-OBJECT [extra members]
  cat > "$tmp/$1.json" <<JSON
{"name": "$1", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 1,
 "limit_train": 2048, "limit_test": 256, "algorithm": $2, "network": {"backend": "none"}${3:-}}
JSON
}

# 1. Two real runs: dense sgp, and sparse-push (top-k 1%) naming the sgp run folder as its baseline.
scenario check-sgp '{"name": "sgp"}'
scenario check-sparse-push '{"name": "sparse-push", "compression": {"kind": "topk", "keep": 0.01}}' ", \"baseline\": \"$tmp/sgp\""
if ! "$BIN" run "$tmp/check-sgp.json" --out "$tmp/sgp" > "$tmp/sgp.out" 2>&1; then
  bad "sgp run failed: $(tail -3 "$tmp/sgp.out")"; echo "check tests: $pass passed, $((fail)) failed"; exit 1
fi
if ! "$BIN" run "$tmp/check-sparse-push.json" --out "$tmp/sp" > "$tmp/sp.out" 2>&1; then
  bad "sparse-push run failed: $(tail -3 "$tmp/sp.out")"; echo "check tests: $pass passed, $((fail)) failed"; exit 1
fi
grep -q '"comm_reduction": [0-9]' "$tmp/sp/summary.json" && ok "the sparse-push run records comm_reduction against the sgp run" ||
  bad "the sparse-push summary has no comm_reduction: $(grep -A1 baseline "$tmp/sp/summary.json")"

# 2. A baseline written from them: one file per scenario, the reduction measured against the sgp run.
B=$tmp/baseline
expect 0 "wrote .*check-sparse-push.json" "--write-baseline writes the references" "$BIN" check --write-baseline "$B" "$tmp/sgp" "$tmp/sp"
[ -f "$B/check-sgp.json" ] && grep -q '"baseline_scenario": "check-sgp"' "$B/check-sparse-push.json" &&
  grep -q '"comm_reduction": [0-9]' "$B/check-sparse-push.json" && ! grep -q '"comm_reduction"' "$B/check-sgp.json" &&
  ! ls "$B" | grep -q tmp && ok "reference files: sgp without a reduction, sparse-push with one against check-sgp, no temp files left" ||
  bad "reference files: $(ls "$B"; cat "$B/check-sparse-push.json" 2>/dev/null | head -30)"

# 3. The same runs pass; the reduction alone (from summary.json) passes too; --json gives one object.
expect 0 "pass: 2 runs, 7 checks" "check passes on the runs the baseline came from" "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$B"
expect 0 "bytes_wire of .*sgp / this run's" "with both runs given, the reduction is their bytes ratio" "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$B"
expect 0 "comm_reduction of summary.json" "with the sparse run alone, the reduction comes from its summary" "$BIN" check "$tmp/sp" --baseline "$B"
out=$("$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$B" --json 2>/dev/null | tail -1)
case "$out" in
  '{"status":"pass","exit":0,'*'"metric":"comm_reduction"'*'"verdict":"pass"'*) ok "--json: one object, status pass, a row per metric" ;;
  *) bad "--json output: $out" ;;
esac

# 4. Doctored references demand more than the code delivers: status 1 and the metric named.
cp -r "$B" "$tmp/more-reduction"; doctor "$tmp/more-reduction/check-sparse-push.json" comm_reduction 2 0
expect 1 "REGRESSION: .*check-sparse-push comm_reduction" "reduction x2 in the reference: regression named" \
  "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$tmp/more-reduction"
cp -r "$B" "$tmp/more-acc"; doctor "$tmp/more-acc/check-sgp.json" acc_mean 1 0.20
expect 1 "REGRESSION: 1 of 7 checks failed .*check-sgp acc_mean" "accuracy +20 points in the reference: regression named" \
  "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$tmp/more-acc"
cp -r "$B" "$tmp/fewer-bytes"; doctor "$tmp/fewer-bytes/check-sparse-push.json" bytes_wire 0.5 0
expect 1 "check-sparse-push bytes_wire" "half the bytes in the reference: regression named" \
  "$BIN" check "$tmp/sp" --baseline "$tmp/fewer-bytes"
# A tolerance set in the reference file is used: +20 points with a 25-point tolerance passes.
doctor "$tmp/more-acc/check-sgp.json" acc_mean_points 0 25
expect 0 "pass: 2 runs" "a tolerance overridden in the reference file is honoured" "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$tmp/more-acc"
# Rewriting a reference keeps its hand-set tolerances.
expect 0 "wrote" "rewriting a reference" "$BIN" check --write-baseline "$tmp/more-acc" "$tmp/sgp"
grep -q '"acc_mean_points": 25' "$tmp/more-acc/check-sgp.json" && ok "the rewrite kept the hand-set tolerance" ||
  bad "the rewrite lost the tolerance: $(grep -A5 tolerances "$tmp/more-acc/check-sgp.json")"

# 5. A run that did not finish fails the check (status 1), it never passes.
mkdir "$tmp/failed"; cp "$tmp/sgp/scenario.json" "$tmp/failed/"
echo '{"status": "failed", "reason": "agent 2 died: killed by signal 9"}' > "$tmp/failed/FAILED"
expect 1 "FAILED: agent 2 died" "a FAILED run fails the check" "$BIN" check "$tmp/failed" --baseline "$B"
expect 2 "finished runs only" "no reference is written from a FAILED run" "$BIN" check --write-baseline "$tmp/none" "$tmp/sgp" "$tmp/failed"
[ ! -e "$tmp/none" ] && ok "nothing written when one input is bad" || bad "a refused --write-baseline left $(ls -R "$tmp/none")"

# 6. Bad input: status 2, naming the file and what was expected.
cp -r "$B" "$tmp/malformed"; head -c 200 "$B/check-sparse-push.json" > "$tmp/malformed/check-sparse-push.json"
expect 2 "malformed/check-sparse-push.json:.*not valid JSON.*expected a reference" "a malformed reference: status 2, file named" \
  "$BIN" check "$tmp/sgp" "$tmp/sp" --baseline "$tmp/malformed"
cp -r "$B" "$tmp/wrongtype"; sed -i 's/"bytes_wire": [0-9]*/"bytes_wire": "many"/' "$tmp/wrongtype/check-sgp.json"
expect 2 "check-sgp.json: seeds.1.bytes_wire: expected a number" "a reference value of the wrong type: status 2, key named" \
  "$BIN" check "$tmp/sgp" --baseline "$tmp/wrongtype"
mkdir "$tmp/empty"
expect 2 "no reference for scenario 'check-sgp'" "no matching reference: status 2" "$BIN" check "$tmp/sgp" --baseline "$tmp/empty"
expect 2 "nosuch: No such file" "a missing run folder: status 2" "$BIN" check "$tmp/nosuch" --baseline "$B"
expect 2 "no such folder" "a missing baseline folder: status 2" "$BIN" check "$tmp/sgp" --baseline "$tmp/nobaseline"
cp -r "$B" "$tmp/other"; sed -i 's/"limit_train": 2048/"limit_train": 4096/' "$tmp/other/check-sgp.json"
expect 2 "other settings .*fingerprint.limit_train: reference 4096, run 2048" "a run with other settings than its reference: status 2" \
  "$BIN" check "$tmp/sgp" --baseline "$tmp/other"
expect 2 "missing --baseline" "no --baseline: usage error" "$BIN" check "$tmp/sgp"
expect 2 "unknown flag '--frob'" "unknown flag: usage error" "$BIN" check "$tmp/sgp" --baseline "$B" --frob
expect 0 "usage: meshtrain check" "--help" "$BIN" check --help

echo "check tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
