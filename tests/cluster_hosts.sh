#!/bin/bash
# Two hosts emulated by two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2), each
# with its own host name (UTS namespace) and its own slurmd of a two-node Slurm cluster; the runner on
# the first starts half of the agents on each through srun, the same path as real remote hosts. Checks:
# the run gives the single-host accuracy and bytes; killing the second host's agents, cutting the link
# between the hosts, or stopping the second host's agents, fails the run naming the host and its agents,
# with nothing left on either side; and how long 64 agents over the two hosts take to start (with --big). Needs root.
# Links across the hosts are NOT shaped (docs/cluster.md): backend none.
# Usage: tests/cluster_hosts.sh bin/meshtrain [--big]
set -u
. "$(dirname "$0")/slurm_scratch.sh"   # slurm_scratch: munge and slurm.conf for a test cluster
BIN=$(realpath "${1:-bin/meshtrain}")
BIG=${2:-}
pass=0 fail=0
if [ "$(id -u)" != 0 ] || ! command -v slurmd >/dev/null; then echo "SKIP: cluster hosts: needs root and slurm-wlm"; exit 0; fi
tmp=$(mktemp -d /tmp/meshtrain-hosts-XXXXXX)
chmod 700 "$tmp"
S="$tmp/slurm"
h1=mth1-$$ h2=mth2-$$   # namespace names, unique to this run
in1() { nsenter --net="/run/netns/$h1" "$@"; }
cleanup() {
  for d in slurmd-h1 slurmd-h2 slurmctld munged; do [ -f "$S/$d.pid" ] && kill "$(cat "$S/$d.pid")" 2>/dev/null; done
  sleep 1
  for n in $h1 $h2; do   # anything still in the emulated hosts (a step cut off by the partition test)
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }
left() { pgrep -f "$BIN agent" >/dev/null || pgrep -f "srun .*$BIN" >/dev/null; }

ip netns add $h1 && ip netns add $h2 &&
  ip link add mtv1 netns $h1 type veth peer name mtv2 netns $h2 &&
  ip -n $h1 addr add 10.77.0.1/24 dev mtv1 && ip -n $h2 addr add 10.77.0.2/24 dev mtv2 &&
  ip -n $h1 link set lo up && ip -n $h2 link set lo up && ip -n $h1 link set mtv1 up && ip -n $h2 link set mtv2 up ||
  { echo "FAIL: cannot make the two emulated hosts"; exit 1; }
