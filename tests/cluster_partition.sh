#!/bin/bash
# A partition between two agent hosts while both still reach the runner: three hosts emulated by network
# namespaces (h0 runs the runner and routes between h1 and h2, each of which runs half of the agents through
# srun); a blackhole rule in h0 then cuts only the path h1 <-> h2. Says what the run does and how long it
# takes to end, and checks that nothing is left on any host. Needs root. Links NOT shaped: backend none.
# Usage: tests/cluster_partition.sh bin/meshtrain [WAIT_S]   (WAIT_S: how long to wait for FAILED, default 90)
set -u
. "$(dirname "$0")/slurm_scratch.sh"   # slurm_scratch: munge and slurm.conf for a test cluster
BIN=$(realpath "${1:-bin/meshtrain}")
WAIT_S=${2:-90}
pass=0 fail=0
if [ "$(id -u)" != 0 ] || ! command -v slurmd >/dev/null; then echo "SKIP: cluster partition: needs root and slurm-wlm"; exit 0; fi
tmp=$(mktemp -d /tmp/meshtrain-part-XXXXXX)
chmod 700 "$tmp"
S="$tmp/slurm"
h0=mtp0-$$ h1=mtp1-$$ h2=mtp2-$$   # namespace names, unique to this run
on() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }
cleanup() {
  for d in slurmd-h0 slurmd-h1 slurmd-h2 slurmctld munged; do [ -f "$S/$d.pid" ] && kill "$(cat "$S/$d.pid")" 2>/dev/null; done
  sleep 1
  for n in $h0 $h1 $h2; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }
# reach NS ADDR: NS reaches ADDR (a refused TCP connection counts: only silence within 1 s does not).
reach() {
  on "$1" python3 -c "import socket,sys
try: socket.create_connection((sys.argv[1], 9), 1)
except ConnectionRefusedError: pass
except OSError: sys.exit(1)" "$2"
}
left() { pgrep -f "$BIN agent" >/dev/null || pgrep -f "srun .*$BIN" >/dev/null; }

# h1 -- h0 -- h2: 10.77.1.2 <-> 10.77.1.1 (h0) 10.77.2.1 <-> 10.77.2.2; h0 forwards between them.
ip netns add $h0 && ip netns add $h1 && ip netns add $h2 &&
  ip link add mtp1 netns $h0 type veth peer name mtq1 netns $h1 &&
  ip link add mtp2 netns $h0 type veth peer name mtq2 netns $h2 &&
  ip -n $h0 addr add 10.77.1.1/24 dev mtp1 && ip -n $h0 addr add 10.77.2.1/24 dev mtp2 &&
  ip -n $h1 addr add 10.77.1.2/24 dev mtq1 && ip -n $h2 addr add 10.77.2.2/24 dev mtq2 &&
  for n in $h0 $h1 $h2; do ip -n $n link set lo up; done &&
  ip -n $h0 link set mtp1 up && ip -n $h0 link set mtp2 up && ip -n $h1 link set mtq1 up && ip -n $h2 link set mtq2 up &&
  ip -n $h1 route add default via 10.77.1.1 && ip -n $h2 route add default via 10.77.2.1 &&
  on $h0 sysctl -qw net.ipv4.ip_forward=1 ||
  { echo "FAIL: cannot make the three emulated hosts"; exit 1; }
reach $h1 10.77.2.2 || { echo "FAIL: h1 does not reach h2 through h0"; exit 1; }
slurm_scratch "$S" meshtrain3 h0:10.77.1.1:2 h1:10.77.1.2:32 h2:10.77.2.2:32 || { echo "FAIL: munged did not start"; exit 1; }
on $h0 unshare --uts sh -c "hostname h0; slurmctld -f '$SLURM_CONF' && slurmd -f '$SLURM_CONF'"
on $h1 unshare --uts sh -c "hostname h1; slurmd -f '$SLURM_CONF'"
on $h2 unshare --uts sh -c "hostname h2; slurmd -f '$SLURM_CONF'"
up() { [ "$(on $h0 sinfo -h -n h1,h2 -o %T 2>/dev/null)" = idle ]; }
for _ in $(seq 300); do up && break; sleep 0.1; done   # up to 30 s on a loaded host
up || { bad "the three-node cluster did not come up: $(tail -n 2 "$S"/slurm*.log)"; exit 1; }

cat > "$tmp/long.json" <<JSON
{"name": "partition", "agents": 8, "dataset": "fashion-mnist", "model": "lenet5", "epochs": 60, "seeds": [3],
 "limit_train": 4096, "limit_test": 500, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
# The runner on h0; 4 agents on each of h1 and h2.
on $h0 unshare --uts sh -c "hostname h0; exec timeout 600 salloc -w h1,h2 -N 2 --ntasks-per-node=4 '$BIN' run '$tmp/long.json' --out '$tmp/part' --rendezvous 10.77.1.1" > "$tmp/part.out" 2>&1 &
runner=$!
for _ in $(seq 600); do grep -q '"epoch":2' "$tmp/part/evals.jsonl" 2>/dev/null && break; sleep 0.1; done
hosts=$(grep -o '"hosts":\[[^]]*\]' "$tmp/part/network.jsonl" 2>/dev/null)
[ "$hosts" = '"hosts":["h1","h1","h1","h1","h2","h2","h2","h2"]' ] || bad "agents on $hosts (expected 4 on h1, 4 on h2)"
t0=$(date +%s.%N)
# Only forwarded packets between h1 and h2 are dropped (silently); both still reach h0.
on $h0 ip rule add from 10.77.1.2 to 10.77.2.2 blackhole && on $h0 ip rule add from 10.77.2.2 to 10.77.1.2 blackhole ||
  bad "cannot cut h1 <-> h2"
reach $h1 10.77.2.2 && bad "h1 still reaches h2 after the cut"
reach $h1 10.77.1.1 && reach $h2 10.77.2.1 || bad "h1 or h2 lost the runner's host"
for _ in $(seq $((WAIT_S * 10))); do [ -e "$tmp/part/FAILED" ] && break; kill -0 $runner 2>/dev/null || break; sleep 0.1; done
t1=$(date +%s.%N)
after=$(python3 -c "print(round($t1-$t0,1))")
reason=$(field "$tmp/part/FAILED" "['reason']")
rounds=$(grep -h '"epoch"' "$tmp/part/evals.jsonl" 2>/dev/null | tail -1)
if [ -e "$tmp/part/FAILED" ] && printf '%s' "$reason" | grep -q "hosts h1 and h2 cannot reach each other"; then
  ok "partition h1 <-> h2: FAILED $after s after, named: $reason"
elif [ -e "$tmp/part/FAILED" ]; then bad "partition h1 <-> h2: FAILED $after s after, but not named by host: $reason"
else bad "partition h1 <-> h2: not FAILED $after s after the cut (runner $(kill -0 $runner 2>/dev/null && echo running || echo ended); last eval: $rounds; $(tail -1 "$tmp/part.out"))"; fi
# Not failed: end it as Ctrl-C would (the runner's own stop path), which must leave nothing either.
[ -e "$tmp/part/FAILED" ] || pkill -INT -f "^$BIN run $tmp/long.json"
wait $runner
for _ in $(seq 100); do left || break; sleep 0.1; done
left && bad "after the partition, left: $(pgrep -af "$BIN agent|srun")" || ok "after the partition nothing is left on any host"
echo "cluster partition: $pass passed, $fail failed"
[ "$fail" = 0 ]
