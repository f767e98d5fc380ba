#!/bin/bash
# The build enforces the layering (Makefile, USES_*): in a scratch copy of the tree, a file that
# includes a header from a folder its layer may not use must fail to compile, naming the header, and
# the same file without that include must compile. Usage: tests/layers.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-layers-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
(cd "$root" && git ls-files -z -co --exclude-standard | xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$tmp"

# try FILE HEADER: FILE with `#include "HEADER"` added must fail; FILE as it is must build.
try() {
  local file=$1 header=$2 obj="build/rel/${1%.c}.o"
  make -C "$tmp" -s "$obj" > "$tmp/clean.out" 2>&1 && ok "$file builds as it is" || bad "$file does not build: $(tail -3 "$tmp/clean.out")"
  cp "$tmp/$file" "$tmp/$file.orig"
  sed -i "0,/^#include \"/s//#include \"$header\"\n#include \"/" "$tmp/$file"
  if make -C "$tmp" -s "$obj" > "$tmp/bad.out" 2>&1; then bad "$file including $header compiled: the layering is not enforced"
  elif grep -q "$header: No such file" "$tmp/bad.out"; then ok "$file may not include $header: make fails, naming it"
  else bad "$file including $header failed for another reason: $(grep -m1 error "$tmp/bad.out")"; fi
  mv "$tmp/$file.orig" "$tmp/$file"
}
try algo/alg_dpsgd.c model.h      # algorithms see flat vectors, not the model
try algo/alg_dpsgd.c scenario.h   # nor the scenario
try nn/model.c net.h              # the numeric core knows nothing of the network
try nn/layer_range_evonorm.c scenario.h   # nor of scenarios (precision reaches it as model_set_precision)
try comm/net.c model.h            # nor the network of the model
try netem/link.c scenario.h       # links see only base

echo "layers: $pass passed, $fail failed"
[ $fail -eq 0 ]
