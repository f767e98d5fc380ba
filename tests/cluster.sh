#!/bin/bash
# Launchers end to end, no cluster needed: the same scenario run natively, with `--launcher mpi`
# (mpirun --oversubscribe) and with `--launcher slurm` in a one-node Slurm cluster this script starts
# (munge, slurmctld, slurmd from Debian, configured in a scratch folder: proctrack/linuxproc, task/none,
# no cgroups) must give exactly the same accuracy and bytes; the launch key is in no argv and wiped
# from the agents' environment; killing an agent fails the run, named with its host, nothing left.
# Usage: tests/cluster.sh bin/meshtrain
set -u
. "$(dirname "$0")/slurm_scratch.sh"   # slurm_scratch: munge and slurm.conf for a test cluster
BIN=$(realpath "${1:-bin/meshtrain}")
pass=0 fail=0 skip=0
tmp=$(mktemp -d /tmp/meshtrain-cluster-XXXXXX)
chmod 700 "$tmp"
pids=()
slurm_stop() {
  for f in "$tmp"/slurm/slurmd-*.pid "$tmp/slurm/slurmctld.pid" "$tmp/slurm/munged.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  for _ in $(seq 50); do pgrep -f "$tmp/slurm" >/dev/null || break; sleep 0.1; done
}
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  slurm_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }
left() { pgrep -f "$BIN agent" >/dev/null || pgrep -f "(mpirun|srun) .*$BIN" >/dev/null; }
cat > "$tmp/s.json" <<JSON
{"name": "cluster", "agents": 4, "dataset": "fashion-mnist", "model": "lenet5", "epochs": 2, "seeds": [3],
 "limit_train": 4096, "limit_test": 500, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON

# same RUN WHAT: summary.json's accuracy and bytes exactly as the native run's, every agent's metrics here.
same() {
  local d=$1 what=$2 k
  for k in acc_mean acc_worst acc_avg_model consensus_distance bytes_payload bytes_wire messages; do
    [ "$(field "$d/summary.json" "['$k']")" = "$(field "$tmp/native/summary.json" "['$k']")" ] ||
      { bad "$what: $k $(field "$d/summary.json" "['$k']") != native $(field "$tmp/native/summary.json" "['$k']")"; return; }
  done
  for i in 0 1 2 3; do
    [ "$(wc -l < "$d/agent-$i.jsonl")" = "$(wc -l < "$tmp/native/agent-$i.jsonl")" ] ||
      { bad "$what: agent-$i.jsonl has $(wc -l < "$d/agent-$i.jsonl") lines, native $(wc -l < "$tmp/native/agent-$i.jsonl")"; return; }
  done
  grep -q '"event":"launch"' "$d/network.jsonl" || { bad "$what: no launch event in network.jsonl"; return; }
  ok "$what: acc_mean $(field "$d/summary.json" "['acc_mean']"), bytes_payload $(field "$d/summary.json" "['bytes_payload']") as native"
}

export -n SLURM_JOB_ID OMPI_COMM_WORLD_SIZE PMIX_RANK 2>/dev/null
"$BIN" run "$tmp/s.json" --out "$tmp/native" --launcher native > "$tmp/native.out" 2>&1 ||
  { bad "native run failed: $(tail -3 "$tmp/native.out")"; exit 1; }

# 1. mpirun, and the key: in mpirun's environment (same user only), in no argv, gone from the agents'.
"$BIN" run "$tmp/s.json" --out "$tmp/mpi" --launcher mpi --oversubscribe > "$tmp/mpi.out" 2>&1 &
runner=$!
pids+=("$runner")
key="" agents=""
for _ in $(seq 300); do
  agents=$(pgrep -f "$BIN agent --connect" | tr '\n' ' ')
  mp=$(pgrep -f "mpirun .*$BIN agent" | head -1)
  [ -n "$mp" ] && key=$(tr '\0' '\n' < "/proc/$mp/environ" 2>/dev/null | sed -n 's/^MESHTRAIN_LAUNCH_KEY=//p')
  [ -n "$key" ] && [ "$(echo $agents | wc -w)" -ge 4 ] && break
  sleep 0.05
done
sleep 0.5
if [ ${#key} = 64 ]; then
  # Every process's argv, and the agents' own environment (argv[0] this binary, argv[1] "agent").
  seen=$(KEY="$key" BIN="$BIN" python3 - <<'PY'
import os
key, b = os.environ["KEY"].encode(), os.environ["BIN"].encode()
me, out = os.getpid(), []
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        if key in b"\0".join(argv): out.append(f"argv of {p}")
        if argv[0] == b and argv[1:2] == [b"agent"] and key in open(f"/proc/{p}/environ", "rb").read():
            out.append(f"environment of agent {p}")
    except OSError:
        pass
print(", ".join(out))
PY
)
  [ -z "$seen" ] && ok "launch key in no argv, wiped from the agents' environment" || bad "launch key visible: $seen"
else bad "could not read the launch key from mpirun's environment (got '${key:0:8}')"; fi
wait "$runner"
st=$?
if [ $st = 0 ]; then same "$tmp/mpi" "mpi launcher"; else bad "mpi run: status $st: $(tail -3 "$tmp/mpi.out")"; fi
left && bad "mpi run left processes: $(pgrep -af "$BIN agent")"

# mpirun with a hostfile (this host only: other hosts need ssh).
printf 'localhost slots=4\n' > "$tmp/hosts"
if "$BIN" run "$tmp/s.json" --out "$tmp/mpi-hf" --launcher mpi --hostfile "$tmp/hosts" > "$tmp/mpi-hf.out" 2>&1; then
  same "$tmp/mpi-hf" "mpi launcher with --hostfile"
else bad "mpi --hostfile run: $(tail -3 "$tmp/mpi-hf.out")"; fi

# 2. A fault: agent 2 is killed mid-run: FAILED naming it and its host, nothing left anywhere.
sed 's/"epochs": 2/"epochs": 30/' "$tmp/s.json" > "$tmp/long.json"
"$BIN" run "$tmp/long.json" --out "$tmp/kill" --launcher mpi --oversubscribe > "$tmp/kill.out" 2>&1 &
runner=$!
pids+=("$runner")
victim=""
for _ in $(seq 300); do
  for a in $(pgrep -f "$BIN agent --connect"); do
    tr '\0' '\n' < "/proc/$a/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=2" && victim=$a
  done
  [ -n "$victim" ] && grep -q '"type":"round"\|"round"' "$tmp/kill/agent-2.jsonl" 2>/dev/null && break
  sleep 0.1
done
t0=$(date +%s.%N)
[ -n "$victim" ] && kill -KILL "$victim"
wait "$runner"
st=$?
t1=$(date +%s.%N)
reason=$(field "$tmp/kill/FAILED" "['reason']")
if [ -n "$victim" ] && [ $st = 1 ] && printf '%s' "$reason" | grep -qF "host $(hostname) lost agent 2 (1 of its 4 agents; pid $victim) before it finished"; then
  ok "killed agent 2 -> FAILED in $(python3 -c "print(round($t1-$t0,2))") s: $reason"
else bad "killed agent 2 (pid '$victim') -> status $st, reason '$reason'"; fi
sleep 0.5
left && bad "after the fault, left: $(pgrep -af "$BIN agent|mpirun")" || ok "after the fault nothing is left"

# Ctrl-C in the middle of a launched run: FAILED "interrupted", nothing left.
"$BIN" run "$tmp/long.json" --out "$tmp/int" --launcher mpi --oversubscribe > "$tmp/int.out" 2>&1 &
runner=$!
pids+=("$runner")
for _ in $(seq 300); do grep -q '"epoch":1' "$tmp/int/evals.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -INT "$runner"
for _ in $(seq 150); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$runner" 2>/dev/null; then bad "Ctrl-C: the runner still runs 15 s later"
else
  wait "$runner"
  st=$?
  reason=$(field "$tmp/int/FAILED" "['reason']")
  [ $st = 1 ] && [ "$reason" = "interrupted by Ctrl-C (SIGINT)" ] && ! left && ok "Ctrl-C: FAILED, interrupted, nothing left" ||
    bad "Ctrl-C: status $st, reason '$reason', left: $(pgrep -af "$BIN agent")"
fi

# 3. Slurm: a one-node cluster in a scratch folder.
S="$tmp/slurm"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  skip=$((skip + 1)); echo "SKIP: slurm: slurmctld or munged missing (tools/deps.sh cluster)"
else
  slurm_scratch "$S" meshtrain "$(hostname):127.0.0.1:8" || bad "slurm: munged did not start"
  slurmctld -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF"
  for _ in $(seq 300); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.1; done   # up to 30 s on a loaded host
  if ! sinfo -h -o %T 2>/dev/null | grep -q idle; then
    bad "slurm: the one-node cluster did not come up: $(tail -n 3 "$S/slurmd-$(hostname).log" "$S/slurmctld.log" 2>&1)"
  else
    # Inside the allocation the launcher is detected (SLURM_JOB_ID): no --launcher.
    timeout 300 salloc -n 4 "$BIN" run "$tmp/s.json" --out "$tmp/slurm-run" > "$tmp/slurm.out" 2>&1
    st=$?
    grep -q "launcher: slurm (inside Slurm allocation" "$tmp/slurm.out" || bad "slurm: launcher not detected: $(head -3 "$tmp/slurm.out")"
    if [ $st = 0 ]; then same "$tmp/slurm-run" "slurm launcher (srun in a salloc allocation)"
    else bad "slurm run: status $st: $(tail -3 "$tmp/slurm.out")"; fi
    timeout 60 salloc -n 2 "$BIN" run "$tmp/s.json" --out "$tmp/slurm-small" > "$tmp/small.out" 2>&1
    st=$?
    [ $st = 2 ] && grep -q "4 agents but allocation [0-9]* has 2 tasks" "$tmp/small.out" && [ ! -e "$tmp/slurm-small" ] &&
      ok "slurm: 4 agents in a 2-task allocation -> status 2, nothing created" || bad "slurm small allocation: status $st: $(tail -2 "$tmp/small.out")"
  fi
  unset SLURM_CONF
  slurm_stop
  pgrep -f "$S" >/dev/null && bad "slurm daemons left: $(pgrep -af "$S")" || ok "slurm daemons stopped"
fi
left && bad "processes left at the end: $(pgrep -af "$BIN agent")"
echo "cluster: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
