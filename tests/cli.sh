#!/bin/sh
# Command-line tests: bad input gives a clear message naming what and where, status 2, no crash
# and no output file; --help works everywhere; --json puts one JSON object on the last line.
# Usage: tests/cli.sh bin/meshtrain
set -u
BIN=${1:-bin/meshtrain}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN -- ARGS...: run, check the exit status and that stderr+stdout match PATTERN.
expect() {
  want=$1 pat=$2; shift 2
  out=$("$@" 2>&1); got=$?
  if [ "$got" != "$want" ]; then bad "$* -> status $got, expected $want"; echo "$out" | head -5 | sed 's/^/    /'; return; fi
  if ! printf '%s' "$out" | grep -q -- "$pat"; then bad "$* -> output lacks '$pat'"; echo "$out" | head -5 | sed 's/^/    /'; return; fi
  if printf '%s' "$out" | grep -q -i 'sanitizer\|segmentation\|core dumped'; then bad "$* crashed"; return; fi
  ok
}

expect 0 "usage: meshtrain COMMAND" "$BIN" --help
expect 2 "unknown command 'frobnicate'" "$BIN" frobnicate
expect 2 "usage:" "$BIN"
for cmd in train models probe; do expect 0 "usage: meshtrain $cmd" "$BIN" $cmd --help; done
expect 0 "usage: meshtrain bench train-step" "$BIN" bench train-step --help

# train: every bad flag names itself and the value.
expect 2 "unknown model 'lenet6'" "$BIN" train --model lenet6
expect 2 "unknown dataset 'imagenet'" "$BIN" train --dataset imagenet
expect 2 "unknown flag '--epoch'" "$BIN" train --epoch 3
expect 2 "\-\-epochs needs a value" "$BIN" train --epochs
expect 2 "\-\-epochs: 'ten' is not an integer" "$BIN" train --epochs ten
expect 2 "\-\-epochs: 0 is out of range" "$BIN" train --epochs 0
expect 2 "\-\-lr: -1 is out of range" "$BIN" train --lr -1
expect 2 "\-\-batch: '1e9' is not an integer" "$BIN" train --batch 1e9
expect 2 "\-\-norm: unknown 'layernorm'" "$BIN" train --norm layernorm
expect 2 "\-\-schedule: unknown 'linear'" "$BIN" train --schedule linear
expect 2 "\-\-milestones: '0.5,2'" "$BIN" train --milestones 0.5,2
expect 2 "\-\-json takes no value" "$BIN" train --json=yes
expect 2 "unexpected argument 'extra'" "$BIN" train extra
expect 2 "needs inputs of at least 32x32" "$BIN" train --model vgg11 --dataset synthetic --epochs 1

