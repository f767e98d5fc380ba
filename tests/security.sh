#!/bin/bash
# Security tests with real processes: an intruder races a run's agents at their listening ports
# (connects first, claims every peer id, sends a wrong proof and forged frames; one says hello and
# stays silent; one speaks the old unauthenticated hello). The run must finish with status 0, the
# same accuracy as the same run without the intruder (bit for bit: same seed), and record the
# rejected connections in summary.json, network.jsonl and its last line. The runner is held with
# SIGSTOP while the agents listen and the intruder connects, so the intruder always comes first.
# Usage: tests/security.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
HERE=$(dirname "$(realpath "$0")")
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-sec-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
N=4
cat > "$tmp/s.json" <<JSON
{"name": "sec", "agents": $N, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "seeds": [3],
 "limit_train": 2048, "limit_test": 256, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }

# 1. The reference: no intruder.
"$BIN" run "$tmp/s.json" --out "$tmp/ref" > "$tmp/ref.out" 2>&1 || bad "reference run failed: $(tail -3 "$tmp/ref.out")"
ref_acc=$(field "$tmp/ref/summary.json" '["acc_mean"]')

# 2. The same run with an intruder at every agent's port before the start signal.
setsid "$BIN" run "$tmp/s.json" --out "$tmp/att" > "$tmp/att.out" 2>&1 &
runner=$!
pids+=("$runner")
agent_pids() { pgrep -f "agent --scenario $tmp/att/scenario.json"; }
# The runner runs in slices of 2 ms until every agent exists, then stays stopped: agents set up and listen
# without it, but it alone sends the start signal (once all are ready), so nothing can start meanwhile.
# (Agents map the runner's decoded dataset and are ready within milliseconds: polling is too slow.)
# The check between slices uses builtins only (no fork): a slow check let the runner run on until its
# agents were ready and started (1 run in ~30 on a loaded host). A child counts from its fork, before exec.
children() {   # sets n_kids: the runner's children (the file ends without a newline: read then says 1)
  local t kids
  n_kids=0
  for t in /proc/"$runner"/task/*/children; do
    kids=()
    read -r -a kids < "$t" 2>/dev/null
    n_kids=$((n_kids + ${#kids[@]}))
  done
}
mkfifo "$tmp/never"
exec 7<> "$tmp/never"   # read -t on it waits without forking
kill -STOP "$runner"
for _ in $(seq 5000); do
  children
  [ "$n_kids" -ge $N ] && break
  kill -CONT "$runner"; read -r -t 0.002 -u 7; kill -STOP "$runner"
done
exec 7>&-
targets=""
for _ in $(seq 600); do   # up to 30 s: agents start slowly on a loaded host
  targets=""
  for p in $(agent_pids); do
    id=$(tr '\0' ' ' < "/proc/$p/cmdline" | sed -n 's/.* --id \([0-9]*\).*/\1/p')
    port=$(ss -ltnpH 2>/dev/null | grep "pid=$p," | awk '{print $4}' | head -1)   # ip:port
    [ -n "$port" ] && targets="$targets $port:$id"
  done
  [ "$(echo $targets | wc -w)" -ge $N ] && break
  sleep 0.05
done
if [ "$(echo $targets | wc -w)" -lt $N ]; then
  # Say what each agent was doing (state and kernel wait channel), so a failure here can be explained.
  diag=""
  for p in $(agent_pids); do
    diag="$diag pid $p: $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)/$(cat "/proc/$p/wchan" 2>/dev/null);"
  done
  kill -CONT "$runner"
  bad "the agents never listened while the runner was held (found:$targets; agents:${diag:- none}; runner: $(tail -2 "$tmp/att.out" | tr '\n' ' '))"
else
  mkfifo "$tmp/hold"
  python3 "$HERE/rogue.py" $N $targets < "$tmp/hold" > "$tmp/rogue.out" 2>&1 &
  pids+=("$!")
  exec 9> "$tmp/hold"   # the silent connections stay open until fd 9 closes
  for _ in $(seq 100); do grep -q "connections" "$tmp/rogue.out" && break; sleep 0.05; done
  kill -CONT "$runner"
  wait "$runner"; rc=$?
  exec 9>&-
  grep -q "^rogue: $((N * (N + 1))) connections" "$tmp/rogue.out" && ok "the intruder opened $((N * (N + 1))) connections before the start" \
    || bad "the intruder did not connect first: $(cat "$tmp/rogue.out")"
  [ $rc -eq 0 ] && ok "the attacked run finished with status 0" || bad "the attacked run: status $rc: $(tail -3 "$tmp/att.out")"
  att_acc=$(field "$tmp/att/summary.json" '["acc_mean"]')
  [ -n "$ref_acc" ] && [ "$att_acc" = "$ref_acc" ] && ok "same accuracy with and without the intruder ($att_acc)" \
    || bad "accuracy $att_acc with the intruder, $ref_acc without"
  rej=$(field "$tmp/att/summary.json" '["rejected_connections"]')
  [ "$rej" = "$((N * (N + 1)))" ] && ok "summary.json records $rej rejected connections" || bad "summary.json: rejected_connections '$rej', expected $((N * (N + 1)))"
  nl=$(grep -c '"event":"rejected"' "$tmp/att/network.jsonl" 2>/dev/null)
  [ "${nl:-0}" = "$((N * (N + 1)))" ] && ok "network.jsonl lists each rejection" || bad "network.jsonl: ${nl:-0} rejections listed"
  grep -q 'did not prove' "$tmp/att/network.jsonl" 2>/dev/null && ok "a rejection says why (no proof of the key)" || bad "no rejection says the key was not proven; reasons given: $(grep -o '"why":"[^"]*"' "$tmp/att/network.jsonl" 2>/dev/null | sed 's/agent [0-9]*/agent N/g' | sort | uniq -c | tr '\n' ';')"
  tail -2 "$tmp/att.out" | grep -q "rejected" && ok "the last lines say connections were rejected" || bad "last lines: $(tail -2 "$tmp/att.out")"
  ref_rej=$(field "$tmp/ref/summary.json" '["rejected_connections"]')
  [ "$ref_rej" = "0" ] && ok "the run without the intruder records none" || bad "reference: rejected_connections '$ref_rej'"
fi

# 3. Trustworthy failure reports: an agent killed while a tracer holds its exit (its sockets close at
# once, its death reaches the runner 3 s later, as on a very busy machine) is still named as the
# cause; its peers' "link from agent 2 closed" errors are consequences.
cat > "$tmp/long.json" <<JSON
{"name": "long", "agents": $N, "dataset": "synthetic", "model": "lenet5", "epochs": 30,
 "limit_train": 4096, "limit_test": 256, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
setsid "$BIN" run "$tmp/long.json" --out "$tmp/kill" > "$tmp/kill.out" 2>&1 &
runner=$!
pids+=("$runner")
victim=""
for _ in $(seq 300); do
  victim=$(pgrep -f "agent --scenario $tmp/kill/scenario.json.* --id 2 " | head -1)
  [ -n "$victim" ] && grep -q '"type":"round"' "$tmp/kill/agent-2.jsonl" 2>/dev/null && break
  sleep 0.05
done
if [ -z "$victim" ]; then bad "agent 2 never started"
else
  : > "$tmp/tracer.out"
  python3 - "$victim" > "$tmp/tracer.out" 2>&1 <<'PY' &
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE = 0x4206
if libc.ptrace(PTRACE_SEIZE, int(sys.argv[1]), None, None) != 0:
    print("cannot trace:", ctypes.get_errno()); sys.exit(1)
print("tracing", flush=True)
time.sleep(3)   # the tracer exits without waiting: only then can the runner reap the victim
PY
  tracer=$!
  for _ in $(seq 100); do grep -q tracing "$tmp/tracer.out" && break; sleep 0.02; done
  if grep -q tracing "$tmp/tracer.out"; then
    kill -KILL "$victim"; wait "$runner"; st=$?
    if [ $st -eq 1 ] && grep -q "agent 2 .*signal 9" "$tmp/kill/FAILED"; then ok "a killed agent whose death reaches the runner late is still named"
    else bad "status $st, FAILED: $(cat "$tmp/kill/FAILED" 2>/dev/null)"; fi
  else
    echo "skip: cannot ptrace here ($(cat "$tmp/tracer.out")): the late-death attribution test needs it"
    kill -TERM "$runner"; wait "$runner"
  fi
  wait "$tracer" 2>/dev/null
fi

# 4. A full disk under the run folder: the agent whose metrics cannot be written fails the run and
# says which file and why (not a summary computed from cut files). Needs a small tmpfs (root).
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=20k tmpfs "$tmp/full" 2>/dev/null; then
  "$BIN" run "$tmp/s.json" --set epochs=3 --set metrics_every=1 --out "$tmp/full/r" > "$tmp/full.out" 2>&1; st=$?
  if [ $st -eq 1 ] && grep -q "agent-[0-9].jsonl: cannot write its metrics: No space left on device" "$tmp/full.out"; then
    ok "a full disk fails the run, naming the metrics file and the error"
  else bad "full disk: status $st: $(tail -3 "$tmp/full.out")"; fi
  umount "$tmp/full"
else echo "skip: cannot mount a small tmpfs here (not root): the full-disk test needs it"; fi

echo "security tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
