#!/bin/bash
# Runtime tests: real agent processes over loopback TCP. A run finishes with its files; a killed,
# hung or interrupted agent, or a killed runner, stops everything, names the cause, and leaves no
# process behind; bad scenarios are refused before anything is created.
# Usage: tests/runtime.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-rt-XXXXXX)
started=()   # the runners this script started in the background
# PID and its descendants, parents first.
tree_of() { echo "$1"; local c; for c in $(pgrep -P "$1"); do tree_of "$c"; done; }
# End a runner this script started and its agents, by pid and nothing else: only while it is still
# this shell's child (a reaped runner's pid may belong to someone else by now); stopped first, so
# that no child appears between listing the tree and killing it.
kill_runner() {
  [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ] || return 0
  kill -STOP $(tree_of "$1") 2>/dev/null
  kill -KILL $(tree_of "$1") 2>/dev/null
}
start_runner() {   # start_runner SCENARIO OUT: run $tmp/SCENARIO.json into $tmp/OUT in the background; sets runner
  "$BIN" run "$tmp/$1.json" --out "$tmp/$2" > "$tmp/$2.out" 2>&1 & runner=$!
  started+=("$runner")
}
# Agents that outlived their runner (a failed test 5) are no one's children any more: they are found
# by this run's own folder (mktemp: no other process names it) among this user's processes.
kill_orphans() { local p; for p in $(pgrep -u "$(id -u)" -f "agent --scenario $tmp/"); do kill -KILL "$p"; done; }
cleanup() { local p; for p in "${started[@]}"; do kill_runner "$p"; done; kill_orphans 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

scenario() {   # scenario NAME ALGORITHM EPOCHS [extra JSON members] [network object]
  local net='{"backend": "none"}'
  [ -n "${5:-}" ] && net=$5
  cat > "$tmp/$1.json" <<JSON
{"name": "$1", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": $3,
 "limit_train": 4096, "limit_test": 512, "algorithm": {"name": "$2"},
 "topology": {"kind": "exponential"}, "network": $net${4:-}}
JSON
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
agents_of() { pgrep -u "$(id -u)" -f "agent --scenario $1/scenario.json" | wc -l; }   # counts, never kills
agent_of() { pgrep -P "$1" -f "agent --scenario .* --id $2 " | head -1; }   # agent_of RUNNER ID: its pid
wait_agents() {   # wait until 4 agents of run dir $1 exist (at most 10 s)
  for _ in $(seq 100); do [ "$(agents_of "$1")" -ge 4 ] && return 0; sleep 0.1; done; return 1
}
no_leftovers() {  # no agent of run dir $1 may remain (give the kernel 1 s)
  for _ in $(seq 20); do [ "$(agents_of "$1")" -eq 0 ] && return 0; sleep 0.05; done; return 1
}

# 1. A short run finishes with every file, and the summary holds the documented keys.
scenario quick sgp 1
if "$BIN" run "$tmp/quick.json" --out "$tmp/quick" --json > "$tmp/quick.out" 2>&1; then
  py=$(command -v python3 || echo /usr/bin/python3)
  if "$py" - "$tmp/quick" <<'PY'
import json, sys, os
d = sys.argv[1]
s = json.load(open(os.path.join(d, "summary.json")))
need = ["scenario", "backend", "agents", "epochs", "seconds", "acc_mean", "acc_worst", "acc_avg_model",
        "bytes_payload", "bytes_wire", "messages", "energy_j"]
missing = [k for k in need if k not in s]
assert not missing, missing
assert all(k in s["energy_j"] for k in ("compute", "comm", "total"))
assert s["bytes_wire"] > s["bytes_payload"] > 0
for i in range(4):
    lines = [json.loads(l) for l in open(os.path.join(d, f"agent-{i}.jsonl"))]
    assert any(l["type"] == "round" for l in lines) and lines[-1]["type"] == "done"
assert os.path.exists(os.path.join(d, "scenario.json")) and not os.path.exists(os.path.join(d, "FAILED"))
PY
  then ok "a run finishes with summary.json, scenario.json and per-agent metrics"; else bad "run files incomplete"; fi
else bad "short run failed: $(tail -3 "$tmp/quick.out")"; fi
no_leftovers "$tmp/quick" && ok "no process left after a run" || bad "processes left after a run"

# 1b. A batchnorm model (its running statistics travel with each evaluation), evaluated every half
# epoch: every evaluation index gets exactly one row, and the rows are in epoch order.
scenario bn sgp 2 ', "norm": "batchnorm", "eval": {"every_epochs": 0.5}'
if "$BIN" run "$tmp/bn.json" --out "$tmp/bn" > "$tmp/bn.out" 2>&1; then
  rows=$(wc -l < "$tmp/bn/evals.jsonl")
  epochs=$(grep -o '"epoch":[0-9.]*' "$tmp/bn/evals.jsonl" | cut -d: -f2 | tr '\n' ' ')
  [ "$rows" -eq 4 ] && [ "$epochs" = "0.5 1.0 1.5 2.0 " ] && ok "batchnorm run: 4 evaluations at epochs $epochs" ||
    bad "batchnorm run: $rows evaluation rows at epochs '$epochs' (expected 0.5 1.0 1.5 2.0)"
else bad "batchnorm run failed: $(tail -3 "$tmp/bn.out")"; fi

# 2. An agent killed mid-run: the runner names it and the signal within about a second.
scenario long sgp 50
start_runner long kill
if wait_agents "$tmp/kill"; then
  sleep 0.5
  victim=$(agent_of "$runner" 2)
  t0=$(now_ms); kill -KILL "$victim"; wait $runner; st=$?; t1=$(now_ms)
  took=$((t1 - t0))
  if [ $st -eq 1 ] && grep -q "agent 2 .*signal 9" "$tmp/kill/FAILED" && [ ! -e "$tmp/kill/summary.json" ]; then
    ok "killed agent: status 1, FAILED names agent 2 and signal 9, no summary (${took} ms)"
  else bad "killed agent: status $st, FAILED: $(cat "$tmp/kill/FAILED" 2>/dev/null)"; fi
  [ "$took" -lt 2500 ] && ok "runner noticed the death within 2.5 s" || bad "runner took ${took} ms"
  no_leftovers "$tmp/kill" && ok "no process left after a killed agent" || bad "processes left after a killed agent"
else bad "agents never started"; kill_runner "$runner"; fi

# 3. A hung agent (SIGSTOP): declared hung after hang_timeout_s, and even a stopped process is removed.
scenario hang sgp 50 ', "hang_timeout_s": 1'
start_runner hang hang
if wait_agents "$tmp/hang"; then
  sleep 0.5
  victim=$(agent_of "$runner" 1)
  kill -STOP "$victim"; wait $runner; st=$?
  if [ $st -eq 1 ] && grep -q "hung" "$tmp/hang/FAILED"; then ok "hung agent detected: $(grep reason "$tmp/hang/FAILED" | cut -c1-90)"
  else bad "hung agent: status $st, FAILED: $(cat "$tmp/hang/FAILED" 2>/dev/null)"; fi
  no_leftovers "$tmp/hang" && ok "no process left after a hang" || bad "processes left after a hang"
else bad "agents never started"; kill_runner "$runner"; fi

# 4. Ctrl-C (SIGINT to the runner): everything stops, the run is marked interrupted.
start_runner long int
if wait_agents "$tmp/int"; then
  sleep 0.3; kill -INT $runner; wait $runner; st=$?
  [ $st -eq 1 ] && grep -q "interrupted" "$tmp/int/FAILED" && ok "Ctrl-C: status 1, marked interrupted" || bad "Ctrl-C: status $st"
  no_leftovers "$tmp/int" && ok "no process left after Ctrl-C" || bad "processes left after Ctrl-C"
else bad "agents never started"; kill_runner "$runner"; fi

# 5. SIGKILL of the runner: the agents die with it (parent-death signal).
start_runner long rk
if wait_agents "$tmp/rk"; then
  kill -KILL $runner; wait $runner 2>/dev/null
  no_leftovers "$tmp/rk" && ok "no process left after SIGKILL of the runner" || bad "agents outlived a killed runner"
else bad "agents never started"; kill_runner "$runner"; fi

# 6. Message drops: the run completes and the agents count the missing messages.
scenario drops sgp 1 '' '{"backend": "none", "drop_prob": 0.2}'
if "$BIN" run "$tmp/drops.json" --out "$tmp/drops" > "$tmp/drops.out" 2>&1 &&
   grep -q '"missing_messages": [1-9]' "$tmp/drops/summary.json"; then ok "drop_prob 0.2: completes, $(grep -o '"missing_messages": [0-9]*' "$tmp/drops/summary.json")"
else bad "drop run: $(tail -2 "$tmp/drops.out")"; fi

# 7. Bad scenarios: status 2, the message names the JSON path, nothing is created.
check_bad() {  # check_bad PATTERN JSON-TEXT
  echo "$2" > "$tmp/bad.json"; rm -rf "$tmp/badrun"
  out=$("$BIN" run "$tmp/bad.json" --out "$tmp/badrun" 2>&1); st=$?
  if [ $st -eq 2 ] && echo "$out" | grep -q -- "$1" && [ ! -e "$tmp/badrun" ]; then ok "refused: $1"
  else bad "bad scenario '$1': status $st, $out"; fi
}
check_bad "algorithm.name: unknown value 'sgd'" '{"name":"b","algorithm":{"name":"sgd"}}'
check_bad "agents: 0 is out of range" '{"name":"b","agents":0}'
check_bad "optimizer.lrate: unknown key" '{"name":"b","optimizer":{"lrate":0.1}}'
check_bad "algorithm.compression.keep: 2 is out of range" '{"name":"b","algorithm":{"name":"sparse-push","compression":{"keep":2}}}'
check_bad "topology.directed" '{"name":"b","algorithm":{"name":"dpsgd"},"topology":{"kind":"ring","directed":true}}'
check_bad "not valid JSON" '{"name":"b",'
check_bad "name: missing" '{"agents":4}'
check_bad "network.backend: unknown value 'netem'" '{"name":"b","network":{"backend":"netem"}}'
check_bad "network.default_link.delay_ms: -5 is out of range" '{"name":"b","network":{"default_link":{"delay_ms":-5}}}'
check_bad "network.links\[0\].loss_pct: 150 is out of range" '{"name":"b","network":{"links":[{"from":0,"to":1,"loss_pct":150}]}}'
check_bad "network.default_link.rate_mbit: 0 is out of range (expected > 0" '{"name":"b","network":{"default_link":{"rate_mbit":0}}}'
check_bad "network.links\[0\].to: agent 9 does not exist" '{"name":"b","agents":4,"network":{"links":[{"from":0,"to":9,"delay_ms":5}]}}'
check_bad "network.schedule\[0\].at_s: 100 is out of range" '{"name":"b","network":{"duration_s":60,"schedule":[{"at_s":100,"from":0,"to":1,"delay_ms":5}]}}'
check_bad "network.links\[0\]: unknown key 'delay'" '{"name":"b","network":{"links":[{"from":0,"to":1,"delay":5}]}}'
check_bad "network.backend: \"none\" shapes nothing" '{"name":"b","network":{"backend":"none","default_link":{"delay_ms":5}}}'
check_bad "network.mobility.nodes" '{"name":"b","agents":4,"network":{"mobility":{"nodes":[{"pos":[0,0]}]}}}'

# 8. Sweeps: one run per entry and seed, a baseline from the same sweep, resume skips finished runs
# and reruns an interrupted one, and a bad entry is refused (naming it) before anything runs.
cat > "$tmp/sweep.json" <<'JSON'
{"name": "sw", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "limit_train": 1024,
 "limit_test": 256, "algorithm": {"name": "sgp"}, "network": {"backend": "none"}, "seeds": [1, 2],
 "sweep": [{"name": "sw-sgp"},
           {"name": "sw-sp", "algorithm": {"name": "sparse-push", "compression": {"keep": 0.01}}, "baseline": "sw-sgp"}]}
JSON
if "$BIN" run "$tmp/sweep.json" --out "$tmp/sweep" > "$tmp/sweep.out" 2>&1 && [ "$(ls "$tmp"/sweep/*/summary.json | wc -l)" -eq 4 ] &&
   grep -q '"comm_reduction"' "$tmp/sweep/sw-sp-seed2/summary.json"; then ok "sweep: 2 entries x 2 seeds, reduction against the sweep's own baseline"
else bad "sweep: $(tail -3 "$tmp/sweep.out")"; fi
rm "$tmp/sweep/sw-sp-seed1/summary.json"; echo '{"status":"failed"}' > "$tmp/sweep/sw-sp-seed1/FAILED"
if "$BIN" run "$tmp/sweep.json" --out "$tmp/sweep" > "$tmp/sweep2.out" 2>&1 && grep -q "3 finished already" "$tmp/sweep2.out" &&
   [ -f "$tmp/sweep/sw-sp-seed1/summary.json" ] && [ ! -f "$tmp/sweep/sw-sp-seed1/FAILED" ]; then ok "sweep resumed: 3 skipped, the unfinished run redone"
else bad "sweep resume: $(head -3 "$tmp/sweep2.out")"; fi
if "$BIN" run "$tmp/sweep.json" --out "$tmp/sweepj" --jobs 2 > "$tmp/sweepj.out" 2>&1 && [ "$(ls "$tmp"/sweepj/*/summary.json | wc -l)" -eq 4 ] &&
   grep -q '"comm_reduction"' "$tmp/sweepj/sw-sp-seed1/summary.json" && grep -q '"comm_reduction"' "$tmp/sweepj/sw-sp-seed2/summary.json"; then
  ok "sweep --jobs 2: 4 runs, each compressed run started after its baseline"
else bad "sweep --jobs 2: $(tail -3 "$tmp/sweepj.out")"; fi
sed 's/"sparse-push"/"sparse-pull"/' "$tmp/sweep.json" > "$tmp/badsweep.json"
out=$("$BIN" run "$tmp/badsweep.json" --out "$tmp/badsweep" 2>&1); st=$?
[ $st -eq 2 ] && echo "$out" | grep -q "sweep\[1\]: algorithm.name: unknown value 'sparse-pull'" && [ ! -e "$tmp/badsweep" ] &&
  ok "bad sweep entry refused: $out" || bad "bad sweep entry: status $st, $out"

echo "runtime: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
