#!/bin/bash
# Shaped links across hosts (netem/overlay.c), tested inside User-Mode Linux, the only kernel here with
# netem: tests/cluster_overlay_guest.sh emulates two hosts there. Skips, saying why, without it.
# Usage: tests/cluster_overlay.sh bin/meshtrain [--big|--quick]   (--quick: make cluster-tests, see the guest script)
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
if ! "$BIN" uml -- /bin/true >/dev/null 2>&1; then
  echo "SKIP: cluster overlay: User-Mode Linux does not run here ($("$BIN" uml -- /bin/true 2>&1 | head -1))"
  exit 0
fi
tmp=$(mktemp -d /tmp/meshtrain-overlay-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
MESHTRAIN_UML_MEM_MB=${MESHTRAIN_UML_MEM_MB:-$([ "${2:-}" = --big ] && echo 9000 || echo 2048)} "$BIN" uml -- "$(realpath "$(dirname "$0")")/cluster_overlay_guest.sh" "$BIN" "$tmp" ${2:-}