# Missing and corrupt data: the message names the file or the folders searched, and how to get it.
mkdir -p "$tmp/empty" "$tmp/bad/mnist"
expect 2 "make data" env MESHTRAIN_DATA="$tmp/empty" "$BIN" train --dataset cifar10 --data-dir "$tmp/empty"
printf 'not an idx file at all' > "$tmp/bad/mnist/train-images-idx3-ubyte"
printf 'junk' > "$tmp/bad/mnist/train-labels-idx1-ubyte"
cp "$tmp/bad/mnist/train-images-idx3-ubyte" "$tmp/bad/mnist/t10k-images-idx3-ubyte"
cp "$tmp/bad/mnist/train-labels-idx1-ubyte" "$tmp/bad/mnist/t10k-labels-idx1-ubyte"
expect 2 "train-images-idx3-ubyte" "$BIN" train --dataset mnist --data-dir "$tmp/bad" --epochs 1
# A truncated gzip copy of real Fashion-MNIST, when it is installed.
fm=/usr/share/datasets/fashion-mnist
if [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$tmp/trunc/fashion-mnist"
  cp "$fm"/*.gz "$tmp/trunc/fashion-mnist/"
  head -c 100000 "$fm/train-images-idx3-ubyte.gz" > "$tmp/trunc/fashion-mnist/train-images-idx3-ubyte.gz"
  expect 2 "train-images-idx3-ubyte.gz" "$BIN" train --dataset fashion-mnist --data-dir "$tmp/trunc" --epochs 1
fi
# Nothing was written next to the inputs.
if [ -n "$(find "$tmp" -newer "$tmp/bad/mnist/t10k-labels-idx1-ubyte" -type f ! -path '*/trunc/*' 2>/dev/null)" ]; then
  bad "bad-input runs left files behind"; else ok; fi

# models: parameter counts of the reference architectures.
models=$("$BIN" models)
for want in "lenet5 .* 61706 " "resnet20 .* 272474 " "vgg11 .* 579786 " "vgg11-standard .* 9750922 "; do
  if printf '%s\n' "$models" | grep -q -- "$want"; then ok; else bad "models lacks /$want/"; fi
done

# --json: the last stdout line is one JSON object with the documented keys.
py=$(command -v python3 || echo /usr/bin/python3)
check_json() {
  keys=$1; shift
  last=$("$@" 2>/dev/null | tail -n 1)
  if printf '%s' "$last" | "$py" -c "import json,sys; o=json.loads(sys.stdin.read()); sys.exit(0 if all(k in o for k in sys.argv[1].split(',')) else 1)" "$keys"; then
    ok; else bad "$* --json last line lacks {$keys}: $last"; fi
}
check_json test_acc,test_loss,epochs,seconds,params "$BIN" train --model lenet5 --dataset synthetic --epochs 1 --limit-train 512 --limit-test 256 --json
check_json models "$BIN" models --json
check_json images_per_s,gflops,rss_peak_mb,coretype "$BIN" bench train-step --model lenet5 --seconds 0.2 --json
check_json blas_core,datasets "$BIN" probe --json

# run and sweep: bad --out, scenario files and --set values (issue #9). Runs are tiny (2 agents, synthetic, < 1 s).
small() {   # small FILE NAME [extra JSON members]: a scenario that finishes in about a second
  cat > "$1" <<JSON
{"name": "$2", "agents": 2, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "limit_train": 256,
 "limit_test": 128, "network": {"backend": "none"}${3:-}}
JSON
}
small "$tmp/s.json" s
# 3. --out that is not valid UTF-8: refused up front (it ends up in summary.json), nothing created.
expect 2 "\-\-out '.*\\\\xff' is not valid UTF-8" "$BIN" run "$tmp/s.json" --out "$tmp/out-$(printf '\377')"
small "$tmp/s2.json" s2 ', "seeds": [1, 2]'
expect 2 "\-\-out '.*\\\\xff' is not valid UTF-8" "$BIN" run "$tmp/s2.json" --out "$tmp/sw-$(printf '\377')"
if ls "$tmp" | grep -q 'out-\|sw-'; then bad "a refused --out left a folder behind"; else ok; fi
# 11. --out that is a file, a folder as the scenario, duplicate keys, an oversized scenario.
: > "$tmp/afile"
expect 2 "\-\-out $tmp/afile: exists and is not a folder" "$BIN" run "$tmp/s.json" --out "$tmp/afile"
expect 2 "\-\-out $tmp/afile: exists and is not a folder" "$BIN" run "$tmp/s2.json" --out "$tmp/afile"
expect 2 "\-\-out $tmp/afile: exists and is not a folder" "$BIN" run "$tmp/s.json" --out "$tmp/afile" --dry-run
expect 2 "\-\-out $tmp/afile: exists and is not a folder" "$BIN" run "$tmp/s2.json" --out "$tmp/afile" --dry-run
expect 2 "$tmp/empty: is a folder (expected a JSON file)" "$BIN" run "$tmp/empty"
printf '{"name": "d", "epochs": 1, "epochs": 2}' > "$tmp/dup.json"
expect 2 "dup.json:1:.*duplicate object key" "$BIN" run "$tmp/dup.json" --dry-run
head -c 17000000 /dev/zero | tr '\0' ' ' > "$tmp/big.json"
expect 2 "big.json: larger than 16 MiB" "$BIN" run "$tmp/big.json" --dry-run
rm -f "$tmp/big.json"
# --out on a read-only file system (a read-only tmpfs; needs root and mount, else skipped and said).
mkdir -p "$tmp/ro"
if mount -t tmpfs -o ro,size=64k tmpfs "$tmp/ro" 2>/dev/null; then
  expect 2 "\-\-out $tmp/ro: cannot write there: Read-only file system" "$BIN" run "$tmp/s.json" --out "$tmp/ro"
  expect 2 "\-\-out $tmp/ro/x: cannot create: Read-only file system" "$BIN" run "$tmp/s.json" --out "$tmp/ro/x"
  expect 2 "\-\-out $tmp/ro: cannot write there: Read-only file system" "$BIN" run "$tmp/s2.json" --out "$tmp/ro"
  umount "$tmp/ro"
else echo "SKIP: --out on a read-only file system (mount -t tmpfs not allowed here)"; fi
# 5. A run folder in use: a second run into it is refused (status 2) naming the folder and the holder's pid.
mkdir -p "$tmp/busy"
if command -v flock > /dev/null; then
  echo 4242 > "$tmp/busy/.lock"
  flock -n "$tmp/busy/.lock" sleep 3 & holder=$!
  sleep 0.3
  expect 2 "\-\-out $tmp/busy: in use by another meshtrain (pid 4242" "$BIN" run "$tmp/s.json" --out "$tmp/busy"
  expect 2 "\-\-out $tmp/busy: in use by another meshtrain (pid 4242" "$BIN" run "$tmp/s.json" --out "$tmp/busy" --dry-run
  wait $holder
  if [ "$(ls "$tmp/busy")" = "" ]; then ok; else bad "a refused run wrote into the busy folder: $(ls "$tmp/busy")"; fi
else echo "SKIP: run folder lock (no flock command)"; fi

# 8. --set seeds=[1,2] plans two runs, as the same key in the file does; a --set that is not UTF-8 is refused.
expect 0 "sweep .*: 2 runs in" "$BIN" run "$tmp/s.json" --set 'seeds=[1,2]' --out "$tmp/seeds" --dry-run
expect 2 "\-\-set 'name=\\\\xff': not valid UTF-8" "$BIN" run "$tmp/s.json" --set "name=$(printf '\377')" --dry-run
expect 2 "\-\-set 'name=\\\\xff': not valid UTF-8" "$BIN" run "$tmp/s2.json" --set "name=$(printf '\377')" --dry-run
# 6. A relative topology.file is next to the scenario, for the dry run and for every run of a sweep alike.
mkdir -p "$tmp/topo"
printf '0 1\n' > "$tmp/topo/edges.txt"
small "$tmp/topo/t.json" t ', "seeds": [1, 2], "topology": {"kind": "file", "file": "edges.txt", "time_varying": false}'
expect 0 "2 runs in" "$BIN" run "$tmp/topo/t.json" --out "$tmp/topo-out" --dry-run
expect 0 "sweep .*: finished" "$BIN" run "$tmp/topo/t.json" --out "$tmp/topo-out"
# 7. A resume with changed settings is refused (status 2) naming the run, the key and how to start afresh.
expect 0 "sweep .*: finished" "$BIN" run "$tmp/s2.json" --out "$tmp/sw"
expect 0 "2 finished already" "$BIN" run "$tmp/s2.json" --out "$tmp/sw"
expect 2 "sw/s2-seed1 finished with other settings .*epochs 1 -> 2.*new --out" "$BIN" run "$tmp/s2.json" --out "$tmp/sw" --set epochs=2
expect 2 "epochs 1 -> 2" "$BIN" run "$tmp/s2.json" --out "$tmp/sw" --set epochs=2 --dry-run
# 4. A runner killed between writing summary.json.tmp.PID and renaming it: the complete summary is put in place;
# an incomplete one (or an unmarked unfinished run) is set aside, kept, and the run done again; a FAILED run is redone.
mv "$tmp/sw/s2-seed1/summary.json" "$tmp/sw/s2-seed1/summary.json.tmp.99999"
head -c 300 "$tmp/sw/s2-seed2/summary.json" > "$tmp/sw/s2-seed2/summary.json.tmp.88888"
rm "$tmp/sw/s2-seed2/summary.json"
expect 0 "1 finished already" "$BIN" run "$tmp/s2.json" --out "$tmp/sw" --dry-run
expect 0 "s2-seed2: unfinished, not marked FAILED: moved to .*set-aside" "$BIN" run "$tmp/s2.json" --out "$tmp/sw"
if [ -f "$tmp/sw/s2-seed1/summary.json" ] && [ -f "$tmp/sw/s2-seed1/agent-0.jsonl" ] && [ -f "$tmp/sw/s2-seed2/summary.json" ] &&
   [ -f "$tmp/sw/.set-aside/s2-seed2.1/agent-0.jsonl" ]; then ok; else bad "resume after a kill: $(find "$tmp/sw" | sort)"; fi
expect 0 "2 finished already" "$BIN" run "$tmp/s2.json" --out "$tmp/sw"
rm "$tmp/sw/s2-seed1/summary.json"; echo '{"status": "failed"}' > "$tmp/sw/s2-seed1/FAILED"
expect 0 "1 finished already" "$BIN" run "$tmp/s2.json" --out "$tmp/sw"
if [ -f "$tmp/sw/s2-seed1/summary.json" ] && [ ! -e "$tmp/sw/s2-seed1/FAILED" ]; then ok; else bad "a FAILED run was not redone"; fi
# 5. Two sweeps into one folder: the second is refused (status 2) naming the folder and the first one's pid.
sed 's/"epochs": 1/"epochs": 4/; s/"limit_train": 256/"limit_train": 2048/' "$tmp/s2.json" > "$tmp/slow.json"
"$BIN" run "$tmp/slow.json" --out "$tmp/twice" > "$tmp/twice.out" 2>&1 & first=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/twice/.lock" ] && break; sleep 0.2; done
expect 2 "\-\-out $tmp/twice: in use by another meshtrain (pid $first" "$BIN" run "$tmp/slow.json" --out "$tmp/twice"
expect 2 "\-\-out $tmp/twice: in use by another meshtrain (pid $first" "$BIN" run "$tmp/slow.json" --out "$tmp/twice" --dry-run
if wait $first; then ok; else bad "the first sweep failed beside a refused second one: $(tail -3 "$tmp/twice.out")"; fi

# 9. Disk full: a run that cannot write its FAILED file says so, never "marked FAILED" (a 1 MiB tmpfs filled
# while the run trains; needs root and mount, else skipped and said).
mkdir -p "$tmp/full"
sed 's/"epochs": 1/"epochs": 4/; s/"limit_train": 256/"limit_train": 2048/' "$tmp/s.json" > "$tmp/one.json"
if mount -t tmpfs -o size=1m tmpfs "$tmp/full" 2>/dev/null; then
  "$BIN" run "$tmp/one.json" --out "$tmp/full/run" > "$tmp/full.out" 2>&1 & runner=$!
  for _ in $(seq 50); do [ -f "$tmp/full/run/agent-0.jsonl" ] && break; sleep 0.1; done
  dd if=/dev/zero of="$tmp/full/filler" bs=64k 2> /dev/null
  wait $runner; st=$?
  if [ $st -ne 1 ]; then bad "disk full: status $st, expected 1: $(tail -3 "$tmp/full.out")"
  elif [ -f "$tmp/full/run/FAILED" ]; then bad "disk full: the FAILED file was written on a full disk?"
  elif grep -q "could NOT be marked FAILED: .*No space left" "$tmp/full.out" && ! grep -q "marked FAILED)" "$tmp/full.out"; then ok
  else bad "disk full: the message does not say FAILED could not be written: $(cat "$tmp/full.out")"; fi
  umount "$tmp/full"
else echo "SKIP: disk full (mount -t tmpfs not allowed here)"; fi

# 10. RelaySGD needs a spanning tree (issue 11): any other graph, or a spanning tree without its base, is refused
# (status 2) before anything starts, naming the key, the value and the kinds that work.
cat > "$tmp/relay.json" <<JSON
{"name": "relay", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 1, "limit_train": 256,
 "limit_test": 128, "network": {"backend": "none"}, "topology": {"kind": "ring"}, "algorithm": {"name": "relaysgd"}}
JSON
expect 2 "topology.kind: 'ring': relaysgd relays over spanning trees.*chain, binary-tree, double-binary-trees or spanning-tree" \
  "$BIN" run "$tmp/relay.json" --dry-run
expect 2 "topology.kind: 'complete': relaysum-grad" "$BIN" run "$tmp/relay.json" --dry-run \
  --set algorithm.name=relaysum-grad --set topology.kind=complete
expect 2 "topology.base: kind 'spanning-tree' needs a base" "$BIN" run "$tmp/relay.json" --dry-run --set topology.kind=spanning-tree
expect 2 "topology.base: 'spanning-tree' cannot be the base" "$BIN" run "$tmp/relay.json" --dry-run \
  --set topology.kind=spanning-tree --set topology.base=spanning-tree
expect 2 "topology.base: only kind 'spanning-tree' takes a base" "$BIN" run "$tmp/relay.json" --dry-run --set topology.base=ring
expect 2 "only relaysgd fills missing models" "$BIN" run "$tmp/relay.json" --dry-run --set topology.kind=chain \
  --set algorithm.name=relaysum-grad --set algorithm.update_ref_state=true
expect 0 "" "$BIN" run "$tmp/relay.json" --dry-run --set topology.kind=double-binary-trees --out "$tmp/relay-dbt"
expect 0 "" "$BIN" run "$tmp/relay.json" --dry-run --set topology.kind=spanning-tree --set topology.base=torus --out "$tmp/relay-st"

# Heterogeneous-data baselines (issue 11): d2 and gradient-tracking need an undirected graph; quasi-global
# momentum only where an algorithm defines it, and with a momentum. Refused before anything starts.
small "$tmp/d2dir.json" d2dir ', "algorithm": {"name": "d2"}, "topology": {"kind": "ring", "directed": true}'
expect 2 "topology.directed: d2 .*needs an undirected topology" "$BIN" run "$tmp/d2dir.json" --out "$tmp/d2dir"
small "$tmp/gtdir.json" gtdir ', "algorithm": {"name": "gradient-tracking"}, "topology": {"kind": "exponential"}'
expect 2 "topology.directed: gradient-tracking .*needs an undirected topology" "$BIN" run "$tmp/gtdir.json" --out "$tmp/gtdir"
small "$tmp/qgd2.json" qgd2 ', "algorithm": {"name": "d2"}, "topology": {"kind": "ring"}, "optimizer": {"quasi_global": true}'
expect 2 "optimizer.quasi_global: true: quasi-global momentum is not defined for d2 (it is for: dpsgd, sgp" \
  "$BIN" run "$tmp/qgd2.json" --out "$tmp/qgd2"
small "$tmp/qgm0.json" qgm0 ', "algorithm": {"name": "dpsgd"}, "topology": {"kind": "ring"}, "optimizer": {"quasi_global": true, "momentum": 0}'
expect 2 "optimizer.quasi_global: true needs optimizer.momentum > 0" "$BIN" run "$tmp/qgm0.json" --out "$tmp/qgm0"
small "$tmp/qgbad.json" qgbad ', "algorithm": {"name": "dpsgd"}, "topology": {"kind": "ring"}, "optimizer": {"quasi_global": 1}'
expect 2 "optimizer.quasi_global" "$BIN" run "$tmp/qgbad.json" --out "$tmp/qgbad"
if ls "$tmp" | grep -q '^d2dir$\|^gtdir$\|^qgd2$\|^qgm0$\|^qgbad$'; then bad "a refused baseline scenario left a folder behind"; else ok; fi

# CCL (issue 12): an undirected graph, weights in [0, 100], the dyck graph only at 32 agents.
small "$tmp/ccldir.json" ccldir ', "algorithm": {"name": "ccl"}, "topology": {"kind": "ring", "directed": true}'
expect 2 "topology.directed: ccl .*needs an undirected topology" "$BIN" run "$tmp/ccldir.json" --out "$tmp/ccldir"
small "$tmp/cclw.json" cclw ', "algorithm": {"name": "ccl", "lambda_m": -0.1}, "topology": {"kind": "ring"}'
expect 2 "algorithm.lambda_m" "$BIN" run "$tmp/cclw.json" --out "$tmp/cclw"
small "$tmp/cclw2.json" cclw2 ', "algorithm": {"name": "ccl", "lambda_d": 1000}, "topology": {"kind": "ring"}'
expect 2 "algorithm.lambda_d" "$BIN" run "$tmp/cclw2.json" --out "$tmp/cclw2"
small "$tmp/cclo.json" cclo ', "algorithm": {"name": "dpsgd", "lambda_m": 0.1}, "topology": {"kind": "ring"}'
expect 2 "algorithm.lambda_m: only ccl" "$BIN" run "$tmp/cclo.json" --out "$tmp/cclo"
small "$tmp/dyck.json" dyck ', "algorithm": {"name": "ccl"}, "topology": {"kind": "dyck"}'
expect 2 "agents: the dyck topology is the 32-node Dyck graph" "$BIN" run "$tmp/dyck.json" --out "$tmp/dyck"
if ls "$tmp" | grep -q '^ccldir$\|^cclw$\|^cclw2$\|^cclo$\|^dyck$'; then bad "a refused ccl scenario left a folder behind"; else ok; fi

# NGM (issue 12): it answers each model with a cross-gradient along the same edge, so it needs an undirected
# graph; algorithm.alpha is in 0..1 and only ngm's. Refused (status 2) before anything starts, naming the key.
small "$tmp/ngmdir.json" ngmdir ', "algorithm": {"name": "ngm"}, "topology": {"kind": "ring", "directed": true}'
expect 2 "topology.directed: ngm .*needs an undirected topology" "$BIN" run "$tmp/ngmdir.json" --out "$tmp/ngmdir"
small "$tmp/ngma.json" ngma ', "algorithm": {"name": "ngm", "alpha": 1.5}, "topology": {"kind": "ring"}'
expect 2 "algorithm.alpha: 1.5 is out of range (expected 0..1)" "$BIN" run "$tmp/ngma.json" --out "$tmp/ngma"
expect 2 "algorithm.alpha: -0.1 is out of range" "$BIN" run "$tmp/ngma.json" --out "$tmp/ngma" --set algorithm.alpha=-0.1
expect 2 "algorithm.alpha: only ngm" "$BIN" run "$tmp/ngma.json" --out "$tmp/ngma" --set algorithm.name=dpsgd
expect 0 "" "$BIN" run "$tmp/ngma.json" --dry-run --set algorithm.alpha=0 --out "$tmp/ngma-ok"
if ls "$tmp" | grep -q '^ngmdir$\|^ngma$'; then bad "a refused ngm scenario left a folder behind"; else ok; fi

# GUT and QG-GUTm (issue 12) track their neighbours' updates with a symmetric W over one running sum: a
# directed or time-varying graph, a scaling outside [0, 1], or the scaling given to another algorithm is refused
# (status 2) before anything starts, naming the key.
small "$tmp/gutdir.json" gutdir ', "algorithm": {"name": "gut"}, "topology": {"kind": "ring", "directed": true}'
expect 2 "topology.directed: gut tracks its neighbours' updates .*needs an undirected topology" \
  "$BIN" run "$tmp/gutdir.json" --out "$tmp/gutdir"
expect 2 "topology.directed: qg-gut .*needs an undirected topology" "$BIN" run "$tmp/gutdir.json" --out "$tmp/gutdir" \
  --set algorithm.name=qg-gut
small "$tmp/gutok.json" gutok ', "algorithm": {"name": "qg-gut", "scaling": 0.01}, "topology": {"kind": "ring"}'
expect 2 "algorithm.scaling" "$BIN" run "$tmp/gutok.json" --out "$tmp/gutok" --set algorithm.scaling=1.5
expect 2 "algorithm.scaling: only gut and qg-gut have a GUT scaling factor" "$BIN" run "$tmp/gutok.json" --out "$tmp/gutok" \
  --set algorithm.name=dpsgd
expect 0 "" "$BIN" run "$tmp/gutok.json" --dry-run --out "$tmp/gutok-dry"
if ls "$tmp" | grep -q '^gutdir$\|^gutok$'; then bad "a refused gut scenario left a folder behind"; else ok; fi

# CCL needs penultimate features: a model whose linear head reads the input (linear) is refused before anything
# starts, naming the model key and the models that work.
small "$tmp/ccllin.json" ccllin ', "algorithm": {"name": "ccl"}, "topology": {"kind": "ring"}'
expect 2 "model: 'linear': ccl .*needs a model with a feature layer" "$BIN" run "$tmp/ccllin.json" --out "$tmp/ccllin" \
  --set model=linear
if [ -e "$tmp/ccllin" ]; then bad "a refused ccl scenario left a folder behind"; else ok; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
