#!/bin/sh
# Downloads the datasets apt does not ship into $MESHTRAIN_DATA (default ./data), checking md5 sums:
# CIFAR-10 and CIFAR-100 (the default; `make data`) and MNIST (`tools/get-data.sh mnist`).
# Fashion-MNIST needs no download: apt-get install dataset-fashion-mnist.
# Usage: tools/get-data.sh [cifar10] [cifar100] [mnist]. Exit 2: no internet or no downloader.
set -eu

dest=${MESHTRAIN_DATA:-./data}
[ $# -gt 0 ] || set -- cifar10 cifar100
APT_HINT="Fashion-MNIST needs no download: apt-get install dataset-fashion-mnist"
CIFAR_URL=https://www.cs.toronto.edu/~kriz
MNIST_URL=https://ossci-datasets.s3.amazonaws.com/mnist  # the mirror torchvision uses

say() { echo "get-data.sh: $*"; }
die() { code=$1; shift; echo "get-data.sh: $*" >&2; exit "$code"; }

if command -v curl >/dev/null 2>&1; then
  download() { curl -fsSL --connect-timeout 15 --retry 2 -o "$2" "$1"; }
  reachable() { curl -fsI --connect-timeout 10 --max-time 20 -o /dev/null "$1" 2>/dev/null; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget -q -T 15 -t 2 -O "$2" "$1"; }
  reachable() { wget -q -T 10 -t 1 --spider "$1" 2>/dev/null; }
else
  die 2 "needs curl or wget (apt-get install -y curl)"
fi

# Fail early, in one line, when the host cannot be reached (no internet, proxy, firewall).
check_online() {
  host=${1#*://}; host=${host%%/*}
  rc=0
  reachable "$1" || rc=$?
  case $rc in
    0) ;;
    22|8) die 1 "$host answered with an error for $1 (moved?); nothing downloaded" ;;  # curl, wget
    *) die 2 "no internet: cannot reach $host, nothing downloaded. ($APT_HINT)" ;;
  esac
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }

# fetch URL FILE MD5: download to FILE.part, verify, then move into place.
fetch() {
  say "downloading $1"
  download "$1" "$2.part" || { rm -f "$2.part"; die 1 "download failed: $1"; }
  got=$(md5_of "$2.part")
  if [ "$got" != "$3" ]; then
    rm -f "$2.part"
    die 1 "$1: md5 $got, expected $3 (damaged download; run again)"
  fi
  mv "$2.part" "$2"
}

# cifar NAME TARBALL MD5 FOLDER PROBE
get_cifar() {
  if [ -f "$dest/$4/$5" ]; then say "$1 already in $dest/$4"; return; fi
  check_online "$CIFAR_URL/$2"
  mkdir -p "$dest" || die 1 "cannot create $dest"
  fetch "$CIFAR_URL/$2" "$dest/$2" "$3"
  # Unpack aside and move in whole, so a half-unpacked folder never looks complete.
  tmp="$dest/.unpack.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar -xzf "$dest/$2" -C "$tmp" || { rm -rf "$tmp"; die 1 "cannot unpack $dest/$2"; }
  [ -f "$tmp/$4/$5" ] || { rm -rf "$tmp"; die 1 "$2 holds no $4/$5"; }
  rm -rf "${dest:?}/$4"
  mv "$tmp/$4" "$dest/$4"
  rm -rf "$tmp" "${dest:?}/$2"
  say "$1 ready in $dest/$4"
}

get_mnist() {
  set -- train-images-idx3-ubyte f68b3c2dcbeaaa9fbdd348bbdeb94873 \
         train-labels-idx1-ubyte d53e105ee54ea40749a09fcbcd1e9432 \
         t10k-images-idx3-ubyte 9fb629c4189551a2d022fa330f9573f3 \
         t10k-labels-idx1-ubyte ec29112dd5afa0611ce80d1b7f02629c
  checked=0
  while [ $# -gt 0 ]; do
    if [ ! -f "$dest/mnist/$1.gz" ] && [ ! -f "$dest/mnist/$1" ]; then
      if [ $checked = 0 ]; then
        check_online "$MNIST_URL/$1.gz"
        mkdir -p "$dest/mnist" || die 1 "cannot create $dest/mnist"
        checked=1
      fi
      fetch "$MNIST_URL/$1.gz" "$dest/mnist/$1.gz" "$2"
    fi
    shift 2
  done
  say "mnist ready in $dest/mnist"
}

for name in "$@"; do
  case "$name" in
    cifar10)  get_cifar cifar10 cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 \
                        cifar-10-batches-bin data_batch_1.bin ;;
    cifar100) get_cifar cifar100 cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 \
                        cifar-100-binary train.bin ;;
    mnist)    get_mnist ;;
    fashion-mnist) say "$APT_HINT" ;;
    *) die 2 "unknown dataset '$name' (cifar10, cifar100, mnist; $APT_HINT)" ;;
  esac
done
