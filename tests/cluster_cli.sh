#!/bin/bash
# Launcher bad input (no cluster needed): --launcher slurm outside an allocation, mpirun missing, a
# hostfile naming an unreachable host, more agents than the allocation's tasks or the host's slots,
# and the rest: status 2, the cause and the command that fixes it, nothing created, nothing started.
# Usage: tests/cluster_cli.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-ccli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cat > "$tmp/s.json" <<JSON
{"name": "ccli", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "seeds": [3],
 "limit_train": 2048, "limit_test": 256, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"backend": "none"}}
JSON
launched() { pgrep -f "(mpirun|srun).* $BIN agent" >/dev/null || pgrep -f "$BIN agent --connect" >/dev/null; }

# expect STATUS 'PATTERN1|PATTERN2...' ENV... -- ARGS: status, every pattern in the output, no run folder,
# no launcher or agent left.
expect() {
  want=$1 pats=$2; shift 2
  envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  rm -rf "$tmp/out"
  out=$(env -u SLURM_JOB_ID -u SLURM_NTASKS -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK "${envs[@]}" "$BIN" "$@" --out "$tmp/out" 2>&1); got=$?
  if [ "$got" != "$want" ]; then bad "$* -> status $got, expected $want"; echo "$out" | head -5 | sed 's/^/    /'; return; fi
  IFS='|' read -ra ps <<< "$pats"
  for p in "${ps[@]}"; do
    printf '%s' "$out" | grep -qF -- "$p" || { bad "$* -> output lacks '$p'"; echo "$out" | head -5 | sed 's/^/    /'; return; }
  done
  [ "$want" = 2 ] && [ -e "$tmp/out" ] && { bad "$* -> created $tmp/out"; return; }
  launched && { bad "$* -> left a launcher or agent running"; return; }
  ok
}
S="$tmp/s.json"
expect 2 "not inside a Slurm allocation|SLURM_JOB_ID|salloc -n 4 meshtrain run|--print-batch > run.sbatch && sbatch" -- run "$S" --launcher slurm
expect 2 "mpirun is not in PATH|apt-get install openmpi-bin" PATH=/nonexistent -- run "$S" --launcher mpi
expect 2 "srun is not in PATH|apt-get install slurm-client" PATH=/nonexistent SLURM_JOB_ID=7 -- run "$S" --launcher slurm
printf 'localhost slots=2\nno-such-host.invalid slots=2\n' > "$tmp/hosts.bad"
expect 2 "--hostfile $tmp/hosts.bad line 2: host no-such-host.invalid is unreachable|cannot resolve|ssh no-such-host.invalid true" -- run "$S" --launcher mpi --hostfile "$tmp/hosts.bad"
printf 'localhost slots=2\n192.0.2.1 slots=2\n' > "$tmp/hosts.far"   # TEST-NET-1: routed nowhere
expect 2 "host 192.0.2.1 is unreachable|ssh port 22|remove 192.0.2.1 from" -- run "$S" --launcher mpi --hostfile "$tmp/hosts.far"
printf 'localhost slots=2\n' > "$tmp/hosts.small"
expect 2 "2 slots for 4 agents|--oversubscribe" -- run "$S" --launcher mpi --hostfile "$tmp/hosts.small"
expect 2 "--hostfile $tmp/nope: cannot read" -- run "$S" --launcher mpi --hostfile "$tmp/nope"
[ "$(nproc)" -lt 4 ] && expect 2 "4 agents for the $(nproc) slots of this host|add --oversubscribe" -- run "$S" --launcher mpi
expect 2 "4 agents but allocation 99 has 2 tasks|salloc -n 4 meshtrain run" SLURM_JOB_ID=99 SLURM_NTASKS=2 -- run "$S" --launcher slurm
expect 2 "4 agents but allocation 99 has 3 tasks" SLURM_JOB_ID=99 SLURM_JOB_CPUS_PER_NODE="1(x2),1" -- run "$S" --launcher slurm
expect 2 "4 agents but allocation 99 has 2 tasks" SLURM_JOB_ID=99 SLURM_NTASKS=2 -- run "$S"   # detected: slurm
expect 2 "itself running under mpirun|--launcher mpi" OMPI_COMM_WORLD_SIZE=2 -- run "$S"
expect 2 "--launcher 'ssh': unknown|native, mpi or slurm" -- run "$S" --launcher ssh
expect 2 "--hostfile needs --launcher mpi or slurm" -- run "$S" --hostfile "$tmp/hosts.small"
expect 2 "--hostfile is for --launcher mpi" SLURM_JOB_ID=99 -- run "$S" --launcher slurm --hostfile "$tmp/hosts.small"
expect 2 "--print-batch is for --launcher slurm" -- run "$S" --launcher mpi --print-batch --oversubscribe
expect 2 "network.backend \"uml\" runs every agent inside one User-Mode Linux kernel|--launcher native" -- run "$S" --launcher mpi --oversubscribe --set network.backend=uml --set 'network.default_link={"delay_ms":5}'
out=$(env -u SLURM_PROCID -u OMPI_COMM_WORLD_RANK -u PMIX_RANK "$BIN" agent --connect 2>&1); st=$?
if [ $st = 2 ] && printf '%s' "$out" | grep -q "no agent id from a launcher"; then ok; else bad "agent --connect alone: status $st: $out"; fi
out=$(env OMPI_COMM_WORLD_RANK=0 MESHTRAIN_LAUNCH_KEY=zz "$BIN" agent --connect 2>&1); st=$?
if [ $st = 2 ] && printf '%s' "$out" | grep -q "MESHTRAIN_LAUNCH_KEY is missing or not 64 hex digits"; then ok; else bad "agent --connect, bad key: status $st: $out"; fi

# --print-batch: a script for sbatch, nothing created or started.
out=$(env -u SLURM_JOB_ID "$BIN" run "$S" --print-batch --out "$tmp/pb" 2>&1); st=$?
if [ $st = 0 ] && printf '%s' "$out" | grep -q '^#SBATCH --ntasks=4$' && printf '%s' "$out" | grep -qF -- "run '$S' '--out' '$tmp/pb' --launcher slurm" \
   && printf '%s\n' "$out" | bash -n && [ ! -e "$tmp/pb" ]; then ok; else bad "--print-batch: status $st: $out"; fi
echo "cluster cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
