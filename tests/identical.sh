#!/bin/bash
# Bit-for-bit guard: small runs whose figures depend only on arithmetic must give exactly the figures
# in the committed reference, tests/identical/reference.json. Meant for restructurings that must not
# change a single bit (folders, the algorithm interface): any change in a result fails, naming the
# scenario, the figure, the expected and the measured value.
#
# Scenarios (below, in scenario()): 4 agents, LeNet-5, 2 epochs, 4096 training / 512 test images,
# backend none, fixed seeds; they differ in algorithm, partition, topology, codec and dataset:
#   sgp-exp-iid        SGP, exponential time-varying directed graph, IID, batchnorm, Fashion-MNIST
#   dpsgd-ring-dir     D-PSGD, undirected ring, Dirichlet alpha 0.1, 10% message drops, Fashion-MNIST
#   sparse-push-skew   Sparse-Push, top-k keep 0.01 (public-copy error compensation), skew 0.8, Fashion-MNIST
#   deepsqueeze-q8-ef  DeepSqueeze, q8 with error feedback, exponential graph, skew 0.8, synthetic data
#   choco-static-topk  CHOCO-SGD, top-k keep 0.05, static directed exponential graph, Dirichlet alpha 0.5
# Compared exactly, as the JSON text of the numbers in summary.json: acc_mean, acc_worst,
# acc_avg_model, consensus_distance, bytes_payload, messages, and per agent test_acc, bytes_payload
# and messages; from evals.jsonl every evaluation's acc_mean, acc_worst, acc_avg_model,
# loss_avg_model and consensus_distance; from agent-<i>.jsonl the last round line's training loss and
# the final test_loss (losses and consensus_distance catch changes in rounding that leave every
# accuracy as it was). Not compared: bytes_wire (the frame header may change size), times, energy.
#
# The reference records the commit it was written from (git describe --always --dirty), the cflags,
# the CPU and the OpenBLAS kernel set. OpenBLAS picks different kernels by CPU and by
# OPENBLAS_CORETYPE, and they round differently, so this script runs the scenarios with the
# OPENBLAS_CORETYPE the reference was written with. The figures hold for one machine and one build
# (-march=native): on another CPU rewrite the reference from the commit before the change.
# Every scenario was checked to be deterministic (3 runs, one with both cores loaded): rounds are
# synchronous and nothing here depends on message timing (no timeouts, no late messages, drops are
# a hash of the seed).
#
# Usage: tests/identical.sh BIN            compare with the reference (status 0 only if all match)
#        tests/identical.sh BIN --write    run the scenarios and write the reference from BIN
# IDENTICAL_REF=FILE uses FILE instead of tests/identical/reference.json.
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
MODE=check
[ "${2:-}" = "--write" ] && MODE=write
HERE=$(dirname "$(realpath "$0")")
REF=${IDENTICAL_REF:-$HERE/identical/reference.json}
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-id-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; echo "identical: 0 passed, 1 failed"; exit 1; }

NAMES=(sgp-exp-iid dpsgd-ring-dir sparse-push-skew deepsqueeze-q8-ef choco-static-topk)
scenario() {   # scenario NAME: its scenario file on stdout
  local common='"agents": 4, "model": "lenet5", "epochs": 2, "limit_train": 4096, "limit_test": 512'
  case "$1" in
  sgp-exp-iid) cat <<JSON ;;
{"name": "$1", $common, "dataset": "fashion-mnist", "seeds": [7], "norm": "batchnorm",
 "partition": {"kind": "iid"}, "algorithm": {"name": "sgp"},
 "topology": {"kind": "exponential", "directed": true, "time_varying": true},
 "network": {"backend": "none"}}
JSON
  dpsgd-ring-dir) cat <<JSON ;;
{"name": "$1", $common, "dataset": "fashion-mnist", "seeds": [3],
 "partition": {"kind": "dirichlet", "alpha": 0.1}, "algorithm": {"name": "dpsgd"},
 "topology": {"kind": "ring"}, "network": {"backend": "none", "drop_prob": 0.1}}
JSON
  sparse-push-skew) cat <<JSON ;;
{"name": "$1", $common, "dataset": "fashion-mnist", "seeds": [5],
 "partition": {"kind": "skew", "skew": 0.8},
 "algorithm": {"name": "sparse-push", "compression": {"kind": "topk", "keep": 0.01, "error_feedback": true}},
 "topology": {"kind": "exponential", "directed": true, "time_varying": true},
 "network": {"backend": "none"}}
JSON
  deepsqueeze-q8-ef) cat <<JSON ;;
{"name": "$1", $common, "dataset": "synthetic", "seeds": [11], "optimizer": {"lr": 0.02},
 "partition": {"kind": "skew", "skew": 0.8},
 "algorithm": {"name": "deepsqueeze", "gamma": 0.2, "compression": {"kind": "q8", "error_feedback": true}},
 "topology": {"kind": "exponential", "directed": true, "time_varying": true},
 "network": {"backend": "none"}}
