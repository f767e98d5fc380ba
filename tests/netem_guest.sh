#!/bin/bash
# Run by tests/netem.sh inside User-Mode Linux (`meshtrain uml -- tests/netem_guest.sh BIN DIR`), where
# the kernel backend works: after a run, a killed agent, Ctrl-C and SIGKILL of the runner, the guest
# has exactly the namespaces, interfaces, qdiscs and processes it had before. Prints ok:/FAIL: lines.
set -u
BIN=$1 DIR=$2
mkdir -p "$DIR"
fail=0
netns_count() { ls -l /proc/[0-9]*/ns/net 2>/dev/null | sed 's/.*net:\[//' | sort -u | wc -l; }
state() { echo "netns=$(netns_count) links=$(ip -o link | wc -l) qdiscs=$(tc qdisc show | wc -l) agents=$(pgrep -f 'meshtrain agent' | wc -l) tc=$(pgrep -x tc | wc -l)"; }
settled() {   # wait up to 2 s for the state to return to $base
  for _ in $(seq 40); do [ "$(state)" = "$base" ] && return 0; sleep 0.05; done; return 1
}
check() { if settled; then echo "ok: $1 leaves nothing ($base)"; else echo "FAIL: $1 left: $(state), before: $base"; fail=1; fi; }
scen() {   # scen FILE EPOCHS
  cat > "$1" <<JSON
{"name": "guest", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": $2, "limit_train": 2048,
 "limit_test": 256, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"default_link": {"delay_ms": 2, "rate_mbit": 100}}}
JSON
}
tree_of() { echo "$1"; local c; for c in $(pgrep -P "$1"); do tree_of "$c"; done; }
# agent_of RUNNER ID: that agent's pid among the runner's descendants (this guest runs nothing else,
# but a test ends only what it started).
agent_of() {
  local p
  for p in $(tree_of "$1"); do ps -o args= -p "$p" | grep -q "meshtrain agent.* --id $2 " && echo "$p"; done | head -1
}
wait_running() { for _ in $(seq 100); do [ "$(pgrep -f 'meshtrain agent' | wc -l)" -ge 4 ] && grep -q epoch "$1" && return 0; sleep 0.1; done; return 1; }
base=$(state)
scen "$DIR/s1.json" 1
if "$BIN" run "$DIR/s1.json" --out "$DIR/r1" > "$DIR/r1.out" 2>&1 && grep -q '"backend": "uml"' "$DIR/r1/summary.json"; then
  echo "ok: a run with the kernel backend finishes ($(grep -o '"setup_s": [0-9.]*' "$DIR/r1/summary.json"))"
else echo "FAIL: run: $(tail -3 "$DIR/r1.out")"; fail=1; fi
check "a finished run"
scen "$DIR/s2.json" 100
"$BIN" run "$DIR/s2.json" --out "$DIR/r2" > "$DIR/r2.out" 2>&1 & pid=$!
wait_running "$DIR/r2.out"
mid=$(state)
kill -KILL "$(agent_of $pid 2)"; wait $pid; st=$?
[ $st -eq 1 ] && grep -q "killed by signal 9" "$DIR/r2/FAILED" && echo "ok: a killed agent fails the run (while running: $mid)" || { echo "FAIL: killed agent: status $st, reason: $(cat "$DIR/r2/FAILED" 2>/dev/null | tr '\n' ' ')"; fail=1; }
check "a killed agent"
"$BIN" run "$DIR/s2.json" --out "$DIR/r3" > "$DIR/r3.out" 2>&1 & pid=$!
wait_running "$DIR/r3.out"
kill -INT $pid; wait $pid; st=$?
[ $st -eq 1 ] && echo "ok: Ctrl-C stops the run with status 1" || { echo "FAIL: Ctrl-C: status $st"; fail=1; }
check "Ctrl-C"
"$BIN" run "$DIR/s2.json" --out "$DIR/r4" > "$DIR/r4.out" 2>&1 & pid=$!
wait_running "$DIR/r4.out"
kill -KILL $pid; wait $pid 2>/dev/null
check "SIGKILL of the runner"
exit $fail
