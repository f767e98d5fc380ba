#!/bin/sh
# Installs the Debian packages a make target needs when they are missing: with apt-get as root,
# or through `sudo -n`; otherwise stops with the exact line to run. Usage: tools/deps.sh GROUP
set -eu
group=${1:-build}
base="gcc make pkg-config libopenblas-dev libjansson-dev zlib1g-dev libsodium-dev libssl-dev"
# Link emulation: iproute2 (ip, tc), and User-Mode Linux with kmod's insmod for kernels without netem.
net="iproute2 user-mode-linux kmod"
# Launchers across hosts: Slurm (daemons and client, with munge) and Open MPI's mpirun.
cluster="slurm-wlm munge openmpi-bin"
case "$group" in
  build) want="$base" ;;
  demo)  want="$base $net dataset-fashion-mnist gnuplot-nox" ;;
  test)  want="$base $net libcriterion-dev dataset-fashion-mnist python3 gnuplot-nox" ;;
  net)   want="$base $net" ;;
  bench) want="$base python3-torch python3-numpy" ;;
  plots) want="$base gnuplot-nox" ;;
  fuzz)  want="$base clang libclang-rt-14-dev" ;;
  cluster) want="$base $net $cluster dataset-fashion-mnist python3" ;;
  format) want="clang-format" ;;
  *) echo "tools/deps.sh: unknown group '$group' (build, demo, test, net, bench, plots, fuzz, format, cluster)" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "meshtrain needs:$missing. This is not a Debian/Ubuntu system: install their equivalents by hand." >&2
  exit 2
fi
echo "meshtrain: installing missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
  as=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as="sudo -n"
else
  echo "meshtrain: missing packages and no root. Run:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$as apt-get install -y --no-install-recommends $missing >/tmp/meshtrain-apt.log 2>&1 || {
  $as apt-get update >/tmp/meshtrain-apt.log 2>&1 || true
  $as apt-get install -y --no-install-recommends $missing >>/tmp/meshtrain-apt.log 2>&1 || {
    echo "meshtrain: apt-get install failed (log: /tmp/meshtrain-apt.log). Run: apt-get install -y$missing" >&2
    exit 2
  }
}