JSON
  choco-static-topk) cat <<JSON ;;
{"name": "$1", $common, "dataset": "fashion-mnist", "seeds": [13],
 "partition": {"kind": "dirichlet", "alpha": 0.5},
 "algorithm": {"name": "choco", "gamma": 0.1, "compression": {"kind": "topk", "keep": 0.05}},
 "topology": {"kind": "exponential", "directed": true, "time_varying": false},
 "network": {"backend": "none"}}
JSON
  esac
}

# The OpenBLAS kernel set: the reference's when checking, else this shell's (or what OpenBLAS picks).
probe_core() { "$BIN" probe 2>/dev/null | sed -n 's/^openblas core: \([^ ]*\).*/\1/p'; }
if [ "$MODE" = check ]; then
  [ -f "$REF" ] || { bad "no reference $REF (write it with: tests/identical.sh BIN --write)"
                     echo "identical: $pass passed, $fail failed"; exit 1; }
  core=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("openblas_coretype") or "")' "$REF") ||
    { bad "reference $REF is not readable JSON"; echo "identical: $pass passed, $fail failed"; exit 1; }
  [ -n "$core" ] && [ "${OPENBLAS_CORETYPE:-}" != "$core" ] &&
    echo "note: OPENBLAS_CORETYPE=$core, as the reference was written (this shell: ${OPENBLAS_CORETYPE:-unset})"
else
  core=${OPENBLAS_CORETYPE:-$(probe_core)}
fi
[ -n "$core" ] && export OPENBLAS_CORETYPE=$core

# Another CPU (other instructions for -march=native, other rounding): the committed figures do not
# apply. Then the commit the reference was written from is built here, in a scratch folder, and
# writes a reference for this machine: the comparison is still before the change against after it.
cpusig=$( (grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo) 2>/dev/null | md5sum | cut -c1-16)
if [ "$MODE" = check ] && [ -z "${IDENTICAL_NO_REBUILD:-}" ]; then
  ref_sig=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("cpu_sig",""))' "$REF")
  if [ "$ref_sig" != "$cpusig" ]; then
    commit=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["git"])' "$REF")
    root=$(cd "$HERE/.." && pwd)
    echo "note: this CPU differs from the one the reference was written on: building $commit to write one for it"
    if [[ "$commit" == *-dirty ]] || ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
      bad "the reference's commit $commit cannot be rebuilt here (dirty, or not in this clone): nothing to compare with"
      echo "identical: $pass passed, $fail failed"; exit 1
    fi
    mkdir -p "$tmp/before"
    git -C "$root" archive "$commit" | tar xf - -C "$tmp/before"
    if ! make -C "$tmp/before" -s -j2 bin/meshtrain > "$tmp/before.log" 2>&1; then
      bad "building $commit failed: $(tail -3 "$tmp/before.log")"; echo "identical: $pass passed, $fail failed"; exit 1
    fi
    IDENTICAL_REF="$tmp/reference.json" "$0" "$tmp/before/bin/meshtrain" --write > "$tmp/before-write.log" 2>&1 ||
      { bad "writing the reference with $commit failed: $(tail -3 "$tmp/before-write.log")"; exit 1; }
    REF=$tmp/reference.json
  fi
fi

t0=$(date +%s%N)
for n in "${NAMES[@]}"; do
  scenario "$n" > "$tmp/$n.json"
  if "$BIN" run "$tmp/$n.json" --out "$tmp/$n" > "$tmp/$n.out" 2>&1 && [ -f "$tmp/$n/summary.json" ]; then :
  else bad "$n: the run failed: $(tail -3 "$tmp/$n.out" | tr '\n' ' ')"; fi
done
ms=$(( ($(date +%s%N) - t0) / 1000000 )); secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))

# Compare (or collect) with Python, one ok/FAIL line per scenario or per differing figure.
cflags=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("cflags",""))' \
         "$tmp/${NAMES[0]}/summary.json" 2>/dev/null)
