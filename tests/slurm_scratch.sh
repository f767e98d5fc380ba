# Sourced by the cluster tests: munge and a Slurm configuration in a scratch folder, for a test cluster that
# the test starts and stops itself (proctrack/linuxproc, task/none, no accounting: what runs in a container).
# slurm_scratch DIR CLUSTER NODE:ADDR:CPUS...   (the first node runs slurmctld; spool, pid and log per node)
# starts munged, writes DIR/slurm.conf, exports SLURM_CONF; nonzero when munge cannot start.
slurm_scratch() {
  local S=$1 name=$2; shift 2
  local first=${1%%:*} first_rest=${1#*:} nodes="" n
  local port=$((20000 + RANDOM % 20000))
  mkdir -p "$S/state" || return 1
  for n in "$@"; do mkdir -p "$S/spool-${n%%:*}" || return 1; nodes="$nodes${nodes:+,}${n%%:*}"; done
  mungekey -c -k "$S/munge.key" && chmod 600 "$S/munge.key" &&
    munged --force --key-file="$S/munge.key" --socket="$S/munge.sock" --pid-file="$S/munged.pid" \
      --log-file="$S/munged.log" --seed-file="$S/munge.seed" 2>/dev/null || return 1
  {
    cat <<CONF
ClusterName=$name
SlurmctldHost=$first(${first_rest%%:*})
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge.sock
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool-%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd-%n.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
CONF
    for n in "$@"; do
      local rest=${n#*:}
      echo "NodeName=${n%%:*} NodeAddr=${rest%%:*} CPUs=${rest#*:} State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$nodes Default=YES MaxTime=INFINITE State=UP"
  } > "$S/slurm.conf" || return 1
  export SLURM_CONF="$S/slurm.conf"
}