slurm_scratch "$S" meshtrain2 h1:10.77.0.1:32 h2:10.77.0.2:32 || { echo "FAIL: munged did not start"; exit 1; }
# nsenter, not `ip netns exec`: that one remounts /sys, and slurmd then finds no /sys/fs/cgroup.
in1 unshare --uts sh -c "hostname h1; slurmctld -f '$SLURM_CONF' && slurmd -f '$SLURM_CONF'"
nsenter --net="/run/netns/$h2" unshare --uts sh -c "hostname h2; slurmd -f '$SLURM_CONF'"
for _ in $(seq 300); do [ "$(in1 sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.1; done   # up to 30 s on a loaded host
[ "$(in1 sinfo -h -o %T 2>/dev/null)" = idle ] || { bad "the two-node cluster did not come up: $(tail -n 2 "$S"/slurm*.log)"; exit 1; }

# on_h1 N OUT SCENARIO: the runner on h1, N agents per host.
on_h1() { in1 unshare --uts sh -c "hostname h1; exec timeout 300 salloc -N 2 --ntasks-per-node=$1 '$BIN' run '$3' --out '$2' --rendezvous 10.77.0.1"; }
cat > "$tmp/s.json" <<JSON
{"name": "hosts", "agents": 8, "dataset": "fashion-mnist", "model": "lenet5", "epochs": 2, "seeds": [3],
 "limit_train": 4096, "limit_test": 500, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
"$BIN" run "$tmp/s.json" --out "$tmp/native" --launcher native > "$tmp/native.out" 2>&1 || bad "native run failed"
on_h1 4 "$tmp/two" "$tmp/s.json" > "$tmp/two.out" 2>&1
st=$?
hosts=$(grep -o '"hosts":\[[^]]*\]' "$tmp/two/network.jsonl" 2>/dev/null)
if [ $st != 0 ]; then bad "two hosts: status $st: $(tail -3 "$tmp/two.out")"
elif [ "$hosts" != '"hosts":["h1","h1","h1","h1","h2","h2","h2","h2"]' ]; then bad "two hosts: agents on $hosts"
else
  same=1
  for k in acc_mean acc_worst acc_avg_model bytes_payload bytes_wire messages; do
    [ "$(field "$tmp/two/summary.json" "['$k']")" = "$(field "$tmp/native/summary.json" "['$k']")" ] || { same=0; bad "two hosts: $k differs from one host"; }
  done
  [ $same = 1 ] && ok "two emulated hosts (4 agents each): acc_mean $(field "$tmp/two/summary.json" "['acc_mean']") and bytes as on one host"
fi

# fault_run NAME ACTION: a long run; ACTION at epoch ~2; the run must fail naming h2 and agents 4-7.
sed 's/"epochs": 2/"epochs": 60/' "$tmp/s.json" > "$tmp/long.json"
fault_run() {
  local name=$1 action=$2
  on_h1 4 "$tmp/$name" "$tmp/long.json" > "$tmp/$name.out" 2>&1 &
  local runner=$!
  for _ in $(seq 600); do grep -q '"epoch":2' "$tmp/$name/evals.jsonl" 2>/dev/null && break; sleep 0.1; done
  local t0 t1
  t0=$(date +%s.%N)
  eval "$action"
  for _ in $(seq 300); do [ -e "$tmp/$name/FAILED" ] && break; sleep 0.1; done
  t1=$(date +%s.%N)
  wait $runner
  local reason
  reason=$(field "$tmp/$name/FAILED" "['reason']")
  if printf '%s' "$reason" | grep -q "^host h2 lost agents 4, 5, 6, 7 (all 4 of its 4 agents"; then
    ok "$name: FAILED $(python3 -c "print(round($t1-$t0,1))") s after, named: $reason"
  else bad "$name: reason '$reason' ($(tail -2 "$tmp/$name.out"))"; fi
}
h2_agents() { for p in $(ip netns pids $h2); do tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q "^$BIN agent" && echo $p; done; }
fault_run kill 'kill -KILL $(h2_agents)'
sleep 1
left && bad "after killing h2's agents, left: $(pgrep -af "$BIN agent")" || ok "after killing h2's agents nothing is left"
# A stopped host (SIGSTOP: alive for TCP, but not a heartbeat): lost after 5 s of silence. When it comes
# back, its agents find their runner gone and exit.
fault_run stopped 'stopped=$(h2_agents); kill -STOP $stopped'
grep -q "not even a heartbeat" "$tmp/stopped/FAILED" || bad "stopped host: the reason does not say it was silent"
kill -CONT $stopped 2>/dev/null
for _ in $(seq 100); do left || break; sleep 0.1; done
left && bad "after the stopped host came back, left: $(pgrep -af "$BIN agent|srun")" || ok "after the stopped host came back nothing is left"
# Last: after a partition, Slurm takes a while to count h2 in again.
fault_run partition 'ip -n $h2 link set mtv2 down'
for _ in $(seq 100); do left || break; sleep 0.1; done
left && bad "after the partition, left: $(pgrep -af "$BIN agent|srun")" || ok "after the partition nothing is left on either host"
ip -n $h2 link set mtv2 up

if [ "$BIG" = --big ]; then   # set-up time of 64 agents, 32 per host
  cat > "$tmp/big.json" <<JSON
{"name": "hosts64", "agents": 64, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "seeds": [3],
 "limit_train": 4096, "limit_test": 128, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
  for _ in $(seq 100); do [ -z "$(in1 squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  t0=$(date +%s.%N)
  on_h1 32 "$tmp/big" "$tmp/big.json" > "$tmp/big.out" 2>&1
  st=$?
  ev="$(python3 -c "print(round($(date +%s.%N)-$t0,1))") s in all (load $(cut -d' ' -f1-3 /proc/loadavg)); $(grep -h '"event":"launch"\|"event":"start"' "$tmp/big/network.jsonl" | sed 's/"hosts":\[[^]]*\],//' | tr '\n' ' ')"
  if [ $st = 0 ]; then ok "64 agents over 2 emulated hosts: $ev"
  else bad "64 agents: $ev; FAILED: $(field "$tmp/big/FAILED" "['reason']"); $(tail -3 "$tmp/big.out")"; fi
fi
echo "cluster hosts: $pass passed, $fail failed"
[ "$fail" = 0 ]