gitdesc=$(git -C "$HERE" describe --always --dirty 2>/dev/null)
out=$(MODE=$MODE REF=$REF TMP=$tmp CORE=$core CFLAGS_NOW="$cflags" GITDESC="$gitdesc" CPUSIG="$cpusig" \
      python3 - "${NAMES[@]}" <<'PY'
import json, os, sys, platform
mode, ref_path, tmp = os.environ["MODE"], os.environ["REF"], os.environ["TMP"]
names = sys.argv[1:]
TOP = ["acc_mean", "acc_worst", "acc_avg_model", "consensus_distance", "bytes_payload", "messages"]
AGENT = ["test_acc", "bytes_payload", "messages"]
EVAL = ["acc_mean", "acc_worst", "acc_avg_model", "loss_avg_model", "consensus_distance"]
def text(v):   # numbers kept as their JSON text
    return v if isinstance(v, str) else json.dumps(v)
def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"): return line.split(":", 1)[1].strip()
    except OSError: pass
    return platform.machine()
def figures(name):
    d = os.path.join(tmp, name)
    s = json.load(open(os.path.join(d, "summary.json")), parse_float=str, parse_int=str)
    f = {k: text(s[k]) for k in TOP if k in s}
    for a in s.get("per_agent") or []:
        for k in AGENT:
            if k in a: f["per_agent[%s].%s" % (a["agent"], k)] = text(a[k])
    for line in open(os.path.join(d, "evals.jsonl")):   # every evaluation, not only the final one
        e = json.loads(line, parse_float=str, parse_int=str)
        for k in EVAL:
            if k in e: f["evals[%s].%s" % (e["eval"], k)] = text(e[k])
    for i in range(int(s["agents"])):   # each agent's last training loss and final test loss
        last = {}
        for line in open(os.path.join(d, "agent-%d.jsonl" % i)):
            a = json.loads(line, parse_float=str, parse_int=str)
            if a.get("type") == "round": last["train_loss"] = a["loss"]
            if a.get("type") == "eval": last["test_loss"] = a["test_loss"]
        for k, v in sorted(last.items()): f["agent[%d].%s" % (i, k)] = text(v)
    return f
def scenario(name):
    return json.load(open(os.path.join(tmp, name + ".json")))
done = [n for n in names if os.path.exists(os.path.join(tmp, n, "summary.json"))]
if mode == "write":
    if len(done) != len(names):
        print("FAIL: reference not written: not every scenario finished"); sys.exit(0)
    ref = {"about": "tests/identical.sh: figures that depend only on arithmetic, compared as JSON text",
           "git": os.environ["GITDESC"], "cflags": os.environ["CFLAGS_NOW"], "cpu": cpu(), "cpu_sig": os.environ["CPUSIG"],
           "openblas_coretype": os.environ["CORE"],
           "scenarios": {n: {"scenario": scenario(n), "figures": figures(n)} for n in names}}
    os.makedirs(os.path.dirname(os.path.abspath(ref_path)), exist_ok=True)
    with open(ref_path + ".tmp", "w") as fh:
        json.dump(ref, fh, indent=1); fh.write("\n")
    os.replace(ref_path + ".tmp", ref_path)
    print("ok: reference written from %s: %s (%d scenarios)" % (ref["git"], ref_path, len(names)))
    sys.exit(0)
ref = json.load(open(ref_path))
if ref.get("cpu") != cpu() or ref.get("cflags") != os.environ["CFLAGS_NOW"]:
    print("note: the reference was written on '%s' with '%s'; this is '%s' with '%s': a difference may come from "
          "the machine or the flags, not the code"
          % (ref.get("cpu"), ref.get("cflags"), cpu(), os.environ["CFLAGS_NOW"]))
for n in names:
    r = ref["scenarios"].get(n)
    if r is None:
        print("FAIL: %s: not in the reference %s (rewrite it with --write from the commit before the change)"
              % (n, ref_path))
        continue
    if r["scenario"] != scenario(n):
        def flat(o, p=""):
            return {k2: v2 for k, v in o.items()
                    for k2, v2 in (flat(v, p + k + ".").items() if isinstance(v, dict) else [(p + k, v)])}
        a, b = flat(r["scenario"]), flat(scenario(n))
        diff = ", ".join("%s %s -> %s" % (k, json.dumps(a.get(k)), json.dumps(b.get(k)))
                         for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
        print("FAIL: %s: the scenario differs from the one the reference was written with: %s" % (n, diff))
    if n not in done: continue
    got, want = figures(n), r["figures"]
    wrong = [k for k in want if got.get(k) != want[k]] + [k for k in got if k not in want]
    for k in wrong:
        print("FAIL: %s: %s: expected %s, measured %s" % (n, k, want.get(k, "(absent)"), got.get(k, "(absent)")))
    if not wrong:
        print("ok: %s: %d figures identical (acc_mean %s, consensus_distance %s)"
              % (n, len(want), want.get("acc_mean"), want.get("consensus_distance")))
PY
)
while IFS= read -r line; do
  case "$line" in
  ok:*) ok "${line#ok: }" ;;
  FAIL:*) bad "${line#FAIL: }" ;;
  *) [ -n "$line" ] && echo "$line" ;;
  esac
done <<< "$out"
[ -z "$out" ] && bad "the comparison produced nothing (python3 failed?)"
written=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["git"])' "$REF" 2>/dev/null)
echo "runs took ${secs}s; reference: $REF (written from $written)"
echo "identical: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
