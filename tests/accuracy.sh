#!/bin/sh
# Accuracy check of the engine on real data: LeNet-5 on Fashion-MNIST, 10 epochs, the default
# hyperparameters of `meshtrain train`, must reach at least 89% test accuracy.
# Usage: tests/accuracy.sh bin/meshtrain
set -u
BIN=${1:-bin/meshtrain}
need=${MIN_ACC:-0.89}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BIN" train --model lenet5 --dataset fashion-mnist --epochs 10 --json | tee "$out"
status=$?
py=$(command -v python3 || echo /usr/bin/python3)
acc=$(tail -n 1 "$out" | "$py" -c 'import json,sys; print(json.loads(sys.stdin.read())["test_acc"])' 2>/dev/null)
if [ "$status" -ne 0 ] || [ -z "$acc" ]; then
  echo "accuracy: 0 passed, 1 failed (meshtrain train exited $status)"
  exit 1
fi
if "$py" -c "import sys; sys.exit(0 if $acc >= $need else 1)"; then
  echo "LeNet-5 / Fashion-MNIST test accuracy $acc >= $need"
  echo "accuracy: 1 passed, 0 failed"
else
  echo "LeNet-5 / Fashion-MNIST test accuracy $acc < $need"
  echo "accuracy: 0 passed, 1 failed"
  exit 1
fi
